//! The console in the chart (ADR 0097, issue #65): `history.console.enabled`
//! (on by default) runs the History Server with `--cluster` as a
//! ServiceAccount of its own, whose one ClusterRole lists SparkJobs and
//! ResourceQuotas and gets pods' logs, and nothing else; the History Server
//! started from the rendered Deployment, as that ServiceAccount, shows a
//! SparkJob the operator runs to a person of its team on /console with its
//! link and its driver's log, and neither to a person of another team; the pod stays Pod Security
//! "restricted"; with the console off, or with Spark's own History Server,
//! there is no ClusterRole and no token.
//!
//! What differs from a cluster: the History Server runs as a process of the
//! test (`signin::run_history_as_mounted`), its mounted ServiceAccount token
//! a kubeconfig naming that ServiceAccount; the simulated cluster authorizes
//! each of its calls with the installed RBAC objects, so a missing
//! permission fails the test.

use sparkplane_fakekube::DriverRun;

use super::signin::{free_port, get_with, run_history_as_mounted, spark_logs};
use super::*;

/// A team's Tenant, its namespace and the group of its people.
fn tenant(team: &str) -> String {
    format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: {team}}}\n\
         spec: {{team: {team}, costCenter: cc-{team}, namespace: {team}, groups: {{editors: [{team}-dev]}}}}\n"
    )
}

/// An install behind a trusted proxy on 127.0.0.1, with the teams data-eng and ml.
fn proxy_values(history: Value) -> Value {
    let mut values = json!({
        "eventLogs": {"location": spark_logs()},
        "operator": {"replicas": 1},
        "platform": {"tenants": {"data-eng": tenant("data-eng"), "ml": tenant("ml")}},
        "history": {"signIn": {"mode": "proxy", "proxy": {"trustedProxies": ["127.0.0.1"]}}},
    });
    for (key, value) in history.as_object().into_iter().flatten() {
        values["history"][key] = value.clone();
    }
    values
}

fn of_kind<'o>(objects: &'o [Value], kind: &str) -> Vec<&'o Value> {
    objects.iter().filter(|o| o["kind"] == kind).collect()
}

