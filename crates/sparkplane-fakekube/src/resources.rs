//! Which resources the fake serves and how a request path names one: the
//! table of known kinds (group, version, plural, kind, scope), path parsing
//! for `/api/v1/...` and `/apis/<group>/<version>/...`, and the discovery
//! documents clients read before they talk to a resource.
//!
//! A group, version or resource neither the table nor a stored CRD serves
//! is not served: the API server's 404 NotFound, "the server could not find
//! the requested resource". Custom resources (Kubeflow's, Kueue's, Volcano's,
//! Prometheus') exist only once their CRD is stored. The one exception is
//! sparkplane's own SparkJob, still in the table (so served without its CRD,
//! which the real API server would not do; its tests rely on it).

use std::cmp::Reverse;

use serde_json::{Value, json};

/// A namespaced CustomResourceDefinition of `group`, one served and stored
/// version `v1`, whose schema keeps every field: what a test stores to have
/// the fake (or the API server) serve a custom kind it does not check.
pub fn schemaless_crd(group: &str, plural: &str, singular: &str, kind: &str) -> Value {
    json!({
        "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
        "metadata": {"name": format!("{plural}.{group}")},
        "spec": {"group": group, "scope": "Namespaced",
                 "names": {"plural": plural, "singular": singular, "kind": kind},
                 "versions": [{"name": "v1", "served": true, "storage": true,
                               "schema": {"openAPIV3Schema": {"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}]},
    })
}

/// One kind the fake knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KnownResource {
    /// API group ("" for the core group).
    pub group: &'static str,
    /// API version within the group.
    pub version: &'static str,
    /// Plural resource name as it appears in paths.
    pub plural: &'static str,
    /// The kind.
    pub kind: &'static str,
    /// Whether objects live in a namespace.
    pub namespaced: bool,
}

const fn known(
    group: &'static str,
    version: &'static str,
    plural: &'static str,
    kind: &'static str,
    namespaced: bool,
) -> KnownResource {
    KnownResource { group, version, plural, kind, namespaced }
}

/// The built-in kinds sparkplane and spark-submit use (and, for now, SparkJob: see the module doc).
pub const KNOWN: &[KnownResource] = &[
    known("", "v1", "pods", "Pod", true),
    known("", "v1", "services", "Service", true),
    known("", "v1", "configmaps", "ConfigMap", true),
    known("", "v1", "secrets", "Secret", true),
    known("", "v1", "serviceaccounts", "ServiceAccount", true),
    known("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", true),
    known("", "v1", "events", "Event", true),
    known("", "v1", "endpoints", "Endpoints", true),
    known("", "v1", "namespaces", "Namespace", false),
    known("", "v1", "nodes", "Node", false),
    known("", "v1", "resourcequotas", "ResourceQuota", true),
    known("", "v1", "limitranges", "LimitRange", true),
    known("scheduling.k8s.io", "v1", "priorityclasses", "PriorityClass", false),
    known("networking.k8s.io", "v1", "networkpolicies", "NetworkPolicy", true),
    known("networking.k8s.io", "v1", "ingresses", "Ingress", true),
    known("batch", "v1", "jobs", "Job", true),
    known("batch", "v1", "cronjobs", "CronJob", true),
    known("rbac.authorization.k8s.io", "v1", "roles", "Role", true),
    known("rbac.authorization.k8s.io", "v1", "rolebindings", "RoleBinding", true),
    known("rbac.authorization.k8s.io", "v1", "clusterroles", "ClusterRole", false),
    known("rbac.authorization.k8s.io", "v1", "clusterrolebindings", "ClusterRoleBinding", false),
    known("sparkplane.dev", "v1alpha1", "sparkjobs", "SparkJob", true),
    known("coordination.k8s.io", "v1", "leases", "Lease", true),
    known("events.k8s.io", "v1", "events", "Event", true),
    known("apiextensions.k8s.io", "v1", "customresourcedefinitions", "CustomResourceDefinition", false),
    known("apps", "v1", "deployments", "Deployment", true),
    known("apps", "v1", "statefulsets", "StatefulSet", true),
    known("apps", "v1", "replicasets", "ReplicaSet", true),
    known("policy", "v1", "poddisruptionbudgets", "PodDisruptionBudget", true),
    known("admissionregistration.k8s.io", "v1", "validatingadmissionpolicies", "ValidatingAdmissionPolicy", false),
    known(
        "admissionregistration.k8s.io",
        "v1",
        "validatingadmissionpolicybindings",
        "ValidatingAdmissionPolicyBinding",
        false,
    ),
];

/// A resource a stored CustomResourceDefinition serves: discovery lists it
/// as the API server does once the CRD is established (at once, here).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomResource {
    /// `spec.group`.
    pub group: String,
    /// One served version.
    pub version: String,
    /// `spec.names.plural`.
    pub plural: String,
    /// `spec.names.kind`.
    pub kind: String,
    /// `spec.scope` is `Namespaced`.
    pub namespaced: bool,
    /// `spec.names.shortNames`.
    pub short_names: Vec<String>,
}

impl CustomResource {
    /// The resources one CRD object serves (one per served version).
    pub fn from_crd(crd: &Value) -> Vec<CustomResource> {
        let spec = &crd["spec"];
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        let short_names: Vec<String> = spec["names"]["shortNames"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect();
        spec["versions"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|v| v["served"].as_bool() != Some(false))
            .map(|v| CustomResource {
                group: text(&spec["group"]),
                version: text(&v["name"]),
                plural: text(&spec["names"]["plural"]),
                kind: text(&spec["names"]["kind"]),
                namespaced: spec["scope"].as_str() != Some("Cluster"),
                short_names: short_names.clone(),
            })
            .filter(|r| !r.group.is_empty() && !r.version.is_empty() && !r.plural.is_empty())
            .collect()
    }
}

/// The short names discovery lists for a resource, as the API server (and
/// for custom resources, their CRD: `sparkjobs` has `sj`) declares them;
/// kubectl resolves `kubectl get sj` through them.
pub fn short_names(group: &str, plural: &str) -> &'static [&'static str] {
    match (group, plural) {
        ("", "pods") => &["po"],
        ("", "services") => &["svc"],
        ("", "configmaps") => &["cm"],
        ("", "serviceaccounts") => &["sa"],
        ("", "persistentvolumeclaims") => &["pvc"],
        ("", "events") => &["ev"],
        ("", "namespaces") => &["ns"],
        ("", "nodes") => &["no"],
        ("", "resourcequotas") => &["quota"],
        ("", "limitranges") => &["limits"],
        ("scheduling.k8s.io", "priorityclasses") => &["pc"],
        ("networking.k8s.io", "networkpolicies") => &["netpol"],
        ("networking.k8s.io", "ingresses") => &["ing"],
        ("", "endpoints") => &["ep"],
        ("batch", "cronjobs") => &["cj"],
        ("apps", "statefulsets") => &["sts"],
        ("apps", "deployments") => &["deploy"],
        ("apps", "replicasets") => &["rs"],
        ("policy", "poddisruptionbudgets") => &["pdb"],
        ("events.k8s.io", "events") => &["ev"],
        ("apiextensions.k8s.io", "customresourcedefinitions") => &["crd", "crds"],
        ("sparkplane.dev", "sparkjobs") => &["sj"],
        _ => &[],
    }
}

/// `apiVersion` for a group and version.
pub fn api_version(group: &str, version: &str) -> String {
    if group.is_empty() { version.to_owned() } else { format!("{group}/{version}") }
}

/// The known resource for a group, version and plural.
pub fn lookup(group: &str, version: &str, plural: &str) -> Option<&'static KnownResource> {
    KNOWN.iter().find(|r| r.group == group && r.version == version && r.plural == plural)
}

/// The plural of a kind, as discovery names it: the built-in table, then
/// the resources stored CRDs serve (`custom`, their declared plurals), else
/// the API machinery's guess for a kind nothing serves ([`guess_plural`]).
/// The one kind→plural rule: objects stored directly, controllers' writes
/// and lookups by kind all go through it.
/// `custom` is asked only for a kind the table does not hold.
pub fn plural_of(api_version: &str, kind: &str, custom: impl FnOnce() -> Vec<CustomResource>) -> String {
    let matches = |group: &str, version: &str, k: &str| k == kind && self::api_version(group, version) == api_version;
    if let Some(known) = KNOWN.iter().find(|r| matches(r.group, r.version, r.kind)) {
        return known.plural.to_owned();
    }
    match custom().iter().find(|r| matches(&r.group, &r.version, &r.kind)) {
        Some(served) => served.plural.clone(),
        None => guess_plural(kind),
    }
}

/// The plural the API machinery guesses for a kind no one declared
/// (`UnsafeGuessKindToResource`): lower case, `endpoints` unchanged, `…s`
/// gets `es`, `…y` becomes `…ies`, anything else gets `s`.
pub fn guess_plural(kind: &str) -> String {
    let singular = kind.to_ascii_lowercase();
    if singular.is_empty() || singular.ends_with("endpoints") {
        return singular;
    }
    if singular.ends_with('s') {
        return format!("{singular}es");
    }
    match singular.strip_suffix('y') {
        Some(stem) => format!("{stem}ies"),
        None => format!("{singular}s"),
    }
}

/// A guessed kind for an unknown plural (`widgets` → `Widget`).
pub fn guess_kind(plural: &str) -> String {
    let singular = plural.strip_suffix('s').unwrap_or(plural);
    let mut chars = singular.chars();
    match chars.next() {
        Some(first) => first.to_ascii_uppercase().to_string() + chars.as_str(),
        None => String::new(),
    }
}

/// What a resource path names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourcePath {
    /// API group ("" for core).
    pub group: String,
    /// API version.
    pub version: String,
    /// Namespace from the path, if any.
    pub namespace: Option<String>,
    /// Plural resource name.
    pub plural: String,
    /// Object name (None for collections).
    pub name: Option<String>,
    /// Subresource (`status`, `log`, …).
    pub subresource: Option<String>,
}

impl ResourcePath {
    /// `apiVersion` of the objects.
    pub fn api_version(&self) -> String {
        api_version(&self.group, &self.version)
    }

    /// The kind served at this path, when known.
    pub fn known(&self) -> Option<&'static KnownResource> {
        lookup(&self.group, &self.version, &self.plural)
    }
}

