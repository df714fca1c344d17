//! Every label and annotation key sparkplane writes or reads, in one place.
//!
//! Owns: the keys and what each one means on which objects, and the one
//! value sparkplane puts on every object it writes
//! (`app.kubernetes.io/managed-by: sparkplane`). A key is used through these
//! constants in code; tests keep the literal strings, so a renamed constant
//! that changed the wire format fails them (and `tests/it/label_literals.rs`
//! fails on a key written by hand outside this file). Must not: hold rules
//! about label values (`sparkplane_core::names` checks those).

/// The prefix of every `sparkplane.dev/` key below.
pub const PREFIX: &str = "sparkplane.dev/";

// Kubernetes' recommended labels (`app.kubernetes.io/*`).

/// On every object sparkplane writes: who manages it, [`SPARKPLANE`].
pub const MANAGED_BY: &str = "app.kubernetes.io/managed-by";
/// sparkplane's name as a label value: of [`MANAGED_BY`] on every object it
/// writes, and of [`APP_PART_OF`] on the platform's own objects.
pub const SPARKPLANE: &str = "sparkplane";
/// The label selector `app.kubernetes.io/managed-by=sparkplane`: every
/// object sparkplane writes.
pub const MANAGED_BY_SELECTOR: &str = "app.kubernetes.io/managed-by=sparkplane";
/// The application an object runs (`spark` for a job's objects, the
/// component's name for the platform's own).
pub const APP_NAME: &str = "app.kubernetes.io/name";
/// The instance of the application (a job's or a Backup's name).
pub const APP_INSTANCE: &str = "app.kubernetes.io/instance";
/// The object's role in the application (`driver`, `executor`, `rbac`, …).
pub const APP_COMPONENT: &str = "app.kubernetes.io/component";
/// The larger application an object is part of ([`SPARKPLANE`]).
pub const APP_PART_OF: &str = "app.kubernetes.io/part-of";
/// The application's version (a job's Spark version).
pub const APP_VERSION: &str = "app.kubernetes.io/version";

/// `app.kubernetes.io/managed-by: sparkplane` as an entry of a label map.
pub fn managed_by_sparkplane() -> (String, String) {
    (MANAGED_BY.to_owned(), SPARKPLANE.to_owned())
}

// Labels on every object rendered for a job (driver, executors, ConfigMaps,
// Services, Jobs), and on the SparkJob where noted.

/// The job an object belongs to (its SparkJob's name).
pub const JOB: &str = "sparkplane.dev/job";
/// The team that owns the job (from its tenant or spec).
pub const TEAM: &str = "sparkplane.dev/team";
/// The cost centre the job's spend is charged to.
pub const COST_CENTER: &str = "sparkplane.dev/cost-center";
/// The environment a job was resolved for (`dev`, `prod`, …).
pub const ENVIRONMENT: &str = "sparkplane.dev/environment";
/// The preset a job was resolved from.
pub const PRESET: &str = "sparkplane.dev/preset";
/// Which run of a SparkJob a driver belongs to (1 for the first).
pub const ATTEMPT: &str = "sparkplane.dev/attempt";
/// The short hash of the resolved spec a driver was rendered from.
pub const SPEC_HASH: &str = "sparkplane.dev/spec-hash";
/// On a pod: the driver's Prometheus scrape target (`prometheus`).
pub const METRICS: &str = "sparkplane.dev/metrics";
/// On a Spark Connect server's objects and sessions: the server's name.
pub const CONNECT_SERVER: &str = "sparkplane.dev/connect";
/// On a SparkJob: the release (id) it runs.
pub const RELEASE: &str = "sparkplane.dev/release";
/// On a shadow SparkJob: the SparkJob it shadows.
pub const SHADOW_OF: &str = "sparkplane.dev/shadow-of";
/// On a run a ScheduledSparkJob started: the schedule's name.
pub const SCHEDULED_BY: &str = "sparkplane.dev/scheduled-by";

// Labels on platform objects.

/// On a tenant's namespace and quota objects: the Tenant's name.
pub const TENANT: &str = "sparkplane.dev/tenant";
/// On a release-record ConfigMap: `true` marks it as one (the same key as
/// [`RELEASE`], which on a SparkJob holds the release id instead).
pub const RELEASE_RECORD: &str = RELEASE;
/// On a deployment-record ConfigMap: the deployment it records.
pub const DEPLOYMENT: &str = "sparkplane.dev/deployment";
/// On an Alertmanager configuration Secret: `true`.
pub const ALERTING: &str = "sparkplane.dev/alerting";
/// On a backup CronJob: the Backup's name.
pub const BACKUP: &str = "sparkplane.dev/backup";
/// On a node or in a node selector: the node pool (the first key cost tries).
pub const POOL: &str = "sparkplane.dev/pool";
/// On the door's pods (the chart's History Server, which forwards a running
/// application's Spark UI; ADR 0095): `true`. Every rendered application's
/// `…-ui-door` NetworkPolicy admits pods with it, from the door's namespace,
/// to its driver's UI port and nothing else.
pub const DOOR: &str = "sparkplane.dev/door";

