//! RBAC for service-account identities, as the API server authorizes a
//! request: the verb, API group, resource (and subresource), namespace and
//! name against the stored ClusterRoleBindings (anywhere) and RoleBindings
//! (in the request's namespace), each pointing at a Role or ClusterRole.
//!
//! Identities: a bearer token `system:serviceaccount:<namespace>:<name>` is
//! that service account ([`service_account_token`]; the fake takes the token
//! at its word, it does not sign or check tokens). Any other token, or none,
//! is a cluster administrator, as before this module existed, so tests that
//! do not ask for RBAC are not affected. A request may act as another user
//! with the `Impersonate-User` header (kubectl's `--as`; client-go sends no
//! bearer token over plain HTTP, so this is how kubectl acts as a service
//! account here): an administrator may impersonate anyone, a service account
//! only with the `impersonate` verb on `serviceaccounts` (or `users`), and
//! the impersonated user is then authorized, matched against `ServiceAccount`
//! or `User` subjects. Discovery, `/version` and OpenAPI are open to every
//! identity (as `system:discovery` allows).
//!
//! Not modelled: groups (`system:serviceaccounts`, `Impersonate-Group`),
//! aggregated ClusterRoles, and escalation checks on creating Roles.

use serde_json::Value;

use crate::answer::{Answer, status};
use crate::resources::{ResourcePath, Route};
use crate::store::Store;

/// The prefix of a service account's user name (and of the fake's token for it).
const PREFIX: &str = "system:serviceaccount:";

/// The bearer token the fake reads as this service account.
pub fn service_account_token(namespace: &str, name: &str) -> String {
    format!("{PREFIX}{namespace}:{name}")
}

/// What a request asks to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes {
    /// `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`.
    pub verb: String,
    /// API group ("" for core).
    pub group: String,
    /// Plural resource, with `/subresource` when there is one.
    pub resource: String,
    /// The namespace, when the request is namespaced.
    pub namespace: Option<String>,
    /// The object's name (empty for collections and creates).
    pub name: String,
}

/// A request's attributes (None for paths that are not resources).
pub fn attributes(method: &str, path: &str, watch: bool) -> Option<Attributes> {
    let Route::Resource(p) = crate::resources::route(path) else { return None };
    let ResourcePath { group, namespace, plural, name, subresource, .. } = p;
    let verb = match (method, name.is_some()) {
        ("GET", _) if watch => "watch",
        ("GET", true) => "get",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => return None,
    };
    // `/api/v1/namespaces/N` names the Namespace N, not something in it.
    let namespace = if plural == "namespaces" && group.is_empty() { None } else { namespace };
    let resource = match subresource {
        Some(sub) => format!("{plural}/{sub}"),
        None => plural,
    };
    // A create's name is in its body; the API server authorizes it without one.
    let name = if verb == "create" { String::new() } else { name.unwrap_or_default() };
    Some(Attributes { verb: verb.to_owned(), group, resource, namespace, name })
}

/// What a server-side apply must also be allowed when it creates the
/// object it names: `create` on the same resource, with the object's name
/// (the API server's patch handler wraps the create path's validation in
/// this authorization check; the request itself was authorized as `patch`).
/// None for any other request.
pub fn create_on_apply(method: &str, path: &str, content_type: Option<&str>) -> Option<Attributes> {
    let apply = content_type.is_some_and(|t| t.starts_with("application/apply-patch"));
    if !apply || !method.eq_ignore_ascii_case("PATCH") {
        return None;
    }
    let Route::Resource(p) = crate::resources::route(path) else { return None };
    let mut attributes = attributes("PATCH", path, false)?;
    attributes.verb = "create".into();
    attributes.name = p.name.unwrap_or_default();
    Some(attributes)
}

