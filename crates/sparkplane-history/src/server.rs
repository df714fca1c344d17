//! The HTTP server of `sparkplane history serve`: Spark's `/api/v1` over an
//! [`Index`], refreshed in the background.
//!
//! Owns: the handler the project's one HTTP scaffold (`sparkplane_http`,
//! which binds, runs the worker threads and stops them) calls for each request
//! (first its [`Gate`]'s `admit`: the request's viewer, or the reply the door
//! gives instead, sent untouched; then every answer made from the index as
//! that viewer sees it, [`crate::viewed`]; API answers from
//! [`crate::api::respond`], the `logs` zip streamed by [`crate::download`]; `/` from [`crate::page`]; Spark's `/history/…` pages from
//! [`crate::ui`]; the
//! live UI of a running job at `/jobs/<namespace>/<job>/…` routed by
//! [`crate::live`] before the request reaches a worker; the
//! report of one application from `sparkplane_analysis::report_html`; `/metrics`
//! from [`crate::metrics`]), rescanning the location every
//! interval so new and in-progress logs show without a restart (and writing
//! a first listing served before its write to the persisted index, on the
//! same thread), and the request counters and latencies handed to the
//! metrics registry.
//!
//! Must not: bind or run HTTP itself (the scaffold does), recognise a viewer
//! (the gate's `admit` does) or decide access, shape answers itself,
//! or stop because one refresh failed (the
//! last good listing keeps being served and the failure is counted).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sparkplane_access::{AccessRules, Viewer};
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_analysis::report_html::{Served, report_html_served};
use sparkplane_http::{Body, HttpServer, Reply, Request};

use crate::api::{self, Download, Response};
use crate::download::{Archive, zip_logs};
pub use crate::gate::{Admit, Gate};
use crate::index::Index;
use crate::live::LiveUi;
use crate::metrics::{self, RequestStats};
use crate::page;
use crate::ui;
use crate::viewed::Viewed;

/// The scaffold's bind error, re-exported so callers keep naming it here.
pub use sparkplane_http::ServeError;

/// The address `sparkplane history serve` listens on unless told otherwise (Spark's port).
pub const DEFAULT_LISTEN: &str = "127.0.0.1:18080";

/// A running server and its scan thread; both stop on [`HistoryServer::stop`] or drop.
pub struct HistoryServer {
    http: Option<HttpServer>,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    scan: Option<JoinHandle<()>>,
    stats: Arc<Mutex<RequestStats>>,
    /// Held so its refresh thread stops with the server.
    live: Option<Arc<LiveUi>>,
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

    /// Stops accepting, lets requests in flight finish and joins every thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(http) = self.http.take() {
            http.stop();
        }
        if let Some(scan) = self.scan.take() {
            let _ = scan.join();
        }
        self.live = None;
    }
}

