//! Server-side apply and strategic merge patch, as the API server does them.
//!
//! Apply merges a manager's configuration into the live object (fields by
//! name, keyed lists by their keys, sets by value, atomic lists whole),
//! removes what the manager applied last time, no longer applies and no one
//! else owns, and refuses with 409 Conflict, naming the other managers and
//! fields, a change to a field another manager owns, unless forced (then
//! the field changes hands). Strategic merge patch merges keyed lists by
//! their merge key and reads the `$patch`, `$deleteFromPrimitiveList`,
//! `$setElementOrder` and `$retainKeys` directives.
//!
//! Owns: those two merges. Must not: store anything or know kinds (the
//! list types come in).

use serde_json::{Map, Value, json};

use crate::answer::{Answer, status};
use crate::list_types::{ListType, ListTypes};
use crate::managed_fields::{self, Entry, FieldSet, Path, Step, Writer};

/// A configuration without its nulls (an applied null sets nothing).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter().filter(|(_, v)| !v.is_null()).map(|(k, v)| (k.clone(), without_nulls(v))).collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Merges `config` into `live`.
pub fn merge(live: &Value, config: &Value, fields: &mut Vec<String>, types: &dyn ListTypes) -> Value {
    match (live, config) {
        (Value::Object(l), Value::Object(c)) => {
            let mut out = l.clone();
            for (key, value) in c {
                fields.push(key.clone());
                let merged = match l.get(key) {
                    Some(old) => merge(old, value, fields, types),
                    None => value.clone(),
                };
                fields.pop();
                out.insert(key.clone(), merged);
            }
            Value::Object(out)
        }
        (Value::Array(l), Value::Array(c)) => {
            let names: Vec<&str> = fields.iter().map(String::as_str).collect();
            let list = types.list_type(&names);
            if list == ListType::Atomic {
                return config.clone();
            }
            let step = |item: &Value, i: usize| managed_fields::item_step(&list, item, i);
            let config_steps: Vec<Step> = c.iter().enumerate().map(|(i, v)| step(v, i)).collect();
            let mut out = Vec::new();
            let mut emitted = vec![false; c.len()];
            let mut emit_config_up_to = |end: usize, out: &mut Vec<Value>, live_of: &dyn Fn(usize) -> Option<Value>| {
                for i in 0..=end {
                    if !emitted[i] {
                        emitted[i] = true;
                        out.push(live_of(i).unwrap_or_else(|| c[i].clone()));
                    }
                }
            };
            let live_steps: Vec<Step> = l.iter().enumerate().map(|(i, v)| step(v, i)).collect();
            let merged_item = |i: usize| -> Option<Value> {
                let found = live_steps.iter().position(|s| *s == config_steps[i])?;
                Some(merge(&l[found], &c[i], &mut fields.clone(), types))
            };
            for (li, ls) in live_steps.iter().enumerate() {
                match config_steps.iter().position(|s| s == ls) {
                    None => out.push(l[li].clone()),
                    Some(ci) => emit_config_up_to(ci, &mut out, &merged_item),
                }
            }
            if !c.is_empty() {
                emit_config_up_to(c.len() - 1, &mut out, &merged_item);
            }
            Value::Array(out)
        }
        _ => config.clone(),
    }
}

/// Removes the node at `path` from `object`; true when it was there.
pub fn remove(object: &mut Value, path: &[Step], types: &dyn ListTypes) -> bool {
    let Some((last, parents)) = path.split_last() else { return false };
    let Some(parent) = node_mut(object, parents) else { return false };
    match (last, parent) {
        (Step::Field(name), Value::Object(map)) => map.remove(name).is_some(),
        (step, Value::Array(items)) => {
            let names = managed_fields::field_names(parents);
            let list = types.list_type(&names);
            let before = items.len();
            let mut index = 0;
            items.retain(|item| {
                let keep = managed_fields::item_step(&list, item, index) != *step;
                index += 1;
                keep
            });
            items.len() != before
        }
        _ => false,
    }
}

