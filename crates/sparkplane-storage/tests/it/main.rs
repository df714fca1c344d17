//! sparkplane-storage's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-storage -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod s3_store;
