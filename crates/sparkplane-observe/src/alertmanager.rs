//! On-call routing: the Alertmanager configuration that sends each team's
//! alerts to the receivers its Tenant file declares.
//!
//! Owns: the routing tree (platform default route; one route per team,
//! matched on the `team` label every job alert carries; below it one route
//! per severity), grouping (by alert and application), the inhibition rules
//! (a critical alert for an application silences its warnings; an exporter
//! that is down or stale silences the alerts computed from its metrics), and
//! the mapping of receivers to Alertmanager's configs with secrets by file,
//! and the same routing as the Prometheus Operator's `AlertmanagerConfig`
//! resources, one per tenant.
//! Pure: tenants in, a JSON value out ([`configuration`] adds what refuses
//! a configuration and what a reader is warned of); loading tenants and
//! checking them is `sparkplane_policy::tenant`'s.
//!
//! Must not: put a secret value in the configuration. A Secret reference
//! becomes the file the Prometheus Operator mounts it at
//! (`/etc/alertmanager/secrets/<name>/<key>`, listed in the Alertmanager's
//! `spec.secrets`).

use serde_json::{Map, Value, json};
use sparkplane_api::tenant::{AlertReceiver, SecretRef, Tenant};
use sparkplane_documents::{Diagnostic, Diagnostics};

use crate::rules::{Rule, RuleGroup};

/// Where the Prometheus Operator mounts a Secret listed in an Alertmanager's `spec.secrets`.
pub const SECRETS_DIR: &str = "/etc/alertmanager/secrets";

/// Labels alerts are grouped by: one notification per alert and application.
pub const GROUP_BY: [&str; 4] = ["alertname", "team", "namespace", "sparkjob"];

/// Rule groups whose alerts are computed from the exporter's metrics, and so
/// are silenced while the exporter is down or stale.
pub const EXPORTER_FED_GROUPS: [&str; 2] = ["sparkplane-jobs", "sparkplane-dependencies"];

/// Alerts that say the exporter's numbers cannot be trusted.
pub const EXPORTER_HEALTH_ALERTS: [&str; 3] =
    ["SparkplaneExporterDown", "SparkplaneExporterScanStale", "SparkplaneHistoryUnreadable"];

/// A receiver with no destination: what a team does not want sent (info alerts without receivers).
pub const NULL_RECEIVER: &str = "null";

/// The platform receiver's name unless told otherwise.
pub const PLATFORM_RECEIVER: &str = "platform";

/// The platform's own receiver: what gets alerts no team route takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlatformRoute {
    /// The receiver's name (`platform`).
    pub receiver: String,
    /// A webhook for the platform team's on-call, if any; without one the
    /// receiver is empty (Alertmanager drops what reaches it).
    pub webhook: Option<String>,
}

impl Default for PlatformRoute {
    fn default() -> Self {
        PlatformRoute { receiver: PLATFORM_RECEIVER.into(), webhook: None }
    }
}

/// The configuration and what a reader should know about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Routing {
    /// `alertmanager.yml` as a value.
    pub config: Value,
    /// Teams whose alerts go to the platform route (no receivers declared).
    pub unrouted_teams: Vec<String>,
    /// Teams that declare receivers in more than one tenant (only the first
    /// tenant's, by name, are used): an error for the caller to report.
    pub conflicts: Vec<String>,
}

/// The receiver name a team's receiver gets in the shared configuration:
/// `<team>/<name>`. A `/` is in neither a team (a label value) nor a receiver
/// name (a DNS label), so two teams' receivers never get the same name.
pub fn receiver_name(team: &str, receiver: &str) -> String {
    format!("{team}/{receiver}")
}

fn secret_file(r: &SecretRef) -> String {
    match (&r.secret, &r.file) {
        (_, Some(file)) => file.clone(),
        (Some(key), None) => format!("{SECRETS_DIR}/{}/{}", key.name, key.key),
        // The tenant loader refuses a reference with neither.
        (None, None) => String::new(),
    }
}

