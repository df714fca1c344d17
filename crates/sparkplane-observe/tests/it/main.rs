//! sparkplane-observe's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-observe -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod dashboards;
mod exporter;
mod exporter_connect;
mod exporter_objectives;
mod exporter_prometheus;
mod exporter_s3;
mod rules;

mod common;
mod exporter_common;
