//! Cost and chargeback: what each application cost, and who pays for it.
//!
//! Owns: the [`PriceSheet`] and its OpenCost defaults, pricing one
//! [`AppSummary`] into an [`AppCost`] (core-, GiB- and GPU-hours priced, with
//! the spot discount and node-pool overrides, filed under the application's
//! job, team and cost center as [`sparkplane_eventlog::attribution`] reads
//! them, and its namespace), grouping into chargeback [`CostRow`]s,
//! [`Budgets`] and their check.
//!
//! Must not: size pods by its own rules (container memory comes from
//! sparkplane-core's sizing model, [`sparkplane_core::sizing`]), parse or read
//! event logs (that is `sparkplane-eventlog`: [`sparkplane_eventlog::model`],
//! and [`sparkplane_eventlog::summarize_dir`] for a directory of them), format
//! tables or read YAML files (the CLI does), or look at the clock (callers
//! turn `--since` into epoch milliseconds). Pure: it touches no file.

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Bound;
use std::str::FromStr;

use serde::{Deserialize, Serialize, Serializer};
use sparkplane_api::MemorySize;
use sparkplane_api::budget::BudgetReading;
use sparkplane_api::tenant::Tenant;
use sparkplane_core::sizing::{PodResources, size_properties};
use sparkplane_eventlog::attribution::{cost_center_of, job_of, label_or_property, team_of};
use sparkplane_eventlog::model::AppSummary;

/// The key rows are filed under when an application does not say.
pub const UNATTRIBUTED: &str = "(unattributed)";

/// Node-selector or label keys whose value names the node pool, in the order they are tried.
const POOL_LABELS: &[&str] = &[
    sparkplane_api::labels::POOL,
    "pool",
    "karpenter.sh/nodepool",
    "eks.amazonaws.com/nodegroup",
    "cloud.google.com/gke-nodepool",
    "kubernetes.azure.com/agentpool",
];

/// Node-selector or label key and value (compared without case) that put pods on spot capacity.
const SPOT_LABELS: &[(&str, &str)] = &[
    ("karpenter.sh/capacity-type", "spot"),
    ("node.kubernetes.io/lifecycle", "spot"),
    ("eks.amazonaws.com/capacityType", "spot"),
    ("cloud.google.com/gke-spot", "true"),
    ("kubernetes.azure.com/scalesetpriority", "spot"),
];

/// Prices in US dollars per hour of each resource.
///
/// Loaded by the caller from YAML (as a JSON value); every price must be given,
/// unknown fields are refused so a misspelt price never silently becomes zero.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriceSheet {
    /// USD per core-hour (one Spark executor core, i.e. one vCPU, for an hour).
    pub core_hour: f64,
    /// USD per GiB-hour of container memory.
    pub gib_hour: f64,
    /// USD per GPU-hour.
    pub gpu_hour: f64,
    /// Factor applied to the whole price of applications that ran on spot capacity (e.g. `0.3`).
    pub spot_multiplier: f64,
    /// Prices of particular node pools, by pool name; unset prices fall back to the sheet's.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_pools: BTreeMap<String, PoolPrices>,
}

/// A node pool's own prices; each one unset falls back to the [`PriceSheet`]'s.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PoolPrices {
    /// USD per core-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub core_hour: Option<f64>,
    /// USD per GiB-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gib_hour: Option<f64>,
    /// USD per GPU-hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gpu_hour: Option<f64>,
    /// Spot multiplier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub spot_multiplier: Option<f64>,
}

impl PriceSheet {
    /// OpenCost's published default prices (`configs/default.json` in opencost/opencost,
    /// "Default prices based on GCP us-central1"): CPU 0.031611 $/vCPU-hour, RAM
    /// 0.004237 $/GiB-hour, GPU 0.95 $/GPU-hour. OpenCost lists spot prices
    /// (`spotCPU` 0.006655, `spotRAM` 0.000892) rather than a multiplier; both are
    /// 0.2105 of the on-demand price, which is the multiplier used here.
    pub fn opencost_defaults() -> PriceSheet {
        PriceSheet {
            core_hour: 0.031611,
            gib_hour: 0.004237,
            gpu_hour: 0.95,
            spot_multiplier: 0.2105,
            node_pools: BTreeMap::new(),
        }
    }

