//! The input cache: what wharf learnt reading a package file, kept on the local machine so that handing
//! it the same file again costs a `stat`, not a read.
//!
//! Each entry is a file's identity on disk when it was read — device, inode, size, mtime and ctime, to
//! the nanosecond — and its SHA-256. A publish given a file whose identity still matches, and whose
//! checksum the repository's state already holds, takes the package's metadata from the state (it is
//! what inspecting those exact bytes produced) and never opens the file. git's index and ccache's direct
//! mode work this way; createrepo_c `--update` and `apt-ftparchive --db` trust size and mtime alone.
//! ctime cannot be set by a user and changes on every write, rename or chmod, so an edited file misses.
//!
//! Racy files: a file written again within the clock's granularity after being read could keep its
//! identity, so an entry is only recorded when the file's ctime is more than [`RACY_NS`] older than the
//! moment the read began, and the file was unchanged across the read. A package built a moment ago is
//! read again on its next publish and cached then.
//!
//! Where: `$WHARF_CACHE_DIR/inputs-v1`, else `$XDG_CACHE_HOME/wharf/…`, else `~/.cache/wharf/…`;
//! `WHARF_CACHE_DIR=` (empty) turns it off. The file is a header and fixed-size records sorted by
//! (device, inode), so a publish finds, by binary search on the file, the range of records between the
//! smallest and largest identity of its inputs (files of one directory have neighbouring inodes), reads
//! that range alone and looks files up in it, with no parsing whatever the file's size (at most
//! [`MAX_ENTRIES`], the least recently read dropped first); only a publish that learnt something reads
//! the whole file, to merge into it. It is only ever a
//! shortcut: a missing, unreadable or foreign file counts as empty, and it is replaced whole through a
//! temporary file and a rename, so concurrent publishers at worst lose each other's new entries.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Files changed less than this long before a read are not cached (see the module doc).
pub const RACY_NS: i64 = 2_000_000_000;
/// At most this many entries are kept (8 MiB); the ones read longest ago go first.
pub const MAX_ENTRIES: usize = 100_000;
const FILE_NAME: &str = "inputs-v1";
const MAGIC: &[u8; 16] = b"wharf inputs v1\n";
/// dev, ino, size, mtime, ctime, read time (8 bytes each, big-endian), SHA-256 (32 bytes).
const RECORD: usize = 80;

/// A file's identity on disk: any write, rename, chmod or replacement changes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Identity {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i64,
    ctime_ns: i64,
}

impl Identity {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        let ns = |s: i64, n: i64| s.saturating_mul(1_000_000_000).saturating_add(n);
        Self {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// The sort key: (device, inode), big-endian, so byte order is numeric order.
    fn key(&self) -> [u8; 16] {
        let mut k = [0; 16];
        k[..8].copy_from_slice(&self.dev.to_be_bytes());
        k[8..].copy_from_slice(&self.ino.to_be_bytes());
        k
    }
}

/// What was learnt reading one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Entry {
    id: Identity,
    /// When the read began (Unix nanoseconds).
    read_ns: i64,
    sha256: [u8; 32],
}

impl Entry {
    /// An entry for a file read from `read_ns` on, if it is safe to trust later: changed long enough
    /// before the read, and the same file (`after`) once read. `sha256` is hex.
    pub(crate) fn if_settled(before: Identity, after: Identity, read_ns: i64, sha256: &str) -> Option<Self> {
        let mut digest = [0; 32];
        wharf_core::digest::from_hex(sha256, &mut digest).then_some(())?;
        (before == after && before.ctime_ns.saturating_add(RACY_NS) < read_ns).then_some(Self {
            id: before,
            read_ns,
            sha256: digest,
        })
    }

    fn encode(&self) -> [u8; RECORD] {
        let mut r = [0; RECORD];
        let i = &self.id;
        r[..16].copy_from_slice(&i.key());
        r[16..24].copy_from_slice(&i.size.to_be_bytes());
        r[24..32].copy_from_slice(&i.mtime_ns.to_be_bytes());
        r[32..40].copy_from_slice(&i.ctime_ns.to_be_bytes());
        r[40..48].copy_from_slice(&self.read_ns.to_be_bytes());
        r[48..].copy_from_slice(&self.sha256);
        r
    }

