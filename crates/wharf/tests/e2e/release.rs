//! `wharf release` on a project under git: the classes and channels, the release directory checked with
//! `sha256sum -c` and the manifest with a JSON Schema validator (python3-jsonschema), the release page in
//! headless Chromium, and install.sh checked by shellcheck and run against a repository on 127.0.0.1 in an
//! isolated apt root, an isolated dnf root and the tarball fallback — then with tampered files.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_test::{Apt, HttpServer, apt_problems, git, require, run, write};

use crate::{demo_project, wharf};

/// The demo project as deb + rpm (rpm-md repository `linux-x86_64`), committed and tagged `tag`.
fn tagged_project(dir: &Path, tag: &str, postinst: bool) -> PathBuf {
    let cfg = demo_project(dir);
    let mut text = fs::read_to_string(&cfg).unwrap().replacen(
        "license = \"MIT\"\n",
        "license = \"MIT\"\nformats = [\"deb\", \"rpm\"]\n",
        1,
    );
    if !postinst {
        text = text.replace("[package.scripts]\npostinst = \"scripts/postinst\"\n", "");
    }
    text.push_str(
        "\n[rpm]\nrepos = [\"linux-x86_64\"]\n\n[release]\npackage-changelog = true\nchecksum-files = true\n",
    );
    write(&cfg, text);
    write(&dir.join(".gitignore"), "/dist/\n/public/\n/.wharf/\n/target/\n");
    git(dir, &["init", "-q", "-b", "main"], 1);
    git(dir, &["add", "-A"], 2);
    git(dir, &["commit", "-q", "-m", "feat: the first demo"], 3);
    git(dir, &["tag", "-a", tag, "-m", tag], 4);
    cfg
}

