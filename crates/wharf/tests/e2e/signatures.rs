//! gpgv and sqv (apt 3's verifier) accept InRelease and Release.gpg, for Ed25519 and RSA-4096 keys made
//! by `wharf key generate openpgp`.

use std::process::Command;

use wharf_test::{TempDir, nfpm_deb, require, run, sqv_cleartext};

use crate::wharf_run;

fn check(algorithm: &str) {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let keygen = wharf_run(
        dir,
        &[
            "key",
            "generate",
            "openpgp",
            "-o",
            "keys",
            "--algorithm",
            algorithm,
            "--name",
            "Sig Test",
        ],
    )
    .success();
    assert!(keygen.stdout.contains("fingerprint:"), "{}", keygen.stdout);
    let deb = nfpm_deb(&dir.join("p"), "peer", "1.0", "hi");
    wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            "keys/secret.asc",
            deb.to_str().unwrap(),
        ],
    )
    .success();
    let repo = dir.join("repo");
    for keyring in [repo.join("archive-keyring.gpg"), dir.join("keys/keyring.gpg")] {
        let inrel = run(Command::new("gpgv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(repo.join("dists/stable/InRelease")));
        assert!(
            inrel.ok && inrel.stderr.contains("Good signature from \"Sig Test"),
            "{algorithm}: {}",
            inrel.stderr
        );
        let det = run(Command::new("gpgv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(repo.join("dists/stable/Release.gpg"))
            .arg(repo.join("dists/stable/Release")));
        assert!(
            det.ok && det.stderr.contains("Good signature"),
            "{algorithm}: {}",
            det.stderr
        );
        let sqv = run(Command::new("sqv")
            .arg("--keyring")
            .arg(&keyring)
            .arg(repo.join("dists/stable/Release.gpg"))
            .arg(repo.join("dists/stable/Release")));
        assert!(sqv.ok, "{algorithm}: sqv rejected Release.gpg: {}", sqv.stderr);
        let sqv = sqv_cleartext(&keyring, &repo.join("dists/stable/InRelease"), dir);
        assert!(sqv.ok, "{algorithm}: sqv rejected InRelease: {}", sqv.stderr);
    }
    // The armored key published next to the repository is the same key.
    let asc = std::fs::read_to_string(repo.join("archive-keyring.asc")).unwrap();
    assert!(asc.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    // A key that did not sign is rejected (the check is not vacuous).
    let other = TempDir::new().unwrap();
    wharf_run(other.path(), &["key", "generate", "openpgp", "-o", "k2"]).success();
    let wrong = run(Command::new("gpgv")
        .arg("--keyring")
        .arg(other.path().join("k2/keyring.gpg"))
        .arg(repo.join("dists/stable/InRelease")));
    assert!(!wrong.ok, "gpgv accepted a signature from another key");
}

#[test]
fn gpgv_and_sqv_verify_ed25519() {
    if require(&["gpgv", "sqv", "nfpm"]) {
        check("ed25519");
    }
}

#[test]
fn gpgv_and_sqv_verify_rsa4096() {
    if require(&["gpgv", "sqv", "nfpm"]) {
        check("rsa4096");
    }
}
