//! The console over the simulated cluster: the gather lists SparkJobs of
//! every namespace and the ResourceQuotas, the live source yields exactly
//! the running jobs at their driver Service, each viewer's page shows only
//! their team's rows (another team's job 404s as an unknown one does), and a
//! failed read keeps the last good snapshot, marked stale. A job's driver
//! log page reads its driver pod's log (or its archive, or says why there is
//! none) for who may see the job, answers another team's person the very
//! 404 of an unknown job without asking the cluster, refuses paths that are
//! not a job's, shows only the log's end, and says when the cluster does not
//! answer or too many logs are read at once.

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
        admin_groups: set("platform-admins"),
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

/// The answer to `path` for `viewer`: its status, content type and body.
fn answer(console: &ClusterConsole, viewer: &Viewer, path: &str) -> (u16, String, String) {
    let Reply { status, content_type, body, .. } =
        console.surface().answer(viewer, &rules(), &Request::new(Method::Get, path));
    match body {
        sparkplane_http::Body::Bytes(bytes) => (status, content_type, String::from_utf8(bytes).expect("utf-8")),
        _ => panic!("a page is bytes"),
    }
}

/// The requests for a pod's log the fake API server got.
fn log_requests(fake: &FakeApiServer) -> Vec<String> {
    fake.requests().into_iter().filter(|r| r.path.ends_with("/log")).map(|r| r.path).collect()
}

const ETL_DRIVER: &str = "etl-0a1b2c3d-driver";
/// A line the driver's log layout writes (`sparkplane_core::render::logging`), and lines of no layout.
const ETL_LOG: &str = "{\"time\":\"2026-11-28T12:00:00.000Z\",\"level\":\"INFO\",\"logger\":\"o.a.s.SparkContext\",\
                       \"message\":\"Running Spark version 4.0.1\"}\n\
                       plain line <b>with</b> markup & more\n\
                       the last line\n";

fn pod(namespace: &str, name: &str) -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": namespace, "labels": {"spark-role": "driver"}},
        "spec": {"containers": [{"name": "spark-kubernetes-driver", "image": "spark"}]},
    })
}

/// The cluster of [`cluster`], with etl's driver pod and its log, and jobs
/// whose driver pod is gone: one with an archive in `archives`, one with
/// none, one whose archive is gone, one whose store cannot be read, and one
/// whose status names a file that is not an archive.
fn cluster_with_logs(archives: &std::path::Path) -> FakeApiServer {
    let fake = cluster();
    let archive = archives.join("team-a/archived/archived-1-driver.log");
    std::fs::create_dir_all(archive.parent().expect("a folder")).expect("folder");
    std::fs::write(&archive, "archived line one\narchived line two\n").expect("archive");
    let secret = archives.join("client-secret");
    std::fs::write(&secret, "s3cr3t-not-a-log\n").expect("secret");
    for object in [
        pod("team-a", ETL_DRIVER),
        sparkjob(
            "team-a",
            "archived",
            "a",
            json!({"state": "Succeeded", "driverPod": "archived-1-driver", "logArchive": archive.display().to_string()}),
        ),
        sparkjob("team-b", "gone", "b", json!({"state": "Failed", "attempt": 2, "driverPod": "gone-5e6f7a8b-driver"})),
        // In the layout, but the store has nothing there (any more), or cannot be read at all.
        sparkjob(
            "team-a",
            "expired",
            "a",
            json!({"state": "Succeeded", "driverPod": "expired-1-driver",
                   "logArchive": archives.join("team-a/expired/expired-1-driver.log").display().to_string()}),
        ),
        sparkjob(
            "team-a",
            "unreadable",
            "a",
            json!({"state": "Succeeded", "driverPod": "unreadable-1-driver",
                   "logArchive": "ftp://logs/team-a/unreadable/unreadable-1-driver.log"}),
        ),
        sparkjob(
            "team-a",
            "elsewhere",
            "a",
            json!({"state": "Succeeded", "driverPod": "elsewhere-1-driver", "logArchive": secret.display().to_string()}),
        ),
    ] {
        assert!(fake.insert(object.clone()).is_some(), "stored: {object}");
    }
    fake.set_pod_log("team-a", ETL_DRIVER, ETL_LOG);
    fake
}

