//! Tenants: a `kind: Tenant` document is loaded, checked and rendered into
//! the objects that onboard a team onto a shared cluster: its Namespace (Pod
//! Security "restricted"), ResourceQuota, LimitRange, the Spark driver's
//! identity, its groups' RoleBindings and its NetworkPolicies, its Kueue
//! LocalQueue — and, given the platform's Queues file, the platform's Kueue
//! objects before them (`render_tenant_with_queues`).
//!
//! Owns: tenant loading (structure via the schema checker, meaning here, every
//! problem at once with a span), a directory's tenants each named once
//! ([`check_unique`]), as `tenant list` shows them ([`ListRow`]) and a name
//! that is none of them ([`unknown_tenant`]), and
//! tenant rendering. Must not: read files or talk to a cluster
//! (callers hand in a `Source`), or build its own driver RBAC (that is
//! `render::common::rbac_objects` with `DRIVER_RULES`, shared with jobs).

use std::collections::BTreeMap;
use std::net::IpAddr;

use k8s_openapi::api::core::v1::{
    LimitRange, LimitRangeItem, LimitRangeSpec, Namespace, ResourceQuota, ResourceQuotaSpec,
};
use k8s_openapi::api::networking::v1::{
    IPBlock, NetworkPolicy, NetworkPolicyEgressRule, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort,
    NetworkPolicySpec,
};
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use sparkplane_api::tenant::{
    AlertReceiver, Budget, ContainerAmounts, EgressRule, SecretRef, Tenant, TenantAlerting, TenantQueue, TenantSpec,
};

use sparkplane_core::catalog::JobTenant;
use sparkplane_core::kube_quantity::{KubeQuantity, Rounding};
use sparkplane_core::names::{is_dns1123_label, is_dns1123_subdomain, is_label_value};
use sparkplane_core::render::common::{self, DRIVER_RULES, RenderedObject};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::document::{check_api_version, expect_kind, read_checked};
use sparkplane_documents::schema::{Completeness, DocKind, schema};
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::{FieldPath, Node, parse_single};

/// The `kind:` of a tenant document.
pub const KIND: &str = "Tenant";
/// Name of the driver's ServiceAccount, Role and RoleBinding in every tenant namespace.
pub const DRIVER_ACCOUNT: &str = "spark-driver";
/// Port of the Spark UI on the driver.
pub const SPARK_UI_PORT: i32 = sparkplane_core::render::native::UI_PORT;
/// Label Spark puts on the driver and executors of one application (value: the app id).
pub const APP_SELECTOR_LABEL: &str = sparkplane_core::render::common::APP_SELECTOR_LABEL;
/// Label Spark puts on pods saying `driver` or `executor`.
pub const ROLE_LABEL: &str = sparkplane_core::render::common::SPARK_ROLE_LABEL;

/// A tenant that passed every check, and the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedTenant {
    /// The typed tenant.
    pub tenant: Tenant,
    /// Problems that do not stop rendering.
    pub warnings: Diagnostics,
}

/// Loads and checks a tenant document; every problem carries a span.
pub fn load_tenant(source: &Source) -> Result<LoadedTenant, Diagnostics> {
    let doc = parse_single(source)?;
    expect_kind(&doc, KIND, "a tenant file starts with `apiVersion: sparkplane.dev/v1alpha1` and `kind: Tenant`")?;
    let mut problems = schema(DocKind::Tenant).check(&doc, Completeness::Complete);
    if problems.has_errors() {
        // Quantities are text to the schema; their own errors belong in the same report.
        check_quantities(&doc, &mut problems);
        return Err(problems.sorted());
    }
    let tenant: Tenant =
        read_checked(&doc, "Tenant", "see examples/tenants/data-eng.yaml for every field of a Tenant")?;
    check_meaning(&doc, &tenant, &mut problems);
    if problems.has_errors() {
        return Err(problems);
    }
    Ok(LoadedTenant { tenant, warnings: problems })
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

/// Quota and limit quantities, each parsed where it is written; problems carry its span.
fn check_quantities(doc: &Node, out: &mut Diagnostics) -> BTreeMap<String, KubeQuantity> {
    let mut parsed = BTreeMap::new();
    for at in [
        "spec.quota.cpu",
        "spec.quota.memory",
        "spec.limitRange.defaults.cpu",
        "spec.limitRange.defaults.memory",
        "spec.limitRange.max.cpu",
        "spec.limitRange.max.memory",
    ] {
        let Some(node) = doc.get(&path(at)) else { continue };
        // Anything but text is a wrong type, which the schema reports.
        let Some(text) = node.as_str() else { continue };
        let mut error = |message: String, help: &str| {
            out.push(Diagnostic::error("bad-quantity", at, message).with_span(Some(node.span.clone())).with_help(help));
        };
        match text.parse::<KubeQuantity>() {
            Ok(v) if v.is_negative() => error(format!("`{text}` is negative"), "quotas and limits are zero or more"),
            Ok(v) => {
                parsed.insert(at.to_owned(), v);
            }
            Err(e) => {
                error(e.to_string(), "write a number with an optional suffix: `8`, `500m` (CPU), `64Gi` (memory)")
            }
        }
    }
    parsed
}

fn check_meaning(doc: &Node, tenant: &Tenant, out: &mut Diagnostics) {
    check_api_version(doc, &tenant.api_version, out);
    let mut error = |at: &str, code: &'static str, message: String, help: &str| {
        out.push(Diagnostic::error(code, at, message).with_span(Some(doc.span_for(&path(at)))).with_help(help));
    };
    check_names(tenant, &mut error);
    let spec = &tenant.spec;
    let parsed = check_quantities(doc, out);
    let mut error = |at: &str, code: &'static str, message: String, help: &str| {
        out.push(Diagnostic::error(code, at, message).with_span(Some(doc.span_for(&path(at)))).with_help(help));
    };
    check_limits_and_groups(spec, &parsed, &mut error);
    check_network(spec, &mut error);
    if let Some(budget) = &spec.budget {
        check_budget(budget, &mut error);
    }
    if let Some(alerting) = &spec.alerting {
        check_alerting(alerting, &mut error);
    }
    if let Some(queue) = &spec.queue {
        check_queue(queue, &mut error);
    }
    if spec.api_server_cidrs.is_empty() {
        out.push(
            Diagnostic::warning("no-api-server-cidrs", "spec.apiServerCidrs", "no API server CIDRs: under default-deny egress, drivers cannot create executors")
                .with_span(Some(doc.span_for(&path("spec"))))
                .with_help("add `apiServerCidrs:` with the API server's address as pods see it (`kubectl get endpoints kubernetes -n default`)"),
        );
    }
}

