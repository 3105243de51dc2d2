//! Snapshots (insta) of the text wharf writes — each kind's index entries, the release's notes, sums and
//! manifest — and of the commands' `--json`, from the golden run's fixed keys, date and base URL. A change
//! shows as a readable diff (`cargo insta review`); times, temporary paths and byte counts that vary by
//! machine are filtered out.

use std::fs;
use std::io::Read;
use std::path::Path;

use crate::golden::fixed_run;

/// The one file below `dir` whose name ends with `suffix`.
fn find(dir: &Path, suffix: &str) -> std::path::PathBuf {
    let mut found: Vec<_> = wharf_test::tree(dir)
        .into_iter()
        .map(|(p, _)| dir.join(p))
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .collect();
    assert_eq!(found.len(), 1, "{suffix}: {found:?}");
    found.pop().unwrap()
}

/// The text of member `name` of a (possibly multi-member) gzip'd tar.
fn tar_member(bytes: &[u8], want: impl Fn(&str) -> bool) -> String {
    let mut archive = tar::Archive::new(flate2::read::MultiGzDecoder::new(bytes));
    let mut out = String::new();
    for e in archive.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        if want(&name) {
            out.push_str(&format!("== {name}\n"));
            e.read_to_string(&mut out).unwrap();
        }
    }
    out
}

fn gunzip(bytes: &[u8]) -> String {
    let mut s = String::new();
    flate2::read::GzDecoder::new(bytes)
        .read_to_string(&mut s)
        .unwrap();
    s
}

/// Snapshot settings: the temporary directory and every timing filtered out.
fn settings(dir: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.add_filter(&regex_escape(&dir.display().to_string()), "[DIR]");
    s.add_filter(r#""(\w+_ms)": [0-9.e+-]+"#, r#""$1": "[ms]""#);
    s.add_filter(
        r#""(bytes_read|bytes_written|reads|writes|lists|deletes|heads)": [0-9]+"#,
        r#""$1": "[n]""#,
    );
    s.set_prepend_module_to_snapshot(false);
    s
}

fn regex_escape(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' || c == '-' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn index_entries_and_release_files() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let _ = fixed_run(dir);
    let (store, released) = (dir.join("store"), dir.join("released"));
    let read =
        |p: std::path::PathBuf| fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    settings(dir).bind(|| {
        insta::assert_snapshot!(
            "apt_packages",
            read(store.join("dists/stable/main/binary-amd64/Packages"))
        );
        insta::assert_snapshot!("apt_release", read(store.join("dists/stable/Release")));
        let primary = fs::read(find(&store.join("linux-x86_64/repodata"), "-primary.xml.gz")).unwrap();
        insta::assert_snapshot!("rpm_md_primary", gunzip(&primary));
        insta::assert_snapshot!(
            "rpm_md_repo_file",
            read(find(&store.join("linux-x86_64"), ".repo"))
        );
        let apkindex = fs::read(store.join("apk/x86_64/APKINDEX.tar.gz")).unwrap();
        insta::assert_snapshot!(
            "apkindex",
            tar_member(&apkindex, |n| n == "APKINDEX" || n == "DESCRIPTION")
        );
        insta::assert_snapshot!("opkg_packages", read(store.join("opkg/x86_64/Packages")));
        let db = fs::read(store.join("pacman/x86_64/demo.db")).unwrap();
        insta::assert_snapshot!("pacman_db", tar_member(&db, |n| n.ends_with("/desc")));
        let pkg = fs::read(find(
            &store.join("pacman/x86_64"),
            "demo-1.0.0-1-x86_64.pkg.tar.zst",
        ))
        .unwrap();
        let mut pkginfo = String::new();
        let unpacked = zstd_decode(&pkg);
        let mut archive = tar::Archive::new(unpacked.as_slice());
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().display().to_string() == ".PKGINFO" {
                e.read_to_string(&mut pkginfo).unwrap();
            }
        }
        insta::assert_snapshot!("pacman_pkginfo", pkginfo);
        for f in ["notes.md", "SHA256SUMS", "manifest.json"] {
            insta::assert_snapshot!(
                format!("release_{f}"),
                read(released.join("releases/1.0.0").join(f))
            );
        }
    });
}

/// zstd through the `zstd` command (the test crate carries no zstd decoder of its own).
fn zstd_decode(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut child = std::process::Command::new("zstd")
        .args(["-dc", "-q"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(bytes).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    out.stdout
}

/// Every writing command's `--json`, and verify's and package's, over the fixed run's stores.
#[test]
fn json_outputs() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let go = fixed_run(dir);
    let c = dir.join("proj/wharf.toml");
    let c = c.to_str().unwrap();
    let base = "https://golden.invalid/repo";
    let pretty = |done: wharf_test::Done| -> String {
        let v: serde_json::Value =
            serde_json::from_str(&done.stdout).unwrap_or_else(|e| panic!("{e}: {}", done.stdout));
        serde_json::to_string_pretty(&v).unwrap()
    };
    let json = |args: &[&str]| pretty(go(args).success());
    settings(dir).bind(|| {
        insta::assert_snapshot!(
            "json_publish_unchanged",
            json(&[
                "--json",
                "publish",
                "-c",
                c,
                "--format",
                "deb",
                "--format",
                "pacman",
                "--to",
                "store",
                "--base-url",
                base
            ])
        );
        insta::assert_snapshot!(
            "json_publish_dry_run",
            json(&[
                "--json",
                "publish",
                "-c",
                c,
                "--format",
                "rpm",
                "--to",
                "store",
                "--base-url",
                base,
                "--version",
                "1.0.1",
                "--dry-run",
            ])
        );
        insta::assert_snapshot!(
            "json_prune_dry_run",
            json(&[
                "--json",
                "prune",
                "-c",
                c,
                "--to",
                "store",
                "--keep",
                "1",
                "--dry-run"
            ])
        );
        // verify takes public keys only: those the store publishes. Its one finding: apt's Valid-Until, a
        // week after the fixed date, has passed.
        let verified = wharf_test::run(crate::wharf(dir).args(["--json", "verify", "store"]));
        assert_eq!(verified.code, Some(1), "{}", verified.all());
        insta::assert_snapshot!("json_verify", pretty(verified));
        insta::assert_snapshot!(
            "json_release_dry_run",
            json(&[
                "--json",
                "release",
                "-c",
                c,
                "--version",
                "1.0.2",
                "--format",
                "deb",
                "--to",
                "released",
                "--base-url",
                base,
                "--dry-run",
            ])
        );
        insta::assert_snapshot!(
            "json_package",
            json(&[
                "--json", "package", "-c", c, "--format", "pacman", "--format", "deb", "-o", "out"
            ])
        );
    });
}
