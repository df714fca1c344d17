//! The cluster store over a host that keeps ConfigMaps in memory: a put
//! that finds the same release, another one, or loses a race to either; an
//! append that finds sequences taken meanwhile; and a host's failures,
//! passed on with their message, help and category.

use std::cell::RefCell;
use std::collections::BTreeMap;

use super::*;
use crate::release_record::{FileRef, ReleasedImage, SourceRef};

const SERVER: &str = "https://api.example:6443";
const ID: &str = "etl-staging-0123456789ab";

/// ConfigMaps in namespace `data`, created never updated, as the API server keeps them.
#[derive(Default)]
struct Memory {
    objects: RefCell<BTreeMap<String, ConfigMap>>,
    /// What another writer creates under a name just before this one's create of it.
    racers: BTreeMap<String, ConfigMap>,
    /// The request (`get`, `create`, `list`) that fails, and how.
    failing: Option<(&'static str, HostError)>,
    /// The names creates were asked for, in order.
    creates: RefCell<Vec<String>>,
}

impl Memory {
    fn fail(&self, verb: &str) -> Result<(), HostError> {
        match &self.failing {
            Some((failing, error)) if *failing == verb => Err(error.clone()),
            _ => Ok(()),
        }
    }

    fn insert(&self, config_map: ConfigMap) {
        let name = config_map.metadata.name.clone().unwrap_or_default();
        self.objects.borrow_mut().insert(name, config_map);
    }
}

impl ConfigMapHost for Memory {
    fn namespace(&self) -> &str {
        "data"
    }

    fn server(&self) -> &str {
        SERVER
    }

    fn get(&self, name: &str) -> Result<Option<ConfigMap>, HostError> {
        self.fail("get")?;
        Ok(self.objects.borrow().get(name).cloned())
    }

    fn create(&self, config_map: &ConfigMap) -> Result<CreateOutcome, HostError> {
        self.fail("create")?;
        let name = config_map.metadata.name.clone().unwrap_or_default();
        self.creates.borrow_mut().push(name.clone());
        if let Some(racer) = self.racers.get(&name) {
            self.objects.borrow_mut().entry(name.clone()).or_insert_with(|| racer.clone());
        }
        if self.objects.borrow().contains_key(&name) {
            return Ok(CreateOutcome::AlreadyExists);
        }
        self.insert(config_map.clone());
        Ok(CreateOutcome::Created)
    }

