//! A large file's content compressed once and spliced into every gzip payload that carries it.
//!
//! `wharf package` writing a .deb, .rpm, .apk and .ipk of one 50 MB binary used to deflate the same
//! bytes four times. A file of at least [`SPLICE_MIN`] bytes is now compressed once, on every core, into
//! a [`Fragment`]: raw deflate (RFC 1951) in independent 1 MiB chunks, each ended by a sync flush — zlib's
//! `Z_SYNC_FLUSH`, an empty stored block that leaves the stream byte-aligned with no final block — so the
//! chunks, and the fragment as a whole, can be placed between any two deflate streams that are also
//! byte-aligned. [`GzSplicer`] writes a gzip member (RFC 1952) that way: the bytes around the file (tar or
//! cpio headers, padding, small files) are deflated by its own compressor, which is sync-flushed and reset
//! at each fragment, and the member's CRC-32 and size combine the fragment's own (`crc32_combine`). This
//! is pigz's layout (one member, independent blocks), which every inflater reads — unlike a series of
//! gzip members, which some single-member readers stop after.
//!
//! Within a chunk, 64 KiB pieces whose bytes look random (order-0 entropy above 7.95 bits per byte:
//! compressed or encrypted data embedded in a binary, a `.gz`, an image) are written as stored blocks
//! instead of searched for matches that deflate cannot use (zlib stores such blocks in the end anyway:
//! the output is no larger, the ~15 ms per MiB of level 9's search is saved).
//!
//! The chunk boundaries and those choices depend only on the file, never on the thread count, so the
//! bytes are reproducible. While the chunks compress, one pass computes what the formats need of the content —
//! MD5 (dpkg's `md5sums`), SHA-1 (apk's pax record), SHA-256 (rpm's file digest) and the CRC — so a file
//! is read once whatever the formats. Compressed chunks go to one unnamed temporary file shared by the
//! fragments of a run (read back with `pread`): memory does not grow with the file.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, mpsc};

use flate2::{Compress, Compression, FlushCompress, Status};
use md5::{Digest, Md5};
use sha1::Sha1;
use sha2::Sha256;

use crate::PackageError;

/// Files at least this large are compressed once per run and spliced into each gzip payload.
pub const SPLICE_MIN: u64 = 1024 * 1024;

/// The uncompressed size of one independently compressed chunk.
const CHUNK: usize = 1024 * 1024;

/// The deflate level of payloads: `gzip -9`, dpkg-deb's and rpm's default.
pub(crate) const LEVEL: u32 = 9;

/// One file's content, compressed once, with its digests.
#[derive(Debug)]
pub struct Fragment {
    /// Where the compressed chunks are in the run's temporary file.
    extents: Vec<(u64, usize)>,
    /// The content's size.
    pub(crate) size: u64,
    /// The file's mtime, in seconds, clamped to the source date.
    pub(crate) mtime: u64,
    /// CRC-32 of the content (combinable).
    crc: crc32fast::Hasher,
    pub(crate) md5: [u8; 16],
    pub(crate) sha1: [u8; 20],
    pub(crate) sha256: [u8; 32],
}

/// Why computing a fragment failed, kept so that every format waiting for it gets the same error.
#[derive(Debug, Clone)]
enum Failure {
    Input(io::ErrorKind, String),
    Changed(u64),
    Write(io::ErrorKind, String),
}

type Slot = Arc<OnceLock<Result<Arc<Fragment>, Failure>>>;

/// The fragments of one packaging run, shared by the threads writing its packages.
#[derive(Debug, Default)]
pub struct Payloads {
    slots: Mutex<HashMap<PathBuf, Slot>>,
    arena: Mutex<Option<(File, u64)>>,
}

