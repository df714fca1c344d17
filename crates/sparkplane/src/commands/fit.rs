//! `sparkplane fit`: do the job's pods fit the node shapes and the namespace
//! quota, and (with `--queues`) could its Kueue ClusterQueue ever admit it?

use std::path::Path;

use k8s_openapi::api::core::v1::ResourceQuota;
use sparkplane_api::NodePool;
use sparkplane_core::fit::{FitReport, QueueFit, check_cluster_queue, check_fit, pools_from_kubectl_nodes};
use sparkplane_core::queues::{job_cluster_queue, load_queues};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::schema::{Completeness, DocKind, schema};
use sparkplane_documents::yaml::{FieldPath, Node};
use sparkplane_documents::{Diagnostic, Diagnostics};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, load_catalog, read_source, read_yaml, resolve_job};

/// Reads node pools: a sparkplane `NodePools` document or `kubectl get nodes -o yaml` output.
pub fn read_pools(path: &Path) -> Result<Vec<NodePool>, Failure> {
    let doc = read_yaml(path)?;
    let kind =
        doc.get(&FieldPath::parse("kind").unwrap_or_default()).and_then(Node::as_str).unwrap_or_default().to_owned();
    match kind.as_str() {
        "NodePools" => {
            let problems = schema(DocKind::NodePools).check(&doc, Completeness::Complete);
            if problems.has_errors() {
                return Err(problems.into());
            }
            let pools: sparkplane_api::NodePools = serde_json::from_value(doc.to_json()).map_err(|e| {
                Diagnostic::error("invalid-document", "", e.to_string()).with_span(Some(doc.span.clone()))
            })?;
            Ok(pools.pools)
        }
        "List" | "NodeList" => pools_from_kubectl_nodes(&doc.to_json()).map_err(|why| {
            Failure::Invalid(Diagnostic::error("invalid-document", "", why).with_span(Some(doc.span.clone())).into())
        }),
        other => Err(Failure::Invalid(
            Diagnostic::error(
                "wrong-kind",
                "kind",
                format!("expected `kind: NodePools` or kubectl's node list, found `{other}`"),
            )
            .with_span(Some(doc.span.clone()))
            .with_help(
                "pass a NodePools file (see presets/nodes/standard.yaml) or the output of `kubectl get nodes -o yaml`",
            )
            .into(),
        )),
    }
}

pub(crate) fn read_quota(path: &Path) -> Result<ResourceQuota, Failure> {
    let doc = read_yaml(path)?;
    if doc.get(&FieldPath::parse("kind").unwrap_or_default()).and_then(Node::as_str) != Some("ResourceQuota") {
        return Err(Failure::Invalid(
            Diagnostic::error("wrong-kind", "kind", "expected a `kind: ResourceQuota` object")
                .with_span(Some(doc.span.clone()))
                .with_help("pass the output of `kubectl get resourcequota NAME -o yaml`")
                .into(),
        ));
    }
    serde_json::from_value(doc.to_json()).map_err(|e| {
        Failure::Invalid(
            Diagnostic::error("invalid-document", "", format!("not a ResourceQuota: {e}"))
                .with_span(Some(doc.span.clone()))
                .into(),
        )
    })
}

fn table(report: &FitReport) -> String {
    let mut t = super::Table::new(&["ROLE", "POOL", "NEEDS", "USABLE PER NODE", "PER NODE", "FITS"]);
    for role in [&report.driver, &report.executor] {
        for pool in &role.pools {
            let needs = format!("{} CPU, {}", pool.needs.cpu, pool.needs.memory);
            let usable = format!("{} CPU, {}", pool.usable.cpu, pool.usable.memory);
            let fits = if !pool.eligible {
                format!("no: {}", pool.not_eligible_because.join("; "))
            } else if pool.fits {
                "yes".into()
            } else {
                format!("no: {}", pool.shortfalls.join("; "))
            };
            t.row(vec![
                role.role.as_str().to_owned(),
                pool.pool.clone(),
                needs,
                usable,
                pool.per_node.to_string(),
                fits,
            ]);
        }
    }
    let mut out = t.render();
    if !report.quota.is_empty() {
        let mut q = super::Table::new(&["QUOTA", "NEEDED", "AVAILABLE", "OK"]);
        for row in &report.quota {
            q.row(vec![
                row.resource.clone(),
                row.needed.clone(),
                row.available.clone(),
                if row.ok { "yes".into() } else { "no".into() },
            ]);
        }
        out.push('\n');
        out.push_str(&q.render());
    }
    if let Some(fit) = &report.cluster_queue {
        out.push_str(&queue_table(fit));
    }
    out.push_str(&format!("\n{}\n", if report.fits { "The job fits." } else { "The job does NOT fit." }));
    out
}

/// `fit --queues FILE [--cluster-queue NAME]`: the platform's Queues file, and which ClusterQueue.
#[derive(Clone, Copy, Debug, Default)]
pub struct QueueArgs<'a> {
    /// The Queues file.
    pub queues: Option<&'a Path>,
    /// The ClusterQueue; default: the one the job's tenant's LocalQueue feeds.
    pub cluster_queue: Option<&'a str>,
    /// `-n`: the namespace the job will run in, which says its tenant.
    pub namespace: Option<&'a str>,
}

fn queue_table(fit: &QueueFit) -> String {
    if fit.admissible {
        return format!("\nClusterQueue {}: its quota can admit the job.\n", fit.name);
    }
    let mut t = super::Table::new(&["FLAVOR", "RESOURCE", "NEEDS", "AT MOST", "SHORT BY", "LIMIT"]);
    for s in &fit.short {
        let most = s.at_most.clone().unwrap_or_else(|| "-".into());
        t.row(vec![s.flavor.clone(), s.resource.clone(), s.needs.clone(), most, s.short_by.clone(), s.limit.clone()]);
    }
    format!("\nClusterQueue {} can never admit the job:\n{}", fit.name, t.render())
}

/// Runs `fit`: exit 0 when the job fits, 1 when it does not (its pods fit
/// no node, its quota is short, or its ClusterQueue could never admit it).
pub fn run(
    settings: &JobSettings,
    nodes: &Path,
    quota: Option<&Path>,
    queue: QueueArgs<'_>,
    printer: &Printer,
) -> CommandResult {
    let mut resolved = resolve_job(settings, ValidationTarget::Any)?;
    if queue.namespace.is_some() {
        crate::workspace::settle_namespace(&mut resolved, settings, queue.namespace, None)?;
    }
    printer.warnings(&resolved.warnings);
    let pools = read_pools(nodes)?;
    let quota = quota.map(read_quota).transpose()?;
    let queues = match queue.queues {
        Some(path) => Some(load_queues(&read_source(path)?)?),
        None => None,
    };
    let sized = size_job(&resolved.job.spec);
    let mut report = check_fit(&resolved.job.spec, &sized, &pools, quota.as_ref());
    if let Some(loaded) = &queues {
        printer.warnings(&loaded.warnings);
        let catalog = load_catalog(settings.platform_dir.as_deref())?;
        let cq = job_cluster_queue(&loaded.queues, queue.cluster_queue, &catalog, &resolved)?;
        check_cluster_queue(&mut report, &sized, cq);
    }
    printer.result(&report, || table(&report));
    if report.fits {
        return Ok(());
    }
    Err(Failure::Failed(Diagnostics(report.problems.clone())))
}
