//! `sparkplane verify` and `releases`: checking a stored release against a
//! public key, and listing or diffing a job's releases, through the release
//! store `--store` picks (`store`).
//!
//! Owns: reading those flags and files, and output. Must not: judge a
//! release (`sparkplane_delivery::release_verify` does), diff specs
//! (`release_diff`) or decide which namespace a cluster store is in
//! (`sparkplane_delivery::store::store_namespace`).

use std::path::{Path, PathBuf};

use sparkplane_delivery::release_diff;
use sparkplane_delivery::release_record::{self, ReleaseRecord};
use sparkplane_delivery::release_verify;
use sparkplane_delivery::store::DirStore;
use sparkplane_kube::Target as ClusterTarget;

use super::store::{OpenStore, StoreChoice, namespace, store_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// Runs `verify`: exit 1 naming each field or file that does not hold.
/// `release` is a release directory, or with `store` a release id read from
/// that store (a directory of releases, or `cluster`: its ConfigMap in
/// `--namespace`, else the context's namespace).
pub fn verify(
    release: &Path,
    key: &Path,
    store: Option<&Path>,
    cluster: &ClusterTarget,
    printer: &Printer,
) -> CommandResult {
    let key = super::keys::read_public(key)?;
    let stored = match store {
        None => read_release_dir(release)?,
        Some(flag) => {
            let id = release.to_string_lossy();
            let choice = StoreChoice::of(Some(flag), PathBuf::new());
            let store = OpenStore::open(&choice, cluster, &namespace(&choice, cluster, None, None, None)?)?;
            match store.store().get(&id).map_err(|e| store_failure(&e))? {
                Some(stored) => stored,
                None => {
                    return Err(Failure::invalid(
                        "unknown-release",
                        "RELEASE",
                        format!("no release `{id}` in {}", store.location()),
                        "pass an id that `sparkplane releases JOB --store ...` lists (and -n for another namespace)",
                    ));
                }
            }
        }
    };
    let verdict = release_verify::verify(&stored, &key);
    if let Some(report) = verdict.report_json(&key.key_id()) {
        printer.result(&report, || verdict.text(&key.key_id()));
    }
    let problems = verdict.problems();
    if problems.is_empty() { Ok(()) } else { Err(Failure::Failed(problems)) }
}

/// A release directory's files, or exit 2 saying what a release directory holds.
fn read_release_dir(dir: &Path) -> Result<sparkplane_delivery::store::StoredRelease, Failure> {
    if !dir.is_dir() {
        return Err(Failure::file(
            dir,
            "not a directory",
            "pass a release directory (releases/<id>/), or an id with --store",
        ));
    }
    DirStore::read_dir(dir)
        .map_err(|e| Failure::file(dir, e, "a release directory holds release.json and sbom.cdx.json"))
}

/// Runs `releases`: the history of a job per environment, oldest first.
/// `job` is a job's name, or its file (its `metadata.name` is read).
/// With `diff` (two ids), the fields that differ between their specs instead.
///
/// With `--store cluster` the releases are listed in the namespace the one
/// rule picks (`store::namespace`): `--namespace`, else the job's
/// namespace in `--env` (the job file resolved for it), else the job file's
/// `metadata.namespace`, else the context's.
pub fn history(
    job: &str,
    env: Option<&str>,
    store: Option<&Path>,
    diff: Option<&[String]>,
    cluster: &ClusterTarget,
    platform_dir: Option<&Path>,
    printer: &Printer,
) -> CommandResult {
    let as_path = Path::new(job);
    let job_file = as_path.is_file().then_some(as_path);
    let (name, default) = match job_file {
        Some(path) => {
            let doc = crate::workspace::read_yaml(path)?;
            let field = sparkplane_documents::yaml::FieldPath::parse("metadata.name").unwrap_or_default();
            let name =
                doc.get(&field).and_then(sparkplane_documents::yaml::Node::as_str).unwrap_or_default().to_owned();
            (name, super::default_store(path))
        }
        None => (job.to_owned(), PathBuf::from("releases")),
    };
    let choice = StoreChoice::of(store, default);
    let namespace = namespace(&choice, cluster, job_file, env, platform_dir)?;
    let store = OpenStore::open(&choice, cluster, &namespace)?;
    match diff {
        Some([a, b]) => diff_releases(&store, a, b, printer),
        _ => list(&name, env, &store, printer),
    }
}

/// A stored release's record, or exit 2 naming the id and the store.
fn stored_record(store: &OpenStore, id: &str) -> Result<ReleaseRecord, Failure> {
    let stored = store.store().get(id).map_err(|e| store_failure(&e))?;
    let Some(stored) = stored else {
        return Err(Failure::invalid(
            "unknown-release",
            "--diff",
            format!("no release `{id}` in {}", store.location()),
            "pass ids that `sparkplane releases JOB` lists",
        ));
    };
    ReleaseRecord::from_json(&stored.record).map_err(|message| {
        Failure::invalid(
            "bad-release",
            "--diff",
            format!("{id}: {message}"),
            "check the release with `sparkplane verify`",
        )
    })
}

fn diff_releases(store: &OpenStore, a: &str, b: &str, printer: &Printer) -> CommandResult {
    let (from, to) = (stored_record(store, a)?, stored_record(store, b)?);
    let changes = release_diff::diff(&from.spec, &to.spec);
    let json: Vec<serde_json::Value> = changes.iter().map(release_diff::Change::to_json).collect();
    let report = serde_json::json!({"from": a, "to": b, "changes": json});
    printer.result(&report, || release_diff::text(a, b, &changes));
    Ok(())
}

fn list(job: &str, env: Option<&str>, store: &OpenStore, printer: &Printer) -> CommandResult {
    let records = store.store().list(job, env).map_err(|e| store_failure(&e))?;
    let rows: Vec<serde_json::Value> = records.iter().map(release_record::history_row).collect();
    printer.result(&rows, || {
        if records.is_empty() {
            return format!("no releases of {job} in {}\n", store.location());
        }
        release_record::history_table(&records)
    });
    Ok(())
}
