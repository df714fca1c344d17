//! Kubernetes naming rules and the names sparkplane generates.
//!
//! A job's name becomes the prefix of every object it renders; the longest
//! is the executor pod-name prefix `<name>-<8 hex>`, which Spark limits to 47
//! characters, so job names are limited to [`MAX_JOB_NAME`].

/// Longest job name: Spark's 47-character executor pod-name prefix minus `-` and an 8-digit hash.
pub const MAX_JOB_NAME: usize = 47 - 1 - 8;

/// Whether `name` is a DNS-1123 label (lower-case alphanumerics and `-`, starting and ending alphanumeric, ≤ 63).
pub fn is_dns1123_label(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !name.starts_with('-')
        && !name.ends_with('-')
}

/// Whether `name` is a DNS-1123 subdomain (dot-separated labels, ≤ 253): most objects' names, e.g. a Secret's.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    !name.is_empty() && name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

/// A DNS-1123 label made from arbitrary text (lower-cased, other characters to `-`), for suggestions.
pub fn to_dns1123_label(text: &str) -> String {
    let mut out: String = text
        .to_ascii_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' })
        .collect();
    while out.contains("--") {
        out = out.replace("--", "-");
    }
    out.trim_matches('-').chars().take(MAX_JOB_NAME).collect::<String>().trim_end_matches('-').to_owned()
}

/// Whether `value` is a valid label value (≤ 63, alphanumerics, `-`, `_`, `.`, alphanumeric at both ends; may be empty).
pub fn is_label_value(value: &str) -> bool {
    value.is_empty()
        || (value.len() <= 63
            && value.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && value.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && value.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric))
}

/// Whether `key` is a valid label or annotation key (`[prefix/]name`).
pub fn is_label_key(key: &str) -> bool {
    let (prefix, name) = match key.rsplit_once('/') {
        Some((p, n)) => (Some(p), n),
        None => (None, key),
    };
    let prefix_ok = prefix.is_none_or(|p| !p.is_empty() && p.len() <= 253 && p.split('.').all(is_dns1123_label));
    prefix_ok && !name.is_empty() && is_label_value(name)
}

/// Whether `name` is a valid environment-variable name (C identifier).
pub fn is_env_name(name: &str) -> bool {
    name.as_bytes().first().is_some_and(|b| b.is_ascii_alphabetic() || *b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dns_labels() {
        assert!(is_dns1123_label("trips-etl-2"));
        for bad in ["", "Trips", "-a", "a-", "a_b", "a.b", &"a".repeat(64)] {
            assert!(!is_dns1123_label(bad), "{bad}");
        }
        assert_eq!(to_dns1123_label("Trips_ETL job!"), "trips-etl-job");
    }

    #[test]
    fn label_keys_and_values() {
        assert!(is_label_key("app.kubernetes.io/name"));
        assert!(is_label_key("team"));
        assert!(!is_label_key("/team"));
        assert!(!is_label_key("Bad_Prefix/x"));
        assert!(is_label_value("data-eng_1.x"));
        assert!(!is_label_value("has space"));
        assert!(!is_label_value(&"a".repeat(64)));
    }

    #[test]
    fn env_names() {
        assert!(is_env_name("AWS_REGION"));
        assert!(!is_env_name("1X"));
        assert!(!is_env_name("A-B"));
    }
}
