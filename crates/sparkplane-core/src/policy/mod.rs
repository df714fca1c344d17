//! The policy engine: the platform's rules checked over a resolved job and
//! the Kubernetes objects rendered from it, with one [`Verdict`].
//!
//! Owns: the catalogue of built-in policies (stable kebab-case ids, severity,
//! rationale, fix) and their evaluation ([`evaluate`]); custom Rego policies
//! ([`rego`], evaluated with regorus over one documented input document);
//! per-environment configuration (disabled ids, severity overrides) applied
//! to both alike ([`check`]); approval records ([`approval`]); the Gatekeeper
//! export of the Rego policies ([`gatekeeper`]); and the report formats
//! ([`report`]: text, JSON, SARIF 2.1.0, JUnit XML) as pure functions.
//!
//! Must not: read files, talk to a cluster, read event logs or look at the
//! clock. Everything it needs from the outside (environment, approval
//! records, the tenant, the month's spend, allowed registries, the platform's
//! maximum run time) comes in a [`PolicyContext`]. It must not size pods or
//! fit them itself: memory numbers come from [`crate::sizing::size_job`] and
//! the quota check from [`crate::fit`], the one sizing and fit model.

pub mod admission;
pub mod approval;
pub mod gatekeeper;
pub mod rego;
pub mod report;

use k8s_openapi::api::core::v1::ResourceQuota;
use serde_json::Value;
use sparkplane_api::layer::{EnvironmentPolicy, PolicySeverityName};
use sparkplane_api::tenant::Tenant;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::image::{ImageRef, registry_of};
use crate::render::RenderedObject;
use crate::resolved::ResolvedJob;
use crate::secrets::{InlineSecret, inline_secrets};
use crate::sizing::{MIN_OVERHEAD, size_job};
use crate::source::Span;
use crate::yaml::{FieldPath, parse_single};

pub use approval::{Approval, ApprovalStanding, approval_standing};
pub use report::{SARIF_SCHEMA, to_json, to_junit, to_sarif, to_text};

/// What breaking a policy does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum PolicySeverity {
    /// The job is refused (exit 1) unless policies run in audit mode.
    Deny,
    /// Reported; the job goes on.
    Warn,
}

impl PolicySeverity {
    /// `deny` or `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicySeverity::Deny => "deny",
            PolicySeverity::Warn => "warn",
        }
    }
}

impl From<PolicySeverityName> for PolicySeverity {
    fn from(name: PolicySeverityName) -> Self {
        match name {
            PolicySeverityName::Deny => PolicySeverity::Deny,
            PolicySeverityName::Warn => PolicySeverity::Warn,
        }
    }
}

/// One rule of the platform: built in, or declared by a Rego policy file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Stable kebab-case id, used in reports, SARIF rule ids and configuration.
    pub id: Cow<'static, str>,
    /// Deny or warn (after the environment's overrides, in a [`Verdict`]).
    pub severity: PolicySeverity,
    /// One line: what the policy asks for.
    pub title: Cow<'static, str>,
    /// Why the platform asks for it.
    pub rationale: Cow<'static, str>,
    /// How to comply.
    pub fix: Cow<'static, str>,
    /// The Rego file that declares it; `None` for a built-in.
    pub origin: Option<String>,
}

impl Policy {
    const fn builtin(
        id: &'static str,
        severity: PolicySeverity,
        title: &'static str,
        rationale: &'static str,
        fix: &'static str,
    ) -> Policy {
        Policy {
            id: Cow::Borrowed(id),
            severity,
            title: Cow::Borrowed(title),
            rationale: Cow::Borrowed(rationale),
            fix: Cow::Borrowed(fix),
            origin: None,
        }
    }

    /// The id as a `'static` string, for built-ins (diagnostic codes are static).
    pub fn static_id(&self) -> Option<&'static str> {
        match self.id {
            Cow::Borrowed(id) => Some(id),
            Cow::Owned(_) => None,
        }
    }
}

/// Privileged or root containers.
pub const PRIVILEGED_OR_ROOT: &str = "privileged-or-root";
/// hostNetwork, hostPID or hostIPC.
pub const HOST_NAMESPACES: &str = "host-namespaces";
/// hostPath volumes.
pub const HOST_PATH_VOLUMES: &str = "host-path-volumes";
/// Containers without CPU and memory requests or a memory limit.
pub const RESOURCE_REQUESTS: &str = "resource-requests";
/// More than 5 cores per executor.
pub const EXECUTOR_CORES: &str = "executor-cores";
/// Memory overhead below 10 % of heap or below 384 MiB.
pub const MEMORY_OVERHEAD: &str = "memory-overhead";
/// Prod images must be pinned by digest.
pub const IMAGE_DIGEST_IN_PROD: &str = "image-digest-in-prod";
/// No `:latest` and no untagged images.
pub const IMAGE_TAG: &str = "image-tag";
/// Images only from allowed registries.
pub const IMAGE_REGISTRY: &str = "image-registry";
/// Runs no longer than the platform maximum.
pub const MAX_DURATION: &str = "max-duration";
/// Every job sets a maximum run time.
pub const MAX_DURATION_UNSET: &str = "max-duration-unset";
/// Every job names its team and cost center.
pub const OWNERSHIP: &str = "team-and-cost-center";
/// Job names follow the naming convention.
pub const NAMING: &str = "naming-convention";
/// No credentials written inline.
pub const INLINE_SECRETS: &str = "inline-secrets";
/// Deploys to approval-gated environments need approvals of the exact resolved spec.
pub const APPROVAL_REQUIRED: &str = "approval-required";
/// The job at its largest fits the tenant's ResourceQuota.
pub const QUOTA_FIT: &str = "quota-fit";
/// The tenant has spent its budget's warning share this month.
pub const BUDGET_WARNING: &str = "budget-warning";
/// The tenant has spent its budget's critical share this month.
pub const BUDGET_CRITICAL: &str = "budget-critical";

