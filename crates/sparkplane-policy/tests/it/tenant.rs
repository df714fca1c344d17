//! Tenants: the example renders to a snapshot, passes the offline API-server
//! checks, denies by default, grants secret reads only when asked, and bad
//! tenant files get located, actionable errors.

use serde_json::Value;
use sparkplane_core::render::check::check_objects;
use sparkplane_core::render::common::RenderedObject;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::to_yaml_stream;
use sparkplane_policy::tenant::{load_tenant, render_tenant};

const EXAMPLE: &str = include_str!("../../../../examples/tenants/data-eng.yaml");

fn render(text: &str) -> Vec<RenderedObject> {
    let loaded = load_tenant(&Source::new("tenant.yaml", text)).unwrap_or_else(|d| panic!("{d}"));
    render_tenant(&loaded.tenant)
}

fn find<'a>(objects: &'a [RenderedObject], kind: &str, name: &str) -> &'a Value {
    &objects.iter().find(|o| o.kind == kind && o.name == name).unwrap_or_else(|| panic!("no {kind}/{name}")).body
}

#[test]
fn example_renders_to_snapshot_and_passes_checks() {
    let objects = render(EXAMPLE);
    assert_eq!(check_objects(&objects), Vec::<String>::new());
    let text = to_yaml_stream(objects.iter().map(|o| &o.body));
    assert_eq!(text, to_yaml_stream(render(EXAMPLE).iter().map(|o| &o.body)), "not deterministic");
    insta::assert_snapshot!("tenant_data_eng", text);
}

#[test]
fn example_has_no_warnings() {
    let loaded = load_tenant(&Source::new("tenant.yaml", EXAMPLE)).unwrap();
    assert!(loaded.warnings.is_empty(), "{}", loaded.warnings);
}

#[test]
fn namespace_is_restricted_and_labelled() {
    let objects = render(EXAMPLE);
    let labels = &find(&objects, "Namespace", "data-eng")["metadata"]["labels"];
    for mode in ["enforce", "audit", "warn"] {
        assert_eq!(labels[format!("pod-security.kubernetes.io/{mode}")], "restricted");
        assert_eq!(labels[format!("pod-security.kubernetes.io/{mode}-version")], "latest");
    }
    assert_eq!(labels["sparkplane.dev/cost-center"], "cc-4410");
    assert_eq!(labels["sparkplane.dev/tenant"], "data-eng");
    assert_eq!(labels["app.kubernetes.io/managed-by"], "sparkplane");
}

#[test]
fn quota_covers_every_declared_resource() {
    let objects = render(EXAMPLE);
    let hard = &find(&objects, "ResourceQuota", "tenant-quota")["spec"]["hard"];
    for (key, value) in [
        ("requests.cpu", "200"),
        ("requests.memory", "800Gi"),
        ("limits.memory", "800Gi"),
        ("requests.nvidia.com/gpu", "4"),
        ("pods", "400"),
        ("persistentvolumeclaims", "50"),
        ("count/configmaps", "300"),
        ("count/services", "150"),
    ] {
        assert_eq!(hard[key], value, "{key}");
    }
}

#[test]
fn default_deny_covers_ingress_and_egress_of_every_pod() {
    let objects = render(EXAMPLE);
    let spec = &find(&objects, "NetworkPolicy", "default-deny")["spec"];
    assert_eq!(spec["podSelector"], serde_json::json!({}));
    assert_eq!(spec["policyTypes"], serde_json::json!(["Ingress", "Egress"]));
    assert!(spec.get("ingress").is_none() && spec.get("egress").is_none());
    let dns = &find(&objects, "NetworkPolicy", "allow-dns")["spec"]["egress"][0];
    assert_eq!(dns["ports"].as_array().map(Vec::len), Some(2));
    let kafka = &find(&objects, "NetworkPolicy", "allow-egress-kafka")["spec"]["egress"][0];
    assert_eq!(kafka["to"][1]["ipBlock"]["cidr"], "10.61.0.0/20");
    let ui = &find(&objects, "NetworkPolicy", "allow-spark-ui")["spec"]["ingress"][0];
    assert_eq!(ui["ports"][0]["port"], 4040);
}

#[test]
fn driver_identity_is_the_shared_one() {
    let objects = render(EXAMPLE);
    let role = find(&objects, "Role", "spark-driver");
    assert_eq!(role["rules"][0]["resources"][0], "pods");
    assert_eq!(role["metadata"]["labels"]["sparkplane.dev/tenant"], "data-eng");
    assert_eq!(find(&objects, "ServiceAccount", "spark-driver")["metadata"]["namespace"], "data-eng");
}

fn reads_secrets(role: &Value) -> bool {
    role["rules"]
        .as_array()
        .into_iter()
        .flatten()
        .any(|r| r["resources"].as_array().is_some_and(|rs| rs.iter().any(|x| x == "secrets")))
}

#[test]
fn secret_reads_only_when_granted() {
    // (allowSecretReads, role, may read secrets)
    let table = [
        (false, "sparkplane-tenant-admin", false),
        (false, "sparkplane-tenant-edit", false),
        (false, "sparkplane-tenant-view", false),
        (true, "sparkplane-tenant-admin", true),
        (true, "sparkplane-tenant-edit", true),
        (true, "sparkplane-tenant-view", false),
    ];
    for (allow, role, expected) in table {
        let text = EXAMPLE.replace("allowSecretReads: false", &format!("allowSecretReads: {allow}"));
        let objects = render(&text);
        assert_eq!(reads_secrets(find(&objects, "Role", role)), expected, "allow={allow} role={role}");
        assert!(!reads_secrets(find(&objects, "Role", "spark-driver")), "the driver never reads secrets");
    }
}

