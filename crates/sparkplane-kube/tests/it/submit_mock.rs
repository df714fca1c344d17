//! The submit sequence against kube-rs's mocked API (a `tower_test` service
//! pair): each step asserts the request's method, path, query and body and
//! answers as the API server would. A missing request fails by timeout, an
//! unexpected one because no step is left to answer it.

use std::collections::BTreeMap;
use std::time::Duration;

use http::{Method, Request, Response};
use kube::client::Body;
use serde_json::{Value, json};
use sparkplane_core::catalog::Catalog;
use sparkplane_core::load::load;
use sparkplane_core::render::{self, RenderInput, RenderedObject, Target};
use sparkplane_core::resolve::{ResolveRequest, ResolvedJob};
use sparkplane_core::sizing::size_job;
use sparkplane_core::validate::ValidationTarget;
use sparkplane_documents::Source;
use sparkplane_documents::yaml::parse_single;
use sparkplane_kube::KubeError;
use sparkplane_kube::submit::{SubmitOutcome, SubmitRequest, submit};
use tower_test::mock::{Handle, SendResponse};

const JOB: &str = "apiVersion: sparkplane.dev/v1alpha1
kind: SparkJob
metadata: {name: probe, namespace: team-a}
spec:
  team: team-a
  type: Python
  sparkVersion: \"3.5.7\"
  mainApplicationFile: local:///opt/app/probe.py
  image: {repository: registry.example.com/team-a/probe, tag: \"1.0.0\"}
  eventLog: {dir: \"s3a://spark-events/team-a\"}
";

const SERVER: &str = "https://mock.invalid";

fn job() -> ResolvedJob {
    let catalog = Catalog::builtin().expect("built-in catalog");
    let doc = parse_single(&Source::new("job.yaml", JOB)).expect("job parses");
    load(ResolveRequest {
        job: &doc,
        job_environment: None,
        catalog: &catalog,
        environment: None,
        sets: &[],
        target: ValidationTarget::Cluster,
    })
    .unwrap_or_else(|d| panic!("fixture does not resolve:\n{d}"))
}

fn render_attempt(job: &ResolvedJob, attempt: u32) -> Vec<RenderedObject> {
    let mut job = job.clone();
    job.attempt = attempt;
    let sized = size_job(&job.job.spec);
    render::render(&RenderInput { job: &job, sized: &sized }, Target::Native)
}

fn request(job: &ResolvedJob, rerun: bool, dry_run: bool) -> SubmitRequest {
    SubmitRequest {
        job: job.name().to_owned(),
        namespace: job.namespace().to_owned(),
        spec_hash: job.short_hash(),
        rerun,
        dry_run,
    }
}

async fn submit_job(
    client: &kube::Client,
    job: &ResolvedJob,
    rerun: bool,
    dry_run: bool,
) -> Result<SubmitOutcome, KubeError> {
    let req = request(job, rerun, dry_run);
    submit(client, SERVER, &req, |a| render_attempt(job, a)).await
}

type ApiHandle = Handle<Request<Body>, Response<Body>>;

/// One request as the mock saw it.
struct Seen {
    method: Method,
    path: String,
    query: BTreeMap<String, String>,
    content_type: Option<String>,
    body: Value,
}

fn mock_client() -> (kube::Client, ApiHandle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (kube::Client::new(service, "default"), handle)
}

async fn next(handle: &mut ApiHandle) -> (Seen, SendResponse<Response<Body>>) {
    let (request, send) = tokio::time::timeout(Duration::from_secs(5), handle.next_request())
        .await
        .expect("the client sent no further request")
        .expect("the client was dropped");
    let method = request.method().clone();
    let path = request.uri().path().to_owned();
    let query = request
        .uri()
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (k.to_owned(), percent_decode(v))
        })
        .collect();
    let content_type =
        request.headers().get(http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let bytes = request.into_body().collect_bytes().await.expect("request body");
    let body = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).expect("JSON body") };
    (Seen { method, path, query, content_type, body }, send)
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && i + 2 < bytes.len()
            && let Ok(b) = u8::from_str_radix(&text[i + 1..i + 3], 16)
        {
            out.push(b);
            i += 3;
            continue;
        }
        out.push(if bytes[i] == b'+' { b' ' } else { bytes[i] });
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn respond(send: SendResponse<Response<Body>>, status: u16, body: &Value) {
    let response = Response::builder()
        .status(status)
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(body).expect("JSON")))
        .expect("response");
    send.send_response(response);
}

