//! A gzip file made of independently deflated parts, with a table of them in its header, so that an
//! index's unchanged parts can be carried over from its previous version instead of compressed again.
//!
//! Format: one gzip member (RFC 1952) whose deflate stream (RFC 1951) is the parts one after another, each
//! a raw deflate stream ended by a sync flush (byte-aligned, no final block), then an empty final block;
//! the member's CRC-32 and size combine the parts'. This is pigz's layout, and every inflater reads it as
//! one stream. The header's extra field (`FEXTRA`, §2.3.1.1) carries subfield `WB`: for each part its
//! compressed and uncompressed size (u32, little-endian) and the first 16 bytes of the SHA-256 of its
//! uncompressed bytes, preceded by the up to 32 KiB before them that its matches may refer to — dictzip keeps its chunk table the same way (subfield `RA`). Readers ignore
//! subfields they do not know; wharf reads it back to find the parts of the previous file, and carries
//! a part over only when the new text's part has the same size and hash. A table longer than a header
//! can hold (2,730 parts) is left out: the file is valid, its parts just cannot be carried over.

use std::io;

/// One deflated part: its sync-flushed raw deflate bytes, the size of what they inflate to, and that
/// content's hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Part {
    /// Raw deflate, sync-flushed.
    pub deflate: Vec<u8>,
    /// The uncompressed size.
    pub len: u64,
    /// The first 16 bytes of the uncompressed bytes' SHA-256.
    pub hash: [u8; 16],
}

const SUBFIELD: [u8; 2] = *b"WB";
const ENTRY: usize = 24;
const MAX_PARTS: usize = (u16::MAX as usize - 4) / ENTRY;

/// The hash a part is known by.
#[must_use]
pub fn part_hash(window: &[u8], data: &[u8]) -> [u8; 16] {
    use sha2::Digest;
    let full = sha2::Sha256::new()
        .chain_update(window)
        .chain_update(data)
        .finalize();
    let mut h = [0u8; 16];
    h.copy_from_slice(&full[..16]);
    h
}

/// The most of what precedes a part that its matches may reach back into (deflate's window).
pub const WINDOW: usize = 32 * 1024;

/// Deflates `data` at `level` as one part that follows `window` (the last [`WINDOW`] bytes before it, or
/// fewer): it may refer back into them, as pigz primes each block with the end of the one before, which
/// keeps the parts' output within a fraction of a percent of one stream's. Its hash covers both.
pub fn compress_part(window: &[u8], data: &[u8], level: u32) -> io::Result<Part> {
    let window = &window[window.len().saturating_sub(WINDOW)..];
    let mut deflate = Vec::with_capacity(data.len() / 3 + 64);
    crate::splice::deflate_synced_after(window, data, level, &mut deflate)?;
    Ok(Part {
        deflate,
        len: data.len() as u64,
        hash: part_hash(window, data),
    })
}

/// The parts of a gzip file written by [`assemble`] (from its `WB` table); `None` for any other gzip
/// file or damage.
#[must_use]
pub fn parts_of(gz: &[u8]) -> Option<Vec<Part>> {
    // ID1 ID2 CM=8 FLG=FEXTRA only, then MTIME XFL OS, XLEN.
    if gz.len() < 12 || gz[..4] != [0x1f, 0x8b, 8, 0x04] {
        return None;
    }
    let xlen = usize::from(u16::from_le_bytes([gz[10], gz[11]]));
    let extra = gz.get(12..12 + xlen)?;
    if extra.len() < 4 || extra[..2] != SUBFIELD {
        return None;
    }
    let table = extra.get(4..4 + usize::from(u16::from_le_bytes([extra[2], extra[3]])))?;
    let mut at = 12 + xlen;
    if table.len() % ENTRY != 0 {
        return None;
    }
    let mut parts = Vec::with_capacity(table.len() / ENTRY);
    for entry in table.chunks_exact(ENTRY) {
        let clen = usize::try_from(u32::from_le_bytes(entry[..4].try_into().ok()?)).ok()?;
        let len = u64::from(u32::from_le_bytes(entry[4..8].try_into().ok()?));
        parts.push(Part {
            deflate: gz.get(at..at + clen)?.to_vec(),
            len,
            hash: entry[8..].try_into().ok()?,
        });
        at += clen;
    }
    // What follows the parts: the empty final block and the trailer, nothing else.
    (gz.len() == at + 2 + 8 && gz[at..at + 2] == [0x03, 0x00]).then_some(parts)
}

