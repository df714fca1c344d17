//! The experiments on the simulated cluster with the operator: a node lost
//! with executors on it, the driver evicted, the API server paused, the
//! operator killed.
//!
//! Owns: starting the simulated cluster and the operator for each, breaking
//! its part, and observing the result. Must not: decide what should happen
//! (the catalog's).

use crate::catalog::Experiment;
use crate::outcome::Outcome;
use crate::{ChaosError, Settings};

/// Runs one experiment on the simulated cluster.
pub fn run(experiment: Experiment, _settings: &Settings) -> Result<Outcome, ChaosError> {
    Err(ChaosError::Invalid(format!("the {} experiment is not built yet", experiment.name())))
}
