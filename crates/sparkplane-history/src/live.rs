//! A job's Spark UI at one link that keeps working (issue #65, ADR 0096):
//! `/jobs/<namespace>/<job>/…` is, while the job's application runs, its
//! driver's live UI forwarded through the door, and once it has ended, the
//! History Server's pages of the job's latest application the viewer sees;
//! `/history/<app-id>/…` is the same driver's UI while that application
//! runs (its id asked of the driver on the table's thread, [`ask_id`]).
//!
//! Owns: the table of running applications (refreshed from a [`LiveSource`]
//! on a thread of its own, so a request never waits for it), the route of a
//! `/jobs/…` request ([`LiveUi::route`]: the door's sign-in first, then
//! forwarded, redirected to `/history/<app>/…`, or refused; a running
//! application's access decided from its team, namespace, user and Spark UI
//! ACLs as its pages' are), who may use the UI's kill links ([`KillLinks`]: the application's team and admins —
//! `sparkplane_access`'s Modify — or no one), and the paths refused before
//! anything is forwarded (a `..` segment, an encoded slash or dot, a
//! backslash).
//! Must not: open a connection (the HTTP stack's forward does), take an
//! upstream from anything a request says (only from the source's table),
//! decide access (`sparkplane_access::decide` does) or recognise the viewer
//! (the gate's `admit` does).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sparkplane_access::{Access, AppFacts, decide};
use sparkplane_http::server::{Authority, Forward};
use sparkplane_http::{Reply, Request, Route};

use crate::gate::Gate;
use crate::index::Index;
use crate::viewed::Viewed;

/// One running application whose UI the door may forward to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveApp {
    pub namespace: String,
    pub job: String,
    /// The team it runs for (the one attribution rule), when it has one.
    pub team: Option<String>,
    /// The user that runs it.
    pub owner: Option<String>,
    /// Its Spark UI ACL properties (`spark.ui.view.acls`, …;
    /// `sparkplane_access::app::is_acl_property`), as its configuration sets
    /// them: with Spark's ACLs honoured, they count here as on its pages.
    pub acls: BTreeMap<String, String>,
    /// The driver UI's `host:port`, as the source found it.
    pub ui: Authority,
}

/// Where running applications are found: called on the live table's own
/// thread every [`REFRESH`], never on a request's path.
pub type LiveSource = Arc<dyn Fn() -> Vec<LiveApp> + Send + Sync>;

/// How often the table of running applications is refreshed.
pub const REFRESH: Duration = Duration::from_millis(500);

/// Who may use the live UI's kill links (Spark's `…/kill/` endpoints).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KillLinks {
    /// Those who may change the application: its team, platform admins,
    /// Spark's modify and admin ACLs.
    Team,
    /// No one, through this door.
    Off,
}

/// A running application and, once its driver said it, its Spark application id.
#[derive(Debug, Clone)]
struct Running {
    app: LiveApp,
    id: Option<String>,
}

/// The live UIs a door serves: the running applications and the kill policy.
pub struct LiveUi {
    running: Arc<RwLock<Arc<Vec<Running>>>>,
    kill: KillLinks,
    stop: Arc<AtomicBool>,
    refresh: Option<JoinHandle<()>>,
}

impl LiveUi {
    /// Starts refreshing the table from `source`, a first time before it
    /// returns; each running application's id is asked of its driver
    /// ([`ask_id`]) on the refresh's thread, never on a request's.
    pub fn start(source: LiveSource, kill: KillLinks) -> std::io::Result<LiveUi> {
        let mut ids = Ids::default();
        let running = Arc::new(RwLock::new(Arc::new(ids.table(source(), ask_id))));
        let stop = Arc::new(AtomicBool::new(false));
        let refresh = {
            let (running, stop) = (Arc::clone(&running), Arc::clone(&stop));
            std::thread::Builder::new().name("sparkplane-live-ui".to_owned()).spawn(move || {
                while !stop.load(Ordering::SeqCst) {
                    std::thread::sleep(REFRESH);
                    let now = Arc::new(ids.table(source(), ask_id));
                    if let Ok(mut table) = running.write() {
                        *table = now;
                    }
                }
            })?
        };
        Ok(LiveUi { running, kill, stop, refresh: Some(refresh) })
    }

