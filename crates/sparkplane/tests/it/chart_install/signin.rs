//! Who may open the chart's History Server (ADR 0092, issue #65): sign-in is
//! on by default, so an install that names no OpenID Connect provider fails
//! with the values to set and the explicit way out; with a real provider
//! (npm's oidc-provider on 127.0.0.1) the History Server started from the
//! rendered Deployment, its Secrets laid out as the kubelet mounts them,
//! signs API clients in; behind a trusted proxy it believes the proxy's
//! headers only with the proxy's secret; `history.signIn.mode=none` serves
//! everyone and NOTES.txt says so; the Ingress and HTTPRoute reach the
//! History Server's Service.
//!
//! What differs from a cluster: the History Server runs as a process of the
//! test on 127.0.0.1 (its public URL is that address, where a cluster's is
//! the Ingress's host); the simulated cluster does not serve the Gateway
//! API, so the HTTPRoute is installed next to a discovery-only stand-in for
//! its CRD, and the rendered route is held to the Gateway API's own schema
//! (v1.6.1's CRD, `tests/data/gateway-api`) by the test rather than by the
//! cluster.

use sparkplane_testkit::oidc::{OidcClient, OidcProvider, ProviderSettings};

use super::*;

/// What the chart says when the History Server would start with no way to sign anyone in.
const OIDC_NEEDED: &str = "history.signIn.mode is oidc (the default): set history.signIn.oidc.issuer, \
                           history.signIn.oidc.clientId, history.signIn.oidc.clientSecret.existingSecret, \
                           history.signIn.oidc.publicUrl (docs/signin.md, \"In the cluster\"); or \
                           history.signIn.mode=proxy behind an authenticating proxy; or history.signIn.mode=none, \
                           which serves every team's applications to everyone who reaches the History Server";

pub(super) fn spark_logs() -> String {
    let logs =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events");
    logs.canonicalize().expect("Spark's test event logs").display().to_string()
}

pub(super) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port()
}

