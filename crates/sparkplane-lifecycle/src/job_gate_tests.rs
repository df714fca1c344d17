//! The Job route's gate as a table: what the Workload and its Job say
//! becomes what the operator does to them.

use serde_json::json;

use super::*;

fn cond(kind: &str, status: bool, reason: &str, message: &str) -> serde_json::Value {
    json!({"type": kind, "status": if status { "True" } else { "False" }, "reason": reason, "message": message})
}

const PREEMPTED: &str = "Preempted to accommodate a workload (UID: u-2) due to prioritization in the ClusterQueue";

fn workload(conditions: Vec<serde_json::Value>, deleting: bool) -> WorkloadView {
    let mut w = json!({"metadata": {"name": "etl-0123abcd-submit"}, "status": {"conditions": conditions}});
    if deleting {
        w["metadata"]["deletionTimestamp"] = json!("2026-11-29T05:00:00Z");
    }
    WorkloadView::of(&w)
}

fn pending() -> WorkloadView {
    workload(
        vec![cond(
            "QuotaReserved",
            false,
            "Pending",
            "couldn't assign flavors to pod set executor: insufficient unused quota for cpu in flavor default, 3 more needed",
        )],
        false,
    )
}

fn admitted() -> WorkloadView {
    workload(
        vec![
            cond("QuotaReserved", true, "QuotaReserved", "Quota reserved in ClusterQueue team"),
            cond("Admitted", true, "Admitted", "The workload is admitted"),
        ],
        false,
    )
}

fn evicted() -> WorkloadView {
    workload(
        vec![
            cond("QuotaReserved", true, "QuotaReserved", "Quota reserved in ClusterQueue team"),
            cond("Admitted", true, "Admitted", "The workload is admitted"),
            cond("Evicted", true, "Preempted", "Preempted to accommodate a higher priority workload"),
            cond("Preempted", true, "InClusterQueue", PREEMPTED),
        ],
        false,
    )
}

fn released() -> WorkloadView {
    workload(
        vec![
            cond("QuotaReserved", false, "Pending", "Preempted to accommodate a higher priority workload"),
            cond("Admitted", false, "NoReservation", "The workload has no reservation"),
            cond("Evicted", true, "Preempted", "Preempted to accommodate a higher priority workload"),
        ],
        false,
    )
}

fn finished() -> WorkloadView {
    workload(
        vec![
            cond("QuotaReserved", true, "QuotaReserved", "Quota reserved in ClusterQueue team"),
            cond("Admitted", true, "Admitted", "The workload is admitted"),
            cond("Finished", true, "Succeeded", "the run Succeeded"),
        ],
        false,
    )
}

fn job(suspended: bool, active: u64, ended: Option<bool>) -> JobView {
    let mut j = json!({"metadata": {"uid": "job-1"}, "spec": {"suspend": suspended}, "status": {"active": active}});
    if let Some(ok) = ended {
        let kind = if ok { "Complete" } else { "Failed" };
        let message = if ok {
            "Reached expected number of succeeded pods"
        } else {
            "Job has reached the specified backoff limit"
        };
        j["status"]["conditions"] = json!([cond(kind, true, "x", message)]);
    }
    JobView::of(&j)
}

const ADOPTED: Option<&str> = Some("job-1");

fn release() -> GateAction {
    GateAction::Workload(WorkloadAction::Release {
        reason: "Preempted".into(),
        message: "Preempted to accommodate a higher priority workload".into(),
    })
}

fn suspend(reason: &str, message: &str) -> GateAction {
    GateAction::Suspend { reason: reason.into(), message: message.into() }
}

