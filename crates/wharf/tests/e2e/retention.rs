//! Retention (`keep = 3`) by each family's own version ordering, at publish time and by `wharf prune`,
//! whose `--dry-run` lists exactly what the real prune then drops and deletes (on Garage).

use std::collections::BTreeSet;
use std::path::Path;

use crate::crash::package;
use crate::s3::{on_garage, setup};
use crate::wharf_run;

/// Versions in wharf's (Debian) syntax, oldest first: a pre-release before its release, a packaging
/// revision after it (`-1` → apk `-r1`), and a pre-release of the next one. A lexical sort keeps the
/// wrong three.
const VERSIONS: [&str; 5] = ["0.9", "1.0~rc1", "1.0", "1.0-1", "1.1~beta1"];

/// An rpm of `demo` at `version` (rpm syntax, `^` included), built with the rpm crate as a peer would.
fn peer_rpm(dir: &Path, version: &str) -> String {
    let pkg = rpm::PackageBuilder::new("demo", version, "MIT", "x86_64", "demo")
        .release("1")
        .build()
        .unwrap();
    let path = dir.join(format!("demo-{version}-1.x86_64.rpm"));
    pkg.write_file(&path).unwrap();
    path.display().to_string()
}

/// Every package file of each kind, in publish order.
fn all_versions(dir: &Path, cfg: &Path) -> Vec<(String, Vec<String>)> {
    let mut kinds: Vec<(String, Vec<String>)> = Vec::new();
    for (kind, args) in [
        ("deb", vec!["--format", "deb"]),
        (
            "ipk",
            vec!["--format", "ipk", "--target", "x86_64-unknown-linux-musl"],
        ),
        (
            "apk",
            vec!["--format", "apk", "--target", "x86_64-unknown-linux-musl"],
        ),
        (
            "apk3",
            vec!["--format", "apk3", "--target", "x86_64-unknown-linux-musl"],
        ),
    ] {
        let mut files = Vec::new();
        for v in VERSIONS {
            files.extend(
                package(dir, cfg, v, &args)
                    .into_iter()
                    // Only the arch-specific `demo` (demo-data has its own versions, same rule).
                    .filter(|f| !f.contains("demo-data") && !f.contains("demo_data")),
            );
        }
        kinds.push((kind.to_owned(), files));
    }
    let rpms = dir.join("rpms");
    std::fs::create_dir_all(&rpms).unwrap();
    let files = ["0.9", "1.0~rc1", "1.0", "1.0^git1", "1.1~beta1"]
        .iter()
        .map(|v| peer_rpm(&rpms, v))
        .collect();
    kinds.push(("rpm".to_owned(), files));
    kinds
}

/// The `demo` versions a kind's state (at `key`, read with `get`) lists.
fn kept(get: &dyn Fn(&str) -> Option<Vec<u8>>, key: &str) -> BTreeSet<String> {
    let state = wharf_publish::state::read_json(get, key).unwrap();
    let mut out = BTreeSet::new();
    for records in state["groups"].as_object().unwrap().values() {
        for r in records.as_array().unwrap() {
            let field = |list: &serde_json::Value, name: &str| {
                list.as_array().unwrap().iter().find(|kv| kv[0] == name).unwrap()[1]
                    .as_str()
                    .unwrap()
                    .to_owned()
            };
            let v = if let Some(c) = r.get("control") {
                // deb, ipk: the control paragraph's fields
                field(&c["fields"], "Version")
            } else if let Some(p) = r.get("pkginfo") {
                // apk v2: .PKGINFO
                field(p, "pkgver")
            } else {
                // rpm, apk v3
                r["info"]["version"].as_str().unwrap().to_owned()
            };
            out.insert(v);
        }
    }
    out
}

const STATES: [(&str, &str); 5] = [
    ("deb", ".wharf/apt/state"),
    ("ipk", ".wharf/opkg/state"),
    ("apk", ".wharf/apk/state"),
    ("apk3", ".wharf/apk3/state"),
    ("rpm", ".wharf/rpm/state"),
];

fn expected(kind: &str) -> BTreeSet<String> {
    let v: &[&str] = match kind {
        "deb" | "ipk" => &["1.0", "1.0-1", "1.1~beta1"],
        "apk" | "apk3" => &["1.0-r0", "1.0-r1", "1.1_beta1-r0"],
        _ => &["1.0", "1.0^git1", "1.1~beta1"],
    };
    v.iter().map(|s| (*s).to_owned()).collect()
}

