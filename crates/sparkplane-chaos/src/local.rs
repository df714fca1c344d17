//! The experiments on a real Spark in `local-cluster` mode: an executor
//! killed mid-stage, the object store stopped mid-write, the metastore stopped.
//!
//! Owns: starting each, breaking its part, and observing the result.
//! Must not: decide what should happen (the catalog's).

use crate::catalog::Experiment;
use crate::outcome::Outcome;
use crate::{ChaosError, Settings};

/// Runs one local experiment.
pub fn run(experiment: Experiment, _settings: &Settings) -> Result<Outcome, ChaosError> {
    Err(ChaosError::Invalid(format!("the {} experiment is not built yet", experiment.name())))
}
