//! The platform's queues: a `kind: Queues` document is loaded, checked and
//! rendered into the Kueue objects teams share — ResourceFlavors,
//! ClusterQueues (cohort, nominal quotas, borrowing and lending limits,
//! fair-sharing weight, preemption), WorkloadPriorityClasses with a
//! PriorityClass of the same name and value — and a tenant's LocalQueue.
//! It also says whether a job could ever be admitted by a ClusterQueue's
//! quota, for `fit` (ADR 0073).
//!
//! Owns: the Queues document's meaning and the platform's Kueue objects,
//! and what the schedulers must be configured with to enforce them
//! (`configuration_needed`).
//! Must not: read files or talk to a cluster (callers hand in a `Source`),
//! or build a job's Workload (that is `render::kueue`).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::scheduling::v1::PriorityClass;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde::Serialize;
use serde_json::{Value, json};
use sparkplane_api::queues::{ClusterQueueSpec, PreemptionPolicy, Queues, QueuesSpec, ResourceQuota};
use sparkplane_api::tenant::{DEFAULT_LOCAL_QUEUE, Tenant};

use crate::catalog::{Catalog, JobTenant};
use crate::kube_quantity::{KubeQuantity, Rounding};
use crate::names::is_dns1123_subdomain;
use crate::render::common::RenderedObject;
use crate::render::queue_routes::QueueScheduler;
use crate::render::queue_routes::scheduler_queue;
use crate::resolved::ResolvedJob;
use crate::sizing::SizedJob;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::document::{check_api_version, expect_kind, read_checked};
use sparkplane_documents::schema::{Completeness, schema_of};
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::{FieldPath, Node, parse_single};

/// The `kind:` of a queues document.
pub const KIND: &str = "Queues";
/// Kueue's API group and the version sparkplane writes (ADR 0072).
pub const KUEUE_API_VERSION: &str = "kueue.x-k8s.io/v1beta2";

/// A queues document that passed every check, and the warnings found on the way.
#[derive(Clone, Debug, PartialEq)]
pub struct LoadedQueues {
    /// The typed document.
    pub queues: Queues,
    /// Problems that do not stop rendering.
    pub warnings: Diagnostics,
}

fn path(text: &str) -> FieldPath {
    FieldPath::parse(text).unwrap_or_default()
}

/// Loads and checks a queues document; every problem carries a span.
pub fn load_queues(source: &Source) -> Result<LoadedQueues, Diagnostics> {
    let doc = parse_single(source)?;
    expect_kind(&doc, KIND, "a queues file starts with `apiVersion: sparkplane.dev/v1alpha1` and `kind: Queues`")?;
    let mut problems = schema_of::<Queues>().check(&doc, Completeness::Complete);
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    let queues: Queues =
        read_checked(&doc, "Queues", "see examples/platform/queues.yaml for every field of a Queues file")?;
    check_api_version(&doc, &queues.api_version, &mut problems);
    check_meaning(&doc, &queues, &mut problems);
    if problems.has_errors() {
        return Err(problems.sorted());
    }
    Ok(LoadedQueues { queues, warnings: problems })
}

/// A quantity in thousandths of its unit (millicores, millibytes, milli-GPUs).
fn milli(text: &str) -> Option<u128> {
    text.parse::<KubeQuantity>().ok().filter(|q| !q.is_negative()).and_then(|q| q.scaled_magnitude(3, Rounding::Up))
}

/// Where the meaning checks write: each problem with its span in the document.
struct Problems<'a> {
    doc: &'a Node,
    out: &'a mut Diagnostics,
}

impl Problems<'_> {
    fn error(&mut self, at: &str, code: &'static str, message: String, help: &str) {
        self.out
            .push(Diagnostic::error(code, at, message).with_span(Some(self.doc.span_for(&path(at)))).with_help(help));
    }
}

fn check_meaning(doc: &Node, queues: &Queues, out: &mut Diagnostics) {
    let mut problems = Problems { doc, out };
    let spec = &queues.spec;
    check_flavors(&mut problems, spec);
    check_priority_classes(&mut problems, spec);
    let mut names = BTreeSet::new();
    for (i, cq) in spec.cluster_queues.iter().enumerate() {
        let at = format!("spec.clusterQueues[{i}]");
        check_cluster_queue(&mut problems, &at, cq, &mut names);
        check_quotas(&mut problems, &at, cq, spec);
    }
}

