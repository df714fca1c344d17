//! Where data lives, parsed once from what the user typed. Pure: no I/O.

use std::fmt;
use std::path::{Path, PathBuf};

use crate::StorageError;

/// The object stores sparkplane speaks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scheme {
    /// Amazon S3 and S3-compatible servers (MinIO, SeaweedFS, Ceph…):
    /// `s3://`, and Hadoop's `s3a://` and `s3n://` spellings.
    S3,
    /// Google Cloud Storage: `gs://`.
    Gcs,
    /// Azure Blob Storage / ADLS Gen2: `az://`, `azure://`, `abfs://`, `abfss://`.
    Azure,
}

/// A local path or an object-store URL, naming one object or a prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A file or folder on this machine.
    Local(PathBuf),
    /// A bucket (container) and a key prefix in an object store.
    Remote {
        /// Which store.
        scheme: Scheme,
        /// The URL object_store is given (Hadoop spellings normalised, so
        /// `s3a://b/k` becomes `s3://b/k`).
        url: url::Url,
        /// Bucket or container name.
        bucket: String,
        /// Key prefix inside the bucket, without leading or trailing `/`.
        prefix: String,
    },
}

impl Location {
    /// Parses a location: an object-store URL, `file://` URL, or a path.
    ///
    /// ```
    /// use sparkplane_storage::{Location, Scheme};
    /// let logs = Location::parse("s3a://lake/spark-events/").unwrap();
    /// assert_eq!(logs.to_string(), "s3://lake/spark-events");
    /// assert!(matches!(logs, Location::Remote { scheme: Scheme::S3, .. }));
    /// assert!(matches!(Location::parse("./logs").unwrap(), Location::Local(_)));
    /// ```
    pub fn parse(input: &str) -> Result<Location, StorageError> {
        let trimmed = input.trim();
        let bad = |reason: &str| StorageError::BadLocation { input: input.to_owned(), reason: reason.to_owned() };
        if trimmed.is_empty() {
            return Err(bad("empty location; give a path or a URL such as s3://bucket/prefix"));
        }
        let Some((scheme_text, rest)) = trimmed.split_once("://") else {
            return Ok(Location::Local(PathBuf::from(trimmed)));
        };
        let scheme = match scheme_text.to_ascii_lowercase().as_str() {
            "file" => return Ok(Location::Local(PathBuf::from(rest))),
            "s3" | "s3a" | "s3n" => Scheme::S3,
            "gs" => Scheme::Gcs,
            "az" | "azure" | "abfs" | "abfss" | "adl" => Scheme::Azure,
            other => {
                return Err(bad(&format!(
                    "the `{other}://` scheme is not supported; use a local path, s3:// (also s3a://), gs://, az:// or abfss://"
                )));
            }
        };
        let (authority, key) = rest.split_once('/').unwrap_or((rest, ""));
        if authority.is_empty() {
            return Err(bad("no bucket: write it as scheme://bucket/prefix"));
        }
        // abfss://container@account.dfs.core.windows.net/path: the container is before the `@`.
        let bucket = authority.split_once('@').map_or(authority, |(container, _)| container).to_owned();
        let prefix = key.trim_matches('/').to_owned();
        if prefix.split('/').any(|part| part == "." || part == "..") {
            return Err(bad("`.` and `..` are not allowed in object keys"));
        }
        let normalised_scheme = match (scheme, scheme_text.to_ascii_lowercase().as_str()) {
            (Scheme::S3, _) => "s3".to_owned(),
            (_, other) => other.to_owned(),
        };
        let text = if prefix.is_empty() {
            format!("{normalised_scheme}://{authority}")
        } else {
            format!("{normalised_scheme}://{authority}/{prefix}")
        };
        let url = url::Url::parse(&text).map_err(|e| bad(&format!("not a valid URL: {e}")))?;
        Ok(Location::Remote { scheme, url, bucket, prefix })
    }

