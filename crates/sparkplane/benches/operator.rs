//! Operator throughput on the simulated cluster (issue #15 §3): N SparkJobs
//! (10,000 by default) created at once, against `sparkplane operator` run as
//! its own process, as a user runs it.
//!
//! Measures applications per minute from creation to driver pod created and
//! to Succeeded, the latency from creation to the driver pod, the operator
//! process's CPU-seconds and peak RSS, and the API requests it sent per
//! application (counted by the API server, not by the operator). The anchor
//! is the Kubeflow Spark Operator's published ~130 applications a minute.
//!
//! The API server is the fake of `sparkplane-fakekube` grown into a
//! simulated cluster, in this process: this is not a real cluster, and the
//! numbers say what the operator does, not what etcd or kube-apiserver would.
//!
//! `cargo bench -p sparkplane --bench operator` (environment:
//! `OPERATOR_BENCH_JOBS`, default 10000; `OPERATOR_BENCH_RATE`, jobs created
//! per minute, default 0: all at once; `OPERATOR_BENCH_CONCURRENCY`, the
//! operator's `--concurrency`, default its own; `OPERATOR_BENCH_RUN_MS`, how
//! long each driver runs, default 1000; `OPERATOR_BENCH_KIND=kubeflow`: the
//! SparkJobs and the same applications as Kubeflow SparkApplications against
//! `sparkplane operator --kubeflow`, each run on a fresh simulated cluster
//! (Kubeflow's CRDs stored for the SparkApplications), in the order SparkJobs,
//! SparkApplications, SparkApplications, SparkJobs (`OPERATOR_BENCH_ROUNDS`
//! times, default 1), every run and the pairs side by side; `OPERATOR_BENCH_ADMISSION=kueue`:
//! after the SparkJobs, the same SparkJobs against `sparkplane operator
//! --kueue` on a fresh simulated cluster with Kueue's CRDs and admission
//! stand-in, and both runs side by side).
//!
//! When a bench has several runs, each runs in a fresh process of this
//! executable (`OPERATOR_BENCH_ONE_RUN` names the run; its report is passed
//! through and its figures read back from its last line), so that nothing
//! of one run — its simulated API server's gigabytes, the allocator's state
//! they leave, a thread still ending — weighs on the next, and A-B-B-A
//! compares like with like.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use kube::api::{Api, DynamicObject, PostParams};
use kube::core::{ApiResource, GroupVersionKind};
use kube::runtime::watcher;
use serde_json::Value;
use sparkplane_fakekube::{Cluster, DriverRun, FakeApiServer, Node};

#[path = "operator/kubeflow.rs"]
mod kubeflow;
#[path = "operator/kueue.rs"]
mod kueue;

/// What the bench creates: SparkJobs, or Kubeflow SparkApplications (`--kubeflow`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    SparkJob,
    Kubeflow,
}

impl Kind {
    fn plural(self) -> &'static str {
        match self {
            Kind::SparkJob => "SparkJobs",
            Kind::Kubeflow => "SparkApplications",
        }
    }

    fn resource(self) -> ApiResource {
        match self {
            Kind::SparkJob => gvk_resource("sparkplane.dev", "v1alpha1", "SparkJob", "sparkjobs"),
            Kind::Kubeflow => gvk_resource("sparkoperator.k8s.io", "v1beta2", "SparkApplication", "sparkapplications"),
        }
    }

    /// Succeeded or Failed, once the resource ended.
    fn ended(self, object: &Value) -> Option<&'static str> {
        match (self, object["status"]["state"].as_str()) {
            (Kind::Kubeflow, _) => kubeflow::ended(object),
            (Kind::SparkJob, Some("Succeeded")) => Some("Succeeded"),
            (Kind::SparkJob, Some("Failed")) => Some("Failed"),
            (Kind::SparkJob, _) => None,
        }
    }
}

