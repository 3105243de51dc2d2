//! Key rotation without a flag day: a repository signed by OLD refuses a publish with NEW alone; after
//! `wharf key rotate --add NEW` every index carries both signatures and the keyring files both keys, so
//! apt 2 (Debian 12, gpgv), apt 3 (Debian 13, sqv) and dnf each accept the repository holding either key
//! alone, and zypper — which judges by the first signature — holding the old key or the published
//! keyring; after `--retire OLD` only NEW works. The clients judge.

use std::fs;
use std::path::Path;

use wharf_test::{Apt, Dnf, TempDir, Zypper, apt_problems, require};

use crate::{demo_project, wharf_run};

/// `apt-get update` from the Debian 13 root (apt 3, sqv) against a copy of `repo`, trusting `keyring`.
fn apt3_update(root: &Path, repo: &Path, keyring: &Path, name: &str) -> wharf_test::Done {
    let apt = Apt::in_root(
        root,
        &format!("rotation-{name}"),
        "file:/nowhere",
        "stable",
        "main",
        keyring,
    );
    let uri = apt.copy_in(repo);
    apt.set_uri(&uri, "stable", "main");
    apt.update()
}

#[test]
fn a_key_is_rotated_through_an_overlap_that_every_client_accepts_with_either_key() {
    if !require(&["apt-get", "dnf", "zypper", "rpmkeys", "gpgv"]) {
        return;
    }
    let trixie = require(&["debootstrap", "chroot"])
        .then(|| wharf_test::trixie_root(Path::new(env!("CARGO_TARGET_TMPDIR"))));
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let proj = dir.join("proj");
    let cfg = demo_project(&proj);
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        text.replace(
            "[keys]\nthrowaway = true",
            "[keys]\nopenpgp = \"old/secret.asc\" # the signing key",
        ),
    )
    .unwrap();
    for name in ["old", "new"] {
        wharf_run(&proj, &["key", "generate", "openpgp", "-o", name]).success();
    }
    let fp = |name: &str| {
        let out = wharf_run(&proj, &["--json", "key", "check", &format!("{name}/public.asc")]).success();
        let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        v["fingerprint"].as_str().unwrap().to_owned()
    };
    let (old_fp, new_fp) = (fp("old"), fp("new"));
    let repo = dir.join("repo");
    let publish = |version: &str, extra: &[&str]| {
        let text = fs::read_to_string(&cfg).unwrap();
        let at = text.find("version = \"").unwrap() + 11;
        let end = at + text[at..].find('"').unwrap();
        fs::write(&cfg, format!("{}{version}{}", &text[..at], &text[end..])).unwrap();
        let mut args = vec![
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            repo.to_str().unwrap(),
        ];
        args.extend(["--format", "deb", "--format", "rpm", "--format", "pacman"]);
        args.extend(extra);
        wharf_run(dir, &args)
    };
    publish("1.0.0", &[]).success();

    // Straight to the new key: refused, and told how to rotate; nothing written.
    let before = wharf_test::tree(&repo);
    let new_secret = proj.join("new/secret.asc");
    let direct = publish("1.0.0", &["--key", new_secret.to_str().unwrap()]);
    assert!(!direct.ok, "{}", direct.all());
    assert!(
        direct
            .all()
            .contains(&format!("is signed with key {old_fp}, not {new_fp}"))
            && direct.all().contains("wharf key rotate --add NEW"),
        "{}",
        direct.all()
    );
    assert!(
        wharf_test::tree(&repo) == before,
        "a refused publish changed the repository"
    );

    // The overlap: both keys sign every index; the config keeps its comment.
    let added = wharf_run(&proj, &["key", "rotate", "--add", "new/secret.asc"]).success();
    assert!(added.all().contains("--retire OLD"), "{}", added.all());
    let text = fs::read_to_string(&cfg).unwrap();
    assert!(
        text.contains("openpgp = [\"old/secret.asc\", \"new/secret.asc\"] # the signing key"),
        "{text}"
    );
    // A key named by `[publish] key` is moved to `[keys]` first: said, and the file left alone.
    let legacy = dir.join("legacy.toml");
    fs::write(&legacy, "[publish]\nkey = \"proj/old/secret.asc\"\n").unwrap();
    let moved = wharf_run(
        dir,
        &[
            "key",
            "rotate",
            "-c",
            legacy.to_str().unwrap(),
            "--add",
            new_secret.to_str().unwrap(),
        ],
    );
    assert!(
        !moved.ok && moved.all().contains("move it to [keys] openpgp"),
        "{}",
        moved.all()
    );
    assert_eq!(
        fs::read_to_string(&legacy).unwrap(),
        "[publish]\nkey = \"proj/old/secret.asc\"\n"
    );
    let again = wharf_run(&proj, &["key", "rotate", "--add", "new/secret.asc"]);
    assert!(
        !again.ok && again.all().contains("already in [keys] openpgp"),
        "{}",
        again.all()
    );
    publish("1.0.1", &[]).success();
    let inrelease = fs::read_to_string(repo.join("dists/stable/InRelease")).unwrap();
    assert_eq!(inrelease.matches("BEGIN PGP SIGNATURE").count(), 1);
    let verified = wharf_run(
        dir,
        &[
            "--json",
            "verify",
            repo.to_str().unwrap(),
            "--key",
            proj.join("old/public.asc").to_str().unwrap(),
            "--key",
            proj.join("new/public.asc").to_str().unwrap(),
        ],
    )
    .success();
    let report: serde_json::Value = serde_json::from_str(&verified.stdout).unwrap();
    for r in report["repositories"].as_array().unwrap() {
        let by: Vec<&str> = r["signed_by"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        // pacman's database keeps the first key's signature alone.
        let want: &[&str] = if r["kind"] == "pacman" {
            &[old_fp.as_str()]
        } else {
            &[old_fp.as_str(), new_fp.as_str()]
        };
        assert_eq!(by, want, "{r}");
    }
    // Each client, holding one key alone.
    let apt_with = |key: &str, n: &str| {
        let apt = Apt::new(
            &dir.join(format!("apt-{n}")),
            &format!("file://{}", repo.display()),
            "stable",
            "main",
            &proj.join(format!("{key}/keyring.gpg")),
        );
        (apt.update(), apt)
    };
    let dnf_with = |key: &str, n: &str| {
        let dnf = Dnf::new(
            &dir.join(format!("dnf-{n}")),
            &format!("file://{}/linux-x86_64", repo.display()),
            &format!("file://{}", proj.join(format!("{key}/public.asc")).display()),
        );
        dnf.run(&["makecache"])
    };
    let zypper_with = |key: &Path, n: &str| {
        let z = Zypper::new(
            &dir.join(format!("zypper-{n}")),
            &format!("file://{}/linux-x86_64", repo.display()),
            key,
        );
        z.run(&["refresh"])
    };
    let refreshed = |d: &wharf_test::Done| d.ok && d.all().contains("All repositories have been refreshed");
    for key in ["old", "new"] {
        let (update, apt) = apt_with(key, &format!("overlap-{key}"));
        assert!(
            update.ok && apt_problems(&update.all()).is_empty(),
            "apt 2 with {key}: {}",
            update.all()
        );
        let install = apt.install(&["demo-data"]);
        assert!(
            install.ok && apt.root().join("usr/share/demo-data/blob.bin").is_file(),
            "apt 2 with {key}: {}",
            install.all()
        );
        if let Some(root) = &trixie {
            let update = apt3_update(root, &repo, &proj.join(format!("{key}/keyring.gpg")), key);
            assert!(
                update.ok && apt_problems(&update.all()).is_empty(),
                "apt 3 with {key}: {}",
                update.all()
            );
        }
        let dnf = dnf_with(key, &format!("overlap-{key}"));
        assert!(
            dnf.ok && dnf.all().contains("Metadata cache created"),
            "dnf with {key}: {}",
            dnf.all()
        );
    }
    // zypper judges repomd.xml by one of its signatures — the first, the old key's (libzypp's
    // `readSignatureKeyId` takes one fingerprint) — so during the overlap it needs the old key: the
    // clients that had it keep working, and new ones get both keys from the published keyring.
    let zypper = zypper_with(&proj.join("old/public.asc"), "overlap-old");
    assert!(refreshed(&zypper), "zypper with old: {}", zypper.all());
    let zypper = zypper_with(&repo.join("RPM-GPG-KEY-demo"), "overlap-both");
    assert!(
        refreshed(&zypper),
        "zypper with the published keyring: {}",
        zypper.all()
    );
    let zypper = zypper_with(&proj.join("new/public.asc"), "overlap-new");
    assert!(
        !refreshed(&zypper)
            && zypper
                .all()
                .contains("Signature verification failed for repomd.xml"),
        "zypper with new alone: {}",
        zypper.all()
    );
    // The published keyrings hold both keys: what install.sh pins and users install.
    let published = fs::read_to_string(repo.join("archive-keyring.asc")).unwrap();
    let mut ring = wharf_sign::Keyring::new();
    assert_eq!(ring.add(published.as_bytes()).unwrap(), 2);
    let mut ring = wharf_sign::Keyring::new();
    assert_eq!(
        ring.add(&fs::read(repo.join("RPM-GPG-KEY-demo")).unwrap())
            .unwrap(),
        2
    );
    // pacman checks every signature it finds: its database stays signed by the old key alone, and the
    // new key is published beside it for `pacman-key --add` before the switch.
    for fp in [&old_fp, &new_fp] {
        assert!(
            repo.join(format!("pacman/keys/{fp}.asc")).is_file(),
            "pacman key {fp}"
        );
    }

    // Retired: the new key alone; a client holding only the old one refuses the repository.
    let retired = wharf_run(&proj, &["key", "rotate", "--retire", &old_fp]).success();
    assert!(retired.all().contains("old/secret.asc"), "{}", retired.all());
    assert!(
        fs::read_to_string(&cfg)
            .unwrap()
            .contains("openpgp = \"new/secret.asc\"")
    );
    let last = wharf_run(&proj, &["key", "rotate", "--retire", "new/secret.asc"]);
    assert!(
        !last.ok && last.all().contains("the only signing key"),
        "{}",
        last.all()
    );
    publish("1.0.2", &[]).success();
    let (update, _) = apt_with("new", "after-new");
    assert!(
        update.ok && apt_problems(&update.all()).is_empty(),
        "{}",
        update.all()
    );
    let (update, _) = apt_with("old", "after-old");
    assert!(
        update.all().contains("NO_PUBKEY") || update.all().contains("is not signed"),
        "apt 2 took the retired key: {}",
        update.all()
    );
    if let Some(root) = &trixie {
        let refused = apt3_update(root, &repo, &proj.join("old/keyring.gpg"), "after-old");
        assert!(
            refused.all().contains("is not signed"),
            "apt 3 took the retired key: {}",
            refused.all()
        );
    }
    assert!(dnf_with("new", "after-new").ok);
    let refused = dnf_with("old", "after-old");
    assert!(!refused.ok, "dnf took the retired key: {}", refused.all());
    let zypper = zypper_with(&proj.join("new/public.asc"), "after-new");
    assert!(refreshed(&zypper), "zypper with new: {}", zypper.all());
    let refused = zypper_with(&proj.join("old/public.asc"), "after-old");
    assert!(
        !refreshed(&refused),
        "zypper took the retired key: {}",
        refused.all()
    );
}

