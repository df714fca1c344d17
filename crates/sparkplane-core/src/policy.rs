//! The built-in policy engine: the platform's rules checked over a resolved
//! job and the Kubernetes objects rendered from it, with a verdict per rule.
//!
//! Owns: the catalogue of built-in policies (stable kebab-case ids, severity,
//! rationale, fix), their evaluation ([`evaluate`]) and the report formats
//! (text, JSON, SARIF 2.1.0, JUnit XML) as pure functions.
//!
//! Must not: read files, talk to a cluster or an approval store, or look at
//! the clock. Everything it needs from the outside (environment, approved
//! spec hashes, allowed registries, the platform's maximum run time) comes in
//! a [`PolicyContext`]. It must not size pods itself: memory numbers come from
//! [`crate::sizing::size_job`], the one sizing model.
//!
//! Not yet here: custom Rego policies, the job-fits-the-tenant-quota policy
//! (it needs the tenant's quota), budgets and the approval store.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use serde_json::{Value, json};

use crate::render::RenderedObject;
use crate::resolve::ResolvedJob;
use crate::sizing::{MIN_OVERHEAD, size_job};
use crate::source::Span;
use crate::validate::looks_secret;
use crate::yaml::{FieldPath, parse_single};

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

/// One built-in rule of the platform.
#[derive(Debug, PartialEq, Eq)]
pub struct Policy {
    /// Stable kebab-case id, used in reports, SARIF rule ids and configuration.
    pub id: &'static str,
    /// Deny or warn.
    pub severity: PolicySeverity,
    /// One line: what the policy asks for.
    pub title: &'static str,
    /// Why the platform asks for it.
    pub rationale: &'static str,
    /// How to comply.
    pub fix: &'static str,
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
/// Prod deploys need an approval of the exact resolved spec.
pub const PROD_APPROVAL: &str = "prod-approval";

static POLICIES: [Policy; 15] = [
    Policy {
        id: PRIVILEGED_OR_ROOT,
        severity: PolicySeverity::Deny,
        title: "containers must not be privileged or run as root",
        rationale: "a privileged or root container can take over the node it runs on and every tenant's pods there",
        fix: "remove `privileged: true` and `runAsUser: 0` from pod templates; Spark images run as uid 185",
    },
    Policy {
        id: HOST_NAMESPACES,
        severity: PolicySeverity::Deny,
        title: "pods must not share the host's network, PID or IPC namespace",
        rationale: "host namespaces let a pod see and reach other tenants' processes and traffic on the node",
        fix: "remove hostNetwork, hostPID and hostIPC from pod templates",
    },
    Policy {
        id: HOST_PATH_VOLUMES,
        severity: PolicySeverity::Deny,
        title: "pods must not mount hostPath volumes",
        rationale: "a hostPath volume exposes the node's file system and ties the pod to one node",
        fix: "use emptyDir for scratch space, a PVC for data, or object storage",
    },
    Policy {
        id: RESOURCE_REQUESTS,
        severity: PolicySeverity::Deny,
        title: "every container requests CPU and memory and limits memory",
        rationale: "pods without requests are scheduled blind and evicted first; without a memory limit one pod can starve a node",
        fix: "give every sidecar and init container resources.requests.cpu, requests.memory and limits.memory (Spark sizes its own containers)",
    },
    Policy {
        id: EXECUTOR_CORES,
        severity: PolicySeverity::Warn,
        title: "executors use at most 5 cores",
        rationale: "above about 5 concurrent tasks per executor, HDFS/S3 client throughput and GC pauses usually get worse",
        fix: "use at most 5 cores per executor and more executors",
    },
    Policy {
        id: MEMORY_OVERHEAD,
        severity: PolicySeverity::Deny,
        title: "memory overhead is at least 10 % of the heap and at least 384 MiB",
        rationale: "too little overhead gets containers OOM-killed by the kernel, outside the JVM's control",
        fix: "remove memoryOverhead to use Spark's rule, or raise it to max(384m, 10 % of memory)",
    },
    Policy {
        id: IMAGE_DIGEST_IN_PROD,
        severity: PolicySeverity::Deny,
        title: "prod images are pinned by digest",
        rationale: "a tag can be moved; only a digest guarantees prod runs the image that was tested and approved",
        fix: "set spec.image.digest (sha256:…) in the prod overlay",
    },
    Policy {
        id: IMAGE_TAG,
        severity: PolicySeverity::Deny,
        title: "images have an explicit tag other than `latest` (or a digest)",
        rationale: "`latest` and untagged images change under the job: reruns are not reproducible",
        fix: "set spec.image.tag to a release version, or pin a digest",
    },
    Policy {
        id: IMAGE_REGISTRY,
        severity: PolicySeverity::Deny,
        title: "images come from an allowed registry",
        rationale: "only the platform's registries are scanned, mirrored and trusted",
        fix: "push the image to an allowed registry and point spec.image.repository at it",
    },
    Policy {
        id: MAX_DURATION,
        severity: PolicySeverity::Deny,
        title: "maxDuration is within the platform maximum",
        rationale: "runaway jobs hold quota and cost money; the platform caps how long one run may take",
        fix: "lower spec.timeouts.maxDuration, or split the job",
    },
    Policy {
        id: MAX_DURATION_UNSET,
        severity: PolicySeverity::Warn,
        title: "jobs set a maxDuration",
        rationale: "without a deadline a stuck job runs until someone notices",
        fix: "set spec.timeouts.maxDuration (a preset sets one for you)",
    },
    Policy {
        id: OWNERSHIP,
        severity: PolicySeverity::Deny,
        title: "jobs name their team and cost center",
        rationale: "costs, quotas and alerts are routed by team and cost-center labels",
        fix: "set spec.team and spec.costCenter",
    },
    Policy {
        id: NAMING,
        severity: PolicySeverity::Deny,
        title: "job names follow the naming convention",
        rationale: "names that start with the team keep namespaces, dashboards and alerts readable",
        fix: "rename the job to `<team>-<purpose>`",
    },
    Policy {
        id: INLINE_SECRETS,
        severity: PolicySeverity::Deny,
        title: "credentials are referenced, never written inline",
        rationale: "inline values end up in ConfigMaps, pod specs and Git, readable by anyone who can read those",
        fix: "store the value in a Secret and reference it with secretKeyRef, or use a credentials provider",
    },
    Policy {
        id: PROD_APPROVAL,
        severity: PolicySeverity::Deny,
        title: "deploys to approval-gated environments carry an approval of the exact spec",
        rationale: "an approval is for one resolved spec; any change needs a new review",
        fix: "get the resolved spec approved (its hash is in the message) and deploy that spec unchanged",
    },
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
    /// Environments whose deploys need an approval.
    pub approvals_required_in: Vec<String>,
    /// Approved resolved-spec hashes (full or the 8-digit short form).
    pub approved_hashes: Vec<String>,
}

impl Default for PolicyContext<'_> {
    fn default() -> Self {
        PolicyContext {
            environment: None,
            max_duration: DEFAULT_MAX_DURATION,
            allowed_registries: Vec::new(),
            require_team_prefix: false,
            approvals_required_in: Vec::new(),
            approved_hashes: Vec::new(),
        }
    }
}

