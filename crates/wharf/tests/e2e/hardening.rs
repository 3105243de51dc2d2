//! What real clients and hostile input found: each test failed before its fix (key names usign looks up,
//! key bytes in errors, non-regular files, stores over the project, hostile repositories for `verify`).

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use base64::Engine as _;
use wharf_test::{Done, TempDir, nfpm_deb, nfpm_ipk, require, run};

use crate::{demo_project, wharf, wharf_run};

/// The fingerprint line `wharf key generate usign` prints.
fn usign_fingerprint(out: &Done) -> String {
    out.stdout
        .lines()
        .find_map(|l| l.strip_prefix("fingerprint: "))
        .unwrap()
        .to_owned()
}

#[test]
fn usign_keys_with_a_leading_zero_are_named_as_usign_looks_them_up() {
    if !require(&["signify-openbsd", "nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    // Keys are generated until one's fingerprint starts with a 0 nibble (one in 16).
    let mut found = None;
    for n in 0..400 {
        let out = format!("k{n}");
        let fp = usign_fingerprint(&wharf_run(dir, &["key", "generate", "usign", "-o", &out]).success());
        assert_eq!(fp.len(), 16, "usign prints %016PRIx64: {fp}");
        if fp.starts_with('0') {
            found = Some((out, fp));
            break;
        }
        fs::remove_dir_all(dir.join(&out)).unwrap();
    }
    let (keys, fp) = found.expect("no key with a leading zero in 400 tries");
    let legacy = fp.trim_start_matches('0');
    let ipk = nfpm_ipk(&dir.join("peer"), "peer", "1.0.0", "peer");
    let secret = format!("{keys}/key-build");
    wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--usign-key",
            &secret,
            ipk.to_str().unwrap(),
        ],
    )
    .success();
    let key_dir = dir.join("repo/opkg/keys");
    // The name opkg's `usign -V -P /etc/opkg/keys` opens, and the unpadded one of older usign.
    for name in [fp.as_str(), legacy] {
        assert_eq!(
            fs::read(key_dir.join(name)).unwrap(),
            fs::read(dir.join(format!("{keys}/key-build.pub"))).unwrap(),
            "{name}"
        );
    }
    let feed = dir.join("repo/opkg/x86_64");
    let v = run(Command::new("signify-openbsd")
        .arg("-V")
        .arg("-p")
        .arg(key_dir.join(&fp))
        .arg("-x")
        .arg(feed.join("Packages.sig"))
        .arg("-m")
        .arg(feed.join("Packages")));
    assert!(v.ok && v.stdout.contains("Signature Verified"), "{}", v.all());
    let sig = fs::read_to_string(feed.join("Packages.sig")).unwrap();
    assert!(
        sig.starts_with(&format!("untrusted comment: signed by key {fp}\n")),
        "{sig}"
    );
    let ok = wharf_run(dir, &["verify", "repo"]);
    assert!(ok.ok, "{}", ok.all());
    // A feed whose key is published only under the unpadded name is one routers cannot check.
    fs::remove_file(key_dir.join(&fp)).unwrap();
    let bad = wharf_run(dir, &["verify", "repo"]);
    assert!(!bad.ok, "{}", bad.all());
    assert!(bad.all().contains(&format!("keys/{fp}")), "{}", bad.all());
}

/// Every window of `len` bytes of `secret` in the forms a parser error could print it: raw text, its
/// base64 lines, and the bytes as decimal or hex arrays.
fn leaked(output: &str, secret: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(secret);
    let mut forms: Vec<String> = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| l.len() >= 16 && !l.starts_with("-----"))
    {
        if line.starts_with("untrusted comment:") || line.contains(": ") {
            continue;
        }
        forms.extend(
            (0..=line.len() - 16)
                .step_by(8)
                .map(|i| line[i..i + 16].to_owned()),
        );
    }
    let raw = base64::engine::general_purpose::STANDARD.encode(secret);
    forms.extend(
        (0..raw.len().saturating_sub(16))
            .step_by(64)
            .map(|i| raw[i..i + 16].to_owned()),
    );
    for w in secret.windows(8).step_by(4) {
        forms.push(w.iter().map(u8::to_string).collect::<Vec<_>>().join(", "));
        forms.push(hex::encode(w));
        forms.push(
            w.iter()
                .map(|b| format!("{b:#04x}"))
                .collect::<Vec<_>>()
                .join(", "),
        );
    }
    forms.into_iter().find(|f| output.contains(f.as_str()))
}

