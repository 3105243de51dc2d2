//! OCI images: pushed to Debian's `docker-registry` (the CNCF distribution server) on loopback, read back by
//! skopeo and unpacked by umoci; written as an OCI layout skopeo reads; the same digests from two clones;
//! a re-push uploads nothing.

use std::path::Path;
use std::process::{Child, Command, Stdio};

use wharf_test::{require, run, server_port, write};

use crate::{demo_project, wharf};

/// A `docker-registry serve` on 127.0.0.1, storing under `dir`; stopped on drop.
pub struct Registry {
    child: Child,
    pub port: u16,
}

impl Registry {
    pub fn start(dir: &Path) -> Self {
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
    // Docker's config.json (as `docker login` writes it) serves as well as the flags.
    let docker = t.path().join("docker");
    write(
        &docker.join("config.json"),
        format!(
            "{{\"auths\":{{\"127.0.0.1:{}\":{{\"auth\":\"cHVzaGVyOnMzY3JldA==\"}}}}}}",
            registry.port
        ),
    );
    let mut c = wharf(&dir);
    c.env("SOURCE_DATE_EPOCH", "1700000000")
        .env("DOCKER_CONFIG", &docker)
        .args([
            "image",
            "--plain-http",
            "--push",
            &format!("127.0.0.1:{}/demo/app:2.0", registry.port),
        ]);
    run(&mut c).success();
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

/// `skopeo inspect --raw` of `reference` on the plain-HTTP test registry, if it is there.
pub fn raw_manifest(reference: &str) -> Option<String> {
    let done = run(Command::new("skopeo")
        .args(["inspect", "--raw", "--tls-verify=false"])
        .arg(format!("docker://{reference}")));
    done.ok.then_some(done.stdout)
}

/// The sha256 digest of `text`.
pub fn digest_of(text: &str) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(text.as_bytes())))
}

/// A project of one package holding `/etc/os-release`: the base image of [`base_images_…`].
fn base_project(dir: &Path) {
    write(&dir.join("os-release"), "ID=wharf-base\n");
    write(
        &dir.join("wharf.toml"),
        r#"[project]
name = "base"
version = "1.0.0"
maintainer = "Demo Maintainer <demo@example.org>"
summary = "a base image"
description = "A base image built by wharf's tests."
license = "MIT"

[[package]]

[[package.files]]
src = "os-release"
dst = "/etc/os-release"

[image]
env = ["PATH=/usr/bin:/bin", "BASE=1"]
cmd = ["--base-default"]
"#,
    );
}

