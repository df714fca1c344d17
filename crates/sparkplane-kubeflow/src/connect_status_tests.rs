use super::*;

fn at(minute: i64) -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_795_000_000 + minute * 60).expect("a time")
}

fn server(state: JobState, reason: &str, message: &str) -> SparkJobStatus {
    SparkJobStatus {
        state: Some(state),
        reason: Some(reason.into()),
        message: Some(message.into()),
        observed_generation: Some(2),
        spec_hash: Some("h-1".into()),
        submitted_at: Some(rfc3339(at(0))),
        ..SparkJobStatus::default()
    }
}

fn seen(pod: bool, executors: &[&str]) -> ServerSeen {
    ServerSeen {
        pod_name: pod.then(|| "spark-connect-connect-0".to_owned()),
        pod_ip: pod.then(|| "10.0.0.7".to_owned()),
        service_name: "spark-connect-connect".into(),
        executor_phases: executors.iter().map(|p| (*p).to_owned()).collect(),
    }
}

fn condition<'a>(status: &'a SparkConnectStatus, kind: &str) -> &'a Condition {
    status.conditions.iter().find(|c| c.type_ == kind).unwrap_or_else(|| panic!("no {kind} in {status:?}"))
}

#[test]
fn each_server_state_has_kubeflows_state_name() {
    let table = [
        (JobState::Queued, PROVISIONING),
        (JobState::Submitted, PROVISIONING),
        (JobState::DriverRunning, NOT_READY),
        (JobState::Running, READY),
        (JobState::Retrying, NOT_READY),
        (JobState::Suspended, NOT_READY),
        (JobState::Failed, FAILED),
    ];
    for (state, name) in table {
        assert_eq!(state_name(state), name, "{state:?}");
    }
}

#[test]
fn a_serving_server_is_ready_with_its_pod_service_and_executors_by_phase() {
    let new = server(JobState::Running, "Serving", "serving at sc://spark-connect-connect.default.svc:15002");
    let written =
        connect_status(&new, &SparkConnectStatus::default(), &seen(true, &["Running", "Running", "Pending"]), at(3));
    assert_eq!(written.state.as_deref(), Some(READY));
    let kubeflows = condition(&written, SERVER_POD_READY);
    assert_eq!((kubeflows.status.as_str(), kubeflows.reason.as_str()), ("True", SERVER_POD_READY));
    assert_eq!(kubeflows.observed_generation, Some(2));
    let ours = condition(&written, SERVER_CONDITION);
    assert_eq!((ours.status.as_str(), ours.reason.as_str()), ("True", "Serving"));
    assert_eq!(ours.message, "serving at sc://spark-connect-connect.default.svc:15002");
    let server = written.server.as_ref().expect("server");
    assert_eq!(server.pod_name.as_deref(), Some("spark-connect-connect-0"));
    assert_eq!(server.pod_ip.as_deref(), Some("10.0.0.7"));
    assert_eq!(server.service_name.as_deref(), Some("spark-connect-connect"));
    assert_eq!(written.executors, BTreeMap::from([("pending".to_owned(), 1), ("running".to_owned(), 2)]));
    assert_eq!(written.start_time, Some(rfc3339(at(0))), "first served when submitted");
    assert_eq!(written.last_update_time, Some(rfc3339(at(3))));
}

