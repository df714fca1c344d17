use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ResourceQuota;
use serde_json::{Value, json};
use sparkplane_access::rules::TeamAccess;
use sparkplane_access::{AccessRules, Identity, Viewer};
use sparkplane_api::SparkJob;

use super::*;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| (*s).to_owned()).collect()
}

fn rules() -> AccessRules {
    AccessRules {
        teams: vec![
            TeamAccess {
                team: "a".into(),
                namespace: "team-a".into(),
                change: set(&["a-dev"]),
                view: set(&["a-read"]),
            },
            TeamAccess { team: "b".into(), namespace: "team-b".into(), change: set(&["b-dev"]), view: set(&[]) },
        ],
        admin_groups: set(&["platform"]),
        ..AccessRules::default()
    }
}

fn sparkjob(namespace: &str, name: &str, spec: Value, labels: Value, status: Value) -> SparkJob {
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "SparkJob",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": spec,
        "status": status,
    }))
    .expect("a SparkJob")
}

fn quota(namespace: &str, used: &str, hard: &str) -> ResourceQuota {
    serde_json::from_value(json!({
        "metadata": {"name": "compute", "namespace": namespace},
        "status": {"hard": {"requests.cpu": hard}, "used": {"requests.cpu": used}},
    }))
    .expect("a ResourceQuota")
}

fn snapshot() -> Snapshot {
    let none = json!({});
    Snapshot {
        jobs: vec![
            sparkjob(
                "team-a",
                "etl",
                json!({"team": "a", "sparkConf": {"spark.ui.view.acls": "vic", "spark.executor.cores": "2"}}),
                none.clone(),
                json!({"state": "Running", "attempt": 2, "driverPod": "etl-1a2b3c4d-driver"}),
            ),
            sparkjob(
                "team-a",
                "queued",
                json!({"team": "a"}),
                none.clone(),
                json!({"state": "Queued", "reason": "QuotaWait",
                       "message": "queued behind 2 other application(s) of this namespace; next is etl"}),
            ),
            sparkjob(
                "team-a",
                "retry",
                json!({"team": "a"}),
                none.clone(),
                json!({"state": "Retrying", "attempt": 1, "nextRetryAt": "2026-11-28T12:00:00Z"}),
            ),
            sparkjob("team-a", "held", json!({"team": "a"}), none.clone(), json!({"state": "Suspended"})),
            sparkjob("team-a", "pending", json!({"team": "a"}), none.clone(), json!(null)),
            sparkjob(
                "team-a",
                "stuck",
                json!({"team": "a"}),
                none.clone(),
                json!({"state": "Submitted", "reason": "Unschedulable", "message": "0/3 nodes are available"}),
            ),
            // Its team from the label alone.
            sparkjob(
                "team-b",
                "report",
                json!({}),
                json!({"sparkplane.dev/team": "b"}),
                json!({"state": "Queued", "reason": "WaitingForAdmission",
                       "message": "Kueue: couldn't assign flavors to pod set driver: insufficient quota for cpu"}),
            ),
            sparkjob(
                "team-b",
                "notebooks",
                json!({"team": "b", "type": "Connect"}),
                none.clone(),
                json!({"state": "Running", "connect": {"endpoint": "sc://notebooks-connect.team-b.svc:15002"}}),
            ),
            // A driver pod name that would point elsewhere: shown, never forwarded to.
            sparkjob(
                "team-b",
                "odd",
                json!({"team": "b"}),
                none.clone(),
                json!({"state": "Running", "driverPod": "evil.example.com:80/x-driver"}),
            ),
            // Not a Kubernetes name: never shown.
            sparkjob("team-b", "Bad_Name", json!({"team": "b"}), none.clone(), json!({"state": "Running"})),
            sparkjob("team-c", "orphan", json!({}), none, json!({"state": "Succeeded"})),
        ],
        quotas: vec![quota("team-a", "4", "10"), quota("team-b", "500m", "2")],
        stale: None,
    }
}

fn person(groups: &[&str]) -> Viewer {
    Viewer::Person(Identity::new("u", groups.iter().copied()))
}

fn names(view: &View) -> Vec<String> {
    view.jobs.iter().map(|r| format!("{}/{}", r.namespace, r.name)).collect()
}

