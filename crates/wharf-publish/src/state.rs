//! How a state manifest is stored (`.wharf/<kind>/state`): every record with the index text it renders
//! to, laid out so a publish reads only what it touches.
//!
//! A publish that adds one package to a repository of 10,000 needs, of every other record, only a few
//! short fields (to find, order and prune records) and the text it contributes to the index (a
//! `Packages` stanza; rpm-md's `<package>` in primary, filelists and other). Parsing 10,000 JSON records
//! to render them again was most of its time. So each record is stored as parts — its key fields, its
//! JSON, its index texts — and read as ranges of a buffer: the JSON is parsed only for the records a
//! publish actually opens ([`Stored::record`]), and the index is the stored texts concatenated.
//!
//! A publish that changes nothing needs only the keys: so they are apart from the bulk and can be read
//! alone ([`Manifest::decode_keys`], a ranged read); the rest is read when a publish turns out to change
//! something ([`Manifest::fill`]).
//!
//! The bulk — every record's JSON and texts — is not in the state object but in segments beside it
//! (`.wharf/<kind>/segments/<sha256>`), cut like the index blocks (`wharf_index::blocks`): after a
//! record whose checksum hashes to 0 modulo 256 once the segment holds 128 KiB, at 1 MiB, and at each
//! group's end. The cuts follow the records, not their offsets, so a record added or removed changes the
//! segment it lands in (two when it moves a cut), and a publish writes only those: adding one package to
//! 100,000 writes one or two segments, not the 70 MB of every record. Segments are named by their
//! SHA-256, written create-only before the state that names them, and collected like any other object
//! the state stops referencing (after the grace period).
//!
//! ```text
//! wharf-state 4\n
//! header\n   one line of JSON: generation, key, blobs, garbage, groups with their record counts,
//!            the sections' lengths, a CRC-32 of the data and one of table and keys, and the
//!            segments (name, length, CRC-32) that hold the data, in order
//! table      per record, u32 LE part count n ≥ 7, then n × u32 LE part lengths (keys first)
//! keys       UTF-8: each record's six key fields (file, sha256, name, arch, version, extra)
//! segment    UTF-8: its records' JSON and texts, record after record
//! ```
//!
//! Read, the state object gives every record's key fields and part lengths; the records' JSON and texts
//! are read segment by segment as they are needed ([`Manifest::missing`]): a publish that opens a few
//! records, or whose kind splices its indexes from the published ones (apt's `Packages`,
//! `wharf_index::apt::Stanza`), reads only their segments and, when it writes the state back, those it
//! cuts anew ([`CutPlan::missing`]) — a segment whose records are all unchanged keeps its name
//! unread. The table and keys are checked against their CRC-32 when read, each segment against its own
//! (and its records' boundaries) before any record in it is used, so a damaged state is refused, never
//! half-used. Earlier formats are still read: format 3 (the data inside the state),
//! replaced by this one on the next publish that changes something; `state.json` (one JSON document)
//! and format 2 (key and data parts interleaved), whose records are derived again from their JSON and
//! which the next publish replaces.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, OnceLock};

use sha2::{Digest, Sha256};

use crate::PublishError;

/// Reads segments by name, each one's bytes in the order asked ([`Manifest::decode`]).
pub(crate) type Segments<'a> = &'a dyn Fn(&[String]) -> Result<Vec<Vec<u8>>, String>;

/// The first bytes of a stored state, before its format number.
const MAGIC: &[u8] = b"wharf-state ";
/// This layout: format 3's, with the data section in segments beside the state.
pub(crate) const FORMAT: u32 = 4;
/// The layout before this one: the data section inside the state.
const FORMAT_3: u32 = 3;
/// The layout before format 3: every record's parts back to back, then the table.
const FORMAT_2: u32 = 2;
/// The version of what is derived from a record — its key fields and index texts ([`Record::key_fields`],
/// [`Record::texts`]). Raise it whenever a kind derives them differently: a state written under another
/// version has every record derived again from its JSON when it is read, so no index mixes old and new
/// renderings.
pub(crate) const DERIVED: u32 = 1;
/// A state's data section is stored in segments, cut like index blocks (`wharf_index::blocks`): after
/// a record whose checksum's hash is 0 modulo this, once the segment holds [`SEGMENT_MIN`] bytes; at
/// [`SEGMENT_MAX`]; and at each group's end. The cuts follow the records, not their offsets, so a record
/// added or removed changes the segment it is in (two, when it moves a cut) and every other segment is
/// the same bytes as before: a publish writes only those. ~300 KiB for apt's records, 1 MiB for rpm-md's.
const SEGMENT_EVERY: u64 = 256;
const SEGMENT_MIN: usize = 128 * 1024;
const SEGMENT_MAX: usize = 1024 * 1024;
/// New segments are handed out to be written once this many bytes of them are made ([`CutPlan::cut`]).
pub(crate) const WRITE_BATCH: usize = 8 << 20;
#[cfg(test)]
pub(crate) const SEGMENT_MAX_FOR_TESTS: usize = SEGMENT_MAX;
/// The key fields every record has first.
const KEY_PARTS: usize = 6;
/// The parts every record has before its texts: the six key fields and the JSON.
const FIXED_PARTS: usize = 7;
/// Index of the JSON among a record's parts.
const BODY: usize = 6;

/// The short fields of a record, stored beside it and read without parsing it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Key<'a> {
    /// The package file, relative to where the kind keeps its group's files ([`Record::object_key`]).
    pub(crate) file: &'a str,
    /// SHA-256 of the package file.
    pub(crate) sha256: &'a str,
    /// Package name.
    pub(crate) name: &'a str,
    /// Architecture as the family writes it.
    pub(crate) arch: &'a str,
    /// Version as the family orders it (rpm: `epoch:version-release`).
    pub(crate) version: &'a str,
    /// What else the kind looks records up by (apt: the component).
    pub(crate) extra: &'a str,
}

/// Owned key fields, for a record being stored.
pub(crate) struct KeyFields {
    pub(crate) file: String,
    pub(crate) sha256: String,
    pub(crate) name: String,
    pub(crate) arch: String,
    pub(crate) version: String,
    pub(crate) extra: String,
}

/// The text a state's records are ranges of: their key fields, and the rest as it is read.
#[derive(Debug, Default)]
pub(crate) struct Buf {
    /// Key fields (a state: its keys section; a new record: its own six).
    keys: String,
    /// JSON and texts, in chunks that cover the records' data offsets back to back: a state's segments
    /// (format 3: the one data section inside it), each read when a record in it is first needed
    /// ([`Manifest::missing`], [`Manifest::supply`]); a new record's, its own.
    chunks: Vec<Chunk>,
    /// Every record's part boundaries, record after record ([`Stored::bounds`]): one table for a
    /// state's thousands of records, so reading one and copying its records allocate nothing per record.
    bounds: Vec<usize>,
}

/// One run of a state's data section, whole records only.
#[derive(Debug, Default)]
struct Chunk {
    /// Where it starts among its records' data offsets (format 3: in the state object).
    start: usize,
    len: usize,
    crc: u32,
    /// Its segment's name (`segments/<sha256>`); empty: inside the state object, or a new record's.
    name: String,
    text: OnceLock<String>,
}

