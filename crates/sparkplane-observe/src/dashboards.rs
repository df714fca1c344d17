//! Grafana dashboards for Spark jobs run by sparkplane, one per persona (data
//! engineer, SRE/platform, FinOps, tenant overview), and the Kubernetes bundle
//! that installs them with the Grafana sidecar next to the PrometheusRule.
//!
//! Owns: which panels each dashboard has, their PromQL, units and layout, the
//! dashboards' template variables, and the ConfigMap shape (sidecar label
//! `grafana_dashboard: "1"`, data key `<name>.json`).
//!
//! Must not: use a metric or label that is not in [`crate::registry`] (or a
//! recording rule [`crate::slo`] defines) — a test parses every expression —,
//! do I/O, or put anything time- or run-dependent in the output: the same
//! build renders byte-identical JSON (stable uids, no timestamps, sorted keys).

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};
use sparkplane_api::labels;
use sparkplane_core::render::common::EXECUTOR_CONTAINER;

use crate::rules::{
    DEFAULT_EXPORTER_JOB, GC_SHARE_THRESHOLD, RuleOptions, SLOW_SUBMIT_SECONDS, builtin_groups, promql_string,
    to_prometheus_rule,
};
use crate::slo::error_ratio_record;

/// The Grafana dashboard schema version the JSON follows.
pub const SCHEMA_VERSION: u32 = 39;

/// The tag every sparkplane dashboard carries (the dashboards link each other through it).
pub const TAG: &str = "sparkplane";

/// Label the Grafana sidecar (kiwigrid k8s-sidecar, as kube-prometheus-stack runs it) selects ConfigMaps by.
pub const SIDECAR_LABEL: &str = "grafana_dashboard";

/// Annotation the sidecar reads the target folder from (kube-prometheus-stack:
/// `grafana.sidecar.dashboards.folderAnnotation`).
pub const FOLDER_ANNOTATION: &str = "grafana_folder";

/// Default of the FinOps dashboard's `budget` constant: US dollars per 30 days.
pub const DEFAULT_BUDGET_USD: u32 = 10_000;

/// The datasource every panel and query variable uses: the `datasource` template variable.
fn datasource() -> Value {
    json!({"type": "prometheus", "uid": "${datasource}"})
}

/// How a panel draws its data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PanelType {
    /// Lines or bars over time.
    TimeSeries,
    /// One big number per series.
    Stat,
    /// Rows of instant values, one column per query.
    Table,
    /// Horizontal bars, one per series (rankings).
    BarGauge,
}

impl PanelType {
    /// Grafana's panel plugin id.
    pub fn as_str(self) -> &'static str {
        match self {
            PanelType::TimeSeries => "timeseries",
            PanelType::Stat => "stat",
            PanelType::Table => "table",
            PanelType::BarGauge => "bargauge",
        }
    }

    fn height(self) -> u32 {
        match self {
            PanelType::Stat => 4,
            PanelType::TimeSeries | PanelType::BarGauge => 8,
            PanelType::Table => 10,
        }
    }

    /// Stats, bar gauges and tables show one value per series: they query instants.
    fn instant(self) -> bool {
        self != PanelType::TimeSeries
    }
}

/// One query of a panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Target {
    /// PromQL; may use the dashboard's variables and Grafana's `$__range`, `$__interval`, `$__rate_interval`.
    pub expr: String,
    /// Series legend (`{{team}}`), or the column name in a table.
    pub legend: String,
}

/// Colour steps: `base` below the first step, then each `(from, colour)`.
#[derive(Clone, Debug, PartialEq)]
pub struct Thresholds {
    /// Colour below every step.
    pub base: &'static str,
    /// Ascending `(value, colour)` steps.
    pub steps: Vec<(f64, &'static str)>,
}

/// One panel.
#[derive(Clone, Debug, PartialEq)]
pub struct Panel {
    /// Title, unique in its dashboard.
    pub title: String,
    /// What the panel shows and how to read it.
    pub description: String,
    /// How it draws.
    pub kind: PanelType,
    /// Grafana unit id (`s`, `bytes`, `percentunit`, `currencyUSD`, `short`).
    pub unit: &'static str,
    /// Width in grid columns (of 24).
    pub width: u32,
    /// The queries; at least one.
    pub targets: Vec<Target>,
    /// Colour thresholds (drawn as lines on time series).
    pub thresholds: Option<Thresholds>,
    /// Time series only: stacked bars instead of lines.
    pub bars: bool,
    /// Lower bound of `$__interval` (Grafana's "min interval"), so per-interval
    /// `increase` windows never fall below a useful size.
    pub min_interval: Option<&'static str>,
}

/// A dashboard template variable.
#[derive(Clone, Debug, PartialEq)]
pub enum Variable {
    /// `datasource`: picks the Prometheus datasource every panel uses.
    Datasource,
    /// Values of one label of one metric (`label_values(metric{matchers}, label)`).
    Query {
        /// Variable name (`$name` in queries).
        name: &'static str,
        /// Shown in the picker.
        label: &'static str,
        /// Registered metric the values come from.
        metric: &'static str,
        /// Matchers inside the metric's braces (may reference earlier variables), or empty.
        matchers: String,
        /// The registered label whose values are listed.
        values_of: &'static str,
        /// Several values and "All" (`.*`), for `=~` matchers; otherwise exactly one, for `=`.
        multi: bool,
    },
    /// `logs`: picks the Loki datasource of the dashboard's logs panel.
    LogsDatasource,
    /// A fixed value set in the dashboard's JSON or settings, hidden from the toolbar.
    Constant {
        /// Variable name.
        name: &'static str,
        /// The value.
        value: String,
        /// What it means.
        description: &'static str,
    },
}

impl Variable {
    /// The variable's name.
    pub fn name(&self) -> &str {
        match self {
            Variable::Datasource => "datasource",
            Variable::LogsDatasource => LOGS_DATASOURCE,
            Variable::Query { name, .. } | Variable::Constant { name, .. } => name,
        }
    }

