//! What can stop a backup or a verify, sorted by sparkplane's exit codes.

/// Why a backup or verify could not be done (a verify that ran and found
/// problems is not an error: see [`crate::verify::VerifyReport`]).
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Something the user must fix in the spec or the environment (exit 2).
    #[error("{message}")]
    Invalid {
        /// What is wrong.
        message: String,
        /// How to fix it.
        help: String,
    },
    /// The backup could not be completed or found (exit 1).
    #[error("{message}")]
    Failed {
        /// What failed.
        message: String,
        /// What to do about it.
        help: String,
    },
    /// PostgreSQL or object storage cannot be reached (exit 3).
    #[error("{message}")]
    Unreachable {
        /// What could not be reached.
        message: String,
        /// What to check.
        help: String,
    },
}

impl BackupError {
    /// sparkplane's exit code.
    pub fn exit_code(&self) -> u8 {
        match self {
            BackupError::Invalid { .. } => 2,
            BackupError::Failed { .. } => 1,
            BackupError::Unreachable { .. } => 3,
        }
    }

    /// How to fix it.
    pub fn help(&self) -> &str {
        match self {
            BackupError::Invalid { help, .. }
            | BackupError::Failed { help, .. }
            | BackupError::Unreachable { help, .. } => help,
        }
    }

    /// A storage failure: unreachable or denied is exit 3, anything else about the target exit 1.
    pub fn storage(error: sparkplane_storage::StorageError) -> BackupError {
        let message = error.to_string();
        match error.exit_code() {
            3 => BackupError::Unreachable {
                message,
                help: "check the store's endpoint, network path and credentials".into(),
            },
            _ => BackupError::Failed { message, help: "check the URL in the Backup file".into() },
        }
    }
}
