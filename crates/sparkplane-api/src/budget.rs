//! A tenant's spend this month against its budget, as the cost ledger judged
//! it: computed from event logs by `sparkplane_analysis::cost`, read by
//! the budget policies (`sparkplane_policy`).
//!
//! Owns: that reading's shape, so neither of the two depends on the other.
//! Must not: compute spend or decide what a breach means.

/// The tenant's spend this month against its budget, as the cost ledger
/// judged it (the event-log engine computes it; the policy only reports it).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetReading {
    /// The tenant whose budget it is (`metadata.name`).
    pub tenant: String,
    /// The team the budget belongs to (the spend is the ledger's row for it).
    pub team: String,
    /// Spent so far this month, in the price sheet's currency.
    pub spent: f64,
    /// The monthly budget.
    pub monthly: f64,
    /// Spent as a percent of the budget; `None` for a zero budget.
    pub percent: Option<f64>,
    /// At or above the warning share.
    pub warning: bool,
    /// At or above the critical share.
    pub critical: bool,
    /// The window the spend covers, in words (`since 2026-11-01`).
    pub window: String,
    /// Whether a critical breach may block (the tenant's
    /// `budget.blockOnCritical`, default true). When false,
    /// `sparkplane_policy::BUDGET_CRITICAL` stays a warning whatever the environment says.
    pub blocks_on_critical: bool,
}
