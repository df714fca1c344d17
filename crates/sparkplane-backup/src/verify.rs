//! `backup verify`: the latest complete run is checked the way a restore
//! would need it. The metastore dump is read back and its SHA-256 compared
//! with the manifest's, restored into a scratch database (dropped again
//! afterwards), its tables and row counts compared with the manifest's, and
//! the queries a Hive metastore client starts with are run on it; every
//! object copy is read back and its size and SHA-256 compared. A drill does
//! the same with a restore target: each object is also written there, at
//! `<source>/<key>` in a folder or a scratch bucket, as it is read back and
//! hashed.

use std::collections::BTreeMap;
use std::io::Write;

use crate::document::scratch_database;
use sparkplane_api::backup::Backup;

use crate::drill::{RestoreFault, RestoreFinding};
use crate::manifest::Manifest;
use crate::plan::{Observed, check_copy, check_tables};
use crate::run::{Hashing, complete_runs, server};
use crate::{BackupError, layout, stores};

/// What a verify found.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VerifyReport {
    /// The run checked.
    pub id: String,
    /// Its manifest's location.
    pub manifest_url: String,
    /// Tables restored and compared.
    pub tables: usize,
    /// Rows restored in all of them.
    pub rows: u64,
    /// Tables and databases the Hive metastore query listed (`db.table`).
    pub hive_tables: Vec<String>,
    /// Object copies checked.
    pub objects: usize,
    /// Bytes read back and hashed.
    pub bytes: u64,
    /// Everything missing or corrupt; empty when the backup is good.
    pub problems: Vec<String>,
    /// The same problems, each with its kind (for a drill's verdict).
    #[serde(skip)]
    pub findings: Vec<RestoreFinding>,
    /// The run's start (RFC 3339): the recovery point of a restore from it.
    #[serde(skip)]
    pub started: String,
    /// The scratch database the metastore was restored into, when it was
    /// asked to be kept and the restore held: the caller drops it.
    #[serde(skip)]
    pub scratch_database: Option<String>,
}

impl VerifyReport {
    /// The check as `backup verify` says it: the run, the metastore
    /// restored, the objects read back, and `ok` when nothing is wrong (each
    /// problem is the caller's to report).
    pub fn text(&self) -> String {
        let mut text = format!("backup run {} ({})\n", self.id, self.manifest_url);
        if self.tables > 0 {
            text.push_str(&format!(
                "  metastore: restored {} tables, {} rows; the Hive query lists {} tables\n",
                self.tables,
                self.rows,
                self.hive_tables.len()
            ));
        }
        text.push_str(&format!("  objects: {} checked, {} bytes read back\n", self.objects, self.bytes));
        if self.problems.is_empty() {
            text.push_str("  ok: everything is there and matches the manifest\n");
        }
        text
    }

    fn problem(&mut self, fault: RestoreFault, detail: String) {
        self.problems.push(detail.clone());
        self.findings.push(RestoreFinding { fault, detail });
    }
}

/// The kind of a copy's problem: missing or corrupt.
fn copy_fault(observed: &Observed, missing: RestoreFault, corrupt: RestoreFault) -> RestoreFault {
    if matches!(observed, Observed::Missing) { missing } else { corrupt }
}

/// The query a Hive metastore client's first calls amount to: every table of
/// every database (`get_all_databases`, then `get_all_tables` per database).
const HIVE_TABLES: &str = "SELECT d.\"NAME\" || '.' || t.\"TBL_NAME\" FROM \"TBLS\" t JOIN \"DBS\" d ON t.\"DB_ID\" = d.\"DB_ID\" ORDER BY 1;";

/// A reader over the copy at `key`; `None` when the target does not hold it.
fn open_copy(target: &sparkplane_storage::Store, key: &str) -> Result<Option<impl std::io::Read>, BackupError> {
    match target.reader(key, 8 * 1024 * 1024) {
        Ok(reader) => Ok(Some(reader)),
        Err(sparkplane_storage::StorageError::NotFound { .. }) => Ok(None),
        Err(e) => Err(BackupError::storage(e)),
    }
}

fn observe(
    target: &sparkplane_storage::Store,
    key: &str,
    scratch: Option<&mut dyn Write>,
) -> Result<Observed, BackupError> {
    let Some(reader) = open_copy(target, key)? else { return Ok(Observed::Missing) };
    let mut hashing = Hashing::new(reader);
    let mut sink = std::io::sink();
    let out: &mut dyn Write = match scratch {
        Some(w) => w,
        None => &mut sink,
    };
    std::io::copy(&mut hashing, out).map_err(|e| BackupError::Unreachable {
        message: format!("{}: reading failed: {e}", target.describe(key)),
        help: "check the store's endpoint and network path".into(),
    })?;
    let (sha256, size) = hashing.finish();
    Ok(Observed::Present { size, sha256 })
}

