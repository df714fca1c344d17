//! A real OpenID Connect provider for the sign-in tests: npm's
//! `oidc-provider` (OpenID Certified; `oidc/provider.mjs`), installed by
//! scripts/common.sh `need_oidc_provider`, started on 127.0.0.1 (a free port,
//! or a given one to restart it there with rotated keys) and stopped when
//! its handle drops. Also a small scripted [`Browser`] that follows
//! redirects with cookies and signs in at the provider's login page, an ID
//! token for a person through the authorization-code flow
//! ([`OidcProvider::id_token`]), and tokens signed with the provider's own
//! key for claims no provider would issue ([`OidcProvider::sign`]).

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};

/// A client registered at the provider.
#[derive(Debug, Clone)]
pub struct OidcClient {
    pub id: String,
    pub secret: String,
    pub redirect_uri: String,
}

/// How to start the provider.
#[derive(Debug, Clone)]
pub struct ProviderSettings {
    /// 0: any free port.
    pub port: u16,
    /// The signing keys' file, created with one new key when missing.
    pub keys_file: PathBuf,
    /// Put a new signing key first (a rotation; older keys stay published).
    pub new_key: bool,
    /// Publish only the first key.
    pub drop_old_keys: bool,
    pub clients: Vec<OidcClient>,
    /// Each person and their groups.
    pub people: Vec<(String, Vec<String>)>,
    pub id_token_ttl: u64,
}

/// A running provider.
pub struct OidcProvider {
    child: Child,
    _stdin: Option<ChildStdin>,
    /// `http://127.0.0.1:<port>`.
    pub issuer: String,
    pub port: u16,
    keys_file: PathBuf,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        // Closing its standard input stops it; kill is the fallback.
        self._stdin.take();
        for _ in 0..50 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where `need_oidc_provider` installs the package.
fn provider_home() -> PathBuf {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_default();
    home.join(".cache/sparkplane/tools/oidc-provider/9.13.3")
}

fn script(name: &str) -> PathBuf {
    crate::repo_root().join("crates/sparkplane-testkit/oidc").join(name)
}

/// The PKCE pair [`OidcProvider::id_token`] uses (S256 of the verifier).
const VERIFIER: &str = "sparkplane-testkit-pkce-verifier-0123456789abcdefghijklmnop";
const CHALLENGE: &str = "yPXACqu_sF0rUGx4rtiMcqzZWFXoI2ME8MEOAt6ivtU";

impl OidcProvider {
    /// Starts the provider with `settings` (its settings file goes to `dir`) and waits until it serves.
    pub fn start(dir: &Path, settings: &ProviderSettings) -> Result<OidcProvider, String> {
        let home = provider_home();
        if !home.join("node_modules/oidc-provider/package.json").is_file() {
            return Err(format!(
                "{} has no oidc-provider: run scripts/test.sh (need_oidc_provider installs it with npm)",
                home.display()
            ));
        }
        let people: serde_json::Map<String, Value> =
            settings.people.iter().map(|(user, groups)| (user.clone(), json!(groups))).collect();
        let clients: Vec<Value> = settings
            .clients
            .iter()
            .map(|c| json!({"id": c.id, "secret": c.secret, "redirect_uris": [c.redirect_uri]}))
            .collect();
        let file = dir.join(format!("oidc-provider-{}.json", std::process::id()));
        let written = json!({
            "port": settings.port,
            "keys_file": settings.keys_file,
            "new_key": settings.new_key,
            "drop_old_keys": settings.drop_old_keys,
            "clients": clients,
            "people": people,
            "id_token_ttl": settings.id_token_ttl,
        });
        std::fs::write(&file, written.to_string()).map_err(|e| format!("{}: {e}", file.display()))?;
        let mut child = Command::new("node")
            .arg(script("provider.mjs"))
            .arg(&file)
            .env("OIDC_PROVIDER_HOME", &home)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start node (Node.js 20 or newer is needed): {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        // The package's warnings come first on stdout; the issuer line says it serves.
        let mut issuer = None;
        let mut lines = BufReader::new(stdout).lines();
        for line in lines.by_ref() {
            let line = line.map_err(|e| format!("provider: {e}"))?;
            if let Some(found) = line.strip_prefix("listening ") {
                issuer = Some(found.trim().to_owned());
                break;
            }
        }
        // Whatever it prints later is read and dropped: a closed pipe would end it (EPIPE) mid-test.
        std::thread::spawn(move || lines.for_each(drop));
        let Some(issuer) = issuer else {
            let _ = child.kill();
            return Err("the provider stopped before it served (its errors are above)".to_owned());
        };
        let port = issuer.rsplit(':').next().and_then(|p| p.parse().ok()).ok_or("no port in the issuer")?;
        Ok(OidcProvider { _stdin: child.stdin.take(), child, issuer, port, keys_file: settings.keys_file.clone() })
    }

    /// A JWT signed with the provider's current signing key, with exactly `claims`.
    pub fn sign(&self, claims: &Value) -> String {
        let out = Command::new("node")
            .arg(script("sign.mjs"))
            .arg(&self.keys_file)
            .arg(claims.to_string())
            .env("OIDC_PROVIDER_HOME", provider_home())
            .output()
            .unwrap_or_else(|e| panic!("node runs sign.mjs: {e}"));
        assert!(out.status.success(), "sign.mjs: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// The ID token the provider issues `client` for `user`, through the
    /// authorization-code flow with PKCE as a browser and the client would run it.
    pub fn id_token(&self, client: &OidcClient, user: &str, nonce: &str) -> Result<String, String> {
        let query = url_form(&[
            ("response_type", "code"),
            ("client_id", &client.id),
            ("redirect_uri", &client.redirect_uri),
            ("scope", "openid profile groups"),
            ("state", "testkit"),
            ("nonce", nonce),
            ("code_challenge", CHALLENGE),
            ("code_challenge_method", "S256"),
        ]);
        let mut browser = Browser::new(user);
        let landed = browser.open_until(&format!("{}/auth?{query}", self.issuer), &client.redirect_uri)?;
        let code = landed
            .url
            .split_once('?')
            .and_then(|(_, q)| q.split('&').find_map(|pair| pair.strip_prefix("code=")))
            .ok_or_else(|| format!("the provider sent no code: {}", landed.url))?
            .to_owned();
        let form = url_form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", &client.redirect_uri),
            ("code_verifier", VERIFIER),
        ]);
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", client.id, client.secret));
        let mut answer = sparkplane_http::agent(Some(Duration::from_secs(10)))
            .post(&format!("{}/token", self.issuer))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("authorization", &format!("Basic {basic}"))
            .send(form.as_bytes())
            .map_err(|e| format!("token request: {e}"))?;
        let body = answer.body_mut().read_to_string().map_err(|e| format!("token answer: {e}"))?;
        let tokens: Value = serde_json::from_str(&body).map_err(|e| format!("token answer {body}: {e}"))?;
        tokens["id_token"].as_str().map(str::to_owned).ok_or_else(|| format!("no id_token in {body}"))
    }
}

/// Where a [`Browser`] ended.
#[derive(Debug, Clone)]
pub struct Landed {
    pub status: u16,
    /// The last URL asked for (or, for [`Browser::open_until`], the one it stopped at).
    pub url: String,
    pub body: String,
    /// The headers of the last answer (names in lower case).
    pub headers: Vec<(String, String)>,
}

/// A scripted browser: follows redirects (at most 15), keeps cookies (by
/// name, as one host's; `Max-Age=0` removes one), asks for HTML, and signs
/// in as its person at the provider's development login form (any password).
pub struct Browser {
    person: String,
    pub cookies: BTreeMap<String, String>,
    agent: ureq::Agent,
}

impl Browser {
    pub fn new(person: &str) -> Browser {
        let agent = sparkplane_http::agent_config(Some(Duration::from_secs(10))).max_redirects(0).build().into();
        Browser { person: person.to_owned(), cookies: BTreeMap::new(), agent }
    }