/// A parsed request path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// `/version`.
    Version,
    /// `/api`.
    CoreVersions,
    /// `/apis`.
    Groups,
    /// `/api/v1` or `/apis/<group>/<version>`.
    ResourceList {
        /// Group.
        group: String,
        /// Version.
        version: String,
    },
    /// `/apis/<group>`.
    Group(String),
    /// A resource, collection or subresource.
    Resource(ResourcePath),
    /// Anything else.
    Unknown,
}

fn decode(segment: &str) -> String {
    percent_encoding::percent_decode_str(segment).decode_utf8_lossy().into_owned()
}

/// Parses a request path (without its query).
pub fn route(path: &str) -> Route {
    let segments: Vec<String> = path.split('/').filter(|s| !s.is_empty()).map(decode).collect();
    let parts: Vec<&str> = segments.iter().map(String::as_str).collect();
    let (group, version, rest) = match parts.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["apis", group] => return Route::Group((*group).to_owned()),
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Route::Unknown,
    };
    if rest.is_empty() {
        return Route::ResourceList { group: group.to_owned(), version: version.to_owned() };
    }
    // `/namespaces/N/<plural>…` is namespaced; `/namespaces` and `/namespaces/N` are the Namespace objects.
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_owned()), rest),
        _ => (None, rest),
    };
    let (plural, name, subresource) = match rest {
        [plural] => (*plural, None, None),
        [plural, name] => (*plural, Some(*name), None),
        [plural, name, sub] => (*plural, Some(*name), Some(*sub)),
        _ => return Route::Unknown,
    };
    Route::Resource(ResourcePath {
        group: group.to_owned(),
        version: version.to_owned(),
        namespace,
        plural: plural.to_owned(),
        name: name.map(str::to_owned),
        subresource: subresource.map(str::to_owned),
    })
}

