//! pacman repositories: `<repo>.db.tar.gz` and `<repo>.files.tar.gz` beside the packages, as pacman's
//! `repo-add` (pacman 6.0, `scripts/repo-add.sh.in`) writes them.
//!
//! - `db_write_entry`: one directory `<pkgname>-<pkgver>/` per package holding `desc`, whose fields are
//!   written by `format_entry` (`printf '%%%s%%\n' "$field"`, one value per line, a blank line; a field
//!   without value is left out) in the order FILENAME, NAME, BASE, VERSION, DESC, GROUPS, CSIZE, ISIZE,
//!   MD5SUM, SHA256SUM, PGPSIG, URL, LICENSE, ARCH, BUILDDATE, PACKAGER, REPLACES, CONFLICTS, PROVIDES,
//!   DEPENDS, OPTDEPENDS, MAKEDEPENDS, CHECKDEPENDS. Values come from `.PKGINFO` with runs of whitespace
//!   folded to one space; PGPSIG is the base64 of the package's detached binary signature. MD5SUM is left
//!   out: libalpm (`_alpm_pkg_validate_internal`) checks it only when there is no SHA256SUM.
//! - the `.files` database holds the same `desc` and a `files` entry: `%FILES%` then the package's paths,
//!   sorted (`bsdtar --exclude='^.*' -tf | LC_ALL=C sort -u`).
//! - `create_db`: `bsdtar -cf - *` of those directories, compressed as the name says (`gzip -c -f -n`
//!   for `.gz`); `rotate_db` makes `<repo>.db` a link to (or copy of) `<repo>.db.tar.gz`, and the same for
//!   each `.sig`. A store has no links: the `.db` names hold copies.
//!
//! Version order is libalpm's `alpm_pkg_vercmp` (`lib/libalpm/version.c`): `[epoch:]version[-release]`,
//! each part by its `rpmvercmp`, which (unlike rpm's) has no `~`/`^` and stops when two separators differ
//! in length.

use std::cmp::Ordering;

use wharf_core::digest::Checksums;
use wharf_package::compress::{self, Compression, Profile};
use wharf_package::tar::TarWriter;

/// One package as the repository lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PacmanRecord {
    /// `.PKGINFO`'s `key = value` pairs, in order.
    pub pkginfo: Vec<(String, String)>,
    /// File name in the repository directory.
    pub filename: String,
    /// Checksums of the package file.
    pub checksums: Checksums,
    /// Base64 of the package's detached OpenPGP signature (binary).
    pub pgpsig: String,
    /// The package's paths (directories end with `/`), sorted.
    pub files: Vec<String>,
}

impl PacmanRecord {
    /// The first value of `key`, or "".
    #[must_use]
    pub fn get(&self, key: &str) -> &str {
        self.pkginfo
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.pkginfo
            .iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| fold(v))
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The database directory: `<pkgname>-<pkgver>`.
    #[must_use]
    pub fn dir(&self) -> String {
        format!("{}-{}", self.get("pkgname"), self.get("pkgver"))
    }

    /// The `desc` entry.
    #[must_use]
    pub fn desc(&self) -> String {
        let one = |k: &str| {
            let v = fold(self.get(k));
            if v.is_empty() { Vec::new() } else { vec![v] }
        };
        let fields: [(&str, Vec<String>); 21] = [
            ("FILENAME", vec![self.filename.clone()]),
            ("NAME", one("pkgname")),
            ("BASE", one("pkgbase")),
            ("VERSION", one("pkgver")),
            ("DESC", one("pkgdesc")),
            ("GROUPS", self.all("group")),
            ("CSIZE", vec![self.checksums.size.to_string()]),
            ("ISIZE", one("size")),
            ("SHA256SUM", vec![self.checksums.sha256.clone()]),
            ("PGPSIG", vec![self.pgpsig.clone()]),
            ("URL", one("url")),
            ("LICENSE", self.all("license")),
            ("ARCH", one("arch")),
            ("BUILDDATE", one("builddate")),
            ("PACKAGER", one("packager")),
            ("REPLACES", self.all("replaces")),
            ("CONFLICTS", self.all("conflict")),
            ("PROVIDES", self.all("provides")),
            ("DEPENDS", self.all("depend")),
            ("OPTDEPENDS", self.all("optdepend")),
            ("MAKEDEPENDS", self.all("makedepend")),
        ];
        let mut out = String::new();
        for (field, values) in fields.iter().chain(&[("CHECKDEPENDS", self.all("checkdepend"))]) {
            if values.iter().all(String::is_empty) {
                continue;
            }
            out.push_str(&format!("%{field}%\n"));
            for v in values {
                out.push_str(v);
                out.push('\n');
            }
            out.push('\n');
        }
        out
    }

