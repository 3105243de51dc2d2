//! Channels and promotion on Garage: a version published to `dev` and promoted to `stable` (the store's
//! top, where clients configured without a channel look) is the same bytes in every kind, and apt-get and
//! dnf install it from there.

use std::fs;

use wharf_test::{Apt, Dnf, apt_problems};

use crate::crash::package;
use crate::s3::{on_garage, setup};

#[test]
fn promoted_packages_are_byte_identical_and_install_from_the_stable_channel() {
    let Some(s) = setup(&["apt-get", "dnf"]) else {
        return;
    };
    let (garage, cfg, dir) = (&s.garage, &s.cfg, s.dir.as_path());
    let c = cfg.to_str().unwrap();
    let musl = ["--target", "x86_64-unknown-linux-musl"];
    let build = |v: &str| {
        let mut files = package(dir, cfg, v, &["--format", "deb", "--format", "rpm"]);
        files.extend(package(
            dir,
            cfg,
            v,
            &[
                "--format", "ipk", "--format", "apk", "--format", "apk3", musl[0], musl[1],
            ],
        ));
        files
    };
    let old = build("0.9");
    let new = build("1.0");
    let to = garage.url("ch");
    let base = garage.web_url("ch");
    let wharf_in = |args: &[&str], files: &[String]| {
        let mut cmd = on_garage(dir, garage);
        cmd.args(args).args(["-c", c, "--base-url", &base]).args(files);
        wharf_test::run(&mut cmd)
    };
    wharf_in(&["publish", "--to", &to, "--sign", "--channel", "stable"], &old).success();
    wharf_in(&["publish", "--to", &to, "--sign", "--channel", "dev"], &new).success();

    // A version the channel does not have: one error naming what it has.
    let mut miss = on_garage(dir, garage);
    miss.args([
        "promote", "-c", c, "demo", "7.0", "--from", "dev", "--to", "stable", "--store", &to,
    ]);
    let d = wharf_test::run(&mut miss);
    assert_eq!(d.code, Some(1), "{}", d.all());
    assert!(
        d.stderr.contains("no `demo` 7.0 in channel `dev`") && d.stderr.contains("1.0"),
        "{}",
        d.stderr
    );

    for name in ["demo", "demo-data"] {
        let mut p = on_garage(dir, garage);
        p.args([
            "--json",
            "promote",
            "-c",
            c,
            name,
            "1.0",
            "--from",
            "dev",
            "--to",
            "stable",
            "--store",
            &to,
            "--base-url",
            &base,
        ]);
        let d = wharf_test::run(&mut p).success();
        assert!(d.stderr.contains("Promoted"), "{}", d.stderr);
        // Copied inside the store: none of the packages (each over 1 MiB) is downloaded.
        let report: serde_json::Value = serde_json::from_str(&d.stdout).unwrap();
        let read = report["store_calls"]["bytes_read"].as_u64().unwrap();
        assert!(read < 1 << 20, "{name}: promotion read {read} bytes");
    }

    // The same bytes: one apt pool for both suites; per-channel trees for the other kinds, the stable
    // channel's at the top.
    let stable_packages = String::from_utf8(
        garage
            .fetch("ch/dists/stable/main/binary-amd64/Packages")
            .unwrap(),
    )
    .unwrap();
    let dev_packages =
        String::from_utf8(garage.fetch("ch/dists/dev/main/binary-amd64/Packages").unwrap()).unwrap();
    let stanza = |text: &str, v: &str| -> String {
        text.split("\n\n")
            .find(|s| s.contains("Package: demo\n") && s.contains(&format!("Version: {v}\n")))
            .unwrap_or_else(|| panic!("no demo {v} in:\n{text}"))
            .lines()
            .filter(|l| l.starts_with("Filename:") || l.starts_with("SHA256:"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(stanza(&stable_packages, "1.0"), stanza(&dev_packages, "1.0"));
    assert!(
        stable_packages.contains("Version: 0.9\n"),
        "the old version stays"
    );
    for path in [
        "linux-x86_64/Packages/d/demo-1.0-1.x86_64.rpm",
        "opkg/x86_64/demo_1.0_x86_64.ipk",
        "apk/x86_64/demo-1.0-r0.apk",
        "apk3/x86_64/demo-1.0-r0.apk",
    ] {
        let dev = garage
            .fetch(&format!("ch/dev/{path}"))
            .unwrap_or_else(|| panic!("dev/{path} missing"));
        let stable = garage.fetch(&format!("ch/{path}"));
        assert!(
            stable.as_deref() == Some(dev.as_slice()),
            "{path} is not dev's bytes"
        );
        assert!(garage.fetch(&format!("ch/stable/{path}")).is_none());
    }

    // apt-get and dnf install 1.0 from the stable channel.
    let keyring = dir.join("keyring.gpg");
    fs::write(&keyring, garage.fetch("ch/archive-keyring.gpg").unwrap()).unwrap();
    let apt = Apt::new(&dir.join("apt"), &base, "stable", "main", &keyring);
    let update = apt.update().success();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    apt.install(&["demo=1.0"]).success();
    assert!(apt.root().join("usr/bin/demo").is_file());
    let dnf = Dnf::new(
        &dir.join("dnf"),
        &format!("{base}/linux-x86_64"),
        &format!("{base}/RPM-GPG-KEY-demo"),
    );
    let ok = dnf.run(&["install", "demo-data-1.0"]).success();
    assert!(ok.all().contains("Complete!"), "{}", ok.all());
}
