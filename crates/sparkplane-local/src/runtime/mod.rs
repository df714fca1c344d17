//! Managed local Spark runtimes, one per Spark line, kept the way uv keeps Pythons.
//!
//! A runtime is a Python virtual environment holding the pinned `pyspark`
//! release of a line; pyspark ships a complete Spark (jars and `bin/spark-submit`),
//! so no separate Spark download is needed. Runtimes live in
//! `<SPARKPLANE_HOME>/runtimes/<line>/`:
//!
//! ```text
//! runtimes/3.5/venv/          python -m venv, then pip install pyspark==3.5.9
//! runtimes/3.5/install.log    everything python and pip printed
//! runtimes/3.5/runtime.json   written last: its presence means "complete"
//! ```
//!
//! This module owns where runtimes live, the pin table, installing, listing,
//! removing and locating `spark-submit` for a job's Spark version. It must not
//! run Spark, check Java (the `java` module does), print (progress goes through a
//! callback) or read the environment outside [`default_home`] and
//! [`default_python`]: everything else takes its inputs as arguments, so tests
//! run against temporary directories.
//!
//! Each concept has its own module, all re-exported here: `line` (lines and
//! pins), `home` (where runtimes live), `inventory` (installed runtimes:
//! list, remove), `locate` (the Spark a job runs with), `install`, `error`;
//! `view` is how they show in `runtime install|list|remove` (not re-exported).

mod error;
mod home;
mod install;
mod inventory;
mod line;
mod locate;
pub mod view;

pub use error::RuntimeError;
pub use home::{INSTALL_LOG, MARKER_FILE, default_home, default_python, resolve_home, runtime_dir, runtimes_dir};
pub use install::{InstallEvent, install};
pub use inventory::{Runtime, RuntimeInfo, RuntimeStatus, list, remove};
pub use line::{PINNED, line_of, pinned_version};
pub use locate::{Located, Source, locate};