fn status_body(code: u16, reason: &str, message: &str, causes: &[(&str, &str)]) -> Value {
    json!({
        "kind": "Status", "apiVersion": "v1", "status": "Failure", "code": code, "reason": reason, "message": message,
        "details": {"causes": causes.iter().map(|(f, m)| json!({"field": f, "message": m})).collect::<Vec<_>>()}
    })
}

fn pod_list(items: Vec<Value>) -> Value {
    json!({"kind": "PodList", "apiVersion": "v1", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// The server's answer to a create or apply: the object with uid and resourceVersion.
fn stored(body: &Value, uid: &str) -> Value {
    let mut object = body.clone();
    object["metadata"]["uid"] = json!(uid);
    object["metadata"]["resourceVersion"] = json!("7");
    object
}

fn path_of(object: &RenderedObject) -> String {
    let ns = object.namespace.as_deref().unwrap_or("default");
    let (prefix, plural) = match object.kind.as_str() {
        "ServiceAccount" => ("/api/v1", "serviceaccounts"),
        "ConfigMap" => ("/api/v1", "configmaps"),
        "Service" => ("/api/v1", "services"),
        "Pod" => ("/api/v1", "pods"),
        "Role" => ("/apis/rbac.authorization.k8s.io/v1", "roles"),
        "RoleBinding" => ("/apis/rbac.authorization.k8s.io/v1", "rolebindings"),
        "NetworkPolicy" => ("/apis/networking.k8s.io/v1", "networkpolicies"),
        other => panic!("unexpected kind {other}"),
    };
    format!("{prefix}/namespaces/{ns}/{plural}/{}", object.name)
}

/// How many objects `submit` applies after the driver pod (ConfigMaps,
/// Service, NetworkPolicies: everything owned by the pod).
fn owned_count(objects: &[RenderedObject]) -> usize {
    let owned =
        objects.iter().filter(|o| !matches!(o.kind.as_str(), "ServiceAccount" | "Role" | "RoleBinding" | "Pod"));
    let count = owned.count();
    assert_eq!(count, 5, "two ConfigMaps, the Service and the NetworkPolicies (peers, the door's)");
    count
}

fn expect_driver_list(seen: &Seen, job: &ResolvedJob) {
    assert_eq!(seen.method, Method::GET);
    assert_eq!(seen.path, "/api/v1/namespaces/team-a/pods");
    assert_eq!(
        seen.query.get("labelSelector").map(String::as_str),
        Some(
            format!("sparkplane.dev/job=probe,sparkplane.dev/spec-hash={},spark-role=driver", job.short_hash())
                .as_str()
        )
    );
}

fn expect_apply(seen: &Seen, object: &RenderedObject, dry_run: bool) {
    assert_eq!(seen.method, Method::PATCH, "{} {}", object.kind, object.name);
    assert_eq!(seen.path, path_of(object));
    assert_eq!(seen.query.get("fieldManager").map(String::as_str), Some("sparkplane"));
    assert_eq!(seen.query.get("force").map(String::as_str), Some("true"));
    assert_eq!(seen.query.get("dryRun").map(String::as_str), dry_run.then_some("All"));
    assert_eq!(seen.content_type.as_deref(), Some("application/apply-patch+yaml"));
}

/// Answers the RBAC applies (ServiceAccount, Role, RoleBinding, in that order).
async fn serve_rbac(handle: &mut ApiHandle, objects: &[RenderedObject], dry_run: bool) {
    for kind in ["ServiceAccount", "Role", "RoleBinding"] {
        let object = objects.iter().find(|o| o.kind == kind).expect("rendered RBAC object");
        let (seen, send) = next(handle).await;
        expect_apply(&seen, object, dry_run);
        assert_eq!(seen.body, object.body, "{kind} is applied as rendered");
        respond(send, 200, &stored(&seen.body, &format!("uid-{kind}")));
    }
}

#[tokio::test]
async fn a_new_job_is_created_in_spark_submits_order_with_owner_references() {
    let job = job();
    let objects = render_attempt(&job, 1);
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (seen, send) = next(&mut handle).await;
        expect_driver_list(&seen, &job);
        respond(send, 200, &pod_list(vec![]));
        serve_rbac(&mut handle, &objects, false).await;

        let pod = objects.iter().find(|o| o.kind == "Pod").expect("driver pod");
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::POST);
        assert_eq!(seen.path, "/api/v1/namespaces/team-a/pods");
        assert_eq!(seen.query.get("fieldManager").map(String::as_str), Some("sparkplane"));
        assert!(!seen.query.contains_key("dryRun"));
        assert_eq!(seen.body, pod.body, "the driver pod is created as rendered");
        respond(send, 201, &stored(&seen.body, "driver-uid-42"));

        let owned: Vec<&RenderedObject> =
            objects.iter().filter(|o| matches!(o.kind.as_str(), "ConfigMap" | "Service" | "NetworkPolicy")).collect();
        assert_eq!(
            owned.len(),
            5,
            "two ConfigMaps, the headless Service and the application's NetworkPolicies (peers, the door's)"
        );
        for object in owned {
            let (seen, send) = next(&mut handle).await;
            expect_apply(&seen, object, false);
            assert_eq!(
                seen.body["metadata"]["ownerReferences"],
                json!([{"apiVersion": "v1", "kind": "Pod", "name": pod.name, "uid": "driver-uid-42", "controller": true}])
            );
            let mut without = seen.body.clone();
            without["metadata"].as_object_mut().expect("metadata").remove("ownerReferences");
            assert_eq!(without, object.body, "{} is otherwise as rendered", object.name);
            respond(send, 200, &stored(&seen.body, "uid-owned"));
        }
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, false), verifier);
    let outcome = outcome.expect("submitted");
    let SubmitOutcome::Created { application, objects: sent, dry_run } = outcome else { panic!("expected Created") };
    assert!(!dry_run);
    assert_eq!(application.uid, "driver-uid-42");
    assert_eq!(application.attempt, 1);
    assert_eq!(sent.len(), 9);
    drop(client);
    assert!(handle.next_request().await.is_none(), "no request after the NetworkPolicies");
}