static POLICIES: [Policy; 18] = [
    Policy::builtin(
        PRIVILEGED_OR_ROOT,
        PolicySeverity::Deny,
        "containers must not be privileged or run as root",
        "a privileged or root container can take over the node it runs on and every tenant's pods there",
        "remove `privileged: true` and `runAsUser: 0` from pod templates; Spark images run as uid 185",
    ),
    Policy::builtin(
        HOST_NAMESPACES,
        PolicySeverity::Deny,
        "pods must not share the host's network, PID or IPC namespace",
        "host namespaces let a pod see and reach other tenants' processes and traffic on the node",
        "remove hostNetwork, hostPID and hostIPC from pod templates",
    ),
    Policy::builtin(
        HOST_PATH_VOLUMES,
        PolicySeverity::Deny,
        "pods must not mount hostPath volumes",
        "a hostPath volume exposes the node's file system and ties the pod to one node",
        "use emptyDir for scratch space, a PVC for data, or object storage",
    ),
    Policy::builtin(
        RESOURCE_REQUESTS,
        PolicySeverity::Deny,
        "every container requests CPU and memory and limits memory",
        "pods without requests are scheduled blind and evicted first; without a memory limit one pod can starve a node",
        "give every sidecar and init container resources.requests.cpu, requests.memory and limits.memory (Spark sizes its own containers)",
    ),
    Policy::builtin(
        EXECUTOR_CORES,
        PolicySeverity::Warn,
        "executors use at most 5 cores",
        "above about 5 concurrent tasks per executor, HDFS/S3 client throughput and GC pauses usually get worse",
        "use at most 5 cores per executor and more executors",
    ),
    Policy::builtin(
        MEMORY_OVERHEAD,
        PolicySeverity::Deny,
        "memory overhead is at least 10 % of the heap and at least 384 MiB",
        "too little overhead gets containers OOM-killed by the kernel, outside the JVM's control",
        "remove memoryOverhead to use Spark's rule, or raise it to max(384m, 10 % of memory)",
    ),
    Policy::builtin(
        IMAGE_DIGEST_IN_PROD,
        PolicySeverity::Deny,
        "prod images are pinned by digest",
        "a tag can be moved; only a digest guarantees prod runs the image that was tested and approved",
        "set spec.image.digest (sha256:…) in the prod overlay",
    ),
    Policy::builtin(
        IMAGE_TAG,
        PolicySeverity::Deny,
        "images have an explicit tag other than `latest` (or a digest)",
        "`latest` and untagged images change under the job: reruns are not reproducible",
        "set spec.image.tag to a release version, or pin a digest",
    ),
    Policy::builtin(
        IMAGE_REGISTRY,
        PolicySeverity::Deny,
        "images come from an allowed registry",
        "only the platform's registries are scanned, mirrored and trusted",
        "push the image to an allowed registry and point spec.image.repository at it",
    ),
    Policy::builtin(
        MAX_DURATION,
        PolicySeverity::Deny,
        "maxDuration is within the platform maximum",
        "runaway jobs hold quota and cost money; the platform caps how long one run may take",
        "lower spec.timeouts.maxDuration, or split the job",
    ),
    Policy::builtin(
        MAX_DURATION_UNSET,
        PolicySeverity::Warn,
        "jobs set a maxDuration",
        "without a deadline a stuck job runs until someone notices",
        "set spec.timeouts.maxDuration (a preset sets one for you)",
    ),
    Policy::builtin(
        OWNERSHIP,
        PolicySeverity::Deny,
        "jobs name their team and cost center",
        "costs, quotas and alerts are routed by team and cost-center labels",
        "set spec.team and spec.costCenter",
    ),
    Policy::builtin(
        NAMING,
        PolicySeverity::Deny,
        "job names follow the naming convention",
        "names that start with the team keep namespaces, dashboards and alerts readable",
        "rename the job to `<team>-<purpose>`",
    ),
    Policy::builtin(
        INLINE_SECRETS,
        PolicySeverity::Deny,
        "credentials are referenced, never written inline",
        "inline values end up in ConfigMaps, pod specs and Git, readable by anyone who can read those",
        "store the value in a Secret and reference it with secretKeyRef, or use a credentials provider",
    ),
    Policy::builtin(
        APPROVAL_REQUIRED,
        PolicySeverity::Deny,
        "deploys to approval-gated environments carry enough approvals of the exact spec",
        "an approval is for one resolved spec; any change needs a new review",
        "run `sparkplane approve JOB --env ENV --by NAME` for the spec you deploy (its hash is in the message) and deploy that spec unchanged",
    ),
    Policy::builtin(
        QUOTA_FIT,
        PolicySeverity::Deny,
        "the job at its largest fits the tenant's ResourceQuota",
        "a job that cannot fit its namespace's quota leaves pods Pending or executors never started",
        "lower the executor count or pod sizes (the message says how far), or ask for more quota in the tenant file",
    ),
    Policy::builtin(
        BUDGET_WARNING,
        PolicySeverity::Warn,
        "the tenant is below its budget's warning share this month",
        "spending is reported by team so budgets are noticed before they run out",
        "check `sparkplane cost` for what is spending; tune or reschedule the biggest jobs",
    ),
    Policy::builtin(
        BUDGET_CRITICAL,
        PolicySeverity::Warn,
        "the tenant is below its budget's critical share this month",
        "past the critical share, new runs overspend the month's budget (environments may make this deny to block them)",
        "raise `spec.budget.monthly` in the tenant file, or wait for next month (`sparkplane cost DIR --by team` shows what spent it); `--policy-mode audit` lets one urgent run through, and `budget.blockOnCritical: false` makes a breach only warn",
    ),
];

