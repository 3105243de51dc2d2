//! Arch Linux packages (`.pkg.tar.zst`): writer and reader.
//!
//! Layout from makepkg (pacman 6.0, `scripts/makepkg.sh.in`, `create_package`): one zstd-compressed tar
//! of `.BUILDINFO`, `.MTREE`, `.PKGINFO` (and `.INSTALL` when there are scripts), then the payload with
//! bare names (`usr/bin/x`), sorted as `LC_COLLATE=C printf '%s\0' **/*` lists them, every mtime
//! `SOURCE_DATE_EPOCH`. `.PKGINFO` is `write_pkginfo`'s `key = value` lines (`write_kv_pair`: `printf
//! "%s = %s\n"`), in its order; `size` is the sum of the payload's bytes (`dirsize`); `pkgver` is
//! `[epoch:]pkgver-pkgrel`. `.MTREE` is `bsdtar --format=mtree --options='!all,use-set,type,uid,gid,
//! mode,time,size,md5,sha256,link'` of every entry but itself, gzip'd (`gzip -c -f -n`).
//!
//! The reader follows libalpm's `be_package.c`: `parse_descfile` takes `key = value` lines (comments and
//! blank lines skipped; a line without ` = ` is ignored) and `_alpm_pkg_load_internal` refuses a package
//! without `pkgname`, or whose `pkgver` has no `-`. Paths are admitted as pacman extracts them (no
//! absolute path, no `..`).

use std::collections::BTreeMap;
use std::io::{self, BufRead, Read, Write};

use md5::{Digest, Md5};
use sha2::Sha256;
use wharf_core::digest::{Checksums, Hasher, HashingReader, skip_to_end};
use wharf_core::{Arch, Content, Family, PackageSpec, ScriptKind, SourceDate, Version};

use crate::compress::{self, Compression, Profile};
use crate::payload::{self, Node, Planned};
use crate::tar::TarWriter;
use crate::{PackageError, unsafe_path};

const FORMAT: &str = ".pkg.tar.zst";

/// The most `.PKGINFO` may hold (makepkg's are a few KiB).
const MAX_PKGINFO: u64 = 1 << 20;

fn bad(why: impl std::fmt::Display) -> PackageError {
    PackageError::invalid(FORMAT, why.to_string())
}

/// The pacman architecture (Arch Linux and Arch Linux ARM's names; `any` for architecture-independent
/// packages).
#[must_use]
pub fn arch(a: Arch) -> &'static str {
    match a.rpm() {
        "noarch" => "any",
        "armv7hl" => "armv7h",
        "armv6hl" => "armv6h",
        other => other,
    }
}

/// A wharf version (Debian syntax) as pacman's `[epoch:]pkgver-pkgrel`: the revision is the pkgrel (`1`
/// when absent; digits, with one optional `.digits`); in the upstream part `-` becomes `_` (makepkg
/// refuses `-` in pkgver) and a `~` before a letter is dropped, so that `1.0~rc.1` is `1.0rc.1`, older than
/// `1.0` for pacman's `vercmp` (a remaining letter segment never beats the end of the string).
pub fn version(v: &Version) -> Result<String, PackageError> {
    let d = v.deb();
    let mut upstream = String::with_capacity(d.upstream.len());
    let mut chars = d.upstream.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '-' => upstream.push('_'),
            '~' if chars.peek().is_some_and(char::is_ascii_alphabetic) => {}
            '~' => {
                return Err(bad(format!(
                    "`{v}`: pacman has no `~` ordering before a digit; write the prerelease with a letter (`1.0~rc1`)"
                )));
            }
            c => upstream.push(c),
        }
    }
    let rel = if d.revision.is_empty() {
        "1".to_owned()
    } else {
        d.revision
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let rel_ok = match rel.split_once('.') {
        Some((a, b)) => digits(a) && digits(b),
        None => digits(&rel),
    };
    if !rel_ok {
        return Err(bad(format!(
            "`{v}`: the revision `{rel}` cannot be a pacman pkgrel (digits, optionally `.digits`)"
        )));
    }
    Ok(match d.epoch {
        0 => format!("{upstream}-{rel}"),
        e => format!("{e}:{upstream}-{rel}"),
    })
}

