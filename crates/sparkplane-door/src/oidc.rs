//! The OpenID Connect door: a browser signs in through the provider
//! (authorization code with PKCE; `/oauth2/start`, `/oauth2/callback`,
//! `/oauth2/sign_out`) and carries a signed session cookie; an API client
//! sends `Authorization: Bearer <ID or access token>` (a JWT the provider
//! signed for this client or a configured audience).
//!
//! Owns: the HTTP side of both — fetching the discovery document at start
//! and the provider's key set when the key cache says ([`HttpKeys`]), the
//! token request of a sign-in (with the client's secret, HTTP Basic), the
//! routes' answers and cookies, who a request is from, and the refusals (401
//! with `WWW-Authenticate`, one log line each naming the reason, never the
//! token). A page request from no one is sent to sign in; an API request from
//! no one gets 401.
//! Must not: verify a token or check a callback itself (`sparkplane_signin`
//! does), or decide what a person may see.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use sparkplane_access::Viewer;
use sparkplane_http::{Method, Reply, Request};
use sparkplane_signin::flow::{
    self, Client, CookieKey, Discovery, LOGIN_COOKIE, LOGIN_TTL_SECS, MAX_DISCOVERY_BYTES, SESSION_COOKIE, Session,
};
use sparkplane_signin::{KeyCache, KeySource, TokenSettings};

use crate::cookies;
use crate::logline::{peer, printable};

/// The largest key set or token answer read from the provider.
const MAX_PROVIDER_ANSWER: u64 = 256 * 1024;
/// Where a sign-in starts, and the paths of its other routes.
pub const START_PATH: &str = "/oauth2/start";
pub const CALLBACK_PATH: &str = "/oauth2/callback";
pub const SIGN_OUT_PATH: &str = "/oauth2/sign_out";

/// How the door is set up (the server's flags and Secret). Its `Debug`
/// never shows the client secret or the cookie key.
#[derive(Clone)]
pub struct OidcSettings {
    /// The provider's issuer, exactly as its discovery document names it.
    pub issuer: String,
    /// This server's client id at the provider (also an accepted audience).
    pub client_id: String,
    /// The client's secret (a confidential client), when it has one.
    pub client_secret: Option<String>,
    /// Further audiences accepted on bearer tokens (an API's).
    pub audiences: Vec<String>,
    /// Allowed signature algorithms (empty: RS256 and ES256).
    pub algorithms: Vec<String>,
    /// Where browsers reach this server (`https://spark.example.com`); the
    /// callback registered at the provider is this plus `/oauth2/callback`.
    pub public_url: String,
    /// The key that signs cookies: 32 bytes or more; every replica must share
    /// it. `None`: a random key made at start (a restart signs everyone out).
    pub cookie_key: Option<Vec<u8>>,
    /// Scopes asked for besides `openid` (`profile`, `email`, `groups`, …).
    pub scopes: Vec<String>,
    /// The claim listing a person's groups.
    pub groups_claim: String,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// How long one request to the provider may take.
    pub timeout: Duration,
}

impl std::fmt::Debug for OidcSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcSettings")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret.as_ref().map(|_| "<redacted>"))
            .field("audiences", &self.audiences)
            .field("algorithms", &self.algorithms)
            .field("public_url", &self.public_url)
            .field("cookie_key", &"<redacted>")
            .field("scopes", &self.scopes)
            .field("groups_claim", &self.groups_claim)
            .field("leeway_secs", &self.leeway_secs)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// Why the door cannot open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartError {
    /// A setting is wrong (exit 2).
    Invalid(String),
    /// The provider cannot be reached or answers wrongly (exit 3).
    Unreachable(String),
}

impl std::fmt::Display for StartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StartError::Invalid(message) | StartError::Unreachable(message) => f.write_str(message),
        }
    }
}

/// The provider's key set over HTTP.
struct HttpKeys {
    agent: ureq::Agent,
    url: String,
}

