//! Generated rules checked three ways: every selector against the metric
//! registry (parsed with promql-parser), every runbook link against
//! docs/runbooks/, and every rule file with real `promtool` (check and unit tests).

use crate::common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use promql_parser::parser::{self, Expr};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::Value;
use sparkplane_observe::registry::lookup_series;
use sparkplane_observe::rules::{self, RuleGroup, RuleOptions, builtin_groups};
use sparkplane_observe::slo::{SloScope, SuccessSlo, slo_groups};

fn all_groups() -> Vec<RuleGroup> {
    let mut groups = builtin_groups(&RuleOptions::default());
    let slos = [
        SuccessSlo::for_job("trips-etl", 0.99),
        SuccessSlo { name: "data-eng".into(), scope: SloScope::Team("data-eng".into()), objective: 0.995 },
    ];
    groups.extend(slo_groups(&slos).expect("valid SLOs"));
    groups
}

/// Collects every selector's metric name and the label names it matches on.
struct Selectors(Vec<(String, Vec<String>)>);

impl ExprVisitor for Selectors {
    type Error = String;
    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        let vs = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            _ => return Ok(true),
        };
        let name = vs.name.clone().ok_or_else(|| format!("selector without a metric name: {vs}"))?;
        let labels =
            vs.matchers.matchers.iter().chain(vs.matchers.or_matchers.iter().flatten()).map(|m| m.name.clone());
        self.0.push((name, labels.collect()));
        Ok(true)
    }
}

#[test]
fn every_selector_uses_a_registered_metric_and_its_labels() {
    let groups = all_groups();
    let recorded: BTreeSet<String> = groups
        .iter()
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            rules::Rule::Record(r) => Some(r.record.clone()),
            rules::Rule::Alert(_) => None,
        })
        .collect();
    let mut checked = 0;
    for (rule, expr) in rules::expressions(&groups) {
        let ast = parser::parse(expr).unwrap_or_else(|e| panic!("{rule}: {e}\n{expr}"));
        let mut selectors = Selectors(Vec::new());
        walk_expr(&mut selectors, &ast).unwrap_or_else(|e| panic!("{rule}: {e}"));
        assert!(!selectors.0.is_empty(), "{rule} selects nothing");
        for (name, labels) in selectors.0 {
            checked += 1;
            if recorded.contains(&name) {
                assert!(labels.iter().all(|l| l == "slo"), "{rule}: {name} matches on {labels:?}");
                continue;
            }
            let (_, known) = lookup_series(&name).unwrap_or_else(|| panic!("{rule}: {name} is not in the registry"));
            for label in labels {
                assert!(known.contains(&label.as_str()), "{rule}: {name} has no label {label} (has {known:?})");
            }
        }
    }
    assert!(checked > 30, "only {checked} selectors checked");
}

#[test]
fn an_unregistered_name_is_caught() {
    let ast = parser::parse("sum(rate(spark_executor_oom_total[5m]))").expect("parses");
    let mut selectors = Selectors(Vec::new());
    walk_expr(&mut selectors, &ast).expect("walks");
    assert!(lookup_series(&selectors.0[0].0).is_none());
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn section<'a>(text: &'a str, heading: &str) -> Option<&'a str> {
    let start = text.find(&format!("\n## {heading}\n"))? + heading.len() + 5;
    let rest = &text[start..];
    Some(rest.find("\n## ").map_or(rest, |end| &rest[..end]))
}

#[test]
fn every_alert_links_an_existing_runbook_that_names_it() {
    let options = RuleOptions::default();
    let value = rules::to_prometheus(&all_groups(), &options);
    let dir = repo_root().join("docs/runbooks");
    for rule in
        value["groups"].as_array().into_iter().flatten().flat_map(|g| g["rules"].as_array().into_iter().flatten())
    {
        let Some(alert) = rule["alert"].as_str() else { continue };
        let url = rule["annotations"]["runbook_url"].as_str().expect("runbook_url");
        let file = url.strip_prefix(&options.runbook_base).unwrap_or_else(|| panic!("{alert}: {url}"));
        let text = std::fs::read_to_string(dir.join(file)).unwrap_or_else(|e| panic!("{alert}: runbook {file}: {e}"));
        let detection = section(&text, "Detection").unwrap_or_else(|| panic!("{file}: no Detection"));
        assert!(detection.contains(alert), "{file}: Detection does not name {alert}");
    }
}

