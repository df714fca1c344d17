//! What `fit` reads besides the job, from parsed documents: node pools (a
//! sparkplane `NodePools` document, or `kubectl get nodes -o yaml` output)
//! and a namespace's ResourceQuota (`kubectl get resourcequota -o yaml`).
//! Owns: which kinds are accepted and each problem's wording. Must not:
//! read files (callers parse them and hand the document in).

use k8s_openapi::api::core::v1::ResourceQuota;
use sparkplane_api::NodePool;
use sparkplane_documents::schema::{Completeness, DocKind, schema};
use sparkplane_documents::yaml::{FieldPath, Node};
use sparkplane_documents::{Diagnostic, Diagnostics};

use super::kubectl::pools_from_kubectl_nodes;

fn kind(doc: &Node) -> Option<&str> {
    doc.get(&FieldPath::parse("kind").unwrap_or_default()).and_then(Node::as_str)
}

/// Node pools from a `NodePools` document (checked against its schema) or
/// kubectl's node list.
pub fn pools_from_document(doc: &Node) -> Result<Vec<NodePool>, Diagnostics> {
    match kind(doc).unwrap_or_default() {
        "NodePools" => {
            let problems = schema(DocKind::NodePools).check(doc, Completeness::Complete);
            if problems.has_errors() {
                return Err(problems);
            }
            let pools: sparkplane_api::NodePools = serde_json::from_value(doc.to_json()).map_err(|e| {
                Diagnostic::error("invalid-document", "", e.to_string()).with_span(Some(doc.span.clone()))
            })?;
            Ok(pools.pools)
        }
        "List" | "NodeList" => pools_from_kubectl_nodes(&doc.to_json())
            .map_err(|why| Diagnostic::error("invalid-document", "", why).with_span(Some(doc.span.clone())).into()),
        other => Err(Diagnostic::error(
            "wrong-kind",
            "kind",
            format!("expected `kind: NodePools` or kubectl's node list, found `{other}`"),
        )
        .with_span(Some(doc.span.clone()))
        .with_help(
            "pass a NodePools file (see presets/nodes/standard.yaml) or the output of `kubectl get nodes -o yaml`",
        )
        .into()),
    }
}

/// A ResourceQuota object, as kubectl prints it.
pub fn quota_from_document(doc: &Node) -> Result<ResourceQuota, Diagnostics> {
    if kind(doc) != Some("ResourceQuota") {
        return Err(Diagnostic::error("wrong-kind", "kind", "expected a `kind: ResourceQuota` object")
            .with_span(Some(doc.span.clone()))
            .with_help("pass the output of `kubectl get resourcequota NAME -o yaml`")
            .into());
    }
    serde_json::from_value(doc.to_json()).map_err(|e| {
        Diagnostic::error("invalid-document", "", format!("not a ResourceQuota: {e}"))
            .with_span(Some(doc.span.clone()))
            .into()
    })
}

#[cfg(test)]
mod tests {
    use sparkplane_documents::Source;
    use sparkplane_documents::yaml::parse_single;

    use super::{pools_from_document, quota_from_document};

    fn doc(text: &str) -> sparkplane_documents::yaml::Node {
        parse_single(&Source::new("in.yaml", text)).expect("yaml")
    }

    #[test]
    fn node_pools_come_from_a_node_pools_document_or_kubectls_node_list() {
        let pools = pools_from_document(&doc(
            "apiVersion: sparkplane.dev/v1alpha1\nkind: NodePools\npools:\n- name: general\n  allocatable: {cpu: \"8\", memory: 32Gi}\n",
        ))
        .expect("pools");
        assert_eq!(pools.iter().map(|p| p.name.as_str()).collect::<Vec<_>>(), ["general"]);
        let listed =
            pools_from_document(&doc("apiVersion: v1\nkind: List\nitems:\n- {kind: Node, metadata: {name: n1}}\n"))
                .expect_err("kubectl's list is read by pools_from_kubectl_nodes, which needs allocatable");
        assert_eq!(
            (listed.0[0].code, listed.0[0].message.as_str()),
            ("invalid-document", "node n1 has no status.allocatable")
        );
        let wrong = pools_from_document(&doc("kind: Pod\n")).expect_err("a pod is no node pool");
        assert_eq!(wrong.0[0].code, "wrong-kind");
        assert_eq!(wrong.0[0].message, "expected `kind: NodePools` or kubectl's node list, found `Pod`");
        let bad = pools_from_document(&doc("kind: NodePools\npools: 3\n")).expect_err("pools is a list");
        assert!(bad.has_errors());
    }

    #[test]
    fn a_quota_must_say_it_is_one() {
        let quota = quota_from_document(&doc(
            "apiVersion: v1\nkind: ResourceQuota\nmetadata: {name: q}\nspec: {hard: {cpu: \"4\"}}\n",
        ))
        .expect("quota");
        assert_eq!(quota.metadata.name.as_deref(), Some("q"));
        let wrong = quota_from_document(&doc("kind: LimitRange\n")).expect_err("not a quota");
        assert_eq!(wrong.0[0].message, "expected a `kind: ResourceQuota` object");
        assert_eq!(wrong.0[0].help.as_deref(), Some("pass the output of `kubectl get resourcequota NAME -o yaml`"));
    }
}
