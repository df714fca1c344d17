//! What can go wrong talking to a cluster, sorted by who must act: the
//! cluster or network (unreachable, refused, failing), or the user's input
//! (an object the API server rejects, an unknown context).
//!
//! Owns: turning kube-rs errors into these categories with the server URL
//! and the API server's own words. Must not: print anything, or carry a
//! request or response body (which could hold a secret).

use std::fmt;

/// An operation on the cluster, for messages: `create Pod data-eng/trips-driver`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Operation {
    /// The verb: `create`, `apply`, `get`, `list`, `watch`, `delete`, `log`.
    pub verb: &'static str,
    /// The kind.
    pub kind: String,
    /// `namespace/name`, or the namespace alone for lists.
    pub target: String,
}

impl Operation {
    /// An operation on `kind` at `target`.
    pub fn new(verb: &'static str, kind: impl Into<String>, target: impl Into<String>) -> Operation {
        Operation { verb, kind: kind.into(), target: target.into() }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.verb, self.kind, self.target)
    }
}

/// A failure talking to the Kubernetes API.
#[derive(Debug, thiserror::Error)]
pub enum KubeError {
    /// No kubeconfig and no in-cluster service account, or one that cannot be read.
    #[error("no usable Kubernetes configuration: {detail}")]
    NoConfig {
        /// What kube-rs reported.
        detail: String,
    },
    /// `--context` names a context the kubeconfig does not have.
    #[error("the kubeconfig has no context `{context}`")]
    UnknownContext {
        /// The context asked for.
        context: String,
    },
    /// The API server could not be reached (DNS, connection refused, TLS, timeout).
    #[error("cannot reach the Kubernetes API at {server} ({operation}): {detail}")]
    Unreachable {
        /// The server URL.
        server: String,
        /// What was being done.
        operation: Operation,
        /// The underlying error chain.
        detail: String,
    },
    /// 401 or 403: the API server refused our identity or its permissions.
    #[error("the Kubernetes API refused to {operation} ({code}): {message}")]
    Refused {
        /// What was being done.
        operation: Operation,
        /// 401 or 403.
        code: u16,
        /// The API server's message (names the identity, verb and resource).
        message: String,
    },
    /// 422 (or 400): the API server rejected an object as invalid.
    #[error("the Kubernetes API rejected {operation}: {message}")]
    Invalid {
        /// What was being done.
        operation: Operation,
        /// The API server's message.
        message: String,
        /// The offending fields, as the API server names them.
        fields: Vec<String>,
    },
    /// 404 on something that must exist.
    #[error("not found: {operation}: {message}")]
    NotFound {
        /// What was being done.
        operation: Operation,
        /// The API server's message.
        message: String,
    },
    /// Any other answer: 409 where it cannot be resolved, 5xx, an unreadable response.
    #[error("the Kubernetes API at {server} failed to {operation} ({code}): {message}")]
    Server {
        /// The server URL.
        server: String,
        /// What was being done.
        operation: Operation,
        /// HTTP status (0 when there was no status, e.g. an unreadable body).
        code: u16,
        /// The API server's message.
        message: String,
    },
}

impl KubeError {
    /// Classifies a kube-rs error raised while doing `operation` against `server`.
    pub fn from_kube(error: kube::Error, operation: Operation, server: &str) -> KubeError {
        match error {
            kube::Error::Api(status) => {
                let message = status.message.clone();
                match status.code {
                    401 | 403 => KubeError::Refused { operation, code: status.code, message },
                    400 | 422 => {
                        let fields = status
                            .details
                            .as_ref()
                            .map(|d| d.causes.iter().map(|c| c.field.clone()).filter(|f| !f.is_empty()).collect())
                            .unwrap_or_default();
                        KubeError::Invalid { operation, message, fields }
                    }
                    404 => KubeError::NotFound { operation, message },
                    code => KubeError::Server { server: server.to_owned(), operation, code, message },
                }
            }
            kube::Error::HyperError(_) | kube::Error::Service(_) | kube::Error::ReadEvents(_) => {
                KubeError::Unreachable { server: server.to_owned(), operation, detail: chain(&error) }
            }
            other => KubeError::Server { server: server.to_owned(), operation, code: 0, message: chain(&other) },
        }
    }

