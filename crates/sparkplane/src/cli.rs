//! The command line, as clap types and nothing else. Commands never see these
//! types: each turns its arguments into a plain settings struct first.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// The printer owns the output format; `-o` parses straight into it.
pub use crate::printer::OutputFormat;

/// `operator --driver-start-timeout`'s default: the lifecycle's, in the flag's type.
const DEFAULT_DRIVER_START: sparkplane_api::Duration =
    sparkplane_api::Duration::from_secs(sparkplane_lifecycle::plan::DEFAULT_DRIVER_START.as_secs());

/// Options every command takes.
#[derive(Args, Clone, Debug)]
pub struct GlobalArgs {
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, global = true, default_value = "table")]
    pub output: OutputFormat,
    /// Print only results and errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more about what happens (repeat for more; -vv adds the Kubernetes and storage clients' own logs; SPARKPLANE_LOG=<filter> overrides).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Never use colour (also: NO_COLOR=1).
    #[arg(long, global = true)]
    pub no_color: bool,
    /// A platform directory with presets/ and environments/ that add to or replace the built-in ones, and tenants/
    /// (Tenant files: a job that names no spec.queue gets its tenant's queue).
    #[arg(long, global = true, env = "SPARKPLANE_PLATFORM_DIR", value_name = "DIR")]
    pub platform_dir: Option<PathBuf>,
    /// Send CDEvents (CloudEvents over HTTP) for runs, quality gates, CI and releases to this URL; a sink that does
    /// not answer is retried, then reported, and never fails the command.
    #[arg(long, global = true, env = "SPARKPLANE_CDEVENTS_SINK", value_name = "URL")]
    pub cdevents_sink: Option<String>,
}

/// sparkplane takes an Apache Spark job from a commit to production on Kubernetes, with guardrails.
#[derive(Parser, Debug)]
#[command(name = "sparkplane", version, about, long_about = None, disable_help_subcommand = true)]
#[command(
    after_help = "Exit codes: 0 ok; 1 a job, gate or policy failed; 2 invalid input or usage; 3 infrastructure unreachable.\nRun `sparkplane help <command>` for examples."
)]
pub struct Cli {
    /// Options for every command.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Which fields of a job to take from where.
#[derive(Args, Clone, Debug)]
pub struct JobArgs {
    /// The SparkJob file.
    #[arg(value_name = "JOB")]
    pub job: PathBuf,
    /// Environment overlay to apply (dev, staging, prod, …); default: the job's spec.environment.
    #[arg(short, long, value_name = "ENV")]
    pub env: Option<String>,
    /// Override a field: --set spec.executor.instances=4 (repeatable; `spec.` may be left out).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
}

/// The commands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a job with its preset and environment applied.
    Resolve(ResolveArgs),
    /// Check a job for errors without printing it (and the ConfigMaps and ServiceAccounts its file holds beside it).
    Validate(ValidateArgs),
    /// Recommend driver and executor sizes for an input size and workload.
    Size(SizeArgs),
    /// Check that a job's pods fit node shapes and a namespace quota.
    Fit(FitArgs),
    /// Run every check of a job for CI and report them as one JUnit and one SARIF file: validation per environment,
    /// Spark SQL, policies, fit, the job's unit tests and a local run on sample data.
    Ci(CiArgs),
    /// Render a job to Kubernetes objects, with the ConfigMaps and ServiceAccounts its file holds beside it.
    Render(RenderArgs),
    /// Run a job on this machine on an embedded Spark, with live progress and a summary.
    Run(RunArgs),
    /// Submit a job to a Kubernetes cluster: the native objects, in spark-submit's order, by server-side apply.
    Submit(SubmitArgs),
    /// Show an application on the cluster: a SparkJob's operator status, or a submitted driver's phase and executors.
    Status(StatusArgs),
    /// Print (or follow) an application's driver log; for a SparkJob whose pod is gone, its archived log.
    Logs(LogsArgs),
    /// Print a job's link at the door (`history serve` here, or the chart's History Server): its live Spark UI while
    /// it runs, its History Server pages once it ended; --open also opens it in the browser.
    Ui(UiArgs),
    /// List the applications on the cluster: SparkJobs the operator manages and those submitted directly.
    List(ListArgs),
    /// Delete an application: a SparkJob (its pods follow), or a submitted job's driver pods (their objects follow).
    Delete(DeleteArgs),
    /// Create or update a job's SparkJob resource for the operator (validated and policy-checked as `render` does),
    /// after the ConfigMaps and ServiceAccounts its file holds beside it.
    Apply(ApplyArgs),
    /// Ask the operator for a manual run of a SparkJob (a scheduled one, or a finished one again), or to wake an idle
    /// Spark Connect server.
    Trigger(TriggerArgs),
    /// Run the operator: reconcile SparkJob resources (state machine, retries, timeouts, TTL, schedules, queues, Spark
    /// Connect servers).
    Operator(OperatorArgs),
    /// List and show local runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Manage local Spark runtimes (installed per Spark line, e.g. 3.5 or 4.0).
    #[command(subcommand)]
    Runtime(RuntimeCommand),
    /// Start a Spark Connect server on this machine (Spark 4, 127.0.0.1 only, a token per session) for notebooks and
    /// `sql`; `connect status` and `connect stop` manage one started with --background.
    Connect(ConnectArgs),
    /// Run Spark SQL through Spark Connect and print the last statement's rows; without --connect a local server is
    /// started for the query and stopped after it.
    Sql(SqlArgs),
    /// Cost per application, job, team or cost-center from a directory of Spark event logs (chargeback).
    Cost(CostArgs),
    /// OpenLineage run events (START, then COMPLETE or FAIL) for each application in an event log, with the
    /// input and output datasets (paths, tables, schemas) its SQL plans name; printed as JSON lines, or sent
    /// with `--openlineage URL`.
    Lineage(LineageArgs),
    /// Each application in event logs as an OpenTelemetry trace: a root span for the application, a span per
    /// job and per stage attempt (and with --tasks the slowest and failed task attempts), Spark's timings and
    /// metrics as attributes, failures as error status with the exception; printed as a tree (spans as JSON
    /// with -o json), or sent by OTLP with `--otlp URL`. Span ids are the same on every send.
    Trace(TraceArgs),
    /// Propose changes to a job's resources and settings from its past runs' event logs (memory up after spill or
    /// GC pressure, down to measured peaks plus headroom; executors, partitions, AQE), with a confidence.
    Tune(TuneArgs),
    /// Serve OpenMetrics from a directory of Spark event logs (outcomes, durations, cost, GC, spill, utilisation).
    Exporter(ExporterArgs),
    /// A History Server that answers Spark's REST API (/api/v1) from event logs in a folder or object storage.
    #[command(subcommand)]
    History(HistoryCommand),
    /// Onboard a team: its namespace, quota, limits, RBAC and network policies from one Tenant file.
    #[command(subcommand)]
    Tenant(TenantCommand),
    /// Back up what the platform must not lose (Hive Metastore, event logs, releases, lake prefixes) from a Backup
    /// file: CronJobs for the cluster, one backup from here, or a restore-and-compare of the latest.
    #[command(subcommand)]
    Backup(BackupCommand),
    /// Disaster recovery: drill a restore of the latest backup end to end, measuring RTO and RPO.
    #[command(subcommand)]
    Dr(DrCommand),
    /// Chaos experiments: break one part on purpose (an executor, the object store, the metastore, a node, the
    /// driver, the API server, the operator) and check that the platform degrades the way its runbooks say.
    #[command(subcommand)]
    Chaos(ChaosCommand),
    /// Check a job against the platform's policies (built-in and Rego), test Rego policies, export them to Gatekeeper.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Approve a job's resolved spec for an environment (prod deploys may require approvals).
    Approve(ApproveArgs),
    /// Make an immutable, signed release of a job for an environment: the resolved spec, its content hash, the image
    /// by digest, the commit, the CI result and an SBOM (`release keygen` makes a signing key pair).
    Release(ReleaseArgs),
    /// Check a release (a directory, or an id in a store: `--store cluster`): the content hash, the SBOM's digest and
    /// both signatures (exit 1 naming what changed).
    Verify(VerifyArgs),
    /// List a job's releases per environment (who, when, id, commit).
    Releases(ReleasesArgs),
    /// Promote a signed release to an environment when every gate holds (CI green, the last run in the source
    /// environment green with its quality gates, the target's policies and approvals, a trusted signature, the
    /// same commit, image digest and SBOM); every failing gate is reported at once (exit 1).
    Promote(PromoteArgs),
    /// Deploy an environment's previous (or a named) release again, exactly as it was deployed.
    Rollback(RollbackArgs),
    /// List a job's deployments to an environment (promotions and rollbacks, oldest first).
    Deployments(DeploymentsArgs),
    /// Observability artefacts: alert and SLO rules, Grafana dashboards, Alertmanager routing, and the PodMonitor or
    /// scrape configuration that reads Spark's own metrics from every driver.
    #[command(subcommand)]
    Observe(ObserveCommand),
    /// Data-quality gates: check a dataset against a DataQuality spec (exit 1 when an error check fails).
    #[command(subcommand)]
    Dq(DqCommand),
    /// What a Spark event log says happened (outcome; jobs, stages and tasks with the failed ones; bytes read,
    /// written and shuffled, counted as Spark's History Server counts them) and findings (GC, spill, skew,
    /// partitions, idle executors, …), each with evidence and a fix; `--html FILE` also writes a report with charts.
    Analyze(AnalyzeArgs),
    /// List and show golden-path presets.
    #[command(subcommand)]
    Presets(PresetsCommand),
    /// Convert another tool's job definition into a SparkJob.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Move Kubeflow Spark Operator resources in a cluster to sparkplane's operator, or back.
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// Print the SparkJob CustomResourceDefinition.
    Crd,
    /// Print the version, the commit and date it was built from, the Rust compiler, and the supported Spark and
    /// Kubernetes versions.
    Version,
    /// Print a shell completion script.
    Completion(CompletionArgs),
    /// Show help and examples for a command.
    Help(HelpArgs),
}