    /// True for object-store locations.
    pub fn is_remote(&self) -> bool {
        matches!(self, Location::Remote { .. })
    }

    /// The local path, if this is one.
    pub fn as_local(&self) -> Option<&Path> {
        match self {
            Location::Local(path) => Some(path),
            Location::Remote { .. } => None,
        }
    }

    /// The location `relative` below this one (`/`-separated).
    pub fn join(&self, relative: &str) -> Location {
        let relative = relative.trim_matches('/');
        if relative.is_empty() {
            return self.clone();
        }
        match self {
            Location::Local(path) => Location::Local(path.join(relative)),
            Location::Remote { scheme, url, bucket, prefix } => {
                let prefix = if prefix.is_empty() { relative.to_owned() } else { format!("{prefix}/{relative}") };
                let mut url = url.clone();
                url.set_path(&format!("/{prefix}"));
                Location::Remote { scheme: *scheme, url, bucket: bucket.clone(), prefix }
            }
        }
    }

    /// The last segment of the path or key (a file or object name).
    pub fn file_name(&self) -> Option<String> {
        match self {
            Location::Local(path) => path.file_name().map(|n| n.to_string_lossy().into_owned()),
            Location::Remote { prefix, .. } => prefix.rsplit('/').next().filter(|n| !n.is_empty()).map(str::to_owned),
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::Local(path) => write!(f, "{}", path.display()),
            Location::Remote { url, .. } => f.write_str(url.as_str()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hadoop_spellings_are_s3() {
        for input in ["s3://b/k", "s3a://b/k", "S3N://b/k/"] {
            let location = Location::parse(input).unwrap();
            assert_eq!(location.to_string(), "s3://b/k", "{input}");
            let Location::Remote { scheme, bucket, prefix, .. } = location else { panic!("{input}") };
            assert_eq!((scheme, bucket.as_str(), prefix.as_str()), (Scheme::S3, "b", "k"));
        }
    }

    #[test]
    fn abfss_names_the_container_before_the_at() {
        let location = Location::parse("abfss://logs@acct.dfs.core.windows.net/spark/events").unwrap();
        let Location::Remote { scheme, bucket, prefix, .. } = &location else { panic!() };
        assert_eq!((*scheme, bucket.as_str(), prefix.as_str()), (Scheme::Azure, "logs", "spark/events"));
        assert_eq!(location.file_name().as_deref(), Some("events"));
    }

    #[test]
    fn paths_and_file_urls_are_local() {
        assert_eq!(Location::parse("logs/x").unwrap(), Location::Local(PathBuf::from("logs/x")));
        assert_eq!(Location::parse("file:///tmp/x").unwrap(), Location::Local(PathBuf::from("/tmp/x")));
    }

    #[test]
    fn bad_locations_say_what_to_write() {
        let cases = [
            (
                "hdfs://nn/logs",
                "hdfs://nn/logs: the `hdfs://` scheme is not supported; use a local path, s3:// (also s3a://), gs://, az:// or abfss://",
            ),
            ("s3:///k", "s3:///k: no bucket: write it as scheme://bucket/prefix"),
            ("s3://b/a/../k", "s3://b/a/../k: `.` and `..` are not allowed in object keys"),
            ("  ", "  : empty location; give a path or a URL such as s3://bucket/prefix"),
        ];
        for (input, message) in cases {
            let error = Location::parse(input).unwrap_err();
            assert_eq!(error.to_string(), message);
            assert_eq!(error.category(), sparkplane_category::Category::Invalid);
        }
    }

    #[test]
    fn join_appends_below_the_prefix() {
        let root = Location::parse("s3://b").unwrap();
        let joined = root.join("quarantine/date=2026-11-20/");
        assert_eq!(joined.to_string(), "s3://b/quarantine/date=2026-11-20");
        assert_eq!(joined.file_name().as_deref(), Some("date=2026-11-20"));
        assert_eq!(Location::parse("/d").unwrap().join("x/y"), Location::Local(PathBuf::from("/d/x/y")));
    }
}