/// The team's queue: names Kueue takes, a weight above 0.
fn check_queue(queue: &TenantQueue, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    const DNS: &str = "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";
    if let Some(name) = &queue.name
        && !is_dns1123_subdomain(name)
    {
        error("spec.queue.name", "bad-name", format!("`{name}` cannot name a LocalQueue"), DNS);
    }
    if !is_dns1123_subdomain(&queue.cluster_queue) {
        error(
            "spec.queue.clusterQueue",
            "bad-name",
            format!("`{}` cannot name a ClusterQueue", queue.cluster_queue),
            DNS,
        );
    }
    if queue.weight == Some(0) {
        error(
            "spec.queue.weight",
            "bad-value",
            "a weight of 0 gives the team no share of its ClusterQueue".into(),
            "use 1 or more (the default is 1)",
        );
    }
}

/// The namespaces' names and the team and cost centre as label values.
fn check_names(tenant: &Tenant, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let ns_field = if tenant.spec.namespace.is_some() { "spec.namespace" } else { "metadata.name" };
    if !is_dns1123_label(tenant.namespace()) {
        error(
            ns_field,
            "bad-name",
            format!("`{}` is not a valid namespace name", tenant.namespace()),
            "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
        );
    }
    if !is_dns1123_label(tenant.platform_namespace()) {
        error(
            "spec.platformNamespace",
            "bad-name",
            format!("`{}` is not a valid namespace name", tenant.platform_namespace()),
            "name the namespace the platform ingress runs in",
        );
    }
    for (at, value) in [("spec.team", &tenant.spec.team), ("spec.costCenter", &tenant.spec.cost_center)] {
        if value.is_empty() || !is_label_value(value) {
            error(
                at,
                "bad-value",
                format!("`{value}` cannot be a label value"),
                "use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            );
        }
    }
}

/// LimitRange defaults within their maxima, GPU resource names and group names.
fn check_limits_and_groups(
    spec: &TenantSpec,
    parsed: &BTreeMap<String, KubeQuantity>,
    error: &mut impl FnMut(&str, &'static str, String, &str),
) {
    for resource in ["cpu", "memory"] {
        let default = parsed.get(&format!("spec.limitRange.defaults.{resource}"));
        let max = parsed.get(&format!("spec.limitRange.max.{resource}"));
        if let (Some(d), Some(m)) = (default, max)
            && d.scaled_magnitude(3, Rounding::Up) > m.scaled_magnitude(3, Rounding::Down)
        {
            error(
                &format!("spec.limitRange.defaults.{resource}"),
                "bad-value",
                format!("the default {resource} is above the maximum"),
                "lower the default or raise `max`: the API server rejects a LimitRange whose default exceeds max",
            );
        }
    }
    for name in spec.quota.gpus.keys() {
        if !sparkplane_core::names::is_label_key(name) {
            error(
                &format!("spec.quota.gpus.{name}"),
                "bad-name",
                format!("`{name}` is not an extended-resource name"),
                "use the device plugin's resource name, e.g. `nvidia.com/gpu`",
            );
        }
    }
    for (kind, groups) in
        [("admins", &spec.groups.admins), ("editors", &spec.groups.editors), ("viewers", &spec.groups.viewers)]
    {
        for (i, group) in groups.iter().enumerate() {
            if group.trim().is_empty() {
                error(
                    &format!("spec.groups.{kind}[{i}]"),
                    "bad-value",
                    "a group name is empty".into(),
                    "remove it or name the group",
                );
            }
        }
    }
}

/// Egress rules (unique NetworkPolicy names, CIDRs, ports) and the API server's CIDRs.
fn check_network(spec: &TenantSpec, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let mut names = std::collections::BTreeSet::new();
    for (i, rule) in spec.egress.iter().enumerate() {
        let at = format!("spec.egress[{i}]");
        if !is_dns1123_label(&rule.name) || rule.name.len() > 40 {
            error(
                &format!("{at}.name"),
                "bad-name",
                format!("`{}` cannot name a NetworkPolicy", rule.name),
                "use at most 40 lower-case letters, digits and '-'",
            );
        } else if !names.insert(rule.name.as_str()) {
            error(
                &format!("{at}.name"),
                "duplicate",
                format!("egress `{}` is declared twice", rule.name),
                "give each egress rule its own name",
            );
        }
        if rule.cidrs.is_empty() {
            error(
                &format!("{at}.cidrs"),
                "missing-field",
                "an egress rule needs at least one CIDR".into(),
                "add e.g. `cidrs: [10.20.0.0/16]`",
            );
        }
        for (j, cidr) in rule.cidrs.iter().enumerate() {
            check_cidr(cidr, &format!("{at}.cidrs[{j}]"), error);
        }
        for (j, port) in rule.ports.iter().enumerate() {
            if port.port == 0 {
                error(&format!("{at}.ports[{j}].port"), "bad-value", "port 0 is not a port".into(), "use 1–65535");
            }
        }
    }
    for (j, cidr) in spec.api_server_cidrs.iter().enumerate() {
        check_cidr(cidr, &format!("spec.apiServerCidrs[{j}]"), error);
    }
}

/// A monthly budget above zero, warning at most at the critical percentage.
fn check_budget(budget: &Budget, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    if !(budget.monthly.is_finite() && budget.monthly > 0.0) {
        error(
            "spec.budget.monthly",
            "bad-value",
            "the monthly budget must be above zero".into(),
            "write the amount per month, e.g. `monthly: 12000`",
        );
    }
    if budget.warning() == 0 || budget.warning() > budget.critical() {
        error(
            "spec.budget.warningPercent",
            "bad-value",
            format!("warning at {}% must be above 0 and at most the critical {}%", budget.warning(), budget.critical()),
            "e.g. `warningPercent: 80` and `criticalPercent: 100`",
        );
    }
}

/// Receivers: unique names, one destination each, secrets by reference only,
/// and severity lists that name receivers the tenant declares.
fn check_alerting(alerting: &TenantAlerting, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let mut seen = std::collections::BTreeSet::new();
    for (i, receiver) in alerting.receivers.iter().enumerate() {
        let at = format!("spec.alerting.receivers[{i}]");
        if !is_dns1123_label(&receiver.name) {
            error(
                &format!("{at}.name"),
                "bad-name",
                format!("`{}` is not a valid receiver name", receiver.name),
                "use at most 63 lower-case letters, digits and '-', starting and ending with a letter or digit",
            );
        } else if !seen.insert(receiver.name.as_str()) {
            error(
                &format!("{at}.name"),
                "duplicate-receiver",
                format!("receiver `{}` is declared twice", receiver.name),
                "give each receiver its own name",
            );
        }
        let kinds = [
            receiver.slack.is_some(),
            receiver.pagerduty.is_some(),
            receiver.opsgenie.is_some(),
            receiver.email.is_some(),
            receiver.webhook.is_some(),
        ];
        if kinds.iter().filter(|k| **k).count() != 1 {
            error(
                &at,
                "receiver-destination",
                format!(
                    "receiver `{}` must have exactly one of slack, pagerduty, opsgenie, email, webhook",
                    receiver.name
                ),
                "split a receiver with several destinations into one receiver per destination",
            );
        }
        let mut secret = |field: &str, r: &SecretRef| check_secret_ref(&at, field, r, error);
        if let Some(slack) = &receiver.slack {
            secret("slack.apiUrl", &slack.api_url);
        }
        if let Some(pd) = &receiver.pagerduty {
            secret("pagerduty.routingKey", &pd.routing_key);
        }
        if let Some(og) = &receiver.opsgenie {
            secret("opsgenie.apiKey", &og.api_key);
        }
        if let Some(token) = receiver.webhook.as_ref().and_then(|w| w.bearer_token.as_ref()) {
            secret("webhook.bearerToken", token);
        }
        check_addresses(&at, receiver, error);
    }
    for (field, names) in [("critical", &alerting.critical), ("warning", &alerting.warning), ("info", &alerting.info)] {
        for (j, name) in names.iter().enumerate() {
            if !alerting.receivers.iter().any(|r| &r.name == name) {
                let known: Vec<&str> = alerting.receivers.iter().map(|r| r.name.as_str()).collect();
                error(
                    &format!("spec.alerting.{field}[{j}]"),
                    "unknown-receiver",
                    format!("no receiver is named `{name}`"),
                    &if known.is_empty() {
                        "declare it under `spec.alerting.receivers`".to_owned()
                    } else {
                        format!("name one of: {}", known.join(", "))
                    },
                );
            }
        }
    }
}

/// A reference to a secret: a Secret's name and key, or an absolute file, never the value.
fn check_secret_ref(at: &str, field: &str, r: &SecretRef, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    match (&r.secret, &r.file) {
        (Some(key), None) => {
            if !is_dns1123_subdomain(&key.name) || key.key.is_empty() {
                error(
                    &format!("{at}.{field}.secret"),
                    "bad-secret-ref",
                    format!("`{}`/`{}` is not a Secret name and key", key.name, key.key),
                    "write `secret: {name: <Secret>, key: <key>}`",
                );
            }
        }
        (None, Some(file)) if file.starts_with('/') => {}
        (None, Some(file)) => error(
            &format!("{at}.{field}.file"),
            "bad-secret-ref",
            format!("`{file}` is not an absolute path"),
            "name the file as Alertmanager sees it, e.g. /etc/alertmanager/secrets/slack/url",
        ),
        _ => error(
            &format!("{at}.{field}"),
            "bad-secret-ref",
            "a secret reference needs exactly one of `secret` and `file`".into(),
            "write `secret: {name: <Secret>, key: <key>}` or `file: /path/alertmanager/reads`; never the value",
        ),
    }
}

/// An email receiver's address, and a webhook's http(s) URL without credentials in it.
fn check_addresses(at: &str, receiver: &AlertReceiver, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    if let Some(email) = &receiver.email
        && !email.to.split_once('@').is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
    {
        error(
            &format!("{at}.email.to"),
            "bad-value",
            format!("`{}` is not an email address", email.to),
            "write the address alerts go to, e.g. data-eng-oncall@example.com",
        );
    }
    if let Some(webhook) = &receiver.webhook {
        let rest = webhook.url.strip_prefix("https://").or_else(|| webhook.url.strip_prefix("http://"));
        let authority = rest.map(|r| r.split(['/', '?', '#']).next().unwrap_or_default());
        match authority {
            None | Some("") => error(
                &format!("{at}.webhook.url"),
                "bad-value",
                format!("`{}` is not an http or https URL", webhook.url),
                "write the endpoint, e.g. https://hooks.example.com/alertmanager",
            ),
            Some(a) if a.contains('@') => error(
                &format!("{at}.webhook.url"),
                "inline-secret",
                "the webhook URL carries credentials".into(),
                "remove them from the URL and reference the token with `bearerToken: {secret: {name, key}}`",
            ),
            Some(_) => {}
        }
    }
}

fn check_cidr(cidr: &str, at: &str, error: &mut impl FnMut(&str, &'static str, String, &str)) {
    let ok = cidr.split_once('/').is_some_and(|(ip, bits)| match (ip.parse::<IpAddr>(), bits.parse::<u8>()) {
        (Ok(IpAddr::V4(_)), Ok(b)) => b <= 32,
        (Ok(IpAddr::V6(_)), Ok(b)) => b <= 128,
        _ => false,
    });
    if !ok {
        error(
            at,
            "bad-value",
            format!("`{cidr}` is not a CIDR"),
            "write an address block such as `10.20.0.0/16` (a single host is `/32`)",
        );
    }
}

/// Labels every object of the tenant carries.
pub fn tenant_labels(tenant: &Tenant) -> BTreeMap<String, String> {
    BTreeMap::from([
        sparkplane_api::labels::managed_by_sparkplane(),
        (sparkplane_api::labels::TENANT.to_owned(), tenant.metadata.name.clone()),
        (sparkplane_api::labels::TEAM.to_owned(), tenant.spec.team.clone()),
        (sparkplane_api::labels::COST_CENTER.to_owned(), tenant.spec.cost_center.clone()),
    ])
}

fn meta(tenant: &Tenant, name: &str) -> ObjectMeta {
    ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(tenant.namespace().to_owned()),
        labels: Some(tenant_labels(tenant)),
        ..Default::default()
    }
}

/// Renders a checked tenant's objects, sorted as `common::sort_objects` orders them.
pub fn render_tenant(tenant: &Tenant) -> Vec<RenderedObject> {
    let mut objects = vec![namespace(tenant), quota(tenant)];
    objects.push(limit_range(tenant));
    objects.extend(driver_rbac(tenant));
    objects.extend(group_access(tenant));
    objects.extend(network_policies(tenant));
    // The team's Kueue LocalQueue, when the file names its queue (ADR 0073).
    objects.extend(sparkplane_core::queues::local_queue(tenant, &tenant_labels(tenant)));
    common::sort_objects(&mut objects);
    objects
}

/// What `tenant render` writes, and the warnings found on the way.
#[derive(Clone, Debug)]
pub struct RenderedTenant {
    /// The platform's Kueue objects when a Queues file was given (ResourceFlavors,
    /// priority classes, ClusterQueues), then the tenant's own objects.
    pub objects: Vec<RenderedObject>,
    /// Problems that do not stop rendering, of both files.
    pub warnings: Diagnostics,
}

/// Loads a tenant file and, when given, the platform's Queues file, and
/// renders them: the platform's Kueue objects (`sparkplane_core::queues`,
/// their ClusterQueues with cohort, quotas, borrowing and lending limits and
/// fair-sharing weight) first, then the team's objects with its LocalQueue.
/// The ClusterQueue the tenant's queue feeds must be one the Queues file
/// declares (an error at the tenant's `spec.queue.clusterQueue`). Every
/// problem of both files comes back together, each at its line and column.
pub fn render_tenant_with_queues(tenant: &Source, queues: Option<&Source>) -> Result<RenderedTenant, Diagnostics> {
    let loaded_tenant = load_tenant(tenant);
    let loaded_queues = queues.map(sparkplane_core::queues::load_queues).transpose();
    let (loaded, platform) = match (loaded_tenant, loaded_queues) {
        (Ok(t), Ok(q)) => (t, q),
        (t, q) => {
            let mut problems = Diagnostics::new();
            problems.extend(t.err().unwrap_or_default());
            problems.extend(q.err().unwrap_or_default());
            return Err(problems.sorted());
        }
    };
    let mut warnings = loaded.warnings;
    let mut objects = Vec::new();
    if let Some(platform) = platform {
        if let Some(problem) = sparkplane_core::queues::check_tenant_queue(&loaded.tenant, &platform.queues) {
            let span = parse_single(tenant).ok().map(|doc| doc.span_for(&path(&problem.path)));
            return Err(problem.with_span(span).into());
        }
        warnings.extend(platform.warnings);
        objects.extend(sparkplane_core::queues::render_queues(&platform.queues));
    }
    objects.extend(render_tenant(&loaded.tenant));
    Ok(RenderedTenant { objects, warnings })
}

fn namespace(tenant: &Tenant) -> RenderedObject {
    let mut labels = tenant_labels(tenant);
    for mode in ["enforce", "audit", "warn"] {
        labels.insert(format!("pod-security.kubernetes.io/{mode}"), "restricted".into());
        labels.insert(format!("pod-security.kubernetes.io/{mode}-version"), "latest".into());
    }
    let mut annotations = BTreeMap::new();
    if let Some(description) = &tenant.metadata.description {
        annotations.insert(sparkplane_api::labels::DESCRIPTION.to_owned(), description.clone());
    }
    if let Some(budget) = &tenant.spec.budget {
        annotations.insert(sparkplane_api::labels::BUDGET_MONTHLY.to_owned(), budget.monthly.to_string());
        annotations.insert(sparkplane_api::labels::BUDGET_WARNING_PERCENT.to_owned(), budget.warning().to_string());
        annotations.insert(sparkplane_api::labels::BUDGET_CRITICAL_PERCENT.to_owned(), budget.critical().to_string());
    }
    let ns = Namespace {
        metadata: ObjectMeta {
            name: Some(tenant.namespace().to_owned()),
            labels: Some(labels),
            annotations: if annotations.is_empty() { None } else { Some(annotations) },
            ..Default::default()
        },
        ..Default::default()
    };
    RenderedObject::from_resource(&ns)
}

fn quota(tenant: &Tenant) -> RenderedObject {
    let q = &tenant.spec.quota;
    let mut hard: BTreeMap<String, Quantity> = BTreeMap::new();
    if let Some(cpu) = &q.cpu {
        hard.insert("requests.cpu".into(), cpu.clone());
    }
    if let Some(memory) = &q.memory {
        hard.insert("requests.memory".into(), memory.clone());
        hard.insert("limits.memory".into(), memory.clone());
    }
    for (gpu, count) in &q.gpus {
        hard.insert(format!("requests.{gpu}"), Quantity(count.to_string()));
    }
    for (key, value) in [
        ("pods", q.pods),
        ("persistentvolumeclaims", q.pvcs),
        ("count/configmaps", q.configmaps),
        ("count/services", q.services),
    ] {
        if let Some(n) = value {
            hard.insert(key.into(), Quantity(n.to_string()));
        }
    }
    let quota = ResourceQuota {
        metadata: meta(tenant, "tenant-quota"),
        spec: Some(ResourceQuotaSpec { hard: Some(hard), ..Default::default() }),
        ..Default::default()
    };
    RenderedObject::from_resource(&quota)
}

/// What a container asking for nothing gets when the tenant sets no
/// `limitRange`: enough for a sidecar or a debugging pod, and never unbounded
/// memory (a ResourceQuota on memory rejects pods without requests and limits).
const DEFAULT_CONTAINER_CPU: &str = "250m";
/// See [`DEFAULT_CONTAINER_CPU`].
const DEFAULT_CONTAINER_MEMORY: &str = "512Mi";

/// Container defaults, always rendered (the tenant's `limitRange`, else
/// [`DEFAULT_CONTAINER_CPU`] and [`DEFAULT_CONTAINER_MEMORY`]). Memory gets a
/// default limit and request. CPU gets a default request only, plus a default
/// limit equal to `max.cpu` when a maximum is set (a LimitRange `max` rejects
/// containers without a limit): a smaller default CPU limit would reject Spark
/// pods whose request is above it.
fn limit_range(tenant: &Tenant) -> RenderedObject {
    let fallback = sparkplane_api::tenant::TenantLimitRange {
        defaults: ContainerAmounts {
            cpu: Some(Quantity(DEFAULT_CONTAINER_CPU.to_owned())),
            memory: Some(Quantity(DEFAULT_CONTAINER_MEMORY.to_owned())),
        },
        max: None,
    };
    let lr = tenant.spec.limit_range.as_ref().unwrap_or(&fallback);
    let max = lr.max.clone().unwrap_or_default();
    let pair = |entries: [(&str, &Option<Quantity>); 2]| {
        let map: BTreeMap<String, Quantity> =
            entries.into_iter().filter_map(|(k, v)| v.clone().map(|v| (k.to_owned(), v))).collect();
        if map.is_empty() { None } else { Some(map) }
    };
    let item = LimitRangeItem {
        type_: "Container".into(),
        default: pair([("cpu", &max.cpu), ("memory", &lr.defaults.memory)]),
        default_request: pair([("cpu", &lr.defaults.cpu), ("memory", &lr.defaults.memory)]),
        max: pair([("cpu", &max.cpu), ("memory", &max.memory)]),
        ..Default::default()
    };
    let range =
        LimitRange { metadata: meta(tenant, "tenant-limits"), spec: Some(LimitRangeSpec { limits: vec![item] }) };
    RenderedObject::from_resource(&range)
}

/// The driver's ServiceAccount, Role and RoleBinding, from the one RBAC
/// builder jobs use, with the tenant's labels.
fn driver_rbac(tenant: &Tenant) -> Vec<RenderedObject> {
    common::rbac_objects_in(meta(tenant, DRIVER_ACCOUNT), DRIVER_RULES)
}

/// What each access level may do: (API groups, resources, verbs).
type Rule = (&'static [&'static str], &'static [&'static str], &'static [&'static str]);

