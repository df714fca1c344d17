//! Node shapes that `fit` checks a job against.
//!
//! A `NodePools` document describes each pool of identical nodes. `fit` also
//! reads `kubectl get nodes -o yaml` output directly (the core converts it);
//! quotas are plain Kubernetes `ResourceQuota` objects.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Taint;
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A set of node pools (`kind: NodePools`).
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePools {
    /// `sparkplane.dev/v1alpha1`.
    pub api_version: String,
    /// `NodePools`.
    pub kind: String,
    /// The pools.
    pub pools: Vec<NodePool>,
}

/// A pool of identical nodes.
#[derive(Serialize, Deserialize, Clone, Debug, Default, PartialEq, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NodePool {
    /// Pool name, e.g. `general` or `m6i.2xlarge`.
    pub name: String,
    /// What the kubelet reports as allocatable (`cpu`, `memory`, `nvidia.com/gpu`, …),
    /// in Kubernetes quantities.
    pub allocatable: BTreeMap<String, Quantity>,
    /// Taken on every node by DaemonSets and system pods (logging, CNI, monitoring agents).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reserved: BTreeMap<String, Quantity>,
    /// Added to every pod by its RuntimeClass (e.g. Kata, gVisor).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub pod_overhead: BTreeMap<String, Quantity>,
    /// Most nodes the pool scales to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_nodes: Option<u32>,
    /// Node labels (matched against node selectors).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// Node taints (matched against tolerations).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub taints: Vec<Taint>,
}
