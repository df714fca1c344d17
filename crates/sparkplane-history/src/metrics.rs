//! The History Server's own metrics on `/metrics`, in the Prometheus text format.
//!
//! Owns: turning the index's and the server's counters into families named and
//! typed as `sparkplane_observe::registry` lists them. Must not: invent a name
//! the registry does not list, label a series by application, or write the
//! text format itself (`sparkplane_observe::exposition` is its one writer).

use std::collections::BTreeMap;

use sparkplane_observe::exposition::{self, Family, Sample};
#[cfg(test)]
use sparkplane_observe::registry;

use crate::index::IndexStats;

/// Request counters by endpoint kind and status, with summed latency.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RequestStats {
    /// (endpoint, status) → (count, total seconds).
    pub requests: BTreeMap<(String, u16), (u64, f64)>,
}

/// The `Content-Type` of the text format served on `/metrics`.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

const REQUESTS: &str = "sparkplane_history_requests_total";
const SECONDS: &str = "sparkplane_history_request_seconds_total";
const APPLICATIONS: &str = "sparkplane_history_index_applications";
const SKIPPED: &str = "sparkplane_history_logs_skipped_total";
const CACHE: &str = "sparkplane_history_detail_cache_bytes";
const SCAN_FAILURES: &str = "sparkplane_history_scan_failures_total";
const PARTIAL: &str = "sparkplane_history_logs_partial";
const UNREADABLE: &str = "sparkplane_history_unreadable_details_total";
const RESTORED: &str = "sparkplane_history_index_restored";

/// Every metric name this module writes (all registered).
pub const EMITTED: &[&str] =
    &[REQUESTS, SECONDS, APPLICATIONS, SKIPPED, CACHE, SCAN_FAILURES, PARTIAL, UNREADABLE, RESTORED];

/// The text exposition of the index's and the server's counters, written by
/// the project's one writer of the format (`sparkplane_observe::exposition`).
pub fn encode(index: &IndexStats, requests: &RequestStats, applications: u64) -> String {
    let counts: Vec<Sample> = requests
        .requests
        .iter()
        .map(|((endpoint, code), (count, _))| {
            Sample::new(vec![("endpoint", endpoint.clone()), ("code", code.to_string())], *count as f64)
        })
        .collect();
    let mut seconds: BTreeMap<&str, f64> = BTreeMap::new();
    for ((endpoint, _), (_, secs)) in &requests.requests {
        *seconds.entry(endpoint).or_default() += secs;
    }
    let seconds: Vec<Sample> = seconds
        .into_iter()
        .map(|(endpoint, secs)| Sample::new(vec![("endpoint", endpoint.to_owned())], secs))
        .collect();
    let skipped: Vec<Sample> = [crate::index::SKIP_NO_START, crate::index::SKIP_UNREADABLE]
        .into_iter()
        .map(|reason| {
            let count = index.skipped.get(reason).copied().unwrap_or(0);
            Sample::new(vec![("reason", reason.to_owned())], count as f64)
        })
        .collect();
    let single = |value: f64| vec![Sample::new(Vec::new(), value)];
    exposition::encode(&[
        Family { name: REQUESTS, samples: counts },
        Family { name: SECONDS, samples: seconds },
        Family { name: APPLICATIONS, samples: single(applications as f64) },
        Family { name: SKIPPED, samples: skipped },
        Family { name: CACHE, samples: single(index.detail_cache_bytes as f64) },
        Family { name: SCAN_FAILURES, samples: single(index.refresh_failures as f64) },
        Family { name: PARTIAL, samples: single(index.partial as f64) },
        Family { name: UNREADABLE, samples: single(index.unreadable_details as f64) },
        Family { name: RESTORED, samples: single(index.restored as f64) },
    ])
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
        let faults =
            IndexStats { partial: 2, refresh_failures: 3, unreadable_details: 4, restored: 5, ..IndexStats::default() };
        let text = encode(&faults, &requests, 7);
        for line in [
            "sparkplane_history_logs_partial 2",
            "sparkplane_history_scan_failures_total 3",
            "sparkplane_history_unreadable_details_total 4",
            "sparkplane_history_index_restored 5",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing from {text}");
        }
        assert!(text.contains("sparkplane_history_logs_skipped_total{reason=\"unreadable\"} 0"));
        assert!(text.contains("# TYPE sparkplane_history_requests_total counter"), "{text}");
    }

    /// Label values are escaped by the exposition writer (an endpoint is a fixed kind, but the writer must not trust that).
    #[test]
    fn label_values_are_escaped() {
        let mut requests = RequestStats::default();
        requests.requests.insert(("a\"b\\c\nd".to_owned(), 404), (1, 0.25));
        let text = encode(&IndexStats::default(), &requests, 0);
        assert!(
            text.contains("sparkplane_history_requests_total{endpoint=\"a\\\"b\\\\c\\nd\",code=\"404\"} 1"),
            "{text}"
        );
        assert!(text.contains("sparkplane_history_request_seconds_total{endpoint=\"a\\\"b\\\\c\\nd\"} 0.25"), "{text}");
    }
}
