//! The profile store: one `profile.json` per spec and partition selection,
//! at `<store>/<spec>/<selection>/profile.json`, in a local folder or in
//! object storage (the same `Store` calls either way; puts are atomic, so a
//! reader sees the old profile or the new one, never half of one).
//!
//! The baseline of a run is the profile of the same selection when there is
//! one (a re-run), else — for a partition selection — the profile of the
//! nearest earlier partition value with the same keys (yesterday's for a
//! daily partition). Profiles of another format version are ignored.

use std::path::Path;

use sparkplane_storage::{StorageError, Store};

use crate::DqError;
use crate::dataset::{Root, Selection, selection_label};
use crate::evaluate::{PROFILE_VERSION, Profile};

/// Default store, relative to the spec file.
pub const DEFAULT_DIR: &str = ".sparkplane/dq";
/// File name of a profile.
pub const FILE: &str = "profile.json";

/// Where a spec's profiles are kept.
#[derive(Clone, Debug)]
pub struct ProfileStore {
    store: Store,
}

/// The key of the profile of `selection`, below the store.
pub fn profile_key(spec: &str, selection: &str) -> String {
    format!("{spec}/{selection}/{FILE}")
}

fn storage(error: StorageError) -> DqError {
    DqError::Storage(error)
}

impl ProfileStore {
    /// Opens the store at `location` (a folder relative to `base`, an absolute path, or an object-store URL).
    pub fn open(location: &str, base: &Path, options: &[(String, String)]) -> Result<ProfileStore, DqError> {
        let root = Root::open(location, base, options)?;
        Ok(ProfileStore { store: root.store(options)? })
    }

    fn read(&self, key: &str) -> Result<Option<Profile>, DqError> {
        let bytes = match self.store.get(key) {
            Ok(b) => b,
            Err(StorageError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        // A damaged or older profile is not a baseline; the next passing run replaces it.
        Ok(serde_json::from_slice::<Profile>(&bytes).ok().filter(|p| p.version == PROFILE_VERSION))
    }

    /// The baseline for a run of `selection` (see the module docs).
    pub fn baseline(&self, spec: &str, selection: &Selection) -> Result<Option<Profile>, DqError> {
        let label = selection_label(selection);
        if let Some(p) = self.read(&profile_key(spec, &label))? {
            return Ok(Some(p));
        }
        if selection.is_empty() {
            return Ok(None);
        }
        let entries = match self.store.child(spec).list() {
            Ok(e) => e,
            Err(StorageError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let keys: Vec<&String> = selection.keys().collect();
        let mut earlier: Vec<(Selection, String)> = entries
            .iter()
            .filter_map(|e| e.key.strip_suffix(&format!("/{FILE}")).map(str::to_owned))
            .filter(|name| !name.contains('/'))
            .filter_map(|name| {
                let parsed = crate::dataset::parse_selection(std::slice::from_ref(&name)).ok()?;
                (parsed.keys().collect::<Vec<_>>() == keys && parsed < *selection).then_some((parsed, name))
            })
            .collect();
        earlier.sort();
        match earlier.last() {
            Some((_, name)) => self.read(&profile_key(spec, name)),
            None => Ok(None),
        }
    }

    /// Writes a profile atomically.
    pub fn save(&self, profile: &Profile) -> Result<(), DqError> {
        let key = profile_key(&profile.spec, &profile.selection);
        let text = serde_json::to_string_pretty(profile)
            .map_err(|e| DqError::Io { path: self.store.describe(&key), error: e.to_string() })?;
        self.store.put(&key, format!("{text}\n").into_bytes()).map_err(storage)
    }
}