impl Buf {
    /// The chunk holding data offset `at`, and its index.
    fn chunk_at(&self, at: usize) -> Option<(usize, &Chunk)> {
        chunk_at(&self.chunks, at)
    }
}

/// Of `chunks` (in order, back to back), the one holding data offset `at`, and its index.
fn chunk_at(chunks: &[Chunk], at: usize) -> Option<(usize, &Chunk)> {
    let i = chunks.partition_point(|c| c.start <= at).checked_sub(1)?;
    Some((i, chunks.get(i)?))
}

/// One record of a state: its parts in a shared buffer, and the record itself once parsed.
pub(crate) struct Stored<R> {
    buf: Arc<Buf>,
    /// Where its part boundaries are in the buffer's table ([`Stored::bounds`]).
    span: std::ops::Range<usize>,
    /// Shared, not inline: a record is large (hundreds of bytes, a kilobyte for rpm) and most are never
    /// parsed; states, inspection results and plans move and copy these by the thousand (a copy of a
    /// record made for one publish, into the state's group, costs a count, not a deep copy).
    parsed: OnceLock<Arc<R>>,
}

impl<R> std::fmt::Debug for Stored<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stored").field(&self.key()).finish()
    }
}

impl<R: Clone> Clone for Stored<R> {
    fn clone(&self) -> Self {
        Self {
            buf: Arc::clone(&self.buf),
            span: self.span.clone(),
            parsed: self.parsed.clone(),
        }
    }
}

impl<R> Stored<R> {
    /// Part boundaries: key part `i` (< 6) is `keys[bounds[i]..bounds[i + 1]]`; part `i` ≥ 6 (JSON,
    /// texts) is `data[bounds[i + 1]..bounds[i + 2]]`.
    fn bounds(&self) -> &[usize] {
        self.buf.bounds.get(self.span.clone()).unwrap_or_default()
    }

    /// Where part `i`'s boundaries are in [`Stored::bounds`] (data parts after the data's start).
    fn at(i: usize) -> usize {
        if i < KEY_PARTS { i } else { i + 1 }
    }

    /// The chunk its data lies in (one: segments are cut between records), and its index.
    fn chunk(&self) -> Option<(usize, &Chunk)> {
        self.buf.chunk_at(*self.bounds().get(KEY_PARTS + 1)?)
    }

    fn part(&self, i: usize) -> &str {
        // Boundaries are checked against the buffers (length, char boundaries) when they are read.
        let bounds = self.bounds();
        let at = Self::at(i);
        let (Some(&a), Some(&b)) = (bounds.get(at), bounds.get(at + 1)) else {
            return "";
        };
        if i < KEY_PARTS {
            return self.buf.keys.get(a..b).unwrap_or_default();
        }
        self.chunk()
            .and_then(|(_, c)| {
                c.text
                    .get()?
                    .get(a.checked_sub(c.start)?..b.checked_sub(c.start)?)
            })
            .unwrap_or_default()
    }

    /// Part `i`'s length, read or not.
    fn part_len(&self, i: usize) -> usize {
        let bounds = self.bounds();
        let at = Self::at(i);
        match (bounds.get(at), bounds.get(at + 1)) {
            (Some(a), Some(b)) => b.saturating_sub(*a),
            _ => 0,
        }
    }

    /// Its data section's offsets: the JSON's start to the last text's end.
    fn data_span(&self) -> (usize, usize) {
        let bounds = self.bounds();
        let start = bounds.get(KEY_PARTS + 1).copied().unwrap_or_default();
        (start, bounds.last().copied().unwrap_or(start).max(start))
    }

    /// The key fields.
    pub(crate) fn key(&self) -> Key<'_> {
        Key {
            file: self.part(0),
            sha256: self.part(1),
            name: self.part(2),
            arch: self.part(3),
            version: self.part(4),
            extra: self.part(5),
        }
    }

    /// Whether its JSON and texts have been read (a state's records: once the segment holding them is).
    pub(crate) fn loaded(&self) -> bool {
        self.chunk().is_none_or(|(_, c)| c.text.get().is_some())
    }

    /// Index text `i`'s length, whether read or not.
    pub(crate) fn text_len(&self, i: usize) -> usize {
        self.part_len(FIXED_PARTS + i)
    }

    fn not_loaded(&self) -> PublishError {
        let k = self.key();
        PublishError::Record {
            what: format!("{} {} ({})", k.name, k.version, k.arch),
            why: "the state's segment holding it was not read (a bug: it must be read before it is used)"
                .into(),
        }
    }

    /// Index text `i` ([`Record::texts`]), empty if the kind renders fewer.
    pub(crate) fn text(&self, i: usize) -> Result<&str, PublishError> {
        if self.loaded() {
            Ok(self.part(FIXED_PARTS + i))
        } else {
            Err(self.not_loaded())
        }
    }

    fn parts(&self) -> usize {
        self.span.len().saturating_sub(2)
    }
}

impl<R: Record> Stored<R> {
    /// A record to store: its key fields, JSON and index texts are made now.
    pub(crate) fn new(record: R) -> Result<Self, PublishError> {
        let k = record.key_fields();
        let json = serde_json::to_string(&record).map_err(|e| PublishError::Record {
            what: format!("{} {} ({})", k.name, k.version, k.arch),
            why: e.to_string(),
        })?;
        let texts = record.texts();
        let keys_parts = [&k.file, &k.sha256, &k.name, &k.arch, &k.version, &k.extra];
        let data_parts: Vec<&str> = [json.as_str()]
            .into_iter()
            .chain(texts.iter().map(String::as_str))
            .collect();
        let mut keys = String::with_capacity(keys_parts.iter().map(|p| p.len()).sum());
        let mut data = String::with_capacity(data_parts.iter().map(|p| p.len()).sum());
        let mut bounds = Vec::with_capacity(KEY_PARTS + data_parts.len() + 2);
        bounds.push(0);
        for p in keys_parts {
            keys.push_str(p);
            bounds.push(keys.len());
        }
        bounds.push(0);
        for p in data_parts {
            data.push_str(p);
            bounds.push(data.len());
        }
        // The record itself is not kept: a new one is stored, not read again (a kind that does read
        // it parses its JSON, [`Stored::record`]), and a publish of 100,000 packages holds 100,000.
        drop(record);
        Ok(Self {
            span: 0..bounds.len(),
            buf: Arc::new(Buf {
                keys,
                chunks: vec![Chunk {
                    len: data.len(),
                    text: OnceLock::from(data),
                    ..Chunk::default()
                }],
                bounds,
            }),
            parsed: OnceLock::new(),
        })
    }

    /// The record, parsed from its JSON the first time it is asked for.
    pub(crate) fn record(&self) -> Result<&R, PublishError> {
        if let Some(r) = self.parsed.get() {
            return Ok(r);
        }
        if !self.loaded() {
            return Err(self.not_loaded());
        }
        let r: R = serde_json::from_str(self.part(BODY)).map_err(|e| {
            let k = self.key();
            PublishError::Record {
                what: format!("{} {} ({})", k.name, k.version, k.arch),
                why: e.to_string(),
            }
        })?;
        Ok(self.parsed.get_or_init(|| Arc::new(r)))
    }

