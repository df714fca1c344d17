//! Signatures of release files, in the formats cosign's key-based signing
//! uses: ECDSA on P-256 over SHA-256 of the file's bytes, the signature
//! written as base64 of its ASN.1 DER encoding (what `cosign sign-blob --key`
//! prints), the private key as PKCS#8 PEM (`openssl genpkey`, the input of
//! `cosign import-key-pair`; SEC1 `EC PRIVATE KEY` PEM is read too) and the
//! public key as SubjectPublicKeyInfo PEM (like `cosign.pub`).
//!
//! Owns: reading and writing keys, signing, verifying, and the key id
//! (SHA-256 of the public key's DER) that names a key in records. Must not
//! read files or know what is signed. Keyless signing (Fulcio, Rekor) needs
//! a network and is not done here.

use base64::Engine as _;
use p256::ecdsa::signature::{Signer as _, Verifier as _};
use p256::ecdsa::{DerSignature, Signature, SigningKey, VerifyingKey};
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding,
};
use sha2::{Digest as _, Sha256};

/// Why a key or signature could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SignError {
    /// The private key is not an ECDSA P-256 key in PEM.
    #[error(
        "not an ECDSA P-256 private key in PEM (PKCS#8 `PRIVATE KEY` or SEC1 `EC PRIVATE KEY`); \
         an encrypted cosign key must be exported first, or make one with `sparkplane release keygen`"
    )]
    PrivateKey,
    /// The public key is not an ECDSA P-256 key in PEM.
    #[error("not an ECDSA P-256 public key in PEM (`PUBLIC KEY`, as cosign.pub)")]
    PublicKey,
    /// The signature text is not base64 of a DER ECDSA signature.
    #[error("the signature is not base64 of a DER-encoded ECDSA signature")]
    Malformed,
    /// The signature is well formed but does not match the data and key.
    #[error("the signature does not match this data and key")]
    Mismatch,
}

/// A private signing key.
#[derive(Clone)]
pub struct PrivateKey(SigningKey);

impl std::fmt::Debug for PrivateKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the secret scalar.
        write!(f, "PrivateKey({})", self.public().key_id())
    }
}

/// A public verification key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublicKey(VerifyingKey);

impl PrivateKey {
    /// A new random key from the operating system's generator.
    pub fn generate() -> PrivateKey {
        PrivateKey(SigningKey::random(&mut rand_core::OsRng))
    }

    /// Reads a PKCS#8 (`PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`) PEM key.
    pub fn from_pem(text: &str) -> Result<PrivateKey, SignError> {
        if let Ok(key) = SigningKey::from_pkcs8_pem(text) {
            return Ok(PrivateKey(key));
        }
        p256::SecretKey::from_sec1_pem(text).map(|k| PrivateKey(SigningKey::from(k))).map_err(|_| SignError::PrivateKey)
    }

    /// The key as PKCS#8 PEM (unencrypted: keep the file private).
    pub fn to_pem(&self) -> String {
        self.0.to_pkcs8_pem(LineEnding::LF).map(|pem| pem.to_string()).unwrap_or_default()
    }

    /// Its public half.
    pub fn public(&self) -> PublicKey {
        PublicKey(*self.0.verifying_key())
    }

    /// Signs `data` (ECDSA P-256, SHA-256; deterministic nonces per RFC 6979,
    /// so one key signs one file to one signature): base64 of the DER signature.
    pub fn sign(&self, data: &[u8]) -> String {
        let signature: Signature = self.0.sign(data);
        let der: DerSignature = signature.to_der();
        base64::engine::general_purpose::STANDARD.encode(der.as_bytes())
    }
}

impl PublicKey {
    /// Reads a SubjectPublicKeyInfo PEM key (`-----BEGIN PUBLIC KEY-----`).
    pub fn from_pem(text: &str) -> Result<PublicKey, SignError> {
        VerifyingKey::from_public_key_pem(text).map(PublicKey).map_err(|_| SignError::PublicKey)
    }

    /// The key as SubjectPublicKeyInfo PEM.
    pub fn to_pem(&self) -> String {
        self.0.to_public_key_pem(LineEnding::LF).unwrap_or_default()
    }

