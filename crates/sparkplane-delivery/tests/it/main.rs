//! sparkplane-delivery's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-delivery -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod cdevents_receiver;
mod ci_sarif;
mod releases;