/// Every built-in policy, in a stable order.
pub fn builtin_policies() -> &'static [Policy] {
    &POLICIES
}

/// The built-in policy with this id.
pub fn policy(id: &str) -> Option<&'static Policy> {
    POLICIES.iter().find(|p| p.id == id)
}

/// The platform maximum run time when none is configured: 24 hours.
pub const DEFAULT_MAX_DURATION: sparkplane_api::Duration = sparkplane_api::Duration::from_secs(24 * 3600);

/// Most cores per executor before [`EXECUTOR_CORES`] warns.
pub const MAX_EXECUTOR_CORES: u32 = 5;

/// The tenant's spend this month against its budget, as the cost ledger
/// judged it (the event-log engine computes it; the policy only reports it).
#[derive(Clone, Debug, PartialEq)]
pub struct BudgetReading {
    /// The tenant whose budget it is (`metadata.name`).
    pub tenant: String,
    /// The team the budget belongs to (the spend is the ledger's row for it).
    pub team: String,
    /// Spent so far this month, in the price sheet's currency.
    pub spent: f64,
    /// The monthly budget.
    pub monthly: f64,
    /// Spent as a percent of the budget; `None` for a zero budget.
    pub percent: Option<f64>,
    /// At or above the warning share.
    pub warning: bool,
    /// At or above the critical share.
    pub critical: bool,
    /// The window the spend covers, in words (`since 2026-11-01`).
    pub window: String,
    /// Whether a critical breach may block (the tenant's
    /// `budget.blockOnCritical`, default true). When false,
    /// [`BUDGET_CRITICAL`] stays a warning whatever the environment says.
    pub blocks_on_critical: bool,
}

/// What the policies are evaluated against, beyond the job itself.
#[derive(Clone, Debug, PartialEq)]
pub struct PolicyContext<'a> {
    /// The environment deployed to (`prod` turns on digest pinning).
    pub environment: Option<&'a str>,
    /// The platform's longest allowed run.
    pub max_duration: sparkplane_api::Duration,
    /// Allowed registries or repository prefixes (`registry.example.com`,
    /// `registry.example.com/data-eng`); empty allows any.
    pub allowed_registries: Vec<String>,
    /// Whether job names must start with `<team>-`. (DNS-label names of at
    /// most 38 characters are already enforced by validation.)
    pub require_team_prefix: bool,
    /// Approvals of the exact resolved spec the deploy needs (0: none).
    pub required_approvals: u32,
    /// The approval records found for this job (any spec, any environment).
    pub approvals: Vec<Approval>,
    /// The tenant the job runs under, when known: its quota is checked
    /// ([`QUOTA_FIT`]) and it is part of the Rego input.
    pub tenant: Option<&'a Tenant>,
    /// The tenant's spend this month, when event logs were given.
    pub budget: Option<BudgetReading>,
}

impl Default for PolicyContext<'_> {
    fn default() -> Self {
        PolicyContext {
            environment: None,
            max_duration: DEFAULT_MAX_DURATION,
            allowed_registries: Vec::new(),
            require_team_prefix: false,
            required_approvals: 0,
            approvals: Vec::new(),
            tenant: None,
            budget: None,
        }
    }
}

impl PolicyContext<'_> {
    /// Applies an environment's settings (registries, naming, approvals, longest run);
    /// disabled ids and severity overrides are applied by [`check`].
    pub fn configure(&mut self, config: &EnvironmentPolicy) {
        if !config.allowed_registries.is_empty() {
            self.allowed_registries.clone_from(&config.allowed_registries);
        }
        if let Some(prefix) = config.require_team_prefix {
            self.require_team_prefix = prefix;
        }
        if let Some(n) = config.required_approvals {
            self.required_approvals = n;
        }
        if let Some(max) = config.max_duration {
            self.max_duration = max;
        }
    }
}

/// One broken policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The policy broken, with the severity it has where it was checked.
    pub policy: Policy,
    /// What is wrong, with the numbers and names involved.
    pub message: String,
    /// The field at fault: a job field path (`spec.executor.cores`) or, for
    /// what only a rendered object shows, `<Kind>/<name> <path>`.
    pub path: String,
    /// Where the field was written, when it was.
    pub span: Option<Span>,
    /// A fix for this violation in particular (Rego findings may carry one);
    /// otherwise the policy's.
    pub fix: Option<String>,
}

