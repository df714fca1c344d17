//! The one HTTP server of sparkplane: the History Server, the exporter, the
//! operator's metrics and probes, the fake API server and the tests' own
//! receivers all serve through it (ADR 0088).
//!
//! Owns: what a handler sees of a request — its method, its path and query
//! apart (never the raw URL: a route matches `/metrics` whatever query
//! follows), its headers, its body read whole up to a limit the caller sets,
//! the peer's address — and what it answers with ([`Reply`] through
//! [`Responder`]: a body in memory, one read from a reader, or one written
//! piece by piece as it happens, each piece sent at once); the bounds on
//! hostile input (a header section over [`MAX_HEAD`] answers 431, a body over
//! the limit 413); and a clean stop — no new connection, idle ones closed,
//! those in flight finished (at most [`DRAIN`]), every thread joined — on
//! [`HttpServer::stop`] or drop.
//!
//! How: hyper 1 over HTTP/1.1 (keep-alive, pipelining, chunked bodies) on a
//! tokio runtime the server owns; handlers stay synchronous and run on that
//! runtime's blocking threads, so a handler that streams for minutes holds
//! one thread and no connection waits for it (`connections`). The
//! connections are served with upgrades on and a response's body is any
//! `hyper::body::Body`. A server may have a [`Router`] besides its handler:
//! called with each request's head before its body is read, it sends the
//! request to the handler, answers it at once, or forwards it to an
//! upstream ([`Forward`], `forward`: a reverse proxy's request and streamed
//! answer, on the runtime's own threads, holding no worker's slot).
//!
//! Must not: know any route, payload or format; the handler decides every
//! answer.

mod connections;
mod forward;
mod respond;

use std::fmt;
use std::io::Read;
use std::net::{SocketAddr, TcpListener};
use std::time::Duration;

pub use forward::{CONNECT_TIMEOUT, CONTEXT_HEADER, Forward, HEAD_TIMEOUT, rewrite_location};
pub use http::HeaderMap;
pub use http::uri::Authority;
pub use respond::{BodyWriter, Responder};

/// Largest request header section read (request line and headers); a larger
/// one is answered 431 and the connection closed.
pub const MAX_HEAD: usize = 64 * 1024;

/// The request body limit unless [`Options::body_limit`] says otherwise:
/// sparkplane's own endpoints read no body.
pub const DEFAULT_BODY_LIMIT: usize = 64 * 1024;

/// How long a stop waits for the connections in flight, and then for the
/// handlers still running, before it lets them go.
pub const DRAIN: Duration = Duration::from_secs(10);

/// The request methods sparkplane's endpoints tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    /// Any other method ([`Request::method_name`] says which).
    Other,
}

impl Method {
    /// GET or HEAD: a read.
    pub fn is_read(self) -> bool {
        matches!(self, Method::Get | Method::Head)
    }

    fn of(method: &http::Method) -> Method {
        match *method {
            http::Method::GET => Method::Get,
            http::Method::HEAD => Method::Head,
            http::Method::POST => Method::Post,
            _ => Method::Other,
        }
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
    /// The request's headers (names compare without case).
    pub headers: HeaderMap,
    /// The body, read whole (at most the server's body limit).
    pub body: Vec<u8>,
    /// Who sent it; `None` for a request made up by [`Request::new`].
    pub peer: Option<SocketAddr>,
    /// The method exactly as sent.
    name: http::Method,
}

impl Request {
    /// Splits a request target (`/path?query`) the way every endpoint reads
    /// it: a request with no header, no body and no peer (`Other` is the
    /// method named `OTHER`).
    pub fn new(method: Method, target: &str) -> Request {
        let name = match method {
            Method::Get => http::Method::GET,
            Method::Head => http::Method::HEAD,
            Method::Post => http::Method::POST,
            Method::Other => http::Method::from_bytes(b"OTHER").unwrap_or_default(),
        };
        Request::from_parts(name, target, HeaderMap::new(), Vec::new(), None)
    }

    fn from_parts(
        name: http::Method,
        target: &str,
        headers: HeaderMap,
        body: Vec<u8>,
        peer: Option<SocketAddr>,
    ) -> Request {
        let (path, query) = target.split_once('?').unwrap_or((target, ""));
        Request { method: Method::of(&name), path: path.to_owned(), query: query.to_owned(), headers, body, peer, name }
    }

    /// The method as sent (`PATCH`, `DELETE`, …).
    pub fn method_name(&self) -> &str {
        self.name.as_str()
    }

