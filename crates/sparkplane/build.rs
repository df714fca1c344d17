//! Link-time settings for the `sparkplane` binary, and what `sparkplane
//! version` prints about the build: the commit, the build date and the
//! compiler (ADR 0049).

use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    build_info();
    // Watched only while it exists: Cargo takes a missing file as changed on every build.
    if Path::new("link/hot-functions.txt").is_file() {
        println!("cargo:rerun-if-changed=link/hot-functions.txt");
    }
    println!("cargo:rerun-if-env-changed=SPARKPLANE_NO_LINK_ORDER");
    let target = std::env::var("TARGET").unwrap_or_default();
    if !target.ends_with("-linux-gnu") {
        return;
    }
    // Pack the ~80,000 relative relocations of this position-independent
    // binary into the compact RELR form: the dynamic loader then reads
    // ~20 KiB at start-up instead of a 2 MiB table. ASLR is unchanged. Only
    // glibc 2.36+ loads RELR, so an older C library (checked on the build
    // machine, which native builds run on) keeps the plain table.
    if glibc_at_least(2, 36) {
        println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    }

    // Place the functions the short commands run next to each other
    // (bench/hot-functions.sh writes the list). Only rust-lld, the default
    // linker of x86_64-unknown-linux-gnu since Rust 1.90, reads the list, so
    // it is left out with an older compiler, when a linker is configured for
    // the target, or when SPARKPLANE_NO_LINK_ORDER is set. Names the list no longer matches are
    // skipped quietly: a stale list costs memory, never correctness.
    let order = Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default()).join("link/hot-functions.txt");
    let custom_linker = std::env::var_os("RUSTC_LINKER").is_some()
        || std::env::var("CARGO_ENCODED_RUSTFLAGS").is_ok_and(|flags| flags.contains("linker"));
    if target == "x86_64-unknown-linux-gnu"
        && rustc_minor().is_some_and(|minor| minor >= 90)
        && !custom_linker
        && std::env::var_os("SPARKPLANE_NO_LINK_ORDER").is_none()
        && order.is_file()
    {
        // The linker reads a copy in OUT_DIR: a target directory shared by
        // two checkouts (or kept when the checkout moves) does not rerun
        // this script, and must not point the linker at a path that is gone.
        let out = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("hot-functions.txt");
        let order = match std::fs::copy(&order, &out) {
            Ok(_) => out,
            Err(_) => order,
        };
        println!("cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}", order.display());
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}

/// The minor version of the compiler Cargo runs (`1.<minor>.<patch>`).
fn rustc_minor() -> Option<u32> {
    let rustc = std::env::var_os("RUSTC")?;
    let output = std::process::Command::new(rustc).arg("--version").output().ok()?;
    let text = String::from_utf8(output.stdout).ok()?;
    text.split_whitespace().nth(1)?.split('.').nth(1)?.parse().ok()
}