#[test]
fn every_runbook_has_the_four_sections_and_real_commands() {
    // The binary's subcommands, read from its `Command` enum (crates/sparkplane/src/cli.rs), so a new
    // command is known here the day it lands. Every variant is one word, lowercased by clap.
    let cli = std::fs::read_to_string(repo_root().join("crates/sparkplane/src/cli.rs")).expect("cli.rs");
    let body = cli.split_once("pub enum Command {").expect("the Command enum").1;
    let body = body.split_once("\n}").expect("its end").0;
    let commands: Vec<String> = body
        .lines()
        .filter_map(|l| l.strip_prefix("    ").filter(|l| l.starts_with(|c: char| c.is_ascii_uppercase())))
        .map(|l| l.chars().take_while(|c| c.is_ascii_alphanumeric()).collect::<String>().to_ascii_lowercase())
        .collect();
    assert!(commands.len() >= 40 && commands.iter().any(|c| c == "dr"), "{commands:?}");
    let mut count = 0;
    for entry in std::fs::read_dir(repo_root().join("docs/runbooks")).expect("docs/runbooks") {
        let path = entry.expect("entry").path();
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_owned();
        if !name.ends_with(".md") || name == "README.md" {
            continue;
        }
        count += 1;
        let text = std::fs::read_to_string(&path).expect("readable");
        for heading in ["Detection", "Diagnosis", "Remediation", "Prevention"] {
            assert!(section(&text, heading).is_some_and(|s| !s.trim().is_empty()), "{name}: no ## {heading}");
        }
        let mut fenced = false;
        for line in text.lines() {
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            let mut uses: Vec<&str> = line.match_indices("`sparkplane ").map(|(i, _)| &line[i + 12..]).collect();
            if fenced && let Some(rest) = line.trim_start().strip_prefix("sparkplane ") {
                uses.push(rest);
            }
            for rest in uses {
                let word: String = rest.chars().take_while(|c| c.is_ascii_lowercase()).collect();
                assert!(commands.contains(&word), "{name}: `sparkplane {word}` is not a command");
            }
        }
    }
    assert!(count >= 16, "{count} runbooks");
}

#[test]
fn promtool_accepts_both_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let options = RuleOptions::default();
    let groups = all_groups();
    std::fs::write(dir.path().join("rules.yaml"), rules::to_yaml(&rules::to_prometheus(&groups, &options)))
        .expect("write");
    common::promtool(&["check", "rules", "rules.yaml"], dir.path());
    // promtool reads a PrometheusRule's spec as a rule file.
    let object = rules::to_prometheus_rule(&groups, &options, "sparkplane", Some("monitoring"), &Default::default());
    assert_eq!(object["apiVersion"], "monitoring.coreos.com/v1");
    std::fs::write(dir.path().join("spec.yaml"), rules::to_yaml(&object["spec"])).expect("write");
    common::promtool(&["check", "rules", "spec.yaml"], dir.path());
}

/// The generated rules without annotations: promtool compares alerts'
/// annotations exactly, and the tests below are about when alerts fire.
fn rules_without_annotations() -> String {
    let mut value = rules::to_prometheus(&all_groups(), &RuleOptions::default());
    for group in value["groups"].as_array_mut().into_iter().flatten() {
        for rule in group["rules"].as_array_mut().into_iter().flatten() {
            if let Value::Object(map) = rule {
                map.remove("annotations");
            }
        }
    }
    rules::to_yaml(&value)
}

const JOB: &str = r#"sparkjob="trips-etl", team="data-eng", cost_center="cc-1", namespace="etl""#;
const JOB_LABELS: &str = "{sparkjob: trips-etl, team: data-eng, cost_center: cc-1, namespace: etl";
const EXEC: &str = r#"namespace="etl", pod="trips-exec-1", uid="u1", container="spark-kubernetes-executor""#;

