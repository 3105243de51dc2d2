//! A store in a local directory.
//!
//! Writes go to a unique temporary file in the destination directory, are flushed to disk, then renamed
//! over the final name: readers (a web server, apt with `file:`) see the old file or the new one, never a
//! partial one. Create-only writes use `link(2)`, which fails when the name exists. Since no file is ever
//! written in place, a copy inside the store ([`Store::copy`]) is a hard link renamed over its name. The
//! publish lock is an OS advisory lock (`flock`) on a file under `.wharf/`, released by the kernel if
//! the holder dies.
//!
//! Many files at once ([`Store::put_files`], a publish's packages) are written to their temporary files on
//! every core, then flushed by `fsync`s issued from several threads at once (the filesystem folds them
//! into shared journal commits, and the data of the first files is already on its way while the last are
//! written), and only then renamed into place: the same guarantee as a file at a time. Not `syncfs(2)`:
//! it would also wait for every unrelated dirty page on the filesystem — a `cargo build` just before.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wharf_core::parallel::{cores, map_in_order};

use crate::{
    LockGuard, ObjectMeta, PutMode, PutOutcome, Ranged, Small, Store, StoreError, Tagged, check_key,
};

/// A directory used as a store.
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    /// The root with every symlink resolved, found once: every read compares its resolved path to it
    /// (where `openat2` is not available).
    real_root: std::sync::OnceLock<PathBuf>,
    /// The root directory, opened once (once it exists) for `openat2` beneath it.
    #[cfg(target_os = "linux")]
    root_fd: std::sync::OnceLock<std::os::fd::OwnedFd>,
    /// `openat2` was refused (a kernel before 5.6, or a seccomp filter): reads resolve paths instead.
    #[cfg(target_os = "linux")]
    no_openat2: std::sync::atomic::AtomicBool,
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

impl LocalStore {
    /// Opens a directory store. Nothing is created until the first write, so a publish refused before
    /// it writes leaves no trace.
    pub fn open(root: &Path) -> Result<Self, StoreError> {
        if root.exists() && !root.is_dir() {
            return Err(StoreError::Unavailable {
                store: root.display().to_string(),
                why: "it exists and is not a directory".into(),
            });
        }
        Ok(Self {
            root: root.to_path_buf(),
            real_root: std::sync::OnceLock::new(),
            #[cfg(target_os = "linux")]
            root_fd: std::sync::OnceLock::new(),
            #[cfg(target_os = "linux")]
            no_openat2: std::sync::atomic::AtomicBool::new(false),
        })
    }

