//! A real Prometheus (Debian's `prometheus` package) scraping the exporter over
//! real Spark event logs, with sparkplane's generated rules loaded: the series
//! arrive as registered, every rule loads and evaluates, and an alert and an SLO
//! recording rule react to a failure the exporter picks up while it runs.

use crate::exporter_common;

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;
use sparkplane_analysis::cost::PriceSheet;
use sparkplane_observe::exporter::{Exporter, serve};
use sparkplane_observe::rules::{self, RuleOptions};
use sparkplane_observe::slo::{SloScope, SuccessSlo, slo_groups};

const PROMETHEUS: &str = "/usr/bin/prometheus";
const FAILING_JOB: &str = "sparkplane-eventlog-failing";

/// The Prometheus child process, killed and reaped when dropped.
struct Prometheus(Child);

impl Drop for Prometheus {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("addr").port()
}

/// Calls `probe` every 200 ms until it returns something, for at most `limit`.
fn poll<T>(what: &str, limit: Duration, mut probe: impl FnMut() -> Result<T, String>) -> T {
    let started = Instant::now();
    loop {
        match probe() {
            Ok(found) => return found,
            Err(last) if started.elapsed() > limit => panic!("timed out after {limit:?} waiting for {what}: {last}"),
            Err(_) => std::thread::sleep(Duration::from_millis(200)),
        }
    }
}

fn api(prometheus: SocketAddr, path: &str) -> Result<Value, String> {
    let url = format!("http://{prometheus}{path}");
    let mut response = ureq::get(&url).call().map_err(|e| format!("{url}: {e}"))?;
    let body = response.body_mut().read_to_string().map_err(|e| e.to_string())?;
    let value: Value = serde_json::from_str(&body).map_err(|e| format!("{e}: {body}"))?;
    if value["status"] != "success" {
        return Err(body);
    }
    Ok(value["data"].clone())
}

fn query(prometheus: SocketAddr, promql: &str) -> Result<Vec<Value>, String> {
    let mut encoded = String::new();
    for byte in promql.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'~' => encoded.push(byte as char),
            _ => encoded.push_str(&format!("%{byte:02X}")),
        }
    }
    let data = api(prometheus, &format!("/api/v1/query?query={encoded}"))?;
    Ok(data["result"].as_array().cloned().unwrap_or_default())
}

