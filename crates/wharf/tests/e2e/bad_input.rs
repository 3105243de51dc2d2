//! Bad input gets one clear error naming the file and the fix, exit code 1, and nothing written.

use std::path::Path;

use wharf_test::{Done, TempDir, nfpm_deb, require, throwaway_key, write};

use crate::{demo_project, wharf, wharf_run};

/// Asserts a single error message (plus its cause chain) containing every `needle`.
#[track_caller]
fn one_error(d: &Done, needles: &[&str]) {
    assert!(!d.ok, "expected failure, got success:\n{}", d.all());
    assert_eq!(d.code, Some(1), "{}", d.stderr);
    let errors = d.stderr.lines().filter(|l| l.starts_with("error:")).count();
    assert_eq!(errors, 1, "expected exactly one error line:\n{}", d.stderr);
    assert!(!d.stderr.contains("panicked"), "{}", d.stderr);
    for n in needles {
        assert!(d.stderr.contains(n), "error lacks `{n}`:\n{}", d.stderr);
    }
}

/// Edits the demo project's wharf.toml, runs `wharf package`, expects an error and no output directory.
fn package_fails(edit: impl Fn(String) -> String, needles: &[&str]) {
    let t = TempDir::new().unwrap();
    let cfg = demo_project(&t.path().join("proj"));
    std::fs::write(&cfg, edit(std::fs::read_to_string(&cfg).unwrap())).unwrap();
    let d = wharf_run(t.path(), &["package", "-c", cfg.to_str().unwrap(), "-o", "out"]);
    one_error(&d, needles);
    assert!(!t.path().join("out").exists(), "output written despite the error");
}

#[test]
fn missing_asset() {
    package_fails(
        |s| s.replace("src = \"target/release/demo\"", "src = \"target/release/nope\""),
        &[
            "wharf.toml",
            "package[0].files[0]",
            "target/release/nope",
            "cargo build --release",
        ],
    );
}

#[test]
fn destination_with_dotdot() {
    package_fails(
        |s| {
            s.replace(
                "dst = \"/etc/demo/demo.conf\"",
                "dst = \"/etc/../root/demo.conf\"",
            )
        },
        &["wharf.toml", "package[0].files[1].dst", "`..`"],
    );
}

#[test]
fn destination_not_absolute() {
    package_fails(
        |s| s.replace("dst = \"/etc/demo/demo.conf\"", "dst = \"etc/demo.conf\""),
        &["wharf.toml", "must be absolute"],
    );
}

#[test]
fn invalid_package_name() {
    package_fails(
        |s| s.replace("name = \"demo-data\"", "name = \"Demo_Data\""),
        &["wharf.toml", "package[1].name", "lower-case"],
    );
}

#[test]
fn invalid_version() {
    package_fails(
        |s| s.replace("version = \"1.0.0\"", "version = \"v1.0\""),
        &["wharf.toml", "project.version", "start with a digit"],
    );
}

#[test]
fn unknown_config_key() {
    package_fails(
        |s| s.replace("section = \"utils\"", "section = \"utils\"\nsecton = \"x\""),
        &["wharf.toml", "unknown field `secton`"],
    );
}

#[test]
fn malformed_source_date_epoch() {
    let t = TempDir::new().unwrap();
    let cfg = demo_project(&t.path().join("proj"));
    for bad in ["yesterday", "-5", "1.5", ""] {
        let d = wharf_test::run(wharf(t.path()).env("SOURCE_DATE_EPOCH", bad).args([
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "-o",
            "out",
        ]));
        one_error(&d, &["SOURCE_DATE_EPOCH", "whole number of seconds"]);
        assert!(!t.path().join("out").exists());
    }
}

fn publish_fails(dir: &Path, key: &Path, deb: &Path, needles: &[&str]) {
    let d = wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            key.to_str().unwrap(),
            deb.to_str().unwrap(),
        ],
    );
    one_error(&d, needles);
    assert!(
        !dir.join("repo").exists(),
        "the store was touched despite the error"
    );
}

#[test]
fn unreadable_or_unusable_key() {
    if !require(&["nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let deb = nfpm_deb(&dir.join("p"), "peer", "1.0", "x");
    publish_fails(
        dir,
        &dir.join("no-such-key.asc"),
        &deb,
        &["no-such-key.asc does not exist", "wharf key generate openpgp"],
    );
    write(&dir.join("garbage.asc"), "this is not a key\n");
    publish_fails(
        dir,
        &dir.join("garbage.asc"),
        &deb,
        &["garbage.asc", "not an OpenPGP secret key"],
    );
    // A public key where a secret key is needed.
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "k"]).success();
    publish_fails(
        dir,
        &dir.join("k/public.asc"),
        &deb,
        &["public.asc", "not an OpenPGP secret key"],
    );
}

#[test]
fn corrupt_package() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let key = throwaway_key(&dir.join("key"));
    write(
        &dir.join("bad.deb"),
        "!<arch>\ndebian-binary   0           0     0     100644  4         `\n2.0\n",
    );
    publish_fails(dir, &key, &dir.join("bad.deb"), &["bad.deb", "not a valid .deb"]);
    write(&dir.join("text.deb"), "hello");
    publish_fails(
        dir,
        &key,
        &dir.join("text.deb"),
        &["text.deb", "not a valid .deb"],
    );
}

