//! What an application says about who it belongs to and who may see it,
//! read from its Spark properties as its event log records them: its
//! namespace (`spark.kubernetes.namespace`, else the one a local run
//! records, `spark.sparkplane.namespace`), the user that ran it, and
//! Spark's UI ACLs (`spark.ui.view.acls`, `spark.modify.acls`,
//! `spark.admin.acls`, each with its `.groups`: comma-separated, `*` for
//! everyone), beside the team the caller says it is listed under. Owns
//! reading those properties; not the decision, and not which team an
//! application is (one rule, `sparkplane_eventlog::attribution`, decides the
//! team the pages show, the cost is charged to and access is decided by).

use std::collections::BTreeSet;

/// Spark's property naming the users who may view an application's UI.
pub const VIEW_ACLS: &str = "spark.ui.view.acls";
/// … the groups.
pub const VIEW_ACLS_GROUPS: &str = "spark.ui.view.acls.groups";
/// Spark's property naming the users who may change (kill) an application.
pub const MODIFY_ACLS: &str = "spark.modify.acls";
/// … the groups.
pub const MODIFY_ACLS_GROUPS: &str = "spark.modify.acls.groups";
/// Spark's property naming the users who may view and change an application.
pub const ADMIN_ACLS: &str = "spark.admin.acls";
/// … the groups.
pub const ADMIN_ACLS_GROUPS: &str = "spark.admin.acls.groups";
/// The Spark property of the namespace a Kubernetes application ran in.
pub const NAMESPACE: &str = "spark.kubernetes.namespace";
/// Where a local run (`sparkplane run`, which drops Kubernetes properties)
/// records the namespace of the job it ran; read when [`NAMESPACE`] is absent.
pub const LOCAL_NAMESPACE: &str = "spark.sparkplane.namespace";

/// Whether `key` is one of Spark's UI ACL properties [`AppFacts::from_properties`]
/// reads: what a source of running applications keeps of their configuration.
pub fn is_acl_property(key: &str) -> bool {
    [VIEW_ACLS, VIEW_ACLS_GROUPS, MODIFY_ACLS, MODIFY_ACLS_GROUPS, ADMIN_ACLS, ADMIN_ACLS_GROUPS].contains(&key)
}

/// A user list and a group list of one of Spark's ACLs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Acl {
    pub users: BTreeSet<String>,
    pub groups: BTreeSet<String>,
}

impl Acl {
    /// Whether the list names `user` or one of `groups`, or `*`.
    pub fn grants(&self, user: &str, groups: &BTreeSet<String>) -> bool {
        self.users.contains("*")
            || self.users.contains(user)
            || self.groups.contains("*")
            || groups.iter().any(|g| self.groups.contains(g))
    }
}

/// What an application says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppFacts {
    /// The team it is listed and charged under (the caller's, from the one
    /// attribution rule).
    pub team: Option<String>,
    /// The namespace it ran in.
    pub namespace: Option<String>,
    /// The user that ran it (`sparkUser`).
    pub owner: Option<String>,
    pub view: Acl,
    pub modify: Acl,
    pub admin: Acl,
}

impl AppFacts {
    /// Reads the facts from an application's Spark properties and its user,
    /// with the team it is listed under.
    pub fn from_properties<'a>(
        owner: Option<&str>,
        team: Option<&str>,
        properties: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> AppFacts {
        let blank = |v: &&str| v.trim().is_empty();
        let mut facts = AppFacts {
            owner: owner.filter(|o| !blank(o)).map(str::to_owned),
            team: team.filter(|t| !blank(t)).map(|t| t.trim().to_owned()),
            ..AppFacts::default()
        };
        let mut local_namespace = None;
        for (key, value) in properties {
            let value = value.trim();
            match key {
                NAMESPACE if !value.is_empty() => facts.namespace = Some(value.to_owned()),
                LOCAL_NAMESPACE if !value.is_empty() => local_namespace = Some(value.to_owned()),
                VIEW_ACLS => facts.view.users = list(value),
                VIEW_ACLS_GROUPS => facts.view.groups = list(value),
                MODIFY_ACLS => facts.modify.users = list(value),
                MODIFY_ACLS_GROUPS => facts.modify.groups = list(value),
                ADMIN_ACLS => facts.admin.users = list(value),
                ADMIN_ACLS_GROUPS => facts.admin.groups = list(value),
                _ => {}
            }
        }
        if facts.namespace.is_none() {
            facts.namespace = local_namespace;
        }
        facts
    }
}

/// A comma-separated list as Spark reads one: entries trimmed, empty ones dropped.
fn list(value: &str) -> BTreeSet<String> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {

    #[test]
    fn the_acl_properties_are_sparks_six_ui_acls_and_nothing_else() {
        let acls = ["spark.ui.view.acls", "spark.ui.view.acls.groups", "spark.modify.acls", "spark.modify.acls.groups"];
        for key in acls.into_iter().chain(["spark.admin.acls", "spark.admin.acls.groups"]) {
            assert!(is_acl_property(key), "{key}");
        }
        for key in
            ["spark.acls.enable", "spark.history.ui.admin.acls", "spark.ui.view.aclsx", "spark.kubernetes.namespace"]
        {
            assert!(!is_acl_property(key), "{key}");
        }
    }
    use super::*;

    #[test]
    fn the_facts_come_from_the_properties_spark_records() {
        let properties = [
            // The team is the caller's (the attribution rule), not read here again.
            ("spark.kubernetes.driver.label.sparkplane.dev/team", "other"),
            ("spark.kubernetes.namespace", "team-a"),
            ("spark.ui.view.acls", " alice, ,bob "),
            ("spark.ui.view.acls.groups", "auditors"),
            ("spark.modify.acls", "carol"),
            ("spark.admin.acls.groups", "*"),
            ("spark.app.name", "ignored"),
        ];
        let facts = AppFacts::from_properties(Some("spark"), Some("data-eng"), properties);
        assert_eq!(facts.team.as_deref(), Some("data-eng"));
        assert_eq!(facts.namespace.as_deref(), Some("team-a"));
        assert_eq!(facts.owner.as_deref(), Some("spark"));
        assert_eq!(facts.view.users, BTreeSet::from(["alice".to_owned(), "bob".to_owned()]));
        assert_eq!(facts.view.groups, BTreeSet::from(["auditors".to_owned()]));
        assert_eq!(facts.modify.users, BTreeSet::from(["carol".to_owned()]));
        assert!(facts.admin.grants("anyone", &BTreeSet::new()), "a `*` group list grants everyone");
        assert!(!facts.modify.grants("alice", &BTreeSet::new()));
    }

    #[test]
    fn a_local_runs_namespace_is_read_when_spark_names_none() {
        let local = [("spark.sparkplane.namespace", "team-a")];
        assert_eq!(AppFacts::from_properties(None, None, local).namespace.as_deref(), Some("team-a"));
        // Kubernetes' own wins, whichever comes first.
        let both = [("spark.sparkplane.namespace", "team-a"), ("spark.kubernetes.namespace", "team-b")];
        assert_eq!(AppFacts::from_properties(None, None, both).namespace.as_deref(), Some("team-b"));
    }

    #[test]
    fn an_empty_team_or_owner_is_no_fact() {
        let facts = AppFacts::from_properties(Some(""), Some(" "), [("spark.kubernetes.namespace", " ")]);
        assert_eq!(facts, AppFacts::default());
    }
}
