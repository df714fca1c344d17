//! The shadow run's rules as table tests and its workflow over a fake host:
//! the ends the end-to-end tests cannot reach (an earlier shadow SparkJob
//! that never goes, no operator, a failed run in the cluster, a SparkJob that
//! cannot be deleted afterwards, a missing candidate output).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde_json::json;
use sparkplane_api::SparkJob;
use sparkplane_api::dq::DqSpec;
use sparkplane_api::job::{JobState, SparkJobStatus};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;
use sparkplane_dq::Profile;

use super::*;

fn resolved(name: &str, output: &str) -> ResolvedJob {
    let spec = json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "SparkJob",
        "metadata": {"name": name, "namespace": "etl", "labels": {"team": "a"}},
        "spec": {
            "type": "Python",
            "mainApplicationFile": "local:///app/main.py",
            "arguments": ["--in", "s3a://lake/raw/", "--out", output],
            "schedule": {"cron": "0 3 * * *"},
            "suspend": true,
            "qualityGates": [{"spec": "dq.yaml"}],
            "delivery": {"shadow": {"outputs": [{"path": output, "dataQuality": "dq/trips.yaml"}]}},
        },
        "status": {"state": "Succeeded"},
    });
    let job: SparkJob = serde_json::from_value(spec.clone()).expect("a SparkJob");
    let span =
        Span { source: Source::new("test", String::new()), start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
    ResolvedJob {
        job,
        tree: Node::from_json(&spec, &span),
        provenance: BTreeMap::new(),
        environment: Some("prod".into()),
        preset: None,
        warnings: sparkplane_documents::Diagnostics::new(),
        attempt: 1,
        platform_namespace: None,
    }
}

fn dq_spec(name: &str, path: &str) -> DqSpec {
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "DataQuality",
        "metadata": {"name": name},
        "dataset": {"path": path},
        "checks": [],
    }))
    .expect("a DataQuality spec")
}

fn observation(rows: u64) -> Observation {
    Observation { profile: Profile { rows, ..Profile::default() }, ..Observation::default() }
}

/// A host that answers from fields and records every call.
struct Fake {
    job: ResolvedJob,
    current: Option<Observation>,
    candidate: Option<Observation>,
    local_failure: Option<String>,
    gone: bool,
    ended: Option<SparkJobStatus>,
    delete_fails_after_run: bool,
    calls: Vec<String>,
    lines: Vec<String>,
}

impl Fake {
    fn new(output: &str) -> Fake {
        Fake {
            job: resolved("trips-etl", output),
            current: Some(observation(160)),
            candidate: Some(observation(160)),
            local_failure: None,
            gone: true,
            ended: Some(SparkJobStatus { state: Some(JobState::Succeeded), ..SparkJobStatus::default() }),
            delete_fails_after_run: false,
            calls: Vec::new(),
            lines: Vec::new(),
        }
    }
}

impl ShadowHost for Fake {
    type Error = ShadowProblem;

