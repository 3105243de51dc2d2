//! The publish transaction every repository kind runs (design.md §4).
//!
//! ```text
//! lock → read state and journal → (caller: add/remove records, build indexes) → package files →
//! content-addressed index blobs → fixed-name files → journal (groups being switched) → state → pointer
//! files → collect garbage past its grace period → journal cleared → unlock
//! ```
//!
//! - **Pointers last.** A reader finds the old or the new pointer; everything either references exists.
//! - **Journal.** Before the state, a small `pending.json` beside it lists the groups about to switch; it
//!   is deleted once their pointers are written. A publish killed anywhere in between leaves it behind,
//!   and the next publish regenerates those groups too, rolling the crashed one forward. (The journal,
//!   not a second write of the state, so a large state is written once per publish.) Killed before the
//!   journal, nothing a client reads has changed.
//! - **Fencing.** The lock guard's `check` runs before each state write and before the pointers, and the
//!   state itself is written with [`Store::put_if`] against the version read at the start, so a publisher
//!   that lost its lock (lease expired while it was paused) stops instead of overwriting a newer state.
//! - **Grace period.** Objects that leave the state (old index blobs, pruned packages) are recorded as
//!   garbage with the time they left, and deleted by a later publish or `wharf prune` only once the grace
//!   period has passed and nothing references them again — a client holding an old pointer still finds
//!   every file it names.
//! - **Failpoints.** `WHARF_FAILPOINT=<kind>:<step>` makes the process exit (code [`FAILPOINT_EXIT`], no
//!   clean-up, lock left behind) right after that step; the crash tests use it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

use wharf_store::{LockGuard, PutMode, Store};

use wharf_core::parallel::map_in_order;

use crate::PublishError;
use crate::state::{Cut, FORMAT, Layout, Missing};
pub(crate) use crate::state::{Key, KeyFields, Manifest, Record, Stored};

/// How much of a state the first read takes: the header, and all of a small state — as much as the
/// store reads in one request cheaply ([`Store::first_read`]). (Tests set `WHARF_STATE_PROBE` to a few
/// bytes, so that every state, however small, is read in parts.)
fn probe(store: &dyn Store) -> u64 {
    std::env::var("WHARF_STATE_PROBE")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|n| *n > 0)
        .unwrap_or_else(|| store.first_read())
}

/// The lock every publish of a store takes (one per store: a promotion touches two channels).
pub const LOCK_KEY: &str = ".wharf/lock";
/// How a failpoint ends the process.
pub const FAILPOINT_EXIT: i32 = 86;

/// Exits the process when `WHARF_FAILPOINT` names this step (test-only crash injection); with
/// `WHARF_FAILPOINT_SLEEP=<seconds>` it pauses there instead (a slow publisher holding its lock).
pub fn failpoint(kind: &str, step: &str) {
    if let Some(v) = std::env::var_os("WHARF_FAILPOINT")
        && v.to_str()
            .is_some_and(|v| v.split_once(':') == Some((kind, step)))
    {
        match std::env::var("WHARF_FAILPOINT_SLEEP")
            .ok()
            .and_then(|s| s.parse().ok())
        {
            Some(secs) => std::thread::sleep(Duration::from_secs(secs)),
            None => std::process::exit(FAILPOINT_EXIT),
        }
    }
}

/// The guard of a dry run, which takes no lock: it writes nothing to fence.
struct Unlocked;

impl LockGuard for Unlocked {
    fn check(&self) -> Result<(), wharf_store::StoreError> {
        Ok(())
    }
}

/// Every failpoint, `<kind>:<step>`, in transaction order.
pub const STEPS: [&str; 8] = [
    "planned", "packages", "blobs", "fixed", "segments", "state", "pointers", "gc",
];

/// Settings shared by every kind's transaction.
#[derive(Debug, Clone)]
pub struct TxnOptions {
    /// How long to wait for another publisher's lock.
    pub lock_wait: Duration,
    /// How long unreferenced objects stay before they are deleted.
    pub grace: Duration,
    /// Keep only this many newest versions per (group, name, arch); `None` keeps all.
    pub keep: Option<usize>,
    /// Apply `keep` to every group, not only the ones this publish adds to (`wharf prune`).
    pub prune: bool,
    /// Decide everything, write nothing (`--dry-run`): the report lists what would be removed.
    pub dry_run: bool,
}

impl Default for TxnOptions {
    fn default() -> Self {
        Self {
            lock_wait: Duration::from_secs(300),
            grace: Duration::from_secs(24 * 3600),
            keep: None,
            prune: false,
            dry_run: false,
        }
    }
}

/// Records found, each with its group, and every version of the name seen.
pub(crate) type Matching<R> = (Vec<(String, Stored<R>)>, BTreeSet<String>);

/// The records of `name` at `version` in the state at `state_key` (only `group`'s, when given), each with
/// its group, loaded whole; and every version of `name` there. A promotion publishes them elsewhere.
pub(crate) fn records<R: Record>(
    store: &dyn Store,
    state_key: &str,
    group: Option<&str>,
    name: &str,
    version: &str,
) -> Result<Matching<R>, PublishError> {
    let Some((key, tagged)) = read_state(store, state_key)? else {
        return Ok((Vec::new(), BTreeSet::new()));
    };
    let state: Manifest<R> = parse_state(store, &key, tagged.bytes)?;
    let mut found = Vec::new();
    let mut versions = BTreeSet::new();
    for (g, records) in &state.groups {
        if group.is_some_and(|only| only != g) {
            continue;
        }
        for r in records.iter().filter(|r| r.key().name == name) {
            let k = r.key();
            versions.insert(R::version(&k));
            if R::version_is(&k, version) {
                found.push((g.clone(), r.clone()));
            }
        }
    }
    Ok((found, versions))
}

