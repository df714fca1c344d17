//! Hadoop's S3A connector for local Spark: the one place that says how a
//! local Spark application reads and writes `s3a://` paths on an
//! S3-compatible store (SeaweedFS, MinIO, AWS).
//!
//! Owns: finding the S3A jars (`scripts/common.sh` `need_s3a` puts them in
//! `~/.cache/sparkplane/s3a`; `SPARKPLANE_S3A_JARS` names another folder), and
//! the Spark properties of one endpoint: the jars, the endpoint with
//! path-style access, the credentials (static keys), and how hard a request
//! is retried. They are written as a spark-submit `--properties-file` only
//! its owner reads (`metastore::write_properties_file`), so the secret key is
//! on no command line; Spark redacts it in event logs (`spark.redaction.regex`
//! matches `secret`). Must not: start servers or Spark, or print.
//!
//! The jars (ADR 0046): the managed Spark 3.5 runtime's pyspark wheel carries
//! `hadoop-client-api`/`-runtime` 3.3.4 but no `hadoop-aws`; hadoop-aws 3.3.1
//! and the AWS SDK bundle 1.11.901 it was built against (both Apache-2.0, from
//! PyPI's `sagemaker_pyspark` 1.4.5 sdist) write and read through it, measured
//! against SeaweedFS. Spark 4.x's Hadoop (3.4) needs hadoop-aws 3.4 and the
//! AWS SDK v2, which are not available here: [`S3A_SPARK_LINE`] says so.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The Hadoop S3A filesystem jar.
pub const HADOOP_AWS_JAR: &str = "hadoop-aws-3.3.1.jar";
/// The AWS SDK (v1) bundle hadoop-aws 3.3.1 was built against.
pub const AWS_SDK_BUNDLE_JAR: &str = "aws-java-sdk-bundle-1.11.901.jar";
/// The Spark line whose Hadoop (3.3.4) these jars work with.
pub const S3A_SPARK_LINE: &str = "3.5";

/// The S3A jars were not found.
#[derive(Debug, thiserror::Error)]
#[error(
    "no S3A jars in {}: {} missing; install them (`source scripts/common.sh && need_s3a`; scripts/test.sh does) or \
     point SPARKPLANE_S3A_JARS at a folder holding {HADOOP_AWS_JAR} and {AWS_SDK_BUNDLE_JAR}",
    dir.display(),
    missing.join(" and ")
)]
pub struct NoS3aJars {
    /// Where they were looked for.
    pub dir: PathBuf,
    /// The file names not there.
    pub missing: Vec<&'static str>,
}

/// The two jars an application needs for `s3a://` paths.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3aJars {
    /// [`HADOOP_AWS_JAR`].
    pub hadoop_aws: PathBuf,
    /// [`AWS_SDK_BUNDLE_JAR`].
    pub sdk_bundle: PathBuf,
}

/// Where the jars are looked for: `SPARKPLANE_S3A_JARS`, else `$HOME/.cache/sparkplane/s3a`.
pub fn s3a_jars_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("SPARKPLANE_S3A_JARS").filter(|v| !v.is_empty()) {
        return PathBuf::from(dir);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".cache/sparkplane/s3a")
}

/// The jars in [`s3a_jars_dir`].
pub fn s3a_jars() -> Result<S3aJars, NoS3aJars> {
    s3a_jars_in(&s3a_jars_dir())
}

/// The jars in `dir`, both of them, or which are missing.
pub fn s3a_jars_in(dir: &Path) -> Result<S3aJars, NoS3aJars> {
    let missing: Vec<&'static str> =
        [HADOOP_AWS_JAR, AWS_SDK_BUNDLE_JAR].into_iter().filter(|name| !dir.join(name).is_file()).collect();
    if !missing.is_empty() {
        return Err(NoS3aJars { dir: dir.to_owned(), missing });
    }
    Ok(S3aJars { hadoop_aws: dir.join(HADOOP_AWS_JAR), sdk_bundle: dir.join(AWS_SDK_BUNDLE_JAR) })
}

/// How hard S3A tries a request before it fails the task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Retries {
    /// Hadoop's own defaults (up to 7 retries of connectivity errors, 20
    /// SDK attempts, 200 s socket timeout): for stores that throttle.
    HadoopDefaults,
    /// One attempt, one retry 200 ms later, 2 s to connect and 5 s of
    /// silence: a stopped store fails a task in seconds, not minutes.
    FailFast,
}

