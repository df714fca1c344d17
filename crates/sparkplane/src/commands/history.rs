//! `sparkplane history serve`: Spark's History Server REST API from a folder or
//! object-store prefix of event logs, until Ctrl-C; `sparkplane history
//! export`: the fleet's facts as Parquet tables.
//!
//! Owns: checking the flags, opening the persisted index (its folder from
//! `--index-dir` or the default), the first listing when the index held
//! nothing (an unreadable location stops here: exit 2 when it does not exist,
//! 3 when storage cannot be reached),
//! starting the server (live UIs of local runs, `--live-runs`; the console and
//! cluster runs, `--cluster`: `sparkplane_console`) and saying where it serves; `export` (the command,
//! and `serve --export-to`'s loop) is in [`export`]. Must not: list, replay,
//! answer or export anything itself (that is `sparkplane_history`, and
//! `sparkplane_facts` for the export), or read the cluster (the console does).

use std::path::Path;
use std::sync::Arc;

use sparkplane_console::ClusterConsole;
use sparkplane_eventlog::{LogSource, ReadError};
use sparkplane_history::live::LiveSource;
use sparkplane_history::{DEFAULT_LISTEN, Extras, Gate, Index, KillLinks, LiveApp, LiveUi, serve_door};
use sparkplane_http::Request;
use sparkplane_local::live::live_dir;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

mod export;

pub use export::{export, facts_failure};

/// An unreadable location: exit 2 when it does not exist, 3 when storage cannot be
/// reached; the message names the URL and the reason, never a credential.
pub(super) fn logs_failure(error: &ReadError) -> Failure {
    super::analyze::log_failure(
        error,
        "point --logs at the directory Spark writes event logs to (spark.eventLog.dir), as a path or an \
         object-store URL such as s3://bucket/spark-events",
    )
}

/// Warnings of each kind printed at start, one line per log; the rest are counted.
pub(super) const MAX_WARNINGS: usize = 20;

/// What `history serve` was asked for.
pub struct ServeSettings<'a> {
    pub logs: &'a str,
    pub listen: &'a str,
    pub interval_secs: u64,
    pub cache_mib: u64,
    pub export_to: Option<&'a str>,
    /// `--index-dir`; `None` for the default under the user's cache folder.
    pub index_dir: Option<&'a Path>,
    /// `--live-runs`: a sparkplane home, `none`, or `None` for this user's.
    pub live_runs: Option<&'a Path>,
    /// `--live-ui-kill team` (else `off`).
    pub kill_links: bool,
    /// `--cluster`: the console, and the cluster's running jobs' live UIs.
    pub cluster: bool,
    /// Who may open it, and what each sees.
    pub signin: &'a crate::cli::SignInArgs,
}

/// Runs `history serve` until Ctrl-C. With records in the persisted index the
/// server answers from them at once and catches up with the location in the
/// background (an unreadable location is then a warning, not exit 2/3);
/// without, the first listing happens before it serves, and is written to the
/// persisted index once it is served.
pub fn serve(settings: &ServeSettings<'_>, printer: &Printer) -> CommandResult {
    let (logs, interval_secs) = (settings.logs, settings.interval_secs);
    let addr = super::serving::listen_address(settings.listen, DEFAULT_LISTEN)?;
    let interval = super::serving::interval(interval_secs, "rescan", 10)?;
    // Before anything is read: a server other machines reach without a sign-in setting never starts.
    let front = super::signin::open(settings.signin, addr)?;
    let source = LogSource::parse(logs).map_err(|error| logs_failure(&error))?;
    let shown = source.describe();
    let (index, warnings) = Index::open(source, settings.cache_mib.saturating_mul(1024 * 1024), settings.index_dir);
    warnings.iter().for_each(|warning| printer.status(&format!("warning: {warning}")));
    let index = Arc::new(index);
    let restored = index.restored_pending();
    if restored {
        printer.status(&index.restored_line());
    } else {
        // Served before it is written to the persisted index: the server's scan thread writes it first thing.
        index.refresh_deferring_write().map_err(|error| logs_failure(&error))?;
    }
    // Counted once, before serving: the catch-up listing may change the count while it is printed.
    let applications = index.application_count();
    for line in index.left_out_lines(MAX_WARNINGS) {
        printer.status(&line);
    }
    let door = front.door;
    printer.status(&door.describe());
    let gate = Gate::door(front.rules, Arc::new(move |request: &Request| door.admit(request)));
    let console = settings.cluster.then(|| ClusterConsole::start(&Default::default()));
    let console = console.transpose().map_err(|e| super::kube_view::kube_failure(&e))?;
    console.iter().for_each(|console| printer.status(&console.describe()));
    let live = live_ui(settings, console.as_ref().map(ClusterConsole::live_source), printer)?;
    let surfaces = console.iter().map(ClusterConsole::surface).collect();
    let server = serve_door(addr, Arc::clone(&index), interval, gate, Extras { live, surfaces })
        .map_err(super::serving::listen_failed)?;
    let exporter = match settings.export_to {
        Some(to) => Some(export::start_exports(logs, to, interval, printer)?),
        None => None,
    };
    // Ctrl-C is taken before the line that says so: a Ctrl-C right after it stops the server cleanly.
    let stop = crate::interrupt::stop_flag(printer, "stop the server with kill");
    printer.status(&format!(
        "serving Spark's History Server API on http://{}/api/v1 from {shown} ({applications} applications, rescanned \
         every {interval_secs}s); Ctrl-C stops",
        server.addr(),
    ));
    super::serving::until_stopped(&stop);
    server.stop();
    if let Some(exporter) = exporter {
        exporter.stop();
    }
    printer.status("history server stopped");
    Ok(())
}

/// The live UIs of the running local runs of `--live-runs`' home (this user's unless told; none without a home),
/// and `more` (`--cluster`: the cluster's running SparkJobs).
fn live_ui(
    settings: &ServeSettings<'_>,
    more: Option<LiveSource>,
    printer: &Printer,
) -> Result<Option<LiveUi>, Failure> {
    let home = match settings.live_runs {
        Some(dir) if dir == Path::new("none") => None,
        Some(dir) => Some(dir.to_path_buf()),
        None => sparkplane_local::runtime::default_home().ok(),
    };
    let mut of: Vec<String> = home.iter().map(|h| format!("the runs in {}", live_dir(h).display())).collect();
    of.extend(more.is_some().then(|| "the cluster's SparkJobs".to_owned()));
    if of.is_empty() {
        return Ok(None);
    }
    let runs = move || {
        let running = home.iter().flat_map(|home| sparkplane_local::live::running(home));
        let local = running.filter_map(|r| {
            let ui = r.ui.to_string().parse().ok()?;
            Some(LiveApp { namespace: r.namespace, job: r.job, team: r.team, owner: r.user, acls: r.acls, ui })
        });
        local.chain(more.iter().flat_map(|source| source())).collect()
    };
    let kill = if settings.kill_links { KillLinks::Team } else { KillLinks::Off };
    let live = LiveUi::start(Arc::new(runs), kill)
        .map_err(|e| Failure::unreachable("live-ui", "", format!("cannot start the live UI's refresh: {e}"), ""))?;
    printer.status(&format!("live Spark UIs of {} at /jobs/<namespace>/<job>/ while they run", of.join(" and ")));
    Ok(Some(live))
}