    /// The running applications now.
    pub fn running(&self) -> Vec<LiveApp> {
        self.table().iter().map(|r| r.app.clone()).collect()
    }

    fn table(&self) -> Arc<Vec<Running>> {
        self.running.read().map(|t| Arc::clone(&t)).unwrap_or_default()
    }

    /// Where a request goes: `/jobs/…` as the module says; anything else to the handler.
    pub fn route(&self, index: &Index, gate: &Gate, request: &Request) -> Route {
        let Some(at) = JobPath::parse(&request.path) else {
            return self.route_history(gate, request);
        };
        let viewer = match (gate.admit)(request) {
            Ok(viewer) => viewer,
            Err(reply) => return Route::Answer(reply),
        };
        let Some(rest) = at.rest else {
            return Route::Answer(redirect(&format!("{}/", at.prefix())));
        };
        if !safe(rest) {
            return Route::Answer(Reply::text(
                400,
                TEXT,
                "the path has a '..' segment, an encoded slash or dot, or a backslash; ask for the page itself\n",
            ));
        }
        let query = if request.query.is_empty() { String::new() } else { format!("?{}", request.query) };
        let running = self.table();
        let live = running.iter().find(|r| r.app.namespace == at.namespace && r.app.job == at.job);
        if let Some(forward) = live.and_then(|r| self.forward(gate, &viewer, &r.app, rest, &query, at.prefix())) {
            return forward;
        }
        let seen = Viewed::new(index, &gate.rules, &viewer);
        match seen.latest_of_job(at.namespace, at.job) {
            Some((app, attempt)) => {
                let page = if rest.is_empty() { "jobs/" } else { rest };
                let attempt = attempt.map(|a| format!("{a}/")).unwrap_or_default();
                Route::Answer(redirect(&format!("/history/{app}/{attempt}{page}{query}")))
            }
            // Another team's job answers what a job that never ran answers.
            None => Route::Answer(Reply::text(
                404,
                TEXT,
                format!("no application of job {} in namespace {} is running or listed\n", at.job, at.namespace),
            )),
        }
    }
}

impl LiveUi {
    /// `/history/<app-id>/[<attempt>/]<page>` of an application that runs:
    /// its driver's UI under that prefix, for a viewer who may see it (while
    /// it runs; once it ended, the History Server's pages at the same URLs).
    /// Any other request, and one for an application the viewer may not see,
    /// goes to the History Server, which answers it as it answers any.
    fn route_history(&self, gate: &Gate, request: &Request) -> Route {
        let Some(rest) = request.path.strip_prefix("/history/") else { return Route::Handle };
        let Some((id, page)) = rest.split_once('/') else { return Route::Handle };
        let running = self.table();
        let Some(live) = running.iter().find(|r| r.id.as_deref() == Some(id)) else { return Route::Handle };
        let (attempt, page) = match page.split_once('/') {
            Some((attempt, page)) if !attempt.is_empty() && attempt.bytes().all(|b| b.is_ascii_digit()) => {
                (Some(attempt), page)
            }
            _ => (None, page),
        };
        if !safe(page) {
            return Route::Handle;
        }
        let viewer = match (gate.admit)(request) {
            Ok(viewer) => viewer,
            Err(reply) => return Route::Answer(reply),
        };
        let prefix = match attempt {
            Some(attempt) => format!("/history/{id}/{attempt}"),
            None => format!("/history/{id}"),
        };
        let query = if request.query.is_empty() { String::new() } else { format!("?{}", request.query) };
        self.forward(gate, &viewer, &live.app, page, &query, prefix).unwrap_or(Route::Handle)
    }