fn node_mut<'a>(object: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    let mut node = object;
    let mut fields: Vec<String> = Vec::new();
    for step in path {
        node = match (step, node) {
            (Step::Field(name), Value::Object(map)) => {
                fields.push(name.clone());
                map.get_mut(name)?
            }
            (Step::Index(i), Value::Array(items)) => items.get_mut(*i)?,
            (Step::Key(key), Value::Array(items)) => {
                let wanted: Map<String, Value> = serde_json::from_str(key).ok()?;
                items.iter_mut().find(|item| wanted.iter().all(|(k, v)| item.get(k) == Some(v)))?
            }
            (Step::Value(json), Value::Array(items)) => {
                let wanted: Value = serde_json::from_str(json).ok()?;
                items.iter_mut().find(|item| **item == wanted)?
            }
            _ => return None,
        };
    }
    Some(node)
}

/// Whether a path names a key field of a keyed list's item (`.containers[name="a"].name`).
fn is_key_field(path: &[Step]) -> bool {
    match path {
        [.., Step::Key(key), Step::Field(field)] => {
            serde_json::from_str::<Map<String, Value>>(key).is_ok_and(|k| k.contains_key(field))
        }
        _ => false,
    }
}

/// Drops objects left empty under `path` by a removal (not the top-level fields).
fn drop_emptied(object: &mut Value, path: &[Step], owned: &FieldSet) {
    for end in (2..path.len()).rev() {
        let parent = &path[..end];
        if owned.contains(parent) {
            return;
        }
        let empty = node_mut(object, parent).is_some_and(|n| n.as_object().is_some_and(Map::is_empty));
        if !empty {
            return;
        }
        let Some((Step::Field(name), grand)) = parent.split_last() else { return };
        let Some(Value::Object(map)) = node_mut(object, grand) else { return };
        map.remove(name);
    }
}

/// The 409 the API server answers a conflicting apply with.
fn conflict(conflicts: &[(Entry, Path)], kind: &str, name: &str) -> Answer {
    let line =
        |(entry, path): &(Entry, Path)| format!("conflict with {}: {}", entry.shown(), managed_fields::show(path));
    let message = match conflicts {
        [one] => format!("Apply failed with 1 conflict: {}", line(one)),
        many => {
            let mut by_manager: Vec<(String, Vec<String>)> = Vec::new();
            for (entry, path) in many {
                let shown = entry.shown();
                match by_manager.iter_mut().find(|(m, _)| *m == shown) {
                    Some((_, paths)) => paths.push(managed_fields::show(path)),
                    None => by_manager.push((shown, vec![managed_fields::show(path)])),
                }
            }
            by_manager.sort();
            let lines: Vec<String> = by_manager
                .iter()
                .flat_map(|(m, paths)| {
                    std::iter::once(format!("conflicts with {m}:")).chain(paths.iter().map(|p| format!("- {p}")))
                })
                .collect();
            format!("Apply failed with {} conflicts: {}", many.len(), lines.join("\n"))
        }
    };
    let causes: Vec<Value> = conflicts
        .iter()
        .map(|(entry, path)| {
            json!({"reason": "FieldManagerConflict", "message": format!("conflict with {}", entry.shown()),
                   "field": managed_fields::show(path)})
        })
        .collect();
    status(409, "Conflict", message, json!({"name": name, "kind": kind, "causes": causes}))
}

