//! Who may ask and what they see: the gate in front of every answer the
//! door gives (the History Server's, a live UI's, a mounted surface's).
//!
//! Owns: how a request's viewer is found ([`Admit`], the door's sign-in or
//! the local user) beside the rules the access decision reads ([`Gate`]),
//! and which paths hold no application's data and so need no sign-in
//! ([`Gate::door`]: the readiness probe's and Prometheus' answers).
//! Must not: recognise a viewer itself (the door does) or decide access
//! (`sparkplane_access` does).

use std::sync::Arc;

use sparkplane_access::{AccessRules, Viewer};
use sparkplane_http::{Reply, Request};

/// The viewer of a request, or the reply to send instead (the door's 401, its sign-in routes).
pub type Admit = Arc<dyn Fn(&Request) -> Result<Viewer, Reply> + Send + Sync>;

/// Who sees what: the rules the access decision reads, and how each request's viewer is found.
#[derive(Clone)]
pub struct Gate {
    pub rules: AccessRules,
    pub admit: Admit,
}

impl Gate {
    /// The door's gate: `admit` for every request but `/api/v1/version` and
    /// `/metrics`, which hold no application's data (a readiness probe and
    /// Prometheus ask them without signing in) and answer as the local user.
    pub fn door(rules: AccessRules, admit: Admit) -> Gate {
        let admit: Admit = Arc::new(move |request: &Request| match request.path.as_str() {
            "/api/v1/version" | "/metrics" => Ok(Viewer::Local),
            _ => admit(request),
        });
        Gate { rules, admit }
    }

    /// Every request made by the local user, who sees everything (a loopback server without sign-in).
    pub fn local() -> Gate {
        Gate { rules: AccessRules::default(), admit: Arc::new(|_: &Request| Ok(Viewer::Local)) }
    }
}

#[cfg(test)]
mod tests {
    use sparkplane_http::{Method, Reply};

    use super::*;

    #[test]
    fn the_doors_gate_lets_only_the_probe_and_metrics_past_its_sign_in() {
        let refuse: Admit = Arc::new(|_: &Request| Err(Reply::text(401, "text/plain", "sign in\n")));
        let gate = Gate::door(AccessRules::default(), refuse);
        let asks = |path: &str| (gate.admit)(&Request::new(Method::Get, path)).map_err(|reply| reply.status);
        assert_eq!(asks("/api/v1/version"), Ok(Viewer::Local));
        assert_eq!(asks("/metrics"), Ok(Viewer::Local));
        for path in ["/api/v1/applications", "/api/v1/version/x", "/metrics/", "/", "/jobs/team-a/etl/", "/console"] {
            assert_eq!(asks(path), Err(401), "{path}");
        }
    }
}