#[test]
fn minimal_tenant_defaults_and_warns_about_api_server() {
    let text = "apiVersion: sparkplane.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: small\nspec:\n  team: t\n  costCenter: c\n";
    let loaded = load_tenant(&Source::new("t.yaml", text)).unwrap();
    assert_eq!(loaded.warnings.0.len(), 1);
    assert_eq!(loaded.warnings.0[0].code, "no-api-server-cidrs");
    let objects = render_tenant(&loaded.tenant);
    assert_eq!(check_objects(&objects), Vec::<String>::new());
    assert!(objects.iter().all(|o| o.kind == "Namespace" || o.namespace.as_deref() == Some("small")));
    assert!(!objects.iter().any(|o| o.kind == "RoleBinding" && o.name.starts_with("sparkplane-tenant")));
    // Without a limitRange, containers that ask for nothing still get bounded defaults.
    let limits = &find(&objects, "LimitRange", "tenant-limits")["spec"]["limits"][0];
    assert_eq!(limits["type"], "Container");
    assert_eq!(limits["defaultRequest"], serde_json::json!({"cpu": "250m", "memory": "512Mi"}));
    assert_eq!(limits["default"], serde_json::json!({"memory": "512Mi"}));
    let ui = find(&objects, "NetworkPolicy", "allow-spark-ui");
    assert_eq!(
        ui["spec"]["ingress"][0]["from"][0]["namespaceSelector"]["matchLabels"]["kubernetes.io/metadata.name"],
        "sparkplane-system"
    );
}

/// (edit to the example, code, path, line, help contains)
#[test]
fn bad_tenants_get_located_errors() {
    let cases = [
        (
            "  allowSecretReads: false",
            "  allowSecretRead: false",
            "unknown-field",
            "spec.allowSecretRead",
            38,
            "did you mean `allowSecretReads`?",
        ),
        ("    cpu: \"200\"", "    cpu: 200 cores", "bad-quantity", "spec.quota.cpu", 15, "write a number"),
        (
            "      memory: 1Gi",
            "      memory: 256Gi",
            "bad-value",
            "spec.limitRange.defaults.memory",
            28,
            "lower the default",
        ),
        ("[10.60.0.0/20,", "[10.60.0.0/33,", "bad-value", "spec.egress[2].cidrs[0]", 50, "address block"),
        (
            "    warningPercent: 80",
            "    warningPercent: 120",
            "bad-value",
            "spec.budget.warningPercent",
            57,
            "criticalPercent",
        ),
        ("kind: Tenant", "kind: Tenat", "wrong-kind", "kind", 4, "kind: Tenant"),
    ];
    for (from, to, code, at, line, help) in cases {
        assert!(EXAMPLE.contains(from), "{from}");
        let text = EXAMPLE.replacen(from, to, 1);
        let errors = load_tenant(&Source::new("tenant.yaml", text)).expect_err(to);
        let first = &errors.0[0];
        assert_eq!((first.code, first.path.as_str()), (code, at), "{to}: {errors}");
        assert_eq!(first.span.as_ref().map(|s| s.at.line), Some(line), "{to}");
        assert!(first.help.as_deref().unwrap_or_default().contains(help), "{to}: {:?}", first.help);
    }
}

#[test]
fn wrong_types_point_at_the_value() {
    let text = EXAMPLE.replace("pods: 400", "pods: many");
    let errors = load_tenant(&Source::new("tenant.yaml", text)).unwrap_err();
    assert_eq!((errors.0[0].code, errors.0[0].path.as_str()), ("wrong-type", "spec.quota.pods"));
    assert_eq!(errors.0[0].message, "expected a whole number, found `many`");
    let at = errors.0[0].span.as_ref().map(|s| (s.at.line, s.at.column));
    assert_eq!(at, Some((19, 11)));
}

/// Every structural mistake at once, each at its own line and column — also
/// an unknown key whose name is a real field elsewhere (`team` under `quota`).
#[test]
fn every_structural_mistake_at_once_with_line_and_column() {
    let text = EXAMPLE
        .replacen("    pods: 400", "    team: data-eng\n    pods: 400", 1)
        .replacen("    memory: 800Gi", "    memory: 800 gigs", 1)
        .replacen("  allowSecretReads: false", "  allowSecretReads: nope", 1)
        .replacen("    editors: [data-eng]", "    editor: [data-eng]", 1);
    let errors = load_tenant(&Source::new("tenant.yaml", text)).unwrap_err();
    let got: Vec<_> =
        errors.0.iter().map(|d| (d.code, d.path.as_str(), d.span.as_ref().map(|s| (s.at.line, s.at.column)))).collect();
    assert_eq!(
        got,
        [
            ("bad-quantity", "spec.quota.memory", Some((16, 13))),
            ("unknown-field", "spec.quota.team", Some((19, 5))),
            ("unknown-field", "spec.groups.editor", Some((36, 5))),
            ("wrong-type", "spec.allowSecretReads", Some((39, 21))),
        ],
        "{errors}"
    );
    assert_eq!(errors.0[1].message, "unknown field `team`");
    assert_eq!(errors.0[2].help.as_deref(), Some("did you mean `editors`?"));
    assert_eq!(errors.0[3].message, "expected true or false, found `nope`");
}