// Annotations.

/// On a SparkJob: ask for a run now (the value is any new token).
pub const TRIGGER: &str = "sparkplane.dev/trigger";
/// On a scheduled run: the time it was scheduled for.
pub const SCHEDULED_AT: &str = "sparkplane.dev/scheduled-at";
/// On a run: who or what started it.
pub const STARTED_BY: &str = "sparkplane.dev/started-by";
/// On a Kubeflow `SparkApplication` or `ScheduledSparkApplication`: value
/// `sparkplane` hands it to sparkplane's operator (run with `--kubeflow`);
/// without it the resource is left to the Kubeflow operator (ADR 0076).
pub const OPERATOR: &str = "sparkplane.dev/operator";
/// On a Kubeflow resource sparkplane's operator serves: the conditions it
/// found (a JSON list naming each field it cannot honour or read), kept here
/// because Kubeflow's status schema has no conditions and prunes unknown fields.
pub const CONDITIONS: &str = "sparkplane.dev/conditions";
/// On the SparkJob the operator converts a Kubeflow resource into, in memory
/// only (never written): the kind it was converted from.
pub const CONVERTED_FROM: &str = "sparkplane.dev/converted-from";
/// Kubeflow's, on each run of a `ScheduledSparkApplication`: the schedule's
/// name (sparkplane's operator sets and reads it as Kubeflow's does).
pub const KUBEFLOW_SCHEDULED_APP_NAME: &str = "sparkoperator.k8s.io/scheduled-app-name";
/// On a namespace: the most applications the operator runs in it at once.
pub const MAX_RUNNING_APPLICATIONS: &str = "sparkplane.dev/max-running-applications";
/// On a tenant's namespace: the tenant's description.
pub const DESCRIPTION: &str = "sparkplane.dev/description";
/// On a tenant's namespace: its monthly budget.
pub const BUDGET_MONTHLY: &str = "sparkplane.dev/budget-monthly";
/// On a tenant's namespace: the budget percentage that warns.
pub const BUDGET_WARNING_PERCENT: &str = "sparkplane.dev/budget-warning-percent";
/// On a tenant's namespace: the budget percentage that is critical.
pub const BUDGET_CRITICAL_PERCENT: &str = "sparkplane.dev/budget-critical-percent";
/// On a Gatekeeper constraint: the policy id it enforces.
pub const POLICY: &str = "sparkplane.dev/policy";
/// On a Gatekeeper constraint: the policy file it came from.
pub const SOURCE: &str = "sparkplane.dev/source";

// Kubernetes' own keys sparkplane reads.

/// On every namespace, set by the API server: the namespace's name (a
/// NetworkPolicy's `namespaceSelector` names one namespace with it).
pub const NAMESPACE_NAME: &str = "kubernetes.io/metadata.name";

// Keys of other projects sparkplane writes (queues and gangs, ADR 0073).

