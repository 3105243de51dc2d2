//! Key policy: `wharf key check` names what each client holds against a key and from when; a key a client
//! refuses today is refused before anything is signed; apt 3 (Debian 13, sqv) refuses a repository whose
//! key is SHA-1 self-signed, as `wharf key check` said it would.

use std::fs;
use std::path::Path;
use std::process::Command;

use wharf_test::{TempDir, require, run};

use crate::{demo_project, wharf_run};

/// A gpg home in `dir` making keys without a passphrase.
fn gpg(home: &Path, args: &[&str]) -> wharf_test::Done {
    fs::create_dir_all(home).unwrap();
    run(Command::new("gpg")
        .env("GNUPGHOME", home)
        .args(["--batch", "--pinentry-mode", "loopback", "--passphrase", ""])
        .args(args))
}

/// A gpg key `uid` (`algo`, expiry `expire`) with `extra` options; its public and secret halves written as
/// `dir/<name>.asc` and `dir/<name>.secret.asc`.
fn gpg_key(home: &Path, dir: &Path, name: &str, algo: &str, expire: &str, extra: &[&str]) {
    let uid = format!("{name} <{name}@example.org>");
    let mut args: Vec<&str> = extra.to_vec();
    args.extend(["--quick-gen-key", &uid, algo, "sign", expire]);
    gpg(home, &args).success();
    let public = gpg(home, &["--armor", "--export", &uid]).success();
    fs::write(dir.join(format!("{name}.asc")), public.stdout).unwrap();
    let secret = gpg(home, &["--armor", "--export-secret-keys", &uid]).success();
    fs::write(dir.join(format!("{name}.secret.asc")), secret.stdout).unwrap();
}

#[test]
fn key_check_names_the_client_and_the_date_and_signing_refuses_what_clients_refuse() {
    if !require(&["gpg"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let home = dir.join("gnupg");
    gpg_key(
        &home,
        dir,
        "sha1",
        "rsa2048",
        "0",
        &["--cert-digest-algo", "SHA1"],
    );
    gpg_key(&home, dir, "dsa", "dsa2048", "0", &[]);
    gpg_key(&home, dir, "soon", "ed25519", "30d", &[]);
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "good"]).success();

    let sha1 = wharf_run(dir, &["key", "check", "sha1.asc"]);
    assert_eq!(sha1.code, Some(1), "{}", sha1.all());
    assert!(
        sha1.stdout.contains("refused: the self-signature on \"sha1 <sha1@example.org>\" is made with SHA-1: apt 3 (Debian 13, sha1.second_preimage_resistance in its sqv policy) refuses SHA-1 self-signatures since 2026-02-01"),
        "{}",
        sha1.all()
    );
    assert!(
        sha1.stdout.contains("warning: the key is RSA-2048: apt 3 (Debian 13, rsa2048 in its sqv policy) refuses RSA under 3072 bits from 2030-02-01"),
        "{}",
        sha1.all()
    );
    let dsa = wharf_run(dir, &["key", "check", "dsa.asc"]);
    assert!(
        dsa.code == Some(1)
            && dsa.stdout.contains(
                "refused: the key is DSA: apt 3 (sqv) and Ubuntu 24.04's apt refuse DSA keys since 2024-02-01"
            ),
        "{}",
        dsa.all()
    );
    let soon = wharf_run(dir, &["key", "check", "soon.asc"]).success();
    assert!(
        soon.stdout.contains("warning: the key expires on "),
        "{}",
        soon.all()
    );
    // A secret key file is checked by its public half; wharf's own keys pass.
    for good in ["good/secret.asc", "good/public.asc"] {
        let ok = wharf_run(dir, &["key", "check", good]).success();
        assert!(
            ok.stdout
                .contains("ok: apt 3 (sqv), Ubuntu 24.04's apt and rpm accept it"),
            "{}",
            ok.all()
        );
    }
    let json = wharf_run(dir, &["--json", "key", "check", "sha1.asc"]);
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["findings"][1]["level"], "refused", "{v}");

    // Signing with the SHA-1 key is refused before anything is written; the expiring key signs, warned.
    let cfg = demo_project(&dir.join("proj"));
    let c = cfg.to_str().unwrap();
    let refused = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--format",
            "deb",
            "--to",
            "repo",
            "--key",
            "sha1.secret.asc",
        ],
    );
    assert!(
        !refused.ok
            && refused.stderr.contains("would sign a repository clients refuse")
            && refused.stderr.contains("SHA-1"),
        "{}",
        refused.all()
    );
    assert!(!dir.join("repo").exists());
    let warned = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--format",
            "deb",
            "--to",
            "repo",
            "--key",
            "soon.secret.asc",
        ],
    )
    .success();
    assert!(warned.stderr.contains("the key expires on "), "{}", warned.all());
}

