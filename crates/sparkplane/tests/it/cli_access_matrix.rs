//! Who sees what through `sparkplane history serve`, end to end (issue #65):
//! the tests' own real Spark 3.5 event logs (the four parity applications,
//! `sparkplane_testkit::spark_logs`) laid out in three team folders, the
//! Tenants of teams a, b and c, the trusted-proxy sign-in, the console over
//! the simulated cluster with a running SparkJob of each team, and a
//! running job of each team whose live UI is a stand-in driver. For a
//! person of team a, one of teams a and b, a platform admin and a person in
//! no group, every surface — the list, the list page with its search and
//! counts, each REST resource, the `logs` export, each page kind, the
//! report, the console and the live UI's link — shows exactly the
//! applications and jobs of their teams, and a hidden one answers byte for
//! byte what an unknown one does. Headers forged from an address that is
//! not the proxy get nothing.
//!
//! Needs the managed Spark 3.5 runtime (scripts/test.sh installs it); the
//! logs are written once per test run and shared.

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::json;
use sparkplane_fakekube::FakeApiServer;
use sparkplane_http::{HttpServer, Reply, Request};

const TEAMS: [&str; 3] = ["a", "b", "c"];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

/// An application id from its log's name, as Spark names logs (`<id>`,
/// `<id>.lz4`, `<id>.inprogress`, `eventlog_v2_<id>`).
fn app_id(log: &str) -> String {
    let name = log.strip_prefix("eventlog_v2_").unwrap_or(log);
    name.split('.').next().unwrap_or(name).to_owned()
}

/// The parity logs split over the team folders: a gets two, b and c one each. Returns each team's ids.
fn lay_out(root: &Path) -> [Vec<String>; 3] {
    let shared = sparkplane_testkit::spark_logs::parity_logs("3.5").unwrap_or_else(|e| panic!("{e}"));
    let mut logs: Vec<String> = std::fs::read_dir(&shared)
        .expect("the parity logs")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    logs.sort();
    assert_eq!(logs.len(), sparkplane_testkit::spark_logs::PARITY_LOGS, "{logs:?}");
    let mut ids: [Vec<String>; 3] = Default::default();
    for (i, log) in logs.iter().enumerate() {
        let team = [0, 0, 1, 2][i];
        let folder = root.join(TEAMS[team]);
        std::fs::create_dir_all(&folder).expect("team folder");
        copy(&shared.join(log), &folder.join(log));
        ids[team].push(app_id(log));
    }
    ids
}

fn copy(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).expect("dir");
        for entry in std::fs::read_dir(from).expect("dir").flatten() {
            copy(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).expect("copy");
    }
}

/// A stand-in driver UI per team: answers `driver-<team> <path>`, and counts what reached it.
fn drivers() -> (Vec<HttpServer>, Arc<Mutex<Vec<String>>>) {
    let reached = Arc::new(Mutex::new(Vec::new()));
    let servers = TEAMS
        .iter()
        .map(|team| {
            let (team, reached) = (*team, Arc::clone(&reached));
            sparkplane_http::serve("127.0.0.1:0".parse().expect("addr"), "test-driver", 2, move |r: &Request| {
                reached.lock().expect("log").push(format!("{team} {}", r.path));
                Reply::text(200, "text/plain", format!("driver-{team} {}", r.path))
            })
            .expect("a stand-in driver")
        })
        .collect();
    (servers, reached)
}

struct Viewer {
    name: &'static str,
    user: &'static str,
    groups: &'static str,
    teams: &'static [usize],
}

const VIEWERS: [Viewer; 4] = [
    Viewer { name: "a person of team a", user: "ann", groups: "a-dev", teams: &[0] },
    Viewer { name: "a person of teams a and b", user: "abe", groups: "a-dev,b-dev", teams: &[0, 1] },
    Viewer { name: "a platform admin", user: "pat", groups: "platform", teams: &[0, 1, 2] },
    Viewer { name: "a person in no group", user: "vic", groups: "", teams: &[] },
];

