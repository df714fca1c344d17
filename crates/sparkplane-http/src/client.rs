//! The one retry rule for sending to a receiver (a CDEvents sink, an OTLP
//! collector, an OpenLineage endpoint): a few attempts, a wait that doubles
//! between them, and which failures are worth another try — a connection
//! failure, a 5xx, 408 Request Timeout or 429 Too Many Requests. Any other
//! 4xx will not change on a retry: the receiver refused the payload itself.
//!
//! Owns: that rule ([`Retry`], [`with_retries`], [`retryable_status`]), a
//! POST over it ([`post`]), and the one setup of the ureq agent every
//! request sparkplane sends goes through ([`agent`], [`agent_config`]): a
//! time limit for the whole request, TLS as ureq's default, and every HTTP
//! status an answer to read rather than an error. Must not: word its errors
//! for a user beyond what happened (callers say what was being sent).

use std::time::Duration;

/// How often and how patiently to try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retry {
    /// Attempts in all (at least one is made).
    pub attempts: u32,
    /// The wait after the first failed attempt; each later wait doubles.
    pub first_wait: Duration,
    /// The longest one attempt may take.
    pub timeout: Duration,
}

impl Default for Retry {
    /// Three attempts, 200 ms then 400 ms apart, ten seconds each.
    fn default() -> Self {
        Retry { attempts: 3, first_wait: Duration::from_millis(200), timeout: Duration::from_secs(10) }
    }
}

/// How one attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Another attempt would get the same answer: stop now.
    Final(String),
    /// Worth another attempt.
    Retryable(String),
}

/// Runs `attempt` as `retry` says. A final failure stops at once with its
/// reason; when every attempt failed retryably, the last reason is returned
/// with how many attempts were made (`HTTP 503 after 3 attempts`).
pub fn with_retries<T>(retry: &Retry, mut attempt: impl FnMut() -> Result<T, Failure>) -> Result<T, String> {
    with_retries_sleeping(retry, &mut attempt, std::thread::sleep)
}

fn with_retries_sleeping<T>(
    retry: &Retry,
    attempt: &mut dyn FnMut() -> Result<T, Failure>,
    mut sleep: impl FnMut(Duration),
) -> Result<T, String> {
    let attempts = retry.attempts.max(1);
    let mut wait = retry.first_wait;
    let mut last = String::new();
    for n in 1..=attempts {
        match attempt() {
            Ok(value) => return Ok(value),
            Err(Failure::Final(reason)) => return Err(reason),
            Err(Failure::Retryable(reason)) => last = format!("{reason} after {n} attempts"),
        }
        if n < attempts {
            sleep(wait);
            wait = wait.saturating_mul(2);
        }
    }
    Err(last)
}

/// Whether an HTTP status is worth another attempt: 408, 429 and every 5xx.
pub fn retryable_status(status: u16) -> bool {
    matches!(status, 408 | 429) || (500..600).contains(&status)
}

/// Why a POST did not succeed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PostError {
    /// The receiver answered with a status a retry would not change.
    #[error("HTTP {status}")]
    Refused { status: u16 },
    /// Every attempt failed retryably (or the request could not be sent); the
    /// reason says how and after how many attempts.
    #[error("{0}")]
    Failed(String),
}

/// The agent for requests that take at most `timeout` each (`None`: as
/// long as they take), with TLS as ureq's default and an answer of any
/// status returned as an answer: callers read its status.
pub fn agent(timeout: Option<Duration>) -> ureq::Agent {
    agent_config(timeout).build().into()
}

/// [`agent`]'s setup, for a caller that needs one more setting (a proxy
/// passing redirects on rather than following them).
pub fn agent_config(timeout: Option<Duration>) -> ureq::config::ConfigBuilder<ureq::typestate::AgentScope> {
    ureq::Agent::config_builder().timeout_global(timeout).http_status_as_error(false)
}