fn unit_tests() -> String {
    format!(
        r#"rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  # A failure fires SparkJobFailed; a job that only succeeds stays silent.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="failed"}}'
        values: '0 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1'
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="succeeded"}}'
        values: '0+1x30'
    alert_rule_test:
      - {{alertname: SparkJobFailed, eval_time: 10m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: warning}}}}]}}
      - {{alertname: SparkJobFailed, eval_time: 2m, exp_alerts: []}}
      - {{alertname: SparkJobFailed, eval_time: 25m, exp_alerts: []}}
      - {{alertname: SparkJobHighFailureRate, eval_time: 29m, exp_alerts: []}}
  # Half of the runs fail for hours: high failure rate, SLO page and ticket.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="failed"}}'
        values: '0+1x200'
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="succeeded"}}'
        values: '0+1x200'
    alert_rule_test:
      - {{alertname: SparkJobHighFailureRate, eval_time: 60m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: critical}}}}]}}
      - {{alertname: SparkJobHighFailureRate, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkSloErrorBudgetBurn, eval_time: 70m, exp_alerts: [{{exp_labels: {{slo: trips-etl, severity: critical}}}}, {{exp_labels: {{slo: data-eng, severity: critical}}}}]}}
      - {{alertname: SparkSloErrorBudgetBurnSlow, eval_time: 150m, exp_alerts: [{{exp_labels: {{slo: trips-etl, severity: warning}}}}, {{exp_labels: {{slo: data-eng, severity: warning}}}}]}}
  # 0.5% failures: half of a 99% objective's budget, 1x a 99.5% objective's: no page for either.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="failed"}}'
        values: '0+1x200'
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="succeeded"}}'
        values: '0+199x200'
    alert_rule_test:
      - {{alertname: SparkSloErrorBudgetBurn, eval_time: 70m, exp_alerts: []}}
      - {{alertname: SparkSloErrorBudgetBurn, eval_time: 190m, exp_alerts: []}}
      - {{alertname: SparkJobHighFailureRate, eval_time: 190m, exp_alerts: []}}
  # A burn that stopped: the long window is still high but the short one is clean, so no page.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="failed"}}'
        values: '0+5x50 250x60'
      - series: 'sparkplane_app_outcome_total{{{JOB}, outcome="succeeded"}}'
        values: '0+5x110'
    alert_rule_test:
      - {{alertname: SparkSloErrorBudgetBurn, eval_time: 50m, exp_alerts: [{{exp_labels: {{slo: trips-etl, severity: critical}}}}, {{exp_labels: {{slo: data-eng, severity: critical}}}}]}}
      - {{alertname: SparkSloErrorBudgetBurn, eval_time: 85m, exp_alerts: []}}
  # A run past its duration objective; a run within it.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_running_seconds{{{JOB}}}'
        values: '3000+60x20'
      - series: 'sparkplane_app_slo_duration_seconds{{{JOB}}}'
        values: '3600x20'
      - series: 'sparkplane_app_slo_duration_breaches_total{{{JOB}}}'
        values: '0x10 1x10'
    alert_rule_test:
      - {{alertname: SparkJobSloDurationBreached, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobSloDurationBreached, eval_time: 15m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: info}}}}]}}
      - {{alertname: SparkJobOverSloDuration, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobOverSloDuration, eval_time: 15m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: warning}}}}]}}
  # GC share and spill.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_gc_share{{{JOB}}}'
        values: '0.05x10 0.4x10'
      - series: 'sparkplane_app_spill_bytes_total{{{JOB}}}'
        values: '0x10 0+2147483648x10'
    alert_rule_test:
      - {{alertname: SparkJobHighGcShare, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobHighGcShare, eval_time: 15m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: info}}}}]}}
      - {{alertname: SparkJobLargeSpill, eval_time: 9m, exp_alerts: []}}
      - {{alertname: SparkJobLargeSpill, eval_time: 20m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: info}}}}]}}
  # An OOMKilled executor fires; a completed one does not.
  - interval: 1m
    input_series:
      - series: 'kube_pod_container_status_terminated_reason{{{EXEC}, reason="OOMKilled"}}'
        values: '_x5 1x5'
      - series: 'kube_pod_container_status_terminated_reason{{namespace="etl", pod="trips-exec-2", uid="u2", container="spark-kubernetes-executor", reason="Completed"}}'
        values: '1x10'
    alert_rule_test:
      - {{alertname: SparkExecutorOOMKilled, eval_time: 3m, exp_alerts: []}}
      - {{alertname: SparkExecutorOOMKilled, eval_time: 8m, exp_alerts: [{{exp_labels: {{namespace: etl, pod: trips-exec-1, severity: warning}}}}]}}
  # A driver Pending for 15 minutes; a Running ready driver and a finished driver stay silent.
  - interval: 1m
    input_series:
      - series: 'kube_pod_status_ready{{namespace="etl", pod="d1", uid="1", condition="false"}}'
        values: '1x20'
      - series: 'kube_pod_status_phase{{namespace="etl", pod="d1", uid="1", phase="Pending"}}'
        values: '1x20'
      - series: 'kube_pod_labels{{namespace="etl", pod="d1", uid="1", label_spark_role="driver"}}'
        values: '1x20'
      - series: 'kube_pod_status_ready{{namespace="etl", pod="d2", uid="2", condition="false"}}'
        values: '1x20'
      - series: 'kube_pod_status_phase{{namespace="etl", pod="d2", uid="2", phase="Succeeded"}}'
        values: '1x20'
      - series: 'kube_pod_labels{{namespace="etl", pod="d2", uid="2", label_spark_role="driver"}}'
        values: '1x20'
      - series: 'kube_pod_status_ready{{namespace="etl", pod="e1", uid="3", condition="false"}}'
        values: '1x20'
      - series: 'kube_pod_status_phase{{namespace="etl", pod="e1", uid="3", phase="Pending"}}'
        values: '1x20'
      - series: 'kube_pod_labels{{namespace="etl", pod="e1", uid="3", label_spark_role="executor"}}'
        values: '1x20'
    alert_rule_test:
      - {{alertname: SparkDriverPodNotReady, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkDriverPodNotReady, eval_time: 15m, exp_alerts: [{{exp_labels: {{namespace: etl, pod: d1, severity: warning}}}}]}}
  # A Connect server whose pod stops being ready at minute 10 fires after 5 minutes, with its job and team; a
  # server scaled to zero and a StatefulSet that is not a Connect server stay silent.
  - interval: 1m
    input_series:
      - series: 'kube_statefulset_replicas{{namespace="analytics", statefulset="notebooks-connect"}}'
        values: '1x25'
      - series: 'kube_statefulset_status_replicas_ready{{namespace="analytics", statefulset="notebooks-connect"}}'
        values: '1x9 0x16'
      - series: 'kube_statefulset_labels{{namespace="analytics", statefulset="notebooks-connect", label_app_kubernetes_io_component="connect-server", label_sparkplane_dev_job="notebooks", label_sparkplane_dev_team="analytics"}}'
        values: '1x25'
      - series: 'kube_statefulset_replicas{{namespace="analytics", statefulset="idle-connect"}}'
        values: '0x25'
      - series: 'kube_statefulset_status_replicas_ready{{namespace="analytics", statefulset="idle-connect"}}'
        values: '0x25'
      - series: 'kube_statefulset_labels{{namespace="analytics", statefulset="idle-connect", label_app_kubernetes_io_component="connect-server", label_sparkplane_dev_job="idle", label_sparkplane_dev_team="analytics"}}'
        values: '1x25'
      - series: 'kube_statefulset_replicas{{namespace="analytics", statefulset="db"}}'
        values: '1x25'
      - series: 'kube_statefulset_status_replicas_ready{{namespace="analytics", statefulset="db"}}'
        values: '0x25'
      - series: 'kube_statefulset_labels{{namespace="analytics", statefulset="db", label_app_kubernetes_io_component="database"}}'
        values: '1x25'
    alert_rule_test:
      - {{alertname: SparkConnectServerDown, eval_time: 8m, exp_alerts: []}}
      - {{alertname: SparkConnectServerDown, eval_time: 13m, exp_alerts: []}}
      - {{alertname: SparkConnectServerDown, eval_time: 17m, exp_alerts: [{{exp_labels: {{namespace: analytics, statefulset: notebooks-connect, sparkjob: notebooks, team: analytics, severity: critical}}}}]}}
  # A driver restarting every 3 minutes.
  - interval: 1m
    input_series:
      - series: 'kube_pod_container_status_restarts_total{{namespace="etl", pod="d1", uid="1", container="spark-kubernetes-driver"}}'
        values: '0 0 0 1 1 1 2 2 2 3 3 3 4 4 4 5 5 5 6 6 6 7 7 7 8 8 8'
      - series: 'kube_pod_container_status_restarts_total{{namespace="etl", pod="d2", uid="2", container="spark-kubernetes-driver"}}'
        values: '0x26'
    alert_rule_test:
      - {{alertname: SparkDriverCrashLooping, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkDriverCrashLooping, eval_time: 25m, exp_alerts: [{{exp_labels: {{namespace: etl, pod: d1, severity: warning}}}}]}}
  # Exporter down, then absent; history unreadable; stale scans; log errors.
  - interval: 1m
    input_series:
      - series: 'up{{job="sparkplane-exporter", instance="a:9464"}}'
        values: '1x5 0x20'
      - series: 'sparkplane_exporter_up{{job="sparkplane-exporter", instance="a:9464"}}'
        values: '1x5 0x20'
      - series: 'sparkplane_exporter_last_scan_timestamp_seconds{{job="sparkplane-exporter", instance="a:9464"}}'
        values: '0+60x5 300x20'
      - series: 'sparkplane_exporter_log_errors_total{{job="sparkplane-exporter", instance="a:9464"}}'
        values: '0x10 1x15'
    alert_rule_test:
      - {{alertname: SparkplaneExporterDown, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkplaneExporterDown, eval_time: 20m, exp_alerts: [{{exp_labels: {{job: sparkplane-exporter, instance: "a:9464", severity: warning}}}}]}}
      - {{alertname: SparkplaneHistoryUnreadable, eval_time: 20m, exp_alerts: [{{exp_labels: {{severity: warning}}}}]}}
      - {{alertname: SparkplaneExporterScanStale, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkplaneExporterScanStale, eval_time: 26m, exp_alerts: [{{exp_labels: {{severity: warning}}}}]}}
      - {{alertname: SparkplaneEventLogErrors, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkplaneEventLogErrors, eval_time: 15m, exp_alerts: [{{exp_labels: {{severity: info}}}}]}}
  - interval: 1m
    input_series: []
    alert_rule_test:
      - {{alertname: SparkplaneExporterDown, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkplaneExporterDown, eval_time: 15m, exp_alerts: [{{exp_labels: {{job: sparkplane-exporter, severity: warning}}}}]}}
  # Shuffle fetch failures, stage skew and low utilisation of a job that burns core-hours.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_task_failures_total{{{JOB}, cause="fetch_failed"}}'
        values: '0x10 3x10'
      - series: 'sparkplane_app_task_failures_total{{{JOB}, cause="other"}}'
        values: '0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19'
      - series: 'sparkplane_app_stage_skew{{{JOB}}}'
        values: '2x10 12x10'
      - series: 'sparkplane_app_executor_utilisation{{{JOB}}}'
        values: '0.8x10 0.1x10'
      - series: 'sparkplane_app_core_hours_total{{{JOB}}}'
        values: '0+1x20'
      - series: 'sparkplane_app_executor_utilisation{{sparkjob="tiny", team="data-eng", cost_center="cc-1", namespace="etl"}}'
        values: '0.1x20'
      - series: 'sparkplane_app_core_hours_total{{sparkjob="tiny", team="data-eng", cost_center="cc-1", namespace="etl"}}'
        values: '0+0.01x20'
    alert_rule_test:
      - {{alertname: SparkJobShuffleFetchFailures, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobShuffleFetchFailures, eval_time: 15m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: info}}}}]}}
      - {{alertname: SparkJobStageSkew, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobStageSkew, eval_time: 15m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: info}}}}]}}
      - {{alertname: SparkJobLowUtilisation, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobLowUtilisation, eval_time: 15m, exp_alerts: [{{exp_labels: {JOB_LABELS}, severity: info}}}}]}}
  # Storage and metastore failures, aggregated by namespace; ordinary failures stay silent.
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_failures_total{{{JOB}, cause="storage"}}'
        values: '0x10 1x10'
      - series: 'sparkplane_app_task_failures_total{{sparkjob="b", team="t", cost_center="c", namespace="ml", cause="metastore"}}'
        values: '0x10 2x10'
      - series: 'sparkplane_app_task_failures_total{{sparkjob="c", team="t", cost_center="c", namespace="bi", cause="storage"}}'
        values: '0x10 5x10'
      - series: 'sparkplane_app_failures_total{{sparkjob="c", team="t", cost_center="c", namespace="bi", cause="other"}}'
        values: '0x10 4x10'
    alert_rule_test:
      - {{alertname: SparkJobsStorageErrors, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobsStorageErrors, eval_time: 15m, exp_alerts: [{{exp_labels: {{namespace: etl, severity: warning}}}}]}}
      - {{alertname: SparkJobsMetastoreErrors, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobsMetastoreErrors, eval_time: 15m, exp_alerts: [{{exp_labels: {{namespace: ml, severity: warning}}}}]}}
  # Failed drivers the operator counted by their log's cause (jobs that failed before any Spark job, so no event log
  # records it), with the event logs' series at 0: the same two alerts fire for their namespaces; other causes stay silent.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_driver_failures_total{{namespace="lake", cause="metastore"}}'
        values: '0x10 1x10'
      - series: 'sparkplane_operator_driver_failures_total{{namespace="raw", cause="storage"}}'
        values: '0x10 1x10'
      - series: 'sparkplane_operator_driver_failures_total{{namespace="bi", cause="other"}}'
        values: '0x10 3x10'
      - series: 'sparkplane_operator_driver_failures_total{{namespace="bi", cause="metastore"}}'
        values: '0x20'
      - series: 'sparkplane_app_failures_total{{sparkjob="d", team="t", cost_center="c", namespace="lake", cause="metastore"}}'
        values: '0x20'
    alert_rule_test:
      - {{alertname: SparkJobsMetastoreErrors, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobsMetastoreErrors, eval_time: 15m, exp_alerts: [{{exp_labels: {{namespace: lake, severity: warning}}}}]}}
      - {{alertname: SparkJobsStorageErrors, eval_time: 5m, exp_alerts: []}}
      - {{alertname: SparkJobsStorageErrors, eval_time: 15m, exp_alerts: [{{exp_labels: {{namespace: raw, severity: warning}}}}]}}
  # Live executor metrics from Spark: GC pressure and full storage memory, with the job, team and namespace
  # labels the PodMonitor copies from the driver pod kept on the alert for routing.
  - interval: 1m
    input_series:
      - series: 'metrics_executor_totalGCTime_seconds_total{{application_id="a1", application_name="trips", executor_id="1", namespace="etl", sparkjob="trips", team="data-eng"}}'
        values: '0+24x40'
      - series: 'metrics_executor_totalDuration_seconds_total{{application_id="a1", application_name="trips", executor_id="1", namespace="etl", sparkjob="trips", team="data-eng"}}'
        values: '0+60x40'
      - series: 'metrics_executor_totalGCTime_seconds_total{{application_id="a2", application_name="calm", executor_id="1"}}'
        values: '0+3x40'
      - series: 'metrics_executor_totalDuration_seconds_total{{application_id="a2", application_name="calm", executor_id="1"}}'
        values: '0+60x40'
      - series: 'metrics_executor_memoryUsed_bytes{{application_id="a1", application_name="trips", executor_id="1", namespace="etl", sparkjob="trips", team="data-eng"}}'
        values: '950x40'
      - series: 'metrics_executor_maxMemory_bytes{{application_id="a1", application_name="trips", executor_id="1", namespace="etl", sparkjob="trips", team="data-eng"}}'
        values: '1000x40'
      - series: 'metrics_executor_memoryUsed_bytes{{application_id="a2", application_name="calm", executor_id="1"}}'
        values: '100x40'
      - series: 'metrics_executor_maxMemory_bytes{{application_id="a2", application_name="calm", executor_id="1"}}'
        values: '1000x40'
    alert_rule_test:
      - {{alertname: SparkExecutorGcPressure, eval_time: 8m, exp_alerts: []}}
      - {{alertname: SparkExecutorGcPressure, eval_time: 25m, exp_alerts: [{{exp_labels: {{application_name: trips, namespace: etl, sparkjob: trips, team: data-eng, severity: warning}}}}]}}
      - {{alertname: SparkExecutorStorageMemoryFull, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkExecutorStorageMemoryFull, eval_time: 20m, exp_alerts: [{{exp_labels: {{application_name: trips, executor_id: "1", namespace: etl, sparkjob: trips, team: data-eng, severity: info}}}}]}}
  # Executors Pending for 15 minutes fire per namespace; a Pending driver alone does not.
  - interval: 1m
    input_series:
      - series: 'kube_pod_status_phase{{namespace="etl", pod="e1", uid="1", phase="Pending"}}'
        values: '1x30'
      - series: 'kube_pod_labels{{namespace="etl", pod="e1", uid="1", label_spark_role="executor"}}'
        values: '1x30'
      - series: 'kube_pod_status_phase{{namespace="ml", pod="d1", uid="2", phase="Pending"}}'
        values: '1x30'
      - series: 'kube_pod_labels{{namespace="ml", pod="d1", uid="2", label_spark_role="driver"}}'
        values: '1x30'
    alert_rule_test:
      - {{alertname: SparkExecutorPodsPending, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkExecutorPodsPending, eval_time: 20m, exp_alerts: [{{exp_labels: {{namespace: etl, severity: warning}}}}]}}
  # The History Server probe fails for longer than 5 minutes.
  - interval: 1m
    input_series:
      - series: 'sparkplane_history_server_up{{job="sparkplane-exporter", instance="a:9464"}}'
        values: '1x5 0x15'
    alert_rule_test:
      - {{alertname: SparkHistoryServerDown, eval_time: 8m, exp_alerts: []}}
      - {{alertname: SparkHistoryServerDown, eval_time: 15m, exp_alerts: [{{exp_labels: {{severity: warning}}}}]}}
  # Submissions taking ~100 s fire; ~3 s do not.
  - interval: 1m
    input_series:
      - series: 'sparkplane_submit_duration_seconds_bucket{{namespace="etl", target="native", le="5"}}'
        values: '0x40'
      - series: 'sparkplane_submit_duration_seconds_bucket{{namespace="etl", target="native", le="60"}}'
        values: '0x40'
      - series: 'sparkplane_submit_duration_seconds_bucket{{namespace="etl", target="native", le="120"}}'
        values: '0+10x40'
      - series: 'sparkplane_submit_duration_seconds_bucket{{namespace="etl", target="native", le="+Inf"}}'
        values: '0+10x40'
      - series: 'sparkplane_submit_duration_seconds_bucket{{namespace="ok", target="native", le="5"}}'
        values: '0+10x40'
      - series: 'sparkplane_submit_duration_seconds_bucket{{namespace="ok", target="native", le="+Inf"}}'
        values: '0+10x40'
    alert_rule_test:
      - {{alertname: SparkSubmissionSlow, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkSubmissionSlow, eval_time: 35m, exp_alerts: [{{exp_labels: {{namespace: etl, severity: warning}}}}]}}
  # Operator replicas: one down is not an outage; both down for 5 minutes is.
  - interval: 1m
    input_series:
      - series: 'up{{job="sparkplane-operator", instance="a:8080"}}'
        values: '1x5 0x25'
      - series: 'up{{job="sparkplane-operator", instance="b:8080"}}'
        values: '1x12 0x17'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorDown, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorDown, eval_time: 16m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorDown, eval_time: 20m, exp_alerts: [{{exp_labels: {{severity: critical}}}}]}}
  # No operator target at all.
  - interval: 1m
    input_series: []
    alert_rule_test:
      - {{alertname: SparkplaneOperatorDown, eval_time: 3m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorDown, eval_time: 10m, exp_alerts: [{{exp_labels: {{job: sparkplane-operator, severity: critical}}}}]}}
  # Leadership handed over within a minute stays silent; a leader lost for good fires.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_leader{{job="sparkplane-operator", instance="a:8080"}}'
        values: '1x5 0x25'
      - series: 'sparkplane_operator_leader{{job="sparkplane-operator", instance="b:8080"}}'
        values: '0x6 1x23'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorNoLeader, eval_time: 15m, exp_alerts: []}}
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_leader{{job="sparkplane-operator", instance="a:8080"}}'
        values: '1x5 0x25'
      - series: 'sparkplane_operator_leader{{job="sparkplane-operator", instance="b:8080"}}'
        values: '0x30'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorNoLeader, eval_time: 8m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorNoLeader, eval_time: 15m, exp_alerts: [{{exp_labels: {{severity: critical}}}}]}}
  # A queue that never empties with no driver pod created fires after 30 minutes; one that
  # drained does not.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_queue_depth{{job="sparkplane-operator", instance="a:8080", namespace="etl"}}'
        values: '2x70'
      - series: 'sparkplane_operator_queue_depth{{job="sparkplane-operator", instance="a:8080", namespace="bi"}}'
        values: '1x20 0x50'
      - series: 'sparkplane_operator_submissions_total{{job="sparkplane-operator", instance="a:8080"}}'
        values: '7x70'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorQueueStuck, eval_time: 25m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorQueueStuck, eval_time: 40m, exp_alerts: [{{exp_labels: {{namespace: etl, severity: warning}}}}]}}
  # The same queue while the operator creates a driver pod a minute: it moves, no alert.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_queue_depth{{job="sparkplane-operator", instance="a:8080", namespace="etl"}}'
        values: '2x70'
      - series: 'sparkplane_operator_submissions_total{{job="sparkplane-operator", instance="a:8080"}}'
        values: '0+1x70'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorQueueStuck, eval_time: 40m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorQueueStuck, eval_time: 70m, exp_alerts: []}}
  # A run queued at minute 0 still unadmitted an hour later fires; one admitted at 50 minutes
  # (the gauge back to 0) does not; a namespace with nothing waiting never does.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_oldest_unadmitted_timestamp_seconds{{job="sparkplane-operator", instance="a:8080", namespace="etl"}}'
        values: '0x90'
      - series: 'sparkplane_operator_oldest_unadmitted_timestamp_seconds{{job="sparkplane-operator", instance="a:8080", namespace="bi"}}'
        values: '0x50 0x40'
      - series: 'sparkplane_operator_oldest_unadmitted_timestamp_seconds{{job="sparkplane-operator", instance="a:8080", namespace="ml"}}'
        values: '60x49 0x41'
    alert_rule_test:
      - {{alertname: SparkplaneApplicationsUnadmitted, eval_time: 50m, exp_alerts: []}}
      - {{alertname: SparkplaneApplicationsUnadmitted, eval_time: 70m, exp_alerts: []}}
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_oldest_unadmitted_timestamp_seconds{{job="sparkplane-operator", instance="a:8080", namespace="etl"}}'
        values: '60x90'
      - series: 'sparkplane_operator_oldest_unadmitted_timestamp_seconds{{job="sparkplane-operator", instance="a:8080", namespace="ml"}}'
        values: '120x49 0x41'
    alert_rule_test:
      - {{alertname: SparkplaneApplicationsUnadmitted, eval_time: 50m, exp_alerts: []}}
      - {{alertname: SparkplaneApplicationsUnadmitted, eval_time: 70m, exp_alerts: [{{exp_labels: {{namespace: etl, severity: warning}}}}]}}
  # Six runs of etl's queue team-a preempted an hour, for two reasons: fires for that queue. Three an
  # hour in bi, or four at once in ml, do not; neither does team-a before an hour has gone by.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_preemptions_total{{job="sparkplane-operator", instance="a:8080", namespace="etl", queue="team-a", reason="Preempted"}}'
        values: '0+0.05x90'
      - series: 'sparkplane_operator_preemptions_total{{job="sparkplane-operator", instance="a:8080", namespace="etl", queue="team-a", reason="NodeFailures"}}'
        values: '0+0.05x90'
      - series: 'sparkplane_operator_preemptions_total{{job="sparkplane-operator", instance="a:8080", namespace="bi", queue="bi-q", reason="Preempted"}}'
        values: '0+0.05x90'
      - series: 'sparkplane_operator_preemptions_total{{job="sparkplane-operator", instance="a:8080", namespace="ml", queue="ml-q", reason="Preempted"}}'
        values: '0x30 4x60'
    alert_rule_test:
      - {{alertname: SparkplaneQueuePreemptions, eval_time: 30m, exp_alerts: []}}
      - {{alertname: SparkplaneQueuePreemptions, eval_time: 70m, exp_alerts: [{{exp_labels: {{namespace: etl, queue: team-a, severity: warning}}}}]}}
  # Half of the driver pods fail to pull their image: fires. Every application failing in its
  # own code, or two pull failures out of two pods, does not.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_submissions_total{{job="sparkplane-operator", instance="a:8080"}}'
        values: '0+2x60'
      - series: 'sparkplane_operator_failures_total{{job="sparkplane-operator", instance="a:8080", cause="ImagePullBackOff"}}'
        values: '0x10 1+1x50'
      - series: 'sparkplane_operator_failures_total{{job="sparkplane-operator", instance="a:8080", cause="DriverFailed"}}'
        values: '0+2x60'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorSubmissionFailures, eval_time: 20m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorSubmissionFailures, eval_time: 45m, exp_alerts: [{{exp_labels: {{severity: warning}}}}]}}
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_submissions_total{{job="sparkplane-operator", instance="a:8080"}}'
        values: '0+2x60'
      - series: 'sparkplane_operator_failures_total{{job="sparkplane-operator", instance="a:8080", cause="DriverFailed"}}'
        values: '0+2x60'
      - series: 'sparkplane_operator_failures_total{{job="sparkplane-operator", instance="a:8080", cause="ImagePullBackOff"}}'
        values: '0x60'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorSubmissionFailures, eval_time: 45m, exp_alerts: []}}
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_submissions_total{{job="sparkplane-operator", instance="a:8080"}}'
        values: '0x5 1x5 2x50'
      - series: 'sparkplane_operator_failures_total{{job="sparkplane-operator", instance="a:8080", cause="Unschedulable"}}'
        values: '0x15 1x5 2x40'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorSubmissionFailures, eval_time: 30m, exp_alerts: []}}
  # A quarter of reconciles failing fires; 5% does not.
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_reconciles_total{{job="sparkplane-operator", instance="a:8080", result="ok"}}'
        values: '0+9x40'
      - series: 'sparkplane_operator_reconciles_total{{job="sparkplane-operator", instance="a:8080", result="error"}}'
        values: '0x10 0+3x30'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorReconcileErrors, eval_time: 10m, exp_alerts: []}}
      - {{alertname: SparkplaneOperatorReconcileErrors, eval_time: 40m, exp_alerts: [{{exp_labels: {{severity: warning}}}}]}}
  - interval: 1m
    input_series:
      - series: 'sparkplane_operator_reconciles_total{{job="sparkplane-operator", instance="a:8080", result="ok"}}'
        values: '0+95x40'
      - series: 'sparkplane_operator_reconciles_total{{job="sparkplane-operator", instance="a:8080", result="error"}}'
        values: '0+5x40'
    alert_rule_test:
      - {{alertname: SparkplaneOperatorReconcileErrors, eval_time: 40m, exp_alerts: []}}
  # Backups: a failure after the last success fires; a later success clears it; a
  # backup that never completed but failed fires; 26 hours without a success is late.
  - interval: 10m
    input_series:
      - series: 'sparkplane_backup_last_success_timestamp_seconds{{backup="platform", job="sparkplane_backup"}}'
        values: '600x10 7200x9'
      - series: 'sparkplane_backup_last_failure_timestamp_seconds{{backup="platform", job="sparkplane_backup"}}'
        values: '_x5 3600x15'
      - series: 'sparkplane_backup_last_failure_timestamp_seconds{{backup="new", job="sparkplane_backup"}}'
        values: '1200x20'
    alert_rule_test:
      - {{alertname: SparkplaneBackupFailed, eval_time: 30m, exp_alerts: [{{exp_labels: {{backup: new, severity: critical}}}}]}}
      - {{alertname: SparkplaneBackupFailed, eval_time: 70m, exp_alerts: [{{exp_labels: {{backup: new, severity: critical}}}}, {{exp_labels: {{backup: platform, severity: critical}}}}]}}
      - {{alertname: SparkplaneBackupFailed, eval_time: 120m, exp_alerts: [{{exp_labels: {{backup: new, severity: critical}}}}]}}
      - {{alertname: SparkplaneBackupLate, eval_time: 100m, exp_alerts: []}}
