//! The shadow run of `promote --shadow` (ADR 0040): where the candidate's
//! outputs go instead of the real ones, and how its outputs compare with the
//! current release's — row count, schema, the data-quality checks, per-column
//! null share and drift — against the bounds the job declares
//! (`spec.delivery.shadow`).
//!
//! Owns: the redirect of declared outputs in a job spec ([`redirect`]), the
//! comparison of two observed outputs ([`compare`]) and the shadow gate's
//! outcome ([`ShadowOutcome`]). Pure: it must not run Spark or read data —
//! `shadow_observe` reads an output through the data-quality engine, the CLI
//! runs the job — and it must not profile data itself (the data-quality
//! crate's profiles and PSI are the one profiler).

use std::collections::{BTreeMap, BTreeSet};

use sparkplane_api::job::{ShadowBounds, ShadowSchema, ShadowSpec, SparkJobSpec};
use sparkplane_dq::Profile;

/// Default largest row-count change, in percent.
pub const DEFAULT_ROW_COUNT_CHANGE_PERCENT: f64 = 0.0;
/// Default largest population stability index of a column.
pub const DEFAULT_MAX_PSI: f64 = 0.1;
/// Default largest change of a column's share of nulls.
pub const DEFAULT_MAX_NULL_RATE_CHANGE: f64 = 0.0;

/// One output pointed at its shadow location.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The output's name (its data-quality spec's name, given by the caller).
    pub name: String,
    /// The location as the job names it.
    pub from: String,
    /// The shadow location.
    pub to: String,
    /// Every field that named it, e.g. `spec.arguments[3]`.
    pub fields: Vec<String>,
}

/// Why outputs could not be redirected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RedirectError {
    /// The job declares no outputs.
    #[error("spec.delivery.shadow.outputs is empty: nothing to redirect or compare")]
    NoOutputs,
    /// A declared output is not named by the job as resolved.
    #[error(
        "spec.delivery.shadow.outputs[{index}].path: `{path}` is in none of spec.arguments or spec.sparkConf's values \
         of the job resolved for {environment}"
    )]
    NotNamed {
        /// Which output.
        index: usize,
        /// Its declared path.
        path: String,
        /// The environment the job was resolved for.
        environment: String,
    },
}

/// Points every declared output of `shadow` at `<shadow_root>/<name>` in
/// `spec` (an argument or a Spark property value equal to the declared path);
/// `names[i]` names output `i`. Every output must be named somewhere.
pub fn redirect(
    spec: &mut SparkJobSpec,
    shadow: &ShadowSpec,
    names: &[String],
    shadow_root: &str,
    environment: &str,
) -> Result<Vec<Redirect>, RedirectError> {
    if shadow.outputs.is_empty() {
        return Err(RedirectError::NoOutputs);
    }
    let root = shadow_root.trim_end_matches('/');
    let mut out = Vec::new();
    for (index, output) in shadow.outputs.iter().enumerate() {
        let name = names.get(index).cloned().unwrap_or_else(|| format!("output-{index}"));
        let to = format!("{root}/{name}");
        let mut fields = Vec::new();
        for (i, arg) in spec.arguments.iter_mut().enumerate() {
            if *arg == output.path {
                arg.clone_from(&to);
                fields.push(format!("spec.arguments[{i}]"));
            }
        }
        for (key, value) in &mut spec.spark_conf {
            if *value == output.path {
                value.clone_from(&to);
                fields.push(format!("spec.sparkConf.{key}"));
            }
        }
        if fields.is_empty() {
            return Err(RedirectError::NotNamed {
                index,
                path: output.path.clone(),
                environment: environment.to_owned(),
            });
        }
        out.push(Redirect { name, from: output.path.clone(), to, fields });
    }
    Ok(out)
}

/// What was read of one output.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Observation {
    /// Column name to its type in Spark's words (types joined by `|` when files disagree).
    pub schema: BTreeMap<String, String>,
    /// The data-quality profile: rows, and per column nulls, mean and histogram.
    pub profile: Profile,
    /// The data-quality spec's error checks that fail on this output.
    pub failed_checks: BTreeSet<String>,
}