/// An S3-compatible endpoint a local application reads and writes through S3A.
#[derive(Clone)]
pub struct S3aEndpoint {
    /// `http://127.0.0.1:8333` or `https://s3.eu-west-1.amazonaws.com`.
    pub endpoint: String,
    /// The access key id.
    pub access_key: String,
    /// The secret key (never printed: Debug shows it redacted).
    pub secret_key: String,
    /// The jars ([`s3a_jars`]).
    pub jars: S3aJars,
    /// How hard a request is retried.
    pub retries: Retries,
}

impl std::fmt::Debug for S3aEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3aEndpoint")
            .field("endpoint", &self.endpoint)
            .field("access_key", &self.access_key)
            .field("secret_key", &"<redacted>")
            .field("jars", &self.jars)
            .field("retries", &self.retries)
            .finish()
    }
}

impl S3aEndpoint {
    /// The Spark properties of an application that reads and writes `s3a://` paths here (the secret among them).
    pub fn spark_properties(&self) -> BTreeMap<String, String> {
        let mut properties = BTreeMap::new();
        let mut set = |key: &str, value: String| {
            properties.insert(key.to_string(), value);
        };
        let jars = [&self.jars.hadoop_aws, &self.jars.sdk_bundle].map(|p| p.display().to_string());
        set("spark.jars", jars.join(","));
        let s3a = |key: &str| format!("spark.hadoop.fs.s3a.{key}");
        set(&s3a("endpoint"), self.endpoint.clone());
        set(&s3a("path.style.access"), "true".into());
        set(&s3a("connection.ssl.enabled"), self.endpoint.starts_with("https://").to_string());
        set(&s3a("aws.credentials.provider"), "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider".into());
        set(&s3a("access.key"), self.access_key.clone());
        set(&s3a("secret.key"), self.secret_key.clone());
        if self.retries == Retries::FailFast {
            set(&s3a("attempts.maximum"), "1".into());
            set(&s3a("retry.limit"), "1".into());
            set(&s3a("retry.interval"), "200ms".into());
            set(&s3a("retry.throttle.limit"), "1".into());
            set(&s3a("retry.throttle.interval"), "200ms".into());
            set(&s3a("connection.establish.timeout"), "2000".into());
            set(&s3a("connection.timeout"), "5000".into());
        }
        properties
    }

    /// Writes [`S3aEndpoint::spark_properties`] as a spark-submit
    /// `--properties-file` readable by its owner only.
    pub fn write_properties_file(&self, path: &Path) -> std::io::Result<()> {
        crate::metastore::write_properties_file(path, &self.spark_properties())
    }
}