impl Violation {
    /// The severity it was found with.
    pub fn severity(&self) -> PolicySeverity {
        self.policy.severity
    }

    /// How to fix it: the finding's own fix, else the policy's.
    pub fn fix(&self) -> &str {
        self.fix.as_deref().unwrap_or(&self.policy.fix)
    }
}

/// Whether any violation is of a deny policy.
pub fn has_deny(violations: &[Violation]) -> bool {
    violations.iter().any(|v| v.severity() == PolicySeverity::Deny)
}

/// Where a job field was written: the value, else its key, else (for a
/// missing field) its nearest present parent.
pub(crate) fn field_span(job: &ResolvedJob, path: &FieldPath) -> Option<Span> {
    job.span_of(path).or_else(|| job.tree.key_span(path)).or_else(|| {
        let mut parent = path.clone();
        while parent.0.pop().is_some() {
            if let Some(span) = job.tree.key_span(&parent) {
                return Some(span);
            }
        }
        None
    })
}

struct Eval<'a> {
    job: &'a ResolvedJob,
    out: Vec<Violation>,
    seen: BTreeSet<(&'static str, String, String)>,
}

impl Eval<'_> {
    /// Records a violation at a job field path.
    fn at(&mut self, id: &'static str, path: &FieldPath, message: String) {
        let span = field_span(self.job, path);
        self.push(id, path.to_string(), span, message);
    }

    /// Records a violation found only in a rendered object.
    fn rendered(&mut self, id: &'static str, location: String, message: String) {
        self.push(id, location, None, message);
    }

    fn push(&mut self, id: &'static str, path: String, span: Option<Span>, message: String) {
        let Some(policy) = policy(id) else { return };
        if self.seen.insert((id, path.clone(), message.clone())) {
            self.out.push(Violation { policy: policy.clone(), message, path, span, fix: None });
        }
    }

    /// The job field a rendered pod-spec path came from, when the user wrote it
    /// in the role's pod template.
    fn template_field(&self, site: &PodSite, sub: &str) -> Option<FieldPath> {
        let role = site.role.as_deref()?;
        let path = FieldPath::parse(&format!("spec.{role}.podTemplate.spec.{sub}")).ok()?;
        self.job.tree.get(&path).is_some().then_some(path)
    }

    /// Records a violation in a rendered pod spec, at the job field when it has one.
    fn in_pod(&mut self, id: &'static str, site: &PodSite, sub: &str, message: String) {
        match self.template_field(site, sub) {
            Some(path) => self.at(id, &path, message),
            None => self.rendered(id, format!("{} {}.{sub}", site.object, site.path), message),
        }
    }
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

/// Evaluates every built-in policy with its catalogue severity; violations
/// come in policy order, then in the order found. [`check`] adds the Rego
/// policies and the environment's configuration.
pub fn evaluate(job: &ResolvedJob, objects: &[RenderedObject], ctx: &PolicyContext<'_>) -> Vec<Violation> {
    let mut eval = Eval { job, out: Vec::new(), seen: BTreeSet::new() };
    let pods = pod_sites(objects);
    check_pod_security(&mut eval, &pods);
    check_host_paths(&mut eval, &pods);
    check_requests(&mut eval, &pods);
    check_sizing(&mut eval);
    check_images(&mut eval, &pods, ctx);
    check_duration(&mut eval, ctx);
    check_ownership(&mut eval, ctx);
    check_secrets(&mut eval);
    check_approval(&mut eval, ctx);
    check_quota(&mut eval, ctx);
    check_budget(&mut eval, ctx);
    let order = |v: &Violation| POLICIES.iter().position(|p| p.id == v.policy.id).unwrap_or(usize::MAX);
    eval.out.sort_by_key(order);
    eval.out
}

/// The outcome of a policy check: every policy evaluated (built-ins, then
/// Rego policies, less the disabled ones, with the environment's severities)
/// and what broke them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Verdict {
    /// The policies evaluated.
    pub policies: Vec<Policy>,
    /// The violations, built-ins first in catalogue order, then Rego findings.
    pub violations: Vec<Violation>,
}

impl Verdict {
    /// Whether a deny policy failed.
    pub fn has_deny(&self) -> bool {
        has_deny(&self.violations)
    }

    /// (deny, warn) violation counts.
    pub fn counts(&self) -> (usize, usize) {
        let deny = self.violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).count();
        (deny, self.violations.len() - deny)
    }
}

/// Checks that every id an environment's configuration names is a policy
/// that exists (built-in or among `rego`'s), so a typo does not silently
/// keep a policy on.
pub fn check_config(config: &EnvironmentPolicy, rego: Option<&rego::RegoPolicies>, origin: &str) -> Diagnostics {
    let mut known: Vec<&str> = POLICIES.iter().map(|p| p.id.as_ref()).collect();
    if let Some(rego) = rego {
        known.extend(rego.policies().iter().map(|p| p.policy.id.as_ref()));
    }
    let mut problems = Diagnostics::new();
    let named = config
        .disabled
        .iter()
        .map(|id| ("policy.disabled", id))
        .chain(config.severity_overrides.keys().map(|id| ("policy.severityOverrides", id)));
    for (field, id) in named {
        if known.contains(&id.as_str()) {
            continue;
        }
        let help = match crate::schema::did_you_mean(id, known.iter().copied()) {
            Some(guess) => format!("did you mean `{guess}`? (`sparkplane policy list` shows every id)"),
            None => "`sparkplane policy list` shows every policy id".to_owned(),
        };
        problems.push(
            Diagnostic::error("unknown-policy", field, format!("{origin}: `{id}` is not a policy id")).with_help(help),
        );
    }
    problems
}

