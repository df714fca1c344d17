//! Where release records live: a [`ReleaseStore`] the CLI and the operator
//! both read. [`DirStore`] keeps one directory per release for GitOps
//! (`<root>/<release id>/{release.json, release.sig, sbom.cdx.json,
//! sbom.sig}`); [`to_config_map`], [`from_config_map`], [`release_selector`]
//! and [`records_of`] are the pure encoding of a release as one ConfigMap,
//! labelled by job and environment, which `cluster_store` creates and lists
//! in the cluster (ADR 0031).
//!
//! Owns: the layout of a stored release, the rule that records are never
//! overwritten ([`decide_put`]: the same release again is a no-op, another
//! one under an existing id is refused), atomic writes, and listing. Must
//! not sign, verify or build records, nor talk to a cluster.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sparkplane_api::labels;

use crate::release_record::{RECORD_FILE, RECORD_SIGNATURE_FILE, ReleaseRecord, SBOM_FILE, SBOM_SIGNATURE_FILE};

/// A release's files, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredRelease {
    /// The release id (the directory or ConfigMap it lives in).
    pub id: String,
    /// `release.json`.
    pub record: String,
    /// `release.sig`: base64 of the DER signature and a newline; empty when unsigned.
    pub record_signature: String,
    /// `sbom.cdx.json`.
    pub sbom: String,
    /// `sbom.sig`; empty when unsigned.
    pub sbom_signature: String,
}

/// Why a store could not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A different release already has this id.
    #[error(
        "release {id} already exists with different content (released by {by} at {at}); records are never \
         overwritten: use the existing release, or change the spec to make a new one"
    )]
    Conflict {
        /// The id.
        id: String,
        /// Who made the existing one.
        by: String,
        /// When.
        at: String,
    },
    /// A stored record could not be read.
    #[error("{path}: not a release record: {message}")]
    Corrupt {
        /// Where.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The filesystem failed.
    #[error("{path}: {message}")]
    Io {
        /// Where.
        path: String,
        /// The error.
        message: String,
    },
    /// The place the store lives (the cluster's API server) failed or refused.
    #[error("{message}")]
    Backend {
        /// What failed, naming the server and the request.
        message: String,
        /// How to fix it.
        help: String,
        /// `Unreachable` when the cluster or network must be fixed, `Invalid` when the input must.
        category: sparkplane_category::Category,
    },
}

/// What a put did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PutOutcome {
    /// The release was stored.
    Created,
    /// The same release was already stored; nothing was written.
    Unchanged,
}

/// Whether `new` may be stored where `existing` is: nothing there → create;
/// the same release (all but who, when and the time-stamped SBOM's digest:
/// [`ReleaseRecord::same_release`]) → no-op; anything else → refused.
pub fn decide_put(existing: Option<&ReleaseRecord>, new: &ReleaseRecord) -> Result<PutOutcome, StoreError> {
    match existing {
        None => Ok(PutOutcome::Created),
        Some(old) if old.same_release(new) => Ok(PutOutcome::Unchanged),
        Some(old) => {
            Err(StoreError::Conflict { id: new.id.clone(), by: old.released_by.clone(), at: old.released_at.clone() })
        }
    }
}

/// A place releases are kept.
pub trait ReleaseStore {
    /// The release with this id, when stored.
    fn get(&self, id: &str) -> Result<Option<StoredRelease>, StoreError>;
    /// Stores a release unless one with its id exists ([`decide_put`]).
    fn put(&self, release: &StoredRelease, record: &ReleaseRecord) -> Result<PutOutcome, StoreError>;
    /// The records of every stored release of `job` (of `environment`, when
    /// given), oldest first (by release time, then id).
    fn list(&self, job: &str, environment: Option<&str>) -> Result<Vec<ReleaseRecord>, StoreError>;
}

/// Releases as files: one directory per release under `root`.
#[derive(Clone, Debug)]
pub struct DirStore {
    root: PathBuf,
}

fn io(path: &Path, err: &std::io::Error) -> StoreError {
    StoreError::Io { path: path.display().to_string(), message: err.to_string() }
}

impl DirStore {
    /// A store rooted at `root` (created on the first put).
    pub fn new(root: impl Into<PathBuf>) -> DirStore {
        DirStore { root: root.into() }
    }

