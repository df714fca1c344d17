//! Replaying one log on every core: lines are read on the calling thread into
//! batches, the batches are parsed on worker threads
//! ([`sparkplane_appstatus::replay::parse_line`], pure), and the parsed lines are folded in
//! log order on one thread ([`DetailBuilder`]), so reading, parsing and
//! folding overlap. When the log is listed in the same pass, the listing's
//! summary is folded on that thread too, in log order, from the same parse
//! ([`sparkplane_appstatus::replay::parse_line_with_summary`]): each line is parsed once.
//!
//! Owns: batching lines (with the file they came from and the reading
//! warnings between them, for the summary), the bounded hand-over between the
//! three stages (at most [`IN_FLIGHT_PER_WORKER`] batches per worker exist at
//! once, whatever the log's size), and putting parsed batches back in log order.
//!
//! Must not: open logs (lines come from the caller's `fill` closure), parse a
//! line or fold an event itself (that is [`sparkplane_appstatus::replay`] and
//! `sparkplane_eventlog`'s `AppSummaryBuilder`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::mpsc::sync_channel;

use sparkplane_eventlog::parse::SparkEvent;
use sparkplane_eventlog::{AppSummaryBuilder, Warning};

use sparkplane_appstatus::replay::{
    AppDetail, DetailBuilder, ParsedLine, SummaryLine, parse_line, parse_line_with_summary,
};

/// Bytes of line text a batch holds before it is handed to a worker. Each
/// hand-over wakes a thread, and the reader, both workers and the folder share
/// two cores: on the benchmark's 1 GB log, 2 MiB batches replayed in 0.59–0.63 s,
/// 1 MiB in 0.60–0.69 s and 256 KiB in 0.68–0.86 s; larger ones held more
/// memory (4 MiB: about 25 MiB more) without being faster.
pub const BATCH_BYTES: usize = 2 << 20;

/// Batches in flight (being read, queued, parsed or waiting to be folded) per worker.
pub const IN_FLIGHT_PER_WORKER: usize = 3;

/// Lines of one log, in order, with their line numbers.
#[derive(Debug, Default)]
pub struct Batch {
    text: String,
    /// (line number, start, end) of each line in `text`.
    lines: Vec<(u64, usize, usize)>,
    /// (index of the first line from it, file) each time the file changes.
    files: Vec<(usize, PathBuf)>,
    /// Reading warnings, each with the index of the line it comes before.
    warnings: Vec<(usize, Warning)>,
}

impl Batch {
    /// Adds one line.
    pub fn push(&mut self, number: u64, line: &str) {
        let start = self.text.len();
        self.text.push_str(line);
        self.lines.push((number, start, self.text.len()));
    }

    /// Adds one line of `file` (what the summary's warnings name).
    pub fn push_from(&mut self, file: &Path, number: u64, line: &str) {
        if self.files.last().is_none_or(|(_, last)| last != file) {
            self.files.push((self.lines.len(), file.to_path_buf()));
        }
        self.push(number, line);
    }

    /// Adds a reading warning after the lines added so far (for the summary).
    pub fn warn(&mut self, warning: Warning) {
        self.warnings.push((self.lines.len(), warning));
    }

    /// Bytes of text held.
    pub fn bytes(&self) -> usize {
        self.text.len()
    }

    /// True when it holds no line and no warning.
    pub fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.warnings.is_empty()
    }

    fn lines(&self) -> impl Iterator<Item = (u64, &str)> {
        self.lines.iter().map(|&(number, start, end)| (number, &self.text[start..end]))
    }

    /// Parses the lines; the text stays (for [`Batch::into_text`]).
    fn parse(&mut self, with_summary: bool) -> Parsed {
        if !with_summary {
            let detail = self.lines().filter_map(|(number, line)| parse_line(number, line)).collect();
            return Parsed { detail, summary: Vec::new(), files: Vec::new(), warnings: Vec::new() };
        }
        let mut detail = Vec::with_capacity(self.lines.len());
        let mut summary = Vec::with_capacity(self.lines.len());
        for (number, line) in self.lines() {
            let (parsed, for_summary) = parse_line_with_summary(number, line);
            detail.extend(parsed);
            summary.push((number, for_summary));
        }
        let (files, warnings) = (std::mem::take(&mut self.files), std::mem::take(&mut self.warnings));
        Parsed { detail, summary, files, warnings }
    }

    /// The text's allocation, emptied, for the next batch to fill.
    fn into_text(self) -> String {
        let mut text = self.text;
        text.clear();
        text
    }
}

/// A batch as a worker read it.
#[derive(Debug, Default)]
struct Parsed {
    detail: Vec<ParsedLine>,
    /// Empty unless the summary is folded too: (line number, the summary's reading) per line.
    summary: Vec<(u64, SummaryLine)>,
    files: Vec<(usize, PathBuf)>,
    warnings: Vec<(usize, Warning)>,
}

