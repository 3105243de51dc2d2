//! Compression with pinned backends and settings, so the same input always gives the same bytes
//! (formats.md §1): gzip via flate2 + zlib-rs with no name, mtime 0 and OS byte 3 — level 9 for payloads
//! (what `gzip -9n`, dpkg-deb and rpm write) and 6 for indexes (createrepo_c's zlib default and apt's
//! `-6n`; level 9 took twice as long for 1 % less) — payload gzip is [`GzSplicer`]'s, the same bytes
//! until a large file is spliced in; xz via lzma-rust2 with a CRC64 check — preset 6 for payloads (xz-utils' default),
//! and for indexes preset 4 in independent 256 KiB blocks compressed on every core (what `xz -T0
//! --block-size` writes; a 750 KB `Packages` compresses 3.6× faster than one `-6` block and within 2 % of
//! its size; the blocks do not depend on the thread count, so the bytes are reproducible); zstd via the
//! vendored libzstd at level 19 for indexes and 3 (dpkg-deb's default) for payloads. apt's
//! `Packages.{gz,xz}` and rpm-md's `.xml.gz` are compressed in content-defined blocks instead, at the
//! same settings ([`crate::xzblocks`], [`crate::gzblocks`], assembled by `wharf_index::blocks`).

use std::io::{self, Read, Write};

use crate::splice::{Fragment, GzSplicer, Payloads};

/// A compression method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Compression {
    /// Stored as is.
    None,
    /// gzip (RFC 1952).
    Gzip,
    /// xz (the .xz container with LZMA2).
    Xz,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The file-name suffix, with its dot (`""` for none).
    #[must_use]
    pub fn extension(self) -> &'static str {
        match self {
            Self::None => "",
            Self::Gzip => ".gz",
            Self::Xz => ".xz",
            Self::Zstd => ".zst",
        }
    }

    /// The method for a file-name suffix (`""`, `.gz`, `.xz`, `.zst`).
    #[must_use]
    pub fn from_extension(ext: &str) -> Option<Self> {
        [Self::None, Self::Gzip, Self::Xz, Self::Zstd]
            .into_iter()
            .find(|c| c.extension() == ext)
    }
}

/// A compressing writer that must be finished to flush its trailer.
pub trait Encoder: Write {
    /// Writes the trailer and returns the inner writer's bytes count-independent result.
    fn finish_box(self: Box<Self>) -> io::Result<()>;

    /// Places a file's precompressed content next in the stream. Only a payload gzip encoder made with
    /// [`payload_encoder`] can; callers ask [`Payloads`] for a fragment only when writing gzip.
    fn splice(&mut self, _fragment: &Fragment) -> io::Result<()> {
        Err(io::Error::other(
            "this encoder cannot splice precompressed content",
        ))
    }
}

impl<W: Write> Encoder for GzSplicer<'_, W> {
    fn finish_box(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
    fn splice(&mut self, fragment: &Fragment) -> io::Result<()> {
        GzSplicer::splice(self, fragment)
    }
}

struct Plain<W: Write>(W);
impl<W: Write> Write for Plain<W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}
impl<W: Write> Encoder for Plain<W> {
    fn finish_box(mut self: Box<Self>) -> io::Result<()> {
        self.0.flush()
    }
}

impl<W: Write> Encoder for flate2::write::GzEncoder<W> {
    fn finish_box(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
}

impl<W: Write> Encoder for lzma_rust2::XzWriter<W> {
    fn finish_box(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
}

impl<W: Write> Encoder for lzma_rust2::XzWriterMt<W> {
    fn finish_box(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
}

impl<W: Write> Encoder for zstd::stream::write::Encoder<'static, W> {
    fn finish_box(self: Box<Self>) -> io::Result<()> {
        (*self).finish().map(drop)
    }
}

/// Which profile of settings: indexes are small and fetched often (compress hard); package payloads can be
/// large (dpkg-deb's defaults).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Profile {
    /// Repository index files.
    Index,
    /// Package payloads.
    Payload,
    /// An outer container whose members are already compressed (the .ipk's tar.gz of tar.gz members):
    /// gzip at level 1. Its tar headers and end-of-archive padding (most of a small package) shrink to
    /// almost nothing, while the compressed members pass at level 1's speed (deflate stores a block it
    /// cannot shrink); level 6 spent ~0.5 s per 25 MB gaining nothing, and stored blocks made a 48-byte
    /// package 4.5 KiB.
    Wrapper,
}

/// The block (and dictionary) size of an index's xz: blocks are compressed in parallel.
const INDEX_XZ_BLOCK: u32 = 256 * 1024;

/// A payload's compressing writer over `w`: gzip is written by [`GzSplicer`], so that the large files of
/// `payloads` are spliced in compressed once (without fragments its bytes are `gzip -9n`'s).
pub(crate) fn payload_encoder<'a, W: Write + 'a>(
    w: W,
    c: Compression,
    payloads: Option<&'a Payloads>,
) -> io::Result<Box<dyn Encoder + 'a>> {
    match c {
        Compression::Gzip => Ok(Box::new(GzSplicer::new(w, payloads)?)),
        _ => encoder(w, c, Profile::Payload),
    }
}

