//! Release archives made to a project's own shape (`[[archive]]`): the files of several packages in one
//! `.tar.gz`, `.tar.xz`, `.tar.zst` or `.zip`, at their install paths or flat, under a top directory or not.
//! Reproducible as the packages are: names sorted, every mtime clamped to `SOURCE_DATE_EPOCH`, owners root
//! (or the configured ones), gzip without a name or time.
//!
//! The zip writer follows PKWARE's APPNOTE.TXT (6.3.10) §4.3: a local file header and the deflated data
//! per file, then the central directory and its end record; version 2.0, no data descriptor (sizes and
//! CRC-32 are known before each file is written), no extra fields, MS-DOS time from `SOURCE_DATE_EPOCH`
//! (clamped to 1980–2107), Unix modes in the external attributes (made by "Unix", version 3.0).

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

pub use wharf_core::{ArchiveFormat, ArchiveLayout};
use wharf_core::{PackageSpec, SourceDate};

use crate::PackageError;
use crate::compress::Compression;
use crate::payload::{self, Layout, Node, Planned};
use crate::splice::Payloads;

/// How to write an archive.
#[derive(Debug, Clone, Copy)]
pub struct ArchiveOptions<'a> {
    pub format: ArchiveFormat,
    pub layout: ArchiveLayout,
    /// A directory everything goes under (none: the archive's top holds the files).
    pub top: Option<&'a str>,
    pub date: SourceDate,
}

/// The entries of `specs` as `layout` places them (keys `./`-prefixed, directories ending in `/`).
fn entries<'s>(
    specs: &[&'s PackageSpec],
    layout: ArchiveLayout,
) -> Result<BTreeMap<String, Planned<'s>>, PackageError> {
    let mut all: BTreeMap<String, Planned<'s>> = BTreeMap::new();
    for spec in specs {
        for (key, planned) in payload::plan(spec)? {
            let key = match (layout, &planned.node) {
                (ArchiveLayout::Paths, _) => key,
                (ArchiveLayout::Flat, Node::Dir) => continue,
                (ArchiveLayout::Flat, _) => format!("./{}", key.rsplit('/').next().unwrap_or(&key)),
            };
            match all.get(&key) {
                // A directory two packages share is one entry.
                Some(Planned { node: Node::Dir, .. }) if matches!(planned.node, Node::Dir) => {}
                Some(_) => return Err(PackageError::Duplicate(key.trim_start_matches("./").to_owned())),
                None => {
                    all.insert(key, planned);
                }
            }
        }
    }
    Ok(all)
}

/// Writes the archive of `specs`' files into `out`.
pub fn write_archive(
    specs: &[&PackageSpec],
    o: &ArchiveOptions<'_>,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let nodes = entries(specs, o.layout)?;
    let compression = match o.format {
        ArchiveFormat::TarGz => Compression::Gzip,
        ArchiveFormat::TarXz => Compression::Xz,
        ArchiveFormat::TarZst => Compression::Zstd,
        ArchiveFormat::Zip => return write_zip(&nodes, o, out),
    };
    payload::write_data(
        &nodes,
        Layout::Archive(o.top.unwrap_or("")),
        compression,
        o.date,
        payloads,
        out,
    )?;
    out.flush().map_err(PackageError::Write)
}

/// MS-DOS date and time of `unix` seconds (UTC), clamped to what the format holds.
fn dos_time(unix: i64) -> (u16, u16) {
    let unix = unix.clamp(315_532_800, 4_354_819_198);
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let date = ((year - 1980) << 9) | (month << 5) | day;
    let time = ((secs / 3600) << 11) | (((secs % 3600) / 60) << 5) | ((secs % 60) / 2);
    (u16::try_from(time).unwrap_or(0), u16::try_from(date).unwrap_or(0))
}

