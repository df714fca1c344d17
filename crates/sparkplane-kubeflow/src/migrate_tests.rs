//! The migration workflow over a fake cluster: what is listed, moved and
//! returned, and that nothing but the labels is ever written.

use std::collections::BTreeMap;

use serde_json::json;
use sparkplane_lifecycle::plan::{Platform, prepare};

use super::*;

#[derive(Default)]
struct Fake {
    objects: Vec<Listed>,
    patches: Vec<(String, BTreeMap<String, Option<String>>)>,
}

impl MigrateHost for Fake {
    type Error = String;

    fn list(
        &mut self,
        kind: &'static str,
        namespace: Option<&str>,
        selector: Option<&str>,
    ) -> Result<Vec<Listed>, String> {
        assert_eq!(selector, Some("team-owned"), "the selector is passed to the cluster");
        Ok(self
            .objects
            .iter()
            .filter(|o| o.kind == kind && namespace.is_none_or(|ns| o.namespace == ns))
            .cloned()
            .collect())
    }

    fn label(&mut self, resource: &Listed, changes: &BTreeMap<String, Option<String>>) -> Result<(), String> {
        self.patches.push((format!("{}/{}", resource.kind, resource.name), changes.clone()));
        let object =
            self.objects.iter_mut().find(|o| o.kind == resource.kind && o.name == resource.name).ok_or("gone")?;
        for (key, value) in changes {
            match value {
                Some(v) => object.labels.insert(key.clone(), v.clone()),
                None => object.labels.remove(key),
            };
        }
        Ok(())
    }

    fn plan(&mut self, job: &SparkJob) -> Prepared {
        prepare(job, &Platform::builtin().expect("the built-in catalog"))
    }
}

fn spec() -> serde_json::Value {
    json!({
        "type": "Scala", "mode": "cluster", "image": "registry.example.com/spark:4.0.1", "sparkVersion": "4.0.1",
        "mainClass": "org.apache.spark.examples.SparkPi",
        "mainApplicationFile": "local:///opt/spark/examples/jars/spark-examples.jar",
        "driver": {"cores": 1, "memory": "512m", "securityContext": {"runAsUser": 185}},
        "executor": {"instances": 1, "cores": 1, "memory": "512m"},
    })
}

fn app(name: &str, state: &str, labels: &[(&str, &str)]) -> Listed {
    Listed {
        kind: KIND_SPARK_APPLICATION,
        namespace: "data".into(),
        name: name.into(),
        labels: labels.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        spec: spec(),
        state: state.into(),
    }
}

fn request(mode: Mode) -> Request {
    Request {
        namespace: Some("data".into()),
        selector: Some("team-owned".into()),
        mode,
        team: Some("data-eng".into()),
        cost_center: Some("cc-1".into()),
    }
}

fn outcomes(entries: &[Entry]) -> Vec<(String, Outcome, Operator)> {
    entries.iter().map(|e| (e.name.clone(), e.outcome.clone(), e.after)).collect()
}

fn fake() -> Fake {
    let schedule = Listed {
        kind: KIND_SCHEDULED_SPARK_APPLICATION,
        name: "nightly".into(),
        spec: json!({"schedule": "0 2 * * *", "template": spec()}),
        state: "Scheduled".into(),
        ..app("", "", &[])
    };
    Fake {
        objects: vec![
            app("done", "COMPLETED", &[]),
            app("busy", "RUNNING", &[]),
            app("nightly-29400000", "COMPLETED", &[(labels::KUBEFLOW_SCHEDULED_APP_NAME, "nightly")]),
            app("moved", "FAILED", &[(OPERATOR, SPARKPLANE)]),
            app("unreadable", "", &[]),
            schedule,
        ],
        patches: Vec::new(),
    }
}

