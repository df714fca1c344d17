//! Exporting again and again: what `history serve --export-to` runs beside
//! the server, so the Parquet facts follow the logs within one interval.
//!
//! Owns: [`ExportLoop`] — a thread that runs [`crate::export_into`] at start
//! and then every interval, keeping the target's manifest in memory between
//! runs (it is read from the target once), and hands each run's outcome to
//! the caller, which decides what to say. A failed run (the store away for a
//! while) is reported and the next one tries again. Must not: print, or
//! decide what is written (that is [`crate::export_into`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use sparkplane_analysis::cost::PriceSheet;
use sparkplane_eventlog::LogSource;

use crate::{ExportError, ExportReport, Logs, Manifest, Sink, SinkError, SourceLogs, export_into, open_target};

/// How often the loop looks whether it was asked to stop.
const STOP_POLL: Duration = Duration::from_millis(100);

/// A running export loop; [`ExportLoop::stop`] ends it after the run in progress.
pub struct ExportLoop {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
}

impl ExportLoop {
    /// Opens `to` and reads its manifest (failing as `history export` fails:
    /// exit 2 or 3), then exports `from` on a thread now and every
    /// `interval`, calling `report` with each run's outcome.
    pub fn start(
        from: &str,
        to: &str,
        sheet: PriceSheet,
        interval: Duration,
        report: impl Fn(Result<&ExportReport, &ExportError>) + Send + 'static,
    ) -> Result<ExportLoop, ExportError> {
        let source = LogSource::parse(from).map_err(ExportError::Source)?;
        let sink = open_target(to)?;
        let manifest = Manifest::load(sink.as_ref())?;
        let logs = SourceLogs::new(source);
        ExportLoop::start_with(Box::new(logs), sink, manifest, sheet, interval, report)
    }

    /// As [`ExportLoop::start`], over any logs and sink (tests run it in memory).
    pub fn start_with(
        mut logs: Box<dyn Logs + Send>,
        sink: Box<dyn Sink + Send>,
        mut manifest: Manifest,
        sheet: PriceSheet,
        interval: Duration,
        report: impl Fn(Result<&ExportReport, &ExportError>) + Send + 'static,
    ) -> Result<ExportLoop, ExportError> {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let target = sink.describe("").trim_end_matches('/').to_owned();
        let url = target.clone();
        let handle = std::thread::Builder::new()
            .name("history-export".into())
            .spawn(move || {
                while !stopping.load(Ordering::SeqCst) {
                    let started = Instant::now();
                    match export_into(&mut manifest, logs.as_mut(), sink.as_ref(), &sheet) {
                        Ok(mut done) => {
                            done.target.clone_from(&target);
                            report(Ok(&done));
                        }
                        Err(error) => report(Err(&error)),
                    }
                    while !stopping.load(Ordering::SeqCst) && started.elapsed() < interval {
                        std::thread::sleep(STOP_POLL.min(interval));
                    }
                }
            })
            .map_err(|e| {
                ExportError::Target(SinkError { url, detail: format!("cannot start the export thread: {e}") })
            })?;
        Ok(ExportLoop { stop, handle: Some(handle) })
    }

    /// Asks the loop to stop and waits for the run in progress to end.
    pub fn stop(mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
    }
}

impl Drop for ExportLoop {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::sync::mpsc::channel;

    use super::*;
    use crate::read::{AppFacts, ListedLog, facts_from_text};
    use crate::sink::MemorySink;
    use sparkplane_eventlog::ReadError;

    /// Logs shared with the test, which adds one while the loop runs.
    #[derive(Clone, Default)]
    struct SharedLogs(Arc<Mutex<Vec<(String, String)>>>);

    impl Logs for SharedLogs {
        fn list(&mut self) -> Result<Vec<ListedLog>, ReadError> {
            let logs = self.0.lock().map(|l| l.clone()).unwrap_or_default();
            Ok(logs
                .iter()
                .map(|(key, text)| ListedLog {
                    key: key.clone(),
                    name: key.clone(),
                    size: text.len() as u64,
                    modified_ms: Some(1),
                    fingerprint: text.len() as u64,
                })
                .collect())
        }

        fn read(&self, log: &ListedLog, _workers: usize) -> Result<AppFacts, String> {
            let logs = self.0.lock().map_err(|_| "poisoned")?;
            let (_, text) = logs.iter().find(|(key, _)| *key == log.key).ok_or("gone")?;
            facts_from_text(&log.name, text, false)
        }
    }

    /// A sink shared with the test.
    #[derive(Clone, Default)]
    struct SharedSink(Arc<MemorySink>);

    impl Sink for SharedSink {
        fn describe(&self, path: &str) -> String {
            self.0.describe(path)
        }
        fn read(&self, path: &str) -> Result<Option<Vec<u8>>, crate::SinkError> {
            self.0.read(path)
        }
        fn write_atomically(&self, path: &str, bytes: Vec<u8>) -> Result<(), crate::SinkError> {
            self.0.write_atomically(path, bytes)
        }
        fn remove(&self, path: &str) -> Result<(), crate::SinkError> {
            self.0.remove(path)
        }
    }

    #[test]
    fn the_loop_exports_what_arrives_and_nothing_twice() {
        let log = |name: &str| {
            let text =
                include_str!("../../sparkplane-history/tests/data/spark-history/spark-events/local-1422981780767");
            text.replace("local-1422981780767", name)
        };
        let logs = SharedLogs::default();
        logs.0.lock().expect("lock").push(("a".into(), log("local-1")));
        let sink = SharedSink::default();
        let manifest = Manifest::load(&sink).expect("empty");
        let (sent, runs) = channel();
        let exporter = ExportLoop::start_with(
            Box::new(logs.clone()),
            Box::new(sink.clone()),
            manifest,
            PriceSheet::opencost_defaults(),
            Duration::from_millis(50),
            move |outcome| {
                let _ = sent.send(outcome.map(|r| (r.exported, r.unchanged)).map_err(|e| e.to_string()));
            },
        )
        .expect("starts");
        assert_eq!(runs.recv_timeout(Duration::from_secs(10)).expect("a run"), Ok((1, 0)));
        assert_eq!(runs.recv_timeout(Duration::from_secs(10)).expect("a run"), Ok((0, 1)));
        logs.0.lock().expect("lock").push(("b".into(), log("local-2")));
        let next = (0..100)
            .map(|_| runs.recv_timeout(Duration::from_secs(10)).expect("a run"))
            .find(|outcome| *outcome != Ok((0, 1)))
            .expect("the new log is exported");
        assert_eq!(next, Ok((1, 1)));
        exporter.stop();
        let apps = sink.0.files().keys().filter(|k| k.starts_with("applications/")).count();
        assert_eq!(apps, 2);
    }
}
