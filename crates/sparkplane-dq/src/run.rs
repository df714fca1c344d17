//! Running a spec file as a command or a job's quality gates ask: the
//! options a spec file's run gets (its folder, partition selection, worker
//! threads), which gates a job declares and whether each blocks, and the
//! one-line messages of failed checks.
//!
//! Owns: those decisions, so `dq check` and `run`'s gates make them once and
//! tests call them without the binary. Must not: read the spec file (the caller passes its reader), print,
//! or choose exit codes (the CLI does).

use std::path::{Path, PathBuf};

use sparkplane_api::SparkJob;
use sparkplane_api::job::QualityGate;
use sparkplane_documents::{Diagnostics, Source};

use crate::dataset::parse_selection;
use crate::{CheckOptions, DqReport};

/// How a command asks for one spec file to be run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SpecRun {
    /// The spec file.
    pub spec: PathBuf,
    /// `key=value` partition selections.
    pub partitions: Vec<String>,
    /// Worker threads; the machine's parallelism when unset.
    pub threads: Option<usize>,
    /// Store this run's profile (when the gate passes).
    pub write_profile: bool,
    /// Quarantine failing data.
    pub quarantine: bool,
}

impl SpecRun {
    /// A gate's run: the spec alone, with profiles and quarantine on.
    pub fn gate(spec: PathBuf) -> SpecRun {
        SpecRun { spec, write_profile: true, quarantine: true, ..SpecRun::default() }
    }

    /// The check options at `now_secs`: relative paths from the spec's
    /// folder (`.` for a bare file name), at least one thread. A bad
    /// partition selection is the error, as a message.
    pub fn options(&self, now_secs: f64) -> Result<CheckOptions, String> {
        let selection = parse_selection(&self.partitions)?;
        let base_dir = self.spec.parent().map(Path::to_path_buf).unwrap_or_default();
        let threads = self.threads.unwrap_or_else(sparkplane_workqueue::cores).max(1);
        Ok(CheckOptions {
            base_dir: if base_dir.as_os_str().is_empty() { PathBuf::from(".") } else { base_dir },
            selection,
            threads,
            now_secs,
            write_profile: self.write_profile,
            quarantine: self.quarantine,
            storage_options: Vec::new(),
        })
    }
}

/// One quality gate of a job, its spec path resolved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Gate {
    /// The spec file, relative to where the job file was named from.
    pub spec: PathBuf,
    /// Whether a failure fails the run (the default) or only warns.
    pub blocking: bool,
}

/// A job's `spec.qualityGates`, their spec paths taken relative to the job file.
pub fn gates(job_file: &Path, declared: &[QualityGate]) -> Vec<Gate> {
    let base = job_file.parent().unwrap_or(Path::new("."));
    declared.iter().map(|g| Gate { spec: base.join(&g.spec), blocking: g.is_blocking() }).collect()
}

/// Embeds each quality gate's data-quality spec in the job (`definition`),
/// each read through `read` and checked as `dq check` checks it, so the
/// operator can check the gates in the cluster, where the job's files are not
/// (ADR 0043). A spec that is invalid, or names a dataset relative to its own
/// folder (which the check in the cluster does not have), is the error, with
/// its file and line; the job is left as it was when any gate fails.
pub fn embed_gate_specs<E: From<Diagnostics>>(
    job: &mut SparkJob,
    job_file: &Path,
    read: impl Fn(&Path) -> Result<Source, E>,
) -> Result<(), E> {
    let files = gates(job_file, &job.spec.quality_gates);
    let mut specs = Vec::with_capacity(files.len());
    for file in files {
        let loaded = crate::spec::load_spec(&read(&file.spec)?)?;
        let relative = crate::spec::relative_datasets(&loaded, "the operator's check in the cluster");
        if relative.has_errors() {
            return Err(relative.into());
        }
        specs.push(loaded.spec);
    }
    for (gate, spec) in job.spec.quality_gates.iter_mut().zip(specs) {
        gate.definition = Some(Box::new(spec));
    }
    Ok(())
}