#[test]
fn listing_says_what_would_move_what_it_loses_and_writes_nothing() {
    let mut host = fake();
    host.objects[4].spec["driver"]["memory"] = json!("lots");
    let entries = migrate(&mut host, &request(Mode::List)).expect("lists");
    assert!(host.patches.is_empty(), "a listing writes nothing");
    let names: Vec<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(
        names,
        ["nightly", "busy", "done", "moved", "nightly-29400000", "unreadable"],
        "schedules first, by name"
    );
    let by_name = |n: &str| entries.iter().find(|e| e.name == n).expect(n);
    assert_eq!(by_name("done").outcome, Outcome::WouldMove);
    assert_eq!(by_name("done").after, Operator::Sparkplane);
    assert_eq!(by_name("done").not_carried.len(), 1);
    assert!(by_name("done").not_carried[0].starts_with("spec.driver.securityContext: "), "{:?}", by_name("done"));
    assert_eq!(by_name("nightly").outcome, Outcome::WouldMove);
    assert!(
        matches!(&by_name("busy").outcome, Outcome::Stays(why) if why.contains("running under Kubeflow (state RUNNING)"))
    );
    assert!(
        matches!(&by_name("nightly-29400000").outcome, Outcome::Stays(why) if why.contains("a run of the schedule nightly"))
    );
    assert!(matches!(&by_name("moved").outcome, Outcome::Stays(why) if why == "already served by sparkplane"));
    assert!(
        matches!(&by_name("unreadable").outcome, Outcome::CannotMove(why) if why.contains("spec.driver.memory")),
        "{:?}",
        by_name("unreadable").outcome
    );
    assert!(any_refused(&entries));
}

#[test]
fn without_an_owner_the_plan_refuses_the_move_and_says_how_to_fix_it() {
    let mut host = fake();
    let mut asked = request(Mode::Apply);
    asked.team = None;
    asked.cost_center = None;
    let entries = migrate(&mut host, &asked).expect("runs");
    let done = entries.iter().find(|e| e.name == "done").expect("done");
    assert!(
        matches!(&done.outcome, Outcome::CannotMove(why) if why.contains("PolicyDenied") && why.contains("spec.team")),
        "{:?}",
        done.outcome
    );
    assert!(host.patches.iter().all(|(what, _)| !what.ends_with("/done")), "a refused move writes nothing");
}

#[test]
fn apply_adds_the_opt_in_and_the_owner_labels_and_undo_takes_only_the_opt_in_back() {
    let mut host = fake();
    let before: Vec<serde_json::Value> = host.objects.iter().map(|o| o.spec.clone()).collect();
    let entries = migrate(&mut host, &request(Mode::Apply)).expect("applies");
    assert_eq!(
        outcomes(&entries).into_iter().filter(|(_, o, _)| *o == Outcome::Moved).map(|(n, ..)| n).collect::<Vec<_>>(),
        ["nightly", "done", "unreadable"],
        "an application not started yet moves too"
    );
    let done: Vec<_> = host.patches.iter().filter(|(w, _)| w == "SparkApplication/done").collect();
    assert_eq!(
        done[0].1,
        BTreeMap::from([
            (OPERATOR.to_owned(), Some(SPARKPLANE.to_owned())),
            (labels::COST_CENTER.to_owned(), Some("cc-1".to_owned())),
            (labels::TEAM.to_owned(), Some("data-eng".to_owned())),
        ])
    );
    host.patches.clear();
    let entries = migrate(&mut host, &request(Mode::Undo)).expect("undoes");
    let returned: Vec<String> =
        outcomes(&entries).into_iter().filter(|(_, o, _)| *o == Outcome::Returned).map(|(n, ..)| n).collect();
    assert_eq!(returned, ["nightly", "done", "moved", "unreadable"]);
    assert!(
        host.patches.iter().all(|(_, c)| *c == BTreeMap::from([(OPERATOR.to_owned(), None)])),
        "{:?}",
        host.patches
    );
    assert!(host.objects.iter().all(|o| !opted_in(&o.labels)));
    let after: Vec<serde_json::Value> = host.objects.iter().map(|o| o.spec.clone()).collect();
    assert_eq!(before, after, "specs are never written");
}

