//! Managed local Spark runtimes, one per Spark line, kept the way uv keeps Pythons.
//!
//! A runtime is a Python virtual environment holding the pinned `pyspark`
//! release of a line; pyspark ships a complete Spark (jars and `bin/spark-submit`),
//! so no separate Spark download is needed. Runtimes live in
//! `<SPARKPLANE_HOME>/runtimes/<line>/`:
//!
//! ```text
//! runtimes/3.5/venv/          python -m venv, then pip install pyspark==3.5.9
//! runtimes/3.5/install.log    everything python and pip printed
//! runtimes/3.5/runtime.json   written last: its presence means "complete"
//! ```
//!
//! This module owns where runtimes live, the pin table, installing, listing,
//! removing and locating `spark-submit` for a job's Spark version. It must not
//! run Spark, check Java (see [`crate::java`]), print (progress goes through a
//! callback) or read the environment outside [`default_home`] and
//! [`default_python`]: everything else takes its inputs as arguments, so tests
//! run against temporary directories.

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

/// The supported Spark lines and the pyspark release installed for each.
pub const PINNED: &[(&str, &str)] = &[("3.5", "3.5.9"), ("4.0", "4.0.5"), ("4.1", "4.1.4")];

/// The oldest Python each pinned pyspark release accepts (its `Requires-Python`).
const MIN_PYTHON: &[(&str, (u32, u32))] = &[("3.5", (3, 8)), ("4.0", (3, 9)), ("4.1", (3, 10))];

/// The marker file whose presence means a runtime is completely installed.
pub const MARKER_FILE: &str = "runtime.json";

/// The file holding what python and pip printed during the last install.
pub const INSTALL_LOG: &str = "install.log";

/// Lines pip prints when it cannot reach the package index.
const NETWORK_SYMPTOMS: &[&str] = &[
    "NewConnectionError",
    "Failed to establish a new connection",
    "Temporary failure in name resolution",
    "Name or service not known",
    "ConnectTimeoutError",
    "ReadTimeoutError",
    "Connection refused",
    "Network is unreachable",
    "No route to host",
    "ProxyError",
    "SSLError",
    "Could not fetch URL",
];

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

/// How an error should end a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Category {
    /// The user asked for something impossible, e.g. an unsupported line (exit 2).
    Usage,
    /// The machine lacks something or could not reach it: Python, venv, the package
    /// index, a runtime, a writable home (exit 3).
    Environment,
}

impl RuntimeError {
    /// Whether the user's request or the machine is at fault.
    pub fn category(&self) -> Category {
        match self {
            RuntimeError::NoHome | RuntimeError::UnsupportedLine { .. } => Category::Usage,
            _ => Category::Environment,
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

fn io_error(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> RuntimeError + use<> {
    let path = path.to_owned();
    move |source| RuntimeError::Io { action, path, source }
}

// ---------------------------------------------------------------------------
// Where runtimes live

/// The sparkplane home from the values of `SPARKPLANE_HOME`, `XDG_DATA_HOME`
/// and `HOME`: the first wins, else `$XDG_DATA_HOME/sparkplane`, else
/// `$HOME/.local/share/sparkplane`. Empty values count as unset, and a relative
/// `XDG_DATA_HOME` is ignored, as the XDG specification says.
pub fn resolve_home(
    sparkplane_home: Option<&OsStr>,
    xdg_data_home: Option<&OsStr>,
    home: Option<&OsStr>,
) -> Result<PathBuf, RuntimeError> {
    let set = |v: Option<&OsStr>| v.filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(path) = set(sparkplane_home) {
        return Ok(path);
    }
    if let Some(path) = set(xdg_data_home).filter(|p| p.is_absolute()) {
        return Ok(path.join("sparkplane"));
    }
    set(home).map(|h| h.join(".local").join("share").join("sparkplane")).ok_or(RuntimeError::NoHome)
}

/// The sparkplane home from this process's environment (see [`resolve_home`]),
/// made absolute against the current directory.
pub fn default_home() -> Result<PathBuf, RuntimeError> {
    let var = std::env::var_os;
    let home =
        resolve_home(var("SPARKPLANE_HOME").as_deref(), var("XDG_DATA_HOME").as_deref(), var("HOME").as_deref())?;
    std::path::absolute(&home).map_err(io_error("resolve", &home))
}

/// The Python used to create runtimes: `SPARKPLANE_PYTHON`, else `python3`.
pub fn default_python() -> OsString {
    std::env::var_os("SPARKPLANE_PYTHON").filter(|v| !v.is_empty()).unwrap_or_else(|| OsString::from("python3"))
}

/// `<home>/runtimes`.
pub fn runtimes_dir(home: &Path) -> PathBuf {
    home.join("runtimes")
}

/// `<home>/runtimes/<line>`.
pub fn runtime_dir(home: &Path, line: &str) -> PathBuf {
    runtimes_dir(home).join(line)
}

// ---------------------------------------------------------------------------
// Lines and pins

fn supported_lines() -> String {
    PINNED.iter().map(|(line, _)| *line).collect::<Vec<_>>().join(", ")
}

/// The supported line of a Spark version: `"3.5.7"`, `"3.5"` and `"3.5.0-rc1"`
/// give `"3.5"`. Anything else is an error listing the supported lines.
pub fn line_of(spark_version: &str) -> Result<&'static str, RuntimeError> {
    let unsupported =
        || RuntimeError::UnsupportedLine { requested: spark_version.to_owned(), supported: supported_lines() };
    let text = spark_version.trim();
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major_len = digits(text);
    let rest = text[major_len..].strip_prefix('.').ok_or_else(unsupported)?;
    let minor_len = digits(rest);
    let tail = &rest[minor_len..];
    // After major.minor: nothing, a patch number, or a pre-release suffix.
    let tail_ok = tail.is_empty()
        || tail.starts_with('-')
        || tail.strip_prefix('.').is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    if major_len == 0 || minor_len == 0 || !tail_ok {
        return Err(unsupported());
    }
    // Compare numerically, so "03.5" is the 3.5 line and "3.50" is not.
    let key = (text[..major_len].parse::<u64>().ok(), rest[..minor_len].parse::<u64>().ok());
    PINNED.iter().map(|(line, _)| *line).find(|line| version_key(line) == key).ok_or_else(unsupported)
}

/// Whether `text` looks like a line, `<digits>.<digits>`, and so is safe as a directory name.
fn is_line_shaped(text: &str) -> bool {
    text.split_once('.').is_some_and(|(major, minor)| {
        [major, minor].iter().all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    })
}

fn version_key(line: &str) -> (Option<u64>, Option<u64>) {
    let mut parts = line.split('.');
    (parts.next().and_then(|p| p.parse().ok()), parts.next().and_then(|p| p.parse().ok()))
}

/// The pyspark release pinned for a supported line (`"3.5"` → `"3.5.9"`).
pub fn pinned_version(line: &str) -> Option<&'static str> {
    PINNED.iter().find(|(l, _)| *l == line).map(|(_, version)| *version)
}

fn min_python(line: &str) -> (u32, u32) {
    MIN_PYTHON.iter().find(|(l, _)| *l == line).map_or((3, 10), |(_, v)| *v)
}

// ---------------------------------------------------------------------------
// Installed runtimes

/// A completely installed runtime: the contents of its `runtime.json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Runtime {
    /// The Spark line, e.g. `3.5`.
    pub line: String,
    /// The pyspark (and so Spark) release installed, e.g. `3.5.9`.
    pub pyspark_version: String,
    /// The virtual environment's Python (use it as PYSPARK_PYTHON).
    pub python: PathBuf,
    /// The Spark home: pyspark's package directory, holding `bin/` and `jars/`.
    pub spark_home: PathBuf,
    /// When the install finished, RFC 3339 in UTC.
    pub installed_at: String,
}

impl Runtime {
    /// `<spark_home>/bin/spark-submit`.
    pub fn spark_submit(&self) -> PathBuf {
        spark_submit_in(&self.spark_home)
    }
}

fn spark_submit_in(spark_home: &Path) -> PathBuf {
    spark_home.join("bin").join("spark-submit")
}

/// Reads and checks the runtime in `dir`; the error says what is wrong with it.
fn inspect(dir: &Path, line: &str) -> Result<Runtime, String> {
    let marker = dir.join(MARKER_FILE);
    let text = match fs::read_to_string(&marker) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            return Err(format!("incomplete install: no {MARKER_FILE}; the last install's output is in {INSTALL_LOG}"));
        }
        Err(e) => return Err(format!("cannot read {}: {e}", marker.display())),
    };
    let runtime: Runtime =
        serde_json::from_str(&text).map_err(|e| format!("{} is not a runtime marker: {e}", marker.display()))?;
    if runtime.line != line {
        return Err(format!("{} describes Spark {}, not {line}", marker.display(), runtime.line));
    }
    let spark_submit = runtime.spark_submit();
    if !spark_submit.is_file() {
        return Err(format!("{} is missing", spark_submit.display()));
    }
    if !runtime.python.is_file() {
        return Err(format!("{} is missing", runtime.python.display()));
    }
    Ok(runtime)
}

