//! The Backup document (`kind: Backup`): what a Spark platform must not lose —
//! the Hive Metastore's PostgreSQL database, the event-log store, sparkplane's
//! release records and the lake prefixes a team declares — and when, how long
//! and where to keep copies, with the recovery objectives a drill is held to.
//!
//! This module owns the shape of the document only. It must not judge values
//! (schedules, URLs, names) or plan or run a backup: that is
//! the `sparkplane-backup` crate (its `document` module checks the values).
//! No field holds a secret value: passwords and keys are named (a Secret's
//! key for the cluster, an environment variable for `backup run`).

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::layer::LayerMeta;
use crate::quantity::Duration;

/// A platform's backup (`kind: Backup`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Backup {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Backup`.
    pub kind: String,
    /// Name (used in object names, labels and the target's layout) and description.
    pub metadata: LayerMeta,
    /// What to keep, when, for how long and where.
    pub spec: BackupSpec,
}

/// What to keep, when, for how long and where.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupSpec {
    /// Namespace the backup CronJob runs in; default `sparkplane-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Image of the backup container: sparkplane with PostgreSQL's client tools
    /// (pg_dump, pg_restore, psql) of the metastore server's major version or newer.
    pub image: String,
    /// When the backup runs, as a Kubernetes CronJob schedule (five fields or @daily, …), in UTC.
    pub schedule: String,
    /// How many backups, and how old, are kept; older ones are removed after a successful backup.
    pub retention: Retention,
    /// Where copies go: object storage, another bucket or region than the sources.
    pub target: StoreRef,
    /// The Hive Metastore's PostgreSQL database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metastore: Option<Metastore>,
    /// Object-store prefixes (or local folders, for `backup run`) to copy.
    #[serde(default)]
    pub objects: BackupObjects,
    /// Recovery objectives a disaster-recovery drill is measured against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub objectives: Option<Objectives>,
    /// Where the backup reports last success, size and duration.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<BackupMetrics>,
}

/// How many backups, and how old, are kept. At least one of the two is given;
/// with both, a backup goes when either says so. The newest backup is always kept.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Retention {
    /// Keep at most this many backups.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1))]
    pub count: Option<u32>,
    /// Remove backups older than this (`30d`, `12h`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_age: Option<Duration>,
}

/// An object store location and how to reach it.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreRef {
    /// `s3://bucket/prefix` (also `s3a://`), `gs://bucket/prefix` or `az://container/prefix`.
    pub url: String,
    /// Endpoint of an S3-compatible server (`https://minio.storage:9000`); default: the cloud's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Region (S3); default: the environment's, else `us-east-1`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where the access key comes from; without it, the environment's (or the pod's workload identity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<StoreCredentials>,
}

/// S3 credentials by reference: the variables `backup run` reads them from,
/// and the Secret the CronJob fills those variables from.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StoreCredentials {
    /// A Secret in the backup's namespace with keys `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
    /// Variable holding the access key id.
    pub access_key_id_env: String,
    /// Variable holding the secret access key.
    pub secret_access_key_env: String,
}

/// The Hive Metastore's PostgreSQL database.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metastore {
    /// Host name or address of the PostgreSQL server.
    pub host: String,
    /// Port; default 5432.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u32>,
    /// Database name.
    pub database: String,
    /// User the dump connects as (needs read access to every table).
    pub user: String,
    /// The user's password, by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<PasswordRef>,
    /// Database `backup verify` restores into (created and dropped on the same
    /// server; the user needs CREATEDB); default `<database>_sparkplane_verify`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scratch_database: Option<String>,
}

/// A password by reference: never its value.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PasswordRef {
    /// Variable `backup run` and `verify` read the password from.
    pub env: String,
    /// The Secret key the CronJob fills that variable from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKeyRef>,
}

/// A key of a Kubernetes Secret in the backup's namespace.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKeyRef {
    /// The Secret's name.
    pub name: String,
    /// The key.
    pub key: String,
}

/// Object-store prefixes to copy. All are read with `source`'s endpoint and credentials.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupObjects {
    /// How the sources are reached (their URLs are below); its `url` is not used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceAccess>,
    /// The Spark event-log store (`spark.eventLog.dir`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_logs: Option<String>,
    /// sparkplane's release and approval records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub releases: Option<String>,
    /// Lake prefixes teams declare.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub lake: Vec<LakePrefix>,
}

/// How the source store is reached.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SourceAccess {
    /// Endpoint of an S3-compatible server; default: the cloud's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    /// Region (S3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Where the access key comes from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<StoreCredentials>,
}

/// One lake prefix a team declares.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LakePrefix {
    /// Name in the backup's layout and reports (DNS label characters).
    pub name: String,
    /// The prefix.
    pub url: String,
    /// The owning team.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub team: Option<String>,
}

/// Recovery objectives.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Objectives {
    /// Recovery time objective: from the start of a restore to a job green again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rto: Option<Duration>,
    /// Recovery point objective: the most data (by age) a restore may lose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpo: Option<Duration>,
}

/// Where the backup reports its metrics.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BackupMetrics {
    /// A Prometheus Pushgateway (`http://pushgateway.monitoring:9091`) each run pushes to.
    pub pushgateway: String,
}