    /// Problems with the prices: negative or non-finite numbers.
    pub fn problems(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let mut check = |name: String, value: f64| {
            if !value.is_finite() || value < 0.0 {
                problems.push(format!("{name} is {value}; prices must be zero or more"));
            }
        };
        check("coreHour".into(), self.core_hour);
        check("gibHour".into(), self.gib_hour);
        check("gpuHour".into(), self.gpu_hour);
        check("spotMultiplier".into(), self.spot_multiplier);
        for (pool, prices) in &self.node_pools {
            let fields = [
                ("coreHour", prices.core_hour),
                ("gibHour", prices.gib_hour),
                ("gpuHour", prices.gpu_hour),
                ("spotMultiplier", prices.spot_multiplier),
            ];
            for (name, value) in fields {
                if let Some(value) = value {
                    check(format!("nodePools.{pool}.{name}"), value);
                }
            }
        }
        problems
    }
}

/// What one application used and cost, and who it is charged to.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AppCost {
    /// The application id (with `/attempt` when the cluster manager retried it), else its name.
    pub app: String,
    /// The job: the `sparkplane.dev/job` label, else `spark.app.name`.
    pub job: Option<String>,
    /// The team: the `sparkplane.dev/team` label, else `spark.sparkplane.team`.
    pub team: Option<String>,
    /// The cost center: the `sparkplane.dev/cost-center` label, else `spark.sparkplane.costCenter`.
    pub cost_center: Option<String>,
    /// `spark.kubernetes.namespace`, else `spark.sparkplane.namespace` (local runs).
    pub namespace: Option<String>,
    /// The node pool the executors were pinned to, when a node selector names one.
    pub node_pool: Option<String>,
    /// Whether the executors ran on spot capacity.
    pub spot: bool,
    /// Application start, epoch milliseconds.
    pub start_time_ms: Option<u64>,
    /// Application end, epoch milliseconds.
    pub end_time_ms: Option<u64>,
    /// Memory of one executor pod, as the one sizing model reads it from the
    /// properties: heap + overhead + off-heap (when enabled) + PySpark memory
    /// (Python applications).
    pub executor_memory: MemorySize,
    /// GPUs per executor.
    pub executor_gpus: f64,
    /// Executor core-hours.
    pub core_hours: f64,
    /// Executor container memory GiB-hours.
    pub gib_hours: f64,
    /// Executor GPU-hours.
    pub gpu_hours: f64,
    /// USD.
    #[serde(serialize_with = "cents")]
    pub cost: f64,
    /// Why a figure may be off: properties that could not be read and what was used instead.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// An interactive Spark Connect session ([`is_session`]) rather than a job's run.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub session: bool,
}

/// The Spark property that marks a local Spark Connect server's application
/// (value `server`), as the label [`SESSION_LABEL`] marks the cluster's.
pub const SESSION_PROPERTY: &str = "spark.sparkplane.connect";
/// The driver label of a Spark Connect server in the cluster (value `server`).
pub const SESSION_LABEL: &str = sparkplane_api::labels::CONNECT_SERVER;
/// The application name of a local Spark Connect server, which marked its
/// sessions before [`SESSION_PROPERTY`] did.
const SESSION_APP_NAME: &str = "sparkplane-connect";

/// Whether an application is an interactive Spark Connect session (a server
/// for notebooks and `sql`) rather than a job's run: labelled or marked so,
/// or — logs written before sessions were marked — named `sparkplane-connect`
/// with no job label. Job listings and job costs leave sessions out unless asked.
pub fn is_session(app: &AppSummary) -> bool {
    let marked = label_or_property(app, SESSION_LABEL, SESSION_PROPERTY).is_some_and(|v| v == "server");
    let config = &app.config;
    marked
        || (!config.labels.contains_key(sparkplane_api::labels::JOB)
            && config.properties.get("spark.app.name").map(String::as_str) == Some(SESSION_APP_NAME))
}

