//! A PostgreSQL-backed Hive metastore for local Spark: the one place that
//! says how a local Spark application reaches a metastore database.
//!
//! Owns: finding the PostgreSQL JDBC driver (Debian's
//! `libpostgresql-jdbc-java`), the Spark properties of an embedded metastore
//! client on PostgreSQL (catalog, JDBC URL with its timeouts, schema creation,
//! retries), and writing them as a spark-submit properties file only its owner
//! reads, so the password is on no command line. Spark itself redacts the
//! password in event logs and its UI (`spark.redaction.regex` matches
//! `password`). Must not: start servers or Spark, or print.
//!
//! Why these settings (measured on Spark 3.5 and 4.1, ADR 0044):
//! - DataNucleus creates the schema's tables and columns on first use, but no
//!   foreign keys: adding a foreign key lazily deadlocks on PostgreSQL against
//!   the client's own open transaction (an `ALTER TABLE … ADD CONSTRAINT`
//!   waiting on an `INSERT` of the same client, seen on the first table write).
//! - A stopped database must fail a new application in seconds, not minutes:
//!   the JDBC connect and login timeouts are [`CONNECT_TIMEOUT_SECONDS`], and
//!   the metastore handler and client try once (Hive's defaults retry ten
//!   times two seconds apart).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Where Debian's `libpostgresql-jdbc-java` puts the driver.
pub const DEBIAN_JDBC_JAR: &str = "/usr/share/java/postgresql.jar";

/// Seconds the JDBC driver waits to connect and to log in before it gives up.
pub const CONNECT_TIMEOUT_SECONDS: u32 = 5;

/// Seconds a metastore query may wait on a silent database.
pub const SOCKET_TIMEOUT_SECONDS: u32 = 60;

/// The driver class in that jar.
const DRIVER_CLASS: &str = "org.postgresql.Driver";

/// No PostgreSQL JDBC driver on this machine.
#[derive(Debug, thiserror::Error)]
#[error(
    "no PostgreSQL JDBC driver at {}: install it (Debian: apt-get install libpostgresql-jdbc-java; scripts/test.sh \
     does) or point SPARKPLANE_PG_JDBC_JAR at a postgresql jar",
    path.display()
)]
pub struct NoJdbcDriver {
    /// Where it was looked for.
    pub path: PathBuf,
}

/// The PostgreSQL JDBC driver: `SPARKPLANE_PG_JDBC_JAR`, else [`DEBIAN_JDBC_JAR`].
pub fn postgres_jdbc_jar() -> Result<PathBuf, NoJdbcDriver> {
    let path = std::env::var_os("SPARKPLANE_PG_JDBC_JAR")
        .filter(|v| !v.is_empty())
        .map_or_else(|| PathBuf::from(DEBIAN_JDBC_JAR), PathBuf::from);
    if path.is_file() { Ok(path) } else { Err(NoJdbcDriver { path }) }
}

/// A metastore database on PostgreSQL and the warehouse its managed tables live in.
#[derive(Clone)]
pub struct PostgresMetastore {
    /// Host of the database server.
    pub host: String,
    /// Its port.
    pub port: u16,
    /// The metastore database (letters, digits, `_` and `-`).
    pub database: String,
    /// Who connects.
    pub user: String,
    /// Their password (never printed: Debug shows it redacted).
    pub password: String,
    /// The PostgreSQL JDBC driver jar ([`postgres_jdbc_jar`]).
    pub driver_jar: PathBuf,
    /// `spark.sql.warehouse.dir`: where managed tables' files go.
    pub warehouse: PathBuf,
}

impl std::fmt::Debug for PostgresMetastore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresMetastore")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("database", &self.database)
            .field("user", &self.user)
            .field("password", &"<redacted>")
            .field("driver_jar", &self.driver_jar)
            .field("warehouse", &self.warehouse)
            .finish()
    }
}

impl PostgresMetastore {
    /// The JDBC URL, with the connect, login and socket timeouts.
    pub fn jdbc_url(&self) -> String {
        format!(
            "jdbc:postgresql://{}:{}/{}?connectTimeout={CONNECT_TIMEOUT_SECONDS}&loginTimeout={CONNECT_TIMEOUT_SECONDS}\
             &socketTimeout={SOCKET_TIMEOUT_SECONDS}",
            self.host, self.port, self.database
        )
    }

