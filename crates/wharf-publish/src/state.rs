//! How a state manifest is stored (`.wharf/<kind>/state`): every record with the index text it renders
//! to, laid out so a publish reads only what it touches.
//!
//! A publish that adds one package to a repository of 10,000 needs, of every other record, only a few
//! short fields (to find, order and prune records) and the text it contributes to the index (a
//! `Packages` stanza; rpm-md's `<package>` in primary, filelists and other). Parsing 10,000 JSON records
//! to render them again was most of its time. So each record is stored as parts — its key fields, its
//! JSON, its index texts — and read as ranges of one buffer: the JSON is parsed only for the records a
//! publish actually opens ([`Stored::record`]), and the index is the stored texts concatenated.
//!
//! ```text
//! wharf-state 2\n
//! header\n   one line of JSON: generation, key, blobs, garbage, groups with their record counts,
//!            the sections' lengths, CRC-32 of both
//! data       UTF-8: every part of every record back to back
//!            (file, sha256, name, arch, version, extra, JSON, text 0, text 1, …)
//! table      per record, u32 LE part count n ≥ 7, then n × u32 LE part lengths
//! ```
//!
//! Everything before the table is text, so once the table is cut off the file's own buffer becomes the
//! records' shared string, validated but never copied. The CRC-32 covers data and table, so a damaged
//! state is refused when read, never half-used. The first format (`state.json`, one JSON document) is
//! still read, and replaced by this one on the next publish.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, OnceLock};

use crate::PublishError;
use crate::txn::Record;

/// The first bytes of a stored state, before its format number.
const MAGIC: &[u8] = b"wharf-state ";
/// This layout.
const FORMAT: u32 = 2;
/// The version of what is derived from a record — its key fields and index texts ([`Record::key_fields`],
/// [`Record::texts`]). Raise it whenever a kind derives them differently: a state written under another
/// version has every record derived again from its JSON when it is read, so no index mixes old and new
/// renderings.
const DERIVED: u32 = 1;
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

/// One record of a state: its parts in a shared buffer, and the record itself once parsed.
pub(crate) struct Stored<R> {
    /// The state's data section as read (shared by its records), or a new record's own parts.
    data: Arc<String>,
    /// Part boundaries in `data`: part `i` is `bounds[i]..bounds[i + 1]`.
    bounds: Box<[usize]>,
    /// Boxed: a record is large (hundreds of bytes) and most are never parsed; states, inspection
    /// results and plans move these around by the thousand.
    parsed: OnceLock<Box<R>>,
}

impl<R> std::fmt::Debug for Stored<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Stored").field(&self.key()).finish()
    }
}

impl<R: Clone> Clone for Stored<R> {
    fn clone(&self) -> Self {
        Self {
            data: Arc::clone(&self.data),
            bounds: self.bounds.clone(),
            parsed: self.parsed.clone(),
        }
    }
}