    fn resolve(&mut self, env: &str, place: Place) -> Result<ResolvedJob, ShadowProblem> {
        self.calls.push(format!("resolve {env} {place:?}"));
        Ok(self.job.clone())
    }
    fn load_output_spec(&mut self, path: &Path) -> Result<DqSpec, ShadowProblem> {
        self.calls.push(format!("load {}", path.display()));
        Ok(dq_spec("trips-daily", "s3a://lake/curated/trips/"))
    }
    fn observe(&mut self, output: &ShadowOutput, candidate: bool) -> Result<Option<Observation>, ShadowProblem> {
        self.calls.push(format!("observe {} {}", output.name, if candidate { "candidate" } else { "current" }));
        Ok(if candidate { self.candidate.clone() } else { self.current.clone() })
    }
    fn run_here(&mut self, plan: &ShadowPlan) -> Result<LocalRunEnd, ShadowProblem> {
        self.calls.push(format!("run here {}", plan.root));
        Ok(LocalRunEnd { run_id: "run-1".into(), failure: self.local_failure.clone() })
    }
    fn delete_job(&mut self, namespace: &str, name: &str) -> Result<(), ShadowProblem> {
        self.calls.push(format!("delete {namespace}/{name}"));
        if self.delete_fails_after_run && self.calls.iter().any(|c| c.starts_with("apply")) {
            return Err(ShadowProblem::Unreachable(Diagnostic::error("x", "", "the cluster went away")));
        }
        Ok(())
    }
    fn wait_gone(&mut self, namespace: &str, name: &str, limit: Duration) -> Result<bool, ShadowProblem> {
        self.calls.push(format!("wait gone {namespace}/{name} {}s", limit.as_secs()));
        Ok(self.gone)
    }
    fn clear_output(&mut self, location: &str) -> Result<(), ShadowProblem> {
        self.calls.push(format!("clear {location}"));
        Ok(())
    }
    fn apply_job(&mut self, job: &SparkJob) -> Result<(), ShadowProblem> {
        let at = format!(
            "{}/{}",
            job.metadata.namespace.as_deref().unwrap_or("-"),
            job.metadata.name.as_deref().unwrap_or("-")
        );
        self.calls.push(format!("apply {at}"));
        Ok(())
    }
    fn wait_ended(
        &mut self,
        namespace: &str,
        name: &str,
        limit: Duration,
    ) -> Result<Option<SparkJobStatus>, ShadowProblem> {
        self.calls.push(format!("wait ended {namespace}/{name} {}s", limit.as_secs()));
        Ok(self.ended.clone())
    }
    fn status(&mut self, line: &str) {
        self.lines.push(line.to_owned());
    }
}

fn request(place: Place) -> ShadowRequest<'static> {
    ShadowRequest {
        place,
        env: None,
        to: "prod",
        job_file: Path::new("jobs/trips.yaml"),
        job_dir: Path::new("/w/jobs"),
        release: "trips-etl-staging-0123456789ab",
    }
}

fn problem_message(p: &ShadowProblem) -> (&'static str, &str, &str) {
    match p {
        ShadowProblem::Invalid(d) => ("invalid", d.code, d.message.as_str()),
        ShadowProblem::Unreachable(d) => ("unreachable", d.code, d.message.as_str()),
    }
}

#[test]
fn the_shadow_environment_is_the_flag_else_local_here_and_the_target_in_the_cluster() {
    let cases = [
        (Place::Local, None, "local"),
        (Place::Cluster, None, "prod"),
        (Place::Local, Some("staging"), "staging"),
        (Place::Cluster, Some("staging"), "staging"),
    ];
    for (place, env, want) in cases {
        assert_eq!(shadow_env(place, env, "prod"), want, "{place:?} {env:?}");
    }
}

#[test]
fn the_shadow_name_adds_the_suffix_and_is_refused_past_the_job_name_limit() {
    assert_eq!(shadow_name("trips-etl"), "trips-etl-shadow");
    let longest = "a".repeat(MAX_JOB_NAME - SHADOW_SUFFIX.len());
    assert_eq!(cluster_name(&longest).map_err(|_| ()), Ok(format!("{longest}-shadow")));
    let too_long = format!("{longest}b");
    let err = cluster_name(&too_long).expect_err("one character too long");
    let (kind, code, message) = problem_message(&err);
    assert_eq!((kind, code), ("invalid", "shadow-name"));
    assert!(message.contains(&format!("`{too_long}-shadow`")), "{message}");
}

#[test]
fn the_local_root_is_beside_the_job_file() {
    assert_eq!(local_root(Path::new("/w/jobs"), "r-1"), "/w/jobs/.sparkplane/shadow/r-1");
}

#[test]
fn the_cluster_root_is_in_the_first_outputs_bucket_with_its_scheme() {
    let root = |first: &str| cluster_root(first, "prod", "trips-etl-staging-0123456789ab").map_err(|_| ());
    assert_eq!(
        root("s3a://lake/curated/trips/"),
        Ok("s3a://lake/.sparkplane/shadow/trips-etl-staging-0123456789ab".to_owned())
    );
    assert_eq!(root("gs://b/x"), Ok("gs://b/.sparkplane/shadow/trips-etl-staging-0123456789ab".to_owned()));
    assert_eq!(root("data/curated/trips"), Err(()));
    assert_eq!(root("file:///tmp/x"), Err(()));
    assert_eq!(root("s3a:///no-bucket"), Err(()));
    assert_eq!(root(""), Err(()));
}