/// Flavors: valid and distinct names, at most 8 node labels and tolerations.
fn check_flavors(problems: &mut Problems<'_>, spec: &QueuesSpec) {
    let mut flavors = BTreeSet::new();
    for (i, flavor) in spec.flavors.iter().enumerate() {
        let at = format!("spec.flavors[{i}].name");
        if !is_dns1123_subdomain(&flavor.name) {
            problems.error(&at, "bad-name", format!("`{}` cannot name a ResourceFlavor", flavor.name), DNS_HELP);
        } else if !flavors.insert(flavor.name.as_str()) {
            problems.error(
                &at,
                "duplicate",
                format!("flavor `{}` is declared twice", flavor.name),
                "give each flavor its own name",
            );
        }
        if flavor.node_labels.len() > 8 || flavor.tolerations.len() > 8 {
            problems.error(
                &format!("spec.flavors[{i}]"),
                "bad-value",
                format!("flavor `{}` has more than 8 node labels or tolerations", flavor.name),
                "Kueue takes at most 8 of each on a ResourceFlavor",
            );
        }
    }
}

/// Priority classes: valid and distinct names, a value a user PriorityClass may have.
fn check_priority_classes(problems: &mut Problems<'_>, spec: &QueuesSpec) {
    let mut classes = BTreeSet::new();
    for (i, class) in spec.priority_classes.iter().enumerate() {
        let at = format!("spec.priorityClasses[{i}].name");
        if !is_dns1123_subdomain(&class.name) {
            problems.error(&at, "bad-name", format!("`{}` cannot name a priority class", class.name), DNS_HELP);
        } else if !classes.insert(class.name.as_str()) {
            problems.error(
                &at,
                "duplicate",
                format!("priority class `{}` is declared twice", class.name),
                "give each its own name",
            );
        }
        if class.value > 1_000_000_000 {
            problems.error(
                &format!("spec.priorityClasses[{i}].value"),
                "bad-value",
                format!("{} is above 1000000000, the highest value a user PriorityClass may have", class.value),
                "choose a value of at most 1000000000",
            );
        }
    }
}

/// One ClusterQueue at `at`: a valid name not used before (`names`), a
/// valid cohort, a weight above 0, a preemption policy Kueue takes, a quota.
fn check_cluster_queue<'q>(
    problems: &mut Problems<'_>,
    at: &str,
    cq: &'q ClusterQueueSpec,
    names: &mut BTreeSet<&'q str>,
) {
    if !is_dns1123_subdomain(&cq.name) {
        problems.error(
            &format!("{at}.name"),
            "bad-name",
            format!("`{}` cannot name a ClusterQueue", cq.name),
            DNS_HELP,
        );
    } else if !names.insert(cq.name.as_str()) {
        problems.error(
            &format!("{at}.name"),
            "duplicate",
            format!("ClusterQueue `{}` is declared twice", cq.name),
            "give each its own name",
        );
    }
    if let Some(cohort) = &cq.cohort
        && !is_dns1123_subdomain(cohort)
    {
        problems.error(&format!("{at}.cohort"), "bad-name", format!("`{cohort}` cannot name a cohort"), DNS_HELP);
    }
    if cq.fair_sharing_weight == Some(0) {
        problems.error(
            &format!("{at}.fairSharingWeight"),
            "bad-value",
            "a weight of 0 gives the queue nothing of what its cohort lends".into(),
            "use 1 or more (the default is 1)",
        );
    }
    if let Some(p) = &cq.preemption
        && p.within_cluster_queue == Some(PreemptionPolicy::Any)
    {
        problems.error(
            &format!("{at}.preemption.withinClusterQueue"),
            "bad-value",
            "`Any` is not a policy within one ClusterQueue".into(),
            "use `Never` or `LowerPriority`",
        );
    }
    if cq.quotas.is_empty() {
        problems.error(
            &format!("{at}.quotas"),
            "missing-field",
            format!("ClusterQueue `{}` has no quota", cq.name),
            "give it at least one flavor with a nominal quota",
        );
    }
}