/// One line per failed error-severity check: `<spec>: check `<name>` failed: <why>`.
pub fn failure_messages(report: &DqReport, spec: &Path) -> Vec<String> {
    report.errors().map(|c| format!("{}: check `{}` failed: {}", spec.display(), c.name, c.message)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_come_from_the_spec_folder_and_default_to_every_core() {
        let run = SpecRun { spec: "specs/payments.yaml".into(), threads: Some(0), ..SpecRun::default() };
        let options = run.options(12.5).expect("options");
        assert_eq!(options.base_dir, PathBuf::from("specs"));
        assert_eq!(options.threads, 1, "at least one thread");
        assert_eq!(options.now_secs, 12.5);
        assert!(!options.write_profile && !options.quarantine);
        let bare = SpecRun { spec: "dq.yaml".into(), ..SpecRun::default() }.options(0.0).expect("options");
        assert_eq!(bare.base_dir, PathBuf::from("."));
        assert!(bare.threads >= 1);
        let gate = SpecRun::gate("g.yaml".into()).options(0.0).expect("options");
        assert!(gate.write_profile && gate.quarantine);
    }

    #[test]
    fn a_bad_partition_is_the_error() {
        let run = SpecRun { spec: "dq.yaml".into(), partitions: vec!["no-equals".into()], ..SpecRun::default() };
        assert!(run.options(0.0).is_err());
    }

    #[test]
    fn gates_resolve_against_the_job_file_and_block_unless_told_not_to() {
        let declared = [
            QualityGate { spec: "dq/a.yaml".into(), blocking: None, definition: None },
            QualityGate { spec: "b.yaml".into(), blocking: Some(false), definition: None },
        ];
        assert_eq!(
            gates(Path::new("jobs/etl.yaml"), &declared),
            [
                Gate { spec: "jobs/dq/a.yaml".into(), blocking: true },
                Gate { spec: "jobs/b.yaml".into(), blocking: false },
            ]
        );
        assert_eq!(gates(Path::new("etl.yaml"), &declared)[0].spec, PathBuf::from("dq/a.yaml"));
    }

    fn job_with_gates(specs: &[&str]) -> SparkJob {
        let quality_gates =
            specs.iter().map(|s| QualityGate { spec: (*s).into(), blocking: None, definition: None }).collect();
        SparkJob::new("etl", sparkplane_api::SparkJobSpec { quality_gates, ..Default::default() })
    }

    fn spec_text(dataset: &str) -> String {
        format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: t}}\ndataset: {{path: {dataset}}}\n\
             checks:\n  - name: rows\n    rowCount: {{min: 1}}\n"
        )
    }

    #[test]
    fn each_gates_spec_is_read_from_beside_the_job_and_embedded() {
        let mut job = job_with_gates(&["dq/a.yaml", "b.yaml"]);
        let read = |p: &Path| -> Result<Source, Diagnostics> {
            let dataset = if p == Path::new("jobs/dq/a.yaml") { "s3://lake/a" } else { "/data/b" };
            Ok(Source::new(p.display().to_string(), spec_text(dataset)))
        };
        embed_gate_specs(&mut job, Path::new("jobs/etl.yaml"), read).expect("embedded");
        let paths: Vec<String> = job
            .spec
            .quality_gates
            .iter()
            .map(|g| g.definition.as_ref().map(|d| d.dataset.path.clone()).unwrap_or_default())
            .collect();
        assert_eq!(paths, ["s3://lake/a", "/data/b"]);
    }

    #[test]
    fn a_gate_naming_a_dataset_relative_to_its_folder_is_refused_and_nothing_is_embedded() {
        let mut job = job_with_gates(&["a.yaml", "b.yaml"]);
        let read = |p: &Path| -> Result<Source, Diagnostics> {
            let dataset = if p == Path::new("a.yaml") { "/data/a" } else { "data/b" };
            Ok(Source::new(p.display().to_string(), spec_text(dataset)))
        };
        let err = embed_gate_specs(&mut job, Path::new("etl.yaml"), read).expect_err("refused");
        assert_eq!(err.0.len(), 1, "{err:?}");
        assert_eq!(err.0[0].path, "dataset.path");
        assert_eq!(err.0[0].location().as_deref(), Some("b.yaml:4:17"));
        assert!(err.0[0].message.contains("the operator's check in the cluster"), "{}", err.0[0].message);
        assert!(job.spec.quality_gates.iter().all(|g| g.definition.is_none()), "nothing half-embedded");
    }

    #[test]
    fn a_spec_the_reader_cannot_read_is_its_error() {
        let mut job = job_with_gates(&["gone.yaml"]);
        let read = |_: &Path| -> Result<Source, Diagnostics> {
            Err(Diagnostics::from(sparkplane_documents::Diagnostic::error("unreadable", "", "gone.yaml: not found")))
        };
        let err = embed_gate_specs(&mut job, Path::new("etl.yaml"), read).expect_err("refused");
        assert_eq!(err.0[0].message, "gone.yaml: not found");
    }
}
