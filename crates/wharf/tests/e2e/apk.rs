//! Alpine apk v2 packages and signed APKINDEX repositories. apk-tools is not installable here
//! (formats.md §11.3), so each check is what apk does, made with independent tools: the gzip members are
//! split here (not by wharf's reader), every signature is verified by `openssl dgst -verify` with the
//! published public key, `datahash` and `C:` are recomputed, and every `S:` is the file's size. The same
//! checks run on nFPM's signed apk first (calibration).

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Read};
use std::path::Path;
use std::process::Command;

use base64::Engine as _;
use sha1::Digest as _;
use wharf_test::{TempDir, nfpm_apk, require, run};

use crate::{demo_project, wharf_run};

/// Splits concatenated gzip members, returning each member's compressed bytes.
pub(crate) fn gzip_members(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut rest = bytes;
    let mut out = Vec::new();
    while !rest.is_empty() {
        let before = rest.len();
        let mut d = flate2::bufread::GzDecoder::new(&mut rest);
        io::copy(&mut d, &mut io::sink()).expect("a valid gzip member");
        drop(d);
        let start = bytes.len() - before;
        out.push(bytes[start..start + (before - rest.len())].to_vec());
    }
    out
}

/// The (name, content) entries of a gzip'd tar member.
pub(crate) fn entries(member: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(member));
    a.entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let name = e.path().unwrap().display().to_string();
            let mut body = Vec::new();
            e.read_to_end(&mut body).unwrap();
            (name, body)
        })
        .collect()
}

/// `openssl dgst -sha1|-sha256 -verify public -signature sig` over `data`, for a `.SIGN.RSA*.` member.
#[track_caller]
pub(crate) fn openssl_verify(sig_name: &str, sig: &[u8], data: &[u8], public: &Path, scratch: &Path) {
    let digest = if sig_name.starts_with(".SIGN.RSA256.") {
        "-sha256"
    } else if sig_name.starts_with(".SIGN.RSA.") {
        "-sha1"
    } else {
        panic!("unexpected signature entry {sig_name}")
    };
    fs::write(scratch.join("sig.bin"), sig).unwrap();
    fs::write(scratch.join("signed.bin"), data).unwrap();
    let v = run(Command::new("openssl")
        .args(["dgst", digest, "-verify"])
        .arg(public)
        .arg("-signature")
        .arg(scratch.join("sig.bin"))
        .arg(scratch.join("signed.bin")));
    assert!(
        v.ok && v.stdout.contains("Verified OK"),
        "{sig_name}: {}",
        v.all()
    );
}

/// What checking one package found.
pub(crate) struct Checked {
    pub(crate) identity: String,
    pub(crate) pkginfo: String,
    pub(crate) data: Vec<(String, Vec<u8>)>,
}