#[test]
fn keep_three_follows_each_familys_version_order_and_prune_does_what_its_dry_run_says() {
    let Some(s) = setup(&[]) else {
        return;
    };
    let (garage, cfg, dir) = (&s.garage, &s.cfg, s.dir.as_path());
    let kinds = all_versions(dir, cfg);
    let publish = |to: &str, files: &[String], extra: &[&str]| {
        let mut c = on_garage(dir, garage);
        c.args([
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            to,
            "--sign",
            "--grace",
            "0",
        ])
        .args(extra)
        .args(files);
        wharf_test::run(&mut c).success()
    };

    // 1. At publish time: one version after another with --keep 3.
    let local = dir.join("kept");
    for (_, files) in &kinds {
        for f in files {
            publish(local.to_str().unwrap(), std::slice::from_ref(f), &["--keep", "3"]);
        }
    }
    for (kind, key) in STATES {
        let got = kept(&|k| std::fs::read(local.join(k)).ok(), key);
        assert_eq!(got, expected(kind), "{kind} at publish time");
    }
    // The dropped versions' files are gone (grace 0); the kept ones are there.
    let deb = |v: &str| local.join(format!("pool/main/d/demo/demo_{v}_amd64.deb"));
    assert!(!deb("0.9").exists() && !deb("1.0~rc1").exists() && deb("1.0-1").exists());

    // 2. By `wharf prune` on Garage: everything published first, then pruned; the dry run lists the same.
    let to = garage.url("p");
    for (_, files) in &kinds {
        publish(&to, files, &[]);
    }
    let prune = |dry: bool| {
        let mut c = on_garage(dir, garage);
        c.args([
            "--json",
            "prune",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            &to,
            "--keep",
            "3",
            "--grace",
            "0",
        ]);
        if dry {
            c.arg("--dry-run");
        }
        let d = wharf_test::run(&mut c).success();
        let v: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
        let list = |k: &str| -> BTreeSet<String> {
            v[k].as_array()
                .unwrap()
                .iter()
                .map(|s| s.as_str().unwrap().to_owned())
                .collect()
        };
        (list("pruned"), list("deleted"))
    };
    let (dry_pruned, dry_deleted) = prune(true);
    // The dry run changed nothing.
    for (kind, key) in STATES {
        let all = kept(&|k| garage.fetch(&format!("p/{k}")), key);
        assert_eq!(all.len(), 5, "{kind}: the dry run dropped records");
    }
    let (pruned, deleted) = prune(false);
    assert_eq!(dry_pruned, pruned, "dry run and prune disagree on records");
    assert_eq!(dry_deleted, deleted, "dry run and prune disagree on files");
    assert_eq!(pruned.len(), 10, "{pruned:?}");
    for (kind, key) in STATES {
        assert_eq!(
            kept(&|k| garage.fetch(&format!("p/{k}")), key),
            expected(kind),
            "{kind} after prune"
        );
    }
    // Every file prune named is gone; the packages of the kept versions are still served.
    for key in &deleted {
        assert!(garage.fetch(&format!("p/{key}")).is_none(), "{key} still there");
    }
    assert!(
        deleted.iter().any(|k| k.ends_with("demo_0.9_amd64.deb")),
        "{deleted:?}"
    );
    assert!(garage.fetch("p/pool/main/d/demo/demo_1.0-1_amd64.deb").is_some());
}

#[test]
fn a_dry_run_prune_needs_no_key_and_makes_none() {
    if !wharf_test::require(&["nfpm"]) {
        return;
    }
    let t = wharf_test::TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "k"]).success();
    let deb = wharf_test::nfpm_deb(&dir.join("pkgs"), "alpha", "1.0.0", "a");
    wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            "k/secret.asc",
            deb.to_str().unwrap(),
        ],
    )
    .success();
    let before = wharf_test::tree(&dir.join("repo"));
    // No --key: a dry run signs nothing that is kept, so it neither asks for the repository's key nor
    // writes a throwaway one (which then failed: "signed with key A, not B").
    let d = wharf_run(dir, &["prune", "--to", "repo", "--dry-run", "--keep", "1"]);
    assert!(d.ok, "{}", d.all());
    assert!(d.stdout.contains("dry run"), "{}", d.all());
    assert!(!dir.join(".wharf").exists(), "a dry run wrote a throwaway key");
    assert_eq!(
        wharf_test::tree(&dir.join("repo")),
        before,
        "a dry run changed the store"
    );
}

/// `prune --keep 1` without `--channel` prunes every channel's tree (development builds included), and
/// retention applies to releases: `release --keep 2` keeps each channel's two newest releases, listed and
/// on disk.
#[test]
fn prune_reaches_every_channel_and_releases_are_retained() {
    let t = wharf_test::TempDir::new().unwrap();
    let dir = t.path();
    let cfg = crate::demo_project(dir);
    let c = cfg.to_str().unwrap();
    for v in ["1.0.1~~dev.1", "1.0.1~~dev.2", "1.0.1~~dev.3"] {
        wharf_run(
            dir,
            &[
                "publish",
                "-c",
                c,
                "--format",
                "deb",
                "--format",
                "rpm",
                "--channel",
                "dev",
                "--version",
                v,
                "--to",
                "public",
            ],
        )
        .success();
    }
    let rpms = |tree: &str| -> usize {
        std::fs::read_dir(dir.join(tree))
            .map(|d| {
                d.filter(|e| {
                    e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with("demo-1")
                })
                .count()
            })
            .unwrap_or(0)
    };
    assert_eq!(rpms("public/dev/linux-x86_64/Packages/d"), 3);
    let pruned = wharf_run(
        dir,
        &["prune", "-c", c, "--keep", "1", "--grace", "0", "--to", "public"],
    )
    .success();
    assert!(pruned.stderr.contains("rpm-md (dev)"), "{}", pruned.all());
    assert_eq!(rpms("public/dev/linux-x86_64/Packages/d"), 1, "{}", pruned.all());
    let packages = std::fs::read_to_string(dir.join("public/dists/dev/main/binary-amd64/Packages")).unwrap();
    assert_eq!(packages.matches("Package: demo\n").count(), 1, "{packages}");

    for v in ["2.0.0", "2.1.0", "2.2.0"] {
        wharf_run(
            dir,
            &[
                "release",
                "-c",
                c,
                "--version",
                v,
                "--keep",
                "2",
                "--to",
                "public",
            ],
        )
        .success();
    }
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("public/releases/index.json")).unwrap())
            .unwrap();
    let listed: Vec<&str> = index["releases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["version"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["2.2.0", "2.1.0"]);
    assert!(wharf_test::tree(&dir.join("public/releases/2.0.0")).is_empty());
    assert!(dir.join("public/releases/2.1.0/SHA256SUMS").is_file());
}
