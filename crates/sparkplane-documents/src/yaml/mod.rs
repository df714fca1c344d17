//! YAML at the edges: a loader that keeps the location of every value, a
//! reader of typed values from that tree (every problem and every unread
//! field with its location), and an emitter for deterministic output.
//! Nothing else in the core sees YAML text.

mod de;
mod emit;
mod node;
mod patch;
mod path;

pub use de::{IgnoredField, Read, ReadProblem, read_node, read_node_with, scalar_text};
pub use emit::{to_yaml, to_yaml_stream};
pub use node::{Node, NodeValue, parse_documents, parse_single};
pub use patch::patch_yaml;
pub use path::{FieldPath, PathSeg};
