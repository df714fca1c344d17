//! The chargeback report over a set of priced applications: what `sparkplane
//! cost` prints and writes (table, CSV, JSON/YAML, Parquet), and what any other
//! surface showing the fleet's cost should show.
//!
//! Owns: which applications a report counts (with `--by job`, interactive
//! sessions are left out unless asked, yet still count against their team's
//! budget), the rows, the budget statuses over the team rows of every
//! application, the warnings (logs skipped, figures that may be off), the
//! total and which budgets are critical. Must not: price an application,
//! group rows or judge a budget (that is [`crate::cost`]), read files or the
//! clock, or format text.

use serde::Serialize;
use sparkplane_api::Duration;

use crate::cost::{
    AppCost, BudgetLevel, BudgetStatus, Budgets, CostRow, GroupBy, PriceSheet, chargeback, check_budgets,
};

/// What a report is asked for.
#[derive(Debug, Clone)]
pub struct CostQuery {
    /// What rows are keyed by.
    pub by: GroupBy,
    /// The window the applications were read in (for the report; the reader applied it).
    pub since: Option<Duration>,
    /// With [`GroupBy::Job`], list interactive sessions too.
    pub include_sessions: bool,
    /// Monthly budgets to check, when given.
    pub budgets: Option<Budgets>,
}

/// The report.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CostReport {
    /// What rows are keyed by.
    pub group_by: GroupBy,
    /// The window, when one was given.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Duration>,
    /// Applications counted in the rows.
    pub apps: usize,
    /// USD over every row (written rounded to cents).
    #[serde(serialize_with = "crate::cost::cents")]
    pub total_cost: f64,
    /// The prices used.
    pub price_sheet: PriceSheet,
    /// Chargeback rows.
    pub rows: Vec<CostRow>,
    /// Budget statuses, when budgets were given.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub budgets: Vec<BudgetStatus>,
    /// Logs skipped and figures that may be off.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// The applications the rows count (what the Parquet file's spans come from).
    #[serde(skip)]
    pub counted: Vec<AppCost>,
    /// Sessions left out of the rows and what they cost together (USD), when any were.
    #[serde(skip)]
    pub sessions_left_out: Option<(usize, f64)>,
}

impl CostReport {
    /// The budget statuses at [`BudgetLevel::Critical`].
    pub fn critical_budgets(&self) -> impl Iterator<Item = &BudgetStatus> {
        self.budgets.iter().filter(|status| status.level == BudgetLevel::Critical)
    }
}

