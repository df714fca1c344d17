//! The fake's state and the API server's semantics over it: create, get,
//! list (paged by `pagination`), replace, the four patch types, delete (as
//! `deletion` plans it; owned objects are the garbage collector's, `gc`),
//! dry runs, resource versions and the event history watches read.
//!
//! No HTTP here: each operation takes a parsed request and gives an
//! [`Answer`]; `lib.rs` carries bytes.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use serde_json::{Value, json};

use crate::admission;
pub use crate::answer::{Answer, status};
use crate::apply;
use crate::deletion;
pub use crate::deletion::DeleteOptions;
use crate::list_types::{self, ListTypes};
use crate::managed_fields::{self, Writer};
use crate::pagination::{self, Page};
use crate::resources::{self, ResourcePath};
use crate::schema;
use crate::selector::{FieldSelector, LabelSelector};

/// One change, as watches see it.
#[derive(Clone, Debug)]
pub struct Event {
    /// The resource version the change produced.
    pub rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub kind: &'static str,
    /// apiVersion and plural of the object.
    pub api_version: String,
    /// Plural.
    pub plural: String,
    /// Namespace.
    pub namespace: Option<String>,
    /// The object after the change (before it, for deletions), shared by
    /// every watch that sends it: a watch takes it under the lock without a
    /// copy and writes it out after letting go.
    pub object: Arc<Value>,
}

/// How many changes the history keeps (about; it is trimmed in batches):
/// a watch that falls further behind gets 410 Gone, as past etcd's compaction.
pub const EVENT_WINDOW: usize = 100_000;

/// Identity of a stored object: apiVersion, plural, namespace, name.
pub type Key = (String, String, Option<String>, String);

/// A CRD version's compiled schema, with the CRD's uid and resourceVersion it was compiled from.
type CompiledSchema = (String, Arc<schema::Compiled>);

/// Everything the fake holds.
#[derive(Debug, Default)]
pub struct Store {
    /// Stored objects.
    pub objects: BTreeMap<Key, Value>,
    /// Every change so far, oldest first.
    pub events: Vec<Event>,
    /// The latest resource version handed out.
    pub rv: u64,
    uids: u64,
    /// Changes up to this resource version are forgotten (see [`Store::compact`]).
    compacted: u64,
    /// Pod logs by (namespace, name).
    pub logs: BTreeMap<(String, String), String>,
    /// Paged lists with pages left (`pagination`).
    pages: pagination::Snapshots,
    /// Each CRD version's schema compiled for admission, by group, version
    /// and plural, with the CRD's uid and resourceVersion it was compiled
    /// from (compiled again once the CRD changes).
    schemas: RefCell<HashMap<(String, String, String), CompiledSchema>>,
}

fn group_of(path: &ResourcePath) -> &str {
    &path.group
}

fn not_found(path: &ResourcePath, name: &str) -> Answer {
    status(
        404,
        "NotFound",
        format!("{} \"{name}\" not found", qualified(path)),
        json!({"name": name, "group": group_of(path), "kind": path.plural}),
    )
}

/// `plural.group` as the API server names a resource in messages (`sparkjobs.sparkplane.dev`, `pods`).
fn qualified(path: &ResourcePath) -> String {
    if path.group.is_empty() { path.plural.clone() } else { format!("{}.{}", path.plural, path.group) }
}

/// Whether a delete answers with the deleted object, as the API server's
/// storage for pods, services, service accounts and namespaces does
/// (`ReturnDeletedObject`); every other resource, custom resources included,
/// answers with a `Success` Status naming what went.
fn returns_deleted_object(path: &ResourcePath) -> bool {
    path.group.is_empty() && matches!(path.plural.as_str(), "pods" | "services" | "serviceaccounts" | "namespaces")
}

/// What a delete that removed (or would remove) `object` answers.
fn deleted(path: &ResourcePath, object: Value) -> Answer {
    if returns_deleted_object(path) {
        return Answer::Json(200, object);
    }
    Answer::Json(
        200,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Success",
            "details": {
                "name": object["metadata"]["name"],
                "group": group_of(path),
                "kind": path.plural,
                "uid": object["metadata"]["uid"],
            },
        }),
    )
}

fn bad_request(message: String) -> Answer {
    status(400, "BadRequest", message, json!({}))
}

