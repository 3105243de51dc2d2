//! What a release ships beyond packages, and how a project that is not built by Cargo names its build
//! outputs: `{target}`, `{arch}` and `{rpm-arch}` in a source path.

use std::path::Path;
use std::process::Command;

use wharf_test::{require, run, write};

use crate::wharf;

/// A project built by something else than Cargo (Nimbus' `build/<target>/nimbus` shape).
fn make_project(dir: &Path, src: &str) {
    write(
        &dir.join("wharf.toml"),
        format!(
            "[project]\nname = \"tool\"\nversion = \"1.0.0\"\nmaintainer = \"M <m@example.org>\"\nsummary = \"a tool\"\n\n[[package]]\n[[package.files]]\nsrc = \"{src}\"\ndst = \"/usr/bin/tool\"\nmode = \"0755\"\n"
        ),
    );
}

/// The bytes a .deb installs at `path`.
fn installed(deb: &Path, path: &str) -> String {
    let dir = deb.with_extension("x");
    std::fs::create_dir_all(&dir).unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&dir)).success();
    std::fs::read_to_string(dir.join(path.trim_start_matches('/'))).unwrap()
}

#[test]
fn source_paths_name_the_target() {
    if !require(&["dpkg-deb"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    for (src, dirs) in [
        (
            "build/{target}/tool",
            [
                "build/x86_64-unknown-linux-musl/tool",
                "build/aarch64-unknown-linux-musl/tool",
            ],
        ),
        ("out/{arch}/tool", ["out/amd64/tool", "out/arm64/tool"]),
        ("bin/tool-{rpm-arch}", ["bin/tool-x86_64", "bin/tool-aarch64"]),
    ] {
        let dir = t.path().join(src.replace(['/', '{', '}'], "_"));
        make_project(&dir, src);
        for d in dirs {
            write(&dir.join(d), format!("#!/bin/sh\necho {d}\n"));
        }
        run(wharf(&dir).args([
            "package",
            "--format",
            "deb",
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "aarch64-unknown-linux-musl",
        ]))
        .success();
        let amd64 = installed(&dir.join("dist/tool_1.0.0_amd64.deb"), "/usr/bin/tool");
        let arm64 = installed(&dir.join("dist/tool_1.0.0_arm64.deb"), "/usr/bin/tool");
        assert_eq!(amd64, format!("#!/bin/sh\necho {}\n", dirs[0]), "{src}");
        assert_eq!(arm64, format!("#!/bin/sh\necho {}\n", dirs[1]), "{src}");
    }
    // Without --target, the host's triple.
    let dir = t.path().join("host");
    make_project(&dir, "build/{target}/tool");
    write(
        &dir.join(format!("build/{}/tool", wharf_core::host_triple())),
        "#!/bin/sh\necho host\n",
    );
    run(wharf(&dir).args(["package", "--format", "deb"])).success();
    // A placeholder wharf does not know is named, with the ones it does.
    let dir = t.path().join("unknown");
    make_project(&dir, "build/{triple}/tool");
    let refused = run(wharf(&dir).args(["package", "--format", "deb"]));
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("`{triple}` is not a placeholder wharf knows: use {target}, {arch} or {rpm-arch}"),
        "{}",
        refused.stderr
    );
}

#[test]
fn releases_ship_raw_binaries_with_their_sums() {
    if !require(&["sha256sum", "python3"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("proj");
    make_project(&dir, "build/{target}/tool");
    let cfg = std::fs::read_to_string(dir.join("wharf.toml")).unwrap();
    write(
        &dir.join("wharf.toml"),
        format!(
            "{cfg}\n[keys]\nthrowaway = true\n\n[release]\ntargets = [\"x86_64-unknown-linux-musl\", \"aarch64-unknown-linux-musl\"]\nchecksum-files = true\n\n[[release.binaries]]\nsrc = \"build/{{target}}/tool\"\n\n[[release.binaries]]\nsrc = \"build/{{target}}/tool\"\nname = \"{{name}}-{{version}}-{{arch}}\"\n"
        ),
    );
    for t in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        write(
            &dir.join(format!("build/{t}/tool")),
            format!("#!/bin/sh\necho {t}\n"),
        );
    }
    run(wharf(&dir).args(["release", "--format", "deb", "--to", "public"])).success();
    let rel = dir.join("public/releases/1.0.0");
    for f in [
        "tool-x86_64",
        "tool-aarch64",
        "tool-1.0.0-amd64",
        "tool-1.0.0-arm64",
    ] {
        assert!(rel.join(f).is_file(), "{f}");
        assert!(rel.join(format!("{f}.sha256")).is_file(), "{f}.sha256");
    }
    assert_eq!(
        std::fs::read_to_string(rel.join("tool-aarch64")).unwrap(),
        "#!/bin/sh\necho aarch64-unknown-linux-musl\n"
    );
    let sums = run(Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&rel))
    .success();
    assert!(sums.stdout.contains("tool-x86_64: OK"), "{}", sums.stdout);
    // The manifest lists each as a binary, and still validates against its schema.
    let manifest = std::fs::read_to_string(rel.join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""kind": "binary""#), "{manifest}");
    validates_against_the_manifest_schema(&dir.join("public"), &rel);
    // A name that is no file name is refused before anything is released.
    let bad = dir.join("bad");
    make_project(&bad, "build/{target}/tool");
    let cfg = std::fs::read_to_string(bad.join("wharf.toml")).unwrap();
    write(
        &bad.join("wharf.toml"),
        format!(
            "{cfg}\n[keys]\nthrowaway = true\n\n[[release.binaries]]\nsrc = \"tool\"\nname = \"sub/{{name}}\"\n"
        ),
    );
    write(&bad.join("tool"), "x");
    write(
        &bad.join(format!("build/{}/tool", wharf_core::host_triple())),
        "x",
    );
    let refused = run(wharf(&bad).args(["release", "--format", "deb", "--to", "public"]));
    assert!(
        !refused.ok && refused.stderr.contains("a file name is needed"),
        "{}",
        refused.all()
    );
    assert!(!bad.join("public/releases").exists());
}

/// Two programs and an architecture-independent package, as seed 000 ships them.
fn two_programs(dir: &Path, archives: &str) {
    write(
        &dir.join("wharf.toml"),
        format!(
            r#"[project]
name = "vpn"
version = "1.2.0"
maintainer = "M <m@example.org>"
summary = "a vpn"

[keys]
throwaway = true

[release]
targets = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"]

[[package]]
name = "vpnd"
[[package.files]]
src = "build/{{target}}/vpnd"
dst = "/usr/bin/vpnd"
mode = "0755"
[[package.files]]
src = "vpnd.conf"
dst = "/etc/vpnd.conf"
config = true

[[package]]
name = "vpnc"
[[package.files]]
src = "build/{{target}}/vpnc"
dst = "/usr/bin/vpnc"
mode = "0755"

[[package]]
name = "vpn-web"
arch-all = true
[[package.files]]
src = "web/index.html"
dst = "/www/vpn/index.html"
{archives}"#
        ),
    );
    write(&dir.join("vpnd.conf"), "level = 1\n");
    write(&dir.join("web/index.html"), "<p>vpn</p>\n");
    for t in ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"] {
        for p in ["vpnd", "vpnc"] {
            write(
                &dir.join(format!("build/{t}/{p}")),
                format!("#!/bin/sh\necho {p} {t}\n"),
            );
        }
    }
}

#[test]
fn archives_hold_several_packages_in_the_projects_shape() {
    if !require(&["tar", "zstd", "python3", "zip"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("proj");
    two_programs(
        &dir,
        r#"
[[release.archives]]
name = "vpn-{rpm-arch}"
packages = ["vpnd", "vpnc"]

[[release.archives]]
name = "{project}-{version}-{target}"
format = "tar.zst"
layout = "paths"
top = "{name}"

[[release.archives]]
name = "vpn-{arch}"
format = "zip"
top = "build"
"#,
    );
    // Reproducible for one SOURCE_DATE_EPOCH (directories are dated by it).
    let package = |out: &str| {
        run(wharf(&dir).env("SOURCE_DATE_EPOCH", "1700000000").args([
            "package",
            "--format",
            "deb",
            "--assets",
            "-o",
            out,
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "aarch64-unknown-linux-musl",
        ]))
        .success()
    };
    package("dist");
    let list = |args: &[&str], file: &str| -> String {
        run(Command::new("tar").args(args).arg(dir.join("dist").join(file)))
            .success()
            .stdout
    };
    // Flat, by default: both programs of the target, no directories, nothing of the arch-all package.
    assert_eq!(list(&["-tzf"], "vpn-aarch64.tar.gz"), "vpnc\nvpnd\nvpnd.conf\n");
    assert_eq!(
        run(Command::new("tar")
            .arg("-xzOf")
            .arg(dir.join("dist/vpn-aarch64.tar.gz"))
            .arg("vpnd"))
        .success()
        .stdout,
        "#!/bin/sh\necho vpnd aarch64-unknown-linux-musl\n"
    );
    // At their install paths under a top directory named like the archive.
    let paths = list(&["--zstd", "-tf"], "vpn-1.2.0-x86_64-unknown-linux-musl.tar.zst");
    assert!(
        paths.starts_with("vpn-1.2.0-x86_64-unknown-linux-musl/\n"),
        "{paths}"
    );
    assert!(
        paths.contains("vpn-1.2.0-x86_64-unknown-linux-musl/usr/bin/vpnc\n"),
        "{paths}"
    );
    assert!(
        paths.contains("vpn-1.2.0-x86_64-unknown-linux-musl/etc/vpnd.conf\n"),
        "{paths}"
    );
    assert!(!paths.contains("index.html"), "{paths}");
    // A zip that Python's zipfile reads and tests (CRC-32 of every member), modes kept.
    let zip = dir.join("dist/vpn-amd64.zip");
    let checked = run(Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nassert z.testzip() is None\nfor i in z.infolist(): print(i.filename, oct(i.external_attr >> 16), i.date_time)",
        ])
        .arg(&zip))
    .success();
    assert!(
        checked.stdout.contains("build/vpnd 0o100755"),
        "{}",
        checked.stdout
    );
    assert!(
        checked.stdout.contains("build/vpnd.conf 0o100644"),
        "{}",
        checked.stdout
    );
    // The same bytes again.
    package("again");
    for f in [
        "vpn-aarch64.tar.gz",
        "vpn-amd64.zip",
        "vpn-1.2.0-x86_64-unknown-linux-musl.tar.zst",
    ] {
        assert_eq!(
            std::fs::read(dir.join("dist").join(f)).unwrap(),
            std::fs::read(dir.join("again").join(f)).unwrap(),
            "{f}"
        );
    }
    // A release ships the archives instead of a tarball per package.
    run(wharf(&dir).args(["release", "--format", "deb", "--to", "public"])).success();
    let rel = dir.join("public/releases/1.2.0");
    assert!(rel.join("vpn-x86_64.tar.gz").is_file());
    assert!(rel.join("vpn-arm64.zip").is_file());
    assert!(!rel.join("vpnd-1.2.0-amd64.tar.gz").exists());
    let manifest = std::fs::read_to_string(rel.join("manifest.json")).unwrap();
    assert!(manifest.contains(r#""kind": "archive""#), "{manifest}");
    validates_against_the_manifest_schema(&dir.join("public"), &rel);
}

/// `releases/<version>/manifest.json` validates against `releases/manifest.schema.json` (jsonschema).
fn validates_against_the_manifest_schema(store: &Path, rel: &Path) {
    run(Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\njsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
        ])
        .arg(store.join("releases/manifest.schema.json"))
        .arg(rel.join("manifest.json")))
    .success();
}

/// The SHA-512 of `bytes`, hex.
fn sha512(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha512::digest(bytes))
}

