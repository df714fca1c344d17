//! scripts/common.sh's target-folder prune: the outermost script prunes an
//! over-full target folder, and a script it starts, or one a test starts
//! (release.sh under nextest), never does — nextest holds no cargo lock while
//! tests run, so a nested prune once deleted the running suite's binaries.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// A target folder with a test binary and an incremental cache in it.
fn full_target(root: &Path) -> PathBuf {
    let target = root.join("target");
    std::fs::create_dir_all(target.join("debug/deps")).expect("mkdir deps");
    std::fs::create_dir_all(target.join("debug/incremental/x")).expect("mkdir incremental");
    std::fs::write(target.join("debug/deps/suite-0123"), vec![7u8; 64 * 1024]).expect("binary");
    std::fs::write(target.join("debug/incremental/x/cache"), vec![7u8; 64 * 1024]).expect("cache");
    target
}

/// `bash -c SCRIPT` in the repository, as a run from a shell would be: none
/// of the variables a test process or an outer script passes on, a limit of
/// 0 GiB, so any target folder is over it.
fn shell(script: &str, target: &Path, extra: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg("-c").arg(script).current_dir(repo()).env("CARGO_TARGET_DIR", target).env("SPARKPLANE_TARGET_MAX_GB", "0");
    for var in ["NEXTEST_RUN_ID", "CARGO_PKG_NAME", "SPARKPLANE_NO_PRUNE", "SPARKPLANE_PHASE_TIMES"] {
        cmd.env_remove(var);
    }
    for (k, v) in extra {
        cmd.env(k, v);
    }
    cmd.output().expect("bash runs")
}

#[test]
fn the_outermost_script_removes_an_over_full_target_folder() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = full_target(dir.path());
    let out = shell("source scripts/common.sh", &target, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!target.exists(), "the over-full folder is removed: {stderr}");
    assert!(
        stderr.contains("(over 0 GiB) without its incremental caches; removing it so the build starts clean"),
        "{stderr}"
    );
}

#[test]
fn a_release_build_goes_before_the_debug_build_the_tests_use() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = full_target(dir.path());
    std::fs::create_dir_all(target.join("release/deps")).expect("mkdir release");
    std::fs::write(target.join("release/.cargo-lock"), b"").expect("lock");
    std::fs::write(target.join("release/deps/sparkplane-0123"), vec![7u8; 3 * 1024 * 1024]).expect("binary");
    // 1 MiB: the release binary alone is over it, the debug build's 64 KiB is not.
    let out = shell("source scripts/common.sh", &target, &[("SPARKPLANE_TARGET_MAX_MB", "1")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(!target.join("release").exists(), "the release build stays: {stderr}");
    assert!(!target.join("debug/incremental").exists(), "{stderr}");
    assert!(target.join("debug/deps/suite-0123").is_file(), "the debug build went too: {stderr}");
    assert!(stderr.contains("was over 1 MiB; removed its incremental caches and the release build"), "{stderr}");
}

#[test]
fn phase_times_inside_a_removed_target_folder_are_still_written() {
    // CI once stopped after 16 s: its phase file lived in the target folder the size check removed,
    // and the next `phase` could not append to it.
    let dir = tempfile::tempdir().expect("temp dir");
    let target = full_target(dir.path());
    let times = target.join("ci/phase-times.tsv");
    let script = format!("export SPARKPLANE_PHASE_TIMES='{}' && source scripts/common.sh && phase", times.display());
    let out = shell(&script, &target, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("removing it so the build starts clean"), "{stderr}");
    let written = std::fs::read_to_string(&times).expect("the phase file");
    assert!(written.starts_with("target-prune-check\t"), "{written:?}");
}

#[test]
fn a_script_started_by_a_script_keeps_the_target_folder_the_outer_one_uses() {
    let dir = tempfile::tempdir().expect("temp dir");
    let target = dir.path().join("target");
    // The outer run finds no folder; its build (here: full_target's files) fills
    // one past the limit; then it starts a script that sources common.sh again.
    let script = "source scripts/common.sh && mkdir -p \"$CARGO_TARGET_DIR/debug/deps\" && head -c 65536 /dev/zero > \
         \"$CARGO_TARGET_DIR/debug/deps/suite-0123\" && bash -c 'source scripts/common.sh && echo \"inner \
         NO_PRUNE=$SPARKPLANE_NO_PRUNE\"'";
    let out = shell(script, &target, &[]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "inner NO_PRUNE=1\n");
    assert!(target.join("debug/deps/suite-0123").is_file(), "the inner script pruned: {stderr}");
    assert!(!stderr.contains("removing") && !stderr.contains("removed"), "{stderr}");
}

#[test]
fn a_script_a_test_starts_keeps_the_target_folder_under_nextest_and_cargo_test() {
    for (var, value) in [("NEXTEST_RUN_ID", "0d6f7a3e-run"), ("CARGO_PKG_NAME", "sparkplane")] {
        let dir = tempfile::tempdir().expect("temp dir");
        let target = full_target(dir.path());
        let out = shell("source scripts/common.sh", &target, &[(var, value)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{var}: {stderr}");
        assert!(target.join("debug/deps/suite-0123").is_file(), "{var}: the test's binary was deleted: {stderr}");
        assert!(target.join("debug/incremental/x/cache").is_file(), "{var}: {stderr}");
        assert!(!stderr.contains("remov"), "{var}: {stderr}");
    }
}