    /// The directory of release `id`.
    pub fn dir_of(&self, id: &str) -> PathBuf {
        self.root.join(id)
    }

    /// Reads the release in `dir` (any directory laid out as a release).
    pub fn read_dir(dir: &Path) -> Result<StoredRelease, StoreError> {
        let read = |name: &str, required: bool| -> Result<String, StoreError> {
            let path = dir.join(name);
            match std::fs::read_to_string(&path) {
                Ok(text) => Ok(text),
                Err(err) if !required && err.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
                Err(err) => Err(io(&path, &err)),
            }
        };
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        Ok(StoredRelease {
            id,
            record: read(RECORD_FILE, true)?,
            record_signature: read(RECORD_SIGNATURE_FILE, false)?,
            sbom: read(SBOM_FILE, true)?,
            sbom_signature: read(SBOM_SIGNATURE_FILE, false)?,
        })
    }

    fn record_at(dir: &Path) -> Result<ReleaseRecord, StoreError> {
        let path = dir.join(RECORD_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, &e))?;
        ReleaseRecord::from_json(&text)
            .map_err(|message| StoreError::Corrupt { path: path.display().to_string(), message })
    }
}

impl ReleaseStore for DirStore {
    fn get(&self, id: &str) -> Result<Option<StoredRelease>, StoreError> {
        let dir = self.dir_of(id);
        if !dir.join(RECORD_FILE).is_file() {
            return Ok(None);
        }
        DirStore::read_dir(&dir).map(Some)
    }

    /// Writes the files into a temporary directory beside the target, then
    /// renames it into place: a reader sees all of a release or none, and a
    /// concurrent put of the same id loses the rename instead of overwriting.
    fn put(&self, release: &StoredRelease, record: &ReleaseRecord) -> Result<PutOutcome, StoreError> {
        let target = self.dir_of(&release.id);
        let existing = if target.join(RECORD_FILE).is_file() { Some(DirStore::record_at(&target)?) } else { None };
        if decide_put(existing.as_ref(), record)? == PutOutcome::Unchanged {
            return Ok(PutOutcome::Unchanged);
        }
        std::fs::create_dir_all(&self.root).map_err(|e| io(&self.root, &e))?;
        let tmp = self.root.join(format!(".{}.{}.tmp", release.id, std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        std::fs::create_dir(&tmp).map_err(|e| io(&tmp, &e))?;
        let files = [
            (RECORD_FILE, &release.record),
            (RECORD_SIGNATURE_FILE, &release.record_signature),
            (SBOM_FILE, &release.sbom),
            (SBOM_SIGNATURE_FILE, &release.sbom_signature),
        ];
        for (name, text) in files {
            if text.is_empty() {
                continue;
            }
            let path = tmp.join(name);
            if let Err(err) = std::fs::write(&path, text) {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(io(&path, &err));
            }
        }
        match std::fs::rename(&tmp, &target) {
            Ok(()) => Ok(PutOutcome::Created),
            Err(err) => {
                let _ = std::fs::remove_dir_all(&tmp);
                // Someone else stored this id meanwhile: judge against theirs.
                if target.join(RECORD_FILE).is_file() {
                    let theirs = DirStore::record_at(&target)?;
                    return decide_put(Some(&theirs), record);
                }
                Err(io(&target, &err))
            }
        }
    }

    fn list(&self, job: &str, environment: Option<&str>) -> Result<Vec<ReleaseRecord>, StoreError> {
        let entries = match std::fs::read_dir(&self.root) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io(&self.root, &err)),
        };
        let mut dirs: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
        dirs.sort();
        let mut out = Vec::new();
        for dir in dirs {
            let hidden = dir.file_name().is_some_and(|n| n.to_string_lossy().starts_with('.'));
            if hidden || !dir.join(RECORD_FILE).is_file() {
                continue;
            }
            let record = DirStore::record_at(&dir)?;
            if record.job == job && environment.is_none_or(|e| record.environment == e) {
                out.push(record);
            }
        }
        out.sort_by(|a, b| (&a.released_at, &a.id).cmp(&(&b.released_at, &b.id)));
        Ok(out)
    }
}