#[test]
fn a_team_member_reads_their_jobs_driver_log_and_another_team_gets_the_404_of_an_unknown_job() {
    let dir = tempfile::tempdir().expect("dir");
    let fake = cluster_with_logs(dir.path());
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let (ann, bob) = (Viewer::Person(Identity::new("ann", ["a-dev"])), Viewer::Person(Identity::new("bob", ["b-dev"])));

    // The list and the job's page link the log's page, beside the command.
    let link = "href=\"/console/jobs/team-a/etl/log\"";
    let (_, list) = page(&console, &ann, "/console");
    assert!(list.contains(link) && list.contains("sparkplane logs etl -n team-a"), "{list}");
    let (_, detail) = page(&console, &ann, "/console/jobs/team-a/etl");
    assert!(detail.contains(link), "{detail}");

    // Its lines, as text: the layout's line read back, markup escaped.
    let (status, content_type, log) = answer(&console, &ann, "/console/jobs/team-a/etl/log");
    assert_eq!((status, content_type.as_str()), (200, "text/html;charset=utf-8"), "{log}");
    assert!(log.contains("2026-11-28T12:00:00.000Z INFO  o.a.s.SparkContext: Running Spark version 4.0.1\n"), "{log}");
    assert!(log.contains("plain line &lt;b&gt;with&lt;/b&gt; markup &amp; more\nthe last line\n</pre>"), "{log}");
    assert!(log.contains(&format!("From the driver pod {ETL_DRIVER}, read now.")), "{log}");
    assert!(!log.contains("<b>with"), "{log}");
    // As written, in plain text.
    let (status, content_type, raw) = answer(&console, &ann, "/console/jobs/team-a/etl/log?raw=1");
    assert_eq!((status, content_type.as_str(), raw.as_str()), (200, "text/plain;charset=utf-8", ETL_LOG));
    // An admin reads any team's.
    let admin = Viewer::Person(Identity::new("pat", ["platform-admins"]));
    assert_eq!(answer(&console, &admin, "/console/jobs/team-a/etl/log?raw=1").2, ETL_LOG);

    // Another team's person: the very bytes of an unknown job, and the cluster is not asked.
    fake.clear_requests();
    for suffix in ["", "?raw=1", "/"] {
        let hidden = answer(&console, &bob, &format!("/console/jobs/team-a/etl/log{suffix}"));
        let unknown_log = answer(&console, &bob, &format!("/console/jobs/team-a/never-was/log{suffix}"));
        let unknown_job = answer(&console, &bob, "/console/jobs/team-a/never-was");
        assert_eq!(hidden.0, 404, "{}", hidden.2);
        assert_eq!(hidden, unknown_log, "a hidden job's log answers what an unknown job's does");
        assert_eq!(hidden, unknown_job, "and what an unknown job's page does");
        assert!(!hidden.2.contains("etl-0a1b2c3d") && !hidden.2.contains("Running Spark"), "{}", hidden.2);
    }
    for nobody in [Viewer::Person(Identity::new("nemo", Vec::<String>::new())), bob] {
        assert_eq!(answer(&console, &nobody, "/console/jobs/team-a/etl/log").0, 404);
    }
    assert_eq!(log_requests(&fake), Vec::<String>::new(), "no log was read for who may not see it");
}

