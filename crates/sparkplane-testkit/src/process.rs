//! A child process a test started, stopped as a service manager stops it:
//! SIGTERM when the guard is dropped (so it shuts down cleanly: an operator
//! releases its Lease), then waited for, so no process outlives its test.
//!
//! Owns: that guard. Must not: start the process (the test builds its own
//! command, with the environment it needs).

use std::process::Child;

/// A running child process, sent SIGTERM and waited for when dropped.
#[derive(Debug)]
pub struct StopOnDrop(Child);

impl StopOnDrop {
    /// Guards `child`.
    pub fn new(child: Child) -> StopOnDrop {
        StopOnDrop(child)
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

#[cfg(test)]
mod tests {
    use super::*;
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
}
