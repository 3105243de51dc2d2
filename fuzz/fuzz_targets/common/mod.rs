//! A repository held in memory, from a fuzz input: records of `u8` name length, name, `u32` (LE) data
//! length, data. The seeds are real repositories written this way (`fuzz/seeds`).

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
