//! The server's runtime and its connections: accepting, serving each
//! connection with hyper (HTTP/1.1, keep-alive, upgrades on), reading each
//! request's body within its limit, calling the handler on a blocking
//! thread, and the stop.
//!
//! Owns: the tokio runtime a server runs on (two threads that accept and
//! drive the connections' I/O and blocking threads for the handlers,
//! `name-1`, `name-2`, …; `name-0` waits for the stop and shuts the runtime
//! down), the workers' slots, and the order of a stop. Must not: shape an
//! answer (`respond` does) or know a route.

use std::convert::Infallible;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::pin::pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use http::{StatusCode, Version, header};
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio::task::JoinSet;

use super::forward::{self, Upstreams};
use super::respond::{self, Responder, Response};
use super::{DRAIN, Handler, Inline, MAX_HEAD, Options, Request, Route, Router};

/// Threads that drive the connections (parse, write, wake handlers' answers):
/// two, so that a burst is not served by one thread among its clients'.
const IO_THREADS: usize = 2;

/// A server's running parts: the stop signal and the thread that waits for
/// the accepting task to end (after its drain), then shuts the runtime down.
pub(super) struct Running {
    stop: watch::Sender<bool>,
    thread: std::thread::JoinHandle<()>,
}

/// What every connection shares.
struct Shared {
    handler: Arc<Handler>,
    /// One permit per worker when the workers are counted.
    slots: Option<Arc<Semaphore>>,
    body_limit: usize,
    /// The router and the client its forwards share, when the server has one.
    router: Option<(Arc<Router>, Upstreams)>,
    /// Which requests are answered on the connection's own thread.
    inline: Option<Arc<Inline>>,
}

impl Running {
    pub(super) fn start(listener: TcpListener, options: Options, handler: Arc<Handler>) -> io::Result<Running> {
        let Options { name, workers, body_limit, router, inline } = options;
        let counter = AtomicUsize::new(1);
        let blocking = name.clone();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(IO_THREADS)
            .thread_name_fn(move || format!("{blocking}-{}", counter.fetch_add(1, Ordering::Relaxed)))
            .enable_io()
            .enable_time()
            .build()?;
        listener.set_nonblocking(true)?;
        let listener = {
            let _entered = runtime.enter();
            tokio::net::TcpListener::from_std(listener)?
        };
        let router = router.map(|router| (router, forward::upstreams()));
        let slots = workers.map(|n| Arc::new(Semaphore::new(n)));
        let shared = Arc::new(Shared { handler, slots, body_limit, router, inline });
        let (stop, stopping) = watch::channel(false);
        // Accepting on a worker, the connections it starts are that worker's to run at once.
        let accepting = runtime.spawn(accept(listener, shared, stopping));
        let thread = std::thread::Builder::new().name(format!("{name}-0")).spawn(move || {
            let _ = runtime.block_on(accepting);
            // Whatever still runs (a connection past the drain, a handler that has
            // not noticed) is let go: its connection is closed, its handler waited for.
            runtime.shutdown_timeout(DRAIN);
        })?;
        Ok(Running { stop, thread })
    }

    /// Stops as [`super::HttpServer::stop`] says: the runtime's own thread
    /// drains and shuts it down; this waits for that thread, which a caller
    /// inside another runtime (the operator's) may do too.
    pub(super) fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.thread.join();
    }
}

/// Accepts until stopped, then closes the listener, asks every connection
/// to end after its answer in flight (an idle one ends at once) and waits
/// for them, at most [`DRAIN`].
async fn accept(listener: tokio::net::TcpListener, shared: Arc<Shared>, mut stopping: watch::Receiver<bool>) {
    let mut open = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    open.spawn(connection(stream, peer, Arc::clone(&shared), stopping.clone()));
                }
                // Out of descriptors, or a connection reset before it was taken: try again shortly.
                Err(_) => tokio::time::sleep(std::time::Duration::from_millis(10)).await,
            },
            Some(_) = open.join_next(), if !open.is_empty() => {}
            _ = stopping.changed() => break,
        }
    }
    drop(listener);
    let _ = tokio::time::timeout(DRAIN, async { while open.join_next().await.is_some() {} }).await;
}

