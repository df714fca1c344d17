//! Forwarding a request to an upstream HTTP server and its answer back, as
//! a reverse proxy does: the door's way to a running application's Spark UI.
//!
//! Owns: what crosses (request headers by an allow-list — never the door's
//! own credentials, `Authorization` and `Cookie`, nor a client's
//! `X-Forwarded-*`; answer headers but the hop-by-hop ones and
//! `Set-Cookie`), the context header that tells the upstream the prefix it is
//! served under (`X-Forwarded-Context`, which Spark's UI prepends to every
//! link it draws), a `Location` that points at the upstream turned into one
//! under that prefix ([`rewrite_location`]), the request body streamed up
//! within the server's body limit and the answer's body streamed back as it
//! comes (never held whole), the one pooled client the server's forwards
//! share, and the bounds: a connect that takes over [`CONNECT_TIMEOUT`] or
//! an answer's head that takes over [`HEAD_TIMEOUT`] is a 502 or a 504.
//!
//! Must not: pick the upstream (the server's router does, from a registry
//! it trusts; nothing in a request names where it goes), decide who may
//! pass, or read a body whole.

use std::error::Error as StdError;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use http::uri::{Authority, PathAndQuery};
use http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header};
use http_body_util::combinators::BoxBody;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use super::respond::{self, Response};

/// How long a connection to the upstream may take to open.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// How long the upstream may take to send its answer's head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(60);

/// The header that tells the upstream the path prefix it is served under.
pub const CONTEXT_HEADER: &str = "x-forwarded-context";

/// Where a request goes instead of the handler: an upstream the router
/// found in a registry it trusts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forward {
    /// The upstream's `host:port`.
    pub upstream: Authority,
    /// The path and query asked of the upstream.
    pub target: String,
    /// The prefix the upstream's pages have at this server (`/jobs/ns/name`,
    /// no trailing slash): sent as `X-Forwarded-Context`, and what a
    /// `Location` pointing at the upstream is put under.
    pub prefix: String,
}

/// The request body the client sends up: the client's own, within the limit.
type UpBody = BoxBody<Bytes, Box<dyn StdError + Send + Sync>>;

/// The pooled client every forward of one server shares.
pub(super) type Upstreams = Client<HttpConnector, UpBody>;

/// A client with the bounds above, keeping idle connections to each upstream for reuse.
pub(super) fn upstreams() -> Upstreams {
    let mut connector = HttpConnector::new();
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    connector.set_nodelay(true);
    Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector)
}

/// Request headers passed up: what a page's content depends on, nothing
/// that identifies the viewer to the upstream.
const PASSED_UP: &[HeaderName] = &[
    header::ACCEPT,
    header::ACCEPT_ENCODING,
    header::ACCEPT_LANGUAGE,
    header::CACHE_CONTROL,
    header::CONTENT_LENGTH,
    header::CONTENT_TYPE,
    header::IF_MODIFIED_SINCE,
    header::IF_NONE_MATCH,
    header::IF_RANGE,
    header::PRAGMA,
    header::RANGE,
    header::USER_AGENT,
];

/// Answer headers never passed back: the hop-by-hop ones (this connection's
/// framing is the server's) and cookies, which would be set on the door's
/// own origin.
const KEPT_BACK: &[HeaderName] = &[
    header::CONNECTION,
    header::PROXY_AUTHENTICATE,
    header::SET_COOKIE,
    header::TE,
    header::TRAILER,
    header::TRANSFER_ENCODING,
    header::UPGRADE,
];

/// Sends the request up as `forward` says and returns the upstream's
/// answer, its body streamed; the connection's own failures are answered
/// here (502, 504, 413).
pub(super) async fn forward(
    upstreams: &Upstreams,
    forward: Forward,
    method: http::Method,
    headers: &HeaderMap,
    body: Incoming,
    body_limit: usize,
    peer: std::net::SocketAddr,
) -> Response {
    let uri = match up_uri(&forward) {
        Some(uri) => uri,
        None => return respond::plain(StatusCode::BAD_REQUEST, "the path cannot be forwarded\n".to_owned()),
    };
    let mut up = http::Request::new(Limited::new(body, body_limit).boxed());
    *up.method_mut() = method;
    *up.uri_mut() = uri;
    for name in PASSED_UP {
        for value in headers.get_all(name) {
            up.headers_mut().append(name.clone(), value.clone());
        }
    }
    if let Ok(context) = HeaderValue::from_str(&forward.prefix) {
        up.headers_mut().insert(HeaderName::from_static(CONTEXT_HEADER), context);
    }
    if let Ok(client) = HeaderValue::from_str(&peer.ip().to_string()) {
        up.headers_mut().insert(HeaderName::from_static("x-forwarded-for"), client);
    }
    let answer = match tokio::time::timeout(HEAD_TIMEOUT, upstreams.request(up)).await {
        Ok(Ok(answer)) => answer,
        Ok(Err(error)) if error.is_connect() => return unreachable(),
        Ok(Err(error)) => return too_large_or(&error, unreachable),
        Err(_) => {
            return respond::plain(
                StatusCode::GATEWAY_TIMEOUT,
                format!("the application's Spark UI sent no answer within {} s\n", HEAD_TIMEOUT.as_secs()),
            );
        }
    };
    let (mut parts, body) = answer.into_parts();
    for name in KEPT_BACK {
        parts.headers.remove(name);
    }
    if let Some(location) = parts.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()) {
        let rewritten = rewrite_location(location, &forward.upstream, &forward.prefix);
        match HeaderValue::from_str(&rewritten) {
            Ok(value) => parts.headers.insert(header::LOCATION, value),
            Err(_) => parts.headers.remove(header::LOCATION),
        };
    }
    http::Response::from_parts(parts, body.map_err(io::Error::other).boxed())
}

