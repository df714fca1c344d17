//! `sparkplane dr drill`: a disaster-recovery drill. The latest backup is
//! restored into a fresh target (the metastore dump into the scratch
//! database, checked and dropped as `backup verify` does; every object copy
//! into a restore folder or an empty scratch bucket on the backup's target
//! store, checksums checked), the job is re-pointed at the restored data by
//! its `--set` flags (`{restored}` is the folder, or the bucket's `s3a://`
//! URL, with S3A given to the local Spark through `sparkplane_local::s3a`),
//! run locally, and passed through its quality gates; the measured RTO and
//! RPO are held to the Backup's objectives. With a scratch bucket and a
//! metastore in the Backup, the scratch database stays up as the job's
//! catalog (`sparkplane_local::metastore`), its locations moved onto the
//! restored copies (`verify::relocate`). The scratch bucket is emptied and
//! the scratch database dropped afterwards unless `--keep-scratch`.
//!
//! Thin: this module reads the clock and calls the restore
//! (`sparkplane_backup::verify::verify_into`), the local run
//! (`sparkplane_local::workflow::run_local`) and the gates (`dq::run_gates`);
//! the verdict is `sparkplane_backup::drill::decide`'s. Must not decide.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sparkplane_backup::drill::{self, DrillFacts, GateResult, JobRun};
use sparkplane_backup::verify::{self, RestoreTarget};
use sparkplane_backup::{BackupError, stores};
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_core::{Diagnostic, Diagnostics};
use sparkplane_local::metastore::PostgresMetastore;
use sparkplane_local::s3a::S3aEndpoint;
use sparkplane_local::workflow::{ExtraProperties, LocalRunEvent, LocalRunObserver, LocalRunSettings, run_local};
use sparkplane_storage::Store;

use crate::events::Events;
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::{JobSettings, resolve_job};

/// What `dr drill` does, in plain terms.
#[derive(Clone, Debug)]
pub struct DrillSettings {
    /// The Backup file.
    pub backup: PathBuf,
    /// The job, its environment and its `--set` flags (with `{restored}` not yet replaced).
    pub job: JobSettings,
    /// Where the objects are restored: a folder that does not exist or is empty; default a new one under TMPDIR.
    pub restore_dir: Option<PathBuf>,
    /// Restore the objects into this empty bucket (or prefix) on the backup's target store instead of a folder.
    pub restore_bucket: Option<String>,
    /// Leave the scratch bucket's objects in place after the drill.
    pub keep_scratch: bool,
    /// `--junit FILE`.
    pub junit: Option<PathBuf>,
    /// Where the run's gates send their CDEvents.
    pub events: Events,
}

fn invalid(code: &'static str, message: String, help: &str) -> Failure {
    Failure::Invalid(Diagnostic::error(code, "", message).with_help(help).into())
}

/// Shows a drill's run: warnings and the starting line; Spark's output stays in its log.
struct Quiet<'a> {
    printer: &'a Printer,
}

impl LocalRunObserver for Quiet<'_> {
    fn event(&mut self, event: LocalRunEvent<'_>) {
        match event {
            LocalRunEvent::Warning(warning) => self.printer.status(&format!("warning: {warning}")),
            LocalRunEvent::Starting { job, run_id, master, spark, .. } => {
                self.printer.status(&format!("drill: running {job} as {run_id} on {master} with {spark}"))
            }
            _ => {}
        }
    }
}

fn restore_dir(asked: Option<&PathBuf>) -> Result<PathBuf, Failure> {
    let dir = match asked {
        Some(dir) => dir.clone(),
        None => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            std::env::temp_dir().join(format!("sparkplane-drill-{}-{nanos}", std::process::id()))
        }
    };
    let fresh = match std::fs::read_dir(&dir) {
        Ok(mut entries) => entries.next().is_none(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => true,
        Err(e) => {
            return Err(invalid(
                "drill-restore-dir",
                format!("{}: {e}", dir.display()),
                "give a folder this user can write to",
            ));
        }
    };
    if !fresh {
        return Err(invalid(
            "drill-restore-dir",
            format!("restore folder {} is not empty", dir.display()),
            "a drill restores into a fresh target: give a new or empty folder with --restore-dir",
        ));
    }
    std::fs::create_dir_all(&dir).map_err(|e| {
        invalid("drill-restore-dir", format!("{}: {e}", dir.display()), "give a folder this user can write to")
    })?;
    // Absolute, so the job (whose working directory is its own folder) finds it.
    Ok(std::path::absolute(&dir).unwrap_or(dir))
}