/// Every policy this configuration evaluates: built-ins and Rego policies,
/// less the disabled ones, with the configured severities.
pub fn catalogue(config: &EnvironmentPolicy, rego: Option<&rego::RegoPolicies>) -> Vec<Policy> {
    let disabled: BTreeSet<&str> = config.disabled.iter().map(String::as_str).collect();
    let overrides: BTreeMap<&str, PolicySeverity> =
        config.severity_overrides.iter().map(|(id, s)| (id.as_str(), PolicySeverity::from(*s))).collect();
    let rego_policies = rego.map(|r| r.policies()).unwrap_or_default();
    POLICIES
        .iter()
        .cloned()
        .chain(rego_policies.iter().map(|p| p.policy.clone()))
        .filter(|p| !disabled.contains(p.id.as_ref()))
        .map(|mut p| {
            if let Some(severity) = overrides.get(p.id.as_ref()) {
                p.severity = *severity;
            }
            p
        })
        .collect()
}

/// The whole check: built-ins and Rego policies over the same job and
/// objects, with the environment's disabled ids and severity overrides
/// applied to both alike. A Rego policy that fails at run time is an error
/// (exit 2 in the CLI), not a silent pass.
pub fn check(
    job: &ResolvedJob,
    objects: &[RenderedObject],
    ctx: &PolicyContext<'_>,
    rego: Option<&rego::RegoPolicies>,
    config: &EnvironmentPolicy,
) -> Result<Verdict, Diagnostics> {
    let policies = catalogue(config, rego);
    let mut violations = evaluate(job, objects, ctx);
    if let Some(rego) = rego {
        let input = rego::input_document(job, objects, ctx);
        violations.extend(rego.evaluate(job, &input)?);
    }
    let mut out = Vec::with_capacity(violations.len());
    for mut v in violations {
        // A Rego finding keeps the severity of the rule it came from unless overridden.
        let Some(effective) = policies.iter().find(|p| p.id == v.policy.id) else { continue };
        if config.severity_overrides.contains_key(v.policy.id.as_ref()) {
            v.policy.severity = effective.severity;
        }
        v.policy.severity = contextual_severity(&v, ctx);
        out.push(v);
    }
    Ok(Verdict { policies, violations: out })
}

/// A pod spec found in a rendered object (a Pod, a workload's template, or a
/// pod template file held in a ConfigMap).
struct PodSite {
    /// `<Kind>/<name>`.
    object: String,
    /// JSON path of the pod spec inside the object.
    path: String,
    /// `driver` or `executor`, from the pod's `app.kubernetes.io/component` label.
    role: Option<String>,
    spec: Value,
}

fn pod_sites(objects: &[RenderedObject]) -> Vec<PodSite> {
    let mut sites = Vec::new();
    for object in objects {
        let name = format!("{}/{}", object.kind, object.name);
        if object.kind == "ConfigMap" {
            // Pod template files (spark.kubernetes.*.podTemplateFile) are YAML text.
            if let Some(data) = object.body.get("data").and_then(Value::as_object) {
                for (key, text) in data {
                    let Some(text) = text.as_str().filter(|t| t.contains("containers")) else { continue };
                    let source = crate::source::Source::new(format!("{name} data.{key}"), text);
                    if let Ok(node) = parse_single(&source) {
                        find_pod_specs(&node.to_json(), &name, &format!("data.{key}"), None, &mut sites);
                    }
                }
            }
            continue;
        }
        find_pod_specs(&object.body, &name, "", None, &mut sites);
    }
    sites
}

fn join_path(base: &str, key: &str) -> String {
    if base.is_empty() { key.to_owned() } else { format!("{base}.{key}") }
}

fn find_pod_specs(value: &Value, object: &str, at: &str, role: Option<&str>, out: &mut Vec<PodSite>) {
    match value {
        Value::Object(map) => {
            let component = map
                .get("metadata")
                .and_then(|m| m.get("labels"))
                .and_then(|l| l.get("app.kubernetes.io/component"))
                .and_then(Value::as_str)
                .filter(|c| *c == "driver" || *c == "executor");
            let role = component.or(role);
            if map.get("containers").is_some_and(Value::is_array) {
                out.push(PodSite {
                    object: object.to_owned(),
                    path: if at.is_empty() { "(pod)".to_owned() } else { at.to_owned() },
                    role: role.map(str::to_owned),
                    spec: value.clone(),
                });
                return;
            }
            for (key, child) in map {
                find_pod_specs(child, object, &join_path(at, key), role, out);
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                find_pod_specs(item, object, &format!("{at}[{i}]"), role, out);
            }
        }
        _ => {}
    }
}

/// Containers and init containers of a pod spec, with their path inside it.
fn containers(spec: &Value) -> Vec<(String, &Value)> {
    let mut out = Vec::new();
    for list in ["initContainers", "containers"] {
        if let Some(items) = spec.get(list).and_then(Value::as_array) {
            out.extend(items.iter().enumerate().map(|(i, c)| (format!("{list}[{i}]"), c)));
        }
    }
    out
}

