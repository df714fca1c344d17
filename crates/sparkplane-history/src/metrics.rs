//! The History Server's own metrics on `/metrics`, in the Prometheus text format.
//!
//! Owns: turning the index's and the server's counters into series named and
//! typed as `sparkplane_observe::registry` lists them. Must not: invent a name
//! the registry does not list, or label a series by application.

use std::collections::BTreeMap;
use std::fmt::Write;

use sparkplane_observe::registry;

use crate::index::IndexStats;

/// Request counters by endpoint kind and status, with summed latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestStats {
    /// (endpoint, status) → (count, total seconds).
    pub requests: BTreeMap<(String, u16), (u64, f64)>,
    pub refresh_failures: u64,
}

/// The `Content-Type` of the text format served on `/metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const REQUESTS: &str = "sparkplane_history_requests_total";
const SECONDS: &str = "sparkplane_history_request_seconds_total";
const APPLICATIONS: &str = "sparkplane_history_index_applications";
const SKIPPED: &str = "sparkplane_history_logs_skipped_total";
const CACHE: &str = "sparkplane_history_detail_cache_bytes";
const SCAN_FAILURES: &str = "sparkplane_history_scan_failures_total";

/// Every metric name this module writes (all registered).
pub const EMITTED: &[&str] = &[REQUESTS, SECONDS, APPLICATIONS, SKIPPED, CACHE, SCAN_FAILURES];

fn header(out: &mut String, name: &str) {
    if let Some(metric) = registry::lookup(name) {
        let family = name.strip_suffix("_total").unwrap_or(name);
        let _ = writeln!(out, "# HELP {family} {}", metric.help.replace('\n', " "));
        let _ = writeln!(out, "# TYPE {family} {}", metric.kind.as_str());
    }
}

fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The text exposition of the index's and the server's counters.
pub fn encode(index: &IndexStats, requests: &RequestStats, applications: u64) -> String {
    let mut out = String::new();
    header(&mut out, REQUESTS);
    for ((endpoint, code), (count, _)) in &requests.requests {
        let _ = writeln!(out, "{REQUESTS}{{endpoint=\"{}\",code=\"{code}\"}} {count}", escape(endpoint));
    }
    header(&mut out, SECONDS);
    let mut seconds: std::collections::BTreeMap<&str, f64> = std::collections::BTreeMap::new();
    for ((endpoint, _), (_, secs)) in &requests.requests {
        *seconds.entry(endpoint).or_default() += secs;
    }
    for (endpoint, secs) in seconds {
        let _ = writeln!(out, "{SECONDS}{{endpoint=\"{}\"}} {secs}", escape(endpoint));
    }
    header(&mut out, APPLICATIONS);
    let _ = writeln!(out, "{APPLICATIONS} {applications}");
    header(&mut out, SKIPPED);
    for reason in [crate::index::SKIP_NO_START, crate::index::SKIP_UNREADABLE] {
        let count = index.skipped.get(reason).copied().unwrap_or(0);
        let _ = writeln!(out, "{SKIPPED}{{reason=\"{reason}\"}} {count}");
    }
    header(&mut out, CACHE);
    let _ = writeln!(out, "{CACHE} {}", index.detail_cache_bytes);
    header(&mut out, SCAN_FAILURES);
    let _ = writeln!(out, "{SCAN_FAILURES} {}", requests.refresh_failures);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_is_registered_with_its_labels() {
        for name in EMITTED {
            assert!(registry::lookup(name).is_some(), "{name} is not in the registry");
        }
        let mut requests = RequestStats::default();
        requests.requests.insert(("jobs".to_owned(), 200), (3, 0.5));
        let text = encode(&IndexStats::default(), &requests, 7);
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            let series = line.split(['{', ' ']).next().unwrap_or_default();
            let (metric, _) = registry::lookup_series(series).unwrap_or_else(|| panic!("{series} unregistered"));
            if let Some(labels) = line.split_once('{').and_then(|(_, rest)| rest.split_once('}')).map(|(l, _)| l) {
                for pair in labels.split(',') {
                    let key = pair.split('=').next().unwrap_or_default();
                    assert!(metric.labels.contains(&key), "{series}: label {key} not registered");
                }
            }
        }
        assert!(text.contains("sparkplane_history_requests_total{endpoint=\"jobs\",code=\"200\"} 3"));
        assert!(text.contains("sparkplane_history_index_applications 7"));
        assert!(text.contains("sparkplane_history_logs_skipped_total{reason=\"unreadable\"} 0"));
    }
}
