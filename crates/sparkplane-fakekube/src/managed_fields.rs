//! Field ownership as the API server keeps it in `metadata.managedFields`:
//! field paths and sets (the `fieldsV1` encoding with `f:`, `k:`, `v:` and
//! `i:` keys), the set an object's fields make under the list types of its
//! schema, the difference between two versions of an object, and the
//! entries per manager and operation (`Apply` or `Update`, and the
//! subresource) with the rules that move ownership on a write.
//!
//! Owns: paths, sets, entries and their encoding. Must not: merge objects
//! (`apply`), or know which kind has which list types (`list_types`).

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

use crate::list_types::{ListType, ListTypes};

/// One step of a field path.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// A field of an object (`f:name`).
    Field(String),
    /// An item of a map-keyed list, by its key fields (`k:{"name":"x"}`, the JSON with sorted keys).
    Key(String),
    /// An item of a set, by its value (`v:"x"`, as JSON).
    Value(String),
    /// An item of a list without keys, by position (`i:0`).
    Index(usize),
}

/// A path from the object's root.
pub type Path = Vec<Step>;

/// Shows a path as the API server does in conflict messages:
/// `.spec.containers[name="app"].image`, `.metadata.finalizers[="x"]`.
pub fn show(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Field(name) => {
                out.push('.');
                out.push_str(name);
            }
            Step::Key(json) => {
                let fields: Map<String, Value> = serde_json::from_str(json).unwrap_or_default();
                let shown: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
                out.push_str(&format!("[{}]", shown.join(",")));
            }
            Step::Value(json) => out.push_str(&format!("[={json}]")),
            Step::Index(i) => out.push_str(&format!("[{i}]")),
        }
    }
    out
}

/// A set of paths.
pub type FieldSet = BTreeSet<Path>;

/// The fields the server owns itself; no manager owns them.
fn stripped(path: &[Step]) -> bool {
    let field = |i: usize| match path.get(i) {
        Some(Step::Field(f)) => Some(f.as_str()),
        _ => None,
    };
    match (field(0), field(1)) {
        (Some("apiVersion" | "kind"), None) => true,
        (Some("metadata"), None) => true,
        (Some("metadata"), Some(f)) => matches!(
            f,
            "name"
                | "namespace"
                | "creationTimestamp"
                | "selfLink"
                | "uid"
                | "generation"
                | "managedFields"
                | "resourceVersion"
                | "deletionTimestamp"
                | "deletionGracePeriodSeconds"
        ),
        _ => false,
    }
}

/// Whether a path lies in the part of the object a write may own: under
/// `status` for the status subresource, outside it for the main resource.
pub fn in_scope(path: &[Step], status: bool) -> bool {
    let under_status = matches!(path.first(), Some(Step::Field(f)) if f == "status");
    !stripped(path) && under_status == status
}

/// The JSON of a map-keyed list item's key (sorted fields); None when it has none of the keys.
pub fn key_of(item: &Value, keys: &[String]) -> Option<String> {
    let fields: Map<String, Value> =
        keys.iter().filter_map(|k| item.get(k).filter(|v| !v.is_null()).map(|v| (k.clone(), v.clone()))).collect();
    (!fields.is_empty()).then(|| Value::Object(fields).to_string())
}

/// The step naming `item` (at `index`) of a list of type `list`.
pub fn item_step(list: &ListType, item: &Value, index: usize) -> Step {
    match list {
        ListType::Map(keys) => key_of(item, keys).map_or(Step::Index(index), Step::Key),
        ListType::Set => Step::Value(item.to_string()),
        ListType::Atomic => Step::Index(index),
    }
}

/// The field names along a path (list steps left out): what list types are looked up by.
pub fn field_names(path: &[Step]) -> Vec<&str> {
    path.iter()
        .filter_map(|s| match s {
            Step::Field(f) => Some(f.as_str()),
            _ => None,
        })
        .collect()
}

/// The nodes of an object a write of it owns, with their values: scalars,
/// empty objects, atomic lists, and the items of keyed lists and sets
/// (an item is a node of its own, and its fields are nodes beside it).
/// (Borrowed: a write compares two versions of a whole object, so nothing is copied.)
pub fn leaves<'a>(object: &'a Value, types: &dyn ListTypes) -> BTreeMap<Path, &'a Value> {
    let mut out = BTreeMap::new();
    walk(object, &mut Vec::new(), types, &mut out);
    out
}

