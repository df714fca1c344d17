//! Spark's own metrics, scraped for real: `sparkplane run` on the example ETL
//! job (metrics are on by default), a real Prometheus (Debian's `prometheus`)
//! on 127.0.0.1 scraping the local driver's UI every second with the scrape
//! configuration `sparkplane observe monitors --format scrape-config`
//! writes, and afterwards every `metrics_*` series a rule or dashboard reads
//! must be in Prometheus. Run for the example's own Spark line (3.5) and for
//! 4.1. Also `observe monitors`' bad input.
//!
//! Needs the managed 3.5 and 4.1 runtimes and Java (scripts/test.sh installs
//! them) and /usr/bin/prometheus (need_promtool in scripts/common.sh).

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const PROMETHEUS: &str = "/usr/bin/prometheus";

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn bin() -> PathBuf {
    sparkplane_testkit::cli::binary()
}

/// A child process killed and reaped when dropped.
struct Reaped(Child);

impl Drop for Reaped {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").expect("a free port").local_addr().expect("addr").port()
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

fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
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

/// A SPARKPLANE_HOME of its own sharing the installed runtimes, and a copy of
/// the example job with freshly generated sample data.
struct Workspace {
    home: tempfile::TempDir,
    jobs: tempfile::TempDir,
}

fn workspace() -> Workspace {
    let installed =
        sparkplane_local::runtime::runtimes_dir(&sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME"));
    for line in ["3.5", "4.1"] {
        assert!(
            installed.join(line).join(sparkplane_local::runtime::MARKER_FILE).is_file(),
            "no Spark {line} runtime in {}: run `sparkplane runtime install {line}` (scripts/test.sh does)",
            installed.display()
        );
    }
    let home = tempfile::tempdir().expect("home");
    std::os::unix::fs::symlink(&installed, home.path().join("runtimes")).expect("link runtimes");
    let jobs = tempfile::tempdir().expect("jobs");
    let example = repo().join("examples/trips-etl");
    for file in ["trips-etl.yaml", "trips-etl.local.yaml", "trips-dq.yaml", "trips_etl.py", "generate_trips.py"] {
        std::fs::copy(example.join(file), jobs.path().join(file)).expect("copy the example");
    }
    let generated = Command::new("python3")
        .arg(jobs.path().join("generate_trips.py"))
        .output()
        .expect("python3 generates the sample trips");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    Workspace { home, jobs }
}

impl Workspace {
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(bin());
        cmd.args(args)
            .env("SPARKPLANE_HOME", self.home.path())
            .env_remove("SPARK_HOME")
            .env("NO_COLOR", "1")
            .current_dir(self.jobs.path());
        cmd
    }

    /// The UI port of the run now recorded as running (the record is written before Spark starts).
    fn running_ui_port(&self) -> Result<u16, String> {
        let out = self.command(&["runs", "list", "-o", "json"]).output().map_err(|e| e.to_string())?;
        let runs: Value = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
        let running = runs.as_array().into_iter().flatten().find(|r| r["state"] == "running");
        let url = running.and_then(|r| r["uiUrl"].as_str()).ok_or("no running run yet")?;
        url.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or_else(|| format!("no port in {url}"))
    }
}

/// Runs the example with `sets`, scraped by a real Prometheus at 1 s with the
/// configuration sparkplane generates; returns every `metrics_*` series
/// Prometheus holds afterwards (name and labels) and the number of scrapes
/// of each of the two endpoints that succeeded.
fn scrape_a_run(ws: &Workspace, sets: &[&str]) -> (Vec<Value>, [usize; 2]) {
    let out = ws.jobs.path().join("run.out");
    let mut args = vec!["run", "trips-etl.yaml"];
    for set in sets {
        args.extend(["--set", set]);
    }
    let run = ws
        .command(&args)
        .stdout(std::fs::File::create(&out).expect("run.out"))
        .stderr(std::fs::File::create(ws.jobs.path().join("run.err")).expect("run.err"))
        .spawn()
        .expect("sparkplane run starts");
    let mut run = Reaped(run);
    let ui_port = poll("the run's record", Duration::from_secs(120), || ws.running_ui_port());

    let work = tempfile::tempdir().expect("prometheus dir");
    let target = format!("127.0.0.1:{ui_port}");
    let config = ws
        .command(&["observe", "monitors", "--format", "scrape-config", "--interval", "1s", "--target", &target])
        .output()
        .expect("observe monitors");
    assert!(config.status.success(), "{}", String::from_utf8_lossy(&config.stderr));
    std::fs::write(work.path().join("prometheus.yml"), &config.stdout).expect("write the config");
    let prometheus: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let child = Command::new(PROMETHEUS)
        .current_dir(work.path())
        .arg(format!("--config.file={}", work.path().join("prometheus.yml").display()))
        .arg(format!("--storage.tsdb.path={}", work.path().join("data").display()))
        .arg(format!("--web.listen-address={prometheus}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(work.path().join("prometheus.log")).expect("log"))
        .spawn()
        .expect("prometheus starts");
    let _prometheus = Reaped(child);
    let log = || std::fs::read_to_string(work.path().join("prometheus.log")).unwrap_or_default();
    poll("Prometheus to be ready", Duration::from_secs(30), || {
        ureq::get(&format!("http://{prometheus}/-/ready")).call().map(|_| ()).map_err(|e| format!("{e}\n{}", log()))
    });

    let started = Instant::now();
    let status = loop {
        if let Some(status) = run.0.try_wait().expect("wait") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(600), "the run did not end in 10 minutes");
        std::thread::sleep(Duration::from_millis(250));
    };
    let read = |name: &str| std::fs::read_to_string(ws.jobs.path().join(name)).unwrap_or_default();
    assert!(status.success(), "the run failed\n{}\n{}", read("run.out"), read("run.err"));

    let series = api(prometheus, &format!("/api/v1/series?match[]={}", encode("{__name__=~\"metrics_.+\"}")))
        .expect("the series API answers");
    let series = series.as_array().cloned().unwrap_or_default();
    let mut scrapes = [0; 2];
    for (i, job) in ["sparkplane-spark-executors", "sparkplane-spark-driver"].into_iter().enumerate() {
        let promql = encode(&format!("sum_over_time(up{{job=\"{job}\"}}[1h])"));
        let result = api(prometheus, &format!("/api/v1/query?query={promql}")).expect("query");
        scrapes[i] =
            result["result"][0]["value"][1].as_str().and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) as usize;
    }
    assert!(!series.is_empty(), "Prometheus holds no metrics_* series; scrapes {scrapes:?}\n{}", log());
    (series, scrapes)
}

#[test]
fn slow_prometheus_scrapes_every_spark_series_the_rules_and_dashboards_read_from_a_local_run() {
    assert!(Path::new(PROMETHEUS).is_file(), "{PROMETHEUS} is missing: apt-get install prometheus");
    let used = sparkplane_observe::monitors::spark_series_in_use();
    assert!(!used.is_empty(), "the rules read Spark's executor metrics");
    let ws = workspace();
    // The example's own Spark line (3.5, from its preset), then 4.1.
    for sets in [&[][..], &["spec.sparkVersion=4.1.4"][..]] {
        let (series, scrapes) = scrape_a_run(&ws, sets);
        let names: BTreeSet<&str> = series.iter().filter_map(|s| s["__name__"].as_str()).collect();
        eprintln!("{sets:?}: {} metrics_* names, successful scrapes (executors, driver) {scrapes:?}", names.len());
        for name in &used {
            assert!(names.contains(name), "{sets:?}: {name} was never scraped; Prometheus has {names:?}");
        }
        // Spark's executor metrics name the application; the rules group by it.
        let memory = series.iter().find(|s| s["__name__"] == "metrics_executor_memoryUsed_bytes").expect("scraped");
        assert_eq!(memory["application_name"], "trips-etl", "{memory}");
        assert_eq!(memory["executor_id"], "driver", "{memory}");
        // The driver's own metrics, under the fixed namespace rather than the application id.
        assert!(names.contains("metrics_spark_driver_DAGScheduler_job_allJobs_Value"), "{sets:?}: {names:?}");
        assert!(names.iter().all(|n| !n.starts_with("metrics_local_")), "a metric named by the app id: {names:?}");
        assert!(scrapes[0] >= 1 && scrapes[1] >= 1, "{sets:?}: scrapes {scrapes:?}");
    }
}

#[test]
fn observe_monitors_refuses_bad_input_with_exit_2_and_prints_nothing() {
    let cases: [(&[&str], &str); 3] = [
        (
            &["--interval", "5x"],
            "error: --interval 5x is not a Prometheus duration\n  help: write a number and a unit, e.g. 30s, 1m or 1m30s\n",
        ),
        (
            &["--target", "127.0.0.1:4040"],
            "error: --target applies to --format scrape-config only: a PodMonitor finds drivers by their label\n  help: add --format scrape-config, or drop --target\n",
        ),
        (
            &["--format", "scrape-config", "--target", "localhost"],
            "error: --target localhost is not HOST:PORT\n  help: name a driver's Spark UI, e.g. --target 127.0.0.1:4040\n",
        ),
    ];
    for (args, message) in cases {
        let out = Command::new(bin()).args(["observe", "monitors"]).args(args).env("NO_COLOR", "1").output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert_eq!(stderr, message, "{args:?}");
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

#[test]
fn observe_monitors_writes_a_pod_monitor_and_a_scrape_config() {
    let out = Command::new(bin())
        .args(["observe", "monitors", "--namespace", "monitoring", "--release", "kps", "-o", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let monitor: Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(monitor["kind"], "PodMonitor");
    assert_eq!(monitor["metadata"]["labels"]["release"], "kps");
    assert_eq!(monitor["spec"]["selector"]["matchLabels"]["sparkplane.dev/metrics"], "prometheus");
    let out = Command::new(bin()).args(["observe", "monitors", "--format", "scrape-config"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.starts_with("---\nscrape_configs:\n"), "{text}");
    assert!(text.contains("kubernetes_sd_configs"), "{text}");
}