/// The groups (suites, repositories, feeds) of the state at `state_key`, read for its keys alone.
pub(crate) fn groups<R: Record>(store: &dyn Store, state_key: &str) -> Result<Vec<String>, PublishError> {
    Ok(match peek::<R>(store, state_key)? {
        Some(p) => p.state.groups.keys().cloned().collect(),
        None => Vec::new(),
    })
}

/// Where the first state format lived (`.wharf/apt/state` → `.wharf/apt/state.json`).
fn legacy_key(state_key: &str) -> String {
    format!("{state_key}.json")
}

/// The stored state and the key it was found under: the current one, else the first format's.
fn read_state(
    store: &dyn Store,
    state_key: &str,
) -> Result<Option<(String, wharf_store::Tagged)>, PublishError> {
    if let Some(t) = store.get_tagged(state_key)? {
        return Ok(Some((state_key.to_owned(), t)));
    }
    let legacy = legacy_key(state_key);
    Ok(store.get_tagged(&legacy)?.map(|t| (legacy, t)))
}

/// A package's object key and its companions' ([`Record::COMPANIONS`]).
fn with_companions<R: Record>(key: String) -> Vec<String> {
    let mut keys: Vec<String> = R::COMPANIONS
        .iter()
        .map(|suffix| format!("{key}{suffix}"))
        .collect();
    keys.push(key);
    keys
}

impl<R: Record> Manifest<R> {
    /// Every object the state references: package files and index blobs.
    pub(crate) fn referenced(&self) -> BTreeSet<String> {
        let mut keys: BTreeSet<String> = self
            .groups
            .iter()
            .flat_map(|(g, rs)| rs.iter().flat_map(move |r| with_companions::<R>(r.object_key(g))))
            .collect();
        keys.extend(self.blobs.values().flatten().cloned());
        keys
    }

    /// Applies `keep` newest versions per (name, arch) to `group`; returns the records removed.
    pub(crate) fn retain_newest(&mut self, group: &str, keep: usize) -> Vec<Stored<R>> {
        let Some(records) = self.groups.get_mut(group) else {
            return Vec::new();
        };
        let mut by_id: BTreeMap<(&str, &str), Vec<usize>> = BTreeMap::new();
        for (i, r) in records.iter().enumerate() {
            let k = r.key();
            by_id.entry((k.name, k.arch)).or_default().push(i);
        }
        let mut drop = BTreeSet::new();
        for idx in by_id.values_mut() {
            idx.sort_by(|a, b| R::cmp_version(&records[*b].key(), &records[*a].key()));
            drop.extend(idx.iter().skip(keep.max(1)).copied());
        }
        let mut removed = Vec::new();
        let mut kept = Vec::with_capacity(records.len());
        for (n, r) in std::mem::take(records).into_iter().enumerate() {
            if drop.contains(&n) {
                removed.push(r);
            } else {
                kept.push(r);
            }
        }
        *records = kept;
        removed
    }
}

/// Where an uploaded package's bytes come from.
#[derive(Debug, Clone)]
pub(crate) enum Source {
    /// A local file.
    File(PathBuf),
    /// Bytes made in memory (an rpm signed during the publish).
    Bytes(Vec<u8>),
    /// An object already in the store, named from its root (another channel's tree): copied store-side.
    Stored(String),
}

/// What an index file is written from.
#[derive(Debug)]
pub(crate) enum Body {
    /// Its bytes.
    Bytes(Vec<u8>),
    /// The same bytes as an object written before it in the same commit (apt's `by-hash/SHA512/…` and
    /// plain `Packages` are its `by-hash/SHA256/…`): copied store-side — a hard link in a directory, a
    /// server-side copy in S3 — so a document is sent and held in memory once, not three times.
    CopyOf(String),
}

/// The files one group (suite, repository, feed) needs for its new index.
#[derive(Debug, Default)]
pub(crate) struct GroupFiles {
    pub(crate) group: String,
    /// Content-addressed blobs (by-hash indexes, `repodata/<sha256>-…`): written create-only.
    pub(crate) blobs: Vec<(String, Body)>,
    /// Fixed-name files clients do not start from (apt's plain `Packages`, `.repo` files).
    pub(crate) fixed: Vec<(String, Body)>,
    /// The pointer files, written last and in this order.
    pub(crate) pointers: Vec<(String, Vec<u8>)>,
}

/// Everything a commit writes.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub(crate) uploads: Vec<(String, Source)>,
    /// Fixed-name files outside any group (public keys).
    pub(crate) shared: Vec<(String, Vec<u8>)>,
    pub(crate) groups: Vec<GroupFiles>,
}

/// What a commit did to the store, beyond the packages.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Collected {
    /// Objects deleted (with `dry_run`: that would be) because their grace period had passed.
    pub deleted: Vec<String>,
    /// Objects waiting for their grace period.
    pub waiting: usize,
    /// Nothing changed: the commit wrote nothing at all (not even the state).
    pub unchanged: bool,
    /// With `dry_run`: every object the commit would write, in the order it would write them (package
    /// files, index blobs, fixed files, public keys, the state's new segments, the state, the pointer
    /// files).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub planned: Vec<String>,
    /// Where the transaction's time went.
    pub timings: Timings,
}

/// Wall-clock time of a transaction's phases, in milliseconds (the benchmark harness reads these).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct Timings {
    /// Taking the lock and reading the state and journal.
    pub lock_ms: f64,
    /// Index work: deciding what changes, building and signing the index files.
    pub index_ms: f64,
    /// Writing: packages, index files, state, pointers, garbage collection.
    pub write_ms: f64,
}

