//! `sparkplane dq check`, and the quality gates `run` passes through after a
//! job succeeds.
//!
//! Owns: reading the spec file, calling `sparkplane_dq::check` with the
//! options `sparkplane_dq::run` decides, printing the
//! report (table, JSON/YAML), writing the JUnit and Prometheus text files
//! `sparkplane_dq::output` encodes, and mapping outcomes to exit codes. Must
//! not: evaluate checks or encode a report format itself (that is
//! `sparkplane_dq`).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use std::sync::atomic::AtomicBool;

use sparkplane_api::dq::{CheckSeverity, DqEngine};
use sparkplane_dq::evaluate::SparkFigures;
use sparkplane_dq::spark::{SparkFailure, SparkSql};
use sparkplane_local::connect_client::{self, QueryError};
use sparkplane_local::connect_session::{self, Endpoint, SessionError};
use sparkplane_local::runtime::Category;

use super::runtime::InstallObserver;
use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_delivery::cdevents::{CaseResult, Outcome, Step, suite_steps};
use sparkplane_dq::run::{SpecRun, failure_messages};
use sparkplane_dq::{DqError, DqReport, Status};

use crate::commands::Table;
use crate::events::Events;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::read_source;

/// Plain settings of `dq check`.
#[derive(Clone, Debug, Default)]
pub struct DqSettings {
    /// The spec file.
    pub spec: PathBuf,
    /// `key=value` partition selections.
    pub partitions: Vec<String>,
    /// JUnit output file.
    pub junit: Option<PathBuf>,
    /// Prometheus text output file.
    pub metrics: Option<PathBuf>,
    /// Worker threads.
    pub threads: Option<usize>,
    /// Skip storing the profile.
    pub no_profile: bool,
    /// Skip quarantine.
    pub no_quarantine: bool,
    /// The environment named in CDEvents.
    pub environment: String,
    /// Where CDEvents go.
    pub events: Events,
    /// Which engine and where Spark is.
    pub engine: EngineArgs,
}

/// The engine a run was asked for and where the spark engine's Spark is.
#[derive(Clone, Debug, Default)]
pub struct EngineArgs {
    /// `--engine`, over the spec's `engine:`.
    pub asked: Option<DqEngine>,
    /// `--connect`: a Spark Connect endpoint instead of a local server.
    pub connect: Option<String>,
    /// The Spark line of a local server.
    pub spark: String,
}

impl EngineArgs {
    /// From the command line's words (clap has checked `engine`).
    pub fn new(engine: Option<&str>, connect: Option<String>, spark: &str) -> EngineArgs {
        let asked = match engine {
            Some("spark") => Some(DqEngine::Spark),
            Some("auto") => Some(DqEngine::Auto),
            Some(_) => Some(DqEngine::Native),
            None => None,
        };
        EngineArgs { asked, connect, spark: spark.to_owned() }
    }
}

/// The spark engine's host: one batch through Spark Connect, the local
/// server's event log kept for counting scans.
struct ConnectHost<'a> {
    endpoint: Endpoint,
    printer: &'a Printer,
    /// The local runs' event logs (the checks, then a quarantine's write).
    event_logs: Vec<PathBuf>,
}

impl SparkSql for ConnectHost<'_> {
    fn run(&mut self, statements: &[String]) -> Result<Vec<Vec<serde_json::Value>>, SparkFailure> {
        match &self.endpoint {
            Endpoint::Local { spark } => {
                self.printer.status(&format!("starting a local Spark Connect server (Spark {spark}) for the checks"))
            }
            Endpoint::Application { spark } => {
                self.printer.status(&format!("running the checks as a local Spark {spark} application"))
            }
            Endpoint::Url(_) => {}
        }
        let cancel = AtomicBool::new(false);
        let mut observer = InstallObserver::new(self.printer);
        match connect_session::run_batch(&self.endpoint, statements, &mut observer, &cancel) {
            Ok(batch) => {
                self.event_logs.extend(batch.event_log);
                Ok(batch.result.rows)
            }
            Err(SessionError::Query(QueryError::Sql { failure, .. })) => Err(SparkFailure::Query(failure.message)),
            Err(e) => match e.category() {
                Some(Category::Usage) => Err(SparkFailure::Refused(e.to_string())),
                _ => Err(SparkFailure::Unreachable(e.to_string())),
            },
        }
    }
}