/// Checks an apk v2 package as apk does: three gzip members; the signature (verified with `public`)
/// covers the control member; `datahash` is sha256 of the data member; every file and symlink carries
/// a pax SHA-1 that matches.
pub(crate) fn check_package(apk: &Path, public: &Path, scratch: &Path) -> Checked {
    let bytes = fs::read(apk).unwrap();
    let members = gzip_members(&bytes);
    assert_eq!(members.len(), 3, "{}: signature, control, data", apk.display());
    let sig = entries(&members[0]);
    assert_eq!(sig.len(), 1, "{sig:?}");
    openssl_verify(&sig[0].0, &sig[0].1, &members[1], public, scratch);
    let control = entries(&members[1]);
    assert_eq!(control[0].0, ".PKGINFO", "{}: .PKGINFO first", apk.display());
    let pkginfo = String::from_utf8(control[0].1.clone()).unwrap();
    let datahash = pkginfo
        .lines()
        .find_map(|l| l.strip_prefix("datahash = "))
        .expect("datahash");
    assert_eq!(datahash, hex::encode(sha2::Sha256::digest(&members[2])));
    // The data tar: pax SHA-1 records match the content (abuild-tar --hash).
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(&members[2][..]));
    let mut data = Vec::new();
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        let name = e.path().unwrap().display().to_string();
        assert!(!name.starts_with('/') && !name.starts_with("./"), "{name}");
        let pax: BTreeMap<String, String> = e
            .pax_extensions()
            .unwrap()
            .map(|p| {
                p.map(|x| {
                    let x = x.unwrap();
                    (x.key().unwrap().to_owned(), x.value().unwrap().to_owned())
                })
                .collect()
            })
            .unwrap_or_default();
        let kind = e.header().entry_type();
        let mut body = Vec::new();
        e.read_to_end(&mut body).unwrap();
        let hashed: Option<Vec<u8>> = if kind.is_file() {
            Some(body.clone())
        } else if kind.is_symlink() {
            Some(e.link_name_bytes().unwrap().to_vec())
        } else {
            None
        };
        if let Some(h) = hashed {
            assert_eq!(
                pax.get("APK-TOOLS.checksum.SHA1").map(String::as_str),
                Some(hex::encode(sha1::Sha1::digest(&h)).as_str()),
                "{name}"
            );
        }
        data.push((name, body));
    }
    Checked {
        identity: format!(
            "Q1{}",
            base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(&members[1]))
        ),
        pkginfo,
        data,
    }
}

/// Checks `<arch>/APKINDEX.tar.gz` as apk does and every package it lists; returns (P, V) per entry.
pub(crate) fn check_index(arch_dir: &Path, public: &Path, scratch: &Path) -> Vec<(String, String)> {
    let bytes = fs::read(arch_dir.join("APKINDEX.tar.gz")).unwrap();
    let members = gzip_members(&bytes);
    assert_eq!(members.len(), 2, "signature member + one index member");
    let sig = entries(&members[0]);
    openssl_verify(&sig[0].0, &sig[0].1, &members[1], public, scratch);
    let index = entries(&members[1]);
    let names: Vec<&str> = index.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["DESCRIPTION", "APKINDEX"]);
    let text = String::from_utf8(index[1].1.clone()).unwrap();
    let mut listed = Vec::new();
    for block in text.split("\n\n").filter(|b| !b.trim().is_empty()) {
        let field = |tag: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{tag}:")))
                .unwrap_or_else(|| panic!("no {tag}: in {block}"))
                .to_owned()
        };
        let (p, v) = (field("P"), field("V"));
        let file = arch_dir.join(format!("{p}-{v}.apk"));
        assert_eq!(
            field("S"),
            fs::metadata(&file).unwrap().len().to_string(),
            "S: of {p}"
        );
        let checked = check_package(&file, public, scratch);
        assert_eq!(field("C"), checked.identity, "C: of {p}");
        assert!(checked.pkginfo.contains(&format!("pkgver = {v}\n")));
        listed.push((p, v));
    }
    listed
}

