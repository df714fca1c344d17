//! `sparkplane tune`: propose changes to a job spec from its past runs, and with
//! `--write` apply them to the job file in place.
//!
//! Thin I/O around [`sparkplane_analysis::tune`]: resolve the job, read the history
//! directory, keep the job's runs, print the proposal, patch the file. It must not
//! hold tuning rules or size anything itself; those live in sparkplane-analysis and
//! the core's one sizing model.

use std::path::Path;

use serde::Serialize;
use sparkplane_analysis::tune::{TuneProposal, is_run_of, tune};
use sparkplane_core::validate::ValidationTarget;
use sparkplane_eventlog::{LogSource, summarize_logs};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, patch_file, resolve_job};

/// What `tune` prints with `-o json` or `-o yaml`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TuneReport<'a> {
    /// The job tuned.
    job: &'a str,
    /// Whether the job file was patched.
    written: bool,
    /// The proposal.
    #[serde(flatten)]
    proposal: &'a TuneProposal,
}

fn table(job: &str, proposal: &TuneProposal) -> String {
    let mut out = String::new();
    if proposal.changes.is_empty() {
        out.push_str(&format!("No changes proposed for {job}.\n"));
    } else {
        let mut t = super::Table::new(&["FIELD", "FROM", "TO", "WHY"]);
        for change in &proposal.changes {
            let mut why = change.why.clone();
            if let Some(b) = &change.bounds {
                why.push_str(&format!(" [{}: {} to {} across runs]", b.figure, b.min, b.max));
            }
            t.row(vec![
                change.path.clone(),
                change.from.clone().unwrap_or_else(|| "(unset)".into()),
                change.to.clone(),
                why,
            ]);
        }
        out.push_str(&t.render());
    }
    out.push_str(&format!(
        "\nconfidence: {} ({}); runs considered: {}\n",
        proposal.confidence.as_str(),
        proposal.confidence_why,
        proposal.runs_considered
    ));
    for note in &proposal.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// Runs `tune`: proposes changes to the job from the runs of it found in the event-log
/// directory `history`, and with `write` patches the job file (comments and layout kept).
pub fn run(settings: &JobSettings, history: &Path, write: bool, printer: &Printer) -> CommandResult {
    let resolved = resolve_job(settings, ValidationTarget::Any)?;
    printer.warnings(&resolved.warnings);
    let job = resolved.name().to_owned();
    let help = "pass the directory Spark writes event logs to (spark.eventLog.dir), as a path or an object-store \
                URL such as s3://bucket/spark-events";
    let logs = LogSource::parse(&history.to_string_lossy())
        .and_then(|source| source.app_logs())
        .map_err(|error| super::analyze::log_failure(&error, help))?;
    let (summaries, read_warnings) = summarize_logs(&logs, None);
    for warning in &read_warnings {
        printer.status(&format!("warning: {warning}"));
    }
    let runs: Vec<_> = summaries.into_iter().filter(|app| is_run_of(app, &job)).collect();
    if runs.is_empty() {
        return Err(Failure::invalid(
            "no-runs",
            "--history",
            format!(
                "no run of job `{job}` in {}: looked for applications labelled {}={job}, named \
                     `{job}` (spark.app.name), or with a spark.sparkplane.run.id starting with `{job}`",
                history.display(),
                sparkplane_api::labels::JOB
            ),
            format!(
                "run the job first (`sparkplane run {}`), with event logs written to this directory \
                 (spark.eventLog.enabled=true, spark.eventLog.dir)",
                settings.path.display()
            ),
        ));
    }
    let proposal = tune(&resolved.job.spec, &runs);
    let written = write && !proposal.changes.is_empty();
    if written {
        // Patch first, so the report never says the file was written when it was not.
        patch_file(&settings.path, &proposal.patch)?;
    }
    printer.result(&TuneReport { job: &job, written, proposal: &proposal }, || table(&job, &proposal));
    if written {
        printer.status(&format!("patched {} (comments and layout kept)", settings.path.display()));
    } else if write {
        printer.status(&format!("nothing to write: {} is left as it is", settings.path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::printer::OutputFormat;

    const JOB: &str = "\
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: sparkplane-eventlog-fixture
spec:
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/job_ok.py
  executor:
    # Two small executors.
    cores: 2
    memory: 1g
    instances: 1
  sparkConf:
    spark.sql.shuffle.partitions: \"200\"
";

    fn history() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures/spark-3.5.9")
    }

    fn printer() -> Printer {
        Printer { format: OutputFormat::Json, quiet: true, color: false, stderr_tty: false }
    }

    fn job_file(dir: &Path, text: &str) -> JobSettings {
        let path = dir.join("job.yaml");
        std::fs::write(&path, text).expect("the job file is written");
        JobSettings { path, env: None, sets: Vec::new(), platform_dir: None }
    }

    #[test]
    fn write_patches_the_job_file_keeping_comments() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = job_file(dir.path(), JOB);
        run(&settings, &history(), true, &printer()).expect("tune succeeds");
        let text = std::fs::read_to_string(&settings.path).expect("the job file reads");
        // The fixture jobs shuffle a few KiB: one partition, rounded up to the job's 2 cores.
        assert!(text.contains("spark.sql.shuffle.partitions: \"2\""), "{text}");
        // The comment block survives; a trailing comment on the replaced scalar does not (a patch_yaml limit).
        assert!(text.contains("# Two small executors."), "{text}");
        let names: Vec<_> =
            std::fs::read_dir(dir.path()).expect("the folder").map(|e| e.expect("entry").file_name()).collect();
        assert_eq!(names, ["job.yaml"], "nothing but the job file is left");
    }

    #[test]
    fn a_job_without_runs_says_what_was_looked_for() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let settings = job_file(dir.path(), &JOB.replace("name: sparkplane-eventlog-fixture", "name: nightly"));
        let Err(Failure::Invalid(problems)) = run(&settings, &history(), false, &printer()) else {
            panic!("expected an invalid-input failure");
        };
        let message = problems.0[0].message.clone();
        assert!(message.contains("sparkplane.dev/job=nightly") && message.contains("spark.app.name"), "{message}");
        assert!(problems.0[0].help.as_deref().is_some_and(|h| h.contains("sparkplane run")));
    }
}
