//! The S3 backend against a real Garage 2.5: the capability probe, multipart uploads, string-prefix
//! listing under a key prefix, server-side copy, compare-and-write, and the ticket lock's exclusivity
//! between threads that each open their own connection.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use wharf_store::{PutMode, PutOutcome, S3Options, S3Store, Store, StoreError};
use wharf_test::{GARAGE_BUCKET, Garage};

fn open(g: &Garage, prefix: &str) -> S3Store {
    let opts = S3Options {
        endpoint: Some(g.endpoint()),
        region: Some("garage".into()),
        lock_lease: Some(Duration::from_secs(3)),
        credentials: Some((g.key_id.clone(), g.secret.clone())),
    };
    S3Store::open(GARAGE_BUCKET, prefix, &opts).unwrap()
}

#[test]
fn objects_on_garage() {
    let Some(g) = Garage::start() else {
        return;
    };
    let s = open(&g, "t/prefix");
    // Garage ignores If-None-Match (design.md §4.3): the probe must say so.
    assert!(!s.conditional_writes().unwrap());
    assert!(
        s.locking().unwrap().contains("ticket lock"),
        "{}",
        s.locking().unwrap()
    );

    // A file above the multipart threshold, and a small one, in one parallel batch.
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..40 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(dir.path().join("big"), &big).unwrap();
    std::fs::write(dir.path().join("small"), b"small").unwrap();
    s.put_files(&[
        ("pool/big.bin".into(), dir.path().join("big")),
        ("pool/small.bin".into(), dir.path().join("small")),
    ])
    .unwrap();
    assert_eq!(s.head("pool/big.bin").unwrap().unwrap().size, big.len() as u64);
    assert!(s.get("pool/big.bin").unwrap().unwrap() == big);
    assert_eq!(g.fetch("t/prefix/pool/small.bin").unwrap(), b"small");

    // Listing is by string prefix, relative to the store's prefix.
    s.put("pool/smaller", b"x", PutMode::Overwrite).unwrap();
    s.put("poolside", b"x", PutMode::Overwrite).unwrap();
    let keys: Vec<String> = s.list("pool/sm").unwrap().into_iter().map(|m| m.key).collect();
    assert_eq!(keys, ["pool/small.bin", "pool/smaller"]);
    assert_eq!(s.list("pool").unwrap().len(), 4);

    // Create-only writes leave an existing object alone (checked before writing on this store).
    assert_eq!(
        s.put("poolside", b"y", PutMode::Create).unwrap(),
        PutOutcome::AlreadyExists
    );
    assert_eq!(s.get("poolside").unwrap().unwrap(), b"x");

    // Compare-and-write against the version read.
    let t = s.get_tagged("poolside").unwrap().unwrap();
    let new_tag = s.put_if("poolside", b"z", Some(&t.tag)).unwrap().unwrap();
    assert_eq!(
        s.put_if("poolside", b"w", Some(&t.tag)).unwrap(),
        None,
        "a stale tag must be refused"
    );
    assert_eq!(s.get_tagged("poolside").unwrap().unwrap().tag, new_tag);
    // Ranged reads: the bytes asked for (cut at the end), the whole object's size and its tag.
    s.put("ranged", b"0123456789", PutMode::Overwrite).unwrap();
    let tag = s.get_tagged("ranged").unwrap().unwrap().tag;
    let r = s.get_range("ranged", 2..5).unwrap().unwrap();
    assert_eq!(
        (r.bytes.as_slice(), r.size, r.tag.as_str()),
        (&b"234"[..], 10, tag.as_str())
    );
    assert_eq!(s.get_range("ranged", 8..1000).unwrap().unwrap().bytes, b"89");
    assert!(s.get_range("absent", 0..10).unwrap().is_none());
    assert!(s.put_if("fresh", b"1", None).unwrap().is_some());
    assert_eq!(s.put_if("fresh", b"2", None).unwrap(), None);

    s.copy("pool/small.bin", "copy/small.bin").unwrap();
    assert_eq!(s.get("copy/small.bin").unwrap().unwrap(), b"small");
    s.delete("copy/small.bin").unwrap();
    s.delete("copy/small.bin").unwrap();
    assert!(s.get("copy/small.bin").unwrap().is_none());
    assert!(matches!(
        s.put("../x", b"", PutMode::Overwrite),
        Err(StoreError::BadKey(_))
    ));
}

#[test]
fn ticket_lock_is_exclusive_across_connections_and_expires() {
    let Some(g) = Garage::start() else {
        return;
    };
    let g = Arc::new(g);
    let inside = Arc::new(AtomicU32::new(0));
    let threads: Vec<_> = (0..4)
        .map(|_| {
            let (g, inside) = (Arc::clone(&g), Arc::clone(&inside));
            std::thread::spawn(move || {
                let s = open(&g, "locks");
                for _ in 0..4 {
                    let guard = s.lock(".wharf/lock", Duration::from_secs(60)).unwrap();
                    assert_eq!(inside.fetch_add(1, Ordering::SeqCst), 0, "two holders at once");
                    std::thread::sleep(Duration::from_millis(20));
                    guard.check().unwrap();
                    inside.fetch_sub(1, Ordering::SeqCst);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    // Every ticket was removed on release.
    let s = open(&g, "locks");
    assert!(s.list(".wharf/lock.d/").unwrap().is_empty());

    // A holder that vanished without releasing (its ticket left behind) blocks others only for a lease.
    s.put(".wharf/lock.d/dead-holder", b"{}", PutMode::Overwrite)
        .unwrap();
    let start = std::time::Instant::now();
    let err = s.lock(".wharf/lock", Duration::from_millis(500)).err().unwrap();
    assert!(matches!(err, StoreError::LockTimeout { .. }), "{err}");
    let guard = s.lock(".wharf/lock", Duration::from_secs(30)).unwrap();
    assert!(
        start.elapsed() >= Duration::from_secs(3),
        "a live-looking lock was broken early"
    );
    guard.check().unwrap();
}