    /// A header's value (the first one when it is repeated), when it is text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }
}

/// A reply's body.
pub enum Body {
    /// A body held in memory.
    Bytes(Vec<u8>),
    /// A body streamed from a reader, with its length when known; one of
    /// unknown length goes in chunks of 256 KiB (`respond::STREAM_CHUNK`).
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
    /// The `Content-Type`; empty: none is sent.
    pub content_type: String,
    /// Further headers, in order (`Content-Length` and `Transfer-Encoding`
    /// are the server's: it frames the body itself).
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

/// The bind (or the start of the server's threads) failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {message}")]
pub struct ServeError {
    /// The address asked for.
    pub addr: SocketAddr,
    /// What the operating system said.
    pub message: String,
}

/// Where a request goes, as a [`Router`] decides from its head.
#[derive(Debug)]
pub enum Route {
    /// To the server's handler (its body read first).
    Handle,
    /// Answered at once with this reply (a sign-in's 401, a redirect).
    Answer(Reply),
    /// Forwarded upstream, its answer streamed back.
    Forward(Forward),
}

/// What a server with a router calls first for each request, on the
/// runtime's own thread (so it must be quick: no I/O): the request as
/// [`Request`] with an empty body, which is not read yet.
pub type Router = dyn Fn(&Request) -> Route + Send + Sync;

/// How a server runs: its threads' name, how many handlers run at once and
/// how large a request body it reads.
#[derive(Clone)]
pub struct Options {
    name: String,
    workers: Option<usize>,
    body_limit: usize,
    router: Option<std::sync::Arc<Router>>,
    inline: Option<std::sync::Arc<Inline>>,
}

/// Which requests a server's handler answers on the connection's own
/// thread ([`Options::inline`]).
pub type Inline = dyn Fn(&Request) -> bool + Send + Sync;

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("name", &self.name)
            .field("workers", &self.workers)
            .field("body_limit", &self.body_limit)
            .field("router", &self.router.is_some())
            .field("inline", &self.inline.is_some())
            .finish()
    }
}

impl Options {
    /// Threads named `name-N`, a handler for every request as it comes, a
    /// body of at most [`DEFAULT_BODY_LIMIT`].
    pub fn new(name: &str) -> Options {
        Options { name: name.to_owned(), workers: None, body_limit: DEFAULT_BODY_LIMIT, router: None, inline: None }
    }

    /// Requests `inline` accepts (its body read) are answered on the
    /// connection's own thread, without the hand-over to a blocking thread
    /// and back that every other request takes: for a handler that answers
    /// such a request at once from memory, as the simulated API server
    /// answers everything but its watches and followed logs. The handler
    /// must neither wait nor stream on those requests: a reader's body is
    /// read whole before it is sent, and [`Responder::stream`]'s writes fail
    /// rather than wait for the client (that thread is the one that would
    /// send them).
    pub fn inline(mut self, inline: impl Fn(&Request) -> bool + Send + Sync + 'static) -> Options {
        self.inline = Some(std::sync::Arc::new(inline));
        self
    }

    /// Each request's head goes to `router` first; see [`Route`].
    pub fn router(mut self, router: impl Fn(&Request) -> Route + Send + Sync + 'static) -> Options {
        self.router = Some(std::sync::Arc::new(router));
        self
    }

    /// At most `workers` handlers run at once (at least one); the others
    /// wait. A handler's slot is free again once its answer's head is sent:
    /// a body streamed from a reader does not hold it.
    pub fn workers(mut self, workers: usize) -> Options {
        self.workers = Some(workers.max(1));
        self
    }

    /// The largest request body read; a larger one is answered 413.
    pub fn body_limit(mut self, bytes: usize) -> Options {
        self.body_limit = bytes;
        self
    }
}

/// What a [`start`]ed server calls for each request, on a blocking thread:
/// it answers through the [`Responder`] (dropping it unanswered answers 500).
pub type Handler = dyn Fn(Request, Responder) + Send + Sync;

/// A running server; stops and joins its threads on [`HttpServer::stop`] or drop.
pub struct HttpServer {
    addr: SocketAddr,
    running: Option<connections::Running>,
}

impl fmt::Debug for HttpServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpServer").field("addr", &self.addr).finish()
    }
}

impl HttpServer {
    /// The bound address (with the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Stops accepting, closes idle connections, lets requests in flight
    /// finish (at most [`DRAIN`], then at most [`DRAIN`] more for handlers
    /// still running) and joins every thread. Safe to call from inside
    /// another tokio runtime (the operator's).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        if let Some(running) = self.running.take() {
            running.stop();
        }
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Serves `handler` on `addr`, at most `workers` requests at once, on
/// threads named `name-N`: the endpoints that answer with a [`Reply`].
pub fn serve<H>(addr: SocketAddr, name: &str, workers: usize, handler: H) -> Result<HttpServer, ServeError>
where
    H: Fn(&Request) -> Reply + Send + Sync + 'static,
{
    let listener = TcpListener::bind(addr).map_err(|e| ServeError { addr, message: e.to_string() })?;
    start(listener, Options::new(name).workers(workers), move |request: Request, responder: Responder| {
        responder.send(handler(&request))
    })
}

/// Serves `handler` on `listener` (bound by the caller, with the socket
/// options it wants) as `options` say.
pub fn start<H>(listener: TcpListener, options: Options, handler: H) -> Result<HttpServer, ServeError>
where
    H: Fn(Request, Responder) + Send + Sync + 'static,
{
    let fallback = SocketAddr::from(([0, 0, 0, 0], 0));
    let addr = listener.local_addr().map_err(|e| ServeError { addr: fallback, message: e.to_string() })?;
    let running = connections::Running::start(listener, options, std::sync::Arc::new(handler))
        .map_err(|e| ServeError { addr, message: e.to_string() })?;
    Ok(HttpServer { addr, running: Some(running) })
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod forward_tests;