    /// `name version (arch)`.
    pub(crate) fn describe(&self) -> String {
        R::describe(&self.key())
    }

    /// Where the package file lives in the store, for a record of `group`.
    pub(crate) fn object_key(&self, group: &str) -> String {
        R::object_key(group, &self.key())
    }
}

/// Everything a state holds besides its records.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub(crate) struct Header {
    format: u32,
    generation: u64,
    key_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    description: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    blobs: BTreeMap<String, BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    garbage: BTreeMap<String, u64>,
    /// Each group and how many records follow for it, in order.
    groups: Vec<(String, usize)>,
    /// [`DERIVED`] when the state was written (0: before it was recorded).
    #[serde(default)]
    pub(crate) derived: u32,
    data_len: u64,
    table_len: u64,
    keys_len: u64,
    /// CRC-32 of the data section.
    crc_data: u32,
    /// CRC-32 of the table and keys sections.
    crc_keys: u32,
    /// Format 4: where the data section is, back to back — each segment's name (`segments/<sha256>`,
    /// beside the state), length and CRC-32.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    segments: Vec<(String, u64, u32)>,
}

/// A repository kind's state: every published record, grouped (by apt suite, rpm repository, feed
/// architecture), plus the bookkeeping of the transaction.
#[derive(Debug)]
pub(crate) struct Manifest<R> {
    pub(crate) generation: u64,
    pub(crate) key_fingerprint: Option<String>,
    /// The repository's description, as its first publish (or the last explicit one) set it: a store
    /// several projects publish into keeps one ([`crate::txn::Txn::description`]).
    pub(crate) description: Option<String>,
    pub(crate) groups: BTreeMap<String, Vec<Stored<R>>>,
    /// The content-addressed index blobs each group's pointers reference.
    pub(crate) blobs: BTreeMap<String, BTreeSet<String>>,
    /// Objects no longer referenced, with the Unix time they left the state.
    pub(crate) garbage: BTreeMap<String, u64>,
    /// Read in an older form (the first format, or keys and texts derived by another version) and
    /// brought up to date in memory: worth writing back even if nothing else changes.
    pub(crate) upgraded: bool,
    /// The buffer its stored records are ranges of, whose chunks are read as they are needed
    /// ([`Manifest::missing`]) and found unchanged when it is cut ([`CutPlan::cut`]).
    stored: Option<Arc<Buf>>,
    /// The segments it references now: as read, then as last cut ([`CutPlan::cut`]).
    pub(crate) segments: Vec<String>,
}

/// A segment the store does not have yet: its name and bytes ([`CutPlan::cut`]).
pub(crate) type NewSegment = (String, Vec<u8>);

/// The segments a state is cut into for storing ([`CutPlan::cut`]).
pub(crate) struct Cut {
    /// Every segment's name, length and CRC-32, in order.
    all: Vec<(String, u64, u32)>,
    /// CRC-32 of them all, back to back.
    crc: u32,
}

impl Cut {
    /// Every segment's name.
    pub(crate) fn names(&self) -> impl Iterator<Item = &str> {
        self.all.iter().map(|(n, _, _)| n.as_str())
    }
}

/// A chunk of a state's data still to read ([`Manifest::missing`]).
#[derive(Debug)]
pub(crate) struct Missing {
    /// Which, for [`Manifest::supply`].
    pub(crate) index: usize,
    /// Its segment's name, relative to the state's directory; empty: the range `start..start + len` of
    /// the state object itself (format 3).
    pub(crate) name: String,
    pub(crate) start: usize,
    pub(crate) len: usize,
}

/// The first format: one JSON document.
#[derive(serde::Deserialize)]
struct Legacy<R> {
    generation: u64,
    key_fingerprint: Option<String>,
    groups: BTreeMap<String, Vec<R>>,
    #[serde(default)]
    blobs: BTreeMap<String, BTreeSet<String>>,
    #[serde(default)]
    garbage: BTreeMap<String, u64>,
}

/// The second format's header (the sections' lengths and one CRC-32).
#[derive(serde::Deserialize)]
struct Header2 {
    generation: u64,
    key_fingerprint: Option<String>,
    #[serde(default)]
    blobs: BTreeMap<String, BTreeSet<String>>,
    #[serde(default)]
    garbage: BTreeMap<String, u64>,
    groups: Vec<(String, usize)>,
    table_len: u64,
    data_len: u64,
    crc32: u32,
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// The line starting at `at` (without its newline) and where the next one starts.
fn line_at(bytes: &[u8], at: usize) -> Option<(&[u8], usize)> {
    let rest = bytes.get(at..)?;
    let n = rest.iter().position(|&b| b == b'\n')?;
    Some((&rest[..n], at + n + 1))
}

/// Where segment names point: `segments/` and 64 lowercase hex digits, nothing else.
fn is_segment_name(name: &str) -> bool {
    name.strip_prefix("segments/").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn usize_of(n: u64) -> Result<usize, String> {
    usize::try_from(n).map_err(|e| e.to_string())
}

/// Where a stored state's sections are, from its first bytes.
pub(crate) enum Layout {
    /// The first format: one JSON document.
    Json,
    /// The second format: read whole.
    Format2,
    /// Formats 3 and 4: the header, where the data starts (format 4: would start, were it not in
    /// segments), where the table starts in the object, and the object's length.
    Current {
        format: u32,
        header: Box<Header>,
        data_start: usize,
        tail_start: usize,
        len: usize,
    },
    /// The header does not end within the bytes given: more are needed.
    Truncated,
}

impl Layout {
    /// Reads the first line and header from the start of a stored state.
    pub(crate) fn of(bytes: &[u8]) -> Result<Self, String> {
        if bytes.first() == Some(&b'{') {
            return Ok(Self::Json);
        }
        let Some((first, at)) = line_at(bytes, 0) else {
            return Ok(Self::Truncated);
        };
        let format = first
            .strip_prefix(MAGIC)
            .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u32>().ok())
            .ok_or("not a wharf state")?;
        if format == FORMAT_2 {
            return Ok(Self::Format2);
        }
        if format != FORMAT && format != FORMAT_3 {
            return Err(format!(
                "state format {format} (this wharf reads {FORMAT}); publish with the wharf that wrote it"
            ));
        }
        let Some((header, data_start)) = line_at(bytes, at) else {
            return Ok(Self::Truncated);
        };
        let header: Header = serde_json::from_slice(header).map_err(|e| e.to_string())?;
        let data_end = data_start
            .checked_add(usize_of(header.data_len)?)
            .ok_or("section lengths out of range")?;
        let tail_start = if format == FORMAT_3 {
            if !header.segments.is_empty() {
                return Err("a format 3 state with segments".into());
            }
            data_end
        } else {
            let mut total = 0u64;
            for (name, len, _) in &header.segments {
                if !is_segment_name(name) {
                    return Err("a segment name that is not `segments/<sha256>`".into());
                }
                total = total.checked_add(*len).ok_or("section lengths out of range")?;
            }
            if total != header.data_len {
                return Err("segments and data section disagree".into());
            }
            data_start
        };
        let len = tail_start
            .checked_add(usize_of(header.table_len)?)
            .and_then(|n| n.checked_add(usize_of(header.keys_len).ok()?))
            .ok_or("section lengths out of range")?;
        Ok(Self::Current {
            format,
            header: Box::new(header),
            data_start,
            tail_start,
            len,
        })
    }
}

impl<R: Record> Manifest<R> {
    /// A state with no records.
    pub(crate) fn empty() -> Self {
        Self {
            generation: 0,
            key_fingerprint: None,
            description: None,
            groups: BTreeMap::new(),
            blobs: BTreeMap::new(),
            garbage: BTreeMap::new(),
            upgraded: false,
            stored: None,
            segments: Vec::new(),
        }
    }

