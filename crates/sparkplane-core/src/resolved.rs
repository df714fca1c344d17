//! A resolved job: the complete SparkJob that layering produced, the merged
//! document with the span of every value, and which layer set each field.
//!
//! Owns: [`ResolvedJob`] and the provenance types it carries ([`Origin`],
//! [`LayerLabel`], [`LayerKind`]), and that provenance as `resolve
//! --explain` shows it ([`Explained`]). Data only: it must not merge layers
//! (`resolve`), check meaning (`validate`) or judge (`policy`); every one of
//! those reads this type, so it depends on none of them.

use std::collections::BTreeMap;
use std::fmt;

use sha2::{Digest, Sha256};
use sparkplane_api::SparkJob;
use sparkplane_api::tenant::DEFAULT_PLATFORM_NAMESPACE;

use sparkplane_documents::diagnostic::Diagnostics;
use sparkplane_documents::source::Span;
use sparkplane_documents::yaml::{FieldPath, Node};

/// Where a layer came from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LayerKind {
    /// A golden-path preset.
    Preset,
    /// The platform's environment overlay.
    PlatformEnvironment,
    /// The job file.
    Job,
    /// The job's own environment overlay.
    JobEnvironment,
    /// A `--set` flag.
    Set,
    /// Another command-line flag (`--env`).
    Flag,
    /// The job's tenant: its queue, below every other layer (ADR 0079).
    Tenant,
}

/// A label for a layer as `--explain` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LayerLabel {
    /// Which kind of layer.
    pub kind: LayerKind,
    /// Its name: preset name, environment name, or file.
    pub name: String,
}

impl fmt::Display for LayerLabel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            LayerKind::Preset => write!(f, "preset {}", self.name),
            LayerKind::PlatformEnvironment => write!(f, "platform environment {}", self.name),
            LayerKind::Job => write!(f, "job {}", self.name),
            LayerKind::JobEnvironment => write!(f, "job environment {}", self.name),
            LayerKind::Set => write!(f, "--set {}", self.name),
            LayerKind::Flag => f.write_str(&self.name),
            LayerKind::Tenant => write!(f, "tenant {}", self.name),
        }
    }
}

/// Which layer set a field, and where.
#[derive(Clone, Debug, PartialEq)]
pub struct Origin {
    /// The layer.
    pub layer: LayerLabel,
    /// Where the value was written.
    pub span: Span,
}

/// A complete job with the provenance of every field; validated when it
/// comes from `load`.
#[derive(Clone, Debug)]
pub struct ResolvedJob {
    /// The typed job.
    pub job: SparkJob,
    /// The merged document, every value with the span it was written at.
    pub tree: Node,
    /// Which layer set each leaf field.
    pub provenance: BTreeMap<FieldPath, Origin>,
    /// The environment applied.
    pub environment: Option<String>,
    /// The preset applied.
    pub preset: Option<String>,
    /// Warnings found on the way.
    pub warnings: Diagnostics,
    /// Which attempt of this resolved job the rendered objects are for: 1
    /// unless `submit --rerun` starts another. Not part of the spec hash.
    pub attempt: u32,
    /// The namespace the platform's own components run in, as the job's
    /// tenant names it (`spec.platformNamespace`); None when no tenant of the
    /// platform's names one. Its door reaches the driver's UI from there
    /// ([`ResolvedJob::door_namespace`]). Not part of the spec hash.
    pub platform_namespace: Option<String>,
}

impl ResolvedJob {
    /// The job name.
    pub fn name(&self) -> &str {
        self.job.metadata.name.as_deref().unwrap_or_default()
    }

    /// The namespace (Kubernetes' `default` when none is set).
    pub fn namespace(&self) -> &str {
        self.job.metadata.namespace.as_deref().unwrap_or("default")
    }

    /// The namespace of the door, the chart's History Server that forwards a
    /// running application's Spark UI (ADR 0095): the job's tenant's
    /// platform namespace, else the chart's documented one,
    /// `sparkplane-system` ([`DEFAULT_PLATFORM_NAMESPACE`]) — the namespace
    /// a tenant's `allow-spark-ui` policy admits too.
    pub fn door_namespace(&self) -> &str {
        self.platform_namespace.as_deref().unwrap_or(DEFAULT_PLATFORM_NAMESPACE)
    }

    /// Settles the namespace the job goes to on a cluster — the one rule
    /// `submit`, `apply` and `status` follow: `--namespace` (`flag`); else
    /// the job's own `metadata.namespace`; else the kubeconfig context's
    /// (`context`, None when the context sets none); else `default`.
    pub fn settle_namespace(&mut self, flag: Option<&str>, context: Option<&str>) {
        let chosen = flag.or(self.job.metadata.namespace.as_deref()).or(context).map(str::to_owned);
        self.job.metadata.namespace = chosen;
    }

