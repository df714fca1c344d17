//! The door: who a request is from, as the server's sign-in says, or the
//! answer to send instead.
//!
//! Owns: the four kinds of door and what each answers — the local user of a
//! loopback server ([`Door::local_user`]), everyone as the local user when the
//! operator said `--auth none` ([`Door::open`]), OpenID Connect
//! ([`Door::oidc`]), a trusted authenticating proxy ([`Door::proxy`]: its
//! headers believed only from its addresses; from anywhere else the request
//! is treated as if it carried none) — and the line each states at start.
//! Must not: decide what the viewer may see, or verify anything itself.

use std::sync::Arc;

use sparkplane_access::Viewer;
use sparkplane_http::{Reply, Request};
use sparkplane_signin::{ProxySettings, TrustedProxy, identity_from_proxy};

use crate::logline::{peer, printable};
use crate::oidc::OidcDoor;

/// Where a door's lines go (one per refused request): stderr unless a test collects them.
pub type Log = Arc<dyn Fn(&str) + Send + Sync>;

/// A server's sign-in, and where it logs refusals.
pub struct Door {
    kind: Kind,
    log: Log,
}

/// The kinds of door.
enum Kind {
    /// A loopback server without a sign-in setting.
    LocalUser,
    /// `--auth none`: every request is the local user, from wherever it comes.
    Open,
    /// OpenID Connect.
    Oidc(Box<OidcDoor>),
    /// A trusted authenticating proxy.
    Proxy(ProxySettings),
}

impl Door {
    /// A loopback server without a sign-in setting: every request is the local user.
    pub fn local_user() -> Door {
        Door::of(Kind::LocalUser)
    }

    /// `--auth none`: every request is the local user, from wherever it comes.
    pub fn open() -> Door {
        Door::of(Kind::Open)
    }

    /// OpenID Connect.
    pub fn oidc(door: OidcDoor) -> Door {
        Door::of(Kind::Oidc(Box::new(door)))
    }

    /// A trusted authenticating proxy.
    pub fn proxy(settings: ProxySettings) -> Door {
        Door::of(Kind::Proxy(settings))
    }

    fn of(kind: Kind) -> Door {
        Door { kind, log: Arc::new(|line: &str| eprintln!("{line}")) }
    }

    /// The same door, its lines going to `log`.
    pub fn logging_to(mut self, log: Log) -> Door {
        self.log = log;
        self
    }

    /// Who `request` is from, or the answer to send instead (a refusal, or one of the sign-in routes).
    pub fn admit(&self, request: &Request) -> Result<Viewer, Reply> {
        match &self.kind {
            Kind::LocalUser | Kind::Open => Ok(Viewer::Local),
            Kind::Oidc(door) => door.admit(request, self.log.as_ref()),
            Kind::Proxy(settings) => proxy(settings, request, self.log.as_ref()),
        }
    }

    /// Whether every request is the local user (no sign-in at all).
    pub fn serves_everyone_as_local_user(&self) -> bool {
        matches!(self.kind, Kind::LocalUser | Kind::Open)
    }

    /// What the server says at start about who it serves.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::LocalUser => "no sign-in: on a loopback address, every request is served as the local user, \
                                who sees every application"
                .to_owned(),
            Kind::Open => "WARNING: --auth none: no sign-in, and anyone who can reach this address sees every \
                           team's applications, SQL and configuration"
                .to_owned(),
            Kind::Oidc(door) if door.made_its_cookie_key() => format!(
                "sign-in: OpenID Connect at {} (the session cookie key was made at start: a restart signs everyone \
                 out, and replicas need the same --cookie-key-file)",
                door.issuer()
            ),
            Kind::Oidc(door) => format!("sign-in: OpenID Connect at {}", door.issuer()),
            Kind::Proxy(settings) => format!(
                "sign-in: the authenticating proxy at {} ({} and {} headers; from anywhere else they are ignored)",
                settings.proxies.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "),
                settings.user_header,
                settings.groups_header
            ),
        }
    }
}

fn proxy(settings: &ProxySettings, request: &Request, log: &dyn Fn(&str)) -> Result<Viewer, Reply> {
    let headers: Vec<(String, String)> = request
        .headers
        .iter()
        .filter_map(|(name, value)| Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned())))
        .collect();
    let person = match request.peer {
        Some(peer) => identity_from_proxy(settings, peer.ip(), &headers),
        None => TrustedProxy::NoOne,
    };
    match person {
        TrustedProxy::Person(identity) => Ok(Viewer::Person(identity)),
        TrustedProxy::NoOne => {
            let from = peer(request);
            log(&format!(
                "sparkplane: refused {} {} from {from}: not signed in through the trusted proxy",
                request.method_name(),
                printable(&request.path)
            ));
            Err(Reply::text(
                401,
                "text/plain;charset=utf-8",
                "sign in through the platform's authenticating proxy: this server believes who you are only from it\n",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;

    use sparkplane_access::Identity;
    use sparkplane_http::Method;

    use super::*;

    fn from(peer: &str, headers: &[(&'static str, &str)]) -> Request {
        let mut request = Request::new(Method::Get, "/api/v1/applications");
        request.peer = Some(peer.parse::<SocketAddr>().expect("an address"));
        for (name, value) in headers {
            request.headers.append(*name, value.parse().expect("a value"));
        }
        request
    }

    fn proxy_door() -> Door {
        Door::proxy(ProxySettings::new(&["10.0.0.5"], "X-Forwarded-User", "X-Forwarded-Groups").expect("settings"))
    }

    #[test]
    fn the_proxys_headers_sign_in_only_from_the_proxy() {
        let headers = [("x-forwarded-user", "alice"), ("x-forwarded-groups", "team-a, admins")];
        let Ok(Viewer::Person(Identity { user, groups })) = proxy_door().admit(&from("10.0.0.5:40000", &headers))
        else {
            panic!("the proxy's headers sign alice in");
        };
        assert_eq!(user, "alice");
        assert_eq!(groups.into_iter().collect::<Vec<_>>(), ["admins", "team-a"]);
        // The same headers forged by a client reaching the server directly: no one, 401, one line said.
        let lines = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
        let collected = Arc::clone(&lines);
        let door = proxy_door().logging_to(Arc::new(move |line: &str| {
            collected.lock().expect("lines").push(line.to_owned());
        }));
        let refused = door.admit(&from("10.0.0.6:40000", &headers)).expect_err("forged headers refused");
        assert_eq!(refused.status, 401);
        assert!(refused.headers.is_empty());
        assert_eq!(
            *lines.lock().expect("lines"),
            ["sparkplane: refused GET /api/v1/applications from 10.0.0.6: not signed in through the trusted proxy"]
        );
        // From the proxy without a user header: no one either.
        assert_eq!(proxy_door().admit(&from("10.0.0.5:40000", &[])).expect_err("no user").status, 401);
    }

    #[test]
    fn local_and_open_doors_serve_the_local_user_and_say_so() {
        assert!(matches!(Door::local_user().admit(&from("127.0.0.1:1", &[])), Ok(Viewer::Local)));
        assert!(matches!(Door::open().admit(&from("10.9.9.9:1", &[])), Ok(Viewer::Local)));
        assert!(Door::open().describe().starts_with("WARNING: --auth none"));
        assert!(Door::local_user().describe().contains("local user"));
        assert!(proxy_door().describe().contains("10.0.0.5/32"), "{}", proxy_door().describe());
    }
}
