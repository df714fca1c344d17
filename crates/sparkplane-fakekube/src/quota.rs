//! ResourceQuota as the API server enforces it: a pod whose requests or
//! limits would take a namespace past a quota's `hard` is refused at
//! creation with 403 Forbidden and the API server's "exceeded quota"
//! message, and each quota's `status.used` follows the pods that are not
//! finished (the quota controller's job).
//!
//! Owns: which pod resources count against which quota keys, and the message.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::scheduler::units;
use crate::store::{Answer, Store, status};

/// Quota keys this fake accounts for, with the scale each is counted in (10^-scale units).
const TRACKED: [(&str, i32); 8] = [
    ("pods", 0),
    ("count/pods", 0),
    ("requests.cpu", 3),
    ("cpu", 3),
    ("requests.memory", 0),
    ("memory", 0),
    ("limits.cpu", 3),
    ("limits.memory", 0),
];

fn sum(pod: &Value, section: &str, resource: &str, scale: i32) -> u64 {
    pod["spec"]["containers"]
        .as_array()
        .map(|cs| {
            cs.iter()
                .map(|c| {
                    let value = &c["resources"][section][resource];
                    let value = if value.is_null() && section == "requests" {
                        &c["resources"]["limits"][resource]
                    } else {
                        value
                    };
                    units(value, scale)
                })
                .sum()
        })
        .unwrap_or(0)
}

/// What one pod counts for `key`.
fn usage(pod: &Value, key: &str, scale: i32) -> u64 {
    match key {
        "pods" | "count/pods" => 1,
        "requests.cpu" | "cpu" => sum(pod, "requests", "cpu", scale),
        "requests.memory" | "memory" => sum(pod, "requests", "memory", scale),
        "limits.cpu" => sum(pod, "limits", "cpu", scale),
        "limits.memory" => sum(pod, "limits", "memory", scale),
        _ => 0,
    }
}

fn finished(pod: &Value) -> bool {
    matches!(pod["status"]["phase"].as_str(), Some("Succeeded" | "Failed"))
}

fn quotas(store: &Store, namespace: &str) -> Vec<Value> {
    store
        .objects
        .range(
            ("v1".to_owned(), "resourcequotas".to_owned(), Some(namespace.to_owned()), String::new())
                ..("v1".to_owned(), "resourcequotas".to_owned(), Some(format!("{namespace}\0")), String::new()),
        )
        .map(|(_, v)| v.clone())
        .collect()
}

fn live_pods<'a>(store: &'a Store, namespace: &str) -> impl Iterator<Item = &'a Value> {
    store
        .objects
        .range(
            ("v1".to_owned(), "pods".to_owned(), Some(namespace.to_owned()), String::new())
                ..("v1".to_owned(), "pods".to_owned(), Some(format!("{namespace}\0")), String::new()),
        )
        .map(|(_, v)| v)
        .filter(|p| !finished(p))
}

/// Quantities written as the API server canonicalises them.
fn format(key: &str, value: u64) -> String {
    if key.ends_with("cpu") {
        if value.is_multiple_of(1000) { (value / 1000).to_string() } else { format!("{value}m") }
    } else if key.ends_with("memory") {
        match value {
            0 => "0".into(),
            v if v % (1 << 30) == 0 => format!("{}Gi", v >> 30),
            v if v % (1 << 20) == 0 => format!("{}Mi", v >> 20),
            v if v % (1 << 10) == 0 => format!("{}Ki", v >> 10),
            v => v.to_string(),
        }
    } else {
        value.to_string()
    }
}