/// One broken policy.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    /// The policy broken.
    pub policy: &'static Policy,
    /// What is wrong, with the numbers and names involved.
    pub message: String,
    /// The field at fault: a job field path (`spec.executor.cores`) or, for
    /// what only a rendered object shows, `<Kind>/<name> <path>`.
    pub path: String,
    /// Where the field was written, when it was.
    pub span: Option<Span>,
}

impl Violation {
    /// The policy's severity.
    pub fn severity(&self) -> PolicySeverity {
        self.policy.severity
    }
}

/// Whether any violation is of a deny policy.
pub fn has_deny(violations: &[Violation]) -> bool {
    violations.iter().any(|v| v.severity() == PolicySeverity::Deny)
}

struct Eval<'a> {
    job: &'a ResolvedJob,
    out: Vec<Violation>,
    seen: BTreeSet<(&'static str, String, String)>,
}

impl Eval<'_> {
    /// Records a violation at a job field path.
    fn at(&mut self, id: &'static str, path: &FieldPath, message: String) {
        let span = self.job.span_of(path).or_else(|| self.job.tree.key_span(path)).or_else(|| {
            // A missing field: point at its nearest present parent.
            let mut parent = path.clone();
            while parent.0.pop().is_some() {
                if let Some(span) = self.job.tree.key_span(&parent) {
                    return Some(span);
                }
            }
            None
        });
        self.push(id, path.to_string(), span, message);
    }

    /// Records a violation found only in a rendered object.
    fn rendered(&mut self, id: &'static str, location: String, message: String) {
        self.push(id, location, None, message);
    }

    fn push(&mut self, id: &'static str, path: String, span: Option<Span>, message: String) {
        let Some(policy) = policy(id) else { return };
        if self.seen.insert((id, path.clone(), message.clone())) {
            self.out.push(Violation { policy, message, path, span });
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

/// Evaluates every built-in policy; violations come in policy order, then in
/// the order found.
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
    let order = |v: &Violation| POLICIES.iter().position(|p| p.id == v.policy.id).unwrap_or(usize::MAX);
    eval.out.sort_by_key(order);
    eval.out
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

/// An image reference split into its parts.
struct ImageRef {
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

fn parse_image(reference: &str) -> ImageRef {
    let (rest, digest) = match reference.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest.to_owned())),
        None => (reference, None),
    };
    // A ':' after the last '/' is a tag; before it, a registry port.
    let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[last_slash..].rfind(':') {
        Some(colon) => ImageRef {
            repository: rest[..last_slash + colon].to_owned(),
            tag: Some(rest[last_slash + colon + 1..].to_owned()),
            digest,
        },
        None => ImageRef { repository: rest.to_owned(), tag: None, digest },
    }
}

