//! Alpine apk v2 repositories: `<arch>/APKINDEX.tar.gz` beside the `<name>-<version>.apk` files.
//!
//! Follows apk-tools' `apk_pkg_write_index_header` (`src/package.c`) and `app_index.c`, formats.md §6:
//! the unsigned index is **one** gzip member holding a tar of `DESCRIPTION` and `APKINDEX` (with
//! end-of-archive blocks); each package is a block of `X:value` lines in the order `C P V A S I T U L o m t
//! c k`, then `D:`/`p:`/`i:` (space-separated), ended by a blank line. `C:` is the package's identity
//! (`Q1` + base64 of the sha1 of its control member). The signed file is a signature member (see
//! [`wharf_package::apk::signature_member`]) followed by these exact bytes.

use wharf_core::apkver;
use wharf_core::digest::Checksums;
use wharf_package::compress::{self, Compression, Profile};
use wharf_package::tar::TarWriter;

/// One apk v2 package as an index lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ApkRecord {
    /// `.PKGINFO` lines, in file order.
    pub pkginfo: Vec<(String, String)>,
    /// `Q1…`: the package identity.
    pub identity: String,
    /// File name relative to the arch directory.
    pub filename: String,
    /// Checksums of the .apk.
    pub checksums: Checksums,
}

impl ApkRecord {
    /// The first value of `key`, or "".
    #[must_use]
    pub fn get(&self, key: &str) -> &str {
        self.pkginfo
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    fn joined(&self, key: &str) -> String {
        self.pkginfo
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The APKINDEX block (without the blank line that ends it).
    #[must_use]
    pub fn entry(&self) -> String {
        let mut s = String::new();
        let mut line = |tag: &str, v: &str, always: bool| {
            if always || !v.is_empty() {
                s.push_str(&format!("{tag}:{v}\n"));
            }
        };
        line("C", &self.identity, true);
        line("P", self.get("pkgname"), true);
        line("V", self.get("pkgver"), true);
        line("A", self.get("arch"), false);
        line("S", &self.checksums.size.to_string(), true);
        line("I", self.get("size"), true);
        line("T", self.get("pkgdesc"), true);
        line("U", self.get("url"), true);
        line("L", self.get("license"), true);
        line("o", self.get("origin"), false);
        line("m", self.get("maintainer"), false);
        line("t", self.get("builddate"), false);
        line("c", self.get("commit"), false);
        line("k", self.get("provider_priority"), false);
        line("D", &self.joined("depend"), false);
        line("p", &self.joined("provides"), false);
        line("i", &self.joined("install_if"), false);
        s
    }
}

/// The APKINDEX text: packages sorted by name, then apk version order.
#[must_use]
pub fn apkindex_text(records: &[&ApkRecord]) -> String {
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| {
        a.get("pkgname")
            .cmp(b.get("pkgname"))
            .then_with(|| apkver::compare(a.get("pkgver"), b.get("pkgver")))
            .then_with(|| a.filename.cmp(&b.filename))
    });
    let mut text = String::new();
    for r in sorted {
        text.push_str(&r.entry());
        text.push('\n');
    }
    text
}

/// The unsigned `APKINDEX.tar.gz` (one gzip member: `DESCRIPTION`, `APKINDEX`, end-of-archive), every
/// mtime `mtime`. Sign these bytes and prepend the signature member.
pub fn unsigned_index(records: &[&ApkRecord], description: &str, mtime: u64) -> std::io::Result<Vec<u8>> {
    let text = apkindex_text(records);
    let mut tar = TarWriter::new(Vec::new());
    let description: String = description.chars().take(160).collect();
    for (name, body) in [
        ("DESCRIPTION", description.as_bytes()),
        ("APKINDEX", text.as_bytes()),
    ] {
        tar.file(name, 0o644, mtime, body.len() as u64, &mut &body[..])?;
    }
    let tarball = tar.finish()?;
    compress::compress(&tarball, Compression::Gzip, Profile::Index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, version: &str) -> ApkRecord {
        let info = |k: &str, v: &str| (k.to_owned(), v.to_owned());
        ApkRecord {
            pkginfo: vec![
                info("pkgname", name),
                info("pkgver", version),
                info("pkgdesc", "a thing"),
                info("url", "https://example.org"),
                info("builddate", "1700000000"),
                info("size", "4096"),
                info("arch", "x86_64"),
                info("origin", name),
                info("license", "MIT"),
                info("depend", "musl"),
                info("depend", "!old"),
                info("datahash", "00"),
            ],
            identity: "Q1AAAAAAAAAAAAAAAAAAAAAAAAAAA=".into(),
            filename: format!("{name}-{version}.apk"),
            checksums: Checksums::of(name.as_bytes()),
        }
    }

    #[test]
    fn entry_order_is_apk_tools() {
        let text = record("demo", "1.0-r0").entry();
        let tags: Vec<&str> = text.lines().map(|l| l.split(':').next().unwrap()).collect();
        assert_eq!(tags, ["C", "P", "V", "A", "S", "I", "T", "U", "L", "o", "t", "D"]);
        assert!(text.contains("\nD:musl !old\n"));
    }

    #[test]
    fn sorted_by_apk_version_and_one_gzip_member() {
        let (a, b, c) = (record("x", "1.0-r0"), record("x", "1.0_rc1-r0"), record("a", "9"));
        let text = apkindex_text(&[&a, &b, &c]);
        let order: Vec<&str> = text.lines().filter(|l| l.starts_with("V:")).collect();
        assert_eq!(order, ["V:9", "V:1.0_rc1-r0", "V:1.0-r0"]);
        let gz = unsigned_index(&[&a], "test repo", 5).unwrap();
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&gz[..]));
        let names: Vec<String> = archive
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["DESCRIPTION", "APKINDEX"]);
    }
}
