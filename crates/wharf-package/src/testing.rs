//! Fixtures shared by this crate's unit tests.

use std::collections::BTreeMap;

use wharf_core::{
    Arch, ChangelogEntry, Content, FileEntry, FileKind, InstallPath, Owner, PackageMeta, PackageSpec,
    Relations, ScriptKind,
};

/// A package with a binary, a conffile owned by group `adm`, a symlink, a ghost log file, a dependency,
/// an obsoleted predecessor, a changelog entry and a postinst.
pub(crate) fn spec() -> PackageSpec {
    let entry = |p: &str, kind: FileKind, mode, owner: Option<Owner>| FileEntry {
        path: InstallPath::parse(p).unwrap(),
        kind,
        mode,
        owner,
    };
    let file = |content: &[u8], config| FileKind::File {
        content: Content::Bytes(content.to_vec()),
        config,
    };
    PackageSpec {
        name: "hello".parse().unwrap(),
        version: "1:1.0-1".parse().unwrap(),
        arch: Arch::from_deb("amd64").unwrap(),
        meta: PackageMeta {
            maintainer: "Jane <jane@example.org>".into(),
            summary: "says hello".into(),
            description: "A longer text.\n\nSecond paragraph.".into(),
            homepage: Some("https://example.org".into()),
            license: Some("MIT".into()),
            vendor: None,
            section: Some("utils".into()),
            priority: Some("optional".into()),
            relations: Relations {
                depends: vec!["libc6 (>= 2.31)".into()],
                obsoletes: vec!["hello-old (<< 1.0)".into()],
                ..Relations::default()
            },
            family_relations: BTreeMap::new(),
            changelog: vec![ChangelogEntry {
                version: "1:1.0-1".into(),
                author: "Jane <jane@example.org>".into(),
                time: 1_699_999_999,
                changes: vec!["First release.".into()],
            }],
        },
        files: vec![
            entry(
                "/usr/bin/hello",
                file(b"#!/bin/sh\necho hello\n", false),
                0o755,
                None,
            ),
            entry(
                "/etc/hello.conf",
                file(b"greeting=hi\n", true),
                0o640,
                Some(Owner::new("root", "adm").unwrap()),
            ),
            entry(
                "/usr/bin/hi",
                FileKind::Symlink {
                    target: "hello".into(),
                },
                0o777,
                None,
            ),
            entry("/var/log/hello.log", FileKind::Ghost, 0o640, None),
        ],
        scripts: BTreeMap::from([(ScriptKind::PostInst, b"#!/bin/sh\nset -e\nexit 0\n".to_vec())]),
    }
}
