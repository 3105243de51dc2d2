//! A store wrapper that counts calls by kind: what a publish cost in object reads, writes, lists and
//! deletes. `wharf publish --json` reports it, and the incremental-cost tests assert on it. The lock's own
//! traffic (tickets, renewals) goes to the backend directly and is not counted. Also [`Prefixed`], a
//! channel's tree inside a store.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::{LockGuard, ObjectMeta, PutMode, PutOutcome, Ranged, Small, Store, StoreError, Tagged};

/// Calls made through a [`Counted`] store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct StoreCalls {
    /// `get`, `get_tagged`, `get_range`, `head`.
    pub reads: u64,
    /// Bytes read by `get`, `get_tagged`, `get_range`.
    pub bytes_read: u64,
    /// Objects written (`put`, `put_if`, each file of `put_file(s)`, `copy`).
    pub writes: u64,
    /// Bytes written by `put`/`put_if` (files are counted as objects only).
    pub bytes_written: u64,
    /// `list`.
    pub lists: u64,
    /// `delete`.
    pub deletes: u64,
}

/// Counts the calls made to the store it wraps.
pub struct Counted<S> {
    inner: S,
    reads: AtomicU64,
    read_bytes: AtomicU64,
    writes: AtomicU64,
    bytes: AtomicU64,
    lists: AtomicU64,
    deletes: AtomicU64,
}

impl<S: Store> Counted<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            reads: AtomicU64::new(0),
            read_bytes: AtomicU64::new(0),
            writes: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            lists: AtomicU64::new(0),
            deletes: AtomicU64::new(0),
        }
    }

    /// The calls so far.
    pub fn calls(&self) -> StoreCalls {
        StoreCalls {
            reads: self.reads.load(Ordering::Relaxed),
            bytes_read: self.read_bytes.load(Ordering::Relaxed),
            writes: self.writes.load(Ordering::Relaxed),
            bytes_written: self.bytes.load(Ordering::Relaxed),
            lists: self.lists.load(Ordering::Relaxed),
            deletes: self.deletes.load(Ordering::Relaxed),
        }
    }

    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }
}

impl<S: Store> Store for Counted<S> {
    fn describe(&self) -> String {
        self.inner.describe()
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Self::add(&self.reads, 1);
        let got = self.inner.get(key)?;
        Self::add(&self.read_bytes, got.as_ref().map_or(0, |b| b.len() as u64));
        Ok(got)
    }
    fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, StoreError> {
        Self::add(&self.reads, 1);
        let got = self.inner.get_tagged(key)?;
        Self::add(&self.read_bytes, got.as_ref().map_or(0, |t| t.bytes.len() as u64));
        Ok(got)
    }
    fn first_read(&self) -> u64 {
        self.inner.first_read()
    }
    fn reads_are_local(&self) -> bool {
        self.inner.reads_are_local()
    }
    fn append_to(&self, key: &str, out: &mut Vec<u8>) -> Result<bool, StoreError> {
        Self::add(&self.reads, 1);
        let before = out.len();
        let found = self.inner.append_to(key, out)?;
        Self::add(&self.read_bytes, (out.len() - before) as u64);
        Ok(found)
    }
    fn get_small(&self, key: &str, max: u64, known: Option<&str>) -> Result<Option<Small>, StoreError> {
        Self::add(&self.reads, 1);
        let got = self.inner.get_small(key, max, known)?;
        let read = got.as_ref().and_then(|s| s.bytes.as_ref()).map_or(0, Vec::len);
        Self::add(&self.read_bytes, read as u64);
        Ok(got)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Option<Ranged>, StoreError> {
        Self::add(&self.reads, 1);
        let got = self.inner.get_range(key, range)?;
        Self::add(&self.read_bytes, got.as_ref().map_or(0, |r| r.bytes.len() as u64));
        Ok(got)
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        Self::add(&self.reads, 1);
        self.inner.head(key)
    }
    fn put(&self, key: &str, data: &[u8], mode: PutMode) -> Result<PutOutcome, StoreError> {
        Self::add(&self.writes, 1);
        Self::add(&self.bytes, data.len() as u64);
        self.inner.put(key, data, mode)
    }
    fn put_if(&self, key: &str, data: &[u8], expected: Option<&str>) -> Result<Option<String>, StoreError> {
        Self::add(&self.writes, 1);
        Self::add(&self.bytes, data.len() as u64);
        self.inner.put_if(key, data, expected)
    }
    fn put_file(&self, key: &str, path: &Path, mode: PutMode) -> Result<PutOutcome, StoreError> {
        Self::add(&self.writes, 1);
        self.inner.put_file(key, path, mode)
    }
    fn put_files(&self, files: &[(String, PathBuf)]) -> Result<(), StoreError> {
        Self::add(&self.writes, files.len() as u64);
        self.inner.put_files(files)
    }
    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        Self::add(&self.writes, 1);
        self.inner.copy(from, to)
    }
    fn copy_in(&self, from_root: &str, to: &str) -> Result<(), StoreError> {
        Self::add(&self.writes, 1);
        self.inner.copy_in(from_root, to)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        Self::add(&self.lists, 1);
        self.inner.list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        Self::add(&self.deletes, 1);
        self.inner.delete(key)
    }
    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError> {
        self.inner.lock(key, wait)
    }
    fn locking(&self) -> Result<String, StoreError> {
        self.inner.locking()
    }
}