/// What an object item of a keyed list or set is recorded as: present (its fields are nodes of their own).
static ITEM: Value = Value::Null;

fn walk<'a>(value: &'a Value, path: &mut Path, types: &dyn ListTypes, out: &mut BTreeMap<Path, &'a Value>) {
    match value {
        Value::Object(map) if !map.is_empty() => {
            for (key, child) in map {
                path.push(Step::Field(key.clone()));
                walk(child, path, types, out);
                path.pop();
            }
        }
        Value::Array(items) if !path.is_empty() => {
            let list = types.list_type(&field_names(path));
            if list == ListType::Atomic {
                out.insert(path.clone(), value);
                return;
            }
            for (index, item) in items.iter().enumerate() {
                path.push(item_step(&list, item, index));
                out.insert(path.clone(), if item.is_object() { &ITEM } else { item });
                if item.is_object() {
                    walk(item, path, types, out);
                }
                path.pop();
            }
        }
        _ if !path.is_empty() => {
            out.insert(path.clone(), value);
        }
        _ => {}
    }
}

/// The set a write of `object` owns (see [`leaves`]).
pub fn set_of(object: &Value, types: &dyn ListTypes) -> FieldSet {
    leaves(object, types).into_keys().collect()
}

/// Every node of an object, objects included (what `fieldsV1` marks with `.`);
/// structured-merge-diff's test data is written this way.
#[cfg(test)]
fn every_node(object: &Value, types: &dyn ListTypes) -> FieldSet {
    let mut set = FieldSet::new();
    for path in set_of(object, types) {
        for end in 1..=path.len() {
            set.insert(path[..end].to_vec());
        }
    }
    set
}

/// What changed between two versions of an object.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Comparison {
    /// Nodes new or with another value.
    pub changed: FieldSet,
    /// Nodes gone.
    pub removed: FieldSet,
}

/// Compares two versions node by node. Equal subtrees are stepped over
/// (they own the same nodes with the same values), so a write pays for
/// what it changed rather than for the whole object; where they differ
/// and are not both non-empty objects, their nodes are compared as
/// [`leaves`] lists them (a list's items, a value's type).
pub fn compare(old: &Value, new: &Value, types: &dyn ListTypes) -> Comparison {
    let mut out = Comparison::default();
    compare_at(Some(old), Some(new), &mut Vec::new(), types, &mut out);
    out
}

fn compare_at(old: Option<&Value>, new: Option<&Value>, path: &mut Path, types: &dyn ListTypes, out: &mut Comparison) {
    if old == new {
        return;
    }
    if let (Some(Value::Object(before)), Some(Value::Object(after))) = (old, new)
        && !before.is_empty()
        && !after.is_empty()
    {
        // The nodes of a non-empty object are its fields' nodes, and no two fields share one.
        for (key, child) in after {
            path.push(Step::Field(key.clone()));
            compare_at(before.get(key), Some(child), path, types, out);
            path.pop();
        }
        for (key, child) in before.iter().filter(|(key, _)| !after.contains_key(*key)) {
            path.push(Step::Field(key.clone()));
            compare_at(Some(child), None, path, types, out);
            path.pop();
        }
        return;
    }
    let mut before = BTreeMap::new();
    let mut after = BTreeMap::new();
    if let Some(old) = old {
        walk(old, path, types, &mut before);
    }
    if let Some(new) = new {
        walk(new, path, types, &mut after);
    }
    out.removed.extend(before.keys().filter(|p| !after.contains_key(*p)).cloned());
    out.changed.extend(after.into_iter().filter(|(p, v)| before.get(p) != Some(v)).map(|(p, _)| p));
}

/// Decodes a `fieldsV1` tree.
pub fn decode(fields: &Value) -> FieldSet {
    let mut set = FieldSet::new();
    decode_into(fields, &mut Vec::new(), &mut set);
    set
}

fn decode_into(node: &Value, path: &mut Path, set: &mut FieldSet) {
    let Some(children) = node.as_object() else { return };
    if children.is_empty() && !path.is_empty() {
        set.insert(path.clone());
        return;
    }
    for (key, child) in children {
        if key == "." {
            set.insert(path.clone());
            continue;
        }
        let step = match key.split_at_checked(2) {
            Some(("f:", name)) => Step::Field(name.to_owned()),
            Some(("k:", json)) => Step::Key(canonical(json)),
            Some(("v:", json)) => Step::Value(canonical(json)),
            Some(("i:", index)) => match index.parse() {
                Ok(i) => Step::Index(i),
                Err(_) => continue,
            },
            _ => continue,
        };
        path.push(step);
        decode_into(child, path, set);
        path.pop();
    }
}

