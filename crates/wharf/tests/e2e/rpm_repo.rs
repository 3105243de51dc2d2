//! .rpm packages and rpm-md repositories, judged by rpmkeys, rpmlint, dnf, zypper and createrepo_c.

use std::fs;
use std::path::Path;
use std::process::Command;

use wharf_test::{Dnf, HttpServer, TempDir, Zypper, nfpm_rpm, require, run, write};

use crate::{demo_project, wharf_run};

/// rpmlint error-level findings that do not apply to a test package, with the reason.
const ALLOWED_RPMLINT: &[(&str, &str)] = &[
    (
        "no-changelogname-tag",
        "rpm changelogs come from the release changelog (a later issue)",
    ),
    (
        "no-group-tag",
        "Group is obsolete since Fedora 28; wharf writes `Unspecified`, which rpmlint 2.4 counts as none",
    ),
    (
        "no-binary",
        "the test 'binary' is a shell script in an arch-specific package",
    ),
];

/// `rpm -qp --nosignature ARGS FILE`, its stdout.
fn rpm_query(file: &Path, args: &[&str]) -> String {
    run(Command::new("rpm")
        .args(["-qp", "--nosignature"])
        .args(args)
        .arg(file))
    .success()
    .stdout
}

fn find(dir: &Path, prefix: &str) -> std::path::PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name().unwrap().to_string_lossy().starts_with(prefix)
                && p.extension().is_some_and(|e| e == "rpm")
        })
        .unwrap_or_else(|| panic!("no {prefix}*.rpm in {}", dir.display()))
}

