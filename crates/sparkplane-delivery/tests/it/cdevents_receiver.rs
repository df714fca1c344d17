//! Every CDEvent sparkplane emits, sent by the real sink to a receiver no one
//! here wrote (the CloudEvents SDK for Python) and validated there against the
//! CDEvents 0.5.1 JSON schemas (the events declare 0.5.0; see the schemas' README).

use sparkplane_delivery::cdevents::{Outcome, Step, release_purl};
use sparkplane_delivery::sink::Sink;
use sparkplane_testkit::CdEventsReceiver;

fn every_step() -> Vec<(Step, &'static str)> {
    let artifact = release_purl("orders-daily", "orders-daily-prod-0123456789ab");
    vec![
        (
            Step::RunStarted {
                run: "run-1".into(),
                job: "orders-daily".into(),
                uri: Some("http://127.0.0.1:4040/".into()),
            },
            "dev.cdevents.taskrun.started.0.3.0",
        ),
        (
            Step::RunFinished {
                run: "run-1".into(),
                job: "orders-daily".into(),
                outcome: Outcome::Failure,
                errors: Some("executor lost".into()),
            },
            "dev.cdevents.taskrun.finished.0.3.0",
        ),
        (
            Step::SuiteFinished {
                suite: "dq/orders-daily".into(),
                name: "orders-daily".into(),
                environment: "dev".into(),
                outcome: Outcome::Failure,
                reason: Some("2 of 5 checks failed".into()),
            },
            "dev.cdevents.testsuiterun.finished.0.3.0",
        ),
        (
            Step::CaseFinished {
                suite: "dq/orders-daily".into(),
                case: "dq/orders-daily/order_id-not-null".into(),
                name: "order_id not null".into(),
                environment: "dev".into(),
                outcome: Outcome::Success,
                reason: None,
            },
            "dev.cdevents.testcaserun.finished.0.3.0",
        ),
        (
            Step::ArtifactPackaged {
                artifact: artifact.clone(),
                commit: "3f2a9c1".into(),
                sbom: Some("releases/orders-daily-prod-0123456789ab/sbom.cdx.json".into()),
            },
            "dev.cdevents.artifact.packaged.0.3.0",
        ),
        (
            Step::ArtifactSigned { artifact: artifact.clone(), signature: "MEUCIQDx".into() },
            "dev.cdevents.artifact.signed.0.3.0",
        ),
        (
            Step::ArtifactPublished { artifact: artifact.clone(), user: Some("ana".into()), sbom: None },
            "dev.cdevents.artifact.published.0.3.0",
        ),
        (
            Step::ServiceDeployed {
                service: "orders-daily".into(),
                environment: "prod".into(),
                artifact: artifact.clone(),
            },
            "dev.cdevents.service.deployed.0.3.0",
        ),
        (
            Step::ServiceUpgraded {
                service: "orders-daily".into(),
                environment: "prod".into(),
                artifact: artifact.clone(),
            },
            "dev.cdevents.service.upgraded.0.3.0",
        ),
        (
            Step::ServiceRolledBack {
                service: "orders-daily".into(),
                environment: "prod".into(),
                artifact: artifact.clone(),
            },
            "dev.cdevents.service.rolledback.0.3.0",
        ),
        (
            Step::IncidentDetected {
                incident: "dq/orders-daily/1795000000".into(),
                description: "data-quality gate failed".into(),
                environment: "dev".into(),
                service: Some("orders-daily".into()),
                artifact: Some(artifact),
            },
            "dev.cdevents.incident.detected.0.3.0",
        ),
    ]
}

#[test]
fn every_event_arrives_as_a_cloudevent_and_is_valid_against_its_cdevents_schema() {
    let receiver = CdEventsReceiver::start().expect("the receiver starts");
    let steps = every_step();
    let sink = Sink::new(&receiver.url, "/sparkplane/test");
    let at = jiff::Timestamp::from_second(1_795_000_000).expect("time");
    let delivery = sink.send(&steps.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>(), at);
    let got = receiver.received();
    assert_eq!(delivery.undelivered, vec![], "the receiver accepts every event: {got:#?}");
    let got = receiver.received();
    assert_eq!(got.len(), steps.len());
    for (record, (step, ty)) in got.iter().zip(&steps) {
        assert_eq!(record["errors"], serde_json::json!([]), "{step:?}");
        assert_eq!(record["type"], *ty, "{step:?}");
        assert_eq!(record["contentType"], "application/cloudevents+json");
        assert_eq!(record["source"], "/sparkplane/test");
        assert_eq!(record["data"]["context"]["id"], record["id"]);
        assert_eq!(record["data"]["context"]["timestamp"], "2026-11-18T11:06:40Z");
    }
}

#[test]
fn the_receiver_refuses_an_event_its_schema_refuses() {
    // The validation above can fail: a testsuiterun.finished without its
    // required environment is refused and the reason recorded.
    let receiver = CdEventsReceiver::start().expect("the receiver starts");
    let body = serde_json::json!({
        "specversion": "1.0", "id": "x1", "source": "/t", "type": "dev.cdevents.testsuiterun.finished.0.3.0",
        "datacontenttype": "application/json",
        "data": {
            "context": {"specversion": "0.5.0", "id": "x1", "source": "/t",
                        "type": "dev.cdevents.testsuiterun.finished.0.3.0", "timestamp": "2026-11-18T11:06:40Z"},
            "subject": {"id": "dq/x", "content": {"outcome": "success"}}
        }
    });
    let answer = ureq::post(&receiver.url)
        .header("content-type", "application/cloudevents+json")
        .config()
        .http_status_as_error(false)
        .build()
        .send(body.to_string())
        .expect("an answer");
    assert_eq!(answer.status().as_u16(), 400);
    let got = receiver.received();
    assert_eq!(got[0]["errors"], serde_json::json!(["$.subject.content: 'environment' is a required property"]));
}