fn get(port: u16, path: &str, viewer: &Viewer) -> (u16, Vec<u8>) {
    let agent: ureq::Agent =
        sparkplane_http::agent_config(Some(Duration::from_secs(60))).max_redirects(0).build().into();
    let mut request = agent.get(&format!("http://127.0.0.1:{port}{path}"));
    if !viewer.user.is_empty() {
        request = request.header("X-Forwarded-User", viewer.user).header("X-Forwarded-Groups", viewer.groups);
    }
    let mut answer = request.call().unwrap_or_else(|e| panic!("{path}: {e}"));
    (answer.status().as_u16(), answer.body_mut().with_config().limit(256 << 20).read_to_vec().unwrap_or_default())
}

/// Every per-application surface of `id`.
fn surfaces(id: &str) -> Vec<String> {
    // `/sql` is not served yet (issue #66).
    let api = ["", "/jobs", "/stages", "/executors", "/allexecutors", "/environment", "/storage/rdd", "/logs"]
        .map(|rest| format!("/api/v1/applications/{id}{rest}"));
    let pages = ["jobs/", "stages/", "executors/", "environment/", "storage/", "SQL/"]
        .map(|page| format!("/history/{id}/{page}"));
    api.into_iter().chain(pages).chain([format!("/report/{id}")]).collect()
}

