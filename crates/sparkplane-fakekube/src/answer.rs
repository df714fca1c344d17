//! What the fake answers a request with: a JSON body or text, with an HTTP
//! status, and the API server's `Status` object for failures. A leaf: the
//! store, admission and RBAC all answer through it.

use serde_json::{Value, json};

/// What an operation answers.
#[derive(Clone, Debug, PartialEq)]
pub enum Answer {
    /// A JSON body with an HTTP status.
    Json(u16, Value),
    /// A plain-text body (pod logs).
    Text(u16, String),
}

/// A Kubernetes `Status` failure.
pub fn status(code: u16, reason: &str, message: String, details: Value) -> Answer {
    Answer::Json(
        code,
        json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "details": details,
            "code": code,
        }),
    )
}