const READ: &[&str] = &["get", "list", "watch"];
const MANAGE: &[&str] = &["create", "delete", "get", "list", "patch", "update", "watch"];
const JOBS: &[&str] = &["sparkjobs", "scheduledsparkjobs"];
const JOB_STATUS: &[&str] = &["sparkjobs/status", "scheduledsparkjobs/status"];
const POD_READS: &[&str] = &["pods", "pods/log", "events"];

const VIEW_RULES: &[Rule] =
    &[(&["sparkplane.dev"], JOBS, READ), (&["sparkplane.dev"], JOB_STATUS, READ), (&[""], POD_READS, READ)];
const EDIT_RULES: &[Rule] =
    &[(&["sparkplane.dev"], JOBS, MANAGE), (&["sparkplane.dev"], JOB_STATUS, READ), (&[""], POD_READS, READ)];
const ADMIN_RULES: &[Rule] = &[
    (&["sparkplane.dev"], JOBS, MANAGE),
    (&["sparkplane.dev"], JOB_STATUS, READ),
    (&[""], POD_READS, READ),
    // Stuck drivers and executors can be removed by hand.
    (&[""], &["pods"], &["delete"]),
    (&[""], &["resourcequotas", "limitranges"], READ),
    (&["networking.k8s.io"], &["networkpolicies"], READ),
];
const SECRET_READS: Rule = (&[""], &["secrets"], READ);