/// JSON text with sorted keys and no spaces (how steps compare).
fn canonical(json: &str) -> String {
    serde_json::from_str::<Value>(json).map(|v| v.to_string()).unwrap_or_else(|_| json.to_owned())
}

/// The `fieldsV1` key of a step.
fn key_of_step(step: &Step) -> String {
    match step {
        Step::Field(name) => format!("f:{name}"),
        Step::Key(json) => format!("k:{json}"),
        Step::Value(json) => format!("v:{json}"),
        Step::Index(index) => format!("i:{index}"),
    }
}

/// Encodes a set as a `fieldsV1` tree: a member with members below it is
/// marked with `.`. A set lists a path before the paths it is a prefix of,
/// so a node already there and still empty when a longer path goes
/// through it is a member that gains its `.` then.
pub fn encode(set: &FieldSet) -> Value {
    let mut root = Map::new();
    for path in set {
        let mut node = &mut root;
        for (depth, step) in path.iter().enumerate() {
            let key = key_of_step(step);
            let existed = node.contains_key(&key);
            let Some(child) = node.entry(key).or_insert_with(|| Value::Object(Map::new())).as_object_mut() else {
                break;
            };
            if existed && child.is_empty() && depth + 1 < path.len() {
                child.insert(".".into(), Value::Object(Map::new()));
            }
            node = child;
        }
    }
    Value::Object(root)
}

/// Whether a `fieldsV1` tree as [`encode`] writes it has `path` as a member
/// (without decoding the whole tree).
fn encoded_member(fields: &Value, path: &[Step]) -> bool {
    if path.is_empty() {
        return false;
    }
    let mut node = fields;
    for step in path {
        match node.as_object().and_then(|map| map.get(&key_of_step(step))) {
            Some(child) => node = child,
            None => return false,
        }
    }
    node.as_object().is_some_and(|map| map.is_empty() || map.contains_key("."))
}

/// One entry of `metadata.managedFields`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The field manager.
    pub manager: String,
    /// `Apply` or `Update`.
    pub operation: String,
    /// The API version the fields were written in.
    pub api_version: String,
    /// `status` for writes to the status subresource.
    pub subresource: Option<String>,
    /// When the set last changed.
    pub time: String,
    /// The fields owned.
    pub set: FieldSet,
}

impl Entry {
    /// Whether two entries are the same manager as the API server tells
    /// them apart: name, operation and subresource, and for updates the
    /// API version too.
    pub fn same_manager(&self, other: &Entry) -> bool {
        self.manager == other.manager
            && self.operation == other.operation
            && self.subresource == other.subresource
            && (self.operation == "Apply" || self.api_version == other.api_version)
    }

    /// How a conflict message names the manager: `"m"`, then `with
    /// subresource "status"` and for updates `using <apiVersion>`.
    pub fn shown(&self) -> String {
        let mut out = format!("{:?}", self.manager);
        if let Some(sub) = &self.subresource {
            out.push_str(&format!(" with subresource {sub:?}"));
        }
        // The manager's identity leaves its time out, so no `at <time>` follows.
        if self.operation == "Update" {
            out.push_str(&format!(" using {}", self.api_version));
        }
        out
    }
}

/// The entries stored on an object.
pub fn entries_of(object: &Value) -> Vec<Entry> {
    object["metadata"]["managedFields"].as_array().into_iter().flatten().map(entry_of).collect()
}

/// One stored entry, its set decoded.
fn entry_of(stored: &Value) -> Entry {
    Entry { set: decode(&stored["fieldsV1"]), ..head_of(stored) }
}

/// One stored entry without its set.
fn head_of(stored: &Value) -> Entry {
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    Entry {
        manager: text(&stored["manager"]),
        operation: text(&stored["operation"]),
        api_version: text(&stored["apiVersion"]),
        subresource: stored["subresource"].as_str().map(str::to_owned),
        time: text(&stored["time"]),
        set: FieldSet::new(),
    }
}