/// `resolve`.
#[derive(Args, Debug)]
pub struct ResolveArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// Show which layer set each field.
    #[arg(long)]
    pub explain: bool,
}

/// `validate`.
#[derive(Args, Debug)]
pub struct ValidateArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// Also require what a cluster needs (image, durable event-log storage).
    #[arg(long)]
    pub cluster: bool,
}

/// Workload classes the sizing model knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum WorkloadArg {
    /// Batch extract-transform-load.
    Etl,
    /// Machine learning (feature engineering, training).
    Ml,
    /// Structured Streaming.
    Streaming,
    /// Interactive / notebooks / Spark Connect.
    Interactive,
}

/// Application languages, for sizing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum LanguageArg {
    /// PySpark.
    Python,
    /// Scala.
    Scala,
    /// Java.
    Java,
    /// SparkR.
    R,
    /// SQL.
    Sql,
}

/// `size`.
#[derive(Args, Debug)]
pub struct SizeArgs {
    /// Data read by the job: 500GB, 1TiB, 200g, …
    #[arg(long, value_name = "SIZE")]
    pub input_size: String,
    /// Workload class.
    #[arg(long, value_enum, default_value = "etl")]
    pub workload: WorkloadArg,
    /// Finish within this long (e.g. 30m); more executors are recommended to meet it.
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,
    /// Application language (non-JVM languages need more memory overhead).
    #[arg(long, value_enum, default_value = "python")]
    pub language: LanguageArg,
    /// Keep executors within a node shape: a NodePools file or `kubectl get nodes -o yaml` output
    /// (the largest pool without NoSchedule taints is used).
    #[arg(long, value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// Patch this job file's driver, executor, dynamic allocation and shuffle partitions with the recommendation.
    #[arg(long, value_name = "JOB")]
    pub write: Option<PathBuf>,
}

/// `fit`.
#[derive(Args, Debug)]
pub struct FitArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// Node shapes: a NodePools file, or `kubectl get nodes -o yaml` output.
    #[arg(long, value_name = "FILE")]
    pub nodes: PathBuf,
    /// A ResourceQuota (as `kubectl get resourcequota NAME -o yaml` prints it).
    #[arg(long, value_name = "FILE")]
    pub quota: Option<PathBuf>,
    /// The platform's Queues file (kind: Queues): also check the job against its Kueue ClusterQueue's quota; a job
    /// no flavor of it could ever admit, even borrowing all it may, does not fit (exit 1), with what is short.
    #[arg(long, value_name = "FILE")]
    pub queues: Option<PathBuf>,
    /// The ClusterQueue to check against (with --queues); default: the one the job's tenant's LocalQueue feeds
    /// (the tenant from the platform directory's tenants/).
    #[arg(long, value_name = "NAME", requires = "queues")]
    pub cluster_queue: Option<String>,
    /// The namespace the job will run in (default: the job's own): with --queues, its tenant's LocalQueue and
    /// so its ClusterQueue, as `apply -n` resolves it.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// `ci`.
#[derive(Args, Debug)]
pub struct CiArgs {
    /// The SparkJob file.
    #[arg(value_name = "JOB")]
    pub job: PathBuf,
    /// An environment to check (repeatable); default: every environment of the platform and the job's own overlays.
    #[arg(short, long = "env", value_name = "ENV")]
    pub envs: Vec<String>,
    /// Override a field in every environment (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Write the checks as a JUnit XML test suite, one test case per check.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Write the findings as a SARIF 2.1.0 log (for code scanning), each at its file:line:col.
    #[arg(long, value_name = "FILE")]
    pub sarif: Option<PathBuf>,
    /// Write the JSON report (what `release --ci-report` reads).
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// What to print: the checks as text, or the JSON report.
    #[arg(long, value_enum, default_value = "text")]
    pub format: CiFormat,
    /// Node shapes for the fit check (a NodePools file or `kubectl get nodes -o yaml`); without, fit is skipped.
    #[arg(long, value_name = "FILE")]
    pub nodes: Option<PathBuf>,
    /// A ResourceQuota for the fit check; default: the quota of the job's tenant (--tenant/--tenants).
    #[arg(long, value_name = "FILE", requires = "nodes")]
    pub quota: Option<PathBuf>,
    /// Skip the local run on sample data even when the job declares spec.ci.sampleEnvironment.
    #[arg(long)]
    pub no_local_run: bool,
    /// What the policy gate reads besides the job.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// What `ci` prints.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum CiFormat {
    /// One line per check, its findings under it.
    Text,
    /// The JSON report.
    Json,
}

/// Render targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TargetArg {
    /// What spark-submit creates: driver Pod, ConfigMap, Service (+ RBAC and the application's NetworkPolicy).
    Native,
    /// Kubeflow Spark Operator SparkApplication / ScheduledSparkApplication.
    Kubeflow,
    /// batch/v1 Job (CronJob when scheduled) running spark-submit.
    Job,
}

/// `render`.
#[derive(Args, Debug)]
pub struct RenderArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// Which route to render.
    #[arg(short, long, value_enum, default_value = "native")]
    pub target: TargetArg,
    /// Write one file per object into this directory instead of a YAML stream on stdout.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// The namespace the job will run in (default: the job's own): the objects' namespace and, when no layer
    /// names spec.queue, that namespace's tenant's queue (the platform directory's tenants/), as `apply -n` does.
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// `enforce` refuses a job that breaks a deny policy (exit 1); `audit` reports it and renders anyway.
    #[arg(long, value_enum, default_value = "enforce")]
    pub policy_mode: PolicyMode,
    /// What the policies are checked against.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// What policies are checked against, beyond the job: Rego policies, the
/// tenant, its spend this month, and approval records.
#[derive(Args, Clone, Debug, Default)]
pub struct PolicyArgs {
    /// A directory of Rego policies (`*.rego`; `*_test.rego` are tests), beside the
    /// environment's `policy.regoDirs` (repeatable).
    #[arg(long = "policy-dir", value_name = "DIR")]
    pub policy_dirs: Vec<PathBuf>,
    /// The Tenant file the job runs under (its quota is checked; its budget with --history).
    #[arg(long, value_name = "FILE", conflicts_with = "tenants")]
    pub tenant: Option<PathBuf>,
    /// A directory of Tenant files; the tenant is the one whose namespace is the job's.
    #[arg(long, value_name = "DIR")]
    pub tenants: Option<PathBuf>,
    /// Event logs whose cost this month is checked against the tenant's budget.
    #[arg(long, value_name = "DIR")]
    pub history: Option<PathBuf>,
    /// Prices for --history's spend (as `cost --price-sheet`); default: OpenCost's defaults.
    #[arg(long, value_name = "FILE", requires = "history")]
    pub price_sheet: Option<PathBuf>,
    /// Where approval records are (default: .sparkplane/approvals/ next to the job file).
    #[arg(long, value_name = "DIR")]
    pub approvals_dir: Option<PathBuf>,
}

/// Whether deny policies block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyMode {
    /// Deny policies block (exit 1).
    Enforce,
    /// Deny policies are reported, not enforced (for rollouts).
    Audit,
}

/// Policy report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PolicyFormat {
    /// Human-readable text.
    Text,
    /// JSON.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test reports.
    Junit,
}

impl PolicyFormat {
    /// The name the policy module takes.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyFormat::Text => "text",
            PolicyFormat::Json => "json",
            PolicyFormat::Sarif => "sarif",
            PolicyFormat::Junit => "junit",
        }
    }
}