#[test]
fn rpmkeys_verifies_and_rpmlint_accepts() {
    if !require(&["rpmkeys", "rpmlint", "gpg"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    for (algorithm, label) in [("rsa4096", "RSA/SHA256"), ("ed25519", "EdDSA/SHA256")] {
        let keys = dir.join(format!("keys-{algorithm}"));
        wharf_run(
            dir,
            &[
                "key",
                "generate",
                "openpgp",
                "-o",
                keys.to_str().unwrap(),
                "--algorithm",
                algorithm,
            ],
        )
        .success();
        let out = dir.join(format!("out-{algorithm}"));
        let secret = keys.join("secret.asc");
        wharf_run(
            dir,
            &[
                "package",
                "-c",
                cfg.to_str().unwrap(),
                "--format",
                "rpm",
                "--key",
                secret.to_str().unwrap(),
                "-o",
                out.to_str().unwrap(),
            ],
        )
        .success();
        let db = dir.join(format!("rpmdb-{algorithm}"));
        run(Command::new("rpmkeys")
            .arg("--dbpath")
            .arg(&db)
            .arg("--import")
            .arg(keys.join("public.asc")))
        .success();
        for name in ["demo-1.0.0", "demo-data-1.0.0"] {
            let rpm = find(&out, name);
            let check = run(Command::new("rpmkeys")
                .arg("--dbpath")
                .arg(&db)
                .args(["--checksig", "-v"])
                .arg(&rpm))
            .success();
            for line in [
                format!("Header V4 {label} Signature, key ID"),
                "Header SHA256 digest: OK".to_owned(),
                "Header SHA1 digest: OK".to_owned(),
                "Payload SHA256 digest: OK".to_owned(),
            ] {
                assert!(
                    check.stdout.contains(&line),
                    "{algorithm} {name}: missing `{line}`:\n{}",
                    check.stdout
                );
            }
            assert!(
                check
                    .stdout
                    .lines()
                    .filter(|l| l.contains("Signature"))
                    .all(|l| l.ends_with(": OK")),
                "{}",
                check.stdout
            );
            // The large files are spliced in compressed (wharf_package::splice): rpm lists the digests of
            // their content (rpm itself checks them when dnf installs the packages).
            let (path, content) = match name {
                "demo-1.0.0" => ("/usr/bin/demo", crate::demo_binary()),
                _ => ("/usr/share/demo-data/blob.bin", crate::demo_blob()),
            };
            let q = run(Command::new("rpm")
                .args(["-qp", "--qf", "[%{FILENAMES} %{FILESIZES} %{FILEDIGESTS}\\n]"])
                .arg(&rpm))
            .success();
            let want = format!(
                "{path} {} {}",
                content.len(),
                wharf_core::digest::Checksums::of_sha256(&content).sha256
            );
            assert!(
                q.stdout.lines().any(|l| l == want),
                "want `{want}`:\n{}",
                q.stdout
            );
            let lint = run(Command::new("rpmlint").arg(&rpm));
            for line in lint.stdout.lines().filter(|l| l.contains(": E: ")) {
                let tag = line
                    .split(": E: ")
                    .nth(1)
                    .unwrap_or("")
                    .split_whitespace()
                    .next()
                    .unwrap_or("");
                // rpmlint has no access to our key; the signature itself was checked by rpmkeys above.
                if tag == "unknown-key" {
                    continue;
                }
                assert!(
                    ALLOWED_RPMLINT.iter().any(|(t, _)| *t == tag),
                    "rpmlint error not allowed: {line}\n{}",
                    lint.stdout
                );
            }
        }
        // No SHA-1 anywhere in the key's self-signatures (RHEL 9 and sqv refuse them).
        let packets = run(Command::new("gpg")
            .args(["--list-packets"])
            .arg(keys.join("public.asc"))
            .env("GNUPGHOME", dir))
        .success();
        assert!(packets.stdout.contains("digest algo 8"), "{}", packets.stdout);
        assert!(
            !packets.stdout.contains("digest algo 2,"),
            "SHA-1 self-signature:\n{}",
            packets.stdout
        );
    }
}

/// Publishes into `repo/fedora-43-x86_64`: the demo project's rpms (signed at build time), an unsigned
/// nFPM rpm as it is, and an nFPM `/bin/sh` provider signed by `publish --sign`.
fn published(dir: &Path) -> std::path::PathBuf {
    let cfg = demo_project(&dir.join("proj"));
    let c = cfg.to_str().unwrap();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "keys"]).success();
    let common = [
        "-c",
        c,
        "--to",
        "repo",
        "--key",
        "keys/secret.asc",
        "--repo",
        "fedora-43-x86_64",
    ];
    let run_publish = |extra: &[&str]| {
        let mut args = vec!["publish"];
        args.extend(common);
        args.extend(extra);
        wharf_run(dir, &args).success()
    };
    run_publish(&["--format", "rpm"]);
    let peer = nfpm_rpm(&dir.join("peer"), "peer", "2.0.0", "peer", &[]);
    let out = run_publish(&[peer.to_str().unwrap()]);
    assert!(
        out.stderr.contains("is not signed"),
        "unsigned packages must be called out:\n{}",
        out.stderr
    );
    let sh = nfpm_rpm(&dir.join("sh"), "shstub", "1.0.0", "sh", &["/bin/sh"]);
    let out = run_publish(&["--sign", sh.to_str().unwrap()]);
    assert!(!out.stderr.contains("is not signed"), "{}", out.stderr);
    dir.join("repo")
}

