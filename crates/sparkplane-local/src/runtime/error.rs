//! What can go wrong with a runtime, and how it ends a command.
//!
//! Owns: [`RuntimeError`] (every message says what to do about it), its
//! `sparkplane_category::Category` and stable codes.
//! Must not: decide anything about runtimes; the other `runtime` modules
//! build these errors, the CLI maps them to exit codes.

use std::io;
use std::path::{Path, PathBuf};

use sparkplane_category::Category;

/// What went wrong with a runtime; every message says what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum RuntimeError {
    /// No directory to keep runtimes in could be derived from the environment.
    #[error(
        "cannot tell where to keep Spark runtimes: none of SPARKPLANE_HOME, XDG_DATA_HOME and HOME is set; \
         set SPARKPLANE_HOME to a writable directory"
    )]
    NoHome,
    /// The Spark version is not one of the supported lines (or not a version at all).
    #[error(
        "Spark `{requested}` is not supported: use a version of one of the supported lines ({supported}), e.g. 3.5.7"
    )]
    UnsupportedLine {
        /// What was asked for.
        requested: String,
        /// The supported lines, comma-separated.
        supported: String,
    },
    /// The job's line has no managed runtime and no usable SPARK_HOME was given.
    #[error(
        "Spark {line} is not installed: run `sparkplane runtime install {line}`, \
         or set SPARK_HOME to a Spark {line} distribution"
    )]
    NotInstalled {
        /// The Spark line.
        line: String,
    },
    /// The runtime directory exists but is not a complete install.
    #[error("the Spark {line} runtime in {} is broken ({problem}): run `sparkplane runtime install {line}` to repair it", dir.display())]
    Broken {
        /// The Spark line.
        line: String,
        /// The runtime's directory.
        dir: PathBuf,
        /// What is wrong with it.
        problem: String,
    },
    /// The Python interpreter could not be started.
    #[error(
        "{python} was not found: install Python {}.{}+ (Debian: apt-get install python3 python3-venv) \
         or set SPARKPLANE_PYTHON",
        needs.0, needs.1
    )]
    PythonNotFound {
        /// The interpreter tried (`python3` or SPARKPLANE_PYTHON).
        python: String,
        /// The oldest Python the line's pyspark accepts.
        needs: (u32, u32),
    },
    /// The Python interpreter is older than pyspark accepts.
    #[error(
        "{python} is Python {found}, but pyspark {pyspark} needs Python {}.{} or newer: \
         install a newer Python and set SPARKPLANE_PYTHON to it",
        needs.0, needs.1
    )]
    PythonTooOld {
        /// The interpreter tried.
        python: String,
        /// Its version, e.g. `3.7`.
        found: String,
        /// The pyspark release.
        pyspark: String,
        /// The oldest Python it accepts.
        needs: (u32, u32),
    },
    /// `python -m venv` failed, usually because the venv module is not installed.
    #[error(
        "{python} could not create a virtual environment: install the venv module \
         (Debian: apt-get install python3-venv) or set SPARKPLANE_PYTHON to a Python that has it; \
         details in {}", log.display()
    )]
    VenvFailed {
        /// The interpreter tried.
        python: String,
        /// The install log.
        log: PathBuf,
    },
    /// pip could not reach the package index.
    #[error(
        "pip could not reach the package index to download pyspark {version}: check the network and proxy \
         settings, or set PIP_INDEX_URL to a reachable mirror; pip's output is in {}", log.display()
    )]
    IndexUnreachable {
        /// The pyspark release.
        version: String,
        /// The install log.
        log: PathBuf,
    },
    /// pip (or the check after it) failed for another reason.
    #[error(
        "installing pyspark {version} failed: {reason}; see {}, then run `sparkplane runtime install {line}` again",
        log.display()
    )]
    InstallFailed {
        /// The Spark line.
        line: String,
        /// The pyspark release.
        version: String,
        /// The last error pip printed, or what the check found.
        reason: String,
        /// The install log.
        log: PathBuf,
    },
    /// A file or directory under SPARKPLANE_HOME could not be read, written or run.
    #[error(
        "cannot {action} {}: {source}; check that it is writable (or set SPARKPLANE_HOME to a directory that is)",
        path.display()
    )]
    Io {
        /// What was being done, e.g. `create`.
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
}

impl RuntimeError {
    /// Whether the user's request or the machine is at fault.
    pub fn category(&self) -> Category {
        match self {
            RuntimeError::NoHome | RuntimeError::UnsupportedLine { .. } => Category::Invalid,
            _ => Category::Unreachable,
        }
    }

    /// A stable machine-readable code, e.g. `python-not-found`.
    pub fn code(&self) -> &'static str {
        match self {
            RuntimeError::NoHome => "no-home",
            RuntimeError::UnsupportedLine { .. } => "unsupported-spark-line",
            RuntimeError::NotInstalled { .. } => "runtime-not-installed",
            RuntimeError::Broken { .. } => "runtime-broken",
            RuntimeError::PythonNotFound { .. } => "python-not-found",
            RuntimeError::PythonTooOld { .. } => "python-too-old",
            RuntimeError::VenvFailed { .. } => "venv-failed",
            RuntimeError::IndexUnreachable { .. } => "index-unreachable",
            RuntimeError::InstallFailed { .. } => "install-failed",
            RuntimeError::Io { .. } => "runtime-io",
        }
    }
}

pub(super) fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> RuntimeError + use<> {
    let path = path.to_owned();
    move |source| RuntimeError::Io { action, path, source }
}
