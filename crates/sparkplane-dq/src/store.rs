//! The profile store: one `profile.json` per spec and partition selection,
//! at `<store>/<spec>/<selection>/profile.json`, written atomically (a
//! temporary file renamed over the old one).
//!
//! The baseline of a run is the profile of the same selection when there is
//! one (a re-run), else — for a partition selection — the profile of the
//! nearest earlier partition value with the same keys (yesterday's for a
//! daily partition). Profiles of another format version are ignored.

use std::path::{Path, PathBuf};

use crate::DqError;
use crate::dataset::{Selection, selection_label};
use crate::evaluate::{PROFILE_VERSION, Profile};

/// Default store, relative to the spec file.
pub const DEFAULT_DIR: &str = ".sparkplane/dq";
/// File name of a profile.
pub const FILE: &str = "profile.json";

/// Where the profile of `selection` is kept.
pub fn profile_path(store: &Path, spec: &str, selection: &str) -> PathBuf {
    store.join(spec).join(selection).join(FILE)
}

fn read(path: &Path) -> Result<Option<Profile>, DqError> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(DqError::Io { path: path.to_owned(), error: e.to_string() }),
    };
    // A damaged or older profile is not a baseline; the next passing run replaces it.
    Ok(serde_json::from_str::<Profile>(&text).ok().filter(|p| p.version == PROFILE_VERSION))
}

/// The baseline for a run of `selection` (see the module docs).
pub fn baseline(store: &Path, spec: &str, selection: &Selection) -> Result<Option<Profile>, DqError> {
    let label = selection_label(selection);
    if let Some(p) = read(&profile_path(store, spec, &label))? {
        return Ok(Some(p));
    }
    if selection.is_empty() {
        return Ok(None);
    }
    let dir = store.join(spec);
    let entries = match std::fs::read_dir(&dir) {
        Ok(e) => e,
        Err(_) => return Ok(None),
    };
    let keys: Vec<&String> = selection.keys().collect();
    let mut earlier: Vec<(Selection, String)> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter_map(|name| {
            let parsed = crate::dataset::parse_selection(std::slice::from_ref(&name)).ok()?;
            (parsed.keys().collect::<Vec<_>>() == keys && parsed < *selection).then_some((parsed, name))
        })
        .collect();
    earlier.sort();
    match earlier.last() {
        Some((_, name)) => read(&dir.join(name).join(FILE)),
        None => Ok(None),
    }
}

/// Writes a profile atomically.
pub fn save(store: &Path, profile: &Profile) -> Result<(), DqError> {
    let path = profile_path(store, &profile.spec, &profile.selection);
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_else(|| store.to_owned());
    let io = |p: &Path, e: std::io::Error| DqError::Io { path: p.to_owned(), error: e.to_string() };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    let text =
        serde_json::to_string_pretty(profile).map_err(|e| DqError::Io { path: path.clone(), error: e.to_string() })?;
    let tmp = dir.join(format!(".{FILE}.tmp"));
    std::fs::write(&tmp, format!("{text}\n")).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, &path).map_err(|e| io(&path, e))
}
