//! Which sign-in a server runs, and the safe default: a server bound to a
//! loopback address with no sign-in setting serves the local user (it is
//! reachable from this machine only); bound to any other address with no
//! setting, it refuses to start — another machine could otherwise read
//! every team's applications — and `--auth none` there is the operator's
//! explicit choice, which the server states loudly at start.
//! Owns that rule and its message, and opening the door a server's settings
//! ask for ([`open`]). Must not: read flags or files (the CLI does).

use std::net::SocketAddr;

use sparkplane_signin::ProxySettings;

use crate::door::Door;
use crate::oidc::{OidcDoor, OidcSettings, StartError};

/// The sign-in a server is set up with.
#[derive(Debug, Clone)]
pub enum DoorSettings {
    /// No `--auth`.
    Unset,
    /// `--auth none`.
    None,
    /// `--auth oidc` and its settings.
    Oidc(OidcSettings),
    /// `--auth proxy` and its settings.
    Proxy(ProxySettings),
}

impl DoorSettings {
    /// The `--auth` these settings stand for.
    pub fn choice(&self) -> AuthChoice {
        match self {
            DoorSettings::Unset => AuthChoice::Unset,
            DoorSettings::None => AuthChoice::None,
            DoorSettings::Oidc(_) => AuthChoice::Oidc,
            DoorSettings::Proxy(_) => AuthChoice::Proxy,
        }
    }
}

/// The door of a server listening on `listen`: refused (exit 2) when unset on
/// an address other machines reach; for OpenID Connect, the provider's
/// discovery document is read now (exit 3 when it cannot be).
pub fn open(listen: SocketAddr, settings: DoorSettings) -> Result<Door, StartError> {
    refuse_unsafe_default(listen, settings.choice()).map_err(StartError::Invalid)?;
    Ok(match settings {
        DoorSettings::Unset => Door::local_user(),
        DoorSettings::None => Door::open(),
        DoorSettings::Oidc(oidc) => Door::oidc(OidcDoor::start(oidc)?),
        DoorSettings::Proxy(proxy) => Door::proxy(proxy),
    })
}

/// The sign-in a server was asked for (`--auth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthChoice {
    /// No `--auth` given.
    #[value(skip)]
    Unset,
    /// No sign-in: everyone sees every application.
    None,
    /// An OpenID Connect provider: browsers sign in there, API clients send its tokens.
    Oidc,
    /// An authenticating proxy in front that names the user and groups in headers.
    Proxy,
}

/// Refuses an unset sign-in on an address other machines can reach, with
/// the message naming the flags that fix it. `Ok(())` otherwise.
pub fn refuse_unsafe_default(listen: SocketAddr, choice: AuthChoice) -> Result<(), String> {
    if choice != AuthChoice::Unset || listen.ip().is_loopback() {
        return Ok(());
    }
    Err(format!(
        "{listen} can be reached from other machines and no sign-in is set, so anyone there would see every \
         team's applications: pass --auth oidc (with --oidc-issuer, --oidc-client-id and \
         --oidc-client-secret-file), or --auth proxy (with --trusted-proxy) behind an authenticating proxy, or \
         --auth none to serve everyone everything; or listen on 127.0.0.1"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_gives_the_local_user_on_loopback_and_refuses_an_unset_reachable_address() {
        let door = open("127.0.0.1:0".parse().expect("address"), DoorSettings::Unset).expect("opens");
        assert!(door.serves_everyone_as_local_user());
        let refused = open("0.0.0.0:0".parse().expect("address"), DoorSettings::Unset).err().expect("refused");
        assert!(matches!(refused, StartError::Invalid(ref m) if m.contains("--auth none")), "{refused:?}");
        assert!(open("0.0.0.0:0".parse().expect("address"), DoorSettings::None).is_ok());
    }

    #[test]
    fn only_an_unset_choice_on_a_reachable_address_is_refused() {
        let cases = [
            ("127.0.0.1:18080", AuthChoice::Unset, true),
            ("127.0.0.2:18080", AuthChoice::Unset, true),
            ("[::1]:18080", AuthChoice::Unset, true),
            ("0.0.0.0:18080", AuthChoice::Unset, false),
            ("[::]:18080", AuthChoice::Unset, false),
            ("10.1.2.3:18080", AuthChoice::Unset, false),
            ("0.0.0.0:18080", AuthChoice::None, true),
            ("0.0.0.0:18080", AuthChoice::Oidc, true),
            ("10.1.2.3:18080", AuthChoice::Proxy, true),
        ];
        for (listen, choice, starts) in cases {
            let listen: SocketAddr = listen.parse().expect("an address");
            assert_eq!(refuse_unsafe_default(listen, choice).is_ok(), starts, "{listen} {choice:?}");
        }
        let message =
            refuse_unsafe_default("0.0.0.0:18080".parse().expect("address"), AuthChoice::Unset).expect_err("refused");
        for flag in ["--auth oidc", "--oidc-issuer", "--auth proxy", "--trusted-proxy", "--auth none", "127.0.0.1"] {
            assert!(message.contains(flag), "{flag}: {message}");
        }
    }
}
