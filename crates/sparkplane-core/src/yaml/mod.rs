//! YAML at the edges: a loader that keeps the location of every value, and an
//! emitter for deterministic output. Nothing else in the core sees YAML text.

mod emit;
mod node;
mod patch;
mod path;

pub use emit::{to_yaml, to_yaml_stream};
pub use node::{Node, NodeValue, parse_documents, parse_single};
pub use patch::patch_yaml;
pub use path::{FieldPath, PathSeg};