    /// Equality selectors only (`k=v,k=v`), as the stores send.
    fn list(&self, selector: &str) -> Result<Vec<ConfigMap>, HostError> {
        self.fail("list")?;
        let wanted: Vec<(&str, &str)> = selector.split(',').filter_map(|term| term.split_once('=')).collect();
        let matches = |cm: &ConfigMap| {
            let labels = cm.metadata.labels.clone().unwrap_or_default();
            wanted.iter().all(|(k, v)| labels.get(*k).map(String::as_str) == Some(*v))
        };
        Ok(self.objects.borrow().values().filter(|cm| matches(cm)).cloned().collect())
    }
}

fn record(environment: &str) -> ReleaseRecord {
    ReleaseRecord {
        api_version: "sparkplane.dev/v1alpha1".into(),
        kind: "Release".into(),
        id: format!("etl-{environment}-0123456789ab"),
        job: "etl".into(),
        namespace: "data".into(),
        environment: environment.into(),
        content_hash: "sha256:0123456789ab".into(),
        spec_hash: "abcd1234ffff".into(),
        image: ReleasedImage {
            reference: "r/etl:1.0".into(),
            repository: "r/etl".into(),
            tag: Some("1.0".into()),
            digest: None,
        },
        source: SourceRef { commit: "c0ffee00".into(), job_file: "etl.yaml".into() },
        ci: None,
        sbom: FileRef { file: "sbom.cdx.json".into(), digest: "sha256:5b".into() },
        released_by: "alice".into(),
        released_at: "2026-11-23T18:00:00Z".into(),
        signed_by: None,
        spec: serde_json::json!({"spec": {"executor": {"memory": "4g"}}}),
    }
}

/// The same release made again later by someone else (another SBOM time stamp too).
fn again() -> ReleaseRecord {
    let mut made = record("staging");
    made.released_by = "bob".into();
    made.released_at = "2026-11-24T09:00:00Z".into();
    made.sbom.digest = "sha256:6c".into();
    made
}

/// Another release under the same id.
fn other() -> ReleaseRecord {
    let mut made = record("staging");
    made.released_by = "carol".into();
    made.released_at = "2026-11-24T10:00:00Z".into();
    made.spec = serde_json::json!({"spec": {"executor": {"memory": "8g"}}});
    made
}

fn stored(record: &ReleaseRecord) -> StoredRelease {
    StoredRelease {
        id: record.id.clone(),
        record: record.to_json(),
        record_signature: String::new(),
        sbom: "{}\n".into(),
        sbom_signature: String::new(),
    }
}

fn config_map(record: &ReleaseRecord) -> ConfigMap {
    to_config_map(&stored(record), record, "data")
}

#[test]
fn a_put_creates_unless_a_release_is_there_and_judges_a_lost_race_against_the_winners() {
    let conflict = |by: &str, at: &str| {
        Err(format!(
            "release {ID} already exists with different content (released by {by} at {at}); records are never \
             overwritten: use the existing release, or change the spec to make a new one"
        ))
    };
    // (there before the put, created by another writer just before the put's create, outcome, creates asked, kept by)
    let table = [
        (None, None, Ok(PutOutcome::Created), 1, "alice"),
        (Some(again()), None, Ok(PutOutcome::Unchanged), 0, "bob"),
        (Some(other()), None, conflict("carol", "2026-11-24T10:00:00Z"), 0, "carol"),
        (None, Some(again()), Ok(PutOutcome::Unchanged), 1, "bob"),
        (None, Some(other()), conflict("carol", "2026-11-24T10:00:00Z"), 1, "carol"),
    ];
    for (before, racer, want, creates, kept_by) in table {
        let case = format!(
            "before {:?}, racer {:?}",
            before.as_ref().map(|r| &r.released_by),
            racer.as_ref().map(|r| &r.released_by)
        );
        let host = Memory {
            racers: racer.iter().map(|r| (config_map_name(ID), config_map(r))).collect(),
            ..Memory::default()
        };
        if let Some(before) = &before {
            host.insert(config_map(before));
        }
        let store = ClusterStore::new(host);
        let mine = record("staging");
        let got = store.put(&stored(&mine), &mine).map_err(|e| e.to_string());
        assert_eq!(got, want, "{case}");
        assert_eq!(store.host.creates.borrow().len(), creates, "{case}");
        let kept = store.get(ID).expect("reads").map(|s| store.record_of(&s).expect("a record").released_by);
        assert_eq!(kept.as_deref(), Some(kept_by), "{case}: the first writer's record stays");
    }
}

#[test]
fn releases_are_listed_by_job_and_environment_and_named_by_their_config_map() {
    let store = ClusterStore::new(Memory::default());
    for made in [record("staging"), record("prod")] {
        assert_eq!(store.put(&stored(&made), &made).expect("stored"), PutOutcome::Created);
    }
    let mut another_job = record("prod");
    another_job.job = "other".into();
    another_job.id = "other-prod-0123456789ab".into();
    store.put(&stored(&another_job), &another_job).expect("stored");
    let ids = |environment| -> Vec<String> {
        store.list("etl", environment).expect("lists").into_iter().map(|r| r.id).collect()
    };
    assert_eq!(ids(None), ["etl-prod-0123456789ab", "etl-staging-0123456789ab"]);
    assert_eq!(ids(Some("prod")), ["etl-prod-0123456789ab"]);
    assert_eq!(store.object_of(ID), format!("data/release-{ID}"));
    assert_eq!(store.location(), format!("ConfigMaps in namespace data at {SERVER}"));
    assert_eq!(store.namespace(), "data");
}

#[test]
fn a_hosts_failure_keeps_its_words_and_category_and_a_record_that_does_not_read_is_corrupt() {
    let down = HostError {
        message: format!("cannot reach the Kubernetes API at {SERVER} (get ConfigMap data/release-{ID}): refused"),
        help: "check the address".into(),
        category: Category::Unreachable,
    };
    let mine = record("staging");
    for verb in ["get", "create", "list"] {
        let store = ClusterStore::new(Memory { failing: Some((verb, down.clone())), ..Memory::default() });
        let got = match verb {
            "list" => store.list("etl", None).map(|_| ()),
            _ => store.put(&stored(&mine), &mine).map(|_| ()),
        };
        match got {
            Err(StoreError::Backend { message, help, category }) => {
                assert_eq!(
                    (message, help, category),
                    (down.message.clone(), down.help.clone(), down.category),
                    "{verb}"
                )
            }
            other => panic!("{verb}: {other:?}"),
        }
    }
    let store = ClusterStore::new(Memory::default());
    let mut unreadable = config_map(&mine);
    unreadable.data.get_or_insert_default().insert("release.json".into(), "{".into());
    store.host.insert(unreadable);
    let got = store.put(&stored(&mine), &mine).map_err(|e| e.to_string());
    assert!(
        got.as_ref().is_err_and(|e| e.starts_with(&format!("ConfigMap data/release-{ID}: not a release record: "))),
        "{got:?}"
    );
}

fn deployment(release: &str) -> DeploymentRecord {
    crate::deployments::tests::deployment(0, release)
}

/// A host whose log holds `logged` and where another deployment takes each of `raced` just before ours.
fn deployment_host(logged: &[u64], raced: &[u64]) -> Memory {
    let at = |sequence: u64| {
        let record = DeploymentRecord { sequence, ..deployment("theirs") };
        (deployments::config_map_name("etl", "prod", sequence), deployments::to_config_map(&record, &[], "data"))
    };
    let host = Memory { racers: raced.iter().map(|s| at(*s)).collect(), ..Memory::default() };
    for sequence in logged {
        host.insert(at(*sequence).1);
    }
    host
}

#[test]
fn an_append_takes_the_next_sequence_and_skips_those_taken_meanwhile_up_to_its_attempts() {
    let gave_up = Err(format!(
        "ConfigMaps in namespace data at {SERVER}: {APPEND_ATTEMPTS} other deployments were appended meanwhile; try again"
    ));
    // (in the log, taken by others meanwhile, sequence written, creates asked)
    let table = [
        (vec![], vec![], Ok(1), 1),
        (vec![1, 2], vec![], Ok(3), 1),
        (vec![1], vec![2], Ok(3), 2),
        (vec![1], vec![2, 3, 4], Ok(5), 4),
        (vec![], vec![1, 2, 3, 4, 5, 6, 7], Ok(8), 8),
        (vec![], vec![1, 2, 3, 4, 5, 6, 7, 8], gave_up, 8),
    ];
    for (logged, raced, want, creates) in table {
        let store = ClusterStore::new(deployment_host(&logged, &raced));
        let log = store.deployments("etl", "prod");
        let files = vec![("manifests/pod.yaml".to_owned(), "kind: Pod\n".to_owned())];
        let got = log.append(deployment("mine"), &files).map(|d| d.sequence).map_err(|e| e.to_string());
        assert_eq!(got, want, "{logged:?} {raced:?}");
        assert_eq!(store.host.creates.borrow().len(), creates, "{logged:?} {raced:?}");
        if let Ok(sequence) = got {
            let listed = log.list().expect("lists");
            let mine: Vec<u64> = listed.iter().filter(|d| d.release == "mine").map(|d| d.sequence).collect();
            assert_eq!(mine, [sequence], "{logged:?} {raced:?}: written once, and read back");
        }
    }
}

#[test]
fn an_append_passes_a_hosts_failure_on_and_names_where_manifests_are() {
    let refused = HostError {
        message: "the Kubernetes API refused to create ConfigMap data/deployment-etl-prod-000001 (403): no".into(),
        help: "ask a cluster admin".into(),
        category: Category::Unreachable,
    };
    for verb in ["list", "create"] {
        let store = ClusterStore::new(Memory { failing: Some((verb, refused.clone())), ..Memory::default() });
        match store.deployments("etl", "prod").append(deployment("mine"), &[]) {
            Err(LogError::Backend { message, help, category }) => assert_eq!(
                (message, help, category),
                (refused.message.clone(), refused.help.clone(), refused.category),
                "{verb}"
            ),
            other => panic!("{verb}: {other:?}"),
        }
    }
    let store = ClusterStore::new(Memory::default());
    assert_eq!(store.deployments("etl", "prod").manifests_of(7), "ConfigMap data/deployment-etl-prod-000007");
}
