//! Import of a Kubeflow `SparkConnect` (`sparkoperator.k8s.io/v1alpha1`): a
//! Spark Connect server becomes a SparkJob of `type: Connect` (ADR 0039).
//!
//! Owns the mapping of `SparkConnect`'s own fields (`server`, `executor`,
//! its restart policy). Everything a `SparkApplication` shares with it —
//! metadata, image, `sparkConf` routing, dynamic allocation, the ledger that
//! accounts for every field — is the parent module's, used as it is. Like the
//! parent, every field of the typed struct is destructured without `..`, so
//! each one is carried or reported. Must not size, validate or render.

use sparkplane_api::job::{AppType, DriverSpec, ExecutorSpec, Image, RestartPolicy, SparkJobSpec};
use sparkplane_api::kubeflow;
use sparkplane_api::{API_VERSION, MemorySize, SparkSizeUnit};

use super::conf::{ConfRouter, Draft, spark_memory, split_image};
use super::report::{ImportReport, Ledger};
use super::restart::restart_policy;
use super::roles::whole;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::yaml::{FieldPath, Node, NodeValue, PathSeg, read_node_with, scalar_text};

/// Why a server-owned Spark property is not carried.
const SERVER_OWNED: &str = "a Connect server's binding, token and plugins are sparkplane's (ADR 0039): gRPC on 15002, the token from the Secret `<name>-connect-token`";

/// Whether the document is a `SparkConnect` of `sparkoperator.k8s.io/v1alpha1`.
pub(super) fn is_spark_connect(doc: &Node) -> bool {
    let text = |key: &str| doc.get(&FieldPath::root().key(key)).and_then(scalar_text);
    text("apiVersion").as_deref() == Some(kubeflow::API_VERSION_V1ALPHA1)
        && text("kind").as_deref() == Some(kubeflow::KIND_SPARK_CONNECT)
}

/// Whether `path` is inside a Kubernetes object carried whole or skipped
/// whole: a role's pod template, the server's Service.
fn in_kubernetes_object(path: &FieldPath) -> bool {
    let keys = &path.0;
    keys.iter().enumerate().any(|(i, seg)| {
        let below = i + 1 < keys.len();
        let parent = |names: &[&str]| i > 0 && matches!(&keys[i - 1], PathSeg::Key(k) if names.contains(&k.as_str()));
        match seg {
            PathSeg::Key(k) => {
                below
                    && ((k == "template" && parent(&["server", "executor"])) || (k == "service" && parent(&["server"])))
            }
            PathSeg::Index(_) => false,
        }
    })
}

/// Converts a `SparkConnect` into a SparkJob of `type: Connect`.
pub(super) fn import_spark_connect(doc: &Node) -> Result<ImportReport, Diagnostics> {
    let mut ledger = Ledger::new(doc, in_kubernetes_object);
    let root = FieldPath::root();
    let metadata = super::metadata(&mut ledger, &root.key("metadata"));
    ledger.skip(&root.key("status"), "observed state written by the operator, not part of the server's definition");
    for key in ledger.keys(&root) {
        if !matches!(key.as_str(), "apiVersion" | "kind" | "metadata" | "spec" | "status") {
            ledger.unknown(root.key(&key));
        }
    }
    let spec_path = root.key("spec");
    let spec = match doc.get(&spec_path).filter(|n| matches!(n.value, NodeValue::Map(_))) {
        Some(node) => {
            let read = read_node_with::<kubeflow::SparkConnectSpec>(node, &spec_path, &in_kubernetes_object);
            ledger.read(read.ignored, read.problems);
            read.value.map(|spec| super::owned_by_labels(server(&mut ledger, &spec_path, spec), &metadata))
        }
        None => {
            ledger.error(
                "missing-field",
                &spec_path,
                "no `spec` mapping",
                "a SparkConnect needs a `spec` with at least `sparkVersion`, `server` and `executor`",
            );
            None
        }
    };
    let not_carried = ledger.finish()?;
    let spec = spec.and_then(|s| serde_json::to_value(&s).ok()).ok_or_else(|| {
        Diagnostics::from(
            Diagnostic::error("import-failed", "spec", "the imported spec could not be written")
                .with_span(Some(doc.span.clone())),
        )
    })?;
    let document = serde_json::json!({
        "apiVersion": API_VERSION,
        "kind": "SparkJob",
        "metadata": metadata,
        "spec": spec,
    });
    Ok(ImportReport { document, source_kind: kubeflow::KIND_SPARK_CONNECT, not_carried })
}

