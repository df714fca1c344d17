//! The browser's sign-in: OpenID Connect's authorization-code flow with
//! PKCE (S256), and the signed cookies that carry a login in progress and
//! then the session.
//!
//! A login starts with [`start`]: a fresh `state`, `nonce` and PKCE
//! verifier, the provider's authorization URL carrying the challenge, and a
//! short-lived signed cookie holding what the callback must match (so any
//! replica of the server can finish it). The callback is checked by
//! [`finish`]: the cookie's signature and age, `state` equal to the
//! cookie's, the provider's `iss` (when it sends one, RFC 9207) its own, no
//! provider error; it gives the code and the form body of the
//! token request (with the verifier). The ID token that request returns is
//! verified with its nonce ([`crate::KeyCache::verify_id_token`]), and the
//! person goes into a signed session cookie ([`Session`]).
//! Where the person lands afterwards is a path of this server only (no open
//! redirect). Owns the flow's rules; not the HTTP exchange (the host sends
//! the token request) nor the cookie header's attributes' transport.

use std::collections::BTreeSet;

use aws_lc_rs::digest::{SHA256, digest};
use aws_lc_rs::hmac;
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sparkplane_access::Identity;

/// The cookie of a login in progress.
pub const LOGIN_COOKIE: &str = "sparkplane_login";
/// The session cookie.
pub const SESSION_COOKIE: &str = "sparkplane_session";
/// How long a login may take from the redirect to the callback, in seconds.
pub const LOGIN_TTL_SECS: u64 = 600;
/// The longest a session lasts, whatever the ID token's expiry, in seconds.
pub const SESSION_MAX_SECS: u64 = 8 * 3600;
/// The largest session cookie value; a person with more groups than fit is refused.
pub const MAX_COOKIE_BYTES: usize = 3_800;
/// The largest discovery document read.
pub const MAX_DISCOVERY_BYTES: usize = 256 * 1024;

/// What the provider's discovery document says (`/.well-known/openid-configuration`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub jwks_uri: String,
}

impl Discovery {
    /// Reads a discovery document; its `issuer` must be the configured one
    /// exactly (OpenID Connect Discovery's rule against a swapped document).
    pub fn parse(body: &[u8], issuer: &str) -> Result<Discovery, String> {
        if body.len() > MAX_DISCOVERY_BYTES {
            return Err(format!("the discovery document is larger than {MAX_DISCOVERY_BYTES} bytes"));
        }
        let discovery: Discovery =
            serde_json::from_slice(body).map_err(|e| format!("the discovery document is not valid: {e}"))?;
        if discovery.issuer != issuer {
            return Err(format!(
                "the discovery document's issuer is `{}`, not the configured `{issuer}`; set --oidc-issuer to the provider's exact issuer",
                discovery.issuer
            ));
        }
        Ok(discovery)
    }
}

/// This server as the provider's client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    /// The callback URL registered at the provider.
    pub redirect_uri: String,
    /// Scopes asked for; `openid` is always among them.
    pub scopes: Vec<String>,
}

/// The key that signs this server's cookies (from a Secret; 32 bytes or more).
pub struct CookieKey(hmac::Key);

impl CookieKey {
    /// A key from secret bytes; refuses fewer than 32.
    pub fn new(secret: &[u8]) -> Result<CookieKey, String> {
        if secret.len() < 32 {
            return Err("the cookie key must be at least 32 bytes (the Secret's `cookie-key`)".to_owned());
        }
        Ok(CookieKey(hmac::Key::new(hmac::HMAC_SHA256, secret)))
    }

    fn seal<T: Serialize>(&self, value: &T) -> String {
        let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default());
        let tag = hmac::sign(&self.0, body.as_bytes());
        format!("{body}.{}", URL_SAFE_NO_PAD.encode(tag.as_ref()))
    }

    fn open<T: for<'de> Deserialize<'de>>(&self, sealed: &str) -> Option<T> {
        if sealed.len() > MAX_COOKIE_BYTES * 2 {
            return None;
        }
        let (body, tag) = sealed.split_once('.')?;
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        hmac::verify(&self.0, body.as_bytes(), &tag).ok()?;
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(body).ok()?).ok()
    }
}

/// A login in progress, as its cookie holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub state: String,
    pub nonce: String,
    pub verifier: String,
    /// The path to land on afterwards.
    pub return_to: String,
    /// Seconds since the epoch after which the callback is refused.
    pub until: u64,
}

