//! Signing a person in (issue #65): who a request is from, for every HTTP
//! surface a person opens.
//!
//! Owns: the browser's authorization-code flow with PKCE and the signed
//! login and session cookies ([`flow`]); verifying an OpenID Connect token (ID or access token, a JWT)
//! against the issuer's published keys, with the issuer, audience, expiry,
//! not-before and an allow-list of algorithms checked ([`token`]); keeping
//! those keys and fetching them again when the issuer rotates them
//! ([`keys`], behind [`keys::KeySource`]); and a trusted authenticating
//! proxy's identity headers, believed only from the proxy ([`proxy`]). Each
//! gives a [`sparkplane_access::Identity`] or says why not.
//! Must not: decide what the person may see (that is `sparkplane-access`),
//! answer a request, or fetch anything itself (the host fetches the keys);
//! a token, secret or key never reaches a log line or an error's text.

pub mod flow;
pub mod keys;
pub mod proxy;
pub mod token;

pub use keys::{KeyCache, KeySource};
pub use proxy::{ProxySettings, TrustedProxy, identity_from_proxy};
pub use token::{Refusal, TokenSettings, verify, verify_id_token};
