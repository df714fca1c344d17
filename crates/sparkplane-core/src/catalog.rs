//! The preset and environment catalog: the built-in documents embedded in the
//! binary (from `presets/` and `environments/` at the repository root), to
//! which a platform directory can add or replace entries — and the platform's
//! tenants (its `tenants/`), whose queue a job of theirs defaults to
//! (ADR 0079).
//!
//! The catalog holds parsed, schema-checked documents and tenants checked by
//! their loader; it reads no files — callers pass the texts of overriding
//! documents in as `Source`s. It also owns the one rule that says which
//! tenant a job runs under ([`job_tenant`]), and the presets as `presets
//! list|show` show them ([`PresetRow`], [`Catalog::find_preset`]).

use std::collections::BTreeMap;

use sparkplane_api::tenant::Tenant;
use sparkplane_documents::diagnostic::{Diagnostic, Diagnostics};
use sparkplane_documents::schema::{self, Completeness, DocKind};
use sparkplane_documents::source::Source;
use sparkplane_documents::yaml::{FieldPath, Node, parse_single};

/// Built-in presets: (file name, text).
pub const BUILTIN_PRESETS: &[(&str, &str)] = &[
    ("presets/etl-small.yaml", include_str!("../../../presets/etl-small.yaml")),
    ("presets/etl-medium.yaml", include_str!("../../../presets/etl-medium.yaml")),
    ("presets/etl-large.yaml", include_str!("../../../presets/etl-large.yaml")),
    ("presets/streaming.yaml", include_str!("../../../presets/streaming.yaml")),
    ("presets/ml-gpu.yaml", include_str!("../../../presets/ml-gpu.yaml")),
    ("presets/interactive.yaml", include_str!("../../../presets/interactive.yaml")),
    ("presets/cost-optimized.yaml", include_str!("../../../presets/cost-optimized.yaml")),
];

/// The built-in environment of runs on this machine (`run`, `dq check`,
/// `dr drill` unless told otherwise; `environments/local.yaml`).
pub const LOCAL_ENVIRONMENT: &str = "local";

/// Built-in platform environments: (file name, text).
pub const BUILTIN_ENVIRONMENTS: &[(&str, &str)] = &[
    ("environments/dev.yaml", include_str!("../../../environments/dev.yaml")),
    ("environments/local.yaml", include_str!("../../../environments/local.yaml")),
    ("environments/staging.yaml", include_str!("../../../environments/staging.yaml")),
    ("environments/prod.yaml", include_str!("../../../environments/prod.yaml")),
];

/// One catalog entry.
#[derive(Clone, Debug)]
pub struct Entry {
    /// The parsed document.
    pub doc: Node,
    /// Where it came from: `builtin` or a file path.
    pub origin: String,
}

/// Presets and platform environments by name.
#[derive(Clone, Debug, Default)]
pub struct Catalog {
    presets: BTreeMap<String, Entry>,
    environments: BTreeMap<String, Entry>,
    /// Tenants by name, with the file each came from.
    tenants: BTreeMap<String, (Tenant, String)>,
}

/// Which tenant a job runs under, by [`job_tenant`]'s rule.
#[derive(Clone, Debug, PartialEq)]
pub enum JobTenant<'t> {
    /// This one.
    One(&'t Tenant),
    /// None: no tenant has the job's namespace (nor, when it names none, its team).
    Unknown,
    /// The job names no namespace and these tenants all belong to its team.
    Ambiguous(Vec<&'t Tenant>),
}

/// The one rule for a job's tenant among `tenants`: the one whose namespace
/// is the job's (`namespace`, its `metadata.namespace`; Kubernetes'
/// `default` when it names none); when the job names no namespace, else the
/// one tenant of its `team` (`spec.team`).
pub fn job_tenant<'t>(
    tenants: impl IntoIterator<Item = &'t Tenant>,
    namespace: Option<&str>,
    team: &str,
) -> JobTenant<'t> {
    let tenants: Vec<&Tenant> = tenants.into_iter().collect();
    let wanted = namespace.unwrap_or("default");
    if let Some(t) = tenants.iter().find(|t| t.namespace() == wanted) {
        return JobTenant::One(t);
    }
    if namespace.is_some() || team.is_empty() {
        return JobTenant::Unknown;
    }
    let of_team: Vec<&Tenant> = tenants.into_iter().filter(|t| t.spec.team == team).collect();
    match of_team.as_slice() {
        [] => JobTenant::Unknown,
        [one] => JobTenant::One(one),
        _ => JobTenant::Ambiguous(of_team),
    }
}

impl Catalog {
    /// An empty catalog.
    pub fn empty() -> Self {
        Self::default()
    }

