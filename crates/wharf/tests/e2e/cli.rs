//! The command line itself: init, --json, usage errors, help.

use wharf_test::{TempDir, write};

use crate::wharf_run;

#[test]
fn init_writes_a_config_that_packages() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    write(
        &dir.join("Cargo.toml"),
        "[package]\nname = \"tool\"\nversion = \"0.4.2\"\nedition = \"2021\"\nauthors = [\"T <t@example.org>\"]\ndescription = \"a tool\"\n",
    );
    write(&dir.join("src/main.rs"), "fn main() {}\n");
    let init = wharf_run(dir, &["init"]).success();
    assert!(init.stderr.contains("Created"), "{}", init.stderr);
    let text = std::fs::read_to_string(dir.join("wharf.toml")).unwrap();
    assert!(
        text.contains("name = \"tool\"")
            && text.contains("version = \"0.4.2\"")
            && text.contains("target/release/tool"),
        "{text}"
    );
    // Refuses to overwrite.
    let again = wharf_run(dir, &["init"]);
    assert_eq!(again.code, Some(1));
    assert!(
        again.stderr.contains("already exists") && again.stderr.contains("--force"),
        "{}",
        again.stderr
    );
    // The generated config works as is once the binary is built.
    write(&dir.join("target/release/tool"), "#!/bin/sh\n");
    let pkg = wharf_run(dir, &["--json", "package"]).success();
    let v: serde_json::Value = serde_json::from_str(pkg.stdout.trim()).unwrap();
    assert_eq!(v["packages"][0]["name"], "tool");
    assert_eq!(v["packages"][0]["version"], "0.4.2");
    assert!(dir.join(v["packages"][0]["path"].as_str().unwrap()).is_file());
}

#[test]
fn usage_errors_exit_2_and_help_lists_commands() {
    let t = TempDir::new().unwrap();
    let bad = wharf_run(t.path(), &["package", "--format", "msi"]);
    assert_eq!(bad.code, Some(2), "{}", bad.stderr);
    let help = wharf_run(t.path(), &["--help"]).success();
    for cmd in ["init", "package", "publish", "key", "Exit codes"] {
        assert!(help.stdout.contains(cmd), "{}", help.stdout);
    }
    // Commands that only read a store take no transaction settings; every command names its store --to.
    for args in [
        &["serve", "--keep", "1"][..],
        &["serve", "--grace", "0"],
        &["verify", "public", "--lock-wait", "5m"],
    ] {
        let refused = wharf_run(t.path(), args);
        assert_eq!(refused.code, Some(2), "{args:?}: {}", refused.stderr);
    }
    for cmd in ["serve", "publish", "release", "prune"] {
        let help = wharf_run(t.path(), &[cmd, "--help"]).success();
        assert!(help.stdout.contains("--to <STORE>"), "{cmd}: {}", help.stdout);
    }
    let none = wharf_run(t.path(), &["package"]);
    assert_eq!(none.code, Some(1));
    assert!(
        none.stderr.contains("no wharf.toml or Cargo.toml") && none.stderr.contains("wharf init"),
        "{}",
        none.stderr
    );
}

#[test]
fn publish_json_report() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = crate::demo_project(&dir.join("proj"));
    let key = wharf_test::throwaway_key(&dir.join("k"));
    let out = wharf_run(
        dir,
        &[
            "--json",
            "-q",
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            "repo",
            "--key",
            key.to_str().unwrap(),
        ],
    )
    .success();
    assert!(out.stderr.is_empty(), "-q printed: {}", out.stderr);
    let v: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(v["reports"]["apt"]["added"].as_array().unwrap().len(), 2, "{v}");
    assert!(v["apt_sources"].as_str().unwrap().contains("Signed-By: "), "{v}");
}

