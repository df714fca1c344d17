//! Which CDEvent each delivery step emits, and its CloudEvents form. Owns the
//! mapping from sparkplane's steps (a run, a gate, CI, a release, a promotion,
//! a rollback) to the CDEvents vocabulary (spec 0.5, through `cdevents-sdk`),
//! the event ids, and the structured-mode JSON a sink receives. Pure: the
//! caller passes the time; sending is `sink`'s.

use cdevents_sdk::latest::{
    artifact_packaged, artifact_published, artifact_signed, incident_detected, service_deployed, service_rolledback,
    service_upgraded, taskrun_finished, taskrun_started, testcaserun_finished, testsuiterun_finished,
};
use cdevents_sdk::{CDEvent, Subject};
use sha2::{Digest, Sha256};

use sparkplane_api::dq::CheckSeverity;
use sparkplane_dq::{DqReport, Status as DqStatus};

use crate::ci_report::{CiReport, Outcome as CiOutcome};

/// The CDEvents spec version the events declare: `cdevents-sdk`'s `latest`
/// stamps 0.5.0 (0.5.1 changed only the schemas' `$id`s, not an event).
pub const SPEC_VERSION: &str = "0.5.0";

/// How a step ended, in CDEvents' words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// It did what it should.
    Success,
    /// It ran and found a problem (a failed job, gate, check or policy).
    Failure,
    /// It could not run (infrastructure, bad input).
    Error,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Error => "error",
        }
    }
}

/// What happened, with the names a reader of the event needs. Ids are
/// sparkplane's own stable names (a run id, a release id, `job/env`), so that
/// events about the same thing can be joined.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// A run of a job started (locally or in a cluster).
    RunStarted {
        /// The run's id.
        run: String,
        /// The job's name.
        job: String,
        /// Where the run can be seen (a Spark UI, a local run record), if anywhere.
        uri: Option<String>,
    },
    /// A run of a job ended.
    RunFinished {
        /// The run's id.
        run: String,
        /// The job's name.
        job: String,
        /// How it ended.
        outcome: Outcome,
        /// Why it failed, when it did.
        errors: Option<String>,
    },
    /// A suite of checks ended: a data-quality gate, or a CI run.
    SuiteFinished {
        /// The suite's stable id (e.g. `dq/orders-daily` or `ci/orders-daily`).
        suite: String,
        /// Its name for people.
        name: String,
        /// The environment it ran for.
        environment: String,
        /// How it ended.
        outcome: Outcome,
        /// Why it did not succeed, when it did not.
        reason: Option<String>,
    },
    /// One check of a suite ended.
    CaseFinished {
        /// The suite run's id (the `suite` of the matching [`Step::SuiteFinished`]).
        suite: String,
        /// The check's stable id within the suite.
        case: String,
        /// Its name for people.
        name: String,
        /// The environment it ran for.
        environment: String,
        /// How it ended.
        outcome: Outcome,
        /// Why it did not succeed, when it did not.
        reason: Option<String>,
    },
    /// A release record and its SBOM were written.
    ArtifactPackaged {
        /// The release's package URL (the artifact's id in CDEvents).
        artifact: String,
        /// The change it was built from (the source commit).
        commit: String,
        /// Where the SBOM is.
        sbom: Option<String>,
    },
    /// A release record was signed.
    ArtifactSigned {
        /// The release's package URL.
        artifact: String,
        /// The signature (base64).
        signature: String,
    },
    /// A release was stored where deployments read it.
    ArtifactPublished {
        /// The release's package URL.
        artifact: String,
        /// Who released it.
        user: Option<String>,
        /// Where the SBOM is.
        sbom: Option<String>,
    },
    /// A job was deployed to an environment for the first time.
    ServiceDeployed {
        /// The job's stable id (`<job>`).
        service: String,
        /// The environment.
        environment: String,
        /// The release's package URL.
        artifact: String,
    },
    /// A job in an environment moved to a newer release.
    ServiceUpgraded {
        /// The job's stable id.
        service: String,
        /// The environment.
        environment: String,
        /// The release's package URL.
        artifact: String,
    },
    /// A job in an environment went back to an earlier release.
    ServiceRolledBack {
        /// The job's stable id.
        service: String,
        /// The environment.
        environment: String,
        /// The release's package URL.
        artifact: String,
    },
    /// Something failed that someone should look at (a failed gate, a failed run).
    IncidentDetected {
        /// The incident's stable id (e.g. `<suite>/<time>`).
        incident: String,
        /// What failed, for people.
        description: String,
        /// The environment.
        environment: String,
        /// The job, when the incident is about one.
        service: Option<String>,
        /// The release, when known.
        artifact: Option<String>,
    },
}

