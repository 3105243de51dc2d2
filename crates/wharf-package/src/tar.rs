//! A deterministic tar writer in GNU format, as `dpkg-deb` and OpenWrt's `ipkg-build` write it
//! (`tar --format=gnu --numeric-owner --sort=name`): `ustar  \0` magic, octal fields, owner root:root,
//! names longer than 100 bytes carried by a `././@LongLink` (type `L`/`K`) entry, sizes beyond 8 GiB in
//! GNU base-256. The caller sorts entries and supplies mtimes; nothing here reads a clock or the
//! filesystem. Layout reference: GNU tar's `tar.h` and POSIX.1-1988 ustar.

use std::io::{self, Read, Write};

const BLOCK: usize = 512;

/// Entry types used by packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryType {
    /// A regular file (`0`).
    File,
    /// A directory (`5`).
    Dir,
    /// A symbolic link (`2`).
    Symlink,
}

/// Writes tar entries to `W`.
pub struct TarWriter<W: Write> {
    out: W,
    written: u64,
    owner: (String, String),
}

fn octal(field: &mut [u8], value: u64) {
    // `len-1` octal digits, zero-padded, then NUL.
    let digits = field.len() - 1;
    let s = format!("{value:0digits$o}");
    if s.len() > digits {
        // GNU base-256: high bit set, big-endian binary in the rest.
        field.fill(0);
        field[0] = 0x80;
        let bytes = value.to_be_bytes();
        let n = field.len();
        field[n - 8..].copy_from_slice(&bytes);
        field[0] |= 0x80;
        return;
    }
    field[..digits].copy_from_slice(s.as_bytes());
    field[digits] = 0;
}

impl<W: Write> TarWriter<W> {
    /// A writer over `out`.
    pub fn new(out: W) -> Self {
        Self {
            out,
            written: 0,
            owner: ("root".into(), "root".into()),
        }
    }

    /// The user and group names written for the following entries (uid/gid stay 0; dpkg resolves the
    /// names on the target system). `root`/`root` by default.
    pub fn set_owner(&mut self, user: &str, group: &str) {
        self.owner = (user.to_owned(), group.to_owned());
    }

    fn raw(&mut self, data: &[u8]) -> io::Result<()> {
        self.out.write_all(data)?;
        self.written += data.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let rem = (self.written % BLOCK as u64) as usize;
        if rem != 0 {
            self.raw(&[0; BLOCK][..BLOCK - rem])?;
        }
        Ok(())
    }

    fn header(
        &mut self,
        name: &[u8],
        typ: u8,
        mode: u32,
        size: u64,
        mtime: u64,
        link: &[u8],
    ) -> io::Result<()> {
        let mut h = [0u8; BLOCK];
        h[..name.len().min(100)].copy_from_slice(&name[..name.len().min(100)]);
        octal(&mut h[100..108], u64::from(mode & 0o7777));
        octal(&mut h[108..116], 0);
        octal(&mut h[116..124], 0);
        octal(&mut h[124..136], size);
        octal(&mut h[136..148], mtime);
        h[156] = typ;
        h[157..157 + link.len().min(100)].copy_from_slice(&link[..link.len().min(100)]);
        h[257..265].copy_from_slice(b"ustar  \0");
        let (user, group) = (self.owner.0.as_bytes(), self.owner.1.as_bytes());
        h[265..265 + user.len().min(31)].copy_from_slice(&user[..user.len().min(31)]);
        h[297..297 + group.len().min(31)].copy_from_slice(&group[..group.len().min(31)]);
        h[148..156].fill(b' ');
        let sum: u32 = h.iter().map(|&b| u32::from(b)).sum();
        let s = format!("{sum:06o}\0 ");
        h[148..156].copy_from_slice(s.as_bytes());
        self.raw(&h)
    }

    fn long(&mut self, typ: u8, value: &[u8]) -> io::Result<()> {
        let mut data = value.to_vec();
        data.push(0);
        self.header(b"././@LongLink", typ, 0o644, data.len() as u64, 0, b"")?;
        self.raw(&data)?;
        self.pad()
    }

    fn entry_header(
        &mut self,
        name: &str,
        typ: EntryType,
        mode: u32,
        size: u64,
        mtime: u64,
        link: &str,
    ) -> io::Result<()> {
        if name.len() > 100 {
            self.long(b'L', name.as_bytes())?;
        }
        if link.len() > 100 {
            self.long(b'K', link.as_bytes())?;
        }
        let t = match typ {
            EntryType::File => b'0',
            EntryType::Dir => b'5',
            EntryType::Symlink => b'2',
        };
        self.header(name.as_bytes(), t, mode, size, mtime, link.as_bytes())
    }

    /// A directory entry (`name` should end in `/`).
    pub fn dir(&mut self, name: &str, mode: u32, mtime: u64) -> io::Result<()> {
        self.entry_header(name, EntryType::Dir, mode, 0, mtime, "")
    }

    /// A symbolic link.
    pub fn symlink(&mut self, name: &str, target: &str, mtime: u64) -> io::Result<()> {
        self.entry_header(name, EntryType::Symlink, 0o777, 0, mtime, target)
    }

