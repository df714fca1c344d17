//! The runtimes as `runtime install`, `runtime list` and `runtime remove`
//! show them: a row per line (installed, broken, or available to install),
//! an install's heading and closing line, what an install left, what a
//! removal freed — as JSON rows and as text.
//!
//! Owns: those views and how sizes read. Must not: touch the disk (the
//! caller passes what `install`, `list` and `remove` answered).

use std::path::{Path, PathBuf};

use serde::Serialize;
use sparkplane_documents::table::Table;

use super::{PINNED, Runtime, RuntimeInfo, RuntimeStatus, line_of, runtime_dir};

/// Bytes as a runtime's size reads: GiB with a decimal, else whole MiB or KiB.
pub fn size_text(bytes: u64) -> String {
    const KIB: f64 = 1024.0;
    const MIB: f64 = KIB * 1024.0;
    const GIB: f64 = MIB * 1024.0;
    let bytes = bytes as f64;
    if bytes >= GIB {
        format!("{:.1} GiB", bytes / GIB)
    } else if bytes >= MIB {
        format!("{:.0} MiB", bytes / MIB)
    } else {
        format!("{:.0} KiB", bytes / KIB)
    }
}

/// The heading of an install of `line` (pyspark `version`) into `dir`.
pub fn install_heading(line: &str, version: &str, dir: &Path) -> String {
    format!("installing Spark {line} (pyspark {version}) into {}", dir.display())
}

/// The line after an install that did work, and how long it took.
pub fn installed_text(line: &str, version: &str, elapsed: std::time::Duration) -> String {
    let secs = elapsed.as_secs();
    let took =
        if secs >= 60 { format!("{}m{:02}s", secs / 60, secs % 60) } else { format!("{:.1}s", elapsed.as_secs_f64()) };
    format!("installed Spark {line} (pyspark {version}) in {took}")
}

/// What `runtime install` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Installed {
    line: String,
    version: String,
    /// `installed` or `already installed`.
    status: &'static str,
    path: PathBuf,
    spark_home: PathBuf,
    python: PathBuf,
    installed_at: String,
}

impl Installed {
    /// `installed` in `home`; `fresh` when this install did the work.
    pub fn of(home: &Path, installed: Runtime, fresh: bool) -> Installed {
        Installed {
            path: runtime_dir(home, &installed.line),
            status: if fresh { "installed" } else { "already installed" },
            line: installed.line,
            version: installed.pyspark_version,
            spark_home: installed.spark_home,
            python: installed.python,
            installed_at: installed.installed_at,
        }
    }

    /// The line installed.
    pub fn line(&self) -> &str {
        &self.line
    }

    /// One line: which Spark is where.
    pub fn text(&self) -> String {
        format!("Spark {} (pyspark {}) is {} in {}\n", self.line, self.version, self.status, self.path.display())
    }
}

/// One row of `runtime list`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Row {
    line: String,
    version: Option<String>,
    /// `ok`, `broken`, or `available` (supported, not installed).
    status: &'static str,
    path: Option<PathBuf>,
    size_bytes: Option<u64>,
    problem: Option<String>,
}

impl From<RuntimeInfo> for Row {
    fn from(info: RuntimeInfo) -> Row {
        Row {
            line: info.line,
            version: info.version,
            status: match info.status {
                RuntimeStatus::Ok => "ok",
                RuntimeStatus::Broken => "broken",
            },
            path: Some(info.path),
            size_bytes: Some(info.size_bytes),
            problem: info.problem,
        }
    }
}

/// `runtime list`'s rows: the `installed` runtimes, then the supported lines not installed.
pub fn rows(installed: Vec<RuntimeInfo>) -> Vec<Row> {
    let available: Vec<Row> = PINNED
        .iter()
        .filter(|(line, _)| !installed.iter().any(|r| r.line == *line))
        .map(|(line, version)| Row {
            line: (*line).to_owned(),
            version: Some((*version).to_owned()),
            status: "available",
            path: None,
            size_bytes: None,
            problem: None,
        })
        .collect();
    installed.into_iter().map(Row::from).chain(available).collect()
}

/// The rows as a table.
pub fn table(rows: &[Row]) -> String {
    let mut table = Table::new(&["LINE", "VERSION", "STATUS", "SIZE", "PATH"]);
    for row in rows {
        table.row(vec![
            row.line.clone(),
            row.version.clone().unwrap_or_else(|| "-".to_owned()),
            row.status.to_owned(),
            row.size_bytes.map_or_else(|| "-".to_owned(), size_text),
            row.path.as_ref().map_or_else(|| "-".to_owned(), |p| p.display().to_string()),
        ]);
    }
    table.render()
}

