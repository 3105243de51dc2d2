//! wharf-store: where published bytes go. Knows no package formats.
//!
//! [`Store`] is a small object interface — `get`, `head`, `put` (overwrite or create-only), a
//! compare-and-write `put_if`, `copy`, `list`, `delete` — plus an exclusive publish `lock` with a fencing
//! `check`, so the same publish transaction runs over a local directory or an S3-compatible bucket.
//! Every `put` is atomic for readers: a client sees the old object or the new one, never a partial one.
//!
//! Backends: [`local::LocalStore`] (a directory; temp file + `rename`, an OS file lock) and
//! [`s3::S3Store`] (object_store over rustls/ring, with a capability probe for conditional writes that
//! picks the lock strategy of [`lock`]). [`Counted`] wraps any store and counts its calls, which is how
//! the tests prove a publish costs O(changed).

pub mod counted;
pub mod local;
pub mod lock;
pub mod s3;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use counted::{Counted, Prefixed, StoreCalls};
pub use local::LocalStore;
pub use s3::{S3Options, S3Store};

/// Why a store operation failed. Every variant names the store and the object.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// This publisher lost its lock (lease ran out, or another publisher broke it): it must stop before
    /// writing the state or any pointer.
    #[error(
        "{store}: lost the publish lock ({why}); nothing after the package files was written — run the publish again"
    )]
    LockLost {
        /// The store.
        store: String,
        /// What happened.
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

/// An object's size, time and version tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification (the server's clock for S3).
    pub modified: Option<SystemTime>,
    /// A version tag (S3 ETag; for a directory, inode + mtime + size).
    pub tag: Option<String>,
}

/// An object's bytes and version tag, for a later [`Store::put_if`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The version they are.
    pub tag: String,
}

/// Part of an object: its bytes, the version they belong to, and the whole object's size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ranged {
    /// The bytes asked for (fewer where the object ends first).
    pub bytes: Vec<u8>,
    /// The version they are: two ranges with the same tag come from the same object.
    pub tag: String,
    /// The whole object's size.
    pub size: u64,
}

/// A held publish lock; released when dropped.
pub trait LockGuard: Send {
    /// The fencing test: `Err(LockLost)` when this holder can no longer be sure it holds the lock.
    /// The publish transaction calls it before writing the state and again before the pointer files.
    fn check(&self) -> Result<(), StoreError>;
}

/// An object's metadata, and its bytes of that same version when they were read with it
/// ([`Store::get_small`]).
#[derive(Debug, Clone)]
pub struct Small {
    pub meta: ObjectMeta,
    pub bytes: Option<Vec<u8>>,
}

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
    /// Writes many files (overwriting), as many at once as the backend does well.
    fn put_files(&self, files: &[(String, PathBuf)]) -> Result<(), StoreError> {
        for (key, path) in files {
            self.put_file(key, path, PutMode::Overwrite)?;
        }
        Ok(())
    }
    /// An object's bytes with its version tag, or `None` when absent.
    fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, StoreError>;
    /// Bytes `range` of an object (a non-empty range starting inside it; it may end past the end), with
    /// its version tag and size, or `None` when absent. The default reads the whole object.
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Option<Ranged>, StoreError> {
        Ok(self.get_tagged(key)?.map(|t| {
            let size = t.bytes.len() as u64;
            let at = |n: u64| usize::try_from(n.min(size)).unwrap_or(usize::MAX);
            Ranged {
                bytes: t.bytes[at(range.start)..at(range.end.max(range.start))].to_vec(),
                tag: t.tag,
                size,
            }
        }))
    }
    /// Appends an object's bytes to `out` (`false`: absent, nothing appended). A directory reads them
    /// straight into `out`, so a caller that sized it reads many objects into one buffer with one pass
    /// over its memory; the default reads the object, then copies it.
    fn append_to(&self, key: &str, out: &mut Vec<u8>) -> Result<bool, StoreError> {
        Ok(match self.get(key)? {
            Some(b) => {
                out.extend_from_slice(&b);
                true
            }
            None => false,
        })
    }
    /// An object's metadata and, when it is at most `max` bytes, its bytes of that same version, or
    /// `None` when absent: what a server needs to answer for a small file, in one lookup where the
    /// store can (a directory: one open). The bytes are not read when the object's tag is `known`
    /// (the version of a copy the caller holds). The default asks for the metadata, then the bytes.
    fn get_small(&self, key: &str, max: u64, known: Option<&str>) -> Result<Option<Small>, StoreError> {
        let Some(meta) = self.head(key)? else {
            return Ok(None);
        };
        if meta.size > max || meta.size == 0 || (known.is_some() && meta.tag.as_deref() == known) {
            return Ok(Some(Small { meta, bytes: None }));
        }
        let bytes = self
            .get_range(key, 0..meta.size)?
            .filter(|r| meta.tag.as_ref().is_none_or(|t| *t == r.tag) && r.bytes.len() as u64 == meta.size)
            .map(|r| r.bytes);
        Ok(Some(Small { meta, bytes }))
    }
    /// How many bytes to ask for when the first part of an object is wanted and its length is not
    /// known yet (a header): what one request can bring back for about the cost of a byte. Remote
    /// stores pay a round trip per request, so more; a directory pays for every page it copies.
    fn first_read(&self) -> u64 {
        256 * 1024
    }
    /// Whether reads come from local files (the page cache, a local disk): quick enough for a server to
    /// make on the thread that handles the request. A network store's reads wait on round trips and go
    /// to a thread that may block.
    fn reads_are_local(&self) -> bool {
        false
    }
    /// Writes only if the object is still the version `expected` (`None`: still absent). Returns the
    /// new version's tag, or `None` when the object had changed. Exact where the store honours
    /// conditional writes, and under the publish lock (then the only writer) everywhere.
    fn put_if(&self, key: &str, data: &[u8], expected: Option<&str>) -> Result<Option<String>, StoreError>;
    /// Copies an object inside the store (server-side where possible).
    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError>;
    /// Copies the object `from`, named from the underlying store's root (a view under a prefix does not
    /// prefix it), to `to` in this view: a promotion copies a package from one channel's tree to another
    /// without downloading it.
    fn copy_in(&self, from_root: &str, to: &str) -> Result<(), StoreError> {
        self.copy(from_root, to)
    }
    /// Every object whose key starts with `prefix`, sorted by key.
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError>;
    /// Deletes an object (absent is fine).
    fn delete(&self, key: &str) -> Result<(), StoreError>;
    /// Takes the exclusive lock `key`, waiting up to `wait` for another holder to finish.
    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError>;
    /// How this store locks (probing it if needed), for `-v` output.
    fn locking(&self) -> Result<String, StoreError>;
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

