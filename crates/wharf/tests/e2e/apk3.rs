//! apk v3 (ADB) packages and `packages.adb` indexes, and seed 000's shape (ipk + apk v3 feeds for every
//! OpenWrt variant of six musl targets). apk-tools 3 is not installable here (formats.md §11.3), so the
//! files are re-read by an ADB parser written here from apk-tools' `adb.h`/`apk_adb.h` (not wharf's
//! decoder), every hash is recomputed, and the SIG block is verified by `openssl dgst -sha512 -verify`.

use std::collections::BTreeMap;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Command;

use sha2::Digest;
use wharf_test::{TempDir, require, run, write};

use crate::{demo_project, wharf_run};

/// A decoded ADB value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum V {
    Null,
    Int(u64),
    Blob(Vec<u8>),
    Slots(Vec<V>),
}

impl V {
    fn f(&self, n: usize) -> &V {
        match self {
            V::Slots(s) => s.get(n - 1).unwrap_or(&V::Null),
            _ => &V::Null,
        }
    }
    fn s(&self) -> String {
        match self {
            V::Blob(b) => String::from_utf8(b.clone()).unwrap(),
            _ => String::new(),
        }
    }
    fn b(&self) -> Vec<u8> {
        match self {
            V::Blob(b) => b.clone(),
            _ => Vec::new(),
        }
    }
    fn i(&self) -> u64 {
        match self {
            V::Int(i) => *i,
            _ => 0,
        }
    }
    fn items(&self) -> Vec<V> {
        match self {
            V::Slots(s) => s.clone(),
            _ => Vec::new(),
        }
    }
}

fn u32le(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(b[at..at + 4].try_into().unwrap())
}

fn value(adb: &[u8], v: u32) -> V {
    let off = (v & 0x0fff_ffff) as usize;
    match v >> 28 {
        0 => V::Null,
        1 => V::Int(u64::from(v & 0x0fff_ffff)),
        2 => V::Int(u64::from(u32le(adb, off))),
        3 => V::Int(u64::from_le_bytes(adb[off..off + 8].try_into().unwrap())),
        0x8 => V::Blob(adb[off + 1..off + 1 + adb[off] as usize].to_vec()),
        0x9 => {
            let n = u16::from_le_bytes([adb[off], adb[off + 1]]) as usize;
            assert_eq!(off % 2, 0, "blob16 alignment");
            V::Blob(adb[off + 2..off + 2 + n].to_vec())
        }
        0xa => {
            assert_eq!(off % 4, 0, "blob32 alignment");
            V::Blob(adb[off + 4..off + 4 + u32le(adb, off) as usize].to_vec())
        }
        0xd | 0xe => {
            assert_eq!(off % 4, 0, "object alignment");
            let n = u32le(adb, off) as usize;
            V::Slots((1..n).map(|i| value(adb, u32le(adb, off + 4 * i))).collect())
        }
        t => panic!("unknown ADB value type {t:x}"),
    }
}

/// A parsed ADB file: schema, the ADB payload, SIG payloads, DATA payloads.
struct Adb {
    schema: [u8; 4],
    adb: Vec<u8>,
    sigs: Vec<Vec<u8>>,
    data: Vec<Vec<u8>>,
}

fn parse(file: &[u8]) -> Adb {
    assert_eq!(&file[..4], b"ADBd", "compressed as apk mkpkg does by default");
    let mut raw = Vec::new();
    flate2::read::DeflateDecoder::new(&file[4..])
        .read_to_end(&mut raw)
        .unwrap();
    assert_eq!(&raw[..4], b"ADB.");
    let schema: [u8; 4] = raw[4..8].try_into().unwrap();
    let (mut at, mut adb, mut sigs, mut data) = (8, None, Vec::new(), Vec::new());
    while at < raw.len() {
        assert_eq!(at % 8, 0, "blocks are 8-aligned");
        let ts = u32le(&raw, at);
        let (typ, size) = (ts >> 30, (ts & 0x3fff_ffff) as usize);
        let payload = raw[at + 4..at + size].to_vec();
        match typ {
            0 => {
                assert!(
                    adb.is_none() && sigs.is_empty() && data.is_empty(),
                    "ADB block first"
                );
                adb = Some(payload);
            }
            1 => sigs.push(payload),
            2 => data.push(payload),
            t => panic!("unexpected block type {t}"),
        }
        at += size.next_multiple_of(8);
    }
    assert_eq!(at, raw.len());
    Adb {
        schema,
        adb: adb.expect("an ADB block"),
        sigs,
        data,
    }
}