    /// For a query variable, the series selector it lists values from.
    pub fn selector(&self) -> Option<String> {
        match self {
            Variable::Query { metric, matchers, .. } if matchers.is_empty() => Some((*metric).to_owned()),
            Variable::Query { metric, matchers, .. } => Some(format!("{metric}{{{matchers}}}")),
            _ => None,
        }
    }

    fn to_json(&self) -> Value {
        match self {
            Variable::Datasource => json!({
                "name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
                "current": {}, "hide": 0, "includeAll": false, "multi": false, "options": [], "refresh": 1, "regex": "",
            }),
            Variable::LogsDatasource => json!({
                "name": LOGS_DATASOURCE, "label": "Logs data source", "type": "datasource", "query": "loki",
                "current": {}, "hide": 0, "includeAll": false, "multi": false, "options": [], "refresh": 1, "regex": "",
            }),
            Variable::Query { name, label, values_of, multi, .. } => {
                let query = format!("label_values({}, {values_of})", self.selector().unwrap_or_default());
                let mut out = json!({
                    "name": name, "label": label, "type": "query", "datasource": datasource(),
                    "definition": query, "query": query,
                    "current": {}, "hide": 0, "includeAll": multi, "multi": multi, "options": [], "refresh": 2,
                    "regex": "", "sort": 1,
                });
                if *multi {
                    out["allValue"] = json!(".*");
                }
                out
            }
            Variable::Constant { name, value, description } => json!({
                "name": name, "label": name, "type": "constant", "description": description, "hide": 2,
                "query": value, "current": {"text": value, "value": value}, "options": [{"selected": true, "text": value, "value": value}],
            }),
        }
    }
}

/// One Grafana dashboard.
#[derive(Clone, Debug, PartialEq)]
pub struct Dashboard {
    /// Short name, DNS-1123 (`data-engineer`): the uid, file and ConfigMap names derive from it.
    pub name: &'static str,
    /// Title shown in Grafana.
    pub title: &'static str,
    /// Who it is for and what it answers.
    pub description: &'static str,
    /// Template variables, in toolbar order (`datasource` first).
    pub variables: Vec<Variable>,
    /// Panels in reading order; laid out left to right, top to bottom.
    pub panels: Vec<Panel>,
    /// A logs panel below the panels, querying Loki (needs the
    /// [`Variable::LogsDatasource`] variable and the [`LOG_SELECTOR`] constant).
    pub logs: Option<LogsPanel>,
}

/// A Grafana logs panel over Loki: the lines sparkplane's log layout
/// (`sparkplane_core::render::logging`) wrote, read back as text.
#[derive(Clone, Debug, PartialEq)]
pub struct LogsPanel {
    /// Title, unique in its dashboard.
    pub title: &'static str,
    /// What it shows.
    pub description: &'static str,
    /// LogQL; may use the dashboard's variables.
    pub expr: String,
}

/// Name of the Loki datasource variable.
pub const LOGS_DATASOURCE: &str = "logs";
/// Name of the constant holding the Loki stream selector of Spark's
/// containers (without braces); change it in the dashboard's settings where
/// the log collector labels streams otherwise.
pub const LOG_SELECTOR: &str = "log_selector";
/// Its default: the container names Spark gives its driver and executors,
/// as Promtail, Grafana Alloy and the Loki Helm chart label streams.
pub const DEFAULT_LOG_SELECTOR: &str = "container=~\"spark-kubernetes-(driver|executor)\"";

impl Dashboard {
    /// Stable uid from the name (Grafana allows 40 characters).
    pub fn uid(&self) -> String {
        format!("sparkplane-{}", self.name)
    }

    /// File name of the dashboard JSON (the ConfigMap's data key).
    pub fn file_name(&self) -> String {
        format!("sparkplane-{}.json", self.name)
    }

