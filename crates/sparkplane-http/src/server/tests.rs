use super::*;
use std::io::Write as _;
use std::net::{Shutdown, TcpStream};
use std::sync::{Arc, Mutex};

/// GETs `target` and returns the status, the given header's value and the body.
fn get(addr: SocketAddr, target: &str, header: &str) -> (u16, String, Vec<u8>) {
    let agent = crate::client::agent(None);
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
    assert_eq!(Request::new(Method::Post, "/").method_name(), "POST");
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
    // The listener is closed once the stop has returned; a port the system
    // has not let go of yet is allowed a moment.
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
    let answer =
        raw(server.addr(), "GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    let (head, sizes, body, rest) = chunked_response(&answer);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for line in ["Content-Type: application/json\r\n", "X-Test: yes\r\n", "Transfer-Encoding: chunked\r\n", "Date: "] {
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
fn head_and_http_1_0_requests_of_a_streamed_body_get_no_body_and_a_length() {
    let server = streaming(100_000);
    let head =
        String::from_utf8(raw(server.addr(), "HEAD / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).expect("text");
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

// The fake API server's transport, before it served through this server (its
// tests, over the same raw requests).

/// The fake API server's body limit.
const MAX_BODY: usize = 64 * 1024 * 1024;

/// Answers every request with its method, target and body.
fn serve_echo() -> HttpServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    start(listener, Options::new("test-echo").body_limit(MAX_BODY), |request: Request, responder: Responder| {
        let target = match request.query.as_str() {
            "" => request.path.clone(),
            query => format!("{}?{query}", request.path),
        };
        let body = format!("{} {target} {}", request.method_name(), String::from_utf8_lossy(&request.body));
        responder.send(Reply::text(200, "text/plain", body));
    })
    .expect("starts")
}

/// Sends `raw`, shuts the sending side and reads the answers until the server closes.
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
        server.addr(),
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
    assert!(exchange(server.addr(), huge.as_bytes()).starts_with("HTTP/1.1 431"));
    let big = format!("POST / HTTP/1.1\r\nContent-Length: {}\r\n\r\n", MAX_BODY + 1);
    assert!(exchange(server.addr(), big.as_bytes()).starts_with("HTTP/1.1 413"));
    assert!(exchange(server.addr(), b"NONSENSE\r\n\r\n").starts_with("HTTP/1.1 400"));
}

#[test]
fn a_body_over_the_limit_without_a_length_is_refused_and_one_within_it_is_read() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let server = start(listener, Options::new("test-limit").body_limit(4), |request: Request, responder: Responder| {
        responder.send(Reply::text(200, "text/plain", String::from_utf8_lossy(&request.body).into_owned()))
    })
    .expect("starts");
    let chunked = |body: &str| {
        format!("POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n", body.len())
    };
    assert!(exchange(server.addr(), chunked("abcde").as_bytes()).starts_with("HTTP/1.1 413"));
    let within = exchange(server.addr(), chunked("abcd").as_bytes());
    assert!(within.starts_with("HTTP/1.1 200") && within.ends_with("\r\n\r\nabcd"), "{within}");
}

#[test]
fn a_handler_sees_the_headers_the_body_and_the_peer() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let server = start(listener, Options::new("test-seen"), move |request: Request, responder: Responder| {
        log.lock().expect("log").push(request.clone());
        responder.send(Reply::text(204, "text/plain", ""));
    })
    .expect("starts");
    let mut client = TcpStream::connect(server.addr()).expect("connects");
    let local = client.local_addr().expect("the client's address");
    client
        .write_all(b"PATCH /x/y?z=1 HTTP/1.1\r\nHost: h\r\nX-Two: a\r\nx-two: b\r\nContent-Length: 3\r\nConnection: close\r\n\r\nabc")
        .expect("sends");
    let mut answer = String::new();
    client.read_to_string(&mut answer).expect("reads");
    assert!(answer.starts_with("HTTP/1.1 204 No Content\r\n"), "{answer}");
    let seen = seen.lock().expect("log");
    let [request] = seen.as_slice() else { panic!("one request, not {}", seen.len()) };
    assert_eq!((request.method, request.method_name()), (Method::Other, "PATCH"));
    assert_eq!((request.path.as_str(), request.query.as_str()), ("/x/y", "z=1"));
    assert_eq!((request.header("host"), request.header("X-TWO")), (Some("h"), Some("a")));
    assert_eq!(request.headers.get_all("x-two").iter().count(), 2);
    assert_eq!((request.body.as_slice(), request.peer), (b"abc".as_slice(), Some(local)));
}

#[test]
fn a_burst_of_held_connections_does_not_starve_a_new_one() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let server = start(listener, Options::new("test-held"), |request: Request, responder: Responder| {
        if request.path == "/hold" {
            let mut w = responder.stream(200, "text/plain", &[("Connection", "close")]);
            // Held for 5 s, or until the client goes.
            for _ in 0..50 {
                std::thread::sleep(std::time::Duration::from_millis(100));
                if w.write_all(b".").and_then(|()| w.flush()).is_err() {
                    break;
                }
            }
        } else {
            responder.send(Reply::text(200, "text/plain", "ok"));
        }
    })
    .expect("starts");
    let held: Vec<TcpStream> = (0..32)
        .map(|_| {
            let mut s = TcpStream::connect(server.addr()).expect("connects");
            s.write_all(b"GET /hold HTTP/1.1\r\n\r\n").expect("writes");
            s
        })
        .collect();
    // Liveness, not speed: the answer must come while the 32 connections are still held (5 s).
    let mut stream = TcpStream::connect(server.addr()).expect("connects");
    stream.set_read_timeout(Some(std::time::Duration::from_secs(4))).expect("timeout");
    stream.write_all(b"GET /now HTTP/1.1\r\nConnection: close\r\n\r\n").expect("writes");
    let mut out = String::new();
    let _ = stream.read_to_string(&mut out);
    assert!(out.ends_with("ok"), "answered while 32 connections are held: {out:?}");
    drop(held);
}

