//! wharf-store: where published bytes go. Knows no package formats.
//!
//! [`Store`] is a small object interface — `get`, `head`, `put` (overwrite or create-only), `list`,
//! `delete` — plus an exclusive publish `lock`, so the same publish transaction runs over a local
//! directory or an S3-compatible bucket. Every `put` is atomic for readers: a client sees the old
//! object or the new one, never a partial one.
//!
//! Backends: [`local::LocalStore`] (a directory; temp file + `rename`, an OS file lock). The S3 backend
//! (object_store, with a capability probe for conditional writes) plugs into the same trait.

pub mod local;

use std::path::PathBuf;
use std::time::Duration;

pub use local::LocalStore;

/// Why a store operation failed. Every variant names the store and the object.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An I/O failure on one object.
    #[error("{store}: `{key}`: {source}")]
    Io {
        /// The store (e.g. `./public`).
        store: String,
        /// The object key.
        key: String,
        /// The cause.
        source: std::io::Error,
    },
    /// A key that could escape the store or is malformed.
    #[error("invalid object key `{0}`: keys are relative, `/`-separated, without `.`, `..` or empty parts")]
    BadKey(String),
    /// The store cannot be used at all (missing, not a directory, unreachable).
    #[error("cannot use store {store}: {why}")]
    Unavailable {
        /// The store.
        store: String,
        /// Why, and the fix.
        why: String,
    },
    /// Another publisher held the lock for longer than we waited.
    #[error(
        "{store}: another publish holds the lock `{key}` and did not release it within {waited:?}; retry, or remove a stale lock left by a killed process"
    )]
    LockTimeout {
        /// The store.
        store: String,
        /// The lock key.
        key: String,
        /// How long we waited.
        waited: Duration,
    },
}

/// How `put` treats an existing object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutMode {
    /// Replace whatever is there.
    Overwrite,
    /// Write only if absent; an existing object is left alone and reported.
    Create,
}

/// What `put` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The object now holds the new bytes.
    Written,
    /// `PutMode::Create` found an object already there and left it.
    AlreadyExists,
}

/// An object's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
}

/// A held publish lock; released when dropped.
pub trait LockGuard: Send {}

/// Where bytes are published.
pub trait Store: Send + Sync {
    /// A human name for messages (`./public`, `s3://bucket/prefix`).
    fn describe(&self) -> String;
    /// An object's bytes, or `None` when absent.
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError>;
    /// An object's metadata, or `None` when absent.
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError>;
    /// Writes an object atomically.
    fn put(&self, key: &str, data: &[u8], mode: PutMode) -> Result<PutOutcome, StoreError>;
    /// Writes an object from a local file atomically, streaming it.
    fn put_file(&self, key: &str, path: &std::path::Path, mode: PutMode) -> Result<PutOutcome, StoreError>;
    /// Every object whose key starts with `prefix`, sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    /// Deletes an object (absent is fine).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Takes the exclusive lock `key`, waiting up to `wait` for another holder to finish.
    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError>;
}

/// Checks an object key: relative, `/`-separated, no `.`/`..`/empty components, no backslash or control
/// characters. Every backend calls this before touching anything.
pub fn check_key(key: &str) -> Result<(), StoreError> {
    let ok = !key.is_empty()
        && !key.starts_with('/')
        && !key.contains('\\')
        && !key.chars().any(char::is_control)
        && key.split('/').all(|c| !c.is_empty() && c != "." && c != "..");
    if ok {
        Ok(())
    } else {
        Err(StoreError::BadKey(key.to_owned()))
    }
}

/// Where a store lives, parsed from `--to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A local directory (a plain path or `file://`).
    Local(PathBuf),
}

impl StoreUrl {
    /// Parses `--to` values: a path or `file:///abs/path`.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        if let Some(rest) = s.strip_prefix("file://") {
            return Ok(Self::Local(PathBuf::from(rest)));
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(StoreError::Unavailable {
                store: s.to_owned(),
                why: format!(
                    "`{scheme}://` stores are not supported by this build; use a directory path or file://"
                ),
            });
        }
        Ok(Self::Local(PathBuf::from(s)))
    }

    /// Opens the store.
    pub fn open(&self) -> Result<Box<dyn Store>, StoreError> {
        match self {
            Self::Local(p) => Ok(Box::new(LocalStore::open(p)?)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys() {
        for ok in ["a", "dists/stable/Release", "pool/m/x/x_1.0_amd64.deb"] {
            assert!(check_key(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "/etc/passwd",
            "a/../b",
            "./a",
            "a//b",
            "a\\b",
            "a\0b",
            "..",
            "a/",
        ] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn urls() {
        assert_eq!(
            StoreUrl::parse("./public").unwrap(),
            StoreUrl::Local("./public".into())
        );
        assert_eq!(
            StoreUrl::parse("file:///srv/r").unwrap(),
            StoreUrl::Local("/srv/r".into())
        );
        assert!(
            StoreUrl::parse("gs://x")
                .unwrap_err()
                .to_string()
                .contains("not supported")
        );
    }
}
