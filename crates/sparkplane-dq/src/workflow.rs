//! Running a spec file as `dq check` asks, and a job's quality gates as
//! `run` and the DR drill pass through them: load the spec, choose the
//! engine (the spec's, the command's override, `auto` by the dataset's
//! size), refuse at their field the checks the spark engine cannot run, run
//! the checks with the native engine or with Spark through the host, and
//! turn what stopped a run into diagnostics with their exit class.
//!
//! Owns: that workflow, which gates block, and the words of its failures.
//! Must not: print, read the spec file (the host does, so the CLI's
//! unreadable-file help applies), start Spark or talk to it (the host's
//! [`SparkSql`]), or choose how a report is shown.

use std::path::{Path, PathBuf};
use std::time::Instant;

use sparkplane_api::dq::{DqEngine, DqSpec};
use sparkplane_api::job::QualityGate;
use sparkplane_category::Category;
use sparkplane_documents::yaml::Node;
use sparkplane_documents::{Diagnostic, Diagnostics, Severity, Source};

use crate::run::{Gate, SpecRun};
use crate::spark::SparkSql;
use crate::{CheckOptions, DqError, DqReport, LoadedSpec};

/// The engine a run was asked for and where the spark engine's Spark is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineArgs {
    /// `--engine`, over the spec's `engine:`.
    pub asked: Option<DqEngine>,
    /// `--connect`: a Spark Connect endpoint instead of a local Spark.
    pub connect: Option<String>,
    /// The Spark line of a local Spark.
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

