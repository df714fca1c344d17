//! A small HTTP server for sparkplane's endpoints (the History Server, the
//! exporter, the operator's metrics and probes).
//!
//! Owns: binding, the worker threads, handing each request to the caller's
//! handler as a method, a path and a query (never the raw URL: a route
//! matches `/metrics` whatever query follows), writing the handler's reply,
//! and a clean stop — every worker joined — on [`HttpServer::stop`] or drop.
//! Must not: know any route; the handler decides every answer.

use std::fmt;
use std::io::Read;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;

/// The request methods sparkplane's endpoints tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    /// Any other method.
    Other,
}

impl Method {
    /// GET or HEAD: a read.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }
}

/// What a handler sees of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The path, without the query; as sent (still percent-encoded).
    pub path: String,
    /// The query without its `?`; empty when there is none.
    pub query: String,
}

impl Request {
    /// Splits a request target (`/path?query`) the way every endpoint reads it.
    pub fn new(method: Method, target: &str) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request { method, path: path.to_owned(), query: query.to_owned() }
    }
}

/// A reply's body.
pub enum Body {
    /// A body held in memory.
    Bytes(Vec<u8>),
    /// A body streamed from a reader, with its length when known.
    Stream { reader: Box<dyn Read + Send>, length: Option<usize> },
}

impl fmt::Debug for Body {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Body::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            Body::Stream { length, .. } => write!(f, "Stream({length:?})"),
        }
    }
}

/// A handler's answer.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: String,
    /// Further headers, in order.
    pub headers: Vec<(String, String)>,
    pub body: Body,
}

impl Reply {
    /// A reply with a text body.
    pub fn text(status: u16, content_type: &str, body: impl Into<String>) -> Reply {
        Reply {
            status,
            content_type: content_type.to_owned(),
            headers: Vec::new(),
            body: Body::Bytes(body.into().into_bytes()),
        }
    }

    /// Adds a header.
    pub fn with_header(mut self, name: &str, value: &str) -> Reply {
        self.headers.push((name.to_owned(), value.to_owned()));
        self
    }
}

/// The bind (or a worker's start) failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {message}")]
pub struct ServeError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// What the operating system said.
    pub message: String,
}

/// A running server; stops and joins its workers on [`HttpServer::stop`] or drop.
pub struct HttpServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    workers: Vec<JoinHandle<()>>,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer").field("addr", &self.addr).field("workers", &self.workers.len()).finish()
    }
}

