//! Generated Grafana dashboards and their Kubernetes bundle: every query
//! parsed with promql-parser and checked against the metric registry (names,
//! matcher labels and grouping labels), every `$variable` defined, the JSON
//! deterministic and well-formed, and the ConfigMaps shaped for the sidecar.

use crate::common;

use std::collections::BTreeSet;

use promql_parser::parser::{self, Expr, LabelModifier};
use promql_parser::util::{ExprVisitor, walk_expr};
use serde_json::Value;
use sparkplane_observe::dashboards::{self, Dashboard, PanelType, SIDECAR_LABEL, Variable, bundle};
use sparkplane_observe::registry::lookup_series;
use sparkplane_observe::slo::{SuccessSlo, WINDOWS, error_ratio_record, slo_groups};

/// Labels the SLO recording rules carry (`sum(...)` drops the rest; the rule adds `slo`).
const RECORDED_LABELS: &[&str] = &["slo"];

/// Every selector's metric name and matcher labels, and every label named in
/// `by (...)`, `without (...)`, `on (...)` or `ignoring (...)`.
#[derive(Default)]
struct Names {
    selectors: Vec<(String, Vec<String>)>,
    grouping: Vec<String>,
}

impl ExprVisitor for Names {
    type Error = String;
    fn pre_visit(&mut self, expr: &Expr) -> Result<bool, String> {
        let modifier_labels = |m: &LabelModifier| match m {
            LabelModifier::Include(l) | LabelModifier::Exclude(l) => l.labels.clone(),
        };
        let vs = match expr {
            Expr::VectorSelector(vs) => vs,
            Expr::MatrixSelector(ms) => &ms.vs,
            Expr::Aggregate(a) => {
                self.grouping.extend(a.modifier.iter().flat_map(modifier_labels));
                return Ok(true);
            }
            Expr::Binary(b) => {
                self.grouping.extend(b.modifier.iter().filter_map(|m| m.matching.as_ref()).flat_map(modifier_labels));
                return Ok(true);
            }
            _ => return Ok(true),
        };
        let name = vs.name.clone().ok_or_else(|| format!("selector without a metric name: {vs}"))?;
        let labels =
            vs.matchers.matchers.iter().chain(vs.matchers.or_matchers.iter().flatten()).map(|m| m.name.clone());
        self.selectors.push((name, labels.collect()));
        Ok(true)
    }
}