/// Counts what passes through.
struct Counting<W: Write> {
    inner: W,
    at: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.at += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn write_zip(
    nodes: &BTreeMap<String, Planned<'_>>,
    o: &ArchiveOptions<'_>,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let err = PackageError::Write;
    let clamp = u64::try_from(o.date.unix()).unwrap_or(0);
    let (time, date) = dos_time(o.date.unix());
    let mut w = Counting { inner: out, at: 0 };
    let mut central = Vec::new();
    let mut count = 0u16;
    let top_dir = Planned {
        node: Node::Dir,
        mode: 0o755,
        owner: None,
    };
    let mut names: Vec<(String, &Planned<'_>)> = Vec::new();
    if let Some(top) = o.top {
        names.push((format!("{top}/"), &top_dir));
    }
    let prefix = o.top.map_or_else(String::new, |t| format!("{t}/"));
    for (key, planned) in nodes {
        names.push((format!("{prefix}{}", &key[2..]), planned));
    }
    for (name, planned) in names {
        // Deflated data (or a link's target, stored as its content, as Info-ZIP stores links).
        let (data, mode, kind): (Vec<u8>, u32, u32) = match &planned.node {
            Node::Dir => (Vec::new(), planned.mode, 0o040_000),
            Node::Symlink { target } => (target.as_bytes().to_vec(), 0o777, 0o120_000),
            Node::File { content, .. } => {
                let (mut reader, size, _) = payload::open_content(content, clamp)?;
                let mut bytes = Vec::new();
                reader
                    .by_ref()
                    .take(size)
                    .read_to_end(&mut bytes)
                    .map_err(|e| payload::content_error(content, e, size))?;
                (bytes, planned.mode, 0o100_000)
            }
        };
        let crc = crc32fast::hash(&data);
        let (method, stored): (u16, Vec<u8>) =
            if matches!(planned.node, Node::File { .. }) && !data.is_empty() {
                let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(9));
                e.write_all(&data).map_err(err)?;
                (8, e.finish().map_err(err)?)
            } else {
                (0, data.clone())
            };
        let too_big = |n: usize| {
            u32::try_from(n).map_err(|_| {
                err(io::Error::other(
                    "a file over 4 GiB needs zip64, which wharf does not write",
                ))
            })
        };
        let (csize, usize_) = (too_big(stored.len())?, too_big(data.len())?);
        let name_len = u16::try_from(name.len()).map_err(|_| err(io::Error::other("a name over 64 KiB")))?;
        let offset =
            u32::try_from(w.at).map_err(|_| err(io::Error::other("an archive over 4 GiB needs zip64")))?;
        let mut local = Vec::with_capacity(30 + name.len());
        local.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        local.extend_from_slice(&20u16.to_le_bytes()); // version needed: 2.0
        local.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        local.extend_from_slice(&method.to_le_bytes());
        local.extend_from_slice(&time.to_le_bytes());
        local.extend_from_slice(&date.to_le_bytes());
        local.extend_from_slice(&crc.to_le_bytes());
        local.extend_from_slice(&csize.to_le_bytes());
        local.extend_from_slice(&usize_.to_le_bytes());
        local.extend_from_slice(&name_len.to_le_bytes());
        local.extend_from_slice(&0u16.to_le_bytes()); // extra
        local.extend_from_slice(name.as_bytes());
        w.write_all(&local).map_err(err)?;
        w.write_all(&stored).map_err(err)?;
        central.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
        central.extend_from_slice(&0x031eu16.to_le_bytes()); // made by Unix, version 3.0
        central.extend_from_slice(&local[4..30]);
        central.extend_from_slice(&0u16.to_le_bytes()); // comment
        central.extend_from_slice(&0u16.to_le_bytes()); // disk
        central.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        central.extend_from_slice(&((kind | mode) << 16).to_le_bytes());
        central.extend_from_slice(&offset.to_le_bytes());
        central.extend_from_slice(name.as_bytes());
        count = count
            .checked_add(1)
            .ok_or_else(|| err(io::Error::other("more than 65,535 files need zip64")))?;
    }
    let start =
        u32::try_from(w.at).map_err(|_| err(io::Error::other("an archive over 4 GiB needs zip64")))?;
    let size =
        u32::try_from(central.len()).map_err(|_| err(io::Error::other("a central directory over 4 GiB")))?;
    w.write_all(&central).map_err(err)?;
    let mut end = Vec::with_capacity(22);
    end.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
    end.extend_from_slice(&[0; 4]); // disk numbers
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&count.to_le_bytes());
    end.extend_from_slice(&size.to_le_bytes());
    end.extend_from_slice(&start.to_le_bytes());
    end.extend_from_slice(&0u16.to_le_bytes());
    w.write_all(&end).map_err(err)?;
    w.flush().map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dos_times() {
        // 2023-11-14 22:13:20 UTC.
        let (time, date) = dos_time(1_700_000_000);
        assert_eq!(date >> 9, 2023 - 1980);
        assert_eq!((date >> 5) & 0xf, 11);
        assert_eq!(date & 0x1f, 14);
        assert_eq!(time >> 11, 22);
        assert_eq!((time >> 5) & 0x3f, 13);
        assert_eq!((time & 0x1f) * 2, 20);
        // Before 1980: the earliest the format holds.
        assert_eq!(dos_time(0), (0, 0x21));
    }
}
