//! A whole local run of a resolved job: Java checked, the job's Spark located
//! (its managed runtime installed when missing), the core's local plan made,
//! the application started and waited for, its summary read from the event
//! log, and the run recorded in the local run history before Spark starts and
//! again when it ends.
//!
//! This module owns the order of those steps and what the run record says
//! about each outcome. It must not resolve, validate or policy-check the job
//! (the caller hands in a [`ResolvedJob`] that passed its gates), read flags,
//! or print: what the user should see goes to a [`LocalRunObserver`] as
//! [`LocalRunEvent`]s, and the caller decides how to show them. Everything it
//! reads from the environment comes in through [`LocalRunSettings`], so a test
//! or another front end (`sparkplane ci`) calls it without the binary.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Duration, Instant};

use sparkplane_category::Category;
use sparkplane_core::local_plan::{LocalContext, LocalPlan, local_driver_memory, plan_local};
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::sizing::size_job;
use sparkplane_documents::Diagnostic;
use sparkplane_documents::yaml::FieldPath;

use crate::history::{self, RunRecord, RunState};
use crate::java::{self, JavaError};
use crate::progress::Progress;
use crate::runner::{self, Ended, RunSpec};
use crate::runtime::{self, InstallEvent, Located, RuntimeError};
use crate::summary::{self, RunSummary};

/// The SQL runner shipped with sparkplane, written next to the runtimes on each run.
const SQL_RUNNER: &str = include_str!("run_sql.py");

/// How long Spark gets to stop after a cancel before it is killed.
pub const CANCEL_GRACE: Duration = Duration::from_secs(30);

/// Everything a local run takes besides the job, in plain terms.
#[derive(Clone, Debug)]
pub struct LocalRunSettings {
    /// The job file as the user named it: recorded in the run history; its
    /// directory is the application's working directory.
    pub job_file: PathBuf,
    /// The environment the job was resolved for (names the job's own overlay
    /// in the help of a missing application file).
    pub environment: String,
    /// Copy the driver's output to stderr while it runs.
    pub follow: bool,
    /// SPARKPLANE_HOME: runtimes, run history, event logs.
    pub home: PathBuf,
    /// `JAVA_HOME`, looked at before `PATH`.
    pub java_home: Option<PathBuf>,
    /// `PATH`, searched for `java`.
    pub path: Option<OsString>,
    /// `SPARK_HOME`: a Spark of the user's own, used instead of a managed runtime.
    pub spark_home: Option<PathBuf>,
    /// The Python that creates a missing runtime.
    pub python: OsString,
    /// Cores of this machine (the plan caps `local[N]` at them).
    pub machine_cores: u32,
    /// Set to true to stop the run (Ctrl-C): Spark is asked to stop, and
    /// killed after [`CANCEL_GRACE`].
    pub cancel: Arc<AtomicBool>,
    /// Spark properties the caller adds to the run (S3A's endpoint and keys
    /// from `s3a`, a metastore from `metastore`): they may hold secrets, so
    /// they go to spark-submit in a `--properties-file` readable by its owner
    /// only, in the run's folder, removed when Spark has ended. The job's own
    /// `sparkConf` (given with `--conf`) wins over them. Empty by default.
    pub extra_properties: ExtraProperties,
}

/// Spark properties a caller adds to a local run; they may hold secrets, so
/// Debug shows their keys only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExtraProperties(pub std::collections::BTreeMap<String, String>);

impl std::fmt::Debug for ExtraProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

