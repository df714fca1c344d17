//! The deployments log: which release of a job went to an environment, in
//! order — every promotion and every rollback, one record each.
//!
//! It lives in the release store, beside the releases it names:
//! `<store>/deployments/<job>/<environment>/<sequence>/deployment.json`, the
//! sequence six digits from `000001`. A record is written into a temporary
//! directory and renamed into place; a rename onto an existing sequence fails,
//! so two deployments at once never share a number or overwrite each other.
//!
//! In the cluster (`--store cluster`) each deployment is one immutable
//! ConfigMap, `deployment-<job>-<environment>-<sequence>`, labelled like a
//! release's, created under the next sequence (a taken one is 409, and the
//! next is tried): [`to_config_map`] and [`records_of`] are that encoding,
//! `cluster_store` the requests and their retries.
//!
//! Owns: the deployment record's shape, the log's layouts and its atomic
//! append, and the pure decisions over the log — whether a deployment is the
//! job's first in the environment or an upgrade, whether it changes nothing,
//! and which deployment a rollback goes back to; and the log as
//! `deployments` shows it ([`log_rows`], [`log_table`]). Must not verify,
//! judge gates, render or look at the clock.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use k8s_openapi::api::core::v1::ConfigMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sparkplane_api::SparkJob;
use sparkplane_api::labels;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;

/// The `kind` of a deployment record.
pub const KIND: &str = "Deployment";
/// The record's file name in a deployment's directory.
pub const RECORD_FILE: &str = "deployment.json";
/// The directory of the store that holds the log.
pub const DIR: &str = "deployments";

/// What put a release in an environment.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// `sparkplane promote`: every gate held.
    Promote,
    /// `sparkplane rollback`: an earlier deployment's release again.
    Rollback,
}

impl Action {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Promote => "promote",
            Action::Rollback => "rollback",
        }
    }
}

/// One deployment of one release of a job to one environment. Immutable once written.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DeploymentRecord {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Deployment`.
    pub kind: String,
    /// Its place in the environment's log, from 1.
    pub sequence: u64,
    /// The job's name.
    pub job: String,
    /// The environment deployed to.
    pub environment: String,
    /// The namespace the job runs in there.
    pub namespace: String,
    /// Promote or rollback.
    pub action: Action,
    /// The release deployed (its id in the store).
    pub release: String,
    /// The release's content hash.
    pub content_hash: String,
    /// The core's hash of the spec deployed (resolved for this environment).
    pub spec_hash: String,
    /// The image deployed (`repository@digest`).
    pub image: String,
    /// The source commit of the release.
    pub commit: String,
    /// The release's SBOM digest.
    pub sbom_digest: String,
    /// The key that signed the release, when checked.
    #[serde(default)]
    pub signed_by: Option<String>,
    /// For a promotion: the environment it came from.
    #[serde(default)]
    pub from: Option<String>,
    /// For a rollback: the sequence whose release it went back to.
    #[serde(default)]
    pub rollback_of: Option<u64>,
    /// Who deployed.
    pub deployed_by: String,
    /// When, RFC 3339 UTC.
    pub deployed_at: String,
    /// The SparkJob deployed, fully resolved for this environment: what a
    /// rollback renders again.
    pub spec: Value,
}

impl DeploymentRecord {
    /// The record as written: pretty JSON, one final newline.
    pub fn to_json(&self) -> String {
        format!("{}\n", serde_json::to_string_pretty(self).unwrap_or_default())
    }

    /// Reads a record; the error says what is wrong.
    pub fn from_json(text: &str) -> Result<DeploymentRecord, String> {
        let record: DeploymentRecord = serde_json::from_str(text).map_err(|e| e.to_string())?;
        if record.kind != KIND {
            return Err(format!("kind is `{}`, not `{KIND}`", record.kind));
        }
        Ok(record)
    }

