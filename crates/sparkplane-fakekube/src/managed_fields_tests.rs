//! The cheap paths of `managed_fields` (a comparison that steps over equal
//! subtrees, an encoding that marks members as it goes, entries kept as
//! stored when a write does not move them) against their definitions: every
//! node of both versions compared, the `.` rule checked node by node, and
//! every entry decoded, changed and encoded again, over tables of writes.

use serde_json::{Value, json};

use super::*;
use crate::list_types::{BuiltIn, Schema};

/// The definition `compare` must agree with: every node of both versions.
fn compare_whole(old: &Value, new: &Value, types: &dyn ListTypes) -> Comparison {
    let before = leaves(old, types);
    let after = leaves(new, types);
    Comparison {
        changed: after.iter().filter(|(p, v)| before.get(*p) != Some(*v)).map(|(p, _)| p.clone()).collect(),
        removed: before.keys().filter(|p| !after.contains_key(*p)).cloned().collect(),
    }
}

/// The definition `record_update` must agree with: every entry decoded,
/// changed and stored again.
fn record_whole(old: Option<&Value>, new: &mut Value, writer: &Writer<'_>, types: &dyn ListTypes) {
    let comparison = compare_whole(old.unwrap_or(&json!({})), new, types);
    let changed: FieldSet = comparison.changed.into_iter().filter(|p| in_scope(p, writer.status)).collect();
    let mut entries = old.map(entries_of).unwrap_or_default();
    let mine = writer.entry();
    for entry in &mut entries {
        entry.set.retain(|p| !comparison.removed.contains(p));
        if !entry.same_manager(&mine) {
            entry.set.retain(|p| !changed.contains(p));
        }
    }
    if !changed.is_empty() {
        match entries.iter_mut().find(|e| e.same_manager(&mine)) {
            Some(entry) => {
                entry.set.extend(changed);
                entry.time = writer.time.to_owned();
            }
            None => entries.push(Entry { set: changed, ..mine }),
        }
    }
    store_entries(new, entries);
}

/// Checks an encoded tree node by node: a node without children is a
/// member; one with children has `.` exactly when it is a member.
fn check_encoding(node: &Value, path: &mut Path, set: &FieldSet) {
    let map = node.as_object().expect("every node is an object");
    let children: Vec<&String> = map.keys().filter(|k| *k != ".").collect();
    if !path.is_empty() {
        let member = set.contains(path);
        if children.is_empty() {
            assert!(member && !map.contains_key("."), "{} is a leaf of the tree, so a member", show(path));
        } else {
            assert_eq!(map.contains_key("."), member, "{}: `.` exactly when a member", show(path));
        }
    }
    for key in children {
        let step = match key.split_at(2) {
            ("f:", name) => Step::Field(name.to_owned()),
            ("k:", json) => Step::Key(json.to_owned()),
            ("v:", json) => Step::Value(json.to_owned()),
            (_, index) => Step::Index(index.parse().expect("an index")),
        };
        path.push(step);
        check_encoding(&map[key.as_str()], path, set);
        path.pop();
    }
}

fn pod() -> Value {
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p", "labels": {"app": "a"}, "finalizers": ["x"]},
        "spec": {"containers": [{"name": "app", "image": "i:1", "env": [{"name": "A", "value": "1"}], "args": ["a"]},
                                {"name": "side", "image": "s:1", "ports": [{"containerPort": 80, "protocol": "TCP"}]}],
                 "tolerations": [{"key": "k"}], "empty": {}},
        "status": {"phase": "Pending", "conditions": [{"type": "Ready", "status": "False"}]}})
}