fn args_of(deployment: &Value) -> Vec<String> {
    deployment["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(str::to_owned)
        .collect()
}

/// Creates the Secret `name` in the release's namespace with `keys`, as its owner would (kubectl).
fn create_secret(platform: &Platform, name: &str, keys: &[(&str, &str)]) {
    let mut args = vec!["create".to_owned(), "secret".to_owned(), "generic".to_owned(), name.to_owned()];
    args.extend(keys.iter().map(|(key, value)| format!("--from-literal={key}={value}")));
    args.extend(["-n".to_owned(), NAMESPACE.to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let (code, _, stderr) = platform.kubectl(&args);
    assert_eq!(code, Some(0), "{stderr}");
}

/// Lays out the projected Secret volume `volume` as the kubelet would: each item's key of each Secret, read
/// from the cluster, in a file at its path.
fn mount_projected_secrets(platform: &Platform, volume: &Value) -> PathBuf {
    let dir = platform.dir.path().join(format!("mount-{}", volume["name"].as_str().expect("a volume name")));
    std::fs::create_dir_all(&dir).expect("mkdir");
    for source in volume["projected"]["sources"].as_array().expect("projected sources") {
        let secret = source["secret"]["name"].as_str().expect("only Secrets are projected");
        for item in source["secret"]["items"].as_array().expect("items") {
            let key = item["key"].as_str().expect("key");
            let template = format!("--template={{{{index .data \"{key}\" | base64decode}}}}");
            let (code, value, stderr) =
                platform.kubectl(&["get", "secret", secret, "-n", NAMESPACE, "-o", "go-template", &template]);
            assert_eq!(code, Some(0), "the Secret {secret} holds {key}: {stderr}");
            std::fs::write(dir.join(item["path"].as_str().expect("path")), value).expect("write");
        }
    }
    dir
}

/// Starts the History Server container as the chart runs it, on 127.0.0.1:`port`: every volume its
/// arguments name laid out as the kubelet mounts it (the sign-in Secrets from the cluster, the Tenant
/// files from the platform ConfigMap, the ServiceAccount token as a kubeconfig naming that account), its
/// index in a folder of its own.
pub(super) fn run_history_as_mounted(platform: &Platform, deployment: &Value, port: u16) -> Process {
    let pod = &deployment["spec"]["template"]["spec"];
    let mut mounted: Vec<(String, PathBuf)> = Vec::new();
    for mount in pod["containers"][0]["volumeMounts"].as_array().into_iter().flatten() {
        let at = mount["mountPath"].as_str().expect("mountPath");
        let volume = pod["volumes"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|v| v["name"] == mount["name"])
            .expect("the mount's volume");
        if volume.get("projected").is_some() {
            assert_eq!(mount["readOnly"], true, "secrets are mounted read-only: {mount}");
            mounted.push((at.to_owned(), mount_projected_secrets(platform, volume)));
        } else if volume.get("configMap").is_some() {
            assert_eq!(mount["readOnly"], true, "{mount}");
            mounted.push((at.to_owned(), mount_config_map(platform, deployment, at)));
        }
    }
    let index = platform.dir.path().join(format!("history-index-{port}"));
    let args: Vec<String> = args_of(deployment)
        .into_iter()
        .map(|a| {
            if a.starts_with("--listen=") {
                return format!("--listen=127.0.0.1:{port}");
            }
            if a.starts_with("--index-dir=") {
                return format!("--index-dir={}", index.display());
            }
            let Some((flag, value)) = a.split_once('=') else { return a };
            match mounted.iter().find(|(at, _)| value.starts_with(&format!("{at}/")) || value == at) {
                Some((at, dir)) => format!("{flag}={}{}", dir.display(), &value[at.len()..]),
                None => a,
            }
        })
        .collect();
    let stderr = platform.dir.path().join(format!("history-{port}.log"));
    let process = spawn_as_pod(platform, deployment, &args, &stderr);
    let started = Instant::now();
    while get(port, "/api/v1/version").is_none() {
        let log = std::fs::read_to_string(&stderr).unwrap_or_default();
        assert!(started.elapsed() < Duration::from_secs(60), "the History Server never answered: {log}");
        std::thread::sleep(Duration::from_millis(200));
    }
    process
}

/// GET with `headers`: the status and the body.
pub(super) fn get_with(port: u16, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let agent: ureq::Agent = ureq::Agent::config_builder().http_status_as_error(false).build().into();
    let mut request = agent.get(format!("http://127.0.0.1:{port}{path}"));
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let mut answer = request.call().expect("the History Server answers");
    (answer.status().as_u16(), answer.body_mut().read_to_string().unwrap_or_default())
}

/// Every rendered object as text, for "this value is written nowhere".
fn rendered_text(objects: &[Value]) -> String {
    objects.iter().map(Value::to_string).collect::<Vec<_>>().join("\n")
}

#[test]
fn by_default_the_history_server_needs_a_provider_and_the_install_fails_naming_the_values_and_the_way_out() {
    let platform = Platform::start();
    let answer = platform.release("install", &chart(), &json!({"eventLogs": {"location": "s3a://spark-events"}}));
    let message = answer["error"].as_str().expect("refused");
    assert!(message.contains(OIDC_NEEDED), "{message}");
    // Only what is missing is named.
    let partial = platform.release(
        "install",
        &chart(),
        &json!({"eventLogs": {"location": "s3a://spark-events"},
                "history": {"signIn": {"oidc": {"issuer": "https://login.example.com/realms/data", "clientId": "sparkplane"}}}}),
    );
    let message = partial["error"].as_str().expect("refused");
    assert!(
        message.contains(
            "history.signIn.mode is oidc (the default): set history.signIn.oidc.clientSecret.existingSecret, \
             history.signIn.oidc.publicUrl (docs/signin.md"
        ),
        "{message}"
    );
    // Spark's own History Server cannot be put behind the door: only the explicit way out installs it.
    let spark = platform.release(
        "install",
        &chart(),
        &json!({"eventLogs": {"location": "s3a://spark-events"}, "history": {"implementation": "spark"}}),
    );
    let message = spark["error"].as_str().expect("refused");
    assert!(
        message.contains(
            "history.implementation=spark runs Spark's own History Server, which the chart cannot put behind a \
             sign-in (history.signIn.mode is oidc): use history.implementation=sparkplane, or set \
             history.signIn.mode=none, which serves every team's applications to everyone who reaches the History Server"
        ),
        "{message}"
    );
    // A proxy with no trusted address would believe no one.
    let proxy = platform.release(
        "install",
        &chart(),
        &json!({"eventLogs": {"location": "s3a://spark-events"}, "history": {"signIn": {"mode": "proxy"}}}),
    );
    assert!(
        proxy["error"]
            .as_str()
            .is_some_and(|m| m.contains("history.signIn.mode=proxy needs history.signIn.proxy.trustedProxies")),
        "{proxy}"
    );
    assert_nothing_installed(&platform);

    // Without event logs there is no History Server, and nothing to sign in to.
    let objects = platform.install(&json!({}));
    assert!(objects.iter().all(|o| o["metadata"]["name"] != "sparkplane-history"), "{:?}", kinds(&objects));
}

#[test]
fn with_oidc_values_the_history_server_from_its_deployment_signs_api_clients_in_at_a_real_provider() {
    let platform = Platform::start();
    let port = free_port();
    let public_url = format!("http://127.0.0.1:{port}");
    let client_secret = "chart-client-secret-5f1c9e";
    let cookie_key = "chart-cookie-key-0123456789abcdefghijklmnopqrstuv";
    let client = OidcClient {
        id: "sparkplane-history".to_owned(),
        secret: client_secret.to_owned(),
        redirect_uri: format!("{public_url}/oauth2/callback"),
    };
    let settings = ProviderSettings {
        port: 0,
        keys_file: platform.dir.path().join("keys.json"),
        new_key: false,
        drop_old_keys: false,
        clients: vec![client.clone()],
        people: vec![
            ("alice".to_owned(), vec!["platform-admins".to_owned()]),
            ("bob".to_owned(), vec!["somewhere-else".to_owned()]),
        ],
        id_token_ttl: 600,
    };
    let provider =
        OidcProvider::start(platform.dir.path(), &settings).unwrap_or_else(|e| panic!("the provider starts: {e}"));

    let objects = platform.install(&json!({
        "eventLogs": {"location": spark_logs()},
        "platform": {"tenants": {"data-eng": TENANT}},
        "history": {
            "signIn": {"oidc": {
                "issuer": provider.issuer,
                "clientId": "sparkplane-history",
                "clientSecret": {"existingSecret": "history-oidc", "key": "client-secret"},
                "cookieKey": {"existingSecret": "history-oidc", "key": "cookie-key"},
                "publicUrl": public_url,
                "audiences": ["spark-api"],
            }},
            "access": {"adminGroups": ["platform-admins"]},
        },
    }));
    let history = find(&objects, "Deployment", "sparkplane-history");
    let args = args_of(history);
    let expected = [
        "--auth=oidc".to_owned(),
        format!("--oidc-issuer={}", provider.issuer),
        "--oidc-client-id=sparkplane-history".to_owned(),
        "--oidc-client-secret-file=/etc/sparkplane/signin/client-secret".to_owned(),
        format!("--public-url={public_url}"),
        "--oidc-audience=spark-api".to_owned(),
        "--oidc-groups-claim=groups".to_owned(),
        "--cookie-key-file=/etc/sparkplane/signin/cookie-key".to_owned(),
        "--admin-group=platform-admins".to_owned(),
        "--tenants=/etc/sparkplane/tenants".to_owned(),
        "--cluster".to_owned(),
    ];
    assert_eq!(args[6..], expected, "{args:?}");
    // The Tenants are the operator's own: the same ConfigMap key, one source.
    let pod = &history["spec"]["template"]["spec"];
    let tenants = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == "tenants").expect("tenants");
    assert_eq!(
        tenants["configMap"],
        json!({"name": "sparkplane-platform", "items": [{"key": "tenant-data-eng.yaml", "path": "data-eng.yaml"}]})
    );
    // Still Pod Security "restricted", and every object passes Kubernetes' schemas.
    let rendered: Vec<RenderedObject> = [history]
        .iter()
        .map(|o| RenderedObject {
            api_version: "apps/v1".to_owned(),
            kind: "Deployment".to_owned(),
            name: "sparkplane-history".to_owned(),
            namespace: Some(NAMESPACE.to_owned()),
            body: (*o).clone(),
        })
        .collect();
    let problems = sparkplane_core::render::check::check_objects(&rendered);
    assert!(problems.is_empty(), "{problems:#?}");
    let text: String = objects.iter().map(|o| format!("---\n{o}\n")).collect();
    let all = platform.write("oidc.yaml", &text).display().to_string();
    let report = platform.helm(&["validate", "1.30.0,1.37.0", &all]);
    assert_eq!(report["problems"], json!([]), "{report}");

    // The platform team's Secret, created beside the release; its values are in no rendered object.
    create_secret(&platform, "history-oidc", &[("client-secret", client_secret), ("cookie-key", cookie_key)]);
    let written = rendered_text(&objects);
    assert!(!written.contains(client_secret) && !written.contains(cookie_key), "a secret value was rendered");

    let _history = run_history_as_mounted(&platform, history, port);
    // The readiness probe answers without a sign-in.
    let probe = pod["containers"][0]["readinessProbe"]["httpGet"]["path"].as_str().expect("a probe");
    assert_eq!(get_with(port, probe, &[]).0, 200);
    // An API client: 401 without a token, the list with the provider's token.
    let (status, body) = get_with(port, "/api/v1/applications", &[]);
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("local-"), "nothing of the list is served: {body}");
    let token = provider.id_token(&client, "alice", "n-chart").expect("an ID token");
    let bearer = format!("Bearer {token}");
    let (status, body) = get_with(port, "/api/v1/applications", &[("authorization", &bearer)]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("local-1422981780767"), "a platform admin sees every application: {body}");
    // A person no group grants anything sees an empty list.
    let token = provider.id_token(&client, "bob", "n-chart-bob").expect("an ID token");
    let bearer = format!("Bearer {token}");
    let (status, body) = get_with(port, "/api/v1/applications", &[("authorization", &bearer)]);
    assert_eq!((status, body.trim()), (200, "[]"));
}

#[test]
fn behind_a_trusted_proxy_the_history_server_believes_its_headers_only_with_the_proxys_secret() {
    let platform = Platform::start();
    let port = free_port();
    let proxy_secret = "chart-proxy-secret-77d0";
    let objects = platform.install(&json!({
        "eventLogs": {"location": spark_logs()},
        "history": {
            "signIn": {"mode": "proxy", "proxy": {
                "trustedProxies": ["127.0.0.1"],
                "secret": {"existingSecret": "history-proxy", "key": "secret"},
            }},
            "access": {"adminGroups": ["platform-admins"], "sparkAcls": {"enabled": true, "adminUsers": ["spark-admin"]}},
        },
    }));
    let history = find(&objects, "Deployment", "sparkplane-history");
    let args = args_of(history);
    assert_eq!(
        args[6..],
        [
            "--auth=proxy",
            "--trusted-proxy=127.0.0.1",
            "--proxy-user-header=X-Forwarded-User",
            "--proxy-groups-header=X-Forwarded-Groups",
            "--proxy-secret-file=/etc/sparkplane/signin/proxy-secret",
            "--proxy-secret-header=X-Sparkplane-Proxy-Secret",
            "--admin-group=platform-admins",
            "--spark-acls",
            "--spark-admin-acls=spark-admin",
            "--cluster",
        ],
        "{args:?}"
    );
    let volumes = history["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes");
    let signin = volumes.iter().find(|v| v["name"] == "signin").expect("the sign-in volume");
    assert_eq!(
        signin["projected"]["sources"],
        json!([{"secret": {"name": "history-proxy", "items": [{"key": "secret", "path": "proxy-secret"}]}}])
    );
    create_secret(&platform, "history-proxy", &[("secret", proxy_secret)]);
    assert!(!rendered_text(&objects).contains(proxy_secret));

    let _history = run_history_as_mounted(&platform, history, port);
    let person = [("X-Forwarded-User", "alice"), ("X-Forwarded-Groups", "platform-admins")];
    // A client that forges the proxy's headers without its secret signs no one in.
    let (status, body) = get_with(port, "/api/v1/applications", &person);
    assert_eq!(status, 401, "{body}");
    let forged = [person[0], person[1], ("X-Sparkplane-Proxy-Secret", "a-guess")];
    assert_eq!(get_with(port, "/api/v1/applications", &forged).0, 401);
    let from_proxy = [person[0], person[1], ("X-Sparkplane-Proxy-Secret", proxy_secret)];
    let (status, body) = get_with(port, "/api/v1/applications", &from_proxy);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("local-1422981780767"), "{body}");
}