#[test]
fn the_shadow_job_runs_once_under_its_own_name_without_gates_labelled_with_job_and_release() {
    let job = resolved("trips-etl", "s3a://lake/curated/trips/");
    let shadow = shadow_job(&job, "r-1");
    assert_eq!(shadow.metadata.name.as_deref(), Some("trips-etl-shadow"));
    let labels = shadow.metadata.labels.clone().unwrap_or_default();
    assert_eq!(labels.get("sparkplane.dev/shadow-of").map(String::as_str), Some("trips-etl"));
    assert_eq!(labels.get("sparkplane.dev/release").map(String::as_str), Some("r-1"));
    assert_eq!(labels.get("team").map(String::as_str), Some("a"), "the job's own labels stay");
    assert_eq!(shadow.spec.schedule, None);
    assert_eq!(shadow.spec.suspend, None);
    assert!(shadow.spec.quality_gates.is_empty());
    assert!(shadow.spec.delivery.is_none());
    assert!(shadow.status.is_none());
    assert_eq!(shadow.spec.arguments, job.job.spec.arguments, "the rewrite leaves the arguments alone");
}

#[test]
fn a_job_without_a_shadow_declaration_is_refused_before_any_spec_is_loaded() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    host.job.job.spec.delivery = None;
    let err = plan(&request(Place::Local), &mut host).expect_err("no declaration");
    let (kind, code, message) = problem_message(&err);
    assert_eq!((kind, code), ("invalid", "no-shadow"));
    assert_eq!(message, "jobs/trips.yaml declares no shadow run (spec.delivery.shadow) for local");
    assert_eq!(host.calls, ["resolve local Local"]);
}

#[test]
fn a_cluster_plan_refuses_a_long_name_and_an_output_outside_object_storage() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    host.job.job.metadata.name = Some("a".repeat(MAX_JOB_NAME));
    let err = plan(&request(Place::Cluster), &mut host).expect_err("too long");
    assert_eq!(problem_message(&err).1, "shadow-name");
    // The same name is fine on this machine.
    assert!(plan(&request(Place::Local), &mut host).is_ok());

    let mut host = Fake::new("data/curated/trips");
    let err = plan(&request(Place::Cluster), &mut host).expect_err("a folder");
    assert_eq!(problem_message(&err).1, "shadow-output");
    assert!(!host.calls.iter().any(|c| c.starts_with("load")), "{:?}", host.calls);
}

#[test]
fn a_plan_redirects_each_output_under_the_root_named_by_its_spec() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let planned = plan(&request(Place::Cluster), &mut host).expect("a plan");
    assert_eq!(planned.env, "prod");
    assert_eq!(planned.root, "s3a://lake/.sparkplane/shadow/trips-etl-staging-0123456789ab");
    assert_eq!(planned.outputs.len(), 1);
    assert_eq!(planned.outputs[0].name, "trips-daily");
    assert_eq!(planned.outputs[0].location, format!("{}/trips-daily", planned.root));
    assert_eq!(planned.outputs[0].base, Path::new("/w/jobs/dq"));
    assert_eq!(planned.job.job.spec.arguments[3], planned.outputs[0].location);
    assert_eq!(planned.job.job.spec.arguments[1], "s3a://lake/raw/", "the input is not redirected");
    assert_eq!(host.calls, ["resolve prod Cluster", "load /w/jobs/dq/trips.yaml"]);

    let mut host = Fake::new("s3a://lake/curated/trips/");
    host.job.job.spec.arguments[3] = "s3a://lake/elsewhere/".into();
    let err = plan(&request(Place::Cluster), &mut host).expect_err("the output is not in the job");
    assert_eq!(problem_message(&err).1, "shadow-output");
}

fn planned(host: &mut Fake, place: Place) -> ShadowPlan {
    plan(&request(place), host).expect("a plan")
}