/// `/version`.
pub fn version_info() -> Value {
    json!({
        "major": "1",
        "minor": "33",
        "gitVersion": "v1.33.0",
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// `/api`.
pub fn core_versions() -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}],
    })
}

/// Every served resource: the known table, then what stored CRDs add.
fn served(custom: &[CustomResource]) -> Vec<CustomResource> {
    let mut all: Vec<CustomResource> = KNOWN
        .iter()
        .map(|r| CustomResource {
            group: r.group.to_owned(),
            version: r.version.to_owned(),
            plural: r.plural.to_owned(),
            kind: r.kind.to_owned(),
            namespaced: r.namespaced,
            short_names: short_names(r.group, r.plural).iter().map(|s| (*s).to_owned()).collect(),
        })
        .collect();
    for r in custom {
        if !all.iter().any(|k| k.group == r.group && k.version == r.version && k.plural == r.plural) {
            all.push(r.clone());
        }
    }
    all
}

/// Named groups in first-seen order, each with every version served in it
/// (by any of its resources: two CRDs of one group may serve different
/// versions), in the API server's order: by Kubernetes version priority, the
/// first one preferred.
fn groups(custom: &[CustomResource]) -> Vec<(String, Vec<String>)> {
    let mut groups: Vec<(String, Vec<String>)> = Vec::new();
    for r in served(custom).into_iter().filter(|r| !r.group.is_empty()) {
        match groups.iter_mut().find(|(g, _)| *g == r.group) {
            Some((_, versions)) if !versions.contains(&r.version) => versions.push(r.version),
            Some(_) => {}
            None => groups.push((r.group, vec![r.version])),
        }
    }
    for (_, versions) in &mut groups {
        versions.sort_by(|a, b| version_priority(a).cmp(&version_priority(b)).then_with(|| a.cmp(b)));
    }
    groups
}