#[test]
fn no_key_byte_reaches_an_error_or_output() {
    if !require(&["nfpm", "openssl"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    wharf_run(dir, &["key", "generate", "openpgp", "-o", "pgp"]).success();
    wharf_run(dir, &["key", "generate", "usign", "-o", "usign"]).success();
    wharf_run(dir, &["key", "generate", "apk-rsa", "-o", "rsa"]).success();
    wharf_run(dir, &["key", "generate", "apk-ec", "-o", "ec"]).success();
    run(Command::new("openssl")
        .args(["genpkey", "-algorithm", "ed25519", "-out"])
        .arg(dir.join("ed25519.pem")))
    .success();
    let mut secrets: Vec<_> = ["pgp/secret.asc", "usign/key-build"]
        .into_iter()
        .map(|f| dir.join(f))
        .collect();
    for d in ["rsa", "ec"] {
        for e in fs::read_dir(dir.join(d)).unwrap() {
            let p = e.unwrap().path();
            if !p.to_string_lossy().ends_with(".pub") && !p.to_string_lossy().contains("public") {
                secrets.push(p);
            }
        }
    }
    secrets.push(dir.join("ed25519.pem"));
    // A secret key truncated halfway and one with a flipped byte: the parsers' errors have input to quote.
    let pgp = fs::read(dir.join("pgp/secret.asc")).unwrap();
    fs::write(dir.join("half.asc"), &pgp[..pgp.len() / 2]).unwrap();
    let mut flipped = pgp.clone();
    let at = flipped.len() / 2;
    flipped[at] = if flipped[at] == b'A' { b'B' } else { b'A' };
    fs::write(dir.join("flipped.asc"), flipped).unwrap();
    secrets.push(dir.join("half.asc"));
    secrets.push(dir.join("flipped.asc"));
    let deb = nfpm_deb(&dir.join("pkgs"), "demo", "1.0.0", "hi");
    let ipk = nfpm_ipk(&dir.join("pkgs"), "demo", "1.0.0", "hi");
    let mut tried = 0;
    for secret in &secrets {
        let bytes = fs::read(secret).unwrap();
        for (option, package) in [
            ("--key", &deb),
            ("--usign-key", &ipk),
            ("--apk-key", &deb),
            ("--apk3-key", &deb),
        ] {
            for json in [false, true] {
                let mut args = vec!["publish", "--to", "repo", option, secret.to_str().unwrap()];
                if json {
                    args.insert(0, "--json");
                }
                args.push(package.to_str().unwrap());
                let d = wharf_run(dir, &args);
                let all = d.all();
                assert!(!all.contains("panicked"), "{all}");
                if let Some(form) = leaked(&all, &bytes) {
                    panic!("{} given as {option} leaked `{form}`:\n{all}", secret.display());
                }
                tried += 1;
            }
        }
        // verify --key reads public keys: secret ones are refused without quoting them.
        let d = wharf_run(dir, &["verify", "repo", "--key", secret.to_str().unwrap()]);
        assert!(leaked(&d.all(), &bytes).is_none(), "{}", d.all());
    }
    assert_eq!(tried, secrets.len() * 8);
    // The mismatch the finding was about says which option takes such a key instead.
    let d = wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo2",
            "--key",
            dir.join("ed25519.pem").to_str().unwrap(),
            deb.to_str().unwrap(),
        ],
    );
    assert!(!d.ok && d.stderr.contains("PEM"), "{}", d.all());
}

