//! apk-tools 3's ADB container: the encoder and a bounds-checked decoder shared by apk v3 packages and the
//! `packages.adb` index.
//!
//! From apk-tools `src/adb.h`, `src/adb.c`, `src/adb_comp.c` (formats.md §7):
//! - file: optional compression prefix (`ADBd` = raw deflate of the rest; `ADBc` + {alg, level}), then
//!   `ADB.` + u32 LE schema, then blocks;
//! - block: u32 LE `type << 30 | (4 + len)`, the payload, zero padding to 8 bytes; type 0 ADB, 1 SIG,
//!   2 DATA, 3 EXT (`(3 << 30) + type`, u32 reserved, u64 size, for payloads over 1 GiB);
//! - ADB payload: `{u8 compat 0, u8 ver 0, u16 0, u32 root}`, then a heap of values. A value is u32 LE: a
//!   4-bit type and a 28-bit inline value or heap offset: 0x1 int (< 2^28), 0x2/0x3 int32/int64 (4-aligned),
//!   0x8/0x9/0xa blob with an 8/16/32-bit length prefix (aligned to it), 0xd array / 0xe object — a
//!   4-aligned `u32[n]` whose slot 0 is n, trailing null slots trimmed; an empty one is null.
//! - SIG block: `{u8 sign_ver 0, u8 hash_alg 4 (SHA-512), u8 key_id[16]}` + signature, over
//!   `le32(schema) ‖ those 18 bytes ‖ sha512(ADB payload)` (`adb_digest_v0_signature`).
//!
//! The encoder does not deduplicate heap data as apk does: the result is valid, and byte-stable for wharf.

use std::io::{self, Read, Write};

use sha2::{Digest, Sha512};
use wharf_sign::ApkEcKey;

use crate::PackageError;

/// `pckg`: an apk v3 package.
pub const SCHEMA_PACKAGE: u32 = 0x676b_6370;
/// `indx`: a repository index.
pub const SCHEMA_INDEX: u32 = 0x7864_6e69;

/// Block types.
pub const BLOCK_ADB: u32 = 0;
/// Signature block.
pub const BLOCK_SIG: u32 = 1;
/// File data block.
pub const BLOCK_DATA: u32 = 2;
const BLOCK_EXT: u32 = 3;

/// An encoded value.
pub type Val = u32;
/// The null value.
pub const NULL: Val = 0;

const T_INT: u32 = 0x1000_0000;
const T_INT32: u32 = 0x2000_0000;
const T_INT64: u32 = 0x3000_0000;
const T_BLOB8: u32 = 0x8000_0000;
const T_BLOB16: u32 = 0x9000_0000;
const T_BLOB32: u32 = 0xa000_0000;
const T_ARRAY: u32 = 0xd000_0000;
const T_OBJECT: u32 = 0xe000_0000;
const TYPE_MASK: u32 = 0xf000_0000;
const VALUE_MASK: u32 = 0x0fff_ffff;

/// Builds one ADB payload: header, then values appended to the heap.
pub struct Heap {
    buf: Vec<u8>,
}

impl Default for Heap {
    fn default() -> Self {
        Self::new()
    }
}

impl Heap {
    /// An empty payload (the 8-byte header, root null).
    #[must_use]
    pub fn new() -> Self {
        Self { buf: vec![0; 8] }
    }

    fn raw(&mut self, parts: &[&[u8]], align: usize) -> u32 {
        let pad = self.buf.len().next_multiple_of(align) - self.buf.len();
        self.buf.extend(std::iter::repeat_n(0, pad));
        let at = self.buf.len();
        for p in parts {
            self.buf.extend_from_slice(p);
        }
        // Offsets are 28-bit; a payload over 256 MiB cannot be addressed (apk's limit too).
        u32::try_from(at).unwrap_or(VALUE_MASK) & VALUE_MASK
    }

    /// A blob (null when empty).
    pub fn blob(&mut self, b: &[u8]) -> Val {
        match b.len() {
            0 => NULL,
            n if n <= 0xff => T_BLOB8 | self.raw(&[&[n as u8], b], 1),
            n if n <= 0xffff => T_BLOB16 | self.raw(&[&(n as u16).to_le_bytes(), b], 2),
            n => T_BLOB32 | self.raw(&[&(n as u32).to_le_bytes(), b], 4),
        }
    }

    /// An integer (inline below 2^28).
    pub fn int(&mut self, v: u64) -> Val {
        if v < 0x1000_0000 {
            T_INT | v as u32
        } else if let Ok(v32) = u32::try_from(v) {
            T_INT32 | self.raw(&[&v32.to_le_bytes()], 4)
        } else {
            T_INT64 | self.raw(&[&v.to_le_bytes()], 4)
        }
    }

