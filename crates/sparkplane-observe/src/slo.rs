//! Success-rate SLOs turned into multi-window, multi-burn-rate alerts, as in
//! the Google SRE workbook ("Alerting on SLOs", the sixth iteration).
//!
//! Owns: the SLO's scope (one SparkJob or one team), its validation, the
//! error-ratio recording rules over each window and the page and ticket alerts.
//! An application is an event; a failed application is an error. The error
//! ratio is built on `sparkplane_app_outcome_total` only.
//!
//! Must not: read job or SLO files (the caller turns `spec.slo.successRate`
//! into a [`SuccessSlo`], or parses an SLO file for [`load_slos`]) or emit
//! YAML.
//!
//! Batch jobs are low-traffic services: a job that runs hourly has no events
//! in most 5-minute windows, where the ratio is NaN and the short-window
//! condition is false. Team-wide SLOs, with more runs, give the fast alerts
//! more to work with.

use std::collections::BTreeMap;

use serde::Deserialize;
use sparkplane_documents::schema::load_typed;
use sparkplane_documents::yaml::{Node, NodeValue};
use sparkplane_documents::{Diagnostic, Diagnostics};

use crate::rules::{AlertRule, RecordingRule, Rule, RuleGroup, Severity, promql_string};

/// The windows over which the error ratio is recorded.
pub const WINDOWS: &[&str] = &["5m", "30m", "1h", "2h", "6h", "1d", "3d"];

/// One burn-rate condition: the ratio must exceed `factor` × the error budget
/// over both the long and the short window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BurnWindow {
    /// Burn-rate factor (14.4 spends 2% of a 30-day budget in an hour).
    pub factor: f64,
    /// Long window.
    pub long: &'static str,
    /// Short window (1/12 of the long one): stops the alert soon after the burn stops.
    pub short: &'static str,
}

/// Conditions that page (any one suffices).
pub const PAGE: &[BurnWindow] =
    &[BurnWindow { factor: 14.4, long: "1h", short: "5m" }, BurnWindow { factor: 6.0, long: "6h", short: "30m" }];

/// Conditions that open a ticket (any one suffices).
pub const TICKET: &[BurnWindow] =
    &[BurnWindow { factor: 3.0, long: "1d", short: "2h" }, BurnWindow { factor: 1.0, long: "3d", short: "6h" }];

/// Name of the recording rule for the error ratio over `window`.
pub fn error_ratio_record(window: &str) -> String {
    format!("sparkplane:slo_error_ratio:rate{window}")
}

/// What an SLO covers.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum SloScope {
    /// Every run of one SparkJob (the `sparkjob` label).
    Job(String),
    /// Every run of every job of one team (the `team` label).
    Team(String),
}

/// A success-rate objective: the share of applications that must succeed.
#[derive(Clone, Debug, PartialEq, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SuccessSlo {
    /// Name, unique among SLOs; the `slo` label of the rules.
    pub name: String,
    /// What it covers.
    pub scope: SloScope,
    /// Share of runs that must succeed, strictly between 0 and 1 (e.g. 0.99).
    pub objective: f64,
}

const SLO_HELP: &str = "write e.g. `- {name: trips-etl, scope: {job: trips-etl}, objective: 0.99}`";

/// The SLOs of a parsed SLO file: a YAML list of `{name, scope: {job: NAME}
/// | {team: NAME}, objective}`, every structural mistake at once with its
/// line and column, each with an example of what is expected.
pub fn load_slos(doc: &Node) -> Result<Vec<SuccessSlo>, Diagnostics> {
    if !matches!(doc.value, NodeValue::Seq(_)) {
        let message = format!("{} is not a list of SLOs: it is a {}", doc.span.source.name, doc.type_name());
        return Err(Diagnostic::error("bad-slo", "", message)
            .with_span(Some(doc.span.clone()))
            .with_help(SLO_HELP)
            .into());
    }
    load_typed::<Vec<SuccessSlo>>(doc, "list of SLOs").map_err(|mut problems| {
        for problem in &mut problems.0 {
            if problem.help.is_none() {
                problem.help = Some(SLO_HELP.into());
            }
        }
        problems
    })
}