fn container_name(container: &Value) -> &str {
    container.get("name").and_then(Value::as_str).unwrap_or("(unnamed)")
}

fn check_pod_security(eval: &mut Eval<'_>, pods: &[PodSite]) {
    for site in pods {
        if site.spec.pointer("/securityContext/runAsUser").and_then(Value::as_i64) == Some(0) {
            let msg = format!("pod {} runs as root (securityContext.runAsUser: 0)", site.object);
            eval.in_pod(PRIVILEGED_OR_ROOT, site, "securityContext.runAsUser", msg);
        }
        for (at, container) in containers(&site.spec) {
            let name = container_name(container);
            if container.pointer("/securityContext/privileged").and_then(Value::as_bool) == Some(true) {
                let msg = format!("container `{name}` in {} is privileged", site.object);
                eval.in_pod(PRIVILEGED_OR_ROOT, site, &format!("{at}.securityContext.privileged"), msg);
            }
            if container.pointer("/securityContext/runAsUser").and_then(Value::as_i64) == Some(0) {
                let msg = format!("container `{name}` in {} runs as root (runAsUser: 0)", site.object);
                eval.in_pod(PRIVILEGED_OR_ROOT, site, &format!("{at}.securityContext.runAsUser"), msg);
            }
        }
        for field in ["hostNetwork", "hostPID", "hostIPC"] {
            if site.spec.get(field).and_then(Value::as_bool) == Some(true) {
                let msg = format!("pod {} sets {field}: true", site.object);
                eval.in_pod(HOST_NAMESPACES, site, field, msg);
            }
        }
    }
}

fn check_host_paths(eval: &mut Eval<'_>, pods: &[PodSite]) {
    let job = eval.job;
    let spec_volumes = &job.job.spec.volumes;
    for (i, volume) in spec_volumes.iter().enumerate() {
        if let Some(host) = &volume.host_path {
            let msg = format!("volume `{}` mounts the node's `{}` (hostPath)", volume.name, host.path);
            eval.at(HOST_PATH_VOLUMES, &path(&format!("spec.volumes[{i}].hostPath")), msg);
        }
    }
    for site in pods {
        let Some(volumes) = site.spec.get("volumes").and_then(Value::as_array) else { continue };
        for (i, volume) in volumes.iter().enumerate() {
            let Some(host) = volume.get("hostPath") else { continue };
            let name = volume.get("name").and_then(Value::as_str).unwrap_or_default();
            if spec_volumes.iter().any(|v| v.name == name && v.host_path.is_some()) {
                continue; // reported at spec.volumes
            }
            let host = host.get("path").and_then(Value::as_str).unwrap_or_default();
            let msg = format!("volume `{name}` in {} mounts the node's `{host}` (hostPath)", site.object);
            // The rendered index differs from the template's: find the template's volume by name.
            let template_index = site.role.as_deref().and_then(|role| {
                let list = job.tree.get(&path(&format!("spec.{role}.podTemplate.spec.volumes")))?;
                match &list.value {
                    crate::yaml::NodeValue::Seq(items) => {
                        items.iter().position(|item| item.get(&path("name")).and_then(|n| n.as_str()) == Some(name))
                    }
                    _ => None,
                }
            });
            match template_index {
                Some(t) => eval.in_pod(HOST_PATH_VOLUMES, site, &format!("volumes[{t}].hostPath"), msg),
                None => eval.rendered(HOST_PATH_VOLUMES, format!("{} {}.volumes[{i}]", site.object, site.path), msg),
            }
        }
    }
}

fn check_requests(eval: &mut Eval<'_>, pods: &[PodSite]) {
    for site in pods {
        for (at, container) in containers(&site.spec) {
            // Spark's own container (the first of a pod or template) is sized by Spark, the
            // operator or the sizing model — from spark.{driver,executor}.* or the typed
            // cores/memory fields — not by the template; sidecars and init containers are the user's.
            let name = container_name(container);
            let spark_container =
                name == crate::render::common::DRIVER_CONTAINER || name == crate::render::common::EXECUTOR_CONTAINER;
            if at == "containers[0]" && (spark_container || site.role.as_deref() == Some("executor")) {
                continue;
            }
            let resources = container.get("resources");
            let has = |kind: &str, what: &str| {
                resources.and_then(|r| r.get(kind)).and_then(|k| k.get(what)).is_some_and(|v| !v.is_null())
            };
            let mut missing = Vec::new();
            for (kind, what) in [("requests", "cpu"), ("requests", "memory"), ("limits", "memory")] {
                if !has(kind, what) {
                    missing.push(format!("{kind}.{what}"));
                }
            }
            if !missing.is_empty() {
                let msg = format!(
                    "container `{}` in {} has no resources {}",
                    container_name(container),
                    site.object,
                    missing.join(", ")
                );
                let sub = match eval.template_field(site, &format!("{at}.resources")) {
                    Some(_) => format!("{at}.resources"),
                    None => at.clone(),
                };
                eval.in_pod(RESOURCE_REQUESTS, site, &sub, msg);
            }
        }
    }
}

