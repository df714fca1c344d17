//! Spark's block accounting for `storage/rdd` and the executors' storage
//! figures, from `SparkListenerBlockUpdated` events (logged only with
//! `spark.eventLog.logBlockUpdates.enabled`), as Spark's `AppStatusListener`
//! keeps it: which partitions of each live RDD are cached where, with what
//! memory and disk, each executor's RDD blocks and storage memory used, and
//! each RDD's distribution over executors.
//!
//! Owns: [`StoredRdd`] and its partitions and distributions,
//! [`ExecutorStorage`], [`block_update`] and [`unpersist`]. Must not: read
//! JSON (the replay module hands typed [`BlockUpdate`]s) or shape answers.
//!
//! One difference from Spark: an RDD's distributions are listed by executor
//! id (Spark's order is its hash map's).

use std::collections::BTreeMap;

/// A storage level as logged (`"Storage Level"`).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Level {
    pub use_disk: bool,
    pub use_memory: bool,
    pub use_off_heap: bool,
    pub deserialized: bool,
    pub replication: i64,
}

impl Level {
    /// Spark's `StorageLevel.description`, or `None` when the level is not
    /// valid (neither memory nor disk nor off-heap, or no replica).
    pub fn description(&self) -> Option<String> {
        if !(self.use_disk || self.use_memory || self.use_off_heap) || self.replication <= 0 {
            return None;
        }
        Some(self.describe())
    }

    fn describe(&self) -> String {
        let mut out = String::new();
        if self.use_disk {
            out.push_str("Disk ");
        }
        if self.use_memory {
            out.push_str(if self.use_off_heap { "Memory (off heap) " } else { "Memory " });
        }
        out.push_str(if self.deserialized { "Deserialized " } else { "Serialized " });
        out.push_str(&format!("{}x Replicated", self.replication));
        out
    }
}

/// An RDD as Spark's status store keeps it for `storage/rdd`.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRdd {
    pub id: i64,
    pub name: String,
    pub num_partitions: i64,
    /// Spark's description of the level: `Memory Deserialized 1x Replicated`, …
    pub storage_level: String,
    /// The level the RDD was submitted with (its partitions' levels derive from it).
    pub level: Level,
    pub memory_used: i64,
    pub disk_used: i64,
    /// Cached partitions, in the order they were first cached.
    pub partitions: Vec<RddPartition>,
    /// By executor id.
    pub distributions: BTreeMap<String, RddDistribution>,
}

impl StoredRdd {
    /// A live RDD as a stage submitted it, nothing cached yet.
    pub fn new(id: i64, name: String, num_partitions: i64, level: Level, storage_level: String) -> StoredRdd {
        StoredRdd {
            id,
            name,
            num_partitions,
            storage_level,
            level,
            memory_used: 0,
            disk_used: 0,
            partitions: Vec::new(),
            distributions: BTreeMap::new(),
        }
    }
}

/// One cached partition (`RDDPartitionInfo`).
#[derive(Debug, Clone, PartialEq)]
pub struct RddPartition {
    pub block_name: String,
    pub storage_level: String,
    pub memory_used: i64,
    pub disk_used: i64,
    pub executors: Vec<String>,
}

/// An RDD's share of one executor (`RDDDataDistribution`, without the remaining memory).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RddDistribution {
    pub memory_used: i64,
    pub disk_used: i64,
    pub on_heap_used: i64,
    pub off_heap_used: i64,
}

/// An executor's storage figures.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ExecutorStorage {
    pub rdd_blocks: i64,
    pub memory_used: i64,
    pub disk_used: i64,
    pub used_on_heap: i64,
    pub used_off_heap: i64,
    /// Storage memory (`Maximum Memory`) and on-/off-heap totals, from the block manager.
    pub max_memory: i64,
    pub totals: Option<(i64, i64)>,
    /// Memory remaining (total, on-heap, off-heap) when an RDD block on it last
    /// changed: what Spark's RDD distributions show (it refreshes them only then).
    pub remaining: (i64, i64, i64),
}

impl ExecutorStorage {
    fn add(&mut self, off_heap: bool, memory_delta: i64, disk_delta: i64) {
        if self.totals.is_some() {
            let slot = if off_heap { &mut self.used_off_heap } else { &mut self.used_on_heap };
            *slot = add_delta(*slot, memory_delta);
        }
        self.memory_used = add_delta(self.memory_used, memory_delta);
        self.disk_used = add_delta(self.disk_used, disk_delta);
    }
}

/// One `SparkListenerBlockUpdated`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BlockUpdate {
    pub executor_id: String,
    pub block_id: String,
    pub level: Level,
    pub memory_size: i64,
    pub disk_size: i64,
}