/// `policy`.
#[derive(Subcommand, Debug)]
pub enum PolicyCommand {
    /// Evaluate the built-in and Rego policies on a job (its resolved spec and rendered objects).
    Check {
        /// The job.
        #[command(flatten)]
        job: JobArgs,
        /// Report format.
        #[arg(long, value_enum, default_value = "text")]
        format: PolicyFormat,
        /// `enforce` exits 1 on a deny violation; `audit` reports and exits 0.
        #[arg(long, value_enum, default_value = "enforce")]
        policy_mode: PolicyMode,
        /// What the policies are checked against.
        #[command(flatten)]
        policy: PolicyArgs,
    },
    /// List the policies an environment evaluates (built-in and Rego), with their severity there.
    List {
        /// The environment whose configuration applies (disabled ids, severity overrides, regoDirs).
        #[arg(short, long, value_name = "ENV")]
        env: Option<String>,
        /// A directory of Rego policies (repeatable).
        #[arg(long = "policy-dir", value_name = "DIR")]
        policy_dirs: Vec<PathBuf>,
    },
    /// Run the Rego tests (`test_*` rules) in directories of policies, as `opa test` does.
    Test {
        /// Directories of `*.rego` and `*_test.rego` files.
        #[arg(required = true, value_name = "DIR")]
        dirs: Vec<PathBuf>,
    },
    /// Export the Rego policies for in-cluster enforcement.
    #[command(subcommand)]
    Export(ExportCommand),
}

/// `policy export`.
#[derive(Subcommand, Debug)]
pub enum ExportCommand {
    /// ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, CEL) for the built-in policies the API
    /// server can check on a SparkJob by itself (team and cost center, image tag, executor cores, prod digest):
    /// `sparkplane-deny`, `sparkplane-warn` and `sparkplane-prod`, to bind with Deny, Warn and a prod
    /// namespace selector. The platform chart ships and binds them.
    Admission {
        /// The environment whose configuration applies (its disabled ids and severity overrides).
        #[arg(short, long, value_name = "ENV")]
        env: Option<String>,
    },
    /// Gatekeeper ConstraintTemplates (templates.gatekeeper.sh/v1) and Constraints carrying the same Rego.
    Gatekeeper {
        /// A directory of Rego policies (repeatable).
        #[arg(long = "policy-dir", value_name = "DIR")]
        policy_dirs: Vec<PathBuf>,
        /// The environment whose configuration applies (its regoDirs, disabled ids and severities);
        /// also passed to the policies as `input.environment`.
        #[arg(short, long, value_name = "ENV")]
        env: Option<String>,
    },
}

/// `release`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct ReleaseArgs {
    /// `release keygen`.
    #[command(subcommand)]
    pub command: Option<ReleaseCommand>,
    /// The SparkJob file.
    #[arg(value_name = "JOB", required = true)]
    pub job: Option<PathBuf>,
    /// The environment released.
    #[arg(short, long, value_name = "ENV", required = true)]
    pub env: Option<String>,
    /// Override a field (repeatable): the release is of the spec resolved with them.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// The source commit (default: `git rev-parse HEAD` in the job file's directory).
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// The CI report (`sparkplane ci --format json`) whose outcome and digest are recorded.
    #[arg(long, value_name = "FILE")]
    pub ci_report: Option<PathBuf>,
    /// The private key that signs the record and the SBOM (ECDSA P-256, PKCS#8 PEM); unsigned without.
    #[arg(long, value_name = "KEY.pem")]
    pub key: Option<PathBuf>,
    /// The release store: one directory per release (default: releases/ next to the job file), or `cluster`:
    /// one immutable ConfigMap per release in the job's namespace of the cluster kubectl would use.
    #[arg(long, visible_alias = "store", value_name = "DIR|cluster")]
    pub out: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Who releases (default: $SPARKPLANE_USER, else $USER, else the git author, else the OS user).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Python requirements listed in the SBOM (default: requirements.txt next to the job file, when there).
    #[arg(long, value_name = "FILE")]
    pub requirements: Option<PathBuf>,
    /// What the policy gate reads besides the job.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `release` subcommands.