fn root(a: &Adb) -> V {
    assert_eq!(&a.adb[..4], &[0, 0, 0, 0], "compat/version/reserved");
    value(&a.adb, u32le(&a.adb, 4))
}

/// Verifies every SIG block with openssl against `public` (PEM with an `untrusted comment:` line), and
/// the key id against the public point.
fn verify_sigs(a: &Adb, public: &Path, scratch: &Path) {
    assert!(!a.sigs.is_empty(), "signed");
    let der = run(Command::new("openssl")
        .args(["ec", "-pubin", "-outform", "DER", "-in"])
        .arg(public)
        .arg("-out")
        .arg(scratch.join("pub.der")))
    .success();
    drop(der);
    let spki = fs::read(scratch.join("pub.der")).unwrap();
    let point = &spki[spki.len() - 65..];
    assert_eq!(point[0], 4, "uncompressed point");
    let key_id = &sha2::Sha512::digest(point)[..16];
    for sig in &a.sigs {
        assert_eq!(sig[0], 0, "sign_ver 0");
        assert_eq!(sig[1], 4, "hash_alg SHA-512");
        assert_eq!(&sig[2..18], key_id, "key id");
        let mut msg = a.schema.to_vec();
        msg.extend_from_slice(&sig[..18]);
        msg.extend_from_slice(&sha2::Sha512::digest(&a.adb));
        fs::write(scratch.join("msg"), &msg).unwrap();
        fs::write(scratch.join("sig.der"), &sig[18..]).unwrap();
        let v = run(Command::new("openssl")
            .args(["dgst", "-sha512", "-verify"])
            .arg(public)
            .arg("-signature")
            .arg(scratch.join("sig.der"))
            .arg(scratch.join("msg")));
        assert!(v.ok && v.stdout.contains("Verified OK"), "{}", v.all());
    }
}

/// Checks a package: schema, unique id, every file's DATA block against its size and sha256; returns
/// (root value, sha256 of the ADB payload, files by path).
pub(crate) fn check_package(path: &Path) -> (V, Vec<u8>, BTreeMap<String, Vec<u8>>) {
    let a = parse(&fs::read(path).unwrap());
    assert_eq!(&a.schema, b"pckg");
    let r = root(&a);
    let info = r.f(1);
    // unique id = sha256(ADB with the id zeroed)[:20]
    let uid = info.f(3).b();
    assert_eq!(uid.len(), 20);
    let pos = a.adb.windows(20).position(|w| w == uid.as_slice()).unwrap();
    let mut zeroed = a.adb.clone();
    zeroed[pos..pos + 20].fill(0);
    assert_eq!(&sha2::Sha256::digest(&zeroed)[..20], uid.as_slice(), "unique id");
    let mut data: BTreeMap<(u32, u32), Vec<u8>> = BTreeMap::new();
    for d in &a.data {
        data.insert((u32le(d, 0), u32le(d, 4)), d[8..].to_vec());
    }
    let mut files = BTreeMap::new();
    let mut names = Vec::new();
    for (pi, dir) in r.f(2).items().iter().enumerate() {
        let dname = dir.f(1).s();
        names.push(dname.clone());
        let mut fnames = Vec::new();
        for (fi, f) in dir.f(3).items().iter().enumerate() {
            let path = if dname.is_empty() {
                f.f(1).s()
            } else {
                format!("{dname}/{}", f.f(1).s())
            };
            fnames.push(f.f(1).s());
            if f.f(6) != &V::Null {
                let t = f.f(6).b();
                assert_eq!(u16::from_le_bytes([t[0], t[1]]), 0o120000, "symlink target mode");
                files.insert(path, t[2..].to_vec());
                continue;
            }
            let body = data.remove(&(pi as u32 + 1, fi as u32 + 1)).unwrap_or_default();
            assert_eq!(body.len() as u64, f.f(3).i(), "{path} size");
            assert_eq!(sha2::Sha256::digest(&body).to_vec(), f.f(5).b(), "{path} sha256");
            files.insert(path, body);
        }
        let mut sorted = fnames.clone();
        sorted.sort();
        assert_eq!(fnames, sorted, "files sorted");
    }
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "paths sorted");
    assert_eq!(names[0], "", "the root directory");
    assert!(data.is_empty(), "DATA blocks without a file: {:?}", data.keys());
    (r, sha2::Sha256::digest(&a.adb).to_vec(), files)
}