    /// The forward of `rest` to `app`'s driver under `prefix` when `viewer`
    /// may see it (a kill link only with Modify, and not when they are off);
    /// `None` when they may not see it.
    fn forward(
        &self,
        gate: &Gate,
        viewer: &sparkplane_access::Viewer,
        app: &LiveApp,
        rest: &str,
        query: &str,
        prefix: String,
    ) -> Option<Route> {
        let acls = app.acls.iter().map(|(key, value)| (key.as_str(), value.as_str()));
        let facts = AppFacts {
            namespace: Some(app.namespace.clone()),
            ..AppFacts::from_properties(app.owner.as_deref(), app.team.as_deref(), acls)
        };
        let access = decide(&gate.rules, viewer, &facts);
        if !access.visible() {
            return None;
        }
        if is_kill(rest) && (self.kill == KillLinks::Off || access < Access::Modify) {
            return Some(Route::Answer(Reply::text(403, TEXT, kill_refused(self.kill))));
        }
        Some(Route::Forward(Forward { upstream: app.ui.clone(), target: format!("/{rest}{query}"), prefix }))
    }
}

/// The application ids the refresh learned, by namespace, job and driver UI:
/// asked when one appears, again every [`ASK_AGAIN`] while a driver does not
/// answer and every [`CHECK_AGAIN`] once it did (a new run at the same address
/// is a new application); at most [`ASKS_PER_REFRESH`] drivers a refresh, so
/// drivers that do not answer never hold the table back for long.
#[derive(Default)]
struct Ids {
    known: HashMap<(String, String, String), (Option<String>, Instant)>,
}

/// How long after an unanswered ask a driver is asked for its id again.
const ASK_AGAIN: Duration = Duration::from_secs(5);
/// How long an answered id stands before its driver is asked again.
const CHECK_AGAIN: Duration = Duration::from_secs(30);
/// Drivers asked in one refresh, at most.
const ASKS_PER_REFRESH: usize = 4;

impl Ids {
    /// The table of `apps` with the ids known or learned now (`ask` asks one driver).
    fn table(&mut self, apps: Vec<LiveApp>, ask: impl Fn(&Authority) -> Option<String>) -> Vec<Running> {
        let key = |app: &LiveApp| (app.namespace.clone(), app.job.clone(), app.ui.to_string());
        let keys: HashSet<_> = apps.iter().map(key).collect();
        self.known.retain(|k, _| keys.contains(k));
        let mut asks = ASKS_PER_REFRESH;
        let mut table = Vec::with_capacity(apps.len());
        for app in apps {
            let k = key(&app);
            let mut id = self.known.get(&k).and_then(|(id, _)| id.clone());
            let due = self
                .known
                .get(&k)
                .is_none_or(|(known, at)| at.elapsed() >= if known.is_some() { CHECK_AGAIN } else { ASK_AGAIN });
            if due && asks > 0 {
                asks -= 1;
                id = ask(&app.ui);
                self.known.insert(k, (id.clone(), Instant::now()));
            }
            table.push(Running { app, id });
        }
        table
    }
}

/// The id of the application a driver UI serves, from its REST API
/// (`/api/v1/applications`, one application): at most 1 s and 64 KiB, an
/// id only of the characters Spark's ids have. `None` when it does not say.
fn ask_id(ui: &Authority) -> Option<String> {
    let agent = sparkplane_http::client::agent(Some(Duration::from_secs(1)));
    let mut answer = agent.get(&format!("http://{ui}/api/v1/applications")).call().ok()?;
    if answer.status().as_u16() != 200 {
        return None;
    }
    let body = answer.body_mut().with_config().limit(64 * 1024).read_to_string().ok()?;
    application_id(&body)
}

