//! The fake's HTTP/1.1 transport: one thread per connection, requests on a
//! connection served in order (keep-alive), responses with a length or
//! streamed in chunks (watches, followed logs) on a connection that then
//! closes.
//!
//! Why not tiny_http (used before): its connection pool hands a new
//! connection to a thread that was already woken for another one, so under
//! a burst of connections — an operator opening its watches — a connection
//! could wait until some watch ended, minutes later. A thread per connection
//! cannot starve that way.
//!
//! Bounded against hostile input: header section 64 KiB, body 64 MiB.
//! Owns: bytes on sockets. Must not: know about Kubernetes.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest header section read.
pub const MAX_HEAD: usize = 64 * 1024;
/// Largest body read.
pub const MAX_BODY: usize = 64 * 1024 * 1024;

/// One request, with the connection to answer on.
pub struct Request {
    method: String,
    url: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    stream: TcpStream,
    keep_alive: bool,
    /// Set when the answer leaves the connection usable for the next request.
    reusable: Arc<AtomicBool>,
}

impl Request {
    /// The method, upper case.
    pub fn method(&self) -> &str {
        &self.method
    }

    /// Path and query as sent.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A header's value (names compare without case).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.clone())
    }

    /// The body.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// Answers with a whole body; the connection stays open for the next request.
    pub fn respond(mut self, code: u16, content_type: &str, body: &[u8]) {
        let connection = if self.keep_alive { "keep-alive" } else { "close" };
        let head = format!(
            "HTTP/1.1 {code} {}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: {connection}\r\n\r\n",
            reason(code),
            body.len()
        );
        let mut out = Vec::with_capacity(head.len() + body.len());
        out.extend_from_slice(head.as_bytes());
        out.extend_from_slice(body);
        let written = self.stream.write_all(&out).and_then(|()| self.stream.flush()).is_ok();
        self.reusable.store(written && self.keep_alive, Ordering::SeqCst);
    }

    /// The connection, to stream a response on; it closes afterwards.
    pub fn into_writer(self) -> Box<dyn Write + Send> {
        self.reusable.store(false, Ordering::SeqCst);
        match self.stream.try_clone() {
            Ok(stream) => Box::new(stream),
            Err(_) => Box::new(std::io::sink()),
        }
    }
}

fn reason(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        410 => "Gone",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        500 => "Internal Server Error",
        503 => "Service Unavailable",
        _ => "Status",
    }
}

/// What a connection's handler is given.
pub type Handler = Arc<dyn Fn(Request) + Send + Sync>;

/// A listening server; when dropped it stops accepting, closes the
/// connections still open, as an API server that shuts down does (an idle
/// keep-alive connection would otherwise keep its thread, and the handler's
/// store, alive for as long as the client keeps it open), and waits until
/// every connection's thread has ended, so that what the handler holds is
/// let go before the drop returns, not by a thread still finishing later.
pub struct Server {
    address: SocketAddr,
    stopping: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
    open: Arc<OpenConnections>,
}

/// The connections being served, by number, to close when the server stops
/// and to wait for: an entry stays until its connection's thread has ended.
#[derive(Default)]
struct OpenConnections {
    next: AtomicU64,
    streams: Mutex<BTreeMap<u64, TcpStream>>,
    /// Signalled whenever a connection's thread ends.
    ended: Condvar,
}

/// How long a dropped server waits for its connections' threads to end
/// (a handler checks for the end of the server at least every 200 ms; a
/// scripted latency may hold one longer).
const DRAIN: Duration = Duration::from_secs(10);

impl OpenConnections {
    /// Registers an accepted connection (before its thread starts, so that
    /// a stop closes it even if the thread has not run yet).
    fn add(&self, stream: &TcpStream) -> Option<u64> {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        let copy = stream.try_clone().ok()?;
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).insert(id, copy);
        Some(id)
    }

    fn remove(&self, id: u64) {
        self.streams.lock().unwrap_or_else(PoisonError::into_inner).remove(&id);
        self.ended.notify_all();
    }

    fn close_all(&self) {
        for stream in self.streams.lock().unwrap_or_else(PoisonError::into_inner).values() {
            let _ = stream.shutdown(Shutdown::Both);
        }
    }

    /// Waits until every connection's thread has ended, at most `limit`.
    fn wait_until_ended(&self, limit: Duration) {
        let deadline = Instant::now() + limit;
        let mut streams = self.streams.lock().unwrap_or_else(PoisonError::into_inner);
        while !streams.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            streams = self.ended.wait_timeout(streams, left).map_or_else(|e| e.into_inner().0, |(s, _)| s);
        }
    }
}

/// A connection's thread's hold on the handler: lets go of the handler, then
/// unregisters the connection, when the thread ends (panicking handler
/// included), so a server waiting for its connections finds the handler free.
struct Registered {
    open: Arc<OpenConnections>,
    id: u64,
    handler: Option<Handler>,
}