/// The executors' node selector and labels: `spark.kubernetes.executor.*` over `spark.kubernetes.*`.
fn executor_placement(props: &BTreeMap<String, String>) -> BTreeMap<&str, &str> {
    let mut placement = BTreeMap::new();
    let prefixes = [
        "spark.kubernetes.executor.label.",
        "spark.kubernetes.node.selector.",
        "spark.kubernetes.executor.node.selector.",
    ];
    for prefix in prefixes {
        for (key, value) in props.range::<str, _>((Bound::Included(prefix), Bound::Unbounded)) {
            let Some(name) = key.strip_prefix(prefix) else { break };
            placement.insert(name, value.as_str());
        }
    }
    placement
}

/// Prices one application. Executors are charged for their whole lifetime, each
/// at its pod's memory and GPUs as the one sizing model
/// ([`sparkplane_core::sizing::size_properties`]) reads them from the
/// application's properties; in local mode the driver is the executor and is
/// charged as the driver pod is sized. The driver pod of a cluster-mode
/// application is not charged.
pub fn app_cost(app: &AppSummary, sheet: &PriceSheet) -> AppCost {
    let props = &app.config.properties;
    let sizing = size_properties(props);
    let notes = sizing.notes;
    let gpus = |pod: &PodResources| pod.gpu.as_ref().map_or(0.0, |gpu| f64::from(gpu.amount));
    let (executor_memory, executor_gpus) = (sizing.sized.executor.pod_memory, gpus(&sizing.sized.executor));
    let (driver_memory, driver_gpus) = (sizing.sized.driver.pod_memory, gpus(&sizing.sized.driver));
    let (mut gib_hours, mut gpu_hours) = (0.0, 0.0);
    for executor in &app.executors.timeline {
        let hours = executor.lifetime_ms as f64 / 3_600_000.0;
        let (memory, gpus) =
            if executor.id == "driver" { (driver_memory, driver_gpus) } else { (executor_memory, executor_gpus) };
        gib_hours += hours * memory.gib_f64();
        gpu_hours += hours * gpus;
    }
    let core_hours = app.core_seconds() / 3600.0;

    let placement = executor_placement(props);
    let node_pool = POOL_LABELS.iter().find_map(|key| placement.get(key)).map(|pool| pool.to_string());
    let spot = SPOT_LABELS
        .iter()
        .any(|(key, spot_value)| placement.get(key).is_some_and(|v| v.trim().eq_ignore_ascii_case(spot_value)));

    let app_key = match (&app.app_id, &app.attempt_id) {
        (Some(id), Some(attempt)) => format!("{id}/{attempt}"),
        (Some(id), None) => id.clone(),
        (None, _) => app.name.clone().unwrap_or_else(|| UNATTRIBUTED.to_string()),
    };
    let mut cost = AppCost {
        app: app_key,
        job: job_of(app),
        team: team_of(app),
        cost_center: cost_center_of(app),
        namespace: props.get("spark.kubernetes.namespace").or_else(|| props.get("spark.sparkplane.namespace")).cloned(),
        node_pool,
        spot,
        start_time_ms: app.start_time_ms,
        end_time_ms: app.end_time_ms,
        executor_memory,
        executor_gpus,
        core_hours,
        gib_hours,
        gpu_hours,
        cost: 0.0,
        notes,
        session: is_session(app),
    };
    cost.cost = price(&cost, sheet);
    cost
}

/// What `usage` costs at `sheet`: its core-, GiB- and GPU-hours at its node
/// pool's prices (each unset one at the sheet's), times the spot multiplier
/// when it ran on spot capacity. [`app_cost`] prices a summary with it, and
/// `fleet::FleetRecord::cost_at` a recorded application, so both give the same figure.
pub fn price(usage: &AppCost, sheet: &PriceSheet) -> f64 {
    let pool = usage.node_pool.as_ref().and_then(|name| sheet.node_pools.get(name)).cloned().unwrap_or_default();
    let price = usage.core_hours * pool.core_hour.unwrap_or(sheet.core_hour)
        + usage.gib_hours * pool.gib_hour.unwrap_or(sheet.gib_hour)
        + usage.gpu_hours * pool.gpu_hour.unwrap_or(sheet.gpu_hour);
    let multiplier = if usage.spot { pool.spot_multiplier.unwrap_or(sheet.spot_multiplier) } else { 1.0 };
    price * multiplier
}