/// The registry host of a repository (Docker Hub when the first part is not a host).
fn registry_of(repository: &str) -> &str {
    match repository.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
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
    if let Some(repository) = job_image.repository.clone() {
        let image = ImageRef { repository, tag: job_image.tag.clone(), digest: job_image.digest.clone() };
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
            check_image(eval, &parse_image(reference), Some(&location), ctx);
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

/// Keys that name a credential but hold a reference or a harmless setting.
fn is_reference(key: &str, value: &str) -> bool {
    let lower = key.to_ascii_lowercase();
    value.is_empty()
        || value.starts_with("${")
        || lower.contains(".secrets.")
        || lower.contains("secretkeyref")
        || lower.contains("token.renewal")
        || [".provider", ".file", ".path"].iter().any(|end| lower.ends_with(end))
}

fn check_secrets(eval: &mut Eval<'_>) {
    let spec = &eval.job.job.spec;
    let mut lists = vec![("spec.env", &spec.env)];
    if let Some(d) = &spec.driver {
        lists.push(("spec.driver.env", &d.role.env));
    }
    if let Some(e) = &spec.executor {
        lists.push(("spec.executor.env", &e.role.env));
    }
    let mut found = Vec::new();
    for (base, vars) in lists {
        for (i, var) in vars.iter().enumerate() {
            if var.value.as_deref().is_some_and(|v| !v.is_empty()) && looks_secret(&var.name) {
                let msg = format!("`{}` looks like a credential and its value is written inline", var.name);
                found.push((path(&format!("{base}[{i}].value")), msg));
            }
        }
    }
    for (base, conf) in [("spec.sparkConf", &spec.spark_conf), ("spec.hadoopConf", &spec.hadoop_conf)] {
        for (key, value) in conf {
            if looks_secret(key) && !is_reference(key, value) {
                found.push((path(base).key(key), format!("`{key}` holds a credential in plain text")));
            }
        }
    }
    for (field, msg) in found {
        eval.at(INLINE_SECRETS, &field, msg);
    }
}

fn check_approval(eval: &mut Eval<'_>, ctx: &PolicyContext<'_>) {
    let Some(env) = ctx.environment else { return };
    if !ctx.approvals_required_in.iter().any(|e| e == env) {
        return;
    }
    let (full, short) = (eval.job.spec_hash(), eval.job.short_hash());
    if !ctx.approved_hashes.iter().any(|h| *h == full || *h == short) {
        let msg = format!("deploying to `{env}` needs an approval of spec {short}; none was found");
        eval.at(PROD_APPROVAL, &path("metadata.name"), msg);
    }
}

fn location_suffix(span: Option<&Span>) -> String {
    span.map(|s| format!(" ({})", s.location())).unwrap_or_default()
}

/// A plain-text report: one paragraph per violation and a summary line.
pub fn to_text(violations: &[Violation]) -> String {
    let mut out = String::new();
    for v in violations {
        let _ = writeln!(
            out,
            "{}[{}] {}: {}{}",
            v.severity().as_str(),
            v.policy.id,
            v.path,
            v.message,
            location_suffix(v.span.as_ref())
        );
        let _ = writeln!(out, "  fix: {}", v.policy.fix);
    }
    let deny = violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).count();
    let warn = violations.len() - deny;
    let _ = writeln!(
        out,
        "{} policies checked: {deny} deny, {warn} warn violation{}",
        POLICIES.len(),
        if violations.len() == 1 { "" } else { "s" }
    );
    out
}

/// A JSON report: `{violations: [...], summary: {policies, deny, warn}}`.
pub fn to_json(violations: &[Violation]) -> Value {
    let deny = violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).count();
    json!({
        "violations": violations.iter().map(|v| json!({
            "policy": v.policy.id,
            "severity": v.severity().as_str(),
            "title": v.policy.title,
            "message": v.message,
            "path": v.path,
            "file": v.span.as_ref().map(|s| s.source.name.to_string()),
            "line": v.span.as_ref().map(|s| s.at.line),
            "column": v.span.as_ref().map(|s| s.at.column),
            "fix": v.policy.fix,
        })).collect::<Vec<_>>(),
        "summary": {"policies": POLICIES.len(), "deny": deny, "warn": violations.len() - deny},
    })
}