    fn decode(r: &[u8]) -> Self {
        let u = |a: usize| u64::from_be_bytes(r[a..a + 8].try_into().unwrap_or_default());
        let i = |a: usize| i64::from_be_bytes(r[a..a + 8].try_into().unwrap_or_default());
        let mut sha256 = [0; 32];
        sha256.copy_from_slice(&r[48..RECORD]);
        Self {
            id: Identity {
                dev: u(0),
                ino: u(8),
                size: u(16),
                mtime_ns: i(24),
                ctime_ns: i(32),
            },
            read_ns: i(40),
            sha256,
        }
    }
}

/// The current time in Unix nanoseconds.
pub(crate) fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Records read from the cache file: sorted by key, `RECORD` bytes each.
#[derive(Debug, Default)]
struct Records {
    bytes: Vec<u8>,
    /// All of the file's records, not only a range of them ([`InputCache::narrow_to`]).
    whole: bool,
    /// The range of keys read, when not whole.
    keys: ([u8; 16], [u8; 16]),
}

impl Records {
    /// Sorted records, or nothing.
    fn checked(bytes: Vec<u8>, whole: bool) -> Option<Self> {
        let sorted = bytes.len().is_multiple_of(RECORD)
            && bytes
                .chunks_exact(RECORD)
                .zip(bytes.chunks_exact(RECORD).skip(1))
                .all(|(a, b)| a[..16] < b[..16]);
        sorted.then_some(Self {
            bytes,
            whole,
            keys: ([0; 16], [0; 16]),
        })
    }

    /// Every record of `file` (none when it is missing, unreadable or foreign).
    fn whole(file: Option<&Path>) -> Self {
        file.and_then(|f| std::fs::read(f).ok())
            .and_then(|bytes| Self::checked(bytes.strip_prefix(MAGIC.as_slice())?.to_vec(), true))
            .unwrap_or(Self {
                bytes: Vec::new(),
                whole: true,
                keys: ([0; 16], [0; 16]),
            })
    }

    /// The records of `file` whose keys lie in `lo..=hi`, found by binary search on the file itself:
    /// a publish reads the entries around its inputs, not a cache of every file ever published.
    fn range(file: &Path, lo: [u8; 16], hi: [u8; 16]) -> Option<Self> {
        use std::os::unix::fs::FileExt;
        let f = std::fs::File::open(file).ok()?;
        let len = usize::try_from(f.metadata().ok()?.len()).ok()?;
        let body = len.checked_sub(MAGIC.len())?;
        let mut magic = [0; 16];
        f.read_exact_at(&mut magic, 0).ok()?;
        if magic != *MAGIC || body % RECORD != 0 {
            return None;
        }
        let n = body / RECORD;
        let key_at = |i: usize| -> Option<[u8; 16]> {
            let mut k = [0; 16];
            f.read_exact_at(&mut k, (MAGIC.len() + i * RECORD) as u64).ok()?;
            Some(k)
        };
        // The first record not below `bound` (with `after`: above it).
        let search = |bound: &[u8; 16], after: bool| -> Option<usize> {
            let (mut a, mut b) = (0, n);
            while a < b {
                let mid = a + (b - a) / 2;
                let k = key_at(mid)?;
                if k < *bound || (after && k == *bound) {
                    a = mid + 1;
                } else {
                    b = mid;
                }
            }
            Some(a)
        };
        let (start, end) = (search(&lo, false)?, search(&hi, true)?);
        let mut bytes = vec![0; end.saturating_sub(start) * RECORD];
        f.read_exact_at(&mut bytes, (MAGIC.len() + start * RECORD) as u64)
            .ok()?;
        let mut r = Self::checked(bytes, start == 0 && end == n)?;
        r.keys = (lo, hi);
        Some(r)
    }
}