/// Helpers shared by this crate's tests.
#[cfg(test)]
pub(crate) mod testing {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    /// Writes an executable shell script `dir/name`. A child shell writes it,
    /// so this process never holds the file open for writing: a process forked
    /// meanwhile by a concurrent test would inherit that descriptor and make
    /// executing the script fail with "text file busy".
    pub(crate) fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        std::fs::create_dir_all(dir).unwrap();
        let path = dir.join(name);
        let status = Command::new("/bin/sh")
            .args(["-c", r#"printf '#!/bin/sh\n%s\n' "$1" > "$2" && chmod 755 "$2""#, "sh", body])
            .arg(&path)
            .status()
            .unwrap();
        assert!(status.success(), "cannot write {}", path.display());
        path
    }
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::fs;
    use std::path::{Path, PathBuf};
    use std::process::Command;
    use std::time::UNIX_EPOCH;

    use super::install::{pip_event, rfc3339};
    use super::line::min_python;
    use super::testing::script;
    use super::*;
    use sparkplane_category::Category;

    /// A managed runtime as `install` would leave it, without installing anything.
    fn fake_runtime(home: &Path, line: &str, version: &str) -> Runtime {
        let dir = runtime_dir(home, line);
        let python = dir.join("venv/bin/python");
        let spark_home = dir.join("venv/lib/python3.11/site-packages/pyspark");
        fs::create_dir_all(python.parent().unwrap()).unwrap();
        fs::write(&python, "").unwrap();
        fs::create_dir_all(spark_home.join("bin")).unwrap();
        fs::write(spark_home.join("bin/spark-submit"), "#!/bin/sh\n").unwrap();
        let runtime = Runtime {
            line: line.to_owned(),
            pyspark_version: version.to_owned(),
            python,
            spark_home,
            installed_at: "2025-06-01T12:00:00Z".to_owned(),
        };
        fs::write(dir.join(MARKER_FILE), serde_json::to_string(&runtime).unwrap()).unwrap();
        runtime
    }

    /// A user's Spark distribution with spark-submit and, optionally, a spark-core jar.
    fn fake_spark_home(dir: &Path, version: Option<&str>) -> PathBuf {
        fs::create_dir_all(dir.join("bin")).unwrap();
        fs::write(dir.join("bin/spark-submit"), "#!/bin/sh\n").unwrap();
        if let Some(version) = version {
            fs::create_dir_all(dir.join("jars")).unwrap();
            fs::write(dir.join(format!("jars/spark-core_2.13-{version}.jar")), "").unwrap();
        }
        dir.to_owned()
    }

    #[test]
    fn every_pinned_line_has_a_version_and_a_python_floor() {
        let lines: Vec<&str> = PINNED.iter().map(|(line, _)| *line).collect();
        assert_eq!(lines, ["3.5", "4.0", "4.1", "4.2", "4.3"]);
        assert_eq!(pinned_version("3.5"), Some("3.5.9"));
        assert_eq!(pinned_version("4.0"), Some("4.0.5"));
        assert_eq!(pinned_version("4.1"), Some("4.1.4"));
        assert_eq!(pinned_version("4.2"), Some("4.2.1"));
        assert_eq!(pinned_version("4.3"), Some("4.3.0"));
        assert_eq!(pinned_version("3.4"), None);
        for (line, version) in PINNED {
            assert!(version.starts_with(&format!("{line}.")), "{line} pins {version}");
        }
        assert_eq!(
            [min_python("3.5"), min_python("4.0"), min_python("4.1"), min_python("4.3")],
            [(3, 8), (3, 9), (3, 10), (3, 11)]
        );
    }

    #[test]
    fn spark_versions_map_to_their_line() {
        let cases = [
            ("3.5.7", "3.5"),
            ("3.5", "3.5"),
            ("3.5.0", "3.5"),
            (" 3.5.9 ", "3.5"),
            ("3.5.0-rc1", "3.5"),
            ("4.0.1", "4.0"),
            ("4.0", "4.0"),
            ("4.1.0", "4.1"),
            ("04.1", "4.1"),
            ("4.2.1", "4.2"),
            ("4.3.0", "4.3"),
        ];
        for (version, line) in cases {
            assert_eq!(line_of(version).unwrap_or_else(|e| panic!("{version}: {e}")), line, "{version}");
        }
    }

    #[test]
    fn unsupported_versions_are_refused_with_the_supported_lines() {
        for version in ["3.4.1", "2.4.8", "4.9.0", "5.0.0", "3.50", "3", "", "abc", "3.5.x", "3-5", ".5", "3.", "v3.5"]
        {
            let error = line_of(version).expect_err(version);
            assert!(matches!(error, RuntimeError::UnsupportedLine { .. }), "{version}: {error:?}");
            assert!(error.to_string().contains("3.5, 4.0, 4.1, 4.2, 4.3"), "{error}");
            assert_eq!(error.category(), Category::Invalid);
        }
    }

    #[test]
    fn home_comes_from_sparkplane_home_then_xdg_then_home() {
        let os = |s: &'static str| Some(OsStr::new(s));
        assert_eq!(resolve_home(os("/sp"), os("/xdg"), os("/home/u")).unwrap(), Path::new("/sp"));
        assert_eq!(resolve_home(None, os("/xdg"), os("/home/u")).unwrap(), Path::new("/xdg/sparkplane"));
        assert_eq!(resolve_home(os(""), os(""), os("/home/u")).unwrap(), Path::new("/home/u/.local/share/sparkplane"));
        // The XDG specification says relative paths are to be ignored.
        assert_eq!(resolve_home(None, os("xdg"), os("/home/u")).unwrap(), Path::new("/home/u/.local/share/sparkplane"));
        assert!(matches!(resolve_home(None, None, None), Err(RuntimeError::NoHome)));
        assert!(matches!(resolve_home(os(""), os("relative"), os("")), Err(RuntimeError::NoHome)));
    }

    #[test]
    fn a_users_spark_home_wins_over_the_managed_runtime() {
        let home = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        let spark_home = fake_spark_home(user.path(), Some("3.5.1"));
        let located = locate(home.path(), "3.5.7", Some(&spark_home)).unwrap();
        assert_eq!(located.spark_home, spark_home);
        assert_eq!(located.spark_submit, spark_home.join("bin/spark-submit"));
        assert_eq!(located.python, None);
        assert_eq!(located.source, Source::User { version: Some("3.5.1".to_owned()) });
        assert!(located.warnings.is_empty(), "{:?}", located.warnings);
    }

    #[test]
    fn a_users_spark_home_of_another_line_still_wins_with_a_warning() {
        let home = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let spark_home = fake_spark_home(user.path(), Some("4.0.1"));
        let located = locate(home.path(), "3.5.7", Some(&spark_home)).unwrap();
        assert_eq!(located.source, Source::User { version: Some("4.0.1".to_owned()) });
        assert_eq!(located.warnings.len(), 1);
        assert!(located.warnings[0].contains("holds Spark 4.0.1"), "{}", located.warnings[0]);
    }

    #[test]
    fn a_spark_home_without_spark_submit_falls_back_to_the_managed_runtime() {
        let home = tempfile::tempdir().unwrap();
        let user = tempfile::tempdir().unwrap();
        let runtime = fake_runtime(home.path(), "4.0", "4.0.5");
        let located = locate(home.path(), "4.0.1", Some(user.path())).unwrap();
        assert_eq!(located.source, Source::Managed { line: "4.0".to_owned(), version: "4.0.5".to_owned() });
        assert_eq!(located.spark_home, runtime.spark_home);
        assert_eq!(located.python, Some(runtime.python));
        assert!(located.warnings[0].contains("has no bin/spark-submit"), "{:?}", located.warnings);
        // An empty SPARK_HOME counts as unset, silently.
        let located = locate(home.path(), "4.0.1", Some(Path::new(""))).unwrap();
        assert!(located.warnings.is_empty());
    }

    #[test]
    fn the_managed_runtime_of_the_jobs_line_is_used() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        let runtime = fake_runtime(home.path(), "4.1", "4.1.4");
        let located = locate(home.path(), "4.1.0", None).unwrap();
        assert_eq!(located.source, Source::Managed { line: "4.1".to_owned(), version: "4.1.4".to_owned() });
        assert_eq!(located.spark_submit, runtime.spark_submit());
        assert_eq!(located.python.as_deref(), Some(runtime.python.as_path()));
    }