#[test]
fn lookaside_cache_uploads_gets_and_refuses_tampered_sources() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("glib");
    make_project(&dir, "tool");
    write(&dir.join("glib-2.80.0.tar.xz"), "pretend tarball\n");
    write(&dir.join("fix.patch"), "--- a\n+++ b\n");
    let up = run(wharf(&dir).args([
        "lookaside",
        "upload",
        "--to",
        "../cache",
        "--package",
        "glib",
        "glib-2.80.0.tar.xz",
        "fix.patch",
    ]))
    .success();
    // fedpkg's line, one per file, in the project's `sources` file.
    let sources = std::fs::read_to_string(dir.join("sources")).unwrap();
    let want = format!(
        "SHA512 (glib-2.80.0.tar.xz) = {}\nSHA512 (fix.patch) = {}\n",
        sha512(b"pretend tarball\n"),
        sha512(b"--- a\n+++ b\n")
    );
    assert_eq!(sources, want);
    assert_eq!(up.stdout, want);
    let key = format!(
        "sources/glib/glib-2.80.0.tar.xz/{}/glib-2.80.0.tar.xz",
        sha512(b"pretend tarball\n")
    );
    assert_eq!(
        std::fs::read(t.path().join("cache").join(&key)).unwrap(),
        b"pretend tarball\n"
    );
    // Uploading again changes nothing.
    run(wharf(&dir).args([
        "lookaside",
        "upload",
        "--to",
        "../cache",
        "--package",
        "glib",
        "fix.patch",
    ]))
    .success();
    assert_eq!(std::fs::read_to_string(dir.join("sources")).unwrap(), want);

    // A clean checkout (the config and the sources file) gets both back.
    let clean = t.path().join("clean");
    std::fs::create_dir_all(&clean).unwrap();
    for f in ["wharf.toml", "sources"] {
        std::fs::copy(dir.join(f), clean.join(f)).unwrap();
    }
    run(wharf(&clean).args(["lookaside", "get", "--from", "../cache", "--package", "glib"])).success();
    assert_eq!(
        std::fs::read(clean.join("glib-2.80.0.tar.xz")).unwrap(),
        b"pretend tarball\n"
    );
    assert_eq!(std::fs::read(clean.join("fix.patch")).unwrap(), b"--- a\n+++ b\n");

    // wharf verify reads the cache as the clients do: every object's bytes have the hash its path names.
    let v = run(wharf(t.path()).args(["verify", "cache"])).success();
    assert!(v.stdout.contains("ok    lookaside sources"), "{}", v.stdout);
    // A tampered object is refused with its name, and nothing is written.
    write(&t.path().join("cache").join(&key), "evil\n");
    let v = run(wharf(t.path()).args(["verify", "cache"]));
    assert!(
        !v.ok && v.stdout.contains(&format!("{key}: hash-mismatch")),
        "{}",
        v.all()
    );
    let again = t.path().join("again");
    std::fs::create_dir_all(&again).unwrap();
    for f in ["wharf.toml", "sources"] {
        std::fs::copy(dir.join(f), again.join(f)).unwrap();
    }
    let refused = run(wharf(&again).args(["lookaside", "get", "--from", "../cache", "--package", "glib"]));
    assert!(!refused.ok);
    assert!(
        refused.stderr.contains(&format!("{key}: its SHA-512 is")),
        "{}",
        refused.stderr
    );
    assert!(!again.join("glib-2.80.0.tar.xz").exists());

    // The same through Garage (S3) and its web endpoint (HTTP).
    let Some(garage) = wharf_test::Garage::start() else {
        return;
    };
    let s3 = t.path().join("s3");
    make_project(&s3, "tool");
    write(&s3.join("glib-2.80.0.tar.xz"), "pretend tarball\n");
    write(&s3.join("fix.patch"), "--- a\n+++ b\n");
    let mut up = wharf(&s3);
    garage.env(&mut up).args([
        "lookaside",
        "upload",
        "--to",
        &garage.url("cache"),
        "--package",
        "glib",
        "glib-2.80.0.tar.xz",
        "fix.patch",
    ]);
    run(&mut up).success();
    let web = t.path().join("web");
    std::fs::create_dir_all(&web).unwrap();
    for f in ["wharf.toml", "sources"] {
        std::fs::copy(s3.join(f), web.join(f)).unwrap();
    }
    run(wharf(&web).args([
        "lookaside",
        "get",
        "--from",
        &garage.web_url("cache"),
        "--package",
        "glib",
    ]))
    .success();
    assert_eq!(
        std::fs::read(web.join("glib-2.80.0.tar.xz")).unwrap(),
        b"pretend tarball\n"
    );
    assert_eq!(std::fs::read(web.join("fix.patch")).unwrap(), b"--- a\n+++ b\n");
    // And from the bucket itself, over S3.
    let s3_get = t.path().join("s3-get");
    std::fs::create_dir_all(&s3_get).unwrap();
    for f in ["wharf.toml", "sources"] {
        std::fs::copy(s3.join(f), s3_get.join(f)).unwrap();
    }
    let mut get = wharf(&s3_get);
    garage.env(&mut get).args([
        "lookaside",
        "get",
        "--from",
        &garage.url("cache"),
        "--package",
        "glib",
    ]);
    run(&mut get).success();
    assert_eq!(
        std::fs::read(s3_get.join("fix.patch")).unwrap(),
        b"--- a\n+++ b\n"
    );
}

