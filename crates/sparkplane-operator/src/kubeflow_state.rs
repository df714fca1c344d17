//! What the operator keeps of Kubeflow's resources (`--kubeflow`, ADR 0077:
//! the v1beta2 SparkApplications and ScheduledSparkApplications, and the
//! v1alpha1 SparkConnects): how they are served, the three kinds as cached
//! (metadata, spec as compact text, status), their stores and wake-up
//! channels, and the memory of status writes the caches have not shown yet.
//!
//! A leaf of the operator: it imports no other operator module, so the
//! shared context, the writes and every controller can depend on it.
//!
//! Owns: that state and the questions asked of it (is an application
//! served, wake it). Must not: make requests, convert (the kubeflow crate
//! and `converted` do) or decide (the lifecycle does).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use k8s_openapi::NamespaceResourceScope;
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::Resource;
use kube::runtime::reflector::{ObjectRef, Store};
use serde::{Deserialize, Serialize};
use sparkplane_api::kubeflow::{
    KIND_SCHEDULED_SPARK_APPLICATION, KIND_SPARK_APPLICATION, KIND_SPARK_CONNECT, ScheduledSparkApplicationStatus,
    SparkApplicationStatus, SparkConnectStatus,
};
use sparkplane_api::labels;
use tokio::sync::mpsc::UnboundedSender;

/// How the operator serves Kubeflow's resources.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KubeflowSettings {
    /// Kubeflow's `--max-tracked-executor-per-app`: executors with a higher id
    /// are left out of `status.executorState`.
    pub max_tracked_executors: u32,
}

impl Default for KubeflowSettings {
    fn default() -> Self {
        KubeflowSettings { max_tracked_executors: sparkplane_kubeflow::status::MAX_TRACKED_EXECUTORS }
    }
}

/// A Kubeflow resource as the operator caches it: its metadata, its spec as
/// the compact JSON text the API server sent (the importer reads it when the
/// plan is made), and its status.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Cached<S> {
    /// Metadata.
    pub metadata: ObjectMeta,
    /// The spec, as compact JSON text.
    #[serde(with = "spec_text", default = "empty_spec")]
    pub spec: Arc<str>,
    /// The status.
    #[serde(default = "Option::default", skip_serializing_if = "Option::is_none")]
    pub status: Option<S>,
}

fn empty_spec() -> Arc<str> {
    Arc::from("{}")
}

/// The spec as compact JSON text, written as it is read (every watch event
/// of an application carries its spec: no document is built and dropped for
/// it), its keys in the order the API server sent them.
mod spec_text {
    use std::fmt::{self, Write};
    use std::sync::Arc;

    use serde::de::{DeserializeSeed, Error, MapAccess, SeqAccess, Visitor};
    use serde::{Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(text: &Arc<str>, serializer: S) -> Result<S::Ok, S::Error> {
        serde_json::from_str::<serde_json::Value>(text).unwrap_or(serde_json::Value::Null).serialize(serializer)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Arc<str>, D::Error> {
        let mut text = String::new();
        Text(&mut text).deserialize(deserializer)?;
        Ok(Arc::from(text))
    }

    /// Writes the value it reads to its text, as compact JSON.
    struct Text<'a>(&'a mut String);

    impl Text<'_> {
        fn json<E: Error>(self, value: impl Serialize) -> Result<(), E> {
            self.0.push_str(&serde_json::to_string(&value).map_err(E::custom)?);
            Ok(())
        }
    }

    impl<'de> DeserializeSeed<'de> for Text<'_> {
        type Value = ();

        fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }

    impl<'de> Visitor<'de> for Text<'_> {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON value")
        }
        fn visit_bool<E: Error>(self, v: bool) -> Result<(), E> {
            self.0.push_str(if v { "true" } else { "false" });
            Ok(())
        }
        fn visit_i64<E: Error>(self, v: i64) -> Result<(), E> {
            write!(self.0, "{v}").map_err(E::custom)
        }
        fn visit_u64<E: Error>(self, v: u64) -> Result<(), E> {
            write!(self.0, "{v}").map_err(E::custom)
        }
        fn visit_f64<E: Error>(self, v: f64) -> Result<(), E> {
            self.json(v)
        }
        fn visit_str<E: Error>(self, v: &str) -> Result<(), E> {
            self.json(v)
        }
        fn visit_unit<E: Error>(self) -> Result<(), E> {
            self.0.push_str("null");
            Ok(())
        }
        fn visit_none<E: Error>(self) -> Result<(), E> {
            self.visit_unit()
        }
        fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
            self.0.push('[');
            let mut first = true;
            loop {
                let mark = self.0.len();
                if !first {
                    self.0.push(',');
                }
                if seq.next_element_seed(Text(&mut *self.0))?.is_none() {
                    self.0.truncate(mark);
                    break;
                }
                first = false;
            }
            self.0.push(']');
            Ok(())
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            self.0.push('{');
            let mut first = true;
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if !first {
                    self.0.push(',');
                }
                first = false;
                Text(&mut *self.0).json::<A::Error>(&*key)?;
                self.0.push(':');
                map.next_value_seed(Text(&mut *self.0))?;
            }
            self.0.push('}');
            Ok(())
        }
    }
}

impl<S> Cached<S> {
    /// The spec as JSON.
    pub fn spec_value(&self) -> serde_json::Value {
        serde_json::from_str(&self.spec).unwrap_or(serde_json::Value::Null)
    }
}

/// A SparkApplication.
pub type App = Cached<SparkApplicationStatus>;
/// A ScheduledSparkApplication.
pub type Scheduled = Cached<ScheduledSparkApplicationStatus>;
/// A SparkConnect (a Spark Connect server, `v1alpha1`).
pub type Conn = Cached<SparkConnectStatus>;

macro_rules! kubeflow_resource {
    ($status:ty, $kind:expr) => {
        impl Resource for Cached<$status> {
            type DynamicType = ();
            type Scope = NamespaceResourceScope;

            fn kind(_: &()) -> std::borrow::Cow<'_, str> {
                $kind.into()
            }
            fn group(_: &()) -> std::borrow::Cow<'_, str> {
                sparkplane_api::kubeflow::GROUP.into()
            }
            fn version(_: &()) -> std::borrow::Cow<'_, str> {
                sparkplane_api::kubeflow::version_of($kind).into()
            }
            fn plural(_: &()) -> std::borrow::Cow<'_, str> {
                sparkplane_api::kubeflow::plural_of($kind).into()
            }
            fn meta(&self) -> &ObjectMeta {
                &self.metadata
            }
            fn meta_mut(&mut self) -> &mut ObjectMeta {
                &mut self.metadata
            }
        }
    };
}

kubeflow_resource!(SparkApplicationStatus, KIND_SPARK_APPLICATION);
kubeflow_resource!(ScheduledSparkApplicationStatus, KIND_SCHEDULED_SPARK_APPLICATION);
kubeflow_resource!(SparkConnectStatus, KIND_SPARK_CONNECT);

/// The label selector of the resources sparkplane serves.
pub fn selector() -> String {
    format!("{}={}", labels::OPERATOR, sparkplane_kubeflow::resource::SPARKPLANE)
}

/// The subject of Events about a cached Kubeflow resource.
pub fn regarding<S>(resource: &Cached<S>) -> ObjectReference
where
    Cached<S>: Resource<DynamicType = ()>,
{
    resource.object_ref(&())
}

