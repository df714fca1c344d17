//! Import of Kubeflow Spark Operator applications: a `sparkoperator.k8s.io/v1beta2`
//! `SparkApplication` or `ScheduledSparkApplication`, as a loaded YAML tree, in;
//! a SparkJob document and the list of every input field that was not carried
//! over, each with its reason, out.
//!
//! This module owns the mapping from the operator's fields to SparkJob fields
//! and the accounting that makes the import lossless to read: every path of
//! the input is either consumed by a mapping or reported, so fields this code
//! does not know (including ones newer operator releases add) are listed,
//! never silently dropped. It must not size, validate or render the job (the
//! result goes through the usual load → validate pipeline), and it performs no
//! I/O: the caller parses the file and writes the result.
//!
//! Where the operator's defaults differ from sparkplane's the import writes the
//! operator's value explicitly, so the job behaves as it did: one executor when
//! none is set (sparkplane, like Spark, would start two) and shuffle tracking
//! on under dynamic allocation. Spark properties a SparkJob controls through a
//! typed field (`spark.executor.memory`, `spark.dynamicAllocation.*`,
//! `spark.jars`, `spark.eventLog.*`, …) move into that field, since SparkJob
//! validation refuses them in `sparkConf`. Where the input sets both, the one
//! the operator passes to `spark-submit` last wins: the role, dependency and
//! dynamic-allocation fields over `sparkConf`, and `sparkConf` over the
//! application-level `image`, `imagePullPolicy` and `memoryOverheadFactor`;
//! the loser is reported as overridden.

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{Affinity, PodTemplateSpec, Toleration, Volume, VolumeMount};
use serde::de::DeserializeOwned;
use sparkplane_api::job::{
    AppType, Backoff, ConcurrencyPolicy, Dependencies, DriverSpec, DynamicAllocation, EnvVar, EventLog, EventLogCodec,
    ExecutorSpec, Gpu, Image, KeyRef, PullPolicy, RestartKind, RestartPolicy, RoleSpec, Schedule, SparkJobSpec,
};
use sparkplane_api::kubeflow;
use sparkplane_api::{API_VERSION, CpuAmount, Duration, MemorySize, SparkSizeUnit};

use crate::diagnostic::{Diagnostic, Diagnostics};
use crate::image::ImageRef;
use crate::source::Span;
use crate::validate::OWNED_SPARK_KEYS;
use crate::yaml::{FieldPath, Node, NodeValue, PathSeg};

/// The result of an import.
#[derive(Clone, Debug, PartialEq)]
pub struct ImportReport {
    /// The SparkJob document (`apiVersion`, `kind`, `metadata`, `spec`), ready to write as YAML.
    pub document: serde_json::Value,
    /// The kind that was imported: `SparkApplication` or `ScheduledSparkApplication`.
    pub source_kind: &'static str,
    /// Every input field not carried over, in document order.
    pub not_carried: Vec<NotCarried>,
}

/// One input field (or whole subtree) the SparkJob does not carry.
#[derive(Clone, Debug, PartialEq)]
pub struct NotCarried {
    /// Where it is in the input, e.g. `spec.driver.hostNetwork`.
    pub path: String,
    /// Why it was not carried, and what to do instead where there is something.
    pub reason: String,
    /// Where it was written.
    pub span: Span,
}

impl ImportReport {
    /// The fields not carried, as warnings (code `not-carried`) for the usual diagnostic output.
    pub fn warnings(&self) -> Diagnostics {
        Diagnostics(
            self.not_carried
                .iter()
                .map(|n| {
                    Diagnostic::warning("not-carried", n.path.clone(), format!("not carried over: {}", n.reason))
                        .with_span(Some(n.span.clone()))
                })
                .collect(),
        )
    }
}

const UNKNOWN: &str = "not a SparkApplication v1beta2 field sparkplane knows; nothing was carried over";
const SERVER_SET: &str = "set by the API server, not part of the application's definition";
const USE_POD_TEMPLATE: &str = "pod-level setting with no SparkJob field; put it in the role's podTemplate";
const RESTRICTED: &str = "sparkplane renders the restricted Pod Security profile on every pod (non-root, no privilege escalation, all capabilities dropped, RuntimeDefault seccomp)";

/// Converts a Kubeflow `SparkApplication` or `ScheduledSparkApplication` into a SparkJob.
///
/// Fails with every problem found when the document is not one of those two
/// kinds of `sparkoperator.k8s.io/v1beta2`, or when a value cannot be read
/// (a memory size, a CPU amount, a field of the wrong type); each diagnostic
/// points at the value and says how to fix it.
pub fn import_kubeflow(doc: &Node) -> Result<ImportReport, Diagnostics> {
    let mut importer =
        Importer { root: doc, taken: BTreeSet::new(), skipped: BTreeMap::new(), diags: Diagnostics::new() };
    let source_kind = importer.header()?;
    let root = FieldPath::root();
    let metadata = importer.metadata(&root.key("metadata"));
    importer
        .skip(&root.key("status"), "observed state written by the operator, not part of the application's definition");

    let spec_path = root.key("spec");
    let spec = if source_kind == kubeflow::KIND_SCHEDULED_SPARK_APPLICATION {
        importer.scheduled(&spec_path)
    } else {
        importer.application(&spec_path)
    };
    if importer.diags.has_errors() {
        return Err(importer.diags.sorted());
    }
    let spec = match serde_json::to_value(&spec) {
        Ok(spec) => spec,
        Err(err) => {
            return Err(Diagnostic::error(
                "import-failed",
                "spec",
                format!("the imported spec could not be written: {err}"),
            )
            .with_span(Some(doc.span.clone()))
            .into());
        }
    };
    let document = serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": "SparkJob",
        "metadata": metadata,
        "spec": spec,
    });
    let mut not_carried = Vec::new();
    importer.leftovers(doc, &root, &mut not_carried);
    Ok(ImportReport { document, source_kind, not_carried })
}

/// One role's fields that need the other role to decide where they go.
#[derive(Default)]
struct RoleShared {
    image: Option<(String, FieldPath)>,
    scheduler_name: Option<(String, FieldPath)>,
    priority_class_name: Option<(String, FieldPath)>,
    service_account: Option<(String, FieldPath)>,
}

/// The typed parts of the SparkJob that `sparkConf` properties may also set.
#[derive(Default)]
struct Draft {
    /// The job-level fields.
    spec: SparkJobSpec,
    driver: DriverSpec,
    executor: ExecutorSpec,
    /// Spark properties typed input fields stand for (`javaOptions`, …), with that field's path.
    implied_conf: BTreeMap<String, (String, FieldPath)>,
}

/// One `sparkConf` entry.
struct ConfEntry {
    key: String,
    value: String,
    path: FieldPath,
}

/// The typed field a Spark property stands for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Slot {
    Memory,
    Overhead,
    OverheadFactor,
    Cores,
    CoreRequest,
    CoreLimit,
    Instances,
    Pyspark,
    OffHeap,
    OffHeapOn,
    ServiceAccount,
    RoleImage,
    DaEnabled,
    DaMin,
    DaMax,
    DaInitial,
    DaShuffle,
}

impl Slot {
    /// The input field the slot corresponds to, for messages.
    fn field(self) -> &'static str {
        match self {
            Slot::Memory => "memory",
            Slot::Overhead => "memoryOverhead",
            Slot::OverheadFactor => "memoryOverheadFactor",
            Slot::Cores => "cores",
            Slot::CoreRequest => "coreRequest",
            Slot::CoreLimit => "coreLimit",
            Slot::Instances => "instances",
            Slot::Pyspark => "pysparkMemory",
            Slot::OffHeap | Slot::OffHeapOn => "offHeapMemory",
            Slot::ServiceAccount => "serviceAccount",
            Slot::RoleImage => "image",
            Slot::DaEnabled => "enabled",
            Slot::DaMin => "minExecutors",
            Slot::DaMax => "maxExecutors",
            Slot::DaInitial => "initialExecutors",
            Slot::DaShuffle => "shuffleTrackingEnabled",
        }
    }
}

