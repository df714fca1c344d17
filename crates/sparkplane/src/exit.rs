//! Outcomes and their exit codes, in one place.
//!
//! 0 ok; 1 a job, gate or policy failed; 2 invalid input or usage;
//! 3 infrastructure unreachable. Libraries say what kind of failure an error
//! is with `sparkplane_category::Category`; [`Failure::of`] is the one place
//! a category becomes a failure, and [`Failure::exit_code`] the one place a
//! failure becomes a number.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sparkplane_category::Category;
use sparkplane_documents::Diagnostics;

/// How a command ended, when not successfully.
#[derive(Debug)]
pub enum Failure {
    /// The user's input is wrong: bad files, fields or flags (exit 2).
    Invalid(Diagnostics),
    /// A file could not be read or written (exit 2: the path given is wrong).
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        error: String,
        /// How to fix it.
        help: String,
    },
    /// The input was fine but the check it asked for failed (exit 1), e.g. a job that does not fit.
    Failed(Diagnostics),
    /// Something the command needs on this machine or network is missing or unreachable (exit 3):
    /// Java, Python, a Spark runtime, the package index.
    Infrastructure(Diagnostics),
}

impl Failure {
    /// How a library's error of `category` ends the command: the one mapping
    /// from categories (`Failed` exit 1, `Invalid` 2, `Unreachable` 3).
    pub fn of(category: Category, diagnostics: Diagnostics) -> Failure {
        match category {
            Category::Failed => Failure::Failed(diagnostics),
            Category::Invalid => Failure::Invalid(diagnostics),
            Category::Unreachable => Failure::Infrastructure(diagnostics),
        }
    }

    /// Invalid input (exit 2): one error, `code` at `path` (a field or a
    /// flag; empty for none), with how to fix it.
    pub fn invalid(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Failure {
        Failure::Invalid(sparkplane_documents::Diagnostic::error(code, path, message).with_help(help).into())
    }

    /// A check that failed (exit 1): one error, `code` at `path`, with how to fix it.
    pub fn failed(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Failure {
        Failure::Failed(sparkplane_documents::Diagnostic::error(code, path, message).with_help(help).into())
    }

    /// Something needed is unreachable or missing (exit 3): one error, `code` at `path`, with how to fix it.
    pub fn unreachable(
        code: &'static str,
        path: impl Into<String>,
        message: impl Into<String>,
        help: impl Into<String>,
    ) -> Failure {
        Failure::Infrastructure(sparkplane_documents::Diagnostic::error(code, path, message).with_help(help).into())
    }

    /// A library error with a stable code and a message, ended by its category.
    pub fn coded(category: Category, code: &'static str, message: impl std::fmt::Display) -> Failure {
        Failure::of(category, sparkplane_documents::Diagnostic::error(code, "", message.to_string()).into())
    }

    /// A file that could not be read or written (exit 2), with what went wrong and how to fix it.
    pub fn file(path: &Path, error: impl std::fmt::Display, help: impl Into<String>) -> Failure {
        Failure::File { path: path.to_owned(), error: error.to_string(), help: help.into() }
    }

    /// A file that could not be read; a missing one with the nearest name in its folder, when one is close.
    pub fn unreadable(path: &Path, error: &std::io::Error) -> Failure {
        let help = match error.kind() {
            std::io::ErrorKind::NotFound => match near_name(path) {
                Some(near) => format!("did you mean {}?", near.display()),
                None => "check the path; it is relative to the current directory".to_owned(),
            },
            std::io::ErrorKind::PermissionDenied => "check the file's permissions".to_owned(),
            _ => "check that the path names a readable text file".to_owned(),
        };
        Failure::File { path: path.to_owned(), error: error.to_string(), help }
    }

    /// The exit code.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Failure::Invalid(_) | Failure::File { .. } => ExitCode::from(2),
            Failure::Failed(_) => ExitCode::from(1),
            Failure::Infrastructure(_) => ExitCode::from(3),
        }
    }
}

/// The file in `path`'s folder whose name is nearest to `path`'s (a typo, or
/// `.yml` for `.yaml`), spelled as `path` is; None when the folder cannot be
/// read or no name is close.
fn near_name(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty());
    let entries = std::fs::read_dir(folder.unwrap_or(Path::new("."))).ok()?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .collect();
    names.sort();
    let near = sparkplane_documents::schema::near_file_name(name, names.iter().map(String::as_str))?;
    Some(folder.map_or_else(|| PathBuf::from(near), |f| f.join(near)))
}

impl From<Diagnostics> for Failure {
    fn from(d: Diagnostics) -> Self {
        Failure::Invalid(d)
    }
}

impl From<sparkplane_documents::Diagnostic> for Failure {
    fn from(d: sparkplane_documents::Diagnostic) -> Self {
        Failure::Invalid(d.into())
    }
}

/// What commands return.
pub type CommandResult = Result<(), Failure>;