/// Where a drill restores the object copies: each at `<source>/<key>` below it.
#[derive(Clone, Copy, Debug)]
pub enum RestoreTarget<'a> {
    /// A local folder.
    Folder(&'a std::path::Path),
    /// A scratch bucket (or a prefix of one), streamed into as each copy is read and hashed.
    Bucket(&'a sparkplane_storage::Store),
}

/// Verifies the latest complete run of `backup`.
pub fn verify(backup: &Backup) -> Result<VerifyReport, BackupError> {
    verify_into(backup, None, false)
}

/// Verifies the latest complete run of `backup`, and with `restore` writes
/// every object copy to `<source>/<key>` there as it is checked. With
/// `keep_database` a scratch database whose restore held is left up (named
/// in the report) for a drill's job; otherwise it is dropped.
pub fn verify_into(
    backup: &Backup,
    restore: Option<RestoreTarget<'_>>,
    keep_database: bool,
) -> Result<VerifyReport, BackupError> {
    let name = &backup.metadata.name;
    let target = stores::target(backup)?;
    let runs = complete_runs(&target, name)?;
    let Some(manifest): Option<Manifest> = runs.into_iter().last() else {
        return Err(BackupError::Failed {
            message: format!("no complete backup under {}", target.describe(&layout::runs(name))),
            help: "run `sparkplane backup run` first; a run without manifest.json is incomplete".into(),
        });
    };
    let mut report = VerifyReport {
        id: manifest.id.clone(),
        manifest_url: target.describe(&layout::manifest(name, &manifest.id)),
        tables: 0,
        rows: 0,
        hive_tables: Vec::new(),
        objects: 0,
        bytes: 0,
        problems: Vec::new(),
        findings: Vec::new(),
        started: manifest.started.clone(),
        scratch_database: None,
    };
    if let Some(dump) = &manifest.metastore {
        let dir = tempfile_dir()?;
        let file = dir.join("metastore.dump");
        let mut out = std::fs::File::create(&file).map_err(|e| local(&file, &e))?;
        let observed = observe(&target, &dump.key, Some(&mut out))?;
        drop(out);
        report.bytes += dump.size;
        let what = format!("metastore dump of {}", dump.database);
        if let Some(problem) = check_copy(&what, &target.describe(&dump.key), dump.size, &dump.sha256, &observed) {
            report.problem(copy_fault(&observed, RestoreFault::MissingDump, RestoreFault::CorruptDump), problem);
        } else if let Some((server, _)) = server(backup)? {
            let scratch = backup.spec.metastore.as_ref().map(scratch_database).unwrap_or_default();
            server.recreate(&scratch)?;
            let restored = server.restore(&scratch, &file).and_then(|()| {
                let counts = server.row_counts(&scratch)?;
                let hive = if counts.contains_key("public.TBLS") && counts.contains_key("public.DBS") {
                    Some(server.query(&scratch, HIVE_TABLES)?)
                } else {
                    None
                };
                Ok((counts, hive))
            });
            let dropped = if keep_database && restored.is_ok() {
                report.scratch_database = Some(scratch.clone());
                Ok(())
            } else {
                server.drop_database(&scratch)
            };
            let (counts, hive) = restored?;
            dropped?;
            report.tables = counts.len();
            report.rows = counts.values().sum();
            for problem in check_tables(dump, &counts) {
                report.problem(RestoreFault::MetastoreMismatch, problem);
            }
            match hive {
                Some(tables) => {
                    let recorded = dump.tables.get("public.TBLS").copied().unwrap_or(0);
                    if tables.len() as u64 != recorded {
                        report.problem(RestoreFault::MetastoreMismatch, format!(
                            "metastore: the Hive query lists {} tables with their databases, the manifest recorded {recorded} rows in TBLS",
                            tables.len()
                        ));
                    }
                    report.hive_tables = tables;
                }
                None => report.problem(
                    RestoreFault::MetastoreMismatch,
                    "metastore: the restore has no Hive metastore tables (public.DBS and public.TBLS)".into(),
                ),
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let mut checked: BTreeMap<&str, Observed> = BTreeMap::new();
    for object in &manifest.objects {
        let key = layout::blob(name, &object.sha256);
        let observed = match (restore, checked.get(object.sha256.as_str())) {
            (Some(RestoreTarget::Folder(dir)), _) => {
                let path = dir.join(restore_key(&object.source, &object.key)?);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent).map_err(|e| restore_local(parent, &e))?;
                }
                let mut file = std::fs::File::create(&path).map_err(|e| restore_local(&path, &e))?;
                observe(&target, &key, Some(&mut file))?
            }
            (Some(RestoreTarget::Bucket(bucket)), _) => {
                observe_into_bucket(&target, &key, bucket, &restore_key(&object.source, &object.key)?)?
            }
            (None, Some(o)) => o.clone(),
            (None, None) => {
                let o = observe(&target, &key, None)?;
                checked.insert(&object.sha256, o.clone());
                o
            }
        };
        report.objects += 1;
        report.bytes += object.size;
        let what = format!("{}/{}", object.source, object.key);
        if let Some(problem) = check_copy(&what, &target.describe(&key), object.size, &object.sha256, &observed) {
            report.problem(copy_fault(&observed, RestoreFault::MissingObject, RestoreFault::CorruptObject), problem);
        }
    }
    Ok(report)
}

/// Points a kept scratch metastore at the restored objects: every table,
/// partition and database location under a backed-up source moves to its
/// copy at `<restored>/<source name>` ([`crate::drill::relocations`]).
pub fn relocate(backup: &Backup, database: &str, restored: &str) -> Result<(), BackupError> {
    let Some((server, _)) = server(backup)? else { return Ok(()) };
    let sources: Vec<(String, String)> =
        crate::document::object_sources(backup).into_iter().map(|s| (s.name, s.url)).collect();
    let moves = crate::drill::relocations(&sources, restored);
    let counts = server.row_counts(database)?;
    let present: Vec<&str> = counts.keys().filter_map(|t| t.strip_prefix("public.")).collect();
    let sql = crate::drill::relocation_sql(&moves, &present);
    if sql.is_empty() {
        return Ok(());
    }
    server.query(database, &sql).map(|_| ())
}

/// Drops a scratch database [`verify_into`] kept.
pub fn drop_scratch_database(backup: &Backup, database: &str) -> Result<(), BackupError> {
    match server(backup)? {
        Some((server, _)) => server.drop_database(database),
        None => Ok(()),
    }
}

/// Where an object is restored below the target: `<source>/<key>`, refused
/// when the key would leave it (a manifest written by hand or damaged).
fn restore_key(source: &str, key: &str) -> Result<String, BackupError> {
    let relative = std::path::Path::new(source).join(key);
    if relative.components().any(|c| !matches!(c, std::path::Component::Normal(_))) {
        return Err(BackupError::Failed {
            message: format!("manifest object {source}/{key}: the key leaves the restore folder"),
            help: "the manifest is damaged; restore from another run".into(),
        });
    }
    Ok(format!("{source}/{key}"))
}

/// Streams the copy at `key` into `bucket` at `to_key` while hashing it; a
/// copy the target does not hold is missing, and nothing is written for it.
fn observe_into_bucket(
    target: &sparkplane_storage::Store,
    key: &str,
    bucket: &sparkplane_storage::Store,
    to_key: &str,
) -> Result<Observed, BackupError> {
    let Some(reader) = open_copy(target, key)? else { return Ok(Observed::Missing) };
    let mut hashing = Hashing::new(reader);
    bucket.put_from(to_key, &mut hashing, 8 * 1024 * 1024).map_err(BackupError::storage)?;
    let (sha256, size) = hashing.finish();
    Ok(Observed::Present { size, sha256 })
}

fn restore_local(path: &std::path::Path, e: &std::io::Error) -> BackupError {
    BackupError::Invalid {
        message: format!("{}: {e}", path.display()),
        help: "give a restore folder this user can write to".into(),
    }
}

fn tempfile_dir() -> Result<std::path::PathBuf, BackupError> {
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    let dir = std::env::temp_dir().join(format!("sparkplane-verify-{}-{nanos}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| local(&dir, &e))?;
    Ok(dir)
}

fn local(path: &std::path::Path, e: &std::io::Error) -> BackupError {
    BackupError::Failed {
        message: format!("{}: {e}", path.display()),
        help: "verify needs room in the temporary folder for the dump (TMPDIR)".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::VerifyReport;

    #[test]
    fn the_text_names_the_run_what_was_read_back_and_ok_only_without_problems() {
        let mut report = VerifyReport {
            id: "20260101T000000Z".into(),
            manifest_url: "s3://b/platform/runs/20260101T000000Z/manifest.json".into(),
            tables: 2,
            rows: 7,
            hive_tables: vec!["default.a".into(), "default.b".into()],
            objects: 3,
            bytes: 99,
            problems: Vec::new(),
            findings: Vec::new(),
            started: String::new(),
            scratch_database: None,
        };
        assert_eq!(
            report.text(),
            "backup run 20260101T000000Z (s3://b/platform/runs/20260101T000000Z/manifest.json)\n  \
             metastore: restored 2 tables, 7 rows; the Hive query lists 2 tables\n  \
             objects: 3 checked, 99 bytes read back\n  ok: everything is there and matches the manifest\n"
        );
        report.problems.push("missing".into());
        report.tables = 0;
        assert_eq!(
            report.text(),
            "backup run 20260101T000000Z (s3://b/platform/runs/20260101T000000Z/manifest.json)\n  \
             objects: 3 checked, 99 bytes read back\n"
        );
    }
}