/// Runs the checks with Spark: refused checks first (exit 2), then the run,
/// then the scans counted in the local server's event log.
fn run_with_spark(
    loaded: &sparkplane_dq::LoadedSpec,
    options: &sparkplane_dq::CheckOptions,
    engine: &EngineArgs,
    printer: &Printer,
) -> Result<DqReport, Failure> {
    let refused = sparkplane_dq::spark::refused(&loaded.spec, DqEngine::Spark);
    if !refused.is_empty() {
        let found = refused
            .iter()
            .map(|(at, why)| sparkplane_dq::spec::engine_refusal(&loaded.doc, at, "spark", why))
            .collect();
        return Err(Failure::Invalid(Diagnostics(found)));
    }
    if let Some(url) = &engine.connect
        && (!url.starts_with("sc://") || !url.is_ascii())
    {
        return Err(invalid(
            "connect-url",
            format!("--connect takes a Spark Connect URL, not `{}`", connect_client::without_token(url)),
            "write sc://host:port/ (with ;token=… when the server wants one)",
        ));
    }
    let endpoint = match &engine.connect {
        Some(url) => Endpoint::Url(url.clone()),
        None => Endpoint::local(&engine.spark),
    };
    let mut host = ConnectHost { endpoint, printer, event_logs: Vec::new() };
    let (mut report, run) =
        sparkplane_dq::spark::check(&loaded.spec, options, &mut host).map_err(|e| dq_failure(e, &loaded.doc))?;
    let mut scans = (!host.event_logs.is_empty()).then_some(0);
    for log in &host.event_logs {
        let counted = connect_session::event_log_lines(log)
            .ok()
            .map(|lines| sparkplane_dq::spark::count_scans(lines.iter().map(String::as_str), &run.uri));
        scans = scans.zip(counted).map(|(a, b)| a + b);
    }
    report.spark = Some(SparkFigures { queries: run.queries, planned_scans: run.planned_scans, scans });
    Ok(report)
}

fn invalid(code: &'static str, message: String, help: &str) -> Failure {
    Failure::Invalid(Diagnostic::error(code, "", message).with_help(help).into())
}

fn dq_failure(error: DqError, doc: &sparkplane_core::yaml::Node) -> Failure {
    let exit = error.exit_code();
    match error {
        DqError::NotFound { path, error } => invalid(
            "dataset-not-found",
            format!("dataset {path} not found: {error}"),
            "check `dataset.path`; a relative path is relative to the spec file, a URL names bucket/prefix",
        ),
        DqError::Selection(message) => {
            invalid("bad-partition", message, "select partitions as --partition key=value with the dataset's keys")
        }
        // Unreadable data is bad data: the gate fails (exit 1) and names the file.
        DqError::Corrupt { path, error } => Failure::Failed(
            Diagnostic::error("corrupt-data", "", format!("cannot read data file {path}: {error}"))
                .with_help("the file is damaged or not in the spec's `dataset.format`; rewrite or remove it")
                .into(),
        ),
        DqError::Io { path, error } => Failure::File {
            path: PathBuf::from(path),
            error,
            help: "check the path exists and is readable/writable".to_owned(),
        },
        DqError::Spec { field, at, message, help } => {
            Failure::Invalid(sparkplane_dq::spec::spec_diagnostic(doc, &field, at, &message, &help).into())
        }
        DqError::Spark { message, exit_code } => spark_failure(message, exit_code),
        DqError::Storage(error) => storage_failure("storage", error.to_string(), exit),
        DqError::Quarantine { done, error } => storage_failure("quarantine-failed", format!("{done}: {error}"), exit),
    }
}