/// Applies `config` to `live` for `writer` (operation `Apply`): the new
/// object with its managed fields, or the conflict.
pub fn apply(
    live: &Value,
    config: &Value,
    writer: &Writer<'_>,
    force: bool,
    types: &dyn ListTypes,
) -> Result<Value, Answer> {
    let config = without_nulls(config);
    let scope = |set: FieldSet| -> FieldSet {
        set.into_iter().filter(|p| managed_fields::in_scope(p, writer.status)).collect()
    };
    let applied = scope(managed_fields::set_of(&config, types));
    let mut entries = managed_fields::entries_of(live);
    let mine = writer.entry();
    let last: FieldSet = entries.iter().find(|e| e.same_manager(&mine)).map(|e| e.set.clone()).unwrap_or_default();
    let others: FieldSet =
        entries.iter().filter(|e| !e.same_manager(&mine)).flat_map(|e| e.set.iter().cloned()).collect();
    let mut merged = merge(live, &config, &mut Vec::new(), types);
    let mut owned = applied.clone();
    owned.extend(others.iter().cloned());
    for path in last.difference(&applied).filter(|p| !others.contains(*p)) {
        // An item someone else owns part of stays, with its key fields.
        let owned_below =
            others.range(path.clone()..).take_while(|o| o.starts_with(path)).any(|o| o.len() > path.len());
        if owned_below || is_key_field(path) {
            continue;
        }
        if remove(&mut merged, path, types) {
            drop_emptied(&mut merged, path, &owned);
        }
    }
    let comparison = managed_fields::compare(live, &merged, types);
    let changed = scope(comparison.changed);
    let mut conflicts: Vec<(Entry, Path)> = Vec::new();
    for entry in entries.iter().filter(|e| !e.same_manager(&mine)) {
        conflicts.extend(entry.set.intersection(&changed).map(|p| (entry.clone(), p.clone())));
    }
    if !conflicts.is_empty() && !force {
        let kind = live["kind"].as_str().unwrap_or_default();
        let name = live["metadata"]["name"].as_str().unwrap_or_default();
        return Err(conflict(&conflicts, kind, name));
    }
    for entry in &mut entries {
        entry.set.retain(|p| !comparison.removed.contains(p));
        if !entry.same_manager(&mine) {
            entry.set.retain(|p| !changed.contains(p));
        }
    }
    entries.retain(|e| !e.same_manager(&mine));
    // The time moves when the manager's set does.
    let time = match entries_of_same(live, &mine) {
        Some(previous) if previous.set == applied => previous.time,
        _ => writer.time.to_owned(),
    };
    entries.push(Entry { set: applied, time, ..mine });
    managed_fields::store_entries(&mut merged, entries);
    Ok(merged)
}

fn entries_of_same(live: &Value, mine: &Entry) -> Option<Entry> {
    managed_fields::entries_of(live).into_iter().find(|e| e.same_manager(mine))
}

/// A strategic merge patch of `target` (a built-in kind's object).
pub fn strategic_merge(target: &Value, patch: &Value, fields: &mut Vec<String>, types: &dyn ListTypes) -> Value {
    let (Value::Object(t), Value::Object(p)) = (target, patch) else { return patch.clone() };
    if p.get("$patch").and_then(Value::as_str) == Some("replace") {
        let mut out = p.clone();
        out.remove("$patch");
        return Value::Object(out);
    }
    let mut out = t.clone();
    if let Some(retained) = p.get("$retainKeys").and_then(Value::as_array) {
        let keep: Vec<&str> = retained.iter().filter_map(Value::as_str).collect();
        out.retain(|k, _| keep.contains(&k.as_str()));
    }
    for (key, value) in p {
        if key.starts_with("$setElementOrder/") || key == "$retainKeys" || key == "$patch" {
            continue;
        }
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let gone: Vec<&Value> = value.as_array().map(|a| a.iter().collect()).unwrap_or_default();
            if let Some(Value::Array(items)) = out.get_mut(field) {
                items.retain(|item| !gone.contains(&item));
            }
            continue;
        }
        if value.is_null() {
            out.remove(key);
            continue;
        }
        fields.push(key.clone());
        let merged = match (out.get(key), value) {
            (Some(old @ Value::Object(_)), Value::Object(_)) => strategic_merge(old, value, fields, types),
            (Some(Value::Array(old)), Value::Array(new)) => merge_list(old, new, fields, types),
            (None, Value::Object(_)) => strategic_merge(&json!({}), value, fields, types),
            (None, Value::Array(new)) => merge_list(&[], new, fields, types),
            _ => value.clone(),
        };
        fields.pop();
        out.insert(key.clone(), merged);
    }
    Value::Object(out)
}