#[test]
fn no_current_output_means_no_run_is_made() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Cluster);
    host.current = None;
    host.calls.clear();
    let outcome = run(&p, &mut host).expect("an outcome");
    assert_eq!(
        outcome,
        ShadowOutcome::NoCurrentOutput { name: "trips-daily".into(), location: "s3a://lake/curated/trips/".into() }
    );
    assert_eq!(host.calls, ["observe trips-daily current"]);
}

#[test]
fn a_failed_local_run_is_the_outcome_and_no_candidate_is_read() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Local);
    host.local_failure = Some("Failed: exit code 1".into());
    host.calls.clear();
    let outcome = run(&p, &mut host).expect("an outcome");
    assert_eq!(outcome, ShadowOutcome::RunFailed { run_id: "run-1".into(), message: "Failed: exit code 1".into() });
    assert_eq!(
        host.calls,
        ["observe trips-daily current", "run here /w/jobs/.sparkplane/shadow/trips-etl-staging-0123456789ab"]
    );
}

#[test]
fn a_cluster_run_deletes_waits_clears_applies_waits_and_deletes_in_that_order() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Cluster);
    host.calls.clear();
    let outcome = run(&p, &mut host).expect("an outcome");
    let ShadowOutcome::Compared(outputs) = outcome else { panic!("compared: {outcome:?}") };
    assert_eq!(outputs.len(), 1);
    assert_eq!(outputs[0].current, "s3a://lake/curated/trips/");
    let location = "s3a://lake/.sparkplane/shadow/trips-etl-staging-0123456789ab/trips-daily";
    assert_eq!(outputs[0].candidate, location);
    assert_eq!(
        host.calls,
        [
            "observe trips-daily current".to_owned(),
            "delete etl/trips-etl-shadow".into(),
            "wait gone etl/trips-etl-shadow 120s".into(),
            format!("clear {location}"),
            "apply etl/trips-etl-shadow".into(),
            "wait ended etl/trips-etl-shadow 120s".into(),
            "delete etl/trips-etl-shadow".into(),
            "observe trips-daily candidate".into(),
        ]
    );
    assert_eq!(
        host.lines,
        ["shadow run: SparkJob etl/trips-etl-shadow applied; outputs under \
          s3a://lake/.sparkplane/shadow/trips-etl-staging-0123456789ab"]
    );
}

#[test]
fn an_earlier_shadow_job_that_never_goes_is_exit_3_with_nothing_cleared_or_applied() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Cluster);
    host.gone = false;
    host.calls.clear();
    let err = run(&p, &mut host).expect_err("still there");
    assert_eq!(
        problem_message(&err),
        ("unreachable", "shadow-run", "the earlier shadow SparkJob etl/trips-etl-shadow was not deleted within 120 s")
    );
    assert!(!host.calls.iter().any(|c| c.starts_with("clear") || c.starts_with("apply")), "{:?}", host.calls);
}

#[test]
fn no_operator_taking_up_the_shadow_job_is_exit_3() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Cluster);
    host.ended = None;
    let err = run(&p, &mut host).expect_err("no operator");
    let (kind, code, message) = problem_message(&err);
    assert_eq!((kind, code), ("unreachable", "shadow-run"));
    assert_eq!(message, "no operator took up the shadow SparkJob etl/trips-etl-shadow within 120 s");
    let ShadowProblem::Unreachable(d) = err else { unreachable!() };
    assert!(d.help.unwrap_or_default().contains("watches namespace etl"));
}

