//! A fault-injecting HTTP proxy for tests of sparkplane's object-storage
//! clients: it sits on 127.0.0.1 in front of a real server (SeaweedFS's S3
//! gateway), passes every request through unchanged, and meets the ones a
//! rule picks with a [`Fault`] instead — a `503 SlowDown` (what a throttled or
//! failing S3 answers) or no answer at all (a store that hangs, so the client's
//! timeout fires) —, for as long as the rule is armed.
//!
//! Owns: forwarding one HTTP/1.1 request per connection (the answer is sent
//! with `connection: close`), the rule and its fault, and the record of
//! request lines seen.
//! Must not: change a request (signatures cover its line and headers) or know
//! any storage API beyond the request line its rule looks at.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

type Rule = dyn Fn(&str) -> bool + Send + Sync;

/// What a request the rule picks meets instead of the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// `503 Slow Down` with S3's XML error body, at once.
    SlowDown,
    /// Nothing: the request is read and the connection held open, unanswered,
    /// until the client gives up (its timeout) or the proxy stops.
    Stall,
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    /// `http://127.0.0.1:PORT`, to use as the client's endpoint.
    pub endpoint: String,
    armed: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(String, bool)>>>,
    stop: Arc<AtomicBool>,
    address: SocketAddr,
    thread: Option<JoinHandle<()>>,
}

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
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind 127.0.0.1: {e}"))?;
        let address = listener.local_addr().map_err(|e| e.to_string())?;
        let (armed, seen, stop) =
            (Arc::new(AtomicBool::new(false)), Arc::new(Mutex::new(Vec::new())), Arc::new(AtomicBool::new(false)));
        let rule: Arc<Rule> = Arc::new(fails);
        let thread = {
            let (armed, seen, stop) = (Arc::clone(&armed), Arc::clone(&seen), Arc::clone(&stop));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    let Ok(stream) = stream else { continue };
                    let (armed, seen, rule, upstream) =
                        (Arc::clone(&armed), Arc::clone(&seen), Arc::clone(&rule), upstream.clone());
                    let stop = Arc::clone(&stop);
                    std::thread::spawn(move || {
                        let picked = Picked { armed: &armed, rule: rule.as_ref(), fault, stop: &stop };
                        // A client that hangs up mid-request is its own business.
                        let _ = handle(stream, &upstream, &picked, &seen);
                    });
                }
            })
        };
        Ok(FaultProxy { endpoint: format!("http://{address}"), armed, seen, stop, address, thread: Some(thread) })
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
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(&self.address, Duration::from_secs(1));
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Which requests fail and how, as one connection's thread sees it.
struct Picked<'a> {
    armed: &'a AtomicBool,
    rule: &'a Rule,
    fault: Fault,
    stop: &'a AtomicBool,
}

fn handle(
    client: TcpStream,
    upstream: &str,
    picked: &Picked<'_>,
    seen: &Mutex<Vec<(String, bool)>>,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(client);
    let mut head = Vec::new();
    let mut request_line = String::new();
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        if request_line.is_empty() {
            request_line = line.trim_end().to_owned();
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value.trim().parse().unwrap_or(0);
        }
        if !lower.starts_with("connection:") {
            head.extend_from_slice(line.as_bytes());
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let mut client = reader.into_inner();
    let fail = picked.armed.load(Ordering::SeqCst) && (picked.rule)(&request_line);
    if let Ok(mut seen) = seen.lock() {
        seen.push((request_line, fail));
    }
    if fail && picked.fault == Fault::Stall {
        return stall(client, picked.stop);
    }
    if fail {
        let text = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>injected by the test's fault proxy</Message></Error>";
        let answer = format!(
            "HTTP/1.1 503 Slow Down\r\ncontent-type: application/xml\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
            text.len()
        );
        return client.write_all(answer.as_bytes());
    }
    let mut server = TcpStream::connect(upstream)?;
    head.extend_from_slice(b"connection: close\r\n\r\n");
    server.write_all(&head)?;
    server.write_all(&body)?;
    let mut answer = Vec::new();
    server.read_to_end(&mut answer)?;
    // The client must not reuse a connection this proxy closes after one answer.
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap_or(answer.len());
    let says_close = String::from_utf8_lossy(&answer[..end]).to_ascii_lowercase().contains("\r\nconnection: close");
    if !says_close && end < answer.len() {
        answer.splice(end + 2..end + 2, b"connection: close\r\n".iter().copied());
    }
    client.write_all(&answer)
}

/// Holds `client`'s connection unanswered until it hangs up or the proxy stops
/// (checked every 100 ms; at most ten minutes, so a forgotten test ends).
fn stall(mut client: TcpStream, stop: &AtomicBool) -> std::io::Result<()> {
    client.set_read_timeout(Some(Duration::from_millis(100)))?;
    let mut byte = [0u8; 1];
    let until = std::time::Instant::now() + Duration::from_secs(600);
    while !stop.load(Ordering::SeqCst) && std::time::Instant::now() < until {
        match client.read(&mut byte) {
            // The client gave up and closed its end.
            Ok(0) => return Ok(()),
            Ok(_) => {}
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}
