//! sparkplane's policies and tenants — the only crate with a Rego engine.
//!
//! The policy engine: the platform's rules checked over a resolved job and
//! the Kubernetes objects rendered from it, with one [`Verdict`].
//!
//! Owns: the catalogue of built-in policies (stable kebab-case ids, severity,
//! rationale, fix) and their evaluation ([`evaluate`]); custom Rego policies
//! ([`rego`], evaluated with regorus over one documented input document);
//! per-environment configuration (disabled ids, severity overrides) applied
//! to both alike ([`check`]); approval records ([`approval`]); the Gatekeeper
//! export of the Rego policies ([`gatekeeper`]); gathering what they are
//! checked against through the caller's sources ([`inputs`]); the report formats
//! ([`report`]: text, JSON, SARIF 2.1.0, JUnit XML) as pure functions; and
//! tenants ([`tenant`]: a team's namespace, quota, RBAC and network policies).
//!
//! Must not: read files, talk to a cluster, read event logs or look at the
//! clock. Everything it needs from the outside (environment, approval
//! records, the tenant, the month's spend, allowed registries, the platform's
//! maximum run time) comes in a [`PolicyContext`]. It must not size pods or
//! fit them itself: memory numbers come from [`sparkplane_core::sizing::size_job`] and
//! the quota check from [`sparkplane_fit`], the one sizing and fit model.
//! Dependencies point down: this crate uses the job pipeline
//! (`sparkplane-core`) and the fit check (`sparkplane-fit`); neither uses it.

pub mod admission;
pub mod approval;
mod builtin;
pub mod gatekeeper;
pub mod inputs;
pub mod rego;
pub mod report;
pub mod tenant;

use sparkplane_api::layer::{EnvironmentPolicy, PolicySeverityName};
use sparkplane_api::tenant::Tenant;
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::source::Span;
use sparkplane_documents::yaml::FieldPath;

pub use approval::{Approval, ApprovalStanding, approval_standing};
pub use builtin::{evaluate, tenant_quota};
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

/// The tenant's spend this month against its budget: an input of the
/// budget policies, owned by `sparkplane_api::budget` because the event-log
/// engine, which computes it, must not depend on the policies.
pub use sparkplane_api::budget::BudgetReading;

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
        let help = match sparkplane_documents::schema::did_you_mean(id, known.iter().copied()) {
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
    fn junit_escapes_text() {
        assert_eq!(sparkplane_documents::junit::escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
