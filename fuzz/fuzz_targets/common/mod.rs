//! A repository held in memory, from a fuzz input: records of `u8` name length, name, `u32` (LE) data
//! length, data. The seeds are real repositories written this way (`fuzz/seeds`).
//!
//! Each target uses part of it (the `verify_*` targets the repository, `rpmmd_splice` its own).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Read;

use wharf_verify::{Options, Source, VerifyError};

/// Files by name.
pub struct Memory(pub BTreeMap<String, Vec<u8>>);

impl Memory {
    /// The files an input holds (a record cut short ends the list).
    pub fn parse(mut data: &[u8]) -> Self {
        let mut files = BTreeMap::new();
        while let Some((&n, rest)) = data.split_first() {
            let n = usize::from(n);
            if rest.len() < n + 4 {
                break;
            }
            let name = String::from_utf8_lossy(&rest[..n]).into_owned();
            let len = u32::from_le_bytes([rest[n], rest[n + 1], rest[n + 2], rest[n + 3]]) as usize;
            let body = &rest[n + 4..];
            let len = len.min(body.len());
            files.insert(name, body[..len].to_vec());
            data = &body[len..];
        }
        Self(files)
    }
}

impl Source for Memory {
    fn describe(&self) -> String {
        "memory".into()
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        match self.0.get(key) {
            Some(b) if b.len() as u64 > limit => Err(VerifyError::TooLarge {
                key: key.to_owned(),
                limit,
            }),
            other => Ok(other.cloned()),
        }
    }

    fn open(&self, key: &str, limit: u64) -> Result<Option<Box<dyn Read + '_>>, VerifyError> {
        Ok(self
            .get(key, limit)?
            .map(|b| Box::new(std::io::Cursor::new(b)) as Box<dyn Read>))
    }

    fn list(&self) -> Result<Option<Vec<String>>, VerifyError> {
        Ok(Some(self.0.keys().cloned().collect()))
    }
}

/// Verifies the repository an input holds with the keys it publishes, as `wharf verify DIR` does.
pub fn verify(data: &[u8]) {
    let src = Memory::parse(data);
    let options = Options {
        keys: wharf_verify::Keys::default(),
        keys_from_target: true,
        now: 1_800_000_000,
    };
    let _ = wharf_verify::verify(&src, &[], &options);
}

/// The `rpmmd_splice` target: a repository's current document (the input after 12 bytes, gzipped as
/// published), from which two packages' `<package>` elements are taken for each of the three
/// documents, of the lengths the first 12 bytes give (six `u16` LE: a's, then b's). The splice reads
/// it as a bounded stream and either finds them all or answers `None`; when it finds them, each
/// document holds exactly the elements asked for.
pub fn rpmmd_splice(data: &[u8]) {
    use wharf_index::rpmmd::{Fragment, MdCompression, MdEntry, build};
    use wharf_package::compress::{Compression, Profile, compress};
    let Some((lens, xml)) = data.split_first_chunk::<12>() else {
        return;
    };
    let len = |i: usize| usize::from(u16::from_le_bytes([lens[2 * i], lens[2 * i + 1]]));
    let Ok(gz) = compress(xml, Compression::Gzip, Profile::Index) else {
        return;
    };
    let (a, b) = ("a".repeat(64), "b".repeat(64));
    let entry = |name, sha256, location, first: usize| MdEntry {
        name,
        epoch: 0,
        version: "1",
        release: "1",
        arch: "x86_64",
        sha256,
        location,
        fragments: [
            Fragment::Published(len(first)),
            Fragment::Published(len(first + 1)),
            Fragment::Published(len(first + 2)),
        ],
    };
    let entries = vec![entry("a", &a, "a.rpm", 0), entry("b", &b, "b.rpm", 3)];
    let previous = |_: &str| Some(gz.clone());
    let date = wharf_core::SourceDate::from_unix(1_700_000_000).expect("a valid date");
    if let Ok(Some(index)) = build(entries, date, MdCompression::Gzip, &previous) {
        assert_eq!(index.files.len(), 3, "three documents");
        for f in &index.files {
            let mut text = Vec::new();
            wharf_package::compress::gunzip(&f.bytes, &mut text, 1 << 20).expect("a document it wrote");
            let text = String::from_utf8_lossy(&text);
            assert!(
                text.contains(&a) && text.contains(&b),
                "{}: an element is not its package's",
                f.path
            );
        }
    }
}
