//! The compressed layouts wharf writes, read by the reference tools: gzip and xz-utils take an index
//! document of many carried-over blocks (wharf_index::blocks) as one stream, and a payload whose large
//! file was spliced in (wharf_package::splice) is what GNU tar and dpkg-deb extract.

use std::fs;
use std::process::Command;

use wharf_test::{TempDir, require, run};

use crate::{demo_binary, demo_project, wharf_run};

fn packages(n: u32) -> String {
    (0..n)
        .map(|i| format!("Package: p{i:05}\nVersion: 1.{i}\nArchitecture: amd64\nDescription: package {i}\n"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn gzip_and_xz_read_index_blocks() {
    if !require(&["gzip", "xz"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let before = packages(20_000);
    let after = packages(20_001);
    let (xz1, _) = wharf_index::blocks::xz(&before, "\n\n", None).unwrap();
    let (gz1, _) = wharf_index::blocks::gz(&before, "\n\n", None).unwrap();
    // The second version carries blocks over from the first.
    let (xz2, carried_xz) = wharf_index::blocks::xz(&after, "\n\n", Some((before.as_bytes(), &xz1))).unwrap();
    let (gz2, carried_gz) = wharf_index::blocks::gz(&after, "\n\n", Some(&gz1)).unwrap();
    assert!(carried_xz >= 2 && carried_gz >= 2, "{carried_xz} / {carried_gz}");
    for (name, bytes, tool, want) in [
        ("a.xz", &xz1, "xz", &before),
        ("b.xz", &xz2, "xz", &after),
        ("a.gz", &gz1, "gzip", &before),
        ("b.gz", &gz2, "gzip", &after),
    ] {
        let path = t.path().join(name);
        fs::write(&path, bytes).unwrap();
        run(Command::new(tool).arg("-t").arg(&path)).success();
        let out = run(Command::new(tool).arg("-dc").arg(&path)).success();
        assert!(out.stdout == *want, "{name}: {tool} -dc gives other bytes");
    }
}

#[test]
fn spliced_payloads_extract_with_tar_and_dpkg_deb() {
    if !require(&["dpkg-deb", "tar", "gzip"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    let out = dir.join("dist");
    wharf_run(
        dir,
        &[
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "--format",
            "deb",
            "--format",
            "ipk",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .success();
    let find = |ext: &str| {
        fs::read_dir(&out)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                let name = p.file_name().unwrap().to_string_lossy().into_owned();
                name.starts_with("demo_") && name.ends_with(ext)
            })
            .unwrap()
    };
    let deb = find(".deb");
    let x = dir.join("x");
    run(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x)).success();
    assert_eq!(fs::read(x.join("usr/bin/demo")).unwrap(), demo_binary());
    // The .ipk's data member: GNU tar through gzip, checked member by member (`gzip -t`).
    let ipk = find(".ipk");
    let y = dir.join("y");
    fs::create_dir_all(&y).unwrap();
    run(Command::new("tar").arg("-xzf").arg(&ipk).arg("-C").arg(&y)).success();
    run(Command::new("gzip").arg("-t").arg(y.join("data.tar.gz"))).success();
    run(Command::new("tar")
        .arg("-xzf")
        .arg(y.join("data.tar.gz"))
        .arg("-C")
        .arg(&y))
    .success();
    assert_eq!(fs::read(y.join("usr/bin/demo")).unwrap(), demo_binary());
}
