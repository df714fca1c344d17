//! The binary's build script (`crates/sparkplane/build.rs`, ADR 0049) in every
//! layout a checkout can have: a fresh clone, `git init`, refs packed, no
//! reflog, a worktree, no git at all, a tarball with `SOURCE_DATE_EPOCH`, and
//! a tarball unpacked inside another repository. Each test copies the real
//! build script into a one-file crate in that layout, builds it twice and
//! reads Cargo's fingerprint log: the second build runs and compiles nothing.
//! Then it moves HEAD and checks the next build prints the new commit, so the
//! script still notices what it watches.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A one-file crate whose binary prints what the build script told it, with
/// the binary crate's link-order list beside it (as in the repository) or
/// without it.
fn write_probe_with(dir: &Path, link_order: bool) {
    std::fs::create_dir_all(dir.join("src")).expect("mkdir src");
    std::fs::write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"identity-probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n",
    )
    .expect("write Cargo.toml");
    std::fs::write(
        dir.join("src/main.rs"),
        "fn main() {\n    println!(\"{} {}\", env!(\"SPARKPLANE_BUILD_COMMIT\"), env!(\"SPARKPLANE_BUILD_DATE\"));\n}\n",
    )
    .expect("write main.rs");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("build.rs");
    std::fs::copy(&script, dir.join("build.rs")).expect("copy crates/sparkplane/build.rs");
    std::fs::write(dir.join(".gitignore"), "/target\n").expect("write .gitignore");
    if link_order {
        std::fs::create_dir_all(dir.join("link")).expect("mkdir link");
        let list = Path::new(env!("CARGO_MANIFEST_DIR")).join("link/hot-functions.txt");
        std::fs::copy(&list, dir.join("link/hot-functions.txt")).expect("copy link/hot-functions.txt");
    }
}

fn write_probe(dir: &Path) {
    write_probe_with(dir, true);
}