#[test]
fn dnf_and_zypper_install_from_the_repository() {
    if !require(&["dnf", "zypper", "rpmkeys", "nfpm", "python3"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let repo = published(dir);
    let server = HttpServer::start(&repo, dir);
    for (name, base) in [
        ("http", server.url()),
        ("file", format!("file://{}", repo.display())),
    ] {
        let url = format!("{base}/fedora-43-x86_64");
        let dnf = Dnf::new(
            &dir.join(format!("dnf-{name}")),
            &url,
            &format!("{base}/RPM-GPG-KEY-demo"),
        );
        // Signed packages install; the repository signature was checked (repo_gpgcheck=1).
        let ok = dnf.run(&["install", "demo", "demo-data"]).success();
        assert!(ok.all().contains("Complete!"), "{name}: {}", ok.all());
        assert!(
            dnf.root().join("usr/bin/demo").is_file()
                && dnf.root().join("usr/share/demo-data/example.conf").is_file()
        );
        assert!(dnf.root().join("etc/demo/demo.conf").is_file());
        assert_eq!(
            fs::read(dnf.root().join("usr/bin/demo")).unwrap(),
            crate::demo_binary()
        );
        assert_eq!(
            fs::read(dnf.root().join("usr/share/demo-data/blob.bin")).unwrap(),
            crate::demo_blob()
        );
        // The nFPM-built package (signed on publish with --sign) came in as demo's /bin/sh provider.
        assert!(
            dnf.root().join("usr/bin/shstub").is_file(),
            "{name}: the nFPM package was not installed"
        );
        // The unsigned nFPM package is refused by gpgcheck=1.
        let refused = dnf.run(&["install", "peer"]);
        assert!(
            !refused.ok,
            "{name}: dnf installed an unsigned package:\n{}",
            refused.all()
        );
        assert!(
            refused.all().contains("is not signed") || refused.all().contains("GPG check FAILED"),
            "{}",
            refused.all()
        );

        let z = Zypper::new(
            &dir.join(format!("zypper-{name}")),
            &url,
            &repo.join("RPM-GPG-KEY-demo"),
        );
        let refresh = z.run(&["refresh"]).success();
        assert!(
            refresh.all().contains("All repositories have been refreshed"),
            "{}",
            refresh.all()
        );
        let install = z
            .run(&["install", "--no-recommends", "demo-data", "shstub"])
            .success();
        assert!(
            install.all().contains("Installing: demo-data-1.0.0-1.noarch"),
            "{}",
            install.all()
        );
        assert!(z.root().join("usr/share/demo-data/example.conf").is_file());
        assert_eq!(
            fs::read(z.root().join("usr/share/demo-data/blob.bin")).unwrap(),
            crate::demo_blob()
        );
        assert!(
            z.root().join("usr/bin/shstub").is_file(),
            "{name}: zypper did not install the nFPM package"
        );
        let refused = z.run(&["install", "--no-recommends", "peer"]);
        assert!(
            !refused.ok,
            "{name}: zypper installed an unsigned package:\n{}",
            refused.all()
        );
    }
    // Without repomd.xml.asc both clients refuse the repository.
    let copy = dir.join("nosig");
    run(Command::new("cp").arg("-a").arg(&repo).arg(&copy)).success();
    fs::remove_file(copy.join("fedora-43-x86_64/repodata/repomd.xml.asc")).unwrap();
    let url = format!("file://{}/fedora-43-x86_64", copy.display());
    let dnf = Dnf::new(
        &dir.join("dnf-nosig"),
        &url,
        &format!("file://{}/RPM-GPG-KEY-demo", copy.display()),
    );
    let r = dnf.run(&["install", "demo-data"]);
    assert!(
        !r.ok && r.all().contains("GPG signature is not available"),
        "{}",
        r.all()
    );
    let z = Zypper::new(&dir.join("zypper-nosig"), &url, &copy.join("RPM-GPG-KEY-demo"));
    let r = z.run(&["refresh"]);
    assert!(!r.ok || r.all().contains("Skipping repository"), "{}", r.all());
    assert!(
        r.all().contains("Skipping repository") || r.all().contains("not signed"),
        "{}",
        r.all()
    );
}

/// Canonicalises one metadata file with Python's ElementTree (an independent XML parser): a JSON object
/// of packages keyed by pkgid, each a nested [tag, sorted attributes, text, children] list.
/// `time/@file` is dropped: createrepo_c writes the .rpm's mtime there, wharf the time it was added
/// (so indexes are reproducible); `time/@build` must still agree.
const CANONICAL: &str = r#"
import gzip, json, sys, xml.etree.ElementTree as E
root = E.fromstring(gzip.open(sys.argv[1]).read())
def canon(e):
    tag = e.tag.split('}')[-1]
    attrs = dict(e.attrib)
    if tag == 'time':
        attrs.pop('file', None)
    return [tag, sorted(attrs.items()), (e.text or '').strip(), [canon(c) for c in e]]
out = {}
for p in root:
    key = p.get('pkgid') or next(c.text for c in p if c.tag.endswith('checksum'))
    out[key] = canon(p)
print(json.dumps({'packages': root.get('packages'), 'list': out}))
"#;

/// The `kind` metadata of a repository, found the way clients find it (through repomd.xml), canonicalised.
fn md(dir: &Path, kind: &str) -> serde_json::Value {
    let repomd = fs::read_to_string(dir.join("repodata/repomd.xml")).unwrap();
    let href = repomd
        .split("<location href=\"")
        .skip(1)
        .map(|s| &s[..s.find('"').unwrap()])
        .find(|h| h.ends_with(&format!("-{kind}.xml.gz")))
        .unwrap();
    let out = run(Command::new("python3")
        .arg("-c")
        .arg(CANONICAL)
        .arg(dir.join(href)))
    .success();
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn metadata_matches_createrepo_c() {
    if !require(&["nfpm", "rpmkeys"]) {
        return;
    }
    assert!(Path::new("/usr/bin/createrepo_c").is_file() || !require(&["createrepo_c"]));
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let repo = published(dir).join("fedora-43-x86_64");
    let theirs = dir.join("theirs");
    fs::create_dir_all(&theirs).unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg(repo.join("Packages"))
        .arg(&theirs))
    .success();
    run(Command::new("/usr/bin/createrepo_c")
        .args(["--general-compress-type=gz", "--no-database"])
        .arg(&theirs))
    .success();
    for kind in ["primary", "filelists", "other"] {
        let (ours, theirs) = (md(&repo, kind), md(&theirs, kind));
        assert_eq!(ours["packages"], "4", "{kind}: packages= attribute");
        assert_eq!(ours["packages"], theirs["packages"], "{kind}");
        let (ours, theirs) = (
            ours["list"].as_object().unwrap(),
            theirs["list"].as_object().unwrap(),
        );
        assert_eq!(ours.len(), 4, "{kind}");
        assert_eq!(
            ours.keys().collect::<Vec<_>>(),
            theirs.keys().collect::<Vec<_>>(),
            "{kind}: different packages"
        );
        for (id, o) in ours {
            assert_eq!(
                o, &theirs[id],
                "{kind}: package {id} differs\nours:   {o}\ntheirs: {}",
                theirs[id]
            );
        }
    }
}

#[test]
fn rpm_repositories_are_reproducible() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "keys"]).success();
    let mut trees = Vec::new();
    for run_name in ["a", "b"] {
        let cfg = demo_project(&dir.join(format!("proj-{run_name}")));
        let repo = dir.join(format!("repo-{run_name}"));
        wharf_test::run(crate::wharf(dir).env("SOURCE_DATE_EPOCH", "1700000000").args([
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "rpm",
            "--to",
            repo.to_str().unwrap(),
            "--key",
            "keys/secret.asc",
            "--repo",
            "fedora-43-x86_64",
            "--base-url",
            "https://packages.example.org",
        ]))
        .success();
        trees.push(wharf_test::tree(&repo));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    assert!(trees[0].iter().any(|(p, _)| p.ends_with("repomd.xml.asc")));
    assert!(trees[0].iter().any(|(p, _)| p.ends_with(".x86_64.rpm")));
    assert_eq!(trees[0].len(), trees[1].len());
    for ((pa, a), (pb, b)) in trees[0].iter().zip(&trees[1]) {
        assert_eq!(pa, pb);
        assert!(a == b, "{pa} differs between runs");
    }
    let repo_file = &trees[0]
        .iter()
        .find(|(p, _)| p.ends_with("/demo.repo"))
        .unwrap()
        .1;
    let text = String::from_utf8_lossy(repo_file);
    assert!(
        text.contains("baseurl=https://packages.example.org/fedora-43-x86_64")
            && text.contains("repo_gpgcheck=1"),
        "{text}"
    );
}

