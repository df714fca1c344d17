//! A SparkJob in the cluster as promotion's source run (ADR 0043): the
//! release it carries (`sparkplane.dev/release`) and how the operator says
//! its last run ended (`status.state`, bound to the object by
//! `status.specHash`) with its quality gates (`status.qualityGates`).
//!
//! Owns: that reading, what may name a release on a SparkJob and putting
//! it there. Must
//! not: fetch anything, hash specs (the caller passes the object's hash, as
//! the operator computes it) or judge the gate (`promote::decide` does).

use sparkplane_api::SparkJob;
use sparkplane_api::job::{GatesOutcome, JobState};
use sparkplane_api::labels;
use sparkplane_documents::Diagnostic;

use crate::promote::{QualityGates, RunRelease, SourceRun};

/// Whether `id` can name a release on a SparkJob: a label value as the API
/// server checks it (`sparkplane_core::names::is_label_value`) that is not
/// empty, since an empty release label names no release.
pub fn is_release_id(id: &str) -> bool {
    !id.is_empty() && sparkplane_core::names::is_label_value(id)
}

/// Labels `job` with the release it runs (`--release` of `apply`): part of
/// the applied object, so part of the spec hash the operator's status is
/// bound to (ADR 0043). An id that is not a release id of this job is the
/// error, naming the flag.
pub fn label_release(job: &mut SparkJob, id: &str) -> Result<(), Diagnostic> {
    let name = job.metadata.name.clone().unwrap_or_default();
    if !is_release_id(id) || crate::store::environment_of(id, &name).is_none() {
        return Err(Diagnostic::error(
            "bad-flag",
            "--release",
            format!(
                "`{id}` is not a release id of job `{name}` (<job>-<environment>-<12 hex digits>, at most 63 characters)"
            ),
        )
        .with_help("pass an id that `sparkplane releases JOB` lists"));
    }
    job.metadata.labels.get_or_insert_with(Default::default).insert(labels::RELEASE.to_owned(), id.to_owned());
    Ok(())
}

