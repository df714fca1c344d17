//! A server's sign-in settings as its operator gives them (the flags every
//! server a person opens takes: `--auth`, `--oidc-*`, `--public-url`,
//! `--cookie-key-file`, `--trusted-proxy`, `--proxy-*`), checked and turned
//! into the door: each flag belongs to its mode (a proxy setting with
//! `--auth oidc` would silently do nothing), the modes' required flags are
//! there, and the secret files are read — the client secret, the cookie key,
//! the proxy's secret — never echoed in a message.
//!
//! Also the access flags (`--admin-group`, `--tenants`, `--spark-acls`) and
//! the rules they set ([`AccessFlags`]).
//! Owns: those checks, reading those files, and the message of each
//! refusal, naming its flag. Must not: parse a command line (the binary
//! does: it flattens [`SignInFlags`] into its commands) or decide what anyone
//! sees.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sparkplane_access::rules::TeamAccess;
use sparkplane_access::{AccessRules, SparkAcls};
use sparkplane_signin::ProxySettings;

use crate::door::Door;
use crate::mode::{AuthChoice, DoorSettings, open};
use crate::oidc::{OidcSettings, StartError};

/// How long one request to the OpenID Connect provider may take.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);

/// The sign-in flags as given: the one definition of them, with their help,
/// which every server command flattens into its own (`history serve`).
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Sign-in")]
pub struct SignInFlags {
    /// Sign-in: oidc (an OpenID Connect provider), proxy (an authenticating proxy in front), or none
    /// (everyone sees every team's applications; said at start). Unset: the local user on a loopback
    /// --listen, and a refusal to start on any other address.
    #[arg(long, value_enum, value_name = "MODE")]
    pub auth: Option<AuthChoice>,
    /// The provider's issuer, exactly as its discovery document names it (https://; http:// only to this
    /// machine), e.g. https://keycloak.example.com/realms/data.
    #[arg(long, value_name = "URL")]
    pub oidc_issuer: Option<String>,
    /// This server's client id at the provider (also an accepted token audience).
    #[arg(long, value_name = "ID")]
    pub oidc_client_id: Option<String>,
    /// A file holding the client's secret (never on the command line); none for a public client.
    #[arg(long, value_name = "FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// Another audience accepted on bearer tokens (an API's); repeatable.
    #[arg(long = "oidc-audience", value_name = "AUD")]
    pub oidc_audiences: Vec<String>,
    /// A scope asked for besides openid; repeatable. Default: profile and groups.
    #[arg(long = "oidc-scope", value_name = "SCOPE")]
    pub oidc_scopes: Vec<String>,
    /// The token claim that lists a person's groups.
    #[arg(long, value_name = "CLAIM", default_value = "groups")]
    pub oidc_groups_claim: String,
    /// Where browsers reach this server, e.g. https://spark.example.com: the provider must allow
    /// <URL>/oauth2/callback as a redirect URI.
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// A file of 32 or more bytes that signs the session cookies; replicas need the same one. Default: a
    /// key made at start (a restart signs everyone out).
    #[arg(long, value_name = "FILE")]
    pub cookie_key_file: Option<PathBuf>,
    /// The authenticating proxy's address or network (10.0.0.5, 10.0.0.0/24); repeatable. Its user and
    /// groups headers are believed from there only.
    #[arg(long = "trusted-proxy", value_name = "ADDR")]
    pub trusted_proxies: Vec<String>,
    /// The header the proxy names the user in.
    #[arg(long, value_name = "HEADER", default_value = "X-Forwarded-User")]
    pub proxy_user_header: String,
    /// The header the proxy lists the groups in (comma-separated).
    #[arg(long, value_name = "HEADER", default_value = "X-Forwarded-Groups")]
    pub proxy_groups_header: String,
    /// A file holding a secret the proxy also sends (in --proxy-secret-header); without it a request is
    /// not believed.
    #[arg(long, value_name = "FILE")]
    pub proxy_secret_file: Option<PathBuf>,
    /// The header that carries --proxy-secret-file's secret.
    #[arg(long, value_name = "HEADER", default_value = "X-Sparkplane-Proxy-Secret")]
    pub proxy_secret_header: String,
}

/// The access flags as given: who sees what behind the door (ADR 0090).
#[derive(clap::Args, Debug, Clone, Default)]
#[command(next_help_heading = "Access")]
pub struct AccessFlags {
    /// A group whose members see and change every application; repeatable.
    #[arg(long = "admin-group", value_name = "GROUP")]
    pub admin_groups: Vec<String>,
    /// A folder of Tenant files: the members of a Tenant's groups see its team's applications (admins and
    /// editors may also change them, viewers only look).
    #[arg(long, value_name = "DIR")]
    pub tenants: Option<PathBuf>,
    /// Also honour applications' own Spark ACLs (spark.ui.view.acls, spark.admin.acls, their .groups, the
    /// owner), as Spark's History Server does with spark.history.ui.acls.enable.
    #[arg(long)]
    pub spark_acls: bool,
    /// With --spark-acls: users who see every application (spark.history.ui.admin.acls); comma-separated.
    #[arg(long, value_name = "USERS", value_delimiter = ',')]
    pub spark_admin_acls: Vec<String>,
    /// With --spark-acls: groups who see every application (spark.history.ui.admin.acls.groups).
    #[arg(long, value_name = "GROUPS", value_delimiter = ',')]
    pub spark_admin_acls_groups: Vec<String>,
}