    /// Every PromQL expression the dashboard runs: each panel target's, then
    /// each query variable's series selector.
    pub fn expressions(&self) -> Vec<String> {
        let panels = self.panels.iter().flat_map(|p| &p.targets).map(|t| t.expr.clone());
        panels.chain(self.variables.iter().filter_map(Variable::selector)).collect()
    }

    /// The dashboard as Grafana's JSON model (keys sorted, no ids or timestamps that change between runs).
    pub fn to_json(&self) -> Value {
        let mut panels = Vec::with_capacity(self.panels.len());
        let (mut x, mut y, mut row_height) = (0, 0, 0);
        for (index, panel) in self.panels.iter().enumerate() {
            let width = panel.width.clamp(1, 24);
            if x + width > 24 {
                (x, y, row_height) = (0, y + row_height, 0);
            }
            let height = panel.kind.height();
            panels.push(panel_json(panel, index + 1, json!({"x": x, "y": y, "w": width, "h": height})));
            x += width;
            row_height = row_height.max(height);
        }
        if let Some(logs) = &self.logs {
            let grid = json!({"x": 0, "y": y + row_height, "w": 24, "h": 12});
            panels.push(json!({
                "datasource": {"type": "loki", "uid": format!("${{{LOGS_DATASOURCE}}}")},
                "description": logs.description,
                "gridPos": grid,
                "id": panels.len() + 1,
                "options": {
                    "dedupStrategy": "none", "enableLogDetails": true, "prettifyLogMessage": false,
                    "showCommonLabels": false, "showLabels": false, "showTime": true, "sortOrder": "Descending",
                    "wrapLogMessage": true,
                },
                "targets": [{
                    "datasource": {"type": "loki", "uid": format!("${{{LOGS_DATASOURCE}}}")},
                    "editorMode": "code", "expr": logs.expr, "queryType": "range", "refId": "A",
                }],
                "title": logs.title,
                "type": "logs",
            }));
        }
        json!({
            "annotations": {"list": [{
                "builtIn": 1, "datasource": {"type": "grafana", "uid": "-- Grafana --"}, "enable": true, "hide": true,
                "iconColor": "rgba(0, 211, 255, 1)", "name": "Annotations & Alerts", "type": "dashboard",
            }]},
            "description": self.description,
            "editable": true,
            "fiscalYearStartMonth": 0,
            "graphTooltip": 1,
            "id": null,
            "links": [{
                "asDropdown": true, "icon": "external link", "includeVars": false, "keepTime": true,
                "tags": [TAG], "targetBlank": false, "title": "sparkplane dashboards", "type": "dashboards",
            }],
            "panels": panels,
            "refresh": "5m",
            "schemaVersion": SCHEMA_VERSION,
            "tags": [TAG, self.name],
            "templating": {"list": self.variables.iter().map(Variable::to_json).collect::<Vec<_>>()},
            "time": {"from": "now-7d", "to": "now"},
            "timepicker": {},
            "timezone": "",
            "title": self.title,
            "uid": self.uid(),
            "version": 1,
            "weekStart": "",
        })
    }
}

fn thresholds_json(thresholds: Option<&Thresholds>) -> Value {
    let mut steps = vec![json!({"color": thresholds.map_or("green", |t| t.base), "value": null})];
    steps.extend(thresholds.into_iter().flat_map(|t| &t.steps).map(|(v, c)| json!({"color": c, "value": v})));
    json!({"mode": "absolute", "steps": steps})
}

fn panel_json(panel: &Panel, id: usize, grid: Value) -> Value {
    let instant = panel.kind.instant();
    let table = panel.kind == PanelType::Table;
    let targets: Vec<Value> = panel
        .targets
        .iter()
        .enumerate()
        .map(|(i, t)| {
            json!({
                "datasource": datasource(), "editorMode": "code", "expr": t.expr,
                "format": if table { "table" } else { "time_series" }, "instant": instant, "range": !instant,
                "legendFormat": if t.legend.is_empty() { "__auto" } else { t.legend.as_str() }, "refId": ref_id(i),
            })
        })
        .collect();
    let mut defaults = Map::new();
    defaults.insert("unit".into(), json!(panel.unit));
    defaults.insert("thresholds".into(), thresholds_json(panel.thresholds.as_ref()));
    defaults.insert(
        "color".into(),
        json!({"mode": if panel.kind == PanelType::Stat { "thresholds" } else { "palette-classic" }}),
    );
    let options = match panel.kind {
        PanelType::TimeSeries => {
            defaults.insert(
                "custom".into(),
                json!({
                    "drawStyle": if panel.bars { "bars" } else { "line" },
                    "fillOpacity": if panel.bars { 80 } else { 10 },
                    "lineWidth": 1,
                    "showPoints": "never",
                    "spanNulls": true,
                    "stacking": {"group": "A", "mode": if panel.bars { "normal" } else { "none" }},
                    "thresholdsStyle": {"mode": if panel.thresholds.is_some() { "line" } else { "off" }},
                }),
            );
            json!({
                "legend": {"calcs": ["lastNotNull", "max"], "displayMode": "table", "placement": "bottom", "showLegend": true},
                "tooltip": {"mode": "multi", "sort": "desc"},
            })
        }
        PanelType::Stat => json!({
            "colorMode": "value", "graphMode": "none", "justifyMode": "auto", "orientation": "auto", "textMode": "auto",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
        }),
        PanelType::BarGauge => json!({
            "displayMode": "gradient", "orientation": "horizontal", "showUnfilled": true, "valueMode": "color",
            "reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": false},
        }),
        PanelType::Table => {
            json!({"cellHeight": "sm", "showHeader": true, "footer": {"show": false, "reducer": ["sum"], "fields": ""}})
        }
    };
    let mut out = json!({
        "datasource": datasource(),
        "description": panel.description,
        "fieldConfig": {"defaults": defaults, "overrides": []},
        "gridPos": grid,
        "id": id,
        "options": options,
        "targets": targets,
        "title": panel.title,
        "type": panel.kind.as_str(),
    });
    if let Some(interval) = panel.min_interval {
        out["interval"] = json!(interval);
    }
    if table {
        // Instant table queries come back as one frame per query; merge them on
        // their labels and name each value column after its target's legend.
        let renames: Map<String, Value> = panel
            .targets
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let column =
                    if panel.targets.len() == 1 { "Value".to_owned() } else { format!("Value #{}", ref_id(i)) };
                (column, json!(t.legend))
            })
            .collect();
        out["transformations"] = json!([
            {"id": "merge", "options": {}},
            {"id": "organize", "options": {"excludeByName": {"Time": true}, "indexByName": {}, "renameByName": renames}},
        ]);
    }
    out
}

