//! One Spark application's status as Spark's own status store
//! (`AppStatusStore`) holds it, replayed from the application's event log:
//! its jobs, stages, tasks, executors, cached blocks and SQL executions.
//!
//! [`replay`] folds an event log's lines into an [`AppDetail`], a line at a
//! time and in any order of batches parsed on other threads; [`tasks`] keeps
//! each stage's tasks compactly; [`storage`] counts the blocks executors hold
//! for cached RDDs; [`sql_executions`] follows each SQL query from its start to
//! its end; [`insight`] is what `analyze` and the timing add to an application.
//!
//! Owns the replay and nothing that serves it: the History Server
//! (`sparkplane-history`) lists logs, caches details and answers Spark's REST
//! API and pages from them; the Parquet facts (`sparkplane-facts`) write them
//! as tables. Neither reads files here: the caller hands over the lines.

pub mod insight;
pub mod replay;
pub mod sql_executions;
pub mod storage;
pub mod tasks;

pub use replay::{AppDetail, DetailBuilder};
