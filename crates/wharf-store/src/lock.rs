//! The publish lock on an object store, safe with or without conditional writes.
//!
//! Two strategies, chosen from the store's capability probe:
//!
//! - **Conditional** (AWS S3, R2, MinIO): one lock object created with `If-None-Match: *`. The holder
//!   renews it every third of the lease by rewriting it with `If-Match: <its etag>`; a waiter that sees
//!   the same etag for a whole lease takes the lock over with `If-Match: <that etag>`, so exactly one
//!   waiter wins and a live holder's next renewal fails (it then knows it lost the lock).
//! - **Tickets** (Garage 2.5, which ignores both headers): every contender writes its own uniquely named
//!   ticket under `<lock>.d/`, then lists that directory. It holds the lock only if no *other* live
//!   ticket is listed; otherwise it deletes its ticket and retries after a random back-off. With a
//!   strongly consistent list (Garage, S3, R2, MinIO all are), two contenders cannot both win: whichever
//!   listed second wrote its ticket before listing and so was seen by, or saw, the other. A ticket whose
//!   etag has not changed for a whole lease belongs to a dead holder and is deleted by whoever notices.
//!
//! Staleness is measured by each waiter's own monotonic clock from when it first saw an etag, never by
//! comparing clocks between machines. The holder counts its lease from the start of its last successful
//! renewal, so it believes it holds the lock strictly less long than any waiter waits before breaking it.
//! [`crate::LockGuard::check`] is the fencing test the publish transaction runs before it writes the state
//! and the pointer files.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use crate::{LockGuard, StoreError};

/// What a lock write expects to find.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Expect<'a> {
    /// Write whatever is there.
    Any,
    /// Create only.
    Absent,
    /// Replace only this version.
    Tag(&'a str),
}

/// The few object operations a lock needs; implemented by each remote backend.
pub(crate) trait TicketStore: Send + Sync + 'static {
    fn describe(&self) -> String;
    /// Writes `body`; `Ok(false)` when `expect` did not hold.
    fn write(&self, key: &str, body: &[u8], expect: Expect<'_>) -> Result<bool, StoreError>;
    /// `(file name, etag)` of every object under `dir/`.
    fn list(&self, dir: &str) -> Result<Vec<(String, String)>, StoreError>;
    /// The object's etag, `None` when absent.
    fn read_tag(&self, key: &str) -> Result<Option<String>, StoreError>;
    fn remove(&self, key: &str) -> Result<(), StoreError>;
}

/// The locking strategy a store supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Locking {
    /// One lock object, created and renewed with conditional writes.
    Conditional,
    /// Per-contender tickets and a consistent list.
    Tickets,
}

impl Locking {
    /// The strategy for a store that does (or does not) honour conditional writes.
    #[must_use]
    pub fn for_store(conditional_writes: bool) -> Self {
        if conditional_writes {
            Self::Conditional
        } else {
            Self::Tickets
        }
    }

    /// A line for `-v` output.
    #[must_use]
    pub fn describe(self, lease: Duration) -> String {
        match self {
            Self::Conditional => format!(
                "conditional writes honoured: lock object with If-None-Match/If-Match, lease {}s",
                lease.as_secs()
            ),
            Self::Tickets => format!(
                "conditional writes ignored by this store: ticket lock (unique lock objects + consistent list), lease {}s",
                lease.as_secs()
            ),
        }
    }
}

static COUNTER: AtomicU64 = AtomicU64::new(0);

/// A name no other process (on any machine) will pick.
#[must_use]
pub fn unique_id() -> String {
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    format!(
        "{nanos:x}-{:x}-{:x}-{:016x}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        rand::random::<u64>()
    )
}

/// A lock object's body. Every write differs (a fresh nonce), so its etag changes on every write even
/// where the etag is the MD5 of the content: a live contender or holder never looks unchanged.
fn body(owner: &str, renewal: u64) -> Vec<u8> {
    format!(
        "{{\"owner\":\"{owner}\",\"pid\":{},\"renewal\":{renewal},\"nonce\":\"{:016x}\"}}\n",
        std::process::id(),
        rand::random::<u64>()
    )
    .into_bytes()
}

/// Remembers when each etag was first seen, to tell a dead holder from a slow one.
#[derive(Default)]
struct Observed(HashMap<String, (String, Instant)>);

impl Observed {
    /// Records `tag` for `name`; true when it has not changed for `lease`.
    fn stale(&mut self, name: &str, tag: &str, lease: Duration) -> bool {
        let now = Instant::now();
        let e = self
            .0
            .entry(name.to_owned())
            .or_insert_with(|| (tag.to_owned(), now));
        if e.0 != tag {
            *e = (tag.to_owned(), now);
        }
        now.duration_since(e.1) > lease
    }
}

fn backoff(attempt: u32) -> Duration {
    let cap = 50u64 << attempt.min(4); // 50 ms … 800 ms
    Duration::from_millis(20 + rand::random::<u64>() % cap)
}