/// What a converted job's reconcile needs of the Kubeflow side.
pub struct KubeflowState {
    /// Settings.
    pub settings: KubeflowSettings,
    /// The SparkApplications sparkplane serves.
    pub apps: Store<App>,
    /// The ScheduledSparkApplications sparkplane serves.
    pub schedules: Store<Scheduled>,
    /// The SparkConnects sparkplane serves.
    pub conns: Store<Conn>,
    app_wake: UnboundedSender<ObjectRef<App>>,
    schedule_wake: UnboundedSender<ObjectRef<Scheduled>>,
    /// Status writes the application cache may not show yet.
    pub app_writes: Mutex<Writes<(sparkplane_api::job::SparkJobStatus, SparkApplicationStatus)>>,
    /// Status writes the schedule cache may not show yet.
    pub schedule_writes: Mutex<Writes<ScheduledSparkApplicationStatus>>,
    /// Status writes the SparkConnect cache may not show yet: the server
    /// status decided and what was written of it.
    pub conn_writes: Mutex<Writes<(sparkplane_api::job::SparkJobStatus, SparkConnectStatus)>>,
    prefilled: tokio::sync::OnceCell<()>,
}

impl KubeflowState {
    /// The state over the three stores, waking through the two channels; nothing written yet.
    pub fn new(
        settings: KubeflowSettings,
        (apps, schedules, conns): (Store<App>, Store<Scheduled>, Store<Conn>),
        app_wake: UnboundedSender<ObjectRef<App>>,
        schedule_wake: UnboundedSender<ObjectRef<Scheduled>>,
    ) -> KubeflowState {
        KubeflowState {
            settings,
            apps,
            schedules,
            conns,
            app_wake,
            schedule_wake,
            app_writes: Mutex::new(Writes::default()),
            schedule_writes: Mutex::new(Writes::default()),
            conn_writes: Mutex::new(Writes::default()),
            prefilled: tokio::sync::OnceCell::new(),
        }
    }

    /// Wakes the SparkApplication `name` of `namespace`.
    pub fn wake_app(&self, namespace: &str, name: &str) {
        let _ = self.app_wake.send(ObjectRef::new(name).within(namespace));
    }

    /// Wakes the ScheduledSparkApplication `name` of `namespace`.
    pub fn wake_schedule(&self, namespace: &str, name: &str) {
        let _ = self.schedule_wake.send(ObjectRef::new(name).within(namespace));
    }

    /// Whether the operator serves the SparkApplication `name` of `namespace`.
    pub fn serves(&self, namespace: &str, name: &str) -> bool {
        self.apps.get(&ObjectRef::new(name).within(namespace)).is_some()
    }

    /// Wakes the SparkApplication `name` of `namespace`, when the operator serves one.
    pub fn wake(&self, namespace: &str, name: &str) {
        if self.serves(namespace, name) {
            self.wake_app(namespace, name);
        }
    }

    /// Once, before the first decision on an application: `running` is given
    /// every application that was running when the operator started, so the
    /// caller can count its room in the ledger and a restart admits nothing
    /// twice (as `Context::prefill` does for SparkJobs).
    pub async fn prefill(&self, mut running: impl FnMut(&App)) {
        self.prefilled
            .get_or_init(|| async {
                for app in self.apps.state() {
                    let Some(status) = app.status.as_ref() else { continue };
                    let state = status.application_state.as_ref().map(|s| s.state.as_str()).unwrap_or_default();
                    if !matches!(state, "SUBMITTED" | "RUNNING" | "UNKNOWN") {
                        continue;
                    }
                    running(&app);
                }
            })
            .await;
    }
}

/// The key the memory of writes keeps a resource under.
pub fn key(namespace: &str, name: &str) -> (String, String) {
    (namespace.to_owned(), name.to_owned())
}

/// Writes the cache may not have seen yet, per resource: the resource
/// versions read before them, the last write's answer and what was written
/// (the same rule as the SparkJob status writes, `context::StatusWrites`).
pub struct Writes<T> {
    entries: HashMap<(String, String), Written<T>>,
}

impl<T> Default for Writes<T> {
    fn default() -> Self {
        Writes { entries: HashMap::new() }
    }
}

struct Written<T> {
    superseded: Vec<String>,
    version: Option<String>,
    value: Arc<T>,
}