/// The canonical file name: `<name>-<pkgver>-<pkgrel>-<arch>.pkg.tar.zst` (makepkg's `pkg_file`; the
/// epoch stays, as makepkg writes it).
#[must_use]
pub fn file_name(name: &str, version: &str, arch: &str) -> String {
    format!("{name}-{version}-{arch}{FORMAT}")
}

/// A package's detached binary OpenPGP signature as a database gives it (`%PGPSIG%`: base64, one line,
/// as repo-add's `base64 "$pkgfile.sig" | tr -d '\n'`).
#[must_use]
pub fn pgpsig(signature: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(signature)
}

/// The binary signature a `%PGPSIG%` value holds (`None` if it is not base64).
#[must_use]
pub fn signature(pgpsig: &str) -> Option<Vec<u8>> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.decode(pgpsig).ok()
}

/// One Debian-syntax clause (`name (>= 1.0)`) in pacman's syntax (`name>=1.0`); pacman has no
/// alternatives.
fn dependency(clause: &str) -> Result<String, PackageError> {
    let (name, Some((op, v))) = crate::relation_parts(
        FORMAT,
        "pacman has no alternative dependencies; pacman packages take [package.rpm]'s relations: list them there",
        clause,
    )?
    else {
        return Ok(clause.trim().to_owned());
    };
    let parsed: Version = v.parse().map_err(|e| bad(format!("`{clause}`: {e}")))?;
    let mut mapped = version(&parsed)?;
    // A bare upstream version stays bare (`>=1.0`, as a PKGBUILD writes it).
    if parsed.deb().revision.is_empty() {
        mapped.truncate(mapped.rfind('-').unwrap_or(mapped.len()));
    }
    Ok(format!("{name}{op}{mapped}"))
}

/// `.PKGINFO`, in `write_pkginfo`'s order.
fn pkginfo(spec: &PackageSpec, version: &str, size: u64, date: SourceDate) -> Result<String, PackageError> {
    let m = &spec.meta;
    let r = m.relations_for(Family::Rpm);
    let mut lines: Vec<(&str, String)> = vec![
        ("pkgname", spec.name.to_string()),
        ("pkgbase", spec.name.to_string()),
        ("pkgver", version.to_owned()),
        (
            "pkgdesc",
            m.summary.split_whitespace().collect::<Vec<_>>().join(" "),
        ),
        ("url", m.homepage.clone().unwrap_or_default()),
        ("builddate", date.unix().to_string()),
        ("packager", m.maintainer.trim().to_owned()),
        ("size", size.to_string()),
        ("arch", arch(spec.arch).to_owned()),
    ];
    if let Some(l) = &m.license {
        lines.push(("license", l.clone()));
    }
    for c in &r.replaces {
        lines.push(("replaces", dependency(c)?));
    }
    for c in r.conflicts.iter().chain(&r.breaks) {
        lines.push(("conflict", dependency(c)?));
    }
    for c in &r.provides {
        lines.push(("provides", dependency(c)?));
    }
    for e in &spec.files {
        if matches!(e.kind, wharf_core::FileKind::File { config: true, .. }) {
            lines.push(("backup", e.path.relative().to_owned()));
        }
    }
    for c in r.pre_depends.iter().chain(&r.depends) {
        lines.push(("depend", dependency(c)?));
    }
    for c in r.recommends.iter().chain(&r.suggests) {
        lines.push(("optdepend", dependency(c)?));
    }
    let mut text = String::from("# Generated by wharf\n");
    for (k, v) in lines {
        if v.contains('\n') {
            return Err(bad(format!("`{k}` holds a line break")));
        }
        // makepkg writes empty values too (`url = `), as `write_kv_pair` prints every value given.
        text.push_str(&format!("{k} = {v}\n"));
    }
    Ok(text)
}

