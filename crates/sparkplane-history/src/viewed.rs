//! The index as one viewer sees it (issue #65, ADR 0090): every answer the
//! server gives about applications — the `/api/v1` list and each resource,
//! the `logs` zip, the list page with its search, counts and team choices,
//! each `/history/…` page, the report — is made from a [`Viewed`], so an
//! application the viewer may not see is not there at all: it answers what
//! an unknown one answers (404, never 403).
//!
//! Owns: which attempts a viewer sees (each record's shared access facts
//! asked of `sparkplane_access::decide` once per distinct facts a request
//! meets, not per record; the local user and platform admins see everything
//! without asking: `sparkplane_access::sees_everything`).
//! Must not: decide access itself (`sparkplane_access` does), recognise the
//! viewer (the door in front of the server does), or shape an answer.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::Arc;

use sparkplane_access::{AccessRules, Viewer, decide, sees_everything};
use sparkplane_eventlog::AppLog;

use crate::api::{AttemptInfo, AttemptSnapshot, Catalog};
use crate::index::{Entry, Index};
use crate::records::{AccessFacts, Record};
use sparkplane_appstatus::replay::AppDetail;

/// The index as `viewer` sees it under `rules`, for one request.
pub struct Viewed<'a> {
    index: &'a Index,
    rules: &'a AccessRules,
    viewer: &'a Viewer,
    /// Each distinct facts met so far, by address, and whether the viewer sees them (the
    /// facts are held, so their address is not reused by others while the request lasts).
    decided: RefCell<HashMap<usize, (Arc<AccessFacts>, bool)>>,
    /// The local user or a platform admin: every record seen without asking.
    everything: bool,
}

impl<'a> Viewed<'a> {
    pub fn new(index: &'a Index, rules: &'a AccessRules, viewer: &'a Viewer) -> Viewed<'a> {
        Viewed { index, rules, viewer, decided: RefCell::default(), everything: sees_everything(rules, viewer) }
    }

    /// The whole index (for `/metrics`' counts, which name no application).
    pub fn index(&self) -> &'a Index {
        self.index
    }

    fn everything(&self) -> bool {
        self.everything
    }

    /// Whether the viewer sees an application of these facts.
    fn sees(&self, facts: &Arc<AccessFacts>) -> bool {
        let mut decided = self.decided.borrow_mut();
        let (_, seen) = decided
            .entry(Arc::as_ptr(facts) as usize)
            .or_insert_with(|| (Arc::clone(facts), decide(self.rules, self.viewer, &facts.facts).visible()));
        *seen
    }

    fn sees_record(&self, record: &Record) -> bool {
        self.everything() || self.sees(record.facts())
    }

    /// Whether the viewer sees this attempt; false when it is not listed.
    fn sees_attempt(&self, app_id: &str, attempt_id: Option<&str>) -> bool {
        self.everything()
            || self.index.with_records(|records| {
                records.iter().any(|r| r.app_id() == app_id && r.attempt_id() == attempt_id && self.sees(r.facts()))
            })
    }

    /// Every listed log the viewer sees, in name order.
    pub fn entries(&self) -> Vec<Entry> {
        if self.everything() {
            return self.index.entries();
        }
        self.index.with_records(|records| records.iter().filter(|r| self.sees(r.facts())).map(Record::entry).collect())
    }

    /// [`Index::entry_of`], for an attempt the viewer sees.
    pub fn entry_of(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Entry> {
        self.sees_attempt(app_id, attempt_id).then(|| self.index.entry_of(app_id, attempt_id)).flatten()
    }

    /// The latest-started attempt the viewer sees of job `job` in `namespace`
    /// (its application name and the namespace it ran in): its application
    /// and attempt ids.
    pub fn latest_of_job(&self, namespace: &str, job: &str) -> Option<(String, Option<String>)> {
        self.index.with_records(|records| {
            records
                .iter()
                .filter(|r| r.facts().facts.namespace.as_deref() == Some(namespace))
                .filter(|r| r.view().name == job && self.sees_record(r))
                .max_by_key(|r| (r.view().start_ms, r.app_id().to_owned()))
                .map(|r| (r.app_id().to_owned(), r.attempt_id().map(str::to_owned)))
        })
    }

    /// [`Index::log_of`], for an attempt the viewer sees.
    pub fn log_of(&self, app_id: &str, attempt_id: Option<&str>) -> Option<AppLog> {
        self.sees_attempt(app_id, attempt_id).then(|| self.index.log_of(app_id, attempt_id)).flatten()
    }
}

impl Catalog for Viewed<'_> {
    fn attempts(&self) -> Vec<AttemptInfo> {
        self.index.with_records(|records| records.iter().filter(|r| self.sees_record(r)).map(Record::attempt).collect())
    }