/// Kueue: on an object Kueue admits (a SparkJob, its Workload, a
/// SparkApplication or Job): the LocalQueue it waits in.
pub const KUEUE_QUEUE_NAME: &str = "kueue.x-k8s.io/queue-name";
/// Kueue: on a Workload or job, the WorkloadPriorityClass it runs at.
pub const KUEUE_PRIORITY_CLASS: &str = "kueue.x-k8s.io/priority-class";
/// Volcano: on a pod, the PodGroup it is a member of.
pub const VOLCANO_GROUP_NAME: &str = "scheduling.k8s.io/group-name";
/// YuniKorn: on a pod, the task group it belongs to.
pub const YUNIKORN_TASK_GROUP_NAME: &str = "yunikorn.apache.org/task-group-name";
/// YuniKorn: on the driver pod, every task group of the application (JSON).
pub const YUNIKORN_TASK_GROUPS: &str = "yunikorn.apache.org/task-groups";
/// YuniKorn: on the driver pod, the gang's placeholder timeout and style.
pub const YUNIKORN_SCHEDULING_POLICY: &str = "yunikorn.apache.org/schedulingPolicyParameters";
/// YuniKorn: on every pod of a job with a queue, the queue it is placed in
/// (read by YuniKorn's `provided` placement rule; issue #69).
pub const YUNIKORN_QUEUE: &str = "yunikorn.apache.org/queue";
/// On the Workload `render --target job` writes beside a Job it gates
/// (issue #69, ADR 0099): the Job's name, which is to be unsuspended when
/// Kueue admits the Workload and suspended again when Kueue evicts it. It
/// also tells this Workload apart from a SparkJob's (both carry [`JOB`]):
/// the operator's watch of SparkJob Workloads must leave it out
/// (`sparkplane.dev/job,!sparkplane.dev/gates-job`).
pub const GATES_JOB: &str = "sparkplane.dev/gates-job";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_is_a_valid_prefixed_kubernetes_key() {
        let keys = [
            JOB,
            TEAM,
            COST_CENTER,
            ENVIRONMENT,
            PRESET,
            ATTEMPT,
            SPEC_HASH,
            METRICS,
            CONNECT_SERVER,
            RELEASE,
            SHADOW_OF,
            SCHEDULED_BY,
            TENANT,
            DEPLOYMENT,
            ALERTING,
            BACKUP,
            POOL,
            DOOR,
            TRIGGER,
            SCHEDULED_AT,
            STARTED_BY,
            OPERATOR,
            CONDITIONS,
            CONVERTED_FROM,
            MAX_RUNNING_APPLICATIONS,
            DESCRIPTION,
            BUDGET_MONTHLY,
            BUDGET_WARNING_PERCENT,
            BUDGET_CRITICAL_PERCENT,
            POLICY,
            SOURCE,
            GATES_JOB,
        ];
        for key in keys {
            let name = key.strip_prefix(PREFIX).unwrap_or_else(|| panic!("{key} lacks the prefix"));
            assert!(!name.is_empty() && name.len() <= 63, "{key}");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{key}");
        }
        let unique: std::collections::BTreeSet<&str> = keys.into_iter().collect();
        assert_eq!(unique.len(), keys.len(), "two constants share a key");
    }

    #[test]
    fn kubernetes_recommended_labels_are_spelt_as_on_the_wire() {
        assert_eq!(MANAGED_BY, "app.kubernetes.io/managed-by");
        assert_eq!(SPARKPLANE, "sparkplane");
        assert_eq!(MANAGED_BY_SELECTOR, "app.kubernetes.io/managed-by=sparkplane");
        assert_eq!(APP_NAME, "app.kubernetes.io/name");
        assert_eq!(APP_INSTANCE, "app.kubernetes.io/instance");
        assert_eq!(APP_COMPONENT, "app.kubernetes.io/component");
        assert_eq!(APP_PART_OF, "app.kubernetes.io/part-of");
        assert_eq!(APP_VERSION, "app.kubernetes.io/version");
        assert_eq!(managed_by_sparkplane(), ("app.kubernetes.io/managed-by".to_owned(), "sparkplane".to_owned()));
    }

    #[test]
    fn kubernetes_recommended_labels_are_valid_keys_and_the_selector_is_built_from_them() {
        let keys = [MANAGED_BY, APP_NAME, APP_INSTANCE, APP_COMPONENT, APP_PART_OF, APP_VERSION];
        for key in keys {
            let name = key.strip_prefix("app.kubernetes.io/").unwrap_or_else(|| panic!("{key} lacks the prefix"));
            assert!(!name.is_empty() && name.len() <= 63, "{key}");
            assert!(name.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'), "{key}");
        }
        let unique: std::collections::BTreeSet<&str> = keys.into_iter().collect();
        assert_eq!(unique.len(), keys.len(), "two constants share a key");
        // A valid label value: at most 63 characters, here lower-case letters only.
        assert!(SPARKPLANE.len() <= 63 && SPARKPLANE.bytes().all(|b| b.is_ascii_lowercase()));
        assert_eq!(MANAGED_BY_SELECTOR, format!("{MANAGED_BY}={SPARKPLANE}"));
    }

    #[test]
    fn the_door_label_is_spelt_as_the_chart_writes_it_on_the_history_servers_pod() {
        assert_eq!(DOOR, "sparkplane.dev/door");
    }

    #[test]
    fn the_namespace_name_label_is_spelt_as_the_api_server_sets_it() {
        assert_eq!(NAMESPACE_NAME, "kubernetes.io/metadata.name");
    }

    #[test]
    fn kubeflows_run_label_is_spelt_as_its_operator_writes_it() {
        assert_eq!(KUBEFLOW_SCHEDULED_APP_NAME, "sparkoperator.k8s.io/scheduled-app-name");
    }

    #[test]
    fn other_projects_keys_are_spelt_as_they_read_them() {
        assert_eq!(KUEUE_QUEUE_NAME, "kueue.x-k8s.io/queue-name");
        assert_eq!(KUEUE_PRIORITY_CLASS, "kueue.x-k8s.io/priority-class");
        assert_eq!(VOLCANO_GROUP_NAME, "scheduling.k8s.io/group-name");
        assert_eq!(YUNIKORN_TASK_GROUP_NAME, "yunikorn.apache.org/task-group-name");
        assert_eq!(YUNIKORN_TASK_GROUPS, "yunikorn.apache.org/task-groups");
        assert_eq!(YUNIKORN_SCHEDULING_POLICY, "yunikorn.apache.org/schedulingPolicyParameters");
        assert_eq!(YUNIKORN_QUEUE, "yunikorn.apache.org/queue");
        assert_eq!(GATES_JOB, "sparkplane.dev/gates-job");
    }
}