fn up_uri(forward: &Forward) -> Option<Uri> {
    let target: PathAndQuery = forward.target.parse().ok()?;
    Uri::builder().scheme("http").authority(forward.upstream.clone()).path_and_query(target).build().ok()
}

fn unreachable() -> Response {
    respond::plain(StatusCode::BAD_GATEWAY, "the application's Spark UI does not answer\n".to_owned())
}

/// A request body over the limit ends the forward with 413; any other failure is `otherwise`.
fn too_large_or(error: &hyper_util::client::legacy::Error, otherwise: impl FnOnce() -> Response) -> Response {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<http_body_util::LengthLimitError>() {
            return respond::plain(StatusCode::PAYLOAD_TOO_LARGE, "the request body is over the limit\n".to_owned());
        }
        source = cause.source();
    }
    otherwise()
}

/// A `Location` the upstream sent, as the client must see it: one naming
/// the upstream (absolute, with its `host:port`) or a path outside
/// `prefix` is put under `prefix`; one naming another host, or a relative
/// one, is left as it is.
pub fn rewrite_location(location: &str, upstream: &Authority, prefix: &str) -> String {
    let path = match location.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("https") => {
            let (authority, path) = rest.find(['/', '?', '#']).map_or((rest, ""), |at| rest.split_at(at));
            if !authority.eq_ignore_ascii_case(upstream.as_str()) {
                return location.to_owned();
            }
            if path.starts_with('/') { path.to_owned() } else { format!("/{path}") }
        }
        Some(_) => return location.to_owned(),
        None if location.starts_with('/') && !location.starts_with("//") => location.to_owned(),
        None => return location.to_owned(),
    };
    let under = path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with(['/', '?', '#']));
    if under { path } else { format!("{prefix}{path}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locations_are_kept_under_the_prefix() {
        let upstream: Authority = "127.0.0.1:4040".parse().expect("authority");
        let prefix = "/jobs/team-a/etl";
        for (sent, seen) in [
            // Spark's redirects are absolute, built from the Host it was sent (the upstream's).
            ("http://127.0.0.1:4040/jobs/team-a/etl/jobs/", "/jobs/team-a/etl/jobs/"),
            ("http://127.0.0.1:4040/jobs/", "/jobs/team-a/etl/jobs/"),
            ("http://127.0.0.1:4040", "/jobs/team-a/etl/"),
            ("http://127.0.0.1:4040?x=1", "/jobs/team-a/etl/?x=1"),
            ("HTTP://127.0.0.1:4040/stages/", "/jobs/team-a/etl/stages/"),
            ("/stages/", "/jobs/team-a/etl/stages/"),
            ("/jobs/team-a/etl/stages/?id=1", "/jobs/team-a/etl/stages/?id=1"),
            ("/jobs/team-a/etl", "/jobs/team-a/etl"),
            // A prefix that only starts the same way is not under it.
            ("/jobs/team-a/etl2/", "/jobs/team-a/etl/jobs/team-a/etl2/"),
            // Another host, another scheme, a relative or protocol-relative one: left as sent.
            ("https://example.org/x", "https://example.org/x"),
            ("http://127.0.0.1:4041/x", "http://127.0.0.1:4041/x"),
            ("ftp://127.0.0.1:4040/x", "ftp://127.0.0.1:4040/x"),
            ("stages/", "stages/"),
            ("//evil.example/x", "//evil.example/x"),
        ] {
            assert_eq!(rewrite_location(sent, &upstream, prefix), seen, "{sent}");
        }
    }
}
