//! The Spark lines sparkplane supports, in one table: for each line the
//! pyspark release a managed runtime installs, the oldest Python that release
//! accepts, the Java releases it runs on and the `pyspark-client` release that
//! speaks Spark Connect to it.
//!
//! Owns: [`LINES`], [`SparkLine`], [`line_of`], [`supported_lines`], the
//! Java support rules derived from a row ([`SparkLine::java_support`]) and
//! which line added a Spark property ([`added_after`]).
//! Adding a Spark line is one row here (plus its test data); validation,
//! `runtime install`, the Java check, Connect and `sparkplane version` read it.
//! Must not: touch the disk or the environment; everything here is a pure
//! function of the table.

/// One supported Spark line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SparkLine {
    /// The line, `major.minor` (`"3.5"`).
    pub line: &'static str,
    /// The pyspark release a managed runtime of this line installs (PyPI).
    pub pyspark: &'static str,
    /// The oldest Python that pyspark release accepts (its `Requires-Python`).
    pub min_python: (u32, u32),
    /// The Java feature releases the line supports officially.
    pub java: &'static [u32],
    /// The Java releases that run the line, officially or not: from the first
    /// to the second, or every newer release when the second is `None`.
    pub java_runs: (u32, Option<u32>),
    /// The Java release advised when an unofficial one is found.
    pub java_preferred: u32,
    /// The `pyspark-client` release (PyPI) that speaks Connect to this line's
    /// servers; `None` when the line has no Connect server (3.5). A line with
    /// no client release of its own yet names the newest earlier one: Spark
    /// Connect keeps older clients working against newer servers.
    pub connect_client: Option<&'static str>,
    /// Spark properties this line added (`key`, with `Some(value)` when only
    /// that value is new), which a job on an older line must not set: Spark
    /// ignores a property it does not know, so the job would run without
    /// what it asked for. Filled for the lines whose Kubernetes settings were
    /// compared with the line before (4.2 and 4.3: the `spark.kubernetes.*`
    /// names in each line's `spark-kubernetes` jar, `deploy/k8s/Config`).
    pub added_settings: &'static [(&'static str, Option<&'static str>)],
    /// Whether this line's spark-submit applies `<prefix>-policy`, a
    /// NetworkPolicy admitting into the application's executors only pods of
    /// the same application (from 4.2: the driver builder's
    /// `NetworkPolicyFeatureStep`, in every submission). The native route
    /// renders it and the submitter may apply it on these lines.
    pub executor_network_policy: bool,
    /// The `appProtocol` this line's spark-submit gives the driver Service's
    /// `spark-connect` port (`grpc` from 4.2), or `None`.
    pub connect_port_app_protocol: Option<&'static str>,
    /// Whether this line's spark-submit sets the driver Service's
    /// `publishNotReadyAddresses` (from 4.3: the value of
    /// `spark.kubernetes.driver.service.publishNotReadyAddresses`, `false`
    /// unless the job sets it).
    pub service_publish_not_ready_addresses: bool,
}

