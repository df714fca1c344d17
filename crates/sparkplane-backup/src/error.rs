//! What can stop a backup or a verify, sorted by how it ends a command
//! (`sparkplane_category::Category`; the binary maps that to an exit code).

use sparkplane_category::Category;

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
    /// How it ends a command.
    pub fn category(&self) -> Category {
        match self {
            BackupError::Invalid { .. } => Category::Invalid,
            BackupError::Failed { .. } => Category::Failed,
            BackupError::Unreachable { .. } => Category::Unreachable,
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

    /// A storage failure: unreachable or denied is `Unreachable`, anything
    /// else about the target `Failed` (a backup that cannot be found or written).
    pub fn storage(error: sparkplane_storage::StorageError) -> BackupError {
        let message = error.to_string();
        match error.category() {
            Category::Unreachable => BackupError::Unreachable {
                message,
                help: "check the store's endpoint, network path and credentials".into(),
            },
            _ => BackupError::Failed { message, help: "check the URL in the Backup file".into() },
        }
    }
}