    #[test]
    fn a_missing_runtime_says_how_to_install_it() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        let error = locate(home.path(), "4.0.1", None).unwrap_err();
        assert!(matches!(&error, RuntimeError::NotInstalled { line } if line == "4.0"), "{error:?}");
        assert!(error.to_string().contains("run `sparkplane runtime install 4.0`"), "{error}");
        assert_eq!(error.category(), Category::Unreachable);
        assert!(matches!(locate(home.path(), "3.4.0", None), Err(RuntimeError::UnsupportedLine { .. })));
    }

    #[test]
    fn a_runtime_without_its_marker_is_broken_and_not_used() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        fs::remove_file(runtime_dir(home.path(), "3.5").join(MARKER_FILE)).unwrap();
        let error = locate(home.path(), "3.5.7", None).unwrap_err();
        assert!(matches!(&error, RuntimeError::Broken { problem, .. } if problem.contains("incomplete install")));
        assert!(error.to_string().contains("run `sparkplane runtime install 3.5` to repair it"), "{error}");
    }

    #[test]
    fn list_shows_complete_and_broken_runtimes_in_line_order() {
        let home = tempfile::tempdir().unwrap();
        assert_eq!(list(home.path()).unwrap(), []);
        fake_runtime(home.path(), "4.0", "4.0.5");
        fake_runtime(home.path(), "3.5", "3.5.9");
        // Interrupted before the marker was written.
        let incomplete = runtime_dir(home.path(), "4.1");
        fs::create_dir_all(incomplete.join("venv/bin")).unwrap();
        fs::write(incomplete.join(INSTALL_LOG), "Collecting pyspark==4.1.4\n").unwrap();
        // A marker whose spark-submit has gone.
        let damaged = fake_runtime(home.path(), "10.0", "10.0.0");
        fs::remove_file(damaged.spark_submit()).unwrap();
        // Lock files and directories being removed are not runtimes.
        fs::write(runtimes_dir(home.path()).join(".3.5.lock"), "").unwrap();
        fs::create_dir_all(runtimes_dir(home.path()).join(".4.0.removing.1.2")).unwrap();

        let listed = list(home.path()).unwrap();
        let summary: Vec<(&str, Option<&str>, RuntimeStatus)> =
            listed.iter().map(|r| (r.line.as_str(), r.version.as_deref(), r.status)).collect();
        assert_eq!(
            summary,
            [
                ("3.5", Some("3.5.9"), RuntimeStatus::Ok),
                ("4.0", Some("4.0.5"), RuntimeStatus::Ok),
                ("4.1", None, RuntimeStatus::Broken),
                ("10.0", None, RuntimeStatus::Broken),
            ]
        );
        assert!(listed[2].problem.as_deref().unwrap_or_default().contains("no runtime.json"));
        assert!(listed[3].problem.as_deref().unwrap_or_default().contains("spark-submit is missing"));
        assert_eq!(listed[0].path, runtime_dir(home.path(), "3.5"));
        assert!(listed[0].size_bytes > 0);
        let json = serde_json::to_value(&listed[2]).unwrap();
        assert_eq!(json["status"], "broken");
        assert_eq!(json["sizeBytes"], listed[2].size_bytes);
    }

    #[test]
    fn a_garbled_marker_is_broken() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        fs::write(runtime_dir(home.path(), "3.5").join(MARKER_FILE), "{\"line\": ").unwrap();
        let listed = list(home.path()).unwrap();
        assert_eq!(listed[0].status, RuntimeStatus::Broken);
        assert!(listed[0].problem.as_deref().unwrap_or_default().contains("is not a runtime marker"));
        // A marker copied from another line does not count either.
        let other = fake_runtime(home.path(), "4.0", "4.0.5");
        fs::write(runtime_dir(home.path(), "3.5").join(MARKER_FILE), serde_json::to_string(&other).unwrap()).unwrap();
        assert!(matches!(locate(home.path(), "3.5", None), Err(RuntimeError::Broken { .. })));
    }

    #[test]
    fn remove_deletes_a_runtime_and_is_idempotent() {
        let home = tempfile::tempdir().unwrap();
        fake_runtime(home.path(), "3.5", "3.5.9");
        fake_runtime(home.path(), "4.0", "4.0.5");
        let removed = remove(home.path(), "3.5.7").unwrap().expect("3.5 was installed");
        assert_eq!((removed.line.as_str(), removed.status), ("3.5", RuntimeStatus::Ok));
        assert!(!runtime_dir(home.path(), "3.5").exists());
        assert_eq!(remove(home.path(), "3.5").unwrap(), None);
        let left: Vec<String> = list(home.path()).unwrap().into_iter().map(|r| r.line).collect();
        assert_eq!(left, ["4.0"]);
        // Nothing but the lock files remains beside the other runtime.
        let mut names: Vec<String> = fs::read_dir(runtimes_dir(home.path()))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, [".3.5.lock", "4.0"]);
    }

    #[test]
    fn remove_takes_broken_and_retired_lines_but_not_other_paths() {
        let home = tempfile::tempdir().unwrap();
        let broken = runtime_dir(home.path(), "4.1");
        fs::create_dir_all(&broken).unwrap();
        assert_eq!(remove(home.path(), "4.1").unwrap().map(|r| r.status), Some(RuntimeStatus::Broken));
        // A line an older sparkplane pinned.
        fs::create_dir_all(runtime_dir(home.path(), "3.4")).unwrap();
        assert!(remove(home.path(), "3.4").unwrap().is_some());
        assert_eq!(remove(home.path(), "3.3").unwrap(), None);
        for bad in ["..", "../x", "3.5/..", "", "x.y"] {
            assert!(matches!(remove(home.path(), bad), Err(RuntimeError::UnsupportedLine { .. })), "{bad}");
        }
    }

    #[test]
    fn installing_an_installed_line_does_nothing() {
        let home = tempfile::tempdir().unwrap();
        let runtime = fake_runtime(home.path(), "3.5", "3.5.9");
        let mut events = Vec::new();
        // No Python is needed, so a missing one proves nothing ran.
        let installed =
            install(home.path(), "3.5.1", OsStr::new("/nonexistent/python3"), &mut |e| events.push(e)).unwrap();
        assert_eq!(installed, runtime);
        assert_eq!(events, [InstallEvent::AlreadyInstalled]);
    }

    #[test]
    fn an_unsupported_line_is_refused_before_touching_the_disk() {
        let home = tempfile::tempdir().unwrap();
        let error = install(home.path(), "3.4.1", OsStr::new("python3"), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::UnsupportedLine { .. }));
        assert!(!runtimes_dir(home.path()).exists());
    }

    #[test]
    fn a_missing_python_fails_clearly_and_leaves_a_broken_runtime_with_its_log() {
        let home = tempfile::tempdir().unwrap();
        let error = install(home.path(), "4.0", OsStr::new("/nonexistent/python3"), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::PythonNotFound { .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            "/nonexistent/python3 was not found: install Python 3.9+ (Debian: apt-get install python3 python3-venv) \
             or set SPARKPLANE_PYTHON"
        );
        assert_eq!(error.category(), Category::Unreachable);
        let listed = list(home.path()).unwrap();
        assert_eq!(listed[0].status, RuntimeStatus::Broken);
        let log = fs::read_to_string(runtime_dir(home.path(), "4.0").join(INSTALL_LOG)).unwrap();
        assert!(log.contains("install failed"), "{log}");
    }

    #[test]
    fn a_python_older_than_pyspark_accepts_is_refused() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let python = script(bin.path(), "python3", "echo 3.9");
        let error = install(home.path(), "4.1", python.as_os_str(), &mut |_| {}).unwrap_err();
        assert!(matches!(&error, RuntimeError::PythonTooOld { found, needs: (3, 10), .. } if found == "3.9"));
        assert!(error.to_string().contains("pyspark 4.1.4 needs Python 3.10 or newer"), "{error}");
    }

    #[test]
    fn a_python_without_venv_is_reported_with_the_package_to_install() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let body = r#"if [ "$1" = -c ]; then echo 3.11; exit 0; fi