    fn slots(&mut self, typ: u32, values: &[Val]) -> Val {
        let used = values.iter().rposition(|v| *v != NULL).map_or(0, |i| i + 1);
        if used == 0 {
            return NULL;
        }
        let mut bytes = Vec::with_capacity(4 * (used + 1));
        bytes.extend_from_slice(&(used as u32 + 1).to_le_bytes());
        for v in &values[..used] {
            bytes.extend_from_slice(&v.to_le_bytes());
        }
        typ | self.raw(&[&bytes], 4)
    }

    /// An object: `fields[i]` is field `i + 1`.
    pub fn object(&mut self, fields: &[Val]) -> Val {
        self.slots(T_OBJECT, fields)
    }

    /// An array of (non-null) items, in the order given.
    pub fn array(&mut self, items: &[Val]) -> Val {
        let items: Vec<Val> = items.iter().copied().filter(|v| *v != NULL).collect();
        self.slots(T_ARRAY, &items)
    }

    /// The offset of a blob's bytes (after its length prefix), for patching in place.
    #[must_use]
    pub fn blob_bytes_at(val: Val) -> usize {
        let prefix = match val & TYPE_MASK {
            T_BLOB8 => 1,
            T_BLOB16 => 2,
            _ => 4,
        };
        (val & VALUE_MASK) as usize + prefix
    }

    /// The payload with `root` set.
    #[must_use]
    pub fn finish(mut self, root: Val) -> Vec<u8> {
        self.buf[4..8].copy_from_slice(&root.to_le_bytes());
        self.buf
    }
}

/// A block header for a payload of `len` bytes (EXT form when it does not fit 30 bits).
#[must_use]
pub fn block_header(typ: u32, len: u64) -> Vec<u8> {
    if len + 4 <= 0x3fff_ffff {
        ((typ << 30) | (4 + len as u32)).to_le_bytes().to_vec()
    } else {
        let mut h = ((BLOCK_EXT << 30) + typ).to_le_bytes().to_vec();
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&(16 + len).to_le_bytes());
        h
    }
}

/// Zero padding after a block of header `h` and payload `len`.
#[must_use]
pub fn block_padding(header_len: usize, len: u64) -> usize {
    // Modulo 8 throughout: a hostile header's length may be near `u64::MAX`.
    let rem = ((header_len % 8) as u64 + len % 8) % 8;
    ((8 - rem) % 8) as usize
}

/// Writes a whole block.
pub fn write_block(out: &mut impl Write, typ: u32, payload: &[u8]) -> io::Result<()> {
    let h = block_header(typ, payload.len() as u64);
    out.write_all(&h)?;
    out.write_all(payload)?;
    out.write_all(&[0; 8][..block_padding(h.len(), payload.len() as u64)])
}

/// The file header: `ADB.` + schema.
#[must_use]
pub fn file_header(schema: u32) -> [u8; 8] {
    let mut h = *b"ADB.\0\0\0\0";
    h[4..].copy_from_slice(&schema.to_le_bytes());
    h
}

/// The SIG block payload signing `adb` (an ADB payload of `schema`) with `key`.
pub fn signature(key: &ApkEcKey, schema: u32, adb: &[u8]) -> Result<Vec<u8>, PackageError> {
    let mut head = vec![0u8, 4];
    head.extend_from_slice(&key.key_id());
    let msg = signed_message(schema, &head, &Sha512::digest(adb));
    let sig = key.sign_sha512(&msg)?;
    head.extend_from_slice(&sig);
    Ok(head)
}

/// What a SIG block's signature covers: `le32(schema) ‖ the block's first 18 bytes ‖ sha512(ADB payload)`.
#[must_use]
pub fn signed_message(schema: u32, sig_head: &[u8], adb_sha512: &[u8]) -> Vec<u8> {
    let mut msg = schema.to_le_bytes().to_vec();
    msg.extend_from_slice(sig_head);
    msg.extend_from_slice(adb_sha512);
    msg
}

/// An ADB file's schema, ADB payload and SIG block payloads (DATA blocks are skipped).
#[derive(Debug, Clone)]
pub struct Signed {
    /// The schema (`SCHEMA_INDEX`, `SCHEMA_PACKAGE`).
    pub schema: u32,
    /// The ADB block's payload.
    pub adb: Vec<u8>,
    /// Every SIG block's payload.
    pub signatures: Vec<Vec<u8>>,
}

/// The most an ADB file read whole may decompress to (OpenWrt's largest `packages.adb` is a few MB).
const SIGNED_LIMIT: u64 = 64 << 20;

