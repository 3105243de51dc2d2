//! An `.xz` file assembled from independently compressed blocks, so that an index's unchanged parts can
//! be carried over from its previous version instead of compressed again.
//!
//! Format: "The .xz File Format" 1.2.0 (tukaani.org, `xz-file-format.txt`): a stream header (magic, stream
//! flags, CRC-32), blocks (each a block header, LZMA2 data, padding to 4 bytes and the check — CRC-64 of the
//! uncompressed block here), the index (one record per block: unpadded and uncompressed size, as
//! multibyte integers, padded, CRC-32) and the stream footer (CRC-32, backward size, flags, `YZ`). Blocks
//! are independent: each starts a fresh LZMA2 dictionary, which is what `xz -T0 --block-size` writes, so
//! any sequence of them forms a valid stream. A block is made by compressing its bytes as a one-block
//! stream with lzma-rust2 and taking the block out of it.

use std::io::{self, Write};

/// One compressed block and what the index says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// The block as stored: header, compressed data, padding, check.
    pub bytes: Vec<u8>,
    /// Its size without the padding (the index's "unpadded size").
    pub unpadded: u64,
    /// The size of the data it decompresses to.
    pub uncompressed: u64,
    /// The CRC-64 of that data, as its check field holds it.
    pub check: u64,
}

const MAGIC: [u8; 6] = [0xFD, b'7', b'z', b'X', b'Z', 0x00];
/// Stream flags: check type CRC-64.
const FLAGS: [u8; 2] = [0x00, 0x04];

/// CRC-64 as xz computes it (ECMA-182 polynomial, reflected), eight bytes at a time ("slicing-by-8").
#[must_use]
pub fn crc64(data: &[u8]) -> u64 {
    static TABLES: std::sync::OnceLock<[[u64; 256]; 8]> = std::sync::OnceLock::new();
    let t = TABLES.get_or_init(|| {
        let mut t = [[0u64; 256]; 8];
        for (i, slot) in t[0].iter_mut().enumerate() {
            let mut c = i as u64;
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    (c >> 1) ^ 0xC96C_5795_D787_0F42
                } else {
                    c >> 1
                };
            }
            *slot = c;
        }
        for i in 0..256 {
            for k in 1..8 {
                t[k][i] = (t[k - 1][i] >> 8) ^ t[0][(t[k - 1][i] & 0xff) as usize];
            }
        }
        t
    });
    let mut crc = !0u64;
    let mut words = data.chunks_exact(8);
    for w in &mut words {
        let v = crc ^ u64::from_le_bytes(w.try_into().unwrap_or([0; 8]));
        let b = v.to_le_bytes();
        crc = t[7][usize::from(b[0])]
            ^ t[6][usize::from(b[1])]
            ^ t[5][usize::from(b[2])]
            ^ t[4][usize::from(b[3])]
            ^ t[3][usize::from(b[4])]
            ^ t[2][usize::from(b[5])]
            ^ t[1][usize::from(b[6])]
            ^ t[0][usize::from(b[7])];
    }
    for &b in words.remainder() {
        crc = t[0][((crc ^ u64::from(b)) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn get_varint(data: &[u8], at: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for shift in (0..63).step_by(7) {
        let b = *data.get(*at)?;
        *at += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some(v);
        }
    }
    None
}

fn le32(b: &[u8]) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(..4)?.try_into().ok()?))
}

