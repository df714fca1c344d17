//! Sending OpenLineage events to an HTTP endpoint (Marquez, a lineage
//! service): one POST of JSON per event, a few attempts with backoff.
//!
//! Owns: the HTTP exchange only. Must not: build events (that is
//! `openlineage`) or decide exit codes — a [`SendError`] names the URL and
//! why, and the caller reports it. Unlike CDEvents (`sparkplane_delivery::sink`,
//! which only warns), lineage is this command's whole result, so a failure is an error.

use std::time::Duration;

use crate::openlineage::RunEvent;

/// Events the endpoint did not accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot send OpenLineage events to {url}: {reason} ({sent} of {total} sent)")]
pub struct SendError {
    /// The endpoint.
    pub url: String,
    /// Why the last attempt failed.
    pub reason: String,
    /// Events accepted before it.
    pub sent: usize,
    /// Events there were to send.
    pub total: usize,
}

/// POSTs each event to `url` in order (three attempts each, 200 ms apart then
/// doubling, ten seconds per attempt); stops at the first event not accepted.
pub fn send(url: &str, events: &[RunEvent]) -> Result<usize, SendError> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(10)))
        .http_status_as_error(false)
        .build()
        .into();
    for (sent, event) in events.iter().enumerate() {
        let failed = |reason: String| SendError { url: url.to_string(), reason, sent, total: events.len() };
        let body = serde_json::to_vec(event).map_err(|e| failed(e.to_string()))?;
        post(&agent, url, &body).map_err(failed)?;
    }
    Ok(events.len())
}

fn post(agent: &ureq::Agent, url: &str, body: &[u8]) -> Result<(), String> {
    let mut wait = Duration::from_millis(200);
    let mut last = String::new();
    for attempt in 1..=3 {
        match agent.post(url).header("content-type", "application/json").send(body) {
            Ok(r) if r.status().is_success() => return Ok(()),
            // A 4xx other than 408/429 will not change on a retry.
            Ok(r) if r.status().is_client_error() && !matches!(r.status().as_u16(), 408 | 429) => {
                return Err(format!("the endpoint refused an event with HTTP {}", r.status().as_u16()));
            }
            Ok(r) => last = format!("HTTP {} after {attempt} attempts", r.status().as_u16()),
            Err(e) => last = format!("{e} after {attempt} attempts"),
        }
        if attempt < 3 {
            std::thread::sleep(wait);
            wait = wait.saturating_mul(2);
        }
    }
    Err(last)
}
