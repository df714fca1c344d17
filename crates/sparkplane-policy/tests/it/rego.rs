//! Rego policies: loading (with exact errors at file:line:column), findings
//! flowing through the same verdict as the built-ins, environment
//! configuration, the test runner, the shipped `policies/` and the
//! Gatekeeper export (schema-valid, and its Rego evaluates with regorus).

use crate::gatekeeper_schema;

use sparkplane_api::layer::{EnvironmentPolicy, PolicySeverityName};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_policy::rego::{RegoFile, RegoPolicies, TestOutcome, input_document, run_tests};
use sparkplane_policy::{self as policy, PolicyContext, PolicySeverity, gatekeeper};

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/team-a/probe, tag: \"1.0.0\"}
  executor: {instances: 12}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  timeouts: {maxDuration: 2h}
";

fn job(env: Option<&str>) -> (ResolvedJob, Vec<RenderedObject>) {
    let catalog = Catalog::builtin().expect("catalog");
    let doc = parse_single(&Source::new("job.yaml", JOB)).expect("parses");
    let resolved = load(ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog: &catalog,
        environment: env,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .expect("resolves");
    let sized = size_job(&resolved.job.spec);
    let objects = render::render(&RenderInput { job: &resolved, sized: &sized }, Target::Native);
    (resolved, objects)
}

const MANY_EXECUTORS: &str = "package sparkplane.many_executors

import rego.v1

metadata := {\"id\": \"many-executors\", \"title\": \"at most 10 fixed executors\", \"fix\": \"use dynamic allocation\"}

deny contains {\"msg\": msg, \"path\": \"spec.executor.instances\", \"fix\": \"lower spec.executor.instances\"} if {
\tn := input.job.spec.executor.instances
\tn > 10
\tmsg := sprintf(\"%d fixed executors\", [n])
}

warn contains \"a plain string finding\" if input.environment == \"dev\"
";

fn many() -> RegoPolicies {
    RegoPolicies::load(&[RegoFile::new("policies/many.rego", MANY_EXECUTORS)]).expect("loads")
}

#[test]
fn rego_findings_flow_through_the_same_verdict_with_spans() {
    let (job, objects) = job(None);
    let rego = many();
    assert_eq!(rego.policies().len(), 1);
    let ctx = PolicyContext::default();
    let verdict = policy::check(&job, &objects, &ctx, Some(&rego), &EnvironmentPolicy::default()).expect("evaluates");
    assert_eq!(verdict.policies.len(), policy::builtin_policies().len() + 1);
    let found: Vec<_> = verdict.violations.iter().filter(|v| v.policy.id == "many-executors").collect();
    assert_eq!(found.len(), 1, "{}", policy::to_text(&verdict));
    let v = found[0];
    assert_eq!(
        (v.severity(), v.message.as_str(), v.path.as_str()),
        (PolicySeverity::Deny, "12 fixed executors", "spec.executor.instances")
    );
    assert_eq!(v.fix(), "lower spec.executor.instances");
    let span = v.span.as_ref().expect("the job line");
    assert_eq!((span.source.name.as_ref(), span.at.line), ("job.yaml", 11));
    assert_eq!(v.policy.origin.as_deref(), Some("policies/many.rego"));
    // The same report formats as the built-ins.
    let sarif = policy::to_sarif(&verdict, "job.yaml");
    let rules = sarif["runs"][0]["tool"]["driver"]["rules"].as_array().expect("rules");
    assert!(rules.iter().any(|r| r["id"] == "many-executors"));
    let result = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .find(|r| r["ruleId"] == "many-executors")
        .cloned()
        .expect("a result");
    assert_eq!(result["locations"][0]["physicalLocation"]["region"]["startLine"], 11);
    assert!(policy::to_junit(&verdict).contains("<testcase classname=\"sparkplane.policy\" name=\"many-executors\">"));
    assert!(
        policy::to_text(&verdict)
            .contains("deny[many-executors] spec.executor.instances: 12 fixed executors (job.yaml:11:")
    );
}

struct ConfigCase {
    name: &'static str,
    env: Option<&'static str>,
    config: EnvironmentPolicy,
    expect: &'static [(&'static str, PolicySeverity)],
}

#[test]
fn environment_configuration_disables_and_overrides_rego_and_builtins_alike() {
    let overrides = |pairs: &[(&str, PolicySeverityName)]| EnvironmentPolicy {
        severity_overrides: pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        ..EnvironmentPolicy::default()
    };
    let cases = [
        ConfigCase {
            name: "defaults",
            env: None,
            config: EnvironmentPolicy::default(),
            expect: &[("many-executors", PolicySeverity::Deny)],
        },
        ConfigCase {
            name: "dev adds the warn rule",
            env: Some("dev"),
            config: EnvironmentPolicy::default(),
            expect: &[("many-executors", PolicySeverity::Deny), ("many-executors", PolicySeverity::Warn)],
        },
        ConfigCase {
            name: "disabled",
            env: None,
            config: EnvironmentPolicy { disabled: vec!["many-executors".into()], ..EnvironmentPolicy::default() },
            expect: &[],
        },
        ConfigCase {
            name: "overridden to warn",
            env: None,
            config: overrides(&[("many-executors", PolicySeverityName::Warn)]),
            expect: &[("many-executors", PolicySeverity::Warn)],
        },
    ];
    let rego = many();
    for case in cases {
        let (job, objects) = job(case.env);
        let ctx = PolicyContext { environment: case.env, ..PolicyContext::default() };
        let verdict = policy::check(&job, &objects, &ctx, Some(&rego), &case.config).expect("evaluates");
        let got: Vec<(&str, PolicySeverity)> = verdict
            .violations
            .iter()
            .filter(|v| v.policy.origin.is_some())
            .map(|v| (v.policy.id.as_ref(), v.severity()))
            .collect();
        assert_eq!(got, case.expect, "{}", case.name);
    }
    // Built-ins too: a budget-critical override makes it deny.
    let (job, objects) = job(None);
    let mut reading = policy::BudgetReading {
        tenant: "analytics".into(),
        team: "team-a".into(),
        spent: 1500.0,
        monthly: 1000.0,
        percent: Some(150.0),
        warning: true,
        critical: true,
        window: "since 2026-11-01".into(),
        blocks_on_critical: true,
    };
    let ctx = PolicyContext { budget: Some(reading.clone()), ..PolicyContext::default() };
    let plain = policy::check(&job, &objects, &ctx, None, &EnvironmentPolicy::default()).expect("evaluates");
    assert!(!plain.has_deny(), "budget-critical warns by default");
    let prod = overrides(&[(policy::BUDGET_CRITICAL, PolicySeverityName::Deny)]);
    let blocked = policy::check(&job, &objects, &ctx, None, &prod).expect("evaluates");
    assert!(blocked.has_deny());
    assert_eq!(
        blocked.violations[0].message,
        "tenant `analytics` (team `team-a`) has spent 1500.00 (150.0 % of its monthly budget of 1000.00) since 2026-11-01"
    );
    // A tenant whose budget does not block on critical is only warned, even where the environment denies.
    reading.blocks_on_critical = false;
    let ctx = PolicyContext { budget: Some(reading), ..PolicyContext::default() };
    let warned = policy::check(&job, &objects, &ctx, None, &prod).expect("evaluates");
    assert!(!warned.has_deny());
    assert_eq!(
        warned.violations.iter().map(|v| (v.policy.id.as_ref(), v.severity())).collect::<Vec<_>>(),
        [(policy::BUDGET_CRITICAL, PolicySeverity::Warn)]
    );
}

#[test]
fn unknown_ids_in_configuration_are_errors_with_a_suggestion() {
    let config = EnvironmentPolicy { disabled: vec!["image-tags".into()], ..EnvironmentPolicy::default() };
    let problems = policy::check_config(&config, None, "environment `prod`");
    assert_eq!(problems.0.len(), 1);
    assert_eq!(
        problems.0[0].to_plain(),
        "error: policy.disabled: environment `prod`: `image-tags` is not a policy id\n  help: did you mean `image-tag`? (`sparkplane policy list` shows every id)"
    );
}

struct LoadCase {
    name: &'static str,
    text: &'static str,
    error: &'static str,
}

#[test]
fn bad_rego_is_reported_at_file_line_column() {
    let cases = [
        LoadCase {
            name: "parse error",
            text: "package sparkplane.bad\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := \n}\n",
            error: "policies/bad.rego:6:7: error: expecting `}` while parsing set",
        },
        LoadCase {
            name: "id not kebab-case",
            text: "package sparkplane.bad\n\nimport rego.v1\n\nmetadata := {\"id\": \"Bad_Id\"}\n\ndeny contains \"x\" if false\n",
            error: "policies/bad.rego:1:1: error: policy id `Bad_Id` is not kebab-case",
        },
        LoadCase {
            name: "id taken by a built-in",
            text: "package sparkplane.image_tag\n\nimport rego.v1\n\ndeny contains \"x\" if false\n",
            error: "policies/bad.rego:1:1: error: policy id `image-tag` is already a built-in policy's",
        },
    ];
    for case in cases {
        let err = RegoPolicies::load(&[RegoFile::new("policies/bad.rego", case.text)]).expect_err(case.name);
        assert_eq!(err.0.len(), 1, "{}", case.name);
        let first_line = err.0[0].to_plain().lines().next().unwrap_or_default().to_owned();
        assert_eq!(first_line, case.error, "{}", case.name);
    }
}

#[test]
fn a_runtime_error_is_an_error_not_a_pass() {
    let text = "package sparkplane.boom\n\nimport rego.v1\n\ndeny contains msg if {\n  msg := sprintf(\"%v\", input.job.metadata.name)\n}\n";
    let rego = RegoPolicies::load(&[RegoFile::new("boom.rego", text)]).expect("loads");
    let (job, objects) = job(None);
    let input = input_document(&job, &objects, &PolicyContext::default());
    let err = rego.evaluate(&job, &input).expect_err("a builtin error");
    assert!(
        err.0[0].message.starts_with("boom.rego: policy `boom` failed: `sprintf` expects array argument"),
        "{}",
        err.0[0].message
    );
}

fn shipped() -> Vec<RegoFile> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../policies");
    let mut files: Vec<RegoFile> = std::fs::read_dir(dir)
        .expect("policies/")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "rego"))
        .map(|p| {
            RegoFile::new(p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read_to_string(&p).unwrap())
        })
        .collect();
    files.sort_by(|a, b| a.name.cmp(&b.name));
    files
}

