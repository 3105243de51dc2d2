//! OpenWrt `.ipk` packages: writer and reader.
//!
//! Layout from OpenWrt's `scripts/ipkg-build` and opkg-lede's `libbb/unarchive.c` (formats.md §8): the
//! outer container is a **gzip'd GNU tar** (not ar) holding `./control.tar.gz`, `./data.tar.gz` and
//! `./debian-binary` (`2.0\n`), sorted by name, numeric owner 0:0, every mtime `SOURCE_DATE_EPOCH`, gzip
//! without name or time, at level 1 (its members are gzip already; see `Profile::Wrapper`). Inner members are gzip -9n.
//! `Installed-Size` is the byte length of the uncompressed data tarball, as ipkg-build computes it;
//! `Architecture` is an OpenWrt package architecture (`x86_64`, `mipsel_24kc`, …) or `all`.

use std::io::{self, Read, Write};

use wharf_core::deb822::{self, Paragraph};
use wharf_core::digest::{Checksums, Hasher, HashingReader, skip_to_end};
use wharf_core::{Family, PackageName, PackageSpec, SourceDate, Version};

use crate::compress::{self, Compression, Profile};
use crate::splice::Payloads;
use crate::spool::Spool;
use crate::tar::TarWriter;
use crate::{PackageError, payload};

const FORMAT: &str = ".ipk";

/// The canonical file name: `<name>_<version without epoch>_<arch>.ipk`.
#[must_use]
pub fn file_name(name: &str, version: &str, arch: &str) -> String {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    format!("{name}_{version}_{arch}.ipk")
}

/// The `control` paragraph, in the field order OpenWrt's `package-ipkg.mk` writes.
#[must_use]
pub fn control(spec: &PackageSpec, arch: &str, installed_size: u64, source_date: SourceDate) -> Paragraph {
    let m = &spec.meta;
    let r = m.relations_for(Family::Deb);
    let mut p = Paragraph::new();
    p.set("Package", spec.name.as_str());
    p.set("Version", spec.version.as_str());
    for (field, clauses) in [
        ("Depends", &r.depends),
        ("Conflicts", &r.conflicts),
        ("Provides", &r.provides),
    ] {
        if !clauses.is_empty() {
            p.set(field, clauses.join(", "));
        }
    }
    p.set_nonempty("License", m.license.as_deref().unwrap_or(""));
    p.set_nonempty("Section", m.section.as_deref().unwrap_or(""));
    p.set("SourceDateEpoch", source_date.unix().to_string());
    p.set_nonempty("URL", m.homepage.as_deref().unwrap_or(""));
    p.set("Maintainer", m.maintainer.trim());
    p.set("Architecture", arch);
    p.set("Installed-Size", installed_size.to_string());
    p.set("Description", deb822::description(&m.summary, &m.description));
    p
}

/// Writes `spec` as an .ipk for OpenWrt architecture `arch` (`all` for architecture-independent packages).
pub fn write_ipk(
    spec: &PackageSpec,
    arch: &str,
    source_date: SourceDate,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let nodes = payload::plan(spec)?;
    let mut data = Spool::new();
    let summary = payload::write_data(
        &nodes,
        payload::Layout::Dpkg,
        Compression::Gzip,
        source_date,
        payloads,
        &mut data,
    )?;
    let mtime = u64::try_from(source_date.unix()).unwrap_or(0);
    let control = control(spec, arch, summary.tar_size, source_date);
    control.check().map_err(|e| PackageError::Invalid {
        format: ".ipk",
        why: e.to_string(),
    })?;
    let control_text = control.to_string();
    let mut members: Vec<(&str, u32, &[u8])> = vec![("./control", 0o644, control_text.as_bytes())];
    if !summary.conffiles.is_empty() {
        members.push(("./conffiles", 0o644, summary.conffiles.as_bytes()));
    }
    members.extend(payload::scripts(spec));
    let control_tar = payload::control_tar(members, Compression::Gzip, mtime)?;

    // The outer gzip wraps members that are gzip already: level 1 (see `Profile::Wrapper`).
    let enc = compress::encoder(out, Compression::Gzip, Profile::Wrapper).map_err(PackageError::Write)?;
    let mut tar = TarWriter::new(enc);
    let mut write =
        |name: &str, len: u64, body: &mut dyn Read| tar.file(name, 0o644, mtime, len, body).map(drop);
    write(
        "./control.tar.gz",
        control_tar.len() as u64,
        &mut &control_tar[..],
    )
    .map_err(PackageError::Write)?;
    let len = data.len();
    write(
        "./data.tar.gz",
        len,
        &mut data.reader().map_err(PackageError::Write)?,
    )
    .map_err(PackageError::Write)?;
    write("./debian-binary", 4, &mut &b"2.0\n"[..]).map_err(PackageError::Write)?;
    tar.finish()
        .map_err(PackageError::Write)?
        .finish_box()
        .map_err(PackageError::Write)
}

