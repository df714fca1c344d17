//! The Tenant document (`kind: Tenant`): one team's namespace on a shared
//! cluster, with its quota, default limits, access groups, network egress,
//! budget and where its alerts go.
//!
//! This module owns the shape of the document only. It must not render
//! Kubernetes objects or judge values (quantities, CIDRs, percentages): that
//! is `sparkplane-core`'s `tenant` module.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::layer::LayerMeta;

/// Where the platform's own components (ingress for the Spark UI) run when a tenant does not say.
pub const DEFAULT_PLATFORM_NAMESPACE: &str = "sparkplane-system";

/// A team onboarded onto the cluster (`kind: Tenant`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Tenant {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Tenant`.
    pub kind: String,
    /// Name (also the default namespace) and description.
    pub metadata: LayerMeta,
    /// What the tenant gets.
    pub spec: TenantSpec,
}

impl Tenant {
    /// The namespace the tenant's jobs run in: `spec.namespace`, else the tenant's name.
    pub fn namespace(&self) -> &str {
        self.spec.namespace.as_deref().unwrap_or(&self.metadata.name)
    }

    /// The namespace the platform's ingress runs in.
    pub fn platform_namespace(&self) -> &str {
        self.spec.platform_namespace.as_deref().unwrap_or(DEFAULT_PLATFORM_NAMESPACE)
    }
}

/// What a tenant gets.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantSpec {
    /// The owning team, written to the `sparkplane.dev/team` label.
    pub team: String,
    /// Who pays, written to the `sparkplane.dev/cost-center` label.
    pub cost_center: String,
    /// The namespace; defaults to `metadata.name`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Hard limits for the whole namespace (a ResourceQuota).
    #[serde(default)]
    pub quota: TenantQuota,
    /// Defaults and ceilings per container (a LimitRange).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit_range: Option<TenantLimitRange>,
    /// Identity-provider groups and what they may do.
    #[serde(default)]
    pub groups: TenantGroups,
    /// Whether admins and editors may read Secrets in the namespace (viewers never may).
    #[serde(default)]
    pub allow_secret_reads: bool,
    /// Destinations outside the cluster pods may reach: object storage, metastore, Kafka, …
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub egress: Vec<EgressRule>,
    /// CIDRs of the Kubernetes API server as pods see it (drivers create their
    /// executors through it). Cluster-specific: without them drivers cannot
    /// start executors under the default-deny policy.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub api_server_cidrs: Vec<String>,
    /// Namespace of the platform ingress that proxies the Spark UI; defaults to `sparkplane-system`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_namespace: Option<String>,
    /// Monthly spending budget, checked against the cost ledger.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// Where the team's alerts go (`sparkplane observe alertmanager`); without
    /// it they go to the platform's default receiver.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerting: Option<TenantAlerting>,
    /// The team's queue: a Kueue LocalQueue feeding a ClusterQueue of the
    /// platform's `Queues` file, and the team's share when several teams
    /// wait (ADR 0073). Its jobs' `spec.queue` defaults to it when the
    /// tenant is in the platform directory's `tenants/` (ADR 0079).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue: Option<TenantQueue>,
}

/// A team's queue (ADR 0073).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantQueue {
    /// The LocalQueue's name; default `default`, the queue Kueue gives a
    /// job that names none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The ClusterQueue (in the platform's `Queues` file) the LocalQueue feeds.
    pub cluster_queue: String,
    /// The team's weight when teams wait for the same ClusterQueue (Kueue's
    /// admission fair sharing, the LocalQueue's `fairSharing.weight`) or,
    /// without Kueue, for the operator's built-in queue; default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weight: Option<u32>,
}

impl TenantQueue {
    /// The LocalQueue's name: `name`, else `default`.
    pub fn local_queue(&self) -> &str {
        self.name.as_deref().unwrap_or(DEFAULT_LOCAL_QUEUE)
    }
}

/// The LocalQueue Kueue gives a job that names none (Kueue's LocalQueue defaulting).
pub const DEFAULT_LOCAL_QUEUE: &str = "default";

/// The team's on-call: its receivers, and which of them get each severity.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantAlerting {
    /// The team's receivers, by name.
    #[serde(default)]
    pub receivers: Vec<AlertReceiver>,
    /// Receivers of `severity: critical` alerts (page someone now).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub critical: Vec<String>,
    /// Receivers of `severity: warning` alerts (look within a working day).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warning: Vec<String>,
    /// Receivers of `severity: info` alerts; none: info alerts are not sent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub info: Vec<String>,
}

/// One receiver: a name and exactly one destination.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AlertReceiver {
    /// Name, unique within the tenant (DNS label characters).
    pub name: String,
    /// A Slack channel through an incoming-webhook URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
    /// PagerDuty (Events API v2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutyReceiver>,
    /// Opsgenie.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opsgenie: Option<OpsgenieReceiver>,
    /// Email, through the platform's SMTP relay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailReceiver>,
    /// Any HTTP endpoint that takes Alertmanager's webhook payload.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
}

