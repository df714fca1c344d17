//! Release keys on this machine: `sparkplane release keygen`'s signing key
//! pair, written where git will not offer the private half for commit, and
//! the keys the other commands read — the private key `release --key` signs
//! with, the public key `verify --key` checks with, and the keys trusted for
//! an environment (`promote --trusted-key`, else
//! `.sparkplane/trusted-keys/<env>/*.pub` next to the job).
//!
//! Owns: writing the pair (never over existing files, the private key mode
//! 0600), the check that git ignores it, reading keys and their failures as
//! exit codes. Must not: sign or verify anything (`sparkplane_delivery::sign`
//! does).

use std::path::{Path, PathBuf};

use sparkplane_delivery::sign::{PrivateKey, PublicKey};

use crate::exit::{CommandResult, Failure};
use crate::printer::Printer;

fn bad_key(flag: &str, path: &Path, error: impl std::fmt::Display, help: &str) -> Failure {
    Failure::invalid("bad-key", flag, format!("{}: {error}", path.display()), help)
}

/// The private key `release --key` signs with.
pub fn read_private(path: &Path) -> Result<PrivateKey, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))?;
    PrivateKey::from_pem(&text)
        .map_err(|e| bad_key("--key", path, e, "make a key pair with `sparkplane release keygen --out DIR`"))
}

/// The public key `verify --key` checks with.
pub fn read_public(path: &Path) -> Result<PublicKey, Failure> {
    let text = std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))?;
    PublicKey::from_pem(&text)
        .map_err(|e| bad_key("--key", path, e, "pass the public key (release.pub) of the key that signed"))
}

/// The default trusted keys of `env`: `.sparkplane/trusted-keys/<env>/` next to the job file.
pub fn default_trusted_keys_dir(job: &Path, env: &str) -> PathBuf {
    job.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .join(".sparkplane")
        .join("trusted-keys")
        .join(env)
}

/// The keys trusted for `to`: the `--trusted-key` files, else the `*.pub` files of the default directory.
pub fn trusted_keys(flags: &[PathBuf], job: &Path, to: &str) -> Result<Vec<PublicKey>, Failure> {
    let paths = if flags.is_empty() {
        let dir = default_trusted_keys_dir(job, to);
        let Ok(entries) = std::fs::read_dir(&dir) else { return Ok(Vec::new()) };
        let mut paths: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.extension().is_some_and(|e| e == "pub")).collect();
        paths.sort();
        paths
    } else {
        flags.to_vec()
    };
    let read = |path: &PathBuf| {
        let text = std::fs::read_to_string(path).map_err(|e| Failure::unreadable(path, &e))?;
        PublicKey::from_pem(&text)
            .map_err(|e| bad_key("--trusted-key", path, e, "list public keys only (release.pub, cosign.pub)"))
    };
    paths.iter().map(read).collect()
}

/// Exit 2 when the private key would be written inside a git work tree that
/// does not ignore it, where `git status` offers it and `git add -A` commits
/// it. Outside a work tree (or without git) there is nothing to check.
fn check_key_not_committable(out: &Path, private: &Path) -> Result<(), Failure> {
    let absolute = std::path::absolute(private).map_err(|e| Failure::unreadable(out, &e))?;
    // git runs in the nearest folder that exists: --out itself may be new.
    let Some(existing) = absolute.ancestors().skip(1).find(|dir| dir.is_dir()) else { return Ok(()) };
    let Some(top) = super::stamp::output_of("git", &["rev-parse", "--show-toplevel"], existing) else {
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
    Err(Failure::invalid(
        "key-not-ignored",
        "--out",
        format!(
            "{} would be a private key inside the git work tree {top}, and git does not ignore it: `git status` \
                 would offer it for commit; nothing was written",
            private.display()
        ),
        format!(
            "ignore the folder first (add `{folder}/` to {}), or pass --out a folder outside the work tree",
            ignore_file.display()
        ),
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
            return Err(Failure::failed(
                "key-exists",
                "",
                format!("{} exists; keys are never overwritten", path.display()),
                "choose another --out directory, or remove the old key pair if it is no longer used",
            ));
        }
    }
    check_key_not_committable(out, &private)?;
    let io = |path: &Path, e: std::io::Error| Failure::file(path, e, "check that --out can be written");
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