fn millis(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A transaction in progress: the lock is held and the state read.
pub(crate) struct Txn<'a, R> {
    store: &'a dyn Store,
    guard: Box<dyn LockGuard>,
    kind: &'static str,
    state_key: &'static str,
    tag: Option<String>,
    /// The state was read in the first format (`state.json`): the next commit writes the current one and
    /// deletes it.
    legacy: bool,
    /// Groups a crashed publish left half-switched (from the journal).
    pending: BTreeSet<String>,
    pub(crate) state: Manifest<R>,
    pub(crate) fingerprint: String,
    pub(crate) options: &'a TxnOptions,
    /// When the lock was held and the state read, and how long that took.
    ready: (Instant, Duration),
    /// The segments the state was last written with: written again after garbage collection, it has the
    /// same records, so it names the same ones (not cut, hashed and sent again).
    written: Option<Cut>,
}

/// Writes one index file. A copy replaces whatever is at `key` (a content-addressed blob that exists
/// already has these very bytes: the copy changes nothing a client can see).
fn write_body(store: &dyn Store, key: &str, body: &Body, mode: PutMode) -> Result<(), PublishError> {
    match body {
        Body::Bytes(bytes) => drop(store.put(key, bytes, mode)?),
        Body::CopyOf(from) => store.copy(from, key)?,
    }
    Ok(())
}

/// The journal beside a state (`.wharf/apt/state` → `.wharf/apt/pending.json`).
fn journal_key(state_key: &str) -> String {
    match state_key.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/pending.json"),
        None => "pending.json".to_owned(),
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A state read before taking the lock, to find packages already published (see [`crate::inputs`]). The
/// transaction that follows uses it as it is if the state is still that version, so it is parsed once.
/// It may hold only the keys ([`Manifest::decode_keys`]): enough to find that nothing changes.
pub struct Peeked<R> {
    state: Manifest<R>,
    /// The key it was read from and its version tag.
    key: String,
    tag: String,
}

/// The state at `state_key`, if there is one, read before taking the lock: its keys alone where the
/// format allows (see [`crate::state`]), else whole.
pub(crate) fn peek<R: Record>(store: &dyn Store, state_key: &str) -> Result<Option<Peeked<R>>, PublishError> {
    if let Some((state, tag)) = read_keys(store, state_key)? {
        return Ok(Some(Peeked {
            state,
            key: state_key.to_owned(),
            tag,
        }));
    }
    Ok(match read_state(store, state_key)? {
        None => None,
        Some((key, t)) => Some(Peeked {
            state: parse_state(store, &key, t.bytes)?,
            key,
            tag: t.tag,
        }),
    })
}

/// The state at `key` with only its keys read: its first bytes (header) and its tail (table and keys),
/// two ranged reads of the same version. `None` when it is absent, or read whole anyway: small, in an
/// earlier format, derived by another version, or replaced between the two reads.
fn read_keys<R: Record>(store: &dyn Store, key: &str) -> Result<Option<(Manifest<R>, String)>, PublishError> {
    let refused = |why| PublishError::State {
        store: store.describe(),
        key: key.into(),
        why,
    };
    // The first bytes, as many as the header takes (a long garbage list can make it large): more are
    // read after them, of the same version, until it ends.
    let Some(mut first) = store.get_range(key, 0..probe(store))? else {
        return Ok(None);
    };
    let layout = loop {
        let whole = first.bytes.len() as u64 == first.size;
        match Layout::of(&first.bytes).map_err(refused)? {
            // The current format keeps its data apart (in segments): its keys alone are read even
            // when the first read took the whole object.
            layout @ Layout::Current { format: FORMAT, .. } => break layout,
            _ if whole => return Ok(Some((parse_state(store, key, first.bytes)?, first.tag))),
            Layout::Truncated => {
                let have = first.bytes.len() as u64;
                match store.get_range(key, have..have.saturating_mul(4))? {
                    Some(more) if more.tag == first.tag => first.bytes.extend_from_slice(&more.bytes),
                    _ => return Ok(None),
                }
            }
            layout => break layout,
        }
    };
    let Layout::Current {
        header,
        data_start,
        tail_start,
        len,
        ..
    } = layout
    else {
        return Ok(None);
    };
    if header.derived != crate::state::DERIVED || len as u64 != first.size {
        return Ok(None);
    }
    let tail = if first.bytes.len() >= len {
        first.bytes.drain(tail_start..len).collect()
    } else {
        match store.get_range(key, tail_start as u64..len as u64)? {
            Some(t) if t.tag == first.tag => t.bytes,
            _ => return Ok(None),
        }
    };
    let state = Manifest::decode_keys(*header, data_start, tail).map_err(refused)?;
    Ok(Some((state, first.tag)))
}

/// Reads the chunks `missing` of a state read for its keys alone, of the version `tag`: segments by
/// name, format 3's data section from the state object. `Ok(false)`: the state has been replaced since
/// (its data section is gone; segments are never rewritten).
fn load<R: Record>(
    store: &dyn Store,
    key: &str,
    tag: &str,
    state: &Manifest<R>,
    missing: Vec<Missing>,
) -> Result<bool, PublishError> {
    if missing.is_empty() {
        return Ok(true);
    }
    let refused = |why| PublishError::State {
        store: store.describe(),
        key: key.into(),
        why,
    };
    let names: Vec<String> = missing
        .iter()
        .filter(|c| !c.name.is_empty())
        .map(|c| c.name.clone())
        .collect();
    let mut read = segments(store, key, &names).map_err(refused)?.into_iter();
    let mut got = Vec::with_capacity(missing.len());
    for c in missing {
        let bytes = if !c.name.is_empty() {
            read.next().unwrap_or_default()
        } else if c.len == 0 {
            Vec::new()
        } else {
            match store.get_range(key, c.start as u64..c.start.saturating_add(c.len) as u64)? {
                Some(h) if h.tag == tag => h.bytes,
                _ => return Ok(false),
            }
        };
        got.push((c.index, bytes));
    }
    state.supply(got).map_err(refused)?;
    Ok(true)
}

/// Where a state's segment is: beside it (`.wharf/apt/state`, `segments/<sha256>` →
/// `.wharf/apt/segments/<sha256>`).
fn segment_key(state_key: &str, name: &str) -> String {
    match state_key.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{name}"),
        None => name.to_owned(),
    }
}

