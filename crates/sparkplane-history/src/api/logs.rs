//! `logs`: which attempts' event logs Spark zips for one application
//! ([`Download`]: the file name and the attempts; the server streams the
//! zip, `crate::download`), and Spark's 503 when a log cannot be read.
//!
//! Owns: that choice and its 404 texts. Must not: read a log or write the
//! zip.

use super::applications::attempts_of;
use super::catalog::Catalog;
use super::{Response, TEXT, no_such_app, not_found};

/// Spark's `logs` answer: a zip of one application's logs, as stored.
#[derive(Debug, Clone, PartialEq)]
pub struct Download {
    /// `eventLogs-{app}.zip`, or `eventLogs-{app}-{attempt}.zip` for one attempt.
    pub file_name: String,
    pub app_id: String,
    /// The attempts whose logs go in, newest first as Spark lists them.
    pub attempts: Vec<Option<String>>,
}

/// The content type of `logs` (Spark's `MediaType.APPLICATION_OCTET_STREAM`).
pub const OCTET_STREAM: &str = "application/octet-stream";

/// Spark's text when a log cannot be read for `logs` (status 503).
pub fn logs_unavailable(app_id: &str) -> Response {
    Response {
        status: 503,
        content_type: TEXT,
        body: format!("Event logs are not available for app: {app_id}."),
        download: None,
    }
}

/// `logs`: which attempts' logs Spark zips. Spark first checks the application
/// as its other resources do (an application listed only with attempt ids
/// passes when it has an attempt `1`), then takes the asked attempt, or every
/// attempt when none was asked.
pub(super) fn event_logs(catalog: &dyn Catalog, app: &str, attempt: Option<&str>) -> Response {
    // Unknown without an attempt, Spark has retried with attempt 1 and names that.
    let Some(attempts) = attempts_of(catalog, app) else {
        return not_found(no_such_app(app, attempt.or(Some("1"))));
    };
    let has = |wanted: Option<&str>| attempts.iter().any(|a| a.attempt_id.as_deref() == wanted);
    match attempt {
        Some(_) if !has(attempt) => return not_found(no_such_app(app, attempt)),
        None if !has(None) && !has(Some("1")) => return not_found(no_such_app(app, Some("1"))),
        _ => {}
    }
    let chosen: Vec<Option<String>> = attempts
        .iter()
        .filter(|a| attempt.is_none() || a.attempt_id.as_deref() == attempt)
        .map(|a| a.attempt_id.clone())
        .collect();
    let file_name = match attempt {
        Some(attempt) => format!("eventLogs-{app}-{attempt}.zip"),
        None => format!("eventLogs-{app}.zip"),
    };
    Response {
        status: 200,
        content_type: OCTET_STREAM,
        body: String::new(),
        download: Some(Download { file_name, app_id: app.to_owned(), attempts: chosen }),
    }
}