/// Where the host runs the spark engine's statements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SparkAt<'a> {
    /// A Spark Connect URL (`sc://host:port/;token=…`), checked to be one.
    Url(&'a str),
    /// A local Spark of this line, started for the run.
    Local(&'a str),
    /// A local Spark of this line for a spec that reads or writes object
    /// storage: the host gives it an S3 connector and the environment's
    /// endpoint and credentials (it said it could, [`DqHost::local_object_storage`]).
    LocalWithObjectStorage(&'a str),
}

/// What stopped a run, in the CLI's exit classes.
#[derive(Debug, PartialEq)]
pub enum RunFailure {
    /// The spec, the command or a location is wrong (exit 2).
    Invalid(Diagnostics),
    /// The data cannot be read as the spec says (exit 1: bad data fails the gate).
    Failed(Diagnostics),
    /// Spark or storage is unreachable or refuses (exit 3).
    Unreachable(Diagnostics),
    /// A file or folder could not be read or written (exit 2).
    File {
        /// The file or folder.
        path: PathBuf,
        /// The OS's words.
        error: String,
        /// What to do.
        help: String,
    },
}

/// The caller's side of a run: the spec file, warnings, the clock, Spark,
/// and what to show as each gate is checked.
pub trait DqHost {
    /// The caller's failure, which a [`RunFailure`] becomes.
    type Error: From<RunFailure>;
    /// The spec file's text.
    fn read(&mut self, path: &Path) -> Result<Source, Self::Error>;
    /// Problems that do not stop the run (the spec's warnings, non-blocking gates' failures).
    fn warn(&mut self, warnings: &Diagnostics);
    /// Now, in seconds since 1970.
    fn now_secs(&mut self) -> f64;
    /// A session for the spark engine's statements at `at`.
    fn spark(&mut self, at: SparkAt<'_>) -> Box<dyn SparkSql + '_>;
    /// Whether a local Spark of `line` can be given an S3 connector, else
    /// why not (the end of "… cannot read s3://…: <why>"). By default none can.
    fn local_object_storage(&mut self, _line: &str) -> Result<(), String> {
        Err("it has no S3 connector".to_owned())
    }
    /// A job's gate is about to be checked.
    fn gate_started(&mut self, _gate: &Gate) {}
    /// A job's gate was checked (whatever the verdict).
    fn gate_checked(&mut self, _gate: &Gate, _report: &DqReport) {}
}

/// A checked spec: the report and how long the checks took.
#[derive(Clone, Debug)]
pub struct Checked {
    /// The report.
    pub report: DqReport,
    /// Seconds from the engine's choice to the report.
    pub seconds: f64,
}

/// Loads the spec `run` names and runs it with the engine it or `engine` asks for.
pub fn run_spec<H: DqHost>(host: &mut H, run: &SpecRun, engine: &EngineArgs) -> Result<Checked, H::Error> {
    let source = host.read(&run.spec)?;
    let loaded = crate::load_spec(&source).map_err(|d| H::Error::from(RunFailure::Invalid(d)))?;
    host.warn(&loaded.warnings);
    let options = run
        .options(host.now_secs())
        .map_err(|m| invalid("bad-partition", m, "write --partition key=value, e.g. --partition date=2026-11-20"))?;
    let started = Instant::now();
    let doc = &loaded.doc;
    let report = match chosen(&loaded.spec, &options, engine).map_err(|e| failure(e, doc))? {
        DqEngine::Native => crate::check(&loaded.spec, &options).map_err(|e| failure(e, doc))?,
        _ => {
            let at = spark_at(host, &loaded, engine)?;
            let mut sql = host.spark(at);
            crate::spark::check(&loaded.spec, &options, sql.as_mut()).map_err(|e| failure(e, doc))?.0
        }
    };
    Ok(Checked { report, seconds: started.elapsed().as_secs_f64() })
}

/// The engine that runs the spec: `--engine` over the spec's, `auto` by the
/// dataset's size from its listing (looked at only for `auto`).
fn chosen(spec: &DqSpec, options: &CheckOptions, engine: &EngineArgs) -> Result<DqEngine, DqError> {
    let auto = engine.asked.or(spec.engine) == Some(DqEngine::Auto);
    let bytes = if auto { crate::spark::dataset_bytes(spec, options)? } else { 0 };
    Ok(crate::spark::choose(spec, engine.asked, bytes))
}

/// Where the spark engine runs, once the spec's checks are all ones it can
/// run (each refused one an error at its field), `--connect` is a URL, and a
/// local Spark can reach the spec's object storage (the host says whether).
fn spark_at<'a, H: DqHost>(
    host: &mut H,
    loaded: &LoadedSpec,
    engine: &'a EngineArgs,
) -> Result<SparkAt<'a>, RunFailure> {
    let refused = crate::spark::refused(&loaded.spec, DqEngine::Spark);
    if !refused.is_empty() {
        let found = refused.iter().map(|(at, why)| crate::spec::engine_refusal(&loaded.doc, at, "spark", why));
        return Err(RunFailure::Invalid(Diagnostics(found.collect())));
    }
    match &engine.connect {
        Some(url) if !url.starts_with("sc://") || !url.is_ascii() => Err(invalid(
            "connect-url",
            format!("--connect takes a Spark Connect URL, not `{}`", without_token(url)),
            "write sc://host:port/ (with ;token=… when the server wants one)",
        )),
        Some(url) => Ok(SparkAt::Url(url)),
        None => {
            let remote = crate::spark::object_store_locations(&loaded.spec);
            if remote.is_empty() {
                return Ok(SparkAt::Local(&engine.spark));
            }
            let why = match host.local_object_storage(&engine.spark) {
                Ok(()) => return Ok(SparkAt::LocalWithObjectStorage(&engine.spark)),
                Err(why) => why,
            };
            let found =
                remote.iter().map(|(at, url)| crate::spec::location_refusal(&loaded.doc, at, url, &engine.spark, &why));
            Err(RunFailure::Invalid(Diagnostics(found.collect())))
        }
    }
}

/// A URL shown without its `;token=…` (and anything after it).
fn without_token(url: &str) -> &str {
    url.split(";token=").next().unwrap_or(url)
}

/// What a job's gates found: the failed blocking gates' checks (the run
/// fails, exit 1) and the failed non-blocking gates' (warnings, also given
/// to [`DqHost::warn`] as they are found).
#[derive(Debug, Default, PartialEq)]
pub struct GatesOutcome {
    /// One error per failed error-severity check of a blocking gate.
    pub failed: Diagnostics,
    /// One warning per failed error-severity check of a non-blocking gate.
    pub warned: Diagnostics,
}

/// Checks each of a job's `spec.qualityGates` (spec paths relative to the
/// job file) with the spec's own engine (a local Spark 4.1 for `spark`).
pub fn run_gates<H: DqHost>(host: &mut H, job_file: &Path, gates: &[QualityGate]) -> Result<GatesOutcome, H::Error> {
    let mut outcome = GatesOutcome::default();
    for gate in crate::run::gates(job_file, gates) {
        host.gate_started(&gate);
        let checked = run_spec(host, &SpecRun::gate(gate.spec.clone()), &EngineArgs::new(None, None, "4.1"))?;
        host.gate_checked(&gate, &checked.report);
        let found = failures(&checked.report, &gate.spec);
        if gate.blocking {
            outcome.failed.extend(found);
        } else if !found.is_empty() {
            let warnings =
                Diagnostics(found.0.into_iter().map(|d| Diagnostic { severity: Severity::Warning, ..d }).collect());
            host.warn(&warnings);
            outcome.warned.extend(warnings);
        }
    }
    Ok(outcome)
}

/// One error per failed error-severity check: `<spec>: check `<name>` failed: <why>`.
pub fn failures(report: &DqReport, spec: &Path) -> Diagnostics {
    let messages = crate::run::failure_messages(report, spec);
    Diagnostics(messages.into_iter().map(|m| Diagnostic::error("dq-check-failed", "", m)).collect())
}

fn invalid(code: &'static str, message: String, help: &str) -> RunFailure {
    RunFailure::Invalid(Diagnostic::error(code, "", message).with_help(help).into())
}

/// What stopped a run as the user reads it; `doc` points a spec error at its line.
pub fn failure(error: DqError, doc: &Node) -> RunFailure {
    let category = error.category();
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
        DqError::Corrupt { path, error } => RunFailure::Failed(
            Diagnostic::error("corrupt-data", "", format!("cannot read data file {path}: {error}"))
                .with_help("the file is damaged or not in the spec's `dataset.format`; rewrite or remove it")
                .into(),
        ),
        DqError::Io { path, error } => RunFailure::File {
            path: PathBuf::from(path),
            error,
            help: "check the path exists and is readable/writable".to_owned(),
        },
        DqError::Spec { field, at, message, help } => {
            RunFailure::Invalid(crate::spec::spec_diagnostic(doc, &field, at, &message, &help).into())
        }
        DqError::Spark { message, category } => spark_failure(message, category),
        DqError::Storage(error) => storage_failure("storage", error.to_string(), category),
        DqError::Quarantine { done, error } => {
            storage_failure("quarantine-failed", format!("{done}: {error}"), category)
        }
    }
}

