//! Incremental cost: adding one package to a repository of 10,000 records reads the state and nothing
//! else (apt: the state's keys, the segments it rewrites and the current `Packages`), and writes as many
//! objects as adding it to a repository of 10 — counted by the store wrapper (`store_calls` in `wharf
//! publish --json`). Indexes are regenerated from the records alone: the
//! 10,000 inflated records have no package files behind them, yet every one is listed.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Instant;

use wharf_test::{TempDir, write};

use crate::crash::package;
use crate::s3::{five_kind_project, today};
use crate::wharf;

/// Kind, its state file, packaging arguments, the index that lists packages, and how it names one.
const KINDS: [(&str, &str, &[&str], &str, &str); 5] = [
    (
        "apt",
        ".wharf/apt/state",
        &["--format", "deb"],
        "dists/stable/main/binary-amd64/Packages",
        "Package: d",
    ),
    ("rpm", ".wharf/rpm/state", &["--format", "rpm"], "", ""),
    (
        "opkg",
        ".wharf/opkg/state",
        &["--format", "ipk", "--target", "x86_64-unknown-linux-musl"],
        "opkg/x86_64/Packages",
        "Package: d",
    ),
    (
        "apk",
        ".wharf/apk/state",
        &["--format", "apk", "--target", "x86_64-unknown-linux-musl"],
        "",
        "",
    ),
    (
        "apk3",
        ".wharf/apk3/state",
        &["--format", "apk3", "--target", "x86_64-unknown-linux-musl"],
        "",
        "",
    ),
];

/// Replaces the state's records by `n` copies of its first record, each renamed (`demo` → `d<i>mo`),
/// written in the first state format (one JSON document, `state.json`), which the next publish reads and
/// replaces.
fn inflate(repo: &Path, state_key: &str, n: usize) {
    let path = repo.join(state_key);
    let mut state =
        wharf_publish::state::read_json(&|k| std::fs::read(repo.join(k)).ok(), state_key).unwrap();
    let groups = state["groups"].as_object_mut().unwrap();
    for records in groups.values_mut() {
        let first = serde_json::to_string(&records[0]).unwrap();
        let copies: Vec<serde_json::Value> = (0..n)
            .map(|i| serde_json::from_str(&first.replace("demo", &format!("d{i}mo"))).unwrap())
            .collect();
        *records = serde_json::Value::Array(copies);
    }
    std::fs::remove_file(&path).unwrap();
    write(
        &repo.join(format!("{state_key}.json")),
        serde_json::to_vec(&state).unwrap(),
    );
}

/// Every file under `root` with its inode (a directory store replaces a file by renaming a new one over it).
fn inodes(root: &Path) -> Vec<(std::path::PathBuf, u64)> {
    use std::os::unix::fs::MetadataExt;
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let m = e.metadata().unwrap();
            if m.is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), m.ino()));
            }
        }
    }
    out.sort();
    out
}

/// Publishes `files` into `repo`; returns the store calls and the wall time. States are read as they are
/// by default (whole when small), so the reads counted are those of a real publish.
fn publish(dir: &Path, cfg: &Path, repo: &Path, files: &[String]) -> (serde_json::Value, f64) {
    let start = Instant::now();
    let d = wharf_test::run(
        wharf(dir)
            .env_remove("WHARF_STATE_PROBE")
            .env("SOURCE_DATE_EPOCH", today())
            .args([
                "--json",
                "publish",
                "-c",
                cfg.to_str().unwrap(),
                "--to",
                repo.to_str().unwrap(),
                "--sign",
            ])
            .args(files),
    )
    .success();
    let secs = start.elapsed().as_secs_f64();
    let out: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
    (out["store_calls"].clone(), secs)
}

