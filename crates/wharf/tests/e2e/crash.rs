//! Crash consistency on a real S3 server: a publish killed after each step of the transaction (the
//! `WHARF_FAILPOINT` hook, 9 steps × 5 repository kinds) leaves a repository that reads as exactly the
//! old or exactly the new one — pointer files byte-equal to one of the two, everything they name present
//! — that apt-get and dnf read without a mismatch; and the next publish completes it.

use std::fs;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use wharf_test::{Apt, Dnf, Garage, apt_problems, tree, write};

use crate::s3::{on_garage, setup, today};
use crate::wharf;

/// The failpoint's exit code (wharf_publish::txn::FAILPOINT_EXIT).
const FAILPOINT_EXIT: i32 = 86;
const STEPS: [&str; 9] = [
    "planned", "packages", "blobs", "journal", "fixed", "segments", "state", "pointers", "gc",
];

/// The kind's packaging arguments and its pointer files.
fn kind(name: &str) -> (Vec<&'static str>, Vec<&'static str>) {
    match name {
        "apt" => (
            vec!["--format", "deb"],
            vec![
                "dists/stable/Release",
                "dists/stable/Release.gpg",
                "dists/stable/InRelease",
            ],
        ),
        "rpm" => (
            vec!["--format", "rpm"],
            vec![
                "linux-x86_64/repodata/repomd.xml",
                "linux-x86_64/repodata/repomd.xml.asc",
            ],
        ),
        "opkg" => (
            vec!["--format", "ipk", "--target", "x86_64-unknown-linux-musl"],
            vec![
                "opkg/x86_64/Packages.gz",
                "opkg/x86_64/Packages",
                "opkg/x86_64/Packages.sig",
            ],
        ),
        "apk" => (
            vec!["--format", "apk", "--target", "x86_64-unknown-linux-musl"],
            vec!["apk/x86_64/APKINDEX.tar.gz"],
        ),
        _ => (
            vec!["--format", "apk3", "--target", "x86_64-unknown-linux-musl"],
            vec!["apk3/x86_64/packages.adb"],
        ),
    }
}