/// The image of a role's container in its pod template: the one named
/// `container` (Spark's name for the role's container), else the first.
fn template_image(template: &k8s_openapi::api::core::v1::PodTemplateSpec, container: &str) -> Option<String> {
    let containers = &template.spec.as_ref()?.containers;
    let chosen = containers.iter().find(|c| c.name == container).or(containers.first())?;
    chosen.image.as_deref().map(str::trim).filter(|i| !i.is_empty()).map(str::to_owned)
}

fn memory(ledger: &mut Ledger<'_>, path: &FieldPath, text: Option<String>) -> Option<MemorySize> {
    match spark_memory(&text?, SparkSizeUnit::Mib) {
        Ok(size) => Some(size),
        Err(message) => {
            ledger.error("bad-quantity", path, message, "write a memory size such as `512m`, `4g` or `4Gi`");
            None
        }
    }
}

/// The server's spec.
fn server(ledger: &mut Ledger<'_>, p: &FieldPath, spec: kubeflow::SparkConnectSpec) -> SparkJobSpec {
    let kubeflow::SparkConnectSpec {
        spark_version,
        image,
        hadoop_conf,
        mut spark_conf,
        server,
        executor,
        dynamic_allocation,
        restart_policy,
    } = spec;
    let mut draft = Draft::default();
    draft.spec.app_type = Some(AppType::Connect);
    if spark_version.trim().is_empty() {
        ledger.error(
            "missing-field",
            &p.key("sparkVersion"),
            "no `sparkVersion`",
            "add the server's Spark version, e.g. `sparkVersion: 4.0.1`",
        );
    } else {
        draft.spec.spark_version = Some(spark_version);
    }
    draft.spec.hadoop_conf = hadoop_conf;

    let kubeflow::ConnectServerSpec { cores, memory: server_memory, template, service } = server;
    let sp = p.key("server");
    draft.driver.role.cores = whole(ledger, &sp.key("cores"), cores.map(i64::from));
    draft.driver.role.memory = memory(ledger, &sp.key("memory"), server_memory);
    draft.driver.role.pod_template = template.map(Box::new);
    if service.is_some() {
        ledger.skip(
            &sp.key("service"),
            "sparkplane renders the server's Service itself (`<name>-connect`: gRPC 15002 and the Spark UI) and admits clients from the team's namespaces only",
        );
    }
    let kubeflow::ConnectExecutorSpec { cores, memory: executor_memory, template, instances } = executor;
    let ep = p.key("executor");
    draft.executor.role.cores = whole(ledger, &ep.key("cores"), cores.map(i64::from));
    draft.executor.role.memory = memory(ledger, &ep.key("memory"), executor_memory);
    draft.executor.role.pod_template = template.map(Box::new);
    draft.executor.instances = whole(ledger, &ep.key("instances"), instances.map(i64::from));

    draft.spec.dynamic_allocation = dynamic_allocation
        .and_then(|da| super::dynamic(ledger, &p.key("dynamicAllocation"), da, &mut draft.implied_conf));
    if let Some(policy) = restart_policy {
        draft.spec.restart_policy = restart(ledger, &p.key("restartPolicy"), policy);
    }
    let owned: Vec<String> =
        spark_conf.keys().filter(|k| sparkplane_core::spark_connect::is_server_owned(k)).cloned().collect();
    for key in owned {
        spark_conf.remove(&key);
        ledger.skip(&p.key("sparkConf").key(&key), SERVER_OWNED);
    }
    let app_image =
        super::app_or_conf(ledger, p, image, "image", &spark_conf, "spark.kubernetes.container.image", &mut draft);
    if let Some((reference, _)) = app_image {
        let image = split_image(reference.trim());
        draft.spec.image = (image != Image::default()).then_some(image);
    }
    if draft.spec.image.is_none() {
        // As Kubeflow resolves it without `spec.image`: the image of the
        // server's container in its template, else the executors'.
        let templates = [
            (draft.driver.role.pod_template.as_deref(), sparkplane_core::render::common::DRIVER_CONTAINER),
            (draft.executor.role.pod_template.as_deref(), sparkplane_core::render::common::EXECUTOR_CONTAINER),
        ];
        draft.spec.image = templates
            .into_iter()
            .find_map(|(template, name)| template_image(template?, name))
            .map(|reference| split_image(&reference))
            .filter(|image| *image != Image::default());
    }
    draft.spec.spark_conf = ConfRouter { ledger }.spark_conf(p, &spark_conf, &mut draft);
    // Under dynamic allocation the operator turns shuffle tracking on unless told otherwise.
    if let Some(da) = draft.spec.dynamic_allocation.as_mut().filter(|da| da.enabled == Some(true)) {
        da.shuffle_tracking.get_or_insert(true);
    }
    let Draft { mut spec, driver, executor, .. } = draft;
    if driver != DriverSpec::default() {
        spec.driver = Some(driver);
    }
    if executor != ExecutorSpec::default() {
        spec.executor = Some(executor);
    }
    spec
}

