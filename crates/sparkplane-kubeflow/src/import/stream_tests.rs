//! The tests of whole-file import: several documents in, what became of each out.

use super::stream::{Outcome, import_kubeflow_files};
use sparkplane_documents::source::Source;

const APP: &str = "apiVersion: sparkoperator.k8s.io/v1beta2\nkind: SparkApplication\nmetadata: {name: pi, namespace: jobs}\nspec:\n  type: Scala\n  mainApplicationFile: local:///opt/pi.jar\n  driver: {cores: 1}\n  executor: {instances: 2}\n";

fn files(texts: &[(&str, &str)]) -> Vec<Source> {
    texts.iter().map(|(name, text)| Source::new(*name, *text)).collect()
}

#[test]
fn converts_applications_keeps_configmaps_and_service_accounts_and_lists_the_rest() {
    let text = format!(
        "# a license header\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: conf, namespace: jobs}}\ndata: {{KEY1: VALUE1}}\n---\napiVersion: v1\nkind: Secret\nmetadata: {{name: creds, namespace: jobs}}\nstringData: {{PASSWORD: hunter2-plain}}\ndata: {{TOKEN: c2VjcmV0LWJhc2U2NA==}}\n---\napiVersion: v1\nkind: ServiceAccount\nmetadata: {{name: spark}}\n---\n{APP}---\napiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata: {{name: spark-role}}\n"
    );
    let imported = import_kubeflow_files(&files(&[("all.yaml", &text)])).expect("imports");
    assert_eq!(imported.counts(), (1, 2, 2));
    assert!(
        imported.summary().starts_with("1 converted, 2 kept as written, 2 left out (listed above); "),
        "{}",
        imported.summary()
    );
    let kinds: Vec<(usize, &str)> = imported.items.iter().map(|i| (i.document, i.kind.as_str())).collect();
    assert_eq!(
        kinds,
        [(1, "ConfigMap"), (2, "Secret"), (3, "ServiceAccount"), (4, "SparkApplication"), (5, "Role")],
        "the comment-only header is no document"
    );
    let docs = imported.documents();
    assert_eq!(docs.len(), 3);
    assert_eq!(docs[0]["data"]["KEY1"], "VALUE1", "a ConfigMap is kept as written");
    assert_eq!(docs[1]["kind"], "ServiceAccount");
    assert_eq!(docs[2]["kind"], "SparkJob");
    assert_eq!(docs[2]["metadata"]["name"], "pi");
    let Outcome::Left { keys, reason } = &imported.items[1].outcome else { panic!("the Secret is left out") };
    assert_eq!(keys, &["PASSWORD", "TOKEN"]);
    assert!(reason.contains("values never leave the input"), "{reason}");
    let warnings = imported.warnings().to_string();
    assert!(warnings.contains("all.yaml:8:1: warning: Secret `jobs/creds` left out of the output"), "{warnings}");
    assert!(warnings.contains("(keys: PASSWORD, TOKEN)"), "{warnings}");
    assert!(warnings.contains("all.yaml:27:1: warning: Role `spark-role` left out of the output"), "{warnings}");
    let everything = format!("{}{}{warnings}", sparkplane_documents::yaml::to_yaml_stream(docs), imported.to_json());
    for value in ["hunter2-plain", "c2VjcmV0LWJhc2U2NA=="] {
        assert!(!everything.contains(value), "a Secret's value is in the output: {everything}");
    }
    // A terminal quotes the lines around a problem from the span's source: it holds no Secret text either.
    let warned = imported.warnings();
    let spans = imported.items.iter().map(|i| &i.span).chain(warned.0.iter().filter_map(|d| d.span.as_ref()));
    for span in spans {
        assert!(!span.source.text.contains("hunter2-plain"), "{}", span.source.text);
        assert!(span.source.text.contains("KEY1: VALUE1"), "only the Secret is blanked");
    }
}

#[test]
fn an_error_next_to_a_secret_cannot_quote_it() {
    let text = format!(
        "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData: {{PASSWORD: hunter2-plain}}\n---\n{}",
        APP.replace("cores: 1", "cores: 0.5")
    );
    let err = import_kubeflow_files(&files(&[("n.yaml", &text)])).expect_err("refused");
    let span = err.0[0].span.as_ref().expect("located");
    assert_eq!((span.at.line, span.at.column), (12, 19), "{err}");
    assert!(!span.source.text.contains("hunter2"));
    assert_eq!(&span.source.text[span.start..span.end], "0.5", "the application's own text is kept");
}