/// Publishes version 1 into a fresh repository, inflates its state to `n` records, adds version 2 and
/// checks what that read and wrote; returns the writes and deletes it made.
fn add_one_at(
    dir: &Path,
    cfg: &Path,
    (kind, state_key, _, index, marker): (&str, &str, &[&str], &str, &str),
    (v1, v2): (&[String], &[String]),
    n: usize,
) -> (serde_json::Value, serde_json::Value) {
    let repo = dir.join(format!("{kind}-{n}"));
    publish(dir, cfg, &repo, v1);
    inflate(&repo, state_key, n);
    // Republishing changes nothing but the state's format (the first one is replaced).
    publish(dir, cfg, &repo, v1);
    assert!(repo.join(state_key).exists() && !repo.join(format!("{state_key}.json")).exists());
    let segments_dir = repo.join(state_key).with_file_name("segments");
    let segments = || -> BTreeMap<std::ffi::OsString, u64> {
        std::fs::read_dir(&segments_dir)
            .unwrap()
            .map(|e| e.unwrap())
            .map(|e| (e.file_name(), e.metadata().unwrap().len()))
            .collect()
    };
    let before = segments();
    // What apt and rpm-md may read besides their state's keys: the current documents (their unchanged
    // elements and compressed blocks are carried over) — apt's `Packages`, `.gz` and `.xz`, rpm-md's
    // `repodata/` (`repomd.xml` and the three documents).
    let state_len = std::fs::metadata(repo.join(state_key)).unwrap().len();
    let documents_len: u64 = match kind {
        "apt" => ["", ".gz", ".xz"]
            .iter()
            .filter_map(|ext| std::fs::metadata(repo.join(format!("{index}{ext}"))).ok())
            .map(|m| m.len())
            .sum(),
        _ => inodes(&repo)
            .into_iter()
            .filter(|(p, _)| p.parent().is_some_and(|d| d.ends_with("repodata")))
            .map(|(p, _)| std::fs::metadata(p).unwrap().len())
            .sum(),
    };
    let (calls, secs) = publish(dir, cfg, &repo, v2);
    eprintln!("{kind}: adding one version to {n} records: {secs:.2}s, store calls {calls}");
    // The state's records are stored in segments (~300 KiB to 1 MiB): of those, the publish wrote the
    // one or two the new record landed in, never the rest.
    let new: Vec<u64> = segments()
        .into_iter()
        .filter(|(name, _)| !before.contains_key(name))
        .map(|(_, len)| len)
        .collect();
    assert!(
        (1..=2).contains(&new.len()) && new.iter().sum::<u64>() <= 2 << 20,
        "{kind}: {} segments before, new ones {new:?}",
        before.len()
    );
    // The state (read before the lock to find known packages, then only its version checked
    // under the lock; a large one in ranged reads: header, then table and keys), the journal, and an
    // index's existence: never the records' files. Plus, once the index documents are large (at 10,000
    // records), the current ones, whose unchanged compressed blocks are carried over: apt's `Packages`,
    // `.gz` and `.xz` (one architecture here), rpm-md's `repomd.xml` and its three documents.
    let documents = match kind {
        "apt" => 3,
        "rpm" => 4,
        _ => 0,
    };
    let reads = calls["reads"].as_u64().unwrap();
    if kind == "apt" || kind == "rpm" {
        // apt and rpm-md splice their documents from the current ones: of the state's segments they
        // read the one or two they rewrite, whatever the size — objects and bytes.
        assert!(reads <= 6 + documents + 2, "{kind}: {calls}");
        assert!(
            calls["bytes_read"].as_u64().unwrap() <= state_len + documents_len + (2 << 20),
            "{kind}: {calls} (state {state_len} bytes, documents {documents_len})"
        );
    } else {
        // The others make their documents from the state's texts: every segment, each read once.
        assert!(reads <= 6 + documents + before.len() as u64, "{kind}: {calls}");
    }
    assert_eq!(calls["lists"], 0, "{kind}: {calls}");
    if !index.is_empty() {
        let text = std::fs::read_to_string(repo.join(index)).unwrap();
        assert!(
            text.matches(marker).count() >= n,
            "{kind}: the index does not list the {n} records"
        );
    }
    let state = wharf_publish::state::read_json(&|k| std::fs::read(repo.join(k)).ok(), state_key).unwrap();
    let total: usize = state["groups"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_array().unwrap().len())
        .sum();
    assert!(total > n, "{kind}: state lost records ({total})");
    if n == 10 {
        // The same packages again: nothing changed, so nothing is written — not the state, not a
        // re-signed index — and every file stays the very same inode. Only apt's packages here: the
        // project sets `valid-for-days`, and re-signing the suite is what extends a Valid-Until.
        let kept = |files: Vec<(std::path::PathBuf, u64)>| -> Vec<(std::path::PathBuf, u64)> {
            files
                .into_iter()
                .filter(|(p, _)| kind != "apt" || p.starts_with(repo.join("pool")))
                .collect()
        };
        let before = kept(inodes(&repo));
        let (calls, _) = publish(dir, cfg, &repo, v2);
        if kind != "apt" {
            assert_eq!(calls["writes"], 0, "{kind}: republishing wrote: {calls}");
            assert_eq!(calls["deletes"], 0, "{kind}: republishing deleted: {calls}");
        }
        assert_eq!(before, kept(inodes(&repo)), "{kind}: republishing replaced files");
    }
    (calls["writes"].clone(), calls["deletes"].clone())
}

