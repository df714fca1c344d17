//! What the governance CLI tests share: a job, tenant files, a price sheet
//! and this month's spend written from a committed real Spark event log.

#![allow(dead_code, reason = "each test binary uses part of the support module")]

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use assert_cmd::Command;
use serde_json::Value;

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A prod-ready job of team `team-a` in namespace `team-a` (digest-pinned, owned, bounded).
pub const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image:
    repository: registry.example.com/team-a/probe
    tag: \"1.0.0\"
    digest: sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
  executor: {instances: 2}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  timeouts: {maxDuration: 2h}
";

/// A tenant file: `name` in namespace `namespace` for team `team`, with a
/// quota of `cpu` CPUs and, when `budget` is given, that YAML flow mapping
/// as its budget (e.g. `{monthly: 100}`).
pub fn tenant(name: &str, namespace: &str, team: &str, cpu: &str, budget: Option<&str>) -> String {
    let mut text = format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: {name}}}\nspec:\n  team: {team}\n  costCenter: cc-1\n  namespace: {namespace}\n  apiServerCidrs: [10.0.0.1/32]\n  quota: {{cpu: \"{cpu}\", memory: 512Gi, pods: 100}}\n"
    );
    if let Some(budget) = budget {
        text.push_str(&format!("  budget: {budget}\n"));
    }
    text
}

/// A price sheet at which one core-second costs 1 (memory and GPUs free), so
/// a short real run spends a readable amount.
pub const PRICES: &str = "coreHour: 3600\ngibHour: 0\ngpuHour: 0\nspotMultiplier: 1\n";

/// The committed real log of `job_ok.py` on Spark 3.5.9 (see the event-log fixtures' README).
pub fn real_log() -> PathBuf {
    repo().join("crates/sparkplane-eventlog/tests/fixtures/spark-3.5.9/eventlog_v2_local-1795265030698")
}

fn now_ms() -> i64 {
    i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or(Duration::ZERO).as_millis()).unwrap_or(0)
}

/// Adds `delta` to every epoch-millisecond time in an event (fields named
/// `Timestamp` or `… Time`), so durations stay as Spark recorded them.
fn shift_times(value: &mut Value, delta: i64) {
    match value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                let is_time = key == "Timestamp" || key.ends_with(" Time");
                match v.as_i64() {
                    Some(ms) if is_time && ms > 1_000_000_000_000 => *v = Value::from(ms + delta),
                    _ => shift_times(v, delta),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| shift_times(v, delta)),
        _ => {}
    }
}

/// The driver label sparkplane sets for the team, as the committed log carries it.
const TEAM_LABEL: &str = "spark.kubernetes.driver.label.sparkplane.dev/team";

/// Writes the real log into `dir` as a plain JSON-lines log owned by
/// `team` (its team label, `data-platform` in the committed log, replaced),
/// with its times
/// moved so the application ended a minute ago: it counts as this month's
/// spend whenever the test runs. Returns the written file.
pub fn write_team_log(dir: &Path, team: &str) -> PathBuf {
    let log = sparkplane_eventlog::EventLog::open(&real_log()).expect("the committed log opens");
    let mut lines = log.lines().expect("the committed log reads");
    let mut events: Vec<Value> = Vec::new();
    while let Some(line) = lines.next_line() {
        events.push(serde_json::from_str(line.text).expect("the committed log is JSON lines"));
    }
    let end = events
        .iter()
        .find(|e| e["Event"] == "SparkListenerApplicationEnd")
        .and_then(|e| e["Timestamp"].as_i64())
        .expect("the committed log has an application end");
    let delta = now_ms() - 60_000 - end;
    let mut text = String::new();
    for mut event in events {
        if event["Event"] == "SparkListenerEnvironmentUpdate" {
            let properties = &mut event["Spark Properties"];
            assert_eq!(properties[TEAM_LABEL], "data-platform", "the committed log's own team");
            properties[TEAM_LABEL] = Value::from(team);
        }
        shift_times(&mut event, delta);
        text.push_str(&serde_json::to_string(&event).expect("serializes"));
        text.push('\n');
    }
    std::fs::create_dir_all(dir).expect("history dir");
    let path = dir.join("local-1795265030698");
    std::fs::write(&path, text).expect("write the log");
    path
}

/// The outcome of one run of the binary.
pub struct Run {
    /// The exit code.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// The binary, run in `dir` with a clean environment (no platform directory,
/// HOME in `dir`, `kubeconfig` there when it exists).
pub fn sparkplane(dir: &Path) -> Command {
    let mut cmd = sparkplane_testkit::sparkplane();
    cmd.current_dir(dir)
        .env("HOME", dir)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env("NO_COLOR", "1")
        .timeout(Duration::from_secs(60));
    cmd
}

/// Runs the binary in `dir` with `args`.
pub fn run_in(dir: &Path, args: &[&str]) -> Run {
    let out = sparkplane(dir).args(args).output().expect("the binary runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// This month's spend of the logs in `history` at [`PRICES`] (in `dir`), as
/// `sparkplane cost` reports it: the amount budgets are checked against.
pub fn ledger_spend(dir: &Path, history: &str) -> f64 {
    let r = run_in(dir, &["cost", history, "--price-sheet", "prices.yaml", "--since", "31d", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).expect("cost JSON");
    let rows = report["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1, "one team: {rows:?}");
    assert_eq!(rows[0]["key"], "team-a", "the log is team-a's");
    let spend = report["totalCost"].as_f64().expect("totalCost");
    assert!(spend > 1.0, "the real run costs a readable amount at these prices: {spend}");
    spend
}