#[test]
fn an_unchanged_status_keeps_its_times_and_a_new_reason_moves_the_transition() {
    let serving = server(JobState::Running, "Serving", "serving");
    let first = connect_status(&serving, &SparkConnectStatus::default(), &seen(true, &[]), at(3));
    let again = connect_status(&serving, &first, &seen(true, &[]), at(9));
    assert_eq!(again, first, "nothing changed: not even lastUpdateTime");
    // The server crashes: both conditions turn False at minute 12.
    let crashing = server(JobState::Retrying, "CrashLoopBackOff", "the server keeps ending");
    let down = connect_status(&crashing, &first, &seen(true, &[]), at(12));
    assert_eq!(down.state.as_deref(), Some(NOT_READY));
    assert_eq!(condition(&down, SERVER_POD_READY).last_transition_time, Time(at(12)));
    assert_eq!(condition(&down, SERVER_POD_READY).reason, SERVER_POD_NOT_READY);
    assert_eq!(down.last_update_time, Some(rfc3339(at(12))));
    assert_eq!(down.start_time, first.start_time, "startTime is the first serve's");
    // Asleep: Kubeflow's condition stays False since minute 12; sparkplane's reason changed at 20.
    let idle = server(JobState::Suspended, "Idle", "no client for 30m: scaled to 0");
    let asleep = connect_status(&idle, &down, &seen(false, &[]), at(20));
    assert_eq!(condition(&asleep, SERVER_POD_READY).last_transition_time, Time(at(12)));
    assert_eq!(condition(&asleep, SERVER_CONDITION).last_transition_time, Time(at(20)));
    assert_eq!(asleep.server.as_ref().and_then(|s| s.pod_name.clone()), None, "no pod while asleep");
}

#[test]
fn a_new_server_writes_nothing() {
    let old = SparkConnectStatus::default();
    assert_eq!(connect_status(&SparkJobStatus::default(), &old, &seen(false, &[]), at(1)), old);
}

#[test]
fn a_reason_or_message_outside_the_schema_is_made_to_fit() {
    let mut new = server(JobState::Failed, "bad reason!", &"x".repeat(MAX_MESSAGE + 10));
    new.message = Some(format!("{}é", "x".repeat(MAX_MESSAGE - 1)));
    let written = connect_status(&new, &SparkConnectStatus::default(), &seen(false, &[]), at(1));
    let ours = condition(&written, SERVER_CONDITION);
    assert_eq!(ours.reason, "Unknown");
    let refused = connect_status(&new, &SparkConnectStatus::default(), &ServerSeen::default(), at(1));
    assert_eq!(refused.server, None, "nothing applied: no server to name");
    assert_eq!(ours.message.len(), MAX_MESSAGE - 1, "cut before the two-byte character");
    assert_eq!(reason_word(Some("Serving")), "Serving");
    assert_eq!(reason_word(Some("a:b,c_1")), "a:b,c_1");
    assert_eq!(reason_word(Some("ends:")), "Unknown");
    assert_eq!(reason_word(Some("1st")), "Unknown");
    assert_eq!(reason_word(None), "Unknown");
}

#[test]
fn a_status_read_back_gives_the_state_reason_and_spec_it_was_written_for() {
    let table = [
        (JobState::Submitted, "Created", JobState::Submitted),
        (JobState::DriverRunning, "Starting", JobState::DriverRunning),
        (JobState::Running, "Serving", JobState::Running),
        (JobState::Retrying, "CrashLoopBackOff", JobState::Retrying),
        (JobState::Suspended, "Idle", JobState::Suspended),
        (JobState::Suspended, "Suspended", JobState::Suspended),
        (JobState::Failed, "InvalidSpec", JobState::Failed),
    ];
    for (state, reason, back) in table {
        let written =
            connect_status(&server(state, reason, "why"), &SparkConnectStatus::default(), &seen(true, &[]), at(4));
        let read = server_status(&written, Some(2), "h-1");
        assert_eq!(read.state, Some(back), "{state:?} {reason}");
        assert_eq!(read.reason.as_deref(), Some(reason));
        assert_eq!(read.message.as_deref(), Some("why"));
        assert_eq!(read.spec_hash.as_deref(), Some("h-1"), "the same generation: the spec it holds");
        // The spec changed since (generation 3): no hash, the spec is applied again.
        assert_eq!(server_status(&written, Some(3), "h-2").spec_hash, None);
    }
    assert_eq!(server_status(&SparkConnectStatus::default(), Some(1), "h"), SparkJobStatus::default());
    // Written by Kubeflow's operator (no sparkplane condition): its state, no spec known.
    let kubeflows = SparkConnectStatus { state: Some(READY.into()), ..SparkConnectStatus::default() };
    let read = server_status(&kubeflows, Some(1), "h");
    assert_eq!((read.state, read.spec_hash), (Some(JobState::Running), None));
}
