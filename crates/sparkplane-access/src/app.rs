//! What an application says about who it belongs to and who may see it,
//! read from its Spark properties as its event log records them: its team
//! label (`spark.kubernetes.driver.label.sparkplane.dev/team`), its
//! namespace (`spark.kubernetes.namespace`), the user that ran it, and
//! Spark's UI ACLs (`spark.ui.view.acls`, `spark.modify.acls`,
//! `spark.admin.acls`, each with its `.groups`: comma-separated, `*` for
//! everyone). Owns reading those properties; not the decision.

use std::collections::BTreeSet;

use sparkplane_api::labels;

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
/// The prefix of Spark's properties that label the driver pod.
pub const DRIVER_LABEL_PREFIX: &str = "spark.kubernetes.driver.label.";

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
    /// Its `sparkplane.dev/team` driver label.
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
    /// Reads the facts from an application's Spark properties and its user.
    pub fn from_properties<'a>(
        owner: Option<&str>,
        properties: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> AppFacts {
        let team_property = format!("{DRIVER_LABEL_PREFIX}{}", labels::TEAM);
        let mut facts = AppFacts { owner: owner.filter(|o| !o.is_empty()).map(str::to_owned), ..AppFacts::default() };
        for (key, value) in properties {
            let value = value.trim();
            match key {
                k if k == team_property && !value.is_empty() => facts.team = Some(value.to_owned()),
                NAMESPACE if !value.is_empty() => facts.namespace = Some(value.to_owned()),
                VIEW_ACLS => facts.view.users = list(value),
                VIEW_ACLS_GROUPS => facts.view.groups = list(value),
                MODIFY_ACLS => facts.modify.users = list(value),
                MODIFY_ACLS_GROUPS => facts.modify.groups = list(value),
                ADMIN_ACLS => facts.admin.users = list(value),
                ADMIN_ACLS_GROUPS => facts.admin.groups = list(value),
                _ => {}
            }
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
    use super::*;

    #[test]
    fn the_facts_come_from_the_properties_spark_records() {
        let properties = [
            ("spark.kubernetes.driver.label.sparkplane.dev/team", "data-eng"),
            ("spark.kubernetes.namespace", "team-a"),
            ("spark.ui.view.acls", " alice, ,bob "),
            ("spark.ui.view.acls.groups", "auditors"),
            ("spark.modify.acls", "carol"),
            ("spark.admin.acls.groups", "*"),
            ("spark.app.name", "ignored"),
        ];
        let facts = AppFacts::from_properties(Some("spark"), properties);
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
    fn an_empty_label_or_owner_is_no_fact() {
        let facts = AppFacts::from_properties(Some(""), [("spark.kubernetes.driver.label.sparkplane.dev/team", " ")]);
        assert_eq!(facts, AppFacts::default());
    }
}
