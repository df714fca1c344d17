//! sparkplane-history's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-history -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod access_matrix;
mod bad_logs;
mod faults;
mod listing_faults;
mod live_access;
mod logs_download;
mod one_pass;
mod page_chromium;
mod spark_expectations;
mod spark_history_parity;
mod spark_suite;
mod stage_skew;
mod storage_rdd;
mod teams;
mod ui_chromium;
mod ui_spark_chromium;

mod support;
