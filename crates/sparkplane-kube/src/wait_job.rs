//! Waiting on one SparkJob: until it is gone, or until its run ended.
//!
//! Owns: the polling of a SparkJob's status with the wait backoff of
//! `apps` (0.25 s doubling to 4 s, reset by every change of state) and the
//! limit on how long a job may sit untouched. Must not: decide what an ended
//! run means, or print (the caller gets each new state through a callback).

use std::time::Duration;

use sparkplane_api::job::{JobState, SparkJobStatus};

use crate::apps::wait_backoff;
use crate::error::KubeError;

/// What to wait for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Until {
    /// The SparkJob no longer exists (after a delete, its finalizers ran).
    Gone,
    /// Its run ended: `Succeeded` or `Failed`.
    Ended,
}

/// How a wait ended.
#[derive(Clone, Debug, PartialEq)]
pub enum Waited {
    /// The SparkJob is gone.
    Gone,
    /// Its run ended with this status.
    Ended(Box<SparkJobStatus>),
    /// `limit` passed: the job was still there ([`Until::Gone`]), or no
    /// operator gave it a state ([`Until::Ended`]; a job with a state may take
    /// as long as its run takes).
    TimedOut,
}

/// Polls SparkJob `namespace/name` until `until`, calling `on_state` with
/// every new state it is seen in.
pub async fn wait_job(
    client: &kube::Client,
    server: &str,
    (namespace, name): (&str, &str),
    until: Until,
    limit: Duration,
    on_state: &mut dyn FnMut(JobState),
) -> Result<Waited, KubeError> {
    let started = tokio::time::Instant::now();
    let mut backoff = wait_backoff();
    let mut last: Option<JobState> = None;
    loop {
        let job = crate::jobs::get(client, server, namespace, name).await?;
        let status = job.as_ref().and_then(|j| j.status.clone()).unwrap_or_default();
        if status.state != last {
            if let Some(state) = status.state {
                on_state(state);
            }
            last = status.state;
            kube::runtime::utils::Backoff::reset(&mut backoff);
        }
        match (until, &job, status.state) {
            (Until::Gone, None, _) => return Ok(Waited::Gone),
            (Until::Ended, _, Some(JobState::Succeeded | JobState::Failed)) => {
                return Ok(Waited::Ended(Box::new(status)));
            }
            (Until::Gone, Some(_), _) | (Until::Ended, _, None) if started.elapsed() > limit => {
                return Ok(Waited::TimedOut);
            }
            _ => {}
        }
        let pause = backoff.next().unwrap_or(Duration::from_secs(1));
        tokio::time::sleep(pause).await;
    }
}

#[cfg(test)]
mod tests {
    //! Against kube-rs's mocked API with tokio's clock paused: each GET is
    //! answered in turn, and the virtual time between them is the backoff's.

    use http::{Request, Response};
    use kube::client::Body;
    use serde_json::{Value, json};
    use tokio::time::Instant;

    use super::*;

    type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

    const PATH: &str = "/apis/sparkplane.dev/v1alpha1/namespaces/etl/sparkjobs/trips-shadow";

    fn job(state: Option<&str>) -> Value {
        let mut job = json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "SparkJob",
            "metadata": {"name": "trips-shadow", "namespace": "etl"},
            "spec": {"type": "Python", "mainApplicationFile": "local:///app/main.py"},
        });
        if let Some(state) = state {
            job["status"] = json!({"state": state, "reason": "R", "attempt": 2});
        }
        job
    }

    fn not_found() -> (u16, Value) {
        (404, json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404}))
    }

    /// Answers GETs of the job with `answers` in turn, recording when each came; then stops answering.
    async fn answer(mut handle: Handle, answers: Vec<(u16, Value)>) -> Vec<Duration> {
        let start = Instant::now();
        let mut at = Vec::new();
        for (status, body) in answers {
            let (request, send) = handle.next_request().await.expect("a GET");
            assert_eq!((request.method().as_str(), request.uri().path()), ("GET", PATH));
            at.push(start.elapsed());
            let body = serde_json::to_vec(&body).expect("JSON");
            send.send_response(Response::builder().status(status).body(Body::from(body)).expect("a response"));
        }
        at
    }

    async fn wait(until: Until, limit: Duration, answers: Vec<(u16, Value)>) -> (Waited, Vec<JobState>, Vec<Duration>) {
        let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let client = kube::Client::new(service, "default");
        let server = tokio::spawn(answer(handle, answers));
        let mut states = Vec::new();
        let waited =
            wait_job(&client, "https://mock.invalid", ("etl", "trips-shadow"), until, limit, &mut |s| states.push(s))
                .await
                .expect("no request failed");
        drop(client);
        (waited, states, server.await.expect("the mock answered"))
    }

    #[tokio::test(start_paused = true)]
    async fn an_ended_run_is_returned_with_every_state_seen_once_and_the_backoff_reset_by_each_change() {
        let answers = vec![
            not_found(),
            (200, job(None)),
            (200, job(Some("Submitted"))),
            (200, job(Some("Submitted"))),
            (200, job(Some("Failed"))),
        ];
        let (waited, states, at) = wait(Until::Ended, Duration::from_secs(120), answers).await;
        let Waited::Ended(status) = waited else { panic!("ended: {waited:?}") };
        assert_eq!(
            (status.state, status.reason.as_deref(), status.attempt),
            (Some(JobState::Failed), Some("R"), Some(2))
        );
        assert_eq!(states, [JobState::Submitted, JobState::Failed]);
        let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
        // 250, 500, then a change of state: 250 again, then 500.
        assert_eq!(ms, [0, 250, 750, 1000, 1500]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_job_no_operator_takes_up_times_out_after_the_limit_with_pauses_up_to_4_s() {
        let answers = vec![(200, job(None)); 7];
        let (waited, states, at) = wait(Until::Ended, Duration::from_secs(10), answers).await;
        assert_eq!(waited, Waited::TimedOut);
        assert!(states.is_empty());
        let ms: Vec<u128> = at.iter().map(Duration::as_millis).collect();
        // 0.25 + 0.5 + 1 + 2 + 4 + 4 = 11.75 s: the first look past 10 s ends the wait.
        assert_eq!(ms, [0, 250, 750, 1750, 3750, 7750, 11750]);
    }

    #[tokio::test(start_paused = true)]
    async fn waiting_until_gone_ends_on_not_found_and_times_out_on_a_job_that_stays() {
        let answers = vec![(200, job(Some("Succeeded"))), (200, job(Some("Succeeded"))), not_found()];
        let (waited, states, _) = wait(Until::Gone, Duration::from_secs(120), answers).await;
        assert_eq!(waited, Waited::Gone);
        assert_eq!(states, [JobState::Succeeded], "the callback sees the state; the caller decides whether it is news");

        let answers = vec![(200, job(None)); 4];
        let (waited, _, at) = wait(Until::Gone, Duration::from_secs(1), answers).await;
        assert_eq!(waited, Waited::TimedOut);
        assert_eq!(at.len(), 4, "0, 0.25, 0.75 and 1.75 s: the last is past the limit");
    }
}