/// The Spark properties that give a local Spark of `line` the S3A connector
/// with the endpoint and credentials of the environment the native engine
/// reads object storage with (`AWS_ENDPOINT_URL`, else AWS's own endpoint;
/// `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, else Hadoop's credential
/// chain); or why it cannot have them, as the end of "cannot read s3://…: …".
/// Only [`S3A_SPARK_LINE`] can, with the jars installed.
pub fn local_properties(line: &str) -> Result<BTreeMap<String, String>, String> {
    if crate::runtime::line_of(line).ok() != Some(S3A_SPARK_LINE) {
        return Err(format!(
            "it has no S3 connector (its Hadoop needs hadoop-aws 3.4 and the AWS SDK v2, which are not installed \
             here; the S3A jars scripts/common.sh `need_s3a` installs fit Spark {S3A_SPARK_LINE})"
        ));
    }
    let jars = s3a_jars().map_err(|e| format!("it has no S3 connector: {e}"))?;
    let var = |key: &str| std::env::var(key).ok().filter(|v| !v.is_empty());
    let (access_key, secret_key) = (var("AWS_ACCESS_KEY_ID"), var("AWS_SECRET_ACCESS_KEY"));
    let endpoint = S3aEndpoint {
        endpoint: var("AWS_ENDPOINT_URL").unwrap_or_else(|| "https://s3.amazonaws.com".to_owned()),
        access_key: access_key.clone().unwrap_or_default(),
        secret_key: secret_key.clone().unwrap_or_default(),
        jars,
        retries: Retries::HadoopDefaults,
    };
    let mut properties = endpoint.spark_properties();
    if access_key.is_none() || secret_key.is_none() {
        for key in ["aws.credentials.provider", "access.key", "secret.key"] {
            properties.remove(&format!("spark.hadoop.fs.s3a.{key}"));
        }
    }
    Ok(properties)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn endpoint(retries: Retries) -> S3aEndpoint {
        S3aEndpoint {
            endpoint: "http://127.0.0.1:8333".into(),
            access_key: "lake-writer".into(),
            secret_key: "s3cr3t-value".into(),
            jars: S3aJars { hadoop_aws: "/j/hadoop-aws.jar".into(), sdk_bundle: "/j/bundle.jar".into() },
            retries,
        }
    }

    #[test]
    fn the_properties_reach_a_path_style_endpoint_with_static_keys() {
        let properties = endpoint(Retries::HadoopDefaults).spark_properties();
        let get = |key: &str| properties.get(key).map(String::as_str);
        assert_eq!(get("spark.jars"), Some("/j/hadoop-aws.jar,/j/bundle.jar"));
        assert_eq!(get("spark.hadoop.fs.s3a.endpoint"), Some("http://127.0.0.1:8333"));
        assert_eq!(get("spark.hadoop.fs.s3a.path.style.access"), Some("true"));
        assert_eq!(get("spark.hadoop.fs.s3a.connection.ssl.enabled"), Some("false"));
        assert_eq!(
            get("spark.hadoop.fs.s3a.aws.credentials.provider"),
            Some("org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider")
        );
        assert_eq!(get("spark.hadoop.fs.s3a.secret.key"), Some("s3cr3t-value"));
        assert_eq!(get("spark.hadoop.fs.s3a.retry.limit"), None, "Hadoop's defaults are left alone");
    }

    #[test]
    fn fail_fast_bounds_every_retry_and_timeout() {
        let properties = endpoint(Retries::FailFast).spark_properties();
        let get = |key: &str| properties.get(&format!("spark.hadoop.fs.s3a.{key}")).map(String::as_str);
        assert_eq!(get("attempts.maximum"), Some("1"));
        assert_eq!(get("retry.limit"), Some("1"));
        assert_eq!(get("retry.interval"), Some("200ms"));
        assert_eq!(get("connection.establish.timeout"), Some("2000"));
        assert_eq!(get("connection.timeout"), Some("5000"));
        let https = S3aEndpoint { endpoint: "https://s3.amazonaws.com".into(), ..endpoint(Retries::FailFast) };
        assert_eq!(
            https.spark_properties().get("spark.hadoop.fs.s3a.connection.ssl.enabled").map(String::as_str),
            Some("true")
        );
    }

    #[test]
    fn only_spark_3_5_gets_a_connector_and_the_others_say_why() {
        let why = local_properties("4.1").expect_err("4.1 has none");
        assert!(why.starts_with("it has no S3 connector (its Hadoop needs hadoop-aws 3.4"), "{why}");
        assert!(why.contains("fit Spark 3.5"), "{why}");
    }

    #[test]
    fn debug_output_hides_the_secret_key() {
        let shown = format!("{:?}", endpoint(Retries::FailFast));
        assert!(shown.contains("<redacted>") && !shown.contains("s3cr3t-value"), "{shown}");
    }

    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("s3a.properties");
        endpoint(Retries::FailFast).write_properties_file(&path).expect("written");
        assert_eq!(std::fs::metadata(&path).expect("metadata").permissions().mode() & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).expect("read");
        assert!(text.contains("spark.hadoop.fs.s3a.endpoint=http://127.0.0.1:8333\n"), "{text}");
    }

    #[test]
    fn missing_jars_say_which_and_how_to_install_them() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join(HADOOP_AWS_JAR), b"jar").expect("write");
        let error = s3a_jars_in(dir.path()).expect_err("the bundle is missing");
        assert_eq!(
            error.to_string(),
            format!(
                "no S3A jars in {}: aws-java-sdk-bundle-1.11.901.jar missing; install them (`source scripts/common.sh \
                 && need_s3a`; scripts/test.sh does) or point SPARKPLANE_S3A_JARS at a folder holding \
                 hadoop-aws-3.3.1.jar and aws-java-sdk-bundle-1.11.901.jar",
                dir.path().display()
            )
        );
        std::fs::write(dir.path().join(AWS_SDK_BUNDLE_JAR), b"jar").expect("write");
        let jars = s3a_jars_in(dir.path()).expect("both there");
        assert_eq!(jars.sdk_bundle, dir.path().join(AWS_SDK_BUNDLE_JAR));
    }
}