/// A state's segments, each read whole. From a directory, one after another straight into a buffer of
/// its size (the page cache answers); from a remote store, eight requests in flight, a few segments at a
/// time. A segment is written before any state that names it and removed only after its grace period, so
/// a missing one is a damaged store.
fn segments(store: &dyn Store, state_key: &str, names: &[String]) -> Result<Vec<Vec<u8>>, String> {
    let missing = |name: &str| format!("its segment `{name}` is missing");
    if store.reads_are_local() {
        return names
            .iter()
            .map(|name| {
                let mut out = Vec::new();
                match store.append_to(&segment_key(state_key, name), &mut out) {
                    Ok(true) => Ok(out),
                    Ok(false) => Err(missing(name)),
                    Err(e) => Err(e.to_string()),
                }
            })
            .collect();
    }
    let threads = 8;
    let mut out = Vec::with_capacity(names.len());
    for batch in names.chunks(2 * threads) {
        let read = map_in_order(batch, threads, |n| store.get(&segment_key(state_key, n)));
        for (name, bytes) in batch.iter().zip(read) {
            out.push(bytes.map_err(|e| e.to_string())?.ok_or_else(|| missing(name))?);
        }
    }
    Ok(out)
}

impl<R> Peeked<R> {
    /// Every published record, in every group.
    pub(crate) fn records(&self) -> impl Iterator<Item = &Stored<R>> {
        self.state.groups.values().flatten()
    }
}

/// Reads the rest of a peeked state if only its keys were, so that its records (and the copies of them
/// inspection handed out) can be opened. `None` when the state has been replaced since: the transaction
/// then reads the new one, and those copies read their files instead.
pub(crate) fn load_peeked<R: Record>(
    p: Peeked<R>,
    store: &dyn Store,
) -> Result<Option<Peeked<R>>, PublishError> {
    let missing = p.state.missing(None);
    Ok(load(store, &p.key, &p.tag, &p.state, missing)?.then_some(p))
}

/// [`load_peeked`] of the segments holding `records` alone (records of the peeked state, handed out by
/// inspection).
pub(crate) fn load_peeked_records<R: Record>(
    p: Peeked<R>,
    store: &dyn Store,
    records: &[&Stored<R>],
) -> Result<Option<Peeked<R>>, PublishError> {
    let missing = p.state.missing(Some(records));
    Ok(load(store, &p.key, &p.tag, &p.state, missing)?.then_some(p))
}

fn parse_state<R: Record>(store: &dyn Store, key: &str, bytes: Vec<u8>) -> Result<Manifest<R>, PublishError> {
    Manifest::decode(bytes, &|names| segments(store, key, names)).map_err(|why| PublishError::State {
        store: store.describe(),
        key: key.into(),
        why,
    })
}

impl<'a, R: Record> Txn<'a, R> {
    /// Takes the lock and reads the state. `fingerprint` identifies the signing key; a repository signed
    /// with another key is refused (clients trust only that one).
    pub(crate) fn begin(
        store: &'a dyn Store,
        kind: &'static str,
        state_key: &'static str,
        fingerprint: String,
        options: &'a TxnOptions,
    ) -> Result<Self, PublishError> {
        Self::begin_with(store, kind, state_key, fingerprint, options, None)
    }

    /// [`Txn::begin`], reusing `peeked` when the state is still the version it read.
    pub(crate) fn begin_with(
        store: &'a dyn Store,
        kind: &'static str,
        state_key: &'static str,
        fingerprint: String,
        options: &'a TxnOptions,
        peeked: Option<Peeked<R>>,
    ) -> Result<Self, PublishError> {
        let start = Instant::now();
        // A dry run decides from the state as it is and writes nothing, the lock object included (a
        // store that does not exist yet stays that way).
        let guard: Box<dyn LockGuard> = if options.dry_run {
            Box::new(Unlocked)
        } else {
            store.lock(LOCK_KEY, options.lock_wait)?
        };
        // The peeked state is current if its key still has its version and, when it was the first
        // format's, no current-format state has appeared since.
        let current = match peeked {
            Some(p) => {
                let same = store
                    .head(&p.key)?
                    .and_then(|m| m.tag)
                    .is_some_and(|tag| tag == p.tag);
                let superseded = p.key != state_key && store.head(state_key)?.is_some();
                (same && !superseded).then_some(p)
            }
            None => None,
        };
        let (state, key, tag) = match current {
            Some(p) => (p.state, Some(p.key), Some(p.tag)),
            None => match read_state(store, state_key)? {
                None => (Manifest::empty(), None, None),
                Some((key, t)) => (parse_state(store, &key, t.bytes)?, Some(key), Some(t.tag)),
            },
        };
        let legacy = key.is_some_and(|k| k != state_key);
        // The current-format state is created (not replaced) when the first format's was read.
        let tag = if legacy { None } else { tag };
        let pending = match store.get(&journal_key(state_key))? {
            None => BTreeSet::new(),
            Some(bytes) => serde_json::from_slice(&bytes).map_err(|e| PublishError::State {
                store: store.describe(),
                key: journal_key(state_key),
                why: e.to_string(),
            })?,
        };
        if let Some(existing) = &state.key_fingerprint
            // The repository keeps a key its clients trust: the keys it was signed with (several during
            // a rotation, space-separated) and the keys given share one. A usign fingerprint recorded
            // unpadded (before wharf followed usign's `%016"PRIx64`) is the same key.
            && !existing.split_whitespace().any(|e| {
                fingerprint
                    .split_whitespace()
                    .any(|g| wharf_sign::usign::same_fingerprint(e, g))
            })
            // A dry run signs nothing that is kept: any key will do to make its decisions.
            && !options.dry_run
        {
            return Err(PublishError::KeyMismatch {
                store: store.describe(),
                existing: existing.clone(),
                given: fingerprint,
            });
        }
        Ok(Self {
            store,
            guard,
            kind,
            state_key,
            tag,
            legacy,
            pending,
            state,
            fingerprint,
            options,
            ready: (Instant::now(), start.elapsed()),
            written: None,
        })
    }

