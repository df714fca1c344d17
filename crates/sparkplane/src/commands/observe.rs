//! `sparkplane observe rules`: alerting and recording rules over the metrics
//! sparkplane really emits (one registry), with SLO burn-rate alerts, as a
//! Prometheus rule file or a PrometheusRule object.

use std::collections::BTreeMap;
use std::path::Path;

use sparkplane_core::Diagnostic;
use sparkplane_observe::rules::{RuleOptions, builtin_groups, to_prometheus, to_prometheus_rule, to_yaml};
use sparkplane_observe::slo::{SuccessSlo, slo_groups};

use crate::cli::{OutputFormat, RuleFormat};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::read_yaml;

const SLO_HELP: &str = "write e.g. `- {name: trips-etl, scope: {job: trips-etl}, objective: 0.99}`";

/// Reads SLOs: a YAML list of `{name, scope: {job: NAME} | {team: NAME}, objective}`,
/// every structural mistake at once with its line and column.
fn read_slos(path: &Path) -> Result<Vec<SuccessSlo>, Failure> {
    let doc = read_yaml(path)?;
    if !matches!(doc.value, sparkplane_core::yaml::NodeValue::Seq(_)) {
        return Err(Failure::Invalid(
            Diagnostic::error(
                "bad-slo",
                "",
                format!("{} is not a list of SLOs: it is a {}", path.display(), doc.type_name()),
            )
            .with_span(Some(doc.span.clone()))
            .with_help(SLO_HELP)
            .into(),
        ));
    }
    sparkplane_core::schema::load_typed::<Vec<SuccessSlo>>(&doc, "list of SLOs").map_err(|mut problems| {
        for problem in &mut problems.0 {
            if problem.help.is_none() {
                problem.help = Some(SLO_HELP.into());
            }
        }
        Failure::Invalid(problems)
    })
}

/// The PrometheusRule's labels: `release: NAME` when asked for.
pub fn release_label(release: Option<&str>) -> BTreeMap<String, String> {
    release.map(|name| ("release".to_owned(), name.to_owned())).into_iter().collect()
}

/// Runs `observe rules`.
pub fn rules(
    format: RuleFormat,
    slo: Option<&Path>,
    namespace: Option<&str>,
    release: Option<&str>,
    printer: &Printer,
) -> CommandResult {
    let options = RuleOptions::default();
    let mut groups = builtin_groups(&options);
    if let Some(path) = slo {
        let slos = read_slos(path)?;
        let extra = slo_groups(&slos).map_err(|e| {
            Failure::Invalid(Diagnostic::error("bad-slo", "", format!("{}: {e}", path.display())).into())
        })?;
        groups.extend(extra);
    }
    let value = match format {
        RuleFormat::Prometheus => to_prometheus(&groups, &options),
        RuleFormat::Prometheusrule => {
            to_prometheus_rule(&groups, &options, "sparkplane", namespace, &release_label(release))
        }
    };
    match printer.format {
        OutputFormat::Json => printer.raw(&format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default())),
        _ => printer.raw(&to_yaml(&value)),
    }
    Ok(())
}