#[test]
fn images_on_a_base_image_mount_its_layers_and_refuse_a_missing_platform() {
    if !require(&["docker-registry", "skopeo", "umoci"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let registry = Registry::start(&t.path().join("registry"));
    let host = format!("127.0.0.1:{}", registry.port);
    // The base: amd64 only.
    let base_dir = t.path().join("base");
    base_project(&base_dir);
    let mut c = wharf(&base_dir);
    c.env("SOURCE_DATE_EPOCH", "1700000000").args([
        "--json",
        "image",
        "--target",
        TARGETS[0],
        "--push",
        &format!("{host}/team/base:1"),
        "--plain-http",
    ]);
    let base: serde_json::Value = serde_json::from_str(&run(&mut c).success().stdout).unwrap();
    let base_digest = base["index"].as_str().unwrap();

    let dir = t.path().join("proj");
    project(&dir);
    let cfg = dir.join("wharf.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        format!("{text}base = \"http://{host}/team/base@{base_digest}\"\n"),
    );
    // Small chunks: every blob of more than 512 bytes goes up in PATCHes.
    let reference = format!("{host}/team/app:1.0");
    let mut c = wharf(&dir);
    c.env("SOURCE_DATE_EPOCH", "1700000000").args([
        "--json",
        "image",
        "--target",
        TARGETS[0],
        "--push",
        &reference,
        "--push",
        &format!("{host}/team/mirror:1.0"),
        "--plain-http",
        "--chunk-size",
        "512",
    ]);
    let app: serde_json::Value = serde_json::from_str(&run(&mut c).success().stdout).unwrap();
    // The base's layer is mounted from its repository; the second repository mounts everything.
    let first = &app["pushes"][0]["pushed"];
    assert_eq!(first["mounted"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["uploaded"].as_array().unwrap().len(), 2, "{first}");
    let second = &app["pushes"][1]["pushed"];
    assert_eq!(second["mounted"].as_array().unwrap().len(), 3, "{second}");
    assert_eq!(second["uploaded"].as_array().unwrap().len(), 0, "{second}");

    // Both layers, as a runtime sees them: the base's file and the program; the base's env with wharf's.
    let copied = t.path().join("copied");
    run(Command::new("skopeo")
        .args(["copy", "--src-tls-verify=false"])
        .arg(format!("docker://{reference}"))
        .arg(format!("oci:{}:app", copied.display())))
    .success();
    let bundle = t.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:app", copied.display()))
        .arg(&bundle))
    .success();
    assert_eq!(
        std::fs::read_to_string(bundle.join("rootfs/etc/os-release")).unwrap(),
        "ID=wharf-base\n"
    );
    assert!(bundle.join("rootfs/usr/bin/demo").is_file());
    let config = run(Command::new("skopeo")
        .args(["inspect", "--config", "--tls-verify=false"])
        .arg(format!("docker://{reference}")))
    .success();
    let config: serde_json::Value = serde_json::from_str(&config.stdout).unwrap();
    assert_eq!(
        config["config"]["Env"],
        serde_json::json!(["PATH=/usr/bin:/bin", "BASE=1", "MODE=test"])
    );
    assert_eq!(config["config"]["Cmd"][0], "--serve");
    assert_eq!(config["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);

    // Both platforms: the base has no arm64 image, so nothing is built or pushed.
    let mut c = wharf(&dir);
    c.args(["image", "--push", &format!("{host}/team/app:2.0"), "--plain-http"]);
    for t in TARGETS {
        c.args(["--target", t]);
    }
    let refused = run(&mut c);
    assert!(
        !refused.ok
            && refused.stderr.contains(&format!(
                "the base image {host}/team/base@{base_digest} has no linux/arm64/v8 image (it has linux/amd64)"
            )),
        "{}",
        refused.all()
    );
    assert!(raw_manifest(&format!("{host}/team/app:2.0")).is_none());
}

#[test]
fn a_release_pushes_its_image_and_lists_it_by_digest() {
    if !require(&["docker-registry", "skopeo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let registry = Registry::start(&t.path().join("registry"));
    let host = format!("127.0.0.1:{}", registry.port);
    let dir = t.path().join("proj");
    project(&dir);
    let cfg = dir.join("wharf.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        format!("{text}push = [\"http://{host}/demo/app\"]\ntags = [\"{{version}}\", \"{{channel}}\"]\n"),
    );
    let store = t.path().join("public");
    let release = |extra: &[&str]| {
        let mut c = wharf(&dir);
        c.env("SOURCE_DATE_EPOCH", "1700000000")
            .args(["--json", "release", "--format", "deb", "--to"])
            .arg(&store);
        for t in TARGETS {
            c.args(["--target", t]);
        }
        serde_json::from_str::<serde_json::Value>(&run(c.args(extra)).success().stdout).unwrap()
    };
    let done = release(&["--version", "1.2.0"]);
    let image = &done["manifest"]["images"][0];
    assert_eq!(image["repository"], format!("{host}/demo/app"));
    assert_eq!(image["tags"], serde_json::json!(["1.2.0", "stable"]));
    assert_eq!(image["platforms"][1]["platform"], "linux/arm64/v8");
    let digest = image["digest"].as_str().unwrap();
    // Both tags name the index the manifest lists.
    for tag in ["1.2.0", "stable"] {
        let raw = raw_manifest(&format!("{host}/demo/app:{tag}")).expect("tagged");
        assert_eq!(digest_of(&raw), digest);
    }
    let pull = format!("docker pull {host}/demo/app@{digest}");
    let notes = std::fs::read_to_string(store.join("releases/1.2.0/notes.md")).unwrap();
    assert!(
        notes.contains("## Container images") && notes.contains(&pull),
        "{notes}"
    );
    let page = std::fs::read_to_string(store.join("index.html")).unwrap();
    // (The page escapes `/` as HTML does.)
    assert!(
        page.contains(&format!("<code>{}</code>", pull.replace('/', "&#x2f;"))),
        "{page}"
    );
    let manifest = std::fs::read_to_string(store.join("releases/1.2.0/manifest.json")).unwrap();
    assert!(manifest.contains(digest));

    // A draft pushes its image untagged; publishing the draft tags it.
    let draft = release(&["--version", "1.3.0", "--draft"]);
    let digest = draft["manifest"]["images"][0]["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(raw_manifest(&format!("{host}/demo/app:1.3.0")).is_none());
    assert!(raw_manifest(&format!("{host}/demo/app@{digest}")).is_some());
    let mut c = wharf(&dir);
    c.args(["release", "publish", "1.3.0", "--to"]).arg(&store);
    run(&mut c).success();
    let raw = raw_manifest(&format!("{host}/demo/app:1.3.0")).expect("tagged once published");
    assert_eq!(digest_of(&raw), digest);
}

#[test]
fn runc_runs_the_image_s_program() {
    if !require(&["umoci", "runc", "gcc"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("proj");
    project(&dir);
    // A static program, so that the image needs nothing else.
    let src = t.path().join("hello.c");
    write(
        &src,
        "#include <stdio.h>\nint main(int c, char **v) { printf(\"hello from %s\\n\", c > 1 ? v[1] : \"nowhere\"); return 0; }\n",
    );
    let program = dir.join(format!("target/{}/release/demo", TARGETS[0]));
    run(Command::new("gcc")
        .args(["-static", "-O2", "-o"])
        .arg(&program)
        .arg(&src))
    .success();
    let cfg = dir.join("wharf.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        text.replace("cmd = [\"--serve\"]", "cmd = [\"the image\"]")
            .replace("user = \"1000:1000\"\n", ""),
    );
    let layout = t.path().join("layout");
    let mut c = wharf(&dir);
    c.args(["image", "--target", TARGETS[0], "--oci-layout"])
        .arg(&layout);
    run(&mut c).success();
    let bundle = t.path().join("bundle");
    run(Command::new("umoci")
        .args(["unpack", "--image"])
        .arg(format!("{}:1.0.0", layout.display()))
        .arg(&bundle))
    .success();
    // As `docker run` without `-t`: no terminal.
    let spec = bundle.join("config.json");
    let mut config: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&spec).unwrap()).unwrap();
    config["process"]["terminal"] = serde_json::Value::Bool(false);
    write(&spec, config.to_string());
    let ran = run(Command::new("runc")
        .args(["run", "--bundle"])
        .arg(&bundle)
        .arg(format!("wharf-test-{}", std::process::id())));
    if !ran.ok && (ran.stderr.contains("permission denied") || ran.stderr.contains("operation not permitted"))
    {
        eprintln!(
            "runc cannot start a container on this machine, so the image is not run: {}",
            ran.stderr
        );
        return;
    }
    assert!(ran.ok, "{}", ran.all());
    assert_eq!(ran.stdout, "hello from the image\n");
}
