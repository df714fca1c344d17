//! Verifying an OpenID Connect token — an ID token from the browser flow or
//! a bearer access token in JWT form from an API client — against the
//! issuer's keys, and reading the person from it.
//!
//! Checked, in this order, each refusal its own [`Refusal`]: the token's
//! size and shape; its algorithm against the allow-list (only asymmetric
//! algorithms can be allowed: an HMAC token "signed" with a public key is
//! the classic confusion attack, and `none` is never an algorithm); a key of
//! the issuer's set matching its `kid` and algorithm; the signature; then
//! the claims: `iss` equal to the issuer, `aud` naming one of the
//! audiences, `exp` in the future and `nbf` (when present) in the past, both
//! within a leeway, `now` given by the caller.
//! Owns the checks and the claims → [`Identity`] mapping; not the keys'
//! fetching (the `keys` module) nor what the person may see.

use std::collections::BTreeSet;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::{Jwk, JwkSet, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use sparkplane_access::Identity;

/// The longest token read; a longer one is refused unread.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// The most groups one person may carry in a token.
pub const MAX_GROUPS: usize = 1_000;
/// Clock skew allowed on `exp` and `nbf` by default, in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// What a token must satisfy, and where the person is read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenSettings {
    /// The issuer, exactly as its discovery document's `issuer`.
    pub issuer: String,
    /// Accepted audiences: the client id, and any API audience.
    pub audiences: Vec<String>,
    /// Allowed algorithms (asymmetric only; [`TokenSettings::new`] refuses others).
    pub algorithms: Vec<Algorithm>,
    /// Clock skew allowed on `exp` and `nbf`, in seconds.
    pub leeway_secs: u64,
    /// Claims tried in order for the user name: the first present and non-empty wins.
    pub user_claims: Vec<String>,
    /// The claim listing the person's groups.
    pub groups_claim: String,
}

impl TokenSettings {
    /// Settings for an issuer and audiences, with algorithm names (`RS256`,
    /// `ES256`, …; empty: RS256, the algorithm every OpenID provider must
    /// offer, and ES256). Refuses a symmetric or unknown algorithm by name.
    pub fn new(issuer: &str, audiences: &[&str], algorithms: &[&str]) -> Result<TokenSettings, String> {
        let names: Vec<&str> = if algorithms.is_empty() { vec!["RS256", "ES256"] } else { algorithms.to_vec() };
        let mut allowed = Vec::new();
        for name in names {
            let algorithm: Algorithm = name.parse().map_err(|_| {
                format!("`{name}` is not a JWS algorithm; use RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384 or EdDSA")
            })?;
            if matches!(algorithm, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512) {
                return Err(format!(
                    "`{name}` is a shared-secret algorithm and cannot verify a provider's tokens; use RS256 or ES256"
                ));
            }
            allowed.push(algorithm);
        }
        if issuer.is_empty() || audiences.is_empty() || audiences.iter().any(|a| a.is_empty()) {
            return Err("an issuer and at least one audience (the client id) are needed".to_owned());
        }
        Ok(TokenSettings {
            issuer: issuer.to_owned(),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            algorithms: allowed,
            leeway_secs: DEFAULT_LEEWAY_SECS,
            user_claims: vec!["preferred_username".to_owned(), "email".to_owned(), "sub".to_owned()],
            groups_claim: "groups".to_owned(),
        })
    }
}

/// Why a token was refused. Its text names the reason, never the token.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("the token is not a signed JWT: {0}")]
    Malformed(String),
    #[error("the token's algorithm `{0}` is not allowed")]
    AlgorithmNotAllowed(String),
    #[error("no key of the issuer's set matches the token (kid {})", .0.as_deref().unwrap_or("absent"))]
    UnknownKey(Option<String>),
    #[error("the issuer's key {0} cannot verify {1} signatures")]
    UnusableKey(String, String),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token is from issuer `{0}`, not the configured one")]
    WrongIssuer(String),
    #[error("the token is for another audience")]
    WrongAudience,
    #[error("the token expired {0} s ago")]
    Expired(u64),
    #[error("the token is not valid for another {0} s")]
    NotYetValid(u64),
    #[error("the token has no `{0}` claim")]
    MissingClaim(String),
    #[error("the token lists more than {MAX_GROUPS} groups")]
    TooManyGroups,
    #[error("the ID token's nonce is not the one this sign-in sent")]
    WrongNonce,
    #[error("the issuer's keys are not available: {0}")]
    KeysUnavailable(String),
}

