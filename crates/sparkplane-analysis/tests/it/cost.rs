//! Cost and chargeback: price arithmetic on hand-made summaries, attribution,
//! grouping, budgets, and `summarize_dir` over the committed real logs.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::json;
use sparkplane_analysis::cost::{
    AppCost, BudgetLevel, Budgets, GroupBy, PoolPrices, PriceSheet, UNATTRIBUTED, app_cost, chargeback, check_budgets,
};
use sparkplane_eventlog::{AppSummary, AppSummaryBuilder, ExecutorSpan, Outcome, summarize_dir};

const HOUR_MS: u64 = 3_600_000;

/// An application whose executors each have `cores` and live `lifetime_ms`, with these Spark properties.
fn app(id: &str, properties: &[(&str, &str)], executors: &[(u32, u64)]) -> AppSummary {
    let properties: BTreeMap<String, String> = properties.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let mut labels = BTreeMap::new();
    for (key, value) in &properties {
        if let Some(label) = key.strip_prefix("spark.kubernetes.driver.label.") {
            labels.insert(label.to_string(), value.clone());
        }
    }
    let timeline: Vec<ExecutorSpan> = executors
        .iter()
        .enumerate()
        .map(|(i, (cores, lifetime_ms))| ExecutorSpan {
            id: (i + 1).to_string(),
            host: None,
            cores: Some(*cores),
            added_ms: 1_000,
            removed_ms: None,
            removed_reason: None,
            lifetime_ms: *lifetime_ms,
        })
        .collect();
    let core_seconds = timeline.iter().map(|e| f64::from(e.cores.unwrap_or(0)) * e.lifetime_ms as f64 / 1000.0).sum();
    // Start from an empty summary so fields added to the model later need no change here.
    let mut summary = AppSummaryBuilder::new().finish();
    summary.app_id = Some(id.to_string());
    summary.name = properties.get("spark.app.name").cloned();
    summary.start_time_ms = Some(1_000);
    summary.end_time_ms = Some(1_000 + HOUR_MS);
    summary.duration_ms = Some(HOUR_MS);
    summary.outcome = Outcome::Succeeded;
    summary.executors.count = timeline.len() as u64;
    summary.executors.core_seconds = core_seconds;
    summary.executors.timeline = timeline;
    summary.config.app_name = properties.get("spark.app.name").cloned();
    summary.config.labels = labels;
    summary.config.properties = properties;
    summary
}