/// Whether a listed runtime can be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RuntimeStatus {
    /// Completely installed and usable.
    Ok,
    /// Incomplete or damaged; `sparkplane runtime install <line>` repairs it.
    Broken,
}

/// One runtime directory, as `list` shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RuntimeInfo {
    /// The Spark line (the directory's name).
    pub line: String,
    /// The pyspark release, when the marker says.
    pub version: Option<String>,
    /// The runtime's directory.
    pub path: PathBuf,
    /// Usable or broken.
    pub status: RuntimeStatus,
    /// What is wrong, when broken.
    pub problem: Option<String>,
    /// Bytes the directory takes on disk.
    pub size_bytes: u64,
}

fn info(dir: &Path, line: &str) -> RuntimeInfo {
    let size_bytes = size_on_disk(dir);
    match inspect(dir, line) {
        Ok(runtime) => RuntimeInfo {
            line: line.to_owned(),
            version: Some(runtime.pyspark_version),
            path: dir.to_owned(),
            status: RuntimeStatus::Ok,
            problem: None,
            size_bytes,
        },
        Err(problem) => RuntimeInfo {
            line: line.to_owned(),
            version: None,
            path: dir.to_owned(),
            status: RuntimeStatus::Broken,
            problem: Some(problem),
            size_bytes,
        },
    }
}

/// Every runtime directory under `<home>/runtimes`, complete or not, ordered by line.
/// No runtimes directory means no runtimes.
pub fn list(home: &Path) -> Result<Vec<RuntimeInfo>, RuntimeError> {
    let root = runtimes_dir(home);
    let entries = match fs::read_dir(&root) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_error("read", &root)(e)),
    };
    let mut runtimes = Vec::new();
    for entry in entries {
        let entry = entry.map_err(io_error("read", &root))?;
        let Ok(name) = entry.file_name().into_string() else { continue };
        // Hidden entries are lock files and directories being removed.
        if name.starts_with('.') || !entry.path().is_dir() {
            continue;
        }
        runtimes.push(info(&entry.path(), &name));
    }
    runtimes.sort_by(|a, b| version_key(&a.line).cmp(&version_key(&b.line)).then_with(|| a.line.cmp(&b.line)));
    Ok(runtimes)
}

/// Removes a line's runtime (complete or broken) and returns what it was, or
/// `None` when there was nothing to remove. `line` may also be a full version
/// (`3.5.7`) or a line sparkplane no longer supports whose directory remains.
pub fn remove(home: &Path, line: &str) -> Result<Option<RuntimeInfo>, RuntimeError> {
    let name = match line_of(line) {
        Ok(line) => line.to_owned(),
        // A directory left by an older sparkplane with other pins can still be removed.
        Err(_) if is_line_shaped(line) => line.to_owned(),
        Err(e) => return Err(e),
    };
    let dir = runtime_dir(home, &name);
    if !dir.is_dir() {
        return Ok(None);
    }
    let _lock = lock(home, &name, &mut |_| {})?;
    if !dir.is_dir() {
        return Ok(None);
    }
    let removed = info(&dir, &name);
    discard(&dir)?;
    Ok(Some(removed))
}