#[test]
fn adding_one_package_costs_the_same_at_10_and_10000_records() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = five_kind_project(&dir.join("proj"));
    for entry @ (kind, _, args, _, _) in KINDS {
        let v1 = package(dir, &cfg, "1.0.0", args);
        let v2 = package(dir, &cfg, "2.0.0", args);
        let costs: Vec<_> = [10, 10_000]
            .into_iter()
            .map(|n| add_one_at(dir, &cfg, entry, (&v1, &v2), n))
            .collect();
        assert_eq!(
            costs[0], costs[1],
            "{kind}: store writes depend on the repository size"
        );
    }
}

/// The same at Debian's scale (its main archive has ~65,000 packages an architecture), for apt and
/// rpm-md: the objects read and written do not grow from 10 records to 100,000.
#[test]
fn adding_one_deb_or_rpm_costs_the_same_at_10_and_100000_records() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = five_kind_project(&dir.join("proj"));
    for entry @ (kind, _, args, _, _) in &KINDS[..2] {
        let v1 = package(dir, &cfg, "1.0.0", args);
        let v2 = package(dir, &cfg, "2.0.0", args);
        let costs: Vec<_> = [10, 100_000]
            .into_iter()
            .map(|n| add_one_at(dir, &cfg, *entry, (&v1, &v2), n))
            .collect();
        assert_eq!(
            costs[0], costs[1],
            "{kind}: store writes depend on the repository size"
        );
    }
}

