//! Sign-in against a real OpenID Connect provider (npm's `oidc-provider`,
//! OpenID Certified, started by the test on 127.0.0.1): bearer tokens the
//! provider issued get in; expired, not yet valid, other audience, other
//! issuer, unknown key, `alg: none` and one-byte-altered tokens are refused
//! (401, the surface never runs, one log line each); a key rotation at the
//! provider is picked up without a restart; a browser signs in through the
//! authorization-code flow and lands where it asked for.

use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use sparkplane_access::Viewer;
use sparkplane_door::{Door, OidcDoor, OidcSettings};
use sparkplane_http::{HttpServer, Options, Reply, Request, Responder};
use sparkplane_testkit::oidc::{Browser, OidcClient, OidcProvider, ProviderSettings};

const SERVED: &str = "served";

/// The door in front of a surface that says who it served; the lines the door logged.
struct Front {
    server: HttpServer,
    url: String,
    lines: Arc<Mutex<Vec<String>>>,
}

impl Front {
    fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("lines").clone()
    }

    fn get(&self, path: &str, token: Option<&str>) -> (u16, Vec<(String, String)>, String) {
        let agent = sparkplane_http::agent_config(Some(Duration::from_secs(10))).max_redirects(0).build();
        let agent: ureq::Agent = agent.into();
        let mut request = agent.get(&format!("{}{path}", self.url));
        if let Some(token) = token {
            request = request.header("authorization", &format!("Bearer {token}"));
        }
        let mut answer = request.call().expect("the door answers");
        let headers = answer
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        let status = answer.status().as_u16();
        (status, headers, answer.body_mut().read_to_string().unwrap_or_default())
    }
}

fn client(id: &str, front_url: &str) -> OidcClient {
    OidcClient {
        id: id.to_owned(),
        secret: format!("{id}-secret"),
        redirect_uri: format!("{front_url}/oauth2/callback"),
    }
}

fn provider(dir: &Path, keys: &str, port: u16, front_url: &str, rotate: bool) -> OidcProvider {
    let settings = ProviderSettings {
        port,
        keys_file: dir.join(keys),
        new_key: rotate,
        drop_old_keys: rotate,
        clients: vec![client("sparkplane", front_url), client("another-app", front_url)],
        people: vec![
            ("alice".to_owned(), vec!["team-a".to_owned()]),
            ("bob".to_owned(), vec!["team-a".to_owned(), "team-b".to_owned()]),
        ],
        id_token_ttl: 600,
    };
    OidcProvider::start(dir, &settings).unwrap_or_else(|e| panic!("the provider starts: {e}"))
}

/// Binds the front's port first: the provider must know its callback URL.
fn bind() -> (TcpListener, String) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    (listener, url)
}