/// Takes the lock `key` on `store`, waiting up to `wait`.
pub(crate) fn acquire(
    store: Arc<dyn TicketStore>,
    strategy: Locking,
    key: &str,
    wait: Duration,
    lease: Duration,
) -> Result<Box<dyn LockGuard>, StoreError> {
    Ok(Box::new(acquire_held(store, strategy, key, wait, lease)?))
}

fn acquire_held(
    store: Arc<dyn TicketStore>,
    strategy: Locking,
    key: &str,
    wait: Duration,
    lease: Duration,
) -> Result<Held, StoreError> {
    let owner = unique_id();
    let start = Instant::now();
    let mut observed = Observed::default();
    let timeout = || StoreError::LockTimeout {
        store: store.describe(),
        key: key.to_owned(),
        waited: wait,
    };
    let mut attempt = 0u32;
    let held_key = loop {
        let renewed_at = Instant::now();
        match strategy {
            Locking::Conditional => {
                if store.write(key, &body(&owner, 0), Expect::Absent)? {
                    break (key.to_owned(), renewed_at);
                }
                if let Some(tag) = store.read_tag(key)?
                    && observed.stale(key, &tag, lease)
                    && store.write(key, &body(&owner, 0), Expect::Tag(&tag))?
                {
                    break (key.to_owned(), renewed_at);
                }
            }
            Locking::Tickets => {
                let dir = format!("{key}.d");
                let mine = format!("{dir}/{owner}");
                store.write(&mine, &body(&owner, 0), Expect::Any)?;
                let mut others = false;
                let mut listed_mine = false;
                for (name, tag) in store.list(&dir)? {
                    if name == owner {
                        listed_mine = true;
                        continue;
                    }
                    if observed.stale(&name, &tag, lease) {
                        store.remove(&format!("{dir}/{name}"))?;
                    } else {
                        others = true;
                    }
                }
                // Our own ticket must be in the list we decide on: one broken meanwhile proves nothing.
                if !others && listed_mine {
                    break (mine, renewed_at);
                }
                store.remove(&mine)?;
            }
        }
        if start.elapsed() >= wait {
            return Err(timeout());
        }
        std::thread::sleep(backoff(attempt));
        attempt += 1;
    };
    Ok(Held::start(store, strategy, held_key, owner, lease))
}

struct Lease {
    renewed_at: Instant,
    lost: Option<String>,
    /// The lock object's etag after our last write.
    tag: Option<String>,
}

/// A held lock: a thread renews it until the guard is dropped.
struct Held {
    store: Arc<dyn TicketStore>,
    key: String,
    strategy: Locking,
    lease: Duration,
    state: Arc<Mutex<Lease>>,
    stop: Option<mpsc::Sender<()>>,
    renewer: Option<JoinHandle<()>>,
}

impl Held {
    fn start(
        store: Arc<dyn TicketStore>,
        strategy: Locking,
        (key, renewed_at): (String, Instant),
        owner: String,
        lease: Duration,
    ) -> Self {
        let state = Arc::new(Mutex::new(Lease {
            renewed_at,
            lost: None,
            tag: store.read_tag(&key).ok().flatten(),
        }));
        let (stop, stopped) = mpsc::channel::<()>();
        let renewer = {
            let (store, key, state) = (Arc::clone(&store), key.clone(), Arc::clone(&state));
            std::thread::spawn(move || {
                let mut tag = state.lock().map_or(None, |s| s.tag.clone());
                let mut renewal = 0u64;
                loop {
                    match stopped.recv_timeout(lease / 3) {
                        Err(RecvTimeoutError::Timeout) => {}
                        Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
                    }
                    renewal += 1;
                    let started = Instant::now();
                    let result = (|| {
                        let current = store.read_tag(&key)?;
                        if current.is_none() || current != tag {
                            return Ok(Some("another publisher broke the lock".to_owned()));
                        }
                        let expect = match (strategy, tag.as_deref()) {
                            (Locking::Conditional, Some(t)) => Expect::Tag(t),
                            _ => Expect::Any,
                        };
                        if !store.write(&key, &body(&owner, renewal), expect)? {
                            return Ok(Some("another publisher took the lock over".to_owned()));
                        }
                        tag = store.read_tag(&key)?;
                        Ok::<_, StoreError>(None)
                    })();
                    let mut s = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                    match result {
                        Ok(None) => {
                            s.renewed_at = started;
                            s.tag.clone_from(&tag);
                        }
                        Ok(Some(why)) => {
                            s.lost = Some(why);
                            return;
                        }
                        // A failed renewal is retried; the lease check below catches a long outage.
                        Err(_) => {}
                    }
                }
            })
        };
        Self {
            store,
            key,
            strategy,
            lease,
            state,
            stop: Some(stop),
            renewer: Some(renewer),
        }
    }
}

