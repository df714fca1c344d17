//! Opening the target and the sources a Backup names, with the endpoint,
//! region and credentials it references. Credentials are read from the
//! variables the spec names and handed to the store; they are never printed.

use sparkplane_api::backup::{Backup, StoreCredentials};
use sparkplane_storage::{Location, Store};

use crate::BackupError;

/// Reads an environment variable the spec names; `at` is the spec field, for the message.
pub fn env_value(name: &str, at: &str) -> Result<String, BackupError> {
    std::env::var(name).map_err(|_| BackupError::Invalid {
        message: format!("the environment variable {name} ({at}) is not set"),
        help: format!("set {name}; in the cluster the CronJob fills it from the Secret the spec names"),
    })
}

fn options(
    endpoint: Option<&str>,
    region: Option<&str>,
    credentials: Option<&StoreCredentials>,
    at: &str,
) -> Result<Vec<(String, String)>, BackupError> {
    let mut out = Vec::new();
    if let Some(endpoint) = endpoint {
        out.push(("aws_endpoint".to_owned(), endpoint.to_owned()));
    }
    if let Some(region) = region {
        out.push(("aws_region".to_owned(), region.to_owned()));
    }
    if let Some(c) = credentials {
        let id = env_value(&c.access_key_id_env, &format!("{at}.credentials.accessKeyIdEnv"))?;
        let secret = env_value(&c.secret_access_key_env, &format!("{at}.credentials.secretAccessKeyEnv"))?;
        out.push(("aws_access_key_id".to_owned(), id));
        out.push(("aws_secret_access_key".to_owned(), secret));
    }
    Ok(out)
}

fn open(url: &str, options: &[(String, String)], at: &str) -> Result<Store, BackupError> {
    let location = Location::parse(url).map_err(|e| BackupError::Invalid {
        message: format!("{at}: {e}"),
        help: "fix the URL in the Backup file".into(),
    })?;
    let pairs: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let pairs: Vec<(&str, &str)> = if location.is_remote() { pairs } else { Vec::new() };
    Store::open_with(&location, &pairs).map_err(BackupError::storage)
}

/// The backup's target.
pub fn target(backup: &Backup) -> Result<Store, BackupError> {
    let t = &backup.spec.target;
    let options = options(t.endpoint.as_deref(), t.region.as_deref(), t.credentials.as_ref(), "spec.target")?;
    open(&t.url, &options, "spec.target.url")
}

/// One object source, reached as `spec.objects.source` says.
pub fn source(backup: &Backup, url: &str) -> Result<Store, BackupError> {
    let access = backup.spec.objects.source.clone().unwrap_or_default();
    let options = options(
        access.endpoint.as_deref(),
        access.region.as_deref(),
        access.credentials.as_ref(),
        "spec.objects.source",
    )?;
    open(url, &options, "spec.objects")
}

/// A drill's scratch bucket (or a prefix of one) on the backup target's store
/// (its endpoint, region and credentials), refused unless it holds nothing: a
/// drill restores into a fresh target, and must not mix or later delete
/// objects it did not write.
pub fn scratch_bucket(backup: &Backup, url: &str) -> Result<Store, BackupError> {
    let t = &backup.spec.target;
    let options = options(t.endpoint.as_deref(), t.region.as_deref(), t.credentials.as_ref(), "spec.target")?;
    let location = Location::parse(url).map_err(|e| BackupError::Invalid {
        message: format!("--restore-bucket: {e}"),
        help: "give an s3:// URL of an empty bucket or prefix on the backup's target store".into(),
    })?;
    if !location.is_remote() {
        return Err(BackupError::Invalid {
            message: format!("--restore-bucket {url} is not an object-store URL"),
            help: "give an s3:// URL of an empty bucket or prefix (a local folder is --restore-dir)".into(),
        });
    }
    let pairs: Vec<(&str, &str)> = options.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let store = Store::open_with(&location, &pairs).map_err(BackupError::storage)?;
    match store.list() {
        Err(sparkplane_storage::StorageError::NotFound { .. }) => Ok(store),
        Err(e) => Err(BackupError::storage(e)),
        Ok(entries) => Err(BackupError::Invalid {
            message: format!(
                "restore bucket {url} already holds {} object(s), e.g. {}",
                entries.len(),
                entries.first().map(|e| store.describe(&e.key)).unwrap_or_default()
            ),
            help: "a drill restores into a fresh target: give an empty bucket or prefix with --restore-bucket".into(),
        }),
    }
}

/// Deletes everything a drill restored into its scratch bucket; the number deleted.
pub fn empty_scratch_bucket(store: &Store) -> Result<usize, BackupError> {
    let entries = match store.list() {
        Err(sparkplane_storage::StorageError::NotFound { .. }) => return Ok(0),
        other => other.map_err(BackupError::storage)?,
    };
    for entry in &entries {
        store.delete(&entry.key).map_err(BackupError::storage)?;
    }
    Ok(entries.len())
}

/// The static keys a local Spark reaches the backup target with (S3A), read
/// from the variables `spec.target.credentials` names; none when it names none.
pub fn target_keys(backup: &Backup) -> Result<Option<(String, String)>, BackupError> {
    let Some(c) = &backup.spec.target.credentials else { return Ok(None) };
    let id = env_value(&c.access_key_id_env, "spec.target.credentials.accessKeyIdEnv")?;
    let secret = env_value(&c.secret_access_key_env, "spec.target.credentials.secretAccessKeyEnv")?;
    Ok(Some((id, secret)))
}
