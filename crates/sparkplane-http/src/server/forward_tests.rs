//! A server with a router: requests answered at once, handled, or
//! forwarded to an upstream (another server of this crate, which says what
//! it was sent) and the upstream's answer streamed back.

use super::*;
use std::io::Write as _;
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// An upstream that answers what it was sent: method, target, headers (sorted) and body;
/// `/big` streams 600,000 bytes, `/redirect` redirects as Spark's UI does,
/// `/slow` answers after two seconds.
fn upstream() -> HttpServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let addr = listener.local_addr().expect("addr");
    start(listener, Options::new("test-upstream").body_limit(1 << 20), move |request: Request, responder: Responder| {
        match request.path.as_str() {
            "/big" => responder.send(Reply {
                status: 200,
                content_type: "application/octet-stream".into(),
                headers: vec![],
                body: Body::Stream {
                    reader: Box::new(std::io::Cursor::new((0..600_000).map(|i| (i % 251) as u8).collect::<Vec<_>>())),
                    length: None,
                },
            }),
            "/redirect" => responder.send(
                Reply::text(302, "text/plain", "")
                    .with_header("Location", &format!("http://{addr}/jobs/team-a/etl/jobs/"))
                    .with_header("Set-Cookie", "JSESSIONID=upstream"),
            ),
            "/slow" => {
                std::thread::sleep(Duration::from_secs(2));
                responder.send(Reply::text(200, "text/plain", "slow"));
            }
            _ => {
                let mut headers: Vec<String> = request
                    .headers
                    .iter()
                    .map(|(n, v)| format!("{}: {}", n.as_str(), v.to_str().unwrap_or("?")))
                    .collect();
                headers.sort();
                let target = match request.query.as_str() {
                    "" => request.path.clone(),
                    query => format!("{}?{query}", request.path),
                };
                let body = format!(
                    "{} {target}\n{}\n{}",
                    request.method_name(),
                    headers.join("\n"),
                    String::from_utf8_lossy(&request.body)
                );
                responder.send(Reply::text(200, "text/plain", body).with_header("X-Upstream", "yes"));
            }
        }
    })
    .expect("starts")
}

/// A door in front of `upstream`: `/live/…` forwards to it under the prefix
/// `/live`, `/answer` is answered by the router, the rest goes to the handler
/// (one worker); the handler counts its calls.
fn door(upstream: SocketAddr, handled: Arc<AtomicUsize>, body_limit: usize) -> HttpServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let authority: http::uri::Authority = upstream.to_string().parse().expect("authority");
    let options = Options::new("test-door").workers(1).body_limit(body_limit).router(move |request: &Request| {
        assert!(request.body.is_empty(), "the router sees no body");
        if request.path == "/answer" {
            return Route::Answer(Reply::text(401, "text/plain", "sign in\n"));
        }
        match request.path.strip_prefix("/live") {
            Some(rest) => Route::Forward(Forward {
                upstream: authority.clone(),
                target: match request.query.as_str() {
                    "" => rest.to_owned(),
                    query => format!("{rest}?{query}"),
                },
                prefix: "/live".to_owned(),
            }),
            None => Route::Handle,
        }
    });
    start(listener, options, move |request: Request, responder: Responder| {
        handled.fetch_add(1, Ordering::SeqCst);
        if request.path == "/hold" {
            std::thread::sleep(Duration::from_secs(3));
        }
        responder.send(Reply::text(200, "text/plain", format!("handled {}", request.path)))
    })
    .expect("starts")
}

/// Sends `raw` and reads until the server closes the connection.
fn exchange(address: SocketAddr, raw: &[u8]) -> String {
    let mut stream = TcpStream::connect(address).expect("connects");
    stream.set_read_timeout(Some(Duration::from_secs(20))).expect("timeout");
    stream.write_all(raw).expect("writes");
    stream.shutdown(Shutdown::Write).expect("half-close");
    let mut out = Vec::new();
    let _ = stream.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

#[test]
fn a_forward_passes_the_page_and_none_of_the_viewers_credentials() {
    let up = upstream();
    let door = door(up.addr(), Arc::new(AtomicUsize::new(0)), 1 << 20);
    let out = exchange(
        door.addr(),
        b"POST /live/stages/stage/kill/?id=3 HTTP/1.1\r\nHost: door.example\r\nAuthorization: Bearer secret-token\r\n\
Cookie: sparkplane-session=secret-cookie\r\nX-Forwarded-User: mallory\r\nX-Forwarded-Context: /elsewhere\r\n\
Accept: text/html\r\nUser-Agent: test\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello",
    );
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(out.contains("X-Upstream: yes\r\n"), "{out}");
    let body = out.split("\r\n\r\n").nth(1).expect("a body");
    let mut lines = body.lines();
    assert_eq!(lines.next(), Some("POST /stages/stage/kill/?id=3"));
    let headers: Vec<&str> = lines.by_ref().take_while(|l| !l.is_empty() && *l != "hello").collect();
    let peer = door.addr().ip();
    assert_eq!(
        headers,
        [
            "accept: text/html".to_owned(),
            "content-length: 5".to_owned(),
            "content-type: text/plain".to_owned(),
            format!("host: {}", up.addr()),
            "user-agent: test".to_owned(),
            "x-forwarded-context: /live".to_owned(),
            format!("x-forwarded-for: {peer}"),
        ]
    );
    assert!(body.ends_with("hello"), "{body}");
    for secret in ["secret-token", "secret-cookie", "mallory", "/elsewhere"] {
        assert!(!body.contains(secret), "{secret} went upstream: {body}");
    }
}

#[test]
fn a_redirect_stays_under_the_prefix_an_upstream_cookie_is_dropped_and_a_large_body_streams_through() {
    let up = upstream();
    let door = door(up.addr(), Arc::new(AtomicUsize::new(0)), 1 << 20);
    let out = exchange(door.addr(), b"GET /live/redirect HTTP/1.1\r\nHost: door\r\nConnection: close\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 302"), "{out}");
    assert!(out.contains("\r\nLocation: /live/jobs/team-a/etl/jobs/\r\n"), "{out}");
    assert!(!out.to_ascii_lowercase().contains("set-cookie"), "{out}");
    let agent = crate::client::agent(None);
    let mut answer = agent.get(&format!("http://{}/live/big", door.addr())).call().expect("answers");
    let body = answer.body_mut().with_config().limit(1 << 21).read_to_vec().expect("body");
    assert_eq!(body, (0..600_000).map(|i| (i % 251) as u8).collect::<Vec<_>>());
}

