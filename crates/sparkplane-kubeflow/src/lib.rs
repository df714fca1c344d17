//! The Kubeflow Spark Operator's `sparkoperator.k8s.io` resources as a
//! domain of their own: the one conversion of a `SparkApplication`,
//! `ScheduledSparkApplication` or `SparkConnect` into a SparkJob ([`import`]),
//! which `sparkplane import kubeflow` and the operator both call, a run's
//! status in Kubeflow's v1beta2 shape and back ([`status`]), and a Connect
//! server's in the shape of Kubeflow's `SparkConnect` and back
//! ([`connect_status`]).
//!
//! Owns: reading v1beta2 documents (one, a stream, or files) into SparkJobs
//! with the list of every field not carried over and why; Kubeflow's status
//! shape. Must not: touch
//! files, the network or the clock (callers read and write), or size,
//! validate, render or judge policy (the converted SparkJob goes through the
//! core's one pipeline like any other).

pub mod connect_status;
pub mod import;
pub mod migrate;
pub mod resource;
pub mod schedule_status;
pub mod status;

pub use import::{ImportReport, Imported, Item, NotCarried, Outcome, import_kubeflow, import_kubeflow_files};
