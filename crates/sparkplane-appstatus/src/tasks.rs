//! The task attempts of one stage attempt, kept compactly: the only part of an
//! application's detail that grows with its task count.
//!
//! Owns: [`TaskStore`] — running attempts as boxed [`Task`] values, ended ones
//! encoded into one byte buffer (variable-length integers, executor, host and
//! locality names interned), about a hundred bytes per attempt instead of the
//! several hundred a [`Task`] with its [`Metrics`] takes — and decoding them
//! back, in task-id order, for the task list, the task summary and a stage's
//! `tasks`. The last write of a task id wins, as in Spark's status store.
//!
//! Also owns the task attempt's own types ([`Task`], [`Metrics`], [`Accumulable`]).
//!
//! Must not: fold events (the replay module does) or shape JSON (the api module does).

use std::any::Any;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use compact_str::CompactString;

use sparkplane_eventlog::parse::task_detail::TaskMetricsDetail;

/// Task metrics in the units and names of Spark's `TaskMetricDistributions`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Metrics {
    pub executor_deserialize_time: i64,
    pub executor_deserialize_cpu_time: i64,
    pub executor_run_time: i64,
    pub executor_cpu_time: i64,
    pub result_size: i64,
    pub jvm_gc_time: i64,
    pub result_serialization_time: i64,
    pub memory_bytes_spilled: i64,
    pub disk_bytes_spilled: i64,
    pub peak_execution_memory: i64,
    pub input_bytes: i64,
    pub input_records: i64,
    pub output_bytes: i64,
    pub output_records: i64,
    pub shuffle_remote_blocks_fetched: i64,
    pub shuffle_local_blocks_fetched: i64,
    pub shuffle_fetch_wait_time: i64,
    pub shuffle_remote_bytes_read: i64,
    pub shuffle_remote_bytes_read_to_disk: i64,
    pub shuffle_local_bytes_read: i64,
    pub shuffle_records_read: i64,
    pub shuffle_remote_reqs_duration: i64,
    pub shuffle_corrupt_merged_block_chunks: i64,
    pub shuffle_merged_fetch_fallback_count: i64,
    pub shuffle_merged_remote_blocks_fetched: i64,
    pub shuffle_merged_local_blocks_fetched: i64,
    pub shuffle_merged_remote_chunks_fetched: i64,
    pub shuffle_merged_local_chunks_fetched: i64,
    pub shuffle_merged_remote_bytes_read: i64,
    pub shuffle_merged_local_bytes_read: i64,
    pub shuffle_merged_remote_reqs_duration: i64,
    pub shuffle_bytes_written: i64,
    pub shuffle_write_time: i64,
    pub shuffle_records_written: i64,
}

/// Applies one of three actions to every field of [`Metrics`], in declaration order.
macro_rules! for_each_metric {
    ($action:ident $(, $arg:ident)*) => {
        for_each_metric!(@list $action ($($arg),*);
            executor_deserialize_time,
            executor_deserialize_cpu_time,
            executor_run_time,
            executor_cpu_time,
            result_size,
            jvm_gc_time,
            result_serialization_time,
            memory_bytes_spilled,
            disk_bytes_spilled,
            peak_execution_memory,
            input_bytes,
            input_records,
            output_bytes,
            output_records,
            shuffle_remote_blocks_fetched,
            shuffle_local_blocks_fetched,
            shuffle_fetch_wait_time,
            shuffle_remote_bytes_read,
            shuffle_remote_bytes_read_to_disk,
            shuffle_local_bytes_read,
            shuffle_records_read,
            shuffle_remote_reqs_duration,
            shuffle_corrupt_merged_block_chunks,
            shuffle_merged_fetch_fallback_count,
            shuffle_merged_remote_blocks_fetched,
            shuffle_merged_local_blocks_fetched,
            shuffle_merged_remote_chunks_fetched,
            shuffle_merged_local_chunks_fetched,
            shuffle_merged_remote_bytes_read,
            shuffle_merged_local_bytes_read,
            shuffle_merged_remote_reqs_duration,
            shuffle_bytes_written,
            shuffle_write_time,
            shuffle_records_written
        )
    };
    (@list sum ($me:ident, $o:ident); $($f:ident),*) => {
        $( $me.$f = $me.$f.saturating_add($o.$f); )*
    };
    (@list values ($me:ident); $($f:ident),*) => {
        [$( $me.$f ),*]
    };
    (@list assign ($out:ident, $values:ident); $($f:ident),*) => {{
        let mut slots = $values.into_iter();
        $( $out.$f = slots.next().unwrap_or(0); )*
    }};
}

