//! Who may ask and what they see: the gate in front of every answer the
//! door gives (the History Server's, a live UI's, a mounted surface's).
//!
//! Owns: how a request's viewer is found ([`Admit`], the door's sign-in or
//! the local user) beside the rules the access decision reads ([`Gate`]).
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
    /// Every request made by the local user, who sees everything (a loopback server without sign-in).
    pub fn local() -> Gate {
        Gate { rules: AccessRules::default(), admit: Arc::new(|_: &Request| Ok(Viewer::Local)) }
    }
}
