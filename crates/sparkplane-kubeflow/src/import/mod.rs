//! Import of Kubeflow Spark Operator applications: a `sparkoperator.k8s.io/v1beta2`
//! `SparkApplication` or `ScheduledSparkApplication` (or a v1alpha1
//! `SparkConnect`, mapped by `connect`), as a loaded YAML tree, in;
//! a SparkJob document and the list of every input field that was not carried
//! over, each with its reason, out.
//!
//! This module owns the mapping of the application as a whole: the header,
//! `metadata`, the schedule, and the application-level fields of `spec`. The
//! input is read into the api crate's typed Kubeflow structs
//! ([`sparkplane_api::kubeflow`]) with the YAML reader that keeps locations
//! ([`sparkplane_documents::yaml::read_node`]); `roles` maps the driver and executor,
//! `conf` routes `sparkConf`, and `report` keeps the accounting that makes
//! the import lossless to read: every field the typed structs know is
//! destructured without `..`, so each is either carried or reported (the
//! compiler refuses a field left out), and every field they do not know
//! (including ones newer operator releases add) is reported by the reader,
//! never silently dropped. It must not size, validate or render the job (the
//! result goes through the usual load → validate pipeline), and it performs no
//! I/O: the caller parses the file and writes the result.
//!
//! Where the operator's defaults differ from sparkplane's the import writes the
//! operator's value explicitly, so the job behaves as it did: one executor when
//! none is set (sparkplane, like Spark, would start two), shuffle tracking
//! on under dynamic allocation, and one kept run of each outcome for a
//! schedule (sparkplane would keep three successful ones). The labels
//! `sparkplane.dev/team`, `sparkplane.dev/cost-center` and
//! `sparkplane.dev/environment` become the job's `team`, `costCenter` and
//! `environment`: a Kubeflow application has no such fields. Spark properties a SparkJob controls through a
//! typed field (`spark.executor.memory`, `spark.dynamicAllocation.*`,
//! `spark.jars`, `spark.eventLog.*`, …) move into that field, since SparkJob
//! validation refuses them in `sparkConf`. Where the input sets both, the one
//! the operator passes to `spark-submit` last wins: the role, dependency and
//! dynamic-allocation fields over `sparkConf`, and `sparkConf` over the
//! application-level `image`, `imagePullPolicy` and `memoryOverheadFactor`;
//! the loser is reported as overridden.

mod conf;
mod connect;
mod report;
mod restart;
mod roles;
mod stream;

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sparkplane_api::job::{
    AppType, ConcurrencyPolicy, Dependencies, DriverSpec, DynamicAllocation, ExecutorSpec, Image, PullPolicy,
    RestartPolicy, Schedule, SparkJobSpec,
};
use sparkplane_api::kubeflow;
use sparkplane_api::{API_VERSION, Duration};

use conf::{ConfRouter, Draft, split_image};
use report::Ledger;
use roles::{At, RoleShared, whole};
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::yaml::{FieldPath, Node, NodeValue, PathSeg, read_node, read_node_with, scalar_text};

pub use report::{ImportReport, NotCarried};
pub use stream::{Imported, Item, Outcome, import_kubeflow_files};

/// Runs of each outcome the Kubeflow operator keeps when a schedule does not say.
const KUBEFLOW_RUN_HISTORY: i64 = 1;

const SERVER_SET: &str = "set by the API server, not part of the application's definition";

