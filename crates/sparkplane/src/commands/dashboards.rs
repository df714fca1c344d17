//! `sparkplane observe dashboards [--bundle]`: the Grafana dashboards over the
//! metrics sparkplane really emits, as a JSON array of dashboard models, or
//! with `--bundle` as a YAML stream of sidecar ConfigMaps and the
//! PrometheusRule for kube-prometheus-stack.
//!
//! Owns only the output shape; the dashboards themselves live in
//! `sparkplane_observe::dashboards`. Writes nothing but stdout.

use serde_json::Value;
use sparkplane_observe::dashboards::{bundle as bundle_objects, dashboards};

use crate::exit::CommandResult;
use crate::printer::Printer;

/// Runs `observe dashboards`: without `bundle`, a JSON array of Grafana
/// dashboards (one per persona) on stdout; with it, a YAML stream of one
/// ConfigMap per dashboard and the PrometheusRule, in `namespace` if given.
pub fn run(bundle: bool, namespace: Option<&str>, release: Option<&str>, printer: &Printer) -> CommandResult {
    if bundle {
        let objects = bundle_objects(namespace, &super::observe::release_label(release));
        printer.raw(&sparkplane_documents::yaml::to_yaml_stream(&objects));
    } else {
        let list = Value::Array(dashboards().iter().map(|d| d.to_json()).collect());
        // `{:#}` pretty-prints a Value; it cannot fail.
        printer.raw(&format!("{list:#}\n"));
    }
    Ok(())
}