impl KeySource for HttpKeys {
    fn fetch(&mut self) -> Result<JwkSet, String> {
        let body = get(&self.agent, &self.url, MAX_PROVIDER_ANSWER)?;
        key_set(&body).map_err(|e| format!("the key set at {} is not valid: {e}", self.url))
    }
}

/// The signing keys of a JWKS document: an encryption key is left out, and
/// a key this server cannot read is skipped rather than failing the set.
fn key_set(body: &[u8]) -> Result<JwkSet, String> {
    let document: serde_json::Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
    let keys = document.get("keys").and_then(serde_json::Value::as_array).ok_or("it has no `keys` list")?;
    let keys: Vec<Jwk> = keys
        .iter()
        // An encryption key never verifies a signature.
        .filter(|key| key.get("use").and_then(serde_json::Value::as_str) != Some("enc"))
        .filter_map(|key| serde_json::from_value(key.clone()).ok())
        .collect();
    Ok(JwkSet { keys })
}

/// The door.
pub struct OidcDoor {
    discovery: Discovery,
    client: Client,
    secret: Option<String>,
    token: TokenSettings,
    cookie_key: CookieKey,
    keys: Mutex<(KeyCache, HttpKeys)>,
    agent: ureq::Agent,
    secure_cookies: bool,
    made_key: bool,
}

impl OidcDoor {
    /// Checks the settings and reads the provider's discovery document; the
    /// keys are fetched on the first token.
    pub fn start(settings: OidcSettings) -> Result<OidcDoor, StartError> {
        let invalid = StartError::Invalid;
        check_url(&settings.issuer, "--oidc-issuer")?;
        let public_url = settings.public_url.trim_end_matches('/').to_owned();
        check_url(&public_url, "--public-url")?;
        let made_key = settings.cookie_key.is_none();
        let cookie_key = match &settings.cookie_key {
            Some(key) => CookieKey::new(key).map_err(invalid)?,
            None => CookieKey::new(&random_key()).map_err(invalid)?,
        };
        let mut audiences: Vec<&str> = vec![settings.client_id.as_str()];
        audiences.extend(settings.audiences.iter().map(String::as_str));
        let algorithms: Vec<&str> = settings.algorithms.iter().map(String::as_str).collect();
        let mut token = TokenSettings::new(&settings.issuer, &audiences, &algorithms).map_err(invalid)?;
        token.leeway_secs = settings.leeway_secs;
        token.groups_claim.clone_from(&settings.groups_claim);
        let agent = sparkplane_http::agent(Some(settings.timeout));
        let discovery_url = format!("{}/.well-known/openid-configuration", settings.issuer.trim_end_matches('/'));
        let body = get(&agent, &discovery_url, MAX_DISCOVERY_BYTES as u64).map_err(StartError::Unreachable)?;
        let discovery = Discovery::parse(&body, &settings.issuer).map_err(StartError::Unreachable)?;
        for (url, what) in [
            (&discovery.authorization_endpoint, "authorization_endpoint"),
            (&discovery.token_endpoint, "token_endpoint"),
            (&discovery.jwks_uri, "jwks_uri"),
        ] {
            check_url(url, what).map_err(|e| StartError::Unreachable(format!("the discovery document's {e}")))?;
        }
        let keys = HttpKeys { agent: agent.clone(), url: discovery.jwks_uri.clone() };
        Ok(OidcDoor {
            client: Client {
                client_id: settings.client_id,
                redirect_uri: format!("{public_url}{CALLBACK_PATH}"),
                scopes: settings.scopes,
            },
            discovery,
            secret: settings.client_secret,
            token,
            cookie_key,
            keys: Mutex::new((KeyCache::default(), keys)),
            agent,
            secure_cookies: public_url.starts_with("https://"),
            made_key,
        })
    }

    /// The provider's issuer.
    pub fn issuer(&self) -> &str {
        &self.discovery.issuer
    }

    /// Whether the cookie key was made at start (sessions end with the process, and are not shared between replicas).
    pub fn made_its_cookie_key(&self) -> bool {
        self.made_key
    }