/// Where a `sparkConf` property goes.
enum ConfTarget {
    /// A typed scalar of a role (`true`: the driver) or of dynamic allocation.
    Slot(bool, Slot),
    /// `spec.schedulerName`.
    SchedulerName,
    /// `spec.image.pullSecrets` (comma-separated).
    PullSecrets,
    /// A list of `spec.deps`, by field name.
    Deps(&'static str),
    /// A field of `spec.eventLog`.
    EventLog(&'static str),
    /// A role's plain environment variable.
    Env(bool, String),
    /// A node selector entry: job-wide (None) or a role's.
    NodeSelector(Option<bool>, String),
    /// A role's pod label.
    Label(bool, String),
    /// A role's pod annotation.
    Annotation(bool, String),
    /// A Hadoop property.
    Hadoop(String),
    /// Controlled by a SparkJob field this import cannot fill from a property; the reason.
    Unmovable(String),
}

/// Where a `sparkConf` property goes: None for a plain property SparkJob keeps in `sparkConf`.
fn conf_target(key: &str) -> Option<ConfTarget> {
    if let Some(slot) = conf_slot(key) {
        return Some(ConfTarget::Slot(slot.0, slot.1));
    }
    let deps = [
        ("spark.jars", "jars"),
        ("spark.submit.pyFiles", "pyFiles"),
        ("spark.files", "files"),
        ("spark.archives", "archives"),
        ("spark.jars.packages", "packages"),
        ("spark.jars.excludes", "excludePackages"),
        ("spark.jars.repositories", "repositories"),
    ];
    if let Some((_, field)) = deps.iter().find(|(k, _)| *k == key) {
        return Some(ConfTarget::Deps(field));
    }
    let log = [
        ("spark.eventLog.enabled", "enabled"),
        ("spark.eventLog.dir", "dir"),
        ("spark.eventLog.rolling.enabled", "rolling"),
        ("spark.eventLog.rolling.maxFileSize", "maxFileSize"),
        ("spark.eventLog.compress", "compress"),
        ("spark.eventLog.compression.codec", "codec"),
    ];
    if let Some((_, field)) = log.iter().find(|(k, _)| *k == key) {
        return Some(ConfTarget::EventLog(field));
    }
    let prefixed = |prefix: &str| key.strip_prefix(prefix).filter(|rest| !rest.is_empty()).map(str::to_owned);
    let role_prefixed = |middle: &str| {
        prefixed(&format!("spark.kubernetes.driver.{middle}"))
            .map(|rest| (true, rest))
            .or_else(|| prefixed(&format!("spark.kubernetes.executor.{middle}")).map(|rest| (false, rest)))
    };
    let target = match key {
        "spark.kubernetes.scheduler.name" => ConfTarget::SchedulerName,
        "spark.kubernetes.container.image.pullSecrets" => ConfTarget::PullSecrets,
        "spark.app.name" => ConfTarget::Unmovable("sparkplane names the application after metadata.name".into()),
        "spark.kubernetes.namespace" => ConfTarget::Unmovable("the namespace comes from metadata.namespace".into()),
        "spark.kubernetes.driver.podTemplateFile" | "spark.kubernetes.executor.podTemplateFile" => {
            ConfTarget::Unmovable(
                "sparkplane renders the pod templates itself; put the template's content in the role's podTemplate"
                    .into(),
            )
        }
        _ => {
            if let Some(name) = prefixed("spark.kubernetes.driverEnv.") {
                ConfTarget::Env(true, name)
            } else if let Some(name) = prefixed("spark.executorEnv.") {
                ConfTarget::Env(false, name)
            } else if let Some(name) = prefixed("spark.kubernetes.node.selector.") {
                ConfTarget::NodeSelector(None, name)
            } else if let Some((is_driver, name)) = role_prefixed("node.selector.") {
                ConfTarget::NodeSelector(Some(is_driver), name)
            } else if let Some((is_driver, name)) = role_prefixed("label.") {
                ConfTarget::Label(is_driver, name)
            } else if let Some((is_driver, name)) = role_prefixed("annotation.") {
                ConfTarget::Annotation(is_driver, name)
            } else if let Some(name) = prefixed("spark.hadoop.") {
                ConfTarget::Hadoop(name)
            } else if role_prefixed("volumes.").is_some() {
                ConfTarget::Unmovable(
                    "declare the volume in spec.volumes and mount it with the role's volumeMounts".into(),
                )
            } else if let Some((_, field)) = OWNED_SPARK_KEYS.iter().find(|(k, _)| *k == key) {
                ConfTarget::Unmovable(format!("a SparkJob controls this property with `{field}`; set it there"))
            } else {
                return None;
            }
        }
    };
    Some(target)
}

/// The typed field a Spark property stands for, and whether it is the driver's.
fn conf_slot(key: &str) -> Option<(bool, Slot)> {
    Some(match key {
        "spark.driver.memory" => (true, Slot::Memory),
        "spark.executor.memory" => (false, Slot::Memory),
        "spark.driver.memoryOverhead" => (true, Slot::Overhead),
        "spark.executor.memoryOverhead" => (false, Slot::Overhead),
        "spark.driver.memoryOverheadFactor" => (true, Slot::OverheadFactor),
        "spark.executor.memoryOverheadFactor" => (false, Slot::OverheadFactor),
        "spark.driver.cores" => (true, Slot::Cores),
        "spark.executor.cores" => (false, Slot::Cores),
        "spark.kubernetes.driver.request.cores" => (true, Slot::CoreRequest),
        "spark.kubernetes.executor.request.cores" => (false, Slot::CoreRequest),
        "spark.kubernetes.driver.limit.cores" => (true, Slot::CoreLimit),
        "spark.kubernetes.executor.limit.cores" => (false, Slot::CoreLimit),
        "spark.executor.instances" => (false, Slot::Instances),
        "spark.executor.pyspark.memory" => (false, Slot::Pyspark),
        "spark.memory.offHeap.size" => (false, Slot::OffHeap),
        "spark.memory.offHeap.enabled" => (false, Slot::OffHeapOn),
        "spark.kubernetes.authenticate.driver.serviceAccountName" => (true, Slot::ServiceAccount),
        "spark.kubernetes.driver.container.image" => (true, Slot::RoleImage),
        "spark.kubernetes.executor.container.image" => (false, Slot::RoleImage),
        "spark.dynamicAllocation.enabled" => (false, Slot::DaEnabled),
        "spark.dynamicAllocation.minExecutors" => (false, Slot::DaMin),
        "spark.dynamicAllocation.maxExecutors" => (false, Slot::DaMax),
        "spark.dynamicAllocation.initialExecutors" => (false, Slot::DaInitial),
        "spark.dynamicAllocation.shuffleTracking.enabled" => (false, Slot::DaShuffle),
        _ => return None,
    })
}

/// Walks the input, marking what it consumes.
struct Importer<'a> {
    root: &'a Node,
    /// Subtrees fully consumed.
    taken: BTreeSet<FieldPath>,
    /// Known fields deliberately not carried, with the reason.
    skipped: BTreeMap<FieldPath, String>,
    diags: Diagnostics,
}

/// The text of a scalar as written (so `3.10` stays `3.10`), or None for null,
/// lists and mappings.
fn scalar_text(node: &Node) -> Option<String> {
    match &node.value {
        NodeValue::Str(s) => Some(s.clone()),
        NodeValue::Int(_) | NodeValue::Float(_) | NodeValue::Bool(_) => {
            let raw = node.span.source.text.get(node.span.start..node.span.end).unwrap_or("").trim();
            Some(if raw.is_empty() || raw.starts_with(['"', '\'']) {
                display_scalar(&node.value)
            } else {
                raw.to_owned()
            })
        }
        NodeValue::Null | NodeValue::Seq(_) | NodeValue::Map(_) => None,
    }
}

fn display_scalar(value: &NodeValue) -> String {
    match value {
        NodeValue::Int(i) => i.to_string(),
        NodeValue::Float(f) => f.to_string(),
        NodeValue::Bool(b) => b.to_string(),
        NodeValue::Str(s) => s.clone(),
        _ => String::new(),
    }
}

/// A memory size as Spark reads it, a bare number being in `bare` units
/// ([`MemorySize::from_spark_property`], the one reader of Spark's spellings).
fn spark_memory(text: &str, bare: SparkSizeUnit) -> Result<MemorySize, String> {
    MemorySize::from_spark_property(text, bare).map_err(|e| e.0)
}

/// Splits `repo[:tag][@digest]`; a `:` before the last `/` belongs to a registry port.
/// ([`ImageRef::parse`], the one parser of image references).
fn split_image(reference: &str) -> Image {
    ImageRef::parse(reference).into_image()
}

impl<'a> Importer<'a> {
    // ---- primitives -------------------------------------------------------------

    fn get(&self, path: &FieldPath) -> Option<&'a Node> {
        self.root.get(path)
    }

    fn error(&mut self, code: &'static str, path: &FieldPath, message: impl Into<String>, help: impl Into<String>) {
        let span = self.root.span_for(path);
        self.diags.push(Diagnostic::error(code, path.to_string(), message).with_help(help).with_span(Some(span)));
    }