/// apt 3 from the Debian 13 root refuses a repository whose key is SHA-1 self-signed (the InRelease signed
/// again with it by gpg, since wharf refuses to), and takes the one wharf signed.
#[test]
fn apt_3_refuses_a_repository_whose_key_is_sha1_self_signed() {
    if !require(&["debootstrap", "chroot", "gpg"]) {
        return;
    }
    let root = wharf_test::trixie_root(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let home = dir.join("gnupg");
    gpg_key(
        &home,
        dir,
        "sha1",
        "rsa3072",
        "0",
        &["--cert-digest-algo", "SHA1"],
    );
    let cfg = demo_project(&dir.join("proj"));
    wharf_run(
        dir,
        &[
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "deb",
            "--to",
            "repo",
        ],
    )
    .success();
    // The same repository signed by the SHA-1 key: InRelease made again by gpg, the keyring its key.
    let bad = dir.join("bad");
    run(Command::new("cp").arg("-a").arg(dir.join("repo")).arg(&bad)).success();
    let release = bad.join("dists/stable/Release");
    let inrelease = bad.join("dists/stable/InRelease");
    fs::remove_file(&inrelease).unwrap();
    let _ = fs::remove_file(bad.join("dists/stable/Release.gpg"));
    gpg(
        &home,
        &[
            "--digest-algo",
            "SHA512",
            "--local-user",
            "sha1@example.org",
            "--clearsign",
            "--output",
            inrelease.to_str().unwrap(),
            release.to_str().unwrap(),
        ],
    )
    .success();
    let keyring = bad.join("archive-keyring.gpg");
    fs::remove_file(&keyring).unwrap();
    gpg(
        &home,
        &[
            "--output",
            keyring.to_str().unwrap(),
            "--export",
            "sha1@example.org",
        ],
    )
    .success();
    let checked = wharf_run(dir, &["key", "check", "sha1.asc"]);
    assert!(
        checked.code == Some(1) && checked.stdout.contains("SHA-1 self-signatures since 2026-02-01"),
        "{}",
        checked.all()
    );

    let update = |name: &str| {
        let keyring = dir.join(name).join("archive-keyring.gpg");
        let apt = wharf_test::Apt::in_root(
            &root,
            &format!("keys-{name}"),
            "file:/nowhere",
            "stable",
            "main",
            &keyring,
        );
        let uri = apt.copy_in(&dir.join(name));
        apt.set_uri(&uri, "stable", "main");
        apt.update()
    };
    let good = update("repo");
    assert!(wharf_test::apt_problems(&good.all()).is_empty(), "{}", good.all());
    let refused = update("bad");
    // sqv's reason, the date `wharf key check` named.
    let all = refused.all();
    assert!(
        all.contains("SHA1 is not considered secure since 2026-02-01T00:00:00Z")
            && all.contains("E: The repository 'file:/srv/")
            && all.contains("/repo stable InRelease' is not signed."),
        "apt 3 took the SHA-1 self-signed key:\n{all}"
    );
}

/// The next generation of clients, from the Debian 13 root (a copy: this test installs into it): rpm 4.20
/// checks wharf's signed rpm, and install.sh installs the release through apt 3, over `wharf serve`.
#[test]
fn debian_13_rpm_and_apt_take_a_release_and_install_sh_installs_it() {
    if !require(&["debootstrap", "chroot"]) {
        return;
    }
    let shared = wharf_test::trixie_root(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let t = TempDir::new().unwrap();
    let root = t.path().join("root");
    run(Command::new("cp").arg("-a").arg(&shared).arg(&root)).success();
    let dir = t.path().join("work");
    let cfg = demo_project(&dir.join("proj"));
    wharf_run(&dir, &["key", "generate", "openpgp", "-o", "k"]).success();
    let port = wharf_test::server_port();
    let base = format!("http://127.0.0.1:{port}");
    wharf_run(
        &dir,
        &[
            "release",
            "-c",
            cfg.to_str().unwrap(),
            "--version",
            "1.0.0",
            "--format",
            "deb",
            "--format",
            "rpm",
            "--to",
            "public",
            "--base-url",
            &base,
            "--key",
            "k/secret.asc",
        ],
    )
    .success();
    let mut serve = crate::wharf(&dir);
    serve.args([
        "serve",
        "--from",
        "public",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let _server = crate::serve::Server::spawn(serve, port);

    // rpm 4.20: the package's signature, by the key the repository publishes.
    let rpm_version = run(Command::new("chroot").arg(&root).args(["rpm", "--version"])).success();
    assert!(
        rpm_version.stdout.starts_with("RPM version 4.20"),
        "{}",
        rpm_version.stdout
    );
    let srv = root.join("srv/wharf");
    fs::create_dir_all(&srv).unwrap();
    let rpm = fs::read_dir(dir.join("public/releases/1.0.0"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with(".x86_64.rpm"))
        .unwrap();
    fs::copy(&rpm, srv.join("demo.rpm")).unwrap();
    fs::copy(dir.join("public/RPM-GPG-KEY-demo"), srv.join("key.asc")).unwrap();
    let rpmkeys = |args: &[&str]| {
        run(Command::new("chroot")
            .arg(&root)
            .args(["rpmkeys", "--dbpath", "/srv/wharf/rpmdb"])
            .args(args))
    };
    rpmkeys(&["--import", "/srv/wharf/key.asc"]).success();
    let checked = rpmkeys(&["--checksig", "/srv/wharf/demo.rpm"]).success();
    assert!(
        checked.stdout.contains("digests signatures OK"),
        "{}",
        checked.all()
    );

    // install.sh, as a user runs it: it adds the source and the key, and apt 3 installs. (The chroot has no
    // /dev/pts for dpkg's terminal log.)
    wharf_test::write(
        &root.join("etc/apt/apt.conf.d/90wharf-test"),
        "Dpkg::Use-Pty \"0\";\n",
    );
    fs::copy(dir.join("public/install.sh"), srv.join("install.sh")).unwrap();
    let installed = run(Command::new("chroot")
        .arg(&root)
        .args(["sh", "/srv/wharf/install.sh", "--method", "apt"])
        .env("DEBIAN_FRONTEND", "noninteractive"));
    assert!(installed.ok, "{}", installed.all());
    assert!(
        wharf_test::apt_problems(&installed.all()).is_empty(),
        "{}",
        installed.all()
    );
    assert!(root.join("usr/bin/demo").is_file(), "{}", installed.all());
    let version = run(Command::new("chroot").arg(&root).args(["apt-get", "--version"])).success();
    assert!(version.stdout.starts_with("apt 3."), "{}", version.stdout);
}