/// The spark engine's failure: Spark refused the data (1), the endpoint the request (2), or no Spark answered (3).
fn spark_failure(message: String, exit: i32) -> Failure {
    let diagnostic = Diagnostic::error("spark-engine", "", message);
    match exit {
        3 => Failure::Infrastructure(
            diagnostic.with_help("start Spark Connect (`sparkplane connect`) or pass a reachable --connect URL").into(),
        ),
        2 => Failure::Invalid(diagnostic.with_help("copy the whole `sc://…;token=…` line of the server").into()),
        _ => Failure::Failed(
            diagnostic.with_help("check that `dataset.path` and `dataset.format` describe data Spark can read").into(),
        ),
    }
}

/// A storage problem: 2 when the location is wrong or missing, 3 when storage is unreachable or refuses.
fn storage_failure(code: &'static str, message: String, exit: i32) -> Failure {
    let diagnostic = Diagnostic::error(code, "", message);
    if exit == 3 {
        Failure::Infrastructure(
            diagnostic
                .with_help(
                    "check the endpoint and credentials in the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY, AWS_REGION)",
                )
                .into(),
        )
    } else {
        Failure::Invalid(diagnostic.with_help("check the location in the spec (bucket and prefix)").into())
    }
}

fn now_secs() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

impl DqSettings {
    /// The library's view of this run.
    fn spec_run(&self) -> SpecRun {
        SpecRun {
            spec: self.spec.clone(),
            partitions: self.partitions.clone(),
            threads: self.threads,
            write_profile: !self.no_profile,
            quarantine: !self.no_quarantine,
        }
    }
}

/// Loads a spec and runs it with the engine it or the command asks for; the
/// report, and how long it took.
fn run_spec(run: &SpecRun, engine: &EngineArgs, printer: &Printer) -> Result<(DqReport, f64), Failure> {
    let source = read_source(&run.spec)?;
    let loaded = sparkplane_dq::load_spec(&source)?;
    printer.warnings(&loaded.warnings);
    let options = run
        .options(now_secs())
        .map_err(|m| invalid("bad-partition", m, "write --partition key=value, e.g. --partition date=2026-11-20"))?;
    let started = Instant::now();
    let auto = engine.asked.or(loaded.spec.engine) == Some(DqEngine::Auto);
    let bytes = if auto {
        sparkplane_dq::spark::dataset_bytes(&loaded.spec, &options).map_err(|e| dq_failure(e, &loaded.doc))?
    } else {
        0
    };
    let report = match sparkplane_dq::spark::choose(&loaded.spec, engine.asked, bytes) {
        DqEngine::Native => sparkplane_dq::check(&loaded.spec, &options).map_err(|e| dq_failure(e, &loaded.doc))?,
        _ => run_with_spark(&loaded, &options, engine, printer)?,
    };
    Ok((report, started.elapsed().as_secs_f64()))
}

/// The report as a table, with a summary line.
pub fn table(report: &DqReport) -> String {
    let mut table = Table::new(&["CHECK", "KIND", "SEVERITY", "STATUS", "DETAILS"]);
    for check in &report.checks {
        let status = match (check.status, check.severity) {
            (Status::Pass, _) => "pass",
            (Status::Fail, CheckSeverity::Error) => "FAIL",
            (Status::Fail, CheckSeverity::Warn) => "warn",
        };
        let mut details = check.message.clone();
        if !check.examples.is_empty() {
            let _ = write!(details, " (e.g. {})", check.examples.join(", "));
        }
        let severity = sparkplane_dq::output::severity_name(check.severity);
        table.row(vec![check.name.clone(), check.kind.clone(), severity.into(), status.into(), details]);
    }
    let mut out = table.render();
    let failed = report.errors().count();
    let _ = writeln!(
        out,
        "\n{}: {} checks, {failed} failed; {} rows in {} files ({} bytes), selection {}",
        if report.passed { "PASSED" } else { "FAILED" },
        report.checks.len(),
        report.rows,
        report.files,
        report.bytes,
        report.selection,
    );
    if let Some(q) = &report.quarantine {
        let _ = writeln!(out, "quarantine: {q}");
    }
    if let Some(spark) = &report.spark {
        let scans = match spark.scans {
            _ if spark.queries == 0 => "no scans (the dataset has no files)".to_owned(),
            Some(n) => format!("{n} scans of the dataset counted in the event log (planned {})", spark.planned_scans),
            None => format!("{} scans planned (a --connect server's event log is not read)", spark.planned_scans),
        };
        let _ = writeln!(out, "spark engine: {} queries, {scans}", spark.queries);
    }
    out
}

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).and_then(|()| std::fs::rename(&tmp, path)).map_err(|e| Failure::File {
        path: path.to_owned(),
        error: e.to_string(),
        help: "check the folder exists and is writable".into(),
    })
}