/// A version's place in the API server's order (lower first): GA before
/// beta before alpha, a higher major then a higher minor first within each
/// (`v2` `v1` `v1beta2` `v1beta1` `v1alpha1`); a version of no such shape
/// after all of them, by name.
fn version_priority(version: &str) -> (u8, Reverse<u64>, Reverse<u64>) {
    const OTHER: (u8, Reverse<u64>, Reverse<u64>) = (3, Reverse(0), Reverse(0));
    let number = |s: &str| if s.bytes().all(|b| b.is_ascii_digit()) { s.parse::<u64>().ok() } else { None };
    let Some(rest) = version.strip_prefix('v') else { return OTHER };
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let Some(major) = number(&rest[..digits]) else { return OTHER };
    let stage = &rest[digits..];
    let (rank, minor) = if stage.is_empty() {
        (0, Some(0))
    } else if let Some(minor) = stage.strip_prefix("beta") {
        (1, number(minor))
    } else if let Some(minor) = stage.strip_prefix("alpha") {
        (2, number(minor))
    } else {
        (3, None)
    };
    match minor {
        Some(minor) => (rank, Reverse(major), Reverse(minor)),
        None => OTHER,
    }
}

fn group_entry(group: &str, versions: &[String]) -> Value {
    let listed: Vec<Value> =
        versions.iter().map(|v| json!({"groupVersion": api_version(group, v), "version": v})).collect();
    let preferred = listed.first().cloned().unwrap_or(Value::Null);
    json!({"name": group, "versions": listed, "preferredVersion": preferred})
}

