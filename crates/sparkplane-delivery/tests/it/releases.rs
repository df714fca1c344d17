//! Releases end to end in the library: made from the example job, stored,
//! read back, as a ConfigMap; and checked by tools no one here wrote: the SBOM against the
//! official CycloneDX 1.6 JSON schema (shipped by PyPI cyclonedx-python-lib,
//! validated with PyPI jsonschema), and signatures both ways with PyPI
//! cryptography (OpenSSL's ECDSA). The tools live in the venv
//! `need_release_tools` (scripts/common.sh) installs; a missing one fails the
//! test with that hint.

use std::path::{Path, PathBuf};
use std::process::Command;

use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::resolve::ResolveRequest;
use sparkplane_core::resolved::ResolvedJob;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_delivery::release::{Release, ReleaseInput, make};
use sparkplane_delivery::release_record::{CiResult, RECORD_FILE, SBOM_FILE};
use sparkplane_delivery::release_verify::{Verdict, verify};
use sparkplane_delivery::sbom::parse_requirements;
use sparkplane_delivery::sign::{PrivateKey, PublicKey};
use sparkplane_delivery::store::{DirStore, PutOutcome, ReleaseStore, StoreError, from_config_map, to_config_map};
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;

fn python() -> PathBuf {
    let path = std::env::var_os("SPARKPLANE_RELEASE_TOOLS_PYTHON").map(PathBuf::from).unwrap_or_else(|| {
        let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
        home.join(".cache/sparkplane/tools/release/bin/python")
    });
    assert!(
        path.is_file(),
        "{} is missing: run `bash scripts/test.sh` (need_release_tools installs cyclonedx-python-lib, jsonschema and cryptography there)",
        path.display()
    );
    path
}

