//! The rollback workflow over a fake host: the deployment it goes back to,
//! the record it writes, the CDEvent it picks, and which refusal is bad
//! input and which a failed request.

use serde_json::json;

use super::*;

/// A deployment of `release` as the `sequence`th of prod's log (the deployments log's tests' record),
/// with its own content hash and a spec the render step can render.
fn deployed(sequence: u64, release: &str) -> DeploymentRecord {
    let mut record = crate::deployments::tests::deployment(sequence, release);
    record.content_hash = format!("sha256:{release}");
    record.spec = json!({
        "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
        "metadata": {"name": "etl", "namespace": "data"},
        "spec": {"type": "Python", "mainApplicationFile": "local:///app/main.py",
                 "image": {"repository": "r/etl", "tag": "1.0"}},
    });
    record
}

struct Fake {
    history: Vec<DeploymentRecord>,
    recorded: Vec<(DeploymentRecord, Vec<String>)>,
    calls: Vec<&'static str>,
}

impl RollbackHost for Fake {
    type Error = RollbackProblem;

    fn deployed_by(&mut self) -> Result<String, RollbackProblem> {
        self.calls.push("deployed_by");
        Ok("bob".into())
    }

    fn deployments(&mut self) -> Result<Vec<DeploymentRecord>, RollbackProblem> {
        self.calls.push("deployments");
        Ok(self.history.clone())
    }

    fn record(&mut self, record: DeploymentRecord, files: &[(String, String)]) -> Result<Recorded, RollbackProblem> {
        self.calls.push("record");
        let sequence = self.history.len() as u64 + 1;
        self.recorded.push((record, files.iter().map(|(name, _)| name.clone()).collect()));
        Ok(Recorded { sequence, manifests: format!("deployments/etl/prod/{sequence:06}/manifests") })
    }

    fn write_out(&mut self, objects: &[RenderedObject], _job: &str) -> Result<Vec<String>, RollbackProblem> {
        self.calls.push("write_out");
        Ok(objects.iter().take(1).map(|o| format!("deploy/{}", o.file_name())).collect())
    }

    fn now(&mut self) -> String {
        "2026-11-24T09:00:00Z".into()
    }
}

fn request(to: Option<&str>) -> RollbackRequest<'_> {
    RollbackRequest { job: "etl", job_arg: "etl.yaml", environment: "prod", to }
}

#[test]
fn a_rollback_records_the_earlier_release_again_as_deployed_and_picks_rolledback() {
    let mut host = Fake { history: vec![deployed(1, "a"), deployed(2, "b")], recorded: Vec::new(), calls: Vec::new() };
    let done = run(&request(None), &mut host).expect("rolled back");
    assert_eq!(host.calls, ["deployed_by", "deployments", "record", "write_out"]);
    assert_eq!((done.release.as_str(), done.rollback_of, done.replaced, done.recorded.sequence), ("a", 1, 2, 3));
    let (record, files) = &host.recorded[0];
    assert_eq!(record.action, Action::Rollback);
    assert_eq!((record.rollback_of, record.from.as_deref()), (Some(1), None));
    assert_eq!((record.deployed_by.as_str(), record.deployed_at.as_str()), ("bob", "2026-11-24T09:00:00Z"));
    assert_eq!(record.content_hash, "sha256:a", "the earlier deployment's release, as it was");
    assert!(!files.is_empty() && files.iter().all(|f| f.starts_with("manifests/")), "{files:?}");
    assert!(
        matches!(&done.event, Step::ServiceRolledBack { service, environment, .. } if service == "etl" && environment == "prod")
    );
    let json = done.report_json("prod");
    assert_eq!((json["dir"].as_str(), json["rollbackOf"].as_u64()), (Some("deployments/etl/prod/000003"), Some(1)));
    assert_eq!(
        done.text("etl", "prod"),
        format!(
            "rolled etl in prod back to a (deployment 1 again, recorded as 3)\n  manifests in \
             deployments/etl/prod/000003/manifests\nwrote {}\n",
            done.out[0]
        )
    );
}

#[test]
fn a_release_never_deployed_is_bad_input_and_nothing_to_go_back_to_a_failed_request() {
    let mut host = Fake { history: vec![deployed(1, "a"), deployed(2, "b")], recorded: Vec::new(), calls: Vec::new() };
    let Err(RollbackProblem::Invalid(never)) = run(&request(Some("z")), &mut host) else {
        panic!("never deployed is bad input")
    };
    assert_eq!((never.code, never.path.as_str()), ("unknown-release", "--to"));
    assert_eq!(never.help.as_deref(), Some("pass a release `sparkplane deployments etl.yaml --env prod` lists"));
    let Err(RollbackProblem::Failed(current)) = run(&request(Some("b")), &mut host) else {
        panic!("already current fails")
    };
    assert_eq!(current.code, "nothing-to-roll-back");
    assert_eq!(current.help.as_deref(), Some("promote a release to prod first (`sparkplane promote`)"));
    let mut empty = Fake { history: Vec::new(), recorded: Vec::new(), calls: Vec::new() };
    let Err(RollbackProblem::Failed(none)) = run(&request(None), &mut empty) else { panic!("no log fails") };
    assert_eq!(none.code, "nothing-to-roll-back");
    assert!(host.recorded.is_empty() && empty.recorded.is_empty(), "nothing written");
}
