//! wharf-publish: the publish transaction.
//!
//! A repository's truth is its state manifest (`.wharf/<kind>/state.json`): every package record, where
//! it lives and its checksums. Index files are a pure function of that state, so adding a package reads
//! the state and the new package only — never the rest of the repository.
//!
//! Order of writes (design.md §4): everything is validated first; then, under the store's lock, immutable
//! blobs (pool files, by-hash indexes), then the fixed-name index files, then the state, and the signed
//! pointer files last. A reader therefore never finds a pointer to something missing, and a failed
//! publish leaves the previous repository fully readable.

pub mod apk;
pub mod apk3;
pub mod apt;
pub mod opkg;
pub mod rpmmd;

use std::collections::BTreeMap;
use std::fs::File;
use std::io::BufReader;

use wharf_store::Store;

use std::path::PathBuf;

/// Why a publish failed. Nothing the clients read has changed when one of these is returned before the
/// pointer files are written.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// A package file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A package file is not a valid package.
    #[error("`{path}`: {source}")]
    Package {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        source: wharf_package::PackageError,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] wharf_store::StoreError),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(#[from] wharf_sign::SignError),
    /// A package with this name, version and architecture is already published with other bytes.
    #[error(
        "{what} is already published with different contents (sha256 {existing}); apt clients would report a hash mismatch. Publish it under a new version instead"
    )]
    Conflict {
        /// Name, version, arch.
        what: String,
        /// The published checksum.
        existing: String,
    },
    /// The repository is signed with another key.
    #[error(
        "{store} is signed with key {existing}, not {given}; publish with the original key (clients trust only it)"
    )]
    KeyMismatch {
        /// The store.
        store: String,
        /// Fingerprint recorded in the state.
        existing: String,
        /// Fingerprint of the key given.
        given: String,
    },
    /// The state manifest is unreadable.
    #[error(
        "{store}: the state manifest `{key}` is corrupt ({why}); restore it from a backup or republish into an empty store"
    )]
    State {
        /// The store.
        store: String,
        /// The manifest key.
        key: String,
        /// The parse error.
        why: String,
    },
    /// Invalid settings (suite or component names, …).
    #[error("{0}")]
    Settings(String),
    /// Building an index failed.
    #[error("building the index failed: {0}")]
    Index(std::io::Error),
}

/// Reads and validates package files with `inspect` (any valid package of the format). Fails on the first
/// bad one, before anything is written.
pub(crate) fn inspect_files<T>(
    paths: &[PathBuf],
    inspect: impl Fn(BufReader<File>) -> Result<T, wharf_package::PackageError>,
) -> Result<Vec<(PathBuf, T)>, PublishError> {
    paths
        .iter()
        .map(|path| {
            let f = File::open(path).map_err(|source| PublishError::Read {
                path: path.clone(),
                source,
            })?;
            let info = inspect(BufReader::new(f)).map_err(|source| PublishError::Package {
                path: path.clone(),
                source,
            })?;
            Ok((path.clone(), info))
        })
        .collect()
}

/// A repository kind's state manifest (`.wharf/<kind>/state.json`): every published record, grouped (by apt
/// suite, by rpm repository), plus the generation counter and the fingerprint of the key that signs it.
/// Index files are a pure function of it.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub(crate) struct Manifest<R> {
    format: u32,
    generation: u64,
    key_fingerprint: Option<String>,
    pub(crate) groups: BTreeMap<String, Vec<R>>,
}

impl<R: serde::Serialize + serde::de::DeserializeOwned> Manifest<R> {
    const FORMAT: u32 = 1;

    /// Loads the manifest at `key` (empty when the store has none) and checks that `given` is the fingerprint
    /// of the key the repository is signed with: clients trust only that one. Returns `given`.
    pub(crate) fn load(store: &dyn Store, key: &str, given: String) -> Result<(Self, String), PublishError> {
        let manifest = match store.get(key)? {
            None => Self {
                format: Self::FORMAT,
                generation: 0,
                key_fingerprint: None,
                groups: BTreeMap::new(),
            },
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| PublishError::State {
                store: store.describe(),
                key: key.into(),
                why: e.to_string(),
            })?,
        };
        match &manifest.key_fingerprint {
            Some(existing) if *existing != given => Err(PublishError::KeyMismatch {
                store: store.describe(),
                existing: existing.clone(),
                given,
            }),
            _ => Ok((manifest, given)),
        }
    }

    /// Starts the next generation, signed by `fingerprint`, and serialises it for writing.
    pub(crate) fn next_generation(
        &mut self,
        store: &dyn Store,
        key: &str,
        fingerprint: &str,
    ) -> Result<Vec<u8>, PublishError> {
        self.format = Self::FORMAT;
        self.generation += 1;
        self.key_fingerprint = Some(fingerprint.to_owned());
        serde_json::to_vec_pretty(self).map_err(|e| PublishError::State {
            store: store.describe(),
            key: key.into(),
            why: e.to_string(),
        })
    }
}

/// A package file checked and ready to publish: its path and what its metadata says.
#[derive(Debug, Clone)]
pub struct Incoming<I> {
    /// The file.
    pub path: PathBuf,
    /// What the package says about itself.
    pub info: I,
}