/// A ClusterQueue's quotas: each names a declared flavor and quotes the
/// same resources as the others, each resource's limits are sound.
fn check_quotas(problems: &mut Problems<'_>, at: &str, cq: &ClusterQueueSpec, spec: &QueuesSpec) {
    let covered: BTreeSet<&String> = cq.quotas.iter().flat_map(|q| q.resources.keys()).collect();
    for (j, quota) in cq.quotas.iter().enumerate() {
        let qat = format!("{at}.quotas[{j}]");
        if !spec.flavors.iter().any(|f| f.name == quota.flavor) {
            problems.error(
                &format!("{qat}.flavor"),
                "unknown-flavor",
                format!("no flavor is named `{}`", quota.flavor),
                "declare it under spec.flavors, or name one that is",
            );
        }
        let have: BTreeSet<&String> = quota.resources.keys().collect();
        if have != covered {
            let missing: Vec<&str> = covered.difference(&have).map(|s| s.as_str()).collect();
            problems.error(
                &format!("{qat}.resources"),
                "missing-field",
                format!("flavor `{}` has no quota for {}", quota.flavor, missing.join(", ")),
                "every flavor of a ClusterQueue quotes the same resources (Kueue's coveredResources); add them, 0 if none",
            );
        }
        for (resource, q) in &quota.resources {
            check_resource_quota(problems, &format!("{qat}.resources.{resource}"), cq, q);
        }
    }
}

/// One resource's quota at `rat`: quantities of zero or more, borrowing and
/// lending only in a cohort, lending at most the nominal quota.
fn check_resource_quota(problems: &mut Problems<'_>, rat: &str, cq: &ClusterQueueSpec, q: &ResourceQuota) {
    for (field, value) in [
        ("nominal", Some(&q.nominal)),
        ("borrowingLimit", q.borrowing_limit.as_ref()),
        ("lendingLimit", q.lending_limit.as_ref()),
    ] {
        let Some(value) = value else { continue };
        if milli(&value.0).is_none() {
            problems.error(
                &format!("{rat}.{field}"),
                "bad-quantity",
                format!("`{}` is not a quantity of zero or more", value.0),
                "write a number with an optional suffix: `8`, `500m` (CPU), `64Gi` (memory)",
            );
        }
    }
    if cq.cohort.is_none() && (q.borrowing_limit.is_some() || q.lending_limit.is_some()) {
        problems.error(
            rat,
            "bad-value",
            format!("ClusterQueue `{}` borrows or lends but is in no cohort", cq.name),
            "set `cohort:` or remove borrowingLimit and lendingLimit",
        );
    }
    if let (Some(lend), Some(nominal)) = (q.lending_limit.as_ref().and_then(|l| milli(&l.0)), milli(&q.nominal.0))
        && lend > nominal
    {
        problems.error(
            &format!("{rat}.lendingLimit"),
            "bad-value",
            "the lending limit is above the nominal quota".into(),
            "a queue lends at most what it has: lower lendingLimit to nominal or less",
        );
    }
}

const DNS_HELP: &str = "use lower-case letters, digits, '-' and '.', starting and ending with a letter or digit";