/// The spark engine's failure: Spark refused the data (`Failed`), the
/// endpoint the request (`Invalid`), or no Spark answered (`Unreachable`).
fn spark_failure(message: String, category: Category) -> RunFailure {
    let diagnostic = Diagnostic::error("spark-engine", "", message);
    match category {
        Category::Unreachable => RunFailure::Unreachable(
            diagnostic.with_help("start Spark Connect (`sparkplane connect`) or pass a reachable --connect URL").into(),
        ),
        Category::Invalid => {
            RunFailure::Invalid(diagnostic.with_help("copy the whole `sc://…;token=…` line of the server").into())
        }
        Category::Failed => RunFailure::Failed(
            diagnostic.with_help("check that `dataset.path` and `dataset.format` describe data Spark can read").into(),
        ),
    }
}

/// A storage problem: `Invalid` when the location is wrong or missing,
/// `Unreachable` when storage is unreachable or refuses.
fn storage_failure(code: &'static str, message: String, category: Category) -> RunFailure {
    let diagnostic = Diagnostic::error(code, "", message);
    if category == Category::Unreachable {
        RunFailure::Unreachable(
            diagnostic
                .with_help(
                    "check the endpoint and credentials in the environment (AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, \
                     AWS_SECRET_ACCESS_KEY, AWS_REGION)",
                )
                .into(),
        )
    } else {
        RunFailure::Invalid(diagnostic.with_help("check the location in the spec (bucket and prefix)").into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spark::SparkFailure;

    /// What the fake Spark answers each batch.
    #[derive(Clone)]
    enum Answer {
        Rows(Vec<Vec<serde_json::Value>>),
        Fail(SparkFailure),
    }

    /// A host over files on disk whose Spark is a script: it records where
    /// Spark was asked for and what was sent, and answers `answer`.
    struct FakeHost {
        answer: Answer,
        event_logs: Option<Vec<Vec<String>>>,
        asked_at: Vec<String>,
        sent: Vec<Vec<String>>,
        /// The bytes each batch was said to read.
        reads: Vec<u64>,
        warned: Vec<String>,
        checked: Vec<(PathBuf, bool)>,
        /// The local line given an S3 connector, if any.
        s3_line: Option<&'static str>,
    }

    impl FakeHost {
        fn new(answer: Answer) -> FakeHost {
            FakeHost {
                answer,
                event_logs: None,
                asked_at: Vec::new(),
                sent: Vec::new(),
                reads: Vec::new(),
                warned: Vec::new(),
                checked: Vec::new(),
                s3_line: None,
            }
        }
    }

    struct FakeSpark<'a>(&'a mut FakeHost);

    impl SparkSql for FakeSpark<'_> {
        fn run(&mut self, statements: &[String], reads: u64) -> Result<Vec<Vec<serde_json::Value>>, SparkFailure> {
            self.0.sent.push(statements.to_vec());
            self.0.reads.push(reads);
            match &self.0.answer {
                Answer::Rows(rows) => Ok(rows.clone()),
                Answer::Fail(f) => Err(f.clone()),
            }
        }

        fn event_logs(&mut self) -> Option<Vec<Vec<String>>> {
            self.0.event_logs.clone()
        }
    }

    impl DqHost for FakeHost {
        type Error = RunFailure;

        fn read(&mut self, path: &Path) -> Result<Source, RunFailure> {
            let text = std::fs::read_to_string(path).map_err(|e| RunFailure::File {
                path: path.to_owned(),
                error: e.to_string(),
                help: String::new(),
            })?;
            Ok(Source::new(path.display().to_string(), text))
        }

        fn warn(&mut self, warnings: &Diagnostics) {
            self.warned.extend(warnings.0.iter().map(|d| d.message.clone()));
        }

        fn now_secs(&mut self) -> f64 {
            1_795_000_000.0
        }

        fn spark(&mut self, at: SparkAt<'_>) -> Box<dyn SparkSql + '_> {
            self.asked_at.push(format!("{at:?}"));
            Box::new(FakeSpark(self))
        }

        fn gate_checked(&mut self, gate: &Gate, report: &DqReport) {
            self.checked.push((gate.spec.clone(), report.passed));
        }

        fn local_object_storage(&mut self, line: &str) -> Result<(), String> {
            match self.s3_line {
                Some(l) if l == line => Ok(()),
                _ => Err(format!("Spark {line} here has no S3 connector")),
            }
        }
    }

    /// A folder with `data/part-0.csv` (`rows` ids)
    /// and `dq.yaml`: the head, then `extra` (engine settings), then `checks`.
    fn workspace(rows: usize, extra: &str, checks: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::create_dir_all(dir.path().join("data")).expect("mkdir");
        let csv: String = std::iter::once("id\n".to_owned()).chain((0..rows).map(|i| format!("{i}\n"))).collect();
        std::fs::write(dir.path().join("data/part-0.csv"), csv).expect("csv");
        let spec = format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: DataQuality\nmetadata: {{name: t}}\n\
             dataset: {{path: data, format: csv}}\n{extra}checks:\n{checks}"
        );
        std::fs::write(dir.path().join("dq.yaml"), spec).expect("spec");
        dir
    }

    const ROWS: &str = "  - {name: rows, rowCount: {min: 1}}\n";

    fn spec_run(dir: &tempfile::TempDir) -> SpecRun {
        SpecRun { spec: dir.path().join("dq.yaml"), ..SpecRun::default() }
    }

    fn engine(asked: Option<&str>, connect: Option<&str>) -> EngineArgs {
        EngineArgs::new(asked, connect.map(str::to_owned), "4.1")
    }

    /// The shared aggregation's answer for a spec whose only check is `rows`.
    fn rows_answer(rows: u64) -> Answer {
        Answer::Rows(vec![vec![serde_json::json!(0), serde_json::json!(format!("{{\"m0\": {rows}}}"))]])
    }

    /// A message of each diagnostic of an invalid, failed or unreachable run.
    fn messages(failure: &RunFailure) -> Vec<String> {
        match failure {
            RunFailure::Invalid(d) | RunFailure::Failed(d) | RunFailure::Unreachable(d) => {
                d.0.iter().map(|d| format!("{} {}", d.path, d.message)).collect()
            }
            RunFailure::File { path, error, .. } => vec![format!("{} {error}", path.display())],
        }
    }

    #[test]
    fn the_engine_is_the_commands_then_the_specs_and_auto_goes_by_the_datasets_size() {
        // (spec's engine settings, --engine, rows of data) → whether Spark was asked for.
        // `sparkAbove` counts whole MiB; 300 000 rows are about 2 MB of CSV.
        let table: [(&str, Option<&str>, usize, bool); 7] = [
            ("", None, 3, false),
            ("engine: spark\n", None, 3, true),
            ("engine: spark\n", Some("native"), 3, false),
            ("", Some("spark"), 3, true),
            ("engine: auto\nsparkAbove: 1Mi\n", None, 3, false),
            ("engine: auto\nsparkAbove: 1Mi\n", None, 300_000, true),
            ("sparkAbove: 1Mi\n", Some("auto"), 300_000, true),
        ];
        for (extra, asked, rows, spark) in table {
            let dir = workspace(rows, extra, ROWS);
            let mut host = FakeHost::new(rows_answer(rows as u64));
            let checked = run_spec(&mut host, &spec_run(&dir), &engine(asked, None))
                .unwrap_or_else(|e| panic!("{extra:?} {asked:?}: {e:?}"));
            let case = format!("{extra:?} --engine {asked:?}, {rows} rows");
            assert_eq!(host.asked_at.len(), usize::from(spark), "{case}");
            assert!(checked.report.passed, "{case}");
            assert_eq!(checked.report.rows, rows as u64, "{case}");
            assert_eq!(checked.report.spark.is_some(), spark, "{case}: only the spark engine reports Spark's figures");
        }
    }

    #[test]
    fn spark_runs_locally_unless_a_connect_url_is_given() {
        let dir = workspace(3, "engine: spark\n", ROWS);
        let mut host = FakeHost::new(rows_answer(3));
        run_spec(&mut host, &spec_run(&dir), &engine(None, None)).expect("local");
        run_spec(&mut host, &spec_run(&dir), &engine(None, Some("sc://spark.example:15002/;token=s3cret")))
            .expect("url");
        assert_eq!(host.asked_at, [r#"Local("4.1")"#, r#"Url("sc://spark.example:15002/;token=s3cret")"#]);
        assert_eq!(host.sent.len(), 2, "one batch a run");
        // Each batch is told the dataset's bytes on disk (what a local server sizes its JIT by).
        let bytes = std::fs::metadata(dir.path().join("data/part-0.csv")).expect("csv").len();
        assert_eq!(host.reads, [bytes, bytes]);
    }

    #[test]
    fn a_batch_reads_the_referenced_datasets_spark_joins_and_not_one_it_cannot() {
        // (the referenced column, how many copies of the data's bytes the batch reads)
        for (column, copies) in [("id", 2), ("nope", 1)] {
            let fk = format!(
                "  - {{name: fk, referentialIntegrity: {{column: id, refColumn: {column}, dataset: {{path: data, format: csv}}}}}}\n"
            );
            let dir = workspace(3, "engine: spark\n", &format!("{ROWS}{fk}"));
            let mut host = FakeHost::new(rows_answer(3));
            run_spec(&mut host, &spec_run(&dir), &engine(None, None)).unwrap_or_else(|e| panic!("{column}: {e:?}"));
            let bytes = std::fs::metadata(dir.path().join("data/part-0.csv")).expect("csv").len();
            assert_eq!(host.reads, [copies * bytes], "refColumn {column}");
        }
    }

    #[test]
    fn a_connect_value_that_is_not_a_url_is_invalid_and_its_token_is_not_shown() {
        let dir = workspace(3, "engine: spark\n", ROWS);
        let mut host = FakeHost::new(rows_answer(3));
        let err = run_spec(&mut host, &spec_run(&dir), &engine(None, Some("http://spark:15002/;token=s3cret")))
            .expect_err("not sc://");
        assert!(matches!(err, RunFailure::Invalid(_)), "{err:?}");
        assert_eq!(messages(&err), [" --connect takes a Spark Connect URL, not `http://spark:15002/`"]);
        assert!(host.asked_at.is_empty(), "Spark is not asked for");
    }

    #[test]
    fn what_spark_answers_becomes_the_exit_class() {
        // Unreachable → exit 3's class; refused → 2; a failed query → 1, naming the dataset.
        let cases = [
            (SparkFailure::Unreachable("no Spark Connect server answers at sc://localhost:1/".into()), 3),
            (SparkFailure::Refused("the server refused the token".into()), 2),
            (SparkFailure::Query("[PATH_NOT_FOUND] Path does not exist".into()), 1),
        ];
        for (answer, class) in cases {
            let dir = workspace(3, "", ROWS);
            let mut host = FakeHost::new(Answer::Fail(answer.clone()));
            let err = run_spec(&mut host, &spec_run(&dir), &engine(Some("spark"), Some("sc://localhost:1/")))
                .expect_err("fails");
            let found = match &err {
                RunFailure::Unreachable(_) => 3,
                RunFailure::Invalid(_) | RunFailure::File { .. } => 2,
                RunFailure::Failed(_) => 1,
            };
            assert_eq!(found, class, "{answer:?}: {err:?}");
            if class == 1 {
                let said = messages(&err).join("\n");
                assert!(said.contains("Spark could not check ") && said.contains("/data: [PATH_NOT_FOUND]"), "{said}");
            }
        }
    }

    #[test]
    fn checks_spark_cannot_run_are_refused_at_their_field_before_spark_is_asked_for() {
        let checks = format!("{ROWS}  - {{name: p, regex: {{column: id, pattern: '[[:digit:]]+'}}}}\n");
        let dir = workspace(3, "", &checks);
        let mut host = FakeHost::new(rows_answer(3));
        let err = run_spec(&mut host, &spec_run(&dir), &engine(Some("spark"), None)).expect_err("refused");
        assert!(matches!(err, RunFailure::Invalid(_)), "{err:?}");
        let said = messages(&err);
        assert_eq!(said.len(), 1, "{said:?}");
        assert!(said[0].starts_with("checks[1].regex.pattern `engine: spark` cannot run this"), "{said:?}");
        assert!(host.asked_at.is_empty());
    }

    #[test]
    fn object_storage_is_refused_on_a_local_spark_without_a_connector_and_left_to_one_with_it_or_a_server() {
        let checks = format!(
            "{ROWS}  - {{name: fk, referentialIntegrity: {{column: id, dataset: {{path: 's3a://lake/keys', format: csv}}}}}}\n"
        );
        let dir = workspace(3, "quarantine: {mode: failing-rows, location: 's3://lake/q'}\n", &checks);
        let spec = std::fs::read_to_string(dir.path().join("dq.yaml")).expect("spec");
        std::fs::write(dir.path().join("dq.yaml"), spec.replace("path: data,", "path: 's3://lake/trips',"))
            .expect("spec");
        let mut host = FakeHost::new(rows_answer(3));
        let err = run_spec(&mut host, &spec_run(&dir), &engine(Some("spark"), None)).expect_err("refused");
        assert!(matches!(err, RunFailure::Invalid(_)), "{err:?}");
        assert_eq!(
            messages(&err),
            [
                "dataset.path `engine: spark` on the local Spark 4.1 cannot read s3://lake/trips: Spark 4.1 here has \
                 no S3 connector",
                "checks[1].referentialIntegrity.dataset.path `engine: spark` on the local Spark 4.1 cannot read \
                 s3a://lake/keys: Spark 4.1 here has no S3 connector",
                "quarantine.location `engine: spark` on the local Spark 4.1 cannot read s3://lake/q: Spark 4.1 here \
                 has no S3 connector",
            ]
        );
        if let RunFailure::Invalid(d) = &err {
            assert!(d.0[0].help.as_deref().is_some_and(|h| h.contains("--engine native")), "{d:?}");
            assert!(d.0[0].span.is_some(), "points at the spec's line");
        }
        assert!(host.asked_at.is_empty(), "Spark is not started");
        // A local line the host can give an S3 connector runs it, told to.
        let mut host = FakeHost::new(rows_answer(3));
        host.s3_line = Some("3.5");
        let on_35 = EngineArgs { spark: "3.5".into(), ..engine(Some("spark"), None) };
        let _ = run_spec(&mut host, &spec_run(&dir), &on_35);
        assert_eq!(host.asked_at, [r#"LocalWithObjectStorage("3.5")"#]);
        // A Spark Connect server may read s3a:// paths itself: the spec goes to it.
        let mut host = FakeHost::new(Answer::Fail(SparkFailure::Unreachable("no server".into())));
        let err = run_spec(&mut host, &spec_run(&dir), &engine(Some("spark"), Some("sc://spark:15002/")));
        assert_eq!(host.asked_at, [r#"Url("sc://spark:15002/")"#], "{err:?}");
    }

    #[test]
    fn scans_are_counted_in_each_event_log_on_its_own() {
        // Two Spark applications (the checks, then a quarantine's write): each numbers its executions from 0.
        let dir = workspace(3, "engine: spark\n", ROWS);
        let data = std::path::absolute(dir.path().join("data")).expect("absolute");
        let plan = format!(
            "== Physical Plan ==\\n(1) Scan csv \\nOutput [1]: [id#0]\\nLocation: InMemoryFileIndex [file:{}]\\n",
            data.display()
        );
        let start = format!(
            "{{\"Event\":\"org.apache.spark.sql.execution.ui.SparkListenerSQLExecutionStart\",\"executionId\":0,\"physicalPlanDescription\":\"{plan}\"}}"
        );
        let mut host = FakeHost::new(rows_answer(3));
        host.event_logs = Some(vec![vec![start.clone()], vec![start]]);
        let checked = run_spec(&mut host, &spec_run(&dir), &engine(None, None)).expect("runs");
        let figures = checked.report.spark.expect("spark figures");
        assert_eq!((figures.queries, figures.planned_scans, figures.scans), (1, 1, Some(2)));
    }

    #[test]
    fn a_blocking_gate_fails_the_run_and_a_non_blocking_one_warns() {
        let dir = workspace(3, "", "  - {name: many, rowCount: {min: 10}}\n");
        std::fs::write(dir.path().join("job.yaml"), "").expect("job");
        let gates = [
            QualityGate { spec: "dq.yaml".into(), blocking: None, definition: None },
            QualityGate { spec: "dq.yaml".into(), blocking: Some(false), definition: None },
        ];
        let mut host = FakeHost::new(rows_answer(3));
        let outcome = run_gates(&mut host, &dir.path().join("job.yaml"), &gates).expect("gates run");
        assert_eq!(outcome.failed.0.len(), 1, "{outcome:?}");
        assert_eq!(outcome.warned.0.len(), 1, "{outcome:?}");
        assert!(
            outcome.failed.0[0].message.ends_with("dq.yaml: check `many` failed: 3 rows; expected at least 10"),
            "{outcome:?}"
        );
        assert_eq!(outcome.warned.0[0].severity, Severity::Warning);
        assert_eq!(host.warned, [outcome.warned.0[0].message.clone()], "warned as found");
        assert_eq!(host.checked.len(), 2, "each gate's report given to the host");
        assert!(host.asked_at.is_empty(), "a native spec's gates never start Spark");
    }
}
