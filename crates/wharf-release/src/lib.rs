//! wharf-release: what a release is, from the repository's history (design.md §5; seeds 000, 003, 004).
//!
//! - [`classify`]: stable (`vX.Y.Z`), prerelease (`vX.Y.Z-rc.1`, any SemVer pre-release), extra (any other
//!   tag) or development (an untagged commit), and the version each gets — development versions
//!   (`1.3.1~~dev.5.gabc1234`) sort after the previous build and before the next release and its
//!   pre-releases in dpkg, rpm and apk (`wharf_core::apkver` maps the tail to `_alpha0_git5`).
//! - [`changelog`]: the commits since the previous version tag, grouped by conventional-commit type
//!   (Features / Bug Fixes / Other, as seed 000 does), breaking changes called out, merge commits skipped.
//!
//! - [`git`]: the list of [`Commit`]s both work on, read with gix from the repository (HEAD back to the
//!   nearest version tag).
//!
//! Classification and changelog work on a plain list, newest first, so they are unit-tested without a
//! repository; `tests/history.rs` runs all three over a history scripted with the git CLI.

pub mod changelog;
pub mod classify;
pub mod git;
pub mod install;
pub mod manifest;
pub mod page;

use std::path::PathBuf;

/// One commit of the history, newest first in every list this crate takes.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    /// Full hex object id.
    pub id: String,
    /// The first line of the message.
    pub summary: String,
    /// The rest of the message.
    pub body: String,
    /// Number of parents (a merge has two or more).
    pub parents: usize,
    /// Tags pointing at this commit (short names: `v1.2.3`).
    pub tags: Vec<String>,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// Whether it changed the project's directory (always true when the project is the whole repository).
    pub touches: bool,
}

/// Why a release cannot be described.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReleaseError {
    /// The history is empty.
    #[error("the repository has no commits; commit first, or set the version in wharf.toml")]
    NoCommits,
    /// A shallow clone whose history does not reach a version tag.
    #[error(
        "{}: a shallow clone without its tags cannot say which release this is; fetch the history and tags with `git fetch --tags --unshallow` (GitHub Actions: actions/checkout with `fetch-depth: 0`)",
        repo.display()
    )]
    Shallow {
        /// The repository.
        repo: PathBuf,
    },
    /// A tag pattern is not a valid regular expression.
    #[error("`{key}` is not a valid pattern: {message}")]
    Pattern {
        /// The configuration key.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The repository could not be read.
    #[error("{}: cannot read the git history: {message}", repo.display())]
    Git {
        /// The repository.
        repo: PathBuf,
        /// What went wrong.
        message: String,
    },
}
