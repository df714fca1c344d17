//! `sparkplane migrate kubeflow`: which Kubeflow resources of the cluster
//! move to sparkplane's operator, what each conversion loses, and with
//! `--apply` or `--undo` the move or its undo.
//!
//! Owns: turning flags into a request, the host of the workflow — the
//! cluster's requests (`sparkplane_kube::kubeflow`) on one runtime and the
//! operator's plan of a converted job with this platform's catalog — and
//! printing the report. Must not: decide what moves or word the report
//! (`sparkplane_kubeflow::migrate` does).

use std::collections::BTreeMap;

use sparkplane_api::SparkJob;
use sparkplane_core::names::{is_dns1123_label, to_dns1123_label};
use sparkplane_kube::kubeconfig::Settings;
use sparkplane_kube::{KubeError, Target as ClusterTarget};
use sparkplane_kubeflow::migrate::{self, Listed, MigrateHost, Mode, Request, any_refused};
use sparkplane_lifecycle::plan::{DEFAULT_DRIVER_START, DEFAULT_GATE_IMAGE, Platform, Prepared, prepare};

use super::kube_view::{cluster_settings, kube_failure};
use crate::cli::{Cli, MigrateKubeflowArgs};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::load_catalog;

/// Runs `migrate kubeflow`.
pub fn kubeflow(args: &MigrateKubeflowArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let mode = match (args.apply, args.undo) {
        (true, _) => Mode::Apply,
        (_, true) => Mode::Undo,
        _ => Mode::List,
    };
    if let Some(namespace) = args.namespace.as_deref().filter(|n| !is_dns1123_label(n)) {
        return Err(Failure::invalid(
            "invalid-namespace",
            "--namespace",
            format!("`{namespace}` is not a namespace name"),
            format!(
                "a namespace is lower-case letters, digits and `-`, at most 63 characters, e.g. `{}`",
                to_dns1123_label(namespace)
            ),
        ));
    }
    let request = Request {
        namespace: args.namespace.clone(),
        selector: args.selector.clone(),
        mode,
        team: args.team.clone(),
        cost_center: args.cost_center.clone(),
    };
    let catalog = load_catalog(cli.global.platform_dir.as_deref())?;
    let cluster =
        cluster_settings(&ClusterTarget { context: args.context.clone(), namespace: args.namespace.clone() })?;
    let mut host = Host::new(&cluster, catalog).map_err(|e| kube_failure(&e))?;
    let entries = migrate::migrate(&mut host, &request).map_err(|e| migrate_failure(&e, args.selector.as_deref()))?;
    printer.result(&serde_json::json!({ "items": entries }), || migrate::text(&entries));
    printer.status(&migrate::summary(&entries, mode));
    if mode == Mode::Apply && any_refused(&entries) {
        return Err(Failure::failed(
            "migrate-refused",
            "",
            "some resources could not move; each one's line says why",
            "fix what each line names (for a missing owner, --team and --cost-center), then run --apply again",
        ));
    }
    Ok(())
}

/// A request's failure as the command ends: a list the API server refused
/// while a selector was given is the selector's fault (the server parses
/// it), said as such; anything else as every cluster command says it.
fn migrate_failure(error: &KubeError, selector: Option<&str>) -> Failure {
    match (error, selector) {
        (KubeError::Invalid { operation, message, .. }, Some(selector)) if operation.verb == "list" => {
            Failure::invalid(
                "invalid-selector",
                "--selector",
                format!("the Kubernetes API could not parse the label selector `{selector}`: {message}"),
                "write requirements joined by commas: key=value, key!=value, key in (a,b), key notin (a,b), \
                     key (it exists) or !key (it does not)",
            )
        }
        _ => kube_failure(error),
    }
}

/// The cluster and the platform.
struct Host {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    server: String,
    platform: Platform,
}

impl Host {
    /// Connects as `settings` says; plans with `catalog`.
    fn new(settings: &Settings, catalog: sparkplane_core::catalog::Catalog) -> Result<Host, KubeError> {
        let runtime = sparkplane_kube::runtime()?;
        let client = {
            let _entered = runtime.enter();
            sparkplane_kube::kubeconfig::client(settings)?
        };
        let platform =
            Platform { catalog, default_driver_start: DEFAULT_DRIVER_START, gate_image: DEFAULT_GATE_IMAGE.to_owned() };
        Ok(Host { runtime, client, server: settings.server(), platform })
    }
}

impl MigrateHost for Host {
    type Error = KubeError;

    fn list(
        &mut self,
        kind: &'static str,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Listed>, KubeError> {
        self.runtime.block_on(sparkplane_kube::kubeflow::list(&self.client, &self.server, kind, namespace, selector))
    }

    fn label(&mut self, resource: &Listed, changes: &BTreeMap<String, Option<String>>) -> Result<(), KubeError> {
        self.runtime.block_on(sparkplane_kube::kubeflow::label(&self.client, &self.server, resource, changes))
    }

    fn plan(&mut self, job: &SparkJob) -> Prepared {
        prepare(job, &self.platform)
    }
}
