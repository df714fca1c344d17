//! The commands. Each turns its clap arguments into plain settings and calls
//! the core; output goes through the `Printer`, outcomes through `Failure`.

pub mod admission;
pub mod analyze;
pub mod apply;
pub mod approve;
pub mod backup;
pub mod chaos;
pub mod ci;
pub mod cluster;
pub mod connect;
pub mod cost;
pub mod crd;
pub mod dashboards;
mod dispatch_cluster;
mod dispatch_delivery;
mod dispatch_job;
mod dispatch_ops;
pub mod dq;
pub mod dr;
pub mod exporter;
pub mod fit;
pub mod help;
pub mod history;
pub mod import;
pub mod kube_view;
pub mod lineage;
pub mod manifests;
pub mod migrate;
pub mod observe;
pub mod operator;
pub mod policy;
pub mod policy_rego;
pub mod policy_sources;
pub mod presets;
pub mod progress;
pub mod release;
pub mod render;
pub mod resolve;
pub mod run;
pub mod runs;
pub mod runtime;
pub mod serving;
pub mod signin;
pub mod size;
pub mod sql;
pub mod submit;
pub mod submit_metrics;
pub mod tenant;
pub mod trace;
pub mod tune;
pub mod version;

/// The one text-table writer (`sparkplane_documents::table`), as the commands name it.
pub use sparkplane_documents::table::Table;

use clap::CommandFactory;
use sparkplane_api::job::AppType;
use sparkplane_core::first_sizing::Workload;
use sparkplane_core::render::Target;

use crate::cli::HistoryCommand;
use crate::cli::{
    Cli, ClusterArgs, Command, DqCommand, ExportCommand, ImportCommand, JobArgs, ObserveCommand, PolicyArgs,
    PolicyCommand, PolicyMode, PresetsCommand, RunsCommand, RuntimeCommand, ShellArg, TargetArg, TenantCommand,
};
use crate::cli::{ConnectCommand, DryRunArg, LanguageArg, RuleFormat, WorkloadArg};
use crate::exit::CommandResult;
use crate::printer::Printer;
use crate::workspace::JobSettings;

/// The OTLP transport a flag names.
fn otlp_protocol(arg: crate::cli::OtlpProtocolArg) -> sparkplane_emit::trace_send::OtlpProtocol {
    match arg {
        crate::cli::OtlpProtocolArg::Http => sparkplane_emit::trace_send::OtlpProtocol::Http,
        crate::cli::OtlpProtocolArg::Grpc => sparkplane_emit::trace_send::OtlpProtocol::Grpc,
    }
}

fn job_settings(args: &JobArgs, cli: &Cli) -> JobSettings {
    JobSettings {
        path: args.job.clone(),
        env: args.env.clone(),
        sets: args.sets.clone(),
        platform_dir: cli.global.platform_dir.clone(),
    }
}

/// Where the command's CDEvents go (`--cdevents-sink`).
fn events(cli: &Cli) -> crate::events::Events {
    crate::events::Events::new(cli.global.cdevents_sink.as_deref())
}

fn cluster_target(args: &ClusterArgs) -> sparkplane_kube::Target {
    sparkplane_kube::Target { context: args.context.clone(), namespace: args.namespace.clone() }
}

/// The policy settings of a command that checks `job` (None: no job file).
pub fn policy_settings(args: &PolicyArgs, job: Option<&std::path::Path>, cli: &Cli) -> policy::PolicySettings {
    policy::PolicySettings {
        policy_dirs: args.policy_dirs.clone(),
        tenant: args.tenant.clone(),
        tenants_dir: args.tenants.clone(),
        history: args.history.clone(),
        price_sheet: args.price_sheet.clone(),
        approvals_dir: args.approvals_dir.clone(),
        job_path: job.map(std::path::Path::to_owned),
        platform_dir: cli.global.platform_dir.clone(),
    }
}

