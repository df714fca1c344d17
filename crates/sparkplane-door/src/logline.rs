//! What of a request goes into the door's log lines: its path as printable
//! ASCII, at most 200 characters (never its query, which may carry a
//! sign-in's code or state), and the address it came from.
//! Owns that shape. Must not: log anything itself.

use sparkplane_http::Request;

/// A request path as it may go into a log line.
pub(crate) fn printable(path: &str) -> String {
    path.chars().filter(|c| c.is_ascii_graphic()).take(200).collect()
}

/// The address a request came from, as a log line names it.
pub(crate) fn peer(request: &Request) -> String {
    request.peer.map_or_else(|| "an unknown address".to_owned(), |p| p.ip().to_string())
}
