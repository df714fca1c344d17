//! Where runtimes live: the sparkplane home, `<home>/runtimes/<line>/`, the
//! files a runtime directory holds, and the per-line lock that keeps two
//! sparkplanes from installing or removing the same line at once.
//!
//! Owns: [`resolve_home`], [`default_home`], [`default_python`],
//! [`runtimes_dir`], [`runtime_dir`], [`MARKER_FILE`], [`INSTALL_LOG`] and the
//! line lock.
//! Must not: read the environment outside [`default_home`] and
//! [`default_python`], or look inside a runtime (that is `inventory`).

use std::ffi::{OsStr, OsString};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

use super::error::{RuntimeError, io_error};

/// The marker file whose presence means a runtime is completely installed.
pub const MARKER_FILE: &str = "runtime.json";

/// The file holding what python and pip printed during the last install.
pub const INSTALL_LOG: &str = "install.log";

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

/// Holds `<home>/runtimes/.<line>.lock` exclusively until dropped, so two
/// sparkplanes never install or remove the same line at once.
/// `on_wait` is called once when another holder makes it wait.
pub(super) fn lock(home: &Path, line: &str, on_wait: &mut dyn FnMut()) -> Result<File, RuntimeError> {
    let root = runtimes_dir(home);
    fs::create_dir_all(&root).map_err(io_error("create", &root))?;
    let path = root.join(format!(".{line}.lock"));
    let file = File::options().create(true).truncate(false).write(true).open(&path).map_err(io_error("open", &path))?;
    match file.try_lock() {
        Ok(()) => {}
        Err(fs::TryLockError::WouldBlock) => {
            on_wait();
            file.lock().map_err(io_error("lock", &path))?;
        }
        Err(fs::TryLockError::Error(e)) => return Err(io_error("lock", &path)(e)),
    }
    Ok(file)
}
