//! OpenWrt .ipk packages and signed opkg feeds. opkg and usign are not installable here (formats.md
//! §11.3), so the feed is checked the way opkg checks it: `signify-openbsd -V` (usign's format is
//! signify's) over the uncompressed `Packages`, every `Size`/`SHA256sum` recomputed, and the .ipk layout
//! opkg-lede's unarchiver expects.

use std::fs;
use std::path::Path;
use std::process::Command;

use sha2::Digest;
use wharf_core::deb822::Paragraph;
use wharf_test::{TempDir, nfpm_ipk, require, run, write};

use crate::{demo_project, wharf_run};

pub(crate) fn signify(public: &Path, feed: &Path) -> wharf_test::Done {
    run(Command::new("signify-openbsd")
        .arg("-V")
        .arg("-p")
        .arg(public)
        .arg("-x")
        .arg(feed.join("Packages.sig"))
        .arg("-m")
        .arg(feed.join("Packages")))
}

#[test]
fn openwrt_feeds_per_architecture_signed_with_usign() {
    if !require(&["signify-openbsd", "nfpm", "tar", "gzip"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    // Seed 000 ships the feed's key inside its packages.
    fs::write(
        &cfg,
        fs::read_to_string(&cfg).unwrap() + "\n[ipk]\nship-key = true\n",
    )
    .unwrap();
    for triple in ["x86_64-unknown-linux-musl", "mipsel-unknown-linux-musl"] {
        write(
            &dir.join(format!("proj/target/{triple}/release/demo")),
            format!("#!/bin/sh\necho {triple}\n"),
        );
    }
    let keygen = wharf_run(dir, &["key", "generate", "usign", "-o", "ukeys"]).success();
    let fp = keygen
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("fingerprint: ")
        .to_owned();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "pkeys"]).success();
    let c = cfg.to_str().unwrap();
    let out = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--format",
            "ipk",
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "mipsel-unknown-linux-musl",
            "--to",
            "repo",
            "--key",
            "pkeys/secret.asc",
            "--usign-key",
            "ukeys/key-build",
        ],
    )
    .success();
    // The router's two commands, runnable as printed: the key by its URL, the feed by the router's arch.
    let repo_url = format!("file://{}", dir.join("repo").display());
    for line in [
        format!("wget -O /etc/opkg/keys/{fp} {repo_url}/opkg/keys/{fp}"),
        format!(
            "echo \"src/gz demo {repo_url}/opkg/$(opkg print-architecture | awk 'END {{ print $2 }}')\" >> /etc/opkg/customfeeds.conf"
        ),
    ] {
        assert!(out.stdout.contains(&line), "{line} not in\n{}", out.stdout);
    }
    assert!(!out.stdout.contains('<'), "a placeholder in\n{}", out.stdout);
    assert!(
        out.stderr.contains("demo 1.0.0 (mips_siflower, ipk)"),
        "{}",
        out.stderr
    );
    // nFPM's .ipk is accepted too (the reader is calibrated on the reference producer).
    let peer = nfpm_ipk(&dir.join("peer"), "peer", "3.1.0", "peer");
    wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--to",
            "repo",
            "--key",
            "pkeys/secret.asc",
            "--usign-key",
            "ukeys/key-build",
            peer.to_str().unwrap(),
        ],
    )
    .success();

    let repo = dir.join("repo/opkg");
    let published_key = repo.join("keys").join(&fp);
    assert_eq!(
        fs::read_to_string(&published_key).unwrap(),
        fs::read_to_string(dir.join("ukeys/key-build.pub")).unwrap()
    );
    for feed in ["x86_64", "mipsel_24kc", "mips_siflower"] {
        let f = repo.join(feed);
        for key in [&published_key, &dir.join("ukeys/key-build.pub")] {
            let v = signify(key, &f);
            assert!(
                v.ok && v.stdout.contains("Signature Verified"),
                "{feed}: {}",
                v.all()
            );
        }
        let packages = fs::read(f.join("Packages")).unwrap();
        let mut unzipped = Vec::new();
        std::io::Read::read_to_end(
            &mut flate2::read::GzDecoder::new(&fs::read(f.join("Packages.gz")).unwrap()[..]),
            &mut unzipped,
        )
        .unwrap();
        assert_eq!(unzipped, packages, "{feed}: Packages.gz is not Packages");
        let text = String::from_utf8(packages).unwrap();
        let stanzas = Paragraph::parse_all(&text).unwrap();
        let names: Vec<&str> = stanzas.iter().map(|s| s.get("Package").unwrap()).collect();
        assert!(
            names.contains(&"demo") && names.contains(&"demo-data"),
            "{feed}: {names:?}"
        );
        for s in &stanzas {
            let file = f.join(s.get("Filename").unwrap());
            let bytes = fs::read(&file).unwrap();
            assert_eq!(
                s.get("Size").unwrap(),
                bytes.len().to_string(),
                "{feed}: Size of {}",
                file.display()
            );
            assert_eq!(
                s.get("SHA256sum").unwrap(),
                hex::encode(sha2::Sha256::digest(&bytes)),
                "{feed}: SHA256sum"
            );
            assert!(
                s.get("SourceDateEpoch").is_none() && s.get("Maintainer").is_none(),
                "fields OpenWrt strips"
            );
            let arch = s.get("Architecture").unwrap();
            assert!(arch == feed || arch == "all", "{feed}: {arch}");
        }
        // The layout opkg-lede unpacks: a gzip'd tar of gzip'd members.
        let demo = f.join(
            stanzas
                .iter()
                .find(|s| s.get("Package") == Some("demo"))
                .unwrap()
                .get("Filename")
                .unwrap(),
        );
        let listing = run(Command::new("tar").arg("-tzf").arg(&demo)).success().stdout;
        assert_eq!(
            listing, "./control.tar.gz\n./data.tar.gz\n./debian-binary\n",
            "{feed}"
        );
        // The feed's public key travels in one package, where opkg looks for it, and is kept over a
        // sysupgrade; the others depend on that package (opkg refuses two packages owning one file:
        // check_data_file_clashes).
        let keyring = f.join(
            stanzas
                .iter()
                .find(|s| s.get("Package") == Some("demo-keyring"))
                .expect("the keyring package is in every feed")
                .get("Filename")
                .unwrap(),
        );
        let member = |pkg: &Path, file: &str| {
            run(Command::new("sh").arg("-c").arg(format!(
                "tar -xzOf '{}' ./data.tar.gz | tar -xzOf - {file}",
                pkg.display()
            )))
        };
        assert_eq!(
            member(&keyring, &format!("./etc/opkg/keys/{fp}"))
                .success()
                .stdout,
            fs::read_to_string(&published_key).unwrap(),
            "{feed}: shipped key"
        );
        assert!(
            member(&keyring, "./lib/upgrade/keep.d/demo-keyring")
                .success()
                .stdout
                .contains(&format!("/etc/opkg/keys/{fp}\n")),
            "{feed}: keep.d"
        );
        assert!(
            !member(&demo, &format!("./etc/opkg/keys/{fp}")).ok,
            "{feed}: key in demo too"
        );
        let demo_stanza = stanzas.iter().find(|s| s.get("Package") == Some("demo")).unwrap();
        assert!(
            demo_stanza.get("Depends").unwrap_or("").contains("demo-keyring"),
            "{feed}: {demo_stanza:?}"
        );
        // A tampered index fails verification (the check is not vacuous).
        let tampered = dir.join(format!("tampered-{feed}"));
        fs::create_dir_all(&tampered).unwrap();
        fs::write(
            tampered.join("Packages"),
            text.replace("Package: demo\n", "Package: evil\n"),
        )
        .unwrap();
        fs::copy(f.join("Packages.sig"), tampered.join("Packages.sig")).unwrap();
        assert!(
            !signify(&published_key, &tampered).ok,
            "{feed}: a tampered Packages verified"
        );
    }
    // nFPM's package lands in the feed of its own architecture.
    let x86 = fs::read_to_string(repo.join("x86_64/Packages")).unwrap();
    assert!(x86.contains("Package: peer\n"), "{x86}");
}

