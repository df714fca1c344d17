//! `storage/rdd` and `storage/rdd/{id}`: Spark's `RDDStorageInfo` of the
//! RDDs with cached partitions, their data distribution over the executors
//! and their partitions.
//!
//! Owns: those shapes. Must not: count blocks (the replay's
//! `sparkplane_appstatus::storage` does).

use serde::Serialize;

use sparkplane_appstatus::replay::{AppDetail, StoredRdd};

/// Spark's `RDDStorageInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct RddJson {
    id: i64,
    name: String,
    num_partitions: i64,
    num_cached_partitions: i64,
    storage_level: String,
    memory_used: i64,
    disk_used: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    data_distribution: Option<Vec<DistributionJson>>,
    partitions: Vec<PartitionJson>,
}

/// Spark's `RDDDataDistribution`; the on-/off-heap figures only when the
/// block manager said its memory split.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct DistributionJson {
    address: String,
    memory_used: i64,
    memory_remaining: i64,
    disk_used: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_heap_memory_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    off_heap_memory_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    on_heap_memory_remaining: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    off_heap_memory_remaining: Option<i64>,
}

/// Spark's `RDDPartitionInfo`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PartitionJson {
    block_name: String,
    storage_level: String,
    memory_used: i64,
    disk_used: i64,
    executors: Vec<String>,
}

pub(super) fn rdd_json(rdd: &StoredRdd, d: &AppDetail) -> RddJson {
    let distributions: Vec<DistributionJson> = rdd
        .distributions
        .iter()
        .map(|(id, dist)| {
            let exec = d.executors.get(id);
            let storage = exec.map(|e| e.storage.clone()).unwrap_or_default();
            let split = storage.totals.is_some();
            let (remaining, on_heap_remaining, off_heap_remaining) = storage.remaining;
            DistributionJson {
                address: exec.map(|e| e.host_port.clone()).unwrap_or_default(),
                memory_used: dist.memory_used,
                memory_remaining: remaining,
                disk_used: dist.disk_used,
                on_heap_memory_used: split.then_some(dist.on_heap_used),
                off_heap_memory_used: split.then_some(dist.off_heap_used),
                on_heap_memory_remaining: split.then_some(on_heap_remaining),
                off_heap_memory_remaining: split.then_some(off_heap_remaining),
            }
        })
        .collect();
    RddJson {
        id: rdd.id,
        name: rdd.name.clone(),
        num_partitions: rdd.num_partitions,
        num_cached_partitions: rdd.partitions.len() as i64,
        storage_level: rdd.storage_level.clone(),
        memory_used: rdd.memory_used,
        disk_used: rdd.disk_used,
        data_distribution: (!distributions.is_empty()).then_some(distributions),
        partitions: rdd
            .partitions
            .iter()
            .map(|p| PartitionJson {
                block_name: p.block_name.clone(),
                storage_level: p.storage_level.clone(),
                memory_used: p.memory_used,
                disk_used: p.disk_used,
                executors: p.executors.clone(),
            })
            .collect(),
    }
}