/// Stores entries on an object as the API server orders them: `Apply`
/// before `Update`, then by time, manager, API version and subresource.
/// Entries that own nothing are dropped.
pub fn store_entries(object: &mut Value, entries: Vec<Entry>) {
    let stored = entries.into_iter().filter(|e| !e.set.is_empty()).map(|e| (e.order(), e.stored())).collect();
    store_ordered(object, stored);
}

/// What entries are ordered by: operation, time, manager, API version, subresource.
type Order = (String, String, String, String, Option<String>);

fn store_ordered(object: &mut Value, mut stored: Vec<(Order, Value)>) {
    stored.sort_by(|a, b| a.0.cmp(&b.0));
    let encoded: Vec<Value> = stored.into_iter().map(|(_, m)| m).collect();
    if let Some(meta) = object.get_mut("metadata").and_then(Value::as_object_mut) {
        if encoded.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".into(), Value::Array(encoded));
        }
    }
}

impl Entry {
    fn order(&self) -> Order {
        let e = self;
        (e.operation.clone(), e.time.clone(), e.manager.clone(), e.api_version.clone(), e.subresource.clone())
    }

    /// The entry as `metadata.managedFields` holds it.
    fn stored(&self) -> Value {
        let e = self;
        let mut m = json!({
            "manager": e.manager,
            "operation": e.operation,
            "apiVersion": e.api_version,
            "time": e.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode(&e.set),
        });
        if let Some(sub) = &e.subresource {
            m["subresource"] = json!(sub);
        }
        m
    }
}

/// Who wrote, and how.
#[derive(Clone, Debug)]
pub struct Writer<'a> {
    /// The field manager.
    pub manager: &'a str,
    /// `Apply` or `Update`.
    pub operation: &'a str,
    /// The API version written.
    pub api_version: &'a str,
    /// Whether the write went to the status subresource.
    pub status: bool,
    /// Now.
    pub time: &'a str,
}

impl Writer<'_> {
    /// An empty entry for this writer.
    pub fn entry(&self) -> Entry {
        Entry {
            manager: self.manager.to_owned(),
            operation: self.operation.to_owned(),
            api_version: self.api_version.to_owned(),
            subresource: self.status.then(|| "status".to_owned()),
            time: self.time.to_owned(),
            set: FieldSet::new(),
        }
    }
}

/// Ownership after a non-apply write (create, replace, any patch but
/// apply) turned `old` into `new`: the writer's `Update` entry gains what
/// changed, other managers lose it, and everyone loses what went.
///
/// Every stored `managedFields` list is [`store_entries`]' own output (a
/// create drops the one it is sent, every write stores them again), so an
/// entry none of the changed or removed nodes is a member of is kept as it
/// is stored, without decoding and encoding its set; only the entries the
/// write moves are decoded.
pub fn record_update(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>, types: &dyn ListTypes) {
    let empty = json!({});
    let comparison = compare(old.unwrap_or(&empty), new, types);
    let changed: FieldSet = comparison.changed.into_iter().filter(|p| in_scope(p, writer.status)).collect();
    let removed = comparison.removed;
    let mine = writer.entry();
    let stored_entries = old.and_then(|o| o["metadata"]["managedFields"].as_array()).map(Vec::as_slice).unwrap_or(&[]);
    let mut out: Vec<(Order, Value)> = Vec::with_capacity(stored_entries.len() + 1);
    let mut mine_found = false;
    for stored in stored_entries {
        let entry = head_of(stored);
        let is_mine = entry.same_manager(&mine);
        let gains = is_mine && !mine_found && !changed.is_empty();
        mine_found |= is_mine;
        let fields = &stored["fieldsV1"];
        let loses = |set: &FieldSet| set.iter().any(|p| encoded_member(fields, p));
        let moved = loses(&removed) || (!is_mine && loses(&changed));
        if !moved && !gains {
            debug_assert_eq!(entry_of(stored).stored(), *stored, "a stored entry is store_entries' output");
            out.push((entry.order(), stored.clone()));
            continue;
        }
        if gains && !moved && changed.iter().all(|p| encoded_member(fields, p)) {
            // Owns all it changed already: the same set, at the new time.
            let mut kept = stored.clone();
            kept["time"] = json!(writer.time);
            out.push((Entry { time: writer.time.to_owned(), ..entry }.order(), kept));
            continue;
        }
        let mut entry = Entry { set: decode(fields), ..entry };
        entry.set.retain(|p| !removed.contains(p));
        if !is_mine {
            entry.set.retain(|p| !changed.contains(p));
        }
        if gains {
            entry.set.extend(changed.iter().cloned());
            entry.time = writer.time.to_owned();
        }
        if !entry.set.is_empty() {
            out.push((entry.order(), entry.stored()));
        }
    }
    if !mine_found && !changed.is_empty() {
        let entry = Entry { set: changed, ..mine };
        out.push((entry.order(), entry.stored()));
    }
    store_ordered(new, out);
}

