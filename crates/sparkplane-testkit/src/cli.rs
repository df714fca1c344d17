//! Running the `sparkplane` binary from a test.
//!
//! Owns: where a test finds the binary and which of the developer's
//! environment it must not inherit — a platform directory
//! (`SPARKPLANE_PLATFORM_DIR`), colour, and AWS settings that would point an
//! S3 client elsewhere. A test adds what it needs after calling these.
//! Must not: know any command's arguments or output.

use std::path::PathBuf;

/// Variables a developer's shell may hold that change what a run does.
const LEAKY: &[&str] = &[
    "SPARKPLANE_PLATFORM_DIR",
    "AWS_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_ENDPOINT",
    "AWS_ALLOW_HTTP",
];

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
    cmd
}

/// `sparkplane` as a plain process, for servers a test starts and stops.
pub fn sparkplane_process() -> std::process::Command {
    let mut cmd = std::process::Command::new(binary());
    for var in LEAKY {
        cmd.env_remove(var);
    }
    cmd.env("NO_COLOR", "1");
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
}