/// A compressing writer over `w`.
pub fn encoder<'a, W: Write + 'a>(
    w: W,
    c: Compression,
    profile: Profile,
) -> io::Result<Box<dyn Encoder + 'a>> {
    Ok(match c {
        Compression::None => Box::new(Plain(w)),
        Compression::Gzip => Box::new(flate2::GzBuilder::new().mtime(0).operating_system(3).write(
            w,
            flate2::Compression::new(match profile {
                Profile::Index => 6,
                Profile::Payload => 9,
                Profile::Wrapper => 1,
            }),
        )),
        Compression::Xz if profile == Profile::Index => {
            let mut options = lzma_rust2::XzOptions::with_preset(4);
            options.lzma_options.dict_size = INDEX_XZ_BLOCK;
            options.set_block_size(std::num::NonZeroU64::new(u64::from(INDEX_XZ_BLOCK)));
            let threads = wharf_core::parallel::cores();
            Box::new(lzma_rust2::XzWriterMt::new(
                w,
                options,
                u32::try_from(threads).unwrap_or(1),
            )?)
        }
        Compression::Xz => Box::new(lzma_rust2::XzWriter::new(
            w,
            lzma_rust2::XzOptions::with_preset(6),
        )?),
        Compression::Zstd => {
            let level = match profile {
                Profile::Index => 19,
                Profile::Payload | Profile::Wrapper => 3,
            };
            let mut e = zstd::stream::write::Encoder::new(w, level)?;
            e.include_checksum(true)?;
            Box::new(e)
        }
    })
}

/// Compresses a byte slice.
pub fn compress(data: &[u8], c: Compression, profile: Profile) -> io::Result<Vec<u8>> {
    let mut out = Vec::new();
    {
        let mut e = encoder(&mut out, c, profile)?;
        e.write_all(data)?;
        e.finish_box()?;
    }
    Ok(out)
}

/// A decompressing reader over `r`, which is buffered already: the gzip and zstd decoders read from
/// its buffer instead of copying into one of their own (made, and zeroed, for every package).
pub fn buf_decoder<'a, R: io::BufRead + 'a>(r: R, c: Compression) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(r)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(r)?),
        Compression::None | Compression::Xz => decoder(r, c)?,
    })
}

/// A decompressing reader over `r`.
pub fn decoder<'a, R: Read + 'a>(r: R, c: Compression) -> io::Result<Box<dyn Read + 'a>> {
    Ok(match c {
        Compression::None => Box::new(r),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(r)),
        // A hostile header can ask for a huge dictionary; 256 MiB is far above what xz -9 uses (64 MiB).
        Compression::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(r, true, 256 * 1024)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(r)?),
    })
}

/// Decompresses `data`, a whole gzip file — one member or several concatenated (RFC 1952 §2.2; gzip and
/// dpkg read them all) — appending to `out`, and refuses to grow `out` past `limit` bytes. Each member's
/// header is checked (magic, method, reserved flags, the header CRC when present) and its CRC-32 and
/// size. The inflater is kept per thread and reset for each member: a package's control member is a few
/// hundred bytes, and making a decoder (its state and 32 KiB window allocated) cost more than inflating it.
pub fn gunzip(data: &[u8], out: &mut Vec<u8>, limit: usize) -> io::Result<()> {
    thread_local! {
        static INFLATER: std::cell::RefCell<flate2::Decompress> =
            std::cell::RefCell::new(flate2::Decompress::new(false));
    }
    let mut rest = data;
    loop {
        let body = gzip_header(rest)?;
        let start = out.len();
        let used = INFLATER.with_borrow_mut(|z| inflate(z, body, out, limit))?;
        let trailer = body
            .get(used..used + 8)
            .ok_or_else(|| invalid("gzip: the file is truncated (no trailer)"))?;
        let member = &out[start..];
        if trailer[..4] != crc32fast::hash(member).to_le_bytes() {
            return Err(invalid("gzip: CRC-32 mismatch (the file is damaged)"));
        }
        if trailer[4..] != (member.len() as u32).to_le_bytes() {
            return Err(invalid("gzip: size mismatch (the file is damaged)"));
        }
        rest = &body[used + 8..];
        if rest.is_empty() {
            return Ok(());
        }
    }
}

