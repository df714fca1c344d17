//! Finding Java and checking that it can run a Spark line.
//!
//! This module owns finding the `java` that Spark's launch scripts will use
//! (`$JAVA_HOME/bin/java` when JAVA_HOME is set, else the first `java` on
//! PATH), reading its version from `java -version`, and the table of which
//! Java releases each Spark line supports. It must not read the environment
//! (callers pass JAVA_HOME and PATH, so tests can simulate any machine),
//! install Java or print: problems come back as [`JavaError`], whose messages
//! say what to install.

use std::ffi::OsStr;
use std::io;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sparkplane_category::Category;

use sparkplane_core::spark_lines::{self, JavaSupport, SparkLine};

use crate::runtime::{PINNED, RuntimeError, line_of};

/// A Java release, as `java -version` reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaVersion {
    /// The feature release: 8 for `1.8.0_392`, 17 for `17.0.15`.
    pub major: u32,
    /// The quoted version string, e.g. `1.8.0_392`.
    pub text: String,
}

/// A Java that can run the Spark line it was checked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JavaInfo {
    /// The `java` executable.
    pub java: PathBuf,
    /// Its version.
    pub version: JavaVersion,
    /// Set when the line does not officially support this Java but it may work.
    pub warning: Option<String>,
    /// Whether the VM maps a class-data-sharing archive (`java -version` says
    /// `sharing`): only then can it write and read an application archive.
    pub sharing: bool,
}

/// How well a Spark line supports a Java release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Support {
    /// Officially supported.
    Supported,
    /// Not officially supported, but expected to run; the text says so.
    Unofficial(String),
    /// Will not run.
    Unsupported,
}

/// Why no usable Java was found; every message says what to install or set.
#[derive(Debug, thiserror::Error)]
pub enum JavaError {
    /// The Spark version is not one of the supported lines.
    #[error(transparent)]
    Line(#[from] RuntimeError),
    /// No `java` on PATH, and JAVA_HOME not set.
    #[error(
        "Java was not found on PATH: Spark {line} needs Java {needs}. \
         Install it (Debian: apt-get install {package}) and set JAVA_HOME, or put java on PATH."
    )]
    NotFound {
        /// The Spark line.
        line: &'static str,
        /// The Java releases it needs, in words.
        needs: String,
        /// The Debian package that gives it.
        package: String,
    },
    /// JAVA_HOME is set but has no `bin/java`.
    #[error(
        "JAVA_HOME is {}, but {} does not exist: point JAVA_HOME at a Java {needs} installation \
         (the directory holding bin/java), or unset it to use java from PATH",
        java_home.display(), java.display()
    )]
    BadJavaHome {
        /// The JAVA_HOME given.
        java_home: PathBuf,
        /// `<JAVA_HOME>/bin/java`.
        java: PathBuf,
        /// The Java releases the line needs, in words.
        needs: String,
    },
    /// `java -version` could not be started.
    #[error("cannot run {}: {source}; check that it is a working Java installation, or set JAVA_HOME to one", java.display())]
    CannotRun {
        /// The `java` executable.
        java: PathBuf,
        /// The error.
        #[source]
        source: io::Error,
    },
    /// `java -version` did not print a version sparkplane understands.
    #[error(
        "cannot tell which Java {} is: `java -version` printed {output:?}; set JAVA_HOME to a Java {needs} installation",
        java.display()
    )]
    UnknownVersion {
        /// The `java` executable.
        java: PathBuf,
        /// What it printed (the start of it).
        output: String,
        /// The Java releases the line needs, in words.
        needs: String,
    },
    /// The Java found cannot run the Spark line.
    #[error("{}", incompatible_message(line, needs, *found, java))]
    Incompatible {
        /// The Spark line.
        line: &'static str,
        /// The Java releases it needs, in words.
        needs: String,
        /// The feature release found.
        found: u32,
        /// Where.
        java: PathBuf,
    },
}

