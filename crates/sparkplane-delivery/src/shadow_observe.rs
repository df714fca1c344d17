//! Reading one output for the shadow comparison, through the data-quality
//! engine: its schema and row count from one scan, a profile with every
//! column's nulls and every numeric column's histogram from a second (the
//! engine computes histograms for drift checks, so the profile is asked for
//! with a drift check per numeric column), and which of the output's own
//! data-quality checks fail.
//!
//! Owns: that I/O and the spec it scans with. Must not compare (that is
//! `shadow`) or compute any statistic itself: the data-quality crate's scan,
//! profile and sketches are the one profiler.

use std::collections::BTreeMap;
use std::path::Path;

use sparkplane_api::dq::{Check, CheckSeverity, DqSpec, DriftCheck, NotNullCheck};
use sparkplane_dq::dataset::{self, Root, Selection};
use sparkplane_dq::{CheckOptions, DqError, engine, evaluate};

use crate::shadow::Observation;

/// Spark types the data-quality engine reads as numbers (histograms, drift).
fn numeric(kind: &str) -> bool {
    matches!(kind, "byte" | "short" | "int" | "long" | "float" | "double" | "date" | "timestamp")
        || kind.starts_with("decimal(")
}

fn threads() -> usize {
    sparkplane_workqueue::cores()
}

/// Reads the output `spec` describes, at `location` instead of its dataset
/// path when given (relative locations against `base`, the spec's folder).
/// `Ok(None)` when there is no such output.
pub fn observe(spec: &DqSpec, base: &Path, location: Option<&str>) -> Result<Option<Observation>, DqError> {
    let mut spec = spec.clone();
    if let Some(location) = location {
        spec.dataset.path = location.to_owned();
    }
    let root = Root::open(&spec.dataset.path, base, &[])?;
    let files = match dataset::discover(&root, &spec.dataset, &Selection::new()) {
        Ok(files) => files,
        Err(DqError::NotFound { .. }) => return Ok(None),
        Err(e) => return Err(e),
    };
    let none = BTreeMap::new();
    let bare = DqSpec { checks: Vec::new(), ..spec.clone() };
    let shape = engine::scan(&files, spec.dataset.format, &bare, &none, &BTreeMap::new(), threads())?;
    let schema: BTreeMap<String, String> = shape
        .columns
        .iter()
        .map(|(name, shape)| (name.clone(), shape.types.keys().cloned().collect::<Vec<_>>().join("|")))
        .collect();
    let mut checks = Vec::new();
    for (name, kind) in &schema {
        checks.push(Check {
            name: format!("shadow-nulls-{name}"),
            severity: CheckSeverity::Warn,
            not_null: Some(NotNullCheck { column: name.clone(), max_fraction: None }),
            ..Check::default()
        });
        if numeric(kind) {
            checks.push(Check {
                name: format!("shadow-drift-{name}"),
                severity: CheckSeverity::Warn,
                drift: Some(DriftCheck { column: name.clone(), max_psi: None }),
                ..Check::default()
            });
        }
    }
    let profiled = DqSpec { checks, ..spec.clone() };
    let scan = engine::scan(&files, spec.dataset.format, &profiled, &none, &BTreeMap::new(), threads())?;
    let profile = evaluate::profile(&profiled, "all", &scan);
    let options = CheckOptions {
        base_dir: base.to_owned(),
        threads: threads(),
        now_secs: jiff::Timestamp::now().as_millisecond() as f64 / 1000.0,
        write_profile: false,
        quarantine: false,
        ..CheckOptions::default()
    };
    let report = sparkplane_dq::check(&spec, &options)?;
    let failed_checks = report.errors().map(|c| c.name.clone()).collect();
    Ok(Some(Observation { schema, profile, failed_checks }))
}