/// Deletes a runtime directory so that no reader ever sees it half-deleted:
/// it is first renamed to a hidden name, then removed. Leftovers of earlier
/// interrupted removals are swept on the way.
fn discard(dir: &Path) -> Result<(), RuntimeError> {
    let Some(root) = dir.parent() else { return Ok(()) };
    let name = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let doomed = root.join(format!(".{name}.removing.{}.{nanos}", std::process::id()));
    match fs::rename(dir, &doomed) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_error("move", dir)(e)),
    }
    fs::remove_dir_all(&doomed).map_err(io_error("remove", &doomed))?;
    if let Ok(entries) = fs::read_dir(root) {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().contains(".removing.") {
                let _ = fs::remove_dir_all(entry.path());
            }
        }
    }
    Ok(())
}

/// Bytes a directory tree takes on disk (allocated blocks, as `du` counts);
/// unreadable entries count as nothing.
fn size_on_disk(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else { return 0 };
    let own = allocated(&meta);
    if !meta.is_dir() {
        return own;
    }
    let children = fs::read_dir(path).map(|entries| entries.flatten().map(|e| size_on_disk(&e.path())).sum());
    own + children.unwrap_or(0)
}

#[cfg(unix)]
fn allocated(meta: &fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(meta: &fs::Metadata) -> u64 {
    meta.len()
}

/// Holds `<home>/runtimes/.<line>.lock` exclusively until dropped, so two
/// sparkplanes never install or remove the same line at once.
fn lock(home: &Path, line: &str, on_event: &mut dyn FnMut(InstallEvent)) -> Result<File, RuntimeError> {
    let root = runtimes_dir(home);
    fs::create_dir_all(&root).map_err(io_error("create", &root))?;
    let path = root.join(format!(".{line}.lock"));
    let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io_error("open", &path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            on_event(InstallEvent::WaitingForLock);
            file.lock().map_err(io_error("lock", &path))?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", &path)(e)),
    }
    Ok(file)
}

// ---------------------------------------------------------------------------
// Locating spark-submit

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

// ---------------------------------------------------------------------------
// Installing

/// Progress of an install, for a spinner or status lines.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InstallEvent {
    /// The line is already installed; nothing will be done.
    AlreadyInstalled,
    /// Another sparkplane is installing or removing this line; waiting for it.
    WaitingForLock,
    /// An incomplete or damaged runtime is deleted before installing again.
    Repairing {
        /// What was wrong with it.
        problem: String,
    },
    /// `python -m venv` is running.
    CreatingVenv,
    /// pip is fetching something (its line, e.g. `Downloading pyspark-3.5.9.tar.gz (317.2 MB)`).
    Downloading(String),
    /// pip is building or installing something (its line).
    Installing(String),
    /// The runtime is installed and marked complete.
    Done,
}

/// Installs the runtime of a Spark line (`"3.5"` or any `3.5.x`) with `python`
/// (see [`default_python`]), reporting progress to `on_event`. Installing an
/// installed line does nothing and returns it; an incomplete or damaged one is
/// deleted and installed again. The marker is written last, so a failed or
/// interrupted install is never taken for a complete one; after a failure the
/// virtual environment is deleted and only `install.log` remains.
pub fn install(
    home: &Path,
    spark_version: &str,
    python: &OsStr,
    on_event: &mut dyn FnMut(InstallEvent),
) -> Result<Runtime, RuntimeError> {
    let line = line_of(spark_version)?;
    let version = pinned_version(line).ok_or_else(|| RuntimeError::UnsupportedLine {
        requested: spark_version.to_owned(),
        supported: supported_lines(),
    })?;
    let _lock = lock(home, line, on_event)?;
    let dir = runtime_dir(home, line);
    if dir.exists() {
        match inspect(&dir, line) {
            Ok(runtime) => {
                on_event(InstallEvent::AlreadyInstalled);
                return Ok(runtime);
            }
            Err(problem) => {
                on_event(InstallEvent::Repairing { problem });
                discard(&dir)?;
            }
        }
    }
    fs::create_dir_all(&dir).map_err(io_error("create", &dir))?;
    let log_path = dir.join(INSTALL_LOG);
    let mut log = File::create(&log_path).map_err(io_error("create", &log_path))?;
    let job = Install { line, version, python, dir: &dir, log_path: &log_path };
    match job.run(&mut log, on_event) {
        Ok(runtime) => {
            on_event(InstallEvent::Done);
            Ok(runtime)
        }
        Err(e) => {
            let _ = writeln!(log, "sparkplane: install failed: {e}");
            // Keep the log for diagnosis, free the space the partial environment takes.
            let _ = fs::remove_dir_all(dir.join("venv"));
            Err(e)
        }
    }
}

/// One install in progress.
struct Install<'a> {
    line: &'static str,
    version: &'static str,
    python: &'a OsStr,
    dir: &'a Path,
    log_path: &'a Path,
}