/// `/apis`.
pub fn group_list(custom: &[CustomResource]) -> Value {
    let groups: Vec<Value> = groups(custom).iter().map(|(g, versions)| group_entry(g, versions)).collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `/apis/<group>`, if known.
pub fn group(name: &str, custom: &[CustomResource]) -> Option<Value> {
    groups(custom).into_iter().find(|(g, _)| *g == name).map(|(g, versions)| {
        let mut entry = group_entry(&g, &versions);
        entry["kind"] = json!("APIGroup");
        entry["apiVersion"] = json!("v1");
        entry
    })
}

/// `/api/v1` or `/apis/<group>/<version>`, if known.
pub fn resource_list(group: &str, version: &str, custom: &[CustomResource]) -> Option<Value> {
    let verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"];
    let mut resources = Vec::new();
    for r in served(custom).iter().filter(|r| r.group == group && r.version == version) {
        let mut resource = json!({
            "name": r.plural,
            "singularName": r.kind.to_ascii_lowercase(),
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": verbs,
        });
        if !r.short_names.is_empty() {
            resource["shortNames"] = json!(r.short_names);
        }
        resources.push(resource);
        resources.push(json!({
            "name": format!("{}/status", r.plural),
            "singularName": "",
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": ["get", "patch", "update"],
        }));
        if r.plural == "pods" {
            resources.push(json!({
                "name": "pods/log", "singularName": "", "namespaced": true, "kind": "Pod", "verbs": ["get"],
            }));
            resources.push(json!({
                "name": "pods/eviction", "singularName": "", "namespaced": true,
                "group": "policy", "version": "v1", "kind": "Eviction", "verbs": ["create"],
            }));
        }
    }
    if resources.is_empty() {
        return None;
    }
    Some(json!({
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": api_version(group, version),
        "resources": resources,
    }))
}

/// The OpenAPI v3 documents at `/openapi/v3` (the index of group versions)
/// and `/openapi/v3/api/v1`, `/openapi/v3/apis/<group>/<version>` (None for
/// any other path).
///
/// Kept to what clients read from them: every operation carries
/// `x-kubernetes-group-version-kind` and writes take the `fieldValidation`
/// query parameter, so kubectl leaves validation to the server instead of
/// validating on its own; schemas accept any object (the fake does not
/// validate object schemas). Schema names follow the reverse-domain
/// convention CRDs get (`dev.sparkplane.v1alpha1.SparkJob`). Resources
/// stored CRDs serve (`custom`, asked only for these paths) are listed as
/// the built-in ones, as the API server publishes CRDs.
pub fn openapi_v3(path: &str, custom: impl FnOnce() -> Vec<CustomResource>) -> Option<Value> {
    let rest = path.strip_prefix("/openapi/v3")?;
    let all = served(&custom());
    let mut versions: Vec<(&str, &str)> = Vec::new();
    for r in &all {
        if !versions.contains(&(r.group.as_str(), r.version.as_str())) {
            versions.push((&r.group, &r.version));
        }
    }
    let url = |group: &str, version: &str| {
        if group.is_empty() { format!("api/{version}") } else { format!("apis/{group}/{version}") }
    };
    if rest.is_empty() || rest == "/" {
        let paths: serde_json::Map<String, Value> = versions
            .iter()
            .map(|(g, v)| (url(g, v), json!({"serverRelativeURL": format!("/openapi/v3/{}", url(g, v))})))
            .collect();
        return Some(json!({"paths": paths}));
    }
    let (group, version) = versions.into_iter().find(|(g, v)| rest == format!("/{}", url(g, v)))?;
    let mut paths = serde_json::Map::new();
    let mut schemas = serde_json::Map::new();
    let query = |name: &str| json!({"name": name, "in": "query", "schema": {"type": "string"}, "uniqueItems": true});
    let writes = json!([query("dryRun"), query("fieldManager"), query("fieldValidation")]);
    for r in all.iter().filter(|r| r.group == group && r.version == version) {
        // One object on operations, a list on schemas, as the API server writes them.
        let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
        let schema_name = format!("{}.{}.{}", reverse_domain(&r.group), r.version, r.kind);
        let reference = json!({"$ref": format!("#/components/schemas/{schema_name}")});
        let body = json!({"content": {"application/json": {"schema": reference}}, "required": true});
        let answer = json!({"200": {"description": "OK", "content": {"application/json": {"schema": reference}}}});
        let operation = |verb: &str, action: &str, parameters: &Value, with_body: bool| {
            let mut op = json!({
                "operationId": format!("{verb}{}", r.kind),
                "parameters": parameters,
                "responses": answer,
                "x-kubernetes-action": action,
                "x-kubernetes-group-version-kind": gvk,
            });
            if with_body {
                op["requestBody"] = body.clone();
            }
            op
        };
        let scope = if r.namespaced { "/namespaces/{namespace}" } else { "" };
        let collection = format!("/{}{scope}/{}", url(group, version), r.plural);
        let none = json!([]);
        paths.insert(
            collection.clone(),
            json!({
                "get": operation("list", "list", &none, false),
                "post": operation("create", "post", &writes, true),
            }),
        );
        for item in [format!("{collection}/{{name}}"), format!("{collection}/{{name}}/status")] {
            paths.insert(
                item,
                json!({
                    "get": operation("read", "get", &none, false),
                    "put": operation("replace", "put", &writes, true),
                    "patch": operation("patch", "patch", &writes, true),
                    "delete": operation("delete", "delete", &json!([query("dryRun")]), false),
                }),
            );
        }
        schemas.insert(
            schema_name,
            json!({
                "type": "object",
                "x-kubernetes-preserve-unknown-fields": true,
                "x-kubernetes-group-version-kind": [gvk],
            }),
        );
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": version_info()["gitVersion"]},
        "paths": paths,
        "components": {"schemas": schemas},
    }))
}

