//! sparkplane-policy's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-policy -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod network_isolation;
mod policy;
mod rego;
mod rule_owners;
mod tenant;

mod gatekeeper_schema;