/// Why an SLO cannot become rules.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SloError {
    /// The objective is not strictly between 0 and 1.
    #[error("SLO {name}: objective {objective} must be strictly between 0 and 1 (e.g. 0.99)")]
    Objective {
        /// The SLO.
        name: String,
        /// The value given.
        objective: f64,
    },
    /// The name or scope value is empty or unusable as a label value.
    #[error("SLO {name:?}: {problem}")]
    Name {
        /// The SLO.
        name: String,
        /// What is wrong.
        problem: &'static str,
    },
    /// Two SLOs share a name.
    #[error("SLO {0}: defined twice")]
    Duplicate(String),
}

impl SuccessSlo {
    /// The SLO of one SparkJob from its `spec.slo.successRate`.
    pub fn for_job(job: &str, success_rate: f64) -> Self {
        SuccessSlo { name: job.to_owned(), scope: SloScope::Job(job.to_owned()), objective: success_rate }
    }

    fn validate(&self) -> Result<(), SloError> {
        if !(self.objective > 0.0 && self.objective < 1.0) {
            return Err(SloError::Objective { name: self.name.clone(), objective: self.objective });
        }
        let value = match &self.scope {
            SloScope::Job(v) | SloScope::Team(v) => v,
        };
        if self.name.trim().is_empty() || value.trim().is_empty() {
            return Err(SloError::Name { name: self.name.clone(), problem: "name and scope must not be empty" });
        }
        if self.name.chars().chain(value.chars()).any(char::is_control) {
            return Err(SloError::Name {
                name: self.name.clone(),
                problem: "name and scope must not hold control characters",
            });
        }
        Ok(())
    }

    fn selector(&self) -> String {
        match &self.scope {
            SloScope::Job(job) => format!("sparkjob=\"{}\"", promql_string(job)),
            SloScope::Team(team) => format!("team=\"{}\"", promql_string(team)),
        }
    }

    /// `1 - objective` written out for PromQL, so the printed rule shows the objective as given.
    fn budget(&self) -> String {
        format!("(1 - {})", self.objective)
    }
}

fn slo_label(slo: &SuccessSlo) -> String {
    format!("slo=\"{}\"", promql_string(&slo.name))
}

fn burn_condition(slo: &SuccessSlo, windows: &[BurnWindow]) -> String {
    let label = slo_label(slo);
    let budget = slo.budget();
    windows
        .iter()
        .map(|w| {
            format!(
                "({long}{{{label}}} > ({factor} * {budget}) and {short}{{{label}}} > ({factor} * {budget}))",
                long = error_ratio_record(w.long),
                short = error_ratio_record(w.short),
                factor = w.factor,
            )
        })
        .collect::<Vec<_>>()
        .join(" or ")
}

fn scope_text(slo: &SuccessSlo) -> String {
    match &slo.scope {
        SloScope::Job(job) => format!("SparkJob {job}"),
        SloScope::Team(team) => format!("team {team}'s jobs"),
    }
}

/// The recording and alerting rules of one SLO, as one group.
pub fn slo_group(slo: &SuccessSlo) -> Result<RuleGroup, SloError> {
    slo.validate()?;
    let selector = slo.selector();
    let static_labels = BTreeMap::from([("slo".to_owned(), slo.name.clone())]);
    let mut rules: Vec<Rule> = WINDOWS
        .iter()
        .map(|w| {
            Rule::Record(RecordingRule {
                record: error_ratio_record(w),
                expr: format!(
                    "sum(rate(sparkplane_app_outcome_total{{{selector}, outcome=\"failed\"}}[{w}])) \
                     / sum(rate(sparkplane_app_outcome_total{{{selector}}}[{w}]))"
                ),
                labels: static_labels.clone(),
            })
        })
        .collect();
    let what = scope_text(slo);
    let percent = slo.objective * 100.0;
    let alert = |name: &str, windows: &[BurnWindow], severity: Severity, speed: &str| {
        Rule::Alert(AlertRule {
            name: name.to_owned(),
            expr: burn_condition(slo, windows),
            for_: None,
            severity,
            labels: static_labels.clone(),
            summary: format!("SLO {}: {what} burn their error budget {speed}", slo.name),
            description: format!(
                "{what} fail often enough to spend the error budget of a {percent}% success objective {speed} \
                 (burn rate over both a long and a short window: {}).",
                windows
                    .iter()
                    .map(|w| format!("{}x over {} and {}", w.factor, w.long, w.short))
                    .collect::<Vec<_>>()
                    .join("; ")
            ),
            runbook: "slo-burn".to_owned(),
        })
    };
    rules.push(alert("SparkSloErrorBudgetBurn", PAGE, Severity::Critical, "fast"));
    rules.push(alert("SparkSloErrorBudgetBurnSlow", TICKET, Severity::Warning, "steadily"));
    Ok(RuleGroup { name: format!("sparkplane-slo-{}", slo.name), rules })
}

