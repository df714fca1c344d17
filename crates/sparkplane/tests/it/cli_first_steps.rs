//! What a new user meets first, through the real binary (issue #44, ADR 0054):
//! who a release is by without `$USER`; `release keygen` inside a git work
//! tree; the sample generator writing exactly what it says; interactive
//! sessions kept out of `runs list` and `cost --by job` unless asked; the
//! "did you mean" of a mistyped subcommand, environment and job file. Each
//! with its exact message and exit code, and nothing written when refused.

use std::path::{Path, PathBuf};

use serde_json::json;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

struct Run {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// The binary in `dir` with a home of its own (no git identity from the machine), without `$USER`.
fn run_in(dir: &Path, home: &Path, args: &[&str], path: Option<&Path>) -> Run {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(dir)
        .env("HOME", home)
        .env("SPARKPLANE_HOME", home.join("sparkplane"))
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir())
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("USER")
        .env_remove("SPARKPLANE_USER")
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env_remove("SPARKPLANE_CDEVENTS_SINK");
    if let Some(path) = path {
        cmd.env("PATH", path);
    }
    let out = cmd.args(args).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn git(dir: &Path, args: &[&str]) {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("HOME", dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Carol Author")
        .env("GIT_AUTHOR_EMAIL", "carol@example.com")
        .env("GIT_COMMITTER_NAME", "Carol Author")
        .env("GIT_COMMITTER_EMAIL", "carol@example.com")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The example job in a folder of its own (a git repository with one commit by Carol Author when `commit`).
fn example(commit: bool) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tmp");
    for name in ["trips-etl.yaml", "trips-etl.staging.yaml", "trips-etl.prod.yaml", "trips-dq.yaml"] {
        std::fs::copy(repo().join("examples/trips-etl").join(name), dir.path().join(name)).expect("copy");
    }
    if commit {
        git(dir.path(), &["init", "-q"]);
        git(dir.path(), &["add", "-A"]);
        git(dir.path(), &["commit", "-qm", "the job"]);
    }
    dir
}

const DIGEST: &str = "spec.image.digest=sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b";

fn release(dir: &Path, home: &Path, extra: &[&str], path: Option<&Path>) -> Run {
    let mut args = vec!["release", "trips-etl.yaml", "--env", "dev", "--set", DIGEST];
    args.extend(extra);
    run_in(dir, home, &args, path)
}

fn released_by(dir: &Path) -> String {
    let releases = dir.join("releases");
    let entry = std::fs::read_dir(&releases).expect("a release").flatten().next().expect("one release");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(entry.path().join("release.json")).expect("record"))
            .expect("json");
    record["releasedBy"].as_str().expect("releasedBy").to_owned()
}

#[test]
fn without_user_a_release_is_by_the_git_author_then_the_os_user_and_refused_without_either() {
    let home = tempfile::tempdir().expect("tmp");
    // git config user.name first.
    let dir = example(true);
    git(dir.path(), &["config", "user.name", "Dana Config"]);
    let r = release(dir.path(), home.path(), &[], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "recorded as by Dana Config (git config user.name; --by or $SPARKPLANE_USER names someone else)\n"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(released_by(dir.path()), "Dana Config");

    // No user.name: the author of the commit the job file is at.
    let dir = example(true);
    let r = release(dir.path(), home.path(), &[], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "recorded as by Carol Author (the author of the checkout's HEAD commit; --by or $SPARKPLANE_USER names \
             someone else)\n"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(released_by(dir.path()), "Carol Author");

    // No git repository (the commit given): the OS user running sparkplane.
    let dir = example(false);
    let commit = ["--commit", "0123456789abcdef0123456789abcdef01234567"];
    let r = release(dir.path(), home.path(), &commit, None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let os_user = std::process::Command::new("id").arg("-un").output().expect("id runs");
    let os_user = String::from_utf8_lossy(&os_user.stdout).trim().to_owned();
    assert!(!os_user.is_empty());
    assert!(r.stderr.contains(&format!("recorded as by {os_user} (the OS user; ")), "{}", r.stderr);
    assert_eq!(released_by(dir.path()), os_user);

    // $USER, when set, is taken as it is, without a note.
    let dir = example(true);
    let mut cmd = sparkplane_testkit::sparkplane();
    let out = cmd
        .current_dir(dir.path())
        .env("HOME", home.path())
        .env("USER", "erin")
        .env_remove("SPARKPLANE_USER")
        .args(["release", "trips-etl.yaml", "--env", "dev", "--set", DIGEST])
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!String::from_utf8_lossy(&out.stderr).contains("recorded as by"));
    assert_eq!(released_by(dir.path()), "erin");

    // Neither git nor `id` can name anyone (as in a bare container): exit 2, nothing written.
    let dir = example(false);
    let bare = tempfile::tempdir().expect("tmp");
    let r = release(dir.path(), home.path(), &commit, Some(bare.path()));
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: --by: who this is by is not known: none of --by, $SPARKPLANE_USER, $USER, git config user.name, the \
         commit's author, the OS user gives a name\n  help: pass --by NAME, or set SPARKPLANE_USER (no control \
         characters)\n"
    );
    assert_eq!(r.stdout, "");
    assert!(!dir.path().join("releases").exists(), "nothing written");
}

#[test]
fn keygen_writes_a_private_key_inside_a_work_tree_only_where_git_ignores_it() {
    let home = tempfile::tempdir().expect("tmp");
    let dir = tempfile::tempdir().expect("tmp");
    let root = dir.path().canonicalize().expect("path");
    git(&root, &["init", "-q"]);
    std::fs::write(root.join(".gitignore"), "/keys/\n").expect("ignore");
    let r = run_in(&root, home.path(), &["release", "keygen", "--out", "keys"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(root.join("keys/release.key").is_file());

    let r = run_in(&root, home.path(), &["release", "keygen", "--out", "signing"], None);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        format!(
            "error: --out: signing/release.key would be a private key inside the git work tree {}, and git does not \
             ignore it: `git status` would offer it for commit; nothing was written\n  help: ignore the folder \
             first (add `signing/` to .gitignore), or pass --out a folder outside the work tree\n",
            root.display()
        )
    );
    assert_eq!(r.stdout, "");
    assert!(!root.join("signing").exists(), "nothing written");

    // Deeper in the tree, the help names the .gitignore beside the folder.
    std::fs::create_dir(root.join("jobs")).expect("mkdir");
    let r = run_in(&root, home.path(), &["release", "keygen", "--out", "jobs/keys"], None);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("  help: ignore the folder first (add `keys/` to jobs/.gitignore)"), "{}", r.stderr);

    // Outside a work tree there is nothing to check.
    let outside = tempfile::tempdir().expect("tmp");
    let r = run_in(outside.path(), home.path(), &["release", "keygen", "--out", "keys"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
}

#[test]
fn this_repository_ignores_what_the_walk_through_writes_into_the_example() {
    for path in [
        "examples/trips-etl/keys/release.key",
        "examples/trips-etl/releases/trips-etl-dev-0123/release.json",
        "examples/trips-etl/ci.json",
        "examples/trips-etl/data/raw/trips/part-00000.csv",
        "examples/trips-etl/.sparkplane/dq/trips-daily/profile.json",
    ] {
        let out = std::process::Command::new("git")
            .args(["check-ignore", "-q", "--no-index", path])
            .current_dir(repo())
            .status()
            .expect("git runs");
        assert!(out.success(), "{path} is not ignored: `git status` would offer it");
    }
}

#[test]
fn the_generator_leaves_exactly_the_trips_it_says_it_wrote() {
    let out = tempfile::tempdir().expect("tmp");
    let generate = |rows: &str, files: &str| {
        let r = std::process::Command::new("python3")
            .arg(repo().join("examples/trips-etl/generate_trips.py"))
            .args(["--rows", rows, "--files", files, "--out"])
            .arg(out.path())
            .output()
            .expect("python3 runs (scripts/common.sh need_python)");
        assert!(r.status.success(), "{}", String::from_utf8_lossy(&r.stderr));
        String::from_utf8_lossy(&r.stdout).into_owned()
    };
    assert_eq!(generate("400", "4"), format!("wrote 400 trips in 4 files to {}\n", out.path().display()));
    std::fs::write(out.path().join("README.txt"), "not the generator's").expect("write");
    assert_eq!(
        generate("300", "1"),
        format!("wrote 300 trips in 1 file to {} (removed 4 earlier part files)\n", out.path().display())
    );
    let mut names: Vec<String> =
        std::fs::read_dir(out.path()).expect("dir").flatten().map(|e| e.file_name().to_string_lossy().into()).collect();
    names.sort();
    assert_eq!(names, ["README.txt", "part-00000.csv"]);
    let text = std::fs::read_to_string(out.path().join("part-00000.csv")).expect("csv");
    let ids: std::collections::BTreeSet<&str> =
        text.lines().skip(1).map(|l| l.split(',').next().unwrap_or_default()).collect();
    assert_eq!(ids.len(), 300, "exactly the trips it says");
}

/// A finished local application's event log: `name`, with these extra Spark properties.
fn event_log(path: &Path, id: &str, name: &str, extra: &[(&str, &str)]) {
    let mut props = serde_json::Map::new();
    props.insert("spark.master".into(), json!("local[2]"));
    props.insert("spark.app.name".into(), json!(name));
    props.insert("spark.driver.memory".into(), json!("1g"));
    for (k, v) in extra {
        props.insert((*k).into(), json!(v));
    }
    let start = 1_795_000_000_000_u64;
    let events = [
        json!({"Event": "SparkListenerLogStart", "Spark Version": "4.1.1"}),
        json!({"Event": "SparkListenerEnvironmentUpdate", "Spark Properties": props}),
        json!({"Event": "SparkListenerApplicationStart", "App Name": name, "App ID": id, "Timestamp": start}),
        json!({"Event": "SparkListenerExecutorAdded", "Timestamp": start, "Executor ID": "driver",
               "Executor Info": {"Host": "localhost", "Total Cores": 2}}),
        json!({"Event": "SparkListenerApplicationEnd", "Timestamp": start + 3_600_000}),
    ];
    let text: String = events.iter().map(|e| format!("{e}\n")).collect();
    std::fs::write(path.join(id), text).expect("event log");
}

fn run_record(home: &Path, id: &str, job: &str, interactive: Option<bool>) {
    let dir = home.join("runs").join(id);
    std::fs::create_dir_all(&dir).expect("run dir");
    let mut record = json!({
        "runId": id, "job": job, "jobFile": "", "specHash": "", "environment": "local", "preset": null,
        "sparkVersion": "4.1.1", "master": "local[*]", "state": "succeeded", "startedMs": 1_795_000_000_000_u64,
        "endedMs": 1_795_000_060_000_u64, "pid": null, "exitCode": 0, "failure": null, "appId": null, "uiUrl": null,
        "driverLog": "driver.log", "eventLog": null, "summary": null,
    });
    if let Some(flag) = interactive {
        record["interactive"] = json!(flag);
    }
    std::fs::write(dir.join("run.json"), record.to_string()).expect("record");
}

#[test]
fn sessions_stay_out_of_runs_list_and_job_costs_unless_asked() {
    let home = tempfile::tempdir().expect("tmp");
    let spark_home = home.path().join("sparkplane");
    run_record(&spark_home, "trips-etl-20261125-100000-aaaa", "trips-etl", None);
    run_record(&spark_home, "sparkplane-connect-20261125-100100-bbbb", "sparkplane-connect", Some(true));
    // Recorded before sessions were tagged: known by the session's job name.
    run_record(&spark_home, "sparkplane-connect-20261124-100100-cccc", "sparkplane-connect", None);
    let here = home.path();

    let r = run_in(here, here, &["runs", "list"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rows: Vec<&str> = r.stdout.lines().skip(1).map(|l| l.split_whitespace().next().unwrap_or_default()).collect();
    assert_eq!(rows, ["trips-etl-20261125-100000-aaaa"]);
    assert_eq!(r.stderr, "2 interactive Spark Connect sessions left out of the runs; --include-sessions lists them\n");
    let r = run_in(here, here, &["runs", "list", "--include-sessions", "-o", "json"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let all: serde_json::Value = serde_json::from_str(&r.stdout).expect("json");
    let tags: Vec<(String, bool)> = all
        .as_array()
        .expect("runs")
        .iter()
        .map(|r| (r["job"].as_str().unwrap_or_default().to_owned(), r.get("interactive").is_some()))
        .collect();
    assert_eq!(
        tags,
        [("trips-etl".into(), false), ("sparkplane-connect".into(), true), ("sparkplane-connect".into(), false)]
    );
    assert_eq!(r.stderr, "");

    // Event logs: a job, a marked session, an unmarked older session; each an hour of a local driver with 2 cores
    // and a 1g heap (1.375 GiB with its overhead) at OpenCost's default prices: $0.069.
    let logs = home.path().join("history");
    std::fs::create_dir(&logs).expect("mkdir");
    event_log(&logs, "local-1", "trips-etl", &[("spark.sparkplane.team", "data-eng")]);
    event_log(&logs, "local-2", "sparkplane-connect", &[("spark.sparkplane.connect", "server")]);
    event_log(&logs, "local-3", "sparkplane-connect", &[]);
    let logs = logs.to_str().expect("utf-8");
    let r = run_in(here, here, &["cost", logs, "--by", "job"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(
        r.stdout,
        "JOB        APPS  CORE-HOURS  GIB-HOURS  GPU-HOURS  COST   SHARE\ntrips-etl  1     2.00        1.38       0.00       \
         $0.07  100.0%\n\n1 application(s), $0.07 in total\n"
    );
    assert_eq!(
        r.stderr,
        "2 interactive Spark Connect sessions ($0.14) left out of the jobs; --include-sessions lists them\n"
    );
    let r = run_in(here, here, &["cost", logs, "--by", "job", "--include-sessions"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("\nsparkplane-connect  2     4.00"), "{}", r.stdout);
    assert!(r.stdout.ends_with("\n3 application(s), $0.21 in total\n"), "{}", r.stdout);
    assert_eq!(r.stderr, "");
    // A session's cost is still its team's: other groupings count every application.
    let r = run_in(here, here, &["cost", logs, "--by", "team"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.ends_with("\n3 application(s), $0.21 in total\n"), "{}", r.stdout);
    assert_eq!(r.stderr, "");
}

#[test]
fn sql_refuses_a_connect_url_copied_with_the_readmes_ellipsis() {
    let home = tempfile::tempdir().expect("tmp");
    let r = run_in(home.path(), home.path(), &["sql", "--connect", "sc://localhost:15002/;token=…", "SELECT 1"], None);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: --connect `sc://localhost:15002/` holds a character that is not ASCII (a `…` copied from an example?)\n  \
         help: copy the whole line `sparkplane connect` printed: sc://localhost:PORT/;token= and 64 hex digits\n"
    );
    assert!(!home.path().join("sparkplane/runs").exists(), "no server started, no session recorded");
}

#[test]
fn a_mistyped_subcommand_environment_or_job_file_gets_the_near_name() {
    let home = tempfile::tempdir().expect("tmp");
    let root = repo();
    let r = run_in(&root, home.path(), &["rnu", "examples/trips-etl/trips-etl.yaml"], None);
    assert_eq!(r.code, Some(2));
    assert!(
        r.stderr.starts_with("error: unrecognized subcommand 'rnu'\n\n  tip: a similar subcommand exists: 'run'\n"),
        "{}",
        r.stderr
    );
    // At any depth: `runs lst` is `runs list`.
    let r = run_in(&root, home.path(), &["runs", "lst"], None);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("tip: a similar subcommand exists: 'list'\n"), "{}", r.stderr);

    let r = run_in(&root, home.path(), &["resolve", "examples/trips-etl/trips-etl.yaml", "--env", "prd"], None);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: spec.environment: there is no environment `prd`\n  help: did you mean `prod`? (known: dev, local, prod, \
         staging)\n"
    );
    assert_eq!(r.stdout, "");

    let r = run_in(&root, home.path(), &["resolve", "examples/trips-etl/trips-etl.yml"], None);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.starts_with("error: cannot read examples/trips-etl/trips-etl.yml: "), "{}", r.stderr);
    assert!(r.stderr.ends_with("\n  help: did you mean examples/trips-etl/trips-etl.yaml?\n"), "{}", r.stderr);
    // Nothing near: the plain advice.
    let r = run_in(&root, home.path(), &["resolve", "examples/trips-etl/nightly.yaml"], None);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.ends_with("\n  help: check the path; it is relative to the current directory\n"), "{}", r.stderr);
}

#[test]
fn help_shows_how_to_see_sessions_and_promote_from_local() {
    let home = tempfile::tempdir().expect("tmp");
    let root = repo();
    let r = run_in(&root, home.path(), &["help", "runs", "list"], None);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stdout.contains("--include-sessions"), "{}", r.stdout);
    assert!(r.stdout.contains("sparkplane runs list --include-sessions"), "{}", r.stdout);
    let r = run_in(&root, home.path(), &["help", "cost"], None);
    assert!(r.stdout.contains("--include-sessions"), "{}", r.stdout);
    let r = run_in(&root, home.path(), &["help", "promote"], None);
    assert!(r.stdout.contains("--from local --to staging"), "{}", r.stdout);
}
