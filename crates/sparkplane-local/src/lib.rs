//! Local Spark: managed runtimes, Java checks, the local runner, progress and
//! run history. The I/O around the core's local plan.
pub mod connect;
pub mod history;
pub mod java;
pub mod progress;
pub mod runner;
pub mod runtime;
pub mod summary;