/// The supported lines, oldest first. The last row is the newest line.
///
/// Java: Spark 3.5 supports 8, 11 and 17; 4.0 and 4.1 support 17 and 21;
/// 4.2 and 4.3 add 25 ("Spark runs on Java 17/21/25", Spark's docs/index.md
/// from 4.2, SPARK-56815). Java 21 becomes the minimum only in Spark 5.0
/// (SPARK-60669). From Java 23 on, the Hadoop client of 3.5 and 4.0 stops on
/// `Subject.getSubject` ("getSubject is not supported"), so their ranges end
/// at 21 and 22.
pub const LINES: &[SparkLine] = &[
    SparkLine {
        line: "3.5",
        pyspark: "3.5.9",
        min_python: (3, 8),
        java: &[8, 11, 17],
        java_runs: (8, Some(21)),
        java_preferred: 17,
        connect_client: None,
        added_settings: &[],
        executor_network_policy: false,
        connect_port_app_protocol: None,
        service_publish_not_ready_addresses: false,
    },
    SparkLine {
        line: "4.0",
        pyspark: "4.0.5",
        min_python: (3, 9),
        java: &[17, 21],
        java_runs: (17, Some(22)),
        java_preferred: 21,
        connect_client: Some("4.0.4"),
        added_settings: &[],
        executor_network_policy: false,
        connect_port_app_protocol: None,
        service_publish_not_ready_addresses: false,
    },
    SparkLine {
        line: "4.1",
        pyspark: "4.1.4",
        min_python: (3, 10),
        java: &[17, 21],
        java_runs: (17, None),
        java_preferred: 21,
        connect_client: Some("4.1.3"),
        added_settings: &[],
        executor_network_policy: false,
        connect_port_app_protocol: None,
        service_publish_not_ready_addresses: false,
    },
    SparkLine {
        line: "4.2",
        pyspark: "4.2.1",
        min_python: (3, 10),
        java: &[17, 21, 25],
        java_runs: (17, None),
        java_preferred: 21,
        connect_client: Some("4.2.0"),
        // Executor allocation through a Deployment (SPARK-54173), executor and PVC resizing and
        // recovery-mode executors (SPARK-55555), the executors' pod-deletion cost.
        added_settings: &[
            ("spark.kubernetes.allocation.pods.allocator", Some("deployment")),
            ("spark.kubernetes.allocation.recoveryMode.enabled", None),
            ("spark.kubernetes.executor.podDeletionCost", None),
            ("spark.kubernetes.executor.resizeFactor", None),
            ("spark.kubernetes.executor.resizeInterval", None),
            ("spark.kubernetes.executor.resizeThreshold", None),
            ("spark.kubernetes.executor.pvc.resizeFactor", None),
            ("spark.kubernetes.executor.pvc.resizeInterval", None),
            ("spark.kubernetes.executor.pvc.resizeThreshold", None),
        ],
        executor_network_policy: true,
        connect_port_app_protocol: Some("grpc"),
        service_publish_not_ready_addresses: false,
    },
    SparkLine {
        line: "4.3",
        pyspark: "4.3.0",
        min_python: (3, 11),
        java: &[17, 21, 25],
        java_runs: (17, None),
        java_preferred: 21,
        // PyPI has no pyspark-client 4.3 (November 2026); 4.2's speaks to 4.3 servers.
        connect_client: Some("4.2.0"),
        added_settings: &[
            ("spark.kubernetes.securityContext.allowPrivilegeEscalation", None),
            ("spark.kubernetes.driver.securityContext.allowPrivilegeEscalation", None),
            ("spark.kubernetes.executor.securityContext.allowPrivilegeEscalation", None),
            ("spark.kubernetes.driver.service.publishNotReadyAddresses", None),
        ],
        executor_network_policy: true,
        connect_port_app_protocol: Some("grpc"),
        service_publish_not_ready_addresses: true,
    },
];

/// The Java release Debian's stable release (12) packages.
const DEBIAN_JAVA: u32 = 17;

/// How well a Spark line supports a Java feature release.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum JavaSupport {
    /// Officially supported.
    Supported,
    /// Not officially supported, but expected to run; the text says so.
    Unofficial(String),
    /// Will not run.
    Unsupported,
}

impl SparkLine {
    /// How well this line supports Java `major`.
    pub fn java_support(&self, major: u32) -> JavaSupport {
        let (first, last) = self.java_runs;
        if self.java.contains(&major) {
            JavaSupport::Supported
        } else if major >= first && last.is_none_or(|last| major <= last) {
            JavaSupport::Unofficial(format!(
                "Spark {} does not support Java {major} officially; if the job fails at start-up, use Java {}",
                self.line, self.java_preferred
            ))
        } else {
            JavaSupport::Unsupported
        }
    }

    /// The Java releases this line needs, in words: `8, 11 or 17`, or
    /// `17 or newer` when every newer release runs it.
    pub fn java_needs(&self) -> String {
        match self.java_runs {
            (first, None) => format!("{first} or newer"),
            _ => or_list(self.java.iter().map(u32::to_string).collect()),
        }
    }

