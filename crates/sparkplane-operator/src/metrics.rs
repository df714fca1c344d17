//! The operator's metrics and its health endpoints: applications by state,
//! submissions and failures by cause, failed drivers by namespace and
//! application cause, the latency from a SparkJob's
//! creation to its driver pod, to running and to the end, queue depth per
//! namespace, reconcile duration and errors, API requests, leadership.
//!
//! Served as Prometheus text at `/metrics` beside `/healthz` (the process
//! answers) and `/readyz` (the caches are filled and, with leader election,
//! this replica's role is known) on a small HTTP server of its own thread.
//!
//! Owns: recording values and the endpoint. Must not: decide, or name a
//! metric — names, help, labels and buckets are sparkplane's one metric
//! registry's (`sparkplane_observe::registry::operator`), which the alert
//! rules read too.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;
use sparkplane_api::job::JobState;
use sparkplane_core::failure_cause::FailureCause;
use sparkplane_observe::registry::{
    Metric, MetricType, OPERATOR_START_FAILURE_CAUSES, RECONCILE_RESULTS, operator as registered,
};

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Registers `metric` under the registry's name and help. prometheus-client
/// appends `_total` to a counter's name and a full stop to help itself.
fn register(target: &mut Registry, entry: &Metric, metric: impl prometheus_client::registry::Metric) {
    let name = match entry.kind {
        MetricType::Counter => entry.name.strip_suffix("_total").unwrap_or(entry.name),
        MetricType::Gauge | MetricType::Histogram => entry.name,
    };
    target.register(name, entry.help.trim_end_matches('.'), metric);
}

fn histogram(entry: &Metric) -> Histogram {
    Histogram::new(entry.buckets.iter().copied())
}

fn admission_histogram() -> Histogram {
    histogram(&registered::ADMISSION_WAIT)
}

/// The operator's metrics (cheap to clone: every field is shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    states: Family<Labels, Gauge>,
    known: Arc<Mutex<HashMap<String, JobState>>>,
    submissions: Counter,
    failures: Family<Labels, Counter>,
    driver_failures: Family<Labels, Counter>,
    queue_depth: Family<Labels, Gauge>,
    admission_wait: Family<Labels, Histogram, fn() -> Histogram>,
    preemptions: Family<Labels, Counter>,
    oldest_unadmitted: Family<Labels, Gauge>,
    created_to_driver: Histogram,
    created_to_running: Histogram,
    created_to_finished: Histogram,
    reconciles: Family<Labels, Counter>,
    reconcile_seconds: Histogram,
    api_requests: Family<Labels, Counter>,
    leader: Gauge,
    ready: Arc<AtomicBool>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new()
    }
}

impl Metrics {
    /// Registers every metric of the registry's `operator` entries.
    pub fn new() -> Metrics {
        let mut registry = Registry::default();
        let states = Family::<Labels, Gauge>::default();
        register(&mut registry, &registered::APPLICATIONS, states.clone());
        let submissions = Counter::default();
        register(&mut registry, &registered::SUBMISSIONS, submissions.clone());
        let failures = Family::<Labels, Counter>::default();
        for cause in OPERATOR_START_FAILURE_CAUSES {
            let _ = failures.get_or_create(&labels(&[("cause", cause)]));
        }
        register(&mut registry, &registered::FAILURES, failures.clone());
        let driver_failures = Family::<Labels, Counter>::default();
        register(&mut registry, &registered::DRIVER_FAILURES, driver_failures.clone());
        let queue_depth = Family::<Labels, Gauge>::default();
        register(&mut registry, &registered::QUEUE_DEPTH, queue_depth.clone());
        let admission_wait = Family::<Labels, Histogram, fn() -> Histogram>::new_with_constructor(admission_histogram);
        register(&mut registry, &registered::ADMISSION_WAIT, admission_wait.clone());
        let preemptions = Family::<Labels, Counter>::default();
        register(&mut registry, &registered::PREEMPTIONS, preemptions.clone());
        let oldest_unadmitted = Family::<Labels, Gauge>::default();
        register(&mut registry, &registered::OLDEST_UNADMITTED, oldest_unadmitted.clone());
        let created_to_driver = histogram(&registered::CREATED_TO_DRIVER);
        register(&mut registry, &registered::CREATED_TO_DRIVER, created_to_driver.clone());
        let created_to_running = histogram(&registered::CREATED_TO_RUNNING);
        register(&mut registry, &registered::CREATED_TO_RUNNING, created_to_running.clone());
        let created_to_finished = histogram(&registered::CREATED_TO_FINISHED);
        register(&mut registry, &registered::CREATED_TO_FINISHED, created_to_finished.clone());
        let reconciles = Family::<Labels, Counter>::default();
        for result in RECONCILE_RESULTS {
            let _ = reconciles.get_or_create(&labels(&[("result", result)]));
        }
        register(&mut registry, &registered::RECONCILES, reconciles.clone());
        let reconcile_seconds = histogram(&registered::RECONCILE_DURATION);
        register(&mut registry, &registered::RECONCILE_DURATION, reconcile_seconds.clone());
        let api_requests = Family::<Labels, Counter>::default();
        register(&mut registry, &registered::API_REQUESTS, api_requests.clone());
        let leader = Gauge::default();
        register(&mut registry, &registered::LEADER, leader.clone());
        Metrics {
            registry: Arc::new(registry),
            states,
            known: Arc::default(),
            submissions,
            failures,
            driver_failures,
            queue_depth,
            admission_wait,
            preemptions,
            oldest_unadmitted,
            created_to_driver,
            created_to_running,
            created_to_finished,
            reconciles,
            reconcile_seconds,
            api_requests,
            leader,
            ready: Arc::default(),
        }
    }