/// The report over `all` (every application read, priced with `sheet`) as
/// `query` asks; `read_warnings` are the reader's (logs skipped), to which each
/// application's pricing notes are added.
pub fn cost_report(all: Vec<AppCost>, sheet: PriceSheet, query: &CostQuery, read_warnings: Vec<String>) -> CostReport {
    // A session is not a job: `--by job` lists jobs only unless asked. Its cost is still its team's.
    let leave_out = |cost: &AppCost| cost.session && query.by == GroupBy::Job && !query.include_sessions;
    let (sessions, counted): (Vec<&AppCost>, Vec<&AppCost>) = all.iter().partition(|cost| leave_out(cost));
    let sessions_left_out =
        (!sessions.is_empty()).then(|| (sessions.len(), sessions.iter().fold(0.0, |total, c| total + c.cost)));
    let counted: Vec<AppCost> = counted.into_iter().cloned().collect();
    let rows = chargeback(&counted, query.by);
    let budgets = match &query.budgets {
        Some(budgets) => check_budgets(&chargeback(&all, GroupBy::Team), budgets),
        None => Vec::new(),
    };
    let mut warnings = read_warnings;
    for cost in &counted {
        warnings.extend(cost.notes.iter().map(|note| format!("{}: {note}", cost.app)));
    }
    CostReport {
        group_by: query.by,
        since: query.since,
        apps: counted.len(),
        total_cost: rows.iter().fold(0.0, |total, r| total + r.cost),
        price_sheet: sheet,
        rows,
        budgets,
        warnings,
        counted,
        sessions_left_out,
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sparkplane_api::MemorySize;

    use super::*;
    use crate::cost::TeamBudget;

    fn priced(app: &str, job: &str, cost: f64, session: bool, notes: &[&str]) -> AppCost {
        AppCost {
            app: app.into(),
            job: Some(job.into()),
            team: Some("ml".into()),
            cost_center: None,
            namespace: None,
            node_pool: None,
            spot: false,
            start_time_ms: Some(1),
            end_time_ms: Some(2),
            executor_memory: MemorySize::from_gib(1),
            executor_gpus: 0.0,
            core_hours: 1.0,
            gib_hours: 1.0,
            gpu_hours: 0.0,
            cost,
            notes: notes.iter().map(|n| (*n).to_owned()).collect(),
            session,
        }
    }

    fn query(by: GroupBy, include_sessions: bool) -> CostQuery {
        let teams = BTreeMap::from([(
            "ml".to_owned(),
            TeamBudget { monthly: 10.0, warning_percent: None, critical_percent: None },
        )]);
        let budgets = Budgets { warning_percent: 80.0, critical_percent: 100.0, teams };
        CostQuery { by, since: None, include_sessions, budgets: Some(budgets) }
    }

    fn fleet() -> Vec<AppCost> {
        vec![
            priced("app-1", "nightly", 4.0, false, &["spark.executor.memory unreadable: 1g used"]),
            priced("app-2", "nightly", 2.0, false, &[]),
            priced("app-3", "notebook", 5.0, true, &["a session note"]),
        ]
    }

    #[test]
    fn by_job_leaves_sessions_out_of_the_rows_but_not_out_of_the_budget() {
        let report = cost_report(fleet(), PriceSheet::opencost_defaults(), &query(GroupBy::Job, false), vec![]);
        assert_eq!(report.apps, 2);
        assert_eq!(report.rows.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["nightly"]);
        assert_eq!(report.total_cost, 6.0);
        assert_eq!(report.sessions_left_out, Some((1, 5.0)));
        assert_eq!(report.counted.iter().map(|c| c.app.as_str()).collect::<Vec<_>>(), ["app-1", "app-2"]);
        // The team spent 11 of its 10: critical, sessions included.
        assert_eq!(report.budgets[0].spent, 11.0);
        assert_eq!(report.critical_budgets().map(|s| s.team.as_str()).collect::<Vec<_>>(), ["ml"]);
        // Only the counted applications' notes.
        assert_eq!(report.warnings, ["app-1: spark.executor.memory unreadable: 1g used"]);
    }

    #[test]
    fn sessions_count_when_asked_for_and_in_every_other_grouping() {
        for (by, include) in [(GroupBy::Job, true), (GroupBy::Team, false), (GroupBy::App, false)] {
            let report =
                cost_report(fleet(), PriceSheet::opencost_defaults(), &query(by, include), vec!["skipped x".into()]);
            assert_eq!(report.apps, 3, "{by}");
            assert_eq!(report.total_cost, 11.0, "{by}");
            assert_eq!(report.sessions_left_out, None, "{by}");
            assert_eq!(report.warnings.first().map(String::as_str), Some("skipped x"), "{by}");
            assert_eq!(report.warnings.len(), 3, "{by}");
        }
    }

    #[test]
    fn no_budgets_no_statuses_and_the_json_keeps_its_fields() {
        let mut asked = query(GroupBy::Team, false);
        asked.budgets = None;
        let report = cost_report(fleet(), PriceSheet::opencost_defaults(), &asked, vec![]);
        assert!(report.budgets.is_empty() && report.critical_budgets().next().is_none());
        let json = serde_json::to_value(&report).expect("serialises");
        let mut keys: Vec<&str> = json.as_object().expect("an object").keys().map(String::as_str).collect();
        keys.sort_unstable();
        assert_eq!(keys, ["apps", "groupBy", "priceSheet", "rows", "totalCost", "warnings"]);
    }
}