/// git with no user or system configuration, a fixed identity and clock.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "probe")
        .env("GIT_AUTHOR_EMAIL", "probe@example.invalid")
        .env("GIT_COMMITTER_NAME", "probe")
        .env("GIT_COMMITTER_EMAIL", "probe@example.invalid")
        .env("GIT_AUTHOR_DATE", "2026-01-02T03:04:05Z")
        .env("GIT_COMMITTER_DATE", "2026-01-02T03:04:05Z")
        .output()
        .expect("git runs (scripts/test.sh needs git for the checkout itself)");
    assert!(out.status.success(), "git {args:?} in {}: {}", dir.display(), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

fn init_and_commit(dir: &Path, extra: &[&str]) {
    let mut init = vec!["init", "-q", "-b", "main"];
    init.extend_from_slice(extra);
    git(dir, &init);
    git(dir, &["add", "-A"]);
    git(dir, &["commit", "-q", "-m", "probe"]);
}

/// One `cargo build` of the probe in `dir`: whether each unit was fresh (from
/// Cargo's JSON messages) and Cargo's fingerprint log.
struct Build {
    fresh: Vec<(String, bool)>,
    log: String,
}

fn build(dir: &Path, target: &Path, env: &[(&str, &str)]) -> Build {
    let mut cmd = Command::new(env!("CARGO"));
    cmd.args(["build", "--offline", "--message-format", "json"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_LOG", "cargo::core::compiler::fingerprint=info")
        .env("CARGO_TERM_COLOR", "never")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1");
    for var in [
        "SPARKPLANE_BUILD_VERSION",
        "SPARKPLANE_BUILD_COMMIT",
        "SOURCE_DATE_EPOCH",
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
    ] {
        cmd.env_remove(var);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    let out = cmd.output().expect("cargo runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "cargo build in {}: {stderr}", dir.display());
    let fresh = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|msg| msg["reason"] == "compiler-artifact")
        .map(|msg| (msg["target"]["name"].as_str().unwrap_or_default().to_owned(), msg["fresh"] == true))
        .collect();
    Build { fresh, log: stderr }
}

fn run_probe(target: &Path) -> String {
    let out = Command::new(target.join("debug/identity-probe")).output().expect("run the probe");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

/// Builds twice in `dir` and checks the second build did nothing; returns
/// what the binary prints.
fn second_build_is_fresh(dir: &Path, target: &Path, env: &[(&str, &str)]) -> String {
    build(dir, target, env);
    let again = build(dir, target, env);
    let stale: Vec<&str> = again
        .log
        .lines()
        .filter(|line| line.contains("stale") || line.contains("dirty") || line.contains("Compiling"))
        .collect();
    assert!(stale.is_empty(), "the second build in {} found something changed:\n{}", dir.display(), again.log);
    assert!(!again.fresh.is_empty(), "cargo reported no unit: {}", again.log);
    assert!(again.fresh.iter().all(|(_, fresh)| *fresh), "recompiled: {:?}\n{}", again.fresh, again.log);
    run_probe(target)
}

/// After HEAD moves, the next build reruns the script and prints the new commit.
fn a_new_commit_is_noticed(repo: &Path, dir: &Path, target: &Path) {
    git(repo, &["commit", "-q", "--allow-empty", "-m", "next"]);
    let head = git(repo, &["rev-parse", "HEAD"]);
    let after = build(dir, target, &[]);
    assert!(
        after.fresh.iter().any(|(name, fresh)| name == "identity-probe" && !fresh),
        "not rebuilt after a commit: {}",
        after.log
    );
    assert_eq!(run_probe(target), format!("{head} 2026-01-02T03:04:05Z"));
}

fn git_layout(setup: impl FnOnce(&Path) -> (PathBuf, PathBuf)) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (repo, dir) = setup(tmp.path());
    let target = tmp.path().join("target");
    let head = git(&repo, &["rev-parse", "HEAD"]);
    assert_eq!(second_build_is_fresh(&dir, &target, &[]), format!("{head} 2026-01-02T03:04:05Z"));
    a_new_commit_is_noticed(&repo, &dir, &target);
    // And fresh again right after that.
    second_build_is_fresh(&dir, &target, &[]);
}

#[test]
fn a_fresh_clone_builds_once() {
    git_layout(|tmp| {
        let origin = tmp.join("origin");
        write_probe(&origin);
        init_and_commit(&origin, &[]);
        let clone = tmp.join("clone");
        git(tmp, &["clone", "-q", "--no-local", origin.to_str().expect("utf-8 path"), "clone"]);
        assert!(clone.join(".git/packed-refs").is_file(), "a clone packs its remote refs");
        (clone.clone(), clone)
    });
}

#[test]
fn a_git_init_checkout_without_packed_refs_builds_once() {
    git_layout(|tmp| {
        let repo = tmp.join("repo");
        write_probe(&repo);
        init_and_commit(&repo, &[]);
        assert!(!repo.join(".git/packed-refs").exists(), "git init writes no packed-refs");
        (repo.clone(), repo)
    });
}

#[test]
fn a_checkout_with_its_refs_packed_builds_once() {
    git_layout(|tmp| {
        let repo = tmp.join("repo");
        write_probe(&repo);
        init_and_commit(&repo, &[]);
        git(&repo, &["pack-refs", "--all", "--prune"]);
        assert!(!repo.join(".git/refs/heads/main").exists(), "the branch lives in packed-refs only");
        (repo.clone(), repo)
    });
}

#[test]
fn a_checkout_without_a_reflog_builds_once() {
    git_layout(|tmp| {
        let repo = tmp.join("repo");
        write_probe(&repo);
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["config", "core.logAllRefUpdates", "false"]);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "probe"]);
        git(&repo, &["pack-refs", "--all", "--prune"]);
        assert!(!repo.join(".git/logs/HEAD").exists(), "no reflog");
        (repo.clone(), repo)
    });
}

#[test]
fn a_worktree_builds_once() {
    git_layout(|tmp| {
        let repo = tmp.join("repo");
        write_probe(&repo);
        init_and_commit(&repo, &[]);
        git(&repo, &["worktree", "add", "-q", "-b", "side", "../wt"]);
        let wt = tmp.join("wt");
        (wt.clone(), wt)
    });
}

#[test]
fn a_folder_without_git_builds_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("plain");
    // Without the link-order list too: a file the script would watch is not there.
    write_probe_with(&dir, false);
    let target = tmp.path().join("target");
    let printed = second_build_is_fresh(&dir, &target, &[]);
    assert!(printed.starts_with("unknown "), "{printed}");
}

#[test]
fn a_tarball_with_source_date_epoch_builds_once() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let repo = tmp.path().join("repo");
    write_probe(&repo);
    init_and_commit(&repo, &[]);
    let unpacked = tmp.path().join("unpacked");
    std::fs::create_dir_all(&unpacked).expect("mkdir");
    let tar = tmp.path().join("src.tar");
    git(&repo, &["archive", "--format=tar", "-o", tar.to_str().expect("utf-8 path"), "HEAD"]);
    let status = Command::new("tar").arg("-xf").arg(&tar).current_dir(&unpacked).status().expect("tar runs");
    assert!(status.success());
    let target = tmp.path().join("target");
    let printed = second_build_is_fresh(&unpacked, &target, &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(printed, "unknown 2023-11-14T22:13:20Z");
}

#[test]
fn a_tarball_unpacked_inside_another_repository_claims_none_of_its_commits() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let home = tmp.path().join("home");
    std::fs::create_dir_all(&home).expect("mkdir");
    std::fs::write(home.join("notes.txt"), "someone's own repository\n").expect("write");
    init_and_commit(&home, &[]);
    let dir = home.join("src/sparkplane");
    write_probe(&dir);
    let target = tmp.path().join("target");
    let printed = second_build_is_fresh(&dir, &target, &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(printed, "unknown 2023-11-14T22:13:20Z");
    // A commit in the surrounding repository reruns the script (it watches
    // the repository it is in), which still claims none of its commits.
    git(&home, &["commit", "-q", "--allow-empty", "-m", "unrelated"]);
    let printed = second_build_is_fresh(&dir, &target, &[("SOURCE_DATE_EPOCH", "1700000000")]);
    assert_eq!(printed, "unknown 2023-11-14T22:13:20Z");
}