/// The access levels: name suffix, rules, whether secret reads may be granted.
fn access_levels(tenant: &Tenant) -> [(&'static str, &'static [Rule], bool, &[String]); 3] {
    let g = &tenant.spec.groups;
    [
        ("admin", ADMIN_RULES, true, &g.admins),
        ("edit", EDIT_RULES, true, &g.editors),
        ("view", VIEW_RULES, false, &g.viewers),
    ]
}

/// A namespaced Role per access level that has groups, and the RoleBinding
/// giving it to them. Secrets are readable by admins and editors only when
/// `allowSecretReads` is set; viewers never read them.
fn group_access(tenant: &Tenant) -> Vec<RenderedObject> {
    let mut objects = Vec::new();
    for (level, rules, may_read_secrets, groups) in access_levels(tenant) {
        if groups.is_empty() {
            continue;
        }
        let name = format!("sparkplane-tenant-{level}");
        let mut rules: Vec<Rule> = rules.to_vec();
        if may_read_secrets && tenant.spec.allow_secret_reads {
            rules.push(SECRET_READS);
        }
        let rules = rules
            .iter()
            .map(|(api_groups, resources, verbs)| PolicyRule {
                api_groups: Some(api_groups.iter().map(|s| (*s).to_owned()).collect()),
                resources: Some(resources.iter().map(|s| (*s).to_owned()).collect()),
                verbs: verbs.iter().map(|s| (*s).to_owned()).collect(),
                ..Default::default()
            })
            .collect();
        let role = Role { metadata: meta(tenant, &name), rules: Some(rules) };
        let mut sorted: Vec<&String> = groups.iter().collect();
        sorted.sort();
        sorted.dedup();
        let binding = RoleBinding {
            metadata: meta(tenant, &name),
            role_ref: RoleRef {
                api_group: "rbac.authorization.k8s.io".into(),
                kind: "Role".into(),
                name: name.clone(),
            },
            subjects: Some(
                sorted
                    .into_iter()
                    .map(|group| Subject {
                        kind: "Group".into(),
                        name: group.clone(),
                        api_group: Some("rbac.authorization.k8s.io".into()),
                        ..Default::default()
                    })
                    .collect(),
            ),
        };
        objects.push(RenderedObject::from_resource(&role));
        objects.push(RenderedObject::from_resource(&binding));
    }
    objects
}

