//! pacman: Debian's pacman 6 (package `pacman-package-manager`) installs wharf's packages from wharf's
//! signed repository into an isolated root with `SigLevel = Required`, over `file://` and through `wharf
//! serve`; refuses a tampered database; `wharf verify` checks the repository like the other kinds; the
//! install script sets pacman up.

use std::fs;
use std::path::Path;
use std::process::Command;

use wharf_test::{require, run, server_port, write};

use crate::serve::Server;
use crate::{demo_project, wharf};

/// An isolated pacman: its own root, database, cache, configuration and keyring (initialised, the
/// repository's key added and locally signed, as `pacman-key` does it on Arch).
struct Pacman {
    dir: std::path::PathBuf,
}

impl Pacman {
    fn new(dir: &Path, server: &str, key: Option<&Path>) -> Self {
        let root = dir.join("root");
        for d in [
            "root/var/lib/pacman",
            "root/var/cache/pacman/pkg",
            "root/etc/pacman.d",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        let gpg = root.join("etc/pacman.d/gnupg");
        run(Command::new("pacman-key").arg("--gpgdir").arg(&gpg).arg("--init")).success();
        if let Some(key) = key {
            let fp = key.file_stem().unwrap().to_str().unwrap().to_owned();
            run(Command::new("pacman-key")
                .arg("--gpgdir")
                .arg(&gpg)
                .arg("--add")
                .arg(key))
            .success();
            run(Command::new("pacman-key")
                .arg("--gpgdir")
                .arg(&gpg)
                .args(["--lsign-key", &fp]))
            .success();
        }
        let repo = if server.is_empty() {
            String::new()
        } else {
            format!("\n[demo]\nServer = {server}/pacman/$arch\n")
        };
        write(
            &root.join("etc/pacman.conf"),
            format!(
                "[options]\nArchitecture = x86_64\nSigLevel = Required\nLocalFileSigLevel = Required\nGPGDir = {}\n{repo}",
                gpg.display()
            ),
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }

    fn root(&self) -> std::path::PathBuf {
        self.dir.join("root")
    }

    fn pacman(&self, args: &[&str]) -> wharf_test::Done {
        let root = self.root();
        run(Command::new("pacman")
            .arg("--config")
            .arg(root.join("etc/pacman.conf"))
            .arg("--root")
            .arg(&root)
            .arg("--dbpath")
            .arg(root.join("var/lib/pacman"))
            .arg("--cachedir")
            .arg(root.join("var/cache/pacman/pkg"))
            .arg("--noconfirm")
            .args(args))
    }
}

/// The demo project under `dir/proj` without its maintainer scripts: the installed root has no shell for
/// a scriptlet to run in.
fn project(dir: &Path) -> std::path::PathBuf {
    let dir = dir.join("proj");
    demo_project(&dir);
    let cfg = fs::read_to_string(dir.join("wharf.toml")).unwrap();
    let cfg = cfg.split("[package.scripts]").next().unwrap().to_owned();
    write(&dir.join("wharf.toml"), &cfg);
    dir
}

/// `wharf serve` of the project's `public` store on `port`.
fn serve(dir: &Path, port: u16) -> Server {
    let mut c = wharf(dir);
    c.args([
        "serve",
        "--from",
        "public",
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    Server::spawn(c, port)
}

/// The repository's public key file, as `wharf publish` put it under `pacman/keys/`.
fn published_key(store: &Path) -> std::path::PathBuf {
    let keys = store.join("pacman/keys");
    let mut found: Vec<_> = fs::read_dir(&keys).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(found.len(), 1, "{found:?}");
    found.pop().unwrap()
}

#[test]
fn pacman_installs_from_the_signed_repository_and_refuses_a_tampered_database() {
    if !require(&["pacman", "pacman-key", "gpg", "bsdtar"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = project(t.path());
    write(&dir.join("target/release/demo"), "#!/bin/sh\necho demo\n");
    let published = run(wharf(&dir).args(["publish", "--format", "pacman", "--to", "public"])).success();
    assert!(
        published.stdout.contains("pacman: 1 package(s) added"),
        "{}",
        published.stdout
    );
    let store = dir.join("public");
    let arch_dir = store.join("pacman/x86_64");
    for f in [
        "demo.db",
        "demo.db.sig",
        "demo.db.tar.gz",
        "demo.db.tar.gz.sig",
        "demo.files",
        "demo.files.sig",
        "demo-1.0.0-1-x86_64.pkg.tar.zst",
        "demo-1.0.0-1-x86_64.pkg.tar.zst.sig",
    ] {
        assert!(arch_dir.join(f).is_file(), "{f}");
    }
    // The package as pacman reads it; the database as bsdtar lists it (repo-add's layout).
    let pkg = arch_dir.join("demo-1.0.0-1-x86_64.pkg.tar.zst");
    let info = run(Command::new("pacman").arg("-Qip").arg(&pkg)).success();
    assert!(
        info.stdout.contains("Version         : 1.0.0-1"),
        "{}",
        info.stdout
    );
    assert!(
        info.stdout.contains("Architecture    : x86_64"),
        "{}",
        info.stdout
    );
    let listing = run(Command::new("bsdtar").arg("-tf").arg(arch_dir.join("demo.db"))).success();
    assert_eq!(listing.stdout, "demo-1.0.0-1/\ndemo-1.0.0-1/desc\n");
    let key = published_key(&store);

    // Over file://, with repository and package signatures required.
    let file_client = Pacman::new(
        &t.path().join("file"),
        &format!("file://{}", store.display()),
        Some(&key),
    );
    let synced = file_client.pacman(&["-Sy", "demo"]).success();
    assert!(synced.stdout.contains("installing demo"), "{}", synced.stdout);
    assert_eq!(
        fs::read_to_string(file_client.root().join("usr/bin/demo")).unwrap(),
        "#!/bin/sh\necho demo\n"
    );
    let q = file_client.pacman(&["-Q", "demo"]).success();
    assert_eq!(q.stdout.trim(), "demo 1.0.0-1");
    // The installed files agree with the package's .MTREE.
    let kk = file_client.pacman(&["-Qkk", "demo"]).success();
    assert!(kk.stdout.contains("0 altered files"), "{}", kk.stdout);

    // Through `wharf serve`.
    let port = server_port();
    let _server = serve(&dir, port);
    let url = format!("http://127.0.0.1:{port}");
    let http_client = Pacman::new(&t.path().join("http"), &url, Some(&key));
    let synced = http_client.pacman(&["-Sy", "demo"]).success();
    assert!(synced.stdout.contains("installing demo"), "{}", synced.stdout);

    // A client that does not trust the key refuses the database.
    let stranger = Pacman::new(&t.path().join("stranger"), &url, None);
    let refused = stranger.pacman(&["-Sy", "demo"]);
    assert!(!refused.ok, "{}", refused.stdout);
    let fp = key.file_stem().unwrap().to_str().unwrap();
    assert!(
        refused.stderr.contains(&format!("demo: key \"{fp}\" is unknown")),
        "{}",
        refused.stderr
    );

    // wharf verify: the store, and over http by the repository's path.
    let v = run(wharf(&dir).args(["verify", "public"])).success();
    assert!(
        v.stdout.contains("ok    pacman pacman/x86_64/demo"),
        "{}",
        v.stdout
    );
    let v = run(wharf(&dir).args(["verify", &url, "pacman/x86_64/demo"])).success();
    assert!(v.stdout.contains("ok    pacman"), "{}", v.stdout);

    // A tampered database (a description changed, re-compressed): pacman and wharf verify refuse it.
    let tampered = t.path().join("tampered");
    run(Command::new("cp").arg("-r").arg(&store).arg(&tampered)).success();
    let db = tampered.join("pacman/x86_64/demo.db");
    let x = t.path().join("x");
    fs::create_dir_all(&x).unwrap();
    run(Command::new("bsdtar").arg("-xf").arg(&db).arg("-C").arg(&x)).success();
    let desc = x.join("demo-1.0.0-1/desc");
    let text = fs::read_to_string(&desc).unwrap();
    write(&desc, text.replace("a demonstration package", "an evil package"));
    run(Command::new("bsdtar")
        .arg("-czf")
        .arg(&db)
        .arg("-C")
        .arg(&x)
        .arg("demo-1.0.0-1"))
    .success();
    let evil = Pacman::new(
        &t.path().join("evil"),
        &format!("file://{}", tampered.display()),
        Some(&key),
    );
    let refused = evil.pacman(&["-Sy", "demo"]);
    assert!(!refused.ok, "{}", refused.stdout);
    assert!(
        refused
            .stderr
            .contains("invalid or corrupted database (PGP signature)"),
        "{}",
        refused.stderr
    );
    assert!(!evil.root().join("usr/bin/demo").exists());
    let v = run(wharf(&dir).arg("verify").arg(&tampered));
    assert!(!v.ok);
    assert!(
        v.stdout.contains("pacman/x86_64/demo.db.sig: bad-signature"),
        "{}",
        v.stdout
    );

    // A tampered package: its checksum and signature fail.
    let pkg = tampered.join("pacman/x86_64/demo-1.0.0-1-x86_64.pkg.tar.zst");
    let mut bytes = fs::read(&pkg).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    fs::write(&pkg, bytes).unwrap();
    let v = run(wharf(&dir).arg("verify").arg(&tampered));
    assert!(
        v.stdout
            .contains("demo-1.0.0-1-x86_64.pkg.tar.zst: hash-mismatch"),
        "{}",
        v.stdout
    );
}

#[test]
fn install_script_sets_up_pacman() {
    if !require(&["pacman", "pacman-key", "gpg", "shellcheck"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = project(t.path());
    let port = server_port();
    let url = format!("http://127.0.0.1:{port}");
    run(wharf(&dir).args(["release", "--format", "pacman", "--base-url", &url])).success();
    let script = dir.join("public/install.sh");
    let sc = run(Command::new("shellcheck").args(["-s", "sh"]).arg(&script));
    assert!(
        sc.code == Some(0) && sc.stdout.is_empty(),
        "shellcheck: {}",
        sc.all()
    );
    let page = fs::read_to_string(dir.join("public/index.html")).unwrap();
    assert!(
        page.contains("Arch Linux (pacman)"),
        "the page lists no pacman method"
    );
    let _server = serve(&dir, port);
    // A root with pacman's configuration and an initialised keyring; install.sh adds the repository.
    let client = Pacman::new(&t.path().join("client"), "", None);
    let installed = run(Command::new("sh")
        .arg(&script)
        .args(["--method", "pacman", "--root"])
        .arg(client.root()));
    assert!(installed.ok, "{}", installed.all());
    assert!(
        installed.stdout.contains("installing demo"),
        "{}",
        installed.all()
    );
    assert!(client.root().join("usr/bin/demo").is_file());
    let conf = fs::read_to_string(client.root().join("etc/pacman.conf")).unwrap();
    assert!(conf.contains("[demo]\nSigLevel = Required\n"), "{conf}");
    // Run again: nothing added twice, nothing reinstalled.
    let again = run(Command::new("sh")
        .arg(&script)
        .args(["--method", "pacman", "--root"])
        .arg(client.root()));
    assert!(again.ok, "{}", again.all());
    let conf = fs::read_to_string(client.root().join("etc/pacman.conf")).unwrap();
    assert_eq!(conf.matches("[demo]").count(), 1, "{conf}");
}

#[test]
fn version_order_is_pacmans() {
    if !require(&["vercmp"]) {
        return;
    }
    let versions = [
        "1.0", "1.0-1", "1.0-2", "1.0.0", "1.0.1", "1.0a", "1.0rc1", "1.0rc.1", "1.0.rc1", "1.0..1", "1.0_1",
        "1:0.9", "2:1.0-1", "0:1.0", "1.0+git1", "1.0.a", "010", "10", "1.10", "1.9", "2.0beta", "2.0b",
        "1.0-1.1", "1.0-1.a",
    ];
    for a in versions {
        for b in versions {
            let real = run(Command::new("vercmp").args([a, b])).success();
            let want = match real.stdout.trim() {
                "-1" => std::cmp::Ordering::Less,
                "0" => std::cmp::Ordering::Equal,
                "1" => std::cmp::Ordering::Greater,
                other => panic!("vercmp printed {other}"),
            };
            assert_eq!(wharf_index::pacman::vercmp(a, b), want, "{a} vs {b}");
        }
    }
}