    /// The built-in catalog.
    pub fn builtin() -> Result<Self, Diagnostics> {
        let mut catalog = Self::empty();
        let mut problems = Diagnostics::new();
        for (name, text) in BUILTIN_PRESETS.iter().chain(BUILTIN_ENVIRONMENTS) {
            // The embedded documents are schema-checked by this module's tests, not on every
            // start: building the Preset and Environment schemas costs more than every other
            // step of a `sparkplane submit` together.
            if let Err(d) = catalog.insert(&Source::new(format!("<builtin {name}>"), *text), "builtin", false) {
                problems.extend(d);
            }
        }
        problems.into_result(catalog)
    }

    /// Adds (or replaces) a preset or environment from a document; its
    /// `kind` says which. The document is checked against its kind's schema.
    pub fn add(&mut self, source: &Source, origin: &str) -> Result<(), Diagnostics> {
        self.insert(source, origin, true)
    }

    fn insert(&mut self, source: &Source, origin: &str, check_schema: bool) -> Result<(), Diagnostics> {
        let doc = parse_single(source)?;
        let kind = match doc.get(&FieldPath::parse("kind").unwrap_or_default()).and_then(Node::as_str) {
            Some("Preset") => DocKind::Preset,
            Some("Environment") => DocKind::Environment,
            other => {
                return Err(Diagnostic::error(
                    "wrong-kind",
                    "kind",
                    format!("expected `kind: Preset` or `kind: Environment`, found {}", other.map(|k| format!("`{k}`")).unwrap_or_else(|| "none".into())),
                )
                .with_span(Some(doc.span.clone()))
                .with_help("a platform directory holds presets/*.yaml (kind: Preset) and environments/*.yaml (kind: Environment)")
                .into());
            }
        };
        if check_schema {
            let problems = schema::schema(kind).check(&doc, Completeness::Complete);
            if problems.has_errors() {
                return Err(problems);
            }
        }
        let name = doc
            .get(&FieldPath::parse("metadata.name").unwrap_or_default())
            .and_then(Node::as_str)
            .unwrap_or_default()
            .to_owned();
        let entry = Entry { doc, origin: origin.to_owned() };
        match kind {
            DocKind::Preset => self.presets.insert(name, entry),
            _ => self.environments.insert(name, entry),
        };
        Ok(())
    }

    /// Adds a tenant (already checked by its loader, `sparkplane_policy::tenant::load_tenant`)
    /// read from `origin`; a second tenant of the same name is the error.
    pub fn add_tenant(&mut self, tenant: Tenant, origin: &str) -> Result<(), Diagnostic> {
        let name = tenant.metadata.name.clone();
        if let Some((_, first)) = self.tenants.get(&name) {
            return Err(Diagnostic::error(
                "duplicate",
                "metadata.name",
                format!("tenant `{name}` is defined in {first} and {origin}"),
            )
            .with_help("give each tenant its own name"));
        }
        self.tenants.insert(name, (tenant, origin.to_owned()));
        Ok(())
    }

    /// The platform's tenants, sorted by name.
    pub fn tenants(&self) -> impl Iterator<Item = &Tenant> {
        self.tenants.values().map(|(t, _)| t)
    }