const NAMESPACE: &str = "bench";
const BENCH_AGENT: &str = "sparkplane-bench";
/// The Kubeflow Spark Operator's published throughput (its benchmarking
/// doc: 10 workers on a 36-vCPU controller node).
const KUBEFLOW_APPS_PER_MINUTE: f64 = 130.0;
/// Requests per application of spark-submit (3, measured against the fake
/// by bench/submit.sh) plus the Kubeflow operator's for a successful
/// application before any executor is counted (14: status updates, the UI
/// Service and its updates, Events; counted from its controller's code, see
/// docs/benchmarks.md). Each executor adds more on Kubeflow's side; this
/// anchor leaves them out, so it is the lowest Kubeflow can do.
const SPARK_SUBMIT_REQUESTS: f64 = 3.0;
const KUBEFLOW_OPERATOR_REQUESTS: f64 = 14.0;

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: template, namespace: bench}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/nightly.py
  image: {repository: registry.example.com/team-a/nightly, tag: \"1.0.0\"}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  restartPolicy: {type: OnFailure, retries: 1}
";

/// Set by the bench for the fresh process of one of its runs: `sparkjob`,
/// `kubeflow` or `kueue` (the SparkJobs with `--kueue`).
const ONE_RUN: &str = "OPERATOR_BENCH_ONE_RUN";
/// Starts the last line of a run's process: its figures, as JSON.
const SUMMARY_LINE: &str = "operator-bench-summary: ";

fn one_run_name(kind: Kind, kueue: bool) -> &'static str {
    match (kind, kueue) {
        (Kind::SparkJob, false) => "sparkjob",
        (Kind::Kubeflow, _) => "kubeflow",
        (Kind::SparkJob, true) => "kueue",
    }
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() -> ExitCode {
    // `cargo bench` passes `--bench`. Test runners build benchmarks too and
    // run them (or list them, `--list`): the 10,000-job run is not a test.
    if !std::env::args().any(|a| a == "--bench") {
        return ExitCode::SUCCESS;
    }
    let jobs = usize::try_from(env_number("OPERATOR_BENCH_JOBS", 10_000)).unwrap_or(10_000);
    let run_ms = env_number("OPERATOR_BENCH_RUN_MS", 1_000);
    let concurrency = std::env::var("OPERATOR_BENCH_CONCURRENCY").ok();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let rate = env_number("OPERATOR_BENCH_RATE", 0);
    // One run, in the fresh process its bench started for it (below).
    if let Ok(one) = std::env::var(ONE_RUN) {
        let (kind, kueue) = match one.as_str() {
            "sparkjob" => (Kind::SparkJob, false),
            "kubeflow" => (Kind::Kubeflow, false),
            "kueue" => (Kind::SparkJob, true),
            other => {
                eprintln!("operator bench: {ONE_RUN}={other}: expected sparkjob, kubeflow or kueue");
                return ExitCode::FAILURE;
            }
        };
        return match bench(kind, jobs, run_ms, rate, concurrency.as_deref(), kueue) {
            Ok(summary) => {
                println!("{SUMMARY_LINE}{}", summary.to_json());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("operator bench ({}): {e}", kind.plural());
                ExitCode::FAILURE
            }
        };
    }
    let kinds = match std::env::var("OPERATOR_BENCH_KIND").as_deref() {
        Err(_) | Ok("sparkjob") => vec![Kind::SparkJob],
        // A-B-B-A, as many rounds as asked: a load that rises or falls during
        // the bench weighs on both kinds alike.
        Ok("kubeflow") => {
            let rounds = env_number("OPERATOR_BENCH_ROUNDS", 1).clamp(1, 10);
            (0..rounds).flat_map(|_| [Kind::SparkJob, Kind::Kubeflow, Kind::Kubeflow, Kind::SparkJob]).collect()
        }
        Ok(other) => {
            eprintln!("operator bench: OPERATOR_BENCH_KIND={other}: expected sparkjob or kubeflow");
            return ExitCode::FAILURE;
        }
    };
    // Kueue admission: the SparkJobs once more, admitted by Kueue (--kueue).
    let with_kueue = match std::env::var("OPERATOR_BENCH_ADMISSION").as_deref() {
        Err(_) | Ok("builtin") => false,
        Ok("kueue") if kinds == [Kind::SparkJob] => true,
        Ok(other) => {
            eprintln!("operator bench: OPERATOR_BENCH_ADMISSION={other}: expected builtin or kueue (with SparkJobs)");
            return ExitCode::FAILURE;
        }
    };
    let runs: Vec<(Kind, bool)> =
        kinds.iter().map(|k| (*k, false)).chain(with_kueue.then_some((Kind::SparkJob, true))).collect();
    let mut summaries = Vec::new();
    for &(kind, kueue) in &runs {
        let summary = match runs.len() {
            1 => bench(kind, jobs, run_ms, rate, concurrency.as_deref(), kueue),
            _ => run_apart(kind, kueue),
        };
        match summary {
            Ok(summary) => summaries.push(summary),
            Err(e) => {
                eprintln!("operator bench ({}): {e}", kind.plural());
                return ExitCode::FAILURE;
            }
        }
    }
    match summaries.as_slice() {
        [plain, admitted] if with_kueue => kueue::print_side_by_side(plain, admitted),
        _ if kinds.contains(&Kind::Kubeflow) => kubeflow::print_side_by_side(&summaries),
        _ => {}
    }
    ExitCode::SUCCESS
}

/// One run in a fresh process of this executable: its report passed
/// through to stdout, its figures read back from its last line.
fn run_apart(kind: Kind, kueue: bool) -> Result<kubeflow::Summary, String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the bench's executable: {e}"))?;
    let mut child = Command::new(exe)
        .arg("--bench")
        .env(ONE_RUN, one_run_name(kind, kueue))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("cannot start the run's process: {e}"))?;
    let stdout = child.stdout.take().ok_or("the run's process has no stdout")?;
    let mut summary = None;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading the run's report: {e}"))?;
        match line.strip_prefix(SUMMARY_LINE) {
            Some(figures) => {
                let figures: Value = serde_json::from_str(figures).map_err(|e| format!("the run's figures: {e}"))?;
                summary = Some(kubeflow::Summary::from_json(&figures).ok_or("the run's figures are incomplete")?);
            }
            None => println!("{line}"),
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for the run's process: {e}"))?;
    if !status.success() {
        return Err(format!("the run's process ended with {status}"));
    }
    summary.ok_or_else(|| "the run's process printed no figures".to_owned())
}