#[test]
fn bad_rpm_input_is_refused_without_touching_the_repository() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "keys"]).success();
    write(&dir.join("text.rpm"), "this is not an rpm");
    let cfg = demo_project(&dir.join("proj"));
    wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "rpm",
            "-o",
            "out",
        ],
    )
    .success();
    let good = find(&dir.join("out"), "demo-1.0.0");
    let bytes = fs::read(&good).unwrap();
    fs::write(dir.join("truncated.rpm"), &bytes[..bytes.len() / 3]).unwrap();
    // An rpm whose payload claims a path with `..` (made with the rpm crate directly: wharf cannot write one).
    let mut b = rpm::PackageBuilder::new("evil", "1.0", "MIT", "x86_64", "escapes");
    b.with_file_contents("x", rpm::FileOptions::new("/usr/../../etc/evil"))
        .unwrap();
    b.build().unwrap().write_file(dir.join("evil.rpm")).unwrap();
    for (file, needle) in [
        ("text.rpm", "not a valid .rpm"),
        ("truncated.rpm", "not a valid .rpm"),
        ("evil.rpm", "climbs out of the root"),
    ] {
        let d = wharf_run(
            dir,
            &[
                "publish",
                "--to",
                "repo",
                "--key",
                "keys/secret.asc",
                "--repo",
                "fedora-43-x86_64",
                file,
            ],
        );
        assert_eq!(d.code, Some(1), "{file}: {}", d.all());
        assert!(
            d.stderr.contains(file) && d.stderr.contains(needle),
            "{file}: {}",
            d.stderr
        );
        assert!(!dir.join("repo").exists(), "{file}: the store was touched");
    }
    // A key that cannot sign (a public key) → one clear error, nothing written.
    let d = wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            "keys/public.asc",
            "--repo",
            "fedora-43-x86_64",
            good.to_str().unwrap(),
        ],
    );
    assert!(d.stderr.contains("not an OpenPGP secret key"), "{}", d.stderr);
    assert!(!dir.join("repo").exists());
    // A package whose architecture no named repository takes.
    let d = wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            "keys/secret.asc",
            "--repo",
            "fedora-43-aarch64",
            good.to_str().unwrap(),
        ],
    );
    assert!(
        d.stderr.contains("none of the repositories") && d.stderr.contains("fedora-43-aarch64"),
        "{}",
        d.stderr
    );
    assert!(!dir.join("repo").exists());
}