#[test]
fn the_shipped_policies_pass_their_own_tests() {
    let results = run_tests(&shipped()).expect("the tests compile");
    assert!(results.len() >= 7, "{results:?}");
    for r in &results {
        assert_eq!(r.outcome, TestOutcome::Pass, "{}: data.{}.{}", r.file, r.package, r.name);
    }
}

#[test]
fn the_test_runner_reports_failures_and_errors() {
    let files = [
        RegoFile::new("p.rego", "package p\n\nimport rego.v1\n\ndeny contains \"no\" if input.x == 1\n"),
        RegoFile::new(
            "p_test.rego",
            "package p_test\n\nimport rego.v1\n\nimport data.p\n\ntest_ok if { count(p.deny) == 1 with input as {\"x\": 1} }\n\ntest_wrong if { count(p.deny) == 1 with input as {\"x\": 2} }\n\ntest_boom if { sprintf(\"%v\", 1) == \"1\" }\n",
        ),
    ];
    let results = run_tests(&files).expect("compiles");
    let got: Vec<(&str, bool)> = results.iter().map(|r| (r.name.as_str(), r.outcome == TestOutcome::Pass)).collect();
    assert_eq!(got, [("test_ok", true), ("test_wrong", false), ("test_boom", false)]);
    assert_eq!(results[1].outcome, TestOutcome::Fail);
    assert!(matches!(&results[2].outcome, TestOutcome::Error(e) if e.contains("sprintf")), "{:?}", results[2].outcome);
}