/// The platform's Kueue objects: ResourceFlavors, WorkloadPriorityClasses
/// and PriorityClasses, ClusterQueues; sorted by kind, then name.
pub fn render_queues(queues: &Queues) -> Vec<RenderedObject> {
    let spec = &queues.spec;
    let labels = json!({sparkplane_api::labels::MANAGED_BY: sparkplane_api::labels::SPARKPLANE});
    let mut out = Vec::new();
    for flavor in &spec.flavors {
        let mut body = json!({
            "apiVersion": KUEUE_API_VERSION, "kind": "ResourceFlavor",
            "metadata": {"name": flavor.name, "labels": labels},
            "spec": {},
        });
        if !flavor.node_labels.is_empty() {
            body["spec"]["nodeLabels"] = json!(flavor.node_labels);
        }
        if !flavor.tolerations.is_empty() {
            body["spec"]["tolerations"] = json!(flavor.tolerations);
        }
        out.push(RenderedObject::from_custom(body));
    }
    for class in &spec.priority_classes {
        let mut body = json!({
            "apiVersion": KUEUE_API_VERSION, "kind": "WorkloadPriorityClass",
            "metadata": {"name": class.name, "labels": labels},
            "value": class.value,
        });
        if let Some(d) = &class.description {
            body["description"] = json!(d);
        }
        out.push(RenderedObject::from_custom(body));
        // The pods' own priority, for the kube-scheduler: the same name and value.
        out.push(RenderedObject::from_resource(&PriorityClass {
            metadata: ObjectMeta {
                name: Some(class.name.clone()),
                labels: Some(BTreeMap::from([sparkplane_api::labels::managed_by_sparkplane()])),
                ..ObjectMeta::default()
            },
            value: class.value,
            description: class.description.clone(),
            global_default: Some(false),
            preemption_policy: None,
        }));
    }
    out.extend(spec.cluster_queues.iter().map(|cq| RenderedObject::from_custom(cluster_queue(cq, &labels))));
    const ORDER: &[&str] = &["ResourceFlavor", "PriorityClass", "WorkloadPriorityClass", "ClusterQueue"];
    let rank = |kind: &str| ORDER.iter().position(|k| *k == kind).unwrap_or(ORDER.len());
    out.sort_by(|a, b| rank(&a.kind).cmp(&rank(&b.kind)).then_with(|| a.name.cmp(&b.name)));
    out
}

fn cluster_queue(cq: &ClusterQueueSpec, labels: &Value) -> Value {
    let covered: BTreeSet<&String> = cq.quotas.iter().flat_map(|q| q.resources.keys()).collect();
    let flavors: Vec<Value> = cq
        .quotas
        .iter()
        .map(|quota| {
            let resources: Vec<Value> = covered
                .iter()
                .map(|name| {
                    let q = quota.resources.get(*name);
                    let mut r = json!({"name": name, "nominalQuota": q.map_or("0", |q| q.nominal.0.as_str())});
                    if let Some(b) = q.and_then(|q| q.borrowing_limit.as_ref()) {
                        r["borrowingLimit"] = json!(b.0);
                    }
                    if let Some(l) = q.and_then(|q| q.lending_limit.as_ref()) {
                        r["lendingLimit"] = json!(l.0);
                    }
                    r
                })
                .collect();
            json!({"name": quota.flavor, "resources": resources})
        })
        .collect();
    let preemption = cq.preemption.clone().unwrap_or_default();
    let mut spec = json!({
        // Every namespace: which teams submit here is said by their LocalQueues.
        "namespaceSelector": {},
        "queueingStrategy": "BestEffortFIFO",
        "resourceGroups": [{"coveredResources": covered, "flavors": flavors}],
        "preemption": {
            "withinClusterQueue": preemption.within_cluster_queue.unwrap_or(PreemptionPolicy::LowerPriority).as_str(),
            "reclaimWithinCohort": preemption.reclaim_within_cohort.unwrap_or(PreemptionPolicy::Any).as_str(),
        },
        // Teams feeding this queue share it by their LocalQueues' weights.
        "admissionScope": {"admissionMode": "UsageBasedAdmissionFairSharing"},
    });
    if let Some(cohort) = &cq.cohort {
        spec["cohortName"] = json!(cohort);
    }
    if let Some(w) = cq.fair_sharing_weight {
        spec["fairSharing"] = json!({"weight": w.to_string()});
    }
    json!({
        "apiVersion": KUEUE_API_VERSION, "kind": "ClusterQueue",
        "metadata": {"name": cq.name, "labels": labels},
        "spec": spec,
    })
}

/// A tenant's LocalQueue, when its file names a queue.
pub fn local_queue(tenant: &Tenant, labels: &BTreeMap<String, String>) -> Option<RenderedObject> {
    let queue = tenant.spec.queue.as_ref()?;
    let mut spec = json!({"clusterQueue": queue.cluster_queue});
    if let Some(w) = queue.weight {
        spec["fairSharing"] = json!({"weight": w.to_string()});
    }
    Some(RenderedObject::from_custom(json!({
        "apiVersion": KUEUE_API_VERSION, "kind": "LocalQueue",
        "metadata": {"name": queue.local_queue(), "namespace": tenant.namespace(), "labels": labels},
        "spec": spec,
    })))
}

