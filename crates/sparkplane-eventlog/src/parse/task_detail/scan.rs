//! A direct reader for task starts and ends as Spark's `JsonProtocol` writes
//! them: one pass over the line's bytes into the [`super`] types, without
//! serde's per-field machinery. Task events are nearly every line of a large
//! log, and the typed serde reading of them was half of a History Server
//! replay (ADR 0045 has the measurements).
//!
//! Owns: [`task_start`] and [`task_end`], which either give exactly what
//! serde's reading of the same line gives, or decline (`None`) and leave the
//! line to serde. They decline on anything they are not certain to read the
//! same way: an escape in a string, a control character, a number that is
//! not a plain integer where one is read, a duplicate field, nesting deeper
//! than [`MAX_DEPTH`], any value of another type than the field's, any
//! syntax error. Skipped values (fields the types do not keep) are checked as
//! serde checks what it ignores.
//!
//! Must not: decide what a field means or which accumulables are shown (the
//! types and `shown_accumulables` in [`super`] do; this mirrors them), or
//! return an error of its own — serde's reading words every error. A field
//! added to those types must be added here too: tests/it/task_scan_agrees.rs
//! notices a forgotten one only where the fixtures hold it.

use std::borrow::Cow;

use super::{
    AccumulableDetail, AccumulableValue, BlockManagerAddress, EXECUTOR_METRIC_NAMES, ExecutorMetricsDetail,
    InputMetricsDetail, OutputMetricsDetail, PushShuffleDetail, ShuffleReadDetail, ShuffleWriteDetail, TaskEndDetail,
    TaskEndReasonDetail, TaskInfoDetail, TaskMetricsDetail, TaskStartDetail,
};

/// Containers nested deeper than this are left to serde (whose own limit is 128).
pub const MAX_DEPTH: u32 = 64;

/// Keys of a `SparkListenerTaskStart`, in the order Spark writes them.
const TASK_START_KEYS: &[&str] = &["Event", "Stage ID", "Stage Attempt ID", "Task Info"];

/// Keys of a `SparkListenerTaskEnd`, in the order Spark writes them.
const TASK_END_KEYS: &[&str] = &[
    "Event",
    "Stage ID",
    "Stage Attempt ID",
    "Task Type",
    "Task End Reason",
    "Task Info",
    "Task Executor Metrics",
    "Task Metrics",
];

/// Reads a `SparkListenerTaskStart` line (already trimmed), or declines.
pub fn task_start(line: &str) -> Option<TaskStartDetail<'_>> {
    let mut scan = Scan::new(line);
    let (mut stage_id, mut stage_attempt_id, mut info) = (0, 0, None);
    scan.object(TASK_START_KEYS, |scan, key| {
        match key {
            1 => stage_id = scan.int()?,
            2 => stage_attempt_id = scan.int()?,
            3 => info = Some(scan.task_info()?),
            _ => return Some(false),
        }
        Some(true)
    })?;
    scan.end()?;
    Some(TaskStartDetail { stage_id, stage_attempt_id, info: info? })
}

/// Reads a `SparkListenerTaskEnd` line (already trimmed), or declines.
pub fn task_end(line: &str) -> Option<TaskEndDetail<'_>> {
    let mut scan = Scan::new(line);
    let (mut stage_id, mut stage_attempt_id) = (0, 0);
    let (mut reason, mut info, mut metrics, mut executor_metrics) = (None, None, None, None);
    scan.object(TASK_END_KEYS, |scan, key| {
        match key {
            1 => stage_id = scan.int()?,
            2 => stage_attempt_id = scan.int()?,
            4 => reason = scan.optional(Scan::end_reason)?,
            5 => info = Some(scan.task_info()?),
            6 => executor_metrics = scan.optional(Scan::executor_metrics)?,
            7 => metrics = scan.optional(Scan::task_metrics)?,
            _ => return Some(false),
        }
        Some(true)
    })?;
    scan.end()?;
    Some(TaskEndDetail { stage_id, stage_attempt_id, reason, info: info?, metrics, executor_metrics })
}

/// A key that is none of an object's known keys.
const OTHER: usize = usize::MAX;

/// What a known key seen twice in one object does.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Duplicates {
    /// Declines, as serde's derived reading refuses a duplicate field.
    Decline,
    /// Is handed to the field again (a reading that decides for itself).
    Allowed,
}

