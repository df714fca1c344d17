//! sparkplane-api's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-api -E 'test(/^MODULE::/)'` runs one). The
//! workspace-wide source scans live here because this crate builds first.

mod crate_weight;
mod label_literals;
mod source_scan;