#[test]
fn reads_files_in_the_order_given_and_notes_an_object_written_twice() {
    let imported = import_kubeflow_files(&files(&[("a.yaml", APP), ("b.yaml", APP)])).expect("imports");
    assert_eq!(imported.documents().len(), 2);
    assert_eq!(imported.items[0].span.source.name.as_ref(), "a.yaml");
    let notes = imported.notes.to_string();
    assert!(notes.contains("b.yaml:1:1: warning: metadata.name: SparkJob `jobs/pi` is written twice"), "{notes}");
    assert!(notes.contains("note: a.yaml:1:1: also written from here"), "{notes}");
}

#[test]
fn a_bad_application_fails_the_whole_import_naming_its_document_line_and_field() {
    let bad = APP.replace("cores: 1", "cores: 0.5");
    let text = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: conf}}\n---\n{bad}");
    let err = import_kubeflow_files(&files(&[("two.yaml", &text)])).expect_err("refused").to_string();
    assert_eq!(
        err.lines().next().unwrap(),
        "two.yaml:11:19: error: spec.driver.cores: Spark cores must be whole, not 0.5 (document 2 of two.yaml)",
        "{err}"
    );
    // One document alone keeps the message it always had.
    let err = import_kubeflow_files(&files(&[("one.yaml", &bad)])).expect_err("refused").to_string();
    assert!(err.starts_with("one.yaml:7:19: error: spec.driver.cores: Spark cores must be whole, not 0.5\n"), "{err}");
}

#[test]
fn a_document_that_is_not_yaml_is_named_by_its_position_and_line() {
    let text = format!("{APP}---\napiVersion: v1\nkind: ConfigMap\ndata: {{a: [1, 2}}\n");
    let err = import_kubeflow_files(&files(&[("x.yaml", &text)])).expect_err("refused");
    let first = &err.0[0];
    assert_eq!(first.code, "yaml-syntax");
    assert_eq!(first.span.as_ref().map(|s| s.at.line), Some(12), "{err}");
    assert!(first.message.ends_with("(document 2 of x.yaml)"), "{err}");
}

#[test]
fn a_yaml_error_inside_a_secret_never_shows_its_text() {
    let text = format!(
        "{APP}---\napiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData: {{PASSWORD: [hunter2-plain}}\n"
    );
    let err = import_kubeflow_files(&files(&[("s.yaml", &text)])).expect_err("refused");
    let span = err.0[0].span.as_ref().expect("located");
    assert_eq!(span.source.name.as_ref(), "s.yaml");
    assert!(span.at.line >= 12, "{err}");
    assert!(!span.source.text.contains("hunter2"), "the quoted source text holds the value");
    assert!(!err.to_string().contains("hunter2"), "{err}");
}

#[test]
fn a_document_without_kind_and_an_empty_input_are_refused() {
    let err = import_kubeflow_files(&files(&[("k.yaml", "apiVersion: v1\nmetadata: {name: x}\n")]))
        .expect_err("refused")
        .to_string();
    assert!(err.starts_with("k.yaml:1:1: error: kind: no `kind`: this is not a Kubernetes object"), "{err}");
    let err = import_kubeflow_files(&files(&[("e.yaml", "# nothing\n---\n")])).expect_err("refused").to_string();
    assert!(err.contains("no documents in e.yaml"), "{err}");
    let err = import_kubeflow_files(&files(&[("l.yaml", "- a\n- b\n")])).expect_err("refused").to_string();
    assert!(err.contains("expected a Kubernetes object (a mapping), found a"), "{err}");
    let err = import_kubeflow_files(&files(&[("c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n")]))
        .expect_err("refused")
        .to_string();
    assert!(
        err.starts_with("c.yaml:1:1: error: kind: no SparkApplication, ScheduledSparkApplication or SparkConnect in c.yaml\n  help: found ConfigMap `c`;"),
        "{err}"
    );
}

#[test]
fn a_sparkjob_beside_kubeflow_applications_is_kept_as_written() {
    let job =
        "apiVersion: sparkplane.dev/v1alpha1\nkind: SparkJob\nmetadata: {name: moved}\nspec: {preset: etl-small}\n";
    let imported = import_kubeflow_files(&files(&[("a.yaml", APP), ("moved.yaml", job)])).expect("imports");
    assert_eq!(imported.counts(), (1, 1, 0));
    assert!(imported.summary().starts_with("1 converted, 1 kept as written, 0 left out; "), "{}", imported.summary());
    assert_eq!(imported.documents()[1]["spec"]["preset"], "etl-small");
}