impl Payloads {
    /// An empty set; fragments are made when a writer first asks for them.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// The fragment of the file at `path` when it is large enough to be spliced, made on first use (other
    /// threads asking meanwhile wait for it). `clamp` is the source date, in seconds.
    pub(crate) fn fragment(&self, path: &Path, clamp: u64) -> Result<Option<Arc<Fragment>>, PackageError> {
        let meta = std::fs::metadata(path).map_err(|source| PackageError::Input {
            path: path.to_owned(),
            source,
        })?;
        if !meta.is_file() || meta.len() < SPLICE_MIN {
            return Ok(None);
        }
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(slots.entry(path.to_owned()).or_default())
        };
        match slot.get_or_init(|| self.make(path, clamp).map(Arc::new)) {
            Ok(f) => Ok(Some(Arc::clone(f))),
            Err(Failure::Input(kind, why)) => Err(PackageError::Input {
                path: path.to_owned(),
                source: io::Error::new(*kind, why.clone()),
            }),
            Err(Failure::Changed(expected)) => Err(PackageError::Changed {
                path: path.to_owned(),
                expected: *expected,
            }),
            Err(Failure::Write(kind, why)) => Err(PackageError::Write(io::Error::new(*kind, why.clone()))),
        }
    }

    /// Appends compressed bytes to the run's temporary file; returns their offset.
    fn append(&self, bytes: &[u8]) -> io::Result<u64> {
        let mut arena = self
            .arena
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if arena.is_none() {
            *arena = Some((tempfile::tempfile()?, 0));
        }
        let Some((file, end)) = arena.as_mut() else {
            unreachable!("set above")
        };
        let at = *end;
        file.write_all_at(bytes, at)?;
        *end += bytes.len() as u64;
        Ok(at)
    }

    /// Copies a fragment's compressed bytes into `out`.
    fn copy(&self, fragment: &Fragment, out: &mut dyn Write) -> io::Result<()> {
        let file = {
            let arena = self
                .arena
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match arena.as_ref() {
                Some((f, _)) => f.try_clone()?,
                None => return Err(io::Error::other("fragment without its temporary file")),
            }
        };
        let mut buf = Vec::new();
        for &(at, len) in &fragment.extents {
            if buf.len() < len {
                buf.resize(len, 0);
            }
            file.read_exact_at(&mut buf[..len], at)?;
            out.write_all(&buf[..len])?;
        }
        Ok(())
    }

    fn make(&self, path: &Path, clamp: u64) -> Result<Fragment, Failure> {
        let input = |e: io::Error| Failure::Input(e.kind(), e.to_string());
        let mut file = File::open(path).map_err(input)?;
        let meta = file.metadata().map_err(input)?;
        let size = meta.len();
        let mtime = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(clamp, |d| d.as_secs().min(clamp));
        // One thread per core compresses chunks as they come; this one reads and hashes them in order and
        // writes the compressed chunks out in order. Chunks in flight are bounded (memory stays flat).
        let threads = wharf_core::parallel::cores().max(1);
        let (mut md5, mut sha1, mut sha256) = (Md5::new(), Sha1::new(), Sha256::new());
        let mut crc = crc32fast::Hasher::new();
        let mut extents = Vec::new();
        let (work_tx, work_rx) = mpsc::sync_channel::<(usize, Vec<u8>)>(threads);
        let work_rx = Mutex::new(work_rx);
        let (done_tx, done_rx) = mpsc::channel::<(usize, io::Result<Vec<u8>>)>();
        std::thread::scope(|s| -> Result<(), Failure> {
            for _ in 0..threads {
                let (work_rx, done_tx) = (&work_rx, done_tx.clone());
                s.spawn(move || {
                    loop {
                        let job = work_rx
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .recv();
                        let Ok((i, chunk)) = job else { return };
                        if done_tx.send((i, deflate_chunk(&chunk))).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(done_tx);
            let mut pending = std::collections::BTreeMap::new();
            let store = |pending: &mut std::collections::BTreeMap<usize, io::Result<Vec<u8>>>,
                         extents: &mut Vec<(u64, usize)>|
             -> Result<(), Failure> {
                while let Some(c) = pending.remove(&extents.len()) {
                    let c = c.map_err(|e| Failure::Write(e.kind(), e.to_string()))?;
                    let at = self
                        .append(&c)
                        .map_err(|e| Failure::Write(e.kind(), e.to_string()))?;
                    extents.push((at, c.len()));
                }
                Ok(())
            };
            let mut left = size;
            let mut sent = 0;
            while left > 0 {
                let n = usize::try_from(left.min(CHUNK as u64)).unwrap_or(CHUNK);
                let mut chunk = vec![0; n];
                file.read_exact(&mut chunk).map_err(|e| match e.kind() {
                    io::ErrorKind::UnexpectedEof => Failure::Changed(size),
                    _ => input(e),
                })?;
                left -= n as u64;
                md5.update(&chunk);
                sha1.update(&chunk);
                sha256.update(&chunk);
                crc.update(&chunk);
                if work_tx.send((sent, chunk)).is_err() {
                    break;
                }
                sent += 1;
                pending.extend(done_rx.try_iter());
                store(&mut pending, &mut extents)?;
            }
            drop(work_tx);
            while extents.len() < sent {
                let Ok((i, c)) = done_rx.recv() else {
                    return Err(Failure::Write(
                        io::ErrorKind::Other,
                        "a compression thread stopped".into(),
                    ));
                };
                pending.insert(i, c);
                store(&mut pending, &mut extents)?;
            }
            Ok(())
        })?;
        // A file that grew while being read would be cut short in the package.
        if file.read(&mut [0; 1]).map_err(input)? != 0 {
            return Err(Failure::Changed(size));
        }
        Ok(Fragment {
            extents,
            size,
            mtime,
            crc,
            md5: md5.finalize().into(),
            sha1: sha1.finalize().into(),
            sha256: sha256.finalize().into(),
        })
    }
}

/// The granularity at which content is judged incompressible.
const PIECE: usize = 64 * 1024;

/// Order-0 entropy, in bits per byte, above which a piece is stored rather than deflated: random or
/// already-compressed bytes (an embedded archive, a `.gz`, a `.png`) measure ~7.99, machine code 5–6.5,
/// text 4–5. Deflate cannot shrink such a piece (zlib itself falls back to stored blocks), but level 9's
/// match search spends ~15 ms per MiB failing to; stored, the bytes cost a copy. Matches within deflate's
/// 32 KiB window in otherwise random bytes are lost — rare, and bounded by the piece.
const INCOMPRESSIBLE_BITS: f64 = 7.95;

fn incompressible(piece: &[u8]) -> bool {
    // Too few bytes to tell: deflate them.
    if piece.len() < 4096 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in piece {
        counts[usize::from(b)] += 1;
    }
    let n = piece.len() as f64;
    let seen = counts.iter().filter(|&&c| c > 0).count();
    let bits: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    // Miller–Madow: a sample underestimates entropy by about (K − 1) / (2 n ln 2) bits, so the last, short
    // piece of random bytes reads as random too.
    let corrected = bits + (seen.saturating_sub(1)) as f64 / (2.0 * n * std::f64::consts::LN_2);
    corrected > INCOMPRESSIBLE_BITS
}

/// Raw deflate of `data`, ended by a sync flush (byte-aligned, no final block): runs of compressible
/// 64 KiB pieces deflated at [`LEVEL`], runs of incompressible ones as stored blocks (RFC 1951 §3.2.4).
/// The result depends only on `data`.
fn deflate_chunk(data: &[u8]) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 16 + 1024);
    let mut pieces: Vec<&[u8]> = data.chunks(PIECE).collect();
    // A short last piece is judged with the one before it (too few bytes to tell on its own).
    if pieces.len() > 1 && pieces[pieces.len() - 1].len() < PIECE / 4 {
        pieces.pop();
        let last = pieces.len() - 1;
        pieces[last] = &data[last * PIECE..];
    }
    let mut i = 0;
    while i < pieces.len() {
        let stored = incompressible(pieces[i]);
        let mut j = i + 1;
        while j < pieces.len() && incompressible(pieces[j]) == stored {
            j += 1;
        }
        let run_start = i * PIECE;
        let run_end = if j == pieces.len() { data.len() } else { j * PIECE };
        let bytes = &data[run_start..run_end];
        if stored {
            // Each stored block: a byte holding BFINAL=0 and BTYPE=00 (the stream is byte-aligned after
            // a sync flush, so the header's padding fills the byte), then LEN and its complement.
            for block in bytes.chunks(usize::from(u16::MAX)) {
                let len = u16::try_from(block.len()).unwrap_or(u16::MAX);
                out.push(0);
                out.extend_from_slice(&len.to_le_bytes());
                out.extend_from_slice(&(!len).to_le_bytes());
                out.extend_from_slice(block);
            }
        } else {
            deflate_synced(bytes, LEVEL, &mut out)?;
        }
        i = j;
    }
    Ok(out)
}

/// Appends the raw deflate of `data` at `level` to `out`, ended by a sync flush (byte-aligned, no final
/// block): a fresh stream that can be placed after any other byte-aligned one.
pub(crate) fn deflate_synced(data: &[u8], level: u32, out: &mut Vec<u8>) -> io::Result<()> {
    deflate_synced_after(&[], data, level, out)
}

/// [`deflate_synced`], for a stream in which `data` follows `window` (up to 32 KiB of what the stream
/// held just before it): matches may reach back into it, as pigz primes each block with the last one.
pub(crate) fn deflate_synced_after(
    window: &[u8],
    data: &[u8],
    level: u32,
    out: &mut Vec<u8>,
) -> io::Result<()> {
    let mut c = Compress::new(Compression::new(level), false);
    if !window.is_empty() {
        c.set_dictionary(window)
            .map_err(|e| io::Error::other(format!("deflate dictionary: {e}")))?;
    }
    run(&mut c, data, FlushCompress::Sync, &mut |b| {
        out.extend_from_slice(b);
        Ok(())
    })
}

/// Feeds all of `input` to `c` with `flush`, handing each piece of output to `emit`, until the flush is
/// complete (the output buffer was not filled) or, for `Finish`, the stream has ended.
fn run(
    c: &mut Compress,
    mut input: &[u8],
    flush: FlushCompress,
    emit: &mut dyn FnMut(&[u8]) -> io::Result<()>,
) -> io::Result<()> {
    let mut buf = Vec::with_capacity(64 * 1024);
    loop {
        buf.clear();
        let before = c.total_in();
        let status = c
            .compress_vec(input, &mut buf, flush)
            .map_err(|e| io::Error::other(format!("deflate: {e}")))?;
        let used = usize::try_from(c.total_in() - before).unwrap_or(input.len());
        input = &input[used.min(input.len())..];
        emit(&buf)?;
        let room_left = buf.len() < buf.capacity();
        match status {
            Status::StreamEnd => return Ok(()),
            _ if flush == FlushCompress::Finish => {}
            _ if input.is_empty() && room_left => return Ok(()),
            Status::BufError if input.is_empty() => return Ok(()),
            _ => {}
        }
    }
}

/// A gzip member (`gzip -9n`: no name, mtime 0, OS Unix) that can splice in [`Fragment`]s.
pub(crate) struct GzSplicer<'p, W: Write> {
    out: W,
    c: Compress,
    crc: crc32fast::Hasher,
    size: u64,
    payloads: Option<&'p Payloads>,
}