    /// Marks a subtree consumed and returns it (None when absent or null).
    fn take(&mut self, path: &FieldPath) -> Option<&'a Node> {
        let node = self.get(path)?;
        self.taken.insert(path.clone());
        (node.value != NodeValue::Null).then_some(node)
    }

    /// Records a known field as not carried, when present.
    fn skip(&mut self, path: &FieldPath, reason: impl Into<String>) {
        if self.get(path).is_some() {
            self.skipped.insert(path.clone(), reason.into());
        }
    }

    /// Checks that a present value is a mapping (null counts as absent).
    fn expect_map(&mut self, path: &FieldPath) -> bool {
        match self.get(path) {
            None => false,
            Some(node) => match node.value {
                NodeValue::Map(_) => true,
                NodeValue::Null => {
                    self.taken.insert(path.clone());
                    false
                }
                _ => {
                    let found = node.type_name();
                    self.error(
                        "bad-value",
                        path,
                        format!("expected a mapping, found a {found}"),
                        format!("write `{}` as a mapping of fields", last_key(path)),
                    );
                    self.taken.insert(path.clone());
                    false
                }
            },
        }
    }

    /// A scalar as text, without consuming it.
    fn peek_string(&mut self, path: &FieldPath) -> Option<(String, FieldPath)> {
        let node = self.get(path)?;
        match &node.value {
            NodeValue::Null => {
                self.taken.insert(path.clone());
                None
            }
            NodeValue::Seq(_) | NodeValue::Map(_) => {
                let found = node.type_name();
                self.error("bad-value", path, format!("expected a string, found a {found}"), "write a single value");
                self.taken.insert(path.clone());
                None
            }
            _ => scalar_text(node).map(|text| (text, path.clone())),
        }
    }

    fn take_string(&mut self, path: &FieldPath) -> Option<String> {
        let value = self.peek_string(path);
        if value.is_some() {
            self.taken.insert(path.clone());
        }
        value.map(|(text, _)| text)
    }

    fn take_int(&mut self, path: &FieldPath) -> Option<i64> {
        let node = self.take(path)?;
        match node.value {
            NodeValue::Int(i) => Some(i),
            NodeValue::Float(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
            _ => {
                let found = node.type_name();
                self.error(
                    "bad-value",
                    path,
                    format!("expected a whole number, found a {found}"),
                    "write a whole number without quotes",
                );
                None
            }
        }
    }

    fn take_u32(&mut self, path: &FieldPath) -> Option<u32> {
        let value = self.take_int(path)?;
        match u32::try_from(value) {
            Ok(value) => Some(value),
            Err(_) => {
                self.error(
                    "bad-value",
                    path,
                    format!("`{value}` is out of range"),
                    "write a number from 0 to 4294967295",
                );
                None
            }
        }
    }

    fn take_bool(&mut self, path: &FieldPath) -> Option<bool> {
        let node = self.take(path)?;
        match node.value {
            NodeValue::Bool(b) => Some(b),
            _ => {
                let found = node.type_name();
                self.error(
                    "bad-value",
                    path,
                    format!("expected true or false, found a {found}"),
                    "write `true` or `false` without quotes",
                );
                None
            }
        }
    }

    fn take_string_list(&mut self, path: &FieldPath) -> Vec<String> {
        let Some(node) = self.take(path) else {
            return Vec::new();
        };
        let NodeValue::Seq(items) = &node.value else {
            let found = node.type_name();
            self.error(
                "bad-value",
                path,
                format!("expected a list of strings, found a {found}"),
                format!("write `{}` as a list: `[a, b]`", last_key(path)),
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            match scalar_text(item) {
                Some(text) => out.push(text),
                None => self.error(
                    "bad-value",
                    &path.index(i),
                    format!("expected a string, found a {}", item.type_name()),
                    "write each item as a plain value",
                ),
            }
        }
        out
    }

    fn take_string_map(&mut self, path: &FieldPath) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if !self.expect_map(path) {
            return out;
        }
        for key in self.keys(path) {
            let entry = path.key(&key);
            if let Some(value) = self.take_string(&entry) {
                out.insert(key, value);
            }
        }
        self.taken.insert(path.clone());
        out
    }

    /// A value read through its serde type (Kubernetes objects).
    fn take_typed<T: DeserializeOwned>(&mut self, path: &FieldPath, what: &str) -> Option<T> {
        let node = self.take(path)?;
        match serde_json::from_value(node.to_json()) {
            Ok(value) => Some(value),
            Err(err) => {
                self.error(
                    "bad-value",
                    path,
                    format!("not a valid {what}: {err}"),
                    format!("write `{}` as a Kubernetes {what}", last_key(path)),
                );
                None
            }
        }
    }

    fn keys(&self, path: &FieldPath) -> Vec<String> {
        self.get(path)
            .and_then(Node::as_map)
            .map(|entries| entries.iter().map(|(k, _, _)| k.clone()).collect())
            .unwrap_or_default()
    }

    fn take_memory(&mut self, path: &FieldPath) -> Option<MemorySize> {
        let text = self.take_string(path)?;
        // The operator passes role memory fields to spark-submit as `spark.{role}.memory*`, read in MiB.
        match spark_memory(&text, SparkSizeUnit::Mib) {
            Ok(size) => Some(size),
            Err(message) => {
                self.error("bad-quantity", path, message, "write a memory size such as `512m`, `4g` or `4Gi`");
                None
            }
        }
    }

    fn take_cpu(&mut self, path: &FieldPath) -> Option<CpuAmount> {
        let text = self.take_string(path)?;
        match text.parse::<CpuAmount>() {
            Ok(cpu) => Some(cpu),
            Err(err) => {
                self.error("bad-quantity", path, err.0, "write cores (`2`, `1.5`) or millicores (`500m`)");
                None
            }
        }
    }

    // ---- the document -------------------------------------------------------------

    /// Checks apiVersion and kind; returns the kind.
    fn header(&mut self) -> Result<&'static str, Diagnostics> {
        let root = FieldPath::root();
        if self.root.as_map().is_none() {
            let found = self.root.type_name();
            return Err(Diagnostic::error("not-a-mapping", "", format!("expected a Kubernetes object (a mapping), found a {found}"))
                .with_span(Some(self.root.span.clone()))
                .with_help("import one SparkApplication or ScheduledSparkApplication, starting with `apiVersion: sparkoperator.k8s.io/v1beta2`")
                .into());
        }
        let api_version = self.take_string(&root.key("apiVersion"));
        let kind = self.take_string(&root.key("kind"));
        if api_version.as_deref() != Some(kubeflow::API_VERSION) {
            let (message, help) = match api_version.as_deref() {
                None => ("no `apiVersion`".to_owned(), format!("add `apiVersion: {}`", kubeflow::API_VERSION)),
                Some(v) if v.starts_with("sparkoperator.k8s.io/") => (
                    format!("`{v}` is not supported; only `{}` is", kubeflow::API_VERSION),
                    "convert the object to v1beta2 first (the operator's v1beta1 API is long removed)".to_owned(),
                ),
                Some(API_VERSION) => (
                    format!("`{API_VERSION}` is sparkplane's own API version"),
                    "this is already a sparkplane document; nothing needs importing".to_owned(),
                ),
                Some(v) => (
                    format!("`{v}` is not the Kubeflow Spark Operator's API"),
                    format!("import a SparkApplication or ScheduledSparkApplication of `{}`", kubeflow::API_VERSION),
                ),
            };
            self.error("wrong-api-version", &root.key("apiVersion"), message, help);
        }
        let kind = match kind.as_deref() {
            Some(kubeflow::KIND_SPARK_APPLICATION) => kubeflow::KIND_SPARK_APPLICATION,
            Some(kubeflow::KIND_SCHEDULED_SPARK_APPLICATION) => kubeflow::KIND_SCHEDULED_SPARK_APPLICATION,
            other => {
                let message = match other {
                    None => "no `kind`".to_owned(),
                    Some(k) => format!("`{k}` cannot be imported"),
                };
                self.error(
                    "wrong-kind",
                    &root.key("kind"),
                    message,
                    "set `kind: SparkApplication` or `kind: ScheduledSparkApplication`",
                );
                ""
            }
        };
        if !matches!(self.get(&root.key("spec")).map(|n| &n.value), Some(NodeValue::Map(_))) {
            self.error(
                "missing-field",
                &root.key("spec"),
                "no `spec` mapping",
                "a SparkApplication needs a `spec` with at least `type`, `mainApplicationFile`, `driver` and `executor`",
            );
        }
        if self.diags.has_errors() { Err(std::mem::take(&mut self.diags).sorted()) } else { Ok(kind) }
    }

    fn metadata(&mut self, path: &FieldPath) -> serde_json::Value {
        let mut out = serde_json::Map::new();
        if !self.expect_map(path) {
            self.error("missing-field", path, "no `metadata`", "add `metadata:` with a `name`");
            return serde_json::Value::Object(out);
        }
        match self.take_string(&path.key("name")) {
            Some(name) => {
                out.insert("name".into(), name.into());
            }
            None => {
                let help = if self.get(&path.key("generateName")).is_some() {
                    "sparkplane derives stable names from the job name; replace `generateName` with a `name`"
                } else {
                    "add `metadata.name`"
                };
                self.error("missing-field", &path.key("name"), "no `metadata.name`", help);
            }
        }
        if let Some(namespace) = self.take_string(&path.key("namespace")) {
            out.insert("namespace".into(), namespace.into());
        }
        let labels = self.take_string_map(&path.key("labels"));
        if !labels.is_empty() {
            out.insert("labels".into(), serde_json::json!(labels));
        }
        let annotations_path = path.key("annotations");
        let last_applied = "kubectl.kubernetes.io/last-applied-configuration";
        self.skip(
            &annotations_path.key(last_applied),
            "kubectl's record of the last apply, not part of the application",
        );
        let mut annotations = BTreeMap::new();
        if self.expect_map(&annotations_path) {
            for key in self.keys(&annotations_path).into_iter().filter(|k| k != last_applied) {
                if let Some(value) = self.take_string(&annotations_path.key(&key)) {
                    annotations.insert(key, value);
                }
            }
        }
        if !annotations.is_empty() {
            out.insert("annotations".into(), serde_json::json!(annotations));
        }
        self.skip(&path.key("generateName"), "sparkplane derives stable names from `metadata.name`");
        for field in [
            "uid",
            "resourceVersion",
            "generation",
            "creationTimestamp",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "managedFields",
            "selfLink",
        ] {
            self.skip(&path.key(field), SERVER_SET);
        }
        self.skip(
            &path.key("ownerReferences"),
            "sparkplane owns the objects it renders; owner references are not carried",
        );
        self.skip(
            &path.key("finalizers"),
            "finalizers belong to the controllers of the live object, not to the job's definition",
        );
        serde_json::Value::Object(out)
    }

    /// A ScheduledSparkApplication's spec: the schedule plus its template.
    fn scheduled(&mut self, path: &FieldPath) -> SparkJobSpec {
        let template = path.key("template");
        if !self.expect_map(&template) {
            self.error(
                "missing-field",
                &template,
                "no `template` mapping",
                "a ScheduledSparkApplication needs `spec.template`, the SparkApplication spec of each run",
            );
        }
        let mut spec = self.application(&template);
        let mut schedule = Schedule::default();
        match self.take_string(&path.key("schedule")) {
            Some(cron) if cron.trim_start().starts_with("@every") => match crate::cron::every_to_cron(&cron) {
                Ok(five) => schedule.cron = Some(five),
                Err(why) => self.error("bad-value", &path.key("schedule"), why.message, &why.help),
            },
            Some(cron) => schedule.cron = Some(cron),
            None => self.error(
                "missing-field",
                &path.key("schedule"),
                "no `schedule`",
                "add a cron expression, e.g. `schedule: \"0 2 * * *\"`",
            ),
        }
        schedule.time_zone = self.take_string(&path.key("timeZone"));
        schedule.concurrency_policy = self.take_typed::<ConcurrencyPolicy>(
            &path.key("concurrencyPolicy"),
            "concurrency policy (Allow, Forbid or Replace)",
        );
        schedule.successful_history_limit = self.take_u32(&path.key("successfulRunHistoryLimit"));
        schedule.failed_history_limit = self.take_u32(&path.key("failedRunHistoryLimit"));
        spec.schedule = Some(schedule);
        if let Some(suspend) = self.take_bool(&path.key("suspend")) {
            if spec.suspend.is_some_and(|s| s != suspend) {
                self.skipped.insert(template.key("suspend"), "overridden by `spec.suspend` of the schedule".into());
                self.taken.remove(&template.key("suspend"));
            }
            spec.suspend = Some(suspend);
        }
        spec
    }

    /// A SparkApplication spec (the object's `spec` or a schedule's `template`).
    fn application(&mut self, p: &FieldPath) -> SparkJobSpec {
        let mut draft = Draft::default();
        if !self.expect_map(p) {
            return draft.spec;
        }
        draft.spec.app_type = match self.take_string(&p.key("type")).as_deref() {
            None => None,
            Some("Python") => Some(AppType::Python),
            Some("Scala") => Some(AppType::Scala),
            Some("Java") => Some(AppType::Java),
            Some("R") => Some(AppType::R),
            Some(other) => {
                self.error(
                    "bad-value",
                    &p.key("type"),
                    format!("`{other}` is not an application type"),
                    "write Python, Scala, Java or R",
                );
                None
            }
        };
        self.skip(&p.key("pythonVersion"), "Spark 3 and later run Python 3 only; the image decides the version");
        if let Some((mode, path)) = self.peek_string(&p.key("mode")) {
            if mode == "cluster" {
                self.taken.insert(path);
            } else {
                self.skip(
                    &path,
                    format!(
                        "sparkplane runs the driver in its own pod (cluster mode); `{mode}` mode has no equivalent"
                    ),
                );
            }
        }
        self.skip(&p.key("proxyUser"), "SparkJob has no proxy user (`spark-submit --proxy-user`)");
        draft.spec.main_class = self.take_string(&p.key("mainClass"));
        draft.spec.main_application_file = self.take_string(&p.key("mainApplicationFile"));
        draft.spec.arguments = self.take_string_list(&p.key("arguments"));
        draft.spec.spark_version = self.take_string(&p.key("sparkVersion"));
        draft.spec.hadoop_conf = self.take_string_map(&p.key("hadoopConf"));
        for (field, var) in [("sparkConfigMap", "SPARK_CONF_DIR"), ("hadoopConfigMap", "HADOOP_CONF_DIR")] {
            self.skip(
                &p.key(field),
                format!("SparkJob does not mount configuration ConfigMaps; add a configMap volume, mount it per role and set {var} in env"),
            );
        }
        draft.spec.volumes = self.take_typed::<Vec<Volume>>(&p.key("volumes"), "list of volumes").unwrap_or_default();
        draft.spec.node_selector = self.take_string_map(&p.key("nodeSelector"));
        for field in ["failureRetries", "retryInterval"] {
            self.skip(
                &p.key(field),
                "legacy field the operator no longer reads; restartPolicy.onFailureRetries is carried instead",
            );
        }
        self.skip(&p.key("monitoring"), "the Prometheus JMX-exporter wiring has no SparkJob equivalent; sparkplane observes jobs through their event logs");
        for field in ["batchScheduler", "batchSchedulerOptions"] {
            self.skip(&p.key(field), "the operator's batch-scheduler integration (pod groups, queues) has no SparkJob equivalent; spec.schedulerName only picks the scheduler");
        }
        for field in ["sparkUIOptions", "driverIngressOptions"] {
            self.skip(&p.key(field), "SparkJob does not render Services or Ingresses for the driver");
        }
        if let Some(secs) = self.take_int(&p.key("timeToLiveSeconds")) {
            match u64::try_from(secs) {
                Ok(secs) => draft.spec.ttl_after_finished = Some(Duration::from_secs(secs)),
                Err(_) => self.error(
                    "bad-value",
                    &p.key("timeToLiveSeconds"),
                    "a negative time to live",
                    "write a number of seconds, 0 or more",
                ),
            }
        }
        draft.spec.suspend = self.take_bool(&p.key("suspend"));
        draft.spec.deps = self.deps(&p.key("deps"));
        draft.spec.restart_policy = self.restart_policy(&p.key("restartPolicy"));

        let driver_shared = self.role(&p.key("driver"), true, &mut draft);
        let executor_shared = self.role(&p.key("executor"), false, &mut draft);
        draft.executor.instances = self.take_u32(&p.key("executor").key("instances"));
        draft.spec.dynamic_allocation = self.dynamic_allocation(&p.key("dynamicAllocation"), &mut draft.implied_conf);
        draft.spec.image = self.image(p, driver_shared.image, executor_shared.image);
        draft.spec.scheduler_name =
            self.shared(driver_shared.scheduler_name, executor_shared.scheduler_name, "scheduler (spec.schedulerName)");
        draft.spec.priority_class_name = self.shared(
            driver_shared.priority_class_name,
            executor_shared.priority_class_name,
            "priority class (spec.priorityClassName)",
        );
        if let Some((account, path)) = driver_shared.service_account {
            self.taken.insert(path);
            draft.driver.service_account = Some(account);
        }
        if let Some((account, path)) = executor_shared.service_account {
            if draft.driver.service_account.as_deref() == Some(account.as_str()) {
                self.taken.insert(path);
            } else {
                self.skip(&path, "SparkJob sets the driver's service account only (spec.driver.serviceAccount); executors do not get one of their own");
            }
        }
        // The application-wide factor; `sparkConf` is passed after it and wins.
        if let Some((factor, path)) =
            self.app_or_conf(p, "memoryOverheadFactor", "spark.kubernetes.memoryOverheadFactor")
        {
            match factor.trim().parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 0.0 => {
                    draft.driver.role.memory_overhead_factor = Some(f);
                    draft.executor.role.memory_overhead_factor = Some(f);
                }
                _ => self.error(
                    "bad-value",
                    &path,
                    format!("`{factor}` is not a factor"),
                    "write a decimal such as \"0.2\"",
                ),
            }
        }

        let conf = self.spark_conf(p, &mut draft);
        draft.spec.spark_conf = conf;

        // The operator starts one executor when none is asked for; Spark and sparkplane start two.
        let dynamic = draft.spec.dynamic_allocation.as_ref().is_some_and(|da| da.enabled == Some(true));
        if draft.executor.instances.is_none() && !dynamic {
            draft.executor.instances = Some(1);
        }
        // Under dynamic allocation the operator turns shuffle tracking on unless told otherwise.
        if let Some(da) = draft.spec.dynamic_allocation.as_mut().filter(|da| da.enabled == Some(true)) {
            da.shuffle_tracking.get_or_insert(true);
        }
        let Draft { mut spec, driver, executor, .. } = draft;
        if spec.image.as_ref().is_some_and(|i| *i == Image::default()) {
            spec.image = None;
        }
        if spec.deps.as_ref().is_some_and(|d| *d == Dependencies::default()) {
            spec.deps = None;
        }
        if driver != DriverSpec::default() {
            spec.driver = Some(driver);
        }
        if executor != ExecutorSpec::default() {
            spec.executor = Some(executor);
        }
        spec
    }

    /// An application-level field that `sparkConf` may also set: the operator passes
    /// `sparkConf` after it, so the property wins. Neither is consumed here.
    fn app_or_conf(&mut self, p: &FieldPath, field: &str, key: &str) -> Option<(String, FieldPath)> {
        let typed = self.peek_string(&p.key(field));
        let conf = self.peek_string(&p.key("sparkConf").key(key));
        match (typed, conf) {
            (Some((t, tp)), Some((c, cp))) => {
                if t == c {
                    self.taken.insert(tp);
                } else {
                    self.skip(&tp, format!("overridden by `{cp}`, which the operator passes after it"));
                }
                self.taken.insert(cp.clone());
                Some((c, cp))
            }
            (Some((t, tp)), None) => {
                self.taken.insert(tp.clone());
                Some((t, tp))
            }
            (None, Some((c, cp))) => {
                self.taken.insert(cp.clone());
                Some((c, cp))
            }
            (None, None) => None,
        }
    }

    /// The image: the application's, else a role's. Role images differing from it are not carried.
    fn image(
        &mut self,
        p: &FieldPath,
        driver: Option<(String, FieldPath)>,
        executor: Option<(String, FieldPath)>,
    ) -> Option<Image> {
        let app = self.app_or_conf(p, "image", "spark.kubernetes.container.image");
        let chosen = app.clone().or_else(|| driver.clone()).or_else(|| executor.clone());
        for (reference, path) in [driver, executor].into_iter().flatten() {
            if Some(&reference) == chosen.as_ref().map(|c| &c.0) {
                self.taken.insert(path);
            } else {
                self.skip(
                    &path,
                    "sparkplane runs driver and executors from one image (spec.image), and this one differs from it",
                );
            }
        }
        let mut image = chosen.map(|(reference, _)| split_image(reference.trim())).unwrap_or_default();
        if let Some((policy, path)) =
            self.app_or_conf(p, "imagePullPolicy", "spark.kubernetes.container.image.pullPolicy")
        {
            image.pull_policy = match policy.trim() {
                "Always" => Some(PullPolicy::Always),
                "IfNotPresent" => Some(PullPolicy::IfNotPresent),
                "Never" => Some(PullPolicy::Never),
                other => {
                    self.error(
                        "bad-value",
                        &path,
                        format!("`{other}` is not a pull policy"),
                        "write Always, IfNotPresent or Never",
                    );
                    None
                }
            };
        }
        image.pull_secrets = self.take_string_list(&p.key("imagePullSecrets"));
        (image != Image::default()).then_some(image)
    }

    /// A per-role value SparkJob holds once for all pods: carried when both roles agree.
    fn shared(
        &mut self,
        driver: Option<(String, FieldPath)>,
        executor: Option<(String, FieldPath)>,
        what: &str,
    ) -> Option<String> {
        match (driver, executor) {
            (None, None) => None,
            (Some((d, dp)), Some((e, ep))) if d == e => {
                self.taken.insert(dp);
                self.taken.insert(ep);
                Some(d)
            }
            (d, e) => {
                let reason =
                    format!("SparkJob has one {what} for every pod, and driver and executor do not agree on it");
                for (_, path) in [d, e].into_iter().flatten() {
                    self.skip(&path, reason.clone());
                }
                None
            }
        }
    }

    fn deps(&mut self, p: &FieldPath) -> Option<Dependencies> {
        if !self.expect_map(p) {
            return None;
        }
        let deps = Dependencies {
            jars: self.take_string_list(&p.key("jars")),
            py_files: self.take_string_list(&p.key("pyFiles")),
            files: self.take_string_list(&p.key("files")),
            archives: self.take_string_list(&p.key("archives")),
            packages: self.take_string_list(&p.key("packages")),
            exclude_packages: self.take_string_list(&p.key("excludePackages")),
            repositories: self.take_string_list(&p.key("repositories")),
        };
        (deps != Dependencies::default()).then_some(deps)
    }

    fn restart_policy(&mut self, p: &FieldPath) -> Option<RestartPolicy> {
        if !self.expect_map(p) {
            return None;
        }
        let mut policy = RestartPolicy {
            kind: self.take_typed::<RestartKind>(&p.key("type"), "restart policy type (Never, OnFailure or Always)"),
            retries: self.take_u32(&p.key("onFailureRetries")),
            backoff: None,
        };
        if let Some(secs) = self.take_u32(&p.key("onFailureRetryInterval")) {
            // The operator waits the same interval before every retry.
            policy.backoff =
                Some(Backoff { initial: Some(Duration::from_secs(u64::from(secs))), max: None, multiplier: Some(1.0) });
        }
        for field in ["onSubmissionFailureRetries", "onSubmissionFailureRetryInterval"] {
            self.skip(&p.key(field), "SparkJob has one retry budget for failed runs (restartPolicy.retries); submission retries are not configured separately");
        }
        (policy != RestartPolicy::default()).then_some(policy)
    }

    /// Dynamic allocation. The operator reads the other fields only when `enabled` is true.
    fn dynamic_allocation(
        &mut self,
        p: &FieldPath,
        implied: &mut BTreeMap<String, (String, FieldPath)>,
    ) -> Option<DynamicAllocation> {
        if !self.expect_map(p) {
            return None;
        }
        if self.take_bool(&p.key("enabled")) != Some(true) {
            for field in
                ["initialExecutors", "minExecutors", "maxExecutors", "shuffleTrackingEnabled", "shuffleTrackingTimeout"]
            {
                self.skip(&p.key(field), "ignored by the operator while dynamicAllocation.enabled is not true");
            }
            return None;
        }
        let da = DynamicAllocation {
            enabled: Some(true),
            initial_executors: self.take_u32(&p.key("initialExecutors")),
            min_executors: self.take_u32(&p.key("minExecutors")),
            max_executors: self.take_u32(&p.key("maxExecutors")),
            shuffle_tracking: self.take_bool(&p.key("shuffleTrackingEnabled")),
        };
        if let Some(ms) = self.take_int(&p.key("shuffleTrackingTimeout")) {
            implied.insert(
                "spark.dynamicAllocation.shuffleTracking.timeout".into(),
                (format!("{ms}ms"), p.key("shuffleTrackingTimeout")),
            );
        }
        Some(da)
    }

    /// A driver or executor: the fields SparkJob keeps per role go into the draft;
    /// those it keeps once for all pods are returned for [`Self::shared`].
    fn role(&mut self, p: &FieldPath, is_driver: bool, draft: &mut Draft) -> RoleShared {
        let mut role = RoleSpec::default();
        let mut shared = RoleShared::default();
        if !self.expect_map(p) {
            return shared;
        }
        let name = if is_driver { "driver" } else { "executor" };
        match self.get(&p.key("cores")).map(|n| &n.value) {
            Some(NodeValue::Float(f)) if f.fract() != 0.0 => {
                let message = format!("Spark cores must be whole, not {f}");
                self.taken.insert(p.key("cores"));
                self.error(
                    "bad-value",
                    &p.key("cores"),
                    message,
                    "write whole cores and put a fractional CPU request in `coreRequest` (e.g. `500m`)",
                );
            }
            _ => match self.take_u32(&p.key("cores")) {
                Some(0) => {
                    self.error("bad-value", &p.key("cores"), "cores must be at least 1", "write `cores: 1` or more")
                }
                cores => role.cores = cores,
            },
        }
        role.core_request = self.take_cpu(&p.key("coreRequest"));
        role.core_limit = self.take_cpu(&p.key("coreLimit"));
        role.memory = self.take_memory(&p.key("memory"));
        role.memory_overhead = self.take_memory(&p.key("memoryOverhead"));
        let gpu = p.key("gpu");
        if self.expect_map(&gpu) {
            let gpu_name = self.take_string(&gpu.key("name"));
            let amount = self.take_u32(&gpu.key("quantity"));
            match (gpu_name, amount) {
                (Some(name), Some(amount)) => role.gpu = Some(Gpu { name, amount, discovery_script: None }),
                _ => self.error(
                    "missing-field",
                    &gpu,
                    "a GPU needs `name` and `quantity`",
                    "write e.g. `gpu: {name: nvidia.com/gpu, quantity: 1}`",
                ),
            }
        }
        shared.image = self.peek_string(&p.key("image"));
        shared.scheduler_name = self.peek_string(&p.key("schedulerName"));
        shared.priority_class_name = self.peek_string(&p.key("priorityClassName"));
        shared.service_account = self.peek_string(&p.key("serviceAccount"));
        role.env = self.env(p);
        role.labels = self.take_string_map(&p.key("labels"));
        role.annotations = self.take_string_map(&p.key("annotations"));
        role.volume_mounts =
            self.take_typed::<Vec<VolumeMount>>(&p.key("volumeMounts"), "list of volume mounts").unwrap_or_default();
        role.affinity = self.take_typed::<Affinity>(&p.key("affinity"), "affinity");
        role.tolerations =
            self.take_typed::<Vec<Toleration>>(&p.key("tolerations"), "list of tolerations").unwrap_or_default();
        role.node_selector = self.take_string_map(&p.key("nodeSelector"));
        role.pod_template = self.take_typed::<PodTemplateSpec>(&p.key("template"), "pod template").map(Box::new);

        for field in ["podSecurityContext", "securityContext"] {
            self.skip(&p.key(field), RESTRICTED);
        }
        self.skip(
            &p.key("hostNetwork"),
            "host networking is not allowed under the restricted Pod Security profile sparkplane renders",
        );
        for field in ["sidecars", "initContainers"] {
            self.skip(&p.key(field), "SparkJob has no container lists; add the containers to the role's podTemplate (after the Spark container)");
        }
        for field in ["configMaps", "secrets"] {
            self.skip(&p.key(field), "mount it as a volume instead: a configMap or secret entry in spec.volumes and a volumeMount on the role");
        }
        self.skip(
            &p.key("envFrom"),
            "SparkJob env holds single variables; list each key as an env entry with secretKeyRef or configMapKeyRef",
        );
        for field in
            ["dnsConfig", "terminationGracePeriodSeconds", "hostAliases", "shareProcessNamespace", "lifecycle", "ports"]
        {
            self.skip(&p.key(field), USE_POD_TEMPLATE);
        }

        let implied = &mut draft.implied_conf;
        if let Some(options) = self.take_string(&p.key("javaOptions")) {
            implied.insert(format!("spark.{name}.extraJavaOptions"), (options, p.key("javaOptions")));
        }
        if is_driver {
            self.skip(&p.key("podName"), "only used in the operator's in-cluster-client mode");
            self.skip(&p.key("kubernetesMaster"), "the driver of a SparkJob always uses the in-cluster API server");
            for (field, prefix) in [("serviceAnnotations", "annotation"), ("serviceLabels", "label")] {
                for (key, value) in self.take_string_map(&p.key(field)) {
                    implied.insert(
                        format!("spark.kubernetes.driver.service.{prefix}.{key}"),
                        (value, p.key(field).key(&key)),
                    );
                }
            }
            draft.driver.role = role;
        } else {
            if let Some(delete) = self.take_bool(&p.key("deleteOnTermination")) {
                implied.insert(
                    "spark.kubernetes.executor.deleteOnTermination".into(),
                    (delete.to_string(), p.key("deleteOnTermination")),
                );
            }
            draft.executor.role = role;
        }
        shared
    }

    /// A role's environment: `env` (plain values and Secret/ConfigMap keys) and the deprecated maps.
    fn env(&mut self, p: &FieldPath) -> Vec<EnvVar> {
        let mut out = Vec::new();
        let list = p.key("env");
        match self.get(&list).map(|n| &n.value) {
            Some(NodeValue::Seq(items)) => {
                for i in 0..items.len() {
                    if let Some(var) = self.env_var(&list.index(i)) {
                        out.push(var);
                    }
                }
            }
            Some(NodeValue::Null) | None => {
                self.take(&list);
            }
            Some(_) => {
                self.taken.insert(list.clone());
                self.error(
                    "bad-value",
                    &list,
                    "expected a list of environment variables",
                    "write `env:` as a list of `{name, value}` or `{name, valueFrom}` entries",
                );
            }
        }
        for (name, value) in self.take_string_map(&p.key("envVars")) {
            out.push(EnvVar { name, value: Some(value), secret_key_ref: None, config_map_key_ref: None });
        }
        let refs = p.key("envSecretKeyRefs");
        if self.expect_map(&refs) {
            for name in self.keys(&refs) {
                if let Some(key_ref) = self.key_ref(&refs.key(&name)) {
                    out.push(EnvVar { name, value: None, secret_key_ref: Some(key_ref), config_map_key_ref: None });
                }
            }
        }
        out
    }

    fn env_var(&mut self, p: &FieldPath) -> Option<EnvVar> {
        if !self.expect_map(p) {
            return None;
        }
        let from = p.key("valueFrom");
        let other_source = self.get(&from).and_then(Node::as_map).and_then(|entries| {
            entries.iter().map(|(k, _, _)| k.as_str()).find(|k| !matches!(*k, "secretKeyRef" | "configMapKeyRef"))
        });
        if let Some(kind) = other_source {
            self.skip(p, format!("valueFrom.{kind} has no SparkJob equivalent (env carries plain values, secretKeyRef and configMapKeyRef)"));
            return None;
        }
        let Some(name) = self.take_string(&p.key("name")) else {
            self.error("missing-field", p, "an environment variable without a `name`", "add `name:`");
            return None;
        };
        let mut var =
            EnvVar { name, value: self.take_string(&p.key("value")), secret_key_ref: None, config_map_key_ref: None };
        if self.expect_map(&from) {
            var.secret_key_ref = self.key_ref(&from.key("secretKeyRef"));
            var.config_map_key_ref = self.key_ref(&from.key("configMapKeyRef"));
        }
        Some(var)
    }

    fn key_ref(&mut self, p: &FieldPath) -> Option<KeyRef> {
        if !self.expect_map(p) {
            return None;
        }
        let name = self.take_string(&p.key("name"));
        let key = self.take_string(&p.key("key"));
        let optional = self.take_bool(&p.key("optional"));
        match (name, key) {
            (Some(name), Some(key)) => Some(KeyRef { name, key, optional }),
            _ => {
                self.error(
                    "missing-field",
                    p,
                    "a key reference needs `name` and `key`",
                    "write `{name: <object>, key: <key>}`",
                );
                None
            }
        }
    }

    /// `sparkConf`: a property a typed SparkJob field stands for moves into that
    /// field (a typed input field already set wins, as in the operator, which
    /// passes role, dependency and dynamic-allocation fields after `sparkConf`);
    /// the properties typed input fields imply (`javaOptions`, …) are added.
    fn spark_conf(&mut self, app: &FieldPath, draft: &mut Draft) -> BTreeMap<String, String> {
        let p = app.key("sparkConf");
        let mut conf = BTreeMap::new();
        let mut raw: Vec<ConfEntry> = Vec::new();
        if self.expect_map(&p) {
            for key in self.keys(&p) {
                let path = p.key(&key);
                if self.taken.contains(&path) || self.skipped.contains_key(&path) {
                    continue;
                }
                if let Some((value, path)) = self.peek_string(&path) {
                    raw.push(ConfEntry { key, value, path });
                }
            }
        }
        let value_of =
            |raw: &[ConfEntry], key: &str| raw.iter().find(|e| e.key == key).map(|e| e.value.trim().to_owned());
        // Off-heap memory is one typed field standing for two properties.
        let off_heap_on = value_of(&raw, "spark.memory.offHeap.enabled").as_deref() == Some("true");
        // So is the event-log codec.
        let compress = value_of(&raw, "spark.eventLog.compress");
        let codec = value_of(&raw, "spark.eventLog.compression.codec");
        for entry in raw {
            let target = match conf_target(&entry.key) {
                Some(ConfTarget::Slot(_, Slot::OffHeap | Slot::OffHeapOn)) if !off_heap_on => None,
                Some(ConfTarget::EventLog("compress" | "codec")) => {
                    self.event_log_codec(&entry, compress.as_deref(), codec.as_deref(), draft);
                    continue;
                }
                target => target,
            };
            if let Some(target) = target {
                self.move_conf(app, &entry, target, draft);
                continue;
            }
            let ConfEntry { key, value, path } = entry;
            if let Some((typed_value, typed_path)) = draft.implied_conf.get(&key) {
                if *typed_value == value {
                    self.taken.insert(path);
                } else {
                    let reason = format!("overridden by `{typed_path}`, which the operator passes after sparkConf");
                    self.skip(&path, reason);
                }
                continue;
            }
            self.taken.insert(path);
            conf.insert(key, value);
        }
        for (key, (value, _)) in std::mem::take(&mut draft.implied_conf) {
            conf.insert(key, value);
        }
        conf
    }

    /// `spark.eventLog.compress` and `spark.eventLog.compression.codec` → `eventLog.codec`.
    fn event_log_codec(&mut self, entry: &ConfEntry, compress: Option<&str>, codec: Option<&str>, draft: &mut Draft) {
        let log = draft.spec.event_log.get_or_insert_with(EventLog::default);
        let chosen = match (compress, codec) {
            (Some("false"), _) => Some(EventLogCodec::None),
            (_, Some(name)) => match name.to_ascii_lowercase().as_str() {
                "zstd" => Some(EventLogCodec::Zstd),
                "lz4" => Some(EventLogCodec::Lz4),
                "snappy" => Some(EventLogCodec::Snappy),
                "lzf" => Some(EventLogCodec::Lzf),
                _ => None,
            },
            _ => None,
        };
        match chosen {
            Some(codec) => {
                log.codec = Some(codec);
                self.taken.insert(entry.path.clone());
            }
            None if codec.is_some() && compress != Some("false") => {
                self.taken.insert(entry.path.clone());
                self.error(
                    "bad-value",
                    &entry.path,
                    format!("`{}` is not an event-log codec", entry.value),
                    "write zstd, lz4, snappy or lzf",
                );
            }
            None => self.skip(
                &entry.path,
                "compression without a codec takes Spark's default codec, which differs between versions; set spec.eventLog.codec",
            ),
        }
    }

    /// Moves one property into the typed field it stands for.
    fn move_conf(&mut self, app: &FieldPath, entry: &ConfEntry, target: ConfTarget, draft: &mut Draft) {
        let (key, path) = (&entry.key, &entry.path);
        let role_key = |is_driver: bool| app.key(if is_driver { "driver" } else { "executor" });
        let typed_path = match &target {
            ConfTarget::Slot(
                _,
                slot @ (Slot::DaEnabled | Slot::DaMin | Slot::DaMax | Slot::DaInitial | Slot::DaShuffle),
            ) => app.key("dynamicAllocation").key(slot.field()),
            ConfTarget::Slot(is_driver, slot) => role_key(*is_driver).key(slot.field()),
            ConfTarget::SchedulerName => app.key("schedulerName"),
            ConfTarget::PullSecrets => app.key("imagePullSecrets"),
            ConfTarget::Deps(field) => app.key("deps").key(field),
            ConfTarget::EventLog(_) | ConfTarget::Unmovable(_) => app.key("sparkConf"),
            ConfTarget::Env(is_driver, _) => role_key(*is_driver).key("env"),
            ConfTarget::NodeSelector(None, _) => app.key("nodeSelector"),
            ConfTarget::NodeSelector(Some(is_driver), _) => role_key(*is_driver).key("nodeSelector"),
            ConfTarget::Label(is_driver, _) => role_key(*is_driver).key("labels"),
            ConfTarget::Annotation(is_driver, _) => role_key(*is_driver).key("annotations"),
            ConfTarget::Hadoop(_) => app.key("hadoopConf"),
        };
        let text = entry.value.trim();
        let boolean = || match text {
            "true" | "false" => Ok(text == "true"),
            _ => Err(format!("`{text}` is not true or false")),
        };
        let list = || text.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect::<Vec<_>>();
        let put = |map: &mut BTreeMap<String, String>, name: &str| match map.get(name) {
            Some(existing) => *existing == text,
            None => {
                map.insert(name.to_owned(), text.to_owned());
                true
            }
        };
        // Ok(true): moved; Ok(false): a typed field says otherwise and wins; Err: unreadable.
        let outcome: Result<bool, String> = match target {
            ConfTarget::Slot(is_driver, slot) => self.move_slot(text, is_driver, slot, draft),
            ConfTarget::SchedulerName => Ok(fill(&mut draft.spec.scheduler_name, text.to_owned())),
            ConfTarget::PullSecrets => {
                let image = draft.spec.image.get_or_insert_with(Image::default);
                if image.pull_secrets.is_empty() {
                    image.pull_secrets = list();
                }
                Ok(image.pull_secrets == list())
            }
            ConfTarget::Deps(field) => {
                let deps = draft.spec.deps.get_or_insert_with(Dependencies::default);
                let slot = match field {
                    "jars" => &mut deps.jars,
                    "pyFiles" => &mut deps.py_files,
                    "files" => &mut deps.files,
                    "archives" => &mut deps.archives,
                    "packages" => &mut deps.packages,
                    "excludePackages" => &mut deps.exclude_packages,
                    _ => &mut deps.repositories,
                };
                if slot.is_empty() {
                    *slot = list();
                }
                Ok(*slot == list())
            }
            ConfTarget::EventLog(field) => {
                let log = draft.spec.event_log.get_or_insert_with(EventLog::default);
                match field {
                    "enabled" => boolean().map(|b| fill(&mut log.enabled, b)),
                    "rolling" => boolean().map(|b| fill(&mut log.rolling, b)),
                    "maxFileSize" => spark_memory(text, SparkSizeUnit::Bytes).map(|m| fill(&mut log.max_file_size, m)),
                    _ => Ok(fill(&mut log.dir, text.to_owned())),
                }
            }
            ConfTarget::Env(is_driver, name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                match role.env.iter().find(|v| v.name == name) {
                    Some(var) => Ok(var.value.as_deref() == Some(text)),
                    None => {
                        role.env.push(EnvVar {
                            name,
                            value: Some(text.to_owned()),
                            secret_key_ref: None,
                            config_map_key_ref: None,
                        });
                        Ok(true)
                    }
                }
            }
            ConfTarget::NodeSelector(None, name) => Ok(put(&mut draft.spec.node_selector, &name)),
            ConfTarget::NodeSelector(Some(is_driver), name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                Ok(put(&mut role.node_selector, &name))
            }
            ConfTarget::Label(is_driver, name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                Ok(put(&mut role.labels, &name))
            }
            ConfTarget::Annotation(is_driver, name) => {
                let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
                Ok(put(&mut role.annotations, &name))
            }
            ConfTarget::Hadoop(name) => Ok(put(&mut draft.spec.hadoop_conf, &name)),
            ConfTarget::Unmovable(reason) => {
                self.skip(path, reason);
                return;
            }
        };
        match outcome {
            Ok(true) => {
                self.taken.insert(path.clone());
            }
            Ok(false) => {
                self.skip(path, format!("overridden by `{typed_path}`, which the operator applies after sparkConf"))
            }
            Err(message) => {
                self.taken.insert(path.clone());
                self.error("bad-value", path, message, format!("fix `{key}`, or set `{typed_path}` instead"));
            }
        }
    }

    /// Moves a property into a typed scalar of a role or of dynamic allocation.
    fn move_slot(&mut self, text: &str, is_driver: bool, slot: Slot, draft: &mut Draft) -> Result<bool, String> {
        let role = if is_driver { &mut draft.driver.role } else { &mut draft.executor.role };
        let whole = || text.parse::<u32>().map_err(|_| format!("`{text}` is not a whole number"));
        match slot {
            Slot::Memory => spark_memory(text, SparkSizeUnit::Mib).map(|m| fill(&mut role.memory, m)),
            Slot::Overhead => spark_memory(text, SparkSizeUnit::Mib).map(|m| fill(&mut role.memory_overhead, m)),
            Slot::Pyspark => {
                spark_memory(text, SparkSizeUnit::Mib).map(|m| fill(&mut draft.executor.pyspark_memory, m))
            }
            Slot::OffHeap => {
                spark_memory(text, SparkSizeUnit::Bytes).map(|m| fill(&mut draft.executor.off_heap_memory, m))
            }
            Slot::OffHeapOn => Ok(true),
            // A role's own factor wins over the application-wide one in Spark.
            Slot::OverheadFactor => match text.parse::<f64>() {
                Ok(f) if f.is_finite() && f >= 0.0 => {
                    role.memory_overhead_factor = Some(f);
                    Ok(true)
                }
                _ => Err(format!("`{text}` is not a decimal factor")),
            },
            Slot::Cores => match whole() {
                Ok(0) => Err("cores must be at least 1".to_owned()),
                other => other.map(|n| fill(&mut role.cores, n)),
            },
            Slot::CoreRequest => text.parse::<CpuAmount>().map(|c| fill(&mut role.core_request, c)).map_err(|e| e.0),
            Slot::CoreLimit => text.parse::<CpuAmount>().map(|c| fill(&mut role.core_limit, c)).map_err(|e| e.0),
            Slot::Instances => whole().map(|n| fill(&mut draft.executor.instances, n)),
            Slot::ServiceAccount => Ok(fill(&mut draft.driver.service_account, text.to_owned())),
            Slot::RoleImage => {
                let reference = draft.spec.image.as_ref().and_then(Image::reference);
                match reference {
                    Some(reference) => Ok(reference == text),
                    None => {
                        let image = draft.spec.image.get_or_insert_with(Image::default);
                        let parts = split_image(text);
                        (image.repository, image.tag, image.digest) = (parts.repository, parts.tag, parts.digest);
                        Ok(true)
                    }
                }
            }
            Slot::DaEnabled | Slot::DaShuffle => match text {
                "true" | "false" => {
                    let da = draft.spec.dynamic_allocation.get_or_insert_with(DynamicAllocation::default);
                    let field = if slot == Slot::DaEnabled { &mut da.enabled } else { &mut da.shuffle_tracking };
                    Ok(fill(field, text == "true"))
                }
                _ => Err(format!("`{text}` is not true or false")),
            },
            Slot::DaMin | Slot::DaMax | Slot::DaInitial => whole().map(|n| {
                let da = draft.spec.dynamic_allocation.get_or_insert_with(DynamicAllocation::default);
                let field = match slot {
                    Slot::DaMin => &mut da.min_executors,
                    Slot::DaMax => &mut da.max_executors,
                    _ => &mut da.initial_executors,
                };
                fill(field, n)
            }),
        }
    }

    // ---- what was not carried ---------------------------------------------------------

    /// Reports the largest subtrees neither consumed nor already explained.
    fn leftovers(&self, node: &Node, path: &FieldPath, out: &mut Vec<NotCarried>) {
        if self.taken.contains(path) {
            return;
        }
        if let Some(reason) = self.skipped.get(path) {
            out.push(NotCarried { path: path.to_string(), reason: reason.clone(), span: self.span_of(path, node) });
            return;
        }
        // Paths under `path` sort right after it, so the first one at or after it tells.
        let below = |p: Option<&FieldPath>| p.is_some_and(|p| p.starts_with(path));
        let has_inner = below(self.taken.range(path.clone()..).next())
            || below(self.skipped.range(path.clone()..).next().map(|(p, _)| p));
        if !has_inner {
            out.push(NotCarried { path: path.to_string(), reason: UNKNOWN.to_owned(), span: self.span_of(path, node) });
            return;
        }
        match &node.value {
            NodeValue::Map(entries) => {
                for (key, _, child) in entries {
                    self.leftovers(child, &path.key(key), out);
                }
            }
            NodeValue::Seq(items) => {
                for (i, child) in items.iter().enumerate() {
                    self.leftovers(child, &path.index(i), out);
                }
            }
            _ => {}
        }
    }

    /// The key's span for mapping entries (where the reader looks), else the value's.
    fn span_of(&self, path: &FieldPath, node: &Node) -> Span {
        match path.0.last() {
            Some(PathSeg::Key(_)) => self.root.key_span(path).unwrap_or_else(|| node.span.clone()),
            _ => node.span.clone(),
        }
    }
}