/// What the schedulers must be configured with for `objects` (what
/// `tenant render` wrote) to be enforced as written (issue #69, ADR 0099),
/// one `note:` line each: Kueue applies a ClusterQueue's
/// `UsageBasedAdmissionFairSharing` admission scope and the LocalQueues'
/// weights only with an `admissionFairSharing` section in its
/// Configuration, and the ClusterQueues' weights only with a `fairSharing`
/// section (neither is in Kueue's default configuration); a team's jobs
/// with a Volcano or YuniKorn gang go to that scheduler's queue named by
/// the one mapping (`render::queue_routes::scheduler_queue`), which must
/// exist there. Facts from Kueue v0.19.2, Volcano v1.15.1 and YuniKorn
/// v1.9.0; nothing is read from a cluster.
pub fn configuration_needed(objects: &[RenderedObject]) -> Vec<String> {
    let of_kind = |kind: &'static str| objects.iter().filter(move |o| o.kind == kind);
    let mut out = Vec::new();
    let admission_scoped: Vec<&str> = of_kind("ClusterQueue")
        .filter(|cq| cq.body["spec"]["admissionScope"]["admissionMode"] == "UsageBasedAdmissionFairSharing")
        .map(|cq| cq.name.as_str())
        .collect();
    if !admission_scoped.is_empty() {
        out.push(format!(
            "note: Kueue: ClusterQueue {} orders its LocalQueues by admission fair sharing (admissionScope UsageBasedAdmissionFairSharing, the LocalQueues' fairSharing.weight) only when Kueue's Configuration (ConfigMap kueue-manager-config in kueue-system, key controller_manager_config.yaml) has an `admissionFairSharing:` section (usageHalfLifeTime, usageSamplingInterval, optional resourceWeights) and the AdmissionFairSharing feature gate is on (beta, on by default since Kueue v0.15); without it they admit first in, first out",
            admission_scoped.join(", ")
        ));
    }
    let weighted: Vec<&str> = of_kind("ClusterQueue")
        .filter(|cq| cq.body["spec"].get("fairSharing").is_some())
        .map(|cq| cq.name.as_str())
        .collect();
    if !weighted.is_empty() {
        out.push(format!(
            "note: Kueue: ClusterQueue {} shares its cohort by fairSharing.weight only when Kueue's Configuration has a `fairSharing:` section (preemptionStrategies, e.g. [LessThanOrEqualToFinalShare, LessThanInitialShare]); without it the weights are ignored and borrowing is first come",
            weighted.join(", ")
        ));
    }
    for lq in of_kind("LocalQueue") {
        let namespace = lq.namespace.as_deref().unwrap_or_default();
        let volcano = scheduler_queue(QueueScheduler::Volcano, namespace, &lq.name);
        let yunikorn = scheduler_queue(QueueScheduler::YuniKorn, namespace, &lq.name);
        out.push(format!(
            "note: Volcano: the team's jobs with scheduling.gang: Volcano go to Volcano Queue `{volcano}` (the PodGroup's spec.queue): create it (scheduling.volcano.sh/v1beta1 Queue) and keep it Open, or Volcano's webhook refuses their PodGroups"
        ));
        out.push(format!(
            "note: YuniKorn: the team's jobs with scheduling.gang: YuniKorn name queue `{yunikorn}` on every pod (annotation yunikorn.apache.org/queue): the partition's placement rules (ConfigMap yunikorn-configs, queues.yaml, placementrules) must start with the `provided` rule (YuniKorn's implicit rule when none is set), and the queue must exist there unless that rule has create: true"
        ));
    }
    out
}