    /// `sha256:` and the hex SHA-256 of the key's DER encoding: names the key
    /// in release records and messages without printing it.
    pub fn key_id(&self) -> String {
        let der = self.0.to_public_key_der().map(|d| d.as_bytes().to_vec()).unwrap_or_default();
        format!("sha256:{}", hex(&Sha256::digest(der)))
    }

    /// Checks `signature` (base64 of DER; surrounding whitespace ignored, as
    /// in a `.sig` file with a final newline) over `data`.
    pub fn verify(&self, data: &[u8], signature: &str) -> Result<(), SignError> {
        let bytes =
            base64::engine::general_purpose::STANDARD.decode(signature.trim()).map_err(|_| SignError::Malformed)?;
        let signature = Signature::from_der(&bytes).map_err(|_| SignError::Malformed)?;
        self.0.verify(data, &signature).map_err(|_| SignError::Mismatch)
    }
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `sha256:` and the hex SHA-256 of `bytes`: how records name a file's digest.
pub fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;

    // A P-256 key made for these tests with
    // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256`, and
    // the same key as `openssl ec` writes it (SEC1).
    const OPENSSL_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgt9c5UhknXhsCDNWd
tALfn9vCbrPRL4hfTo5AaCR458GhRANCAAT83E8KoF2rQnHO3cpeWnMb75SUuv2H
OPFxlsjPllLIM2VlN3kckKJbNDg/Kw1vl5afq1wK5tbJFYZiV1QB8bND
-----END PRIVATE KEY-----
";
    const OPENSSL_SEC1_KEY: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEILfXOVIZJ14bAgzVnbQC35/bwm6z0S+IX06OQGgkeOfBoAoGCCqGSM49
AwEHoUQDQgAE/NxPCqBdq0Jxzt3KXlpzG++UlLr9hzjxcZbIz5ZSyDNlZTd5HJCi
WzQ4PysNb5eWn6tcCubWyRWGYldUAfGzQw==
-----END EC PRIVATE KEY-----
";

    #[test]
    fn pkcs8_and_sec1_forms_of_one_key_are_the_same_key() {
        let pkcs8 = PrivateKey::from_pem(OPENSSL_KEY).expect("pkcs8");
        let sec1 = PrivateKey::from_pem(OPENSSL_SEC1_KEY).expect("sec1");
        assert_eq!(pkcs8.public(), sec1.public());
    }

    #[test]
    fn a_signature_verifies_with_the_public_key_and_fails_on_other_data() {
        let key = PrivateKey::generate();
        let signature = key.sign(b"release");
        assert_eq!(key.public().verify(b"release", &format!("{signature}\n")), Ok(()));
        assert_eq!(key.public().verify(b"releasE", &signature), Err(SignError::Mismatch));
        assert_eq!(PrivateKey::generate().public().verify(b"release", &signature), Err(SignError::Mismatch));
        assert_eq!(key.public().verify(b"release", "not base64!"), Err(SignError::Malformed));
        assert_eq!(key.public().verify(b"release", "AAAA"), Err(SignError::Malformed));
    }

    #[test]
    fn signing_is_deterministic_and_keys_round_trip_through_pem() {
        let key = PrivateKey::from_pem(OPENSSL_KEY).expect("openssl key");
        assert_eq!(key.sign(b"x"), key.sign(b"x"));
        let again = PrivateKey::from_pem(&key.to_pem()).expect("own pem");
        assert_eq!(again.sign(b"x"), key.sign(b"x"));
        let public = PublicKey::from_pem(&key.public().to_pem()).expect("public pem");
        assert_eq!(public, key.public());
        assert!(key.public().to_pem().starts_with("-----BEGIN PUBLIC KEY-----\n"));
        assert!(key.to_pem().starts_with("-----BEGIN PRIVATE KEY-----\n"));
        assert_eq!(public.key_id().len(), "sha256:".len() + 64);
        assert!(!format!("{key:?}").contains("PRIVATE"), "Debug never shows the key");
    }

    #[test]
    fn wrong_key_kinds_are_refused() {
        assert_eq!(PrivateKey::from_pem("hello").map(|_| ()), Err(SignError::PrivateKey));
        let public_pem = PrivateKey::generate().public().to_pem();
        assert_eq!(PrivateKey::from_pem(&public_pem).map(|_| ()), Err(SignError::PrivateKey));
        assert_eq!(PublicKey::from_pem(OPENSSL_KEY).map(|_| ()), Err(SignError::PublicKey));
    }
}