/// Edits of the pod above, each compared both ways.
fn edits() -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut edit = |name: &'static str, change: &dyn Fn(&mut Value)| {
        let mut new = pod();
        change(&mut new);
        out.push((name, new));
    };
    edit("nothing", &|_| {});
    edit("a scalar", &|p| p["spec"]["containers"][0]["image"] = json!("i:2"));
    edit("a keyed item's field", &|p| p["spec"]["containers"][0]["env"][0]["value"] = json!("2"));
    edit("a keyed item added", &|p| {
        p["spec"]["containers"][0]["env"].as_array_mut().unwrap().push(json!({"name": "B", "value": "b"}))
    });
    edit("keyed items reordered", &|p| p["spec"]["containers"].as_array_mut().unwrap().reverse());
    edit("a keyed item removed", &|p| {
        p["spec"]["containers"].as_array_mut().unwrap().pop();
    });
    edit("a set item", &|p| p["metadata"]["finalizers"] = json!(["y", "x"]));
    edit("an atomic list", &|p| p["spec"]["tolerations"] = json!([{"key": "k", "value": "v"}]));
    edit("an atomic list in an item", &|p| p["spec"]["containers"][0]["args"] = json!(["b"]));
    edit("an empty object filled", &|p| p["spec"]["empty"] = json!({"a": 1}));
    edit("an object emptied", &|p| p["metadata"]["labels"] = json!({}));
    edit("an object turned scalar", &|p| p["spec"]["containers"][1]["ports"] = json!("none"));
    edit("a field removed", &|p| {
        p["status"].as_object_mut().unwrap().remove("conditions");
    });
    edit("a tree added", &|p| p["spec"]["affinity"] = json!({"nodeAffinity": {"a": [1, 2]}}));
    edit("a value of another type", &|p| p["spec"]["containers"][0]["image"] = json!(7));
    edit("null", &|p| p["spec"]["containers"][0]["image"] = Value::Null);
    edit("the root emptied", &|p| *p = json!({}));
    edit("many at once", &|p| {
        p["status"]["phase"] = json!("Running");
        p["metadata"]["labels"]["b"] = json!("2");
        p["spec"]["containers"][0]["env"] = json!([]);
    });
    out
}

#[test]
fn a_comparison_that_steps_over_equal_subtrees_finds_what_every_node_compared_finds() {
    for (name, new) in edits() {
        for (old, new) in [(pod(), new.clone()), (new.clone(), pod()), (json!({}), new.clone())] {
            let fast = compare(&old, &new, &BuiltIn);
            assert_eq!(fast, compare_whole(&old, &new, &BuiltIn), "{name}: {old} -> {new}");
        }
    }
    let one = compare(&pod(), &edits()[1].1, &BuiltIn);
    assert_eq!(one.changed.iter().map(|p| show(p)).collect::<Vec<_>>(), [".spec.containers[name=\"app\"].image"]);
    assert!(one.removed.is_empty());
}

#[test]
fn an_encoded_set_marks_exactly_its_members_that_have_members_below() {
    for (name, object) in edits().into_iter().chain([("the pod", pod())]) {
        let set = every_node(&object, &BuiltIn);
        let leaves_only = set_of(&object, &BuiltIn);
        for set in [set, leaves_only] {
            let encoded = encode(&set);
            check_encoding(&encoded, &mut Vec::new(), &set);
            assert_eq!(decode(&encoded), set, "{name}: decoding gives the set back");
            for path in &set {
                assert!(encoded_member(&encoded, path), "{name}: {} is found in the tree", show(path));
            }
        }
    }
    let parent = vec![Step::Field("a".into())];
    let set: FieldSet = [parent.clone(), vec![Step::Field("a".into()), Step::Field("b".into())]].into();
    assert_eq!(encode(&set), json!({"f:a": {".": {}, "f:b": {}}}));
    assert!(encoded_member(&encode(&set), &parent));
    let below_only: FieldSet = [vec![Step::Field("a".into()), Step::Field("b".into())]].into();
    assert_eq!(encode(&below_only), json!({"f:a": {"f:b": {}}}));
    assert!(!encoded_member(&encode(&below_only), &parent), "a parent without `.` is not a member");
    assert!(!encoded_member(&encode(&below_only), &[]), "the root is never a member");
}

struct Write {
    manager: &'static str,
    status: bool,
    api_version: &'static str,
    change: fn(&mut Value),
}