/// Converts a Kubeflow `SparkApplication` or `ScheduledSparkApplication` into
/// a SparkJob, or a `SparkConnect` into a SparkJob of `type: Connect`.
///
/// Fails with every problem found when the document is not one of those two
/// kinds of `sparkoperator.k8s.io/v1beta2`, or when a value cannot be read
/// (a memory size, a CPU amount, a field of the wrong type); each diagnostic
/// points at the value and says how to fix it.
pub fn import_kubeflow(doc: &Node) -> Result<ImportReport, Diagnostics> {
    if connect::is_spark_connect(doc) {
        return connect::import_spark_connect(doc);
    }
    let source_kind = header(doc)?;
    let mut ledger = Ledger::new(doc, in_kubernetes_object);
    let root = FieldPath::root();
    let metadata = metadata(&mut ledger, &root.key("metadata"));
    ledger
        .skip(&root.key("status"), "observed state written by the operator, not part of the application's definition");
    for key in ledger.keys(&root) {
        if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "spec" | "status") {
            ledger.unknown(root.key(&key));
        }
    }

    let spec_path = root.key("spec");
    let spec_node = doc.get(&spec_path).unwrap_or(doc);
    let spec = if source_kind == kubeflow::KIND_SCHEDULED_SPARK_APPLICATION {
        // Both are required; saying so here reports both when both are missing.
        if !matches!(ledger.root().get(&spec_path.key("template")).map(|n| &n.value), Some(NodeValue::Map(_))) {
            ledger.error(
                "missing-field",
                &spec_path.key("template"),
                "no `template` mapping",
                "a ScheduledSparkApplication needs `spec.template`, the SparkApplication spec of each run",
            );
        }
        if ledger.text(&spec_path.key("schedule")).is_none() {
            ledger.error(
                "missing-field",
                &spec_path.key("schedule"),
                "no `schedule`",
                "add a cron expression, e.g. `schedule: \"0 2 * * *\"`",
            );
        }
        let read =
            read_node_with::<kubeflow::ScheduledSparkApplicationSpec>(spec_node, &spec_path, &in_kubernetes_object);
        ledger.read(read.ignored, read.problems);
        read.value.map(|spec| scheduled(&mut ledger, &spec_path, spec))
    } else {
        let read = read_node_with::<kubeflow::SparkApplicationSpec>(spec_node, &spec_path, &in_kubernetes_object);
        ledger.read(read.ignored, read.problems);
        read.value.map(|spec| application(&mut ledger, &spec_path, spec))
    };
    let spec = spec.map(|spec| owned_by_labels(spec, &metadata));
    let metadata = without_queue_label(metadata);
    let not_carried = ledger.finish()?;
    let written = spec
        .ok_or_else(|| "no spec was read".to_owned())
        .and_then(|s| serde_json::to_value(&s).map_err(|e| e.to_string()));
    let spec = match written {
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
    Ok(ImportReport { document, source_kind, not_carried })
}

/// The team, cost centre and environment the application's labels name
/// (`sparkplane.dev/team`, `sparkplane.dev/cost-center`,
/// `sparkplane.dev/environment`, the keys sparkplane puts on what it renders
/// and `sparkplane migrate kubeflow --team … --cost-center …` adds): a
/// Kubeflow application has no such fields, and sparkplane's policies ask
/// every job for an owner. A SparkConnect's too (`connect`). Kueue's
/// `kueue.x-k8s.io/queue-name` becomes the job's `spec.queue` (the
/// LocalQueue its run waits in; issue #69), and is not kept as a label
/// (`metadata`): on a SparkJob's pods it would ask Kueue's pod integration
/// to admit each pod a second time.
pub(super) fn owned_by_labels(mut spec: SparkJobSpec, metadata: &serde_json::Value) -> SparkJobSpec {
    let label = |key: &str| metadata["labels"][key].as_str().map(str::to_owned).filter(|v| !v.is_empty());
    spec.queue = spec.queue.or_else(|| label(sparkplane_api::labels::KUEUE_QUEUE_NAME));
    spec.team = spec.team.or_else(|| label(sparkplane_api::labels::TEAM));
    spec.cost_center = spec.cost_center.or_else(|| label(sparkplane_api::labels::COST_CENTER));
    spec.environment = spec.environment.or_else(|| label(sparkplane_api::labels::ENVIRONMENT));
    spec
}

/// The metadata without Kueue's queue label, which [`owned_by_labels`] made the job's `spec.queue`.
pub(super) fn without_queue_label(mut metadata: serde_json::Value) -> serde_json::Value {
    if let Some(labels) = metadata.get_mut("labels").and_then(serde_json::Value::as_object_mut) {
        labels.remove(sparkplane_api::labels::KUEUE_QUEUE_NAME);
        if labels.is_empty()
            && let Some(fields) = metadata.as_object_mut()
        {
            fields.remove("labels");
        }
    }
    metadata
}