#[test]
fn a_draft_is_invisible_until_published() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("proj");
    crate::demo_project(&dir);
    let release = |args: &[&str]| run(wharf(&dir).arg("release").args(args));
    let public = dir.join("public");
    let read = |p: &str| std::fs::read_to_string(public.join(p)).unwrap_or_default();
    release(&["--version", "1.0.0", "--format", "deb", "--to", "public"]).success();
    let drafted = release(&[
        "--version",
        "1.1.0",
        "--format",
        "deb",
        "--to",
        "public",
        "--draft",
    ])
    .success();
    assert!(
        drafted.stdout.contains("wharf release publish 1.1.0"),
        "{}",
        drafted.stdout
    );
    // The files are there; nothing that clients read names them.
    assert!(public.join("releases/1.1.0/DRAFT").is_file());
    assert!(public.join("releases/1.1.0/SHA256SUMS").is_file());
    assert!(!read("index.html").contains("1.1.0"));
    assert!(!read("install.sh").contains("1.1.0="));
    assert!(!read("releases/index.json").contains("1.1.0"));
    assert_eq!(read("releases/latest").trim(), "1.0.0");
    assert!(!read("dists/stable/main/binary-amd64/Packages").contains("Version: 1.1.0"));
    // A published release cannot become a draft; a draft cannot be deleted once published.
    let refused = release(&[
        "--version",
        "1.0.0",
        "--format",
        "deb",
        "--to",
        "public",
        "--draft",
    ]);
    assert!(
        !refused.ok && refused.stderr.contains("published already"),
        "{}",
        refused.all()
    );

    let published = release(&["publish", "1.1.0", "--to", "public"]).success();
    assert!(
        published.stdout.contains("Release demo 1.1.0 published"),
        "{}",
        published.stdout
    );
    assert!(!public.join("releases/1.1.0/DRAFT").exists());
    assert!(read("index.html").contains("1.1.0"));
    assert!(read("install.sh").contains("1.1.0="));
    assert_eq!(read("releases/latest").trim(), "1.1.0");
    assert!(read("dists/stable/main/binary-amd64/Packages").contains("Version: 1.1.0"));
    let gone = release(&["delete", "1.1.0", "--to", "public"]);
    assert!(
        !gone.ok
            && gone
                .stderr
                .contains("release 1.1.0 is no draft: it is published already"),
        "{}",
        gone.all()
    );

    // A draft that is never published is deleted whole.
    release(&[
        "--version",
        "1.2.0",
        "--format",
        "deb",
        "--to",
        "public",
        "--draft",
    ])
    .success();
    release(&["delete", "1.2.0", "--to", "public"]).success();
    assert!(
        !public.join("releases/1.2.0").exists()
            || std::fs::read_dir(public.join("releases/1.2.0"))
                .unwrap()
                .next()
                .is_none()
    );
    assert_eq!(read("releases/latest").trim(), "1.1.0");
}