/// What chargeback rows are keyed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GroupBy {
    /// [`AppCost::team`].
    Team,
    /// [`AppCost::job`].
    Job,
    /// [`AppCost::cost_center`].
    CostCenter,
    /// [`AppCost::namespace`].
    Namespace,
    /// One row per application.
    App,
}

impl GroupBy {
    /// The spellings [`GroupBy::from_str`] accepts.
    pub const NAMES: &'static [&'static str] = &["team", "job", "cost-center", "namespace", "app"];

    /// The row an application is filed under: its team, job, cost center,
    /// namespace or id, [`UNATTRIBUTED`] when it does not say.
    pub fn key(self, cost: &AppCost) -> String {
        let key = match self {
            GroupBy::Team => cost.team.as_deref(),
            GroupBy::Job => cost.job.as_deref(),
            GroupBy::CostCenter => cost.cost_center.as_deref(),
            GroupBy::Namespace => cost.namespace.as_deref(),
            GroupBy::App => Some(cost.app.as_str()),
        };
        key.unwrap_or(UNATTRIBUTED).to_string()
    }
}

impl FromStr for GroupBy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_lowercase().as_str() {
            "team" => Ok(GroupBy::Team),
            "job" => Ok(GroupBy::Job),
            "cost-center" | "costcenter" | "cost_center" => Ok(GroupBy::CostCenter),
            "namespace" => Ok(GroupBy::Namespace),
            "app" | "application" => Ok(GroupBy::App),
            _ => Err(format!("`{text}` is not a grouping: use one of {}", GroupBy::NAMES.join(", "))),
        }
    }
}

impl fmt::Display for GroupBy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = match self {
            GroupBy::Team => "team",
            GroupBy::Job => "job",
            GroupBy::CostCenter => "cost-center",
            GroupBy::Namespace => "namespace",
            GroupBy::App => "app",
        };
        f.write_str(name)
    }
}

/// One chargeback line: the applications sharing a key and what they used and cost.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostRow {
    /// The team, job, cost center, namespace or application ([`UNATTRIBUTED`] when unknown).
    pub key: String,
    /// Applications in the row.
    pub apps: u64,
    /// Executor core-hours.
    pub core_hours: f64,
    /// Executor memory GiB-hours.
    pub gib_hours: f64,
    /// Executor GPU-hours.
    pub gpu_hours: f64,
    /// USD (written rounded to cents).
    #[serde(serialize_with = "cents")]
    pub cost: f64,
    /// This row's part of the total cost, 0 to 1 (written to four places); 0 when nothing cost anything.
    #[serde(serialize_with = "four_places")]
    pub share: f64,
}

/// Rounds USD to whole cents.
pub fn round_cents(usd: f64) -> f64 {
    (usd * 100.0).round() / 100.0
}

pub(crate) fn cents<S: Serializer>(usd: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(round_cents(*usd))
}

fn four_places<S: Serializer>(value: &f64, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64((value * 10_000.0).round() / 10_000.0)
}

/// Groups application costs into chargeback rows, sorted by cost (to the cent)
/// descending, then by key.
pub fn chargeback(costs: &[AppCost], by: GroupBy) -> Vec<CostRow> {
    let mut groups: BTreeMap<String, CostRow> = BTreeMap::new();
    for cost in costs {
        let key = by.key(cost);
        let row = groups.entry(key.clone()).or_insert_with(|| CostRow {
            key,
            apps: 0,
            core_hours: 0.0,
            gib_hours: 0.0,
            gpu_hours: 0.0,
            cost: 0.0,
            share: 0.0,
        });
        row.apps += 1;
        row.core_hours += cost.core_hours;
        row.gib_hours += cost.gib_hours;
        row.gpu_hours += cost.gpu_hours;
        row.cost += cost.cost;
    }
    let total = groups.values().fold(0.0, |total, r| total + r.cost);
    let mut rows: Vec<CostRow> = groups.into_values().collect();
    for row in &mut rows {
        row.share = if total > 0.0 { row.cost / total } else { 0.0 };
    }
    let in_cents = |usd: f64| (usd * 100.0).round() as i64;
    rows.sort_by(|a, b| in_cents(b.cost).cmp(&in_cents(a.cost)).then_with(|| a.key.cmp(&b.key)));
    rows
}