impl HttpServer {
    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, lets requests in flight finish and joins every worker.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // One wake-up per worker: each ends its wait for a request once.
        for _ in 0..self.workers.len() {
            self.server.unblock();
        }
        for worker in self.workers.drain(..) {
            let _ = worker.join();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves `handler` on `addr` from `workers` threads named `name-N`.
pub fn serve<H>(addr: SocketAddr, name: &str, workers: usize, handler: H) -> Result<HttpServer, ServeError>
where
    H: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let server = tiny_http::Server::http(addr).map_err(|e| ServeError { addr, message: e.to_string() })?;
    let bound = server.server_addr().to_ip().unwrap_or(addr);
    let mut running = HttpServer {
        server: Arc::new(server),
        addr: bound,
        stopping: Arc::new(AtomicBool::new(false)),
        workers: vec![],
    };
    let handler = Arc::new(handler);
    for n in 0..workers.max(1) {
        let (server, stopping, handler) =
            (Arc::clone(&running.server), Arc::clone(&running.stopping), Arc::clone(&handler));
        let worker = std::thread::Builder::new()
            .name(format!("{name}-{n}"))
            .spawn(move || {
                while !stopping.load(Ordering::SeqCst) {
                    let Ok(request) = server.recv() else { break };
                    answer(request, handler.as_ref());
                }
            })
            .map_err(|e| ServeError { addr, message: format!("cannot start a server thread: {e}") })?;
        running.workers.push(worker);
    }
    Ok(running)
}

fn answer(request: tiny_http::Request, handler: &(dyn Fn(&Request) -> Reply + Send + Sync)) {
    let method = match request.method() {
        tiny_http::Method::Get => Method::Get,
        tiny_http::Method::Head => Method::Head,
        tiny_http::Method::Post => Method::Post,
        _ => Method::Other,
    };
    let reply = handler(&Request::new(method, request.url()));
    let mut headers: Vec<tiny_http::Header> = Vec::with_capacity(reply.headers.len() + 1);
    let named = std::iter::once(("Content-Type", reply.content_type.as_str()))
        .chain(reply.headers.iter().map(|(n, v)| (n.as_str(), v.as_str())));
    for (name, value) in named {
        if let Ok(header) = tiny_http::Header::from_bytes(name.as_bytes(), value.as_bytes()) {
            headers.push(header);
        }
    }
    let status = tiny_http::StatusCode(reply.status);
    let chunked_by_us = method == Method::Get && *request.http_version() == tiny_http::HTTPVersion(1, 1);
    // A client that went away cannot be answered; nothing else to do.
    let _ = match reply.body {
        Body::Bytes(bytes) => {
            let length = bytes.len();
            request.respond(tiny_http::Response::new(status, headers, std::io::Cursor::new(bytes), Some(length), None))
        }
        Body::Stream { reader, length: None } if chunked_by_us => send_chunked(request, reply.status, &headers, reader),
        Body::Stream { reader, length } => {
            request.respond(tiny_http::Response::new(status, headers, reader, length, None))
        }
    };
}

/// Bytes per chunk of a streamed body of unknown length. tiny_http's own
/// encoder sends 8 KiB chunks: a list of 100,000 applications (53 MB) went
/// as 6,500 chunks and as many writes, and Python's `http.client`, which
/// reads chunk by chunk, took half as long again to receive it as in 64 KiB
/// chunks (ADR 0016, tenth addendum), and a fifth longer in 64 KiB chunks
/// than in 256 KiB ones (ADR 0062, second addendum).
const STREAM_CHUNK: usize = 256 << 10;

/// Answers an HTTP/1.1 GET with a body of unknown length in chunks of
/// [`STREAM_CHUNK`], written on the request's own connection (tiny_http
/// keeps the connection's order and its keep-alive: they follow the request,
/// not the response). Each chunk goes out in one write.
fn send_chunked(
    request: tiny_http::Request,
    status: u16,
    headers: &[tiny_http::Header],
    mut reader: Box<dyn Read + Send>,
) -> std::io::Result<()> {
    use std::fmt::Write as _;
    use std::io::Write as _;
    let mut head = format!("HTTP/1.1 {status} {}\r\n", tiny_http::StatusCode(status).default_reason_phrase());
    for header in headers {
        let _ = write!(head, "{}: {}\r\n", header.field, header.value);
    }
    if let Ok(date) = jiff::fmt::rfc2822::DateTimePrinter::new().timestamp_to_rfc9110_string(&jiff::Timestamp::now()) {
        let _ = write!(head, "Date: {date}\r\n");
    }
    head.push_str("Transfer-Encoding: chunked\r\n\r\n");
    let mut out = request.into_writer();
    out.write_all(head.as_bytes())?;
    let (mut chunk, mut frame) = (vec![0; STREAM_CHUNK], Vec::with_capacity(STREAM_CHUNK + 16));
    loop {
        let filled = fill(reader.as_mut(), &mut chunk)?;
        if filled > 0 {
            frame.clear();
            let _ = write!(frame, "{filled:x}\r\n");
            frame.extend_from_slice(&chunk[..filled]);
            frame.extend_from_slice(b"\r\n");
            out.write_all(&frame)?;
        }
        if filled < chunk.len() {
            break;
        }
    }
    out.write_all(b"0\r\n\r\n")?;
    out.flush()
}

/// Reads into `buffer` until it is full or the reader ends; how much it holds.
fn fill(reader: &mut dyn Read, buffer: &mut [u8]) -> std::io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::TcpStream;
    use std::sync::Mutex;

