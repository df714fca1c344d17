//! From a SparkJob resource to what the operator runs: the same resolve,
//! validate, size, render and policy steps `sparkplane render` and
//! `submit` take, called here so the operator has no second path.
//!
//! [`prepare`] gives a small [`Plan`] (what the state machine needs, cheap
//! to keep for thousands of jobs) or a refusal; [`render_attempt`] renders
//! the native objects of one attempt when a driver is to be created.
//!
//! Owns: the operator's defaults and what the state machine keeps of a
//! loaded job. A resource becomes a job document and a resolved job in
//! `sparkplane_core::load` (re-exported here), the one path `promote` uses too. Must not: add rules of its
//! own — validity is validation's, refusals are policy's.

use std::time::Duration;

use sparkplane_api::SparkJob;
use sparkplane_api::dq::DqEngine;
use sparkplane_api::layer::EnvironmentPolicy;

use crate::cause::{Cause, RetryRule};
use sparkplane_core::catalog::Catalog;
pub use sparkplane_core::load::{job_document, resolve_resource};
use sparkplane_core::render::connect::ConnectNames;
use sparkplane_core::render::quality_gates::GateEngine;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::sizing::{SizedJob, size_job};
use sparkplane_core::spark_connect::GRPC_PORT;
use sparkplane_policy::{self as policy, PolicyContext, PolicySeverity};

/// What the operator is configured with: the platform's presets and
/// environments and its defaults.
#[derive(Clone, Debug)]
pub struct Platform {
    /// Presets and environments (built-in plus `--platform-dir`).
    pub catalog: Catalog,
    /// How long a driver may take to start when the job sets no `timeouts.driverStart`.
    pub default_driver_start: Duration,
    /// The `sparkplane` image that checks a run's quality gates in the cluster.
    pub gate_image: String,
}

impl Platform {
    /// The built-in catalog with the default driver start timeout (10 minutes).
    pub fn builtin() -> Result<Platform, sparkplane_documents::Diagnostics> {
        Ok(Platform {
            catalog: Catalog::builtin()?,
            default_driver_start: DEFAULT_DRIVER_START,
            gate_image: DEFAULT_GATE_IMAGE.to_owned(),
        })
    }
}

/// The image quality gates are checked with when the operator is given none: this version's release image.
pub const DEFAULT_GATE_IMAGE: &str = concat!("ghcr.io/sparkplane/sparkplane:", env!("CARGO_PKG_VERSION"));

/// Driver start timeout when neither the job nor the operator sets one.
pub const DEFAULT_DRIVER_START: Duration = Duration::from_secs(600);

/// What the state machine needs to know of a job's spec.
#[derive(Clone, Debug, PartialEq)]
pub struct Plan {
    /// Short hash of the resolved spec (`sparkplane.dev/spec-hash`).
    pub spec_hash: String,
    /// `spec.suspend`.
    pub suspend: bool,
    /// `spec.restartPolicy`.
    pub retry: RetryRule,
    /// `timeouts.driverStart`, or the platform default.
    pub driver_start: Duration,
    /// `timeouts.executorStart`.
    pub executor_start: Option<Duration>,
    /// `timeouts.maxDuration`.
    pub max_duration: Option<Duration>,
    /// `ttlAfterFinished`.
    pub ttl: Option<Duration>,
    /// Executors the application starts with (driver-running → running once one runs; 0: at once).
    pub initial_executors: u32,
    /// What the run holds while it is admitted: the driver and its first executors.
    pub admission: SizedJob,
    /// `spec.priorityClassName`.
    pub priority_class: Option<String>,
    /// The Kueue LocalQueue the resolved job names: its own `spec.queue`, a
    /// layer's, or its tenant's (ADR 0079); None: Kueue's `default`.
    pub queue: Option<String>,
    /// `spec.schedule`, for jobs that start runs on a schedule.
    pub schedule: Option<sparkplane_api::job::Schedule>,
    /// A `type: Connect` job's server (None for an application): run by
    /// the Connect decisions (`operator::connect`) instead of the run state machine.
    pub server: Option<ServerPlan>,
    /// `spec.qualityGates`: checked in the cluster after the driver succeeds.
    pub quality_gates: Vec<PlannedGate>,
}