#[test]
fn source_rpms_are_published_beside_the_binary_ones() {
    if !require(&["rpmbuild", "rpmkeys", "dnf"]) || !wharf_test::require_dnf_plugins() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    // A spec built as a Copr-like host builds it: the source rpm, and the binary one made from it.
    write(
        &dir.join("hello.spec"),
        "Name: hello\nVersion: 1.0\nRelease: 1\nSummary: hello\nLicense: MIT\nBuildArch: noarch\nAutoReqProv: no\n%global debug_package %{nil}\n%global __os_install_post %{nil}\n%description\nhello.\n%install\nmkdir -p %{buildroot}/usr/bin\nprintf '#!/bin/sh\\necho hello\\n' > %{buildroot}/usr/bin/hello\n%files\n%attr(0755,root,root) /usr/bin/hello\n",
    );
    let top = dir.join("rpmbuild");
    run(Command::new("rpmbuild")
        .args(["-ba", "hello.spec", "--quiet", "--define"])
        .arg(format!("_topdir {}", top.display()))
        .current_dir(dir))
    .success();
    let srpm = top.join("SRPMS/hello-1.0-1.src.rpm");
    let rpm = top.join("RPMS/noarch/hello-1.0-1.noarch.rpm");
    assert!(srpm.is_file() && rpm.is_file());
    write(
        &dir.join("wharf.toml"),
        "[project]\nname = \"hello\"\nversion = \"1.0\"\nmaintainer = \"M <m@example.org>\"\nsummary = \"s\"\n\n[apt]\norigin = \"copr\"\n\n[keys]\nthrowaway = true\n",
    );
    run(wharf(dir)
        .args([
            "publish",
            "--to",
            "public",
            "--repo",
            "fedora-43-x86_64",
            "--sign",
        ])
        .arg(&rpm)
        .arg(&srpm))
    .success();
    let repo = dir.join("public/fedora-43-x86_64");
    let published = repo.join("SRPMS/Packages/h/hello-1.0-1.src.rpm");
    assert!(published.is_file());
    assert!(repo.join("SRPMS/repodata/repomd.xml.asc").is_file());
    // Signed like the binary ones: rpmkeys accepts it with the repository's key.
    let rpmdb = dir.join("rpmdb");
    std::fs::create_dir_all(&rpmdb).unwrap();
    run(Command::new("rpmkeys")
        .arg("--dbpath")
        .arg(&rpmdb)
        .arg("--import")
        .arg(dir.join("public/RPM-GPG-KEY-copr")))
    .success();
    let checked = run(Command::new("rpmkeys")
        .arg("--dbpath")
        .arg(&rpmdb)
        .arg("-K")
        .arg(&published))
    .success();
    assert!(
        checked.stdout.contains("digests signatures OK"),
        "{}",
        checked.stdout
    );
    // The .repo file has the source tree's section, which `dnf download --source` enables.
    let repo_file = std::fs::read_to_string(repo.join("copr.repo")).unwrap();
    assert!(
        repo_file.contains("[copr-fedora-43-x86_64-source]"),
        "{repo_file}"
    );
    let conf = dir.join("dnf");
    std::fs::create_dir_all(conf.join("repos")).unwrap();
    std::fs::copy(repo.join("copr.repo"), conf.join("repos/copr.repo")).unwrap();
    write(
        &conf.join("dnf.conf"),
        format!(
            "[main]\ngpgcheck=1\nrepo_gpgcheck=1\nreposdir={d}/repos\ncachedir={d}/cache\nkeepcache=0\n",
            d = conf.display()
        ),
    );
    let got = run(Command::new("dnf")
        .env("PYTHONPATH", wharf_test::DNF_PLUGINS)
        .arg(format!(
            "--setopt=pluginpath={}/dnf-plugins",
            wharf_test::DNF_PLUGINS
        ))
        .arg("-c")
        .arg(conf.join("dnf.conf"))
        .arg(format!("--installroot={}", conf.join("root").display()))
        .args([
            "--releasever=1",
            "-y",
            "download",
            "--source",
            "hello",
            "--destdir",
        ])
        .arg(dir.join("downloaded")));
    assert!(got.ok, "{}", got.all());
    assert_eq!(
        std::fs::read(dir.join("downloaded/hello-1.0-1.src.rpm")).unwrap(),
        std::fs::read(&published).unwrap()
    );
    // wharf verify reads the source tree as the rpm-md repository it is.
    let v = run(wharf(dir).args(["verify", "public"])).success();
    assert!(v.stdout.contains("fedora-43-x86_64/SRPMS"), "{}", v.stdout);
}