fn sheet() -> PriceSheet {
    PriceSheet { core_hour: 0.05, gib_hour: 0.01, gpu_hour: 2.0, spot_multiplier: 0.3, node_pools: BTreeMap::new() }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn prices_core_memory_and_gpu_hours() {
    // Two 4-core executors for an hour; 8g heap (bare MiB) + 10% overhead = 9011 MiB each; one GPU each.
    let summary = app(
        "spark-1",
        &[("spark.executor.memory", "8192"), ("spark.executor.resource.gpu.amount", "1")],
        &[(4, HOUR_MS), (4, HOUR_MS)],
    );
    let cost = app_cost(&summary, &sheet());
    assert!(close(cost.core_hours, 8.0));
    assert!(close(cost.gib_hours, 2.0 * 9011.0 / 1024.0), "{}", cost.gib_hours);
    assert!(close(cost.gpu_hours, 2.0));
    assert_eq!(cost.executor_memory.mib(), 9011);
    let expected = 8.0 * 0.05 + 2.0 * 9011.0 / 1024.0 * 0.01 + 2.0 * 2.0;
    assert!(close(cost.cost, expected), "{} != {expected}", cost.cost);
    assert!(!cost.spot);
    // Cents in the JSON output.
    let json = serde_json::to_value(&cost).unwrap();
    assert_eq!(json["cost"], json!(4.58));
}

#[test]
fn python_apps_pay_for_the_larger_overhead() {
    let jvm = app("a", &[("spark.executor.memory", "8g")], &[(2, HOUR_MS)]);
    let python = app("b", &[("spark.executor.memory", "8g"), ("spark.submit.pyFiles", "")], &[(2, HOUR_MS)]);
    let k8s_python = app("c", &[("spark.executor.memory", "8g"), ("spark.kubernetes.resource.type", "python")], &[]);
    assert_eq!(app_cost(&jvm, &sheet()).executor_memory.mib(), 8192 + 819);
    assert_eq!(app_cost(&python, &sheet()).executor_memory.mib(), 8192 + 3276);
    assert_eq!(app_cost(&k8s_python, &sheet()).executor_memory.mib(), 8192 + 3276);
    let explicit = app(
        "d",
        &[("spark.executor.memory", "8g"), ("spark.executor.memoryOverhead", "2g"), ("spark.submit.pyFiles", "")],
        &[],
    );
    assert_eq!(app_cost(&explicit, &sheet()).executor_memory.mib(), 8192 + 2048);
}

#[test]
fn spot_capacity_gets_the_multiplier_and_pools_their_prices() {
    let on_demand = app("a", &[], &[(1, HOUR_MS)]);
    let spot =
        app("b", &[("spark.kubernetes.executor.node.selector.karpenter.sh/capacity-type", "spot")], &[(1, HOUR_MS)]);
    let lifecycle =
        app("c", &[("spark.kubernetes.node.selector.node.kubernetes.io/lifecycle", "Spot")], &[(1, HOUR_MS)]);
    let base = app_cost(&on_demand, &sheet());
    let discounted = app_cost(&spot, &sheet());
    assert!(discounted.spot && app_cost(&lifecycle, &sheet()).spot);
    assert!(close(discounted.cost, base.cost * 0.3));

    let mut priced = sheet();
    priced.node_pools.insert(
        "gpu".into(),
        PoolPrices { core_hour: Some(1.0), gib_hour: Some(0.0), gpu_hour: None, spot_multiplier: Some(0.5) },
    );
    let pooled = app(
        "d",
        &[
            ("spark.kubernetes.node.selector.karpenter.sh/nodepool", "gpu"),
            ("spark.kubernetes.executor.label.karpenter.sh/capacity-type", "spot"),
        ],
        &[(2, HOUR_MS)],
    );
    let cost = app_cost(&pooled, &priced);
    assert_eq!(cost.node_pool.as_deref(), Some("gpu"));
    assert!(close(cost.cost, 2.0 * 1.0 * 0.5), "{}", cost.cost);
}

#[test]
fn attribution_prefers_labels_then_properties() {
    let labelled = app(
        "a",
        &[
            ("spark.app.name", "nightly-etl"),
            ("spark.kubernetes.driver.label.sparkplane.dev/job", "etl"),
            ("spark.kubernetes.driver.label.sparkplane.dev/team", "data"),
            ("spark.kubernetes.driver.label.sparkplane.dev/cost-center", "cc-1"),
            ("spark.sparkplane.team", "ignored"),
            ("spark.kubernetes.namespace", "spark-jobs"),
        ],
        &[],
    );
    let cost = app_cost(&labelled, &sheet());
    assert_eq!(
        (cost.job.as_deref(), cost.team.as_deref(), cost.cost_center.as_deref(), cost.namespace.as_deref()),
        (Some("etl"), Some("data"), Some("cc-1"), Some("spark-jobs"))
    );
    let by_property = app(
        "b",
        &[("spark.app.name", "adhoc"), ("spark.sparkplane.team", "ml"), ("spark.sparkplane.costCenter", "cc-2")],
        &[],
    );
    let cost = app_cost(&by_property, &sheet());
    assert_eq!(
        (cost.job.as_deref(), cost.team.as_deref(), cost.cost_center.as_deref()),
        (Some("adhoc"), Some("ml"), Some("cc-2"))
    );
}

#[test]
fn spark_connect_sessions_are_told_apart_from_jobs() {
    let session = |props: &[(&str, &str)]| app_cost(&app("s", props, &[]), &sheet()).session;
    // A local server marks its application; a server in the cluster is labelled.
    assert!(session(&[("spark.app.name", "sparkplane-connect"), ("spark.sparkplane.connect", "server")]));
    assert!(session(&[
        ("spark.app.name", "notebooks"),
        ("spark.kubernetes.driver.label.sparkplane.dev/connect", "server")
    ]));
    // Logs of local sessions written before they were marked: the server's name, no job label.
    assert!(session(&[("spark.app.name", "sparkplane-connect")]));
    // Jobs are not sessions, even a job whose name happens to be the server's.
    assert!(!session(&[("spark.app.name", "trips-etl")]));
    assert!(!session(&[
        ("spark.app.name", "sparkplane-connect"),
        ("spark.kubernetes.driver.label.sparkplane.dev/job", "sparkplane-connect")
    ]));
    assert!(!session(&[("spark.app.name", "x"), ("spark.sparkplane.connect", "client")]));
}

fn priced(app_id: &str, team: Option<&str>, cost: f64) -> AppCost {
    let mut props = vec![("spark.app.name", app_id)];
    if let Some(team) = team {
        props.push(("spark.sparkplane.team", team));
    }
    let mut priced = app_cost(&app(app_id, &props, &[(1, HOUR_MS)]), &sheet());
    priced.cost = cost;
    priced
}

#[test]
fn chargeback_groups_sorts_and_shares() {
    let costs = vec![
        priced("a", Some("data"), 3.0),
        priced("b", Some("ml"), 5.0),
        priced("c", Some("data"), 2.0),
        priced("d", None, 5.0),
        priced("e", Some("zeta"), 0.0),
    ];
    let rows = chargeback(&costs, GroupBy::Team);
    let keys: Vec<&str> = rows.iter().map(|r| r.key.as_str()).collect();
    // Ties on cost sort by key; "(unattributed)" sorts before letters.
    assert_eq!(keys, [UNATTRIBUTED, "data", "ml", "zeta"]);
    assert_eq!(rows[1].apps, 2);
    assert!(close(rows[1].cost, 5.0) && close(rows[1].core_hours, 2.0));
    assert!(close(rows.iter().map(|r| r.share).sum::<f64>(), 1.0));
    assert!(close(rows[1].share, 1.0 / 3.0));
    let json = serde_json::to_value(&rows[1]).unwrap();
    assert_eq!(json["share"], json!(0.3333));

    let by_app = chargeback(&costs, GroupBy::App);
    assert_eq!(by_app.len(), 5);
    assert!(chargeback(&[], GroupBy::Job).is_empty());
    let free = chargeback(&[priced("x", None, 0.0)], GroupBy::Job);
    assert_eq!(free[0].share, 0.0);
}

#[test]
fn budgets_warn_and_go_critical() {
    let costs = vec![priced("a", Some("data"), 85.0), priced("b", Some("ml"), 120.0), priced("c", Some("web"), 10.0)];
    let rows = chargeback(&costs, GroupBy::Team);
    let budgets: Budgets = serde_json::from_value(json!({
        "teams": {
            "data": {"monthly": 100},
            "ml": {"monthly": 100},
            "web": {"monthly": 100, "warningPercent": 5, "criticalPercent": 50},
            "idle": {"monthly": 50},
            "frozen": {"monthly": 0}
        }
    }))
    .unwrap();
    let statuses = check_budgets(&rows, &budgets);
    let levels: Vec<(&str, BudgetLevel)> = statuses.iter().map(|s| (s.team.as_str(), s.level)).collect();
    assert_eq!(
        levels,
        [
            ("data", BudgetLevel::Warning),
            ("frozen", BudgetLevel::Ok),
            ("idle", BudgetLevel::Ok),
            ("ml", BudgetLevel::Critical),
            ("web", BudgetLevel::Warning),
        ]
    );
    assert_eq!(statuses[3].percent, Some(120.0));
    assert_eq!(statuses[1].percent, None);
    // A team without spending spent +0, not the -0 an empty float sum gives.
    assert!(statuses[2].spent == 0.0 && statuses[2].spent.is_sign_positive());
    assert!(serde_json::from_value::<Budgets>(json!({"teams": {"x": {"montly": 1}}})).is_err());
}

#[test]
fn price_sheets_load_from_documents_and_refuse_typos() {
    let sheet: PriceSheet = serde_json::from_value(json!({
        "coreHour": 0.04, "gibHour": 0.005, "gpuHour": 1.5, "spotMultiplier": 0.35,
        "nodePools": {"gpu": {"gpuHour": 2.5}}
    }))
    .unwrap();
    assert_eq!(sheet.node_pools["gpu"].gpu_hour, Some(2.5));
    assert!(sheet.problems().is_empty());
    assert!(serde_json::from_value::<PriceSheet>(json!({"coreHour": 1, "gibHour": 1, "gpuHour": 1})).is_err());
    let typo = json!({"coreHour": 1, "gibHour": 1, "gpuHour": 1, "spotMultiplier": 1, "ramHour": 1});
    assert!(serde_json::from_value::<PriceSheet>(typo).is_err());
    let mut negative = PriceSheet::opencost_defaults();
    negative.core_hour = -1.0;
    assert_eq!(negative.problems().len(), 1);
    let defaults = PriceSheet::opencost_defaults();
    assert_eq!((defaults.core_hour, defaults.gib_hour, defaults.gpu_hour), (0.031611, 0.004237, 0.95));
}

/// Copies every entry of `from` (rolling directories with their markers and `.crc` files) into `to`.
fn copy_tree(from: &Path, to: &Path) {
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

fn fixtures_dir() -> tempfile::TempDir {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-eventlog/tests/fixtures");
    let dir = tempfile::tempdir().unwrap();
    copy_tree(&root.join("spark-3.5.9"), dir.path());
    copy_tree(&root.join("spark-4.3.0"), dir.path());
    dir
}

#[test]
fn summarize_dir_reads_every_real_log_and_prices_it() {
    let dir = fixtures_dir();
    // Also in the directory: job scripts (not event logs), a stray .crc and a status marker.
    std::fs::write(dir.path().join(".stray.crc"), b"crc").unwrap();
    std::fs::write(dir.path().join("appstatus_local-1"), b"").unwrap();
    std::fs::create_dir(dir.path().join("not-a-log-dir")).unwrap();
    let (summaries, warnings) = summarize_dir(dir.path(), None);
    let mut ids: Vec<&str> = summaries.iter().filter_map(|s| s.app_id.as_deref()).collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            "local-1795265030698",
            "local-1795265044180",
            "local-1795265065682",
            "local-1795265641966",
            "local-1795265657108"
        ]
    );
    // The job scripts (the two versions share three names) are not event logs: each is a warning naming it.
    assert!(warnings.iter().all(|w| w.file.as_deref().is_some_and(|f| f.ends_with(".py"))), "{warnings:?}");
    assert_eq!(warnings.len(), 3, "{warnings:?}");

    let costs: Vec<AppCost> = summaries.iter().map(|s| app_cost(s, &PriceSheet::opencost_defaults())).collect();
    for cost in &costs {
        // Local PySpark: the driver is the executor, 1g heap + max(384m, 0.4 × 1g = 409m).
        assert!(cost.core_hours > 0.0 && cost.gib_hours > 0.0 && cost.cost > 0.0, "{cost:?}");
        assert!(cost.job.as_deref().is_some_and(|job| job.starts_with("sparkplane-eventlog-")), "{cost:?}");
    }
    // Only the two `job_ok.py` runs set the team label.
    let labelled: Vec<&str> =
        costs.iter().filter(|c| c.team.as_deref() == Some("data-platform")).map(|c| c.app.as_str()).collect();
    assert_eq!(labelled, ["local-1795265030698", "local-1795265641966"]);
    let summary = &summaries[0];
    let driver = &summary.executors.timeline[0];
    let expected_gib_hours = driver.lifetime_ms as f64 / 3_600_000.0 * 1433.0 / 1024.0;
    assert!(close(costs[0].gib_hours, expected_gib_hours), "{} != {expected_gib_hours}", costs[0].gib_hours);
    let rows = chargeback(&costs, GroupBy::Team);
    let keys: Vec<(&str, u64)> = rows.iter().map(|r| (r.key.as_str(), r.apps)).collect();
    assert!(keys.contains(&("data-platform", 2)) && keys.contains(&(UNATTRIBUTED, 3)), "{keys:?}");
    assert!((rows.iter().map(|r| r.share).sum::<f64>() - 1.0).abs() < 1e-9);
}

