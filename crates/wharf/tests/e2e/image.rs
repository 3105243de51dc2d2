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
        Self::with_config(dir, &auth)
    }

    /// With `auth`, the `auth:` block of its configuration.
    fn with_config(dir: &Path, auth: &str) -> Self {
        let port = server_port();
        let config = dir.join("registry.yml");
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
    // Small chunks: the layer (the demo's 1.1 MB blob, incompressible) goes up in 17 PATCHes.
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
        "65536",
    ]);
    let app: serde_json::Value = serde_json::from_str(&run(&mut c).success().stdout).unwrap();
    // The base's layer is mounted from its repository; the second repository mounts everything.
    let first = &app["pushes"][0]["pushed"];
    assert_eq!(first["mounted"].as_array().unwrap().len(), 1, "{first}");
    assert_eq!(first["uploaded"].as_array().unwrap().len(), 2, "{first}");
    // Whole, the push would take 10 requests (HEAD, POST, PUT per upload; HEAD, POST per mount; two
    // manifests): the layer's 17 PATCHes are on top.
    assert!(first["requests"].as_u64().unwrap() >= 27, "{first}");
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

/// A token service as distribution's `token.md` describes one: `GET /token?service=…&scope=…` with the
/// user's basic credentials answers `{"token": JWT}`, the JWT (RS256, its certificate in `x5c`) granting
/// `access` to `repository`. Counts the requests it answered with a token.
struct TokenService {
    port: u16,
    issued: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

/// base64url without padding.
fn b64url(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

impl TokenService {
    /// Signs a token for `repository` with a key and certificate made in `dir` (the certificate written to
    /// `dir/cert.pem` for the registry's `rootcertbundle`), and serves it to `user:password`.
    fn start(dir: &Path, repository: &str, user: &str, password: &str) -> Self {
        use base64::Engine as _;
        std::fs::create_dir_all(dir).unwrap();
        run(Command::new("openssl")
            .args([
                "req",
                "-x509",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-days",
                "2",
                "-subj",
                "/CN=wharf-test-tokens",
            ])
            .arg("-keyout")
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("cert.pem")))
        .success();
        let der = run(Command::new("openssl")
            .args(["x509", "-outform", "DER", "-in"])
            .arg(dir.join("cert.pem"))
            .arg("-out")
            .arg(dir.join("cert.der")))
        .success();
        drop(der);
        let cert = std::fs::read(dir.join("cert.der")).unwrap();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let header = serde_json::json!({
            "typ": "JWT", "alg": "RS256",
            "x5c": [base64::engine::general_purpose::STANDARD.encode(&cert)],
        });
        let claims = serde_json::json!({
            "iss": "wharf-test-issuer", "sub": user, "aud": "wharf-test-registry",
            "exp": now + 3600, "nbf": now - 60, "iat": now - 60, "jti": "wharf-test",
            "access": [{ "type": "repository", "name": repository, "actions": ["pull", "push"] }],
        });
        let signing_input = format!(
            "{}.{}",
            b64url(header.to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        write(&dir.join("input"), &signing_input);
        run(Command::new("openssl")
            .args(["dgst", "-sha256", "-sign"])
            .arg(dir.join("key.pem"))
            .arg("-out")
            .arg(dir.join("sig"))
            .arg(dir.join("input")))
        .success();
        let token = format!(
            "{signing_input}.{}",
            b64url(&std::fs::read(dir.join("sig")).unwrap())
        );
        let expected = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let issued = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = issued.clone();
        std::thread::spawn(move || {
            use std::io::{BufRead as _, Write as _};
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = std::io::BufReader::new(stream.try_clone().unwrap());
                let mut authorized = false;
                let mut line = String::new();
                while reader.read_line(&mut line).is_ok_and(|n| n > 0) && line != "\r\n" {
                    if let Some((k, v)) = line.split_once(':')
                        && k.eq_ignore_ascii_case("authorization")
                    {
                        let v = v.trim();
                        authorized = v.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("basic "))
                            && v.get(6..) == Some(expected.as_str());
                    }
                    line.clear();
                }
                let (status, body) = if authorized {
                    count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    ("200 OK", format!("{{\"token\":\"{token}\",\"expires_in\":3600}}"))
                } else {
                    ("401 Unauthorized", "{}".to_owned())
                };
                let _ = write!(
                    stream,
                    "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
            }
        });
        Self { port, issued }
    }
}

#[test]
fn a_registry_with_token_auth_is_pushed_to_through_the_bearer_flow() {
    if !require(&["docker-registry", "skopeo", "openssl"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let tokens = TokenService::start(&t.path().join("tokens"), "demo/app", "pusher", "s3cret");
    let auth = format!(
        "auth:\n  token:\n    realm: http://127.0.0.1:{}/token\n    service: wharf-test-registry\n    issuer: wharf-test-issuer\n    rootcertbundle: {}\n",
        tokens.port,
        t.path().join("tokens/cert.pem").display()
    );
    let registry = Registry::with_config(&t.path().join("registry"), &auth);
    let reference = format!("127.0.0.1:{}/demo/app:1.0", registry.port);
    let dir = t.path().join("proj");
    project(&dir);
    let push = |password: &str| {
        let mut c = wharf(&dir);
        c.env("SOURCE_DATE_EPOCH", "1700000000")
            .env("WHARF_REGISTRY_PASSWORD", password)
            .args([
                "--json",
                "image",
                "--plain-http",
                "--registry-user",
                "pusher",
                "--push",
                &reference,
            ]);
        for t in TARGETS {
            c.args(["--target", t]);
        }
        run(&mut c)
    };
    // The token service refuses a wrong password: one error, nothing pushed.
    let refused = push("wrong");
    assert!(
        !refused.ok
            && refused
                .stderr
                .contains("the token service refused the credentials (HTTP 401)"),
        "{}",
        refused.all()
    );
    assert!(!refused.all().contains("wrong"), "{}", refused.all());
    assert_eq!(tokens.issued.load(std::sync::atomic::Ordering::SeqCst), 0);
    // The right one: a token, then the whole push with it.
    let done: serde_json::Value = serde_json::from_str(&push("s3cret").success().stdout).unwrap();
    assert_eq!(
        done["pushes"][0]["pushed"]["uploaded"].as_array().unwrap().len(),
        4,
        "{done}"
    );
    assert!(tokens.issued.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    // The registry serves the index to the token's holder (skopeo asks the same token service).
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
    assert_eq!(digest_of(&raw.stdout), done["index"].as_str().unwrap());
}

/// `GET /v2/<name>/blobs/<digest>` from the plain-HTTP test registry.
fn registry_blob(port: u16, name: &str, digest: &str) -> Vec<u8> {
    use std::io::{Read as _, Write as _};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    write!(
        s,
        "GET /v2/{name}/blobs/{digest} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"
    )
    .unwrap();
    let mut buf = Vec::new();
    s.read_to_end(&mut buf).unwrap();
    let split = buf.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    assert!(
        buf.starts_with(b"HTTP/1.0 200") || buf.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..split])
    );
    buf[split..].to_vec()
}

#[test]
fn each_platform_carries_an_spdx_sbom_found_through_the_referrers_tag() {
    if !require(&["docker-registry", "skopeo", "pyspdxtools"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let registry = Registry::start(&t.path().join("registry"));
    let reference = format!("127.0.0.1:{}/demo/app:1.0", registry.port);
    let dir = t.path().join("proj");
    project(&dir);
    let cfg = dir.join("wharf.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(&cfg, format!("{text}sbom = true\n"));
    let pushed = image(&dir, &["--push", &reference, "--plain-http"]);
    let referrers = pushed["referrers"].as_array().unwrap();
    assert_eq!(referrers.len(), 2, "{pushed}");
    for (r, target) in referrers.iter().zip(TARGETS) {
        // The fallback referrers tag of the platform's manifest lists the artifact, typed.
        let subject = r["subject"].as_str().unwrap();
        let tag = subject.replace(':', "-");
        let listed =
            raw_manifest(&format!("127.0.0.1:{}/demo/app:{tag}", registry.port)).expect("referrers tag");
        let listed: serde_json::Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(
            listed["manifests"][0]["artifactType"], "application/spdx+json",
            "{listed}"
        );
        assert_eq!(listed["manifests"][0]["digest"], r["manifest"]);
        let artifact = raw_manifest(&format!(
            "127.0.0.1:{}/demo/app@{}",
            registry.port,
            r["manifest"].as_str().unwrap()
        ))
        .unwrap();
        let artifact: serde_json::Value = serde_json::from_str(&artifact).unwrap();
        assert_eq!(artifact["subject"]["digest"], subject, "{artifact}");
        // The SBOM: valid SPDX 2.3 to the SPDX tools, the program with its checksum, from the package.
        let sbom = registry_blob(
            registry.port,
            "demo/app",
            artifact["layers"][0]["digest"].as_str().unwrap(),
        );
        let file = t.path().join(format!("{target}.spdx.json"));
        std::fs::write(&file, &sbom).unwrap();
        let valid = run(Command::new("pyspdxtools").arg("-i").arg(&file));
        assert!(
            valid.ok && !valid.all().to_lowercase().contains("invalid"),
            "{}",
            valid.all()
        );
        let doc: serde_json::Value = serde_json::from_slice(&sbom).unwrap();
        assert_eq!(doc["spdxVersion"], "SPDX-2.3");
        let program = std::fs::read(dir.join(format!("target/{target}/release/demo"))).unwrap();
        let sum = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(&program))
        };
        let entry = doc["files"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["fileName"] == "./usr/bin/demo")
            .expect("the program");
        assert_eq!(entry["checksums"][1]["checksumValue"], sum.as_str());
        let contains = doc["relationships"].as_array().unwrap().iter().any(|rel| {
            rel["spdxElementId"] == "SPDXRef-Package-demo"
                && rel["relationshipType"] == "CONTAINS"
                && rel["relatedSpdxElement"] == entry["SPDXID"]
        });
        assert!(contains, "{doc}");
    }
}