#[test]
fn each_viewer_sees_the_rows_decide_lets_them_see() {
    let a = ["team-a/etl", "team-a/held", "team-a/pending", "team-a/queued", "team-a/retry", "team-a/stuck"];
    let b = ["team-b/notebooks", "team-b/odd", "team-b/report"];
    let all: Vec<&str> = ["team-c/orphan"].into_iter().chain(a).chain(b).collect();
    let cases: Vec<(&str, Viewer, Vec<&str>, Vec<&str>)> = vec![
        ("a team member", person(&["a-dev"]), a.to_vec(), vec!["team-a"]),
        ("a team's reader", person(&["a-read"]), a.to_vec(), vec!["team-a"]),
        ("another team", person(&["b-dev"]), b.to_vec(), vec!["team-b"]),
        ("a platform admin", person(&["platform"]), all.clone(), vec!["team-a", "team-b"]),
        ("no groups", person(&[]), vec![], vec![]),
        ("the local user", Viewer::Local, all, vec!["team-a", "team-b"]),
    ];
    for (case, viewer, jobs, quota_namespaces) in cases {
        let view = view(&snapshot(), &rules(), &viewer, None);
        // Sorted by team (none first), namespace, name.
        let mut want: Vec<String> = jobs.iter().map(|s| (*s).to_owned()).collect();
        want.sort_by_key(|j| (!j.starts_with("team-c"), j.clone()));
        assert_eq!(names(&view), want, "{case}");
        let namespaces: Vec<&str> = view.quotas.iter().map(|q| q.namespace.as_str()).collect();
        assert_eq!(namespaces, quota_namespaces, "{case}");
        for (ns, name) in jobs.iter().filter_map(|j| j.split_once('/')) {
            assert!(job(&snapshot(), &rules(), &viewer, ns, name).is_some(), "{case}: {ns}/{name}");
        }
    }
}

#[test]
fn a_hidden_job_is_as_absent_as_an_unknown_one() {
    let other = person(&["b-dev"]);
    assert_eq!(job(&snapshot(), &rules(), &other, "team-a", "etl"), None);
    assert_eq!(job(&snapshot(), &rules(), &other, "team-a", "never-was"), None);
    assert_eq!(job(&snapshot(), &rules(), &person(&[]), "team-b", "report"), None);
    assert!(job(&snapshot(), &rules(), &Viewer::Local, "team-b", "Bad_Name").is_none(), "not a name: never shown");
}

#[test]
fn the_team_filter_keeps_one_team_and_offers_the_visible_teams() {
    let admin = person(&["platform"]);
    let view = view(&snapshot(), &rules(), &admin, Some("b"));
    assert_eq!(names(&view), ["team-b/notebooks", "team-b/odd", "team-b/report"]);
    assert_eq!(view.teams, ["a", "b"]);
    // Another team's name filters to nothing, and its team is not offered.
    let member = person(&["a-dev"]);
    let view = super::view(&snapshot(), &rules(), &member, Some("b"));
    assert!(view.jobs.is_empty());
    assert_eq!(view.teams, ["a"]);
}