/// Query ids A, B, … Z, AA, AB, … (panels here have a handful).
fn ref_id(index: usize) -> String {
    let letter = |i: usize| char::from(b'A' + (i % 26) as u8);
    if index < 26 { letter(index).to_string() } else { format!("{}{}", letter(index / 26 - 1), letter(index)) }
}

fn target(expr: impl Into<String>, legend: &str) -> Target {
    Target { expr: expr.into(), legend: legend.to_owned() }
}

fn panel(
    kind: PanelType,
    width: u32,
    title: &str,
    unit: &'static str,
    description: &str,
    targets: Vec<Target>,
) -> Panel {
    Panel {
        title: title.to_owned(),
        description: description.to_owned(),
        kind,
        unit,
        width,
        targets,
        thresholds: None,
        bars: false,
        min_interval: None,
    }
}

impl Panel {
    fn thresholds(mut self, base: &'static str, steps: &[(f64, &'static str)]) -> Panel {
        self.thresholds = Some(Thresholds { base, steps: steps.to_vec() });
        self
    }

    /// Stacked bars of counts per `$__interval`, at least an hour each: one
    /// bar per step, so no run is counted twice.
    fn bars(mut self) -> Panel {
        self.bars = true;
        self.min_interval = Some("1h");
        self
    }
}

const OUTCOME: &str = "sparkplane_app_outcome_total";

/// `sum by (labels) (increase(metric{matchers}[window]))`, or `sum(...)` without labels.
fn increase(metric: &str, matchers: &str, window: &str, by: &str) -> String {
    let sum = if by.is_empty() { "sum".to_owned() } else { format!("sum by ({by})") };
    format!("{sum} (increase({metric}{{{matchers}}}[{window}]))")
}

/// `matchers` plus one more, comma-joined.
fn and(matchers: &str, more: &str) -> String {
    if matchers.is_empty() { more.to_owned() } else { format!("{matchers}, {more}") }
}

/// Share of runs that succeeded, per `by`, over `window`.
fn success_ratio(matchers: &str, window: &str, by: &str) -> String {
    format!(
        "{} / {}",
        increase(OUTCOME, &and(matchers, "outcome=\"succeeded\""), window, by),
        increase(OUTCOME, matchers, window, by)
    )
}

const SUCCESS_COLOURS: &[(f64, &str)] = &[(0.9, "orange"), (0.99, "green")];

fn team_variable() -> Variable {
    Variable::Query {
        name: "team",
        label: "Team",
        metric: OUTCOME,
        matchers: String::new(),
        values_of: "team",
        multi: true,
    }
}