/// The ConfigMap that holds release `release` in `namespace`: named
/// `release-<id>`, labelled with the job and environment (so a label
/// selector lists one job's history), the four files as data keys.
/// Pure: the caller creates it (create, never update: records are immutable).
pub fn to_config_map(release: &StoredRelease, record: &ReleaseRecord, namespace: &str) -> ConfigMap {
    let labels = BTreeMap::from([
        sparkplane_api::labels::managed_by_sparkplane(),
        (labels::JOB.to_owned(), record.job.clone()),
        (labels::ENVIRONMENT.to_owned(), record.environment.clone()),
        (labels::RELEASE_RECORD.to_owned(), "true".to_owned()),
    ]);
    let mut data = BTreeMap::from([
        (RECORD_FILE.to_owned(), release.record.clone()),
        (SBOM_FILE.to_owned(), release.sbom.clone()),
    ]);
    for (key, value) in
        [(RECORD_SIGNATURE_FILE, &release.record_signature), (SBOM_SIGNATURE_FILE, &release.sbom_signature)]
    {
        if !value.is_empty() {
            data.insert(key.to_owned(), value.clone());
        }
    }
    immutable_config_map(config_map_name(&release.id), namespace, labels, data)
}

/// An immutable ConfigMap (the API server refuses every change to it), as
/// both cluster stores keep their records: releases and deployments.
pub fn immutable_config_map(
    name: String,
    namespace: &str,
    labels: BTreeMap<String, String>,
    data: BTreeMap<String, String>,
) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_owned()),
            labels: Some(labels),
            ..ObjectMeta::default()
        },
        data: Some(data),
        immutable: Some(true),
        ..ConfigMap::default()
    }
}

/// A release read back from its ConfigMap; None when it is not one.
pub fn from_config_map(config_map: &ConfigMap) -> Option<StoredRelease> {
    let id = config_map.metadata.name.as_deref()?.strip_prefix("release-")?.to_owned();
    let data = config_map.data.as_ref()?;
    let get = |key: &str| data.get(key).cloned().unwrap_or_default();
    Some(StoredRelease {
        id,
        record: data.get(RECORD_FILE)?.clone(),
        record_signature: get(RECORD_SIGNATURE_FILE),
        sbom: data.get(SBOM_FILE)?.clone(),
        sbom_signature: get(SBOM_SIGNATURE_FILE),
    })
}

/// The name of release `id`'s ConfigMap: `release-<id>`.
pub fn config_map_name(id: &str) -> String {
    format!("release-{id}")
}

/// The label selector that lists the release ConfigMaps of `job` (of
/// `environment`, when given).
pub fn release_selector(job: &str, environment: Option<&str>) -> String {
    let mut selector = format!("{}=true,{}={job}", labels::RELEASE_RECORD, labels::JOB);
    if let Some(env) = environment {
        selector.push_str(&format!(",{}={env}", labels::ENVIRONMENT));
    }
    selector
}

/// The environment a release id names, given its job: ids are
/// `<job>-<environment>-<12 hex digits>` (ADR 0031). None when `id` is not
/// an id of `job`.
pub fn environment_of<'a>(id: &'a str, job: &str) -> Option<&'a str> {
    let rest = id.strip_prefix(job)?.strip_prefix('-')?;
    let (env, hash) = rest.rsplit_once('-')?;
    let hex = hash.len() == 12 && hash.bytes().all(|b| b.is_ascii_hexdigit());
    (hex && !env.is_empty()).then_some(env)
}