/// A run of writes the way the operator's and a user's arrive, each one
/// recorded both ways on the object the one before stored.
fn writes() -> Vec<Write> {
    fn w(manager: &'static str, status: bool, change: fn(&mut Value)) -> Write {
        Write { manager, status, api_version: "v1", change }
    }
    vec![
        w("bench", false, |_| {}),
        w("sparkplane", false, |p| p["metadata"]["annotations"] = json!({"sparkplane.dev/conditions": "[]"})),
        w("sparkplane", true, |p| p["status"]["applicationState"] = json!({"state": "SUBMITTED"})),
        // All it changes it owns already: the same set, at a new time.
        w("sparkplane", true, |p| p["status"]["applicationState"]["state"] = json!("RUNNING")),
        w("sparkplane", true, |p| p["status"]["driverInfo"] = json!({"podName": "d", "webUIPort": 4040})),
        // A status write changes nothing outside status, and loses what it removed.
        w("sparkplane", true, |p| {
            p["status"]["driverInfo"].as_object_mut().unwrap().remove("webUIPort");
        }),
        w("kubectl-edit", false, |p| p["spec"]["containers"][0]["image"] = json!("i:2")),
        w("bench", false, |p| p["spec"]["containers"][0]["image"] = json!("i:3")),
        w("kubectl-edit", false, |p| p["spec"]["containers"][0]["env"][0]["value"] = json!("9")),
        // Another manager's only field removed: its entry goes.
        w("bench", false, |p| {
            p["spec"]["containers"][0].as_object_mut().unwrap().remove("env");
        }),
        w("bench", false, |p| p["spec"]["containers"].as_array_mut().unwrap().reverse()),
        w("sparkplane", false, |p| p["metadata"]["finalizers"] = json!(["x", "y"])),
        // The same name in another API version is another manager.
        Write {
            manager: "sparkplane",
            status: false,
            api_version: "v2",
            change: |p| p["spec"]["tolerations"] = json!([]),
        },
        w("bench", false, |_| {}),
        w("sparkplane", true, |p| p["status"] = json!({"phase": "Succeeded"})),
        w("bench", false, |p| p["spec"] = json!({"containers": [{"name": "app", "image": "i:4"}]})),
    ]
}

fn replay(first: Value, types: &dyn ListTypes) -> Vec<Value> {
    let mut stored: Option<Value> = None;
    let mut out = Vec::new();
    for (i, write) in writes().iter().enumerate() {
        let mut new = stored.clone().unwrap_or_else(|| first.clone());
        (write.change)(&mut new);
        let time = format!("t{i:02}");
        let writer = Writer {
            manager: write.manager,
            operation: "Update",
            api_version: write.api_version,
            status: write.status,
            time: &time,
        };
        let (mut fast, mut whole) = (new.clone(), new);
        record_update(stored.as_ref(), &mut fast, &writer, types);
        record_whole(stored.as_ref(), &mut whole, &writer, types);
        assert_eq!(fast["metadata"]["managedFields"], whole["metadata"]["managedFields"], "write {i}");
        out.push(fast.clone());
        stored = Some(fast);
    }
    out
}

#[test]
fn entries_kept_as_stored_are_those_decoding_every_entry_gives() {
    let mut first = pod();
    first["status"] = json!({});
    let stored = replay(first.clone(), &BuiltIn);
    let owners = |i: usize| -> Vec<(String, String, Value)> {
        entries_of(&stored[i]).into_iter().map(|e| (e.manager, e.time, encode(&e.set))).collect()
    };
    // The status writer owning all it changed keeps its set and moves its time.
    assert_eq!(
        owners(3)[2],
        ("sparkplane".into(), "t03".into(), json!({"f:status": {"f:applicationState": {"f:state": {}}}}))
    );
    // kubectl-edit took the image from bench, then bench took it back and kubectl-edit kept the env value.
    assert!(owners(8).iter().any(|(m, _, f)| m == "kubectl-edit"
        && *f == json!({"f:spec": {"f:containers": {"k:{\"name\":\"app\"}": {"f:env": {"k:{\"name\":\"A\"}": {"f:value": {}}}}}}})));
    // Its env went: kubectl-edit owns nothing and is gone.
    assert!(owners(9).iter().all(|(m, _, _)| m != "kubectl-edit"));

    // The same run over a custom resource, its lists declared by a schema.
    let schema = json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
        "containers": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
            "items": {"type": "object", "properties": {"env": {"type": "array", "x-kubernetes-list-type": "map",
                "x-kubernetes-list-map-keys": ["name"]}}}}}}}});
    replay(first, &Schema { root: &schema });
}