#[test]
fn a_job_whose_driver_pod_is_gone_reads_its_archive_or_says_why_there_is_no_log() {
    let dir = tempfile::tempdir().expect("dir");
    let fake = cluster_with_logs(dir.path());
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let (ann, bob) = (Viewer::Person(Identity::new("ann", ["a-dev"])), Viewer::Person(Identity::new("bob", ["b-dev"])));

    // Gone, not archived: the reason `sparkplane logs` gives, as a 404 of its own.
    let (status, _, page) = answer(&console, &bob, "/console/jobs/team-b/gone/log");
    assert_eq!(status, 404, "{page}");
    assert!(
        page.contains(
            "<p id=\"why\">the driver pod gone-5e6f7a8b-driver of SparkJob team-b/gone is gone and its log was not \
             archived</p>"
        ),
        "{page}"
    );
    assert!(page.contains("run the operator with --log-store"), "{page}");
    let (_, _, raw) = answer(&console, &bob, "/console/jobs/team-b/gone/log?raw=1");
    assert!(raw.starts_with("the driver pod gone-5e6f7a8b-driver of SparkJob team-b/gone is gone"), "{raw}");
    // No driver pod ever: the state says why.
    let (status, _, page) = answer(&console, &bob, "/console/jobs/team-b/done/log");
    assert_eq!(status, 404);
    assert!(page.contains("SparkJob team-b/done has no driver pod (state Succeeded)"), "{page}");

    // Archived: the archive's lines, and where they come from.
    let (status, _, page) = answer(&console, &ann, "/console/jobs/team-a/archived/log");
    assert_eq!(status, 200, "{page}");
    assert!(page.contains("<pre id=\"log\">archived line one\narchived line two\n</pre>"), "{page}");
    assert!(page.contains("the driver pod archived-1-driver is gone; its log comes from the archive at"), "{page}");

    // An archive a retention rule removed: `sparkplane logs`'s words, 404; a store that cannot be read: 502.
    let (status, _, page) = answer(&console, &ann, "/console/jobs/team-a/expired/log");
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("/team-a/expired/expired-1-driver.log is not there (any more)"), "{page}");
    assert!(page.contains("a retention rule on the log store may have removed it"), "{page}");
    let (status, _, page) = answer(&console, &ann, "/console/jobs/team-a/unreadable/log");
    assert_eq!(status, 502, "{page}");
    assert!(page.contains("id=\"failed\">cannot read the archived log: "), "{page}");

    // A status naming a file that is not where the operator writes driver logs: not read.
    let (status, _, page) = answer(&console, &ann, "/console/jobs/team-a/elsewhere/log?raw=1");
    assert_eq!(status, 404, "{page}");
    assert!(page.contains("is not where the operator writes driver logs"), "{page}");
    assert!(!page.contains("s3cr3t"), "{page}");
}