#[test]
fn publish_takes_a_directory_of_packages() {
    if !wharf_test::require(&["nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let a = wharf_test::nfpm_deb(&dir.join("built"), "alpha", "1.0.0", "a");
    let b = wharf_test::nfpm_rpm(&dir.join("built/nested"), "beta", "2.0.0", "b", &[]);
    assert!(a.starts_with(dir.join("built")) && b.starts_with(dir.join("built/nested")));
    // What a directory also holds and publish must leave alone: notes, hidden directories, temp files.
    write(&dir.join("built/README.txt"), "not a package\n");
    write(&dir.join("built/.cache/junk.deb"), "not a package either\n");
    let key = wharf_test::throwaway_key(dir);
    let out = wharf_run(
        dir,
        &["publish", "--to", "repo", "--key", key.to_str().unwrap(), "built"],
    )
    .success();
    assert!(out.stderr.contains("alpha_1.0.0_amd64.deb"), "{}", out.stderr);
    assert!(out.stderr.contains("beta-2.0.0-1.x86_64.rpm"), "{}", out.stderr);
    assert!(!out.stderr.contains("junk"), "{}", out.stderr);
    let packages = std::fs::read_to_string(dir.join("repo/dists/stable/main/binary-amd64/Packages")).unwrap();
    assert!(packages.contains("Package: alpha\n"), "{packages}");
    // A directory with no package file is one error naming it.
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    let d = wharf_run(dir, &["publish", "--to", "repo", "empty"]);
    assert!(
        !d.ok
            && d.stderr
                .contains("empty: no package file (.deb, .rpm, .ipk, .apk, .pkg.tar.zst)"),
        "{}",
        d.all()
    );
}

/// Every kind's key is configured in `[keys]`, relative to wharf.toml wherever wharf runs; a key that is
/// neither given nor configured is an error saying how to make one — never a new key in the directory
/// wharf happens to run in.
#[test]
fn keys_are_configured_and_never_made_behind_the_users_back() {
    if !wharf_test::require(&["nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let proj = t.path().join("proj");
    let cfg = crate::demo_project(&proj);
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(&cfg, text.replace("[keys]\nthrowaway = true\n", ""));
    let ipk = wharf_test::nfpm_ipk(&t.path().join("built"), "alpha", "1.0.0", "a");
    let elsewhere = t.path().join("elsewhere");
    std::fs::create_dir_all(&elsewhere).unwrap();
    let publish = || {
        wharf_run(
            &elsewhere,
            &[
                "publish",
                "-c",
                cfg.to_str().unwrap(),
                "--to",
                "repo",
                ipk.to_str().unwrap(),
            ],
        )
    };
    let refused = publish();
    assert_eq!(refused.code, Some(1), "{}", refused.all());
    assert!(
        refused.stderr.contains("no usign key for opkg feeds")
            && refused.stderr.contains("wharf key generate usign -o keys")
            && refused.stderr.contains("[keys] usign = \"keys/key-build\""),
        "{}",
        refused.stderr
    );
    for d in [&proj, &elsewhere] {
        assert!(!d.join(".wharf").exists(), "a key was made in {}", d.display());
    }
    assert!(!elsewhere.join("repo").exists());

    wharf_run(
        t.path(),
        &[
            "key",
            "generate",
            "usign",
            "-o",
            proj.join("keys").to_str().unwrap(),
        ],
    )
    .success();
    write(
        &cfg,
        format!(
            "{}\n[keys]\nusign = \"keys/key-build\"\n",
            std::fs::read_to_string(&cfg).unwrap()
        ),
    );
    let ok = publish().success();
    assert!(ok.stderr.contains("Published"), "{}", ok.all());
    let fp = std::fs::read_dir(elsewhere.join("repo/opkg/keys"))
        .unwrap()
        .count();
    assert!(fp >= 1);
    assert!(!proj.join(".wharf/throwaway-usign-key").exists());
}

/// Base URLs reach clients normalised: `..` resolved, no doubled or trailing `/`; text no client can use
/// as a base is refused before anything is built.
#[test]
fn base_urls_are_normalised() {
    let t = TempDir::new().unwrap();
    let src = t.path().join("src");
    let cfg = crate::demo_project(&src);
    let c = cfg.to_str().unwrap();
    let publish = |extra: &[&str]| {
        let mut args = vec!["publish", "-c", c, "--format", "rpm"];
        args.extend_from_slice(extra);
        wharf_run(&src, &args)
    };
    // A store given as ../pub: the default file:// base names its real place.
    let out = publish(&["--to", "../pub"]).success();
    let repo = std::fs::read_to_string(t.path().join("pub/linux-x86_64/demo.repo")).unwrap();
    let want = format!("baseurl=file://{}/linux-x86_64", t.path().join("pub").display());
    assert!(repo.contains(&want), "{repo}\n{}", out.all());
    assert!(!out.stdout.contains("/../"), "{}", out.stdout);
    publish(&["--to", "../pub2", "--base-url", "https://h.example/src/../pub//"]).success();
    let repo = std::fs::read_to_string(t.path().join("pub2/linux-x86_64/demo.repo")).unwrap();
    assert!(
        repo.contains("baseurl=https://h.example/pub/linux-x86_64\n"),
        "{repo}"
    );
    let bad = publish(&["--to", "../pub3", "--base-url", "packages.example.org"]);
    assert_eq!(bad.code, Some(1));
    assert!(bad.stderr.contains("has no scheme"), "{}", bad.stderr);
    assert!(!t.path().join("pub3").exists());
}

/// `publish --dry-run` and `release --dry-run` print what they would build and every object they would
/// write, and write nothing: not the store, not dist/, not a key, not even a store that does not exist.
#[test]
fn dry_runs_print_the_plan_and_write_nothing() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = crate::demo_project(dir);
    let c = cfg.to_str().unwrap();
    // One clock for every run: the packages are the same bytes each time.
    let wharf_run = |dir: &std::path::Path, args: &[&str]| {
        wharf_test::run(
            crate::wharf(dir)
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args(args),
        )
    };
    wharf_run(dir, &["publish", "-c", c, "--format", "deb", "--to", "public"]).success();
    let before = wharf_test::tree(dir);
    let plan = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--format",
            "deb",
            "--format",
            "rpm",
            "--to",
            "public",
            "--dry-run",
        ],
    )
    .success();
    for want in [
        "dry run: nothing written",
        // The debs are published already; the suite is re-signed (its Valid-Until moves on).
        "apt: add 0 package(s)",
        "write  dists/stable/InRelease",
        "rpm-md: add 2 package(s)",
        "write  linux-x86_64/Packages/d/demo-1.0.0-1.x86_64.rpm",
        "write  linux-x86_64/repodata/repomd.xml",
        "; signed by ",
    ] {
        assert!(plan.stdout.contains(want), "{want} not in\n{}", plan.all());
    }
    assert!(
        plan.stderr.contains("Would package demo 1.0.0-1 (x86_64, rpm)"),
        "{}",
        plan.stderr
    );
    let release = wharf_run(
        dir,
        &[
            "release",
            "-c",
            c,
            "--version",
            "2.0.0",
            "--to",
            "public",
            "--dry-run",
        ],
    )
    .success();
    for want in [
        "dry run: nothing written",
        "apt: add 2 package(s)",
        "write  releases/2.0.0/demo_2.0.0_amd64.deb",
        "release 2.0.0: write",
    ] {
        assert!(release.stdout.contains(want), "{want} not in\n{}", release.all());
    }
    let json = wharf_run(
        dir,
        &[
            "--json",
            "release",
            "-c",
            c,
            "--version",
            "2.0.0",
            "--to",
            "public",
            "--dry-run",
        ],
    )
    .success();
    let v: serde_json::Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["manifest"]["version"], "2.0.0");
    wharf_run(dir, &["publish", "-c", c, "--to", "fresh", "--dry-run"]).success();
    assert!(!dir.join("fresh").exists(), "a dry run made the store");
    assert!(wharf_test::tree(dir) == before, "a dry run wrote something");
}

