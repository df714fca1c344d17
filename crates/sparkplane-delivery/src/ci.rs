//! `sparkplane ci`: every check of a job in one run, in one report.
//!
//! Owns: which checks run, in which order, per environment, when one is
//! skipped and why (a check whose input failed is skipped, never run on a
//! broken job), and turning each step's diagnostics into the report's findings.
//! Must not: read files, run processes or look at the clock itself — the
//! caller's [`CiHost`] does that (the CLI with the same functions `validate`,
//! `policy check`, `fit` and `run` use; tests with a fake).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use jiff::Timestamp;
use sparkplane_api::job::{AppType, CiSpec};
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::{Diagnostic, Diagnostics, Severity as DiagnosticSeverity};

use crate::ci_report::{API_VERSION, Check, CiReport, Finding, KIND, Location, Outcome, Severity};
use crate::ci_sql::{Tables, check_sql};

/// What a step that did run found.
#[derive(Clone, Debug, PartialEq)]
pub enum StepResult {
    /// It ran: errors among these fail the check; warnings do not.
    Checked(Vec<Finding>),
    /// Nothing to check here, with why.
    Skipped(String),
    /// It could not run (something missing on this machine), with why.
    Unavailable(Vec<Finding>),
}

impl StepResult {
    /// A step that ran and found `diagnostics`.
    pub fn checked(diagnostics: &Diagnostics) -> Self {
        StepResult::Checked(findings(diagnostics))
    }
    /// A step that could not run, with why.
    pub fn unavailable(diagnostics: &Diagnostics) -> Self {
        StepResult::Unavailable(findings(diagnostics))
    }
}

/// Core diagnostics as report findings, each problem once.
pub fn findings(diagnostics: &Diagnostics) -> Vec<Finding> {
    diagnostics.clone().deduplicated().0.iter().map(diagnostic_to_finding).collect()
}

/// The I/O `ci` needs, behind one interface.
pub trait CiHost {
    /// The job resolved and validated for `env` with the core's load step, or what is wrong.
    fn resolve(&mut self, env: &str) -> Result<ResolvedJob, Diagnostics>;
    /// The policy gate for a resolved job (deny violations are errors, warn ones warnings).
    fn policy(&mut self, job: &ResolvedJob) -> StepResult;
    /// The fit against node pools and the tenant's quota.
    fn fit(&mut self, job: &ResolvedJob) -> StepResult;
    /// A file's text (paths as the job gives them, relative to the job file).
    fn read(&mut self, path: &Path) -> Result<String, String>;
    /// Runs the job's unit-test command in the job file's directory.
    fn run_tests(&mut self, argv: &[String]) -> StepResult;
    /// Runs the job on this machine in `env`, with its quality gates.
    fn local_run(&mut self, env: &str) -> StepResult;
    /// Now.
    fn now(&mut self) -> Timestamp;
}

/// What to check.
#[derive(Clone, Debug)]
pub struct CiPlan {
    /// The job file as given.
    pub job_file: PathBuf,
    /// The job's name (for the report when nothing resolves).
    pub job_name: String,
    /// The environments, in order.
    pub environments: Vec<String>,
    /// The sparkplane version.
    pub tool_version: String,
    /// Whether the job has its own `local` overlay (`<job>.local.yaml`): its
    /// sample inputs, run by the local-run check unless spec.ci.sampleEnvironment names another.
    pub sample_overlay: bool,
}

