//! Scraping Spark itself: what tells Prometheus to read the metrics every
//! rendered driver serves (`sparkplane_core::render::common::metrics_properties`).
//!
//! Owns: the Prometheus Operator `PodMonitor` that selects driver pods by
//! their metrics label, the same scrape as plain `scrape_configs` (pod
//! discovery, or fixed targets such as a local run's driver), the target
//! labels both give scraped series (`sparkjob`, `team`, `cost_center`, as the
//! exporter's metrics have them), and the list of Spark series the rules and
//! dashboards read ([`spark_series_in_use`]) — what a scrape must deliver.
//! Pure: options in, JSON values out.
//!
//! Must not: choose Spark's endpoints, paths or the driver's label itself;
//! those belong to the render's one owner of the metrics properties.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use sparkplane_core::render::common::{
    DRIVER_METRICS_PATH, EXECUTOR_METRICS_PATH, METRICS_LABEL, METRICS_LABEL_VALUE, UI_PORT_NAME,
};

use crate::registry::{Emitter, all};

/// Name of the PodMonitor and prefix of the scrape jobs.
pub const NAME: &str = "sparkplane-spark";

/// Default scrape interval.
pub const DEFAULT_INTERVAL: &str = "30s";

/// The two endpoints every driver serves on its UI port: (scrape job suffix, path).
pub const ENDPOINTS: [(&str, &str); 2] = [("executors", EXECUTOR_METRICS_PATH), ("driver", DRIVER_METRICS_PATH)];

/// Pod labels copied onto every scraped series: (pod label, target label).
/// The names are the exporter's (`registry::APP_LABELS`), so live and
/// event-log metrics join on them.
pub const TARGET_LABELS: [(&str, &str); 3] = [
    (sparkplane_api::labels::JOB, "sparkjob"),
    (sparkplane_api::labels::TEAM, "team"),
    (sparkplane_api::labels::COST_CENTER, "cost_center"),
];

/// What the generated objects say besides the scrape itself.
#[derive(Clone, Debug, Default)]
pub struct MonitorOptions {
    /// How often to scrape (a Prometheus duration such as `30s`).
    pub interval: String,
    /// The PodMonitor's namespace (none: the one `kubectl apply` uses).
    pub namespace: Option<String>,
    /// The PodMonitor's labels (e.g. `release: NAME` for kube-prometheus-stack).
    pub labels: BTreeMap<String, String>,
}

/// Whether `text` is a Prometheus duration: one or more `<number><unit>`
/// (`ms`, `s`, `m`, `h`, `d`, `w`, `y`), e.g. `30s`, `1m30s`.
pub fn is_duration(text: &str) -> bool {
    let mut rest = text;
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return false;
        }
        rest = &rest[digits..];
        let Some(unit) = ["ms", "s", "m", "h", "d", "w", "y"].into_iter().find(|u| rest.starts_with(u)) else {
            return false;
        };
        rest = &rest[unit.len()..];
    }
    true
}

/// Prometheus's name for a pod label in service discovery.
fn meta_label(pod_label: &str) -> String {
    let sanitized: String = pod_label.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("__meta_kubernetes_pod_label_{sanitized}")
}

/// The Prometheus Operator `PodMonitor` that scrapes both endpoints of every
/// driver carrying the metrics label, in any namespace.
pub fn pod_monitor(options: &MonitorOptions) -> Value {
    let mut labels = BTreeMap::from([sparkplane_api::labels::managed_by_sparkplane()]);
    labels.extend(options.labels.clone());
    let mut metadata = json!({ "name": NAME, "labels": labels });
    if let Some(namespace) = &options.namespace {
        metadata["namespace"] = json!(namespace);
    }
    let relabelings: Vec<Value> = TARGET_LABELS
        .iter()
        .map(|(pod, target)| json!({ "sourceLabels": [meta_label(pod)], "targetLabel": target, "action": "replace" }))
        .collect();
    let endpoints: Vec<Value> = ENDPOINTS
        .iter()
        .map(|(_, path)| {
            json!({
                "port": UI_PORT_NAME,
                "path": path,
                "interval": options.interval,
                "relabelings": relabelings,
            })
        })
        .collect();
    json!({
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PodMonitor",
        "metadata": metadata,
        "spec": {
            "namespaceSelector": { "any": true },
            "selector": { "matchLabels": { METRICS_LABEL: METRICS_LABEL_VALUE } },
            "podMetricsEndpoints": endpoints,
        },
    })
}