    /// How it ends a command: `Unreachable` when the cluster or network must
    /// be fixed ([`KubeError::is_infrastructure`]), `Invalid` when the input must.
    pub fn category(&self) -> sparkplane_category::Category {
        if self.is_infrastructure() {
            sparkplane_category::Category::Unreachable
        } else {
            sparkplane_category::Category::Invalid
        }
    }

    /// Whether the cluster or network must be fixed rather than the input.
    pub fn is_infrastructure(&self) -> bool {
        matches!(
            self,
            KubeError::NoConfig { .. }
                | KubeError::Unreachable { .. }
                | KubeError::Refused { .. }
                | KubeError::Server { .. }
        )
    }

    /// The error's stable code, as diagnostics carry it (`kube-unreachable`, …).
    pub fn code(&self) -> &'static str {
        match self {
            KubeError::NoConfig { .. } => "kube-config",
            KubeError::UnknownContext { .. } => "kube-context",
            KubeError::Unreachable { .. } => "kube-unreachable",
            KubeError::Refused { .. } => "kube-refused",
            KubeError::Invalid { .. } => "kube-invalid",
            KubeError::NotFound { .. } => "kube-not-found",
            KubeError::Server { .. } => "kube-server",
        }
    }

    /// The fields at fault, as a diagnostic's path (the API server's names for an invalid object; else empty).
    pub fn fields(&self) -> String {
        match self {
            KubeError::Invalid { fields, .. } => fields.join(", "),
            _ => String::new(),
        }
    }

    /// How to fix it, in one sentence.
    pub fn help(&self) -> String {
        match self {
            KubeError::NoConfig { .. } => "set KUBECONFIG (or create ~/.kube/config), or run inside a pod with a \
                                           service account; `kubectl config view` shows what kubectl sees"
                .into(),
            KubeError::UnknownContext { .. } => "`kubectl config get-contexts` lists the contexts".into(),
            KubeError::Unreachable { server, .. } => format!(
                "check that {server} is the right address (`kubectl config view --minify`), that the cluster is \
                 up, and that DNS, VPN, proxy and TLS certificates allow this machine to reach it"
            ),
            KubeError::Refused { code: 401, .. } => {
                "the credentials in the kubeconfig were not accepted: log in again or refresh the token".into()
            }
            KubeError::Refused { .. } => {
                "ask a cluster admin to grant this identity the verb on the resource, or use a context whose \
                 identity has it (`kubectl auth can-i`)"
                    .into()
            }
            KubeError::Invalid { fields, .. } if !fields.is_empty() => {
                format!("fix {} in the job; `sparkplane render` shows the object as sent", fields.join(", "))
            }
            KubeError::Invalid { .. } => "fix the job; `sparkplane render` shows the objects as sent".into(),
            KubeError::NotFound { .. } => {
                "check the name and namespace (`sparkplane list -A` shows what exists)".into()
            }
            KubeError::Server { .. } => {
                "the API server failed; retry, and check the control plane's health if it persists".into()
            }
        }
    }
}

/// Classifies a watch failure: the API server's own answer (a 5xx, 403, …)
/// as [`KubeError::from_kube`] does, anything else as unreachable.
pub fn from_watcher(error: kube::runtime::watcher::Error, operation: Operation, server: &str) -> KubeError {
    use kube::runtime::watcher::Error as W;
    match error {
        W::InitialListFailed(e) | W::WatchStartFailed(e) | W::WatchFailed(e) => {
            KubeError::from_kube(e, operation, server)
        }
        W::WatchError(status) => KubeError::from_kube(kube::Error::Api(status), operation, server),
        other => KubeError::Unreachable { server: server.to_owned(), operation, detail: chain(&other) },
    }
}

/// An error and its sources on one line.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let next = cause.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::{KubeError, Operation};

    #[test]
    fn each_error_has_its_code_and_an_invalid_object_names_its_fields() {
        let invalid = KubeError::Invalid {
            operation: Operation::new("create", "SparkJob", "data/etl"),
            message: "bad".into(),
            fields: vec!["spec.image".into(), "metadata.name".into()],
        };
        assert_eq!((invalid.code(), invalid.fields().as_str()), ("kube-invalid", "spec.image, metadata.name"));
        let none = KubeError::NoConfig { detail: "no kubeconfig".into() };
        assert_eq!((none.code(), none.fields().as_str()), ("kube-config", ""));
        let gone = KubeError::NotFound { operation: Operation::new("get", "Pod", "data/p"), message: "gone".into() };
        assert_eq!(gone.code(), "kube-not-found");
    }
}