"#
    )
}

/// The cases that span a day or more. promtool evaluates every rule at each
/// `evaluation_interval` up to a group's last `eval_time`: at one minute, these
/// two groups alone took 24 of the file's 38 s. Their alerts have no `for`, and
/// every time they are checked at is a multiple of 15 minutes.
fn day_long_unit_tests() -> String {
    r#"rule_files: [rules.yaml]
evaluation_interval: 15m
tests:
  - interval: 1h
    input_series:
      - series: 'sparkplane_backup_last_success_timestamp_seconds{backup="platform", job="sparkplane_backup"}'
        values: '0x30'
      - series: 'sparkplane_backup_last_success_timestamp_seconds{backup="daily", job="sparkplane_backup"}'
        values: '0 3600 7200 10800 14400 18000 21600 25200 28800 32400 36000 39600 43200 46800 50400 54000 57600 61200 64800 68400 72000 75600 79200 82800 86400 90000 93600 97200 100800 104400 108000'
    alert_rule_test:
      - {alertname: SparkplaneBackupLate, eval_time: 20h, exp_alerts: []}
      - {alertname: SparkplaneBackupLate, eval_time: 27h, exp_alerts: [{exp_labels: {backup: platform, severity: warning}}]}
      - {alertname: SparkplaneBackupFailed, eval_time: 27h, exp_alerts: []}
  # A weekly backup's runs report their own threshold (7 days and 2 hours): not late at 27 hours.
  # An hourly one's (2 hours): late soon after.
  - interval: 1h
    input_series:
      - series: 'sparkplane_backup_last_success_timestamp_seconds{backup="weekly", job="sparkplane_backup"}'
        values: '0x30'
      - series: 'sparkplane_backup_late_after_seconds{backup="weekly", job="sparkplane_backup"}'
        values: '612000x30'
      - series: 'sparkplane_backup_last_success_timestamp_seconds{backup="hourly", job="sparkplane_backup"}'
        values: '0x30'
      - series: 'sparkplane_backup_late_after_seconds{backup="hourly", job="sparkplane_backup"}'
        values: '7200x30'
    alert_rule_test:
      - {alertname: SparkplaneBackupLate, eval_time: 1h, exp_alerts: []}
      - {alertname: SparkplaneBackupLate, eval_time: 3h, exp_alerts: [{exp_labels: {backup: hourly, severity: warning}}]}
      - {alertname: SparkplaneBackupLate, eval_time: 27h, exp_alerts: [{exp_labels: {backup: hourly, severity: warning}}]}
"#
        .to_owned()
}

#[test]
fn promtool_unit_tests_fire_and_stay_silent() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yaml"), rules_without_annotations()).expect("write");
    std::fs::write(dir.path().join("tests.yaml"), unit_tests()).expect("write");
    std::fs::write(dir.path().join("day-long-tests.yaml"), day_long_unit_tests()).expect("write");
    common::promtool(&["test", "rules", "tests.yaml", "day-long-tests.yaml"], dir.path());
}

#[test]
fn every_builtin_alert_has_a_promtool_case() {
    let text = unit_tests() + &day_long_unit_tests();
    for alert in rules::alerts(&all_groups()) {
        assert!(text.contains(&format!("alertname: {},", alert.name)), "{} has no promtool unit test", alert.name);
    }
}

#[test]
#[ignore = "prints the generated rules; run with --ignored --nocapture"]
fn print_rules() {
    println!("{}", rules::to_yaml(&rules::to_prometheus(&all_groups(), &RuleOptions::default())));
}