/// Runs every check and returns the report. Never fails: a check that
/// cannot run is in the report as `error`, one that has nothing to do as `skip`.
pub fn run_ci(plan: &CiPlan, host: &mut dyn CiHost) -> CiReport {
    let started_at = host.now();
    let mut checks = Vec::new();
    let mut valid: Vec<ResolvedJob> = Vec::new();
    for env in &plan.environments {
        let at = host.now();
        let resolved = host.resolve(env);
        let env_name = Some(env.clone());
        match resolved {
            Err(problems) => {
                checks.push(check("validate", env_name.clone(), StepResult::checked(&problems), elapsed(at, host)));
                for name in ["policy", "fit"] {
                    let why = format!("the job is not valid for {env}");
                    checks.push(check(name, env_name.clone(), StepResult::Skipped(why), Duration::ZERO));
                }
            }
            Ok(job) => {
                checks.push(check("validate", env_name.clone(), StepResult::checked(&job.warnings), elapsed(at, host)));
                let at = host.now();
                let policy = host.policy(&job);
                checks.push(check("policy", env_name.clone(), policy, elapsed(at, host)));
                let at = host.now();
                let fit = host.fit(&job);
                checks.push(check("fit", env_name.clone(), fit, elapsed(at, host)));
                valid.push(job);
            }
        }
    }
    // spec.ci of the first environment that has it: it may sit in the job or in
    // its sample overlay (where it leaves the deployed environments' spec hash alone).
    let mut ci = valid.iter().find_map(|j| j.job.spec.ci.clone());
    if ci.is_none() && plan.sample_overlay {
        ci = host.resolve("local").ok().and_then(|j| j.job.spec.ci);
    }
    let ci = ci.unwrap_or_default();
    let first_valid = valid.first();
    let invalid = || StepResult::Skipped("the job is valid for none of the environments".into());

    // SQL: the files the job lists and a SQL job's main file where it is on this machine.
    let at = host.now();
    let sql = match &first_valid {
        None => invalid(),
        Some(_) => sql_step(plan, &ci, &sql_main_files(&valid), host),
    };
    checks.push(check("sql", None, sql, elapsed(at, host)));

    let at = host.now();
    let tests = match &first_valid {
        None => invalid(),
        Some(_) if ci.test_command.is_empty() => StepResult::Skipped("spec.ci.testCommand is not set".into()),
        Some(_) => host.run_tests(&ci.test_command),
    };
    checks.push(check("unit-tests", None, tests, elapsed(at, host)));

    let at = host.now();
    let sample = ci.sample_environment.clone().or_else(|| plan.sample_overlay.then(|| "local".to_owned()));
    let local = match (&first_valid, &sample) {
        (None, _) => invalid(),
        (Some(_), None) => StepResult::Skipped(
            "no sample inputs: the job has no `local` overlay of its own and no spec.ci.sampleEnvironment".into(),
        ),
        (Some(_), Some(env)) => host.local_run(env),
    };
    checks.push(check("local-run", sample, local, elapsed(at, host)));

    let finished_at = host.now();
    CiReport {
        api_version: API_VERSION.into(),
        kind: KIND.into(),
        job: first_valid.map(|j| j.name().to_owned()).unwrap_or_else(|| plan.job_name.clone()),
        job_file: plan.job_file.display().to_string(),
        environments: plan.environments.clone(),
        tool_version: plan.tool_version.clone(),
        started_at,
        finished_at,
        outcome: CiReport::outcome_of(&checks),
        checks,
    }
}

/// A SQL job's main file, from each environment that names a file on this
/// machine (a relative path or `file://`), relative to the job's directory.
fn sql_main_files(valid: &[ResolvedJob]) -> Vec<String> {
    let mut files = BTreeSet::new();
    for job in valid {
        if job.job.spec.app_type != Some(AppType::Sql) {
            continue;
        }
        if let Some(main) = &job.job.spec.main_application_file {
            let local = main.strip_prefix("file://").unwrap_or(main);
            if !local.contains("://") {
                files.insert(local.to_owned());
            }
        }
    }
    files.into_iter().collect()
}

fn sql_step(plan: &CiPlan, ci: &CiSpec, main_files: &[String], host: &mut dyn CiHost) -> StepResult {
    let mut files: Vec<String> = main_files.to_vec();
    for file in &ci.sql_files {
        if !files.contains(file) {
            files.push(file.clone());
        }
    }
    if files.is_empty() {
        return StepResult::Skipped(
            "no SQL on this machine: not a SQL job with a local main file, and spec.ci.sqlFiles is empty".into(),
        );
    }
    let dir = plan.job_file.parent().unwrap_or_else(|| Path::new("")).to_owned();
    let mut problems = Diagnostics::new();
    let tables = declared_tables(ci, &dir, host, &mut problems);
    let mut found = Vec::new();
    for file in &files {
        let path = dir.join(file);
        let shown = path.display().to_string();
        match host.read(&path) {
            Ok(text) => found.extend(check_sql(&shown, &text, &tables)),
            Err(why) => problems.push(
                Diagnostic::error("unreadable-file", "spec.ci.sqlFiles", format!("{shown}: {why}"))
                    .with_help("list SQL files relative to the job file"),
            ),
        }
    }
    let mut all = findings(&problems);
    all.extend(found);
    StepResult::Checked(all)
}