/// Checks `<arch>/packages.adb` and every package it lists; returns (name, version) per entry.
pub(crate) fn check_index(dir: &Path, public: &Path, scratch: &Path) -> Vec<(String, String)> {
    let a = parse(&fs::read(dir.join("packages.adb")).unwrap());
    assert_eq!(&a.schema, b"indx");
    verify_sigs(&a, public, scratch);
    let mut out = Vec::new();
    for p in root(&a).f(2).items() {
        let (name, version) = (p.f(1).s(), p.f(2).s());
        let file = dir.join(format!("{name}-{version}.apk"));
        assert_eq!(
            p.f(13).i(),
            fs::metadata(&file).unwrap().len(),
            "file-size of {name}"
        );
        let (pkg, adb_sha256, _) = check_package(&file);
        assert_eq!(
            p.f(3).b(),
            adb_sha256,
            "index id of {name} = sha256 of its ADB block"
        );
        assert_eq!(pkg.f(1).f(1).s(), name);
        out.push((name, version));
    }
    out
}

const SEED_TARGETS: [&str; 6] = [
    "x86_64-unknown-linux-musl",
    "i686-unknown-linux-musl",
    "aarch64-unknown-linux-musl",
    "armv7-unknown-linux-musleabihf",
    "mips-unknown-linux-musl",
    "mipsel-unknown-linux-musl",
];

