//! The stamp every delivery record carries (a release, a promotion, a
//! rollback), read from this machine: who (`--by`, `$SPARKPLANE_USER`,
//! `$USER`, the git author, the OS user), which commit (`--commit`, else the
//! checkout's HEAD) and when.
//!
//! Owns: where those come from and their failures as exit codes. Must not:
//! decide what a valid commit id is (`sparkplane_delivery::release_run::commit_id`)
//! or build any record.

use std::path::Path;

use sparkplane_delivery::release_run::commit_id;

use crate::exit::Failure;
use crate::printer::Printer;

/// The job file's directory (`.` for a bare file name).
pub fn job_dir(job: &Path) -> &Path {
    job.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."))
}

/// The source commit: `--commit`, else HEAD of the git repository holding the job file.
pub fn source_commit(flag: Option<&str>, job: &Path) -> Result<String, Failure> {
    if let Some(given) = flag {
        return commit_id(given).map(str::to_owned).ok_or_else(|| {
            Failure::invalid(
                "bad-flag",
                "--commit",
                format!("`{}` is not a commit id", given.trim()),
                "pass the commit's id, e.g. --commit $(git rev-parse HEAD)",
            )
        });
    }
    let output = std::process::Command::new("git").arg("-C").arg(job_dir(job)).args(["rev-parse", "HEAD"]).output();
    match output {
        Ok(out) if out.status.success() => Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned()),
        _ => Err(Failure::invalid(
            "no-source-commit",
            "--commit",
            format!("no source commit: {} is not in a git repository with a commit", job.display()),
            "release from a git checkout, or pass --commit SHA",
        )),
    }
}

/// Where the name of who releases, promotes or rolls back came from, in the order it is looked for.
const WHO_SOURCES: &str = "--by, $SPARKPLANE_USER, $USER, git config user.name, the commit's author, the OS user";

/// A name that can go into a record: not empty, no control characters.
fn usable(name: &str) -> Option<String> {
    let name = name.trim();
    (!name.is_empty() && !name.chars().any(char::is_control)).then(|| name.to_owned())
}

/// What a command prints, trimmed, when it succeeds.
pub fn output_of(program: &str, args: &[&str], dir: &Path) -> Option<String> {
    let out = std::process::Command::new(program).args(args).current_dir(dir).output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

/// Who releases (or promotes, or rolls back): `--by`, else `$SPARKPLANE_USER`, else `$USER`, else — where
/// those are not set, as in many containers and CI jobs — the git author at the job file's checkout (`git
/// config user.name`, else the author of its HEAD commit), else the name of the OS user running sparkplane.
/// A name found by a fallback is said on stderr, so the record's `by` is never a surprise.
pub fn released_by(flag: Option<&str>, job: &Path, printer: &Printer) -> Result<String, Failure> {
    if let Some(flag) = flag {
        return usable(flag).ok_or_else(|| {
            Failure::invalid(
                "bad-flag",
                "--by",
                format!("`{flag}` is not a name"),
                "pass --by NAME (no control characters)",
            )
        });
    }
    for var in ["SPARKPLANE_USER", "USER"] {
        if let Some(who) = std::env::var(var).ok().as_deref().and_then(usable) {
            return Ok(who);
        }
    }
    let dir = job_dir(job);
    let fallbacks: [(&str, &[&str], &str); 3] = [
        ("git", &["config", "user.name"], "git config user.name"),
        ("git", &["log", "-1", "--format=%an"], "the author of the checkout's HEAD commit"),
        ("id", &["-un"], "the OS user"),
    ];
    for (program, args, what) in fallbacks {
        if let Some(who) = output_of(program, args, dir).as_deref().and_then(usable) {
            printer.status(&format!("recorded as by {who} ({what}; --by or $SPARKPLANE_USER names someone else)"));
            return Ok(who);
        }
    }
    Err(Failure::invalid(
        "bad-flag",
        "--by",
        format!("who this is by is not known: none of {WHO_SOURCES} gives a name"),
        "pass --by NAME, or set SPARKPLANE_USER (no control characters)",
    ))
}

/// Now, RFC 3339 UTC.
pub fn now() -> String {
    sparkplane_local::history::rfc3339(sparkplane_local::history::now_ms())
}