    /// Reads a stored state, any format; `segments` reads a format 4 state's segments (by name, back to
    /// back). The error is the reason, for [`PublishError::State`].
    pub(crate) fn decode(mut bytes: Vec<u8>, segments: Segments<'_>) -> Result<Self, String> {
        match Layout::of(&bytes)? {
            Layout::Json => Self::decode_json(&bytes),
            Layout::Format2 => Self::decode_2(&bytes),
            Layout::Truncated => Err("not a wharf state, or its header is cut off".into()),
            Layout::Current {
                header,
                data_start,
                tail_start,
                len,
                ..
            } => {
                if bytes.len() != len {
                    return Err(format!("{} bytes where the header says {len}", bytes.len()));
                }
                let stale = header.derived != DERIVED;
                let tail = bytes.split_off(tail_start);
                let mut m = Self::decode_keys(*header, data_start, tail)?;
                m.read_all(&bytes, segments)?;
                drop(bytes);
                if stale {
                    // Keys and texts derived by another version: derived again from the JSON.
                    for records in m.groups.values_mut() {
                        *records = records
                            .iter()
                            .map(|r| r.record().cloned().and_then(Stored::new))
                            .collect::<Result<_, _>>()
                            .map_err(|e| e.to_string())?;
                    }
                    m.upgraded = true;
                    m.stored = None;
                }
                Ok(m)
            }
        }
    }

    /// A state from its header and its table and keys sections (the file from `data_end` on): every
    /// record's key, the rest read segment by segment as it is needed ([`Manifest::missing`]). (A state
    /// whose texts another version derived must be read whole, [`Manifest::decode`], to be derived again.)
    pub(crate) fn decode_keys(header: Header, data_start: usize, mut tail: Vec<u8>) -> Result<Self, String> {
        let table_len = usize_of(header.table_len)?;
        if tail.len() != table_len.saturating_add(usize_of(header.keys_len)?) {
            return Err(format!(
                "{} bytes of table and keys where the header says {}",
                tail.len(),
                table_len.saturating_add(usize_of(header.keys_len)?)
            ));
        }
        if crc32fast::hash(&tail) != header.crc_keys {
            return Err("checksum mismatch: the file is damaged".into());
        }
        // Table and keys are read where they lie in `tail` (the keys then moved down over the table in
        // place: a copy into a new buffer faulted in as many fresh pages).
        let (table, keys) = tail.split_at(table_len);
        let keys = std::str::from_utf8(keys).map_err(|e| e.to_string())?;
        let data_len = usize_of(header.data_len)?;
        let data_end = data_start.saturating_add(data_len);
        // Format 4: its segments back to back from `data_start` (their lengths add up to the data
        // section's, [`Layout::of`]); format 3: the data section inside the object.
        let chunks: Vec<Chunk> = if header.segments.is_empty() {
            vec![Chunk {
                start: data_start,
                len: data_len,
                crc: header.crc_data,
                ..Chunk::default()
            }]
        } else {
            let mut at = data_start;
            header
                .segments
                .iter()
                .map(|(name, len, crc)| {
                    let len = usize_of(*len)?;
                    at = at.checked_add(len).ok_or("section lengths out of range")?;
                    Ok(Chunk {
                        start: at - len,
                        len,
                        crc: *crc,
                        name: name.clone(),
                        text: OnceLock::new(),
                    })
                })
                .collect::<Result<_, String>>()?
        };
        let mut buf = Buf {
            keys: String::new(),
            chunks,
            bounds: Vec::new(),
        };
        let mut at = 0;
        let (mut key_at, mut data_at) = (0, data_start);
        let mut all = Vec::with_capacity(header.groups.len());
        // Each record's n part lengths become n + 2 boundaries (two starts): about as many as the table's
        // u32s.
        let records = header
            .groups
            .iter()
            .fold(0usize, |n, (_, c)| n.saturating_add(*c))
            .min(table_len / 4);
        buf.bounds = Vec::with_capacity(table_len / 4 + records);
        let bounds = &mut buf.bounds;
        for (_, count) in &header.groups {
            let mut group = Vec::with_capacity((*count).min(table_len / 4));
            for _ in 0..*count {
                let n = u32_at(table, at).ok_or("truncated record table")? as usize;
                at += 4;
                if n < FIXED_PARTS || n > table_len / 4 {
                    return Err(format!("a record of {n} parts"));
                }
                let start = bounds.len();
                bounds.push(key_at);
                let data_from = data_at;
                for i in 0..n {
                    if i == KEY_PARTS {
                        bounds.push(data_at);
                    }
                    let len = u32_at(table, at).ok_or("truncated record table")? as usize;
                    at += 4;
                    let end = if i < KEY_PARTS { &mut key_at } else { &mut data_at };
                    *end = end.checked_add(len).ok_or("record out of range")?;
                    if i < KEY_PARTS && (*end > keys.len() || !keys.is_char_boundary(*end)) {
                        return Err("record out of range".into());
                    }
                    bounds.push(*end);
                }
                // Within one chunk: segments are cut between records.
                let within =
                    chunk_at(&buf.chunks, data_from).is_some_and(|(_, c)| data_at <= c.start + c.len);
                if !within && data_at > data_from {
                    return Err("a record across segments".into());
                }
                group.push(start..bounds.len());
            }
            all.push(group);
        }
        if at != table.len() || key_at != keys.len() || data_at != data_end {
            return Err("record table and sections disagree".into());
        }
        tail.drain(..table_len);
        // Its table's room given back (in place, or by remapping: nothing is copied).
        tail.shrink_to_fit();
        buf.keys = String::from_utf8(tail).map_err(|e| e.utf8_error().to_string())?;
        let buf = Arc::new(buf);
        let names = header.segments.iter().map(|(n, _, _)| n.clone()).collect();
        let mut groups = BTreeMap::new();
        for ((name, _), records) in header.groups.into_iter().zip(all) {
            let stored: Vec<Stored<R>> = records
                .into_iter()
                .map(|span| Stored {
                    buf: Arc::clone(&buf),
                    span,
                    parsed: OnceLock::new(),
                })
                .collect();
            groups.insert(name, stored);
        }
        Ok(Self {
            generation: header.generation,
            key_fingerprint: header.key_fingerprint,
            description: header.description,
            groups,
            blobs: header.blobs,
            garbage: header.garbage,
            upgraded: false,
            stored: Some(buf),
            segments: names,
        })
    }

