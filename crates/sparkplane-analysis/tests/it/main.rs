//! sparkplane-analysis's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-analysis -E 'test(/^MODULE::/)'` runs one). The event logs
//! they read are the event-log crate's fixtures (`crates/sparkplane-eventlog/tests/fixtures`).

mod cost;
mod cost_matches_render;
mod html_report;
mod listing_summary;
mod peak_memory;