/// Whether `path` is inside a Kubernetes object the import carries whole (a
/// volume, a volume mount, an affinity, a toleration, a role's pod
/// template), where values are read as the API server reads them.
fn in_kubernetes_object(path: &FieldPath) -> bool {
    let keys = &path.0;
    keys.iter().enumerate().any(|(i, seg)| {
        let below = i + 1 < keys.len();
        let role = i > 0 && matches!(&keys[i - 1], PathSeg::Key(k) if k == "driver" || k == "executor");
        match seg {
            PathSeg::Key(k) => {
                below
                    && (matches!(k.as_str(), "volumes" | "volumeMounts" | "affinity" | "tolerations")
                        || (k == "template" && role))
            }
            PathSeg::Index(_) => false,
        }
    })
}

/// Checks apiVersion and kind, and that there is a `spec` mapping; returns the kind.
fn header(doc: &Node) -> Result<&'static str, Diagnostics> {
    let root = FieldPath::root();
    if doc.as_map().is_none() {
        let found = doc.type_name();
        return Err(Diagnostic::error("not-a-mapping", "", format!("expected a Kubernetes object (a mapping), found a {found}"))
            .with_span(Some(doc.span.clone()))
            .with_help("import one SparkApplication or ScheduledSparkApplication, starting with `apiVersion: sparkoperator.k8s.io/v1beta2`")
            .into());
    }
    let mut diags = Diagnostics::new();
    let mut error = |code: &'static str, path: &FieldPath, message: String, help: String| {
        diags.push(
            Diagnostic::error(code, path.to_string(), message).with_help(help).with_span(Some(doc.span_for(path))),
        );
    };
    let text = |key: &str| doc.get(&root.key(key)).and_then(scalar_text);
    for key in ["apiVersion", "kind"] {
        if let Some(node) = doc.get(&root.key(key)).filter(|n| matches!(n.value, NodeValue::Seq(_) | NodeValue::Map(_)))
        {
            let found = node.type_name();
            error(
                "bad-value",
                &root.key(key),
                format!("expected a string, found a {found}"),
                "write a single value".into(),
            );
        }
    }
    let api_version = text("apiVersion");
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
        error("wrong-api-version", &root.key("apiVersion"), message, help);
    }
    let kind = match text("kind").as_deref() {
        Some(kubeflow::KIND_SPARK_APPLICATION) => kubeflow::KIND_SPARK_APPLICATION,
        Some(kubeflow::KIND_SCHEDULED_SPARK_APPLICATION) => kubeflow::KIND_SCHEDULED_SPARK_APPLICATION,
        other => {
            let message = match other {
                None => "no `kind`".to_owned(),
                Some(k) => format!("`{k}` cannot be imported"),
            };
            error(
                "wrong-kind",
                &root.key("kind"),
                message,
                "set `kind: SparkApplication` or `kind: ScheduledSparkApplication`".to_owned(),
            );
            ""
        }
    };
    if !matches!(doc.get(&root.key("spec")).map(|n| &n.value), Some(NodeValue::Map(_))) {
        error(
            "missing-field",
            &root.key("spec"),
            "no `spec` mapping".to_owned(),
            "a SparkApplication needs a `spec` with at least `type`, `mainApplicationFile`, `driver` and `executor`"
                .to_owned(),
        );
    }
    if diags.has_errors() { Err(diags.sorted()) } else { Ok(kind) }
}

/// The annotations sparkplane's operator writes on a live SparkApplication, with what each records.
const OPERATOR_RECORDS: [(&str, &str); 3] = [
    (sparkplane_api::labels::CONDITIONS, "the fields it did not honour here"),
    (sparkplane_api::labels::SCHEDULED_AT, "the tick a schedule's run was started for"),
    (sparkplane_api::labels::STARTED_BY, "what started the run"),
];