#[test]
fn a_failed_cluster_run_says_its_attempt_reason_and_message() {
    let cases = [
        (
            Some("OOMKilled"),
            Some("the driver ran out of memory"),
            Some(2),
            "Failed: OOMKilled: the driver ran out of memory",
            "attempt 2",
        ),
        (Some("ImagePullBackOff"), None, None, "Failed: ImagePullBackOff", "attempt 1"),
        (None, Some("gone"), Some(3), "Failed: gone", "attempt 3"),
        (None, None, None, "Failed", "attempt 1"),
    ];
    for (reason, message, attempt, want, want_attempt) in cases {
        let mut host = Fake::new("s3a://lake/curated/trips/");
        let p = planned(&mut host, Place::Cluster);
        host.ended = Some(SparkJobStatus {
            state: Some(JobState::Failed),
            reason: reason.map(str::to_owned),
            message: message.map(str::to_owned),
            attempt,
            ..SparkJobStatus::default()
        });
        let outcome = run(&p, &mut host).expect("an outcome");
        assert_eq!(
            outcome,
            ShadowOutcome::RunFailed {
                run_id: format!("sparkjob etl/trips-etl-shadow {want_attempt}"),
                message: want.into()
            }
        );
        assert!(!host.calls.iter().any(|c| c.contains("candidate")), "{:?}", host.calls);
    }
}

#[test]
fn a_shadow_job_that_cannot_be_deleted_afterwards_is_a_warning_not_a_failure() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Cluster);
    host.delete_fails_after_run = true;
    let outcome = run(&p, &mut host).expect("an outcome");
    assert!(matches!(outcome, ShadowOutcome::Compared(_)), "{outcome:?}");
    assert_eq!(
        host.lines.last().map(String::as_str),
        Some(
            "warning: the shadow SparkJob etl/trips-etl-shadow could not be deleted; delete it by hand \
             (kubectl delete sparkjob trips-etl-shadow -n etl)"
        )
    );
}

#[test]
fn a_missing_candidate_output_is_the_outcome() {
    let mut host = Fake::new("s3a://lake/curated/trips/");
    let p = planned(&mut host, Place::Local);
    host.candidate = None;
    let outcome = run(&p, &mut host).expect("an outcome");
    assert_eq!(
        outcome,
        ShadowOutcome::NoCandidateOutput {
            name: "trips-daily".into(),
            location: "/w/jobs/.sparkplane/shadow/trips-etl-staging-0123456789ab/trips-daily".into()
        }
    );
}

#[test]
fn a_local_current_output_is_found_under_its_specs_folder() {
    let output = ShadowOutput {
        name: "t".into(),
        spec: dq_spec("t", "../data/curated"),
        base: "/w/jobs/dq".into(),
        location: "x".into(),
    };
    assert_eq!(output.current_location(), "/w/jobs/dq/../data/curated");
    let remote = ShadowOutput { spec: dq_spec("t", "s3://b/t/"), ..output };
    assert_eq!(remote.current_location(), "s3://b/t/");
}

#[test]
fn the_report_says_how_the_run_ended_and_each_difference_against_its_bounds() {
    use crate::shadow::Difference;
    assert_eq!(report_json(None), serde_json::Value::Null);
    assert_eq!(report_lines(None), "");
    let failed = ShadowOutcome::RunFailed { run_id: "r".into(), message: "Failed".into() };
    assert_eq!(report_json(Some(&failed)), json!({"outcome": "run-failed", "run": "r", "message": "Failed"}));
    assert_eq!(report_lines(Some(&failed)), "");
    let missing = ShadowOutcome::NoCandidateOutput { name: "t".into(), location: "s3a://b/x".into() };
    assert_eq!(
        report_json(Some(&missing)),
        json!({"outcome": "no-candidate-output", "output": "t", "location": "s3a://b/x"})
    );
    let compared = ShadowOutcome::Compared(vec![
        OutputComparison { name: "same".into(), current: "a".into(), candidate: "b".into(), differences: vec![] },
        OutputComparison {
            name: "t".into(),
            current: "a".into(),
            candidate: "b".into(),
            differences: vec![
                Difference { what: "rows".into(), message: "152 rows".into(), within: false },
                Difference { what: "nulls(x)".into(), message: "0.1%".into(), within: true },
            ],
        },
    ]);
    assert_eq!(
        report_lines(Some(&compared)),
        "  shadow: `same` is the same as the current output\n  shadow: `t` rows: 152 rows (BEYOND BOUNDS)\n  \
         shadow: `t` nulls(x): 0.1% (within bounds)\n"
    );
    assert_eq!(
        report_json(Some(&compared))["outputs"][1]["differences"][0],
        json!({"what": "rows", "message": "152 rows", "withinBounds": false})
    );
}