/// `spec.ci.tables`: inline columns, or the `schema` check of a data-quality spec.
fn declared_tables(ci: &CiSpec, dir: &Path, host: &mut dyn CiHost, problems: &mut Diagnostics) -> Tables {
    let mut tables = Tables::new();
    for (name, table) in &ci.tables {
        let mut columns: BTreeSet<String> = table.columns.keys().map(|c| c.to_lowercase()).collect();
        if let Some(dq) = &table.data_quality {
            let field = format!("spec.ci.tables.{name}.dataQuality");
            let path = dir.join(dq);
            match host.read(&path).map_err(|e| e.to_string()).and_then(|text| dq_columns(&path, &text)) {
                Ok(found) => columns.extend(found),
                Err(why) => problems.push(
                    Diagnostic::error("bad-table-schema", field, format!("{}: {why}", path.display()))
                        .with_help("name a DataQuality spec with a `schema` check, relative to the job file"),
                ),
            }
        }
        tables.insert(name.to_lowercase(), (!columns.is_empty()).then_some(columns));
    }
    tables
}

fn dq_columns(path: &Path, text: &str) -> Result<BTreeSet<String>, String> {
    let source = sparkplane_documents::Source::new(path.display().to_string(), text.to_owned());
    let node = sparkplane_documents::yaml::parse_single(&source).map_err(|d| d.message)?;
    let spec: sparkplane_api::DqSpec = serde_json::from_value(node.to_json()).map_err(|e| e.to_string())?;
    let columns: BTreeSet<String> = spec
        .checks
        .iter()
        .filter_map(|c| c.schema.as_ref())
        .flat_map(|s| s.columns.keys().map(|c| c.to_lowercase()))
        .collect();
    if columns.is_empty() { Err("it has no `schema` check listing columns".into()) } else { Ok(columns) }
}

fn elapsed(from: Timestamp, host: &mut dyn CiHost) -> Duration {
    let span = host.now().duration_since(from);
    Duration::try_from(span).unwrap_or_default()
}

/// One check from a step's result.
pub fn check(name: &str, environment: Option<String>, result: StepResult, took: Duration) -> Check {
    let (outcome, summary, mut findings) = match result {
        StepResult::Checked(found) => {
            let failed = found.iter().any(|f| f.severity == Severity::Error);
            (if failed { Outcome::Fail } else { Outcome::Pass }, None, found)
        }
        StepResult::Skipped(why) => (Outcome::Skip, Some(why), Vec::new()),
        StepResult::Unavailable(found) => (Outcome::Error, None, found),
    };
    if outcome == Outcome::Error && findings.is_empty() {
        findings.push(Finding {
            severity: Severity::Error,
            code: "unavailable".into(),
            message: format!("{name} could not run"),
            help: None,
            field: None,
            location: None,
        });
    }
    Check {
        name: name.into(),
        environment,
        outcome,
        summary,
        duration_ms: u64::try_from(took.as_millis()).unwrap_or(u64::MAX),
        diagnostics: findings,
    }
}

/// A core diagnostic as a report finding.
pub fn diagnostic_to_finding(d: &Diagnostic) -> Finding {
    Finding {
        severity: match d.severity {
            DiagnosticSeverity::Error => Severity::Error,
            DiagnosticSeverity::Warning => Severity::Warning,
        },
        code: d.code.to_owned(),
        message: d.message.clone(),
        help: d.help.clone(),
        field: (!d.path.is_empty()).then(|| d.path.clone()),
        location: d.span.as_ref().map(|s| Location {
            file: s.source.name.to_string(),
            line: u32::try_from(s.at.line).unwrap_or(u32::MAX),
            column: u32::try_from(s.at.column).unwrap_or(u32::MAX),
        }),
    }
}

/// The environments `ci` checks when none are given: the platform's and the
/// job's own overlays, sorted, each once.
pub fn default_environments(
    platform: impl IntoIterator<Item = String>,
    own: impl IntoIterator<Item = String>,
) -> Vec<String> {
    let all: BTreeSet<String> = platform.into_iter().chain(own).collect();
    all.into_iter().collect()
}

/// The environments `ci` checks: those asked for, each of which must be
/// `known` (the platform's and the job's own), or every known one when none
/// are asked for. An unknown one is the error, at `--env`, naming the nearest.
pub fn environments_to_check(asked: &[String], known: Vec<String>) -> Result<Vec<String>, Diagnostics> {
    if asked.is_empty() {
        return Ok(known);
    }
    let names: Vec<&str> = known.iter().map(String::as_str).collect();
    let problems = Diagnostics(
        asked
            .iter()
            .filter(|env| !known.contains(env))
            .map(|env| {
                Diagnostic::error("unknown-environment", "--env", format!("environment `{env}` is not declared"))
                    .with_help(sparkplane_core::resolve::environment_help(env, &names))
            })
            .collect(),
    );
    if problems.has_errors() { Err(problems) } else { Ok(asked.to_vec()) }
}