#[tokio::test]
async fn an_existing_driver_means_nothing_is_created() {
    let job = job();
    let objects = render_attempt(&job, 1);
    let pod = objects.iter().find(|o| o.kind == "Pod").expect("driver pod");
    let mut existing = stored(&pod.body, "old-uid");
    existing["status"] = json!({"phase": "Running"});
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (seen, send) = next(&mut handle).await;
        expect_driver_list(&seen, &job);
        respond(send, 200, &pod_list(vec![existing.clone()]));
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, false), verifier);
    let SubmitOutcome::Exists { application } = outcome.expect("answered") else { panic!("expected Exists") };
    assert_eq!(application.driver_pod, pod.name);
    assert_eq!(application.phase, "Running");
    assert_eq!(application.uid, "old-uid");
    drop(client);
    assert!(handle.next_request().await.is_none(), "no create after finding the driver");
}

#[tokio::test]
async fn rerun_starts_the_attempt_after_the_highest_existing_one() {
    let job = job();
    let second = render_attempt(&job, 2);
    let second_pod = second.iter().find(|o| o.kind == "Pod").expect("driver pod");
    let first_pod = render_attempt(&job, 1).into_iter().find(|o| o.kind == "Pod").expect("driver pod");
    let third = render_attempt(&job, 3);
    let third_pod = third.iter().find(|o| o.kind == "Pod").expect("driver pod");
    assert_ne!(third_pod.name, second_pod.name);
    assert_ne!(third_pod.name, first_pod.name);
    assert_eq!(third_pod.name.len(), first_pod.name.len(), "attempts keep the name length");
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (seen, send) = next(&mut handle).await;
        expect_driver_list(&seen, &job);
        respond(send, 200, &pod_list(vec![stored(&first_pod.body, "a"), stored(&second_pod.body, "b")]));
        serve_rbac(&mut handle, &third, false).await;
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::POST);
        assert_eq!(seen.body["metadata"]["name"], json!(third_pod.name));
        assert_eq!(seen.body["metadata"]["labels"]["sparkplane.dev/attempt"], json!("3"));
        respond(send, 201, &stored(&seen.body, "c"));
        for _ in 0..owned_count(&third) {
            let (seen, send) = next(&mut handle).await;
            assert_eq!(seen.method, Method::PATCH);
            assert_eq!(seen.body["metadata"]["ownerReferences"][0]["uid"], json!("c"));
            respond(send, 200, &stored(&seen.body, "d"));
        }
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, true, false), verifier);
    let SubmitOutcome::Created { application, .. } = outcome.expect("submitted") else { panic!("expected Created") };
    assert_eq!(application.attempt, 3);
    assert_eq!(application.driver_pod, third_pod.name);
}

