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
