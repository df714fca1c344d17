//! The watch plumbing every cache of the operator shares: an `Api` over one
//! namespace or all, a reflector kept filled by a task, the slimming of a
//! cached object (no field-ownership records, no `kubectl apply` copy), and
//! a wake-up channel as a stream.
//!
//! A leaf of the operator: it imports no other operator module.
//!
//! Owns: that plumbing. Must not: know a kind, decide or write.

use futures::StreamExt;
use kube::Resource;
use kube::ResourceExt;
use kube::api::Api;
use kube::runtime::reflector;
use kube::runtime::{WatchStreamExt, watcher};
use tokio::sync::mpsc::UnboundedReceiver;

/// The annotation `kubectl apply` keeps a copy of the object in.
pub const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";

/// `K` in `namespace`, or in every namespace (None).
pub fn scoped<K>(client: &kube::Client, namespace: Option<&str>) -> Api<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// Keeps a reflector's store filled until the task is aborted.
pub fn reflect<K>(api: Api<K>, config: watcher::Config) -> (reflector::Store<K>, tokio::task::JoinHandle<()>)
where
    K: Resource + Clone + serde::de::DeserializeOwned + std::fmt::Debug + Send + Sync + 'static,
    K::DynamicType: Default + Eq + std::hash::Hash + Clone + Send + Sync,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api, config).default_backoff().reflect(writer).applied_objects();
    let task = tokio::spawn(async move {
        futures::pin_mut!(stream);
        while let Some(item) = stream.next().await {
            if let Err(error) = item {
                tracing::warn!(%error, "a watch failed; it is retried");
            }
        }
    });
    (store, task)
}

/// What a cache keeps of an object: without its field-ownership records and
/// `kubectl apply`'s copy of the whole object (never read here), each takes
/// a fraction of the memory.
pub fn slim<K: ResourceExt>(object: &mut K) {
    object.managed_fields_mut().clear();
    object.annotations_mut().remove(LAST_APPLIED);
}

/// The wake-ups sent to `rx`, as a stream (ends when every sender is gone).
pub fn stream_of<T: Send + 'static>(rx: UnboundedReceiver<T>) -> impl futures::Stream<Item = T> + Send {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cached_object_keeps_neither_field_owners_nor_the_applied_copy() {
        let mut pod: k8s_openapi::api::core::v1::Pod = serde_json::from_value(serde_json::json!({
            "metadata": {"name": "p", "annotations": {LAST_APPLIED: "{}", "keep": "me"},
                         "managedFields": [{"manager": "kubectl", "operation": "Apply"}]},
        }))
        .expect("a Pod");
        slim(&mut pod);
        assert!(pod.managed_fields().is_empty());
        assert_eq!(pod.annotations().keys().collect::<Vec<_>>(), ["keep"]);
    }
}
