use super::*;

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata:\n  name: pi\n  namespace: data\nspec:\n  type: Scala\n";

const CONFIG_MAP: &str =
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: data\ndata:\n  KEY1: VALUE1\n";

fn read(text: &str) -> Result<JobFile, Diagnostics> {
    read_job_file(&Source::new("job.yaml", text))
}

/// Each error as `line:column code path: message`.
fn errors(text: &str) -> Vec<String> {
    let found = read(text).expect_err("refused");
    found
        .errors()
        .map(|d| {
            let at = d.span.as_ref().map(|s| format!("{}:{}", s.at.line, s.at.column)).unwrap_or_default();
            format!("{at} {} {}: {}", d.code, d.path, d.message)
        })
        .collect()
}

#[test]
fn one_document_is_the_job_whatever_it_holds() {
    let file = read(JOB).expect("read");
    assert_eq!(file.job.get(&path("metadata.name")).and_then(Node::as_str), Some("pi"));
    assert!(file.companions.is_empty());
    // A single document of another kind is still handed to `load`, which says what is wrong.
    let file = read(CONFIG_MAP).expect("read");
    assert_eq!(text_at(&file.job, "kind").as_deref(), Some("ConfigMap"));
    // An empty file keeps the one-document reader's message.
    let empty = read("# nothing\n").expect_err("empty");
    assert_eq!(empty.0[0].code, "empty-document");
}

#[test]
fn the_job_and_its_companions_in_the_order_they_are_applied() {
    let text = format!(
        "{CONFIG_MAP}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: another}}\n---\n{JOB}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: spark}}\n"
    );
    let file = read(&text).expect("read");
    assert_eq!(text_at(&file.job, "kind").as_deref(), Some("SparkJob"));
    let names: Vec<String> = file.companions.iter().map(Companion::title).collect();
    assert_eq!(names, ["ServiceAccount spark", "ConfigMap another", "ConfigMap settings"]);
    assert_eq!((file.companions[2].span.at.line, file.companions[2].span.at.column), (4, 9));
}

#[test]
fn a_companion_goes_to_the_jobs_namespace_without_what_the_api_server_wrote() {
    let exported = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: data\n  uid: \"1234\"\n  resourceVersion: \"77\"\n  creationTimestamp: \"2026-01-01T00:00:00Z\"\n  labels: {app: pi}\ndata:\n  KEY1: VALUE1\n";
    let file = read(&format!("{exported}---\n{JOB}")).expect("read");
    let object = file.companions[0].object("elsewhere");
    assert_eq!(object.namespace.as_deref(), Some("elsewhere"));
    assert_eq!(
        object.body,
        serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "settings", "namespace": "elsewhere", "labels": {"app": "pi"}},
            "data": {"KEY1": "VALUE1"},
        })
    );
}

#[test]
fn a_second_sparkjob_is_refused_at_its_kind() {
    let text = format!("{JOB}---\n{}", JOB.replace("name: pi", "name: other"));
    let found = read(&text).expect_err("refused");
    assert_eq!(found.0.len(), 1);
    let error = &found.0[0];
    assert_eq!(
        error.to_plain(),
        "job.yaml:10:7: error: kind: document 2 is a second SparkJob (`data/other`); a job file holds one\n  help: put \
         each SparkJob in a file of its own, with the ConfigMaps and ServiceAccounts it uses (`sparkplane import \
         kubeflow APP.yaml --out JOB.yaml` imports one application)\n  note: job.yaml:2:7: the first SparkJob"
    );
}

#[test]
fn a_secret_is_refused_and_no_message_can_show_its_value() {
    let secret =
        "apiVersion: v1\nkind: Secret\nmetadata: {name: creds, namespace: data}\nstringData:\n  PASSWORD: hunter2\n";
    let text = format!("{secret}---\n{JOB}");
    let found = read(&text).expect_err("refused");
    assert_eq!(
        errors(&text),
        ["2:7 secret-in-job-file kind: document 1 is a Secret (`data/creds`); a job file never holds one"]
    );
    let span = found.0[0].span.as_ref().expect("a span");
    assert_eq!(span.source.text.len(), text.len(), "offsets kept");
    assert!(!span.source.text.contains("hunter2"), "{}", span.source.text);
    assert!(span.source.text.contains("kind: SparkJob"), "only the Secret is blanked");
}

#[test]
fn any_other_kind_is_refused_with_what_to_do() {
    let role = "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {name: spark}\n";
    let found = read(&format!("{JOB}---\n{role}")).expect_err("refused");
    assert_eq!(
        found.0[0].to_plain(),
        "job.yaml:10:7: error: kind: document 2 is a `rbac.authorization.k8s.io/v1` Role (`spark`); a job file holds \
         one SparkJob and, beside it, the v1 ConfigMaps and ServiceAccounts its pods read\n  help: move the Role to a \
         file of its own and apply it as before (`kubectl apply -f`)"
    );
    // A ConfigMap of another apiVersion is not a v1 ConfigMap.
    let odd = CONFIG_MAP.replace("apiVersion: v1", "apiVersion: v2");
    assert_eq!(errors(&format!("{JOB}---\n{odd}"))[0].split(':').nth(1), Some("7 unexpected-kind kind"));
}