#[test]
fn a_fifo_is_refused_not_waited_on() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let keys = crate::key_flags(dir);
    for name in ["pipe.deb", "pipe.apk"] {
        let fifo = dir.join(name);
        run(Command::new("mkfifo").arg(&fifo)).success();
        let started = Instant::now();
        let mut child = wharf(dir)
            .args(["publish", "--to", "repo", fifo.to_str().unwrap()])
            .args(&keys)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        loop {
            if child.try_wait().unwrap().is_some() {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                child.kill().unwrap();
                panic!("publish of a FIFO hung");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{stderr}");
        assert!(stderr.contains("not a regular file"), "{stderr}");
        assert!(!dir.join("repo/dists").exists());
    }
}

#[test]
fn a_store_over_the_project_or_its_keys_is_refused() {
    let t = TempDir::new().unwrap();
    let cfg = demo_project(&t.path().join("proj"));
    let proj = cfg.parent().unwrap();
    let before = listing(proj);
    for to in ["", ".", "./", ".wharf", "dist", ".wharf/repo", ".."] {
        fs::write(
            &cfg,
            fs::read_to_string(&cfg).unwrap() + &format!("\n[publish]\nto = \"{to}\"\n"),
        )
        .unwrap();
        let d = wharf_run(proj, &["publish", "-c", cfg.to_str().unwrap()]);
        assert!(!d.ok, "{to:?}: {}", d.all());
        assert!(
            d.stderr.contains("refusing") || d.stderr.contains("empty"),
            "{to:?}: {}",
            d.stderr
        );
        let text = fs::read_to_string(&cfg).unwrap();
        fs::write(&cfg, &text[..text.rfind("\n[publish]").unwrap()]).unwrap();
    }
    assert_eq!(listing(proj), before, "a refused publish wrote into the project");
}

fn listing(dir: &Path) -> Vec<String> {
    wharf_test::tree(dir).into_iter().map(|(p, _)| p).collect()
}

#[test]
fn error_causes_are_not_repeated() {
    let t = TempDir::new().unwrap();
    fs::write(t.path().join("bad.deb"), b"!<arch>\nnot a deb").unwrap();
    let key = wharf_test::throwaway_key(t.path());
    let d = wharf_run(
        t.path(),
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            key.to_str().unwrap(),
            "bad.deb",
        ],
    );
    assert!(!d.ok);
    let lines: Vec<&str> = d.stderr.lines().collect();
    let error = lines.iter().find(|l| l.starts_with("error:")).unwrap();
    for cause in lines.iter().filter_map(|l| l.trim().strip_prefix("caused by: ")) {
        assert!(!error.contains(cause), "repeated cause `{cause}`:\n{}", d.stderr);
    }
}

/// `wharf` under a hard address-space limit (what a 2 GB allocation would need, it does not get).
fn limited(dir: &Path, mib: u64, args: &[&str]) -> Done {
    let mut c = Command::new("prlimit");
    c.arg(format!("--as={}", mib << 20))
        .arg(env!("CARGO_BIN_EXE_wharf"))
        .args(args)
        .current_dir(dir)
        .env("MALLOC_ARENA_MAX", "2")
        .env("NO_COLOR", "1")
        .env(
            "WHARF_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/wharf-cache"),
        );
    run(&mut c)
}

/// The demo project published as an apt and an rpm-md repository into `dir/repo`.
fn publish_deb_and_rpm(dir: &Path) {
    let cfg = demo_project(&dir.join("proj"));
    fs::write(
        &cfg,
        fs::read_to_string(&cfg).unwrap() + "\n[rpm]\nrepos = [\"linux-x86_64\"]\n",
    )
    .unwrap();
    let c = cfg.to_str().unwrap();
    wharf_run(
        dir,
        &[
            "publish", "-c", c, "--format", "deb", "--format", "rpm", "--to", "repo",
        ],
    )
    .success();
}