impl Drop for HistoryServer {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// A surface another crate mounts on the door beside the History Server's
/// own (the console): asked for every request under its prefix once the
/// door has admitted the viewer, and answering only what that viewer may
/// see under the rules (another team's object as if it did not exist).
pub trait Surface: Send + Sync {
    /// The path it answers under (`/console`): that path and everything below it.
    fn prefix(&self) -> &str;
    /// The answer to `request` for `viewer`.
    fn answer(&self, viewer: &Viewer, rules: &AccessRules, request: &Request) -> Reply;
}

/// What a door serves beside the History Server: running jobs' live UIs and mounted surfaces.
#[derive(Default)]
pub struct Extras {
    pub live: Option<LiveUi>,
    pub surfaces: Vec<Arc<dyn Surface>>,
}

/// Starts serving `index` on `addr` to the local user ([`Gate::local`]); see [`serve_with`].
pub fn serve(addr: SocketAddr, index: Arc<Index>, interval: Duration) -> Result<HistoryServer, ServeError> {
    serve_with(addr, index, interval, Gate::local())
}

/// Starts serving `index` on `addr` (the project's one HTTP scaffold,
/// `sparkplane_http`), each request answered with the applications its
/// viewer may see (the viewer `gate.admit` gives, under `gate.rules`),
/// rescanning on a thread of its own: each rescan starts
/// early by twice what the longest recent one took ([`RescanLead`]), so it
/// ends within `interval` of the previous start and a log written at any
/// moment shows within `interval`.
pub fn serve_with(
    addr: SocketAddr,
    index: Arc<Index>,
    interval: Duration,
    gate: Gate,
) -> Result<HistoryServer, ServeError> {
    serve_door(addr, index, interval, gate, Extras::default())
}

/// [`serve_with`], and with `extras.live` the running jobs' live UIs at
/// `/jobs/<namespace>/<job>/…` ([`crate::live`]: routed on the HTTP stack's
/// own threads, forwarded without taking one of the [`WORKERS`]), and each
/// of `extras.surfaces` under its prefix, behind the same gate.
pub fn serve_door(
    addr: SocketAddr,
    index: Arc<Index>,
    interval: Duration,
    gate: Gate,
    extras: Extras,
) -> Result<HistoryServer, ServeError> {
    let stats = Arc::new(Mutex::new(RequestStats::default()));
    let Extras { live, surfaces } = extras;
    let live = live.map(Arc::new);
    let listener = std::net::TcpListener::bind(addr).map_err(|e| ServeError { addr, message: e.to_string() })?;
    let mut options = sparkplane_http::Options::new("sparkplane-history-http").workers(WORKERS);
    if let Some(live) = &live {
        let (live, index, gate) = (Arc::clone(live), Arc::clone(&index), gate.clone());
        options = options.router(move |request: &Request| live.route(&index, &gate, request));
    }
    let http = {
        let (index, stats) = (Arc::clone(&index), Arc::clone(&stats));
        sparkplane_http::start(listener, options, move |request: Request, responder: sparkplane_http::Responder| {
            responder.send(handle(&index, &stats, &gate, &surfaces, &request))
        })?
    };
    let stop = Arc::new(AtomicBool::new(false));
    let scan = {
        let stop = Arc::clone(&stop);
        std::thread::Builder::new()
            .name("sparkplane-history-scan".to_owned())
            .spawn(move || {
                // A first listing served before it was written (`Index::refresh_deferring_write`) is written now,
                // off the path of the list's first answer, and at the lowest CPU priority: the write (0.2 s of CPU
                // for 100,000 logs) never takes a core from answering the list it saves.
                on_idle_thread(|| index.write_deferred());
                let (mut last, mut failing, mut lead) = (Instant::now(), false, RescanLead::default());
                // Records restored from the persisted index: the catch-up listing starts at once.
                let mut due = index.restored_pending();
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(SCAN_TICK);
                    // Each rescan starts early (RescanLead), so that it ends within an interval of the one
                    // before starting: a log written at any moment is listed within one interval.
                    if !due && last.elapsed() + lead.of(interval) < interval {
                        continue;
                    }
                    due = false;
                    last = Instant::now();
                    failing = rescan(&index, failing);
                    lead.took(last.elapsed());
                }
            })
            // `http` is dropped on this early return, which stops it.
            .map_err(|e| ServeError { addr, message: format!("cannot start the scan thread: {e}") })?
    };
    Ok(HistoryServer { addr: http.addr(), http: Some(http), stop, scan: Some(scan), stats, live })
}

/// How many requests the History Server answers at once (a forward to a live UI takes none).
pub const WORKERS: usize = 4;

/// Runs `work` on a thread of its own under Linux's idle scheduling policy
/// (it gets a core only when nothing else wants one; elsewhere at normal
/// priority) and waits for it. A thread cannot raise its priority back once
/// lowered without a privilege the server does not have, hence a thread for
/// the work alone. When no thread can be started, `work` runs here.
fn on_idle_thread(work: impl Fn() + Sync) {
    let started = std::thread::scope(|scope| {
        let spawned =
            std::thread::Builder::new().name("sparkplane-history-write".to_owned()).spawn_scoped(scope, || {
                lower_to_idle_priority();
                work();
            });
        match spawned {
            Ok(thread) => {
                if let Err(panic) = thread.join() {
                    std::panic::resume_unwind(panic);
                }
                true
            }
            Err(_) => false,
        }
    });
    if !started {
        work();
    }
}