fn data_engineer() -> Dashboard {
    let job = "namespace=~\"$namespace\", sparkjob=\"$sparkjob\"";
    let quantile = |q: f64| {
        format!("histogram_quantile({q}, sum by (le) (increase(sparkplane_app_duration_seconds_bucket{{{job}}}[1d])))")
    };
    let panels = vec![
        panel(
            PanelType::Stat,
            6,
            "Runs",
            "short",
            "Applications of the job that finished in the time range.",
            vec![target(increase(OUTCOME, job, "$__range", ""), "runs")],
        ),
        panel(
            PanelType::Stat,
            6,
            "Failed runs",
            "short",
            "Applications of the job that ended failed in the time range.",
            vec![target(increase(OUTCOME, &and(job, "outcome=\"failed\""), "$__range", ""), "failed")],
        )
        .thresholds("green", &[(1.0, "red")]),
        panel(
            PanelType::Stat,
            6,
            "Success rate",
            "percentunit",
            "Share of the job's runs in the time range that succeeded.",
            vec![target(success_ratio(job, "$__range", ""), "success rate")],
        )
        .thresholds("red", SUCCESS_COLOURS),
        panel(
            PanelType::Stat,
            6,
            "Runs over duration objective",
            "short",
            "Finished runs in the time range that took longer than spec.slo.maxDuration (0 when the job has none).",
            vec![target(increase("sparkplane_app_slo_duration_breaches_total", job, "$__range", ""), "breaches")],
        )
        .thresholds("green", &[(1.0, "orange")]),
        panel(
            PanelType::TimeSeries,
            12,
            "Runs by outcome",
            "short",
            "Finished applications per interval (an hour or more), by outcome.",
            vec![target(increase(OUTCOME, job, "$__interval", "outcome"), "{{outcome}}")],
        )
        .bars(),
        panel(
            PanelType::TimeSeries,
            12,
            "Duration vs objective",
            "s",
            "p50 and p95 of finished runs' duration over the trailing day (from the duration histogram's buckets), \
             the age of the run in progress, and the job's duration objective.",
            vec![
                target(quantile(0.5), "p50 (1d)"),
                target(quantile(0.95), "p95 (1d)"),
                target(format!("max(sparkplane_app_running_seconds{{{job}}})"), "running for"),
                target(format!("max(sparkplane_app_slo_duration_seconds{{{job}}})"), "objective"),
            ],
        ),
        panel(
            PanelType::TimeSeries,
            8,
            "Spill to disk per hour",
            "bytes",
            "Bytes the job's tasks spilled to disk, per hour. Large spill means too few partitions, too little \
             execution memory, or skew.",
            vec![target(increase("sparkplane_app_spill_bytes_total", job, "1h", ""), "spill")],
        ),
        panel(
            PanelType::TimeSeries,
            8,
            "GC share and executor utilisation",
            "percentunit",
            "Share of task time in JVM garbage collection, and share of executor core time running tasks, in the \
             latest finished run. The line marks the GC share the SparkJobHighGcShare alert fires at.",
            vec![
                target(format!("max(sparkplane_app_gc_share{{{job}}})"), "GC share"),
                target(format!("max(sparkplane_app_executor_utilisation{{{job}}})"), "executor utilisation"),
            ],
        )
        .thresholds("green", &[(GC_SHARE_THRESHOLD, "red")]),
        panel(
            PanelType::TimeSeries,
            8,
            "Cost and core-hours per day",
            "short",
            "Cost (US dollars at the exporter's price sheet) and CPU core-hours of the job's finished runs over the trailing day.",
            vec![
                target(increase("sparkplane_app_cost_usd_total", job, "1d", ""), "cost (USD)"),
                target(increase("sparkplane_app_core_hours_total", job, "1d", ""), "core-hours"),
            ],
        ),
        panel(
            PanelType::TimeSeries,
            24,
            "Spark Connect sessions and queries",
            "short",
            "For a type: Connect job: client sessions open on its running server, and queries or commands running \
             or streaming results (from the server's event log). Empty for batch jobs and while no server runs.",
            vec![
                target(format!("sum(sparkplane_connect_sessions{{{job}}})"), "sessions"),
                target(format!("sum(sparkplane_connect_operations{{{job}}})"), "queries"),
            ],
        ),
    ];
    Dashboard {
        name: "data-engineer",
        title: "sparkplane / Spark job",
        description: "For data engineers: one SparkJob's runs, outcomes, durations against its objective, spill, GC and cost.",
        variables: vec![
            Variable::Datasource,
            Variable::Query {
                name: "namespace",
                label: "Namespace",
                metric: OUTCOME,
                matchers: String::new(),
                values_of: "namespace",
                multi: true,
            },
            Variable::Query {
                name: "sparkjob",
                label: "SparkJob",
                metric: OUTCOME,
                matchers: "namespace=~\"$namespace\"".to_owned(),
                values_of: "sparkjob",
                multi: false,
            },
            Variable::LogsDatasource,
            Variable::Constant {
                name: LOG_SELECTOR,
                value: DEFAULT_LOG_SELECTOR.to_owned(),
                description: "Loki stream selector of Spark's driver and executor containers, without braces",
            },
        ],
        panels,
        logs: Some(LogsPanel {
            title: "Driver and executor logs",
            description: "The job's log lines from Loki: every line of sparkplane's JSON log layout names its \
                          sparkjob, team, application id, executor and attempt. Pick the Loki data source in the \
                          toolbar; the stream selector is the log_selector constant in the dashboard's settings.",
            expr: format!(
                "{{${{{LOG_SELECTOR}}}}} | json | sparkjob=\"$sparkjob\" | line_format \"{{{{.executor}}}} {{{{.level}}}} \
                 {{{{.logger}}}}: {{{{.message}}}}{{{{if .exception}}}}\\n{{{{.exception}}}}{{{{end}}}}\""
            ),
        }),
    }
}

