//! What a release ships beyond packages, and how a project that is not built by Cargo names its build
//! outputs: `{target}`, `{arch}` and `{rpm-arch}` in a source path.

use std::path::Path;
use std::process::Command;

use wharf_test::{require, run, write};

use crate::wharf;

/// A project built by something else than Cargo (Nimbus' `build/<target>/nimbus` shape).
fn make_project(dir: &Path, src: &str) {
    write(
        &dir.join("wharf.toml"),
        format!(
            "[project]\nname = \"tool\"\nversion = \"1.0.0\"\nmaintainer = \"M <m@example.org>\"\nsummary = \"a tool\"\n\n[[package]]\n[[package.files]]\nsrc = \"{src}\"\ndst = \"/usr/bin/tool\"\nmode = \"0755\"\n"
        ),
    );
}

/// The bytes a .deb installs at `path`.
fn installed(deb: &Path, path: &str) -> String {
    let dir = deb.with_extension("x");
    std::fs::create_dir_all(&dir).unwrap();
    run(Command::new("dpkg-deb").arg("-x").arg(deb).arg(&dir)).success();
    std::fs::read_to_string(dir.join(path.trim_start_matches('/'))).unwrap()
}

#[test]
fn source_paths_name_the_target() {
    if !require(&["dpkg-deb"]) {
        return;
    }
    let t = tempfile::tempdir().unwrap();
    for (src, dirs) in [
        (
            "build/{target}/tool",
            [
                "build/x86_64-unknown-linux-musl/tool",
                "build/aarch64-unknown-linux-musl/tool",
            ],
        ),
        ("out/{arch}/tool", ["out/amd64/tool", "out/arm64/tool"]),
        ("bin/tool-{rpm-arch}", ["bin/tool-x86_64", "bin/tool-aarch64"]),
    ] {
        let dir = t.path().join(src.replace(['/', '{', '}'], "_"));
        make_project(&dir, src);
        for d in dirs {
            write(&dir.join(d), format!("#!/bin/sh\necho {d}\n"));
        }
        run(wharf(&dir).args([
            "package",
            "--format",
            "deb",
            "--target",
            "x86_64-unknown-linux-musl",
            "--target",
            "aarch64-unknown-linux-musl",
        ]))
        .success();
        let amd64 = installed(&dir.join("dist/tool_1.0.0_amd64.deb"), "/usr/bin/tool");
        let arm64 = installed(&dir.join("dist/tool_1.0.0_arm64.deb"), "/usr/bin/tool");
        assert_eq!(amd64, format!("#!/bin/sh\necho {}\n", dirs[0]), "{src}");
        assert_eq!(arm64, format!("#!/bin/sh\necho {}\n", dirs[1]), "{src}");
    }
    // Without --target, the host's triple.
    let dir = t.path().join("host");
    make_project(&dir, "build/{target}/tool");
    write(
        &dir.join(format!("build/{}/tool", wharf_core::host_triple())),
        "#!/bin/sh\necho host\n",
    );
    run(wharf(&dir).args(["package", "--format", "deb"])).success();
    // A placeholder wharf does not know is named, with the ones it does.
    let dir = t.path().join("unknown");
    make_project(&dir, "build/{triple}/tool");
    let refused = run(wharf(&dir).args(["package", "--format", "deb"]));
    assert!(!refused.ok);
    assert!(
        refused
            .stderr
            .contains("`{triple}` is not a placeholder wharf knows: use {target}, {arch} or {rpm-arch}"),
        "{}",
        refused.stderr
    );
}
