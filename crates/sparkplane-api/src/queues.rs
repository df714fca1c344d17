//! The platform's queues (`kind: Queues`): the Kueue ClusterQueues teams
//! share — their cohort, quotas per resource flavor with borrowing and
//! lending limits, fair-sharing weight and preemption — the flavors
//! themselves, and the priority classes jobs run at (ADR 0073). Tenants
//! point their LocalQueue at one of these ClusterQueues
//! (`TenantQueue::cluster_queue`).
//!
//! This module owns the shape of the document only. It must not render
//! Kueue objects or judge values (quantities, names, references): that is
//! `sparkplane-core`'s `render::kueue` and `validate_queues`.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Toleration;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::layer::LayerMeta;

/// The platform's queues (`kind: Queues`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Queues {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `Queues`.
    pub kind: String,
    /// Name and description.
    pub metadata: LayerMeta,
    /// The flavors, priority classes and ClusterQueues.
    pub spec: QueuesSpec,
}

/// What the platform's queues are made of.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuesSpec {
    /// Kinds of nodes quota is counted in (Kueue ResourceFlavors): the node
    /// labels an admitted job's pods are sent to, and the taints they tolerate.
    #[serde(default)]
    pub flavors: Vec<Flavor>,
    /// The priorities jobs run at, by name (`spec.priorityClassName`): each
    /// becomes a Kueue WorkloadPriorityClass and a PriorityClass of the same
    /// name and value.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub priority_classes: Vec<PriorityClassSpec>,
    /// The ClusterQueues.
    #[serde(default)]
    pub cluster_queues: Vec<ClusterQueueSpec>,
}

/// A kind of node (a Kueue ResourceFlavor).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Flavor {
    /// Name (a DNS subdomain).
    pub name: String,
    /// Labels of the flavor's nodes: an admitted job's pods get them as node selectors.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub node_labels: BTreeMap<String, String>,
    /// Tolerations an admitted job's pods get (for the flavor's node taints).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tolerations: Vec<Toleration>,
}

/// A named priority.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriorityClassSpec {
    /// Name jobs give as `spec.priorityClassName`.
    pub name: String,
    /// The priority: higher runs first and may preempt lower.
    pub value: i32,
    /// What the class is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// One ClusterQueue.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClusterQueueSpec {
    /// Name (a DNS subdomain).
    pub name: String,
    /// The cohort whose ClusterQueues lend each other unused quota.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cohort: Option<String>,
    /// The queue's share of what the cohort lends, relative to its
    /// siblings' (Kueue's fair sharing weight); default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fair_sharing_weight: Option<u32>,
    /// Whom an admitted job may push out to make room.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preemption: Option<QueuePreemption>,
    /// Quota per flavor, tried in this order.
    #[serde(default)]
    pub quotas: Vec<FlavorQuotas>,
}

/// Preemption rules of a ClusterQueue (Kueue's `spec.preemption`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct QueuePreemption {
    /// Within the queue: `Never` or `LowerPriority` (default `LowerPriority`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within_cluster_queue: Option<PreemptionPolicy>,
    /// Taking back lent quota from the cohort: `Never`, `LowerPriority` or
    /// `Any` (default `Any`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reclaim_within_cohort: Option<PreemptionPolicy>,
}

/// Which workloads may be preempted.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, JsonSchema)]
pub enum PreemptionPolicy {
    /// None.
    Never,
    /// Those of lower priority.
    LowerPriority,
    /// Any (for reclaiming lent quota).
    Any,
}

impl PreemptionPolicy {
    /// Kueue's spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            PreemptionPolicy::Never => "Never",
            PreemptionPolicy::LowerPriority => "LowerPriority",
            PreemptionPolicy::Any => "Any",
        }
    }
}

/// A flavor's quotas in one ClusterQueue.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FlavorQuotas {
    /// The flavor (one of `spec.flavors`).
    pub flavor: String,
    /// Quota per resource (`cpu`, `memory`, `nvidia.com/gpu`, `pods`).
    pub resources: BTreeMap<String, ResourceQuota>,
}

/// The quota of one resource in one flavor.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResourceQuota {
    /// What the queue has of its own.
    pub nominal: Quantity,
    /// The most it may borrow from its cohort on top (none: no limit).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub borrowing_limit: Option<Quantity>,
    /// The most of its nominal quota it lends to its cohort (none: all of it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lending_limit: Option<Quantity>,
}
