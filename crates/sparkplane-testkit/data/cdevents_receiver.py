"""A CDEvents sink for sparkplane's tests, built on the CloudEvents SDK for
Python (PyPI `cloudevents`) and PyPI `jsonschema`: it parses each POST as a
CloudEvent, validates the CDEvent in its data against the CDEvents JSON schema
of its type, answers 202 (valid) or 400 (not), and records what it got.

Usage: receiver.py SCHEMA_DIR  — prints "PORT <n>" once listening on
127.0.0.1; GET /received returns the records as JSON; it stops on
GET /stop, when its parent closes stdin, or after 120 s."""

import json
import pathlib
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import jsonschema
import referencing
from cloudevents.core.bindings.http import HTTPMessage, from_http_event

schema_dir = pathlib.Path(sys.argv[1])
resources, by_type = [], {}
for path in sorted(schema_dir.rglob("*.json")):
    doc = json.loads(path.read_text())
    resources.append((doc["$id"], referencing.Resource.from_contents(doc)))
    ty = doc.get("properties", {}).get("context", {}).get("properties", {}).get("type", {}).get("default")
    if ty:
        by_type[ty] = doc
registry = referencing.Registry().with_resources(resources)
records, lock = [], threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, status, body=b""):
        self.send_response(status)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/received":
            with lock:
                self.answer(200, json.dumps(records).encode())
        elif self.path == "/stop":
            self.answer(200)
            threading.Thread(target=server.shutdown).start()
        else:
            self.answer(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        record = {"contentType": self.headers.get("content-type")}
        try:
            event = from_http_event(HTTPMessage(headers=dict(self.headers.items()), body=body))
            data = event.get_data()
            if isinstance(data, (bytes, str)):
                data = json.loads(data)
            record.update(id=event.get_id(), type=event.get_type(), source=event.get_source(),
                          subject=event.get_subject(), data=data)
            schema = by_type.get(event.get_type())
            if schema is None:
                record["errors"] = ["no CDEvents schema for type " + event.get_type()]
            else:
                validator = jsonschema.Draft202012Validator(
                    schema, registry=registry, format_checker=jsonschema.FormatChecker())
                record["errors"] = sorted("%s: %s" % (e.json_path, e.message) for e in validator.iter_errors(data))
        except Exception as e:  # the test reads this as the reason it was refused
            record["errors"] = ["not a CloudEvent: %s" % e]
        with lock:
            records.append(record)
        self.answer(400 if record["errors"] else 202)


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print("PORT", server.server_address[1], flush=True)
threading.Thread(target=lambda: (sys.stdin.read(), server.shutdown()), daemon=True).start()
threading.Timer(120, server.shutdown).start()
server.serve_forever()
