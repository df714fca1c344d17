//! sparkplane-door's integration tests: the door in front of a small server,
//! against a real OpenID Connect provider (npm's oidc-provider) on 127.0.0.1.

mod signin;
