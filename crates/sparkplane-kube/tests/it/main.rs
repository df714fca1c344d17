//! sparkplane-kube's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-kube -E 'test(/^MODULE::/)'` runs one).

mod config_maps;
mod links;
mod submit_mock;
