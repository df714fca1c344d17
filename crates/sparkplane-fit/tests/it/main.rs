//! sparkplane-fit's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-fit -E 'test(/^MODULE::/)'` runs one).

mod presets;
