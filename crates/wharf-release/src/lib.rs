//! wharf-release: what a release is, from the repository's history (design.md §5; seeds 000, 003, 004).
//!
//! - [`classify`]: stable (`vX.Y.Z`), prerelease (`vX.Y.Z-rc.1`, any SemVer pre-release), extra (any other
//!   tag) or development (an untagged commit), and the version each gets — development versions
//!   (`1.3.1~~dev.5.gabc1234`) sort after the previous build and before the next release and its
//!   pre-releases in dpkg, rpm and apk (`wharf_core::apkver` maps the tail to `_alpha0_git5`).
//! - [`changelog`]: the commits since the previous version tag, grouped by conventional-commit type
//!   (Features / Bug Fixes / Other, as seed 000 does), breaking changes called out, merge commits skipped.
//!
//! Both work on a plain list of [`Commit`]s, newest first, so they are tested without a repository; the
//! git reader that produces the list is the next step of issue 6.

pub mod changelog;
pub mod classify;

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
}

/// Why a release cannot be described.
#[derive(Debug, thiserror::Error)]
pub enum ReleaseError {
    /// The history is empty.
    #[error("the repository has no commits; commit first, or set the version in wharf.toml")]
    NoCommits,
}