/// Where to send the browser, and the cookie to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Started {
    pub authorize_url: String,
    pub login_cookie: String,
}

/// Starts a login for a person who asked for `return_to`.
pub fn start(discovery: &Discovery, client: &Client, key: &CookieKey, return_to: &str, now: u64) -> Started {
    let pending = Pending {
        state: random_token(),
        nonce: random_token(),
        verifier: random_token(),
        return_to: local_path(return_to),
        until: now + LOGIN_TTL_SECS,
    };
    let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, pending.verifier.as_bytes()).as_ref());
    let mut scopes: Vec<&str> = vec!["openid"];
    scopes.extend(client.scopes.iter().map(String::as_str).filter(|s| *s != "openid"));
    let query = form(&[
        ("response_type", "code"),
        ("client_id", &client.client_id),
        ("redirect_uri", &client.redirect_uri),
        ("scope", &scopes.join(" ")),
        ("state", &pending.state),
        ("nonce", &pending.nonce),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
    ]);
    let separator = if discovery.authorization_endpoint.contains('?') { '&' } else { '?' };
    Started {
        authorize_url: format!("{}{separator}{query}", discovery.authorization_endpoint),
        login_cookie: key.seal(&pending),
    }
}

/// A callback that may be exchanged for tokens.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Callback {
    pub pending: Pending,
    /// The token request's form body (`application/x-www-form-urlencoded`).
    pub token_request: String,
}

/// Checks a callback's query against the login cookie.
pub fn finish(
    discovery: &Discovery,
    client: &Client,
    key: &CookieKey,
    login_cookie: Option<&str>,
    query: &str,
    now: u64,
) -> Result<Callback, String> {
    let pending: Pending = login_cookie
        .and_then(|c| key.open(c))
        .ok_or("no sign-in is in progress in this browser (or its cookie was altered); start again")?;
    if now > pending.until {
        return Err("the sign-in took longer than 10 minutes; start again".to_owned());
    }
    let params: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let param = |name: &str| params.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
    if let Some(error) = param("error") {
        let printable: String = error.chars().filter(|c| c.is_ascii_graphic()).take(64).collect();
        return Err(format!("the identity provider refused the sign-in: {printable}"));
    }
    // RFC 9207: a provider that names itself in the callback must be ours (a mix-up attack otherwise).
    if param("iss").is_some_and(|iss| iss != discovery.issuer) {
        return Err("the callback is from another identity provider than this server's; start again".to_owned());
    }
    if !same(param("state").unwrap_or_default(), &pending.state) {
        return Err("the callback's state is not this sign-in's; start again".to_owned());
    }
    let code = param("code").filter(|c| !c.is_empty()).ok_or("the callback carries no code")?;
    let token_request = form(&[
        ("grant_type", "authorization_code"),
        ("code", code),
        ("redirect_uri", &client.redirect_uri),
        ("client_id", &client.client_id),
        ("code_verifier", &pending.verifier),
    ]);
    Ok(Callback { pending, token_request })
}

/// The ID token from a token endpoint's answer.
pub fn id_token(answer: &[u8]) -> Result<String, String> {
    let answer: Value = serde_json::from_slice(answer).map_err(|_| "the token endpoint's answer is not JSON")?;
    answer
        .get("id_token")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| "the token endpoint's answer has no id_token".to_owned())
}

/// A signed-in person, as the session cookie holds them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    pub user: String,
    pub groups: BTreeSet<String>,
    /// Seconds since the epoch the session ends.
    pub until: u64,
}

impl Session {
    /// A session for a person whose ID token expires at `token_exp`: it ends
    /// then or after [`SESSION_MAX_SECS`], whichever is first.
    pub fn new(person: Identity, token_exp: u64, now: u64) -> Session {
        Session { user: person.user, groups: person.groups, until: token_exp.min(now + SESSION_MAX_SECS) }
    }

    /// The cookie value, or why the person does not fit in one.
    pub fn seal(&self, key: &CookieKey) -> Result<String, String> {
        let sealed = key.seal(self);
        if sealed.len() > MAX_COOKIE_BYTES {
            return Err(format!(
                "{} groups do not fit in a session cookie; narrow the groups claim at the provider or use trusted-proxy mode",
                self.groups.len()
            ));
        }
        Ok(sealed)
    }

