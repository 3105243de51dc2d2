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
    for name in ["pipe.deb", "pipe.apk"] {
        let fifo = dir.join(name);
        run(Command::new("mkfifo").arg(&fifo)).success();
        let started = Instant::now();
        let mut child = wharf(dir)
            .args(["publish", "--to", "repo", fifo.to_str().unwrap()])
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
    let d = wharf_run(t.path(), &["publish", "--to", "repo", "bad.deb"]);
    assert!(!d.ok);
    let lines: Vec<&str> = d.stderr.lines().collect();
    let error = lines.iter().find(|l| l.starts_with("error:")).unwrap();
    for cause in lines.iter().filter_map(|l| l.trim().strip_prefix("caused by: ")) {
        assert!(!error.contains(cause), "repeated cause `{cause}`:\n{}", d.stderr);
    }
}
