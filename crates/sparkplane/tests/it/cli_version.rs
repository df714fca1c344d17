//! `sparkplane version`: the version, the commit and date built from, the
//! compiler, and the supported ranges — the Spark range as `validate`
//! enforces it and the Kubernetes range as the chart's kubeVersion states it.

use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_testkit::sparkplane;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

#[test]
fn version_prints_the_build_and_the_supported_ranges() {
    let out = sparkplane().args(["version", "-o", "json"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let info: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(info["version"], env!("CARGO_PKG_VERSION"));
    let commit = info["commit"].as_str().expect("commit");
    assert!(commit.len() == 40 && commit.chars().all(|c| c.is_ascii_hexdigit()), "{commit}");
    let date = info["buildDate"].as_str().expect("buildDate");
    assert!(date.parse::<jiff::Timestamp>().is_ok() && date.ends_with('Z'), "{date}");
    assert!(info["rustVersion"].as_str().is_some_and(|v| v.starts_with("rustc 1.")), "{info}");
    assert_eq!(info["spark"], ">=3.5.0, <4.4.0");
    assert_eq!(info["sparkLines"], serde_json::json!(["3.5", "4.0", "4.1", "4.2", "4.3"]));

    // The Kubernetes range is the chart's.
    let chart = std::fs::read_to_string(repo().join("charts/sparkplane/Chart.yaml")).expect("Chart.yaml");
    let kube_version = chart
        .lines()
        .find_map(|l| l.strip_prefix("kubeVersion:"))
        .map(|v| v.trim().trim_matches('"').to_owned())
        .expect("the chart states a kubeVersion");
    assert_eq!(info["kubernetes"], kube_version.as_str());

    let text = sparkplane().arg("version").output().expect("runs");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with(&format!("sparkplane {}\ncommit:      {commit}\n", env!("CARGO_PKG_VERSION"))), "{text}");
    assert!(text.contains("\nspark:       >=3.5.0, <4.4.0 (the lines 3.5, 4.0, 4.1, 4.2, 4.3)\n"), "{text}");
}

#[test]
fn validate_enforces_the_spark_range_version_states() {
    let job = repo().join("examples/trips-etl/trips-etl.yaml");
    for (spark, code) in
        [("3.4.4", 2), ("3.5.0", 0), ("4.1.0", 0), ("4.2.1", 0), ("4.3.0", 0), ("4.4.0", 2), ("4.9.0", 2), ("5.0.0", 2)]
    {
        let out = sparkplane()
            .arg("validate")
            .arg(&job)
            .args(["--set", &format!("spec.sparkVersion={spark}")])
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(code), "Spark {spark}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

#[test]
fn an_unknown_line_is_refused_at_its_field_naming_the_supported_lines() {
    let job = repo().join("examples/trips-etl/trips-etl.yaml");
    let out = sparkplane().arg("validate").arg(&job).args(["--set", "spec.sparkVersion=4.9.0"]).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(all.contains("spec.sparkVersion"), "{all}");
    assert!(
        all.contains("Spark `4.9.0` is not supported: sparkplane supports the lines 3.5, 4.0, 4.1, 4.2, 4.3"),
        "{all}"
    );
    assert!(all.contains("use a release of one of them, e.g. \"3.5.9\" or \"4.3.0\""), "{all}");
}

/// A property a newer line added is refused on an older line's job, at its
/// field, naming the line that has it (Spark itself would ignore it silently);
/// the same job on that line is valid.
#[test]
fn a_setting_of_a_newer_line_on_an_older_lines_job_is_refused_at_its_field_naming_the_line() {
    let job = repo().join("examples/trips-etl/trips-etl.yaml");
    let deployment = "spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\"=deployment";
    let validate = |version: &str, set: &str| {
        sparkplane()
            .arg("validate")
            .arg(&job)
            .args(["--set", &format!("spec.sparkVersion={version}"), "--set", set])
            .output()
            .expect("runs")
    };
    let out = validate("3.5.7", deployment);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(
        all.contains(
            "error: spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\": \
             `spark.kubernetes.allocation.pods.allocator: deployment` is a Spark 4.2 setting; \
             Spark 3.5 (spec.sparkVersion) does not have it and would ignore it"
        ),
        "{all}"
    );
    assert!(all.contains("help: set spec.sparkVersion to \"4.2.1\" or newer"), "{all}");
    // 4.3's privilege-escalation switch on a 4.2 job names 4.3.
    let escalation = "spec.sparkConf.\"spark.kubernetes.executor.securityContext.allowPrivilegeEscalation\"=\"false\"";
    let out = validate("4.2.1", escalation);
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("is a Spark 4.3 setting; Spark 4.2 (spec.sparkVersion)"), "{all}");
    // On the line that has them, and for a value an older line has too, nothing is refused.
    for (version, set) in [
        ("4.2.1", deployment),
        ("4.3.0", escalation),
        ("3.5.7", "spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\"=direct"),
    ] {
        let out = validate(version, set);
        assert_eq!(out.status.code(), Some(0), "{version} {set}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Spark compares the allocator's name exactly and reads anything else as a
/// class name: a name in other letters is refused at its field, on every line,
/// with the spelling Spark knows (the driver would fail at start otherwise).
#[test]
fn an_allocator_named_in_other_letters_is_refused_with_the_name_spark_knows() {
    let job = repo().join("examples/trips-etl/trips-etl.yaml");
    for (version, value, named) in [
        ("4.2.1", "Deployment", "deployment"),
        ("4.3.0", "DEPLOYMENT", "deployment"),
        ("3.5.7", "StatefulSet", "statefulset"),
    ] {
        let out = sparkplane()
            .arg("validate")
            .arg(&job)
            .args(["--set", &format!("spec.sparkVersion={version}")])
            .args(["--set", &format!("spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\"={value}")])
            .output()
            .expect("runs");
        let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code(), Some(2), "{version} {value}: {all}");
        assert!(
            all.contains(&format!(
                "error: spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\": `{value}` is not an allocator \
                 Spark knows: it compares the name exactly and would load `{value}` as a class"
            )),
            "{all}"
        );
        assert!(all.contains(&format!("help: write `{named}`")), "{all}");
    }
}

/// Spark 4.2's resize settings are checked as Spark checks them when the
/// driver reads them: a ratio outside its range and a PVC interval that is
/// not a multiple of 5 minutes are refused at their field; good values pass.
#[test]
fn spark_4_2_resize_settings_out_of_spark_s_range_are_refused_at_their_field() {
    let job = repo().join("examples/trips-etl/trips-etl.yaml");
    let validate = |sets: &[(&str, &str)]| {
        let mut command = sparkplane();
        command.arg("validate").arg(&job).args(["--set", "spec.sparkVersion=4.2.1"]);
        for (key, value) in sets {
            // Quoted: sparkConf values are strings, and `1` or `0.8` would be numbers.
            command.args(["--set", &format!("spec.sparkConf.\"{key}\"=\"{value}\"")]);
        }
        let out = command.output().expect("runs");
        (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    for (key, value, wrong) in [
        ("spark.kubernetes.executor.resizeThreshold", "1", "is not a number in (0, 1)"),
        ("spark.kubernetes.executor.pvc.resizeThreshold", "0", "is not a number in (0, 1)"),
        ("spark.kubernetes.executor.resizeFactor", "1.5", "is not a number in (0, 1]"),
        ("spark.kubernetes.executor.pvc.resizeFactor", "half", "is not a number in (0, 1]"),
        ("spark.kubernetes.executor.pvc.resizeInterval", "120s", "is not 0 or a multiple of 5 minutes"),
        ("spark.kubernetes.executor.pvc.resizeInterval", "7", "is not 0 or a multiple of 5 minutes"),
        ("spark.kubernetes.executor.pvc.resizeInterval", "5 weeks", "is not 0 or a multiple of 5 minutes"),
    ] {
        let (code, all) = validate(&[(key, value)]);
        assert_eq!(code, Some(2), "{key}={value}: {all}");
        assert!(all.contains(&format!("error: spec.sparkConf.\"{key}\": `{value}` {wrong}")), "{key}={value}: {all}");
    }
    let good = [
        ("spark.kubernetes.executor.resizeThreshold", "0.8"),
        ("spark.kubernetes.executor.pvc.resizeThreshold", "0.9"),
        ("spark.kubernetes.executor.resizeFactor", "1"),
        ("spark.kubernetes.executor.pvc.resizeFactor", "0.5"),
        ("spark.kubernetes.executor.pvc.resizeInterval", "10min"),
    ];
    let (code, all) = validate(&good);
    assert_eq!(code, Some(0), "{all}");
    for interval in ["0", "15", "1h", "600s"] {
        let (code, all) = validate(&[("spark.kubernetes.executor.pvc.resizeInterval", interval)]);
        assert_eq!(code, Some(0), "{interval}: {all}");
    }
}

/// A job on Spark 4.2's Deployment allocator that brings its own driver
/// account (a tenant's shared `spark-driver`, say) is warned that the account
/// needs the Deployment grant sparkplane renders only for its own Role.
#[test]
fn the_deployment_allocator_with_an_own_driver_account_warns_what_the_account_needs() {
    let job = repo().join("examples/trips-etl/trips-etl.yaml");
    let out = sparkplane()
        .arg("validate")
        .arg(&job)
        .args(["--set", "spec.sparkVersion=4.2.1"])
        .args(["--set", "spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\"=deployment"])
        .args(["--set", "spec.serviceAccount=spark-driver"])
        .output()
        .expect("runs");
    let all = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "a warning: {all}");
    assert!(
        all.contains(
            "warning: spec.sparkConf.\"spark.kubernetes.allocation.pods.allocator\": the driver runs as `spark-driver`"
        ),
        "{all}"
    );
    assert!(all.contains("help: grant `spark-driver` `apps` deployments (create, delete, get)"), "{all}");
}
