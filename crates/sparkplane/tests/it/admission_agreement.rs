//! The API server and the CLI refuse the same SparkJobs: for a table of
//! jobs, each CEL rule of `sparkplane policy export admission` (evaluated as
//! the simulated cluster evaluates it) fails exactly when `sparkplane policy
//! check` reports the same policy for the job. The jobs state every field a
//! rule reads, so nothing is left for a preset to fill in (where the CLI sees
//! more than the API server, the CEL only ever lets more through).

use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::parse_single;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn sparkplane(args: &[&str]) -> (Option<i32>, String) {
    let out = sparkplane_testkit::sparkplane()
        .current_dir(repo())
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    (out.status.code(), String::from_utf8_lossy(&out.stdout).into_owned())
}

const BASE: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: data-eng-daily, namespace: data-eng}
spec:
  team: data-eng
  costCenter: cc-1042
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/daily.py
  image: {repository: registry.example.com/data-eng/daily, tag: \"1.4.0\"}
  executor: {cores: 4}
  timeouts: {maxDuration: 2h}
";

const DIGEST: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// (what, the job's text).
fn table() -> Vec<(&'static str, String)> {
    vec![
        ("a compliant job", BASE.to_owned()),
        ("no team", BASE.replace("  team: data-eng\n", "")),
        // (A blank one is not valid at all: validation refuses it, exit 2, before any policy.)
        ("no cost center", BASE.replace("  costCenter: cc-1042\n", "")),
        ("the latest tag", BASE.replace("tag: \"1.4.0\"", "tag: latest")),
        ("latest, but pinned", BASE.replace("tag: \"1.4.0\"", &format!("tag: latest, digest: \"{DIGEST}\""))),
        ("eight executor cores", BASE.replace("cores: 4", "cores: 8")),
        ("five executor cores", BASE.replace("cores: 4", "cores: 5")),
        ("prod without a digest", BASE.replace("  type: Python\n", "  type: Python\n  environment: prod\n")),
        (
            "prod with a digest",
            BASE.replace("  type: Python\n", "  type: Python\n  environment: prod\n")
                .replace("tag: \"1.4.0\"", &format!("tag: \"1.4.0\", digest: \"{DIGEST}\"")),
        ),
    ]
}

#[test]
fn each_admission_rule_fails_exactly_when_policy_check_reports_its_policy() {
    let (code, exported) = sparkplane(&["policy", "export", "admission", "-o", "json"]);
    assert_eq!(code, Some(0));
    let exported: Value = serde_json::from_str(&exported).expect("JSON");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut compared = 0;
    for (what, text) in table() {
        let path = dir.path().join("job.yaml");
        std::fs::write(&path, &text).expect("write");
        let object = parse_single(&Source::new("job.yaml", text.clone())).expect("parses").to_json();
        let prod = object["spec"]["environment"] == "prod";
        let mut args = vec!["policy", "check", path.to_str().expect("UTF-8 path"), "--format", "json"];
        if prod {
            args.extend(["--env", "prod"]);
        }
        let (_, report) = sparkplane(&args);
        let report: Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{what}: {e}: {report}"));
        let reported: Vec<&str> =
            report["violations"].as_array().into_iter().flatten().filter_map(|v| v["policy"].as_str()).collect();
        // The namespace-scoped prod policy is the chart's binding's to apply; the rules for every namespace are compared here.
        for policy in
            exported["items"].as_array().into_iter().flatten().filter(|p| p["metadata"]["name"] != "sparkplane-prod")
        {
            for validation in policy["spec"]["validations"].as_array().into_iter().flatten() {
                let expression = validation["expression"].as_str().expect("expression");
                let id = validation["message"].as_str().and_then(|m| m.split(':').next()).expect("an id");
                let complies = sparkplane_fakekube::evaluate_admission_expression(expression, &object)
                    .unwrap_or_else(|e| panic!("{what}: {expression}: {e}"));
                assert_eq!(
                    !complies,
                    reported.contains(&id),
                    "{what}: the API server says {id} {}, policy check reported {reported:?}",
                    if complies { "holds" } else { "fails" }
                );
                compared += 1;
            }
        }
    }
    assert_eq!(compared, table().len() * 4, "four rules for every namespace, on every job");
}

#[test]
fn the_prod_namespace_rule_asks_for_what_prod_asks_for() {
    let (_, exported) = sparkplane(&["policy", "export", "admission", "-o", "json"]);
    let exported: Value = serde_json::from_str(&exported).expect("JSON");
    let prod = exported["items"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|p| p["metadata"]["name"] == "sparkplane-prod")
        .expect("the prod policy");
    let expression = prod["spec"]["validations"][0]["expression"].as_str().expect("expression");
    let dir = tempfile::tempdir().expect("temp dir");
    for (text, digest) in [
        (BASE.to_owned(), false),
        (BASE.replace("tag: \"1.4.0\"", &format!("tag: \"1.4.0\", digest: \"{DIGEST}\"")), true),
    ] {
        let object = parse_single(&Source::new("job.yaml", text.clone())).expect("parses").to_json();
        let complies = sparkplane_fakekube::evaluate_admission_expression(expression, &object).expect("evaluates");
        let path = dir.path().join("job.yaml");
        std::fs::write(&path, &text).expect("write");
        let (_, report) =
            sparkplane(&["policy", "check", path.to_str().expect("path"), "--format", "json", "--env", "prod"]);
        let report: Value = serde_json::from_str(&report).expect("JSON");
        let flagged =
            report["violations"].as_array().into_iter().flatten().any(|v| v["policy"] == "image-digest-in-prod");
        assert_eq!((complies, flagged), (digest, !digest));
    }
}