    /// The tenant a job of `namespace` (its `metadata.namespace`, if it
    /// names one) and `team` runs under, by [`job_tenant`]'s rule.
    pub fn tenant_of(&self, namespace: Option<&str>, team: &str) -> JobTenant<'_> {
        job_tenant(self.tenants(), namespace, team)
    }

    /// The file a tenant came from.
    pub fn tenant_origin(&self, name: &str) -> Option<&str> {
        self.tenants.get(name).map(|(_, origin)| origin.as_str())
    }

    /// A preset document by name.
    pub fn preset(&self, name: &str) -> Option<&Node> {
        self.presets.get(name).map(|e| &e.doc)
    }

    /// A preset by name; an unknown one is the error, naming the nearest one
    /// (or every one).
    pub fn find_preset(&self, name: &str) -> Result<&Node, Diagnostic> {
        self.preset(name).ok_or_else(|| {
            let known: Vec<&str> = self.preset_names().collect();
            let diag = Diagnostic::error("unknown-preset", "", format!("there is no preset `{name}`"));
            match schema::did_you_mean(name, known.iter().copied()) {
                Some(guess) => diag.with_help(format!("did you mean `{guess}`?")),
                None => diag.with_help(format!("use one of: {}", known.join(", "))),
            }
        })
    }

    /// The presets as `presets list` shows them: name, description and
    /// where each comes from, sorted by name.
    pub fn preset_rows(&self) -> Vec<PresetRow> {
        self.presets()
            .map(|(name, entry)| PresetRow {
                name: name.to_owned(),
                description: entry.description().to_owned(),
                origin: entry.origin.clone(),
            })
            .collect()
    }

    /// A preset's Spark settings (`template.spec.sparkConf`) as strings, as a
    /// Spark Connect server started with `--preset` takes them. An unknown
    /// preset is the error, naming the nearest one (or every one).
    pub fn preset_spark_conf(&self, name: &str) -> Result<BTreeMap<String, String>, Diagnostic> {
        let doc = self.find_preset(name)?;
        let path = FieldPath::parse("template.spec.sparkConf").unwrap_or_default();
        let mut conf = BTreeMap::new();
        for (key, _, value) in doc.get(&path).and_then(|n| n.as_map()).unwrap_or_default() {
            let text = match value.to_json() {
                serde_json::Value::String(s) => s,
                other => other.to_string(),
            };
            conf.insert(key.clone(), text);
        }
        Ok(conf)
    }

    /// A platform environment document by name.
    pub fn environment(&self, name: &str) -> Option<&Node> {
        self.environments.get(name).map(|e| &e.doc)
    }

    /// Preset names, sorted.
    pub fn preset_names(&self) -> impl Iterator<Item = &str> {
        self.presets.keys().map(String::as_str)
    }

    /// Environment names, sorted.
    pub fn environment_names(&self) -> impl Iterator<Item = &str> {
        self.environments.keys().map(String::as_str)
    }

    /// Presets with their entries, sorted by name.
    pub fn presets(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.presets.iter().map(|(k, v)| (k.as_str(), v))
    }

    /// Environments with their entries, sorted by name.
    pub fn environments(&self) -> impl Iterator<Item = (&str, &Entry)> {
        self.environments.iter().map(|(k, v)| (k.as_str(), v))
    }
}

/// One row of `presets list`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct PresetRow {
    /// The preset's name.
    pub name: String,
    /// Its `metadata.description`.
    pub description: String,
    /// `builtin` or the platform file it came from.
    pub origin: String,
}

impl PresetRow {
    /// The rows as `presets list`'s table.
    pub fn table(rows: &[PresetRow]) -> String {
        let mut table = sparkplane_documents::table::Table::new(&["NAME", "DESCRIPTION", "FROM"]);
        for row in rows {
            table.row(vec![row.name.clone(), row.description.clone(), row.origin.clone()]);
        }
        table.render()
    }
}

impl Entry {
    /// The `metadata.description` of the document.
    pub fn description(&self) -> &str {
        self.doc
            .get(&FieldPath::parse("metadata.description").unwrap_or_default())
            .and_then(Node::as_str)
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presets_spark_settings_are_strings_and_an_unknown_preset_names_the_nearest() {
        let catalog = Catalog::builtin().expect("built-in catalog");
        let conf = catalog.preset_spark_conf("interactive").expect("interactive");
        assert_eq!(conf.get("spark.scheduler.mode").map(String::as_str), Some("FAIR"));
        assert_eq!(conf.get("spark.connect.grpc.binding.port").map(String::as_str), Some("15002"));
        let err = catalog.preset_spark_conf("interactiv").expect_err("unknown");
        assert_eq!((err.code, err.message.as_str()), ("unknown-preset", "there is no preset `interactiv`"));
        assert_eq!(err.help.as_deref(), Some("did you mean `interactive`?"));
        let err = catalog.preset_spark_conf("zzzzzzzzzz").expect_err("unknown");
        assert!(err.help.as_deref().is_some_and(|h| h.starts_with("use one of: ") && h.contains("interactive")));
    }

    #[test]
    fn the_presets_list_has_a_row_per_preset_sorted_by_name() {
        let catalog = Catalog::builtin().expect("built-in catalog");
        let rows = catalog.preset_rows();
        assert_eq!(rows.len(), BUILTIN_PRESETS.len());
        assert!(rows.windows(2).all(|w| w[0].name < w[1].name), "{rows:?}");
        let table = PresetRow::table(&rows);
        assert!(table.starts_with("NAME ") && table.lines().next().is_some_and(|l| l.ends_with("FROM")), "{table}");
        assert!(table.lines().skip(1).all(|l| l.ends_with("builtin")), "{table}");
        assert!(catalog.find_preset("etl-small").is_ok());
        assert_eq!(
            catalog.find_preset("etl-smal").expect_err("unknown").help.as_deref(),
            Some("did you mean `etl-small`?")
        );
    }

    #[test]
    fn the_local_environment_is_built_in() {
        let catalog = Catalog::builtin().expect("built-in catalog");
        assert!(catalog.environment(LOCAL_ENVIRONMENT).is_some());
    }
}