#[test]
fn owners_ghosts_obsoletes_and_changelog() {
    if !require(&["rpm", "dpkg-deb"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    let text = fs::read_to_string(&cfg).unwrap().replace(
        "config = true\n",
        "config = true\nuser = \"root\"\ngroup = \"adm\"\nmode = \"0640\"\n\n[[package.ghosts]]\npath = \"/var/log/demo.log\"\n\n[package.rpm]\nobsoletes = [\"demo-legacy (< 1.0)\"]\n",
    ) + "\n[[changelog]]\nversion = \"1.0.0\"\ndate = \"2026-11-01\"\nchanges = [\"First release.\", \"Ships a conffile.\"]\n";
    fs::write(&cfg, text).unwrap();
    wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "rpm",
            "--format",
            "deb",
            "-o",
            "out",
        ],
    )
    .success();
    let rpm_file = find(&dir.join("out"), "demo-1.0.0");
    let q = |args: &[&str]| rpm_query(&rpm_file, args);
    let dump = q(&["--dump"]);
    assert!(
        dump.lines()
            .any(|l| l.starts_with("/etc/demo/demo.conf ") && l.contains(" root adm ")),
        "{dump}"
    );
    let ghosts = q(&["--qf", "[%{FILENAMES} %{FILEFLAGS:fflags}\\n]"]);
    assert!(
        ghosts.contains("/var/log/demo.log g"),
        "ghost flag missing:\n{ghosts}"
    );
    assert!(
        ghosts.contains("/etc/demo/demo.conf cn"),
        "config(noreplace) missing:\n{ghosts}"
    );
    assert!(q(&["--obsoletes"]).contains("demo-legacy < 1.0"));
    let log = q(&["--changelog"]);
    assert!(
        log.contains("Demo Maintainer <demo@example.org> - 1.0.0") && log.contains("- Ships a conffile."),
        "{log}"
    );
    let deb = crate::find_deb(&dir.join("out"), "demo");
    let contents = run(Command::new("dpkg-deb").arg("--contents").arg(&deb))
        .success()
        .stdout;
    assert!(
        contents
            .lines()
            .any(|l| l.starts_with("-rw-r----- root/adm") && l.ends_with("./etc/demo/demo.conf")),
        "{contents}"
    );
    assert!(
        !contents.contains("demo.log"),
        "a ghost file reached the .deb:\n{contents}"
    );
}

