//! Running a spec file as a command or a job's quality gates ask: the
//! options a spec file's run gets (its folder, partition selection, worker
//! threads), which gates a job declares and whether each blocks, and the
//! one-line messages of failed checks.
//!
//! Owns: those decisions, so `dq check` and `run`'s gates make them once and
//! tests call them without the binary. Must not: read the spec file, print,
//! or choose exit codes (the CLI does).

use std::path::{Path, PathBuf};

use sparkplane_api::job::QualityGate;

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
        let threads =
            self.threads.unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)).max(1);
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
}