fn front(listener: TcpListener, url: &str, issuer: &str) -> Front {
    let settings = OidcSettings {
        issuer: issuer.to_owned(),
        client_id: "sparkplane".to_owned(),
        client_secret: Some("sparkplane-secret".to_owned()),
        audiences: Vec::new(),
        algorithms: Vec::new(),
        public_url: url.to_owned(),
        cookie_key: Some(vec![7u8; 32]),
        scopes: vec!["profile".to_owned(), "groups".to_owned()],
        groups_claim: "groups".to_owned(),
        leeway_secs: 60,
        timeout: Duration::from_secs(10),
    };
    let lines = Arc::new(Mutex::new(Vec::new()));
    let collected = Arc::clone(&lines);
    let door = Door::oidc(OidcDoor::start(settings).unwrap_or_else(|e| panic!("the door opens: {e}")))
        .logging_to(Arc::new(move |line: &str| collected.lock().expect("lines").push(line.to_owned())));
    let handler = move |request: Request, responder: Responder| {
        let reply = match door.admit(&request) {
            Ok(Viewer::Person(person)) => {
                let groups: Vec<&str> = person.groups.iter().map(String::as_str).collect();
                Reply::text(
                    200,
                    "text/plain",
                    format!("{SERVED} {} [{}] {}", person.user, groups.join(","), request.path),
                )
            }
            Ok(Viewer::Local) => Reply::text(200, "text/plain", format!("{SERVED} the local user")),
            Err(reply) => reply,
        };
        responder.send(reply);
    };
    let server = sparkplane_http::start(listener, Options::new("door-test"), handler).expect("the front serves");
    Front { server, url: url.to_owned(), lines }
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Claims as the provider would issue them for alice and the door's client, changed by `change`.
fn claims(issuer: &str, change: &[(&str, Value)]) -> Value {
    let mut claims = json!({
        "iss": issuer, "aud": "sparkplane", "sub": "alice", "preferred_username": "alice",
        "groups": ["team-a"], "iat": now(), "exp": now() + 600,
    });
    for (name, value) in change {
        claims[*name] = value.clone();
    }
    claims
}

fn assert_refused(front: &Front, token: &str, reason: &str) {
    let before = front.lines().len();
    let (status, headers, body) = front.get("/api/v1/applications", Some(token));
    assert_eq!(status, 401, "{reason}: {body}");
    assert!(!body.contains(SERVED), "{reason}: the surface ran: {body}");
    assert!(
        headers.iter().any(|(n, v)| n == "www-authenticate" && v.contains("error=\"invalid_token\"")),
        "{reason}: {headers:?}"
    );
    let lines = front.lines();
    assert_eq!(lines.len(), before + 1, "{reason}: one log line: {lines:?}");
    let line = &lines[before];
    assert!(line.contains(reason), "{reason}: {line}");
    assert!(line.starts_with("sparkplane: refused GET /api/v1/applications from 127.0.0.1: "), "{line}");
    assert!(!line.contains(token) && !line.contains(&token[..20]), "the token is never logged: {line}");
}

#[test]
fn provider_tokens_get_in_and_every_forged_or_foreign_token_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (listener, url) = bind();
    let ours = provider(dir.path(), "ours.json", 0, &url, false);
    let front = front(listener, &url, &ours.issuer);

    // A real ID token from the authorization-code flow, sent by an API client.
    let token = ours.id_token(&client("sparkplane", &url), "bob", "n-1").expect("an ID token");
    let (status, _, body) = front.get("/api/v1/applications", Some(&token));
    assert_eq!((status, body.as_str()), (200, "served bob [team-a,team-b] /api/v1/applications"));
    assert!(front.lines().is_empty(), "{:?}", front.lines());

    // No token: 401 with the plain challenge, nothing served.
    let (status, headers, body) = front.get("/api/v1/applications", None);
    assert_eq!(status, 401, "{body}");
    assert!(headers.iter().any(|(n, v)| n == "www-authenticate" && v == "Bearer realm=\"sparkplane\""));

    let foreign = ours.id_token(&client("another-app", &url), "alice", "n-2").expect("a token for another app");
    assert_refused(&front, &foreign, "the token is for another audience");

    let expired = ours.sign(&claims(&ours.issuer, &[("exp", json!(now() - 3_600)), ("iat", json!(now() - 7_200))]));
    assert_refused(&front, &expired, "the token expired");

    let early = ours.sign(&claims(&ours.issuer, &[("nbf", json!(now() + 3_600)), ("exp", json!(now() + 7_200))]));
    assert_refused(&front, &early, "the token is not valid for another");

    // Another provider: its real token is signed with a key ours never published; a token naming it as
    // issuer is refused even when signed with our provider's key; and its key signing one naming ours too.
    let other = provider(dir.path(), "other.json", 0, &url, false);
    let from_other = other.id_token(&client("sparkplane", &url), "alice", "n-3").expect("the other's token");
    assert_refused(&front, &from_other, "no key of the issuer's set matches the token");
    let other_issuer = ours.sign(&claims(&other.issuer, &[]));
    assert_refused(&front, &other_issuer, &format!("the token is from issuer `{}`", other.issuer));
    let unknown_key = other.sign(&claims(&ours.issuer, &[]));
    assert_refused(&front, &unknown_key, "no key of the issuer's set matches the token");

    // alg none: the real token's claims, no signature.
    let mut parts = token.split('.');
    let (_, payload) = (parts.next(), parts.next().expect("a payload"));
    let none = format!("{}.{payload}.", URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#));
    assert_refused(&front, &none, "the token");

    // One byte of the payload altered.
    let mut altered = token.clone().into_bytes();
    let at = token.find('.').expect("a dot") + 10;
    altered[at] = if altered[at] == b'A' { b'B' } else { b'A' };
    let altered = String::from_utf8(altered).expect("ascii");
    assert_refused(&front, &altered, "the token");

    // Still served for the good token afterwards.
    assert_eq!(front.get("/api/v1/applications", Some(&token)).0, 200);
    front.server.stop();
}

#[test]
fn a_key_rotation_at_the_provider_is_picked_up_without_a_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (listener, url) = bind();
    let before = provider(dir.path(), "keys.json", 0, &url, false);
    let (issuer, port) = (before.issuer.clone(), before.port);
    let front = front(listener, &url, &issuer);
    let old = before.id_token(&client("sparkplane", &url), "alice", "n-1").expect("a token");
    assert_eq!(front.get("/api/v1/applications", Some(&old)).0, 200, "the first key is fetched");
    drop(before);

    // The provider comes back on the same port signing with a new key, the old one no longer published.
    let after = provider(dir.path(), "keys.json", port, &url, true);
    assert_eq!(after.issuer, issuer);
    let new = after.id_token(&client("sparkplane", &url), "alice", "n-2").expect("a token with the new key");
    assert_ne!(header_kid(&old), header_kid(&new), "the provider rotated");
    // The door fetches again for an unknown key at most every 10 s (forged kids cannot hammer the provider).
    std::thread::sleep(Duration::from_secs(11));
    let (status, _, body) = front.get("/api/v1/applications", Some(&new));
    assert_eq!(status, 200, "the new key is picked up: {body}");
    // The old key is gone from the set now held: its token is refused.
    assert_refused(&front, &old, "no key of the issuer's set matches the token");
    front.server.stop();
}