fn restart(ledger: &mut Ledger<'_>, p: &FieldPath, policy: kubeflow::ConnectRestartPolicy) -> Option<RestartPolicy> {
    let kubeflow::ConnectRestartPolicy { restart_policy_type, on_failure_retries, on_failure_retry_interval } = policy;
    let policy = restart_policy(ledger, p, restart_policy_type, on_failure_retries, on_failure_retry_interval);
    (policy != RestartPolicy::default()).then_some(policy)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::super::import_kubeflow;
    use super::*;
    use sparkplane_documents::source::Source;
    use sparkplane_documents::yaml::parse_single;

    fn import(text: &str) -> Result<ImportReport, Diagnostics> {
        import_kubeflow(&parse_single(&Source::new("connect.yaml", text)).expect("test YAML parses"))
    }

    /// A team's server as the operator's v1alpha1 API describes one: every
    /// spec field set, including the ones sparkplane decides itself.
    const SERVER: &str = r#"
apiVersion: sparkoperator.k8s.io/v1alpha1
kind: SparkConnect
metadata:
  name: notebooks
  namespace: analytics
  labels: {team: analytics}
spec:
  sparkVersion: 4.0.1
  image: registry.example.com/spark/connect:4.0.1
  sparkConf:
    spark.sql.shuffle.partitions: "64"
    spark.connect.grpc.binding.port: "15003"
    spark.plugins: org.apache.spark.sql.connect.SparkConnectPlugin
    spark.executor.memoryOverhead: 1g
  hadoopConf:
    fs.s3a.endpoint: s3.example.com
  server:
    cores: 2
    memory: 4g
    service:
      metadata: {annotations: {lb: internal}}
      spec:
        type: LoadBalancer
        ports: [{name: grpc, port: 15002}]
  executor:
    instances: 2
    cores: 4
    memory: 8g
    template:
      metadata: {labels: {pool: spot}}
  dynamicAllocation:
    enabled: true
    minExecutors: 1
    maxExecutors: 10
  restartPolicy:
    restartPolicyType: OnFailure
    onFailureRetries: 3
    onFailureRetryInterval: 20
status:
  state: Ready
"#;

    #[test]
    fn a_spark_connect_becomes_a_connect_job_and_says_what_it_left_behind() {
        let report = import(SERVER).expect("imports");
        assert_eq!(report.source_kind, "SparkConnect");
        assert_eq!(
            report.document,
            json!({
                "apiVersion": "sparkplane.dev/v1alpha1",
                "kind": "SparkJob",
                "metadata": {"name": "notebooks", "namespace": "analytics", "labels": {"team": "analytics"}},
                "spec": {
                    "type": "Connect",
                    "sparkVersion": "4.0.1",
                    "image": {"repository": "registry.example.com/spark/connect", "tag": "4.0.1"},
                    "sparkConf": {"spark.sql.shuffle.partitions": "64"},
                    "hadoopConf": {"fs.s3a.endpoint": "s3.example.com"},
                    "driver": {"cores": 2, "memory": "4Gi"},
                    "executor": {
                        "cores": 4,
                        "memory": "8Gi",
                        "memoryOverhead": "1Gi",
                        "podTemplate": {"metadata": {"labels": {"pool": "spot"}}},
                        "instances": 2
                    },
                    "dynamicAllocation": {"enabled": true, "minExecutors": 1, "maxExecutors": 10, "shuffleTracking": true},
                    "restartPolicy": {"type": "OnFailure", "retries": 3, "backoff": {"initial": "20s", "multiplier": 1.0}}
                }
            })
        );
        let not_carried: Vec<(&str, &str)> =
            report.not_carried.iter().map(|n| (n.path.as_str(), n.reason.as_str())).collect();
        assert_eq!(
            not_carried,
            [
                ("spec.sparkConf.\"spark.connect.grpc.binding.port\"", SERVER_OWNED),
                ("spec.sparkConf.\"spark.plugins\"", SERVER_OWNED),
                (
                    "spec.server.service",
                    "sparkplane renders the server's Service itself (`<name>-connect`: gRPC 15002 and the Spark UI) and admits clients from the team's namespaces only"
                ),
                ("status", "observed state written by the operator, not part of the server's definition"),
            ]
        );
    }

    #[test]
    fn the_imported_server_loads_and_renders_as_a_connect_server() {
        let report = import(SERVER).expect("imports");
        let text = sparkplane_documents::yaml::to_yaml(&report.document)
            + "  eventLog: {dir: \"s3a://spark-events/analytics\"}\n  team: analytics\n";
        let job = parse_single(&Source::new("notebooks.yaml", text)).expect("parses");
        let catalog = sparkplane_core::catalog::Catalog::builtin().expect("catalog");
        let resolved = sparkplane_core::load::load(sparkplane_core::resolve::ResolveRequest {
            job: &job,
            job_environment: None,
            catalog: &catalog,
            environment: None,
            sets: &[],
            target: sparkplane_core::validate::ValidationTarget::Cluster,
        })
        .unwrap_or_else(|d| panic!("loads:\n{d}"));
        let sized = sparkplane_core::sizing::size_job(&resolved.job.spec);
        let objects = sparkplane_core::render::render(
            &sparkplane_core::render::RenderInput { job: &resolved, sized: &sized },
            sparkplane_core::render::Target::Native,
        );
        assert!(objects.iter().any(|o| o.kind == "StatefulSet" && o.name == "notebooks-connect"));
        let problems = sparkplane_core::render::check::check_objects(&objects);
        assert!(problems.is_empty(), "{}", problems.join("\n"));
    }

    /// The shape of the operator's own example (examples/sparkconnect/spark-connect.yaml
    /// in kubeflow/spark-operator, Apache-2.0; rewritten here, not copied): the
    /// image only in the pod templates, and container-level security fields
    /// written at pod level, which Kubernetes' PodSecurityContext does not have.
    #[test]
    fn the_operators_example_shape_imports_and_reports_the_fields_kubernetes_would_drop() {
        let text = r#"
apiVersion: sparkoperator.k8s.io/v1alpha1
kind: SparkConnect
metadata: {name: spark-connect, namespace: default}
spec:
  sparkVersion: 4.0.1
  server:
    template:
      spec:
        containers:
        - {name: spark-kubernetes-driver, image: "docker.io/library/spark:4.0.1"}
        securityContext:
          runAsUser: 185
          allowPrivilegeEscalation: false
  executor:
    instances: 2
    cores: 1
    memory: 512m
"#;
        let report = import(text).expect("imports");
        assert_eq!(report.document["spec"]["type"], "Connect");
        assert_eq!(
            report.document["spec"]["image"],
            json!({"repository": "docker.io/library/spark", "tag": "4.0.1"}),
            "no `spec.image`: the server container's, as Kubeflow resolves it"
        );
        assert_eq!(report.document["spec"]["executor"], json!({"cores": 1, "memory": "512Mi", "instances": 2}));
        assert_eq!(
            report.document["spec"]["driver"]["podTemplate"]["spec"]["securityContext"],
            json!({"runAsUser": 185})
        );
        let paths: Vec<&str> = report.not_carried.iter().map(|n| n.path.as_str()).collect();
        assert_eq!(paths, ["spec.server.template.spec.securityContext.allowPrivilegeEscalation"]);
    }

    /// The owner labels `migrate kubeflow --apply --team … --cost-center …`
    /// adds name the server's owner, as they do an application's.
    #[test]
    fn owner_labels_become_the_servers_team_and_cost_center() {
        let text = "apiVersion: sparkoperator.k8s.io/v1alpha1\nkind: SparkConnect\nmetadata:\n  name: s\n  labels: {sparkplane.dev/team: data-eng, sparkplane.dev/cost-center: cc-7}\nspec:\n  sparkVersion: 4.0.1\n  image: spark:4.0.1\n  server: {cores: 1}\n  executor: {instances: 1}\n";
        let spec = &import(text).expect("imports").document["spec"];
        assert_eq!((&spec["team"], &spec["costCenter"]), (&json!("data-eng"), &json!("cc-7")));
    }

    #[test]
    fn bad_values_are_located_and_nothing_is_written() {
        let text = "apiVersion: sparkoperator.k8s.io/v1alpha1\nkind: SparkConnect\nmetadata: {name: s}\nspec:\n  server: {memory: lots}\n  executor: {instances: -1}\n";
        let diagnostics = import(text).expect_err("refused");
        let rendered = diagnostics.to_string();
        for wanted in ["spec.sparkVersion", "no `sparkVersion`", "spec.server.memory", "spec.executor.instances"] {
            assert!(rendered.contains(wanted), "missing `{wanted}` in:\n{rendered}");
        }
        assert!(rendered.contains("connect.yaml:5:"), "the memory error points at its line:\n{rendered}");
    }
}
