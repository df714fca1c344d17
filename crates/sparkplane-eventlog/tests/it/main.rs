//! sparkplane-eventlog's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-eventlog -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod codecs;
mod history_server;
mod read;
mod real_logs;
mod s3;
mod summary;
mod task_end_one_parse;
mod task_scan_agrees;

mod common;
