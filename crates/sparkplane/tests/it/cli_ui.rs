//! `sparkplane ui`: a job's link at the door, from a job file or a
//! SparkJob's name, printed and handed to the browser `$BROWSER` names; bad
//! input is exit 2 with what to fix, nothing printed on stdout. (The link
//! opened in Chromium while a real run's UI answers behind it: `live_ui`.)

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Output;

use sparkplane_testkit::sparkplane;

/// `sparkplane ui ARGS` with no kubeconfig (unless `kubeconfig`), no SPARKPLANE_DOOR and `browser` as $BROWSER.
fn ui(dir: &Path, args: &[&str], kubeconfig: Option<&Path>, browser: Option<&Path>) -> Output {
    let mut command = sparkplane();
    command.arg("ui").args(args).current_dir(dir).env("HOME", dir).env_remove("SPARKPLANE_DOOR");
    command.env_remove("KUBERNETES_SERVICE_HOST").env_remove("BROWSER");
    match kubeconfig {
        Some(path) => command.env("KUBECONFIG", path),
        None => command.env("KUBECONFIG", dir.join("no-kubeconfig")),
    };
    if let Some(browser) = browser {
        command.env("BROWSER", browser);
    }
    command.output().expect("sparkplane runs")
}

fn said(out: &Output) -> (Option<i32>, String, String) {
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code(), text(&out.stdout), text(&out.stderr))
}

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: nightly-etl, namespace: team-a}\n\
                   spec:\n  team: alpha\n  type: Python\n  sparkVersion: \"3.5.7\"\n  mainApplicationFile: etl.py\n";

#[test]
fn a_job_files_link_is_its_namespace_and_name_at_the_local_door_by_default() {
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("etl.yaml"), JOB).expect("job");
    let out = ui(dir.path(), &["etl.yaml"], None, None);
    assert_eq!(said(&out), (Some(0), "http://127.0.0.1:18080/jobs/team-a/nightly-etl/\n".into(), String::new()));
    // -n is the job file's namespace's only override; the door from the flag or SPARKPLANE_DOOR.
    let out = ui(dir.path(), &["etl.yaml", "-n", "team-b", "--door", "https://spark.example.com"], None, None);
    assert_eq!(said(&out).1, "https://spark.example.com/jobs/team-b/nightly-etl/\n");
    let mut json = sparkplane();
    json.args(["ui", "etl.yaml", "-o", "json"]).current_dir(dir.path()).env("SPARKPLANE_DOOR", "http://door:8080");
    let json = json.env("KUBECONFIG", dir.path().join("none")).output().expect("runs");
    let value: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    assert_eq!(value, serde_json::json!({"link": "http://door:8080/jobs/team-a/nightly-etl/"}));
}

#[test]
fn a_names_namespace_is_the_flags_else_the_contexts_else_default() {
    let dir = tempfile::tempdir().expect("dir");
    let out = ui(dir.path(), &["nightly-etl"], None, None);
    assert_eq!(said(&out).1, "http://127.0.0.1:18080/jobs/default/nightly-etl/\n");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\ncurrent-context: a\nclusters: [{name: c, cluster: {server: 'https://127.0.0.1:1'}}]\n\
         users: [{name: u, user: {token: t}}]\n\
         contexts: [{name: a, context: {cluster: c, user: u, namespace: team-c}}, {name: b, context: {cluster: c, user: u}}]\n",
    )
    .expect("kubeconfig");
    // The kubeconfig is read, the cluster (nothing listens there) never asked.
    assert_eq!(said(&ui(dir.path(), &["etl"], Some(&kubeconfig), None)).1, "http://127.0.0.1:18080/jobs/team-c/etl/\n");
    let other = ui(dir.path(), &["etl", "--context", "b"], Some(&kubeconfig), None);
    assert_eq!(said(&other).1, "http://127.0.0.1:18080/jobs/default/etl/\n");
    let flag = ui(dir.path(), &["etl", "-n", "team-d"], Some(&kubeconfig), None);
    assert_eq!(said(&flag).1, "http://127.0.0.1:18080/jobs/team-d/etl/\n");
    // A context that is not there is a mistake to fix, not a reason to guess the namespace.
    let (code, stdout, stderr) = said(&ui(dir.path(), &["etl", "--context", "nope"], Some(&kubeconfig), None));
    assert_eq!((code, stdout.as_str()), (Some(2), ""), "{stderr}");
    assert!(stderr.contains("nope"), "{stderr}");
}