fn driver_not_ready() -> &'static str {
    "max by (namespace, pod) (kube_pod_status_ready{condition=\"false\"} == 1) \
     and on (namespace, pod) max by (namespace, pod) (kube_pod_status_phase{phase=~\"Pending|Running|Unknown\"} == 1) \
     and on (namespace, pod) max by (namespace, pod) (kube_pod_labels{label_spark_role=\"driver\"})"
}

fn sre() -> Dashboard {
    let exporter_up = format!("min(up{{job=\"{}\"}})", promql_string(DEFAULT_EXPORTER_JOB));
    let slo_windows = ["1h", "6h", "1d", "3d"];
    let panels = vec![
        panel(PanelType::Stat, 6, "Success rate", "percentunit", "Share of all jobs' runs in the time range that succeeded.", vec![
            target(success_ratio("", "$__range", ""), "success rate"),
        ])
        .thresholds("red", SUCCESS_COLOURS),
        panel(
            PanelType::Stat,
            6,
            "Drivers not ready",
            "short",
            "Spark driver pods that are Pending, Running or Unknown but not Ready (needs kube-state-metrics with the \
             spark-role pod label allow-listed). SparkDriverPodNotReady fires after 10 minutes.",
            vec![target(format!("count({}) or vector(0)", driver_not_ready()), "not ready")],
        )
        .thresholds("green", &[(1.0, "orange")]),
        panel(
            PanelType::Stat,
            6,
            "Exporter",
            "short",
            "1 when Prometheus scrapes the exporter (scrape job sparkplane-exporter) and the exporter can read the \
             event-log location; 0 otherwise.",
            vec![target(exporter_up, "scraped"), target("min(sparkplane_exporter_up)", "event logs readable")],
        )
        .thresholds("red", &[(1.0, "green")]),
        panel(
            PanelType::Stat,
            6,
            "Exporter scan age",
            "s",
            "Time since the exporter last finished a scan of the event logs; SparkplaneExporterScanStale fires past 15 minutes.",
            vec![target("time() - max(sparkplane_exporter_last_scan_timestamp_seconds)", "scan age")],
        )
        .thresholds("green", &[(300.0, "orange"), (900.0, "red")]),
        panel(
            PanelType::TimeSeries,
            12,
            "Success rate by team (6h)",
            "percentunit",
            "Share of each team's runs that succeeded over the trailing 6 hours.",
            vec![target(success_ratio("team=~\"$team\"", "6h", "team"), "{{team}}")],
        )
        .thresholds("red", SUCCESS_COLOURS),
        panel(
            PanelType::TimeSeries,
            12,
            "SLO error ratio",
            "percentunit",
            "Error ratio (failed / all runs) of each success-rate SLO, from the recording rules of `sparkplane observe \
             rules --slo`, over the alert windows. Burn rate is this ratio divided by (1 - objective): the page fires \
             at 14.4x over 1h and 6x over 6h, the ticket at 3x over 1d and 1x over 3d. Empty without SLO rules.",
            slo_windows.iter().map(|w| target(error_ratio_record(w), &format!("{{{{slo}}}} {w}"))).collect(),
        ),
        panel(
            PanelType::TimeSeries,
            12,
            "Submission latency p95",
            "s",
            "95th percentile of the time from the start of a submission to the API server accepting every object, \
             by namespace. The line is where SparkSubmissionSlow fires.",
            vec![target(
                "histogram_quantile(0.95, sum by (le, namespace) (rate(sparkplane_submit_duration_seconds_bucket[$__rate_interval])))",
                "{{namespace}}",
            )],
        )
        .thresholds("green", &[(f64::from(SLOW_SUBMIT_SECONDS), "red")]),
        panel(
            PanelType::TimeSeries,
            12,
            "Failed runs per hour by job",
            "short",
            "The ten jobs with the most failed runs per hour.",
            vec![target(
                format!("topk(10, {})", increase(OUTCOME, "team=~\"$team\", outcome=\"failed\"", "1h", "sparkjob, namespace")),
                "{{namespace}}/{{sparkjob}}",
            )],
        ),
        panel(
            PanelType::Table,
            12,
            "Driver pods not ready",
            "short",
            "Each Spark driver pod currently Pending, Running or Unknown but not Ready.",
            vec![target(driver_not_ready(), "not ready")],
        ),
        panel(
            PanelType::TimeSeries,
            12,
            "Executor OOMKills and event-log errors",
            "short",
            "Executor containers currently terminated by OOMKilled, and event logs the exporter could not read per hour.",
            vec![
                target(
                    format!(
                        "count(max by (namespace, pod) (kube_pod_container_status_terminated_reason{{reason=\"OOMKilled\", container=\"{EXECUTOR_CONTAINER}\"}}) > 0) or vector(0)"
                    ),
                    "OOMKilled executors",
                ),
                target("sum(increase(sparkplane_exporter_log_errors_total[1h]))", "unreadable event logs"),
            ],
        ),
    ];
    Dashboard {
        name: "platform",
        title: "sparkplane / Platform",
        description: "For SREs and the platform team: run success, SLO error ratios, submission latency, driver pods \
                      that do not start, executor OOMKills and the exporter's health.",
        variables: vec![Variable::Datasource, team_variable()],
        panels,
        logs: None,
    }
}