impl<'p, W: Write> GzSplicer<'p, W> {
    /// Writes the gzip header to `out`.
    pub(crate) fn new(mut out: W, payloads: Option<&'p Payloads>) -> io::Result<Self> {
        // ID1 ID2 CM=deflate FLG=0 MTIME=0 XFL=2 (maximum compression) OS=3 (Unix).
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 3])?;
        Ok(Self {
            out,
            c: Compress::new(Compression::new(LEVEL), false),
            crc: crc32fast::Hasher::new(),
            size: 0,
            payloads,
        })
    }

    fn deflate(&mut self, input: &[u8], flush: FlushCompress) -> io::Result<()> {
        let out = &mut self.out;
        run(&mut self.c, input, flush, &mut |b| out.write_all(b))
    }

    /// Places `fragment` next in the stream: the bytes so far are sync-flushed, the fragment copied, and
    /// the compressor restarted (nothing after refers back into the fragment).
    pub(crate) fn splice(&mut self, fragment: &Fragment) -> io::Result<()> {
        let payloads = self
            .payloads
            .ok_or_else(|| io::Error::other("a fragment spliced into a stream without its payloads"))?;
        self.deflate(&[], FlushCompress::Sync)?;
        payloads.copy(fragment, &mut self.out)?;
        self.crc.combine(&fragment.crc);
        self.size += fragment.size;
        self.c.reset();
        Ok(())
    }

    /// Ends the deflate stream and writes the CRC-32 and size trailer; returns the inner writer.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        self.deflate(&[], FlushCompress::Finish)?;
        let crc = self.crc.clone().finalize();
        self.out.write_all(&crc.to_le_bytes())?;
        // ISIZE is the size modulo 2^32 (RFC 1952).
        self.out
            .write_all(&((self.size & 0xffff_ffff) as u32).to_le_bytes())?;
        self.out.flush()?;
        Ok(self.out)
    }
}

