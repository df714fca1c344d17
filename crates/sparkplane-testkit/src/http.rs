//! Small HTTP peers for tests of sparkplane's senders and endpoints.
//!
//! Owns: a receiver that answers each request with the next status of a list
//! and hands back the bodies it got ([`receiver`]), and the first line of the
//! answer to a plain GET ([`status_line`]). Must not: know any payload.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread::JoinHandle;

/// Listens on 127.0.0.1 on a free port; answers the first `statuses.len()`
/// requests with those statuses in order (empty body, connection closed) and
/// returns the URL (`http://127.0.0.1:PORT{path}`) and the thread, whose
/// result is the request bodies in order.
pub fn receiver(path: &str, statuses: Vec<u16>) -> (String, JoinHandle<Vec<String>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}{path}", listener.local_addr().expect("local address"));
    let handle = std::thread::spawn(move || {
        let mut bodies = Vec::new();
        for status in statuses {
            let (stream, _) = listener.accept().expect("accept");
            let mut reader = BufReader::new(stream);
            let mut length = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).expect("header");
                if line == "\r\n" || line.is_empty() {
                    break;
                }
                if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    length = value.trim().parse().expect("a content length");
                }
            }
            let mut body = vec![0; length];
            reader.read_exact(&mut body).expect("body");
            bodies.push(String::from_utf8(body).expect("a UTF-8 body"));
            let mut stream = reader.into_inner();
            write!(stream, "HTTP/1.1 {status} X\r\ncontent-length: 0\r\nconnection: close\r\n\r\n").expect("answer");
        }
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
        let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
        let first = agent.post(&url).send("one").expect("answered");
        let second = agent.post(&url).send("two").expect("answered");
        assert_eq!((first.status().as_u16(), second.status().as_u16()), (503, 200));
        assert_eq!(handle.join().expect("receiver"), vec!["one", "two"]);
        assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/in"), "{url}");
    }
}
