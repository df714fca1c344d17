//! Backups of a Spark platform: the Hive Metastore's PostgreSQL database, the
//! event-log store, sparkplane's release records and the lake prefixes teams
//! declare, copied to another object store with a checksum manifest, and
//! verified by restoring them.
//!
//! Owns: the Backup document — its loading, checks and defaults
//! ([`document`]) —, the layout of a backup target and its manifest ([`layout`],
//! [`manifest`]), the pure plans (which objects to copy and which to reuse,
//! which backups retention removes, what a verify found: [`plan`]), the
//! verdict of a disaster-recovery drill from what it gathered ([`drill`]) and
//! the drill's steps behind a host the CLI implements ([`drill_run`]), the
//! CronJob that runs a backup in a cluster ([`render`]) and the metrics a run
//! reports ([`metrics`]); and the thin I/O that runs them — PostgreSQL's own
//! tools as processes ([`pg`]) and object storage through
//! `sparkplane-storage` ([`run`], [`verify`], a drill's [`scratch`] target).
//! Must not: print (the CLI does); only [`pg`], [`run`], [`verify`] and
//! [`scratch`] touch files, processes, the network or the clock.

pub mod document;
pub mod drill;
pub mod drill_run;
pub mod error;
pub mod layout;
pub mod manifest;
pub mod metrics;
pub mod pg;
pub mod plan;
pub mod render;
pub mod run;
pub mod scratch;
pub mod stores;
pub mod verify;

pub use error::BackupError;