/// How a finished unit-test command (`spec.ci.testCommand`, shown as
/// `shown`, run in `dir`) counts: passed with exit 0, else a finding with
/// the exit code (`None`: a signal) and the last 20 lines of each output.
pub fn test_command_result(shown: &str, dir: &Path, code: Option<i32>, stdout: &[u8], stderr: &[u8]) -> StepResult {
    if code == Some(0) {
        return StepResult::Checked(Vec::new());
    }
    let tail = |bytes: &[u8]| {
        let text = String::from_utf8_lossy(bytes);
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    };
    let code = code.map(|c| c.to_string()).unwrap_or_else(|| "a signal".into());
    let mut message = format!("`{shown}` exited with {code}");
    for part in [tail(stdout), tail(stderr)] {
        if !part.trim().is_empty() {
            message.push('\n');
            message.push_str(&part);
        }
    }
    StepResult::checked(
        &Diagnostic::error("unit-tests-failed", "spec.ci.testCommand", message)
            .with_help(format!("run `{shown}` in {} to see every failure", dir.display()))
            .into(),
    )
}

/// Environment names from a job's own overlay files: `<stem>.<env>.yaml` next to it.
pub fn own_environments(job_file: &Path, names_in_dir: impl IntoIterator<Item = String>) -> Vec<String> {
    let Some(stem) = job_file.file_stem().map(|s| s.to_string_lossy().into_owned()) else { return Vec::new() };
    let prefix = format!("{stem}.");
    let mut envs: Vec<String> = names_in_dir
        .into_iter()
        .filter_map(|name| {
            let rest = name.strip_prefix(&prefix)?;
            let env = rest.strip_suffix(".yaml").or_else(|| rest.strip_suffix(".yml"))?;
            (!env.is_empty() && !env.contains('.')).then(|| env.to_owned())
        })
        .collect();
    envs.sort();
    envs.dedup();
    envs
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use sparkplane_core::catalog::Catalog;
    use sparkplane_core::load::load;
    use sparkplane_core::resolve::ResolveRequest;
    use sparkplane_core::validate::ValidationTarget;
    use sparkplane_documents::yaml::parse_single;

    use super::*;

    const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: t, namespace: data-eng}
spec:
  team: data-eng
  costCenter: cc-1
  preset: etl-small
  type: SQL
  mainApplicationFile: q.sql
  image: {repository: registry.example.com/t, tag: '1'}
  ci:
    testCommand: [make, test]
    tables:
      daily: {columns: {zone: string}}
