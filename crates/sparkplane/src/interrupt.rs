//! Ctrl-C for the commands that run until stopped or can be cancelled (`history
//! serve`, `exporter`, `connect`, `sql`): one handler — SIGINT, SIGTERM and
//! SIGHUP, ctrlc's termination feature — that sets a flag the command polls.
//!
//! Owns: installing it, and the warning when the process has a handler
//! already. Must not: decide what stopping means (each command does).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::printer::Printer;

/// A flag Ctrl-C sets. When a handler is installed already (this process set
/// one before), prints a warning ending with `otherwise` — how else to stop.
pub fn stop_flag(printer: &Printer, otherwise: &str) -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&stop);
    if let Err(err) = ctrlc::set_handler(move || flag.store(true, Ordering::SeqCst)) {
        printer.status(&format!("warning: cannot handle Ctrl-C ({err}); {otherwise}"));
    }
    stop
}