/// A cursor over one line's bytes.
struct Scan<'a> {
    text: &'a str,
    at: usize,
    depth: u32,
}

impl<'a> Scan<'a> {
    fn new(text: &'a str) -> Scan<'a> {
        Scan { text, at: 0, depth: 0 }
    }

    #[inline(always)]
    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    #[inline(always)]
    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    /// Skips JSON whitespace (what serde skips between tokens).
    #[inline(always)]
    fn space(&mut self) {
        while let Some(b' ' | b'\n' | b'\r' | b'\t') = self.peek() {
            self.at += 1;
        }
    }

    /// Consumes `byte` after any whitespace.
    #[inline(always)]
    fn eat(&mut self, byte: u8) -> Option<()> {
        self.space();
        if self.peek()? != byte {
            return None;
        }
        self.at += 1;
        Some(())
    }

    /// Nothing but whitespace is left (serde refuses trailing characters).
    fn end(&mut self) -> Option<()> {
        self.space();
        (self.at == self.text.len()).then_some(())
    }

    /// A string without escapes or control characters, borrowed from the line.
    #[inline(always)]
    fn str(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let len = plain_string_len(&self.bytes()[start..])?;
        self.at = start + len + 1;
        self.text.get(start..start + len)
    }

    /// A JSON integer that fits an `i64` as serde reads it into one. Declines
    /// `-0` (serde reads it as a float), leading zeros, fractions, exponents and
    /// more than 18 digits.
    #[inline(always)]
    fn int(&mut self) -> Option<i64> {
        self.space();
        let negative = self.peek() == Some(b'-');
        if negative {
            self.at += 1;
        }
        let digits = &self.bytes()[self.at..];
        let (mut value, mut count) = (0i64, 0);
        while let Some(&digit @ b'0'..=b'9') = digits.get(count) {
            if count == 18 {
                return None;
            }
            value = value * 10 + i64::from(digit - b'0');
            count += 1;
        }
        if count == 0 || (count > 1 && digits[0] == b'0') || (negative && value == 0) {
            return None;
        }
        if let Some(b'.' | b'e' | b'E') = digits.get(count) {
            return None;
        }
        self.at += count;
        Some(if negative { -value } else { value })
    }

    fn bool(&mut self) -> Option<bool> {
        self.space();
        if self.literal("true") {
            Some(true)
        } else if self.literal("false") {
            Some(false)
        } else {
            None
        }
    }

    /// Consumes `word` if it is next.
    #[inline(always)]
    fn literal(&mut self, word: &str) -> bool {
        let rest = &self.bytes()[self.at..];
        let found = rest.len() >= word.len() && same_bytes(&rest[..word.len()], word.as_bytes());
        if found {
            self.at += word.len();
        }
        found
    }

    /// `null` as `None`, anything else through `read` (serde's `Option`).
    fn optional<T>(&mut self, read: impl FnOnce(&mut Self) -> Option<T>) -> Option<Option<T>> {
        self.space();
        if self.literal("null") {
            return Some(None);
        }
        read(self).map(Some)
    }

    fn optional_str(&mut self) -> Option<Option<Cow<'a, str>>> {
        self.optional(|scan| scan.str().map(Cow::Borrowed))
    }

    /// An object whose known keys are `keys` (in the order Spark writes
    /// them), handing each key's index in `keys` ([`OTHER`] for any other) to
    /// `field` with the cursor on its value: `field` reads the value and says
    /// `true`, or says `false` and the value is skipped. A known key seen twice
    /// declines, as serde's derived reading refuses a duplicate field.
    ///
    /// The key after key `i` is expected to be key `i + 1`: when the bytes say
    /// so, it is taken without scanning or comparing it with the others.
    fn object(&mut self, keys: &[&str], field: impl FnMut(&mut Self, usize) -> Option<bool>) -> Option<()> {
        self.object_with(keys, Duplicates::Decline, field)
    }

