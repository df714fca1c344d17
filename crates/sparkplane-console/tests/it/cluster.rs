//! The console over the simulated cluster: the gather lists SparkJobs of
//! every namespace and the ResourceQuotas, the live source yields exactly
//! the running jobs at their driver Service, each viewer's page shows only
//! their team's rows (another team's job 404s as an unknown one does), and a
//! failed read keeps the last good snapshot, marked stale.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sparkplane_access::rules::TeamAccess;
use sparkplane_access::{AccessRules, Identity, Viewer};
use sparkplane_console::ClusterConsole;
use sparkplane_fakekube::FakeApiServer;
use sparkplane_http::{Method, Reply, Request};
use sparkplane_kube::Settings;

fn settings(url: &str) -> Settings {
    let config = kube::Config::new(url.parse().expect("url"));
    Settings { config, namespace: "default".into(), namespace_explicit: false }
}

fn sparkjob(namespace: &str, name: &str, team: &str, status: Value) -> Value {
    json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "SparkJob",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"team": team},
        "status": status,
    })
}

fn cluster() -> FakeApiServer {
    let fake = FakeApiServer::start().expect("the fake API server starts");
    for object in [
        sparkjob("team-a", "etl", "a", json!({"state": "Running", "attempt": 1, "driverPod": "etl-0a1b2c3d-driver"})),
        sparkjob(
            "team-a",
            "later",
            "a",
            json!({"state": "Queued", "reason": "QuotaWait", "message": "queued behind 1 other application(s) of this namespace; next is etl"}),
        ),
        sparkjob(
            "team-b",
            "report",
            "b",
            json!({"state": "Running", "attempt": 3, "driverPod": "report-99aa88bb-driver"}),
        ),
        sparkjob("team-b", "done", "b", json!({"state": "Succeeded"})),
        json!({
            "apiVersion": "v1", "kind": "ResourceQuota",
            "metadata": {"name": "compute", "namespace": "team-a"},
            "spec": {"hard": {"requests.cpu": "8"}},
            "status": {"hard": {"requests.cpu": "8"}, "used": {"requests.cpu": "3"}},
        }),
    ] {
        assert!(fake.insert(object.clone()).is_some(), "stored: {object}");
    }
    fake
}

fn rules() -> AccessRules {
    let set = |g: &str| BTreeSet::from([g.to_owned()]);
    AccessRules {
        teams: vec![
            TeamAccess { team: "a".into(), namespace: "team-a".into(), change: set("a-dev"), view: BTreeSet::new() },
            TeamAccess { team: "b".into(), namespace: "team-b".into(), change: set("b-dev"), view: BTreeSet::new() },
        ],
        ..AccessRules::default()
    }
}

fn page(console: &ClusterConsole, viewer: &Viewer, path: &str) -> (u16, String) {
    let (path, query) = path.split_once('?').unwrap_or((path, ""));
    let mut request = Request::new(Method::Get, path);
    request.query = query.to_owned();
    let Reply { status, body, .. } = console.surface().answer(viewer, &rules(), &request);
    match body {
        sparkplane_http::Body::Bytes(bytes) => (status, String::from_utf8(bytes).expect("utf-8")),
        _ => panic!("a page is bytes"),
    }
}

#[test]
fn the_live_source_is_the_running_jobs_at_their_driver_services() {
    let fake = cluster();
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let live: Vec<(String, String, Option<String>, String)> =
        (console.live_source())().into_iter().map(|a| (a.namespace, a.job, a.team, a.ui.to_string())).collect();
    assert_eq!(
        live,
        [
            ("team-a".into(), "etl".into(), Some("a".into()), "etl-0a1b2c3d-driver-svc.team-a.svc:4040".into()),
            ("team-b".into(), "report".into(), Some("b".into()), "report-99aa88bb-driver-svc.team-b.svc:4040".into()),
        ]
    );
}

#[test]
fn each_team_sees_its_own_rows_and_another_teams_job_is_not_found() {
    let fake = cluster();
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let (a, b) = (Viewer::Person(Identity::new("ann", ["a-dev"])), Viewer::Person(Identity::new("bob", ["b-dev"])));

    let (status, list) = page(&console, &a, "/console");
    assert_eq!(status, 200, "{list}");
    assert!(list.contains("href=\"/jobs/team-a/etl/\""), "{list}");
    assert!(list.contains("queue: queued behind 1 other application(s) of this namespace; next is etl"), "{list}");
    assert!(list.contains("sparkplane logs etl -n team-a"), "{list}");
    assert!(list.contains("<td class=\"num\">3</td><td class=\"num\">8</td>"), "team-a's quota use: {list}");
    assert!(!list.contains("report"), "{list}");

    let (status, list) = page(&console, &b, "/console");
    assert_eq!(status, 200);
    assert!(list.contains("href=\"/jobs/team-b/report/\""), "{list}");
    assert!(!list.contains("team-a"), "nothing of team a, not even its quota: {list}");

    let (status, detail) = page(&console, &a, "/console/jobs/team-a/etl");
    assert_eq!(status, 200);
    assert!(detail.contains("href=\"/jobs/team-a/etl/\""), "{detail}");
    let hidden = page(&console, &b, "/console/jobs/team-a/etl");
    let unknown = page(&console, &b, "/console/jobs/team-a/never-was");
    assert_eq!(hidden.0, 404);
    assert_eq!(hidden, unknown, "a hidden job answers the very bytes of an unknown one");

    // The team filter.
    let (_, filtered) = page(&console, &Viewer::Local, "/console?team=b");
    assert!(filtered.contains("/jobs/team-b/report/") && !filtered.contains("/jobs/team-a/etl/"), "{filtered}");
}

#[test]
fn a_failed_read_keeps_the_last_good_snapshot_marked_stale() {
    let fake = cluster();
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    assert_eq!(console.snapshot().jobs.len(), 4);
    assert!(console.snapshot().stale.is_none());
    drop(fake);
    let deadline = Instant::now() + Duration::from_secs(30);
    while console.snapshot().stale.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let snapshot = console.snapshot();
    assert!(snapshot.stale.is_some(), "the failed read is said");
    assert_eq!(snapshot.jobs.len(), 4, "the last good jobs stay");
    assert_eq!((console.live_source())().len(), 2, "and so do their live UIs");
    let (status, list) = page(&console, &Viewer::Local, "/console");
    assert_eq!(status, 200);
    assert!(list.contains("id=\"stale\""), "{list}");
}

#[test]
fn an_api_server_that_holds_the_reads_open_is_a_failed_read_until_it_answers() {
    let fake = cluster();
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    fake.pause();
    let deadline = Instant::now() + Duration::from_secs(30);
    while console.snapshot().stale.is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    let stale = console.snapshot().stale.clone().unwrap_or_default();
    assert!(stale.contains("no answer within 5s"), "{stale}");
    assert_eq!(console.snapshot().jobs.len(), 4, "the last good jobs stay");
    fake.resume();
    let deadline = Instant::now() + Duration::from_secs(30);
    while console.snapshot().stale.is_some() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(console.snapshot().stale.is_none(), "read again once it answers");
}
