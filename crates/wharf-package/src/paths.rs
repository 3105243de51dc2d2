//! The one payload-path policy every reader applies to the entries of a package it did not write (.deb
//! and .ipk data tarballs, apk v2 data members, apk v3 path lists, rpm file lists): an entry is
//! installed under the root, nowhere else, and means one thing.
//!
//! What the installers do with such entries decides what is refused. dpkg (`src/main/archives.c`
//! `tarobject`) installs each tar entry at its path below the root, following symlinks already in the
//! file system on the way; a hard link (`TAR_FILETYPE_HARDLINK`) links to another entry's path. apk-tools
//! (`src/database.c` `apk_db_install_archive_entry`) and opkg (`libbb/unarchive.c` `extract_archive`)
//! do the same. So each of these would write outside the package's own files, and is refused:
//! - an absolute path, a `..` component, an empty or `.` component in the middle, a NUL (the `./`
//!   prefix dpkg-deb writes is stripped first);
//! - a path below an entry of the same package that is a symbolic link (`a -> /etc`, then `a/shadow`:
//!   written through the link);
//! - a hard link whose target is not an earlier regular file of the package (`-> /etc/shadow`);
//! - one path twice (the second silently replaces the first, or a file and a directory at one path:
//!   no client installs both), except a directory repeated;
//! - a path component over 255 bytes (`NAME_MAX`) or a path over 4095 (`PATH_MAX`): no file system
//!   takes it.

use std::collections::HashMap;

/// How many entries one package may list before it is refused (Debian's largest packages list ~100,000).
const MAX_ENTRIES: usize = 4 << 20;

/// What an entry is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory.
    Dir,
    /// A regular file (or anything installed as one: device nodes and FIFOs have no content to place).
    File,
    /// A symbolic link (its target is the link's business, not a path written here).
    Symlink,
    /// A hard link to an earlier entry.
    Hardlink,
}

/// The entries seen so far, by normalised path.
#[derive(Debug, Default)]
pub struct Policy {
    seen: HashMap<Vec<u8>, Kind>,
}

/// A path as it is installed: `./` prefixes and a trailing `/` removed; `None` for the root itself.
fn normalise(raw: &[u8]) -> Result<Option<&[u8]>, String> {
    let mut p = raw;
    while let Some(rest) = p.strip_prefix(b"./") {
        p = rest;
    }
    while let Some(rest) = p.strip_suffix(b"/") {
        p = rest;
    }
    if p.is_empty() || p == b"." {
        return Ok(None);
    }
    let shown = || String::from_utf8_lossy(raw).escape_debug().to_string();
    if p.starts_with(b"/") {
        return Err(format!("`{}` is an absolute path", shown()));
    }
    if p.contains(&0) {
        return Err(format!("`{}` contains a NUL byte", shown()));
    }
    if p.len() > 4095 {
        return Err(format!(
            "a path of {} bytes is longer than any file system takes",
            p.len()
        ));
    }
    for c in p.split(|b| *b == b'/') {
        match c {
            b".." => return Err(format!("`{}` climbs out of the root with `..`", shown())),
            b"" | b"." => return Err(format!("`{}` has an empty or `.` component", shown())),
            c if c.len() > 255 => {
                return Err(format!(
                    "`{}` has a component of {} bytes; file systems take 255",
                    shown(),
                    c.len()
                ));
            }
            _ => {}
        }
    }
    Ok(Some(p))
}

impl Policy {
    /// A policy that has seen nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Admits the entry at `path` of `kind` (`link`: a hard link's target), or says why it is refused.
    pub fn admit(&mut self, path: &[u8], kind: Kind, link: Option<&[u8]>) -> Result<(), String> {
        let Some(p) = normalise(path)? else {
            return if kind == Kind::Dir {
                Ok(())
            } else {
                Err("an entry other than a directory names the root".into())
            };
        };
        let shown = || String::from_utf8_lossy(p).escape_debug().to_string();
        // Every ancestor is a directory of the package or of the system, never one of its links or files.
        for (at, _) in p.iter().enumerate().filter(|(_, b)| **b == b'/') {
            match self.seen.get(&p[..at]) {
                Some(Kind::Symlink) => {
                    return Err(format!(
                        "`{}` lies below `{}`, a symbolic link of the same package: it would be written through the link",
                        shown(),
                        String::from_utf8_lossy(&p[..at])
                    ));
                }
                Some(Kind::File | Kind::Hardlink) => {
                    return Err(format!(
                        "`{}` lies below `{}`, which the package installs as a file",
                        shown(),
                        String::from_utf8_lossy(&p[..at])
                    ));
                }
                _ => {}
            }
        }
        if kind == Kind::Hardlink {
            let target = link.ok_or_else(|| format!("hard link `{}` has no target", shown()))?;
            let t = normalise(target)
                .map_err(|e| format!("hard link `{}`: its target {e}", shown()))?
                .ok_or_else(|| format!("hard link `{}` points at the root", shown()))?;
            if self.seen.get(t) != Some(&Kind::File) {
                return Err(format!(
                    "hard link `{}` points at `{}`, which is not an earlier file of the package",
                    shown(),
                    String::from_utf8_lossy(target).escape_debug()
                ));
            }
        }
        match self.seen.get(p) {
            Some(Kind::Dir) if kind == Kind::Dir => return Ok(()),
            Some(_) => return Err(format!("`{}` is listed twice", shown())),
            None => {}
        }
        if self.seen.len() >= MAX_ENTRIES {
            return Err(format!("more than {MAX_ENTRIES} entries"));
        }
        // A file's ancestors are directories from now on (a later file entry there is a conflict).
        for (at, _) in p.iter().enumerate().filter(|(_, b)| **b == b'/') {
            self.seen.entry(p[..at].to_vec()).or_insert(Kind::Dir);
        }
        self.seen.insert(p.to_vec(), kind);
        Ok(())
    }