/// A tenant's queue checked against the platform's: the ClusterQueue it
/// names must be declared. The problem carries the tenant's field path.
pub fn check_tenant_queue(tenant: &Tenant, queues: &Queues) -> Option<Diagnostic> {
    let queue = tenant.spec.queue.as_ref()?;
    if queues.spec.cluster_queues.iter().any(|cq| cq.name == queue.cluster_queue) {
        return None;
    }
    let known: Vec<&str> = queues.spec.cluster_queues.iter().map(|cq| cq.name.as_str()).collect();
    Some(
        Diagnostic::error(
            "unknown-queue",
            "spec.queue.clusterQueue",
            format!(
                "tenant `{}` names ClusterQueue `{}`, which the queues file does not declare",
                tenant.metadata.name, queue.cluster_queue
            ),
        )
        .with_help(format!(
            "name one of: {}",
            if known.is_empty() { "none declared".into() } else { known.join(", ") }
        )),
    )
}

/// What a job needs at its largest, per resource, in thousandths (the
/// Workload's total: driver plus `max` executors, from the one sizing model).
pub fn demand(sized: &SizedJob) -> BTreeMap<String, u128> {
    let totals = sized.totals();
    let mut out = BTreeMap::new();
    out.insert("cpu".to_owned(), u128::from(totals.cpu_request.millis()));
    out.insert("memory".to_owned(), u128::from(totals.memory.mib()) * 1024 * 1024 * 1000);
    out.insert("pods".to_owned(), u128::from(totals.pods) * 1000);
    for (gpu, n) in totals.gpus {
        out.insert(gpu, u128::from(n) * 1000);
    }
    out
}

/// A job a ClusterQueue could never admit: why, in a sentence, and each
/// resource of each flavor that is short.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NeverAdmitted {
    /// The ClusterQueue.
    pub cluster_queue: String,
    /// Why, in a sentence.
    pub reason: String,
    /// What is short, flavor by flavor.
    pub short: Vec<Shortfall>,
}

/// One resource of one flavor a job needs more of than a ClusterQueue could ever give it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Shortfall {
    /// The flavor.
    pub flavor: String,
    /// The resource (`cpu`, `memory`, `nvidia.com/gpu`, …).
    pub resource: String,
    /// What the job needs at its largest (driver and most executors at once).
    pub needs: String,
    /// The most the queue could ever give it in this flavor; None: it quotes none of it.
    pub at_most: Option<String>,
    /// By how much it is short.
    pub short_by: String,
    /// Where `at_most` comes from.
    pub limit: String,
}

impl Shortfall {
    fn sentence(&self) -> String {
        match &self.at_most {
            None => format!("{}: the queue has no quota for it (needs {})", self.resource, self.needs),
            Some(most) => {
                format!(
                    "{}: needs {}, at most {} ({}), short by {}",
                    self.resource, self.needs, most, self.limit, self.short_by
                )
            }
        }
    }
}

/// Why `sized` could never be admitted by `cq`: in no flavor does its quota,
/// even with all it may borrow from its cohort, hold the whole Workload (a
/// job's pods all get one flavor). None when some flavor could.
pub fn never_admitted(sized: &SizedJob, cq: &ClusterQueueSpec) -> Option<NeverAdmitted> {
    let need = demand(sized);
    let mut reasons = Vec::new();
    let mut all_short = Vec::new();
    for quota in &cq.quotas {
        let mut short = Vec::new();
        for (resource, amount) in &need {
            let shortfall = |at_most: Option<u128>, limit: &str| Shortfall {
                flavor: quota.flavor.clone(),
                resource: resource.clone(),
                needs: show(resource, *amount),
                at_most: at_most.map(|m| show(resource, m)),
                short_by: show(resource, amount - at_most.unwrap_or(0)),
                limit: limit.to_owned(),
            };
            let Some(q) = quota.resources.get(resource) else {
                // Kueue counts pods only where a queue quotes them; any other
                // resource asked for and not quoted cannot be admitted.
                if resource != "pods" && *amount > 0 {
                    short.push(shortfall(None, "no quota"));
                }
                continue;
            };
            let nominal = milli(&q.nominal.0).unwrap_or(0);
            let most = match (&cq.cohort, &q.borrowing_limit) {
                (None, _) => Some(nominal),
                (Some(_), Some(b)) => Some(nominal + milli(&b.0).unwrap_or(0)),
                // In a cohort without a limit it may borrow what the cohort has: not bounded here.
                (Some(_), None) => None,
            };
            if let Some(most) = most
                && *amount > most
            {
                let with =
                    if cq.cohort.is_some() { "nominal + borrowing limit" } else { "nominal, and it is in no cohort" };
                short.push(shortfall(Some(most), with));
            }
        }
        if short.is_empty() {
            return None;
        }
        let sentences: Vec<String> = short.iter().map(Shortfall::sentence).collect();
        reasons.push(format!("flavor {}: {}", quota.flavor, sentences.join(", ")));
        all_short.extend(short);
    }
    (!reasons.is_empty()).then(|| NeverAdmitted {
        cluster_queue: cq.name.clone(),
        reason: format!(
            "ClusterQueue {} can never admit the job (driver and {} executors at once): {}",
            cq.name,
            sized.executors.max,
            reasons.join("; ")
        ),
        short: all_short,
    })
}