    /// The directory.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        check_key(key)?;
        Ok(self.root.join(key))
    }

    /// The path to read `key` from, or `None` when it resolves outside the directory (a symlink leading
    /// out): a store only ever hands out what it holds (`wharf serve` relies on it).
    fn read_path(&self, key: &str) -> Result<Option<PathBuf>, StoreError> {
        let path = self.path(key)?;
        let root = match self.real_root.get() {
            Some(r) => Some(r),
            None => fs::canonicalize(&self.root)
                .ok()
                .map(|r| self.real_root.get_or_init(|| r)),
        };
        match (fs::canonicalize(&path), root) {
            (Ok(real), Some(root)) => Ok(real.starts_with(root).then_some(path)),
            // Absent: the read itself says so.
            _ => Ok(Some(path)),
        }
    }

    /// `key` opened for reading, never through a path that leaves the directory: one `openat2(2)`
    /// beneath the root (`RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS`: the kernel refuses `..` above it, an
    /// absolute symlink and a symlink leading out, in the call that opens the file), else the path
    /// resolved and compared with the root's ([`Self::read_path`]). Opened without blocking, so a FIFO
    /// never waits for a writer. `None` when absent, leading out, or not a regular file.
    fn open_read(&self, key: &str) -> Result<Option<(File, fs::Metadata)>, StoreError> {
        check_key(key)?;
        let file = match self.open_beneath(key) {
            Some(Ok(f)) => f,
            Some(Err(e)) if matches!(e.kind(), io::ErrorKind::NotFound | io::ErrorKind::NotADirectory) => {
                return Ok(None);
            }
            // EXDEV: the path leads out of the store; it holds no such object.
            Some(Err(e)) if e.raw_os_error() == Some(18) => return Ok(None),
            Some(Err(e)) => return Err(self.io(key, e)),
            None => {
                let Some(path) = self.read_path(key)? else {
                    return Ok(None);
                };
                let mut opts = fs::OpenOptions::new();
                opts.read(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::custom_flags(&mut opts, 0o4000); // O_NONBLOCK
                match opts.open(&path) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
                    Err(e) => return Err(self.io(key, e)),
                }
            }
        };
        let meta = file.metadata().map_err(|e| self.io(key, e))?;
        Ok(meta.is_file().then_some((file, meta)))
    }

    /// `openat2` beneath the root; `None` where it cannot be used (no root yet, or refused by the
    /// kernel, which is then remembered).
    #[cfg(target_os = "linux")]
    fn open_beneath(&self, key: &str) -> Option<io::Result<File>> {
        use rustix::fs::{Mode, OFlags, ResolveFlags};
        use std::sync::atomic::Ordering::Relaxed;
        if self.no_openat2.load(Relaxed) {
            return None;
        }
        let root = match self.root_fd.get() {
            Some(fd) => fd,
            None => {
                let fd = rustix::fs::open(
                    &self.root,
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
                    Mode::empty(),
                )
                .ok()?;
                self.root_fd.get_or_init(|| fd)
            }
        };
        let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK | OFlags::NOCTTY;
        match rustix::fs::openat2(
            root,
            key,
            flags,
            Mode::empty(),
            ResolveFlags::BENEATH | ResolveFlags::NO_MAGICLINKS,
        ) {
            Ok(fd) => Some(Ok(File::from(fd))),
            Err(e) if e == rustix::io::Errno::NOSYS || e == rustix::io::Errno::PERM => {
                self.no_openat2.store(true, Relaxed);
                None
            }
            Err(e) => Some(Err(e.into())),
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn open_beneath(&self, _key: &str) -> Option<io::Result<File>> {
        None
    }

    fn io(&self, key: &str, source: io::Error) -> StoreError {
        StoreError::Io {
            store: self.describe(),
            key: key.to_owned(),
            source,
        }
    }

    /// Writes via a temp file in the target directory, then renames (or links, for create-only).
    fn atomic_write(
        &self,
        key: &str,
        mode: PutMode,
        fill: impl FnOnce(&mut File) -> io::Result<()>,
    ) -> Result<PutOutcome, StoreError> {
        let dest = self.path(key)?;
        if mode == PutMode::Create && dest.exists() {
            return Ok(PutOutcome::AlreadyExists);
        }
        let dir = dest.parent().unwrap_or(&self.root);
        fs::create_dir_all(dir).map_err(|e| self.io(key, e))?;
        let tmp = self.temp_beside(&dest);
        let result = (|| {
            let mut f = File::create(&tmp)?;
            fill(&mut f)?;
            f.sync_all()?;
            // Readable by a web server running as another user.
            set_mode(&tmp)?;
            match mode {
                PutMode::Overwrite => fs::rename(&tmp, &dest).map(|()| PutOutcome::Written),
                PutMode::Create => match fs::hard_link(&tmp, &dest) {
                    Ok(()) => Ok(PutOutcome::Written),
                    Err(e) if e.kind() == io::ErrorKind::AlreadyExists => Ok(PutOutcome::AlreadyExists),
                    Err(e) => Err(e),
                },
            }
        })();
        let _ = fs::remove_file(&tmp);
        result.map_err(|e| self.io(key, e))
    }
}

/// A file written beside its destination, not yet renamed over it.
struct Staged {
    key: String,
    tmp: PathBuf,
    dest: PathBuf,
}

impl LocalStore {
    fn temp_beside(&self, dest: &Path) -> PathBuf {
        dest.parent().unwrap_or(&self.root).join(format!(
            ".wharf-tmp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ))
    }

    /// Copies `path` to a temporary file beside `key`'s destination (not flushed).
    fn stage(&self, key: &str, path: &Path) -> Result<Staged, StoreError> {
        let dest = self.path(key)?;
        if let Some(dir) = dest.parent() {
            fs::create_dir_all(dir).map_err(|e| self.io(key, e))?;
        }
        let tmp = self.temp_beside(&dest);
        let staged = Staged {
            key: key.to_owned(),
            tmp,
            dest,
        };
        let copied = (|| {
            let mut src = File::open(path)?;
            let mut f = File::create(&staged.tmp)?;
            io::copy(&mut src, &mut f)?;
            set_file_mode(&f)?;
            Ok(())
        })();
        match copied {
            Ok(()) => Ok(staged),
            Err(e) => {
                let _ = fs::remove_file(&staged.tmp);
                Err(self.io(key, e))
            }
        }
    }

    /// Flushes every staged file to disk, several at once.
    fn sync_staged(&self, staged: &[Staged]) -> Result<(), StoreError> {
        let sync = |s: &Staged| {
            File::open(&s.tmp)
                .and_then(|f| f.sync_all())
                .map_err(|e| self.io(&s.key, e))
        };
        map_in_order(staged, 8, sync).into_iter().collect()
    }
}

#[cfg(unix)]
fn set_file_mode(f: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    f.set_permissions(fs::Permissions::from_mode(0o644))
}
#[cfg(not(unix))]
fn set_file_mode(_: &File) -> io::Result<()> {
    Ok(())
}

#[cfg(unix)]
fn set_mode(p: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o644))
}
#[cfg(not(unix))]
fn set_mode(_: &Path) -> io::Result<()> {
    Ok(())
}

/// Whether two metadata are of one file (never, where that cannot be told).
fn same_file(a: &fs::Metadata, b: &fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        a.is_file() && a.dev() == b.dev() && a.ino() == b.ino()
    }
    #[cfg(not(unix))]
    {
        let _ = (a, b);
        false
    }
}

