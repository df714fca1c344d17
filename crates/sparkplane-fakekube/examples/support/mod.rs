//! What the fakekube micro-measures share: the repository's files, read as
//! JSON documents. Not an example of its own (no main.rs).

use serde_json::Value;

/// The repository's root.
pub fn repo() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every document of a YAML file, as JSON.
pub fn yaml(path: &std::path::Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let source = sparkplane_documents::Source::new(path.display().to_string(), text);
    sparkplane_documents::yaml::parse_documents(&source).expect("YAML parses").iter().map(|d| d.to_json()).collect()
}