/// One of a job's quality gates, as the operator checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedGate {
    /// The spec path the job names (`spec.qualityGates[n].spec`), for messages.
    pub spec: String,
    /// Whether its failure fails the run (the default).
    pub blocking: bool,
    /// Whether `apply` embedded its data-quality spec (`definition`): without it the gate cannot be checked.
    pub embedded: bool,
    /// Its spec's `engine` (native when it names none).
    pub engine: DqEngine,
    /// `engine: auto`'s threshold in bytes (`sparkAbove`, or the default).
    pub spark_above: u64,
    /// Its dataset's location (`dataset.path`), which the operator lists for
    /// the dataset's size when the engine is `spark` or `auto` (ADR 0063).
    pub dataset: String,
}

impl PlannedGate {
    /// The gate of `spec.qualityGates[n]`, `gate`, as the operator plans it.
    pub fn of(gate: &sparkplane_api::job::QualityGate) -> PlannedGate {
        let definition = gate.definition.as_deref();
        PlannedGate {
            spec: gate.spec.clone(),
            blocking: gate.is_blocking(),
            embedded: definition.is_some(),
            engine: definition.and_then(|d| d.engine).unwrap_or_default(),
            spark_above: definition.map_or(sparkplane_api::dq::DEFAULT_SPARK_ABOVE, |d| d.spark_threshold()),
            dataset: definition.map(|d| d.dataset.path.clone()).unwrap_or_default(),
        }
    }

    /// Whether the engine choice needs the dataset's size: `spark` (sized by
    /// it) or `auto` (decided by it).
    pub fn needs_size(&self) -> bool {
        self.embedded && self.engine != DqEngine::Native
    }
}

/// What the operator needs to know of a `type: Connect` server (its
/// decisions are `operator::connect`'s) besides the run plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServerPlan {
    /// The StatefulSet (and client Service): `<job>-connect`.
    pub stateful_set: String,
    /// Its one pod: `<job>-connect-0`.
    pub pod: String,
    /// Where clients connect: `sc://<job>-connect.<namespace>.svc:15002`.
    pub endpoint: String,
    /// `spec.connect.idleTimeout`.
    pub idle_timeout: Option<Duration>,
    /// `spec.eventLog.dir` when event logs are on: where activity is read from.
    pub event_log_dir: Option<String>,
}

/// The server plan of a resolved job (None unless it is `type: Connect`).
pub fn server_plan(resolved: &ResolvedJob) -> Option<ServerPlan> {
    let spec = &resolved.job.spec;
    if spec.app_type != Some(sparkplane_api::job::AppType::Connect) {
        return None;
    }
    let sized = size_job(spec);
    let names = ConnectNames::of(&RenderInput { job: resolved, sized: &sized });
    let event_log = spec.event_log.as_ref().filter(|log| log.enabled != Some(false));
    Some(ServerPlan {
        endpoint: format!("sc://{}.{}.svc:{}", names.server, resolved.namespace(), GRPC_PORT),
        stateful_set: names.server,
        pod: names.driver_pod,
        idle_timeout: spec.connect.as_ref().and_then(|c| c.idle_timeout).map(|d| d.to_std()),
        event_log_dir: event_log.and_then(|log| log.dir.clone()),
    })
}

/// The outcome of [`prepare`].
#[derive(Clone, Debug, PartialEq)]
pub enum Prepared {
    /// The job can run.
    Ready(Box<Plan>),
    /// The job cannot run as written.
    Refused {
        /// [`Cause::InvalidSpec`] or [`Cause::PolicyDenied`].
        cause: Cause,
        /// Every problem, one per line (`spec.x: what is wrong (fix: …)`).
        message: String,
    },
}

