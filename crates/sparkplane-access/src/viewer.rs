//! Who a request is made by. Owns the viewer's shape only; how a person is
//! recognised (OpenID Connect, a trusted proxy's headers) is the sign-in's.

use std::collections::BTreeSet;

/// A signed-in person: the user name the identity provider gives and the
/// groups it lists for them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub user: String,
    pub groups: BTreeSet<String>,
}

impl Identity {
    /// A person with these groups.
    pub fn new<I, S>(user: &str, groups: I) -> Identity
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Identity { user: user.to_owned(), groups: groups.into_iter().map(Into::into).collect() }
    }

    /// Whether any of the person's groups is in `groups`.
    pub fn in_any<'a>(&self, groups: impl IntoIterator<Item = &'a String>) -> bool {
        groups.into_iter().any(|g| self.groups.contains(g))
    }
}

/// Who a request is made by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Viewer {
    /// The one user of a server bound to loopback with no sign-in configured:
    /// the person at the machine, who sees everything it serves.
    Local,
    /// A signed-in person.
    Person(Identity),
}