/// What the bench saw happen to each job, by name.
#[derive(Default)]
struct Seen {
    created: HashMap<String, Instant>,
    driver: HashMap<String, Instant>,
    finished: HashMap<String, (Instant, String)>,
}

fn bench(
    kind: Kind,
    jobs: usize,
    run_ms: u64,
    rate: u64,
    concurrency: Option<&str>,
    with_kueue: bool,
) -> Result<kubeflow::Summary, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let template = match kind {
        Kind::SparkJob => template(dir.path())?,
        Kind::Kubeflow => kubeflow::template(NAMESPACE),
    };
    let fake = FakeApiServer::start().map_err(|e| e.to_string())?;
    // The SparkJob CRD as the chart installs it: every SparkJob write is pruned and validated against it.
    let crd = serde_json::to_value(sparkplane_api::crd::crd()).map_err(|e| e.to_string())?;
    fake.insert(crd).ok_or("the SparkJob CRD was not stored")?;
    if kind == Kind::Kubeflow {
        kubeflow::install_crds(&fake)?;
    }
    if with_kueue {
        kueue::install(&fake, NAMESPACE, jobs)?;
        eprintln!("Kueue mode: Kueue's CRDs and admission stand-in installed, the operator runs with --kueue");
    }
    fake.set_cluster(cluster(jobs, run_ms));
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(&kubeconfig, fake.kubeconfig(NAMESPACE)).map_err(|e| e.to_string())?;
    let extra: &[&str] = match (kind, with_kueue) {
        (Kind::Kubeflow, _) => &["--kubeflow"],
        (Kind::SparkJob, true) => &["--kueue"],
        (Kind::SparkJob, false) => &[],
    };
    let mut operator = start_operator(&kubeconfig, dir.path(), concurrency, extra)?;
    let pid = operator.child.id();

    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let (load_before, bench_cpu_before) = (load_average(), own_cpu_seconds());
    let result = runtime.block_on(drive(kind, &fake, &template, jobs, rate, Arc::clone(&seen)));
    let cpu = process_cpu_seconds(pid);
    let peak_rss = process_peak_rss_bytes(pid);
    let bench_cpu = own_cpu_seconds().zip(bench_cpu_before).map(|(after, before)| after - before);
    let load = (load_before, load_average());
    operator.stop();
    let (t0, created_all) = result?;

    let operator_requests: Vec<_> =
        fake.requests().into_iter().filter(|r| r.user_agent.as_deref() != Some(BENCH_AGENT)).collect();
    let seen = seen.lock().map_err(|e| e.to_string())?;
    if with_kueue {
        println!(
            "\n# Kueue mode: `sparkplane operator --kueue`, Workloads admitted by the simulated cluster's stand-in\n"
        );
    }
    let figures = Report { kind, jobs, run_ms, rate, t0, created_all, seen: &seen, cpu, peak_rss, operator_requests };
    Ok(kubeflow::Summary {
        kind: kind.plural(),
        bench_cpu_ms_per_job: bench_cpu.map(|s| s * 1e3 / jobs as f64),
        load,
        ..report(&figures)
    })
}

