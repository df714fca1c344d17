"""An OTLP trace receiver for sparkplane's tests. The decoding is OpenTelemetry's
own: the generated Python messages of PyPI `opentelemetry-proto` parse every
request, and PyPI `grpcio` serves the gRPC TraceService.

Usage: otlp_receiver.py OUT_FILE — listens on 127.0.0.1 on two free ports, one
for OTLP/HTTP (POST /v1/traces, protobuf) and one for OTLP/gRPC, prints
"PORTS <http> <grpc>" once both listen, and appends each decoded
ExportTraceServiceRequest to OUT_FILE as one line of JSON (protobuf's
MessageToDict, with the transport under "transport"). It stops when its parent
closes stdin, or after 300 s."""

import json
import sys
import threading
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import grpc
from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

out_file = sys.argv[1]
lock = threading.Lock()


def record(request, transport):
    doc = MessageToDict(request)
    doc["transport"] = transport
    with lock, open(out_file, "a", encoding="utf-8") as out:
        out.write(json.dumps(doc, sort_keys=True) + "\n")


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b"", content_type="application/x-protobuf"):
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        if self.path != "/v1/traces":
            return self.answer(404, b"not found", "text/plain")
        if self.headers.get("content-type") != "application/x-protobuf":
            return self.answer(415, b"expected application/x-protobuf", "text/plain")
        request = trace_service_pb2.ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as error:  # a body that is not the message
            return self.answer(400, str(error).encode(), "text/plain")
        record(request, "http")
        self.answer(200, trace_service_pb2.ExportTraceServiceResponse().SerializeToString())


class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
    def Export(self, request, context):
        record(request, "grpc")
        return trace_service_pb2.ExportTraceServiceResponse()


http_server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
threading.Thread(target=http_server.serve_forever, daemon=True).start()
grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), grpc_server)
grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
grpc_server.start()
print(f"PORTS {http_server.server_address[1]} {grpc_port}", flush=True)


def stop_when_stdin_closes():
    sys.stdin.read()
    grpc_server.stop(0)
    http_server.shutdown()


threading.Thread(target=stop_when_stdin_closes, daemon=True).start()
grpc_server.wait_for_termination(timeout=300)
