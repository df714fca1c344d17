//! `submit` under governance, end to end: the real binary against the
//! stateful fake API server, with approvals, a tenant's quota and budget
//! (this month's spend from a committed real Spark event log), and audit
//! mode. A refused submission sends no request at all: the policy gate runs
//! before the first call to the API server.

use crate::governance_support;

use std::path::Path;

use governance_support::{JOB, PRICES, Run, ledger_spend, run_in, tenant, write_team_log};
use serde_json::Value;
use sparkplane_fakekube::FakeApiServer;

/// A platform whose prod needs one approval and blocks on a critical budget breach.
const PROD: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: Environment
metadata: {name: prod}
template: {}
policy:
  requiredApprovals: 1
  severityOverrides: {budget-critical: deny}
";

struct Cluster {
    fake: FakeApiServer,
    dir: tempfile::TempDir,
}

impl Cluster {
    fn start() -> Cluster {
        let fake = FakeApiServer::start().expect("fake API server starts");
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::write(dir.path().join("kubeconfig"), fake.kubeconfig("team-a")).expect("kubeconfig");
        std::fs::write(dir.path().join("job.yaml"), JOB).expect("job");
        std::fs::create_dir_all(dir.path().join("platform/environments")).expect("platform");
        std::fs::write(dir.path().join("platform/environments/prod.yaml"), PROD).expect("prod");
        std::fs::write(dir.path().join("prices.yaml"), PRICES).expect("prices");
        Cluster { fake, dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn run(&self, args: &[&str]) -> Run {
        run_in(self.path(), args)
    }

    /// `submit job.yaml --env prod` (the built-in prod, or the platform's with `platform`).
    fn submit(&self, platform: bool, extra: &[&str]) -> Run {
        let mut args = vec!["submit", "job.yaml", "--env", "prod"];
        if platform {
            args.extend_from_slice(&["--platform-dir", "platform"]);
        }
        args.extend_from_slice(extra);
        self.run(&args)
    }

    fn pods(&self) -> Vec<Value> {
        self.fake.objects().into_iter().filter(|o| o["kind"] == "Pod").collect()
    }

    /// Nothing was asked of the API server and nothing is stored.
    fn assert_untouched(&self, why: &str) {
        let requests: Vec<String> = self.fake.requests().iter().map(|r| format!("{r:?}")).collect();
        assert_eq!(requests, Vec::<String>::new(), "{why}: no request");
        assert_eq!(self.fake.objects(), Vec::<Value>::new(), "{why}: no object");
    }
}

#[test]
fn prod_submit_needs_an_approval_of_this_exact_spec() {
    let c = Cluster::start();
    let refused = c.submit(true, &[]);
    assert_eq!(refused.code, Some(1), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("error: metadata.name: deploying to `prod` needs 1 approval of spec "),
        "{}",
        refused.stderr
    );
    assert!(refused.stderr.contains("; none was found"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("help: run `sparkplane approve JOB --env ENV --by NAME` for the spec you deploy"),
        "{}",
        refused.stderr
    );
    c.assert_untouched("refused for want of an approval");

    let approve = c.run(&["approve", "job.yaml", "--env", "prod", "--by", "alice", "--platform-dir", "platform"]);
    assert_eq!(approve.code, Some(0), "{}", approve.stderr);
    let submitted = c.submit(true, &[]);
    assert_eq!(submitted.code, Some(0), "{}", submitted.stderr);
    assert!(
        submitted.stdout.contains("submitted team-a-probe (attempt 1): driver pod team-a/"),
        "{}",
        submitted.stdout
    );
    assert_eq!(c.pods().len(), 1, "the driver pod was created");

    // A changed spec is a different spec: the approval is stale, nothing more is sent.
    let stored = c.fake.objects();
    c.fake.clear_requests();
    let changed = c.submit(true, &["--set", "executor.instances=3", "--rerun"]);
    assert_eq!(changed.code, Some(1), "{}", changed.stderr);
    assert!(
        changed.stderr.contains("; none was found; stale (the spec changed since): alice approved spec "),
        "{}",
        changed.stderr
    );
    assert!(c.fake.requests().is_empty(), "no request for the changed spec");
    assert_eq!(c.fake.objects(), stored, "nothing changed on the server");
}

#[test]
fn a_job_that_does_not_fit_its_tenants_quota_is_refused_before_any_request() {
    let c = Cluster::start();
    std::fs::write(c.path().join("tenant.yaml"), tenant("team-a", "team-a", "team-a", "2", None)).expect("tenant");
    let r = c.submit(false, &["--tenant", "tenant.yaml"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("tenant `team-a`: the job needs "), "{}", r.stderr);
    assert!(r.stderr.contains(" of requests.cpu"), "{}", r.stderr);
    c.assert_untouched("refused for the quota");
    // The same tenant found through --tenants.
    std::fs::create_dir_all(c.path().join("tenants")).expect("dir");
    std::fs::rename(c.path().join("tenant.yaml"), c.path().join("tenants/a.yaml")).expect("move");
    let r = c.submit(false, &["--tenants", "tenants"]);
    assert_eq!(r.code, Some(1), "{}", r.stderr);
    assert!(r.stderr.contains("tenant `team-a`: the job needs "), "{}", r.stderr);
    c.assert_untouched("refused for the quota via --tenants");
}

#[test]
fn audit_mode_submits_and_reports_what_it_did_not_enforce() {
    let c = Cluster::start();
    std::fs::write(c.path().join("tenant.yaml"), tenant("team-a", "team-a", "team-a", "2", None)).expect("tenant");
    let r = c.submit(true, &["--tenant", "tenant.yaml", "--policy-mode", "audit"]);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    assert!(r.stderr.contains("warning: metadata.name: deploying to `prod` needs 1 approval of spec "), "{}", r.stderr);
    let quota = r.stderr.lines().find(|l| l.contains("tenant `team-a`: the job needs ")).unwrap_or_default();
    assert!(quota.contains("warning: "), "the quota breach is reported as a warning: {}", r.stderr);
    assert!(r.stderr.contains("audit mode: 2 deny violations not enforced"), "{}", r.stderr);
    assert_eq!(c.pods().len(), 1, "submitted anyway");
}

#[test]
fn a_critical_budget_breach_blocks_prod_submissions_unless_the_tenant_opts_out() {
    let c = Cluster::start();
    write_team_log(&c.path().join("history"), "team-a");
    let spend = ledger_spend(c.path(), "history");
    let monthly = (spend / 1.5 * 100.0).round() / 100.0;
    let write_tenant = |extra: &str| {
        let budget = format!("{{monthly: {monthly:.2}{extra}}}");
        std::fs::write(c.path().join("tenant.yaml"), tenant("analytics", "team-a", "team-a", "64", Some(&budget)))
            .expect("tenant");
    };
    let budget_flags = ["--tenant", "tenant.yaml", "--history", "history", "--price-sheet", "prices.yaml"];

    write_tenant(", blockOnCritical: true");
    let blocked = c.submit(false, &budget_flags);
    assert_eq!(blocked.code, Some(1), "{}", blocked.stderr);
    let expected = format!("error: spec.team: tenant `analytics` (team `team-a`) has spent {spend:.2} (");
    assert!(blocked.stderr.contains(&expected), "{expected}\n{}", blocked.stderr);
    assert!(blocked.stderr.contains(&format!("% of its monthly budget of {monthly:.2}) since ")), "{}", blocked.stderr);
    assert!(blocked.stderr.contains("help: raise `spec.budget.monthly` in the tenant file"), "{}", blocked.stderr);
    c.assert_untouched("refused for the budget");

    write_tenant(", blockOnCritical: false");
    let warned = c.submit(false, &budget_flags);
    assert_eq!(warned.code, Some(0), "{}", warned.stderr);
    assert!(
        warned.stderr.contains("warning: spec.team: tenant `analytics` (team `team-a`) has spent "),
        "{}",
        warned.stderr
    );
    assert_eq!(c.pods().len(), 1, "submitted with a warning");
}