#[test]
fn alpine_repositories_signed_with_rsa_verify_with_openssl() {
    if !require(&["openssl", "nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let scratch = dir.join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let cfg = demo_project(&dir.join("proj"));
    fs::write(
        &cfg,
        fs::read_to_string(&cfg).unwrap() + "\n[apk]\nship-key = true\n",
    )
    .unwrap();
    for triple in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        wharf_test::write(
            &dir.join(format!("proj/target/{triple}/release/demo")),
            format!("#!/bin/sh\necho {triple}\n"),
        );
    }
    wharf_run(
        dir,
        &[
            "key", "generate", "apk-rsa", "-o", "keys", "--name", "ci", "--bits", "2048",
        ],
    )
    .success();
    let public = dir.join("keys/ci.rsa.pub");

    // Calibration: nFPM's signed apk (SHA-1, `.SIGN.RSA.ci.rsa.pub`) passes the same checks.
    let peer = nfpm_apk(
        &dir.join("peer"),
        "peer",
        "3.1.0",
        "peer",
        &dir.join("keys/ci.rsa"),
        "ci",
    );
    let checked = check_package(&peer, &public, &scratch);
    assert!(checked.pkginfo.contains("pkgname = peer"));

    let c = cfg.to_str().unwrap();
    let out = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--format",
            "apk",
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "aarch64-unknown-linux-musl",
            "--to",
            "repo",
            "--apk-key",
            "keys/ci.rsa",
        ],
    )
    .success();
    assert!(
        out.stderr.contains("demo 1.0.0-r0 (aarch64, apk)"),
        "{}",
        out.stderr
    );
    assert!(
        !dir.join("proj/.wharf/throwaway-signing-key.asc").exists(),
        "an apk-only publish must not make an OpenPGP key"
    );
    assert!(out.stdout.contains("/etc/apk/keys/ci.rsa.pub"), "{}", out.stdout);
    // nFPM's package goes into the same repository.
    wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--to",
            "repo",
            "--apk-key",
            "keys/ci.rsa",
            peer.to_str().unwrap(),
        ],
    )
    .success();

    let repo = dir.join("repo/apk");
    assert_eq!(
        fs::read(repo.join("keys/ci.rsa.pub")).unwrap(),
        fs::read(&public).unwrap()
    );
    let x86 = check_index(&repo.join("x86_64"), &public, &scratch);
    assert_eq!(
        x86,
        [
            ("demo".into(), "1.0.0-r0".into()),
            ("demo-data".into(), "1.0.0-r0".into()),
            ("demo-keyring".into(), "1.0.0-r0".into()),
            ("peer".into(), "3.1.0".into()),
        ]
    );
    let arm = check_index(&repo.join("aarch64"), &public, &scratch);
    assert_eq!(
        arm.iter().map(|(p, _)| p.as_str()).collect::<Vec<_>>(),
        ["demo", "demo-data", "demo-keyring"]
    );
    // The key ships in one package (seed 000), which the others depend on: apk refuses two packages
    // owning one file. The binary is the aarch64 one.
    let keyring = check_package(&repo.join("aarch64/demo-keyring-1.0.0-r0.apk"), &public, &scratch);
    let files: BTreeMap<String, Vec<u8>> = keyring.data.into_iter().collect();
    assert_eq!(files["etc/apk/keys/ci.rsa.pub"], fs::read(&public).unwrap());
    assert!(keyring.pkginfo.contains("arch = noarch\n"), "{}", keyring.pkginfo);
    let demo = check_package(&repo.join("aarch64/demo-1.0.0-r0.apk"), &public, &scratch);
    assert!(
        demo.pkginfo.contains("depend = demo-keyring\n"),
        "{}",
        demo.pkginfo
    );
    let files: BTreeMap<String, Vec<u8>> = demo.data.into_iter().collect();
    assert!(!files.contains_key("etc/apk/keys/ci.rsa.pub"));
    assert_eq!(
        files["usr/bin/demo"],
        b"#!/bin/sh\necho aarch64-unknown-linux-musl\n"
    );
    assert!(demo.pkginfo.contains("arch = aarch64\n"));
}

