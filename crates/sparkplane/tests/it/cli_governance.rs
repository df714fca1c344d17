//! Tenant budgets and `--tenants` through the real binary: this month's
//! spend read from a committed real Spark event log by the cost ledger,
//! against a tenant's budget, in `render` and `policy check`; and how
//! `--tenants DIR` finds a job's tenant, and the exact errors when it cannot.

use crate::governance_support;

use std::path::{Path, PathBuf};

use governance_support::{JOB, PRICES, Run, ledger_spend, run_in, tenant, write_team_log};

/// A working directory: the job, the price sheet and this month's history.
struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
        std::fs::write(dir.path().join("prices.yaml"), PRICES).expect("prices");
        write_team_log(&dir.path().join("history"), "team-a");
        Setup { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let path = self.path().join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dir");
        }
        std::fs::write(&path, text).expect("write");
        path
    }

    fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), args)
    }

    /// `render job.yaml --env ENV` against `tenant.yaml` and the history, into `out/`.
    fn render(&self, env: &str, extra: &[&str]) -> Run {
        let mut args = vec!["render", "job.yaml", "--env", env, "--tenant", "tenant.yaml", "--history", "history"];
        args.extend_from_slice(&["--price-sheet", "prices.yaml", "--out-dir", "out"]);
        args.extend_from_slice(extra);
        self.run(&args)
    }
}

/// The budget finding in `text`: (spent, percent, monthly, window) as printed.
fn budget_line(text: &str) -> Option<(String, f64, String, String)> {
    let line = text.lines().find(|l| l.contains(" has spent "))?;
    let rest = line.split(" has spent ").nth(1)?;
    let (spent, rest) = rest.split_once(" (")?;
    let (percent, rest) = rest.split_once(" % of its monthly budget of ")?;
    let (monthly, window) = rest.split_once(") ")?;
    Some((spent.to_owned(), percent.parse().ok()?, monthly.to_owned(), window.to_owned()))
}

fn assert_budget_line(text: &str, spend: f64, monthly: f64, percent: f64) {
    let (spent, shown, budget, window) = budget_line(text).unwrap_or_else(|| panic!("a budget finding in: {text}"));
    assert_eq!(spent, format!("{spend:.2}"), "{text}");
    assert_eq!(budget, format!("{monthly:.2}"), "{text}");
    assert!((shown - percent).abs() < 1.0, "{shown} % vs {percent} %: {text}");
    assert!(
        window.starts_with("since ") && window.ends_with("-01") && window.len() == "since 2026-11-01".len(),
        "{window}"
    );
}