/// The folds of one replay: the detail, and the listing's summary when asked for.
struct Folds {
    detail: DetailBuilder,
    summary: Option<AppSummaryBuilder>,
    /// The file the summary's lines come from now.
    file: PathBuf,
}

impl Folds {
    fn fold(&mut self, parsed: Parsed) {
        for line in parsed.detail {
            self.detail.push_parsed(line);
        }
        let Some(summary) = self.summary.as_mut() else { return };
        let mut files = parsed.files.into_iter().peekable();
        let mut warnings = parsed.warnings.into_iter().peekable();
        for (at, (number, line)) in parsed.summary.into_iter().enumerate() {
            while let Some((_, warning)) = warnings.next_if(|(before, _)| *before <= at) {
                summary.warn(warning);
            }
            if let Some((_, file)) = files.next_if(|(from, _)| *from <= at) {
                self.file = file;
            }
            match line {
                SummaryLine::NoEvent => summary.push_parsed(&self.file, number, None),
                SummaryLine::TaskEnd(end) => summary.push_parsed(&self.file, number, Some(&SparkEvent::TaskEnd(end))),
                SummaryLine::Text(text) => summary.push_line(&self.file, number, &text),
            }
        }
        for (_, warning) in warnings {
            summary.warn(warning);
        }
    }
}

/// Folds every line `fill` hands out into one application's detail, parsing on
/// `workers` threads (1 or less: everything on the calling thread).
///
/// `fill` adds lines to the batch it is given (about [`BATCH_BYTES`] of them)
/// and returns whether more may follow; `false` ends the replay after that
/// batch. The result equals folding the same lines one by one with
/// [`DetailBuilder::push_line`].
pub fn replay_batches(fill: impl FnMut(&mut Batch) -> bool, workers: usize) -> AppDetail {
    // A folder that panicked loses the detail; the caller then has nothing to serve, not a wrong answer.
    fold_batches(fill, workers, None).map(|(detail, _)| detail).unwrap_or_default()
}

/// As [`replay_batches`], and folds the same lines into `summary` too, from
/// the same parse of each line: the summary equals the one `summary.push_line`
/// of every line (and `summary.warn` of every warning, where `fill` put it)
/// gives. `fill` adds lines with [`Batch::push_from`]. `None` when the fold
/// failed (a panic on its thread): neither is then complete.
pub fn summarize_and_replay_batches(
    fill: impl FnMut(&mut Batch) -> bool,
    workers: usize,
    summary: AppSummaryBuilder,
) -> Option<(AppDetail, AppSummaryBuilder)> {
    let (detail, summary) = fold_batches(fill, workers, Some(summary))?;
    Some((detail, summary?))
}

