//! A write buffer for a compressed payload whose length must be known before it is written out (an `ar`
//! or tar member header, apk's `datahash`): in memory up to [`MEMORY_LIMIT`], then in an unnamed
//! temporary file (`O_TMPFILE` under `$TMPDIR`, gone when dropped), so writing a package takes the same
//! memory whether its files are 5 MB or 5 GB.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};

/// Bytes kept in memory before spilling to a temporary file.
pub(crate) const MEMORY_LIMIT: usize = 4 * 1024 * 1024;

/// Bytes written once, then read back once or more.
#[derive(Debug, Default)]
pub(crate) struct Spool {
    memory: Vec<u8>,
    file: Option<File>,
    len: u64,
}

impl Spool {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    /// Bytes written so far.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// Reads everything written, from the start.
    pub(crate) fn reader(&mut self) -> io::Result<Box<dyn Read + '_>> {
        match &mut self.file {
            Some(f) => {
                f.seek(SeekFrom::Start(0))?;
                Ok(Box::new(f.take(self.len)))
            }
            None => Ok(Box::new(&self.memory[..])),
        }
    }

    /// Copies everything written into `out`.
    pub(crate) fn copy_to(&mut self, out: &mut impl Write) -> io::Result<()> {
        io::copy(&mut self.reader()?, out).map(drop)
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match &mut self.file {
            Some(f) => f.write_all(buf)?,
            None if self.memory.len() + buf.len() > MEMORY_LIMIT => {
                let mut f = tempfile::tempfile()?;
                f.write_all(&self.memory)?;
                f.write_all(buf)?;
                self.memory = Vec::new();
                self.file = Some(f);
            }
            None => self.memory.extend_from_slice(buf),
        }
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.file.as_mut().map_or(Ok(()), Write::flush)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_stays_in_memory_large_spills_and_both_read_back() {
        for size in [0, 10, MEMORY_LIMIT, MEMORY_LIMIT + 1, 3 * MEMORY_LIMIT + 7] {
            let data: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
            let mut s = Spool::new();
            for chunk in data.chunks(100_000) {
                s.write_all(chunk).unwrap();
            }
            assert_eq!(s.len(), size as u64);
            assert_eq!(s.file.is_some(), size > MEMORY_LIMIT, "{size}");
            for _ in 0..2 {
                let mut back = Vec::new();
                s.copy_to(&mut back).unwrap();
                assert_eq!(back, data, "{size}");
            }
        }
    }
}