/// A reader that gives nothing until `release` is sent, then ends.
struct Held(std::sync::mpsc::Receiver<()>);

impl std::io::Read for Held {
    fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
        let _ = self.0.recv();
        Ok(0)
    }
}

#[test]
fn a_body_still_streaming_does_not_hold_its_workers_slot() {
    let (release, held) = std::sync::mpsc::channel();
    let held = Mutex::new(Some(held));
    let server = serve("127.0.0.1:0".parse().expect("addr"), "test-slot", 1, move |request: &Request| {
        match (request.path.as_str(), held.lock().expect("held").take()) {
            ("/slow", Some(reader)) => Reply {
                status: 200,
                content_type: "text/plain".into(),
                headers: vec![],
                body: Body::Stream { reader: Box::new(Held(reader)), length: None },
            },
            _ => Reply::text(200, "text/plain", "quick"),
        }
    })
    .expect("serves");
    let mut slow = TcpStream::connect(server.addr()).expect("connects");
    slow.write_all(b"GET /slow HTTP/1.1\r\nConnection: close\r\n\r\n").expect("writes");
    let mut head = [0u8; 15];
    slow.read_exact(&mut head).expect("the slow answer's head comes at once");
    assert_eq!(&head, b"HTTP/1.1 200 OK");
    // The one worker answered /slow's head and is free while its body waits.
    assert_eq!(get(server.addr(), "/quick", "content-type").2, b"quick");
    release.send(()).expect("releases");
    let mut rest = String::new();
    slow.read_to_string(&mut rest).expect("the slow body ends");
    assert!(rest.ends_with("\r\n0\r\n\r\n"), "{rest:?}");
}

#[test]
fn each_write_of_a_streamed_answer_is_one_chunk() {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let server = start(listener, Options::new("test-writer"), |_: Request, responder: Responder| {
        let mut out = responder.stream(200, "application/json", &[("Cache-Control", "no-cache, private")]);
        for piece in ["{\"a\":1}\n", "", "{\"b\":22}\n"] {
            out.write_all(piece.as_bytes()).expect("the client reads");
        }
    })
    .expect("starts");
    let answer = raw(server.addr(), "GET / HTTP/1.1\r\nConnection: close\r\n\r\n");
    let (head, sizes, body, rest) = chunked_response(&answer);
    assert!(
        head.contains("Cache-Control: no-cache, private\r\n") && head.contains("Transfer-Encoding: chunked"),
        "{head}"
    );
    assert_eq!((sizes, body.as_slice(), rest.len()), (vec![8, 9], b"{\"a\":1}\n{\"b\":22}\n".as_slice(), 0));
}