#[test]
fn a_path_that_is_not_a_jobs_log_is_refused_before_the_cluster_is_asked() {
    let dir = tempfile::tempdir().expect("dir");
    let fake = cluster_with_logs(dir.path());
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let not_found = answer(&console, &Viewer::Local, "/console/jobs/team-a/never-was");
    fake.clear_requests();
    for attack in [
        "/console/jobs/team-a/../team-b/report/log",
        "/console/jobs/team-b/report/log/../../../team-a/etl/log",
        "/console/jobs/team-a/etl%2F..%2F..%2Fteam-b%2Freport/log",
        "/console/jobs/..%2Fteam-a/etl/log",
        "/console/jobs/team-a/..%2F..%2Fapi%2Fv1%2Fnamespaces%2Fkube-system%2Fsecrets/log",
        "/console/jobs/team-a/etl/log/x",
        "/console/jobs/team-a/etl/logs",
        "/console/jobs/team-a//log",
        "/console/jobs//etl/log",
        "/console/jobs/team-a/ETL/log",
        "/console/jobs/team-a/etl/%6cog",
    ] {
        assert_eq!(answer(&console, &Viewer::Local, attack), not_found, "{attack}");
    }
    assert_eq!(log_requests(&fake), Vec::<String>::new(), "nothing was read");
    // The same viewer reads the real path.
    assert_eq!(answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log?raw=1").2, ETL_LOG);
}

#[test]
fn a_log_longer_than_a_page_shows_its_end_and_says_so() {
    let dir = tempfile::tempdir().expect("dir");
    let fake = cluster_with_logs(dir.path());
    // 1.7 MiB: 18,000 lines of 100 bytes with their newline; all read, all kept.
    let whole: String = (0..18_000).map(|i| format!("line {i:05} {}\n", "x".repeat(88))).collect();
    fake.set_pod_log("team-a", ETL_DRIVER, &whole);
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let (_, _, page) = answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log");
    assert!(page.contains(&format!("From the driver pod {ETL_DRIVER}, read now.")), "{}", &page[..1000]);
    assert!(!page.contains("id=\"cut\""), "nothing left out");
    assert_eq!(answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log?raw=1").2, whole);

    // 6.5 MB: 32,768 lines of 200 bytes. The API server sends the last 20,000 (tailLines), and of
    // those the page keeps 2 MiB, 10,485 lines: the first 9,515 it read are left out.
    let log: String = (0..32_768).map(|i| format!("line {i:05} {}\n", "x".repeat(188))).collect();
    fake.set_pod_log("team-a", ETL_DRIVER, &log);
    let (status, _, page) = answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log");
    assert_eq!(status, 200);
    assert!(page.contains("its first 9515 lines (1903000 bytes) are left out"), "{}", &page[..1000]);
    assert!(page.contains("its last 20000 lines, as many as the console asks for (earlier lines are not read;"));
    assert!(page.contains("line 32767 ") && page.contains("line 22283 "), "the end is shown");
    assert!(!page.contains("line 22282 ") && !page.contains("line 12768 "), "the start is not");
    let (_, _, raw) = answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log?raw=1");
    assert_eq!(raw.len(), 10_485 * 200);
    assert!(log.ends_with(&raw));
    // What crossed the network was the tail the console asked for, not the whole log.
    let asked: Vec<_> = fake.requests().into_iter().filter(|r| r.path.ends_with("/log")).collect();
    assert!(!asked.is_empty() && asked.iter().all(|r| r.query.get("tailLines").map(String::as_str) == Some("20000")));
}

#[test]
fn a_cluster_that_does_not_answer_is_a_504_naming_it_and_reads_at_once_are_bounded() {
    let dir = tempfile::tempdir().expect("dir");
    let fake = cluster_with_logs(dir.path());
    let console = ClusterConsole::connect(&settings(&fake.url())).expect("connects");
    let at = format!("127.0.0.1:{}", fake.port());
    fake.pause();
    let started = Instant::now();
    let readers: Vec<_> = (0..sparkplane_console::driver_log::MAX_READS)
        .map(|_| {
            let surface = console.surface();
            std::thread::spawn(move || {
                let request = Request::new(Method::Get, "/console/jobs/team-a/etl/log");
                let reply = surface.answer(&Viewer::Local, &rules(), &request);
                match reply.body {
                    sparkplane_http::Body::Bytes(bytes) => (reply.status, String::from_utf8_lossy(&bytes).into_owned()),
                    _ => panic!("a page is bytes"),
                }
            })
        })
        .collect();
    // While they wait, one more is told to come back.
    std::thread::sleep(Duration::from_millis(1500));
    let busy =
        console.surface().answer(&Viewer::Local, &rules(), &Request::new(Method::Get, "/console/jobs/team-a/etl/log"));
    assert_eq!(busy.status, 503);
    assert!(busy.headers.contains(&("Retry-After".to_owned(), "2".to_owned())), "{:?}", busy.headers);
    for reader in readers {
        let (status, page) = reader.join().expect("the reader ends");
        assert_eq!(status, 504, "{page}");
        assert!(page.contains(&format!("the cluster at http://{at} did not answer within 10s")), "{page}");
    }
    let waited = started.elapsed();
    assert!(waited >= Duration::from_secs(10) && waited < Duration::from_secs(30), "{waited:?}");
    fake.resume();
    assert_eq!(answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log?raw=1").2, ETL_LOG, "read again");

    // A cluster that is gone: 502, naming it.
    drop(fake);
    let (status, _, page) = answer(&console, &Viewer::Local, "/console/jobs/team-a/etl/log");
    assert_eq!(status, 502, "{page}");
    assert!(page.contains(&format!("cannot read the driver log from the cluster at http://{at}")), "{page}");
}
