//! `sparkplane run`: the job on this machine, on an embedded Spark — resolved,
//! validated and planned by the core, run by `sparkplane-local`, summarised
//! from its event log, and recorded in the local run history.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use sparkplane_core::local::{LocalContext, LocalPlan, plan_local};
use sparkplane_core::render::{self, RenderInput, Target};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_local::history::{self, RunRecord, RunState};
use sparkplane_local::runner::{self, Ended, RunSpec};
use sparkplane_local::runtime::{self, RuntimeError};
use sparkplane_local::{java, summary};

use crate::cli::{PolicyMode, RunArgs};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// The SQL runner shipped with sparkplane, written next to the runtimes on first use.
const SQL_RUNNER: &str = include_str!("../../../sparkplane-local/src/run_sql.py");

fn infra(code: &'static str, message: String, help: &str) -> Failure {
    Failure::Infrastructure(Diagnostic::error(code, "", message).with_help(help.to_owned()).into())
}

fn runtime_failure(err: RuntimeError) -> Failure {
    super::runtime::failure(&err)
}

fn free_port() -> Result<u16, Failure> {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).map(|a| a.port()).map_err(|e| {
        infra("no-port", format!("no free local port for the Spark UI: {e}"), "check the machine's network settings")
    })
}

fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned())
}