impl LockGuard for Held {
    fn check(&self) -> Result<(), StoreError> {
        let s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let why = match &s.lost {
            Some(why) => why.clone(),
            None if s.renewed_at.elapsed() >= self.lease => format!(
                "the lock was not renewed for {}s (store unreachable or the process paused)",
                self.lease.as_secs()
            ),
            None => return Ok(()),
        };
        Err(StoreError::LockLost {
            store: self.store.describe(),
            why,
        })
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.renewer.take() {
            let _ = t.join();
        }
        let Ok(s) = self.state.lock() else { return };
        if s.lost.is_some() {
            return;
        }
        // A ticket is ours alone; the single lock object is removed only if nobody has taken it over.
        let ours = match self.strategy {
            Locking::Tickets => true,
            Locking::Conditional => self.store.read_tag(&self.key).ok().flatten() == s.tag,
        };
        if ours {
            let _ = self.store.remove(&self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An in-memory store with honest (or ignored) conditional writes and a consistent list, whose tags
    /// derive from the content as S3's MD5 etags do.
    struct Mem {
        objects: Mutex<HashMap<String, (Vec<u8>, u64)>>,
        conditional: bool,
    }

    impl Mem {
        fn new(conditional: bool) -> Arc<Self> {
            Arc::new(Self {
                objects: Mutex::new(HashMap::new()),
                conditional,
            })
        }
    }

    fn content_tag(body: &[u8]) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        body.hash(&mut h);
        h.finish()
    }

    impl TicketStore for Mem {
        fn describe(&self) -> String {
            "mem".into()
        }
        fn write(&self, key: &str, body: &[u8], expect: Expect<'_>) -> Result<bool, StoreError> {
            let mut o = self.objects.lock().unwrap();
            if self.conditional {
                let cur = o.get(key).map(|(_, v)| v.to_string());
                let ok = match expect {
                    Expect::Any => true,
                    Expect::Absent => cur.is_none(),
                    Expect::Tag(t) => cur.as_deref() == Some(t),
                };
                if !ok {
                    return Ok(false);
                }
            }
            o.insert(key.into(), (body.to_vec(), content_tag(body)));
            Ok(true)
        }
        fn list(&self, dir: &str) -> Result<Vec<(String, String)>, StoreError> {
            let o = self.objects.lock().unwrap();
            Ok(o.iter()
                .filter_map(|(k, (_, v))| {
                    k.strip_prefix(&format!("{dir}/"))
                        .map(|n| (n.to_owned(), v.to_string()))
                })
                .collect())
        }
        fn read_tag(&self, key: &str) -> Result<Option<String>, StoreError> {
            Ok(self.objects.lock().unwrap().get(key).map(|(_, v)| v.to_string()))
        }
        fn remove(&self, key: &str) -> Result<(), StoreError> {
            self.objects.lock().unwrap().remove(key);
            Ok(())
        }
    }

    fn exclusive(strategy: Locking, conditional: bool, lease: Duration, hold: Duration) {
        let mem = Mem::new(conditional);
        let inside = Arc::new(AtomicU64::new(0));
        let total = Arc::new(AtomicU64::new(0));
        let threads: Vec<_> = (0..6)
            .map(|_| {
                let (mem, inside, total) = (Arc::clone(&mem), Arc::clone(&inside), Arc::clone(&total));
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let store: Arc<dyn TicketStore> = mem.clone();
                        let g =
                            acquire(store, strategy, ".wharf/lock", Duration::from_secs(60), lease).unwrap();
                        assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                        std::thread::sleep(hold);
                        g.check().unwrap();
                        inside.fetch_sub(1, Ordering::SeqCst);
                        total.fetch_add(1, Ordering::SeqCst);
                        drop(g);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(total.load(Ordering::SeqCst), 30);
        assert!(
            mem.objects.lock().unwrap().is_empty(),
            "every lock object released"
        );
    }

    #[test]
    fn tickets_are_exclusive_without_conditional_writes() {
        exclusive(
            Locking::Tickets,
            false,
            Duration::from_secs(5),
            Duration::from_millis(3),
        );
    }

    #[test]
    fn conditional_lock_is_exclusive() {
        exclusive(
            Locking::Conditional,
            true,
            Duration::from_secs(5),
            Duration::from_millis(3),
        );
    }

    /// Holders keep the lock for several leases (renewing it) while others wait far longer than a lease:
    /// no live holder or waiter may ever be taken for dead.
    #[test]
    fn waiting_longer_than_a_lease_breaks_nothing() {
        let (lease, hold) = (Duration::from_millis(90), Duration::from_millis(200));
        exclusive(Locking::Tickets, false, lease, hold);
        exclusive(Locking::Conditional, true, lease, hold);
    }

    #[test]
    fn a_dead_holders_lock_expires_and_the_holder_learns_it_lost() {
        for (strategy, conditional) in [(Locking::Tickets, false), (Locking::Conditional, true)] {
            let mem = Mem::new(conditional);
            let lease = Duration::from_millis(300);
            let mut first = acquire_held(mem.clone(), strategy, "l", Duration::from_secs(5), lease).unwrap();
            // Simulate a frozen holder: stop its renewals without releasing.
            drop(first.stop.take());
            if let Some(t) = first.renewer.take() {
                t.join().unwrap();
            }
            let t0 = Instant::now();
            let second = acquire(mem.clone(), strategy, "l", Duration::from_secs(5), lease).unwrap();
            assert!(t0.elapsed() >= lease, "broke a lock before its lease ran out");
            assert!(
                first.check().is_err(),
                "the frozen holder must fail its fencing check"
            );
            second.check().unwrap();
        }
    }
}