impl Metrics {
    /// The metrics of a task end as the event-log engine reads them.
    pub fn from_detail(m: &TaskMetricsDetail) -> Metrics {
        let (read, push, write) = (&m.shuffle_read, &m.shuffle_read.push, &m.shuffle_write);
        Metrics {
            executor_deserialize_time: m.executor_deserialize_time,
            executor_deserialize_cpu_time: m.executor_deserialize_cpu_time,
            executor_run_time: m.executor_run_time,
            executor_cpu_time: m.executor_cpu_time,
            result_size: m.result_size,
            jvm_gc_time: m.jvm_gc_time,
            result_serialization_time: m.result_serialization_time,
            memory_bytes_spilled: m.memory_bytes_spilled,
            disk_bytes_spilled: m.disk_bytes_spilled,
            peak_execution_memory: m.peak_execution_memory,
            input_bytes: m.input.bytes,
            input_records: m.input.records,
            output_bytes: m.output.bytes,
            output_records: m.output.records,
            shuffle_remote_blocks_fetched: read.remote_blocks_fetched,
            shuffle_local_blocks_fetched: read.local_blocks_fetched,
            shuffle_fetch_wait_time: read.fetch_wait_time,
            shuffle_remote_bytes_read: read.remote_bytes_read,
            shuffle_remote_bytes_read_to_disk: read.remote_bytes_read_to_disk,
            shuffle_local_bytes_read: read.local_bytes_read,
            shuffle_records_read: read.records_read,
            shuffle_remote_reqs_duration: read.remote_reqs_duration,
            shuffle_corrupt_merged_block_chunks: push.corrupt_merged_block_chunks,
            shuffle_merged_fetch_fallback_count: push.merged_fetch_fallback_count,
            shuffle_merged_remote_blocks_fetched: push.merged_remote_blocks_fetched,
            shuffle_merged_local_blocks_fetched: push.merged_local_blocks_fetched,
            shuffle_merged_remote_chunks_fetched: push.merged_remote_chunks_fetched,
            shuffle_merged_local_chunks_fetched: push.merged_local_chunks_fetched,
            shuffle_merged_remote_bytes_read: push.merged_remote_bytes_read,
            shuffle_merged_local_bytes_read: push.merged_local_bytes_read,
            shuffle_merged_remote_reqs_duration: push.merged_remote_reqs_duration,
            shuffle_bytes_written: write.bytes_written,
            shuffle_write_time: write.write_time,
            shuffle_records_written: write.records_written,
        }
    }

    /// Adds another task's metrics.
    pub fn add(&mut self, o: &Metrics) {
        for_each_metric!(sum, self, o);
    }

    /// How many values a [`Metrics`] holds.
    pub const COUNT: usize = 34;

    /// The values in field order (for compact storage).
    pub fn values(&self) -> [i64; Metrics::COUNT] {
        for_each_metric!(values, self)
    }

    /// The inverse of [`Metrics::values`].
    pub fn from_values(values: [i64; Metrics::COUNT]) -> Metrics {
        let mut out = Metrics::default();
        for_each_metric!(assign, out, values);
        out
    }
}

impl Metrics {
    /// Total shuffle bytes read (remote + local), as Spark's `shuffleReadBytes`.
    pub fn shuffle_read_bytes(&self) -> i64 {
        self.shuffle_remote_bytes_read.saturating_add(self.shuffle_local_bytes_read)
    }
}

/// A user-visible accumulator as Spark's `AccumulableInfo` reports it
/// (internal and SQL accumulators are left out, as Spark leaves them out).
#[derive(Debug, Clone, PartialEq)]
pub struct Accumulable {
    pub id: i64,
    pub name: Option<String>,
    pub update: Option<String>,
    pub value: Option<String>,
}

/// One task attempt, as Spark's `TaskData`.
#[derive(Debug, Clone, Default)]
pub struct Task {
    pub task_id: i64,
    pub index: i64,
    pub attempt: i64,
    pub partition_id: i64,
    pub launch_time: i64,
    pub finish_time: i64,
    pub getting_result_time: i64,
    pub executor_id: CompactString,
    pub host: CompactString,
    /// `RUNNING`, `SUCCESS`, `FAILED`, `KILLED`.
    pub status: &'static str,
    pub locality: CompactString,
    pub speculative: bool,
    pub error_message: Option<String>,
    pub metrics: Option<Metrics>,
    pub accumulables: Vec<Accumulable>,
}