    /// Who `request` is from, or the answer to send instead.
    pub fn admit(&self, request: &Request, log: &dyn Fn(&str)) -> Result<Viewer, Reply> {
        match request.path.as_str() {
            START_PATH => return Err(self.start_login(request)),
            CALLBACK_PATH => return Err(self.callback(request, log)),
            SIGN_OUT_PATH => return Err(self.sign_out()),
            _ => {}
        }
        if let Some(authorization) = request.header("authorization") {
            let Some(token) = bearer(authorization) else {
                return Err(refuse(request, "the Authorization header is not `Bearer <token>`", true, log));
            };
            let verified = {
                let mut held = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                let (cache, source) = &mut *held;
                cache.verify(&self.token, source, token, now())
            };
            return match verified {
                Ok(person) => Ok(Viewer::Person(person)),
                Err(refusal) => Err(refuse(request, &refusal.to_string(), true, log)),
            };
        }
        if let Some(person) =
            cookies::read(request, SESSION_COOKIE).and_then(|c| Session::open(&self.cookie_key, c, now()))
        {
            return Ok(Viewer::Person(person));
        }
        if wants_a_page(request) {
            let mut wanted = request.path.clone();
            if !request.query.is_empty() {
                wanted = format!("{wanted}?{}", request.query);
            }
            let target = format!("{START_PATH}?{}", form(&[("rd", &wanted)]));
            return Err(Reply::text(302, "", String::new()).with_header("location", &target));
        }
        Err(refuse(request, "not signed in", false, log))
    }

    fn start_login(&self, request: &Request) -> Reply {
        let return_to = url::form_urlencoded::parse(request.query.as_bytes())
            .find(|(name, _)| name == "rd")
            .map(|(_, value)| value.into_owned())
            .unwrap_or_else(|| "/".to_owned());
        let started = flow::start(&self.discovery, &self.client, &self.cookie_key, &return_to, now());
        Reply::text(302, "", String::new())
            .with_header("location", &started.authorize_url)
            .with_header(
                "set-cookie",
                &cookies::set(LOGIN_COOKIE, &started.login_cookie, "/oauth2/", LOGIN_TTL_SECS, self.secure_cookies),
            )
            .with_header("cache-control", "no-store")
    }

    fn callback(&self, request: &Request, log: &dyn Fn(&str)) -> Reply {
        match self.finish_login(request) {
            Ok((session_cookie, return_to)) => Reply::text(302, "", String::new())
                .with_header("location", &return_to)
                .with_header("set-cookie", &session_cookie)
                .with_header("set-cookie", &cookies::clear(LOGIN_COOKIE, "/oauth2/", self.secure_cookies))
                .with_header("cache-control", "no-store"),
            Err(why) => {
                log(&format!("sparkplane: sign-in failed for a browser from {}: {why}", peer(request)));
                let page = format!(
                    "<!doctype html><title>Sign-in failed</title><p>Sign-in failed: {}</p>\
                     <p><a href=\"{START_PATH}\">Sign in again</a></p>\n",
                    sparkplane_documents::markup::text(&why)
                );
                Reply::text(401, "text/html;charset=utf-8", page)
                    .with_header("set-cookie", &cookies::clear(LOGIN_COOKIE, "/oauth2/", self.secure_cookies))
                    .with_header("cache-control", "no-store")
            }
        }
    }

