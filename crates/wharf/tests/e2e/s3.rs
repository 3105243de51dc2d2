//! Publishing to a real S3 server (Garage 2.5, started on loopback by the harness): all five repository
//! kinds, read back through Garage's web endpoint by apt-get and dnf; concurrent publishers; bad stores.

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use wharf_test::{Apt, Dnf, Garage, TempDir, apt_problems, require, tree, write};

use crate::{demo_project, wharf};

/// One fixed clock value per test run, recent enough that the demo's `valid-for-days = 7` has not passed.
pub(crate) fn today() -> String {
    static TODAY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    TODAY
        .get_or_init(|| {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs();
            (now - now % 86_400).to_string()
        })
        .clone()
}

/// A Garage, a scratch directory and the five-kind demo project in it.
pub(crate) struct Setup {
    pub garage: Garage,
    pub cfg: PathBuf,
    pub dir: PathBuf,
    /// Keeps the scratch directory alive as long as the setup.
    _tmp: TempDir,
}

/// Checks the client `tools`, starts Garage and writes the demo project (`None`: skipped knowingly).
pub(crate) fn setup(tools: &[&str]) -> Option<Setup> {
    if !require(tools) {
        return None;
    }
    let garage = Garage::start()?;
    let t = TempDir::new().unwrap();
    let dir = t.path().to_path_buf();
    let cfg = five_kind_project(&dir.join("proj"));
    Some(Setup {
        garage,
        cfg,
        dir,
        _tmp: t,
    })
}

/// `wharf` with the Garage credentials and today's fixed date.
pub(crate) fn on_garage(dir: &Path, garage: &Garage) -> Command {
    let mut c = wharf(dir);
    garage.env(&mut c).env("SOURCE_DATE_EPOCH", today());
    c
}

/// The demo project with a musl binary too, so one project yields all five kinds.
pub(crate) fn five_kind_project(dir: &Path) -> PathBuf {
    let cfg = demo_project(dir);
    write(
        &dir.join("target/x86_64-unknown-linux-musl/release/demo"),
        crate::demo_binary(),
    );
    cfg
}

/// Packages all five kinds; returns the files.
fn package_all(dir: &Path, cfg: &Path) -> Vec<String> {
    let c = cfg.to_str().unwrap();
    let mut files = Vec::new();
    for args in [
        vec!["package", "-c", c, "--format", "deb", "--format", "rpm"],
        vec![
            "package",
            "-c",
            c,
            "--format",
            "ipk",
            "--format",
            "apk",
            "--format",
            "apk3",
            "--target",
            "x86_64-unknown-linux-musl",
        ],
    ] {
        let d = wharf_test::run(wharf(dir).env("SOURCE_DATE_EPOCH", today()).args(&args)).success();
        files.extend(d.stdout.lines().map(str::to_owned));
    }
    files
}

/// `wharf publish` of `files` into `to`, with the project's throwaway keys, at today's fixed date.
fn publish_cmd(dir: &Path, cfg: &Path, to: &str, base: &str, files: &[String]) -> Command {
    let mut c = wharf(dir);
    c.env("SOURCE_DATE_EPOCH", today())
        .args([
            "publish",
            "-c",
            cfg.to_str().unwrap(),
            "--to",
            to,
            "--base-url",
            base,
            "--sign",
        ])
        .args(files);
    c
}