    /// A regular file of exactly `size` bytes read from `data`. Returns the bytes copied; a short
    /// read is an `UnexpectedEof` error (the archive would be corrupt otherwise).
    pub fn file(
        &mut self,
        name: &str,
        mode: u32,
        mtime: u64,
        size: u64,
        data: &mut dyn Read,
    ) -> io::Result<u64> {
        self.entry_header(name, EntryType::File, mode, size, mtime, "")?;
        let copied = io::copy(&mut data.take(size), &mut WriteCounter(self))?;
        if copied != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{name}: expected {size} bytes, got {copied}"),
            ));
        }
        self.pad()?;
        Ok(copied)
    }

    /// A regular file of `size` bytes that `put` writes straight into the inner writer (a compressed
    /// fragment spliced into the stream): the header, then `put`, then the padding.
    pub fn file_with(
        &mut self,
        name: &str,
        mode: u32,
        mtime: u64,
        size: u64,
        put: impl FnOnce(&mut W) -> io::Result<()>,
    ) -> io::Result<()> {
        self.entry_header(name, EntryType::File, mode, size, mtime, "")?;
        put(&mut self.out)?;
        self.written += size;
        self.pad()
    }

    /// A POSIX.1-2001 extended header (type `x`) carrying `records` for the entry that follows, as
    /// abuild-tar writes `APK-TOOLS.checksum.SHA1`. Each record is `"<len> <key>=<value>\n"`, where `len`
    /// counts the whole record including its own digits.
    pub fn pax(&mut self, records: &[(&str, &str)], mtime: u64) -> io::Result<()> {
        let mut body = Vec::new();
        for (key, value) in records {
            let base = key.len() + value.len() + 3; // ' ', '=', '\n'
            let mut len = base + base.to_string().len();
            if len.to_string().len() != base.to_string().len() {
                len += 1;
            }
            body.extend_from_slice(format!("{len} {key}={value}\n").as_bytes());
        }
        self.header(b"PaxHeader", b'x', 0o644, body.len() as u64, mtime, b"")?;
        self.raw(&body)?;
        self.pad()
    }

    /// Returns the inner writer without the end-of-archive blocks: apk's signature and control members
    /// are such "cut" tarballs (`abuild-tar --cut`), so that the concatenated gzip members read as one tar.
    pub fn finish_cut(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }

    /// Writes the two zero blocks that end an archive and returns the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.raw(&[0; BLOCK * 2])?;
        self.out.flush()?;
        Ok(self.out)
    }
}

struct WriteCounter<'a, W: Write>(&'a mut TarWriter<W>);
impl<W: Write> Write for WriteCounter<'_, W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.0.out.write(b)?;
        self.0.written += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tar_crate_reads_it_back() {
        let mut t = TarWriter::new(Vec::new());
        t.dir("./", 0o755, 5).unwrap();
        let long = format!("./{}/file", "d".repeat(120));
        t.file(&long, 0o644, 5, 3, &mut &b"abc"[..]).unwrap();
        t.symlink("./link", &"t".repeat(150), 5).unwrap();
        let bytes = t.finish().unwrap();
        assert_eq!(bytes.len() % 512, 0);
        let mut a = ::tar::Archive::new(&bytes[..]);
        let got: Vec<(String, u64, u64)> = a
            .entries()
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.path().unwrap().display().to_string(),
                    e.header().mtime().unwrap(),
                    e.size(),
                )
            })
            .collect();
        assert_eq!(got, [("./".into(), 5, 0), (long, 5, 3), ("./link".into(), 5, 0)]);
    }

    #[test]
    fn pax_records_and_cut_archives() {
        let mut t = TarWriter::new(Vec::new());
        let sha = "a".repeat(40);
        t.pax(&[("APK-TOOLS.checksum.SHA1", &sha)], 0).unwrap();
        t.file("usr/bin/x", 0o755, 0, 2, &mut &b"hi"[..]).unwrap();
        let cut = t.finish_cut().unwrap();
        assert_eq!(
            cut.len(),
            4 * 512,
            "pax header + record + file header + data, no EOF blocks"
        );
        let record = format!("68 APK-TOOLS.checksum.SHA1={sha}\n");
        assert_eq!(record.len(), 68);
        assert_eq!(&cut[512..512 + 68], record.as_bytes());
        let mut a = ::tar::Archive::new(&cut[..]);
        let mut entries = a.entries().unwrap();
        let mut e = entries.next().unwrap().unwrap();
        assert_eq!(e.path().unwrap().to_str(), Some("usr/bin/x"));
        let pax: Vec<(String, String)> = e
            .pax_extensions()
            .unwrap()
            .unwrap()
            .map(|x| {
                let x = x.unwrap();
                (x.key().unwrap().to_owned(), x.value().unwrap().to_owned())
            })
            .collect();
        assert_eq!(pax, [("APK-TOOLS.checksum.SHA1".to_owned(), sha)]);
        assert!(entries.next().is_none(), "a cut archive reads to its end");
    }

    #[test]
    fn short_input_is_an_error() {
        let mut t = TarWriter::new(Vec::new());
        assert!(t.file("x", 0o644, 0, 10, &mut &b"abc"[..]).is_err());
    }
}
