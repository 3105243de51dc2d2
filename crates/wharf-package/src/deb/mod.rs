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

    /// A deb of the given control member (after `debian-binary`, before an empty `data.tar`).
    fn deb_with_control(control_tar_gz: &[u8]) -> Vec<u8> {
        let mut deb = Vec::new();
        crate::ar::write_magic(&mut deb).unwrap();
        crate::ar::write_member(&mut deb, "debian-binary", 0, b"2.0\n").unwrap();
        crate::ar::write_member(&mut deb, "control.tar.gz", 0, control_tar_gz).unwrap();
        crate::ar::write_member(&mut deb, "data.tar", 0, &[0; 1024]).unwrap();
        deb
    }

    fn control_tar(entries: &[(&str, &[u8])], trailing_zeros: usize) -> Vec<u8> {
        let mut t = crate::tar::TarWriter::new(Vec::new());
        for (name, data) in entries {
            t.file(name, 0o644, 0, data.len() as u64, &mut &data[..]).unwrap();
        }
        let mut tar = t.finish().unwrap();
        tar.resize(tar.len() + trailing_zeros, 0);
        crate::compress::compress(&tar, Compression::Gzip, crate::compress::Profile::Index).unwrap()
    }

    #[test]
    fn control_is_found_among_other_members_and_a_bomb_is_refused() {
        let control =
            b"Package: xy\nVersion: 1\nArchitecture: all\nMaintainer: m <m@example.org>\nDescription: d\n";
        let tar = control_tar(
            &[
                ("./conffiles", b"/etc/x\n"),
                ("./control", control),
                ("./md5sums", &[b'a'; 70_000]),
            ],
            0,
        );
        let info = inspect(&deb_with_control(&tar)[..]).unwrap();
        assert_eq!((info.name.as_str(), info.version.as_str()), ("xy", "1"));
        // A member over 1 MiB compressed (here, incompressible) is streamed, not read whole: same result.
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        let noise: Vec<u8> = (0..1_200_000)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let big = control_tar(&[("./control", control), ("./noise", &noise)], 0);
        assert!(big.len() > 1024 * 1024, "{} bytes", big.len());
        assert_eq!(
            inspect(&deb_with_control(&big)[..]).unwrap().control,
            info.control
        );
        let none = control_tar(&[("./md5sums", b"")], 0);
        let err = inspect(&deb_with_control(&none)[..]).unwrap_err().to_string();
        assert!(err.contains("has no `control` file"), "{err}");
        // 64 MiB of zeros after the tar compresses to ~64 KiB; it is refused, not held.
        let bomb = control_tar(&[("./control", control)], 64 * 1024 * 1024 + 512);
        let err = inspect(&deb_with_control(&bomb)[..]).unwrap_err().to_string();
        assert!(err.contains("implausibly large"), "{err}");
    }

    /// A raw tar header block: name, type flag, link name (the tar crate's own setters refuse `..`).
    fn raw_entry(tar: &mut Vec<u8>, name: &str, kind: u8, link: &str, body: &[u8]) {
        let mut h = [0u8; 512];
        h[..name.len()].copy_from_slice(name.as_bytes());
        h[100..107].copy_from_slice(b"0000644");
        h[108..115].copy_from_slice(b"0000000");
        h[116..123].copy_from_slice(b"0000000");
        h[124..135].copy_from_slice(format!("{:011o}", body.len()).as_bytes());
        h[136..147].copy_from_slice(b"00000000000");
        h[156] = kind;
        h[157..157 + link.len()].copy_from_slice(link.as_bytes());
        h[257..263].copy_from_slice(b"ustar ");
        h[263..265].copy_from_slice(b" \0");
        h[148..156].copy_from_slice(b"        ");
        let sum: u32 = h.iter().map(|b| u32::from(*b)).sum();
        h[148..155].copy_from_slice(format!("{sum:06o}\0").as_bytes());
        tar.extend_from_slice(&h);
        tar.extend_from_slice(body);
        tar.resize(tar.len().div_ceil(512) * 512, 0);
    }

    /// A deb with a valid control member and `data` as its data.tar.gz.
    fn deb_with_data(data_tar: &[u8]) -> Vec<u8> {
        let control = control_tar(
            &[("./control", b"Package: xy\nVersion: 1\nArchitecture: all\nMaintainer: m <m@example.org>\nDescription: d\n")],
            0,
        );
        let data =
            crate::compress::compress(data_tar, Compression::Gzip, crate::compress::Profile::Index).unwrap();
        let mut deb = Vec::new();
        crate::ar::write_magic(&mut deb).unwrap();
        crate::ar::write_member(&mut deb, "debian-binary", 0, b"2.0\n").unwrap();
        crate::ar::write_member(&mut deb, "control.tar.gz", 0, &control).unwrap();
        crate::ar::write_member(&mut deb, "data.tar.gz", 0, &data).unwrap();
        deb
    }

    #[test]
    fn payload_paths_are_held_to_one_policy() {
        type Entries<'a> = &'a [(&'a str, u8, &'a str)];
        let cases: [(Entries<'_>, &str); 6] = [
            (&[("./../../etc/evil", b'0', "")], "`..`"),
            (&[("/etc/abs", b'0', "")], "absolute"),
            (&[("./x", b'1', "/etc/shadow")], "hard link"),
            (
                &[("./etc", b'2', "/etc"), ("./etc/shadow", b'0', "")],
                "symbolic link",
            ),
            (&[("./a", b'0', ""), ("./a", b'0', "")], "twice"),
            (&[("./a", b'0', ""), ("./a/b", b'0', "")], "as a file"),
        ];
        for (entries, why) in cases {
            let mut tar = Vec::new();
            for (name, kind, link) in entries {
                raw_entry(
                    &mut tar,
                    name,
                    *kind,
                    link,
                    if *kind == b'0' { b"x" } else { b"" },
                );
            }
            tar.resize(tar.len() + 1024, 0);
            let err = inspect(&deb_with_data(&tar)[..]).unwrap_err().to_string();
            assert!(err.contains("unsafe") && err.contains(why), "{entries:?}: {err}");
        }
        let mut ok = Vec::new();
        raw_entry(&mut ok, "./", b'5', "", b"");
        raw_entry(&mut ok, "./usr/bin/x", b'0', "", b"x");
        raw_entry(&mut ok, "./usr/bin/y", b'1', "./usr/bin/x", b"");
        raw_entry(&mut ok, "./usr/bin/z", b'2', "/etc/alternatives/z", b"");
        ok.resize(ok.len() + 1024, 0);
        inspect(&deb_with_data(&ok)[..]).unwrap();
    }

    #[test]
    fn a_data_member_that_does_not_decompress_whole_is_refused() {
        for c in [Compression::Gzip, Compression::Xz, Compression::Zstd] {
            let opts = DebOptions {
                compression: c,
                source_date: SourceDate::from_unix(0).unwrap(),
            };
            let mut deb = Vec::new();
            write_deb(&spec(), opts, &crate::splice::Payloads::new(), &mut deb).unwrap();
            inspect(&deb[..]).unwrap();
            // A byte near the end (inside data.tar.*) flipped: same size, the ar layout intact.
            let at = deb.len() - 30;
            deb[at] ^= 0x55;
            let err = inspect(&deb[..]).unwrap_err().to_string();
            assert!(err.contains("corrupt") || err.contains("unsafe"), "{c:?}: {err}");
        }
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