#[derive(Subcommand, Debug)]
pub enum ReleaseCommand {
    /// Make a signing key pair: release.key (PKCS#8 PEM, private) and release.pub (as cosign.pub).
    Keygen {
        /// Where to write them (never over existing files; inside a git work tree only where git ignores them).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
}

/// `verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// A release directory (releases/<id>/); with --store, a release id in that store.
    #[arg(value_name = "RELEASE_DIR|ID")]
    pub release: PathBuf,
    /// The public key the release must be signed with (PEM, as release.pub or cosign.pub).
    #[arg(long, value_name = "PUB.pem")]
    pub key: PathBuf,
    /// Read the release by id from this store: a directory of releases, or `cluster` (its ConfigMap in
    /// -n's namespace, else the context's).
    #[arg(long, value_name = "DIR|cluster")]
    pub store: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `releases`.
#[derive(Args, Debug)]
pub struct ReleasesArgs {
    /// The job's name, or its SparkJob file (whose releases/ directory is the default store).
    #[arg(value_name = "JOB")]
    pub job: String,
    /// Only this environment's releases.
    #[arg(short, long, value_name = "ENV")]
    pub env: Option<String>,
    /// The release store (default: releases/ next to the job file, or ./releases for a name), or `cluster`:
    /// ConfigMaps in the job's namespace for --env (else its file's, else the context's; -n overrides).
    #[arg(long, value_name = "DIR|cluster")]
    pub store: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Instead of the list: the fields that differ between two releases' resolved specs (ids from the list).
    #[arg(long, num_args = 2, value_names = ["A", "B"])]
    pub diff: Option<Vec<String>>,
}

/// `promote`.
#[derive(Args, Debug)]
pub struct PromoteArgs {
    /// The SparkJob file, resolved again for the target environment.
    #[arg(value_name = "JOB")]
    pub job: PathBuf,
    /// The release to promote (an id `sparkplane releases JOB` lists).
    #[arg(long, value_name = "ID")]
    pub release: String,
    /// The target environment.
    #[arg(long, value_name = "ENV")]
    pub to: String,
    /// The source environment whose last run must be green (default: the release's environment).
    #[arg(long, value_name = "ENV")]
    pub from: Option<String>,
    /// The release store; deployments are logged in its deployments/ (default: releases/ next to the job file).
    /// `cluster`: the release is read from its ConfigMap in the namespace of the environment it was released for,
    /// the source environment's run from its SparkJob, and the deployment is a ConfigMap in the target's namespace
    /// (-n overrides).
    #[arg(long, value_name = "DIR|cluster")]
    pub store: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// A public key trusted to sign releases for the target (repeatable; default: every *.pub in
    /// .sparkplane/trusted-keys/<ENV>/ next to the job file).
    #[arg(long = "trusted-key", value_name = "PUB.pem")]
    pub trusted_keys: Vec<PathBuf>,
    /// The commit the job file is at (default: `git rev-parse HEAD` in its directory); must be the release's.
    #[arg(long, value_name = "SHA")]
    pub commit: Option<String>,
    /// Who promotes (default: $SPARKPLANE_USER, else $USER, else the git author, else the OS user).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Also write the rendered manifests here (a GitOps directory; the job's stale ones are removed).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Once every other gate holds, run the candidate with its outputs redirected (spec.delivery.shadow), compare
    /// them with the current outputs and promote only within the declared bounds.
    #[arg(long)]
    pub shadow: bool,
    /// Where the shadow run is made: on this machine (`sparkplane run`), or in the cluster as a SparkJob
    /// `<job>-shadow` that the operator runs, its outputs under .sparkplane/shadow/<release>/ in the outputs' bucket.
    #[arg(long, value_enum, value_name = "WHERE", default_value = "local", requires = "shadow")]
    pub shadow_in: ShadowPlaceArg,
    /// The environment the shadow run resolves the job for (default: `local` on this machine, the --to
    /// environment in the cluster).
    #[arg(long, value_name = "ENV", requires = "shadow")]
    pub shadow_env: Option<String>,
    /// What the target's policy gate reads besides the job (approvals among it).
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `promote --shadow-in`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShadowPlaceArg {
    /// On this machine, as `sparkplane run` runs the job.
    Local,
    /// In the cluster, through the operator.
    Cluster,
}

/// `rollback`.
#[derive(Args, Debug)]
pub struct RollbackArgs {
    /// The job's name, or its SparkJob file (whose releases/ directory is the default store).
    #[arg(value_name = "JOB")]
    pub job: String,
    /// The environment rolled back.
    #[arg(short, long, value_name = "ENV")]
    pub env: String,
    /// The release to go back to (default: the one deployed before the current one).
    #[arg(long, value_name = "ID")]
    pub to: Option<String>,
    /// The release store (default: releases/ next to the job file, or ./releases for a name), or `cluster`: the
    /// log as ConfigMaps in the job's namespace for --env (-n overrides).
    #[arg(long, value_name = "DIR|cluster")]
    pub store: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Who rolls back (default: $SPARKPLANE_USER, else $USER, else the git author, else the OS user).
    #[arg(long, value_name = "NAME")]
    pub by: Option<String>,
    /// Also write the rendered manifests here (a GitOps directory; the job's stale ones are removed).
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

/// `deployments`.
#[derive(Args, Debug)]
pub struct DeploymentsArgs {
    /// The job's name, or its SparkJob file (whose releases/ directory is the default store).
    #[arg(value_name = "JOB")]
    pub job: String,
    /// The environment.
    #[arg(short, long, value_name = "ENV")]
    pub env: String,
    /// The release store (default: releases/ next to the job file, or ./releases for a name), or `cluster`: the
    /// log as ConfigMaps in the job's namespace for --env (-n overrides).
    #[arg(long, value_name = "DIR|cluster")]
    pub store: Option<PathBuf>,
    /// The cluster and namespace of `--store cluster`.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `approve`.
#[derive(Args, Debug)]
pub struct ApproveArgs {
    /// The SparkJob file.
    #[arg(value_name = "JOB")]
    pub job: PathBuf,
    /// The environment the approval is for.
    #[arg(short, long, value_name = "ENV")]
    pub env: String,
    /// Override a field, as the deploy will (repeatable): the approval is for the spec resolved with them.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Who approves.
    #[arg(long, value_name = "NAME")]
    pub by: String,
    /// Why (kept in the record).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Where approval records are written (default: .sparkplane/approvals/ next to the job file).
    #[arg(long, value_name = "DIR")]
    pub approvals_dir: Option<PathBuf>,
}

/// `presets`.
#[derive(Subcommand, Debug)]
pub enum PresetsCommand {
    /// List the presets.
    List,
    /// Show one preset.
    Show {
        /// Preset name.
        name: String,
    },
}

/// `import`.
#[derive(Subcommand, Debug)]
pub enum ImportCommand {
    /// Convert the Kubeflow SparkApplications, ScheduledSparkApplications (v1beta2) and SparkConnects (v1alpha1)
    /// of a file or a directory; ConfigMaps and ServiceAccounts beside them are kept, other documents (a Secret by
    /// its key names only, never its values) are listed with why they were left out.
    Kubeflow {
        /// The Kubeflow YAML file (one or more documents separated by `---`), or a directory: every .yaml, .yml and
        /// .json file under it, in sorted path order.
        file: PathBuf,
        /// Write the output (a YAML stream) here instead of stdout; nothing is written when an import fails. The
        /// output of one application is a job file `validate`, `render` and `apply` take as it is.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
}

/// `migrate`.
#[derive(Subcommand, Debug)]
pub enum MigrateCommand {
    /// List the cluster's Kubeflow SparkApplications, ScheduledSparkApplications and SparkConnects with what would
    /// move to sparkplane's operator (`operator --kubeflow`), what each conversion changes or cannot honour, and what
    /// stays and why (an application running under the other operator moves once it ended; a schedule's runs follow
    /// their schedule; a SparkConnect moves serving, and its line says what the other operator's server leaves
    /// behind and the endpoint clients move to); --apply moves them by adding the label sparkplane.dev/operator=sparkplane, --undo hands them back
    /// by removing it. Nothing else of a resource is written: spec and status stay. Exit 1 when --apply could not
    /// move one (its conversion or the operator's plan refuses it).
    Kubeflow(MigrateKubeflowArgs),
}

/// `migrate kubeflow`.
#[derive(Args, Debug)]
pub struct MigrateKubeflowArgs {
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Only this namespace (default: every namespace).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// Only resources matching this label selector (e.g. `app=nightly`).
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// Move what can move: add the label sparkplane.dev/operator=sparkplane.
    #[arg(long, conflicts_with = "undo")]
    pub apply: bool,
    /// Hand back what sparkplane serves and is not running: remove that label.
    #[arg(long)]
    pub undo: bool,
    /// With --apply: the team a moved resource is labelled with (sparkplane.dev/team) where it names none; the
    /// operator's policies ask every job for a team and a cost center.
    #[arg(long, value_name = "TEAM", requires = "apply")]
    pub team: Option<String>,
    /// With --apply: the cost center a moved resource is labelled with (sparkplane.dev/cost-center) where it names none.
    #[arg(long, value_name = "COST_CENTER", requires = "apply")]
    pub cost_center: Option<String>,
}

/// Shells with completion scripts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ShellArg {
    /// Bash.
    Bash,
    /// Zsh.
    Zsh,
    /// Fish.
    Fish,
}

/// `completion`.
#[derive(Args, Debug)]
pub struct CompletionArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: ShellArg,
}

/// `help`.
#[derive(Args, Debug)]
pub struct HelpArgs {
    /// The command (e.g. `render` or `presets`).
    pub command: Vec<String>,
}

/// `run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// The SparkJob file.
    #[arg(value_name = "JOB")]
    pub job: PathBuf,
    /// Environment overlay to apply (default: `local`).
    #[arg(short, long, value_name = "ENV", default_value = sparkplane_core::catalog::LOCAL_ENVIRONMENT)]
    pub env: String,
    /// Override a field: --set spec.arguments='[a, b]' (repeatable; `spec.` may be left out).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Stream the driver's log to the terminal while it runs.
    #[arg(short, long)]
    pub follow: bool,
    /// `enforce` refuses a job that breaks a deny policy (exit 1); `audit` reports it and runs anyway.
    #[arg(long, value_enum, default_value = "enforce")]
    pub policy_mode: PolicyMode,
    /// What the policies are checked against.
    #[command(flatten)]
    pub policy: PolicyArgs,
}

/// `dq`.
#[derive(Subcommand, Debug)]
pub enum DqCommand {
    /// Run a DataQuality spec's checks (incl. SQL predicates) in one pass over the data; store a profile;
    /// quarantine on failure.
    ///
    /// The dataset, profile store and quarantine location may be local paths or object-store URLs
    /// (s3://, s3a://, gs://, az://). Credentials and endpoint come from the environment:
    /// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT_URL (S3-compatible servers);
    /// GOOGLE_APPLICATION_CREDENTIALS; AZURE_STORAGE_ACCOUNT_NAME/AZURE_STORAGE_ACCOUNT_KEY.
    /// Exit codes: 0 passed, 1 a check failed or data is unreadable, 2 bad spec/location, 3 storage unreachable.
    Check(DqCheckArgs),
}

/// `dq check`.
#[derive(Args, Debug)]
pub struct DqCheckArgs {
    /// The DataQuality spec (kind: DataQuality).
    #[arg(value_name = "SPEC")]
    pub spec: PathBuf,
    /// Check only this partition of a hive-partitioned dataset: --partition date=2026-11-20 (repeatable).
    #[arg(long = "partition", value_name = "KEY=VALUE")]
    pub partitions: Vec<String>,
    /// Also write the results as a JUnit XML file.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write Prometheus metrics (text exposition) to a file, e.g. for node_exporter's textfile collector.
    #[arg(long, value_name = "FILE")]
    pub metrics: Option<PathBuf>,
    /// Worker threads (default: the machine's cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<usize>,
    /// Do not store this run's profile (baselines stay as they are).
    #[arg(long)]
    pub no_profile: bool,
    /// Do not quarantine failing data even when the spec configures it.
    #[arg(long)]
    pub no_quarantine: bool,
    /// The environment the data belongs to, as CDEvents name it (with --cdevents-sink).
    #[arg(long, value_name = "ENV", default_value = sparkplane_core::catalog::LOCAL_ENVIRONMENT)]
    pub env: String,
    /// The engine, instead of the spec's `engine:` (native, spark, auto). spark runs the checks as
    /// Spark SQL over Spark Connect: a local server started for the run, or the --connect endpoint.
    #[arg(long, value_name = "ENGINE", value_parser = ["native", "spark", "auto"])]
    pub engine: Option<String>,
    /// The spark engine's Spark Connect endpoint: sc://host:port/;token=… (default: a local server).
    #[arg(long, value_name = "URL")]
    pub connect: Option<String>,
    /// The Spark line the spark engine runs on locally: a Spark Connect server for 4.0 and 4.1, a local
    /// Spark application for 3.5 (which has no Connect server).
    #[arg(long, value_name = "LINE", default_value = sparkplane_local::connect::DEFAULT_LINE)]
    pub spark: String,
}

/// `runs`.
#[derive(Subcommand, Debug)]
pub enum RunsCommand {
    /// List local runs, newest first.
    List {
        /// Also list interactive Spark Connect sessions (`connect`, `sql`), which are left out otherwise.
        #[arg(long)]
        include_sessions: bool,
    },
    /// Show one run (an id or a unique prefix of one).
    Show {
        /// Run id.
        run: String,
    },
}

/// `runtime`.
#[derive(Subcommand, Debug)]
pub enum RuntimeCommand {
    /// Install the pinned pyspark of a Spark line (3.5, 4.0, 4.1) into a private environment.
    Install {
        /// Spark line or version.
        line: String,
    },
    /// List installed runtimes.
    List,
    /// Remove a runtime.
    Remove {
        /// Spark line.
        line: String,
    },
}

/// `connect`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ConnectArgs {
    /// Manage a background server.
    #[command(subcommand)]
    pub command: Option<ConnectCommand>,
    /// Spark settings from this preset (`spark.connect.*`, `spark.plugins` and cluster-only settings are left out).
    #[arg(long, value_name = "NAME")]
    pub preset: Option<String>,
    /// The gRPC port on 127.0.0.1.
    #[arg(long, default_value_t = sparkplane_local::connect::DEFAULT_PORT)]
    pub port: u16,
    /// The Spark line the server runs (4.0 or 4.1; installed when missing).
    #[arg(long, value_name = "LINE", default_value = sparkplane_local::connect::DEFAULT_LINE)]
    pub spark: String,
    /// Start the server, print its connection line and return; stop it with `sparkplane connect stop`.
    #[arg(long)]
    pub background: bool,
}

/// `connect status|stop`.
#[derive(Subcommand, Debug)]
pub enum ConnectCommand {
    /// Show the background server (exit 0 when one runs, 1 when none does); the token is never shown again.
    Status,
    /// Stop the background server cleanly and record its session (a no-op when none runs).
    Stop,
}

/// `sql`.
#[derive(Args, Debug)]
pub struct SqlArgs {
    /// The SQL: one or more statements, each ending with `;` at the end of a line.
    #[arg(value_name = "SQL", required_unless_present = "file", conflicts_with = "file")]
    pub query: Option<String>,
    /// Read the SQL from FILE (errors point at its lines and columns).
    #[arg(long, short = 'f', value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// A running server's line, `sc://localhost:PORT/;token=…` (as `sparkplane connect` prints it).
    #[arg(long, value_name = "URL", env = "SPARKPLANE_CONNECT_URL", hide_env_values = true)]
    pub connect: Option<String>,
    /// The Spark line of the local server started when --connect is not given.
    #[arg(long, value_name = "LINE", default_value = sparkplane_local::connect::DEFAULT_LINE)]
    pub spark: String,
    /// Write the rows as CSV.
    #[arg(long)]
    pub csv: bool,
    /// Also write the rows to FILE as Parquet (typed columns, written by Spark's Arrow; replaced atomically).
    #[arg(long, value_name = "FILE")]
    pub parquet: Option<PathBuf>,
}

/// `lineage`.
#[derive(Args, Debug)]
pub struct LineageArgs {
    /// One application's event log or a directory of them (spark.eventLog.dir), as a path or an object-store
    /// URL (s3://bucket/prefix, s3a://, gs://, az://; credentials from AWS_* etc. in the environment).
    #[arg(value_name = "LOG")]
    pub path: PathBuf,
    /// POST each event to this OpenLineage endpoint (e.g. http://marquez:5000/api/v1/lineage) instead of
    /// printing it; exit 3 when it does not accept them.
    #[arg(long, value_name = "URL")]
    pub openlineage: Option<String>,
    /// The database the applications' JDBC tables live in (jdbc:postgresql://HOST:PORT/DATABASE or
    /// jdbc:mysql://…): Spark redacts JDBC URLs in event logs, so without it JDBC tables are left out with a
    /// warning. Only scheme, host, port and database are used; user, password and parameters are dropped.
    #[arg(long, value_name = "URL")]
    pub jdbc_url: Option<String>,
}

/// `trace`.
#[derive(Args, Debug)]
pub struct TraceArgs {
    /// Event logs or directories of them (spark.eventLog.dir), as paths or object-store URLs
    /// (s3://bucket/prefix, s3a://, gs://, az://; credentials from AWS_* etc. in the environment).
    #[arg(value_name = "LOG", required = true)]
    pub paths: Vec<PathBuf>,
    /// Send the traces to this OTLP endpoint instead of printing them: http://HOST:4318 for OTLP/HTTP
    /// (requests go to /v1/traces unless the URL has a path), http://HOST:4317 with --protocol grpc.
    /// Exit 3 when it does not take them.
    #[arg(long, value_name = "URL")]
    pub otlp: Option<String>,
    /// The OTLP transport.
    #[arg(long, value_enum, value_name = "PROTOCOL", default_value = "http")]
    pub protocol: OtlpProtocolArg,
    /// Also add the N slowest task attempts of each application as spans, and every failed one (up to 100).
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub tasks: usize,
}

/// OTLP transports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum OtlpProtocolArg {
    /// HTTP POST of protobuf (port 4318).
    Http,
    /// gRPC (port 4317).
    Grpc,
}

