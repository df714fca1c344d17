//! What the operator sees of a run's pods, read once from the Pod objects
//! into the few facts the state machine needs: the driver's phase and why it
//! waits or ended, and executors counted by state.
//!
//! Owns: reading pod status the way the kubelet and scheduler write it.
//! Must not: decide anything (see `lifecycle`).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::{ContainerStatus, Pod};
use sparkplane_api::job::ExecutorStates;

/// A pod's phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PodPhase {
    /// Accepted, not running yet (scheduling, pulling images, starting).
    Pending,
    /// At least one container runs.
    Running,
    /// Every container ended with exit code 0.
    Succeeded,
    /// A container ended badly, or the pod was evicted or timed out.
    Failed,
    /// The node stopped reporting.
    Unknown,
}

impl PodPhase {
    /// The phase of a pod (`Pending` when it has none yet).
    pub fn of(pod: &Pod) -> PodPhase {
        match pod.status.as_ref().and_then(|s| s.phase.as_deref()) {
            Some("Running") => PodPhase::Running,
            Some("Succeeded") => PodPhase::Succeeded,
            Some("Failed") => PodPhase::Failed,
            Some("Unknown") => PodPhase::Unknown,
            _ => PodPhase::Pending,
        }
    }
}

/// How a container ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Terminated {
    /// `OOMKilled`, `Error`, `Completed`, …
    pub reason: Option<String>,
    /// Exit code.
    pub exit_code: i32,
    /// The container's termination message.
    pub message: Option<String>,
}

/// The driver pod of one attempt, as the state machine needs it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DriverView {
    /// Pod name.
    pub name: String,
    /// The attempt it belongs to (`sparkplane.dev/attempt`, 1 when absent).
    pub attempt: u32,
    /// `sparkplane.dev/spec-hash`.
    pub spec_hash: Option<String>,
    /// `spark-app-selector`: the Spark application id.
    pub app_id: Option<String>,
    /// Phase.
    pub phase: PodPhase,
    /// Why the driver container waits (`ImagePullBackOff`, `ErrImagePull`,
    /// `ContainerCreating`, …) and the kubelet's message.
    pub waiting: Option<(String, String)>,
    /// The scheduler's message when the pod cannot be placed.
    pub unschedulable: Option<String>,
    /// How the driver container ended.
    pub terminated: Option<Terminated>,
    /// The pod's own reason (`Evicted`, `DeadlineExceeded`, `NodeLost`, …) and message.
    pub pod_reason: Option<(String, String)>,
    /// Since when the driver container runs.
    pub running_since: Option<Timestamp>,
    /// Being deleted (`deletionTimestamp` set).
    pub deleting: bool,
}

fn driver_container(pod: &Pod) -> Option<&ContainerStatus> {
    let statuses = pod.status.as_ref()?.container_statuses.as_ref()?;
    statuses.iter().find(|c| c.name == sparkplane_core::render::common::DRIVER_CONTAINER).or_else(|| statuses.first())
}

fn label<'a>(pod: &'a Pod, key: &str) -> Option<&'a str> {
    pod.metadata.labels.as_ref()?.get(key).map(String::as_str)
}