#[tokio::test]
async fn a_409_on_the_driver_means_another_submission_won_and_nothing_more_is_sent() {
    let job = job();
    let objects = render_attempt(&job, 1);
    let pod = objects.iter().find(|o| o.kind == "Pod").expect("driver pod");
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (seen, send) = next(&mut handle).await;
        expect_driver_list(&seen, &job);
        respond(send, 200, &pod_list(vec![]));
        serve_rbac(&mut handle, &objects, false).await;
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::POST);
        respond(send, 409, &status_body(409, "AlreadyExists", &format!("pods \"{}\" already exists", pod.name), &[]));
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::GET);
        assert_eq!(seen.path, format!("/api/v1/namespaces/team-a/pods/{}", pod.name));
        respond(send, 200, &stored(&pod.body, "winner-uid"));
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, false), verifier);
    let SubmitOutcome::Exists { application } = outcome.expect("answered") else { panic!("expected Exists") };
    assert_eq!(application.uid, "winner-uid");
    drop(client);
    assert!(handle.next_request().await.is_none(), "no ConfigMap or Service for a driver we did not create");
}

#[tokio::test]
async fn a_500_after_the_driver_deletes_it_again_and_reports_the_server_failure() {
    let job = job();
    let objects = render_attempt(&job, 1);
    let pod = objects.iter().find(|o| o.kind == "Pod").expect("driver pod");
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (seen, send) = next(&mut handle).await;
        expect_driver_list(&seen, &job);
        respond(send, 200, &pod_list(vec![]));
        serve_rbac(&mut handle, &objects, false).await;
        let (_, send) = next(&mut handle).await;
        respond(send, 201, &stored(&pod.body, "u1"));
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::PATCH);
        respond(send, 500, &status_body(500, "InternalError", "etcdserver: request timed out", &[]));
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::DELETE);
        assert_eq!(seen.path, format!("/api/v1/namespaces/team-a/pods/{}", pod.name));
        assert_eq!(seen.body["propagationPolicy"], json!("Background"));
        respond(send, 200, &stored(&pod.body, "u1"));
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, false), verifier);
    let error = outcome.expect_err("a 500 fails the submission");
    assert!(error.is_infrastructure());
    assert!(
        matches!(&error, KubeError::Server { code: 500, message, .. } if message == "etcdserver: request timed out"),
        "{error}"
    );
}

#[tokio::test]
async fn forbidden_and_invalid_answers_are_classified_with_the_servers_words() {
    let job = job();
    let objects = render_attempt(&job, 1);
    let message =
        "pods is forbidden: User \"alice\" cannot list resource \"pods\" in API group \"\" in the namespace \"team-a\"";
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (_, send) = next(&mut handle).await;
        respond(send, 403, &status_body(403, "Forbidden", message, &[]));
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, false), verifier);
    let error = outcome.expect_err("403");
    assert!(error.is_infrastructure());
    assert_eq!(error.to_string(), format!("the Kubernetes API refused to list Pod team-a (403): {message}"));

    let (client, mut handle) = mock_client();
    let verifier = async {
        let (_, send) = next(&mut handle).await;
        respond(send, 200, &pod_list(vec![]));
        serve_rbac(&mut handle, &objects, false).await;
        let (_, send) = next(&mut handle).await;
        respond(
            send,
            422,
            &status_body(
                422,
                "Invalid",
                "Pod \"x\" is invalid: spec.containers[0].image: Required value",
                &[("spec.containers[0].image", "Required value")],
            ),
        );
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, false), verifier);
    let error = outcome.expect_err("422");
    assert!(!error.is_infrastructure(), "an invalid object is the input's fault");
    let KubeError::Invalid { fields, message, .. } = &error else { panic!("expected Invalid, got {error}") };
    assert_eq!(fields, &vec!["spec.containers[0].image".to_owned()]);
    assert!(message.contains("Required value"));
    drop(client);
    assert!(handle.next_request().await.is_none(), "nothing after the rejected driver");
}

#[tokio::test]
async fn a_server_dry_run_sends_every_request_with_dry_run_all() {
    let job = job();
    let objects = render_attempt(&job, 1);
    let (client, mut handle) = mock_client();
    let verifier = async {
        let (_, send) = next(&mut handle).await;
        respond(send, 200, &pod_list(vec![]));
        serve_rbac(&mut handle, &objects, true).await;
        let (seen, send) = next(&mut handle).await;
        assert_eq!(seen.method, Method::POST);
        assert_eq!(seen.query.get("dryRun").map(String::as_str), Some("All"));
        respond(send, 201, &stored(&seen.body, "dry-uid"));
        for _ in 0..owned_count(&objects) {
            let (seen, send) = next(&mut handle).await;
            assert_eq!(seen.query.get("dryRun").map(String::as_str), Some("All"));
            respond(send, 200, &stored(&seen.body, "x"));
        }
    };
    let (outcome, ()) = tokio::join!(submit_job(&client, &job, false, true), verifier);
    let SubmitOutcome::Created { dry_run, .. } = outcome.expect("dry run") else { panic!("expected Created") };
    assert!(dry_run);
}