/// Seed 000: six musl binaries → every OpenWrt variant gets an opkg feed and an apk v3 repository, each
/// signed, each package carrying the feed's public key. (The seed says 18 variants; its own table lists
/// 19 — 4 aarch64, 1 x86_64, 2 i386, 9 armv7, 1 mips, 2 mipsel — and so does design.md §3.)
#[test]
fn seed_000_shape_ipk_and_apk3_feeds_for_every_openwrt_variant() {
    if !require(&["openssl", "signify-openbsd"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let scratch = dir.join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let cfg = demo_project(&dir.join("proj"));
    fs::write(
        &cfg,
        fs::read_to_string(&cfg).unwrap()
            + "\n[ipk]\nship-key = true\n\n[apk3]\nship-key = true\nsign-packages = true\n",
    )
    .unwrap();
    for triple in SEED_TARGETS {
        write(
            &dir.join(format!("proj/target/{triple}/release/demo")),
            format!("#!/bin/sh\necho {triple}\n"),
        );
    }
    wharf_run(dir, &["key", "generate", "usign", "-o", "ukeys"]).success();
    let keygen = wharf_run(dir, &["key", "generate", "apk-ec", "-o", "ekeys"]).success();
    let key_id = keygen
        .stdout
        .lines()
        .next()
        .unwrap()
        .trim_start_matches("key id:")
        .trim()
        .to_owned();
    let c = cfg.to_str().unwrap();
    let mut args = vec![
        "publish",
        "-c",
        c,
        "--format",
        "ipk",
        "--format",
        "apk3",
        "--to",
        "repo",
        "--usign-key",
        "ukeys/key-build",
        "--apk3-key",
        "ekeys/private-key.pem",
    ];
    for triple in SEED_TARGETS {
        args.extend(["--target", triple]);
    }
    let env_out = wharf_run(dir, &args).success();
    assert!(env_out.stdout.contains("apk v3:"), "{}", env_out.stdout);
    let public = dir.join("ekeys/public-key.pem");
    assert_eq!(
        fs::read(dir.join(format!("repo/apk3/keys/{key_id}.pem"))).unwrap(),
        fs::read(&public).unwrap()
    );
    let arch_dirs = |root: &str| -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(dir.join("repo").join(root))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "keys")
            .collect();
        v.sort();
        v
    };
    let opkg = arch_dirs("opkg");
    assert_eq!(opkg.len(), 19, "{opkg:?}");
    assert_eq!(
        arch_dirs("apk3"),
        opkg,
        "an apk v3 repository beside every opkg feed"
    );
    let usign_pub = dir.join("ukeys/key-build.pub");
    for arch in &opkg {
        let feed = dir.join("repo/opkg").join(arch);
        let v = run(Command::new("signify-openbsd")
            .arg("-V")
            .arg("-p")
            .arg(&usign_pub)
            .arg("-x")
            .arg(feed.join("Packages.sig"))
            .arg("-m")
            .arg(feed.join("Packages")));
        assert!(
            v.ok && v.stdout.contains("Signature Verified"),
            "{arch}: {}",
            v.all()
        );
        let listed = check_index(&dir.join("repo/apk3").join(arch), &public, &scratch);
        assert_eq!(
            listed,
            [
                ("demo".into(), "1.0.0-r0".into()),
                ("demo-data".into(), "1.0.0-r0".into()),
                ("demo-keyring".into(), "1.0.0-r0".into())
            ],
            "{arch}"
        );
        // The key is in one package only (apk refuses two owning one file), kept over a sysupgrade.
        let keyring = dir.join("repo/apk3").join(arch).join("demo-keyring-1.0.0-r0.apk");
        let (_, _, files) = check_package(&keyring);
        let key_path = format!("etc/apk/keys/{key_id}.pem");
        assert_eq!(files[&key_path], fs::read(&public).unwrap());
        assert_eq!(
            files["lib/upgrade/keep.d/demo-keyring"],
            format!("/{key_path}\n").into_bytes()
        );
        // The binary is the right target's, and the package is signed too.
        let pkg = dir.join("repo/apk3").join(arch).join("demo-1.0.0-r0.apk");
        let (root, _, files) = check_package(&pkg);
        assert_eq!(root.f(1).f(5).s(), *arch);
        assert!(!files.contains_key(&key_path));
        let triple = files["usr/bin/demo"].clone();
        assert!(String::from_utf8(triple).unwrap().contains("-linux-musl"));
        verify_sigs(&parse(&fs::read(&pkg).unwrap()), &public, &scratch);
        assert_eq!(files["usr/bin/demo-link"], b"demo");
    }
    // aarch64 variants carry the aarch64 binary.
    let (_, _, files) = check_package(&dir.join("repo/apk3/aarch64_cortex-a53/demo-1.0.0-r0.apk"));
    assert_eq!(
        files["usr/bin/demo"],
        b"#!/bin/sh\necho aarch64-unknown-linux-musl\n"
    );
}