fn lines<'a>(items: impl Iterator<Item = (&'a str, &'a str, Option<&'a str>)>) -> String {
    items
        .map(|(path, message, fix)| {
            let mut line = if path.is_empty() { message.to_owned() } else { format!("{path}: {message}") };
            if let Some(fix) = fix {
                line.push_str(&format!(" (fix: {fix})"));
            }
            line
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The native objects of `attempt`, exactly as `submit` renders them.
pub fn render_resolved(resolved: &ResolvedJob, attempt: u32) -> Vec<RenderedObject> {
    let mut job = resolved.clone();
    job.attempt = attempt.max(1);
    render::size_and_render(&job, Target::Native)
}

/// Resolves, validates, sizes, renders attempt 1 and checks the built-in
/// policies of the job's environment. Approvals, budgets and custom Rego
/// policies are checked where their records live — by `sparkplane apply`
/// and the cluster's admission — not here.
pub fn prepare(job: &SparkJob, platform: &Platform) -> Prepared {
    let resolved = match resolve_resource(job, &platform.catalog) {
        Ok(resolved) => resolved,
        Err(diagnostics) => {
            let message = lines(diagnostics.errors().map(|d| (d.path.as_str(), d.message.as_str(), d.help.as_deref())));
            return Prepared::Refused { cause: Cause::InvalidSpec, message };
        }
    };
    let objects = render_resolved(&resolved, 1);
    // The one reading of an environment's `policy:` block, as `policy check` and `apply` read it.
    let config =
        match resolved.environment.as_deref().map(|env| policy::inputs::environment_policy(&platform.catalog, env)) {
            None => EnvironmentPolicy::default(),
            Some(Ok(config)) => config,
            Some(Err(d)) => {
                return Prepared::Refused { cause: Cause::InvalidSpec, message: format!("{}: {}", d.path, d.message) };
            }
        };
    let mut ctx = PolicyContext { environment: resolved.environment.as_deref(), ..PolicyContext::default() };
    ctx.configure(&config);
    // Approvals are the CLI's to check: the operator sees no approval records.
    ctx.required_approvals = 0;
    let verdict = match policy::check(&resolved, &objects, &ctx, None, &config) {
        Ok(verdict) => verdict,
        Err(diagnostics) => {
            let message = lines(diagnostics.errors().map(|d| (d.path.as_str(), d.message.as_str(), d.help.as_deref())));
            return Prepared::Refused { cause: Cause::PolicyDenied, message };
        }
    };
    let denied: Vec<_> = verdict.violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).collect();
    if !denied.is_empty() {
        let message = lines(denied.iter().map(|v| (v.path.as_str(), v.message.as_str(), Some(v.fix()))));
        return Prepared::Refused { cause: Cause::PolicyDenied, message };
    }
    let mut plan = plan_of(&resolved, platform);
    plan.suspend = job.spec.suspend.unwrap_or(false);
    Prepared::Ready(Box::new(plan))
}

/// The plan of a resolved job.
pub fn plan_of(resolved: &ResolvedJob, platform: &Platform) -> Plan {
    let spec = &resolved.job.spec;
    let timeouts = spec.timeouts.as_ref();
    let mut admission = size_job(spec);
    admission.executors.max = admission.executors.initial;
    Plan {
        spec_hash: resolved.short_hash(),
        suspend: spec.suspend.unwrap_or(false),
        retry: RetryRule::of(spec),
        driver_start: timeouts.and_then(|t| t.driver_start).map_or(platform.default_driver_start, |d| d.to_std()),
        executor_start: timeouts.and_then(|t| t.executor_start).map(|d| d.to_std()),
        max_duration: timeouts.and_then(|t| t.max_duration).map(|d| d.to_std()),
        ttl: spec.ttl_after_finished.map(|d| d.to_std()),
        initial_executors: admission.executors.initial,
        admission,
        priority_class: spec.priority_class_name.clone(),
        queue: spec.queue.clone(),
        schedule: spec.schedule.clone(),
        server: server_plan(resolved),
        quality_gates: spec.quality_gates.iter().map(PlannedGate::of).collect(),
    }
}

/// The quality-gate check of `attempt`, rendered by the one render path with
/// `image` as the `sparkplane` image: its ConfigMap and Job when every gate
/// runs with the native engine, else its check application (ConfigMap and
/// Pod, ADR 0063), each gate run with the engine `engines` gives it.
pub fn render_gate_check(
    resolved: &ResolvedJob,
    attempt: u32,
    image: &str,
    engines: &[GateEngine],
) -> Vec<RenderedObject> {
    let mut job = resolved.clone();
    job.attempt = attempt.max(1);
    let sized = size_job(&job.job.spec);
    let input = RenderInput { job: &job, sized: &sized };
    if engines.iter().any(|e| matches!(e, GateEngine::Spark { .. })) {
        render::quality_gates::render_application(&input, image, engines)
    } else {
        render::quality_gates::render(&input, image)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn job(spec: Value) -> SparkJob {
        serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": "trips", "namespace": "data", "uid": "u-1", "resourceVersion": "42",
                         "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
            "spec": spec,
        }))
        .expect("a SparkJob")
    }

    fn good_spec() -> Value {
        json!({
            "team": "data-eng", "costCenter": "cc-42", "type": "Python", "mainApplicationFile": "local:///opt/app/main.py",
            "sparkVersion": "3.5.3", "image": {"repository": "registry.example.com/spark/py", "tag": "3.5.3"},
            "eventLog": {"enabled": true, "dir": "s3a://spark-events/data-eng"},
            "executor": {"instances": 2, "memory": "2g", "cores": 1},
            "timeouts": {"driverStart": "2m", "maxDuration": "1h"},
            "restartPolicy": {"type": "OnFailure", "retries": 2},
        })
    }

    #[test]
    fn a_good_job_is_planned_with_its_timeouts_and_admission_size() {
        let platform = Platform::builtin().expect("catalog");
        let plan = match prepare(&job(good_spec()), &platform) {
            Prepared::Ready(plan) => plan,
            Prepared::Refused { message, .. } => panic!("refused: {message}"),
        };
        assert_eq!(plan.driver_start, Duration::from_secs(120));
        assert_eq!(plan.max_duration, Some(Duration::from_secs(3600)));
        assert_eq!(plan.executor_start, None);
        assert_eq!(plan.initial_executors, 2);
        assert_eq!(plan.admission.executors.max, 2);
        assert_eq!(plan.retry.retries, 2);
        assert_eq!(plan.spec_hash.len(), 8);
    }

    #[test]
    fn server_metadata_and_status_do_not_change_the_spec_hash() {
        let platform = Platform::builtin().expect("catalog");
        let mut second = job(good_spec());
        second.metadata.resource_version = Some("99".into());
        second.metadata.generation = Some(7);
        second.status = Some(sparkplane_api::job::SparkJobStatus { attempt: Some(3), ..Default::default() });
        let (Prepared::Ready(a), Prepared::Ready(b)) =
            (prepare(&job(good_spec()), &platform), prepare(&second, &platform))
        else {
            panic!("ready")
        };
        assert_eq!(a.spec_hash, b.spec_hash);
    }

    #[test]
    fn a_connect_server_is_planned_with_its_endpoint_and_idle_timeout() {
        let platform = Platform::builtin().expect("catalog");
        let mut spec = good_spec();
        let fields = spec.as_object_mut().expect("object");
        fields.remove("mainApplicationFile");
        fields.insert("type".into(), json!("Connect"));
        fields.insert("sparkVersion".into(), json!("4.0.1"));
        fields.insert("connect".into(), json!({"idleTimeout": "30m"}));
        let plan = match prepare(&job(spec), &platform) {
            Prepared::Ready(plan) => plan,
            Prepared::Refused { message, .. } => panic!("refused: {message}"),
        };
        assert_eq!(
            plan.server,
            Some(ServerPlan {
                stateful_set: "trips-connect".into(),
                pod: "trips-connect-0".into(),
                endpoint: "sc://trips-connect.data.svc:15002".into(),
                idle_timeout: Some(Duration::from_secs(1800)),
                event_log_dir: Some("s3a://spark-events/data-eng".into()),
            })
        );
        let Prepared::Ready(application) = prepare(&job(good_spec()), &platform) else { panic!("ready") };
        assert_eq!(application.server, None);
    }

    #[test]
    fn invalid_and_denied_jobs_are_refused_with_every_problem() {
        let platform = Platform::builtin().expect("catalog");
        let mut spec = good_spec();
        spec["executor"]["memory"] = json!("100m");
        spec.as_object_mut().map(|m| m.remove("image"));
        let Prepared::Refused { cause, message } = prepare(&job(spec), &platform) else { panic!("refused") };
        assert_eq!(cause, Cause::InvalidSpec);
        assert!(message.contains("spec.image"), "{message}");
        assert!(message.contains("spec.executor.memory"), "{message}");
        assert!(message.lines().count() >= 2, "{message}");

        let mut unowned = good_spec();
        unowned.as_object_mut().map(|m| m.remove("costCenter"));
        assert_eq!(
            prepare(&job(unowned), &platform),
            Prepared::Refused {
                cause: Cause::PolicyDenied,
                message: "spec.costCenter: the job names no cost center (fix: set spec.team and spec.costCenter)"
                    .into()
            }
        );
    }
}