fn header_kid(token: &str) -> String {
    let header = token.split('.').next().expect("a header");
    let header: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(header).expect("base64")).expect("json");
    header["kid"].as_str().expect("a kid").to_owned()
}

#[test]
fn a_browser_signs_in_through_the_provider_and_lands_where_it_asked() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (listener, url) = bind();
    let ours = provider(dir.path(), "keys.json", 0, &url, false);
    let front = front(listener, &url, &ours.issuer);

    let mut browser = Browser::new("bob");
    let landed = browser.open(&format!("{url}/history/app-1/jobs/?x=1")).expect("the browser gets somewhere");
    assert_eq!(landed.status, 200, "{landed:?}");
    assert_eq!(landed.body, "served bob [team-a,team-b] /history/app-1/jobs/");
    assert!(browser.cookies.contains_key("sparkplane_session"), "{:?}", browser.cookies);
    assert!(!browser.cookies.contains_key("sparkplane_login"), "the login cookie is cleared");

    // The session serves the next page without the provider.
    let again = browser.fetch(&format!("{url}/"), None).expect("a page");
    assert_eq!(again.body, "served bob [team-a,team-b] /");

    // An altered session cookie signs no one in: back to the provider.
    let mut forged = Browser::new("bob");
    let session = browser.cookies["sparkplane_session"].clone();
    forged.cookies.insert("sparkplane_session".to_owned(), session.replacen('e', "f", 1));
    let sent = forged.fetch(&format!("{url}/"), None).expect("an answer");
    assert_eq!(sent.status, 302);
    assert!(sent.headers.iter().any(|(n, v)| n == "location" && v.starts_with("/oauth2/start?rd=")), "{sent:?}");

    // Where to land is a path of this server only: never another site.
    let mut elsewhere = Browser::new("alice");
    let landed = elsewhere.open(&format!("{url}/oauth2/start?rd=//evil.example/x")).expect("lands");
    assert_eq!(landed.body, "served alice [team-a] /");

    // A callback that is not this browser's sign-in is refused with a page, and logged.
    let mut stray = Browser::new("alice");
    let answer = stray.fetch(&format!("{url}/oauth2/callback?code=abc&state=xyz"), None).expect("an answer");
    assert_eq!(answer.status, 401);
    assert!(answer.body.contains("Sign-in failed: no sign-in is in progress"), "{}", answer.body);
    assert!(front.lines().iter().any(|l| l.contains("sign-in failed")), "{:?}", front.lines());

    // Signing out clears the session.
    let out = browser.fetch(&format!("{url}/oauth2/sign_out"), None).expect("signed out");
    assert_eq!(out.status, 200);
    assert!(!browser.cookies.contains_key("sparkplane_session"));
    front.server.stop();
}
