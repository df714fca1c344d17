//! Local Spark: managed runtimes, Java checks, the local runner, progress,
//! run history, and the whole local-run workflow over them (`workflow`). The
//! I/O around the core's local plan.
pub mod connect;
pub mod history;
pub mod java;
pub mod progress;
pub mod runner;
pub mod runtime;
pub mod summary;
pub mod workflow;