/// Runs `run`.
pub fn run(
    args: &RunArgs,
    policy: &super::policy::PolicySettings,
    platform_dir: Option<&Path>,
    printer: &Printer,
) -> CommandResult {
    let settings = JobSettings {
        path: args.job.clone(),
        env: Some(args.env.clone()),
        sets: args.sets.clone(),
        platform_dir: platform_dir.map(Path::to_owned),
    };
    let resolved = resolve_job(&settings, ValidationTarget::Local)?;
    printer.warnings(&resolved.warnings);
    let sized = size_job(&resolved.job.spec);
    // The same policy gate as render and submit, over what a cluster deploy would create;
    // the `local` environment's configuration turns off what only matters on a cluster.
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    super::policy::enforce_with(&resolved, &objects, policy, printer, args.policy_mode == PolicyMode::Audit)?;
    let home = runtime::default_home().map_err(runtime_failure)?;
    let spark_version = resolved.job.spec.spark_version.clone().unwrap_or_default();
    let line = runtime::line_of(&spark_version).map_err(runtime_failure)?;

    // Java first: without it nothing else matters, and the message says what to install.
    let java_home = std::env::var_os("JAVA_HOME").map(PathBuf::from);
    let java = java::check_java(line, java_home.as_deref(), std::env::var_os("PATH").as_deref()).map_err(|e| {
        let diag = Diagnostic::error(e.code(), "", e.to_string());
        match e.category() {
            runtime::Category::Usage => Failure::Invalid(diag.into()),
            runtime::Category::Environment => Failure::Infrastructure(diag.into()),
        }
    })?;
    if let Some(warning) = &java.warning {
        printer.status(&format!("warning: {warning}"));
    }

    let user_spark_home = std::env::var_os("SPARK_HOME").map(PathBuf::from);
    let located = match runtime::locate(&home, &spark_version, user_spark_home.as_deref()) {
        Ok(located) => located,
        Err(RuntimeError::NotInstalled { .. }) => {
            super::runtime::install_with_progress(&home, &spark_version, printer)?;
            runtime::locate(&home, &spark_version, user_spark_home.as_deref()).map_err(runtime_failure)?
        }
        Err(err) => return Err(runtime_failure(err)),
    };
    for warning in &located.warnings {
        printer.status(&format!("warning: {warning}"));
    }

    let started = history::now_ms();
    let run_id = history::new_run_id(resolved.name(), started);
    let run_dir = history::run_dir(&home, &run_id);
    let event_dir = home.join("history");
    let lib_dir = home.join("lib");
    for dir in [&run_dir, &event_dir, &lib_dir] {
        std::fs::create_dir_all(dir).map_err(|e| {
            infra("home", format!("cannot create {}: {e}", dir.display()), "check SPARKPLANE_HOME is writable")
        })?;
    }
    let sql_runner = lib_dir.join("run_sql.py");
    std::fs::write(&sql_runner, SQL_RUNNER).map_err(|e| {
        infra("home", format!("cannot write {}: {e}", sql_runner.display()), "check SPARKPLANE_HOME is writable")
    })?;
    let job_dir = absolute(args.job.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")));
    let ui_port = free_port()?;
    let cores = std::thread::available_parallelism().map(|n| n.get() as u32).unwrap_or(1);
    let ctx = LocalContext {
        machine_cores: cores,
        ui_port,
        event_log_dir: event_dir.display().to_string(),
        job_dir: job_dir.display().to_string(),
        run_id: run_id.clone(),
        sql_runner: sql_runner.display().to_string(),
    };
    let plan: LocalPlan = plan_local(&resolved, &sized, &ctx)?;
    if let Some(file) = &plan.local_file
        && !Path::new(file).is_file()
    {
        let env_file = args.job.with_file_name(format!(
            "{}.{}.yaml",
            args.job.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default(),
            args.env
        ));
        return Err(Failure::Invalid(
            Diagnostic::error(
                "missing-application",
                "spec.mainApplicationFile",
                format!("the application file {file} does not exist on this machine"),
            )
            .with_span(
                resolved
                    .span_of(&sparkplane_core::yaml::FieldPath::parse("spec.mainApplicationFile").unwrap_or_default()),
            )
            .with_help(format!(
                "point spec.mainApplicationFile at a local file (relative to the job) in {}",
                env_file.display()
            ))
            .into(),
        ));
    }

    let driver_log = run_dir.join("driver.log");
    let mut record = RunRecord {
        run_id: run_id.clone(),
        job: resolved.name().to_owned(),
        job_file: args.job.display().to_string(),
        spec_hash: resolved.short_hash(),
        environment: resolved.environment.clone(),
        preset: resolved.preset.clone(),
        spark_version: Some(match &located.source {
            runtime::Source::Managed { version, .. } => version.clone(),
            runtime::Source::User { .. } => spark_version.clone(),
        }),
        master: plan.master.clone(),
        state: RunState::Running,
        started_ms: started,
        ended_ms: None,
        pid: None,
        exit_code: None,
        failure: None,
        app_id: None,
        ui_url: Some(format!("http://127.0.0.1:{ui_port}")),
        driver_log: driver_log.display().to_string(),
        event_log: None,
        summary: None,
    };
    let save = |record: &RunRecord| {
        history::write(&home, record)
            .map_err(|e| infra("history", format!("cannot record the run: {e}"), "check SPARKPLANE_HOME is writable"))
    };
    save(&record)?;

    let cancel = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&cancel);
    // Ctrl-C asks Spark to stop; a second one is not needed (the runner escalates after a grace period).
    let _ = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst));

    let mut env = vec![("SPARK_HOME".to_owned(), located.spark_home.display().to_string())];
    if let Some(python) = &located.python {
        env.push(("PYSPARK_PYTHON".into(), python.display().to_string()));
        env.push(("PYSPARK_DRIVER_PYTHON".into(), python.display().to_string()));
    }
    if let Some(parent) = java.java.parent().and_then(Path::parent) {
        env.push(("JAVA_HOME".into(), parent.display().to_string()));
    }
    let spec = RunSpec {
        spark_submit: located.spark_submit.clone(),
        args: plan.args.clone(),
        env,
        driver_log: driver_log.clone(),
        follow: args.follow,
        ui_port,
        grace: Duration::from_secs(30),
        cwd: job_dir.clone(),
    };
    let spark_text = match &located.source {
        runtime::Source::Managed { version, .. } => format!("Spark {version}"),
        runtime::Source::User { .. } => format!("SPARK_HOME={}", located.spark_home.display()),
    };
    printer.status(&format!(
        "running {} as {run_id} on {} with {spark_text}; Spark UI http://127.0.0.1:{ui_port}",
        resolved.name(),
        plan.master
    ));
    let mut display = super::progress::Display::new(printer, std::io::stderr().is_terminal() && !args.follow);
    let mut pid_record = record.clone();
    let end = runner::run(
        &spec,
        &cancel,
        &mut |pid| {
            pid_record.pid = Some(pid);
            let _ = history::write(&home, &pid_record);
        },
        &mut |progress, elapsed| display.update(progress, elapsed),
    );
    display.finish();
    let end = match end {
        Ok(end) => end,
        Err(err) => {
            record.state = RunState::NotStarted;
            record.ended_ms = Some(history::now_ms());
            record.failure = Some(format!("spark-submit could not be started: {err}"));
            save(&record)?;
            return Err(infra(
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
    let memory = sparkplane_core::local::local_driver_memory(&sized, plan.slots);
    let app_summary = summary::summarize_run(&event_dir, end.app_id.as_deref(), memory.mib());
    if let Some(s) = &app_summary {
        record.event_log = s.event_log.clone();
        if let Some(version) = &s.spark_version {
            record.spark_version = Some(version.clone());
        }
        record.app_id = record.app_id.clone().or_else(|| s.app_id.clone());
        record.summary = Some(s.figures.clone());
    }
    let log_text = std::fs::read_to_string(&driver_log).unwrap_or_default();
    match end.ended {
        Ended::Exited(0) => record.state = RunState::Succeeded,
        Ended::Exited(code) => {
            record.state = RunState::Failed;
            record.exit_code = Some(code);
        }
        Ended::Cancelled => record.state = RunState::Cancelled,
        Ended::Killed => record.state = RunState::Failed,
    }
    if record.state == RunState::Failed {
        record.failure = runner::failure_from_driver_log(&log_text)
            .or_else(|| app_summary.as_ref().and_then(|s| s.failure.clone()))
            .or_else(|| Some(format!("spark-submit exited with {:?}; see {}", end.ended, driver_log.display())));
    }
    if record.state == RunState::Cancelled {
        record.failure = Some("cancelled by the user (Ctrl-C); Spark was stopped".into());
    }
    save(&record)?;
    super::runs::print_summary(&record, printer);
    match record.state {
        // A succeeded job still fails the run when a blocking quality gate on its output fails.
        RunState::Succeeded => super::dq::run_gates(&args.job, &resolved.job.spec.quality_gates, printer),
        _ => Err(Failure::Failed(Diagnostics::from(Diagnostic::error(
            "run-failed",
            "",
            format!("run {} {}: {}", record.run_id, record.state.as_str(), record.failure.clone().unwrap_or_default()),
        )))),
    }
}
