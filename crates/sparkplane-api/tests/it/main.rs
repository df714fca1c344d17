//! sparkplane-api's integration tests, one binary for the crate: each module is one suite
//! (`cargo nextest run -p sparkplane-api -E 'test(/^MODULE::/)'` runs one).

mod label_literals;
