//! Who reaches which job's link, `/jobs/<namespace>/<job>/…` (issue #65,
//! ADR 0096), behind the stand-in door of `access_matrix`: two running jobs
//! (team A's and team B's, each a stand-in driver UI that counts what
//! reaches it) and one ended job of team B (Spark's own event log, renamed).
//! A viewer who may see a running job reaches its driver; one who may not
//! gets, byte for byte, what a job that never ran answers, and nothing
//! reaches the driver; an ended job's link leads the viewers who may see it
//! to its History Server pages; the kill links are for those who may change
//! the application.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sparkplane_access::rules::TeamAccess;
use sparkplane_access::{AccessRules, SparkAcls};
use sparkplane_eventlog::LogSource;
use sparkplane_history::{Extras, Gate, HistoryServer, Index, KillLinks, LiveApp, LiveUi, serve_door};
use sparkplane_http::{HttpServer, Reply, Request};

/// A stand-in driver UI: answers `<name> <path>` and counts what reached it.
/// A driver UI named `name`: it says it runs application `<name>-app` (what the door asks it on its own,
/// not counted) and answers every other request with its name and path (counted in `reached`).
fn driver(name: &'static str, reached: Arc<Mutex<Vec<String>>>) -> HttpServer {
    sparkplane_http::serve("127.0.0.1:0".parse().expect("addr"), "test-driver", 2, move |request: &Request| {
        if request.path == "/api/v1/applications" && request.query.is_empty() {
            return Reply::text(200, "application/json", format!("[{{\"id\": \"{name}-app\", \"name\": \"etl\"}}]"));
        }
        reached.lock().expect("log").push(format!("{} {}", request.method_name(), request.path));
        Reply::text(200, "text/plain", format!("{name} {}", request.path))
    })
    .expect("serves")
}

fn rules() -> AccessRules {
    let team = |team: &str, namespace: &str, change: &str, view: &str| TeamAccess {
        team: team.to_owned(),
        namespace: namespace.to_owned(),
        change: BTreeSet::from([change.to_owned()]),
        view: BTreeSet::from([view.to_owned()]),
    };
    AccessRules {
        teams: vec![team("team-a", "ns-a", "a-dev", "a-view"), team("team-b", "ns-b", "b-dev", "b-view")],
        admin_groups: BTreeSet::from(["platform".to_owned()]),
        spark: SparkAcls::default(),
    }
}

/// Spark's log as team B's job `report` in `ns-b`, ended.
fn ended_log(dir: &Path) {
    let spark = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/spark-history/spark-events/local-1422981780767");
    let mut out = String::new();
    for line in std::fs::read_to_string(spark).expect("Spark's log").lines() {
        let mut event: serde_json::Value = serde_json::from_str(line).expect("a JSON event");
        match event["Event"].as_str() {
            Some("SparkListenerApplicationStart") => event["App Name"] = "report".into(),
            Some("SparkListenerEnvironmentUpdate") => {
                event["Spark Properties"]["spark.kubernetes.namespace"] = "ns-b".into();
                event["Spark Properties"]["spark.sparkplane.team"] = "team-b".into();
            }
            _ => {}
        }
        out.push_str(&event.to_string());
        out.push('\n');
    }
    std::fs::write(dir.join("local-1422981780767"), out).expect("log");
}

struct Door {
    server: HistoryServer,
    reached: [Arc<Mutex<Vec<String>>>; 2],
    _drivers: [HttpServer; 2],
    _logs: tempfile::TempDir,
}

fn door(kill: KillLinks) -> Door {
    door_with(kill, SparkAcls::default())
}