fn finops() -> Dashboard {
    let scope = "team=~\"$team\", cost_center=~\"$cost_center\"";
    let cost = "sparkplane_app_cost_usd_total";
    let panels = vec![
        panel(
            PanelType::Stat,
            6,
            "Cost",
            "currencyUSD",
            "Cost of finished runs in the time range at the exporter's price sheet.",
            vec![target(increase(cost, scope, "$__range", ""), "cost")],
        ),
        panel(
            PanelType::Stat,
            6,
            "Core-hours",
            "short",
            "CPU core-hours of finished runs in the time range.",
            vec![target(increase("sparkplane_app_core_hours_total", scope, "$__range", ""), "core-hours")],
        ),
        panel(
            PanelType::Stat,
            6,
            "Budget used (30d)",
            "percentunit",
            "Cost over the trailing 30 days as a share of the `budget` dashboard constant (USD per 30 days). The \
             metric registry has no budget metric, so the budget lives in this dashboard: set it in the dashboard \
             settings (Variables) or in the JSON.",
            vec![target(format!("{} / $budget", increase(cost, scope, "30d", "")), "budget used")],
        )
        .thresholds("green", &[(0.8, "orange"), (1.0, "red")]),
        panel(
            PanelType::Stat,
            6,
            "Cost per core-hour",
            "currencyUSD",
            "Average price paid per CPU core-hour in the time range.",
            vec![target(
                format!(
                    "{} / {}",
                    increase(cost, scope, "$__range", ""),
                    increase("sparkplane_app_core_hours_total", scope, "$__range", "")
                ),
                "USD per core-hour",
            )],
        ),
        panel(
            PanelType::BarGauge,
            12,
            "Cost by team",
            "currencyUSD",
            "Cost of each team's finished runs in the time range.",
            vec![target(format!("sort_desc({})", increase(cost, scope, "$__range", "team")), "{{team}}")],
        ),
        panel(
            PanelType::BarGauge,
            12,
            "Cost by cost center",
            "currencyUSD",
            "Cost of each cost center's finished runs in the time range.",
            vec![target(format!("sort_desc({})", increase(cost, scope, "$__range", "cost_center")), "{{cost_center}}")],
        ),
        panel(
            PanelType::TimeSeries,
            12,
            "Daily cost by team",
            "currencyUSD",
            "Cost of each team's finished runs over the trailing day.",
            vec![target(increase(cost, scope, "1d", "team"), "{{team}}")],
        ),
        panel(
            PanelType::TimeSeries,
            12,
            "Cost trend vs budget (30d)",
            "currencyUSD",
            "Cost over the trailing 30 days against the `budget` dashboard constant. There is no budget metric in \
             the registry: the budget is a dashboard constant (USD per 30 days), set in the dashboard's settings or JSON.",
            vec![target(increase(cost, scope, "30d", ""), "cost (30d)"), target("vector($budget)", "budget")],
        ),
        panel(
            PanelType::Table,
            24,
            "Cost by job",
            "short",
            "Cost and core-hours of each SparkJob's finished runs in the time range.",
            vec![
                target(
                    format!(
                        "sort_desc({})",
                        increase(cost, scope, "$__range", "sparkjob, team, cost_center, namespace")
                    ),
                    "Cost (USD)",
                ),
                target(
                    increase(
                        "sparkplane_app_core_hours_total",
                        scope,
                        "$__range",
                        "sparkjob, team, cost_center, namespace",
                    ),
                    "Core-hours",
                ),
            ],
        ),
    ];
    Dashboard {
        name: "finops",
        title: "sparkplane / FinOps",
        description: "For FinOps: the cost and core-hours of finished Spark runs by team, cost center and job, their \
                      trend, and spend against a budget kept in the dashboard.",
        variables: vec![
            Variable::Datasource,
            team_variable(),
            Variable::Query {
                name: "cost_center",
                label: "Cost center",
                metric: "sparkplane_app_cost_usd_total",
                matchers: "team=~\"$team\"".to_owned(),
                values_of: "cost_center",
                multi: true,
            },
            Variable::Constant {
                name: "budget",
                value: DEFAULT_BUDGET_USD.to_string(),
                description: "Budget in US dollars per 30 days (the registry has no budget metric)",
            },
        ],
        panels,
        logs: None,
    }
}