#[test]
fn rows_say_state_attempt_why_it_waits_and_where_to_look() {
    let view = view(&snapshot(), &rules(), &Viewer::Local, None);
    let row = |name: &str| view.jobs.iter().find(|r| r.name == name).expect(name).clone();
    let etl = row("etl");
    assert_eq!((etl.state.as_str(), etl.attempt, etl.running, &etl.wait), ("Running", Some(2), true, &None));
    assert_eq!(etl.team.as_deref(), Some("a"));
    assert_eq!(etl.link, "/jobs/team-a/etl/");
    assert_eq!(etl.log_command, "sparkplane logs etl -n team-a");
    let cases: [(&str, Option<Wait>, &str); 8] = [
        (
            "queued",
            Some(Wait::Queue("queued behind 2 other application(s) of this namespace; next is etl".into())),
            "queue: queued behind 2 other application(s) of this namespace; next is etl",
        ),
        (
            "report",
            Some(Wait::Kueue("couldn't assign flavors to pod set driver: insufficient quota for cpu".into())),
            "Kueue admission: couldn't assign flavors to pod set driver: insufficient quota for cpu",
        ),
        ("retry", Some(Wait::Retry(Some("2026-11-28T12:00:00Z".into()))), "retrying at 2026-11-28T12:00:00Z"),
        ("held", Some(Wait::Suspended), "suspended (spec.suspend)"),
        (
            "stuck",
            Some(Wait::Other("Unschedulable".into(), "0/3 nodes are available".into())),
            "Unschedulable: 0/3 nodes are available",
        ),
        ("pending", None, ""),
        ("etl", None, ""),
        ("orphan", None, ""),
    ];
    for (name, wait, said) in cases {
        let r = row(name);
        assert_eq!(r.wait, wait, "{name}");
        assert_eq!(r.wait.as_ref().map(Wait::describe).unwrap_or_default(), said, "{name}");
    }
    assert_eq!(row("pending").state, "Pending");
    assert_eq!(row("report").team.as_deref(), Some("b"), "the label gives the team when the spec names none");
    assert_eq!(row("notebooks").connect.as_deref(), Some("sc://notebooks-connect.team-b.svc:15002"));
    assert_eq!(row("etl").connect, None);
}

#[test]
fn quota_rows_show_used_of_hard() {
    let view = view(&snapshot(), &rules(), &person(&["b-dev"]), None);
    assert_eq!(
        view.quotas,
        [QuotaRow {
            namespace: "team-b".into(),
            quota: "compute".into(),
            resource: "requests.cpu".into(),
            used: "500m".into(),
            hard: "2".into(),
        }]
    );
}

#[test]
fn the_live_source_is_exactly_the_running_jobs_at_their_driver_services() {
    let apps = live_apps(&snapshot());
    let got: Vec<(String, String, Option<String>, String)> =
        apps.iter().map(|a| (a.namespace.clone(), a.job.clone(), a.team.clone(), a.ui.to_string())).collect();
    assert_eq!(
        got,
        [
            ("team-a".into(), "etl".into(), Some("a".into()), "etl-1a2b3c4d-driver-svc.team-a.svc:4040".into()),
            ("team-b".into(), "notebooks".into(), Some("b".into()), "notebooks-connect.team-b.svc:4040".into()),
        ],
        "queued, retrying, ended and misnamed jobs are not forwarded to, nor a driver pod name that is no Service name"
    );
    // Spark's UI ACLs from the SparkJob's sparkConf go with it, for the door's decision; no other setting does.
    assert_eq!(apps[0].acls, std::collections::BTreeMap::from([("spark.ui.view.acls".into(), "vic".into())]));
    assert!(apps[1].acls.is_empty());
}

#[test]
fn the_driver_service_is_the_renders_and_nothing_else() {
    assert_eq!(driver_service("etl-1a2b3c4d-driver").as_deref(), Some("etl-1a2b3c4d-driver-svc"));
    for attack in ["evil.example.com-driver", "x/../y-driver", "etl-1a2b3c4d", "", "-driver", "A-driver"] {
        assert_eq!(driver_service(attack), None, "{attack}");
    }
    let long = format!("{}-driver", "a".repeat(60));
    assert_eq!(driver_service(&long), None, "a Service name is at most 63 characters");
    assert_eq!(connect_service("notebooks").as_deref(), Some("notebooks-connect"));
    assert_eq!(connect_service("a.b"), None);
    assert!(is_dns_subdomain("a.b-c") && !is_dns_subdomain("a..b") && !is_dns_subdomain("a/b"));
}

#[test]
fn a_row_links_its_driver_log_page_beside_the_command() {
    let view = view(&snapshot(), &rules(), &Viewer::Local, None);
    let etl = view.jobs.iter().find(|r| r.name == "etl").expect("etl");
    assert_eq!(etl.log_link, "/console/jobs/team-a/etl/log");
    assert_eq!(etl.log_command, "sparkplane logs etl -n team-a");
}

