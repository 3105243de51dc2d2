//! Index documents compressed in content-defined blocks, so that publishing one more package recompresses
//! one block of `Packages.xz` / `Packages.gz` / `primary.xml.gz` rather than the whole document.
//!
//! A document is a run of records (apt paragraphs, rpm-md `<package>` elements). It is cut after a record
//! whose first 64 bytes' FNV-1a hash (mixed) is 0 modulo [`CUT_EVERY`] (~250 records, ~85 KiB of `Packages`),
//! once the block holds [`BLOCK_MIN`] bytes, and in any case at [`BLOCK_MAX`]: the cuts depend on the records,
//! not on their offsets, so a record added or changed touches one block (two if it becomes a cut; for gzip
//! also the next, whose matches may reach back 32 KiB into it). Each block is compressed on its own — an xz
//! block (`wharf_package::xzblocks`) or a sync-flushed deflate part (`wharf_package::gzblocks`). [`compress`]
//! takes every document of an index at once — a suite's `Packages.gz` and `.xz` of every architecture,
//! rpm-md's three documents — and runs all their blocks as one batch on every core, costliest first (an xz
//! block costs ~8× a deflate part of the same text). When the document is written again, the previous
//! compressed file is split into its blocks and a block whose text is unchanged is carried over: for xz, the
//! previous text is split at the blocks' own lengths (the `.xz` index's), and a block is taken only if its
//! length and its own CRC-64 are those of a new block and its text is the same bytes; for gzip, the file's part table holds each part's size and SHA-256 (truncated to 16 bytes), so the
//! previous text is not needed (rpm-md keeps only compressed documents). The result is the same bytes as
//! compressing from scratch, whatever the history.

use std::collections::HashMap;
use std::io;

use wharf_package::compress::{self, Compression, Profile};
use wharf_package::{gzblocks, xzblocks};

/// See the module documentation. Measured on a 3 MB `Packages` of 10,000 packages: cutting every ~1,000
/// records gave a 2 % smaller `.xz` but recompressing the (size-biased, ~600 KiB) block a new package
/// lands in took ~60 ms more. Every ~250 records (with blocks of at most 256 KiB) rather than ~500: the
/// `.xz` is 2.3 % larger (`.gz` 0.1 %), but the blocks of a small document spread over the cores — a
/// 650 KiB `Packages` was 4 blocks, one of 360 KiB that took 30–40 ms alone at preset 4, and is now 6 —
/// so apt's index work for 2,000 packages fell ~10 % and adding one package to 10,000 ~13 ms.
const CUT_EVERY: u64 = 256;
const BLOCK_MIN: usize = 32 * 1024;
const BLOCK_MAX: usize = 256 * 1024;

/// Documents smaller than this are compressed without reading their previous version: they are a few
/// blocks at most, cheaper to compress than to fetch back from a remote store.
pub const CARRY_MIN: usize = 256 * 1024;

// xz blocks: `xzblocks::compress_text_block` — preset 4's size (within 2 % of `xz -6` on `Packages`, ~3.6×
// faster than it) in 10–30 % less time than preset 4 itself.
/// The deflate level of index parts (createrepo_c's zlib default, apt's `gzip -6n`).
const GZ_LEVEL: u32 = 6;

/// `text` cut into blocks after records ending with `record_end`.
pub(crate) fn cut<'a>(text: &'a str, record_end: &str) -> Vec<&'a str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut at = 0;
    while at < text.len() {
        let end = text[at..]
            .find(record_end)
            .map_or(text.len(), |n| at + n + record_end.len());
        let head = &text.as_bytes()[at..end.min(at + 64)];
        let fnv = head.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
        });
        // FNV's low bits are weak (records differing in a few digits can all miss a residue): mix first
        // (MurmurHash3's 64-bit finalizer).
        let mut hash = fnv ^ (fnv >> 33);
        hash = hash.wrapping_mul(0xff51_afd7_ed55_8ccd);
        hash ^= hash >> 33;
        let len = end - start;
        if end == text.len() || (hash % CUT_EVERY == 0 && len >= BLOCK_MIN) || len >= BLOCK_MAX {
            out.push(&text[start..end]);
            start = end;
        }
        at = end;
    }
    out
}

/// How one document of a [`compress`] batch is compressed.
#[derive(Debug, Clone, Copy)]
pub enum Form<'a> {
    /// xz blocks, carrying over those of `previous` (the document's current text and `.xz`) whose text
    /// is unchanged.
    Xz(Option<(&'a [u8], &'a [u8])>),
    /// Deflate parts, carrying over those of `previous` (the document's current `.gz`) whose text and
    /// window are unchanged.
    Gz(Option<&'a [u8]>),
    /// In one piece, at the index profile (rpm-md's zstd).
    Whole(Compression),
}

