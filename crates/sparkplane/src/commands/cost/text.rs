//! `sparkplane cost`'s report as text: the chargeback table (with the
//! budgets' table under it) and the rows as CSV.
//!
//! Owns: the columns, their order and how figures are rounded in text.
//! Must not: compute or group costs (that is `sparkplane_analysis::cost`).

use sparkplane_analysis::cost::{BudgetLevel, CostRow, round_cents};

use sparkplane_analysis::cost_report::CostReport;

pub(super) fn usd(amount: f64) -> String {
    format!("${:.2}", round_cents(amount))
}

pub(super) fn table(report: &CostReport) -> String {
    let mut t = crate::commands::Table::new(&[
        &report.group_by.to_string().to_uppercase(),
        "APPS",
        "CORE-HOURS",
        "GIB-HOURS",
        "GPU-HOURS",
        "COST",
        "SHARE",
    ]);
    for row in &report.rows {
        t.row(vec![
            row.key.clone(),
            row.apps.to_string(),
            format!("{:.2}", row.core_hours),
            format!("{:.2}", row.gib_hours),
            format!("{:.2}", row.gpu_hours),
            usd(row.cost),
            format!("{:.1}%", row.share * 100.0),
        ]);
    }
    let mut out = t.render();
    let window = report.since.map(|d| format!(" in the last {d}")).unwrap_or_default();
    out.push_str(&format!("\n{} application(s){window}, {} in total\n", report.apps, usd(report.total_cost)));
    if !report.budgets.is_empty() {
        let mut b = crate::commands::Table::new(&["TEAM", "SPENT", "BUDGET", "USED", "STATUS"]);
        for status in &report.budgets {
            let level = match status.level {
                BudgetLevel::Ok => "ok",
                BudgetLevel::Warning => "warning",
                BudgetLevel::Critical => "critical",
            };
            let used = status.percent.map_or_else(|| "-".to_owned(), |p| format!("{p:.1}%"));
            b.row(vec![status.team.clone(), usd(status.spent), usd(status.budget), used, level.to_owned()]);
        }
        out.push('\n');
        out.push_str(&b.render());
    }
    out
}

/// Chargeback rows as CSV with a header line: key, apps, hours to four places,
/// cost in USD to the cent, share to four places.
pub fn to_csv(rows: &[CostRow]) -> String {
    let mut out = String::from("key,apps,coreHours,gibHours,gpuHours,costUsd,share\n");
    for row in rows {
        out.push_str(&format!(
            "{},{},{:.4},{:.4},{:.4},{:.2},{:.4}\n",
            sparkplane_documents::csv::field(&row.key),
            row.apps,
            row.core_hours,
            row.gib_hours,
            row.gpu_hours,
            round_cents(row.cost),
            row.share
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_keys_and_rounds() {
        let row = CostRow {
            key: "team \"a\", east".into(),
            apps: 2,
            core_hours: 1.23456,
            gib_hours: 2.0,
            gpu_hours: 0.0,
            cost: 4.56789,
            share: 0.5,
        };
        assert_eq!(
            to_csv(&[row]),
            "key,apps,coreHours,gibHours,gpuHours,costUsd,share\n\"team \"\"a\"\", east\",2,1.2346,2.0000,0.0000,4.57,0.5000\n"
        );
    }
}