/// A gzip file of `parts`, whose uncompressed bytes are `texts` (the same number, in order: their CRC-32s
/// make the member's), with the part table in its header (`gzip -n`: no name, mtime 0, OS Unix).
#[must_use]
pub fn assemble(parts: &[&Part], texts: &[&[u8]]) -> Vec<u8> {
    let total: usize = parts.iter().map(|p| p.deflate.len()).sum();
    // Header, table, parts, final block and trailer: allocated once (a document of 30 MB grown by
    // doubling held up to twice that).
    let mut out = Vec::with_capacity(total + 32 + parts.len() * ENTRY);
    let table = parts.len() <= MAX_PARTS
        && parts
            .iter()
            .all(|p| u32::try_from(p.deflate.len()).is_ok() && u32::try_from(p.len).is_ok());
    if table {
        let n = parts.len() * ENTRY;
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0x04, 0, 0, 0, 0, 0, 3]);
        out.extend_from_slice(&u16::try_from(n + 4).unwrap_or(u16::MAX).to_le_bytes());
        out.extend_from_slice(&SUBFIELD);
        out.extend_from_slice(&u16::try_from(n).unwrap_or(u16::MAX).to_le_bytes());
        for p in parts {
            out.extend_from_slice(&u32::try_from(p.deflate.len()).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&u32::try_from(p.len).unwrap_or(u32::MAX).to_le_bytes());
            out.extend_from_slice(&p.hash);
        }
    } else {
        out.extend_from_slice(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
    }
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    for (p, t) in parts.iter().zip(texts) {
        out.extend_from_slice(&p.deflate);
        crc.update(t);
        size += t.len() as u64;
    }
    // An empty final block with fixed codes: BFINAL=1, BTYPE=01, end-of-block.
    out.extend_from_slice(&[0x03, 0x00]);
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&((size & 0xffff_ffff) as u32).to_le_bytes());
    out
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    #[test]
    fn parts_assemble_into_a_member_every_reader_takes() {
        let texts: Vec<Vec<u8>> = (0..5)
            .map(|i| format!("<package n=\"{i}\"/>\n").repeat(2000 + i).into_bytes())
            .collect();
        let parts: Vec<Part> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| compress_part(if i == 0 { &[] } else { &texts[i - 1] }, t, 6).unwrap())
            .collect();
        let refs: Vec<&Part> = parts.iter().collect();
        let slices: Vec<&[u8]> = texts.iter().map(Vec::as_slice).collect();
        let gz = assemble(&refs, &slices);
        let mut back = Vec::new();
        // A single-member reader reads it whole.
        flate2::read::GzDecoder::new(&gz[..])
            .read_to_end(&mut back)
            .unwrap();
        assert_eq!(back, texts.concat());
        assert_eq!(parts_of(&gz).unwrap(), parts);
        // Other gzip files have no parts to offer.
        let plain = crate::compress::compress(
            b"x",
            crate::compress::Compression::Gzip,
            crate::compress::Profile::Index,
        )
        .unwrap();
        assert!(parts_of(&plain).is_none());
        assert!(parts_of(&gz[..gz.len() - 1]).is_none());
        // No parts: an empty member.
        let empty = assemble(&[], &[]);
        let mut back = Vec::new();
        flate2::read::GzDecoder::new(&empty[..])
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.is_empty());
    }
}