impl<R> Stored<R> {
    fn part(&self, i: usize) -> &str {
        match (self.bounds.get(i), self.bounds.get(i + 1)) {
            // Boundaries are checked against `data` (length, char boundaries) when it is made.
            (Some(a), Some(b)) => self.data.get(*a..*b).unwrap_or_default(),
            _ => "",
        }
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

    /// Index text `i` ([`Record::texts`]), empty if the kind renders fewer.
    pub(crate) fn text(&self, i: usize) -> &str {
        self.part(FIXED_PARTS + i)
    }

    fn parts(&self) -> usize {
        self.bounds.len().saturating_sub(1)
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
        let parts: Vec<&str> = [
            k.file.as_str(),
            &k.sha256,
            &k.name,
            &k.arch,
            &k.version,
            &k.extra,
            &json,
        ]
        .into_iter()
        .chain(texts.iter().map(String::as_str))
        .collect();
        let mut data = String::with_capacity(parts.iter().map(|p| p.len()).sum());
        let mut bounds = Vec::with_capacity(parts.len() + 1);
        bounds.push(0);
        for p in parts {
            data.push_str(p);
            bounds.push(data.len());
        }
        let parsed = OnceLock::new();
        let _ = parsed.set(Box::new(record));
        Ok(Self {
            data: Arc::new(data),
            bounds: bounds.into(),
            parsed,
        })
    }

    /// The record, parsed from its JSON the first time it is asked for.
    pub(crate) fn record(&self) -> Result<&R, PublishError> {
        if let Some(r) = self.parsed.get() {
            return Ok(r);
        }
        let r: R = serde_json::from_str(self.part(BODY)).map_err(|e| {
            let k = self.key();
            PublishError::Record {
                what: format!("{} {} ({})", k.name, k.version, k.arch),
                why: e.to_string(),
            }
        })?;
        Ok(self.parsed.get_or_init(|| Box::new(r)))
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
struct Header {
    format: u32,
    generation: u64,
    key_fingerprint: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    blobs: BTreeMap<String, BTreeSet<String>>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    garbage: BTreeMap<String, u64>,
    /// Each group and how many records follow for it, in order.
    groups: Vec<(String, usize)>,
    /// [`DERIVED`] when the state was written (0: before it was recorded).
    #[serde(default)]
    derived: u32,
    table_len: u64,
    data_len: u64,
    crc32: u32,
}

/// A repository kind's state: every published record, grouped (by apt suite, rpm repository, feed
/// architecture), plus the bookkeeping of the transaction.
#[derive(Debug)]
pub(crate) struct Manifest<R> {
    pub(crate) generation: u64,
    pub(crate) key_fingerprint: Option<String>,
    pub(crate) groups: BTreeMap<String, Vec<Stored<R>>>,
    /// The content-addressed index blobs each group's pointers reference.
    pub(crate) blobs: BTreeMap<String, BTreeSet<String>>,
    /// Objects no longer referenced, with the Unix time they left the state.
    pub(crate) garbage: BTreeMap<String, u64>,
    /// Read in an older form (the first format, or keys and texts derived by another version) and
    /// brought up to date in memory: worth writing back even if nothing else changes.
    pub(crate) upgraded: bool,
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

/// A stored state split into its header and each record's part boundaries, records not parsed.
struct Raw {
    header: Header,
    data: Arc<String>,
    /// Per group (in header order), each record's part boundaries.
    records: Vec<Vec<Box<[usize]>>>,
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

fn open_raw(mut bytes: Vec<u8>) -> Result<Raw, String> {
    let (first, at) = line_at(&bytes, 0).ok_or("not a wharf state")?;
    let format = first
        .strip_prefix(MAGIC)
        .and_then(|f| std::str::from_utf8(f).ok()?.parse::<u32>().ok())
        .ok_or("not a wharf state")?;
    if format != FORMAT {
        return Err(format!(
            "state format {format} (this wharf reads {FORMAT}); publish with the wharf that wrote it"
        ));
    }
    let (header, data_start) = line_at(&bytes, at).ok_or("truncated header")?;
    let header: Header = serde_json::from_slice(header).map_err(|e| e.to_string())?;
    let table_len = usize::try_from(header.table_len).map_err(|e| e.to_string())?;
    let data_len = usize::try_from(header.data_len).map_err(|e| e.to_string())?;
    let body = &bytes[data_start..];
    if body.len() != table_len.saturating_add(data_len) {
        return Err(format!(
            "{} bytes of records where the header says {}",
            body.len(),
            table_len.saturating_add(data_len)
        ));
    }
    if crc32fast::hash(body) != header.crc32 {
        return Err("checksum mismatch: the file is damaged".into());
    }
    // The table is copied out (it is small) and cut off; what is left — first line, header, data — is
    // text, and becomes the records' shared string without a copy.
    let data_end = data_start + data_len;
    let table = bytes[data_end..].to_vec();
    bytes.truncate(data_end);
    let data = Arc::new(String::from_utf8(bytes).map_err(|e| e.utf8_error().to_string())?);
    let table = table.as_slice();
    let mut at = 0;
    let mut start = data_start;
    let mut records = Vec::with_capacity(header.groups.len());
    for (_, count) in &header.groups {
        let mut group = Vec::with_capacity((*count).min(table_len / 4));
        for _ in 0..*count {
            let n = u32_at(table, at).ok_or("truncated record table")? as usize;
            at += 4;
            if n < FIXED_PARTS || n > table_len / 4 {
                return Err(format!("a record of {n} parts"));
            }
            let mut bounds = Vec::with_capacity(n + 1);
            bounds.push(start);
            for _ in 0..n {
                let len = u32_at(table, at).ok_or("truncated record table")? as usize;
                at += 4;
                start = start.checked_add(len).ok_or("record out of range")?;
                if start > data.len() || !data.is_char_boundary(start) {
                    return Err("record out of range".into());
                }
                bounds.push(start);
            }
            group.push(bounds.into_boxed_slice());
        }
        records.push(group);
    }
    if at != table.len() || start != data.len() {
        return Err("record table and data disagree".into());
    }
    Ok(Raw {
        header,
        data,
        records,
    })
}

impl<R: Record> Manifest<R> {
    /// A state with no records.
    pub(crate) fn empty() -> Self {
        Self {
            generation: 0,
            key_fingerprint: None,
            groups: BTreeMap::new(),
            blobs: BTreeMap::new(),
            garbage: BTreeMap::new(),
            upgraded: false,
        }
    }

    /// Reads a stored state, either format. The error is the reason, for [`PublishError::State`].
    pub(crate) fn decode(bytes: Vec<u8>) -> Result<Self, String> {
        if bytes.first() == Some(&b'{') {
            let legacy: Legacy<R> = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
            let mut groups = BTreeMap::new();
            for (g, records) in legacy.groups {
                let stored = records
                    .into_iter()
                    .map(Stored::new)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| e.to_string())?;
                groups.insert(g, stored);
            }
            return Ok(Self {
                generation: legacy.generation,
                key_fingerprint: legacy.key_fingerprint,
                groups,
                blobs: legacy.blobs,
                garbage: legacy.garbage,
                upgraded: true,
            });
        }
        let raw = open_raw(bytes)?;
        let stale = raw.header.derived != DERIVED;
        let mut groups = BTreeMap::new();
        for ((name, _), records) in raw.header.groups.into_iter().zip(raw.records) {
            let mut stored: Vec<Stored<R>> = records
                .into_iter()
                .map(|bounds| Stored {
                    data: Arc::clone(&raw.data),
                    bounds,
                    parsed: OnceLock::new(),
                })
                .collect();
            if stale {
                stored = stored
                    .into_iter()
                    .map(|s| s.record().cloned().and_then(Stored::new))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
            }
            groups.insert(name, stored);
        }
        Ok(Self {
            generation: raw.header.generation,
            key_fingerprint: raw.header.key_fingerprint,
            groups,
            blobs: raw.header.blobs,
            garbage: raw.header.garbage,
            upgraded: stale,
        })
    }

    /// The stored form; records are copied part by part, never serialised again, into one buffer of
    /// the exact size.
    pub(crate) fn encode(&self) -> Result<Vec<u8>, String> {
        let records = || self.groups.values().flatten();
        let mut table = Vec::with_capacity(records().map(|r| 4 * (1 + r.parts())).sum());
        let mut data_len = 0usize;
        for r in records() {
            let n = u32::try_from(r.parts()).map_err(|e| e.to_string())?;
            table.extend_from_slice(&n.to_le_bytes());
            for i in 0..r.parts() {
                let len = r.part(i).len();
                let len32 = u32::try_from(len).map_err(|_| "a record part of 4 GiB or more")?;
                table.extend_from_slice(&len32.to_le_bytes());
                data_len += len;
            }
        }
        let mut crc = crc32fast::Hasher::new();
        for r in records() {
            for i in 0..r.parts() {
                crc.update(r.part(i).as_bytes());
            }
        }
        crc.update(&table);
        let header = Header {
            format: FORMAT,
            generation: self.generation,
            key_fingerprint: self.key_fingerprint.clone(),
            blobs: self.blobs.clone(),
            garbage: self.garbage.clone(),
            groups: self.groups.iter().map(|(g, rs)| (g.clone(), rs.len())).collect(),
            derived: DERIVED,
            table_len: table.len() as u64,
            data_len: data_len as u64,
            crc32: crc.finalize(),
        };
        // Compact JSON: no newline inside.
        let header = serde_json::to_vec(&header).map_err(|e| e.to_string())?;
        let first = format!("{}{FORMAT}\n", String::from_utf8_lossy(MAGIC));
        let mut out = Vec::with_capacity(first.len() + header.len() + 1 + data_len + table.len());
        out.extend_from_slice(first.as_bytes());
        out.extend_from_slice(&header);
        out.push(b'\n');
        for r in records() {
            for i in 0..r.parts() {
                out.extend_from_slice(r.part(i).as_bytes());
            }
        }
        out.extend_from_slice(&table);
        Ok(out)
    }
}

/// A stored state (either format) as one JSON document — `groups` with each record's JSON, then the
/// bookkeeping — for people and tests to read; the kind of record does not matter.
pub fn to_json(bytes: &[u8]) -> Result<serde_json::Value, String> {
    if bytes.first() == Some(&b'{') {
        return serde_json::from_slice(bytes).map_err(|e| e.to_string());
    }
    let raw = open_raw(bytes.to_vec())?;
    let mut groups = serde_json::Map::new();
    for ((name, _), records) in raw.header.groups.iter().zip(&raw.records) {
        let list = records
            .iter()
            .map(|b| {
                let json = raw.data.get(b[BODY]..b[BODY + 1]).unwrap_or_default();
                serde_json::from_str(json).map_err(|e| e.to_string())
            })
            .collect::<Result<Vec<serde_json::Value>, _>>()?;
        groups.insert(name.clone(), serde_json::Value::Array(list));
    }
    Ok(serde_json::json!({
        "format": raw.header.format,
        "generation": raw.header.generation,
        "key_fingerprint": raw.header.key_fingerprint,
        "groups": groups,
        "blobs": raw.header.blobs,
        "garbage": raw.header.garbage,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::txn::{Key, KeyFields};

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
        let mut data = String::new();
        let mut bounds = vec![0];
        for i in 0..fresh.parts() {
            data.push_str(if i == FIXED_PARTS {
                "Package: a (old)\n"
            } else {
                fresh.part(i)
            });
            bounds.push(data.len());
        }
        let old = Stored::<R> {
            data: Arc::new(data),
            bounds: bounds.into(),
            parsed: OnceLock::new(),
        };
        let mut m = Manifest::<R>::empty();
        m.groups.insert("g".into(), vec![old]);
        let bytes = m.encode().unwrap();
        // Written by this version: read as it is.
        let same = Manifest::<R>::decode(bytes.clone()).unwrap();
        assert_eq!(same.groups["g"][0].text(0), "Package: a (old)\n");
        // Written by another: derived again from the record's JSON.
        let marker = format!("\"derived\":{DERIVED},");
        let at = bytes
            .windows(marker.len())
            .position(|w| w == marker.as_bytes())
            .unwrap();
        let mut older = bytes.clone();
        older[at + marker.len() - 2] = b'0';
        let other = Manifest::<R>::decode(older).unwrap();
        assert!(other.upgraded && !same.upgraded);
        assert_eq!(other.groups["g"][0].text(0), "Package: a\n");
    }
}