/// The first application's id in a Spark REST `applications` answer, when it is one.
fn application_id(body: &str) -> Option<String> {
    let apps: Vec<serde_json::Value> = serde_json::from_str(body).ok()?;
    let id = apps.first()?.get("id")?.as_str()?;
    let fits = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.';
    (!id.is_empty() && id.len() <= 128 && id.bytes().all(fits) && id != "." && id != "..").then(|| id.to_owned())
}

impl Drop for LiveUi {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(refresh) = self.refresh.take() {
            let _ = refresh.join();
        }
    }
}

const TEXT: &str = "text/plain;charset=utf-8";

fn redirect(location: &str) -> Reply {
    Reply::text(302, TEXT, "").with_header("Location", location)
}

fn kill_refused(kill: KillLinks) -> &'static str {
    match kill {
        KillLinks::Off => "stopping jobs and stages from the live UI is off at this door (--live-ui-kill off)\n",
        KillLinks::Team => "you may view this application; stopping its jobs and stages is for its team\n",
    }
}

/// A job's link on the door: `/jobs/<namespace>/<job>/` (the console's rows and `sparkplane ui` use it).
pub fn job_path(namespace: &str, job: &str) -> String {
    format!("/jobs/{namespace}/{job}/")
}

/// Why [`job_link`] has no link.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum LinkError {
    /// The door's address is not an `http(s)://host[:port]` URL.
    #[error("the door's address {door:?} {why}")]
    Door {
        /// The address as given.
        door: String,
        /// What is wrong with it.
        why: &'static str,
    },
    /// A namespace or job that is not a Kubernetes name.
    #[error("{what} {name:?} is not a Kubernetes name (lower-case letters, digits, '-' and '.')")]
    Name {
        /// `namespace` or `job`.
        what: &'static str,
        /// As given.
        name: String,
    },
}

impl LinkError {
    /// The flag a user fixes (`--door`), or none for a name.
    pub fn flag(&self) -> &'static str {
        if matches!(self, LinkError::Door { .. }) { "--door" } else { "" }
    }

    /// How to get a link instead.
    pub fn help(&self) -> &'static str {
        match self {
            LinkError::Door { .. } => "give --door (or SPARKPLANE_DOOR) as http(s)://HOST[:PORT]",
            LinkError::Name { .. } => "name a job file or a SparkJob, and its namespace with -n",
        }
    }
}