    /// As [`Scan::object`], with what a known key seen twice does.
    fn object_with(
        &mut self,
        keys: &[&str],
        duplicates: Duplicates,
        mut field: impl FnMut(&mut Self, usize) -> Option<bool>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.enter()?;
        self.space();
        if self.peek()? == b'}' {
            self.at += 1;
            self.depth -= 1;
            return Some(());
        }
        let (mut next, mut seen) = (0, 0u64);
        loop {
            let key = match keys.get(next) {
                Some(expected) if self.expect_key(expected) => next,
                _ => {
                    let key = self.str()?;
                    self.eat(b':')?;
                    keys.iter().position(|k| *k == key).unwrap_or(OTHER)
                }
            };
            if key != OTHER {
                let bit = 1u64.checked_shl(u32::try_from(key).ok()?)?;
                if seen & bit != 0 && duplicates == Duplicates::Decline {
                    return None;
                }
                seen |= bit;
                next = key + 1;
            }
            if !field(self, key)? {
                self.skip()?;
            }
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// Consumes `"key":` when it comes next exactly so (no whitespace).
    #[inline(always)]
    fn expect_key(&mut self, key: &str) -> bool {
        let rest = &self.bytes()[self.at..];
        let found = rest.len() > key.len() + 2
            && rest[0] == b'"'
            && same_bytes(&rest[1..=key.len()], key.as_bytes())
            && rest[key.len() + 1] == b'"'
            && rest[key.len() + 2] == b':';
        if found {
            self.at += key.len() + 3;
        }
        found
    }

    /// An object of integers: the values of `keys`, 0 where absent.
    fn ints<const N: usize>(&mut self, keys: &[&str; N]) -> Option<[i64; N]> {
        let mut values = [0; N];
        self.object(keys, |scan, key| {
            let Some(value) = values.get_mut(key) else { return Some(false) };
            *value = scan.int()?;
            Some(true)
        })?;
        Some(values)
    }

    /// An array, reading each element with `element`.
    fn array(&mut self, mut element: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        self.enter()?;
        self.space();
        if self.peek()? == b']' {
            self.at += 1;
            self.depth -= 1;
            return Some(());
        }
        loop {
            element(self)?;
            self.space();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    self.depth -= 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    fn enter(&mut self) -> Option<()> {
        self.depth += 1;
        (self.depth <= MAX_DEPTH).then_some(())
    }

    /// Skips one value, checking it as serde checks a value it ignores.
    fn skip(&mut self) -> Option<()> {
        self.space();
        match self.peek()? {
            b'"' => self.str().map(drop),
            b'{' => self.object(&[], |_, _| Some(false)),
            b'[' => self.array(Scan::skip),
            b't' => self.literal("true").then_some(()),
            b'f' => self.literal("false").then_some(()),
            b'n' => self.literal("null").then_some(()),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// Any JSON number, by the grammar serde checks when it ignores one.
    fn number(&mut self) -> Option<()> {
        if self.peek() == Some(b'-') {
            self.at += 1;
        }
        let digits = self.digits();
        if digits == 0 || (digits > 1 && self.bytes()[self.at - digits] == b'0') {
            return None;
        }
        if self.peek() == Some(b'.') {
            self.at += 1;
            if self.digits() == 0 {
                return None;
            }
        }
        if let Some(b'e' | b'E') = self.peek() {
            self.at += 1;
            if let Some(b'+' | b'-') = self.peek() {
                self.at += 1;
            }
            if self.digits() == 0 {
                return None;
            }
        }
        Some(())
    }

    fn digits(&mut self) -> usize {
        let count = self.bytes()[self.at..].iter().take_while(|b| b.is_ascii_digit()).count();
        self.at += count;
        count
    }

    fn task_info(&mut self) -> Option<TaskInfoDetail<'a>> {
        const KEYS: &[&str] = &[
            "Task ID",
            "Index",
            "Attempt",
            "Partition ID",
            "Launch Time",
            "Executor ID",
            "Host",
            "Locality",
            "Speculative",
            "Getting Result Time",
            "Finish Time",
            "Failed",
            "Killed",
            "Accumulables",
        ];
        let mut info = TaskInfoDetail::default();
        self.object(KEYS, |scan, key| {
            match key {
                0 => info.task_id = scan.int()?,
                1 => info.index = scan.int()?,
                2 => info.attempt = scan.int()?,
                3 => info.partition_id = scan.optional(Scan::int)?,
                4 => info.launch_time = scan.int()?,
                5 => info.executor_id = Cow::Borrowed(scan.str()?),
                6 => info.host = Cow::Borrowed(scan.str()?),
                7 => info.locality = Cow::Borrowed(scan.str()?),
                8 => info.speculative = scan.bool()?,
                9 => info.getting_result_time = scan.int()?,
                10 => info.finish_time = scan.int()?,
                13 => scan.array(|scan| {
                    let entry = scan.accumulable()?;
                    if !entry.internal || entry.metadata.as_deref() == Some("sql") {
                        info.accumulables.push(entry);
                    }
                    Some(())
                })?,
                _ => return Some(false),
            }
            Some(true)
        })?;
        Some(info)
    }

    fn accumulable(&mut self) -> Option<AccumulableDetail<'a>> {
        const KEYS: &[&str] = &["ID", "Name", "Update", "Value", "Internal", "Count Failed Values", "Metadata"];
        let mut entry = AccumulableDetail::default();
        self.object(KEYS, |scan, key| {
            match key {
                0 => entry.id = scan.int()?,
                1 => entry.name = scan.optional_str()?,
                2 => entry.update = scan.accumulable_value()?,
                3 => entry.value = scan.accumulable_value()?,
                4 => entry.internal = scan.bool()?,
                6 => entry.metadata = scan.optional_str()?,
                _ => return Some(false),
            }
            Some(true)
        })?;
        Some(entry)
    }

    /// A string, an integer, a boolean or null; anything else (a float, a list,
    /// an object) is left to serde, which keeps its JSON text.
    fn accumulable_value(&mut self) -> Option<AccumulableValue<'a>> {
        self.space();
        Some(match self.peek()? {
            b'"' => AccumulableValue::Text(Cow::Borrowed(self.str()?)),
            b'n' => self.literal("null").then_some(AccumulableValue::Missing)?,
            b't' | b'f' => AccumulableValue::Other(self.bool()?.to_string()),
            _ => AccumulableValue::Int(self.int()?),
        })
    }

    fn end_reason(&mut self) -> Option<TaskEndReasonDetail<'a>> {
        const KEYS: &[&str] = &[
            "Reason",
            "Kill Reason",
            "Kill Description",
            "Class Name",
            "Description",
            "Full Stack Trace",
            "Block Manager Address",
            "Shuffle ID",
            "Map Index",
            "Map ID",
            "Reduce ID",
            "Message",
            "Loss Reason",
            "Executor ID",
        ];
        let mut r = TaskEndReasonDetail::default();
        self.object(KEYS, |scan, key| {
            match key {
                0 => r.reason = Cow::Borrowed(scan.str()?),
                1 => r.kill_reason = scan.optional_str()?,
                2 => r.kill_description = scan.optional_str()?,
                3 => r.class_name = scan.optional_str()?,
                4 => r.description = scan.optional_str()?,
                5 => r.full_stack_trace = scan.optional_str()?,
                6 => r.block_manager = scan.optional(Scan::block_manager)?,
                7 => r.shuffle_id = scan.int()?,
                8 => r.map_index = scan.int()?,
                9 => r.map_id = scan.int()?,
                10 => r.reduce_id = scan.int()?,
                11 => r.message = scan.optional_str()?,
                12 => r.loss_reason = scan.optional_str()?,
                13 => r.executor_id = scan.optional_str()?,
                _ => return Some(false),
            }
            Some(true)
        })?;
        Some(r)
    }

    fn block_manager(&mut self) -> Option<BlockManagerAddress<'a>> {
        let mut address = BlockManagerAddress::default();
        self.object(&["Executor ID"], |scan, key| {
            if key != 0 {
                return Some(false);
            }
            address.executor_id = scan.optional_str()?;
            Some(true)
        })?;
        Some(address)
    }

    fn task_metrics(&mut self) -> Option<TaskMetricsDetail> {
        const KEYS: &[&str] = &[
            "Executor Deserialize Time",
            "Executor Deserialize CPU Time",
            "Executor Run Time",
            "Executor CPU Time",
            "Peak Execution Memory",
            "Peak On Heap Execution Memory",
            "Peak Off Heap Execution Memory",
            "Result Size",
            "JVM GC Time",
            "Result Serialization Time",
            "Memory Bytes Spilled",
            "Disk Bytes Spilled",
            "Shuffle Read Metrics",
            "Shuffle Write Metrics",
            "Input Metrics",
            "Output Metrics",
            "Updated Blocks",
        ];
        let mut m = TaskMetricsDetail::default();
        self.object(KEYS, |scan, key| {
            let value = match key {
                0 => &mut m.executor_deserialize_time,
                1 => &mut m.executor_deserialize_cpu_time,
                2 => &mut m.executor_run_time,
                3 => &mut m.executor_cpu_time,
                4 => &mut m.peak_execution_memory,
                7 => &mut m.result_size,
                8 => &mut m.jvm_gc_time,
                9 => &mut m.result_serialization_time,
                10 => &mut m.memory_bytes_spilled,
                11 => &mut m.disk_bytes_spilled,
                12 => {
                    m.shuffle_read = scan.shuffle_read()?;
                    return Some(true);
                }
                13 => {
                    let [bytes_written, write_time, records_written] =
                        scan.ints(&["Shuffle Bytes Written", "Shuffle Write Time", "Shuffle Records Written"])?;
                    m.shuffle_write = ShuffleWriteDetail { bytes_written, write_time, records_written };
                    return Some(true);
                }
                14 => {
                    let [bytes, records] = scan.ints(&["Bytes Read", "Records Read"])?;
                    m.input = InputMetricsDetail { bytes, records };
                    return Some(true);
                }
                15 => {
                    let [bytes, records] = scan.ints(&["Bytes Written", "Records Written"])?;
                    m.output = OutputMetricsDetail { bytes, records };
                    return Some(true);
                }
                _ => return Some(false),
            };
            *value = scan.int()?;
            Some(true)
        })?;
        Some(m)
    }

    fn shuffle_read(&mut self) -> Option<ShuffleReadDetail> {
        const KEYS: &[&str] = &[
            "Remote Blocks Fetched",
            "Local Blocks Fetched",
            "Fetch Wait Time",
            "Remote Bytes Read",
            "Remote Bytes Read To Disk",
            "Local Bytes Read",
            "Total Records Read",
            "Remote Requests Duration",
            "Push Based Shuffle",
        ];
        const PUSH_KEYS: &[&str; 9] = &[
            "Corrupt Merged Block Chunks",
            "Merged Fetch Fallback Count",
            "Merged Remote Blocks Fetched",
            "Merged Local Blocks Fetched",
            "Merged Remote Chunks Fetched",
            "Merged Local Chunks Fetched",
            "Merged Remote Bytes Read",
            "Merged Local Bytes Read",
            "Merged Remote Requests Duration",
        ];
        let mut r = ShuffleReadDetail::default();
        self.object(KEYS, |scan, key| {
            let value = match key {
                0 => &mut r.remote_blocks_fetched,
                1 => &mut r.local_blocks_fetched,
                2 => &mut r.fetch_wait_time,
                3 => &mut r.remote_bytes_read,
                4 => &mut r.remote_bytes_read_to_disk,
                5 => &mut r.local_bytes_read,
                6 => &mut r.records_read,
                7 => &mut r.remote_reqs_duration,
                8 => {
                    let [a, b, c, d, e, f, g, h, i] = scan.ints(PUSH_KEYS)?;
                    r.push = PushShuffleDetail {
                        corrupt_merged_block_chunks: a,
                        merged_fetch_fallback_count: b,
                        merged_remote_blocks_fetched: c,
                        merged_local_blocks_fetched: d,
                        merged_remote_chunks_fetched: e,
                        merged_local_chunks_fetched: f,
                        merged_remote_bytes_read: g,
                        merged_local_bytes_read: h,
                        merged_remote_reqs_duration: i,
                    };
                    return Some(true);
                }
                _ => return Some(false),
            };
            *value = scan.int()?;
            Some(true)
        })?;
        Some(r)
    }

    /// Mirrors `ExecutorMetricsDetail`'s own reading: a null or repeated known
    /// metric is read leniently, not refused; unknown names are skipped.
    fn executor_metrics(&mut self) -> Option<ExecutorMetricsDetail> {
        let mut out = ExecutorMetricsDetail::default();
        let mut seen = 0u32;
        self.object_with(&EXECUTOR_METRIC_NAMES, Duplicates::Allowed, |scan, slot| {
            if slot == OTHER {
                return Some(false);
            }
            let value = scan.optional(Scan::int)?;
            out.lenient |= value.is_none() || seen & (1 << slot) != 0;
            seen |= 1 << slot;
            out.values[slot] = value.unwrap_or(0);
            Some(true)
        })?;
        Some(out)
    }
}

/// Whether two slices of the same length hold the same bytes, compared eight
/// at a time inline (keys are short: a call to `memcmp` costs more).
#[inline(always)]
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    let word = |bytes: &[u8], at: usize| {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[at..at + 8]);
        u64::from_ne_bytes(word)
    };
    if a.len() != b.len() {
        return false;
    }
    let n = a.len();
    if n < 8 {
        if n < 4 {
            return a.iter().zip(b).all(|(x, y)| x == y);
        }
        let half = |bytes: &[u8], at: usize| {
            let mut half = [0u8; 4];
            half.copy_from_slice(&bytes[at..at + 4]);
            u32::from_ne_bytes(half)
        };
        // The first four and the last four, overlapping.
        return half(a, 0) == half(b, 0) && half(a, n - 4) == half(b, n - 4);
    }
    let mut at = 0;
    while at + 8 < n {
        if word(a, at) != word(b, at) {
            return false;
        }
        at += 8;
    }
    // The last eight bytes, overlapping the words already compared.
    word(a, n - 8) == word(b, n - 8)
}

