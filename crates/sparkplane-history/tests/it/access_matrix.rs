//! Who sees which application on every surface of the History Server (issue
//! #65, ADR 0090): Spark's own event log (`local-1422981780767`, see
//! `tests/data/spark-history/NOTICE.md`) written as five applications of
//! team A (by its label, and by its namespace alone), team B (one with an
//! attempt id, one named by `spark.sparkplane.team` alone and shared by
//! `spark.ui.view.acls` with a user of no team),
//! and no team, served behind a stand-in door (the request's user and groups
//! from two headers), with Spark's History Server ACLs off and on. For each
//! viewer every surface shows exactly the applications it may see (the list
//! page's event-log Download links too), and a hidden one answers byte for
//! byte what an unknown one answers.

use std::collections::{BTreeMap, BTreeSet};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use sparkplane_access::rules::TeamAccess;
use sparkplane_access::{AccessRules, Identity, SparkAcls, Viewer};
use sparkplane_eventlog::LogSource;
use sparkplane_history::{Gate, HistoryServer, Index, serve_with};
use sparkplane_http::Reply;

/// (application id, attempt id, user, Spark properties added).
type App = (&'static str, Option<&'static str>, &'static str, &'static [(&'static str, &'static str)]);

const TEAM: &str = "spark.kubernetes.driver.label.sparkplane.dev/team";
const NAMESPACE: &str = "spark.kubernetes.namespace";
const TEAM_PROPERTY: &str = "spark.sparkplane.team";

const APPS: [App; 5] = [
    ("alpha1", None, "ann", &[(TEAM, "team-a"), (NAMESPACE, "ns-a")]),
    ("alpha2", None, "ann", &[(NAMESPACE, "ns-a")]),
    ("bravo1", Some("1"), "bob", &[(TEAM, "team-b"), (NAMESPACE, "ns-b")]),
    // Charged to team B by the Spark property the cost reads (no label): the pages and access agree on it.
    ("bravo2", None, "bob", &[(TEAM_PROPERTY, "team-b"), ("spark.ui.view.acls", "vic")]),
    ("none1", None, "nobody", &[]),
];

/// SQL execution 0 of Spark's own 3.3 log (`local-1642039451826`): its start and end lines.
fn sql_execution() -> String {
    let spark = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events/local-1642039451826");
    let text = std::fs::read_to_string(spark).expect("Spark's log");
    let lines: Vec<&str> =
        text.lines().filter(|l| l.contains("SparkListenerSQLExecution") && l.contains("\"executionId\":0,")).collect();
    assert_eq!(lines.len(), 2, "execution 0 starts and ends in Spark's log");
    lines.iter().map(|l| format!("{l}\n")).collect()
}

/// An id no log has, as long as none of the applications' (the answers compared hold ids).
const UNKNOWN: &str = "zulu9";

/// Spark's log rewritten as `app`: its ids and user, and `properties` added to its Spark properties.
fn log_of((id, attempt, user, properties): &App) -> String {
    let spark = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events/local-1422981780767");
    let text = std::fs::read_to_string(spark).expect("Spark's log");
    let mut out = String::new();
    for line in text.lines() {
        let mut event: serde_json::Value = serde_json::from_str(line).expect("a JSON event");
        match event["Event"].as_str() {
            Some("SparkListenerApplicationStart") => {
                event["App ID"] = (*id).into();
                event["User"] = (*user).into();
                if let Some(attempt) = attempt {
                    event["App Attempt ID"] = (*attempt).into();
                }
            }
            Some("SparkListenerEnvironmentUpdate") => {
                for (key, value) in *properties {
                    event["Spark Properties"][*key] = (*value).into();
                }
            }
            // An SQL execution before the end, so the `sql` surfaces answer.
            Some("SparkListenerApplicationEnd") => out.push_str(&sql_execution()),
            _ => {}
        }
        out.push_str(&event.to_string());
        out.push('\n');
    }
    out
}

