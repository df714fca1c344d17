//! The launcher starts a real SeaweedFS S3 gateway that answers S3 requests,
//! and stops it (freeing the port, removing its folder) on drop.

use std::io::{Read, Write};
use std::net::TcpStream;

use sparkplane_testkit::S3Server;

fn get(endpoint: &str, path: &str) -> std::io::Result<String> {
    let addr = endpoint.trim_start_matches("http://");
    let mut stream = TcpStream::connect(addr)?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n")?;
    let mut out = String::new();
    stream.read_to_string(&mut out)?;
    Ok(out)
}

#[test]
fn a_started_server_answers_s3_and_is_gone_after_drop() {
    let server = S3Server::start().unwrap_or_else(|e| panic!("SeaweedFS (scripts/test.sh installs it): {e}"));
    let endpoint = server.endpoint.clone();
    // An unsigned request is refused the S3 way: an XML error naming the code.
    let answer = get(&endpoint, "/").unwrap_or_else(|e| panic!("{e}\n{}", server.log_tail()));
    assert!(answer.starts_with("HTTP/1.1 403"), "{answer}");
    assert!(answer.contains("<Code>AccessDenied</Code>"), "{answer}");
    drop(server);
    assert!(get(&endpoint, "/").is_err(), "the port is closed after drop");
}
