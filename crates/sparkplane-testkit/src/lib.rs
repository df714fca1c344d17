//! Test helpers shared by sparkplane's crates. Dev-dependency only.
//!
//! Owns: starting and stopping real local services tests talk to — today a
//! SeaweedFS server with its S3 gateway ([`S3Server`]), Spark's History
//! Server ([`HistoryServer`]), a CDEvents receiver ([`CdEventsReceiver`]), an OTLP trace
//! receiver ([`OtlpReceiver`]), a real OpenID Connect provider ([`oidc`]), a fault-injecting proxy in front of S3
//! ([`FaultProxy`]) and PostgreSQL
//! ([`PostgresServer`]), a Spark Connect server a test shares between its
//! runs ([`ConnectServer`]) — finding the headless Chromium tests open pages in
//! ([`chromium`]) and driving it over the DevTools protocol ([`devtools`]), stopping child processes a test started
//! ([`StopOnDrop`]), and running the `sparkplane` binary with a clean
//! environment ([`sparkplane`]), small HTTP peers ([`http`]), and fresh Spark
//! event logs shared by the tests of one run ([`spark_logs`]). Must not: be used by
//! non-test code.

pub mod cdevents;
pub mod chromium;
pub mod cli;
pub mod connect;
pub mod devtools;
pub mod fault_proxy;
pub mod history;
pub mod http;
pub mod oidc;
pub mod otlp;
pub mod process;
pub mod spark_logs;
/// The throwaway PostgreSQL server (its own crate, as the metastore chaos experiment starts one too).
pub use sparkplane_postgres as postgres;
/// The throwaway S3 server (its own crate, as the object-store-stopped chaos experiment starts one too).
pub use sparkplane_seaweedfs as s3;

pub use cdevents::CdEventsReceiver;
pub use cli::{sparkplane, sparkplane_process};
pub use connect::ConnectServer;
pub use fault_proxy::{Fault, FaultProxy};
pub use history::HistoryServer;
pub use otlp::OtlpReceiver;
pub use postgres::PostgresServer;
pub use process::StopOnDrop;
pub use s3::{S3Server, S3ServerError};

use std::path::{Path, PathBuf};

/// The repository's root, found from the running test's package
/// (`CARGO_MANIFEST_DIR`, which cargo and nextest set when they run a test)
/// rather than from where testkit was compiled: one target folder serves
/// several checkouts of the tree (CI builds a copy elsewhere), and testkit,
/// seldom changed, is not rebuilt when the tree moves, so a compiled-in path
/// can name a checkout that is gone. The compiled-in one is the fallback.
pub fn repo_root() -> PathBuf {
    let compiled = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let running = std::env::var_os("CARGO_MANIFEST_DIR").map(PathBuf::from);
    let found = running.as_deref().and_then(|package| {
        package.ancestors().find(|dir| dir.join("crates/sparkplane-testkit/data").is_dir()).map(Path::to_path_buf)
    });
    found.unwrap_or(compiled)
}

/// testkit's own `data/` folder (the receivers' scripts), under [`repo_root`].
pub fn data_dir() -> PathBuf {
    repo_root().join("crates/sparkplane-testkit/data")
}