/// POSTs `body` to `url` with `content_type`, retrying as `retry` says.
pub fn post(retry: &Retry, url: &str, content_type: &str, body: &[u8]) -> Result<(), PostError> {
    let agent = agent(Some(retry.timeout));
    let mut refused = None;
    let outcome = with_retries(retry, || match agent.post(url).header("content-type", content_type).send(body) {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) if !retryable_status(answer.status().as_u16()) => {
            refused = Some(answer.status().as_u16());
            Err(Failure::Final(String::new()))
        }
        Ok(answer) => Err(Failure::Retryable(format!("HTTP {}", answer.status().as_u16()))),
        Err(e) => Err(Failure::Retryable(e.to_string())),
    });
    match (outcome, refused) {
        (Ok(()), _) => Ok(()),
        (Err(_), Some(status)) => Err(PostError::Refused { status }),
        (Err(reason), None) => Err(PostError::Failed(reason)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sparkplane_testkit::http::receiver as testkit_receiver;

    fn receiver(statuses: Vec<u16>) -> (String, std::thread::JoinHandle<Vec<String>>) {
        testkit_receiver("/in", statuses)
    }

    #[test]
    fn retryable_statuses_are_408_429_and_5xx() {
        for (status, retry) in [(200, false), (400, false), (404, false), (408, true), (409, false), (429, true)] {
            assert_eq!(retryable_status(status), retry, "{status}");
        }
        for (status, retry) in [(500, true), (503, true), (599, true), (600, false)] {
            assert_eq!(retryable_status(status), retry, "{status}");
        }
    }

    #[test]
    fn waits_double_and_the_last_reason_counts_the_attempts() {
        let retry = Retry { attempts: 4, first_wait: Duration::from_millis(200), timeout: Duration::from_secs(1) };
        let mut waits = Vec::new();
        let mut n = 0;
        let mut attempt = || -> Result<(), Failure> {
            n += 1;
            Err(Failure::Retryable(format!("HTTP 50{n}")))
        };
        let outcome = with_retries_sleeping(&retry, &mut attempt, |d| waits.push(d.as_millis()));
        assert_eq!(outcome, Err("HTTP 504 after 4 attempts".to_owned()));
        assert_eq!(waits, vec![200, 400, 800]);
    }

    #[test]
    fn a_final_failure_stops_at_once_and_a_success_after_failures_is_a_success() {
        let retry = Retry::default();
        let mut calls = 0;
        let mut refuse = || -> Result<(), Failure> {
            calls += 1;
            Err(Failure::Final("refused".into()))
        };
        assert_eq!(with_retries_sleeping(&retry, &mut refuse, |_| {}), Err("refused".to_owned()));
        assert_eq!(calls, 1);
        let mut left = 2;
        let mut flaky = || -> Result<u8, Failure> {
            left -= 1;
            if left > 0 { Err(Failure::Retryable("reset".into())) } else { Ok(7) }
        };
        assert_eq!(with_retries_sleeping(&retry, &mut flaky, |_| {}), Ok(7));
        let zero = Retry { attempts: 0, ..Retry::default() };
        let mut once = 0;
        let mut count = || -> Result<(), Failure> {
            once += 1;
            Err(Failure::Retryable("down".into()))
        };
        assert_eq!(with_retries_sleeping(&zero, &mut count, |_| {}), Err("down after 1 attempts".to_owned()));
        assert_eq!(once, 1, "at least one attempt is made");
    }

    #[test]
    fn a_post_retries_a_503_and_stops_at_a_400() {
        let fast = Retry { attempts: 3, first_wait: Duration::from_millis(1), timeout: Duration::from_secs(5) };
        let (url, got) = receiver(vec![503, 200]);
        assert_eq!(post(&fast, &url, "application/json", b"{\"a\":1}"), Ok(()));
        assert_eq!(got.join().expect("receiver"), vec!["{\"a\":1}", "{\"a\":1}"]);
        let (url, got) = receiver(vec![400]);
        assert_eq!(post(&fast, &url, "application/json", b"x"), Err(PostError::Refused { status: 400 }));
        assert_eq!(got.join().expect("receiver").len(), 1);
        let (url, got) = receiver(vec![500, 502, 503]);
        assert_eq!(post(&fast, &url, "text/plain", b"x"), Err(PostError::Failed("HTTP 503 after 3 attempts".into())));
        assert_eq!(got.join().expect("receiver").len(), 3);
    }
}