fn selector(labels: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()),
        ..Default::default()
    }
}

/// Pods of any Spark application: those carrying `spark-app-selector`.
fn spark_pods() -> LabelSelector {
    LabelSelector {
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: APP_SELECTOR_LABEL.into(),
            operator: "Exists".into(),
            values: None,
        }]),
        ..Default::default()
    }
}

fn namespace_peer(namespace: &str, pods: Option<LabelSelector>) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(selector(&[("kubernetes.io/metadata.name", namespace)])),
        pod_selector: pods,
        ..Default::default()
    }
}

fn port(number: i32, protocol: &str) -> NetworkPolicyPort {
    NetworkPolicyPort {
        port: Some(IntOrString::Int(number)),
        protocol: Some(protocol.to_owned()),
        ..Default::default()
    }
}

fn cidr_peers(cidrs: &[String]) -> Vec<NetworkPolicyPeer> {
    cidrs
        .iter()
        .map(|cidr| NetworkPolicyPeer {
            ip_block: Some(IPBlock { cidr: cidr.clone(), except: None }),
            ..Default::default()
        })
        .collect()
}

fn policy(tenant: &Tenant, name: &str, spec: NetworkPolicySpec) -> RenderedObject {
    RenderedObject::from_resource(&NetworkPolicy { metadata: meta(tenant, name), spec: Some(spec) })
}