/// Why an event could not be built (an id or URI CDEvents refuses: empty, or
/// not a URI reference). A bug or a bad name, never a reason to fail the step.
#[derive(Debug, thiserror::Error)]
#[error("cannot build the CDEvent for {what}: {reason}")]
pub struct EventError {
    what: &'static str,
    reason: String,
}

fn id(what: &'static str, value: &str) -> Result<cdevents_sdk::Id, EventError> {
    value.try_into().map_err(|e: cdevents_sdk::Error| EventError { what, reason: format!("{value:?}: {e}") })
}

fn uri_ref(what: &'static str, value: &str) -> Result<cdevents_sdk::UriReference, EventError> {
    value.try_into().map_err(|e: cdevents_sdk::Error| EventError { what, reason: format!("{value:?}: {e}") })
}

fn uri(what: &'static str, value: &str) -> Result<cdevents_sdk::Uri, EventError> {
    value.try_into().map_err(|e: cdevents_sdk::Error| EventError { what, reason: format!("{value:?}: {e}") })
}

fn non_empty(what: &'static str, value: &str) -> Result<cdevents_sdk::NonEmptyString, EventError> {
    value.try_into().map_err(|e: cdevents_sdk::Error| EventError { what, reason: format!("{value:?}: {e}") })
}

/// The package URL sparkplane gives a release: `pkg:generic/<job>@<release id>`
/// (a release is not an image or a library; `generic` is purl's type for that).
pub fn release_purl(job: &str, release: &str) -> String {
    format!("pkg:generic/{}@{}", purl_escape(job), purl_escape(release))
}

fn purl_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn suite_outcome(o: Outcome) -> testsuiterun_finished::ContentOutcome {
    match o {
        Outcome::Success => testsuiterun_finished::ContentOutcome::Success,
        Outcome::Failure => testsuiterun_finished::ContentOutcome::Failure,
        Outcome::Error => testsuiterun_finished::ContentOutcome::Error,
    }
}

fn case_outcome(o: Outcome) -> testcaserun_finished::ContentOutcome {
    match o {
        Outcome::Success => testcaserun_finished::ContentOutcome::Success,
        Outcome::Failure => testcaserun_finished::ContentOutcome::Failure,
        Outcome::Error => testcaserun_finished::ContentOutcome::Error,
    }
}

/// A suite's `testsuiterun.finished` content.
fn suite_finished(
    suite: &str,
    name: &str,
    environment: &str,
    outcome: Outcome,
    reason: Option<String>,
) -> Result<Subject, EventError> {
    Ok(Subject::from(testsuiterun_finished::Content {
        environment: testsuiterun_finished::ContentEnvironment {
            id: id("the environment", environment)?,
            source: None,
        },
        outcome: suite_outcome(outcome),
        reason,
        severity: (outcome != Outcome::Success).then_some(testsuiterun_finished::ContentSeverity::High),
        test_suite: Some(testsuiterun_finished::ContentTestSuite {
            id: id("the suite", suite)?,
            name: Some(name.to_owned()),
            uri: None,
            version: None,
        }),
    }))
}

/// A check's `testcaserun.finished` content, within its suite's run.
fn case_finished(
    suite: &str,
    case: &str,
    name: &str,
    environment: &str,
    outcome: Outcome,
    reason: Option<String>,
) -> Result<Subject, EventError> {
    Ok(Subject::from(testcaserun_finished::Content {
        environment: testcaserun_finished::ContentEnvironment { id: id("the environment", environment)?, source: None },
        outcome: case_outcome(outcome),
        reason,
        severity: (outcome != Outcome::Success).then_some(testcaserun_finished::ContentSeverity::High),
        test_case: Some(testcaserun_finished::ContentTestCase {
            id: id("the check", case)?,
            name: Some(name.to_owned()),
            ty: None,
            uri: None,
            version: None,
        }),
        test_suite_run: Some(testcaserun_finished::ContentTestSuiteRun { id: id("the suite", suite)?, source: None }),
    }))
}