#[test]
fn the_gatekeeper_export_validates_and_its_rego_runs_in_admission() {
    let rego = RegoPolicies::load(&shipped()).expect("loads");
    let objects = gatekeeper::export(&rego, &EnvironmentPolicy::default(), Some("prod")).expect("exports");
    let templates: Vec<_> = objects.iter().filter(|o| o["kind"] == "ConstraintTemplate").collect();
    assert_eq!(templates.len(), rego.policies().len());
    for t in &templates {
        assert_eq!(gatekeeper_schema::schema_problems(t), Vec::<String>::new());
        assert_eq!(t["apiVersion"], "templates.gatekeeper.sh/v1");
        assert_eq!(t["spec"]["targets"][0]["target"], "admission.k8s.gatekeeper.sh");
        assert!(t["spec"]["targets"][0]["libs"][0].as_str().unwrap().contains("package lib.sparkplane."));
    }
    for constraint in objects.iter().filter(|o| o["kind"] != "ConstraintTemplate") {
        let template = templates.iter().find(|t| t["spec"]["crd"]["spec"]["names"]["kind"] == constraint["kind"]);
        let template = template.expect("each Constraint has its template");
        assert_eq!(gatekeeper_schema::constraint_problems(constraint, template), Vec::<String>::new());
    }
    let constraint = objects.iter().find(|o| o["kind"] == "SparkplaneProdPullPolicy").expect("a constraint");
    assert_eq!(constraint["apiVersion"], "constraints.gatekeeper.sh/v1beta1");
    assert_eq!(constraint["spec"]["enforcementAction"], "deny");
    assert_eq!(constraint["spec"]["parameters"]["environment"], "prod");
    assert_eq!(constraint["spec"]["match"]["labelSelector"]["matchExpressions"][0]["key"], "spark-role");
    // The template's Rego, run as Gatekeeper would (input.review.object, input.parameters),
    // finds what the CLI finds.
    let template = templates.iter().find(|t| t["metadata"]["name"] == "sparkplaneprodpullpolicy").expect("template");
    let target = &template["spec"]["targets"][0];
    let mut engine = regorus::Engine::new();
    engine.add_policy("lib.rego".into(), target["libs"][0].as_str().unwrap().into()).expect("lib parses");
    let package = engine.add_policy("rego".into(), target["rego"].as_str().unwrap().into()).expect("rego parses");
    let review = |pull: &str| {
        serde_json::json!({
            "review": {"object": {"kind": "Pod", "metadata": {"name": "d", "labels": {"spark-role": "driver"}},
                "spec": {"containers": [{"name": "spark", "imagePullPolicy": pull}]}}},
            "parameters": {"environment": "prod"},
        })
    };
    engine.set_input(regorus::Value::from(review("Always")));
    let found = engine.eval_rule(format!("{package}.violation")).expect("evaluates").to_json_str().unwrap();
    assert!(found.contains("[prod-pull-policy] container \\\"spark\\\" of Pod/d pulls its image"), "{found}");
    engine.set_input(regorus::Value::from(review("IfNotPresent")));
    let none = engine.eval_rule(format!("{package}.violation")).expect("evaluates");
    assert!(none.to_json_str().unwrap().trim() == "[]" || none == regorus::Value::Undefined, "{none:?}");
    // A template the schema refuses: a wrong target and a misspelt field.
    let mut bad = (*template).clone();
    bad["spec"]["targets"][0]["target"] = "admission.k8s.gatekeeper.sh/v2".into();
    bad["spec"]["crd"]["spec"]["nmes"] = serde_json::json!({});
    let problems = gatekeeper_schema::schema_problems(&bad);
    assert_eq!(problems.len(), 2, "{problems:?}");
}