#[test]
fn with_sign_in_mode_none_the_history_server_serves_everyone_and_the_notes_say_so_loudly() {
    let platform = Platform::start();
    let answer = platform.release(
        "install",
        &chart(),
        &json!({"eventLogs": {"location": "s3a://spark-events"}, "platform": {"tenants": {"data-eng": TENANT}},
                "history": {"signIn": {"mode": "none"}}}),
    );
    let objects = manifest_of(&answer);
    let history = find(&objects, "Deployment", "sparkplane-history");
    let args = args_of(history);
    assert!(args.contains(&"--auth=none".to_owned()), "{args:?}");
    // Nothing of a sign-in or of access rules: with none they would mean nothing.
    assert!(
        args.iter().all(|a| !a.starts_with("--oidc") && !a.starts_with("--proxy") && !a.starts_with("--tenants")),
        "{args:?}"
    );
    let volumes = history["spec"]["template"]["spec"]["volumes"].to_string();
    assert!(!volumes.contains("signin") && !volumes.contains("tenants"), "{volumes}");
    let notes = answer["info"]["notes"].as_str().expect("NOTES.txt");
    assert!(
        notes.contains(
            "WARNING: the History Server has NO SIGN-IN (history.signIn.mode=none): everyone who reaches its\nport \
             sees every team's applications"
        ),
        "{notes}"
    );
    // The console is on by default: the warning names it too.
    assert!(notes.contains("and on /console every\nteam's SparkJobs with their running Spark UIs."), "{notes}");
}