/// `Ok` when the user may create what an apply would create
/// ([`create_on_apply`]), else the 403 the API server's create-on-patch
/// check answers: `<resource> "<name>" is forbidden: <reason>`, where the
/// reason is the authorizer's (RBAC gives none for a request no rule
/// allows, so the message ends after the colon).
pub fn authorize_create_on_apply(store: &Store, user: Option<&str>, request: &Attributes) -> Result<(), Answer> {
    if allowed(store, user, request) {
        return Ok(());
    }
    let (plural, _) = request.resource.split_once('/').unwrap_or((&request.resource, ""));
    let qualified = if request.group.is_empty() { plural.to_owned() } else { format!("{plural}.{}", request.group) };
    Err(status(
        403,
        "Forbidden",
        format!("{qualified} \"{}\" is forbidden: ", request.name),
        serde_json::json!({"name": request.name, "group": request.group, "kind": plural}),
    ))
}

/// The user a request acts as (None: an administrator), from its bearer
/// token and `Impersonate-User` header; the 403 the API server answers
/// when a service account may not impersonate that user.
pub fn user(store: &Store, token: Option<&str>, impersonate: Option<&str>) -> Result<Option<String>, Answer> {
    let requester = token.filter(|t| t.starts_with(PREFIX)).map(str::to_owned);
    let Some(target) = impersonate.map(str::trim).filter(|t| !t.is_empty()) else { return Ok(requester) };
    let request = match target.strip_prefix(PREFIX).and_then(|r| r.split_once(':')) {
        Some((namespace, name)) => Attributes {
            verb: "impersonate".into(),
            group: String::new(),
            resource: "serviceaccounts".into(),
            namespace: Some(namespace.to_owned()),
            name: name.to_owned(),
        },
        None => Attributes {
            verb: "impersonate".into(),
            group: String::new(),
            resource: "users".into(),
            namespace: None,
            name: target.to_owned(),
        },
    };
    match &requester {
        Some(sa) if !allowed(store, Some(sa), &request) => Err(forbidden(sa, &request)),
        _ => Ok(Some(target.to_owned())),
    }
}

/// `Ok` when the user may do what the attributes say, else the API
/// server's 403.
pub fn authorize(store: &Store, user: Option<&str>, request: &Attributes) -> Result<(), Answer> {
    if allowed(store, user, request) {
        return Ok(());
    }
    Err(forbidden(user.unwrap_or_default(), request))
}

/// Whether the user may do what the attributes say (None, an
/// administrator, may do anything).
fn allowed(store: &Store, user: Option<&str>, request: &Attributes) -> bool {
    let Some(user) = user else { return true };
    let account = user.strip_prefix(PREFIX).and_then(|r| r.split_once(':'));
    let is_subject = |binding: &Value| {
        binding["subjects"].as_array().into_iter().flatten().any(|s| match account {
            Some((namespace, name)) => {
                s["kind"] == "ServiceAccount"
                    && s["name"].as_str() == Some(name)
                    && s["namespace"].as_str() == Some(namespace)
            }
            None => s["kind"] == "User" && s["name"].as_str() == Some(user),
        })
    };
    let role_rules = |binding: &Value, binding_namespace: Option<&str>| -> Vec<Value> {
        let kind = binding["roleRef"]["kind"].as_str().unwrap_or_default();
        let name = binding["roleRef"]["name"].as_str().unwrap_or_default();
        let role = match kind {
            "ClusterRole" => store.stored("rbac.authorization.k8s.io/v1", "clusterroles", None, name),
            "Role" => store.stored("rbac.authorization.k8s.io/v1", "roles", binding_namespace, name),
            _ => None,
        };
        role.and_then(|r| r["rules"].as_array().cloned()).unwrap_or_default()
    };
    let mut rules: Vec<Value> = Vec::new();
    for binding in store.all("rbac.authorization.k8s.io/v1", "clusterrolebindings").filter(|b| is_subject(b)) {
        rules.extend(role_rules(binding, None));
    }
    if let Some(namespace) = &request.namespace {
        for binding in store
            .all("rbac.authorization.k8s.io/v1", "rolebindings")
            .filter(|b| b["metadata"]["namespace"].as_str() == Some(namespace.as_str()) && is_subject(b))
        {
            rules.extend(role_rules(binding, Some(namespace)));
        }
    }
    rules.iter().any(|rule| allows(rule, request))
}

