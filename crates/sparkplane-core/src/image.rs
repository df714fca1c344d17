//! Container image references: the one parser of `repository[:tag][@digest]`
//! and the one reader of what a digest and a tag may look like.
//!
//! Owns: splitting a reference into its parts ([`ImageRef::parse`]), the
//! registry a repository comes from ([`registry_of`]), and the spelling of
//! digests and tags. Must not: judge an image — whether a tag or a registry
//! is allowed is policy (`image-tag`, `image-registry`, `image-digest-in-prod`),
//! whether a digest is well formed is validation (ADR 0028).

use sparkplane_api::job::Image;

/// An image reference split into its parts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ImageRef {
    /// `registry/path/name`, with a registry port if written.
    pub repository: String,
    /// The tag, without `:`.
    pub tag: Option<String>,
    /// The digest, without `@` (`sha256:…`).
    pub digest: Option<String>,
}

impl ImageRef {
    /// Splits `repository[:tag][@digest]`; a `:` before the last `/` belongs
    /// to a registry port, not a tag.
    pub fn parse(reference: &str) -> ImageRef {
        let (rest, digest) = match reference.split_once('@') {
            Some((rest, digest)) => (rest, Some(digest.to_owned())),
            None => (reference, None),
        };
        let last_slash = rest.rfind('/').map_or(0, |i| i + 1);
        match rest[last_slash..].rfind(':') {
            Some(colon) => ImageRef {
                repository: rest[..last_slash + colon].to_owned(),
                tag: Some(rest[last_slash + colon + 1..].to_owned()),
                digest,
            },
            None => ImageRef { repository: rest.to_owned(), tag: None, digest },
        }
    }

    /// The parts of a job's `spec.image`, when it names a repository.
    pub fn of(image: &Image) -> Option<ImageRef> {
        Some(ImageRef { repository: image.repository.clone()?, tag: image.tag.clone(), digest: image.digest.clone() })
    }

    /// As a job's `spec.image` (no pull policy or secrets).
    pub fn into_image(self) -> Image {
        Image { repository: Some(self.repository), tag: self.tag, digest: self.digest, ..Image::default() }
    }
}

/// The registry host of a repository (Docker Hub when the first part is not a host).
pub fn registry_of(repository: &str) -> &str {
    match repository.split_once('/') {
        Some((first, _)) if first.contains('.') || first.contains(':') || first == "localhost" => first,
        _ => "docker.io",
    }
}

/// Whether `digest` is `sha256:` followed by 64 hex digits.
pub fn is_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Whether `tag` could be a tag: it holds no repository or digest separator.
pub fn is_tag(tag: &str) -> bool {
    !tag.contains([':', '@', '/'])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references_split_into_parts() {
        // (reference, repository, tag, digest)
        let table: &[(&str, &str, Option<&str>, Option<&str>)] = &[
            (
                "registry.example.com:5000/team/app:1.2@sha256:abc",
                "registry.example.com:5000/team/app",
                Some("1.2"),
                Some("sha256:abc"),
            ),
            ("registry.example.com:5000/team/app", "registry.example.com:5000/team/app", None, None),
            ("apache/spark:3.5.7", "apache/spark", Some("3.5.7"), None),
            ("busybox", "busybox", None, None),
            ("busybox@sha256:abc", "busybox", None, Some("sha256:abc")),
        ];
        for (reference, repository, tag, digest) in table {
            let r = ImageRef::parse(reference);
            assert_eq!((r.repository.as_str(), r.tag.as_deref(), r.digest.as_deref()), (*repository, *tag, *digest));
            assert_eq!(r.clone().into_image().reference().as_deref(), Some(*reference), "round trip");
        }
        assert_eq!(registry_of("busybox"), "docker.io");
        assert_eq!(registry_of("library/busybox"), "docker.io");
        assert_eq!(registry_of("localhost/x"), "localhost");
        assert_eq!(registry_of("registry.example.com:5000/a"), "registry.example.com:5000");
    }

    #[test]
    fn digest_and_tag_spellings() {
        assert!(is_digest(&format!("sha256:{}", "a".repeat(64))));
        assert!(!is_digest("sha256:abc"));
        assert!(!is_digest(&format!("md5:{}", "a".repeat(64))));
        assert!(is_tag("3.5.7"));
        assert!(!is_tag("spark:3.5.7"));
        assert!(!is_tag("sha256@x"));
    }
}