#[test]
fn documents_without_a_sparkjob_or_kind_are_refused() {
    assert_eq!(
        errors(&format!("{CONFIG_MAP}---\n{CONFIG_MAP}").replacen("name: settings", "name: one", 1)),
        ["2:7 no-job : job.yaml holds 2 documents and no SparkJob"]
    );
    assert_eq!(
        errors(&format!("{JOB}---\nmetadata: {{name: x}}\n---\n- a list\n")),
        [
            "9:1 missing-field kind: document 2 has no `kind`: it is not a Kubernetes object",
            "11:1 not-an-object : document 3 is a list, not a Kubernetes object"
        ]
    );
}

#[test]
fn a_companion_is_read_as_the_api_server_reads_it() {
    let bad = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: Bad_Name\n  labels: {\"-x\": ok}\ndata:\n  KEY: 1\n  \"a/b\": x\nimmutable: true\nextra: 1\n";
    assert_eq!(
        errors(&format!("{JOB}---\n{bad}")),
        [
            "12:9 bad-value metadata.name: `Bad_Name` is not a valid ConfigMap name",
            "13:12 bad-value metadata.labels.-x: `-x` is not a valid label key",
            "15:8 bad-value data.KEY: expected a string, found a integer",
            "16:3 bad-value data.a/b: `a/b` is not a valid ConfigMap key",
            "18:1 unknown-field extra: unknown field `extra`: a v1 ConfigMap has no such field",
        ]
    );
    let nameless = "apiVersion: v1\nkind: ServiceAccount\nmetadata: {namespace: data}\n";
    assert_eq!(
        errors(&format!("{JOB}---\n{nameless}")),
        ["11:11 missing-field metadata.name: document 2, a ServiceAccount, has no name"]
    );
}

#[test]
fn a_companion_elsewhere_or_written_twice_is_refused() {
    let elsewhere = CONFIG_MAP.replace("namespace: data", "namespace: default");
    assert_eq!(
        errors(&format!("{JOB}---\n{elsewhere}")),
        [
            "13:14 other-namespace metadata.namespace: ConfigMap settings is in namespace `default` and the SparkJob in `data`; a pod reads only its own namespace's"
        ]
    );
    assert_eq!(
        errors(&format!("{CONFIG_MAP}---\n{JOB}---\n{CONFIG_MAP}")),
        ["20:9 same-object metadata.name: ConfigMap settings is written twice in this file"]
    );
    // Without a namespace it goes where the job goes.
    let anywhere = CONFIG_MAP.replace("  namespace: data\n", "");
    assert_eq!(read(&format!("{JOB}---\n{anywhere}")).expect("read").companions.len(), 1);
}

#[test]
fn companions_join_the_rendered_objects_in_applying_order_and_may_not_take_their_names() {
    let file = read(&format!("{JOB}---\n{CONFIG_MAP}")).expect("read");
    let rendered = vec![
        RenderedObject::from_custom(
            serde_json::json!({"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "pi-driver", "namespace": "data"}}),
        ),
        RenderedObject::from_custom(
            serde_json::json!({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": "pi", "namespace": "data"}}),
        ),
    ];
    let objects = with_companions(rendered.clone(), &file.companions, "data").expect("joined");
    let order: Vec<String> = objects.iter().map(|o| format!("{} {}", o.kind, o.name)).collect();
    assert_eq!(order, ["ServiceAccount pi", "ConfigMap settings", "Pod pi-driver"]);

    let clash =
        read(&format!("{JOB}---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: pi}}\n")).expect("read");
    let refused = with_companions(rendered, &clash.companions, "data").expect_err("refused");
    assert_eq!(
        refused.0[0].to_plain(),
        "job.yaml:11:18: error: metadata.name: ServiceAccount pi is also an object sparkplane renders for this job\n  \
         help: rename the ServiceAccount (and the references to it)"
    );
}

#[test]
fn what_import_kubeflow_writes_is_a_job_file() {
    // The shape of `import kubeflow`'s output for Kubeflow's pod-template example.
    let text = "apiVersion: v1\ndata:\n  KEY1: VALUE1\nkind: ConfigMap\nmetadata:\n  name: test-configmap\n  namespace: default\n---\napiVersion: v1\ndata:\n  KEY3: VALUE3\nkind: ConfigMap\nmetadata:\n  name: test-configmap-2\n  namespace: default\n---\napiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata:\n  name: spark-pi-pod-template\n  namespace: default\nspec:\n  type: Scala\n";
    let file = read(text).expect("read");
    let names: Vec<String> = file.companions.iter().map(Companion::title).collect();
    assert_eq!(names, ["ConfigMap test-configmap", "ConfigMap test-configmap-2"]);
}
