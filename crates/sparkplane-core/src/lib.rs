//! sparkplane's sans-IO core.
//!
//! Pure functions over typed data: YAML text in (as `Source`s the caller
//! read), diagnostics, resolved jobs, sized jobs and Kubernetes objects out.
//! Nothing here touches files, the network, processes or the clock; the
//! `sparkplane` binary and the I/O crates do that and call in here.

pub mod diagnostic;
pub mod source;
pub mod yaml;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use source::{Source, Span};