/// A policy with both kinds of rules, both over rendered objects (so both
/// hold in admission too).
const POD_HYGIENE: &str = "package sparkplane.pod_hygiene

import rego.v1

deny contains msg if {
\tsome o in input.objects
\to.kind == \"Pod\"
\tsome c in o.spec.containers
\tc.imagePullPolicy == \"Always\"
\tmsg := sprintf(\"container %q of %s pulls on every start\", [c.name, o.metadata.name])
}

warn contains msg if {
\tsome o in input.objects
\to.kind == \"Pod\"
\tnot o.metadata.labels[\"sparkplane.dev/team\"]
\tmsg := sprintf(\"%s has no team label\", [o.metadata.name])
}
";

fn hygiene() -> RegoPolicies {
    RegoPolicies::load(&[RegoFile::new("policies/hygiene.rego", POD_HYGIENE)]).expect("loads")
}

/// Runs an exported template's Rego as Gatekeeper would for `pod` under a
/// Constraint's parameters; the violation messages, sorted.
fn admission(template: &serde_json::Value, pod: serde_json::Value, parameters: &serde_json::Value) -> Vec<String> {
    let target = &template["spec"]["targets"][0];
    let mut engine = regorus::Engine::new();
    engine.add_policy("lib.rego".into(), target["libs"][0].as_str().unwrap().into()).expect("lib parses");
    let package = engine.add_policy("rego".into(), target["rego"].as_str().unwrap().into()).expect("rego parses");
    engine.set_input(regorus::Value::from(serde_json::json!({"review": {"object": pod}, "parameters": parameters})));
    let found: serde_json::Value = serde_json::from_str(
        &engine.eval_rule(format!("{package}.violation")).expect("evaluates").to_json_str().unwrap(),
    )
    .unwrap_or_default();
    let mut msgs: Vec<String> =
        found.as_array().into_iter().flatten().map(|v| v["msg"].as_str().unwrap_or_default().to_owned()).collect();
    msgs.sort();
    msgs
}

#[test]
fn a_policy_with_deny_and_warn_rules_exports_one_template_and_a_constraint_per_rule() {
    let rego = hygiene();
    let objects = gatekeeper::export(&rego, &EnvironmentPolicy::default(), Some("prod")).expect("exports");
    let summary: Vec<(String, String, String, String)> = objects
        .iter()
        .map(|o| {
            let text = |v: &serde_json::Value| v.as_str().unwrap_or("-").to_owned();
            (
                text(&o["kind"]),
                text(&o["metadata"]["name"]),
                text(&o["spec"]["enforcementAction"]),
                text(&o["spec"]["parameters"]["rule"]),
            )
        })
        .collect();
    let row = |k: &str, n: &str, a: &str, r: &str| (k.to_owned(), n.to_owned(), a.to_owned(), r.to_owned());
    assert_eq!(
        summary,
        [
            row("ConstraintTemplate", "sparkplanepodhygiene", "-", "-"),
            row("SparkplanePodHygiene", "pod-hygiene", "deny", "deny"),
            row("SparkplanePodHygiene", "pod-hygiene-warn", "warn", "warn"),
        ]
    );
    let template = &objects[0];
    assert_eq!(gatekeeper_schema::schema_problems(template), Vec::<String>::new());
    for constraint in &objects[1..] {
        assert_eq!(gatekeeper_schema::constraint_problems(constraint, template), Vec::<String>::new());
    }
    // What Gatekeeper would refuse: an unknown action, a rule the template does not serve.
    let mut bad = objects[2].clone();
    bad["spec"]["enforcementAction"] = "block".into();
    bad["spec"]["parameters"]["rule"] = "audit".into();
    let problems = gatekeeper_schema::constraint_problems(&bad, template);
    assert_eq!(problems.len(), 2, "{problems:?}");
    assert_eq!(problems[0], "/spec/enforcementAction: `block` is not one of deny, dryrun, warn");
    assert!(problems[1].starts_with("/spec/parameters/rule: "), "{problems:?}");
    assert_eq!(
        template["spec"]["crd"]["spec"]["validation"]["openAPIV3Schema"]["properties"]["rule"]["enum"],
        serde_json::json!(["deny", "warn"])
    );
    // Each Constraint reports only its own rule's findings, as the CLI splits them.
    let pod = serde_json::json!({"kind": "Pod", "metadata": {"name": "d", "labels": {"spark-role": "driver"}},
        "spec": {"containers": [{"name": "spark", "imagePullPolicy": "Always"}]}});
    let deny = admission(template, pod.clone(), &objects[1]["spec"]["parameters"]);
    assert_eq!(deny, ["[pod-hygiene] container \"spark\" of d pulls on every start"]);
    let warn = admission(template, pod.clone(), &objects[2]["spec"]["parameters"]);
    assert_eq!(warn, ["[pod-hygiene] d has no team label"]);
    let mut clean = pod;
    clean["metadata"]["labels"]["sparkplane.dev/team"] = "team-a".into();
    clean["spec"]["containers"][0]["imagePullPolicy"] = "IfNotPresent".into();
    assert_eq!(admission(template, clean.clone(), &objects[1]["spec"]["parameters"]), Vec::<String>::new());
    assert_eq!(admission(template, clean, &objects[2]["spec"]["parameters"]), Vec::<String>::new());
    insta::assert_snapshot!("gatekeeper_mixed_policy", sparkplane_documents::yaml::to_yaml_stream(objects.iter()));
}

#[test]
fn the_export_follows_the_environments_overrides_and_disabled_ids_for_every_rule() {
    let rego = hygiene();
    let actions = |config: &EnvironmentPolicy| -> Vec<(String, String)> {
        gatekeeper::export(&rego, config, None)
            .expect("exports")
            .iter()
            .filter(|o| o["kind"] != "ConstraintTemplate")
            .map(|o| {
                assert!(o["spec"]["parameters"].get("environment").is_none(), "no --env, no environment parameter");
                (
                    o["metadata"]["name"].as_str().unwrap().to_owned(),
                    o["spec"]["enforcementAction"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let warn_only = overrides(&[("pod-hygiene", PolicySeverityName::Warn)]);
    assert_eq!(
        actions(&warn_only),
        [("pod-hygiene".to_owned(), "warn".to_owned()), ("pod-hygiene-warn".to_owned(), "warn".to_owned())]
    );
    let deny_all = overrides(&[("pod-hygiene", PolicySeverityName::Deny)]);
    assert_eq!(
        actions(&deny_all),
        [("pod-hygiene".to_owned(), "deny".to_owned()), ("pod-hygiene-warn".to_owned(), "deny".to_owned())]
    );
    let disabled = EnvironmentPolicy { disabled: vec!["pod-hygiene".into()], ..EnvironmentPolicy::default() };
    assert_eq!(gatekeeper::export(&rego, &disabled, None).expect("exports"), Vec::<serde_json::Value>::new());
    // A warn-only policy keeps one Constraint named after the policy.
    let warn_rego = RegoPolicies::load(&[RegoFile::new(
        "w.rego",
        "package sparkplane.only_warn\n\nimport rego.v1\n\nwarn contains \"w\" if input.environment == \"dev\"\n",
    )])
    .expect("loads");
    let exported = gatekeeper::export(&warn_rego, &EnvironmentPolicy::default(), None).expect("exports");
    assert_eq!(exported[1]["metadata"]["name"], "only-warn");
    assert_eq!(exported[1]["spec"]["enforcementAction"], "warn");
    assert_eq!(exported[1]["spec"]["parameters"]["rule"], "warn");
}

fn overrides(pairs: &[(&str, PolicySeverityName)]) -> EnvironmentPolicy {
    EnvironmentPolicy {
        severity_overrides: pairs.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
        ..EnvironmentPolicy::default()
    }
}