impl AccessFlags {
    /// The rules these flags set, with `teams` read from `--tenants` by the caller.
    pub fn rules(&self, teams: Vec<TeamAccess>) -> Result<AccessRules, FlagError> {
        if !self.spark_acls {
            let given = [
                ("--spark-admin-acls", &self.spark_admin_acls),
                ("--spark-admin-acls-groups", &self.spark_admin_acls_groups),
            ];
            if let Some((flag, _)) = given.iter().find(|(_, list)| !list.is_empty()) {
                return Err(FlagError::invalid(
                    flag,
                    format!("{flag} is a setting of --spark-acls, which is not given"),
                    &format!("add --spark-acls, or leave {flag} out"),
                ));
            }
        }
        let names = |list: &[String]| list.iter().map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).collect();
        Ok(AccessRules {
            teams,
            admin_groups: names(&self.admin_groups),
            spark: SparkAcls {
                enabled: self.spark_acls,
                admin_users: names(&self.spark_admin_acls),
                admin_groups: names(&self.spark_admin_acls_groups),
            },
        })
    }
}

/// Why the door cannot open, at the flag to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagError {
    /// The flag (or file flag) to fix.
    pub flag: String,
    pub message: String,
    pub help: String,
    /// The provider could not be reached (exit 3); otherwise the settings are wrong (exit 2).
    pub unreachable: bool,
}

impl FlagError {
    fn invalid(flag: &str, message: String, help: &str) -> FlagError {
        FlagError { flag: flag.to_owned(), message, help: help.to_owned(), unreachable: false }
    }
}

/// The door the flags ask for in front of a server listening on `listen`.
pub fn door_from_flags(flags: &SignInFlags, listen: SocketAddr) -> Result<Door, FlagError> {
    check_flags_belong(flags)?;
    let settings = match flags.auth {
        None | Some(AuthChoice::Unset) => DoorSettings::Unset,
        Some(AuthChoice::None) => DoorSettings::None,
        Some(AuthChoice::Oidc) => DoorSettings::Oidc(oidc_settings(flags)?),
        Some(AuthChoice::Proxy) => DoorSettings::Proxy(proxy_settings(flags)?),
    };
    open(listen, settings).map_err(|error| match error {
        StartError::Invalid(message) => {
            FlagError::invalid("--auth", message, "docs/signin.md says what each sign-in needs")
        }
        StartError::Unreachable(message) => FlagError {
            flag: "--oidc-issuer".to_owned(),
            message,
            help: "check the issuer URL, the network and the provider; the server does not start without it".to_owned(),
            unreachable: true,
        },
    })
}

fn check_flags_belong(flags: &SignInFlags) -> Result<(), FlagError> {
    let oidc = [
        ("--oidc-issuer", flags.oidc_issuer.is_some()),
        ("--oidc-client-id", flags.oidc_client_id.is_some()),
        ("--oidc-client-secret-file", flags.oidc_client_secret_file.is_some()),
        ("--oidc-audience", !flags.oidc_audiences.is_empty()),
        ("--oidc-scope", !flags.oidc_scopes.is_empty()),
        ("--public-url", flags.public_url.is_some()),
        ("--cookie-key-file", flags.cookie_key_file.is_some()),
    ];
    let proxy = [
        ("--trusted-proxy", !flags.trusted_proxies.is_empty()),
        ("--proxy-secret-file", flags.proxy_secret_file.is_some()),
    ];
    for (given, wanted, mode) in
        [(&oidc[..], AuthChoice::Oidc, "--auth oidc"), (&proxy[..], AuthChoice::Proxy, "--auth proxy")]
    {
        if flags.auth == Some(wanted) {
            continue;
        }
        if let Some((flag, _)) = given.iter().find(|(_, is_given)| *is_given) {
            return Err(FlagError::invalid(
                flag,
                format!("{flag} is a setting of {mode}, which is not given"),
                &format!("add {mode}, or leave {flag} out"),
            ));
        }
    }
    Ok(())
}

fn required<'a>(value: Option<&'a str>, flag: &str, example: &str) -> Result<&'a str, FlagError> {
    value.filter(|v| !v.trim().is_empty()).ok_or_else(|| {
        FlagError::invalid(flag, format!("--auth oidc needs {flag}"), &format!("add e.g. {flag} {example}"))
    })
}