    /// Reads every chunk not read yet: from `object` (the state object, format 3) or by `segments`.
    fn read_all(&self, object: &[u8], segments: Segments<'_>) -> Result<(), String> {
        let missing = self.missing(None);
        let names: Vec<String> = missing
            .iter()
            .filter(|c| !c.name.is_empty())
            .map(|c| c.name.clone())
            .collect();
        let mut read = segments(&names)?.into_iter();
        let mut got = Vec::with_capacity(missing.len());
        for c in missing {
            let chunk = if c.name.is_empty() {
                let end = c.start.checked_add(c.len).ok_or("record out of range")?;
                object.get(c.start..end).ok_or("the state is cut short")?.to_vec()
            } else {
                read.next().ok_or("a segment was not read")?
            };
            got.push((c.index, chunk));
        }
        self.supply(got)
    }

    /// The chunks of the stored state not read yet: every one (`records` `None`), or those holding
    /// `records` (others' records, and records made since, need none).
    pub(crate) fn missing(&self, records: Option<&[&Stored<R>]>) -> Vec<Missing> {
        let Some(buf) = &self.stored else {
            return Vec::new();
        };
        let mut wanted: Vec<usize> = match records {
            None => (0..buf.chunks.len()).collect(),
            Some(rs) => rs
                .iter()
                .filter(|r| Arc::ptr_eq(&r.buf, buf))
                .filter_map(|r| r.chunk().map(|(i, _)| i))
                .collect(),
        };
        wanted.sort_unstable();
        wanted.dedup();
        wanted
            .into_iter()
            .filter_map(|i| {
                let c = buf.chunks.get(i)?;
                c.text.get().is_none().then(|| Missing {
                    index: i,
                    name: c.name.clone(),
                    start: c.start,
                    len: c.len,
                })
            })
            .collect()
    }

    /// Completes chunks of a state read for its keys ([`Manifest::missing`]) with their bytes: each
    /// is checked (length, CRC-32, UTF-8, its records' boundaries) before any is taken, so a damaged one
    /// is refused and leaves them all unread. Every record in them (and every copy of one) can then be
    /// opened.
    pub(crate) fn supply(&self, got: Vec<(usize, Vec<u8>)>) -> Result<(), String> {
        let Some(buf) = &self.stored else {
            return Ok(());
        };
        let mut texts = Vec::with_capacity(got.len());
        for (i, bytes) in got {
            let c = buf.chunks.get(i).ok_or("no such segment")?;
            if bytes.len() != c.len {
                return Err(format!(
                    "{} bytes of data where the header says {}",
                    bytes.len(),
                    c.len
                ));
            }
            if crc32fast::hash(&bytes) != c.crc {
                return Err("checksum mismatch: the file is damaged".into());
            }
            texts.push((
                i,
                String::from_utf8(bytes).map_err(|e| e.utf8_error().to_string())?,
            ));
        }
        // The state's own records only: records added since have buffers of their own.
        let mut by_chunk: Vec<Option<&String>> = vec![None; buf.chunks.len()];
        for (i, t) in &texts {
            by_chunk[*i] = Some(t);
        }
        let text_of = |i: usize| by_chunk.get(i).copied().flatten();
        let boundaries = self
            .groups
            .values()
            .flatten()
            .filter(|r| Arc::ptr_eq(&r.buf, buf))
            .all(|r| match r.chunk().and_then(|(i, c)| Some((c, text_of(i)?))) {
                Some((c, text)) => r
                    .bounds()
                    .get(KEY_PARTS + 1..)
                    .unwrap_or_default()
                    .iter()
                    .all(|b| b.checked_sub(c.start).is_some_and(|at| text.is_char_boundary(at))),
                None => true,
            });
        if !boundaries {
            return Err("record out of range".into());
        }
        for (i, text) in texts {
            if let Some(c) = buf.chunks.get(i) {
                let _ = c.text.set(text);
            }
        }
        Ok(())
    }

    fn decode_json(bytes: &[u8]) -> Result<Self, String> {
        let legacy: Legacy<R> = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        let bookkeeping = (
            legacy.generation,
            legacy.key_fingerprint,
            legacy.blobs,
            legacy.garbage,
        );
        Self::derived_again(legacy.groups.into_iter().collect(), bookkeeping)
    }

    /// The second format: each record is derived again from its JSON.
    fn decode_2(bytes: &[u8]) -> Result<Self, String> {
        let (header, groups) = open_2(bytes)?;
        let groups = groups
            .into_iter()
            .map(|(name, jsons)| {
                let records = jsons
                    .into_iter()
                    .map(|json| serde_json::from_str(json).map_err(|e| e.to_string()))
                    .collect::<Result<Vec<R>, String>>()?;
                Ok((name, records))
            })
            .collect::<Result<_, String>>()?;
        let bookkeeping = (
            header.generation,
            header.key_fingerprint,
            header.blobs,
            header.garbage,
        );
        Self::derived_again(groups, bookkeeping)
    }

    /// A state read in an earlier format: its records with keys and texts derived now, and its
    /// bookkeeping (generation, key, blobs, garbage); marked to be written back.
    fn derived_again(groups: Vec<(String, Vec<R>)>, bookkeeping: Bookkeeping) -> Result<Self, String> {
        let mut m = Self::empty();
        for (name, records) in groups {
            let stored = records
                .into_iter()
                .map(Stored::new)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| e.to_string())?;
            m.groups.insert(name, stored);
        }
        (m.generation, m.key_fingerprint, m.blobs, m.garbage) = bookkeeping;
        m.upgraded = true;
        Ok(m)
    }

    /// The data section's cut ([`SEGMENT_EVERY`]), decided from the keys and part lengths alone: each
    /// segment's records and length, in order, and the stored segment it is kept as, if any. Computed
    /// once for what must be read before the cut ([`CutPlan::missing`]) and for the cut itself.
    pub(crate) fn plan_cut(&self) -> CutPlan<'_, R> {
        let mut spans = Vec::new();
        for records in self.groups.values() {
            let (mut first, mut len) = (0, 0);
            for (i, r) in records.iter().enumerate() {
                len += (KEY_PARTS..r.parts()).map(|p| r.part_len(p)).sum::<usize>();
                if i + 1 == records.len()
                    || len >= SEGMENT_MAX
                    || (len >= SEGMENT_MIN && cut_after(r.key().sha256))
                {
                    let records = &records[first..=i];
                    spans.push(Span {
                        records,
                        len,
                        kept: self.same_segment(records),
                    });
                    (first, len) = (i + 1, 0);
                }
            }
        }
        CutPlan { state: self, spans }
    }

    /// The stored segment `records` are exactly, record for record (so the same bytes, read or not).
    fn same_segment(&self, records: &[Stored<R>]) -> Option<&Chunk> {
        let buf = self.stored.as_ref()?;
        let mut end = records.first()?.data_span().0;
        let (_, c) = buf.chunk_at(end)?;
        for r in records {
            let (from, to) = r.data_span();
            if !Arc::ptr_eq(&r.buf, buf) || from != end {
                return None;
            }
            end = to;
        }
        (c.start == records[0].data_span().0 && c.start + c.len == end && !c.name.is_empty()).then_some(c)
    }
}

