//! `environment`: Spark's `ApplicationEnvironmentInfo` (runtime,
//! properties sorted by name, classpath) with its `ResourceProfileInfo`s.
//!
//! Owns: that shape. Must not: pick or hide a property (every one the log
//! holds is answered, as Spark does).

use std::collections::BTreeMap;

use serde_json::Value;

fn pairs(value: Option<&Value>) -> Vec<[String; 2]> {
    let mut out: Vec<[String; 2]> = value
        .and_then(Value::as_object)
        .map(|o| o.iter().map(|(k, v)| [k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_owned)]).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Spark's `ResourceProfileInfo` of a `SparkListenerResourceProfileAdded` event.
fn resource_profile_json(event: &Value) -> Value {
    let requests = |key: &str, fields: &[(&str, &str)]| -> serde_json::Map<String, Value> {
        event
            .get(key)
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(name, r)| {
                let entry: serde_json::Map<String, Value> =
                    fields.iter().filter_map(|(from, to)| Some(((*to).to_owned(), r.get(*from)?.clone()))).collect();
                (name.clone(), Value::Object(entry))
            })
            .collect()
    };
    let executor = [
        ("Resource Name", "resourceName"),
        ("Amount", "amount"),
        ("Discovery Script", "discoveryScript"),
        ("Vendor", "vendor"),
    ];
    let task = [("Resource Name", "resourceName"), ("Amount", "amount")];
    serde_json::json!({
        "id": event.get("Resource Profile Id").cloned().unwrap_or(Value::from(0)),
        "executorResources": requests("Executor Resource Requests", &executor),
        "taskResources": requests("Task Resource Requests", &task),
    })
}

pub(super) fn environment_json(event: Option<&Value>, profiles: &BTreeMap<i64, Value>) -> Value {
    let jvm = event.and_then(|e| e.get("JVM Information"));
    let field = |k: &str| jvm.and_then(|j| j.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned();
    serde_json::json!({
        "runtime": { "javaVersion": field("Java Version"), "javaHome": field("Java Home"), "scalaVersion": field("Scala Version") },
        "sparkProperties": pairs(event.and_then(|e| e.get("Spark Properties"))),
        "hadoopProperties": pairs(event.and_then(|e| e.get("Hadoop Properties"))),
        "systemProperties": pairs(event.and_then(|e| e.get("System Properties"))),
        "metricsProperties": pairs(event.and_then(|e| e.get("Metrics Properties"))),
        "classpathEntries": pairs(event.and_then(|e| e.get("Classpath Entries"))),
        "resourceProfiles": profiles.values().map(resource_profile_json).collect::<Vec<_>>(),
    })
}
