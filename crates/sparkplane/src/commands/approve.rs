//! `sparkplane approve JOB --env ENV --by NAME`: records that NAME approved
//! the job's resolved spec (by its SHA-256) for ENV.
//!
//! Owns: stamping the time and writing the record atomically into the
//! approvals directory, never over an existing record. Must not judge
//! approvals (that is `sparkplane_policy::approval`, used by the
//! `approval-required` policy).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sparkplane_policy::Approval;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;
use crate::workspace::JobSettings;

/// What `approve` needs, in plain terms.
#[derive(Clone, Debug)]
pub struct ApproveSettings {
    /// The job, resolved for the environment approved.
    pub job: JobSettings,
    /// Who approves.
    pub by: String,
    /// Why, when given.
    pub reason: Option<String>,
    /// `--approvals-dir`; default `.sparkplane/approvals/` next to the job.
    pub approvals_dir: Option<PathBuf>,
}

fn io_failure(path: &Path, err: &std::io::Error) -> Failure {
    Failure::file(path, err, "check that the approvals directory can be created and written")
}

/// Writes `text` to `path` only if nothing is there: written to a temporary
/// file, then hard-linked into place (which fails when `path` exists), so a
/// reader never sees half a record and an existing one is never replaced.
/// Returns false when `path` already existed.
fn create_new(path: &Path, text: &str) -> Result<bool, Failure> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let mut file = std::fs::File::create(&tmp).map_err(|e| io_failure(&tmp, &e))?;
    let written = file.write_all(text.as_bytes()).and_then(|()| file.sync_all());
    drop(file);
    if let Err(err) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(io_failure(&tmp, &err));
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(true),
        Err(err) if err.kind() == std::io::ErrorKind::AlreadyExists => Ok(false),
        Err(err) => Err(io_failure(path, &err)),
    }
}

/// Runs `approve`.
pub fn run(settings: &ApproveSettings, printer: &Printer) -> CommandResult {
    let by = settings.by.trim();
    if by.is_empty() || by.chars().any(char::is_control) {
        return Err(Failure::invalid(
            "bad-flag",
            "--by",
            "--by must name who approves (no control characters)",
            "pass your name or user id, e.g. --by alice",
        ));
    }
    let Some(env) = settings.job.env.as_deref() else {
        return Err(Failure::invalid("bad-flag", "--env", "an approval is for one environment", "pass --env prod"));
    };
    let job = super::policy::resolve_for_approval(&settings.job)?;
    printer.warnings(&job.warnings);
    let at = sparkplane_local::history::rfc3339(sparkplane_local::history::now_ms());
    let approval = Approval::of(&job, env, by, &at, settings.reason.as_deref());
    let dir =
        settings.approvals_dir.clone().unwrap_or_else(|| super::policy::default_approvals_dir(&settings.job.path));
    std::fs::create_dir_all(&dir).map_err(|e| io_failure(&dir, &e))?;
    let path = dir.join(approval.file_name());
    let text = format!("{}\n", serde_json::to_string_pretty(&approval).unwrap_or_default());
    let created = create_new(&path, &text)?;
    let report = serde_json::json!({
        "approval": approval, "file": path.display().to_string(), "written": created,
    });
    printer.result(&report, || {
        if created {
            format!(
                "approved spec {} of `{}` for `{env}` by {by}\nwrote {}\n",
                approval.short_hash(),
                approval.job,
                path.display()
            )
        } else {
            format!(
                "{by} already approved spec {} of `{}` for `{env}`; {} kept as it was\n",
                approval.short_hash(),
                approval.job,
                path.display()
            )
        }
    });
    Ok(())
}