/// The blocks of a one-stream `.xz` with CRC-64 checks, as this module or `xz -T0` writes it; `None` when
/// the bytes are anything else (another check, several streams, damage).
#[must_use]
pub fn blocks_of(xz: &[u8]) -> Option<Vec<Block>> {
    if xz.len() < 24 || xz[..6] != MAGIC || xz[6..8] != FLAGS || xz[xz.len() - 2..] != *b"YZ" {
        return None;
    }
    let footer = &xz[xz.len() - 12..];
    if footer[8..10] != FLAGS || crc32(&footer[4..10]) != le32(footer)? {
        return None;
    }
    let index_size = (usize::try_from(le32(&footer[4..])?).ok()? + 1) * 4;
    let index_start = xz.len().checked_sub(12 + index_size)?;
    let index = &xz[index_start..xz.len() - 12];
    if index.first() != Some(&0) || crc32(&index[..index.len() - 4]) != le32(&index[index.len() - 4..])? {
        return None;
    }
    let mut at = 1;
    let count = get_varint(index, &mut at)?;
    let mut blocks = Vec::new();
    let mut pos = 12usize;
    for _ in 0..count {
        let unpadded = get_varint(index, &mut at)?;
        let uncompressed = get_varint(index, &mut at)?;
        let stored = usize::try_from(unpadded.div_ceil(4) * 4).ok()?;
        let end = pos.checked_add(stored)?;
        if end > index_start || unpadded < 16 {
            return None;
        }
        let bytes = xz[pos..end].to_vec();
        // The check ends the block, after the padding.
        let check = u64::from_le_bytes(bytes.get(bytes.len() - 8..)?.try_into().ok()?);
        blocks.push(Block {
            bytes,
            unpadded,
            uncompressed,
            check,
        });
        pos = end;
    }
    (pos == index_start).then_some(blocks)
}

fn crc32(data: &[u8]) -> u32 {
    let mut h = crc32fast::Hasher::new();
    h.update(data);
    h.finalize()
}

/// Compresses text `data` (not empty: an empty stream has no block) into one block tuned for line-oriented text such as an apt `Packages`: preset
/// 4's normal mode with the hash-chain match finder (`hc4`, not `bt4`), matches up to 20 bytes long
/// (`nice=20`, preset 4 has 16) and no position bits (`pb=0`: text has no 2- or 4-byte structure; the xz
/// manual's advice for text). Against preset 4 (measured on 110 KB blocks, best of five): Debian
/// bookworm's `Packages` (first 2 MB) and bookworm-security's (2.5 MB) are +0.01 % and +0.07 % in
/// size for 9 % and 32 % less time; the benchmark's 2,000-package `Packages` is 0.8 % smaller and 30 %
/// faster. (`nice=16` was 1 % larger; `nice=24` 1 % smaller but barely faster than preset 4.) Any xz
/// decoder reads it: the match finder is the encoder's business, `pb` is in the block's properties.
pub fn compress_text_block(data: &[u8], dict_size: u32) -> io::Result<Block> {
    let mut options = lzma_rust2::XzOptions::with_preset(4);
    let lzma = &mut options.lzma_options;
    lzma.dict_size = dict_size;
    lzma.mf = lzma_rust2::MfType::Hc4;
    lzma.nice_len = 20;
    lzma.pb = 0;
    compress_with(data, options)
}

fn compress_with(data: &[u8], options: lzma_rust2::XzOptions) -> io::Result<Block> {
    let mut out = Vec::with_capacity(data.len() / 4 + 64);
    let mut w = lzma_rust2::XzWriter::new(&mut out, options)?;
    w.write_all(data)?;
    w.finish()?;
    let mut blocks =
        blocks_of(&out).ok_or_else(|| io::Error::other("lzma-rust2 wrote an unexpected .xz layout"))?;
    match (blocks.pop(), blocks.is_empty()) {
        (Some(b), true) if b.uncompressed == data.len() as u64 && b.check == crc64(data) => Ok(b),
        _ => Err(io::Error::other("lzma-rust2 wrote an unexpected .xz block")),
    }
}

