//! Storage failures, sorted by what the user has to do about them.

use sparkplane_category::Category;

/// Why a storage operation failed. The `url` fields name the object or
/// prefix, never a credential.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The location text is not a path or a supported object-store URL.
    #[error("{input}: {reason}")]
    BadLocation {
        /// What the user gave.
        input: String,
        /// What is wrong and how to write it instead.
        reason: String,
    },
    /// Nothing exists at the location.
    #[error("{url}: not found")]
    NotFound {
        /// The object or prefix asked for.
        url: String,
    },
    /// The store refused the credentials or the operation.
    #[error(
        "{url}: access denied ({detail}); check the credentials in the environment (AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, GOOGLE_APPLICATION_CREDENTIALS, AZURE_STORAGE_ACCOUNT_KEY)"
    )]
    Denied {
        /// The object or prefix asked for.
        url: String,
        /// The store's own words.
        detail: String,
    },
    /// The store could not be reached or answered with an error.
    #[error("{url}: object storage unreachable or failing: {detail}")]
    Unavailable {
        /// The object or prefix asked for.
        url: String,
        /// The store's own words.
        detail: String,
    },
    /// A local file could not be read or written.
    #[error("{url}: {detail}")]
    Local {
        /// The path.
        url: String,
        /// The operating system's words.
        detail: String,
    },
}

impl StorageError {
    /// How this failure ends a command: `Invalid` for what the user can fix
    /// in the command (a bad or missing location), `Unreachable` for
    /// infrastructure (the binary maps categories to exit codes).
    pub fn category(&self) -> Category {
        match self {
            StorageError::BadLocation { .. } | StorageError::NotFound { .. } | StorageError::Local { .. } => {
                Category::Invalid
            }
            StorageError::Denied { .. } | StorageError::Unavailable { .. } => Category::Unreachable,
        }
    }

    /// The same failure, saying it happened on page `page` of a listing after
    /// `listed` objects had come back: the user learns that the location is
    /// large and reachable, and that its listing is what failed.
    pub(crate) fn on_page(self, page: usize, listed: usize) -> StorageError {
        let context = format!("page {page} of the listing failed after {listed} objects: ");
        match self {
            StorageError::Denied { url, detail } => StorageError::Denied { url, detail: context + &detail },
            StorageError::Unavailable { url, detail } => StorageError::Unavailable { url, detail: context + &detail },
            StorageError::NotFound { url } => {
                StorageError::Unavailable { url, detail: context + "the store lost the listing's continuation" }
            }
            other => other,
        }
    }

    pub(crate) fn from_store(url: String, error: object_store::Error) -> StorageError {
        match error {
            object_store::Error::NotFound { .. } => StorageError::NotFound { url },
            object_store::Error::PermissionDenied { source, .. }
            | object_store::Error::Unauthenticated { source, .. } => {
                StorageError::Denied { url, detail: source.to_string() }
            }
            other => StorageError::Unavailable { url, detail: chain(&other) },
        }
    }
}

/// The error and its sources on one line, the way a user reads them.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let next = inner.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = inner.source();
    }
    text
}
