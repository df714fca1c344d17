//! `sparkplane version`: what this binary is — its version, the commit and
//! date it was built from, the compiler — and the Spark and Kubernetes
//! versions it supports (ADR 0049).
//!
//! Owns: the supported ranges as the binary states them ([`SPARK_RANGE`],
//! [`KUBERNETES_RANGE`]; tests hold `validate` and the chart's kubeVersion to
//! them). Must not: compute the build's identity (build.rs does, once).

use serde::Serialize;

use crate::exit::CommandResult;
use crate::printer::Printer;

/// The Spark versions sparkplane supports: the 3.5 line and every 4.x.
pub const SPARK_RANGE: &str = ">=3.5.0, <5.0.0";
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
    /// Supported Spark versions.
    pub spark: &'static str,
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
        spark: SPARK_RANGE,
        kubernetes: KUBERNETES_RANGE,
    }
}

/// Runs `version`.
pub fn run(printer: &Printer) -> CommandResult {
    let info = build_info();
    printer.result(&info, || {
        format!(
            "sparkplane {}\ncommit:      {}\nbuild date:  {}\nrust:        {}\nspark:       {} (the 3.5 and 4.x lines)\nkubernetes:  {}\n",
            info.version, info.commit, info.build_date, info.rust_version, info.spark, info.kubernetes
        )
    });
    Ok(())
}
