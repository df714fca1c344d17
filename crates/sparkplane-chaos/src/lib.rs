//! Chaos experiments: break one part of a Spark platform on purpose and
//! check that the rest degrades the way the runbooks say.
//!
//! Owns: the catalog of named experiments (`catalog`), an experiment's
//! verdict (`outcome`), the check that an experiment's metrics fire (or keep
//! silent) the alerts it expects (`alerts`, through real `promtool`), and the
//! runners: `local` on a real Spark in `local-cluster` mode, `simulated` on
//! the simulated cluster with the operator (both behind the `runners`
//! feature, which the shipped binary leaves out: ADR 0086).
//! Must not: print; the CLI shows outcomes.

pub mod alerts;
pub mod catalog;
#[cfg(feature = "runners")]
pub mod local;
pub mod outcome;
#[cfg(feature = "runners")]
pub mod simulated;

pub use catalog::{Experiment, ListRow, Setting, UnknownExperiment};
pub use outcome::{AlertVerdict, Check, Outcome};

/// Why an experiment could not be carried out at all (as opposed to one
/// that ran and whose checks failed, which is an [`Outcome`] that did not pass).
#[derive(Debug, thiserror::Error)]
pub enum ChaosError {
    /// A part the experiment needs is missing or would not start: Java, a
    /// Spark runtime, the S3A jars, promtool, a server.
    #[error("{0}")]
    Infrastructure(String),
    /// The settings cannot work (a bad path, a runtime that is not Spark 3.5+).
    #[error("{0}")]
    Invalid(String),
}

/// Runs one experiment where it belongs (with the `runners` feature, on by default).
#[cfg(feature = "runners")]
pub fn run(experiment: Experiment, settings: &Settings) -> Result<Outcome, ChaosError> {
    match experiment.setting() {
        Setting::LocalCluster => local::run(experiment, settings),
        Setting::SimulatedCluster => simulated::run(experiment, settings),
    }
}

/// What every experiment may need from the caller.
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// The Spark runtime's home (`SPARK_HOME`) for the local experiments;
    /// the caller resolves the managed runtime.
    pub spark_home: Option<std::path::PathBuf>,
    /// Java's home for the local experiments (None: `JAVA_HOME` or `java` on PATH).
    pub java_home: Option<std::path::PathBuf>,
    /// Where an experiment keeps its files (event logs, outputs); None: a new temporary folder, removed afterwards.
    pub work_dir: Option<std::path::PathBuf>,
    /// The `promtool` to check alerts with (None: `promtool` on PATH).
    pub promtool: Option<std::path::PathBuf>,
}
