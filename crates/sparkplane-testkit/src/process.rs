//! A child process a test started, stopped as a service manager stops it:
//! SIGTERM when the guard is dropped (so it shuts down cleanly: an operator
//! releases its Lease), then waited for, so no process outlives its test.
//!
//! Owns: that guard, the parent-death signal a started server gets
//! ([`stop_with_the_test`]), and reading a started server's stderr up to the
//! line that says it serves ([`said_until`]). Must not: start the process
//! (the test builds its own command, with the environment it needs).

use std::io::{BufRead, BufReader};
use std::process::Child;
use std::time::{Duration, Instant};

/// Makes the process `command` starts receive SIGTERM when the thread that
/// started it ends, also when the test is killed (a nextest timeout) and no
/// guard's drop runs: a JVM server left behind would take a core from every
/// test after it. Survives `exec` (Spark's launch scripts exec `java`).
pub fn stop_with_the_test(command: &mut std::process::Command) {
    use std::os::unix::process::CommandExt;
    // SAFETY: prctl(2) with PR_SET_PDEATHSIG and a valid signal between fork and exec; it touches no memory.
    unsafe {
        command.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
            Ok(())
        });
    }
}

/// A running child process, sent SIGTERM and waited for when dropped.
#[derive(Debug)]
pub struct StopOnDrop(Child);

impl StopOnDrop {
    /// Guards `child`.
    pub fn new(child: Child) -> StopOnDrop {
        StopOnDrop(child)
    }

    /// The child, to wait for it or ask whether it has ended.
    pub fn child(&mut self) -> &mut Child {
        &mut self.0
    }
}

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        if let Ok(pid) = i32::try_from(self.0.id()) {
            // SAFETY: kill(2) with the pid of a child this process started and has not reaped, and a valid signal.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        let _ = self.0.wait();
    }
}

/// The lines `child` writes on its (piped) stderr up to and with the first
/// that starts with `ready`, read for at most `limit`; the rest of stderr is
/// drained on a thread from then on, so the child never blocks on a full
/// pipe. `Err` holds what it said when it ended, or the limit passed, first.
pub fn said_until(child: &mut Child, ready: &str, limit: Duration) -> Result<Vec<String>, Vec<String>> {
    let Some(stderr) = child.stderr.take() else { return Err(vec!["stderr is not piped".to_owned()]) };
    let mut lines = BufReader::new(stderr).lines();
    let (deadline, mut said) = (Instant::now() + limit, Vec::new());
    while Instant::now() < deadline {
        let Some(Ok(line)) = lines.next() else { break };
        let done = line.starts_with(ready);
        said.push(line);
        if done {
            std::thread::spawn(move || lines.for_each(drop));
            return Ok(said);
        }
    }
    Err(said)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_started_with_the_parent_death_signal_stops_when_its_thread_ends() {
        use std::os::unix::process::ExitStatusExt;
        // The thread that starts it ends at once, as a killed test's would, and no guard stops it.
        let mut child = std::thread::spawn(|| {
            let mut command = std::process::Command::new("sleep");
            command.arg("30");
            stop_with_the_test(&mut command);
            command.spawn().expect("sleep starts")
        })
        .join()
        .expect("the thread ends");
        let deadline = Instant::now() + Duration::from_secs(10);
        let status = loop {
            if let Some(status) = child.try_wait().expect("waits") {
                break status;
            }
            assert!(Instant::now() < deadline, "sleep outlived the thread that started it");
            std::thread::sleep(Duration::from_millis(20));
        };
        assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    }
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn a_dropped_guard_stops_its_child_with_sigterm() {
        let child = std::process::Command::new("sleep").arg("30").spawn().expect("sleep starts");
        let pid = child.id();
        let started = std::time::Instant::now();
        drop(StopOnDrop::new(child));
        assert!(started.elapsed() < std::time::Duration::from_secs(10), "stopped, not waited out");
        // The pid is reaped: signal 0 finds no such process.
        // SAFETY: kill(2) with signal 0 only checks whether the pid exists.
        let alive = unsafe { libc::kill(i32::try_from(pid).expect("pid"), 0) } == 0;
        assert!(!alive, "the child is gone");
        let mut other = std::process::Command::new("sleep").arg("30").spawn().expect("sleep starts");
        // SAFETY: as above, SIGTERM to a child of this test.
        unsafe { libc::kill(i32::try_from(other.id()).expect("pid"), libc::SIGTERM) };
        assert_eq!(other.wait().expect("waited").signal(), Some(libc::SIGTERM), "what the guard sends");
    }

    #[test]
    fn a_servers_lines_are_read_up_to_the_ready_one_and_an_early_end_is_an_error() {
        let script =
            "echo one >&2; echo 'serving here' >&2; for i in $(seq 1 20000); do echo more $i >&2; done; sleep 1";
        let mut child = std::process::Command::new("sh")
            .args(["-c", script])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh starts");
        let said = said_until(&mut child, "serving", Duration::from_secs(10));
        assert_eq!(said, Ok(vec!["one".to_owned(), "serving here".to_owned()]));
        // The 20,000 lines after it are drained: the child is not stuck on a full pipe.
        assert!(child.wait().expect("waited").success());
        let mut ended = std::process::Command::new("sh")
            .args(["-c", "echo oops >&2; exit 2"])
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("sh starts");
        assert_eq!(said_until(&mut ended, "serving", Duration::from_secs(10)), Err(vec!["oops".to_owned()]));
        let _ = ended.wait();
    }
}