#[test]
fn targets_without_openwrt_architecture_are_refused() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    write(
        &dir.join("proj/target/s390x-unknown-linux-gnu/release/demo"),
        "#!/bin/sh\n",
    );
    let d = wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "ipk",
            "--target",
            "s390x-unknown-linux-gnu",
            "-o",
            "out",
        ],
    );
    assert_eq!(d.code, Some(1), "{}", d.all());
    assert!(
        d.stderr.contains("OpenWrt has no package architecture"),
        "{}",
        d.stderr
    );
}

#[test]
fn feeds_are_reproducible() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(dir, &["key", "generate", "usign", "-o", "ukeys"]).success();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "pkeys"]).success();
    let mut trees = Vec::new();
    for run_name in ["a", "b"] {
        let cfg = demo_project(&dir.join(format!("proj-{run_name}")));
        write(
            &dir.join(format!(
                "proj-{run_name}/target/aarch64-unknown-linux-musl/release/demo"
            )),
            "#!/bin/sh\n",
        );
        let repo = dir.join(format!("repo-{run_name}"));
        wharf_test::run(crate::wharf(dir).env("SOURCE_DATE_EPOCH", "1700000000").args([
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "ipk",
            "--target",
            "aarch64-unknown-linux-musl",
            "--to",
            repo.to_str().unwrap(),
            "--key",
            "pkeys/secret.asc",
            "--usign-key",
            "ukeys/key-build",
        ]))
        .success();
        trees.push(wharf_test::tree(&repo));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    assert!(
        trees[0]
            .iter()
            .any(|(p, _)| p == "opkg/aarch64_cortex-a53/Packages.sig"),
        "{:?}",
        trees[0].iter().map(|t| &t.0).collect::<Vec<_>>()
    );
    assert_eq!(trees[0].len(), trees[1].len());
    for ((pa, a), (pb, b)) in trees[0].iter().zip(&trees[1]) {
        assert_eq!(pa, pb);
        assert!(a == b, "{pa} differs between runs");
    }
}

#[test]
fn wrong_key_type_for_the_feed_is_one_clear_error() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    write(
        &dir.join("proj/target/x86_64-unknown-linux-musl/release/demo"),
        "#!/bin/sh\n",
    );
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "pkeys"]).success();
    // An OpenPGP key where the usign key belongs.
    let d = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "ipk",
            "--target",
            "x86_64-unknown-linux-musl",
            "--to",
            "repo",
            "--key",
            "pkeys/secret.asc",
            "--usign-key",
            "pkeys/secret.asc",
        ],
    );
    assert_eq!(d.code, Some(1), "{}", d.all());
    assert!(
        d.stderr.contains("not a usign secret key") && d.stderr.contains("pkeys/secret.asc"),
        "{}",
        d.stderr
    );
    assert!(!dir.join("repo").exists(), "the store was touched");
}