/// The person a valid token names, or why it is refused.
pub fn verify(settings: &TokenSettings, keys: &JwkSet, token: &str, now: u64) -> Result<Identity, Refusal> {
    verify_claims(settings, keys, token, now).and_then(|claims| identity(settings, &claims))
}

/// An ID token from the authorization-code flow: verified as [`verify`]
/// does, and its `nonce` equal to the one the login sent; also its expiry.
pub fn verify_id_token(
    settings: &TokenSettings,
    keys: &JwkSet,
    token: &str,
    now: u64,
    nonce: &str,
) -> Result<(Identity, u64), Refusal> {
    let claims = verify_claims(settings, keys, token, now)?;
    if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
        return Err(Refusal::WrongNonce);
    }
    let exp = claims.get("exp").and_then(Value::as_u64).unwrap_or(now);
    Ok((identity(settings, &claims)?, exp))
}

/// A token's claims once its signature and `iss`/`aud`/`exp`/`nbf` hold.
fn verify_claims(
    settings: &TokenSettings,
    keys: &JwkSet,
    token: &str,
    now: u64,
) -> Result<Map<String, Value>, Refusal> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(Refusal::Malformed(format!("longer than {MAX_TOKEN_BYTES} bytes")));
    }
    let header = read_header(token)?;
    let algorithm = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or_else(|| Refusal::Malformed("its header names no algorithm".to_owned()))?;
    let allowed = algorithm.parse::<Algorithm>().ok().filter(|a| settings.algorithms.contains(a));
    let Some(algorithm) = allowed else {
        return Err(Refusal::AlgorithmNotAllowed(printable(algorithm)));
    };
    if header.contains_key("crit") {
        return Err(Refusal::Malformed("its header has critical extensions".to_owned()));
    }
    let kid = header.get("kid").and_then(Value::as_str);
    let jwk = find_key(keys, kid, algorithm)?;
    let key = DecodingKey::from_jwk(jwk)
        .map_err(|_| Refusal::UnusableKey(jwk.common.key_id.clone().unwrap_or_default(), format!("{algorithm:?}")))?;
    let mut validation = Validation::new(algorithm);
    // The claims are checked below, against the caller's clock.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let data = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &validation).map_err(|e| match e.kind() {
        ErrorKind::InvalidSignature => Refusal::BadSignature,
        ErrorKind::InvalidAlgorithm | ErrorKind::UnsupportedAlgorithm => {
            Refusal::UnusableKey(jwk.common.key_id.clone().unwrap_or_default(), format!("{algorithm:?}"))
        }
        ErrorKind::InvalidRsaKey(_)
        | ErrorKind::InvalidEcdsaKey
        | ErrorKind::InvalidEddsaKey
        | ErrorKind::InvalidKeyFormat => {
            Refusal::UnusableKey(jwk.common.key_id.clone().unwrap_or_default(), format!("{algorithm:?}"))
        }
        _ => Refusal::Malformed("its claims are not a JSON object".to_owned()),
    })?;
    check_claims(settings, &data.claims, now)?;
    Ok(data.claims)
}

/// The token's header, decoded without trusting it.
fn read_header(token: &str) -> Result<Map<String, Value>, Refusal> {
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 || parts.iter().any(|p| p.is_empty()) {
        return Err(Refusal::Malformed("it does not have three non-empty parts".to_owned()));
    }
    let bytes =
        URL_SAFE_NO_PAD.decode(parts[0]).map_err(|_| Refusal::Malformed("its header is not base64url".to_owned()))?;
    match serde_json::from_slice(&bytes) {
        Ok(Value::Object(header)) => Ok(header),
        _ => Err(Refusal::Malformed("its header is not a JSON object".to_owned())),
    }
}

