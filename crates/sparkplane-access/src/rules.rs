//! The rules a platform sets for who sees what: its Tenants' groups (a
//! person in any of a Tenant's groups sees that team's applications; its
//! admins and editors may also change them, its viewers only look), the
//! platform's admin groups (see and change everything), and Spark's own
//! History Server ACL settings (`spark.history.ui.acls.enable`,
//! `spark.history.ui.admin.acls`, `spark.history.ui.admin.acls.groups`).
//! Owns the rules' shape and how a Tenant becomes one; not the decision.

use std::collections::BTreeSet;

use sparkplane_api::tenant::Tenant;

/// One team's access, from its Tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TeamAccess {
    /// The team (`spec.team`), as its applications' `sparkplane.dev/team` label says.
    pub team: String,
    /// The team's namespace, for applications that carry no team label.
    pub namespace: String,
    /// Groups that may see and change the team's applications (the Tenant's admins and editors).
    pub change: BTreeSet<String>,
    /// Groups that may only see them (the Tenant's viewers).
    pub view: BTreeSet<String>,
}

impl TeamAccess {
    /// The access a Tenant gives its groups.
    pub fn from_tenant(tenant: &Tenant) -> TeamAccess {
        let groups = &tenant.spec.groups;
        TeamAccess {
            team: tenant.spec.team.clone(),
            namespace: tenant.namespace().to_owned(),
            change: groups.admins.iter().chain(&groups.editors).cloned().collect(),
            view: groups.viewers.iter().cloned().collect(),
        }
    }
}

/// Spark's History Server ACL settings, honoured as Spark's History Server
/// honours them: when `enabled`, an application's own ACLs
/// (`spark.ui.view.acls`, `spark.admin.acls`, their `.groups`, and its
/// owner) also grant it, and the `admin_*` lists grant every application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SparkAcls {
    /// `spark.history.ui.acls.enable`.
    pub enabled: bool,
    /// `spark.history.ui.admin.acls`: users who see every application.
    pub admin_users: BTreeSet<String>,
    /// `spark.history.ui.admin.acls.groups`.
    pub admin_groups: BTreeSet<String>,
}

/// Everything the decision reads besides the viewer and the application.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessRules {
    pub teams: Vec<TeamAccess>,
    /// Groups whose members see and change every application.
    pub admin_groups: BTreeSet<String>,
    pub spark: SparkAcls,
}

impl AccessRules {
    /// Rules from the platform's Tenants and admin groups.
    pub fn new<'a>(tenants: impl IntoIterator<Item = &'a Tenant>, admin_groups: BTreeSet<String>) -> AccessRules {
        AccessRules {
            teams: tenants.into_iter().map(TeamAccess::from_tenant).collect(),
            admin_groups,
            spark: SparkAcls::default(),
        }
    }

    /// The teams an application belongs to: the Tenant its team label names,
    /// else the Tenant whose namespace it ran in.
    pub fn teams_of<'r>(&'r self, team: Option<&str>, namespace: Option<&str>) -> Vec<&'r TeamAccess> {
        if let Some(team) = team {
            return self.teams.iter().filter(|t| t.team == team).collect();
        }
        match namespace {
            Some(namespace) => self.teams.iter().filter(|t| t.namespace == namespace).collect(),
            None => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use sparkplane_api::tenant::TenantGroups;

    use super::*;

    #[test]
    fn a_tenants_admins_and_editors_change_its_viewers_view() {
        let mut tenant = Tenant::default();
        tenant.metadata.name = "analytics".into();
        tenant.spec.team = "data-eng".into();
        tenant.spec.groups = TenantGroups {
            admins: vec!["de-leads".into()],
            editors: vec!["de".into()],
            viewers: vec!["finance".into()],
        };
        let team = TeamAccess::from_tenant(&tenant);
        assert_eq!(team.team, "data-eng");
        assert_eq!(team.namespace, "analytics", "the namespace defaults to the Tenant's name");
        assert_eq!(team.change, BTreeSet::from(["de".to_owned(), "de-leads".to_owned()]));
        assert_eq!(team.view, BTreeSet::from(["finance".to_owned()]));
        tenant.spec.namespace = Some("team-de".into());
        assert_eq!(TeamAccess::from_tenant(&tenant).namespace, "team-de");
    }
}