fn failures(report: &DqReport, spec: &Path) -> Diagnostics {
    Diagnostics(
        failure_messages(report, spec).into_iter().map(|m| Diagnostic::error("dq-check-failed", "", m)).collect(),
    )
}

/// The CDEvents of one checked spec: a test case per check, the suite
/// (`dq/<spec name>`), and an incident when an error-severity check failed.
/// A failed warn-severity check passes, as it does for the exit code.
fn gate_steps(report: &DqReport, environment: &str, job: Option<&str>) -> Vec<Step> {
    let cases: Vec<CaseResult> = report
        .checks
        .iter()
        .map(|c| CaseResult {
            id: c.name.clone(),
            name: c.name.clone(),
            outcome: match (c.status, c.severity) {
                (Status::Fail, CheckSeverity::Error) => Outcome::Failure,
                _ => Outcome::Success,
            },
            reason: (c.status == Status::Fail).then(|| c.message.clone()),
            environment: None,
        })
        .collect();
    suite_steps(&format!("dq/{}", report.spec), &report.spec, environment, job, &cases, jiff::Timestamp::now())
}

/// Runs `dq check`: exit 0 when every error-severity check passes, 1 otherwise.
pub fn check(settings: &DqSettings, printer: &Printer) -> CommandResult {
    let (report, seconds) = run_spec(&settings.spec_run(), &settings.engine, printer)?;
    if let Some(path) = &settings.junit {
        write_file(path, &sparkplane_dq::output::to_junit(&report))?;
    }
    if let Some(path) = &settings.metrics {
        write_file(path, &sparkplane_dq::output::to_prometheus(&report, seconds, now_secs()))?;
    }
    printer.result(&report, || table(&report));
    settings.events.emit(&gate_steps(&report, &settings.environment, None), printer);
    if report.passed { Ok(()) } else { Err(Failure::Failed(failures(&report, &settings.spec))) }
}

/// Who a run's gates are checked for, as their CDEvents say.
pub struct Gates<'a> {
    /// Where the events go.
    pub events: &'a Events,
    /// The run's environment.
    pub environment: &'a str,
    /// The job (the incident's service).
    pub job: &'a str,
}

/// The gates `run` passes through after a job succeeds: each of the job's
/// `spec.qualityGates` (spec paths relative to the job file) is checked and
/// printed to stderr; a failed blocking gate fails the run (exit 1).
pub fn run_gates(
    job_file: &Path,
    gates: &[sparkplane_api::job::QualityGate],
    context: &Gates<'_>,
    printer: &Printer,
) -> CommandResult {
    let mut failed = Diagnostics::new();
    for gate in sparkplane_dq::run::gates(job_file, gates) {
        printer.status(&format!("quality gate {}", gate.spec.display()));
        let (report, _) = run_spec(&SpecRun::gate(gate.spec.clone()), &EngineArgs::new(None, None, "4.1"), printer)?;
        printer.status(&table(&report));
        context.events.emit(&gate_steps(&report, context.environment, Some(context.job)), printer);
        if !report.passed {
            let found = failures(&report, &gate.spec);
            if gate.blocking {
                failed.extend(found);
            } else {
                printer.warnings(&Diagnostics(
                    found
                        .0
                        .into_iter()
                        .map(|d| Diagnostic { severity: sparkplane_core::Severity::Warning, ..d })
                        .collect(),
                ));
            }
        }
    }
    if failed.is_empty() { Ok(()) } else { Err(Failure::Failed(failed)) }
}