    /// The deployed spec as a resolved job, for the one render step to
    /// render again exactly (a rollback): the spec as it was resolved then,
    /// without the layers' provenance, which rendering does not read.
    pub fn resolved_job(&self) -> Result<ResolvedJob, String> {
        let job: SparkJob = serde_json::from_value(self.spec.clone()).map_err(|e| e.to_string())?;
        let name = format!("deployment {} of {} in {}", self.sequence, self.job, self.environment);
        let span =
            Span { source: Source::new(name, String::new()), start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
        Ok(ResolvedJob {
            job,
            tree: Node::from_json(&self.spec, &span),
            provenance: std::collections::BTreeMap::new(),
            environment: Some(self.environment.clone()),
            preset: None,
            warnings: sparkplane_documents::Diagnostics::new(),
            attempt: 1,
            // Not recorded with the deployment: the door's policy names the default platform namespace.
            platform_namespace: None,
        })
    }
}

/// What a new deployment of a release is to the environment's log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    /// The job's first deployment there (CDEvents `service.deployed`).
    First,
    /// Another release replaces the current one (`service.upgraded`).
    Upgrade,
    /// The release is what the environment runs now: nothing to do.
    Current,
}

/// What deploying `release` to an environment whose log is `log` (oldest first) is.
pub fn change(log: &[DeploymentRecord], release: &str) -> Change {
    match log.last() {
        None => Change::First,
        Some(current) if current.release == release => Change::Current,
        Some(_) => Change::Upgrade,
    }
}

/// Why a rollback cannot happen.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RollbackError {
    /// The log is empty.
    #[error("nothing to roll back: {job} has no deployments in {environment}")]
    NoDeployments {
        /// The job.
        job: String,
        /// The environment.
        environment: String,
    },
    /// Every deployment in the log is of the current release.
    #[error(
        "nothing to roll back to: {job} has only ever run release {release} in {environment} ({count} deployment{})",
        if *count == 1 { "" } else { "s" }
    )]
    NoEarlier {
        /// The job.
        job: String,
        /// The environment.
        environment: String,
        /// The one release.
        release: String,
        /// How many deployments.
        count: usize,
    },
    /// The named release is the current one.
    #[error("nothing to roll back to: {environment} runs release {release} now")]
    AlreadyCurrent {
        /// The environment.
        environment: String,
        /// The release.
        release: String,
    },
    /// The named release was never deployed to the environment.
    #[error("release {release} was never deployed to {environment}")]
    NeverDeployed {
        /// The environment.
        environment: String,
        /// The release.
        release: String,
    },
}

/// The deployment a rollback goes back to: the latest one of `to` when
/// named, else the latest one whose release is not the current one (as Helm
/// goes back one revision: a second rollback returns to where the first
/// started). `job` and `environment` only name things in errors.
pub fn rollback_target<'a>(
    log: &'a [DeploymentRecord],
    to: Option<&str>,
    job: &str,
    environment: &str,
) -> Result<&'a DeploymentRecord, RollbackError> {
    let Some(current) = log.last() else {
        return Err(RollbackError::NoDeployments { job: job.to_owned(), environment: environment.to_owned() });
    };
    match to {
        Some(release) if release == current.release => {
            Err(RollbackError::AlreadyCurrent { environment: environment.to_owned(), release: release.to_owned() })
        }
        Some(release) => log.iter().rev().find(|d| d.release == release).ok_or_else(|| RollbackError::NeverDeployed {
            environment: environment.to_owned(),
            release: release.to_owned(),
        }),
        None => log.iter().rev().find(|d| d.release != current.release).ok_or_else(|| RollbackError::NoEarlier {
            job: job.to_owned(),
            environment: environment.to_owned(),
            release: current.release.clone(),
            count: log.len(),
        }),
    }
}

/// The log as `deployments -o json` gives it, the last deployment `current`.
pub fn log_rows(history: &[DeploymentRecord]) -> Vec<Value> {
    let last = history.last().map(|l| l.sequence);
    history
        .iter()
        .map(|d| {
            serde_json::json!({
                "sequence": d.sequence, "action": d.action.as_str(), "release": d.release, "deployedAt": d.deployed_at,
                "deployedBy": d.deployed_by, "from": d.from, "rollbackOf": d.rollback_of, "image": d.image,
                "commit": d.commit, "contentHash": d.content_hash, "sbomDigest": d.sbom_digest, "signedBy": d.signed_by,
                "current": Some(d.sequence) == last,
            })
        })
        .collect()
}

