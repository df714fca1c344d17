//! `sparkplane migrate kubeflow`: which of a cluster's Kubeflow resources
//! would move to sparkplane's operator, what the one conversion changes or
//! cannot honour for each, and with `--apply` the move itself — the opt-in
//! label `sparkplane.dev/operator: sparkplane` added — or with `--undo` the
//! way back (the label removed). Nothing else of a resource is written: its
//! spec and its status stay as they are, so a move and its undo lose nothing.
//!
//! An application runs under one operator from start to end: one that is
//! running under the other operator (any state but new, completed or failed)
//! is left where it is and listed with its state; it can move once it ended.
//! A run a schedule started follows its schedule (its labels are the
//! schedule's from the start), so runs are listed but never moved alone.
//! A SparkConnect (a server, which never ends) moves in any state; what the
//! operator it leaves made for it (Kubeflow's server pod, Service and
//! ConfigMap, or sparkplane's StatefulSet and its objects) stays until
//! deleted, and its entry says so with the endpoint clients move to.
//!
//! Owns: the listing, each resource's outcome and the label changes, and the
//! report as `migrate kubeflow` shows it ([`text`], [`summary`]). Must not:
//! talk to the cluster or plan a job itself (the host lists, patches labels
//! and plans through the operator's one plan path), or print.

use std::collections::BTreeMap;

use serde::Serialize;
use sparkplane_api::kubeflow::{KIND_SCHEDULED_SPARK_APPLICATION, KIND_SPARK_APPLICATION, KIND_SPARK_CONNECT};
use sparkplane_api::{SparkJob, labels};
use sparkplane_lifecycle::plan::Prepared;

use crate::resource::{Live, OPERATOR, SPARKPLANE, convert, opted_in};
use crate::status::{COMPLETED, FAILED, NEW};

/// One resource as listed from the cluster.
#[derive(Clone, Debug, PartialEq)]
pub struct Listed {
    /// `SparkApplication`, `ScheduledSparkApplication` or `SparkConnect`.
    pub kind: &'static str,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// The spec as stored.
    pub spec: serde_json::Value,
    /// `status.applicationState.state` (an application),
    /// `status.scheduleState` (a schedule) or `status.state` (a server);
    /// empty when none.
    pub state: String,
}

/// What the command does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// List what would move.
    List,
    /// Add the opt-in label.
    Apply,
    /// Remove the opt-in label.
    Undo,
}

/// What the user asked.
#[derive(Clone, Debug)]
pub struct Request {
    /// Only this namespace (None: every namespace).
    pub namespace: Option<String>,
    /// Only resources matching this label selector.
    pub selector: Option<String>,
    /// List, apply or undo.
    pub mode: Mode,
    /// With `--apply`: the `sparkplane.dev/team` label to add where a resource has none.
    pub team: Option<String>,
    /// With `--apply`: the `sparkplane.dev/cost-center` label to add where a resource has none.
    pub cost_center: Option<String>,
}

/// Where a resource is served, before and after.
#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Operator {
    /// The Kubeflow Spark Operator (no opt-in label).
    Kubeflow,
    /// sparkplane's operator (`sparkplane.dev/operator: sparkplane`).
    Sparkplane,
}

/// What became (or would become) of one resource.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "kebab-case", tag = "outcome", content = "why")]
pub enum Outcome {
    /// It would move to sparkplane (`--apply` moves it).
    WouldMove,
    /// It moved to sparkplane.
    Moved,
    /// It would go back to Kubeflow (`--undo` returns it).
    WouldReturn,
    /// It went back to Kubeflow.
    Returned,
    /// It stays where it is, and why.
    Stays(String),
    /// It cannot move: the conversion or the plan refuses it, and why.
    CannotMove(String),
}