/// The ClusterQueue `job` is admitted by (see [`cluster_queue_for`]), its
/// tenant found in `catalog` by the one rule (`catalog::job_tenant`).
pub fn job_cluster_queue<'q>(
    queues: &'q Queues,
    named: Option<&str>,
    catalog: &Catalog,
    job: &ResolvedJob,
) -> Result<&'q ClusterQueueSpec, Diagnostic> {
    let spec = &job.job.spec;
    let tenant = match catalog.tenant_of(job.job.metadata.namespace.as_deref(), spec.team.as_deref().unwrap_or("")) {
        JobTenant::One(tenant) => Some(tenant),
        _ => None,
    };
    cluster_queue_for(queues, named, tenant, spec.queue.as_deref())
}

/// The ClusterQueue a job is admitted by, in the platform's `queues`:
/// `named` (`fit --cluster-queue`), else the one its tenant's LocalQueue
/// feeds when the job waits in that LocalQueue (`job_queue`, its resolved
/// `spec.queue`). An error, with how to say which, when neither gives one
/// the file declares.
pub fn cluster_queue_for<'q>(
    queues: &'q Queues,
    named: Option<&str>,
    tenant: Option<&Tenant>,
    job_queue: Option<&str>,
) -> Result<&'q ClusterQueueSpec, Diagnostic> {
    let known: Vec<&str> = queues.spec.cluster_queues.iter().map(|cq| cq.name.as_str()).collect();
    let help = format!(
        "pass --cluster-queue with one of: {}",
        if known.is_empty() { "none declared".to_owned() } else { known.join(", ") }
    );
    let (wanted, path) = match (named, tenant.and_then(|t| t.spec.queue.as_ref())) {
        (Some(name), _) => (name.to_owned(), "--cluster-queue"),
        (None, Some(q)) if job_queue.unwrap_or(DEFAULT_LOCAL_QUEUE) == q.local_queue() => {
            (q.cluster_queue.clone(), "spec.queue")
        }
        (None, _) => {
            let why = match (tenant, job_queue) {
                (None, _) => "the job's tenant is not known (no tenant in the platform directory's tenants/ has its namespace or team)".to_owned(),
                (Some(t), queue) => format!(
                    "the job waits in LocalQueue `{}`, which is not its tenant `{}`'s",
                    queue.unwrap_or(DEFAULT_LOCAL_QUEUE),
                    t.metadata.name
                ),
            };
            return Err(Diagnostic::error(
                "unknown-queue",
                "--cluster-queue",
                format!("which ClusterQueue admits the job is not known: {why}"),
            )
            .with_help(help));
        }
    };
    queues.spec.cluster_queues.iter().find(|cq| cq.name == wanted).ok_or_else(|| {
        Diagnostic::error("unknown-queue", path, format!("the queues file declares no ClusterQueue `{wanted}`"))
            .with_help(help)
    })
}

/// An amount in thousandths, as a person reads it.
fn show(resource: &str, milli: u128) -> String {
    match resource {
        "memory" => format!("{}Mi", milli.div_ceil(1000 * 1024 * 1024)),
        "cpu" if !milli.is_multiple_of(1000) => format!("{milli}m"),
        _ => (milli / 1000).to_string(),
    }
}

#[cfg(test)]
#[path = "queues_tests.rs"]
mod tests;
