//! OCI images: pushed to Debian's `docker-registry` (the CNCF distribution server) on loopback, read back by
//! skopeo and unpacked by umoci; written as an OCI layout skopeo reads; the same digests from two clones;
//! a re-push uploads nothing.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use wharf_test::{require, run, server_port, write};

use crate::{demo_project, wharf};

/// A `docker-registry serve` on 127.0.0.1, storing under `dir`; stopped on drop.
struct Registry {
    child: Child,
    port: u16,
}

impl Registry {
    fn start(dir: &Path) -> Self {
        Self::with_auth(dir, None)
    }

    /// With `htpasswd`, a registry that takes only that user (htpasswd's bcrypt line).
    fn with_auth(dir: &Path, htpasswd: Option<&str>) -> Self {
        let port = server_port();
        let config = dir.join("registry.yml");
        let auth = match htpasswd {
            Some(line) => {
                write(&dir.join("htpasswd"), line);
                format!(
                    "auth:\n  htpasswd:\n    realm: wharf-test\n    path: {}\n",
                    dir.join("htpasswd").display()
                )
            }
            None => String::new(),
        };
        write(
            &config,
            format!(
                "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{auth}",
                dir.join("data").display()
            ),
        );
        let child = Command::new("docker-registry")
            .arg("serve")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let start = std::time::Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(start.elapsed().as_secs() < 20, "docker-registry did not start");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Self { child, port }
    }
}

impl Drop for Registry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const TARGETS: [&str; 2] = ["x86_64-unknown-linux-musl", "aarch64-unknown-linux-musl"];

/// The demo project with a program per target.
fn project(dir: &Path) {
    let cfg = demo_project(dir);
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        format!(
            "{text}\n[image]\ncmd = [\"--serve\"]\nenv = [\"MODE=test\"]\nports = [\"8080/tcp\"]\nuser = \"1000:1000\"\nlabels = {{ \"org.opencontainers.image.source\" = \"https://example.org/src\" }}\n"
        ),
    );
    for t in TARGETS {
        write(
            &dir.join(format!("target/{t}/release/demo")),
            format!("#!/bin/sh\necho {t}\n"),
        );
    }
}

fn image(dir: &Path, extra: &[&str]) -> serde_json::Value {
    let mut c = wharf(dir);
    c.env("SOURCE_DATE_EPOCH", "1700000000").args(["--json", "image"]);
    for t in TARGETS {
        c.args(["--target", t]);
    }
    let done = run(c.args(extra)).success();
    serde_json::from_str(&done.stdout).unwrap()
}