/// What an opkg feed needs from an .ipk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpkInfo {
    /// The control paragraph.
    pub control: Paragraph,
    /// Checksums of the whole file.
    pub checksums: Checksums,
    /// Package name.
    pub name: PackageName,
    /// Version.
    pub version: Version,
    /// OpenWrt architecture (or `all`).
    pub arch: String,
}

fn bad(why: impl std::fmt::Display) -> PackageError {
    PackageError::invalid(FORMAT, why.to_string())
}

/// Reads any valid .ipk (wharf's, ipkg-build's, nFPM's): the outer gzip'd tar, its gzip'd control
/// tarball, the control paragraph; and hashes the whole file in the same pass.
pub fn inspect(reader: impl Read) -> Result<IpkInfo, PackageError> {
    let mut hasher = Hasher::for_package();
    let mut control = None;
    let mut found_data = false;
    {
        let mut r = HashingReader::buffered(reader, &mut hasher);
        let head = io::BufRead::fill_buf(&mut r).map_err(bad)?;
        if !head.starts_with(&[0x1f, 0x8b]) {
            let ar = head.starts_with(b"!<arch>");
            return Err(bad(if ar {
                "this is an ar archive; an OpenWrt .ipk is a gzip'd tar (opkg rejects ar-format .ipk files)"
            } else {
                "not a gzip'd tar"
            }));
        }
        let mut outer = ::tar::Archive::new(flate2::bufread::GzDecoder::new(r));
        let entries = outer
            .entries()
            .map_err(|e| bad(format!("not a gzip'd tar ({e})")))?;
        for entry in entries {
            let mut entry = entry.map_err(bad)?;
            let path = entry.path().map_err(bad)?.display().to_string();
            match path.trim_start_matches("./") {
                "control.tar.gz" => control = Some(read_control(&mut entry)?),
                "data.tar.gz" => {
                    found_data = true;
                    check_data(&mut entry)?;
                }
                _ => {}
            }
        }
        // Hash whatever follows the tar's end (padding), then anything after the gzip stream, too: the
        // checksum covers the whole file.
        let mut rest = outer.into_inner();
        io::copy(&mut rest, &mut io::sink())
            .and_then(|_| skip_to_end(&mut rest.into_inner()))
            .map_err(|e| bad(format!("the file is truncated or corrupt ({e})")))?;
    }
    let control = control.ok_or_else(|| bad("no control.tar.gz member"))?;
    if !found_data {
        return Err(bad("no data.tar.gz member"));
    }
    IpkInfo::from_control(control, hasher.finish())
}

impl IpkInfo {
    /// The info of an .ipk with this `control` paragraph and these file checksums (what [`inspect`]
    /// returns for it): checks `Package`, `Version` and `Architecture` (no whitespace, no `/`).
    pub fn from_control(control: Paragraph, checksums: Checksums) -> Result<Self, PackageError> {
        let (name, version, arch) = crate::control_identity(FORMAT, &control)?;
        Ok(Self {
            control,
            checksums,
            name,
            version,
            arch,
        })
    }
}

/// Reads the data tarball through, refusing entries that would land outside the install root.
fn check_data(member: &mut impl Read) -> Result<(), PackageError> {
    crate::paths::check_payload_tar(flate2::read::GzDecoder::new(member))
        .map_err(|why| bad(format!("data.tar.gz: {why}")))
}