    /// A job (`namespace/name`) is now in `state` (None: deleted).
    pub fn state(&self, job: &str, state: Option<JobState>) {
        let mut known = self.known.lock().unwrap_or_else(|p| p.into_inner());
        let old = match state {
            Some(s) => known.insert(job.to_owned(), s),
            None => known.remove(job),
        };
        if old == state {
            return;
        }
        if let Some(old) = old {
            self.states.get_or_create(&labels(&[("state", old.as_str())])).dec();
        }
        if let Some(new) = state {
            self.states.get_or_create(&labels(&[("state", new.as_str())])).inc();
        }
    }

    /// A driver pod was created.
    pub fn submitted(&self) {
        self.submissions.inc();
    }

    /// An attempt failed.
    pub fn failed(&self, cause: &str) {
        self.failures.get_or_create(&labels(&[("cause", cause)])).inc();
    }

    /// A job of `namespace` is reconciled: its failed-driver series exist,
    /// every cause at 0, so `increase()` sees the namespace's first failure.
    pub fn namespace_seen(&self, namespace: &str) {
        for cause in FailureCause::ALL {
            let _ = self.driver_failures.get_or_create(&labels(&[("namespace", namespace), ("cause", cause.as_str())]));
        }
    }

    /// An attempt's driver in `namespace` failed with the application cause `cause`.
    pub fn driver_failed(&self, namespace: &str, cause: FailureCause) {
        self.driver_failures.get_or_create(&labels(&[("namespace", namespace), ("cause", cause.as_str())])).inc();
    }

    /// Queued jobs in a namespace.
    pub fn queue_depth(&self, namespace: &str, depth: usize) {
        self.queue_depth
            .get_or_create(&labels(&[("namespace", namespace)]))
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
    }

    /// A run of `queue` in `namespace` was admitted after waiting `seconds`.
    pub fn admitted_after(&self, namespace: &str, queue: &str, seconds: f64) {
        self.admission_wait.get_or_create(&labels(&[("namespace", namespace), ("queue", queue)])).observe(seconds);
    }

    /// A run of `queue` in `namespace` was stopped and queued again: Kueue evicted it for `reason`.
    pub fn preempted(&self, namespace: &str, queue: &str, reason: &str) {
        self.preemptions
            .get_or_create(&labels(&[("namespace", namespace), ("queue", queue), ("reason", reason)]))
            .inc();
    }

    /// When the oldest run of `namespace` still waiting for admission was queued (None: none waits).
    pub fn oldest_unadmitted(&self, namespace: &str, queued_at: Option<jiff::Timestamp>) {
        let value = queued_at.map_or(0, jiff::Timestamp::as_second);
        self.oldest_unadmitted.get_or_create(&labels(&[("namespace", namespace)])).set(value);
    }

    /// Seconds from creation to the driver pod.
    pub fn to_driver(&self, seconds: f64) {
        self.created_to_driver.observe(seconds);
    }

    /// Seconds from creation to running.
    pub fn to_running(&self, seconds: f64) {
        self.created_to_running.observe(seconds);
    }

    /// Seconds from creation to the end.
    pub fn to_finished(&self, seconds: f64) {
        self.created_to_finished.observe(seconds);
    }

    /// One reconcile took `seconds` and ended `ok` or not.
    pub fn reconciled(&self, seconds: f64, ok: bool) {
        self.reconcile_seconds.observe(seconds);
        self.reconciles.get_or_create(&labels(&[("result", if ok { "ok" } else { "error" })])).inc();
    }