";

    /// The job above; `bad` environments fail to load; files from a map; a clock in seconds.
    struct Fake {
        files: BTreeMap<String, String>,
        bad: Vec<&'static str>,
        calls: Vec<String>,
        clock: i64,
    }

    impl CiHost for Fake {
        fn resolve(&mut self, env: &str) -> Result<ResolvedJob, Diagnostics> {
            if self.bad.contains(&env) {
                return Err(
                    Diagnostic::error("bad-quantity", "spec.executor.memory", "`lots` is not a memory size").into()
                );
            }
            let job = parse_single(&sparkplane_documents::Source::new("job.yaml", JOB.to_owned()))
                .map_err(Diagnostics::from)?;
            let catalog = Catalog::builtin()?;
            let request = ResolveRequest {
                job: &job,
                job_environment: None,
                catalog: &catalog,
                environment: Some(env),
                sets: &[],
                target: ValidationTarget::Any,
            };
            load(request)
        }
        fn policy(&mut self, job: &ResolvedJob) -> StepResult {
            self.calls.push(format!("policy {}", job.environment.as_deref().unwrap_or_default()));
            StepResult::Checked(Vec::new())
        }
        fn fit(&mut self, _: &ResolvedJob) -> StepResult {
            StepResult::Skipped("no node pools".into())
        }
        fn read(&mut self, path: &Path) -> Result<String, String> {
            self.files.get(&path.display().to_string()).cloned().ok_or_else(|| "not found".to_owned())
        }
        fn run_tests(&mut self, argv: &[String]) -> StepResult {
            self.calls.push(format!("tests {}", argv.join(" ")));
            StepResult::Unavailable(Vec::new())
        }
        fn local_run(&mut self, env: &str) -> StepResult {
            self.calls.push(format!("run {env}"));
            StepResult::Checked(Vec::new())
        }
        fn now(&mut self) -> Timestamp {
            self.clock += 1;
            Timestamp::from_second(1_800_000_000 + self.clock).unwrap_or(Timestamp::UNIX_EPOCH)
        }
    }

    fn plan(envs: &[&str], sample_overlay: bool) -> CiPlan {
        CiPlan {
            job_file: PathBuf::from("jobs/job.yaml"),
            job_name: "t".into(),
            environments: envs.iter().map(|e| e.to_string()).collect(),
            tool_version: "0".into(),
            sample_overlay,
        }
    }

    fn summary(report: &CiReport) -> Vec<String> {
        report
            .checks
            .iter()
            .map(|c| {
                let env = c.environment.as_deref().map(|e| format!(" [{e}]")).unwrap_or_default();
                let codes: Vec<&str> = c.diagnostics.iter().map(|d| d.code.as_str()).collect();
                format!("{} {}{env} {}", c.outcome, c.name, codes.join(","))
            })
            .collect()
    }

    #[test]
    fn checks_run_in_order_and_an_invalid_environment_skips_what_needs_it() {
        let mut host = Fake {
            files: BTreeMap::from([("jobs/q.sql".to_owned(), "SELECT zone, trips FROM daily".to_owned())]),
            bad: vec!["prod"],
            calls: Vec::new(),
            clock: 0,
        };
        let report = run_ci(&plan(&["dev", "prod"], true), &mut host);
        assert_eq!(
            summary(&report),
            [
                "pass validate [dev] ",
                "pass policy [dev] ",
                "skip fit [dev] ",
                "fail validate [prod] bad-quantity",
                "skip policy [prod] ",
                "skip fit [prod] ",
                "fail sql sql-unknown-column",
                "error unit-tests unavailable",
                "pass local-run [local] ",
            ]
        );
        assert_eq!(host.calls, ["policy dev", "tests make test", "run local"]);
        assert_eq!(report.outcome, Outcome::Fail);
        assert_eq!(report.checks[3].summary, None);
        assert_eq!(report.checks[4].summary.as_deref(), Some("the job is not valid for prod"));
        assert_eq!(report.checks[0].duration_ms, 1000);
    }

    #[test]
    fn nothing_runs_past_validation_when_no_environment_is_valid() {
        let mut host = Fake { files: BTreeMap::new(), bad: vec!["dev"], calls: Vec::new(), clock: 0 };
        let report = run_ci(&plan(&["dev"], false), &mut host);
        let skipped: Vec<&str> = report.checks[3..].iter().filter_map(|c| c.summary.as_deref()).collect();
        assert_eq!(skipped, ["the job is valid for none of the environments"; 3]);
        assert!(host.calls.is_empty());
        assert_eq!(report.job, "t");
    }

    #[test]
    fn own_overlays_are_found_by_the_jobs_stem() {
        let names = ["job.yaml", "job.prod.yaml", "job.local.yml", "job.a.b.yaml", "other.dev.yaml", "job.yaml.bak"];
        assert_eq!(own_environments(Path::new("x/job.yaml"), names.map(String::from)), ["local", "prod"]);
    }

    #[test]
    fn asked_environments_must_be_declared_and_none_asked_means_every_one() {
        let known = vec!["dev".to_owned(), "prod".to_owned(), "staging".to_owned()];
        assert_eq!(environments_to_check(&[], known.clone()).expect("all"), known);
        assert_eq!(environments_to_check(&["prod".into()], known.clone()).expect("one"), ["prod"]);
        let err = environments_to_check(&["prd".into(), "dev".into(), "qa".into()], known).expect_err("unknown");
        let found: Vec<(&str, &str, &str)> =
            err.0.iter().map(|d| (d.code, d.path.as_str(), d.message.as_str())).collect();
        assert_eq!(
            found,
            [
                ("unknown-environment", "--env", "environment `prd` is not declared"),
                ("unknown-environment", "--env", "environment `qa` is not declared"),
            ]
        );
        assert!(err.0[0].help.as_deref().is_some_and(|h| h.contains("prod")), "{:?}", err.0[0].help);
    }

    #[test]
    fn a_test_command_passes_on_exit_0_and_otherwise_shows_the_last_20_lines_of_each_output() {
        let dir = Path::new("jobs");
        assert_eq!(test_command_result("make test", dir, Some(0), b"noise", b""), StepResult::Checked(Vec::new()));
        let stdout: String = (1..=25).map(|i| format!("out {i}\n")).collect();
        let StepResult::Checked(found) = test_command_result("make test", dir, Some(2), stdout.as_bytes(), b"boom\n")
        else {
            panic!("a failure is a finding of a check that ran")
        };
        assert_eq!(found.len(), 1);
        let message = &found[0].message;
        assert!(message.starts_with("`make test` exited with 2\nout 6\n"), "{message}");
        assert!(message.ends_with("out 25\nboom"), "{message}");
        let StepResult::Checked(found) = test_command_result("make test", dir, None, b"", b"") else { panic!() };
        assert_eq!(found[0].message, "`make test` exited with a signal");
    }
}