#[cfg(target_os = "linux")]
fn lower_to_idle_priority() {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sets the calling thread's own policy (pid 0); `param` outlives the call. Lowering needs no privilege.
    unsafe {
        libc::sched_setscheduler(0, libc::SCHED_IDLE, &param);
    }
}

#[cfg(not(target_os = "linux"))]
fn lower_to_idle_priority() {}

/// Rescans once; a listing that fails is said once on stderr (and counted by
/// the index for `/metrics`) while the last good list keeps being served.
/// Returns whether the location is failing now.
/// How often the scan thread looks at the clock (and at the stop flag).
const SCAN_TICK: Duration = Duration::from_millis(100);

/// How early a rescan starts. A log written just after a rescan read the
/// location is listed by the next one, at its end: an interval after the
/// previous start, less the lead, plus what the next rescan takes. So the lead
/// is twice the longest of the last few rescans (a rescan of 100,000 logs
/// varies by a second on a loaded machine) plus the scan thread's tick, at
/// most half the interval (beyond that rescans would run back to back).
#[derive(Debug, Default)]
struct RescanLead {
    /// The last [`RescanLead::KEPT`] rescans' durations, the newest last.
    recent: Vec<Duration>,
}

impl RescanLead {
    const KEPT: usize = 5;

    fn took(&mut self, duration: Duration) {
        if self.recent.len() == Self::KEPT {
            self.recent.remove(0);
        }
        self.recent.push(duration);
    }

    fn of(&self, interval: Duration) -> Duration {
        let longest = self.recent.iter().max().copied().unwrap_or_default();
        (longest * 2 + SCAN_TICK).min(interval / 2)
    }
}

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