/// Shell completions and the manual page come from the same definition as the parser; global options are
/// under a heading of their own.
#[test]
fn completions_man_and_help_headings() {
    let t = TempDir::new().unwrap();
    let bash = wharf_run(t.path(), &["completions", "bash"]).success();
    assert!(
        bash.stdout.contains("_wharf()") && bash.stdout.contains("publish"),
        "{}",
        bash.stdout
    );
    let script = t.path().join("wharf.bash");
    write(&script, &bash.stdout);
    wharf_test::run(std::process::Command::new("bash").arg("-n").arg(&script)).success();
    for shell in ["zsh", "fish"] {
        let s = wharf_run(t.path(), &["completions", shell]).success();
        assert!(
            s.stdout.contains("release") && s.stdout.contains("--dry-run"),
            "{shell}"
        );
    }
    let man = wharf_run(t.path(), &["man"]).success();
    assert!(
        man.stdout.contains(".TH wharf 1") && man.stdout.contains(".SH NAME"),
        "{}",
        man.stdout
    );
    // One page per command, which man(1) renders.
    wharf_run(t.path(), &["man", "--out-dir", "pages"]).success();
    for page in [
        "wharf",
        "wharf-publish",
        "wharf-release",
        "wharf-verify",
        "wharf-key",
    ] {
        let path = t.path().join("pages").join(format!("{page}.1"));
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(&format!(".TH {page} 1")), "{page}: {text}");
    }
    if std::path::Path::new("/usr/bin/man").exists() {
        let rendered = wharf_test::run(
            std::process::Command::new("man")
                .arg("-l")
                .arg(t.path().join("pages/wharf-publish.1"))
                .env("MANWIDTH", "100"),
        )
        .success();
        assert!(rendered.stdout.contains("wharf-publish"), "{}", rendered.stdout);
    }
    let help = wharf_run(t.path(), &["publish", "--help"]).success();
    assert!(help.stdout.contains("Global options:"), "{}", help.stdout);
}