fn fold_batches(
    mut fill: impl FnMut(&mut Batch) -> bool,
    workers: usize,
    summary: Option<AppSummaryBuilder>,
) -> Option<(AppDetail, Option<AppSummaryBuilder>)> {
    let with_summary = summary.is_some();
    let mut folds = Folds { detail: DetailBuilder::new(), summary, file: PathBuf::new() };
    if workers <= 1 {
        loop {
            let mut batch = Batch::default();
            let more = fill(&mut batch);
            folds.fold(batch.parse(with_summary));
            if !more {
                return Some((folds.detail.finish(), folds.summary));
            }
        }
    }
    let in_flight = workers * IN_FLIGHT_PER_WORKER;
    // A token per batch in flight: the reader takes one before reading a
    // batch, the folder gives it back once the batch is folded.
    let (token_back, tokens) = sync_channel::<()>(in_flight);
    for _ in 0..in_flight {
        let _ = token_back.send(());
    }
    let (to_parse, parse_queue) = sync_channel::<(u64, Batch)>(in_flight);
    let parse_queue = Mutex::new(parse_queue);
    let (to_fold, fold_queue) = sync_channel::<(u64, Parsed)>(in_flight);
    // Parsed batches' text buffers go back to the reader: a fresh megabyte per
    // batch would be page-faulted in again each time.
    let (recycle, recycled) = std::sync::mpsc::channel::<String>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let (parse_queue, to_fold, recycle) = (&parse_queue, to_fold.clone(), recycle.clone());
            scope.spawn(move || {
                loop {
                    let next = match parse_queue.lock() {
                        Ok(queue) => queue.recv().ok(),
                        Err(_) => None,
                    };
                    let Some((seq, mut batch)) = next else { break };
                    let parsed = batch.parse(with_summary);
                    let _ = recycle.send(batch.into_text());
                    if to_fold.send((seq, parsed)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(recycle);
        drop(to_fold);
        let folder = scope.spawn(move || {
            let mut waiting: BTreeMap<u64, Parsed> = BTreeMap::new();
            let mut next = 0;
            for (seq, parsed) in fold_queue {
                waiting.insert(seq, parsed);
                while let Some(parsed) = waiting.remove(&next) {
                    folds.fold(parsed);
                    next += 1;
                    let _ = token_back.send(());
                }
            }
            (folds.detail.finish(), folds.summary)
        });
        let mut seq = 0;
        loop {
            if tokens.recv().is_err() {
                break;
            }
            let text = recycled.try_recv().unwrap_or_else(|_| String::with_capacity(BATCH_BYTES + (64 << 10)));
            let mut batch = Batch { text, ..Batch::default() };
            let more = fill(&mut batch);
            if !batch.is_empty() {
                if to_parse.send((seq, batch)).is_err() {
                    break;
                }
                seq += 1;
            }
            if !more {
                break;
            }
        }
        drop(to_parse);
        folder.join().ok()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(tasks: usize) -> Vec<String> {
        let mut lines = vec![
            r#"{"Event":"SparkListenerApplicationStart","App Name":"a","App ID":"app-1","Timestamp":1,"User":"u"}"#
                .to_owned(),
            r#"{"Event":"SparkListenerJobStart","Job ID":0,"Submission Time":2,"Stage Infos":[{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":1000}],"Stage IDs":[0]}"#.to_owned(),
            r#"{"Event":"SparkListenerStageSubmitted","Stage Info":{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":1000,"Submission Time":3}}"#.to_owned(),
            "not json".to_owned(),
        ];
        for id in 0..tasks {
            lines.push(format!(r#"{{"Event":"SparkListenerTaskStart","Stage ID":0,"Stage Attempt ID":0,"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":{},"Executor ID":"driver","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":0,"Accumulables":[]}}}}"#, 10 + id));
            lines.push(format!(r#"{{"Event":"SparkListenerTaskEnd","Stage ID":0,"Stage Attempt ID":0,"Task End Reason":{{"Reason":"{}"}},"Task Info":{{"Task ID":{id},"Index":{id},"Attempt":0,"Launch Time":{},"Executor ID":"driver","Host":"h","Locality":"PROCESS_LOCAL","Speculative":false,"Getting Result Time":0,"Finish Time":{},"Accumulables":[]}},"Task Metrics":{{"Executor Run Time":{id}}}}}"#, if id % 7 == 3 { "TaskKilled" } else { "Success" }, 10 + id, 20 + 2 * id));
        }
        lines.push(r#"{"Event":"SparkListenerStageCompleted","Stage Info":{"Stage ID":0,"Stage Attempt ID":0,"Stage Name":"s","Number of Tasks":1000,"Submission Time":3,"Completion Time":9000}}"#.to_owned());
        lines.push(r#"{"Event":"SparkListenerJobEnd","Job ID":0,"Completion Time":9001,"Job Result":{"Result":"JobSucceeded"}}"#.to_owned());
        lines
    }

    /// What the API serves from a detail, compared whole.
    fn shape(detail: &AppDetail) -> String {
        let stages: Vec<String> = detail
            .stages
            .values()
            .map(|s| {
                let tasks: Vec<String> =
                    s.tasks.tasks().iter().map(|t| format!("{}:{}:{:?}", t.task_id, t.status, t.finish_time)).collect();
                format!(
                    "{:?} {} {} {} {} {:?} {:?} {}",
                    (s.stage_id, s.attempt_id),
                    s.status,
                    s.complete_tasks,
                    s.killed_tasks,
                    s.metrics.executor_run_time,
                    s.killed_summary,
                    s.first_task_launched_time,
                    tasks.join(",")
                )
            })
            .collect();
        let jobs: Vec<String> = detail
            .jobs
            .values()
            .map(|j| format!("{} {} {} {}", j.id, j.status, j.completed_tasks, j.killed_tasks))
            .collect();
        format!("{stages:?} {jobs:?} {:?} {:?}", detail.warnings, detail.app_start)
    }

    fn replay_with(lines: &[String], workers: usize, lines_per_batch: usize) -> AppDetail {
        let mut at = 0;
        replay_batches(
            |batch| {
                for line in lines.iter().skip(at).take(lines_per_batch) {
                    at += 1;
                    batch.push(at as u64, line);
                }
                at < lines.len()
            },
            workers,
        )
    }

    #[test]
    fn parallel_replay_equals_folding_line_by_line() {
        let lines = log(3000);
        let mut builder = DetailBuilder::new();
        for (n, line) in lines.iter().enumerate() {
            builder.push_line(n as u64 + 1, line);
        }
        let expected = shape(&builder.finish());
        assert!(expected.contains("COMPLETE 2571 429"), "{expected}");
        assert!(expected.contains("line 4: not a JSON event"), "{expected}");
        for (workers, per_batch) in [(1, 10_000), (2, 1), (2, 7), (3, 100), (8, 5000)] {
            assert_eq!(shape(&replay_with(&lines, workers, per_batch)), expected, "{workers} workers, {per_batch}");
        }
    }

    #[test]
    fn an_empty_log_gives_an_empty_detail() {
        for workers in [1, 2] {
            let detail = replay_batches(|_| false, workers);
            assert!(detail.stages.is_empty() && detail.jobs.is_empty() && detail.warnings.is_empty());
        }
    }
}
