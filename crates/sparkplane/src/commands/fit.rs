//! `sparkplane fit`: do the job's pods fit the node shapes and the namespace
//! quota, and (with `--queues`) could its Kueue ClusterQueue ever admit it?
//! The files are read here; the check, what the files may hold and the
//! report's text are `sparkplane_fit`'s.

use std::path::Path;

use k8s_openapi::api::core::v1::ResourceQuota;
use sparkplane_api::NodePool;
use sparkplane_core::queues::{job_cluster_queue, load_queues};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Diagnostics;
use sparkplane_fit::{check_cluster_queue, check_fit, pools_from_document, quota_from_document};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, load_catalog, read_source, read_yaml, resolve_job};

/// Reads node pools: a sparkplane `NodePools` document or `kubectl get nodes -o yaml` output.
pub fn read_pools(path: &Path) -> Result<Vec<NodePool>, Failure> {
    Ok(pools_from_document(&read_yaml(path)?)?)
}

/// Reads a ResourceQuota, as kubectl prints it.
pub(crate) fn read_quota(path: &Path) -> Result<ResourceQuota, Failure> {
    Ok(quota_from_document(&read_yaml(path)?)?)
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
    printer.result(&report, || report.text());
    if report.fits {
        return Ok(());
    }
    Err(Failure::Failed(Diagnostics(report.problems.clone())))
}