/// One measured difference between the current and the candidate output.
#[derive(Clone, Debug, PartialEq)]
pub struct Difference {
    /// What differs: `rows`, `schema`, `quality`, `nulls(COLUMN)`, `drift(COLUMN)`.
    pub what: String,
    /// The measurement, in words.
    pub message: String,
    /// Whether it is within the declared bounds.
    pub within: bool,
}

/// How one output compared.
#[derive(Clone, Debug, PartialEq)]
pub struct OutputComparison {
    /// The output's name.
    pub name: String,
    /// Where the current output is.
    pub current: String,
    /// Where the candidate wrote it.
    pub candidate: String,
    /// Every difference measured (within bounds or not), in a fixed order.
    pub differences: Vec<Difference>,
}

impl OutputComparison {
    /// The differences beyond the bounds.
    pub fn beyond(&self) -> impl Iterator<Item = &Difference> {
        self.differences.iter().filter(|d| !d.within)
    }
}

/// How the shadow run ended, as the shadow gate judges it.
#[derive(Clone, Debug, PartialEq)]
pub enum ShadowOutcome {
    /// Both outputs were read and compared.
    Compared(Vec<OutputComparison>),
    /// There is no current output to compare with.
    NoCurrentOutput {
        /// The output's name.
        name: String,
        /// Where it was looked for.
        location: String,
    },
    /// The candidate's run did not succeed.
    RunFailed {
        /// Its run id.
        run_id: String,
        /// Its state and failure.
        message: String,
    },
    /// The candidate ran but an output of it is missing.
    NoCandidateOutput {
        /// The output's name.
        name: String,
        /// Where it was looked for.
        location: String,
    },
}

fn fmt(v: f64) -> String {
    let s = format!("{v:.4}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".to_owned() } else { s.to_owned() }
}

fn schema_differences(current: &Observation, candidate: &Observation, bound: ShadowSchema) -> Vec<Difference> {
    let mut parts = Vec::new();
    let mut breaking = false;
    for (column, kind) in &current.schema {
        match candidate.schema.get(column) {
            None => {
                parts.push(format!("column `{column}` ({kind}) is missing"));
                breaking = true;
            }
            Some(other) if other != kind => {
                parts.push(format!("column `{column}` is {other}, was {kind}"));
                breaking = true;
            }
            Some(_) => {}
        }
    }
    let added: Vec<String> = candidate
        .schema
        .iter()
        .filter(|(c, _)| !current.schema.contains_key(*c))
        .map(|(c, k)| format!("column `{c}` ({k}) is new"))
        .collect();
    let additions = !added.is_empty();
    parts.extend(added);
    if parts.is_empty() {
        return Vec::new();
    }
    let within = !breaking && (bound == ShadowSchema::Additive || !additions);
    let allowed = match bound {
        ShadowSchema::Same => "the schema must stay the same",
        ShadowSchema::Additive => "only new columns are allowed",
    };
    vec![Difference { what: "schema".into(), message: format!("{} ({allowed})", parts.join(", ")), within }]
}