    /// The Debian package to install for this line: Java 17 (what Debian 12
    /// ships) when the line supports it, else the line's preferred Java.
    pub fn java_package(&self) -> String {
        let release = if self.java.contains(&DEBIAN_JAVA) { DEBIAN_JAVA } else { self.java_preferred };
        format!("openjdk-{release}-jre-headless")
    }
}

fn or_list(mut items: Vec<String>) -> String {
    match items.pop() {
        None => String::new(),
        Some(last) if items.is_empty() => last,
        Some(last) => format!("{} or {last}", items.join(", ")),
    }
}

/// The supported lines, `3.5, 4.0, 4.1, 4.2, 4.3`.
pub fn supported_lines() -> String {
    LINES.iter().map(|l| l.line).collect::<Vec<_>>().join(", ")
}

/// The oldest and the newest supported line.
pub fn line_range() -> (&'static SparkLine, &'static SparkLine) {
    (&LINES[0], &LINES[LINES.len() - 1])
}

/// The supported versions as a semver range: `>=3.5.0, <4.4.0` (from the
/// oldest line's first release to the release after the newest line).
pub fn version_range() -> String {
    let (oldest, newest) = line_range();
    let (major, minor) = version_key(newest.line);
    format!(">={}.0, <{}.{}.0", oldest.line, major.unwrap_or(0), minor.map_or(0, |m| m + 1))
}

/// The row of a line exactly as written in the table (`"4.3"`).
pub fn row(line: &str) -> Option<&'static SparkLine> {
    LINES.iter().find(|l| l.line == line)
}

/// The newer line that added the Spark property `key` (or its `value`),
/// when `line` is older than it: a job on `line` cannot use it.
pub fn added_after(line: &SparkLine, key: &str, value: &str) -> Option<&'static SparkLine> {
    let at = LINES.iter().position(|l| l.line == line.line)?;
    LINES[at + 1..].iter().find(|newer| {
        newer.added_settings.iter().any(|(k, v)| *k == key && v.is_none_or(|v| v.eq_ignore_ascii_case(value.trim())))
    })
}

/// The supported line of a Spark version: `"3.5.7"`, `"3.5"` and `"3.5.0-rc1"`
/// give the 3.5 row; `None` for anything else (an unknown line or not a version).
pub fn line_of(spark_version: &str) -> Option<&'static SparkLine> {
    let text = spark_version.trim();
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major_len = digits(text);
    let rest = text[major_len..].strip_prefix('.')?;
    let minor_len = digits(rest);
    let tail = &rest[minor_len..];
    // After major.minor: nothing, a patch number, or a pre-release suffix.
    let tail_ok = tail.is_empty()
        || tail.starts_with('-')
        || tail.strip_prefix('.').is_some_and(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    if major_len == 0 || minor_len == 0 || !tail_ok {
        return None;
    }
    // Compare numerically, so "03.5" is the 3.5 line and "3.50" is not.
    let key = (text[..major_len].parse::<u64>().ok(), rest[..minor_len].parse::<u64>().ok());
    LINES.iter().find(|l| version_key(l.line) == key)
}

/// Whether spark-submit of `spark_version` applies the executors'
/// NetworkPolicy ([`SparkLine::executor_network_policy`]); `false` for no
/// version or one of no supported line.
pub fn applies_executor_network_policy(spark_version: Option<&str>) -> bool {
    spark_version.and_then(line_of).is_some_and(|line| line.executor_network_policy)
}

