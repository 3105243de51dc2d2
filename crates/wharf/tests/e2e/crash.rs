//! Crash consistency on a real S3 server: a publish killed after each step of the transaction (the
//! `WHARF_FAILPOINT` hook, 7 steps × 5 repository kinds) leaves a repository that reads as exactly the
//! old or exactly the new one — pointer files byte-equal to one of the two, everything they name present
//! — that apt-get and dnf read without a mismatch; and the next publish completes it.

use std::path::Path;

use wharf_test::{Apt, Dnf, Garage, apt_problems, tree, write};

use crate::s3::{on_garage, setup, today};
use crate::wharf;

/// The failpoint's exit code (wharf_publish::txn::FAILPOINT_EXIT).
const FAILPOINT_EXIT: i32 = 86;
const STEPS: [&str; 7] = ["planned", "packages", "blobs", "fixed", "state", "pointers", "gc"];

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
        client_reads(name, dir, garage, &prefix, &format!("{step}-crashed"), versions);

        // The next publish completes the crashed one.
        wharf_test::run(&mut publish(dir, cfg, &to, &new, garage)).success();
        for (path, bytes) in after.iter().filter(|(p, _)| relied_on(p)) {
            assert!(
                garage.fetch(&format!("{prefix}/{path}")).as_deref() == Some(bytes.as_slice()),
                "{name}:{step}: after recovery, {path} is missing or differs"
            );
        }
        client_reads(name, dir, garage, &prefix, &format!("{step}-recovered"), "2.0.0");
    }
}

/// apt-get update / dnf makecache through Garage's web endpoint succeed without a mismatch, and the
/// newest `demo` they see is `newest`. The feed kinds are checked byte for byte above (no client here).
fn client_reads(name: &str, dir: &Path, garage: &Garage, prefix: &str, label: &str, newest: &str) {
    let base = garage.web_url(prefix);
    match name {
        "apt" => {
            let apt = Apt::new(
                &dir.join(format!("apt-{label}")),
                &base,
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
