//! xtask's integration tests, one binary for the crate (ADR 0080): each module
//! is one suite. They run the built `xtask` as scripts/release.sh does; being
//! here also makes the workspace's one test build (`cargo nextest run
//! --workspace --all-targets --no-run`) build that binary, which the release
//! test hands to release.sh (ADR 0082).

mod release_folder;