/// `n` bytes of zeros, gzip'd (a decompression bomb: ~1,000 times smaller than what it inflates to).
fn gzip_bomb(n: u64) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..n >> 20 {
        enc.write_all(&zeros).unwrap();
    }
    enc.finish().unwrap()
}

/// Asserts a run that ended with one clear error or a report, not an abort or a crash.
#[track_caller]
fn no_abort(d: &Done, what: &str) {
    assert!(
        matches!(d.code, Some(0 | 1)),
        "{what}: exit {:?}\n{}",
        d.code,
        d.all()
    );
    for bad in ["panicked", "memory allocation", "Aborted", "out of memory"] {
        assert!(!d.all().contains(bad), "{what}: {bad}\n{}", d.all());
    }
}

#[test]
fn bombs_meet_one_clear_error_under_a_hard_memory_limit() {
    if !require(&["prlimit", "nfpm"]) {
        return;
    }
    const LIMIT_MIB: u64 = 512;
    let t = TempDir::new().unwrap();
    let dir = t.path();
    publish_deb_and_rpm(dir);
    let repo = dir.join("repo");
    let ok = limited(dir, LIMIT_MIB, &["verify", "repo"]);
    assert!(ok.ok, "the untouched repository\n{}", ok.all());
    let bomb = gzip_bomb(2 << 30);
    assert!(bomb.len() < 4 << 20, "{}", bomb.len());

    // Packages.gz that inflates to 2 GiB: read no further than the size Release states for Packages.
    let copy = |name: &str| {
        let to = dir.join(name);
        run(Command::new("cp").arg("-a").arg(&repo).arg(&to)).success();
        to
    };
    let apt = copy("apt-bomb");
    fs::write(apt.join("dists/stable/main/binary-amd64/Packages.gz"), &bomb).unwrap();
    let d = limited(dir, LIMIT_MIB, &["verify", "apt-bomb"]);
    no_abort(&d, "Packages.gz bomb");
    assert!(!d.ok && d.stdout.contains("Packages.gz"), "{}", d.all());

    // primary.xml.gz that inflates to 2 GiB: read no further than repomd.xml's open-size.
    let rpm = copy("rpm-bomb");
    let primary = fs::read_dir(rpm.join("linux-x86_64/repodata"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.to_string_lossy().ends_with("-primary.xml.gz"))
        .unwrap();
    fs::write(&primary, &bomb).unwrap();
    let d = limited(dir, LIMIT_MIB, &["verify", "rpm-bomb"]);
    no_abort(&d, "primary.xml.gz bomb");
    assert!(!d.ok && d.stdout.contains("primary.xml.gz"), "{}", d.all());

    // An rpm whose headers declare 65,535 entries and 256 MiB (112 bytes on disk): one error.
    let mut rpm_bomb = vec![0u8; 96];
    rpm_bomb[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
    rpm_bomb.extend_from_slice(&[0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
    rpm_bomb.extend_from_slice(&0xffffu32.to_be_bytes());
    rpm_bomb.extend_from_slice(&0x0fff_ffffu32.to_be_bytes());
    fs::write(dir.join("bomb.rpm"), &rpm_bomb).unwrap();
    let key = wharf_test::throwaway_key(dir);
    let key = key.to_str().unwrap();
    let d = limited(
        dir,
        LIMIT_MIB,
        &["publish", "--to", "out-rpm", "--key", key, "bomb.rpm"],
    );
    no_abort(&d, "rpm header bomb");
    assert!(!d.ok && d.stderr.contains("truncated"), "{}", d.all());

    // A 1 GiB .deb (its data.tar is 1 GiB of zeros: an empty archive and its padding), published and
    // verified as a stream, never held.
    let big = dir.join("big_1.0_all.deb");
    {
        use std::io::{Seek, Write};
        let control = wharf_test::run(Command::new("sh").arg("-c").arg(format!(
            "cd '{}' && mkdir -p ctl && printf 'Package: big\\nVersion: 1.0\\nArchitecture: all\\nMaintainer: m <m@e.org>\\nDescription: big\\n' > ctl/control && tar -czf control.tar.gz -C ctl ./control && stat -c %s control.tar.gz",
            dir.display()
        )))
        .success()
        .stdout;
        let control_len: u64 = control.trim().parse().unwrap();
        let header = |name: &str, size: u64| {
            format!("{name:<16}{:<12}{:<6}{:<6}{:<8}{size:<10}`\n", 0, 0, 0, "100644")
        };
        let mut f = fs::File::create(&big).unwrap();
        f.write_all(b"!<arch>\n").unwrap();
        f.write_all(header("debian-binary", 4).as_bytes()).unwrap();
        f.write_all(b"2.0\n").unwrap();
        f.write_all(header("control.tar.gz", control_len).as_bytes())
            .unwrap();
        f.write_all(&fs::read(dir.join("control.tar.gz")).unwrap())
            .unwrap();
        if control_len % 2 == 1 {
            f.write_all(b"\n").unwrap();
        }
        f.write_all(header("data.tar", 1 << 30).as_bytes()).unwrap();
        let end = f.stream_position().unwrap() + (1 << 30);
        f.set_len(end).unwrap();
    }
    let d = limited(
        dir,
        LIMIT_MIB,
        &["publish", "--to", "big-repo", "--key", key, big.to_str().unwrap()],
    );
    no_abort(&d, "1 GiB deb publish");
    assert!(d.ok, "{}", d.all());
    let d = limited(dir, LIMIT_MIB, &["verify", "big-repo"]);
    no_abort(&d, "1 GiB deb verify");
    assert!(d.ok, "{}", d.all());
}

/// A hostile HTTP server over `root`: `endless` paths send zeros until the client goes (at most 4 GiB
/// or a minute), `trickle` paths one byte every two seconds (at most two minutes); the rest are served.
fn hostile_server(root: std::path::PathBuf, endless: &'static str, trickle: &'static str) -> u16 {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let root = root.clone();
            std::thread::spawn(move || {
                let mut s = stream;
                let mut line = String::new();
                let mut reader = BufReader::new(s.try_clone().unwrap());
                if reader.read_line(&mut line).is_err() {
                    return;
                }
                while let Ok(n) = reader.read_line(&mut String::new()) {
                    if n <= 2 {
                        break;
                    }
                }
                let path = line
                    .split(' ')
                    .nth(1)
                    .unwrap_or("/")
                    .trim_start_matches('/')
                    .to_owned();
                let started = Instant::now();
                if path == endless {
                    let _ = s.write_all(b"HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
                    let zeros = vec![0u8; 1 << 20];
                    for _ in 0..4096 {
                        if started.elapsed() > Duration::from_secs(60) || s.write_all(&zeros).is_err() {
                            break;
                        }
                    }
                } else if path == trickle {
                    let body = fs::read(root.join(&path)).unwrap_or_default();
                    let _ = s.write_all(
                        format!(
                            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                            body.len()
                        )
                        .as_bytes(),
                    );
                    for b in body {
                        if started.elapsed() > Duration::from_secs(120) || s.write_all(&[b]).is_err() {
                            break;
                        }
                        std::thread::sleep(Duration::from_secs(2));
                    }
                } else {
                    match fs::read(root.join(&path)) {
                        Ok(body) => {
                            let _ = s.write_all(
                                format!(
                                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                                    body.len()
                                )
                                .as_bytes(),
                            );
                            let _ = s.write_all(&body);
                        }
                        Err(_) => {
                            let _ = s.write_all(
                                b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
                            );
                        }
                    }
                }
            });
        }
    });
    port
}

#[test]
fn verify_over_http_bounds_time_and_memory_and_reports_every_repository() {
    if !require(&["prlimit", "nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    publish_deb_and_rpm(dir);
    // Packages (which Release says is a few hundred bytes) is endless; Packages.xz trickles.
    let port = hostile_server(
        dir.join("repo"),
        "dists/stable/main/binary-amd64/Packages",
        "dists/stable/main/binary-amd64/Packages.xz",
    );
    let started = Instant::now();
    let d = limited(
        dir,
        512,
        &[
            "verify",
            &format!("http://127.0.0.1:{port}/"),
            "dists/stable",
            "linux-x86_64",
            "--timeout",
            "2s",
            "--key",
            "repo/archive-keyring.gpg",
        ],
    );
    let took = started.elapsed();
    no_abort(&d, "hostile server");
    assert!(
        took < Duration::from_secs(60),
        "verify took {took:?}\n{}",
        d.all()
    );
    assert!(!d.ok, "{}", d.all());
    // Each unreadable file is a finding; the other repository is still checked.
    assert!(
        d.stdout.contains("binary-amd64/Packages: unreadable:"),
        "{}",
        d.all()
    );
    assert!(
        d.stdout.contains("binary-amd64/Packages.xz: unreadable:"),
        "{}",
        d.all()
    );
    assert!(d.stdout.contains("ok    rpm-md linux-x86_64"), "{}", d.all());
}

/// apt 3 (Debian 13, verifying with sqv) takes a repository signed by a freshly generated RSA key: its
/// binding self-signature is dated at the key's creation, and data signatures no earlier than it (sqv
/// refused the repository when making the key took seconds: "Signing key … is not bound").
#[test]
fn apt_3_takes_a_repository_signed_by_a_fresh_rsa_key() {
    if !require(&["debootstrap", "chroot"]) {
        return;
    }
    let root = wharf_test::trixie_root(Path::new(env!("CARGO_TARGET_TMPDIR")));
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    wharf_run(
        dir,
        &["key", "generate", "openpgp", "--algorithm", "rsa4096", "-o", "k"],
    )
    .success();
    let c = cfg.to_str().unwrap();
    wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--format",
            "deb",
            "--to",
            "repo",
            "--key",
            "k/secret.asc",
        ],
    )
    .success();
    // The repository and a sources file of its own inside the root (the root is shared and kept).
    let unique = format!("wharf-{}", std::process::id());
    let inside = root.join("srv").join(&unique);
    let _ = fs::remove_dir_all(&inside);
    fs::create_dir_all(inside.join("sources.d")).unwrap();
    run(Command::new("cp")
        .arg("-a")
        .arg(dir.join("repo"))
        .arg(inside.join("repo")))
    .success();
    fs::write(
        inside.join("sources.d/wharf.sources"),
        format!(
            "Types: deb\nURIs: file:/srv/{unique}/repo\nSuites: stable\nComponents: main\nSigned-By: /srv/{unique}/repo/archive-keyring.gpg\n"
        ),
    )
    .unwrap();
    let apt = |args: &[&str]| {
        run(Command::new("chroot")
            .arg(&root)
            .arg("apt-get")
            .args(["-o", "Dir::Etc::SourceList=/dev/null"])
            .args(["-o", &format!("Dir::Etc::SourceParts=/srv/{unique}/sources.d")])
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive"))
    };
    let version = run(Command::new("chroot").arg(&root).args(["apt-get", "--version"])).success();
    assert!(version.stdout.starts_with("apt 3."), "{}", version.stdout);
    let update = apt(&["update"]).success();
    let problems = wharf_test::apt_problems(&update.all());
    assert!(problems.is_empty(), "apt 3: {problems:?}\n{}", update.all());
    assert!(update.all().contains("stable InRelease"), "{}", update.all());
    let install = apt(&["install", "-y", "demo"]).success();
    assert!(root.join("usr/bin/demo").is_file(), "{}", install.all());
    apt(&["purge", "-y", "demo"]).success();
    let _ = fs::remove_dir_all(&inside);
}