/// `analyze`.
#[derive(Args, Debug)]
pub struct AnalyzeArgs {
    /// One application's event log: a file or an `eventlog_v2_*` directory, as a path or an
    /// object-store URL (s3://bucket/key, s3a://, gs://, az://; credentials from AWS_* etc.).
    #[arg(value_name = "PATH")]
    pub path: PathBuf,
    /// Also write a self-contained HTML report (executor timeline, stage Gantt chart with the critical path,
    /// task-time distributions, cost, findings) to FILE; it needs no network to open.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `cost`.
#[derive(Args, Debug)]
pub struct CostArgs {
    /// A directory of event logs (spark.eventLog.dir) or one log, as a path or an object-store URL
    /// (s3://bucket/prefix, s3a://, gs://, az://; credentials from AWS_* etc. in the environment).
    #[arg(value_name = "DIR")]
    pub path: PathBuf,
    /// Only applications that ran in this window, e.g. 30d or 12h.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Group costs by team, job, cost-center, namespace or app.
    #[arg(long, value_name = "KEY", default_value = "team")]
    pub by: String,
    /// Prices ($/core-hour, $/GiB-hour, $/GPU-hour, spot multiplier, per node pool); default: OpenCost's defaults.
    #[arg(long, value_name = "FILE")]
    pub price_sheet: Option<PathBuf>,
    /// Team budgets (monthly amount, warning and critical %); exit 1 when a team is critical.
    #[arg(long, value_name = "FILE")]
    pub budget: Option<PathBuf>,
    /// Write the rows as CSV.
    #[arg(long)]
    pub csv: bool,
    /// Also write the rows to FILE as Parquet (typed columns; replaced atomically). Parquet is
    /// binary, so it goes to a file, never stdout; stdout still gets the report.
    #[arg(long, value_name = "FILE")]
    pub parquet: Option<PathBuf>,
    /// With --by job, also list interactive Spark Connect sessions (`connect`, `sql`), which are not jobs and are
    /// left out otherwise; every other grouping counts them.
    #[arg(long)]
    pub include_sessions: bool,
    /// An export of these logs (`history export --to`, a folder or object-store URL): an application it holds
    /// as its log is now is priced from the exported facts, its log not read; the others are read.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub facts: Option<String>,
}

/// `tune`.
#[derive(Args, Debug)]
pub struct TuneArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// A directory of the job's event logs (e.g. ~/.local/share/sparkplane/history, or spark.eventLog.dir),
    /// as a path or an object-store URL (s3://bucket/prefix, s3a://, gs://, az://; credentials from the environment).
    #[arg(long, value_name = "DIR")]
    pub history: PathBuf,
    /// Apply the proposal to the job file (comments and layout kept).
    #[arg(long)]
    pub write: bool,
}

/// Rule output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RuleFormat {
    /// A Prometheus rule file (`groups:`), for `rule_files`.
    Prometheus,
    /// A `monitoring.coreos.com/v1` PrometheusRule, for prometheus-operator / kube-prometheus-stack.
    Prometheusrule,
}

/// `observe`.
#[derive(Subcommand, Debug)]
pub enum ObserveCommand {
    /// Alerting and recording rules (every alert links its runbook under docs/runbooks).
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value = "prometheus")]
        format: RuleFormat,
        /// SLOs to add multi-window, multi-burn-rate alerts for: a YAML list of
        /// `{name, scope: {job: NAME} | {team: NAME}, objective: 0.99}`.
        #[arg(long, value_name = "FILE")]
        slo: Option<PathBuf>,
        /// Namespace of the PrometheusRule.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Label the PrometheusRule `release: NAME`, the label kube-prometheus-stack's Prometheus selects rules by
        /// (its Helm release name) unless its ruleSelector says otherwise.
        #[arg(long, value_name = "NAME")]
        release: Option<String>,
    },
    /// Grafana dashboards (data engineer, platform, FinOps, tenants) as JSON, or with --bundle as
    /// ConfigMaps for Grafana's sidecar plus the PrometheusRule.
    Dashboards {
        /// ConfigMaps (label grafana_dashboard: "1") and the PrometheusRule, as a YAML stream.
        #[arg(long)]
        bundle: bool,
        /// Namespace of the bundle's objects.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Label the bundle's PrometheusRule `release: NAME` (kube-prometheus-stack's Helm release name).
        #[arg(long, value_name = "NAME", requires = "bundle")]
        release: Option<String>,
    },
    /// An Alertmanager configuration that routes each team's alerts (by their `team` label) to the receivers its
    /// Tenant file declares under spec.alerting, by severity, grouped per application, with inhibition; teams
    /// without receivers go to the platform route. Secrets become files Alertmanager reads, never values.
    Alertmanager(AlertmanagerArgs),
    /// What scrapes Spark's own metrics from every driver sparkplane renders or runs (executor metrics and the
    /// driver's, on the Spark UI port): a Prometheus Operator PodMonitor selecting drivers labelled
    /// sparkplane.dev/metrics=prometheus, or with --format scrape-config the same scrape for a Prometheus without the
    /// Operator (pod discovery, or --target HOST:PORT such as a local run's Spark UI).
    Monitors(MonitorsArgs),
}

/// `observe monitors --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum MonitorFormat {
    /// A `monitoring.coreos.com/v1` PodMonitor.
    Podmonitor,
    /// A Prometheus configuration with `scrape_configs`.
    ScrapeConfig,
}

