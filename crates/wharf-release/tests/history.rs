//! The classification table and the changelog over a history made with the real git CLI: tags `v1.2.3`
//! (annotated), `v1.3.0-rc.1` (lightweight), `nightly-foo`, untagged commits and a merge. Dates, names and
//! messages are fixed, so the commit ids (and the snapshot) are the same on every machine.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use wharf_release::changelog::{Groups, changelog};
use wharf_release::classify::{Rules, classify};
use wharf_release::{ReleaseError, git};
use wharf_test::{git, require};

/// Builds the history; returns its directory.
fn scripted(dir: &Path) {
    let mut t = 0;
    let mut g = |args: &[&str]| {
        t += 1;
        git(dir, args, t);
    };
    g(&["init", "-q", "-b", "main"]);
    g(&["commit", "-q", "--allow-empty", "-m", "chore: start"]);
    g(&["tag", "-a", "v1.2.3", "-m", "release 1.2.3"]);
    g(&["commit", "-q", "--allow-empty", "-m", "feat: --json everywhere"]);
    g(&["checkout", "-q", "-b", "topic"]);
    g(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "feat(cli)!: rename --to to --store",
    ]);
    g(&["checkout", "-q", "main"]);
    // The only commit that changes `sub/dir` (a monorepo's project).
    std::fs::create_dir_all(dir.join("sub/dir")).unwrap();
    std::fs::write(dir.join("sub/dir/lock.rs"), "// renewed\n").unwrap();
    g(&["add", "sub/dir/lock.rs"]);
    g(&[
        "commit",
        "-q",
        "-m",
        "fix: keep the lock while renewing\n\nThe renewal raced the release.",
    ]);
    g(&["merge", "-q", "--no-ff", "topic", "-m", "Merge branch 'topic'"]);
    g(&["tag", "v1.3.0-rc.1"]);
    g(&["commit", "-q", "--allow-empty", "-m", "docs: explain channels"]);
    g(&["tag", "nightly-foo"]);
    g(&[
        "commit",
        "-q",
        "--allow-empty",
        "-m",
        "perf: stream the index\n\nBREAKING CHANGE: state format 2",
    ]);
}

/// The history read at `rev`, from the directory `sub` of the work tree.
fn at(dir: &Path, rev: &str, sub: &str) -> git::History {
    git(dir, &["checkout", "-q", "--detach", rev], 59);
    std::fs::create_dir_all(dir.join(sub)).unwrap();
    git::read(&dir.join(sub), &Rules::default())
        .unwrap()
        .expect("a repository")
}

#[test]
fn classification_table_and_changelog() {
    if !require(&["git"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    scripted(dir);
    let rules = Rules::default();
    let mut table = String::from("| at | class | version | previous | since |\n|---|---|---|---|---|\n");
    for rev in ["v1.2.3", "main~3", "v1.3.0-rc.1", "nightly-foo", "main"] {
        let h = at(dir, rev, "");
        let c = classify(&h.commits, &rules).unwrap();
        let class = c.class.as_str();
        table.push_str(&format!(
            "| {rev} | {class}{} | {} | {} | {} |\n",
            c.tag.map_or_else(String::new, |t| format!(" ({t})")),
            c.version,
            c.previous.unwrap_or_default(),
            c.commits_since
        ));
    }
    insta::assert_snapshot!(table, @r"
        | at | class | version | previous | since |
        |---|---|---|---|---|
        | v1.2.3 | stable (v1.2.3) | 1.2.3 |  | 1 |
        | main~3 | development | 1.2.4~~dev.2.g64b9aa6 | v1.2.3 | 2 |
        | v1.3.0-rc.1 | prerelease (v1.3.0-rc.1) | 1.3.0~rc.1 | v1.2.3 | 4 |
        | nightly-foo | extra (nightly-foo) | 1.3.0~rc.1.nightly.foo | v1.3.0-rc.1 | 1 |
        | main | development | 1.3.0~rc.1.dev.2.gfb91857 | v1.3.0-rc.1 | 2 |
    ");

    // The release candidate's notes: everything since v1.2.3, the merge skipped, the topic's breaking
    // change called out; HEAD's: the two commits since the candidate.
    let rc = at(dir, "v1.3.0-rc.1", "");
    let since = &rc.commits[..rc.commits.len() - 1];
    insta::assert_snapshot!(changelog(since, &Groups::default()).markdown(), @r"
        ### ⚠ Breaking Changes

        - **cli:** rename --to to --store (10df5c7)

        ### Features

        - **cli:** rename --to to --store (10df5c7)
        - --json everywhere (92276ed)

        ### Bug Fixes

        - keep the lock while renewing (64b9aa6)
    ");
    let head = at(dir, "main", "");
    assert_eq!(head.commits.len(), 3, "{:#?}", head.commits);
    insta::assert_snapshot!(changelog(&head.commits[..2], &Groups::default()).markdown(), @r"
        ### ⚠ Breaking Changes

        - stream the index (fb91857)

        ### Other

        - stream the index (fb91857)
        - explain channels (f970d16)
    ");
    assert_eq!(head.commits[1].tags, ["nightly-foo"]);
    // Read from the project directory `sub/dir`: the same versions (every commit counts), but only the
    // commit that changed it in the changelog.
    let sub = at(dir, "v1.3.0-rc.1", "sub/dir");
    assert_eq!(classify(&sub.commits, &rules).unwrap().version, "1.3.0~rc.1");
    let since = &sub.commits[..sub.commits.len() - 1];
    let log = changelog(since, &Groups::default());
    let texts: Vec<&str> = log
        .groups
        .iter()
        .flat_map(|g| g.entries.iter().map(|e| e.text.as_str()))
        .collect();
    assert_eq!(texts, ["keep the lock while renewing"]);
    assert_eq!(head.commits[0].time, 1_767_225_614);
}

#[test]
fn shallow_clone_without_tags_says_how_to_fix_it() {
    if !require(&["git"]) {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let origin = tmp.path().join("origin");
    std::fs::create_dir_all(&origin).unwrap();
    scripted(&origin);
    let url = format!("file://{}", origin.display());
    git(tmp.path(), &["clone", "-q", "--depth", "1", &url, "shallow"], 1);
    let err = git::read(&tmp.path().join("shallow"), &Rules::default()).unwrap_err();
    assert!(matches!(err, ReleaseError::Shallow { .. }), "{err}");
    assert!(err.to_string().contains("git fetch --tags --unshallow"), "{err}");
    // The same clone with its history and tags classifies.
    git(
        &tmp.path().join("shallow"),
        &["fetch", "-q", "--tags", "--unshallow"],
        2,
    );
    let h = git::read(&tmp.path().join("shallow"), &Rules::default())
        .unwrap()
        .unwrap();
    assert!(!h.shallow);
    assert_eq!(
        classify(&h.commits, &Rules::default())
            .unwrap()
            .previous
            .as_deref(),
        Some("v1.3.0-rc.1")
    );
    // Outside any repository: nothing to read, no error.
    assert!(git::read(tmp.path(), &Rules::default()).unwrap().is_none());
}
