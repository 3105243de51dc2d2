//! wharf-core: the vocabulary every other wharf crate speaks.
//!
//! Owns the types whose rules come from the package managers themselves: package names and versions
//! (with each family's ordering), architectures and the Rust-target mapping, the reproducible clock
//! (`SOURCE_DATE_EPOCH`), Debian control paragraphs, and the [`PackageSpec`] every package writer takes.
//! Leaf crate: no I/O, no formats beyond these shared vocabularies.

pub mod apkver;
pub mod arch;
pub mod deb822;
pub mod digest;
pub mod format;
pub mod name;
pub mod parallel;
pub mod rpmver;
pub mod spec;
pub mod time;
pub mod version;

pub use arch::{Arch, TargetArch, host_triple};
pub use format::{ArchiveFormat, ArchiveLayout, Format, RepoKind, Signer};
pub use name::PackageName;
pub use spec::{
    ChangelogEntry, Content, Family, FileEntry, FileKind, InstallPath, Owner, PackageMeta, PackageSpec,
    Relations, ScriptKind,
};
pub use time::SourceDate;
pub use version::{DebVersion, Version};

/// A value that failed the rules of its type; the message says which rule and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {what} `{value}`: {why}")]
pub struct Invalid {
    /// What kind of value (e.g. "package name").
    pub what: &'static str,
    /// The offending value.
    pub value: String,
    /// The rule it broke, and the fix.
    pub why: String,
}

impl Invalid {
    pub(crate) fn new(what: &'static str, value: &str, why: impl Into<String>) -> Self {
        Self {
            what,
            value: value.to_owned(),
            why: why.into(),
        }
    }
}
