//! The log layout of every Spark JVM a rendered job starts (ADR 0041): the
//! log4j2 configuration that writes one JSON object a line, carrying the
//! application id, executor, SparkJob, team and attempt so Loki or
//! Elasticsearch can join logs to metrics and traces; and the reading of
//! such a line back as text (`sparkplane logs`).
//!
//! The layout is log4j's PatternLayout with JSON-encoded fields rather than
//! a JSON layout plugin: Spark 3.5 ships no JsonTemplateLayout and
//! log4j-core's JsonLayout is deprecated, while `%enc{…}{JSON}` works in the
//! log4j of every supported Spark line. What the pod cannot know before it
//! starts comes from the environment Spark sets in its pods:
//! `SPARK_APPLICATION_ID` (driver and executors on Kubernetes) and
//! `SPARK_EXECUTOR_ID` (executors only; the driver writes `driver`, Spark's
//! own executor id for it). What the render knows is written literally. The
//! SparkJob's field is `sparkjob`, the label every sparkplane series carries,
//! so a log line and a series join on the same name (and Loki's own `job`
//! stream label is left alone).

use std::borrow::Cow;
use std::fmt::Write as _;

use serde::Deserialize;

use crate::resolved::ResolvedJob;

/// The file name Spark's JVMs find on their classpath (the conf directory).
pub const LOG4J2_FILE: &str = "log4j2.properties";

/// The fields of every line, in the order they are written.
pub const FIELDS: [&str; 11] =
    ["time", "level", "logger", "thread", "message", "exception", "app", "executor", "sparkjob", "team", "attempt"];

/// Lines longer than this are printed as they are, never parsed.
pub const MAX_PARSED_LINE: usize = 1 << 20;

/// A value written literally into the pattern: JSON-escaped, then escaped
/// for log4j's pattern (`%`) and its lookups (`$`) and for the properties
/// file (`\`).
fn literal(value: &str) -> String {
    let json = serde_json::to_string(value).unwrap_or_else(|_| "\"\"".to_owned());
    json.replace('\\', "\\\\").replace('%', "%%").replace('$', "$$")
}