/// The SparkJob `sparkplane apply` stores for [`JOB`], read back from a
/// throwaway fake so the bench creates exactly what users do.
fn template(dir: &std::path::Path) -> Result<Value, String> {
    let scratch = FakeApiServer::start().map_err(|e| e.to_string())?;
    let kubeconfig = dir.join("scratch-kubeconfig");
    std::fs::write(&kubeconfig, scratch.kubeconfig(NAMESPACE)).map_err(|e| e.to_string())?;
    let job = dir.join("job.yaml");
    std::fs::write(&job, JOB).map_err(|e| e.to_string())?;
    let out = Command::new(env!("CARGO_BIN_EXE_sparkplane"))
        .arg("apply")
        .arg(&job)
        .env("KUBECONFIG", &kubeconfig)
        .env("HOME", dir)
        .env("NO_COLOR", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("sparkplane apply failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut stored = scratch
        .object("sparkplane.dev/v1alpha1", "SparkJob", Some(NAMESPACE), "template")
        .ok_or("sparkplane apply stored no SparkJob")?;
    let meta = stored["metadata"].as_object_mut().ok_or("a SparkJob without metadata")?;
    meta.retain(|k, _| matches!(k.as_str(), "name" | "namespace" | "labels" | "annotations"));
    Ok(stored)
}

/// Enough nodes for every driver at once, drivers that succeed after `run_ms`.
fn cluster(jobs: usize, run_ms: u64) -> Cluster {
    let nodes = jobs.div_ceil(100).max(1);
    Cluster {
        nodes: (0..nodes)
            .map(|i| {
                let mut node = Node::new(&format!("node-{i:04}"), 256, 1024);
                node.max_pods = 250;
                node
            })
            .collect(),
        default_run: DriverRun::succeeds(Duration::from_millis(run_ms), "done\n"),
        ..Cluster::default()
    }
}

struct OperatorProcess {
    child: Child,
    /// The operator's last lines on stderr (for errors).
    tail: Arc<Mutex<Vec<String>>>,
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl OperatorProcess {
    /// Stops the operator and says what it last wrote.
    fn failed(&mut self, what: &str) -> String {
        self.stop();
        std::thread::sleep(Duration::from_millis(100));
        let tail = self.tail.lock().unwrap_or_else(|p| p.into_inner()).join("\n");
        format!("the operator {what}; its last lines:\n{tail}")
    }

    fn stop(&mut self) {
        // SAFETY: kill(2) with the pid of a child this bench started and a valid signal.
        unsafe {
            libc::kill(i32::try_from(self.child.id()).unwrap_or(0), libc::SIGTERM);
        }
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_operator(
    kubeconfig: &std::path::Path,
    home: &std::path::Path,
    concurrency: Option<&str>,
    extra: &[&str],
) -> Result<OperatorProcess, String> {
    let mut command = Command::new(env!("CARGO_BIN_EXE_sparkplane"));
    command.args(["operator", "-n", NAMESPACE, "--metrics-address", "127.0.0.1:0"]).args(extra);
    if let Some(c) = concurrency {
        command.args(["--concurrency", c]);
    }
    let mut child = command
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env("NO_COLOR", "1")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("POD_NAME")
        .env_remove("POD_NAMESPACE")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the operator: {e}"))?;
    let stderr = child.stderr.take().ok_or("no stderr")?;
    let (tx, rx) = std::sync::mpsc::channel::<String>();
    let tail = Arc::new(Mutex::new(Vec::new()));
    {
        let tail = Arc::clone(&tail);
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if line.contains("metrics on http://") {
                    let _ = tx.send(line.clone());
                }
                if std::env::var("OPERATOR_BENCH_VERBOSE").is_ok() {
                    eprintln!("operator: {line}");
                }
                let mut tail = tail.lock().unwrap_or_else(|p| p.into_inner());
                if tail.len() >= 20 {
                    tail.remove(0);
                }
                tail.push(line);
            }
        });
    }
    let mut operator = OperatorProcess { child, tail };
    let line = rx.recv_timeout(Duration::from_secs(30)).map_err(|_| operator.failed("never served its metrics"))?;
    let address = line
        .split("http://")
        .nth(1)
        .and_then(|rest| rest.split('/').next())
        .ok_or_else(|| format!("unexpected line: {line}"))?
        .to_owned();
    let started = Instant::now();
    loop {
        if ureq::get(&format!("http://{address}/readyz")).call().is_ok() {
            return Ok(operator);
        }
        if started.elapsed() > Duration::from_secs(30) {
            return Err(operator.failed("never became ready"));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn client(fake: &FakeApiServer) -> Result<kube::Client, String> {
    let mut config = kube::Config::new(fake.url().parse().map_err(|e| format!("{e}"))?);
    config.headers.push((http::header::USER_AGENT, http::HeaderValue::from_static(BENCH_AGENT)));
    kube::Client::try_from(config).map_err(|e| e.to_string())
}

fn gvk_resource(group: &str, version: &str, kind: &str, plural: &str) -> ApiResource {
    ApiResource::from_gvk_with_plural(&GroupVersionKind::gvk(group, version, kind), plural)
}

/// Watches drivers and jobs, creates the jobs, waits until every job ended.
async fn drive(
    kind: Kind,
    fake: &FakeApiServer,
    template: &Value,
    jobs: usize,
    rate_per_minute: u64,
    seen: Arc<Mutex<Seen>>,
) -> Result<(Instant, Instant), String> {
    let client = client(fake)?;
    let pods: Api<DynamicObject> =
        Api::namespaced_with(client.clone(), NAMESPACE, &gvk_resource("", "v1", "Pod", "pods"));
    let sparkjobs: Api<DynamicObject> = Api::namespaced_with(client.clone(), NAMESPACE, &kind.resource());
    let (ready_tx, mut ready_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    {
        let seen = Arc::clone(&seen);
        let ready = ready_tx.clone();
        let drivers = watcher(pods, watcher::Config::default().labels("sparkplane.dev/job,spark-role=driver"));
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(drivers);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::InitDone) => {
                        let _ = ready.send(());
                    }
                    Ok(watcher::Event::Apply(pod) | watcher::Event::InitApply(pod)) => {
                        let at = Instant::now();
                        if let Some(job) = pod.metadata.labels.as_ref().and_then(|l| l.get("sparkplane.dev/job")) {
                            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                            seen.driver.entry(job.clone()).or_insert(at);
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    {
        let seen = Arc::clone(&seen);
        let ready = ready_tx;
        let watched = watcher(sparkjobs.clone(), watcher::Config::default());
        tokio::spawn(async move {
            let mut stream = std::pin::pin!(watched);
            while let Some(event) = stream.next().await {
                match event {
                    Ok(watcher::Event::InitDone) => {
                        let _ = ready.send(());
                    }
                    Ok(watcher::Event::Apply(job) | watcher::Event::InitApply(job)) => {
                        if let Some(state) = kind.ended(&job.data) {
                            let at = Instant::now();
                            let mut seen = seen.lock().unwrap_or_else(|p| p.into_inner());
                            let name = job.metadata.name.clone().unwrap_or_default();
                            seen.finished.entry(name).or_insert((at, state.to_owned()));
                        }
                    }
                    _ => {}
                }
            }
        });
    }
    for _ in 0..2 {
        ready_rx.recv().await.ok_or("a watch ended before it was ready")?;
    }

    // All at once by default; with a rate, job i is created at i / rate.
    let pace = (rate_per_minute > 0).then(|| Duration::from_secs_f64(60.0 / rate_per_minute as f64));
    match pace {
        Some(_) => eprintln!("creating {jobs} {} at {rate_per_minute} a minute", kind.plural()),
        None => eprintln!("creating {jobs} {}", kind.plural()),
    }
    let t0 = Instant::now();
    let creates = futures::stream::iter(0..jobs)
        .map(|i| {
            let sparkjobs = sparkjobs.clone();
            let seen = Arc::clone(&seen);
            let mut object = template.clone();
            let name = format!("bench-{i:05}");
            object["metadata"]["name"] = Value::String(name.clone());
            async move {
                if let Some(every) = pace {
                    let at = t0 + every.mul_f64(i as f64);
                    tokio::time::sleep_until(at.into()).await;
                }
                let object: DynamicObject = serde_json::from_value(object).map_err(|e| e.to_string())?;
                sparkjobs.create(&PostParams::default(), &object).await.map_err(|e| format!("create {name}: {e}"))?;
                seen.lock().unwrap_or_else(|p| p.into_inner()).created.insert(name, Instant::now());
                Ok::<(), String>(())
            }
        })
        .buffer_unordered(32);
    creates.try_collect::<Vec<()>>().await?;
    let created_all = Instant::now();
    eprintln!("created in {:.1} s; waiting for every job to end", (created_all - t0).as_secs_f64());

    let deadline = Duration::from_secs(env_number("OPERATOR_BENCH_TIMEOUT_S", 1_800));
    let mut last_report = Instant::now();
    loop {
        let (drivers, finished) = {
            let seen = seen.lock().unwrap_or_else(|p| p.into_inner());
            (seen.driver.len(), seen.finished.len())
        };
        if finished >= jobs {
            return Ok((t0, created_all));
        }
        if t0.elapsed() > deadline {
            return Err(format!("after {deadline:?}: {drivers} drivers created, {finished} of {jobs} jobs ended"));
        }
        if last_report.elapsed() > Duration::from_secs(10) {
            eprintln!("  {:>5.0} s: {drivers} drivers, {finished} ended", t0.elapsed().as_secs_f64());
            last_report = Instant::now();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// user + system CPU of `pid`, from /proc (Linux).
fn process_cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command (which may hold spaces) start after the last ')'.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // SAFETY: sysconf with a valid name has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    Some((utime + stime) / ticks)
}

/// user + system CPU of this process so far (the simulated API server and the bench's client), by getrusage(2).
fn own_cpu_seconds() -> Option<f64> {
    // SAFETY: getrusage writes one rusage into the zeroed value it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        (libc::getrusage(libc::RUSAGE_SELF, &mut usage) == 0).then_some(usage)
    }?;
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Some(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// The machine's one-minute load average (/proc/loadavg), to print beside each run.
fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg").ok()?.split_whitespace().next()?.parse().ok()
}

/// The peak resident set (VmHWM) of `pid`, from /proc (Linux).
fn process_peak_rss_bytes(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

struct Report<'a> {
    kind: Kind,
    jobs: usize,
    run_ms: u64,
    rate: u64,
    t0: Instant,
    created_all: Instant,
    seen: &'a Seen,
    cpu: Option<f64>,
    peak_rss: Option<u64>,
    operator_requests: Vec<sparkplane_fakekube::RecordedRequest>,
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn report(r: &Report) -> kubeflow::Summary {
    let seen = r.seen;
    let last = |times: &mut dyn Iterator<Item = Instant>| times.max().map(|t| (t - r.t0).as_secs_f64());
    let to_driver = last(&mut seen.driver.values().copied()).unwrap_or(f64::NAN);
    let to_end = last(&mut seen.finished.values().map(|(t, _)| *t)).unwrap_or(f64::NAN);
    let mut latency: Vec<f64> = seen
        .created
        .iter()
        .filter_map(|(name, created)| Some(seen.driver.get(name)?.saturating_duration_since(*created).as_secs_f64()))
        .collect();
    latency.sort_by(f64::total_cmp);
    let succeeded = seen.finished.values().filter(|(_, s)| s == "Succeeded").count();
    let per_minute = |seconds: f64| r.jobs as f64 / seconds * 60.0;
    let requests = r.operator_requests.len() as f64 / r.jobs as f64;
    let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
    for request in &r.operator_requests {
        let resource = request.path.split('/').filter(|s| !s.is_empty()).collect::<Vec<_>>();
        // /api/v1/namespaces/NS/PLURAL[/NAME[/SUB]] or /apis/G/V/namespaces/NS/PLURAL...
        let after_ns = resource.iter().position(|s| *s == "namespaces").map_or(resource.len(), |i| i + 2);
        let plural = resource.get(after_ns).or(resource.last()).copied().unwrap_or("?");
        let sub = resource.get(after_ns + 2).map(|s| format!("/{s}")).unwrap_or_default();
        let verb = if request.query.get("watch").is_some_and(|w| w == "true" || w == "1") {
            "WATCH".to_owned()
        } else {
            request.method.clone()
        };
        *by_kind.entry(format!("{verb} {plural}{sub}")).or_default() += 1;
    }

    let arrival = match r.rate {
        0 => "created at once".to_owned(),
        rate => format!("created at {rate} a minute"),
    };
    println!(
        "## Operator on the simulated cluster: {} {} {arrival}, drivers running {} ms\n",
        r.jobs,
        r.kind.plural(),
        r.run_ms
    );
    println!("| measure | sparkplane operator | anchor | ratio |");
    println!("|---|---|---|---|");
    println!(
        "| created → driver pod created, all jobs | {:.1} s ({:.0} apps/min) | Kubeflow ~{KUBEFLOW_APPS_PER_MINUTE:.0}/min | {:.0}× |",
        to_driver,
        per_minute(to_driver),
        per_minute(to_driver) / KUBEFLOW_APPS_PER_MINUTE
    );
    println!("| created → Succeeded, all jobs | {:.1} s ({:.0} apps/min) | | |", to_end, per_minute(to_end));
    println!("| jobs Succeeded | {succeeded} of {} | | |", r.jobs);
    println!(
        "| creation → driver pod, p50 / p99 / max | {:.0} / {:.0} / {:.0} ms | target p99 < 1,000 ms | |",
        percentile(&latency, 50.0) * 1e3,
        percentile(&latency, 99.0) * 1e3,
        latency.last().copied().unwrap_or(f64::NAN) * 1e3
    );
    println!("| creating the {} jobs took | {:.1} s | | |", r.jobs, (r.created_all - r.t0).as_secs_f64());
    match r.cpu {
        Some(cpu) => println!("| operator CPU | {cpu:.1} s ({:.2} ms per job) | | |", cpu * 1e3 / r.jobs as f64),
        None => println!("| operator CPU | unknown (/proc unreadable) | | |"),
    }
    match r.peak_rss {
        Some(rss) => println!("| operator peak RSS | {:.1} MiB | target ≤ 128 MiB | |", rss as f64 / 1_048_576.0),
        None => println!("| operator peak RSS | unknown | | |"),
    }
    let anchor = SPARK_SUBMIT_REQUESTS + KUBEFLOW_OPERATOR_REQUESTS;
    println!(
        "| API requests per application | {requests:.2} | spark-submit {SPARK_SUBMIT_REQUESTS:.0} + Kubeflow operator {KUBEFLOW_OPERATOR_REQUESTS:.0} = {anchor:.0} | {:.2}× |",
        requests / anchor
    );
    println!("\nOperator requests by verb and resource:\n");
    for (what, count) in &by_kind {
        println!("- {what}: {count} ({:.2} per job)", *count as f64 / r.jobs as f64);
    }
    kubeflow::Summary {
        to_driver_per_minute: per_minute(to_driver),
        to_end_per_minute: per_minute(to_end),
        cpu_ms_per_job: r.cpu.map(|cpu| cpu * 1e3 / r.jobs as f64),
        peak_rss_mib: r.peak_rss.map(|rss| rss as f64 / 1_048_576.0),
        requests_per_job: requests,
        succeeded,
        kind: r.kind.plural(),
        bench_cpu_ms_per_job: None,
        load: (None, None),
    }
}