impl LocalRunSettings {
    /// Settings for `job_file` from this process's environment: SPARKPLANE_HOME
    /// (or its defaults), JAVA_HOME, PATH, SPARK_HOME, SPARKPLANE_PYTHON and
    /// the machine's cores; a fresh cancel flag.
    pub fn from_environment(job_file: &Path, environment: &str, follow: bool) -> Result<Self, LocalRunError> {
        let var = std::env::var_os;
        Ok(LocalRunSettings {
            job_file: job_file.to_owned(),
            environment: environment.to_owned(),
            follow,
            home: runtime::default_home()?,
            java_home: var("JAVA_HOME").map(PathBuf::from),
            path: var("PATH"),
            spark_home: var("SPARK_HOME").map(PathBuf::from),
            python: runtime::default_python(),
            machine_cores: u32::try_from(sparkplane_workqueue::cores()).unwrap_or(u32::MAX),
            cancel: Arc::new(AtomicBool::new(false)),
            extra_properties: ExtraProperties::default(),
        })
    }
}

/// What a run tells its caller while it goes, in order.
#[derive(Debug)]
pub enum LocalRunEvent<'a> {
    /// Something the user should know that does not stop the run (a Java
    /// Spark does not officially support, a SPARK_HOME that was ignored).
    Warning(&'a str),
    /// The job's runtime is missing and is installed now.
    InstallStarting {
        /// The Spark line, e.g. `3.5`.
        line: &'a str,
        /// The pyspark release that is installed.
        version: &'a str,
        /// Where it goes.
        dir: &'a Path,
    },
    /// A step of that install.
    Install(InstallEvent),
    /// The install ended, well or not (a live display stops here).
    InstallEnded,
    /// The runtime was installed, in `elapsed` (not sent when another
    /// sparkplane had installed it meanwhile).
    Installed {
        /// The Spark line.
        line: &'a str,
        /// The pyspark release.
        version: &'a str,
        /// How long the install took.
        elapsed: Duration,
    },
    /// Spark is about to start; the run is recorded as running.
    Starting {
        /// The job's name.
        job: &'a str,
        /// The run's id in the history.
        run_id: &'a str,
        /// `local[N]`.
        master: &'a str,
        /// The Spark it runs with: `Spark 3.5.9` or `SPARK_HOME=/opt/spark`.
        spark: &'a str,
        /// The Spark UI, `http://127.0.0.1:<port>`.
        ui_url: &'a str,
    },
    /// About once a second while Spark runs: the latest progress (None until
    /// the UI answers) and the time since the start.
    Progress {
        /// What Spark's REST API last said.
        progress: Option<&'a Progress>,
        /// Time since spark-submit started.
        elapsed: Duration,
    },
    /// One line of the driver's output, with its newline, when the settings
    /// ask to follow it (`follow`); it is in the driver log either way.
    DriverOutput(&'a [u8]),
    /// spark-submit has ended (a live display stops here).
    SparkEnded,
}

/// Where a run's events go: a terminal display, a log, a test's list.
pub trait LocalRunObserver {
    /// Takes one event.
    fn event(&mut self, event: LocalRunEvent<'_>);
}

impl<F: FnMut(LocalRunEvent<'_>)> LocalRunObserver for F {
    fn event(&mut self, event: LocalRunEvent<'_>) {
        self(event)
    }
}

/// How a run that started Spark ended. It has been recorded in the history
/// already; a failed or cancelled run is an outcome, not an error.
#[derive(Clone, Debug)]
pub struct LocalRunOutcome {
    /// The run as recorded (state, failure, figures, driver and event log).
    pub record: RunRecord,
    /// The summary read from the application's event log, when one was found.
    pub summary: Option<RunSummary>,
}

impl LocalRunOutcome {
    /// Whether the application succeeded.
    pub fn succeeded(&self) -> bool {
        self.record.state == RunState::Succeeded
    }
}

/// Why a run could not be made or started. Each becomes one diagnostic
/// ([`LocalRunError::diagnostic`]); [`LocalRunError::category`] says whether the
/// request (exit 2) or the machine (exit 3) is at fault.
#[derive(Debug, thiserror::Error)]
pub enum LocalRunError {
    /// The job's Spark line is not supported, or its runtime cannot be found, installed or used.
    #[error(transparent)]
    Runtime(#[from] RuntimeError),
    /// No Java, or one that cannot run the job's Spark line.
    #[error(transparent)]
    Java(#[from] JavaError),
    /// The job cannot run on this machine as written (the local plan refused
    /// it, or its application file is not here).
    #[error("{}", .0.message)]
    Invalid(Diagnostic),
    /// This machine failed the run: no free port, an unwritable home,
    /// spark-submit that would not start.
    #[error("{}", .0.message)]
    Machine(Diagnostic),
}

impl LocalRunError {
    /// Whether the request (`Usage`) or the machine (`Environment`) is at fault.
    pub fn category(&self) -> Category {
        match self {
            LocalRunError::Runtime(e) => e.category(),
            LocalRunError::Java(e) => e.category(),
            LocalRunError::Invalid(_) => Category::Invalid,
            LocalRunError::Machine(_) => Category::Unreachable,
        }
    }

    /// The error as the user sees it.
    pub fn diagnostic(&self) -> Diagnostic {
        match self {
            LocalRunError::Runtime(e) => Diagnostic::error(e.code(), "", e.to_string()),
            LocalRunError::Java(e) => Diagnostic::error(e.code(), "", e.to_string()),
            LocalRunError::Invalid(d) | LocalRunError::Machine(d) => d.clone(),
        }
    }
}

fn machine(code: &'static str, message: String, help: &str) -> LocalRunError {
    LocalRunError::Machine(Diagnostic::error(code, "", message).with_help(help.to_owned()))
}

fn free_port() -> Result<u16, LocalRunError> {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| {
        machine("no-port", format!("no free local port for the Spark UI: {e}"), "check the machine's network settings")
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

fn unwritable(path: &Path, err: &std::io::Error) -> LocalRunError {
    machine("home", format!("cannot write {}: {err}", path.display()), "check SPARKPLANE_HOME is writable")
}

/// Installs the runtime of `spark_version`, telling `observer` how it goes.
/// Installs the managed runtime of `spark` (a version such as `3.5.7`, or a
/// line such as `4.1`), telling `observer` each step as a live display shows
/// it: `InstallStarting`, the install's own events, `InstallEnded`, and
/// `Installed` unless another sparkplane had installed it meanwhile. `run`
/// and `connect` both install through this.
pub fn install_runtime(
    home: &Path,
    spark: &str,
    python: &std::ffi::OsStr,
    observer: &mut dyn LocalRunObserver,
) -> Result<(), RuntimeError> {
    let line = runtime::line_of(spark)?;
    let version = runtime::pinned_version(line).unwrap_or("?");
    let dir = runtime::runtime_dir(home, line);
    observer.event(LocalRunEvent::InstallStarting { line, version, dir: &dir });
    let started = Instant::now();
    let mut already = false;
    let result = runtime::install(home, spark, python, &mut |event| {
        already |= event == InstallEvent::AlreadyInstalled;
        observer.event(LocalRunEvent::Install(event));
    });
    observer.event(LocalRunEvent::InstallEnded);
    result?;
    if !already {
        observer.event(LocalRunEvent::Installed { line, version, elapsed: started.elapsed() });
    }
    Ok(())
}

/// The Spark the job runs with, its managed runtime installed first when missing.
fn locate(
    settings: &LocalRunSettings,
    spark_version: &str,
    observer: &mut dyn LocalRunObserver,
) -> Result<Located, LocalRunError> {
    let spark_home = settings.spark_home.as_deref();
    match runtime::locate(&settings.home, spark_version, spark_home) {
        Ok(located) => Ok(located),
        Err(RuntimeError::NotInstalled { .. }) => {
            install_runtime(&settings.home, spark_version, &settings.python, observer)?;
            Ok(runtime::locate(&settings.home, spark_version, spark_home)?)
        }
        Err(err) => Err(err.into()),
    }
}

/// The state and failure a record gets from how spark-submit ended.
fn settle(record: &mut RunRecord, ended: Ended, driver_log: &Path, summary: Option<&RunSummary>) {
    match ended {
        Ended::Exited(0) => record.state = RunState::Succeeded,
        Ended::Exited(code) => {
            record.state = RunState::Failed;
            record.exit_code = Some(code);
        }
        Ended::Cancelled => record.state = RunState::Cancelled,
        Ended::Killed => record.state = RunState::Failed,
    }
    if record.state == RunState::Failed {
        let log_text = std::fs::read_to_string(driver_log).unwrap_or_default();
        record.failure = runner::failure_from_driver_log(&log_text)
            .or_else(|| summary.and_then(|s| s.failure.clone()))
            .or_else(|| Some(format!("spark-submit exited with {ended:?}; see {}", driver_log.display())));
    }
    if record.state == RunState::Cancelled {
        record.failure = Some("cancelled by the user (Ctrl-C); Spark was stopped".into());
    }
}

/// Runs `job` on this machine and records the run.
///
/// Returns the outcome once Spark has ended, whatever its state (a failed
/// application is an outcome); an error means the run could not be made or
/// started, and only a run that got as far as recording itself (spark-submit
/// that would not start) leaves a record, as `not-started`.
pub fn run_local(
    job: &ResolvedJob,
    settings: &LocalRunSettings,
    observer: &mut dyn LocalRunObserver,
) -> Result<LocalRunOutcome, LocalRunError> {
    let home = &settings.home;
    let sized = size_job(&job.job.spec);
    let spark_version = job.job.spec.spark_version.clone().unwrap_or_default();
    let line = runtime::line_of(&spark_version)?;

    // Java first: without it nothing else matters, and the message says what to install.
    let java = java::check_java(line, settings.java_home.as_deref(), settings.path.as_deref())?;
    if let Some(warning) = &java.warning {
        observer.event(LocalRunEvent::Warning(warning));
    }
    let located = locate(settings, &spark_version, observer)?;
    for warning in &located.warnings {
        observer.event(LocalRunEvent::Warning(warning));
    }

    let started = history::now_ms();
    let run_id = history::new_run_id(job.name(), started);
    let run_dir = history::run_dir(home, &run_id);
    let (event_dir, sql_runner) = prepare_home(home)?;
    let job_file = &settings.job_file;
    let job_dir = absolute(job_file.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    let ui_port = free_port()?;
    let ctx = LocalContext {
        machine_cores: settings.machine_cores,
        ui_port,
        event_log_dir: event_dir.display().to_string(),
        job_dir: job_dir.display().to_string(),
        run_id: run_id.clone(),
        sql_runner: sql_runner.display().to_string(),
    };
    let plan: LocalPlan = plan_local(job, &sized, &ctx).map_err(LocalRunError::Invalid)?;
    if let Some(file) = &plan.local_file
        && !Path::new(file).is_file()
    {
        return Err(missing_application(job, settings, file));
    }

    let driver_log = run_dir.join("driver.log");
    let ui_url = format!("http://127.0.0.1:{ui_port}");
    let spark_version = match &located.source {
        runtime::Source::Managed { version, .. } => version.clone(),
        runtime::Source::User { .. } => spark_version.clone(),
    };
    let mut record = first_record(job, settings, &plan, Some(spark_version), (started, &run_id), &ui_url, &driver_log);
    let save = |record: &RunRecord| {
        history::write(home, record)
            .map_err(|e| machine("history", format!("cannot record the run: {e}"), "check SPARKPLANE_HOME is writable"))
    };
    save(&record)?;

    let extra_properties = run_dir.join("extra.properties");
    let (spec, archive) =
        run_spec(settings, line, &located, &java, &plan, &extra_properties, (driver_log.clone(), ui_port, job_dir))?;
    let spark = match &located.source {
        runtime::Source::Managed { version, .. } => format!("Spark {version}"),
        runtime::Source::User { .. } => format!("SPARK_HOME={}", located.spark_home.display()),
    };
    observer.event(LocalRunEvent::Starting {
        job: job.name(),
        run_id: &run_id,
        master: &plan.master,
        spark: &spark,
        ui_url: &ui_url,
    });
    // While Spark runs, a door on this machine (`history serve`) forwards /jobs/<namespace>/<job>/ to its UI.
    let live = crate::live::LiveRun {
        run_id: run_id.clone(),
        job: job.name().to_owned(),
        namespace: job.namespace().to_owned(),
        team: job.job.spec.team.clone(),
        user: std::env::var("USER").ok().filter(|u| !u.is_empty()),
        acls: plan
            .conf
            .iter()
            .filter(|(key, _)| sparkplane_access::app::is_acl_property(key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        ui: std::net::SocketAddr::from(([127, 0, 0, 1], ui_port)),
        pid: std::process::id(),
    };
    let marker = crate::live::mark(home, &live);
    if let Err(error) = &marker {
        let text = format!("the live UI marker could not be written ({error}): `history serve` will not forward to it");
        observer.event(LocalRunEvent::Warning(&text));
    }
    let end = submit(&spec, settings, &record, observer);
    drop(marker);
    // Its secrets are not kept in the run history.
    let _ = std::fs::remove_file(&extra_properties);
    // spark-submit execs the driver's JVM: once it has ended, the archive it wrote is whole or absent.
    if let Some(pending) = &archive {
        crate::connect_launch::finish(pending);
    }
    let end = match end {
        Ok(end) => end,
        Err(err) => {
            record.state = RunState::NotStarted;
            record.ended_ms = Some(history::now_ms());
            record.failure = Some(format!("spark-submit could not be started: {err}"));
            save(&record)?;
            return Err(machine(
                "spark-submit",
                format!("{} could not be started: {err}", located.spark_submit.display()),
                "reinstall the runtime: sparkplane runtime remove <line> && sparkplane runtime install <line>",
            ));
        }
    };

    record.pid = None;
    record.ended_ms = Some(history::now_ms());
    record.app_id = end.app_id.clone();
    record.ui_url = None;
    let memory = local_driver_memory(&sized, plan.slots);
    let app_summary = summary::summarize_run(&event_dir, end.app_id.as_deref(), memory.mib());
    if let Some(s) = &app_summary {
        record.event_log = s.event_log.clone();
        if let Some(version) = &s.spark_version {
            record.spark_version = Some(version.clone());
        }
        record.app_id = record.app_id.clone().or_else(|| s.app_id.clone());
        record.summary = Some(s.figures.clone());
    }
    settle(&mut record, end.ended, &driver_log, app_summary.as_ref());
    save(&record)?;
    Ok(LocalRunOutcome { record, summary: app_summary })
}

/// The folders a run writes to under the home (event logs and `lib`) and the
/// SQL runner written into `lib`: (event-log folder, SQL runner). The run's
/// own directory is made by its first record, once the plan holds: a run
/// refused before that leaves no empty directory for `runs list` to warn about.
fn prepare_home(home: &Path) -> Result<(PathBuf, PathBuf), LocalRunError> {
    let event_dir = home.join("history");
    let lib_dir = home.join("lib");
    for dir in [&event_dir, &lib_dir] {
        std::fs::create_dir_all(dir).map_err(|e| {
            machine("home", format!("cannot create {}: {e}", dir.display()), "check SPARKPLANE_HOME is writable")
        })?;
    }
    let sql_runner = lib_dir.join("run_sql.py");
    std::fs::write(&sql_runner, SQL_RUNNER).map_err(|e| unwritable(&sql_runner, &e))?;
    Ok((event_dir, sql_runner))
}

/// The refusal of a job whose application `file` is not on this machine,
/// saying which overlay would point it at a local file.
fn missing_application(job: &ResolvedJob, settings: &LocalRunSettings, file: &str) -> LocalRunError {
    let job_file = &settings.job_file;
    let env_file = job_file.with_file_name(format!(
        "{}.{}.yaml",
        job_file.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default(),
        settings.environment
    ));
    LocalRunError::Invalid(
        Diagnostic::error(
            "missing-application",
            "spec.mainApplicationFile",
            format!("the application file {file} does not exist on this machine"),
        )
        .with_span(job.span_of(&FieldPath::root().key("spec").key("mainApplicationFile")))
        .with_help(if env_file.is_file() || settings.environment == "local" {
            format!("point spec.mainApplicationFile at a local file (relative to the job) in {}", env_file.display())
        } else {
            // The environment's files live in its image: running it here needs an overlay that says where
            // they are on this machine, which does not exist yet.
            format!(
                "{} runs a file of its image; to run it on this machine, create the overlay {} pointing \
                 spec.mainApplicationFile at a local file (relative to the job), or run the job's local \
                 environment (`--env local`)",
                settings.environment,
                env_file.display()
            )
        }),
    )
}

/// The record of a run that is starting: `running`, with its UI and driver log.
fn first_record(
    job: &ResolvedJob,
    settings: &LocalRunSettings,
    plan: &LocalPlan,
    spark_version: Option<String>,
    (started, run_id): (u64, &str),
    ui_url: &str,
    driver_log: &Path,
) -> RunRecord {
    RunRecord {
        run_id: run_id.to_owned(),
        job: job.name().to_owned(),
        job_file: settings.job_file.display().to_string(),
        spec_hash: job.short_hash(),
        environment: job.environment.clone(),
        preset: job.preset.clone(),
        spark_version,
        master: plan.master.clone(),
        state: RunState::Running,
        started_ms: started,
        ended_ms: None,
        pid: None,
        exit_code: None,
        failure: None,
        app_id: None,
        ui_url: Some(ui_url.to_owned()),
        driver_log: driver_log.display().to_string(),
        event_log: None,
        summary: None,
        quality_gates: None,
        interactive: false,
        shadow_of: None,
    }
}

/// What spark-submit runs with: the runtime's environment (SPARK_HOME, the
/// Python and JAVA_HOME found) and the plan's arguments, after a
/// `--properties-file` of the extra properties when there are any (written
/// to `extra_properties`, which the caller removes once Spark has ended).
fn run_spec(
    settings: &LocalRunSettings,
    line: &str,
    located: &Located,
    java: &java::JavaInfo,
    plan: &LocalPlan,
    extra_properties: &Path,
    (driver_log, ui_port, cwd): (PathBuf, u16, PathBuf),
) -> Result<(RunSpec, Option<crate::connect_launch::PendingArchive>), LocalRunError> {
    let mut env = vec![("SPARK_HOME".to_owned(), located.spark_home.display().to_string())];
    if let Some(python) = &located.python {
        env.push(("PYSPARK_PYTHON".into(), python.display().to_string()));
        env.push(("PYSPARK_DRIVER_PYTHON".into(), python.display().to_string()));
    }
    if let Some(parent) = java.java.parent().and_then(Path::parent) {
        env.push(("JAVA_HOME".into(), parent.display().to_string()));
    }
    let mut args = plan.args.clone();
    // The driver maps the runtime's class-data archive (or writes it at exit, the first time):
    // a third off a short job's start (ADR 0022, "Cold start").
    let jvm = crate::connect_launch::plan_for_application(&settings.home, line, located, java, &plan.conf);
    if let Some(jvm) = &jvm {
        set_driver_java_options(&mut args, &jvm.with_archive_options(&plan.conf));
    }
    if !settings.extra_properties.0.is_empty() {
        crate::metastore::write_properties_file(extra_properties, &settings.extra_properties.0)
            .map_err(|e| unwritable(extra_properties, &e))?;
        args.splice(0..0, ["--properties-file".to_owned(), extra_properties.display().to_string()]);
    }
    let spec = RunSpec {
        spark_submit: located.spark_submit.clone(),
        args,
        env,
        driver_log,
        follow: settings.follow,
        ui_port,
        grace: CANCEL_GRACE,
        cwd,
    };
    Ok((spec, jvm.and_then(|j| j.pending().cloned())))
}

/// Sets the driver's Java options in spark-submit's `args` to the value in
/// `conf`: the plan's `--conf` of that setting replaced, or one added first
/// (before the application file, as spark-submit's options must be).
fn set_driver_java_options(args: &mut Vec<String>, conf: &std::collections::BTreeMap<String, String>) {
    const KEY: &str = "spark.driver.extraJavaOptions";
    let Some(value) = conf.get(KEY) else { return };
    let setting = format!("{KEY}={value}");
    let prefix = format!("{KEY}=");
    match args.windows(2).position(|pair| pair[0] == "--conf" && pair[1].starts_with(&prefix)) {
        Some(at) => args[at + 1] = setting,
        None => {
            args.insert(0, setting);
            args.insert(0, "--conf".to_owned());
        }
    }
}

/// Runs spark-submit to its end: the pid recorded once it starts, progress
/// and driver output to the one observer (from this thread), then
/// `SparkEnded`.
fn submit(
    spec: &RunSpec,
    settings: &LocalRunSettings,
    record: &RunRecord,
    observer: &mut dyn LocalRunObserver,
) -> std::io::Result<runner::RunEnd> {
    let mut pid_record = record.clone();
    let observer = std::cell::RefCell::new(observer);
    let end = runner::run(
        spec,
        &settings.cancel,
        runner::RunCallbacks {
            on_start: &mut |pid| {
                pid_record.pid = Some(pid);
                let _ = history::write(&settings.home, &pid_record);
            },
            on_progress: &mut |progress, elapsed| {
                observer.borrow_mut().event(LocalRunEvent::Progress { progress, elapsed })
            },
            on_output: &mut |line| observer.borrow_mut().event(LocalRunEvent::DriverOutput(line)),
        },
    );
    observer.into_inner().event(LocalRunEvent::SparkEnded);
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drivers_java_options_are_replaced_in_place_or_added_first() {
        let conf = std::collections::BTreeMap::from([(
            "spark.driver.extraJavaOptions".to_owned(),
            "-Dx=1 -XX:SharedArchiveFile=/a.jsa".to_owned(),
        )]);
        let words = |s: &str| s.split(' ').map(str::to_owned).collect::<Vec<_>>();
        let mut args = words("--master local[2] --conf spark.driver.extraJavaOptions=-Dx=1 --conf a=b app.py --conf x");
        set_driver_java_options(&mut args, &conf);
        assert_eq!(args[3], "spark.driver.extraJavaOptions=-Dx=1 -XX:SharedArchiveFile=/a.jsa");
        assert_eq!(args.len(), 9, "{args:?}");
        let mut plain = words("--master local[2] app.py");
        set_driver_java_options(&mut plain, &conf);
        assert_eq!(plain[..2], ["--conf", "spark.driver.extraJavaOptions=-Dx=1 -XX:SharedArchiveFile=/a.jsa"]);
        assert_eq!(plain[2..], ["--master", "local[2]", "app.py"]);
        let mut untouched = words("--master local[2] app.py");
        set_driver_java_options(&mut untouched, &std::collections::BTreeMap::new());
        assert_eq!(untouched, words("--master local[2] app.py"));
    }

    #[test]
    fn extra_properties_show_their_keys_but_no_value() {
        let properties = ExtraProperties(std::collections::BTreeMap::from([(
            "spark.hadoop.fs.s3a.secret.key".to_string(),
            "s3cr3t-value".to_string(),
        )]));
        assert_eq!(format!("{properties:?}"), "[\"spark.hadoop.fs.s3a.secret.key\"]");
    }
}