echo "The virtual environment was not successfully created because ensurepip is not available." >&2
exit 1"#;
        let python = script(bin.path(), "python3", body);
        let error = install(home.path(), "3.5", python.as_os_str(), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::VenvFailed { .. }), "{error:?}");
        assert!(error.to_string().contains("apt-get install python3-venv"), "{error}");
        let log = fs::read_to_string(runtime_dir(home.path(), "3.5").join(INSTALL_LOG)).unwrap();
        assert!(log.contains("ensurepip is not available"), "{log}");
    }

    /// A stand-in for `python3` whose `-m venv` makes an environment whose
    /// python runs `pip_body` for `-m pip …` and reports a pyspark package directory for `-c …`.
    fn fake_python(bin: &Path, pip_body: &str) -> PathBuf {
        let body = format!(
            r#"if [ "$1" = -c ]; then echo 3.11; exit 0; fi
if [ "$1" = -m ] && [ "$2" = venv ]; then
  mkdir -p "$3/bin"
  cat > "$3/bin/python" <<'VENV'
#!/bin/sh
pkg="$(cd "$(dirname "$0")/.." && pwd)/lib/python3.11/site-packages/pyspark"
if [ "$1" = -c ]; then echo "$pkg"; exit 0; fi
{pip_body}
VENV
  chmod +x "$3/bin/python"
  exit 0
fi
exit 2"#
        );
        script(bin, "python3", &body)
    }

    #[test]
    fn install_creates_a_venv_runs_pip_and_writes_the_marker_last() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let pip = r#"mkdir -p "$pkg/bin" "$pkg/jars"