/// The log4j2 configuration of the job's driver and executors: a console
/// appender on standard error writing one JSON object a line (fields
/// [`FIELDS`]), root level `info`, Spark's noisiest loggers quieted.
pub fn log4j2_properties(job: &ResolvedJob) -> String {
    let team = job.job.spec.team.as_deref().unwrap_or_default();
    let mut pattern = String::from("{");
    pattern.push_str(r#""time":"%d{yyyy-MM-dd'T'HH:mm:ss.SSS'Z'}{UTC}","level":"%p","#);
    pattern.push_str(r#""logger":"%enc{%c}{JSON}","thread":"%enc{%t}{JSON}","message":"%enc{%m}{JSON}","#);
    pattern.push_str(r#""exception":"%enc{%throwable}{JSON}","#);
    pattern.push_str(r#""app":"${env:SPARK_APPLICATION_ID:-}","executor":"${env:SPARK_EXECUTOR_ID:-driver}","#);
    let _ = write!(
        pattern,
        r#""sparkjob":{},"team":{},"attempt":{}}}%n"#,
        literal(job.name()),
        literal(team),
        job.attempt.max(1)
    );
    let mut out = String::new();
    let _ =
        writeln!(out, "# sparkplane: one JSON object a line for SparkJob {} (docs/observability.md#logs).", job.name());
    for line in [
        "status = warn",
        "appender.json.type = Console",
        "appender.json.name = json",
        "appender.json.target = SYSTEM_ERR",
        "appender.json.layout.type = PatternLayout",
    ] {
        out.push_str(line);
        out.push('\n');
    }
    let _ = writeln!(out, "appender.json.layout.pattern = {pattern}");
    for line in [
        "rootLogger.level = info",
        "rootLogger.appenderRef.json.ref = json",
        "logger.jetty.name = org.sparkproject.jetty",
        "logger.jetty.level = warn",
        "logger.parquet.name = org.apache.parquet",
        "logger.parquet.level = error",
        "logger.hive.name = org.apache.hadoop.hive.metastore.RetryingHMSHandler",
        "logger.hive.level = fatal",
    ] {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The fields of a line the layout wrote.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    time: Cow<'a, str>,
    #[serde(borrow)]
    level: Cow<'a, str>,
    #[serde(borrow)]
    logger: Cow<'a, str>,
    #[serde(borrow)]
    message: Cow<'a, str>,
    #[serde(borrow, default)]
    exception: Cow<'a, str>,
    #[serde(borrow, default)]
    executor: Cow<'a, str>,
}

/// A line as a person reads it: a line the layout wrote becomes
/// `TIME LEVEL [executor N] logger: message` with the exception's lines
/// indented below (the driver's own lines carry no executor mark); any other
/// line (the JVM's own warnings, Python's output, a line longer than
/// [`MAX_PARSED_LINE`]) is returned as it is.
pub fn as_text(line: &str) -> Cow<'_, str> {
    let trimmed = line.trim_end_matches(['\n', '\r']);
    if trimmed.len() > MAX_PARSED_LINE || !trimmed.starts_with('{') {
        return Cow::Borrowed(line);
    }
    let Ok(parsed) = serde_json::from_str::<Line<'_>>(trimmed) else {
        return Cow::Borrowed(line);
    };
    let mut out = format!("{} {:<5} ", parsed.time, parsed.level);
    if !parsed.executor.is_empty() && parsed.executor != "driver" {
        let _ = write!(out, "[executor {}] ", parsed.executor);
    }
    let _ = write!(out, "{}: {}", parsed.logger, parsed.message);
    for exception_line in parsed.exception.lines().filter(|l| !l.trim().is_empty()) {
        let _ = write!(out, "\n    {}", exception_line.trim_start());
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::job::tests::{JOB, job};

    #[test]
    fn the_layout_names_the_job_team_and_attempt_and_takes_ids_from_the_pod() {
        let (mut resolved, _) = job(JOB);
        resolved.attempt = 3;
        let text = log4j2_properties(&resolved);
        let pattern = text.lines().find_map(|l| l.strip_prefix("appender.json.layout.pattern = ")).expect("a pattern");
        assert!(pattern.contains(r#""sparkjob":"etl""#), "{pattern}");
        assert!(pattern.contains(r#""attempt":3}%n"#), "{pattern}");
        assert!(pattern.contains(r#""app":"${env:SPARK_APPLICATION_ID:-}""#), "{pattern}");
        assert!(pattern.contains(r#""executor":"${env:SPARK_EXECUTOR_ID:-driver}""#), "{pattern}");
        for field in FIELDS {
            assert!(pattern.contains(&format!("\"{field}\":")), "{field} missing from {pattern}");
        }
        assert!(text.contains("rootLogger.appenderRef.json.ref = json\n"));
    }

    #[test]
    fn literal_values_cannot_break_out_of_the_pattern() {
        assert_eq!(literal("data-eng"), "\"data-eng\"");
        // A percent would start a conversion, a dollar a lookup, a backslash a properties escape.
        assert_eq!(literal("a%b$c\\d\"e"), "\"a%%b$$c\\\\\\\\d\\\\\"e\"");
    }

    #[test]
    fn a_layout_line_reads_back_as_text_and_other_lines_pass_through() {
        let line = r#"{"time":"2026-11-24T00:12:42.207Z","level":"WARN","logger":"org.apache.spark.scheduler.TaskSetManager","thread":"task-result-getter-0","message":"Lost task 0.0 in stage 1.0","exception":"java.lang.RuntimeException: boom\n\tat x.y(Z.java:1)\n","app":"spark-1","executor":"2","sparkjob":"etl","team":"data-eng","attempt":1}"#;
        assert_eq!(
            as_text(line),
            "2026-11-24T00:12:42.207Z WARN  [executor 2] org.apache.spark.scheduler.TaskSetManager: Lost task 0.0 in \
             stage 1.0\n    java.lang.RuntimeException: boom\n    at x.y(Z.java:1)"
        );
        let driver = r#"{"time":"t","level":"INFO","logger":"l","thread":"main","message":"m","exception":"","app":"a","executor":"driver","sparkjob":"j","team":"","attempt":1}"#;
        assert_eq!(as_text(driver), "t INFO  l: m");
        for other in
            ["WARNING: Using incubator modules: jdk.incubator.vector\n", "{not json", "{\"level\":\"INFO\"}", ""]
        {
            assert_eq!(as_text(other), other);
        }
        let long = format!("{{\"message\":\"{}\"}}", "x".repeat(MAX_PARSED_LINE));
        assert!(matches!(as_text(&long), Cow::Borrowed(_)));
    }
}
