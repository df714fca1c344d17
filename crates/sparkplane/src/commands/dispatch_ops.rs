//! The observability and operations commands' settings from their flags:
//! `observe`, `exporter`, `cost`, `trace`, `lineage`, `dr drill`,
//! `chaos run` and `completion`.
//!
//! Owns: turning parsed arguments (and the global flags) into each command's
//! settings and calling it, one function per command. Must not: do what
//! the command does, or hold defaults a command owns.

use super::*;

/// `sparkplane exporter`.
pub fn exporter(args: &crate::cli::ExporterArgs, printer: &Printer) -> CommandResult {
    exporter::run(
        &args.history,
        &args.listen,
        args.interval,
        args.history_server.as_deref(),
        args.otlp.as_deref().map(|url| (url, otlp_protocol(args.otlp_protocol))),
        args.facts.as_deref(),
        printer,
    )
}

/// `sparkplane cost`.
pub fn cost(args: &crate::cli::CostArgs, printer: &Printer) -> CommandResult {
    cost::run(
        &args.path,
        cost::CostQuery {
            since: args.since.as_deref(),
            by: &args.by,
            include_sessions: args.include_sessions,
            facts: args.facts.as_deref(),
        },
        args.price_sheet.as_deref(),
        args.budget.as_deref(),
        cost::CostOutputs { csv: args.csv, parquet: args.parquet.as_deref() },
        printer,
    )
}

/// `sparkplane trace`.
pub fn trace(args: &crate::cli::TraceArgs, printer: &Printer) -> CommandResult {
    trace::run(
        &trace::TraceSettings {
            paths: args.paths.clone(),
            otlp: args.otlp.clone(),
            protocol: otlp_protocol(args.protocol),
            tasks: args.tasks,
        },
        printer,
    )
}

/// `sparkplane lineage`.
pub fn lineage(args: &crate::cli::LineageArgs, printer: &Printer) -> CommandResult {
    lineage::run(
        &lineage::LineageSettings {
            path: args.path.clone(),
            openlineage: args.openlineage.clone(),
            jdbc_url: args.jdbc_url.clone(),
        },
        printer,
    )
}

/// `sparkplane completion`.
pub fn completion(args: &crate::cli::CompletionArgs, printer: &Printer) -> CommandResult {
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

/// `sparkplane observe …`.
pub fn observe(command: &ObserveCommand, printer: &Printer) -> CommandResult {
    match command {
        ObserveCommand::Rules { format, slo, namespace, release } => observe::rules(
            &observe::RulesSettings {
                resource: *format == RuleFormat::Prometheusrule,
                slo: slo.clone(),
                namespace: namespace.clone(),
                release: release.clone(),
            },
            printer,
        ),
        ObserveCommand::Dashboards { bundle, namespace, release } => {
            dashboards::run(*bundle, namespace.as_deref(), release.as_deref(), printer)
        }
        ObserveCommand::Alertmanager(args) => observe::alertmanager(
            &observe::AlertmanagerSettings {
                tenants: args.tenants.clone(),
                platform_receiver: args.platform_receiver.clone(),
                platform_webhook: args.platform_webhook.clone(),
                smtp: args.smtp_smarthost.clone().map(|host| (host, args.smtp_from.clone().unwrap_or_default())),
                resources: args.format == crate::cli::AlertmanagerFormat::Alertmanagerconfig,
            },
            printer,
        ),
        ObserveCommand::Monitors(args) => observe::monitors(
            &observe::MonitorsSettings {
                scrape_config: args.format == crate::cli::MonitorFormat::ScrapeConfig,
                interval: args.interval.clone(),
                namespace: args.namespace.clone(),
                release: args.release.clone(),
                targets: args.targets.clone(),
            },
            printer,
        ),
    }
}

/// `sparkplane dr drill`.
pub fn drill(args: &crate::cli::DrillArgs, cli: &Cli, printer: &Printer) -> CommandResult {
    dr::drill(
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
    )
}

/// `sparkplane chaos run`.
pub fn chaos(args: &crate::cli::ChaosRunArgs, printer: &Printer) -> CommandResult {
    chaos::run(
        &chaos::RunSettings {
            names: args.experiments.clone(),
            all: args.all,
            junit: args.junit.clone(),
            chaos: sparkplane_chaos::Settings { work_dir: args.work_dir.clone(), ..Default::default() },
        },
        printer,
    )
}