/// A state's data section as it will be cut ([`Manifest::plan_cut`]).
pub(crate) struct CutPlan<'a, R> {
    state: &'a Manifest<R>,
    spans: Vec<Span<'a, R>>,
}

/// One segment of a [`CutPlan`]: its records, its length, and the stored segment they are exactly.
struct Span<'a, R> {
    records: &'a [Stored<R>],
    len: usize,
    kept: Option<&'a Chunk>,
}

impl<R: Record> CutPlan<'_, R> {
    /// The chunks [`CutPlan::cut`] must have read: those of records that end up in a segment of their
    /// own making (an added or removed record's neighbours), never those of a segment kept whole.
    pub(crate) fn missing(&self) -> Vec<Missing> {
        let wanted: Vec<&Stored<R>> = self
            .spans
            .iter()
            .filter(|s| s.kept.is_none())
            .flat_map(|s| s.records.iter().filter(|r| !r.loaded()))
            .collect();
        self.state.missing(Some(&wanted))
    }

    /// The data section cut into segments: those the stored state has already keep their names — the
    /// same records (unread ones too), or the same bytes (found by length and CRC-32 and compared); the
    /// others are named by their SHA-256 and handed to `write`, a batch at a time (at least `batch`
    /// bytes, or the last ones; [`WRITE_BATCH`] when writing), so a first publish of 100,000 records
    /// holds a batch of its new segments at once, never the hundreds of megabytes of them all. The
    /// records in those must have been read ([`CutPlan::missing`]).
    pub(crate) fn cut(
        &self,
        batch_bytes: usize,
        write: &mut dyn FnMut(Vec<NewSegment>) -> Result<(), String>,
    ) -> Result<Cut, String> {
        let mut known: HashMap<(usize, u32), Vec<&Chunk>> = HashMap::new();
        for c in self.state.stored.iter().flat_map(|b| &b.chunks) {
            if !c.name.is_empty() && c.text.get().is_some() {
                known.entry((c.len, c.crc)).or_default().push(c);
            }
        }
        let mut cut = Cut {
            all: Vec::new(),
            crc: 0,
        };
        let (mut batch, mut batch_len) = (Vec::new(), 0);
        let mut total = crc32fast::Hasher::new();
        for &Span { records, len, kept } in &self.spans {
            if let Some(c) = kept {
                total.combine(&crc32fast::Hasher::new_with_initial_len(c.crc, c.len as u64));
                cut.all.push((c.name.clone(), c.len as u64, c.crc));
                continue;
            }
            if records.iter().any(|r| !r.loaded()) {
                return Err("a segment to write holds records not read (a bug)".into());
            }
            let parts = || {
                records
                    .iter()
                    .flat_map(|r| (KEY_PARTS..r.parts()).map(move |p| r.part(p).as_bytes()))
            };
            let mut crc = crc32fast::Hasher::new();
            parts().for_each(|p| crc.update(p));
            let crc32 = crc.clone().finalize();
            total.combine(&crc);
            let same = |c: &&&Chunk| {
                c.text.get().is_some_and(|text| {
                    let mut at = 0;
                    parts().all(|p| {
                        at += p.len();
                        text.as_bytes().get(at - p.len()..at) == Some(p)
                    })
                })
            };
            let name = match known.get(&(len, crc32)).and_then(|c| c.iter().find(same)) {
                Some(c) => c.name.clone(),
                None => {
                    let mut bytes = Vec::with_capacity(len);
                    parts().for_each(|p| bytes.extend_from_slice(p));
                    let name = format!("segments/{}", hex::encode(Sha256::digest(&bytes)));
                    batch_len += bytes.len();
                    batch.push((name.clone(), bytes));
                    if batch_len >= batch_bytes {
                        write(std::mem::take(&mut batch))?;
                        batch_len = 0;
                    }
                    name
                }
            };
            cut.all.push((name, len as u64, crc32));
        }
        if !batch.is_empty() {
            write(batch)?;
        }
        cut.crc = total.finalize();
        Ok(cut)
    }

    /// [`CutPlan::cut`] with every new segment kept and returned.
    #[cfg(test)]
    pub(crate) fn cut_all(&self) -> Result<(Cut, Vec<NewSegment>), String> {
        let mut new = Vec::new();
        let cut = self.cut(usize::MAX, &mut |batch| {
            new.extend(batch);
            Ok(())
        })?;
        Ok((cut, new))
    }
}

