//! What the real-client tests share: finding kubectl and the Python
//! Kubernetes client the project's setup installs, and a child process that
//! is killed when the test ends.

use std::path::PathBuf;
use std::process::Child;

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

pub fn kubectl_path() -> PathBuf {
    let found = std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("kubectl"))
        .find(|candidate| candidate.is_file());
    found.unwrap_or_else(|| panic!("kubectl is not on PATH: run `bash scripts/test.sh` (need_kubectl installs it)"))
}

pub fn python_path() -> PathBuf {
    let path = std::env::var_os("SPARKPLANE_PYCLIENTS_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/sparkplane/tools/pyclients/bin/python")
    });
    assert!(
        path.is_file(),
        "{} is missing: run `bash scripts/test.sh` (need_python_clients installs the Python Kubernetes client there)",
        path.display()
    );
    path
}

/// A child process killed when dropped (also when an assertion fails first).
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