fn rules(spark_acls: bool) -> AccessRules {
    let team = |team: &str, namespace: &str, group: &str| TeamAccess {
        team: team.to_owned(),
        namespace: namespace.to_owned(),
        change: BTreeSet::from([group.to_owned()]),
        view: BTreeSet::new(),
    };
    AccessRules {
        teams: vec![team("team-a", "ns-a", "a-dev"), team("team-b", "ns-b", "b-dev")],
        admin_groups: BTreeSet::from(["platform".to_owned()]),
        spark: SparkAcls { enabled: spark_acls, ..SparkAcls::default() },
    }
}

/// The door the tests stand in for sign-in: `x-user` names the person (`local`: the local user) and
/// `x-groups` their groups; without `x-user`, a 401 of its own.
pub(crate) fn door(request: &sparkplane_http::Request) -> Result<Viewer, Reply> {
    match request.header("x-user") {
        Some("local") => Ok(Viewer::Local),
        Some(user) => {
            let groups = request.header("x-groups").unwrap_or_default().split(',').filter(|g| !g.is_empty());
            Ok(Viewer::Person(Identity::new(user, groups)))
        }
        None => {
            let mut reply = Reply::text(401, "text/plain;charset=utf-8", "sign in first\n");
            reply.headers.push(("WWW-Authenticate".to_owned(), "Bearer realm=\"test\"".to_owned()));
            Err(reply)
        }
    }
}

fn serve_apps(dir: &Path, spark_acls: bool) -> HistoryServer {
    let index = Arc::new(Index::new(LogSource::Local(dir.to_path_buf()), 64 << 20));
    index.refresh().expect("the logs list");
    let gate = Gate { rules: rules(spark_acls), admit: Arc::new(door) };
    let any_port: SocketAddr = "127.0.0.1:0".parse().expect("address");
    serve_with(any_port, index, Duration::from_secs(3600), gate).expect("serves")
}

/// An answer: status, the headers the test compares, body.
#[derive(Debug, PartialEq)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