    /// The session cookie and the path to land on, or why the sign-in failed.
    fn finish_login(&self, request: &Request) -> Result<(String, String), String> {
        let login = cookies::read(request, LOGIN_COOKIE);
        let callback = flow::finish(&self.discovery, &self.client, &self.cookie_key, login, &request.query, now())?;
        let mut post = self
            .agent
            .post(&self.discovery.token_endpoint)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json");
        if let Some(secret) = &self.secret {
            // RFC 6749 2.3.1: the id and secret are form-encoded before they are joined.
            let pair = format!("{}:{}", form_value(&self.client.client_id), form_value(secret));
            post = post.header("authorization", &format!("Basic {}", STANDARD.encode(pair)));
        }
        let answer = post
            .send(callback.token_request.as_bytes())
            .map_err(|e| format!("the token endpoint cannot be reached: {e}"))?;
        let status = answer.status().as_u16();
        let body = read_limited(answer)?;
        if status != 200 {
            return Err(format!("the token endpoint answered HTTP {status}"));
        }
        let id_token = flow::id_token(&body)?;
        let (person, expires) = {
            let mut held = self.keys.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            let (cache, source) = &mut *held;
            cache
                .verify_id_token(&self.token, source, &id_token, now(), &callback.pending.nonce)
                .map_err(|refusal| format!("the ID token was refused: {refusal}"))?
        };
        let session = Session::new(person, expires, now());
        let sealed = session.seal(&self.cookie_key)?;
        let max_age = session.until.saturating_sub(now());
        let cookie = cookies::set(SESSION_COOKIE, &sealed, "/", max_age, self.secure_cookies);
        Ok((cookie, callback.pending.return_to))
    }

    fn sign_out(&self) -> Reply {
        Reply::text(
            200,
            "text/html;charset=utf-8",
            format!("<!doctype html><title>Signed out</title><p>Signed out. <a href=\"{START_PATH}\">Sign in again</a></p>\n"),
        )
        .with_header("set-cookie", &cookies::clear(SESSION_COOKIE, "/", self.secure_cookies))
        .with_header("cache-control", "no-store")
    }
}

/// The token of an `Authorization: Bearer …` header (the scheme's case ignored).
fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// A page a browser asks for (sent to sign in), rather than an API call (answered 401).
fn wants_a_page(request: &Request) -> bool {
    matches!(request.method, Method::Get | Method::Head)
        && !request.path.starts_with("/api/")
        && request.header("accept").is_some_and(|accept| accept.contains("text/html"))
}

/// 401 with the challenge RFC 6750 names, and one log line.
fn refuse(request: &Request, why: &str, token_sent: bool, log: &dyn Fn(&str)) -> Reply {
    log(&format!(
        "sparkplane: refused {} {} from {}: {why}",
        request.method_name(),
        printable(&request.path),
        peer(request)
    ));
    let challenge =
        if token_sent { "Bearer realm=\"sparkplane\", error=\"invalid_token\"" } else { "Bearer realm=\"sparkplane\"" };
    let body = if token_sent {
        format!("the token was refused: {why}\n")
    } else {
        "sign in: send an OpenID Connect token as `Authorization: Bearer <token>`, or open this address in a browser\n"
            .to_owned()
    };
    Reply::text(401, "text/plain;charset=utf-8", body).with_header("www-authenticate", challenge)
}

/// An https URL, or http to this machine (a provider in a test, or one on the same host).
fn check_url(url: &str, what: &str) -> Result<(), StartError> {
    let parsed = url::Url::parse(url).map_err(|e| StartError::Invalid(format!("{what} `{url}` is not a URL: {e}")))?;
    let loopback = match parsed.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => name == "localhost",
        None => false,
    };
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(StartError::Invalid(format!(
            "{what} `{url}` must be an https:// URL (plain http only to this machine): tokens and cookies would \
             travel unencrypted"
        ))),
    }
}

/// GETs `url`, expecting 200 and at most `limit` bytes.
fn get(agent: &ureq::Agent, url: &str, limit: u64) -> Result<Vec<u8>, String> {
    let answer = agent
        .get(url)
        .header("accept", "application/json")
        .call()
        .map_err(|e| format!("{url} cannot be reached: {e}"))?;
    let status = answer.status().as_u16();
    if status != 200 {
        return Err(format!("{url} answered HTTP {status}"));
    }
    let mut body = answer.into_body();
    body.with_config().limit(limit).read_to_vec().map_err(|e| format!("{url}: {e}"))
}