    fn snapshot(&self) -> Arc<dyn AttemptSnapshot> {
        if self.everything() {
            return self.index.snapshot();
        }
        Arc::new(self.index.with_records(|records| records.snapshot_where(|r| self.sees(r.facts()))))
    }

    fn attempts_of(&self, app_id: &str) -> Vec<AttemptInfo> {
        self.index.with_records(|records| {
            records.iter().filter(|r| r.app_id() == app_id && self.sees_record(r)).map(Record::attempt).collect()
        })
    }

    fn detail(&self, app_id: &str, attempt_id: Option<&str>) -> Option<Arc<AppDetail>> {
        self.sees_attempt(app_id, attempt_id).then(|| self.index.detail(app_id, attempt_id)).flatten()
    }

    fn now_ms(&self) -> i64 {
        self.index.now_ms()
    }

    fn log_source(&self) -> Option<String> {
        self.index.log_source()
    }

    fn why_unreadable(&self, app_id: &str, attempt_id: Option<&str>) -> Option<String> {
        self.sees_attempt(app_id, attempt_id).then(|| self.index.why_unreadable(app_id, attempt_id)).flatten()
    }
}

#[cfg(test)]
mod tests {
    use sparkplane_access::Identity;
    use sparkplane_access::rules::TeamAccess;
    use sparkplane_eventlog::LogSource;

    use super::*;

    /// `app-0` … `app-5`, the even ones of `team-a`, the odd ones of `team-b`.
    fn two_teams() -> (tempfile::TempDir, Index) {
        let dir = tempfile::tempdir().expect("temp dir");
        for i in 0..6 {
            let team = if i % 2 == 0 { "team-a" } else { "team-b" };
            let log = format!(
                "{{\"Event\":\"SparkListenerApplicationStart\",\"App Name\":\"a\",\"App ID\":\"app-{i}\",\
                 \"Timestamp\":1700000000000,\"User\":\"u\"}}\n{{\"Event\":\"SparkListenerEnvironmentUpdate\",\
                 \"Spark Properties\":{{\"spark.kubernetes.driver.label.sparkplane.dev/team\":\"{team}\"}}}}\n"
            );
            std::fs::write(dir.path().join(format!("app-{i}")), log).expect("write");
        }
        let index = Index::new(LogSource::Local(dir.path().to_path_buf()), 1 << 20);
        index.refresh().expect("lists");
        (dir, index)
    }

    #[test]
    fn a_person_is_decided_once_per_distinct_facts_and_the_local_user_not_at_all() {
        let (_dir, index) = two_teams();
        let team_a =
            TeamAccess { team: "team-a".to_owned(), change: ["a-dev".to_owned()].into(), ..TeamAccess::default() };
        let rules = AccessRules { teams: vec![team_a], ..AccessRules::default() };
        let amy = Viewer::Person(Identity::new("amy", ["a-dev"]));
        let seen = Viewed::new(&index, &rules, &amy);
        let listed = seen.snapshot();
        let ids: Vec<&str> = (0..listed.len()).map(|at| listed.attempt(at).app_id).collect();
        assert_eq!(ids, ["app-0", "app-2", "app-4"]);
        assert_eq!(seen.decided.borrow().len(), 2, "six records, two distinct facts");
        assert!(seen.entry_of("app-1", None).is_none() && seen.log_of("app-1", None).is_none());
        assert!(seen.detail("app-1", None).is_none() && seen.attempts_of("app-1").is_empty());
        assert!(seen.entry_of("app-2", None).is_some() && seen.detail("app-2", None).is_some());

        let local = Viewer::Local;
        let everything = Viewed::new(&index, &rules, &local);
        assert_eq!((everything.snapshot().len(), everything.entries().len()), (6, 6));
        assert!(everything.decided.borrow().is_empty(), "the local user is never decided");
    }
}