    /// One API request.
    pub fn request(&self, verb: &str, kind: &str) {
        self.api_requests.get_or_create(&labels(&[("verb", verb), ("kind", kind)])).inc();
    }

    /// Total API requests sent so far.
    pub fn requests_total(&self) -> u64 {
        let mut text = String::new();
        let _ = encode(&mut text, &self.registry);
        text.lines()
            .filter(|l| l.strip_prefix(registered::API_REQUESTS.name).is_some_and(|rest| rest.starts_with('{')))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            .sum()
    }

    /// Leadership changed.
    pub fn leading(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// Caches filled (readiness).
    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::SeqCst);
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut text, &self.registry);
        text
    }

    /// Serves `/metrics`, `/healthz` and `/readyz` on `address` (a query after
    /// the path is ignored) until the returned server is stopped or dropped;
    /// its `addr()` is the bound address (port 0 picks one).
    pub fn serve(&self, address: &str) -> std::io::Result<sparkplane_http::HttpServer> {
        use sparkplane_http::Reply;
        use std::net::ToSocketAddrs;
        let addr = address
            .to_socket_addrs()?
            .next()
            .ok_or_else(|| std::io::Error::other(format!("{address} names no address")))?;
        let metrics = self.clone();
        let server = sparkplane_http::serve(addr, "operator-metrics", 1, move |request| {
            const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
            match request.path.as_str() {
                "/metrics" => Reply::text(200, OPENMETRICS, metrics.render()),
                "/healthz" => Reply::text(200, "text/plain", "ok\n"),
                "/readyz" if metrics.ready.load(Ordering::SeqCst) => Reply::text(200, "text/plain", "ready\n"),
                "/readyz" => Reply::text(503, "text/plain", "caches are still filling\n"),
                _ => Reply::text(404, "text/plain", "not found: try /metrics, /healthz or /readyz\n"),
            }
        })
        .map_err(|e| std::io::Error::other(e.message))?;
        Ok(server)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use sparkplane_observe::registry::{Emitter, all, lookup, lookup_series};

    use super::*;

    #[test]
    fn states_move_between_gauges() {
        let m = Metrics::new();
        m.state("ns/a", Some(JobState::Queued));
        m.state("ns/b", Some(JobState::Queued));
        m.state("ns/a", Some(JobState::Running));
        m.state("ns/b", None);
        let text = m.render();
        assert!(text.contains("sparkplane_operator_applications{state=\"Queued\"} 0"), "{text}");
        assert!(text.contains("sparkplane_operator_applications{state=\"Running\"} 1"), "{text}");
        m.request("create", "Pod");
        m.request("create", "Pod");
        m.request("patch", "SparkJob");
        assert_eq!(m.requests_total(), 3);
    }

    /// The label names of one sample line (values here hold no commas or quotes).
    fn label_names(line: &str) -> BTreeSet<&str> {
        let Some((_, rest)) = line.split_once('{') else { return BTreeSet::new() };
        let inside = rest.split_once('}').map_or("", |(inside, _)| inside);
        inside.split(',').filter_map(|pair| pair.split_once('=')).map(|(name, _)| name).collect()
    }

    /// Every family a live `Metrics` exposes, with each method used once, is
    /// the registry's — name, type, help, labels and buckets — and every
    /// operator metric of the registry is exposed.
    #[test]
    fn the_exposition_is_the_registrys() {
        let m = Metrics::new();
        m.state("ns/a", Some(JobState::Running));
        m.submitted();
        m.failed("DriverFailed");
        m.namespace_seen("ns");
        m.driver_failed("ns", FailureCause::Metastore);
        m.queue_depth("ns", 2);
        m.to_driver(0.3);
        m.to_running(4.0);
        m.to_finished(7200.0);
        m.reconciled(0.01, true);
        m.reconciled(0.02, false);
        m.request("create", "Pod");
        m.leading(true);
        m.admitted_after("ns", "team-a", 12.0);
        m.preempted("ns", "team-a", "Preempted");
        m.oldest_unadmitted("ns", Some(jiff::Timestamp::UNIX_EPOCH));
        let text = m.render();

        let mut families = BTreeSet::new();
        let mut bounds: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
        for line in text.lines().filter(|l| !l.is_empty() && *l != "# EOF") {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                let (family, kind) = rest.split_once(' ').unwrap_or_else(|| panic!("{line}"));
                // OpenMetrics names a counter's family without `_total`; the registry names its series.
                let name = if kind == "counter" { format!("{family}_total") } else { family.to_owned() };
                let metric = lookup(&name).unwrap_or_else(|| panic!("{name} is not in the registry"));
                assert_eq!(metric.emitter, Emitter::Operator, "{name}");
                assert_eq!(metric.kind.as_str(), kind, "{name}");
                let help = format!("# HELP {family} {}.", metric.help.trim_end_matches('.'));
                assert!(text.lines().any(|l| l == help), "{name}: help is not the registry's\n{text}");
                families.insert(metric.name);
                continue;
            }
            if line.starts_with('#') {
                continue;
            }
            let series = line.split(['{', ' ']).next().unwrap_or_default();
            let (metric, want) = lookup_series(series).unwrap_or_else(|| panic!("{series} is not in the registry"));
            assert_eq!(label_names(line), want.into_iter().collect(), "{line}");
            if let Some(le) = line.split("le=\"").nth(1).and_then(|rest| rest.split('"').next())
                && le != "+Inf"
            {
                bounds.entry(metric.name).or_default().push(le.parse().unwrap_or_else(|_| panic!("{line}")));
            }
        }
        let registered: BTreeSet<&str> =
            all().iter().filter(|m| m.emitter == Emitter::Operator).map(|m| m.name).collect();
        assert_eq!(families, registered);
        let histograms: Vec<&Metric> = all().iter().filter(|m| m.kind == MetricType::Histogram).collect();
        for metric in histograms.iter().filter(|m| m.emitter == Emitter::Operator) {
            assert_eq!(bounds.get(metric.name).map(Vec::as_slice), Some(metric.buckets), "{}", metric.name);
        }
        assert_eq!(bounds.len(), 5, "five histograms: {bounds:?}");

        for sample in [
            "sparkplane_operator_applications{state=\"Running\"} 1",
            "sparkplane_operator_submissions_total 1",
            "sparkplane_operator_failures_total{cause=\"DriverFailed\"} 1",
            "sparkplane_operator_driver_failures_total{namespace=\"ns\",cause=\"metastore\"} 1",
            "sparkplane_operator_driver_failures_total{namespace=\"ns\",cause=\"storage\"} 0",
            "sparkplane_operator_queue_depth{namespace=\"ns\"} 2",
            "sparkplane_operator_created_to_finished_seconds_bucket{le=\"3600.0\"} 0",
            "sparkplane_operator_created_to_finished_seconds_bucket{le=\"7200.0\"} 1",
            "sparkplane_operator_reconciles_total{result=\"ok\"} 1",
            "sparkplane_operator_reconciles_total{result=\"error\"} 1",
            "sparkplane_operator_api_requests_total{verb=\"create\",kind=\"Pod\"} 1",
            "sparkplane_operator_leader 1",
        ] {
            assert!(text.lines().any(|l| l == sample), "{sample}\n{text}");
        }
    }

    /// The series the alert rules count from are there, at 0, before anything happened.
    #[test]
    fn alerted_series_start_at_zero() {
        let text = Metrics::new().render();
        let mut zero: Vec<String> = RECONCILE_RESULTS
            .iter()
            .map(|r| format!("sparkplane_operator_reconciles_total{{result=\"{r}\"}} 0"))
            .collect();
        zero.extend(
            OPERATOR_START_FAILURE_CAUSES
                .iter()
                .map(|c| format!("sparkplane_operator_failures_total{{cause=\"{c}\"}} 0")),
        );
        zero.push("sparkplane_operator_submissions_total 0".to_owned());
        zero.push("sparkplane_operator_leader 0".to_owned());
        for sample in &zero {
            assert!(text.lines().any(|l| l == sample), "{sample}\n{text}");
        }
        let samples = text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()).count();
        // The four histograms each write 16 or 10 buckets, +Inf, _sum and _count.
        assert_eq!(samples, zero.len() + 3 * (16 + 3) + (10 + 3));
    }

    use sparkplane_testkit::http::status_line;

    #[test]
    fn the_endpoint_routes_on_the_path_whatever_the_query_and_stops_when_dropped() {
        let metrics = Metrics::new();
        let server = metrics.serve("127.0.0.1:0").expect("serves");
        let address = server.addr();
        assert_eq!(status_line(address, "/metrics?format=openmetrics"), "HTTP/1.1 200 OK");
        assert_eq!(status_line(address, "/readyz"), "HTTP/1.1 503 Service Unavailable");
        metrics.set_ready(true);
        assert_eq!(status_line(address, "/readyz?verbose"), "HTTP/1.1 200 OK");
        assert_eq!(status_line(address, "/nope"), "HTTP/1.1 404 Not Found");
        drop(server);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while std::net::TcpStream::connect(address).is_ok() {
            assert!(std::time::Instant::now() < deadline, "the endpoint outlives its handle");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
    }
}