/// The SparkJob's metadata: name, namespace, labels and annotations; the rest is the API server's.
fn metadata(ledger: &mut Ledger<'_>, path: &FieldPath) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    let node = ledger.root().get(path);
    let Some(node) = node.filter(|n| matches!(n.value, NodeValue::Map(_))) else {
        if let Some(found) = node.filter(|n| n.value != NodeValue::Null).map(Node::type_name) {
            ledger.error(
                "bad-value",
                path,
                format!("expected a mapping, found a {found}"),
                "write `metadata` as a mapping of fields",
            );
        }
        ledger.error("missing-field", path, "no `metadata`", "add `metadata:` with a `name`");
        return serde_json::Value::Object(out);
    };
    let read = read_node::<ObjectMeta>(node, path);
    ledger.read(read.ignored, read.problems);
    let ObjectMeta {
        annotations,
        creation_timestamp: _,
        deletion_grace_period_seconds: _,
        deletion_timestamp: _,
        finalizers: _,
        generate_name: _,
        generation: _,
        labels,
        managed_fields: _,
        name,
        namespace,
        owner_references: _,
        resource_version: _,
        self_link: _,
        uid: _,
    } = read.value.unwrap_or_default();
    match name {
        Some(name) => {
            out.insert("name".into(), name.into());
        }
        None => {
            let help = if ledger.present(&path.key("generateName")) {
                "sparkplane derives stable names from the job name; replace `generateName` with a `name`"
            } else {
                "add `metadata.name`"
            };
            ledger.error("missing-field", &path.key("name"), "no `metadata.name`", help);
        }
    }
    if let Some(namespace) = namespace {
        out.insert("namespace".into(), namespace.into());
    }
    if let Some(labels) = labels.filter(|l| !l.is_empty()) {
        out.insert("labels".into(), serde_json::json!(labels));
    }
    let last_applied = "kubectl.kubernetes.io/last-applied-configuration";
    ledger.skip(
        &path.key("annotations").key(last_applied),
        "kubectl's record of the last apply, not part of the application",
    );
    // What sparkplane's operator records on a live application it serves (`operator --kubeflow`): the
    // fields it did not honour, and for a schedule's run its tick and starter. About the object as
    // served, not part of the application, so not carried into the job.
    let mut annotations = annotations.unwrap_or_default();
    annotations.remove(last_applied);
    for (key, what) in OPERATOR_RECORDS {
        ledger.skip(
            &path.key("annotations").key(key),
            format!("sparkplane's operator's record of {what}, not part of the application"),
        );
        annotations.remove(key);
    }
    if !annotations.is_empty() {
        out.insert("annotations".into(), serde_json::json!(annotations));
    }
    ledger.skip(&path.key("generateName"), "sparkplane derives stable names from `metadata.name`");
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
        ledger.skip(&path.key(field), SERVER_SET);
    }
    ledger
        .skip(&path.key("ownerReferences"), "sparkplane owns the objects it renders; owner references are not carried");
    ledger.skip(
        &path.key("finalizers"),
        "finalizers belong to the controllers of the live object, not to the job's definition",
    );
    serde_json::Value::Object(out)
}

