//! Running the `sparkplane` binary from a test.
//!
//! Owns: where a test finds the binary and which of the developer's
//! environment it must not inherit — a platform directory
//! (`SPARKPLANE_PLATFORM_DIR`), colour, and AWS settings that would point an
//! S3 client elsewhere — and gives each run a cache folder of its own
//! (`XDG_CACHE_HOME`), so a server's persisted index (ADR 0066) never lands
//! in the developer's cache nor is shared by two tests serving the same
//! location at once. A test adds what it needs after calling these.
//! Must not: know any command's arguments or output.

use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// Variables a developer's shell may hold that change what a run does.
const LEAKY: &[&str] = &[
    "SPARKPLANE_PLATFORM_DIR",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT",
    "AWS_ALLOW_HTTP",
];

/// A cache folder no other run uses: `<temp>/sparkplane-test-cache/<pid>-<n>`
/// (created by the binary only if it writes there).
fn private_cache() -> PathBuf {
    static RUNS: AtomicUsize = AtomicUsize::new(0);
    let n = RUNS.fetch_add(1, Ordering::SeqCst);
    std::env::temp_dir().join("sparkplane-test-cache").join(format!("{}-{n}", std::process::id()))
}

/// The built `sparkplane` binary of this workspace (cargo builds it for every
/// integration test of its package).
pub fn binary() -> PathBuf {
    assert_cmd::cargo::cargo_bin("sparkplane")
}

/// `sparkplane` as an `assert_cmd` command, for runs a test waits on.
pub fn sparkplane() -> assert_cmd::Command {
    let mut cmd = assert_cmd::Command::new(binary());
    for var in LEAKY {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd.env("XDG_CACHE_HOME", private_cache());
    cmd
}

/// `sparkplane` as a plain process, for servers a test starts and stops.
pub fn sparkplane_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(binary());
    for var in LEAKY {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
    cmd.env("XDG_CACHE_HOME", private_cache());
    cmd
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_run_does_not_inherit_the_platform_directory_or_aws_settings() {
        let cmd = sparkplane_process();
        let removed: Vec<&str> =
            cmd.get_envs().filter(|(_, value)| value.is_none()).filter_map(|(key, _)| key.to_str()).collect();
        for var in LEAKY {
            assert!(removed.contains(var), "{var} is not cleared: {removed:?}");
        }
        let colour = cmd.get_envs().find(|(key, _)| *key == "NO_COLOR").and_then(|(_, v)| v);
        assert_eq!(colour.and_then(|v| v.to_str()), Some("1"));
        assert!(cmd.get_program().to_string_lossy().ends_with("sparkplane"));
    }

    #[test]
    fn each_run_gets_a_cache_folder_of_its_own() {
        let cache = |cmd: &std::process::Command| {
            cmd.get_envs().find(|(key, _)| *key == "XDG_CACHE_HOME").and_then(|(_, v)| v).map(|v| v.to_owned())
        };
        let (first, second) = (cache(&sparkplane_process()), cache(&sparkplane_process()));
        let first = first.expect("XDG_CACHE_HOME is set");
        assert_ne!(Some(&first), second.as_ref());
        assert!(PathBuf::from(&first).starts_with(std::env::temp_dir().join("sparkplane-test-cache")));
    }
}
