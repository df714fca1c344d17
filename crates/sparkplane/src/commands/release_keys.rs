//! `sparkplane release keygen`: a signing key pair for releases, written
//! where git will not offer the private half for commit.
//!
//! Owns: writing the pair (never over existing files, the private key mode
//! 0600) and the check that git ignores it. Must not: sign or verify
//! anything (`sparkplane_delivery::sign` does).

use std::path::{Path, PathBuf};

use sparkplane_delivery::sign::PrivateKey;
use sparkplane_documents::Diagnostic;

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

/// Exit 2 when the private key would be written inside a git work tree that
/// does not ignore it, where `git status` offers it and `git add -A` commits
/// it. Outside a work tree (or without git) there is nothing to check.
fn check_key_not_committable(out: &Path, private: &Path) -> Result<(), Failure> {
    let absolute = std::path::absolute(private).map_err(|e| Failure::unreadable(out, &e))?;
    // git runs in the nearest folder that exists: --out itself may be new.
    let Some(existing) = absolute.ancestors().skip(1).find(|dir| dir.is_dir()) else { return Ok(()) };
    let Some(top) = super::release_facts::output_of("git", &["rev-parse", "--show-toplevel"], existing) else {
        return Ok(());
    };
    let ignored = std::process::Command::new("git")
        .arg("check-ignore")
        .arg("-q")
        .arg(&absolute)
        .current_dir(existing)
        .status()
        .is_ok_and(|status| status.success());
    if ignored {
        return Ok(());
    }
    let folder = out.file_name().map_or_else(|| "keys".to_owned(), |n| n.to_string_lossy().into_owned());
    let ignore_file = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(".gitignore"), |parent| parent.join(".gitignore"));
    Err(Failure::Invalid(
        Diagnostic::error(
            "key-not-ignored",
            "--out",
            format!(
                "{} would be a private key inside the git work tree {top}, and git does not ignore it: `git status` \
                 would offer it for commit; nothing was written",
                private.display()
            ),
        )
        .with_help(format!(
            "ignore the folder first (add `{folder}/` to {}), or pass --out a folder outside the work tree",
            ignore_file.display()
        ))
        .into(),
    ))
}

/// Runs `release keygen`: writes `release.key` (PKCS#8 PEM, mode 0600) and
/// `release.pub` into `out`, never over existing files, and never a private
/// key git would offer for commit ([`check_key_not_committable`]).
pub fn keygen(out: &Path, printer: &Printer) -> CommandResult {
    let key = PrivateKey::generate();
    let private = out.join("release.key");
    let public = out.join("release.pub");
    for path in [&private, &public] {
        if path.exists() {
            return Err(Failure::Failed(
                Diagnostic::error("key-exists", "", format!("{} exists; keys are never overwritten", path.display()))
                    .with_help("choose another --out directory, or remove the old key pair if it is no longer used")
                    .into(),
            ));
        }
    }
    check_key_not_committable(out, &private)?;
    let io = |path: &Path, e: std::io::Error| Failure::File {
        path: path.to_owned(),
        error: e.to_string(),
        help: "check that --out can be written".into(),
    };
    std::fs::create_dir_all(out).map_err(|e| io(out, e))?;
    write_private(&private, &key.to_pem()).map_err(|e| io(&private, e))?;
    std::fs::write(&public, key.public().to_pem()).map_err(|e| io(&public, e))?;
    let report = serde_json::json!({
        "privateKey": private.display().to_string(), "publicKey": public.display().to_string(), "keyId": key.public().key_id(),
    });
    printer.result(&report, || {
        format!(
            "wrote {} (private: keep it secret) and {}\nkey id {}\n",
            private.display(),
            public.display(),
            key.public().key_id()
        )
    });
    Ok(())
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut file = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    file.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}