/// Whether the build machine's glibc (`getconf GNU_LIBC_VERSION`) is at
/// least `major.minor`; false when it cannot be told.
fn glibc_at_least(major: u32, minor: u32) -> bool {
    let Ok(output) = std::process::Command::new("getconf").arg("GNU_LIBC_VERSION").output() else { return false };
    let text = String::from_utf8_lossy(&output.stdout);
    let mut parts = text.split_whitespace().nth(1).unwrap_or_default().split('.').map(|p| p.parse::<u32>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

/// The build's identity for `sparkplane version`, as compile-time variables:
/// `SPARKPLANE_BUILD_VERSION` (the workspace version, or the variable of that
/// name when a release marks it, e.g. `0.1.0-dirty.g3f9db1f`), `..._COMMIT`
/// (the checkout's HEAD, `unknown` outside git), `..._DATE` (the commit's
/// time, or SOURCE_DATE_EPOCH's, in UTC: never the clock, so a build
/// reproduces) and `..._RUSTC` (`rustc --version`). Reruns when HEAD moves
/// (see `watched_git_files`), and never when nothing changed.
fn build_info() {
    for var in ["SPARKPLANE_BUILD_VERSION", "SPARKPLANE_BUILD_COMMIT", "SOURCE_DATE_EPOCH"] {
        println!("cargo:rerun-if-env-changed={var}");
    }
    let git = |args: &[&str]| -> Option<String> {
        let out = std::process::Command::new("git")
            .args(args)
            .env("TZ", "UTC")
            .current_dir(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
            .output()
            .ok()?;
        let text = String::from_utf8(out.stdout).ok()?.trim().to_owned();
        (out.status.success() && !text.is_empty()).then_some(text)
    };
    // A folder that git does not track this file in (an unpacked tarball
    // inside someone's home repository, say) has no commit of its own.
    let tracked = git(&["ls-files", "--full-name", "--", "build.rs"]).is_some();
    // Watched whether or not this file is tracked: had git failed for a moment
    // (a lock, a signal), the next commit still reruns this script instead of
    // leaving `unknown` in every build after.
    if let Some(common) = git(&["rev-parse", "--path-format=absolute", "--git-common-dir"]) {
        let own = git(&["rev-parse", "--path-format=absolute", "--git-dir"]).unwrap_or_else(|| common.clone());
        let branch = git(&["symbolic-ref", "-q", "HEAD"]);
        for path in watched_git_files(Path::new(&own), Path::new(&common), branch.as_deref()) {
            println!("cargo:rerun-if-changed={}", path.display());
        }
    }
    let version = std::env::var("SPARKPLANE_BUILD_VERSION")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| std::env::var("CARGO_PKG_VERSION").unwrap_or_default());
    let commit = std::env::var("SPARKPLANE_BUILD_COMMIT")
        .ok()
        .filter(|v| !v.is_empty())
        .or_else(|| if tracked { git(&["rev-parse", "HEAD"]) } else { None })
        .unwrap_or_else(|| "unknown".into());
    let format = "--date=format-local:%Y-%m-%dT%H:%M:%SZ";
    let date = match std::env::var("SOURCE_DATE_EPOCH").ok().filter(|v| v.parse::<u64>().is_ok()) {
        Some(epoch) => std::process::Command::new("date")
            .args(["-u", "-d", &format!("@{epoch}"), "+%Y-%m-%dT%H:%M:%SZ"])
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|d| d.trim().to_owned()),
        None if tracked => git(&["log", "-1", "--format=%cd", format]),
        None => None,
    }
    .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var_os("RUSTC")
        .and_then(|rustc| std::process::Command::new(rustc).arg("--version").output().ok())
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|v| v.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=SPARKPLANE_BUILD_VERSION={version}");
    println!("cargo:rustc-env=SPARKPLANE_BUILD_COMMIT={commit}");
    println!("cargo:rustc-env=SPARKPLANE_BUILD_DATE={date}");
    println!("cargo:rustc-env=SPARKPLANE_BUILD_RUSTC={rustc}");
}

/// The files whose change means HEAD may name another commit: HEAD itself
/// (`own` is the worktree's git folder), its reflog, the branch's loose ref
/// and packed-refs (in `common`, shared by every worktree). Only files that
/// exist are named: Cargo takes a missing file as changed, so naming one
/// reran this script and relinked the binary on every build of a checkout
/// without it (`git init`, refs packed, no reflog). Where the branch has no
/// loose ref yet, the folder it will be written to stands in for it: a commit
/// that writes it changes that folder.
fn watched_git_files(own: &Path, common: &Path, branch: Option<&str>) -> Vec<std::path::PathBuf> {
    let mut paths = vec![own.join("HEAD"), own.join("logs/HEAD"), common.join("packed-refs")];
    if let Some(branch) = branch {
        let mut loose = common.join(branch);
        while !loose.exists() && loose.pop() && loose != common {}
        if loose != common {
            paths.push(loose);
        }
    }
    paths.retain(|path| path.exists());
    paths
}
