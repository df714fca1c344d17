//! Observability for Spark jobs run by sparkplane: the one metric registry,
//! alerting and recording rules, and SLO burn-rate alerts.
//!
//! Owns: what sparkplane's metrics are called and mean ([`registry`]), the
//! rules built on them ([`rules`], [`slo`]). Pure functions over typed data.
//!
//! Must not: do I/O (reading event logs, serving `/metrics`, writing files
//! belongs to the exporter and the CLI), or use a metric name that is not in
//! [`registry`].

pub mod registry;
pub mod rules;
pub mod slo;

pub use registry::{Metric, MetricType, all, lookup};
pub use rules::{RuleGroup, RuleOptions, builtin_groups, to_prometheus, to_prometheus_rule, to_yaml};
pub use slo::{SloScope, SuccessSlo, slo_groups};