fn subject(step: &Step, source: &cdevents_sdk::UriReference) -> Result<Subject, EventError> {
    let env = |what, e: &str| id(what, e);
    let (subject_id, subject): (&str, Subject) = match step {
        Step::RunStarted { run, job, uri: link } => (
            run,
            Subject::from(taskrun_started::Content {
                pipeline_run: None,
                task_name: Some(job.clone()),
                uri: link.as_deref().map(|u| uri("the run's uri", u)).transpose()?,
            }),
        ),
        Step::RunFinished { run, job, outcome, errors } => (
            run,
            Subject::from(taskrun_finished::Content {
                errors: errors.clone(),
                outcome: Some(outcome.as_str().to_owned()),
                pipeline_run: None,
                task_name: Some(job.clone()),
                uri: None,
            }),
        ),
        Step::SuiteFinished { suite, name, environment, outcome, reason } => {
            (suite, suite_finished(suite, name, environment, *outcome, reason.clone())?)
        }
        Step::CaseFinished { suite, case, name, environment, outcome, reason } => {
            (case, case_finished(suite, case, name, environment, *outcome, reason.clone())?)
        }
        Step::ArtifactPackaged { artifact, commit, sbom } => (
            artifact,
            Subject::from(artifact_packaged::Content {
                change: artifact_packaged::ContentChange { id: id("the commit", commit)?, source: None },
                sbom: sbom
                    .as_deref()
                    .map(|s| uri_ref("the SBOM", s).map(|uri| artifact_packaged::ContentSbom { uri }))
                    .transpose()?,
            }),
        ),
        Step::ArtifactSigned { artifact, signature } => {
            (artifact, Subject::from(artifact_signed::Content { signature: non_empty("the signature", signature)? }))
        }
        Step::ArtifactPublished { artifact, user, sbom } => (
            artifact,
            Subject::from(artifact_published::Content {
                sbom: sbom
                    .as_deref()
                    .map(|s| uri_ref("the SBOM", s).map(|uri| artifact_published::ContentSbom { uri }))
                    .transpose()?,
                user: user.as_deref().map(|u| non_empty("the user", u)).transpose()?,
            }),
        ),
        Step::ServiceDeployed { service, environment, artifact } => (
            service,
            Subject::from(service_deployed::Content {
                artifact_id: id("the release", artifact)?,
                environment: service_deployed::ContentEnvironment {
                    id: env("the environment", environment)?,
                    source: None,
                },
            }),
        ),
        Step::ServiceUpgraded { service, environment, artifact } => (
            service,
            Subject::from(service_upgraded::Content {
                artifact_id: id("the release", artifact)?,
                environment: service_upgraded::ContentEnvironment {
                    id: env("the environment", environment)?,
                    source: None,
                },
            }),
        ),
        Step::ServiceRolledBack { service, environment, artifact } => (
            service,
            Subject::from(service_rolledback::Content {
                artifact_id: id("the release", artifact)?,
                environment: service_rolledback::ContentEnvironment {
                    id: env("the environment", environment)?,
                    source: None,
                },
            }),
        ),
        Step::IncidentDetected { incident, description, environment, service, artifact } => (
            incident,
            Subject::from(incident_detected::Content {
                artifact_id: artifact.as_deref().map(|a| id("the release", a)).transpose()?,
                description: Some(description.clone()),
                environment: incident_detected::ContentEnvironment {
                    id: env("the environment", environment)?,
                    source: None,
                },
                service: service
                    .as_deref()
                    .map(|s| id("the job", s).map(|id| incident_detected::ContentService { id, source: None }))
                    .transpose()?,
            }),
        ),
    };
    Ok(subject.with_id(id("the subject", subject_id)?).with_source(source.clone()))
}