fn invalid(why: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, why)
}

/// The deflate data of the member `d` starts with, after its header.
fn gzip_header(d: &[u8]) -> io::Result<&[u8]> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    let truncated = || invalid("gzip: the file is truncated (in a header)");
    let fixed = d.get(..10).ok_or_else(truncated)?;
    if fixed[..2] != [0x1f, 0x8b] {
        return Err(invalid("gzip: not a gzip member (bad magic)"));
    }
    if fixed[2] != 8 {
        return Err(invalid("gzip: unknown compression method (only deflate exists)"));
    }
    let flags = fixed[3];
    if flags & 0xe0 != 0 {
        return Err(invalid("gzip: reserved header flags set"));
    }
    let mut at = 10;
    if flags & FEXTRA != 0 {
        let len = d.get(at..at + 2).ok_or_else(truncated)?;
        at += 2 + usize::from(u16::from_le_bytes([len[0], len[1]]));
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            let end = d.get(at..).and_then(|t| t.iter().position(|&b| b == 0));
            at += end.ok_or_else(truncated)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        let crc = d.get(at..at + 2).ok_or_else(truncated)?;
        if crc != &crc32fast::hash(&d[..at]).to_le_bytes()[..2] {
            return Err(invalid("gzip: header CRC mismatch (the file is damaged)"));
        }
        at += 2;
    }
    d.get(at..).ok_or_else(truncated)
}

