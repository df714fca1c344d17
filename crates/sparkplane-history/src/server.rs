//! The HTTP server of `sparkplane history serve`: Spark's `/api/v1` over an
//! [`Index`], refreshed in the background.
//!
//! Owns: binding the address, answering requests on a small pool of threads
//! (API answers from [`crate::api::respond`], the `logs` zip streamed by
//! [`crate::download`]; `/` from [`crate::page`]; the
//! report of one application from `sparkplane_eventlog::report_html`; `/metrics`
//! from [`crate::metrics`]), rescanning the location every
//! interval so new and in-progress logs show without a restart, and the
//! request counters and latencies handed to the metrics registry.
//!
//! Must not: shape answers itself or stop because one refresh failed (the
//! last good listing keeps being served and the failure is counted).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sparkplane_eventlog::cost::PriceSheet;
use sparkplane_eventlog::report_html;

use crate::api::{self, Download, Response};
use crate::download::{Archive, zip_logs};
use crate::index::Index;
use crate::metrics::{self, RequestStats};
use crate::page;

/// The address `sparkplane history serve` listens on unless told otherwise (Spark's port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:18080";

/// The bind failed.
#[derive(Debug, thiserror::Error)]
#[error("cannot listen on {addr}: {message}")]
pub struct ServeError {
    pub addr: SocketAddr,
    pub message: String,
}

/// A running server; stops when dropped.
pub struct HistoryServer {
    server: Arc<tiny_http::Server>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
    stats: Arc<Mutex<RequestStats>>,
}

impl HistoryServer {
    /// The bound address (the real port when 0 was asked for).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Request counters so far.
    pub fn request_stats(&self) -> RequestStats {
        self.stats.lock().map(|s| s.clone()).unwrap_or_default()
    }

    /// Stops accepting and joins the threads.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        self.server.unblock();
        for _ in 1..self.threads.len() {
            self.server.unblock();
        }
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
    }
}

impl Drop for HistoryServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Starts serving `index` on `addr`, rescanning every `interval`.
pub fn serve(addr: SocketAddr, index: Arc<Index>, interval: Duration) -> Result<HistoryServer, ServeError> {
    let server = tiny_http::Server::http(addr).map_err(|e| ServeError { addr, message: e.to_string() })?;
    let bound = server.server_addr().to_ip().unwrap_or(addr);
    let server = Arc::new(server);
    let stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(Mutex::new(RequestStats::default()));
    let mut threads = Vec::new();
    for n in 0..4 {
        let (server, index, stats, stop) =
            (Arc::clone(&server), Arc::clone(&index), Arc::clone(&stats), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name(format!("sparkplane-history-http-{n}"))
            .spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    let Ok(request) = server.recv() else { break };
                    answer(request, &index, &stats);
                }
            })
            .map_err(|e| ServeError { addr, message: format!("cannot start a server thread: {e}") })?;
        threads.push(thread);
    }
    {
        let (index, stop) = (Arc::clone(&index), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("sparkplane-history-scan".to_owned())
            .spawn(move || {
                let (mut last, mut failing) = (Instant::now(), false);
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(100));
                    if last.elapsed() < interval {
                        continue;
                    }
                    last = Instant::now();
                    failing = rescan(&index, failing);
                }
            })
            .map_err(|e| ServeError { addr, message: format!("cannot start the scan thread: {e}") })?;
        threads.push(thread);
    }
    Ok(HistoryServer { server, addr: bound, stop, threads, stats })
}

/// Rescans once; a listing that fails is said once on stderr (and counted by
/// the index for `/metrics`) while the last good list keeps being served.
/// Returns whether the location is failing now.
fn rescan(index: &Index, failing: bool) -> bool {
    match index.refresh() {
        Ok(()) => {
            if failing {
                eprintln!("sparkplane history: {} lists again", index.describe());
            }
            false
        }
        Err(error) => {
            if !failing {
                eprintln!(
                    "warning: cannot list {}: {error} (the last good list keeps being served; retried every rescan)",
                    index.describe()
                );
            }
            true
        }
    }
}

fn endpoint_kind(path: &str) -> String {
    let rest = path.strip_prefix("/api/v1/").unwrap_or(path);
    let segments: Vec<&str> = rest.split('/').filter(|s| !s.is_empty()).collect();
    // Label by resource, never by application id: the label set stays bounded.
    let kind = match segments.as_slice() {
        [] => "page",
        ["applications"] => "applications",
        ["applications", _] => "application",
        ["version"] => "version",
        [_, _, rest @ ..] => {
            rest.iter().copied().find(|s| s.chars().all(|c| c.is_ascii_alphabetic())).unwrap_or("other")
        }
        _ => "other",
    };
    kind.to_owned()
}