/// A one-stream `.xz` of `blocks`, in order.
#[must_use]
pub fn assemble(blocks: &[&Block]) -> Vec<u8> {
    let total: usize = blocks.iter().map(|b| b.bytes.len()).sum();
    let mut out = Vec::with_capacity(total + 64 + blocks.len() * 8);
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FLAGS);
    out.extend_from_slice(&crc32(&FLAGS).to_le_bytes());
    for b in blocks {
        out.extend_from_slice(&b.bytes);
    }
    let mut index = vec![0u8];
    put_varint(&mut index, blocks.len() as u64);
    for b in blocks {
        put_varint(&mut index, b.unpadded);
        put_varint(&mut index, b.uncompressed);
    }
    while index.len() % 4 != 0 {
        index.push(0);
    }
    let index_crc = crc32(&index);
    index.extend_from_slice(&index_crc.to_le_bytes());
    out.extend_from_slice(&index);
    let mut tail = Vec::with_capacity(6);
    tail.extend_from_slice(
        &u32::try_from(index.len() / 4 - 1)
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    tail.extend_from_slice(&FLAGS);
    out.extend_from_slice(&crc32(&tail).to_le_bytes());
    out.extend_from_slice(&tail);
    out.extend_from_slice(b"YZ");
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    /// One block at xz `preset` (what wharf wrote before blocks were tuned for text), with a dictionary
    /// of `dict_size` bytes.
    fn compress_block(data: &[u8], preset: u32, dict_size: u32) -> io::Result<Block> {
        let mut options = lzma_rust2::XzOptions::with_preset(preset);
        options.lzma_options.dict_size = dict_size;
        compress_with(data, options)
    }

    fn unxz(xz: &[u8]) -> Vec<u8> {
        let mut back = Vec::new();
        lzma_rust2::XzReader::new(xz, true)
            .read_to_end(&mut back)
            .unwrap();
        back
    }

    #[test]
    fn blocks_assemble_into_a_stream_xz_reads() {
        let parts: Vec<Vec<u8>> = (0..4)
            .map(|i| {
                format!("Package: p{i}\nVersion: 1.{i}\n\n")
                    .repeat(3000 + i)
                    .into_bytes()
            })
            .collect();
        let blocks: Vec<Block> = parts
            .iter()
            .map(|p| compress_block(p, 4, 1 << 20).unwrap())
            .collect();
        let xz = assemble(&blocks.iter().collect::<Vec<_>>());
        assert_eq!(unxz(&xz), parts.concat());
        // Read back, the blocks are the same.
        assert_eq!(blocks_of(&xz).unwrap(), blocks);
        // Reordered and repeated, still a valid stream.
        let xz2 = assemble(&[&blocks[2], &blocks[0], &blocks[2]]);
        assert_eq!(unxz(&xz2), [&parts[2][..], &parts[0], &parts[2]].concat());
        assert!(blocks_of(&xz[..xz.len() - 1]).is_none());
        assert!(blocks_of(b"not xz at all, not at all").is_none());
    }

    #[test]
    fn text_blocks_read_back_and_mix_with_preset_blocks() {
        let text: Vec<u8> = (0..3000)
            .map(|i| {
                format!(
                    "Package: pkg-{i}\nVersion: 1.{}-{}\nArchitecture: amd64\n\n",
                    i % 17,
                    i % 5
                )
            })
            .collect::<String>()
            .into_bytes();
        let tuned = compress_text_block(&text, 1 << 18).unwrap();
        let preset = compress_block(&text, 4, 1 << 18).unwrap();
        assert_ne!(tuned.bytes, preset.bytes, "the tuning is in effect");
        // A stream of blocks made either way (a document's blocks carried over from an older version of
        // wharf beside new ones) is one valid stream.
        let xz = assemble(&[&tuned, &preset]);
        assert_eq!(unxz(&xz), [&text[..], &text].concat());
        // And so does the xz tool (apt's own reader is the e2e suite's: it reads every Packages.xz).
        let mut child = std::process::Command::new("xz")
            .args(["-dc"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("xz (xz-utils) is installed: scripts/install-test-deps");
        {
            use std::io::Write as _;
            child.stdin.take().unwrap().write_all(&xz).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success());
        assert_eq!(out.stdout, [&text[..], &text].concat());
    }

    #[test]
    fn crc64_matches_xz() {
        // The check value of the xz format's CRC-64 for "123456789".
        assert_eq!(crc64(b"123456789"), 0x995D_C9BB_DF19_39FA);
        // Every length around the 8-byte steps agrees with the check lzma-rust2 writes.
        let data: Vec<u8> = (0..100u8).collect();
        assert_eq!(crc64(b""), 0);
        for n in [1, 7, 8, 9, 63, 64, 65, 100] {
            assert_eq!(
                compress_block(&data[..n], 0, 4096).unwrap().check,
                crc64(&data[..n]),
                "{n}"
            );
        }
    }
}