fn tenants() -> Dashboard {
    let scope = "team=~\"$team\"";
    let cost = "sparkplane_app_cost_usd_total";
    let core_hours = "sparkplane_app_core_hours_total";
    let panels = vec![
        panel(
            PanelType::Table,
            24,
            "Teams",
            "short",
            "Per team, in the time range: finished runs, failed runs, cost and core-hours.",
            vec![
                target(increase(OUTCOME, scope, "$__range", "team"), "Runs"),
                target(increase(OUTCOME, &and(scope, "outcome=\"failed\""), "$__range", "team"), "Failed"),
                target(increase(cost, scope, "$__range", "team"), "Cost (USD)"),
                target(increase(core_hours, scope, "$__range", "team"), "Core-hours"),
            ],
        ),
        panel(
            PanelType::BarGauge,
            12,
            "Runs by team",
            "short",
            "Finished runs of each team in the time range.",
            vec![target(format!("sort_desc({})", increase(OUTCOME, scope, "$__range", "team")), "{{team}}")],
        ),
        panel(
            PanelType::BarGauge,
            12,
            "Success rate by team",
            "percentunit",
            "Share of each team's runs in the time range that succeeded.",
            vec![target(success_ratio(scope, "$__range", "team"), "{{team}}")],
        )
        .thresholds("red", SUCCESS_COLOURS),
        panel(
            PanelType::TimeSeries,
            12,
            "Runs per team",
            "short",
            "Finished runs of each team per interval (an hour or more).",
            vec![target(increase(OUTCOME, scope, "$__interval", "team"), "{{team}}")],
        )
        .bars(),
        panel(
            PanelType::TimeSeries,
            12,
            "Failed runs per team",
            "short",
            "Failed runs of each team per interval (an hour or more).",
            vec![target(increase(OUTCOME, &and(scope, "outcome=\"failed\""), "$__interval", "team"), "{{team}}")],
        )
        .bars(),
        panel(
            PanelType::TimeSeries,
            12,
            "Daily cost per team",
            "currencyUSD",
            "Cost of each team's finished runs over the trailing day.",
            vec![target(increase(cost, scope, "1d", "team"), "{{team}}")],
        ),
        panel(
            PanelType::TimeSeries,
            12,
            "Daily core-hours per team",
            "short",
            "CPU core-hours of each team's finished runs over the trailing day.",
            vec![target(increase(core_hours, scope, "1d", "team"), "{{team}}")],
        ),
    ];
    Dashboard {
        name: "tenants",
        title: "sparkplane / Tenants",
        description: "Tenant overview: per team, the runs, failures, cost and core-hours of its Spark jobs.",
        variables: vec![Variable::Datasource, team_variable()],
        panels,
        logs: None,
    }
}

/// The four dashboards: data engineer (one job), platform (SRE), FinOps and tenants.
pub fn dashboards() -> Vec<Dashboard> {
    vec![data_engineer(), sre(), finops(), tenants()]
}

/// A ConfigMap holding one dashboard, as the Grafana sidecar loads it.
pub fn config_map(dashboard: &Dashboard, namespace: Option<&str>) -> Value {
    let mut metadata = Map::new();
    metadata.insert("name".into(), json!(format!("sparkplane-dashboard-{}", dashboard.name)));
    if let Some(ns) = namespace {
        metadata.insert("namespace".into(), json!(ns));
    }
    metadata.insert(
        "labels".into(),
        json!({SIDECAR_LABEL: "1", labels::MANAGED_BY: labels::SPARKPLANE, labels::APP_PART_OF: labels::SPARKPLANE}),
    );
    metadata.insert("annotations".into(), json!({FOLDER_ANNOTATION: "sparkplane"}));
    let mut data = BTreeMap::new();
    // `{:#}` pretty-prints a Value; it cannot fail.
    data.insert(dashboard.file_name(), format!("{:#}", dashboard.to_json()));
    json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data})
}

/// Everything kube-prometheus-stack users apply: one ConfigMap per dashboard
/// and the built-in alerts as a PrometheusRule named `sparkplane`.
/// `rule_labels` go on the PrometheusRule: kube-prometheus-stack's Prometheus
/// selects rules by its Helm release (`release: <name>`) unless told otherwise.
pub fn bundle(namespace: Option<&str>, rule_labels: &BTreeMap<String, String>) -> Vec<Value> {
    let mut out: Vec<Value> = dashboards().iter().map(|d| config_map(d, namespace)).collect();
    let options = RuleOptions::default();
    out.push(to_prometheus_rule(&builtin_groups(&options), &options, "sparkplane", namespace, rule_labels));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ref_ids_follow_grafana() {
        assert_eq!([ref_id(0), ref_id(1), ref_id(25), ref_id(26), ref_id(27)], ["A", "B", "Z", "AA", "AB"]);
    }

    #[test]
    fn panels_wrap_at_24_columns() {
        let json = tenants().to_json();
        let grid: Vec<(u64, u64)> = json["panels"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| (p["gridPos"]["x"].as_u64().unwrap_or(99), p["gridPos"]["y"].as_u64().unwrap_or(99)))
            .collect();
        // A full-width table, then pairs of half-width panels.
        assert_eq!(&grid[..4], &[(0, 0), (0, 10), (12, 10), (0, 18)]);
    }
}