#[test]
fn cargo_generate_rpm_metadata_zero_config() {
    if !require(&["rpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let proj = dir.join("proj");
    write(
        &proj.join("Cargo.toml"),
        r#"[package]
name = "genrpm"
version = "2.1.0"
edition = "2021"
authors = ["Gen <gen@example.org>"]
description = "Configured through cargo-generate-rpm metadata"
license = "MIT"

[package.metadata.generate-rpm]
release = "3"
assets = [
    { source = "target/release/genrpm", dest = "/usr/bin/genrpm", mode = "755" },
    { source = "genrpm.conf", dest = "/etc/genrpm.conf", mode = "600", config = "noreplace", user = "root", group = "wheel" },
]
post_install_script = "echo genrpm installed"
requires = { filesystem = ">= 3", bash = "*" }
obsoletes = { genrpm-old = "< 2" }
auto-req = "no"
"#,
    );
    write(&proj.join("src/main.rs"), "fn main() {}\n");
    write(&proj.join("target/release/genrpm"), "#!/bin/sh\n");
    write(&proj.join("genrpm.conf"), "x=1\n");
    let out = wharf_run(&proj, &["package", "--format", "rpm", "-o", "../out"]).success();
    assert!(
        out.stderr.contains("generate-rpm.auto-req") && out.stderr.contains("ignored"),
        "{}",
        out.stderr
    );
    let rpm_file = find(&dir.join("out"), "genrpm-2.1.0-3.");
    let q = |args: &[&str]| rpm_query(&rpm_file, args);
    let requires = q(&["--requires"]);
    assert!(
        requires.contains("filesystem >= 3") && requires.contains("bash\n"),
        "{requires}"
    );
    assert!(q(&["--obsoletes"]).contains("genrpm-old < 2"));
    assert!(q(&["--scripts"]).contains("echo genrpm installed"));
    let dump = q(&["--dump"]);
    assert!(
        dump.lines()
            .any(|l| l.starts_with("/etc/genrpm.conf ") && l.contains(" root wheel ")),
        "{dump}"
    );
    assert!(dump.lines().any(|l| l.starts_with("/usr/bin/genrpm ")), "{dump}");
}

#[test]
fn dnf_and_zypper_read_zstd_metadata() {
    if !require(&["dnf", "zypper", "rpmkeys"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    let text = fs::read_to_string(&cfg).unwrap()
        + "\n[rpm]\nmetadata-compression = \"zstd\"\nrepos = [\"el-10-x86_64\"]\n";
    fs::write(&cfg, text).unwrap();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "keys"]).success();
    wharf_run(
        dir,
        &[
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "rpm",
            "--to",
            "repo",
            "--key",
            "keys/secret.asc",
        ],
    )
    .success();
    let repo = dir.join("repo");
    let repomd = fs::read_to_string(repo.join("el-10-x86_64/repodata/repomd.xml")).unwrap();
    assert!(
        repomd.contains("-primary.xml.zst\"") && !repomd.contains(".xml.gz"),
        "{repomd}"
    );
    let url = format!("file://{}/el-10-x86_64", repo.display());
    let dnf = Dnf::new(
        &dir.join("dnf"),
        &url,
        &format!("file://{}/RPM-GPG-KEY-demo", repo.display()),
    );
    dnf.run(&["install", "demo-data"]).success();
    assert!(dnf.root().join("usr/share/demo-data/example.conf").is_file());
    let z = Zypper::new(&dir.join("zypper"), &url, &repo.join("RPM-GPG-KEY-demo"));
    z.run(&["refresh"]).success();
    z.run(&["install", "--no-recommends", "demo-data"]).success();
    assert!(z.root().join("usr/share/demo-data/example.conf").is_file());
}