/// Runs the interop script; (exit code, stdout, stderr).
fn interop(args: &[&str]) -> (i32, String, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/release_interop.py");
    let out = Command::new(python()).arg(script).args(args).output().expect("python runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The example job, as prod, with dependencies of every kind the SBOM lists.
fn resolved_job() -> ResolvedJob {
    let text = r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: trips-etl, namespace: data-eng}
spec:
  team: data-eng
  costCenter: cc-1042
  preset: etl-small
  type: Python
  mainApplicationFile: local:///opt/app/trips_etl.py
  image:
    repository: registry.example.com/data-eng/trips-etl
    tag: "1.4.2"
    digest: sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b
  deps:
    jars: ["s3a://lake/jars/udfs-1.0.jar"]
    pyFiles: ["local:///opt/app/helpers.zip", "local:///opt/app/geo.py"]
    files: ["local:///opt/app/zones.csv"]
    archives: ["s3a://lake/envs/pyenv.tar.gz#environment"]
    packages: ["org.apache.hadoop:hadoop-aws:3.3.4", "io.delta:delta-spark_2.12:3.2.0"]
"#;
    let job = parse_single(&Source::new("trips-etl.yaml", text)).expect("yaml");
    let catalog = Catalog::builtin().expect("catalog");
    let request = ResolveRequest {
        job: &job,
        job_environment: None,
        catalog: &catalog,
        environment: Some("prod"),
        sets: &[],
        target: ValidationTarget::Cluster,
    };
    load(request).expect("the job loads")
}

fn release(key: Option<&PrivateKey>) -> Release {
    let resolved = resolved_job();
    let requirements = parse_requirements("pandas==2.2.3\npyarrow>=15\nrequests[socks]==2.32.3\n").expect("reqs");
    let ci = CiResult { outcome: "pass".into(), report_digest: format!("sha256:{}", "c".repeat(64)) };
    make(&ReleaseInput {
        resolved: &resolved,
        environment: "prod",
        job_file: "examples/trips-etl/trips-etl.yaml",
        commit: "0123456789abcdef0123456789abcdef01234567",
        ci: Some(&ci),
        requirements: &requirements,
        released_by: "alice",
        released_at: "2026-11-23T15:00:00Z",
        key,
        tool_version: "0.1.0",
    })
}

#[test]
fn the_sbom_is_valid_cyclonedx_1_6_by_the_official_schema() {
    let dir = tempfile::tempdir().expect("tmp");
    let made = release(None);
    let path = dir.path().join("sbom.cdx.json");
    std::fs::write(&path, &made.files.sbom).expect("write");
    let (code, _, err) = interop(&["validate-sbom", &path.display().to_string()]);
    assert_eq!(code, 0, "schema errors:\n{err}");
    let sbom: serde_json::Value = serde_json::from_str(&made.files.sbom).expect("json");
    let purls: Vec<&str> =
        sbom["components"].as_array().expect("list").iter().filter_map(|c| c["purl"].as_str()).collect();
    for want in [
        "pkg:maven/org.apache.spark/spark-core_2.12@3.5.7",
        "pkg:maven/org.apache.hadoop/hadoop-aws@3.3.4",
        "pkg:maven/io.delta/delta-spark_2.12@3.2.0",
        "pkg:pypi/pandas@2.2.3",
        "pkg:pypi/pyarrow",
        "pkg:pypi/requests@2.32.3",
    ] {
        assert!(purls.contains(&want), "{want} missing from {purls:?}");
    }
    // The validator does reject what the schema forbids: a control.
    let mut broken = sbom.clone();
    broken["components"][0]["type"] = serde_json::json!("spark-job");
    std::fs::write(&path, broken.to_string()).expect("write");
    let (code, _, err) = interop(&["validate-sbom", &path.display().to_string()]);
    assert_eq!(code, 1);
    assert!(err.contains("components/0/type: 'spark-job' is not one of"), "{err}");
}

#[test]
fn the_same_release_gives_the_same_bytes() {
    let key = PrivateKey::generate();
    let (a, b) = (release(Some(&key)), release(Some(&key)));
    assert_eq!(a.files, b.files);
    assert!(a.record.id.starts_with("trips-etl-prod-"));
}

#[test]
fn python_cryptography_verifies_sparkplane_signatures() {
    let dir = tempfile::tempdir().expect("tmp");
    let key = PrivateKey::generate();
    let store = DirStore::new(dir.path());
    let made = release(Some(&key));
    store.put(&made.files, &made.record).expect("stored");
    let release_dir = store.dir_of(&made.record.id);
    let public = dir.path().join("release.pub");
    std::fs::write(&public, key.public().to_pem()).expect("pub");
    let path = |name: &str| release_dir.join(name).display().to_string();
    let public = public.display().to_string();
    assert_eq!(interop(&["verify", &public, &path(RECORD_FILE), &path("release.sig")]).0, 0);
    assert_eq!(interop(&["verify", &public, &path(SBOM_FILE), &path("sbom.sig")]).0, 0);
    // The other file's signature does not verify: the check can fail.
    let (code, _, err) = interop(&["verify", &public, &path(RECORD_FILE), &path("sbom.sig")]);
    assert_eq!((code, err.trim()), (1, "signature does not verify"));
}

#[test]
fn sparkplane_reads_python_keys_and_verifies_python_signatures() {
    let dir = tempfile::tempdir().expect("tmp");
    let d = dir.path().display().to_string();
    assert_eq!(interop(&["keygen", &d]).0, 0);
    let private =
        PrivateKey::from_pem(&std::fs::read_to_string(dir.path().join("key.pem")).expect("key")).expect("pkcs8");
    let public = PublicKey::from_pem(&std::fs::read_to_string(dir.path().join("pub.pem")).expect("pub")).expect("spki");
    assert_eq!(private.public(), public);

    // A release whose signature files Python made verifies with sparkplane.
    let made = release(Some(&private));
    let store = DirStore::new(dir.path().join("releases"));
    let mut files = made.files.clone();
    let key_pem = dir.path().join("key.pem").display().to_string();
    for (text, name) in [(&made.files.record, "record"), (&made.files.sbom, "sbom")] {
        let file = dir.path().join(name);
        std::fs::write(&file, text).expect("write");
        let (code, signature, err) = interop(&["sign", &key_pem, &file.display().to_string()]);
        assert_eq!(code, 0, "{err}");
        assert_ne!(format!("{}\n", signature.trim()), private.sign(text.as_bytes()), "Python's nonces are random");
        if name == "record" {
            files.record_signature = signature;
        } else {
            files.sbom_signature = signature;
        }
    }
    store.put(&files, &made.record).expect("stored");
    let stored = store.get(&made.record.id).expect("read").expect("there");
    assert!(matches!(verify(&stored, &public), Verdict::Valid(_)));
    let mut tampered = stored.clone();
    tampered.sbom.push(' ');
    match verify(&tampered, &public) {
        Verdict::Invalid(_, problems) => {
            let fields: Vec<&str> = problems.iter().map(|p| p.field.as_str()).collect();
            assert_eq!(fields, vec!["sbom.digest", "sbom.sig"]);
        }
        other => panic!("tampered SBOM passed: {other:?}"),
    }
}

#[test]
fn the_store_never_overwrites_a_record() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = DirStore::new(dir.path().join("releases"));
    let key = PrivateKey::generate();
    let first = release(Some(&key));
    assert_eq!(store.put(&first.files, &first.record).expect("put"), PutOutcome::Created);
    // The same release again, later and by someone else: a no-op that keeps the first.
    let mut again = first.clone();
    again.record.released_by = "bob".into();
    again.record.released_at = "2026-11-24T09:00:00Z".into();
    again.record.sbom.digest = format!("sha256:{}", "e".repeat(64)); // stamped a second later
    again.files.record = again.record.to_json();
    assert_eq!(store.put(&again.files, &again.record).expect("put"), PutOutcome::Unchanged);
    assert_eq!(store.get(&first.record.id).expect("get"), Some(first.files.clone()));
    // Another commit under the same id: refused, and the stored files are untouched.
    let mut other = first.clone();
    other.record.source.commit = "fedcba9876543210fedcba9876543210fedcba98".into();
    other.files.record = other.record.to_json();
    let err = store.put(&other.files, &other.record).expect_err("conflict");
    assert!(matches!(err, StoreError::Conflict { .. }));
    assert_eq!(
        err.to_string(),
        format!(
            "release {} already exists with different content (released by alice at 2026-11-23T15:00:00Z); records \
             are never overwritten: use the existing release, or change the spec to make a new one",
            first.record.id
        )
    );
    assert_eq!(store.get(&first.record.id).expect("get"), Some(first.files.clone()));
    let listed = store.list("trips-etl", Some("prod")).expect("list");
    assert_eq!(listed, vec![first.record.clone()]);
    assert!(store.list("trips-etl", Some("dev")).expect("list").is_empty());
    assert!(store.list("other-job", None).expect("list").is_empty());
    let leftovers: Vec<_> =
        std::fs::read_dir(dir.path().join("releases")).expect("dir").flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 1, "no temporary directories stay: {leftovers:?}");
}