/// A gzip'd tar member of (name, body) entries with raw names (even `../x`, which the tar crate's
/// own path setter refuses), cut or with end-of-archive blocks.
fn raw_member(files: &[(&str, &[u8])], eof: bool) -> Vec<u8> {
    let mut tarball = Vec::new();
    for (name, body) in files {
        let mut h = tar::Header::new_ustar();
        h.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        h.set_size(body.len() as u64);
        h.set_mode(0o644);
        h.set_entry_type(tar::EntryType::Regular);
        h.set_cksum();
        tarball.extend_from_slice(h.as_bytes());
        tarball.extend_from_slice(body);
        tarball.resize(tarball.len().div_ceil(512) * 512, 0);
    }
    if eof {
        tarball.extend_from_slice(&[0; 1024]);
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    io::Write::write_all(&mut gz, &tarball).unwrap();
    gz.finish().unwrap()
}

#[test]
fn bad_apk_input_gets_one_error_and_nothing_written() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(
        dir,
        &["key", "generate", "apk-rsa", "-o", "keys", "--bits", "2048"],
    )
    .success();
    wharf_run(dir, &["key", "generate", "usign", "-o", "ukeys"]).success();
    let cfg = demo_project(&dir.join("proj"));
    wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "apk",
            "--apk-key",
            "keys/wharf.rsa",
            "-o",
            "dist",
        ],
    )
    .success();
    let good = dir.join("dist/apk/noarch/demo-data-1.0.0-r0.apk");
    assert!(good.is_file());
    let fails = |args: &[&str], needles: &[&str]| {
        let mut all = vec!["publish", "--to", "repo"];
        all.extend_from_slice(args);
        let d = wharf_run(dir, &all);
        assert_eq!(d.code, Some(1), "{}", d.all());
        assert_eq!(
            d.stderr.lines().filter(|l| l.starts_with("error:")).count(),
            1,
            "{}",
            d.stderr
        );
        for n in needles {
            assert!(d.stderr.contains(n), "error lacks `{n}`:\n{}", d.stderr);
        }
        assert!(!dir.join("repo").exists(), "the store was touched: {}", d.stderr);
    };
    let good_arg = good.to_str().unwrap();
    // The wrong key type for the format.
    fails(
        &["--apk-key", "ukeys/key-build", "--feed", "x86_64", good_arg],
        &["ukeys/key-build", "not a usable apk key"],
    );
    fails(
        &["--apk-key", "keys/wharf.rsa.pub", "--feed", "x86_64", good_arg],
        &["wharf.rsa.pub", "is this a public key"],
    );
    // A truncated package (cut inside the data member).
    let bytes = fs::read(&good).unwrap();
    let cut = dir.join("cut-1.0-r0.apk");
    fs::write(&cut, &bytes[..bytes.len() - 40]).unwrap();
    fails(
        &[
            "--apk-key",
            "keys/wharf.rsa",
            "--feed",
            "x86_64",
            cut.to_str().unwrap(),
        ],
        &["cut-1.0-r0.apk", "truncated or corrupt"],
    );
    // apk v3: an RSA key where the EC key belongs, and a truncated package.
    wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "apk3",
            "-o",
            "dist",
        ],
    )
    .success();
    let v3 = dir.join("dist/apk3/noarch/demo-data-1.0.0-r0.apk");
    fails(
        &[
            "--apk3-key",
            "keys/wharf.rsa",
            "--feed",
            "x86_64",
            v3.to_str().unwrap(),
        ],
        &["keys/wharf.rsa", "not a usable apk key", "apk v2"],
    );
    let bytes3 = fs::read(&v3).unwrap();
    let cut3 = dir.join("cut3-1.0-r0.apk");
    fs::write(&cut3, &bytes3[..bytes3.len() / 2]).unwrap();
    wharf_run(dir, &["key", "generate", "apk-ec", "-o", "ekeys"]).success();
    fails(
        &[
            "--apk3-key",
            "ekeys/private-key.pem",
            "--feed",
            "x86_64",
            cut3.to_str().unwrap(),
        ],
        &["cut3-1.0-r0.apk", "truncated"],
    );
    // A foreign package whose data would land outside the root.
    let pkginfo = b"pkgname = evil\npkgver = 1.0-r0\narch = x86_64\nsize = 1\n";
    let mut evil = raw_member(&[(".PKGINFO", pkginfo)], false);
    evil.extend(raw_member(&[("../../etc/evil", b"x")], true));
    let evil_path = dir.join("evil-1.0-r0.apk");
    fs::write(&evil_path, evil).unwrap();
    fails(
        &["--apk-key", "keys/wharf.rsa", evil_path.to_str().unwrap()],
        &["evil-1.0-r0.apk", "../../etc/evil", "outside the root"],
    );
}