const TEXT: &str = "text/plain;charset=utf-8";
const HTML: &str = "text/html;charset=utf-8";

/// The pages besides `/api/v1`: the application list, reports and metrics.
fn page(index: &Index, stats: &Mutex<RequestStats>, path: &str) -> Option<Response> {
    let html = |body: String| Response { status: 200, content_type: HTML, body, download: None };
    match path {
        "/" => Some(html(page::index_page(&index.entries()))),
        "/metrics" => {
            let requests = stats.lock().map(|s| s.clone()).unwrap_or_default();
            let apps = index.entries().len() as u64;
            Some(Response {
                status: 200,
                content_type: metrics::CONTENT_TYPE,
                body: metrics::encode(&index.stats(), &requests, apps),
                download: None,
            })
        }
        _ => {
            let rest = path.strip_prefix("/report/")?;
            let mut parts =
                rest.split('/').map(|p| percent_encoding::percent_decode_str(p).decode_utf8_lossy().into_owned());
            let app = parts.next()?;
            let attempt = parts.next().filter(|a| !a.is_empty());
            let Some(log) = index.log_of(&app, attempt.as_deref()) else {
                return Some(Response {
                    status: 404,
                    content_type: TEXT,
                    body: format!("unknown app: {app}\n"),
                    download: None,
                });
            };
            Some(match log.summarize() {
                Ok(summary) => html(report_html(&summary, &PriceSheet::opencost_defaults())),
                Err(e) => Response {
                    status: 500,
                    content_type: TEXT,
                    body: format!("cannot read the log: {e}\n"),
                    download: None,
                },
            })
        }
    }
}

fn answer(request: tiny_http::Request, index: &Index, stats: &Mutex<RequestStats>) {
    let started = Instant::now();
    let url = request.url().to_owned();
    let (path, query) = url.split_once('?').unwrap_or((url.as_str(), ""));
    let get = matches!(request.method(), tiny_http::Method::Get | tiny_http::Method::Head);
    let response = if !get {
        Response { status: 405, content_type: TEXT, body: "method not allowed\n".to_owned(), download: None }
    } else if path.starts_with("/api/v1/") {
        api::respond(index, path, query)
    } else {
        page(index, stats, path).unwrap_or_else(|| Response {
            status: 404,
            content_type: TEXT,
            body: format!("not found: {path}\n"),
            download: None,
        })
    };
    // `logs`: the zip is started here (the API only said which logs); a log that
    // cannot be read is Spark's 503.
    let mut archive = None;
    let response = match &response.download {
        Some(download) => match start_download(index, download) {
            Ok(started) => {
                archive = Some(started);
                response
            }
            Err(unavailable) => unavailable,
        },
        None => response,
    };
    let kind = if path.starts_with("/api/v1/") { endpoint_kind(path) } else { "page".to_owned() };
    if let Ok(mut s) = stats.lock() {
        let slot = s.requests.entry((kind, response.status)).or_default();
        slot.0 += 1;
        slot.1 += started.elapsed().as_secs_f64();
    }
    let content_type = tiny_http::Header::from_bytes(&b"Content-Type"[..], response.content_type.as_bytes()).ok();
    if let (Some(archive), Some(download)) = (archive, &response.download) {
        let disposition = format!("attachment; filename={}", download.file_name);
        let headers: Vec<tiny_http::Header> =
            [content_type, tiny_http::Header::from_bytes(&b"Content-Disposition"[..], disposition.as_bytes()).ok()]
                .into_iter()
                .flatten()
                .collect();
        let length = usize::try_from(archive.len).ok();
        let reply = tiny_http::Response::new(tiny_http::StatusCode(200), headers, archive.reader, length, None);
        let _ = request.respond(reply);
        return;
    }
    let mut reply = tiny_http::Response::from_string(response.body).with_status_code(response.status);
    if let Some(header) = content_type {
        reply.add_header(header);
    }
    let _ = request.respond(reply);
}

/// Opens every log the download names and measures it; Spark's 503 when one cannot be read.
fn start_download(index: &Index, download: &Download) -> Result<Archive, Response> {
    let logs: Option<Vec<_>> = download.attempts.iter().map(|a| index.log_of(&download.app_id, a.as_deref())).collect();
    let unavailable = || api::logs_unavailable(&download.app_id);
    zip_logs(&logs.ok_or_else(unavailable)?).map_err(|_| unavailable())
}
