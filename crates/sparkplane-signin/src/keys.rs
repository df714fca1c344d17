//! The issuer's signing keys, kept between requests and fetched again when
//! the issuer rotates them — without a restart.
//!
//! Rules: keys are fetched on first use and again every
//! [`KeyCache::refresh_every`] seconds; a token naming a key the set does not
//! have makes one fetch at once (a provider publishes a new key before it
//! signs with it), at most once every [`KeyCache::min_gap`] seconds so a
//! stream of forged `kid`s cannot make the server hammer the provider; a
//! failed fetch keeps the keys already held (with none held, it is tried
//! again after the same minimum gap).
//! Owns when to fetch; the fetching itself is the host's ([`KeySource`]).

use jsonwebtoken::jwk::JwkSet;
use sparkplane_access::Identity;

use crate::token::{Refusal, TokenSettings, verify, verify_id_token};

/// Fetches the issuer's current key set (its `jwks_uri`).
pub trait KeySource {
    /// The key set, or why it could not be had (no secret in the text).
    fn fetch(&mut self) -> Result<JwkSet, String>;
}

/// The keys held, and when they were last fetched.
#[derive(Debug, Clone)]
pub struct KeyCache {
    keys: Option<JwkSet>,
    fetched_at: Option<u64>,
    /// Seconds between scheduled fetches.
    pub refresh_every: u64,
    /// The least seconds between two fetches caused by unknown keys.
    pub min_gap: u64,
}

impl Default for KeyCache {
    fn default() -> KeyCache {
        KeyCache { keys: None, fetched_at: None, refresh_every: 3_600, min_gap: 10 }
    }
}

impl KeyCache {
    /// Verifies a token with the keys held, fetching them first when due, and
    /// once more when the token names a key not held.
    pub fn verify(
        &mut self,
        settings: &TokenSettings,
        source: &mut dyn KeySource,
        token: &str,
        now: u64,
    ) -> Result<Identity, Refusal> {
        self.with_keys(source, now, |keys| verify(settings, keys, token, now))
    }

    /// An ID token of a sign-in, as [`crate::token::verify_id_token`] checks it, with the keys held.
    pub fn verify_id_token(
        &mut self,
        settings: &TokenSettings,
        source: &mut dyn KeySource,
        token: &str,
        now: u64,
        nonce: &str,
    ) -> Result<(Identity, u64), Refusal> {
        self.with_keys(source, now, |keys| verify_id_token(settings, keys, token, now, nonce))
    }

    /// Runs a check with the keys held, fetching as the rules say.
    fn with_keys<T>(
        &mut self,
        source: &mut dyn KeySource,
        now: u64,
        check: impl Fn(&JwkSet) -> Result<T, Refusal>,
    ) -> Result<T, Refusal> {
        let since = self.fetched_at.map(|at| now.saturating_sub(at));
        let due = match (&self.keys, since) {
            (_, None) => true,
            (None, Some(since)) => since >= self.min_gap,
            (Some(_), Some(since)) => since >= self.refresh_every,
        };
        if due {
            self.fetch(source, now)?;
        }
        let keys = self.keys.as_ref().ok_or_else(|| Refusal::KeysUnavailable("never fetched".to_owned()))?;
        match check(keys) {
            Err(Refusal::UnknownKey(kid))
                if !due && self.fetched_at.is_some_and(|at| now.saturating_sub(at) >= self.min_gap) =>
            {
                self.fetch(source, now)?;
                let keys = self.keys.as_ref().ok_or_else(|| Refusal::UnknownKey(kid.clone()))?;
                check(keys)
            }
            answer => answer,
        }
    }

    /// Fetches the set; on failure keeps what is held (refusing only when nothing is).
    fn fetch(&mut self, source: &mut dyn KeySource, now: u64) -> Result<(), Refusal> {
        self.fetched_at = Some(now);
        match source.fetch() {
            Ok(keys) => {
                self.keys = Some(keys);
                Ok(())
            }
            Err(_) if self.keys.is_some() => Ok(()),
            Err(reason) => Err(Refusal::KeysUnavailable(reason)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::token::tests::{NOW, TestKey, claims, set, settings};

    /// A provider whose published set the test changes, counting fetches.
    struct Provider {
        published: Result<JwkSet, String>,
        fetches: usize,
    }

    impl KeySource for Provider {
        fn fetch(&mut self) -> Result<JwkSet, String> {
            self.fetches += 1;
            self.published.clone()
        }
    }

    #[test]
    fn a_rotated_key_is_picked_up_without_a_restart() {
        let (old, new) = (TestKey::new("old"), TestKey::new("new"));
        let mut provider = Provider { published: Ok(set(&[&old])), fetches: 0 };
        let mut cache = KeyCache::default();
        assert!(cache.verify(&settings(), &mut provider, &old.sign(&claims()), NOW).is_ok());
        assert_eq!(provider.fetches, 1, "fetched on first use");
        assert!(cache.verify(&settings(), &mut provider, &old.sign(&claims()), NOW + 1).is_ok());
        assert_eq!(provider.fetches, 1, "held between requests");
        // The provider rotates: the new key is published and signs.
        provider.published = Ok(set(&[&old, &new]));
        assert!(cache.verify(&settings(), &mut provider, &new.sign(&claims()), NOW + 30).is_ok());
        assert_eq!(provider.fetches, 2, "one fetch for the unknown key");
    }

    #[test]
    fn forged_key_ids_cannot_make_the_server_hammer_the_provider() {
        let (key, forged) = (TestKey::new("k"), TestKey::new("forged"));
        let mut provider = Provider { published: Ok(set(&[&key])), fetches: 0 };
        let mut cache = KeyCache::default();
        cache.verify(&settings(), &mut provider, &key.sign(&claims()), NOW).expect("accepted");
        for second in 0..5 {
            let answer = cache.verify(&settings(), &mut provider, &forged.sign(&claims()), NOW + second);
            assert_eq!(answer, Err(Refusal::UnknownKey(Some("forged".into()))));
        }
        assert_eq!(provider.fetches, 1, "no fetch within the minimum gap");
        let answer = cache.verify(&settings(), &mut provider, &forged.sign(&claims()), NOW + 10);
        assert_eq!(answer, Err(Refusal::UnknownKey(Some("forged".into()))));
        assert_eq!(provider.fetches, 2, "one fetch once the gap has passed");
    }

    #[test]
    fn a_failed_fetch_keeps_the_keys_held_and_without_any_refuses() {
        let key = TestKey::new("k");
        let at = |now: u64| {
            let mut claims = claims();
            claims["exp"] = (now + 300).into();
            key.sign(&claims)
        };
        let mut provider = Provider { published: Err("connection refused".into()), fetches: 0 };
        let mut cache = KeyCache::default();
        let answer = cache.verify(&settings(), &mut provider, &at(NOW), NOW);
        assert_eq!(answer, Err(Refusal::KeysUnavailable("connection refused".into())));
        let answer = cache.verify(&settings(), &mut provider, &at(NOW + 1), NOW + 1);
        assert_eq!(answer, Err(Refusal::KeysUnavailable("never fetched".into())), "not tried again at once");
        provider.published = Ok(set(&[&key]));
        let later = NOW + cache.min_gap;
        assert!(cache.verify(&settings(), &mut provider, &at(later), later).is_ok(), "tried again after the gap");
        provider.published = Err("timed out".into());
        let much_later = later + cache.refresh_every;
        assert!(cache.verify(&settings(), &mut provider, &at(much_later), much_later).is_ok(), "old keys kept");
        assert_eq!(provider.fetches, 3);
    }
}
