//! wharf-publish: the publish transaction.
//!
//! A repository's truth is its state manifest (`.wharf/<kind>/state`, [`state`]): every package record, where
//! it lives and its checksums. Index files are a pure function of that state, so adding a package reads
//! the state and the new package only — never the rest of the repository.
//!
//! Every kind (apt, rpm-md, opkg, apk v2, apk v3, pacman: [`kinds`]) decides what to add, remove and
//! regenerate, then hands [`txn`] a plan; the transaction writes it in the order that keeps every reader
//! safe, fenced by the store's lock, journaled in the state so a crashed publish is rolled forward by the
//! next one.

pub mod apk;
pub mod apk3;
pub mod apt;
pub mod inputs;
pub mod kind;
pub mod opkg;
pub mod pacman;
pub mod rpmmd;
pub mod state;
pub mod txn;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use wharf_core::RepoKind;
use wharf_store::Store;

use crate::inputs::{Entry, Identity, InputCache};
use crate::kind::Report;
use crate::txn::{GroupFiles, Plan, Record, Source, Stored, Txn};

/// Every repository kind, one fresh [`kind::Kind`] each, in [`RepoKind::ALL`]'s order: the one list of
/// kinds a publish, release, promotion or prune loops over.
#[must_use]
pub fn kinds() -> Vec<Box<dyn kind::Kind>> {
    vec![
        Box::new(apt::Apt::default()),
        Box::new(rpmmd::RpmMd::default()),
        Box::new(opkg::Opkg::default()),
        Box::new(apk::Apk::default()),
        Box::new(apk3::Apk3::default()),
        Box::new(pacman::Pacman::default()),
    ]
}

/// Why a publish failed. Nothing the clients read has changed when one of these is returned before the
/// pointer files are written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
        "{what} is already published with different contents (sha256 {existing}); clients holding the index that lists it would fail its checksum (apt: Hash Sum mismatch; dnf, zypper, apk, opkg alike). Publish it under a new version instead"
    )]
    Conflict {
        /// Name, version, arch.
        what: String,
        /// The published checksum.
        existing: String,
    },
    /// The repository is signed with another key.
    #[error(
        "{store} is signed with key {existing}, not {given}; publish with the original key (clients trust only it), or rotate: sign with both first (`wharf key rotate --add NEW`), retire the old one later"
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
    /// Building a signed index member failed (apk's signature member, apk v3's `packages.adb`).
    #[error("building the index of `{group}` failed: {source}")]
    IndexMember {
        /// The group (architecture) whose index it is.
        group: String,
        /// What failed.
        source: wharf_package::PackageError,
    },
}

/// How inspection may skip reading a file: the input cache knows its checksum, and `known` finds a
/// package with that checksum already published (see [`inputs`]).
pub(crate) struct Shortcut<'a, T> {
    pub(crate) cache: &'a mut InputCache,
    /// Each file's identity and the SHA-256 the cache remembers for it ([`identify`]), in `paths` order;
    /// empty when nothing published could answer for a file (every file is read, and remembered).
    pub(crate) ids: Vec<LookedUp>,
    /// What inspecting the file with this SHA-256 gave, as the state recorded it.
    pub(crate) known: &'a (dyn Fn(&[u8; 32]) -> Option<T> + Sync),
    /// The SHA-256 of the whole file, from what inspecting it gave.
    pub(crate) sha256: fn(&T) -> &str,
}

/// Opens a package file given to publish, refusing anything but a regular file: a FIFO (opened without
/// blocking, so an absent writer cannot hang the publish), a device, a socket or a directory.
pub fn open_input(path: &Path) -> Result<File, PublishError> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc::O_NONBLOCK | libc::O_NOCTTY);
    let f = options.open(path).map_err(read_err(path))?;
    let kind = f.metadata().map_err(read_err(path))?.file_type();
    if !kind.is_file() {
        let what = if kind.is_dir() {
            "a directory"
        } else {
            "not a regular file (a FIFO, socket or device)"
        };
        return Err(PublishError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("it is {what}; publish takes package files"),
            ),
        });
    }
    Ok(f)
}

