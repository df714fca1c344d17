//! What the API reads applications from: one application attempt as the
//! listing knows it, owned ([`AttemptInfo`], also what the persisted index
//! stores) and borrowed ([`AttemptView`]), every attempt at one moment
//! ([`AttemptSnapshot`]), and the [`Catalog`] the index implements (the
//! attempts, one attempt's replayed detail, the time).
//!
//! Owns: those types and the catalog's defaults. Must not: shape an answer
//! (each resource's module does) or read a log (the catalog's implementer
//! does).

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use sparkplane_appstatus::replay::AppDetail;

/// One application attempt in the listing (also the record the persisted
/// index keeps of it, `persist::StoredEntry`, in its serde form).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttemptInfo {
    pub app_id: String,
    pub attempt_id: Option<String>,
    pub name: String,
    pub start_ms: i64,
    /// -1 while the application runs, as Spark writes it.
    pub end_ms: i64,
    pub last_updated_ms: i64,
    pub user: String,
    pub completed: bool,
    pub spark_version: String,
    /// The driver's exit code from the application's end event (Spark 4 on); `None` without one.
    #[serde(default)]
    pub exit_code: Option<i32>,
}

impl AttemptInfo {
    /// The attempt, borrowed.
    pub fn view(&self) -> AttemptView<'_> {
        AttemptView {
            app_id: &self.app_id,
            attempt_id: self.attempt_id.as_deref(),
            name: &self.name,
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            last_updated_ms: self.last_updated_ms,
            user: &self.user,
            completed: self.completed,
            spark_version: &self.spark_version,
            exit_code: self.exit_code,
        }
    }
}

/// One application attempt in the listing, borrowed from where it is kept
/// (what the application list is written from: [`AttemptSnapshot`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttemptView<'a> {
    pub app_id: &'a str,
    pub attempt_id: Option<&'a str>,
    pub name: &'a str,
    pub start_ms: i64,
    /// -1 while the application runs, as Spark writes it.
    pub end_ms: i64,
    pub last_updated_ms: i64,
    pub user: &'a str,
    pub completed: bool,
    pub spark_version: &'a str,
    pub exit_code: Option<i32>,
}

impl AttemptView<'_> {
    /// The attempt, owned.
    pub fn to_info(&self) -> AttemptInfo {
        AttemptInfo {
            app_id: self.app_id.to_owned(),
            attempt_id: self.attempt_id.map(str::to_owned),
            name: self.name.to_owned(),
            start_ms: self.start_ms,
            end_ms: self.end_ms,
            last_updated_ms: self.last_updated_ms,
            user: self.user.to_owned(),
            completed: self.completed,
            spark_version: self.spark_version.to_owned(),
            exit_code: self.exit_code,
        }
    }
}

/// Every application attempt at one moment, shared with whoever keeps them:
/// the application list reads it while it is sent, so a list of 100,000
/// applications does not copy them.
pub trait AttemptSnapshot: Send + Sync {
    /// How many attempts there are.
    fn len(&self) -> usize;
    /// The `at`th attempt (`at < len()`).
    fn attempt(&self, at: usize) -> AttemptView<'_>;
    /// True when there is none.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl AttemptSnapshot for Vec<AttemptInfo> {
    fn len(&self) -> usize {
        Vec::len(self)
    }

    fn attempt(&self, at: usize) -> AttemptView<'_> {
        self[at].view()
    }
}

/// Where the API reads applications from.
pub trait Catalog {
    /// Every application attempt known now.
    fn attempts(&self) -> Vec<AttemptInfo>;
    /// Every application attempt known now, shared (what the application
    /// list is written from). A catalog that keeps many answers this without
    /// copying them; by default, a copy of [`Catalog::attempts`].
    fn snapshot(&self) -> Arc<dyn AttemptSnapshot> {
        Arc::new(self.attempts())
    }
    /// The attempts of one application (a catalog of many applications
    /// answers this without copying the others).
    fn attempts_of(&self, app_id: &str) -> Vec<AttemptInfo> {
        self.attempts().into_iter().filter(|a| a.app_id == app_id).collect()
    }
    /// One attempt's detail, replayed (or cached) on demand; `None` when it cannot be read.
    fn detail(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Arc<AppDetail>>;
    /// The current time, epoch milliseconds (for running applications' end-date filters).
    fn now_ms(&self) -> i64;
    /// Why a listed attempt's [`Catalog::detail`] was `None` (its log deleted
    /// or unreadable since it was listed), for the 404's text; `None` when it was not listed.
    fn why_unreadable(&self, _app_id: &str, _attempt_id: Option<&str>) -> Option<String> {
        None
    }
    /// The log directory the attempts were read from, as a URI (`file:///…`, `s3a://…`): Spark 4.2's
    /// `logSourceName` and `logSourceFullPath` of each attempt; `None` leaves both out.
    fn log_source(&self) -> Option<String> {
        None
    }
}