    /// The Spark properties of an application whose catalog is this metastore (the password among them).
    pub fn spark_properties(&self) -> BTreeMap<String, String> {
        let hadoop = |key: &str| format!("spark.hadoop.{key}");
        let mut properties = BTreeMap::new();
        let mut set = |key: String, value: String| {
            properties.insert(key, value);
        };
        set("spark.sql.catalogImplementation".into(), "hive".into());
        set("spark.sql.warehouse.dir".into(), self.warehouse.display().to_string());
        set("spark.driver.extraClassPath".into(), self.driver_jar.display().to_string());
        set(hadoop("javax.jdo.option.ConnectionURL"), self.jdbc_url());
        set(hadoop("javax.jdo.option.ConnectionDriverName"), DRIVER_CLASS.into());
        set(hadoop("javax.jdo.option.ConnectionUserName"), self.user.clone());
        set(hadoop("javax.jdo.option.ConnectionPassword"), self.password.clone());
        set(hadoop("datanucleus.schema.autoCreateTables"), "true".into());
        set(hadoop("datanucleus.schema.autoCreateColumns"), "true".into());
        set(hadoop("datanucleus.schema.autoCreateConstraints"), "false".into());
        set(hadoop("hive.metastore.schema.verification"), "false".into());
        set(hadoop("hive.hmshandler.retry.attempts"), "1".into());
        set(hadoop("hive.metastore.failure.retries"), "0".into());
        properties
    }

    /// Writes [`PostgresMetastore::spark_properties`] as a spark-submit
    /// `--properties-file` (Java properties, UTF-8), readable by its owner only.
    pub fn write_properties_file(&self, path: &Path) -> std::io::Result<()> {
        write_properties_file(path, &self.spark_properties())
    }
}

/// Writes `properties` as a spark-submit `--properties-file` (Java
/// properties, UTF-8) readable by its owner only: they may hold a password or
/// a secret key (the metastore's here, S3A's in `s3a`).
pub fn write_properties_file(path: &Path, properties: &BTreeMap<String, String>) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new().write(true).create(true).truncate(true).mode(0o600).open(path)?;
    file.write_all(sparkplane_documents::java_properties::to_text(properties).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metastore() -> PostgresMetastore {
        PostgresMetastore {
            host: "127.0.0.1".into(),
            port: 5433,
            database: "metastore".into(),
            user: "hive".into(),
            password: " p\\w=1\n".into(),
            driver_jar: PathBuf::from("/usr/share/java/postgresql.jar"),
            warehouse: PathBuf::from("/tmp/warehouse"),
        }
    }

    #[test]
    fn the_properties_make_a_postgres_backed_hive_catalog_that_fails_fast() {
        let properties = metastore().spark_properties();
        let get = |key: &str| properties.get(key).map(String::as_str);
        assert_eq!(get("spark.sql.catalogImplementation"), Some("hive"));
        assert_eq!(
            get("spark.hadoop.javax.jdo.option.ConnectionURL"),
            Some("jdbc:postgresql://127.0.0.1:5433/metastore?connectTimeout=5&loginTimeout=5&socketTimeout=60")
        );
        assert_eq!(get("spark.hadoop.javax.jdo.option.ConnectionDriverName"), Some("org.postgresql.Driver"));
        assert_eq!(get("spark.hadoop.javax.jdo.option.ConnectionUserName"), Some("hive"));
        assert_eq!(get("spark.driver.extraClassPath"), Some("/usr/share/java/postgresql.jar"));
        assert_eq!(get("spark.sql.warehouse.dir"), Some("/tmp/warehouse"));
        assert_eq!(get("spark.hadoop.datanucleus.schema.autoCreateConstraints"), Some("false"));
        assert_eq!(get("spark.hadoop.hive.hmshandler.retry.attempts"), Some("1"));
    }

    #[test]
    fn the_properties_file_escapes_what_java_would_misread() {
        let text = sparkplane_documents::java_properties::to_text(&metastore().spark_properties());
        assert!(text.contains("spark.hadoop.javax.jdo.option.ConnectionPassword=\\ p\\\\w=1\\n\n"), "{text}");
        assert!(text.lines().all(|line| line.contains('=')), "{text}");
    }

    #[test]
    fn debug_output_hides_the_password() {
        let shown = format!("{:?}", metastore());
        assert!(shown.contains("<redacted>") && !shown.contains("p\\\\w"), "{shown}");
    }

    #[test]
    fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("metastore.properties");
        metastore().write_properties_file(&path).expect("written");
        let mode = std::fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_missing_driver_says_how_to_install_it() {
        let error = NoJdbcDriver { path: PathBuf::from("/nowhere/postgresql.jar") };
        assert_eq!(
            error.to_string(),
            "no PostgreSQL JDBC driver at /nowhere/postgresql.jar: install it (Debian: apt-get install \
             libpostgresql-jdbc-java; scripts/test.sh does) or point SPARKPLANE_PG_JDBC_JAR at a postgresql jar"
        );
    }
}