#[test]
fn line_breaks_in_values_cannot_inject_control_fields() {
    // TOML's "\n" escapes: each would have written a field of its own into control files and indexes.
    for (from, to, key) in [
        (
            "maintainer = \"",
            "maintainer = \"A <a@b>\\nDepends: evil\" #",
            "project.maintainer",
        ),
        (
            "section = \"utils\"",
            "section = \"utils\\nEssential: yes\"",
            "package[0].section",
        ),
        (
            "[[package]]\n",
            "[[package]]\ndepends = [\"libc6\\nPre-Depends: evil\"]\n",
            "package[0].depends[0]",
        ),
        (
            "homepage = \"https://example.org/demo\"",
            "homepage = \"https://e.org\\r\\nX: y\"",
            "project.homepage",
        ),
    ] {
        package_fails(
            |s| {
                assert!(s.contains(from), "{from}");
                s.replacen(from, to, 1)
            },
            &["wharf.toml", key, "one line"],
        );
    }
}

#[test]
fn a_format_that_fails_leaves_no_package_of_the_others() {
    // apk cannot take this version, nor this dependency: the .deb, .rpm and .ipk written before (or
    // beside) it must not stay behind, nor empty per-format directories.
    for (from, to) in [
        ("version = \"1.0.0\"", "version = \"1.0--1\""),
        ("[[package]]\n", "[[package]]\ndepends = [\"(((\"]\n"),
    ] {
        let t = TempDir::new().unwrap();
        let cfg = demo_project(&t.path().join("proj"));
        std::fs::write(&cfg, std::fs::read_to_string(&cfg).unwrap().replacen(from, to, 1)).unwrap();
        wharf_test::write(
            &t.path()
                .join("proj/target/x86_64-unknown-linux-musl/release/demo"),
            "#!/bin/sh\n",
        );
        let mut args = vec!["package", "-c", cfg.to_str().unwrap(), "-o", "out"];
        for f in ["deb", "rpm", "ipk", "apk", "apk3"] {
            args.extend(["--format", f]);
        }
        args.extend(["--target", "x86_64-unknown-linux-musl"]);
        let d = wharf_run(t.path(), &args);
        assert!(!d.ok, "{to}: {}", d.all());
        assert!(!d.stderr.contains("panicked"), "{}", d.stderr);
        assert!(
            d.stderr.contains("apk"),
            "{to}: the failure is apk's: {}",
            d.stderr
        );
        let left: Vec<_> = wharf_test::tree(&t.path().join("out"))
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        assert!(left.is_empty(), "{to}: left behind {left:?}");
        let dirs: Vec<_> = std::fs::read_dir(t.path().join("out"))
            .map(|r| r.flatten().map(|e| e.file_name()).collect())
            .unwrap_or_default();
        assert!(dirs.is_empty(), "{to}: directories left behind {dirs:?}");
    }
}

#[test]
fn sources_outside_the_project_need_allow_outside() {
    let t = TempDir::new().unwrap();
    let cfg = demo_project(&t.path().join("proj"));
    wharf_test::write(&t.path().join("secret.txt"), "build machine's secret\n");
    std::os::unix::fs::symlink(t.path().join("secret.txt"), t.path().join("proj/conf/link.txt")).unwrap();
    let add = |extra: &str| {
        let text = std::fs::read_to_string(&cfg).unwrap();
        std::fs::write(
            &cfg,
            text.replacen(
                "[[package.symlinks]]",
                &format!("[[package.files]]\n{extra}\n\n[[package.symlinks]]"),
                1,
            ),
        )
        .unwrap();
    };
    let abs = t.path().join("secret.txt");
    for src in ["conf/link.txt", abs.to_str().unwrap()] {
        let before = std::fs::read_to_string(&cfg).unwrap();
        add(&format!("src = \"{src}\"\ndst = \"/etc/demo/leaked.txt\""));
        let d = wharf_run(t.path(), &["package", "-c", cfg.to_str().unwrap(), "-o", "out"]);
        one_error(
            &d,
            &[
                "wharf.toml",
                "package[0].files[2]",
                "outside the project",
                "allow-outside",
            ],
        );
        assert!(!t.path().join("out").exists());
        std::fs::write(&cfg, &before).unwrap();
    }
    add("src = \"conf/link.txt\"\ndst = \"/etc/demo/leaked.txt\"\nallow-outside = true");
    wharf_run(t.path(), &["package", "-c", cfg.to_str().unwrap(), "-o", "out"]).success();
}

#[test]
fn packages_no_client_installs_are_refused() {
    // A file and a directory at one path; a name longer than any file system takes.
    package_fails(
        |s| {
            s.replacen(
                "[[package.symlinks]]",
                "[[package.dirs]]\npath = \"/usr/bin/demo\"\n\n[[package.symlinks]]",
                1,
            )
        },
        &["demo", "usr/bin/demo", "no package manager installs"],
    );
    let long = "x".repeat(256);
    package_fails(
        |s| {
            s.replace(
                "dst = \"/etc/demo/demo.conf\"",
                &format!("dst = \"/etc/demo/{long}\""),
            )
        },
        &["wharf.toml", "package[0].files[1].dst", "255 bytes"],
    );
}