/// One document of a [`compress`] batch: its text, the end of each of its records, its form.
#[derive(Debug, Clone, Copy)]
pub struct Doc<'a> {
    /// The whole text.
    pub text: &'a str,
    /// What ends each record (the blocks are cut after one).
    pub record_end: &'a str,
    /// How it is compressed.
    pub form: Form<'a>,
}

/// A document cut into blocks, with the blocks its previous version can lend.
enum Prepared<'a> {
    Xz {
        parts: Vec<&'a str>,
        /// Each previous block with its text, keyed by the text's length and CRC-64 (the block's check):
        /// nothing is hashed to find them but the new blocks' CRC-64s, which are checked anyway.
        old: HashMap<(u64, u64), (&'a str, xzblocks::Block)>,
    },
    Gz {
        parts: Vec<&'a str>,
        old: HashMap<(u64, [u8; 16]), gzblocks::Part>,
    },
    Whole(&'a str, Compression),
}

impl<'a> Prepared<'a> {
    /// `parts`: the document's text cut ([`cut`]).
    fn new(doc: &Doc<'a>, parts: Vec<&'a str>) -> Self {
        match doc.form {
            Form::Xz(previous) => {
                let mut old = HashMap::new();
                // The previous text in the blocks' own lengths (no need to cut it again); a block is
                // carried over only if the new text's block is the same bytes ([`Prepared::block`]).
                if let Some((old_text, old_xz)) = previous
                    && let (Ok(old_text), Some(old_blocks)) =
                        (std::str::from_utf8(old_text), xzblocks::blocks_of(old_xz))
                    && old_blocks.iter().map(|b| b.uncompressed).sum::<u64>() == old_text.len() as u64
                {
                    let mut at = 0;
                    for b in old_blocks {
                        let end = at + usize::try_from(b.uncompressed).unwrap_or(usize::MAX);
                        if let Some(text) = old_text.get(at..end) {
                            old.insert((b.uncompressed, b.check), (text, b));
                        }
                        at = end;
                    }
                }
                Prepared::Xz { parts, old }
            }
            Form::Gz(previous) => Prepared::Gz {
                parts,
                old: previous
                    .and_then(gzblocks::parts_of)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|p| ((p.len, p.hash), p))
                    .collect(),
            },
            Form::Whole(c) => Prepared::Whole(doc.text, c),
        }
    }

    fn blocks(&self) -> usize {
        match self {
            Prepared::Xz { parts, .. } | Prepared::Gz { parts, .. } => parts.len(),
            Prepared::Whole(..) => 1,
        }
    }

    /// What compressing block `i` costs, in bytes of deflate at the index level: xz blocks took ~8.7×
    /// as long as deflate parts of the same `Packages` (72 against 8.3 ms for 664 KB); zstd at level 19
    /// is taken to be as slow (rpm-md's zstd documents are one job each, with nothing to balance).
    fn cost(&self, i: usize) -> usize {
        match self {
            Prepared::Xz { parts, .. } => parts[i].len() * 8,
            Prepared::Gz { parts, .. } => parts[i].len(),
            Prepared::Whole(text, _) => text.len() * 8,
        }
    }

    /// Block `i`, carried over when its previous version has it, else compressed.
    fn block(&self, i: usize) -> io::Result<Made> {
        Ok(match self {
            Prepared::Xz { parts, old } => {
                let p = parts[i];
                // Carried over only if it held exactly this text (the block's own check, then the text).
                let key = (p.len() as u64, xzblocks::crc64(p.as_bytes()));
                match old.get(&key).filter(|(text, _)| *text == p) {
                    Some((_, b)) => Made::Xz(b.clone(), true),
                    None => {
                        // A dictionary no larger than the block (the encoder's match finder is sized
                        // by it: ~11× the dictionary, zeroed for every block).
                        let dict = u32::try_from(p.len())
                            .unwrap_or(u32::MAX)
                            .next_power_of_two()
                            .clamp(64 * 1024, 2 * BLOCK_MAX as u32);
                        Made::Xz(xzblocks::compress_text_block(p.as_bytes(), dict)?, false)
                    }
                }
            }
            Prepared::Gz { parts, old } => {
                // Each part with the end of the one before, which its matches may refer back into.
                let before = if i == 0 { &b""[..] } else { parts[i - 1].as_bytes() };
                let window = &before[before.len().saturating_sub(gzblocks::WINDOW)..];
                let p = parts[i].as_bytes();
                match old.get(&(p.len() as u64, gzblocks::part_hash(window, p))) {
                    Some(part) => Made::Gz(part.clone(), true),
                    None => Made::Gz(gzblocks::compress_part(window, p, GZ_LEVEL)?, false),
                }
            }
            Prepared::Whole(text, c) => Made::Whole(compress::compress(text.as_bytes(), *c, Profile::Index)?),
        })
    }

    /// The compressed document from its blocks, in order, and how many were carried over.
    fn assemble(&self, made: Vec<Made>) -> (Vec<u8>, usize) {
        let reused = made
            .iter()
            .filter(|m| matches!(m, Made::Xz(_, true) | Made::Gz(_, true)))
            .count();
        let bytes = match self {
            Prepared::Xz { .. } => {
                let blocks: Vec<&xzblocks::Block> = made
                    .iter()
                    .filter_map(|m| if let Made::Xz(b, _) = m { Some(b) } else { None })
                    .collect();
                xzblocks::assemble(&blocks)
            }
            Prepared::Gz { parts, .. } => {
                let made: Vec<&gzblocks::Part> = made
                    .iter()
                    .filter_map(|m| if let Made::Gz(p, _) = m { Some(p) } else { None })
                    .collect();
                let texts: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
                gzblocks::assemble(&made, &texts)
            }
            Prepared::Whole(..) => made
                .into_iter()
                .find_map(|m| if let Made::Whole(b) = m { Some(b) } else { None })
                .unwrap_or_default(),
        };
        (bytes, reused)
    }
}