/// The SARIF 2.1.0 schema location.
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF 2.1.0 log for code scanning. Violations without a span are
/// reported at line 1 of `artifact` (the job file).
pub fn to_sarif(violations: &[Violation], artifact: &str) -> Value {
    let rules: Vec<Value> = POLICIES
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "name": p.id,
                "shortDescription": {"text": p.title},
                "fullDescription": {"text": p.rationale},
                "help": {"text": p.fix},
                "defaultConfiguration": {"level": sarif_level(p.severity)},
            })
        })
        .collect();
    let results: Vec<Value> = violations
        .iter()
        .map(|v| {
            let (uri, line, column) = match &v.span {
                Some(s) => (s.source.name.to_string(), s.at.line.max(1), s.at.column.max(1)),
                None => (artifact.to_owned(), 1, 1),
            };
            json!({
                "ruleId": v.policy.id,
                "ruleIndex": POLICIES.iter().position(|p| p.id == v.policy.id),
                "level": sarif_level(v.severity()),
                "message": {"text": format!("{}: {}", v.path, v.message)},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": line, "startColumn": column},
                    },
                }],
            })
        })
        .collect();
    json!({
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "sparkplane",
                "informationUri": "https://sparkplane.dev/docs/policies",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

fn sarif_level(severity: PolicySeverity) -> &'static str {
    match severity {
        PolicySeverity::Deny => "error",
        PolicySeverity::Warn => "warning",
    }
}

/// Escapes text for XML attributes and content (JUnit reports); drops control characters XML cannot hold.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t' | '\r') => {}
            c => out.push(c),
        }
    }
    out
}

/// A JUnit XML report: one testsuite, one testcase per policy; deny
/// violations are failures, warnings are written to the testcase's output.
pub fn to_junit(violations: &[Violation]) -> String {
    let deny = violations.iter().filter(|v| v.severity() == PolicySeverity::Deny);
    let failures = POLICIES.iter().filter(|p| deny.clone().any(|v| v.policy.id == p.id)).count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuite name=\"sparkplane-policy\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"0\">",
        POLICIES.len()
    );
    for p in &POLICIES {
        let mine: Vec<&Violation> = violations.iter().filter(|v| v.policy.id == p.id).collect();
        let _ = write!(out, "  <testcase classname=\"sparkplane.policy\" name=\"{}\"", xml_escape(p.id));
        if mine.is_empty() {
            out.push_str("/>\n");
            continue;
        }
        out.push_str(">\n");
        let lines: Vec<String> =
            mine.iter().map(|v| format!("{}: {}{}", v.path, v.message, location_suffix(v.span.as_ref()))).collect();
        let body = xml_escape(&format!("{}\nfix: {}", lines.join("\n"), p.fix));
        match p.severity {
            PolicySeverity::Deny => {
                let _ = writeln!(
                    out,
                    "    <failure type=\"deny\" message=\"{}\">{body}</failure>",
                    xml_escape(&mine[0].message)
                );
            }
            PolicySeverity::Warn => {
                let _ = writeln!(out, "    <system-out>warn: {body}</system-out>");
            }
        }
        out.push_str("  </testcase>\n");
    }
    out.push_str("</testsuite>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_ids_are_unique_kebab_case() {
        let mut ids = BTreeSet::new();
        for p in builtin_policies() {
            assert!(ids.insert(p.id), "duplicate id {}", p.id);
            assert!(p.id.split('-').all(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_lowercase())), "{}", p.id);
        }
    }

    #[test]
    fn image_references_split_into_parts() {
        let r = parse_image("registry.example.com:5000/team/app:1.2@sha256:abc");
        assert_eq!(
            (r.repository.as_str(), r.tag.as_deref(), r.digest.as_deref()),
            ("registry.example.com:5000/team/app", Some("1.2"), Some("sha256:abc"))
        );
        let r = parse_image("registry.example.com:5000/team/app");
        assert_eq!((r.repository.as_str(), r.tag), ("registry.example.com:5000/team/app", None));
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("library/busybox"), "docker.io");
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert!(registry_allowed("registry.example.com/a/b", &["registry.example.com/a".into()]));
        assert!(!registry_allowed("registry.example.com/ab/b", &["registry.example.com/a".into()]));
        assert!(registry_allowed("busybox", &["docker.io".into()]));
    }

    #[test]
    fn junit_escapes_text() {
        assert_eq!(xml_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