/// One key over its limit: key, requested, used, limit.
type Over = (&'static str, u64, u64, u64);

/// Admission of a new pod: Ok, or 403 with the first quota it exceeds.
pub fn admit(store: &Store, namespace: &str, pod: &Value) -> Result<(), Answer> {
    let name =
        pod["metadata"]["name"].as_str().or_else(|| pod["metadata"]["generateName"].as_str()).unwrap_or_default();
    for quota in quotas(store, namespace) {
        let Some(hard) = quota["spec"]["hard"].as_object() else { continue };
        let mut over: Vec<Over> = Vec::new();
        for (key, scale) in TRACKED {
            let Some(limit) = hard.get(key) else { continue };
            let limit = units(limit, scale);
            let asked = usage(pod, key, scale);
            if asked == 0 {
                continue;
            }
            let used: u64 = live_pods(store, namespace).map(|p| usage(p, key, scale)).sum();
            if used.saturating_add(asked) > limit {
                over.push((key, asked, used, limit));
            }
        }
        if !over.is_empty() {
            let list = |f: &dyn Fn(&Over) -> u64| {
                over.iter().map(|o| format!("{}={}", o.0, format(o.0, f(o)))).collect::<Vec<_>>().join(",")
            };
            let quota_name = quota["metadata"]["name"].as_str().unwrap_or_default();
            let message = format!(
                "pods \"{name}\" is forbidden: exceeded quota: {quota_name}, requested: {}, used: {}, limited: {}",
                list(&|o| o.1),
                list(&|o| o.2),
                list(&|o| o.3)
            );
            return Err(status(403, "Forbidden", message, json!({"name": name, "kind": "pods"})));
        }
    }
    Ok(())
}

/// Brings every quota of `namespace` up to date (`status.hard` and
/// `status.used`); true when one changed.
pub fn refresh(store: &mut Store, namespace: &str) -> bool {
    let mut changed = false;
    for mut quota in quotas(store, namespace) {
        let Some(hard) = quota["spec"]["hard"].as_object().cloned() else { continue };
        let mut used = BTreeMap::new();
        for (key, scale) in TRACKED {
            if hard.contains_key(key) {
                let total: u64 = live_pods(store, namespace).map(|p| usage(p, key, scale)).sum();
                used.insert(key.to_owned(), json!(format(key, total)));
            }
        }
        let status = json!({"hard": hard, "used": used});
        if quota["status"] != status {
            quota["status"] = status;
            store.put(quota);
            changed = true;
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::WriteOptions;

    fn path(plural: &str) -> crate::resources::ResourcePath {
        crate::resources::ResourcePath {
            group: String::new(),
            version: "v1".into(),
            namespace: Some("data".into()),
            plural: plural.into(),
            name: None,
            subresource: None,
        }
    }

    fn pod(name: &str, memory: &str) -> Value {
        json!({"metadata": {"name": name}, "spec": {"containers": [{"name": "c", "resources": {"requests": {"cpu": "1", "memory": memory}, "limits": {"memory": memory}}}]}})
    }

    #[test]
    fn pods_past_the_hard_limit_are_refused_with_the_api_servers_message() {
        let mut store = Store::default();
        let quota = json!({"metadata": {"name": "team"}, "spec": {"hard": {"requests.memory": "6Gi", "pods": "10"}}});
        store.create(&path("resourcequotas"), quota, &WriteOptions::default());
        store.create(&path("pods"), pod("a", "4Gi"), &WriteOptions::default());
        assert!(refresh(&mut store, "data"));
        assert!(!refresh(&mut store, "data"), "nothing changed the second time");
        let q = store.objects.values().find(|v| v["kind"] == "ResourceQuota").expect("quota");
        assert_eq!(q["status"]["used"], json!({"pods": "1", "requests.memory": "4Gi"}));
        assert_eq!(admit(&store, "data", &pod("b", "2Gi")), Ok(()));
        let refused = admit(&store, "data", &pod("b", "3Gi")).expect_err("over the quota");
        let Answer::Json(code, body) = refused else { panic!("json") };
        assert_eq!(code, 403);
        assert_eq!(
            body["message"],
            "pods \"b\" is forbidden: exceeded quota: team, requested: requests.memory=3Gi, used: requests.memory=4Gi, limited: requests.memory=6Gi"
        );
        assert_eq!(admit(&store, "other", &pod("b", "300Gi")), Ok(()), "quotas are per namespace");
    }
}