/// Monthly budgets per team (YAML, loaded by the caller as a JSON value).
///
/// ```yaml
/// warningPercent: 80     # defaults for every team
/// criticalPercent: 100
/// teams:
///   data-platform: {monthly: 1200}
///   ml: {monthly: 5000, warningPercent: 70}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budgets {
    /// Percent of a budget at which a team is warned, unless the team says otherwise.
    #[serde(default = "default_warning_percent")]
    pub warning_percent: f64,
    /// Percent of a budget at which a team is critical, unless the team says otherwise.
    #[serde(default = "default_critical_percent")]
    pub critical_percent: f64,
    /// Each team's budget, by team name (as in [`AppCost::team`]).
    pub teams: BTreeMap<String, TeamBudget>,
}

fn default_warning_percent() -> f64 {
    80.0
}

fn default_critical_percent() -> f64 {
    100.0
}

/// One team's budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TeamBudget {
    /// USD per month.
    pub monthly: f64,
    /// Percent of `monthly` at which the team is warned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_percent: Option<f64>,
    /// Percent of `monthly` at which the team is critical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_percent: Option<f64>,
}

/// Where a team stands against its budget.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum BudgetLevel {
    /// Below the warning threshold.
    Ok,
    /// At or above the warning threshold, below the critical one.
    Warning,
    /// At or above the critical threshold.
    Critical,
}

/// One team's spend against its budget.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetStatus {
    /// The team.
    pub team: String,
    /// Where it stands.
    pub level: BudgetLevel,
    /// USD spent (written rounded to cents).
    #[serde(serialize_with = "cents")]
    pub spent: f64,
    /// USD budgeted for the month.
    #[serde(serialize_with = "cents")]
    pub budget: f64,
    /// Spent as a percent of the budget (written to two places); `None` for a zero budget.
    pub percent: Option<f64>,
}

/// Checks each budgeted team's spend. `rows` must be grouped by [`GroupBy::Team`];
/// a budgeted team without a row spent nothing. The budget is compared as it is:
/// choose the window (`--since 30d`) to match it. Statuses come in team order.
pub fn check_budgets(rows: &[CostRow], budgets: &Budgets) -> Vec<BudgetStatus> {
    budgets
        .teams
        .iter()
        .map(|(team, budget)| {
            // `fold` from +0.0: an empty `sum` of floats is -0.0, which prints as "-0".
            let spent = rows.iter().filter(|r| &r.key == team).fold(0.0, |total, r| total + r.cost);
            let warning = budget.warning_percent.unwrap_or(budgets.warning_percent);
            let critical = budget.critical_percent.unwrap_or(budgets.critical_percent);
            let percent = (budget.monthly > 0.0).then(|| spent / budget.monthly * 100.0);
            // A zero budget is exceeded by any spending at all.
            let level = match percent {
                Some(p) if p >= critical => BudgetLevel::Critical,
                Some(p) if p >= warning => BudgetLevel::Warning,
                Some(_) => BudgetLevel::Ok,
                None if round_cents(spent) > 0.0 => BudgetLevel::Critical,
                None => BudgetLevel::Ok,
            };
            BudgetStatus {
                team: team.clone(),
                level,
                spent,
                budget: budget.monthly,
                percent: percent.map(|p| (p * 100.0).round() / 100.0),
            }
        })
        .collect()
}

/// Milliseconds since the epoch at 00:00 UTC on the first of `now_ms`'s month,
/// and the window's words (`since 2026-11-01`). The calendar is jiff's.
pub fn month_start_ms(now_ms: u64) -> (u64, String) {
    use jiff::{Timestamp, tz::TimeZone};
    let now = Timestamp::from_millisecond(i64::try_from(now_ms).unwrap_or(i64::MAX)).unwrap_or(Timestamp::MAX);
    let first = now.to_zoned(TimeZone::UTC).date().first_of_month();
    let start = first.to_zoned(TimeZone::UTC).map(|z| z.timestamp().as_millisecond()).unwrap_or_default();
    (u64::try_from(start).unwrap_or_default(), format!("since {first}"))
}

