//! `sparkplane history serve`'s sign-in (ADR 0092): the loopback rule (the
//! local user on 127.0.0.1, a refusal to start on an address other machines
//! reach without `--auth`), `--auth none` said loudly, each flag checked
//! against its mode, and the History Server behind a real OpenID Connect
//! provider (npm's oidc-provider on 127.0.0.1): an API client with the
//! provider's token gets the list, one without gets 401, a browser signs in
//! and lands on the list page. Servers bind 127.0.0.1 on free ports.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;

use sparkplane_testkit::oidc::{Browser, OidcClient, OidcProvider, ProviderSettings};

fn spark_logs() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../sparkplane-history/tests/data/spark-history/spark-events")
}

fn run(args: &[&str]) -> (Option<i32>, String, String) {
    let out = sparkplane_testkit::sparkplane_process().args(args).output().expect("runs");
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// `history serve` over the test logs with `args`, on 127.0.0.1; the stderr lines up to the "serving" one.
struct Served {
    child: Child,
    url: String,
    said: Vec<String>,
    _index: tempfile::TempDir,
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(port: u16, args: &[&str]) -> Served {
    let index = tempfile::tempdir().expect("temp dir");
    let mut child = sparkplane_testkit::sparkplane_process()
        .args(["history", "serve", "--logs"])
        .arg(spark_logs())
        .args(["--listen", &format!("127.0.0.1:{port}"), "--index-dir"])
        .arg(index.path())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the server starts");
    match sparkplane_testkit::process::said_until(
        &mut child,
        "serving Spark's History Server API",
        Duration::from_secs(60),
    ) {
        Ok(said) => Served { child, url: format!("http://127.0.0.1:{port}"), said, _index: index },
        Err(said) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the server did not start, or ended: {said:?}");
        }
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("a free port").port()
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    let agent: ureq::Agent =
        sparkplane_http::agent_config(Some(Duration::from_secs(20))).max_redirects(0).build().into();
    let mut request = agent.get(url);
    if let Some(token) = token {
        request = request.header("authorization", &format!("Bearer {token}"));
    }
    let mut answer = request.call().expect("an answer");
    let status = answer.status().as_u16();
    (status, answer.body_mut().read_to_string().unwrap_or_default())
}

#[test]
fn an_address_other_machines_reach_needs_a_sign_in_setting() {
    let logs = spark_logs();
    let logs = logs.to_str().expect("utf-8");
    // Refused before anything is listed or bound.
    let (code, stdout, stderr) = run(&["history", "serve", "--logs", logs, "--listen", "0.0.0.0:0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stdout.is_empty());
    assert!(
        stderr.starts_with("error: --auth: 0.0.0.0:0 can be reached from other machines and no sign-in is set"),
        "{stderr}"
    );
    for flag in ["--auth oidc", "--oidc-issuer", "--auth proxy", "--trusted-proxy", "--auth none", "127.0.0.1"] {
        assert!(stderr.contains(flag), "{flag}: {stderr}");
    }
}

#[test]
fn the_local_user_on_loopback_and_auth_none_are_each_said_at_start() {
    let local = serve(free_port(), &[]);
    assert!(local.said.iter().any(|l| l.starts_with("no sign-in: on a loopback address")), "{:?}", local.said);
    assert_eq!(get(&format!("{}/api/v1/applications", local.url), None).0, 200);
    let open = serve(free_port(), &["--auth", "none"]);
    assert!(open.said.iter().any(|l| l.starts_with("WARNING: --auth none: no sign-in")), "{:?}", open.said);
}

#[test]
fn sign_in_flags_are_checked_against_their_mode_and_their_files() {
    let logs = spark_logs();
    let logs = logs.to_str().expect("utf-8");
    let dir = tempfile::tempdir().expect("temp dir");
    let short = dir.path().join("short-key");
    std::fs::write(&short, "0123456789\n").expect("key file");
    let empty = dir.path().join("empty-secret");
    std::fs::write(&empty, "\n").expect("secret file");
    let (short, empty) = (short.to_str().expect("utf-8"), empty.to_str().expect("utf-8"));
    let oidc = [
        "--auth",
        "oidc",
        "--oidc-issuer",
        "http://127.0.0.1:1",
        "--oidc-client-id",
        "sp",
        "--public-url",
        "http://127.0.0.1:9",
    ];
    let cases: Vec<(Vec<&str>, i32, &str)> = vec![
        (
            vec!["--oidc-issuer", "https://x"],
            2,
            "error: --oidc-issuer: --oidc-issuer is a setting of --auth oidc, which is not given",
        ),
        (
            vec!["--auth", "oidc", "--trusted-proxy", "10.0.0.1"],
            2,
            "error: --trusted-proxy: --trusted-proxy is a setting of --auth proxy",
        ),
        (
            vec!["--spark-admin-acls", "alice"],
            2,
            "error: --spark-admin-acls: --spark-admin-acls is a setting of --spark-acls",
        ),
        (vec!["--auth", "oidc", "--oidc-client-id", "sp"], 2, "error: --oidc-issuer: --auth oidc needs --oidc-issuer"),
        (vec!["--auth", "proxy"], 2, "error: --trusted-proxy: trusted-proxy mode needs the proxy's addresses"),
        (vec!["--auth", "proxy", "--trusted-proxy", "not-an-address"], 2, "is not an IP address or network"),
        ([&oidc[..], &["--cookie-key-file", short]].concat(), 2, "holds 10 bytes; a cookie key needs 32 or more"),
        ([&oidc[..], &["--oidc-client-secret-file", empty]].concat(), 2, "is empty"),
        (
            vec![
                "--auth",
                "oidc",
                "--oidc-issuer",
                "http://login.example.com",
                "--oidc-client-id",
                "sp",
                "--public-url",
                "http://127.0.0.1:9",
            ],
            2,
            "error: --auth: --oidc-issuer `http://login.example.com` must be an https:// URL",
        ),
        (
            oidc.to_vec(),
            3,
            "error: --oidc-issuer: http://127.0.0.1:1/.well-known/openid-configuration cannot be reached",
        ),
    ];
    for (args, want, message) in cases {
        let mut all = vec!["history", "serve", "--logs", logs];
        all.extend(&args);
        let (code, stdout, stderr) = run(&all);
        assert_eq!(code, Some(want), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(stdout.is_empty(), "{args:?}");
        assert!(!stderr.contains("0123456789"), "a secret file's content is never echoed: {stderr}");
    }
}

#[test]
fn the_history_server_behind_a_real_provider() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let client = OidcClient {
        id: "sparkplane".to_owned(),
        secret: "sparkplane-secret".to_owned(),
        redirect_uri: format!("{url}/oauth2/callback"),
    };
    let settings = ProviderSettings {
        port: 0,
        keys_file: dir.path().join("keys.json"),
        new_key: false,
        drop_old_keys: false,
        clients: vec![client.clone()],
        people: vec![("alice".to_owned(), vec!["platform-admins".to_owned()])],
        id_token_ttl: 600,
    };
    let provider = OidcProvider::start(dir.path(), &settings).unwrap_or_else(|e| panic!("the provider starts: {e}"));
    let secret = dir.path().join("client-secret");
    std::fs::write(&secret, "sparkplane-secret\n").expect("secret file");
    let key = dir.path().join("cookie-key");
    std::fs::write(&key, [9u8; 48]).expect("key file");
    let served = serve(
        port,
        &[
            "--auth",
            "oidc",
            "--oidc-issuer",
            &provider.issuer,
            "--oidc-client-id",
            "sparkplane",
            "--oidc-client-secret-file",
            secret.to_str().expect("utf-8"),
            "--public-url",
            &url,
            "--cookie-key-file",
            key.to_str().expect("utf-8"),
            "--admin-group",
            "platform-admins",
        ],
    );
    assert!(
        served.said.iter().any(|l| l == &format!("sign-in: OpenID Connect at {}", provider.issuer)),
        "{:?}",
        served.said
    );
    assert!(served.said.iter().all(|l| !l.contains("sparkplane-secret")), "{:?}", served.said);

    // An API client: 401 without a token, the list with the provider's token.
    let (status, body) = get(&format!("{url}/api/v1/applications"), None);
    assert_eq!(status, 401, "{body}");
    assert!(!body.contains("local-"), "nothing of the list is served: {body}");
    let token = provider.id_token(&client, "alice", "n-1").expect("an ID token");
    let (status, body) = get(&format!("{url}/api/v1/applications"), Some(&token));
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("local-1422981780767"), "{body}");
    // Spark's version answers the readiness probe without a sign-in.
    assert_eq!(get(&format!("{url}/api/v1/version"), None).0, 200);

    // A browser signs in at the provider and lands on the list page.
    let mut browser = Browser::new("alice");
    let landed = browser.open(&format!("{url}/")).expect("the browser lands");
    assert_eq!(landed.status, 200, "{landed:?}");
    assert!(landed.url.starts_with(&url), "{}", landed.url);
    assert!(landed.body.contains("local-1422981780767"), "the list page: {}", landed.body);

    // Headless Chromium through the same authorization-code flow: sent to the provider's login form,
    // signed in there, and back through the callback to the list it asked for.
    let mut chromium = sparkplane_testkit::devtools::Browser::start();
    let login = chromium.navigate(&format!("{url}/?q=local"), Duration::from_secs(60));
    assert!(login.script_errors.is_empty(), "{:?}", login.script_errors);
    let at = chromium.evaluate("location.href").expect("href");
    assert!(at.as_str().is_some_and(|h| h.starts_with(&provider.issuer)), "at the provider: {at}");
    let form = "const f = document.querySelector('form'); f.querySelector('input[name=login]').value = 'alice'; \
                f.querySelector('input[name=password]').value = 'any'; f.submit(); true";
    chromium.evaluate(form).expect("the login form");
    // (What the provider's own login page fetched is the provider's: counted since that page, not asserted.)
    chromium.wait_for_load(Duration::from_secs(60));
    let at = chromium.evaluate("location.href").expect("href");
    assert_eq!(at.as_str(), Some(format!("{url}/?q=local").as_str()), "back where it asked");
    let list = chromium.evaluate("document.body.innerText").expect("text");
    assert!(list.as_str().is_some_and(|t| t.contains("local-1422981780767")), "the list: {list}");
    // Signed in now: the list loads on its own, with nothing failing and no script error.
    let again = chromium.navigate(&format!("{url}/"), Duration::from_secs(60));
    assert!(again.script_errors.is_empty() && again.failed_requests.is_empty(), "{again:?}");
    let at = chromium.evaluate("location.href").expect("href");
    assert_eq!(at.as_str(), Some(format!("{url}/").as_str()), "no second trip to the provider");
}
