//! opkg feeds (OpenWrt ≤ 24.10): `<feed>/Packages`, `Packages.gz` and `Packages.sig` (usign, signed by the
//! publisher) beside the .ipk files.
//!
//! Follows OpenWrt's `scripts/ipkg-make-index.sh` and `package/Makefile` (formats.md §9): each stanza is
//! the package's control paragraph with `Filename`, `Size` and `SHA256sum` inserted before `Description`,
//! minus the `Maintainer`, `LicenseFiles`, `Source`, `SourceName`, `Require` and `SourceDateEpoch` lines;
//! stanzas end with a blank line; when `(64 + size) % 128` is 110 or 111, two newlines are appended
//! (OpenWrt's workaround for a SHA-512 bug in usign before 2019); `Packages.gz` is `gzip -9n` of that
//! text. opkg verifies `Packages.sig` over the uncompressed text and checks every `Size`/`SHA256sum`.

use wharf_core::deb822::Paragraph;
use wharf_core::digest::Checksums;
use wharf_package::compress::{self, Compression, Profile};

/// One .ipk as a feed lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OpkgRecord {
    /// The package's control paragraph.
    pub control: Paragraph,
    /// File name relative to the feed directory.
    pub filename: String,
    /// Checksums of the .ipk.
    pub checksums: Checksums,
}

/// Fields OpenWrt strips from the index.
const STRIPPED: [&str; 6] = [
    "Maintainer",
    "LicenseFiles",
    "Source",
    "SourceName",
    "Require",
    "SourceDateEpoch",
];

impl OpkgRecord {
    fn field(&self, f: &str) -> &str {
        self.control.get(f).unwrap_or("")
    }

    /// The stanza: control fields (without the stripped ones), then Filename/Size/SHA256sum, then the
    /// description, as ipkg-make-index.sh splices them.
    #[must_use]
    pub fn stanza(&self) -> Paragraph {
        let mut p = Paragraph::new();
        for (k, v) in self.control.iter() {
            if STRIPPED.iter().any(|s| s.eq_ignore_ascii_case(k))
                || ["Filename", "Size", "SHA256sum", "MD5Sum"]
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(k))
            {
                continue;
            }
            if k.eq_ignore_ascii_case("Description") {
                p.set("Filename", &self.filename);
                p.set("Size", self.checksums.size.to_string());
                p.set("SHA256sum", &self.checksums.sha256);
            }
            p.set(k, v);
        }
        if p.get("Filename").is_none() {
            p.set("Filename", &self.filename);
            p.set("Size", self.checksums.size.to_string());
            p.set("SHA256sum", &self.checksums.sha256);
        }
        p
    }
}

/// A feed's index, unsigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedIndex {
    /// `Packages` (padded as OpenWrt pads it); sign exactly these bytes.
    pub packages: Vec<u8>,
    /// `Packages.gz`.
    pub packages_gz: Vec<u8>,
}

/// Whether OpenWrt would pad an index of `len` bytes (usign's old SHA-512 bug).
#[must_use]
pub fn needs_padding(len: usize) -> bool {
    matches!((64 + len) % 128, 110 | 111)
}

/// Builds a feed's `Packages` and `Packages.gz` (records sorted by name, version, arch).
pub fn build(records: &[&OpkgRecord]) -> std::io::Result<FeedIndex> {
    let mut sorted: Vec<&OpkgRecord> = records.to_vec();
    sorted.sort_by(|a, b| {
        a.field("Package")
            .cmp(b.field("Package"))
            .then_with(|| {
                match (
                    wharf_core::DebVersion::parse(a.field("Version")),
                    wharf_core::DebVersion::parse(b.field("Version")),
                ) {
                    (Ok(x), Ok(y)) => x.cmp(&y),
                    _ => a.field("Version").cmp(b.field("Version")),
                }
            })
            .then_with(|| a.field("Architecture").cmp(b.field("Architecture")))
    });
    let mut text = String::new();
    for r in sorted {
        text.push_str(&r.stanza().to_string());
        text.push('\n');
    }
    if needs_padding(text.len()) {
        text.push_str("\n\n");
    }
    let packages = text.into_bytes();
    let packages_gz = compress::compress(&packages, Compression::Gzip, Profile::Index)?;
    Ok(FeedIndex {
        packages,
        packages_gz,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str) -> OpkgRecord {
        let control = Paragraph::parse_one(&format!(
            "Package: {name}\nVersion: 1.0-1\nDepends: libc\nLicense: MIT\nSourceDateEpoch: 5\nMaintainer: M <m@e.org>\nArchitecture: mipsel_24kc\nInstalled-Size: 10240\nDescription: a thing\n"
        ))
        .unwrap();
        OpkgRecord {
            control,
            filename: format!("{name}_1.0-1_mipsel_24kc.ipk"),
            checksums: Checksums::of(name.as_bytes()),
        }
    }

    #[test]
    fn stanza_matches_ipkg_make_index() {
        let text = record("demo").stanza().to_string();
        let keys: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(
            keys,
            [
                "Package",
                "Version",
                "Depends",
                "License",
                "Architecture",
                "Installed-Size",
                "Filename",
                "Size",
                "SHA256sum",
                "Description"
            ]
        );
    }

    #[test]
    fn padding_rule() {
        assert!(needs_padding(46) && needs_padding(47) && needs_padding(46 + 128));
        assert!(!needs_padding(45) && !needs_padding(48));
        // Whatever the records, the published length never falls in the buggy range.
        for n in 1..40 {
            let recs: Vec<OpkgRecord> = (0..n)
                .map(|i| record(&format!("p{i}x{}", "y".repeat(i % 7))))
                .collect();
            let refs: Vec<&OpkgRecord> = recs.iter().collect();
            let idx = build(&refs).unwrap();
            let unpadded = idx.packages.len() - if idx.packages.ends_with(b"\n\n\n") { 2 } else { 0 };
            assert!(!needs_padding(unpadded) || idx.packages.len() == unpadded + 2);
        }
    }
}