impl<W: Write> Write for GzSplicer<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.crc.update(buf);
        self.size += buf.len() as u64;
        self.deflate(buf, FlushCompress::None)?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        // Flushing would change the bytes; the stream is flushed by `finish`.
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(n: usize) -> Vec<u8> {
        // Pseudo-random (stored), then random and repetitive in turn (deflated), like a binary.
        let mut x = 0x1234_5678u32;
        (0..n)
            .map(|i| {
                if i < n / 3 || (i / 4096) % 2 == 0 {
                    x ^= x << 13;
                    x ^= x >> 17;
                    x ^= x << 5;
                    x as u8
                } else {
                    b"spliced"[i % 7]
                }
            })
            .collect()
    }

    fn gunzip(gz: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        // A single-member reader: the member must be whole, not a series.
        flate2::read::GzDecoder::new(gz).read_to_end(&mut back).unwrap();
        back
    }

    #[test]
    fn spliced_members_read_back_and_are_reproducible() {
        let dir = tempfile::tempdir().unwrap();
        let data = content(3 * CHUNK + 12_345);
        let path = dir.path().join("big");
        std::fs::write(&path, &data).unwrap();
        let make = |payloads: &Payloads| {
            let f = payloads.fragment(&path, u64::MAX).unwrap().unwrap();
            let mut gz = GzSplicer::new(Vec::new(), Some(payloads)).unwrap();
            gz.write_all(b"before ").unwrap();
            gz.splice(&f).unwrap();
            gz.write_all(b" between ").unwrap();
            gz.splice(&f).unwrap();
            gz.finish().unwrap()
        };
        let payloads = Payloads::new();
        let a = make(&payloads);
        let mut want = b"before ".to_vec();
        want.extend_from_slice(&data);
        want.extend_from_slice(b" between ");
        want.extend_from_slice(&data);
        assert_eq!(gunzip(&a), want);
        // A second run makes the same bytes; the fragment is made once per run.
        assert_eq!(make(&Payloads::new()), a);
        let f = payloads.fragment(&path, u64::MAX).unwrap().unwrap();
        assert_eq!(f.sha256, <[u8; 32]>::from(Sha256::digest(&data)));
        assert_eq!(f.size, data.len() as u64);
    }

    #[test]
    fn small_files_are_not_spliced_and_plain_streams_match_flate2() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("small");
        std::fs::write(&path, b"tiny").unwrap();
        assert!(Payloads::new().fragment(&path, 0).unwrap().is_none());
        let data = content(200_000);
        let mut gz = GzSplicer::new(Vec::new(), None).unwrap();
        for piece in data.chunks(777) {
            gz.write_all(piece).unwrap();
        }
        let ours = gz.finish().unwrap();
        assert_eq!(gunzip(&ours), data);
        let mut theirs = flate2::GzBuilder::new()
            .mtime(0)
            .operating_system(3)
            .write(Vec::new(), flate2::Compression::new(LEVEL));
        theirs.write_all(&data).unwrap();
        assert_eq!(
            ours,
            theirs.finish().unwrap(),
            "without fragments, the bytes of gzip -9n"
        );
    }

    #[test]
    fn incompressible_pieces_are_stored_and_the_rest_deflated() {
        let random: Vec<u8> = content(3 * 200_000)[..200_000].to_vec();
        let out = deflate_chunk(&random).unwrap();
        assert_eq!(
            out.len(),
            random.len() + 5 * random.len().div_ceil(65_535),
            "stored blocks"
        );
        let text = b"Package: hello\nVersion: 1.0\n".repeat(10_000);
        let out = deflate_chunk(&text).unwrap();
        assert!(out.len() < text.len() / 20, "{}", out.len());
        let mut both = random.clone();
        both.extend_from_slice(&text);
        let mut deflated = deflate_chunk(&both).unwrap();
        // A whole stream: the chunk, then a final empty block.
        deflated.extend_from_slice(&[3, 0]);
        let mut back = Vec::new();
        flate2::read::DeflateDecoder::new(&deflated[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, both);
    }

    #[test]
    fn a_missing_file_names_itself() {
        let err = Payloads::new()
            .fragment(Path::new("/nonexistent/wharf-x"), 0)
            .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/wharf-x"), "{err}");
    }
}
