//! The commands. Each turns its clap arguments into plain settings and calls
//! the core; output goes through the `Printer`, outcomes through `Failure`.

pub mod admission;
pub mod analyze;
pub mod approve;
pub mod backup;
pub mod chaos;
pub mod ci;
pub mod cluster;
pub mod connect;
pub mod cost;
pub mod crd;
pub mod dashboards;
pub mod deployments;
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
pub mod observe;
pub mod operator;
pub mod policy;
pub mod policy_rego;
pub mod policy_sources;
pub mod presets;
pub mod progress;
pub mod promote;
pub mod promote_facts;
pub mod promote_host;
pub mod release;
pub mod release_facts;
pub mod release_keys;
pub mod release_store;
pub mod releases;
pub mod render;
pub mod resolve;
pub mod run;
pub mod runs;
pub mod runtime;
pub mod shadow;
pub mod size;
pub mod sql;
pub mod submit;
pub mod submit_metrics;
pub mod tenant;
pub mod trace;
pub mod tune;
pub mod version;

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
fn otlp_protocol(arg: crate::cli::OtlpProtocolArg) -> sparkplane_eventlog::trace_send::OtlpProtocol {
    match arg {
        crate::cli::OtlpProtocolArg::Http => sparkplane_eventlog::trace_send::OtlpProtocol::Http,
        crate::cli::OtlpProtocolArg::Grpc => sparkplane_eventlog::trace_send::OtlpProtocol::Grpc,
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
        Command::Size(args) => size::run(
            &size::SizeSettings {
                input_size: args.input_size.clone(),
                workload: match args.workload {
                    WorkloadArg::Etl => Workload::Etl,
                    WorkloadArg::Ml => Workload::Ml,
                    WorkloadArg::Streaming => Workload::Streaming,
                    WorkloadArg::Interactive => Workload::Interactive,
                },
                deadline: args.deadline.clone(),
                app_type: match args.language {
                    LanguageArg::Python => AppType::Python,
                    LanguageArg::Scala => AppType::Scala,
                    LanguageArg::Java => AppType::Java,
                    LanguageArg::R => AppType::R,
                    LanguageArg::Sql => AppType::Sql,
                },
                nodes: args.nodes.clone(),
                write: args.write.clone(),
            },
            printer,
        ),
        Command::Fit(args) => fit::run(&job_settings(&args.job, cli), &args.nodes, args.quota.as_deref(), printer),
        Command::Ci(args) => {
            let policy = policy_settings(&args.policy, Some(&args.job), cli);
            let run = (!args.no_local_run).then(|| run::RunSettings {
                job: JobSettings {
                    path: args.job.clone(),
                    env: None,
                    sets: args.sets.clone(),
                    platform_dir: cli.global.platform_dir.clone(),
                },
                follow: false,
                audit: false,
                policy: policy.clone(),
                events: events(cli),
            });
            ci::run(
                &ci::CiSettings {
                    job: args.job.clone(),
                    environments: args.envs.clone(),
                    sets: args.sets.clone(),
                    platform_dir: cli.global.platform_dir.clone(),
                    junit: args.junit.clone(),
                    sarif: args.sarif.clone(),
                    report: args.report.clone(),
                    json: args.format == crate::cli::CiFormat::Json
                        || cli.global.output == crate::cli::OutputFormat::Json,
                    nodes: args.nodes.clone(),
                    quota: args.quota.clone(),
                    policy,
                    run,
                    events: events(cli),
                },
                printer,
            )
        }
        Command::Render(args) => {
            let target = match args.target {
                TargetArg::Native => Target::Native,
                TargetArg::Kubeflow => Target::Kubeflow,
                TargetArg::Job => Target::Job,
            };
            let audit = args.policy_mode == PolicyMode::Audit;
            let policy = policy_settings(&args.policy, Some(&args.job.job), cli);
            render::run(&job_settings(&args.job, cli), &policy, target, args.out_dir.as_deref(), audit, printer)
        }
        Command::Run(args) => run::run(
            &run::RunSettings {
                job: JobSettings {
                    path: args.job.clone(),
                    env: Some(args.env.clone()),
                    sets: args.sets.clone(),
                    platform_dir: cli.global.platform_dir.clone(),
                },
                follow: args.follow,
                audit: args.policy_mode == PolicyMode::Audit,
                policy: policy_settings(&args.policy, Some(&args.job), cli),
                events: events(cli),
            },
            printer,
        ),
        Command::Submit(args) => submit::run(
            &submit::SubmitSettings {
                job: job_settings(&args.job, cli),
                cluster: cluster_target(&args.cluster),
                rerun: args.rerun,
                wait: args.wait,
                dry_run: match args.dry_run {
                    DryRunArg::None => submit::DryRun::None,
                    DryRunArg::Client => submit::DryRun::Client,
                    DryRunArg::Server => submit::DryRun::Server,
                },
                audit: args.policy_mode == PolicyMode::Audit,
                policy: policy_settings(&args.policy, Some(&args.job.job), cli),
                metrics_file: args.metrics_file.clone(),
            },
            printer,
        ),
        Command::Status(args) => cluster::status(
            &cluster::StatusSettings {
                target: args.target.clone(),
                env: args.env.clone(),
                sets: args.sets.clone(),
                platform_dir: cli.global.platform_dir.clone(),
                cluster: cluster_target(&args.cluster),
            },
            printer,
        ),
        Command::Logs(args) => cluster::logs(
            &cluster::LogsSettings {
                name: args.name.clone(),
                follow: args.follow,
                raw: args.raw,
                cluster: cluster_target(&args.cluster),
            },
            printer,
        ),
        Command::List(args) => cluster::list(
            &cluster::ListSettings {
                all_namespaces: args.all_namespaces,
                selector: args.selector.clone(),
                cluster: cluster_target(&args.cluster),
            },
            printer,
        ),
        Command::Delete(args) => cluster::delete(
            &cluster::DeleteSettings { name: args.name.clone(), all: args.all, cluster: cluster_target(&args.cluster) },
            printer,
        ),
        Command::Apply(args) => operator::apply(
            &operator::ApplySettings {
                job: job_settings(&args.job, cli),
                cluster: cluster_target(&args.cluster),
                dry_run: args.dry_run,
                audit: args.policy_mode == PolicyMode::Audit,
                policy: policy_settings(&args.policy, Some(&args.job.job), cli),
                release: args.release.clone(),
            },
            printer,
        ),
        Command::Trigger(args) => operator::trigger(
            &operator::TriggerSettings { name: args.name.clone(), cluster: cluster_target(&args.cluster) },
            printer,
        ),
        Command::Operator(args) => {
            let identity = args.identity.clone().unwrap_or_else(|| {
                let host = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
                format!("{}-{}", host.trim(), std::process::id())
            });
            operator::run(
                &operator::OperatorCommandSettings {
                    cluster: sparkplane_kube::Target {
                        context: args.context.clone(),
                        namespace: args.namespace.clone(),
                    },
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
                },
                printer,
            )
        }
        Command::Analyze(args) => analyze::run(&args.path, args.html.as_deref(), printer),
        Command::Observe(ObserveCommand::Rules { format, slo, namespace, release }) => observe::rules(
            &observe::RulesSettings {
                resource: *format == RuleFormat::Prometheusrule,
                slo: slo.clone(),
                namespace: namespace.clone(),
                release: release.clone(),
            },
            printer,
        ),
        Command::Observe(ObserveCommand::Dashboards { bundle, namespace, release }) => {
            dashboards::run(*bundle, namespace.as_deref(), release.as_deref(), printer)
        }
        Command::Observe(ObserveCommand::Alertmanager(args)) => observe::alertmanager(
            &observe::AlertmanagerSettings {
                tenants: args.tenants.clone(),
                platform_receiver: args.platform_receiver.clone(),
                platform_webhook: args.platform_webhook.clone(),
                smtp: args.smtp_smarthost.clone().map(|host| (host, args.smtp_from.clone().unwrap_or_default())),
                resources: args.format == crate::cli::AlertmanagerFormat::Alertmanagerconfig,
            },
            printer,
        ),
        Command::Observe(ObserveCommand::Monitors(args)) => observe::monitors(
            &observe::MonitorsSettings {
                scrape_config: args.format == crate::cli::MonitorFormat::ScrapeConfig,
                interval: args.interval.clone(),
                namespace: args.namespace.clone(),
                release: args.release.clone(),
                targets: args.targets.clone(),
            },
            printer,
        ),
        Command::Policy(PolicyCommand::Check { job, format, policy_mode, policy: args }) => {
            let settings = policy_settings(args, Some(&job.job), cli);
            let audit = *policy_mode == PolicyMode::Audit;
            policy::check(&job_settings(job, cli), &settings, format.as_str(), audit, printer)
        }
        Command::Policy(PolicyCommand::List { env, policy_dirs }) => {
            let args = PolicyArgs { policy_dirs: policy_dirs.clone(), ..PolicyArgs::default() };
            policy::list(env.as_deref(), &policy_settings(&args, None, cli), printer)
        }
        Command::Policy(PolicyCommand::Test { dirs }) => policy_rego::test(dirs, printer),
        Command::Policy(PolicyCommand::Export(ExportCommand::Admission { env })) => {
            admission::export(cli.global.platform_dir.as_deref(), env.as_deref(), printer)
        }
        Command::Policy(PolicyCommand::Export(ExportCommand::Gatekeeper { policy_dirs, env })) => {
            let args = PolicyArgs { policy_dirs: policy_dirs.clone(), ..PolicyArgs::default() };
            policy_rego::export_gatekeeper(env.as_deref(), &policy_settings(&args, None, cli), printer)
        }
        Command::Approve(args) => {
            let job = JobSettings {
                path: args.job.clone(),
                env: Some(args.env.clone()),
                sets: args.sets.clone(),
                platform_dir: cli.global.platform_dir.clone(),
            };
            let settings = approve::ApproveSettings {
                job,
                by: args.by.clone(),
                reason: args.reason.clone(),
                approvals_dir: args.approvals_dir.clone(),
            };
            approve::run(&settings, printer)
        }
        Command::Release(args) => match &args.command {
            Some(crate::cli::ReleaseCommand::Keygen { out }) => release_keys::keygen(out, printer),
            None => {
                let job = args.job.clone().unwrap_or_default();
                let settings = release::ReleaseSettings {
                    job: JobSettings {
                        path: job.clone(),
                        env: args.env.clone(),
                        sets: args.sets.clone(),
                        platform_dir: cli.global.platform_dir.clone(),
                    },
                    policy: policy_settings(&args.policy, Some(&job), cli),
                    commit: args.commit.clone(),
                    ci_report: args.ci_report.clone(),
                    key: args.key.clone(),
                    out: args.out.clone(),
                    cluster: cluster_target(&args.cluster),
                    by: args.by.clone(),
                    requirements: args.requirements.clone(),
                    events: events(cli),
                };
                release::run(&settings, printer)
            }
        },
        Command::Verify(args) => {
            releases::verify(&args.release, &args.key, args.store.as_deref(), &cluster_target(&args.cluster), printer)
        }
        Command::Releases(args) => releases::history(
            &args.job,
            args.env.as_deref(),
            args.store.as_deref(),
            args.diff.as_deref(),
            &cluster_target(&args.cluster),
            platform_dir,
            printer,
        ),
        Command::Promote(args) => promote::promote(
            &promote::PromoteSettings {
                job: args.job.clone(),
                release: args.release.clone(),
                to: args.to.clone(),
                from: args.from.clone(),
                store: args.store.clone(),
                cluster: cluster_target(&args.cluster),
                trusted_keys: args.trusted_keys.clone(),
                commit: args.commit.clone(),
                by: args.by.clone(),
                out_dir: args.out_dir.clone(),
                platform_dir: cli.global.platform_dir.clone(),
                policy: policy_settings(&args.policy, Some(&args.job), cli),
                events: events(cli),
                shadow: args.shadow.then(|| shadow::ShadowSettings {
                    place: match args.shadow_in {
                        crate::cli::ShadowPlaceArg::Local => shadow::Place::Local,
                        crate::cli::ShadowPlaceArg::Cluster => shadow::Place::Cluster,
                    },
                    env: args.shadow_env.clone(),
                }),
            },
            printer,
        ),
        Command::Rollback(args) => deployments::rollback(
            &deployments::RollbackSettings {
                job: args.job.clone(),
                env: args.env.clone(),
                to: args.to.clone(),
                store: args.store.clone(),
                by: args.by.clone(),
                out_dir: args.out_dir.clone(),
                platform_dir: cli.global.platform_dir.clone(),
                cluster: cluster_target(&args.cluster),
                events: events(cli),
            },
            printer,
        ),
        Command::Deployments(args) => deployments::list(
            &args.job,
            &args.env,
            args.store.as_deref(),
            &cluster_target(&args.cluster),
            platform_dir,
            printer,
        ),
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
        Command::Dr(crate::cli::DrCommand::Drill(args)) => dr::drill(
            &dr::DrillSettings {
                backup: args.backup.clone(),
                job: JobSettings {
                    path: args.job.clone(),
                    env: Some(args.env.clone()),
                    sets: args.sets.clone(),
                    platform_dir: cli.global.platform_dir.clone(),
                },
                restore_dir: args.restore_dir.clone(),
                restore_bucket: args.restore_bucket.clone(),
                keep_scratch: args.keep_scratch,
                junit: args.junit.clone(),
                events: events(cli),
            },
            printer,
        ),
        Command::Chaos(crate::cli::ChaosCommand::List) => chaos::list(printer),
        Command::Chaos(crate::cli::ChaosCommand::Run(args)) => chaos::run(
            &chaos::RunSettings {
                names: args.experiments.clone(),
                all: args.all,
                junit: args.junit.clone(),
                chaos: sparkplane_chaos::Settings { work_dir: args.work_dir.clone(), ..Default::default() },
            },
            printer,
        ),
        Command::Tenant(TenantCommand::Render { file, out_dir }) => tenant::render(file, out_dir.as_deref(), printer),
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
            },
            printer,
        ),
        Command::History(HistoryCommand::Export(args)) => {
            history::export(&args.from, &args.to, args.price_sheet.as_deref(), printer)
        }
        Command::Exporter(args) => exporter::run(
            &args.history,
            &args.listen,
            args.interval,
            args.history_server.as_deref(),
            args.otlp.as_deref().map(|url| (url, otlp_protocol(args.otlp_protocol))),
            printer,
        ),
        Command::Tune(args) => tune::run(&job_settings(&args.job, cli), &args.history, args.write, printer),
        Command::Cost(args) => cost::run(
            &args.path,
            cost::CostQuery { since: args.since.as_deref(), by: &args.by, include_sessions: args.include_sessions },
            args.price_sheet.as_deref(),
            args.budget.as_deref(),
            cost::CostOutputs { csv: args.csv, parquet: args.parquet.as_deref() },
            printer,
        ),
        Command::Trace(args) => trace::run(
            &trace::TraceSettings {
                paths: args.paths.clone(),
                otlp: args.otlp.clone(),
                protocol: otlp_protocol(args.protocol),
                tasks: args.tasks,
            },
            printer,
        ),
        Command::Lineage(args) => lineage::run(
            &lineage::LineageSettings {
                path: args.path.clone(),
                openlineage: args.openlineage.clone(),
                jdbc_url: args.jdbc_url.clone(),
            },
            printer,
        ),
        Command::Runs(RunsCommand::List { include_sessions }) => runs::list(*include_sessions, printer),
        Command::Runs(RunsCommand::Show { run }) => runs::show(run, printer),
        Command::Runtime(RuntimeCommand::Install { line }) => runtime::install(line, printer),
        Command::Runtime(RuntimeCommand::List) => runtime::list(printer),
        Command::Runtime(RuntimeCommand::Remove { line }) => runtime::remove(line, printer),
        Command::Connect(args) => connect::run(
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
        ),
        Command::Sql(args) => sql::run(
            &sql::SqlSettings {
                query: args.query.clone(),
                file: args.file.clone(),
                connect: args.connect.clone(),
                spark: args.spark.clone(),
                csv: args.csv,
                parquet: args.parquet.clone(),
            },
            printer,
        ),
        Command::Presets(PresetsCommand::List) => presets::list(platform_dir, printer),
        Command::Presets(PresetsCommand::Show { name }) => presets::show(platform_dir, name, printer),
        Command::Import(ImportCommand::Kubeflow { file, out }) => import::kubeflow(file, out.as_deref(), printer),
        Command::Crd => crd::run(printer),
        Command::Version => version::run(printer),
        Command::Completion(args) => {
            let shell = match args.shell {
                ShellArg::Bash => clap_complete::Shell::Bash,
                ShellArg::Zsh => clap_complete::Shell::Zsh,
                ShellArg::Fish => clap_complete::Shell::Fish,
            };
            let mut command = Cli::command();
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut command, "sparkplane", &mut out);
            printer.raw(&String::from_utf8_lossy(&out));
            Ok(())
        }
        Command::Help(args) => help::run(&args.command, printer),
    }
}

/// A plain text table with aligned columns.
pub struct Table {
    header: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headings.
    pub fn new(header: &[&str]) -> Table {
        Table { header: header.iter().map(|h| (*h).to_owned()).collect(), rows: Vec::new() }
    }

    /// Adds a row.
    pub fn row(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// The table as text, columns separated by two spaces.
    pub fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let mut out = String::new();
        for row in std::iter::once(&self.header).chain(&self.rows) {
            let mut line = String::new();
            for (i, cell) in row.iter().enumerate().take(columns) {
                if i + 1 == columns {
                    line.push_str(cell);
                } else {
                    line.push_str(&format!("{cell:<width$}  ", width = widths[i]));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}