#[test]
fn the_console_is_on_by_default_as_a_service_account_of_its_own_that_may_list_sparkjobs_and_quotas_and_read_logs_only()
{
    let platform = Platform::start();
    let objects = platform.install(&proxy_values(json!({})));
    let history = find(&objects, "Deployment", "sparkplane-history");
    let pod = &history["spec"]["template"]["spec"];
    let args = pod["containers"][0]["args"].as_array().expect("args");
    assert_eq!(args.iter().filter(|a| *a == "--cluster").count(), 1, "{args:?}");
    // Its own ServiceAccount, its token mounted for the console; the exporter's stays apart and tokenless.
    assert_eq!(pod["serviceAccountName"], "sparkplane-history");
    assert_eq!(pod["automountServiceAccountToken"], true);
    let account = find(&objects, "ServiceAccount", "sparkplane-history");
    assert_eq!(account["automountServiceAccountToken"], false, "only the pod that needs it mounts it");
    let exporter = &find(&objects, "Deployment", "sparkplane-exporter")["spec"]["template"]["spec"];
    assert_eq!(exporter["serviceAccountName"], "sparkplane-reader");
    assert_eq!(exporter["automountServiceAccountToken"], false);

    // Exactly the console's list calls and its driver logs' read: a rule or a verb more fails here.
    let role = find(&objects, "ClusterRole", "sparkplane-history-console");
    assert_eq!(
        role["rules"],
        json!([
            {"apiGroups": ["sparkplane.dev"], "resources": ["sparkjobs"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["resourcequotas"], "verbs": ["list"]},
            {"apiGroups": [""], "resources": ["pods/log"], "verbs": ["get"]},
        ]),
        "{role:#}"
    );
    assert!(role.get("aggregationRule").is_none(), "{role:#}");
    // The group and plural are the CRD's.
    let crd = find(&objects, "CustomResourceDefinition", "sparkjobs.sparkplane.dev");
    assert_eq!(
        (&crd["spec"]["group"], &crd["spec"]["names"]["plural"]),
        (&json!("sparkplane.dev"), &json!("sparkjobs"))
    );
    // Bound to the History Server's ServiceAccount only, and it is bound to nothing else.
    let binding = find(&objects, "ClusterRoleBinding", "sparkplane-history-console");
    assert_eq!(
        binding["roleRef"],
        json!({"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "sparkplane-history-console"})
    );
    assert_eq!(
        binding["subjects"],
        json!([{"kind": "ServiceAccount", "name": "sparkplane-history", "namespace": NAMESPACE}])
    );
    for binding in of_kind(&objects, "ClusterRoleBinding").into_iter().chain(of_kind(&objects, "RoleBinding")) {
        let subjects = binding["subjects"].to_string();
        let ours = binding["metadata"]["name"] == "sparkplane-history-console";
        assert_eq!(subjects.contains("sparkplane-history"), ours, "{binding:#}");
        assert!(!subjects.contains("sparkplane-reader"), "{binding:#}");
    }

    // Still Pod Security "restricted".
    super::assert_restricted_history(history);

    // As the cluster authorizes it: the console's reads, and not a Secret or a pod (a driver log is read through
    // the console below, in a_running_sparkjob_is_on_the_console_…).
    let who = format!("--as=system:serviceaccount:{NAMESPACE}:sparkplane-history");
    for allowed in [["get", "sparkjobs.sparkplane.dev"], ["get", "resourcequotas"]] {
        let (code, _, stderr) = platform.kubectl(&[allowed[0], allowed[1], "-A", &who]);
        assert_eq!(code, Some(0), "{allowed:?}: {stderr}");
    }
    for denied in ["secrets", "pods", "configmaps", "services"] {
        let (code, _, stderr) = platform.kubectl(&["get", denied, "-A", &who]);
        assert_ne!(code, Some(0), "the History Server lists {denied}");
        assert!(stderr.contains("forbidden") || stderr.contains("Forbidden"), "{denied}: {stderr}");
    }
    let (code, _, stderr) = platform.kubectl(&["get", "secret", "sparkplane-anything", "-n", NAMESPACE, &who]);
    assert_ne!(code, Some(0));
    assert!(stderr.to_lowercase().contains("forbidden"), "{stderr}");
}

#[test]
fn with_the_console_off_or_sparks_own_history_server_there_is_no_cluster_role_and_no_token() {
    let platform = Platform::start();
    let off = platform.release("install", &chart(), &proxy_values(json!({"console": {"enabled": false}})));
    let spark = platform.release(
        "upgrade",
        &chart(),
        &json!({"eventLogs": {"location": "s3a://spark-events"},
                "history": {"implementation": "spark", "signIn": {"mode": "none"}}}),
    );
    for answer in [&off, &spark] {
        let objects = manifest_of(answer);
        let history = find(&objects, "Deployment", "sparkplane-history");
        let pod = &history["spec"]["template"]["spec"];
        assert_eq!(pod["serviceAccountName"], "sparkplane-history");
        assert_eq!(pod["automountServiceAccountToken"], false, "{pod:#}");
        assert!(!pod["containers"][0].to_string().contains("--cluster"), "{pod:#}");
        for object in &objects {
            assert!(!object["metadata"]["name"].as_str().unwrap_or_default().contains("console"), "{object:#}");
        }
    }
}

/// What the simulated driver writes to its log: a line of no layout, and one with markup.
const DRIVER_SAYS: &str = "data-eng-daily's driver is running\n<b>not markup</b> & done\n";

#[test]
fn a_running_sparkjob_is_on_the_console_with_its_link_for_its_team_and_not_for_another() {
    let platform = Platform::start();
    // Drivers run until deleted: the job stays Running while the console is read.
    platform.fake.set_cluster(Cluster {
        default_run: DriverRun { runs_for: None, ..DriverRun::succeeds(Duration::ZERO, DRIVER_SAYS) },
        ..Cluster::default()
    });
    let objects = platform.install(&proxy_values(json!({})));
    let operator = find(&objects, "Deployment", "sparkplane-operator").clone();
    let _operator = run_operator(&platform, &operator, "sparkplane-operator-0");
    for namespace in ["data-eng", "ml"] {
        let (code, _, stderr) = platform.kubectl(&["create", "namespace", namespace]);
        assert_eq!(code, Some(0), "{stderr}");
    }
    let good = platform.write("good.yaml", GOOD);
    let (code, _, stderr) = platform.kubectl(&["apply", "-f", &good.display().to_string()]);
    assert_eq!(code, Some(0), "{stderr}");
    let started = Instant::now();
    loop {
        let job = platform.fake.object("sparkplane.dev/v1alpha1", "SparkJob", Some("data-eng"), "data-eng-daily");
        let status = job.map(|job| job["status"].clone()).unwrap_or_default();
        if status["state"] == "DriverRunning" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the operator never ran the driver: {status:#}");
        std::thread::sleep(Duration::from_millis(100));
    }

    // The History Server from its Deployment, as its ServiceAccount (the simulated cluster applies the chart's RBAC).
    let history = find(&objects, "Deployment", "sparkplane-history");
    let port = free_port();
    let _history = run_history_as_mounted(&platform, history, port);
    let as_person = |user: &str, group: &str, path: &str| {
        get_with(port, path, &[("X-Forwarded-User", user), ("X-Forwarded-Groups", group)])
    };
    let link = "href=\"/jobs/data-eng/data-eng-daily/\"";
    // The console reads the cluster every 2 seconds: its first read may follow the server's start.
    let page = wait_for("the console to list the running SparkJob", || {
        let (status, page) = as_person("ann", "data-eng-dev", "/console");
        assert_eq!(status, 200, "{page}");
        page.contains(link).then_some(Value::String(page))
    });
    let page = page.as_str().unwrap_or_default();
    assert!(page.contains("DriverRunning"), "{page}");
    assert!(page.contains("sparkplane logs data-eng-daily -n data-eng"), "{page}");

    // Its driver's log, read through the console as the History Server's ServiceAccount (the chart's RBAC).
    let log_link = "/console/jobs/data-eng/data-eng-daily/log";
    assert!(page.contains(&format!("href=\"{log_link}\"")), "{page}");
    let (status, log) = as_person("ann", "data-eng-dev", log_link);
    assert_eq!(status, 200, "{log}");
    assert!(
        log.contains(
            "<pre id=\"log\">data-eng-daily&#39;s driver is running\n&lt;b&gt;not markup&lt;/b&gt; &amp; done\n</pre>"
        ),
        "{log}"
    );
    let (status, raw) = as_person("ann", "data-eng-dev", &format!("{log_link}?raw=1"));
    assert_eq!((status, raw.as_str()), (200, DRIVER_SAYS));

    // A person of another team: the page answers, without the job, its link or its page.
    let (status, page) = as_person("mo", "ml-dev", "/console");
    assert_eq!(status, 200, "{page}");
    assert!(!page.contains("data-eng-daily") && !page.contains("/jobs/data-eng/"), "{page}");
    let hidden = as_person("mo", "ml-dev", "/console/jobs/data-eng/data-eng-daily");
    let unknown = as_person("mo", "ml-dev", "/console/jobs/data-eng/never-was");
    assert_eq!(hidden.0, 404, "{}", hidden.1);
    assert_eq!(hidden, unknown, "a hidden job answers what an unknown one does");
    let hidden_log = as_person("mo", "ml-dev", log_link);
    assert_eq!(hidden_log, unknown, "a hidden job's log answers what an unknown job does");
    assert_eq!(hidden_log, as_person("mo", "ml-dev", "/console/jobs/data-eng/never-was/log"));
    let (status, body) = as_person("mo", "ml-dev", "/jobs/data-eng/data-eng-daily/");
    assert_eq!(status, 404, "{body}");
    // Not through the proxy's headers: nothing.
    assert_ne!(get_with(port, "/console", &[]).0, 200);
}
