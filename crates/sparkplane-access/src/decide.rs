//! The one access decision: what a viewer may do with an application.
//!
//! A person sees an application when any of these holds, and may change it
//! (kill it from the live UI) when the grant says so:
//! - they are in one of the platform's admin groups: view and change;
//! - the application belongs to a team (its team label, else its namespace's
//!   Tenant) and they are in that Tenant's admins or editors (view and change)
//!   or viewers (view);
//! - Spark's History Server ACLs are on and the application's own ACLs name
//!   them, as Spark's History Server reads them: its owner, `spark.admin.acls`
//!   and the History Server's admin ACLs grant view and change,
//!   `spark.ui.view.acls` view, `spark.modify.acls` change (with view).
//!
//! Nothing else grants: an application of no known team is seen by admins
//! only (and by its ACLs when they are on). Grants add up; none takes one
//! away (ADR 0090). The local user of a loopback server without sign-in
//! sees and changes everything it serves.

use crate::app::AppFacts;
use crate::rules::AccessRules;
use crate::viewer::{Identity, Viewer};

/// What a viewer may do with one application, least first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Access {
    /// Not even that it exists: answered as if it did not (404).
    Hidden,
    /// See every page, answer and log of it.
    View,
    /// See it and change it (kill a job or stage from its live UI).
    Modify,
}

impl Access {
    /// Whether the viewer may see it at all.
    pub fn visible(self) -> bool {
        self >= Access::View
    }
}

/// What `viewer` may do with the application `app` under `rules`.
pub fn decide(rules: &AccessRules, viewer: &Viewer, app: &AppFacts) -> Access {
    match viewer {
        Viewer::Local => Access::Modify,
        Viewer::Person(person) => [platform(rules, person), team(rules, person, app), spark(rules, person, app)]
            .into_iter()
            .max()
            .unwrap_or(Access::Hidden),
    }
}

/// Whether `viewer` sees every application whatever its facts (the local
/// user, a platform admin): what `decide` answers for them without reading an
/// application, so a surface may skip asking per application.
pub fn sees_everything(rules: &AccessRules, viewer: &Viewer) -> bool {
    match viewer {
        Viewer::Local => true,
        Viewer::Person(person) => platform(rules, person).visible(),
    }
}

fn platform(rules: &AccessRules, person: &Identity) -> Access {
    if person.in_any(&rules.admin_groups) { Access::Modify } else { Access::Hidden }
}

fn team(rules: &AccessRules, person: &Identity, app: &AppFacts) -> Access {
    let mut access = Access::Hidden;
    for team in rules.teams_of(app.team.as_deref(), app.namespace.as_deref()) {
        if person.in_any(&team.change) {
            return Access::Modify;
        }
        if person.in_any(&team.view) {
            access = Access::View;
        }
    }
    access
}