/// Reads a whole (possibly compressed) ADB file such as `packages.adb`; refused past [`SIGNED_LIMIT`].
pub fn read_signed(bytes: &[u8]) -> Result<Signed, PackageError> {
    let bad = |why: String| PackageError::invalid("ADB", why);
    let mut raw = Vec::new();
    decompressor(bytes)?
        .take(SIGNED_LIMIT + 1)
        .read_to_end(&mut raw)
        .map_err(|e| bad(format!("the compressed stream is truncated or corrupt ({e})")))?;
    if raw.len() as u64 > SIGNED_LIMIT {
        return Err(bad(format!(
            "it decompresses to more than {SIGNED_LIMIT} bytes (a decompression bomb?)"
        )));
    }
    if raw.len() < 8 || &raw[..4] != b"ADB." {
        return Err(bad("no `ADB.` header".into()));
    }
    let schema = u32::from_le_bytes([raw[4], raw[5], raw[6], raw[7]]);
    let mut r = &raw[8..];
    let mut adb = None;
    let mut signatures = Vec::new();
    while let Some((typ, len, hl)) = next_block(&mut r)? {
        let len = match usize::try_from(len) {
            Ok(len) if len <= r.len() => len,
            _ => return Err(bad("a block runs past the end of the file (truncated)".into())),
        };
        let payload = r[..len].to_vec();
        let padded = len + block_padding(hl, len as u64);
        r = &r[padded.min(r.len())..];
        match typ {
            BLOCK_ADB if adb.is_none() => adb = Some(payload),
            BLOCK_ADB => return Err(bad("two ADB blocks".into())),
            BLOCK_SIG => signatures.push(payload),
            _ => {}
        }
    }
    Ok(Signed {
        schema,
        adb: adb.ok_or_else(|| bad("no ADB block".into()))?,
        signatures,
    })
}

/// A writer that compresses as `apk mkpkg` does by default: `ADBd` + raw deflate of the whole stream.
pub fn compressor<W: Write>(mut out: W) -> io::Result<flate2::write::DeflateEncoder<W>> {
    out.write_all(b"ADBd")?;
    Ok(flate2::write::DeflateEncoder::new(
        out,
        flate2::Compression::best(),
    ))
}

/// A reader of the uncompressed stream of an ADB file (`ADB.`, `ADBd` or `ADBc` with deflate or zstd).
pub fn decompressor<'a>(mut r: impl Read + 'a) -> Result<Box<dyn Read + 'a>, PackageError> {
    let bad = |why: &str| PackageError::invalid("ADB", why);
    let mut magic = [0u8; 4];
    r.read_exact(&mut magic)
        .map_err(|_| bad("shorter than an ADB header"))?;
    let rest: Box<dyn Read + 'a> = match &magic {
        b"ADB." => Box::new(io::Cursor::new(magic).chain(r)),
        b"ADBd" => Box::new(flate2::read::DeflateDecoder::new(r)),
        b"ADBc" => {
            let mut spec = [0u8; 2];
            r.read_exact(&mut spec)
                .map_err(|_| bad("truncated compression header"))?;
            match spec[0] {
                0 => Box::new(r),
                1 => Box::new(flate2::read::DeflateDecoder::new(r)),
                2 => Box::new(zstd::stream::read::Decoder::new(r).map_err(|e| bad(&format!("zstd: {e}")))?),
                other => return Err(bad(&format!("unknown compression {other}"))),
            }
        }
        _ => return Err(bad("not an ADB file (no `ADB` magic)")),
    };
    Ok(rest)
}

/// One decoded value (enough of the schema for packages and indexes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// null.
    Null,
    /// An integer.
    Int(u64),
    /// A blob.
    Blob(Vec<u8>),
    /// An object's slots (index 0 is field 1) or an array's items.
    List(Vec<Value>),
}

impl Value {
    /// Field `n` (1-based) of an object.
    #[must_use]
    pub fn field(&self, n: usize) -> &Value {
        match self {
            Value::List(v) => v.get(n.wrapping_sub(1)).unwrap_or(&Value::Null),
            _ => &Value::Null,
        }
    }

    /// The blob's bytes, or empty.
    #[must_use]
    pub fn bytes(&self) -> &[u8] {
        match self {
            Value::Blob(b) => b,
            _ => &[],
        }
    }

    /// The blob as text (lossy), or "".
    #[must_use]
    pub fn text(&self) -> String {
        String::from_utf8_lossy(self.bytes()).into_owned()
    }

    /// The integer, or 0.
    #[must_use]
    pub fn int(&self) -> u64 {
        match self {
            Value::Int(i) => *i,
            _ => 0,
        }
    }

    /// An array's items, or none.
    #[must_use]
    pub fn items(&self) -> &[Value] {
        match self {
            Value::List(v) => v,
            _ => &[],
        }
    }
}

/// Decodes the value tree of an ADB payload (bounds-checked; depth-limited).
pub fn decode(adb: &[u8]) -> Result<Value, PackageError> {
    if adb.len() < 8 || adb[0] != 0 {
        return Err(PackageError::invalid("ADB", "bad ADB header"));
    }
    let root = u32::from_le_bytes([adb[4], adb[5], adb[6], adb[7]]);
    decode_val(adb, root, 0)
}

