//! A Cargo project with cargo-deb metadata and no wharf.toml packages, publishes and installs.

use std::fs;

use wharf_test::{Apt, TempDir, apt_problems, require, throwaway_key, write};

use crate::wharf_run;

#[test]
fn cargo_deb_project_without_wharf_toml() {
    if !require(&["apt-get", "dpkg"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let proj = dir.join("proj");
    write(
        &proj.join("Cargo.toml"),
        r#"[package]
name = "zero_conf"
version = "0.3.0-beta.2"
edition = "2021"
authors = ["Zed <zed@example.org>"]
description = "A tool configured only through Cargo.toml"
license = "Apache-2.0"
homepage = "https://example.org/zero"

[package.metadata.deb]
maintainer = "Zed Maintainer <zed@example.org>"
section = "admin"
extended-description = "Packaged by wharf from cargo-deb metadata alone."
assets = [
    ["target/release/zero_conf", "usr/bin/", "755"],
    ["assets/zero.toml", "etc/zero/zero.toml", "644"],
    ["assets/docs/*.md", "usr/share/doc/zero-conf/", "644"],
]
conf-files = ["/etc/zero/zero.toml"]
maintainer-scripts = "debian/"
"#,
    );
    write(&proj.join("src/main.rs"), "fn main() {}\n");
    write(&proj.join("target/release/zero_conf"), "#!/bin/sh\necho zero\n");
    write(&proj.join("assets/zero.toml"), "x = 1\n");
    write(&proj.join("assets/docs/a.md"), "# a\n");
    write(&proj.join("assets/docs/b.md"), "# b\n");
    write(
        &proj.join("debian/postinst"),
        "#!/bin/sh\nset -e\necho zero-conf configured\n",
    );
    let key = throwaway_key(&dir.join("key"));

    // No PACKAGE arguments: wharf packages the project (from Cargo.toml), then publishes.
    let out = wharf_run(
        &proj,
        &["publish", "--to", "../repo", "--key", key.to_str().unwrap()],
    )
    .success();
    assert!(
        out.stderr.contains("Packaged zero-conf 0.3.0~beta.2-1"),
        "{}",
        out.stderr
    );
    let repo = dir.join("repo");
    let apt = Apt::new(
        &dir.join("apt"),
        &format!("file://{}", repo.display()),
        "stable",
        "main",
        &repo.join("archive-keyring.gpg"),
    );
    let update = apt.update().success();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    let install = apt.install(&["zero-conf"]).success();
    assert!(
        install.all().contains("zero-conf configured"),
        "{}",
        install.all()
    );
    let root = apt.root();
    assert!(root.join("usr/bin/zero_conf").is_file());
    assert!(
        root.join("usr/share/doc/zero-conf/a.md").is_file()
            && root.join("usr/share/doc/zero-conf/b.md").is_file()
    );
    let copyright = fs::read_to_string(root.join("usr/share/doc/zero-conf/copyright")).unwrap();
    assert!(copyright.contains("License: Apache-2.0"), "{copyright}");
    let status = fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    assert!(
        status.contains("Maintainer: Zed Maintainer <zed@example.org>"),
        "{status}"
    );
    assert!(status.contains("Conffiles:\n /etc/zero/zero.toml"), "{status}");
    assert!(status.contains("Section: admin"), "{status}");
}
