//! `wharf serve` as a client sees it: raw HTTP/1.1 over loopback for path traversal, ranges, validators,
//! HEAD, methods and headers (RFC 9110), then apt-get and dnf installing through it, then a graceful stop.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use wharf_test::{Apt, Dnf, apt_problems, require, run, server_port, write};

use crate::s3::today;
use crate::{demo_project, wharf};

/// A running `wharf serve`; killed on drop if the test did not stop it.
pub(crate) struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// `wharf serve --from public` in `dir` on a fresh port.
    pub(crate) fn start(dir: &Path, extra: &[&str]) -> Self {
        Self::on_port(dir, server_port(), extra)
    }

    /// `wharf serve --from public` in `dir` on `port`.
    fn on_port(dir: &Path, port: u16, extra: &[&str]) -> Self {
        let mut cmd = wharf(dir);
        cmd.args([
            "serve",
            "--from",
            "public",
            "--listen",
            &format!("127.0.0.1:{port}"),
        ])
        .args(extra);
        Self::spawn(cmd, port)
    }

    /// Starts `cmd` (a `wharf serve` listening on `port`) and waits until it accepts connections.
    pub(crate) fn spawn(mut cmd: Command, port: u16) -> Self {
        let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "wharf serve did not start"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        Self { child, port }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A response: status, headers (lower-case names), body.
struct Reply {
    status: u16,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

/// Sends `head` (request line and headers, without the blank line) and reads the whole reply.
fn http(port: u16, head: &str) -> Reply {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    write!(s, "{head}\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n").unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block")
        + 4;
    let text = String::from_utf8_lossy(&buf[..split]).into_owned();
    let mut lines = text.lines();
    let status: u16 = lines.next().unwrap().split(' ').nth(1).unwrap().parse().unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(": "))
        .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
        .collect();
    Reply {
        status,
        headers,
        body: buf[split..].to_vec(),
    }
}

fn get(port: u16, path: &str, extra: &str) -> Reply {
    let extra = if extra.is_empty() {
        String::new()
    } else {
        format!("\r\n{extra}")
    };
    http(port, &format!("GET {path} HTTP/1.1{extra}"))
}

#[test]
fn serve_is_read_only_http_that_apt_and_dnf_install_through() {
    if !require(&["apt-get", "dnf"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let cfg = demo_project(dir);
    let mut text = fs::read_to_string(&cfg)
        .unwrap()
        .replace("[package.scripts]\npostinst = \"scripts/postinst\"\n", "");
    text.push_str("\n[rpm]\nrepos = [\"linux-x86_64\"]\n");
    write(&cfg, text);
    // Something outside the store a traversal would reach, and a symlink inside pointing at it.
    write(&dir.join("secret.txt"), "TOP SECRET\n");
    let port = server_port();
    let base = format!("http://127.0.0.1:{port}");
    run(wharf(dir).env("SOURCE_DATE_EPOCH", today()).args([
        "publish",
        "--format",
        "deb",
        "--format",
        "rpm",
        "--base-url",
        &base,
    ]))
    .success();
    std::os::unix::fs::symlink(dir.join("secret.txt"), dir.join("public/leak.txt")).unwrap();
    std::os::unix::fs::symlink(dir, dir.join("public/up")).unwrap();

    let mut server = Server::on_port(dir, port, &[]);

    // Traversal, in every spelling: never the secret.
    for path in [
        "/../secret.txt",
        "/%2e%2e/secret.txt",
        "/%2E%2E%2Fsecret.txt",
        "/dists/..%2f..%2fsecret.txt",
        "/..\\secret.txt",
        "/%5c..%5csecret.txt",
        "//secret.txt",
        "/%2fsecret.txt",
        "/secret.txt%00",
        "/leak.txt",
        "/up/secret.txt",
        "/.wharf/apt/state",
        "/.wharf/apt/state.json",
        &format!("{}/secret.txt", dir.display()),
    ] {
        let r = get(port, path, "");
        assert!(
            !String::from_utf8_lossy(&r.body).contains("TOP SECRET"),
            "{path} escaped the store"
        );
        assert!(matches!(r.status, 400 | 404), "{path}: {}", r.status);
    }

    // Validators and conditional requests (RFC 9110 §13).
    let inrelease = fs::read(dir.join("public/dists/stable/InRelease")).unwrap();
    let r = get(port, "/dists/stable/InRelease", "");
    assert_eq!((r.status, r.body.as_slice()), (200, inrelease.as_slice()));
    assert_eq!(r.header("cache-control"), Some("no-cache"));
    assert_eq!(r.header("content-type"), Some("text/plain; charset=utf-8"));
    assert_eq!(r.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
    assert!(r.header("strict-transport-security").is_none());
    let etag = r.header("etag").unwrap().to_owned();
    assert!(etag.starts_with('"') && etag.ends_with('"'), "{etag}");
    let last_modified = r.header("last-modified").unwrap().to_owned();
    let r304 = get(port, "/dists/stable/InRelease", &format!("If-None-Match: {etag}"));
    assert_eq!(r304.status, 304);
    assert!(r304.body.is_empty());
    assert_eq!(r304.header("etag"), Some(etag.as_str()));
    let r304 = get(
        port,
        "/dists/stable/InRelease",
        &format!("If-Modified-Since: {last_modified}"),
    );
    assert_eq!(r304.status, 304);
    // If-None-Match wins over If-Modified-Since (§13.2.2).
    let r200 = get(
        port,
        "/dists/stable/InRelease",
        &format!("If-None-Match: \"other\"\r\nIf-Modified-Since: {last_modified}"),
    );
    assert_eq!(r200.status, 200);

    // Ranges (§14).
    let deb_path = fs::read_dir(dir.join("public/pool/main/d/demo"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap();
    let deb = fs::read(&deb_path).unwrap();
    let deb_url = format!(
        "/{}",
        deb_path.strip_prefix(dir.join("public")).unwrap().display()
    );
    let r = get(port, &deb_url, "Range: bytes=0-9");
    assert_eq!(r.status, 206);
    assert_eq!(r.body, deb[..10]);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes 0-9/{}", deb.len()).as_str())
    );
    assert_eq!(
        r.header("cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(
        r.header("content-type"),
        Some("application/vnd.debian.binary-package")
    );
    let r = get(port, &deb_url, "Range: bytes=-7");
    assert_eq!((r.status, r.body.as_slice()), (206, &deb[deb.len() - 7..]));
    let r = get(port, &deb_url, &format!("Range: bytes={}-", deb.len()));
    assert_eq!(r.status, 416);
    assert_eq!(
        r.header("content-range"),
        Some(format!("bytes */{}", deb.len()).as_str())
    );
    let r = get(port, &deb_url, "Range: bytes=0-1,5-6");
    assert_eq!((r.status, r.body.len()), (200, deb.len()));
    // If-Range with a stale validator: the whole file.
    let r = get(port, &deb_url, "Range: bytes=0-9\r\nIf-Range: \"stale\"");
    assert_eq!((r.status, r.body.len()), (200, deb.len()));

    // HEAD: the GET's headers, no body.
    let h = http(port, &format!("HEAD {deb_url} HTTP/1.1"));
    assert_eq!(h.status, 200);
    assert_eq!(h.header("content-length"), Some(deb.len().to_string().as_str()));
    assert!(h.body.is_empty());
    // Only reading.
    let p = http(port, "POST /dists/stable/InRelease HTTP/1.1\r\nContent-Length: 0");
    assert_eq!(p.status, 405);
    assert_eq!(p.header("allow"), Some("GET, HEAD"));
    // A directory: a listing page with a CSP, links escaped; without the slash, a redirect.
    let l = get(port, "/dists/stable/", "");
    assert_eq!(l.status, 200);
    assert!(
        l.header("content-security-policy")
            .unwrap()
            .contains("default-src 'none'")
    );
    assert!(String::from_utf8_lossy(&l.body).contains("<a href=\"InRelease\">InRelease</a>"));
    let m = get(port, "/dists/stable", "");
    assert_eq!((m.status, m.header("location")), (301, Some("stable/")));

    // The real clients.
    let apt = Apt::new(
        &dir.join("apt"),
        &server.url(),
        "stable",
        "main",
        &dir.join("public/archive-keyring.gpg"),
    );
    let update = apt.update();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    let installed = apt.install(&["demo"]);
    assert!(apt_problems(&installed.all()).is_empty(), "{}", installed.all());
    assert!(apt.root().join("usr/bin/demo").is_file(), "{}", installed.all());
    let dnf = Dnf::new(
        &dir.join("dnf"),
        &format!("{}/linux-x86_64", server.url()),
        &format!("{}/RPM-GPG-KEY-demo", server.url()),
    );
    let d = dnf.run(&["install", "demo"]);
    assert_eq!(d.code, Some(0), "{}", d.all());
    assert!(dnf.root().join("usr/bin/demo").is_file(), "{}", d.all());

    // A graceful stop on SIGTERM; the access log has one JSON line per request, apt's and dnf's included.
    run(Command::new("kill").args(["-TERM", &server.child.id().to_string()])).success();
    let status = server.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    server
        .child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut log)
        .unwrap();
    let mut stderr = String::new();
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(stderr.contains("Stopped"), "{stderr}");
    let entries: Vec<serde_json::Value> = BufReader::new(log.as_bytes())
        .lines()
        .map(|l| serde_json::from_str(&l.unwrap()).unwrap())
        .collect();
    assert!(
        entries
            .iter()
            .any(|e| e["status"] == 206 && e["range"] == "bytes=0-9")
    );
    assert!(entries.iter().any(|e| e["status"] == 304));
    // Each entry's time (RFC 3339 in UTC, to the millisecond) and the client's address, as strings.
    for e in &entries {
        let time = e["time"].as_str().unwrap_or_default();
        assert!(
            time.len() == 24 && time.as_bytes()[10] == b'T' && time.ends_with('Z') && time.starts_with("20"),
            "{e}"
        );
        assert!(
            e["remote"].as_str().is_some_and(|r| r.starts_with("127.0.0.1:")),
            "{e}"
        );
    }
    assert!(entries.iter().any(|e| {
        e["user_agent"]
            .as_str()
            .is_some_and(|u| u.starts_with("Debian APT"))
    }));
    assert!(
        entries
            .iter()
            .any(|e| e["user_agent"].as_str().is_some_and(|u| u.contains("libdnf")))
    );
}

#[test]
fn hsts_when_asked_and_a_missing_store_is_one_error() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let missing = run(wharf(dir).args(["serve", "--from", "nowhere"]));
    assert_eq!(missing.code, Some(1));
    assert!(
        missing.stderr.contains("nowhere is not a directory"),
        "{}",
        missing.stderr
    );
    write(&dir.join("public/index.html"), "<!DOCTYPE html><title>x</title>");
    let server = Server::start(dir, &["--hsts", "365d"]);
    let r = get(server.port, "/", "");
    assert_eq!(r.status, 200);
    assert_eq!(r.header("strict-transport-security"), Some("max-age=31536000"));
    assert!(r.header("content-security-policy").is_some());
    assert_eq!(r.body, b"<!DOCTYPE html><title>x</title>");
}

/// Serving an S3 prefix (Garage): the store's blocking client runs off the server's async threads.
#[test]
fn serves_an_s3_prefix() {
    let Some(s) = crate::s3::setup(&["apt-get"]) else {
        return;
    };
    let proj = s.dir.join("proj");
    let port = server_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut publish = wharf(&proj);
    s.garage
        .env(&mut publish)
        .env("SOURCE_DATE_EPOCH", today())
        .args(["publish", "--to", &s.garage.url("srv"), "--base-url", &base]);
    run(&mut publish).success();
    let mut cmd = wharf(&proj);
    s.garage.env(&mut cmd).args([
        "serve",
        "--from",
        &s.garage.url("srv"),
        "--listen",
        &format!("127.0.0.1:{port}"),
    ]);
    let server = Server::spawn(cmd, port);
    let inrelease = s.garage.fetch("srv/dists/stable/InRelease").unwrap();
    let r = get(port, "/dists/stable/InRelease", "");
    let etag = r.header("etag").unwrap().to_owned();
    assert_eq!((r.status, r.body), (200, inrelease));
    let r304 = get(port, "/dists/stable/InRelease", &format!("If-None-Match: {etag}"));
    assert_eq!(r304.status, 304);
    assert_eq!(get(port, "/nothing-here", "").status, 404);
    // apt trusts the keyring the server hands out.
    write(
        &s.dir.join("keyring.gpg"),
        get(port, "/archive-keyring.gpg", "").body,
    );
    let apt = Apt::new(
        &s.dir.join("apt"),
        &server.url(),
        "stable",
        "main",
        &s.dir.join("keyring.gpg"),
    );
    let update = apt.update();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    let installed = apt.install(&["demo"]);
    assert!(apt.root().join("usr/bin/demo").is_file(), "{}", installed.all());
}

/// A bounded load run (wrk, 64 connections, 10 s per file) on a package and on `InRelease`: every
/// request answered 2xx, no socket error. Throughput is measured by `scripts/bench-serve`, not here.
#[test]
fn load_run_has_no_errors() {
    if !require(&["wrk"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    demo_project(dir);
    run(wharf(dir).env("SOURCE_DATE_EPOCH", today()).arg("publish")).success();
    let deb = fs::read_dir(dir.join("public/pool/main/d/demo"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .find(|n| n.ends_with(".deb"))
        .unwrap();
    // Nobody reads the access log (a piped stdout that fills up): the server must not stall on it.
    let server = Server::start(dir, &[]);
    for path in [
        format!("/pool/main/d/demo/{deb}"),
        "/dists/stable/InRelease".to_owned(),
    ] {
        let w = run(Command::new("wrk")
            .args(["-t2", "-c64", "-d10s"])
            .arg(format!("{}{path}", server.url())))
        .success();
        assert!(w.stdout.contains("Requests/sec:"), "{}", w.all());
        assert!(!w.stdout.contains("Socket errors"), "{path}: {}", w.stdout);
        assert!(!w.stdout.contains("Non-2xx"), "{path}: {}", w.stdout);
        let requests: u64 = w
            .stdout
            .lines()
            .find_map(|l| l.trim().split_once(" requests in "))
            .and_then(|(n, _)| n.trim().parse().ok())
            .unwrap_or(0);
        assert!(requests > 100, "{path}: {}", w.stdout);
    }
}

/// The server's resident memory, from /proc.
fn rss_kib(pid: u32) -> u64 {
    fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

#[test]
fn hostile_clients_are_bounded() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let public = dir.join("public");
    // A 512 MiB object (sparse: cheap to make, read at disk-cache speed), a channel's state, a loop.
    fs::create_dir_all(public.join("pool")).unwrap();
    let big = fs::File::create(public.join("pool/big.deb")).unwrap();
    big.set_len(512 << 20).unwrap();
    write(&public.join("dev/.wharf/rpm/state"), "{\"secret\":1}");
    write(&public.join("index.txt"), "hello\n");
    std::os::unix::fs::symlink("loop", public.join("loop")).unwrap();
    let server = Server::start(dir, &["--max-connections", "64"]);
    let port = server.port;

    // State is refused at any depth, not only at the root.
    for path in ["/dev/.wharf/rpm/state", "/dev/%2ewharf/rpm/state", "/a/.wharf/"] {
        let r = get(port, path, "");
        assert_eq!(r.status, 400, "{path}");
        assert!(!String::from_utf8_lossy(&r.body).contains("secret"));
    }
    // A store error says so without naming where the store is.
    let r = get(port, "/loop", "");
    assert_eq!(r.status, 502, "a symlink loop is a store error");
    let body = String::from_utf8_lossy(&r.body);
    assert!(!body.contains(&dir.display().to_string()), "{body}");
    // HEAD answers with the Content-Length GET sends, for generated responses too.
    for path in ["/", "/nope", "/pool", "/index.txt", "/dev/.wharf/rpm/state"] {
        let g = get(port, path, "");
        let h = http(port, &format!("HEAD {path} HTTP/1.1"));
        assert_eq!(g.status, h.status, "{path}");
        assert_eq!(
            h.header("content-length"),
            Some(g.body.len().to_string().as_str()),
            "{path}: HEAD {:?}, GET sent {}",
            h.header("content-length"),
            g.body.len()
        );
    }
    let r416 = get(port, "/index.txt", "Range: bytes=100-");
    let h416 = http(port, "HEAD /index.txt HTTP/1.1\r\nRange: bytes=100-");
    assert_eq!((r416.status, h416.status), (416, 416));
    assert_eq!(r416.header("content-length"), h416.header("content-length"));

    // One byte of a 512 MiB object, and four clients that ask for all of it and read nothing: the
    // server streams in bounded chunks instead of holding the object per request.
    let before = rss_kib(server.child.id());
    let one = get(port, "/pool/big.deb", "Range: bytes=0-0");
    assert_eq!((one.status, one.body.len()), (206, 1));
    let stalled: Vec<TcpStream> = (0..4)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
            write!(s, "GET /pool/big.deb HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_secs(2));
    let during = rss_kib(server.child.id());
    assert!(
        during < before + 64 * 1024,
        "RSS grew from {before} KiB to {during} KiB with four stalled 512 MiB downloads"
    );
    drop(stalled);

    // 200 connections that send half a request line and nothing more (slowloris) must not keep new
    // clients out: each new client takes the slot of the idlest connection.
    let loris: Vec<TcpStream> = (0..200)
        .filter_map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", port)).ok()?;
            s.write_all(b"GET / HTTP/1.1\r\nX-a: ").ok()?;
            Some(s)
        })
        .collect();
    assert!(loris.len() >= 100);
    std::thread::sleep(Duration::from_millis(500));
    for n in 0..11 {
        let started = Instant::now();
        let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        write!(
            s,
            "GET /index.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut buf = Vec::new();
        let read = s.read_to_end(&mut buf);
        assert!(
            read.is_ok() && buf.starts_with(b"HTTP/1.1 200"),
            "probe {n} starved after {:?}: {read:?} {}",
            started.elapsed(),
            String::from_utf8_lossy(&buf)
        );
    }
    drop(loris);
}