fn merge_list(old: &[Value], new: &[Value], fields: &mut Vec<String>, types: &dyn ListTypes) -> Value {
    let names: Vec<&str> = fields.iter().map(String::as_str).collect();
    match types.list_type(&names) {
        ListType::Atomic => Value::Array(new.iter().map(|v| strip_directives(v.clone())).collect()),
        ListType::Set => {
            let mut out = old.to_vec();
            for item in new {
                if !out.contains(item) {
                    out.push(item.clone());
                }
            }
            Value::Array(out)
        }
        ListType::Map(keys) => {
            let Some(key) = keys.first() else { return Value::Array(new.to_vec()) };
            if new.iter().any(|i| i.get("$patch").and_then(Value::as_str) == Some("replace")) {
                let kept = new.iter().filter(|i| i.get("$patch").is_none()).cloned().map(strip_directives);
                return Value::Array(kept.collect());
            }
            let mut out = old.to_vec();
            for item in new {
                let position = out.iter().position(|o| o.get(key).is_some() && o.get(key) == item.get(key));
                let delete = item.get("$patch").and_then(Value::as_str) == Some("delete");
                match (position, delete) {
                    (Some(i), true) => {
                        out.remove(i);
                    }
                    (None, true) => {}
                    (Some(i), false) => out[i] = strategic_merge(&out[i], item, fields, types),
                    (None, false) => out.push(strategic_merge(&json!({}), item, fields, types)),
                }
            }
            Value::Array(out)
        }
    }
}

fn strip_directives(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter().filter(|(k, _)| !k.starts_with('$')).map(|(k, v)| (k, strip_directives(v))).collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list_types::BuiltIn;

    fn writer(manager: &str) -> Writer<'_> {
        Writer { manager, operation: "Apply", api_version: "v1", status: false, time: "2026-01-01T00:00:00Z" }
    }

    fn pod(image: &str, env: Value) -> Value {
        json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"},
               "spec": {"containers": [{"name": "app", "image": image, "env": env}]}})
    }

    #[test]
    fn two_appliers_of_one_field_conflict_and_force_moves_it() {
        let types = BuiltIn;
        let live = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}});
        let first = apply(&live, &pod("a:1", json!([{"name": "X", "value": "1"}])), &writer("one"), false, &types)
            .expect("the first apply owns everything");
        let refused = apply(&first, &pod("a:2", json!([])), &writer("two"), false, &types);
        let Err(Answer::Json(409, body)) = refused else { panic!("a conflict: {refused:?}") };
        assert_eq!(
            body["message"],
            "Apply failed with 1 conflict: conflict with \"one\": .spec.containers[name=\"app\"].image"
        );
        let forced = apply(&first, &pod("a:2", json!([])), &writer("two"), true, &types).expect("forced");
        assert_eq!(forced["spec"]["containers"][0]["image"], "a:2");
        let entries = managed_fields::entries_of(&forced);
        let one = entries.iter().find(|e| e.manager == "one").expect("one still owns the env");
        assert!(one.set.iter().all(|p| managed_fields::show(p) != ".spec.containers[name=\"app\"].image"));
    }

    #[test]
    fn a_field_the_applier_stops_sending_goes_unless_another_owns_it() {
        let types = BuiltIn;
        let live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}});
        let config =
            |data: Value| json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "m"}, "data": data});
        let first = apply(&live, &config(json!({"a": "1", "b": "2"})), &writer("one"), false, &types).expect("ok");
        let shared = apply(&first, &config(json!({"b": "2"})), &writer("two"), false, &types).expect("same value");
        let second = apply(&shared, &config(json!({})), &writer("one"), false, &types).expect("ok");
        assert_eq!(second["data"], json!({"b": "2"}), "a went; b stays, two owns it too");
    }

    #[test]
    fn strategic_merge_patch_merges_containers_by_name_and_deletes_by_directive() {
        let types = BuiltIn;
        let live = json!({"spec": {"containers": [{"name": "a", "image": "1"}, {"name": "b", "image": "1"}],
                          "tolerations": [{"key": "x"}]}});
        let patch = json!({"spec": {"containers": [{"name": "a", "image": "2"}, {"name": "b", "$patch": "delete"}],
                           "tolerations": [{"key": "y"}], "$setElementOrder/containers": [{"name": "a"}]}});
        let out = strategic_merge(&live, &patch, &mut Vec::new(), &types);
        assert_eq!(out, json!({"spec": {"containers": [{"name": "a", "image": "2"}], "tolerations": [{"key": "y"}]}}));
    }
}