/// The default manager of a write without `fieldManager`: the user agent up to its first `/`.
pub fn manager_from_user_agent(user_agent: Option<&str>) -> String {
    let agent = user_agent.unwrap_or_default();
    let prefix = agent.split('/').next().unwrap_or_default().trim();
    if prefix.is_empty() { "unknown".to_owned() } else { prefix.chars().take(128).collect() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::list_types::BuiltIn;

    #[test]
    fn fields_v1_round_trips_and_marks_owned_parents_with_a_dot() {
        let fields = json!({"f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:containers": {
            "k:{\"name\":\"app\"}": {".": {}, "f:image": {}, "f:name": {}}}, "f:finalizers": {"v:\"a\"": {}}}});
        let set = decode(&fields);
        assert!(set.contains(&vec![
            Step::Field("spec".into()),
            Step::Field("containers".into()),
            Step::Key("{\"name\":\"app\"}".into())
        ]));
        assert_eq!(encode(&set), fields);
        let path = vec![
            Step::Field("spec".into()),
            Step::Field("containers".into()),
            Step::Key("{\"name\":\"app\"}".into()),
            Step::Field("image".into()),
        ];
        assert_eq!(show(&path), ".spec.containers[name=\"app\"].image");
    }

    #[test]
    fn an_update_takes_what_it_changed_from_the_applier() {
        let types = BuiltIn;
        let mut old = json!({"metadata": {"name": "m"}, "data": {"a": "1", "b": "2"}});
        let mut applier = Entry {
            manager: "sparkplane".into(),
            operation: "Apply".into(),
            api_version: "v1".into(),
            subresource: None,
            time: "t0".into(),
            set: set_of(&json!({"data": {"a": "1", "b": "2"}}), &types),
        };
        applier.set.retain(|p| in_scope(p, false));
        store_entries(&mut old, vec![applier]);
        let mut new = json!({"metadata": {"name": "m"}, "data": {"a": "9", "b": "2"}});
        let writer =
            Writer { manager: "kubectl-edit", operation: "Update", api_version: "v1", status: false, time: "t1" };
        record_update(Some(&old), &mut new, &writer, &types);
        let entries = entries_of(&new);
        let owners: Vec<(&str, Value)> = entries.iter().map(|e| (e.manager.as_str(), encode(&e.set))).collect();
        assert_eq!(
            owners,
            [("sparkplane", json!({"f:data": {"f:b": {}}})), ("kubectl-edit", json!({"f:data": {"f:a": {}}}))]
        );
    }

    fn data(name: &str) -> String {
        let path = format!("{}/tests/data/structured-merge-diff/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    /// Test data of kubernetes-sigs/structured-merge-diff (see the README beside it).
    #[test]
    fn the_field_set_of_a_pod_is_the_one_structured_merge_diff_computes() {
        let source = sparkplane_documents::source::Source::new("pod.yaml", data("pod.yaml"));
        let pod = sparkplane_documents::yaml::parse_single(&source).expect("pod.yaml parses").to_json();
        let expected: Value = serde_json::from_str(&data("podset.json")).expect("podset.json parses");
        assert_eq!(encode(&every_node(&pod, &BuiltIn)), expected);
        assert_eq!(decode(&expected), every_node(&pod, &BuiltIn), "decoding gives the same set back");
    }

    #[test]
    fn the_default_manager_is_the_user_agents_first_word() {
        assert_eq!(manager_from_user_agent(Some("kubectl/v1.33.1 (linux/amd64) kubernetes/abc")), "kubectl");
        assert_eq!(manager_from_user_agent(Some("OpenAPI-Generator/33.1.0/python")), "OpenAPI-Generator");
        assert_eq!(manager_from_user_agent(None), "unknown");
    }
}

#[cfg(test)]
#[path = "managed_fields_tests.rs"]
mod whole_object_tests;