#[test]
fn a_tenant_budget_against_real_event_logs_passes_warns_and_blocks_prod_renders() {
    let s = Setup::new();
    let spend = ledger_spend(s.path(), "history");
    let budget = |monthly: f64, extra: &str| {
        s.write(
            "tenant.yaml",
            &tenant("analytics", "team-a", "team-a", "64", Some(&format!("{{monthly: {monthly:.2}{extra}}}"))),
        );
    };

    // Under budget (about 40 %): renders, nothing about the budget.
    let monthly = (spend / 0.4 * 100.0).round() / 100.0;
    budget(monthly, "");
    let under = s.render("prod", &[]);
    assert_eq!(under.code, Some(0), "{}", under.stderr);
    assert!(!under.stderr.contains("budget"), "{}", under.stderr);
    assert!(s.path().join("out").is_dir(), "rendered");
    std::fs::remove_dir_all(s.path().join("out")).expect("clean");

    // Over the warning share (about 90 % of the default 80/100): a warning, exit 0.
    let monthly = (spend / 0.9 * 100.0).round() / 100.0;
    budget(monthly, "");
    let warned = s.render("prod", &[]);
    assert_eq!(warned.code, Some(0), "{}", warned.stderr);
    assert!(
        warned.stderr.contains("warning: spec.team: tenant `analytics` (team `team-a`) has spent "),
        "{}",
        warned.stderr
    );
    assert_budget_line(&warned.stderr, spend, monthly, 90.0);
    assert!(s.path().join("out").is_dir(), "rendered despite the warning");
    std::fs::remove_dir_all(s.path().join("out")).expect("clean");

    // Over the critical share (about 150 %), the tenant saying a breach blocks:
    // prod refuses (exit 1), names tenant, spend and budget, says how to proceed,
    // and writes nothing.
    let monthly = (spend / 1.5 * 100.0).round() / 100.0;
    budget(monthly, ", blockOnCritical: true");
    let blocked = s.render("prod", &[]);
    assert_eq!(blocked.code, Some(1), "{}", blocked.stderr);
    assert!(
        blocked.stderr.contains("error: spec.team: tenant `analytics` (team `team-a`) has spent "),
        "{}",
        blocked.stderr
    );
    assert_budget_line(&blocked.stderr, spend, monthly, 150.0);
    assert!(
        blocked.stderr.contains(
            "help: raise `spec.budget.monthly` in the tenant file, or wait for next month (`sparkplane cost DIR --by team` shows what spent it); `--policy-mode audit` lets one urgent run through, and `budget.blockOnCritical: false` makes a breach only warn"
        ),
        "{}",
        blocked.stderr
    );
    assert!(!s.path().join("out").exists(), "nothing written when blocked");
    // The same verdict in `policy check`'s JSON.
    let json = s.run(&[
        "policy",
        "check",
        "job.yaml",
        "--env",
        "prod",
        "--tenant",
        "tenant.yaml",
        "--history",
        "history",
        "--price-sheet",
        "prices.yaml",
        "--format",
        "json",
    ]);
    assert_eq!(json.code, Some(1), "{}", json.stderr);
    let report: serde_json::Value = serde_json::from_str(&json.stdout).expect("JSON");
    let budget_findings: Vec<(&str, &str)> = report["violations"]
        .as_array()
        .expect("violations")
        .iter()
        .filter(|v| v["policy"].as_str().is_some_and(|p| p.starts_with("budget-")))
        .map(|v| (v["policy"].as_str().unwrap_or_default(), v["severity"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(budget_findings, [("budget-critical", "deny")]);
    // Audit mode lets it through, reporting the breach.
    let audit = s.render("prod", &["--policy-mode", "audit"]);
    assert_eq!(audit.code, Some(0), "{}", audit.stderr);
    assert!(audit.stderr.contains("audit mode: 1 deny violation not enforced"), "{}", audit.stderr);
    std::fs::remove_dir_all(s.path().join("out")).expect("clean");
    // Outside prod a critical breach only warns.
    let dev = s.render("dev", &[]);
    assert_eq!(dev.code, Some(0), "{}", dev.stderr);
    assert!(dev.stderr.contains("warning: spec.team: tenant `analytics`"), "{}", dev.stderr);
    std::fs::remove_dir_all(s.path().join("out")).expect("clean");

    // The tenant configured not to block: prod only warns.
    budget(monthly, ", blockOnCritical: false");
    let not_blocking = s.render("prod", &[]);
    assert_eq!(not_blocking.code, Some(0), "{}", not_blocking.stderr);
    assert!(
        not_blocking.stderr.contains("warning: spec.team: tenant `analytics` (team `team-a`) has spent "),
        "{}",
        not_blocking.stderr
    );
    assert_budget_line(&not_blocking.stderr, spend, monthly, 150.0);
    assert!(s.path().join("out").is_dir());
}

#[test]
fn a_bad_price_sheet_is_exit_2_and_nothing_is_rendered() {
    let s = Setup::new();
    s.write("tenant.yaml", &tenant("analytics", "team-a", "team-a", "64", Some("{monthly: 100}")));
    s.write("prices.yaml", "coreHour: -1\ngibHour: 0\ngpuHour: 0\nspotMultiplier: 1\n");
    let r = s.render("prod", &[]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "error: --price-sheet: prices.yaml: coreHour is -1; prices must be zero or more\n  help: prices are US dollars per hour (and a spot multiplier), each zero or more\n"
    );
    assert!(!s.path().join("out").exists());
}

/// Tenants `team-a` (namespace team-a, a 2-CPU quota, a budget it has spent
/// 150 % of) and `team-b` in `tenants/`.
fn tenants_dir(s: &Setup, spend: f64) {
    let monthly = format!("{{monthly: {:.2}}}", spend / 1.5);
    s.write("tenants/a.yaml", &tenant("team-a", "team-a", "team-a", "2", Some(&monthly)));
    s.write("tenants/b.yaml", &tenant("team-b", "team-b", "team-b", "64", None));
}

#[test]
fn tenants_dir_finds_the_jobs_tenant_by_namespace_then_team_for_quota_and_budget() {
    let s = Setup::new();
    let spend = ledger_spend(s.path(), "history");
    tenants_dir(&s, spend);
    let check = |job: &str, extra: &[&str]| {
        let mut args = vec!["policy", "check", job, "--env", "prod", "--tenants", "tenants", "--format", "json"];
        args.extend_from_slice(extra);
        s.run(&args)
    };
    let ids = |r: &Run| -> Vec<String> {
        let report: serde_json::Value =
            serde_json::from_str(&r.stdout).unwrap_or_else(|_| panic!("JSON: {}", r.stderr));
        report["violations"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|v| v["policy"].as_str().unwrap_or_default().to_owned())
            .collect()
    };
    // By namespace: team-a's 2-CPU quota does not hold a driver and 2 executors at their largest.
    let by_namespace = check("job.yaml", &[]);
    assert_eq!(by_namespace.code, Some(1), "{}", by_namespace.stderr);
    assert_eq!(ids(&by_namespace), ["quota-fit"]);
    assert!(by_namespace.stdout.contains("tenant `team-a`: the job needs "), "{}", by_namespace.stdout);
    // Its budget, from the same lookup.
    let with_history = check("job.yaml", &["--history", "history", "--price-sheet", "prices.yaml"]);
    assert_eq!(ids(&with_history), ["quota-fit", "budget-critical"]);
    // A job naming no namespace: its team's one tenant.
    s.write(
        "nons.yaml",
        &JOB.replace("metadata: {name: team-a-probe, namespace: team-a}", "metadata: {name: team-a-probe}"),
    );
    let by_team = check("nons.yaml", &[]);
    assert_eq!(ids(&by_team), ["quota-fit"], "{}", by_team.stderr);
    // In team-b's namespace the job fits team-b's quota (and the namespace wins over the team).
    let other = check("job.yaml", &["--set", "metadata.namespace=team-b"]);
    assert_eq!(other.code, Some(0), "{}{}", other.stdout, other.stderr);
    assert_eq!(ids(&other), Vec::<String>::new());
}

#[test]
fn tenants_dir_without_the_jobs_tenant_is_exit_2_with_the_tenants_there() {
    let s = Setup::new();
    s.write("tenants/b.yaml", &tenant("team-b", "team-b", "team-b", "64", None));
    let out = |r: &Run| (r.code, r.stdout.clone(), r.stderr.clone());
    let r = s.run(&["render", "job.yaml", "--env", "prod", "--tenants", "tenants", "--out-dir", "out"]);
    assert_eq!(
        out(&r),
        (
            Some(2),
            String::new(),
            "error: --tenants: no tenant in tenants has namespace `team-a`\n  help: add a tenant file for it, or run the job in a tenant's namespace (tenants there: team-b (namespace team-b, team team-b))\n".to_owned()
        )
    );
    assert!(!s.path().join("out").exists(), "nothing written");
    // Without a namespace the team is tried too.
    s.write(
        "nons.yaml",
        &JOB.replace("metadata: {name: team-a-probe, namespace: team-a}", "metadata: {name: team-a-probe}"),
    );
    let r = s.run(&["policy", "check", "nons.yaml", "--tenants", "tenants"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --tenants: no tenant in tenants has namespace `default` or team `team-a`\n  help: add a tenant file for it, or run the job in a tenant's namespace (tenants there: team-b (namespace team-b, team team-b))\n"
    );
    // Two tenants of the job's team and no namespace: ambiguous.
    s.write("tenants/a1.yaml", &tenant("team-a-batch", "team-a-batch", "team-a", "64", None));
    s.write("tenants/a2.yaml", &tenant("team-a-adhoc", "team-a-adhoc", "team-a", "64", None));
    let r = s.run(&["policy", "check", "nons.yaml", "--tenants", "tenants"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(
        r.stderr,
        "error: --tenants: 2 tenants in tenants belong to team `team-a` (team-a-batch, team-a-adhoc) and the job names no namespace\n  help: set the job's metadata.namespace (or pass -n NS) to say which tenant it runs under\n"
    );
}

#[test]
fn tenants_dir_with_a_bad_file_is_exit_2_at_its_file_line_column_and_field() {
    let s = Setup::new();
    s.write("tenants/a.yaml", &tenant("team-a", "team-a", "team-a", "2", None));
    s.write("tenants/b.yaml", &tenant("team-b", "team-b", "team-b", "64", None).replace("costCenter", "costCentre"));
    let r = s.run(&["render", "job.yaml", "--env", "prod", "--tenants", "tenants", "--out-dir", "out"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(
        r.stderr,
        "tenants/b.yaml:6:3: error: spec.costCentre: unknown field `costCentre`\n  help: did you mean `costCenter`?\n"
    );
    assert!(!s.path().join("out").exists(), "nothing written");
}

#[test]
fn tenant_render_list_and_show_read_tenant_files() {
    let s = Setup::new();
    let example = governance_support::repo().join("examples/tenants/data-eng.yaml");
    std::fs::copy(&example, s.path().join("data-eng.yaml")).expect("copy");
    // render: the onboarding objects, as a List with -o json.
    let r = s.run(&["tenant", "render", "data-eng.yaml", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let list: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let kinds: std::collections::BTreeSet<&str> =
        list["items"].as_array().expect("items").iter().filter_map(|o| o["kind"].as_str()).collect();
    let expected =
        ["LimitRange", "Namespace", "NetworkPolicy", "ResourceQuota", "Role", "RoleBinding", "ServiceAccount"];
    assert_eq!(kinds, expected.into_iter().collect::<std::collections::BTreeSet<_>>());
    // The same objects one file each with --out-dir.
    let r = s.run(&["tenant", "render", "data-eng.yaml", "--out-dir", "onboard"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let written = std::fs::read_dir(s.path().join("onboard")).expect("written").count();
    assert_eq!(written, list["items"].as_array().map_or(0, Vec::len));
    // list and show over a directory.
    s.write("tenants/data-eng.yaml", &std::fs::read_to_string(&example).expect("example"));
    s.write("tenants/team-b.yaml", &tenant("team-b", "team-b", "team-b", "64", Some("{monthly: 500}")));
    let r = s.run(&["tenant", "list", "tenants", "-o", "json"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let rows: serde_json::Value = serde_json::from_str(&r.stdout).expect("JSON");
    let got: Vec<(&str, &str, &str)> = rows
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap_or(""),
                r["namespace"].as_str().unwrap_or(""),
                r["budget"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(got, [("data-eng", "data-eng", "25000/month"), ("team-b", "team-b", "500/month")]);
    let r = s.run(&["tenant", "show", "tenants", "team-b"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert_eq!(r.stdout, tenant("team-b", "team-b", "team-b", "64", Some("{monthly: 500}")));
    let r = s.run(&["tenant", "show", "tenants", "team-c"]);
    assert_eq!(r.code, Some(2));
    assert_eq!(r.stderr, "error: there is no tenant `team-c` in tenants\n  help: did you mean `team-b`?\n");
    // A bad file in the directory: exit 2 at its line and column, nothing listed.
    s.write(
        "tenants/team-b.yaml",
        &tenant("team-b", "team-b", "team-b", "64", Some("{monthly: 500, warningPercent: 120}")),
    );
    let r = s.run(&["tenant", "list", "tenants"]);
    assert_eq!(r.code, Some(2), "{}", r.stderr);
    assert_eq!(r.stdout, "");
    assert!(r.stderr.starts_with("tenants/team-b.yaml:10:"), "{}", r.stderr);
    assert!(r.stderr.contains("error: spec.budget.warningPercent: "), "{}", r.stderr);
}