/// One check of a suite, as [`suite_steps`] reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CaseResult {
    /// The check's id, unique within the suite.
    pub id: String,
    /// Its name for people.
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
    /// Why it did not succeed, when it did not.
    pub reason: Option<String>,
    /// The environment the check ran for, when not the suite's.
    pub environment: Option<String>,
}

/// The events of one CI run: the suite `ci/<job>` for environment `ci`,
/// one case per check that ran (named `<check>` or `<check>@<environment>`),
/// skipped checks left out, and an incident when a check failed or erred.
pub fn ci_steps(report: &CiReport, at: jiff::Timestamp) -> Vec<Step> {
    let cases: Vec<CaseResult> = report
        .checks
        .iter()
        .filter(|c| c.outcome != CiOutcome::Skip)
        .map(|c| {
            let name = match &c.environment {
                Some(env) => format!("{}@{env}", c.name),
                None => c.name.clone(),
            };
            CaseResult {
                id: name.clone(),
                name,
                outcome: match c.outcome {
                    CiOutcome::Fail => Outcome::Failure,
                    CiOutcome::Error => Outcome::Error,
                    CiOutcome::Pass | CiOutcome::Skip => Outcome::Success,
                },
                reason: c.diagnostics.first().map(|d| d.message.clone()).or_else(|| c.summary.clone()),
                environment: c.environment.clone(),
            }
        })
        .collect();
    suite_steps(&format!("ci/{}", report.job), &report.job, "ci", Some(&report.job), &cases, at)
}

/// The CDEvents of one checked data-quality spec: a test case per check,
/// the suite (`dq/<spec name>`), and an incident when an error-severity
/// check failed. A failed warn-severity check passes, as it does for the
/// exit code.
pub fn dq_steps(report: &DqReport, environment: &str, job: Option<&str>, at: jiff::Timestamp) -> Vec<Step> {
    let cases: Vec<CaseResult> = report
        .checks
        .iter()
        .map(|c| CaseResult {
            id: c.name.clone(),
            name: c.name.clone(),
            outcome: match (c.status, c.severity) {
                (DqStatus::Fail, CheckSeverity::Error) => Outcome::Failure,
                _ => Outcome::Success,
            },
            reason: (c.status == DqStatus::Fail).then(|| c.message.clone()),
            environment: None,
        })
        .collect();
    suite_steps(&format!("dq/{}", report.spec), &report.spec, environment, job, &cases, at)
}

/// The events of one finished suite (a data-quality gate, a CI run): one
/// testcaserun.finished per check, then the testsuiterun.finished, then an
/// incident.detected when the suite did not succeed. The suite fails when a
/// check failed, errs when none failed but one erred, and succeeds otherwise.
pub fn suite_steps(
    suite: &str,
    name: &str,
    environment: &str,
    service: Option<&str>,
    cases: &[CaseResult],
    at: jiff::Timestamp,
) -> Vec<Step> {
    let outcome = if cases.iter().any(|c| c.outcome == Outcome::Failure) {
        Outcome::Failure
    } else if cases.iter().any(|c| c.outcome == Outcome::Error) {
        Outcome::Error
    } else {
        Outcome::Success
    };
    let not_ok: Vec<&str> = cases.iter().filter(|c| c.outcome != Outcome::Success).map(|c| c.name.as_str()).collect();
    let reason = (!not_ok.is_empty())
        .then(|| format!("{} of {} checks did not pass: {}", not_ok.len(), cases.len(), not_ok.join(", ")));
    let mut steps: Vec<Step> = cases
        .iter()
        .map(|c| Step::CaseFinished {
            suite: suite.to_owned(),
            case: format!("{suite}/{}", c.id),
            name: c.name.clone(),
            environment: c.environment.clone().unwrap_or_else(|| environment.to_owned()),
            outcome: c.outcome,
            reason: c.reason.clone(),
        })
        .collect();
    steps.push(Step::SuiteFinished {
        suite: suite.to_owned(),
        name: name.to_owned(),
        environment: environment.to_owned(),
        outcome,
        reason: reason.clone(),
    });
    if let Some(reason) = reason {
        steps.push(Step::IncidentDetected {
            incident: format!("{suite}/{}", at.as_second()),
            description: format!("{name}: {reason}"),
            environment: environment.to_owned(),
            service: service.map(str::to_owned),
            artifact: None,
        });
    }
    steps
}