impl<R: Record> Manifest<R> {
    /// The stored form, its data section in `cut`'s segments: the header, the table and the keys,
    /// copied part by part (never serialised again) into one buffer of the exact size.
    pub(crate) fn encode(&self, cut: &Cut) -> Result<Vec<u8>, String> {
        let records = || self.groups.values().flatten();
        let mut table = Vec::with_capacity(records().map(|r| 4 * (1 + r.parts())).sum());
        let (mut data_len, mut keys_len) = (0usize, 0usize);
        for r in records() {
            let n = u32::try_from(r.parts()).map_err(|e| e.to_string())?;
            table.extend_from_slice(&n.to_le_bytes());
            for i in 0..r.parts() {
                let len = r.part_len(i);
                let len32 = u32::try_from(len).map_err(|_| "a record part of 4 GiB or more")?;
                table.extend_from_slice(&len32.to_le_bytes());
                if i < KEY_PARTS {
                    keys_len += len;
                } else {
                    data_len += len;
                }
            }
        }
        let mut crc_keys = crc32fast::Hasher::new();
        crc_keys.update(&table);
        for r in records() {
            (0..KEY_PARTS).for_each(|i| crc_keys.update(r.part(i).as_bytes()));
        }
        let header = Header {
            format: FORMAT,
            generation: self.generation,
            key_fingerprint: self.key_fingerprint.clone(),
            description: self.description.clone(),
            blobs: self.blobs.clone(),
            garbage: self.garbage.clone(),
            groups: self.groups.iter().map(|(g, rs)| (g.clone(), rs.len())).collect(),
            derived: DERIVED,
            data_len: data_len as u64,
            table_len: table.len() as u64,
            keys_len: keys_len as u64,
            crc_data: cut.crc,
            crc_keys: crc_keys.finalize(),
            segments: cut.all.clone(),
        };
        // Compact JSON: no newline inside.
        let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        let first = format!("{}{FORMAT}\n", String::from_utf8_lossy(MAGIC));
        let mut out = Vec::with_capacity(first.len() + header.len() + 1 + table.len() + keys_len);
        out.extend_from_slice(first.as_bytes());
        out.extend_from_slice(&header);
        out.push(b'\n');
        out.extend_from_slice(&table);
        for r in records() {
            for i in 0..KEY_PARTS {
                out.extend_from_slice(r.part(i).as_bytes());
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
pub(crate) mod tests_support {
    /// A stored state's header line and where the bytes after it start.
    pub(crate) fn split_header(bytes: &[u8]) -> (&[u8], usize) {
        let (_, at) = super::line_at(bytes, 0).unwrap();
        super::line_at(bytes, at).unwrap()
    }
}

/// Whether a segment may end after the record of this checksum ([`SEGMENT_EVERY`]).
fn cut_after(sha256: &str) -> bool {
    let fnv = sha256.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    let mut h = fnv ^ (fnv >> 33);
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    (h ^ (h >> 33)) % SEGMENT_EVERY == 0
}

/// A state's generation, signing key, index blobs and garbage.
type Bookkeeping = (
    u64,
    Option<String>,
    BTreeMap<String, BTreeSet<String>>,
    BTreeMap<String, u64>,
);

/// The second format's header and each group's records' JSON.
type Open2<'a> = (Header2, Vec<(String, Vec<&'a str>)>);

fn open_2(bytes: &[u8]) -> Result<Open2<'_>, String> {
    let (_, at) = line_at(bytes, 0).ok_or("not a wharf state")?;
    let (header, data_start) = line_at(bytes, at).ok_or("truncated header")?;
    let header: Header2 = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let (table_len, data_len) = (usize_of(header.table_len)?, usize_of(header.data_len)?);
    let body = &bytes[data_start..];
    if body.len() != table_len.saturating_add(data_len) || crc32fast::hash(body) != header.crc32 {
        return Err("checksum mismatch: the file is damaged".into());
    }
    let (data, table) = body.split_at(data_len);
    let data = std::str::from_utf8(data).map_err(|e| e.to_string())?;
    let (mut at, mut start) = (0, 0usize);
    let mut groups = Vec::with_capacity(header.groups.len());
    for (name, count) in &header.groups {
        let mut jsons = Vec::with_capacity((*count).min(table_len / 4));
        for _ in 0..*count {
            let n = u32_at(table, at).ok_or("truncated record table")? as usize;
            at += 4;
            if n < FIXED_PARTS || n > table_len / 4 {
                return Err(format!("a record of {n} parts"));
            }
            let mut json = "";
            for i in 0..n {
                let len = u32_at(table, at).ok_or("truncated record table")? as usize;
                at += 4;
                let end = start.checked_add(len).ok_or("record out of range")?;
                let part = data.get(start..end).ok_or("record out of range")?;
                if i == BODY {
                    json = part;
                }
                start = end;
            }
            jsons.push(json);
        }
        groups.push((name.clone(), jsons));
    }
    if at != table.len() || start != data.len() {
        return Err("record table and data disagree".into());
    }
    Ok((header, groups))
}

/// A stored state (any format) as one JSON document — `groups` with each record's JSON, then the
/// bookkeeping — for people and tests to read; the kind of record does not matter. `segment` reads one
/// of a format 4 state's segments by its name, which is relative to the state's directory
/// (`segments/<sha256>`).
pub fn to_json(bytes: &[u8], segment: &dyn Fn(&str) -> Option<Vec<u8>>) -> Result<serde_json::Value, String> {
    /// Any record, kept as the JSON it is.
    #[derive(Clone, serde::Serialize, serde::Deserialize)]
    struct Any(serde_json::Value);
    impl Record for Any {
        fn key_fields(&self) -> KeyFields {
            KeyFields {
                file: String::new(),
                sha256: String::new(),
                name: String::new(),
                arch: String::new(),
                version: String::new(),
                extra: String::new(),
            }
        }
        fn texts(&self) -> Vec<String> {
            Vec::new()
        }
        fn object_key(_: &str, _: &Key) -> String {
            String::new()
        }
        fn cmp_version(_: &Key, _: &Key) -> std::cmp::Ordering {
            std::cmp::Ordering::Equal
        }
    }
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    // Read as stored, nothing derived again: only the JSON is shown.
    let (format, mut m) = match Layout::of(bytes)? {
        Layout::Format2 => (FORMAT_2, Manifest::<Any>::decode_2(bytes)?),
        Layout::Current {
            format,
            header,
            data_start,
            tail_start,
            len,
            ..
        } if bytes.len() == len => {
            let m = Manifest::<Any>::decode_keys(*header, data_start, bytes[tail_start..].to_vec())?;
            m.read_all(bytes, &|names| {
                names
                    .iter()
                    .map(|n| segment(n).ok_or_else(|| format!("segment {n} is missing")))
                    .collect()
            })?;
            (format, m)
        }
        _ => return Err("not a wharf state, or a damaged one".into()),
    };
    let mut groups = serde_json::Map::new();
    for (name, records) in std::mem::take(&mut m.groups) {
        let list = records
            .iter()
            .map(|r| r.record().map(|a| a.0.clone()).map_err(|e| e.to_string()))
            .collect::<Result<Vec<_>, _>>()?;
        groups.insert(name, serde_json::Value::Array(list));
    }
    Ok(serde_json::json!({
        "format": format,
        "generation": m.generation,
        "key_fingerprint": m.key_fingerprint,
        "description": m.description,
        "groups": groups,
        "blobs": m.blobs,
        "garbage": m.garbage,
        "segments": m.segments,
    }))
}

/// [`to_json`] of the state at `state_key`, read with `get` (an object's key → its bytes, `None` when
/// absent) with its segments.
pub fn read_json(
    get: &dyn Fn(&str) -> Option<Vec<u8>>,
    state_key: &str,
) -> Result<serde_json::Value, String> {
    let bytes = get(state_key).ok_or_else(|| format!("no state at `{state_key}`"))?;
    let dir = state_key
        .rsplit_once('/')
        .map_or(String::new(), |(d, _)| format!("{d}/"));
    to_json(&bytes, &|name| get(&format!("{dir}{name}")))
}

/// What the state knows about one published package. Retention, garbage collection and lookups work on
/// its [`Key`] (stored beside it, read without parsing the record); indexes on its stored texts.
pub(crate) trait Record: serde::Serialize + serde::de::DeserializeOwned + Clone {
    /// The short fields stored beside the record.
    fn key_fields(&self) -> KeyFields;
    /// The index texts the record renders to, stored beside it (none: the kind renders from records).
    fn texts(&self) -> Vec<String> {
        Vec::new()
    }
    /// Where the package file lives in the store, for a record of `group`.
    fn object_key(group: &str, key: &Key) -> String;
    /// Objects kept beside each package file, named by its key and these suffixes (pacman's detached
    /// `.sig`): uploaded with it, referenced and collected with it.
    const COMPANIONS: &'static [&'static str] = &[];
    /// The family's version ordering (retention keeps the N newest of each name and architecture).
    fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering;
    /// `name version (arch)` for messages.
    fn describe(key: &Key) -> String {
        format!("{} {} ({})", key.name, key.version, key.arch)
    }
    /// The version as the family writes it.
    fn version(key: &Key) -> String {
        key.version.to_owned()
    }
    /// Whether `v` names this record's version: the family's own spelling, or wharf's (Debian) syntax
    /// converted to the family's.
    fn version_is(key: &Key, v: &str) -> bool {
        Self::version(key) == v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use super::{Key, KeyFields};

    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct R(String);
    impl Record for R {
        fn key_fields(&self) -> KeyFields {
            KeyFields {
                file: self.0.clone(),
                sha256: String::new(),
                name: self.0.clone(),
                arch: "all".into(),
                version: "1".into(),
                extra: String::new(),
            }
        }
        fn texts(&self) -> Vec<String> {
            vec![format!("Package: {}\n", self.0)]
        }
        fn object_key(_: &str, k: &Key) -> String {
            k.file.to_owned()
        }
        fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
            a.version.cmp(b.version)
        }
    }