/// The log as `deployments` shows it, oldest first, the current one starred;
/// FROM is a promotion's source environment or the deployment a rollback
/// went back to.
pub fn log_table(history: &[DeploymentRecord]) -> String {
    let mut table =
        sparkplane_documents::table::Table::new(&["SEQ", "DEPLOYED", "BY", "ACTION", "RELEASE", "FROM", "COMMIT"]);
    for d in history {
        let current = Some(d.sequence) == history.last().map(|l| l.sequence);
        table.row(vec![
            format!("{}{}", d.sequence, if current { "*" } else { "" }),
            d.deployed_at.clone(),
            d.deployed_by.clone(),
            d.action.as_str().to_owned(),
            d.release.clone(),
            match (&d.from, d.rollback_of) {
                (Some(env), _) => env.clone(),
                (None, Some(seq)) => format!("#{seq}"),
                _ => "-".to_owned(),
            },
            d.commit.chars().take(12).collect(),
        ]);
    }
    table.render()
}

/// Why the log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum LogError {
    /// A record could not be read.
    #[error("{path}: not a deployment record: {message}")]
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
    /// The place the log lives (the cluster's API server) failed or refused.
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

/// A place one job's deployments to one environment are logged.
pub trait DeploymentStore {
    /// Every deployment, oldest first.
    fn list(&self) -> Result<Vec<DeploymentRecord>, LogError>;
    /// Appends `record` under the next sequence with `files` (name, text)
    /// beside it; returns the record as written.
    fn append(&self, record: DeploymentRecord, files: &[(String, String)]) -> Result<DeploymentRecord, LogError>;
    /// Where deployment `sequence`'s manifests are, for messages.
    fn manifests_of(&self, sequence: u64) -> String;
}

/// The name of deployment `sequence` of `job` in `environment`: `deployment-<job>-<environment>-<000001>`.
pub fn config_map_name(job: &str, environment: &str, sequence: u64) -> String {
    format!("deployment-{job}-{environment}-{sequence:06}")
}

/// The label selector that lists one job's deployments to one environment.
pub fn deployment_selector(job: &str, environment: &str) -> String {
    format!("{}=true,{}={job},{}={environment}", labels::DEPLOYMENT, labels::JOB, labels::ENVIRONMENT)
}

/// A file of a deployment as a ConfigMap data key (keys may not hold `/`): `manifests/a.yaml` → `manifests.a.yaml`.
pub fn data_key(file: &str) -> String {
    file.replace('/', ".")
}

/// The ConfigMap that holds `record` (its sequence set) and `files` in
/// `namespace`: immutable, labelled by job and environment. Pure: the
/// caller creates it, never updates it.
pub fn to_config_map(record: &DeploymentRecord, files: &[(String, String)], namespace: &str) -> ConfigMap {
    let labels = BTreeMap::from([
        sparkplane_api::labels::managed_by_sparkplane(),
        (labels::JOB.to_owned(), record.job.clone()),
        (labels::ENVIRONMENT.to_owned(), record.environment.clone()),
        (labels::DEPLOYMENT.to_owned(), "true".to_owned()),
    ]);
    let mut data: BTreeMap<String, String> = files.iter().map(|(name, text)| (data_key(name), text.clone())).collect();
    data.insert(RECORD_FILE.to_owned(), record.to_json());
    crate::store::immutable_config_map(
        config_map_name(&record.job, &record.environment, record.sequence),
        namespace,
        labels,
        data,
    )
}