fn egress_policy(tenant: &Tenant, rule: &EgressRule) -> RenderedObject {
    let ports: Vec<NetworkPolicyPort> =
        rule.ports.iter().map(|p| port(i32::from(p.port), p.protocol.unwrap_or_default().as_str())).collect();
    policy(
        tenant,
        &format!("allow-egress-{}", rule.name),
        NetworkPolicySpec {
            pod_selector: Some(spark_pods()),
            policy_types: Some(vec!["Egress".into()]),
            egress: Some(vec![NetworkPolicyEgressRule {
                to: Some(cidr_peers(&rule.cidrs)),
                ports: if ports.is_empty() { None } else { Some(ports) },
            }]),
            ..Default::default()
        },
    )
}

/// Default deny for ingress and egress, then the holes Spark needs.
fn network_policies(tenant: &Tenant) -> Vec<RenderedObject> {
    let mut policies = vec![
        policy(
            tenant,
            "default-deny",
            NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec!["Ingress".into(), "Egress".into()]),
                ..Default::default()
            },
        ),
        policy(
            tenant,
            "allow-dns",
            NetworkPolicySpec {
                pod_selector: Some(LabelSelector::default()),
                policy_types: Some(vec!["Egress".into()]),
                egress: Some(vec![NetworkPolicyEgressRule {
                    to: Some(vec![namespace_peer("kube-system", Some(selector(&[("k8s-app", "kube-dns")])))]),
                    ports: Some(vec![port(53, "UDP"), port(53, "TCP")]),
                }]),
                ..Default::default()
            },
        ),
        // Driver ↔ executors. A NetworkPolicy cannot say "the same value of
        // spark-app-selector", so the tenant only lets Spark pods send to
        // Spark pods of this namespace; what each pod accepts is its own
        // application's NetworkPolicy, rendered with the job (`<run>-peers`,
        // ingress from the same application only). Both ends must allow a
        // connection, so one application cannot reach another's pods.
        policy(
            tenant,
            "allow-spark-egress-in-namespace",
            NetworkPolicySpec {
                pod_selector: Some(spark_pods()),
                policy_types: Some(vec!["Egress".into()]),
                egress: Some(vec![NetworkPolicyEgressRule {
                    to: Some(vec![NetworkPolicyPeer { pod_selector: Some(spark_pods()), ..Default::default() }]),
                    ports: None,
                }]),
                ..Default::default()
            },
        ),
        policy(
            tenant,
            "allow-spark-ui",
            NetworkPolicySpec {
                pod_selector: Some(selector(&[(ROLE_LABEL, "driver")])),
                policy_types: Some(vec!["Ingress".into()]),
                ingress: Some(vec![NetworkPolicyIngressRule {
                    from: Some(vec![namespace_peer(tenant.platform_namespace(), None)]),
                    ports: Some(vec![port(SPARK_UI_PORT, "TCP")]),
                }]),
                ..Default::default()
            },
        ),
    ];
    // The driver creates executors through the API server. Its address as
    // pods see it is cluster-specific (a Service VIP is translated to the
    // endpoints before policy applies), so it must be declared in
    // `apiServerCidrs`; without it no policy is rendered and `load_tenant` warns.
    if !tenant.spec.api_server_cidrs.is_empty() {
        policies.push(policy(
            tenant,
            "allow-driver-apiserver",
            NetworkPolicySpec {
                pod_selector: Some(selector(&[(ROLE_LABEL, "driver")])),
                policy_types: Some(vec!["Egress".into()]),
                egress: Some(vec![NetworkPolicyEgressRule {
                    to: Some(cidr_peers(&tenant.spec.api_server_cidrs)),
                    ports: Some(vec![port(443, "TCP"), port(6443, "TCP")]),
                }]),
                ..Default::default()
            },
        ));
    }
    policies.extend(tenant.spec.egress.iter().map(|rule| egress_policy(tenant, rule)));
    policies
}

