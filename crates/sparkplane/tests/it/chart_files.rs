//! The platform chart (charts/sparkplane) carries what the binary
//! generates — the SparkJob CRD, the admission policies, the alert rules,
//! the dashboards and the Gatekeeper export — byte for byte, and its README's
//! values table is generated from values.schema.json. These tests fail when
//! either drifts; `SPARKPLANE_UPDATE_CHART=1 cargo nextest run -p sparkplane
//! -E 'test(/^chart_files::/)'` rewrites the files (then review the diff).
//!
//! Installing the chart with Helm into the simulated cluster is
//! `chart_install.rs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde_json::Value;
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::parse_documents;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn chart() -> PathBuf {
    repo().join("charts/sparkplane")
}

fn updating() -> bool {
    std::env::var("SPARKPLANE_UPDATE_CHART").is_ok_and(|v| v == "1")
}

/// What `sparkplane ARGS` prints, run from the repository root.
fn generate(args: &[&str]) -> String {
    let out = sparkplane_testkit::sparkplane()
        .current_dir(repo())
        .env_remove("SPARKPLANE_PLATFORM_DIR")
        .env("NO_COLOR", "1")
        .args(args)
        .output()
        .expect("runs");
    assert!(out.status.success(), "sparkplane {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

/// The chart's generated files, from the binary: path under the chart → text.
fn expected() -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    files.insert("files/generated/crd.yaml".to_owned(), generate(&["crd"]));
    files.insert("files/generated/admission.yaml".to_owned(), generate(&["policy", "export", "admission"]));
    files.insert("files/generated/prometheus-rules.yaml".to_owned(), generate(&["observe", "rules"]));
    files.insert(
        "files/generated/gatekeeper.yaml".to_owned(),
        generate(&["policy", "export", "gatekeeper", "--policy-dir", "policies"]),
    );
    let bundle = generate(&["observe", "dashboards", "--bundle"]);
    let documents = parse_documents(&Source::new("bundle", bundle)).expect("the bundle parses");
    for object in documents.iter().map(|d| d.to_json()).filter(|o| o["kind"] == "ConfigMap") {
        for (key, text) in object["data"].as_object().into_iter().flatten() {
            files.insert(format!("files/generated/dashboards/{key}"), text.as_str().unwrap_or_default().to_owned());
        }
    }
    files
}

#[test]
fn the_charts_generated_files_are_what_the_binary_prints() {
    let expected = expected();
    assert!(expected.keys().filter(|k| k.contains("/dashboards/")).count() >= 4, "four dashboards at least");
    let dashboards = chart().join("files/generated/dashboards");
    if updating() {
        for (path, text) in &expected {
            let path = chart().join(path);
            std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        for entry in std::fs::read_dir(&dashboards).expect("dashboards dir").flatten() {
            let key = format!("files/generated/dashboards/{}", entry.file_name().to_string_lossy());
            if !expected.contains_key(&key) {
                std::fs::remove_file(entry.path()).expect("remove a stale dashboard");
            }
        }
    }
    let mut drift = Vec::new();
    for (path, text) in &expected {
        match std::fs::read_to_string(chart().join(path)) {
            Ok(found) if &found == text => {}
            Ok(_) => drift.push(format!("{path} differs")),
            Err(e) => drift.push(format!("{path}: {e}")),
        }
    }
    for entry in std::fs::read_dir(&dashboards).expect("dashboards dir").flatten() {
        let key = format!("files/generated/dashboards/{}", entry.file_name().to_string_lossy());
        if !expected.contains_key(&key) {
            drift.push(format!("{key} is not generated any more"));
        }
    }
    assert!(
        drift.is_empty(),
        "the chart's copies are not what sparkplane generates: {drift:#?}\nrun `SPARKPLANE_UPDATE_CHART=1 cargo nextest run -p sparkplane -E 'test(/^chart_files::/)'` and review the diff"
    );
}

/// One row per leaf value: `key`, type, default, description.
fn rows(schema: &Value, defaults: &Value, prefix: &str, out: &mut Vec<[String; 4]>) {
    let Some(properties) = schema["properties"].as_object() else { return };
    for (key, property) in properties {
        if key == "global" {
            continue;
        }
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        let default = &defaults[key];
        let nested = property["properties"].is_object() && property["additionalProperties"] == Value::Bool(false);
        if nested {
            rows(property, default, &path, out);
            continue;
        }
        let kind = match &property["type"] {
            Value::Array(types) => types.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" or "),
            Value::String(t) => t.clone(),
            _ => "any".to_owned(),
        };
        let kind = match property["enum"].as_array() {
            Some(values) => {
                values.iter().map(|v| format!("`{}`", v.as_str().unwrap_or_default())).collect::<Vec<_>>().join(", ")
            }
            None => kind,
        };
        let shown = match default {
            Value::Null => "—".to_owned(),
            Value::String(s) if s.is_empty() => "`\"\"`".to_owned(),
            other => format!("`{}`", serde_json::to_string(other).unwrap_or_default()),
        };
        let description = property["description"].as_str().unwrap_or_default().replace('|', "\\|");
        out.push([format!("`{path}`"), kind, shown, description]);
    }
}

fn values_table() -> String {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json")).expect("values.schema.json"))
            .expect("the schema is JSON");
    let values = std::fs::read_to_string(chart().join("values.yaml")).expect("values.yaml");
    let defaults = parse_documents(&Source::new("values.yaml", values)).expect("values.yaml parses");
    let defaults = defaults.first().map(|d| d.to_json()).unwrap_or(Value::Null);
    let mut table = vec![];
    rows(&schema, &defaults, "", &mut table);
    let mut text = String::from("| Key | Type | Default | Description |\n|---|---|---|---|\n");
    for [key, kind, default, description] in table {
        text.push_str(&format!("| {key} | {kind} | {default} | {description} |\n"));
    }
    text
}

const BEGIN: &str = "<!-- values:begin (generated from values.schema.json and values.yaml by crates/sparkplane/tests/it/chart_files.rs) -->\n";
const END: &str = "<!-- values:end -->";

#[test]
fn the_readmes_values_table_is_generated_from_the_schema() {
    let readme_path = chart().join("README.md");
    let readme = std::fs::read_to_string(&readme_path).expect("the chart's README");
    let (Some(start), Some(end)) = (readme.find(BEGIN), readme.find(END)) else {
        panic!("README.md has no values:begin/values:end markers");
    };
    let table = values_table();
    let current = &readme[start + BEGIN.len()..end];
    if updating() && current != table {
        let updated = format!("{}{BEGIN}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(&readme_path, updated).expect("write README");
        return;
    }
    assert_eq!(
        current, table,
        "run SPARKPLANE_UPDATE_CHART=1 cargo nextest run -p sparkplane -E 'test(/^chart_files::/)'"
    );
    assert!(table.contains("| `operator.watchNamespaces` | array |"), "{table}");
}

#[test]
fn every_value_in_values_yaml_is_in_the_schema_and_every_key_is_described() {
    let schema: Value =
        serde_json::from_str(&std::fs::read_to_string(chart().join("values.schema.json")).expect("values.schema.json"))
            .expect("JSON");
    let values = std::fs::read_to_string(chart().join("values.yaml")).expect("values.yaml");
    let values = parse_documents(&Source::new("values.yaml", values)).expect("parses")[0].to_json();
    fn walk(schema: &Value, values: &Value, at: &str, problems: &mut Vec<String>) {
        let properties = schema["properties"].as_object().cloned().unwrap_or_default();
        for (key, value) in values.as_object().into_iter().flatten() {
            match properties.get(key) {
                None => problems.push(format!("{at}{key} is in values.yaml but not in the schema")),
                Some(p) if p["additionalProperties"] == Value::Bool(false) => {
                    walk(p, value, &format!("{at}{key}."), problems);
                }
                Some(_) => {}
            }
        }
        for (key, property) in &properties {
            if property["description"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{at}{key} has no description"));
            }
        }
    }
    let mut problems = Vec::new();
    walk(&schema, &values, "", &mut problems);
    assert!(problems.is_empty(), "{problems:#?}");
}