/// Packages the demo at `version` for the kind.
pub(crate) fn package(dir: &Path, cfg: &Path, version: &str, args: &[&str]) -> Vec<String> {
    let text = std::fs::read_to_string(cfg).unwrap();
    let text = text
        .lines()
        .map(|l| {
            if l.starts_with("version = ") {
                format!("version = \"{version}\"")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    write(cfg, text + "\n");
    let out = dir.join(format!("dist-{version}"));
    let d = wharf_test::run(
        wharf(dir)
            .env("SOURCE_DATE_EPOCH", today())
            .args([
                "package",
                "-c",
                cfg.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ])
            .args(args),
    )
    .success();
    d.stdout.lines().map(str::to_owned).collect()
}

fn publish(dir: &Path, cfg: &Path, to: &str, files: &[String], garage: &Garage) -> std::process::Command {
    let mut c = on_garage(dir, garage);
    c.env("WHARF_LOCK_LEASE", "1s")
        .args(["publish", "-c", cfg.to_str().unwrap(), "--to", to, "--sign"])
        // One base URL for every copy, so the .repo files are equal too.
        .args(["--base-url", "http://packages.example.invalid"])
        .args(files);
    c
}

/// Files a reader may rely on: everything but the state and apt's plain-named indexes (apt fetches those
/// by hash).
fn relied_on(path: &str) -> bool {
    let state = path.starts_with(".wharf/");
    let plain_apt_index =
        path.starts_with("dists/") && !path.contains("by-hash") && !path.contains("Release");
    !state && !plain_apt_index
}

fn crash_kind(name: &str) {
    let Some(s) = setup(&["apt-get", "dnf"]) else {
        return;
    };
    let (garage, cfg, dir) = (&s.garage, &s.cfg, s.dir.as_path());
    let (args, pointers) = kind(name);
    let old = package(dir, cfg, "1.0.0", &args);
    let new = package(dir, cfg, "2.0.0", &args);

    // Reference repositories in directories: the old set, and the old set plus the new.
    let reference = |label: &str, batches: &[&[String]]| {
        let to = dir.join(label).display().to_string();
        for files in batches {
            wharf_test::run(&mut publish(dir, cfg, &to, files, garage)).success();
        }
        tree(&dir.join(label))
    };
    let before = reference("ref-old", &[&old]);
    let after = reference("ref-new", &[&old, &new]);

    for step in STEPS {
        let prefix = format!("{name}-{step}");
        let to = garage.url(&prefix);
        wharf_test::run(&mut publish(dir, cfg, &to, &old, garage)).success();
        let crashed = wharf_test::run(
            publish(dir, cfg, &to, &new, garage).env("WHARF_FAILPOINT", format!("{name}:{step}")),
        );
        assert_eq!(
            crashed.code,
            Some(FAILPOINT_EXIT),
            "{name}:{step}: {}",
            crashed.all()
        );

        // Pointers are all old or all new, and everything the chosen set names is there.
        let now: Vec<Option<Vec<u8>>> = pointers
            .iter()
            .map(|p| garage.fetch(&format!("{prefix}/{p}")))
            .collect();
        let matches = |snap: &[(String, Vec<u8>)]| {
            pointers.iter().zip(&now).all(|(p, got)| {
                snap.iter()
                    .any(|(k, b)| k == p && got.as_deref() == Some(b.as_slice()))
            })
        };
        let seen = if matches(&before) {
            &before
        } else if matches(&after) {
            &after
        } else {
            panic!("{name}:{step}: pointer files are neither the old nor the new ones");
        };
        for (path, bytes) in seen.iter().filter(|(p, _)| relied_on(p)) {
            assert!(
                garage.fetch(&format!("{prefix}/{path}")).as_deref() == Some(bytes.as_slice()),
                "{name}:{step}: {path} is missing or differs"
            );
        }
        let versions = if std::ptr::eq(seen, &before) {
            "1.0.0"
        } else {
            "2.0.0"
        };
        client_reads(
            name,
            dir,
            &garage.web_url(&prefix),
            &format!("{step}-crashed"),
            versions,
        );

        // A publish that adds nothing repairs what the crashed one left half-switched: every file a
        // client without by-hash reads (apt's plain `Packages` too) agrees with the pointers again.
        wharf_test::run(&mut publish(dir, cfg, &to, &old, garage)).success();
        let mut verify = on_garage(dir, garage);
        let checked = wharf_test::run(verify.args(["verify", &to]));
        assert!(
            checked.ok,
            "{name}:{step}: after a publish that adds nothing\n{}",
            checked.all()
        );

        // The next publish completes the crashed one.
        wharf_test::run(&mut publish(dir, cfg, &to, &new, garage)).success();
        for (path, bytes) in after.iter().filter(|(p, _)| relied_on(p)) {
            assert!(
                garage.fetch(&format!("{prefix}/{path}")).as_deref() == Some(bytes.as_slice()),
                "{name}:{step}: after recovery, {path} is missing or differs"
            );
        }
        client_reads(
            name,
            dir,
            &garage.web_url(&prefix),
            &format!("{step}-recovered"),
            "2.0.0",
        );
    }
}

/// apt-get update / dnf makecache of the repository at `base` (Garage's web endpoint, or `file://` for a
/// directory) succeed without a mismatch, and the newest `demo` they see is `newest`. The feed kinds are
/// checked byte for byte by the callers (no client here).
fn client_reads(name: &str, dir: &Path, base: &str, label: &str, newest: &str) {
    match name {
        "apt" => {
            let apt = Apt::new(
                &dir.join(format!("apt-{label}")),
                base,
                "stable",
                "main",
                &dir.join("ref-old/archive-keyring.gpg"),
            );
            let update = apt.update().success();
            assert!(
                apt_problems(&update.all()).is_empty(),
                "{label}: {}",
                update.all()
            );
            let policy = apt.cmd("apt-cache", &["policy", "demo"]).success().stdout;
            assert!(
                policy.contains(&format!("Candidate: {newest}")),
                "{label}: {policy}"
            );
        }
        "rpm" => {
            let dnf = Dnf::new(
                &dir.join(format!("dnf-{label}")),
                &format!("{base}/linux-x86_64"),
                &format!("{base}/RPM-GPG-KEY-demo"),
            );
            dnf.run(&["makecache"]).success();
            let q = dnf
                .run(&[
                    "repoquery",
                    "--latest-limit",
                    "1",
                    "--qf",
                    "%{version}\\n",
                    "demo",
                ])
                .success()
                .stdout;
            assert_eq!(q.trim(), newest, "{label}");
        }
        _ => {}
    }
}

#[test]
fn apt_survives_a_crash_at_every_step() {
    crash_kind("apt");
}

#[test]
fn rpm_md_survives_a_crash_at_every_step() {
    crash_kind("rpm");
}

#[test]
fn opkg_survives_a_crash_at_every_step() {
    crash_kind("opkg");
}

#[test]
fn apk_survives_a_crash_at_every_step() {
    crash_kind("apk");
}

#[test]
fn apk3_survives_a_crash_at_every_step() {
    crash_kind("apk3");
}

/// A publish into a directory, killed with SIGKILL at a random moment (not at a failpoint), `KILLS` times
/// per kind: after each, the pointers are exactly the old or the new ones and everything they name is
/// there; apt-get and dnf read it (every `CLIENT_EVERY`th kill, for time); a publish that adds nothing
/// leaves a repository `verify` passes; and the next publish completes the killed one.
fn random_kills(name: &str) {
    const KILLS: u64 = 30;
    const CLIENT_EVERY: u64 = 6;
    if !wharf_test::require(&["apt-get", "dnf", "cp"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = crate::s3::five_kind_project(&dir.join("proj"));
    let (args, pointers) = kind(name);
    let old = package(dir, &cfg, "1.0.0", &args);
    let new = package(dir, &cfg, "2.0.0", &args);
    let publish = |to: &Path, files: &[String]| {
        let mut c = wharf(dir);
        c.env("SOURCE_DATE_EPOCH", today())
            .args([
                "publish",
                "-c",
                cfg.to_str().unwrap(),
                "--to",
                to.to_str().unwrap(),
                "--sign",
            ])
            .args(["--base-url", "http://packages.example.invalid"])
            .args(files);
        c
    };
    let old_repo = dir.join("ref-old");
    wharf_test::run(&mut publish(&old_repo, &old)).success();
    let before = tree(&old_repo);
    let new_repo = dir.join("ref-new");
    wharf_test::run(Command::new("cp").arg("-a").arg(&old_repo).arg(&new_repo)).success();
    let started = Instant::now();
    wharf_test::run(&mut publish(&new_repo, &new)).success();
    let span = started.elapsed().as_micros() as u64 * 6 / 5 + 1;
    let after = tree(&new_repo);
    // The moments are random; the seed is printed so that a failure can be replayed.
    let mut seed = std::env::var("WHARF_KILL_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64 | 1);
    eprintln!("{name}: random kills with WHARF_KILL_SEED={seed}, over {span} µs");
    let mut saw = (0, 0);
    for n in 0..KILLS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let at = Duration::from_micros(seed % span);
        let repo = dir.join(format!("kill-{n}"));
        wharf_test::run(Command::new("cp").arg("-a").arg(&old_repo).arg(&repo)).success();
        let mut child = publish(&repo, &new)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(at);
        let _ = child.kill();
        let _ = child.wait();
        let label = format!("{name} kill {n} at {at:?} (WHARF_KILL_SEED={seed})");
        // Each pointer file is the old or the new one. A group's pointers are written back to back, so a
        // kill can fall between two of them (the window ARCHITECTURE.md names): the one the client reads
        // first decides which repository it sees (apt: InRelease; rpm-md: repomd.xml; opkg: Packages.gz).
        let version_of = |p: &str| -> Option<&'static str> {
            let got = fs::read(repo.join(p)).ok();
            let is = |snap: &[(String, Vec<u8>)]| {
                snap.iter()
                    .any(|(k, b)| k == p && got.as_deref() == Some(b.as_slice()))
            };
            if is(&before) {
                Some("1.0.0")
            } else if is(&after) {
                Some("2.0.0")
            } else {
                None
            }
        };
        let versions: Vec<Option<&str>> = pointers.iter().map(|p| version_of(p)).collect();
        assert!(
            versions.iter().all(Option::is_some),
            "{label}: a pointer file is neither old nor new: {versions:?}"
        );
        let primary = if name == "apt" {
            "dists/stable/InRelease"
        } else {
            pointers[0]
        };
        let newest = version_of(primary).unwrap_or_default();
        let seen = if newest == "1.0.0" { &before } else { &after };
        let mixed = versions.iter().any(|v| *v != Some(newest));
        if newest == "1.0.0" {
            saw.0 += 1;
        } else {
            saw.1 += 1;
        }
        for (path, bytes) in seen
            .iter()
            .filter(|(p, _)| relied_on(p) && !pointers.contains(&p.as_str()))
        {
            assert!(
                fs::read(repo.join(path)).ok().as_deref() == Some(bytes.as_slice()),
                "{label}: {path} is missing or differs"
            );
        }
        if n % CLIENT_EVERY == 0 && !(mixed && name == "rpm") {
            client_reads(
                name,
                dir,
                &format!("file://{}", repo.display()),
                &format!("kill-{n}"),
                newest,
            );
        }
        // A publish that adds nothing repairs what the killed one left half-switched.
        wharf_test::run(&mut publish(&repo, &old)).success();
        let checked = wharf_test::run(wharf(dir).args(["verify", repo.to_str().unwrap()]));
        assert!(
            checked.ok,
            "{label}: after a publish that adds nothing\n{}",
            checked.all()
        );
        // The next publish completes the killed one.
        wharf_test::run(&mut publish(&repo, &new)).success();
        for (path, bytes) in after.iter().filter(|(p, _)| relied_on(p)) {
            assert!(
                fs::read(repo.join(path)).ok().as_deref() == Some(bytes.as_slice()),
                "{label}: after recovery, {path} is missing or differs"
            );
        }
        fs::remove_dir_all(&repo).unwrap();
    }
    eprintln!(
        "{name}: {} kills left the old repository, {} the new",
        saw.0, saw.1
    );
}

#[test]
fn apt_survives_random_kills() {
    random_kills("apt");
}

#[test]
fn rpm_md_survives_random_kills() {
    random_kills("rpm");
}

#[test]
fn opkg_survives_random_kills() {
    random_kills("opkg");
}

#[test]
fn apk_survives_random_kills() {
    random_kills("apk");
}

#[test]
fn apk3_survives_random_kills() {
    random_kills("apk3");
}

/// A publish killed after writing its state segments and before the state that names them leaves
/// segments no state names; the next publish finds the crashed one's journal and makes every unnamed
/// segment garbage, so none stays for ever.
#[test]
fn segments_a_crash_left_unnamed_become_garbage() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = crate::s3::five_kind_project(&dir.join("proj"));
    let (args, _) = kind("apt");
    let old = package(dir, &cfg, "1.0.0", &args);
    let new = package(dir, &cfg, "2.0.0", &args);
    let repo = dir.join("repo");
    let publish = |files: &[String]| {
        let mut c = wharf(dir);
        c.env("SOURCE_DATE_EPOCH", today())
            .args(["publish", "-c", cfg.to_str().unwrap(), "--to"])
            .arg(&repo)
            .args(files);
        c
    };
    let state =
        || wharf_publish::state::read_json(&|k| fs::read(repo.join(k)).ok(), ".wharf/apt/state").unwrap();
    let unaccounted = || -> Vec<String> {
        let s = state();
        fs::read_dir(repo.join(".wharf/apt/segments"))
            .unwrap()
            .map(|e| format!("segments/{}", e.unwrap().file_name().to_string_lossy()))
            .filter(|n| {
                let named = s["segments"].as_array().unwrap().iter().any(|v| v == n.as_str());
                !named && s["garbage"].get(format!(".wharf/apt/{n}")).is_none()
            })
            .collect()
    };
    wharf_test::run(&mut publish(&old)).success();
    let crashed = wharf_test::run(publish(&new).env("WHARF_FAILPOINT", "apt:segments"));
    assert_eq!(crashed.code, Some(FAILPOINT_EXIT), "{}", crashed.all());
    assert!(!unaccounted().is_empty(), "the crash left no segment unnamed");
    // The publish after it (adding nothing) accounts for every segment; the one after that names the
    // crashed publish's segments again, and they are no longer garbage.
    wharf_test::run(&mut publish(&old)).success();
    assert_eq!(unaccounted(), Vec::<String>::new());
    wharf_test::run(&mut publish(&new)).success();
    assert_eq!(unaccounted(), Vec::<String>::new());
    let s = state();
    for n in s["segments"].as_array().unwrap() {
        let key = format!(".wharf/apt/{}", n.as_str().unwrap());
        assert!(s["garbage"].get(&key).is_none(), "{key} is named and garbage");
    }
}
