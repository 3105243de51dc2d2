//! Byte-for-byte regression: a fixed publish of all six repository kinds and release of five (fixed keys from
//! `tests/fixtures/keys`, fixed `SOURCE_DATE_EPOCH`, fixed base URL) must give exactly the files listed in
//! `tests/fixtures/golden.txt` (path and SHA-256 of every file of both stores and of the packages built).
//! Refactoring keeps these bytes; a change that means to alter them regenerates the list with
//! `WHARF_GOLDEN_UPDATE=1` and says why in its commit.

use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use wharf_test::{run, tree, write};

use crate::{demo_binary, demo_project, wharf};

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// `path sha256` of every file under `dir` (lock files left out: they come and go).
fn listing(label: &str, dir: &Path) -> Vec<String> {
    tree(dir)
        .into_iter()
        .filter(|(p, _)| !p.contains("lock"))
        .map(|(p, bytes)| format!("{label}/{p} {}", hex::encode(Sha256::digest(&bytes))))
        .collect()
}

/// The fixed run: a publish of all six kinds into `store` (deb and rpm for the host, the musl target's ipk,
/// apk and apk3, pacman) and a release of five into `released`, with the fixed keys, date and base URL.
/// Returns the command that runs wharf the same way, for more commands over the same stores.
pub(crate) fn fixed_run(dir: &Path) -> impl Fn(&[&str]) -> wharf_test::Done + '_ {
    let cfg = demo_project(&dir.join("proj"));
    write(
        &dir.join("proj/target/x86_64-unknown-linux-musl/release/demo"),
        demo_binary(),
    );
    let keys = fixtures().join("keys");
    let key = |f: &str| keys.join(f).display().to_string();
    let key_args = [
        "--key".to_owned(),
        key("secret.asc"),
        "--usign-key".to_owned(),
        key("key-build"),
        "--apk-key".to_owned(),
        key("golden.rsa"),
        "--apk3-key".to_owned(),
        key("private-key.pem"),
    ];
    let c = cfg.to_str().unwrap();
    let base = ["--base-url", "https://golden.invalid/repo"];
    let musl = ["--target", "x86_64-unknown-linux-musl"];
    let go = move |args: &[&str]| {
        run(wharf(dir)
            .env("SOURCE_DATE_EPOCH", "1700000000")
            .args(args)
            .args(&key_args))
    };
    go(&[
        &[
            "publish", "-c", c, "--format", "deb", "--format", "rpm", "--to", "store",
        ][..],
        &base,
    ]
    .concat())
    .success();
    go(&[
        &[
            "publish", "-c", c, "--format", "ipk", "--format", "apk", "--format", "apk3", "--to", "store",
        ][..],
        &musl,
        &base,
    ]
    .concat())
    .success();
    go(&[
        &["publish", "-c", c, "--format", "pacman", "--to", "store"][..],
        &base,
    ]
    .concat())
    .success();
    go(&[
        &[
            "release",
            "-c",
            c,
            "--version",
            "1.0.0",
            "--format",
            "deb",
            "--format",
            "rpm",
            "--format",
            "ipk",
            "--format",
            "apk",
            "--format",
            "apk3",
            "--to",
            "released",
        ][..],
        &musl,
        &base,
    ]
    .concat())
    .success();
    go
}

#[test]
fn publish_and_release_bytes_are_unchanged() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let _ = fixed_run(dir);
    let mut got = listing("store", &dir.join("store"));
    got.extend(listing("released", &dir.join("released")));
    got.extend(listing("dist", &dir.join("dist")));
    let got = got.join("\n") + "\n";
    let file = fixtures().join("golden.txt");
    if std::env::var_os("WHARF_GOLDEN_UPDATE").is_some() {
        fs::write(&file, &got).unwrap();
        return;
    }
    let want = fs::read_to_string(&file).unwrap_or_default();
    if got != want {
        let (g, w): (Vec<&str>, Vec<&str>) = (got.lines().collect(), want.lines().collect());
        let changed: Vec<&&str> = g.iter().filter(|l| !w.contains(l)).collect();
        let gone: Vec<&&str> = w.iter().filter(|l| !g.contains(l)).collect();
        panic!("the published bytes changed\nnew or different: {changed:#?}\nno longer made: {gone:#?}");
    }
}