/// An object's metadata from its file's.
fn meta_of(key: String, m: &fs::Metadata) -> ObjectMeta {
    ObjectMeta {
        key,
        size: m.len(),
        modified: m.modified().ok(),
        tag: Some(tag_of(m)),
    }
}

/// A file's version: every write is a new inode (rename), so inode, mtime and size change together.
fn tag_of(m: &fs::Metadata) -> String {
    #[cfg(unix)]
    let ino = std::os::unix::fs::MetadataExt::ino(m);
    #[cfg(not(unix))]
    let ino = 0u64;
    let mtime = m
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!("{ino:x}-{mtime:x}-{:x}", m.len())
}

struct FileLock(File);
/// The kernel drops an `flock` when its holder dies, and nobody can break a live one: the holder never
/// loses it.
impl LockGuard for FileLock {
    fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }
}
impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self.0.unlock();
    }
}

impl Store for LocalStore {
    fn describe(&self) -> String {
        self.root.display().to_string()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_tagged(key)?.map(|t| t.bytes))
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self.open_read(key)?.map(|(_, m)| meta_of(key.to_owned(), &m)))
    }

    fn put(&self, key: &str, data: &[u8], mode: PutMode) -> Result<PutOutcome, StoreError> {
        self.atomic_write(key, mode, |f| f.write_all(data))
    }

    fn put_file(&self, key: &str, path: &Path, mode: PutMode) -> Result<PutOutcome, StoreError> {
        let mut src = File::open(path).map_err(|e| self.io(key, e))?;
        self.atomic_write(key, mode, |f| io::copy(&mut src, f).map(drop))
    }

    fn put_files(&self, files: &[(String, PathBuf)]) -> Result<(), StoreError> {
        // Stage on every core (creating files and directories is most of the cost), flush, rename.
        let results = map_in_order(files, cores(), |(key, path)| self.stage(key, path));
        let mut staged = Vec::with_capacity(files.len());
        let mut first_error = None;
        for r in results {
            match r {
                Ok(s) => staged.push(s),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        let result = match first_error {
            Some(e) => Err(e),
            None => self.sync_staged(&staged).and_then(|()| {
                staged
                    .iter()
                    .try_for_each(|s| fs::rename(&s.tmp, &s.dest).map_err(|e| self.io(&s.key, e)))
            }),
        };
        if result.is_err() {
            for s in &staged {
                let _ = fs::remove_file(&s.tmp);
            }
        }
        result
    }

    fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, StoreError> {
        // Tag and bytes from the same open file: a concurrent rename cannot mix two versions.
        let Some((mut f, meta)) = self.open_read(key)? else {
            return Ok(None);
        };
        // Sized from the metadata: one allocation, no copies while growing (states are megabytes).
        let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0).saturating_add(1));
        io::Read::read_to_end(&mut f, &mut bytes).map_err(|e| self.io(key, e))?;
        Ok(Some(Tagged {
            bytes,
            tag: tag_of(&meta),
        }))
    }

    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Option<Ranged>, StoreError> {
        // Tag, size and bytes from the same open file, as in `get_tagged`.
        let Some((f, meta)) = self.open_read(key)? else {
            return Ok(None);
        };
        let end = range.end.min(meta.len());
        let len = usize::try_from(end.saturating_sub(range.start)).unwrap_or(0);
        let mut bytes = vec![0; len];
        #[cfg(unix)]
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut bytes, range.start)
            .map_err(|e| self.io(key, e))?;
        #[cfg(not(unix))]
        {
            let mut f = f;
            io::Seek::seek(&mut f, io::SeekFrom::Start(range.start)).map_err(|e| self.io(key, e))?;
            io::Read::read_exact(&mut f, &mut bytes).map_err(|e| self.io(key, e))?;
        }
        Ok(Some(Ranged {
            bytes,
            tag: tag_of(&meta),
            size: meta.len(),
        }))
    }

    fn append_to(&self, key: &str, out: &mut Vec<u8>) -> Result<bool, StoreError> {
        let Some((mut f, meta)) = self.open_read(key)? else {
            return Ok(false);
        };
        out.reserve(usize::try_from(meta.len()).unwrap_or(0));
        io::Read::read_to_end(&mut f, out).map_err(|e| self.io(key, e))?;
        Ok(true)
    }

    fn get_small(&self, key: &str, max: u64, known: Option<&str>) -> Result<Option<Small>, StoreError> {
        // Metadata and bytes from the one open file: one lookup, and no mix of two versions.
        let Some((f, m)) = self.open_read(key)? else {
            return Ok(None);
        };
        let meta = meta_of(key.to_owned(), &m);
        if m.len() > max || (known.is_some() && meta.tag.as_deref() == known) {
            return Ok(Some(Small { meta, bytes: None }));
        }
        let mut bytes = vec![0; usize::try_from(m.len()).unwrap_or(0)];
        #[cfg(unix)]
        std::os::unix::fs::FileExt::read_exact_at(&f, &mut bytes, 0).map_err(|e| self.io(key, e))?;
        #[cfg(not(unix))]
        io::Read::read_exact(&mut &f, &mut bytes).map_err(|e| self.io(key, e))?;
        Ok(Some(Small {
            meta,
            bytes: Some(bytes),
        }))
    }

    fn first_read(&self) -> u64 {
        // A read costs a system call; each page read into fresh memory costs a fault.
        16 * 1024
    }

    fn reads_are_local(&self) -> bool {
        true
    }

    fn put_if(&self, key: &str, data: &[u8], expected: Option<&str>) -> Result<Option<String>, StoreError> {
        // Every writer of a directory store holds its flock, so compare-then-rename is exact.
        let now = self.head(key)?.and_then(|m| m.tag);
        if now.as_deref() != expected {
            return Ok(None);
        }
        self.put(key, data, PutMode::Overwrite)?;
        Ok(self.head(key)?.and_then(|m| m.tag))
    }

    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        // No object is ever written in place — every write is a new file renamed over its name — so a
        // copy can share the source's inode: a hard link made beside the destination and renamed over
        // it, no bytes read or written. Only when the name leads to the very file opened beneath the
        // root (nothing on the path leads out of the store), and only where the filesystem links; else
        // the bytes are copied.
        let Some((mut file, meta)) = self.open_read(from)? else {
            return Err(self.io(from, io::Error::from(io::ErrorKind::NotFound)));
        };
        let (src, dest) = (self.path(from)?, self.path(to)?);
        if fs::symlink_metadata(&src).is_ok_and(|m| same_file(&m, &meta)) {
            let dir = dest.parent().unwrap_or(&self.root);
            fs::create_dir_all(dir).map_err(|e| self.io(to, e))?;
            let tmp = self.temp_beside(&dest);
            if fs::hard_link(&src, &tmp).is_ok() {
                let renamed = fs::rename(&tmp, &dest);
                // Renaming a link over another link to the same file does nothing: the name stays.
                let _ = fs::remove_file(&tmp);
                return renamed.map_err(|e| self.io(to, e));
            }
        }
        self.atomic_write(to, PutMode::Overwrite, |f| io::copy(&mut file, f).map(drop))
            .map(drop)
    }

    fn locking(&self) -> Result<String, StoreError> {
        Ok("local directory: OS file lock (flock) and atomic rename".into())
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        let mut out = Vec::new();
        let mut stack = vec![self.root.clone()];
        while let Some(dir) = stack.pop() {
            let entries = match fs::read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
                Err(e) => return Err(self.io(prefix, e)),
            };
            for entry in entries {
                let entry = entry.map_err(|e| self.io(prefix, e))?;
                let path = entry.path();
                let rel = path
                    .strip_prefix(&self.root)
                    .unwrap_or(&path)
                    .to_string_lossy()
                    .replace('\\', "/");
                let ft = entry.file_type().map_err(|e| self.io(&rel, e))?;
                if ft.is_dir() {
                    if prefix.starts_with(&rel) || rel.starts_with(prefix) || prefix.is_empty() {
                        stack.push(path);
                    }
                } else if ft.is_file()
                    && rel.starts_with(prefix)
                    && !rel.rsplit('/').next().unwrap_or("").starts_with(".wharf-tmp-")
                {
                    let m = entry.metadata().map_err(|e| self.io(&rel, e))?;
                    out.push(meta_of(rel, &m));
                }
            }
        }
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        match fs::remove_file(self.path(key)?) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.io(key, e)),
        }
    }

    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| self.io(key, e))?;
        }
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| self.io(key, e))?;
        let start = Instant::now();
        loop {
            match file.try_lock() {
                Ok(()) => return Ok(Box::new(FileLock(file))),
                Err(fs::TryLockError::WouldBlock) => {
                    if start.elapsed() >= wait {
                        return Err(StoreError::LockTimeout {
                            store: self.describe(),
                            key: key.to_owned(),
                            waited: wait,
                        });
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(fs::TryLockError::Error(e)) => return Err(self.io(key, e)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Reads never leave the directory: a relative symlink inside is followed, one leading out (or an
    /// absolute one, where `openat2` judges) reads as absent, and a FIFO is not waited on (made with
    /// `mknodat`, on Linux).
    #[cfg(unix)]
    #[test]
    fn reads_stay_inside_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pub");
        let s = LocalStore::open(&root).unwrap();
        s.put("pool/a.deb", b"package", PutMode::Overwrite).unwrap();
        fs::write(dir.path().join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink("pool/a.deb", root.join("inside")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out")).unwrap();
        std::os::unix::fs::symlink("../secret", root.join("up")).unwrap();
        assert_eq!(s.get("inside").unwrap().as_deref(), Some(&b"package"[..]));
        for key in ["out", "up"] {
            assert_eq!(s.get(key).unwrap(), None, "{key}");
            assert!(s.head(key).unwrap().is_none(), "{key}");
            assert!(s.get_range(key, 0..3).unwrap().is_none(), "{key}");
        }
        #[cfg(target_os = "linux")]
        {
            use rustix::fs::{CWD, FileType, Mode, mknodat};
            mknodat(
                CWD,
                root.join("fifo"),
                FileType::Fifo,
                Mode::from_raw_mode(0o600),
                0,
            )
            .unwrap();
            assert_eq!(s.get("fifo").unwrap(), None);
        }
        assert!(s.head("pool").unwrap().is_none(), "a directory is no object");
    }

    /// A copy is a link to the same file (no bytes written), again over a link to it changes nothing
    /// and leaves no temporary name; the source rewritten later leaves the copy as it was; a name
    /// leading out of the store is neither linked nor read.
    #[cfg(unix)]
    #[test]
    fn copies_link_the_same_file() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("pub");
        let s = LocalStore::open(&root).unwrap();
        s.put("by-hash/abc", b"index", PutMode::Create).unwrap();
        let ino = |k: &str| fs::metadata(root.join(k)).unwrap().ino();
        for _ in 0..2 {
            s.copy("by-hash/abc", "dists/Packages").unwrap();
            assert_eq!(ino("dists/Packages"), ino("by-hash/abc"));
            let names: Vec<_> = fs::read_dir(root.join("dists"))
                .unwrap()
                .map(|e| e.unwrap().file_name())
                .collect();
            assert_eq!(names, ["Packages"], "no temporary name left");
        }
        s.put("by-hash/abc", b"other", PutMode::Overwrite).unwrap();
        assert_eq!(s.get("dists/Packages").unwrap().unwrap(), b"index");
        fs::write(dir.path().join("secret"), b"outside").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), root.join("out")).unwrap();
        assert!(s.copy("out", "leak").is_err());
        assert!(s.get("leak").unwrap().is_none());
    }

    #[test]
    fn put_get_list_delete() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(&dir.path().join("pub")).unwrap();
        assert_eq!(
            s.put("a/b/c.txt", b"one", PutMode::Overwrite).unwrap(),
            PutOutcome::Written
        );
        assert_eq!(
            s.put("a/b/c.txt", b"two", PutMode::Create).unwrap(),
            PutOutcome::AlreadyExists
        );
        assert_eq!(s.get("a/b/c.txt").unwrap().unwrap(), b"one");
        s.put("a/b/c.txt", b"three", PutMode::Overwrite).unwrap();
        assert_eq!(s.get("a/b/c.txt").unwrap().unwrap(), b"three");
        // Ranges: exact, cut at the end, and tagged like the whole object.
        let whole = s.get_tagged("a/b/c.txt").unwrap().unwrap();
        let r = s.get_range("a/b/c.txt", 1..3).unwrap().unwrap();
        assert_eq!(
            (r.bytes.as_slice(), r.size, r.tag.as_str()),
            (&b"hr"[..], 5, whole.tag.as_str())
        );
        assert_eq!(s.get_range("a/b/c.txt", 3..100).unwrap().unwrap().bytes, b"ee");
        assert!(s.get_range("a/none", 0..1).unwrap().is_none());
        s.put("a/x", b"", PutMode::Overwrite).unwrap();
        s.put("z", b"zz", PutMode::Overwrite).unwrap();
        let keys: Vec<String> = s.list("a/").unwrap().into_iter().map(|m| m.key).collect();
        assert_eq!(keys, ["a/b/c.txt", "a/x"]);
        assert_eq!(s.head("z").unwrap().unwrap().size, 2);
        s.delete("z").unwrap();
        s.delete("z").unwrap();
        assert!(s.get("z").unwrap().is_none());
        assert!(s.put("../escape", b"x", PutMode::Overwrite).is_err());
        assert!(!dir.path().join("escape").exists());
    }

    #[test]
    fn put_files_writes_all_or_leaves_no_temp() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        fs::create_dir(&src).unwrap();
        let mut files = Vec::new();
        for i in 0..20 {
            let p = src.join(format!("f{i}"));
            fs::write(&p, format!("file {i}")).unwrap();
            files.push((format!("pool/{}/f{i}", i % 3), p));
        }
        let s = LocalStore::open(&dir.path().join("pub")).unwrap();
        s.put_files(&files).unwrap();
        for (key, p) in &files {
            assert_eq!(s.get(key).unwrap().unwrap(), fs::read(p).unwrap(), "{key}");
        }
        // One source missing: the error names its key, and no temporary file is left anywhere.
        files.push(("pool/9/gone".into(), src.join("absent")));
        let err = s.put_files(&files).unwrap_err().to_string();
        assert!(err.contains("pool/9/gone"), "{err}");
        let mut stack = vec![dir.path().join("pub")];
        while let Some(d) = stack.pop() {
            for e in fs::read_dir(d).unwrap() {
                let e = e.unwrap();
                assert!(!e.file_name().to_string_lossy().starts_with(".wharf-tmp-"));
                if e.file_type().unwrap().is_dir() {
                    stack.push(e.path());
                }
            }
        }
    }

    #[test]
    fn lock_is_exclusive_and_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let s = LocalStore::open(dir.path()).unwrap();
        let g = s.lock(".wharf/lock", Duration::from_secs(1)).unwrap();
        let err = s.lock(".wharf/lock", Duration::from_millis(120)).err().unwrap();
        assert!(matches!(err, StoreError::LockTimeout { .. }), "{err}");
        drop(g);
        assert!(s.lock(".wharf/lock", Duration::from_millis(120)).is_ok());
    }
}