impl Drop for Registered {
    fn drop(&mut self) {
        drop(self.handler.take());
        self.open.remove(self.id);
    }
}

impl Server {
    /// Serves `listener`, calling `handler` for each request on the connection's own thread.
    pub fn start(listener: TcpListener, handler: Handler) -> std::io::Result<Server> {
        let address = listener.local_addr()?;
        let stopping = Arc::new(AtomicBool::new(false));
        let open = Arc::new(OpenConnections::default());
        let accept = {
            let stopping = Arc::clone(&stopping);
            let open = Arc::clone(&open);
            std::thread::Builder::new().name("fakekube-accept".into()).spawn(move || {
                for stream in listener.incoming() {
                    if stopping.load(Ordering::SeqCst) {
                        break;
                    }
                    // A connection that failed to open is not the server's end.
                    let Ok(stream) = stream else { continue };
                    // One that cannot be registered (no descriptor to spare) is closed unserved.
                    let Some(id) = open.add(&stream) else { continue };
                    let registered = Registered { open: Arc::clone(&open), id, handler: Some(Arc::clone(&handler)) };
                    let stopping = Arc::clone(&stopping);
                    let spawned = std::thread::Builder::new().name("fakekube-conn".into()).spawn(move || {
                        if let Some(handler) = &registered.handler {
                            connection(stream, handler, &stopping);
                        }
                        drop(registered);
                    });
                    if spawned.is_err() {
                        // The closure, and with it the registration, was dropped unrun.
                        break;
                    }
                }
            })?
        };
        Ok(Server { address, stopping, accept: Some(accept), open })
    }

    /// The bound address.
    pub fn address(&self) -> SocketAddr {
        self.address
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // Wake the accept loop with a connection of our own.
        let _ = TcpStream::connect(self.address);
        if let Some(handle) = self.accept.take() {
            let _ = handle.join();
        }
        // No connection is accepted any more: close those open and wait for their threads.
        self.open.close_all();
        self.open.wait_until_ended(DRAIN);
    }
}

fn connection(stream: TcpStream, handler: &Handler, stopping: &AtomicBool) {
    let Ok(read_half) = stream.try_clone() else { return };
    let mut reader = BufReader::new(read_half);
    loop {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let request = match read_request(&mut reader, &stream) {
            Ok(Some(request)) => request,
            Ok(None) => break,
            Err(code) => {
                let mut bad = stream.try_clone().ok();
                if let Some(s) = bad.as_mut() {
                    let body = format!("{}\n", reason(code));
                    let _ = write!(
                        s,
                        "HTTP/1.1 {code} {}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        reason(code),
                        body.len()
                    );
                }
                break;
            }
        };
        let reusable = Arc::clone(&request.reusable);
        handler(request);
        // A streamed answer, a failed write or `Connection: close` ends the connection.
        if !reusable.load(Ordering::SeqCst) {
            break;
        }
    }
    let _ = stream.shutdown(Shutdown::Both);
}

