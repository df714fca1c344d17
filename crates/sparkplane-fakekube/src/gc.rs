//! The garbage collector, as kube-controller-manager runs it: asynchronous,
//! reading the store's changes as a controller reads a watch. An object
//! whose every owner (`ownerReferences`, by uid) is gone is deleted in the
//! background; references to owners that are gone are removed while another
//! owner remains; an owner deleted with `propagationPolicy=Foreground`
//! (finalizer `foregroundDeletion`) has its dependents deleted and goes once
//! none that blocks it (`blockOwnerDeletion: true`) is left; an owner
//! deleted with `Orphan` (finalizer `orphan`) has its references removed
//! from its dependents, then goes. Deletions go through the store's delete,
//! so pods wait for their kubelet and finalizers hold what they hold.
//!
//! Owns: the owner/dependent graph and what it deletes. Must not: decide
//! how one object is deleted (`deletion` does) or run on a request's
//! thread (`lib.rs` ticks it from the simulation thread).

use std::collections::{BTreeSet, HashMap};

use serde_json::{Value, json};

use crate::deletion::{DeleteOptions, FOREGROUND, ORPHAN};
use crate::store::{Key, Store, path_of};

/// How many rounds one tick works through before letting others at the store.
const ROUNDS_PER_TICK: usize = 64;

/// The collector's memory between ticks.
#[derive(Debug, Default)]
pub struct Collector {
    started: bool,
    cursor: u64,
    /// Every object's uid → key.
    keys: HashMap<String, Key>,
    /// Owner uid → its dependents' keys.
    dependents: HashMap<String, BTreeSet<Key>>,
    /// Each dependent's owner uids.
    owners: HashMap<Key, Vec<String>>,
    /// Objects to look at.
    queue: BTreeSet<Key>,
}

fn uid(object: &Value) -> String {
    object["metadata"]["uid"].as_str().unwrap_or_default().to_owned()
}

fn owner_uids(object: &Value) -> Vec<String> {
    object["metadata"]["ownerReferences"]
        .as_array()
        .map(|refs| refs.iter().filter_map(|r| r["uid"].as_str()).map(str::to_owned).collect())
        .unwrap_or_default()
}

fn has_finalizer(object: &Value, name: &str) -> bool {
    object["metadata"]["finalizers"].as_array().is_some_and(|f| f.iter().any(|x| x == name))
}

impl Collector {
    /// Reads the changes since the last tick and acts on them; true when
    /// work is left for the next tick.
    pub fn tick(&mut self, store: &mut Store) -> bool {
        if !self.started || self.cursor < store.oldest_watchable() {
            self.resync(store);
        }
        self.absorb(store);
        for _ in 0..ROUNDS_PER_TICK {
            if self.queue.is_empty() {
                break;
            }
            for key in std::mem::take(&mut self.queue) {
                self.attempt(store, &key);
            }
            self.absorb(store);
        }
        !self.queue.is_empty()
    }

    /// Builds the graph from the stored objects (at start, or when the
    /// change history was compacted past what it read).
    fn resync(&mut self, store: &Store) {
        *self = Collector { started: true, cursor: store.rv, ..Collector::default() };
        for (key, object) in &store.objects {
            self.seen(key, object);
        }
    }

    fn link(&mut self, key: &Key, object: &Value) {
        self.unlink(key);
        let owners = owner_uids(object);
        for owner in &owners {
            self.dependents.entry(owner.clone()).or_default().insert(key.clone());
        }
        if !owners.is_empty() {
            self.owners.insert(key.clone(), owners);
        }
    }

    fn unlink(&mut self, key: &Key) -> Vec<String> {
        let owners = self.owners.remove(key).unwrap_or_default();
        for owner in &owners {
            if let Some(set) = self.dependents.get_mut(owner) {
                set.remove(key);
                if set.is_empty() {
                    self.dependents.remove(owner);
                }
            }
        }
        owners
    }

    /// An object added or changed.
    fn seen(&mut self, key: &Key, object: &Value) {
        self.keys.insert(uid(object), key.clone());
        self.link(key, object);
        let marked = object["metadata"]["deletionTimestamp"].is_string();
        if self.owners.contains_key(key)
            || (marked && (has_finalizer(object, ORPHAN) || has_finalizer(object, FOREGROUND)))
        {
            self.queue.insert(key.clone());
        }
    }

