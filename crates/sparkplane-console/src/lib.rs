//! The console (issue #65, ADR 0097): the cluster's SparkJobs by team on
//! the door of `sparkplane history serve --cluster`, behind its sign-in —
//! each job's state, attempt and why it waits, its link (the live Spark UI
//! while it runs, its history after), its driver log (a page of its own, read
//! when opened, beside the `sparkplane logs` command), a Connect server's
//! endpoint, and each namespace's quota use; every row and log only for a
//! viewer `sparkplane_access::decide` lets see it, a hidden job answering
//! what an unknown one does (404). It also gives the door the running
//! SparkJobs' driver UIs ([`ClusterConsole::live_source`]).
//!
//! Owns: the gather ([`gather`]) and the driver logs' read ([`driver_log`]),
//! the crate's only I/O; the pure model ([`model`]), the pages ([`page`])
//! and the surface ([`surface`]). Must not: decide access
//! (`sparkplane_access` does), recognise a viewer or serve HTTP (the door
//! and `sparkplane_history` do), or write to the cluster.

pub mod driver_log;
pub mod gather;
pub mod model;
pub mod page;
pub mod surface;

pub use gather::ClusterConsole;
pub use surface::{Console, PREFIX};
