//! sparkplane-core's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-core -E 'test(/^MODULE::/)'` runs one), and the modules
//! below the suites are the support they share.

mod connect_render;
mod door_namespace;
mod presets;
mod render_snapshots;
mod robustness;
mod tenant_queue;
