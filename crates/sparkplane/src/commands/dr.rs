//! `sparkplane dr drill`: a disaster-recovery drill, run by
//! `sparkplane_backup::drill_run::drill` over the host this module supplies:
//! the restore into a fresh folder or an empty scratch bucket
//! (`sparkplane_backup::verify`), the job re-pointed at the restored data by
//! its `--set` flags (`{restored}`) and run locally (with S3A and, for a
//! scratch bucket and a Backup with a metastore, the restored scratch database
//! as its catalog), and its gates (`dq::run_gates`). Must not: order the
//! steps or decide (`drill_run` and `drill::decide` do).

use std::collections::BTreeMap;
use std::path::PathBuf;

use sparkplane_api::backup::Backup;
use sparkplane_api::job::QualityGate;
use sparkplane_backup::drill;
use sparkplane_backup::drill_run::{self, DamagedManifest, DrillHost, DrillPlan};
use sparkplane_backup::scratch::{self, Scratch};
use sparkplane_backup::verify::{self, VerifyReport};
use sparkplane_backup::{BackupError, stores};
use sparkplane_core::resolve::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::{Diagnostic, Diagnostics};
use sparkplane_local::metastore::PostgresMetastore;
use sparkplane_local::s3a::S3aEndpoint;
use sparkplane_local::workflow::{ExtraProperties, LocalRunEvent, LocalRunObserver, LocalRunSettings, run_local};

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

/// The S3A properties that let the local Spark read the scratch bucket with the target's keys.
fn s3a_properties(backup: &sparkplane_api::backup::Backup) -> Result<BTreeMap<String, String>, Failure> {
    let target = &backup.spec.target;
    let Some((access_key, secret_key)) = stores::target_keys(backup).map_err(|e| super::backup::failure(&e))? else {
        return Err(Failure::invalid(
            "drill-restore-bucket",
            "",
            "--restore-bucket needs spec.target.credentials: the local Spark reads the scratch bucket with static keys",
            "name the key variables in spec.target.credentials, or restore into a folder with --restore-dir",
        ));
    };
    let endpoint = drill_run::s3a_endpoint(target);
    let jars = sparkplane_local::s3a::s3a_jars().map_err(|e| {
        Failure::invalid("drill-s3a", "", e.to_string(), "install the S3A jars, then run the drill again")
    })?;
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
            let store = stores::scratch_bucket(backup, url)?;
            Scratch::Bucket { url: url.clone(), store: Box::new(store) }
        }
        None => {
            let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
            let unique = format!("{}-{nanos}", std::process::id());
            Scratch::Folder(scratch::fresh_folder(settings.restore_dir.as_deref(), &unique)?)
        }
    };
    let serves_catalog = scratch.serves_catalog(backup);
    let sets = drill::repoint(&settings.job.sets, &scratch.restored(), serves_catalog)
        .map_err(|m| Failure::invalid("drill-not-repointed", "", m, "see `sparkplane dr drill --help`"))?;
    let job = JobSettings { sets, ..settings.job.clone() };
    // Bad job input is found before anything is restored.
    let resolved = resolve_job(&job, ValidationTarget::Local)?;
    printer.warnings(&resolved.warnings);
    let environment = job.env.as_deref().unwrap_or(sparkplane_core::catalog::LOCAL_ENVIRONMENT);
    let mut local =
        LocalRunSettings::from_environment(&job.path, environment, false).map_err(|e| super::run::failure(&e))?;
    local.extra_properties = ExtraProperties(extra_properties);

    let (name, into) = (&backup.metadata.name, scratch.describe());
    printer.status(&format!("drill: restoring the latest backup of {name} into {into}"));
    let gates = &resolved.job.spec.quality_gates;
    let plan = DrillPlan { backup, gates, serves_catalog, keep_scratch: settings.keep_scratch };
    let (job, resolved, local, scratch) = (&job, &resolved, &local, &scratch);
    let mut host = Host { settings, backup, job, resolved, local, scratch, printer, ran: resolved.name().to_owned() };
    let end = drill_run::drill(&plan, &mut host)?;
    let verdict = &end.verdict;
    if let Some(path) = &settings.junit {
        let junit = verdict.to_junit().to_xml();
        crate::workspace::write_file(
            path,
            junit.as_bytes(),
            "check that the JUnit file's folder exists and is writable",
        )?;
    }
    let keep = settings.keep_scratch;
    printer.result(&drill_run::report_json(&end, scratch, keep), || drill_run::report_text(&end, scratch, keep));
    if verdict.green {
        return Ok(());
    }
    let help = "see docs/runbooks/restore.md and the guide's Backup and disaster recovery chapter";
    let failures = verdict.failures.iter().map(|f| Diagnostic::error("drill-failed", "", f.line()).with_help(help));
    Err(Failure::Failed(Diagnostics(failures.collect())))
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
    let driver_jar = sparkplane_local::metastore::postgres_jdbc_jar().map_err(|e| {
        Failure::invalid("drill-metastore", "", e.to_string(), "install the driver, then run the drill again")
    })?;
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