    /// The person a cookie names, if it is ours, unaltered and not over.
    pub fn open(key: &CookieKey, cookie: &str, now: u64) -> Option<Identity> {
        let session: Session = key.open(cookie)?;
        (now < session.until).then_some(Identity { user: session.user, groups: session.groups })
    }
}

/// A path of this server to land on: `return_to` if it is one, else `/`.
/// Refuses what a browser would read as another site (`//host`, `/\host`, a scheme).
pub fn local_path(return_to: &str) -> String {
    let local = return_to.starts_with('/')
        && !return_to.starts_with("//")
        && !return_to.starts_with("/\\")
        && !return_to.chars().any(|c| c.is_control() || c == '\\');
    if local { return_to.to_owned() } else { "/".to_owned() }
}

/// 32 random bytes, base64url: a state, a nonce or a PKCE verifier (43 characters).
fn random_token() -> String {
    let mut bytes = [0u8; 32];
    // The system's generator failing is not a state a server can go on in.
    SystemRandom::new().fill(&mut bytes).expect("the system's random generator");
    URL_SAFE_NO_PAD.encode(bytes)
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

/// Compares in time independent of where the values differ.
fn same(given: &str, want: &str) -> bool {
    let (given, want) = (given.as_bytes(), want.as_bytes());
    let mut difference = u8::from(given.len() != want.len());
    for (i, byte) in want.iter().enumerate() {
        difference |= byte ^ given.get(i).copied().unwrap_or(0);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn discovery() -> Discovery {
        Discovery::parse(
            br#"{"issuer":"https://id.example.test","authorization_endpoint":"https://id.example.test/auth",
                "token_endpoint":"https://id.example.test/token","jwks_uri":"https://id.example.test/jwks"}"#,
            "https://id.example.test",
        )
        .expect("discovery")
    }

    fn client() -> Client {
        Client {
            client_id: "sparkplane".into(),
            redirect_uri: "https://spark.example.test/oauth2/callback".into(),
            scopes: vec!["profile".into(), "groups".into()],
        }
    }

    fn key() -> CookieKey {
        CookieKey::new(&[7u8; 32]).expect("key")
    }

    fn query_of(url: &str) -> Vec<(String, String)> {
        let query = url.split_once('?').expect("a query").1;
        url::form_urlencoded::parse(query.as_bytes()).into_owned().collect()
    }

    #[test]
    fn a_login_sends_pkce_state_and_nonce_and_finishes_with_the_verifier() {
        let started = start(&discovery(), &client(), &key(), "/history/app-1/jobs/?x=1", 1_000);
        let sent = query_of(&started.authorize_url);
        let get = |n: &str| sent.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone()).expect(n);
        assert!(started.authorize_url.starts_with("https://id.example.test/auth?"));
        assert_eq!(get("response_type"), "code");
        assert_eq!(get("scope"), "openid profile groups");
        assert_eq!(get("code_challenge_method"), "S256");
        let pending: Pending = key().open(&started.login_cookie).expect("our cookie");
        assert_eq!(get("state"), pending.state);
        assert_eq!(get("nonce"), pending.nonce);
        assert_eq!(pending.verifier.len(), 43);
        let challenge = URL_SAFE_NO_PAD.encode(digest(&SHA256, pending.verifier.as_bytes()).as_ref());
        assert_eq!(get("code_challenge"), challenge, "S256 of the verifier");
        assert_eq!(pending.return_to, "/history/app-1/jobs/?x=1");
        let callback = format!("code=abc&state={}&iss=https%3A%2F%2Fid.example.test", pending.state);
        let done =
            finish(&discovery(), &client(), &key(), Some(&started.login_cookie), &callback, 1_100).expect("finished");
        let body: Vec<(String, String)> =
            url::form_urlencoded::parse(done.token_request.as_bytes()).into_owned().collect();
        assert!(body.contains(&("code".into(), "abc".into())));
        assert!(body.contains(&("code_verifier".into(), pending.verifier.clone())));
        assert!(body.contains(&("grant_type".into(), "authorization_code".into())));
        let other = start(&discovery(), &client(), &key(), "/", 1_000);
        assert_ne!(query_of(&other.authorize_url), sent, "every login is fresh");
    }

    #[test]
    fn a_callback_that_is_not_this_logins_is_refused() {
        let started = start(&discovery(), &client(), &key(), "/", 1_000);
        let pending: Pending = key().open(&started.login_cookie).expect("cookie");
        let good = format!("code=abc&state={}", pending.state);
        let mut altered = started.login_cookie.clone().into_bytes();
        altered[5] = if altered[5] == b'A' { b'B' } else { b'A' };
        let altered = String::from_utf8(altered).expect("ascii");
        let other_key = CookieKey::new(&[8u8; 32]).expect("key");
        let cases: Vec<(&str, Option<&str>, String, u64, &str)> = vec![
            ("another state", Some(&started.login_cookie), "code=abc&state=forged".into(), 1_100, "state"),
            ("no cookie", None, good.clone(), 1_100, "no sign-in is in progress"),
            ("an altered cookie", Some(&altered), good.clone(), 1_100, "no sign-in is in progress"),
            ("too late", Some(&started.login_cookie), good.clone(), 1_000 + LOGIN_TTL_SECS + 1, "10 minutes"),
            ("no code", Some(&started.login_cookie), format!("state={}", pending.state), 1_100, "no code"),
            ("the provider said no", Some(&started.login_cookie), "error=access_denied".into(), 1_100, "access_denied"),
            (
                "another provider's callback",
                Some(&started.login_cookie),
                format!("{good}&iss=https%3A%2F%2Fevil.test"),
                1_100,
                "another identity provider",
            ),
        ];
        for (case, cookie, query, now, says) in cases {
            let error = finish(&discovery(), &client(), &key(), cookie, &query, now).expect_err(case);
            assert!(error.contains(says), "{case}: {error}");
        }
        let foreign = other_key.seal(&pending);
        assert!(finish(&discovery(), &client(), &key(), Some(&foreign), &good, 1_100).is_err(), "another server's key");
    }

    #[test]
    fn a_session_ends_with_the_token_or_after_eight_hours_and_resists_tampering() {
        let person = Identity::new("alice", ["team-a"]);
        let session = Session::new(person.clone(), 5_000, 1_000);
        assert_eq!(session.until, 5_000);
        assert_eq!(Session::new(person.clone(), u64::MAX, 1_000).until, 1_000 + SESSION_MAX_SECS);
        let cookie = session.seal(&key()).expect("fits");
        assert_eq!(Session::open(&key(), &cookie, 4_999), Some(person));
        assert_eq!(Session::open(&key(), &cookie, 5_000), None, "over");
        let (body, tag) = cookie.split_once('.').expect("sealed");
        let forged_body = URL_SAFE_NO_PAD.encode(
            serde_json::to_vec(&Session { user: "admin".into(), groups: BTreeSet::new(), until: 9_999 }).expect("json"),
        );
        assert_eq!(Session::open(&key(), &format!("{forged_body}.{tag}"), 1_000), None, "another body, same tag");
        assert_eq!(Session::open(&key(), body, 1_000), None, "no tag");
        let crowd = Identity::new("bob", (0..400).map(|i| format!("group-number-{i}")));
        assert!(Session::new(crowd, 5_000, 1_000).seal(&key()).unwrap_err().contains("400 groups"));
    }

    #[test]
    fn landing_is_only_ever_on_this_server() {
        for (asked, lands) in [
            ("/history/", "/history/"),
            ("/jobs/ns/name/?tab=sql", "/jobs/ns/name/?tab=sql"),
            ("//evil.test/", "/"),
            ("/\\evil.test", "/"),
            ("https://evil.test/", "/"),
            ("javascript:alert(1)", "/"),
            ("/ok\r\nSet-Cookie: x=1", "/"),
            ("", "/"),
        ] {
            assert_eq!(local_path(asked), lands, "{asked:?}");
        }
    }

    #[test]
    fn a_discovery_document_must_name_the_configured_issuer() {
        let body =
            br#"{"issuer":"https://evil.test","authorization_endpoint":"a","token_endpoint":"t","jwks_uri":"j"}"#;
        assert!(Discovery::parse(body, "https://id.example.test").unwrap_err().contains("not the configured"));
        assert!(Discovery::parse(b"{}", "x").unwrap_err().contains("not valid"));
        assert!(CookieKey::new(&[1u8; 31]).is_err());
        assert_eq!(id_token(br#"{"id_token":"a.b.c","access_token":"x"}"#), Ok("a.b.c".into()));
        assert!(id_token(br#"{"access_token":"x"}"#).is_err());
    }
}