impl Install<'_> {
    fn python_name(&self) -> String {
        self.python.to_string_lossy().into_owned()
    }

    fn run(&self, log: &mut File, on_event: &mut dyn FnMut(InstallEvent)) -> Result<Runtime, RuntimeError> {
        self.check_python(log)?;

        on_event(InstallEvent::CreatingVenv);
        let venv = self.dir.join("venv");
        let mut command = Command::new(self.python);
        command.arg("-m").arg("venv").arg(&venv);
        let outcome = run_logged(&mut command, log, &mut |_| {}).map_err(|e| self.spawn_error(e))?;
        if !outcome.status.success() {
            return Err(RuntimeError::VenvFailed { python: self.python_name(), log: self.log_path.to_owned() });
        }

        let venv_python = venv.join("bin").join("python");
        let requirement = format!("pyspark=={}", self.version);
        on_event(InstallEvent::Downloading(format!("pip install {requirement}")));
        let mut command = Command::new(&venv_python);
        command
            .args(["-m", "pip", "install", "--disable-pip-version-check", "--no-input", "--progress-bar", "off"])
            .arg(&requirement)
            .env("PYTHONUNBUFFERED", "1");
        let outcome = run_logged(&mut command, log, &mut |line| {
            if let Some(event) = pip_event(line) {
                on_event(event);
            }
        })
        .map_err(io_error("run", &venv_python))?;
        if !outcome.status.success() {
            return Err(self.pip_error(&outcome.lines));
        }

        on_event(InstallEvent::Installing("checking the installed Spark".to_owned()));
        let spark_home = self.find_spark_home(&venv_python, log)?;
        let spark_submit = spark_submit_in(&spark_home);
        if !spark_submit.is_file() {
            return Err(self.failed(format!("{} is missing after pip finished", spark_submit.display())));
        }

        let runtime = Runtime {
            line: self.line.to_owned(),
            pyspark_version: self.version.to_owned(),
            python: venv_python,
            spark_home,
            installed_at: rfc3339(SystemTime::now()),
        };
        self.write_marker(&runtime)?;
        Ok(runtime)
    }

    /// Fails early, with a clear message, when the interpreter is missing or too old for pyspark.
    fn check_python(&self, log: &mut File) -> Result<(), RuntimeError> {
        let mut command = Command::new(self.python);
        command.args(["-c", "import sys; print('%d.%d' % sys.version_info[:2])"]);
        let outcome = run_logged(&mut command, log, &mut |_| {}).map_err(|e| self.spawn_error(e))?;
        let needs = min_python(self.line);
        let found = outcome.lines.iter().rev().find_map(|l| parse_major_minor(l));
        match found {
            Some(found) if found >= needs => Ok(()),
            Some((major, minor)) => Err(RuntimeError::PythonTooOld {
                python: self.python_name(),
                found: format!("{major}.{minor}"),
                pyspark: self.version.to_owned(),
                needs,
            }),
            None => Err(RuntimeError::PythonNotFound { python: self.python_name(), needs }),
        }
    }

    fn spawn_error(&self, e: io::Error) -> RuntimeError {
        if e.kind() == io::ErrorKind::NotFound {
            RuntimeError::PythonNotFound { python: self.python_name(), needs: min_python(self.line) }
        } else {
            RuntimeError::Io { action: "run", path: PathBuf::from(self.python), source: e }
        }
    }

    fn failed(&self, reason: String) -> RuntimeError {
        RuntimeError::InstallFailed {
            line: self.line.to_owned(),
            version: self.version.to_owned(),
            reason,
            log: self.log_path.to_owned(),
        }
    }

    fn pip_error(&self, lines: &[String]) -> RuntimeError {
        if lines.iter().any(|l| NETWORK_SYMPTOMS.iter().any(|s| l.contains(s))) {
            return RuntimeError::IndexUnreachable { version: self.version.to_owned(), log: self.log_path.to_owned() };
        }
        let reason = lines
            .iter()
            .rev()
            .find(|l| l.starts_with("ERROR:"))
            .or_else(|| lines.iter().rev().find(|l| !l.trim().is_empty()))
            .map_or_else(|| "pip failed without saying why".to_owned(), |l| l.trim().to_owned());
        self.failed(reason)
    }

    /// Asks the environment's Python where pyspark is: that directory is the Spark home.
    fn find_spark_home(&self, venv_python: &Path, log: &mut File) -> Result<PathBuf, RuntimeError> {
        let mut command = Command::new(venv_python);
        command.args(["-c", "import os, pyspark; print(os.path.dirname(os.path.abspath(pyspark.__file__)))"]);
        let outcome = run_logged(&mut command, log, &mut |_| {}).map_err(io_error("run", venv_python))?;
        let found = outcome.lines.iter().rev().map(|l| l.trim()).find(|l| l.starts_with('/'));
        match found {
            Some(path) if outcome.status.success() => Ok(PathBuf::from(path)),
            _ => Err(self.failed("pyspark cannot be imported from the new environment".to_owned())),
        }
    }

    /// Writes `runtime.json` atomically (a temporary file renamed over it).
    fn write_marker(&self, runtime: &Runtime) -> Result<(), RuntimeError> {
        let path = self.dir.join(MARKER_FILE);
        let temporary = self.dir.join(format!("{MARKER_FILE}.partial"));
        let mut text = serde_json::to_string_pretty(runtime).map_err(|e| RuntimeError::Io {
            action: "write",
            path: path.clone(),
            source: io::Error::other(e),
        })?;
        text.push('\n');
        let write = || -> io::Result<()> {
            let mut file = File::create(&temporary)?;
            file.write_all(text.as_bytes())?;
            file.sync_all()?;
            fs::rename(&temporary, &path)
        };
        write().map_err(io_error("write", &path))
    }
}

/// `3.11` → (3, 11).
fn parse_major_minor(text: &str) -> Option<(u32, u32)> {
    let (major, minor) = text.trim().split_once('.')?;
    Some((major.parse().ok()?, minor.parse().ok()?))
}

/// Turns a line of pip's output into a progress event, when it marks a step.
fn pip_event(line: &str) -> Option<InstallEvent> {
    let text = line.trim();
    const FETCHING: &[&str] = &["Collecting", "Downloading", "Using cached"];
    const INSTALLING: &[&str] =
        &["Preparing metadata", "Building wheel", "Created wheel", "Installing collected", "Successfully installed"];
    if FETCHING.iter().any(|p| text.starts_with(p)) {
        Some(InstallEvent::Downloading(text.to_owned()))
    } else if INSTALLING.iter().any(|p| text.starts_with(p)) {
        Some(InstallEvent::Installing(text.to_owned()))
    } else {
        None
    }
}

/// What a finished command printed and how it ended.
struct Outcome {
    status: ExitStatus,
    /// The last lines of stdout and stderr together, in arrival order.
    lines: Vec<String>,
}

/// How many output lines a command's outcome keeps (the log keeps all).
const KEPT_LINES: usize = 400;

/// Runs a command with stdin closed, appending its stdout and stderr line by
/// line to `log` as they arrive and showing each line to `on_line`.
fn run_logged(command: &mut Command, log: &mut File, on_line: &mut dyn FnMut(&str)) -> io::Result<Outcome> {
    let _ = writeln!(log, "$ {}", describe(command));
    let mut child = command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn()?;
    let (sender, receiver) = mpsc::channel::<String>();
    let mut readers = Vec::new();
    if let Some(stdout) = child.stdout.take() {
        readers.push(forward_lines(stdout, sender.clone()));
    }
    if let Some(stderr) = child.stderr.take() {
        readers.push(forward_lines(stderr, sender.clone()));
    }
    drop(sender);
    let mut lines = Vec::new();
    for line in receiver {
        let _ = writeln!(log, "{line}");
        on_line(&line);
        if lines.len() == KEPT_LINES {
            lines.remove(0);
        }
        lines.push(line);
    }
    for reader in readers {
        let _ = reader.join();
    }
    let status = child.wait()?;
    let _ = writeln!(log, "# {status}");
    let _ = log.flush();
    Ok(Outcome { status, lines })
}