/// Spark never lets a figure go below zero.
fn add_delta(old: i64, delta: i64) -> i64 {
    (old + delta).max(0)
}

/// `rdd_<rdd>_<split>` → the RDD id.
fn rdd_of(block_id: &str) -> Option<i64> {
    let (rdd, split) = block_id.strip_prefix("rdd_")?.split_once('_')?;
    split.bytes().all(|b| b.is_ascii_digit()).then_some(())?;
    rdd.parse().ok()
}

/// Applies one block update: RDD blocks to their RDD and executor, broadcast
/// blocks to the executor's memory; other blocks are not counted.
pub fn block_update(rdds: &mut BTreeMap<i64, StoredRdd>, exec: Option<&mut ExecutorStorage>, update: &BlockUpdate) {
    let level = update.level;
    let disk_delta = update.disk_size * if level.use_disk { 1 } else { -1 };
    let memory_delta = update.memory_size * if level.use_memory { 1 } else { -1 };
    if update.block_id.starts_with("broadcast_") {
        if let Some(exec) = exec {
            exec.add(level.use_off_heap, memory_delta, disk_delta);
        }
        return;
    }
    let Some(rdd_id) = rdd_of(&update.block_id) else { return };
    let mut exec = exec;
    if let Some(exec) = exec.as_deref_mut() {
        exec.add(level.use_off_heap, memory_delta, disk_delta);
    }
    let mut rdd_blocks_delta = 0;
    if let Some(rdd) = rdds.get_mut(&rdd_id) {
        // The RDD keeps the level it was submitted with (a MEMORY_AND_DISK RDD
        // whose blocks all fit in memory is still `Disk Memory …`, as Spark 4.1.4 answers).
        let updated = level.description();
        let at = match rdd.partitions.iter().position(|p| p.block_name == update.block_id) {
            Some(at) => at,
            None => {
                rdd.partitions.push(RddPartition {
                    block_name: update.block_id.clone(),
                    storage_level: String::new(),
                    memory_used: 0,
                    disk_used: 0,
                    executors: Vec::new(),
                });
                rdd.partitions.len() - 1
            }
        };
        let partition = &mut rdd.partitions[at];
        if updated.is_some() {
            if !partition.executors.contains(&update.executor_id) {
                rdd_blocks_delta = 1;
                partition.executors.push(update.executor_id.clone());
            }
        } else {
            rdd_blocks_delta = -1;
            partition.executors.retain(|e| *e != update.executor_id);
        }
        if partition.executors.is_empty() {
            rdd.partitions.remove(at);
        } else {
            partition.memory_used = add_delta(partition.memory_used, memory_delta);
            partition.disk_used = add_delta(partition.disk_used, disk_delta);
            // Spark describes a partition by where it is, with the RDD's off-heap and
            // deserialized flags and one replica per executor holding it.
            let memory = partition.memory_used > 0;
            partition.storage_level = Level {
                use_disk: partition.disk_used > 0,
                use_memory: memory,
                use_off_heap: rdd.level.use_off_heap,
                deserialized: memory && rdd.level.deserialized,
                replication: partition.executors.len() as i64,
            }
            .describe();
        }
        if let Some(exec) = exec.as_deref_mut() {
            if exec.rdd_blocks + rdd_blocks_delta > 0 {
                let dist = rdd.distributions.entry(update.executor_id.clone()).or_default();
                dist.memory_used = add_delta(dist.memory_used, memory_delta);
                dist.disk_used = add_delta(dist.disk_used, disk_delta);
                if exec.totals.is_some() {
                    let slot = if level.use_off_heap { &mut dist.off_heap_used } else { &mut dist.on_heap_used };
                    *slot = add_delta(*slot, memory_delta);
                }
            } else {
                rdd.distributions.remove(&update.executor_id);
            }
            let (on_heap, off_heap) = exec.totals.unwrap_or_default();
            exec.remaining =
                (exec.max_memory - exec.memory_used, on_heap - exec.used_on_heap, off_heap - exec.used_off_heap);
        }
        rdd.memory_used = add_delta(rdd.memory_used, memory_delta);
        rdd.disk_used = add_delta(rdd.disk_used, disk_delta);
    }
    if let Some(exec) = exec {
        exec.rdd_blocks += rdd_blocks_delta;
    }
}

/// What unpersisting an RDD gives back to one executor.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Released {
    pub rdd_blocks: i64,
    pub distribution: RddDistribution,
    pub off_heap: bool,
}

