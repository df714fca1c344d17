//! The console as a surface of the door (`sparkplane_history::Surface`):
//! `/console` (the list, `?team=` filters it),
//! `/console/jobs/<namespace>/<name>` (one job) and
//! `/console/jobs/<namespace>/<name>/log` (its driver log, `?raw=1` as
//! written in plain text) for each viewer the door admitted, from the latest
//! [`Snapshot`] (the log read when asked for).
//!
//! Owns: the console's paths, its query, and which status each answer has
//! (a job the viewer may not see answers the very bytes of one that does not
//! exist, its log's page too: 404, never 403; a driver log there is none of:
//! 404 with why; a cluster or store that fails: 502, or 504 when it did not
//! answer in time; too many reads at once: 503). Must not: read the cluster
//! (the gather and [`DriverLogs`] do), decide access or shape rows (the
//! model does), or write markup (the page does).

use std::sync::{Arc, RwLock};

use sparkplane_access::{AccessRules, Viewer};
use sparkplane_history::Surface;
use sparkplane_http::{Reply, Request};

use crate::driver_log::DriverLogs;
use crate::model::{self, DriverLog, LOG_PAGE, Snapshot};
use crate::page;

/// Where the console answers.
pub const PREFIX: &str = "/console";
const HTML: &str = "text/html;charset=utf-8";
const TEXT: &str = "text/plain;charset=utf-8";

/// The latest snapshot, shared by the gather (writer) and the surface (readers).
pub type Shared = Arc<RwLock<Arc<Snapshot>>>;

/// The console's pages over a shared snapshot.
pub struct Console {
    snapshot: Shared,
    logs: Arc<DriverLogs>,
}

impl Console {
    /// The console over `snapshot`, its jobs' driver logs read through `logs`.
    pub fn new(snapshot: Shared, logs: Arc<DriverLogs>) -> Console {
        Console { snapshot, logs }
    }

    fn now(&self) -> Arc<Snapshot> {
        self.snapshot.read().map(|s| Arc::clone(&s)).unwrap_or_default()
    }
}

/// The value of `?team=` (the first; empty is none), decoded.
fn team_filter(query: &str) -> Option<String> {
    form_urlencoded::parse(query.as_bytes())
        .find(|(k, _)| k == "team")
        .map(|(_, v)| v.trim().to_owned())
        .filter(|v| !v.is_empty())
}

/// Whether `?raw=1` asks for the log as written, in plain text.
fn wants_raw(query: &str) -> bool {
    form_urlencoded::parse(query.as_bytes()).any(|(k, v)| k == "raw" && (v == "1" || v == "true"))
}

fn not_found() -> Reply {
    Reply::text(404, HTML, page::not_found())
}

impl Console {
    /// A job's driver log page: the very not-found of an unknown job when the viewer may not see it.
    fn log(&self, snapshot: &Snapshot, rules: &AccessRules, viewer: &Viewer, at: (&str, &str), query: &str) -> Reply {
        let (namespace, name) = at;
        let Some(job) = model::visible_job(snapshot, rules, viewer, namespace, name) else { return not_found() };
        let raw = wants_raw(query);
        let log = self.logs.read(job, namespace, name, |line| {
            if raw { line.to_owned() } else { sparkplane_core::render::logging::as_text(line).into_owned() }
        });
        let status = match &log {
            DriverLog::Read { .. } => 200,
            DriverLog::Missing { .. } => 404,
            DriverLog::Failed { timed_out: true, .. } => 504,
            DriverLog::Failed { timed_out: false, .. } => 502,
            DriverLog::Busy => 503,
        };
        let reply = if raw {
            Reply::text(status, TEXT, page::log_text(&log))
        } else {
            Reply::text(status, HTML, page::log_page(namespace, name, &log))
        };
        if matches!(log, DriverLog::Busy) { reply.with_header("Retry-After", "2") } else { reply }
    }
}

impl Surface for Console {
    fn prefix(&self) -> &str {
        PREFIX
    }

    fn answer(&self, viewer: &Viewer, rules: &AccessRules, request: &Request) -> Reply {
        if !request.method.is_read() {
            return Reply::text(405, "text/plain;charset=utf-8", "the console only answers GET\n")
                .with_header("Allow", "GET, HEAD");
        }
        let snapshot = self.now();
        let rest = request.path.strip_prefix(PREFIX).unwrap_or_default();
        if rest.is_empty() || rest == "/" {
            let team = team_filter(&request.query);
            let view = model::view(&snapshot, rules, viewer, team.as_deref());
            return Reply::text(200, HTML, page::list_page(&view, team.as_deref()));
        }
        let Some(at) = rest.strip_prefix("/jobs/") else { return not_found() };
        let mut parts = at.trim_end_matches('/').split('/');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(namespace), Some(name), None, None) => match model::job(&snapshot, rules, viewer, namespace, name) {
                Some(row) => Reply::text(200, HTML, page::job_page(&row, snapshot.stale.as_deref())),
                None => not_found(),
            },
            (Some(namespace), Some(name), Some(LOG_PAGE), None) => {
                self.log(&snapshot, rules, viewer, (namespace, name), &request.query)
            }
            _ => not_found(),
        }
    }
}