fn forward_lines(stream: impl Read + Send + 'static, sender: mpsc::Sender<String>) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(stream);
        let mut buffer = Vec::new();
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    let text = String::from_utf8_lossy(&buffer);
                    // Progress redraws use carriage returns; keep the last state of each line.
                    let text = text.trim_end_matches(['\n', '\r']).rsplit('\r').next().unwrap_or_default();
                    if sender.send(text.to_owned()).is_err() {
                        break;
                    }
                }
            }
        }
    })
}

fn describe(command: &Command) -> String {
    let mut text = command.get_program().to_string_lossy().into_owned();
    for arg in command.get_args() {
        text.push(' ');
        text.push_str(&arg.to_string_lossy());
    }
    text
}

/// A time as RFC 3339 in UTC, to the second: `2025-06-01T12:30:05Z` (the run
/// history's format, so one function writes both).
fn rfc3339(time: SystemTime) -> String {
    let ms = time.duration_since(UNIX_EPOCH).map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
    crate::history::rfc3339(ms)
}

/// Helpers shared by this crate's tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Writes an executable shell script `dir/name`. A child shell writes it,
    /// so this process never holds the file open for writing: a process forked
    /// meanwhile by a concurrent test would inherit that descriptor and make
    /// executing the script fail with "text file busy".
    pub(crate) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        let status = Command::new("/bin/sh")
            .args(["-c", r#"printf '#!/bin/sh\n%s\n' "$1" > "$2" && chmod 755 "$2""#, "sh", body])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "cannot write {}", path.display());
        path
    }
}

#[cfg(test)]
mod tests {
    use super::testing::script;
    use super::*;

    /// A managed runtime as `install` would leave it, without installing anything.
    fn fake_runtime(home: &Path, line: &str, version: &str) -> Runtime {
        let dir = runtime_dir(home, line);
        let python = dir.join("venv/bin/python");
        let spark_home = dir.join("venv/lib/python3.11/site-packages/pyspark");
        fs::create_dir_all(python.parent().unwrap()).unwrap();
        fs::write(&python, "").unwrap();
        fs::create_dir_all(spark_home.join("bin")).unwrap();
        fs::write(spark_home.join("bin/spark-submit"), "#!/bin/sh\n").unwrap();
        let runtime = Runtime {
            line: line.to_owned(),
            pyspark_version: version.to_owned(),
            python,
            spark_home,
            installed_at: "2025-06-01T12:00:00Z".to_owned(),
        };
        fs::write(dir.join(MARKER_FILE), serde_json::to_string(&runtime).unwrap()).unwrap();
        runtime
    }