impl From<BackupError> for Failure {
    fn from(error: BackupError) -> Failure {
        super::backup::failure(&error)
    }
}

impl From<DamagedManifest> for Failure {
    fn from(damaged: DamagedManifest) -> Failure {
        Failure::Failed(damaged.0.into())
    }
}

/// The CLI's side of a drill: the restore, the local Spark, the gates and the clock.
struct Host<'a> {
    settings: &'a DrillSettings,
    backup: &'a Backup,
    job: &'a JobSettings,
    resolved: &'a ResolvedJob,
    local: &'a LocalRunSettings,
    scratch: &'a Scratch,
    printer: &'a Printer,
    /// The job's name as its run recorded it (the gates' CDEvents name it).
    ran: String,
}

impl DrillHost for Host<'_> {
    type Error = Failure;

    fn now_ms(&mut self) -> i64 {
        jiff::Timestamp::now().as_millisecond()
    }

    fn restore(&mut self, serve_catalog: bool) -> Result<VerifyReport, Failure> {
        Ok(verify::verify_into(self.backup, Some(self.scratch.target()), serve_catalog)?)
    }

    fn relocate(&mut self, database: &str) -> Result<(), Failure> {
        Ok(verify::relocate(self.backup, database, &self.scratch.restored())?)
    }

    fn run_job(&mut self, catalog: Option<&str>) -> Result<Result<(), String>, Failure> {
        let mut local = self.local.clone();
        if let Some(database) = catalog {
            local.extra_properties.0.extend(catalog_properties(self.backup, database, &self.scratch.restored())?);
        }
        let outcome = run_local(self.resolved, &local, &mut Quiet { printer: self.printer })
            .map_err(|e| super::run::failure(&e))?;
        let record = &outcome.record;
        self.ran = record.job.clone();
        if outcome.succeeded() {
            return Ok(Ok(()));
        }
        let why = record.failure.clone().unwrap_or_default();
        Ok(Err(format!("run {} {}: {why}", record.run_id, record.state.as_str())))
    }

    fn check_gate(&mut self, gate: &QualityGate) -> Result<Result<(), Vec<String>>, Failure> {
        let environment = self.job.env.as_deref().unwrap_or(sparkplane_core::catalog::LOCAL_ENVIRONMENT);
        let context = super::dq::Gates { events: &self.settings.events, environment, job: &self.ran };
        match super::dq::run_gates(&self.job.path, std::slice::from_ref(gate), &context, self.printer) {
            Ok(()) => Ok(Ok(())),
            Err(Failure::Failed(found)) => Ok(Err(found.0.into_iter().map(|d| d.message).collect())),
            Err(other) => Err(other),
        }
    }

    fn drop_scratch_database(&mut self, database: &str) -> Result<(), Failure> {
        Ok(verify::drop_scratch_database(self.backup, database)?)
    }

    fn empty_scratch_bucket(&mut self) -> Result<Option<usize>, Failure> {
        Ok(self.scratch.empty()?)
    }
}