#[test]
fn open_hands_the_link_to_the_browser_browser_names() {
    let dir = tempfile::tempdir().expect("dir");
    let seen = dir.path().join("seen");
    let browser = dir.path().join("browser.sh");
    std::fs::write(&browser, format!("#!/bin/sh\nprintf '%s' \"$1\" > {}.part && mv {0}.part {0}\n", seen.display()))
        .expect("script");
    std::fs::set_permissions(&browser, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let out = ui(dir.path(), &["etl", "-n", "team-a", "--open"], None, Some(&browser));
    assert_eq!(said(&out), (Some(0), "http://127.0.0.1:18080/jobs/team-a/etl/\n".into(), String::new()));
    // The browser is started detached: wait for what it was given.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while !seen.exists() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        std::fs::read_to_string(&seen).expect("the browser was started"),
        "http://127.0.0.1:18080/jobs/team-a/etl/"
    );

    // No browser to start: exit 3, the link already printed for the user to open.
    let (code, stdout, stderr) =
        said(&ui(dir.path(), &["etl", "--open"], None, Some(&dir.path().join("no-such-browser"))));
    assert_eq!((code, stdout.as_str()), (Some(3), "http://127.0.0.1:18080/jobs/default/etl/\n"), "{stderr}");
    assert!(stderr.contains("error: --open: cannot start a browser:"), "{stderr}");
    assert!(
        stderr.contains("help: set BROWSER to your browser's command, or open the link above yourself"),
        "{stderr}"
    );
}

#[test]
fn a_door_or_name_that_would_make_a_wrong_link_is_exit_2_naming_the_fix() {
    let dir = tempfile::tempdir().expect("dir");
    for (args, message, help) in [
        (
            &["etl", "--door", "spark.example.com"][..],
            "error: --door: the door's address \"spark.example.com\" is not a URL; give it as http(s)://HOST[:PORT]",
            "help: give --door (or SPARKPLANE_DOOR) as http(s)://HOST[:PORT]",
        ),
        (
            &["etl", "--door", "https://me:pw@spark.example.com"][..],
            "error: --door: the door's address \"https://me:pw@spark.example.com\" holds credentials; a link is \
             shared and printed, give the address without them",
            "help: give --door (or SPARKPLANE_DOOR) as http(s)://HOST[:PORT]",
        ),
        (
            &["etl", "--door", "https://spark.example.com/spark-ui"][..],
            "error: --door: the door's address \"https://spark.example.com/spark-ui\" has a path, query or fragment; \
             the door serves at the root of its address",
            "help: give --door (or SPARKPLANE_DOOR) as http(s)://HOST[:PORT]",
        ),
        (
            &["Nightly_ETL"][..],
            "error: job \"Nightly_ETL\" is not a Kubernetes name (lower-case letters, digits, '-' and '.')",
            "help: name a job file or a SparkJob, and its namespace with -n",
        ),
        (
            &["etl", "-n", "../../x"][..],
            "error: namespace \"../../x\" is not a Kubernetes name (lower-case letters, digits, '-' and '.')",
            "help: name a job file or a SparkJob, and its namespace with -n",
        ),
    ] {
        let (code, stdout, stderr) = said(&ui(dir.path(), args, None, None));
        assert_eq!((code, stdout.as_str()), (Some(2), ""), "{args:?}: {stderr}");
        assert_eq!(stderr, format!("{message}\n  {help}\n"), "{args:?}");
    }
}
