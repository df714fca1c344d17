//! `sparkplane version`: what this binary is — its version, the commit and
//! date it was built from, the compiler — and the Spark and Kubernetes
//! versions it supports (ADR 0049).
//!
//! Owns: the supported ranges as the binary states them (the Spark range
//! from the line table, `sparkplane_core::spark_lines`, and
//! [`KUBERNETES_RANGE`]; tests hold `validate` and the chart's kubeVersion to
//! them). Must not: compute the build's identity (build.rs does, once).

use serde::Serialize;
use sparkplane_core::spark_lines;

use crate::exit::CommandResult;
use crate::printer::Printer;

/// The Kubernetes versions the operator and chart support (the chart's kubeVersion).
pub const KUBERNETES_RANGE: &str = ">=1.30.0-0";

/// What `version` prints.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BuildInfo {
    /// sparkplane's version (a release built from a changed work tree says so: `-dirty.g<commit>`).
    pub version: &'static str,
    /// The git commit built.
    pub commit: &'static str,
    /// The commit's time (or SOURCE_DATE_EPOCH), UTC.
    pub build_date: &'static str,
    /// `rustc --version` of the compiler.
    pub rust_version: &'static str,
    /// Supported Spark versions, as a range (`>=3.5.0, <4.4.0`).
    pub spark: String,
    /// The supported Spark lines, oldest first.
    pub spark_lines: Vec<&'static str>,
    /// Supported Kubernetes versions.
    pub kubernetes: &'static str,
}

/// This binary's build information.
pub fn build_info() -> BuildInfo {
    BuildInfo {
        version: env!("SPARKPLANE_BUILD_VERSION"),
        commit: env!("SPARKPLANE_BUILD_COMMIT"),
        build_date: env!("SPARKPLANE_BUILD_DATE"),
        rust_version: env!("SPARKPLANE_BUILD_RUSTC"),
        spark: spark_lines::version_range(),
        spark_lines: spark_lines::LINES.iter().map(|l| l.line).collect(),
        kubernetes: KUBERNETES_RANGE,
    }
}

/// Runs `version`.
pub fn run(printer: &Printer) -> CommandResult {
    let info = build_info();
    printer.result(&info, || {
        let (i, lines) = (&info, info.spark_lines.join(", "));
        format!(
            "sparkplane {}\ncommit:      {}\nbuild date:  {}\nrust:        {}\nspark:       {} (the lines {lines})\nkubernetes:  {}\n",
            i.version, i.commit, i.build_date, i.rust_version, i.spark, i.kubernetes
        )
    });
    Ok(())
}