/// The job's tenant among `tenants` (read from `dir`, named in messages), by
/// the one rule (`sparkplane_core::catalog::job_tenant`): the one whose
/// namespace is the job's; when the job names no namespace, the one tenant
/// of the job's team. Otherwise an `unknown-tenant` error that says which
/// tenants there are and how to choose.
pub fn tenant_for_job(job: &ResolvedJob, tenants: Vec<Tenant>, dir: &std::path::Path) -> Result<Tenant, Diagnostic> {
    let explicit = job.job.metadata.namespace.is_some();
    let team = job.job.spec.team.as_deref().unwrap_or_default();
    let of_team: Vec<&Tenant> =
        match sparkplane_core::catalog::job_tenant(&tenants, job.job.metadata.namespace.as_deref(), team) {
            JobTenant::One(tenant) => return Ok(tenant.clone()),
            JobTenant::Ambiguous(several) => several,
            JobTenant::Unknown => Vec::new(),
        };
    let known: Vec<String> = tenants
        .iter()
        .map(|t| format!("{} (namespace {}, team {})", t.metadata.name, t.namespace(), t.spec.team))
        .collect();
    let wanted = if explicit || team.is_empty() {
        format!("namespace `{}`", job.namespace())
    } else if of_team.is_empty() {
        format!("namespace `{}` or team `{team}`", job.namespace())
    } else {
        let names: Vec<&str> = of_team.iter().map(|t| t.metadata.name.as_str()).collect();
        return Err(Diagnostic::error(
            "unknown-tenant",
            "--tenants",
            format!(
                "{} tenants in {} belong to team `{team}` ({}) and the job names no namespace",
                names.len(),
                dir.display(),
                names.join(", ")
            ),
        )
        .with_help("set the job's metadata.namespace (or pass -n NS) to say which tenant it runs under"));
    };
    Err(Diagnostic::error("unknown-tenant", "--tenants", format!("no tenant in {} has {wanted}", dir.display()))
        .with_help(format!(
            "add a tenant file for it, or run the job in a tenant's namespace (tenants there: {})",
            if known.is_empty() { "none".to_owned() } else { known.join(", ") }
        )))
}

