//! Two runs with the same inputs and SOURCE_DATE_EPOCH give byte-identical packages and repositories.

use wharf_test::{TempDir, throwaway_key, tree};

use crate::{demo_project, wharf};

#[test]
fn same_inputs_same_bytes() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let key = throwaway_key(&dir.join("key"));
    let mut results = Vec::new();
    for run in ["one", "two"] {
        // Separate project copies: nothing may depend on paths or file times.
        let cfg = demo_project(&dir.join(format!("proj-{run}")));
        let out = dir.join(format!("dist-{run}"));
        let repo = dir.join(format!("repo-{run}"));
        let pkg = wharf_test::run(wharf(dir).env("SOURCE_DATE_EPOCH", "1700000000").args([
            "package",
            "-c",
            cfg.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]))
        .success();
        let debs: Vec<&str> = pkg.stdout.lines().collect();
        assert_eq!(debs.len(), 2, "{}", pkg.stdout);
        wharf_test::run(
            wharf(dir)
                .env("SOURCE_DATE_EPOCH", "1700000000")
                .args([
                    "publish",
                    "--to",
                    repo.to_str().unwrap(),
                    "--key",
                    key.to_str().unwrap(),
                ])
                .args(&debs),
        )
        .success();
        results.push((tree(&out), tree(&repo)));
        std::thread::sleep(std::time::Duration::from_millis(1100));
    }
    let (a, b) = (&results[0], &results[1]);
    assert_eq!(a.0.len(), 2);
    for ((pa, ba), (pb, bb)) in a.0.iter().zip(&b.0) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{pa} differs between runs");
    }
    let names: Vec<&str> = a.1.iter().map(|(p, _)| p.as_str()).collect();
    for must in [
        "dists/stable/InRelease",
        "dists/stable/Release",
        "dists/stable/Release.gpg",
        "dists/stable/main/binary-amd64/Packages",
        "dists/stable/main/binary-amd64/Packages.gz",
        "dists/stable/main/binary-amd64/Packages.xz",
    ] {
        assert!(names.contains(&must), "{must} missing: {names:?}");
    }
    assert_eq!(a.1.len(), b.1.len());
    for ((pa, ba), (pb, bb)) in a.1.iter().zip(&b.1) {
        assert_eq!(pa, pb);
        assert!(ba == bb, "{pa} differs between runs");
    }
    let release = String::from_utf8(
        a.1.iter()
            .find(|(p, _)| p == "dists/stable/Release")
            .unwrap()
            .1
            .clone(),
    )
    .unwrap();
    assert!(
        release.contains("Date: Tue, 14 Nov 2023 22:13:20 UTC"),
        "{release}"
    );
}