fn read_err(path: &Path) -> impl FnOnce(std::io::Error) -> PublishError + use<> {
    let path = path.to_path_buf();
    move |source| PublishError::Read { path, source }
}

/// A file's identity, and the SHA-256 the input cache remembers for it.
pub(crate) type LookedUp = (Identity, Option<[u8; 32]>);

/// Each file's identity (`stat`, on every core) and the SHA-256 the input cache remembers for it (the
/// cache's entries read for the range of identities found, not whole). `None` if `stop` is set before
/// every file is `stat`ed: nothing is published that could answer for one (the state is read beside).
pub(crate) fn identify(
    paths: &[PathBuf],
    cache: &mut InputCache,
    stop: &AtomicBool,
) -> Result<Option<Vec<LookedUp>>, PublishError> {
    let ids = wharf_core::parallel::map_in_order(paths, wharf_core::parallel::cores(), |path| {
        if stop.load(Ordering::Relaxed) {
            return Ok(None);
        }
        Ok(Some(Identity::of(
            &std::fs::metadata(path).map_err(read_err(path))?,
        )))
    })
    .into_iter()
    .collect::<Result<Option<Vec<Identity>>, PublishError>>()?;
    let Some(ids) = ids else { return Ok(None) };
    cache.narrow_to(&ids);
    Ok(Some(ids.into_iter().map(|id| (id, cache.lookup(&id))).collect()))
}

/// Reads and validates package files with `inspect` (any valid package of the format), on every core
/// (each file is read and hashed once: `inspect` is given the open file and buffers it above its
/// hashing, so the bytes go from the kernel to the hash with no copy in between). With a `shortcut`, a
/// file the input cache knows unchanged and already published is not read at all, and what reading the
/// others found is remembered. Fails on the first bad one in `paths` order, before anything is written.
pub(crate) fn inspect_files<T: Send>(
    paths: &[PathBuf],
    inspect: impl Fn(&File) -> Result<T, wharf_package::PackageError> + Sync,
    shortcut: Option<Shortcut<'_, T>>,
) -> Result<Vec<(PathBuf, T)>, PublishError> {
    let mut shortcut =
        shortcut.filter(|s| s.cache.enabled() && (s.ids.is_empty() || s.ids.len() == paths.len()));
    // Files the cache and the state answer for are not opened; the rest are read, remembering each
    // one's identity before the read (as looked up, if it was).
    let mut found: Vec<Option<T>> = paths.iter().map(|_| None).collect();
    let mut before: Vec<Option<Identity>> = vec![None; paths.len()];
    if let Some(s) = &mut shortcut {
        for (n, (id, sha)) in s.ids.iter().enumerate() {
            match sha.as_ref().and_then(|sha| (s.known)(sha)) {
                Some(t) => {
                    found[n] = Some(t);
                    s.cache.skipped += 1;
                }
                None => before[n] = Some(*id),
            }
        }
    }
    let to_read: Vec<usize> = (0..paths.len()).filter(|n| found[*n].is_none()).collect();
    let sha256 = shortcut.as_ref().map(|s| s.sha256);
    let one = |n: &usize| -> Result<(T, Option<Entry>), PublishError> {
        let path = &paths[*n];
        let read_ns = inputs::now_ns();
        let f = open_input(path)?;
        let info = inspect(&f).map_err(|source| PublishError::Package {
            path: path.clone(),
            source,
        })?;
        // The file as read is `stat`ed after the read through its descriptor (no path walk again).
        let entry = match sha256 {
            Some(sha256) => f.metadata().ok().and_then(|m| {
                let after = Identity::of(&m);
                // Compared with its identity when looked up, if it was. If not, the descriptor is the
                // file that was read, and a change during the read would have moved its ctime past the
                // read's start, which `if_settled` refuses.
                Entry::if_settled(before[*n].unwrap_or(after), after, read_ns, sha256(&info))
            }),
            _ => None,
        };
        Ok((info, entry))
    };
    let read: Vec<(T, Option<Entry>)> =
        wharf_core::parallel::map_in_order(&to_read, wharf_core::parallel::cores(), one)
            .into_iter()
            .collect::<Result<_, _>>()?;
    for (n, (info, entry)) in to_read.into_iter().zip(read) {
        // (Not looked up, the cache is read whole here: saving what was learnt needs all of it anyway.)
        if let (Some(s), Some(entry)) = (&mut shortcut, entry) {
            s.cache.insert(entry);
        }
        found[n] = Some(info);
    }
    // Every file is either answered for or read by now.
    Ok(paths
        .iter()
        .zip(found)
        .filter_map(|(path, info)| Some((path.clone(), info?)))
        .collect())
}