impl JavaError {
    /// Whether the user's request or the machine is at fault.
    pub fn category(&self) -> Category {
        match self {
            JavaError::Line(e) => e.category(),
            _ => Category::Unreachable,
        }
    }

    /// A stable machine-readable code, e.g. `java-not-found`.
    pub fn code(&self) -> &'static str {
        match self {
            JavaError::Line(e) => e.code(),
            JavaError::NotFound { .. } => "java-not-found",
            JavaError::BadJavaHome { .. } => "java-home-invalid",
            JavaError::CannotRun { .. } => "java-not-runnable",
            JavaError::UnknownVersion { .. } => "java-version-unknown",
            JavaError::Incompatible { .. } => "java-incompatible",
        }
    }
}

fn incompatible_message(line: &str, needs: &str, found: u32, java: &Path) -> String {
    let mut text = format!(
        "Spark {line} needs Java {needs}; found Java {found} at {}. \
         Install it (Debian: apt-get install {}) and set JAVA_HOME",
        java.display(),
        package(line)
    );
    // Offer the lines that would run with the Java at hand.
    let others: Vec<&str> = PINNED
        .iter()
        .map(|(other, _)| *other)
        .filter(|other| *other != line && support(other, found) != Support::Unsupported)
        .collect();
    if let Some((last, rest)) = others.split_last() {
        let lines = if rest.is_empty() { (*last).to_owned() } else { format!("{} or {last}", rest.join(", ")) };
        text.push_str(&format!(", or run a Spark {lines} job"));
    }
    text.push('.');
    text
}

/// The Java releases a line needs, in words (the line table's row).
fn needs(line: &str) -> String {
    spark_lines::row(line).map_or_else(|| "17 or newer".to_owned(), SparkLine::java_needs)
}

/// The Debian package that gives a line a Java it supports.
fn package(line: &str) -> String {
    spark_lines::row(line).map_or_else(|| "openjdk-17-jre-headless".to_owned(), SparkLine::java_package)
}

/// How well a Spark line (`"3.5"` … `"4.3"`) supports a Java feature release:
/// the `java` and `java_runs` columns of its row in the line table
/// (`sparkplane_core::spark_lines::LINES`, which says why each line's range is
/// what it is). An unknown line runs nothing.
pub fn support(line: &str, major: u32) -> Support {
    match spark_lines::row(line).map(|row| row.java_support(major)) {
        Some(JavaSupport::Supported) => Support::Supported,
        Some(JavaSupport::Unofficial(text)) => Support::Unofficial(text),
        Some(JavaSupport::Unsupported) | None => Support::Unsupported,
    }
}

/// Reads the version from the output of `java -version`, old (`1.8.0_392`) or
/// new (`17.0.15`, `21`, `26-ea`) style. Lines before it, such as
/// `Picked up JAVA_TOOL_OPTIONS: …`, are skipped.
pub fn parse_java_version(output: &str) -> Option<JavaVersion> {
    output.lines().find_map(|line| {
        let (before, after) = line.split_once(" version \"")?;
        if before.trim().is_empty() || before.contains(':') {
            return None;
        }
        let text = after.split('"').next()?.trim();
        let leading_number = |s: &str| s.split(|c: char| !c.is_ascii_digit()).next()?.parse::<u32>().ok();
        let major = match text.strip_prefix("1.") {
            Some(legacy) => leading_number(legacy)?,
            None => leading_number(text)?,
        };
        (major > 0).then(|| JavaVersion { major, text: text.to_owned() })
    })
}

/// Whether `java -version`'s VM line says the VM runs with its class-data
/// archive mapped (`…, mixed mode, sharing)`).
pub fn shares_classes(output: &str) -> bool {
    output.lines().any(|l| l.contains(" VM ") && l.contains("sharing"))
}

/// Where the `java` Spark would use is, or why there is none.
enum Found {
    Java(PathBuf),
    BadJavaHome(PathBuf, PathBuf),
    Missing,
}