/// Inflates the raw deflate stream at the start of `input` onto `out` (`limit` bytes at most in all);
/// returns how many bytes of `input` it took.
fn inflate(z: &mut flate2::Decompress, input: &[u8], out: &mut Vec<u8>, limit: usize) -> io::Result<usize> {
    z.reset(false);
    loop {
        if out.len() == out.capacity() {
            // Doubling, but never past the limit (a bomb gets no larger buffer than that).
            let room = out
                .capacity()
                .max(16 * 1024)
                .min(limit.saturating_sub(out.len()).saturating_add(1));
            out.reserve_exact(room);
        }
        let (taken, made) = (z.total_in(), out.len());
        let rest = usize::try_from(taken)
            .ok()
            .and_then(|t| input.get(t..))
            .unwrap_or_default();
        let status = z
            .decompress_vec(rest, out, flate2::FlushDecompress::Finish)
            .map_err(|e| invalid(&format!("gzip: {e}")))?;
        if out.len() > limit {
            return Err(io::Error::new(
                io::ErrorKind::FileTooLarge,
                "gzip: decompresses to implausibly much data",
            ));
        }
        match status {
            flate2::Status::StreamEnd => return Ok(usize::try_from(z.total_in()).unwrap_or(usize::MAX)),
            // Room for output and nothing taken or made: the input ended before the stream did.
            _ if z.total_in() == taken && out.len() == made => {
                return Err(invalid("gzip: the file is truncated"));
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_determinism() {
        let data = b"Package: hello\nVersion: 1.0\n".repeat(100);
        for c in [
            Compression::None,
            Compression::Gzip,
            Compression::Xz,
            Compression::Zstd,
        ] {
            let a = compress(&data, c, Profile::Index).unwrap();
            let b = compress(&data, c, Profile::Index).unwrap();
            assert_eq!(a, b, "{c:?} not deterministic");
            let mut back = Vec::new();
            decoder(&a[..], c).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "{c:?}");
            back.clear();
            buf_decoder(&a[..], c).unwrap().read_to_end(&mut back).unwrap();
            assert_eq!(back, data, "{c:?} from a buffered reader");
        }
        // Several xz blocks: the same bytes whatever the thread count, and xz-utils' multi-block layout.
        let big: Vec<u8> = (0..600_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let a = compress(&big, Compression::Xz, Profile::Index).unwrap();
        assert_eq!(a, compress(&big, Compression::Xz, Profile::Index).unwrap());
        let mut back = Vec::new();
        decoder(&a[..], Compression::Xz)
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, big);
        let gz = compress(b"x", Compression::Gzip, Profile::Payload).unwrap();
        assert_eq!(
            &gz[..10],
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3],
            "gzip -9n header"
        );
        let gz = compress(b"x", Compression::Gzip, Profile::Index).unwrap();
        assert_eq!(
            &gz[..10],
            &[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3],
            "gzip -6n header"
        );
    }

    #[test]
    fn gunzip_reads_what_gzip_readers_read_and_refuses_damage() {
        let text: Vec<u8> = (0..20_000u32)
            .flat_map(|i| format!("line {}\n", i % 977).into_bytes())
            .collect();
        let plain = compress(&text, Compression::Gzip, Profile::Index).unwrap();
        // Every optional header field (name, comment, extra), and a header CRC added by hand.
        let mut named = Vec::new();
        let mut w = flate2::GzBuilder::new()
            .filename("control.tar")
            .comment("c")
            .extra(vec![1, 2, 3])
            .write(&mut named, flate2::Compression::new(9));
        w.write_all(b"second member").unwrap();
        w.finish().unwrap();
        // Fixed part, extra (length and 3 bytes), name and comment with their NULs.
        let header_end = 10 + 2 + 3 + 12 + 2;
        let mut hcrc = named.clone();
        hcrc[3] |= 2;
        let crc = crc32fast::hash(&hcrc[..header_end]).to_le_bytes();
        hcrc.splice(header_end..header_end, crc[..2].iter().copied());
        let empty = compress(b"", Compression::Gzip, Profile::Index).unwrap();
        let concatenated = [plain.clone(), hcrc.clone(), empty.clone()].concat();
        for (what, gz) in [
            ("plain", &plain),
            ("named", &named),
            ("header crc", &hcrc),
            ("empty", &empty),
            ("three members", &concatenated),
        ] {
            let mut want = Vec::new();
            flate2::read::MultiGzDecoder::new(&gz[..])
                .read_to_end(&mut want)
                .unwrap();
            // Twice: the thread's inflater starts clean for every member.
            for _ in 0..2 {
                let mut got = b"kept".to_vec();
                gunzip(gz, &mut got, usize::MAX).unwrap();
                assert_eq!(got[4..], want[..], "{what}");
                assert_eq!(&got[..4], b"kept", "{what}: appended");
            }
        }
        // Every shorter prefix is refused, never read as less data.
        for cut in 0..concatenated.len() {
            if cut == plain.len() || cut == plain.len() + hcrc.len() {
                continue; // a member boundary: a whole file of fewer members
            }
            let mut out = Vec::new();
            assert!(
                gunzip(&concatenated[..cut], &mut out, usize::MAX).is_err(),
                "cut at {cut}"
            );
        }
        // Damage: a flipped bit in the data, the CRC, the size, the header CRC; trailing bytes.
        let n = plain.len();
        for (what, at) in [("data", n / 2), ("crc", n - 6), ("size", n - 2)] {
            let mut bad = plain.clone();
            bad[at] ^= 0x10;
            assert!(gunzip(&bad, &mut Vec::new(), usize::MAX).is_err(), "{what}");
        }
        let mut bad = hcrc.clone();
        bad[header_end] ^= 1;
        let e = gunzip(&bad, &mut Vec::new(), usize::MAX).unwrap_err();
        assert!(e.to_string().contains("header CRC"), "{e}");
        let e = gunzip(
            &[plain.clone(), b"junk".to_vec()].concat(),
            &mut Vec::new(),
            usize::MAX,
        )
        .unwrap_err();
        assert!(e.to_string().contains("truncated"), "{e}");
        let mut bad = plain.clone();
        bad[3] = 0x80;
        assert!(
            gunzip(&bad, &mut Vec::new(), usize::MAX).is_err(),
            "reserved flag"
        );
        // The limit: exactly the size passes, one byte less is refused without holding more than it.
        let mut out = Vec::new();
        gunzip(&plain, &mut out, text.len()).unwrap();
        assert_eq!(out, text);
        let mut out = Vec::new();
        let e = gunzip(&plain, &mut out, text.len() - 1).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::FileTooLarge, "{e}");
        assert!(out.capacity() <= text.len(), "{} bytes held", out.capacity());
    }
}
