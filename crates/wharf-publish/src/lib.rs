//! wharf-publish: the publish transaction.
//!
//! A repository's truth is its state manifest (`.wharf/<kind>/state`, [`state`]): every package record, where
//! it lives and its checksums. Index files are a pure function of that state, so adding a package reads
//! the state and the new package only — never the rest of the repository.
//!
//! Every kind (apt, rpm-md, opkg, apk v2, apk v3) decides what to add, remove and regenerate, then hands
//! [`txn`] a plan; the transaction writes it in the order that keeps every reader safe, fenced by the
//! store's lock, journaled in the state so a crashed publish is rolled forward by the next one.

pub mod apk;
pub mod apk3;
pub mod apt;
pub mod inputs;
pub mod opkg;
pub mod rpmmd;
pub mod state;
pub mod txn;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;

use std::path::PathBuf;

use crate::inputs::{Entry, Identity, InputCache};
use crate::txn::{Collected, GroupFiles, Plan, Record, Source, Stored, Txn};

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
    /// A record of the state cannot be read back (written by an incompatible wharf).
    #[error(
        "the state's record of {what} cannot be read ({why}); publish with the wharf version that wrote the repository"
    )]
    Record {
        /// `name version (arch)`.
        what: String,
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

/// How inspection may skip reading a file: the input cache knows its checksum, and `known` finds a
/// package with that checksum already published (see [`inputs`]).
pub(crate) struct Shortcut<'a, T> {
    pub(crate) cache: &'a mut InputCache,
    /// What inspecting the file with this SHA-256 gave, as the state recorded it.
    pub(crate) known: &'a (dyn Fn(&str) -> Option<T> + Sync),
    /// The SHA-256 of the whole file, from what inspecting it gave.
    pub(crate) sha256: fn(&T) -> &str,
}

/// Reads and validates package files with `inspect` (any valid package of the format), on every core
/// (each file is read and hashed once, in 128 KiB reads). With a `shortcut`, a file the input cache
/// knows unchanged and already published is not read at all, and what reading the others found is
/// remembered. Fails on the first bad one in `paths` order, before anything is written.
pub(crate) fn inspect_files<T: Send>(
    paths: &[PathBuf],
    inspect: impl Fn(BufReader<File>) -> Result<T, wharf_package::PackageError> + Sync,
    shortcut: Option<Shortcut<'_, T>>,
) -> Result<Vec<(PathBuf, T)>, PublishError> {
    let (mut cache, known, sha256) = match shortcut {
        Some(s) if s.cache.enabled() => (Some(s.cache), Some(s.known), Some(s.sha256)),
        _ => (None, None, None),
    };
    let lookup = cache.as_deref();
    let read_err = |path: &PathBuf| {
        let path = path.clone();
        move |source| PublishError::Read { path, source }
    };
    let one = |path: &PathBuf| -> Result<(PathBuf, T, Option<Entry>, bool), PublishError> {
        let before = match lookup {
            Some(cache) => {
                let id = Identity::of(&std::fs::metadata(path).map_err(read_err(path))?);
                let hit = cache.lookup(&id).and_then(|sha| known.and_then(|k| k(&sha)));
                if let Some(info) = hit {
                    return Ok((path.clone(), info, None, true));
                }
                Some(id)
            }
            None => None,
        };
        let read_ns = inputs::now_ns();
        let f = File::open(path).map_err(read_err(path))?;
        let info =
            inspect(BufReader::with_capacity(128 * 1024, f)).map_err(|source| PublishError::Package {
                path: path.clone(),
                source,
            })?;
        let entry = match (before, sha256) {
            (Some(before), Some(sha256)) => std::fs::metadata(path)
                .ok()
                .and_then(|m| Entry::if_settled(before, Identity::of(&m), read_ns, sha256(&info))),
            _ => None,
        };
        Ok((path.clone(), info, entry, false))
    };
    let read: Vec<(PathBuf, T, Option<Entry>, bool)> =
        wharf_core::parallel::map_in_order(paths, wharf_core::parallel::cores(), one)
            .into_iter()
            .collect::<Result<_, _>>()?;
    let mut out = Vec::with_capacity(read.len());
    for (path, info, entry, skipped) in read {
        if let Some(cache) = cache.as_deref_mut() {
            if let Some(entry) = entry {
                cache.insert(entry);
            }
            cache.skipped += usize::from(skipped);
        }
        out.push((path, info));
    }
    Ok(out)
}

/// How a kind's packages relate to its state's records, for [`inspect_cached`].
pub(crate) struct Recorded<I, R> {
    /// What inspecting that file gave, rebuilt from the record.
    pub(crate) info: fn(&R) -> Option<I>,
    /// The SHA-256 of an inspected file.
    pub(crate) info_sha256: fn(&I) -> &str,
}

