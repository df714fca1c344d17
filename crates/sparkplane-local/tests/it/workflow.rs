//! `workflow::run_local` called as a library, without the binary: a real run
//! on the managed Spark 3.5 runtime (scripts/test.sh installs it; without it
//! the Spark tests fail with the command to install one), a job that raises,
//! and the errors that stop a run before Spark starts. Each test has its own
//! SPARKPLANE_HOME sharing the installed runtimes.

use std::path::{Path, PathBuf};

use sparkplane_category::Category;
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::yaml::parse_single;
use sparkplane_documents::{Severity, Source};
use sparkplane_local::history::{self, RunState};
use sparkplane_local::runtime;
use sparkplane_local::workflow::{LocalRunError, LocalRunEvent, LocalRunSettings, run_local};

/// The runtimes the user (or scripts/test.sh) installed, under the default SPARKPLANE_HOME.
fn installed_runtimes() -> PathBuf {
    let home = runtime::default_home().expect("a SPARKPLANE_HOME");
    let runtimes = runtime::runtimes_dir(&home);
    assert!(
        runtimes.join("3.5").join(runtime::MARKER_FILE).is_file(),
        "no Spark 3.5 runtime in {}: run `sparkplane runtime install 3.5` (scripts/test.sh does)",
        runtimes.display()
    );
    runtimes
}

struct Machine {
    home: tempfile::TempDir,
    jobs: tempfile::TempDir,
}

impl Machine {
    /// A fresh home; `with_runtimes` links the installed runtimes into it.
    fn new(with_runtimes: bool) -> Machine {
        let home = tempfile::tempdir().unwrap();
        if with_runtimes {
            std::os::unix::fs::symlink(installed_runtimes(), home.path().join("runtimes")).unwrap();
        }
        Machine { home, jobs: tempfile::tempdir().unwrap() }
    }

    /// A Python job `name` running `script`, resolved for the `local` environment.
    fn job(&self, name: &str, script: Option<&str>) -> (PathBuf, ResolvedJob) {
        if let Some(script) = script {
            std::fs::write(self.jobs.path().join(format!("{name}.py")), script).unwrap();
        }
        let path = self.jobs.path().join(format!("{name}.yaml"));
        let text = format!(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {{name: {name}}}\nspec:\n  team: qa\n  type: Python\n  sparkVersion: \"3.5.9\"\n  mainApplicationFile: {name}.py\n  driver: {{memory: 1g}}\n"
        );
        std::fs::write(&path, &text).unwrap();
        let node = parse_single(&Source::new(path.display().to_string(), text)).expect("the job parses");
        let catalog = Catalog::builtin().expect("the built-in catalog");
        let request = ResolveRequest {
            job: &node,
            job_environment: None,
            catalog: &catalog,
            environment: Some("local"),
            sets: &[],
            target: ValidationTarget::Local,
        };
        (path, load(request).expect("the job resolves"))
    }

    fn settings(&self, job_file: &Path) -> LocalRunSettings {
        let mut settings = LocalRunSettings::from_environment(job_file, "local", false).expect("settings");
        settings.home = self.home.path().to_owned();
        settings.spark_home = None;
        settings
    }

    fn recorded(&self) -> Vec<history::RunRecord> {
        let (runs, unreadable) = history::list(self.home.path());
        assert!(unreadable.is_empty(), "{unreadable:?}");
        runs
    }
}

/// The kinds of events a run sent, in order, with repeated progress folded into one.
fn kinds(events: &[String]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for event in events {
        if out.last() != Some(&event.as_str()) {
            out.push(event);
        }
    }
    out
}

fn kind(event: &LocalRunEvent<'_>) -> String {
    match event {
        LocalRunEvent::Warning(_) => "warning",
        LocalRunEvent::InstallStarting { .. }
        | LocalRunEvent::Install(_)
        | LocalRunEvent::InstallEnded
        | LocalRunEvent::Installed { .. } => "install",
        LocalRunEvent::Starting { .. } => "starting",
        LocalRunEvent::Progress { .. } => "progress",
        LocalRunEvent::DriverOutput(_) => "output",
        LocalRunEvent::SparkEnded => "ended",
    }
    .to_owned()
}