fn oidc_settings(flags: &SignInFlags) -> Result<OidcSettings, FlagError> {
    let issuer = required(flags.oidc_issuer.as_deref(), "--oidc-issuer", "https://keycloak.example.com/realms/data")?;
    let client_id = required(flags.oidc_client_id.as_deref(), "--oidc-client-id", "sparkplane")?;
    let public_url = required(flags.public_url.as_deref(), "--public-url", "https://spark.example.com")?;
    let client_secret =
        flags.oidc_client_secret_file.as_deref().map(|p| read_secret(p, "--oidc-client-secret-file")).transpose()?;
    let cookie_key = flags.cookie_key_file.as_deref().map(read_cookie_key).transpose()?;
    let scopes = if flags.oidc_scopes.is_empty() {
        vec!["profile".to_owned(), "groups".to_owned()]
    } else {
        flags.oidc_scopes.clone()
    };
    Ok(OidcSettings {
        issuer: issuer.to_owned(),
        client_id: client_id.to_owned(),
        client_secret,
        audiences: flags.oidc_audiences.clone(),
        algorithms: Vec::new(),
        public_url: public_url.to_owned(),
        cookie_key,
        scopes,
        groups_claim: flags.oidc_groups_claim.clone(),
        leeway_secs: sparkplane_signin::token::DEFAULT_LEEWAY_SECS,
        timeout: PROVIDER_TIMEOUT,
    })
}

fn proxy_settings(flags: &SignInFlags) -> Result<ProxySettings, FlagError> {
    let proxies: Vec<&str> = flags.trusted_proxies.iter().map(String::as_str).collect();
    let mut settings =
        ProxySettings::new(&proxies, &flags.proxy_user_header, &flags.proxy_groups_header).map_err(|why| {
            FlagError::invalid(
                "--trusted-proxy",
                why,
                "give the proxy's address or network, e.g. --trusted-proxy 10.0.0.0/24",
            )
        })?;
    if let Some(path) = &flags.proxy_secret_file {
        let secret = read_secret(path, "--proxy-secret-file")?;
        settings.secret = Some((flags.proxy_secret_header.to_ascii_lowercase(), secret));
    }
    Ok(settings)
}

fn unreadable(path: &Path, flag: &str, error: &std::io::Error) -> FlagError {
    FlagError::invalid(flag, format!("cannot read {}: {error}", path.display()), "give a file this user can read")
}

/// A secret file's text without its trailing newline.
fn read_secret(path: &Path, flag: &str) -> Result<String, FlagError> {
    let text = std::fs::read_to_string(path).map_err(|e| unreadable(path, flag, &e))?;
    let secret = text.trim_end_matches(['\n', '\r']).to_owned();
    if secret.is_empty() {
        return Err(FlagError::invalid(
            flag,
            format!("{} is empty", path.display()),
            "put the secret in the file (a Kubernetes Secret mounted as a file works as it is)",
        ));
    }
    Ok(secret)
}

/// The cookie key file's bytes (one trailing newline dropped): 32 or more.
fn read_cookie_key(path: &Path) -> Result<Vec<u8>, FlagError> {
    let mut key = std::fs::read(path).map_err(|e| unreadable(path, "--cookie-key-file", &e))?;
    if key.last() == Some(&b'\n') {
        key.pop();
    }
    if key.len() < 32 {
        return Err(FlagError::invalid(
            "--cookie-key-file",
            format!("{} holds {} bytes; a cookie key needs 32 or more", path.display(), key.len()),
            "make one with `head -c 32 /dev/urandom > FILE` and give every replica the same file",
        ));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local() -> SocketAddr {
        "127.0.0.1:0".parse().expect("an address")
    }

    #[test]
    fn a_flag_of_another_mode_is_refused_at_that_flag() {
        let flags = SignInFlags { oidc_issuer: Some("https://x".to_owned()), ..SignInFlags::default() };
        let error = door_from_flags(&flags, local()).err().expect("refused");
        assert_eq!(error.flag, "--oidc-issuer");
        assert_eq!(error.message, "--oidc-issuer is a setting of --auth oidc, which is not given");
        let flags = SignInFlags {
            auth: Some(AuthChoice::Oidc),
            trusted_proxies: vec!["10.0.0.1".to_owned()],
            ..SignInFlags::default()
        };
        assert_eq!(door_from_flags(&flags, local()).err().expect("refused").flag, "--trusted-proxy");
    }

    #[test]
    fn secret_files_are_read_and_checked_without_echoing_them() {
        let dir = tempfile::tempdir().expect("temp dir");
        let short = dir.path().join("key");
        std::fs::write(&short, "0123456789\n").expect("key");
        let flags = SignInFlags {
            auth: Some(AuthChoice::Oidc),
            oidc_issuer: Some("http://127.0.0.1:1".to_owned()),
            oidc_client_id: Some("sp".to_owned()),
            public_url: Some("http://127.0.0.1:2".to_owned()),
            cookie_key_file: Some(short),
            ..SignInFlags::default()
        };
        let error = door_from_flags(&flags, local()).err().expect("refused");
        assert_eq!(error.flag, "--cookie-key-file");
        assert!(error.message.ends_with("holds 10 bytes; a cookie key needs 32 or more"), "{error:?}");
        assert!(!format!("{error:?}").contains("0123456789"));
        assert_eq!(
            read_secret(&dir.path().join("none"), "--proxy-secret-file").expect_err("missing").flag,
            "--proxy-secret-file"
        );
    }
}