/// The records of the deployment ConfigMaps a selector listed, oldest first.
pub fn records_of(config_maps: &[ConfigMap], namespace: &str) -> Result<Vec<DeploymentRecord>, LogError> {
    let mut out = Vec::new();
    for config_map in config_maps {
        let name = config_map.metadata.name.clone().unwrap_or_default();
        let path = format!("ConfigMap {namespace}/{name}");
        let text = config_map.data.as_ref().and_then(|d| d.get(RECORD_FILE)).ok_or_else(|| LogError::Corrupt {
            path: path.clone(),
            message: format!("labelled {}=true but holds no {RECORD_FILE}", labels::DEPLOYMENT),
        })?;
        out.push(DeploymentRecord::from_json(text).map_err(|message| LogError::Corrupt { path, message })?);
    }
    out.sort_by_key(|d| d.sequence);
    Ok(out)
}

fn io(path: &Path, err: &std::io::Error) -> LogError {
    LogError::Io { path: path.display().to_string(), message: err.to_string() }
}

/// One job's deployments to one environment, as directories under a release store.
#[derive(Clone, Debug)]
pub struct DeploymentLog {
    dir: PathBuf,
}

/// How many times an append tries the next sequence when another deployment took its number.
pub const APPEND_ATTEMPTS: u32 = 8;

impl DeploymentStore for DeploymentLog {
    fn list(&self) -> Result<Vec<DeploymentRecord>, LogError> {
        DeploymentLog::list(self)
    }

    fn append(&self, record: DeploymentRecord, files: &[(String, String)]) -> Result<DeploymentRecord, LogError> {
        DeploymentLog::append(self, record, files)
    }

    fn manifests_of(&self, sequence: u64) -> String {
        self.dir_of(sequence).join("manifests").display().to_string()
    }
}

impl DeploymentLog {
    /// The log of `job` in `environment` in the release store at `store`.
    pub fn new(store: &Path, job: &str, environment: &str) -> DeploymentLog {
        DeploymentLog { dir: store.join(DIR).join(job).join(environment) }
    }

    /// The log's directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The directory of deployment `sequence`.
    pub fn dir_of(&self, sequence: u64) -> PathBuf {
        self.dir.join(format!("{sequence:06}"))
    }

    /// Every deployment, oldest first. Temporary directories of appends
    /// under way are skipped; a record that does not read is an error.
    pub fn list(&self) -> Result<Vec<DeploymentRecord>, LogError> {
        let entries = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries,
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(err) => return Err(io(&self.dir, &err)),
        };
        let mut out = Vec::new();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !name.bytes().all(|b| b.is_ascii_digit()) {
                continue;
            }
            let path = entry.path().join(RECORD_FILE);
            let text = std::fs::read_to_string(&path).map_err(|e| io(&path, &e))?;
            let record = DeploymentRecord::from_json(&text)
                .map_err(|message| LogError::Corrupt { path: path.display().to_string(), message })?;
            out.push(record);
        }
        out.sort_by_key(|d| d.sequence);
        Ok(out)
    }

    /// Appends `record` (its `sequence` is set here: one past the last) with
    /// `files` (name, text) beside it, e.g. the rendered manifests under
    /// `manifests/`. All of it appears at once or not at all. Returns the record as written.
    pub fn append(
        &self,
        mut record: DeploymentRecord,
        files: &[(String, String)],
    ) -> Result<DeploymentRecord, LogError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| io(&self.dir, &e))?;
        let mut next = self.list()?.last().map_or(1, |d| d.sequence + 1);
        for _ in 0..APPEND_ATTEMPTS {
            record.sequence = next;
            let tmp = self.dir.join(format!(".{next:06}.{}.tmp", std::process::id()));
            let _ = std::fs::remove_dir_all(&tmp);
            if let Err(err) = write_all(&tmp, &record, files) {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(err);
            }
            let target = self.dir_of(next);
            // rename(2) refuses to put a directory over a non-empty one: the number is ours or someone else's.
            if target.exists() {
                let _ = std::fs::remove_dir_all(&tmp);
                next += 1;
                continue;
            }
            match std::fs::rename(&tmp, &target) {
                Ok(()) => return Ok(record),
                Err(_) if target.join(RECORD_FILE).is_file() => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    next += 1;
                }
                Err(err) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    return Err(io(&target, &err));
                }
            }
        }
        Err(LogError::Io {
            path: self.dir.display().to_string(),
            message: format!("{APPEND_ATTEMPTS} other deployments were appended meanwhile; try again"),
        })
    }
}

