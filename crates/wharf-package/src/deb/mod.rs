//! `.deb` packages: writer and reader.
//!
//! Follows deb(5), deb-control(5) and dpkg-deb's `build.c`: an ar archive whose members are, in this
//! mandatory order, `debian-binary` (`2.0\n`), `control.tar[.gz|.xz|.zst]` and `data.tar[...]`. The control
//! tarball holds `./control`, `./md5sums`, `./conffiles` and the maintainer scripts; the data tarball holds
//! the payload with `./`-prefixed names, explicit parent directories, root ownership. zstd members need
//! dpkg ≥ 1.21.18 (Debian 12, Ubuntu 21.10); xz is the default for reach and size.

mod read;
mod write;

pub use read::{DebInfo, inspect};
pub use write::{DebOptions, write_deb};

use crate::compress::Compression;

/// The canonical file name: `<name>_<version without epoch>_<arch>.deb`.
#[must_use]
pub fn file_name(name: &str, version: &str, arch: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    format!("{name}_{version}_{arch}.deb")
}

fn member_compression(member: &str, prefix: &str) -> Option<Compression> {
    member.strip_prefix(prefix).and_then(Compression::from_extension)
}

#[cfg(test)]
mod tests {
    use wharf_core::SourceDate;

    use super::*;
    use crate::testing::spec;

    #[test]
    fn write_then_inspect() {
        for c in [
            Compression::Gzip,
            Compression::Xz,
            Compression::Zstd,
            Compression::None,
        ] {
            let opts = DebOptions {
                compression: c,
                source_date: SourceDate::from_unix(1_700_000_000).unwrap(),
            };
            let mut a = Vec::new();
            write_deb(&spec(), opts, &crate::splice::Payloads::new(), &mut a).unwrap();
            let mut b = Vec::new();
            write_deb(&spec(), opts, &crate::splice::Payloads::new(), &mut b).unwrap();
            assert_eq!(a, b, "{c:?}: not reproducible");
            let info = inspect(&a[..]).unwrap();
            assert_eq!(info.name.as_str(), "hello");
            assert_eq!(info.version.as_str(), "1:1.0-1");
            assert_eq!(info.arch, "amd64");
            // The payload plus the changelog.Debian.gz made from the spec's changelog entries.
            assert_eq!(info.control.get("Installed-Size"), Some("10"));
            assert_eq!(info.checksums.size, a.len() as u64);
        }
    }

    #[test]
    fn control_paragraph() {
        insta::assert_snapshot!(write::control(&spec(), 6).to_string(), @r"
        Package: hello
        Version: 1:1.0-1
        Architecture: amd64
        Maintainer: Jane <jane@example.org>
        Installed-Size: 6
        Depends: libc6 (>= 2.31)
        Section: utils
        Priority: optional
        Homepage: https://example.org
        Description: says hello
         A longer text.
         .
         Second paragraph.
        ");
    }

    #[test]
    fn duplicates_and_garbage_are_errors() {
        let mut s = spec();
        s.files.push(s.files[0].clone());
        let opts = DebOptions {
            compression: Compression::Gzip,
            source_date: SourceDate::from_unix(0).unwrap(),
        };
        assert!(matches!(
            write_deb(&s, opts, &crate::splice::Payloads::new(), &mut Vec::new()),
            Err(crate::PackageError::Duplicate(_))
        ));
        assert!(
            inspect(&b"not a deb"[..])
                .unwrap_err()
                .to_string()
                .contains("not a valid .deb")
        );
        let mut good = Vec::new();
        write_deb(&spec(), opts, &crate::splice::Payloads::new(), &mut good).unwrap();
        let err = inspect(&good[..good.len() - 100]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// The reader meets corrupted and truncated packages with an error, never a panic.
        #[test]
        fn reader_never_panics(flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..8), cut in 0usize..4096) {
            let opts = DebOptions { compression: Compression::Gzip, source_date: SourceDate::from_unix(0).unwrap() };
            let mut deb = Vec::new();
            write_deb(&spec(), opts, &crate::splice::Payloads::new(), &mut deb).unwrap();
            for (at, byte) in flips {
                let i = at % deb.len();
                deb[i] = byte;
            }
            deb.truncate(deb.len() - cut % deb.len());
            let _ = inspect(&deb[..]);
        }
    }
}
