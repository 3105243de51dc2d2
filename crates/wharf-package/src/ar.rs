//! The Unix `ar` archive as dpkg writes and reads it (dpkg `lib/dpkg/ar.c`, deb(5)): `!<arch>\n`, then per
//! member a 60-byte header — name[16] space-padded (no trailing `/`), mtime[12], uid[6], gid[6],
//! mode[8] octal, size[10], `` `\n `` — and the data padded to an even length with `\n`.

use std::io::{self, Read, Write};

/// The archive magic.
pub const MAGIC: &[u8; 8] = b"!<arch>\n";

/// Writes the archive magic.
pub fn write_magic(w: &mut impl Write) -> io::Result<()> {
    w.write_all(MAGIC)
}

/// Writes one member.
pub fn write_member(w: &mut impl Write, name: &str, mtime: u64, data: &[u8]) -> io::Result<()> {
    let header = format!(
        "{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{:<10}`\n",
        0,
        0,
        100_644,
        data.len()
    );
    debug_assert_eq!(header.len(), 60);
    w.write_all(header.as_bytes())?;
    w.write_all(data)?;
    if data.len() % 2 == 1 {
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// Writes one member of `len` bytes read from `data` (a spooled payload, not held in memory).
pub fn write_member_from(
    w: &mut impl Write,
    name: &str,
    mtime: u64,
    len: u64,
    data: &mut impl Read,
) -> io::Result<()> {
    let header = format!("{name:<16}{mtime:<12}{:<6}{:<6}{:<8}{len:<10}`\n", 0, 0, 100_644);
    debug_assert_eq!(header.len(), 60);
    w.write_all(header.as_bytes())?;
    let copied = io::copy(&mut data.take(len), w)?;
    if copied != len {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            format!("ar member {name}: {copied} of {len} bytes"),
        ));
    }
    if len % 2 == 1 {
        w.write_all(b"\n")?;
    }
    Ok(())
}

/// One member's header as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberHeader {
    /// Name with trailing spaces and one `/` removed.
    pub name: String,
    /// Size of the data.
    pub size: u64,
}

/// Reads the magic; errors if absent.
pub fn read_magic(r: &mut impl Read) -> io::Result<()> {
    let mut m = [0u8; 8];
    r.read_exact(&mut m)?;
    if &m != MAGIC {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "not an ar archive (missing `!<arch>` magic)",
        ));
    }
    Ok(())
}

/// Reads the next member header, or `None` at a clean end of archive.
pub fn read_header(r: &mut impl Read) -> io::Result<Option<MemberHeader>> {
    let mut h = [0u8; 60];
    let mut got = 0;
    while got < 60 {
        let n = r.read(&mut h[got..])?;
        if n == 0 {
            break;
        }
        got += n;
    }
    if got == 0 {
        return Ok(None);
    }
    if got < 60 {
        return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "truncated ar member header",
        ));
    }
    if &h[58..60] != b"`\n" {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "corrupt ar member header",
        ));
    }
    let text = |range: std::ops::Range<usize>| String::from_utf8_lossy(&h[range]).trim_end().to_owned();
    let mut name = text(0..16);
    if name.ends_with('/') {
        name.pop();
    }
    let size = text(48..58)
        .parse::<u64>()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "corrupt ar member size"))?;
    Ok(Some(MemberHeader { name, size }))
}

/// Skips the one padding byte after an odd-sized member.
pub fn skip_padding(r: &mut impl Read, size: u64) -> io::Result<()> {
    if size % 2 == 1 {
        let mut b = [0u8; 1];
        // A missing final pad byte at end of file is tolerated, as dpkg does.
        let _ = r.read(&mut b)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip() {
        let mut out = Vec::new();
        write_magic(&mut out).unwrap();
        write_member(&mut out, "debian-binary", 7, b"2.0\n").unwrap();
        write_member(&mut out, "odd", 7, b"abc").unwrap();
        let mut r = &out[..];
        read_magic(&mut r).unwrap();
        let h = read_header(&mut r).unwrap().unwrap();
        assert_eq!(
            h,
            MemberHeader {
                name: "debian-binary".into(),
                size: 4
            }
        );
        let mut d = vec![0; 4];
        r.read_exact(&mut d).unwrap();
        let h = read_header(&mut r).unwrap().unwrap();
        assert_eq!(h.size, 3);
        let mut d = vec![0; 3];
        r.read_exact(&mut d).unwrap();
        skip_padding(&mut r, 3).unwrap();
        assert!(read_header(&mut r).unwrap().is_none());
    }
}