/// [`inspect_files`] with the input cache: a file the cache knows unchanged and `published` (the state,
/// read before the lock) already holds is taken from its record instead of being read.
pub(crate) fn inspect_cached<I: Send, R: Record + Send + Sync>(
    paths: &[PathBuf],
    inspect: impl Fn(BufReader<File>) -> Result<I, wharf_package::PackageError> + Sync,
    cache: &mut InputCache,
    published: Option<&txn::Peeked<R>>,
    how: &Recorded<I, R>,
) -> Result<Vec<Incoming<I>>, PublishError> {
    let by_sha: std::collections::HashMap<&str, &Stored<R>> = match published {
        Some(p) if cache.enabled() && !paths.is_empty() => p.records().map(|r| (r.key().sha256, r)).collect(),
        _ => std::collections::HashMap::new(),
    };
    // A record that cannot be parsed is no shortcut: the file is read instead.
    let known = |sha: &str| by_sha.get(sha).and_then(|r| r.record().ok()).and_then(how.info);
    let shortcut = Shortcut {
        cache,
        known: &known,
        sha256: how.info_sha256,
    };
    Ok(inspect_files(paths, inspect, Some(shortcut))?
        .into_iter()
        .map(|(path, info)| Incoming { path, info })
        .collect())
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
pub(crate) fn inspect_incoming<I: Send>(
    paths: &[PathBuf],
    inspect: impl Fn(BufReader<File>) -> Result<I, wharf_package::PackageError> + Sync,
) -> Result<Vec<Incoming<I>>, PublishError> {
    Ok(inspect_files(paths, inspect, None)?
        .into_iter()
        .map(|(path, info)| Incoming { path, info })
        .collect())
}

/// A record in a per-architecture feed (opkg, apk): its file name and content hash.
pub(crate) trait FeedRecord {
    fn sha256(&self) -> &str;
}

/// A package offered to per-architecture feeds.
pub(crate) struct FeedItem<R> {
    /// The package file.
    pub(crate) path: PathBuf,
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
pub(crate) fn place_in_feeds<R: FeedRecord + Record>(
    groups: &mut BTreeMap<String, Vec<Stored<R>>>,
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
        touched: BTreeSet::new(),
    };
    // Each feed's records by file name (index into its list), built once per feed.
    let mut by_name: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for (n, item) in items.iter().enumerate() {
        let targets: Vec<&String> = all_feeds
            .iter()
            .filter(|f| item.arch == any_arch || **f == item.arch)
            .collect();
        for feed in targets {
            let key = format!("{root}/{feed}/{}", item.filename);
            let records = groups.entry(feed.clone()).or_default();
            let index = by_name.entry(feed.clone()).or_insert_with(|| {
                records
                    .iter()
                    .enumerate()
                    .map(|(n, r)| (r.key().file.to_owned(), n))
                    .collect()
            });
            match index.get(&item.filename).map(|n| &records[*n]) {
                Some(r) if r.key().sha256 == item.record.sha256() => p.unchanged.push(key),
                Some(r) => {
                    return Err(PublishError::Conflict {
                        what: format!("{} in feed {feed}", item.what),
                        existing: r.key().sha256.to_owned(),
                    });
                }
                None => {
                    index.insert(item.filename.clone(), records.len());
                    records.push(Stored::new(item.record.clone())?);
                    p.uploads.push((n, key.clone()));
                    p.added.push(key);
                    p.touched.insert(feed.clone());
                }
            }
        }
    }
    Ok(p)
}

/// What a feed publish did.
pub(crate) struct FeedOutcome {
    pub(crate) added: Vec<String>,
    pub(crate) unchanged: Vec<String>,
    pub(crate) feeds: Vec<String>,
    pub(crate) pruned: Vec<String>,
    pub(crate) collected: Collected,
}

/// The publish every feed kind (opkg, apk, apk v3) shares: place the items, apply retention, build each
/// feed's pointer files with `index` (feed, records) and commit with the public key beside them. A feed
/// is regenerated when something was added to (or removed from) it, or when it is named but has no
/// `index_file` yet; otherwise the store is left as it is.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish_feeds<R: FeedRecord + Record>(
    mut txn: Txn<'_, R>,
    root: &str,
    index_file: &str,
    feeds: &[String],
    any_arch: &str,
    items: &[FeedItem<R>],
    public_key: (String, Vec<u8>),
    index: impl Fn(&str, &[&R]) -> Result<Vec<(String, Vec<u8>)>, PublishError>,
) -> Result<FeedOutcome, PublishError> {
    let Placement {
        uploads,
        added,
        unchanged,
        mut touched,
    } = place_in_feeds(&mut txn.state.groups, root, feeds, any_arch, items)?;
    for feed in feeds {
        if !touched.contains(feed)
            && txn
                .store()
                .head(&format!("{root}/{feed}/{index_file}"))?
                .is_none()
        {
            touched.insert(feed.clone());
        }
    }
    let pruned = txn
        .apply_retention(&mut touched)
        .iter()
        .map(|(g, r)| format!("{} in {g}", r.describe()))
        .collect();
    let mut plan = Plan {
        uploads: uploads
            .into_iter()
            .map(|(n, key)| (key, Source::File(items[n].path.clone())))
            .collect(),
        shared: vec![public_key],
        groups: Vec::new(),
    };
    let regenerate = txn.to_regenerate(&touched);
    for feed in &regenerate {
        let records: Vec<&R> = txn
            .state
            .groups
            .get(feed)
            .map(|v| v.iter().map(Stored::record).collect::<Result<_, _>>())
            .transpose()?
            .unwrap_or_default();
        plan.groups.push(GroupFiles {
            group: feed.clone(),
            pointers: index(feed, &records)?,
            ..GroupFiles::default()
        });
    }
    let collected = txn.commit(plan)?;
    Ok(FeedOutcome {
        added,
        unchanged,
        feeds: regenerate.into_iter().collect(),
        pruned,
        collected,
    })
}

/// Whether `v` (apk's spelling, or wharf's, converted) names the apk version `have`.
pub(crate) fn apk_version_is(have: &str, v: &str) -> bool {
    have == v
        || v.parse::<wharf_core::Version>()
            .ok()
            .and_then(|w| wharf_core::apkver::from_version(&w).ok())
            .is_some_and(|w| w == have)
}

/// Checks a suite, component or repository name: letters, digits, `-`, `.`, `_`, `+`, not starting with `.`.
pub fn check_name(kind: &str, value: &str) -> Result<(), PublishError> {
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
