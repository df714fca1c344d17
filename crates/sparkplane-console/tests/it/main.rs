//! sparkplane-console's integration tests: one binary, each suite a module.

mod cluster;
mod render_names;
