//! The built-in policies' evaluation: each rule of the catalogue in
//! [`super`] checked over a resolved job and the pod specs rendered from it,
//! every violation placed at the job field that caused it (or the rendered
//! object when no field did).
//!
//! Owns: finding pod specs in rendered objects and one check per built-in
//! policy. Must not: hold the catalogue, apply an environment's configuration
//! or Rego policies (that is [`crate::check`]), or size pods itself (memory
//! comes from [`sparkplane_core::sizing::size_job`], the quota from [`sparkplane_fit`]).

use std::collections::BTreeSet;

use k8s_openapi::api::core::v1::ResourceQuota;
use serde_json::Value;
use sparkplane_api::tenant::Tenant;

use crate::{
    APPROVAL_REQUIRED, BUDGET_CRITICAL, BUDGET_WARNING, EXECUTOR_CORES, HOST_NAMESPACES, HOST_PATH_VOLUMES,
    IMAGE_DIGEST_IN_PROD, IMAGE_REGISTRY, IMAGE_TAG, INLINE_SECRETS, MAX_DURATION, MAX_DURATION_UNSET,
    MAX_EXECUTOR_CORES, MEMORY_OVERHEAD, NAMING, OWNERSHIP, POLICIES, PRIVILEGED_OR_ROOT, PolicyContext, QUOTA_FIT,
    RESOURCE_REQUESTS, Violation, approval_standing, field_span, policy,
};
use sparkplane_core::image::{ImageRef, registry_of};
use sparkplane_core::render::RenderedObject;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::secrets::{InlineSecret, inline_secrets};
use sparkplane_core::sizing::{MIN_OVERHEAD, size_job};
use sparkplane_documents::source::Span;
use sparkplane_documents::yaml::{FieldPath, parse_single};

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
                    let source = sparkplane_documents::source::Source::new(format!("{name} data.{key}"), text);
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
                .and_then(|l| l.get(sparkplane_api::labels::APP_COMPONENT))
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
                    sparkplane_documents::yaml::NodeValue::Seq(items) => {
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
            let spark_container = name == sparkplane_core::render::common::DRIVER_CONTAINER
                || name == sparkplane_core::render::common::EXECUTOR_CONTAINER;
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
        // Spark's own default, 10 % of the heap truncated to whole MiB
        // (409 MiB for 4 GiB), is not below it.
        if overhead < heap / 10 {
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
/// credential and as a reference is [`sparkplane_core::secrets`]'.
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
    let (_, problems) = sparkplane_fit::check_quota_fit(&sized, &quota);
    for problem in problems.into_iter().filter(|p| p.severity == sparkplane_documents::Severity::Error) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_allow_list_matches_hosts_and_prefixes() {
        assert!(registry_allowed("registry.example.com/a/b", &["registry.example.com/a".into()]));
        assert!(!registry_allowed("registry.example.com/ab/b", &["registry.example.com/a".into()]));
        assert!(registry_allowed("busybox", &["docker.io".into()]));
    }
}