#[test]
fn every_surface_shows_each_person_exactly_their_teams_applications_and_jobs() {
    let dir = tempfile::tempdir().expect("temp dir");
    let logs = dir.path().join("logs");
    let ids = lay_out(&logs);
    // Tenants: team t's editors are the group t-dev, in namespace team-t.
    crate::cli_console::write_tenants(&dir.path().join("tenants"), &TEAMS);
    // The cluster: a running SparkJob of each team.
    let fake = FakeApiServer::start().expect("the fake API server starts");
    std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("default")).expect("kubeconfig");
    for team in TEAMS {
        let job = json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": format!("cluster-{team}"), "namespace": format!("team-{team}")},
            "spec": {"team": team},
            "status": {"state": "Running", "attempt": 1, "driverPod": format!("cluster-{team}-0a1b2c3d-driver")},
        });
        assert!(fake.insert(job).is_some());
    }
    // This machine: a running local job of each team, its UI a stand-in driver.
    let (drivers, reached) = drivers();
    let home = dir.path().join("home");
    std::fs::create_dir_all(home.join("live")).expect("live");
    for (team, driver) in TEAMS.iter().zip(&drivers) {
        let marker = json!({"runId": format!("local-{team}"), "job": "etl", "namespace": format!("team-{team}"),
            "team": team, "ui": driver.addr().to_string(), "pid": std::process::id()});
        std::fs::write(home.join(format!("live/local-{team}.json")), marker.to_string()).expect("marker");
    }
    let port = free_port();
    let serve = |trusted: &str, port: u16| {
        let args = [OsStr::new("--live-runs"), home.as_os_str(), OsStr::new("--trusted-proxy"), OsStr::new(trusted)];
        let admins = [OsStr::new("--admin-group"), OsStr::new("platform")];
        crate::cli_console::serve_cluster(dir.path(), port, &logs, &[&args[..], &admins[..]].concat())
    };
    let _server = serve("127.0.0.1", port);
    let all: Vec<&String> = ids.iter().flatten().collect();
    let unknown = "app-20000101000000-0999";

    for viewer in &VIEWERS {
        let who = viewer.name;
        let sees: BTreeSet<&String> = viewer.teams.iter().flat_map(|t| &ids[*t]).collect();
        // The list.
        let (status, body) = get(port, "/api/v1/applications", viewer);
        assert_eq!(status, 200, "{who}");
        let listed: serde_json::Value = serde_json::from_slice(&body).expect("JSON");
        let listed: BTreeSet<String> =
            listed.as_array().into_iter().flatten().filter_map(|a| a["id"].as_str().map(str::to_owned)).collect();
        assert_eq!(listed, sees.iter().map(|s| (*s).clone()).collect::<BTreeSet<_>>(), "{who}: the list");
        // The list page, its count, and its search.
        let (_, page) = get(port, "/", viewer);
        let page = String::from_utf8_lossy(&page).into_owned();
        let n = sees.len();
        let count = format!("<span>{}–{n} of {n}</span>", usize::from(n > 0));
        assert!(page.contains(&count), "{who}: {count} on the list page");
        for id in &all {
            assert_eq!(page.contains(id.as_str()), sees.contains(id), "{who}: {id} on the list page");
            let (_, found) = get(port, &format!("/?q={id}"), viewer);
            let found = String::from_utf8_lossy(&found).into_owned();
            // The search box says what was asked; a row is the id as a link's text.
            assert_eq!(found.contains(&format!(">{id}</a>")), sees.contains(id), "{who}: a search for {id}");
            let one = format!(
                "<span>{}–{} of {}</span>",
                usize::from(sees.contains(id)),
                usize::from(sees.contains(id)),
                usize::from(sees.contains(id))
            );
            assert!(found.contains(&one), "{who}: the search for {id} counts {one}");
        }
        // Every per-application surface: the visible ones answer, the hidden ones as an unknown one.
        for id in &all {
            for (surface, unknown_surface) in surfaces(id).iter().zip(surfaces(unknown)) {
                let (status, body) = get(port, surface, viewer);
                if sees.contains(id) {
                    assert_eq!(status, 200, "{who}: {surface}");
                } else {
                    let (unknown_status, unknown_body) = get(port, &unknown_surface, viewer);
                    let hidden = String::from_utf8_lossy(&body).replace(id.as_str(), unknown);
                    assert_eq!(
                        (status, hidden),
                        (unknown_status, String::from_utf8_lossy(&unknown_body).into_owned()),
                        "{who}: {surface}"
                    );
                    assert_eq!(status, 404, "{who}: {surface}");
                }
            }
        }
        // The console: the running SparkJobs of their teams only.
        let (status, console) = get(port, "/console", viewer);
        assert_eq!(status, 200, "{who}");
        let console = String::from_utf8_lossy(&console).into_owned();
        for (t, team) in TEAMS.iter().enumerate() {
            let link = format!("href=\"/jobs/team-{team}/cluster-{team}/\"");
            assert_eq!(console.contains(&link), viewer.teams.contains(&t), "{who}: team {team}'s job on the console");
            let (status, _) = get(port, &format!("/console/jobs/team-{team}/cluster-{team}"), viewer);
            assert_eq!(status, if viewer.teams.contains(&t) { 200 } else { 404 }, "{who}: team {team}'s job page");
        }
        // The live UI's link: forwarded to their teams' drivers only; another's is a job that never ran.
        for (t, team) in TEAMS.iter().enumerate() {
            let before = reached.lock().expect("log").len();
            let (status, body) = get(port, &format!("/jobs/team-{team}/etl/stages/"), viewer);
            let body = String::from_utf8_lossy(&body).into_owned();
            if viewer.teams.contains(&t) {
                assert_eq!(
                    (status, body.as_str()),
                    (200, format!("driver-{team} /stages/").as_str()),
                    "{who}: team {team}"
                );
                assert_eq!(reached.lock().expect("log").len(), before + 1);
            } else {
                let never = format!("no application of job etl in namespace team-{team} is running or listed\n");
                assert_eq!((status, body), (404, never), "{who}: team {team}'s live UI");
                assert_eq!(reached.lock().expect("log").len(), before, "{who}: nothing reached team {team}'s driver");
            }
        }
    }

    // Headers forged from an address that is not the trusted proxy: nothing is served, nothing forwarded.
    let forged_port = free_port();
    let _forged = serve("10.255.255.1", forged_port);
    let before = reached.lock().expect("log").len();
    for path in [
        "/api/v1/applications",
        "/",
        "/console",
        "/jobs/team-a/etl/stages/",
        &format!("/api/v1/applications/{}/logs", ids[0][0]),
    ] {
        let (status, body) = get(forged_port, path, &VIEWERS[2]);
        assert_eq!(status, 401, "forged admin headers at {path}: {}", String::from_utf8_lossy(&body));
        for id in &all {
            assert!(!String::from_utf8_lossy(&body).contains(id.as_str()), "{path} named {id}");
        }
    }
    assert_eq!(reached.lock().expect("log").len(), before, "a forged request reached a driver");
    drop(drivers);
}