    /// Admits one entry of a tar archive.
    pub fn admit_tar<R: std::io::Read>(&mut self, entry: &::tar::Entry<'_, R>) -> Result<(), String> {
        use ::tar::EntryType as T;
        let t = entry.header().entry_type();
        let kind = match t {
            T::Directory => Kind::Dir,
            T::Symlink => Kind::Symlink,
            T::Link => Kind::Hardlink,
            // Extension headers are folded into the entry they describe by the tar reader.
            T::XGlobalHeader | T::XHeader | T::GNULongName | T::GNULongLink => return Ok(()),
            _ => Kind::File,
        };
        let link = if kind == Kind::Hardlink {
            entry.link_name_bytes().map(|l| l.into_owned())
        } else {
            None
        };
        self.admit(&entry.path_bytes(), kind, link.as_deref())
    }
}

/// Walks a payload tar (a .deb's or .ipk's `data.tar`, decompressed) as an installer unpacks it: every
/// entry admitted by the [`Policy`], every entry's bytes read, the archive read to its very end (its
/// end-of-archive blocks and whatever the stream holds after them). `Err` says why, for the caller to
/// name the member.
pub fn check_payload_tar(r: impl std::io::Read) -> Result<(), String> {
    let mut archive = ::tar::Archive::new(r);
    let mut policy = Policy::new();
    for entry in archive
        .entries()
        .map_err(|e| format!("truncated or corrupt ({e})"))?
    {
        let mut entry = entry.map_err(|e| format!("truncated or corrupt ({e})"))?;
        policy
            .admit_tar(&entry)
            .map_err(|why| format!("{why}; the package is unsafe"))?;
        std::io::copy(&mut entry, &mut std::io::sink()).map_err(|e| format!("truncated or corrupt ({e})"))?;
    }
    std::io::copy(&mut archive.into_inner(), &mut std::io::sink())
        .map_err(|e| format!("truncated or corrupt ({e})"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn admit_all(entries: &[(&str, Kind, Option<&str>)]) -> Result<(), String> {
        let mut p = Policy::new();
        for (path, kind, link) in entries {
            p.admit(path.as_bytes(), *kind, link.map(str::as_bytes))?;
        }
        Ok(())
    }

    #[test]
    fn what_installs_outside_the_package_is_refused() {
        use Kind::{Dir, File, Hardlink, Symlink};
        let long = "x".repeat(256);
        for bad in [
            vec![("./../../etc/evil", File, None)],
            vec![("/etc/abs", File, None)],
            vec![("./usr//bin/x", File, None)],
            vec![("./usr/./bin/x", File, None)],
            vec![("./a\0b", File, None)],
            vec![("./x", Hardlink, Some("/etc/shadow"))],
            vec![("./x", Hardlink, Some("./missing"))],
            vec![("./etc", Symlink, None), ("./etc/shadow", File, None)],
            vec![("./a", File, None), ("./a", File, None)],
            vec![("./a", File, None), ("./a/b", File, None)],
            vec![("./a/b", File, None), ("./a", File, None)],
            vec![("./a", Dir, None), ("./a", File, None)],
            vec![(long.as_str(), File, None)],
            vec![(".", File, None)],
        ] {
            assert!(admit_all(&bad).is_err(), "{bad:?}");
        }
        admit_all(&[
            ("./", Dir, None),
            ("./usr/", Dir, None),
            ("./usr/", Dir, None),
            ("./usr/bin/x", File, None),
            ("./usr/bin/y", Hardlink, Some("./usr/bin/x")),
            ("./usr/bin/z", Symlink, None),
            ("usr/share/doc/x/copyright", File, None),
            (&"y".repeat(255), File, None),
        ])
        .unwrap();
    }
}
