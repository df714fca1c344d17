//! sparkplane-operator's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-operator -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod operator;
mod operator_chaos;
mod operator_cluster;
mod operator_connect;
mod operator_deployment;
mod operator_kubeflow;
mod operator_kubeflow_connect;
mod operator_kueue;
mod operator_pool;
mod operator_races;

mod support;