#[test]
fn the_workload_and_its_job_say_what_the_gate_does() {
    type Row = (&'static str, WorkloadView, Option<&'static str>, Option<JobView>, (bool, bool), Vec<GateAction>);
    let rows: Vec<Row> = vec![
        ("the Job is not there yet: wait", pending(), None, None, (false, false), vec![]),
        (
            "its Job is there: adopted",
            pending(),
            None,
            Some(job(true, 0, None)),
            (false, false),
            vec![GateAction::Adopt { uid: "job-1".into() }],
        ),
        (
            "pending on quota: the Job stays suspended",
            pending(),
            ADOPTED,
            Some(job(true, 0, None)),
            (false, false),
            vec![],
        ),
        (
            "admitted: unsuspended",
            admitted(),
            ADOPTED,
            Some(job(true, 0, None)),
            (false, false),
            vec![GateAction::Unsuspend],
        ),
        (
            "admitted at once: adopted, then unsuspended",
            admitted(),
            None,
            Some(job(true, 0, None)),
            (false, false),
            vec![GateAction::Adopt { uid: "job-1".into() }, GateAction::Unsuspend],
        ),
        ("admitted and running: nothing", admitted(), ADOPTED, Some(job(false, 1, None)), (true, true), vec![]),
        (
            "evicted while running: suspended, its driver stopped, the quota kept meanwhile",
            evicted(),
            ADOPTED,
            Some(job(false, 1, None)),
            (true, true),
            vec![suspend("Preempted", PREEMPTED), GateAction::StopDriver],
        ),
        (
            "evicted, suspended, its driver going: wait for the pods to end",
            evicted(),
            ADOPTED,
            Some(job(true, 0, None)),
            (false, true),
            vec![],
        ),
        (
            "evicted, suspended, nothing left: the quota goes back",
            evicted(),
            ADOPTED,
            Some(job(true, 0, None)),
            (false, false),
            vec![release()],
        ),
        (
            "quota taken back while the Job runs: suspended as not admitted",
            released(),
            ADOPTED,
            Some(job(false, 1, None)),
            (true, true),
            vec![suspend(NOT_ADMITTED, NOT_ADMITTED_MESSAGE), GateAction::StopDriver],
        ),
        (
            "released and suspended: waits to be admitted again",
            released(),
            ADOPTED,
            Some(job(true, 0, None)),
            (false, false),
            vec![],
        ),
        (
            "the Job completed: the Workload finished",
            admitted(),
            ADOPTED,
            Some(job(false, 0, Some(true))),
            (false, false),
            vec![GateAction::Workload(WorkloadAction::Finish {
                reason: "Succeeded".into(),
                message: "Reached expected number of succeeded pods".into(),
            })],
        ),
        (
            "the Job failed: the Workload finished, Failed",
            admitted(),
            ADOPTED,
            Some(job(false, 0, Some(false))),
            (false, false),
            vec![GateAction::Workload(WorkloadAction::Finish {
                reason: "Failed".into(),
                message: "Job has reached the specified backoff limit".into(),
            })],
        ),
        ("finished once: nothing more", finished(), ADOPTED, Some(job(false, 0, Some(true))), (false, false), vec![]),
        (
            "finished, the Job not ended: never unsuspended again",
            finished(),
            ADOPTED,
            Some(job(true, 0, None)),
            (false, false),
            vec![],
        ),
        (
            "its Job deleted: the Workload deleted",
            admitted(),
            ADOPTED,
            None,
            (false, false),
            vec![GateAction::Workload(WorkloadAction::Delete)],
        ),
        (
            "its Job replaced by another of the same name: the Workload deleted",
            admitted(),
            Some("job-0"),
            Some(job(true, 0, None)),
            (false, false),
            vec![GateAction::Workload(WorkloadAction::Delete)],
        ),
        (
            "the Workload being deleted: nothing",
            workload(vec![], true),
            ADOPTED,
            Some(job(false, 1, None)),
            (true, true),
            vec![],
        ),
    ];
    for (name, w, owner, job, (driver_live, spark_pods_left), expected) in rows {
        let facts = GateFacts { workload: &w, owner, job: job.as_ref(), driver_live, spark_pods_left };
        assert_eq!(gate_actions(&facts), expected, "{name}");
    }
}

#[test]
fn a_job_reads_as_its_suspension_pods_and_end() {
    let j = JobView::of(&json!({
        "metadata": {"uid": "u-7", "deletionTimestamp": "2026-11-29T05:00:00Z"},
        "spec": {"suspend": true},
        "status": {"active": 2, "conditions": [
            {"type": "Suspended", "status": "True", "reason": "JobSuspended", "message": "Job suspended"},
            {"type": "Failed", "status": "False", "reason": "x", "message": "not yet"},
        ]},
    }));
    assert_eq!(j, JobView { uid: "u-7".into(), suspended: true, active: 2, ended: None, deleting: true });
    let fresh = JobView::of(&json!({"metadata": {"uid": "u-8"}, "spec": {}}));
    assert_eq!(fresh, JobView { uid: "u-8".into(), ..JobView::default() });
}