#[test]
fn publish_takes_its_package_list_from_a_file_or_standard_input() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = crate::demo_project(&dir.join("proj"));
    wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "deb",
            "-o",
            "dist",
        ],
    )
    .success();
    let debs: Vec<String> = std::fs::read_dir(dir.join("dist"))
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .collect();
    assert_eq!(debs.len(), 2, "{debs:?}");
    // From a file: one path per line, blank lines skipped.
    write(&dir.join("list"), format!("{}\n\n", debs[0]));
    let done = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            "repo",
            "--files-from",
            "list",
        ],
    )
    .success();
    assert!(
        done.stdout.contains("apt: 1 package(s) added, 0 unchanged"),
        "{}",
        done.all()
    );
    // From standard input, beside one named on the command line.
    let mut c = crate::wharf(dir);
    c.args([
        "publish",
        "-c",
        cfg.to_str().unwrap(),
        "--to",
        "repo",
        "--files-from",
        "-",
        &debs[0],
    ])
    .stdin(std::process::Stdio::piped())
    .stdout(std::process::Stdio::piped())
    .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write as _;
    writeln!(child.stdin.take().unwrap(), "{}", debs[1]).unwrap();
    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("apt: 1 package(s) added, 1 unchanged"),
        "{stdout}"
    );
    let packages = std::fs::read_to_string(dir.join("repo/dists/stable/main/binary-amd64/Packages")).unwrap();
    assert_eq!(packages.matches("Package: ").count(), 2, "{packages}");
    // An empty list is an error, not a publish of the project.
    write(&dir.join("empty"), "\n");
    let none = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            "repo",
            "--files-from",
            "empty",
        ],
    );
    assert!(
        !none.ok && none.stderr.contains("lists no package file"),
        "{}",
        none.all()
    );
}