fn read_limited(answer: ureq::http::Response<ureq::Body>) -> Result<Vec<u8>, String> {
    let mut body = answer.into_body();
    body.with_config().limit(MAX_PROVIDER_ANSWER).read_to_vec().map_err(|e| format!("the token endpoint's answer: {e}"))
}

fn form(pairs: &[(&str, &str)]) -> String {
    url::form_urlencoded::Serializer::new(String::new()).extend_pairs(pairs).finish()
}

fn form_value(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// 32 random bytes for a cookie key made at start.
fn random_key() -> Vec<u8> {
    use aws_lc_rs::rand::{SecureRandom, SystemRandom};
    let mut key = vec![0u8; 32];
    // The system's generator failing is not a state a server can start in.
    SystemRandom::new().fill(&mut key).expect("the system's random generator");
    key
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_headers_are_read_with_any_case_and_nothing_else_is() {
        assert_eq!(bearer("Bearer abc.def.ghi"), Some("abc.def.ghi"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic dXNlcjpwYXNz"), None);
        assert_eq!(bearer("Bearer"), None);
        assert_eq!(bearer("Bearer   "), None);
    }

    #[test]
    fn provider_urls_are_https_or_this_machine() {
        for ok in ["https://login.example.com/realms/data", "http://127.0.0.1:5556", "http://localhost:8080/x"] {
            assert!(check_url(ok, "--oidc-issuer").is_ok(), "{ok}");
        }
        for bad in ["http://login.example.com", "ftp://127.0.0.1", "not a url", "http://10.0.0.1"] {
            assert!(matches!(check_url(bad, "--oidc-issuer"), Err(StartError::Invalid(_))), "{bad}");
        }
    }

    #[test]
    fn a_key_set_keeps_the_keys_it_can_use_and_skips_the_rest() {
        let body = br#"{"keys": [
            {"kty": "RSA", "kid": "sig", "use": "sig", "alg": "RS256", "n": "sXchDaQebHnPiGvyDOAT4saGEUetSyo9MKLOoWFsueri23bOdgWp4Dy1WlUzewbgBHod5pcM9H95GQRV3JDXboIRROSBigeC5yjU1hGzHHyXss8UDprecbAYxknTcQkhslANGRUZmdTOQ5qTRsLAt6BTYuyvVRdhS8exSZEy_c4gs_7svlJJQ4H9_NxsiIoLwAEk7-Q3UXERGYw_75IDrGA84-lA_-Ct4eTlXHBIY2EaV7t7LjJaynVJCpkv4LKjTTAumiGUIuQhrNhZLuF_RJLqHpM2kgWFLU7-VTdL1VbC2tejvcI2BlMkEpk1BzBZI0KQB0GaDWFLN-aEAw3vRw", "e": "AQAB"},
            {"kty": "RSA", "kid": "enc", "use": "enc", "alg": "RSA-OAEP", "n": "x", "e": "AQAB"},
            "not a key", 42
        ]}"#;
        let set = key_set(body).expect("a set");
        assert_eq!(set.keys.iter().map(|k| k.common.key_id.as_deref()).collect::<Vec<_>>(), [Some("sig")]);
        assert!(key_set(b"{}").is_err());
        assert!(key_set(b"not json").is_err());
    }

    #[test]
    fn settings_never_show_their_secrets() {
        let settings = OidcSettings {
            issuer: "https://login.example.com".to_owned(),
            client_id: "sparkplane".to_owned(),
            client_secret: Some("hunter2-client-secret".to_owned()),
            audiences: Vec::new(),
            algorithms: Vec::new(),
            public_url: "https://spark.example.com".to_owned(),
            cookie_key: Some(b"cookie-key-cookie-key-cookie-key-0123".to_vec()),
            scopes: Vec::new(),
            groups_claim: "groups".to_owned(),
            leeway_secs: 60,
            timeout: Duration::from_secs(10),
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("hunter2") && !shown.contains("cookie-key-cookie"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("https://login.example.com"), "{shown}");
    }
}