/// Where this drill restores the objects.
enum Scratch {
    Folder(PathBuf),
    Bucket { url: String, store: Store },
}

impl Scratch {
    /// What `{restored}` stands for.
    fn restored(&self) -> String {
        match self {
            Scratch::Folder(dir) => dir.to_string_lossy().into_owned(),
            Scratch::Bucket { url, .. } => drill::s3a_prefix(url),
        }
    }

    fn describe(&self) -> String {
        match self {
            Scratch::Folder(dir) => dir.display().to_string(),
            Scratch::Bucket { url, .. } => url.clone(),
        }
    }

    fn target(&self) -> RestoreTarget<'_> {
        match self {
            Scratch::Folder(dir) => RestoreTarget::Folder(dir),
            Scratch::Bucket { store, .. } => RestoreTarget::Bucket(store),
        }
    }
}

/// The S3A properties that let the local Spark read the scratch bucket with the target's keys.
fn s3a_properties(backup: &sparkplane_api::backup::Backup) -> Result<BTreeMap<String, String>, Failure> {
    let target = &backup.spec.target;
    let Some((access_key, secret_key)) = stores::target_keys(backup).map_err(|e| super::backup::failure(&e))? else {
        return Err(invalid(
            "drill-restore-bucket",
            "--restore-bucket needs spec.target.credentials: the local Spark reads the scratch bucket with static keys"
                .into(),
            "name the key variables in spec.target.credentials, or restore into a folder with --restore-dir",
        ));
    };
    let endpoint = target.endpoint.clone().unwrap_or_else(|| match &target.region {
        Some(region) => format!("https://s3.{region}.amazonaws.com"),
        None => "https://s3.amazonaws.com".into(),
    });
    let jars = sparkplane_local::s3a::s3a_jars()
        .map_err(|e| invalid("drill-s3a", e.to_string(), "install the S3A jars, then run the drill again"))?;
    let endpoint =
        S3aEndpoint { endpoint, access_key, secret_key, jars, retries: sparkplane_local::s3a::Retries::HadoopDefaults };
    Ok(endpoint.spark_properties())
}

