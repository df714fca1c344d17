//! `sparkplane verify` and `releases`: checking a stored release against a
//! public key, and listing or diffing a job's releases, through the release
//! store `--store` picks (`release_store`).
//!
//! Owns: reading those flags and files, and output. Must not: judge a
//! release (`sparkplane_delivery::release_verify` does), diff specs
//! (`release_diff`) or decide which namespace a cluster store is in
//! (`sparkplane_delivery::store::store_namespace`).

use std::path::{Path, PathBuf};

use sparkplane_delivery::release_record::ReleaseRecord;
use sparkplane_delivery::release_verify::{self, Verdict};
use sparkplane_delivery::sign::PublicKey;
use sparkplane_delivery::store::DirStore;
use sparkplane_documents::Diagnostic;
use sparkplane_kube::Target as ClusterTarget;

use super::release_store::{OpenStore, StoreChoice, namespace, store_failure};
use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

fn invalid(code: &'static str, path: &str, message: impl Into<String>, help: &str) -> Failure {
    Failure::Invalid(Diagnostic::error(code, path, message).with_help(help).into())
}

/// Reads a public key file.
fn public_key(path: &Path) -> Result<PublicKey, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))?;
    PublicKey::from_pem(&text).map_err(|e| {
        invalid(
            "bad-key",
            "--key",
            format!("{}: {e}", path.display()),
            "pass the public key (release.pub) of the key that signed",
        )
    })
}

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
    let key = public_key(key)?;
    let stored = match store {
        None => read_release_dir(release)?,
        Some(flag) => {
            let id = release.to_string_lossy();
            let choice = StoreChoice::of(Some(flag), PathBuf::new());
            let store = OpenStore::open(&choice, cluster, &namespace(&choice, cluster, None, None, None)?)?;
            match store.store().get(&id).map_err(|e| store_failure(&e))? {
                Some(stored) => stored,
                None => {
                    return Err(invalid(
                        "unknown-release",
                        "RELEASE",
                        format!("no release `{id}` in {}", store.location()),
                        "pass an id that `sparkplane releases JOB --store ...` lists (and -n for another namespace)",
                    ));
                }
            }
        }
    };
    match release_verify::verify(&stored, &key) {
        Verdict::Unreadable(message) => {
            Err(Failure::Failed(Diagnostic::error("release-unreadable", "", message).into()))
        }
        Verdict::Valid(record) => {
            let report = serde_json::json!({"ok": true, "id": record.id, "keyId": key.key_id(), "problems": []});
            printer.result(&report, || {
                format!(
                    "verified {}: content hash, SBOM digest and both signatures match (key {})\n",
                    record.id,
                    key.key_id()
                )
            });
            Ok(())
        }
        Verdict::Invalid(record, problems) => {
            let report = serde_json::json!({
                "ok": false, "id": record.id, "keyId": key.key_id(),
                "problems": problems.iter().map(|p| serde_json::json!({"field": p.field, "message": p.message})).collect::<Vec<_>>(),
            });
            printer.result(&report, String::new);
            let diagnostics = problems
                .into_iter()
                .map(|p| {
                    Diagnostic::error("release-tampered", p.field, p.message)
                        .with_help("do not use this release; release the job again from its source")
                })
                .collect();
            Err(Failure::Failed(sparkplane_documents::Diagnostics(diagnostics)))
        }
    }
}

/// A release directory's files, or exit 2 saying what a release directory holds.
fn read_release_dir(dir: &Path) -> Result<sparkplane_delivery::store::StoredRelease, Failure> {
    if !dir.is_dir() {
        return Err(Failure::File {
            path: dir.to_owned(),
            error: "not a directory".into(),
            help: "pass a release directory (releases/<id>/), or an id with --store".into(),
        });
    }
    DirStore::read_dir(dir).map_err(|e| Failure::File {
        path: dir.to_owned(),
        error: e.to_string(),
        help: "a release directory holds release.json and sbom.cdx.json".into(),
    })
}

/// Runs `releases`: the history of a job per environment, oldest first.
/// `job` is a job's name, or its file (its `metadata.name` is read).
/// With `diff` (two ids), the fields that differ between their specs instead.
///
/// With `--store cluster` the releases are listed in the namespace the one
/// rule picks (`release_store::namespace`): `--namespace`, else the job's
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
            (name, super::release::default_store(path))
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
        return Err(invalid(
            "unknown-release",
            "--diff",
            format!("no release `{id}` in {}", store.location()),
            "pass ids that `sparkplane releases JOB` lists",
        ));
    };
    ReleaseRecord::from_json(&stored.record).map_err(|message| {
        invalid("bad-release", "--diff", format!("{id}: {message}"), "check the release with `sparkplane verify`")
    })
}

fn diff_releases(store: &OpenStore, a: &str, b: &str, printer: &Printer) -> CommandResult {
    let (from, to) = (stored_record(store, a)?, stored_record(store, b)?);
    let changes = sparkplane_delivery::release_diff::diff(&from.spec, &to.spec);
    let json: Vec<serde_json::Value> = changes
        .iter()
        .map(|c| {
            use sparkplane_delivery::release_diff::Change;
            match c {
                Change::Added { path, value } => serde_json::json!({"op": "added", "path": path, "to": value}),
                Change::Removed { path, value } => serde_json::json!({"op": "removed", "path": path, "from": value}),
                Change::Changed { path, from, to } => {
                    serde_json::json!({"op": "changed", "path": path, "from": from, "to": to})
                }
            }
        })
        .collect();
    let report = serde_json::json!({"from": a, "to": b, "changes": json});
    printer.result(&report, || {
        if changes.is_empty() {
            return format!("{a} and {b} have the same spec\n");
        }
        changes.iter().map(|c| format!("{c}\n")).collect()
    });
    Ok(())
}

fn list(job: &str, env: Option<&str>, store: &OpenStore, printer: &Printer) -> CommandResult {
    let records = store.store().list(job, env).map_err(|e| store_failure(&e))?;
    let rows: Vec<serde_json::Value> = records.iter().map(history_row).collect();
    printer.result(&rows, || {
        if records.is_empty() {
            return format!("no releases of {job} in {}\n", store.location());
        }
        let mut table = super::Table::new(&["ENVIRONMENT", "RELEASED", "BY", "ID", "COMMIT", "CI"]);
        let mut sorted: Vec<&ReleaseRecord> = records.iter().collect();
        sorted.sort_by(|a, b| (&a.environment, &a.released_at, &a.id).cmp(&(&b.environment, &b.released_at, &b.id)));
        for r in sorted {
            table.row(vec![
                r.environment.clone(),
                r.released_at.clone(),
                r.released_by.clone(),
                r.id.clone(),
                r.source.commit.chars().take(12).collect(),
                r.ci.as_ref().map_or("-".to_owned(), |c| c.outcome.clone()),
            ]);
        }
        table.render()
    });
    Ok(())
}

fn history_row(r: &ReleaseRecord) -> serde_json::Value {
    serde_json::json!({
        "id": r.id, "environment": r.environment, "releasedAt": r.released_at, "releasedBy": r.released_by,
        "commit": r.source.commit, "contentHash": r.content_hash, "ci": r.ci.as_ref().map(|c| &c.outcome),
    })
}