/// As given: the directory, or `s3://bucket/prefix`.
impl std::fmt::Display for StoreUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Local(p) => write!(f, "{}", p.display()),
            Self::S3 { bucket, prefix } if prefix.is_empty() => write!(f, "s3://{bucket}"),
            Self::S3 { bucket, prefix } => write!(f, "s3://{bucket}/{prefix}"),
        }
    }
}

/// Where a store lives, parsed from `--to`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreUrl {
    /// A local directory (a plain path or `file://`).
    Local(PathBuf),
    /// An S3-compatible bucket and key prefix (`s3://bucket/prefix`).
    S3 {
        /// The bucket.
        bucket: String,
        /// The key prefix, without slashes at either end (may be empty).
        prefix: String,
    },
}

impl StoreUrl {
    /// Parses `--to` values: a path, `file:///abs/path` or `s3://bucket[/prefix]`.
    pub fn parse(s: &str) -> Result<Self, StoreError> {
        if let Some(rest) = s.strip_prefix("file://") {
            return Ok(Self::Local(PathBuf::from(rest)));
        }
        if let Some(rest) = s.strip_prefix("s3://") {
            let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
            let prefix = prefix.trim_matches('/');
            let bucket_ok = (3..=63).contains(&bucket.len())
                && bucket
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '.'));
            if !bucket_ok || (!prefix.is_empty() && check_key(prefix).is_err()) {
                return Err(StoreError::Unavailable {
                    store: s.to_owned(),
                    why: "write s3://BUCKET or s3://BUCKET/PREFIX (bucket: 3-63 of a-z 0-9 . -; prefix: relative, no `..`)".into(),
                });
            }
            return Ok(Self::S3 {
                bucket: bucket.to_owned(),
                prefix: prefix.to_owned(),
            });
        }
        if let Some((scheme, _)) = s.split_once("://") {
            return Err(StoreError::Unavailable {
                store: s.to_owned(),
                why: format!(
                    "`{scheme}://` stores are not supported; use a directory path, file:// or s3://"
                ),
            });
        }
        Ok(Self::Local(PathBuf::from(s)))
    }

    /// Opens the store (for S3, checking that the bucket is reachable with these credentials).
    /// Whether it is an S3 bucket (clients cannot read `s3://` URLs: a public base URL is needed).
    #[must_use]
    pub fn is_s3(&self) -> bool {
        matches!(self, Self::S3 { .. })
    }

    pub fn open(&self, s3: &S3Options) -> Result<Box<dyn Store>, StoreError> {
        match self {
            Self::Local(p) => Ok(Box::new(LocalStore::open(p)?)),
            Self::S3 { bucket, prefix } => Ok(Box::new(S3Store::open(bucket, prefix, s3)?)),
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
        assert_eq!(
            StoreUrl::parse("s3://my-bucket/repo/stable/").unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: "repo/stable".into()
            }
        );
        assert_eq!(
            StoreUrl::parse("s3://my-bucket").unwrap(),
            StoreUrl::S3 {
                bucket: "my-bucket".into(),
                prefix: String::new()
            }
        );
        for bad in ["s3://", "s3://UPPER", "s3://b/../x", "s3://bucket/a//b"] {
            assert!(StoreUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