#[test]
fn five_kinds_on_garage_equal_a_directory_and_install_through_its_web_endpoint() {
    let Some(s) = setup(&["apt-get", "dnf"]) else {
        return;
    };
    let (garage, cfg, dir) = (&s.garage, &s.cfg, s.dir.as_path());
    let files = package_all(dir, cfg);
    assert_eq!(files.len(), 10, "{files:?}");
    let base = garage.web_url("r");

    // The same packages into a directory and into the bucket: the same bytes, object for object.
    wharf_test::run(&mut publish_cmd(dir, cfg, "local", &base, &files)).success();
    let s3 = wharf_test::run(
        garage
            .env(&mut publish_cmd(dir, cfg, &garage.url("r"), &base, &files))
            .arg("-v"),
    )
    .success();
    assert!(
        s3.stderr
            .contains("conditional writes ignored by this store: ticket lock"),
        "the probe must find Garage ignores If-None-Match:\n{}",
        s3.stderr
    );
    let local = tree(&dir.join("local"));
    let names: Vec<&str> = local.iter().map(|(p, _)| p.as_str()).collect();
    for kind in [
        "dists/stable/InRelease",
        "linux-x86_64/repodata/repomd.xml.asc",
        "opkg/x86_64/Packages.sig",
        "apk/x86_64/APKINDEX.tar.gz",
        "apk3/x86_64/packages.adb",
    ] {
        assert!(names.contains(&kind), "{kind} missing: {names:?}");
    }
    for (path, bytes) in &local {
        if path == ".wharf/lock" {
            continue;
        }
        let got = garage.fetch(&format!("r/{path}"));
        assert!(
            got.as_deref() == Some(bytes.as_slice()),
            "{path} differs in the bucket"
        );
    }

    // apt-get and dnf install from the bucket through Garage's web endpoint.
    let apt = Apt::new(
        &dir.join("apt"),
        &base,
        "stable",
        "main",
        &dir.join("local/archive-keyring.gpg"),
    );
    let update = apt.update().success();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    assert!(
        update.all().contains(&format!("Get:1 {base} stable InRelease")),
        "{}",
        update.all()
    );
    apt.install(&["demo"]).success();
    assert!(
        fs::read_to_string(apt.root().join("usr/bin/demo"))
            .unwrap()
            .contains("demo says hi")
    );
    let dnf = Dnf::new(
        &dir.join("dnf"),
        &format!("{base}/linux-x86_64"),
        &format!("{base}/RPM-GPG-KEY-demo"),
    );
    // (`demo` itself has a postinst, so rpm wants /bin/sh, which the empty root lacks.)
    let ok = dnf.run(&["install", "demo-data"]).success();
    assert!(ok.all().contains("Complete!"), "{}", ok.all());
    assert!(dnf.root().join("usr/share/demo-data/example.conf").is_file());
}

/// A project of `n` tiny packages named `<prefix>-<i>`, packaged as deb and rpm; returns the files.
fn many_packages(dir: &Path, prefix: &str, n: usize) -> Vec<String> {
    let mut toml = String::from(
        "[project]\nname = \"many\"\nversion = \"1.0.0\"\nmaintainer = \"M <m@example.org>\"\nsummary = \"many\"\ndescription = \"Many packages.\"\nlicense = \"MIT\"\n",
    );
    for i in 0..n {
        toml.push_str(&format!(
            "\n[[package]]\nname = \"{prefix}-{i}\"\nsummary = \"package {i} of {prefix}\"\n[[package.files]]\nsrc = \"data.txt\"\ndst = \"/usr/share/{prefix}-{i}/data.txt\"\n"
        ));
    }
    write(&dir.join("data.txt"), format!("{prefix}\n"));
    write(&dir.join("wharf.toml"), toml);
    let out = dir.join("dist");
    let d = wharf_test::run(
        wharf(dir)
            .args(["package", "--format", "deb", "--format", "rpm", "-o"])
            .arg(&out),
    )
    .success();
    let files: Vec<String> = d.stdout.lines().map(str::to_owned).collect();
    assert_eq!(files.len(), 2 * n, "{}", d.all());
    files
}

/// Names listed in apt's Packages and rpm's primary.xml of a published tree.
fn listed(local: &[(String, Vec<u8>)]) -> (BTreeSet<String>, BTreeSet<String>) {
    let text = |suffix: &str| -> String {
        local
            .iter()
            .filter(|(p, _)| p.ends_with(suffix) && !p.contains("by-hash"))
            .map(|(_, b)| String::from_utf8_lossy(b).into_owned())
            .collect()
    };
    let debs = text("binary-amd64/Packages")
        .lines()
        .filter_map(|l| l.strip_prefix("Package: ").map(str::to_owned))
        .collect();
    let mut rpms = BTreeSet::new();
    for (p, b) in local.iter().filter(|(p, _)| p.ends_with("-primary.xml.gz")) {
        let _ = p;
        let mut xml = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&b[..]), &mut xml).unwrap();
        rpms.extend(
            xml.split("<name>")
                .skip(1)
                .map(|s| s.split('<').next().unwrap().to_owned()),
        );
    }
    (debs, rpms)
}