impl Task {
    /// Run time as Spark reports `duration`: finish − launch for an ended task.
    pub fn duration(&self) -> Option<i64> {
        (self.finish_time > 0).then(|| self.finish_time - self.launch_time)
    }

    /// `duration` as Spark's History Server answers it: an ended task's run
    /// time, and for a task still running the time from its launch to
    /// `last_updated_ms`, its attempt's `lastUpdated` (Spark's replay measures
    /// `timeRunning` to it: the log's last modification once the application
    /// ended, the time the log was read for the listing while it runs).
    /// `None` for a running task when that time is unknown.
    pub fn duration_as_of(&self, last_updated_ms: Option<i64>) -> Option<i64> {
        self.duration().or_else(|| last_updated_ms.map(|at| at - self.launch_time))
    }
}

impl Task {
    /// This attempt's [`TaskHead`].
    pub fn head(&self) -> TaskHead<'_> {
        TaskHead {
            task_id: self.task_id,
            index: self.index,
            attempt: self.attempt,
            status: self.status,
            launch_time: self.launch_time,
            finish_time: self.finish_time,
            getting_result_time: self.getting_result_time,
            executor_id: &self.executor_id,
            host: &self.host,
        }
    }
}

/// The fields at the head of an attempt's record: everything the task table
/// sorts by apart from the metrics, read without decoding the rest (the
/// error, the accumulator updates, the metrics).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TaskHead<'a> {
    pub task_id: i64,
    pub index: i64,
    pub attempt: i64,
    pub status: &'static str,
    pub launch_time: i64,
    pub finish_time: i64,
    pub getting_result_time: i64,
    pub executor_id: &'a str,
    pub host: &'a str,
}

impl TaskHead<'_> {
    /// [`Task::duration`] of the attempt.
    pub fn duration(&self) -> Option<i64> {
        (self.finish_time > 0).then(|| self.finish_time - self.launch_time)
    }
}

/// Task attempts of one stage attempt.
#[derive(Debug, Clone, Default)]
pub struct TaskStore {
    /// Started and not ended, by task id, with the write's sequence number.
    /// Boxed: a B-tree node shifts its values on every insert and remove, and
    /// thousands of tasks of one stage may be running at once.
    running: BTreeMap<i64, (u64, Box<Task>)>,
    /// Ended attempts: task id, write sequence, offset of the record in `bytes`.
    ended: Vec<(i64, u64, u32)>,
    bytes: Vec<u8>,
    names: Vec<String>,
    name_ids: HashMap<String, u32>,
    /// The last executor, host and locality ids written (see `name_id`).
    last_names: [u32; 3],
    writes: u64,
    /// One value derived from the tasks, dropped at the next write.
    memo: Memo,
}

/// A value derived from a stage's tasks and the key it was made for (the
/// summary quantiles asked): a stage's page asks for the same one each
/// time, and an ended stage never changes. A copy of the store starts
/// without it.
#[derive(Default)]
struct Memo(Mutex<Option<(String, Arc<dyn Any + Send + Sync>)>>);

impl Clone for Memo {
    fn clone(&self) -> Memo {
        Memo::default()
    }
}

impl std::fmt::Debug for Memo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Memo")
    }
}

const STATUSES: [&str; 4] = ["RUNNING", "SUCCESS", "FAILED", "KILLED"];

impl TaskStore {
    /// Records a started attempt.
    pub fn start(&mut self, task: Task) {
        self.forget();
        self.writes += 1;
        self.running.insert(task.task_id, (self.writes, Box::new(task)));
    }

    /// Whether `task_id` is running now.
    pub fn is_running(&self, task_id: i64) -> bool {
        self.running.contains_key(&task_id)
    }

    /// Whether `task_id` was seen at all.
    pub fn contains(&self, task_id: i64) -> bool {
        self.running.contains_key(&task_id) || self.ended.iter().rev().any(|(id, _, _)| *id == task_id)
    }

    /// Records an ended attempt (it replaces the running one).
    pub fn end(&mut self, task: &Task) {
        self.forget();
        self.running.remove(&task.task_id);
        self.writes += 1;
        let Ok(offset) = u32::try_from(self.bytes.len()) else {
            // More than 4 GiB of task records: keep it as a running-map entry rather than lose it.
            self.running.insert(task.task_id, (self.writes, Box::new(task.clone())));
            return;
        };
        self.ended.push((task.task_id, self.writes, offset));
        self.encode(task);
    }

