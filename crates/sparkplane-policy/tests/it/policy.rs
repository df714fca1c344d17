//! The built-in policies: every policy has a passing and a failing fixture
//! (jobs resolved from YAML with the built-in catalog and rendered for the
//! native target), and every report format is structurally valid.

use std::collections::BTreeSet;

use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob, SetFlag};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_policy::{
    self as policy, Approval, BudgetReading, PolicyContext, PolicySeverity, Verdict, Violation, builtin_policies,
    evaluate, to_json, to_junit, to_sarif, to_text,
};

/// A job that breaks no policy (outside prod).
const BASE: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: team-a-probe, namespace: team-a}
spec:
  team: team-a
  costCenter: cc-1
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/team-a/probe, tag: \"1.0.0\"}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
  timeouts: {maxDuration: 2h}
";

fn resolve_text(text: &str, env: Option<&str>, sets: &[&str], job_env: Option<&str>) -> ResolvedJob {
    let catalog = Catalog::builtin().expect("built-in catalog");
    let doc = parse_single(&Source::new("job.yaml", text)).expect("job parses");
    let overlay = job_env.map(|t| parse_single(&Source::new("job.prod.yaml", t)).expect("overlay parses"));
    let sets: Vec<SetFlag> = sets.iter().map(|s| SetFlag::parse(s).expect("set flag")).collect();
    load(ResolveRequest {
        job: &doc,
        job_environment: overlay.as_ref(),
        catalog: &catalog,
        environment: env,
        sets: &sets,
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("fixture does not resolve:\n{d}"))
}

fn render_native(job: &ResolvedJob) -> Vec<RenderedObject> {
    let sized = size_job(&job.job.spec);
    render::render(&RenderInput { job, sized: &sized }, Target::Native)
}

struct Case {
    name: &'static str,
    env: Option<&'static str>,
    sets: &'static [&'static str],
    /// Changes validation would refuse, made to the resolved job (policies
    /// also guard jobs that reach them by other routes).
    edit_job: fn(&mut ResolvedJob),
    /// Changes to the rendered objects.
    edit_objects: fn(&mut Vec<RenderedObject>),
    context: fn(&ResolvedJob) -> PolicyContext<'static>,
    fires: &'static [&'static str],
}

fn keep(_: &mut ResolvedJob) {}
fn keep_objects(_: &mut Vec<RenderedObject>) {}
fn default_ctx(_: &ResolvedJob) -> PolicyContext<'static> {
    PolicyContext::default()
}
fn prod_ctx(_: &ResolvedJob) -> PolicyContext<'static> {
    PolicyContext { environment: Some("prod"), ..PolicyContext::default() }
}

