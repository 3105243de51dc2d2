//! `wharf verify`: passes on wharf's repositories of every kind and on peer-made ones (apt-ftparchive +
//! `gpg --clearsign`, createrepo_c + `gpg --detach-sign`, nFPM apk and ipk with hand-made, hand-signed
//! indexes), locally and over HTTP; and names the file and the fault of each of the planted faults below
//! (ten or more per kind), each planted the way it happens in real life, re-signed where a real publisher
//! would have re-signed.

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use sha2::{Digest, Sha256, Sha512};
use wharf_sign::{ApkEcKey, ApkRsaKey, KeyAlgorithm, OpenPgpKey, RsaDigest, UsignKey};
use wharf_test::{Done, HttpServer, TempDir, nfpm_apk, nfpm_ipk, nfpm_rpm_signed, require, run, write};

use crate::{demo_project, wharf, wharf_run};

const DEB: &str = "pool/main/d/demo/demo_1.0.0_amd64.deb";
const BIN: &str = "dists/stable/main/binary-amd64";
const RPM_REPO: &str = "linux-x86_64";
const RPM: &str = "linux-x86_64/Packages/d/demo-1.0.0-1.x86_64.rpm";
const APK: &str = "apk/x86_64/demo-1.0.0-r0.apk";
const APK3: &str = "apk3/x86_64/demo-1.0.0-r0.apk";
const IPK: &str = "opkg/x86_64/demo_1.0.0_x86_64.ipk";

/// A repository of every kind, published by wharf with keys made for the test, kept pristine.
struct Fixture {
    tmp: TempDir,
    keys: PathBuf,
    public: PathBuf,
    n: std::cell::Cell<u32>,
}

impl Fixture {
    fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("proj");
        demo_project(&dir);
        write(
            &dir.join("target/x86_64-unknown-linux-musl/release/demo"),
            crate::demo_binary(),
        );
        let keys = dir.join("keys");
        for kind in ["openpgp", "usign", "apk-ec"] {
            wharf_run(&dir, &["key", "generate", kind, "-o", "keys"]).success();
        }
        wharf_run(
            &dir,
            &["key", "generate", "apk-rsa", "--name", "test", "-o", "keys"],
        )
        .success();
        let mut cmd = wharf(&dir);
        cmd.args([
            "publish",
            "--target",
            "x86_64-unknown-linux-musl",
            "--key",
            "keys/secret.asc",
            "--usign-key",
            "keys/key-build",
            "--apk-key",
            "keys/test.rsa",
            "--apk3-key",
            "keys/private-key.pem",
        ]);
        for f in ["deb", "rpm", "ipk", "apk", "apk3"] {
            cmd.args(["--format", f]);
        }
        run(&mut cmd).success();
        let public = dir.join("public");
        for f in [DEB, RPM, APK, APK3, IPK] {
            assert!(public.join(f).is_file(), "{f} was not published");
        }
        Self {
            tmp,
            keys,
            public,
            n: std::cell::Cell::new(0),
        }
    }

    fn key_args(&self) -> Vec<String> {
        ["public.asc", "test.rsa.pub", "public-key.pem", "key-build.pub"]
            .iter()
            .flat_map(|k| ["--key".to_owned(), self.keys.join(k).display().to_string()])
            .collect()
    }

    fn openpgp(&self) -> OpenPgpKey {
        OpenPgpKey::from_bytes(&fs::read(self.keys.join("secret.asc")).unwrap(), None).unwrap()
    }

    fn usign(&self) -> UsignKey {
        UsignKey::from_secret_file(&fs::read(self.keys.join("key-build")).unwrap()).unwrap()
    }

    fn apk_rsa(&self) -> ApkRsaKey {
        ApkRsaKey::from_pem(&fs::read(self.keys.join("test.rsa")).unwrap(), "test.rsa.pub").unwrap()
    }

    fn apk_ec(&self) -> ApkEcKey {
        ApkEcKey::from_pem(&fs::read(self.keys.join("private-key.pem")).unwrap()).unwrap()
    }

    /// A copy of the pristine store, every file its own (the store hard-links a document's names —
    /// `Packages.gz` and its by-hash names — and a fault planted in one must not change the others).
    fn copy(&self) -> PathBuf {
        self.n.set(self.n.get() + 1);
        let to = self.tmp.path().join(format!("case-{}", self.n.get()));
        run(Command::new("cp")
            .args(["-R", "--no-dereference", "--preserve=mode,timestamps"])
            .arg(&self.public)
            .arg(&to))
        .success();
        to
    }

    /// Plants a fault in a copy and checks that verify names `file` with one of `faults`.
    fn plant(&self, what: &str, file: &str, faults: &[&str], mutate: impl FnOnce(&Path)) {
        let root = self.copy();
        mutate(&root);
        let (done, report) = verify_json(&root, &self.key_args());
        assert!(!done.ok, "{what}: verify passed\n{}", done.all());
        assert_eq!(done.code, Some(1), "{what}\n{}", done.all());
        let hit = findings(&report)
            .iter()
            .any(|(f, kind, _)| same_file(f, file) && faults.contains(&kind.as_str()));
        assert!(
            hit,
            "{what}: no {faults:?} finding for {file}; found:\n{}",
            findings(&report)
                .iter()
                .map(|(f, k, d)| format!("  {f}: {k}: {d}"))
                .collect::<Vec<_>>()
                .join("\n")
        );
        // The human report names it too.
        let human = run(wharf(&root).arg("verify").arg(&root).args(self.key_args()));
        let shown = file.trim_start_matches('*');
        assert!(
            faults
                .iter()
                .any(|f| human.stdout.contains(&format!("{shown}: {f}: "))),
            "{what}: {}",
            human.all()
        );
        fs::remove_dir_all(&root).unwrap();
    }
}

/// `want` names a file exactly, or with a leading `*` by its end (a rewritten content-addressed name).
fn same_file(found: &str, want: &str) -> bool {
    match want.strip_prefix('*') {
        Some(end) => found.ends_with(end),
        None => found == want,
    }
}

fn verify_json(root: &Path, keys: &[String]) -> (Done, Value) {
    let done = run(wharf(root).args(["--json", "verify"]).arg(root).args(keys));
    let report: Value = serde_json::from_str(&done.stdout)
        .unwrap_or_else(|e| panic!("verify --json printed no JSON ({e}):\n{}", done.all()));
    (done, report)
}

fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["repositories"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r["findings"].as_array().unwrap().iter())
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["fault"].as_str().unwrap().to_owned(),
                f["detail"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn flip(path: &Path, at: usize) {
    let mut b = fs::read(path).unwrap();
    let at = at.min(b.len() - 1);
    b[at] ^= 0x55;
    fs::write(path, b).unwrap();
}

fn truncate(path: &Path) {
    let b = fs::read(path).unwrap();
    fs::write(path, &b[..b.len() / 2]).unwrap();
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut z = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(data).unwrap();
    z.finish().unwrap()
}

fn gunzip(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    flate2::read::MultiGzDecoder::new(data)
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn edit(path: &Path, f: impl FnOnce(String) -> String) {
    let text = fs::read_to_string(path).unwrap();
    let new = f(text.clone());
    assert_ne!(new, text, "the edit of {} changed nothing", path.display());
    fs::write(path, new).unwrap();
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

// ---------------------------------------------------------------------------------------------- apt

/// What a publisher does after changing index files: rewrite Packages' compressed variants and by-hash
/// copies, rehash every file the Release lists, apply `release` to its text, sign it again with `key`.
fn reindex_apt(root: &Path, key: &OpenPgpKey, release: impl FnOnce(String) -> String) {
    let suite = root.join("dists/stable");
    let plain = fs::read(suite.join("main/binary-amd64/Packages")).unwrap();
    fs::write(suite.join("main/binary-amd64/Packages.gz"), gzip(&plain)).unwrap();
    run(Command::new("xz")
        .args(["-9", "-k", "-f"])
        .arg(suite.join("main/binary-amd64/Packages")))
    .success();
    let text = fs::read_to_string(suite.join("Release")).unwrap();
    let mut out = String::new();
    let mut section = "";
    for line in text.lines() {
        if !line.starts_with(' ') {
            section = line.split(':').next().unwrap_or("");
            out.push_str(line);
            out.push('\n');
            continue;
        }
        let parts: Vec<&str> = line.split_whitespace().collect();
        let path = parts[2];
        let Ok(bytes) = fs::read(suite.join(path)) else {
            out.push_str(line);
            out.push('\n');
            continue;
        };
        let hash = match section {
            "MD5Sum" => hex::encode(md5_of(&bytes)),
            "SHA1" => hex::encode(sha1::Sha1::digest(&bytes)),
            "SHA256" => hex::encode(Sha256::digest(&bytes)),
            _ => hex::encode(Sha512::digest(&bytes)),
        };
        if matches!(section, "SHA256" | "SHA512") {
            let parent = Path::new(path).parent().unwrap();
            write(
                &suite.join(parent).join(format!("by-hash/{section}/{hash}")),
                &bytes,
            );
        }
        out.push_str(&format!(" {hash} {} {path}\n", bytes.len()));
    }
    let out = release(out);
    fs::write(suite.join("Release"), &out).unwrap();
    fs::write(suite.join("InRelease"), key.cleartext(&out, now()).unwrap()).unwrap();
    fs::write(
        suite.join("Release.gpg"),
        key.detached(out.as_bytes(), now()).unwrap(),
    )
    .unwrap();
}

fn md5_of(bytes: &[u8]) -> Vec<u8> {
    // md-5 is not a test dependency: ask the system.
    let tmp = tempfile::NamedTempFile::new().unwrap();
    fs::write(tmp.path(), bytes).unwrap();
    let done = run(Command::new("md5sum").arg(tmp.path())).success();
    hex::decode(done.stdout.split_whitespace().next().unwrap()).unwrap()
}

fn by_hash_of(root: &Path, file: &str) -> String {
    let release = fs::read_to_string(root.join("dists/stable/Release")).unwrap();
    let sha512 = release.split("SHA512:").nth(1).unwrap();
    let line = sha512
        .lines()
        .find(|l| l.ends_with(&format!(" main/binary-amd64/{file}")))
        .unwrap();
    format!("{BIN}/by-hash/SHA512/{}", line.split_whitespace().next().unwrap())
}

fn apt_faults(fx: &Fixture) {
    let key = fx.openpgp();
    fx.plant("tampered package byte", DEB, &["hash-mismatch"], |r| {
        flip(&r.join(DEB), 300)
    });
    fx.plant(
        "truncated Packages.gz",
        &format!("{BIN}/Packages.gz"),
        &["size-mismatch"],
        |r| {
            truncate(&r.join(BIN).join("Packages.gz"));
        },
    );
    fx.plant("wrong size in Packages", DEB, &["size-mismatch"], |r| {
        edit(&r.join(BIN).join("Packages"), |t| {
            let size = t
                .split("Filename: pool/main/d/demo/demo_1.0.0_amd64.deb\nSize: ")
                .nth(1)
                .unwrap();
            let size = size.lines().next().unwrap().to_owned();
            t.replace(
                &format!("demo_1.0.0_amd64.deb\nSize: {size}\n"),
                &format!(
                    "demo_1.0.0_amd64.deb\nSize: {}\n",
                    size.parse::<u64>().unwrap() + 1
                ),
            )
        });
        reindex_apt(r, &key, |t| t);
    });
    fx.plant("missing package", DEB, &["missing"], |r| {
        fs::remove_file(r.join(DEB)).unwrap()
    });
    fx.plant(
        "signed by another key",
        "dists/stable/InRelease",
        &["unknown-key"],
        |r| {
            let stranger = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Stranger <s@example.org>").unwrap();
            reindex_apt(r, &stranger, |t| t);
        },
    );
    fx.plant("expired Valid-Until", "dists/stable/Release", &["expired"], |r| {
        reindex_apt(r, &key, |t| {
            let old = t
                .lines()
                .find(|l| l.starts_with("Valid-Until:"))
                .unwrap()
                .to_owned();
            t.replace(&old, "Valid-Until: Sat, 01 Jan 2000 00:00:00 UTC")
        });
    });
    fx.plant(
        "missing uncompressed Packages entry",
        &format!("{BIN}/Packages.gz"),
        &["unlisted"],
        |r| {
            fs::remove_file(r.join(BIN).join("Packages")).unwrap();
            reindex_apt_without_plain(r, &key);
        },
    );
    let stale = by_hash_of(&fx.public, "Packages.gz");
    fx.plant("stale by-hash", &stale, &["stale-by-hash"], |r| {
        fs::write(r.join(&stale), gzip(b"Package: old\n")).unwrap();
    });
    fx.plant("missing by-hash", &stale, &["missing-by-hash"], |r| {
        fs::remove_file(r.join(&stale)).unwrap();
    });
    fx.plant(
        "InRelease changed after signing",
        "dists/stable/InRelease",
        &["bad-signature"],
        |r| {
            edit(&r.join("dists/stable/InRelease"), |t| {
                t.replacen("Suite: stable", "Suite: stab1e", 1)
            });
        },
    );
    fx.plant(
        "no signature at all",
        "dists/stable/Release.gpg",
        &["unsigned"],
        |r| {
            fs::remove_file(r.join("dists/stable/InRelease")).unwrap();
            fs::remove_file(r.join("dists/stable/Release.gpg")).unwrap();
        },
    );
    fx.plant(
        "a listed index is absent",
        &format!("{BIN}/Packages.xz"),
        &["missing"],
        |r| {
            fs::remove_file(r.join(BIN).join("Packages.xz")).unwrap();
        },
    );
    fx.plant(
        "wrong architecture in the index",
        &format!("{BIN}/Packages"),
        &["mismatch"],
        |r| {
            edit(&r.join(BIN).join("Packages"), |t| {
                t.replacen("Architecture: amd64", "Architecture: arm64", 1)
            });
            reindex_apt(r, &key, |t| t);
        },
    );
    fx.plant("index and package disagree", DEB, &["mismatch"], |r| {
        edit(&r.join(BIN).join("Packages"), |t| {
            t.replacen(
                "Package: demo\nVersion: 1.0.0",
                "Package: demo\nVersion: 1.0.1",
                1,
            )
        });
        reindex_apt(r, &key, |t| t);
    });
    fx.plant(
        "unsigned text around InRelease",
        "dists/stable/InRelease",
        &["malformed"],
        |r| {
            let p = r.join("dists/stable/InRelease");
            let t = fs::read_to_string(&p).unwrap();
            fs::write(&p, format!("Origin: evil\n\n{t}")).unwrap();
        },
    );
}

/// [`reindex_apt`] after the plain Packages was removed: its Release lines go too (as a publisher
/// that forgot the uncompressed entry).
fn reindex_apt_without_plain(root: &Path, key: &OpenPgpKey) {
    let plain_gz = fs::read(root.join(BIN).join("Packages.gz")).unwrap();
    fs::write(root.join(BIN).join("Packages"), gunzip(&plain_gz)).unwrap();
    reindex_apt(root, key, |t| {
        t.lines()
            .filter(|l| !l.ends_with(" main/binary-amd64/Packages"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    fs::remove_file(root.join(BIN).join("Packages")).unwrap();
}

// ------------------------------------------------------------------------------------------- rpm-md

/// One `<data>` block of repomd.xml: (start, end) byte offsets.
fn data_block(repomd: &str, typ: &str) -> (usize, usize) {
    let start = repomd.find(&format!("<data type=\"{typ}\">")).unwrap();
    let end = start + repomd[start..].find("</data>").unwrap() + "</data>".len();
    (start, end)
}

fn tag_text<'a>(block: &'a str, tag: &str) -> &'a str {
    let open = block.find(&format!("<{tag}")).unwrap();
    let from = open + block[open..].find('>').unwrap() + 1;
    let to = from + block[from..].find(&format!("</{tag}>")).unwrap();
    &block[from..to]
}

fn href_of(repomd: &str, typ: &str) -> String {
    let (a, b) = data_block(repomd, typ);
    let block = &repomd[a..b];
    let from = block.find("href=\"").unwrap() + 6;
    block[from..from + block[from..].find('"').unwrap()].to_owned()
}

/// What a publisher does to change one metadata file: rewrite it, fix repomd.xml's checksums and sizes,
/// then `repomd` (a further edit of repomd.xml), and sign again.
fn rewrite_md(
    repo: &Path,
    typ: &str,
    key: &OpenPgpKey,
    f: impl FnOnce(String) -> String,
    repomd: impl FnOnce(String) -> String,
) {
    let md_path = repo.join("repodata/repomd.xml");
    let mut md = fs::read_to_string(&md_path).unwrap();
    if typ != "-" {
        let href = href_of(&md, typ);
        let file = repo.join(&href);
        let old = gunzip(&fs::read(&file).unwrap());
        let new_plain = f(String::from_utf8(old).unwrap());
        let new = gzip(new_plain.as_bytes());
        fs::remove_file(&file).unwrap();
        let (a, b) = data_block(&md, typ);
        let block = md[a..b].to_owned();
        let fixed = block
            .replace(tag_text(&block, "checksum"), &hex::encode(Sha256::digest(&new)))
            .replace(
                tag_text(&block, "open-checksum"),
                &hex::encode(Sha256::digest(new_plain.as_bytes())),
            )
            .replace(
                &format!("<size>{}</size>", tag_text(&block, "size")),
                &format!("<size>{}</size>", new.len()),
            )
            .replace(
                &format!("<open-size>{}</open-size>", tag_text(&block, "open-size")),
                &format!("<open-size>{}</open-size>", new_plain.len()),
            );
        md = md.replace(&block, &fixed);
        // Content-addressed names (`<sha256>-primary.xml.gz`) follow the new checksum.
        fs::write(repo.join(href_of(&md, typ)), &new).unwrap();
    }
    let md = repomd(md);
    fs::write(&md_path, &md).unwrap();
    fs::write(
        repo.join("repodata/repomd.xml.asc"),
        key.detached(md.as_bytes(), now()).unwrap(),
    )
    .unwrap();
}

fn rpm_faults(fx: &Fixture) {
    let key = fx.openpgp();
    let md = fs::read_to_string(fx.public.join(RPM_REPO).join("repodata/repomd.xml")).unwrap();
    let primary = format!("{RPM_REPO}/{}", href_of(&md, "primary"));
    let other = format!("{RPM_REPO}/{}", href_of(&md, "other"));
    let asc = format!("{RPM_REPO}/repodata/repomd.xml.asc");
    let repo = |r: &Path| r.join(RPM_REPO);
    let keep = |t: String| t;

    fx.plant("tampered package byte", RPM, &["hash-mismatch"], |r| {
        flip(&r.join(RPM), 2000)
    });
    fx.plant("truncated primary", &primary, &["size-mismatch"], |r| {
        truncate(&r.join(&primary))
    });
    fx.plant("wrong size in repomd.xml", &other, &["size-mismatch"], |r| {
        rewrite_md(&repo(r), "-", &key, keep, |m| {
            let (a, b) = data_block(&m, "other");
            let block = m[a..b].to_owned();
            let size = tag_text(&block, "size").to_owned();
            m.replace(
                &block,
                &block.replace(&format!("<size>{size}</size>"), "<size>1</size>"),
            )
        });
    });
    fx.plant("missing package", RPM, &["missing"], |r| {
        fs::remove_file(r.join(RPM)).unwrap()
    });
    fx.plant("signed by another key", &asc, &["unknown-key"], |r| {
        let stranger = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Stranger <s@example.org>").unwrap();
        rewrite_md(&repo(r), "-", &stranger, keep, |m| m);
    });
    fx.plant(
        "repomd.xml changed after signing",
        &asc,
        &["bad-signature"],
        |r| {
            edit(&repo(r).join("repodata/repomd.xml"), |t| {
                t.replacen("<revision>", "<revision>1", 1)
            });
        },
    );
    fx.plant("repomd.xml not signed", &asc, &["unsigned"], |r| {
        fs::remove_file(r.join(&asc)).unwrap()
    });
    fx.plant(
        "wrong package checksum in primary",
        RPM,
        &["hash-mismatch"],
        |r| {
            rewrite_md(
                &repo(r),
                "primary",
                &key,
                |t| {
                    let i = t.find("pkgid=\"YES\">").unwrap() + 12;
                    let mut t = t;
                    t.replace_range(i..i + 8, "00000000");
                    t
                },
                keep,
            );
        },
    );
    fx.plant(
        "package missing from filelists",
        "*-filelists.xml.gz",
        &["mismatch"],
        |r| {
            rewrite_md(
                &repo(r),
                "filelists",
                &key,
                |t| {
                    let a = t.find("<package ").unwrap();
                    let b = a + t[a..].find("</package>").unwrap() + "</package>".len();
                    let mut t = t;
                    t.replace_range(a..b, "");
                    t.replacen("packages=\"2\"", "packages=\"1\"", 1)
                },
                keep,
            );
        },
    );
    fx.plant("wrong package count", "*-primary.xml.gz", &["malformed"], |r| {
        rewrite_md(
            &repo(r),
            "primary",
            &key,
            |t| t.replacen("packages=\"2\"", "packages=\"3\"", 1),
            keep,
        );
    });
    fx.plant(
        "wrong open-checksum",
        &format!("{primary} (decompressed)"),
        &["hash-mismatch"],
        |r| {
            rewrite_md(&repo(r), "-", &key, keep, |m| {
                let (a, b) = data_block(&m, "primary");
                let block = m[a..b].to_owned();
                let open = tag_text(&block, "open-checksum").to_owned();
                m.replace(&block, &block.replace(&open, &"0".repeat(64)))
            });
        },
    );
    fx.plant(
        "package signed by another key",
        RPM,
        &["package-signature"],
        |r| {
            let stranger = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Stranger <s@example.org>").unwrap();
            let path = r.join(RPM);
            let old = fs::read(&path).unwrap();
            // Re-signing adds a signature: drop ours first, as a rebuild signed elsewhere would lack it.
            let mut pkg = rpm::Package::parse(&mut &old[..]).unwrap();
            pkg.clear_signatures().unwrap();
            let mut unsigned = Vec::new();
            pkg.write(&mut unsigned).unwrap();
            let mut new = Vec::new();
            wharf_package::rpm::sign_rpm(
                &mut &unsigned[..],
                &stranger,
                wharf_core::SourceDate::from_unix(1_700_000_000).unwrap(),
                &mut new,
            )
            .unwrap();
            fs::write(&path, &new).unwrap();
            let (old_sum, new_sum) = (
                hex::encode(Sha256::digest(&old)),
                hex::encode(Sha256::digest(&new)),
            );
            for typ in ["primary", "filelists", "other"] {
                rewrite_md(
                    &repo(r),
                    typ,
                    &key,
                    |t| {
                        t.replace(&old_sum, &new_sum).replace(
                            &format!("package=\"{}\"", old.len()),
                            &format!("package=\"{}\"", new.len()),
                        )
                    },
                    keep,
                );
            }
        },
    );
    fx.plant(
        "location outside the repository",
        "*-primary.xml.gz",
        &["malformed"],
        |r| {
            rewrite_md(
                &repo(r),
                "primary",
                &key,
                |t| t.replacen("href=\"Packages/", "href=\"../Packages/", 1),
                keep,
            );
        },
    );
    fx.plant("primary and package disagree", RPM, &["mismatch"], |r| {
        rewrite_md(
            &repo(r),
            "primary",
            &key,
            |t| t.replacen("<name>demo</name>", "<name>dem0</name>", 1),
            keep,
        );
    });
}

// ------------------------------------------------------------------------------------------ apk v2

/// The gzip members of an apk v2 file, as byte ranges.
fn gzip_members(bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let mut cur = std::io::Cursor::new(&bytes[at..]);
        let mut gz = flate2::bufread::GzDecoder::new(&mut cur);
        std::io::copy(&mut gz, &mut std::io::sink()).unwrap();
        let end = at + cur.position() as usize;
        out.push(at..end);
        at = end;
    }
    out
}

fn apkindex_text(root: &Path) -> String {
    let bytes = fs::read(root.join("apk/x86_64/APKINDEX.tar.gz")).unwrap();
    let m = gzip_members(&bytes);
    let mut ar = tar::Archive::new(flate2::read::MultiGzDecoder::new(&bytes[m[1].start..]));
    for e in ar.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_str() == Some("APKINDEX") {
            let mut s = String::new();
            e.read_to_string(&mut s).unwrap();
            return s;
        }
    }
    panic!("no APKINDEX");
}

/// A publisher's new APKINDEX.tar.gz: `text` as the index tar, signed by `key` (or not).
fn write_apkindex(root: &Path, text: &str, key: Option<&ApkRsaKey>) {
    let mut tar = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(text.len() as u64);
    h.set_mode(0o644);
    h.set_cksum();
    tar.append_data(&mut h, "APKINDEX", text.as_bytes()).unwrap();
    let index = gzip(&tar.into_inner().unwrap());
    let mut out = Vec::new();
    if let Some(k) = key {
        out = wharf_package::apk::signature_member(k, RsaDigest::Sha256, &index, 0).unwrap();
    }
    out.extend_from_slice(&index);
    fs::write(root.join("apk/x86_64/APKINDEX.tar.gz"), out).unwrap();
}

fn entry_field(text: &str, pkg: &str, field: char) -> String {
    let entry = text
        .split("\n\n")
        .find(|e| e.contains(&format!("P:{pkg}\n")))
        .unwrap();
    entry
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")))
        .unwrap()
        .to_owned()
}

fn apk_faults(fx: &Fixture) {
    let key = fx.apk_rsa();
    let index = "apk/x86_64/APKINDEX.tar.gz";
    let text = apkindex_text(&fx.public);
    let size = entry_field(&text, "demo", 'S');
    let c = entry_field(&text, "demo", 'C');
    fx.plant("tampered package byte", APK, &["malformed"], |r| {
        let p = r.join(APK);
        let m = gzip_members(&fs::read(&p).unwrap());
        flip(&p, m[2].start + 40);
    });
    fx.plant("truncated index", index, &["malformed"], |r| {
        truncate(&r.join(index))
    });
    fx.plant("wrong S:", APK, &["size-mismatch"], |r| {
        write_apkindex(r, &text.replacen(&format!("S:{size}\n"), "S:7\n", 1), Some(&key));
    });
    fx.plant("missing package", APK, &["missing"], |r| {
        fs::remove_file(r.join(APK)).unwrap()
    });
    fx.plant(
        "index signed by another key of the same name",
        index,
        &["bad-signature"],
        |r| {
            let impostor = ApkRsaKey::generate(2048, "test.rsa.pub").unwrap();
            write_apkindex(r, &text, Some(&impostor));
        },
    );
    fx.plant("index signed by an unknown key", index, &["unknown-key"], |r| {
        let stranger = ApkRsaKey::generate(2048, "stranger.rsa.pub").unwrap();
        write_apkindex(r, &text, Some(&stranger));
    });
    fx.plant("unsigned index", index, &["unsigned"], |r| {
        write_apkindex(r, &text, None)
    });
    fx.plant("wrong C:", APK, &["hash-mismatch"], |r| {
        write_apkindex(
            r,
            &text.replacen(&format!("C:{c}\n"), "C:Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 1),
            Some(&key),
        );
    });
    fx.plant("index and package disagree", APK, &["mismatch"], |r| {
        let entry_arch = "P:demo\nV:1.0.0-r0\nA:x86_64\n";
        assert!(text.contains(entry_arch), "{text}");
        write_apkindex(
            r,
            &text.replacen(entry_arch, "P:demo\nV:1.0.0-r0\nA:aarch64\n", 1),
            Some(&key),
        );
    });
    fx.plant(
        "package signed by another key",
        APK,
        &["package-signature"],
        |r| {
            let p = r.join(APK);
            let b = fs::read(&p).unwrap();
            let m = gzip_members(&b);
            let stranger = ApkRsaKey::generate(2048, "stranger.rsa.pub").unwrap();
            let mut new =
                wharf_package::apk::signature_member(&stranger, RsaDigest::Sha256, &b[m[1].clone()], 0)
                    .unwrap();
            new.extend_from_slice(&b[m[1].start..]);
            fs::write(&p, &new).unwrap();
            write_apkindex(
                r,
                &text.replacen(&format!("S:{size}\n"), &format!("S:{}\n", new.len()), 1),
                Some(&key),
            );
        },
    );
    // An unsigned package pinned by its `C:` in a signed index is what apk installs (`database.c`:
    // `APK_SIGN_VERIFY_IDENTITY`): not a fault. The same package in an unsigned index is.
    let unsigned = |r: &Path, index_key: Option<&ApkRsaKey>| {
        let p = r.join(APK);
        let b = fs::read(&p).unwrap();
        let m = gzip_members(&b);
        fs::write(&p, &b[m[1].start..]).unwrap();
        write_apkindex(
            r,
            &text.replacen(
                &format!("S:{size}\n"),
                &format!("S:{}\n", b.len() - m[1].start),
                1,
            ),
            index_key,
        );
    };
    let root = fx.copy();
    unsigned(&root, Some(&key));
    let (done, _) = verify_json(&root, &fx.key_args());
    assert!(
        done.ok,
        "an unsigned package in a signed APKINDEX\n{}",
        done.all()
    );
    fx.plant(
        "unsigned package in an unsigned index",
        APK,
        &["package-signature"],
        |r| {
            unsigned(r, None);
        },
    );
    fx.plant("index changed after signing", index, &["bad-signature"], |r| {
        let p = r.join(index);
        let b = fs::read(&p).unwrap();
        let m = gzip_members(&b);
        write_apkindex(r, &text.replacen("T:", "T:x", 1), None);
        let unsigned = fs::read(&p).unwrap();
        let mut new = b[m[0].clone()].to_vec();
        new.extend_from_slice(&unsigned);
        fs::write(&p, new).unwrap();
    });
}

// ------------------------------------------------------------------------------------------ apk v3

fn apk3_records(root: &Path) -> Vec<wharf_index::apk3::Apk3Record> {
    let dir = root.join("apk3/x86_64");
    let mut out = Vec::new();
    for e in fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "apk") {
            let info = wharf_package::apk3::inspect(fs::File::open(&p).unwrap()).unwrap();
            let mut i = info.info.clone();
            i.unique_id = info.adb_sha256.clone();
            i.file_size = info.checksums.size;
            out.push(wharf_index::apk3::Apk3Record {
                info: i,
                filename: p.file_name().unwrap().to_string_lossy().into_owned(),
                checksums: info.checksums,
            });
        }
    }
    out
}

fn write_packages_adb(root: &Path, records: &[wharf_index::apk3::Apk3Record], key: &ApkEcKey) {
    let refs: Vec<&wharf_index::apk3::Apk3Record> = records.iter().collect();
    let adb = wharf_index::apk3::packages_adb(&refs, "test", key).unwrap();
    fs::write(root.join("apk3/x86_64/packages.adb"), adb).unwrap();
}

/// An uncompressed `packages.adb` with the blocks given.
fn raw_adb(blocks: &[(u32, &[u8])]) -> Vec<u8> {
    let mut out = wharf_package::adb::file_header(wharf_package::adb::SCHEMA_INDEX).to_vec();
    for (typ, payload) in blocks {
        wharf_package::adb::write_block(&mut out, *typ, payload).unwrap();
    }
    out
}

fn apk3_faults(fx: &Fixture) {
    use wharf_package::adb;
    let key = fx.apk_ec();
    let index = "apk3/x86_64/packages.adb";
    let base = apk3_records(&fx.public);
    let demo = base.iter().position(|r| r.info.name == "demo").unwrap();
    let with = |f: &dyn Fn(&mut wharf_index::apk3::Apk3Record)| {
        let mut r = base.clone();
        f(&mut r[demo]);
        r
    };
    fx.plant(
        "tampered package byte",
        APK3,
        &["malformed", "hash-mismatch"],
        |r| {
            let p = r.join(APK3);
            let len = fs::metadata(&p).unwrap().len() as usize;
            flip(&p, len / 2);
        },
    );
    fx.plant("truncated index", index, &["malformed"], |r| {
        truncate(&r.join(index))
    });
    fx.plant("wrong file size", APK3, &["size-mismatch"], |r| {
        write_packages_adb(r, &with(&|x| x.info.file_size += 1), &key);
    });
    fx.plant("missing package", APK3, &["missing"], |r| {
        fs::remove_file(r.join(APK3)).unwrap()
    });
    fx.plant("index signed by another key", index, &["unknown-key"], |r| {
        write_packages_adb(r, &base, &ApkEcKey::generate());
    });
    fx.plant("unsigned index", index, &["unsigned"], |r| {
        let signed = adb::read_signed(&fs::read(r.join(index)).unwrap()).unwrap();
        fs::write(r.join(index), raw_adb(&[(adb::BLOCK_ADB, &signed.adb)])).unwrap();
    });
    fx.plant("wrong unique id", APK3, &["hash-mismatch"], |r| {
        write_packages_adb(r, &with(&|x| x.info.unique_id = "00".repeat(32)), &key);
    });
    fx.plant("index and package disagree", APK3, &["mismatch"], |r| {
        write_packages_adb(r, &with(&|x| x.info.arch = "aarch64".into()), &key);
    });
    fx.plant("index changed after signing", index, &["bad-signature"], |r| {
        let signed = adb::read_signed(&fs::read(r.join(index)).unwrap()).unwrap();
        let mut payload = signed.adb.clone();
        let at = payload.windows(13).position(|w| w == b"demonstration").unwrap();
        payload[at] = b'D';
        fs::write(
            r.join(index),
            raw_adb(&[
                (adb::BLOCK_ADB, &payload),
                (adb::BLOCK_SIG, &signed.signatures[0]),
            ]),
        )
        .unwrap();
    });
    fx.plant(
        "index names a package that is not there",
        "apk3/x86_64/ghost-1.0-r0.apk",
        &["missing"],
        |r| {
            let mut records = base.clone();
            let mut ghost = records[demo].clone();
            ghost.info.name = "ghost".into();
            ghost.info.version = "1.0-r0".into();
            records.push(ghost);
            write_packages_adb(r, &records, &key);
        },
    );
}

// --------------------------------------------------------------------------------------------- opkg

/// A feed maintainer's new index: Packages as given, Packages.gz from it, signed by `key`.
fn write_feed(root: &Path, text: &str, key: &UsignKey) {
    let dir = root.join("opkg/x86_64");
    fs::write(dir.join("Packages"), text).unwrap();
    fs::write(dir.join("Packages.gz"), gzip(text.as_bytes())).unwrap();
    fs::write(dir.join("Packages.sig"), key.sign(text.as_bytes())).unwrap();
}

fn opkg_faults(fx: &Fixture) {
    let key = fx.usign();
    let text = fs::read_to_string(fx.public.join("opkg/x86_64/Packages")).unwrap();
    let stanza = text
        .split("\n\n")
        .find(|s| s.starts_with("Package: demo\n"))
        .unwrap()
        .to_owned();
    let field = |f: &str| {
        stanza
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{f}: ")))
            .unwrap()
            .to_owned()
    };
    let (size, sha) = (field("Size"), field("SHA256sum"));
    let swap = |from: &str, to: &str| text.replacen(&stanza, &stanza.replacen(from, to, 1), 1);
    let (pk, gz, sig) = (
        "opkg/x86_64/Packages",
        "opkg/x86_64/Packages.gz",
        "opkg/x86_64/Packages.sig",
    );

    fx.plant("tampered package byte", IPK, &["hash-mismatch"], |r| {
        flip(&r.join(IPK), 200)
    });
    fx.plant("truncated Packages.gz", gz, &["malformed"], |r| {
        truncate(&r.join(gz))
    });
    fx.plant("wrong Size", IPK, &["size-mismatch"], |r| {
        write_feed(r, &swap(&format!("Size: {size}"), "Size: 3"), &key);
    });
    fx.plant("missing package", IPK, &["missing"], |r| {
        fs::remove_file(r.join(IPK)).unwrap()
    });
    fx.plant("signed by another key", sig, &["unknown-key"], |r| {
        write_feed(r, &text, &UsignKey::generate())
    });
    fx.plant("Packages changed after signing", sig, &["bad-signature"], |r| {
        let p = r.join(pk);
        let t =
            fs::read_to_string(&p)
                .unwrap()
                .replacen("Package: demo\n", "Package: demo\nEssential: yes\n", 1);
        fs::write(&p, &t).unwrap();
        fs::write(r.join(gz), gzip(t.as_bytes())).unwrap();
    });
    fx.plant("unsigned feed", sig, &["unsigned"], |r| {
        fs::remove_file(r.join(sig)).unwrap()
    });
    fx.plant("wrong SHA256sum", IPK, &["hash-mismatch"], |r| {
        write_feed(r, &swap(&sha, &"0".repeat(64)), &key);
    });
    fx.plant("stale Packages.gz", gz, &["variant-mismatch"], |r| {
        let t = swap("Section:", "Section: x\nX-Note:");
        fs::write(r.join(pk), &t).unwrap();
        fs::write(r.join(sig), key.sign(t.as_bytes())).unwrap();
    });
    fx.plant("no hash for a package", pk, &["no-strong-hash"], |r| {
        write_feed(r, &swap(&format!("SHA256sum: {sha}\n"), ""), &key);
    });
    fx.plant("index and package disagree", IPK, &["mismatch"], |r| {
        write_feed(r, &swap("Version: 1.0.0", "Version: 1.0.1"), &key);
    });
    fx.plant("Filename outside the feed", pk, &["malformed"], |r| {
        write_feed(r, &swap("Filename: ", "Filename: ../"), &key);
    });
}

#[test]
fn wharf_repositories_pass_and_each_planted_fault_is_named() {
    if !require(&["xz", "md5sum", "cp"]) {
        return;
    }
    let fx = Fixture::new();
    let done = run(wharf(&fx.public)
        .arg("verify")
        .arg(&fx.public)
        .args(fx.key_args()))
    .success();
    for line in [
        "ok    apt dists/stable: signed by",
        "ok    rpm-md linux-x86_64: signed by",
        "ok    apk apk/x86_64: signed by test.rsa.pub;",
        "ok    apk3 apk3/x86_64: signed by",
        "ok    opkg opkg/x86_64: signed by",
    ] {
        assert!(done.stdout.contains(line), "{line}\n{}", done.all());
    }
    assert!(!done.stderr.contains("warning"), "{}", done.all());
    let (_, report) = verify_json(&fx.public, &fx.key_args());
    assert_eq!(report["ok"], true);
    assert_eq!(report["repositories"].as_array().unwrap().len(), 5);
    // Without --key: the keys the store publishes, and a warning saying what that proves.
    let done = run(wharf(&fx.public).arg("verify").arg(&fx.public)).success();
    assert!(
        done.stderr.contains("proves the files agree, not who made them"),
        "{}",
        done.all()
    );

    apt_faults(&fx);
    rpm_faults(&fx);
    apk_faults(&fx);
    apk3_faults(&fx);
    opkg_faults(&fx);
}

#[test]
fn verify_reads_over_http_as_clients_do() {
    if !require(&["python3"]) {
        return;
    }
    let fx = Fixture::new();
    let server = HttpServer::start(&fx.public, fx.tmp.path());
    let repos = [
        "dists/stable",
        RPM_REPO,
        "apk/x86_64",
        "apk3/x86_64",
        "opkg/x86_64",
    ];
    let done = run(wharf(fx.tmp.path())
        .arg("verify")
        .arg(server.url())
        .args(repos)
        .args(fx.key_args()))
    .success();
    assert_eq!(
        done.stdout.lines().filter(|l| l.starts_with("ok    ")).count(),
        5,
        "{}",
        done.all()
    );
    assert!(
        server
            .requests()
            .iter()
            .any(|l| l.contains("GET /pool/main/d/demo/demo_1.0.0_amd64.deb")),
        "the packages were fetched over HTTP"
    );
    // Without --key, the keys the repositories publish where wharf puts them (found by the names their
    // signatures give), with the warning that they prove consistency, not origin.
    let done = run(wharf(fx.tmp.path()).arg("verify").arg(server.url()).args(repos)).success();
    assert_eq!(
        done.stdout.lines().filter(|l| l.starts_with("ok    ")).count(),
        5,
        "{}",
        done.all()
    );
    assert!(done.stderr.contains("no --key given"), "{}", done.stderr);
    for key in [
        "/archive-keyring.gpg",
        "/repodata/repomd.xml.key",
        "/apk/keys/",
        "/apk3/keys/",
        "/opkg/keys/",
    ] {
        assert!(
            server.requests().iter().any(|l| l.contains(key)),
            "{key} was not fetched"
        );
    }
    // A URL cannot be listed: without names, verify says how to name them.
    let done = run(wharf(fx.tmp.path())
        .arg("verify")
        .arg(server.url())
        .args(fx.key_args()));
    assert!(!done.ok);
    assert!(
        done.stderr.contains("name each repository after it"),
        "{}",
        done.all()
    );
    // A repository's own URL works as the target.
    let done = run(wharf(fx.tmp.path())
        .arg("verify")
        .arg(format!("{}/opkg/x86_64", server.url()))
        .args(fx.key_args()))
    .success();
    assert!(done.stdout.starts_with("ok    opkg .:"), "{}", done.all());
    // A key file of no known kind is one error naming it.
    let bad = fx.tmp.path().join("notakey.txt");
    write(&bad, "hello\n");
    let done = run(wharf(fx.tmp.path())
        .arg("verify")
        .arg(&fx.public)
        .arg("--key")
        .arg(&bad));
    assert!(!done.ok && done.stderr.contains("notakey.txt"), "{}", done.all());
}

/// A throwaway gpg home with `secret` imported.
fn gpg_home(dir: &Path, secret: &Path) -> PathBuf {
    let home = dir.join("gnupg");
    fs::create_dir_all(&home).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&home, fs::Permissions::from_mode(0o700)).unwrap();
    }
    run(Command::new("gpg")
        .arg("--homedir")
        .arg(&home)
        .args(["--batch", "--ignore-time-conflict", "--import"])
        .arg(secret))
    .success();
    home
}

