//! The console as a surface of the door (`sparkplane_history::Surface`):
//! `/console` (the list, `?team=` filters it) and
//! `/console/jobs/<namespace>/<name>` (one job) for each viewer the door
//! admitted, from the latest [`Snapshot`].
//!
//! Owns: the console's paths, its query, and which status each answer has
//! (a job the viewer may not see answers the very bytes of one that does not
//! exist: 404, never 403). Must not: read the cluster (the gather does),
//! decide access or shape rows (the model does), or write markup (the page does).

use std::sync::{Arc, RwLock};

use sparkplane_access::{AccessRules, Viewer};
use sparkplane_history::Surface;
use sparkplane_http::{Reply, Request};

use crate::model::{self, Snapshot};
use crate::page;

/// Where the console answers.
pub const PREFIX: &str = "/console";
const HTML: &str = "text/html;charset=utf-8";

/// The latest snapshot, shared by the gather (writer) and the surface (readers).
pub type Shared = Arc<RwLock<Arc<Snapshot>>>;

/// The console's pages over a shared snapshot.
pub struct Console {
    snapshot: Shared,
}

impl Console {
    /// The console over `snapshot`.
    pub fn new(snapshot: Shared) -> Console {
        Console { snapshot }
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

fn not_found() -> Reply {
    Reply::text(404, HTML, page::not_found())
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
        let (Some(namespace), Some(name), None) = (parts.next(), parts.next(), parts.next()) else {
            return not_found();
        };
        match model::job(&snapshot, rules, viewer, namespace, name) {
            Some(row) => Reply::text(200, HTML, page::job_page(&row, snapshot.stale.as_deref())),
            None => not_found(),
        }
    }
}