/// `door` (the History Server's address as its users reach it, a scheme,
/// host and port) joined with the [`job_path`] of `job` in `namespace`.
pub fn job_link(door: &str, namespace: &str, job: &str) -> Result<String, LinkError> {
    let bad = |why| LinkError::Door { door: door.to_owned(), why };
    let url = url::Url::parse(door).map_err(|_| bad("is not a URL; give it as http(s)://HOST[:PORT]"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(bad("is not an http:// or https:// address with a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("holds credentials; a link is shared and printed, give the address without them"));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(bad("has a path, query or fragment; the door serves at the root of its address"));
    }
    for (what, name) in [("namespace", namespace), ("job", job)] {
        if !is_name(name) {
            return Err(LinkError::Name { what, name: name.to_owned() });
        }
    }
    Ok(format!("{}{}", url.as_str().trim_end_matches('/'), job_path(namespace, job)))
}

/// `/jobs/<namespace>/<job>` and what follows it.
#[derive(Debug, PartialEq, Eq)]
struct JobPath<'a> {
    namespace: &'a str,
    job: &'a str,
    /// After `<job>/` (without its slash); `None` when the path ends at the job.
    rest: Option<&'a str>,
}

impl<'a> JobPath<'a> {
    /// A path under `/jobs/` whose namespace and job are Kubernetes names; any other is not one.
    fn parse(path: &'a str) -> Option<JobPath<'a>> {
        let mut parts = path.strip_prefix("/jobs/")?.splitn(3, '/');
        let (namespace, job) = (parts.next()?, parts.next()?);
        (is_name(namespace) && is_name(job)).then_some(JobPath { namespace, job, rest: parts.next() })
    }

    fn prefix(&self) -> String {
        job_path(self.namespace, self.job).trim_end_matches('/').to_owned()
    }
}

/// A Kubernetes object name (RFC 1123 subdomain): lower-case letters,
/// digits, `-` and `.`, starting and ending with a letter or digit, at most 253.
fn is_name(text: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    text.len() <= 253
        && edge(text.chars().next())
        && edge(text.chars().last())
        && text.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && !text.contains("..")
}

/// Whether a forwarded path stays what it says: no `.`/`..` segment, no
/// encoded slash, dot or backslash, no backslash.
fn safe(rest: &str) -> bool {
    let lower = rest.to_ascii_lowercase();
    !rest.split('/').any(|segment| segment == ".." || segment == ".")
        && !rest.contains('\\')
        && !["%2f", "%2e", "%5c", "%00"].iter().any(|encoded| lower.contains(encoded))
}

/// Spark UI's kill endpoints: `jobs/job/kill/` and `stages/stage/kill/`.
fn is_kill(rest: &str) -> bool {
    let path = rest.trim_end_matches('/');
    path == "jobs/job/kill" || path == "stages/stage/kill"
}

#[cfg(test)]
mod tests {
    use std::cell::RefCell;

    fn app(job: &str, ui: &str) -> LiveApp {
        LiveApp {
            namespace: "team-a".into(),
            job: job.into(),
            team: None,
            owner: None,
            acls: BTreeMap::new(),
            ui: ui.parse().expect("authority"),
        }
    }

    #[test]
    fn a_drivers_id_is_asked_once_kept_while_it_runs_and_forgotten_when_it_ends() {
        let asked = RefCell::new(Vec::new());
        let ask = |ui: &Authority| {
            asked.borrow_mut().push(ui.to_string());
            (*ui == "127.0.0.1:4040").then(|| "local-1".to_owned())
        };
        let mut ids = Ids::default();
        let ids_of = |table: Vec<Running>| table.into_iter().map(|r| r.id).collect::<Vec<_>>();
        let both = || vec![app("etl", "127.0.0.1:4040"), app("silent", "127.0.0.1:4041")];
        assert_eq!(ids_of(ids.table(both(), ask)), [Some("local-1".to_owned()), None]);
        // Within the wait, neither is asked again: the answered one keeps its id.
        assert_eq!(ids_of(ids.table(both(), ask)), [Some("local-1".to_owned()), None]);
        assert_eq!(*asked.borrow(), ["127.0.0.1:4040", "127.0.0.1:4041"]);
        // Gone from the source, gone from what is known: a new run at the address is asked anew.
        assert!(ids.table(Vec::new(), ask).is_empty());
        assert_eq!(ids_of(ids.table(both(), ask)), [Some("local-1".to_owned()), None]);
        assert_eq!(asked.borrow().len(), 4);
        // At most a few drivers are asked in one refresh.
        let many: Vec<LiveApp> = (0..10).map(|n| app(&format!("j{n}"), &format!("10.0.0.{n}:4040"))).collect();
        let mut fresh = Ids::default();
        let _ = fresh.table(many, ask);
        assert_eq!(asked.borrow().len(), 4 + ASKS_PER_REFRESH);
    }

    #[test]
    fn an_application_id_is_taken_only_when_it_looks_like_one() {
        let one = |id: &str| format!("[{{\"id\": {id:?}, \"name\": \"etl\"}}]");
        assert_eq!(application_id(&one("local-1764331200000")), Some("local-1764331200000".into()));
        assert_eq!(application_id(&one("spark-0a1b2c_x.y")), Some("spark-0a1b2c_x.y".into()));
        for bad in ["", "..", "a/b", "a%2Fb", "a b", "<script>", &"x".repeat(129)] {
            assert_eq!(application_id(&one(bad)), None, "{bad}");
        }
        for body in ["[]", "{}", "not json", "[{\"name\": \"etl\"}]", "[{\"id\": 7}]"] {
            assert_eq!(application_id(body), None, "{body}");
        }
    }

    use super::*;

    #[test]
    fn job_paths_parse_only_with_kubernetes_names() {
        let at = |ns, job, rest| Some(JobPath { namespace: ns, job, rest });
        for (path, parsed) in [
            ("/jobs/team-a/etl", at("team-a", "etl", None)),
            ("/jobs/team-a/etl/", at("team-a", "etl", Some(""))),
            ("/jobs/team-a/etl/stages/stage/", at("team-a", "etl", Some("stages/stage/"))),
            ("/jobs/a.b/x-1/jobs/", at("a.b", "x-1", Some("jobs/"))),
            ("/jobs/team-a", None),
            ("/jobs/", None),
            ("/jobs/Team/etl/", None),
            ("/jobs/../etl/", None),
            ("/jobs/team-a/../", None),
            ("/jobs/team-a/%2e%2e/", None),
            ("/jobs/-a/etl/", None),
            ("/history/x/jobs/", None),
        ] {
            assert_eq!(JobPath::parse(path), parsed, "{path}");
        }
    }

    #[test]
    fn a_jobs_link_joins_the_doors_origin_and_refuses_what_would_mislead() {
        assert_eq!(
            job_link("http://127.0.0.1:18080", "team-a", "etl"),
            Ok("http://127.0.0.1:18080/jobs/team-a/etl/".into())
        );
        assert_eq!(
            job_link("https://spark.example.com/", "a.b", "x-1"),
            Ok("https://spark.example.com/jobs/a.b/x-1/".into())
        );
        let door = |door: &str, why: &'static str| Err(LinkError::Door { door: door.to_owned(), why });
        for (given, why) in [
            ("spark.example.com", "is not a URL; give it as http(s)://HOST[:PORT]"),
            ("ftp://spark.example.com", "is not an http:// or https:// address with a host"),
            (
                "https://me:secret@spark.example.com",
                "holds credentials; a link is shared and printed, give the address without them",
            ),
            (
                "https://spark.example.com/spark",
                "has a path, query or fragment; the door serves at the root of its address",
            ),
            (
                "https://spark.example.com/?next=x",
                "has a path, query or fragment; the door serves at the root of its address",
            ),
        ] {
            assert_eq!(job_link(given, "team-a", "etl"), door(given, why), "{given}");
        }
        let name = |what, name: &str| Err(LinkError::Name { what, name: name.to_owned() });
        assert_eq!(job_link("http://h", "Team-A", "etl"), name("namespace", "Team-A"));
        assert_eq!(job_link("http://h", "team-a", "../etl"), name("job", "../etl"));
        assert_eq!(job_path("team-a", "etl"), "/jobs/team-a/etl/");
    }

    #[test]
    fn a_path_that_could_climb_or_hide_a_slash_is_not_forwarded() {
        for ok in ["", "jobs/", "stages/stage/?id=1&attempt=0", "static/webui.js", "api/v1/applications", "a.b/c"] {
            assert!(safe(ok), "{ok}");
        }
        for bad in ["../x", "jobs/../../x", "./jobs", "jobs/%2e%2e/x", "jobs%2Fx", "a\\b", "x%5cy", "x%00", "%2E%2E/"] {
            assert!(!safe(bad), "{bad}");
        }
    }

    #[test]
    fn the_kill_endpoints_are_known_with_or_without_their_slash() {
        assert!(is_kill("jobs/job/kill/") && is_kill("stages/stage/kill") && is_kill("jobs/job/kill"));
        assert!(!is_kill("jobs/job/") && !is_kill("stages/") && !is_kill("jobs/job/killer"));
    }
}