/// A tenant's spend in the window against its monthly budget, priced from
/// `summaries` (the window's applications) with `sheet`; only applications of
/// the tenant's team count. None when the tenant has no budget.
pub fn tenant_budget(
    tenant: &Tenant,
    summaries: &[AppSummary],
    sheet: &PriceSheet,
    window: String,
) -> Option<BudgetReading> {
    let budget = tenant.spec.budget.as_ref()?;
    let costs: Vec<_> = summaries.iter().map(|app| app_cost(app, sheet)).collect();
    let rows = chargeback(&costs, GroupBy::Team);
    let team = tenant.spec.team.clone();
    let budgets = Budgets {
        warning_percent: f64::from(budget.warning()),
        critical_percent: f64::from(budget.critical()),
        teams: [(team.clone(), TeamBudget { monthly: budget.monthly, warning_percent: None, critical_percent: None })]
            .into(),
    };
    check_budgets(&rows, &budgets).into_iter().next().map(|status| BudgetReading {
        tenant: tenant.metadata.name.clone(),
        team,
        spent: status.spent,
        monthly: status.budget,
        percent: status.percent,
        warning: status.level >= BudgetLevel::Warning,
        critical: status.level == BudgetLevel::Critical,
        window,
        blocks_on_critical: budget.blocks_on_critical(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn props(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn memory(pairs: &[(&str, &str)]) -> u64 {
        size_properties(&props(pairs)).sized.executor.pod_memory.mib()
    }

    #[test]
    fn jvm_executor_memory() {
        // Spark's defaults: 1g heap, 384m floor.
        assert_eq!(memory(&[]), 1024 + 384);
        // Bare numbers are MiB; 10% of 8192 = 819.
        assert_eq!(memory(&[("spark.executor.memory", "8192")]), 8192 + 819);
    }

    #[test]
    fn python_executor_memory_uses_the_larger_factor() {
        let pyspark = [("spark.executor.memory", "8g"), ("spark.submit.pyFiles", "")];
        assert_eq!(memory(&pyspark), 8192 + 3276);
        let k8s = [("spark.executor.memory", "8g"), ("spark.kubernetes.resource.type", "python")];
        assert_eq!(memory(&k8s), 8192 + 3276);
        let runner = [
            ("spark.executor.memory", "8g"),
            ("spark.driver.extraJavaOptions", "org.apache.spark.deploy.PythonRunner"),
        ];
        assert_eq!(memory(&runner), 8192 + 3276);
    }

    #[test]
    fn explicit_overhead_factor_pyspark_and_off_heap() {
        let explicit =
            [("spark.executor.memory", "8g"), ("spark.executor.memoryOverhead", "1000"), ("spark.submit.pyFiles", "")];
        assert_eq!(memory(&explicit), 8192 + 1000);
        let factor = [("spark.executor.memory", "8g"), ("spark.executor.memoryOverheadFactor", "0.2")];
        assert_eq!(memory(&factor), 8192 + 1638);
        let k8s_factor = [("spark.executor.memory", "8g"), ("spark.kubernetes.memoryOverheadFactor", "0.25")];
        assert_eq!(memory(&k8s_factor), 8192 + 2048);
        let all = [
            ("spark.executor.memory", "4g"),
            ("spark.kubernetes.resource.type", "python"),
            ("spark.executor.pyspark.memory", "512"),
            ("spark.memory.offHeap.enabled", "true"),
            ("spark.memory.offHeap.size", "2147483648"),
        ];
        assert_eq!(memory(&all), 4096 + 1638 + 512 + 2048);
        // Spark adds PySpark memory to Python applications' executors only.
        let jvm = [("spark.executor.memory", "4g"), ("spark.executor.pyspark.memory", "512")];
        assert_eq!(memory(&jvm), 4096 + 409);
        // Off-heap counts only when enabled.
        let off = [("spark.executor.memory", "4g"), ("spark.memory.offHeap.size", "2g")];
        assert_eq!(memory(&off), 4096 + 409);
    }

    #[test]
    fn a_local_driver_is_charged_as_the_driver_pod_without_off_heap() {
        let mut app = sparkplane_eventlog::fold::AppSummaryBuilder::new().finish();
        app.config.properties = props(&[
            ("spark.driver.memory", "4g"),
            ("spark.memory.offHeap.enabled", "true"),
            ("spark.memory.offHeap.size", "2g"),
        ]);
        app.executors.timeline = vec![sparkplane_eventlog::model::ExecutorSpan {
            id: "driver".into(),
            host: None,
            cores: Some(1),
            added_ms: 0,
            removed_ms: None,
            removed_reason: None,
            lifetime_ms: 3_600_000,
        }];
        let cost = app_cost(&app, &PriceSheet::opencost_defaults());
        // Spark's driver pod is heap + overhead: off-heap is the executors' alone.
        assert!((cost.gib_hours - (4096.0 + 409.0) / 1024.0).abs() < 1e-9, "{}", cost.gib_hours);
        // The executor pod (none ran here) would carry it.
        assert_eq!(cost.executor_memory.mib(), 1024 + 384 + 2048);
    }

    #[test]
    fn unreadable_sizes_fall_back_with_a_note() {
        let mut app = sparkplane_eventlog::fold::AppSummaryBuilder::new().finish();
        app.config.properties = props(&[("spark.executor.memory", "big")]);
        let cost = app_cost(&app, &PriceSheet::opencost_defaults());
        assert_eq!(cost.executor_memory.mib(), 1024 + 384);
        assert_eq!(cost.notes.len(), 1);
        assert!(cost.notes[0].contains("spark.executor.memory"), "{:?}", cost.notes);
    }

    #[test]
    fn group_by_names_round_trip() {
        for name in GroupBy::NAMES {
            let by: GroupBy = name.parse().unwrap();
            assert_eq!(&by.to_string(), name);
        }
        assert!("owner".parse::<GroupBy>().is_err());
    }

    #[test]
    fn the_budget_month_starts_at_midnight_utc_on_the_first() {
        // 2026-02-28T23:59:59.999Z, the last instant of a short month.
        assert_eq!(month_start_ms(1_772_323_199_999), (1_769_904_000_000, "since 2026-02-01".to_owned()));
        // 2028-02-29T12:00:00Z, a leap day.
        assert_eq!(month_start_ms(1_835_438_400_000), (1_832_976_000_000, "since 2028-02-01".to_owned()));
        // The first instant of a month is its own start.
        assert_eq!(month_start_ms(1_769_904_000_000), (1_769_904_000_000, "since 2026-02-01".to_owned()));
    }

    fn tenant(budget: Option<f64>) -> Tenant {
        let budget = budget.map(|monthly| serde_json::json!({"monthly": monthly}));
        let mut spec = serde_json::json!({"team": "team-a", "costCenter": "cc-1"});
        if let Some(budget) = budget {
            spec["budget"] = budget;
        }
        let doc = serde_json::json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": "a"}, "spec": spec});
        serde_json::from_value(doc).expect("a tenant")
    }

    #[test]
    fn a_tenants_budget_reading_counts_only_its_teams_applications() {
        let sheet = PriceSheet::opencost_defaults();
        let with_team = |team: &str| {
            let mut app = crate::test_support::healthy_app();
            app.config.properties.insert("spark.sparkplane.team".into(), team.into());
            app
        };
        let ours = with_team("team-a");
        let one = app_cost(&ours, &sheet).cost;
        assert!(one > 0.0);
        let apps = [ours.clone(), ours, with_team("team-b")];
        assert_eq!(tenant_budget(&tenant(None), &apps, &sheet, "since 2026-11-01".into()), None);
        // Two of team-a's runs against a budget of four: half spent, no warning.
        let reading =
            tenant_budget(&tenant(Some(one * 4.0)), &apps, &sheet, "since 2026-11-01".into()).expect("a reading");
        assert_eq!(
            (reading.tenant.as_str(), reading.team.as_str(), reading.window.as_str()),
            ("a", "team-a", "since 2026-11-01")
        );
        assert!((reading.spent - 2.0 * one).abs() < 1e-9, "{reading:?}");
        assert_eq!(reading.percent, Some(50.0));
        assert!(!reading.warning && !reading.critical && reading.blocks_on_critical);
        // Against a budget of two it is critical.
        let reading =
            tenant_budget(&tenant(Some(one * 2.0)), &apps, &sheet, "since 2026-11-01".into()).expect("a reading");
        assert!(reading.warning && reading.critical, "{reading:?}");
    }
}