#[test]
fn the_router_answers_handles_and_forwards_and_a_forward_holds_no_workers_slot() {
    let up = upstream();
    let handled = Arc::new(AtomicUsize::new(0));
    let door = door(up.addr(), Arc::clone(&handled), 1 << 20);
    let out = exchange(door.addr(), b"GET /answer HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 401") && out.ends_with("sign in\n"), "{out}");
    assert_eq!(handled.load(Ordering::SeqCst), 0, "an answered request reaches no handler");
    // The one worker is busy for 3 s; a forward to a slow upstream and a fast one do not wait for it.
    let addr = door.addr();
    let holding = std::thread::spawn(move || exchange(addr, b"GET /hold HTTP/1.1\r\nConnection: close\r\n\r\n"));
    std::thread::sleep(Duration::from_millis(300));
    let slow = std::thread::spawn(move || exchange(addr, b"GET /live/slow HTTP/1.1\r\nConnection: close\r\n\r\n"));
    let fast = exchange(addr, b"GET /live/x HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(fast.starts_with("HTTP/1.1 200"), "{fast}");
    // Answered while the worker still holds its request and the slow upstream has not answered.
    assert!(!holding.is_finished() && !slow.is_finished(), "the forward waited for the busy worker");
    assert!(slow.join().expect("slow").ends_with("slow"));
    assert!(holding.join().expect("hold").ends_with("handled /hold"));
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[test]
fn an_upstream_that_is_gone_is_a_502_and_a_body_over_the_limit_a_413() {
    let gone = {
        let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
        listener.local_addr().expect("addr")
    };
    let door_to_nothing = door(gone, Arc::new(AtomicUsize::new(0)), 1 << 20);
    let out = exchange(door_to_nothing.addr(), b"GET /live/jobs/ HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert!(out.starts_with("HTTP/1.1 502") && out.ends_with("the application's Spark UI does not answer\n"), "{out}");
    let up = upstream();
    let small = door(up.addr(), Arc::new(AtomicUsize::new(0)), 4);
    let chunked =
        b"POST /live/x HTTP/1.1\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n9\r\nabcdefghi\r\n0\r\n\r\n";
    let out = exchange(small.addr(), chunked);
    assert!(out.starts_with("HTTP/1.1 413"), "{out}");
    // An oversized header section is refused before any router or upstream sees it.
    let huge = format!("GET /live/x HTTP/1.1\r\nX: {}\r\n\r\n", "y".repeat(MAX_HEAD + 10));
    assert!(exchange(small.addr(), huge.as_bytes()).starts_with("HTTP/1.1 431"));
}

#[test]
fn a_client_sending_its_request_a_byte_at_a_time_does_not_hold_up_the_others() {
    let up = upstream();
    let door = door(up.addr(), Arc::new(AtomicUsize::new(0)), 1 << 20);
    let addr = door.addr();
    // Ten clients each send half a request head, a byte at a time, and never finish it.
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let finished = Arc::new(std::sync::Mutex::new(finished));
    let trickling: Vec<_> = (0..10)
        .map(|_| {
            let finished = Arc::clone(&finished);
            std::thread::spawn(move || {
                let mut stream = TcpStream::connect(addr).expect("connects");
                for byte in b"GET /live/x HTTP/1.1\r\nHost: sl" {
                    stream.write_all(&[*byte]).expect("a byte");
                    std::thread::sleep(Duration::from_millis(5));
                }
                // Held open, unfinished, until the others were served.
                let _ = finished.lock().map(|f| f.recv_timeout(Duration::from_secs(30)));
            })
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..20 {
        let out = exchange(addr, b"GET /live/x HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(out.starts_with("HTTP/1.1 200"), "{out}");
        let handled = exchange(addr, b"GET /page HTTP/1.1\r\nConnection: close\r\n\r\n");
        assert!(handled.ends_with("handled /page"), "{handled}");
    }
    assert!(trickling.iter().all(|t| !t.is_finished()), "the trickling clients were still sending");
    for _ in &trickling {
        let _ = done.send(());
    }
    for thread in trickling {
        thread.join().expect("trickle");
    }
}
