//! Several suites, components and architectures in one repository.

use std::fs;

use wharf_test::{Apt, TempDir, apt_problems, nfpm_deb, require, throwaway_key, write};

use crate::{demo_project, wharf_run};

#[test]
fn suites_components_and_architectures() {
    if !require(&["apt-get", "nfpm"]) {
        return;
    }
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let cfg = demo_project(&dir.join("proj"));
    write(
        &dir.join("proj/target/aarch64-unknown-linux-gnu/release/demo"),
        "#!/bin/sh\necho arm\n",
    );
    write(
        &dir.join("proj/target/x86_64-unknown-linux-gnu/release/demo"),
        "#!/bin/sh\necho x86\n",
    );
    let key = throwaway_key(&dir.join("key"));
    let c = cfg.to_str().unwrap();
    let k = key.to_str().unwrap();
    let out = wharf_run(
        dir,
        &[
            "publish",
            "-c",
            c,
            "--to",
            "repo",
            "--key",
            k,
            "--target",
            "x86_64-unknown-linux-gnu",
            "--target",
            "aarch64-unknown-linux-gnu",
        ],
    )
    .success();
    assert!(
        out.stderr.contains("demo 1.0.0 (arm64, deb)") && out.stderr.contains("demo 1.0.0 (amd64, deb)"),
        "{}",
        out.stderr
    );
    let peer = nfpm_deb(&dir.join("p"), "peer", "3.0", "testing");
    wharf_run(
        dir,
        &[
            "publish",
            "--to",
            "repo",
            "--key",
            k,
            "--suite",
            "testing",
            "--component",
            "contrib",
            peer.to_str().unwrap(),
        ],
    )
    .success();

    let repo = dir.join("repo");
    let stable = fs::read_to_string(repo.join("dists/stable/Release")).unwrap();
    assert!(
        stable.contains("Architectures: amd64 arm64\n") && stable.contains("Components: main\n"),
        "{stable}"
    );
    let arm = fs::read_to_string(repo.join("dists/stable/main/binary-arm64/Packages")).unwrap();
    assert!(
        arm.contains("Architecture: arm64") && arm.contains("Package: demo-data"),
        "{arm}"
    );
    assert!(!arm.contains("Architecture: amd64"), "{arm}");
    let testing = fs::read_to_string(repo.join("dists/testing/Release")).unwrap();
    assert!(
        testing.contains("Components: contrib\n") && testing.contains("Suite: testing\n"),
        "{testing}"
    );
    // The stable suite was not rewritten by the testing publish, and still verifies.
    assert!(!stable.contains("contrib"));

    for (suite, comp, pkg, says) in [
        ("stable", "main", "demo", "x86"),
        ("testing", "contrib", "peer", "testing"),
    ] {
        let apt = Apt::new(
            &dir.join(format!("apt-{suite}")),
            &format!("file://{}", repo.display()),
            suite,
            comp,
            &repo.join("archive-keyring.gpg"),
        );
        let update = apt.update().success();
        assert!(
            apt_problems(&update.all()).is_empty(),
            "{suite}: {}",
            update.all()
        );
        apt.install(&[pkg]).success();
        let body = fs::read_to_string(apt.root().join(format!("usr/bin/{pkg}"))).unwrap();
        assert!(body.contains(says), "{suite}: {body}");
    }
}
