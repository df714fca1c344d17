//! `sparkplane cost`: what the applications in a directory of event logs (local
//! or in object storage) cost, grouped for chargeback, and how each team stands
//! against its budget.
//!
//! Owns: turning the flags into plain settings (window, grouping, price sheet,
//! budgets), reading the price-sheet and budget files, opening `--facts`
//! (an export of the logs: applications it holds as their logs are now are
//! priced from it, their logs not read), and presenting the result (table
//! and CSV through [`text`], JSON/YAML through the [`Printer`], a Parquet
//! file through [`sparkplane_facts::chargeback`]).
//! Must not: price, group, check budgets or assemble the report itself — that
//! is [`sparkplane_analysis::cost`] and [`sparkplane_analysis::cost_report`] —
//! or read logs or facts other than through
//! `sparkplane_analysis::fleet::read_records`.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use sparkplane_analysis::cost::{AppCost, Budgets, GroupBy, PriceSheet};
use sparkplane_analysis::cost_report::{CostQuery as ReportQuery, cost_report};
use sparkplane_analysis::fleet::{KnownRecords, NoRecords, read_records};
use sparkplane_api::Duration;
use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_eventlog::LogSource;
use sparkplane_facts::ExportedRecords;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{read_document, read_price_sheet};

mod text;

pub use text::to_csv;
use text::{table, usd};

/// What to say when the event-log location cannot be read.
const LOG_HELP: &str = "pass the directory Spark writes event logs to (spark.eventLog.dir) as a path or an \
                        object-store URL such as s3://bucket/spark-events, or one application's log";

/// Plain settings of `cost`.
struct CostSettings {
    /// Applications that ended before this (epoch milliseconds) are left out.
    since_ms: Option<u64>,
    /// The `--since` text, for the report.
    since: Option<Duration>,
    by: GroupBy,
    sheet: PriceSheet,
    budgets: Option<Budgets>,
}

impl CostSettings {
    fn resolve(
        since: Option<&str>,
        by: &str,
        price_sheet: Option<&Path>,
        budget: Option<&Path>,
    ) -> Result<CostSettings, Failure> {
        let mut problems = Diagnostics::new();
        let since = since.and_then(|text| match text.parse::<Duration>() {
            Ok(d) => Some(d),
            Err(err) => {
                problems.push(Diagnostic::error("bad-value", "--since", err.0).with_help("write e.g. 30d, 12h or 90m"));
                None
            }
        });
        let by = by.parse::<GroupBy>().unwrap_or_else(|why| {
            problems.push(Diagnostic::error("bad-value", "--by", why));
            GroupBy::Team
        });
        if problems.has_errors() {
            return Err(problems.into());
        }
        let sheet = read_price_sheet(price_sheet)?;
        let budgets = budget.map(|path| read_document::<Budgets>(path, "Budgets")).transpose()?;
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let now_ms = u64::try_from(now_ms).unwrap_or(u64::MAX);
        let since_ms = since.map(|d| now_ms.saturating_sub(d.as_millis()));
        Ok(CostSettings { since_ms, since, by, sheet, budgets })
    }
}

/// Where `cost` puts its result besides stdout.
pub struct CostOutputs<'a> {
    /// Print the rows as CSV instead of the table or JSON/YAML report.
    pub csv: bool,
    /// Also write the rows to this Parquet file (atomically).
    pub parquet: Option<&'a Path>,
}

/// Which applications `cost` reads and how it groups them, as given.
pub struct CostQuery<'a> {
    /// `--since`: only applications that ran in this window.
    pub since: Option<&'a str>,
    /// `--by`: team, job, cost-center, namespace or app.
    pub by: &'a str,
    /// `--include-sessions`: with `--by job`, list interactive sessions too.
    pub include_sessions: bool,
    /// `--facts`: an export of these logs (`history export --to`) to read applications from.
    pub facts: Option<&'a str>,
}

/// Runs `cost` over the event logs at `path`: a directory of logs (or one log),
/// local or an object-store URL (`s3://bucket/prefix`, credentials from the
/// environment). Fails with exit 3 when object storage is unreachable, 2 when the
/// location is missing or the Parquet file cannot be written (nothing is printed
/// then), and 1 when a team's budget is critical, after printing the report.
/// With `--by job`, interactive Spark Connect sessions are left out (said on
/// stderr) unless `include_sessions`; budgets and other groupings count them.
pub fn run(
    path: &Path,
    query: CostQuery<'_>,
    price_sheet: Option<&Path>,
    budget: Option<&Path>,
    outputs: CostOutputs<'_>,
    printer: &Printer,
) -> CommandResult {
    let CostQuery { since, by, include_sessions, facts } = query;
    let settings = CostSettings::resolve(since, by, price_sheet, budget)?;
    let failure = |error| super::analyze::log_failure(&error, LOG_HELP);
    let source = LogSource::parse(&path.to_string_lossy()).map_err(failure)?;
    let known: Box<dyn KnownRecords> = match facts {
        Some(at) => Box::new(
            ExportedRecords::open(at, &source.describe()).map_err(|e| super::history::facts_failure(&e, "--facts"))?,
        ),
        None => Box::new(NoRecords),
    };
    let read = read_records(&source.app_logs().map_err(failure)?, settings.since_ms, &settings.sheet, known.as_ref());
    if let Some(at) = facts {
        printer.status(&format!(
            "{} application(s) from the facts exported to {at}, {} log(s) read",
            read.kept, read.read
        ));
    }
    let all: Vec<AppCost> = read.records.iter().map(|r| r.cost_at(&settings.sheet)).collect();
    let query = ReportQuery { by: settings.by, since: settings.since, include_sessions, budgets: settings.budgets };
    let read_warnings = read.warnings.iter().map(ToString::to_string).collect();
    let report = cost_report(all, settings.sheet, &query, read_warnings);
    if let Some((count, spent)) = report.sessions_left_out {
        printer.status(&super::runs::sessions_left_out(count, &format!(" ({})", usd(spent)), "jobs"));
    }
    if let Some(target) = outputs.parquet {
        let written = sparkplane_facts::chargeback::record_batch(&report.rows, &report.counted, report.group_by)
            .and_then(|batch| sparkplane_facts::chargeback::write_atomically(target, &batch));
        if let Err(error) = written {
            let message = format!("cannot write {}: {error}; nothing was written", target.display());
            return Err(Failure::invalid(
                "unwritable-output",
                "--parquet",
                message,
                "give --parquet a file path in an existing, writable directory",
            ));
        }
        printer.status(&format!("wrote {} row(s) to {}", report.rows.len(), target.display()));
    }
    if outputs.csv {
        printer.raw(&to_csv(&report.rows));
    } else {
        printer.result(&report, || table(&report));
    }
    for warning in &report.warnings {
        printer.status(&format!("warning: {warning}"));
    }
    let mut critical = Diagnostics::new();
    for status in report.critical_budgets() {
        let used = status.percent.map_or_else(|| "the budget is zero".to_owned(), |p| format!("{p:.1}% used"));
        critical.push(
            Diagnostic::error(
                "budget-critical",
                format!("teams.{}", status.team),
                format!(
                    "team {} spent {} of its {} monthly budget ({used})",
                    status.team,
                    usd(status.spent),
                    usd(status.budget)
                ),
            )
            .with_help("look at the team's largest jobs with `--by job`, or raise the budget"),
        );
    }
    if critical.has_errors() { Err(Failure::Failed(critical)) } else { Ok(()) }
}