#[test]
fn a_handler_that_panics_is_answered_500_and_the_server_serves_on() {
    let server = serve("127.0.0.1:0".parse().expect("addr"), "test-panic", 1, |request: &Request| {
        assert_ne!(request.path, "/panic", "the handler panics on /panic");
        Reply::text(200, "text/plain", "fine")
    })
    .expect("serves");
    assert_eq!(get(server.addr(), "/panic", "content-type").0, 500);
    assert_eq!(get(server.addr(), "/", "content-type").2, b"fine");
}

#[test]
fn a_server_stops_from_inside_another_runtime_and_closes_its_idle_connections() {
    let server = serve("127.0.0.1:0".parse().expect("addr"), "test-inside", 1, |_: &Request| {
        Reply::text(200, "text/plain", "ok")
    })
    .expect("serves");
    let mut idle = TcpStream::connect(server.addr()).expect("connects");
    idle.write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").expect("sends");
    let mut head = [0u8; 15];
    idle.read_exact(&mut head).expect("answered");
    let outer = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    outer.block_on(async move { server.stop() });
    idle.set_read_timeout(Some(std::time::Duration::from_secs(2))).expect("sets a timeout");
    let mut rest = Vec::new();
    idle.read_to_end(&mut rest).expect("the server closed the idle connection");
}

/// A server answering `/inline/…` on the connection's thread: a body from a
/// reader of unknown length, or (`/inline/stream`, `/blocking/stream`) one
/// written piece by piece, each write's outcome recorded.
fn inline_server(writes: Arc<Mutex<Vec<String>>>) -> HttpServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("binds");
    let options = Options::new("test-inline").inline(|request: &Request| request.path.starts_with("/inline/"));
    start(listener, options, move |request: Request, responder: Responder| {
        if request.path.ends_with("/stream") {
            let mut out = responder.stream(200, "text/plain", &[]);
            let wrote = out.write_all(b"piece\n").map_err(|e| format!("{:?}: {e}", e.kind()));
            writes.lock().expect("writes").push(format!("{} {wrote:?}", request.path));
            return;
        }
        let body: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
        let reader = Box::new(std::io::Cursor::new(body));
        responder.send(Reply {
            status: 200,
            content_type: "text/plain".into(),
            headers: vec![],
            body: Body::Stream { reader, length: None },
        })
    })
    .expect("starts")
}

#[test]
fn a_request_answered_inline_gets_its_body_whole_and_cannot_be_streamed() {
    let writes = Arc::new(Mutex::new(Vec::new()));
    let server = inline_server(Arc::clone(&writes));
    let expected: Vec<u8> = (0..300_000).map(|i| (i % 251) as u8).collect();
    // Inline: the reader is read whole on the connection's thread and sent with its length, on a kept-alive connection.
    let answer = raw(
        server.addr(),
        "GET /inline/a HTTP/1.1\r\nHost: x\r\n\r\nGET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    );
    let end = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("a head") + 4;
    let head = String::from_utf8_lossy(&answer[..end]);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && head.contains("Content-Length: 300000\r\n"), "{head}");
    assert!(!head.contains("chunked"), "{head}");
    assert_eq!(&answer[end..end + expected.len()], expected.as_slice());
    // The next request on the connection is not inline: the same body goes in 256 KiB chunks from a blocking thread.
    let (second, sizes, body, rest) = chunked_response(&answer[end + expected.len()..]);
    assert!(second.contains("Transfer-Encoding: chunked"), "{second}");
    assert_eq!((sizes, body, rest.len()), (vec![262_144, 37_856], expected, 0));
    // A handler that streams an inline answer has its write refused at once (it would wait for the
    // very thread that sends it); the client gets the head and an empty body, not a hang.
    let streamed = raw(server.addr(), "GET /inline/stream HTTP/1.1\r\nConnection: close\r\n\r\n");
    let (head, sizes, _, _) = chunked_response(&streamed);
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n") && sizes.is_empty(), "{head} {sizes:?}");
    let blocking = raw(server.addr(), "GET /blocking/stream HTTP/1.1\r\nConnection: close\r\n\r\n");
    assert_eq!(chunked_response(&blocking).2, b"piece\n");
    let writes = writes.lock().expect("writes").clone();
    assert_eq!(writes.len(), 2, "{writes:?}");
    assert!(writes[0].starts_with("/inline/stream Err(\"Unsupported: a request answered inline"), "{writes:?}");
    assert_eq!(writes[1], "/blocking/stream Ok(())");
}