fn spark(rules: &AccessRules, person: &Identity, app: &AppFacts) -> Access {
    let acls = &rules.spark;
    if !acls.enabled {
        return Access::Hidden;
    }
    let (user, groups) = (person.user.as_str(), &person.groups);
    let history_admin = acls.admin_users.contains(user)
        || acls.admin_users.contains("*")
        || acls.admin_groups.contains("*")
        || person.in_any(&acls.admin_groups);
    let changes = history_admin
        || app.owner.as_deref() == Some(user)
        || app.admin.grants(user, groups)
        || app.modify.grants(user, groups);
    if changes {
        Access::Modify
    } else if app.view.grants(user, groups) {
        Access::View
    } else {
        Access::Hidden
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;
    use crate::rules::{SparkAcls, TeamAccess};

    fn set(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|s| (*s).to_owned()).collect()
    }

    fn rules(spark_acls: bool) -> AccessRules {
        AccessRules {
            teams: vec![
                TeamAccess {
                    team: "a".into(),
                    namespace: "team-a".into(),
                    change: set(&["a-dev"]),
                    view: set(&["a-read"]),
                },
                TeamAccess { team: "b".into(), namespace: "team-b".into(), change: set(&["b-dev"]), view: set(&[]) },
            ],
            admin_groups: set(&["platform"]),
            spark: SparkAcls { enabled: spark_acls, admin_users: set(&["root"]), admin_groups: set(&["sre"]) },
        }
    }

    fn app(team: Option<&str>, namespace: Option<&str>) -> AppFacts {
        AppFacts {
            team: team.map(Into::into),
            namespace: namespace.map(Into::into),
            owner: Some("ann".into()),
            ..AppFacts::default()
        }
    }

    #[test]
    fn only_the_local_user_and_platform_admins_see_everything_and_decide_agrees() {
        let apps = [app(Some("a"), None), app(None, Some("team-b")), app(None, None), shared_with(&["*"], &[], &[])];
        for (viewer, everything) in [
            (Viewer::Local, true),
            (Viewer::Person(Identity::new("pat", ["platform"])), true),
            (Viewer::Person(Identity::new("ann", ["a-dev"])), false),
            (Viewer::Person(Identity::new("sam", ["sre"])), false),
            (Viewer::Person(Identity::new("nobody", Vec::<String>::new())), false),
        ] {
            for spark_acls in [false, true] {
                let rules = rules(spark_acls);
                assert_eq!(sees_everything(&rules, &viewer), everything, "{viewer:?}");
                if everything {
                    assert!(apps.iter().all(|a| decide(&rules, &viewer, a).visible()), "{viewer:?}");
                }
            }
        }
    }

    fn shared_with(view_users: &[&str], view_groups: &[&str], modify_users: &[&str]) -> AppFacts {
        let mut facts = app(Some("b"), None);
        facts.view.users = set(view_users);
        facts.view.groups = set(view_groups);
        facts.modify.users = set(modify_users);
        facts
    }

    #[test]
    fn the_decision_table() {
        use Access::*;
        let person = |user: &str, groups: &[&str]| Viewer::Person(Identity::new(user, groups.iter().copied()));
        let cases: Vec<(&str, bool, Viewer, AppFacts, Access)> = vec![
            ("the local user sees all", false, Viewer::Local, app(None, None), Modify),
            ("a team's developer changes its app", false, person("u", &["a-dev"]), app(Some("a"), None), Modify),
            ("a team's reader only views", false, person("u", &["a-read"]), app(Some("a"), None), View),
            ("another team's app is hidden", false, person("u", &["a-dev"]), app(Some("b"), None), Hidden),
            ("two teams: both seen", false, person("u", &["a-dev", "b-dev"]), app(Some("b"), None), Modify),
            ("no groups: nothing", false, person("u", &[]), app(Some("a"), None), Hidden),
            ("no label: the namespace's tenant", false, person("u", &["a-read"]), app(None, Some("team-a")), View),
            (
                "the label wins over the namespace",
                false,
                person("u", &["a-dev"]),
                app(Some("b"), Some("team-a")),
                Hidden,
            ),
            ("an unknown team is hidden", false, person("u", &["a-dev"]), app(Some("zz"), None), Hidden),
            ("no team: admins only", false, person("u", &["a-dev"]), app(None, None), Hidden),
            ("a platform admin changes any app", false, person("u", &["platform"]), app(None, None), Modify),
            ("ACLs off: the owner gets nothing from them", false, person("ann", &[]), app(Some("b"), None), Hidden),
            ("ACLs off: view ACLs grant nothing", false, person("v", &[]), shared_with(&["v"], &[], &[]), Hidden),
            ("ACLs on: the owner", true, person("ann", &[]), app(Some("b"), None), Modify),
            ("ACLs on: a user in the view ACL", true, person("v", &[]), shared_with(&["v"], &[], &[]), View),
            (
                "ACLs on: a group in the view ACL",
                true,
                person("v", &["audit"]),
                shared_with(&[], &["audit"], &[]),
                View,
            ),
            ("ACLs on: `*` views", true, person("anyone", &[]), shared_with(&["*"], &[], &[]), View),
            ("ACLs on: the modify ACL", true, person("m", &[]), shared_with(&[], &[], &["m"]), Modify),
            ("ACLs on: a History Server admin user", true, person("root", &[]), app(None, None), Modify),
            ("ACLs on: a History Server admin group", true, person("x", &["sre"]), app(None, None), Modify),
            ("ACLs off: History Server admins are nobody", false, person("root", &["sre"]), app(None, None), Hidden),
            ("ACLs on: not named, not seen", true, person("w", &["a-read"]), shared_with(&["v"], &[], &[]), Hidden),
            ("ACLs add, never take away", true, person("u", &["b-dev"]), shared_with(&["v"], &[], &[]), Modify),
        ];
        for (case, spark_acls, viewer, facts, want) in cases {
            assert_eq!(decide(&rules(spark_acls), &viewer, &facts), want, "{case}");
        }
    }

    #[test]
    fn only_view_and_modify_are_visible() {
        assert!(!Access::Hidden.visible());
        assert!(Access::View.visible() && Access::Modify.visible());
    }
}