/// Team B's running `etl` grants view to `vic` and change to the group `ops` by Spark's ACLs,
/// which count when `spark` says they are honoured.
fn door_with(kill: KillLinks, spark: SparkAcls) -> Door {
    let logs = tempfile::tempdir().expect("logs");
    ended_log(logs.path());
    let reached = [Arc::new(Mutex::new(Vec::new())), Arc::new(Mutex::new(Vec::new()))];
    let drivers = [driver("driver-a", Arc::clone(&reached[0])), driver("driver-b", Arc::clone(&reached[1]))];
    let live = |namespace: &str, team: &str, ui: SocketAddr, acls: &[(&str, &str)]| LiveApp {
        namespace: namespace.to_owned(),
        job: "etl".to_owned(),
        team: Some(team.to_owned()),
        owner: None,
        acls: acls.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        ui: ui.to_string().parse().expect("authority"),
    };
    let b_acls = [("spark.ui.view.acls", "vic"), ("spark.modify.acls.groups", "ops")];
    let running =
        vec![live("ns-a", "team-a", drivers[0].addr(), &[]), live("ns-b", "team-b", drivers[1].addr(), &b_acls)];
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let source = Arc::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
        running.clone()
    });
    let live = LiveUi::start(source, kill).expect("live");
    assert!(calls.load(Ordering::SeqCst) >= 1, "the table is filled before the server starts");
    let index = Arc::new(Index::new(LogSource::Local(logs.path().to_path_buf()), 64 << 20));
    index.refresh().expect("the logs list");
    let gate = Gate { rules: AccessRules { spark, ..rules() }, admit: Arc::new(crate::access_matrix::door) };
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let server =
        serve_door(any, index, Duration::from_secs(3600), gate, Extras { live: Some(live), surfaces: Vec::new() })
            .expect("serves");
    Door { server, reached, _drivers: drivers, _logs: logs }
}

/// Status, `Location`, body; redirects not followed.
fn send(addr: SocketAddr, method: &str, target: &str, headers: &[(&str, &str)]) -> (u16, String, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).max_redirects(0).build().into();
    let url = format!("http://{addr}{target}");
    let mut answer = match method {
        "POST" => {
            let mut request = agent.post(&url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.send_empty()
        }
        _ => {
            let mut request = agent.get(&url);
            for (name, value) in headers {
                request = request.header(*name, *value);
            }
            request.call()
        }
    }
    .unwrap_or_else(|e| panic!("{target}: {e}"));
    let location = answer.headers().get("location").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
    (answer.status().as_u16(), location, answer.body_mut().read_to_string().unwrap_or_default())
}

/// A viewer, their door headers, and whether they see team A's running job, team B's, and team B's ended one.
type Viewer = (&'static str, &'static [(&'static str, &'static str)], bool, bool, bool);

/// What a job that never ran answers at `/jobs/<namespace>/<job>/jobs/`.
fn never_ran(namespace: &str, job: &str) -> (u16, String, String) {
    (404, String::new(), format!("no application of job {job} in namespace {namespace} is running or listed\n"))
}

#[test]
fn each_viewer_reaches_exactly_the_running_and_ended_jobs_it_may_see() {
    let door = door(KillLinks::Team);
    let addr = door.server.addr();
    let a = ("driver-a", "/jobs/ns-a/etl/stages/");
    let b = ("driver-b", "/jobs/ns-b/etl/stages/");
    let history = "/jobs/ns-b/report/stages/";
    let to_history = (302, "/history/local-1422981780767/stages/".to_owned(), String::new());
    let forwarded = |name: &str| (200, String::new(), format!("{name} /stages/"));
    let viewers: [Viewer; 6] = [
        ("a user of team A", &[("x-user", "amy"), ("x-groups", "a-dev")], true, false, false),
        ("a viewer of team A", &[("x-user", "ava"), ("x-groups", "a-view")], true, false, false),
        ("a user of teams A and B", &[("x-user", "abe"), ("x-groups", "a-dev,b-dev")], true, true, true),
        ("a platform admin", &[("x-user", "pat"), ("x-groups", "platform")], true, true, true),
        ("a person with no groups", &[("x-user", "vic")], false, false, false),
        ("the local user", &[("x-user", "local")], true, true, true),
    ];
    for (who, headers, sees_a, sees_b, sees_ended) in viewers {
        let before: Vec<usize> = door.reached.iter().map(|r| r.lock().expect("log").len()).collect();
        for ((name, path), sees) in [(a, sees_a), (b, sees_b)] {
            let namespace = path.split('/').nth(2).unwrap_or_default();
            let expected = if sees { forwarded(name) } else { never_ran(namespace, "etl") };
            assert_eq!(send(addr, "GET", path, headers), expected, "{who} at {path}");
        }
        let expected = if sees_ended { to_history.clone() } else { never_ran("ns-b", "report") };
        assert_eq!(send(addr, "GET", history, headers), expected, "{who} at {history}");
        // A hidden job's answer is a job that never ran's, byte for byte.
        assert_eq!(send(addr, "GET", "/jobs/ns-b/never/stages/", headers), never_ran("ns-b", "never"), "{who}");
        let after: Vec<usize> = door.reached.iter().map(|r| r.lock().expect("log").len()).collect();
        assert_eq!(after[0] - before[0], usize::from(sees_a), "{who}: requests that reached team A's driver");
        assert_eq!(after[1] - before[1], usize::from(sees_b), "{who}: requests that reached team B's driver");
    }
    // Without a sign-in, the door's own answer; nothing forwarded.
    let before = door.reached[0].lock().expect("log").len();
    assert_eq!(send(addr, "GET", a.1, &[]).0, 401);
    assert_eq!(door.reached[0].lock().expect("log").len(), before);
}

