//! wharf-index: repository index files, computed in memory from package records.
//!
//! One module per repository format. Index files are a pure function of the records (and the repository
//! settings): no package is re-read, nothing is written. Signatures are wharf-sign's, applied by
//! wharf-publish — except apk v3's, whose SIG block is part of `packages.adb` itself, made here with the
//! key handed in. Writing, in the right order, is wharf-publish's.

pub mod apk;
pub mod apk3;
pub mod apt;
pub mod blocks;
pub mod opkg;
pub mod pacman;
pub mod rpmmd;

/// One package's part of an index document: its text, or a length to be taken from the document as it
/// is published now. Splicing kinds (apt's `Packages`, rpm-md's three documents) find a published part
/// by walking the current document in sort order; each says how it tells a package's part
/// ([`apt::Stanza`], [`rpmmd::Fragment`]). A publish that adds one package to a repository of 100,000
/// thereby reads none of the others' texts from its state.
#[derive(Debug, Clone, Copy)]
pub enum Part<'a> {
    /// The text, as the document carries it.
    Text(&'a str),
    /// In the current document, this long: taken from there.
    Published(usize),
}

impl Part<'_> {
    /// The part's length in the document.
    #[must_use]
    pub fn len(&self) -> usize {
        match self {
            Self::Text(t) => t.len(),
            Self::Published(n) => *n,
        }
    }

    /// Whether it is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One file of a repository index, with every name it must be reachable under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexFile {
    /// Path relative to the repository root (e.g. `dists/stable/main/binary-amd64/Packages.xz`).
    pub path: String,
    /// Content-addressed copies (e.g. `…/by-hash/SHA256/<hex>`), written before any pointer names them.
    pub by_hash: Vec<String>,
    /// The bytes.
    pub bytes: Vec<u8>,
}