/// The eight batches of 25 packages a race publishes (`p0`…`p7` under `dir`), the signing key
/// (`key/secret.asc`) and the keyring apt trusts it by (`keyring.gpg`, exported by a probe publish).
pub(crate) fn race_batches(dir: &Path) -> Vec<Vec<String>> {
    wharf_test::throwaway_key(&dir.join("key"));
    let batches: Vec<Vec<String>> = (0..8)
        .map(|b| many_packages(&dir.join(format!("p{b}")), &format!("r{b}"), 25))
        .collect();
    let probe = dir.join("probe");
    wharf_test::run(wharf(dir).args([
        "publish",
        "--to",
        probe.to_str().unwrap(),
        "--key",
        dir.join("key/secret.asc").to_str().unwrap(),
        &batches[0][0],
    ]))
    .success();
    fs::copy(probe.join("archive-keyring.gpg"), dir.join("keyring.gpg")).unwrap();
    batches
}

/// Eight publishers of 25 packages each start at once; every one of the 200 must be listed in the end.
fn race(dir: &Path, garage: Option<&Garage>, round: usize, batches: &[Vec<String>]) {
    let to = match garage {
        Some(g) => g.url(&format!("race{round}")),
        None => dir.join(format!("race{round}")).display().to_string(),
    };
    let key = dir.join("key/secret.asc");
    let children: Vec<Child> = batches
        .iter()
        .map(|files| {
            let mut c = wharf(dir);
            if let Some(g) = garage {
                g.env(&mut c);
            }
            c.args(["publish", "--to", &to, "--key", key.to_str().unwrap()])
                .args(files)
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a publisher failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // Read the result the way clients do: through the web endpoint, or the directory.
    let web_or_dir = match garage {
        Some(g) => {
            let get = |k: &str| g.fetch(&format!("race{round}/{k}"));
            let state = wharf_publish::state::read_json(&get, ".wharf/apt/state").unwrap();
            assert_eq!(
                state["groups"]["stable"].as_array().unwrap().len(),
                200,
                "apt state"
            );
            let get = |k: &str| g.fetch(&format!("race{round}/{k}"));
            let state = wharf_publish::state::read_json(&get, ".wharf/rpm/state").unwrap();
            assert_eq!(
                state["groups"]["linux-x86_64"].as_array().unwrap().len(),
                200,
                "rpm state"
            );
            g.web_url(&format!("race{round}"))
        }
        None => {
            let local = tree(Path::new(&to));
            let (debs, rpms) = listed(&local);
            assert_eq!((debs.len(), rpms.len()), (200, 200), "indexes of {to}");
            format!("file://{to}")
        }
    };
    // apt and dnf see all 200.
    let apt = Apt::new(
        &dir.join(format!("apt{round}{}", garage.is_some())),
        &web_or_dir,
        "stable",
        "main",
        &dir.join("keyring.gpg"),
    );
    let update = apt.update().success();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    let names = apt.cmd("apt-cache", &["pkgnames", "r"]).success().stdout;
    assert_eq!(names.lines().count(), 200, "apt-cache pkgnames:\n{names}");
    let dnf = Dnf::new(
        &dir.join(format!("dnf{round}{}", garage.is_some())),
        &format!("{web_or_dir}/linux-x86_64"),
        &format!("{web_or_dir}/RPM-GPG-KEY-wharf"),
    );
    let avail = dnf
        .run(&["repoquery", "--available", "--qf", "%{name}\\n"])
        .success()
        .stdout;
    let rpm_names: BTreeSet<&str> = avail.lines().filter(|l| l.starts_with('r')).collect();
    assert_eq!(rpm_names.len(), 200, "dnf repoquery:\n{avail}");
}

#[test]
fn eight_concurrent_publishers_lose_nothing_on_garage_and_in_a_directory() {
    let Some(s) = setup(&["apt-get", "dnf"]) else {
        return;
    };
    let (garage, dir) = (&s.garage, s.dir.as_path());
    let batches = race_batches(dir);
    for round in 0..5 {
        race(dir, None, round, &batches);
        race(dir, Some(garage), round, &batches);
    }
}

#[test]
fn unusable_stores_are_one_clear_error_and_nothing_is_written() {
    let Some(s) = setup(&[]) else {
        return;
    };
    let (garage, cfg, dir) = (&s.garage, &s.cfg, s.dir.as_path());
    let files = package_all(dir, cfg);
    let base = garage.web_url("x");
    let dead = format!("http://127.0.0.1:{}", wharf_test::free_port());
    type Case<'a> = (&'a str, Vec<(&'a str, String)>, &'a str);
    let cases: [Case<'_>; 3] = [
        (
            "unreachable endpoint",
            vec![("AWS_ENDPOINT_URL", dead)],
            "cannot reach http://127.0.0.1:",
        ),
        (
            "wrong credentials",
            vec![("AWS_SECRET_ACCESS_KEY", "0".repeat(64))],
            "refused the credentials",
        ),
        ("missing bucket", vec![], "bucket `nosuchbucket` does not exist"),
    ];
    for (what, env, needle) in cases {
        let to = if what == "missing bucket" {
            "s3://nosuchbucket/x".to_owned()
        } else {
            garage.url("x")
        };
        let mut c = publish_cmd(dir, cfg, &to, &base, &files);
        garage.env(&mut c);
        for (k, v) in env {
            c.env(k, v);
        }
        let d = wharf_test::run(&mut c);
        assert_eq!(d.code, Some(1), "{what}: {}", d.all());
        let errors: Vec<&str> = d.stderr.lines().filter(|l| l.starts_with("error:")).collect();
        assert_eq!(errors.len(), 1, "{what}: {}", d.stderr);
        assert!(errors[0].contains(needle), "{what}: {}", d.stderr);
        assert!(
            garage.fetch("x/.wharf/apt/state").is_none(),
            "{what}: something was written"
        );
    }
}

#[test]
fn a_live_lock_makes_the_next_publisher_wait_with_a_bounded_timeout() {
    let Some(s) = setup(&[]) else {
        return;
    };
    let (garage, cfg, dir) = (&s.garage, &s.cfg, s.dir.as_path());
    let files = package_all(dir, cfg);
    let debs: Vec<String> = files.iter().filter(|f| f.ends_with(".deb")).cloned().collect();
    let base = garage.web_url("w");
    for to in [garage.url("w"), dir.join("w").display().to_string()] {
        // The first publisher holds the lock for 4 s (paused at a failpoint), renewing it meanwhile.
        let mut first = publish_cmd(dir, cfg, &to, &base, &debs);
        garage
            .env(&mut first)
            .env("WHARF_FAILPOINT", "apt:planned")
            .env("WHARF_FAILPOINT_SLEEP", "4");
        let first = first
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(1500));
        let mut impatient = publish_cmd(dir, cfg, &to, &base, &debs);
        garage.env(&mut impatient).args(["--lock-wait", "1s"]);
        let d = wharf_test::run(&mut impatient);
        assert_eq!(d.code, Some(1), "{}", d.all());
        assert!(
            d.stderr.contains("another publish holds the lock") && d.stderr.contains("within 1s"),
            "{}",
            d.stderr
        );
        let mut patient = publish_cmd(dir, cfg, &to, &base, &debs);
        garage.env(&mut patient).args(["--lock-wait", "60s"]);
        let d = wharf_test::run(&mut patient).success();
        let out = first.wait_with_output().unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            d.stderr.contains("unchanged") || d.stderr.contains("Signed"),
            "{}",
            d.stderr
        );
    }
}

/// An S3 store without credentials says so, instead of reporting the instance-metadata address the client
/// falls back to as an unreachable endpoint.
#[test]
fn s3_without_credentials_says_so() {
    let t = wharf_test::TempDir::new().unwrap();
    let dir = t.path();
    let cfg = crate::demo_project(&dir.join("proj"));
    let mut cmd = crate::wharf(dir);
    for v in [
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_ENDPOINT_URL",
    ] {
        cmd.env_remove(v);
    }
    cmd.args(["publish", "-c", cfg.to_str().unwrap(), "--to", "s3://bucket/repo"])
        .args([
            "--s3-endpoint",
            &format!("http://127.0.0.1:{}", wharf_test::free_port()),
        ])
        .args(["--s3-region", "garage"]);
    let d = wharf_test::run(&mut cmd);
    assert_eq!(d.code, Some(1), "{}", d.all());
    assert!(
        d.stderr
            .contains("no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{}",
        d.stderr
    );
    assert!(!d.stderr.contains("169.254"), "{}", d.stderr);
}