#[test]
fn a_job_runs_on_local_spark_and_its_outcome_is_recorded() {
    let machine = Machine::new(true);
    let script = "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(0, 10000, numPartitions=2).write.parquet('out')\nprint('rows', spark.read.parquet('out').count())\nprint('jvm', ' '.join(str(a) for a in spark._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments()))\nspark.stop()\n";
    let (path, job) = machine.job("lib-count", Some(script));
    let mut events = Vec::new();
    let mut starting = None;
    let outcome = run_local(&job, &machine.settings(&path), &mut |event: LocalRunEvent<'_>| {
        if let LocalRunEvent::Starting { job, run_id, master, spark, ui_url } = &event {
            starting = Some(format!("{job} {run_id} {master} {spark} {ui_url}"));
        }
        events.push(kind(&event));
    })
    .expect("the run starts");

    let record = &outcome.record;
    assert!(outcome.succeeded(), "{record:?}");
    assert_eq!(record.state, RunState::Succeeded);
    assert_eq!(record.job, "lib-count");
    assert_eq!(record.job_file, path.display().to_string());
    assert_eq!(record.environment.as_deref(), Some("local"));
    assert_eq!(record.spark_version.as_deref(), Some("3.5.9"));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(2);
    assert_eq!(record.master, format!("local[{cores}]"));
    assert!(record.pid.is_none() && record.ui_url.is_none() && record.failure.is_none(), "{record:?}");
    // The summary comes from the event log, and the record carries its figures.
    let summary = outcome.summary.as_ref().expect("a summary from the event log");
    assert_eq!(record.summary.as_ref(), Some(&summary.figures));
    assert!(summary.figures.jobs >= 2 && summary.figures.tasks_failed == 0, "{:?}", summary.figures);
    assert!(summary.figures.output_bytes > 0);
    assert!(Path::new(record.event_log.as_deref().unwrap()).exists(), "{:?}", record.event_log);
    let log = std::fs::read_to_string(&record.driver_log).unwrap();
    assert!(log.contains("rows 10000"), "{log}");
    // The driver's JVM maps the runtime's class-data archive (or, the first time, writes it as it exits).
    let archives = machine.home.path().join("runtimes").join("3.5").join("jvm");
    let jvm = log.lines().find(|l| l.starts_with("jvm ")).unwrap_or_else(|| panic!("the JVM's arguments: {log}"));
    assert!(
        [
            format!("-XX:SharedArchiveFile={}", archives.display()),
            format!("-XX:ArchiveClassesAtExit={}", archives.display())
        ]
        .iter()
        .any(|option| jvm.contains(option.as_str())),
        "{jvm}"
    );
    assert!(machine.jobs.path().join("out").is_dir(), "the job's directory is its working directory");
    // What the caller was told, in order: no install (the runtime is there), Spark's start, progress, its end.
    let starting = starting.expect("a Starting event");
    assert!(starting.starts_with(&format!("lib-count {} local[{cores}] Spark 3.5.9 http://127.0.0.1:", record.run_id)));
    assert_eq!(kinds(&events), ["starting", "progress", "ended"], "{events:?}");
    // The history holds exactly what the outcome says (as written: JSON does not round-trip every float's last digit).
    let recorded = machine.recorded();
    assert_eq!(recorded.len(), 1);
    let file = history::run_dir(machine.home.path(), &record.run_id).join("run.json");
    assert_eq!(std::fs::read_to_string(file).unwrap(), serde_json::to_string_pretty(record).unwrap());
}

