//! sparkplane-chaos's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-chaos -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod local_experiments;
mod simulated_api_server_paused;
mod simulated_driver_evicted;
mod simulated_node_drained;
mod simulated_node_lost;
mod simulated_operator_killed;