impl<T> Writes<T> {
    /// Records a write made after reading the versions `read` (each one the
    /// write supersedes: the cache's, and any an earlier patch of the same
    /// reconcile answered), answered at `answer`.
    pub fn remember(
        &mut self,
        key: (String, String),
        read: impl IntoIterator<Item = String>,
        answer: Option<String>,
        value: T,
    ) {
        let value = Arc::new(value);
        let written = self.entries.entry(key).or_insert_with(|| Written {
            superseded: Vec::new(),
            version: answer.clone(),
            value: Arc::clone(&value),
        });
        let previous = (written.version != answer).then(|| written.version.take()).flatten();
        for rv in read.into_iter().chain(previous) {
            if !written.superseded.contains(&rv) {
                written.superseded.push(rv);
            }
        }
        written.version = answer;
        written.value = value;
    }

    /// The last write and its version, when the cache still shows a version
    /// it superseded; otherwise the write is forgotten (the cache caught up,
    /// or someone else changed the resource since).
    pub fn freshest(&mut self, key: &(String, String), cached: Option<&str>) -> Option<(Arc<T>, Option<String>)> {
        let written = self.entries.get(key)?;
        if cached.is_some_and(|rv| written.superseded.iter().any(|s| s == rv)) {
            return Some((Arc::clone(&written.value), written.version.clone()));
        }
        self.entries.remove(key);
        None
    }

    /// What is stored now and the version a write must carry, for a decision
    /// made on version `read`: this operator's last write when it made one
    /// since that read (or the read was of it), else None (the cache's is current).
    pub fn current(&self, key: &(String, String), read: Option<&str>) -> Option<(Arc<T>, Option<String>)> {
        let written = self.entries.get(key)?;
        let ours =
            read.is_some_and(|rv| written.superseded.iter().any(|s| s == rv) || written.version.as_deref() == Some(rv));
        ours.then(|| (Arc::clone(&written.value), written.version.clone()))
    }
}

#[cfg(test)]
mod tests {
    use kube::ResourceExt;

    use super::*;

    #[test]
    fn a_cached_application_keeps_its_spec_as_compact_text_and_reads_back() {
        let json = serde_json::json!({
            "apiVersion": "sparkoperator.k8s.io/v1beta2", "kind": "SparkApplication",
            "metadata": {"name": "pi", "namespace": "data", "labels": {"sparkplane.dev/operator": "sparkplane"}},
            "spec": {"type": "Scala", "driver": {"cores": 1}},
            "status": {"applicationState": {"state": "RUNNING"}, "driverInfo": {"podName": "pi-driver"}},
        });
        let app: App = serde_json::from_value(json).expect("reads");
        assert_eq!(&*app.spec, r#"{"driver":{"cores":1},"type":"Scala"}"#);
        // Read from the API server's text: compact, every kind of value, its keys in the order sent.
        let sent = r#"{"metadata": {"name": "pi"}, "spec": {"type": "Scala", "args": ["a \"b\"", "\u00e9\n"],
            "driver": {"cores": 1, "coreLimit": null, "memory": -2, "ratio": 0.5, "big": 18446744073709551615,
            "on": true, "off": false, "empty": {}, "none": []}}}"#;
        let read: App = serde_json::from_str(sent).expect("reads");
        assert_eq!(
            &*read.spec,
            r#"{"type":"Scala","args":["a \"b\"","é\n"],"driver":{"cores":1,"coreLimit":null,"memory":-2,"ratio":0.5,"big":18446744073709551615,"on":true,"off":false,"empty":{},"none":[]}}"#
        );
        assert_eq!(read.spec_value()["args"][0], "a \"b\"");
        let too_deep = format!(r#"{{"spec": {}{}}}"#, "[".repeat(200), "]".repeat(200));
        assert!(serde_json::from_str::<App>(&too_deep).is_err(), "the reader's depth limit holds");
        assert_eq!(app.spec_value()["driver"]["cores"], 1);
        assert_eq!(
            app.status.as_ref().and_then(|s| s.application_state.as_ref()).map(|s| s.state.as_str()),
            Some("RUNNING")
        );
        assert_eq!(App::plural(&()), "sparkapplications");
        assert_eq!(Scheduled::kind(&()), "ScheduledSparkApplication");
        assert_eq!(App::api_version(&()), "sparkoperator.k8s.io/v1beta2");
        assert_eq!(
            (Conn::api_version(&()), Conn::plural(&())),
            ("sparkoperator.k8s.io/v1alpha1".into(), "sparkconnects".into())
        );
        let written = serde_json::to_value(&app).expect("writes");
        assert_eq!(written["spec"]["type"], "Scala");
    }