/// Sets an unset field; true when it now holds `value`.
fn fill<T: PartialEq>(slot: &mut Option<T>, value: T) -> bool {
    match slot {
        Some(existing) => *existing == value,
        None => {
            *slot = Some(value);
            true
        }
    }
}

fn last_key(path: &FieldPath) -> String {
    match path.0.last() {
        Some(PathSeg::Key(key)) => key.clone(),
        _ => path.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;
    use crate::yaml::parse_single;
    use serde_json::json;
    use sparkplane_api::SparkJob;

    fn import(text: &str) -> Result<ImportReport, Diagnostics> {
        let node = parse_single(&Source::new("app.yaml", text)).expect("test YAML parses");
        import_kubeflow(&node)
    }

    fn paths(report: &ImportReport) -> Vec<&str> {
        report.not_carried.iter().map(|n| n.path.as_str()).collect()
    }

    const FULL: &str = r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: pyspark-etl
  namespace: data
  labels: {team: analytics}
  annotations: {owner: "ana@example.com"}
spec:
  type: Python
  mode: cluster
  image: "registry.example.com:5000/spark/py:3.5.3@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
  imagePullPolicy: IfNotPresent
  imagePullSecrets: [regcred]
  mainApplicationFile: s3a://bucket/jobs/etl.py
  arguments: ["--date", "2024-01-01"]
  sparkVersion: 3.5.3
  sparkConf:
    spark.sql.shuffle.partitions: 200
    spark.executor.memory: 6g
    spark.dynamicAllocation.maxExecutors: "20"
  hadoopConf:
    fs.s3a.endpoint: s3.example.com
  volumes:
    - name: scratch
      emptyDir: {}
  deps:
    pyFiles: [s3a://bucket/libs/common.zip]
    packages: [org.apache.hadoop:hadoop-aws:3.3.4]
  restartPolicy:
    type: OnFailure
    onFailureRetries: 3
    onFailureRetryInterval: 30
  dynamicAllocation:
    enabled: true
    minExecutors: 1
    shuffleTrackingTimeout: 60000
  timeToLiveSeconds: 3600
  driver:
    cores: 1
    coreLimit: 1200m
    memory: 512m
    serviceAccount: spark
    labels: {version: "3.5.3"}
    env:
      - {name: MODE, value: batch}
      - name: DB_PASSWORD
        valueFrom:
          secretKeyRef: {name: db, key: password}
  executor:
    cores: 2
    coreRequest: 1500m
    instances: 3
    memoryOverhead: 1024
    deleteOnTermination: false
    gpu: {name: nvidia.com/gpu, quantity: 1}
    env:
      - name: REGION
        valueFrom:
          configMapKeyRef: {name: settings, key: region, optional: true}
    volumeMounts:
      - {name: scratch, mountPath: /scratch}
    nodeSelector: {pool: spark}
    tolerations:
      - {key: dedicated, operator: Equal, value: spark, effect: NoSchedule}
"#;

    #[test]
    fn every_property_a_sparkjob_owns_is_moved_or_explained() {
        // Import must never leave in sparkConf what validation refuses there.
        for (prefix, _) in crate::validate::OWNED_SPARK_PREFIXES {
            let key = format!("{prefix}{}", if prefix.ends_with('.') { "x" } else { "" });
            assert!(conf_target(&key).is_some() || conf_slot(&key).is_some(), "{key} is neither moved nor explained");
        }
        for (key, _) in crate::validate::OWNED_SPARK_KEYS {
            assert!(conf_target(key).is_some() || conf_slot(key).is_some(), "{key} is neither moved nor explained");
        }
    }

    #[test]
    fn full_spark_application_is_carried_over() {
        let report = import(FULL).expect("imports");
        assert_eq!(report.source_kind, "SparkApplication");
        assert_eq!(paths(&report), Vec::<&str>::new(), "{:#?}", report.not_carried);
        let doc = &report.document;
        assert_eq!(doc["apiVersion"], "sparkplane.dev/v1alpha1");
        assert_eq!(doc["kind"], "SparkJob");
        assert_eq!(
            doc["metadata"],
            json!({"name": "pyspark-etl", "namespace": "data", "labels": {"team": "analytics"}, "annotations": {"owner": "ana@example.com"}})
        );
        let spec = &doc["spec"];
        assert_eq!(spec["type"], "Python");
        assert_eq!(
            spec["image"],
            json!({"repository": "registry.example.com:5000/spark/py", "tag": "3.5.3", "digest": "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "pullPolicy": "IfNotPresent", "pullSecrets": ["regcred"]})
        );
        assert_eq!(spec["sparkVersion"], "3.5.3");
        assert_eq!(spec["arguments"], json!(["--date", "2024-01-01"]));
        // Resource properties moved into typed fields; the rest stays, plus what typed input fields imply.
        assert_eq!(
            spec["sparkConf"],
            json!({
                "spark.sql.shuffle.partitions": "200",
                "spark.dynamicAllocation.shuffleTracking.timeout": "60000ms",
                "spark.kubernetes.executor.deleteOnTermination": "false",
            })
        );
        assert_eq!(spec["hadoopConf"], json!({"fs.s3a.endpoint": "s3.example.com"}));
        assert_eq!(
            spec["deps"],
            json!({"pyFiles": ["s3a://bucket/libs/common.zip"], "packages": ["org.apache.hadoop:hadoop-aws:3.3.4"]})
        );
        assert_eq!(
            spec["restartPolicy"],
            json!({"type": "OnFailure", "retries": 3, "backoff": {"initial": "30s", "multiplier": 1.0}})
        );
        assert_eq!(
            spec["dynamicAllocation"],
            json!({"enabled": true, "minExecutors": 1, "maxExecutors": 20, "shuffleTracking": true})
        );
        assert_eq!(spec["ttlAfterFinished"], "1h");
        assert_eq!(spec["volumes"], json!([{"name": "scratch", "emptyDir": {}}]));
        assert_eq!(
            spec["driver"],
            json!({
                "cores": 1, "coreLimit": "1200m", "memory": "512Mi", "labels": {"version": "3.5.3"},
                "env": [{"name": "MODE", "value": "batch"}, {"name": "DB_PASSWORD", "secretKeyRef": {"name": "db", "key": "password"}}],
                "serviceAccount": "spark",
            })
        );
        assert_eq!(
            spec["executor"],
            json!({
                "cores": 2, "coreRequest": "1500m", "memory": "6Gi", "memoryOverhead": "1Gi", "instances": 3,
                "gpu": {"name": "nvidia.com/gpu", "amount": 1},
                "env": [{"name": "REGION", "configMapKeyRef": {"name": "settings", "key": "region", "optional": true}}],
                "volumeMounts": [{"name": "scratch", "mountPath": "/scratch"}],
                "nodeSelector": {"pool": "spark"},
                "tolerations": [{"key": "dedicated", "operator": "Equal", "value": "spark", "effect": "NoSchedule"}],
            })
        );
        // The document is a valid SparkJob.
        let job: SparkJob = serde_json::from_value(doc.clone()).expect("a SparkJob");
        assert_eq!(job.spec.executor.and_then(|e| e.role.memory), Some(MemorySize::from_gib(6)));
    }

    #[test]
    fn typed_fields_win_over_spark_conf_and_operator_defaults_are_explicit() {
        let report = import(
            r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: pi}
spec:
  type: Scala
  mainClass: org.apache.spark.examples.SparkPi
  mainApplicationFile: local:///opt/spark/examples/jars/spark-examples.jar
  sparkConf:
    spark.driver.memory: 2g
    spark.driver.cores: "1"
    spark.kubernetes.container.image: spark:3.5.3
    spark.driver.extraJavaOptions: -Xss4m
  driver:
    memory: 1g
    cores: 1
    javaOptions: -XX:+UseG1GC
  executor:
    memory: 1g
"#,
        )
        .expect("imports");
        assert_eq!(
            paths(&report),
            ["spec.sparkConf.\"spark.driver.memory\"", "spec.sparkConf.\"spark.driver.extraJavaOptions\""]
        );
        assert!(
            report.not_carried[0].reason.contains("overridden by `spec.driver.memory`"),
            "{}",
            report.not_carried[0].reason
        );
        let spec = &report.document["spec"];
        assert_eq!(spec["driver"]["memory"], "1Gi");
        assert_eq!(spec["image"], json!({"repository": "spark", "tag": "3.5.3"}));
        assert_eq!(spec["sparkConf"], json!({"spark.driver.extraJavaOptions": "-XX:+UseG1GC"}));
        // The operator starts one executor by default; Spark would start two.
        assert_eq!(spec["executor"]["instances"], 1);
    }

    const SCHEDULED: &str = r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: ScheduledSparkApplication
metadata: {name: nightly, namespace: etl}
spec:
  schedule: "0 2 * * *"
  timeZone: Europe/Berlin
  concurrencyPolicy: Forbid
  successfulRunHistoryLimit: 3
  failedRunHistoryLimit: 5
  suspend: true
  template:
    type: Java
    sparkVersion: "3.5.3"
    image: spark:3.5.3
    mainClass: com.example.Nightly
    mainApplicationFile: local:///app/nightly.jar
    driver: {cores: 1, memory: 1g, serviceAccount: spark}
    executor: {instances: 4, cores: 2, memory: 2g}
"#;

    #[test]
    fn scheduled_spark_application_becomes_a_scheduled_job() {
        let report = import(SCHEDULED).expect("imports");
        assert_eq!(report.source_kind, "ScheduledSparkApplication");
        assert_eq!(paths(&report), Vec::<&str>::new(), "{:#?}", report.not_carried);
        let spec = &report.document["spec"];
        assert_eq!(
            spec["schedule"],
            json!({"cron": "0 2 * * *", "timeZone": "Europe/Berlin", "concurrencyPolicy": "Forbid", "successfulHistoryLimit": 3, "failedHistoryLimit": 5})
        );
        assert_eq!(spec["suspend"], true);
        assert_eq!(spec["type"], "Java");
        assert_eq!(spec["mainClass"], "com.example.Nightly");
        assert_eq!(spec["executor"], json!({"instances": 4, "cores": 2, "memory": "2Gi"}));
        assert_eq!(report.document["metadata"], json!({"name": "nightly", "namespace": "etl"}));
        serde_json::from_value::<SparkJob>(report.document.clone()).expect("a SparkJob");
    }

    #[test]
    fn every_field_not_carried_is_listed_with_its_reason() {
        let report = import(
            r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: legacy
  uid: 1234
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: "{}"
spec:
  type: Python
  pythonVersion: "3"
  mode: client
  mainApplicationFile: local:///app/main.py
  sparkConfigMap: spark-conf
  monitoring:
    exposeDriverMetrics: true
    prometheus: {jmxExporterJar: /prometheus/jmx.jar}
  batchScheduler: volcano
  futureOperatorField: {enabled: true}
  restartPolicy:
    type: OnFailure
    onSubmissionFailureRetries: 2
  driver:
    cores: 1
    hostNetwork: true
    securityContext: {runAsUser: 0}
    sidecars: [{name: proxy, image: envoy}]
    schedulerName: volcano
    image: spark-driver:1
    env:
      - {name: A, value: "1"}
      - name: POD_IP
        valueFrom:
          fieldRef: {fieldPath: status.podIP}
    memoryy: 1g
  executor:
    instances: 2
    schedulerName: default-scheduler
    envFrom: [{secretRef: {name: all}}]
status:
  applicationState: {state: COMPLETED}
"#,
        )
        .expect("imports");
        assert_eq!(
            paths(&report),
            [
                "metadata.uid",
                "metadata.annotations.\"kubectl.kubernetes.io/last-applied-configuration\"",
                "spec.pythonVersion",
                "spec.mode",
                "spec.sparkConfigMap",
                "spec.monitoring",
                "spec.batchScheduler",
                "spec.futureOperatorField",
                "spec.restartPolicy.onSubmissionFailureRetries",
                "spec.driver.hostNetwork",
                "spec.driver.securityContext",
                "spec.driver.sidecars",
                "spec.driver.schedulerName",
                "spec.driver.env[1]",
                "spec.driver.memoryy",
                "spec.executor.schedulerName",
                "spec.executor.envFrom",
                "status",
            ]
        );
        let reason = |path: &str| {
            report.not_carried.iter().find(|n| n.path == path).map(|n| n.reason.as_str()).unwrap_or_default()
        };
        assert_eq!(reason("spec.futureOperatorField"), UNKNOWN);
        assert_eq!(reason("spec.driver.memoryy"), UNKNOWN);
        assert!(reason("spec.driver.env[1]").contains("valueFrom.fieldRef"));
        assert!(reason("spec.mode").contains("`client` mode"));
        assert!(reason("spec.driver.schedulerName").contains("do not agree"));
        // The only image is the driver's, so it is the job's.
        assert_eq!(report.document["spec"]["image"], json!({"repository": "spark-driver", "tag": "1"}));
        assert_eq!(report.document["spec"]["driver"]["env"], json!([{"name": "A", "value": "1"}]));
        assert!(report.document["metadata"].get("annotations").is_none());
        // Each entry points at its key in the input, and becomes a warning.
        let host = &report.not_carried[9];
        assert_eq!(host.path, "spec.driver.hostNetwork");
        assert_eq!(host.span.line_text(), "    hostNetwork: true");
        assert_eq!(host.span.at.column, 5);
        let warnings = report.warnings();
        assert_eq!(warnings.0.len(), report.not_carried.len());
        assert!(warnings.0.iter().all(|w| w.code == "not-carried"));
    }

    #[test]
    fn bad_input_is_refused_with_a_location_and_a_fix() {
        let err = import("- just\n- a list\n").unwrap_err();
        assert_eq!(err.0[0].code, "not-a-mapping");
        assert!(err.0[0].help.is_some());

        let err =
            import("apiVersion: sparkoperator.k8s.io/v1beta1\nkind: SparkApplication\nmetadata: {name: a}\nspec: {}\n")
                .unwrap_err();
        assert_eq!(err.0[0].code, "wrong-api-version");
        assert_eq!(err.0[0].span.as_ref().map(|s| s.at.line), Some(1));
        assert!(err.0[0].help.as_deref().unwrap_or_default().contains("v1beta2"));

        let err = import("apiVersion: sparkoperator.k8s.io/v1beta2\nkind: Deployment\nmetadata: {name: a}\nspec: {}\n")
            .unwrap_err();
        assert_eq!(err.0.iter().map(|d| d.code).collect::<Vec<_>>(), ["wrong-kind"]);
        assert_eq!(err.0[0].span.as_ref().map(|s| s.at.line), Some(2));

        let err =
            import("apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: a}\nspec: {}\n").unwrap_err();
        assert_eq!(err.0.iter().map(|d| d.code).collect::<Vec<_>>(), ["wrong-api-version", "wrong-kind"]);

        let err = import(
            "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: SparkApplication\nmetadata: {name: a}\nspec:\n  driver:\n    memory: lots\n    cores: 0.5\n  executor: 3\n",
        )
        .unwrap_err();
        let found: Vec<_> =
            err.0.iter().map(|d| (d.code, d.path.as_str(), d.span.as_ref().map(|s| s.at.line))).collect();
        assert_eq!(
            found,
            [
                ("bad-quantity", "spec.driver.memory", Some(6)),
                ("bad-value", "spec.driver.cores", Some(7)),
                ("bad-value", "spec.executor", Some(8)),
            ]
        );
        assert!(err.0.iter().all(|d| d.help.is_some()));

        let err = import(
            "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: ScheduledSparkApplication\nmetadata: {name: a}\nspec:\n  schedule: \"@every 7m\"\n  template: {type: Scala}\n",
        )
        .unwrap_err();
        assert_eq!(err.0[0].path, "spec.schedule");
        assert_eq!(
            err.0[0].message,
            "`@every 7m` cannot be a cron schedule: 7 minutes does not divide an hour, and a cron step starts again at every hour"
        );
        assert_eq!(err.0[0].span.as_ref().map(|s| (s.at.line, s.at.column)), Some((5, 13)));
        assert!(err.0[0].help.as_deref().unwrap_or_default().contains("divides an hour"));
    }

    #[test]
    fn every_intervals_become_cron_expressions() {
        for (every, cron) in [("@every 5m", "*/5 * * * *"), ("@every 1h", "0 * * * *"), ("@every 24h", "0 0 * * *")] {
            let report = import(&format!(
                "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: ScheduledSparkApplication\nmetadata: {{name: a}}\nspec:\n  schedule: \"{every}\"\n  template: {{type: Scala}}\n"
            ))
            .unwrap();
            assert_eq!(report.document["spec"]["schedule"]["cron"], cron, "{every}");
        }
    }

    /// The imported document goes through sparkplane's own loader: schema, merge and validation.
    fn load(report: &ImportReport) -> Result<crate::resolved::ResolvedJob, Diagnostics> {
        let text = crate::yaml::to_yaml(&report.document);
        let node = parse_single(&Source::new("imported.yaml", text)).expect("emitted YAML parses");
        let catalog = crate::catalog::Catalog::empty();
        crate::load::load(crate::resolve::ResolveRequest {
            job: &node,
            job_environment: None,
            catalog: &catalog,
            environment: None,
            sets: &[],
            target: crate::validate::ValidationTarget::Any,
        })
    }

    #[test]
    fn owned_spark_properties_move_into_typed_fields() {
        let report = import(
            r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: conf-moves}
spec:
  type: Scala
  sparkVersion: 3.5.3
  image: spark:3.5.3
  mainClass: com.example.Main
  mainApplicationFile: local:///app.jar
  deps: {jars: ["local:///a.jar"]}
  hadoopConf: {fs.s3a.path.style.access: "false"}
  sparkConf:
    spark.jars: local:///b.jar
    spark.files: "s3a://x/f1, s3a://x/f2"
    spark.eventLog.enabled: "true"
    spark.eventLog.dir: s3a://logs/spark
    spark.eventLog.compress: "true"
    spark.eventLog.compression.codec: zstd
    spark.kubernetes.driverEnv.STAGE: prod
    spark.executorEnv.STAGE: prod
    spark.kubernetes.executor.label.tier: batch
    spark.kubernetes.node.selector.pool: spark
    spark.hadoop.fs.s3a.path.style.access: "true"
    spark.kubernetes.scheduler.name: volcano
    spark.kubernetes.container.image.pullSecrets: "a,b"
    spark.app.name: other
    spark.kubernetes.driver.volumes.persistentVolumeClaim.data.mount.path: /data
    spark.memory.offHeap.enabled: "true"
    spark.memory.offHeap.size: 2g
    spark.sql.adaptive.enabled: "true"
  executor: {instances: 2}
"#,
        )
        .expect("imports");
        assert_eq!(
            paths(&report),
            [
                "spec.sparkConf.\"spark.jars\"",
                "spec.sparkConf.\"spark.hadoop.fs.s3a.path.style.access\"",
                "spec.sparkConf.\"spark.app.name\"",
                "spec.sparkConf.\"spark.kubernetes.driver.volumes.persistentVolumeClaim.data.mount.path\"",
            ]
        );
        let spec = &report.document["spec"];
        assert_eq!(spec["sparkConf"], json!({"spark.sql.adaptive.enabled": "true"}));
        assert_eq!(spec["sparkVersion"], "3.5.3");
        assert_eq!(spec["deps"], json!({"jars": ["local:///a.jar"], "files": ["s3a://x/f1", "s3a://x/f2"]}));
        assert_eq!(spec["eventLog"], json!({"enabled": true, "dir": "s3a://logs/spark", "codec": "zstd"}));
        assert_eq!(spec["hadoopConf"], json!({"fs.s3a.path.style.access": "false"}));
        assert_eq!(spec["nodeSelector"], json!({"pool": "spark"}));
        assert_eq!(spec["schedulerName"], "volcano");
        assert_eq!(spec["image"], json!({"repository": "spark", "tag": "3.5.3", "pullSecrets": ["a", "b"]}));
        assert_eq!(spec["driver"], json!({"env": [{"name": "STAGE", "value": "prod"}]}));
        assert_eq!(
            spec["executor"],
            json!({"env": [{"name": "STAGE", "value": "prod"}], "labels": {"tier": "batch"}, "instances": 2, "offHeapMemory": "2Gi"})
        );
        let resolved = load(&report).expect("the imported job resolves and validates");
        assert_eq!(resolved.name(), "conf-moves");
    }

    #[test]
    fn imported_jobs_pass_sparkplanes_own_validation() {
        for text in [FULL, SCHEDULED] {
            let report = import(text).expect("imports");
            if let Err(diags) = load(&report) {
                panic!("{diags}");
            }
        }
    }

    #[test]
    fn image_references_split_into_parts() {
        let parts = |r: &str| {
            let i = split_image(r);
            (i.repository, i.tag, i.digest)
        };
        assert_eq!(parts("spark"), (Some("spark".into()), None, None));
        assert_eq!(parts("spark:3.5"), (Some("spark".into()), Some("3.5".into()), None));
        assert_eq!(parts("host:5000/spark"), (Some("host:5000/spark".into()), None, None));
        assert_eq!(
            parts("host:5000/spark@sha256:ff"),
            (Some("host:5000/spark".into()), None, Some("sha256:ff".into()))
        );
        assert_eq!(spark_memory("512", SparkSizeUnit::Mib).map(MemorySize::mib), Ok(512));
        assert_eq!(spark_memory("2g", SparkSizeUnit::Mib).map(MemorySize::mib), Ok(2048));
    }

    #[test]
    fn byte_properties_read_bare_numbers_as_bytes_as_spark_does() {
        let yaml = r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: offheap, namespace: data}
spec:
  type: Scala
  mode: cluster
  image: spark:3.5.3
  mainClass: com.example.Main
  mainApplicationFile: local:///opt/app.jar
  sparkVersion: "3.5.3"
  sparkConf:
    spark.memory.offHeap.enabled: "true"
    spark.memory.offHeap.size: "2147483648"
    spark.eventLog.rolling.maxFileSize: "134217728"
  driver: {cores: 1, memory: "512"}
  executor: {cores: 1, instances: 1, memory: 1g}
"#;
        let report = import(yaml).expect("imports");
        let spec = &report.document["spec"];
        assert_eq!(spec["executor"]["offHeapMemory"], json!("2Gi"));
        assert_eq!(spec["eventLog"]["maxFileSize"], json!("128Mi"));
        assert_eq!(spec["driver"]["memory"], json!("512Mi"));
    }
}