/// `.BUILDINFO` (BUILDINFO(5), format 2): what built the package.
fn buildinfo(spec: &PackageSpec, version: &str, date: SourceDate) -> String {
    format!(
        "format = 2\npkgname = {name}\npkgbase = {name}\npkgver = {version}\npkgarch = {}\npackager = {}\nbuilddate = {}\nbuilddir = /build\nstartdir = /build\nbuildtool = wharf\nbuildtoolver = {}\n",
        arch(spec.arch),
        spec.meta.maintainer.trim(),
        date.unix(),
        env!("CARGO_PKG_VERSION"),
        name = spec.name,
    )
}

/// `.INSTALL`: dpkg-style scripts as pacman's functions. dpkg runs `postinst` on install and upgrade, so
/// each install script also runs on upgrade.
fn install_script(spec: &PackageSpec) -> Option<String> {
    if spec.scripts.is_empty() {
        return None;
    }
    let mut text = String::new();
    for (kind, body) in &spec.scripts {
        let names: &[&str] = match kind {
            ScriptKind::PreInst => &["pre_install", "pre_upgrade"],
            ScriptKind::PostInst => &["post_install", "post_upgrade"],
            ScriptKind::PreRm => &["pre_remove"],
            ScriptKind::PostRm => &["post_remove"],
        };
        let body = String::from_utf8_lossy(body);
        for name in names {
            // In a subshell, so a script's `exit` ends it alone.
            text.push_str(&format!("{name}() {{\n(\n{}\n)\n}}\n\n", body.trim_end()));
        }
    }
    Some(text)
}

/// An mtree path: `./` and the name, with every byte outside a safe set as `\ooo` (libarchive's mtree
/// reader decodes these).
fn mtree_path(name: &str) -> String {
    let mut out = String::from("./");
    for b in name.bytes() {
        if b.is_ascii_alphanumeric() || b"._-+/,:@%".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\{b:03o}"));
        }
    }
    out
}

/// md5 and sha256 of a payload file (read once before the tar, which the `.MTREE` listing them
/// precedes), and its size.
fn digests(content: &Content, clamp: u64) -> Result<(String, String, u64), PackageError> {
    let (mut reader, size, _) = payload::open_content(content, clamp)?;
    let (mut md5, mut sha) = (Md5::new(), Sha256::new());
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = size;
    while left > 0 {
        let n = reader
            .read(&mut buf[..usize::try_from(left.min(64 * 1024)).unwrap_or(64 * 1024)])
            .map_err(|e| payload::content_error(content, e, size))?;
        if n == 0 {
            return Err(payload::content_error(
                content,
                io::ErrorKind::UnexpectedEof.into(),
                size,
            ));
        }
        md5.update(&buf[..n]);
        sha.update(&buf[..n]);
        left -= n as u64;
    }
    Ok((hex::encode(md5.finalize()), hex::encode(sha.finalize()), size))
}