fn sample(series: &Value) -> f64 {
    series["value"][1].as_str().and_then(|v| v.parse().ok()).unwrap_or(f64::NAN)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

#[test]
fn prometheus_scrapes_the_exporter_and_evaluates_the_rules_on_live_data() {
    assert!(
        Path::new(PROMETHEUS).is_file(),
        "{PROMETHEUS} is missing: install Debian's Prometheus with `apt-get install prometheus`"
    );
    let logs = exporter_common::copy_fixtures();
    let work = tempfile::tempdir().expect("tempdir");

    // The exporter: scanning every 300 ms on its own thread, serving on a free loopback port.
    let mut exporter = Exporter::new(logs.path(), PriceSheet::opencost_defaults());
    exporter.scan();
    let server = serve("127.0.0.1:0".parse().expect("addr"), exporter.view()).expect("exporter serves");
    let stop = Arc::new(AtomicBool::new(false));
    let scanning = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || exporter.run_until(Duration::from_millis(300), &stop))
    };

    // The rules sparkplane generates, plus a success SLO on the failing job.
    let options = RuleOptions::default();
    let mut groups = rules::builtin_groups(&options);
    let slo = SuccessSlo { name: "failing-success".into(), scope: SloScope::Job(FAILING_JOB.into()), objective: 0.99 };
    groups.extend(slo_groups(&[slo]).expect("valid SLO"));
    std::fs::write(work.path().join("rules.yaml"), rules::to_yaml(&rules::to_prometheus(&groups, &options)))
        .expect("write rules");
    let config = format!(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n\
         rule_files:\n  - rules.yaml\n\
         scrape_configs:\n  - job_name: {job}\n    honor_labels: true\n    static_configs:\n      - targets: ['{target}']\n",
        job = options.exporter_job,
        target = server.local_addr(),
    );
    std::fs::write(work.path().join("prometheus.yml"), config).expect("write config");

    let port = free_port();
    let prometheus: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let log = std::fs::File::create(work.path().join("prometheus.log")).expect("log file");
    let child = Command::new(PROMETHEUS)
        .current_dir(work.path())
        .arg(format!("--config.file={}", work.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", work.path().join("data").display()))
        .arg(format!("--web.listen-address={prometheus}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .spawn()
        .expect("prometheus starts");
    let _prometheus = Prometheus(child);
    let prometheus_log = || std::fs::read_to_string(work.path().join("prometheus.log")).unwrap_or_default();
    let limit = Duration::from_secs(60);

    // 1. The outcome series arrive: both outcomes of each of the three jobs, labelled by the registry's labels.
    let outcomes = poll("the outcome series", limit, || {
        let result = query(prometheus, "sparkplane_app_outcome_total")?;
        if result.len() == 6 { Ok(result) } else { Err(format!("{result:?}\n{}", prometheus_log())) }
    });
    for series in &outcomes {
        let labels = series["metric"].as_object().expect("labels");
        let mut names: Vec<&str> = labels.keys().map(String::as_str).collect();
        names.sort_unstable();
        let want = ["__name__", "cost_center", "instance", "job", "namespace", "outcome", "sparkjob", "team"];
        assert_eq!(names, want, "{series}");
        assert_eq!(labels["job"], options.exporter_job.as_str());
    }
    let failed = |job: &str| {
        let promql = format!("sparkplane_app_outcome_total{{sparkjob=\"{job}\", outcome=\"failed\"}}");
        query(prometheus, &promql).ok().and_then(|r| r.first().map(sample))
    };
    assert_eq!(failed(FAILING_JOB), Some(1.0));
    assert_eq!(failed("sparkplane-eventlog-fixture"), Some(0.0));

    // 2. Every generated rule loads, and each group has been evaluated with health "ok".
    poll("every rule evaluated with health ok", limit, || {
        let data = api(prometheus, "/api/v1/rules")?;
        let loaded = data["groups"].as_array().cloned().unwrap_or_default();
        if loaded.len() != groups.len() {
            return Err(format!("{} of {} groups loaded\n{}", loaded.len(), groups.len(), prometheus_log()));
        }
        let rules: Vec<&Value> = loaded.iter().flat_map(|g| g["rules"].as_array().into_iter().flatten()).collect();
        let expected: usize = groups.iter().map(|g| g.rules.len()).sum();
        if rules.len() != expected {
            return Err(format!("{} of {expected} rules loaded", rules.len()));
        }
        let pending: Vec<String> = rules
            .iter()
            .filter(|r| r["health"] != "ok" || r["lastEvaluation"].as_str().is_none_or(|t| t.starts_with("0001")))
            .map(|r| format!("{} {} {}", r["name"], r["health"], r["lastError"]))
            .collect();
        if pending.is_empty() { Ok(()) } else { Err(pending.join("\n")) }
    });

    // 3. Live data: one more failure of the failing job appears while everything runs.
    // The exporter picks the new log up, the counter goes 1 → 2, the job-failed alert
    // fires for that job, and the SLO's error ratio over 5m becomes 1 (every run failed).
    copy_dir(
        &logs.path().join("eventlog_v2_local-1795265044180"),
        &logs.path().join("eventlog_v2_local-1795265099999"),
    );
    poll("the second failure", limit, || match failed(FAILING_JOB) {
        Some(2.0) => Ok(()),
        other => Err(format!("{other:?}")),
    });
    let alerts = poll("SparkJobFailed firing", limit, || {
        let data = api(prometheus, "/api/v1/alerts")?;
        let alerts: Vec<Value> = data["alerts"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|a| a["labels"]["alertname"] == "SparkJobFailed" && a["state"] == "firing")
            .cloned()
            .collect();
        if alerts.is_empty() { Err(format!("{data}")) } else { Ok(alerts) }
    });
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["labels"]["sparkjob"], FAILING_JOB);
    let ratio = poll("the SLO error ratio", limit, || {
        let result = query(prometheus, "sparkplane:slo_error_ratio:rate5m{slo=\"failing-success\"}")?;
        match result.first().map(sample) {
            Some(ratio) if ratio.is_finite() => Ok(ratio),
            other => Err(format!("{other:?}")),
        }
    });
    assert_eq!(ratio, 1.0);
    // The exporter's own health, as Prometheus saw it.
    let up = query(prometheus, "sparkplane_exporter_up").expect("query");
    assert_eq!(up.first().map(sample), Some(1.0));

    stop.store(true, Ordering::SeqCst);
    scanning.join().expect("scan thread");
}