    /// Reads the changes since the cursor where the store keeps them (the
    /// objects are read in place, not copied: only their metadata matters).
    fn absorb(&mut self, store: &Store) {
        for change in store.events_after(self.cursor) {
            let object = &change.object;
            let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
            let key = (change.api_version.clone(), change.plural.clone(), change.namespace.clone(), name);
            if change.kind != "DELETED" {
                self.seen(&key, object);
                continue;
            }
            let gone = uid(object);
            if self.keys.get(&gone) == Some(&key) {
                self.keys.remove(&gone);
            }
            // Its dependents may be orphans now; its owners may wait for it.
            for owner in self.unlink(&key) {
                if let Some(owner) = self.keys.get(&owner) {
                    self.queue.insert(owner.clone());
                }
            }
            if let Some(dependents) = self.dependents.get(&gone) {
                self.queue.extend(dependents.iter().cloned());
            }
        }
        self.cursor = store.rv;
    }

    /// The stored dependents of the owner `owner` (uid).
    fn live_dependents(&self, store: &Store, owner: &str) -> Vec<(Key, Value)> {
        self.dependents
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|key| store.objects.get(key).map(|v| (key.clone(), v.clone())))
            .filter(|(_, v)| owner_uids(v).iter().any(|u| u == owner))
            .collect()
    }

    fn owner_exists(&self, store: &Store, owner: &str) -> bool {
        self.keys.get(owner).and_then(|key| store.objects.get(key)).is_some_and(|v| uid(v) == owner)
    }

    fn attempt(&mut self, store: &mut Store, key: &Key) {
        let Some(object) = store.objects.get(key).cloned() else {
            return;
        };
        if object["metadata"]["deletionTimestamp"].is_string() {
            if has_finalizer(&object, ORPHAN) {
                self.orphan(store, key, &object);
            } else if has_finalizer(&object, FOREGROUND) {
                self.foreground(store, key, &object);
            }
            return;
        }
        let owners = owner_uids(&object);
        if owners.is_empty() {
            return;
        }
        let (present, absent): (Vec<&String>, Vec<&String>) =
            owners.iter().partition(|owner| self.owner_exists(store, owner));
        if present.is_empty() {
            let options = DeleteOptions { propagation: Some("Background".into()), ..DeleteOptions::default() };
            store.delete_with(&path_of(key), &key.3, &options);
        } else if !absent.is_empty() {
            let mut kept = object.clone();
            if let Some(refs) = kept["metadata"]["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"].as_str().is_some_and(|u| !absent.iter().any(|a| *a == u)));
            }
            store.put_at(key, kept);
        }
    }

    /// Orphan deletion: the owner's references go from its dependents, then its finalizer.
    fn orphan(&mut self, store: &mut Store, key: &Key, owner: &Value) {
        let owner_uid = uid(owner);
        for (dependent, mut object) in self.live_dependents(store, &owner_uid) {
            let meta = &mut object["metadata"];
            if let Some(refs) = meta["ownerReferences"].as_array_mut() {
                refs.retain(|r| r["uid"].as_str() != Some(owner_uid.as_str()));
            }
            if meta["ownerReferences"].as_array().is_some_and(Vec::is_empty)
                && let Some(m) = meta.as_object_mut()
            {
                m.remove("ownerReferences");
            }
            store.put_at(&dependent, object);
        }
        Self::release(store, key, owner, ORPHAN);
    }

    /// Foreground deletion: dependents are deleted (in the foreground too
    /// when they own others); the owner goes when no blocking one is left.
    fn foreground(&mut self, store: &mut Store, key: &Key, owner: &Value) {
        let owner_uid = uid(owner);
        let dependents = self.live_dependents(store, &owner_uid);
        let mut blocking = 0;
        for (dependent, object) in &dependents {
            let blocks = object["metadata"]["ownerReferences"]
                .as_array()
                .into_iter()
                .flatten()
                .any(|r| r["uid"].as_str() == Some(owner_uid.as_str()) && r["blockOwnerDeletion"] == json!(true));
            if blocks {
                blocking += 1;
            }
            if !object["metadata"]["deletionTimestamp"].is_string() {
                let own = self.dependents.contains_key(&uid(object));
                let policy = if own { "Foreground" } else { "Background" };
                let options = DeleteOptions { propagation: Some(policy.into()), ..DeleteOptions::default() };
                store.delete_with(&path_of(dependent), &dependent.3, &options);
            }
        }
        if blocking == 0 {
            Self::release(store, key, owner, FOREGROUND);
        }
    }

    /// Removes `finalizer` from the marked `object`, which goes when it was the last.
    fn release(store: &mut Store, key: &Key, object: &Value, finalizer: &str) {
        let mut object = object.clone();
        let meta = &mut object["metadata"];
        if let Some(list) = meta["finalizers"].as_array_mut() {
            list.retain(|f| f != finalizer);
        }
        if meta["finalizers"].as_array().is_some_and(Vec::is_empty)
            && let Some(m) = meta.as_object_mut()
        {
            m.remove("finalizers");
        }
        store.put_at(key, object);
        store.remove_if_released(key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::resources::ResourcePath;
    use crate::store::{Answer, WriteOptions};

    fn path(plural: &str) -> ResourcePath {
        ResourcePath {
            group: "example.com".into(),
            version: "v1".into(),
            namespace: Some("ns".into()),
            plural: plural.into(),
            name: None,
            subresource: None,
        }
    }

    fn create(store: &mut Store, plural: &str, name: &str, owners: &[(&str, bool)]) -> String {
        let refs: Vec<Value> = owners
            .iter()
            .map(|(uid, block)| json!({"apiVersion": "example.com/v1", "kind": "Thing", "name": "o", "uid": uid, "blockOwnerDeletion": block}))
            .collect();
        let mut body = json!({"apiVersion": "example.com/v1", "kind": "Thing", "metadata": {"name": name}});
        if !refs.is_empty() {
            body["metadata"]["ownerReferences"] = json!(refs);
        }
        match store.create(&path(plural), body, &WriteOptions::default()) {
            Answer::Json(201, v) => uid(&v),
            other => panic!("{other:?}"),
        }
    }

    fn exists(store: &Store, plural: &str, name: &str) -> bool {
        store.stored("example.com/v1", plural, Some("ns"), name).is_some()
    }

    fn delete(store: &mut Store, plural: &str, name: &str, policy: &str) {
        let options = DeleteOptions { propagation: Some(policy.into()), ..DeleteOptions::default() };
        store.delete_with(&path(plural), name, &options);
    }

    #[test]
    fn background_deletion_collects_dependents_later_and_dangling_references_go() {
        let mut store = Store::default();
        let mut gc = Collector::default();
        let owner = create(&mut store, "owners", "o", &[]);
        let child = create(&mut store, "children", "c", &[(&owner, false)]);
        create(&mut store, "children", "grandchild", &[(&child, true)]);
        let other = create(&mut store, "owners", "other", &[]);
        create(&mut store, "children", "shared", &[(&owner, false), (&other, false)]);
        create(&mut store, "children", "dangling", &[("no-such-uid", false)]);
        gc.tick(&mut store);
        assert!(!exists(&store, "children", "dangling"), "a dependent whose owner never existed is collected");

        delete(&mut store, "owners", "o", "Background");
        assert!(!exists(&store, "owners", "o"));
        assert!(exists(&store, "children", "c"), "dependents wait for the collector");
        gc.tick(&mut store);
        assert!(!exists(&store, "children", "c") && !exists(&store, "children", "grandchild"));
        let shared = store.stored("example.com/v1", "children", Some("ns"), "shared").expect("another owner keeps it");
        assert_eq!(owner_uids(shared), vec![other]);
    }

    #[test]
    fn foreground_deletion_holds_the_owner_until_blocking_dependents_go_and_orphan_keeps_them() {
        let mut store = Store::default();
        let mut gc = Collector::default();
        let owner = create(&mut store, "owners", "o", &[]);
        create(&mut store, "children", "c", &[(&owner, true)]);
        let mut held = store.stored("example.com/v1", "children", Some("ns"), "c").cloned().expect("stored");
        held["metadata"]["finalizers"] = json!(["example.com/hold"]);
        store.replace(&path("children"), "c", held, &WriteOptions::default());

        delete(&mut store, "owners", "o", "Foreground");
        gc.tick(&mut store);
        let waiting = store.stored("example.com/v1", "owners", Some("ns"), "o").expect("held by its dependent");
        assert_eq!(waiting["metadata"]["finalizers"], json!([FOREGROUND]));
        let child =
            store.stored("example.com/v1", "children", Some("ns"), "c").cloned().expect("held by its finalizer");
        assert!(child["metadata"]["deletionTimestamp"].is_string());
        let mut released = child;
        released["metadata"]["finalizers"] = json!([]);
        store.replace(&path("children"), "c", released, &WriteOptions::default());
        gc.tick(&mut store);
        assert!(!exists(&store, "children", "c") && !exists(&store, "owners", "o"));

        let owner = create(&mut store, "owners", "o2", &[]);
        create(&mut store, "children", "kept", &[(&owner, true)]);
        delete(&mut store, "owners", "o2", "Orphan");
        assert!(exists(&store, "owners", "o2"), "the orphan finalizer holds it until the collector ran");
        gc.tick(&mut store);
        assert!(!exists(&store, "owners", "o2"));
        let kept = store.stored("example.com/v1", "children", Some("ns"), "kept").expect("orphaned, not deleted");
        assert!(kept["metadata"].get("ownerReferences").is_none(), "{kept}");
    }
}
