//! The operator's metrics and its health endpoints: applications by state,
//! submissions and failures by cause, the latency from a SparkJob's
//! creation to its driver pod, to running and to the end, queue depth per
//! namespace, reconcile duration and errors, API requests, leadership.
//!
//! Served as Prometheus text at `/metrics` beside `/healthz` (the process
//! answers) and `/readyz` (the caches are filled and, with leader election,
//! this replica's role is known) on a small HTTP server of its own thread.
//!
//! Owns: metric names, help and labels, and the endpoint. Must not: decide.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use sparkplane_api::job::JobState;

type Labels = Vec<(String, String)>;

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// The operator's metrics (cheap to clone: every field is shared).
#[derive(Clone)]
pub struct Metrics {
    registry: Arc<Registry>,
    states: Family<Labels, Gauge>,
    known: Arc<Mutex<HashMap<String, JobState>>>,
    submissions: Counter,
    failures: Family<Labels, Counter>,
    queue_depth: Family<Labels, Gauge>,
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
    /// Registers every metric under `sparkplane_operator_`.
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("sparkplane_operator");
        let states = Family::<Labels, Gauge>::default();
        registry.register("applications", "SparkJobs by state", states.clone());
        let submissions = Counter::default();
        registry.register("submissions", "Driver pods created", submissions.clone());
        let failures = Family::<Labels, Counter>::default();
        registry.register("failures", "Failed attempts by cause (retried or not)", failures.clone());
        let queue_depth = Family::<Labels, Gauge>::default();
        registry.register("queue_depth", "Queued SparkJobs per namespace", queue_depth.clone());
        let latency = || Histogram::new(exponential_buckets(0.05, 2.0, 16));
        let created_to_driver = latency();
        registry.register(
            "created_to_driver_seconds",
            "From a SparkJob's creation to its first driver pod created",
            created_to_driver.clone(),
        );
        let created_to_running = latency();
        registry.register(
            "created_to_running_seconds",
            "From a SparkJob's creation to its driver running",
            created_to_running.clone(),
        );
        let created_to_finished = latency();
        registry.register(
            "created_to_finished_seconds",
            "From a SparkJob's creation to its end (Succeeded or Failed)",
            created_to_finished.clone(),
        );
        let reconciles = Family::<Labels, Counter>::default();
        registry.register("reconciles", "Reconciles by result (ok, error)", reconciles.clone());
        let reconcile_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        registry.register("reconcile_duration_seconds", "Time one reconcile takes", reconcile_seconds.clone());
        let api_requests = Family::<Labels, Counter>::default();
        registry.register("api_requests", "Requests the operator sent, by verb and kind", api_requests.clone());
        let leader = Gauge::default();
        registry.register("leader", "1 while this replica leads (acts), else 0", leader.clone());
        Metrics {
            registry: Arc::new(registry),
            states,
            known: Arc::default(),
            submissions,
            failures,
            queue_depth,
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

    /// Queued jobs in a namespace.
    pub fn queue_depth(&self, namespace: &str, depth: usize) {
        self.queue_depth
            .get_or_create(&labels(&[("namespace", namespace)]))
            .set(i64::try_from(depth).unwrap_or(i64::MAX));
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
            .filter(|l| l.starts_with("sparkplane_operator_api_requests_total{"))
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

    /// Serves `/metrics`, `/healthz` and `/readyz` on `address` until the
    /// process ends; the bound address is returned (port 0 picks one).
    pub fn serve(&self, address: &str) -> std::io::Result<std::net::SocketAddr> {
        let server = tiny_http::Server::http(address).map_err(std::io::Error::other)?;
        let bound = server.server_addr().to_ip().ok_or_else(|| std::io::Error::other("not an IP address"))?;
        let metrics = self.clone();
        std::thread::Builder::new().name("operator-metrics".into()).spawn(move || {
            for request in server.incoming_requests() {
                let (code, body, kind) = match request.url() {
                    "/metrics" => (200, metrics.render(), "application/openmetrics-text; version=1.0.0; charset=utf-8"),
                    "/healthz" => (200, "ok\n".to_owned(), "text/plain"),
                    "/readyz" if metrics.ready.load(Ordering::SeqCst) => (200, "ready\n".to_owned(), "text/plain"),
                    "/readyz" => (503, "caches are still filling\n".to_owned(), "text/plain"),
                    _ => (404, "not found: try /metrics, /healthz or /readyz\n".to_owned(), "text/plain"),
                };
                let mut response = tiny_http::Response::from_string(body).with_status_code(code);
                if let Ok(header) = tiny_http::Header::from_bytes(&b"Content-Type"[..], kind.as_bytes()) {
                    response.add_header(header);
                }
                let _ = request.respond(response);
            }
        })?;
        Ok(bound)
    }
}

#[cfg(test)]
mod tests {
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
}