/// A ScheduledSparkApplication's spec: the schedule plus its template.
fn scheduled(ledger: &mut Ledger<'_>, p: &FieldPath, spec: kubeflow::ScheduledSparkApplicationSpec) -> SparkJobSpec {
    let kubeflow::ScheduledSparkApplicationSpec {
        schedule: cron,
        time_zone,
        template,
        suspend,
        concurrency_policy,
        successful_run_history_limit,
        failed_run_history_limit,
    } = spec;
    let template_path = p.key("template");
    let mut job = application(ledger, &template_path, template);
    let mut schedule = Schedule::default();
    if cron.trim_start().starts_with("@every") {
        match sparkplane_core::cron::every_to_cron(&cron) {
            Ok(five) => schedule.cron = Some(five),
            Err(why) => ledger.error("bad-value", &p.key("schedule"), why.message, &why.help),
        }
    } else {
        schedule.cron = Some(cron);
    }
    schedule.time_zone = time_zone;
    schedule.concurrency_policy = concurrency_policy.map(|policy| match policy {
        kubeflow::ConcurrencyPolicy::Allow => ConcurrencyPolicy::Allow,
        kubeflow::ConcurrencyPolicy::Forbid => ConcurrencyPolicy::Forbid,
        kubeflow::ConcurrencyPolicy::Replace => ConcurrencyPolicy::Replace,
    });
    // The operator keeps one run of each when the schedule does not say (sparkplane would keep 3 and 1).
    schedule.successful_history_limit = whole(
        ledger,
        &p.key("successfulRunHistoryLimit"),
        Some(successful_run_history_limit.map_or(KUBEFLOW_RUN_HISTORY, i64::from)),
    );
    schedule.failed_history_limit = whole(
        ledger,
        &p.key("failedRunHistoryLimit"),
        Some(failed_run_history_limit.map_or(KUBEFLOW_RUN_HISTORY, i64::from)),
    );
    job.schedule = Some(schedule);
    if let Some(suspend) = suspend {
        if job.suspend.is_some_and(|s| s != suspend) {
            ledger.skip(&template_path.key("suspend"), "overridden by `spec.suspend` of the schedule");
        }
        job.suspend = Some(suspend);
    }
    job
}

/// A SparkApplication spec (the object's `spec` or a schedule's `template`).
fn application(ledger: &mut Ledger<'_>, p: &FieldPath, app: kubeflow::SparkApplicationSpec) -> SparkJobSpec {
    let kubeflow::SparkApplicationSpec {
        app_type,
        python_version: _,
        mode,
        proxy_user: _,
        image,
        image_pull_policy,
        image_pull_secrets,
        main_class,
        main_application_file,
        arguments,
        spark_version,
        spark_conf,
        hadoop_conf,
        spark_config_map: _,
        hadoop_config_map: _,
        volumes,
        driver,
        executor,
        deps,
        restart_policy,
        node_selector,
        failure_retries: _,
        retry_interval: _,
        memory_overhead_factor,
        monitoring: _,
        batch_scheduler: _,
        batch_scheduler_options: _,
        time_to_live_seconds,
        spark_ui_options: _,
        driver_ingress_options: _,
        dynamic_allocation,
        suspend,
    } = app;
    let mut draft = Draft::default();
    draft.spec.app_type = app_type.map(|t| match t {
        kubeflow::ApplicationType::Python => AppType::Python,
        kubeflow::ApplicationType::Scala => AppType::Scala,
        kubeflow::ApplicationType::Java => AppType::Java,
        kubeflow::ApplicationType::R => AppType::R,
    });
    refuse_unsupported(ledger, p, mode);
    draft.spec.main_class = main_class;
    draft.spec.main_application_file = main_application_file;
    draft.spec.arguments = arguments;
    draft.spec.spark_version = spark_version;
    draft.spec.hadoop_conf = hadoop_conf;
    draft.spec.volumes = volumes;
    draft.spec.node_selector = node_selector;
    draft.spec.ttl_after_finished = time_to_live(ledger, p, time_to_live_seconds);
    draft.spec.suspend = suspend;
    draft.spec.deps = deps.map(dependencies).filter(|d| *d != Dependencies::default());
    draft.spec.restart_policy = restart_policy.and_then(|r| restart(ledger, &p.key("restartPolicy"), r));

    let driver_shared = roles::driver(ledger, &p.key("driver"), driver, &mut draft);
    let executor_shared = roles::executor(ledger, &p.key("executor"), executor, &mut draft);
    draft.spec.dynamic_allocation =
        dynamic_allocation.and_then(|da| dynamic(ledger, &p.key("dynamicAllocation"), da, &mut draft.implied_conf));
    let images = AppImage { image, pull_policy: image_pull_policy, pull_secrets: image_pull_secrets };
    one_for_every_pod(ledger, p, [driver_shared, executor_shared], images, &spark_conf, &mut draft);
    memory_overhead(ledger, p, memory_overhead_factor, &spark_conf, &mut draft);
    draft.spec.spark_conf = ConfRouter { ledger }.spark_conf(p, &spark_conf, &mut draft);
    operator_defaults(&mut draft);
    without_empty_parts(draft)
}

