//! sparkplane-fakekube's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-fakekube -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod apply_authorization;
mod controller_semantics;
mod fake_server;
mod job_processes;
mod kueue_standin;
mod lifecycle_clients;
mod node_faults;
mod real_clients;
mod spark_submit_conformance;
mod unserved_resources;

mod client_tools;