fn receiver_config(name: String, receiver: &AlertReceiver) -> Value {
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    if let Some(slack) = &receiver.slack {
        out.insert(
            "slack_configs".into(),
            json!([{ "api_url_file": secret_file(&slack.api_url), "channel": slack.channel, "send_resolved": true }]),
        );
    }
    if let Some(pd) = &receiver.pagerduty {
        out.insert("pagerduty_configs".into(), json!([{ "routing_key_file": secret_file(&pd.routing_key) }]));
    }
    if let Some(og) = &receiver.opsgenie {
        out.insert("opsgenie_configs".into(), json!([{ "api_key_file": secret_file(&og.api_key) }]));
    }
    if let Some(email) = &receiver.email {
        out.insert("email_configs".into(), json!([{ "to": email.to, "send_resolved": true }]));
    }
    if let Some(hook) = &receiver.webhook {
        let mut config = json!({ "url": hook.url, "send_resolved": true });
        if let Some(token) = &hook.bearer_token {
            config["http_config"] =
                json!({ "authorization": { "type": "Bearer", "credentials_file": secret_file(token) } });
        }
        out.insert("webhook_configs".into(), json!([config]));
    }
    Value::Object(out)
}

/// Names of the alerts the exporter's health silences: every alert of [`EXPORTER_FED_GROUPS`].
pub fn exporter_fed_alerts(groups: &[RuleGroup]) -> Vec<String> {
    let mut names: Vec<String> = groups
        .iter()
        .filter(|g| EXPORTER_FED_GROUPS.contains(&g.name.as_str()))
        .flat_map(|g| &g.rules)
        .filter_map(|r| match r {
            Rule::Alert(a) => Some(a.name.clone()),
            Rule::Record(_) => None,
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

/// The Alertmanager configuration for `tenants` (sorted by team, so the
/// output does not depend on file order), with `smtp` as the email relay
/// (`host:port`, `from`) when a receiver sends email.
pub fn routing(
    tenants: &[Tenant],
    platform: &PlatformRoute,
    groups: &[RuleGroup],
    smtp: Option<(&str, &str)>,
) -> Routing {
    let mut tenants: Vec<&Tenant> = tenants.iter().collect();
    tenants.sort_by(|a, b| a.spec.team.cmp(&b.spec.team).then(a.metadata.name.cmp(&b.metadata.name)));
    let mut receivers = vec![match &platform.webhook {
        Some(url) => json!({ "name": platform.receiver, "webhook_configs": [{ "url": url, "send_resolved": true }] }),
        None => json!({ "name": platform.receiver }),
    }];
    let mut routes = Vec::new();
    let mut unrouted = Vec::new();
    let mut needs_null = false;
    let mut routed = std::collections::BTreeMap::new();
    let mut conflicts = Vec::new();
    for tenant in tenants {
        let team = &tenant.spec.team;
        let alerting = tenant.spec.alerting.as_ref().filter(|a| !a.receivers.is_empty());
        let Some(alerting) = alerting else {
            unrouted.push(team.clone());
            continue;
        };
        if let Some(first) = routed.insert(team.clone(), tenant.metadata.name.clone()) {
            conflicts.push(format!(
                "team `{team}` declares alert receivers in tenants `{first}` and `{}`; declare them in one",
                tenant.metadata.name
            ));
            routed.insert(team.clone(), first);
            continue;
        }
        for r in &alerting.receivers {
            receivers.push(receiver_config(receiver_name(team, &r.name), r));
        }
        let mut by_severity = Vec::new();
        for (severity, names) in
            [("critical", &alerting.critical), ("warning", &alerting.warning), ("info", &alerting.info)]
        {
            // Each receiver of a severity gets it: every route but the last continues.
            for (i, name) in names.iter().enumerate() {
                let mut route = json!({
                    "receiver": receiver_name(team, name),
                    "matchers": [format!("severity=\"{severity}\"")],
                });
                if i + 1 < names.len() {
                    route["continue"] = json!(true);
                }
                by_severity.push(route);
            }
        }
        if alerting.info.is_empty() {
            by_severity.push(json!({ "receiver": NULL_RECEIVER, "matchers": ["severity=\"info\""] }));
            needs_null = true;
        }
        // What no severity route takes (a severity without receivers, an
        // alert without a severity) stays with the team: its first receiver.
        routes.push(json!({
            "receiver": receiver_name(team, &alerting.receivers[0].name),
            "matchers": [format!("team=\"{team}\"")],
            "routes": by_severity,
        }));
    }
    if needs_null {
        receivers.push(json!({ "name": NULL_RECEIVER }));
    }
    let exporter_fed = exporter_fed_alerts(groups);
    let inhibit = json!([
        {
            // Only alerts about one application: without a sparkjob label
            // "equal" would match every other alert that lacks it too.
            "source_matchers": ["severity=\"critical\"", "sparkjob=~\".+\""],
            "target_matchers": ["severity=\"warning\""],
            "equal": ["team", "namespace", "sparkjob"],
        },
        {
            "source_matchers": [format!("alertname=~\"{}\"", EXPORTER_HEALTH_ALERTS.join("|"))],
            "target_matchers": [format!("alertname=~\"{}\"", exporter_fed.join("|"))],
        },
    ]);
    let mut config = json!({
        "route": {
            "receiver": platform.receiver,
            "group_by": GROUP_BY,
            "group_wait": "30s",
            "group_interval": "5m",
            "repeat_interval": "4h",
            "routes": routes,
        },
        "inhibit_rules": inhibit,
        "receivers": receivers,
    });
    if let Some((smarthost, from)) = smtp {
        config["global"] = json!({ "smtp_smarthost": smarthost, "smtp_from": from });
    }
    Routing { config, unrouted_teams: unrouted, conflicts }
}

/// What `observe alertmanager` is asked for besides the tenants.
#[derive(Clone, Debug, Default)]
pub struct Request<'a> {
    /// The platform's receiver.
    pub platform: PlatformRoute,
    /// The email relay (`host:port`) and sender, for email receivers.
    pub smtp: Option<(&'a str, &'a str)>,
    /// `AlertmanagerConfig` resources ([`alertmanager_configs`]) instead of `alertmanager.yml` ([`routing`]).
    pub resources: bool,
}

/// The routing of the tenants' alerts, ready to print.
#[derive(Clone, Debug, PartialEq)]
pub struct Configuration {
    /// The JSON answer: `alertmanager.yml` as a value, or a `List` of the resources.
    pub value: Value,
    /// The YAML documents (the configuration, or one per resource).
    pub documents: Vec<Value>,
    /// Teams whose alerts go to the platform route, as warnings.
    pub warnings: Diagnostics,
}

/// The routing `request` asks for over `tenants`, against the built-in
/// alerts `groups`: refused when a receiver names a file (resources read
/// Secrets only), when an email receiver has no relay, or when a team
/// declares receivers in two tenants.
pub fn configuration(
    tenants: &[Tenant],
    groups: &[RuleGroup],
    request: &Request<'_>,
) -> Result<Configuration, Diagnostics> {
    if request.resources {
        let (objects, unrouted) = alertmanager_configs(tenants).map_err(|errors| {
            let help = "the Prometheus Operator reads receivers' credentials from Secrets in the tenant's namespace";
            Diagnostics(
                errors.into_iter().map(|e| Diagnostic::error("secret-file-ref", "", e).with_help(help)).collect(),
            )
        })?;
        let value = json!({ "apiVersion": "v1", "kind": "List", "items": objects });
        return Ok(Configuration { value, documents: objects, warnings: unrouted_warnings(&unrouted) });
    }
    let emails =
        tenants.iter().filter_map(|t| t.spec.alerting.as_ref()).flat_map(|a| &a.receivers).any(|r| r.email.is_some());
    if emails && request.smtp.is_none() {
        return Err(Diagnostic::error("no-smtp", "", "a tenant has an email receiver but no SMTP relay is given")
            .with_help("pass --smtp-smarthost HOST:PORT and --smtp-from ADDRESS")
            .into());
    }
    let routing = routing(tenants, &request.platform, groups, request.smtp);
    if !routing.conflicts.is_empty() {
        let help = "keep one tenant's spec.alerting for the team and remove the other's";
        return Err(Diagnostics(
            routing
                .conflicts
                .iter()
                .map(|c| Diagnostic::error("duplicate-team-routing", "spec.alerting", c.clone()).with_help(help))
                .collect(),
        ));
    }
    let warnings = unrouted_warnings(&routing.unrouted_teams);
    Ok(Configuration { value: routing.config.clone(), documents: vec![routing.config], warnings })
}

/// A warning per team without receivers: its alerts go to the platform route.
fn unrouted_warnings(teams: &[String]) -> Diagnostics {
    let warnings: Vec<Diagnostic> = teams
        .iter()
        .map(|team| {
            Diagnostic::warning(
                "no-receivers",
                "spec.alerting",
                format!("team `{team}` declares no alert receivers: its alerts go to the platform route"),
            )
            .with_help("add `spec.alerting.receivers` and `critical:`/`warning:` lists to its Tenant file")
        })
        .collect();
    Diagnostics(warnings)
}

/// The Prometheus Operator's label a tenant's AlertmanagerConfig carries, so an
/// Alertmanager's `alertmanagerConfigSelector` can pick sparkplane's.
pub const CONFIG_LABEL: &str = sparkplane_api::labels::ALERTING;

fn matcher(name: &str, value: &str, match_type: &str) -> Value {
    json!({ "name": name, "value": value, "matchType": match_type })
}

fn secret_key(r: &SecretRef, receiver: &str, field: &str) -> Result<Value, String> {
    match (&r.secret, &r.file) {
        (Some(key), None) => Ok(json!({ "name": key.name, "key": key.key })),
        _ => Err(format!(
            "receiver `{receiver}`: {field} is a file reference; an AlertmanagerConfig takes Kubernetes Secrets only \
             (write `secret: {{name, key}}`, or use the alertmanager.yml form)"
        )),
    }
}

fn receiver_resource(receiver: &AlertReceiver) -> Result<Value, String> {
    let name = receiver.name.as_str();
    let mut out = Map::new();
    out.insert("name".into(), json!(name));
    if let Some(slack) = &receiver.slack {
        out.insert(
            "slackConfigs".into(),
            json!([{ "apiURL": secret_key(&slack.api_url, name, "slack.apiUrl")?, "channel": slack.channel, "sendResolved": true }]),
        );
    }
    if let Some(pd) = &receiver.pagerduty {
        out.insert(
            "pagerdutyConfigs".into(),
            json!([{ "routingKey": secret_key(&pd.routing_key, name, "pagerduty.routingKey")? }]),
        );
    }
    if let Some(og) = &receiver.opsgenie {
        out.insert("opsgenieConfigs".into(), json!([{ "apiKey": secret_key(&og.api_key, name, "opsgenie.apiKey")? }]));
    }
    if let Some(email) = &receiver.email {
        out.insert("emailConfigs".into(), json!([{ "to": email.to, "sendResolved": true }]));
    }
    if let Some(hook) = &receiver.webhook {
        let mut config = json!({ "url": hook.url, "sendResolved": true });
        if let Some(token) = &hook.bearer_token {
            config["httpConfig"] = json!({
                "authorization": { "type": "Bearer", "credentials": secret_key(token, name, "webhook.bearerToken")? }
            });
        }
        out.insert("webhookConfigs".into(), json!([config]));
    }
    Ok(Value::Object(out))
}

/// One `AlertmanagerConfig` (monitoring.coreos.com/v1alpha1) per tenant with
/// receivers, in its namespace, for Alertmanagers the Prometheus Operator
/// runs. The operator confines each to alerts of its namespace; the routes
/// and the critical-over-warning inhibition are the same as [`routing`]'s.
/// The exporter's inhibition spans namespaces, so it stays in the platform's
/// `alertmanager.yml`. Tenants without receivers are skipped (listed in
/// `unrouted_teams`); a file reference is an error (Secrets only here).
pub fn alertmanager_configs(tenants: &[Tenant]) -> Result<(Vec<Value>, Vec<String>), Vec<String>> {
    let mut tenants: Vec<&Tenant> = tenants.iter().collect();
    tenants.sort_by(|a, b| a.namespace().cmp(b.namespace()).then(a.metadata.name.cmp(&b.metadata.name)));
    let (mut objects, mut unrouted, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for tenant in tenants {
        let team = &tenant.spec.team;
        let Some(alerting) = tenant.spec.alerting.as_ref().filter(|a| !a.receivers.is_empty()) else {
            unrouted.push(team.clone());
            continue;
        };
        let mut receivers = Vec::new();
        for r in &alerting.receivers {
            match receiver_resource(r) {
                Ok(v) => receivers.push(v),
                Err(e) => errors.push(format!("tenant `{}`: {e}", tenant.metadata.name)),
            }
        }
        let mut routes = Vec::new();
        for (severity, names) in
            [("critical", &alerting.critical), ("warning", &alerting.warning), ("info", &alerting.info)]
        {
            for (i, name) in names.iter().enumerate() {
                let mut route = json!({ "receiver": name, "matchers": [matcher("severity", severity, "=")] });
                if i + 1 < names.len() {
                    route["continue"] = json!(true);
                }
                routes.push(route);
            }
        }
        if alerting.info.is_empty() {
            routes.push(json!({ "receiver": NULL_RECEIVER, "matchers": [matcher("severity", "info", "=")] }));
            receivers.push(json!({ "name": NULL_RECEIVER }));
        }
        objects.push(json!({
            "apiVersion": "monitoring.coreos.com/v1alpha1",
            "kind": "AlertmanagerConfig",
            "metadata": {
                "name": "sparkplane-oncall",
                "namespace": tenant.namespace(),
                "labels": { CONFIG_LABEL: "true", (sparkplane_api::labels::TEAM): team },
            },
            "spec": {
                "route": {
                    "receiver": alerting.receivers[0].name,
                    "matchers": [matcher("team", team, "=")],
                    "groupBy": GROUP_BY,
                    "groupWait": "30s",
                    "groupInterval": "5m",
                    "repeatInterval": "4h",
                    "routes": routes,
                },
                "receivers": receivers,
                "inhibitRules": [{
                    "sourceMatch": [matcher("severity", "critical", "="), matcher("sparkjob", ".+", "=~")],
                    "targetMatch": [matcher("severity", "warning", "=")],
                    "equal": ["team", "namespace", "sparkjob"],
                }],
            },
        }));
    }
    if errors.is_empty() { Ok((objects, unrouted)) } else { Err(errors) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{RuleOptions, builtin_groups};

    #[test]
    fn exporter_fed_alerts_are_the_job_alerts_and_not_the_exporters_own() {
        let names = exporter_fed_alerts(&builtin_groups(&RuleOptions::default()));
        assert!(names.contains(&"SparkJobFailed".to_owned()), "{names:?}");
        for own in EXPORTER_HEALTH_ALERTS {
            assert!(!names.contains(&own.to_owned()), "{own} would silence itself");
        }
    }

    #[test]
    fn secret_references_become_files_never_values() {
        let by_secret = SecretRef {
            secret: Some(sparkplane_api::tenant::SecretKey { name: "slack".into(), key: "url".into() }),
            file: None,
        };
        assert_eq!(secret_file(&by_secret), "/etc/alertmanager/secrets/slack/url");
        let by_file = SecretRef { secret: None, file: Some("/run/pd-key".into()) };
        assert_eq!(secret_file(&by_file), "/run/pd-key");
    }

    fn tenant(name: &str, team: &str, receivers: Value) -> Tenant {
        serde_json::from_value(json!({
            "apiVersion": "sparkplane.dev/v1alpha1", "kind": "Tenant", "metadata": {"name": name},
            "spec": {"team": team, "costCenter": "cc", "alerting": receivers},
        }))
        .expect("a tenant")
    }

    #[test]
    fn a_configuration_is_refused_for_email_without_a_relay_and_for_a_team_routed_twice() {
        let groups = builtin_groups(&RuleOptions::default());
        let mail = json!({"receivers": [{"name": "mail", "email": {"to": "a@example.com"}}], "critical": ["mail"]});
        let request = Request::default();
        let refused = configuration(&[tenant("a", "a", mail.clone())], &groups, &request).expect_err("no relay");
        assert_eq!(refused.0[0].code, "no-smtp");
        let smtp = Request { smtp: Some(("smtp:25", "am@example.com")), ..Request::default() };
        let twice = configuration(&[tenant("a", "a", mail.clone()), tenant("b", "a", mail.clone())], &groups, &smtp)
            .expect_err("two tenants route team a");
        assert_eq!((twice.0[0].code, twice.0[0].path.as_str()), ("duplicate-team-routing", "spec.alerting"));
        let quiet = tenant("q", "quiet", json!({}));
        let ok = configuration(&[tenant("a", "a", mail), quiet], &groups, &smtp).expect("routed");
        assert_eq!(ok.documents, std::slice::from_ref(&ok.value));
        assert_eq!(ok.value["global"]["smtp_smarthost"], "smtp:25");
        assert_eq!(ok.warnings.0.len(), 1);
        assert_eq!(
            ok.warnings.0[0].message,
            "team `quiet` declares no alert receivers: its alerts go to the platform route"
        );
    }

    #[test]
    fn resources_are_a_list_and_refuse_a_file_reference() {
        let groups = builtin_groups(&RuleOptions::default());
        let resources = Request { resources: true, ..Request::default() };
        let slack = json!({"receivers": [{"name": "chat", "slack": {"channel": "#a", "apiUrl": {"secret": {"name": "s", "key": "url"}}}}],
                           "critical": ["chat"]});
        let ok = configuration(&[tenant("a", "a", slack)], &groups, &resources).expect("resources");
        assert_eq!(ok.value["kind"], "List");
        assert_eq!(ok.value["items"], Value::Array(ok.documents.clone()));
        let by_file = json!({"receivers": [{"name": "chat", "slack": {"channel": "#a", "apiUrl": {"file": "/run/url"}}}],
                             "critical": ["chat"]});
        let refused = configuration(&[tenant("a", "a", by_file)], &groups, &resources).expect_err("a file");
        assert_eq!(refused.0[0].code, "secret-file-ref");
    }
}