    /// GETs `target` and returns the status, the given header's value and the body.
    fn get(addr: SocketAddr, target: &str, header: &str) -> (u16, String, Vec<u8>) {
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let mut answer = agent.get(&format!("http://{addr}{target}")).call().expect("answers");
        let value = answer.headers().get(header).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        let body = answer.body_mut().read_to_vec().expect("body");
        (answer.status().as_u16(), value, body)
    }

    #[test]
    fn a_target_splits_into_path_and_query() {
        assert_eq!(Request::new(Method::Get, "/metrics?x=1&y").path, "/metrics");
        assert_eq!(Request::new(Method::Get, "/metrics?x=1&y").query, "x=1&y");
        assert_eq!(Request::new(Method::Get, "/a/b").query, "");
        assert!(Method::Head.is_read() && !Method::Post.is_read());
    }

    #[test]
    fn routes_see_the_path_without_the_query_and_stop_joins_every_worker() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&seen);
        let server = serve("127.0.0.1:0".parse().expect("addr"), "test-http", 3, move |request: &Request| {
            log.lock().expect("log").push((request.path.clone(), request.query.clone()));
            match request.path.as_str() {
                "/metrics" => Reply::text(200, "text/plain", "up 1\n").with_header("X-Test", "yes"),
                _ => Reply::text(404, "text/plain", "not found\n"),
            }
        })
        .expect("serves");
        let addr = server.addr();
        assert_ne!(addr.port(), 0);
        assert_eq!(get(addr, "/metrics?x=1", "x-test"), (200, "yes".to_owned(), b"up 1\n".to_vec()));
        assert_eq!(get(addr, "/metrics", "content-type").1, "text/plain");
        assert_eq!(get(addr, "/other", "content-type").0, 404);
        assert_eq!(
            *seen.lock().expect("log"),
            vec![
                ("/metrics".to_owned(), "x=1".to_owned()),
                ("/metrics".to_owned(), String::new()),
                ("/other".to_owned(), String::new())
            ]
        );
        server.stop();
        // tiny_http's accept thread closes the listener just after the last handle goes.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while TcpStream::connect(addr).is_ok() {
            assert!(std::time::Instant::now() < deadline, "the port stays open after stop");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }

    #[test]
    fn a_streamed_body_is_sent_whole() {
        let server = serve("127.0.0.1:0".parse().expect("addr"), "test-stream", 1, |_: &Request| Reply {
            status: 200,
            content_type: "application/octet-stream".into(),
            headers: vec![],
            body: Body::Stream { reader: Box::new(std::io::Cursor::new(vec![b'z'; 70_000])), length: Some(70_000) },
        })
        .expect("serves");
        let (status, kind, body) = get(server.addr(), "/", "content-type");
        assert_eq!((status, kind.as_str(), body.len()), (200, "application/octet-stream", 70_000));
        assert!(body.iter().all(|b| *b == b'z'));
    }

    /// A server streaming `bytes` of unknown length at every path.
    fn streaming(bytes: usize) -> HttpServer {
        serve("127.0.0.1:0".parse().expect("addr"), "test-chunks", 1, move |_: &Request| Reply {
            status: 200,
            content_type: "application/json".into(),
            headers: vec![("X-Test".to_owned(), "yes".to_owned())],
            body: Body::Stream {
                reader: Box::new(std::io::Cursor::new((0..bytes).map(|i| (i % 251) as u8).collect::<Vec<_>>())),
                length: None,
            },
        })
        .expect("serves")
    }

    /// Sends `requests` on one connection and reads until the server closes it.
    fn raw(addr: SocketAddr, requests: &str) -> Vec<u8> {
        use std::io::Write;
        let mut stream = TcpStream::connect(addr).expect("connects");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(10))).expect("timeout");
        stream.write_all(requests.as_bytes()).expect("sends");
        let mut answer = Vec::new();
        stream.read_to_end(&mut answer).expect("reads");
        answer
    }

    /// Splits one chunked response off the front of `bytes`: its head, its chunks' sizes and its body.
    fn chunked_response(bytes: &[u8]) -> (String, Vec<usize>, Vec<u8>, &[u8]) {
        let end = bytes.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
        let head = String::from_utf8(bytes[..end].to_vec()).expect("text");
        let (mut rest, mut sizes, mut body) = (&bytes[end..], Vec::new(), Vec::new());
        loop {
            let line = rest.windows(2).position(|w| w == b"\r\n").expect("a chunk size");
            let size = usize::from_str_radix(std::str::from_utf8(&rest[..line]).expect("hex"), 16).expect("hex");
            rest = &rest[line + 2..];
            body.extend_from_slice(&rest[..size]);
            assert_eq!(&rest[size..size + 2], b"\r\n", "each chunk ends its line");
            rest = &rest[size + 2..];
            if size == 0 {
                return (head, sizes, body, rest);
            }
            sizes.push(size);
        }
    }

    #[test]
    fn a_body_of_unknown_length_goes_in_256_kib_chunks_and_the_connection_serves_the_next_request() {
        let server = streaming(600_000);
        let expected: Vec<u8> = (0..600_000).map(|i| (i % 251) as u8).collect();
        let answer = raw(
            server.addr(),
            "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        );
        let (head, sizes, body, rest) = chunked_response(&answer);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
        for line in
            ["Content-Type: application/json\r\n", "X-Test: yes\r\n", "Transfer-Encoding: chunked\r\n", "Date: "]
        {
            assert!(head.contains(line), "{line:?} in {head}");
        }
        assert!(!head.contains("Content-Length"), "{head}");
        assert_eq!(sizes, [262_144, 262_144, 75_712]);
        assert_eq!(body, expected);
        // The second request on the same connection is answered whole too, and nothing follows it.
        let (second, _, body, rest) = chunked_response(rest);
        assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
        assert_eq!(body, expected);
        assert!(rest.is_empty(), "{} bytes after the last answer", rest.len());
        // A client that decodes chunks as any does (ureq) reads the same body.
        assert_eq!(get(server.addr(), "/", "transfer-encoding"), (200, "chunked".to_owned(), expected));
    }

    #[test]
    fn an_empty_body_of_unknown_length_is_the_last_chunk_alone() {
        let server = streaming(0);
        let answer = raw(server.addr(), "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let (head, sizes, body, rest) = chunked_response(&answer);
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(sizes.is_empty() && body.is_empty() && rest.is_empty());
    }

    #[test]
    fn head_and_http_1_0_requests_of_a_streamed_body_are_answered_as_tiny_http_answers_them() {
        let server = streaming(100_000);
        let head = String::from_utf8(raw(server.addr(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
            .expect("text");
        assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.ends_with("\r\n\r\n"), "no body: {head}");
        // HTTP/1.0 knows no chunks: the body goes whole, with its length, and the connection closes after it.
        let answer = raw(server.addr(), "GET / HTTP/1.0\r\n\r\n");
        let end = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
        let head = String::from_utf8(answer[..end].to_vec()).expect("text");
        assert!(head.contains("Content-Length: 100000\r\n") && !head.contains("chunked"), "{head}");
        assert_eq!(answer.len() - end, 100_000);
    }

    #[test]
    fn a_taken_port_is_a_serve_error_naming_the_address() {
        let first = serve("127.0.0.1:0".parse().expect("addr"), "first", 1, |_: &Request| Reply::text(200, "t", ""))
            .expect("serves");
        let error = serve(first.addr(), "second", 1, |_: &Request| Reply::text(200, "t", "")).expect_err("taken");
        assert!(error.to_string().starts_with(&format!("cannot listen on {}: ", first.addr())), "{error}");
    }
}