/// A secret value by reference: a key of a Kubernetes Secret, or a file
/// Alertmanager can read. Never the value itself.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretRef {
    /// A key of a Secret (in Alertmanager's namespace for `alertmanager.yml`,
    /// listed in its `spec.secrets`; in the tenant's namespace for an AlertmanagerConfig).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<SecretKey>,
    /// A file on Alertmanager's disk (`alertmanager.yml` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

/// A key of a Kubernetes Secret.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SecretKey {
    /// The Secret's name.
    pub name: String,
    /// The key.
    pub key: String,
}

/// Slack.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SlackReceiver {
    /// The channel (`#data-eng-alerts`).
    pub channel: String,
    /// The incoming-webhook URL (it carries a token: a secret).
    pub api_url: SecretRef,
}

/// PagerDuty.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PagerDutyReceiver {
    /// The Events API v2 integration (routing) key.
    pub routing_key: SecretRef,
}

/// Opsgenie.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct OpsgenieReceiver {
    /// The API integration key.
    pub api_key: SecretRef,
}

/// Email.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EmailReceiver {
    /// The address alerts go to.
    pub to: String,
}

/// A webhook.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WebhookReceiver {
    /// The endpoint (http or https, without credentials in it).
    pub url: String,
    /// A bearer token the endpoint requires.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer_token: Option<SecretRef>,
}

/// Namespace-wide hard limits; unset fields are not limited.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantQuota {
    /// Total CPU requests (Kubernetes quantity: `64`, `500m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    /// Total memory requests and limits (Kubernetes quantity: `256Gi`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
    /// GPUs by extended-resource name (`nvidia.com/gpu: 4`).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub gpus: BTreeMap<String, u32>,
    /// Pods.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pods: Option<u32>,
    /// PersistentVolumeClaims.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pvcs: Option<u32>,
    /// ConfigMaps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub configmaps: Option<u32>,
    /// Services.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub services: Option<u32>,
}

/// CPU and memory for one container.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContainerAmounts {
    /// CPU (Kubernetes quantity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Quantity>,
    /// Memory (Kubernetes quantity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Quantity>,
}

/// Per-container defaults and ceilings, so pods written without resources are admitted safely.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantLimitRange {
    /// What a container gets when it asks for nothing.
    #[serde(default)]
    pub defaults: ContainerAmounts,
    /// The most one container may have.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<ContainerAmounts>,
}

/// Identity-provider groups by access level.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TenantGroups {
    /// Manage SparkJobs, read and delete pods, read quotas and policies.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub admins: Vec<String>,
    /// Manage SparkJobs, read pods, logs and events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub editors: Vec<String>,
    /// Read SparkJobs, pods, logs and events.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub viewers: Vec<String>,
}

/// One allowed destination outside the cluster.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressRule {
    /// What it is (`object-storage`, `metastore`, `kafka`); names the NetworkPolicy.
    pub name: String,
    /// Address blocks (`10.20.0.0/16`).
    pub cidrs: Vec<String>,
    /// Ports; none means every port.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<EgressPort>,
}

/// A port and protocol.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EgressPort {
    /// Port number.
    pub port: u16,
    /// `TCP` (default), `UDP` or `SCTP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

/// A transport protocol, as NetworkPolicy spells it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, JsonSchema)]
pub enum Protocol {
    /// TCP.
    #[default]
    #[serde(rename = "TCP")]
    Tcp,
    /// UDP.
    #[serde(rename = "UDP")]
    Udp,
    /// SCTP.
    #[serde(rename = "SCTP")]
    Sctp,
}

impl Protocol {
    /// The name NetworkPolicy uses.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Tcp => "TCP",
            Protocol::Udp => "UDP",
            Protocol::Sctp => "SCTP",
        }
    }
}

/// A monthly budget.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Budget {
    /// Amount per calendar month, in the price sheet's currency.
    pub monthly: f64,
    /// Percent of `monthly` at which to warn (default 80).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warning_percent: Option<u32>,
    /// Percent of `monthly` that is a critical breach (default 100).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_percent: Option<u32>,
    /// Whether a critical breach blocks new submissions where the environment
    /// makes `budget-critical` deny (the built-in `prod` does). Default
    /// `true`; `false` keeps a critical breach a warning everywhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_on_critical: Option<bool>,
}

impl Budget {
    /// The warning threshold in percent.
    pub fn warning(&self) -> u32 {
        self.warning_percent.unwrap_or(80)
    }

    /// The critical threshold in percent.
    pub fn critical(&self) -> u32 {
        self.critical_percent.unwrap_or(100)
    }

    /// Whether a critical breach may block (see [`Budget::block_on_critical`]).
    pub fn blocks_on_critical(&self) -> bool {
        self.block_on_critical.unwrap_or(true)
    }
}