/// What inspecting a package gives that [`inspect_cached`] needs: the SHA-256 of the whole file.
pub(crate) trait PackageInfo {
    fn sha256(&self) -> &str;
}

impl PackageInfo for wharf_package::deb::DebInfo {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

impl PackageInfo for wharf_package::rpm::RpmInfo {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

impl PackageInfo for wharf_package::ipk::IpkInfo {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

/// Reads a known file whose record cannot be opened — the state it came from was read for its keys and
/// replaced before the rest could be — checking that it still has the checksum it was known by.
pub(crate) fn read_known<I: PackageInfo + Send>(
    path: &Path,
    sha256: &str,
    inspect: impl Fn(&File) -> Result<I, wharf_package::PackageError> + Sync,
) -> Result<I, PublishError> {
    let read = inspect_files(&[path.to_path_buf()], &inspect, None)?;
    match read.into_iter().next() {
        Some((_, info)) if info.sha256() == sha256 => Ok(info),
        _ => Err(PublishError::Read {
            path: path.to_path_buf(),
            source: std::io::Error::other("the file changed while it was being published; publish it again"),
        }),
    }
}

/// What [`inspect_cached`] found for a file.
#[derive(Debug, Clone)]
pub(crate) enum Found<I, R> {
    /// The file was read: what it says (boxed: most files of a republish are known, and this is large).
    Read(Box<I>),
    /// The input cache knows the file unchanged and the state holds a package with its checksum: that
    /// record, parsed only if the publish needs more than its key (to add it somewhere new).
    Known(Stored<R>),
}

impl<I: PackageInfo, R> Found<I, R> {
    /// The SHA-256 of the file.
    pub(crate) fn sha256(&self) -> &str {
        match self {
            Self::Read(i) => i.sha256(),
            Self::Known(r) => r.key().sha256,
        }
    }