/// The last run of `job` as the gate reads it. `current_spec_hash` is the
/// short hash of the object as it is now, computed as the operator computes
/// it; a status for another hash describes an earlier spec, so the run of
/// this one has not started.
pub fn source_run(job: &SparkJob, current_spec_hash: Option<&str>) -> SourceRun {
    let namespace = job.metadata.namespace.as_deref().unwrap_or("default");
    let name = job.metadata.name.as_deref().unwrap_or_default();
    let status = job.status.clone().unwrap_or_default();
    let gates_message = status.quality_gates_message.clone();
    let attempt = status.attempt.unwrap_or(1);
    let release = match job.metadata.labels.as_ref().and_then(|l| l.get(labels::RELEASE)) {
        Some(id) => RunRelease::Release(id.clone()),
        None => RunRelease::Unlabelled,
    };
    let run_id = format!("sparkjob {namespace}/{name} attempt {attempt}");
    let spec_hash = status.spec_hash.clone().unwrap_or_default();
    let current = current_spec_hash.is_some_and(|h| !spec_hash.is_empty() && h.starts_with(&spec_hash));
    let (state, failure) = match status.state {
        _ if !current => (
            "not started".to_owned(),
            Some("the operator has not started a run of the SparkJob as it is now".to_owned()),
        ),
        Some(JobState::Succeeded) => ("succeeded".to_owned(), None),
        Some(JobState::Failed) if status.quality_gates == Some(GatesOutcome::Failed) => {
            ("failed".to_owned(), gates_message.filter(|m| !m.is_empty()))
        }
        Some(JobState::Failed) => {
            let why = match (status.reason, status.message) {
                (Some(reason), Some(message)) => format!("{reason}: {message}"),
                (reason, message) => reason.or(message).unwrap_or_default(),
            };
            ("failed".to_owned(), Some(why).filter(|w| !w.is_empty()))
        }
        Some(other) => (format!("still {other}"), None),
        None => ("not started".to_owned(), Some("the operator has not seen the SparkJob yet".to_owned())),
    };
    // The operator checks declared gates once the driver succeeded and records how they ended; a job that
    // declares none passes.
    let quality_gates = if job.spec.quality_gates.is_empty() {
        QualityGates::Passed
    } else {
        QualityGates::from_outcome(status.quality_gates)
    };
    SourceRun { run_id, state, failure, quality_gates, spec_hash, release }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_api::job::SparkJobStatus;

    fn job(label: Option<&str>, status: Option<SparkJobStatus>, gates: bool) -> SparkJob {
        let mut value = serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": "etl", "namespace": "data"},
            "spec": {"team": "t", "costCenter": "c", "type": "Python", "mainApplicationFile": "local:///a.py"},
        });
        if let Some(label) = label {
            value["metadata"]["labels"] = serde_json::json!({labels::RELEASE: label});
        }
        if gates {
            value["spec"]["qualityGates"] = serde_json::json!([{"spec": "dq.yaml"}]);
        }
        let mut job: SparkJob = serde_json::from_value(value).expect("a SparkJob");
        job.status = status;
        job
    }

    fn status(state: JobState, hash: &str) -> SparkJobStatus {
        SparkJobStatus { state: Some(state), spec_hash: Some(hash.into()), attempt: Some(2), ..Default::default() }
    }

    /// The label, the status, the object's hash now; the state and failure the gate reads.
    type Case =
        (Option<&'static str>, Option<SparkJobStatus>, Option<&'static str>, &'static str, Option<&'static str>);

    #[test]
    fn the_status_of_the_object_as_it_is_now_is_the_run() {
        let failed = SparkJobStatus {
            reason: Some("OOMKilled".into()),
            message: Some("the driver ran out of memory".into()),
            ..status(JobState::Failed, "abcd1234")
        };
        let table: [Case; 6] = [
            (
                Some("etl-prod-0123456789ab"),
                Some(status(JobState::Succeeded, "abcd1234")),
                Some("abcd1234"),
                "succeeded",
                None,
            ),
            (None, Some(failed), Some("abcd1234"), "failed", Some("OOMKilled: the driver ran out of memory")),
            (None, Some(status(JobState::Running, "abcd1234")), Some("abcd1234"), "still Running", None),
            (
                None,
                Some(status(JobState::Succeeded, "0ld0ld00")),
                Some("abcd1234"),
                "not started",
                Some("the operator has not started a run of the SparkJob as it is now"),
            ),
            (
                None,
                None,
                Some("abcd1234"),
                "not started",
                Some("the operator has not started a run of the SparkJob as it is now"),
            ),
            (
                None,
                Some(status(JobState::Succeeded, "abcd1234")),
                None,
                "not started",
                Some("the operator has not started a run of the SparkJob as it is now"),
            ),
        ];
        for (label, status, hash, state, failure) in table {
            let run = source_run(&job(label, status, false), hash);
            assert_eq!((run.state.as_str(), run.failure.as_deref()), (state, failure), "{label:?} {hash:?}");
            assert_eq!(run.quality_gates, QualityGates::Passed, "no gates declared");
        }
        let run = source_run(
            &job(Some("etl-prod-0123456789ab"), Some(status(JobState::Succeeded, "abcd1234")), true),
            Some("abcd1234"),
        );
        assert_eq!(run.run_id, "sparkjob data/etl attempt 2");
        assert_eq!(run.release, RunRelease::Release("etl-prod-0123456789ab".into()));
        assert_eq!(run.quality_gates, QualityGates::Unknown, "declared gates with no outcome on record");
        assert_eq!(source_run(&job(None, None, false), None).release, RunRelease::Unlabelled);
    }

    #[test]
    fn declared_gates_read_the_operators_outcome() {
        let with = |state: JobState, outcome: Option<GatesOutcome>| SparkJobStatus {
            quality_gates: outcome,
            quality_gates_message: Some("quality gate `dq.yaml` failed: check `rows` failed: 0 rows".into()),
            reason: Some("QualityGatesFailed".into()),
            ..status(state, "abcd1234")
        };
        let table = [
            (JobState::Succeeded, Some(GatesOutcome::Passed), QualityGates::Passed, "succeeded", None),
            (
                JobState::Failed,
                Some(GatesOutcome::Failed),
                QualityGates::Failed,
                "failed",
                Some("quality gate `dq.yaml` failed: check `rows` failed: 0 rows"),
            ),
            (JobState::Retrying, Some(GatesOutcome::Error), QualityGates::Error, "still Retrying", None),
            (JobState::Checking, None, QualityGates::Unknown, "still Checking", None),
        ];
        for (state, outcome, gates, read, failure) in table {
            let run = source_run(&job(None, Some(with(state, outcome)), true), Some("abcd1234"));
            assert_eq!(
                (run.quality_gates, run.state.as_str(), run.failure.as_deref()),
                (gates, read, failure),
                "{state}"
            );
        }
        assert_eq!(source_run(&job(None, None, false), None).release, RunRelease::Unlabelled);
    }

    #[test]
    fn a_release_id_must_be_a_label_value() {
        for (id, ok) in [
            ("trips-etl-staging-44136fa355b3", true),
            ("", false),
            ("-a", false),
            ("a.", false),
            ("a/b", false),
            (&"a".repeat(64), false),
            (&"a".repeat(63), true),
        ] {
            assert_eq!(is_release_id(id), ok, "{id}");
        }
    }

    #[test]
    fn only_a_release_id_of_the_job_labels_it() {
        let mut job = SparkJob::new("trips-etl", Default::default());
        label_release(&mut job, "trips-etl-staging-44136fa355b3").expect("labelled");
        let labels = job.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get(labels::RELEASE).map(String::as_str), Some("trips-etl-staging-44136fa355b3"));
        for id in ["other-job-staging-44136fa355b3", "trips-etl-staging-44136", "trips-etl--44136fa355b3", ""] {
            let mut job = SparkJob::new("trips-etl", Default::default());
            let err = label_release(&mut job, id).expect_err(id);
            assert_eq!((err.code, err.path.as_str()), ("bad-flag", "--release"));
            assert!(err.message.contains("is not a release id of job `trips-etl`"), "{}", err.message);
            assert!(job.metadata.labels.is_none(), "{id}: nothing labelled");
        }
    }
}