#[test]
fn the_kill_links_are_for_those_who_may_change_the_application() {
    let door = door(KillLinks::Team);
    let addr = door.server.addr();
    let kill = "/jobs/ns-a/etl/jobs/job/kill/?id=3";
    let refused = (
        403,
        String::new(),
        "you may view this application; stopping its jobs and stages is for its team\n".to_owned(),
    );
    assert_eq!(send(addr, "POST", kill, &[("x-user", "ava"), ("x-groups", "a-view")]), refused);
    assert!(door.reached[0].lock().expect("log").is_empty(), "a refused kill reached the driver");
    for (who, headers) in [
        ("a user of team A", &[("x-user", "amy"), ("x-groups", "a-dev")][..]),
        ("a platform admin", &[("x-user", "pat"), ("x-groups", "platform")][..]),
    ] {
        let answer = send(addr, "POST", kill, headers);
        assert_eq!(answer, (200, String::new(), "driver-a /jobs/job/kill/".to_owned()), "{who}");
    }
    // Another team's kill link is a job that never ran.
    let other =
        send(addr, "POST", "/jobs/ns-b/etl/stages/stage/kill/?id=1", &[("x-user", "amy"), ("x-groups", "a-dev")]);
    assert_eq!(other, never_ran("ns-b", "etl"));
    assert_eq!(*door.reached[0].lock().expect("log"), ["POST /jobs/job/kill/", "POST /jobs/job/kill/"]);
    assert!(door.reached[1].lock().expect("log").is_empty());

    let off = self::door(KillLinks::Off);
    let answer = send(off.server.addr(), "POST", kill, &[("x-user", "pat"), ("x-groups", "platform")]);
    assert_eq!(answer.0, 403, "{answer:?}");
    assert!(off.reached[0].lock().expect("log").is_empty());
}

#[test]
fn sparks_own_acls_of_a_running_application_count_at_its_live_ui_when_honoured() {
    let vic = [("x-user", "vic")];
    let ops = [("x-user", "oz"), ("x-groups", "ops")];
    let view = "/jobs/ns-b/etl/stages/";
    let kill = "/jobs/ns-b/etl/stages/stage/kill/?id=1";
    // Not honoured: the ACLs name people outside the team, who get what a job that never ran gets.
    let off = door(KillLinks::Team);
    assert_eq!(send(off.server.addr(), "GET", view, &vic), never_ran("ns-b", "etl"));
    assert_eq!(send(off.server.addr(), "POST", kill, &ops), never_ran("ns-b", "etl"));
    assert!(off.reached[1].lock().expect("log").is_empty());

    let on = door_with(KillLinks::Team, SparkAcls { enabled: true, ..SparkAcls::default() });
    let addr = on.server.addr();
    // spark.ui.view.acls: vic views it, and may not stop its stages.
    assert_eq!(send(addr, "GET", view, &vic), (200, String::new(), "driver-b /stages/".to_owned()));
    assert_eq!(send(addr, "POST", kill, &vic).0, 403);
    // spark.modify.acls.groups: ops may stop them.
    assert_eq!(send(addr, "POST", kill, &ops), (200, String::new(), "driver-b /stages/stage/kill/".to_owned()));
    // Team A's job names no one: vic still does not see it.
    assert_eq!(send(addr, "GET", "/jobs/ns-a/etl/stages/", &vic), never_ran("ns-a", "etl"));
    assert_eq!(*on.reached[1].lock().expect("log"), ["GET /stages/", "POST /stages/stage/kill/"]);
    assert!(on.reached[0].lock().expect("log").is_empty());
}