/// Grafana's interpolation: built-in interval variables become durations
/// (`$__range` becomes `range`), `values` replace the named variables, the
/// dashboard's constants their values. Fails on a `$name` the dashboard does
/// not define. Query variables left in place still parse: they sit inside a
/// matcher's quotes.
fn interpolate(expr: &str, dashboard: &Dashboard, range: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let mut out = expr.replace("$__rate_interval", "5m").replace("$__interval", "1m").replace("$__range", range);
    for (name, value) in values {
        out = out.replace(&format!("${name}"), value);
    }
    for variable in &dashboard.variables {
        if let Variable::Constant { name, value, .. } = variable {
            out = out.replace(&format!("${name}"), value);
        }
    }
    let defined: BTreeSet<&str> = dashboard.variables.iter().map(Variable::name).collect();
    for (i, _) in out.match_indices('$') {
        let name: String = out[i + 1..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
        if !defined.contains(name.as_str()) {
            return Err(format!("${name} is not a variable of {}", dashboard.name));
        }
    }
    Ok(out)
}

/// Checks one expression; returns how many selectors it checked.
fn check(expr: &str, dashboard: &Dashboard) -> Result<usize, String> {
    checked_labels(expr, dashboard).map(|(count, _)| count)
}

/// Checks one expression; returns how many selectors it checked and every label those carry.
fn checked_labels(expr: &str, dashboard: &Dashboard) -> Result<(usize, BTreeSet<String>), String> {
    let recorded: BTreeSet<String> = WINDOWS.iter().map(|w| error_ratio_record(w)).collect();
    let text = interpolate(expr, dashboard, "7d", &[])?;
    let ast = parser::parse(&text).map_err(|e| format!("does not parse: {e}"))?;
    let mut names = Names::default();
    walk_expr(&mut names, &ast)?;
    if names.selectors.is_empty() {
        // A constant line (the FinOps budget) is the one query allowed to select nothing.
        let constant =
            text.strip_prefix("vector(").and_then(|r| r.strip_suffix(')')).is_some_and(|n| n.parse::<f64>().is_ok());
        return if constant { Ok((0, BTreeSet::new())) } else { Err("selects nothing".into()) };
    }
    let mut known_anywhere = BTreeSet::new();
    for (name, labels) in &names.selectors {
        let known: Vec<&str> = if recorded.contains(name) {
            RECORDED_LABELS.to_vec()
        } else {
            lookup_series(name).ok_or_else(|| format!("{name} is not in the registry"))?.1
        };
        for label in labels {
            if !known.contains(&label.as_str()) {
                return Err(format!("{name} has no label {label} (has {known:?})"));
            }
        }
        known_anywhere.extend(known.into_iter().map(str::to_owned));
    }
    for label in &names.grouping {
        if !known_anywhere.contains(label) {
            return Err(format!("groups by {label}, which no selected metric carries"));
        }
    }
    Ok((names.selectors.len(), known_anywhere))
}

#[test]
fn every_expression_parses_and_uses_registered_metrics_and_labels() {
    let mut checked = 0;
    for dashboard in dashboards::dashboards() {
        let expressions = dashboard.expressions();
        assert!(!expressions.is_empty(), "{}", dashboard.name);
        for expr in expressions {
            checked += check(&expr, &dashboard).unwrap_or_else(|e| panic!("{}: {e}\n{expr}", dashboard.name));
        }
    }
    assert!(checked > 50, "only {checked} selectors checked");
}

#[test]
fn legends_name_labels_the_query_returns() {
    for dashboard in dashboards::dashboards() {
        for panel in &dashboard.panels {
            for target in &panel.targets {
                let (_, labels) = checked_labels(&target.expr, &dashboard).unwrap_or_else(|e| panic!("{e}"));
                for part in target.legend.split("{{").skip(1) {
                    let label = part.split("}}").next().unwrap_or_default().trim();
                    assert!(labels.contains(label), "{}: {}: legend uses {label}", dashboard.name, panel.title);
                }
            }
        }
    }
}

#[test]
fn the_checker_catches_unknown_names_labels_and_variables() {
    let dashboard = dashboards::dashboards().remove(0);
    for (bad, why) in [
        ("sum(rate(spark_executor_oom_total[5m]))", "not in the registry"),
        ("sum(sparkplane_app_gc_share{job=\"x\"})", "no label job"),
        ("sum by (executor) (sparkplane_app_gc_share)", "groups by executor"),
        ("sum(increase(sparkplane_app_outcome_total[$window]))", "not a variable"),
        ("sum(sparkplane:slo_error_ratio:rate1h{team=\"a\"})", "no label team"),
        ("sum(", "does not parse"),
        ("vector(time())", "selects nothing"),
    ] {
        let err = check(bad, &dashboard).expect_err(bad);
        assert!(err.contains(why), "{bad}: {err}");
    }
    assert_eq!(check("max(sparkplane:slo_error_ratio:rate5m{slo=\"a\"})", &dashboard), Ok(1));
}

#[test]
fn query_variables_list_registered_labels() {
    for dashboard in dashboards::dashboards() {
        for variable in &dashboard.variables {
            if let Variable::Query { metric, values_of, .. } = variable {
                let (_, labels) = lookup_series(metric).unwrap_or_else(|| panic!("{metric} not registered"));
                assert!(labels.contains(values_of), "{}: {metric} has no label {values_of}", dashboard.name);
            }
        }
        let json = dashboard.to_json();
        let names: Vec<&str> =
            json["templating"]["list"].as_array().into_iter().flatten().filter_map(|v| v["name"].as_str()).collect();
        assert_eq!(names.first(), Some(&"datasource"), "{}", dashboard.name);
    }
}

#[test]
fn dashboards_are_deterministic_and_uids_unique() {
    let render = || dashboards::dashboards().iter().map(|d| format!("{:#}", d.to_json())).collect::<Vec<_>>();
    assert_eq!(render(), render());
    let all = dashboards::dashboards();
    assert_eq!(all.len(), 4);
    let mut uids = BTreeSet::new();
    let mut titles = BTreeSet::new();
    for dashboard in &all {
        let json = dashboard.to_json();
        let uid = json["uid"].as_str().expect("uid");
        assert!(uid.len() <= 40, "{uid}: Grafana uids have at most 40 characters");
        assert!(uids.insert(uid.to_owned()), "{uid} twice");
        assert!(titles.insert(json["title"].as_str().expect("title").to_owned()));
        assert_eq!(json["schemaVersion"], 39);
        assert!(json["id"].is_null());
        assert!(!format!("{json}").contains("\"timestamp\""));
    }
}

#[test]
fn every_panel_has_a_datasource_title_type_and_targets() {
    for dashboard in dashboards::dashboards() {
        let json = dashboard.to_json();
        let panels = json["panels"].as_array().expect("panels");
        assert_eq!(panels.len(), dashboard.panels.len() + usize::from(dashboard.logs.is_some()));
        let mut ids = BTreeSet::new();
        let mut titles = BTreeSet::new();
        for panel in panels {
            let title = panel["title"].as_str().unwrap_or_default();
            assert!(!title.is_empty(), "{}: untitled panel", dashboard.name);
            assert!(titles.insert(title.to_owned()), "{}: {title} twice", dashboard.name);
            assert!(ids.insert(panel["id"].as_u64().expect("id")));
            if panel["type"] == "logs" {
                // The Loki panel: checked by the_job_dashboard_shows_its_logs_from_loki.
                continue;
            }
            assert_eq!(panel["datasource"]["uid"], "${datasource}", "{title}");
            assert_eq!(panel["datasource"]["type"], "prometheus", "{title}");
            assert!(["timeseries", "stat", "table", "bargauge"].contains(&panel["type"].as_str().unwrap_or_default()));
            assert!(!panel["description"].as_str().unwrap_or_default().is_empty(), "{title}");
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{title} has no targets");
            for t in targets {
                assert!(t["expr"].as_str().is_some_and(|e| !e.is_empty()), "{title}");
                assert_eq!(t["datasource"]["uid"], "${datasource}", "{title}");
            }
            if panel["fieldConfig"]["defaults"]["custom"]["drawStyle"] == "bars" {
                assert!(panel["interval"].is_string(), "{title}: bars need a minimum interval");
            }
            let grid = &panel["gridPos"];
            let (x, w) = (grid["x"].as_u64().unwrap_or(99), grid["w"].as_u64().unwrap_or(99));
            assert!(x + w <= 24, "{title}: {grid}");
        }
    }
}

#[test]
fn personas_cover_what_the_issue_asks_for() {
    let all = dashboards::dashboards();
    let exprs =
        |name: &str| all.iter().find(|d| d.name == name).map(|d| d.expressions().join("\n")).unwrap_or_default();
    let engineer = exprs("data-engineer");
    for metric in [
        "sparkplane_app_outcome_total",
        "sparkplane_app_duration_seconds_bucket",
        "sparkplane_app_spill_bytes_total",
        "sparkplane_app_gc_share",
    ] {
        assert!(engineer.contains(metric), "data engineer: {metric}");
    }
    assert!(engineer.contains("sparkjob=\"$sparkjob\""));
    let platform = exprs("platform");
    for needle in [
        "sparkplane:slo_error_ratio:rate",
        "sparkplane_submit_duration_seconds_bucket",
        "kube_pod_status_ready",
        "up{job=",
    ] {
        assert!(platform.contains(needle), "platform: {needle}");
    }
    let finops = exprs("finops");
    for needle in ["by (team)", "by (cost_center)", "by (sparkjob, team, cost_center, namespace)", "$budget"] {
        assert!(finops.contains(needle), "finops: {needle}");
    }
    let tenants = exprs("tenants");
    for needle in [
        "sparkplane_app_outcome_total",
        "outcome=\"failed\"",
        "sparkplane_app_cost_usd_total",
        "sparkplane_app_core_hours_total",
    ] {
        assert!(tenants.contains(needle), "tenants: {needle}");
    }
    let finops_json = all.iter().find(|d| d.name == "finops").map(Dashboard::to_json).unwrap_or_default();
    let budget = finops_json["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| v["name"] == "budget")
        .expect("budget variable");
    assert_eq!(budget["type"], "constant");
    let kinds: BTreeSet<&str> = all.iter().flat_map(|d| &d.panels).map(|p| p.kind.as_str()).collect();
    assert_eq!(kinds.len(), 4, "{kinds:?}");
    assert!(all.iter().flat_map(|d| &d.panels).any(|p| p.kind == PanelType::Table && p.targets.len() > 1));
}

fn dns1123(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[test]
fn bundle_has_sidecar_config_maps_and_the_prometheus_rule() {
    let objects = bundle(Some("monitoring"), &Default::default());
    let maps: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "ConfigMap").collect();
    assert_eq!(maps.len(), dashboards::dashboards().len());
    let mut names = BTreeSet::new();
    for map in &maps {
        let name = map["metadata"]["name"].as_str().expect("name");
        assert!(dns1123(name), "{name} is not a DNS-1123 name");
        assert!(names.insert(name.to_owned()));
        assert_eq!(map["apiVersion"], "v1");
        assert_eq!(map["metadata"]["namespace"], "monitoring");
        assert_eq!(map["metadata"]["labels"][SIDECAR_LABEL], "1", "{name}");
        let data = map["data"].as_object().expect("data");
        assert_eq!(data.len(), 1, "{name}");
        for (key, text) in data {
            assert!(key.ends_with(".json"), "{key}");
            let dashboard: Value = serde_json::from_str(text.as_str().expect("string")).expect("valid JSON");
            assert_eq!(format!("{}.json", dashboard["uid"].as_str().expect("uid")), *key);
            assert!(dashboard["panels"].as_array().is_some_and(|p| !p.is_empty()));
        }
    }
    let rules: Vec<&Value> = objects.iter().filter(|o| o["kind"] == "PrometheusRule").collect();
    assert_eq!(rules.len(), 1);
    assert_eq!(rules[0]["metadata"]["namespace"], "monitoring");
    assert!(rules[0]["spec"]["groups"].as_array().is_some_and(|g| !g.is_empty()));
    assert!(bundle(None, &Default::default()).iter().all(|o| o["metadata"].get("namespace").is_none()));
    let release = [("release".to_owned(), "kps".to_owned())].into_iter().collect();
    let labelled = bundle(None, &release);
    let rule = labelled.iter().find(|o| o["kind"] == "PrometheusRule").expect("PrometheusRule");
    assert_eq!(rule["metadata"]["labels"]["release"], "kps");
    assert!(
        labelled.iter().filter(|o| o["kind"] == "ConfigMap").all(|o| o["metadata"]["labels"].get("release").is_none())
    );
    let yaml = sparkplane_documents::yaml::to_yaml_stream(&objects);
    assert_eq!(yaml, sparkplane_documents::yaml::to_yaml_stream(&bundle(Some("monitoring"), &Default::default())));
    assert_eq!(yaml.matches("---\n").count(), objects.len());
}

/// Prometheus's own parser accepts every query (as recording rules: `promtool check rules` parses each).
#[test]
fn promtool_parses_every_expression() {
    let mut rules = Vec::new();
    for dashboard in dashboards::dashboards() {
        for expr in dashboard.expressions() {
            let text = interpolate(&expr, &dashboard, "7d", &[]).unwrap_or_else(|e| panic!("{e}"));
            rules.push(serde_json::json!({"record": format!("dashboard:check_{}:{}", dashboard.name.replace('-', "_"), rules.len()), "expr": text}));
        }
    }
    let file = serde_json::json!({"groups": [{"name": "dashboards", "rules": rules}]});
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("dashboards.yaml"), sparkplane_documents::yaml::to_yaml(&file)).expect("write");
    common::promtool(&["check", "rules", "dashboards.yaml"], dir.path());
}

/// The query of the panel titled `title` (its target with legend `legend`, or its only one).
fn query(dashboard: &str, title: &str, legend: Option<&str>) -> String {
    let all = dashboards::dashboards();
    let d = all.iter().find(|d| d.name == dashboard).unwrap_or_else(|| panic!("no dashboard {dashboard}"));
    let panel = d.panels.iter().find(|p| p.title == title).unwrap_or_else(|| panic!("{dashboard}: no panel {title}"));
    let target = match legend {
        Some(l) => panel.targets.iter().find(|t| t.legend == l),
        None => panel.targets.first(),
    };
    let expr = target.unwrap_or_else(|| panic!("{title}: no target {legend:?}")).expr.clone();
    let values = [("namespace", ".*"), ("sparkjob", "trips"), ("team", ".*"), ("cost_center", ".*")];
    interpolate(&expr, d, "1h", &values).unwrap_or_else(|e| panic!("{e}"))
}

/// Panel queries evaluated by promtool over synthetic series for one job:
/// 3 successes and 1 failure a minute, 2 USD and 0.5 core-hours a minute,
/// one driver pod Pending and not ready.
#[test]
fn promtool_evaluates_panel_queries() {
    let slo = slo_groups(&[SuccessSlo::for_job("trips", 0.99)]).expect("valid SLO");
    let options = sparkplane_observe::rules::RuleOptions::default();
    let rule_file = sparkplane_observe::rules::to_prometheus(&slo, &options);
    let job = r#"sparkjob="trips", team="data-eng", cost_center="cc-1", namespace="etl""#;
    let cases = [
        (query("data-engineer", "Runs", None), "{}", "240"),
        (query("data-engineer", "Success rate", None), "{}", "0.75"),
        (query("platform", "Success rate", None), "{}", "0.75"),
        (
            query("platform", "SLO error ratio", Some("{{slo}} 1h")),
            "{__name__=\"sparkplane:slo_error_ratio:rate1h\", slo=\"trips\"}",
            "0.25",
        ),
        (query("platform", "Drivers not ready", None), "{}", "1"),
        (query("platform", "Exporter", Some("scraped")), "{}", "1"),
        (query("finops", "Cost by team", None), "{team=\"data-eng\"}", "120"),
        (query("finops", "Cost per core-hour", None), "{}", "4"),
        (query("tenants", "Teams", Some("Runs")), "{team=\"data-eng\"}", "240"),
        (query("tenants", "Teams", Some("Failed")), "{team=\"data-eng\"}", "60"),
        (query("tenants", "Success rate by team", None), "{team=\"data-eng\"}", "0.75"),
    ];
    let mut tests = String::new();
    for (expr, labels, value) in &cases {
        let expr = serde_json::to_string(expr).expect("string");
        tests.push_str(&format!(
            "      - expr: {expr}\n        eval_time: 60m\n        exp_samples: [{{labels: '{labels}', value: {value}}}]\n"
        ));
    }
    let file = format!(
        r#"rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'sparkplane_app_outcome_total{{{job}, outcome="succeeded"}}'
        values: '0+3x60'
      - series: 'sparkplane_app_outcome_total{{{job}, outcome="failed"}}'
        values: '0+1x60'
      - series: 'sparkplane_app_cost_usd_total{{{job}}}'
        values: '0+2x60'
      - series: 'sparkplane_app_core_hours_total{{{job}}}'
        values: '0+0.5x60'
      - series: 'up{{job="sparkplane-exporter", instance="a:9464"}}'
        values: '1x60'
      - series: 'kube_pod_status_ready{{namespace="etl", pod="d1", uid="1", condition="false"}}'
        values: '1x60'
      - series: 'kube_pod_status_phase{{namespace="etl", pod="d1", uid="1", phase="Pending"}}'
        values: '1x60'
      - series: 'kube_pod_labels{{namespace="etl", pod="d1", uid="1", label_spark_role="driver"}}'
        values: '1x60'
    promql_expr_test:
{tests}"#
    );
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("rules.yaml"), sparkplane_observe::rules::to_yaml(&rule_file)).expect("write");
    std::fs::write(dir.path().join("tests.yaml"), file).expect("write");
    common::promtool(&["test", "rules", "tests.yaml"], dir.path());
}