    /// What `make` derives from the tasks for `key`, made once until the
    /// next write: asked again with the same key, the value made before.
    /// One value is kept (a later key replaces it).
    pub fn derived<T: Any + Send + Sync>(&self, key: &str, make: impl FnOnce() -> T) -> Arc<T> {
        let mut memo = self.memo.0.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((held, value)) = memo.as_ref()
            && held == key
            && let Ok(value) = Arc::clone(value).downcast::<T>()
        {
            return value;
        }
        let value = Arc::new(make());
        *memo = Some((key.to_owned(), Arc::clone(&value) as Arc<dyn Any + Send + Sync>));
        value
    }

    fn forget(&mut self) {
        *self.memo.0.get_mut().unwrap_or_else(|p| p.into_inner()) = None;
    }

    /// Every attempt, one per task id (its last write), in task-id order.
    pub fn tasks(&self) -> Vec<Task> {
        self.latest().iter().filter_map(|(id, at)| self.attempt(*id, *at, true)).collect()
    }

    /// [`TaskStore::tasks`] without their accumulator updates: what the task
    /// table, the failed-task list and the summary quantiles read. Decoding
    /// skips the updates' texts, which are most of a task's record and of the
    /// time a stage of hundreds of thousands of tasks takes to decode.
    pub fn tasks_without_accumulables(&self) -> Vec<Task> {
        self.latest().iter().filter_map(|(id, at)| self.attempt(*id, *at, false)).collect()
    }

