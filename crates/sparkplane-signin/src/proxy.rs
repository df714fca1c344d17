//! The trusted-proxy mode: a platform that already runs an authenticating
//! proxy (oauth2-proxy, an ingress with external auth) passes the person in
//! request headers. Those headers are believed only when the request comes
//! from one of the configured proxy addresses and, when a shared secret is
//! configured, carries it; from anywhere else they are ignored, as if absent,
//! so a forged header from a client reaching the server directly signs no
//! one in.
//! Owns the rule; not the reading of a request (the caller passes the peer
//! address and the headers).

use std::collections::BTreeSet;
use std::net::IpAddr;

use ipnet::IpNet;
use sparkplane_access::Identity;

use crate::token::MAX_GROUPS;

/// The longest header value read for the user or the groups.
pub const MAX_HEADER_VALUE: usize = 8 * 1024;

/// Where the proxy's headers come from and what they are called.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProxySettings {
    /// Addresses (or networks) of the proxy.
    pub proxies: Vec<IpNet>,
    /// The header naming the user (lower case), e.g. `x-forwarded-user`.
    pub user_header: String,
    /// The header listing the groups, comma-separated, e.g. `x-forwarded-groups`.
    pub groups_header: String,
    /// A header name and the secret value the proxy adds, when configured.
    pub secret: Option<(String, String)>,
}

impl ProxySettings {
    /// Settings from the proxy addresses (`10.0.0.5`, `10.0.0.0/24`) and header names.
    pub fn new(proxies: &[&str], user_header: &str, groups_header: &str) -> Result<ProxySettings, String> {
        if proxies.is_empty() {
            return Err("trusted-proxy mode needs the proxy's addresses (--trusted-proxy ADDR)".to_owned());
        }
        let proxies = proxies
            .iter()
            .map(|p| {
                p.parse::<IpNet>()
                    .or_else(|_| p.parse::<IpAddr>().map(IpNet::from))
                    .map_err(|_| format!("`{p}` is not an IP address or network (10.0.0.5, 10.0.0.0/24)"))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(ProxySettings {
            proxies,
            user_header: user_header.to_ascii_lowercase(),
            groups_header: groups_header.to_ascii_lowercase(),
            secret: None,
        })
    }
}

/// What a request says about its person in trusted-proxy mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TrustedProxy {
    /// From the proxy, naming a person.
    Person(Identity),
    /// Not from the proxy (its headers ignored), or from it naming no one.
    NoOne,
}

/// The person a request's headers name, believed only from the proxy.
/// `headers` are (name, value) pairs as received; names compare case-insensitively.
pub fn identity_from_proxy(settings: &ProxySettings, peer: IpAddr, headers: &[(String, String)]) -> TrustedProxy {
    if !settings.proxies.iter().any(|net| net.contains(&peer)) {
        return TrustedProxy::NoOne;
    }
    let header = |name: &str| {
        let mut values = headers.iter().filter(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str());
        match (values.next(), values.next()) {
            (Some(one), None) if one.len() <= MAX_HEADER_VALUE => Some(one),
            _ => None, // absent, repeated (ambiguous) or oversized
        }
    };
    if let Some((name, secret)) = &settings.secret {
        let given = header(name).unwrap_or_default();
        if !same_secret(given.as_bytes(), secret.as_bytes()) {
            return TrustedProxy::NoOne;
        }
    }
    let Some(user) = header(&settings.user_header).map(str::trim).filter(|u| !u.is_empty()) else {
        return TrustedProxy::NoOne;
    };
    let groups: BTreeSet<String> = header(&settings.groups_header)
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|g| !g.is_empty())
        .take(MAX_GROUPS)
        .map(str::to_owned)
        .collect();
    TrustedProxy::Person(Identity { user: user.to_owned(), groups })
}

/// Compares two secrets in time that does not depend on where they differ.
fn same_secret(given: &[u8], want: &[u8]) -> bool {
    let mut difference = u8::from(given.len() != want.len());
    for (i, byte) in want.iter().enumerate() {
        difference |= byte ^ given.get(i).copied().unwrap_or(0);
    }
    difference == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect()
    }

    fn settings() -> ProxySettings {
        ProxySettings::new(&["10.0.0.5", "192.168.7.0/24"], "X-Forwarded-User", "X-Forwarded-Groups").expect("settings")
    }

    #[test]
    fn the_proxys_headers_name_the_person() {
        let sent = headers(&[("x-forwarded-user", "alice"), ("X-Forwarded-Groups", "team-a, readers,,")]);
        for peer in ["10.0.0.5", "192.168.7.200"] {
            assert_eq!(
                identity_from_proxy(&settings(), peer.parse().expect("ip"), &sent),
                TrustedProxy::Person(Identity::new("alice", ["readers", "team-a"])),
                "{peer}"
            );
        }
    }

    #[test]
    fn forged_headers_from_anywhere_else_are_ignored() {
        let forged = headers(&[("x-forwarded-user", "admin"), ("x-forwarded-groups", "platform")]);
        for peer in ["10.0.0.6", "192.168.8.1", "127.0.0.1", "::1"] {
            assert_eq!(
                identity_from_proxy(&settings(), peer.parse().expect("ip"), &forged),
                TrustedProxy::NoOne,
                "{peer}"
            );
        }
    }

    #[test]
    fn with_a_secret_only_the_right_one_is_believed() {
        let mut with_secret = settings();
        with_secret.secret = Some(("x-proxy-secret".into(), "s3cr3t-value".into()));
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let right = headers(&[("x-forwarded-user", "alice"), ("X-Proxy-Secret", "s3cr3t-value")]);
        assert!(matches!(identity_from_proxy(&with_secret, proxy, &right), TrustedProxy::Person(_)));
        for wrong in ["s3cr3t-valuf", "s3cr3t-value-and-more", "s3cr3t", ""] {
            let sent = headers(&[("x-forwarded-user", "alice"), ("x-proxy-secret", wrong)]);
            assert_eq!(identity_from_proxy(&with_secret, proxy, &sent), TrustedProxy::NoOne, "{wrong:?}");
        }
        assert_eq!(
            identity_from_proxy(&with_secret, proxy, &headers(&[("x-forwarded-user", "alice")])),
            TrustedProxy::NoOne
        );
    }

    #[test]
    fn repeated_empty_or_oversized_user_headers_name_no_one() {
        let proxy: IpAddr = "10.0.0.5".parse().expect("ip");
        let long = "a".repeat(MAX_HEADER_VALUE + 1);
        for sent in [
            headers(&[("x-forwarded-user", "alice"), ("x-forwarded-user", "admin")]),
            headers(&[("x-forwarded-user", "  ")]),
            headers(&[("x-forwarded-user", &long)]),
            headers(&[]),
        ] {
            assert_eq!(identity_from_proxy(&settings(), proxy, &sent), TrustedProxy::NoOne);
        }
    }

    #[test]
    fn bad_proxy_addresses_are_refused_by_name() {
        assert_eq!(
            ProxySettings::new(&["10.0.0.300"], "u", "g").unwrap_err(),
            "`10.0.0.300` is not an IP address or network (10.0.0.5, 10.0.0.0/24)"
        );
        assert!(ProxySettings::new(&[], "u", "g").unwrap_err().contains("--trusted-proxy"));
    }
}
