//! The log layout rendered jobs mount (render::logging, ADR 0041), run by
//! real Spark: `sparkplane render` writes the example job's driver
//! ConfigMap; its `log4j2.properties` becomes the conf directory of the
//! managed Spark 3.5 and 4.1 runtimes' own spark-submit, with the
//! `SPARK_APPLICATION_ID` the rendered driver pod sets. Every line log4j
//! writes must be one JSON object carrying the application id, executor,
//! job, team and attempt, a Java exception must stay on its line, and
//! each line must read back as text the way `sparkplane logs` shows it.
//!
//! No cluster runs here: that Spark copies its conf directory into the
//! driver's and executors' ConfigMaps is Spark's documented behaviour on
//! Kubernetes, not something this test sees.
//!
//! Needs the managed 3.5 and 4.1 runtimes and Java (scripts/test.sh installs them).

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sparkplane_core::render::logging::{FIELDS, as_text};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

/// The `log4j2.properties` of the rendered driver ConfigMap.
fn rendered_layout() -> String {
    let out = sparkplane_testkit::sparkplane_process()
        .args(["render", "examples/trips-etl/trips-etl.yaml", "--target", "native", "-o", "json"])
        .current_dir(repo())
        .env("NO_COLOR", "1")
        .output()
        .expect("sparkplane runs");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let list: Value = serde_json::from_slice(&out.stdout).expect("a JSON List");
    list["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find_map(|o| o["data"]["log4j2.properties"].as_str())
        .expect("a ConfigMap with log4j2.properties")
        .to_owned()
}

/// Runs a small PySpark script on a managed runtime with `conf` as its conf
/// directory; returns its standard error.
fn spark_stderr(line: &str, conf: &Path, work: &Path) -> String {
    let home = sparkplane_local::runtime::default_home().expect("a SPARKPLANE_HOME");
    let venv = sparkplane_local::runtime::runtimes_dir(&home).join(line).join("venv");
    let pyspark = std::fs::read_dir(venv.join("lib"))
        .expect("the runtime's lib")
        .filter_map(Result::ok)
        .map(|entry| entry.path().join("site-packages/pyspark"))
        .find(|p| p.is_dir())
        .unwrap_or_else(|| panic!("no Spark {line} runtime: run `sparkplane runtime install {line}`"));
    let script = work.join("probe.py");
    std::fs::write(
        &script,
        "from pyspark.sql import SparkSession\n\
         spark = SparkSession.builder.master('local[1]').appName('probe').getOrCreate()\n\
         print('rows', spark.range(5).count())\n\
         log = spark._jvm.org.apache.log4j.LogManager.getLogger('sparkplane.probe')\n\
         log.error('a \"quoted\" 100% message', spark._jvm.java.lang.RuntimeException('boom\\nsecond line'))\n\
         spark.stop()\n",
    )
    .expect("write the script");
    let path = format!("{}:{}", venv.join("bin").display(), std::env::var("PATH").unwrap_or_default());
    let out = Command::new(pyspark.join("bin/spark-submit"))
        .arg(&script)
        .env("PATH", path)
        .env("SPARK_HOME", &pyspark)
        .env("PYSPARK_PYTHON", venv.join("bin/python"))
        .env("SPARK_CONF_DIR", conf)
        .env("SPARK_APPLICATION_ID", "spark-0123456789abcdef")
        .env_remove("SPARK_EXECUTOR_ID")
        .current_dir(work)
        .output()
        .expect("spark-submit starts");
    assert!(out.status.success(), "Spark {line} failed: {}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("rows 5"));
    String::from_utf8(out.stderr).expect("UTF-8")
}

#[test]
fn real_spark_writes_one_json_object_a_line_with_the_jobs_identity() {
    let layout = rendered_layout();
    assert!(layout.starts_with("# sparkplane: one JSON object a line"), "{layout}");
    for line in ["3.5", "4.1"] {
        let work = tempfile::tempdir().expect("work dir");
        let conf = work.path().join("conf");
        std::fs::create_dir(&conf).expect("conf dir");
        std::fs::write(conf.join("log4j2.properties"), &layout).expect("write the layout");
        let stderr = spark_stderr(line, &conf, work.path());

        let mut objects = Vec::new();
        for text in stderr.lines() {
            match serde_json::from_str::<Value>(text) {
                Ok(object) => objects.push(object),
                // The JVM itself (not log4j) warns about incubator modules on Spark 4.
                Err(_) => {
                    assert!(text.starts_with("WARNING: Using incubator modules"), "Spark {line}: not JSON: {text}")
                }
            }
        }
        assert!(objects.len() >= 20, "Spark {line}: only {} log lines", objects.len());
        for object in &objects {
            for field in FIELDS {
                assert!(object.get(field).is_some(), "Spark {line}: no {field} in {object}");
            }
            assert_eq!(object["app"], "spark-0123456789abcdef", "Spark {line}: {object}");
            assert_eq!(object["executor"], "driver");
            assert_eq!(object["sparkjob"], "trips-etl");
            assert_eq!(object["team"], "data-eng");
            assert_eq!(object["attempt"], 1);
        }
        let probe = objects.iter().find(|o| o["logger"] == "sparkplane.probe").expect("the probe's line");
        assert_eq!(probe["level"], "ERROR");
        assert_eq!(probe["message"], "a \"quoted\" 100% message");
        let exception = probe["exception"].as_str().expect("an exception");
        assert!(exception.contains("java.lang.RuntimeException: boom\nsecond line\n\tat "), "{exception}");

        let text_line = stderr.lines().find(|l| l.contains("sparkplane.probe")).expect("the raw line");
        let shown = as_text(text_line);
        let mut shown_lines = shown.lines();
        let first = shown_lines.next().unwrap_or_default();
        assert!(first.ends_with(" ERROR sparkplane.probe: a \"quoted\" 100% message"), "{first}");
        assert_eq!(shown_lines.next(), Some("    java.lang.RuntimeException: boom"));
        assert_eq!(shown_lines.next(), Some("    second line"));
        assert!(shown_lines.next().is_some_and(|l| l.starts_with("    at ")), "{shown}");
    }
}