/// `observe monitors`.
#[derive(Args, Debug)]
pub struct MonitorsArgs {
    /// Output format.
    #[arg(long, value_enum, default_value = "podmonitor")]
    pub format: MonitorFormat,
    /// How often to scrape (a Prometheus duration).
    #[arg(long, value_name = "DURATION", default_value = sparkplane_observe::monitors::DEFAULT_INTERVAL)]
    pub interval: String,
    /// Namespace of the PodMonitor.
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,
    /// Label the PodMonitor `release: NAME` (kube-prometheus-stack selects PodMonitors by its Helm release name).
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// With --format scrape-config: scrape this driver UI (HOST:PORT, repeatable) instead of discovering pods.
    #[arg(long = "target", value_name = "HOST:PORT")]
    pub targets: Vec<String>,
}

/// `observe alertmanager`.
#[derive(Args, Debug)]
pub struct AlertmanagerArgs {
    /// A directory of Tenant files.
    #[arg(long, value_name = "DIR")]
    pub tenants: PathBuf,
    /// Name of the platform's default receiver (what no team route takes).
    #[arg(long, value_name = "NAME", default_value = sparkplane_observe::alertmanager::PLATFORM_RECEIVER)]
    pub platform_receiver: String,
    /// A webhook the platform receiver sends to (without it, alerts reaching it are dropped).
    #[arg(long, value_name = "URL")]
    pub platform_webhook: Option<String>,
    /// The SMTP relay for email receivers (host:port).
    #[arg(long, value_name = "HOST:PORT")]
    pub smtp_smarthost: Option<String>,
    /// The sender address of alert emails.
    #[arg(long, value_name = "ADDRESS", requires = "smtp_smarthost")]
    pub smtp_from: Option<String>,
    /// Output: one alertmanager.yml for the platform's Alertmanager, or one AlertmanagerConfig resource per
    /// tenant (monitoring.coreos.com/v1alpha1, Secrets only) for Alertmanagers the Prometheus Operator runs.
    #[arg(long, value_enum, default_value = "alertmanager")]
    pub format: AlertmanagerFormat,
}

/// `observe alertmanager` output formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum AlertmanagerFormat {
    /// alertmanager.yml.
    Alertmanager,
    /// AlertmanagerConfig resources, a YAML stream.
    Alertmanagerconfig,
}

/// `exporter`.
#[derive(Args, Debug)]
pub struct ExporterArgs {
    /// A directory of event logs (spark.eventLog.dir) as a path or an object-store URL
    /// (s3://bucket/prefix, s3a://, gs://, az://; credentials from AWS_* etc. in the environment).
    #[arg(long, value_name = "DIR")]
    pub history: PathBuf,
    /// Address to serve /metrics on (IP and port).
    #[arg(long, value_name = "ADDR", default_value = sparkplane_observe::exporter::DEFAULT_LISTEN)]
    pub listen: String,
    /// Seconds between scans of the directory.
    #[arg(long, value_name = "SECS", default_value_t = sparkplane_observe::exporter::DEFAULT_INTERVAL_SECS)]
    pub interval: u64,
    /// Also probe this Spark History Server's REST API on every scan
    /// (http://HOST:PORT, e.g. http://spark-history:18080) and export
    /// sparkplane_history_server_up (1 answered, 0 did not).
    #[arg(long, value_name = "URL")]
    pub history_server: Option<String>,
    /// Also send each application's trace (as `sparkplane trace` builds it) to this OTLP endpoint once the
    /// exporter has read its log whole; a failed send is retried on the next scan.
    #[arg(long, value_name = "URL")]
    pub otlp: Option<String>,
    /// The OTLP transport for --otlp.
    #[arg(long, value_enum, value_name = "PROTOCOL", default_value = "http", requires = "otlp")]
    pub otlp_protocol: OtlpProtocolArg,
    /// An export of these logs (`history export --to`, or `history serve --export-to`): a finished application
    /// it holds as its log is now is counted from the exported facts, its log not read. Not with --otlp (a
    /// trace is built from the log).
    #[arg(long, value_name = "PATH_OR_URL", conflicts_with = "otlp")]
    pub facts: Option<String>,
}

/// `history`.
#[derive(Subcommand, Debug)]
pub enum HistoryCommand {
    /// Serve Spark's History Server REST API (/api/v1), a searchable application list on `/` with each
    /// application's report, Spark's web UI pages at Spark's URLs (/history/<app-id>/jobs/, stages/, executors/,
    /// SQL/, …), and its own metrics on /metrics, until Ctrl-C. New and in-progress logs show up without a
    /// restart.
    Serve(Box<HistoryServeArgs>),
    /// Write the fleet's facts as Parquet tables for Spark, Trino or DuckDB: applications, jobs, stages,
    /// executors and sql_executions, partitioned by start date and team (<table>/date=…/team=…/), each
    /// application once; a rerun writes only new applications and in-progress ones whose log changed.
    Export(HistoryExportArgs),
}

/// `history export`.
#[derive(Args, Debug)]
pub struct HistoryExportArgs {
    /// The event-log directory (spark.eventLog.dir) as a path or an object-store URL (s3://bucket/prefix,
    /// s3a://, gs://, az://; credentials from AWS_* etc. in the environment).
    #[arg(long, alias = "logs", value_name = "PATH_OR_URL")]
    pub from: String,
    /// Where the tables go: a folder (created when missing) or an object-store URL; it keeps a manifest
    /// (_sparkplane_export.json) that says which logs are written.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub to: String,
    /// Prices for the cost_usd column (as `cost --price-sheet`); default: OpenCost's defaults.
    #[arg(long, value_name = "FILE")]
    pub price_sheet: Option<PathBuf>,
}

/// `history serve`.
#[derive(Args, Debug)]
pub struct HistoryServeArgs {
    /// The event-log directory (spark.eventLog.dir) as a path or an object-store URL (s3://bucket/prefix,
    /// s3a://, gs://, az://; credentials from AWS_* etc. in the environment). Per-team folders below it
    /// (<root>/<team>/<log>) are listed too.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub logs: String,
    /// Address to listen on (IP and port); Spark's History Server uses port 18080.
    #[arg(long, value_name = "ADDR", default_value = sparkplane_history::server::DEFAULT_LISTEN)]
    pub listen: String,
    /// Seconds between rescans of the location: a new, grown or deleted log shows within it.
    #[arg(long, visible_alias = "refresh", value_name = "SECS", default_value_t = 10)]
    pub interval: u64,
    /// Memory for replayed application details (jobs, stages, tasks), in MiB; least recently used go first.
    #[arg(long, value_name = "MIB", default_value_t = sparkplane_history::index::DEFAULT_CACHE_BYTES >> 20)]
    pub cache_mib: u64,
    /// Also keep the fleet's facts as Parquet there (a folder or object-store URL), written as
    /// `history export --to` writes them (default prices), at start and every --interval.
    #[arg(long, value_name = "PATH_OR_URL")]
    pub export_to: Option<String>,
    /// Folder of the persisted index (one small embedded database): a restart answers `applications`
    /// from it at once, then rereads only logs that changed. Default: $XDG_CACHE_HOME (or
    /// ~/.cache)/sparkplane/history-index/<hash of --logs>. A corrupt or older index is rebuilt from
    /// the logs with a warning.
    #[arg(long, value_name = "DIR")]
    pub index_dir: Option<PathBuf>,
    /// While a local run (`sparkplane run`) of this machine runs, its Spark UI is served at
    /// /jobs/<namespace>/<job>/, and the History Server's pages of its latest run once it ends: the runs
    /// of this sparkplane home (default $SPARKPLANE_HOME, else ~/.local/share/sparkplane); `none`: off.
    #[arg(long, value_name = "DIR|none")]
    pub live_runs: Option<PathBuf>,
    /// Who may use the live UI's kill links: `team` (whoever may change the application: its team,
    /// platform admins, Spark's modify ACLs) or `off` (no one, through this server).
    #[arg(long, value_name = "WHO", value_parser = ["team", "off"], default_value = "team")]
    pub live_ui_kill: String,
    /// Also read the cluster (as kubectl does) every 2 s: its SparkJobs at /console, its running jobs' Spark UIs at
    /// /jobs/<namespace>/<job>/; each shown only to who may see it (docs/console.md).
    #[arg(long)]
    pub cluster: bool,
    #[command(flatten)]
    pub signin: SignInArgs,
}

/// Who may open a server a person opens (ADR 0092), and what each sees (ADR 0090).
#[derive(Args, Debug, Clone)]
pub struct SignInArgs {
    #[command(flatten)]
    pub door: sparkplane_door::SignInFlags,
    #[command(flatten)]
    pub access: sparkplane_door::AccessFlags,
}