    /// Every attempt's [`TaskHead`], one per task id, in task-id order:
    /// what a page sorted by anything but a metric picks its tasks by,
    /// without materialising a [`Task`] per attempt (a stage can hold
    /// hundreds of thousands).
    pub fn heads(&self) -> Vec<TaskHead<'_>> {
        self.latest().into_iter().filter_map(|(id, at)| self.head(id, at)).collect()
    }

    /// The attempts whose status is `status`, whole, in task-id order; only
    /// those are decoded (a record's first byte holds its status).
    pub fn with_status(&self, status: &str) -> Vec<Task> {
        self.latest()
            .into_iter()
            .filter(|(id, at)| match at {
                Some(at) => {
                    self.bytes.get(*at as usize).is_some_and(|flags| STATUSES[usize::from(flags & 3)] == status)
                }
                None => self.running.get(id).is_some_and(|(_, t)| t.status == status),
            })
            .filter_map(|(id, at)| self.attempt(id, at, true))
            .collect()
    }

    /// The attempts `task_ids` name (as held: their last write), whole, in
    /// the order asked; ids not held are left out. For a page of tasks picked
    /// from [`TaskStore::tasks_without_accumulables`].
    pub fn whole(&self, task_ids: &[i64]) -> Vec<Task> {
        let latest = self.latest();
        task_ids
            .iter()
            .filter_map(|id| {
                let found = latest.binary_search_by_key(id, |(held, _)| *held).ok()?;
                self.attempt(*id, latest[found].1, true)
            })
            .collect()
    }

    /// Each task id once, in id order, with where its last write is: the
    /// offset of its record, or None while it runs.
    fn latest(&self) -> Vec<(i64, Option<u32>)> {
        let mut order: Vec<(i64, u64, Option<u32>)> =
            self.ended.iter().map(|(id, seq, at)| (*id, *seq, Some(*at))).collect();
        order.extend(self.running.iter().map(|(id, (seq, _))| (*id, *seq, None)));
        order.sort_unstable_by_key(|(id, seq, _)| (*id, *seq));
        let mut out: Vec<(i64, Option<u32>)> = Vec::with_capacity(order.len());
        for (i, (id, _, at)) in order.iter().enumerate() {
            if order.get(i + 1).is_none_or(|next| next.0 != *id) {
                out.push((*id, *at));
            }
        }
        out
    }

    /// One attempt's head from where [`TaskStore::latest`] says it is.
    fn head(&self, id: i64, at: Option<u32>) -> Option<TaskHead<'_>> {
        match at {
            Some(at) => self.read_head(&mut Reader { bytes: &self.bytes, at: at as usize }).map(|(head, _)| head),
            None => self.running.get(&id).map(|(_, t)| t.head()),
        }
    }

    /// Reads a record's head, the fields in the order [`TaskStore::encode`]
    /// writes them, leaving `r` after the host; also gives the flags byte.
    fn read_head(&self, r: &mut Reader<'_>) -> Option<(TaskHead<'_>, u8)> {
        let flags = r.byte()?;
        let name = |id: u64| usize::try_from(id).ok().and_then(|i| self.names.get(i)).map_or("", String::as_str);
        let (task_id, index, attempt) = (r.signed()?, r.signed()?, r.signed()?);
        let _partition_id = r.signed()?;
        let launch_time = r.signed()?;
        let finish_time = launch_time.wrapping_add(r.signed()?);
        let getting_result_time = r.signed()?;
        let head = TaskHead {
            task_id,
            index,
            attempt,
            status: STATUSES[usize::from(flags & 3)],
            launch_time,
            finish_time,
            getting_result_time,
            executor_id: name(r.unsigned()?),
            host: name(r.unsigned()?),
        };
        Some((head, flags))
    }

    /// Calls `f` with the head and the metrics of every attempt whose status
    /// is `status` and that reported metrics, in task-id order. The error
    /// and the accumulator updates are stepped over and no [`Task`] is made:
    /// what the summary quantiles of a stage of hundreds of thousands of
    /// tasks read.
    pub fn each_with_metrics(&self, status: &str, mut f: impl FnMut(&TaskHead<'_>, &Metrics)) {
        for (id, at) in self.latest() {
            let Some(at) = at else {
                if let Some((_, t)) = self.running.get(&id)
                    && t.status == status
                    && let Some(m) = &t.metrics
                {
                    f(&t.head(), m);
                }
                continue;
            };
            let flags = self.bytes.get(at as usize).copied().unwrap_or(0);
            if STATUSES[usize::from(flags & 3)] != status || flags & 8 == 0 {
                continue;
            }
            let mut r = Reader { bytes: &self.bytes, at: at as usize };
            if let Some((head, metrics)) =
                self.read_head(&mut r).and_then(|(head, _)| Some((head, r.metrics_after_head(flags)?)))
            {
                f(&head, &metrics);
            }
        }
    }

    /// One attempt from where [`TaskStore::latest`] says it is.
    fn attempt(&self, id: i64, at: Option<u32>, accumulables: bool) -> Option<Task> {
        match at {
            Some(at) => self.decode(at as usize, accumulables),
            None => self.running.get(&id).map(|(_, t)| {
                let mut task = Task::clone(t);
                if !accumulables {
                    task.accumulables = Vec::new();
                }
                task
            }),
        }
    }

    /// Distinct task ids held.
    pub fn len(&self) -> usize {
        let mut ids: Vec<i64> = self.ended.iter().map(|(id, _, _)| *id).collect();
        ids.extend(self.running.keys());
        ids.sort_unstable();
        ids.dedup();
        ids.len()
    }

    /// Whether no attempt is held.
    pub fn is_empty(&self) -> bool {
        self.running.is_empty() && self.ended.is_empty()
    }

    /// Bytes held, roughly, for the detail cache's budget.
    pub fn approx_bytes(&self) -> u64 {
        (self.bytes.capacity() + self.ended.capacity() * 24 + self.running.len() * 320) as u64
            + self.names.iter().map(|n| n.len() as u64 + 48).sum::<u64>()
    }

    /// The interned id of `name`; `slot` (executor, host, locality) remembers
    /// the last one, which the next task of a stage nearly always repeats.
    fn name_id(&mut self, slot: usize, name: &str) -> u64 {
        let last = self.last_names[slot];
        if self.names.get(last as usize).is_some_and(|n| n == name) {
            return u64::from(last);
        }
        let id = match self.name_ids.get(name) {
            Some(id) => *id,
            None => {
                let id = u32::try_from(self.names.len()).unwrap_or(u32::MAX);
                self.names.push(name.to_owned());
                self.name_ids.insert(name.to_owned(), id);
                id
            }
        };
        self.last_names[slot] = id;
        u64::from(id)
    }

    fn encode(&mut self, t: &Task) {
        let executor = self.name_id(0, &t.executor_id);
        let host = self.name_id(1, &t.host);
        let locality = self.name_id(2, &t.locality);
        let status = STATUSES.iter().position(|s| *s == t.status).unwrap_or(2) as u8;
        let flags = status
            | (u8::from(t.speculative) << 2)
            | (u8::from(t.metrics.is_some()) << 3)
            | (u8::from(t.error_message.is_some()) << 4);
        let out = &mut self.bytes;
        out.push(flags);
        for v in [t.task_id, t.index, t.attempt, t.partition_id, t.launch_time] {
            put_signed(out, v);
        }
        put_signed(out, t.finish_time.wrapping_sub(t.launch_time));
        put_signed(out, t.getting_result_time);
        for v in [executor, host, locality] {
            put_unsigned(out, v);
        }
        if let Some(error) = &t.error_message {
            put_text(out, Some(error));
        }
        put_unsigned(out, t.accumulables.len() as u64);
        for a in &t.accumulables {
            put_signed(out, a.id);
            put_text(out, a.name.as_deref());
            put_text(out, a.update.as_deref());
            put_text(out, a.value.as_deref());
        }
        if let Some(m) = &t.metrics {
            for v in m.values() {
                put_signed(out, v);
            }
        }
    }

    /// The record at `at`; its accumulator updates skipped unless `accumulables`.
    fn decode(&self, at: usize, accumulables: bool) -> Option<Task> {
        let mut r = Reader { bytes: &self.bytes, at };
        let flags = r.byte()?;
        let name = |id: u64| {
            usize::try_from(id)
                .ok()
                .and_then(|i| self.names.get(i))
                .map(|n| CompactString::from(n.as_str()))
                .unwrap_or_default()
        };
        let mut t = Task {
            status: STATUSES[usize::from(flags & 3)],
            speculative: flags & 4 != 0,
            task_id: r.signed()?,
            index: r.signed()?,
            attempt: r.signed()?,
            partition_id: r.signed()?,
            launch_time: r.signed()?,
            ..Task::default()
        };
        t.finish_time = t.launch_time.wrapping_add(r.signed()?);
        t.getting_result_time = r.signed()?;
        t.executor_id = name(r.unsigned()?);
        t.host = name(r.unsigned()?);
        t.locality = name(r.unsigned()?);
        if flags & 16 != 0 {
            t.error_message = r.text()?;
        }
        let count = r.unsigned()?;
        for _ in 0..count {
            if accumulables {
                t.accumulables.push(Accumulable {
                    id: r.signed()?,
                    name: r.text()?,
                    update: r.text()?,
                    value: r.text()?,
                });
            } else {
                r.signed()?;
                for _ in 0..3 {
                    r.skip_text()?;
                }
            }
        }
        if flags & 8 != 0 {
            let mut values = [0i64; Metrics::COUNT];
            for v in &mut values {
                *v = r.signed()?;
            }
            t.metrics = Some(Metrics::from_values(values));
        }
        Some(t)
    }
}