/// Compares the candidate's output with the current one under `bounds`.
pub fn compare(
    name: &str,
    locations: (&str, &str),
    current: &Observation,
    candidate: &Observation,
    bounds: &ShadowBounds,
) -> OutputComparison {
    let max_rows = bounds.row_count_change_percent.unwrap_or(DEFAULT_ROW_COUNT_CHANGE_PERCENT);
    let max_psi = bounds.max_psi.unwrap_or(DEFAULT_MAX_PSI);
    let max_nulls = bounds.max_null_rate_change.unwrap_or(DEFAULT_MAX_NULL_RATE_CHANGE);
    let mut differences = Vec::new();

    let (was, now) = (current.profile.rows, candidate.profile.rows);
    if was != now {
        let change = if was == 0 { f64::INFINITY } else { (now as f64 - was as f64).abs() * 100.0 / was as f64 };
        differences.push(Difference {
            what: "rows".into(),
            message: format!(
                "{now} rows, the current output has {was} ({}% change, at most {}%)",
                fmt(change),
                fmt(max_rows)
            ),
            within: change <= max_rows,
        });
    }
    differences.extend(schema_differences(current, candidate, bounds.schema.unwrap_or(ShadowSchema::Same)));
    let newly_failing: Vec<&String> = candidate.failed_checks.difference(&current.failed_checks).collect();
    if !newly_failing.is_empty() {
        let names: Vec<String> = newly_failing.iter().map(|c| format!("`{c}`")).collect();
        differences.push(Difference {
            what: "quality".into(),
            message: format!(
                "data-quality check {} fails on the candidate's output, not on the current",
                names.join(", ")
            ),
            within: false,
        });
    }
    for (column, was) in &current.profile.columns {
        let Some(now) = candidate.profile.columns.get(column) else { continue };
        let rate = |p: &sparkplane_dq::evaluate::ColumnProfile| {
            if p.count == 0 { 0.0 } else { p.nulls as f64 / p.count as f64 }
        };
        let change = (rate(now) - rate(was)).abs();
        if change > 0.0 {
            differences.push(Difference {
                what: format!("nulls({column})"),
                message: format!(
                    "`{column}` is {}% null, the current output {}% (change {}, at most {})",
                    fmt(rate(now) * 100.0),
                    fmt(rate(was) * 100.0),
                    fmt(change),
                    fmt(max_nulls)
                ),
                within: change <= max_nulls,
            });
        }
        if let (Some(base), Some(cur)) = (&was.histogram, &now.histogram)
            && let Some(psi) = sparkplane_dq::sketch::psi(base, cur)
            && psi > 0.0
        {
            differences.push(Difference {
                what: format!("drift({column})"),
                message: format!("`{column}` drifted: PSI {} (at most {})", fmt(psi), fmt(max_psi)),
                within: psi <= max_psi,
            });
        }
    }
    OutputComparison {
        name: name.to_owned(),
        current: locations.0.to_owned(),
        candidate: locations.1.to_owned(),
        differences,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_api::job::ShadowOutput;
    use sparkplane_dq::evaluate::ColumnProfile;
    use sparkplane_dq::sketch::Histogram;

    fn shadow(paths: &[&str]) -> ShadowSpec {
        ShadowSpec {
            outputs: paths
                .iter()
                .map(|p| ShadowOutput { path: (*p).to_owned(), data_quality: "dq.yaml".into() })
                .collect(),
            bounds: ShadowBounds::default(),
        }
    }

    #[test]
    fn outputs_are_redirected_in_arguments_and_spark_properties_and_nothing_else() {
        let mut spec = SparkJobSpec {
            arguments: vec!["--input".into(), "in".into(), "--output".into(), "out/trips".into()],
            spark_conf: BTreeMap::from([
                ("spark.app.sink".to_owned(), "out/zones".to_owned()),
                ("spark.app.source".to_owned(), "in".to_owned()),
            ]),
            ..SparkJobSpec::default()
        };
        let names = vec!["trips".to_owned(), "zones".to_owned()];
        let got = redirect(&mut spec, &shadow(&["out/trips", "out/zones"]), &names, "/tmp/shadow/r1/", "local")
            .expect("redirected");
        assert_eq!(spec.arguments, ["--input", "in", "--output", "/tmp/shadow/r1/trips"]);
        assert_eq!(spec.spark_conf["spark.app.sink"], "/tmp/shadow/r1/zones");
        assert_eq!(spec.spark_conf["spark.app.source"], "in");
        assert_eq!(got[0].fields, ["spec.arguments[3]"]);
        assert_eq!(got[1].fields, ["spec.sparkConf.spark.app.sink"]);
    }

    #[test]
    fn an_output_the_job_does_not_name_is_refused_with_its_field() {
        let mut spec = SparkJobSpec { arguments: vec!["--output".into(), "out".into()], ..SparkJobSpec::default() };
        let err = redirect(&mut spec, &shadow(&["out", "elsewhere"]), &[], "/s", "local").expect_err("refused");
        assert_eq!(
            err.to_string(),
            "spec.delivery.shadow.outputs[1].path: `elsewhere` is in none of spec.arguments or spec.sparkConf's values \
             of the job resolved for local"
        );
        assert_eq!(redirect(&mut spec, &shadow(&[]), &[], "/s", "local"), Err(RedirectError::NoOutputs));
    }

    fn histogram(values: impl Iterator<Item = f64>) -> Histogram {
        let mut h = Histogram::default();
        h.add_all(values);
        h
    }

    fn observation(rows: u64, fares: impl Iterator<Item = f64>, nulls: u64) -> Observation {
        Observation {
            schema: BTreeMap::from([
                ("fare".to_owned(), "double".to_owned()),
                ("zone".to_owned(), "string".to_owned()),
            ]),
            profile: Profile {
                rows,
                columns: BTreeMap::from([
                    (
                        "fare".to_owned(),
                        ColumnProfile { count: rows, histogram: Some(histogram(fares)), ..ColumnProfile::default() },
                    ),
                    ("zone".to_owned(), ColumnProfile { count: rows, nulls, ..ColumnProfile::default() }),
                ]),
                ..Profile::default()
            },
            failed_checks: BTreeSet::new(),
        }
    }

    fn fares(n: u64, scale: f64) -> impl Iterator<Item = f64> {
        (0..n).map(move |i| (1 + i % 50) as f64 * scale)
    }

    #[test]
    fn the_same_output_has_no_differences() {
        let a = observation(1000, fares(1000, 1.0), 0);
        let c = compare("trips", ("cur", "cand"), &a, &a.clone(), &ShadowBounds::default());
        assert!(c.differences.is_empty(), "{:?}", c.differences);
    }

    #[test]
    fn each_difference_is_measured_and_held_to_its_bound() {
        let current = observation(1000, fares(1000, 1.0), 0);
        let mut candidate = observation(1100, fares(1100, 3.0), 55);
        candidate.schema.insert("tip".into(), "double".into());
        candidate.schema.insert("zone".into(), "int".into());
        candidate.failed_checks.insert("fares-positive".into());
        let bounds = ShadowBounds {
            row_count_change_percent: Some(15.0),
            schema: Some(ShadowSchema::Additive),
            max_psi: Some(0.2),
            max_null_rate_change: Some(0.01),
        };
        let c = compare("trips", ("cur", "cand"), &current, &candidate, &bounds);
        let got: Vec<(&str, &str, bool)> =
            c.differences.iter().map(|d| (d.what.as_str(), d.message.as_str(), d.within)).collect();
        assert_eq!(got[0], ("rows", "1100 rows, the current output has 1000 (10% change, at most 15%)", true));
        assert_eq!(
            got[1],
            (
                "schema",
                "column `zone` is int, was string, column `tip` (double) is new (only new columns are allowed)",
                false
            )
        );
        assert_eq!(
            got[2],
            (
                "quality",
                "data-quality check `fares-positive` fails on the candidate's output, not on the current",
                false
            )
        );
        assert_eq!(got[3].0, "drift(fare)");
        assert!(got[3].1.starts_with("`fare` drifted: PSI "), "{}", got[3].1);
        assert!(!got[3].2);
        assert_eq!(
            got[4],
            ("nulls(zone)", "`zone` is 5% null, the current output 0% (change 0.05, at most 0.01)", false)
        );
        assert_eq!(c.beyond().count(), 4);
    }

    #[test]
    fn a_new_column_is_within_additive_but_not_same() {
        let current = observation(10, fares(10, 1.0), 0);
        let mut candidate = current.clone();
        candidate.schema.insert("tip".into(), "double".into());
        let additive = ShadowBounds { schema: Some(ShadowSchema::Additive), ..ShadowBounds::default() };
        assert!(compare("t", ("a", "b"), &current, &candidate, &additive).beyond().next().is_none());
        let same = compare("t", ("a", "b"), &current, &candidate, &ShadowBounds::default());
        assert_eq!(
            same.beyond().map(|d| d.message.as_str()).collect::<Vec<_>>(),
            ["column `tip` (double) is new (the schema must stay the same)"]
        );
    }
}