impl Store for Box<dyn Store> {
    fn describe(&self) -> String {
        self.as_ref().describe()
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.as_ref().get(key)
    }
    fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, StoreError> {
        self.as_ref().get_tagged(key)
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Option<Ranged>, StoreError> {
        self.as_ref().get_range(key, range)
    }
    fn first_read(&self) -> u64 {
        self.as_ref().first_read()
    }
    fn reads_are_local(&self) -> bool {
        self.as_ref().reads_are_local()
    }
    fn get_small(&self, key: &str, max: u64, known: Option<&str>) -> Result<Option<Small>, StoreError> {
        self.as_ref().get_small(key, max, known)
    }
    fn append_to(&self, key: &str, out: &mut Vec<u8>) -> Result<bool, StoreError> {
        self.as_ref().append_to(key, out)
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        self.as_ref().head(key)
    }
    fn put(&self, key: &str, data: &[u8], mode: PutMode) -> Result<PutOutcome, StoreError> {
        self.as_ref().put(key, data, mode)
    }
    fn put_if(&self, key: &str, data: &[u8], expected: Option<&str>) -> Result<Option<String>, StoreError> {
        self.as_ref().put_if(key, data, expected)
    }
    fn put_file(&self, key: &str, path: &Path, mode: PutMode) -> Result<PutOutcome, StoreError> {
        self.as_ref().put_file(key, path, mode)
    }
    fn put_files(&self, files: &[(String, PathBuf)]) -> Result<(), StoreError> {
        self.as_ref().put_files(files)
    }
    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.as_ref().copy(from, to)
    }
    fn copy_in(&self, from_root: &str, to: &str) -> Result<(), StoreError> {
        self.as_ref().copy_in(from_root, to)
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        self.as_ref().list(prefix)
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.as_ref().delete(key)
    }
    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError> {
        self.as_ref().lock(key, wait)
    }
    fn locking(&self) -> Result<String, StoreError> {
        self.as_ref().locking()
    }
}

/// A view of a store under a key prefix (a channel's tree), sharing the store's lock.
pub struct Prefixed<'a> {
    inner: &'a dyn Store,
    prefix: String,
}

impl<'a> Prefixed<'a> {
    /// The part of `inner` under `prefix/`.
    pub fn new(inner: &'a dyn Store, prefix: &str) -> Result<Self, StoreError> {
        crate::check_key(prefix)?;
        Ok(Self {
            inner,
            prefix: format!("{prefix}/"),
        })
    }

    fn k(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }
}

impl Store for Prefixed<'_> {
    fn describe(&self) -> String {
        format!("{}/{}", self.inner.describe(), self.prefix.trim_end_matches('/'))
    }
    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        self.inner.get(&self.k(key))
    }
    fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, StoreError> {
        self.inner.get_tagged(&self.k(key))
    }
    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Option<Ranged>, StoreError> {
        self.inner.get_range(&self.k(key), range)
    }
    fn first_read(&self) -> u64 {
        self.inner.first_read()
    }
    fn reads_are_local(&self) -> bool {
        self.inner.reads_are_local()
    }
    fn append_to(&self, key: &str, out: &mut Vec<u8>) -> Result<bool, StoreError> {
        self.inner.append_to(&self.k(key), out)
    }
    fn get_small(&self, key: &str, max: u64, known: Option<&str>) -> Result<Option<Small>, StoreError> {
        Ok(self.inner.get_small(&self.k(key), max, known)?.map(|mut s| {
            s.meta.key = key.to_owned();
            s
        }))
    }
    fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        Ok(self.inner.head(&self.k(key))?.map(|mut m| {
            m.key = key.to_owned();
            m
        }))
    }
    fn put(&self, key: &str, data: &[u8], mode: PutMode) -> Result<PutOutcome, StoreError> {
        self.inner.put(&self.k(key), data, mode)
    }
    fn put_if(&self, key: &str, data: &[u8], expected: Option<&str>) -> Result<Option<String>, StoreError> {
        self.inner.put_if(&self.k(key), data, expected)
    }
    fn put_file(&self, key: &str, path: &Path, mode: PutMode) -> Result<PutOutcome, StoreError> {
        self.inner.put_file(&self.k(key), path, mode)
    }
    fn put_files(&self, files: &[(String, PathBuf)]) -> Result<(), StoreError> {
        let files: Vec<(String, PathBuf)> = files.iter().map(|(k, p)| (self.k(k), p.clone())).collect();
        self.inner.put_files(&files)
    }
    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        self.inner.copy(&self.k(from), &self.k(to))
    }
    fn copy_in(&self, from_root: &str, to: &str) -> Result<(), StoreError> {
        self.inner.copy_in(from_root, &self.k(to))
    }
    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        Ok(self
            .inner
            .list(&self.k(prefix))?
            .into_iter()
            .map(|mut m| {
                m.key = m.key[self.prefix.len()..].to_owned();
                m
            })
            .collect())
    }
    fn delete(&self, key: &str) -> Result<(), StoreError> {
        self.inner.delete(&self.k(key))
    }
    /// The lock is the whole store's: a promotion writes two channels under one lock.
    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError> {
        self.inner.lock(key, wait)
    }
    fn locking(&self) -> Result<String, StoreError> {
        self.inner.locking()
    }
}