#[test]
fn a_release_as_a_config_map_is_labelled_immutable_and_reads_back() {
    let made = release(Some(&PrivateKey::generate()));
    let cm = to_config_map(&made.files, &made.record, "data-eng-prod");
    let labels = cm.metadata.labels.clone().unwrap_or_default();
    assert_eq!(cm.metadata.name.as_deref(), Some(format!("release-{}", made.record.id).as_str()));
    assert_eq!(labels.get("sparkplane.dev/job").map(String::as_str), Some("trips-etl"));
    assert_eq!(labels.get("sparkplane.dev/environment").map(String::as_str), Some("prod"));
    assert_eq!(cm.immutable, Some(true));
    let keys: Vec<&String> = cm.data.as_ref().map(|d| d.keys().collect()).unwrap_or_default();
    assert_eq!(keys, ["release.json", "release.sig", "sbom.cdx.json", "sbom.sig"]);
    assert_eq!(from_config_map(&cm), Some(made.files.clone()));
    let json = serde_json::to_value(&cm).expect("json");
    assert!(json.to_string().len() < 1024 * 1024, "fits a ConfigMap's 1 MiB");
}

/// Sends one request to the fake API server; (status, JSON body).
fn call(url: &str, method: &str, body: Option<&str>) -> (u16, serde_json::Value) {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .timeout_global(Some(std::time::Duration::from_secs(20)))
        .build()
        .new_agent();
    let result = match (method, body) {
        ("POST", Some(b)) => agent.post(url).header("Content-Type", "application/json").send(b),
        _ => agent.get(url).call(),
    };
    let mut response = result.unwrap_or_else(|e| panic!("{method} {url}: {e}"));
    let code = response.status().as_u16();
    let text = response.body_mut().read_to_string().unwrap_or_default();
    (code, serde_json::from_str(&text).unwrap_or(serde_json::Value::Null))
}

#[test]
fn release_config_maps_are_created_once_and_listed_by_label_on_the_fake_api_server() {
    let server = sparkplane_fakekube::FakeApiServer::start().expect("starts");
    let key = PrivateKey::generate();
    let made = release(Some(&key));
    let path = format!("{}/api/v1/namespaces/data-eng-prod/configmaps", server.url());
    let body = serde_json::to_string(&to_config_map(&made.files, &made.record, "data-eng-prod")).expect("json");
    let (code, created) = call(&path, "POST", Some(&body));
    assert_eq!(code, 201, "{created}");
    // A second create of the same id is refused by the server: records are created, never replaced.
    let (code, refused) = call(&path, "POST", Some(&body));
    assert_eq!((code, refused["reason"].as_str()), (409, Some("AlreadyExists")), "{refused}");

    // Another job's release in the same namespace is not in this job's history.
    let mut other = made.clone();
    other.record.job = "other".into();
    other.files.id = "other-prod-000000000000".into();
    let other_body = serde_json::to_string(&to_config_map(&other.files, &other.record, "data-eng-prod")).expect("json");
    assert_eq!(call(&path, "POST", Some(&other_body)).0, 201);

    let selector = "sparkplane.dev/job%3Dtrips-etl%2Csparkplane.dev/environment%3Dprod";
    let (code, list) = call(&format!("{path}?labelSelector={selector}"), "GET", None);
    assert_eq!(code, 200, "{list}");
    let items = list["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{list}");
    let read: k8s_openapi::api::core::v1::ConfigMap = serde_json::from_value(items[0].clone()).expect("a ConfigMap");
    let stored = from_config_map(&read).expect("a release");
    assert_eq!(stored, made.files);
    assert!(
        matches!(verify(&stored, &key.public()), Verdict::Valid(_)),
        "a round trip through the API server keeps every byte"
    );
}