/// The application-level fields SparkJob has no equivalent for, each
/// reported with why (and what to do instead where there is something).
fn refuse_unsupported(ledger: &mut Ledger<'_>, p: &FieldPath, mode: Option<kubeflow::DeployMode>) {
    ledger.skip(&p.key("pythonVersion"), "Spark 3 and later run Python 3 only; the image decides the version");
    // A mode the reader could not read is still named (and not carried), as written.
    let mode_text = match mode {
        Some(kubeflow::DeployMode::Cluster) => None,
        Some(kubeflow::DeployMode::Client) => Some("client".to_owned()),
        Some(kubeflow::DeployMode::InClusterClient) => Some("in-cluster-client".to_owned()),
        None => ledger.text(&p.key("mode")).filter(|m| m != "cluster"),
    };
    if let Some(mode) = mode_text {
        ledger.skip(
            &p.key("mode"),
            format!("sparkplane runs the driver in its own pod (cluster mode); `{mode}` mode has no equivalent"),
        );
    }
    ledger.skip(&p.key("proxyUser"), "SparkJob has no proxy user (`spark-submit --proxy-user`)");
    for (field, var) in [("sparkConfigMap", "SPARK_CONF_DIR"), ("hadoopConfigMap", "HADOOP_CONF_DIR")] {
        ledger.skip(
            &p.key(field),
            format!("SparkJob does not mount configuration ConfigMaps; add a configMap volume, mount it per role and set {var} in env"),
        );
    }
    for field in ["failureRetries", "retryInterval"] {
        ledger.skip(
            &p.key(field),
            "legacy field the operator no longer reads; restartPolicy.onFailureRetries is carried instead",
        );
    }
    ledger.skip(&p.key("monitoring"), "the Prometheus JMX-exporter wiring has no SparkJob equivalent; sparkplane observes jobs through their event logs");
    for field in ["batchScheduler", "batchSchedulerOptions"] {
        ledger.skip(&p.key(field), "the operator's batch-scheduler integration (pod groups, queues) has no SparkJob equivalent; spec.schedulerName only picks the scheduler");
    }
    for field in ["sparkUIOptions", "driverIngressOptions"] {
        ledger.skip(&p.key(field), "SparkJob does not render Services or Ingresses for the driver");
    }
}

/// `timeToLiveSeconds` as `ttlAfterFinished`; a negative one is an error.
fn time_to_live(ledger: &mut Ledger<'_>, p: &FieldPath, seconds: Option<i64>) -> Option<Duration> {
    match u64::try_from(seconds?) {
        Ok(secs) => Some(Duration::from_secs(secs)),
        Err(_) => {
            ledger.error(
                "bad-value",
                &p.key("timeToLiveSeconds"),
                "a negative time to live",
                "write a number of seconds, 0 or more",
            );
            None
        }
    }
}

/// The application's own image fields.
struct AppImage {
    image: Option<String>,
    pull_policy: Option<String>,
    pull_secrets: Vec<String>,
}

/// What SparkJob holds once for all pods, settled from the application and
/// both roles: the image and its pull policy and secrets, the scheduler, the
/// priority class and the service account.
fn one_for_every_pod(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    [driver, executor]: [RoleShared; 2],
    app: AppImage,
    spark_conf: &BTreeMap<String, String>,
    draft: &mut Draft,
) {
    let app_image = app_or_conf(ledger, p, app.image, "image", spark_conf, "spark.kubernetes.container.image", draft);
    let pull_policy = app_or_conf(
        ledger,
        p,
        app.pull_policy,
        "imagePullPolicy",
        spark_conf,
        "spark.kubernetes.container.image.pullPolicy",
        draft,
    );
    draft.spec.image = pick_image(ledger, app_image, driver.image, executor.image, pull_policy, app.pull_secrets);
    draft.spec.scheduler_name =
        shared(ledger, driver.scheduler_name, executor.scheduler_name, "scheduler (spec.schedulerName)");
    draft.spec.priority_class_name = shared(
        ledger,
        driver.priority_class_name,
        executor.priority_class_name,
        "priority class (spec.priorityClassName)",
    );
    if let Some((account, _)) = driver.service_account {
        draft.driver.service_account = Some(account);
    }
    if let Some((account, path)) = executor.service_account
        && draft.driver.service_account.as_deref() != Some(account.as_str())
    {
        ledger.skip(&path, "SparkJob sets the driver's service account only (spec.driver.serviceAccount); executors do not get one of their own");
    }
}

