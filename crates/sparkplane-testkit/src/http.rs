//! Small HTTP peers for tests of sparkplane's senders and endpoints.
//!
//! Owns: a receiver that answers each request with the next status of a list
//! and hands back the bodies it got ([`receiver`], served by
//! `sparkplane_http`'s one server), and the first line of the answer to a
//! plain GET ([`status_line`]). Must not: know any payload.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Mutex, mpsc};
use std::thread::JoinHandle;

use sparkplane_http::{Options, Reply, Request, Responder};

/// The largest body a receiver reads.
const RECEIVED_BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Listens on 127.0.0.1 on a free port; answers the first `statuses.len()`
/// requests with those statuses in order (empty body, connection closed) and
/// returns the URL (`http://127.0.0.1:PORT{path}`) and the thread, whose
/// result is the request bodies in order; it stops listening once they are
/// in.
pub fn receiver(path: &str, statuses: Vec<u16>) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}{path}", listener.local_addr().expect("local address"));
    let expected = statuses.len();
    let (bodies, received) = mpsc::channel();
    // The next status and the bodies' order, taken together.
    let next = Mutex::new((statuses.into_iter(), bodies));
    let options = Options::new("testkit-receiver").body_limit(RECEIVED_BODY_LIMIT);
    let server = sparkplane_http::start(listener, options, move |request: Request, responder: Responder| {
        let mut next = next.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        // A request past the list finds no answer (500), as it found no listener.
        let Some(status) = next.0.next() else { return };
        let _ = next.1.send(String::from_utf8(request.body));
        responder.send(Reply::text(status, "", "").with_header("Connection", "close"));
    })
    .expect("serves 127.0.0.1");
    let handle = std::thread::spawn(move || {
        let bodies: Vec<String> =
            received.iter().take(expected).map(|body| body.unwrap_or_else(|e| panic!("a UTF-8 body: {e}"))).collect();
        server.stop();
        bodies
    });
    (url, handle)
}

/// The first line of the answer to `GET path` at `address`, without its line break.
pub fn status_line(address: SocketAddr, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").expect("send");
    let mut line = String::new();
    BufReader::new(stream).read_line(&mut line).expect("answer");
    line.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_receiver_answers_in_order_and_keeps_the_bodies() {
        let (url, handle) = receiver("/in", vec![503, 200]);
        let agent = sparkplane_http::agent(None);
        let first = agent.post(&url).send("one").expect("answered");
        let second = agent.post(&url).send("two").expect("answered");
        assert_eq!((first.status().as_u16(), second.status().as_u16()), (503, 200));
        assert_eq!(handle.join().expect("receiver"), vec!["one", "two"]);
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/in"), "{url}");
    }
}
