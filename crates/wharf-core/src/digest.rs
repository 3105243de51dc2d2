//! Streaming digests: one pass over bytes yields every checksum an index needs.

use std::io::{self, Read, Write};

use md5::Md5;
use sha2::{Digest, Sha256, Sha512};

/// SHA-256 and SHA-512 of one byte stream, plus its length. A package's checksums carry only what its
/// index uses ([`Hasher::for_package`]): SHA-512 is left empty, which saves most of the hashing time
/// (SHA-512 has no hardware help; SHA-256 has SHA-NI). MD5 is no longer computed: neither apt's `Release`
/// nor any index wharf writes lists it; records from earlier versions keep theirs.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Checksums {
    /// Length in bytes.
    pub size: u64,
    /// Lower-case hex MD5 (apt's `MD5sum`, dpkg's `md5sums`); empty when not computed (and then left
    /// out of the serialised form).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub md5: String,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Lower-case hex SHA-512; empty when not computed (and then left out of the serialised form).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sha512: String,
}

/// A writer that hashes what passes through it.
pub struct Hasher {
    size: u64,
    sha256: Sha256,
    sha512: Option<Sha512>,
}

impl Default for Hasher {
    fn default() -> Self {
        Self::new()
    }
}

impl Hasher {
    /// A hasher of every digest an index lists about another file (apt's `Release`: SHA-256 and SHA-512).
    #[must_use]
    pub fn new() -> Self {
        Self {
            size: 0,
            sha256: Sha256::new(),
            sha512: Some(Sha512::new()),
        }
    }

    /// A hasher of what a package's index entry carries: SHA-256 (apt, rpm-md, APKINDEX, packages.adb and
    /// opkg verify packages with nothing else).
    #[must_use]
    pub fn for_package() -> Self {
        Self {
            size: 0,
            sha256: Sha256::new(),
            sha512: None,
        }
    }

    /// Feeds bytes.
    pub fn update(&mut self, data: &[u8]) {
        self.size += data.len() as u64;
        self.sha256.update(data);
        if let Some(h) = &mut self.sha512 {
            h.update(data);
        }
    }

    /// The checksums of everything fed so far.
    #[must_use]
    pub fn finish(self) -> Checksums {
        Checksums {
            size: self.size,
            md5: String::new(),
            sha256: to_hex(&self.sha256.finalize()),
            sha512: self.sha512.map(|h| to_hex(&h.finalize())).unwrap_or_default(),
        }
    }
}

impl Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Checksums {
    /// Checksums of a byte slice.
    #[must_use]
    pub fn of(data: &[u8]) -> Self {
        let mut h = Hasher::new();
        h.update(data);
        h.finish()
    }

    /// Size and SHA-256 only (rpm-md's checksums of its own metadata).
    #[must_use]
    pub fn of_sha256(data: &[u8]) -> Self {
        let mut h = Hasher::for_package();
        h.update(data);
        h.finish()
    }

    /// Checksums of everything a reader yields.
    pub fn of_reader(mut r: impl Read) -> io::Result<Self> {
        let mut h = Hasher::new();
        io::copy(&mut r, &mut h)?;
        Ok(h.finish())
    }
}

/// Lower-case hex SHA-512 of a byte slice (to hash it on another core than its SHA-256,
/// [`Checksums::of_sha256`]).
#[must_use]
pub fn sha512_hex(data: &[u8]) -> String {
    to_hex(&Sha512::digest(data))
}

/// Lower-case hex MD5 of a byte slice.
#[must_use]
pub fn md5_hex(data: &[u8]) -> String {
    to_hex(&Md5::digest(data))
}

/// Lower-case hex of `bytes`: a table lookup per byte (`hex::encode` goes through a char iterator, several
/// times slower; checksums are encoded once per package and looked up by the thousand).
#[must_use]
pub fn to_hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    // The buffer is exactly twice the input, and hex digits are ASCII: neither can fail.
    match hex::encode_to_slice(bytes, &mut out) {
        Ok(()) => String::from_utf8(out).unwrap_or_default(),
        Err(_) => String::new(),
    }
}

/// Decodes hex (either case) into `out`, which it must fill exactly; `false` (and `out` unspecified)
/// otherwise. A table lookup per digit: `hex::decode_to_slice` was 5 % of adding one package to 100,000,
/// whose every record's SHA-256 is decoded to look files up by.
#[must_use]
pub fn from_hex(hex: &str, out: &mut [u8]) -> bool {
    const fn table() -> [u8; 256] {
        let mut t = [0xff; 256];
        let mut i = 0;
        while i < 10 {
            t[b'0' as usize + i] = i as u8;
            i += 1;
        }
        let mut i = 0;
        while i < 6 {
            t[b'a' as usize + i] = 10 + i as u8;
            t[b'A' as usize + i] = 10 + i as u8;
            i += 1;
        }
        t
    }
    static DIGITS: [u8; 256] = table();
    let hex = hex.as_bytes();
    if hex.len() != out.len() * 2 {
        return false;
    }
    let mut bad = 0;
    for (o, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (hi, lo) = (DIGITS[pair[0] as usize], DIGITS[pair[1] as usize]);
        bad |= hi | lo;
        *o = (hi << 4) | (lo & 0x0f);
    }
    bad & 0xf0 == 0
}

/// A reader that feeds everything read through it to a [`Hasher`]: one pass both parses and hashes a file.
pub struct HashingReader<'a, R: Read> {
    inner: R,
    hasher: &'a mut Hasher,
}