impl DriverView {
    /// Reads a driver pod.
    pub fn of(pod: &Pod) -> DriverView {
        let status = pod.status.as_ref();
        let container = driver_container(pod);
        let state = container.and_then(|c| c.state.as_ref());
        let waiting = state
            .and_then(|s| s.waiting.as_ref())
            .and_then(|w| w.reason.clone().map(|r| (r, w.message.clone().unwrap_or_default())));
        let terminated = state.and_then(|s| s.terminated.as_ref()).map(|t| Terminated {
            reason: t.reason.clone(),
            exit_code: t.exit_code,
            message: t.message.clone(),
        });
        let running_since =
            state.and_then(|s| s.running.as_ref()).and_then(|r| r.started_at.as_ref()).map(|t| t.0).or_else(|| {
                (PodPhase::of(pod) == PodPhase::Running)
                    .then(|| status.and_then(|s| s.start_time.as_ref()).map(|t| t.0))
                    .flatten()
            });
        let unschedulable = status.and_then(|s| s.conditions.as_ref()).and_then(|conditions| {
            conditions
                .iter()
                .find(|c| {
                    c.type_ == "PodScheduled" && c.status == "False" && c.reason.as_deref() == Some("Unschedulable")
                })
                .map(|c| c.message.clone().unwrap_or_default())
        });
        let pod_reason = status.and_then(|s| s.reason.clone().map(|r| (r, s.message.clone().unwrap_or_default())));
        DriverView {
            name: pod.metadata.name.clone().unwrap_or_default(),
            attempt: label(pod, sparkplane_api::labels::ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(1),
            spec_hash: label(pod, sparkplane_api::labels::SPEC_HASH).map(str::to_owned),
            app_id: label(pod, sparkplane_core::render::common::APP_SELECTOR_LABEL).map(str::to_owned),
            phase: PodPhase::of(pod),
            waiting,
            unschedulable,
            terminated,
            pod_reason,
            running_since,
            deleting: pod.metadata.deletion_timestamp.is_some(),
        }
    }

    /// Whether the kubelet cannot pull the driver's image.
    pub fn image_pull_failing(&self) -> bool {
        self.waiting.as_ref().is_some_and(|(reason, _)| {
            matches!(reason.as_str(), "ImagePullBackOff" | "ErrImagePull" | "InvalidImageName" | "ErrImageNeverPull")
        })
    }
}

/// The executors of one attempt, counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecutorView {
    /// Counts by state.
    pub states: ExecutorStates,
    /// Creation time of the longest-waiting pending executor.
    pub oldest_pending: Option<Timestamp>,
    /// Executors whose container was OOMKilled.
    pub oom_killed: u32,
}

/// The few facts of one executor pod that [`ExecutorView`] counts: small,
/// so an operator can keep them for tens of thousands of pods.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecutorFacts {
    /// The attempt (`sparkplane.dev/attempt`, 1 when absent).
    pub attempt: u32,
    /// `sparkplane.dev/spec-hash`.
    pub spec_hash: Option<String>,
    /// Phase.
    pub phase: PodPhase,
    /// Creation time.
    pub created: Option<Timestamp>,
    /// Its container was OOMKilled.
    pub oom_killed: bool,
}

impl ExecutorFacts {
    /// Reads an executor pod.
    pub fn of(pod: &Pod) -> ExecutorFacts {
        ExecutorFacts {
            attempt: label(pod, sparkplane_api::labels::ATTEMPT).and_then(|a| a.parse().ok()).unwrap_or(1),
            spec_hash: label(pod, sparkplane_api::labels::SPEC_HASH).map(str::to_owned),
            phase: PodPhase::of(pod),
            created: pod.metadata.creation_timestamp.as_ref().map(|t| t.0),
            oom_killed: driver_container(pod)
                .and_then(|c| c.state.as_ref())
                .and_then(|s| s.terminated.as_ref())
                .is_some_and(|t| t.reason.as_deref() == Some("OOMKilled")),
        }
    }
}

/// Whose executor a pod is, as Spark ties it to its driver: the driver pod
/// itself is the controller of the executors Spark's default allocator
/// creates; executors Spark 4.2's Deployment allocator asks for are
/// controlled by a ReplicaSet of the driver's Deployment, and are the
/// driver's by Spark's application label (`spark-app-selector`) instead.
/// Generic over how the caller keeps the ids (the operator's index keeps
/// digests).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ExecutorParent<T> {
    /// Controlled by the driver pod of this uid.
    DriverPod(T),
    /// Controlled by something else (a ReplicaSet): of the driver with this application id.
    Application(T),
}

impl ExecutorParent<String> {
    /// Reads an executor pod: its controller when that is a Pod, else its
    /// application label; None when it has neither.
    pub fn of(pod: &Pod) -> Option<ExecutorParent<String>> {
        let owners = pod.metadata.owner_references.as_deref().unwrap_or_default();
        let controller = owners.iter().find(|o| o.controller == Some(true));
        let driver_pod = match controller {
            Some(c) => (c.kind == "Pod").then_some(c),
            // Without a controller flag, a Pod owner is still the driver (older Spark set none).
            None => owners.iter().find(|o| o.kind == "Pod"),
        };
        match driver_pod {
            Some(owner) => Some(ExecutorParent::DriverPod(owner.uid.clone())),
            None => label(pod, sparkplane_core::render::common::APP_SELECTOR_LABEL)
                .map(|app| ExecutorParent::Application(app.to_owned())),
        }
    }
}