/// The key a token names: by `kid`, else the one key of the set for its
/// algorithm. A key marked for encryption, or for another algorithm, is no match.
fn find_key<'k>(keys: &'k JwkSet, kid: Option<&str>, algorithm: Algorithm) -> Result<&'k Jwk, Refusal> {
    let usable = |jwk: &&Jwk| {
        let for_signing = !matches!(jwk.common.public_key_use, Some(PublicKeyUse::Encryption));
        let same_algorithm = jwk.common.key_algorithm.is_none_or(|a| a.to_string() == format!("{algorithm:?}"));
        for_signing && same_algorithm
    };
    let candidates: Vec<&Jwk> = match kid {
        Some(kid) => keys.keys.iter().filter(|k| k.common.key_id.as_deref() == Some(kid)).filter(usable).collect(),
        None => keys.keys.iter().filter(usable).filter(|k| key_fits(k, algorithm)).collect(),
    };
    match candidates.as_slice() {
        [one] => Ok(one),
        _ => Err(Refusal::UnknownKey(kid.map(printable))),
    }
}

/// Whether a key's type can verify an algorithm (for a token with no `kid`).
fn key_fits(jwk: &Jwk, algorithm: Algorithm) -> bool {
    use jsonwebtoken::jwk::AlgorithmParameters as P;
    matches!(
        (&jwk.algorithm, algorithm),
        (P::RSA(_), Algorithm::RS256 | Algorithm::RS384 | Algorithm::RS512)
            | (P::RSA(_), Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512)
            | (P::EllipticCurve(_), Algorithm::ES256 | Algorithm::ES384)
            | (P::OctetKeyPair(_), Algorithm::EdDSA)
    )
}

fn check_claims(settings: &TokenSettings, claims: &Map<String, Value>, now: u64) -> Result<(), Refusal> {
    let issuer = claims.get("iss").and_then(Value::as_str).ok_or_else(|| Refusal::MissingClaim("iss".to_owned()))?;
    if issuer != settings.issuer {
        return Err(Refusal::WrongIssuer(printable(issuer)));
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => return Err(Refusal::MissingClaim("aud".to_owned())),
    };
    if !audiences.iter().any(|a| settings.audiences.iter().any(|want| want == a)) {
        return Err(Refusal::WrongAudience);
    }
    let exp = claims.get("exp").and_then(Value::as_u64).ok_or_else(|| Refusal::MissingClaim("exp".to_owned()))?;
    if now >= exp.saturating_add(settings.leeway_secs) {
        return Err(Refusal::Expired(now - exp));
    }
    if let Some(nbf) = claims.get("nbf") {
        let nbf = nbf.as_u64().ok_or_else(|| Refusal::Malformed("its `nbf` is not a number".to_owned()))?;
        if now.saturating_add(settings.leeway_secs) < nbf {
            return Err(Refusal::NotYetValid(nbf - now));
        }
    }
    Ok(())
}

fn identity(settings: &TokenSettings, claims: &Map<String, Value>) -> Result<Identity, Refusal> {
    let user = settings
        .user_claims
        .iter()
        .find_map(|claim| claims.get(claim).and_then(Value::as_str).filter(|v| !v.is_empty()))
        .ok_or_else(|| Refusal::MissingClaim(settings.user_claims.join(" or ")))?;
    let groups: BTreeSet<String> = match claims.get(&settings.groups_claim) {
        Some(Value::Array(list)) if list.len() > MAX_GROUPS => return Err(Refusal::TooManyGroups),
        Some(Value::Array(list)) => list.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
        Some(Value::String(one)) => BTreeSet::from([one.clone()]),
        _ => BTreeSet::new(),
    };
    Ok(Identity { user: user.to_owned(), groups })
}