    /// A user's Spark distribution with spark-submit and, optionally, a spark-core jar.
    fn fake_spark_home(dir: &Path, version: Option<&str>) -> PathBuf {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("bin/spark-submit"), "#!/bin/sh\n").unwrap();
        if let Some(version) = version {
            fs::create_dir_all(dir.join("jars")).unwrap();
            fs::write(dir.join(format!("jars/spark-core_2.13-{version}.jar")), "").unwrap();
        }
        dir.to_owned()
    }

    #[test]
    fn every_pinned_line_has_a_version_and_a_python_floor() {
        let lines: Vec<&str> = PINNED.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, ["3.5", "4.0", "4.1"]);
        assert_eq!(pinned_version("3.5"), Some("3.5.9"));
        assert_eq!(pinned_version("4.0"), Some("4.0.5"));
        assert_eq!(pinned_version("4.1"), Some("4.1.4"));
        assert_eq!(pinned_version("3.4"), None);
        for (line, version) in PINNED {
            assert!(version.starts_with(&format!("{line}.")), "{line} pins {version}");
            assert!(MIN_PYTHON.iter().any(|(l, _)| l == line), "no Python floor for {line}");
        }
    }

    #[test]
    fn spark_versions_map_to_their_line() {
        let cases = [
            ("3.5.7", "3.5"),
            ("3.5", "3.5"),
            ("3.5.0", "3.5"),
            (" 3.5.9 ", "3.5"),
            ("3.5.0-rc1", "3.5"),
            ("4.0.1", "4.0"),
            ("4.0", "4.0"),
            ("4.1.0", "4.1"),
            ("04.1", "4.1"),
        ];
        for (version, line) in cases {
            assert_eq!(line_of(version).unwrap_or_else(|e| panic!("{version}: {e}")), line, "{version}");
        }
    }

    #[test]
    fn unsupported_versions_are_refused_with_the_supported_lines() {
        for version in ["3.4.1", "2.4.8", "5.0.0", "3.50", "3", "", "abc", "3.5.x", "3-5", ".5", "3.", "v3.5"] {
            let error = line_of(version).expect_err(version);
            assert!(matches!(error, RuntimeError::UnsupportedLine { .. }), "{version}: {error:?}");
            assert!(error.to_string().contains("3.5, 4.0, 4.1"), "{error}");
            assert_eq!(error.category(), Category::Usage);
        }
    }

    #[test]
    fn home_comes_from_sparkplane_home_then_xdg_then_home() {
        let os = |s: &'static str| Some(OsStr::new(s));
        assert_eq!(resolve_home(os("/sp"), os("/xdg"), os("/home/u")).unwrap(), Path::new("/sp"));
        assert_eq!(resolve_home(None, os("/xdg"), os("/home/u")).unwrap(), Path::new("/xdg/sparkplane"));
        assert_eq!(resolve_home(os(""), os(""), os("/home/u")).unwrap(), Path::new("/home/u/.local/share/sparkplane"));
        // The XDG specification says relative paths are to be ignored.
        assert_eq!(resolve_home(None, os("xdg"), os("/home/u")).unwrap(), Path::new("/home/u/.local/share/sparkplane"));
        assert!(matches!(resolve_home(None, None, None), Err(RuntimeError::NoHome)));
        assert!(matches!(resolve_home(os(""), os("relative"), os("")), Err(RuntimeError::NoHome)));
    }

    #[test]
    fn a_users_spark_home_wins_over_the_managed_runtime() {
        let home = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        let spark_home = fake_spark_home(user.path(), Some("3.5.1"));
        let located = locate(home.path(), "3.5.7", Some(&spark_home)).unwrap();
        assert_eq!(located.spark_home, spark_home);
        assert_eq!(located.spark_submit, spark_home.join("bin/spark-submit"));
        assert_eq!(located.python, None);
        assert_eq!(located.source, Source::User { version: Some("3.5.1".to_owned()) });
        assert!(located.warnings.is_empty(), "{:?}", located.warnings);
    }

    #[test]
    fn a_users_spark_home_of_another_line_still_wins_with_a_warning() {
        let home = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let spark_home = fake_spark_home(user.path(), Some("4.0.1"));
        let located = locate(home.path(), "3.5.7", Some(&spark_home)).unwrap();
        assert_eq!(located.source, Source::User { version: Some("4.0.1".to_owned()) });
        assert_eq!(located.warnings.len(), 1);
        assert!(located.warnings[0].contains("holds Spark 4.0.1"), "{}", located.warnings[0]);
    }

    #[test]
    fn a_spark_home_without_spark_submit_falls_back_to_the_managed_runtime() {
        let home = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let runtime = fake_runtime(home.path(), "4.0", "4.0.5");
        let located = locate(home.path(), "4.0.1", Some(user.path())).unwrap();
        assert_eq!(located.source, Source::Managed { line: "4.0".to_owned(), version: "4.0.5".to_owned() });
        assert_eq!(located.spark_home, runtime.spark_home);
        assert_eq!(located.python, Some(runtime.python));
        assert!(located.warnings[0].contains("has no bin/spark-submit"), "{:?}", located.warnings);
        // An empty SPARK_HOME counts as unset, silently.
        let located = locate(home.path(), "4.0.1", Some(Path::new(""))).unwrap();
        assert!(located.warnings.is_empty());
    }

    #[test]
    fn the_managed_runtime_of_the_jobs_line_is_used() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        let runtime = fake_runtime(home.path(), "4.1", "4.1.4");
        let located = locate(home.path(), "4.1.0", None).unwrap();
        assert_eq!(located.source, Source::Managed { line: "4.1".to_owned(), version: "4.1.4".to_owned() });
        assert_eq!(located.spark_submit, runtime.spark_submit());
        assert_eq!(located.python.as_deref(), Some(runtime.python.as_path()));
    }

    #[test]
    fn a_missing_runtime_says_how_to_install_it() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        let error = locate(home.path(), "4.0.1", None).unwrap_err();
        assert!(matches!(&error, RuntimeError::NotInstalled { line } if line == "4.0"), "{error:?}");
        assert!(error.to_string().contains("run `sparkplane runtime install 4.0`"), "{error}");
        assert_eq!(error.category(), Category::Environment);
        assert!(matches!(locate(home.path(), "3.4.0", None), Err(RuntimeError::UnsupportedLine { .. })));
    }

    #[test]
    fn a_runtime_without_its_marker_is_broken_and_not_used() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        fs::remove_file(runtime_dir(home.path(), "3.5").join(MARKER_FILE)).unwrap();
        let error = locate(home.path(), "3.5.7", None).unwrap_err();
        assert!(matches!(&error, RuntimeError::Broken { problem, .. } if problem.contains("incomplete install")));
        assert!(error.to_string().contains("run `sparkplane runtime install 3.5` to repair it"), "{error}");
    }

    #[test]
    fn list_shows_complete_and_broken_runtimes_in_line_order() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(list(home.path()).unwrap(), []);
        fake_runtime(home.path(), "4.0", "4.0.5");
        fake_runtime(home.path(), "3.5", "3.5.9");
        // Interrupted before the marker was written.
        let incomplete = runtime_dir(home.path(), "4.1");
        fs::create_dir_all(incomplete.join("venv/bin")).unwrap();
        fs::write(incomplete.join(INSTALL_LOG), "Collecting pyspark==4.1.4\n").unwrap();
        // A marker whose spark-submit has gone.
        let damaged = fake_runtime(home.path(), "10.0", "10.0.0");
        fs::remove_file(damaged.spark_submit()).unwrap();
        // Lock files and directories being removed are not runtimes.
        fs::write(runtimes_dir(home.path()).join(".3.5.lock"), "").unwrap();
        fs::create_dir_all(runtimes_dir(home.path()).join(".4.0.removing.1.2")).unwrap();

        let listed = list(home.path()).unwrap();
        let summary: Vec<(&str, Option<&str>, RuntimeStatus)> =
            listed.iter().map(|r| (r.line.as_str(), r.version.as_deref(), r.status)).collect();
        assert_eq!(
            summary,
            [
                ("3.5", Some("3.5.9"), RuntimeStatus::Ok),
                ("4.0", Some("4.0.5"), RuntimeStatus::Ok),
                ("4.1", None, RuntimeStatus::Broken),
                ("10.0", None, RuntimeStatus::Broken),
            ]
        );
        assert!(listed[2].problem.as_deref().unwrap_or_default().contains("no runtime.json"));
        assert!(listed[3].problem.as_deref().unwrap_or_default().contains("spark-submit is missing"));
        assert_eq!(listed[0].path, runtime_dir(home.path(), "3.5"));
        assert!(listed[0].size_bytes > 0);
        let json = serde_json::to_value(&listed[2]).unwrap();
        assert_eq!(json["status"], "broken");
        assert_eq!(json["sizeBytes"], listed[2].size_bytes);
    }

    #[test]
    fn a_garbled_marker_is_broken() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        fs::write(runtime_dir(home.path(), "3.5").join(MARKER_FILE), "{\"line\": ").unwrap();
        let listed = list(home.path()).unwrap();
        assert_eq!(listed[0].status, RuntimeStatus::Broken);
        assert!(listed[0].problem.as_deref().unwrap_or_default().contains("is not a runtime marker"));
        // A marker copied from another line does not count either.
        let other = fake_runtime(home.path(), "4.0", "4.0.5");
        fs::write(runtime_dir(home.path(), "3.5").join(MARKER_FILE), serde_json::to_string(&other).unwrap()).unwrap();
        assert!(matches!(locate(home.path(), "3.5", None), Err(RuntimeError::Broken { .. })));
    }

    #[test]
    fn remove_deletes_a_runtime_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        fake_runtime(home.path(), "4.0", "4.0.5");
        let removed = remove(home.path(), "3.5.7").unwrap().expect("3.5 was installed");
        assert_eq!((removed.line.as_str(), removed.status), ("3.5", RuntimeStatus::Ok));
        assert!(!runtime_dir(home.path(), "3.5").exists());
        assert_eq!(remove(home.path(), "3.5").unwrap(), None);
        let left: Vec<String> = list(home.path()).unwrap().into_iter().map(|r| r.line).collect();
        assert_eq!(left, ["4.0"]);
        // Nothing but the lock files remains beside the other runtime.
        let mut names: Vec<String> = fs::read_dir(runtimes_dir(home.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".3.5.lock", "4.0"]);
    }

    #[test]
    fn remove_takes_broken_and_retired_lines_but_not_other_paths() {
        let home = tempfile::tempdir().unwrap();
        let broken = runtime_dir(home.path(), "4.1");
        fs::create_dir_all(&broken).unwrap();
        assert_eq!(remove(home.path(), "4.1").unwrap().map(|r| r.status), Some(RuntimeStatus::Broken));
        // A line an older sparkplane pinned.
        fs::create_dir_all(runtime_dir(home.path(), "3.4")).unwrap();
        assert!(remove(home.path(), "3.4").unwrap().is_some());
        assert_eq!(remove(home.path(), "3.3").unwrap(), None);
        for bad in ["..", "../x", "3.5/..", "", "x.y"] {
            assert!(matches!(remove(home.path(), bad), Err(RuntimeError::UnsupportedLine { .. })), "{bad}");
        }
    }

    #[test]
    fn installing_an_installed_line_does_nothing() {
        let home = tempfile::tempdir().unwrap();
        let runtime = fake_runtime(home.path(), "3.5", "3.5.9");
        let mut events = Vec::new();
        // No Python is needed, so a missing one proves nothing ran.
        let installed =
            install(home.path(), "3.5.1", OsStr::new("/nonexistent/python3"), &mut |e| events.push(e)).unwrap();
        assert_eq!(installed, runtime);
        assert_eq!(events, [InstallEvent::AlreadyInstalled]);
    }

    #[test]
    fn an_unsupported_line_is_refused_before_touching_the_disk() {
        let home = tempfile::tempdir().unwrap();
        let error = install(home.path(), "3.4.1", OsStr::new("python3"), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::UnsupportedLine { .. }));
        assert!(!runtimes_dir(home.path()).exists());
    }

    #[test]
    fn a_missing_python_fails_clearly_and_leaves_a_broken_runtime_with_its_log() {
        let home = tempfile::tempdir().unwrap();
        let error = install(home.path(), "4.0", OsStr::new("/nonexistent/python3"), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::PythonNotFound { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "/nonexistent/python3 was not found: install Python 3.9+ (Debian: apt-get install python3 python3-venv) \
             or set SPARKPLANE_PYTHON"
        );
        assert_eq!(error.category(), Category::Environment);
        let listed = list(home.path()).unwrap();
        assert_eq!(listed[0].status, RuntimeStatus::Broken);
        let log = fs::read_to_string(runtime_dir(home.path(), "4.0").join(INSTALL_LOG)).unwrap();
        assert!(log.contains("install failed"), "{log}");
    }

    #[test]
    fn a_python_older_than_pyspark_accepts_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let python = script(bin.path(), "python3", "echo 3.9");
        let error = install(home.path(), "4.1", python.as_os_str(), &mut |_| {}).unwrap_err();
        assert!(matches!(&error, RuntimeError::PythonTooOld { found, needs: (3, 10), .. } if found == "3.9"));
        assert!(error.to_string().contains("pyspark 4.1.4 needs Python 3.10 or newer"), "{error}");
    }

    #[test]
    fn a_python_without_venv_is_reported_with_the_package_to_install() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let body = r#"if [ "$1" = -c ]; then echo 3.11; exit 0; fi