/// A name given to two tenants of a directory (the files and their tenants,
/// sorted by path): an error naming both files.
pub fn check_unique(tenants: &[(std::path::PathBuf, Tenant)]) -> Diagnostics {
    let mut problems = Diagnostics::new();
    let mut seen = BTreeMap::new();
    for (path, tenant) in tenants {
        if let Some(first) = seen.insert(tenant.metadata.name.clone(), path.clone()) {
            let message =
                format!("tenant `{}` is defined in {} and {}", tenant.metadata.name, first.display(), path.display());
            problems.push(
                Diagnostic::error("duplicate", "metadata.name", message).with_help("give each tenant its own name"),
            );
        }
    }
    problems
}

/// That `tenants` (read from `dir`, named in the message) has no tenant
/// `name`: the nearest name, else every one.
pub fn unknown_tenant(name: &str, dir: &std::path::Path, tenants: &[(std::path::PathBuf, Tenant)]) -> Diagnostic {
    let known: Vec<&str> = tenants.iter().map(|(_, t)| t.metadata.name.as_str()).collect();
    let diag = Diagnostic::error("unknown-tenant", "", format!("there is no tenant `{name}` in {}", dir.display()));
    match sparkplane_documents::schema::did_you_mean(name, known.iter().copied()) {
        Some(guess) => diag.with_help(format!("did you mean `{guess}`?")),
        None => diag.with_help(format!("tenants there: {}", known.join(", "))),
    }
}

/// One row of `tenant list`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ListRow {
    name: String,
    team: String,
    namespace: String,
    cpu: String,
    memory: String,
    budget: String,
    file: String,
}

impl ListRow {
    /// The tenant read from `path`, as `tenant list` shows it.
    pub fn of(path: &std::path::Path, t: Tenant) -> ListRow {
        ListRow {
            namespace: t.namespace().to_owned(),
            cpu: t.spec.quota.cpu.as_ref().map(|q| q.0.clone()).unwrap_or_else(|| "-".into()),
            memory: t.spec.quota.memory.as_ref().map(|q| q.0.clone()).unwrap_or_else(|| "-".into()),
            budget: t.spec.budget.as_ref().map(|b| format!("{}/month", b.monthly)).unwrap_or_else(|| "-".into()),
            name: t.metadata.name,
            team: t.spec.team,
            file: path.display().to_string(),
        }
    }

    /// The rows as `tenant list`'s table.
    pub fn table(rows: &[ListRow]) -> String {
        let mut table =
            sparkplane_documents::table::Table::new(&["NAME", "TEAM", "NAMESPACE", "CPU", "MEMORY", "BUDGET"]);
        for row in rows {
            table.row(vec![
                row.name.clone(),
                row.team.clone(),
                row.namespace.clone(),
                row.cpu.clone(),
                row.memory.clone(),
                row.budget.clone(),
            ]);
        }
        table.render()
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::{ListRow, Tenant, check_unique, unknown_tenant};

    fn tenant(name: &str, quota: serde_json::Value) -> Tenant {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": name},
            "spec": {"team": "data", "costCenter": "cc-1", "quota": quota},
        }))
        .expect("a tenant")
    }

    #[test]
    fn a_name_given_twice_names_both_files() {
        let tenants = [
            (PathBuf::from("t/a.yaml"), tenant("a", serde_json::json!({}))),
            (PathBuf::from("t/b.yaml"), tenant("a", serde_json::json!({}))),
            (PathBuf::from("t/c.yaml"), tenant("c", serde_json::json!({}))),
        ];
        let problems = check_unique(&tenants);
        assert_eq!(problems.0.len(), 1);
        assert_eq!(problems.0[0].message, "tenant `a` is defined in t/a.yaml and t/b.yaml");
        assert!(check_unique(&tenants[1..]).is_empty());
    }

    #[test]
    fn an_unknown_tenant_names_the_nearest_or_every_one() {
        let tenants = [(PathBuf::from("t/etl.yaml"), tenant("etl", serde_json::json!({})))];
        let near = unknown_tenant("et", Path::new("t"), &tenants);
        assert_eq!((near.code, near.message.as_str()), ("unknown-tenant", "there is no tenant `et` in t"));
        assert_eq!(near.help.as_deref(), Some("did you mean `etl`?"));
        assert_eq!(unknown_tenant("zzzzzzzz", Path::new("t"), &tenants).help.as_deref(), Some("tenants there: etl"));
    }

    #[test]
    fn the_list_shows_quota_and_budget_or_dashes() {
        let rows = [
            ListRow::of(Path::new("t/a.yaml"), tenant("a", serde_json::json!({"cpu": "16", "memory": "64Gi"}))),
            ListRow::of(Path::new("t/b.yaml"), tenant("b", serde_json::json!({}))),
        ];
        assert_eq!(
            ListRow::table(&rows),
            "NAME  TEAM  NAMESPACE  CPU  MEMORY  BUDGET\n\
             a     data  a          16   64Gi    -\n\
             b     data  b          -    -       -\n"
        );
        assert_eq!(rows[0].file, "t/a.yaml");
    }
}
