//! The cluster commands' settings from their flags: `status`, `logs`,
//! `list`, `delete`, `apply`, `trigger`, `operator`, `connect` and `sql`.
//!
//! Owns: turning parsed arguments (and the global flags) into each command's
//! settings and calling it, one function per command. Must not: do what
//! the command does, or hold defaults a command owns.

use super::*;

/// `sparkplane status`.
pub fn status(args: &crate::cli::StatusArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    cluster::status(&status_settings(&args.target, &args.env, &args.sets, &args.cluster, cli), printer)
}

/// `sparkplane ui`.
pub fn ui(args: &crate::cli::UiArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let of = status_settings(&args.target, &None, &[], &args.cluster, cli);
    cluster::ui(&of, &args.door, args.open, printer)
}

/// A job file's or a name's settings, as `status` and `ui` find the job.
fn status_settings(
    target: &str,
    env: &Option<String>,
    sets: &[String],
    cluster: &crate::cli::ClusterArgs,
    cli: &Cli,
) -> cluster::StatusSettings {
    cluster::StatusSettings {
        target: target.to_owned(),
        env: env.clone(),
        sets: sets.to_vec(),
        platform_dir: cli.global.platform_dir.clone(),
        cluster: cluster_target(cluster),
    }
}

/// `sparkplane logs`.
pub fn logs(args: &crate::cli::LogsArgs, printer: &Printer) -> CommandResult {
    cluster::logs(
        &cluster::LogsSettings {
            name: args.name.clone(),
            follow: args.follow,
            raw: args.raw,
            cluster: cluster_target(&args.cluster),
        },
        printer,
    )
}

/// `sparkplane list`.
pub fn list(args: &crate::cli::ListArgs, printer: &Printer) -> CommandResult {
    cluster::list(
        &cluster::ListSettings {
            all_namespaces: args.all_namespaces,
            selector: args.selector.clone(),
            cluster: cluster_target(&args.cluster),
        },
        printer,
    )
}

/// `sparkplane delete`.
pub fn delete(args: &crate::cli::DeleteArgs, printer: &Printer) -> CommandResult {
    cluster::delete(
        &cluster::DeleteSettings { name: args.name.clone(), all: args.all, cluster: cluster_target(&args.cluster) },
        printer,
    )
}

/// `sparkplane apply`.
pub fn apply(args: &crate::cli::ApplyArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    apply::apply(
        &apply::ApplySettings {
            job: job_settings(&args.job, cli),
            cluster: cluster_target(&args.cluster),
            dry_run: args.dry_run,
            audit: args.policy_mode == PolicyMode::Audit,
            policy: policy_settings(&args.policy, Some(&args.job.job), cli),
            release: args.release.clone(),
        },
        printer,
    )
}

/// `sparkplane trigger`.
pub fn trigger(args: &crate::cli::TriggerArgs, printer: &Printer) -> CommandResult {
    apply::trigger(&apply::TriggerSettings { name: args.name.clone(), cluster: cluster_target(&args.cluster) }, printer)
}

/// `sparkplane operator`.
pub fn operator(args: &crate::cli::OperatorArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let identity = args.identity.clone().unwrap_or_else(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
        format!("{}-{}", host.trim(), std::process::id())
    });
    operator::run(
        &operator::OperatorCommandSettings {
            cluster: sparkplane_kube::Target { context: args.context.clone(), namespace: args.namespace.clone() },
            namespace: args.namespace.clone(),
            concurrency: args.concurrency,
            metrics_address: args.metrics_address.clone(),
            leader: args.leader_elect.then(|| (args.lease_namespace.clone(), identity)),
            log_store: args.log_store.clone(),
            max_running: args.max_running_per_namespace,
            driver_start: args.driver_start_timeout.to_std(),
            resync: args.resync.to_std(),
            gate_image: args.quality_gate_image.clone(),
            platform_dir: cli.global.platform_dir.clone(),
            kubeflow: args.kubeflow.then_some(args.kubeflow_max_tracked_executors),
            kueue: args.kueue,
            queue_pool: args.queue_pool,
            queue_capacity: args.queue_capacity.clone(),
        },
        printer,
    )
}

/// `sparkplane connect`.
pub fn connect(args: &crate::cli::ConnectArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    connect::run(
        &connect::ConnectCommandSettings {
            action: match args.command {
                None => connect::ConnectAction::Start,
                Some(ConnectCommand::Status) => connect::ConnectAction::Status,
                Some(ConnectCommand::Stop) => connect::ConnectAction::Stop,
            },
            preset: args.preset.clone(),
            port: args.port,
            spark: args.spark.clone(),
            background: args.background,
            platform_dir: cli.global.platform_dir.clone(),
        },
        printer,
    )
}

/// `sparkplane sql`.
pub fn sql(args: &crate::cli::SqlArgs, printer: &Printer) -> CommandResult {
    sql::run(
        &sql::SqlSettings {
            query: args.query.clone(),
            file: args.file.clone(),
            connect: args.connect.clone(),
            spark: args.spark.clone(),
            csv: args.csv,
            parquet: args.parquet.clone(),
        },
        printer,
    )
}