#[test]
fn a_log_is_read_only_of_a_job_the_viewer_may_see() {
    let member = person(&["a-dev"]);
    let snapshot = snapshot();
    let found = visible_job(&snapshot, &rules(), &member, "team-a", "etl").expect("their own job");
    assert_eq!(found.metadata.name.as_deref(), Some("etl"));
    for (viewer, namespace, name) in [
        (person(&["b-dev"]), "team-a", "etl"),
        (person(&[]), "team-a", "etl"),
        (member.clone(), "team-a", "never-was"),
        (member.clone(), "team-b", "report"),
        (Viewer::Local, "team-b", "Bad_Name"),
        (Viewer::Local, "team-a", "../team-b/report"),
    ] {
        assert!(visible_job(&snapshot, &rules(), &viewer, namespace, name).is_none(), "{namespace}/{name}");
    }
    assert!(visible_job(&snapshot, &rules(), &person(&["platform"]), "team-b", "report").is_some(), "an admin");
}

#[test]
fn only_a_driver_pod_that_is_a_kubernetes_name_is_asked_for() {
    let snapshot = snapshot();
    let of = |name: &str| snapshot.jobs.iter().find(|j| j.metadata.name.as_deref() == Some(name)).expect(name);
    assert_eq!(driver_pod(of("etl")), Some("etl-1a2b3c4d-driver"));
    assert_eq!(driver_pod(of("odd")), None, "evil.example.com:80/x-driver is no pod name");
    assert_eq!(driver_pod(of("queued")), None, "no driver yet");
    assert_eq!(driver_pod(of("pending")), None, "no status");
}

#[test]
fn an_archive_is_read_only_where_the_operator_writes_that_jobs_logs() {
    for ok in [
        "s3://logs/drivers/team-a/etl/etl-1a2b3c4d-driver.log",
        "/var/lib/logs/team-a/etl/etl-1-driver.log",
        "gs://b/team-a/etl/etl-2-driver.log",
    ] {
        assert!(archive_in_layout(ok, "team-a", "etl"), "{ok}");
    }
    for refused in [
        // Another job's or namespace's log.
        "s3://logs/team-b/etl/etl-1-driver.log",
        "s3://logs/team-a/other/etl-1-driver.log",
        // Not a log the operator wrote.
        "/etc/sparkplane/signin/client-secret",
        "/var/run/secrets/kubernetes.io/serviceaccount/token",
        "s3://logs/team-a/etl/.log",
        "s3://logs/team-a/etl/Bad_Pod.log",
        "s3://logs/team-a/etl/etl-1-driver.log?versionId=1",
        "team-a/etl/etl-1-driver.log",
        "",
    ] {
        assert!(!archive_in_layout(refused, "team-a", "etl"), "{refused}");
    }
    assert!(!archive_in_layout("s3://l/x/../etl/p.log", "..", "etl"), "a namespace that is no name");
}

#[test]
fn a_tail_keeps_the_logs_last_bytes_and_counts_what_it_left_out() {
    let mut tail = Tail::new(10);
    for line in ["aaa", "bbb"] {
        tail.push(line);
    }
    assert_eq!((tail.text(), tail.cut_lines(), tail.cut_bytes()), ("aaa\nbbb\n".to_owned(), 0, 0));
    // Each line costs itself and its newline: "ccc" makes 12 bytes, so "aaa" leaves.
    tail.push("ccc");
    assert_eq!((tail.text(), tail.cut_lines(), tail.cut_bytes()), ("bbb\nccc\n".to_owned(), 1, 4));
    tail.push("");
    assert_eq!(tail.lines().collect::<Vec<_>>(), ["bbb", "ccc", ""]);
    // A line longer than the whole limit keeps its end, and everything before it is left out.
    tail.push("0123456789abcdef");
    assert_eq!(tail.lines().collect::<Vec<_>>(), ["789abcdef"]);
    assert_eq!((tail.cut_lines(), tail.cut_bytes()), (1 + 3 + 1, 4 + 9 + 7));
    // Never in the middle of a character.
    let mut wide = Tail::new(4);
    wide.push("ééé");
    assert_eq!(wide.lines().collect::<Vec<_>>(), ["é"]);
    assert_eq!(wide.cut_bytes(), 4);
    // A zero limit still keeps one (empty) line's worth.
    let mut none = Tail::new(0);
    none.push("x");
    assert_eq!(none.text(), "\n");
}
