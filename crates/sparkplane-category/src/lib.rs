//! What kind of failure an error is, in the user's terms: the one
//! vocabulary every library's errors use to say how a command should end.
//! It has no dependencies, so the lowest crates (storage, http) use it too.
//!
//! Owns: the three kinds. Must not: hold exit codes or print — the binary
//! maps each kind to its exit code once (`crates/sparkplane/src/exit.rs`:
//! `Failed` 1, `Invalid` 2, `Unreachable` 3), so no library returns a number
//! the CLI has to match back.

/// How an error should end a command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Category {
    /// The input was fine but what it asked for failed: a job, a gate, a
    /// check or a policy (exit 1).
    Failed,
    /// The user's input is wrong: a file, a field, a flag, an unsupported
    /// version (exit 2).
    Invalid,
    /// Something outside the input is missing or cannot be reached: a
    /// server, an object store, Java, Python, a writable folder (exit 3).
    Unreachable,
}
