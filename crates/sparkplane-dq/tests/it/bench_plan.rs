//! The spark engine's plan for the Spark benchmark's suite
//! (bench/dq/probe-spec.yaml, `make_spec.py DATA bench-1gb --approximate-above
//! 1000000000`, over generate.py's columns) is the one bench/dq/probe-plan.json
//! holds, so bench/dq/observe_probe.py times the queries sparkplane sends
//! today. When the planner changes, regenerate it with
//! `SPARKPLANE_UPDATE_PROBE=1 cargo nextest run -p sparkplane-dq -E 'test(/^bench_plan::/)'`
//! and review the diff.

use std::collections::BTreeMap;
use std::path::PathBuf;

use sparkplane_api::dq::DataFormat;
use sparkplane_dq::spark_plan::{IntegerRange, PlanInput, SparkSource, plan};

fn bench_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/dq")
}

#[test]
fn the_probes_plan_is_the_planners() {
    let spec_path = bench_dir().join("probe-spec.yaml");
    let text = std::fs::read_to_string(&spec_path).unwrap_or_else(|e| panic!("{}: {e}", spec_path.display()));
    let spec = sparkplane_dq::load_spec(&sparkplane_documents::Source::new("probe-spec.yaml", text))
        .unwrap_or_else(|e| panic!("{e:?}"))
        .spec;
    assert_eq!(spec.checks.len(), 24, "checks.json's suite");
    let predicates = sparkplane_dq::sql::compile_checks(&spec).unwrap_or_else(|e| panic!("{e}"));
    // generate.py's columns, as Spark reads their Parquet types.
    let types = [("id", "long"), ("zone", "string"), ("code", "string"), ("ts", "timestamp"), ("g", "long")];
    let mut columns: BTreeMap<String, String> = types.iter().map(|(a, b)| ((*a).to_owned(), (*b).to_owned())).collect();
    columns.extend(["a", "b", "c", "d", "e", "f"].map(|c| (c.to_owned(), "double".to_owned())));
    columns.insert("h".to_owned(), "long".to_owned());
    let data = SparkSource { uri: "file:/DATA".into(), format: DataFormat::Parquet, schema: Vec::new() };
    // What the 1 GB dataset's footers say of its ids (its first 10 files: 0 to 12,499,999).
    let ranges: BTreeMap<String, IntegerRange> =
        [("id".to_owned(), IntegerRange { min: 0, max: 12_499_999, rows: 12_500_000 })].into();
    let planned = plan(&PlanInput {
        spec: &spec,
        columns: &columns,
        data,
        refs: BTreeMap::new(),
        predicates: &predicates,
        ranges: &ranges,
        // The benchmark runs with --no-profile, as GE writes none.
        profile: false,
    });
    let queries: Vec<&str> = planned.queries.iter().map(|q| q.sql.as_str()).collect();
    assert_eq!(queries.len(), 2, "the shared query and the uniqueness query");
    let json = serde_json::json!({"setup": planned.setup, "queries": queries});
    let text = format!("{}\n", serde_json::to_string_pretty(&json).unwrap_or_default());
    let golden = bench_dir().join("probe-plan.json");
    if std::env::var("SPARKPLANE_UPDATE_PROBE").is_ok_and(|v| v == "1") {
        std::fs::write(&golden, &text).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
    }
    let stored = std::fs::read_to_string(&golden).unwrap_or_default();
    assert!(
        stored == text,
        "{} is not the planner's plan: run `SPARKPLANE_UPDATE_PROBE=1 cargo nextest run -p sparkplane-dq -E 'test(/^bench_plan::/)'` and review the diff",
        golden.display()
    );
}