fn read_control(member: &mut impl Read) -> Result<Paragraph, PackageError> {
    let mut inner = ::tar::Archive::new(flate2::read::GzDecoder::new(member));
    for entry in inner.entries().map_err(|e| bad(format!("control.tar.gz: {e}")))? {
        let mut entry = entry.map_err(|e| bad(format!("control.tar.gz: {e}")))?;
        let path = entry.path().map_err(bad)?.display().to_string();
        if path.trim_start_matches("./") == "control" {
            let mut text = String::new();
            entry
                .read_to_string(&mut text)
                .map_err(|_| bad("control is not UTF-8 text"))?;
            return Paragraph::parse_one(&text).map_err(|e| bad(format!("control: {e}")));
        }
    }
    Err(bad("control.tar.gz has no `control` file"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spec;

    #[test]
    fn write_then_inspect() {
        let date = SourceDate::from_unix(1_700_000_000).unwrap();
        let mut a = Vec::new();
        write_ipk(
            &spec(),
            "mipsel_24kc",
            date,
            &crate::splice::Payloads::new(),
            &mut a,
        )
        .unwrap();
        let mut b = Vec::new();
        write_ipk(
            &spec(),
            "mipsel_24kc",
            date,
            &crate::splice::Payloads::new(),
            &mut b,
        )
        .unwrap();
        assert_eq!(a, b, "not reproducible");
        assert_eq!(&a[..4], &[0x1f, 0x8b, 8, 0], "outer container is gzip");
        // A few small files: the outer tar's headers and padding are compressed, not stored (a stored
        // outer gzip made this 10 KiB).
        assert!(a.len() < 2048, "{} bytes", a.len());
        let info = inspect(&a[..]).unwrap();
        assert_eq!(info.arch, "mipsel_24kc");
        assert_eq!(info.control.get("SourceDateEpoch"), Some("1700000000"));
        assert_eq!(info.checksums.size, a.len() as u64);
        // Members, names and order as ipkg-build writes them.
        let mut outer = ::tar::Archive::new(flate2::read::GzDecoder::new(&a[..]));
        let names: Vec<String> = outer
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["./control.tar.gz", "./data.tar.gz", "./debian-binary"]);
        assert!(inspect(&a[..a.len() / 2]).is_err());
        assert!(
            inspect(&b"!<arch>\n"[..])
                .unwrap_err()
                .to_string()
                .contains("opkg rejects ar-format")
        );
    }

    /// A gzip'd tar of `files` (our writer accepts any name, even a hostile one).
    fn tgz(files: &[(&str, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        let enc = compress::encoder(&mut out, Compression::Gzip, Profile::Payload).unwrap();
        let mut t = TarWriter::new(enc);
        for (name, body) in files {
            t.file(name, 0o644, 0, body.len() as u64, &mut &body[..]).unwrap();
        }
        t.finish().unwrap().finish_box().unwrap();
        out
    }

    #[test]
    fn escaping_paths_are_refused() {
        let control = tgz(&[("./control", b"Package: evil\nVersion: 1\nArchitecture: all\n")]);
        for hostile in ["./../../etc/shadow", "/etc/shadow"] {
            let data = tgz(&[(hostile, b"x")]);
            let ipk = tgz(&[
                ("./control.tar.gz", &control),
                ("./data.tar.gz", &data),
                ("./debian-binary", b"2.0\n"),
            ]);
            let err = inspect(&ipk[..]).unwrap_err().to_string();
            assert!(err.contains("unsafe"), "{hostile}: {err}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]
        /// Corrupted and truncated packages give an error, never a panic.
        #[test]
        fn reader_never_panics(flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..8), cut in 0usize..4096) {
            let mut ipk = Vec::new();
            write_ipk(&spec(), "x86_64", SourceDate::from_unix(0).unwrap(), &crate::splice::Payloads::new(), &mut ipk).unwrap();
            for (at, byte) in flips {
                let i = at % ipk.len();
                ipk[i] = byte;
            }
            ipk.truncate(ipk.len() - cut % ipk.len());
            let _ = inspect(&ipk[..]);
        }
    }
}
