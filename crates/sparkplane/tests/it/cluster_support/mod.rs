//! What the CLI's tests against the simulated cluster share: the real
//! `sparkplane` run in a test's own folder, cut off from the machine's
//! cluster, platform folder, CDEvents sink and pod identity (a fixed user and
//! home instead), its outcome, and the operator as a child process stopped
//! with SIGTERM when the test is done.
//!
//! Owns: that environment. Must not: set up a test's files or cluster.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use sparkplane_testkit::StopOnDrop;

/// How a `sparkplane` command ended.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// `sparkplane` in `dir`, talking to the cluster `kubeconfig` names.
pub fn command(dir: &Path, kubeconfig: &Path) -> Command {
    let mut cmd = sparkplane_testkit::sparkplane_process();
    cmd.current_dir(dir)
        .env("KUBECONFIG", kubeconfig)
        .env("SPARKPLANE_USER", "alice")
        .env("SPARKPLANE_HOME", dir.join("home"))
        .env("NO_COLOR", "1")
        .env("GIT_CEILING_DIRECTORIES", std::env::temp_dir());
    for var in [
        "KUBERNETES_SERVICE_HOST",
        "KUBERNETES_SERVICE_PORT",
        "SPARKPLANE_PLATFORM_DIR",
        "SPARKPLANE_CDEVENTS_SINK",
        "POD_NAME",
        "POD_NAMESPACE",
    ] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs `cmd` with `args`, stopping it after `timeout`.
pub fn run(cmd: Command, args: &[&str], timeout: Duration) -> Run {
    let out = assert_cmd::Command::from_std(cmd).args(args).timeout(timeout).output().expect("runs");
    Run {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The operator, started from `cmd` (see [`command`]) watching `namespace`
/// with `extra` flags, its home the test's folder and its output discarded;
/// stopped when dropped.
pub fn operator(mut cmd: Command, namespace: &str, extra: &[&str]) -> StopOnDrop {
    if let Some(dir) = cmd.get_current_dir().map(Path::to_owned) {
        cmd.env("HOME", dir);
    }
    cmd.args(["operator", "-n", namespace, "--metrics-address", "127.0.0.1:0"])
        .args(extra)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    StopOnDrop::new(cmd.spawn().expect("the operator starts"))
}