fn case(name: &'static str, sets: &'static [&'static str], fires: &'static [&'static str]) -> Case {
    Case { name, env: None, sets, edit_job: keep, edit_objects: keep_objects, context: default_ctx, fires }
}

fn driver_pod(objects: &mut [RenderedObject]) -> &mut serde_json::Value {
    &mut objects.iter_mut().find(|o| o.kind == "Pod").expect("a driver pod").body
}

fn cases() -> Vec<Case> {
    vec![
        case("the base job", &[], &[]),
        // privileged-or-root
        case(
            "root pod template",
            &["spec.driver.podTemplate={spec: {securityContext: {runAsUser: 0}, containers: []}}"],
            &[policy::PRIVILEGED_OR_ROOT],
        ),
        case(
            "non-root pod template",
            &["spec.executor.podTemplate={spec: {securityContext: {runAsUser: 185}, containers: []}}"],
            &[],
        ),
        Case {
            edit_objects: |objects| {
                driver_pod(objects)["spec"]["containers"][0]["securityContext"]["privileged"] = true.into();
            },
            ..case("privileged container in a rendered pod", &[], &[policy::PRIVILEGED_OR_ROOT])
        },
        // host-namespaces
        case(
            "hostNetwork in the executor template",
            &["spec.executor.podTemplate={spec: {hostNetwork: true, containers: []}}"],
            &[policy::HOST_NAMESPACES],
        ),
        case("hostNetwork false", &["spec.executor.podTemplate={spec: {hostNetwork: false, containers: []}}"], &[]),
        // host-path-volumes
        case(
            "hostPath volume in a pod template",
            &[
                "spec.driver.podTemplate={spec: {volumes: [{name: docker, hostPath: {path: /var/run/docker.sock}}], containers: []}}",
            ],
            &[policy::HOST_PATH_VOLUMES],
        ),
        Case {
            edit_job: |job| {
                let volume = serde_json::json!({"name": "logs", "hostPath": {"path": "/var/log"}});
                job.job.spec.volumes.push(serde_json::from_value(volume).expect("a volume"));
            },
            ..case("hostPath volume in spec.volumes", &[], &[policy::HOST_PATH_VOLUMES])
        },
        case(
            "emptyDir volume",
            &[
                "spec.volumes=[{name: scratch, emptyDir: {}}]",
                "spec.executor.volumeMounts=[{name: scratch, mountPath: /scratch}]",
            ],
            &[],
        ),
        // resource-requests
        case(
            "sidecar without resources",
            &[
                "spec.driver.podTemplate={spec: {containers: [{name: spark-kubernetes-driver}, {name: proxy, image: \"registry.example.com/team-a/proxy:1.0\"}]}}",
            ],
            &[policy::RESOURCE_REQUESTS],
        ),
        case(
            "sidecar with resources",
            &[
                "spec.driver.podTemplate={spec: {containers: [{name: spark-kubernetes-driver}, {name: proxy, image: \"registry.example.com/team-a/proxy:1.0\", resources: {requests: {cpu: 100m, memory: 64Mi}, limits: {memory: 64Mi}}}]}}",
            ],
            &[],
        ),
        // executor-cores
        case("6 executor cores", &["spec.executor.cores=6"], &[policy::EXECUTOR_CORES]),
        case("5 executor cores", &["spec.executor.cores=5"], &[]),
        // memory-overhead
        case("256m overhead", &["spec.executor.memoryOverhead=256m"], &[policy::MEMORY_OVERHEAD]),
        case(
            "overhead factor 5 % of 8g",
            &["spec.executor.memory=8g", "spec.executor.memoryOverheadFactor=0.05"],
            &[policy::MEMORY_OVERHEAD],
        ),
        case("explicit 1g overhead on 8g", &["spec.executor.memory=8g", "spec.executor.memoryOverhead=1g"], &[]),
        // image-digest-in-prod
        Case {
            env: Some("prod"),
            context: prod_ctx,
            ..case("prod without a digest", &[], &[policy::IMAGE_DIGEST_IN_PROD])
        },
        Case {
            env: Some("prod"),
            context: prod_ctx,
            ..case(
                "prod with a digest",
                &["spec.image.digest=sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b"],
                &[],
            )
        },
        // image-tag
        case("latest tag", &["spec.image.tag=latest"], &[policy::IMAGE_TAG]),
        case("no tag", &["spec.image.tag="], &[policy::IMAGE_TAG]),
        case(
            "no tag but a digest",
            &[
                "spec.image.tag=",
                "spec.image.digest=sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b",
            ],
            &[],
        ),
        // image-registry
        Case {
            context: |_| PolicyContext {
                allowed_registries: vec!["registry.internal".into()],
                ..PolicyContext::default()
            },
            ..case("registry outside the allow-list", &[], &[policy::IMAGE_REGISTRY])
        },
        Case {
            context: |_| PolicyContext {
                allowed_registries: vec!["registry.example.com/team-a".into()],
                ..PolicyContext::default()
            },
            ..case("registry prefix on the allow-list", &[], &[])
        },
        // max-duration / max-duration-unset
        case("48h maxDuration", &["spec.timeouts.maxDuration=48h"], &[policy::MAX_DURATION]),
        case("24h maxDuration", &["spec.timeouts.maxDuration=24h"], &[]),
        case("no maxDuration", &["spec.timeouts="], &[policy::MAX_DURATION_UNSET]),
        // The environment's `policy.maxDuration` replaces the 24h default, both ways.
        Case {
            context: |_| {
                let mut ctx = PolicyContext::default();
                let config: sparkplane_api::layer::EnvironmentPolicy =
                    serde_json::from_str(r#"{"maxDuration": "12h"}"#).expect("policy block");
                ctx.configure(&config);
                ctx
            },
            ..case(
                "20h maxDuration where the environment allows 12h",
                &["spec.timeouts.maxDuration=20h"],
                &[policy::MAX_DURATION],
            )
        },
        Case {
            context: |_| {
                let mut ctx = PolicyContext::default();
                let config: sparkplane_api::layer::EnvironmentPolicy =
                    serde_json::from_str(r#"{"maxDuration": "3d"}"#).expect("policy block");
                ctx.configure(&config);
                ctx
            },
            ..case("48h maxDuration where the environment allows 3d", &["spec.timeouts.maxDuration=48h"], &[])
        },
        // team-and-cost-center
        Case {
            edit_job: |job| {
                job.job.spec.team = None;
                job.job.spec.cost_center = Some(" ".into());
            },
            ..case("no team, blank cost center", &[], &[policy::OWNERSHIP])
        },
        // naming-convention
        Case {
            context: |_| PolicyContext { require_team_prefix: true, ..PolicyContext::default() },
            ..case("team prefix required and present", &[], &[])
        },
        Case {
            context: |_| PolicyContext { require_team_prefix: true, ..PolicyContext::default() },
            ..case("team prefix required and missing", &["metadata.name=probe"], &[policy::NAMING])
        },
        // inline-secrets
        Case {
            edit_job: |job| {
                job.job.spec.env.push(sparkplane_api::job::EnvVar {
                    name: "DB_PASSWORD".into(),
                    value: Some("hunter2".into()),
                    secret_key_ref: None,
                    config_map_key_ref: None,
                });
                job.job.spec.spark_conf.insert("spark.myapp.api.key".into(), "abc123".into());
            },
            ..case("inline password and API key", &[], &[policy::INLINE_SECRETS])
        },
        case("secret by reference", &["spec.env=[{name: DB_PASSWORD, secretKeyRef: {name: db, key: password}}]"], &[]),
        // approval-required
        Case {
            env: Some("prod"),
            context: |_| PolicyContext { environment: Some("prod"), required_approvals: 1, ..PolicyContext::default() },
            ..case(
                "prod without an approval",
                &["spec.image.digest=sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b"],
                &[policy::APPROVAL_REQUIRED],
            )
        },
        Case {
            env: Some("prod"),
            context: |job| PolicyContext {
                environment: Some("prod"),
                required_approvals: 1,
                approvals: vec![Approval::of(job, "prod", "alice", "2026-11-21T10:00:00Z", None)],
                ..PolicyContext::default()
            },
            ..case(
                "prod with an approval of this spec",
                &["spec.image.digest=sha256:78c982f2b2024c1e4a87685bc6090b72dfe7dad803d0c2e782e86991c9ed000b"],
                &[],
            )
        },
        // quota-fit
        Case {
            context: |_| PolicyContext { tenant: Some(small_tenant()), ..PolicyContext::default() },
            ..case(
                "more executors than the tenant's quota holds",
                &["spec.executor.instances=40"],
                &[policy::QUOTA_FIT],
            )
        },
        Case {
            context: |_| PolicyContext { tenant: Some(small_tenant()), ..PolicyContext::default() },
            ..case("two executors within the tenant's quota", &["spec.executor.instances=2"], &[])
        },
        // budget-warning / budget-critical
        Case {
            context: |_| PolicyContext { budget: Some(reading(85.0)), ..PolicyContext::default() },
            ..case("85 % of the budget spent", &[], &[policy::BUDGET_WARNING])
        },
        Case {
            context: |_| PolicyContext { budget: Some(reading(120.0)), ..PolicyContext::default() },
            ..case("120 % of the budget spent", &[], &[policy::BUDGET_CRITICAL])
        },
        Case {
            context: |_| PolicyContext { budget: Some(reading(10.0)), ..PolicyContext::default() },
            ..case("10 % of the budget spent", &[], &[])
        },
    ]
}

/// A tenant of team-a with room for a driver and a few small executors.
fn small_tenant() -> &'static sparkplane_api::tenant::Tenant {
    static TENANT: std::sync::OnceLock<sparkplane_api::tenant::Tenant> = std::sync::OnceLock::new();
    TENANT.get_or_init(|| {
        let text = "apiVersion: sparkplane.dev/v1alpha1
kind: Tenant
metadata: {name: team-a}
spec:
  team: team-a
  costCenter: cc-1
  quota: {cpu: \"16\", memory: 64Gi, pods: 20}
";
        sparkplane_policy::tenant::load_tenant(&Source::new("team-a.yaml", text)).expect("tenant loads").tenant
    })
}

/// A budget reading at `percent` of a 1000 budget, with the default 80/100 thresholds.
fn reading(percent: f64) -> BudgetReading {
    BudgetReading {
        tenant: "team-a".into(),
        team: "team-a".into(),
        spent: percent * 10.0,
        monthly: 1000.0,
        percent: Some(percent),
        warning: percent >= 80.0,
        critical: percent >= 100.0,
        window: "since 2026-11-01".into(),
        blocks_on_critical: true,
    }
}

fn fired(violations: &[Violation]) -> BTreeSet<String> {
    violations.iter().map(|v| v.policy.id.to_string()).collect()
}

fn verdict(violations: Vec<Violation>) -> Verdict {
    Verdict { policies: builtin_policies().to_vec(), violations }
}

#[test]
fn each_builtin_fires_exactly_on_its_failing_fixture() {
    let mut failing = BTreeSet::new();
    let mut passing = BTreeSet::new();
    for case in cases() {
        let mut job = resolve_text(BASE, case.env, case.sets, None);
        (case.edit_job)(&mut job);
        let mut objects = render_native(&job);
        (case.edit_objects)(&mut objects);
        let violations = evaluate(&job, &objects, &(case.context)(&job));
        let expected: BTreeSet<String> = case.fires.iter().map(|s| s.to_string()).collect();
        assert_eq!(fired(&violations), expected, "{}: {}", case.name, to_text(&verdict(violations.clone())));
        failing.extend(case.fires.iter().copied());
        if case.fires.is_empty() {
            passing.insert(case.name);
        }
    }
    let all: BTreeSet<&str> = builtin_policies().iter().map(|p| p.id.as_ref()).collect();
    assert_eq!(failing, all, "every built-in policy has a failing fixture");
    let with_passing: BTreeSet<&str> = PASSING.iter().map(|(id, _)| *id).collect();
    assert_eq!(with_passing, all, "every built-in policy has a passing fixture");
    for (id, name) in PASSING {
        assert!(passing.contains(name), "{id}'s passing fixture `{name}` is a case that fires nothing");
    }
}

/// Each built-in's passing fixture: a case that gives the policy what it
/// looks at (a pod template, a tenant, a budget reading, …) and fires nothing.
const PASSING: &[(&str, &str)] = &[
    (policy::PRIVILEGED_OR_ROOT, "non-root pod template"),
    (policy::HOST_NAMESPACES, "hostNetwork false"),
    (policy::HOST_PATH_VOLUMES, "emptyDir volume"),
    (policy::RESOURCE_REQUESTS, "sidecar with resources"),
    (policy::EXECUTOR_CORES, "5 executor cores"),
    (policy::MEMORY_OVERHEAD, "explicit 1g overhead on 8g"),
    (policy::IMAGE_DIGEST_IN_PROD, "prod with a digest"),
    (policy::IMAGE_TAG, "no tag but a digest"),
    (policy::IMAGE_REGISTRY, "registry prefix on the allow-list"),
    (policy::MAX_DURATION, "24h maxDuration"),
    (policy::MAX_DURATION_UNSET, "24h maxDuration"),
    (policy::OWNERSHIP, "the base job"),
    (policy::NAMING, "team prefix required and present"),
    (policy::INLINE_SECRETS, "secret by reference"),
    (policy::APPROVAL_REQUIRED, "prod with an approval of this spec"),
    (policy::QUOTA_FIT, "two executors within the tenant's quota"),
    (policy::BUDGET_WARNING, "10 % of the budget spent"),
    (policy::BUDGET_CRITICAL, "10 % of the budget spent"),
];

#[test]
fn violations_point_at_the_lines_that_cause_them() {
    let text = format!("{BASE}  executor: {{cores: 8, memoryOverhead: 200m}}\n");
    let job = resolve_text(&text, None, &[], None);
    let violations = evaluate(&job, &render_native(&job), &PolicyContext::default());
    let cores = violations.iter().find(|v| v.policy.id == policy::EXECUTOR_CORES).expect("cores warn");
    assert_eq!(cores.path, "spec.executor.cores");
    assert_eq!(cores.severity(), PolicySeverity::Warn);
    let span = cores.span.as_ref().expect("a span");
    assert_eq!((span.source.name.as_ref(), span.at.line), ("job.yaml", 13));
    assert!(cores.message.contains("8 cores"), "{}", cores.message);
    let overhead = violations.iter().find(|v| v.policy.id == policy::MEMORY_OVERHEAD).expect("overhead deny");
    assert_eq!(overhead.path, "spec.executor.memoryOverhead");
    assert!(overhead.message.contains("200 MiB") && overhead.message.contains("384 MiB"), "{}", overhead.message);
    assert_eq!(overhead.span.as_ref().map(|s| s.at.line), Some(13));

    // A root pod template is reported at the template's field, not the rendered pod.
    let job = resolve_text(
        BASE,
        None,
        &["spec.driver.podTemplate={spec: {securityContext: {runAsUser: 0}, containers: []}}"],
        None,
    );
    let violations = evaluate(&job, &render_native(&job), &PolicyContext::default());
    assert_eq!(violations.len(), 1, "{}", to_text(&verdict(violations.clone())));
    assert_eq!(violations[0].path, "spec.driver.podTemplate.spec.securityContext.runAsUser");
    assert!(violations[0].span.is_some());
}

fn failing_job() -> (ResolvedJob, Verdict) {
    let job = resolve_text(
        BASE,
        None,
        &["spec.executor.cores=6", "spec.image.tag=latest", "spec.executor.memoryOverhead=300m", "spec.timeouts="],
        None,
    );
    let violations = evaluate(&job, &render_native(&job), &PolicyContext::default());
    (job, verdict(violations))
}

#[test]
fn sarif_is_structurally_valid() {
    let (_, violations) = failing_job();
    assert_eq!(violations.violations.len(), 4, "{}", to_text(&violations));
    let sarif = to_sarif(&violations, "job.yaml");
    assert_eq!(sarif["version"], "2.1.0");
    assert!(sarif["$schema"].as_str().is_some_and(|s| s.contains("sarif-2.1.0")));
    let run = &sarif["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().expect("rule id")).collect();
    assert_eq!(ids.iter().collect::<BTreeSet<_>>().len(), ids.len(), "rule ids are unique");
    assert_eq!(ids.len(), builtin_policies().len());
    for rule in rules {
        for field in ["shortDescription", "fullDescription", "help"] {
            assert!(rule[field]["text"].as_str().is_some_and(|t| !t.is_empty()), "{field} of {}", rule["id"]);
        }
    }
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), violations.violations.len());
    for result in results {
        let rule = result["ruleId"].as_str().expect("ruleId");
        assert!(ids.contains(&rule), "{rule} is a rule");
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(ids[index], rule);
        assert!(["error", "warning"].contains(&result["level"].as_str().expect("level")));
        assert!(result["message"]["text"].as_str().is_some_and(|t| !t.is_empty()));
        let location = &result["locations"][0]["physicalLocation"];
        assert!(location["artifactLocation"]["uri"].as_str().is_some_and(|u| !u.is_empty()));
        assert!(location["region"]["startLine"].as_u64().is_some_and(|l| l >= 1));
        assert!(location["region"]["startColumn"].as_u64().is_some_and(|c| c >= 1));
    }
    let levels: BTreeSet<&str> = results.iter().filter_map(|r| r["level"].as_str()).collect();
    assert_eq!(levels, BTreeSet::from(["error", "warning"]));
}

/// Checks that tags nest and balance; returns the element names in order of opening.
fn xml_elements(text: &str) -> Vec<String> {
    let mut stack: Vec<String> = Vec::new();
    let mut opened = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("tag closes") + start;
        let tag = &rest[start + 1..end];
        rest = &rest[end + 1..];
        assert!(!rest.is_empty() || stack.len() <= 1, "text after the root");
        if tag.starts_with('?') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name.trim()), "mismatched </{name}>");
            continue;
        }
        let name = tag.split_whitespace().next().expect("a name").trim_end_matches('/').to_owned();
        assert!(!tag.contains('<') && tag.matches('"').count().is_multiple_of(2), "bad attributes in <{tag}>");
        opened.push(name.clone());
        if !tag.ends_with('/') {
            stack.push(name);
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    opened
}

#[test]
fn junit_is_well_formed_with_a_testcase_per_policy() {
    let (_, violations) = failing_job();
    let xml = to_junit(&violations);
    assert!(xml.starts_with("<?xml version=\"1.0\""));
    let elements = xml_elements(&xml);
    assert_eq!(elements.iter().filter(|e| *e == "testsuite").count(), 1);
    assert_eq!(elements.iter().filter(|e| *e == "testcase").count(), builtin_policies().len());
    assert_eq!(elements.iter().filter(|e| *e == "failure").count(), 2, "the two deny policies fail:\n{xml}");
    assert!(xml.contains("failures=\"2\""));
    assert!(xml.contains("<testcase classname=\"sparkplane.policy\" name=\"image-tag\">"));
    // Text with markup characters stays well-formed.
    let mut tricky = violations.clone();
    tricky.violations[0].message = "a <b> & \"c\"".into();
    xml_elements(&to_junit(&tricky));
}

#[test]
fn text_and_json_reports_count_by_severity() {
    let (_, violations) = failing_job();
    let text = to_text(&violations);
    assert!(
        text.contains(
            "deny[image-tag] spec.image.tag: image `registry.example.com/team-a/probe` uses the `latest` tag"
        ),
        "{text}"
    );
    assert!(text.contains("  fix: "));
    assert!(text.ends_with(&format!("{} policies checked: 2 deny, 2 warn violations\n", builtin_policies().len())));
    let json = to_json(&violations);
    assert_eq!(json["summary"]["deny"], 2);
    assert_eq!(json["summary"]["warn"], 2);
    assert_eq!(json["violations"][0]["policy"], "executor-cores");
    assert_eq!(json["violations"][0]["file"], "--set spec.executor.cores");
    assert!(violations.has_deny());
}

#[test]
fn the_trips_etl_example_passes_every_deny_policy_in_prod() {
    let job = resolve_text(
        include_str!("../../../../examples/trips-etl/trips-etl.yaml"),
        Some("prod"),
        &[],
        Some(include_str!("../../../../examples/trips-etl/trips-etl.prod.yaml")),
    );
    let ctx = PolicyContext {
        environment: job.environment.as_deref(),
        allowed_registries: vec!["registry.example.com".into()],
        require_team_prefix: false,
        ..PolicyContext::default()
    };
    let violations = evaluate(&job, &render_native(&job), &ctx);
    let denied: Vec<&Violation> = violations.iter().filter(|v| v.severity() == PolicySeverity::Deny).collect();
    assert!(denied.is_empty(), "{}", to_text(&verdict(violations.clone())));
    // With an approval required, the same spec needs its hash approved.
    let gated = PolicyContext { required_approvals: 1, ..ctx.clone() };
    assert_eq!(
        fired(&evaluate(&job, &render_native(&job), &gated)),
        BTreeSet::from([policy::APPROVAL_REQUIRED.to_string()])
    );
    let approved =
        PolicyContext { approvals: vec![Approval::of(&job, "prod", "alice", "2026-11-21T10:00:00Z", None)], ..gated };
    assert!(!policy::has_deny(&evaluate(&job, &render_native(&job), &approved)));
}

fn tenant(name: &str, namespace: Option<&str>, team: &str) -> sparkplane_api::tenant::Tenant {
    let namespace = namespace.map(|ns| format!("\n  namespace: {ns}")).unwrap_or_default();
    let text = format!(
        "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata: {{name: {name}}}\nspec:\n  team: {team}\n  costCenter: cc-1{namespace}\n"
    );
    sparkplane_policy::tenant::load_tenant(&Source::new("t.yaml", text.as_str())).expect("tenant loads").tenant
}

#[test]
fn a_job_finds_its_tenant_by_namespace_else_by_its_teams_only_tenant() {
    use sparkplane_policy::tenant::tenant_for_job;
    let dir = std::path::Path::new("tenants");
    let in_namespace = resolve_text(BASE, None, &[], None);
    let no_namespace = resolve_text(&BASE.replace(", namespace: team-a}", "}"), None, &[], None);
    let name = |r: Result<sparkplane_api::tenant::Tenant, sparkplane_documents::Diagnostic>| match r {
        Ok(t) => t.metadata.name,
        Err(d) => format!("error: {}", d.message),
    };
    // The namespace wins over the team.
    let tenants = vec![tenant("a-batch", Some("team-a-batch"), "team-a"), tenant("team-a", None, "team-x")];
    assert_eq!(name(tenant_for_job(&in_namespace, tenants.clone(), dir)), "team-a");
    // A job naming a namespace no tenant has is not matched by team.
    let tenants = vec![tenant("a-batch", Some("team-a-batch"), "team-a")];
    assert_eq!(
        name(tenant_for_job(&in_namespace, tenants.clone(), dir)),
        "error: no tenant in tenants has namespace `team-a`"
    );
    // Without a namespace: the team's only tenant.
    assert_eq!(name(tenant_for_job(&no_namespace, tenants, dir)), "a-batch");
    // Two tenants of the team: the job must say which.
    let two = vec![tenant("a-batch", Some("team-a-batch"), "team-a"), tenant("a-ml", Some("team-a-ml"), "team-a")];
    assert_eq!(
        name(tenant_for_job(&no_namespace, two, dir)),
        "error: 2 tenants in tenants belong to team `team-a` (a-batch, a-ml) and the job names no namespace"
    );
    // None of the team either.
    let other = vec![tenant("b", None, "team-b")];
    assert_eq!(
        name(tenant_for_job(&no_namespace, other, dir)),
        "error: no tenant in tenants has namespace `default` or team `team-a`"
    );
}

/// A Spark Connect server (the `interactive` preset), as `connect_render`'s
/// tests render it.
const CONNECT_JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata:
  name: notebooks
  namespace: analytics
spec:
  team: analytics
  costCenter: cc-7
  preset: interactive
  type: Connect
  image: {repository: registry.example.com/spark/connect, tag: \"4.0.1\"}
  eventLog: {dir: \"s3a://spark-events/analytics\"}
";

/// The built-in policies pass the server as the preset sizes it: the driver's
/// overhead is Spark's own default, 10 % of its 4 GiB heap truncated to 409 MiB.
/// (Moved from the core's `connect_render` tests with the policies.)
#[test]
fn the_interactive_server_passes_the_built_in_policies() {
    let resolved = resolve_text(CONNECT_JOB, None, &[], None);
    let objects = render_native(&resolved);
    let config = Default::default();
    let mut ctx = PolicyContext::default();
    ctx.configure(&config);
    let verdict = policy::check(&resolved, &objects, &ctx, None, &config).unwrap_or_else(|d| panic!("{d}"));
    let denied: Vec<String> = verdict
        .violations
        .iter()
        .filter(|v| v.severity() == PolicySeverity::Deny)
        .map(|v| format!("{}: {}", v.path, v.message))
        .collect();
    assert!(denied.is_empty(), "{denied:?}");
}
