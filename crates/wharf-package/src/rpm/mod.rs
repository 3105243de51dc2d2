//! `.rpm` packages (v4): writer and reader.
//!
//! Format: rpm's `docs/manual/format_v4.md` and `format_header.md` (lead, signature header, main header,
//! compressed cpio payload), with what formats.md §4 found rpm 4.18 checking. The header's tags and their
//! encoding are the `rpm` crate's (rpm-rs): wharf maps its [`PackageSpec`](wharf_core::PackageSpec) onto
//! the crate's builder with each file's metadata but not its content, pins every time and host field for
//! reproducibility, and signs the header with wharf-sign's OpenPGP key: a v4 signature, SHA-256, issuer
//! fingerprint hashed and key ID unhashed, nothing critical — what `rpmkeys --checksig` accepts on EL8 and
//! later. The payload (the "new ASCII" cpio archive, `070701`) is wharf's own, streamed into a spool with
//! large files spliced in compressed once per run ([`crate::splice`]); its digests then complete the
//! header. The uncompressed payload's digest (`PAYLOADDIGESTALT`, rpm ≥ 4.16, optional) is not written:
//! it would mean hashing every file a second time.

mod read;
mod write;

pub use read::{Checked, RpmDependency, RpmFile, RpmInfo, inspect, read_checked};
pub use write::{RpmOptions, sign_rpm, write_rpm};

/// The canonical file name: `<name>-<version>-<release>.<arch>.rpm` (the epoch is not part of it).
#[must_use]
pub fn file_name(name: &str, version: &str, release: &str, arch: &str) -> String {
    format!("{name}-{version}-{release}.{arch}.rpm")
}

#[cfg(test)]
mod tests {
    use wharf_core::SourceDate;
    use wharf_sign::{KeyAlgorithm, OpenPgpKey};

    use super::*;
    use crate::compress::Compression;
    use crate::testing::spec;

    #[test]
    fn write_then_inspect_signed_and_reproducible() {
        let key = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "T <t@example.org>").unwrap();
        for c in [Compression::Gzip, Compression::Xz, Compression::Zstd] {
            let opts = RpmOptions {
                compression: c,
                source_date: SourceDate::from_unix(1_700_000_000).unwrap(),
                key: Some(&key),
                dist: "",
            };
            let mut a = Vec::new();
            write_rpm(&spec(), opts, &crate::splice::Payloads::new(), &mut a).unwrap();
            let mut b = Vec::new();
            write_rpm(&spec(), opts, &crate::splice::Payloads::new(), &mut b).unwrap();
            assert_eq!(a, b, "{c:?}: not reproducible");
            let info = inspect(&a[..]).unwrap();
            assert_eq!(
                (
                    info.name.as_str(),
                    info.epoch,
                    info.version.as_str(),
                    info.release.as_str()
                ),
                ("hello", 1, "1.0", "1")
            );
            assert_eq!(info.arch, "x86_64");
            assert!(info.signed);
            assert_eq!(info.build_time, 1_700_000_000);
            assert_eq!(info.checksums.size, a.len() as u64);
            assert!(
                info.requires
                    .iter()
                    .any(|d| d.name == "libc6" && d.flags.as_deref() == Some("GE")),
                "{:?}",
                info.requires
            );
            assert!(info.files.iter().any(|f| f.path == "/etc/hello.conf"));
        }
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        assert!(
            inspect(&b"not an rpm at all"[..])
                .unwrap_err()
                .to_string()
                .contains("not a valid .rpm")
        );
        let opts = RpmOptions {
            compression: Compression::Gzip,
            source_date: SourceDate::from_unix(0).unwrap(),
            key: None,
            dist: "",
        };
        let mut a = Vec::new();
        write_rpm(&spec(), opts, &crate::splice::Payloads::new(), &mut a).unwrap();
        assert!(!inspect(&a[..]).unwrap().signed);
        assert!(inspect(&a[..200]).is_err());
        // Headers whole, payload cut short: refused (the signature header's size).
        let err = inspect(&a[..a.len() - 10]).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn damaged_payloads_and_headers_are_refused_as_rpm_k_refuses_them() {
        let opts = RpmOptions {
            compression: Compression::Gzip,
            source_date: SourceDate::from_unix(0).unwrap(),
            key: None,
            dist: "",
        };
        let mut good = Vec::new();
        write_rpm(&spec(), opts, &crate::splice::Payloads::new(), &mut good).unwrap();
        inspect(&good[..]).unwrap();
        // One byte of the payload flipped (rpm -K: DIGESTS NOT OK): same size, same headers.
        let mut bad = good.clone();
        let at = bad.len() - 20;
        bad[at] ^= 0x40;
        let err = inspect(&bad[..]).unwrap_err().to_string();
        assert!(err.contains("payload digest"), "{err}");
        // One byte of the main header's store flipped: its digest in the signature header no longer holds.
        let info = inspect(&good[..]).unwrap();
        let mut bad = good.clone();
        let at = usize::try_from(info.header_end).unwrap() - 3;
        bad[at] ^= 0x01;
        assert!(inspect(&bad[..]).is_err());
    }

    #[test]
    fn a_header_declaring_more_than_the_file_holds_allocates_what_arrives() {
        // 96-byte lead, then a signature header that declares 65,535 entries and 256 MiB of store.
        let mut bomb = vec![0u8; 96];
        bomb[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
        bomb.extend_from_slice(&[0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
        bomb.extend_from_slice(&0xffffu32.to_be_bytes());
        bomb.extend_from_slice(&0x0fff_ffffu32.to_be_bytes());
        assert_eq!(bomb.len(), 112);
        // A reader that fails the test if asked to fill a buffer larger than what a growing read asks.
        struct Watch<'a>(&'a [u8], usize);
        impl std::io::Read for Watch<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                self.1 = self.1.max(buf.len());
                std::io::Read::read(&mut self.0, buf)
            }
        }
        let mut w = Watch(&bomb, 0);
        let err = inspect(&mut w).unwrap_err().to_string();
        assert!(err.contains("truncated"), "{err}");
        assert!(w.1 <= 1 << 20, "asked for a {}-byte read of a 112-byte file", w.1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 400, ..Default::default() })]
        /// Corrupted and truncated packages give an error, never a panic (flips land in the lead and headers,
        /// where the parser works).
        #[test]
        fn reader_never_panics(flips in proptest::collection::vec((0usize..8192, 0u8..=255), 1..6), cut in 0usize..8192) {
            let opts = RpmOptions { compression: Compression::Gzip, source_date: SourceDate::from_unix(0).unwrap(), key: None, dist: "" };
            let mut rpm = Vec::new();
            write_rpm(&spec(), opts, &crate::splice::Payloads::new(), &mut rpm).unwrap();
            let header_end = rpm.len().min(8192);
            for (at, byte) in flips {
                rpm[at % header_end] = byte;
            }
            rpm.truncate(rpm.len() - cut % rpm.len());
            let _ = inspect(&rpm[..]);
        }
    }
}
