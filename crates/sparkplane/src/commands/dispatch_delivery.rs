//! The delivery commands' settings from their flags: `approve`, `release`,
//! `releases`, `promote`, `rollback` and `deployments`.
//!
//! Owns: turning parsed arguments (and the global flags) into each command's
//! settings and calling it, one function per command. Must not: do what
//! the command does, or hold defaults a command owns.

use super::*;

/// `sparkplane approve`.
pub fn approve(args: &crate::cli::ApproveArgs, cli: &Cli, printer: &Printer) -> CommandResult {
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

/// `sparkplane release`.
pub fn release(args: &crate::cli::ReleaseArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    match &args.command {
        Some(crate::cli::ReleaseCommand::Keygen { out }) => release::keys::keygen(out, printer),
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
    }
}

/// `sparkplane releases`.
pub fn releases(args: &crate::cli::ReleasesArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let platform_dir = cli.global.platform_dir.as_deref();
    release::releases::history(
        &args.job,
        args.env.as_deref(),
        args.store.as_deref(),
        args.diff.as_deref(),
        &cluster_target(&args.cluster),
        platform_dir,
        printer,
    )
}

/// `sparkplane promote`.
pub fn promote(args: &crate::cli::PromoteArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    release::promote::promote(
        &release::promote::PromoteSettings {
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
            shadow: args.shadow.then(|| release::shadow::ShadowSettings {
                place: match args.shadow_in {
                    crate::cli::ShadowPlaceArg::Local => release::shadow::Place::Local,
                    crate::cli::ShadowPlaceArg::Cluster => release::shadow::Place::Cluster,
                },
                env: args.shadow_env.clone(),
            }),
        },
        printer,
    )
}

/// `sparkplane rollback`.
pub fn rollback(args: &crate::cli::RollbackArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    release::deployments::rollback(
        &release::deployments::RollbackSettings {
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
    )
}

/// `sparkplane deployments`.
pub fn deployments(args: &crate::cli::DeploymentsArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    let platform_dir = cli.global.platform_dir.as_deref();
    release::deployments::list(
        &args.job,
        &args.env,
        args.store.as_deref(),
        &cluster_target(&args.cluster),
        platform_dir,
        printer,
    )
}