/// apk v2: during the overlap every package and APKINDEX carries one `.SIGN.RSA256.<name>` per key, each
/// verified by `openssl dgst -verify` with its own public key, so apk — which takes the first signature
/// whose key name it trusts — accepts them holding either key; after retiring, the new key's alone.
#[test]
fn an_apk_key_is_rotated_with_both_signatures_in_every_package_and_index() {
    use crate::apk::{entries, gzip_members, openssl_verify};
    if !require(&["openssl"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let proj = dir.join("proj");
    let cfg = demo_project(&proj);
    // The demo "binary" (a script) as built for the musl target too.
    wharf_test::write(
        &proj.join("target/x86_64-unknown-linux-musl/release/demo"),
        crate::demo_binary(),
    );
    let text = fs::read_to_string(&cfg).unwrap();
    fs::write(
        &cfg,
        text.replace(
            "[keys]\nthrowaway = true",
            "[keys]\nthrowaway = true\napk = \"apk-old/old.rsa\"",
        ),
    )
    .unwrap();
    for name in ["old", "new"] {
        let out = format!("apk-{name}");
        wharf_run(
            &proj,
            &[
                "key", "generate", "apk-rsa", "--name", name, "--bits", "2048", "-o", &out,
            ],
        )
        .success();
    }
    let repo = dir.join("repo");
    let scratch = dir.join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let publish = |version: &str| {
        let files = crate::crash::package(
            dir,
            &cfg,
            version,
            &["--format", "apk", "--target", "x86_64-unknown-linux-musl"],
        );
        let mut args = vec![
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            repo.to_str().unwrap(),
        ];
        args.extend(files.iter().map(String::as_str));
        wharf_run(dir, &args).success();
        files
    };
    // Each signature member of `file`'s first gzip member, verified against the key of its name.
    let signed_by = |file: &Path| -> Vec<String> {
        let bytes = fs::read(file).unwrap();
        let members = gzip_members(&bytes);
        entries(&members[0])
            .into_iter()
            .map(|(name, sig)| {
                let key = name
                    .strip_prefix(".SIGN.RSA256.")
                    .unwrap()
                    .trim_end_matches(".rsa.pub")
                    .to_owned();
                let public = proj.join(format!("apk-{key}/{key}.rsa.pub"));
                openssl_verify(&name, &sig, &members[1], &public, &scratch);
                key
            })
            .collect()
    };
    let verify_with = |key: &str| {
        wharf_run(
            dir,
            &[
                "verify",
                repo.to_str().unwrap(),
                "--key",
                proj.join(format!("apk-{key}/{key}.rsa.pub")).to_str().unwrap(),
            ],
        )
    };
    let index = repo.join("apk/x86_64/APKINDEX.tar.gz");
    publish("1.0.0");
    assert_eq!(signed_by(&index), ["old"]);

    wharf_run(&proj, &["key", "rotate", "--add", "apk-new/new.rsa"]).success();
    assert!(
        fs::read_to_string(&cfg)
            .unwrap()
            .contains("apk = [\"apk-old/old.rsa\", \"apk-new/new.rsa\"]")
    );
    let files = publish("1.0.1");
    assert_eq!(signed_by(&index), ["old", "new"]);
    for f in &files {
        assert_eq!(signed_by(Path::new(f)), ["old", "new"], "{f}");
    }
    assert!(repo.join("apk/keys/old.rsa.pub").is_file() && repo.join("apk/keys/new.rsa.pub").is_file());
    let v = verify_with("old");
    assert!(v.ok, "verify holding old alone: {}", v.all());
    // Holding the new key alone, the index and every package since the rotation pass; the packages
    // signed before it carry the old key's signature alone (apk would refuse to install those).
    let v = verify_with("new");
    let faults: Vec<&str> = v
        .stdout
        .lines()
        .filter(|l| l.contains(": package-signature: "))
        .collect();
    assert!(
        v.all().contains("signed by new.rsa.pub")
            && faults.len() == 2
            && faults
                .iter()
                .all(|l| l.contains("-1.0.0-r0.apk") && l.contains(".SIGN.RSA256.old.rsa.pub")),
        "{}",
        v.all()
    );

    wharf_run(&proj, &["key", "rotate", "--retire", "old.rsa.pub"]).success();
    let files = publish("1.0.2");
    assert_eq!(signed_by(&index), ["new"]);
    for f in &files {
        assert_eq!(signed_by(Path::new(f)), ["new"], "{f}");
    }
    let v = verify_with("old");
    assert!(
        !v.ok && v.all().contains("which is none of the given keys"),
        "{}",
        v.all()
    );
}
