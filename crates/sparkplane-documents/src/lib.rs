//! sparkplane's documents: the lowest layer every loader and report shares.
//!
//! Owns: source texts and the spans pointing into them ([`source`]),
//! problems with where they are and how to fix them ([`diagnostic`]), YAML
//! loaded with the location of every value, read into types and emitted
//! deterministically ([`yaml`]), the structure each kind must have taken from
//! the api types' JSON Schemas ([`schema`]), the steps every kind's loader
//! shares ([`document`]), and the one writer of each report format: JUnit
//! ([`junit`]), SARIF ([`sarif`]), CSV ([`csv`]), Java `.properties`
//! ([`java_properties`]), XML/HTML escaping ([`markup`]) and aligned text
//! tables ([`table`]).
//!
//! Must not: touch files, the network, processes or the clock (callers hand
//! in `Source`s and write what comes out), or know what a job, a policy or
//! an operator decision means — those are the crates above it
//! (`sparkplane-core`, `sparkplane-policy`, `sparkplane-lifecycle`, …), and
//! nothing here depends on them.

pub mod csv;
pub mod diagnostic;
pub mod document;
pub mod java_properties;
pub mod junit;
pub mod markup;
pub mod sarif;
pub mod schema;
pub mod source;
pub mod table;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use source::{Source, Span};