fn find_java(java_home: Option<&Path>, path_env: Option<&OsStr>) -> Found {
    if let Some(java_home) = java_home.filter(|p| !p.as_os_str().is_empty()) {
        let java = java_home.join("bin").join("java");
        return if java.is_file() { Found::Java(java) } else { Found::BadJavaHome(java_home.to_owned(), java) };
    }
    let Some(path_env) = path_env else { return Found::Missing };
    std::env::split_paths(path_env)
        .filter(|dir| !dir.as_os_str().is_empty())
        .map(|dir| dir.join("java"))
        .find(|java| is_executable(java))
        .map_or(Found::Missing, Found::Java)
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Finds the Java that Spark will use (JAVA_HOME first, then PATH, both passed
/// in by the caller), runs `java -version`, and checks the release against the
/// Spark line of `line` (`"3.5"` or a full version such as `"3.5.7"`).
pub fn check_java(line: &str, java_home: Option<&Path>, path_env: Option<&OsStr>) -> Result<JavaInfo, JavaError> {
    let line = line_of(line)?;
    let needs = needs(line);
    let java = match find_java(java_home, path_env) {
        Found::Java(java) => java,
        Found::BadJavaHome(java_home, java) => return Err(JavaError::BadJavaHome { java_home, java, needs }),
        Found::Missing => return Err(JavaError::NotFound { line, needs, package: package(line) }),
    };
    let output = Command::new(&java)
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .map_err(|source| JavaError::CannotRun { java: java.clone(), source })?;
    // `java -version` writes to stderr; read stdout too, in case a wrapper moved it.
    let text = format!("{}{}", String::from_utf8_lossy(&output.stderr), String::from_utf8_lossy(&output.stdout));
    let Some(version) = parse_java_version(&text) else {
        let output: String = text.trim().chars().take(300).collect();
        return Err(JavaError::UnknownVersion { java, output, needs });
    };
    let sharing = shares_classes(&text);
    match support(line, version.major) {
        Support::Supported => Ok(JavaInfo { java, version, warning: None, sharing }),
        Support::Unofficial(warning) => Ok(JavaInfo { java, version, warning: Some(warning), sharing }),
        Support::Unsupported => Err(JavaError::Incompatible { line, needs, found: version.major, java }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::testing::script;

    const TEMURIN_8: &str = "openjdk version \"1.8.0_392\"\n\
        OpenJDK Runtime Environment (Temurin)(build 1.8.0_392-b08)\n\
        OpenJDK 64-Bit Server VM (Temurin)(build 25.392-b08, mixed mode)\n";
    const ORACLE_8: &str = "java version \"1.8.0_202\"\n\
        Java(TM) SE Runtime Environment (build 1.8.0_202-b08)\n\
        Java HotSpot(TM) 64-Bit Server VM (build 25.202-b08, mixed mode)\n";
    const UBUNTU_11: &str = "openjdk version \"11.0.21\" 2023-10-17\n\
        OpenJDK Runtime Environment (build 11.0.21+9-post-Ubuntu-0ubuntu122.04)\n\
        OpenJDK 64-Bit Server VM (build 11.0.21+9-post-Ubuntu-0ubuntu122.04, mixed mode, sharing)\n";
    const DEBIAN_17: &str = "openjdk version \"17.0.15\" 2025-04-15\n\
        OpenJDK Runtime Environment (build 17.0.15+6-Debian-1deb12u1)\n\
        OpenJDK 64-Bit Server VM (build 17.0.15+6-Debian-1deb12u1, mixed mode, sharing)\n";
    const OPENJDK_21_GA: &str = "openjdk version \"21\" 2023-09-19\n\
        OpenJDK Runtime Environment (build 21+35-2513)\n\
        OpenJDK 64-Bit Server VM (build 21+35-2513, mixed mode, sharing)\n";
    const ORACLE_21: &str = "java version \"21.0.2\" 2024-01-16 LTS\n\
        Java(TM) SE Runtime Environment (build 21.0.2+13-LTS-58)\n\
        Java HotSpot(TM) 64-Bit Server VM (build 21.0.2+13-LTS-58, mixed mode, sharing)\n";
    const TEMURIN_25: &str = "openjdk version \"25.0.3\" 2026-04-21 LTS\n\
        OpenJDK Runtime Environment Temurin-25.0.3+9 (build 25.0.3+9-LTS)\n\
        OpenJDK 64-Bit Server VM Temurin-25.0.3+9 (build 25.0.3+9-LTS, mixed mode, sharing)\n";
    const WITH_TOOL_OPTIONS: &str = "Picked up JAVA_TOOL_OPTIONS: -Dfile.encoding=UTF8 -Dx=\"version \\\"9\\\"\"\n\
        openjdk version \"11.0.20.1\" 2023-08-24\n\
        IBM Semeru Runtime Open Edition 11.0.20.1 (build 11.0.20.1+1)\n";
    const EARLY_ACCESS: &str = "openjdk version \"26-ea\" 2026-03-17\n\
        OpenJDK Runtime Environment (build 26-ea+5-421)\n";
    const JAVA_7: &str = "java version \"1.7.0_80\"\nJava(TM) SE Runtime Environment (build 1.7.0_80-b15)\n";

    #[test]
    fn versions_are_read_from_real_java_version_outputs() {
        let cases = [
            (TEMURIN_8, 8, "1.8.0_392"),
            (ORACLE_8, 8, "1.8.0_202"),
            (UBUNTU_11, 11, "11.0.21"),
            (DEBIAN_17, 17, "17.0.15"),
            (OPENJDK_21_GA, 21, "21"),
            (ORACLE_21, 21, "21.0.2"),
            (TEMURIN_25, 25, "25.0.3"),
            (WITH_TOOL_OPTIONS, 11, "11.0.20.1"),
            (EARLY_ACCESS, 26, "26-ea"),
            (JAVA_7, 7, "1.7.0_80"),
        ];
        for (output, major, text) in cases {
            let version = parse_java_version(output).unwrap_or_else(|| panic!("no version in {output}"));
            assert_eq!((version.major, version.text.as_str()), (major, text), "{output}");
        }
    }

    #[test]
    fn class_sharing_is_read_from_the_vm_line() {
        assert!(shares_classes(DEBIAN_17) && shares_classes(OPENJDK_21_GA) && shares_classes(UBUNTU_11));
        // Without the VM line's `sharing` (a JDK without its default archive, or -Xshare:off).
        assert!(!shares_classes(TEMURIN_8) && !shares_classes(EARLY_ACCESS));
    }

    #[test]
    fn output_without_a_version_gives_none() {
        for output in ["", "Error: could not find libjava.so\n", "openjdk version \"\"\n", "java version \"x.y\"\n"] {
            assert_eq!(parse_java_version(output), None, "{output:?}");
        }
    }

    #[test]
    fn each_spark_line_supports_its_java_releases() {
        let unofficial = |line: &str, major| matches!(support(line, major), Support::Unofficial(_));
        for major in [8, 11, 17] {
            assert_eq!(support("3.5", major), Support::Supported, "3.5 on {major}");
        }
        for major in [17, 21] {
            assert_eq!(support("4.0", major), Support::Supported, "4.0 on {major}");
            assert_eq!(support("4.1", major), Support::Supported, "4.1 on {major}");
        }
        assert_eq!(
            support("3.5", 21),
            Support::Unofficial(
                "Spark 3.5 does not support Java 21 officially; if the job fails at start-up, use Java 17".to_owned()
            )
        );
        for major in [17, 21, 25] {
            assert_eq!(support("4.2", major), Support::Supported, "4.2 on {major}");
            assert_eq!(support("4.3", major), Support::Supported, "4.3 on {major}");
        }
        assert!(unofficial("3.5", 12) && unofficial("4.0", 19) && unofficial("4.0", 22) && unofficial("4.1", 25));
        assert!(unofficial("4.2", 26) && unofficial("4.3", 22));
        assert_eq!(support("4.9", 17), Support::Unsupported);
        for (line, major) in [
            ("3.5", 7),
            ("3.5", 22),
            ("3.5", 25),
            ("4.0", 8),
            ("4.0", 11),
            ("4.0", 25),
            ("4.1", 16),
            ("4.2", 11),
            ("4.3", 8),
        ] {
            assert_eq!(support(line, major), Support::Unsupported, "{line} on {major}");
        }
    }

    #[test]
    fn a_refusal_offers_the_lines_that_would_run() {
        let java = Path::new("/opt/java/bin/java");
        assert_eq!(
            incompatible_message("3.5", &needs("3.5"), 25, java),
            "Spark 3.5 needs Java 8, 11 or 17; found Java 25 at /opt/java/bin/java. Install it (Debian: apt-get \
             install openjdk-17-jre-headless) and set JAVA_HOME, or run a Spark 4.1, 4.2 or 4.3 job."
        );
        assert!(incompatible_message("4.0", &needs("4.0"), 25, java).ends_with("or run a Spark 4.1, 4.2 or 4.3 job."));
        assert!(incompatible_message("4.1", &needs("4.1"), 11, java).ends_with("or run a Spark 3.5 job."));
        assert!(incompatible_message("4.3", &needs("4.3"), 11, java).ends_with("or run a Spark 3.5 job."));
        assert!(
            incompatible_message("3.5", &needs("3.5"), 22, java).ends_with("or run a Spark 4.0, 4.1, 4.2 or 4.3 job.")
        );
        assert!(incompatible_message("4.0", &needs("4.0"), 7, java).ends_with("and set JAVA_HOME."));
    }

    #[test]
    fn no_java_for_the_newest_lines_says_which_java_and_how_to_get_it() {
        for line in ["4.2.1", "4.3.0"] {
            let error = check_java(line, None, Some(OsStr::new(""))).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!(
                    "Java was not found on PATH: Spark {} needs Java 17 or newer. Install it (Debian: apt-get install \
                     openjdk-17-jre-headless) and set JAVA_HOME, or put java on PATH.",
                    &line[..3]
                )
            );
            assert_eq!((error.category(), error.code()), (Category::Unreachable, "java-not-found"));
        }
    }

    #[test]
    fn no_java_on_an_empty_path_says_what_to_install() {
        for path in [Some(OsStr::new("")), None] {
            let error = check_java("4.0", None, path).unwrap_err();
            assert!(matches!(error, JavaError::NotFound { line: "4.0", .. }), "{error:?}");
            assert_eq!(
                error.to_string(),
                "Java was not found on PATH: Spark 4.0 needs Java 17 or 21. Install it (Debian: apt-get install \
                 openjdk-17-jre-headless) and set JAVA_HOME, or put java on PATH."
            );
            assert_eq!(error.category(), Category::Unreachable);
        }
    }

    #[test]
    fn a_java_too_old_for_the_line_is_refused_with_what_to_install() {
        let bin = tempfile::tempdir().unwrap();
        let java = script(bin.path(), "java", r#"echo 'openjdk version "11.0.21" 2023-10-17' >&2"#);
        let error = check_java("4.0.1", None, Some(bin.path().as_os_str())).unwrap_err();
        assert!(matches!(error, JavaError::Incompatible { found: 11, .. }), "{error:?}");
        assert_eq!(
            error.to_string(),
            format!(
                "Spark 4.0 needs Java 17 or 21; found Java 11 at {}. Install it (Debian: apt-get install \
                 openjdk-17-jre-headless) and set JAVA_HOME, or run a Spark 3.5 job.",
                java.display()
            )
        );
        // The same Java suits Spark 3.5.
        let info = check_java("3.5", None, Some(bin.path().as_os_str())).unwrap();
        assert_eq!((info.java, info.version.major, info.warning), (java, 11, None));
    }

    #[test]
    fn an_old_style_java_8_is_recognised_on_path() {
        let empty = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        script(bin.path(), "java", r#"echo 'openjdk version "1.8.0_392"' >&2; echo 'OpenJDK Runtime Environment' >&2"#);
        // A directory without java and a non-executable `java` come first on PATH and are passed over.
        let not_executable = tempfile::tempdir().unwrap();
        std::fs::write(not_executable.path().join("java"), "").unwrap();
        let path = std::env::join_paths([empty.path(), not_executable.path(), bin.path()]).unwrap();
        let info = check_java("3.5", None, Some(&path)).unwrap();
        assert_eq!(info.version, JavaVersion { major: 8, text: "1.8.0_392".to_owned() });
        assert_eq!(info.java, bin.path().join("java"));
        let error = check_java("4.1", None, Some(&path)).unwrap_err();
        assert!(error.to_string().starts_with("Spark 4.1 needs Java 17 or newer; found Java 8 at"), "{error}");
    }

    #[test]
    fn java_21_runs_spark_3_5_with_a_warning() {
        let bin = tempfile::tempdir().unwrap();
        script(bin.path(), "java", &format!("cat >&2 <<'OUT'\n{OPENJDK_21_GA}OUT"));
        let info = check_java("3.5.7", None, Some(bin.path().as_os_str())).unwrap();
        assert_eq!(info.version.major, 21);
        assert_eq!(
            info.warning.as_deref(),
            Some("Spark 3.5 does not support Java 21 officially; if the job fails at start-up, use Java 17")
        );
        assert_eq!(check_java("4.0", None, Some(bin.path().as_os_str())).unwrap().warning, None);
    }

    #[test]
    fn java_home_wins_over_path() {
        let java_home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        let preferred = script(&java_home.path().join("bin"), "java", r#"echo 'openjdk version "17.0.15"' >&2"#);
        script(bin.path(), "java", r#"echo 'openjdk version "1.8.0_392"' >&2"#);
        let info = check_java("4.0", Some(java_home.path()), Some(bin.path().as_os_str())).unwrap();
        assert_eq!((info.java, info.version.major), (preferred, 17));
    }

    #[test]
    fn a_java_home_without_java_is_reported_not_skipped() {
        let java_home = tempfile::tempdir().unwrap();
        let bin = tempfile::tempdir().unwrap();
        script(bin.path(), "java", r#"echo 'openjdk version "17.0.15"' >&2"#);
        let error = check_java("4.0", Some(java_home.path()), Some(bin.path().as_os_str())).unwrap_err();
        assert!(matches!(error, JavaError::BadJavaHome { .. }), "{error:?}");
        assert!(error.to_string().contains("or unset it to use java from PATH"), "{error}");
        // An empty JAVA_HOME counts as unset.
        assert!(check_java("4.0", Some(Path::new("")), Some(bin.path().as_os_str())).is_ok());
    }

    #[test]
    fn a_java_that_prints_no_version_is_reported() {
        let bin = tempfile::tempdir().unwrap();
        script(bin.path(), "java", "echo 'Error: dl failure on line 542' >&2; exit 1");
        let error = check_java("3.5", None, Some(bin.path().as_os_str())).unwrap_err();
        assert!(
            matches!(&error, JavaError::UnknownVersion { output, .. } if output.contains("dl failure")),
            "{error:?}"
        );
    }

    #[test]
    fn an_unsupported_spark_line_is_a_usage_error() {
        let error = check_java("2.4.8", None, None).unwrap_err();
        assert!(matches!(error, JavaError::Line(RuntimeError::UnsupportedLine { .. })), "{error:?}");
        assert_eq!(error.category(), Category::Invalid);
    }
}
