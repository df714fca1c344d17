//! `sparkplane help <command>`: the command's help followed by examples.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// Examples per command path.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "resolve",
        &[
            (
                "Print the job with its preset and the prod overlay applied",
                "sparkplane resolve examples/trips-etl/trips-etl.yaml --env prod",
            ),
            (
                "Show which layer set every field",
                "sparkplane resolve examples/trips-etl/trips-etl.yaml --env prod --explain",
            ),
            ("Try a change without editing the file", "sparkplane resolve job.yaml --set executor.instances=8"),
        ],
    ),
    (
        "validate",
        &[
            ("Check a job, including what a cluster needs", "sparkplane validate job.yaml --env prod --cluster"),
            ("Machine-readable errors for CI", "sparkplane validate job.yaml -o json"),
        ],
    ),
    (
        "size",
        &[
            ("Size a 1 TiB batch ETL job", "sparkplane size --input-size 1TiB --workload etl"),
            (
                "Size it to finish within 30 minutes and patch the job file",
                "sparkplane size --input-size 1TiB --deadline 30m --write job.yaml",
            ),
        ],
    ),
    (
        "fit",
        &[
            ("Check a job against node pools", "sparkplane fit job.yaml --nodes presets/nodes/standard.yaml"),
            (
                "Against the live cluster's nodes and quota",
                "sparkplane fit job.yaml --env prod --nodes <(kubectl get nodes -o yaml) --quota quota.yaml",
            ),
        ],
    ),
    (
        "render",
        &[
            ("Render what spark-submit would create", "sparkplane render job.yaml --env prod --target native"),
            (
                "One file per object, for GitOps",
                "sparkplane render job.yaml --env prod --target kubeflow --out-dir deploy/",
            ),
            ("A CronJob running spark-submit for a scheduled job", "sparkplane render job.yaml --target job"),
        ],
    ),
    (
        "presets",
        &[
            ("List the golden-path presets", "sparkplane presets list"),
            ("Show one, with the reasons for each setting", "sparkplane presets show etl-medium"),
        ],
    ),
    (
        "import",
        &[(
            "Convert a Kubeflow SparkApplication",
            "sparkplane import kubeflow spark-pi.yaml --out spark-pi.sparkjob.yaml",
        )],
    ),
    (
        "dq",
        &[
            ("Check trips-etl's output", "sparkplane dq check examples/trips-etl/trips-dq.yaml"),
            (
                "Check one day's partition; JUnit and Prometheus files for CI",
                "sparkplane dq check trips-dq.yaml --partition pickup_date=2026-11-20 --junit dq.xml --metrics dq.prom",
            ),
        ],
    ),
    ("crd", &[("Install the SparkJob CRD", "sparkplane crd | kubectl apply -f -")]),
    ("completion", &[("Enable bash completion", "source <(sparkplane completion bash)")]),
];

/// Runs `help`.
pub fn run(path: &[String], printer: &Printer) -> CommandResult {
    let mut command = Cli::command();
    if path.is_empty() {
        printer.raw(&format!("{}\n", command.render_long_help()));
        return Ok(());
    }
    let mut current = &mut command;
    for name in path {
        let names: Vec<String> = current.get_subcommands().map(|c| c.get_name().to_owned()).collect();
        current = match current.find_subcommand_mut(name) {
            Some(sub) => sub,
            None => {
                let mut diag = sparkplane_core::Diagnostic::error("usage", "", format!("there is no command `{name}`"));
                diag = match sparkplane_core::schema::did_you_mean(name, names.iter().map(String::as_str)) {
                    Some(guess) => diag.with_help(format!("did you mean `{guess}`?")),
                    None => diag.with_help(format!("commands: {}", names.join(", "))),
                };
                return Err(Failure::Invalid(diag.into()));
            }
        };
    }
    let usage_name = format!("sparkplane {}", path.join(" "));
    let mut help = current.clone().bin_name(usage_name).render_long_help().to_string();
    if let Some((_, examples)) = EXAMPLES.iter().find(|(name, _)| *name == path[0]) {
        help.push_str("\nExamples:\n");
        for (what, how) in examples.iter() {
            help.push_str(&format!("  # {what}\n  {how}\n\n"));
        }
    }
    printer.raw(&help);
    Ok(())
}