/// The application-wide memory overhead factor, for both roles; `sparkConf`
/// is passed after it and wins.
fn memory_overhead(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    factor: Option<String>,
    spark_conf: &BTreeMap<String, String>,
    draft: &mut Draft,
) {
    let factor = app_or_conf(
        ledger,
        p,
        factor,
        "memoryOverheadFactor",
        spark_conf,
        "spark.kubernetes.memoryOverheadFactor",
        draft,
    );
    let Some((factor, path)) = factor else { return };
    match factor.trim().parse::<f64>() {
        Ok(f) if f.is_finite() && f >= 0.0 => {
            draft.driver.role.memory_overhead_factor = Some(f);
            draft.executor.role.memory_overhead_factor = Some(f);
        }
        _ => ledger.error("bad-value", &path, format!("`{factor}` is not a factor"), "write a decimal such as \"0.2\""),
    }
}

/// The operator's defaults where they differ from sparkplane's, written
/// explicitly: one executor when none is asked for (Spark and sparkplane
/// start two), and shuffle tracking on under dynamic allocation unless told
/// otherwise.
fn operator_defaults(draft: &mut Draft) {
    let dynamic = draft.spec.dynamic_allocation.as_ref().is_some_and(|da| da.enabled == Some(true));
    if draft.executor.instances.is_none() && !dynamic {
        draft.executor.instances = Some(1);
    }
    if let Some(da) = draft.spec.dynamic_allocation.as_mut().filter(|da| da.enabled == Some(true)) {
        da.shuffle_tracking.get_or_insert(true);
    }
}