#[test]
fn peer_made_apt_and_rpm_repositories_pass() {
    if !require(&["apt-ftparchive", "createrepo_c", "gpg", "nfpm"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let keys = dir.join("keys");
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "keys"]).success();
    let home = gpg_home(dir, &keys.join("secret.asc"));
    let gpg = |args: &[&str], cwd: &Path| {
        run(Command::new("gpg")
            .current_dir(cwd)
            .arg("--homedir")
            .arg(&home)
            .args(["--batch", "--yes", "--ignore-time-conflict"])
            .args(args))
        .success();
    };

    // apt-ftparchive + gpg --clearsign, the classic hand-rolled apt repository.
    let apt = dir.join("apt");
    let pool = apt.join("pool/main/p/peer");
    fs::create_dir_all(&pool).unwrap();
    let deb = wharf_test::nfpm_deb(&dir.join("nfpm-deb"), "peer", "2.0.0", "peer");
    fs::copy(&deb, pool.join("peer_2.0.0_amd64.deb")).unwrap();
    let bin = apt.join("dists/stable/main/binary-amd64");
    fs::create_dir_all(&bin).unwrap();
    let packages = run(Command::new("apt-ftparchive")
        .current_dir(&apt)
        .args(["packages", "pool"]))
    .success();
    fs::write(bin.join("Packages"), &packages.stdout).unwrap();
    fs::write(bin.join("Packages.gz"), gzip(packages.stdout.as_bytes())).unwrap();
    let release = run(Command::new("apt-ftparchive").current_dir(&apt).args([
        "-o",
        "APT::FTPArchive::Release::Suite=stable",
        "-o",
        "APT::FTPArchive::Release::Architectures=amd64",
        "-o",
        "APT::FTPArchive::Release::Components=main",
        "release",
        "dists/stable",
    ]))
    .success();
    fs::write(apt.join("dists/stable/Release"), &release.stdout).unwrap();
    let suite = apt.join("dists/stable");
    gpg(
        &[
            "--digest-algo",
            "SHA512",
            "--clearsign",
            "-o",
            "InRelease",
            "Release",
        ],
        &suite,
    );
    gpg(
        &["--digest-algo", "SHA512", "-abs", "-o", "Release.gpg", "Release"],
        &suite,
    );
    let done = run(wharf(dir)
        .arg("verify")
        .arg(&apt)
        .arg("--key")
        .arg(keys.join("public.asc")))
    .success();
    assert!(
        done.stdout.contains("ok    apt dists/stable: signed by"),
        "{}",
        done.all()
    );
    assert!(done.stdout.contains("1 package"), "{}", done.all());

    // createrepo_c + gpg --detach-sign, packages signed by nFPM.
    let rpm = dir.join("rpm");
    fs::create_dir_all(rpm.join("Packages")).unwrap();
    let signed = nfpm_rpm_signed(
        &dir.join("nfpm-rpm"),
        "peer",
        "2.0.0",
        "peer",
        &keys.join("secret.asc"),
    );
    fs::copy(&signed, rpm.join("Packages/peer-2.0.0-1.x86_64.rpm")).unwrap();
    run(Command::new("createrepo_c").arg(&rpm)).success();
    gpg(&["--detach-sign", "--armor", "repodata/repomd.xml"], &rpm);
    let done = run(wharf(dir)
        .arg("verify")
        .arg(&rpm)
        .arg("--key")
        .arg(keys.join("public.asc")))
    .success();
    assert!(
        done.stdout.contains("ok    rpm-md .: signed by"),
        "{}",
        done.all()
    );
    // The same with a key that signed neither: both the index and the package are named.
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "other"]).success();
    let (done, report) = verify_json(
        &rpm,
        &["--key".into(), dir.join("other/public.asc").display().to_string()],
    );
    assert_eq!(done.code, Some(1));
    let f = findings(&report);
    assert!(
        f.iter()
            .any(|(file, k, _)| file == "repodata/repomd.xml.asc" && k == "unknown-key"),
        "{f:?}"
    );
    assert!(
        f.iter()
            .any(|(file, k, _)| file == "Packages/peer-2.0.0-1.x86_64.rpm" && k == "package-signature"),
        "{f:?}"
    );
}

