//! The front door (issue #65): every HTTP surface a person opens — the
//! History Server's pages and `/api/v1`, and the console and live-UI proxy to
//! come — asks it who each request is from before answering.
//!
//! Owns: which sign-in a server runs and the rule that picks it from its
//! listen address ([`mode`]: the local user on loopback without a setting; a
//! refusal to start on any other address without one; `--auth none` only
//! when said), the sign-in flags a server takes checked and their secret
//! files read ([`flags`]), and the [`Door`] that turns a request into a
//! [`sparkplane_access::Viewer`] or the answer to send instead: OpenID
//! Connect ([`oidc`]: bearer tokens for API clients, the authorization-code
//! sign-in with its `/oauth2/…` routes and session cookie for browsers, the
//! provider's discovery document and keys fetched over HTTP), or a trusted
//! authenticating proxy. One log line on stderr for each refused request,
//! never with a token, cookie or secret in it.
//! Must not: decide what a viewer may see (`sparkplane-access` does, and the
//! surface applies it), verify tokens or run the sign-in flow's rules itself
//! (`sparkplane-signin` does), or bind a port (the surface's server does).

pub mod cookies;
pub mod door;
pub mod flags;
mod logline;
pub mod mode;
pub mod oidc;

pub use door::Door;
pub use flags::{AccessFlags, FlagError, SignInFlags, door_from_flags};
pub use mode::{AuthChoice, DoorSettings, open, refuse_unsafe_default};
pub use oidc::{OidcDoor, OidcSettings, StartError};