fn check_sizing(eval: &mut Eval<'_>) {
    let spec = &eval.job.job.spec;
    let sized = size_job(spec);
    if sized.executor.spark_cores > MAX_EXECUTOR_CORES && sized.executor.gpu.is_none() {
        let msg = format!("executors use {} cores, above {MAX_EXECUTOR_CORES}", sized.executor.spark_cores);
        eval.at(EXECUTOR_CORES, &path("spec.executor.cores"), msg);
    }
    let roles = [
        ("driver", &sized.driver, spec.driver.as_ref().map(|d| &d.role)),
        ("executor", &sized.executor, spec.executor.as_ref().map(|e| &e.role)),
    ];
    for (role, pod, role_spec) in roles {
        let (heap, overhead) = (pod.heap.mib(), pod.overhead.mib());
        let mut why = Vec::new();
        if pod.overhead < MIN_OVERHEAD {
            why.push(format!("below {} MiB", MIN_OVERHEAD.mib()));
        }
        if overhead.saturating_mul(10) < heap {
            why.push(format!("below 10 % of the {heap} MiB heap ({} MiB)", heap / 10));
        }
        if why.is_empty() {
            continue;
        }
        let field = match role_spec {
            Some(r) if r.memory_overhead.is_some() => "memoryOverhead",
            Some(r) if r.memory_overhead_factor.is_some() => "memoryOverheadFactor",
            _ => "memory",
        };
        let msg = format!("the {role} memory overhead is {overhead} MiB, {}", why.join(" and "));
        eval.at(MEMORY_OVERHEAD, &path(&format!("spec.{role}.{field}")), msg);
    }
}

fn registry_allowed(repository: &str, allowed: &[String]) -> bool {
    allowed.is_empty()
        || allowed.iter().any(|a| {
            let a = a.trim_end_matches('/');
            registry_of(repository) == a || repository == a || repository.starts_with(&format!("{a}/"))
        })
}

fn check_image(eval: &mut Eval<'_>, image: &ImageRef, location: Option<&str>, ctx: &PolicyContext<'_>) {
    let shown = |what: &str| match location {
        Some(l) => format!("{what} (in {l})"),
        None => what.to_owned(),
    };
    let report = |eval: &mut Eval<'_>, id: &'static str, field: &str, message: String| match location {
        Some(l) => eval.rendered(id, l.to_owned(), message),
        None => eval.at(id, &path(field), message),
    };
    let repo = &image.repository;
    if ctx.environment == Some("prod") && image.digest.is_none() {
        let msg = shown(&format!("image `{repo}` is not pinned by digest in prod"));
        report(eval, IMAGE_DIGEST_IN_PROD, "spec.image.digest", msg);
    }
    if image.digest.is_none() {
        match image.tag.as_deref() {
            None => report(eval, IMAGE_TAG, "spec.image.tag", shown(&format!("image `{repo}` has no tag"))),
            Some("latest") => {
                report(eval, IMAGE_TAG, "spec.image.tag", shown(&format!("image `{repo}` uses the `latest` tag")))
            }
            Some(_) => {}
        }
    }
    if !registry_allowed(repo, &ctx.allowed_registries) {
        let msg = shown(&format!(
            "image `{repo}` comes from `{}`, not an allowed registry ({})",
            registry_of(repo),
            ctx.allowed_registries.join(", ")
        ));
        report(eval, IMAGE_REGISTRY, "spec.image.repository", msg);
    }
}

fn check_images(eval: &mut Eval<'_>, pods: &[PodSite], ctx: &PolicyContext<'_>) {
    let job_image = eval.job.job.spec.image.clone().unwrap_or_default();
    let job_reference = job_image.reference();
    if let Some(image) = ImageRef::of(&job_image) {
        check_image(eval, &image, None, ctx);
    }
    // Sidecars and init containers bring their own images.
    let mut seen = BTreeSet::new();
    for site in pods {
        for (at, container) in containers(&site.spec) {
            let Some(reference) = container.get("image").and_then(Value::as_str) else { continue };
            if Some(reference) == job_reference.as_deref() || !seen.insert(reference.to_owned()) {
                continue;
            }
            let location = format!("{} {}.{at}.image", site.object, site.path);
            check_image(eval, &ImageRef::parse(reference), Some(&location), ctx);
        }
    }
}

fn check_duration(eval: &mut Eval<'_>, ctx: &PolicyContext<'_>) {
    match eval.job.job.spec.timeouts.as_ref().and_then(|t| t.max_duration) {
        Some(max) if max.as_millis() > ctx.max_duration.as_millis() => {
            let msg = format!("maxDuration {max} is above the platform maximum of {}", ctx.max_duration);
            eval.at(MAX_DURATION, &path("spec.timeouts.maxDuration"), msg);
        }
        Some(_) => {}
        None => {
            let msg =
                format!("no maxDuration: the run is only stopped at the platform maximum of {}", ctx.max_duration);
            eval.at(MAX_DURATION_UNSET, &path("spec.timeouts.maxDuration"), msg);
        }
    }
}