printf '#!/bin/sh\n' > "$pkg/bin/spark-submit"
echo "Collecting pyspark==3.5.9"
echo "  Downloading pyspark-3.5.9.tar.gz (317.2 MB)"
echo "  Preparing metadata (setup.py): started" >&2
echo "Successfully installed py4j-0.10.9.7 pyspark-3.5.9""#;
        let python = fake_python(bin.path(), pip);
        let mut events = Vec::new();
        let runtime = install(home.path(), "3.5", python.as_os_str(), &mut |e| events.push(e)).unwrap();

        let dir = runtime_dir(home.path(), "3.5");
        assert_eq!(runtime.line, "3.5");
        assert_eq!(runtime.pyspark_version, "3.5.9");
        assert_eq!(runtime.python, dir.join("venv/bin/python"));
        assert_eq!(runtime.spark_home, dir.join("venv/lib/python3.11/site-packages/pyspark"));
        assert_eq!(runtime.installed_at.len(), "2025-06-01T12:00:00Z".len());
        assert_eq!(events.first(), Some(&InstallEvent::CreatingVenv));
        assert_eq!(events.last(), Some(&InstallEvent::Done));
        assert!(events.contains(&InstallEvent::Downloading("Downloading pyspark-3.5.9.tar.gz (317.2 MB)".to_owned())));
        assert!(events.contains(&InstallEvent::Installing("Preparing metadata (setup.py): started".to_owned())));
        let marker: serde_json::Value =
            serde_json::from_str(&fs::read_to_string(dir.join(MARKER_FILE)).unwrap()).unwrap();
        assert_eq!(marker["pysparkVersion"], "3.5.9");
        assert_eq!(marker["sparkHome"], runtime.spark_home.to_str().unwrap());
        let log = fs::read_to_string(dir.join(INSTALL_LOG)).unwrap();
        assert!(log.contains("Successfully installed py4j-0.10.9.7 pyspark-3.5.9"), "{log}");
        let located = locate(home.path(), "3.5.7", None).unwrap();
        assert_eq!(located.spark_submit, runtime.spark_submit());
    }

    #[test]
    fn a_broken_runtime_is_deleted_and_installed_again() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let leftover = runtime_dir(home.path(), "3.5").join("venv/leftover");
        fs::create_dir_all(&leftover).unwrap();
        let python = fake_python(bin.path(), r#"mkdir -p "$pkg/bin"; touch "$pkg/bin/spark-submit""#);
        let mut events = Vec::new();
        install(home.path(), "3.5", python.as_os_str(), &mut |e| events.push(e)).unwrap();
        assert!(matches!(&events[0], InstallEvent::Repairing { problem } if problem.contains("incomplete install")));
        assert!(!leftover.exists());
        assert_eq!(list(home.path()).unwrap()[0].status, RuntimeStatus::Ok);
    }

    #[test]
    fn an_unreachable_index_is_told_apart_from_other_pip_failures() {
        let home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let offline = r#"echo "WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after connection broken by 'NewConnectionError('<pip._vendor.urllib3.connection.HTTPSConnection object at 0x7f>: Failed to establish a new connection: [Errno -3] Temporary failure in name resolution')': /simple/pyspark/" >&2
echo "ERROR: Could not find a version that satisfies the requirement pyspark==3.5.9 (from versions: none)" >&2
exit 1"#;
        let python = fake_python(bin.path(), offline);
        let error = install(home.path(), "3.5", python.as_os_str(), &mut |_| {}).unwrap_err();
        assert!(matches!(error, RuntimeError::IndexUnreachable { .. }), "{error:?}");
        assert!(error.to_string().contains("PIP_INDEX_URL"), "{error}");
        // The failed environment is gone; the log stays, and no marker was written.
        let dir = runtime_dir(home.path(), "3.5");
        assert!(!dir.join("venv").exists());
        assert!(!dir.join(MARKER_FILE).exists());
        assert!(fs::read_to_string(dir.join(INSTALL_LOG)).unwrap().contains("NewConnectionError"));

        let disk_full = r#"echo "ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device" >&2
exit 1"#;
        let python = fake_python(bin.path(), disk_full);
        let error = install(home.path(), "3.5", python.as_os_str(), &mut |_| {}).unwrap_err();
        match &error {
            RuntimeError::InstallFailed { reason, .. } => assert!(reason.contains("No space left on device")),
            other => panic!("{other:?}"),
        }
        assert_eq!(list(home.path()).unwrap()[0].status, RuntimeStatus::Broken);
    }

    #[test]
    fn pip_output_lines_become_progress_events() {
        assert_eq!(
            pip_event("Collecting pyspark==3.5.9"),
            Some(InstallEvent::Downloading("Collecting pyspark==3.5.9".into()))
        );
        assert_eq!(
            pip_event("  Building wheel for pyspark (setup.py): started"),
            Some(InstallEvent::Installing("Building wheel for pyspark (setup.py): started".into()))
        );
        assert_eq!(pip_event("  Stored in directory: /root/.cache/pip/wheels/97"), None);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let at = |secs: u64| rfc3339(UNIX_EPOCH + std::time::Duration::from_secs(secs));
        assert_eq!(at(0), "1970-01-01T00:00:00Z");
        assert_eq!(at(951_782_400), "2000-02-29T00:00:00Z");
        assert_eq!(at(1_748_781_005), "2025-06-01T12:30:05Z");
        assert_eq!(at(4_102_444_799), "2099-12-31T23:59:59Z");
    }

    #[test]
    #[ignore = "downloads pyspark (about 320 MB) from PyPI and builds it"]
    fn installs_a_real_runtime() {
        let home = tempfile::tempdir().unwrap();
        let started = std::time::Instant::now();
        let mut on_event = |event: InstallEvent| eprintln!("[{:>6.1}s] {event:?}", started.elapsed().as_secs_f64());
        let runtime = install(home.path(), "3.5", &default_python(), &mut on_event).unwrap_or_else(|e| panic!("{e}"));
        let took = started.elapsed();
        assert!(runtime.spark_submit().is_file(), "{}", runtime.spark_submit().display());
        let listed = list(home.path()).unwrap();
        assert_eq!(listed[0].status, RuntimeStatus::Ok);
        eprintln!(
            "installed pyspark {} in {:.1}s, {} MiB on disk, SPARK_HOME {}",
            runtime.pyspark_version,
            took.as_secs_f64(),
            listed[0].size_bytes / (1024 * 1024),
            runtime.spark_home.display()
        );
        let located = locate(home.path(), "3.5.7", None).unwrap();
        assert_eq!(located.spark_submit, runtime.spark_submit());

        let mut events = Vec::new();
        install(home.path(), "3.5", &default_python(), &mut |e| events.push(e)).unwrap();
        assert_eq!(events, [InstallEvent::AlreadyInstalled]);

        // With a Java that suits Spark 3.5, spark-submit itself must run and report the pinned version.
        let java_home = std::env::var_os("JAVA_HOME").map(PathBuf::from);
        let path = std::env::var_os("PATH");
        match crate::java::check_java("3.5", java_home.as_deref(), path.as_deref()) {
            Ok(java) => {
                let output = Command::new(&located.spark_submit)
                    .arg("--version")
                    .env("SPARK_HOME", &located.spark_home)
                    .env("PYSPARK_PYTHON", located.python.as_ref().unwrap())
                    .output()
                    .unwrap();
                let text = String::from_utf8_lossy(&output.stderr);
                assert!(text.contains("version 3.5.9"), "spark-submit --version with {}:\n{text}", java.java.display());
            }
            Err(e) => eprintln!("spark-submit not run: {e}"),
        }
    }
}
