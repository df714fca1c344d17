//! ResourceQuotas as the console reads them: every namespace's, with the
//! `status.used` and `status.hard` the quota controller writes.
//!
//! Owns: that request. Must not: judge a quota's use (the operator's queue
//! and the console's model read what it returns).

use k8s_openapi::api::core::v1::ResourceQuota;
use kube::api::{Api, ListParams};

use crate::error::{KubeError, Operation};

/// Every ResourceQuota the client may list, across namespaces.
pub async fn list(client: &kube::Client, server: &str) -> Result<Vec<ResourceQuota>, KubeError> {
    let api: Api<ResourceQuota> = Api::all(client.clone());
    api.list(&ListParams::default())
        .await
        .map(|list| list.items)
        .map_err(|e| KubeError::from_kube(e, Operation::new("list", "ResourceQuota", "(all)"), server))
}