    /// Opens `url` and follows where it leads.
    pub fn open(&mut self, url: &str) -> Result<Landed, String> {
        self.walk(url, None)
    }

    /// Opens `url` and follows where it leads until a redirect points at a URL starting with `stop`.
    pub fn open_until(&mut self, url: &str, stop: &str) -> Result<Landed, String> {
        self.walk(url, Some(stop))
    }

    fn walk(&mut self, url: &str, stop: Option<&str>) -> Result<Landed, String> {
        let mut url = url.to_owned();
        let mut form: Option<String> = None;
        for _ in 0..15 {
            if stop.is_some_and(|s| url.starts_with(s)) {
                return Ok(Landed { status: 0, url, body: String::new(), headers: Vec::new() });
            }
            let landed = self.fetch(&url, form.take())?;
            let location = landed.headers.iter().find(|(n, _)| n == "location").map(|(_, v)| v.clone());
            match (landed.status, location) {
                (300..=399, Some(next)) => url = absolute(&url, &next),
                (200, _) if landed.body.contains("name=\"login\"") && landed.body.contains("<form") => {
                    let action = landed
                        .body
                        .split("action=\"")
                        .nth(1)
                        .and_then(|rest| rest.split('"').next())
                        .ok_or("a login form without an action")?;
                    url = absolute(&url, action);
                    form = Some(url_form(&[("prompt", "login"), ("login", &self.person), ("password", "any")]));
                }
                _ => return Ok(landed),
            }
        }
        Err(format!("more than 15 redirects from {url}"))
    }

    /// One request: GET, or POST of `form`.
    pub fn fetch(&mut self, url: &str, form: Option<String>) -> Result<Landed, String> {
        let cookie = self.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
        let answer = match form {
            Some(body) => self
                .agent
                .post(url)
                .header("accept", "text/html")
                .header("cookie", &cookie)
                .header("content-type", "application/x-www-form-urlencoded")
                .send(body.as_bytes()),
            None => self.agent.get(url).header("accept", "text/html").header("cookie", &cookie).call(),
        };
        let mut answer = answer.map_err(|e| format!("{url}: {e}"))?;
        let headers: Vec<(String, String)> = answer
            .headers()
            .iter()
            .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
            .collect();
        for (_, set) in headers.iter().filter(|(n, _)| n == "set-cookie") {
            let first = set.split(';').next().unwrap_or_default();
            if let Some((name, value)) = first.split_once('=') {
                if value.is_empty() || set.contains("Max-Age=0") || set.contains("max-age=0") {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies.insert(name.trim().to_owned(), value.to_owned());
                }
            }
        }
        let status = answer.status().as_u16();
        let body = answer.body_mut().read_to_string().unwrap_or_default();
        Ok(Landed { status, url: url.to_owned(), body, headers })
    }
}

/// `next` (absolute, or a path) as an absolute URL against `base`.
fn absolute(base: &str, next: &str) -> String {
    if next.starts_with("http://") || next.starts_with("https://") {
        return next.to_owned();
    }
    let origin_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[origin_end..].find('/').map_or(base.len(), |i| origin_end + i);
    format!("{}{next}", &base[..host_end])
}

fn url_form(pairs: &[(&str, &str)]) -> String {
    pairs.iter().map(|(n, v)| format!("{}={}", encode(n), encode(v))).collect::<Vec<_>>().join("&")
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => out.push(char::from(byte)),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