/// Writes `spec` as a pacman package.
pub fn write_pacman(
    spec: &PackageSpec,
    source_date: SourceDate,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let version = version(&spec.version)?;
    let clamp = u64::try_from(source_date.unix()).unwrap_or(0);
    let nodes: BTreeMap<String, Planned<'_>> = payload::plan(spec)?;
    // Bare names, sorted as makepkg's C-collated glob lists them (directories without their `/`).
    let mut entries: Vec<(String, &Planned<'_>)> = nodes
        .iter()
        .map(|(k, p)| (k.trim_start_matches("./").trim_end_matches('/').to_owned(), p))
        .collect();
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut mtree_body = String::new();
    let mut size = 0u64;
    let mut sums = Vec::with_capacity(entries.len());
    for (name, p) in &entries {
        let line = match &p.node {
            Node::Dir => format!("{} time={clamp}.0 mode={:o} type=dir\n", mtree_path(name), p.mode),
            Node::Symlink { target } => format!(
                "{} time={clamp}.0 mode=777 type=link link={}\n",
                mtree_path(name),
                mtree_path(target).trim_start_matches("./")
            ),
            Node::File { content, .. } => {
                let (md5, sha, n) = digests(content, clamp)?;
                size += n;
                sums.push(sha.clone());
                format!(
                    "{} time={clamp}.0 mode={:o} size={n} md5digest={md5} sha256digest={sha}\n",
                    mtree_path(name),
                    p.mode
                )
            }
        };
        mtree_body.push_str(&line);
    }
    let pkginfo = pkginfo(spec, &version, size, source_date)?;
    let buildinfo = buildinfo(spec, &version, source_date);
    let install = install_script(spec);
    let mut meta: Vec<(&str, &[u8])> = vec![
        (".BUILDINFO", buildinfo.as_bytes()),
        (".PKGINFO", pkginfo.as_bytes()),
    ];
    if let Some(i) = &install {
        meta.push((".INSTALL", i.as_bytes()));
    }
    meta.sort_by(|a, b| a.0.cmp(b.0));
    let mut mtree = String::from("#mtree\n/set type=file uid=0 gid=0 mode=644\n");
    for (name, body) in &meta {
        mtree.push_str(&format!(
            "{} time={clamp}.0 size={} md5digest={} sha256digest={}\n",
            mtree_path(name),
            body.len(),
            hex::encode(Md5::digest(body)),
            hex::encode(Sha256::digest(body))
        ));
    }
    mtree.push_str(&mtree_body);
    let mtree = compress::compress(mtree.as_bytes(), Compression::Gzip, Profile::Payload)
        .map_err(PackageError::Write)?;
    meta.push((".MTREE", &mtree));
    meta.sort_by(|a, b| a.0.cmp(b.0));

    let enc = compress::encoder(out, Compression::Zstd, Profile::Payload).map_err(PackageError::Write)?;
    let mut tar = TarWriter::new(enc);
    for (name, body) in &meta {
        tar.file(name, 0o644, clamp, body.len() as u64, &mut &body[..])
            .map_err(PackageError::Write)?;
    }
    let mut sums = sums.into_iter();
    for (name, p) in &entries {
        match p.owner {
            Some(o) => tar.set_owner(&o.user, &o.group),
            None => tar.set_owner("root", "root"),
        }
        match &p.node {
            Node::Dir => tar
                .dir(&format!("{name}/"), p.mode, clamp)
                .map_err(PackageError::Write)?,
            Node::Symlink { target } => tar.symlink(name, target, clamp).map_err(PackageError::Write)?,
            Node::File { content, .. } => {
                let want = sums.next().unwrap_or_default();
                let (mut reader, n, _) = payload::open_content(content, clamp)?;
                let mut sha = Sha256::new();
                let mut hashing = Tee(&mut reader, &mut sha);
                tar.file(name, p.mode, clamp, n, &mut hashing)
                    .map_err(|e| payload::content_error(content, e, n))?;
                // The file changed between the `.MTREE` pass and the copy.
                if hex::encode(sha.finalize()) != want {
                    return Err(payload::content_error(
                        content,
                        io::ErrorKind::UnexpectedEof.into(),
                        n,
                    ));
                }
            }
        }
    }
    tar.finish()
        .map_err(PackageError::Write)?
        .finish_box()
        .map_err(PackageError::Write)
}

/// Reads through `inner`, feeding a digest.
struct Tee<'a, D: Digest>(&'a mut dyn Read, &'a mut D);
impl<D: Digest> Read for Tee<'_, D> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.0.read(buf)?;
        self.1.update(&buf[..n]);
        Ok(n)
    }
}