#[test]
fn the_job_dashboard_shows_its_logs_from_loki() {
    let dashboard =
        dashboards::dashboards().into_iter().find(|d| d.name == "data-engineer").expect("the job dashboard");
    let json = dashboard.to_json();
    let panels = json["panels"].as_array().expect("panels");
    let logs = panels.last().expect("a last panel");
    assert_eq!(logs["type"], "logs");
    assert_eq!(logs["datasource"], serde_json::json!({"type": "loki", "uid": "${logs}"}));
    // Below every other panel, full width.
    let bottom = panels[..panels.len() - 1]
        .iter()
        .map(|p| p["gridPos"]["y"].as_u64().unwrap_or(0) + p["gridPos"]["h"].as_u64().unwrap_or(0))
        .max()
        .unwrap_or(0);
    assert_eq!(logs["gridPos"]["y"].as_u64(), Some(bottom));
    assert_eq!(logs["gridPos"]["w"], 24);
    let expr = logs["targets"][0]["expr"].as_str().expect("a LogQL query");
    assert_eq!(
        expr,
        "{${log_selector}} | json | sparkjob=\"$sparkjob\" | line_format \"{{.executor}} {{.level}} {{.logger}}: \
         {{.message}}{{if .exception}}\\n{{.exception}}{{end}}\""
    );
    // Every field the query reads is one the log layout writes.
    let fields = sparkplane_core::render::logging::FIELDS;
    for field in ["sparkjob", "executor", "level", "logger", "message", "exception"] {
        assert!(fields.contains(&field), "{field} is not written by render::logging");
    }
    // The variables it names exist: the Loki data source picker and the configurable stream selector.
    let variables = json["templating"]["list"].as_array().expect("variables");
    let named = |name: &str| variables.iter().find(|v| v["name"] == name).cloned().unwrap_or_default();
    assert_eq!(named("logs")["type"], "datasource");
    assert_eq!(named("logs")["query"], "loki");
    assert_eq!(named("log_selector")["type"], "constant");
    assert_eq!(named("log_selector")["query"], dashboards::DEFAULT_LOG_SELECTOR);
    assert_eq!(named("sparkjob")["type"], "query");
    // Only the job dashboard has one.
    assert_eq!(dashboards::dashboards().iter().filter(|d| d.logs.is_some()).count(), 1);
}