/// `(major, minor)` of a `major.minor` text, each `None` when not a number.
pub fn version_key(line: &str) -> (Option<u64>, Option<u64>) {
    let mut parts = line.split('.');
    (parts.next().and_then(|p| p.parse().ok()), parts.next().and_then(|p| p.parse().ok()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_setting_a_newer_line_added_names_that_line_for_an_older_job_only() {
        let line = |l: &str| row(l).expect("a row");
        let allocator = "spark.kubernetes.allocation.pods.allocator";
        // 4.2's Deployment allocator: only that value is new; the key and its older values are 4.1's too.
        assert_eq!(added_after(line("3.5"), allocator, "deployment").map(|l| l.line), Some("4.2"));
        assert_eq!(added_after(line("4.1"), allocator, " Deployment ").map(|l| l.line), Some("4.2"));
        assert_eq!(added_after(line("4.1"), allocator, "statefulset"), None);
        assert_eq!(added_after(line("4.2"), allocator, "deployment"), None, "4.2 has it");
        let resize = "spark.kubernetes.executor.pvc.resizeFactor";
        assert_eq!(added_after(line("4.0"), resize, "0.1").map(|l| l.line), Some("4.2"));
        assert_eq!(added_after(line("4.3"), resize, "0.1"), None);
        let escalation = "spark.kubernetes.executor.securityContext.allowPrivilegeEscalation";
        assert_eq!(added_after(line("4.2"), escalation, "false").map(|l| l.line), Some("4.3"));
        assert_eq!(added_after(line("3.5"), "spark.executor.memory", "4g"), None, "an old property is every line's");
    }

    #[test]
    fn the_table_lists_five_lines_oldest_first_each_pinned_in_its_line() {
        let lines: Vec<&str> = LINES.iter().map(|l| l.line).collect();
        assert_eq!(lines, ["3.5", "4.0", "4.1", "4.2", "4.3"]);
        assert_eq!(supported_lines(), "3.5, 4.0, 4.1, 4.2, 4.3");
        assert_eq!((line_range().0.line, line_range().1.line), ("3.5", "4.3"));
        assert_eq!(version_range(), ">=3.5.0, <4.4.0");
        for pair in LINES.windows(2) {
            assert!(version_key(pair[0].line) < version_key(pair[1].line), "{} before {}", pair[0].line, pair[1].line);
        }
        for l in LINES {
            assert!(l.pyspark.starts_with(&format!("{}.", l.line)), "{} pins {}", l.line, l.pyspark);
            if let Some(client) = l.connect_client {
                assert!(version_key(client) <= version_key(l.line), "{} client {client}", l.line);
            }
            assert!(l.java.contains(&l.java_preferred), "{}", l.line);
            assert_eq!(l.java_support(l.java_runs.0), JavaSupport::Supported, "{}", l.line);
        }
        assert_eq!(row("4.2").map(|l| l.pyspark), Some("4.2.1"));
        assert_eq!(row("4.3").map(|l| l.pyspark), Some("4.3.0"));
    }

    #[test]
    fn versions_map_to_their_line_and_unknown_ones_to_none() {
        for (version, line) in
            [("4.2.1", "4.2"), ("4.3.0", "4.3"), ("4.3", "4.3"), ("04.2", "4.2"), ("3.5.0-rc1", "3.5")]
        {
            assert_eq!(line_of(version).map(|l| l.line), Some(line), "{version}");
        }
        for version in ["4.9.0", "4.4.0", "5.0.0", "3.4.1", "4.30", "4", "", "v4.3"] {
            assert_eq!(line_of(version), None, "{version}");
        }
    }

    #[test]
    fn java_needs_and_support_come_from_the_row() {
        let needs = |line| row(line).map(|l| l.java_needs());
        assert_eq!(needs("3.5").as_deref(), Some("8, 11 or 17"));
        assert_eq!(needs("4.0").as_deref(), Some("17 or 21"));
        assert_eq!(needs("4.3").as_deref(), Some("17 or newer"));
        let support = |line, major| row(line).map(|l| l.java_support(major));
        assert_eq!(support("4.3", 25), Some(JavaSupport::Supported));
        assert_eq!(support("4.2", 17), Some(JavaSupport::Supported));
        assert_eq!(support("4.3", 11), Some(JavaSupport::Unsupported));
        assert_eq!(
            support("4.2", 26),
            Some(JavaSupport::Unofficial(
                "Spark 4.2 does not support Java 26 officially; if the job fails at start-up, use Java 21".to_owned()
            ))
        );
        assert_eq!(row("4.3").map(SparkLine::java_package).as_deref(), Some("openjdk-17-jre-headless"));
    }
}