/// The input cache (see the module doc).
#[derive(Debug, Default)]
pub struct InputCache {
    file: Option<PathBuf>,
    /// The records as read (when first needed): the whole file, or the range a publish's inputs need.
    records: std::sync::OnceLock<Records>,
    /// What this run learnt, by key.
    added: BTreeMap<[u8; 16], Entry>,
    /// Packages this run took from a state instead of reading them.
    pub(crate) skipped: usize,
}

impl InputCache {
    /// The cache at its usual place (see the module doc), or a disabled one when there is none.
    #[must_use]
    pub fn open() -> Self {
        let dir = match std::env::var_os("WHARF_CACHE_DIR") {
            Some(d) if d.is_empty() => None,
            Some(d) => Some(PathBuf::from(d)),
            None => std::env::var_os("XDG_CACHE_HOME")
                .filter(|d| !d.is_empty())
                .map(PathBuf::from)
                .or_else(|| std::env::var_os("HOME").map(|h| Path::new(&h).join(".cache")))
                .map(|d| d.join("wharf")),
        };
        Self::at(dir.map(|d| d.join(FILE_NAME)))
    }

    /// The cache in `file` (`None`: disabled, nothing is remembered). Nothing is read yet.
    #[must_use]
    pub fn at(file: Option<PathBuf>) -> Self {
        Self {
            file,
            records: std::sync::OnceLock::new(),
            added: BTreeMap::new(),
            skipped: 0,
        }
    }

    /// The records read, reading the whole file if nothing has been yet.
    fn records(&self) -> &Records {
        self.records.get_or_init(|| Records::whole(self.file.as_deref()))
    }

    /// Reads the entries whose keys lie between the smallest and largest of `ids` (files of one
    /// directory have neighbouring inodes), and those of earlier calls (another kind's files): the
    /// range read grows to cover them all.
    pub(crate) fn narrow_to(&mut self, ids: &[Identity]) {
        let (Some(file), Some(lo), Some(hi)) = (
            self.file.as_deref(),
            ids.iter().map(Identity::key).min(),
            ids.iter().map(Identity::key).max(),
        ) else {
            return;
        };
        let (lo, hi) = match self.records.get() {
            Some(r) if r.whole || (r.keys.0 <= lo && hi <= r.keys.1) => return,
            Some(r) => (r.keys.0.min(lo), r.keys.1.max(hi)),
            None => (lo, hi),
        };
        let r = Records::range(file, lo, hi).unwrap_or_else(|| Records::whole(Some(file)));
        self.records = std::sync::OnceLock::from(r);
    }

    /// How many packages were known unchanged and already published, so not read.
    #[must_use]
    pub fn skipped(&self) -> usize {
        self.skipped
    }

    /// Whether the cache is on.
    pub(crate) fn enabled(&self) -> bool {
        self.file.is_some()
    }