/// Runs `dr drill`: exit 0 green and within the objectives, 1 naming each failure, 2 bad input, 3 unreachable.
pub fn drill(settings: &DrillSettings, printer: &Printer) -> CommandResult {
    let (loaded, _) = super::backup::read(&settings.backup, printer)?;
    let backup = &loaded.backup;
    let mut extra_properties = BTreeMap::new();
    let scratch = match &settings.restore_bucket {
        Some(url) => {
            extra_properties = s3a_properties(backup)?;
            let store = stores::scratch_bucket(backup, url).map_err(|e| super::backup::failure(&e))?;
            Scratch::Bucket { url: url.clone(), store }
        }
        None => Scratch::Folder(restore_dir(settings.restore_dir.as_ref())?),
    };
    let serves_catalog = matches!(scratch, Scratch::Bucket { .. }) && backup.spec.metastore.is_some();
    let sets = drill::repoint(&settings.job.sets, &scratch.restored(), serves_catalog)
        .map_err(|m| invalid("drill-not-repointed", m, "see `sparkplane dr drill --help`"))?;
    let job = JobSettings { sets, ..settings.job.clone() };
    // Bad job input is found before anything is restored.
    let resolved = resolve_job(&job, ValidationTarget::Local)?;
    printer.warnings(&resolved.warnings);
    let environment = job.env.as_deref().unwrap_or("local");
    let mut local =
        LocalRunSettings::from_environment(&job.path, environment, false).map_err(|e| super::run::failure(&e))?;
    local.extra_properties = ExtraProperties(extra_properties);

    let started = jiff::Timestamp::now();
    printer.status(&format!(
        "drill: restoring the latest backup of {} into {}",
        backup.metadata.name,
        scratch.describe()
    ));
    let prepared =
        Prepared { backup, job: &job, resolved: &resolved, local: &local, scratch: &scratch, started, serves_catalog };
    let drilled = restore_and_run(settings, &prepared, printer);
    let emptied = match &scratch {
        Scratch::Bucket { store, .. } if !settings.keep_scratch => Some(stores::empty_scratch_bucket(store)),
        _ => None,
    };
    let (verdict, catalog) = drilled?;
    let deleted = emptied.transpose().map_err(|e: BackupError| super::backup::failure(&e))?;
    if let Some(path) = &settings.junit {
        std::fs::write(path, verdict.to_junit().to_xml()).map_err(|e| Failure::File {
            path: path.clone(),
            error: e.to_string(),
            help: "check that the JUnit file's folder exists and is writable".into(),
        })?;
    }
    let report = match &scratch {
        Scratch::Folder(dir) => serde_json::json!({ "restoreDir": dir, "verdict": verdict }),
        Scratch::Bucket { url, .. } => serde_json::json!({
            "restoreBucket": url,
            "scratchObjectsDeleted": deleted,
            "scratchDatabase": catalog,
            "scratchDatabaseDropped": catalog.is_some() && !settings.keep_scratch,
            "verdict": verdict,
        }),
    };
    printer.result(&report, || {
        let after = match (&scratch, deleted) {
            (Scratch::Bucket { .. }, Some(n)) => format!(" ({n} objects deleted afterwards)"),
            (Scratch::Bucket { .. }, None) => " (kept)".to_string(),
            (Scratch::Folder(_), _) => String::new(),
        };
        let database = match &catalog {
            Some(db) if settings.keep_scratch => format!("; the job's catalog was scratch database {db} (kept)"),
            Some(db) => format!("; the job's catalog was scratch database {db} (dropped afterwards)"),
            None => String::new(),
        };
        format!("{}  restored into {}{after}{database}\n", verdict.to_text(), scratch.describe())
    });
    if verdict.green {
        return Ok(());
    }
    let failures: Diagnostics = Diagnostics(
        verdict
            .failures
            .iter()
            .map(|f| {
                Diagnostic::error("drill-failed", "", f.line())
                    .with_help("see docs/runbooks/restore.md and the guide's Backup and disaster recovery chapter")
            })
            .collect(),
    );
    Err(Failure::Failed(failures))
}

/// What a drill has ready before it restores anything.
struct Prepared<'a> {
    backup: &'a sparkplane_api::backup::Backup,
    job: &'a JobSettings,
    resolved: &'a ResolvedJob,
    local: &'a LocalRunSettings,
    scratch: &'a Scratch,
    started: jiff::Timestamp,
    /// The job's catalog is the restored metastore (a scratch bucket, and a Backup with a metastore).
    serves_catalog: bool,
}

/// The restore, the job on the restored data and its gates, decided; the
/// scratch database the job's catalog was (dropped again unless kept).
fn restore_and_run(
    settings: &DrillSettings,
    prepared: &Prepared<'_>,
    printer: &Printer,
) -> Result<(drill::DrillVerdict, Option<String>), Failure> {
    let restored = verify::verify_into(prepared.backup, Some(prepared.scratch.target()), prepared.serves_catalog)
        .map_err(|e| super::backup::failure(&e))?;
    let catalog = restored.scratch_database.clone();
    let verdict = run_on_restore(settings, prepared, &restored, catalog.as_deref(), printer);
    let dropped = match &catalog {
        Some(db) if !settings.keep_scratch => verify::drop_scratch_database(prepared.backup, db),
        _ => Ok(()),
    };
    let verdict = verdict?;
    dropped.map_err(|e| super::backup::failure(&e))?;
    Ok((verdict, catalog))
}