fn get(addr: SocketAddr, target: &str, headers: &[(&str, &str)]) -> Answer {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.get(&format!("http://{addr}{target}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut answer = request.call().unwrap_or_else(|e| panic!("{target}: {e}"));
    let kept = ["content-type", "content-disposition", "www-authenticate"];
    let headers = kept
        .iter()
        .filter_map(|name| Some(((*name).to_owned(), answer.headers().get(*name)?.to_str().ok()?.to_owned())))
        .collect();
    let body = answer.body_mut().read_to_vec().expect("body");
    Answer { status: answer.status().as_u16(), headers, body }
}

/// A viewer: a name for the failures, the door's headers, and the applications it sees with Spark's ACLs off and on.
struct Who {
    name: &'static str,
    headers: &'static [(&'static str, &'static str)],
    sees: [&'static [&'static str]; 2],
}

const ALL: &[&str] = &["alpha1", "alpha2", "bravo1", "bravo2", "none1"];

const VIEWERS: [Who; 5] = [
    Who {
        name: "a user of team A",
        headers: &[("x-user", "amy"), ("x-groups", "a-dev")],
        sees: [&["alpha1", "alpha2"], &["alpha1", "alpha2"]],
    },
    Who {
        name: "a user of teams A and B",
        headers: &[("x-user", "abe"), ("x-groups", "a-dev,b-dev")],
        sees: [&["alpha1", "alpha2", "bravo1", "bravo2"], &["alpha1", "alpha2", "bravo1", "bravo2"]],
    },
    Who { name: "a platform admin", headers: &[("x-user", "pat"), ("x-groups", "platform")], sees: [ALL, ALL] },
    Who { name: "a person with no groups", headers: &[("x-user", "vic")], sees: [&[], &["bravo2"]] },
    Who { name: "the local user", headers: &[("x-user", "local")], sees: [ALL, ALL] },
];

/// The path of an application's attempt in the API's and the pages' URLs.
fn base(id: &str) -> String {
    match APPS.iter().find(|app| app.0 == id).and_then(|app| app.1) {
        Some(attempt) => format!("{id}/{attempt}"),
        None => id.to_owned(),
    }
}

/// Every per-application surface of `base` (an id, or an id and attempt).
fn surfaces(base: &str) -> Vec<String> {
    let mut all: Vec<String> = [
        "",
        "/jobs",
        "/jobs/0",
        "/stages",
        "/stages/0",
        "/stages/0/0",
        "/stages/0/0/taskList",
        "/stages/0/0/taskSummary",
        "/executors",
        "/allexecutors",
        "/allmiscellaneousprocess",
        "/environment",
        "/storage/rdd",
        "/logs",
        "/sql",
        "/sql?details=false&planDescription=false",
        "/sql/0",
        "/sql/0?details=false",
    ]
    .iter()
    .map(|rest| format!("/api/v1/applications/{base}{rest}"))
    .collect();
    let app = base.split('/').next().unwrap_or(base);
    if app != base {
        all.push(format!("/api/v1/applications/{app}"));
        all.push(format!("/api/v1/applications/{app}/logs"));
    }
    for page in [
        "jobs/",
        "jobs/job/?id=0",
        "stages/",
        "stages/stage/?id=0&attempt=0",
        "storage/",
        "environment/",
        "executors/",
        "SQL/",
        "SQL/execution/?id=0",
    ] {
        all.push(format!("/history/{base}/{page}"));
    }
    all.push(format!("/report/{base}"));
    all
}

fn ids_listed(answer: &Answer) -> BTreeSet<String> {
    let list: serde_json::Value = serde_json::from_slice(&answer.body).expect("a JSON list");
    list.as_array().into_iter().flatten().filter_map(|a| Some(a["id"].as_str()?.to_owned())).collect()
}

fn text(answer: &Answer) -> String {
    String::from_utf8_lossy(&answer.body).into_owned()
}

/// The application ids the list page shows.
fn ids_on_page(html: &str) -> BTreeSet<String> {
    html.split("<tr><td><a href=\"/history/")
        .skip(1)
        .filter_map(|row| Some(row.split('/').next()?.to_owned()))
        .collect()
}

/// The event-log Download links of the list page's rows.
fn downloads(html: &str) -> BTreeSet<String> {
    html.split("<a href=\"")
        .skip(1)
        .filter_map(|link| {
            let (href, rest) = link.split_once('"')?;
            rest.starts_with(" download>Download</a>").then(|| href.to_owned())
        })
        .collect()
}

/// "1 application", "2 applications": the list's count.
fn counted(n: usize) -> String {
    format!("{n} application{}", if n == 1 { "" } else { "s" })
}

fn set(ids: &[&str]) -> BTreeSet<String> {
    ids.iter().map(|id| (*id).to_owned()).collect()
}

#[test]
fn every_surface_shows_each_viewer_exactly_the_applications_it_may_see() {
    let dir = tempfile::tempdir().expect("temp dir");
    for app in &APPS {
        let name = match app.1 {
            Some(attempt) => format!("{}_{attempt}", app.0),
            None => app.0.to_owned(),
        };
        std::fs::write(dir.path().join(name), log_of(app)).expect("write");
    }
    for (acls, spark_acls) in [(0, false), (1, true)] {
        let server = serve_apps(dir.path(), spark_acls);
        let addr = server.addr();
        for who in &VIEWERS {
            let sees = set(who.sees[acls]);
            let case = format!("{} (Spark's ACLs {})", who.name, if spark_acls { "on" } else { "off" });
            let get = |target: &str| get(addr, target, who.headers);

            // The list and its filters: counted and limited after the viewer's filter.
            assert_eq!(ids_listed(&get("/api/v1/applications")), sees, "{case}");
            assert_eq!(ids_listed(&get("/api/v1/applications?status=completed")), sees, "{case}");
            assert_eq!(ids_listed(&get("/api/v1/applications?status=running")), set(&[]), "{case}");
            assert_eq!(ids_listed(&get("/api/v1/applications?minDate=2015-01-01")), sees, "{case}");
            let one = ids_listed(&get("/api/v1/applications?limit=1"));
            assert_eq!(one.len(), sees.len().min(1), "{case}");
            assert!(one.is_subset(&sees), "{case}: {one:?}");

            // The list page: its rows, count, search, team choices and pages.
            let page = text(&get("/?size=100"));
            assert_eq!(ids_on_page(&page), sees, "{case}: {page}");
            assert!(page.contains(&format!("<p id=\"count\">{}</p>", counted(sees.len()))), "{case}: {page}");
            for team in ["team-a", "team-b"] {
                // Listed under the team by its label or by the property the cost reads.
                let labelled = APPS.iter().any(|app| {
                    sees.contains(app.0) && (app.3.contains(&(TEAM, team)) || app.3.contains(&(TEAM_PROPERTY, team)))
                });
                assert_eq!(page.contains(&format!("<option>{team}</option>")), labelled, "{case}: {team} {page}");
            }
            // Each row's event-log Download is Spark's `logs` of that application, served to this
            // viewer; the link of one it may not see answers 404, as an unknown application's.
            let links = downloads(&page);
            let want: BTreeSet<String> =
                sees.iter().map(|id| format!("/api/v1/applications/{}/logs", base(id))).collect();
            assert_eq!(links, want, "{case}: {page}");
            for id in ALL {
                let link = format!("/api/v1/applications/{}/logs", base(id));
                let answer = get(&link);
                if sees.contains(*id) {
                    assert_eq!(answer.status, 200, "{case}: {link}");
                    assert!(answer.body.starts_with(b"PK\x03\x04"), "{case}: {link} is not a zip");
                } else {
                    assert_eq!(answer.status, 404, "{case}: {link}: {}", text(&answer));
                }
            }
            let searched = text(&get("/?q=bravo"));
            let found: BTreeSet<String> = sees.iter().filter(|id| id.starts_with("bravo")).cloned().collect();
            assert_eq!(ids_on_page(&searched), found, "{case}: {searched}");
            assert!(searched.contains(&format!("<p id=\"count\">{}</p>", counted(found.len()))), "{case}");
            let second = text(&get("/?size=1&page=2"));
            assert!(second.contains(&format!(" of {}</span>", sees.len())), "{case}: {second}");
            assert_eq!(ids_on_page(&second).len(), usize::from(sees.len() >= 2), "{case}: {second}");

            // Each application's surfaces: answered when seen; otherwise exactly as an unknown id is.
            for id in ALL {
                let base = base(id);
                let unknown_base = base.replacen(id, UNKNOWN, 1);
                for (path, unknown_path) in surfaces(&base).into_iter().zip(surfaces(&unknown_base)) {
                    let answer = get(&path);
                    if sees.contains(*id) {
                        assert_eq!(answer.status, 200, "{case}: {path}: {}", text(&answer));
                        continue;
                    }
                    let unknown = get(&unknown_path);
                    assert_eq!(unknown.status, 404, "{case}: {unknown_path}");
                    let named = Answer {
                        body: text(&answer).replace(id, UNKNOWN).into_bytes(),
                        headers: answer.headers.clone(),
                        status: answer.status,
                    };
                    assert_eq!(named, unknown, "{case}: {path} is not answered as {unknown_path}");
                }
            }
            // `/metrics` counts the whole index for everyone, naming no application.
            let metrics = text(&get("/metrics"));
            assert!(metrics.contains("sparkplane_history_index_applications 5"), "{case}: {metrics}");
            assert!(ALL.iter().all(|id| !metrics.contains(id)), "{case}: {metrics}");
        }
        server.stop();
    }
}

#[test]
fn a_request_the_door_refuses_gets_the_doors_reply_untouched() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("alpha1"), log_of(&APPS[0])).expect("write");
    let server = serve_apps(dir.path(), false);
    let mut answers = BTreeMap::new();
    for path in ["/", "/api/v1/applications", "/api/v1/applications/alpha1/jobs", "/history/alpha1/jobs/", "/metrics"] {
        let answer = get(server.addr(), path, &[("x-groups", "platform")]);
        answers.insert(path, answer);
    }
    for (path, answer) in answers {
        assert_eq!(
            answer,
            Answer {
                status: 401,
                headers: vec![
                    ("content-type".to_owned(), "text/plain;charset=utf-8".to_owned()),
                    ("www-authenticate".to_owned(), "Bearer realm=\"test\"".to_owned())
                ],
                body: b"sign in first\n".to_vec(),
            },
            "{path}"
        );
    }
    assert_eq!(server.request_stats().requests.len(), 0, "a refused request reaches no surface");
    server.stop();
}