fn allows(rule: &Value, request: &Attributes) -> bool {
    let has = |field: &str, wanted: &str| {
        rule[field].as_array().is_some_and(|l| l.iter().any(|v| v.as_str() == Some("*") || v.as_str() == Some(wanted)))
    };
    let names = rule["resourceNames"].as_array().map(Vec::as_slice).unwrap_or_default();
    has("apiGroups", &request.group)
        && has("resources", &request.resource)
        && has("verbs", &request.verb)
        && (names.is_empty() || names.iter().any(|n| n.as_str() == Some(request.name.as_str())))
}

fn forbidden(user: &str, request: &Attributes) -> Answer {
    let (plural, _) = request.resource.split_once('/').unwrap_or((&request.resource, ""));
    let qualified = if request.group.is_empty() { plural.to_owned() } else { format!("{plural}.{}", request.group) };
    let object = if request.name.is_empty() { qualified } else { format!("{qualified} \"{}\"", request.name) };
    let scope = match &request.namespace {
        Some(ns) => format!("in the namespace \"{ns}\""),
        None => "at the cluster scope".to_owned(),
    };
    status(
        403,
        "Forbidden",
        format!(
            "{object} is forbidden: User \"{user}\" cannot {} resource \"{}\" in API group \"{}\" {scope}",
            request.verb, request.resource, request.group
        ),
        serde_json::json!({"name": request.name, "group": request.group, "kind": plural}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn store() -> Store {
        let mut store = Store::default();
        store.put(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": "reader"},
            "rules": [{"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list", "watch"]}],
        }));
        store.put(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role", "metadata": {"name": "lease", "namespace": "ops"},
            "rules": [{"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "resourceNames": ["mine"], "verbs": ["get", "update"]},
                      {"apiGroups": ["coordination.k8s.io"], "resources": ["leases"], "verbs": ["create"]}],
        }));
        let subject = json!([{"kind": "ServiceAccount", "name": "op", "namespace": "ops"}]);
        store.put(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "read", "namespace": "team-a"},
            "roleRef": {"kind": "ClusterRole", "name": "reader"}, "subjects": subject,
        }));
        store.put(json!({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": {"name": "lease", "namespace": "ops"},
            "roleRef": {"kind": "Role", "name": "lease"}, "subjects": subject,
        }));
        store
    }

    fn check(method: &str, path: &str) -> Result<(), String> {
        let request = attributes(method, path, false).expect("a resource path");
        authorize(&store(), Some(&service_account_token("ops", "op")), &request).map_err(|a| match a {
            Answer::Json(code, body) => format!("{code} {}", body["message"].as_str().unwrap_or_default()),
            Answer::Text(code, text) => format!("{code} {text}"),
        })
    }

    #[test]
    fn a_service_account_may_do_what_its_bindings_grant_where_they_grant_it() {
        assert_eq!(check("GET", "/api/v1/namespaces/team-a/pods"), Ok(()));
        assert_eq!(check("GET", "/api/v1/namespaces/team-a/pods/p/log"), Ok(()));
        assert_eq!(
            check("GET", "/api/v1/namespaces/team-b/pods"),
            Err("403 pods is forbidden: User \"system:serviceaccount:ops:op\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-b\"".into())
        );
        assert_eq!(
            check("DELETE", "/api/v1/namespaces/team-a/pods/p"),
            Err("403 pods \"p\" is forbidden: User \"system:serviceaccount:ops:op\" cannot delete resource \"pods\" in API group \"\" in the namespace \"team-a\"".into())
        );
        assert!(check("GET", "/api/v1/pods").is_err_and(|e| e.ends_with("at the cluster scope")));
    }

    #[test]
    fn resource_names_limit_gets_and_updates_but_not_creates() {
        assert_eq!(check("GET", "/apis/coordination.k8s.io/v1/namespaces/ops/leases/mine"), Ok(()));
        assert!(check("PUT", "/apis/coordination.k8s.io/v1/namespaces/ops/leases/theirs").is_err());
        assert_eq!(check("POST", "/apis/coordination.k8s.io/v1/namespaces/ops/leases"), Ok(()));
    }

    #[test]
    fn other_tokens_are_administrators_and_discovery_is_open() {
        let request = attributes("DELETE", "/api/v1/namespaces/x/pods/p", false).expect("resource");
        assert_eq!(user(&store(), Some("fake-token"), None), Ok(None));
        assert_eq!(user(&store(), None, None), Ok(None));
        assert_eq!(authorize(&store(), None, &request), Ok(()));
        assert_eq!(attributes("GET", "/apis/apps/v1", false), None);
        assert_eq!(attributes("GET", "/version", false), None);
        let watch = attributes("GET", "/api/v1/namespaces/team-a/pods", true).expect("resource");
        assert_eq!(watch.verb, "watch");
        let ns = attributes("GET", "/api/v1/namespaces/team-a", false).expect("resource");
        assert_eq!((ns.resource.as_str(), ns.namespace), ("namespaces", None));
    }

    #[test]
    fn an_administrator_may_impersonate_and_the_impersonated_user_is_authorized() {
        let store = store();
        let sa = service_account_token("ops", "op");
        assert_eq!(user(&store, Some("fake-token"), Some(&sa)), Ok(Some(sa.clone())));
        assert_eq!(user(&store, None, Some("jane")), Ok(Some("jane".into())));
        let list = attributes("GET", "/api/v1/namespaces/team-a/pods", false).expect("resource");
        assert_eq!(authorize(&store, Some(&sa), &list), Ok(()));
        assert!(authorize(&store, Some("jane"), &list).is_err(), "a user no binding names may do nothing");
        let refused = user(&store, Some(&sa), Some("jane")).map_err(|a| match a {
            Answer::Json(code, body) => format!("{code} {}", body["message"].as_str().unwrap_or_default()),
            Answer::Text(code, text) => format!("{code} {text}"),
        });
        assert_eq!(
            refused,
            Err("403 users \"jane\" is forbidden: User \"system:serviceaccount:ops:op\" cannot impersonate resource \"users\" in API group \"\" at the cluster scope".into())
        );
    }

    #[test]
    fn an_apply_that_creates_is_also_authorized_as_create_with_the_name() {
        let create = create_on_apply(
            "PATCH",
            "/apis/coordination.k8s.io/v1/namespaces/ops/leases/theirs",
            Some("application/apply-patch+yaml"),
        )
        .expect("an apply");
        assert_eq!((create.verb.as_str(), create.name.as_str()), ("create", "theirs"));
        assert_eq!(create_on_apply("PATCH", "/api/v1/namespaces/x/pods/p", Some("application/merge-patch+json")), None);
        assert_eq!(create_on_apply("POST", "/api/v1/namespaces/x/pods", Some("application/apply-patch+yaml")), None);
        let op = service_account_token("ops", "op");
        assert_eq!(authorize_create_on_apply(&store(), Some(&op), &create), Ok(()), "the Role grants create on leases");
        let pods = create_on_apply("PATCH", "/api/v1/namespaces/team-a/pods/p", Some("application/apply-patch+yaml"))
            .expect("an apply");
        let refused = authorize_create_on_apply(&store(), Some(&op), &pods);
        assert_eq!(
            refused.map_err(|a| match a {
                Answer::Json(code, body) => (code, body["message"].clone()),
                Answer::Text(code, text) => (code, json!(text)),
            }),
            Err((403, json!("pods \"p\" is forbidden: ")))
        );
    }
}