/// What to do about each broken runtime among `rows`, a line each.
pub fn broken_notes(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|r| r.status == "broken")
        .map(|row| {
            let problem = row.problem.as_deref().unwrap_or("incomplete");
            format!(
                "Spark {} runtime is broken ({problem}): `sparkplane runtime install {}` repairs it",
                row.line, row.line
            )
        })
        .collect()
}

/// What `runtime remove` answers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Removed {
    line: String,
    removed: bool,
    version: Option<String>,
    path: Option<PathBuf>,
    freed_bytes: u64,
}

impl Removed {
    /// What removing `asked` (a line or version) did: `removed` is the
    /// runtime removed, None when it was not installed.
    pub fn of(asked: &str, removed: Option<RuntimeInfo>) -> Removed {
        match removed {
            Some(info) => Removed {
                line: info.line,
                removed: true,
                version: info.version,
                path: Some(info.path),
                freed_bytes: info.size_bytes,
            },
            None => Removed {
                line: line_of(asked).map_or_else(|_| asked.to_owned(), str::to_owned),
                removed: false,
                version: None,
                path: None,
                freed_bytes: 0,
            },
        }
    }

    /// One line: what was removed and freed, or that nothing was there.
    pub fn text(&self) -> String {
        if self.removed {
            let version = self.version.as_deref().map(|v| format!(" (pyspark {v})")).unwrap_or_default();
            format!("removed the Spark {} runtime{version}, freeing {}\n", self.line, size_text(self.freed_bytes))
        } else {
            format!("Spark {} is not installed; nothing to remove\n", self.line)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::*;

    fn info(line: &str, status: RuntimeStatus, problem: Option<&str>) -> RuntimeInfo {
        RuntimeInfo {
            line: line.into(),
            version: Some(format!("{line}.9")),
            path: PathBuf::from(format!("/home/r/{line}")),
            status,
            problem: problem.map(str::to_owned),
            size_bytes: 3 << 29,
        }
    }

    #[test]
    fn an_install_says_what_goes_where_and_how_long_it_took() {
        assert_eq!(
            install_heading("4.1", "4.1.4", Path::new("/r/4.1")),
            "installing Spark 4.1 (pyspark 4.1.4) into /r/4.1"
        );
        let took = |ms| installed_text("4.1", "4.1.4", std::time::Duration::from_millis(ms));
        assert_eq!(took(12_340), "installed Spark 4.1 (pyspark 4.1.4) in 12.3s");
        assert_eq!(took(187_000), "installed Spark 4.1 (pyspark 4.1.4) in 3m07s");
    }

    #[test]
    fn sizes_read_in_the_largest_unit_that_fits() {
        assert_eq!([size_text(512), size_text(5 << 20), size_text(3 << 29)], ["0 KiB", "5 MiB", "1.5 GiB"]);
    }

    #[test]
    fn the_list_is_the_installed_runtimes_then_every_other_pinned_line() {
        let rows = rows(vec![info("3.5", RuntimeStatus::Broken, Some("no marker"))]);
        let lines: Vec<(&str, &str)> = rows.iter().map(|r| (r.line.as_str(), r.status)).collect();
        assert_eq!(
            lines,
            [("3.5", "broken"), ("4.0", "available"), ("4.1", "available"), ("4.2", "available"), ("4.3", "available")]
        );
        let text = table(&rows);
        assert!(
            text.starts_with(
                "LINE  VERSION  STATUS     SIZE     PATH\n3.5   3.5.9    broken     1.5 GiB  /home/r/3.5\n"
            ),
            "{text}"
        );
        assert!(text.ends_with("4.3   4.3.0    available  -        -\n"), "{text}");
        assert_eq!(
            broken_notes(&rows),
            ["Spark 3.5 runtime is broken (no marker): `sparkplane runtime install 3.5` repairs it"]
        );
    }

    #[test]
    fn an_install_and_a_removal_say_what_they_did() {
        let runtime = Runtime {
            line: "4.1".into(),
            pyspark_version: "4.1.4".into(),
            python: PathBuf::from("/p"),
            spark_home: PathBuf::from("/s"),
            installed_at: "now".into(),
        };
        let installed = Installed::of(Path::new("/home"), runtime, false);
        assert_eq!(
            installed.text(),
            format!(
                "Spark 4.1 (pyspark 4.1.4) is already installed in {}\n",
                runtime_dir(Path::new("/home"), "4.1").display()
            )
        );
        assert_eq!(installed.line(), "4.1");
        assert_eq!(
            Removed::of("4.1", Some(info("4.1", RuntimeStatus::Ok, None))).text(),
            "removed the Spark 4.1 runtime (pyspark 4.1.9), freeing 1.5 GiB\n"
        );
        assert_eq!(Removed::of("4.1.2", None).text(), "Spark 4.1 is not installed; nothing to remove\n");
        assert_eq!(Removed::of("9.9", None).text(), "Spark 9.9 is not installed; nothing to remove\n");
    }
}
