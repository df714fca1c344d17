//! Runs a planned local application: starts spark-submit in its own process
//! group, copies its output to the driver log (and, with `follow`, hands each
//! line to the caller, who decides where it shows), reports progress while it
//! runs, and on cancellation stops Spark cleanly (SIGTERM to the group, so
//! shutdown hooks close the event log; SIGKILL only after a grace period).
//!
//! It writes to no terminal itself: what the user sees is the caller's.

use std::io::{BufRead, BufReader, Read, Write};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::progress::{Progress, ProgressReader};

/// What to start.
#[derive(Clone, Debug)]
pub struct RunSpec {
    /// The `spark-submit` to run.
    pub spark_submit: PathBuf,
    /// Its arguments (from the local plan).
    pub args: Vec<String>,
    /// Extra environment (JAVA_HOME, SPARK_HOME, PYSPARK_PYTHON, …).
    pub env: Vec<(String, String)>,
    /// Where the driver's output goes.
    pub driver_log: PathBuf,
    /// Also hand each line of the driver's output to the caller's `on_output`.
    pub follow: bool,
    /// The Spark UI port, for progress.
    pub ui_port: u16,
    /// How long Spark gets to stop after a cancel before it is killed.
    pub grace: Duration,
    /// Working directory (the job's, so relative paths mean what the job file says).
    pub cwd: PathBuf,
}

/// How the process ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ended {
    /// spark-submit exited with this code.
    Exited(i32),
    /// The user cancelled and Spark stopped.
    Cancelled,
    /// Ended by a signal it did not ask for.
    Killed,
}

/// The end of a run.
#[derive(Clone, Debug)]
pub struct RunEnd {
    /// How it ended.
    pub ended: Ended,
    /// The application id, when the driver reported one.
    pub app_id: Option<String>,
    /// Wall time.
    pub elapsed: Duration,
    /// The last progress seen.
    pub progress: Option<Progress>,
}

fn copy_lines(
    reader: impl Read + Send + 'static,
    log: Arc<Mutex<std::fs::File>>,
    follow: Option<Sender<Vec<u8>>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
            if let Ok(mut file) = log.lock() {
                let _ = file.write_all(&line);
            }
            match &follow {
                Some(lines) => {
                    // The receiver lives until the copiers are joined; a send cannot fail before.
                    let _ = lines.send(std::mem::take(&mut line));
                }
                None => line.clear(),
            }
        }
    })
}

/// Hands every line the copiers have sent so far to `on_output`.
fn drain(lines: &Receiver<Vec<u8>>, on_output: &mut dyn FnMut(&[u8])) {
    while let Ok(line) = lines.try_recv() {
        on_output(&line);
    }
}

fn signal_group(pid: u32, signal: libc::c_int) {
    if let Ok(pid) = libc::pid_t::try_from(pid) {
        // SAFETY: killpg only sends a signal to the process group spark-submit leads.
        unsafe {
            libc::killpg(pid, signal);
        }
    }
}

/// What the caller hears while the application runs.
pub struct RunCallbacks<'a> {
    /// The process id, before anything else happens (to record it).
    pub on_start: &'a mut dyn FnMut(u32),
    /// About once a second: the latest progress and the elapsed time.
    pub on_progress: &'a mut dyn FnMut(Option<&Progress>, Duration),
    /// Each line of the driver's output, in order, with its newline, when
    /// `RunSpec::follow` is set (called from this thread, never concurrently).
    pub on_output: &'a mut dyn FnMut(&[u8]),
}

/// Starts the application and waits for it, telling `callbacks` what happens.
pub fn run(spec: &RunSpec, cancel: &AtomicBool, callbacks: RunCallbacks<'_>) -> std::io::Result<RunEnd> {
    let RunCallbacks { on_start, on_progress, on_output } = callbacks;
    let log = Arc::new(Mutex::new(std::fs::File::create(&spec.driver_log)?));
    let mut child = Command::new(&spec.spark_submit)
        .args(&spec.args)
        .envs(spec.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group: a terminal's Ctrl-C reaches sparkplane, which stops Spark in order.
        .process_group(0)
        .spawn()?;
    let pid = child.id();
    on_start(pid);
    let (sender, lines) = mpsc::channel();
    let follow = spec.follow.then_some(sender);
    let mut copiers = Vec::new();
    if let Some(out) = child.stdout.take() {
        copiers.push(copy_lines(out, Arc::clone(&log), follow.clone()));
    }
    if let Some(err) = child.stderr.take() {
        copiers.push(copy_lines(err, Arc::clone(&log), follow));
    }
    let started = Instant::now();
    let mut reader = ProgressReader::new(spec.ui_port, sparkplane_core::local_plan::PORT_RETRIES);
    let mut last: Option<Progress> = None;
    let mut last_poll = Instant::now() - Duration::from_secs(5);
    let mut cancelled_at: Option<Instant> = None;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break status;
        }
        if cancel.load(Ordering::SeqCst) && cancelled_at.is_none() {
            cancelled_at = Some(Instant::now());
            signal_group(pid, libc::SIGTERM);
        }
        if let Some(at) = cancelled_at
            && at.elapsed() > spec.grace
        {
            signal_group(pid, libc::SIGKILL);
        }
        if last_poll.elapsed() >= Duration::from_secs(1) {
            last_poll = Instant::now();
            if cancelled_at.is_none()
                && let Some(progress) = reader.poll()
            {
                last = Some(progress);
            }
            on_progress(last.as_ref(), started.elapsed());
        }
        drain(&lines, on_output);
        std::thread::sleep(Duration::from_millis(100));
    };
    for copier in copiers {
        let _ = copier.join();
    }
    drain(&lines, on_output);
    let ended = if cancelled_at.is_some() {
        Ended::Cancelled
    } else {
        match status.code() {
            Some(code) => Ended::Exited(code),
            None => Ended::Killed,
        }
    };
    Ok(RunEnd {
        ended,
        app_id: last.as_ref().and_then(|p| p.app_id.clone()),
        elapsed: started.elapsed(),
        progress: last,
    })
}