/// `sparkplane.dev` → `dev.sparkplane`, as OpenAPI schema names spell groups (`io.k8s.api.core` for core).
fn reverse_domain(group: &str) -> String {
    if group.is_empty() {
        return "io.k8s.api.core".into();
    }
    group.split('.').rev().collect::<Vec<_>>().join(".")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_name_resources() {
        let Route::Resource(p) = route("/api/v1/namespaces/ns/pods/p1/log") else { panic!("not a resource") };
        assert_eq!((p.namespace.as_deref(), p.plural.as_str()), (Some("ns"), "pods"));
        assert_eq!((p.name.as_deref(), p.subresource.as_deref()), (Some("p1"), Some("log")));
        let Route::Resource(p) = route("/api/v1/namespaces/ns") else { panic!("not a resource") };
        assert_eq!((p.namespace, p.plural.as_str(), p.name.as_deref()), (None, "namespaces", Some("ns")));
        let Route::Resource(p) = route("/apis/batch/v1/namespaces/a/jobs") else { panic!("not a resource") };
        assert_eq!((p.api_version(), p.known().map(|k| k.kind)), ("batch/v1".to_owned(), Some("Job")));
        assert_eq!(route("/apis/batch/v1"), Route::ResourceList { group: "batch".into(), version: "v1".into() });
        assert_eq!(route("/healthz/x/y"), Route::Unknown);
        assert_eq!(guess_kind("widgets"), "Widget");
        assert_eq!(plural_of("v1", "ConfigMap", Vec::new), "configmaps");
    }

    /// kubectl reads these to learn that writes of a kind take
    /// `fieldValidation`, and then validates on the server instead of
    /// downloading schemas (verified with kubectl v1.33.1: `create -f`,
    /// `apply`, `apply --server-side` and `explain` work once it is routed).
    #[test]
    fn openapi_v3_documents_name_each_operation_and_its_field_validation() {
        let index = openapi_v3("/openapi/v3", Vec::new).expect("index");
        assert_eq!(
            index["paths"]["apis/sparkplane.dev/v1alpha1"],
            json!({"serverRelativeURL": "/openapi/v3/apis/sparkplane.dev/v1alpha1"})
        );
        assert_eq!(index["paths"]["api/v1"], json!({"serverRelativeURL": "/openapi/v3/api/v1"}));

        let document = openapi_v3("/openapi/v3/apis/sparkplane.dev/v1alpha1", Vec::new).expect("served");
        let gvk = json!({"group": "sparkplane.dev", "version": "v1alpha1", "kind": "SparkJob"});
        for item in ["sparkjobs/{name}", "sparkjobs/{name}/status"] {
            let patch =
                &document["paths"][format!("/apis/sparkplane.dev/v1alpha1/namespaces/{{namespace}}/{item}")]["patch"];
            assert_eq!(patch["x-kubernetes-group-version-kind"], gvk, "{item}: one object on operations");
            let in_query: Vec<&str> = patch["parameters"]
                .as_array()
                .map(|ps| ps.iter().filter(|p| p["in"] == "query").filter_map(|p| p["name"].as_str()).collect())
                .unwrap_or_default();
            assert_eq!(in_query, ["dryRun", "fieldManager", "fieldValidation"], "{item}");
        }
        let schema = &document["components"]["schemas"]["dev.sparkplane.v1alpha1.SparkJob"];
        assert_eq!(schema["x-kubernetes-group-version-kind"], json!([gvk]), "a list on schemas");
        let core = openapi_v3("/openapi/v3/api/v1", Vec::new).expect("served");
        assert!(core["paths"]["/api/v1/namespaces"]["post"].is_object(), "cluster-scoped paths have no namespace");
        assert_eq!(openapi_v3("/openapi/v3/apis/nope.example.com/v1", Vec::new), None);
        assert_eq!(openapi_v3("/api/v1", Vec::new), None);
    }

    #[test]
    fn discovery_lists_short_names_as_the_api_server_does() {
        let list = resource_list("sparkplane.dev", "v1alpha1", &[]).expect("served");
        let sparkjobs = &list["resources"][0];
        assert_eq!((sparkjobs["name"].as_str(), &sparkjobs["shortNames"]), (Some("sparkjobs"), &json!(["sj"])));
        assert!(list["resources"][1].get("shortNames").is_none(), "subresources have none");
        let core = resource_list("", "v1", &[]).expect("served");
        assert_eq!(core["resources"][0]["shortNames"], json!(["po"]));
        let secrets = core["resources"].as_array().and_then(|r| r.iter().find(|r| r["name"] == "secrets"));
        assert!(secrets.is_some_and(|s| s.get("shortNames").is_none()), "secrets have no short name");
    }

    #[test]
    fn a_stored_crd_adds_its_group_and_served_versions_to_discovery() {
        let crd = json!({"spec": {
            "group": "monitoring.coreos.com", "scope": "Namespaced",
            "names": {"plural": "servicemonitors", "kind": "ServiceMonitor", "shortNames": ["smon"]},
            "versions": [{"name": "v1", "served": true}, {"name": "v1alpha1", "served": false}],
        }});
        let custom = CustomResource::from_crd(&crd);
        assert_eq!(custom.len(), 1, "unserved versions are not listed");
        assert_eq!(resource_list("monitoring.coreos.com", "v1", &[]), None, "not before the CRD");
        let list = resource_list("monitoring.coreos.com", "v1", &custom).expect("served once stored");
        assert_eq!(list["resources"][0]["kind"], "ServiceMonitor");
        assert_eq!(list["resources"][0]["shortNames"], json!(["smon"]));
        let names: Vec<Value> = group_list(&custom)["groups"].as_array().cloned().unwrap_or_default();
        assert!(names.iter().any(|g| g["name"] == "monitoring.coreos.com"));
        assert_eq!(
            group("monitoring.coreos.com", &custom).map(|g| g["preferredVersion"]["version"].clone()),
            Some(json!("v1"))
        );
        let groups: Vec<&str> = names.iter().filter_map(|g| g["name"].as_str()).collect();
        let mut unique = groups.clone();
        unique.sort_unstable();
        unique.dedup();
        assert_eq!(unique.len(), groups.len(), "each group once: {groups:?}");
    }

    /// Two CRDs of one group serving different versions (Kubeflow's
    /// SparkApplication at v1beta2, its SparkConnect at v1alpha1): the group
    /// lists both, in the API server's priority order, the first preferred.
    #[test]
    fn a_group_lists_every_version_its_crds_serve_in_priority_order() {
        let crd = |plural: &str, kind: &str, version: &str| {
            json!({"spec": {"group": "sparkoperator.k8s.io", "scope": "Namespaced",
                "names": {"plural": plural, "kind": kind}, "versions": [{"name": version, "served": true}]}})
        };
        let mut custom = CustomResource::from_crd(&crd("sparkconnects", "SparkConnect", "v1alpha1"));
        custom.extend(CustomResource::from_crd(&crd("sparkapplications", "SparkApplication", "v1beta2")));
        let entry = group("sparkoperator.k8s.io", &custom).expect("served");
        let versions: Vec<&str> =
            entry["versions"].as_array().into_iter().flatten().filter_map(|v| v["version"].as_str()).collect();
        assert_eq!(versions, ["v1beta2", "v1alpha1"]);
        assert_eq!(
            entry["preferredVersion"],
            json!({"groupVersion": "sparkoperator.k8s.io/v1beta2", "version": "v1beta2"})
        );
        assert!(resource_list("sparkoperator.k8s.io", "v1alpha1", &custom).is_some());
        let mut ordered = ["v1alpha1", "v2", "v1beta1", "foo", "v1", "v1beta2", "v10alpha3", "v11alpha2", "v1beta"];
        ordered.sort_by(|a, b| version_priority(a).cmp(&version_priority(b)).then_with(|| a.cmp(b)));
        assert_eq!(ordered, ["v2", "v1", "v1beta2", "v1beta1", "v11alpha2", "v10alpha3", "v1alpha1", "foo", "v1beta"]);
    }

    /// Irregular plurals come from what serves the kind (the built-in table,
    /// a CRD's declared `names.plural`), never from adding an `s`.
    #[test]
    fn kinds_map_to_the_plurals_discovery_names() {
        let crd = json!({"spec": {
            "group": "example.com", "scope": "Namespaced",
            "names": {"plural": "mice", "kind": "Mouse"},
            "versions": [{"name": "v1", "served": true}],
        }});
        let custom = CustomResource::from_crd(&crd);
        let table = [
            ("networking.k8s.io/v1", "NetworkPolicy", "networkpolicies"),
            ("networking.k8s.io/v1", "Ingress", "ingresses"),
            ("v1", "Endpoints", "endpoints"),
            ("policy/v1beta1", "PodSecurityPolicy", "podsecuritypolicies"),
            ("v1", "ResourceQuota", "resourcequotas"),
            ("scheduling.k8s.io/v1", "PriorityClass", "priorityclasses"),
            ("sparkoperator.k8s.io/v1beta2", "SparkApplication", "sparkapplications"),
            ("sparkoperator.k8s.io/v1beta2", "ScheduledSparkApplication", "scheduledsparkapplications"),
            ("example.com/v1", "Mouse", "mice"),
            ("example.com/v2", "Mouse", "mouses"),
            ("example.com/v1", "Address", "addresses"),
            // The machinery's guess is that naive: a kind ending in y always gets ies (Gateway API's CRD declares `gateways`).
            ("example.com/v1", "Gateway", "gatewaies"),
            ("example.com/v1", "Widget", "widgets"),
        ];
        for (api_version, kind, plural) in table {
            assert_eq!(plural_of(api_version, kind, || custom.clone()), plural, "{api_version} {kind}");
        }
        assert_eq!(guess_plural(""), "");
    }
}