/// How much of a package file one read takes: the buffer a package is parsed from, above its
/// [`HashingReader`] ([`HashingReader::buffered`]).
pub const READ_BUFFER: usize = 128 * 1024;

impl<'a, R: Read> HashingReader<'a, R> {
    /// Wraps `inner`.
    pub fn new(inner: R, hasher: &'a mut Hasher) -> Self {
        Self { inner, hasher }
    }

    /// Wraps `inner` (a file, unbuffered) with a buffer above the hashing: each read of the file lands
    /// in the buffer and is hashed there, and what is parsed or skipped ([`skip_to_end`]) is taken from
    /// it — the bytes are never copied between the read and the hash (a buffer below the hashing would
    /// copy each into the one above).
    pub fn buffered(inner: R, hasher: &'a mut Hasher) -> Buffered<Self> {
        Buffered::new(Self::new(inner, hasher))
    }
}

thread_local! {
    /// Read buffers given back by [`Buffered`] readers dropped on this thread.
    static SPARE_BUFFERS: std::cell::RefCell<Vec<Box<[u8]>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A buffered reader whose [`READ_BUFFER`]-sized buffer is reused by the next one made on the same
/// thread. `std::io::BufReader` zeroes its buffer before the first read into it (its reader may not
/// implement `read_buf`): 128 KiB written per package, and as many fresh pages faulted in, before
/// a byte of it is read — more than reading a small package takes.
pub struct Buffered<R> {
    inner: R,
    buf: Box<[u8]>,
    pos: usize,
    filled: usize,
}

impl<R: Read> Buffered<R> {
    /// Wraps `inner`, with a spare buffer of this thread's if there is one.
    pub fn new(inner: R) -> Self {
        let buf = SPARE_BUFFERS
            .try_with(|b| b.borrow_mut().pop())
            .ok()
            .flatten()
            .unwrap_or_else(|| vec![0; READ_BUFFER].into_boxed_slice());
        Self {
            inner,
            buf,
            pos: 0,
            filled: 0,
        }
    }
}

impl<R> Drop for Buffered<R> {
    fn drop(&mut self) {
        let buf = std::mem::take(&mut self.buf);
        // A few per thread are plenty (one per reader alive at once); a thread being torn down keeps none.
        let _ = SPARE_BUFFERS.try_with(|b| {
            let mut b = b.borrow_mut();
            if b.len() < 4 {
                b.push(buf);
            }
        });
    }
}

impl<R: Read> Read for Buffered<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        // A read at least as large as the buffer, with nothing buffered, goes straight through.
        if self.pos == self.filled && out.len() >= self.buf.len() {
            return self.inner.read(out);
        }
        let n = {
            let have = io::BufRead::fill_buf(self)?;
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            n
        };
        io::BufRead::consume(self, n);
        Ok(n)
    }
}

impl<R: Read> io::BufRead for Buffered<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos >= self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        self.pos = (self.pos + n).min(self.filled);
    }
}

/// Reads `r` to its end in place (its buffer consumed, nothing copied out): through a
/// [`HashingReader::buffered`], the rest of a file is hashed without being held. Returns how many bytes.
pub fn skip_to_end(r: &mut impl io::BufRead) -> io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let n = r.fill_buf()?.len();
        if n == 0 {
            return Ok(skipped);
        }
        r.consume(n);
        skipped += n as u64;
    }
}

impl<R: Read> Read for HashingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_lower_case_and_whole() {
        assert_eq!(to_hex(&[]), "");
        assert_eq!(to_hex(&[0x00, 0x0f, 0xa5, 0xff]), "000fa5ff");
        let sha = Checksums::of_sha256(b"abc").sha256;
        assert_eq!(
            sha,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(md5_hex(b"abc"), "900150983cd24fb0d6963f7d28e17f72");
        let mut out = [0; 4];
        assert!(from_hex("00fFa9b1", &mut out) && out == [0x00, 0xff, 0xa9, 0xb1]);
        assert!(!from_hex("00fFa9b", &mut out) && !from_hex("00fFa9bg", &mut out));
        assert!(!from_hex("00fFa9b1ff", &mut out) && !from_hex("0 fFa9b1", &mut out));
    }

    #[test]
    fn buffered_reads_hash_everything_once_and_buffers_are_reused_clean() {
        use std::io::BufRead;
        // Larger than the buffer, not a multiple of it, no two bytes alike in a row.
        let data: Vec<u8> = (0..READ_BUFFER * 2 + 12_345)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        for _ in 0..3 {
            let mut h = Hasher::for_package();
            let mut r = HashingReader::buffered(&data[..], &mut h);
            // Small reads, a peek, a large read straight through, then the rest skipped in place.
            let mut head = [0; 100];
            r.read_exact(&mut head).unwrap();
            assert_eq!(head[..], data[..100]);
            assert_eq!(r.fill_buf().unwrap()[0], data[100]);
            r.consume(900);
            let mut big = vec![0; READ_BUFFER + 1];
            r.read_exact(&mut big).unwrap();
            assert_eq!(big[..], data[1000..1000 + READ_BUFFER + 1]);
            let rest = skip_to_end(&mut r).unwrap();
            assert_eq!(rest as usize, data.len() - 1001 - READ_BUFFER);
            drop(r);
            assert_eq!(h.finish(), Checksums::of_sha256(&data));
        }
        // A reused buffer shows nothing of what it held before.
        let mut h = Hasher::for_package();
        let mut r = HashingReader::buffered(&b"short"[..], &mut h);
        assert_eq!(r.fill_buf().unwrap(), b"short");
        r.consume(5);
        assert!(r.fill_buf().unwrap().is_empty());
    }
}