fn write_all(dir: &Path, record: &DeploymentRecord, files: &[(String, String)]) -> Result<(), LogError> {
    std::fs::create_dir_all(dir).map_err(|e| io(dir, &e))?;
    for (name, text) in files {
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io(parent, &e))?;
        }
        std::fs::write(&path, text).map_err(|e| io(&path, &e))?;
    }
    let path = dir.join(RECORD_FILE);
    std::fs::write(&path, record.to_json()).map_err(|e| io(&path, &e))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A promotion of `release` to prod, the `sequence`th of its log (also the cluster store's tests').
    pub(crate) fn deployment(sequence: u64, release: &str) -> DeploymentRecord {
        DeploymentRecord {
            api_version: "sparkplane.dev/v1alpha1".into(),
            kind: KIND.into(),
            sequence,
            job: "etl".into(),
            environment: "prod".into(),
            namespace: "data".into(),
            action: Action::Promote,
            release: release.into(),
            content_hash: "sha256:00".into(),
            spec_hash: "ab".into(),
            image: "r/etl@sha256:11".into(),
            commit: "c0ffee".into(),
            sbom_digest: "sha256:22".into(),
            signed_by: None,
            from: Some("staging".into()),
            rollback_of: None,
            deployed_by: "alice".into(),
            deployed_at: "2026-11-23T18:00:00Z".into(),
            spec: serde_json::json!({"kind": "SparkJob"}),
        }
    }

    #[test]
    fn the_log_stars_the_current_deployment_and_says_where_each_came_from() {
        let mut back = deployment(3, "a");
        (back.action, back.from, back.rollback_of) = (Action::Rollback, None, Some(1));
        let log = [deployment(1, "a"), deployment(2, "b"), back];
        let table = log_table(&log);
        let lines: Vec<&str> = table.lines().collect();
        assert_eq!(lines[0], "SEQ  DEPLOYED              BY     ACTION    RELEASE  FROM     COMMIT");
        assert_eq!(lines[1], "1    2026-11-23T18:00:00Z  alice  promote   a        staging  c0ffee");
        assert_eq!(lines[3], "3*   2026-11-23T18:00:00Z  alice  rollback  a        #1       c0ffee");
        let rows = log_rows(&log);
        assert_eq!(
            rows.iter().map(|r| r["current"].as_bool()).collect::<Vec<_>>(),
            [Some(false), Some(false), Some(true)]
        );
        assert_eq!((rows[2]["action"].as_str(), rows[2]["rollbackOf"].as_u64()), (Some("rollback"), Some(1)));
    }

    #[test]
    fn a_first_deployment_is_first_another_release_an_upgrade_and_the_current_one_nothing() {
        let log = [deployment(1, "a"), deployment(2, "b")];
        let table: [(&[DeploymentRecord], &str, Change); 4] = [
            (&[], "a", Change::First),
            (&log, "a", Change::Upgrade),
            (&log, "c", Change::Upgrade),
            (&log, "b", Change::Current),
        ];
        for (log, release, want) in table {
            assert_eq!(change(log, release), want, "{release} after {} deployments", log.len());
        }
    }

    #[test]
    fn a_rollback_goes_to_the_last_other_release_or_the_one_named() {
        let log = [deployment(1, "a"), deployment(2, "b"), deployment(3, "b"), deployment(4, "c")];
        let target = |to: Option<&str>| rollback_target(&log, to, "etl", "prod").map(|d| d.sequence);
        assert_eq!(target(None), Ok(3));
        assert_eq!(target(Some("a")), Ok(1));
        assert_eq!(target(Some("b")), Ok(3));
        assert_eq!(
            target(Some("c")).map_err(|e| e.to_string()),
            Err("nothing to roll back to: prod runs release c now".into())
        );
        assert_eq!(target(Some("z")).map_err(|e| e.to_string()), Err("release z was never deployed to prod".into()));
        let errors = [
            (rollback_target(&[], None, "etl", "prod"), "nothing to roll back: etl has no deployments in prod"),
            (
                rollback_target(&log[..1], None, "etl", "prod"),
                "nothing to roll back to: etl has only ever run release a in prod (1 deployment)",
            ),
            (
                rollback_target(&log[1..3], None, "etl", "prod"),
                "nothing to roll back to: etl has only ever run release b in prod (2 deployments)",
            ),
        ];
        for (got, want) in errors {
            assert_eq!(got.map(|d| d.sequence).map_err(|e| e.to_string()), Err(want.to_owned()));
        }
    }

    #[test]
    fn a_deployment_as_a_config_map_is_immutable_labelled_and_reads_back() {
        let files = vec![("manifests/etl-driver.pod.yaml".to_owned(), "kind: Pod\n".to_owned())];
        let cm = to_config_map(&deployment(7, "a"), &files, "data");
        assert_eq!(cm.metadata.name.as_deref(), Some("deployment-etl-prod-000007"));
        assert_eq!(cm.immutable, Some(true));
        let keys: Vec<&String> = cm.data.as_ref().map(|d| d.keys().collect()).unwrap_or_default();
        assert_eq!(keys, ["deployment.json", "manifests.etl-driver.pod.yaml"]);
        let labels = cm.metadata.labels.clone().unwrap_or_default();
        assert_eq!(labels.get(labels::DEPLOYMENT).map(String::as_str), Some("true"));
        let back = records_of(&[to_config_map(&deployment(9, "b"), &[], "data"), cm], "data").expect("reads");
        assert_eq!(back.iter().map(|d| d.sequence).collect::<Vec<_>>(), [7, 9]);
        assert_eq!(
            deployment_selector("etl", "prod"),
            "sparkplane.dev/deployment=true,sparkplane.dev/job=etl,sparkplane.dev/environment=prod"
        );
        let mut broken = to_config_map(&deployment(1, "a"), &[], "data");
        broken.data = Some(BTreeMap::new());
        assert_eq!(
            records_of(&[broken], "data").map(|r| r.len()).map_err(|e| e.to_string()),
            Err("ConfigMap data/deployment-etl-prod-000001: not a deployment record: labelled \
                 sparkplane.dev/deployment=true but holds no deployment.json"
                .to_owned())
        );
    }

    #[test]
    fn appends_number_in_order_keep_their_files_and_read_back() {
        let store = tempfile::tempdir().expect("tmp");
        let log = DeploymentLog::new(store.path(), "etl", "prod");
        assert_eq!(log.list().expect("empty").len(), 0);
        let files = vec![("manifests/pod.yaml".to_owned(), "kind: Pod\n".to_owned())];
        let first = log.append(deployment(0, "a"), &files).expect("first");
        let second = log.append(deployment(0, "b"), &[]).expect("second");
        assert_eq!((first.sequence, second.sequence), (1, 2));
        assert_eq!(std::fs::read_to_string(log.dir_of(1).join("manifests/pod.yaml")).expect("manifest"), "kind: Pod\n");
        // A number taken by someone else meanwhile is skipped, never overwritten.
        std::fs::create_dir_all(log.dir_of(3)).expect("taken");
        std::fs::write(log.dir_of(3).join(RECORD_FILE), deployment(3, "x").to_json()).expect("theirs");
        let fourth = log.append(deployment(0, "c"), &[]).expect("fourth");
        assert_eq!(fourth.sequence, 4);
        let releases: Vec<String> = log.list().expect("list").into_iter().map(|d| d.release).collect();
        assert_eq!(releases, ["a", "b", "x", "c"]);
        std::fs::write(log.dir_of(2).join(RECORD_FILE), "{").expect("corrupt");
        assert!(matches!(log.list(), Err(LogError::Corrupt { .. })));
    }
}
