//! `sparkplane connect [status|stop]`: a Spark Connect server on this machine.
//!
//! Thin: this module turns flags into `sparkplane_local::connect_server`
//! settings (the preset's Spark settings read from the catalog), shows install
//! progress and the server's state, and handles Ctrl-C. Starting, waiting,
//! stopping and recording the session belong to that module. The connection
//! line (with its token) goes to stdout once, so `$(sparkplane connect
//! --background)` captures it; nothing else ever prints the token.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

use sparkplane_local::connect_server::{self, ConnectServerError, ConnectSettings, START_TIMEOUT, Server};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::load_catalog;

/// A server error as the user sees it: exit 2 for the request, 3 for the machine.
pub fn failure(err: &ConnectServerError) -> Failure {
    Failure::coded(err.category(), err.code(), err)
}

/// The settings of a server started by `connect`.
fn settings(
    spark: &str,
    port: u16,
    preset: Option<(&str, BTreeMap<String, String>)>,
) -> Result<ConnectSettings, Failure> {
    let mut settings = ConnectSettings::from_environment(spark, port).map_err(|e| failure(&e))?;
    if let Some((name, conf)) = preset {
        settings.preset = Some(name.to_owned());
        settings.conf = conf;
    }
    Ok(settings)
}

/// What `connect` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConnectAction {
    /// Start a server (in the foreground unless `background`).
    Start,
    /// Show the background server.
    Status,
    /// Stop the background server.
    Stop,
}

/// What `connect` was asked, in plain terms.
#[derive(Clone, Debug)]
pub struct ConnectCommandSettings {
    /// Start, status or stop.
    pub action: ConnectAction,
    /// A preset whose Spark settings the server takes.
    pub preset: Option<String>,
    /// The gRPC port on 127.0.0.1.
    pub port: u16,
    /// The Spark line (`4.1`).
    pub spark: String,
    /// Return once the server answers, leaving it running.
    pub background: bool,
    /// The platform directory presets come from.
    pub platform_dir: Option<PathBuf>,
}

/// Runs `connect`, `connect status` or `connect stop`.
pub fn run(args: &ConnectCommandSettings, printer: &Printer) -> CommandResult {
    match args.action {
        ConnectAction::Status => status(printer),
        ConnectAction::Stop => stop(printer),
        ConnectAction::Start => start(args, args.platform_dir.as_deref(), printer),
    }
}

fn start(args: &ConnectCommandSettings, platform_dir: Option<&Path>, printer: &Printer) -> CommandResult {
    let preset = match &args.preset {
        Some(name) => Some((name.as_str(), load_catalog(platform_dir)?.preset_spark_conf(name)?)),
        None => None,
    };
    let settings = settings(&args.spark, args.port, preset)?;
    if args.background {
        connect_server::check_no_background(&settings.home).map_err(|e| failure(&e))?;
    }
    let prepared = connect_server::prepare(&settings, &mut super::progress::InstallObserver::new(printer))
        .map_err(|e| failure(&e))?;
    // SIGINT, SIGTERM and SIGHUP all stop the server in order.
    let cancel = crate::interrupt::stop_flag(printer, "stop the server with `sparkplane connect stop`");
    let started = Instant::now();
    let mut server = connect_server::start(&settings, &prepared).map_err(|e| failure(&e))?;
    printer.status(&format!(
        "starting a Spark Connect server (Spark {}) on 127.0.0.1:{}; log {}",
        prepared.version,
        server.port(),
        server.log().display()
    ));
    server.wait_until_answering(START_TIMEOUT, &cancel).map_err(|e| failure(&e))?;
    let ui = server.ui_port().map(|p| format!("; Spark UI http://127.0.0.1:{p}")).unwrap_or_default();
    printer.status(&format!(
        "answering after {:.1}s{ui}; session {} (see `sparkplane runs show {}` after it stops)",
        started.elapsed().as_secs_f64(),
        server.run_id(),
        server.run_id()
    ));
    // The one place the token is shown: stdout, for the user to copy or a script to capture.
    printer.raw(&format!("{}\n", server.url()));
    if args.background {
        let state = server.detach().map_err(|e| failure(&e))?;
        printer.status(&format!(
            "running in the background (pid {}); `sparkplane connect status` shows it, `sparkplane connect stop` stops it",
            state.pid
        ));
        return Ok(());
    }
    printer.status("Ctrl-C stops it");
    serve(server, &cancel, printer)
}

/// Waits in the foreground until Ctrl-C (a clean stop, exit 0) or the server
/// ending on its own (exit 3). While queries run, their progress shows as
/// `run` shows a job's: a live line on a terminal, else a plain line on stderr
/// when one starts and every ten seconds after; nothing while the server idles.
fn serve(mut server: Server, cancel: &AtomicBool, printer: &Printer) -> CommandResult {
    let live = std::io::stderr().is_terminal();
    let mut display: Option<super::progress::Display> = None;
    let ended = server.serve(cancel, &mut |queries| match queries {
        Some(queries) => {
            let shown = display.get_or_insert_with(|| super::progress::Display::new(printer, live));
            shown.update(Some(queries.progress), queries.running_for);
        }
        None => {
            if let Some(mut d) = display.take() {
                d.finish();
            }
        }
    });
    if let Some(mut d) = display.take() {
        d.finish();
    }
    let Some(exit) = ended else {
        printer.status("stopping the Spark Connect server");
        let record = server.stop();
        printer.status(&format!("stopped; session recorded as {}", record.run_id));
        return Ok(());
    };
    let log = server.log().to_owned();
    let record = server.ended_on_its_own(exit);
    Err(Failure::unreachable(
        "connect-exited",
        "",
        format!("the Spark Connect server ended on its own (exit {exit:?}); session {}", record.run_id),
        format!("see its log {}", log.display()),
    ))
}

fn status(printer: &Printer) -> CommandResult {
    let home = sparkplane_local::runtime::default_home().map_err(|e| failure(&e.into()))?;
    match connect_server::status(&home).map_err(|e| failure(&e))? {
        Some(running) => {
            let view = running.view();
            printer.result(&view, || view.text());
        }
        // Not running is an answer, not a failure (exit 0); scripts read `running` from `-o json`.
        None => printer.result(&serde_json::json!({ "running": false }), || connect_server::NOT_RUNNING.to_owned()),
    }
    Ok(())
}

fn stop(printer: &Printer) -> CommandResult {
    let home = sparkplane_local::runtime::default_home().map_err(|e| failure(&e.into()))?;
    match connect_server::stop_background(&home).map_err(|e| failure(&e))? {
        Some((state, record)) => {
            let session = record.map(|r| format!("; session recorded as {}", r.run_id)).unwrap_or_default();
            printer.status(&format!(
                "stopped the Spark Connect server on 127.0.0.1:{} (pid {}){session}",
                state.port, state.pid
            ));
        }
        None => printer.status("no Spark Connect server is running in the background; nothing to stop"),
    }
    Ok(())
}
