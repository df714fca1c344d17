//! The job commands' settings from their flags: `size`, `ci`, `render`,
//! `run`, `submit` and `policy`.
//!
//! Owns: turning parsed arguments (and the global flags) into each command's
//! settings and calling it, one function per command. Must not: do what
//! the command does, or hold defaults a command owns.

use super::*;

/// `sparkplane size`.
pub fn size(args: &crate::cli::SizeArgs, printer: &Printer) -> CommandResult {
    size::run(
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
    )
}

/// `sparkplane ci`.
pub fn ci(args: &crate::cli::CiArgs, cli: &Cli, printer: &Printer) -> CommandResult {
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
            json: args.format == crate::cli::CiFormat::Json || cli.global.output == crate::cli::OutputFormat::Json,
            nodes: args.nodes.clone(),
            quota: args.quota.clone(),
            policy,
            run,
            events: events(cli),
        },
        printer,
    )
}

/// `sparkplane render`.
pub fn render(args: &crate::cli::RenderArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let target = match args.target {
        TargetArg::Native => Target::Native,
        TargetArg::Kubeflow => Target::Kubeflow,
        TargetArg::Job => Target::Job,
    };
    let audit = args.policy_mode == PolicyMode::Audit;
    let policy = policy_settings(&args.policy, Some(&args.job.job), cli);
    let out = render::Out { dir: args.out_dir.as_deref(), namespace: args.namespace.as_deref() };
    render::run(&job_settings(&args.job, cli), &policy, target, out, audit, printer)
}

/// `sparkplane run`.
pub fn run_job(args: &crate::cli::RunArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    run::run(
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
    )
}

/// `sparkplane submit`.
pub fn submit(args: &crate::cli::SubmitArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    submit::run(
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
    )
}

/// `sparkplane policy …`.
pub fn policy(command: &PolicyCommand, cli: &Cli, printer: &Printer) -> CommandResult {
    match command {
        PolicyCommand::Check { job, format, policy_mode, policy: args } => {
            let settings = policy_settings(args, Some(&job.job), cli);
            let audit = *policy_mode == PolicyMode::Audit;
            policy::check(&job_settings(job, cli), &settings, format.as_str(), audit, printer)
        }
        PolicyCommand::List { env, policy_dirs } => {
            let args = PolicyArgs { policy_dirs: policy_dirs.clone(), ..PolicyArgs::default() };
            policy::list(env.as_deref(), &policy_settings(&args, None, cli), printer)
        }
        PolicyCommand::Test { dirs } => policy_rego::test(dirs, printer),
        PolicyCommand::Export(ExportCommand::Admission { env }) => {
            admission::export(cli.global.platform_dir.as_deref(), env.as_deref(), printer)
        }
        PolicyCommand::Export(ExportCommand::Gatekeeper { policy_dirs, env }) => {
            let args = PolicyArgs { policy_dirs: policy_dirs.clone(), ..PolicyArgs::default() };
            policy_rego::export_gatekeeper(env.as_deref(), &policy_settings(&args, None, cli), printer)
        }
    }
}
