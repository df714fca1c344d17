//! Sending OpenLineage events to an HTTP endpoint (Marquez, a lineage
//! service): one POST of JSON per event, a few attempts with backoff.
//!
//! Owns: the HTTP exchange only. Must not: build events (that is
//! `openlineage`) or decide exit codes — a [`SendError`] names the URL and
//! why, and the caller reports it. Unlike CDEvents (`sparkplane_delivery::sink`,
//! which only warns), lineage is this command's whole result, so a failure is an error.

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
    for (sent, event) in events.iter().enumerate() {
        let failed = |reason: String| SendError { url: url.to_string(), reason, sent, total: events.len() };
        let body = serde_json::to_vec(event).map_err(|e| failed(e.to_string()))?;
        post(url, &body).map_err(failed)?;
    }
    Ok(events.len())
}

fn post(url: &str, body: &[u8]) -> Result<(), String> {
    sparkplane_http::post(&sparkplane_http::Retry::default(), url, "application/json", body).map_err(|e| match e {
        sparkplane_http::PostError::Refused { status } => format!("the endpoint refused an event with HTTP {status}"),
        sparkplane_http::PostError::Failed(reason) => reason,
    })
}