/// `tenant`.
#[derive(Subcommand, Debug)]
pub enum TenantCommand {
    /// Render a Tenant file to Kubernetes objects (with its Kueue LocalQueue when it names spec.queue).
    Render {
        /// The Tenant file.
        file: PathBuf,
        /// The platform's Queues file (kind: Queues): also render its ResourceFlavors, priority classes and
        /// ClusterQueues (cohort, quotas, borrowing and lending limits, fair-sharing weight); the tenant's
        /// spec.queue.clusterQueue must be one of them.
        #[arg(long, value_name = "FILE")]
        queues: Option<PathBuf>,
        /// Write one file per object into this directory instead of a YAML stream on stdout.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// List the tenants in a directory of Tenant files.
    List {
        /// The directory.
        dir: PathBuf,
    },
    /// Show one tenant from a directory of Tenant files.
    Show {
        /// The directory.
        dir: PathBuf,
        /// Tenant name.
        name: String,
    },
}

/// `backup`.
#[derive(Subcommand, Debug)]
pub enum BackupCommand {
    /// Render a Backup file to a CronJob (with its ConfigMap and ServiceAccount) that runs `backup run` in the cluster.
    Render {
        /// The Backup file.
        file: PathBuf,
        /// Write one file per object into this directory instead of a YAML stream on stdout.
        #[arg(long, value_name = "DIR")]
        out_dir: Option<PathBuf>,
    },
    /// Back up now, from here: the metastore dump and new object copies to the target, the manifest last, then
    /// retention (exit 3 when PostgreSQL or a store is unreachable).
    Run {
        /// The Backup file.
        file: PathBuf,
    },
    /// Restore the latest backup's metastore dump into a scratch database and compare tables and row counts, run a
    /// Hive metastore query, and check every object copy's checksum (exit 1 naming what is missing or corrupt).
    Verify {
        /// The Backup file.
        file: PathBuf,
    },
}

/// `dr`.
#[derive(Subcommand, Debug)]
pub enum DrCommand {
    /// Restore the latest backup into a fresh target (the metastore dump into the scratch database, the objects into
    /// a restore folder, checksums checked), run the job locally on the restored data and check its quality gates;
    /// report the measured RTO (drill start to job green) and RPO (age of the backup) against the Backup's
    /// objectives. Exit 1 naming each failure: corrupt dump, missing object, job failed, gate failed, RTO or RPO over
    /// target.
    Drill(DrillArgs),
}

/// `sparkplane chaos`.
#[derive(Subcommand, Debug)]
pub enum ChaosCommand {
    /// List the experiments: where each runs, what should happen, which alerts and runbook apply.
    List,
    /// Run experiments by name (or all of them) and report, for each, what should happen, what did, and whether its
    /// alerts fired or stayed silent as expected (checked with promtool on the metrics it produced). Exit 1 if any
    /// experiment did not pass, 2 for an unknown name, 3 when a part it needs (Java, Spark, the S3A jars of
    /// `need_s3a`, promtool, SeaweedFS, PostgreSQL) is missing.
    Run(ChaosRunArgs),
}

/// `chaos run`.
#[derive(Args, Debug)]
pub struct ChaosRunArgs {
    /// The experiments to run, by name (see `sparkplane chaos list`).
    #[arg(value_name = "EXPERIMENT", required_unless_present = "all")]
    pub experiments: Vec<String>,
    /// Run every experiment, the local ones first.
    #[arg(long, conflicts_with = "experiments")]
    pub all: bool,
    /// Write the outcomes as a JUnit XML test suite, a case per experiment.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Keep each experiment's files (job, driver log, event logs) in this folder instead of a temporary one
    /// removed afterwards.
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
}

/// `dr drill`.
#[derive(Args, Debug)]
pub struct DrillArgs {
    /// The Backup file.
    #[arg(long, value_name = "FILE")]
    pub backup: PathBuf,
    /// The SparkJob run on the restored data.
    #[arg(long, value_name = "JOB")]
    pub job: PathBuf,
    /// Environment overlay to apply.
    #[arg(short, long, value_name = "ENV", default_value = sparkplane_core::catalog::LOCAL_ENVIRONMENT)]
    pub env: String,
    /// Re-point the job at the restored data: `{restored}` in a value is the restore folder (or the scratch bucket's
    /// s3a:// URL), where each object is at `{restored}/<source>/<key>` (repeatable; at least one must use
    /// `{restored}` unless the job's catalog is the restored metastore), e.g.
    /// --set 'arguments=["{restored}/lake-trips", "out"]'.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// Restore the objects here (new or empty folder; default: a new folder under TMPDIR, kept for inspection).
    #[arg(long, value_name = "DIR", conflicts_with = "restore_bucket")]
    pub restore_dir: Option<PathBuf>,
    /// Restore the objects into this empty bucket or prefix on the backup's target store (its endpoint and keys),
    /// e.g. s3://drill-scratch; `{restored}` is then its s3a:// URL and the local Spark (3.5) reads it through S3A.
    /// With spec.metastore, the restored scratch database is the job's catalog, its table locations moved to the
    /// restored copies (no `{restored}` --set needed then). Emptied and dropped after the drill unless --keep-scratch.
    #[arg(long, value_name = "URL")]
    pub restore_bucket: Option<String>,
    /// Keep what the drill restored into the scratch bucket, and the scratch database.
    #[arg(long, requires = "restore_bucket")]
    pub keep_scratch: bool,
    /// Write the verdict as a JUnit XML test suite with one test case.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// Which cluster and namespace, as kubectl chooses them.
#[derive(Args, Clone, Debug)]
pub struct ClusterArgs {
    /// The kubeconfig context to use (default: the current context; KUBECONFIG may list several files).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// The namespace (default: the job's, else the context's, else `default`).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
}

/// `--dry-run` modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DryRunArg {
    /// Submit for real.
    None,
    /// Render only; nothing is sent.
    Client,
    /// Send every request with dryRun=All: the API server validates, nothing is stored.
    Server,
}

/// `submit`.
#[derive(Args, Debug)]
pub struct SubmitArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Start a new attempt even if this resolved job's driver already exists.
    #[arg(long)]
    pub rerun: bool,
    /// Follow the driver to completion: its log, executor counts, and its outcome as the exit code.
    #[arg(long, conflicts_with = "dry_run")]
    pub wait: bool,
    /// `client` renders only; `server` asks the API server to validate everything and stores nothing.
    #[arg(long, value_enum, default_value = "none", num_args = 0..=1, default_missing_value = "client", require_equals = true)]
    pub dry_run: DryRunArg,
    /// `enforce` refuses a job that breaks a deny policy (exit 1) before anything is sent; `audit` reports it.
    #[arg(long, value_enum, default_value = "enforce")]
    pub policy_mode: PolicyMode,
    /// Custom policies, tenant, cost history and approvals the policies read.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Add this submission's latency to the `sparkplane_submit_duration_seconds` histogram kept in FILE
    /// (Prometheus text format, e.g. in node_exporter's textfile-collector directory as sparkplane_submit.prom).
    #[arg(long, value_name = "FILE", env = "SPARKPLANE_METRICS_FILE")]
    pub metrics_file: Option<PathBuf>,
}

/// `apply`.
#[derive(Args, Debug)]
pub struct ApplyArgs {
    /// The job.
    #[command(flatten)]
    pub job: JobArgs,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Ask the API server to validate the SparkJob and store nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// `enforce` refuses a job that breaks a deny policy (exit 1) before anything is sent; `audit` reports it.
    #[arg(long, value_enum, default_value = "enforce")]
    pub policy_mode: PolicyMode,
    /// Custom policies, tenant, cost history and approvals the policies read.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// The release this is (an id `sparkplane releases JOB` lists): labels the SparkJob
    /// sparkplane.dev/release=ID, so `promote --store cluster --from ENV` can tell its runs from others'.
    #[arg(long, value_name = "ID")]
    pub release: Option<String>,
}

