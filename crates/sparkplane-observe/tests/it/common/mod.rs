//! Helpers shared by the observability tests (a `tests/common/` module, not a test target).

use std::path::Path;
use std::process::Command;

/// Runs `promtool ARGS` in `dir` and fails the test with its output when it
/// fails; a missing promtool fails with how to install it.
pub fn promtool(args: &[&str], dir: &Path) {
    let out = Command::new("promtool").args(args).current_dir(dir).output();
    let out = out.unwrap_or_else(|e| panic!("promtool not found ({e}): install it with `apt-get install prometheus`"));
    assert!(
        out.status.success(),
        "promtool {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