fn release(dir: &Path, extra: &[&str]) -> wharf_test::Done {
    run(wharf(dir).args(["release", "--to", "public"]).args(extra))
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

#[test]
fn release_directory_pointers_and_page() {
    if !require(&[
        "git",
        "sha256sum",
        "python3",
        "chromium",
        "dpkg-deb",
        "dpkg-parsechangelog",
        "rpm",
    ]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    tagged_project(dir, "v1.2.3", true);

    let stable = release(dir, &[]).success();
    assert!(
        stable
            .stdout
            .contains("Release demo 1.2.3 (stable, channel stable)"),
        "{}",
        stable.all()
    );
    for what in [
        "SHA256SUMS",
        "manifest.json",
        "notes.md",
        "index.html",
        "install.sh",
    ] {
        assert!(
            stable.stdout.contains(what),
            "{what} not reported: {}",
            stable.stdout
        );
    }
    let rel = dir.join("public/releases/1.2.3");
    let manifest: serde_json::Value = serde_json::from_str(&read(&rel.join("manifest.json"))).unwrap();
    let artifacts = manifest["artifacts"].as_array().unwrap();
    // deb + rpm + tarball for each of demo and demo-data.
    assert_eq!(artifacts.len(), 6, "{manifest:#}");
    let sums = run(Command::new("sha256sum")
        .current_dir(&rel)
        .args(["--strict", "-c", "SHA256SUMS"]))
    .success();
    assert_eq!(sums.stdout.matches(": OK\n").count(), 6, "{}", sums.all());
    for a in artifacts {
        let file = a["file"].as_str().unwrap();
        assert!(sums.stdout.contains(&format!("{file}: OK")), "{}", sums.stdout);
    }
    validate_manifest(
        &dir.join("public/releases/manifest.schema.json"),
        &rel.join("manifest.json"),
    );
    // `checksum-files`: a `.sha256` beside every artifact, each checkable on its own.
    for a in artifacts {
        let file = a["file"].as_str().unwrap();
        run(Command::new("sha256sum")
            .current_dir(&rel)
            .args(["--strict", "-c", &format!("{file}.sha256")]))
        .success();
    }
    assert_eq!(read(&dir.join("public/releases/latest")), "1.2.3\n");
    // The repositories got the same version.
    assert!(read(&dir.join("public/dists/stable/main/binary-amd64/Packages")).contains("Version: 1.2.3\n"));

    // A release candidate goes to the prerelease channel; the stable pointer stays.
    write(&dir.join("conf/demo.conf"), "level = 2\n");
    git(dir, &["commit", "-q", "-am", "fix(conf): level 2 by default"], 10);
    git(
        dir,
        &["commit", "-q", "--allow-empty", "-m", "feat!: drop level 0"],
        11,
    );
    git(dir, &["tag", "v1.3.0-rc.1"], 12);
    let rc = release(dir, &[]).success();
    assert!(
        rc.stdout
            .contains("Release demo 1.3.0~rc.1 (prerelease, channel prerelease)"),
        "{}",
        rc.all()
    );
    assert!(rc.stdout.contains("--channel prerelease"), "{}", rc.stdout);
    assert_eq!(read(&dir.join("public/releases/latest")), "1.2.3\n");
    assert_eq!(
        read(&dir.join("public/releases/latest-prerelease")),
        "1.3.0~rc.1\n"
    );
    assert!(dir.join("public/dists/prerelease/InRelease").is_file());
    // install.sh pins each channel's newest SHA256SUMS, whichever release wrote it last.
    let script = read(&dir.join("public/install.sh"));
    for v in ["1.2.3", "1.3.0~rc.1"] {
        let sums =
            run(Command::new("sha256sum").arg(dir.join(format!("public/releases/{v}/SHA256SUMS")))).success();
        let hash = sums.stdout.split_whitespace().next().unwrap().to_owned();
        assert!(
            script.contains(&format!("{v}={hash}")),
            "{v} not pinned in\n{script}"
        );
    }
    assert!(
        dir.join("public/prerelease/linux-x86_64/repodata/repomd.xml")
            .is_file()
    );
    let notes = read(&dir.join("public/releases/1.3.0~rc.1/notes.md"));
    for want in [
        "# demo 1.3.0~rc.1",
        "## Changes since v1.2.3",
        "### ⚠ Breaking Changes\n\n- drop level 0",
        "### Bug Fixes\n\n- **conf:** level 2 by default",
        "| `demo_1.3.0~rc.1_amd64.deb` |",
    ] {
        assert!(notes.contains(want), "{want:?} not in\n{notes}");
    }
    validate_manifest(
        &dir.join("public/releases/manifest.schema.json"),
        &dir.join("public/releases/1.3.0~rc.1/manifest.json"),
    );
    // `package-changelog`: the same changes in the Debian changelog (as dpkg-parsechangelog reads it; a
    // native version, so `changelog.gz`) and in the rpm's %changelog.
    let parsed = run(Command::new("sh").current_dir(&rel).arg("-c").arg(
        "dpkg-deb --fsys-tarfile ../1.3.0~rc.1/demo_1.3.0~rc.1_amd64.deb \
         | tar -xO ./usr/share/doc/demo/changelog.gz | gunzip > /tmp/wharf-changelog.$$ \
         && dpkg-parsechangelog -l /tmp/wharf-changelog.$$ --all; rc=$?; rm -f /tmp/wharf-changelog.$$; exit $rc",
    ))
    .success();
    for want in [
        "Version: 1.3.0~rc.1",
        "conf: level 2 by default",
        "drop level 0",
        "demo (1.2.3) unstable; urgency=medium",
        "Maintainer: Demo Maintainer <demo@example.org>",
    ] {
        assert!(parsed.stdout.contains(want), "{want:?} not in\n{}", parsed.all());
    }
    let rpm_log = run(Command::new("rpm")
        .args(["-qp", "--changelog"])
        .arg(dir.join("public/releases/1.3.0~rc.1/demo-1.3.0~rc.1-1.x86_64.rpm")))
    .success();
    assert!(
        rpm_log
            .stdout
            .contains("Demo Maintainer <demo@example.org> - 1.3.0~rc.1")
            && rpm_log.stdout.contains("- conf: level 2 by default"),
        "{}",
        rpm_log.all()
    );

    // Releasing the same commit again is a no-op; a different build of a published version is refused.
    release(dir, &[]).success();
    let changed = run(wharf(dir)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["release", "--to", "public"]));
    assert_eq!(changed.code, Some(1), "{}", changed.all());
    assert!(changed.stderr.contains("already published"), "{}", changed.stderr);
    assert_eq!(
        read(&dir.join("public/releases/latest-prerelease")),
        "1.3.0~rc.1\n"
    );

    // The page lists both channels and every file, and renders in Chromium with no console message.
    let page = dir.join("public/index.html");
    let html = read(&page);
    for want in [
        "Channel: stable",
        "Channel: prerelease",
        "demo_1.2.3_amd64.deb",
        "demo-1.3.0~rc.1-amd64.tar.gz",
        "curl -fsSL",
    ] {
        assert!(html.contains(want), "{want} not on the page");
    }
    assert!(!html.contains("<script"), "the page must not need JavaScript");
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("release-page.png");
    let rendered = chromium(&page, &shot, tmp.path());
    let console: Vec<&str> = rendered.lines().filter(|l| l.contains(":CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:#?}");
    assert!(fs::metadata(&shot).unwrap().len() > 10_000, "no screenshot");
    eprintln!("release page screenshot: {}", shot.display());
    // The check sees console errors when there are some.
    write(
        &dir.join("control.html"),
        "<!DOCTYPE html><title>x</title><script>console.error('planted')</script>",
    );
    let control = chromium(&dir.join("control.html"), &tmp.path().join("c.png"), tmp.path());
    assert!(
        control.contains(":CONSOLE") && control.contains("planted"),
        "{control}"
    );
}

/// `sh install.sh`, for more arguments.
fn install_sh(script: &Path) -> Command {
    let mut c = Command::new("sh");
    c.arg(script);
    c
}

/// Runs install.sh and checks that it stopped on a checksum mismatch for `what`.
fn refuses(cmd: &mut Command, what: &str) {
    let refused = run(cmd);
    assert_eq!(refused.code, Some(1), "{}", refused.all());
    let said = format!("checksum mismatch for {what}");
    assert!(refused.stderr.contains(&said), "{}", refused.stderr);
}

/// An isolated apt with no source yet: install.sh adds its own.
fn apt_without_sources(dir: &Path) -> Apt {
    let apt = Apt::new(
        dir,
        "http://127.0.0.1:9/unused",
        "stable",
        "main",
        Path::new("/dev/null"),
    );
    fs::remove_file(dir.join("etc/apt/sources.list.d/test.sources")).unwrap();
    apt
}

/// Renders `page` headless, writes a screenshot, returns Chromium's log.
fn chromium(page: &Path, shot: &Path, home: &Path) -> String {
    let done = run(Command::new("chromium")
        .env("HOME", home)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1280,1800",
        ])
        .arg(format!("--user-data-dir={}", home.join("chromium").display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", page.display())));
    assert!(shot.is_file(), "chromium wrote no screenshot: {}", done.all());
    done.all()
}

fn validate_manifest(schema: &Path, manifest: &Path) {
    let done = run(Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\n\
             schema = json.load(open(sys.argv[1]))\n\
             jsonschema.Draft202012Validator.check_schema(schema)\n\
             jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(json.load(open(sys.argv[2])))\n\
             print('valid')",
        ])
        .arg(schema)
        .arg(manifest));
    assert!(done.stdout.contains("valid"), "{}", done.all());
    // The validator does reject: a manifest with a bad checksum fails.
    let bad = manifest.with_extension("bad.json");
    write(
        &bad,
        read(manifest).replacen("\"sha256\": \"", "\"sha256\": \"X", 1),
    );
    let refused = run(Command::new("python3")
        .args([
            "-c",
            "import json, sys, jsonschema\njsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))",
        ])
        .arg(schema)
        .arg(&bad));
    assert_ne!(refused.code, Some(0), "the schema accepted a bad checksum");
    fs::remove_file(bad).unwrap();
}

#[test]
fn install_script_sets_up_apt_dnf_or_the_tarball_and_refuses_tampered_files() {
    if !require(&["git", "shellcheck", "apt-get", "dnf", "zypper", "rpm", "python3"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("project");
    fs::create_dir_all(dir.join("public")).unwrap();
    // The installed root has no shell for a postinst to run in.
    tagged_project(&dir, "v2.0.0", false);
    let server = HttpServer::start(&dir.join("public"), tmp.path());
    release(&dir, &["--base-url", &server.url()]).success();
    let script = dir.join("public/install.sh");

    let sc = run(Command::new("shellcheck").args(["-s", "sh"]).arg(&script));
    assert!(
        sc.code == Some(0) && sc.stdout.is_empty(),
        "shellcheck: {}",
        sc.all()
    );
    let help = run(install_sh(&script).arg("--help")).success();
    assert!(help.stdout.contains("--channel NAME"), "{}", help.stdout);
    let bad = run(install_sh(&script).args(["--channel", "nightly"]));
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("no channel 'nightly'"), "{}", bad.stderr);

    // apt, in an isolated root (the script reads where apt keeps sources and keys from APT_CONFIG).
    let apt_dir = tmp.path().join("apt");
    let apt = apt_without_sources(&apt_dir);
    let installed = run(install_sh(&script).env("APT_CONFIG", apt_dir.join("etc/apt/apt.conf")));
    assert_eq!(installed.code, Some(0), "{}", installed.all());
    assert!(
        installed
            .stderr
            .contains("installing demo from the stable channel with apt"),
        "{}",
        installed.stderr
    );
    assert!(apt_problems(&installed.all()).is_empty(), "{}", installed.all());
    assert!(apt.root().join("usr/bin/demo").is_file(), "{}", installed.all());
    let sources = read(&apt_dir.join("etc/apt/sources.list.d/demo.sources"));
    assert!(
        sources.contains(&format!("URIs: {}\n", server.url())),
        "{sources}"
    );
    let policy = apt.cmd("apt-cache", &["policy", "demo"]);
    assert!(policy.stdout.contains("Installed: 2.0.0"), "{}", policy.all());

    // dnf, in an isolated root, with repository and package signatures checked.
    let dnf_root = tmp.path().join("dnf-root");
    let dnf = run(install_sh(&script)
        .args(["--method", "dnf", "--root"])
        .arg(&dnf_root));
    assert_eq!(dnf.code, Some(0), "{}", dnf.all());
    assert!(dnf.stdout.contains("Complete!"), "{}", dnf.all());
    assert!(dnf_root.join("usr/bin/demo").is_file(), "{}", dnf.all());
    assert!(read(&dnf_root.join("etc/yum.repos.d/demo-stable.repo")).contains("repo_gpgcheck=1"));
    let q = run(Command::new("rpm")
        .arg("--root")
        .arg(&dnf_root)
        .args(["-q", "demo"]))
    .success();
    assert_eq!(q.stdout.trim(), "demo-2.0.0-1.x86_64");

    // zypper, in its own root, trusting only the key the script imported.
    let zypper_root = tmp.path().join("zypper-root");
    let zypper = run(install_sh(&script)
        .args(["--method", "zypper", "--root"])
        .arg(&zypper_root));
    assert_eq!(zypper.code, Some(0), "{}", zypper.all());
    let q = run(Command::new("rpm")
        .arg("--root")
        .arg(&zypper_root)
        .args(["-q", "demo"]))
    .success();
    assert_eq!(q.stdout.trim(), "demo-2.0.0-1.x86_64", "{}", zypper.all());

    // --dry-run says what it would do and changes nothing.
    let dry_root = tmp.path().join("dry-root");
    let dry = run(install_sh(&script)
        .args(["--method", "dnf", "--dry-run", "--root"])
        .arg(&dry_root))
    .success();
    assert!(dry.stdout.contains("+ dnf -y --installroot="), "{}", dry.stdout);
    assert!(!dry_root.exists(), "a dry run wrote {}", dry_root.display());

    // The tarball, verified against SHA256SUMS (itself pinned in the script).
    let tar_root = tmp.path().join("tar-root");
    let tar = run(install_sh(&script)
        .args(["--method", "tarball", "--prefix", "/usr", "--root"])
        .arg(&tar_root));
    assert_eq!(tar.code, Some(0), "{}", tar.all());
    assert!(tar_root.join("usr/bin/demo").is_file(), "{}", tar.all());
    assert_eq!(read(&tar_root.join("etc/demo/demo.conf")), "level = 1\n");

    // A tampered tarball: the script stops before installing anything.
    let tarball = dir.join("public/releases/2.0.0/demo-2.0.0-amd64.tar.gz");
    let mut bytes = fs::read(&tarball).unwrap();
    let last = bytes.len() - 20;
    bytes[last] ^= 0xff;
    fs::write(&tarball, bytes).unwrap();
    let tampered_root = tmp.path().join("tampered-root");
    refuses(
        install_sh(&script)
            .args(["--method", "tarball", "--root"])
            .arg(&tampered_root),
        "demo-2.0.0-amd64.tar.gz",
    );
    assert!(!tampered_root.join("usr/local/bin/demo").exists());

    // A tampered SHA256SUMS (matching the tampered tarball) is caught by the pin in the script.
    let sums_path = dir.join("public/releases/2.0.0/SHA256SUMS");
    let new_sum = run(Command::new("sha256sum").arg(&tarball)).success();
    let new_sum = new_sum.stdout.split_whitespace().next().unwrap().to_owned();
    let sums: String = read(&sums_path)
        .lines()
        .map(|l| {
            if l.ends_with("demo-2.0.0-amd64.tar.gz") {
                format!("{new_sum}  demo-2.0.0-amd64.tar.gz\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(&sums_path, sums).unwrap();
    refuses(
        install_sh(&script)
            .args(["--method", "tarball", "--root"])
            .arg(&tampered_root),
        "releases/2.0.0/SHA256SUMS",
    );
    assert!(!tampered_root.exists());

    // A replaced repository key: apt is never pointed at the repository.
    let key = dir.join("public/archive-keyring.gpg");
    let mut k = fs::read(&key).unwrap();
    k.push(0);
    fs::write(&key, k).unwrap();
    let apt2_dir = tmp.path().join("apt2");
    apt_without_sources(&apt2_dir);
    refuses(
        install_sh(&script).env("APT_CONFIG", apt2_dir.join("etc/apt/apt.conf")),
        "the repository key",
    );
    assert!(!apt2_dir.join("etc/apt/sources.list.d/demo.sources").exists());
    assert!(!apt2_dir.join("etc/apt/keyrings").exists());
}

/// The README's path for a new user: `wharf release` in the bundled example, nothing configured, no git.
#[test]
fn release_of_the_bundled_example_with_defaults() {
    if !require(&["sha256sum"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let example = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/hello");
    for f in [
        "wharf.toml",
        "config/hello.toml",
        "doc/README.md",
        "scripts/postinst",
    ] {
        write(&dir.join(f), fs::read(example.join(f)).unwrap());
    }
    write(&dir.join("target/release/hello"), "#!/bin/sh\necho hello\n");
    let done = run(wharf(dir).arg("release")).success();
    assert!(
        done.stdout
            .contains("Release hello 1.0.0 (stable, channel stable)"),
        "{}",
        done.all()
    );
    assert!(done.stderr.contains("throwaway"), "{}", done.stderr);
    let public = dir.join("public");
    for f in [
        "releases/1.0.0/SHA256SUMS",
        "releases/1.0.0/manifest.json",
        "releases/1.0.0/notes.md",
        "releases/1.0.0/hello_1.0.0_amd64.deb",
        "releases/1.0.0/hello-1.0.0-1.x86_64.rpm",
        "releases/1.0.0/hello-1.0.0-amd64.tar.gz",
        "releases/manifest.schema.json",
        "releases/latest",
        "index.html",
        "install.sh",
        "dists/stable/InRelease",
        "linux-x86_64/repodata/repomd.xml",
    ] {
        assert!(public.join(f).is_file(), "{f} missing");
    }
    // It says what it made.
    for named in [
        "hello_1.0.0_amd64.deb",
        "hello-doc-1.0.0-1.noarch.rpm",
        "hello-1.0.0-amd64.tar.gz",
        "releases/1.0.0/SHA256SUMS",
        "releases/1.0.0/manifest.json",
        "releases/1.0.0/notes.md",
        "releases/latest",
        "index.html",
        "install.sh | sh",
    ] {
        assert!(
            done.stdout.contains(named),
            "{named} not reported: {}",
            done.stdout
        );
    }
    let sums = run(Command::new("sha256sum")
        .current_dir(public.join("releases/1.0.0"))
        .args(["--strict", "-c", "SHA256SUMS"]))
    .success();
    assert_eq!(sums.stdout.matches(": OK\n").count(), 6, "{}", sums.stdout);

    // `wharf verify` with defaults reads ./public: the repositories and the release tree pass.
    let done = run(wharf(dir).arg("verify")).success();
    assert!(
        done.stdout
            .contains("ok    releases releases: 1 index file, 6 files"),
        "{}",
        done.all()
    );
    assert!(done.stdout.contains("ok    apt dists/stable"), "{}", done.all());
    // A pointer to a release that is not there, and a changed release file, are each named.
    fs::write(public.join("releases/latest"), "9.9.9\n").unwrap();
    let tarball = public.join("releases/1.0.0/hello-1.0.0-amd64.tar.gz");
    let mut bytes = fs::read(&tarball).unwrap();
    bytes[100] ^= 1;
    fs::write(&tarball, bytes).unwrap();
    let done = run(wharf(dir).arg("verify"));
    assert_eq!(done.code, Some(1), "{}", done.all());
    for line in [
        "releases/latest: orphaned: points to 9.9.9, which index.json does not list",
        "releases/1.0.0/hello-1.0.0-amd64.tar.gz: hash-mismatch: sha256 ",
    ] {
        assert!(done.stdout.contains(line), "{line}\n{}", done.all());
    }
}

/// A release into Garage: every kind, the release directory verified after downloading it through the
/// web endpoint, and install.sh's tarball method installing from there.
#[test]
fn release_to_garage_and_install_from_its_web_endpoint() {
    let Some(s) = crate::s3::setup(&["git", "sha256sum", "curl"]) else {
        return;
    };
    let proj = s.dir.join("proj");
    write(&proj.join(".gitignore"), "/dist/\n/.wharf/\n/target/\n");
    git(&proj, &["init", "-q", "-b", "main"], 1);
    git(&proj, &["add", "-A"], 2);
    git(&proj, &["commit", "-q", "-m", "feat: demo on Garage"], 3);
    git(&proj, &["tag", "v3.1.4"], 4);
    let web = s.garage.web_url("rel");
    let mut cmd = wharf(&proj);
    s.garage
        .env(&mut cmd)
        .args(["release", "--to", &s.garage.url("rel"), "--base-url", &web]);
    for f in ["deb", "rpm", "ipk", "apk", "apk3"] {
        cmd.args(["--format", f]);
    }
    let done = run(cmd.args(["--target", "x86_64-unknown-linux-musl"])).success();
    assert!(
        done.stdout.contains("Release demo 3.1.4 (stable"),
        "{}",
        done.all()
    );

    assert_eq!(s.garage.fetch("rel/releases/latest").unwrap(), b"3.1.4\n");
    let got = s.dir.join("got");
    fs::create_dir_all(&got).unwrap();
    let sums = String::from_utf8(s.garage.fetch("rel/releases/3.1.4/SHA256SUMS").unwrap()).unwrap();
    write(&got.join("SHA256SUMS"), &sums);
    let mut kinds = std::collections::BTreeSet::new();
    for line in sums.lines() {
        let file = line.split_once("  ").unwrap().1;
        let bytes = s
            .garage
            .fetch(&format!("rel/releases/3.1.4/{file}"))
            .unwrap_or_else(|| panic!("{file} is not in the bucket"));
        write(&got.join(file), bytes);
        kinds.insert(file.rsplit('.').next().unwrap().to_owned());
    }
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["apk", "deb", "gz", "ipk", "rpm"],
        "{sums}"
    );
    let checked = run(Command::new("sha256sum")
        .current_dir(&got)
        .args(["--strict", "-c", "SHA256SUMS"]))
    .success();
    assert_eq!(checked.stdout.matches(": OK\n").count(), sums.lines().count());
    let page = String::from_utf8(s.garage.fetch("rel/index.html").unwrap()).unwrap();
    assert!(page.contains("releases/3.1.4/demo_3.1.4_amd64.deb"), "{page}");

    let script = s.dir.join("install.sh");
    write(&script, s.garage.fetch("rel/install.sh").unwrap());
    let root = s.dir.join("root");
    let installed = run(install_sh(&script)
        .args(["--method", "tarball", "--root"])
        .arg(&root));
    assert_eq!(installed.code, Some(0), "{}", installed.all());
    assert!(root.join("usr/local/bin/demo").is_file(), "{}", installed.all());
}

/// A broken `[release]` pattern is one error naming the file and the key; nothing is written.
#[test]
fn bad_tag_pattern_is_one_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = demo_project(tmp.path());
    let mut text = read(&cfg);
    text.push_str("\n[release]\nstable-tags = \"v[0-9\"\n");
    write(&cfg, text);
    let done = run(wharf(tmp.path()).arg("release"));
    assert_eq!(done.code, Some(1), "{}", done.all());
    assert!(
        done.stderr.contains("wharf.toml: [release]")
            && done
                .stderr
                .contains("`release.stable-tags` is not a valid pattern"),
        "{}",
        done.stderr
    );
    assert!(!tmp.path().join("public").exists() && !tmp.path().join("dist").exists());
}

/// `package` and `publish` build the version `release` would (a build machine's packages are not 0.0.0),
/// or `--version`; two version tags on one commit give the higher; a work tree with uncommitted changes
/// is named.
#[test]
fn package_and_publish_take_the_version_from_git() {
    if !require(&["git"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    tagged_project(dir, "v1.0.1", false);
    git(dir, &["tag", "-a", "v1.1.0", "-m", "v1.1.0"], 5);
    let built = run(wharf(dir).args(["package", "--format", "deb"])).success();
    assert!(dir.join("dist/demo_1.1.0_amd64.deb").is_file(), "{}", built.all());
    assert!(!built.stderr.contains("uncommitted"), "{}", built.stderr);
    run(wharf(dir).args(["publish", "--format", "rpm", "--to", "public"])).success();
    assert!(
        dir.join("public/linux-x86_64/Packages/d/demo-1.1.0-1.x86_64.rpm")
            .is_file(),
        "publish built another version"
    );
    write(&dir.join("conf/demo.conf"), "level = 2\n");
    let dirty = run(wharf(dir).args(["package", "--format", "deb", "--version", "9.9.9"])).success();
    assert!(dir.join("dist/demo_9.9.9_amd64.deb").is_file(), "{}", dirty.all());
    assert!(
        dirty
            .stderr
            .contains("the work tree has uncommitted changes to 1 file(s)"),
        "{}",
        dirty.stderr
    );
}