    fn find(&self, key: &[u8; 16]) -> Option<Entry> {
        if let Some(e) = self.added.get(key) {
            return Some(*e);
        }
        let records = &self.records().bytes;
        let n = records.len() / RECORD;
        let at = |i: usize| &records[i * RECORD..(i + 1) * RECORD];
        let (mut lo, mut hi) = (0, n);
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match at(mid)[..16].cmp(key.as_slice()) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Some(Entry::decode(at(mid))),
            }
        }
        None
    }

    /// The SHA-256 recorded for the file with identity `id`, if it still has it.
    pub(crate) fn lookup(&self, id: &Identity) -> Option<[u8; 32]> {
        let e = self.find(&id.key())?;
        (e.id == *id).then_some(e.sha256)
    }

    /// Remembers what reading a file found (nothing to write if the cache already says so).
    pub(crate) fn insert(&mut self, entry: Entry) {
        let known = self
            .find(&entry.id.key())
            .is_some_and(|e| e.id == entry.id && e.sha256 == entry.sha256);
        if self.file.is_some() && !known {
            self.added.insert(entry.id.key(), entry);
        }
    }

    /// Writes the cache back if anything new was learnt (through a temporary file and a rename).
    pub fn save(&self) -> std::io::Result<()> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        if self.added.is_empty() {
            return Ok(());
        }
        // Merge the sorted old records (all of them: only a range may have been read) with the sorted new
        // entries (a new entry replaces its old one).
        let read;
        let records = match self.records() {
            r if r.whole => &r.bytes,
            _ => {
                read = Records::whole(Some(file));
                &read.bytes
            }
        };
        let mut merged: Vec<[u8; RECORD]> = Vec::with_capacity(records.len() / RECORD + self.added.len());
        let mut new = self.added.values().map(Entry::encode).peekable();
        for old in records.chunks_exact(RECORD) {
            while let Some(n) = new.next_if(|n| n[..16] < old[..16]) {
                merged.push(n);
            }
            if new.peek().is_some_and(|n| n[..16] == old[..16]) {
                continue;
            }
            let mut r = [0; RECORD];
            r.copy_from_slice(old);
            merged.push(r);
        }
        merged.extend(new);
        if merged.len() > MAX_ENTRIES {
            // Keep the most recently read, still in key order.
            let mut by_age: Vec<i64> = merged.iter().map(|r| Entry::decode(r).read_ns).collect();
            by_age.sort_unstable_by(|a, b| b.cmp(a));
            let cutoff = by_age[MAX_ENTRIES - 1];
            merged.retain(|r| Entry::decode(r).read_ns >= cutoff);
            merged.truncate(MAX_ENTRIES);
        }
        let mut out = Vec::with_capacity(MAGIC.len() + merged.len() * RECORD);
        out.extend_from_slice(MAGIC);
        for r in &merged {
            out.extend_from_slice(r);
        }
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        // Named after this process, so concurrent publishers never write the same temporary file.
        let tmp = dir.join(format!(".{FILE_NAME}.{}.tmp", std::process::id()));
        let written = std::fs::write(&tmp, &out).and_then(|()| std::fs::rename(&tmp, file));
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_core::digest::to_hex;

    /// An entry for inode `ino` of device 1, read at `read_ns`, with the checksum `sha` × 32.
    fn entry(ino: u64, read_ns: i64, sha: u8) -> Entry {
        Entry {
            id: Identity {
                dev: 1,
                ino,
                size: 10,
                mtime_ns: 5,
                ctime_ns: 5,
            },
            read_ns,
            sha256: [sha; 32],
        }
    }

    /// The inodes of the records read from the file, in order.
    fn inos_read(cache: &InputCache) -> Vec<u64> {
        cache
            .records()
            .bytes
            .chunks_exact(RECORD)
            .map(|r| Entry::decode(r).id.ino)
            .collect()
    }

    fn id_of(p: &Path) -> Identity {
        Identity::of(&std::fs::metadata(p).unwrap())
    }

    #[test]
    fn remembers_settled_files_and_forgets_changed_ones() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("cache/inputs");
        let pkg = dir.path().join("a.deb");
        std::fs::write(&pkg, b"one").unwrap();
        let id = id_of(&pkg);
        let sha = "ab".repeat(32);
        // Read just now: too fresh to trust.
        assert_eq!(Entry::if_settled(id, id, now_ns(), &sha), None);
        // Read well after its last change: cached, and found again after a save and reload.
        let later = id.ctime_ns + RACY_NS + 1;
        let mut cache = InputCache::at(Some(file.clone()));
        cache.insert(Entry::if_settled(id, id, later, &sha).unwrap());
        cache.save().unwrap();
        let cache = InputCache::at(Some(file));
        assert_eq!(cache.lookup(&id).map(|d| to_hex(&d)), Some(sha.clone()));
        // Rewritten (new ctime): a miss.
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&pkg, b"two").unwrap();
        assert_eq!(cache.lookup(&id_of(&pkg)), None);
        // Changed while being read: not cached.
        assert_eq!(Entry::if_settled(id, id_of(&pkg), later, &sha), None);
    }

    #[test]
    fn entries_merge_in_key_order_and_the_oldest_go_first() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inputs");
        let mut cache = InputCache::at(Some(file.clone()));
        for ino in [30, 10, 20] {
            cache.insert(entry(ino, 100 + i64::try_from(ino).unwrap(), 1));
        }
        cache.save().unwrap();
        let mut cache = InputCache::at(Some(file.clone()));
        cache.insert(entry(20, 200, 2)); // replaces
        cache.insert(entry(25, 200, 3)); // between
        cache.insert(entry(5, 200, 4)); // before all
        cache.save().unwrap();
        let cache = InputCache::at(Some(file.clone()));
        let inos = inos_read(&cache);
        assert_eq!(inos, [5, 10, 20, 25, 30]);
        assert_eq!(cache.lookup(&entry(20, 0, 0).id), Some([2; 32]));
        assert_eq!(cache.lookup(&entry(10, 0, 0).id), Some([1; 32]));
        assert_eq!(cache.lookup(&entry(11, 0, 0).id), None);
    }

    #[test]
    fn a_range_of_the_file_answers_as_the_whole_and_saving_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inputs");
        let entry = |ino: u64, sha: u8| entry(ino, 100, sha);
        let mut cache = InputCache::at(Some(file.clone()));
        for ino in (10..=200).step_by(10) {
            cache.insert(entry(ino, u8::try_from(ino % 251).unwrap()));
        }
        cache.save().unwrap();
        // Inputs with inodes 50..=90: only those entries are read.
        let mut cache = InputCache::at(Some(file.clone()));
        cache.narrow_to(&[entry(90, 0).id, entry(50, 0).id, entry(65, 0).id]);
        let inos = inos_read(&cache);
        assert_eq!(inos, [50, 60, 70, 80, 90]);
        assert_eq!(cache.lookup(&entry(70, 0).id), Some([70; 32]));
        assert_eq!(cache.lookup(&entry(65, 0).id), None);
        assert_eq!(cache.lookup(&entry(150, 0).id), None, "outside the range read");
        // Another kind's files, elsewhere: the range grows to cover both.
        cache.narrow_to(&[entry(150, 0).id]);
        assert_eq!(cache.records().bytes.len() / RECORD, 11);
        assert_eq!(cache.lookup(&entry(150, 0).id), Some([150; 32]));
        assert_eq!(cache.lookup(&entry(70, 0).id), Some([70; 32]));
        // Below or above every entry, and a range with nothing in it: read, empty, no error.
        for (lo, hi) in [(1, 5), (500, 600), (61, 69)] {
            let mut c = InputCache::at(Some(file.clone()));
            c.narrow_to(&[entry(lo, 0).id, entry(hi, 0).id]);
            assert!(c.records().bytes.is_empty(), "{lo}..{hi}");
        }
        // Something learnt: saved with every entry outside the range kept.
        cache.insert(entry(65, 9));
        cache.save().unwrap();
        let cache = InputCache::at(Some(file));
        assert_eq!(cache.records().bytes.len() / RECORD, 21);
        assert_eq!(cache.lookup(&entry(200, 0).id), Some([200; 32]));
        assert_eq!(cache.lookup(&entry(65, 0).id), Some([9; 32]));
    }

    #[test]
    fn a_foreign_or_disabled_cache_is_only_empty() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("inputs");
        std::fs::write(&file, b"garbage\nzz 1 2 3 4 5 6 /x\n").unwrap();
        let cache = InputCache::at(Some(file.clone()));
        assert!(cache.records().bytes.is_empty());
        let mut torn = MAGIC.to_vec();
        torn.extend_from_slice(&[7; RECORD + 3]);
        std::fs::write(&file, torn).unwrap();
        assert!(InputCache::at(Some(file)).records().bytes.is_empty());
        let mut off = InputCache::at(None);
        let id = id_of(dir.path());
        off.insert(Entry::if_settled(id, id, i64::MAX, &"00".repeat(32)).unwrap());
        assert_eq!(off.lookup(&id), None);
        off.save().unwrap();
    }
}