    /// The repository's description for its indexes: `given` when it was configured explicitly or none is
    /// recorded yet, else the recorded one — so that projects sharing a store do not rename it by turns.
    /// Recorded with the state.
    pub(crate) fn description(&mut self, given: &str, explicit: bool) -> String {
        let d = match &self.state.description {
            Some(recorded) if !explicit => recorded.clone(),
            _ => given.to_owned(),
        };
        self.state.description = Some(d.clone());
        d
    }

    /// The store this transaction writes.
    pub(crate) fn store(&self) -> &'a dyn Store {
        self.store
    }

    /// Reads the rest of the state if only its keys were (before anything needs a record's JSON or
    /// texts). The state is read under the lock, so it cannot have been replaced since unless a writer
    /// ignored the lock: then this publish stops.
    pub(crate) fn load(&self) -> Result<(), PublishError> {
        self.load_missing(self.state.missing(None))
    }

    /// Reads the segments of the state holding `records` (any not read yet).
    pub(crate) fn load_records(&self, records: &[&Stored<R>]) -> Result<(), PublishError> {
        self.load_missing(self.state.missing(Some(records)))
    }

    fn load_missing(&self, missing: Vec<Missing>) -> Result<(), PublishError> {
        let tag = self.tag.clone().unwrap_or_default();
        if load(self.store, self.state_key, &tag, &self.state, missing)? {
            Ok(())
        } else {
            Err(PublishError::Store(wharf_store::StoreError::LockLost {
                store: self.store.describe(),
                why: format!("`{}` was changed by another publisher", self.state_key),
            }))
        }
    }

    /// Whether a crashed publish left `group`'s indexes pending: its published documents may then be
    /// older than its state.
    pub(crate) fn is_pending(&self, group: &str) -> bool {
        self.pending.contains(group)
    }

    /// The groups whose indexes this publish must write: those it changed, and those a crashed publish
    /// left pending. With `whole`, reads the rest of the state if there are any (their indexes are its
    /// texts); a kind that splices its indexes from the published ones reads what it needs itself.
    pub(crate) fn groups_to_rewrite(
        &mut self,
        touched: &BTreeSet<String>,
        whole: bool,
    ) -> Result<BTreeSet<String>, PublishError> {
        let mut all = touched.clone();
        all.extend(self.pending.iter().cloned());
        // Signed by other keys than last time (a rotation adds or retires one): every index is signed
        // again, so each carries exactly the current keys' signatures.
        if self.state.key_fingerprint.is_some()
            && self.state.key_fingerprint.as_deref() != Some(self.fingerprint.as_str())
        {
            all.extend(self.state.groups.keys().cloned());
        }
        if whole && !all.is_empty() {
            self.load()?;
        }
        Ok(all)
    }

    /// Applies the retention setting to the `touched` groups (every group when pruning), adds the groups
    /// it changed to `touched`, and returns what it removed.
    pub(crate) fn apply_retention(&mut self, touched: &mut BTreeSet<String>) -> Vec<(String, Stored<R>)> {
        let Some(keep) = self.options.keep else {
            return Vec::new();
        };
        let groups: Vec<String> = if self.options.prune {
            self.state.groups.keys().cloned().collect()
        } else {
            touched.iter().cloned().collect()
        };
        let mut removed = Vec::new();
        for g in groups {
            for r in self.state.retain_newest(&g, keep) {
                removed.push((g.clone(), r));
            }
        }
        touched.extend(removed.iter().map(|(g, _)| g.clone()));
        let now = unix_now();
        for (g, r) in &removed {
            for key in with_companions::<R>(r.object_key(g)) {
                self.state.garbage.entry(key).or_insert(now);
            }
        }
        removed
    }

    fn write_state(&mut self) -> Result<(), PublishError> {
        self.guard.check()?;
        self.state.key_fingerprint = Some(self.fingerprint.clone());
        let refused = |why| PublishError::State {
            store: self.store.describe(),
            key: self.state_key.into(),
            why,
        };
        // The segments first (create-only: named by their bytes), then the state naming them; those it
        // no longer names become garbage, and those it names again are not.
        let (cut, fresh) = match self.written.take() {
            Some(cut) => (cut, false),
            None => {
                let plan = self.state.plan_cut();
                self.load_missing(plan.missing())?;
                // Each batch of new segments written as it is cut, eight at a time (a round trip
                // each on S3).
                let (store, state_key) = (self.store, self.state_key);
                let mut failed = None;
                let cut = plan.cut(crate::state::WRITE_BATCH, &mut |batch| {
                    let written = map_in_order(&batch, batch.len().min(8), |(name, bytes)| {
                        store.put(&segment_key(state_key, name), bytes, PutMode::Create)
                    });
                    match written.into_iter().find_map(Result::err) {
                        Some(e) => {
                            let why = e.to_string();
                            failed = Some(e);
                            Err(why)
                        }
                        None => Ok(()),
                    }
                });
                let cut = match (cut, failed) {
                    (_, Some(e)) => return Err(e.into()),
                    (cut, None) => cut.map_err(refused)?,
                };
                failpoint(self.kind, "segments");
                (cut, true)
            }
        };
        let now = unix_now();
        let named: BTreeSet<&str> = cut.names().collect();
        // A publish that crashed (its journal is here) may have written segments no state names: every
        // segment not named now is garbage, so none is kept for ever.
        if fresh && !self.pending.is_empty() {
            let base = segment_key(self.state_key, "");
            for o in self.store.list(&format!("{base}segments/"))? {
                if !o.key.strip_prefix(&base).is_some_and(|n| named.contains(n)) {
                    self.state.garbage.entry(o.key).or_insert(now);
                }
            }
        }
        for old in std::mem::take(&mut self.state.segments) {
            if !named.contains(old.as_str()) {
                self.state
                    .garbage
                    .entry(segment_key(self.state_key, &old))
                    .or_insert(now);
            }
        }
        self.state.segments = named.iter().map(|n| (*n).to_owned()).collect();
        for name in &self.state.segments {
            self.state.garbage.remove(&segment_key(self.state_key, name));
        }
        let bytes = self.state.encode(&cut).map_err(refused)?;
        match self.store.put_if(self.state_key, &bytes, self.tag.as_deref())? {
            Some(tag) => {
                self.tag = Some(tag);
                self.written = Some(cut);
                Ok(())
            }
            None => Err(PublishError::Store(wharf_store::StoreError::LockLost {
                store: self.store.describe(),
                why: format!("`{}` was changed by another publisher", self.state_key),
            })),
        }
    }

    /// Writes `plan` in the safe order and records it in the state; returns what garbage was collected.
    /// With `dry_run`, writes nothing and returns what would have been deleted.
    pub(crate) fn commit(mut self, plan: Plan) -> Result<Collected, PublishError> {
        let (store, kind) = (self.store, self.kind);
        let mut timings = Timings {
            lock_ms: millis(self.ready.1),
            index_ms: millis(self.ready.0.elapsed()),
            write_ms: 0.0,
        };
        let writing = Instant::now();
        failpoint(kind, "planned");
        // The state's bookkeeping first (in memory): index blobs no longer referenced become garbage.
        let now = unix_now();
        for g in &plan.groups {
            let new: BTreeSet<String> = g.blobs.iter().map(|(k, _)| k.clone()).collect();
            let old = self
                .state
                .blobs
                .insert(g.group.clone(), new.clone())
                .unwrap_or_default();
            for k in old.difference(&new) {
                self.state.garbage.entry(k.clone()).or_insert(now);
            }
        }
        self.state.blobs.retain(|_, v| !v.is_empty());
        self.state.generation += 1;
        let (collectable, waiting) = self.collectable(now);
        // Nothing to add, regenerate or delete in a repository that already exists with this key: the
        // store stays as it is (no state rewrite, no new generation).
        let nothing = plan.uploads.is_empty()
            && plan.groups.is_empty()
            && collectable.is_empty()
            && self.pending.is_empty()
            && self.tag.is_some()
            && !self.legacy
            && !self.state.upgraded
            && self.state.key_fingerprint.as_deref() == Some(self.fingerprint.as_str());
        if self.options.dry_run {
            let planned = if nothing {
                Vec::new()
            } else {
                let cutting = self.state.plan_cut();
                self.load_missing(cutting.missing())?;
                let mut segments = Vec::new();
                let _ = cutting.cut(crate::state::WRITE_BATCH, &mut |batch| {
                    segments.extend(batch.into_iter().map(|(n, _)| segment_key(self.state_key, &n)));
                    Ok(())
                });
                let g = &plan.groups;
                plan.uploads
                    .iter()
                    .map(|(k, _)| k)
                    .chain(g.iter().flat_map(|g| &g.blobs).map(|(k, _)| k))
                    .chain(g.iter().flat_map(|g| &g.fixed).map(|(k, _)| k))
                    .chain(plan.shared.iter().map(|(k, _)| k))
                    .chain(&segments)
                    .chain(std::iter::once(&self.state_key.to_owned()))
                    .chain(g.iter().flat_map(|g| &g.pointers).map(|(k, _)| k))
                    .cloned()
                    .collect()
            };
            return Ok(Collected {
                deleted: collectable,
                waiting: waiting.len(),
                unchanged: nothing,
                timings,
                planned,
            });
        }
        if nothing {
            return Ok(Collected {
                deleted: Vec::new(),
                waiting: waiting.len(),
                unchanged: true,
                timings,
                planned: Vec::new(),
            });
        }
        // 1. Package files (in parallel where the store can).
        let mut files = Vec::new();
        for (key, source) in &plan.uploads {
            match source {
                Source::File(p) => files.push((key.clone(), p.clone())),
                Source::Bytes(b) => drop(store.put(key, b, PutMode::Overwrite)?),
                Source::Stored(from) => store.copy_in(from, key)?,
            }
        }
        store.put_files(&files)?;
        failpoint(kind, "packages");
        // 2. Content-addressed index blobs.
        for g in &plan.groups {
            for (key, body) in &g.blobs {
                write_body(store, key, body, PutMode::Create)?;
            }
        }
        failpoint(kind, "blobs");
        // 3. The journal: these groups are about to switch. Written before anything a client reads under a
        // fixed name, so that a publish killed from here on leaves a journal, and the next publish (even
        // one that changes nothing) writes those groups' files again from the state it finds.
        let journal = journal_key(self.state_key);
        let mut pending = self.pending.clone();
        pending.extend(plan.groups.iter().map(|g| g.group.clone()));
        self.guard.check()?;
        let bytes = serde_json::to_vec(&pending).map_err(|e| PublishError::State {
            store: store.describe(),
            key: journal.clone(),
            why: e.to_string(),
        })?;
        store.put(&journal, &bytes, PutMode::Overwrite)?;
        failpoint(kind, "journal");
        // 4. Fixed-name files (apt's plain `Packages`, keys, `.repo` files), then the state.
        for (key, bytes) in &plan.shared {
            store.put(key, bytes, PutMode::Overwrite)?;
        }
        for (key, body) in plan.groups.iter().flat_map(|g| &g.fixed) {
            write_body(store, key, body, PutMode::Overwrite)?;
        }
        failpoint(kind, "fixed");
        self.guard.check()?;
        self.write_state()?;
        if self.legacy {
            store.delete(&legacy_key(self.state_key))?;
            self.legacy = false;
        }
        failpoint(kind, "state");
        // 5. Pointers, group by group.
        self.guard.check()?;
        for g in &plan.groups {
            for (key, bytes) in &g.pointers {
                store.put(key, bytes, PutMode::Overwrite)?;
            }
        }
        failpoint(kind, "pointers");
        // 6. Garbage past its grace period that nothing references again (a segment the state just
        // written names again stays); then the state without it.
        let named: BTreeSet<String> = self
            .state
            .segments
            .iter()
            .map(|n| segment_key(self.state_key, n))
            .collect();
        let collectable: Vec<String> = collectable.into_iter().filter(|k| !named.contains(k)).collect();
        for key in &collectable {
            store.delete(key)?;
        }
        failpoint(kind, "gc");
        if !collectable.is_empty() {
            self.state.garbage = waiting.clone();
            self.write_state()?;
        }
        // 7. Every pointer is written: the journal goes.
        store.delete(&journal)?;
        timings.write_ms = millis(writing.elapsed());
        Ok(Collected {
            deleted: collectable,
            waiting: waiting.len(),
            unchanged: false,
            timings,
            planned: Vec::new(),
        })
    }

    /// Garbage whose grace period has passed and that the state does not reference again, and the rest.
    fn collectable(&self, now: u64) -> (Vec<String>, BTreeMap<String, u64>) {
        if self.state.garbage.is_empty() {
            return (Vec::new(), BTreeMap::new());
        }
        let referenced = self.state.referenced();
        let grace = self.options.grace.as_secs();
        let mut due = Vec::new();
        let mut waiting = BTreeMap::new();
        for (key, since) in &self.state.garbage {
            if referenced.contains(key) {
                continue;
            }
            if now.saturating_sub(*since) >= grace {
                due.push(key.clone());
            } else {
                waiting.insert(key.clone(), *since);
            }
        }
        (due, waiting)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct R(String, String);
    impl Record for R {
        fn key_fields(&self) -> KeyFields {
            KeyFields {
                file: format!("{}-{}", self.0, self.1),
                sha256: hex::encode(<sha2::Sha256 as sha2::Digest>::digest(format!(
                    "{}-{}",
                    self.0, self.1
                ))),
                name: self.0.clone(),
                arch: "all".into(),
                version: self.1.clone(),
                extra: String::new(),
            }
        }
        fn texts(&self) -> Vec<String> {
            vec![format!("Package: {}\nVersion: {}\n", self.0, self.1)]
        }
        fn object_key(g: &str, k: &Key) -> String {
            format!("{g}/{}", k.file)
        }
        fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
            wharf_core::apkver::compare(a.version, b.version)
        }
    }

    fn manifest(vs: &[&str]) -> Manifest<R> {
        let mut m = Manifest::<R>::empty();
        m.groups.insert(
            "x86_64".into(),
            vs.iter()
                .map(|v| R("a".into(), (*v).into()))
                .chain([R("b".into(), "1".into())])
                .map(|r| Stored::new(r).unwrap())
                .collect(),
        );
        m
    }

    #[test]
    fn retention_keeps_the_newest_by_family_order() {
        let mut m = manifest(&["1.0_rc1", "1.0", "1.0-r1", "0.9", "1.1_alpha"]);
        let removed: Vec<String> = m
            .retain_newest("x86_64", 3)
            .iter()
            .map(|r| r.key().version.to_owned())
            .collect();
        assert_eq!(removed, ["1.0_rc1", "0.9"]);
        let kept: Vec<&str> = m.groups["x86_64"].iter().map(|r| r.key().version).collect();
        assert_eq!(kept, ["1.0", "1.0-r1", "1.1_alpha", "1"]);
    }

    /// A state stored as `encode` and `cut` make it: the object, and its segments by name.
    fn stored(m: &Manifest<R>) -> (Vec<u8>, BTreeMap<String, Vec<u8>>, usize) {
        let (cut, segments) = m.plan_cut().cut_all().unwrap();
        let new = segments.len();
        (m.encode(&cut).unwrap(), segments.into_iter().collect(), new)
    }

    fn read(bytes: &[u8], segments: &BTreeMap<String, Vec<u8>>) -> Result<Manifest<R>, String> {
        Manifest::<R>::decode(bytes.to_vec(), &|names| {
            names
                .iter()
                .map(|n| segments.get(n).cloned().ok_or_else(|| "missing".to_owned()))
                .collect()
        })
    }

    #[test]
    fn a_stored_state_reads_back_part_for_part_and_refuses_damage() {
        let mut m = manifest(&["1.0", "2.0-é"]);
        m.generation = 7;
        m.garbage.insert("old".into(), 5);
        let (bytes, segments, _) = stored(&m);
        assert_eq!(segments.len(), 1);
        let back = read(&bytes, &segments).unwrap();
        assert_eq!(back.generation, 7);
        assert_eq!(back.garbage["old"], 5);
        let records = &back.groups["x86_64"];
        assert_eq!(records.len(), 3);
        assert_eq!(records[1].key().version, "2.0-é");
        assert_eq!(records[1].text(0).unwrap(), "Package: a\nVersion: 2.0-é\n");
        assert_eq!(records[1].text(1).unwrap(), "");
        assert_eq!(*records[1].record().unwrap(), R("a".into(), "2.0-é".into()));
        let (again, _, new) = stored(&back);
        assert_eq!(again, bytes, "re-encoding copies parts as they are");
        assert_eq!(new, 0, "an unchanged segment is not written again");
        let json = crate::state::to_json(&bytes, &|n| segments.get(n).cloned()).unwrap();
        assert_eq!(json["groups"]["x86_64"][2], serde_json::json!(["b", "1"]));
        assert_eq!(json["format"], 4);
        // Any flipped byte past the header or in a segment, any truncation, a missing segment: refused.
        for at in [bytes.len() - 1, bytes.len() - 40] {
            let mut bad = bytes.clone();
            bad[at] ^= 1;
            assert!(read(&bad, &segments).is_err());
        }
        let (name, data) = segments.iter().next().unwrap();
        let in_data = data.windows(10).position(|w| w == b"Version: 2").unwrap();
        let mut bad = segments.clone();
        bad.get_mut(name).unwrap()[in_data] ^= 1;
        assert!(read(&bytes, &bad).is_err());
        assert!(read(&bytes, &BTreeMap::new()).is_err());
        assert!(read(&bytes[..bytes.len() - 3], &segments).is_err());
        let mut newer = bytes.clone();
        newer[12] = b'5';
        assert!(read(&newer, &segments).unwrap_err().contains("state format 5"));
        assert!(bytes.starts_with(b"wharf-state 4\n{"));
        // Format 3 — the data section inside, after the header — is read as it was written.
        let (first, at) = crate::state::tests_support::split_header(&bytes);
        let mut header: serde_json::Value = serde_json::from_slice(first).unwrap();
        header.as_object_mut().unwrap().remove("segments");
        header["format"] = 3.into();
        let mut three = b"wharf-state 3\n".to_vec();
        three.extend(serde_json::to_vec(&header).unwrap());
        three.push(b'\n');
        three.extend(data);
        three.extend(&bytes[at..]);
        let back = read(&three, &BTreeMap::new()).unwrap();
        assert_eq!(
            *back.groups["x86_64"][1].record().unwrap(),
            R("a".into(), "2.0-é".into())
        );
        // The first format (one JSON document) is read and gets its texts rendered.
        let legacy = br#"{"format":1,"generation":3,"key_fingerprint":null,"groups":{"x":[["c","0.1"]]}}"#;
        let m = read(legacy, &BTreeMap::new()).unwrap();
        assert_eq!(m.groups["x"][0].text(0).unwrap(), "Package: c\nVersion: 0.1\n");
        assert_eq!(m.generation, 3);
    }

    /// A large state is many segments; one record more changes one or two of them, whatever the size.
    #[test]
    fn one_record_more_writes_one_or_two_segments() {
        let names: Vec<String> = (0..20_000).map(|i| format!("pkg-{i:05}")).collect();
        let mut m = Manifest::<R>::empty();
        let all = |extra: Option<&str>| -> Vec<Stored<R>> {
            let mut v: Vec<&str> = names.iter().map(String::as_str).chain(extra).collect();
            v.sort_unstable();
            v.iter()
                .map(|n| Stored::new(R((*n).into(), "1.0".into())).unwrap())
                .collect()
        };
        m.groups.insert("g".into(), all(None));
        let (bytes, segments, _) = stored(&m);
        assert!(segments.len() > 4, "{} segments", segments.len());
        let mut back = read(&bytes, &segments).unwrap();
        let before = back.segments.len();
        assert_eq!(before, segments.len());
        back.groups.insert("g".into(), all(Some("pkg-10000a")));
        let (_, new) = back.plan_cut().cut_all().unwrap();
        assert!((1..=2).contains(&new.len()), "{} new segments", new.len());
        let written: usize = new.iter().map(|(_, b)| b.len()).sum();
        assert!(
            written <= 2 * super::super::state::SEGMENT_MAX_FOR_TESTS,
            "{written} bytes written"
        );
    }

    /// A first publish of a large state: its new segments are handed out to be written a batch at a time,
    /// never all held at once, and are the segments a cut made all at once.
    #[test]
    fn new_segments_are_written_a_batch_at_a_time() {
        let mut m = Manifest::<R>::empty();
        let records = (0..20_000)
            .map(|i| Stored::new(R(format!("pkg-{i:05}"), "1.0".into())).unwrap())
            .collect();
        m.groups.insert("g".into(), records);
        let (whole, all) = m.plan_cut().cut_all().unwrap();
        let batch = 256 << 10;
        let mut batches: Vec<Vec<crate::state::NewSegment>> = Vec::new();
        let cut = m
            .plan_cut()
            .cut(batch, &mut |b| {
                batches.push(b);
                Ok(())
            })
            .unwrap();
        assert!(batches.len() > 2, "{} batches", batches.len());
        for (n, b) in batches.iter().enumerate() {
            let len: usize = b.iter().map(|(_, bytes)| bytes.len()).sum();
            let max = batch + super::super::state::SEGMENT_MAX_FOR_TESTS;
            assert!(
                len < max && (len >= batch || n + 1 == batches.len()),
                "batch {n}: {len} bytes"
            );
        }
        assert_eq!(batches.concat(), all);
        assert_eq!(m.encode(&cut).unwrap(), m.encode(&whole).unwrap());
        // A failed write stops the cut with its error.
        let failed = m.plan_cut().cut(batch, &mut |_| Err("the store refused".into()));
        assert_eq!(failed.err().as_deref(), Some("the store refused"));
    }

    #[test]
    fn failpoint_names_are_kind_and_step() {
        // Not set: nothing happens.
        failpoint("apt", "state");
        assert_eq!(STEPS.len(), 8);
    }
}
