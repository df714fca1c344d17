//! What sparkplane derives from the one application model
//! (`sparkplane-eventlog`'s [`AppSummary`](sparkplane_eventlog::AppSummary)) to
//! explain and improve a run: findings ([`analyze`]), cost, chargeback and
//! budgets ([`cost`]) and the chargeback report over them ([`cost_report`]), tuning proposals for a job spec ([`tune`]), one
//! application as the fleet's record of it ([`fleet`], what `cost`, the
//! exporter and the facts export read) and the self-contained HTML report
//! ([`report_html`](mod@report_html)).
//!
//! Owns: the rules and thresholds of each — one place for each figure, so
//! `analyze`, `run`'s summary, the History Server's pages, the exporter and
//! `cost` agree on every number.
//!
//! Must not: read, parse or fold event logs itself (the event-log crate does;
//! [`fleet`] reads many through its `source` on every core), size pods by
//! its own arithmetic (the core's one sizing model does), send anything (that
//! is `sparkplane-emit`), print, or decide an exit code.

pub mod analyze;
pub mod cost;
pub mod cost_report;
pub mod fleet;
pub mod report_html;
#[cfg(test)]
mod test_support;
pub mod tune;

pub use report_html::report_html;