    /// A stable hash of the resolved job: same input, same hash.
    pub fn spec_hash(&self) -> String {
        let canonical = serde_json::to_vec(&self.job).unwrap_or_default();
        let digest = Sha256::digest(&canonical);
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The first 8 hex digits of [`Self::spec_hash`], used as a name suffix.
    pub fn short_hash(&self) -> String {
        self.spec_hash()[..8].to_owned()
    }

    /// The hash per-run names derive from: the spec hash for the first
    /// attempt, and for attempt `n > 1` the hash of the spec hash and `n`, so
    /// every attempt gets new, deterministic names of the same length.
    pub fn run_hash(&self) -> String {
        let spec = self.spec_hash();
        if self.attempt <= 1 {
            return spec;
        }
        let digest = Sha256::digest(format!("{spec}/attempt-{}", self.attempt).as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Where the value at `path` was written, when known.
    pub fn span_of(&self, path: &FieldPath) -> Option<Span> {
        self.tree.get(path).map(|n| n.span.clone())
    }
}

/// One field of `resolve --explain`: its value, the layer that set it and where.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Explained {
    /// The field path.
    pub path: String,
    /// Its resolved value.
    pub value: serde_json::Value,
    /// The layer that set it.
    pub layer: String,
    /// Where it was written (`file:line:column`).
    pub location: String,
}

impl ResolvedJob {
    /// Every field a layer set, in path order.
    pub fn explain(&self) -> Vec<Explained> {
        self.provenance
            .iter()
            .map(|(path, origin)| Explained {
                path: path.to_string(),
                value: self.tree.get(path).map(|n| n.to_json()).unwrap_or_default(),
                layer: origin.layer.to_string(),
                location: origin.span.location(),
            })
            .collect()
    }
}

/// A value for a table cell: text as it is, anything else as JSON, cut at 60 characters.
fn value_text(value: &serde_json::Value) -> String {
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    if text.chars().count() > 60 { format!("{}…", text.chars().take(59).collect::<String>()) } else { text }
}

/// [`ResolvedJob::explain`]'s rows as `resolve --explain`'s table.
pub fn explain_table(rows: &[Explained]) -> String {
    let mut table = sparkplane_documents::table::Table::new(&["FIELD", "VALUE", "SET BY", "AT"]);
    for row in rows {
        table.row(vec![row.path.clone(), value_text(&row.value), row.layer.clone(), row.location.clone()]);
    }
    table.render()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_flag_wins_then_the_jobs_own_namespace_then_the_contexts_then_default() {
        let job = |own: Option<&str>| {
            let mut job = SparkJob::new("etl", Default::default());
            job.metadata.namespace = own.map(str::to_owned);
            ResolvedJob {
                job,
                tree: sparkplane_documents::yaml::parse_single(&sparkplane_documents::Source::new("etl.yaml", "{}"))
                    .expect("parses"),
                provenance: BTreeMap::new(),
                environment: None,
                preset: None,
                warnings: Diagnostics::new(),
                attempt: 1,
                platform_namespace: None,
            }
        };
        for (flag, own, context, settled) in [
            (Some("flag"), Some("own"), Some("ctx"), "flag"),
            (None, Some("own"), Some("ctx"), "own"),
            (None, None, Some("ctx"), "ctx"),
            (None, None, None, "default"),
            (Some("flag"), None, None, "flag"),
        ] {
            let mut resolved = job(own);
            resolved.settle_namespace(flag, context);
            assert_eq!(resolved.namespace(), settled, "{flag:?} {own:?} {context:?}");
        }
    }

    #[test]
    fn explain_says_which_layer_set_each_field_and_where_cutting_long_values() {
        let source = sparkplane_documents::Source::new(
            "etl.yaml",
            format!("spec:\n  image: {{repository: r}}\n  arguments: [\"{}\"]\n", "x".repeat(70)),
        );
        let tree = sparkplane_documents::yaml::parse_single(&source).expect("parses");
        let at = |path: &str| {
            let path = FieldPath::parse(path).expect("a path");
            let span = tree.get(&path).expect("written").span.clone();
            (path, Origin { layer: LayerLabel { kind: LayerKind::Job, name: "etl.yaml".into() }, span })
        };
        let job = ResolvedJob {
            job: SparkJob::new("etl", Default::default()),
            provenance: BTreeMap::from([at("spec.image.repository"), at("spec.arguments")]),
            tree: tree.clone(),
            environment: None,
            preset: None,
            warnings: Diagnostics::new(),
            attempt: 1,
            platform_namespace: None,
        };
        let rows = job.explain();
        assert_eq!(
            rows.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
            ["spec.arguments", "spec.image.repository"]
        );
        assert_eq!((rows[1].layer.as_str(), rows[1].location.as_str()), ("job etl.yaml", "etl.yaml:2:23"));
        let table = explain_table(&rows);
        let lines: Vec<&str> = table.lines().collect();
        assert!(lines[0].starts_with("FIELD ") && lines[0].ends_with("AT"), "{table}");
        let cut = format!("[\"{}…", "x".repeat(57));
        assert!(lines[1].contains(&cut) && !lines[1].contains(&"x".repeat(58)), "{table}");
        assert!(lines[2].starts_with("spec.image.repository  r "), "{table}");
    }
}
