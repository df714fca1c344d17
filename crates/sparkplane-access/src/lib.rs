//! Who may see and change which Spark application (issue #65): the one
//! access decision every surface a person opens asks — the History Server's
//! list, search, counts, pages, REST answers and exports, the console, the
//! proxy to a running driver's UI, archived logs.
//!
//! Owns: the viewer a request is made by ([`Viewer`]: the local user of a
//! loopback server without sign-in, or a signed-in person with groups), the
//! rules a platform sets ([`AccessRules`]: its Tenants' groups, its admin
//! groups, Spark's History Server ACL settings), what an application says
//! about itself ([`AppFacts`], read from its Spark properties), and the
//! decision ([`decide`]): hidden, view, or view and modify.
//! Must not: verify a token, read a header, know a URL or answer a request
//! — a hidden application's answer (404, never 403) is the caller's to give,
//! from [`Access::Hidden`].

pub mod app;
pub mod decide;
pub mod rules;
pub mod viewer;

pub use app::AppFacts;
pub use decide::{Access, decide, sees_everything};
pub use rules::{AccessRules, SparkAcls};
pub use viewer::{Identity, Viewer};