#[test]
fn a_running_applications_history_urls_are_its_live_ui_for_who_may_see_it() {
    let door = door(KillLinks::Team);
    let addr = door.server.addr();
    let amy = [("x-user", "amy"), ("x-groups", "a-dev")];
    // The door asked each driver its application's id: its History Server URLs are the live UI, attempt or not.
    let forwarded = (200, String::new(), "driver-a /stages/".to_owned());
    assert_eq!(send(addr, "GET", "/history/driver-a-app/stages/", &amy), forwarded);
    assert_eq!(send(addr, "GET", "/history/driver-a-app/1/stages/", &amy), forwarded);
    assert_eq!(send(addr, "GET", "/history/driver-a-app/stages/?id=3", &amy).2, "driver-a /stages/");
    // Another team's running application is the History Server's unknown one; nothing reaches its driver.
    let hidden = send(addr, "GET", "/history/driver-b-app/stages/", &amy);
    let unknown = send(addr, "GET", "/history/no-such-app/stages/", &amy);
    assert_eq!((hidden.0, hidden.2.replace("driver-b-app", "no-such-app")), (404, unknown.2));
    // A climb under the prefix is not forwarded; a kill link needs change access as at the job's link.
    let climbed = send(addr, "GET", "/history/driver-a-app/..%2f..%2fapi/v1/applications", &amy);
    assert_ne!(climbed.2.split_whitespace().next(), Some("driver-a"), "{climbed:?}");
    let ava = [("x-user", "ava"), ("x-groups", "a-view")];
    assert_eq!(send(addr, "POST", "/history/driver-a-app/jobs/job/kill/?id=1", &ava).0, 403);
    assert_eq!(send(addr, "GET", "/history/driver-a-app/stages/", &[]).0, 401, "no sign-in, no forward");
    assert_eq!(*door.reached[0].lock().expect("log"), ["GET /stages/", "GET /stages/", "GET /stages/"]);
    assert!(door.reached[1].lock().expect("log").is_empty());
}

#[test]
fn a_path_that_climbs_or_names_no_kubernetes_object_is_never_forwarded() {
    let door = door(KillLinks::Team);
    let addr = door.server.addr();
    let local = [("x-user", "local")];
    for climbing in
        ["/jobs/ns-a/etl/../../../etc/passwd", "/jobs/ns-a/etl/%2e%2e/x", "/jobs/ns-a/etl/a%2Fb", "/jobs/ns-a/etl/a\\b"]
    {
        let (status, _, body) = send(addr, "GET", climbing, &local);
        assert_eq!(status, 400, "{climbing}: {body}");
    }
    // Not a job's link at all: the History Server's own 404.
    for other in ["/jobs/NS-A/etl/jobs/", "/jobs/ns-a", "/jobs/ns_a/etl/"] {
        let (status, _, body) = send(addr, "GET", other, &local);
        assert_eq!((status, body), (404, format!("not found: {other}\n")), "{other}");
    }
    assert!(door.reached.iter().all(|r| r.lock().expect("log").is_empty()), "something reached a driver");
}

/// A surface that says who asked and what.
struct Echo;

impl sparkplane_history::Surface for Echo {
    fn prefix(&self) -> &str {
        "/console"
    }

    fn answer(&self, viewer: &sparkplane_access::Viewer, rules: &AccessRules, request: &Request) -> Reply {
        let who = match viewer {
            sparkplane_access::Viewer::Local => "local".to_owned(),
            sparkplane_access::Viewer::Person(person) => person.user.clone(),
        };
        Reply::text(200, "text/plain", format!("{who} {} {} teams", request.path, rules.teams.len()))
    }
}

#[test]
fn a_mounted_surface_answers_under_its_prefix_behind_the_same_door() {
    let logs = tempfile::tempdir().expect("logs");
    let index = Arc::new(Index::new(LogSource::Local(logs.path().to_path_buf()), 1 << 20));
    let gate = Gate { rules: rules(), admit: Arc::new(crate::access_matrix::door) };
    let extras = Extras { live: None, surfaces: vec![Arc::new(Echo)] };
    let any: SocketAddr = "127.0.0.1:0".parse().expect("addr");
    let server = serve_door(any, index, Duration::from_secs(3600), gate, extras).expect("serves");
    let amy = [("x-user", "amy"), ("x-groups", "a-dev")];
    for path in ["/console", "/console/jobs/ns-a"] {
        assert_eq!(send(server.addr(), "GET", path, &amy), (200, String::new(), format!("amy {path} 2 teams")));
    }
    // Signed-out: the door's answer, not the surface's.
    assert_eq!(send(server.addr(), "GET", "/console", &[]).0, 401);
    // Only its prefix: a longer name is not under it.
    assert_eq!(
        send(server.addr(), "GET", "/consoles", &amy),
        (404, String::new(), "not found: /consoles\n".to_owned())
    );
}
