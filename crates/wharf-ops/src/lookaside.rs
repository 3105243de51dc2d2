//! A lookaside cache of source files beside the repositories, in Fedora's layout (dist-git's `lookaside`
//! as fedpkg uploads to it): each file content-addressed at `sources/<package>/<file>/<sha512>/<file>`,
//! written create-only, and the project's `sources` file listing what a checkout needs, one line per file
//! as fedpkg writes it (`SHA512 (<file>) = <hex>`, fedpkg's `sources.py` `SourceFileEntry` in its BSD
//! style). `get` fetches each listed file and keeps it only if its SHA-512 is the listed one.

use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use wharf_core::digest::{Checksums, to_hex};
use wharf_store::{PutMode, Store};

use crate::Reporter;

/// The name of the project file listing the sources.
pub const SOURCES_FILE: &str = "sources";

/// Where a source lives in the store.
#[must_use]
pub fn key(package: &str, file: &str, sha512: &str) -> String {
    format!("sources/{package}/{file}/{sha512}/{file}")
}

/// One line of the `sources` file.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Entry {
    pub file: String,
    /// Lowercase hex SHA-512.
    pub sha512: String,
}

impl Entry {
    /// The line fedpkg writes for it.
    #[must_use]
    pub fn line(&self) -> String {
        format!("SHA512 ({}) = {}\n", self.file, self.sha512)
    }
}

/// The `sources` file's entries (`SHA512 (<file>) = <hex>`; blank lines skipped). A line in another form
/// (the old `<md5>  <file>` one, another hash) is an error naming it.
pub fn parse_sources(text: &str, path: &Path) -> anyhow::Result<Vec<Entry>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let parsed = line
            .strip_prefix("SHA512 (")
            .and_then(|rest| rest.rsplit_once(") = "))
            .filter(|(file, hex)| {
                valid_file_name(file) && hex.len() == 128 && hex.bytes().all(|b| b.is_ascii_hexdigit())
            });
        match parsed {
            Some((file, hex)) => out.push(Entry {
                file: file.to_owned(),
                sha512: hex.to_ascii_lowercase(),
            }),
            None => bail!(
                "{}:{}: `{}` is not a `SHA512 (<file>) = <hex>` line",
                path.display(),
                n + 1,
                line.escape_debug()
            ),
        }
    }
    Ok(out)
}

/// A source's name: one path component, not hidden.
fn valid_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.contains(['/', '\\', '\0', '\n'])
        && wharf_store::check_key(name).is_ok()
}

/// Uploads `files` for `package` into `store` (each once: an object already there must hold the same
/// bytes), then writes the `sources` file in `dir` listing them (an existing line for the same file
/// replaced, the others kept).
pub fn upload(
    store: &dyn Store,
    package: &str,
    files: &[PathBuf],
    dir: &Path,
    out: &dyn Reporter,
) -> anyhow::Result<Vec<Entry>> {
    if !valid_file_name(package) {
        bail!("`{package}` cannot name a lookaside directory");
    }
    let mut uploaded = Vec::new();
    for path in files {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| valid_file_name(n))
            .with_context(|| format!("{}: not a file name a lookaside cache can hold", path.display()))?
            .to_owned();
        let sums = Checksums::of_reader(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )
        .with_context(|| format!("cannot read {}", path.display()))?;
        let sha512 = sums.sha512.clone();
        let key = key(package, &file, &sha512);
        match store.get(&key)? {
            Some(bytes) if sha512_of(&bytes) == sha512 => out.detail(&format!("already there: {key}")),
            Some(_) => bail!(
                "{key} is in the store with other bytes than its name says: the cache is damaged; remove that object and upload again"
            ),
            None => {
                store.put_file(&key, path, PutMode::Create)?;
                // Read back: what clients will get is what was hashed.
                let back = store.get(&key)?.unwrap_or_default();
                if sha512_of(&back) != sha512 {
                    bail!("{key} reads back with other bytes than were uploaded");
                }
                out.status("Uploaded", &key);
            }
        }
        uploaded.push(Entry { file, sha512 });
    }
    let list = dir.join(SOURCES_FILE);
    let mut entries = match std::fs::read_to_string(&list) {
        Ok(text) => parse_sources(&text, &list)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", list.display())),
    };
    for u in &uploaded {
        match entries.iter_mut().find(|e| e.file == u.file) {
            Some(e) => e.sha512.clone_from(&u.sha512),
            None => entries.push(u.clone()),
        }
    }
    let text: String = entries.iter().map(Entry::line).collect();
    let tmp = dir.join(format!(".{SOURCES_FILE}.tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, &list).with_context(|| format!("cannot write {}", list.display()))?;
    Ok(uploaded)
}

fn sha512_of(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    to_hex(&sha2::Sha512::digest(bytes))
}

/// Fetches every source the `sources` file in `dir` lists for `package`, with `fetch` (a store key or a
/// URL path → the bytes, `None` when absent), into `dir`: each kept only if its SHA-512 is the listed
/// one, written to a temporary name and renamed (a file already there with those bytes is left).
pub fn get(
    fetch: &dyn Fn(&str) -> anyhow::Result<Option<Vec<u8>>>,
    package: &str,
    dir: &Path,
    out: &dyn Reporter,
) -> anyhow::Result<Vec<Entry>> {
    let list = dir.join(SOURCES_FILE);
    let text = std::fs::read_to_string(&list)
        .with_context(|| format!("cannot read {} (upload sources first)", list.display()))?;
    let entries = parse_sources(&text, &list)?;
    for e in &entries {
        let dest = dir.join(&e.file);
        if std::fs::read(&dest).is_ok_and(|have| sha512_of(&have) == e.sha512) {
            out.detail(&format!("up to date: {}", e.file));
            continue;
        }
        let key = key(package, &e.file, &e.sha512);
        let bytes = fetch(&key)?.with_context(|| format!("{key} is not in the lookaside cache"))?;
        let got = sha512_of(&bytes);
        if got != e.sha512 {
            bail!(
                "{key}: its SHA-512 is {got}, not the {} the sources file lists; it was not written",
                e.sha512
            );
        }
        let tmp = dir.join(format!(".{}.tmp-{}", e.file, std::process::id()));
        std::fs::write(&tmp, &bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
        std::fs::rename(&tmp, &dest).with_context(|| format!("cannot write {}", dest.display()))?;
        out.status("Fetched", &e.file);
    }
    Ok(entries)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_lines_are_fedpkgs() {
        let e = Entry {
            file: "glib-2.80.0.tar.xz".into(),
            sha512: "ab".repeat(64),
        };
        assert_eq!(
            e.line(),
            format!("SHA512 (glib-2.80.0.tar.xz) = {}\n", "ab".repeat(64))
        );
        let parsed = parse_sources(&e.line(), Path::new("sources")).unwrap();
        assert_eq!(parsed, [e]);
        for bad in [
            "d41d8cd98f00b204e9800998ecf8427e  glib.tar.xz",
            "SHA256 (x) = 00",
            "SHA512 (../x) = 00",
            "SHA512 (x) = zz",
        ] {
            assert!(parse_sources(bad, Path::new("sources")).is_err(), "{bad}");
        }
    }
}