/// The reason a run failed, from its driver log: the last Python exception
/// (`ValueError: …` after a traceback), else the last JVM exception line.
pub fn failure_from_driver_log(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    if let Some(start) = lines.iter().rposition(|l| l.starts_with("Traceback (most recent call last):")) {
        let exception = lines[start + 1..]
            .iter()
            .find(|l| !l.starts_with(' ') && !l.is_empty() && l.contains(':'))
            .map(|l| l.trim().to_owned());
        if exception.is_some() {
            return exception;
        }
    }
    lines
        .iter()
        .rev()
        .find(|l| l.starts_with("Exception in thread") || l.starts_with("Error:"))
        .map(|l| l.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_and_jvm_failures_are_found_in_driver_logs() {
        let log = "INFO starting\nTraceback (most recent call last):\n  File \"job.py\", line 3, in <module>\n    raise ValueError(\"bad input: 42\")\nValueError: bad input: 42\nINFO ShutdownHookManager: Shutdown hook called\n";
        assert_eq!(failure_from_driver_log(log).as_deref(), Some("ValueError: bad input: 42"));
        let jvm = "Exception in thread \"main\" java.lang.IllegalStateException: nope\n\tat A.b(A.java:1)\n";
        assert_eq!(
            failure_from_driver_log(jvm).as_deref(),
            Some("Exception in thread \"main\" java.lang.IllegalStateException: nope")
        );
        assert_eq!(failure_from_driver_log("all fine\n"), None);
    }

    fn script(dir: &std::path::Path, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join("fake-spark-submit");
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
        path
    }

    fn spec(dir: &std::path::Path, body: &str) -> RunSpec {
        RunSpec {
            spark_submit: script(dir, body),
            args: vec!["a b".into()],
            env: vec![("SPARKPLANE_TEST".into(), "yes".into())],
            driver_log: dir.join("driver.log"),
            follow: false,
            ui_port: std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port(),
            grace: Duration::from_secs(5),
            cwd: dir.to_owned(),
        }
    }

    #[test]
    fn output_goes_to_the_log_and_the_exit_code_is_kept() {
        let dir = tempfile::tempdir().unwrap();
        let spec = spec(dir.path(), "echo \"arg=$1 env=$SPARKPLANE_TEST\"; echo oops >&2; exit 3");
        let mut pid = 0;
        let mut output = Vec::new();
        let callbacks = RunCallbacks {
            on_start: &mut |p| pid = p,
            on_progress: &mut |_, _| {},
            on_output: &mut |l| output.push(l.to_vec()),
        };
        let end = run(&spec, &AtomicBool::new(false), callbacks).unwrap();
        assert!(pid > 0);
        assert_eq!(end.ended, Ended::Exited(3));
        let log = std::fs::read_to_string(&spec.driver_log).unwrap();
        assert!(log.contains("arg=a b env=yes") && log.contains("oops"), "{log}");
        assert!(output.is_empty(), "not followed, so nothing is handed on: {output:?}");
    }

    #[test]
    fn followed_output_reaches_the_caller_line_by_line_and_the_log_too() {
        let dir = tempfile::tempdir().unwrap();
        let mut spec = spec(dir.path(), "echo one; echo two; echo three; exit 0");
        spec.follow = true;
        let mut output = Vec::new();
        let callbacks = RunCallbacks {
            on_start: &mut |_| {},
            on_progress: &mut |_, _| {},
            on_output: &mut |l| output.push(l.to_vec()),
        };
        let end = run(&spec, &AtomicBool::new(false), callbacks).unwrap();
        assert_eq!(end.ended, Ended::Exited(0));
        assert_eq!(output, [b"one\n".to_vec(), b"two\n".to_vec(), b"three\n".to_vec()]);
        assert_eq!(std::fs::read_to_string(&spec.driver_log).unwrap(), "one\ntwo\nthree\n");
    }

    #[test]
    fn cancelling_stops_the_whole_process_group() {
        let dir = tempfile::tempdir().unwrap();
        // A child of the script must go too: Spark's JVM is spark-submit's child.
        let spec = spec(dir.path(), "trap 'echo stopping; exit 143' TERM; sleep 300 & wait");
        let cancel = AtomicBool::new(false);
        let mut calls = 0;
        let started = Instant::now();
        let on_progress = &mut |_: Option<&Progress>, _: Duration| {
            calls += 1;
            cancel.store(true, Ordering::SeqCst);
        };
        let end =
            run(&spec, &cancel, RunCallbacks { on_start: &mut |_| {}, on_progress, on_output: &mut |_| {} }).unwrap();
        assert_eq!(end.ended, Ended::Cancelled);
        assert!(calls >= 1);
        assert!(started.elapsed() < Duration::from_secs(30), "stopped promptly");
        assert!(std::fs::read_to_string(&spec.driver_log).unwrap().contains("stopping"));
    }
}