    /// The `files` entry.
    #[must_use]
    pub fn files_entry(&self) -> String {
        let mut out = String::from("%FILES%\n");
        for f in &self.files {
            out.push_str(f);
            out.push('\n');
        }
        out
    }
}

/// repo-add's `${val//+([[:space:]])/ }`.
fn fold(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut space = false;
    for c in v.chars() {
        if c.is_whitespace() {
            if !space {
                out.push(' ');
            }
            space = true;
        } else {
            out.push(c);
            space = false;
        }
    }
    out
}

/// A repository's two databases, gzip'd tars.
#[derive(Debug, Clone)]
pub struct Databases {
    /// `<repo>.db.tar.gz`.
    pub db: Vec<u8>,
    /// `<repo>.files.tar.gz`.
    pub files: Vec<u8>,
}

/// Builds both databases of `records` (each entry's `desc` and `files` as [`PacmanRecord::desc`] and
/// [`PacmanRecord::files_entry`] give them, passed in as the state keeps them), sorted by directory name,
/// every mtime `mtime`.
pub fn build(entries: &[(String, &str, &str)], mtime: u64) -> std::io::Result<Databases> {
    let mut sorted: Vec<&(String, &str, &str)> = entries.iter().collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    let tarball = |with_files: bool| -> std::io::Result<Vec<u8>> {
        let mut out = Vec::new();
        let enc = compress::encoder(&mut out, Compression::Gzip, Profile::Index)?;
        let mut tar = TarWriter::new(enc);
        for (dir, desc, files) in &sorted {
            tar.dir(&format!("{dir}/"), 0o755, mtime)?;
            tar.file(
                &format!("{dir}/desc"),
                0o644,
                mtime,
                desc.len() as u64,
                &mut desc.as_bytes(),
            )?;
            if with_files {
                tar.file(
                    &format!("{dir}/files"),
                    0o644,
                    mtime,
                    files.len() as u64,
                    &mut files.as_bytes(),
                )?;
            }
        }
        tar.finish()?.finish_box()?;
        Ok(out)
    };
    Ok(Databases {
        db: tarball(false)?,
        files: tarball(true)?,
    })
}

/// libalpm's `alpm_pkg_vercmp`.
#[must_use]
pub fn vercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (e1, v1, r1) = parse_evr(a);
    let (e2, v2, r2) = parse_evr(b);
    segments_cmp(e1, e2)
        .then_with(|| segments_cmp(v1, v2))
        .then_with(|| match (r1, r2) {
            (Some(x), Some(y)) => segments_cmp(x, y),
            _ => Ordering::Equal,
        })
}

/// `parseEVR`: the epoch (leading digits before `:`, else `0`), the version, the release after the last
/// `-` (if any).
fn parse_evr(s: &str) -> (&str, &str, Option<&str>) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (epoch, rest) = if s[digits..].starts_with(':') {
        let e = &s[..digits];
        (if e.is_empty() { "0" } else { e }, &s[digits + 1..])
    } else {
        ("0", s)
    };
    match rest.rfind('-') {
        Some(i) => (epoch, &rest[..i], Some(&rest[i + 1..])),
        None => (epoch, rest, None),
    }
}