#[test]
fn a_job_that_raises_is_a_failed_outcome_with_the_exception() {
    let machine = Machine::new(true);
    let script = "from pyspark.sql import SparkSession\nspark = SparkSession.builder.getOrCreate()\nspark.range(10).count()\nraise ValueError('bad input: 7 rows failed the check')\n";
    let (path, job) = machine.job("lib-boom", Some(script));
    // Followed: every line of the driver's output reaches the observer, in order, as the driver log has it.
    let mut settings = machine.settings(&path);
    settings.follow = true;
    let mut followed = Vec::new();
    let outcome = run_local(&job, &settings, &mut |event: LocalRunEvent<'_>| {
        if let LocalRunEvent::DriverOutput(line) = event {
            assert!(line.ends_with(b"\n"), "one whole line at a time: {line:?}");
            followed.extend_from_slice(line);
        }
    })
    .expect("the run starts");
    let log = std::fs::read(&outcome.record.driver_log).unwrap();
    assert!(String::from_utf8_lossy(&followed).contains("ValueError: bad input: 7 rows failed the check"));
    let (mut followed_lines, mut log_lines) =
        (followed.split(|b| *b == b'\n').collect::<Vec<_>>(), log.split(|b| *b == b'\n').collect::<Vec<_>>());
    // stdout and stderr are copied on two threads, so the two copies may interleave them differently:
    // compare them as multisets of lines.
    followed_lines.sort();
    log_lines.sort();
    assert_eq!(followed_lines, log_lines);
    assert!(!outcome.succeeded());
    assert_eq!(outcome.record.state, RunState::Failed);
    assert_eq!(outcome.record.failure.as_deref(), Some("ValueError: bad input: 7 rows failed the check"));
    assert_eq!(machine.recorded()[0].state, RunState::Failed);
}

#[test]
fn a_missing_application_file_is_invalid_and_nothing_is_recorded() {
    let machine = Machine::new(true);
    let (path, job) = machine.job("lib-nofile", None);
    let err = run_local(&job, &machine.settings(&path), &mut |_: LocalRunEvent<'_>| {}).unwrap_err();
    assert!(matches!(err, LocalRunError::Invalid(_)), "{err:?}");
    assert_eq!(err.category(), Category::Invalid);
    let diagnostic = err.diagnostic();
    assert_eq!(diagnostic.code, "missing-application");
    assert_eq!(diagnostic.severity, Severity::Error);
    assert_eq!(diagnostic.path, "spec.mainApplicationFile");
    let file = machine.jobs.path().canonicalize().unwrap().join("lib-nofile.py");
    assert_eq!(diagnostic.message, format!("the application file {} does not exist on this machine", file.display()));
    let env_file = machine.jobs.path().join("lib-nofile.local.yaml");
    assert_eq!(
        diagnostic.help.as_deref(),
        Some(
            format!("point spec.mainApplicationFile at a local file (relative to the job) in {}", env_file.display())
                .as_str()
        )
    );
    // Line 8 of the job file, where mainApplicationFile is written.
    assert_eq!(diagnostic.span.map(|s| s.at.line), Some(8));
    assert!(machine.recorded().is_empty());

    // Another environment without an overlay of its own: its file is in its image; say how to run it here.
    let mut dev = machine.settings(&path);
    dev.environment = "dev".into();
    let err = run_local(&job, &dev, &mut |_: LocalRunEvent<'_>| {}).unwrap_err();
    let dev_file = machine.jobs.path().join("lib-nofile.dev.yaml");
    assert_eq!(
        err.diagnostic().help.as_deref(),
        Some(
            format!(
                "dev runs a file of its image; to run it on this machine, create the overlay {} pointing \
                 spec.mainApplicationFile at a local file (relative to the job), or run the job's local environment \
                 (`--env local`)",
                dev_file.display()
            )
            .as_str()
        )
    );
    assert!(machine.recorded().is_empty());
}

#[test]
fn no_java_is_a_machine_error_before_anything_else() {
    // No runtimes either: Java is checked first, so its message is the one the user sees.
    let machine = Machine::new(false);
    let (path, job) = machine.job("lib-nojava", Some("print('never')\n"));
    let mut settings = machine.settings(&path);
    settings.java_home = None;
    settings.path = Some("/nonexistent".into());
    let mut events = Vec::new();
    let err = run_local(&job, &settings, &mut |event: LocalRunEvent<'_>| events.push(kind(&event))).unwrap_err();
    assert!(matches!(err, LocalRunError::Java(_)), "{err:?}");
    assert_eq!(err.category(), Category::Unreachable);
    let message = err.diagnostic().message;
    assert!(message.contains("Java was not found") && message.contains("openjdk-17"), "{message}");
    assert!(events.is_empty(), "{events:?}");
    assert!(machine.recorded().is_empty());
    assert!(!machine.home.path().join("runtimes").exists(), "no runtime was installed");
}