/// Reads and validates package files into [`Incoming`] (any valid package of the format).
pub(crate) fn inspect_incoming<I>(
    paths: &[PathBuf],
    inspect: impl Fn(BufReader<File>) -> Result<I, wharf_package::PackageError>,
) -> Result<Vec<Incoming<I>>, PublishError> {
    Ok(inspect_files(paths, inspect)?
        .into_iter()
        .map(|(path, info)| Incoming { path, info })
        .collect())
}

/// What one feed publish writes, in the order that keeps readers safe: package files, the public key,
/// the state, then the pointer files (indexes) last.
pub(crate) struct FeedWrites<'a> {
    pub(crate) packages: Vec<(&'a std::path::Path, String)>,
    pub(crate) key: (String, Vec<u8>),
    pub(crate) state: (&'static str, Vec<u8>),
    pub(crate) pointers: Vec<(String, Vec<u8>)>,
}

pub(crate) fn write_feeds(store: &dyn Store, w: FeedWrites<'_>) -> Result<(), PublishError> {
    use wharf_store::PutMode::Overwrite;
    for (path, key) in &w.packages {
        store.put_file(key, path, Overwrite)?;
    }
    store.put(&w.key.0, &w.key.1, Overwrite)?;
    store.put(w.state.0, &w.state.1, Overwrite)?;
    for (key, bytes) in &w.pointers {
        store.put(key, bytes, Overwrite)?;
    }
    Ok(())
}

/// A record in a per-architecture feed (opkg, apk): its file name and content hash.
pub(crate) trait FeedRecord {
    fn filename(&self) -> &str;
    fn sha256(&self) -> &str;
}

/// A package offered to per-architecture feeds.
pub(crate) struct FeedItem<R> {
    /// Its architecture (`noarch`/`all` goes into every feed).
    pub(crate) arch: String,
    /// Its file name in the feed directory.
    pub(crate) filename: String,
    /// "name version (arch)", for messages.
    pub(crate) what: String,
    /// The record to add.
    pub(crate) record: R,
}

/// Where packages went: uploads (item index, store key), what was added or already there, and the feeds
/// whose index must be rewritten.
pub(crate) struct Placement {
    pub(crate) uploads: Vec<(usize, String)>,
    pub(crate) added: Vec<String>,
    pub(crate) unchanged: Vec<String>,
    pub(crate) touched: std::collections::BTreeSet<String>,
}

/// Adds `items` to the feeds of their architecture under `root/<feed>/`; an architecture-independent item
/// (`any_arch`) goes into every feed named in `feeds`, already published, or used by another item. A
/// file already present with the same bytes is left alone; with other bytes it is a conflict.
pub(crate) fn place_in_feeds<R: FeedRecord + Clone>(
    groups: &mut BTreeMap<String, Vec<R>>,
    root: &str,
    feeds: &[String],
    any_arch: &str,
    items: &[FeedItem<R>],
) -> Result<Placement, PublishError> {
    for f in feeds {
        check_name("feed architecture", f)?;
    }
    for i in items {
        check_name("architecture", &i.arch)?;
    }
    let mut all_feeds: std::collections::BTreeSet<String> = groups.keys().cloned().collect();
    all_feeds.extend(feeds.iter().cloned());
    all_feeds.extend(
        items
            .iter()
            .filter(|i| i.arch != any_arch)
            .map(|i| i.arch.clone()),
    );
    if all_feeds.is_empty() && !items.is_empty() {
        return Err(PublishError::Settings(format!(
            "only architecture-independent packages and no feed: name the architectures with --feed ARCH (e.g. --feed {})",
            if any_arch == "all" {
                "mipsel_24kc"
            } else {
                "x86_64"
            }
        )));
    }
    let mut p = Placement {
        uploads: Vec::new(),
        added: Vec::new(),
        unchanged: Vec::new(),
        touched: feeds.iter().cloned().collect(),
    };
    for (n, item) in items.iter().enumerate() {
        let targets: Vec<&String> = all_feeds
            .iter()
            .filter(|f| item.arch == any_arch || **f == item.arch)
            .collect();
        for feed in targets {
            let key = format!("{root}/{feed}/{}", item.filename);
            let records = groups.entry(feed.clone()).or_default();
            match records.iter().find(|r| r.filename() == item.filename) {
                Some(r) if r.sha256() == item.record.sha256() => p.unchanged.push(key),
                Some(r) => {
                    return Err(PublishError::Conflict {
                        what: format!("{} in feed {feed}", item.what),
                        existing: r.sha256().to_owned(),
                    });
                }
                None => {
                    records.push(item.record.clone());
                    p.uploads.push((n, key.clone()));
                    p.added.push(key);
                    p.touched.insert(feed.clone());
                }
            }
        }
    }
    Ok(p)
}

/// Checks a suite, component or repository name: letters, digits, `-`, `.`, `_`, `+`, not starting with `.`.
pub(crate) fn check_name(kind: &str, value: &str) -> Result<(), PublishError> {
    let ok = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '+'))
        && !value.starts_with('.');
    if ok {
        Ok(())
    } else {
        Err(PublishError::Settings(format!(
            "invalid {kind} `{value}`: use letters, digits, `-`, `.`, `_` and `+` (e.g. `stable`, `main`, `fedora-43-x86_64`)"
        )))
    }
}