/// What a pacman repository needs from a package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PacmanInfo {
    /// `.PKGINFO`'s `key = value` pairs, in order.
    pub pkginfo: Vec<(String, String)>,
    /// `pkgname`.
    pub name: String,
    /// `pkgver` (`[epoch:]pkgver-pkgrel`).
    pub version: String,
    /// `arch`.
    pub arch: String,
    /// Every payload path, sorted (the `.files` database lists them; directories end with `/`).
    pub files: Vec<String>,
    /// Checksums of the whole file.
    pub checksums: Checksums,
}

impl PacmanInfo {
    /// The first value of `key`, or "".
    #[must_use]
    pub fn get(&self, key: &str) -> &str {
        self.pkginfo
            .iter()
            .find(|(k, _)| k == key)
            .map_or("", |(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.pkginfo
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses `.PKGINFO` as libalpm's `parse_descfile` does and checks what `_alpm_pkg_load_internal`
/// requires: a name, a version with a `-`; and an architecture. Names and versions must be single
/// path-safe words (they name files in the repository).
pub fn parse_pkginfo(
    text: &str,
    files: Vec<String>,
    checksums: Checksums,
) -> Result<PacmanInfo, PackageError> {
    let mut pkginfo = Vec::new();
    for line in text.lines() {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once(" = ") {
            pkginfo.push((k.to_owned(), v.to_owned()));
        }
    }
    let first = |key: &str| {
        pkginfo
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v): &(String, String)| v.clone())
            .unwrap_or_default()
    };
    let (name, version, arch) = (first("pkgname"), first("pkgver"), first("arch"));
    let word = |s: &str| {
        !s.is_empty()
            && !s.starts_with(['.', '-'])
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"@._+-:".contains(&b))
    };
    if !word(&name) {
        return Err(bad(format!(
            "`pkgname = {}` is missing or not a package name",
            name.escape_debug()
        )));
    }
    if !word(&version) || !version.contains('-') {
        return Err(bad(format!(
            "`pkgver = {}` is missing or not `pkgver-pkgrel` (pacman refuses it)",
            version.escape_debug()
        )));
    }
    if !word(&arch) || arch.contains(':') {
        return Err(bad(format!(
            "`arch = {}` is missing or invalid",
            arch.escape_debug()
        )));
    }
    Ok(PacmanInfo {
        pkginfo,
        name,
        version,
        arch,
        files,
        checksums,
    })
}

/// Reads any valid pacman package (makepkg's, wharf's) compressed with zstd, xz or gzip: `.PKGINFO`,
/// the payload's paths (each admitted as pacman would extract it), and the whole file's checksums, in
/// one pass.
pub fn inspect(reader: impl Read) -> Result<PacmanInfo, PackageError> {
    let mut hasher = Hasher::for_package();
    let mut pkginfo = None;
    let mut files = Vec::new();
    {
        let mut r = HashingReader::buffered(reader, &mut hasher);
        let head = r.fill_buf().map_err(bad)?;
        let c = if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
            Compression::Zstd
        } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z']) {
            Compression::Xz
        } else if head.starts_with(&[0x1f, 0x8b]) {
            Compression::Gzip
        } else {
            return Err(bad("not a zstd, xz or gzip compressed tar"));
        };
        let mut archive = ::tar::Archive::new(compress::buf_decoder(&mut r, c).map_err(bad)?);
        let mut policy = crate::paths::Policy::new();
        for entry in archive
            .entries()
            .map_err(|e| bad(format!("truncated or corrupt ({e})")))?
        {
            let mut entry = entry.map_err(|e| bad(format!("truncated or corrupt ({e})")))?;
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if path == ".PKGINFO" {
                let mut text = String::new();
                (&mut entry)
                    .take(MAX_PKGINFO + 1)
                    .read_to_string(&mut text)
                    .map_err(|_| bad(".PKGINFO is not UTF-8 text"))?;
                if text.len() as u64 > MAX_PKGINFO {
                    return Err(bad(format!(".PKGINFO is larger than {MAX_PKGINFO} bytes")));
                }
                pkginfo = Some(text);
            } else if !path.starts_with('.') {
                if unsafe_path(&path) {
                    return Err(bad(format!("`{}` is an unsafe path", path.escape_debug())));
                }
                policy
                    .admit_tar(&entry)
                    .map_err(|why| bad(format!("{why}; the package is unsafe")))?;
                let dir = entry.header().entry_type().is_dir();
                let name = path.trim_end_matches('/');
                files.push(if dir { format!("{name}/") } else { name.to_owned() });
            }
            io::copy(&mut entry, &mut io::sink()).map_err(|e| bad(format!("truncated or corrupt ({e})")))?;
        }
        // Hash whatever follows the tar's end, then anything after the compressed stream: the checksum
        // covers the whole file.
        let mut rest = archive.into_inner();
        io::copy(&mut rest, &mut io::sink()).map_err(|e| bad(format!("truncated or corrupt ({e})")))?;
        drop(rest);
        skip_to_end(&mut r).map_err(|e| bad(format!("truncated or corrupt ({e})")))?;
    }
    let text = pkginfo.ok_or_else(|| bad("no .PKGINFO"))?;
    files.sort();
    files.dedup();
    parse_pkginfo(&text, files, hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spec;

    #[test]
    fn write_then_inspect() {
        let date = SourceDate::from_unix(1_700_000_000).unwrap();
        let (mut a, mut b) = (Vec::new(), Vec::new());
        write_pacman(&spec(), date, &mut a).unwrap();
        write_pacman(&spec(), date, &mut b).unwrap();
        assert_eq!(a, b, "not reproducible");
        let info = inspect(&a[..]).unwrap();
        assert_eq!(info.checksums.size, a.len() as u64);
        assert!(info.version.ends_with("-1"), "{}", info.version);
        assert_eq!(info.get("builddate"), "1700000000");
        let names: Vec<String> = ::tar::Archive::new(zstd::stream::read::Decoder::new(&a[..]).unwrap())
            .entries()
            .unwrap()
            .map(|e| e.unwrap().path().unwrap().display().to_string())
            .collect();
        assert_eq!(&names[..4], [".BUILDINFO", ".INSTALL", ".MTREE", ".PKGINFO"]);
        assert!(inspect(&a[..a.len() / 2]).is_err());
    }

    #[test]
    fn versions() {
        for (v, want) in [
            ("1.0", "1.0-1"),
            ("1.0-3", "1.0-3"),
            ("2:1.0~rc.1", "2:1.0rc.1-1"),
            ("1.0+git.x", "1.0+git.x-1"),
            ("1.0-rc-2", "1.0_rc-2"),
        ] {
            assert_eq!(version(&v.parse().unwrap()).unwrap(), want, "{v}");
        }
        assert!(version(&"1.0~1".parse().unwrap()).is_err());
        assert!(version(&"1.0-0ubuntu1".parse().unwrap()).is_err());
        assert_eq!(dependency("libc (>= 2.3)").unwrap(), "libc>=2.3");
        assert_eq!(dependency("x (<< 2-1)").unwrap(), "x<2-1");
        assert!(dependency("a | b").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]
        /// Corrupted and truncated packages give an error, never a panic.
        #[test]
        fn reader_never_panics(flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..8), cut in 0usize..4096) {
            let mut p = Vec::new();
            write_pacman(&spec(), SourceDate::from_unix(0).unwrap(), &mut p).unwrap();
            for (at, byte) in flips {
                let i = at % p.len();
                p[i] = byte;
            }
            p.truncate(p.len() - cut % p.len());
            let _ = inspect(&p[..]);
        }
    }
}