/// A Prometheus configuration with the same scrape as [`pod_monitor`], for
/// a Prometheus without the Operator: one job per endpoint, finding driver
/// pods by Kubernetes pod discovery, or, with `targets` (`HOST:PORT` of a
/// driver's UI, e.g. a local run's), scraping those.
pub fn scrape_config(options: &MonitorOptions, targets: &[String]) -> Value {
    let jobs: Vec<Value> = ENDPOINTS
        .iter()
        .map(|(suffix, path)| {
            let mut job = json!({
                "job_name": format!("{NAME}-{suffix}"),
                "scrape_interval": options.interval,
                "metrics_path": path,
            });
            if targets.is_empty() {
                let mut relabel = vec![json!({
                    "source_labels": [meta_label(METRICS_LABEL), "__meta_kubernetes_pod_container_port_name"],
                    "regex": format!("{METRICS_LABEL_VALUE};{UI_PORT_NAME}"),
                    "action": "keep",
                })];
                relabel.push(json!({ "source_labels": ["__meta_kubernetes_namespace"], "target_label": "namespace" }));
                relabel.push(json!({ "source_labels": ["__meta_kubernetes_pod_name"], "target_label": "pod" }));
                for (pod, target) in TARGET_LABELS {
                    relabel.push(json!({ "source_labels": [meta_label(pod)], "target_label": target }));
                }
                job["kubernetes_sd_configs"] = json!([{ "role": "pod" }]);
                job["relabel_configs"] = Value::Array(relabel);
            } else {
                job["static_configs"] = json!([{ "targets": targets }]);
            }
            job
        })
        .collect();
    json!({ "scrape_configs": jobs })
}

/// Whether `expr` names `metric` as a whole identifier.
fn names(expr: &str, metric: &str) -> bool {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    expr.match_indices(metric).any(|(at, _)| {
        let before = expr[..at].chars().next_back();
        let after = expr[at + metric.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// The registered Spark series (`metrics_*`, scraped from drivers) that the
/// built-in rules or dashboards read, sorted: each must be present once a
/// driver has been scraped.
pub fn spark_series_in_use() -> Vec<&'static str> {
    let groups = crate::rules::builtin_groups(&crate::rules::RuleOptions::default());
    let mut expressions: Vec<String> = crate::rules::expressions(&groups).map(|(_, e)| e.to_owned()).collect();
    expressions.extend(crate::dashboards::dashboards().iter().flat_map(|d| d.expressions()));
    let mut used: Vec<&'static str> = all()
        .iter()
        .filter(|m| m.emitter == Emitter::Spark)
        .map(|m| m.name)
        .filter(|name| expressions.iter().any(|e| names(e, name)))
        .collect();
    used.sort_unstable();
    used
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options() -> MonitorOptions {
        MonitorOptions { interval: "15s".into(), namespace: Some("monitoring".into()), labels: BTreeMap::new() }
    }

    #[test]
    fn the_pod_monitor_selects_labelled_drivers_and_scrapes_both_endpoints() {
        let monitor = pod_monitor(&options());
        assert_eq!(monitor["metadata"]["namespace"], "monitoring");
        assert_eq!(monitor["spec"]["selector"]["matchLabels"]["sparkplane.dev/metrics"], "prometheus");
        let endpoints = monitor["spec"]["podMetricsEndpoints"].as_array().expect("endpoints");
        let paths: Vec<&str> = endpoints.iter().filter_map(|e| e["path"].as_str()).collect();
        assert_eq!(paths, ["/metrics/executors/prometheus", "/metrics/prometheus/"]);
        assert!(endpoints.iter().all(|e| e["port"] == "spark-ui" && e["interval"] == "15s"));
        assert_eq!(
            endpoints[0]["relabelings"][2],
            json!({"sourceLabels": ["__meta_kubernetes_pod_label_sparkplane_dev_cost_center"], "targetLabel": "cost_center", "action": "replace"})
        );
    }

    #[test]
    fn the_scrape_config_discovers_pods_or_takes_fixed_targets() {
        let discovered = scrape_config(&options(), &[]);
        let job = &discovered["scrape_configs"][0];
        assert_eq!(job["job_name"], "sparkplane-spark-executors");
        assert_eq!(job["relabel_configs"][0]["regex"], "prometheus;spark-ui");
        assert_eq!(job["kubernetes_sd_configs"][0]["role"], "pod");
        let fixed = scrape_config(&options(), &["127.0.0.1:4040".into()]);
        assert_eq!(fixed["scrape_configs"][1]["static_configs"][0]["targets"][0], "127.0.0.1:4040");
        assert_eq!(fixed["scrape_configs"][1]["metrics_path"], "/metrics/prometheus/");
        assert!(fixed["scrape_configs"][1].get("relabel_configs").is_none());
    }

    #[test]
    fn durations_are_prometheus_durations() {
        for good in ["1s", "30s", "1m30s", "500ms", "2h"] {
            assert!(is_duration(good), "{good}");
        }
        for bad in ["", "30", "s", "1.5s", "30 s", "1x"] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn the_series_in_use_are_those_the_live_alerts_read() {
        assert_eq!(
            spark_series_in_use(),
            [
                "metrics_executor_maxMemory_bytes",
                "metrics_executor_memoryUsed_bytes",
                "metrics_executor_totalDuration_seconds_total",
                "metrics_executor_totalGCTime_seconds_total",
            ]
        );
        assert!(names("rate(metrics_executor_x[5m])", "metrics_executor_x"));
        assert!(!names("metrics_executor_x_total", "metrics_executor_x"));
    }
}