/// Builds the CDEvent for `step`, emitted by `source` (a URI reference naming
/// the emitter, e.g. `/sparkplane/cli` or the operator's) at `at`.
///
/// The event id is derived from the event's content and time, so a retried
/// delivery carries the same id and a receiver can drop the duplicate.
pub fn event(step: &Step, source: &str, at: jiff::Timestamp) -> Result<CDEvent, EventError> {
    let source = uri_ref("the source", source)?;
    let subject = subject(step, &source)?;
    let timestamp = time::OffsetDateTime::from_unix_timestamp_nanos(at.as_nanosecond())
        .map_err(|e| EventError { what: "the time", reason: e.to_string() })?;
    let draft = CDEvent::from(subject).with_source(source).with_timestamp(timestamp);
    let mut hasher = Sha256::new();
    hasher.update(draft.ty().as_bytes());
    hasher.update(serde_json::to_vec(draft.subject()).unwrap_or_default());
    hasher.update(at.as_nanosecond().to_be_bytes());
    let digest = hasher.finalize();
    Ok(draft.with_id(id("the event id", &uuid_like(&digest))?))
}

/// A name-based UUID layout (version 8, RFC 9562's "custom") over a digest.
fn uuid_like(digest: &[u8]) -> String {
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}

/// The event in CloudEvents' structured JSON mode (`application/cloudevents+json`),
/// the CDEvent as its `data` — what a CDEvents broker or receiver takes over HTTP.
pub fn cloudevent_json(event: CDEvent) -> Result<Vec<u8>, EventError> {
    let cloud: cloudevents::Event = event
        .try_into()
        .map_err(|e: cloudevents::message::Error| EventError { what: "the CloudEvent", reason: e.to_string() })?;
    serde_json::to_vec(&cloud).map_err(|e| EventError { what: "the CloudEvent", reason: e.to_string() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> jiff::Timestamp {
        jiff::Timestamp::from_second(1_795_000_000).expect("a valid time")
    }

    fn json(step: &Step) -> serde_json::Value {
        let bytes = cloudevent_json(event(step, "/sparkplane/cli", at()).expect("event")).expect("json");
        serde_json::from_slice(&bytes).expect("valid JSON")
    }

    #[test]
    fn each_step_has_its_cdevents_type_and_subject() {
        let table: Vec<(Step, &str, &str)> = vec![
            (
                Step::RunStarted { run: "r1".into(), job: "orders".into(), uri: None },
                "dev.cdevents.taskrun.started.0.3.0",
                "r1",
            ),
            (
                Step::RunFinished {
                    run: "r1".into(),
                    job: "orders".into(),
                    outcome: Outcome::Failure,
                    errors: Some("oom".into()),
                },
                "dev.cdevents.taskrun.finished.0.3.0",
                "r1",
            ),
            (
                Step::SuiteFinished {
                    suite: "dq/orders".into(),
                    name: "orders".into(),
                    environment: "dev".into(),
                    outcome: Outcome::Success,
                    reason: None,
                },
                "dev.cdevents.testsuiterun.finished.0.3.0",
                "dq/orders",
            ),
            (
                Step::ServiceRolledBack {
                    service: "orders".into(),
                    environment: "prod".into(),
                    artifact: release_purl("orders", "orders-prod-0123"),
                },
                "dev.cdevents.service.rolledback.0.3.0",
                "orders",
            ),
        ];
        for (step, ty, subject) in table {
            let v = json(&step);
            assert_eq!(v["specversion"], "1.0", "{step:?}");
            assert_eq!(v["type"], ty, "{step:?}");
            assert_eq!(v["subject"], subject, "{step:?}");
            assert_eq!(v["data"]["context"]["specversion"], SPEC_VERSION, "{step:?}");
            assert_eq!(v["data"]["context"]["id"], v["id"], "{step:?}");
            assert_eq!(v["data"]["subject"]["id"], subject, "{step:?}");
        }
    }

    #[test]
    fn the_same_step_at_the_same_time_has_the_same_id_and_another_step_another() {
        let a = Step::RunStarted { run: "r1".into(), job: "orders".into(), uri: None };
        let b = Step::RunStarted { run: "r2".into(), job: "orders".into(), uri: None };
        assert_eq!(json(&a)["id"], json(&a)["id"]);
        assert_ne!(json(&a)["id"], json(&b)["id"]);
    }

    #[test]
    fn an_empty_id_is_refused_with_what_it_is() {
        let step = Step::RunStarted { run: String::new(), job: "orders".into(), uri: None };
        let err = event(&step, "/sparkplane/cli", at()).expect_err("empty id");
        assert!(err.to_string().starts_with("cannot build the CDEvent for the subject: \"\""), "{err}");
    }

    #[test]
    fn a_suite_fails_on_a_failed_check_and_then_reports_an_incident() {
        let case =
            |id: &str, outcome| CaseResult { id: id.into(), name: id.into(), outcome, reason: None, environment: None };
        let ok = suite_steps("dq/o", "o", "dev", None, &[case("a", Outcome::Success)], at());
        assert_eq!(ok.len(), 2);
        assert!(matches!(&ok[1], Step::SuiteFinished { outcome: Outcome::Success, reason: None, .. }));
        let cases = [case("a", Outcome::Error), case("b", Outcome::Failure), case("c", Outcome::Success)];
        let bad = suite_steps("dq/o", "o", "dev", Some("orders"), &cases, at());
        assert_eq!(bad.len(), 5);
        assert!(matches!(&bad[0], Step::CaseFinished { case, .. } if case == "dq/o/a"));
        match &bad[3] {
            Step::SuiteFinished { outcome, reason, .. } => {
                assert_eq!(*outcome, Outcome::Failure);
                assert_eq!(reason.as_deref(), Some("2 of 3 checks did not pass: a, b"));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(&bad[4], Step::IncidentDetected { incident, service: Some(s), .. }
            if incident == "dq/o/1795000000" && s == "orders"));
        let erred = suite_steps("dq/o", "o", "dev", None, &[case("a", Outcome::Error)], at());
        assert!(matches!(&erred[1], Step::SuiteFinished { outcome: Outcome::Error, .. }));
    }

    #[test]
    fn release_purls_escape_what_purl_reserves() {
        assert_eq!(release_purl("orders daily", "orders-prod-ab12"), "pkg:generic/orders%20daily@orders-prod-ab12");
    }

    #[test]
    fn a_dq_report_is_a_suite_whose_failed_warn_checks_pass_and_whose_failed_error_checks_fail() {
        let check = |name: &str, severity, status| sparkplane_dq::CheckResult {
            name: name.into(),
            kind: "notNull".into(),
            severity,
            status,
            message: format!("{name} says so"),
            observed: None,
            failing_rows: None,
            examples: Vec::new(),
        };
        let report = DqReport {
            spec: "trips".into(),
            selection: "all".into(),
            passed: false,
            files: 1,
            bytes: 1,
            rows: 1,
            row_groups_pruned: 0,
            checks: vec![
                check("ok", CheckSeverity::Error, DqStatus::Pass),
                check("ids", CheckSeverity::Error, DqStatus::Fail),
                check("soft", CheckSeverity::Warn, DqStatus::Fail),
            ],
            quarantine: None,
            spark: None,
        };
        let steps = dq_steps(&report, "prod", Some("trips-etl"), at());
        let cases: Vec<(&str, Outcome, Option<&str>)> = steps
            .iter()
            .filter_map(|s| match s {
                Step::CaseFinished { case, outcome, reason, .. } => Some((case.as_str(), *outcome, reason.as_deref())),
                _ => None,
            })
            .collect();
        assert_eq!(
            cases,
            [
                ("dq/trips/ok", Outcome::Success, None),
                ("dq/trips/ids", Outcome::Failure, Some("ids says so")),
                ("dq/trips/soft", Outcome::Success, Some("soft says so")),
            ]
        );
        assert!(
            matches!(&steps[3], Step::SuiteFinished { suite, outcome: Outcome::Failure, .. } if suite == "dq/trips")
        );
        assert!(matches!(&steps[4], Step::IncidentDetected { service: Some(s), .. } if s == "trips-etl"));
        assert_eq!(steps.len(), 5);
    }
}
