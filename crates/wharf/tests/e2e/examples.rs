//! The examples under `examples/`, one per seed pipeline, run with the commands their READMEs give (each
//! command is checked to be in the README before it runs) and judged by the real clients.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_test::{Apt, apt_problems, git, require, run, server_port, tree, write};

use crate::serve::Server;
use crate::wharf;

/// The example's directory in this repository.
fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name)
}

/// The example's README, and a check that `command` is one of its lines (the test runs what it says).
fn says(name: &str, command: &str) -> String {
    let readme = fs::read_to_string(example(name).join("README.md")).unwrap();
    assert!(
        readme.lines().any(|l| l.trim() == command),
        "examples/{name}/README.md does not say `{command}`"
    );
    command.to_owned()
}

/// Runs a README command line with `sh -c` in `dir`, wharf on the PATH, `vars` in the environment.
fn sh(name: &str, dir: &Path, command: &str, vars: &[(&str, &str)]) -> wharf_test::Done {
    let line = says(name, command);
    let bin = Path::new(env!("CARGO_BIN_EXE_wharf"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
    // The same clean environment `wharf()` gives.
    let probe = wharf(dir);
    let mut cmd = Command::new("sh");
    cmd.current_dir(dir).args(["-c", &line]).env("PATH", path);
    for (k, v) in probe.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    for (k, v) in vars {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// The example's files committed (`message`) into a git repository at `dir` and tagged `tag` (the
/// upstream build machines clone).
fn upstream(name: &str, dir: &Path, message: &str, tag: &str) {
    copy_dir(&example(name), dir);
    git(dir, &["init", "-q", "-b", "main"], 1);
    git(dir, &["add", "-A"], 2);
    git(dir, &["commit", "-q", "-m", message], 3);
    git(dir, &["tag", "-a", tag, "-m", tag], 4);
}

pub fn copy_dir(from: &Path, to: &Path) {
    for (rel, bytes) in tree(from) {
        let path = to.join(&rel);
        write(&path, bytes);
        let mode = fs::metadata(from.join(&rel)).unwrap().permissions();
        fs::set_permissions(&path, mode).unwrap();
    }
}

/// Every file of a store with its bytes, leaving out the lock files that come and go.
fn listing(store: &Path) -> Vec<(String, Vec<u8>)> {
    tree(store)
        .into_iter()
        .filter(|(p, _)| !p.contains("lock"))
        .collect()
}

fn read(p: &Path) -> String {
    fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Seed 002: two build machines release their architecture of v0.4.7 into one store; the release covers
/// both; a conflicting rebuild is refused before anything is written; apt, dnf and zypper install
/// through `wharf serve`.
#[test]
fn multi_machine() {
    if !require(&[
        "git",
        "apt-get",
        "dnf",
        "zypper",
        "rpmkeys",
        "sha256sum",
        "shellcheck",
    ]) {
        return;
    }
    const NAME: &str = "multi-machine";
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("upstream");
    upstream(NAME, &origin, "feat: the mesh daemon and its client", "v0.4.7");
    let store = tmp.path().join("store");
    let port = server_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let vars = [
        ("STORE", store.to_str().unwrap()),
        ("BASE_URL", base_url.as_str()),
    ];

    // The key, made once; each machine's clone gets a copy.
    let secrets = tmp.path().join("secrets");
    fs::create_dir_all(&secrets).unwrap();
    sh(
        NAME,
        &secrets,
        "wharf key generate openpgp -o keys --name \"meshd repository\"",
        &[],
    )
    .success();
    let machine = |m: &str| {
        let dir = tmp.path().join(m);
        run(Command::new("git").arg("clone").arg("-q").arg(&origin).arg(&dir)).success();
        copy_dir(&secrets.join("keys"), &dir.join("keys"));
        dir
    };
    let (a, b) = (machine("machine-a"), machine("machine-b"));
    sh(NAME, &a, "./build.sh x86_64-unknown-linux-gnu", &[]).success();
    let first = sh(
        NAME,
        &a,
        "wharf release --target x86_64-unknown-linux-gnu --to \"$STORE\" --base-url \"$BASE_URL\"",
        &vars,
    )
    .success();
    assert!(
        first.stderr.contains("Releasing meshd 0.4.7 (stable"),
        "{}",
        first.all()
    );

    // A conflicting rebuild is refused, and the store is untouched.
    let before = listing(&store);
    // An amd64 build of its own, made at another time: not the bytes machine A released.
    sh(NAME, &b, "./build.sh x86_64-unknown-linux-gnu", &[]).success();
    let conflicting = run(wharf(&b)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args([
            "release",
            "--target",
            "x86_64-unknown-linux-gnu",
            "--base-url",
            &base_url,
            "--to",
        ])
        .arg(&store));
    assert_eq!(conflicting.code, Some(1), "{}", conflicting.all());
    assert!(
        conflicting.stderr.contains("release 0.4.7 is already published")
            && conflicting.stderr.contains("Nothing was written"),
        "{}",
        conflicting.stderr
    );
    assert!(listing(&store) == before, "a refused release changed the store");
    fs::remove_dir_all(b.join("target/x86_64-unknown-linux-gnu")).unwrap();
    sh(NAME, &b, "./build.sh aarch64-unknown-linux-gnu", &[]).success();

    // Machine B's own architecture merges into the release.
    let second = sh(
        NAME,
        &b,
        "wharf release --target aarch64-unknown-linux-gnu --to \"$STORE\" --base-url \"$BASE_URL\"",
        &vars,
    )
    .success();
    assert!(second.stderr.contains("Released meshd 0.4.7"), "{}", second.all());
    let rel = store.join("releases/0.4.7");
    let sums = read(&rel.join("SHA256SUMS"));
    for file in [
        "meshd-server_0.4.7_amd64.deb",
        "meshd-server_0.4.7_arm64.deb",
        "meshd-cli_0.4.7_amd64.deb",
        "meshd-cli_0.4.7_arm64.deb",
        "meshd-server-0.4.7-1.x86_64.rpm",
        "meshd-server-0.4.7-1.aarch64.rpm",
        "meshd-cli-0.4.7-1.aarch64.rpm",
        "meshd-server-0.4.7-amd64.tar.gz",
        "meshd-server-0.4.7-arm64.tar.gz",
    ] {
        assert!(
            sums.contains(&format!("  {file}\n")),
            "{file} not in SHA256SUMS:\n{sums}"
        );
        assert!(rel.join(file).is_file(), "{file} missing");
    }
    let check = run(Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&rel))
    .success();
    assert!(!check.stdout.contains("FAILED"), "{}", check.all());
    let manifest: serde_json::Value = serde_json::from_str(&read(&rel.join("manifest.json"))).unwrap();
    let files: Vec<&str> = manifest["artifacts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["file"].as_str().unwrap())
        .collect();
    assert_eq!(files.len(), sums.lines().count(), "{files:?}");
    assert_eq!(manifest["project"], "meshd");
    let notes = read(&rel.join("notes.md"));
    assert!(
        notes.starts_with("# meshd 0.4.7") && notes.contains("meshd-cli_0.4.7_arm64.deb"),
        "{notes}"
    );
    let page = read(&store.join("index.html"));
    assert!(page.contains("meshd-server_0.4.7_arm64.deb") && page.contains("meshd-server_0.4.7_amd64.deb"));
    let script = read(&store.join("install.sh"));
    assert!(
        script.contains("RPM_REPOS='linux-aarch64 linux-x86_64'"),
        "install.sh names no rpm repositories"
    );
    let sc = run(Command::new("shellcheck")
        .args(["-s", "sh"])
        .arg(store.join("install.sh")));
    assert!(sc.code == Some(0), "shellcheck: {}", sc.all());
    assert_eq!(read(&store.join("releases/latest")), "0.4.7\n");
    // Both machines again: nothing changes (each file is already there, byte for byte).
    let settled = listing(&store);
    sh(
        NAME,
        &a,
        "wharf release --target x86_64-unknown-linux-gnu --to \"$STORE\" --base-url \"$BASE_URL\"",
        &vars,
    )
    .success();
    let again: Vec<String> = listing(&store)
        .into_iter()
        .zip(&settled)
        .filter(|(x, y)| x != *y)
        .map(|(x, _)| x.0)
        .collect();
    assert!(
        again
            .iter()
            .all(|p| p.starts_with("dists/") || p.starts_with(".wharf/")),
        "a repeated release rewrote {again:?}"
    );

    // The repository server, and the clients through it.
    let serve_line = says(NAME, "wharf serve --to \"$STORE\" --listen 127.0.0.1:8080");
    let mut cmd = wharf(tmp.path());
    cmd.args(["serve", "--to"])
        .arg(&store)
        .args(["--listen", &format!("127.0.0.1:{port}")]);
    assert!(serve_line.contains("--listen 127.0.0.1:"));
    let server = Server::spawn(cmd, port);
    assert_eq!(server.url(), base_url);
    let script = store.join("install.sh");

    let (got, apt_root) = install_everywhere(tmp.path(), &script, &["meshd-server", "meshd-cli"]);
    assert_eq!(
        got,
        [
            vec!["meshd-server 0.4.7", "meshd-cli 0.4.7"],
            vec!["meshd-server 0.4.7-1", "meshd-cli 0.4.7-1"],
            vec!["meshd-server 0.4.7-1", "meshd-cli 0.4.7-1"],
        ]
    );
    let said = run(&mut Command::new(apt_root.join("usr/bin/meshd-cli"))).success();
    assert!(
        said.stdout.contains("built for x86_64-unknown-linux-gnu"),
        "{}",
        said.all()
    );
    drop(server);
}

/// Installs the stable channel with install.sh by apt, dnf and zypper (each in a root of its own under
/// `tmp`); returns, per client, `name version` of each of `packages` as it installed them, and the apt root.
fn install_everywhere(tmp: &Path, script: &Path, packages: &[&str]) -> (Vec<Vec<String>>, PathBuf) {
    let apt_dir = tmp.join("apt");
    let apt = Apt::new(
        &apt_dir,
        "http://127.0.0.1:9/unused",
        "stable",
        "main",
        Path::new("/dev/null"),
    );
    fs::remove_file(apt_dir.join("etc/apt/sources.list.d/test.sources")).unwrap();
    let installed = run(Command::new("sh")
        .arg(script)
        .env("APT_CONFIG", apt_dir.join("etc/apt/apt.conf")));
    assert_eq!(installed.code, Some(0), "{}", installed.all());
    assert!(apt_problems(&installed.all()).is_empty(), "{}", installed.all());
    let mut got = vec![
        packages
            .iter()
            .map(|p| {
                let policy = apt.cmd("apt-cache", &["policy", p]).success().stdout;
                let v = policy.lines().find_map(|l| l.trim().strip_prefix("Installed: "));
                format!("{p} {}", v.unwrap_or_default())
            })
            .collect(),
    ];
    for method in ["dnf", "zypper"] {
        let root = tmp.join(format!("{method}-root"));
        let done = run(Command::new("sh")
            .arg(script)
            .args(["--method", method, "--root"])
            .arg(&root));
        assert_eq!(done.code, Some(0), "{}", done.all());
        let q = run(Command::new("rpm")
            .arg("--root")
            .arg(&root)
            .args(["-q", "--qf", "%{NAME} %{VERSION}-%{RELEASE}\\n"])
            .args(packages))
        .success();
        got.push(q.stdout.lines().map(str::to_owned).collect());
    }
    (got, apt.root())
}

/// Seed 004: stable, development and extra builds classified by the seed's rule; a development build
/// promoted to stable installs from there with apt, dnf and zypper and `releases/latest` names it; tagging
/// that commit afterwards releases the tag's version beside it.
#[test]
fn garage_like() {
    if !require(&[
        "git",
        "apt-get",
        "dnf",
        "zypper",
        "rpmkeys",
        "sha256sum",
        "docker-registry",
        "skopeo",
    ]) {
        return;
    }
    const NAME: &str = "garage-like";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("grange");
    upstream(NAME, &dir, "feat: store objects", "v1.0.0");
    write(&dir.join("NEWS"), "1.0.1: the last object is kept\n");
    git(&dir, &["add", "-A"], 5);
    git(&dir, &["commit", "-q", "-m", "fix: keep the last object"], 6);
    let store = tmp.path().join("store");
    let port = server_port();
    let base_url = format!("http://127.0.0.1:{port}");
    let registry = crate::image::Registry::start(&tmp.path().join("registry"));
    let host = format!("127.0.0.1:{}", registry.port);
    let registry_url = format!("http://{host}");
    let vars = [
        ("STORE", store.to_str().unwrap()),
        ("BASE_URL", base_url.as_str()),
        ("REGISTRY", registry_url.as_str()),
    ];
    sh(
        NAME,
        &dir,
        "wharf key generate openpgp -o keys --name \"grange releases\"",
        &[],
    )
    .success();
    let release = |at: &str| {
        git(&dir, &["checkout", "-q", at], 7);
        sh(NAME, &dir, "./build.sh", &[]).success();
        sh(
            NAME,
            &dir,
            "wharf release --to \"$STORE\" --base-url \"$BASE_URL\" --push-image \"$REGISTRY/grange\"",
            &vars,
        )
        .success()
    };

    let stable = release("v1.0.0");
    assert!(
        stable
            .stderr
            .contains("Releasing grange 1.0.0 (stable, channel stable, tag v1.0.0)"),
        "{}",
        stable.all()
    );
    let rel = store.join("releases/1.0.0");
    for file in [
        "grange_1.0.0_amd64.deb",
        "grange_1.0.0_i386.deb",
        "grange_1.0.0_arm64.deb",
        "grange-1.0.0-1.x86_64.rpm",
        "grange-1.0.0-1.aarch64.rpm",
        "grange-1.0.0-amd64.tar.gz",
        "grange-1.0.0-i386.tar.gz",
        "grange-1.0.0-arm64.tar.gz",
        "grange-1.0.0-amd64.tar.gz.sha256",
    ] {
        assert!(rel.join(file).is_file(), "{file} missing from {}", rel.display());
    }
    run(Command::new("sha256sum")
        .arg("-c")
        .arg("SHA256SUMS")
        .current_dir(&rel))
    .success();
    // The seed's container: one image index over the four targets, tagged 1.0.0 and stable, as listed.
    let manifest: serde_json::Value = serde_json::from_str(&read(&rel.join("manifest.json"))).unwrap();
    let image = &manifest["images"][0];
    let platforms: Vec<&str> = image["platforms"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["platform"].as_str().unwrap())
        .collect();
    assert_eq!(
        platforms,
        ["linux/amd64", "linux/386", "linux/arm64/v8", "linux/arm/v7"]
    );
    for tag in ["1.0.0", "stable"] {
        let raw = crate::image::raw_manifest(&format!("{host}/grange:{tag}")).expect("the image is tagged");
        assert_eq!(crate::image::digest_of(&raw), image["digest"].as_str().unwrap());
    }
    let notes = read(&rel.join("notes.md"));
    assert!(
        notes.contains(&format!(
            "docker pull {host}/grange@{}",
            image["digest"].as_str().unwrap()
        )),
        "{notes}"
    );

    let dev = release("main");
    let line = dev
        .stderr
        .lines()
        .find(|l| l.contains("Releasing grange"))
        .unwrap();
    assert!(line.contains("(development, channel dev)"), "{line}");
    let version = line.split_whitespace().nth(2).unwrap().to_owned();
    assert!(version.starts_with("1.0.1~~dev.1.g"), "{version}");
    assert_eq!(read(&store.join("releases/latest-dev")), format!("{version}\n"));
    assert_eq!(read(&store.join("releases/latest")), "1.0.0\n");

    // The tested development build goes to stable: the same bytes, no rebuild.
    let dev_deb = fs::read(store.join(format!("releases/{version}/grange_{version}_amd64.deb"))).unwrap();
    let promoted = sh(
        NAME,
        &dir,
        "wharf promote grange \"$VERSION\" --from dev --to stable --store \"$STORE\" --base-url \"$BASE_URL\"",
        &[vars[0], vars[1], ("VERSION", &version)],
    )
    .success();
    assert!(
        promoted
            .stderr
            .contains(&format!("release {version}: dev → stable")),
        "{}",
        promoted.all()
    );
    assert_eq!(read(&store.join("releases/latest")), format!("{version}\n"));
    assert!(
        !store.join("releases/latest-dev").exists(),
        "the dev channel has no release left"
    );
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&store.join(format!("releases/{version}/manifest.json")))).unwrap();
    assert_eq!(manifest["channel"], "stable");
    let pool: Vec<(String, Vec<u8>)> = tree(&store.join("pool"))
        .into_iter()
        .filter(|(p, _)| p.ends_with(&format!("grange_{version}_amd64.deb")))
        .collect();
    assert_eq!(pool.len(), 1);
    assert!(
        pool[0].1 == dev_deb,
        "the promoted .deb is not the released bytes"
    );
    assert!(
        store
            .join(format!("linux-x86_64/Packages/g/grange-{version}-1.x86_64.rpm"))
            .is_file(),
        "the promoted rpm is not in the store's top tree"
    );

    let server = {
        let mut cmd = wharf(tmp.path());
        cmd.args(["serve", "--to"])
            .arg(&store)
            .args(["--listen", &format!("127.0.0.1:{port}")]);
        Server::spawn(cmd, port)
    };
    let (got, _) = install_everywhere(tmp.path(), &store.join("install.sh"), &["grange"]);
    assert_eq!(
        got,
        [
            vec![format!("grange {version}")],
            vec![format!("grange {version}-1")],
            vec![format!("grange {version}-1")],
        ]
    );

    // Tagging the promoted commit: an extra tag releases the tag's version, a stable tag its own.
    git(&dir, &["checkout", "-q", "main"], 8);
    git(&dir, &["tag", "-a", "handcrafted-1.0.1", "-m", "x"], 9);
    let extra = release("main");
    assert!(
        extra.stderr.contains(
            "Releasing grange 1.0.1~~handcrafted.1.0.1 (extra, channel extra, tag handcrafted-1.0.1)"
        ),
        "{}",
        extra.all()
    );
    git(&dir, &["tag", "-a", "v1.0.1", "-m", "v1.0.1"], 10);
    let tagged = release("main");
    assert!(
        tagged
            .stderr
            .contains("Releasing grange 1.0.1 (stable, channel stable, tag v1.0.1)"),
        "{}",
        tagged.all()
    );
    assert_eq!(read(&store.join("releases/latest")), "1.0.1\n");
    assert_eq!(
        read(&store.join("releases/latest-extra")),
        "1.0.1~~handcrafted.1.0.1\n"
    );
    let page = read(&store.join("index.html"));
    for want in [
        "Channel: stable",
        "Channel: extra",
        "grange-1.0.1-arm64.tar.gz",
        &format!("grange_{version}_amd64.deb"),
    ] {
        assert!(page.contains(want), "{want} not on the page");
    }
    drop(server);
}

/// The files inside an .ipk (outer tar.gz → data.tar.gz), by path without the leading `./`.
fn ipk_files(ipk: &Path) -> Vec<String> {
    let outer = fs::read(ipk).unwrap();
    let mut a = tar::Archive::new(flate2::read::GzDecoder::new(&outer[..]));
    for e in a.entries().unwrap() {
        let mut e = e.unwrap();
        if e.path().unwrap().to_string_lossy().trim_start_matches("./") == "data.tar.gz" {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut e, &mut data).unwrap();
            let mut inner = tar::Archive::new(flate2::read::GzDecoder::new(&data[..]));
            return inner
                .entries()
                .unwrap()
                .map(|e| {
                    e.unwrap()
                        .path()
                        .unwrap()
                        .to_string_lossy()
                        .trim_start_matches("./")
                        .to_owned()
                })
                .filter(|p| !p.is_empty() && !p.ends_with('/'))
                .collect();
        }
    }
    panic!("{}: no data.tar.gz", ipk.display());
}

/// The directories below `dir` (feed architectures), sorted, without `keys`.
fn arches(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "keys")
        .collect();
    v.sort();
    v
}

/// Seed 000: six musl targets → opkg, apk v2 and apk v3 feeds for all 19 OpenWrt variants, signed, the
/// keys in one keyring package; a LuCI app from a directory and a glob, only in the formats it names; a
/// tagged release with tarballs, `.sha256` files, the changelog and install.sh; a pre-release on `-rc`.
#[test]
fn openwrt_feed() {
    if !require(&["git", "openssl", "signify-openbsd", "sha256sum", "shellcheck"]) {
        return;
    }
    const NAME: &str = "openwrt-feed";
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("tunnel");
    upstream(NAME, &dir, "feat: the tunnel daemon", "v1.22.0");
    for (n, msg) in [
        (5, "feat(luci): a settings page"),
        (7, "fix: reconnect after a link flap"),
        (9, "docs: the router guide"),
    ] {
        write(&dir.join("NEWS"), msg);
        git(&dir, &["add", "-A"], n);
        git(&dir, &["commit", "-q", "-m", msg], n + 1);
    }
    git(&dir, &["tag", "-a", "v1.23.0", "-m", "v1.23.0"], 11);
    let store = tmp.path().join("store");
    let vars = [
        ("STORE", store.to_str().unwrap()),
        ("BASE_URL", "https://packages.tunnel.invalid"),
    ];
    for cmd in [
        "wharf key generate usign -o keys",
        "wharf key generate apk-rsa -o keys --name tunnel",
        "wharf key generate apk-ec -o keys",
        "./build.sh",
    ] {
        sh(NAME, &dir, cmd, &[]).success();
    }
    let released = sh(
        NAME,
        &dir,
        "wharf release --to \"$STORE\" --base-url \"$BASE_URL\"",
        &vars,
    )
    .success();
    assert!(
        released
            .stderr
            .contains("Releasing tunnel 1.23.0 (stable, channel stable, tag v1.23.0)"),
        "{}",
        released.all()
    );

    // Every OpenWrt variant of the six targets, in all three feed kinds.
    let opkg = arches(&store.join("opkg"));
    assert_eq!(opkg.len(), 19, "{opkg:?}");
    assert_eq!(arches(&store.join("apk")), opkg);
    assert_eq!(arches(&store.join("apk3")), opkg);
    let scratch = tmp.path().join("scratch");
    fs::create_dir_all(&scratch).unwrap();
    let usign_pub = dir.join("keys/key-build.pub");
    let fingerprint = fs::read_dir(store.join("opkg/keys"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .find(|n| n.len() == 16)
        .expect("the feed key under usign's 16-digit name");
    assert_eq!(
        fs::read(store.join("opkg/keys").join(&fingerprint)).unwrap(),
        fs::read(&usign_pub).unwrap()
    );
    let ec_pub = dir.join("keys/public-key.pem");
    let rsa_pub = dir.join("keys/tunnel.rsa.pub");
    for arch in &opkg {
        let feed = store.join("opkg").join(arch);
        let v = crate::opkg::signify(&usign_pub, &feed);
        assert!(
            v.ok && v.stdout.contains("Signature Verified"),
            "{arch}: {}",
            v.all()
        );
        let packages = read(&feed.join("Packages"));
        for p in ["tunnel", "tunnel-cli", "luci-app-tunnel", "tunnel-keyring"] {
            assert!(packages.contains(&format!("Package: {p}\n")), "{arch}: no {p}");
        }
        let v2 = crate::apk::check_index(&store.join("apk").join(arch), &rsa_pub, &scratch);
        let names: Vec<&str> = v2.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            ["tunnel", "tunnel-cli", "tunnel-keyring"],
            "{arch}: apk v2 (no LuCI)"
        );
        let v3 = crate::apk3::check_index(&store.join("apk3").join(arch), &ec_pub, &scratch);
        let names: Vec<&str> = v3.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(
            names,
            ["luci-app-tunnel", "tunnel", "tunnel-cli", "tunnel-keyring"],
            "{arch}: apk v3"
        );
    }
    // The LuCI app: the directory's tree under /www, the glob's files at their paths; once, arch all.
    let luci: Vec<_> = fs::read_dir(store.join("opkg/x86_64"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("luci-app-tunnel_1.23.0")
        })
        .collect();
    assert_eq!(luci.len(), 1, "{luci:?}");
    assert!(luci[0].to_string_lossy().ends_with("_all.ipk"), "{luci:?}");
    let files = ipk_files(&luci[0]);
    for f in [
        "www/luci-static/resources/view/tunnel.js",
        "usr/share/luci/menu.d/luci-app-tunnel.json",
        "usr/share/rpcd/acl.d/luci-app-tunnel.json",
    ] {
        assert!(files.iter().any(|x| x == f), "{f} not in {files:?}");
    }
    // The daemon: the right target's binary, the init script executable.
    let daemon = store.join("opkg/mipsel_24kc/tunnel_1.23.0_mipsel_24kc.ipk");
    assert!(ipk_files(&daemon).contains(&"usr/bin/tunneld".to_owned()));
    let (_, _, apk3_files) =
        crate::apk3::check_package(&store.join("apk3/aarch64_cortex-a53/tunnel-1.23.0-r0.apk"));
    assert!(String::from_utf8_lossy(&apk3_files["usr/bin/tunneld"]).contains("aarch64-unknown-linux-musl"));

    // The release: raw binaries and one archive per target (both programs), .sha256 each, SHA256SUMS, the
    // grouped changelog, install.sh.
    let rel = store.join("releases/1.23.0");
    for t in [
        "tunnel-mipsel.tar.gz",
        "tunnel-aarch64.tar.gz",
        "tunneld-aarch64",
        "tunnelc-armv7hl",
    ] {
        let line = read(&rel.join(format!("{t}.sha256")));
        assert!(line.ends_with(&format!("  {t}\n")), "{line}");
    }
    let archive = run(Command::new("tar")
        .arg("-tzf")
        .arg(rel.join("tunnel-aarch64.tar.gz")))
    .success();
    assert!(
        archive.stdout.contains("tunneld\n") && archive.stdout.contains("tunnelc\n"),
        "{}",
        archive.stdout
    );
    assert!(!rel.join("luci-app-tunnel-1.23.0-all.tar.gz").exists());
    run(Command::new("sha256sum")
        .args(["-c", "SHA256SUMS"])
        .current_dir(&rel))
    .success();
    let notes = read(&rel.join("notes.md"));
    for want in [
        "## Changes since v1.22.0",
        "### Features",
        "**luci:** a settings page",
        "### Bug Fixes",
        "reconnect after a link flap",
        "### Other",
    ] {
        assert!(notes.contains(want), "{want} not in\n{notes}");
    }
    let script = store.join("install.sh");
    let sc = run(Command::new("shellcheck").args(["-s", "sh"]).arg(&script));
    assert!(sc.code == Some(0), "shellcheck: {}", sc.all());
    let script_text = read(&script);
    assert!(
        script_text.contains(&format!("OPKG_KEY='{fingerprint}'")),
        "install.sh pins another opkg key"
    );
    let page = read(&store.join("index.html"));
    assert!(
        page.contains("opkg print-architecture") && page.contains("packages.adb"),
        "the page lacks the feed instructions"
    );

    // A release candidate is a pre-release, in its own channel.
    write(&dir.join("NEWS"), "rc");
    git(&dir, &["add", "-A"], 12);
    git(&dir, &["commit", "-q", "-m", "feat: multipath"], 13);
    git(&dir, &["tag", "-a", "v1.24.0-rc.1", "-m", "rc"], 14);
    sh(NAME, &dir, "./build.sh", &[]).success();
    let rc = sh(
        NAME,
        &dir,
        "wharf release --to \"$STORE\" --base-url \"$BASE_URL\"",
        &vars,
    )
    .success();
    assert!(
        rc.stderr
            .contains("Releasing tunnel 1.24.0~rc.1 (prerelease, channel prerelease"),
        "{}",
        rc.all()
    );
    assert_eq!(read(&store.join("releases/latest")), "1.23.0\n");
    assert_eq!(read(&store.join("releases/latest-prerelease")), "1.24.0~rc.1\n");
    assert!(store.join("prerelease/opkg/x86_64/Packages.sig").is_file());
}

/// Seed 001: rpms built elsewhere (rpmbuild standing in for mock), unsigned, published per chroot with
/// `--sign`, four versions with `keep = 3`; dnf and zypper install the newest through `wharf serve` with
/// every signature checked; the aarch64 chroot holds its architecture.
#[test]
fn rpm_chroots() {
    if !require(&["rpmbuild", "rpm", "rpmkeys", "dnf", "zypper"]) {
        return;
    }
    const NAME: &str = "rpm-chroots";
    const CHROOTS: [&str; 3] = [
        "fedora-43-x86_64",
        "almalinux-10-x86_64_v2",
        "centos-stream-10-aarch64",
    ];
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("host");
    copy_dir(&example(NAME), &dir);
    let store = tmp.path().join("store");
    let port = server_port();
    let base_url = format!("http://127.0.0.1:{port}");
    sh(
        NAME,
        &dir,
        "wharf key generate openpgp -o keys --name \"my-package repository\"",
        &[],
    )
    .success();
    for version in ["1.0.0", "1.0.1", "1.0.2", "1.0.3"] {
        let vars = [
            ("STORE", store.to_str().unwrap()),
            ("BASE_URL", base_url.as_str()),
            ("VERSION", version),
        ];
        for chroot in CHROOTS {
            sh(NAME, &dir, &format!("./build.sh {chroot} \"$VERSION\""), &vars).success();
            let published = sh(
                NAME,
                &dir,
                &format!("wharf publish --to \"$STORE\" --base-url \"$BASE_URL\" --repo {chroot} --sign out/{chroot}"),
                &vars,
            )
            .success();
            assert!(
                published
                    .stderr
                    .contains(&format!("{chroot}/repodata/repomd.xml")),
                "{}",
                published.all()
            );
        }
    }
    // Every rpm signed by the repository key (a dropped version's file stays for the grace period).
    let public = dir.join("keys/public.asc");
    let rpmdb = tmp.path().join("rpmdb");
    fs::create_dir_all(&rpmdb).unwrap();
    run(Command::new("rpmkeys")
        .arg("--dbpath")
        .arg(&rpmdb)
        .arg("--import")
        .arg(&public))
    .success();
    for chroot in CHROOTS {
        let rpms: Vec<PathBuf> = tree(&store.join(chroot))
            .into_iter()
            .filter(|(p, _)| p.ends_with(".rpm"))
            .map(|(p, _)| store.join(chroot).join(p))
            .collect();
        assert_eq!(rpms.len(), 4, "{chroot}");
        for rpm in &rpms {
            let check = run(Command::new("rpmkeys")
                .arg("--dbpath")
                .arg(&rpmdb)
                .arg("--checksig")
                .arg(rpm));
            assert!(
                check.ok && check.stdout.contains("digests signatures OK"),
                "{}",
                check.all()
            );
        }
    }
    let arch = run(Command::new("rpm")
        .args(["-qp", "--qf", "%{ARCH}"])
        .arg(store.join("centos-stream-10-aarch64/Packages/m/my-package-1.0.3-1.el10.aarch64.rpm")))
    .success();
    assert_eq!(arch.stdout, "aarch64");

    let serve_line = says(NAME, "wharf serve --to \"$STORE\" --listen 127.0.0.1:8080");
    assert!(serve_line.contains("--listen"));
    let mut cmd = wharf(tmp.path());
    cmd.args(["serve", "--to"])
        .arg(&store)
        .args(["--listen", &format!("127.0.0.1:{port}")]);
    let server = Server::spawn(cmd, port);
    let dnf = wharf_test::Dnf::new(
        &tmp.path().join("dnf"),
        &format!("{}/fedora-43-x86_64", server.url()),
        &format!("{}/RPM-GPG-KEY-my-package", server.url()),
    );
    // keep = 3: the repository lists the three newest.
    let listed = dnf.run(&["list", "--showduplicates", "my-package"]).success();
    for v in ["1.0.1-1.fc43", "1.0.2-1.fc43", "1.0.3-1.fc43"] {
        assert!(listed.stdout.contains(v), "{v} not listed: {}", listed.all());
    }
    assert!(!listed.stdout.contains("1.0.0-1.fc43"), "{}", listed.all());
    let installed = dnf.run(&["install", "my-package"]);
    assert!(
        installed.ok && installed.all().contains("Complete!"),
        "{}",
        installed.all()
    );
    let q = run(Command::new("rpm")
        .arg("--root")
        .arg(dnf.root())
        .args(["-q", "my-package"]))
    .success();
    assert_eq!(q.stdout.trim(), "my-package-1.0.3-1.fc43.x86_64");
    let repo_file = read(&store.join("almalinux-10-x86_64_v2/my-package.repo"));
    assert!(
        repo_file.contains(&format!("baseurl={base_url}/almalinux-10-x86_64_v2\n")),
        "{repo_file}"
    );
    let zypper = wharf_test::Zypper::new(
        &tmp.path().join("zypper-root"),
        &format!("{base_url}/almalinux-10-x86_64_v2"),
        &public,
    );
    let z = zypper.run(&["install", "my-package"]);
    assert!(z.ok, "{}", z.all());
    let q = run(Command::new("rpm")
        .arg("--root")
        .arg(zypper.root())
        .args(["-q", "my-package"]))
    .success();
    assert_eq!(q.stdout.trim(), "my-package-1.0.3-1.el10_alma.x86_64");
    // verify reads the served aarch64 repository as dnf would.
    let v = run(wharf(tmp.path())
        .args(["verify", &base_url, "centos-stream-10-aarch64", "--key"])
        .arg(&public));
    assert!(
        v.ok && v.stdout.contains("ok    rpm-md centos-stream-10-aarch64"),
        "{}",
        v.all()
    );
    drop(server);
}

/// Seed 003: a tag built by cargo and released in two clones in different directories gives identical
/// release files (binaries, .deb, signed .rpm, tarball, sums, manifest, notes with the checksums); the
/// second clone's release into the first store changes nothing; a rebuild checks against SHA256SUMS.
#[test]
fn reproducible() {
    if !require(&["git", "cargo", "sha256sum", "docker-registry", "skopeo"]) {
        return;
    }
    const NAME: &str = "reproducible";
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("upstream");
    upstream(NAME, &origin, "feat: the beacon node", "v25.1.0");
    let secrets = tmp.path().join("secrets");
    fs::create_dir_all(&secrets).unwrap();
    sh(
        NAME,
        &secrets,
        "wharf key generate openpgp -o keys --name \"beacon releases\"",
        &[],
    )
    .success();
    let registry = crate::image::Registry::start(&tmp.path().join("registry"));
    let host = format!("127.0.0.1:{}", registry.port);
    let registry_url = format!("http://{host}");
    let mut stores = Vec::new();
    let mut clones = Vec::new();
    for at in ["a/clone", "elsewhere/deeper/b"] {
        let dir = tmp.path().join(at);
        run(Command::new("git").arg("clone").arg("-q").arg(&origin).arg(&dir)).success();
        copy_dir(&secrets.join("keys"), &dir.join("keys"));
        let store = tmp.path().join(format!("store-{}", stores.len()));
        let vars = [
            ("STORE", store.to_str().unwrap()),
            ("REGISTRY", registry_url.as_str()),
        ];
        sh(NAME, &dir, "cargo build --release --locked", &vars).success();
        let done = sh(
            NAME,
            &dir,
            "wharf release --to \"$STORE\" --push-image \"$REGISTRY/beacon\"",
            &vars,
        )
        .success();
        assert!(
            done.stderr.contains("Releasing beacon 25.1.0 (stable"),
            "{}",
            done.all()
        );
        stores.push(store);
        clones.push(dir);
    }
    let release = |store: &Path| tree(&store.join("releases/25.1.0"));
    let (a, b) = (release(&stores[0]), release(&stores[1]));
    assert!(a.len() >= 7, "{:?}", a.iter().map(|x| &x.0).collect::<Vec<_>>());
    for ((pa, x), (pb, y)) in a.iter().zip(&b) {
        assert_eq!(pa, pb);
        assert!(x == y, "releases/25.1.0/{pa} differs between the two clones");
    }
    assert_eq!(
        fs::read(clones[0].join("target/release/beacon")).unwrap(),
        fs::read(clones[1].join("target/release/beacon")).unwrap()
    );
    // The notes carry each file's checksum.
    let notes = read(&stores[0].join("releases/25.1.0/notes.md"));
    let deb = a.iter().find(|(p, _)| p.ends_with("_amd64.deb")).unwrap();
    let sum = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&deb.1));
    assert!(
        notes.contains(&format!("| `{}` |", deb.0)) && notes.contains(&sum),
        "{notes}"
    );
    // The image both pushed is the one both manifests list.
    let manifest: serde_json::Value =
        serde_json::from_str(&read(&stores[0].join("releases/25.1.0/manifest.json"))).unwrap();
    let raw = crate::image::raw_manifest(&format!("{host}/beacon:25.1.0")).expect("the image is tagged");
    assert_eq!(
        crate::image::digest_of(&raw),
        manifest["images"][0]["digest"].as_str().unwrap()
    );
    // The second machine's release into the first store: the same files, nothing in the release changes.
    let before = release(&stores[0]);
    sh(
        NAME,
        &clones[1],
        "wharf release --to \"$STORE\" --push-image \"$REGISTRY/beacon\"",
        &[
            ("STORE", stores[0].to_str().unwrap()),
            ("REGISTRY", registry_url.as_str()),
        ],
    )
    .success();
    assert!(
        release(&stores[0]) == before,
        "a reproduced release changed the published one"
    );
    // A rebuild checks against the published sums.
    let check = sh(
        NAME,
        &clones[1],
        "cd \"dist/$VERSION\" && sha256sum -c \"$STORE/releases/$VERSION/SHA256SUMS\"",
        &[("STORE", stores[0].to_str().unwrap()), ("VERSION", "25.1.0")],
    )
    .success();
    assert!(
        !check.stdout.contains("FAILED") && check.stdout.contains(": OK"),
        "{}",
        check.all()
    );
}