/// Drops an RDD (`SparkListenerUnpersistRDD`) and says, per executor, what
/// its blocks held; apply each with [`release`].
pub fn unpersist(rdds: &mut BTreeMap<i64, StoredRdd>, rdd_id: i64) -> BTreeMap<String, Released> {
    let mut out: BTreeMap<String, Released> = BTreeMap::new();
    let Some(rdd) = rdds.remove(&rdd_id) else { return out };
    for partition in &rdd.partitions {
        for executor in &partition.executors {
            out.entry(executor.clone()).or_default().rdd_blocks += 1;
        }
    }
    for (executor, dist) in rdd.distributions {
        let released = out.entry(executor).or_default();
        released.distribution = dist;
    }
    for released in out.values_mut() {
        released.off_heap = rdd.level.use_off_heap;
    }
    out
}

/// Gives an unpersisted RDD's blocks and memory back to one executor.
pub fn release(exec: &mut ExecutorStorage, released: &Released) {
    exec.rdd_blocks -= released.rdd_blocks;
    let dist = &released.distribution;
    if exec.totals.is_some() {
        if released.off_heap {
            exec.used_off_heap = add_delta(exec.used_off_heap, -dist.off_heap_used);
        } else {
            exec.used_on_heap = add_delta(exec.used_on_heap, -dist.on_heap_used);
        }
    }
    exec.memory_used = add_delta(exec.memory_used, -dist.memory_used);
    exec.disk_used = add_delta(exec.disk_used, -dist.disk_used);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn memory() -> Level {
        Level { use_memory: true, deserialized: true, replication: 1, ..Level::default() }
    }

    fn update(exec: &str, block: &str, level: Level, memory: i64) -> BlockUpdate {
        BlockUpdate { executor_id: exec.into(), block_id: block.into(), level, memory_size: memory, disk_size: 0 }
    }

    #[test]
    fn blocks_are_counted_per_partition_executor_and_rdd_and_removed_again() {
        let mut rdds = BTreeMap::new();
        rdds.insert(3, StoredRdd::new(3, "r".into(), 2, memory(), "Memory Deserialized 1x Replicated".into()));
        let mut exec = ExecutorStorage { max_memory: 1000, totals: Some((1000, 0)), ..ExecutorStorage::default() };
        block_update(&mut rdds, Some(&mut exec), &update("1", "rdd_3_0", memory(), 100));
        block_update(&mut rdds, Some(&mut exec), &update("1", "rdd_3_1", memory(), 50));
        block_update(&mut rdds, Some(&mut exec), &update("1", "broadcast_0_piece0", memory(), 7));
        block_update(&mut rdds, Some(&mut exec), &update("1", "rdd_9_0", memory(), 5)); // not a live RDD
        let rdd = &rdds[&3];
        assert_eq!((rdd.memory_used, rdd.partitions.len()), (150, 2));
        assert_eq!(rdd.partitions[1].storage_level, "Memory Deserialized 1x Replicated");
        assert_eq!((exec.rdd_blocks, exec.memory_used, exec.used_on_heap), (2, 162, 162));
        // Remaining memory as of the last block of a live RDD, not of the broadcast after it.
        assert_eq!(exec.remaining, (850, 850, 0));
        assert_eq!(rdd.distributions["1"].memory_used, 150);

        block_update(&mut rdds, Some(&mut exec), &update("1", "rdd_3_0", Level::default(), 100));
        assert_eq!((rdds[&3].partitions.len(), rdds[&3].memory_used, exec.rdd_blocks), (1, 50, 1));

        let released = unpersist(&mut rdds, 3);
        release(&mut exec, &released["1"]);
        assert!(rdds.is_empty());
        assert_eq!((exec.rdd_blocks, exec.memory_used), (0, 12));
    }

    #[test]
    fn levels_are_described_as_spark_describes_them() {
        let level = |use_disk, use_memory, use_off_heap, deserialized, replication| Level {
            use_disk,
            use_memory,
            use_off_heap,
            deserialized,
            replication,
        };
        let cases = [
            (level(false, true, false, true, 1), Some("Memory Deserialized 1x Replicated")),
            (level(true, true, false, false, 2), Some("Disk Memory Serialized 2x Replicated")),
            (level(false, true, true, false, 1), Some("Memory (off heap) Serialized 1x Replicated")),
            (level(true, false, false, false, 1), Some("Disk Serialized 1x Replicated")),
            (level(false, false, false, false, 1), None),
            (level(false, true, false, true, 0), None),
        ];
        for (value, description) in cases {
            assert_eq!(value.description().as_deref(), description, "{value:?}");
        }
    }
}