/// Where the namespace of a cluster store comes from: the one rule every
/// delivery command follows (ADR 0031), in order — `--namespace`; else the
/// namespace the job file resolves to in the environment (the one given, or
/// the one a release id names); else the job file's `metadata.namespace`;
/// else the kubeconfig context's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreNamespace<'a> {
    /// `--namespace`.
    Flag(&'a str),
    /// The namespace the job file resolves to in this environment.
    JobIn(&'a str),
    /// The job file's `metadata.namespace`, else the context's.
    JobFile,
    /// The context's namespace.
    Context,
}

/// Which source [`StoreNamespace`]'s rule picks, given `--namespace`, whether
/// there is a job file and the environment.
pub fn store_namespace<'a>(flag: Option<&'a str>, job_file: bool, environment: Option<&'a str>) -> StoreNamespace<'a> {
    match (flag, job_file, environment) {
        (Some(namespace), _, _) => StoreNamespace::Flag(namespace),
        (None, true, Some(env)) => StoreNamespace::JobIn(env),
        (None, true, None) => StoreNamespace::JobFile,
        (None, false, _) => StoreNamespace::Context,
    }
}

/// The records of the release ConfigMaps a selector listed, for `job` (and
/// `environment`), oldest first (by release time, then id), as
/// [`ReleaseStore::list`] returns them. `namespace` only names a ConfigMap
/// that does not read.
pub fn records_of(
    config_maps: &[ConfigMap],
    namespace: &str,
    job: &str,
    environment: Option<&str>,
) -> Result<Vec<ReleaseRecord>, StoreError> {
    let mut out = Vec::new();
    for config_map in config_maps {
        let name = config_map.metadata.name.clone().unwrap_or_default();
        let path = format!("ConfigMap {namespace}/{name}");
        let stored = from_config_map(config_map).ok_or_else(|| StoreError::Corrupt {
            path: path.clone(),
            message: format!("labelled {}=true but holds no {RECORD_FILE} and {SBOM_FILE}", labels::RELEASE_RECORD),
        })?;
        let record =
            ReleaseRecord::from_json(&stored.record).map_err(|message| StoreError::Corrupt { path, message })?;
        if record.job == job && environment.is_none_or(|e| record.environment == e) {
            out.push(record);
        }
    }
    out.sort_by(|a, b| (&a.released_at, &a.id).cmp(&(&b.released_at, &b.id)));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_release_id_names_its_environment_given_the_job() {
        let table = [
            ("trips-etl-prod-44136fa355b3", "trips-etl", Some("prod")),
            ("trips-etl-eu-prod-44136fa355b3", "trips-etl", Some("eu-prod")),
            // The job's name decides where the environment starts.
            ("trips-etl-prod-44136fa355b3", "trips", Some("etl-prod")),
            ("trips-etl-prod-44136fa355", "trips-etl", None),
            ("trips-etl-prod-44136fa355bz", "trips-etl", None),
            ("trips-etl--44136fa355b3", "trips-etl", None),
            ("other-prod-44136fa355b3", "trips-etl", None),
        ];
        for (id, job, want) in table {
            assert_eq!(environment_of(id, job), want, "{id} of {job}");
        }
    }

    #[test]
    fn a_cluster_store_is_in_the_flag_s_namespace_else_the_job_s_else_the_context_s() {
        use StoreNamespace::*;
        let table = [
            ((Some("data"), true, Some("prod")), Flag("data")),
            ((Some("data"), false, None), Flag("data")),
            ((None, true, Some("prod")), JobIn("prod")),
            ((None, true, None), JobFile),
            // Without a job file there is nothing to resolve, whatever the environment.
            ((None, false, Some("prod")), Context),
            ((None, false, None), Context),
        ];
        for ((flag, file, env), want) in table {
            assert_eq!(store_namespace(flag, file, env), want, "{flag:?} {file} {env:?}");
        }
    }

    #[test]
    fn the_selector_names_the_release_label_the_job_and_the_environment() {
        assert_eq!(release_selector("etl", None), "sparkplane.dev/release=true,sparkplane.dev/job=etl");
        assert_eq!(
            release_selector("etl", Some("prod")),
            "sparkplane.dev/release=true,sparkplane.dev/job=etl,sparkplane.dev/environment=prod"
        );
    }

    #[test]
    fn a_labelled_config_map_that_is_no_release_is_corrupt_and_names_itself() {
        let config_map = ConfigMap {
            metadata: ObjectMeta { name: Some("release-etl-prod-0123456789ab".into()), ..ObjectMeta::default() },
            data: Some(BTreeMap::from([("release.json".to_owned(), "{".to_owned())])),
            ..ConfigMap::default()
        };
        let err = records_of(&[config_map], "data", "etl", None).map(|r| r.len()).map_err(|e| e.to_string());
        assert_eq!(
            err,
            Err("ConfigMap data/release-etl-prod-0123456789ab: not a release record: labelled \
                 sparkplane.dev/release=true but holds no release.json and sbom.cdx.json"
                .to_owned())
        );
    }
}