/// A value from a token, shortened and stripped of control characters for an error's text.
fn printable(value: &str) -> String {
    value.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use aws_lc_rs::rand::SystemRandom;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
    use jsonwebtoken::{EncodingKey, Header};
    use serde_json::json;

    use super::*;

    pub const NOW: u64 = 1_800_000_000;
    pub const ISSUER: &str = "https://id.example.test";

    /// A P-256 key pair: the private key to sign with and its public JWK.
    pub struct TestKey {
        pub kid: String,
        pkcs8: Vec<u8>,
        pub jwk: Value,
    }

    impl TestKey {
        pub fn new(kid: &str) -> TestKey {
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .expect("a P-256 key")
                .as_ref()
                .to_vec();
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8).expect("the key");
            let point = pair.public_key().as_ref(); // 0x04 || x || y
            let jwk = json!({"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid,
                "x": URL_SAFE_NO_PAD.encode(&point[1..33]), "y": URL_SAFE_NO_PAD.encode(&point[33..65])});
            TestKey { kid: kid.to_owned(), pkcs8, jwk }
        }

        pub fn sign(&self, claims: &Value) -> String {
            let mut header = Header::new(Algorithm::ES256);
            header.kid = Some(self.kid.clone());
            jsonwebtoken::encode(&header, claims, &EncodingKey::from_ec_der(&self.pkcs8)).expect("a signed token")
        }
    }

    pub fn set(keys: &[&TestKey]) -> JwkSet {
        serde_json::from_value(json!({"keys": keys.iter().map(|k| k.jwk.clone()).collect::<Vec<_>>()}))
            .expect("a JWK set")
    }

    pub fn claims() -> Value {
        json!({"iss": ISSUER, "aud": "sparkplane", "sub": "u-1", "preferred_username": "alice",
            "groups": ["team-a", "readers"], "exp": NOW + 300, "nbf": NOW - 10, "iat": NOW - 10})
    }

    pub fn settings() -> TokenSettings {
        TokenSettings::new(ISSUER, &["sparkplane"], &[]).expect("settings")
    }

    fn with(change: impl FnOnce(&mut Map<String, Value>)) -> Value {
        let mut claims = claims();
        change(claims.as_object_mut().expect("an object"));
        claims
    }

    fn b64(value: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).expect("json"))
    }

    #[test]
    fn a_valid_token_names_the_person_and_their_groups() {
        let key = TestKey::new("k1");
        let person = verify(&settings(), &set(&[&key]), &key.sign(&claims()), NOW).expect("accepted");
        assert_eq!(person, Identity::new("alice", ["readers", "team-a"]));
        let by_email = with(|c| {
            c.remove("preferred_username");
            c.insert("email".into(), json!("bob@example.test"));
            c.insert("groups".into(), json!("solo"));
        });
        let person = verify(&settings(), &set(&[&key]), &key.sign(&by_email), NOW).expect("accepted");
        assert_eq!(person, Identity::new("bob@example.test", ["solo"]));
        let audiences = with(|c| {
            c.insert("aud".into(), json!(["other", "sparkplane"]));
        });
        assert!(verify(&settings(), &set(&[&key]), &key.sign(&audiences), NOW).is_ok(), "one of several audiences");
    }

    #[test]
    fn every_bad_token_is_refused_with_its_reason() {
        let key = TestKey::new("k1");
        let other = TestKey::new("k2");
        let keys = set(&[&key]);
        let good = key.sign(&claims());
        let (header, rest) = good.split_once('.').expect("a JWT");
        let (payload, signature) = rest.split_once('.').expect("a JWT");
        // One byte of the signature changed, still base64url.
        let mut altered = signature.to_owned().into_bytes();
        altered[10] = if altered[10] == b'A' { b'B' } else { b'A' };
        let altered = format!("{header}.{payload}.{}", String::from_utf8(altered).expect("ascii"));
        // The payload swapped for another person's, the signature kept.
        let swapped = format!(
            "{header}.{}.{signature}",
            b64(&with(|c| {
                c.insert("preferred_username".into(), json!("mallory"));
            }))
        );
        let none = format!("{}.{}.x", b64(&json!({"alg": "none", "kid": "k1"})), b64(&claims()));
        let hs256 = jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims(),
            &EncodingKey::from_secret(serde_json::to_string(&key.jwk).expect("json").as_bytes()),
        )
        .expect("an HS256 token");
        let cases: Vec<(&str, String, Refusal)> = vec![
            (
                "expired",
                key.sign(&with(|c| {
                    c.insert("exp".into(), json!(NOW - 61));
                })),
                Refusal::Expired(61),
            ),
            (
                "not yet valid",
                key.sign(&with(|c| {
                    c.insert("nbf".into(), json!(NOW + 120));
                })),
                Refusal::NotYetValid(120),
            ),
            (
                "another audience",
                key.sign(&with(|c| {
                    c.insert("aud".into(), json!("grafana"));
                })),
                Refusal::WrongAudience,
            ),
            (
                "another issuer",
                key.sign(&with(|c| {
                    c.insert("iss".into(), json!("https://evil.test"));
                })),
                Refusal::WrongIssuer("https://evil.test".into()),
            ),
            ("an unknown key", other.sign(&claims()), Refusal::UnknownKey(Some("k2".into()))),
            ("alg none", none, Refusal::AlgorithmNotAllowed("none".into())),
            ("HS256 with the public key as secret", hs256, Refusal::AlgorithmNotAllowed("HS256".into())),
            ("one byte altered", altered, Refusal::BadSignature),
            ("another payload", swapped, Refusal::BadSignature),
            (
                "no expiry",
                key.sign(&with(|c| {
                    c.remove("exp");
                })),
                Refusal::MissingClaim("exp".into()),
            ),
            (
                "no user",
                key.sign(&with(|c| {
                    c.remove("preferred_username");
                    c.remove("sub");
                })),
                Refusal::MissingClaim("preferred_username or email or sub".into()),
            ),
            (
                "too many groups",
                key.sign(&with(|c| {
                    c.insert("groups".into(), json!(vec!["g"; MAX_GROUPS + 1]));
                })),
                Refusal::TooManyGroups,
            ),
            ("two parts", "a.b".to_owned(), Refusal::Malformed("it does not have three non-empty parts".into())),
            (
                "oversized",
                "a".repeat(MAX_TOKEN_BYTES + 1),
                Refusal::Malformed(format!("longer than {MAX_TOKEN_BYTES} bytes")),
            ),
        ];
        for (case, token, want) in cases {
            assert_eq!(verify(&settings(), &keys, &token, NOW), Err(want), "{case}");
        }
    }

    #[test]
    fn an_id_token_must_carry_this_sign_ins_nonce() {
        let key = TestKey::new("k1");
        let token = key.sign(&with(|c| {
            c.insert("nonce".into(), json!("n-123"));
        }));
        let (person, exp) = verify_id_token(&settings(), &set(&[&key]), &token, NOW, "n-123").expect("accepted");
        assert_eq!((person.user.as_str(), exp), ("alice", NOW + 300));
        assert_eq!(verify_id_token(&settings(), &set(&[&key]), &token, NOW, "n-456"), Err(Refusal::WrongNonce));
        let without = key.sign(&claims());
        assert_eq!(verify_id_token(&settings(), &set(&[&key]), &without, NOW, "n-123"), Err(Refusal::WrongNonce));
    }

    #[test]
    fn the_leeway_forgives_a_little_clock_skew_and_no_more() {
        let key = TestKey::new("k1");
        let keys = set(&[&key]);
        let just_expired = key.sign(&with(|c| {
            c.insert("exp".into(), json!(NOW - 59));
        }));
        assert!(verify(&settings(), &keys, &just_expired, NOW).is_ok());
        let early = key.sign(&with(|c| {
            c.insert("nbf".into(), json!(NOW + 59));
        }));
        assert!(verify(&settings(), &keys, &early, NOW).is_ok());
    }

    #[test]
    fn a_token_without_kid_needs_exactly_one_fitting_key() {
        let key = TestKey::new("k1");
        let mut header = Header::new(Algorithm::ES256);
        header.kid = None;
        let token = jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_ec_der(&key.pkcs8)).expect("token");
        assert!(verify(&settings(), &set(&[&key]), &token, NOW).is_ok());
        let second = TestKey::new("k2");
        assert_eq!(verify(&settings(), &set(&[&key, &second]), &token, NOW), Err(Refusal::UnknownKey(None)));
    }

    #[test]
    fn settings_refuse_shared_secret_and_unknown_algorithms() {
        assert!(TokenSettings::new(ISSUER, &["c"], &["HS256"]).unwrap_err().contains("shared-secret"));
        assert!(TokenSettings::new(ISSUER, &["c"], &["none"]).unwrap_err().contains("not a JWS algorithm"));
        assert!(TokenSettings::new(ISSUER, &[], &[]).is_err());
        assert_eq!(settings().algorithms, [Algorithm::RS256, Algorithm::ES256]);
    }

    #[test]
    fn a_refusal_never_repeats_the_token() {
        let key = TestKey::new("k1");
        let token = key.sign(&with(|c| {
            c.insert("exp".into(), json!(NOW - 3600));
        }));
        let text = verify(&settings(), &set(&[&key]), &token, NOW).unwrap_err().to_string();
        assert_eq!(text, "the token expired 3600 s ago");
        assert!(!text.contains(token.split('.').nth(1).expect("payload")));
    }
}
