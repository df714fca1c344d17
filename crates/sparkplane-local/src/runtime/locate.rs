//! Locating spark-submit: the Spark a job of a given version runs with — the
//! user's own SPARK_HOME when it holds one, else the managed runtime of the
//! job's line.
//!
//! Owns: [`locate`], [`Located`] and [`Source`].
//! Must not: install or repair a runtime (a missing one is an error that says
//! how to install it) or read SPARK_HOME itself: the caller passes it.

use std::fs;
use std::path::{Path, PathBuf};

use super::error::RuntimeError;
use super::home::runtime_dir;
use super::inventory::{inspect, spark_submit_in};
use super::line::line_of;

/// Where a job's Spark came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// The user's own SPARK_HOME, with the Spark version found in its jars when it could be read.
    User {
        /// e.g. `3.5.1`.
        version: Option<String>,
    },
    /// A managed runtime.
    Managed {
        /// The Spark line.
        line: String,
        /// The pyspark release installed.
        version: String,
    },
}

/// The Spark a job will run with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    /// Set SPARK_HOME to this when running spark-submit.
    pub spark_home: PathBuf,
    /// `<spark_home>/bin/spark-submit`.
    pub spark_submit: PathBuf,
    /// The managed runtime's Python, for PYSPARK_PYTHON (None for a user's SPARK_HOME).
    pub python: Option<PathBuf>,
    /// Where it came from.
    pub source: Source,
    /// Things the user should know, e.g. a SPARK_HOME that was ignored or holds another line.
    pub warnings: Vec<String>,
}

/// The Spark to run a job of `spark_version` with. A user's SPARK_HOME
/// (`user_spark_home`, read from the environment by the caller) wins when it
/// holds `bin/spark-submit`; else the managed runtime of the job's line; else
/// [`RuntimeError::NotInstalled`].
pub fn locate(home: &Path, spark_version: &str, user_spark_home: Option<&Path>) -> Result<Located, RuntimeError> {
    let line = line_of(spark_version)?;
    let mut warnings = Vec::new();
    if let Some(spark_home) = user_spark_home.filter(|p| !p.as_os_str().is_empty()) {
        let spark_submit = spark_submit_in(spark_home);
        if spark_submit.is_file() {
            let version = spark_version_in(spark_home);
            if let Some(found) = &version
                && line_of(found).ok() != Some(line)
            {
                warnings.push(format!(
                    "SPARK_HOME ({}) holds Spark {found}, but the job asks for Spark {spark_version}; \
                     unset SPARK_HOME to use the managed Spark {line} runtime",
                    spark_home.display()
                ));
            }
            return Ok(Located {
                spark_home: spark_home.to_owned(),
                spark_submit,
                python: None,
                source: Source::User { version },
                warnings,
            });
        }
        warnings.push(format!(
            "SPARK_HOME ({}) has no bin/spark-submit, so it is ignored; unset it or point it at a Spark distribution",
            spark_home.display()
        ));
    }
    let dir = runtime_dir(home, line);
    if !dir.is_dir() {
        return Err(RuntimeError::NotInstalled { line: line.to_owned() });
    }
    let runtime =
        inspect(&dir, line).map_err(|problem| RuntimeError::Broken { line: line.to_owned(), dir, problem })?;
    Ok(Located {
        spark_submit: runtime.spark_submit(),
        spark_home: runtime.spark_home,
        python: Some(runtime.python),
        source: Source::Managed { line: runtime.line, version: runtime.pyspark_version },
        warnings,
    })
}

/// The Spark version of a distribution, from its `jars/spark-core_<scala>-<version>.jar`.
fn spark_version_in(spark_home: &Path) -> Option<String> {
    let entries = fs::read_dir(spark_home.join("jars")).ok()?;
    entries.flatten().find_map(|entry| {
        let name = entry.file_name().into_string().ok()?;
        let rest = name.strip_prefix("spark-core_")?.strip_suffix(".jar")?;
        let (_scala, version) = rest.split_once('-')?;
        Some(version.to_owned())
    })
}
