//! Every Spark line on this machine: `sparkplane run` of the example job
//! (examples/trips-etl/trips-etl.yaml) with `sparkVersion` the line's pinned
//! release, on its managed runtime (CI: the newest line, 4.3; the others are
//! ignored there and run by scripts/compat.sh), and the bad input around lines: an unknown line names the
//! supported ones (exit 2), and a 4.3 job without Java says which Java and
//! how to get it (exit 3). Each test has its own SPARKPLANE_HOME sharing the
//! installed runtimes; without the 4.3 runtime the Spark test fails with the
//! command that installs it.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The installed runtimes folder, asserting that `line` is among them.
fn installed_runtimes(line: &str) -> PathBuf {
    let home = sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME");
    let runtimes = sparkplane_local::runtime::runtimes_dir(&home);
    let marker = runtimes.join(line).join(sparkplane_local::runtime::MARKER_FILE);
    assert!(
        marker.is_file(),
        "no Spark {line} runtime in {}: run `sparkplane runtime install {line}` (scripts/test.sh's need_runtime does)",
        runtimes.display()
    );
    runtimes
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir").flatten() {
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            copy_dir(&path, &to.join(&name), skip);
        } else {
            std::fs::copy(&path, to.join(&name)).expect("copy");
        }
    }
}

/// The example job and the presets in a folder of their own, and a home.
struct Example {
    root: tempfile::TempDir,
    home: tempfile::TempDir,
}

impl Example {
    fn new(runtimes: Option<&Path>) -> Example {
        let root = tempfile::tempdir().expect("tmp");
        copy_dir(&repo().join("examples/trips-etl"), &root.path().join("examples/trips-etl"), &["data", ".sparkplane"]);
        copy_dir(&repo().join("presets"), &root.path().join("presets"), &[]);
        let home = tempfile::tempdir().expect("tmp");
        if let Some(runtimes) = runtimes {
            std::os::unix::fs::symlink(runtimes, home.path().join("runtimes")).expect("symlink");
        }
        Example { root, home }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(sparkplane_testkit::cli::binary());
        cmd.args(args)
            .env("SPARKPLANE_HOME", self.home.path())
            .env_remove("SPARK_HOME")
            .env("NO_COLOR", "1")
            .current_dir(self.root.path());
        cmd
    }
}

/// `sparkplane run` of the example job with `sparkVersion` the pinned release of `line`.
fn the_example_job_runs_locally_on(line: &str) {
    let version = sparkplane_local::runtime::pinned_version(line).unwrap_or_else(|| panic!("Spark {line} is pinned"));
    let example = Example::new(Some(&installed_runtimes(line)));
    let generated = Command::new("python3")
        .arg("examples/trips-etl/generate_trips.py")
        .current_dir(example.root.path())
        .output()
        .expect("python3 runs");
    assert!(generated.status.success(), "{}", String::from_utf8_lossy(&generated.stderr));
    let set = format!("spec.sparkVersion={version}");
    let out = example
        .command(&["run", "examples/trips-etl/trips-etl.yaml", "--set", &set, "-o", "json"])
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).expect("the run record as JSON");
    assert_eq!(record["state"], "succeeded", "{record}");
    let text = record.to_string();
    assert!(text.contains(version), "the record names the Spark that ran: {record}");
    assert!(record["summary"]["jobs"].as_u64().unwrap_or(0) >= 1, "{record}");
    assert_eq!(record["summary"]["tasksFailed"], 0, "{record}");
    let curated = example.root.path().join("examples/trips-etl/data/curated/trips");
    assert!(curated.is_dir(), "the job wrote its output to {}", curated.display());
}

#[test]
fn the_example_job_runs_locally_on_spark_4_3() {
    the_example_job_runs_locally_on("4.3");
}

// The oldest line runs the example in CI through run_local's tests (3.5 is the example's own
// line); it and the lines between run here under scripts/compat.sh (`--run-ignored all`).
#[test]
#[ignore = "CI runs the example on 3.5 in run_local; scripts/compat.sh runs this"]
fn the_example_job_runs_locally_on_spark_3_5() {
    the_example_job_runs_locally_on("3.5");
}

#[test]
#[ignore = "a line between the oldest and the newest: scripts/compat.sh runs it"]
fn the_example_job_runs_locally_on_spark_4_0() {
    the_example_job_runs_locally_on("4.0");
}

#[test]
#[ignore = "a line between the oldest and the newest: scripts/compat.sh runs it"]
fn the_example_job_runs_locally_on_spark_4_1() {
    the_example_job_runs_locally_on("4.1");
}

#[test]
#[ignore = "a line between the oldest and the newest: scripts/compat.sh runs it"]
fn the_example_job_runs_locally_on_spark_4_2() {
    the_example_job_runs_locally_on("4.2");
}

#[test]
fn runtime_install_of_an_unknown_line_names_the_supported_lines() {
    let example = Example::new(None);
    let out = example.command(&["runtime", "install", "4.9.0"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Spark `4.9.0` is not supported") && err.contains("3.5, 4.0, 4.1, 4.2, 4.3"), "{err}");
    assert!(!example.home.path().join("runtimes/4.9").exists(), "nothing half-installed");
}

#[test]
fn a_4_3_job_without_java_says_which_java_and_how_to_get_it() {
    let example = Example::new(None);
    let out = example
        .command(&["run", "examples/trips-etl/trips-etl.yaml", "--set", "spec.sparkVersion=4.3.0"])
        .env("PATH", "/nonexistent")
        .env_remove("JAVA_HOME")
        .output()
        .expect("runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{err}");
    assert!(
        err.contains(
            "Java was not found on PATH: Spark 4.3 needs Java 17 or newer. Install it (Debian: apt-get install \
             openjdk-17-jre-headless) and set JAVA_HOME, or put java on PATH."
        ),
        "{err}"
    );
}