impl<T: PartialEq> ExecutorParent<T> {
    /// The same parent with its id turned into another form.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> ExecutorParent<U> {
        match self {
            ExecutorParent::DriverPod(t) => ExecutorParent::DriverPod(f(t)),
            ExecutorParent::Application(t) => ExecutorParent::Application(f(t)),
        }
    }

    /// Whether this is an executor of the driver with `driver_uid` and `app_id`.
    pub fn is_of(&self, driver_uid: Option<&T>, app_id: Option<&T>) -> bool {
        match self {
            ExecutorParent::DriverPod(uid) => driver_uid == Some(uid),
            ExecutorParent::Application(app) => app_id == Some(app),
        }
    }
}

impl ExecutorView {
    /// Counts executor pods.
    pub fn of<'a>(pods: impl IntoIterator<Item = &'a Pod>) -> ExecutorView {
        let facts: Vec<ExecutorFacts> = pods.into_iter().map(ExecutorFacts::of).collect();
        ExecutorView::from_facts(&facts)
    }

    /// Counts executors from their facts.
    pub fn from_facts<'a>(facts: impl IntoIterator<Item = &'a ExecutorFacts>) -> ExecutorView {
        let mut view = ExecutorView::default();
        for pod in facts {
            match pod.phase {
                PodPhase::Pending => {
                    view.states.pending += 1;
                    if let Some(created) = pod.created {
                        view.oldest_pending = Some(view.oldest_pending.map_or(created, |o| o.min(created)));
                    }
                }
                PodPhase::Running => view.states.running += 1,
                PodPhase::Succeeded => view.states.succeeded += 1,
                PodPhase::Failed | PodPhase::Unknown => {
                    view.states.failed += 1;
                    if pod.oom_killed {
                        view.oom_killed += 1;
                    }
                }
            }
        }
        view
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pod(value: serde_json::Value) -> Pod {
        serde_json::from_value(value).expect("a pod")
    }

    #[test]
    fn an_executor_is_its_drivers_by_the_driver_pod_or_by_its_application() {
        let owned = |owners: serde_json::Value| {
            ExecutorParent::of(&pod(json!({
                "metadata": {"name": "e", "labels": {"spark-role": "executor", "spark-app-selector": "spark-1"},
                             "ownerReferences": owners}
            })))
        };
        let pod_ref = |uid: &str, controller: Option<bool>| {
            let mut r = json!({"apiVersion": "v1", "kind": "Pod", "name": "d", "uid": uid});
            if let Some(c) = controller {
                r["controller"] = json!(c);
            }
            r
        };
        let rs = json!({"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": "spark-d-spark-1-0-x", "uid": "rs-1", "controller": true});
        let d = |s: &str| s.to_owned();
        for (case, owners, parent, driver_uid, app, belongs) in [
            (
                "the default allocator's executor",
                json!([pod_ref("u-1", Some(true))]),
                Some(ExecutorParent::DriverPod(d("u-1"))),
                Some("u-1"),
                Some("spark-1"),
                true,
            ),
            (
                "another driver's executor",
                json!([pod_ref("u-2", Some(true))]),
                Some(ExecutorParent::DriverPod(d("u-2"))),
                Some("u-1"),
                Some("spark-1"),
                false,
            ),
            (
                "a Pod owner without the controller flag",
                json!([pod_ref("u-1", None)]),
                Some(ExecutorParent::DriverPod(d("u-1"))),
                Some("u-1"),
                None,
                true,
            ),
            (
                "the Deployment allocator's executor",
                json!([rs.clone()]),
                Some(ExecutorParent::Application(d("spark-1"))),
                Some("u-1"),
                Some("spark-1"),
                true,
            ),
            (
                "another application's ReplicaSet",
                json!([rs.clone()]),
                Some(ExecutorParent::Application(d("spark-1"))),
                Some("u-1"),
                Some("spark-2"),
                false,
            ),
            (
                "a driver with no application id",
                json!([rs]),
                Some(ExecutorParent::Application(d("spark-1"))),
                Some("u-1"),
                None,
                false,
            ),
            (
                "no owner at all",
                json!([]),
                Some(ExecutorParent::Application(d("spark-1"))),
                Some("u-1"),
                Some("spark-1"),
                true,
            ),
        ] {
            let read = owned(owners);
            assert_eq!(read, parent, "{case}");
            let is_of = read.is_some_and(|p| p.is_of(driver_uid.map(d).as_ref(), app.map(d).as_ref()));
            assert_eq!(is_of, belongs, "{case}");
        }
        let bare = ExecutorParent::of(&pod(json!({"metadata": {"name": "e"}})));
        assert_eq!(bare, None, "neither an owner nor a label");
        assert_eq!(ExecutorParent::DriverPod(d("u")).map(|u| u.len()), ExecutorParent::DriverPod(1));
    }

    #[test]
    fn reads_an_image_pull_failure_and_the_attempt() {
        let driver = DriverView::of(&pod(json!({
            "metadata": {"name": "a-driver", "labels": {"sparkplane.dev/attempt": "3", "sparkplane.dev/spec-hash": "abcd1234", "spark-app-selector": "spark-1"}},
            "status": {"phase": "Pending", "containerStatuses": [{
                "name": "spark-kubernetes-driver", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"waiting": {"reason": "ImagePullBackOff", "message": "Back-off pulling image \"x\""}}
            }]}
        })));
        assert_eq!(driver.attempt, 3);
        assert_eq!(driver.spec_hash.as_deref(), Some("abcd1234"));
        assert_eq!(driver.app_id.as_deref(), Some("spark-1"));
        assert_eq!(driver.phase, PodPhase::Pending);
        assert!(driver.image_pull_failing());
        assert_eq!(driver.waiting.as_ref().map(|w| w.1.as_str()), Some("Back-off pulling image \"x\""));
    }

    #[test]
    fn reads_unschedulable_eviction_and_oom() {
        let pending = DriverView::of(&pod(json!({
            "metadata": {"name": "a"},
            "status": {"phase": "Pending", "conditions": [{"type": "PodScheduled", "status": "False", "reason": "Unschedulable", "message": "0/3 nodes are available: 3 Insufficient memory."}]}
        })));
        assert_eq!(pending.attempt, 1);
        assert_eq!(pending.unschedulable.as_deref(), Some("0/3 nodes are available: 3 Insufficient memory."));
        assert!(!pending.image_pull_failing());

        let evicted = DriverView::of(&pod(json!({
            "metadata": {"name": "a"},
            "status": {"phase": "Failed", "reason": "Evicted", "message": "The node was low on resource: memory."}
        })));
        assert_eq!(evicted.pod_reason, Some(("Evicted".into(), "The node was low on resource: memory.".into())));

        let executors = [
            pod(
                json!({"metadata": {"name": "e1", "creationTimestamp": "2026-11-22T10:00:05Z"}, "status": {"phase": "Pending"}}),
            ),
            pod(
                json!({"metadata": {"name": "e2", "creationTimestamp": "2026-11-22T10:00:01Z"}, "status": {"phase": "Pending"}}),
            ),
            pod(json!({"metadata": {"name": "e3"}, "status": {"phase": "Running"}})),
            pod(json!({"metadata": {"name": "e4"}, "status": {"phase": "Failed", "containerStatuses": [{
                "name": "spark-kubernetes-executor", "image": "x", "imageID": "", "ready": false, "restartCount": 0,
                "state": {"terminated": {"reason": "OOMKilled", "exitCode": 137}}}]}})),
        ];
        let view = ExecutorView::of(&executors);
        assert_eq!(view.states, ExecutorStates { pending: 2, running: 1, succeeded: 0, failed: 1 });
        assert_eq!(view.oom_killed, 1);
        assert_eq!(view.oldest_pending, Some("2026-11-22T10:00:01Z".parse().expect("time")));
    }
}