#[test]
fn rpms_carry_each_repositorys_dist_tag() {
    if !require(&["dnf", "rpm"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("proj");
    make_project(&dir, "tool");
    write(&dir.join("tool"), "#!/bin/sh\necho tool\n");
    let cfg = std::fs::read_to_string(dir.join("wharf.toml")).unwrap();
    write(
        &dir.join("wharf.toml"),
        format!(
            "{cfg}\n[keys]\nthrowaway = true\n\n[rpm]\nrepos = [\"fedora-43-x86_64\", \"almalinux-10-x86_64\", \"centos-stream-10-x86_64\"]\ndist-tags = true\n\n[rpm.dist-tag]\n\"almalinux-10-x86_64\" = \".el10_alma\"\n"
        ),
    );
    run(wharf(&dir).args(["publish", "--format", "rpm", "--to", "public"])).success();
    let repo = |r: &str| dir.join("public").join(r).join("Packages/t");
    let names = |r: &str| -> Vec<String> {
        let mut n: Vec<String> = std::fs::read_dir(repo(r))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        n.sort();
        n
    };
    // Each repository holds the build of its own tag only (the table's, or the configured one).
    assert_eq!(names("fedora-43-x86_64"), ["tool-1.0.0-1.fc43.x86_64.rpm"]);
    assert_eq!(
        names("almalinux-10-x86_64"),
        ["tool-1.0.0-1.el10_alma.x86_64.rpm"]
    );
    assert_eq!(names("centos-stream-10-x86_64"), ["tool-1.0.0-1.el10.x86_64.rpm"]);
    // dnf installs the Fedora build from the Fedora repository.
    let public = dir.join("public");
    let dnf = wharf_test::Dnf::new(
        &t.path().join("dnf"),
        &format!("file://{}/fedora-43-x86_64", public.display()),
        &format!("file://{}/RPM-GPG-KEY-tool", public.display()),
    );
    let installed = dnf.run(&["install", "tool"]);
    assert!(installed.ok, "{}", installed.all());
    let q = run(Command::new("rpm")
        .arg("--root")
        .arg(dnf.root())
        .args(["-q", "tool"]))
    .success();
    assert_eq!(q.stdout.trim(), "tool-1.0.0-1.fc43.x86_64");
}