/// apk v2 and v3 repositories are byte-identical across runs with the same inputs and SOURCE_DATE_EPOCH
/// (RSA PKCS#1 v1.5 and RFC 6979 ECDSA signatures included).
#[test]
fn apk_repositories_are_reproducible() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(
        dir,
        &["key", "generate", "apk-rsa", "-o", "rkeys", "--bits", "2048"],
    )
    .success();
    wharf_run(dir, &["key", "generate", "apk-ec", "-o", "ekeys"]).success();
    let mut trees = Vec::new();
    for run_name in ["a", "b"] {
        let cfg = demo_project(&dir.join(format!("proj-{run_name}")));
        fs::write(
            &cfg,
            fs::read_to_string(&cfg).unwrap() + "\n[apk3]\nsign-packages = true\n",
        )
        .unwrap();
        write(
            &dir.join(format!(
                "proj-{run_name}/target/mipsel-unknown-linux-musl/release/demo"
            )),
            "#!/bin/sh\n",
        );
        let repo = dir.join(format!("repo-{run_name}"));
        wharf_test::run(crate::wharf(dir).env("SOURCE_DATE_EPOCH", "1700000000").args([
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "apk",
            "--format",
            "apk3",
            "--target",
            "mipsel-unknown-linux-musl",
            "--to",
            repo.to_str().unwrap(),
            "--apk-key",
            "rkeys/wharf.rsa",
            "--apk3-key",
            "ekeys/private-key.pem",
        ]))
        .success();
        trees.push(wharf_test::tree(&repo));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let names: Vec<&str> = trees[0].iter().map(|t| t.0.as_str()).collect();
    for must in [
        "apk/mipsel/APKINDEX.tar.gz",
        "apk/mipsel/demo-1.0.0-r0.apk",
        "apk3/mips_siflower/packages.adb",
        "apk3/mipsel_24kc/demo-1.0.0-r0.apk",
    ] {
        assert!(names.contains(&must), "{must} missing: {names:?}");
    }
    assert_eq!(trees[0].len(), trees[1].len());
    for ((pa, a), (pb, b)) in trees[0].iter().zip(&trees[1]) {
        assert_eq!(pa, pb);
        assert!(a == b, "{pa} differs between runs");
    }
}

/// A store two projects publish into keeps the description its first publish gave its indexes (apk v2
/// `DESCRIPTION`, apk v3 `packages.adb`), unless one configures `[apt] description` explicitly.
#[test]
fn a_shared_repository_keeps_its_description() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let keys = crate::key_flags(dir);
    let project = |name: &str, extra: &str| {
        let cfg = demo_project(&dir.join(name));
        let text = fs::read_to_string(&cfg)
            .unwrap()
            .replace("name = \"demo\"", &format!("name = \"{name}\""))
            .replace("name = \"demo-data\"", &format!("name = \"{name}-data\""))
            .replace("[apt]\n", &format!("[apt]\n{extra}"));
        fs::write(&cfg, text).unwrap();
        write(
            &dir.join(format!("{name}/target/x86_64-unknown-linux-musl/release/demo")),
            "#!/bin/sh\n",
        );
        cfg
    };
    let publish = |cfg: &Path| {
        let mut args: Vec<String> = [
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "apk",
            "--format",
            "apk3",
            "--target",
            "x86_64-unknown-linux-musl",
            "--to",
            "repo",
        ]
        .map(str::to_owned)
        .to_vec();
        args.extend(keys.iter().cloned());
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        wharf_run(dir, &args).success();
    };
    let descriptions = || {
        let adb = parse(&fs::read(dir.join("repo/apk3/x86_64/packages.adb")).unwrap());
        let v3 = root(&adb).f(1).s();
        let bytes = fs::read(dir.join("repo/apk/x86_64/APKINDEX.tar.gz")).unwrap();
        let mut a = tar::Archive::new(flate2::read::MultiGzDecoder::new(&bytes[..]));
        let mut v2 = String::new();
        for e in a.entries().unwrap() {
            let mut e = e.unwrap();
            if e.path().unwrap().to_string_lossy() == "DESCRIPTION" {
                std::io::Read::read_to_string(&mut e, &mut v2).unwrap();
            }
        }
        (v2, v3)
    };
    publish(&project("alpha", ""));
    assert_eq!(descriptions(), ("alpha".into(), "alpha".into()));
    publish(&project("beta", ""));
    assert_eq!(
        descriptions(),
        ("alpha".into(), "alpha".into()),
        "the second project renamed the repository"
    );
    publish(&project("gamma", "description = \"Shared feed\"\n"));
    assert_eq!(descriptions(), ("Shared feed".into(), "Shared feed".into()));
}