/// Now, as the API server writes timestamps.
pub fn now() -> String {
    k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn is_final(phase: &str) -> bool {
    phase == "Succeeded" || phase == "Failed"
}

/// What a write request carries besides its body.
#[derive(Clone, Debug, Default)]
pub struct WriteOptions {
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `fieldManager`: who owns what the write sets (`managed_fields`).
    pub field_manager: Option<String>,
    /// `force=true`: an apply takes conflicting fields from their managers.
    pub force: bool,
    /// `User-Agent`: the manager of a write without `fieldManager` is its first word.
    pub user_agent: Option<String>,
    /// For an apply whose requester may not `create` (`rbac::create_on_apply`):
    /// the 403 it answers if it would create the object.
    pub create_forbidden: Option<Answer>,
}

impl WriteOptions {
    /// The manager a write records: `fieldManager`, else from the user agent.
    fn manager(&self) -> String {
        match self.field_manager.as_deref().filter(|m| !m.is_empty()) {
            Some(manager) => manager.to_owned(),
            None => managed_fields::manager_from_user_agent(self.user_agent.as_deref()),
        }
    }
}

impl Store {
    fn next_rv(&mut self) -> u64 {
        self.rv += 1;
        self.rv
    }

    fn next_uid(&mut self) -> String {
        self.uids += 1;
        format!("{:08x}-0000-4000-8000-{:012x}", self.uids, self.uids)
    }

    fn key(path: &ResourcePath, name: &str) -> Key {
        (path.api_version(), path.plural.clone(), path.namespace.clone(), name.to_owned())
    }

    /// One stored object by API version, plural, namespace and name.
    pub fn stored(&self, api_version: &str, plural: &str, namespace: Option<&str>, name: &str) -> Option<&Value> {
        self.objects.get(&(api_version.to_owned(), plural.to_owned(), namespace.map(str::to_owned), name.to_owned()))
    }

    /// Every stored object of an API version and plural, in every namespace.
    pub fn all<'a>(&'a self, api_version: &'a str, plural: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
        self.objects.iter().filter(move |((av, p, _, _), _)| av == api_version && p == plural).map(|(_, v)| v)
    }

    /// The resources stored CustomResourceDefinitions serve.
    pub fn custom_resources(&self) -> Vec<resources::CustomResource> {
        self.crds().flat_map(resources::CustomResource::from_crd).collect()
    }

    /// The plural of a kind ([`resources::plural_of`] over the stored CRDs).
    pub fn plural_of(&self, api_version: &str, kind: &str) -> String {
        resources::plural_of(api_version, kind, || self.custom_resources())
    }

    /// The kind served at a path.
    pub fn kind_for(&self, path: &ResourcePath) -> String {
        if let Some(known) = path.known() {
            return known.kind.to_owned();
        }
        if let Some(custom) = self
            .custom_resources()
            .into_iter()
            .find(|r| r.group == path.group && r.version == path.version && r.plural == path.plural)
        {
            return custom.kind;
        }
        let api_version = path.api_version();
        self.objects
            .iter()
            .find(|((av, plural, _, _), _)| *av == api_version && *plural == path.plural)
            .and_then(|(_, v)| v["kind"].as_str().map(str::to_owned))
            .unwrap_or_else(|| resources::guess_kind(&path.plural))
    }

    fn record(&mut self, kind: &'static str, path: &ResourcePath, object: &Value) {
        let rv = object["metadata"]["resourceVersion"].as_str().and_then(|s| s.parse().ok()).unwrap_or(self.rv);
        self.events.push(Event {
            rv,
            kind,
            api_version: path.api_version(),
            plural: path.plural.clone(),
            namespace: path.namespace.clone(),
            object: Arc::new(object.clone()),
        });
        if self.events.len() > 2 * EVENT_WINDOW {
            self.compact_to(EVENT_WINDOW);
        }
    }

    /// The stored ValidatingAdmissionPolicies and their bindings, applied to
    /// a write (subresources are not admitted, as status writes are not).
    fn admission(
        &self,
        path: &ResourcePath,
        operation: &str,
        object: &Value,
        old: Option<&Value>,
    ) -> Result<(), Answer> {
        if path.subresource.is_some() {
            return Ok(());
        }
        // One key range per plural, not a scan of every object on every write.
        let of = |plural: &str| -> Vec<&Value> {
            let from: Key = ("admissionregistration.k8s.io/v1".into(), plural.into(), None, String::new());
            self.objects
                .range(from..)
                .take_while(|((av, p, _, _), _)| av == "admissionregistration.k8s.io/v1" && p == plural)
                .map(|(_, v)| v)
                .collect()
        };
        let policies = of("validatingadmissionpolicies");
        if policies.is_empty() {
            return Ok(());
        }
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .and_then(|ns| self.objects.get(&("v1".to_owned(), "namespaces".to_owned(), None, ns.to_owned())));
        let policies = admission::Policies { policies, bindings: of("validatingadmissionpolicybindings"), namespace };
        admission::admit(&policies, &admission::Request { path, operation, object, old })
    }

    /// Checks a body against the path and fills what the server owns.
    fn admit(&mut self, path: &ResourcePath, mut body: Value) -> Result<Value, Answer> {
        if !body.is_object() {
            return Err(bad_request("the body must be a JSON or YAML object".into()));
        }
        let api_version = path.api_version();
        match body["apiVersion"].as_str() {
            None => body["apiVersion"] = json!(api_version),
            Some(v) if v != api_version => {
                return Err(bad_request(format!("apiVersion {v} does not match the path ({api_version})")));
            }
            Some(_) => {}
        }
        let kind = self.kind_for(path);
        match body["kind"].as_str() {
            None => body["kind"] = json!(kind),
            Some(k) if path.known().is_some() && k != kind => {
                return Err(bad_request(format!("kind {k} does not match the path ({kind})")));
            }
            Some(_) => {}
        }
        if !body["metadata"].is_object() {
            body["metadata"] = json!({});
        }
        let meta = &mut body["metadata"];
        if meta["name"].as_str().is_none_or(str::is_empty) {
            match meta["generateName"].as_str() {
                Some(prefix) => {
                    let name = format!("{prefix}{}", suffix(self.uids + 1));
                    meta["name"] = json!(name);
                }
                None => {
                    return Err(status(
                        422,
                        "Invalid",
                        format!(
                            "{kind} \"\" is invalid: metadata.name: Required value: name or generateName is required"
                        ),
                        json!({"kind": kind}),
                    ));
                }
            }
        }
        match (&path.namespace, meta["namespace"].as_str()) {
            (Some(ns), None) => meta["namespace"] = json!(ns),
            (Some(ns), Some(given)) if given != ns => {
                return Err(bad_request(format!(
                    "the namespace of the provided object ({given}) does not match the namespace sent on the request ({ns})"
                )));
            }
            (None, Some(_)) if path.known().is_some_and(|k| !k.namespaced) => {
                if let Some(m) = meta.as_object_mut() {
                    m.remove("namespace");
                }
            }
            _ => {}
        }
        if let Some(refused) = too_large(path, &body).or_else(|| annotations_too_large(&kind, &body)) {
            return Err(refused);
        }
        Ok(body)
    }

    /// The stored CustomResourceDefinitions.
    fn crds(&self) -> impl Iterator<Item = &Value> {
        // Keys sort by apiVersion and plural first: the CRDs are one range, not a scan of everything.
        let from: Key = ("apiextensions.k8s.io/v1".into(), "customresourcedefinitions".into(), None, String::new());
        self.objects
            .range(from..)
            .take_while(|((av, plural, _, _), _)| {
                av == "apiextensions.k8s.io/v1" && plural == "customresourcedefinitions"
            })
            .map(|(_, crd)| crd)
    }

    /// The list types of a resource (its CRD's schema, else the built-in table).
    fn list_types(&self, path: &ResourcePath) -> Box<dyn ListTypes + '_> {
        list_types::for_resource(self.crds(), &path.group, &path.version, &path.plural)
    }

    /// CRD admission (`schema`: pruning, defaults, validation) when a stored CRD serves the path.
    fn admit_schema(&self, path: &ResourcePath, object: Value, old: Option<&Value>) -> Result<Value, Answer> {
        let Some(crd) = schema::crd_version(self.crds(), &path.group, &path.version, &path.plural) else {
            return Ok(object);
        };
        let compiled = self.compiled_schema(path, &crd);
        schema::admit_compiled(&crd, &compiled, object, old, old.is_none())
    }

    /// The CRD version's schema compiled for admission: once per CRD write, not per object.
    fn compiled_schema(&self, path: &ResourcePath, crd: &schema::CrdVersion<'_>) -> Arc<schema::Compiled> {
        let stamp = self
            .crds()
            .find(|c| c["spec"]["group"] == path.group.as_str() && c["spec"]["names"]["plural"] == path.plural.as_str())
            .map(|c| format!("{}/{}", c["metadata"]["uid"], c["metadata"]["resourceVersion"]))
            .unwrap_or_default();
        let key = (path.group.clone(), path.version.clone(), path.plural.clone());
        let mut cache = self.schemas.borrow_mut();
        if let Some((seen, compiled)) = cache.get(&key)
            && *seen == stamp
        {
            return Arc::clone(compiled);
        }
        let compiled = Arc::new(schema::Compiled::new(crd.schema));
        cache.insert(key, (stamp, Arc::clone(&compiled)));
        compiled
    }

    /// POST to a collection.
    pub fn create(&mut self, path: &ResourcePath, body: Value, options: &WriteOptions) -> Answer {
        self.create_as(path, body, options, "Update")
    }

    /// A create recorded as `operation` (`Apply` when an apply creates).
    fn create_as(&mut self, path: &ResourcePath, body: Value, options: &WriteOptions, operation: &str) -> Answer {
        let body = self.admit(path, body).and_then(|b| self.admit_schema(path, b, None));
        let mut body = match body {
            Ok(b) => b,
            Err(answer) => return answer,
        };
        // Authorized after the object is formed and validated, before admission and storage, as the API server does.
        if let Some(refused) = &options.create_forbidden {
            return refused.clone();
        }
        let name = body["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let key = Self::key(path, &name);
        if self.objects.contains_key(&key) {
            let group = group_of(path).to_owned();
            return status(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", qualified(path)),
                json!({"name": name, "group": group, "kind": path.plural}),
            );
        }
        if let Err(refused) = self.admission(path, "CREATE", &body, None) {
            return refused;
        }
        let uid = self.next_uid();
        let meta = &mut body["metadata"];
        meta["uid"] = json!(uid);
        meta["creationTimestamp"] = json!(now());
        meta["generation"] = json!(1);
        if let Some(m) = meta.as_object_mut() {
            m.remove("managedFields");
        }
        let (manager, time, api_version) = (options.manager(), now(), path.api_version());
        let writer = Writer { manager: &manager, operation, api_version: &api_version, status: false, time: &time };
        managed_fields::record_update(None, &mut body, &writer, self.list_types(path).as_ref());
        if path.plural == "pods" && path.group.is_empty() {
            let phase = body["status"]["phase"].as_str().unwrap_or("Pending").to_owned();
            body["status"] = json!({"phase": phase, "qosClass": "Burstable"});
        }
        if options.dry_run {
            body["metadata"]["resourceVersion"] = json!(self.rv.to_string());
            return Answer::Json(201, body);
        }
        let rv = self.next_rv();
        body["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record("ADDED", path, &body);
        self.objects.insert(key, body.clone());
        Answer::Json(201, body)
    }

    /// 404 for `/status` of a custom resource whose CRD does not declare the
    /// status subresource (the API server does not serve it).
    fn unserved_status(&self, path: &ResourcePath) -> Option<Answer> {
        let unserved = path.subresource.as_deref() == Some("status")
            && schema::crd_version(self.crds(), &path.group, &path.version, &path.plural)
                .is_some_and(|crd| !crd.status_subresource);
        unserved.then(|| status(404, "NotFound", "the server could not find the requested resource".into(), json!({})))
    }

    /// GET one object (or its status subresource).
    pub fn get(&self, path: &ResourcePath, name: &str) -> Answer {
        if let Some(unserved) = self.unserved_status(path) {
            return unserved;
        }
        match self.objects.get(&Self::key(path, name)) {
            Some(object) => Answer::Json(200, object.clone()),
            None => not_found(path, name),
        }
    }

    /// Objects of a collection matching the selectors (all namespaces when the path has none).
    pub fn matching(&self, path: &ResourcePath, labels: &LabelSelector, fields: &FieldSelector) -> Vec<(Key, Value)> {
        let api_version = path.api_version();
        self.objects
            .iter()
            .filter(|((av, plural, ns, _), _)| {
                *av == api_version && *plural == path.plural && (path.namespace.is_none() || *ns == path.namespace)
            })
            .filter(|(_, v)| labels.matches(v) && fields.matches(v))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// LIST a collection.
    pub fn list(&self, path: &ResourcePath, labels: &LabelSelector, fields: &FieldSelector) -> Answer {
        let items: Vec<Value> = self.matching(path, labels, fields).into_iter().map(|(_, v)| v).collect();
        Answer::Json(
            200,
            json!({
                "kind": format!("{}List", self.kind_for(path)),
                "apiVersion": path.api_version(),
                "metadata": {"resourceVersion": self.rv.to_string()},
                "items": items,
            }),
        )
    }

    /// LIST a collection one page at a time (`limit`, `continue`; see `pagination`).
    pub fn list_page(
        &mut self,
        path: &ResourcePath,
        labels: &LabelSelector,
        fields: &FieldSelector,
        page: &Page,
    ) -> Answer {
        if page.limit.is_none_or(|l| l == 0) && page.token.is_none() {
            return self.list(path, labels, fields);
        }
        let items: Vec<Value> = self.matching(path, labels, fields).into_iter().map(|(_, v)| v).collect();
        let paged = match self.pages.page(page, items, self.rv) {
            Ok(paged) => paged,
            Err(answer) => return answer,
        };
        let mut metadata = json!({"resourceVersion": paged.rv.to_string()});
        if let Some(next) = paged.next {
            metadata["continue"] = json!(next);
        }
        if let Some(remaining) = paged.remaining {
            metadata["remainingItemCount"] = json!(remaining);
        }
        Answer::Json(
            200,
            json!({
                "kind": format!("{}List", self.kind_for(path)),
                "apiVersion": path.api_version(),
                "metadata": metadata,
                "items": paged.items,
            }),
        )
    }

    /// Stores a changed object: server fields kept, resourceVersion and generation bumped.
    fn update(
        &mut self,
        path: &ResourcePath,
        old: &Value,
        mut new: Value,
        subresource_status: bool,
        options: &WriteOptions,
        applied: bool,
    ) -> Answer {
        if let Some(given) = new["metadata"]["resourceVersion"].as_str()
            && Some(given) != old["metadata"]["resourceVersion"].as_str()
        {
            let name = old["metadata"]["name"].as_str().unwrap_or_default();
            return status(
                409,
                "Conflict",
                format!(
                    "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                    qualified(path)
                ),
                json!({"name": name, "group": group_of(path), "kind": path.plural}),
            );
        }
        let custom = !list_types::built_in_group(&path.group);
        let with_status = schema::crd_version(self.crds(), &path.group, &path.version, &path.plural)
            .is_none_or(|crd| crd.status_subresource);
        split_status(old, &mut new, subresource_status, custom, with_status);
        for field in
            ["uid", "creationTimestamp", "name", "namespace", "deletionTimestamp", "deletionGracePeriodSeconds"]
        {
            if let Some(v) = old["metadata"].get(field) {
                new["metadata"][field] = v.clone();
            }
        }
        new["apiVersion"] = old["apiVersion"].clone();
        new["kind"] = old["kind"].clone();
        new = match self.admit_schema(path, new, Some(old)) {
            Ok(admitted) => admitted,
            Err(refused) => return refused,
        };
        if applied {
            // `apply` recorded the ownership; the server's own fields were put back above.
        } else {
            let (manager, time, api_version) = (options.manager(), now(), path.api_version());
            let writer = Writer {
                manager: &manager,
                operation: "Update",
                api_version: &api_version,
                status: subresource_status,
                time: &time,
            };
            managed_fields::record_update(Some(old), &mut new, &writer, self.list_types(path).as_ref());
        }
        if !subresource_status && let Some(refused) = immutable_changed(path, old, &new) {
            return refused;
        }
        if !subresource_status && let Err(refused) = self.admission(path, "UPDATE", &new, Some(old)) {
            return refused;
        }
        new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if options.dry_run || new == *old {
            // A write that changes nothing is not stored: no new resourceVersion, no watch event.
            return Answer::Json(200, new);
        }
        let rv = self.next_rv();
        new["metadata"]["resourceVersion"] = json!(rv.to_string());
        let name = old["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let key = Self::key(path, &name);
        self.objects.insert(key.clone(), new.clone());
        if deletion::released(&new) {
            // The last finalizer went (and no grace period is pending): the marked object is deleted now.
            self.remove(&key);
            return Answer::Json(200, new);
        }
        self.record("MODIFIED", path, &new);
        Answer::Json(200, new)
    }

    /// PUT: replace an existing object.
    pub fn replace(&mut self, path: &ResourcePath, name: &str, body: Value, options: &WriteOptions) -> Answer {
        if let Some(unserved) = self.unserved_status(path) {
            return unserved;
        }
        let Some(old) = self.objects.get(&Self::key(path, name)).cloned() else {
            return not_found(path, name);
        };
        if body["metadata"]["name"].as_str().is_some_and(|n| n != name) {
            return bad_request(format!("the name of the object does not match the name on the URL ({name})"));
        }
        let body = match self.admit(path, body) {
            Ok(b) => b,
            Err(answer) => return answer,
        };
        let is_status = path.subresource.as_deref() == Some("status");
        self.update(path, &old, body, is_status, options, false)
    }

    /// PATCH of any of the four content types.
    pub fn patch(
        &mut self,
        path: &ResourcePath,
        name: &str,
        content_type: &str,
        patch: Value,
        options: &WriteOptions,
    ) -> Answer {
        if let Some(unserved) = self.unserved_status(path) {
            return unserved;
        }
        let is_apply = content_type.starts_with("application/apply-patch");
        if is_apply && options.field_manager.as_deref().is_none_or(str::is_empty) {
            return status(
                422,
                "Invalid",
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch"
                    .into(),
                json!({}),
            );
        }
        let existing = self.objects.get(&Self::key(path, name)).cloned();
        let Some(old) = existing else {
            if is_apply {
                let mut body = patch;
                if body.is_object() && body["metadata"]["name"].is_null() {
                    body["metadata"]["name"] = json!(name);
                }
                return self.create_as(path, body, options, "Apply");
            }
            return not_found(path, name);
        };
        let is_status = path.subresource.as_deref() == Some("status");
        let mut new = old.clone();
        let unknown = || {
            status(
                415,
                "UnsupportedMediaType",
                "the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml".into(),
                json!({}),
            )
        };
        if content_type.starts_with("application/json-patch") {
            let operations: json_patch::Patch = match serde_json::from_value(patch) {
                Ok(p) => p,
                Err(e) => return bad_request(format!("invalid JSON patch: {e}")),
            };
            if let Err(e) = json_patch::patch(&mut new, &operations) {
                return status(422, "Invalid", format!("the JSON patch cannot be applied: {e}"), json!({}));
            }
        } else if content_type.starts_with("application/merge-patch")
            || content_type.starts_with("application/strategic-merge-patch")
            || is_apply
        {
            if !patch.is_object() {
                return bad_request("a merge patch must be an object".into());
            }
            if is_apply {
                if let Some(kind) = patch["kind"].as_str()
                    && old["kind"].as_str() != Some(kind)
                {
                    return bad_request(format!("kind {kind} does not match the stored object"));
                }
                let (manager, time, api_version) = (options.manager(), now(), path.api_version());
                let writer = Writer {
                    manager: &manager,
                    operation: "Apply",
                    api_version: &api_version,
                    status: is_status,
                    time: &time,
                };
                new = match apply::apply(&old, &patch, &writer, options.force, self.list_types(path).as_ref()) {
                    Ok(applied) => applied,
                    Err(conflict) => return conflict,
                };
                return self.update(path, &old, new, is_status, options, true);
            }
            if content_type.starts_with("application/strategic-merge-patch") {
                // Custom resources have no patch strategies: the API server refuses the type.
                if !list_types::built_in_group(&path.group) {
                    return unknown();
                }
                new = apply::strategic_merge(&old, &patch, &mut Vec::new(), self.list_types(path).as_ref());
            } else {
                json_patch::merge(&mut new, &patch);
            }
        } else {
            return unknown();
        }
        self.update(path, &old, new, is_status, options, false)
    }

    /// DELETE one object with the default options and the given propagation policy.
    pub fn delete(&mut self, path: &ResourcePath, name: &str, propagation: Option<&str>, dry_run: bool) -> Answer {
        let options = DeleteOptions { propagation: propagation.map(str::to_owned), grace_period: None, dry_run };
        self.delete_with(path, name, &options)
    }

    /// DELETE one object as the API server does (see `deletion`): a pod a
    /// kubelet runs is only marked (`deletionTimestamp` a grace period
    /// ahead) and goes when its kubelet deletes it again with grace 0;
    /// finalizers (and the `foregroundDeletion`/`orphan` ones a propagation
    /// policy adds) hold the object until removed. Owned objects are left
    /// to the garbage collector (`gc`), which runs asynchronously.
    pub fn delete_with(&mut self, path: &ResourcePath, name: &str, options: &DeleteOptions) -> Answer {
        let key = Self::key(path, name);
        let Some(object) = self.objects.get(&key).cloned() else {
            return not_found(path, name);
        };
        match deletion::plan(path, &object, options) {
            deletion::Plan::Remove => {
                if !options.dry_run {
                    self.remove(&key);
                }
                deleted(path, object)
            }
            deletion::Plan::Unchanged => Answer::Json(200, object),
            deletion::Plan::Mark(marked) => {
                if options.dry_run {
                    return Answer::Json(200, *marked);
                }
                let mut marked = *marked;
                let rv = self.next_rv();
                marked["metadata"]["resourceVersion"] = json!(rv.to_string());
                self.record("MODIFIED", path, &marked);
                self.objects.insert(key, marked.clone());
                Answer::Json(200, marked)
            }
        }
    }

    /// Removes `key` if it is marked for deletion, has no finalizers left
    /// and no grace period to wait out (true when it went).
    pub(crate) fn remove_if_released(&mut self, key: &Key) -> bool {
        let released = self.objects.get(key).is_some_and(deletion::released);
        if released {
            self.remove(key);
        }
        released
    }

    pub(crate) fn remove(&mut self, key: &Key) -> Option<Value> {
        let mut object = self.objects.remove(key)?;
        let rv = self.next_rv();
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record("DELETED", &path_of(key), &object);
        if key.1 == "pods" {
            self.logs.remove(&(key.2.clone().unwrap_or_default(), key.3.clone()));
        }
        Some(object)
    }

    /// Stores a changed object under `key` as a controller's write would:
    /// its resourceVersion bumped and watchers told (`MODIFIED`).
    pub(crate) fn put_at(&mut self, key: &Key, mut object: Value) {
        let rv = self.next_rv();
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record("MODIFIED", &path_of(key), &object);
        self.objects.insert(key.clone(), object);
    }

    /// Stores a changed object as a controller's write would: its
    /// resourceVersion bumped and watchers told (`MODIFIED`). Returns it as stored.
    pub fn put(&mut self, mut object: Value) -> Value {
        let api_version = object["apiVersion"].as_str().unwrap_or("v1").to_owned();
        let kind = object["kind"].as_str().unwrap_or_default().to_owned();
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", &api_version));
        let name = object["metadata"]["name"].as_str().unwrap_or_default().to_owned();
        let path = ResourcePath {
            group: group.to_owned(),
            version: version.to_owned(),
            namespace: object["metadata"]["namespace"].as_str().map(str::to_owned),
            plural: self.plural_of(&api_version, &kind),
            name: Some(name.clone()),
            subresource: None,
        };
        let rv = self.next_rv();
        object["metadata"]["resourceVersion"] = json!(rv.to_string());
        self.record("MODIFIED", &path, &object);
        self.objects.insert(Self::key(&path, &name), object.clone());
        object
    }

    /// The changes after resource version `rv`, oldest first.
    pub fn events_after(&self, rv: u64) -> &[Event] {
        let start = self.events.partition_point(|e| e.rv <= rv);
        &self.events[start..]
    }

    /// The oldest resource version a watch can still start from: older
    /// ones were compacted away and get 410 Gone.
    pub fn oldest_watchable(&self) -> u64 {
        self.compacted
    }

    /// Forgets every change up to now, as etcd's compaction does: watches
    /// from an older resource version get 410 Gone and must list again.
    pub fn compact(&mut self) {
        self.events.clear();
        self.compacted = self.rv;
        self.pages.compact(self.compacted);
    }

    /// Forgets the oldest changes beyond the newest `keep`.
    pub fn compact_to(&mut self, keep: usize) {
        if self.events.len() > keep {
            let drop = self.events.len() - keep;
            self.compacted = self.events[drop - 1].rv;
            self.events.drain(..drop);
            self.pages.compact(self.compacted);
        }
    }

    /// A pod by namespace and name.
    pub fn pod(&self, namespace: &str, name: &str) -> Option<&Value> {
        self.objects.get(&("v1".to_owned(), "pods".to_owned(), Some(namespace.to_owned()), name.to_owned()))
    }

    /// Moves a pod to `phase` with container statuses to match; false when there is no such pod.
    pub fn set_pod_phase(&mut self, namespace: &str, name: &str, phase: &str) -> bool {
        let Some(old) = self.pod(namespace, name).cloned() else {
            return false;
        };
        let mut pod = old;
        let started = now();
        let containers: Vec<Value> = pod["spec"]["containers"]
            .as_array()
            .map(|cs| {
                cs.iter()
                    .map(|c| {
                        let state = match phase {
                            "Running" => json!({"running": {"startedAt": started}}),
                            "Succeeded" => {
                                json!({"terminated": {"exitCode": 0, "reason": "Completed", "finishedAt": started}})
                            }
                            "Failed" => {
                                json!({"terminated": {"exitCode": 1, "reason": "Error", "finishedAt": started}})
                            }
                            _ => json!({"waiting": {"reason": "ContainerCreating"}}),
                        };
                        json!({
                            "name": c["name"],
                            "image": c["image"],
                            "ready": phase == "Running",
                            "restartCount": 0,
                            "started": phase == "Running",
                            "state": state,
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let status = &mut pod["status"];
        status["phase"] = json!(phase);
        status["containerStatuses"] = Value::Array(containers);
        if phase != "Pending" {
            status["podIP"] = json!("10.0.0.2");
            if status["startTime"].is_null() {
                status["startTime"] = json!(started);
            }
        }
        let rv = self.next_rv();
        pod["metadata"]["resourceVersion"] = json!(rv.to_string());
        let path = pod_path(namespace, name);
        self.record("MODIFIED", &path, &pod);
        self.objects.insert(Self::key(&path, name), pod);
        true
    }

    /// Whether a pod has ended (or is gone).
    pub fn pod_ended(&self, namespace: &str, name: &str) -> bool {
        self.pod(namespace, name).is_none_or(|p| p["status"]["phase"].as_str().is_some_and(is_final))
    }
}

/// The API server's limit on an object's annotations, keys and values together (256 KiB).
pub const MAX_ANNOTATION_BYTES: usize = 256 * 1024;

/// Annotations over [`MAX_ANNOTATION_BYTES`], refused as the API server does
/// (`kubectl apply` keeps a copy of the whole object in one).
fn annotations_too_large(kind: &str, body: &Value) -> Option<Answer> {
    let total: usize = body["metadata"]["annotations"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(k, v)| k.len() + v.as_str().map_or(0, str::len))
        .sum();
    (total > MAX_ANNOTATION_BYTES).then(|| {
        let name = body["metadata"]["name"].as_str().unwrap_or_default();
        status(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: metadata.annotations: Too long: must have at most {MAX_ANNOTATION_BYTES} bytes"),
            json!({"name": name, "kind": kind}),
        )
    })
}

/// The API server's limit on a Secret's or ConfigMap's data (1 MiB).
pub const MAX_DATA_BYTES: usize = 1024 * 1024;

/// A Secret or ConfigMap over [`MAX_DATA_BYTES`], refused as the API server
/// does (a Helm release past it cannot be stored).
fn too_large(path: &ResourcePath, body: &Value) -> Option<Answer> {
    let kind = match (path.group.as_str(), path.plural.as_str()) {
        ("", "secrets") => "Secret",
        ("", "configmaps") => "ConfigMap",
        _ => return None,
    };
    let mut total = 0;
    for field in ["data", "binaryData", "stringData"] {
        let base64 = field == "binaryData" || (kind == "Secret" && field == "data");
        for (key, value) in body[field].as_object().into_iter().flatten() {
            let text = value.as_str().unwrap_or_default();
            total += key.len() + if base64 { text.len() / 4 * 3 } else { text.len() };
        }
    }
    (total > MAX_DATA_BYTES).then(|| {
        let name = body["metadata"]["name"].as_str().unwrap_or_default();
        status(
            422,
            "Invalid",
            format!("{kind} \"{name}\" is invalid: data: Too long: must have at most {MAX_DATA_BYTES} bytes"),
            json!({"name": name, "kind": path.plural}),
        )
    })
}

/// An update of an immutable Secret or ConfigMap (`immutable: true`) that
/// changes its data or clears the flag, refused as the API server does:
/// only metadata may change; to change the rest, delete and recreate it.
fn immutable_changed(path: &ResourcePath, old: &Value, new: &Value) -> Option<Answer> {
    let kind = match (path.group.as_str(), path.plural.as_str()) {
        ("", "secrets") => "Secret",
        ("", "configmaps") => "ConfigMap",
        _ => return None,
    };
    if old["immutable"] != json!(true) {
        return None;
    }
    let mut fields = vec![];
    if new["immutable"] != json!(true) {
        fields.push("immutable");
    }
    // A missing map and an empty one are the same data.
    let data = |object: &Value, field: &str| object.get(field).filter(|v| !v.is_null()).cloned().unwrap_or(json!({}));
    fields.extend(["data", "binaryData"].into_iter().filter(|f| data(old, f) != data(new, f)));
    if kind == "Secret" && new.get("stringData").is_some_and(|v| v.as_object().is_some_and(|m| !m.is_empty())) {
        fields.push("data");
    }
    if kind == "Secret" && old.get("type") != new.get("type") && new.get("type").is_some() {
        fields.push("type");
    }
    fields.dedup();
    let errors: Vec<String> =
        fields.iter().map(|f| format!("{f}: Forbidden: field is immutable when `immutable` is set")).collect();
    let name = old["metadata"]["name"].as_str().unwrap_or_default();
    let listed = match errors.as_slice() {
        [] => return None,
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    let causes: Vec<Value> = fields
        .iter()
        .map(|f| json!({"reason": "FieldValueForbidden", "message": "Forbidden: field is immutable when `immutable` is set", "field": f}))
        .collect();
    Some(status(
        422,
        "Invalid",
        format!("{kind} \"{name}\" is invalid: {listed}"),
        json!({"name": name, "kind": kind, "causes": causes}),
    ))
}

/// The status subresource's split of an update, as the API server's
/// strategies make it, and the generation. On `/status` everything but
/// `status` is the stored object's (a body without status removes it). On
/// the main resource of a kind with the status subresource, `status` is the
/// stored one (none if none was stored); a custom resource whose CRD has no
/// status subresource keeps what was sent. The generation moves on when
/// anything but metadata changed (for a custom resource: `spec` and any other
/// top-level field; for a built-in kind: `spec`), never on `/status`.
fn split_status(old: &Value, new: &mut Value, subresource_status: bool, custom: bool, with_status: bool) {
    let set = |object: &mut Value, status: Option<Value>| match (status, object.as_object_mut()) {
        (Some(status), Some(map)) => {
            map.insert("status".into(), status);
        }
        (None, Some(map)) => {
            map.remove("status");
        }
        _ => {}
    };
    if subresource_status {
        let status = new.get("status").cloned();
        *new = old.clone();
        set(new, status);
        return;
    }
    if with_status {
        set(new, old.get("status").cloned());
    }
    let generation = old["metadata"]["generation"].as_i64().unwrap_or(1);
    let changed = if custom { non_metadata(new) != non_metadata(old) } else { new.get("spec") != old.get("spec") };
    new["metadata"]["generation"] = json!(if changed { generation + 1 } else { generation });
}

/// An object's top-level fields but `metadata`, borrowed.
fn non_metadata(object: &Value) -> BTreeMap<&str, &Value> {
    object.as_object().into_iter().flatten().filter(|(k, _)| *k != "metadata").map(|(k, v)| (k.as_str(), v)).collect()
}

/// The path of a stored object (its item path, no subresource).
pub fn path_of(key: &Key) -> ResourcePath {
    ResourcePath {
        group: key.0.rsplit_once('/').map(|(g, _)| g.to_owned()).unwrap_or_default(),
        version: key.0.rsplit_once('/').map(|(_, v)| v).unwrap_or(&key.0).to_owned(),
        namespace: key.2.clone(),
        plural: key.1.clone(),
        name: Some(key.3.clone()),
        subresource: None,
    }
}

/// The path of a pod.
pub fn pod_path(namespace: &str, name: &str) -> ResourcePath {
    ResourcePath {
        group: String::new(),
        version: "v1".into(),
        namespace: Some(namespace.to_owned()),
        plural: "pods".into(),
        name: Some(name.to_owned()),
        subresource: None,
    }
}

/// A 5-character suffix for `generateName`, as the API server makes them.
fn suffix(n: u64) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut n = n.wrapping_mul(2_654_435_761) ^ 0x5bd1_e995;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
            n /= ALPHABET.len() as u64;
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(group: &str, version: &str, plural: &str) -> ResourcePath {
        ResourcePath {
            group: group.into(),
            version: version.into(),
            namespace: Some("ns".into()),
            plural: plural.into(),
            name: None,
            subresource: None,
        }
    }

    fn sparkjobs() -> ResourcePath {
        path("sparkplane.dev", "v1alpha1", "sparkjobs")
    }

    fn body(answer: Answer) -> (u16, Value) {
        match answer {
            Answer::Json(code, value) => (code, value),
            Answer::Text(code, text) => panic!("{code}: text {text}"),
        }
    }

    /// A CRD without the status subresource: status is written with the
    /// rest (and moves the generation), `/status` is not served.
    #[test]
    fn without_the_status_subresource_status_is_part_of_the_object() {
        let mut store = Store::default();
        let crds = path("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        let crd = crate::resources::schemaless_crd("example.dev", "notes", "note", "Note");
        assert_eq!(body(store.create(&crds, crd, &WriteOptions::default())).0, 201);
        let notes = path("example.dev", "v1", "notes");
        let note =
            json!({"apiVersion": "example.dev/v1", "kind": "Note", "metadata": {"name": "n"}, "status": {"seen": 1}});
        let (_, created) = body(store.create(&notes, note.clone(), &WriteOptions::default()));
        assert_eq!(created["status"], json!({"seen": 1}), "a create keeps status");
        let mut changed = note;
        changed["status"] = json!({"seen": 2});
        let (code, updated) = body(store.replace(&notes, "n", changed, &WriteOptions::default()));
        assert_eq!(
            (code, &updated["status"], &updated["metadata"]["generation"]),
            (200, &json!({"seen": 2}), &json!(2))
        );
        let status = ResourcePath { subresource: Some("status".into()), ..notes };
        let (code, unserved) = body(store.get(&status, "n"));
        assert_eq!(
            (code, unserved["message"].as_str()),
            (404, Some("the server could not find the requested resource"))
        );
    }

    /// kubectl prints the message as it is: `Error from server (NotFound): sparkjobs.sparkplane.dev "x" not found`.
    #[test]
    fn errors_name_the_resource_with_its_group_as_the_api_server_does() {
        let mut store = Store::default();
        let (code, missing) = body(store.get(&sparkjobs(), "x"));
        assert_eq!((code, missing["message"].as_str()), (404, Some("sparkjobs.sparkplane.dev \"x\" not found")));
        assert_eq!(missing["details"], json!({"name": "x", "group": "sparkplane.dev", "kind": "sparkjobs"}));
        let (_, pod) = body(store.get(&path("", "v1", "pods"), "p"));
        assert_eq!(pod["message"], "pods \"p\" not found");

        let job = json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "metadata": {"name": "x"}});
        assert_eq!(body(store.create(&sparkjobs(), job.clone(), &WriteOptions::default())).0, 201);
        let (code, again) = body(store.create(&sparkjobs(), job, &WriteOptions::default()));
        assert_eq!((code, again["message"].as_str()), (409, Some("sparkjobs.sparkplane.dev \"x\" already exists")));
    }

    #[test]
    fn annotations_over_256_kib_are_refused() {
        let mut store = Store::default();
        let crd = |bytes: usize| {
            json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
                   "metadata": {"name": "big.example.com", "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "x".repeat(bytes)}}})
        };
        let crds = path("apiextensions.k8s.io", "v1", "customresourcedefinitions");
        let (code, refused) = body(store.create(&crds, crd(300_000), &WriteOptions::default()));
        assert_eq!(
            (code, refused["message"].as_str()),
            (
                422,
                Some(
                    "CustomResourceDefinition \"big.example.com\" is invalid: metadata.annotations: Too long: must have at most 262144 bytes"
                )
            )
        );
        assert_eq!(body(store.create(&crds, crd(200_000), &WriteOptions::default())).0, 201);
    }

    #[test]
    fn secrets_and_config_maps_over_one_mebibyte_are_refused() {
        let mut store = Store::default();
        let secret = |bytes: usize| {
            let text = "A".repeat(bytes / 3 * 4);
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "s"}, "data": {"k": text}})
        };
        let (code, refused) =
            body(store.create(&path("", "v1", "secrets"), secret(1_100_000), &WriteOptions::default()));
        assert_eq!(
            (code, refused["message"].as_str()),
            (422, Some("Secret \"s\" is invalid: data: Too long: must have at most 1048576 bytes"))
        );
        assert_eq!(body(store.create(&path("", "v1", "secrets"), secret(900_000), &WriteOptions::default())).0, 201);
        let map = json!({"metadata": {"name": "m"}, "data": {"k": "x".repeat(MAX_DATA_BYTES)}});
        assert_eq!(body(store.create(&path("", "v1", "configmaps"), map, &WriteOptions::default())).0, 422);
    }

    /// An immutable ConfigMap or Secret keeps its data and its flag; its
    /// labels may still change; a mutable one changes freely.
    #[test]
    fn immutable_config_maps_and_secrets_refuse_data_changes_but_not_label_changes() {
        let mut store = Store::default();
        let maps = path("", "v1", "configmaps");
        let map = json!({"metadata": {"name": "m"}, "immutable": true, "data": {"k": "v"}});
        assert_eq!(body(store.create(&maps, map.clone(), &WriteOptions::default())).0, 201);
        let mut changed = map.clone();
        changed["data"]["k"] = json!("w");
        let (code, refused) = body(store.replace(&maps, "m", changed, &WriteOptions::default()));
        assert_eq!(
            (code, refused["reason"].as_str(), refused["message"].as_str()),
            (
                422,
                Some("Invalid"),
                Some("ConfigMap \"m\" is invalid: data: Forbidden: field is immutable when `immutable` is set")
            )
        );
        assert_eq!(refused["details"]["causes"][0]["field"], "data");
        let mut both = map.clone();
        both["immutable"] = json!(false);
        both["binaryData"] = json!({"b": "AAAA"});
        let (_, refused) = body(store.replace(&maps, "m", both, &WriteOptions::default()));
        assert_eq!(
            refused["message"],
            "ConfigMap \"m\" is invalid: [immutable: Forbidden: field is immutable when `immutable` is set, \
             binaryData: Forbidden: field is immutable when `immutable` is set]"
        );
        let mut labelled = map.clone();
        labelled["metadata"]["labels"] = json!({"a": "b"});
        let (code, kept) = body(store.replace(&maps, "m", labelled, &WriteOptions::default()));
        assert_eq!((code, &kept["data"], &kept["metadata"]["labels"]["a"]), (200, &json!({"k": "v"}), &json!("b")));

        let secrets = path("", "v1", "secrets");
        let secret = json!({"metadata": {"name": "s"}, "immutable": true, "type": "Opaque", "data": {"k": "dg=="}});
        assert_eq!(body(store.create(&secrets, secret.clone(), &WriteOptions::default())).0, 201);
        let mut changed = secret.clone();
        changed["stringData"] = json!({"k": "new"});
        let (code, refused) = body(store.replace(&secrets, "s", changed, &WriteOptions::default()));
        assert_eq!(
            (code, refused["message"].as_str()),
            (422, Some("Secret \"s\" is invalid: data: Forbidden: field is immutable when `immutable` is set"))
        );

        let mutable = json!({"metadata": {"name": "n"}, "data": {"k": "v"}});
        assert_eq!(body(store.create(&maps, mutable.clone(), &WriteOptions::default())).0, 201);
        let mut changed = mutable;
        changed["data"]["k"] = json!("w");
        assert_eq!(body(store.replace(&maps, "n", changed, &WriteOptions::default())).0, 200);
    }

    /// Custom resources (and most built-ins) answer a delete with a Success
    /// Status; pods answer with the deleted pod.
    #[test]
    fn deletes_answer_a_status_except_where_the_api_server_returns_the_object() {
        let mut store = Store::default();
        let job = json!({"apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob", "metadata": {"name": "x"}});
        let (_, created) = body(store.create(&sparkjobs(), job, &WriteOptions::default()));
        let expected = json!({
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": {"name": "x", "group": "sparkplane.dev", "kind": "sparkjobs", "uid": created["metadata"]["uid"]},
        });
        assert_eq!(body(store.delete(&sparkjobs(), "x", None, true)), (200, expected.clone()));
        assert_eq!(body(store.delete(&sparkjobs(), "x", None, false)), (200, expected));
        assert_eq!(body(store.get(&sparkjobs(), "x")).0, 404);

        let pods = path("", "v1", "pods");
        let pod = json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": []}});
        body(store.create(&pods, pod, &WriteOptions::default()));
        let (code, gone) = body(store.delete(&pods, "p", None, false));
        assert_eq!((code, gone["kind"].as_str(), gone["metadata"]["name"].as_str()), (200, Some("Pod"), Some("p")));
    }
}