#[test]
fn peer_made_apk_and_ipk_feeds_with_hand_signed_indexes_pass() {
    if !require(&["nfpm", "openssl", "signify-openbsd", "python3"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();

    // apk: nFPM's package, an APKINDEX written and signed by hand (openssl, cut tar as abuild-sign).
    run(Command::new("openssl")
        .current_dir(dir)
        .args(["genrsa", "-out", "peer.rsa", "2048"]))
    .success();
    run(Command::new("openssl").current_dir(dir).args([
        "rsa",
        "-in",
        "peer.rsa",
        "-pubout",
        "-out",
        "peer.rsa.pub",
    ]))
    .success();
    let apk = nfpm_apk(
        &dir.join("nfpm-apk"),
        "peer",
        "2.0.0",
        "peer",
        &dir.join("peer.rsa"),
        "peer",
    );
    let repo = dir.join("alpine/x86_64");
    fs::create_dir_all(&repo).unwrap();
    let info = wharf_package::apk::inspect(fs::File::open(&apk).unwrap()).unwrap();
    let name = format!("{}-{}.apk", info.name, info.version);
    fs::copy(&apk, repo.join(&name)).unwrap();
    let entry = format!(
        "C:{}\nP:{}\nV:{}\nA:{}\nS:{}\nI:{}\nT:built by nFPM\n\n",
        info.identity,
        info.name,
        info.version,
        info.arch,
        fs::metadata(repo.join(&name)).unwrap().len(),
        info.installed_size
    );
    write(&repo.join("APKINDEX"), entry);
    let script = r#"
import gzip, io, subprocess, sys, tarfile
repo, key = sys.argv[1], sys.argv[2]
def tgz(name, data, cut):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as t:
        ti = tarfile.TarInfo(name); ti.size = len(data); ti.mode = 0o644
        t.addfile(ti, io.BytesIO(data))
    raw = buf.getvalue()
    if cut:  # abuild-tar --cut: no end-of-archive blocks, so apk reads on into the next member
        raw = raw[:512 + ((len(data) + 511) // 512) * 512]
    return gzip.compress(raw, mtime=0)
index = tgz("APKINDEX", open(repo + "/APKINDEX", "rb").read(), False)
sig = subprocess.run(["openssl", "dgst", "-sha1", "-sign", key], input=index, capture_output=True, check=True).stdout
open(repo + "/APKINDEX.tar.gz", "wb").write(tgz(".SIGN.RSA.peer.rsa.pub", sig, True) + index)
"#;
    run(Command::new("python3")
        .args(["-c", script])
        .arg(&repo)
        .arg(dir.join("peer.rsa")))
    .success();
    fs::remove_file(repo.join("APKINDEX")).unwrap();
    let done = run(wharf(dir)
        .arg("verify")
        .arg(dir.join("alpine"))
        .arg("--key")
        .arg(dir.join("peer.rsa.pub")))
    .success();
    assert!(
        done.stdout.contains("ok    apk x86_64: signed by peer.rsa.pub"),
        "{}",
        done.all()
    );
    // The same key under another file name is not the key apk looks for.
    fs::copy(dir.join("peer.rsa.pub"), dir.join("renamed.rsa.pub")).unwrap();
    let done = run(wharf(dir)
        .arg("verify")
        .arg(dir.join("alpine"))
        .arg("--key")
        .arg(dir.join("renamed.rsa.pub")));
    assert!(
        done.stdout
            .contains("but apk looks the key up by the name peer.rsa.pub"),
        "{}",
        done.all()
    );

    // ipk: nFPM's package, Packages written by hand, signed with a signify key (usign's format).
    run(Command::new("signify-openbsd")
        .current_dir(dir)
        .args(["-G", "-n", "-p", "peer.pub", "-s", "peer.sec"]))
    .success();
    let ipk = nfpm_ipk(&dir.join("nfpm-ipk"), "peer", "2.0.0", "peer");
    let feed = dir.join("feed");
    fs::create_dir_all(&feed).unwrap();
    let file = ipk.file_name().unwrap().to_string_lossy().into_owned();
    fs::copy(&ipk, feed.join(&file)).unwrap();
    let bytes = fs::read(feed.join(&file)).unwrap();
    let control = wharf_package::ipk::inspect(&bytes[..]).unwrap().control;
    let text = format!(
        "Package: {}\nVersion: {}\nArchitecture: {}\nFilename: {file}\nSize: {}\nSHA256sum: {}\nDescription: peer\n\n",
        control.get("Package").unwrap(),
        control.get("Version").unwrap(),
        control.get("Architecture").unwrap(),
        bytes.len(),
        hex::encode(Sha256::digest(&bytes))
    );
    write(&feed.join("Packages"), &text);
    fs::write(feed.join("Packages.gz"), gzip(text.as_bytes())).unwrap();
    run(Command::new("signify-openbsd")
        .current_dir(&feed)
        .args(["-S", "-s"])
        .arg(dir.join("peer.sec"))
        .args(["-m", "Packages", "-x", "Packages.sig"]))
    .success();
    let done = run(wharf(dir)
        .arg("verify")
        .arg(&feed)
        .arg("--key")
        .arg(dir.join("peer.pub")))
    .success();
    assert!(done.stdout.contains("ok    opkg .: signed by"), "{}", done.all());
}