/// Serves one connection until the peer closes it or the server stops.
async fn connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    shared: Arc<Shared>,
    mut stopping: watch::Receiver<bool>,
) {
    // Small answers and each streamed piece go out at once, not after the peer's delayed ACK.
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| exchange(Arc::clone(&shared), peer, request));
    let mut builder = http1::Builder::new();
    builder
        .max_buf_size(MAX_HEAD)
        .title_case_headers(true)
        // A client may shut its sending side once its request is out and still read the answer.
        .half_close(true)
        // An idle keep-alive connection stays open as long as the client keeps it.
        .header_read_timeout(None);
    let mut served = pin!(builder.serve_connection(TokioIo::new(stream), service).with_upgrades());
    tokio::select! {
        _ = served.as_mut() => return,
        _ = stopping.wait_for(|stop| *stop) => {}
    }
    served.as_mut().graceful_shutdown();
    let _ = served.await;
}

/// One request: routed by its head when the server has a router (answered
/// at once, or forwarded upstream), else its body read within the limit,
/// the handler called on a blocking thread (once a worker's slot is free;
/// on this thread when the server's [`Options::inline`] accepts it), its
/// answer returned.
async fn exchange(
    shared: Arc<Shared>,
    peer: SocketAddr,
    request: http::Request<Incoming>,
) -> Result<Response, Infallible> {
    let (parts, body) = request.into_parts();
    // hyper refuses a head its buffer cannot hold; one that came whole in fewer reads is measured here.
    if head_size(&parts) > MAX_HEAD {
        let text = format!("the request's header section is over {MAX_HEAD} bytes\n");
        return Ok(respond::plain(StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, text));
    }
    let limit = shared.body_limit;
    let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path(), |p| p.as_str());
    let head_only = parts.method == http::Method::HEAD;
    let http_1_0 = parts.version == Version::HTTP_10;
    // The request as a handler sees it, its body not read yet: a router sees it so, with no copy of its headers.
    let mut request = Request::from_parts(parts.method.clone(), target, parts.headers, Vec::new(), Some(peer));
    if let Some((router, upstreams)) = &shared.router {
        match router(&request) {
            Route::Handle => {}
            Route::Answer(reply) => {
                let (answer, answered) = oneshot::channel();
                let responder = Responder::new(answer, head_only, http_1_0, None, false);
                drop(tokio::task::spawn_blocking(move || responder.send(reply)));
                return Ok(answered.await.unwrap_or_else(|_| respond::unanswered()));
            }
            Route::Forward(to) => {
                return Ok(forward::forward(upstreams, to, parts.method, &request.headers, body, limit, peer).await);
            }
        }
    }
    let declared =
        request.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Ok(too_large(limit));
    }
    request.body = match Limited::new(body, limit).collect().await {
        Ok(collected) => Vec::from(collected.to_bytes()),
        Err(error) if error.is::<http_body_util::LengthLimitError>() => return Ok(too_large(limit)),
        Err(error) => return Ok(respond::plain(StatusCode::BAD_REQUEST, format!("cannot read the body: {error}\n"))),
    };
    let slot = match &shared.slots {
        // The semaphore is never closed.
        Some(slots) => Arc::clone(slots).acquire_owned().await.ok(),
        None => None,
    };
    let (answer, answered) = oneshot::channel();
    let inline = shared.inline.as_ref().is_some_and(|inline| inline(&request));
    let responder = Responder::new(answer, head_only, http_1_0, slot, inline);
    if inline {
        // Answered from memory at once: the two thread hand-overs would cost more than the answer.
        (shared.handler)(request, responder);
        return Ok(answered.await.unwrap_or_else(|_| respond::unanswered()));
    }
    let handler = Arc::clone(&shared.handler);
    // The handler's thread outlives this future when the client goes: it
    // ends when the handler returns (its writes fail once nobody reads).
    drop(tokio::task::spawn_blocking(move || handler(request, responder)));
    Ok(answered.await.unwrap_or_else(|_| respond::unanswered()))
}

/// The size of a request's header section as sent: its request line and
/// each header line, with their line ends and the empty line after them.
fn head_size(parts: &http::request::Parts) -> usize {
    let target = parts.uri.path_and_query().map_or(parts.uri.path().len(), |p| p.as_str().len());
    let line = parts.method.as_str().len() + 1 + target + " HTTP/1.1\r\n".len();
    let headers: usize = parts.headers.iter().map(|(name, value)| name.as_str().len() + 2 + value.len() + 2).sum();
    line + headers + 2
}

fn too_large(limit: usize) -> Response {
    respond::plain(StatusCode::PAYLOAD_TOO_LARGE, format!("the request body is over {limit} bytes\n"))
}