/// The length of a string's text up to its closing quote, or `None` when an
/// escape or a control character comes first (or the line ends).
fn plain_string_len(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = u64::from_ne_bytes([0x01; 8]);
    const HIGH: u64 = u64::from_ne_bytes([0x80; 8]);
    let zero_byte = |word: u64| word.wrapping_sub(ONES) & !word & HIGH;
    let mut at = 0;
    // Eight bytes at a time until one of them may be special; the exact byte is found below.
    while let Some(chunk) = bytes.get(at..at + 8) {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let word = u64::from_le_bytes(word);
        let special = zero_byte(word ^ u64::from_ne_bytes([b'"'; 8]))
            | zero_byte(word ^ u64::from_ne_bytes([b'\\'; 8]))
            | (word.wrapping_sub(u64::from_ne_bytes([0x20; 8])) & !word & HIGH);
        if special != 0 {
            at += (special.trailing_zeros() / 8) as usize;
            break;
        }
        at += 8;
    }
    while let Some(&byte) = bytes.get(at) {
        match byte {
            b'"' => return Some(at),
            b'\\' | 0..=0x1f => return None,
            _ => at += 1,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_strings_end_at_their_quote_and_escapes_or_controls_decline() {
        for (text, expected) in [
            (r#"abc""#, Some(3)),
            (r#"""#, Some(0)),
            (r#"internal.metrics.executorRunTime","#, Some(32)),
            (r#"0123456789abcdef0123"xyz"#, Some(20)),
            (r#"abc\"def""#, None),
            ("abcdefghij\tk\"", None),
            ("abcdefghijk\u{1f}\"", None),
            ("ünïcödé — ok\"", Some("ünïcödé — ok".len())),
            ("no end", None),
            ("", None),
        ] {
            assert_eq!(plain_string_len(text.as_bytes()), expected, "{text:?}");
        }
    }

    #[test]
    fn integers_are_read_only_where_serde_reads_the_same_integer() {
        for (text, expected) in [
            ("0", Some(0)),
            ("-7", Some(-7)),
            ("123456789012345678", Some(123_456_789_012_345_678)),
            ("-123456789012345678", Some(-123_456_789_012_345_678)),
            ("1234567890123456789", None),
            ("-0", None),
            ("01", None),
            ("1.0", None),
            ("1e3", None),
            ("-", None),
            ("\"1\"", None),
            ("null", None),
        ] {
            assert_eq!(Scan::new(text).int(), expected, "{text}");
        }
    }

    #[test]
    fn skipped_values_follow_the_json_grammar() {
        for (text, ok) in [
            (r#"{"a":[1,-2.5e+3,true,false,null,"x",{}],"b":{"c":[]}}"#, true),
            ("[ 1 , 2 ]", true),
            ("0.5", true),
            ("[1,]", false),
            (r#"{"a":1,}"#, false),
            ("01", false),
            ("1.", false),
            ("1e", false),
            ("tru", false),
            (r#""a\nb""#, false),
            ("[1 2]", false),
        ] {
            let mut scan = Scan::new(text);
            let read = scan.skip().and_then(|()| scan.end());
            assert_eq!(read.is_some(), ok, "{text}");
        }
        let deep = format!("{}{}", "[".repeat(MAX_DEPTH as usize + 1), "]".repeat(MAX_DEPTH as usize + 1));
        assert_eq!(Scan::new(&deep).skip(), None);
        let deepest = format!("{}{}", "[".repeat(MAX_DEPTH as usize), "]".repeat(MAX_DEPTH as usize));
        assert_eq!(Scan::new(&deepest).skip(), Some(()));
    }
}
