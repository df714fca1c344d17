//! What the client crate and the operator link (ADR 0084): following the
//! `[dependencies]` of each workspace manifest from `sparkplane-kube` and from
//! `sparkplane-operator` never reaches `sparkplane-delivery` (the release
//! store is delivery's, behind a host trait the CLI adapts) nor `sparkplane-dq`.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The workspace crates in `name`'s `[dependencies]` (not dev- or build-dependencies).
fn normal_dependencies(name: &str) -> Vec<String> {
    let manifest = crates_dir().join(name).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).unwrap_or_else(|e| panic!("{}: {e}", manifest.display()));
    let mut in_dependencies = false;
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_dependencies = line == "[dependencies]";
        } else if in_dependencies && line.starts_with("sparkplane-") {
            out.extend(line.split(['.', ' ', '=']).next().map(str::to_owned));
        }
    }
    out
}

/// Every workspace crate `name` links, itself included.
fn linked(name: &str) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut next = vec![name.to_owned()];
    while let Some(name) = next.pop() {
        if seen.insert(name.clone()) {
            next.extend(normal_dependencies(&name));
        }
    }
    seen
}

#[test]
fn neither_the_client_crate_nor_the_operator_links_delivery_or_dq() {
    for start in ["sparkplane-kube", "sparkplane-operator"] {
        let linked = linked(start);
        // The walk reads the manifests: the core is below both.
        assert!(linked.contains("sparkplane-core"), "{start}: {linked:?}");
        for banned in ["sparkplane-delivery", "sparkplane-dq"] {
            assert!(!linked.contains(banned), "{start} links {banned}: {linked:?}");
        }
    }
    assert!(linked("sparkplane-operator").contains("sparkplane-kube"), "the operator acts through kube's verbs");
    assert!(linked("sparkplane").contains("sparkplane-delivery"), "the walk finds delivery where it is linked");
}
