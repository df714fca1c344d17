//! Observability for Spark jobs run by sparkplane: the one metric registry,
//! alerting and recording rules, and SLO burn-rate alerts.
//!
//! Owns: what sparkplane's metrics are called and mean ([`registry`]), the
//! rules and dashboards built on them ([`rules`], [`slo`], [`dashboards`]), the
//! on-call routing for their alerts ([`alertmanager`]), the scrape of Spark's
//! own metrics from drivers ([`monitors`]) —
//! pure functions over typed data — the Prometheus text files CLI commands
//! leave for node_exporter ([`exposition`], [`textfile`]), and the
//! [`exporter`], the one module here that does I/O (it reads event logs and
//! serves `/metrics`).
//!
//! Must not: use a metric name or label that is not in [`registry`].

pub mod alertmanager;
pub mod dashboards;
pub mod exporter;
pub mod exposition;
pub mod monitors;
pub mod registry;
pub mod rules;
pub mod slo;
pub mod textfile;

pub use registry::{Metric, MetricType, all, lookup};
pub use rules::{RuleGroup, RuleOptions, builtin_groups, to_prometheus, to_prometheus_rule, to_yaml};
pub use slo::{SloScope, SuccessSlo, slo_groups};