/// The groups of several SLOs, in the order given; names must be unique.
pub fn slo_groups(slos: &[SuccessSlo]) -> Result<Vec<RuleGroup>, SloError> {
    let mut seen = std::collections::BTreeSet::new();
    slos.iter()
        .map(|slo| {
            if !seen.insert(slo.name.as_str()) {
                return Err(SloError::Duplicate(slo.name.clone()));
            }
            slo_group(slo)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_cover_every_burn_condition() {
        for w in PAGE.iter().chain(TICKET) {
            assert!(WINDOWS.contains(&w.long) && WINDOWS.contains(&w.short), "{w:?}");
        }
    }

    #[test]
    fn bad_slos_are_refused() {
        for objective in [0.0, 1.0, 1.5, -0.1, f64::NAN] {
            assert!(matches!(slo_group(&SuccessSlo::for_job("a", objective)), Err(SloError::Objective { .. })));
        }
        assert!(matches!(slo_group(&SuccessSlo::for_job(" ", 0.9)), Err(SloError::Name { .. })));
        let twice = [SuccessSlo::for_job("a", 0.9), SuccessSlo::for_job("a", 0.99)];
        assert_eq!(slo_groups(&twice), Err(SloError::Duplicate("a".into())));
    }

    #[test]
    fn page_alert_reads_as_the_workbook() {
        let group = slo_group(&SuccessSlo::for_job("trips-etl", 0.99)).expect("valid");
        assert_eq!(group.rules.len(), WINDOWS.len() + 2);
        let Some(Rule::Alert(page)) = group.rules.get(WINDOWS.len()) else { panic!("page alert") };
        assert_eq!(
            page.expr,
            "(sparkplane:slo_error_ratio:rate1h{slo=\"trips-etl\"} > (14.4 * (1 - 0.99)) and \
             sparkplane:slo_error_ratio:rate5m{slo=\"trips-etl\"} > (14.4 * (1 - 0.99))) or \
             (sparkplane:slo_error_ratio:rate6h{slo=\"trips-etl\"} > (6 * (1 - 0.99)) and \
             sparkplane:slo_error_ratio:rate30m{slo=\"trips-etl\"} > (6 * (1 - 0.99)))"
        );
        assert_eq!(page.severity, Severity::Critical);
    }

    #[test]
    fn an_slo_file_is_a_list_and_each_mistake_says_what_is_expected() {
        let doc = |text: &str| {
            sparkplane_documents::yaml::parse_single(&sparkplane_documents::Source::new("slos.yaml", text))
                .expect("yaml")
        };
        let slos = load_slos(&doc("- {name: trips, scope: {job: trips-etl}, objective: 0.99}\n")).expect("slos");
        assert_eq!(
            slos,
            [SuccessSlo { name: "trips".into(), scope: SloScope::Job("trips-etl".into()), objective: 0.99 }]
        );
        let not_a_list = load_slos(&doc("name: trips\n")).expect_err("a map");
        assert_eq!(not_a_list.0[0].message, "slos.yaml is not a list of SLOs: it is a mapping");
        assert_eq!(not_a_list.0[0].help.as_deref(), Some(SLO_HELP));
        let wrong = load_slos(&doc("- {name: trips, objective: 0.99, scop: {}}\n")).expect_err("a typo");
        assert!(wrong.has_errors() && wrong.0.iter().all(|d| d.help.is_some()), "{wrong:?}");
    }
}