#[test]
fn summarize_dir_skips_old_apps_and_warns_about_corrupt_logs() {
    let dir = fixtures_dir();
    for script in ["job_ok.py", "job_fail.py", "job_killed.py"] {
        let _ = std::fs::remove_file(dir.path().join(script));
    }
    std::fs::write(dir.path().join("local-1700000000000"), b"\x00\x01 not json at all\n").unwrap();
    std::fs::write(dir.path().join("local-1700000000001.lz4"), b"\x04\x22\x4d\x18").unwrap();
    let (all, warnings) = summarize_dir(dir.path(), None);
    assert_eq!(all.len(), 5);
    let named: Vec<&str> = warnings.iter().filter_map(|w| w.file.as_deref()).collect();
    assert_eq!(named.len(), 2, "{warnings:?}");
    assert!(named[0].ends_with("local-1700000000000") && named[1].ends_with("local-1700000000001.lz4"), "{named:?}");

    // Only the Spark 4.3.0 runs (started at …641966 and later) are at or after the cut.
    let (recent, _) = summarize_dir(dir.path(), Some(1_795_265_600_000));
    let ids: Vec<&str> = recent.iter().filter_map(|s| s.app_id.as_deref()).collect();
    assert_eq!(ids, ["local-1795265641966", "local-1795265657108"]);
    let (none, _) = summarize_dir(dir.path(), Some(u64::MAX));
    assert!(none.is_empty());

    let (empty, warnings) = summarize_dir(&dir.path().join("missing"), None);
    assert!(empty.is_empty() && warnings.len() == 1);
}