    #[test]
    fn texts_derived_by_another_version_are_derived_again() {
        // A record whose stored text is not what this version renders (an older rendering).
        let fresh = Stored::new(R("a".into())).unwrap();
        let json = fresh.part(BODY).to_owned();
        let data = format!("{json}Package: a (old)\n");
        let mut bounds = fresh.bounds()[..=KEY_PARTS].to_vec();
        bounds.extend([0, json.len(), data.len()]);
        let old = Stored::<R> {
            span: 0..bounds.len(),
            buf: Arc::new(Buf {
                keys: fresh.buf.keys.clone(),
                chunks: vec![Chunk {
                    len: data.len(),
                    text: OnceLock::from(data),
                    ..Chunk::default()
                }],
                bounds,
            }),
            parsed: OnceLock::new(),
        };
        let mut m = Manifest::<R>::empty();
        m.groups.insert("g".into(), vec![old]);
        let (bytes, data) = stored(&m);
        let segments = |names: &[String]| Ok(names.iter().map(|_| data.clone()).collect());
        // Written by this version: read as it is.
        let same = Manifest::<R>::decode(bytes.clone(), &segments).unwrap();
        assert_eq!(same.groups["g"][0].text(0).unwrap(), "Package: a (old)\n");
        // Written by another: derived again from the record's JSON.
        let marker = format!("\"derived\":{DERIVED},");
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker.as_bytes())
            .unwrap();
        let mut older = bytes.clone();
        older[at + marker.len() - 2] = b'0';
        let other = Manifest::<R>::decode(older, &segments).unwrap();
        assert!(other.upgraded && !same.upgraded);
        assert_eq!(other.groups["g"][0].text(0).unwrap(), "Package: a\n");
    }

    /// A state stored whole: the object, and its one segment's bytes.
    fn stored(m: &Manifest<R>) -> (Vec<u8>, Vec<u8>) {
        let (cut, new) = m.plan_cut().cut_all().unwrap();
        assert!(new.len() <= 1);
        let data = new.first().map(|(_, b)| b.clone()).unwrap_or_default();
        (m.encode(&cut).unwrap(), data)
    }

    /// The object split as a publish reads it: header, then the table and keys alone; and where the
    /// header ends.
    fn keys_only(bytes: &[u8]) -> (Manifest<R>, usize) {
        let Layout::Current {
            header,
            data_start,
            tail_start,
            len,
            ..
        } = Layout::of(bytes).unwrap()
        else {
            panic!("not the current format")
        };
        assert_eq!((len, tail_start), (bytes.len(), data_start));
        let m = Manifest::<R>::decode_keys(*header, data_start, bytes[tail_start..].to_vec()).unwrap();
        (m, data_start)
    }

    #[test]
    fn a_state_read_for_its_keys_is_completed_in_place() {
        let mut m = Manifest::<R>::empty();
        let records = ["a", "b", "ü"].map(|n| Stored::new(R(n.into())).unwrap());
        m.groups.insert("g".into(), records.to_vec());
        let (bytes, data) = stored(&m);
        let (partial, _) = keys_only(&bytes);
        let unread = |m: &Manifest<R>| m.missing(None).iter().map(|c| c.len).collect::<Vec<_>>();
        assert_eq!(unread(&partial), [data.len()]);
        // Keys are there; texts and records are refused, not empty; the cut needs nothing read (its one
        // segment is the one stored).
        let copy = partial.groups["g"][2].clone();
        assert_eq!(copy.key().name, "ü");
        assert!(!copy.loaded());
        assert!(copy.text(0).is_err() && copy.record().is_err());
        assert_eq!(copy.text_len(0), "Package: ü\n".len());
        let plan = partial.plan_cut();
        assert!(plan.missing().is_empty());
        let (cut, new) = plan.cut_all().unwrap();
        assert!(new.is_empty(), "its one segment is the one it was read from");
        assert_eq!(partial.encode(&cut).unwrap(), bytes);
        // A damaged or short segment is refused, and leaves it unread.
        let mut bad = data.clone();
        bad[data.len() - 2] ^= 1;
        assert!(partial.supply(vec![(0, bad)]).is_err());
        assert!(
            partial
                .supply(vec![(0, data[..data.len() - 1].to_vec())])
                .is_err()
        );
        assert_eq!(unread(&partial), [data.len()]);
        // Supplied: the state and every copy of its records read whole.
        partial.supply(vec![(0, data.clone())]).unwrap();
        assert!(unread(&partial).is_empty());
        assert_eq!(copy.text(0).unwrap(), "Package: ü\n");
        assert_eq!(*copy.record().unwrap(), R("ü".into()));
        // Damage to the keys is refused when they are read.
        let mut bad = bytes.clone();
        let last = bad.len() - 1;
        bad[last] ^= 1;
        let Layout::Current {
            header, data_start, ..
        } = Layout::of(&bad).unwrap()
        else {
            panic!()
        };
        assert!(Manifest::<R>::decode_keys(*header, data_start, bad[data_start..].to_vec()).is_err());
    }

    #[test]
    fn the_second_format_is_read_and_derived_again() {
        // Format 2: every part of every record back to back, then the table, one CRC-32 over both.
        let records = [R("a".into()), R("b".into())];
        let (mut data, mut table) = (String::new(), Vec::new());
        for r in &records {
            let k = r.key_fields();
            let json = serde_json::to_string(r).unwrap();
            let parts = [
                &k.file, &k.sha256, &k.name, &k.arch, &k.version, &k.extra, &json, "old text",
            ];
            table.extend_from_slice(&(parts.len() as u32).to_le_bytes());
            for p in parts {
                table.extend_from_slice(&(p.len() as u32).to_le_bytes());
                data.push_str(p);
            }
        }
        let mut body = data.clone().into_bytes();
        body.extend_from_slice(&table);
        let header = serde_json::json!({
            "format": 2, "generation": 4, "key_fingerprint": "F", "groups": [["g", 2]],
            "derived": 1, "table_len": table.len(), "data_len": data.len(), "crc32": crc32fast::hash(&body),
        });
        let mut bytes = format!("wharf-state 2\n{header}\n").into_bytes();
        bytes.extend_from_slice(&body);
        let none = |_: &[String]| Err("no segments".to_owned());
        let m = Manifest::<R>::decode(bytes.clone(), &none).unwrap();
        assert!(m.upgraded);
        assert_eq!((m.generation, m.key_fingerprint.as_deref()), (4, Some("F")));
        let texts: Vec<&str> = m.groups["g"].iter().map(|r| r.text(0).unwrap()).collect();
        assert_eq!(texts, ["Package: a\n", "Package: b\n"]);
        assert_eq!(
            to_json(&bytes, &|_| None).unwrap()["groups"]["g"][1],
            serde_json::json!("b")
        );
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        assert!(Manifest::<R>::decode(bytes, &none).is_err());
    }
}
