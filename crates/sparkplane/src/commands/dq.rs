//! `sparkplane dq check`, and the quality gates `run` passes through after a
//! job succeeds.
//!
//! Owns: the host of `sparkplane_dq::workflow` (the spec file, the
//! printer, the clock, Spark through `sparkplane_local::connect_session`, a
//! gate's table and CDEvents), printing the report (`sparkplane_dq::output`'s
//! table, JSON/YAML), writing the JUnit and Prometheus text files it
//! encodes, and mapping outcomes to exit codes. Must not: choose the engine,
//! run checks or gates, encode a report format itself (that is
//! `sparkplane_dq`) or pick the CDEvents (`sparkplane_delivery::cdevents`).

use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::{SystemTime, UNIX_EPOCH};

use sparkplane_category::Category;
use sparkplane_delivery::cdevents::dq_steps;
use sparkplane_documents::Diagnostics;
use sparkplane_dq::DqReport;
use sparkplane_dq::run::{Gate, SpecRun};
use sparkplane_dq::spark::{SparkFailure, SparkSql};
use sparkplane_dq::workflow::{self, Checked, DqHost, RunFailure, SparkAt};
use sparkplane_local::connect_client::QueryError;
use sparkplane_local::connect_session::{Endpoint, Session, SessionError};

pub use sparkplane_dq::workflow::EngineArgs;

use super::progress::InstallObserver;
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

/// The CLI's side of a run: the spec file, the printer, the clock, Spark
/// through `sparkplane-local`, and a gate's table and CDEvents.
struct Host<'a> {
    printer: &'a Printer,
    gates: Option<&'a Gates<'a>>,
}

impl DqHost for Host<'_> {
    type Error = Failure;

    fn read(&mut self, path: &Path) -> Result<sparkplane_documents::Source, Failure> {
        read_source(path)
    }

    fn warn(&mut self, warnings: &Diagnostics) {
        self.printer.warnings(warnings);
    }

    fn now_secs(&mut self) -> f64 {
        now_secs()
    }

    fn spark(&mut self, at: SparkAt<'_>) -> Box<dyn SparkSql + '_> {
        let session = match at {
            SparkAt::Url(url) => Session::new(Endpoint::Url(url.to_owned())),
            SparkAt::Local(line) => Session::new(Endpoint::local(line)),
            SparkAt::LocalWithObjectStorage(line) => Session::new(Endpoint::local(line))
                .with_properties(sparkplane_local::s3a::local_properties(line).unwrap_or_default()),
        };
        Box::new(Spark { session, printer: self.printer })
    }

    fn local_object_storage(&mut self, line: &str) -> Result<(), String> {
        sparkplane_local::s3a::local_properties(line).map(|_| ())
    }

    fn gate_started(&mut self, gate: &Gate) {
        self.printer.status(&format!("quality gate {}", gate.spec.display()));
    }

    fn gate_checked(&mut self, _gate: &Gate, report: &DqReport) {
        if let Some(c) = self.gates {
            self.printer.status(&sparkplane_dq::output::table(report));
            c.events.emit(&dq_steps(report, c.environment, Some(c.job), jiff::Timestamp::now()), self.printer);
        }
    }
}

/// The spark engine's statements on a local Spark or a Connect URL.
struct Spark<'a> {
    session: Session,
    printer: &'a Printer,
}

impl SparkSql for Spark<'_> {
    fn run(&mut self, statements: &[String], reads: u64) -> Result<Vec<Vec<serde_json::Value>>, SparkFailure> {
        if let Some(message) = self.session.endpoint().starting("the checks") {
            self.printer.status(&message);
        }
        let mut observer = InstallObserver::new(self.printer);
        self.session.run(statements, Some(reads), &mut observer, &AtomicBool::new(false)).map_err(|e| match e {
            SessionError::Query(QueryError::Sql { failure, .. }) => SparkFailure::Query(failure.message),
            e if e.category() == Category::Invalid => SparkFailure::Refused(e.to_string()),
            e => SparkFailure::Unreachable(e.to_string()),
        })
    }

    fn event_logs(&mut self) -> Option<Vec<Vec<String>>> {
        self.session.event_logs()
    }
}

impl From<RunFailure> for Failure {
    fn from(failure: RunFailure) -> Failure {
        match failure {
            RunFailure::Invalid(d) => Failure::Invalid(d),
            RunFailure::Failed(d) => Failure::Failed(d),
            RunFailure::Unreachable(d) => Failure::Infrastructure(d),
            RunFailure::File { path, error, help } => Failure::File { path, error, help },
        }
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

fn write_file(path: &Path, text: &str) -> Result<(), Failure> {
    crate::workspace::write_file(path, text.as_bytes(), "check the folder exists and is writable")
}

/// Runs `dq check`: exit 0 when every error-severity check passes, 1 otherwise.
pub fn check(settings: &DqSettings, printer: &Printer) -> CommandResult {
    let Checked { report, seconds } =
        workflow::run_spec(&mut Host { printer, gates: None }, &settings.spec_run(), &settings.engine)?;
    if let Some(path) = &settings.junit {
        write_file(path, &sparkplane_dq::output::to_junit(&report))?;
    }
    if let Some(path) = &settings.metrics {
        write_file(path, &sparkplane_dq::output::to_prometheus(&report, seconds, now_secs()))?;
    }
    printer.result(&report, || sparkplane_dq::output::table(&report));
    settings.events.emit(&dq_steps(&report, &settings.environment, None, jiff::Timestamp::now()), printer);
    if report.passed { Ok(()) } else { Err(Failure::Failed(workflow::failures(&report, &settings.spec))) }
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

/// The gates `run` passes through after a job succeeds (`workflow::run_gates`),
/// each printed to stderr; a failed blocking gate fails the run (exit 1).
pub fn run_gates(
    job_file: &Path,
    gates: &[sparkplane_api::job::QualityGate],
    context: &Gates<'_>,
    printer: &Printer,
) -> CommandResult {
    let outcome = workflow::run_gates(&mut Host { printer, gates: Some(context) }, job_file, gates)?;
    if outcome.failed.is_empty() { Ok(()) } else { Err(Failure::Failed(outcome.failed)) }
}