/// `trigger`.
#[derive(Args, Debug)]
pub struct TriggerArgs {
    /// The SparkJob's name.
    pub name: String,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `operator`.
#[derive(Args, Debug)]
pub struct OperatorArgs {
    /// The kubeconfig context (in a pod: its service account, when no kubeconfig is found).
    #[arg(long, value_name = "CONTEXT")]
    pub context: Option<String>,
    /// Watch only this namespace (default: every namespace).
    #[arg(short = 'n', long, value_name = "NAMESPACE")]
    pub namespace: Option<String>,
    /// SparkJobs reconciled at once.
    #[arg(long, default_value_t = 32, value_parser = clap::value_parser!(u16).range(1..))]
    pub concurrency: u16,
    /// Serve /metrics, /healthz and /readyz here (`0.0.0.0:8080` in a pod; port 0 picks a free one).
    #[arg(long, value_name = "ADDRESS")]
    pub metrics_address: Option<String>,
    /// Act only while holding the Lease `sparkplane-operator` (run two or more replicas).
    #[arg(long)]
    pub leader_elect: bool,
    /// Namespace of the Lease.
    #[arg(
        long,
        value_name = "NAMESPACE",
        env = "POD_NAMESPACE",
        default_value = sparkplane_api::tenant::DEFAULT_PLATFORM_NAMESPACE
    )]
    pub lease_namespace: String,
    /// This replica's name in the Lease (default: the pod's name, else the host name and process id).
    #[arg(long, value_name = "NAME", env = "POD_NAME")]
    pub identity: Option<String>,
    /// Archive each driver's log here before its pods are removed (a folder, or s3://, gs://, az://).
    #[arg(long, value_name = "URL")]
    pub log_store: Option<String>,
    /// Most applications running at once per namespace, where its ResourceQuota does not say
    /// (annotation sparkplane.dev/max-running-applications).
    #[arg(long, value_name = "N")]
    pub max_running_per_namespace: Option<u32>,
    /// How long a driver may take to start when a job sets no timeouts.driverStart (e.g. 10m).
    #[arg(long, value_name = "DURATION", default_value_t = DEFAULT_DRIVER_START)]
    pub driver_start_timeout: sparkplane_api::Duration,
    /// Reconcile each active application at least this often, reading its driver pod from the API
    /// server rather than trusting the pod watch alone (e.g. 60s).
    #[arg(long, value_name = "DURATION", default_value = "60s")]
    pub resync: sparkplane_api::Duration,
    /// The sparkplane image whose `sparkplane dq check` checks a run's quality gates (spec.qualityGates) once its
    /// driver succeeded: in a Job, or in a check application when a gate runs on Spark (`engine: spark`, or `auto`
    /// above its threshold), for which the image must also carry Java and the managed Spark runtime (default: this
    /// version's release image, which has neither).
    #[arg(long, value_name = "IMAGE")]
    pub quality_gate_image: Option<String>,
    /// Also serve the Kubeflow Spark Operator's v1beta2 SparkApplications and ScheduledSparkApplications, and its
    /// v1alpha1 SparkConnects (as sparkplane's Connect servers), that carry the label
    /// sparkplane.dev/operator=sparkplane (only those are watched; the rest stay with Kubeflow's operator):
    /// converted as `import kubeflow` converts them and run by the same state machines, their status written in
    /// Kubeflow's shape (docs/migrating-from-kubeflow.md).
    #[arg(long)]
    pub kubeflow: bool,
    /// With --kubeflow: executors with a higher Spark executor id are left out of a SparkApplication's
    /// status.executorState (Kubeflow's --max-tracked-executor-per-app).
    #[arg(long, value_name = "N", default_value_t = sparkplane_kubeflow::status::MAX_TRACKED_EXECUTORS)]
    pub kubeflow_max_tracked_executors: u32,
    /// Let Kueue admit every run (ADR 0073): a run's Kueue Workload (kueue.x-k8s.io/v1beta2) is created before any
    /// pod, its driver only once Kueue admitted it, with the admission's flavor and at most the admitted executors,
    /// and a run Kueue evicts is stopped and queued again. Without it the operator's own queue admits runs (the
    /// small-cluster mode).
    #[arg(long)]
    pub kueue: bool,
    /// The small-cluster mode's shared pool (ADR 0073): a run starts only when its driver and first executors fit
    /// the room the cluster's nodes have left (their allocatable less what running pods request; nodes and every pod
    /// are watched), in the order every tenant's waiting runs take: higher priority first, then the tenant with the
    /// smallest share for its weight (a Tenant's spec.queue.weight), then first queued. Nothing is preempted.
    #[arg(long, conflicts_with = "kueue")]
    pub queue_pool: bool,
    /// The shared pool with this capacity instead of the nodes' (where the operator may not list nodes), e.g.
    /// cpu=16,memory=64Gi[,pods=50][,nvidia.com/gpu=2]: only the runs it admits hold it. Implies --queue-pool.
    #[arg(long, value_name = "RESOURCE=AMOUNT,...", conflicts_with = "kueue")]
    pub queue_capacity: Option<String>,
}

/// `status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// A SparkJob's name (its status), a job file or job name (the latest attempt submitted directly, unless a
    /// SparkJob has that name), or a driver pod name.
    #[arg(value_name = "JOB.yaml|NAME")]
    pub target: String,
    /// With a job file: the environment overlay it was submitted with.
    #[arg(short, long, value_name = "ENV")]
    pub env: Option<String>,
    /// With a job file: the --set flags it was submitted with.
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub sets: Vec<String>,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `logs`.
#[derive(Args, Debug)]
pub struct LogsArgs {
    /// A SparkJob's name (its current driver; once the operator removed that pod, the log it archived with
    /// --log-store), a job name (its latest attempt), or a driver pod name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Keep streaming until the driver ends.
    #[arg(short, long)]
    pub follow: bool,
    /// Print the lines as the driver wrote them: one JSON object a line in sparkplane's log layout (by default
    /// they are shown as text: time, level, logger, message, the exception indented).
    #[arg(long)]
    pub raw: bool,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `ui`.
#[derive(Args, Debug)]
pub struct UiArgs {
    /// A job file (its name and namespace) or a SparkJob's name (no cluster is contacted).
    #[arg(value_name = "JOB.yaml|NAME")]
    pub target: String,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// The door's address as its users reach it (scheme, host and port).
    #[arg(long, env = "SPARKPLANE_DOOR", value_name = "URL", default_value = "http://127.0.0.1:18080")]
    pub door: String,
    /// Also open the link in the browser: $BROWSER when set, else the desktop's default.
    #[arg(long)]
    pub open: bool,
}

/// `list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    /// In every namespace.
    #[arg(short = 'A', long)]
    pub all_namespaces: bool,
    /// Only drivers matching this label selector, e.g. sparkplane.dev/team=data-eng, and the SparkJobs that match
    /// it themselves or own such a driver.
    #[arg(short = 'l', long, value_name = "SELECTOR")]
    pub selector: Option<String>,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

/// `delete`.
#[derive(Args, Debug)]
pub struct DeleteArgs {
    /// A SparkJob's name (the resource; its driver pods and a schedule's runs go by owner reference), a job name
    /// (every attempt's driver pod), or a driver pod name.
    #[arg(value_name = "NAME")]
    pub name: String,
    /// Also delete the job's ServiceAccount, Role and RoleBinding (a schedule's: also its runs').
    #[arg(long)]
    pub all: bool,
    /// The cluster.
    #[command(flatten)]
    pub cluster: ClusterArgs,
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// The default of `--flag` of the subcommand at `path`, as `--help` shows it.
    fn default_of(path: &[&str], flag: &str) -> Vec<String> {
        let mut command = Cli::command();
        for name in path {
            command = command.find_subcommand(name).unwrap_or_else(|| panic!("no subcommand {name}")).clone();
        }
        let arg = command
            .get_arguments()
            .find(|a| a.get_long() == Some(flag))
            .unwrap_or_else(|| panic!("{path:?} has no --{flag}"));
        arg.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect()
    }

    /// Every default that mirrors a library's value is that value: a literal
    /// here that drifts from it fails.
    #[test]
    fn defaults_that_mirror_a_librarys_value_are_that_value() {
        let local = sparkplane_core::catalog::LOCAL_ENVIRONMENT.to_owned();
        let line = sparkplane_local::connect::DEFAULT_LINE.to_owned();
        let mirrored: Vec<(&[&str], &str, String)> = vec![
            (&["run"], "env", local.clone()),
            (&["dq", "check"], "env", local.clone()),
            (&["dr", "drill"], "env", local),
            (&["dq", "check"], "spark", line.clone()),
            (&["connect"], "spark", line.clone()),
            (&["sql"], "spark", line),
            (&["connect"], "port", sparkplane_local::connect::DEFAULT_PORT.to_string()),
            (&["observe", "monitors"], "interval", sparkplane_observe::monitors::DEFAULT_INTERVAL.to_owned()),
            (
                &["observe", "alertmanager"],
                "platform-receiver",
                sparkplane_observe::alertmanager::PlatformRoute::default().receiver,
            ),
            (&["exporter"], "listen", sparkplane_observe::exporter::DEFAULT_LISTEN.to_owned()),
            (&["exporter"], "interval", sparkplane_observe::exporter::DEFAULT_INTERVAL_SECS.to_string()),
            (&["history", "serve"], "listen", sparkplane_history::server::DEFAULT_LISTEN.to_owned()),
            (
                &["history", "serve"],
                "cache-mib",
                (sparkplane_history::index::DEFAULT_CACHE_BYTES / (1024 * 1024)).to_string(),
            ),
            (&["operator"], "lease-namespace", sparkplane_api::tenant::DEFAULT_PLATFORM_NAMESPACE.to_owned()),
            (
                &["operator"],
                "kubeflow-max-tracked-executors",
                sparkplane_kubeflow::status::MAX_TRACKED_EXECUTORS.to_string(),
            ),
        ];
        for (path, flag, want) in mirrored {
            assert_eq!(default_of(path, flag), [want], "{path:?} --{flag}");
        }
        // Durations, read back as the flag reads them.
        let duration = |path: &[&str], flag: &str| -> std::time::Duration {
            let text = default_of(path, flag).concat();
            let parsed: sparkplane_api::Duration = text.parse().unwrap_or_else(|e| panic!("--{flag} {text}: {e:?}"));
            parsed.to_std()
        };
        assert_eq!(duration(&["operator"], "driver-start-timeout"), sparkplane_lifecycle::plan::DEFAULT_DRIVER_START);
        // `60s` is kept as written (the constant would read `1m` in --help).
        assert_eq!(duration(&["operator"], "resync"), sparkplane_operator::context::DEFAULT_RESYNC);
    }
}
