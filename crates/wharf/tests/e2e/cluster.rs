//! A three-node Garage cluster (replication factor 3, one zone a node): eight concurrent publishers
//! writing through two nodes lose nothing, five rounds over; clients read through the third node's web
//! endpoint, during the publishes too, and see the old repository or the new one, never a mix; a node
//! killed in the middle of a publish leaves it completed or failed cleanly, and the next one completes.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};

use wharf_test::{Apt, Dnf, GarageCluster, TempDir, apt_problems, require, web_fetch};

use crate::s3::race_batches;
use crate::wharf;

/// The node clients read through; publishers write through the others.
const READER: usize = 2;

/// Starts one publisher per batch into `prefix`, publisher `i` writing through node `i % 2`.
fn publishers(dir: &Path, cluster: &GarageCluster, prefix: &str, batches: &[Vec<String>]) -> Vec<Child> {
    let key = dir.join("key/secret.asc");
    batches
        .iter()
        .enumerate()
        .map(|(i, files)| {
            let mut c = wharf(dir);
            cluster.env(i % 2, &mut c);
            c.args([
                "publish",
                "--to",
                &format!("s3://{}/{prefix}", wharf_test::GARAGE_BUCKET),
                "--key",
                key.to_str().unwrap(),
            ])
            .args(files)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
        })
        .collect()
}

/// How many packages the apt and rpm states of `prefix` hold, read through the reader node.
fn counted(cluster: &GarageCluster, prefix: &str) -> (usize, usize) {
    let port = cluster.nodes[READER].web_port;
    let count = |kind: &str, group: &str| {
        let get = |k: &str| web_fetch(port, &format!("{prefix}/{k}"));
        wharf_publish::state::read_json(&get, &format!(".wharf/{kind}/state"))
            .map_or(0, |s| s["groups"][group].as_array().map_or(0, Vec::len))
    };
    (count("apt", "stable"), count("rpm", "linux-x86_64"))
}

/// apt-get update through the reader node: no problem may be printed (old-or-new, never a mix).
fn apt_reads(dir: &Path, cluster: &GarageCluster, prefix: &str, name: &str) -> Apt {
    let apt = Apt::new(
        &dir.join(name),
        &cluster.web_url(READER, prefix),
        "stable",
        "main",
        &dir.join("keyring.gpg"),
    );
    let update = apt.update().success();
    assert!(apt_problems(&update.all()).is_empty(), "{}", update.all());
    apt
}

/// What one prepared cluster test needs: the cluster, eight batches of 25 packages, the key and keyring.
fn prepare(dir: &Path) -> Option<(GarageCluster, Vec<Vec<String>>)> {
    if !require(&["apt-get", "dnf"]) {
        return None;
    }
    let cluster = GarageCluster::start(3)?;
    let batches = race_batches(dir);
    Some((cluster, batches))
}

#[test]
fn eight_publishers_through_two_nodes_lose_nothing_and_a_third_node_reads_old_or_new() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let Some((cluster, batches)) = prepare(dir) else {
        return;
    };
    for round in 0..5 {
        let prefix = format!("race{round}");
        // The first package alone, so readers have a repository to read while the race runs.
        let first = publishers(dir, &cluster, &prefix, &[vec![batches[0][0].clone()]]);
        for c in first {
            assert!(c.wait_with_output().unwrap().status.success());
        }
        let done = AtomicBool::new(false);
        std::thread::scope(|s| {
            let reader = s.spawn(|| {
                let mut reads = 0;
                while !done.load(Ordering::Relaxed) {
                    apt_reads(dir, &cluster, &prefix, &format!("apt-during-{round}"));
                    reads += 1;
                }
                reads
            });
            for c in publishers(dir, &cluster, &prefix, &batches) {
                let out = c.wait_with_output().unwrap();
                assert!(
                    out.status.success(),
                    "a publisher failed: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            done.store(true, Ordering::Relaxed);
            assert!(reader.join().unwrap() > 0);
        });
        assert_eq!(counted(&cluster, &prefix), (200, 200), "round {round}");
        let apt = apt_reads(dir, &cluster, &prefix, &format!("apt-after-{round}"));
        let names = apt.cmd("apt-cache", &["pkgnames", "r"]).success().stdout;
        assert_eq!(names.lines().count(), 200, "apt-cache pkgnames:\n{names}");
        let dnf = Dnf::new(
            &dir.join(format!("dnf{round}")),
            &format!("{}/linux-x86_64", cluster.web_url(READER, &prefix)),
            &format!("{}/RPM-GPG-KEY-wharf", cluster.web_url(READER, &prefix)),
        );
        let avail = dnf
            .run(&["repoquery", "--available", "--qf", "%{name}\\n"])
            .success()
            .stdout;
        let rpms: BTreeSet<&str> = avail.lines().filter(|l| l.starts_with('r')).collect();
        assert_eq!(rpms.len(), 200, "dnf repoquery:\n{avail}");
    }
}

#[test]
fn a_node_killed_in_the_middle_of_a_publish_leaves_it_whole_and_the_next_publish_completes() {
    let t = TempDir::new().unwrap();
    let dir = t.path();
    let Some((mut cluster, batches)) = prepare(dir) else {
        return;
    };
    let prefix = "down";
    let running = publishers(dir, &cluster, prefix, &batches);
    // Node 1 dies while the publishers (half of them writing through it) are at work.
    std::thread::sleep(std::time::Duration::from_millis(700));
    cluster.stop(1);
    let mut failed = 0;
    for c in running {
        let out = c.wait_with_output().unwrap();
        if !out.status.success() {
            // Failed cleanly: one error line, naming what it could not reach.
            let stderr = String::from_utf8_lossy(&out.stderr);
            let errors = stderr.lines().filter(|l| l.starts_with("error:")).count();
            assert_eq!(errors, 1, "{stderr}");
            failed += 1;
        }
    }
    // What is published meanwhile reads whole through the third node.
    apt_reads(dir, &cluster, prefix, "apt-down");
    cluster.restart(1);
    // Every batch again, now through both nodes: everything completes and nothing is lost.
    for c in publishers(dir, &cluster, prefix, &batches) {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a publisher failed after the restart: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_eq!(
        counted(&cluster, prefix),
        (200, 200),
        "{failed} publisher(s) had failed"
    );
    let apt = apt_reads(dir, &cluster, prefix, "apt-after");
    let names = apt.cmd("apt-cache", &["pkgnames", "r"]).success().stdout;
    assert_eq!(names.lines().count(), 200);
}
