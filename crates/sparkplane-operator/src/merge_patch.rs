//! The JSON merge patch (RFC 7386) a status write sends: what changed
//! between the status held and the one decided, and a null for each field
//! the new one no longer has. Pure: every status write (SparkJob, a
//! SparkApplication's, a ScheduledSparkApplication's) builds its patch here.
//!
//! Owns: that diff. Must not: make requests or know what a status means.

use serde_json::{Map, Value};

/// A JSON merge patch turning `old` into `new`: changed values, and nulls
/// for fields `new` no longer has.
pub fn merge_diff(old: &Value, new: &Value) -> Value {
    match (old, new) {
        (Value::Object(a), Value::Object(b)) => {
            let mut out = Map::new();
            for (key, value) in b {
                match a.get(key) {
                    Some(previous) if previous == value => {}
                    Some(previous) if previous.is_object() && value.is_object() => {
                        out.insert(key.clone(), merge_diff(previous, value));
                    }
                    _ => {
                        out.insert(key.clone(), value.clone());
                    }
                }
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                out.insert(key.clone(), Value::Null);
            }
            Value::Object(out)
        }
        _ => new.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::merge_diff;
    use serde_json::json;

    #[test]
    fn merge_diff_sets_changes_and_nulls_removals() {
        let old = json!({"state": "Running", "nextRetryAt": "x", "executors": {"running": 2, "pending": 1}, "transitions": [1]});
        let new = json!({"state": "Failed", "executors": {"running": 0, "pending": 1}, "transitions": [1, 2]});
        assert_eq!(
            merge_diff(&old, &new),
            json!({"state": "Failed", "nextRetryAt": null, "executors": {"running": 0}, "transitions": [1, 2]})
        );
        assert_eq!(merge_diff(&new, &new), json!({}));
    }
}