/// Runs the command the user asked for.
pub fn run(cli: &Cli, printer: &Printer) -> CommandResult {
    let platform_dir = cli.global.platform_dir.as_deref();
    match &cli.command {
        Command::Resolve(args) => resolve::resolve(&job_settings(&args.job, cli), args.explain, printer),
        Command::Validate(args) => resolve::validate(&job_settings(&args.job, cli), args.cluster, printer),
        Command::Size(args) => dispatch_job::size(args, printer),
        Command::Fit(args) => {
            let queue = fit::QueueArgs {
                queues: args.queues.as_deref(),
                cluster_queue: args.cluster_queue.as_deref(),
                namespace: args.namespace.as_deref(),
            };
            fit::run(&job_settings(&args.job, cli), &args.nodes, args.quota.as_deref(), queue, printer)
        }
        Command::Ci(args) => dispatch_job::ci(args, cli, printer),
        Command::Render(args) => dispatch_job::render(args, cli, printer),
        Command::Run(args) => dispatch_job::run_job(args, cli, printer),
        Command::Submit(args) => dispatch_job::submit(args, cli, printer),
        Command::Status(args) => dispatch_cluster::status(args, cli, printer),
        Command::Logs(args) => dispatch_cluster::logs(args, printer),
        Command::Ui(args) => dispatch_cluster::ui(args, cli, printer),
        Command::List(args) => dispatch_cluster::list(args, printer),
        Command::Delete(args) => dispatch_cluster::delete(args, printer),
        Command::Apply(args) => dispatch_cluster::apply(args, cli, printer),
        Command::Trigger(args) => dispatch_cluster::trigger(args, printer),
        Command::Operator(args) => dispatch_cluster::operator(args, cli, printer),
        Command::Analyze(args) => analyze::run(&args.path, args.html.as_deref(), printer),
        Command::Observe(command) => dispatch_ops::observe(command, printer),
        Command::Policy(command) => dispatch_job::policy(command, cli, printer),
        Command::Approve(args) => dispatch_delivery::approve(args, cli, printer),
        Command::Release(args) => dispatch_delivery::release(args, cli, printer),
        Command::Verify(args) => release::releases::verify(
            &args.release,
            &args.key,
            args.store.as_deref(),
            &cluster_target(&args.cluster),
            printer,
        ),
        Command::Releases(args) => dispatch_delivery::releases(args, cli, printer),
        Command::Promote(args) => dispatch_delivery::promote(args, cli, printer),
        Command::Rollback(args) => dispatch_delivery::rollback(args, cli, printer),
        Command::Deployments(args) => dispatch_delivery::deployments(args, cli, printer),
        Command::Dq(DqCommand::Check(args)) => dq::check(
            &dq::DqSettings {
                spec: args.spec.clone(),
                partitions: args.partitions.clone(),
                junit: args.junit.clone(),
                metrics: args.metrics.clone(),
                threads: args.threads,
                no_profile: args.no_profile,
                no_quarantine: args.no_quarantine,
                environment: args.env.clone(),
                events: events(cli),
                engine: dq::EngineArgs::new(args.engine.as_deref(), args.connect.clone(), &args.spark),
            },
            printer,
        ),
        Command::Backup(crate::cli::BackupCommand::Render { file, out_dir }) => {
            backup::render(file, out_dir.as_deref(), printer)
        }
        Command::Backup(crate::cli::BackupCommand::Run { file }) => backup::run(file, printer),
        Command::Backup(crate::cli::BackupCommand::Verify { file }) => backup::verify(file, printer),
        Command::Dr(crate::cli::DrCommand::Drill(args)) => dispatch_ops::drill(args, cli, printer),
        Command::Chaos(crate::cli::ChaosCommand::List) => chaos::list(printer),
        Command::Chaos(crate::cli::ChaosCommand::Run(args)) => dispatch_ops::chaos(args, printer),
        Command::Tenant(TenantCommand::Render { file, queues, out_dir }) => {
            tenant::render(file, queues.as_deref(), out_dir.as_deref(), printer)
        }
        Command::Tenant(TenantCommand::List { dir }) => tenant::list(dir, printer),
        Command::Tenant(TenantCommand::Show { dir, name }) => tenant::show(dir, name, printer),
        Command::History(HistoryCommand::Serve(args)) => history::serve(
            &history::ServeSettings {
                logs: &args.logs,
                listen: &args.listen,
                interval_secs: args.interval,
                cache_mib: args.cache_mib,
                export_to: args.export_to.as_deref(),
                index_dir: args.index_dir.as_deref(),
                live_runs: args.live_runs.as_deref(),
                kill_links: args.live_ui_kill == "team",
                cluster: args.cluster,
                signin: &args.signin,
            },
            printer,
        ),
        Command::History(HistoryCommand::Export(args)) => {
            history::export(&args.from, &args.to, args.price_sheet.as_deref(), printer)
        }
        Command::Exporter(args) => dispatch_ops::exporter(args, printer),
        Command::Tune(args) => tune::run(&job_settings(&args.job, cli), &args.history, args.write, printer),
        Command::Cost(args) => dispatch_ops::cost(args, printer),
        Command::Trace(args) => dispatch_ops::trace(args, printer),
        Command::Lineage(args) => dispatch_ops::lineage(args, printer),
        Command::Runs(RunsCommand::List { include_sessions }) => runs::list(*include_sessions, printer),
        Command::Runs(RunsCommand::Show { run }) => runs::show(run, printer),
        Command::Runtime(RuntimeCommand::Install { line }) => runtime::install(line, printer),
        Command::Runtime(RuntimeCommand::List) => runtime::list(printer),
        Command::Runtime(RuntimeCommand::Remove { line }) => runtime::remove(line, printer),
        Command::Connect(args) => dispatch_cluster::connect(args, cli, printer),
        Command::Sql(args) => dispatch_cluster::sql(args, printer),
        Command::Presets(PresetsCommand::List) => presets::list(platform_dir, printer),
        Command::Presets(PresetsCommand::Show { name }) => presets::show(platform_dir, name, printer),
        Command::Import(ImportCommand::Kubeflow { file, out }) => import::kubeflow(file, out.as_deref(), printer),
        Command::Migrate(crate::cli::MigrateCommand::Kubeflow(args)) => migrate::kubeflow(args, cli, printer),
        Command::Crd => crd::run(printer),
        Command::Version => version::run(printer),
        Command::Completion(args) => dispatch_ops::completion(args, printer),
        Command::Help(args) => help::run(&args.command, printer),
    }
}