/// Reads one request; `Ok(None)` when the peer closed between requests, `Err(code)` for a bad one.
fn read_request(reader: &mut BufReader<TcpStream>, stream: &TcpStream) -> Result<Option<Request>, u16> {
    let mut head = Vec::new();
    loop {
        let mut line = Vec::new();
        let read = reader.by_ref().take((MAX_HEAD + 1 - head.len().min(MAX_HEAD)) as u64).read_until(b'\n', &mut line);
        match read {
            Ok(0) if head.is_empty() => return Ok(None),
            Ok(0) => return Err(400),
            Ok(_) => {}
            Err(_) => return Ok(None),
        }
        if line == b"\r\n" || line == b"\n" {
            if head.is_empty() {
                // Stray empty lines between requests are allowed.
                continue;
            }
            break;
        }
        head.extend_from_slice(&line);
        if head.len() > MAX_HEAD {
            return Err(431);
        }
    }
    let text = String::from_utf8_lossy(&head);
    let mut lines = text.lines();
    let first = lines.next().ok_or(400u16)?;
    let mut parts = first.split_whitespace();
    let (Some(method), Some(url), Some(version)) = (parts.next(), parts.next(), parts.next()) else {
        return Err(400);
    };
    let headers: Vec<(String, String)> =
        lines.filter_map(|l| l.split_once(':')).map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned())).collect();
    let find =
        |name: &str| headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.to_ascii_lowercase());
    let connection = find("connection").unwrap_or_default();
    let keep_alive =
        if version == "HTTP/1.0" { connection.contains("keep-alive") } else { !connection.contains("close") };
    if find("expect").is_some_and(|e| e == "100-continue")
        && let Ok(mut s) = stream.try_clone()
    {
        let _ = s.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let body = if find("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        read_chunked(reader)?
    } else {
        let length: usize = find("content-length").map_or(Ok(0), |l| l.trim().parse().map_err(|_| 400u16))?;
        if length > MAX_BODY {
            return Err(413);
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).map_err(|_| 400u16)?;
        body
    };
    let stream = stream.try_clone().map_err(|_| 500u16)?;
    Ok(Some(Request {
        method: method.to_ascii_uppercase(),
        url: url.to_owned(),
        headers,
        body,
        stream,
        keep_alive,
        reusable: Arc::new(AtomicBool::new(false)),
    }))
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Result<Vec<u8>, u16> {
    let mut body = Vec::new();
    loop {
        let mut size_line = String::new();
        reader.by_ref().take(1024).read_line(&mut size_line).map_err(|_| 400u16)?;
        let size_text = size_line.trim().split(';').next().unwrap_or_default();
        let size = usize::from_str_radix(size_text, 16).map_err(|_| 400u16)?;
        if body.len() + size > MAX_BODY {
            return Err(413);
        }
        if size == 0 {
            // Trailers, up to the empty line.
            loop {
                let mut line = String::new();
                let n = reader.by_ref().take(MAX_HEAD as u64).read_line(&mut line).map_err(|_| 400u16)?;
                if n == 0 || line == "\r\n" || line == "\n" {
                    return Ok(body);
                }
            }
        }
        let start = body.len();
        body.resize(start + size, 0);
        reader.read_exact(&mut body[start..]).map_err(|_| 400u16)?;
        let mut crlf = [0u8; 2];
        reader.read_exact(&mut crlf).map_err(|_| 400u16)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serve_echo() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let handler: Handler = Arc::new(|request: Request| {
            let body = format!("{} {} {}", request.method(), request.url(), String::from_utf8_lossy(request.body()));
            request.respond(200, "text/plain", body.as_bytes());
        });
        Server::start(listener, handler).expect("starts")
    }

    fn exchange(address: SocketAddr, raw: &[u8]) -> String {
        let mut stream = TcpStream::connect(address).expect("connects");
        stream.write_all(raw).expect("writes");
        stream.shutdown(Shutdown::Write).expect("half-close");
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        out
    }

    #[test]
    fn keep_alive_serves_requests_in_order_and_reads_chunked_bodies() {
        let server = serve_echo();
        let out = exchange(
            server.address(),
            b"GET /a HTTP/1.1\r\nHost: x\r\n\r\nPOST /b HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\nPUT /c HTTP/1.1\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi",
        );
        let bodies: Vec<&str> =
            out.split("\r\n\r\n").skip(1).map(|p| p.split("HTTP/1.1").next().unwrap_or_default()).collect();
        assert_eq!(bodies, ["GET /a ", "POST /b abc", "PUT /c hi"]);
        assert!(out.contains("Connection: close"));
    }

    #[test]
    fn oversized_and_malformed_requests_are_refused() {
        let server = serve_echo();
        let huge = format!("GET / HTTP/1.1\r\nX: {}\r\n\r\n", "y".repeat(MAX_HEAD + 10));
        assert!(exchange(server.address(), huge.as_bytes()).starts_with("HTTP/1.1 431"));
        let big = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert!(exchange(server.address(), big.as_bytes()).starts_with("HTTP/1.1 413"));
        assert!(exchange(server.address(), b"NONSENSE\r\n\r\n").starts_with("HTTP/1.1 400"));
    }

    #[test]
    fn a_burst_of_held_connections_does_not_starve_a_new_one() {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        let handler: Handler = Arc::new(|request: Request| {
            if request.url() == "/hold" {
                let mut w = request.into_writer();
                let _ = w.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                // Held for 5 s, or until the client goes.
                for _ in 0..50 {
                    std::thread::sleep(std::time::Duration::from_millis(100));
                    if w.write_all(b".").and_then(|()| w.flush()).is_err() {
                        break;
                    }
                }
            } else {
                request.respond(200, "text/plain", b"ok");
            }
        });
        let server = Server::start(listener, handler).expect("starts");
        let held: Vec<TcpStream> = (0..32)
            .map(|_| {
                let mut s = TcpStream::connect(server.address()).expect("connects");
                s.write_all(b"GET /hold HTTP/1.1\r\n\r\n").expect("writes");
                s
            })
            .collect();
        // Liveness, not speed: the answer must come while the 32 connections are still held (5 s).
        let mut stream = TcpStream::connect(server.address()).expect("connects");
        stream.set_read_timeout(Some(std::time::Duration::from_secs(4))).expect("timeout");
        stream.write_all(b"GET /now HTTP/1.1\r\nConnection: close\r\n\r\n").expect("writes");
        let mut out = String::new();
        let _ = stream.read_to_string(&mut out);
        assert!(out.ends_with("ok"), "answered while 32 connections are held: {out:?}");
        drop(held);
    }
}