fn decode_val(adb: &[u8], v: Val, depth: u32) -> Result<Value, PackageError> {
    let bad = |why: &str| PackageError::invalid("ADB", why);
    let at = (v & VALUE_MASK) as usize;
    let slice = |len: usize| adb.get(at..at + len).ok_or_else(|| bad("value out of bounds"));
    Ok(match v & TYPE_MASK {
        0 => Value::Null,
        T_INT => Value::Int(u64::from(v & VALUE_MASK)),
        T_INT32 => Value::Int(u64::from(u32::from_le_bytes(
            slice(4)?.try_into().unwrap_or([0; 4]),
        ))),
        T_INT64 => Value::Int(u64::from_le_bytes(slice(8)?.try_into().unwrap_or([0; 8]))),
        T_BLOB8 | T_BLOB16 | T_BLOB32 => {
            let p = match v & TYPE_MASK {
                T_BLOB8 => 1,
                T_BLOB16 => 2,
                _ => 4,
            };
            let mut len = [0u8; 4];
            len[..p].copy_from_slice(slice(p)?);
            let n = u32::from_le_bytes(len) as usize;
            Value::Blob(
                adb.get(at + p..at + p + n)
                    .ok_or_else(|| bad("blob out of bounds"))?
                    .to_vec(),
            )
        }
        T_ARRAY | T_OBJECT => {
            if depth > 16 {
                return Err(bad("nested too deeply"));
            }
            let n = u32::from_le_bytes(slice(4)?.try_into().unwrap_or([0; 4])) as usize;
            if n == 0 || at + 4 * n > adb.len() {
                return Err(bad("object out of bounds"));
            }
            let mut items = Vec::with_capacity(n - 1);
            for i in 1..n {
                let o = at + 4 * i;
                let child = u32::from_le_bytes([adb[o], adb[o + 1], adb[o + 2], adb[o + 3]]);
                items.push(decode_val(adb, child, depth + 1)?);
            }
            Value::List(items)
        }
        _ => return Err(bad("unknown value type")),
    })
}

/// Reads the next block of an uncompressed ADB stream: (type, payload length), with the reader left at the
/// payload. `None` at a clean end of stream.
pub fn next_block(r: &mut impl Read) -> Result<Option<(u32, u64, usize)>, PackageError> {
    let bad = |why: String| PackageError::invalid("ADB", why);
    let mut h = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut h[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => return Err(bad("truncated block header".into())),
            Ok(n) => got += n,
            Err(e) => return Err(bad(format!("the file is truncated or corrupt ({e})"))),
        }
    }
    let ts = u32::from_le_bytes(h);
    if ts >> 30 == BLOCK_EXT {
        let mut x = [0u8; 12];
        r.read_exact(&mut x)
            .map_err(|e| bad(format!("truncated block header ({e})")))?;
        let size = u64::from_le_bytes(x[4..].try_into().unwrap_or([0; 8]));
        let len = size.checked_sub(16).ok_or_else(|| bad("bad block size".into()))?;
        return Ok(Some((ts & 0x3fff_ffff, len, 16)));
    }
    let raw = u64::from(ts & 0x3fff_ffff);
    let len = raw.checked_sub(4).ok_or_else(|| bad("bad block size".into()))?;
    Ok(Some((ts >> 30, len, 4)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_values() {
        let mut h = Heap::new();
        let name = h.blob(b"hello");
        let big = h.blob(&[7u8; 300]);
        let n = h.int(42);
        let n32 = h.int(0x2000_0000);
        let n64 = h.int(1 << 40);
        let arr = h.array(&[n, NULL, n32]);
        let obj = h.object(&[name, big, arr, n64, NULL, NULL]);
        let payload = h.finish(obj);
        let v = decode(&payload).unwrap();
        assert_eq!(v.field(1).text(), "hello");
        assert_eq!(v.field(2).bytes().len(), 300);
        assert_eq!(v.field(3).items(), [Value::Int(42), Value::Int(0x2000_0000)]);
        assert_eq!(v.field(4).int(), 1 << 40);
        assert_eq!(v.items().len(), 4, "trailing nulls trimmed");
        assert_eq!(payload.len() % 4, 0);
        assert!(decode(&payload[..payload.len() - 4]).is_err());
    }

    #[test]
    fn blocks_are_padded_to_eight() {
        let mut out = Vec::new();
        write_block(&mut out, BLOCK_DATA, b"abc").unwrap();
        assert_eq!(out.len(), 8);
        assert_eq!(u32::from_le_bytes(out[..4].try_into().unwrap()), (2 << 30) | 7);
        assert_eq!(next_block(&mut &out[..]).unwrap(), Some((BLOCK_DATA, 3, 4)));
    }
}
