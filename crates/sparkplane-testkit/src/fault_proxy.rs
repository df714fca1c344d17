//! A fault-injecting HTTP proxy for tests of sparkplane's object-storage
//! clients: it sits on 127.0.0.1 in front of a real server (SeaweedFS's S3
//! gateway), passes every request through unchanged, and meets the ones a
//! rule picks with a [`Fault`] instead — a `503 SlowDown` (what a throttled or
//! failing S3 answers) or no answer at all (a store that hangs, so the client's
//! timeout fires) —, for as long as the rule is armed.
//!
//! Owns: forwarding each request (served by `sparkplane_http`'s one server,
//! sent on with the one agent setup, redirects passed back rather than
//! followed), the rule and its fault, and the record of request lines seen.
//! Must not: change a request (signatures cover its line and headers: it
//! goes on with its own `Host`, headers and body; only the connection's own
//! headers are the proxy's) or know any storage API beyond the request line
//! its rule looks at.

use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sparkplane_http::{Body, HttpServer, Method, Options, Reply, Request, Responder};
use ureq::http;

/// What a request the rule picks meets instead of the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `503 Slow Down` with S3's XML error body, at once.
    SlowDown,
    /// Nothing: the request is read and the connection held open, unanswered,
    /// until the client gives up (its timeout); the proxy lets the request go
    /// when it stops.
    Stall,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the client's endpoint.
    pub endpoint: String,
    armed: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(String, bool)>>>,
    stop: Arc<AtomicBool>,
    server: Option<HttpServer>,
}

/// The largest request body forwarded.
const FORWARDED_BODY_LIMIT: usize = 256 * 1024 * 1024;

impl FaultProxy {
    /// Listens on a free port of 127.0.0.1 and forwards to `upstream`
    /// (`http://host:port`). While armed ([`FaultProxy::arm`]), a request whose
    /// request line (`GET /bucket?list-type=2&… HTTP/1.1`) satisfies `fails`
    /// meets `fault` and never reaches the upstream.
    pub fn start(
        upstream: &str,
        fault: Fault,
        fails: impl Fn(&str) -> bool + Send + Sync + 'static,
    ) -> Result<FaultProxy, String> {
        let upstream = upstream.trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1: {e}"))?;
        let (armed, seen, stop) =
            (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let agent: ureq::Agent = sparkplane_http::agent_config(None).max_redirects(0).build().into();
        let handler = {
            let (armed, seen, stop) = (Arc::clone(&armed), Arc::clone(&seen), Arc::clone(&stop));
            move |request: Request, responder: Responder| {
                let line = request_line(&request);
                let fail = armed.load(Ordering::SeqCst) && fails(&line);
                if let Ok(mut seen) = seen.lock() {
                    seen.push((line, fail));
                }
                match (fail, fault) {
                    // Unanswered; once the stall ends the client has gone or the proxy is stopping.
                    (true, Fault::Stall) => stall(&stop),
                    (true, Fault::SlowDown) => responder.send(slow_down()),
                    (false, _) => responder.send(forward(&agent, &upstream, &request)),
                }
            }
        };
        let options = Options::new("testkit-fault-proxy").body_limit(FORWARDED_BODY_LIMIT);
        let server = sparkplane_http::start(listener, options, handler).map_err(|e| e.to_string())?;
        Ok(FaultProxy { endpoint: format!("http://{}", server.addr()), armed, seen, stop, server: Some(server) })
    }

    /// Starts failing the requests the rule picks.
    pub fn arm(&self) {
        self.armed.store(true, Ordering::SeqCst);
    }

    /// Passes every request through again.
    pub fn disarm(&self) {
        self.armed.store(false, Ordering::SeqCst);
    }

    /// Every request line seen so far, in order, with whether it was failed.
    pub fn requests(&self) -> Vec<(String, bool)> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        // Stalled requests end first, so the server's stop finds nothing held.
        self.stop.store(true, Ordering::SeqCst);
        if let Some(server) = self.server.take() {
            server.stop();
        }
    }
}

/// The request line as the client sent it: `GET /bucket?list-type=2 HTTP/1.1`.
fn request_line(request: &Request) -> String {
    match request.query.as_str() {
        "" => format!("{} {} HTTP/1.1", request.method_name(), request.path),
        query => format!("{} {}?{query} HTTP/1.1", request.method_name(), request.path),
    }
}

/// S3's `503 SlowDown`, with its XML error body.
fn slow_down() -> Reply {
    let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>injected by the test's fault proxy</Message></Error>";
    Reply::text(503, "application/xml", text)
}

/// Headers of one connection, not of the request: the proxy's own on each side.
fn hop_by_hop(name: &http::HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "expect"
    )
}

/// Sends `request` on to `upstream` as it came and answers with what the
/// upstream answered (502 when it cannot be reached).
fn forward(agent: &ureq::Agent, upstream: &str, request: &Request) -> Reply {
    let target = match request.query.as_str() {
        "" => request.path.clone(),
        query => format!("{}?{query}", request.path),
    };
    let mut onward = http::Request::builder().method(request.method_name()).uri(format!("{upstream}{target}"));
    for (name, value) in request.headers.iter().filter(|(name, _)| !hop_by_hop(name)) {
        onward = onward.header(name, value);
    }
    let sent = if request.body.is_empty() && !request.headers.contains_key(http::header::CONTENT_LENGTH) {
        onward.body(()).map_err(|e| e.to_string()).and_then(|r| agent.run(r).map_err(|e| e.to_string()))
    } else {
        onward
            .body(request.body.as_slice())
            .map_err(|e| e.to_string())
            .and_then(|r| agent.run(r).map_err(|e| e.to_string()))
    };
    let answer = match sent {
        Ok(answer) => answer,
        Err(why) => return Reply::text(502, "text/plain", format!("the fault proxy's upstream: {why}\n")),
    };
    let status = answer.status().as_u16();
    let header = |name: http::header::HeaderName| answer.headers().get(name).and_then(|v| v.to_str().ok());
    let content_type = header(http::header::CONTENT_TYPE).unwrap_or_default().to_owned();
    let length = header(http::header::CONTENT_LENGTH).and_then(|v| v.trim().parse::<usize>().ok());
    let headers: Vec<(String, String)> = answer
        .headers()
        .iter()
        .filter(|(name, _)| !hop_by_hop(name) && *name != http::header::CONTENT_TYPE)
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let body = if request.method == Method::Head {
        // A HEAD's answer tells the length of what a GET would get.
        Body::Stream { reader: Box::new(std::io::empty()), length }
    } else {
        match answer.into_body().into_with_config().limit(u64::MAX).read_to_vec() {
            Ok(bytes) => Body::Bytes(bytes),
            Err(why) => return Reply::text(502, "text/plain", format!("the fault proxy's upstream: {why}\n")),
        }
    };
    Reply { status, content_type, headers, body }
}

/// Holds a request unanswered until the proxy stops (checked every 100 ms;
/// at most ten minutes, so a forgotten test ends).
fn stall(stop: &AtomicBool) {
    let until = std::time::Instant::now() + Duration::from_secs(600);
    while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < until {
        std::thread::sleep(Duration::from_millis(100));
    }
}
