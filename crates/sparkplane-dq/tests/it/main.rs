//! sparkplane-dq's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-dq -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod bench_plan;
mod checks;
mod s3_datasets;