/// The pages besides `/api/v1`: the application list, an application's pages
/// at Spark's `/history/…` URLs ([`crate::ui`]), reports and metrics, each of
/// the applications the viewer sees but `/metrics`, which counts the whole
/// index the same for every viewer and names no application.
fn page(seen: &Viewed, stats: &Mutex<RequestStats>, path: &str, query: &str) -> Option<Response> {
    let html = |body: String| Response { status: 200, content_type: HTML, body, download: None };
    if path.starts_with("/history/") || path == "/history" {
        let facts = |app: &str, attempt: Option<&str>| {
            let e = seen.entry_of(app, attempt)?;
            Some(ui::AppFacts { outcome: e.outcome, team: e.team, cost_usd: e.cost_usd })
        };
        let answer = ui::respond(seen, &facts, path, query);
        return Some(Response { status: answer.status, content_type: HTML, body: answer.body, download: None });
    }
    match path {
        "/" => Some(html(page::index_page(&seen.entries(), &ui::Params::parse(query)))),
        // Browsers ask every origin for it, whatever the page names: no icon, and no 404 in their console.
        "/favicon.ico" => Some(Response { status: 204, content_type: "", body: String::new(), download: None }),
        "/metrics" => {
            let index = seen.index();
            let requests = stats.lock().map(|s| s.clone()).unwrap_or_default();
            let apps = index.len() as u64;
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
            let Some(log) = seen.log_of(&app, attempt.as_deref()) else {
                return Some(Response {
                    status: 404,
                    content_type: TEXT,
                    body: format!("unknown app: {app}\n"),
                    download: None,
                });
            };
            Some(match log.summarize() {
                Ok(summary) => {
                    let pages = crate::ui::base_link(&app, attempt.as_deref(), "jobs/");
                    let served = Served { pages: &pages, list: "/" };
                    html(report_html_served(&summary, &PriceSheet::opencost_defaults(), served))
                }
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

/// Answers one request with the applications its viewer may see (a reply
/// `gate.admit` gives instead is sent as it is, the index untouched, nothing
/// counted): the API, the pages, or the `logs` zip streamed; counts it by
/// endpoint kind and status.
fn handle(
    index: &Index,
    stats: &Mutex<RequestStats>,
    gate: &Gate,
    surfaces: &[Arc<dyn Surface>],
    request: &Request,
) -> Reply {
    let started = Instant::now();
    let viewer = match (gate.admit)(request) {
        Ok(viewer) => viewer,
        Err(reply) => return reply,
    };
    let path = request.path.as_str();
    let mounted = surfaces.iter().find(|s| {
        let prefix = s.prefix();
        path == prefix || path.strip_prefix(prefix).is_some_and(|rest| rest.starts_with('/'))
    });
    if let Some(surface) = mounted {
        let reply = surface.answer(&viewer, &gate.rules, request);
        count(stats, "page".to_owned(), reply.status, started);
        return reply;
    }
    let seen = Viewed::new(index, &gate.rules, &viewer);
    let listing = request.method.is_read() && matches!(path, "/api/v1/applications" | "/api/v1/applications/");
    let response = if !request.method.is_read() {
        Response { status: 405, content_type: TEXT, body: "method not allowed\n".to_owned(), download: None }
    } else if listing {
        // The application list is written as it is sent: a hundred thousand
        // applications are never held whole as text.
        match api::application_list_of(&seen, &request.query) {
            Ok(list) => {
                let reply = Reply {
                    status: 200,
                    content_type: api::JSON.to_owned(),
                    headers: Vec::new(),
                    body: Body::Stream { reader: Box::new(list.into_reader()), length: None },
                };
                count(stats, "applications".to_owned(), 200, started);
                return reply;
            }
            Err(refused) => refused,
        }
    } else if path.starts_with("/api/v1/") {
        api::respond(&seen, path, &request.query)
    } else {
        page(&seen, stats, path, &request.query).unwrap_or_else(|| Response {
            status: 404,
            content_type: TEXT,
            body: format!("not found: {path}\n"),
            download: None,
        })
    };
    // `logs`: the zip is started here (the API only said which logs); a log that
    // cannot be read is Spark's 503.
    let reply = match &response.download {
        Some(download) => match start_download(&seen, download) {
            Ok(archive) => Reply {
                status: 200,
                content_type: response.content_type.to_owned(),
                headers: vec![(
                    "Content-Disposition".to_owned(),
                    format!("attachment; filename={}", download.file_name),
                )],
                body: Body::Stream { reader: archive.reader, length: usize::try_from(archive.len).ok() },
            },
            Err(unavailable) => Reply::text(unavailable.status, unavailable.content_type, unavailable.body),
        },
        None => Reply::text(response.status, response.content_type, response.body),
    };
    let kind = if path.starts_with("/api/v1/") { endpoint_kind(path) } else { "page".to_owned() };
    count(stats, kind, reply.status, started);
    reply
}

/// Counts one answered request by endpoint kind and status, with its time.
fn count(stats: &Mutex<RequestStats>, kind: String, status: u16, started: Instant) {
    if let Ok(mut s) = stats.lock() {
        let slot = s.requests.entry((kind, status)).or_default();
        slot.0 += 1;
        slot.1 += started.elapsed().as_secs_f64();
    }
}

/// Opens every log the download names and measures it; Spark's 503 when one cannot be read.
fn start_download(seen: &Viewed, download: &Download) -> Result<Archive, Response> {
    let logs: Option<Vec<_>> = download.attempts.iter().map(|a| seen.log_of(&download.app_id, a.as_deref())).collect();
    let unavailable = || api::logs_unavailable(&download.app_id);
    zip_logs(&logs.ok_or_else(unavailable)?).map_err(|_| unavailable())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_eventlog::LogSource;
    use sparkplane_http::Method;

    #[test]
    #[cfg(target_os = "linux")]
    fn idle_work_runs_to_its_end_under_the_idle_policy_and_leaves_the_calling_thread_as_it_was() {
        // SAFETY: reads the calling thread's own policy.
        let policy = || unsafe { libc::sched_getscheduler(0) };
        let before = policy();
        let seen = Mutex::new(Vec::new());
        on_idle_thread(|| {
            seen.lock().expect("lock").push((policy(), std::thread::current().name().map(str::to_owned)))
        });
        let seen = seen.into_inner().expect("lock");
        assert_eq!(seen, [(libc::SCHED_IDLE, Some("sparkplane-history-write".to_owned()))]);
        assert_eq!(policy(), before);
        assert_ne!(before, libc::SCHED_IDLE);
    }

    #[test]
    fn a_panic_in_idle_work_reaches_the_caller() {
        let caught = std::panic::catch_unwind(|| on_idle_thread(|| panic!("the write failed")));
        let panic = caught.expect_err("the panic is the caller's");
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"the write failed"));
    }

    fn index() -> (tempfile::TempDir, Arc<Index>) {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = "{\"Event\":\"SparkListenerApplicationStart\",\"App Name\":\"a\",\"App ID\":\"app-1\",\
                   \"Timestamp\":1700000000000,\"User\":\"u\"}\n";
        std::fs::write(dir.path().join("app-1"), log).expect("write");
        let index = Arc::new(Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 20));
        index.refresh().expect("lists");
        (dir, index)
    }

    fn body(reply: Reply) -> String {
        match reply.body {
            Body::Bytes(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Body::Stream { mut reader, .. } => {
                let mut text = String::new();
                std::io::Read::read_to_string(&mut reader, &mut text).expect("a streamed body reads whole");
                text
            }
        }
    }

    #[test]
    fn requests_are_answered_by_route_and_counted_by_endpoint_kind_and_status() {
        let (_dir, index) = index();
        let stats = Mutex::new(RequestStats::default());
        let list =
            handle(&index, &stats, &Gate::local(), &[], &Request::new(Method::Get, "/api/v1/applications?limit=5"));
        assert_eq!((list.status, list.content_type.as_str()), (200, "application/json"));
        let listed: serde_json::Value = serde_json::from_str(&body(list)).expect("json");
        assert_eq!(listed[0]["id"], "app-1", "{listed}");
        let post = handle(&index, &stats, &Gate::local(), &[], &Request::new(Method::Post, "/api/v1/applications"));
        assert_eq!(post.status, 405);
        assert_eq!(body(post), "method not allowed\n");
        let metrics = handle(&index, &stats, &Gate::local(), &[], &Request::new(Method::Get, "/metrics?x=1"));
        assert_eq!((metrics.status, metrics.content_type.as_str()), (200, metrics::CONTENT_TYPE));
        assert_eq!(handle(&index, &stats, &Gate::local(), &[], &Request::new(Method::Get, "/nowhere")).status, 404);
        let counted: Vec<((String, u16), u64)> =
            stats.lock().expect("stats").requests.iter().map(|(k, (n, _))| (k.clone(), *n)).collect();
        assert_eq!(
            counted,
            [
                (("applications".to_owned(), 200), 1),
                (("applications".to_owned(), 405), 1),
                (("page".to_owned(), 200), 1),
                (("page".to_owned(), 404), 1)
            ]
        );
    }

    #[test]
    fn a_reply_the_gate_gives_is_sent_as_it_is_before_the_index_is_read() {
        let (_dir, index) = index();
        let stats = Mutex::new(RequestStats::default());
        let to_sign_in = |request: &Request| -> Result<Viewer, Reply> {
            Err(Reply {
                status: 302,
                content_type: String::new(),
                headers: vec![("Location".to_owned(), format!("/signin?next={}", request.path))],
                body: Body::Bytes(b"to the sign-in".to_vec()),
            })
        };
        let gate = Gate { rules: AccessRules::default(), admit: Arc::new(to_sign_in) };
        let jobs = "/api/v1/applications/app-1/jobs";
        // The door's own routes come first: a POST is its to answer, not a 405.
        for (method, path) in [(Method::Get, jobs), (Method::Post, "/signin/callback")] {
            let reply = handle(&index, &stats, &gate, &[], &Request::new(method, path));
            let location = vec![("Location".to_owned(), format!("/signin?next={path}"))];
            assert_eq!((reply.status, reply.content_type.as_str(), &reply.headers), (302, "", &location));
            assert_eq!(body(reply), "to the sign-in");
        }
        assert_eq!(index.stats().detail_cache_entries, 0, "no log was replayed");
        assert!(stats.lock().expect("stats").requests.is_empty(), "nor a request counted");
        let admitted = handle(&index, &stats, &Gate::local(), &[], &Request::new(Method::Get, jobs));
        assert_eq!((admitted.status, index.stats().detail_cache_entries), (200, 1));
    }

    #[test]
    fn a_download_is_streamed_with_its_file_name() {
        let (_dir, index) = index();
        let stats = Mutex::new(RequestStats::default());
        let reply =
            handle(&index, &stats, &Gate::local(), &[], &Request::new(Method::Get, "/api/v1/applications/app-1/logs"));
        assert_eq!((reply.status, reply.content_type.as_str()), (200, api::OCTET_STREAM));
        assert_eq!(
            reply.headers,
            [("Content-Disposition".to_owned(), "attachment; filename=eventLogs-app-1.zip".to_owned())]
        );
        assert!(matches!(reply.body, Body::Stream { length: Some(n), .. } if n > 0), "{:?}", reply.body);
    }

    #[test]
    fn a_rescan_whose_listing_fails_is_failing_until_the_location_lists_again() {
        let (dir, index) = index();
        let moved = dir.path().with_extension("moved");
        std::fs::rename(dir.path(), &moved).expect("rename");
        assert!(rescan(&index, false), "a failed listing is failing");
        assert!(rescan(&index, true), "and stays failing, said once");
        std::fs::rename(&moved, dir.path()).expect("rename back");
        assert!(!rescan(&index, true), "it lists again");
        let stats = index.stats();
        assert_eq!((stats.refresh_failures, stats.last_refresh_error, index.entries().len()), (2, None, 1));
    }

    #[test]
    fn a_rescan_starts_early_by_twice_the_longest_recent_one_at_most_half_the_interval() {
        let interval = Duration::from_secs(10);
        let mut lead = RescanLead::default();
        assert_eq!(lead.of(interval), SCAN_TICK, "before any rescan, only the tick");
        lead.took(Duration::from_millis(900));
        lead.took(Duration::from_millis(400));
        assert_eq!(lead.of(interval), Duration::from_millis(1_900), "twice the longest of the recent ones");
        for _ in 0..RescanLead::KEPT {
            lead.took(Duration::from_millis(300));
        }
        assert_eq!(lead.of(interval), Duration::from_millis(700), "an old long rescan is forgotten");
        lead.took(Duration::from_secs(4));
        assert_eq!(lead.of(interval), Duration::from_secs(5), "never more than half the interval");
    }

    #[test]
    fn stop_ends_the_http_workers_and_the_scan_thread_and_frees_the_port() {
        let (_dir, index) = index();
        let server =
            serve("127.0.0.1:0".parse().expect("addr"), Arc::clone(&index), Duration::from_millis(1)).expect("serves");
        let addr = server.addr();
        // The scan thread holds the index; once it rescans, the refresh count grows.
        let deadline = Instant::now() + Duration::from_secs(10);
        while index.stats().refreshes < 2 {
            assert!(Instant::now() < deadline, "the scan thread never rescanned");
            std::thread::sleep(Duration::from_millis(20));
        }
        server.stop();
        // Every thread was joined: only this test's handle to the index is left.
        assert_eq!(Arc::strong_count(&index), 1);
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::net::TcpStream::connect(addr).is_ok() {
            assert!(Instant::now() < deadline, "the port stays open after stop");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
