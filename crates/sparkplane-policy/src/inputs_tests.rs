//! Gathering the policy inputs over fake sources: what is asked, in which
//! order, and the rules the CLI's end-to-end tests could only reach through
//! files.

use std::collections::BTreeMap;

use serde_json::json;
use sparkplane_api::SparkJob;
use sparkplane_api::layer::PolicySeverityName;

use super::*;
use sparkplane_documents::source::{LineCol, Source, Span};
use sparkplane_documents::yaml::Node;

fn job(env: Option<&str>) -> ResolvedJob {
    let spec = json!({
        "apiVersion": "sparkplane.dev/v1alpha1",
        "kind": "SparkJob",
        "metadata": {"name": "etl", "namespace": "data"},
        "spec": {"type": "Python", "mainApplicationFile": "local:///app/main.py", "image": {"repository": "r/etl", "tag": "1.0"}},
    });
    let parsed: SparkJob = serde_json::from_value(spec.clone()).expect("a SparkJob");
    let span =
        Span { source: Source::new("test", String::new()), start: 0, end: 0, at: LineCol { line: 1, column: 1 } };
    ResolvedJob {
        job: parsed,
        tree: Node::from_json(&spec, &span),
        provenance: BTreeMap::new(),
        environment: env.map(str::to_owned),
        preset: None,
        warnings: Diagnostics::new(),
        attempt: 1,
        platform_namespace: None,
    }
}

/// Sources answering from fields, recording every call.
#[derive(Default)]
struct Fake {
    rego: Vec<RegoFile>,
    tenant: Option<Tenant>,
    history: bool,
    calls: Vec<String>,
}

impl PolicySources for Fake {
    type Error = Diagnostics;

    fn catalog(&mut self) -> Result<Catalog, Diagnostics> {
        self.calls.push("catalog".into());
        Catalog::builtin()
    }
    fn rego_files(&mut self, dirs: &[PathBuf]) -> Result<Vec<RegoFile>, Diagnostics> {
        let shown: Vec<String> = dirs.iter().map(|d| d.display().to_string()).collect();
        self.calls.push(format!("rego {}", shown.join(",")));
        Ok(self.rego.clone())
    }
    fn tenant(&mut self, _: &ResolvedJob) -> Result<Option<Tenant>, Diagnostics> {
        self.calls.push("tenant".into());
        Ok(self.tenant.clone())
    }
    fn has_history(&self) -> bool {
        self.history
    }
    fn budget(&mut self, _: &Tenant) -> Result<Option<BudgetReading>, Diagnostics> {
        self.calls.push("budget".into());
        Ok(None)
    }
    fn approvals(&mut self) -> Result<Vec<Approval>, Diagnostics> {
        self.calls.push("approvals".into());
        Ok(Vec::new())
    }
}

fn tenant() -> Tenant {
    serde_json::from_value(json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant",
        "metadata": {"name": "data"},
        "spec": {"team": "data", "costCenter": "cc-1", "namespace": "data"},
    }))
    .expect("a Tenant")
}

#[test]
fn an_environment_s_policy_block_is_read_once_from_the_catalog() {
    let catalog = Catalog::builtin().expect("the built-in catalog");
    let prod = environment_policy(&catalog, "prod").expect("reads");
    assert_eq!(prod.severity_overrides.get("budget-critical"), Some(&PolicySeverityName::Deny));
    // An environment the catalog does not know has the defaults (resolving refuses it, not the gate).
    assert_eq!(environment_policy(&catalog, "nowhere").expect("reads"), EnvironmentPolicy::default());
}

#[test]
fn relative_rego_dirs_are_under_the_platform_directory_and_the_caller_s_come_after() {
    let config =
        EnvironmentPolicy { rego_dirs: vec!["policies".into(), "/abs/rego".into()], ..EnvironmentPolicy::default() };
    let extra = [PathBuf::from("mine")];
    let under = RegoDirs { base: Some(Path::new("platform")), extra: &extra };
    assert_eq!(
        rego_dirs(&config, under),
        vec![PathBuf::from("platform/policies"), PathBuf::from("/abs/rego"), PathBuf::from("mine")]
    );
    let here = RegoDirs { base: None, extra: &[] };
    assert_eq!(rego_dirs(&config, here), vec![PathBuf::from("policies"), PathBuf::from("/abs/rego")]);
}

#[test]
fn the_inputs_are_gathered_in_order_and_without_an_environment_the_catalog_is_not_read() {
    let mut sources = Fake::default();
    let got = verdict(&job(Some("prod")), &[], &mut sources, RegoDirs::default()).expect("checks");
    assert!(!got.policies.is_empty());
    assert_eq!(sources.calls, vec!["catalog", "rego ", "tenant", "approvals"]);

    let mut sources = Fake::default();
    verdict(&job(None), &[], &mut sources, RegoDirs::default()).expect("checks");
    assert_eq!(sources.calls, vec!["rego ", "tenant", "approvals"]);
}

#[test]
fn a_spend_history_needs_the_job_s_tenant_and_is_read_only_with_one() {
    let mut sources = Fake { history: true, ..Fake::default() };
    let err = verdict(&job(Some("prod")), &[], &mut sources, RegoDirs::default()).expect_err("no tenant");
    let first = &err.0[0];
    assert_eq!((first.code, first.path.as_str()), ("bad-flag", "--history"));
    assert_eq!(first.message, "--history needs the job's tenant to know its budget");
    assert!(!sources.calls.iter().any(|c| c == "budget" || c == "approvals"), "{:?}", sources.calls);

    let mut sources = Fake { history: true, tenant: Some(tenant()), ..Fake::default() };
    verdict(&job(Some("prod")), &[], &mut sources, RegoDirs::default()).expect("checks");
    assert_eq!(sources.calls, vec!["catalog", "rego ", "tenant", "budget", "approvals"]);
}

#[test]
fn directories_of_tests_only_load_no_rego_policies() {
    let tests_only = vec![RegoFile::new("p_test.rego", "package p\ntest_x if { true }\n")];
    let mut sources = Fake { rego: tests_only, ..Fake::default() };
    let got = configured(&mut sources, None, RegoDirs::default()).expect("reads");
    assert!(got.rego.is_none());
}
