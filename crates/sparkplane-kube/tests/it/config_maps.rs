//! ConfigMap requests against the fake API server: a create reports a taken
//! name (409) as an answer, reads and lists by label see what was created
//! first, and a server nothing listens on is named with the request in the
//! error.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use sparkplane_fakekube::FakeApiServer;
use sparkplane_kube::config_maps::{ConfigMaps, CreateOutcome};
use sparkplane_kube::{KubeError, Settings};

fn settings(url: &str) -> Settings {
    let config = kube::Config::new(url.parse().expect("url"));
    Settings { config, namespace: "data".into(), namespace_explicit: true }
}

fn config_map(name: &str, job: &str, text: &str) -> ConfigMap {
    ConfigMap {
        metadata: ObjectMeta {
            name: Some(name.into()),
            labels: Some(BTreeMap::from([("sparkplane.dev/job".to_owned(), job.to_owned())])),
            ..ObjectMeta::default()
        },
        data: Some(BTreeMap::from([("release.json".to_owned(), text.to_owned())])),
        immutable: Some(true),
        ..ConfigMap::default()
    }
}

fn names(items: &[ConfigMap]) -> Vec<String> {
    items.iter().filter_map(|c| c.metadata.name.clone()).collect()
}

#[test]
fn a_config_map_is_created_once_read_back_and_listed_by_label() {
    let fake = FakeApiServer::start().expect("starts");
    let maps = ConfigMaps::new(&settings(&fake.url()), "data").expect("a client");
    assert_eq!((maps.namespace(), maps.server()), ("data", fake.url().as_str()));
    assert_eq!(maps.get_opt("release-a").expect("get"), None);
    assert_eq!(maps.create(&config_map("release-a", "etl", "first")).expect("create"), CreateOutcome::Created);
    let again = maps.create(&config_map("release-a", "etl", "second")).expect("a taken name is an answer");
    assert_eq!(again, CreateOutcome::AlreadyExists);
    let read = maps.get_opt("release-a").expect("get").expect("created");
    assert_eq!(read.data.unwrap_or_default().get("release.json").map(String::as_str), Some("first"));
    maps.create(&config_map("release-b", "other", "b")).expect("create");
    assert_eq!(names(&maps.list("sparkplane.dev/job=etl").expect("list")), ["release-a"]);
    assert_eq!(names(&maps.list("sparkplane.dev/job=other").expect("list")), ["release-b"]);
}

#[test]
fn an_unreachable_server_is_named_with_the_request_that_failed() {
    // A port nothing listens on: bound, then released.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let url = format!("http://127.0.0.1:{port}");
    let maps = ConfigMaps::new(&settings(&url), "data").expect("a client: nothing is sent yet");
    let failures = [
        (maps.get_opt("release-a").map(|_| ()), "get ConfigMap data/release-a"),
        (maps.create(&config_map("release-a", "etl", "a")).map(|_| ()), "create ConfigMap data/release-a"),
        (maps.list("sparkplane.dev/job=etl").map(|_| ()), "list ConfigMap data"),
    ];
    for (got, operation) in failures {
        let err = got.expect_err(operation);
        assert!(matches!(err, KubeError::Unreachable { .. }), "{operation}: {err:?}");
        let said = err.to_string();
        assert!(said.starts_with(&format!("cannot reach the Kubernetes API at {url} ({operation}): ")), "{said}");
        assert_eq!(err.category(), sparkplane_category::Category::Unreachable, "{operation}");
    }
}
