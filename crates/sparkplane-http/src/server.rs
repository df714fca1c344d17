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
    // A client that went away cannot be answered; nothing else to do.
    let _ = match reply.body {
        Body::Bytes(bytes) => {
            let length = bytes.len();
            request.respond(tiny_http::Response::new(status, headers, std::io::Cursor::new(bytes), Some(length), None))
        }
        Body::Stream { reader, length } => {
            request.respond(tiny_http::Response::new(status, headers, reader, length, None))
        }
    };
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

    #[test]
    fn a_taken_port_is_a_serve_error_naming_the_address() {
        let first = serve("127.0.0.1:0".parse().expect("addr"), "first", 1, |_: &Request| Reply::text(200, "t", ""))
            .expect("serves");
        let error = serve(first.addr(), "second", 1, |_: &Request| Reply::text(200, "t", "")).expect_err("taken");
        assert!(error.to_string().starts_with(&format!("cannot listen on {}: ", first.addr())), "{error}");
    }
}