#[test]
fn the_ingress_and_the_http_route_reach_the_history_servers_service_and_port() {
    let platform = Platform::start();
    let values = json!({
        "eventLogs": {"location": "s3a://spark-events"},
        "history": {
            "signIn": {"mode": "none"},
            "ingress": {"enabled": true, "className": "nginx", "host": "spark.example.com", "tlsSecret": "spark-tls",
                        "annotations": {"nginx.ingress.kubernetes.io/proxy-body-size": "0"}},
            "httpRoute": {"enabled": true, "parentRefs": [{"name": "public", "namespace": "gateways"}],
                          "hostnames": ["spark.example.com"]},
        },
    });
    // A cluster without the Gateway API refuses the HTTPRoute, naming it, and installs nothing.
    let refused = platform.release("install", &chart(), &values);
    let message = refused["error"].as_str().expect("refused");
    assert!(
        message.contains("no matches for kind \"HTTPRoute\" in version \"gateway.networking.k8s.io/v1\""),
        "{message}"
    );

    // With the Gateway API's kind known to discovery (a stand-in without its schema; see the module's doc).
    platform.fake.insert(sparkplane_fakekube::schemaless_crd(
        "gateway.networking.k8s.io",
        "httproutes",
        "httproute",
        "HTTPRoute",
    ));
    let objects = platform.install(&values);
    let service = find(&objects, "Service", "sparkplane-history");
    let port = &service["spec"]["ports"][0];
    assert_eq!((port["port"].as_u64(), port["targetPort"].as_str()), (Some(18080), Some("http")));

    let ingress = find(&objects, "Ingress", "sparkplane-history");
    assert!(platform.stored(ingress).is_some(), "the simulated cluster accepts the Ingress");
    assert_eq!(ingress["metadata"]["annotations"], json!({"nginx.ingress.kubernetes.io/proxy-body-size": "0"}));
    assert_eq!(
        ingress["spec"],
        json!({
            "ingressClassName": "nginx",
            "tls": [{"secretName": "spark-tls", "hosts": ["spark.example.com"]}],
            "rules": [{"host": "spark.example.com", "http": {"paths": [{"path": "/", "pathType": "Prefix",
                "backend": {"service": {"name": "sparkplane-history", "port": {"number": port["port"]}}}}]}}],
        })
    );
    let route = find(&objects, "HTTPRoute", "sparkplane-history");
    assert!(platform.stored(route).is_some());
    assert_eq!(route["apiVersion"], "gateway.networking.k8s.io/v1");
    assert_eq!(
        route["spec"],
        json!({
            "parentRefs": [{"name": "public", "namespace": "gateways"}],
            "hostnames": ["spark.example.com"],
            "rules": [{"matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                       "backendRefs": [{"name": "sparkplane-history", "port": port["port"]}]}],
        })
    );
    // The Gateway API's own schema for the route (v1.6.1's CRD, tests/data/gateway-api), strictly: an unknown
    // field is refused as the API server's strict field validation would; and it can fail.
    let validator = jsonschema::validator_for(&http_route_schema()).expect("the schema compiles");
    let errors: Vec<String> = validator.iter_errors(route).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{errors:?}");
    let mut wrong = route.clone();
    wrong["spec"]["rules"][0]["backendRefs"][0]["port"] = json!("http");
    assert!(!validator.is_valid(&wrong), "a named port is not a Gateway API backend port");
    let mut wrong = route.clone();
    wrong["spec"]["parentRef"] = json!({"name": "public"});
    assert!(!validator.is_valid(&wrong), "a misspelt field");
    // Kubernetes' own schema for the Ingress (the HTTPRoute is a CRD's, not in it).
    let all = platform.write("ingress.yaml", &format!("---\n{ingress}\n")).display().to_string();
    let report = platform.helm(&["validate", "1.30.0,1.37.0", &all]);
    assert_eq!(report["problems"], json!([]), "{report}");

    // A route attached to nothing is refused at render.
    let platform = Platform::start();
    let detached = platform.release(
        "install",
        &chart(),
        &json!({"eventLogs": {"location": "s3a://spark-events"},
                "history": {"signIn": {"mode": "none"}, "httpRoute": {"enabled": true}}}),
    );
    assert!(
        detached["error"]
            .as_str()
            .is_some_and(|m| m.contains("history.httpRoute.enabled needs history.httpRoute.parentRefs")),
        "{detached}"
    );
}

/// The HTTPRoute's schema from the Gateway API's CRD, with every object that lists its properties closed to others.
fn http_route_schema() -> Value {
    fn strict(v: &mut Value) {
        match v {
            Value::Object(map) => {
                if map.contains_key("properties") && !map.contains_key("additionalProperties") {
                    map.insert("additionalProperties".into(), false.into());
                }
                map.values_mut().for_each(strict);
            }
            Value::Array(items) => items.iter_mut().for_each(strict),
            _ => {}
        }
    }
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/gateway-api/httproute-v1.schema.json");
    let mut schema: Value = serde_json::from_str(&std::fs::read_to_string(path).expect("schema")).expect("schema JSON");
    strict(&mut schema);
    schema
}