echo "The virtual environment was not successfully created because ensurepip is not available." >&2
exit 1"#;
        let python = script(bin.path(), "python3", body);
        let error = install(home.path(), "3.5", python.as_os_str(), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::VenvFailed { .. }), "{error:?}");
        assert!(error.to_string().contains("apt-get install python3-venv"), "{error}");
        let log = fs::read_to_string(runtime_dir(home.path(), "3.5").join(INSTALL_LOG)).unwrap();
        assert!(log.contains("ensurepip is not available"), "{log}");
    }

    /// A stand-in for `python3` whose `-m venv` makes an environment whose
    /// python runs `pip_body` for `-m pip …` and reports a pyspark package directory for `-c …`.
    fn fake_python(bin: &Path, pip_body: &str) -> PathBuf {
        let body = format!(
            r#"if [ "$1" = -c ]; then echo 3.11; exit 0; fi
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<'VENV'
#!/bin/sh
pkg="$(cd "$(dirname "$0")/.." && pwd)/lib/python3.11/site-packages/pyspark"
if [ "$1" = -c ]; then echo "$pkg"; exit 0; fi
{pip_body}
VENV
  chmod +x "$3/bin/python"
  exit 0
fi
exit 2"#
        );
        script(bin, "python3", &body)
    }

    #[test]
    fn install_creates_a_venv_runs_pip_and_writes_the_marker_last() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let pip = r#"mkdir -p "$pkg/bin" "$pkg/jars"