fn check_ownership(eval: &mut Eval<'_>, ctx: &PolicyContext<'_>) {
    let spec = &eval.job.job.spec;
    let team = spec.team.clone().filter(|t| !t.trim().is_empty());
    if team.is_none() {
        eval.at(OWNERSHIP, &path("spec.team"), "the job names no team".into());
    }
    if spec.cost_center.as_deref().is_none_or(|c| c.trim().is_empty()) {
        eval.at(OWNERSHIP, &path("spec.costCenter"), "the job names no cost center".into());
    }
    if ctx.require_team_prefix
        && let Some(team) = team
    {
        let name = eval.job.name().to_owned();
        if !name.starts_with(&format!("{team}-")) {
            let msg = format!("`{name}` does not start with its team's prefix `{team}-`");
            eval.at(NAMING, &path("metadata.name"), msg);
        }
    }
}

/// The one owner of the inline-credential rule (ADR 0028): what counts as a
/// credential and as a reference is [`crate::secrets`]'.
fn check_secrets(eval: &mut Eval<'_>) {
    for found in inline_secrets(&eval.job.job.spec) {
        let msg = match &found {
            InlineSecret::Env { name, .. } => {
                format!("`{name}` looks like a credential and its value is written inline")
            }
            InlineSecret::Property { key, .. } => format!("`{key}` holds a credential in plain text"),
        };
        eval.at(INLINE_SECRETS, found.path(), msg);
    }
}

fn check_approval(eval: &mut Eval<'_>, ctx: &PolicyContext<'_>) {
    if ctx.required_approvals == 0 {
        return;
    }
    let env = ctx.environment.unwrap_or("(none)");
    let standing = approval_standing(eval.job, ctx.environment, &ctx.approvals);
    let have = standing.valid.len();
    if have >= ctx.required_approvals as usize {
        return;
    }
    let need = ctx.required_approvals;
    let short = eval.job.short_hash();
    let mut msg = format!(
        "deploying to `{env}` needs {need} approval{} of spec {short}; {}",
        if need == 1 { "" } else { "s" },
        match have {
            0 => "none was found".to_owned(),
            n => format!(
                "only {n} ({}) found",
                standing.valid.iter().map(|a| a.by.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }
    );
    if !standing.stale.is_empty() {
        let stale: Vec<String> =
            standing.stale.iter().map(|a| format!("{} approved spec {} at {}", a.by, a.short_hash(), a.at)).collect();
        msg.push_str(&format!("; stale (the spec changed since): {}", stale.join(", ")));
    }
    eval.at(APPROVAL_REQUIRED, &path("metadata.name"), msg);
}

/// The tenant's ResourceQuota, as the tenant renderer builds it (one model
/// of what a tenant's quota is).
pub fn tenant_quota(tenant: &Tenant) -> Option<ResourceQuota> {
    crate::tenant::render_tenant(tenant)
        .into_iter()
        .find(|o| o.kind == "ResourceQuota")
        .and_then(|o| serde_json::from_value(o.body).ok())
}

fn check_quota(eval: &mut Eval<'_>, ctx: &PolicyContext<'_>) {
    let Some(tenant) = ctx.tenant else { return };
    let Some(quota) = tenant_quota(tenant) else { return };
    let sized = size_job(&eval.job.job.spec);
    let (_, problems) = crate::fit::check_quota_fit(&sized, &quota);
    for problem in problems.into_iter().filter(|p| p.severity == crate::Severity::Error) {
        let mut msg = format!("tenant `{}`: {}", tenant.metadata.name, problem.message);
        if let Some(help) = &problem.help {
            msg.push_str(&format!(" ({help})"));
        }
        eval.at(QUOTA_FIT, &path(&problem.path), msg);
    }
}

fn check_budget(eval: &mut Eval<'_>, ctx: &PolicyContext<'_>) {
    let Some(reading) = &ctx.budget else { return };
    if !reading.warning && !reading.critical {
        return;
    }
    let share = reading.percent.map(|p| format!("{p:.1} % of ")).unwrap_or_default();
    let msg = format!(
        "tenant `{}` (team `{}`) has spent {:.2} ({share}its monthly budget of {:.2}) {}",
        reading.tenant, reading.team, reading.spent, reading.monthly, reading.window
    );
    let id = if reading.critical { BUDGET_CRITICAL } else { BUDGET_WARNING };
    eval.at(id, &path("spec.team"), msg);
}

/// The severity a violation has after the environment's overrides and what
/// the context says about this tenant: a tenant whose budget does not block
/// on critical keeps [`BUDGET_CRITICAL`] a warning.
fn contextual_severity(v: &Violation, ctx: &PolicyContext<'_>) -> PolicySeverity {
    let blocks = ctx.budget.as_ref().is_none_or(|b| b.blocks_on_critical);
    if v.policy.id == BUDGET_CRITICAL && !blocks { PolicySeverity::Warn } else { v.policy.severity }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_ids_are_unique_kebab_case() {
        let mut ids = BTreeSet::new();
        for p in builtin_policies() {
            assert!(ids.insert(p.id.as_ref()), "duplicate id {}", p.id);
            assert!(p.id.split('-').all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())), "{}", p.id);
        }
    }

    #[test]
    fn registry_allow_list_matches_hosts_and_prefixes() {
        assert!(registry_allowed("registry.example.com/a/b", &["registry.example.com/a".into()]));
        assert!(!registry_allowed("registry.example.com/ab/b", &["registry.example.com/a".into()]));
        assert!(registry_allowed("busybox", &["docker.io".into()]));
    }

    #[test]
    fn junit_escapes_text() {
        assert_eq!(crate::junit::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