/// libalpm's `rpmvercmp`.
fn segments_cmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let (mut p1, mut p2) = (0, 0);
    while i < a.len() && j < b.len() {
        while i < a.len() && !a[i].is_ascii_alphanumeric() {
            i += 1;
        }
        while j < b.len() && !b[j].is_ascii_alphanumeric() {
            j += 1;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        // Separators of different lengths end the comparison.
        if i - p1 != j - p2 {
            return (i - p1).cmp(&(j - p2));
        }
        let numeric = a[i].is_ascii_digit();
        let class = |c: &u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let end1 = i + a[i..].iter().take_while(|c| class(c)).count();
        let end2 = j + b[j..].iter().take_while(|c| class(c)).count();
        if end2 == j {
            // One numeric, the other alpha: numeric is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut s1, mut s2) = (&a[i..end1], &b[j..end2]);
        if numeric {
            while s1.first() == Some(&b'0') {
                s1 = &s1[1..];
            }
            while s2.first() == Some(&b'0') {
                s2 = &s2[1..];
            }
            match s1.len().cmp(&s2.len()) {
                Ordering::Equal => {}
                o => return o,
            }
        }
        match s1.cmp(s2) {
            Ordering::Equal => {}
            o => return o,
        }
        (i, j) = (end1, end2);
        (p1, p2) = (i, j);
    }
    let (rest1, rest2) = (&a[i.min(a.len())..], &b[j.min(b.len())..]);
    if rest1.is_empty() && rest2.is_empty() {
        return Ordering::Equal;
    }
    // A remaining alpha string never beats the end of the string.
    let alpha = |s: &[u8]| s.first().is_some_and(u8::is_ascii_alphabetic);
    if (rest1.is_empty() && !alpha(rest2)) || alpha(rest1) {
        Ordering::Less
    } else {
        Ordering::Greater
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vercmp_matches_pacman() {
        use Ordering::*;
        // Expected values from `vercmp` (pacman 6.0.2).
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0-1", "1.0-2", Less),
            ("1.0", "1.0-2", Equal),
            ("1.0rc.1-1", "1.0-1", Less),
            ("1.0a", "1.0", Less),
            ("1.0.1", "1.0", Greater),
            ("1:1.0-1", "2.0-1", Greater),
            ("1.0..1", "1.0.1", Greater),
            ("1.0_1", "1.0.1", Equal),
            ("010", "10", Equal),
            ("1.0", "1.0.a", Less),
            ("2.0-1", "10.0-1", Less),
        ] {
            assert_eq!(vercmp(a, b), want, "{a} vs {b}");
            assert_eq!(vercmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn desc_as_repo_add_writes_it() {
        let r = PacmanRecord {
            pkginfo: vec![
                ("pkgname".into(), "demo".into()),
                ("pkgbase".into(), "demo".into()),
                ("pkgver".into(), "1.0-1".into()),
                ("pkgdesc".into(), "a  demo".into()),
                ("url".into(), String::new()),
                ("arch".into(), "x86_64".into()),
                ("depend".into(), "glibc".into()),
                ("depend".into(), "bash>=5".into()),
            ],
            filename: "demo-1.0-1-x86_64.pkg.tar.zst".into(),
            checksums: Checksums::of_sha256(b"x"),
            pgpsig: "c2ln".into(),
            files: vec!["usr/".into(), "usr/bin/".into(), "usr/bin/demo".into()],
        };
        let desc = r.desc();
        assert!(
            desc.starts_with("%FILENAME%\ndemo-1.0-1-x86_64.pkg.tar.zst\n\n%NAME%\ndemo\n\n"),
            "{desc}"
        );
        assert!(desc.contains("%DESC%\na demo\n\n"), "{desc}");
        assert!(!desc.contains("%URL%"), "{desc}");
        assert!(desc.ends_with("%DEPENDS%\nglibc\nbash>=5\n\n"), "{desc}");
        assert_eq!(r.dir(), "demo-1.0-1");
    }
}