#[test]
fn images_are_pushed_read_back_and_reproducible() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let registry = Registry::start(&t.path().join("registry"));
    let reference = format!("127.0.0.1:{}/demo/app:1.0", registry.port);
    let dir = t.path().join("proj");
    project(&dir);
    let layout = t.path().join("layout");
    let (oci_archive, docker_archive) = (t.path().join("image.oci.tar"), t.path().join("image.docker.tar"));
    let first = image(
        &dir,
        &[
            "--push",
            &reference,
            "--plain-http",
            "--oci-layout",
            layout.to_str().unwrap(),
            "--oci-archive",
            oci_archive.to_str().unwrap(),
            "--docker-archive",
            docker_archive.to_str().unwrap(),
        ],
    );
    // The archives, as skopeo reads them.
    let oci = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci-archive:{}:1.0", oci_archive.display())))
    .success();
    assert!(
        oci.stdout.contains("\"Architecture\": \"amd64\""),
        "{}",
        oci.stdout
    );
    let docker = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("docker-archive:{}", docker_archive.display())))
    .success();
    assert!(
        docker.stdout.contains("\"Architecture\": \"amd64\""),
        "{}",
        docker.stdout
    );
    let digest = first["index"].as_str().unwrap().to_owned();

    // The registry holds the index over both platforms, as skopeo reads it.
    let raw = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}")))
    .success();
    let index: serde_json::Value = serde_json::from_str(&raw.stdout).unwrap();
    assert_eq!(index["mediaType"], "application/vnd.oci.image.index.v1+json");
    let archs: Vec<&str> = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["platform"]["architecture"].as_str().unwrap())
        .collect();
    assert_eq!(archs, ["amd64", "arm64"]);
    assert_eq!(
        index["annotations"]["org.opencontainers.image.source"],
        "https://example.org/src"
    );
    // `[image]`'s run configuration, as a runtime reads it.
    let config = run(Command::new("skopeo")
        .args(["inspect", "--config", "--tls-verify=false"])
        .arg(format!("docker://{reference}")))
    .success();
    let config: serde_json::Value = serde_json::from_str(&config.stdout).unwrap();
    assert_eq!(config["config"]["Entrypoint"][0], "/usr/bin/demo");
    assert_eq!(config["config"]["Cmd"][0], "--serve");
    assert_eq!(config["config"]["Env"][0], "MODE=test");
    assert_eq!(config["config"]["User"], "1000:1000");
    assert!(
        config["config"]["ExposedPorts"]["8080/tcp"].is_object(),
        "{config}"
    );
    // The OCI layout too.
    let inspected = run(Command::new("skopeo")
        .arg("inspect")
        .arg(format!("oci:{}:1.0", layout.display())))
    .success();
    assert!(
        inspected.stdout.contains("\"Created\": \"2023-11-14T22:13:20Z\""),
        "{}",
        inspected.stdout
    );

    // Copied out for arm64 and unpacked by umoci: the arm64 program, executable, as the entrypoint.
    let copied = t.path().join("copied");
    run(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false", "--override-arch", "arm64"])
        .arg(format!("docker://{reference}"))
        .arg(format!("oci:{}:arm64", copied.display())))
    .success();
    let bundle = t.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:arm64", copied.display()))
        .arg(&bundle))
    .success();
    let program = bundle.join("rootfs/usr/bin/demo");
    assert_eq!(
        std::fs::read_to_string(&program).unwrap(),
        "#!/bin/sh\necho aarch64-unknown-linux-musl\n"
    );
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&program).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let config = std::fs::read_to_string(bundle.join("config.json")).unwrap();
    assert!(config.contains("\"/usr/bin/demo\""), "{config}");

    // Another clone elsewhere builds the same digests; pushing again uploads nothing.
    let other = t.path().join("elsewhere/proj");
    project(&other);
    let again = image(&other, &["--push", &reference, "--plain-http"]);
    assert_eq!(again["index"], digest.as_str());
    let pushed = &again["pushes"][0]["pushed"];
    assert_eq!(pushed["uploaded"].as_array().unwrap().len(), 0, "{pushed}");
    assert_eq!(pushed["present"].as_array().unwrap().len(), 4, "{pushed}");

    // An unreachable registry is one clear error.
    let mut c = wharf(&dir);
    c.args(["image", "--push", "127.0.0.1:9/demo/app:1.0", "--plain-http"]);
    let refused = run(&mut c);
    assert!(
        !refused.ok && refused.stderr.contains("cannot reach http://127.0.0.1:9"),
        "{}",
        refused.all()
    );
}

#[test]
fn a_registry_with_basic_auth_takes_the_right_credentials_only() {
    if !require(&["docker-registry", "skopeo", "htpasswd"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let line = run(Command::new("htpasswd").args(["-Bbn", "pusher", "s3cret"]))
        .success()
        .stdout;
    let registry = Registry::with_auth(&t.path().join("registry"), Some(&line));
    let reference = format!("127.0.0.1:{}/demo/app:1.0", registry.port);
    let dir = t.path().join("proj");
    project(&dir);
    let push = |password: &str| {
        let mut c = wharf(&dir);
        c.env("SOURCE_DATE_EPOCH", "1700000000")
            .env("WHARF_REGISTRY_PASSWORD", password)
            .args([
                "image",
                "--push",
                &reference,
                "--plain-http",
                "--registry-user",
                "pusher",
            ]);
        for t in TARGETS {
            c.args(["--target", t]);
        }
        run(&mut c)
    };
    let refused = push("wrong");
    assert!(
        !refused.ok && refused.stderr.contains("refused the credentials (HTTP 401)"),
        "{}",
        refused.all()
    );
    // Nothing half-pushed: the tag does not exist.
    let absent = run(Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "pusher:s3cret",
        ])
        .arg(format!("docker://{reference}")));
    assert!(!absent.ok, "{}", absent.all());
    push("s3cret").success();
    let raw = run(Command::new("skopeo")
        .args([
            "inspect",
            "--raw",
            "--tls-verify=false",
            "--creds",
            "pusher:s3cret",
        ])
        .arg(format!("docker://{reference}")))
    .success();
    assert!(
        raw.stdout.contains("application/vnd.oci.image.index.v1+json"),
        "{}",
        raw.stdout
    );
}