printf '#!/bin/sh\n' > "$pkg/bin/spark-submit"
echo "Collecting pyspark==3.5.9"
echo "  Downloading pyspark-3.5.9.tar.gz (317.2 MB)"
echo "  Preparing metadata (setup.py): started" >&2
echo "Successfully installed py4j-0.10.9.7 pyspark-3.5.9""#;
        let python = fake_python(bin.path(), pip);
        let mut events = Vec::new();
        let runtime = install(home.path(), "3.5", python.as_os_str(), &mut |e| events.push(e)).unwrap();

        let dir = runtime_dir(home.path(), "3.5");
        assert_eq!(runtime.line, "3.5");
        assert_eq!(runtime.pyspark_version, "3.5.9");
        assert_eq!(runtime.python, dir.join("venv/bin/python"));
        assert_eq!(runtime.spark_home, dir.join("venv/lib/python3.11/site-packages/pyspark"));
        assert_eq!(runtime.installed_at.len(), "2025-06-01T12:00:00Z".len());
        assert_eq!(events.first(), Some(&InstallEvent::CreatingVenv));
        assert_eq!(events.last(), Some(&InstallEvent::Done));
        assert!(events.contains(&InstallEvent::Downloading("Downloading pyspark-3.5.9.tar.gz (317.2 MB)".to_owned())));
        assert!(events.contains(&InstallEvent::Installing("Preparing metadata (setup.py): started".to_owned())));
        let marker: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join(MARKER_FILE)).unwrap()).unwrap();
        assert_eq!(marker["pysparkVersion"], "3.5.9");
        assert_eq!(marker["sparkHome"], runtime.spark_home.to_str().unwrap());
        let log = fs::read_to_string(dir.join(INSTALL_LOG)).unwrap();
        assert!(log.contains("Successfully installed py4j-0.10.9.7 pyspark-3.5.9"), "{log}");
        let located = locate(home.path(), "3.5.7", None).unwrap();
        assert_eq!(located.spark_submit, runtime.spark_submit());
    }

    #[test]
    fn a_broken_runtime_is_deleted_and_installed_again() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let leftover = runtime_dir(home.path(), "3.5").join("venv/leftover");
        fs::create_dir_all(&leftover).unwrap();
        let python = fake_python(bin.path(), r#"mkdir -p "$pkg/bin"; touch "$pkg/bin/spark-submit""#);
        let mut events = Vec::new();
        install(home.path(), "3.5", python.as_os_str(), &mut |e| events.push(e)).unwrap();
        assert!(matches!(&events[0], InstallEvent::Repairing { problem } if problem.contains("incomplete install")));
        assert!(!leftover.exists());
        assert_eq!(list(home.path()).unwrap()[0].status, RuntimeStatus::Ok);
    }

    #[test]
    fn an_unreachable_index_is_told_apart_from_other_pip_failures() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let offline = r#"echo "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/pyspark/" >&2
echo "ERROR: Could not find a version that satisfies the requirement pyspark==3.5.9 (from versions: none)" >&2
exit 1"#;
        let python = fake_python(bin.path(), offline);
        let error = install(home.path(), "3.5", python.as_os_str(), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::IndexUnreachable { .. }), "{error:?}");
        assert!(error.to_string().contains("PIP_INDEX_URL"), "{error}");
        // The failed environment is gone; the log stays, and no marker was written.
        let dir = runtime_dir(home.path(), "3.5");
        assert!(!dir.join("venv").exists());
        assert!(!dir.join(MARKER_FILE).exists());
        assert!(fs::read_to_string(dir.join(INSTALL_LOG)).unwrap().contains("NewConnectionError"));

        let disk_full = r#"echo "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device" >&2
exit 1"#;
        let python = fake_python(bin.path(), disk_full);
        let error = install(home.path(), "3.5", python.as_os_str(), &mut |_| {}).unwrap_err();
        match &error {
            RuntimeError::InstallFailed { reason, .. } => assert!(reason.contains("No space left on device")),
            other => panic!("{other:?}"),
        }
        assert_eq!(list(home.path()).unwrap()[0].status, RuntimeStatus::Broken);
    }

    #[test]
    fn pip_output_lines_become_progress_events() {
        assert_eq!(
            pip_event("Collecting pyspark==3.5.9"),
            Some(InstallEvent::Downloading("Collecting pyspark==3.5.9".into()))
        );
        assert_eq!(
            pip_event("  Building wheel for pyspark (setup.py): started"),
            Some(InstallEvent::Installing("Building wheel for pyspark (setup.py): started".into()))
        );
        assert_eq!(pip_event("  Stored in directory: /root/.cache/pip/wheels/97"), None);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |secs: u64| rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_748_781_005), "2025-06-01T12:30:05Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    #[ignore = "downloads pyspark (about 320 MB) from PyPI and builds it"]
    fn installs_a_real_runtime() {
        let home = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let mut on_event = |event: InstallEvent| eprintln!("[{:>6.1}s] {event:?}", started.elapsed().as_secs_f64());
        let runtime = install(home.path(), "3.5", &default_python(), &mut on_event).unwrap_or_else(|e| panic!("{e}"));
        let took = started.elapsed();
        assert!(runtime.spark_submit().is_file(), "{}", runtime.spark_submit().display());
        let listed = list(home.path()).unwrap();
        assert_eq!(listed[0].status, RuntimeStatus::Ok);
        eprintln!(
            "installed pyspark {} in {:.1}s, {} MiB on disk, SPARK_HOME {}",
            runtime.pyspark_version,
            took.as_secs_f64(),
            listed[0].size_bytes / (1024 * 1024),
            runtime.spark_home.display()
        );
        let located = locate(home.path(), "3.5.7", None).unwrap();
        assert_eq!(located.spark_submit, runtime.spark_submit());

        let mut events = Vec::new();
        install(home.path(), "3.5", &default_python(), &mut |e| events.push(e)).unwrap();
        assert_eq!(events, [InstallEvent::AlreadyInstalled]);

        // With a Java that suits Spark 3.5, spark-submit itself must run and report the pinned version.
        let java_home = std::env::var_os("JAVA_HOME").map(PathBuf::from);
        let path = std::env::var_os("PATH");
        match crate::java::check_java("3.5", java_home.as_deref(), path.as_deref()) {
            Ok(java) => {
                let output = Command::new(&located.spark_submit)
                    .arg("--version")
                    .env("SPARK_HOME", &located.spark_home)
                    .env("PYSPARK_PYTHON", located.python.as_ref().unwrap())
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&output.stderr);
                assert!(text.contains("version 3.5.9"), "spark-submit --version with {}:\n{text}", java.java.display());
            }
            Err(e) => eprintln!("spark-submit not run: {e}"),
        }
    }
}