/// The finished spec, without the parts nothing was written into.
fn without_empty_parts(draft: Draft) -> SparkJobSpec {
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
/// `sparkConf` after it, so the property wins (and the field, when it differs, is reported as overridden).
fn app_or_conf(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    typed: Option<String>,
    field: &str,
    conf: &BTreeMap<String, String>,
    key: &str,
    draft: &mut Draft,
) -> At<String> {
    let typed = typed.map(|t| (t, p.key(field)));
    let conf = conf.get(key).map(|c| (c.clone(), p.key("sparkConf").key(key)));
    if conf.is_some() {
        draft.conf_used.insert(key.to_owned());
    }
    match (typed, conf) {
        (Some((t, tp)), Some((c, cp))) => {
            if t != c {
                ledger.skip(&tp, format!("overridden by `{cp}`, which the operator passes after it"));
            }
            Some((c, cp))
        }
        (typed, conf) => conf.or(typed),
    }
}

/// The image: the application's, else a role's. Role images differing from it are not carried.
fn pick_image(
    ledger: &mut Ledger<'_>,
    app: At<String>,
    driver: At<String>,
    executor: At<String>,
    pull_policy: At<String>,
    pull_secrets: Vec<String>,
) -> Option<Image> {
    let chosen = app.or_else(|| driver.clone()).or_else(|| executor.clone());
    for (reference, path) in [driver, executor].into_iter().flatten() {
        if Some(&reference) != chosen.as_ref().map(|c| &c.0) {
            ledger.skip(
                &path,
                "sparkplane runs driver and executors from one image (spec.image), and this one differs from it",
            );
        }
    }
    let mut image = chosen.map(|(reference, _)| split_image(reference.trim())).unwrap_or_default();
    if let Some((policy, path)) = pull_policy {
        image.pull_policy = match policy.trim() {
            "Always" => Some(PullPolicy::Always),
            "IfNotPresent" => Some(PullPolicy::IfNotPresent),
            "Never" => Some(PullPolicy::Never),
            other => {
                ledger.error(
                    "bad-value",
                    &path,
                    format!("`{other}` is not a pull policy"),
                    "write Always, IfNotPresent or Never",
                );
                None
            }
        };
    }
    image.pull_secrets = pull_secrets;
    (image != Image::default()).then_some(image)
}

/// A per-role value SparkJob holds once for all pods: carried when both roles agree.
fn shared(ledger: &mut Ledger<'_>, driver: At<String>, executor: At<String>, what: &str) -> Option<String> {
    match (driver, executor) {
        (None, None) => None,
        (Some((d, _)), Some((e, _))) if d == e => Some(d),
        (d, e) => {
            let reason = format!("SparkJob has one {what} for every pod, and driver and executor do not agree on it");
            for (_, path) in [d, e].into_iter().flatten() {
                ledger.skip(&path, reason.clone());
            }
            None
        }
    }
}

fn dependencies(deps: kubeflow::Dependencies) -> Dependencies {
    let kubeflow::Dependencies { jars, files, py_files, packages, exclude_packages, repositories, archives } = deps;
    Dependencies { jars, py_files, files, archives, packages, exclude_packages, repositories }
}

fn restart(ledger: &mut Ledger<'_>, p: &FieldPath, policy: kubeflow::RestartPolicy) -> Option<RestartPolicy> {
    let kubeflow::RestartPolicy {
        kind,
        on_submission_failure_retries: _,
        on_failure_retries,
        on_submission_failure_retry_interval: _,
        on_failure_retry_interval,
    } = policy;
    let policy = restart::restart_policy(ledger, p, kind, on_failure_retries, on_failure_retry_interval);
    for field in ["onSubmissionFailureRetries", "onSubmissionFailureRetryInterval"] {
        ledger.skip(&p.key(field), "SparkJob has one retry budget for failed runs (restartPolicy.retries); submission retries are not configured separately");
    }
    (policy != RestartPolicy::default()).then_some(policy)
}

/// Dynamic allocation. The operator reads the other fields only when `enabled` is true.
fn dynamic(
    ledger: &mut Ledger<'_>,
    p: &FieldPath,
    da: kubeflow::DynamicAllocation,
    implied: &mut BTreeMap<String, (String, FieldPath)>,
) -> Option<DynamicAllocation> {
    let kubeflow::DynamicAllocation {
        enabled,
        initial_executors,
        min_executors,
        max_executors,
        shuffle_tracking_enabled,
        shuffle_tracking_timeout,
    } = da;
    if enabled != Some(true) {
        for field in
            ["initialExecutors", "minExecutors", "maxExecutors", "shuffleTrackingEnabled", "shuffleTrackingTimeout"]
        {
            ledger.skip(&p.key(field), "ignored by the operator while dynamicAllocation.enabled is not true");
        }
        return None;
    }
    let da = DynamicAllocation {
        enabled: Some(true),
        initial_executors: whole(ledger, &p.key("initialExecutors"), initial_executors.map(i64::from)),
        min_executors: whole(ledger, &p.key("minExecutors"), min_executors.map(i64::from)),
        max_executors: whole(ledger, &p.key("maxExecutors"), max_executors.map(i64::from)),
        shuffle_tracking: shuffle_tracking_enabled,
    };
    if let Some(ms) = shuffle_tracking_timeout {
        implied.insert(
            "spark.dynamicAllocation.shuffleTracking.timeout".into(),
            (format!("{ms}ms"), p.key("shuffleTrackingTimeout")),
        );
    }
    Some(da)
}

#[cfg(test)]
use conf::{conf_slot, conf_target, spark_memory};
#[cfg(test)]
use report::UNKNOWN;
#[cfg(test)]
use sparkplane_api::{MemorySize, SparkSizeUnit};

#[cfg(test)]
mod stream_tests;
#[cfg(test)]
mod tests;