fn put_unsigned(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn put_signed(out: &mut Vec<u8>, v: i64) {
    put_unsigned(out, ((v << 1) ^ (v >> 63)) as u64);
}

/// `None` as 0, a text as its length + 1 and its bytes.
fn put_text(out: &mut Vec<u8>, text: Option<&str>) {
    match text {
        None => put_unsigned(out, 0),
        Some(s) => {
            put_unsigned(out, s.len() as u64 + 1);
            out.extend_from_slice(s.as_bytes());
        }
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Option<u8> {
        let b = *self.bytes.get(self.at)?;
        self.at += 1;
        Some(b)
    }

    fn unsigned(&mut self) -> Option<u64> {
        let mut v = 0u64;
        let mut shift = 0;
        loop {
            let b = self.byte()?;
            v |= u64::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Some(v);
            }
            shift += 7;
            if shift > 63 {
                return None;
            }
        }
    }

    fn signed(&mut self) -> Option<i64> {
        let v = self.unsigned()?;
        Some(((v >> 1) as i64) ^ -((v & 1) as i64))
    }

    /// From after a record's host: steps over the locality, the error and
    /// the accumulator updates, and reads the metrics (the record has them:
    /// `flags` bit 3).
    fn metrics_after_head(&mut self, flags: u8) -> Option<Metrics> {
        self.unsigned()?;
        if flags & 16 != 0 {
            self.skip_text()?;
        }
        for _ in 0..self.unsigned()? {
            self.signed()?;
            for _ in 0..3 {
                self.skip_text()?;
            }
        }
        let mut values = [0i64; Metrics::COUNT];
        for v in &mut values {
            *v = self.signed()?;
        }
        Some(Metrics::from_values(values))
    }

    /// Steps over a text written by `put_text`.
    fn skip_text(&mut self) -> Option<()> {
        let len = usize::try_from(self.unsigned()?).ok()?;
        let end = self.at.checked_add(len.saturating_sub(1))?;
        if end > self.bytes.len() {
            return None;
        }
        self.at = end;
        Some(())
    }

    fn text(&mut self) -> Option<Option<String>> {
        let len = usize::try_from(self.unsigned()?).ok()?;
        if len == 0 {
            return Some(None);
        }
        let end = self.at.checked_add(len - 1)?;
        let s = std::str::from_utf8(self.bytes.get(self.at..end)?).ok()?.to_owned();
        self.at = end;
        Some(Some(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(id: i64, status: &'static str) -> Task {
        Task {
            task_id: id,
            index: id * 2,
            attempt: 1,
            partition_id: -1,
            launch_time: 1_700_000_000_000,
            finish_time: if status == "RUNNING" { 0 } else { 1_700_000_000_250 },
            getting_result_time: 0,
            executor_id: "7".into(),
            host: "host-a".into(),
            status,
            locality: "NODE_LOCAL".into(),
            speculative: id % 2 == 0,
            error_message: (status == "FAILED").then(|| "boom\n\tat x".to_owned()),
            metrics: (status != "RUNNING").then(|| Metrics {
                executor_run_time: 240,
                executor_cpu_time: -3,
                shuffle_records_written: i64::MAX,
                ..Metrics::default()
            }),
            accumulables: vec![Accumulable { id: 9, name: Some("n".into()), update: None, value: Some("5".into()) }],
        }
    }

    #[test]
    fn ended_tasks_decode_to_what_was_stored_and_the_last_write_wins() {
        let mut store = TaskStore::default();
        store.start(task(3, "RUNNING"));
        store.start(task(1, "RUNNING"));
        store.end(&task(1, "SUCCESS"));
        store.start(task(2, "RUNNING"));
        store.end(&task(2, "FAILED"));
        store.end(&task(2, "KILLED"));
        let tasks = store.tasks();
        let seen: Vec<(i64, &str)> = tasks.iter().map(|t| (t.task_id, t.status)).collect();
        assert_eq!(seen, [(1, "SUCCESS"), (2, "KILLED"), (3, "RUNNING")]);
        let mut killed = task(2, "KILLED");
        killed.error_message = None;
        assert_eq!(format!("{:?}", tasks[1]), format!("{killed:?}"));
        assert_eq!(format!("{:?}", tasks[0]), format!("{:?}", task(1, "SUCCESS")));
        assert_eq!(store.len(), 3);
        assert!(store.is_running(3) && !store.is_running(1) && store.contains(2));
    }

    #[test]
    fn without_accumulables_everything_else_decodes_the_same_and_whole_gives_them_back_by_id() {
        let mut store = TaskStore::default();
        for id in [5, 1, 4] {
            store.start(task(id, "RUNNING"));
        }
        store.end(&task(1, "SUCCESS"));
        store.end(&task(5, "FAILED"));
        let whole = store.tasks();
        let light = store.tasks_without_accumulables();
        assert_eq!(light.len(), 3);
        for (w, l) in whole.iter().zip(&light) {
            assert!(!w.accumulables.is_empty() && l.accumulables.is_empty(), "{} {l:?}", w.task_id);
            let mut stripped = w.clone();
            stripped.accumulables.clear();
            assert_eq!(format!("{stripped:?}"), format!("{l:?}"));
        }
        let failed: Vec<String> = store.with_status("FAILED").iter().map(|t| format!("{t:?}")).collect();
        assert_eq!(failed, [format!("{:?}", whole[2])]);
        assert_eq!(store.with_status("RUNNING").iter().map(|t| t.task_id).collect::<Vec<_>>(), [4]);
        assert!(store.with_status("KILLED").is_empty());
        // In the order asked, whole, unknown ids left out; a running task too.
        let picked: Vec<String> = store.whole(&[5, 9, 4, 1]).iter().map(|t| format!("{t:?}")).collect();
        let expected: Vec<String> = [2, 1, 0].iter().map(|i| format!("{:?}", whole[*i])).collect();
        assert_eq!(picked, expected);
    }

    #[test]
    fn heads_are_the_decoded_tasks_heads_with_names_and_running_tasks_included() {
        let mut store = TaskStore::default();
        for id in [5, 1, 4, 8] {
            store.start(task(id, "RUNNING"));
        }
        store.end(&task(1, "SUCCESS"));
        store.end(&task(5, "FAILED"));
        let mut other_host = task(8, "KILLED");
        other_host.host = "host-b".into();
        other_host.executor_id = "12".into();
        other_host.launch_time = -5;
        store.end(&other_host);
        let whole = store.tasks();
        let heads = store.heads();
        let expected: Vec<TaskHead> = whole.iter().map(Task::head).collect();
        assert_eq!(heads, expected);
        assert_eq!(
            heads.iter().map(|h| (h.task_id, h.status)).collect::<Vec<_>>(),
            [(1, "SUCCESS"), (4, "RUNNING"), (5, "FAILED"), (8, "KILLED")]
        );
        assert_eq!((heads[3].host, heads[3].executor_id, heads[3].launch_time), ("host-b", "12", -5));
        assert_eq!(heads[1].duration(), None, "a running task has no duration yet");
        assert_eq!(heads[0].duration(), whole[0].duration());
    }

    #[test]
    fn each_with_metrics_visits_the_attempts_of_a_status_that_reported_metrics_as_decoded() {
        let mut store = TaskStore::default();
        for id in [6, 2, 9, 4, 7] {
            store.start(task(id, "RUNNING"));
        }
        store.end(&task(2, "SUCCESS"));
        store.end(&task(9, "FAILED"));
        let mut no_metrics = task(4, "SUCCESS");
        no_metrics.metrics = None;
        store.end(&no_metrics);
        let mut other = task(6, "SUCCESS");
        other.metrics = Some(Metrics { jvm_gc_time: 17, shuffle_write_time: -2, ..Metrics::default() });
        other.getting_result_time = 1_700_000_000_200;
        store.end(&other);
        let expect = |status: &str| -> Vec<String> {
            store
                .tasks()
                .iter()
                .filter(|t| t.status == status)
                .filter_map(|t| Some(format!("{:?} {:?}", t.head(), t.metrics?)))
                .collect()
        };
        for status in STATUSES {
            let mut seen = Vec::new();
            store.each_with_metrics(status, |h, m| seen.push(format!("{h:?} {m:?}")));
            assert_eq!(seen, expect(status), "{status}");
        }
        let mut ids = Vec::new();
        store.each_with_metrics("SUCCESS", |h, _| ids.push(h.task_id));
        assert_eq!(ids, [2, 6], "task 4 reported no metrics; in task-id order");
    }

    #[test]
    fn a_derived_value_is_made_once_per_key_until_the_next_write() {
        let mut store = TaskStore::default();
        store.end(&task(1, "SUCCESS"));
        let made = std::cell::Cell::new(0);
        let count = |store: &TaskStore, key: &str| {
            *store.derived(key, || {
                made.set(made.get() + 1);
                store.tasks().len()
            })
        };
        assert_eq!((count(&store, "a"), count(&store, "a")), (1, 1));
        assert_eq!(made.get(), 1, "the same key is made once");
        assert_eq!(count(&store, "b"), 1);
        assert_eq!(made.get(), 2, "another key is made");
        store.end(&task(2, "SUCCESS"));
        assert_eq!(count(&store, "b"), 2, "a write forgets it: made again from the tasks now held");
        store.start(task(3, "RUNNING"));
        assert_eq!(count(&store, "b"), 3);
        assert_eq!(made.get(), 4);
        assert_eq!(count(&store.clone(), "b"), 3);
        assert_eq!(made.get(), 5, "a copy starts without it");
    }

    #[test]
    fn names_that_change_from_task_to_task_decode_as_written() {
        // The remembered last name per field must never stand in for another.
        let names = [("1", "host-a", "NODE_LOCAL"), ("2", "host-b", "PROCESS_LOCAL"), ("1", "host-b", "ANY")];
        let mut store = TaskStore::default();
        for id in 0..12 {
            let (executor, host, locality) = names[(id as usize * 7) % names.len()];
            let mut t = task(id, "SUCCESS");
            (t.executor_id, t.host, t.locality) = (executor.into(), host.into(), locality.into());
            store.end(&t);
        }
        for t in store.tasks() {
            let expected = names[(t.task_id as usize * 7) % names.len()];
            assert_eq!((t.executor_id.as_str(), t.host.as_str(), t.locality.as_str()), expected, "task {}", t.task_id);
        }
        assert_eq!(store.names.len(), 7, "each distinct name is interned once: {:?}", store.names);
    }
}
