//! Fixtures shared by this crate's unit tests.

use std::collections::BTreeMap;

use wharf_core::{
    Arch, Content, FileEntry, FileKind, InstallPath, PackageMeta, PackageSpec, Relations, ScriptKind,
};

/// A package with a binary, a conffile, a symlink, a dependency and a postinst.
pub(crate) fn spec() -> PackageSpec {
    let file = |p: &str, c: &[u8], mode, config| FileEntry {
        path: InstallPath::parse(p).unwrap(),
        kind: FileKind::File {
            content: Content::Bytes(c.to_vec()),
            config,
        },
        mode,
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
                ..Relations::default()
            },
            family_relations: BTreeMap::new(),
        },
        files: vec![
            file("/usr/bin/hello", b"#!/bin/sh\necho hello\n", 0o755, false),
            file("/etc/hello.conf", b"greeting=hi\n", 0o644, true),
            FileEntry {
                path: InstallPath::parse("/usr/bin/hi").unwrap(),
                kind: FileKind::Symlink {
                    target: "hello".into(),
                },
                mode: 0o777,
            },
        ],
        scripts: BTreeMap::from([(ScriptKind::PostInst, b"#!/bin/sh\nset -e\nexit 0\n".to_vec())]),
    }
}