/// A republish of files the input cache knows unchanged reads none of them — they are taken from the
/// state — and changes nothing; a file rewritten since (same bytes or not) is read again.
#[test]
fn republishing_known_files_reads_none_of_them() {
    let tmp = TempDir::new().unwrap();
    let dir = tmp.path();
    let cfg = five_kind_project(dir);
    let repo = dir.join("repo");
    let cache = dir.join("cache");
    let files: Vec<String> = ["deb", "rpm"]
        .iter()
        .flat_map(|f| package(dir, &cfg, "1.0.0", &["--format", f]))
        .chain(package(
            dir,
            &cfg,
            "1.0.0",
            &["--format", "ipk", "--target", "x86_64-unknown-linux-musl"],
        ))
        .collect();
    assert_eq!(files.len(), 6, "{files:?}");
    // Changed just now (the packaging above can take over 2 s, which would settle the first ones): a
    // permission change moves each file's ctime.
    for f in &files {
        let perms = std::fs::metadata(f).unwrap().permissions();
        std::fs::set_permissions(f, perms).unwrap();
    }
    let publish_these = |expect_ok: bool, extra: &[&str], files: &[String]| {
        let d = wharf_test::run(
            wharf(dir)
                .env("SOURCE_DATE_EPOCH", today())
                .env("WHARF_CACHE_DIR", &cache)
                .args([
                    "--json",
                    "publish",
                    "-c",
                    cfg.to_str().unwrap(),
                    "--to",
                    repo.to_str().unwrap(),
                ])
                .args(extra)
                .args(files),
        );
        if !expect_ok {
            assert!(!d.ok, "{}", d.all());
            return (d.all(), serde_json::Value::Null);
        }
        let d = d.success();
        let out: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
        (String::new(), out)
    };
    let publish_with = |expect_ok: bool, extra: &[&str]| publish_these(expect_ok, extra, &files);
    let publish = |expect_ok: bool| publish_with(expect_ok, &[]);
    let known = |out: &serde_json::Value| out["reports"]["known_unchanged"].as_u64().unwrap();
    // Just built: read (too fresh to be trusted to the cache).
    assert_eq!(known(&publish(true).1), 0);
    std::thread::sleep(std::time::Duration::from_millis(2200));
    // Settled now, into a store with nothing published (no state could answer for a file, so none is
    // `stat`ed before it is opened): read once more, and remembered from the opened files.
    std::fs::remove_dir_all(&repo).unwrap();
    assert_eq!(known(&publish(true).1), 0);
    assert!(cache.join("inputs-v1").is_file());
    assert_eq!(known(&publish(true).1), 6);
    // Without the cache, into the store that now has a state: read (each looked up first), remembered.
    std::fs::remove_file(cache.join("inputs-v1")).unwrap();
    assert_eq!(known(&publish(true).1), 0);
    assert!(cache.join("inputs-v1").is_file());
    // Known: none read, nothing written.
    let out = publish(true).1;
    assert_eq!(known(&out), 6, "{out}");
    // (apt re-signs its Release: the project sets valid-for-days; the others write nothing at all.)
    for kind in ["rpm-md", "opkg"] {
        assert_eq!(
            out["reports"][kind]["collected"]["unchanged"], true,
            "{kind}: {out}"
        );
    }
    assert_eq!(
        out["reports"]["apt"]["unchanged"].as_array().unwrap().len(),
        2,
        "{out}"
    );
    // The rpm alone, known and already published: only the state's keys are read, not its records.
    let rpm = files.iter().find(|f| f.ends_with(".rpm")).unwrap();
    let out = publish_these(true, &[], std::slice::from_ref(rpm)).1;
    assert_eq!(known(&out), 1, "{out}");
    assert_eq!(out["reports"]["rpm-md"]["collected"]["unchanged"], true, "{out}");
    let state = std::fs::metadata(repo.join(".wharf/rpm/state")).unwrap().len();
    let segments: Vec<_> = std::fs::read_dir(repo.join(".wharf/rpm/segments"))
        .unwrap()
        .map(|e| e.unwrap().metadata().unwrap().len())
        .collect();
    let read = out["store_calls"]["bytes_read"].as_u64().unwrap();
    assert!(
        read <= state && segments.iter().all(|s| *s > 0),
        "read {read} bytes: more than the {state}-byte state object (its keys), or its segments {segments:?}: {out}",
    );
    // Known files published somewhere new (another suite, another rpm repository): still none read. Their
    // state records are opened to make the new ones, which index exactly what the first ones do.
    let out = publish_with(true, &["--suite", "testing", "--repo", "fedora-43-x86_64"]).1;
    assert_eq!(known(&out), 6, "{out}");
    let packages = |suite: &str| {
        std::fs::read_to_string(repo.join(format!("dists/{suite}/main/binary-amd64/Packages"))).unwrap()
    };
    assert!(packages("stable").contains("Package: demo"));
    assert_eq!(packages("testing"), packages("stable"));
    let primary = |name: &str| {
        let dir = repo.join(name).join("repodata");
        let gz = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.to_string_lossy().ends_with("-primary.xml.gz"))
            .unwrap();
        let mut xml = String::new();
        std::io::Read::read_to_string(
            &mut flate2::read::GzDecoder::new(std::fs::File::open(gz).unwrap()),
            &mut xml,
        )
        .unwrap();
        xml
    };
    assert!(primary("linux-x86_64").contains("<name>demo</name>"));
    assert_eq!(primary("fedora-43-x86_64"), primary("linux-x86_64"));
    // Rewritten with the same bytes: a new ctime, so read again.
    let deb = files.iter().find(|f| f.ends_with(".deb")).unwrap();
    let bytes = std::fs::read(deb).unwrap();
    std::fs::write(deb, &bytes).unwrap();
    assert_eq!(known(&publish(true).1), 5);
    // Replaced by other bytes of the same size: read, and refused as what it now is.
    let mut garbage = bytes.clone();
    garbage[..8].copy_from_slice(b"notadeb!");
    std::fs::write(deb, &garbage).unwrap();
    let (err, _) = publish(false);
    assert!(err.contains(deb.as_str()), "{err}");
}