#[test]
fn an_application_running_under_sparkplane_is_not_handed_back_mid_run() {
    let mut host = fake();
    host.objects.push(app("running-here", "RUNNING", &[(OPERATOR, SPARKPLANE)]));
    let entries = migrate(&mut host, &request(Mode::Undo)).expect("undoes");
    let running = entries.iter().find(|e| e.name == "running-here").expect("listed");
    assert!(matches!(&running.outcome, Outcome::Stays(why) if why.contains("running under sparkplane")), "{running:?}");
    assert_eq!(running.after, Operator::Sparkplane);
    assert!(host.patches.iter().all(|(w, _)| !w.ends_with("running-here")));
}

#[test]
fn a_serving_spark_connect_moves_and_returns_with_what_stays_behind_each_way() {
    let mut host = fake();
    host.objects.push(Listed {
        kind: KIND_SPARK_CONNECT,
        name: "notebooks".into(),
        spec: json!({"sparkVersion": "4.0.1", "image": "registry.example.com/spark:4.0.1",
                     "server": {"cores": 1, "memory": "1g"}, "executor": {"instances": 1, "cores": 1, "memory": "1g"}}),
        state: "Ready".into(),
        ..app("", "", &[])
    });
    let entries = migrate(&mut host, &request(Mode::Apply)).expect("applies");
    assert_eq!(entries.last().map(|e| e.kind), Some(KIND_SPARK_CONNECT), "servers come last");
    let server = entries.iter().find(|e| e.name == "notebooks").expect("listed");
    assert_eq!(
        (&server.outcome, server.after),
        (&Outcome::Moved, Operator::Sparkplane),
        "a server never ends: it moves serving"
    );
    assert_eq!(
        server.notes,
        [
            "sparkplane's server reads its clients' token from the Secret notebooks-connect-token (key `token`), which \
             must exist: kubectl -n data create secret generic notebooks-connect-token \
             --from-literal=token=\"$(openssl rand -hex 32)\"",
            "Kubeflow's server pod and Service notebooks-server and ConfigMap notebooks-conf stay until you delete them; \
             clients move to sc://notebooks-connect.data.svc:15002"
        ]
    );
    assert!(host.patches.iter().any(|(w, _)| w == "SparkConnect/notebooks"));
    let entries = migrate(&mut host, &request(Mode::Undo)).expect("undoes");
    let server = entries.iter().find(|e| e.name == "notebooks").expect("listed");
    assert_eq!(server.outcome, Outcome::Returned);
    assert!(
        server.notes[0].starts_with("sparkplane's server (the StatefulSet notebooks-connect"),
        "{:?}",
        server.notes
    );
    // A new server (never served by Kubeflow) leaves nothing behind.
    host.objects.last_mut().expect("the server").state = String::new();
    let entries = migrate(&mut host, &request(Mode::List)).expect("lists");
    let server = entries.iter().find(|e| e.name == "notebooks").expect("listed");
    assert_eq!((&server.outcome, server.notes.len()), (&Outcome::WouldMove, 1), "only the token's note");
}

#[test]
fn the_report_has_a_line_per_resource_with_what_it_loses_then_a_summary() {
    let entry = |name: &str, state: &str, outcome: Outcome| Entry {
        kind: KIND_SPARK_APPLICATION,
        namespace: "data".into(),
        name: name.into(),
        state: state.into(),
        before: Operator::Kubeflow,
        after: Operator::Sparkplane,
        outcome,
        not_carried: vec!["spec.volumes: sparkplane mounts no volumes".into()],
        notes: Vec::new(),
    };
    let entries = [entry("a", "", Outcome::Moved), entry("b", "RUNNING", Outcome::Stays("it is running".into()))];
    assert_eq!(
        text(&entries),
        "SparkApplication data/a (new): moved to sparkplane\n    not carried: spec.volumes: sparkplane mounts no \
         volumes\nSparkApplication data/b (RUNNING): stays: it is running\n    not carried: spec.volumes: \
         sparkplane mounts no volumes\n"
    );
    assert_eq!(text(&[]), "no SparkApplication, ScheduledSparkApplication or SparkConnect found\n");
    assert_eq!(summary(&entries, Mode::Apply), "1 moved to sparkplane's operator");
    assert_eq!(summary(&entries, Mode::Undo), "1 handed back to the Kubeflow operator");
    assert_eq!(summary(&entries, Mode::List), "2 listed; nothing changed (--apply moves, --undo hands back)");
}
