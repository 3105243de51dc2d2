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