    #[test]
    fn a_write_is_used_until_the_cache_shows_it() {
        let key = ("data".to_owned(), "pi".to_owned());
        let mut writes: Writes<&str> = Writes::default();
        writes.remember(key.clone(), Some("10".into()), Some("11".into()), "submitted");
        assert_eq!(writes.current(&key, Some("10")).map(|(v, rv)| (*v, rv)), Some(("submitted", Some("11".into()))));
        assert_eq!(writes.freshest(&key, Some("10")).map(|(v, _)| *v), Some("submitted"), "the cache is behind");
        assert!(writes.freshest(&key, Some("11")).is_none(), "caught up: read from the cache");
        assert!(writes.current(&key, Some("11")).is_none(), "and forgotten");
        // A status write after an annotation patch (read at 20, the patch answered 21) supersedes both.
        for cached in ["20", "21"] {
            let mut writes: Writes<&str> = Writes::default();
            writes.remember(key.clone(), ["20".to_owned(), "21".to_owned()], Some("22".into()), "lastRun");
            assert_eq!(
                writes.freshest(&key, Some(cached)).map(|(v, rv)| (*v, rv)),
                Some(("lastRun", Some("22".into())))
            );
            assert!(writes.freshest(&key, Some("22")).is_none(), "caught up");
        }
    }

    fn app(name: &str, state: Option<&str>) -> App {
        let status = state.map(|s| serde_json::json!({"applicationState": {"state": s}}));
        serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "namespace": "data"}, "spec": {}, "status": status,
        }))
        .expect("a SparkApplication")
    }

    fn state_over(apps: &[App]) -> (KubeflowState, tokio::sync::mpsc::UnboundedReceiver<ObjectRef<App>>) {
        let (store, mut writer) = kube::runtime::reflector::store::<App>();
        for app in apps {
            writer.apply_watcher_event(&kube::runtime::watcher::Event::Apply(app.clone()));
        }
        let (schedules, _) = kube::runtime::reflector::store::<Scheduled>();
        let (conns, _) = kube::runtime::reflector::store::<Conn>();
        let (app_wake, woken) = tokio::sync::mpsc::unbounded_channel();
        let (schedule_wake, _) = tokio::sync::mpsc::unbounded_channel();
        (KubeflowState::new(KubeflowSettings::default(), (store, schedules, conns), app_wake, schedule_wake), woken)
    }

    #[tokio::test]
    async fn prefill_gives_the_applications_running_at_start_once() {
        let apps = [
            app("submitted", Some("SUBMITTED")),
            app("running", Some("RUNNING")),
            app("unknown", Some("UNKNOWN")),
            app("done", Some("COMPLETED")),
            app("failed", Some("FAILED")),
            app("new", None),
        ];
        let (state, _) = state_over(&apps);
        let mut running = Vec::new();
        state.prefill(|app| running.push(app.name_any())).await;
        running.sort();
        assert_eq!(running, ["running", "submitted", "unknown"]);
        state.prefill(|app| running.push(app.name_any())).await;
        assert_eq!(running.len(), 3, "only once");
    }

    #[test]
    fn only_a_served_application_is_woken() {
        let (state, mut woken) = state_over(&[app("pi", Some("RUNNING"))]);
        assert!(state.serves("data", "pi"));
        assert!(!state.serves("data", "other") && !state.serves("other", "pi"));
        state.wake("data", "other");
        state.wake("data", "pi");
        assert_eq!(woken.try_recv().ok(), Some(ObjectRef::new("pi").within("data")));
        assert!(woken.try_recv().is_err(), "nothing for an application it does not serve");
    }
}