    /// The state's record standing for the file, when it is known.
    pub(crate) fn known(&self) -> Option<&Stored<R>> {
        match self {
            Self::Read(_) => None,
            Self::Known(r) => Some(r),
        }
    }
}

/// Files of a kind, checked, each with what was found for it, and the kind's state as read.
pub(crate) type Checked<I, R> = (Vec<(PathBuf, Found<I, R>)>, Option<txn::Peeked<R>>);

/// [`inspect_files`] with the input cache: a file the cache knows unchanged and the state (read before
/// the lock, while the files are `stat`ed: neither needs the other until both are done) already holds
/// is not read; its record stands for it. Returns the state too, for the transaction to reuse.
///
/// When every file is known, only the state's keys are read: a publish that changes nothing needs no
/// more, and one that does reads what it needs under the lock ([`Txn::load`]). When some file had to be
/// read — something new is published — the segments holding the known files' records are read here
/// (they may be added to another group); with `whole` (the caller opens every known record), all of it.
pub(crate) fn inspect_cached<I: PackageInfo + Send, R: Record + Send + Sync>(
    paths: &[PathBuf],
    inspect: impl Fn(&File) -> Result<I, wharf_package::PackageError> + Sync,
    cache: &mut InputCache,
    store: &dyn Store,
    state_key: &str,
    whole: bool,
) -> Result<Checked<I, R>, PublishError> {
    if paths.is_empty() {
        return Ok((Vec::new(), None));
    }
    // Each published record's SHA-256 and its place in `Peeked::records` order, made on the thread
    // that read the state while the files are still being `stat`ed.
    type BySha = foldhash::HashMap<[u8; 32], usize>;
    let (published, ids, by_sha) = if cache.enabled() {
        let nothing_published = AtomicBool::new(false);
        std::thread::scope(|s| {
            let peek = s.spawn(|| {
                let peeked = txn::peek::<R>(store, state_key)?;
                let by_sha: BySha = peeked
                    .iter()
                    .flat_map(txn::Peeked::records)
                    .enumerate()
                    .filter_map(|(n, r)| {
                        let mut sha = [0; 32];
                        wharf_core::digest::from_hex(r.key().sha256, &mut sha).then_some(())?;
                        Some((sha, n))
                    })
                    .collect();
                // No record to answer for a file (a first publish): the files need no `stat` before
                // they are read, so looking them up stops.
                if by_sha.is_empty() {
                    nothing_published.store(true, Ordering::Relaxed);
                }
                Ok::<_, PublishError>((peeked, by_sha))
            });
            let ids = identify(paths, cache, &nothing_published);
            let peeked = peek.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
            peeked.map(|(published, by_sha)| (published, ids, by_sha))
        })?
    } else {
        (txn::peek::<R>(store, state_key)?, Ok(None), BySha::default())
    };
    let ids = ids?.unwrap_or_default();
    let found = {
        let records: Vec<&Stored<R>> = published.iter().flat_map(txn::Peeked::records).collect();
        let known = |sha: &[u8; 32]| {
            let r = records.get(*by_sha.get(sha)?)?;
            Some(Found::Known((*r).clone()))
        };
        let shortcut = Shortcut {
            cache,
            ids,
            known: &known,
            sha256: Found::<I, R>::sha256,
        };
        inspect_files(
            paths,
            |f: &File| inspect(f).map(|i| Found::Read(Box::new(i))),
            Some(shortcut),
        )?
    };
    let read_some = found.iter().any(|(_, f)| matches!(f, Found::Read(_)));
    let published = match published {
        Some(p) if whole => txn::load_peeked(p, store)?,
        Some(p) if read_some => {
            let known: Vec<&Stored<R>> = found.iter().filter_map(|(_, f)| f.known()).collect();
            txn::load_peeked_records(p, store, &known)?
        }
        p => p,
    };
    Ok((found, published))
}

/// A package file checked and ready to publish: its path and what its metadata says.
#[derive(Debug, Clone)]
pub struct Incoming<I> {
    /// The file.
    pub path: PathBuf,
    /// What the package says about itself.
    pub info: I,
    /// Instead of `path`: the object in the store (named from its root) this package is, when it is
    /// promoted from another channel's tree — copied store-side, never read.
    pub stored: Option<String>,
}

impl<I> Incoming<I> {
    /// Where its bytes come from.
    pub(crate) fn source(&self) -> Source {
        match &self.stored {
            Some(key) => Source::Stored(key.clone()),
            None => Source::File(self.path.clone()),
        }
    }
}

/// A key of a channel's tree (`prefix`, none for the store's top) named from the store's root.
pub(crate) fn from_root(prefix: Option<&str>, key: &str) -> String {
    match prefix {
        Some(p) => format!("{}/{key}", p.trim_end_matches('/')),
        None => key.to_owned(),
    }
}

/// What a promotion found of a package in one channel: the packages to publish into another (copied
/// store-side from where they are), the groups they were in, and every version of the name there.
#[derive(Debug)]
pub struct Promoted<T> {
    /// The packages, each once (an architecture-independent one sits in every feed).
    pub packages: Vec<T>,
    /// The groups (repositories, feeds) they were found in.
    pub groups: Vec<String>,
    /// `name  version (arch)` of each.
    pub what: Vec<String>,
    /// Every version of the name in that channel.
    pub versions: BTreeSet<String>,
}

impl<T> Promoted<T> {
    /// The packages, the groups, and what a promotion reports ([`kind::Found`]).
    pub(crate) fn split(self) -> (Vec<T>, Vec<String>, kind::Found) {
        let found = kind::Found {
            what: self.what,
            versions: self.versions,
        };
        (self.packages, self.groups, found)
    }
}

/// [`Promoted`] from the records of one kind: `convert` makes each package from its group and record.
pub(crate) fn promoted<R: Record, T>(
    from: &dyn Store,
    state_key: &str,
    group: Option<&str>,
    (name, version): (&str, &str),
    convert: impl Fn(&str, Stored<R>) -> Result<T, PublishError>,
) -> Result<Promoted<T>, PublishError> {
    let (found, versions) = txn::records::<R>(from, state_key, group, name, version)?;
    let mut seen = BTreeSet::new();
    let mut out = Promoted {
        packages: Vec::new(),
        groups: Vec::new(),
        what: Vec::new(),
        versions,
    };
    for (g, r) in found {
        if !out.groups.contains(&g) {
            out.groups.push(g.clone());
        }
        let k = r.key();
        if !seen.insert((k.file.to_owned(), k.sha256.to_owned())) {
            continue;
        }
        out.what.push(r.describe());
        out.packages.push(convert(&g, r)?);
    }
    Ok(out)
}

/// Reads and validates package files into [`Incoming`] (any valid package of the format).
pub(crate) fn inspect_incoming<I: Send>(
    paths: &[PathBuf],
    inspect: impl Fn(&File) -> Result<I, wharf_package::PackageError> + Sync,
) -> Result<Vec<Incoming<I>>, PublishError> {
    Ok(inspect_files(paths, inspect, None)?
        .into_iter()
        .map(|(path, info)| Incoming {
            path,
            info,
            stored: None,
        })
        .collect())
}

/// A record in a per-architecture feed (opkg, apk): its file name and content hash.
pub(crate) trait FeedRecord {
    fn sha256(&self) -> &str;
    /// Objects uploaded beside the package (the key's suffix, the bytes): [`txn::Record::COMPANIONS`].
    fn companions(&self) -> Vec<(&'static str, Vec<u8>)> {
        Vec::new()
    }
}

/// A package offered to per-architecture feeds.
pub(crate) struct FeedItem<R> {
    /// The package's bytes.
    pub(crate) source: Source,
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

/// The publish every feed kind (opkg, apk, apk v3) shares: place the items, apply retention, build each
/// feed's pointer files with `index` (feed, records) and commit with the public key file(s) beside them. A feed
/// is regenerated when something was added to (or removed from) it, or when it is named but has no
/// `index_file` yet (the signed file); otherwise the store is left as it is. `kind` and `key` (the signing
/// key's identity) name the report.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish_feeds<R: FeedRecord + Record>(
    (kind, key): (RepoKind, String),
    mut txn: Txn<'_, R>,
    root: &str,
    index_file: &str,
    feeds: &[String],
    any_arch: &str,
    items: &[FeedItem<R>],
    public_keys: Vec<(String, Vec<u8>)>,
    index: impl Fn(&str, &[&R]) -> Result<Vec<(String, Vec<u8>)>, PublishError>,
) -> Result<Report, PublishError> {
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
            .flat_map(|(n, key)| {
                let companions = items[n]
                    .record
                    .companions()
                    .into_iter()
                    .map(|(suffix, bytes)| (format!("{key}{suffix}"), Source::Bytes(bytes.clone())))
                    .collect::<Vec<_>>();
                std::iter::once((key, items[n].source.clone())).chain(companions)
            })
            .collect(),
        shared: public_keys,
        groups: Vec::new(),
    };
    let regenerate = txn.groups_to_rewrite(&touched, true)?;
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
    let store = txn.store().describe();
    let collected = txn.commit(plan)?;
    Ok(Report {
        kind,
        store,
        added,
        unchanged,
        signed: regenerate
            .iter()
            .map(|f| format!("{root}/{f}/{index_file}"))
            .collect(),
        groups: regenerate.into_iter().collect(),
        key,
        unsigned: Vec::new(),
        client_files: Vec::new(),
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
