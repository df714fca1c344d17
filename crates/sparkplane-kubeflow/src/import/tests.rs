//! The import's tests: whole documents in, SparkJob documents and not-carried lists out.

use super::*;
use serde_json::json;
use sparkplane_api::SparkJob;
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::parse_single;

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
    for (prefix, _) in sparkplane_core::validate::OWNED_SPARK_PREFIXES {
        let key = format!("{prefix}{}", if prefix.ends_with('.') { "x" } else { "" });
        assert!(conf_target(&key).is_some() || conf_slot(&key).is_some(), "{key} is neither moved nor explained");
    }
    for (key, _) in sparkplane_core::validate::OWNED_SPARK_KEYS {
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

/// A live application sparkplane's operator served (`kubectl get -o yaml`)
/// carries the operator's records (its conditions; a schedule's run also its
/// tick and starter): they describe the served SparkApplication, not the
/// application, so the SparkJob does not carry them
/// (a job's annotations are part of a rendered file's spec hash; with it the
/// import of a served application would render under other names than the
/// operator gave its run). Other annotations are kept.
#[test]
fn the_operators_records_on_a_served_application_are_not_carried() {
    let report = import(
        r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: served
  annotations:
    owner: ana@example.com
    sparkplane.dev/conditions: '[{"type":"FieldNotHonoured","status":"True","field":"spec.driver.hostNetwork"}]'
    sparkplane.dev/scheduled-at: "2026-11-25T18:00:00Z"
    sparkplane.dev/started-by: schedule
spec:
  type: Python
  mainApplicationFile: local:///app/main.py
"#,
    )
    .expect("imports");
    assert_eq!(
        paths(&report),
        [
            "metadata.annotations.\"sparkplane.dev/conditions\"",
            "metadata.annotations.\"sparkplane.dev/scheduled-at\"",
            "metadata.annotations.\"sparkplane.dev/started-by\"",
        ]
    );
    assert!(report.not_carried.iter().all(|n| n.reason.contains("sparkplane's operator")), "{:?}", report.not_carried);
    assert_eq!(report.document["metadata"]["annotations"], json!({"owner": "ana@example.com"}));
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
    let reason =
        |path: &str| report.not_carried.iter().find(|n| n.path == path).map(|n| n.reason.as_str()).unwrap_or_default();
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
    let found: Vec<_> = err.0.iter().map(|d| (d.code, d.path.as_str(), d.span.as_ref().map(|s| s.at.line))).collect();
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
fn load(report: &ImportReport) -> Result<sparkplane_core::resolved::ResolvedJob, Diagnostics> {
    let text = sparkplane_documents::yaml::to_yaml(&report.document);
    let node = parse_single(&Source::new("imported.yaml", text)).expect("emitted YAML parses");
    let catalog = sparkplane_core::catalog::Catalog::empty();
    sparkplane_core::load::load(sparkplane_core::resolve::ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: sparkplane_core::validate::ValidationTarget::Any,
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
    assert_eq!(parts("host:5000/spark@sha256:ff"), (Some("host:5000/spark".into()), None, Some("sha256:ff".into())));
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

#[test]
fn every_mistake_is_reported_at_once_with_its_line_and_column() {
    let err = import(
        r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: many-mistakes}
spec:
  type: 3
  timeToLiveSeconds: "3600"
  suspend: "yes"
  restartPolicy: {type: Sometimes}
  volumes:
    - name: scratch
      emptyDir: {sizeLimit: 1Gi}
    - 7
  driver:
    cores: 1
    coreLimit: lots
    tolerations:
      - {key: 42, operator: Exists}
  executor:
    instances: -2
    env: {A: b}
"#,
    )
    .unwrap_err();
    let found: Vec<_> = err
        .0
        .iter()
        .map(|d| {
            let at = d.span.as_ref().map(|s| (s.at.line, s.at.column));
            (d.code, d.path.as_str(), at, d.message.as_str())
        })
        .collect();
    assert_eq!(
        found,
        [
            ("bad-value", "spec.type", Some((6, 9)), "`3` is not an application type"),
            ("bad-value", "spec.timeToLiveSeconds", Some((7, 22)), "expected a whole number, found a string"),
            ("bad-value", "spec.suspend", Some((8, 12)), "expected true or false, found a string"),
            (
                "bad-value",
                "spec.restartPolicy.type",
                Some((9, 25)),
                "`Sometimes` is not one of Never, OnFailure or Always"
            ),
            ("bad-value", "spec.volumes[1]", Some((13, 7)), "expected a mapping, found a integer"),
            (
                "bad-quantity",
                "spec.driver.coreLimit",
                Some((16, 16)),
                "`lots` is not a CPU amount: write whole or decimal cores (`2`, `1.5`) or millicores (`500m`)"
            ),
            ("bad-value", "spec.driver.tolerations[0].key", Some((18, 15)), "expected a string, found a integer"),
            ("bad-value", "spec.executor.instances", Some((20, 16)), "`-2` is out of range"),
            ("bad-value", "spec.executor.env", Some((21, 10)), "expected a list of environment variables"),
        ]
    );
    assert!(err.0.iter().all(|d| d.help.is_some()));
    let quoting = err.0.iter().find(|d| d.path == "spec.driver.tolerations[0].key").and_then(|d| d.help.as_deref());
    assert_eq!(quoting, Some("quote the value: Kubernetes reads only a string here"));
}

#[test]
fn unknown_keys_inside_carried_kubernetes_objects_are_listed() {
    let report = import(
        r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata: {name: nested}
spec:
  type: Scala
  mainApplicationFile: local:///app.jar
  volumes:
    - name: scratch
      emptyDir: {medium: Memory, sizeLimt: 1Gi}
  executor:
    tolerations:
      - {key: spot, operator: Exists, efect: NoSchedule}
"#,
    )
    .expect("imports");
    assert_eq!(paths(&report), ["spec.volumes[0].emptyDir.sizeLimt", "spec.executor.tolerations[0].efect"]);
    assert!(report.not_carried.iter().all(|n| n.reason == UNKNOWN));
    assert_eq!(report.not_carried[0].span.at.line, 10);
    assert_eq!(report.not_carried[0].span.at.column, 34);
    assert_eq!(report.document["spec"]["volumes"], json!([{"name": "scratch", "emptyDir": {"medium": "Memory"}}]));
}

#[test]
fn entries_without_a_value_are_listed_and_empty_known_fields_are_not() {
    let report = import(
        r#"
apiVersion: sparkoperator.k8s.io/v1beta2
kind: SparkApplication
metadata:
  name: sparse
  labels: {team: analytics, owner: null}
spec:
  type: Scala
  mainApplicationFile: local:///app.jar
  sparkConf:
    spark.sql.shuffle.partitions: ~
    spark.sql.adaptive.enabled: "true"
  hadoopConf: {}
  deps: {}
  driver:
    env: []
  executor:
    env:
      - {name: A, value: "1"}
      - ~
"#,
    )
    .expect("imports");
    assert_eq!(
        paths(&report),
        ["metadata.labels.owner", "spec.sparkConf.\"spark.sql.shuffle.partitions\"", "spec.executor.env[1]"]
    );
    assert!(report.not_carried.iter().all(|n| n.reason.contains("null")), "{:#?}", report.not_carried);
    assert_eq!(report.document["metadata"]["labels"], json!({"team": "analytics"}));
    assert_eq!(report.document["spec"]["sparkConf"], json!({"spark.sql.adaptive.enabled": "true"}));
    assert_eq!(report.document["spec"]["executor"]["env"], json!([{"name": "A", "value": "1"}]));
}

/// Every value of `node` replaced, one at a time, by `with`.
fn each_value_replaced(node: &Node, with: &NodeValue) -> Vec<Node> {
    let mut out = vec![Node { value: with.clone(), span: node.span.clone() }];
    let children: Vec<Vec<Node>> = match &node.value {
        NodeValue::Map(entries) => entries.iter().map(|(_, _, child)| each_value_replaced(child, with)).collect(),
        NodeValue::Seq(items) => items.iter().map(|child| each_value_replaced(child, with)).collect(),
        _ => Vec::new(),
    };
    for (i, variants) in children.into_iter().enumerate() {
        for variant in variants {
            let mut copy = node.clone();
            match &mut copy.value {
                NodeValue::Map(entries) => entries[i].2 = variant,
                NodeValue::Seq(items) => items[i] = variant,
                _ => {}
            }
            out.push(copy);
        }
    }
    out
}

#[test]
fn any_value_of_any_type_anywhere_gives_a_report_or_located_errors() {
    let values = [
        NodeValue::Null,
        NodeValue::Int(-1),
        NodeValue::Float(0.5),
        NodeValue::Bool(true),
        NodeValue::Str("x".into()),
        NodeValue::Seq(vec![]),
        NodeValue::Map(vec![]),
    ];
    let mut documents = 0;
    for text in [FULL, SCHEDULED] {
        let root = parse_single(&Source::new("app.yaml", text)).expect("test YAML parses");
        for value in &values {
            for doc in each_value_replaced(&root, value) {
                documents += 1;
                match import_kubeflow(&doc) {
                    Ok(report) => assert!(report.not_carried.iter().all(|n| !n.reason.is_empty())),
                    Err(errors) => {
                        assert!(errors.has_errors());
                        for d in &errors.0 {
                            assert!(d.span.is_some() && d.help.is_some(), "{d:?}");
                        }
                    }
                }
            }
        }
    }
    assert!(documents > 500, "{documents}");
}

/// A SparkJob with every sizing input set, rendered to a SparkApplication by
/// the core's `kubeflow` target and imported back: the one sizing model sizes
/// both the same (moved here from the core's render tests with the importer).
#[test]
fn importing_the_rendered_application_sizes_the_same() {
    const JOB: &str = r#"
apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: etl, namespace: data}
spec:
  type: Python
  sparkVersion: "3.5.3"
  image: {repository: registry.example.com/spark/py, tag: "3.5.3"}
  mainApplicationFile: s3a://bucket/etl.py
  driver: {cores: 1, memory: 2g}
  executor:
    cores: 4
    coreLimit: "4"
    memory: 8g
    instances: 3
    pysparkMemory: 1g
    gpu: {name: nvidia.com/gpu, amount: 1}
"#;
    let node = parse_single(&Source::new("job.yaml", JOB)).expect("fixture parses");
    let catalog = sparkplane_core::catalog::Catalog::empty();
    let resolved = sparkplane_core::load::load(sparkplane_core::resolve::ResolveRequest {
        job: &node,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: sparkplane_core::validate::ValidationTarget::Any,
    })
    .unwrap_or_else(|d| panic!("fixture resolves: {d}"));
    let sized = sparkplane_core::sizing::size_job(&resolved.job.spec);
    let input = sparkplane_core::render::RenderInput { job: &resolved, sized: &sized };
    let objects = sparkplane_core::render::kubeflow::render_kubeflow(&input);
    let body = objects.iter().find(|o| o.kind == "SparkApplication").map(|o| o.body.clone()).unwrap_or_default();
    let node = parse_single(&Source::new("app.yaml", sparkplane_documents::yaml::to_yaml(&body))).expect("parses");
    let report = import_kubeflow(&node).unwrap_or_else(|d| panic!("{d}"));
    let job: SparkJob = serde_json::from_value(report.document).expect("a SparkJob");
    let again = sparkplane_core::sizing::size_job(&job.spec);
    for (a, b) in [(&sized.driver, &again.driver), (&sized.executor, &again.executor)] {
        assert_eq!((a.spark_cores, a.cpu_request, a.cpu_limit), (b.spark_cores, b.cpu_request, b.cpu_limit));
        assert_eq!((a.heap, a.overhead, a.pyspark, a.pod_memory), (b.heap, b.overhead, b.pyspark, b.pod_memory));
        assert_eq!(a.gpu.as_ref().map(|g| (&g.name, g.amount)), b.gpu.as_ref().map(|g| (&g.name, g.amount)));
    }
    assert_eq!(sized.executors, again.executors);
}

#[test]
fn a_schedule_without_history_limits_keeps_one_run_of_each_as_the_operator_does() {
    let text = SCHEDULED.replace("  successfulRunHistoryLimit: 3\n", "").replace("  failedRunHistoryLimit: 5\n", "");
    assert_ne!(text, SCHEDULED, "the fixture sets both limits");
    let report = import(&text).expect("imports");
    assert_eq!(report.document["spec"]["schedule"]["successfulHistoryLimit"], 1);
    assert_eq!(report.document["spec"]["schedule"]["failedHistoryLimit"], 1);
}

#[test]
fn ownership_labels_become_the_jobs_team_cost_center_and_environment() {
    let labelled = FULL.replace(
        "  labels: {team: analytics}",
        "  labels: {team: analytics, sparkplane.dev/team: data-eng, sparkplane.dev/cost-center: cc-7, sparkplane.dev/environment: prod}",
    );
    assert_ne!(labelled, FULL, "the fixture has labels");
    let report = import(&labelled).expect("imports");
    let spec = &report.document["spec"];
    assert_eq!(
        (&spec["team"], &spec["costCenter"], &spec["environment"]),
        (&json!("data-eng"), &json!("cc-7"), &json!("prod"))
    );
    // The labels stay on the job as well; an application without them names no owner.
    assert_eq!(report.document["metadata"]["labels"]["sparkplane.dev/team"], "data-eng");
    let plain = import(FULL).expect("imports");
    assert!(plain.document["spec"]["team"].is_null() && plain.document["spec"]["costCenter"].is_null());
}

#[test]
fn kueues_queue_label_becomes_the_jobs_queue_and_leaves_its_labels() {
    let labelled =
        FULL.replace("  labels: {team: analytics}", "  labels: {team: analytics, kueue.x-k8s.io/queue-name: batch}");
    assert_ne!(labelled, FULL, "the fixture has labels");
    let report = import(&labelled).expect("imports");
    assert_eq!(report.document["spec"]["queue"], "batch");
    assert_eq!(report.document["metadata"]["labels"], json!({"team": "analytics"}), "not on the job's pods");
    let alone = FULL.replace("  labels: {team: analytics}", "  labels: {kueue.x-k8s.io/queue-name: batch}");
    let report = import(&alone).expect("imports");
    assert_eq!(report.document["spec"]["queue"], "batch");
    assert!(report.document["metadata"].get("labels").is_none(), "{}", report.document["metadata"]);
    assert!(import(FULL).expect("imports").document["spec"]["queue"].is_null());
}

#[test]
fn the_operators_defaults_are_written_where_they_differ_from_sparkplanes() {
    // (executor instances, dynamic allocation enabled, shuffle tracking) before → after
    type Case = (Option<u32>, Option<bool>, Option<bool>);
    let table: [(Case, Case); 6] = [
        ((None, None, None), (Some(1), None, None)),
        ((Some(3), None, None), (Some(3), None, None)),
        ((None, Some(false), None), (Some(1), Some(false), None)),
        ((None, Some(true), None), (None, Some(true), Some(true))),
        ((None, Some(true), Some(false)), (None, Some(true), Some(false))),
        ((Some(2), Some(true), None), (Some(2), Some(true), Some(true))),
    ];
    for ((instances, enabled, tracking), after) in table {
        let mut draft = Draft::default();
        draft.executor.instances = instances;
        draft.spec.dynamic_allocation =
            enabled.map(|e| DynamicAllocation { enabled: Some(e), shuffle_tracking: tracking, ..Default::default() });
        operator_defaults(&mut draft);
        let da = draft.spec.dynamic_allocation.as_ref();
        let got = (draft.executor.instances, da.and_then(|d| d.enabled), da.and_then(|d| d.shuffle_tracking));
        assert_eq!(got, after, "{instances:?} {enabled:?} {tracking:?}");
    }
}

#[test]
fn a_time_to_live_of_zero_or_more_seconds_is_carried_and_a_negative_one_refused() {
    let doc = parse_single(&Source::new("app.yaml", "spec: {timeToLiveSeconds: -1}\n")).expect("parses");
    let p = FieldPath::root().key("spec");
    // (seconds, carried)
    let table = [(None, None), (Some(0), Some(Duration::from_secs(0))), (Some(3600), Some(Duration::from_secs(3600)))];
    for (seconds, carried) in table {
        let mut ledger = Ledger::new(&doc, in_kubernetes_object);
        assert_eq!(time_to_live(&mut ledger, &p, seconds), carried, "{seconds:?}");
        assert!(ledger.finish().is_ok(), "{seconds:?}");
    }
    let mut ledger = Ledger::new(&doc, in_kubernetes_object);
    assert_eq!(time_to_live(&mut ledger, &p, Some(-1)), None);
    let problems = ledger.finish().expect_err("refused");
    assert_eq!(problems.0.len(), 1);
    assert_eq!(problems.0[0].path, "spec.timeToLiveSeconds");
    assert_eq!(problems.0[0].message, "a negative time to live");
    assert_eq!(problems.0[0].span.as_ref().map(|s| (s.at.line, s.at.column)), Some((1, 27)));
}