/// The Spark properties that make the restored scratch database the job's catalog.
fn catalog_properties(
    backup: &sparkplane_api::backup::Backup,
    database: &str,
    restored: &str,
) -> Result<BTreeMap<String, String>, Failure> {
    let Some((server, _)) = sparkplane_backup::run::server(backup).map_err(|e| super::backup::failure(&e))? else {
        return Ok(BTreeMap::new());
    };
    let driver_jar = sparkplane_local::metastore::postgres_jdbc_jar()
        .map_err(|e| invalid("drill-metastore", e.to_string(), "install the driver, then run the drill again"))?;
    let metastore = PostgresMetastore {
        host: server.host,
        port: u16::try_from(server.port).unwrap_or(u16::MAX),
        database: database.to_owned(),
        user: server.user,
        password: server.password.map(|p| p.0).unwrap_or_default(),
        driver_jar,
        // Managed tables a job creates land in the scratch bucket, and go with it.
        warehouse: PathBuf::from(format!("{restored}/_warehouse")),
    };
    Ok(metastore.spark_properties())
}

/// The job on a restore, its gates and the verdict.
fn run_on_restore(
    settings: &DrillSettings,
    prepared: &Prepared<'_>,
    restored: &verify::VerifyReport,
    catalog: Option<&str>,
    printer: &Printer,
) -> Result<drill::DrillVerdict, Failure> {
    let Prepared { backup, job, resolved, local, scratch, started, .. } = *prepared;
    let environment = job.env.as_deref().unwrap_or("local");
    let recovery_point = restored.started.parse::<jiff::Timestamp>().map_err(|e| {
        Failure::Failed(
            Diagnostic::error(
                "drill-manifest",
                "",
                format!("backup run {}: started `{}`: {e}", restored.id, restored.started),
            )
            .with_help("the manifest is damaged; restore from another run")
            .into(),
        )
    })?;

    let mut gates = Vec::new();
    let job_run = if !restored.findings.is_empty() {
        JobRun::NotRun
    } else {
        let mut local = local.clone();
        if let Some(database) = catalog {
            // The restored catalog's tables point at the restored copies, not the lake.
            verify::relocate(backup, database, &scratch.restored()).map_err(|e| super::backup::failure(&e))?;
            local.extra_properties.0.extend(catalog_properties(backup, database, &scratch.restored())?);
        }
        let outcome = run_local(resolved, &local, &mut Quiet { printer }).map_err(|e| super::run::failure(&e))?;
        let record = &outcome.record;
        if outcome.succeeded() {
            let context = super::dq::Gates { events: &settings.events, environment, job: &record.job };
            for gate in &resolved.job.spec.quality_gates {
                let checked = super::dq::run_gates(&job.path, std::slice::from_ref(gate), &context, printer);
                let (passed, detail) = match checked {
                    Ok(()) if gate.blocking == Some(false) => {
                        (true, "non-blocking: its failures only warn".to_string())
                    }
                    Ok(()) => (true, "passed".to_string()),
                    Err(Failure::Failed(found)) => {
                        (false, found.0.iter().map(|d| d.message.as_str()).collect::<Vec<_>>().join("; "))
                    }
                    Err(other) => return Err(other),
                };
                gates.push(GateResult { name: gate.spec.clone(), passed, detail });
            }
            JobRun::Succeeded { finished_ms: jiff::Timestamp::now().as_millisecond() }
        } else {
            JobRun::Failed(format!(
                "run {} {}: {}",
                record.run_id,
                record.state.as_str(),
                record.failure.clone().unwrap_or_default()
            ))
        }
    };
    let objectives = backup.spec.objectives.as_ref();
    let verdict = drill::decide(&DrillFacts {
        backup_id: restored.id.clone(),
        started_ms: started.as_millisecond(),
        recovery_point_ms: recovery_point.as_millisecond(),
        restore: restored.findings.clone(),
        job: job_run,
        gates,
        rto_target_ms: objectives.and_then(|o| o.rto).map(|d| d.as_millis()),
        rpo_target_ms: objectives.and_then(|o| o.rpo).map(|d| d.as_millis()),
    });
    Ok(verdict)
}