/// A block as made (or carried over: `true`).
enum Made {
    Xz(xzblocks::Block, bool),
    Gz(gzblocks::Part, bool),
    Whole(Vec<u8>),
}

/// Compresses every document of `docs` at once: each block of each is one job, and the jobs run on
/// every core, the costliest first (longest-processing-time order: a large xz block started last would
/// leave the other cores idle while it finishes). Returns each document's compressed bytes and how
/// many of its blocks were carried over, in `docs` order. The bytes depend only on each document (and
/// the text of its previous version), not on the batch or the scheduling.
pub fn compress(docs: &[Doc<'_>]) -> io::Result<Vec<(Vec<u8>, usize)>> {
    // A text compressed in two forms (`Packages.gz` and `.xz`) is cut once.
    let mut cuts: Vec<(&str, &str, Vec<&str>)> = Vec::new();
    let prepared: Vec<Prepared<'_>> = docs
        .iter()
        .map(|d| {
            let same = |(text, end, _): &&(&str, &str, Vec<&str>)| {
                std::ptr::eq(*text, d.text) && *end == d.record_end
            };
            let parts = match cuts.iter().find(same) {
                Some((_, _, parts)) => parts.clone(),
                None if matches!(d.form, Form::Whole(_)) => Vec::new(),
                None => {
                    let parts = cut(d.text, d.record_end);
                    cuts.push((d.text, d.record_end, parts.clone()));
                    parts
                }
            };
            Prepared::new(d, parts)
        })
        .collect();
    let mut jobs: Vec<(usize, usize)> = prepared
        .iter()
        .enumerate()
        .flat_map(|(d, p)| (0..p.blocks()).map(move |i| (d, i)))
        .collect();
    jobs.sort_by_key(|&(d, i)| std::cmp::Reverse(prepared[d].cost(i)));
    let made = wharf_core::parallel::map_in_order(&jobs, wharf_core::parallel::cores(), |&(d, i)| {
        prepared[d].block(i)
    });
    let mut per_doc: Vec<Vec<Option<Made>>> = prepared
        .iter()
        .map(|p| (0..p.blocks()).map(|_| None).collect())
        .collect();
    for (&(d, i), m) in jobs.iter().zip(made) {
        per_doc[d][i] = Some(m?);
    }
    Ok(prepared
        .iter()
        .zip(per_doc)
        .map(|(p, made)| p.assemble(made.into_iter().flatten().collect()))
        .collect())
}

/// The `.xz` of `text` (records ending with `record_end`), carrying unchanged blocks over from
/// `previous` (the document's current text and `.xz`). Returns the file and how many blocks were carried.
pub fn xz(text: &str, record_end: &str, previous: Option<(&[u8], &[u8])>) -> io::Result<(Vec<u8>, usize)> {
    one(Doc {
        text,
        record_end,
        form: Form::Xz(previous),
    })
}

/// The `.gz` of `text` (records ending with `record_end`), carrying unchanged parts over from
/// `previous` (the document's current `.gz`). Returns the file and how many parts were carried.
pub fn gz(text: &str, record_end: &str, previous: Option<&[u8]>) -> io::Result<(Vec<u8>, usize)> {
    one(Doc {
        text,
        record_end,
        form: Form::Gz(previous),
    })
}

fn one(doc: Doc<'_>) -> io::Result<(Vec<u8>, usize)> {
    compress(&[doc])?
        .pop()
        .ok_or_else(|| io::Error::other("a batch of one document gave none back"))
}

#[cfg(test)]
mod tests {
    use std::io::Read;

    use super::*;

    fn packages(names: impl Iterator<Item = u32>) -> String {
        names
            .map(|i| {
                format!(
                    "Package: pkg-{i:05}\nVersion: 1.{i}\nArchitecture: amd64\nSize: {}\nSHA256: {:064x}\n\
                     Filename: pool/main/p/pkg-{i:05}/pkg-{i:05}_1.{i}_amd64.deb\nDescription: package {i}\n",
                    1000 + i,
                    u64::from(i) * 0x9e37_79b9
                )
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    fn back(bytes: &[u8], c: wharf_package::compress::Compression) -> String {
        let mut s = String::new();
        wharf_package::compress::decoder(bytes, c)
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        s
    }

    #[test]
    fn adding_one_record_recompresses_one_block() {
        use wharf_package::compress::Compression;
        let before = packages(0..10_000);
        let after = packages((0..=5000).chain(5000..10_000));
        for (name, c) in [("xz", Compression::Xz), ("gz", Compression::Gzip)] {
            let run = |text: &str, prev: Option<(&[u8], &[u8])>| match c {
                Compression::Xz => xz(text, "\n\n", prev).unwrap(),
                _ => gz(text, "\n\n", prev.map(|(_, gz)| gz)).unwrap(),
            };
            let (first, reused) = run(&before, None);
            assert_eq!(reused, 0);
            assert_eq!(back(&first, c), before, "{name}");
            let n = cut(&before, "\n\n").len();
            assert!((4..=40).contains(&n), "{n} blocks");
            // One more package in the middle: every block but the one it lands in is carried over.
            let (second, reused) = run(&after, Some((before.as_bytes(), &first)));
            assert_eq!(back(&second, c), after, "{name}");
            assert!(
                reused + 2 >= cut(&after, "\n\n").len(),
                "{name}: {reused} of {n} carried over"
            );
            // The same bytes as compressing from scratch: the history does not show.
            assert_eq!(run(&after, None).0, second, "{name}");
            // A previous file that is not what the text says: compressed from scratch, same bytes.
            assert_eq!(run(&after, Some((after.as_bytes(), &first))).0, second, "{name}");
            assert_eq!(run(&after, Some((b"x", b"y"))).0, second, "{name}");
            // Empty: a valid empty file.
            assert_eq!(back(&run("", None).0, c), "", "{name}");
        }
    }

    #[test]
    fn a_batch_gives_each_document_what_it_would_get_alone() {
        use wharf_package::compress::Compression;
        let big = packages(0..4000);
        let small = packages(0..30);
        let older = packages(0..3990);
        let (older_xz, _) = xz(&older, "\n\n", None).unwrap();
        let docs = [
            Doc {
                text: &big,
                record_end: "\n\n",
                form: Form::Xz(Some((older.as_bytes(), &older_xz))),
            },
            Doc {
                text: &small,
                record_end: "\n\n",
                form: Form::Gz(None),
            },
            Doc {
                text: &big,
                record_end: "\n\n",
                form: Form::Gz(None),
            },
            Doc {
                text: &small,
                record_end: "\n\n",
                form: Form::Whole(Compression::Zstd),
            },
            Doc {
                text: "",
                record_end: "\n\n",
                form: Form::Xz(None),
            },
        ];
        let batch = compress(&docs).unwrap();
        assert_eq!(batch.len(), docs.len());
        // Blocks of several documents, scheduled largest first across them, land in their own document
        // in order: the same bytes (and carried blocks) as each document compressed alone.
        assert_eq!(
            batch[0],
            xz(&big, "\n\n", Some((older.as_bytes(), &older_xz))).unwrap()
        );
        assert!(batch[0].1 > 0, "unchanged blocks of the older text carried over");
        assert_eq!(batch[1], gz(&small, "\n\n", None).unwrap());
        assert_eq!(batch[2], gz(&big, "\n\n", None).unwrap());
        assert_eq!(
            batch[3].0,
            wharf_package::compress::compress(small.as_bytes(), Compression::Zstd, Profile::Index).unwrap()
        );
        assert_eq!(back(&batch[0].0, Compression::Xz), big);
        assert_eq!(back(&batch[2].0, Compression::Gzip), big);
        assert_eq!(back(&batch[3].0, Compression::Zstd), small);
        assert_eq!(back(&batch[4].0, Compression::Xz), "");
        assert!(compress(&[]).unwrap().is_empty());
    }
}
