//! The examples `sparkplane help <command>` prints after a command's help:
//! one table of (what it does, the command line) per command path.
//!
//! Owns: that table (data, so long on purpose) and finding a command's
//! rows. Must not: print or render help (`commands::help` does).

/// Examples per command path.
pub const EXAMPLES: &[(&str, &[(&str, &str)])] = &[
    (
        "policy check",
        &[
            (
                "Check a prod deploy with the shipped Rego policies, the tenant's quota and this month's spend",
                "sparkplane policy check job.yaml --env prod --policy-dir policies --tenants tenants/ --history s3-mirror/",
            ),
            ("A SARIF report for code scanning", "sparkplane policy check job.yaml --env prod --format sarif"),
        ],
    ),
    ("policy test", &[("Run the Rego policy tests, as in CI", "sparkplane policy test policies")]),
    (
        "policy export gatekeeper",
        &[(
            "ConstraintTemplates and Constraints for prod",
            "sparkplane policy export gatekeeper --policy-dir policies --env prod > gatekeeper.yaml",
        )],
    ),
    (
        "approve",
        &[(
            "Approve the spec prod will run",
            "sparkplane approve examples/trips-etl/trips-etl.yaml --env prod --by alice --reason \"reviewed in PR 42\"",
        )],
    ),
    (
        "release",
        &[
            ("Make a signing key pair (release.key stays secret)", "sparkplane release keygen --out keys/"),
            (
                "Release the prod spec with its CI report, signed",
                "sparkplane release examples/trips-etl/trips-etl.yaml --env prod --ci-report ci.json --key keys/release.key",
            ),
            (
                "Keep the release in the cluster (an immutable ConfigMap in the job's namespace)",
                "sparkplane release examples/trips-etl/trips-etl.yaml --env staging --ci-report ci.json --key keys/release.key --store cluster",
            ),
        ],
    ),
    (
        "promote",
        &[
            (
                "Promote a staging release to prod when every gate holds, writing prod's manifests for GitOps",
                "sparkplane promote job.yaml --release trips-etl-staging-66971a9a416b --to prod --trusted-key keys/release.pub --out-dir deploy/prod",
            ),
            (
                "On a laptop without dev or staging: the job's last local run (ci's, quality gates included) vouches",
                "sparkplane promote trips-etl.yaml --release trips-etl-dev-d5e5db56658c --from local --to staging --trusted-key keys/release.pub",
            ),
            (
                "The same from the cluster: the release's ConfigMap, staging's SparkJob run, the deployment as a ConfigMap",
                "sparkplane promote job.yaml --release trips-etl-staging-66971a9a416b --from staging --to prod --trusted-key keys/release.pub --store cluster",
            ),
        ],
    ),
    (
        "rollback",
        &[
            ("Go back to the release prod ran before", "sparkplane rollback job.yaml --env prod --out-dir deploy/prod"),
            (
                "Go back to a named release",
                "sparkplane rollback job.yaml --env prod --to trips-etl-staging-66971a9a416b",
            ),
        ],
    ),
    ("deployments", &[("What prod ran, and when", "sparkplane deployments job.yaml --env prod")]),
    (
        "verify",
        &[(
            "Check a release before deploying it",
            "sparkplane verify examples/trips-etl/releases/trips-etl-prod-80689123a560 --key keys/release.pub",
        )],
    ),
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
        "ci",
        &[
            (
                "Every check for every environment, as JUnit and SARIF for the CI system",
                "sparkplane ci job.yaml --nodes presets/nodes/standard.yaml --junit ci.xml --sarif ci.sarif",
            ),
            (
                "Only prod, without the local run, keeping the report `release --ci-report` reads",
                "sparkplane ci job.yaml --env prod --no-local-run --report ci-report.json",
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
        &[
            (
                "Convert a Kubeflow SparkApplication",
                "sparkplane import kubeflow spark-pi.yaml --out spark-pi.sparkjob.yaml",
            ),
            (
                "Convert a folder of Kubeflow YAML: ConfigMaps and ServiceAccounts kept, Secrets listed by key name",
                "sparkplane import kubeflow k8s/spark/ --out sparkjobs.yaml",
            ),
        ],
    ),
    (
        "migrate",
        &[
            (
                "What would move from the Kubeflow operator, and what each conversion loses",
                "sparkplane migrate kubeflow -n data-eng",
            ),
            (
                "Move one application, naming its owner",
                "sparkplane migrate kubeflow -n data-eng -l app=nightly --apply --team data-eng --cost-center cc-42",
            ),
            ("Hand it back to the Kubeflow operator", "sparkplane migrate kubeflow -n data-eng -l app=nightly --undo"),
        ],
    ),
    (
        "submit",
        &[
            ("Submit to the current kubeconfig context", "sparkplane submit job.yaml --env prod"),
            (
                "Submit and follow the driver to its outcome (exit 0 when it succeeds, 1 when it fails)",
                "sparkplane submit job.yaml --env prod --wait",
            ),
            ("Start another attempt of the same resolved job", "sparkplane submit job.yaml --env prod --rerun"),
            (
                "Let the API server check everything without storing it",
                "sparkplane submit job.yaml --context staging -n data-eng --dry-run=server",
            ),
        ],
    ),
    (
        "status",
        &[
            ("The latest attempt of a job file's resolved spec", "sparkplane status job.yaml --env prod"),
            ("By job name, as JSON", "sparkplane status trips-etl -n data-eng -o json"),
        ],
    ),
    ("logs", &[("Follow a job's driver log", "sparkplane logs trips-etl -n data-eng -f")]),
    (
        "apply",
        &[
            ("Hand a job to the operator, checked as `render` checks it", "sparkplane apply job.yaml --env prod"),
            (
                "Run a release in staging, so `promote --from staging --store cluster` can vouch for it",
                "sparkplane apply job.yaml --env staging --release trips-etl-staging-66971a9a416b",
            ),
            ("Let the API server check the SparkJob without storing it", "sparkplane apply job.yaml --dry-run"),
        ],
    ),
    ("trigger", &[("A manual run of a scheduled job", "sparkplane trigger nightly-report -n data-eng")]),
    (
        "operator",
        &[
            (
                "In a pod: two replicas, metrics for Prometheus, driver logs kept in S3",
                "sparkplane operator --leader-elect --metrics-address 0.0.0.0:8080 --log-store s3://spark-logs/drivers",
            ),
            ("Against a kubeconfig, one namespace", "sparkplane operator --context staging -n data-eng"),
            (
                "Also serve Kubeflow SparkApplications and SparkConnects labelled sparkplane.dev/operator=sparkplane",
                "sparkplane operator --leader-elect --kubeflow",
            ),
        ],
    ),
    (
        "list",
        &[
            ("Applications in every namespace", "sparkplane list -A"),
            ("One team's applications", "sparkplane list -A -l sparkplane.dev/team=data-eng"),
        ],
    ),
    (
        "delete",
        &[
            (
                "Delete a job's drivers (their ConfigMaps, Service and NetworkPolicy follow)",
                "sparkplane delete trips-etl -n data-eng",
            ),
            ("Also delete its ServiceAccount, Role and RoleBinding", "sparkplane delete trips-etl -n data-eng --all"),
        ],
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
    (
        "connect",
        &[
            ("A Spark Connect server until Ctrl-C; copy the sc:// line it prints", "sparkplane connect"),
            (
                "In the background, the line kept for later commands",
                "export SPARKPLANE_CONNECT_URL=\"$(sparkplane connect --background --preset interactive)\"",
            ),
            ("Is it running? Then stop it", "sparkplane connect status && sparkplane connect stop"),
        ],
    ),
    (
        "sql",
        &[
            ("One query on a server started for it", "sparkplane sql \"SELECT count(*) FROM parquet.`out/trips`\""),
            (
                "A file through a running server, as CSV",
                "sparkplane sql --file report.sql --connect \"$SPARKPLANE_CONNECT_URL\" --csv",
            ),
        ],
    ),
    (
        "backup",
        &[
            (
                "The backup CronJob for the cluster, one file per object for GitOps",
                "sparkplane backup render examples/backup/platform.yaml --out-dir deploy/backup",
            ),
            (
                "One backup now, from CI or a host that reaches the metastore and both stores",
                "sparkplane backup run examples/backup/platform.yaml",
            ),
            (
                "Restore the latest backup into a scratch database and check every copy; exit 1 names what is missing",
                "sparkplane backup verify examples/backup/platform.yaml -o json",
            ),
        ],
    ),
    (
        "dr drill",
        &[(
            "Restore the latest backup, run the job on the restored lake prefix and hold RTO/RPO to the objectives",
            "sparkplane dr drill --backup examples/backup/platform.yaml --job trips-count.yaml --set 'arguments=[\"{restored}/sales-curated\"]' --junit drill.xml",
        )],
    ),
    (
        "chaos",
        &[
            (
                "What each experiment breaks, what should happen, and which alerts and runbook apply",
                "sparkplane chaos list",
            ),
            (
                "Kill an executor mid-stage on local Spark and check the job still succeeds",
                "sparkplane chaos run executor-killed",
            ),
            (
                "Kill the S3 server while Spark writes to it, and keep the job's files (needs need_s3a's jars)",
                "sparkplane chaos run object-store-stopped --work-dir chaos-files",
            ),
            (
                "The operator's faults on the simulated cluster, as a JUnit suite for CI",
                "sparkplane chaos run node-lost node-drained driver-evicted api-server-paused operator-killed --junit chaos.xml",
            ),
        ],
    ),
    (
        "cost",
        &[(
            "What each job's local runs cost (Spark Connect sessions are said, not listed; --include-sessions lists them)",
            "sparkplane cost ~/.local/share/sparkplane/history --by job",
        )],
    ),
    ("runs list", &[("Every local run, Spark Connect sessions too", "sparkplane runs list --include-sessions")]),
    ("crd", &[("Install the SparkJob CRD", "sparkplane crd | kubectl apply -f -")]),
    ("completion", &[("Enable bash completion", "source <(sparkplane completion bash)")]),
];

/// The examples of a command path: its own, and for a command with
/// subcommands (`policy`) those of each of them (`policy check`, …).
pub fn examples_for(path: &str) -> Vec<(&'static str, &'static str)> {
    let below = format!("{path} ");
    EXAMPLES
        .iter()
        .filter(|(name, _)| *name == path || name.starts_with(&below))
        .flat_map(|(_, examples)| examples.iter().copied())
        .collect()
}