/// One resource's line in the report.
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Entry {
    /// Kind.
    pub kind: &'static str,
    /// Namespace.
    pub namespace: String,
    /// Name.
    pub name: String,
    /// Its Kubeflow state (empty: new).
    pub state: String,
    /// Served by, before.
    pub before: Operator,
    /// Served by, after (what `--apply` or `--undo` made of it, or would).
    pub after: Operator,
    /// What became of it.
    #[serde(flatten)]
    pub outcome: Outcome,
    /// Each field the conversion does not carry, with why (`path: reason`).
    pub not_carried: Vec<String>,
    /// What the user should know beyond the outcome (a server's objects left behind).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// The cluster, as the workflow needs it.
pub trait MigrateHost {
    /// The host's error (unreachable cluster, refused request).
    type Error;
    /// Every resource of `kind` in `namespace` (every namespace: None)
    /// matching `selector`, in name order.
    fn list(
        &mut self,
        kind: &'static str,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Listed>, Self::Error>;
    /// Sets (Some) or removes (None) labels of one resource, nothing else.
    fn label(&mut self, resource: &Listed, changes: &BTreeMap<String, Option<String>>) -> Result<(), Self::Error>;
    /// The operator's plan of a converted job (the one resolve, size, render and policy path).
    fn plan(&mut self, job: &SparkJob) -> Prepared;
}

/// Whether an application with this Kubeflow state is between its start and its end.
fn in_flight(listed: &Listed) -> bool {
    listed.kind == KIND_SPARK_APPLICATION && !matches!(listed.state.as_str(), NEW | COMPLETED | FAILED)
}

/// The labels `--apply` adds to `listed`.
fn apply_labels(listed: &Listed, request: &Request) -> BTreeMap<String, Option<String>> {
    let mut changes = BTreeMap::new();
    changes.insert(OPERATOR.to_owned(), Some(SPARKPLANE.to_owned()));
    for (key, value) in [(labels::TEAM, &request.team), (labels::COST_CENTER, &request.cost_center)] {
        if let Some(value) = value.as_ref().filter(|_| !listed.labels.contains_key(key)) {
            changes.insert(key.to_owned(), Some(value.clone()));
        }
    }
    changes
}

/// Converts and plans `listed` as it would be served with `labels`: the
/// fields not carried, or why it cannot run.
fn check<H: MigrateHost>(
    host: &mut H,
    listed: &Listed,
    labels: &BTreeMap<String, String>,
) -> (Vec<String>, Option<String>) {
    let live = Live { kind: listed.kind, name: &listed.name, namespace: &listed.namespace, labels, spec: &listed.spec };
    match convert(&live) {
        Err(diagnostics) => {
            let why = diagnostics
                .errors()
                .map(|d| if d.path.is_empty() { d.message.clone() } else { format!("{}: {}", d.path, d.message) })
                .collect::<Vec<_>>()
                .join("; ");
            (Vec::new(), Some(format!("the conversion fails: {why}")))
        }
        Ok(converted) => {
            let lost = converted.not_carried.iter().map(|n| format!("{}: {}", n.path, n.reason)).collect();
            match host.plan(&converted.job) {
                Prepared::Ready(_) => (lost, None),
                Prepared::Refused { cause, message } => (
                    lost,
                    Some(format!("the operator would refuse it ({}): {}", cause.as_str(), message.replace('\n', "; "))),
                ),
            }
        }
    }
}

/// The outcome for one resource, and the label changes to make.
fn decide<H: MigrateHost>(
    host: &mut H,
    listed: &Listed,
    request: &Request,
) -> (Entry, BTreeMap<String, Option<String>>) {
    let before = if opted_in(&listed.labels) { Operator::Sparkplane } else { Operator::Kubeflow };
    let mut entry = Entry {
        kind: listed.kind,
        namespace: listed.namespace.clone(),
        name: listed.name.clone(),
        state: listed.state.clone(),
        before,
        after: before,
        outcome: Outcome::Stays(String::new()),
        not_carried: Vec::new(),
        notes: Vec::new(),
    };
    let mut changes = BTreeMap::new();
    if let Some(parent) = listed.labels.get(labels::KUBEFLOW_SCHEDULED_APP_NAME) {
        entry.outcome =
            Outcome::Stays(format!("a run of the schedule {parent}: it stays with the operator that started it"));
        return (entry, changes);
    }
    let undoing = request.mode == Mode::Undo;
    match (before, undoing) {
        (Operator::Sparkplane, false) => entry.outcome = Outcome::Stays("already served by sparkplane".into()),
        (Operator::Kubeflow, true) => entry.outcome = Outcome::Stays("already served by Kubeflow".into()),
        (from, _) if in_flight(listed) => {
            let owner = if from == Operator::Kubeflow { "Kubeflow" } else { "sparkplane" };
            entry.outcome = Outcome::Stays(format!(
                "running under {owner} (state {}): it can move once it has completed or failed",
                listed.state
            ));
        }
        (Operator::Sparkplane, true) => {
            changes.insert(OPERATOR.to_owned(), None);
            entry.after = Operator::Kubeflow;
            entry.outcome = Outcome::WouldReturn;
            if listed.kind == KIND_SPARK_CONNECT {
                entry.notes.push(format!(
                    "sparkplane's server (the StatefulSet {name}-connect, its Services, ConfigMap and \
                     NetworkPolicies) stays until you delete it; Kubeflow's operator starts its own {name}-server",
                    name = listed.name
                ));
            }
        }
        (Operator::Kubeflow, false) => {
            let wanted = apply_labels(listed, request);
            let mut labels = listed.labels.clone();
            labels.extend(wanted.iter().filter_map(|(k, v)| Some((k.clone(), v.clone()?))));
            let (lost, refusal) = check(host, listed, &labels);
            entry.not_carried = lost;
            match refusal {
                Some(why) => entry.outcome = Outcome::CannotMove(why),
                None => {
                    changes = wanted;
                    entry.after = Operator::Sparkplane;
                    entry.outcome = Outcome::WouldMove;
                    if listed.kind == KIND_SPARK_CONNECT {
                        entry.notes.push(format!(
                            "sparkplane's server reads its clients' token from the Secret {name}-connect-token \
                             (key `token`), which must exist: kubectl -n {namespace} create secret generic \
                             {name}-connect-token --from-literal=token=\"$(openssl rand -hex 32)\"",
                            name = listed.name,
                            namespace = listed.namespace
                        ));
                    }
                    if listed.kind == KIND_SPARK_CONNECT && listed.state != NEW {
                        entry.notes.push(format!(
                            "Kubeflow's server pod and Service {name}-server and ConfigMap {name}-conf stay until \
                             you delete them; clients move to sc://{name}-connect.{namespace}.svc:15002",
                            name = listed.name,
                            namespace = listed.namespace
                        ));
                    }
                }
            }
        }
    }
    (entry, changes)
}

/// Lists, and with `--apply` or `--undo` moves, every SparkApplication,
/// ScheduledSparkApplication and SparkConnect the request selects; one entry
/// each, schedules first, then applications, then servers, in namespace and
/// name order.
pub fn migrate<H: MigrateHost>(host: &mut H, request: &Request) -> Result<Vec<Entry>, H::Error> {
    let mut entries = Vec::new();
    for kind in [KIND_SCHEDULED_SPARK_APPLICATION, KIND_SPARK_APPLICATION, KIND_SPARK_CONNECT] {
        let mut listed = host.list(kind, request.namespace.as_deref(), request.selector.as_deref())?;
        listed.sort_by(|a, b| (&a.namespace, &a.name).cmp(&(&b.namespace, &b.name)));
        for resource in &listed {
            let (mut entry, changes) = decide(host, resource, request);
            if request.mode != Mode::List && !changes.is_empty() {
                host.label(resource, &changes)?;
                entry.outcome = match entry.outcome {
                    Outcome::WouldMove => Outcome::Moved,
                    Outcome::WouldReturn => Outcome::Returned,
                    other => other,
                };
            }
            entries.push(entry);
        }
    }
    Ok(entries)
}

/// Whether anything asked to move could not (`--apply` then exits 1).
pub fn any_refused(entries: &[Entry]) -> bool {
    entries.iter().any(|e| matches!(e.outcome, Outcome::CannotMove(_)))
}

/// The report: one line per resource, each field the conversion loses
/// and each note indented below it; or that there was nothing to list.
pub fn text(entries: &[Entry]) -> String {
    let mut out = String::new();
    for e in entries {
        let (what, why) = match &e.outcome {
            Outcome::WouldMove => ("would move to sparkplane", String::new()),
            Outcome::Moved => ("moved to sparkplane", String::new()),
            Outcome::WouldReturn => ("would go back to Kubeflow", String::new()),
            Outcome::Returned => ("went back to Kubeflow", String::new()),
            Outcome::Stays(why) => ("stays", why.clone()),
            Outcome::CannotMove(why) => ("cannot move", why.clone()),
        };
        let state = if e.state.is_empty() { "new" } else { e.state.as_str() };
        out.push_str(&format!("{} {}/{} ({state}): {what}", e.kind, e.namespace, e.name));
        if !why.is_empty() {
            out.push_str(&format!(": {why}"));
        }
        out.push('\n');
        for lost in &e.not_carried {
            out.push_str(&format!("    not carried: {lost}\n"));
        }
        for note in &e.notes {
            out.push_str(&format!("    note: {note}\n"));
        }
    }
    if entries.is_empty() {
        out.push_str("no SparkApplication, ScheduledSparkApplication or SparkConnect found\n");
    }
    out
}

/// The line after the report: how many were listed, moved or handed back.
pub fn summary(entries: &[Entry], mode: Mode) -> String {
    let moved = entries.iter().filter(|e| matches!(e.outcome, Outcome::Moved | Outcome::Returned)).count();
    match mode {
        Mode::List => format!("{} listed; nothing changed (--apply moves, --undo hands back)", entries.len()),
        Mode::Apply => format!("{moved} moved to sparkplane's operator"),
        Mode::Undo => format!("{moved} handed back to the Kubeflow operator"),
    }
}

#[cfg(test)]
#[path = "migrate_tests.rs"]
mod tests;
