//! A wharf-built and an nFPM-built package, published by wharf, installed by apt-get over HTTP and file:,
//! by apt 2.6 (Debian 12, gpgv) and apt 3 (Debian 13, sqv) alike.

use std::fs;

use wharf_test::{Apt, HttpServer, TempDir, apt_problems, dpkg_deb, nfpm_deb, require, throwaway_key};

use crate::{demo_project, find_deb, wharf_run};

#[test]
fn apt_installs_wharf_and_nfpm_packages() {
    if !require(&["apt-get", "apt-cache", "dpkg", "nfpm", "python3"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    let key = throwaway_key(&dir.join("key"));
    wharf_run(dir, &["package", "-c", cfg.to_str().unwrap(), "-o", "dist"]).success();
    let peer = nfpm_deb(&dir.join("peer"), "peer", "2.1.0", "peer");
    let native = dpkg_deb(&dir.join("native"), "native", "0.9");
    let demo = find_deb(&dir.join("dist"), "demo");
    let data = find_deb(&dir.join("dist"), "demo-data");
    let out = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            "repo",
            "--key",
            key.to_str().unwrap(),
            demo.to_str().unwrap(),
            data.to_str().unwrap(),
            peer.to_str().unwrap(),
            native.to_str().unwrap(),
        ],
    )
    .success();
    assert!(
        out.stderr
            .contains("Published pool/main/p/peer/peer_2.1.0_amd64.deb"),
        "{}",
        out.stderr
    );

    let repo = dir.join("repo");
    let keyring = repo.join("archive-keyring.gpg");
    let server = HttpServer::start(&repo, dir);
    // Both client generations: the host's apt 2.6 (gpgv), and apt 3 (sqv) from the Debian 13 root.
    let trixie = require(&["debootstrap", "chroot"])
        .then(|| wharf_test::trixie_root(std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))));
    let mut clients = Vec::new();
    for (name, uri) in [
        ("http", server.url()),
        ("file", format!("file://{}", repo.display())),
    ] {
        clients.push((
            format!("apt 2, {name}"),
            Apt::new(&dir.join(format!("apt-{name}")), &uri, "stable", "main", &keyring),
        ));
        if let Some(root) = &trixie {
            let apt = Apt::in_root(root, &format!("accept-{name}"), &uri, "stable", "main", &keyring);
            if name == "file" {
                let inside = apt.copy_in(&repo);
                apt.set_uri(&inside, "stable", "main");
            }
            clients.push((format!("apt 3, {name}"), apt));
        }
    }
    for (name, apt) in &clients {
        let update = apt.update().success();
        assert!(
            apt_problems(&update.all()).is_empty(),
            "{name}: apt-get update complained:\n{}",
            update.all()
        );
        assert!(update.all().contains("InRelease"), "{}", update.all());
        let show = apt
            .cmd("apt-cache", &["show", "demo", "peer", "demo-data", "native"])
            .success();
        for v in [
            "Version: 1.0.0",
            "Version: 2.1.0",
            "Package: demo-data",
            "Version: 0.9",
        ] {
            assert!(
                show.stdout.contains(v),
                "{name}: apt-cache show lacks {v}:\n{}",
                show.stdout
            );
        }
        let install = apt.install(&["demo", "peer", "demo-data", "native"]).success();
        assert!(
            apt_problems(&install.all()).is_empty(),
            "{name}: {}",
            install.all()
        );
        assert!(install.all().contains("demo postinst ran"), "{}", install.all());
        let root = apt.root();
        assert_eq!(fs::read(root.join("usr/bin/demo")).unwrap(), crate::demo_binary());
        assert_eq!(
            fs::read_link(root.join("usr/bin/demo-link")).unwrap().to_str(),
            Some("demo")
        );
        assert!(root.join("etc/demo/demo.conf").is_file());
        assert!(root.join("usr/share/demo-data/example.conf").is_file());
        assert_eq!(
            fs::read(root.join("usr/share/demo-data/blob.bin")).unwrap(),
            crate::demo_blob()
        );
        assert!(root.join("usr/bin/peer").is_file());
        assert!(root.join("usr/bin/native").is_file());
        let status = fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
        assert!(status.contains("Conffiles:\n /etc/demo/demo.conf"), "{status}");
    }
    // The config's `valid-for-days` reached the Release apt just accepted with Check-Valid-Until on.
    let release = fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    assert!(release.contains("Valid-Until: "), "{release}");
    // With Acquire-By-Hash, apt fetched the index by its SHA512 name.
    let requests = server.requests().join("\n");
    assert!(
        requests.contains("/by-hash/SHA512/"),
        "apt did not use by-hash:\n{requests}"
    );
}

#[test]
fn republishing_is_idempotent_and_conflicts_are_refused() {
    if !require(&["nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let key = throwaway_key(&dir.join("key"));
    let a = nfpm_deb(&dir.join("a"), "peer", "1.0.0", "one");
    let args = |p: &std::path::Path| {
        vec![
            "publish".to_owned(),
            "--to".into(),
            "repo".into(),
            "--key".into(),
            key.display().to_string(),
            p.display().to_string(),
        ]
    };
    let run = |p: &std::path::Path| {
        let a = args(p);
        wharf_run(dir, &a.iter().map(String::as_str).collect::<Vec<_>>())
    };
    run(&a).success();
    let published = wharf_test::tree(&dir.join("repo"));
    let again = run(&a).success();
    assert!(
        again.stdout.contains("0 package(s) added, 1 unchanged"),
        "{}",
        again.stdout
    );
    // No Valid-Until here: nothing changed, so nothing was re-signed or rewritten.
    assert_eq!(
        published,
        wharf_test::tree(&dir.join("repo")),
        "republishing the same package changed the repository"
    );
    // Same name/version/arch, different bytes: refused before anything changes.
    let before = wharf_test::tree(&dir.join("repo"));
    let different = nfpm_deb(&dir.join("b"), "peer", "1.0.0", "two");
    let refused = run(&different);
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("already published with different contents"),
        "{}",
        refused.stderr
    );
    assert_eq!(
        before,
        wharf_test::tree(&dir.join("repo")),
        "a refused publish changed the repository"
    );
}

#[test]
fn apt_refuses_an_expired_release() {
    // Proves the isolated apt really checks dates (the host's apt.conf.d turns the checks off here).
    if !require(&["apt-get", "nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    let key = throwaway_key(&dir.join("key"));
    let deb = nfpm_deb(&dir.join("p"), "peer", "1.0", "x");
    let month_ago = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        - 30 * 86_400;
    wharf_test::run(
        crate::wharf(dir)
            .env("SOURCE_DATE_EPOCH", month_ago.to_string())
            .args([
                "publish",
                "-c",
                cfg.to_str().unwrap(),
                "--to",
                "repo",
                "--key",
                key.to_str().unwrap(),
                deb.to_str().unwrap(),
            ]),
    )
    .success();
    let repo = dir.join("repo");
    let apt = Apt::new(
        &dir.join("apt"),
        &format!("file://{}", repo.display()),
        "stable",
        "main",
        &repo.join("archive-keyring.gpg"),
    );
    let update = apt.update();
    assert!(
        update.all().contains("is expired"),
        "apt accepted an expired Release:\n{}",
        update.all()
    );
}
