//! Alpine apk v2 packages: writer and reader.
//!
//! Layout from apk-tools (`src/extract_v2.c`, `src/package.c`, `doc/apk-v2.5`) and abuild (`abuild-sign`,
//! `abuild-tar`), formats.md §6. A package is three **concatenated gzip members** that read as one tar:
//! 1. the signature: a tar holding `.SIGN.RSA.<keyname>` (PKCS#1 v1.5 + SHA-1) or `.SIGN.RSA256.<keyname>`
//!    (SHA-256) over the *compressed* control member, without end-of-archive blocks;
//! 2. the control: a tar of `.PKGINFO` first, then the install scripts, without end-of-archive blocks;
//! 3. the data: the files with bare names (`usr/bin/x`), a pax `APK-TOOLS.checksum.SHA1` record before each
//!    file and symlink, and the end-of-archive blocks.
//!
//! `.PKGINFO` carries `datahash` = sha256 of the compressed data member, so the signature over the control
//! member covers the data too. The index identity (`C:` in APKINDEX) is `Q1` + base64(sha1(control
//! member)). apk hashes the gzip *input*, so every gzip member is written once (pinned deflate, level 9,
//! no name or time) and never re-compressed.

use std::io::{self, BufRead, Read, Write};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use sha1::{Digest, Sha1};
use sha2::Sha256;
use wharf_core::digest::{Checksums, Hasher};
use wharf_core::{Family, PackageSpec, ScriptKind, SourceDate, apkver};
use wharf_sign::{ApkRsaKey, RsaDigest};

use crate::PackageError;
use crate::compress::{self, Compression, Profile};
use crate::payload::{self, Layout};
use crate::splice::Payloads;
use crate::spool::Spool;
use crate::tar::TarWriter;

const FORMAT: &str = ".apk (v2)";

fn bad(why: impl std::fmt::Display) -> PackageError {
    PackageError::invalid(FORMAT, why.to_string())
}

/// How to write an apk v2 package.
#[derive(Debug, Clone, Copy)]
pub struct ApkOptions<'a> {
    /// The one clock value (`builddate`, every mtime).
    pub source_date: SourceDate,
    /// The signing key; its name is the file clients must hold in `/etc/apk/keys/`.
    pub key: &'a ApkRsaKey,
    /// SHA-1 (`.SIGN.RSA.`) or SHA-256 (`.SIGN.RSA256.`).
    pub digest: RsaDigest,
}

/// The canonical file name apk fetches: `<name>-<version>.apk`.
#[must_use]
pub fn file_name(name: &str, apk_version: &str) -> String {
    format!("{name}-{apk_version}.apk")
}

/// One Debian-syntax clause (`name (>= 1.0)`) in apk's syntax (`name>=1.0`). apk has no alternatives.
pub fn dependency(clause: &str) -> Result<String, PackageError> {
    let (name, Some((op, version))) = crate::relation_parts(
        FORMAT,
        "apk has no alternative dependencies; list apk's own in [package.apk] depends",
        clause,
    )?
    else {
        return Ok(clause.trim().to_owned());
    };
    let version = if apkver::validate(version) {
        version.to_owned()
    } else {
        let v = version.parse().map_err(|e| bad(format!("`{clause}`: {e}")))?;
        let mapped = apkver::from_version(&v).map_err(|e| bad(format!("`{clause}`: {e}")))?;
        // A bare upstream version stays bare (`>=1.0`, as an APKBUILD writes it); one with a Debian
        // revision keeps it as `-rN`.
        if v.deb().revision.is_empty() {
            mapped.trim_end_matches("-r0").to_owned()
        } else {
            mapped
        }
    };
    Ok(format!("{name}{op}{version}"))
}

/// The `depend`, `provides` and `replaces` lines for a spec.
fn relations(spec: &PackageSpec) -> Result<Vec<(&'static str, String)>, PackageError> {
    let r = spec.meta.relations_for(Family::Apk);
    let mut out = Vec::new();
    for clause in r.pre_depends.iter().chain(&r.depends) {
        out.push(("depend", dependency(clause)?));
    }
    for clause in r.conflicts.iter().chain(&r.breaks) {
        out.push(("depend", format!("!{}", dependency(clause)?)));
    }
    for clause in &r.provides {
        out.push(("provides", dependency(clause)?));
    }
    for clause in &r.replaces {
        let d = dependency(clause)?;
        // apk's `replaces` takes names only.
        let name = d.split(['<', '>', '=']).next().unwrap_or(&d).to_owned();
        out.push(("replaces", name));
    }
    Ok(out)
}

/// The scripts as apk control members. dpkg runs `postinst` on install and upgrade; apk runs
/// `.post-install` or `.post-upgrade`, so each script is installed under both names.
pub(crate) fn scripts(spec: &PackageSpec) -> Vec<(&'static str, &[u8])> {
    let mut out = Vec::new();
    for (kind, body) in &spec.scripts {
        let names: &[&'static str] = match kind {
            ScriptKind::PreInst => &[".pre-install", ".pre-upgrade"],
            ScriptKind::PostInst => &[".post-install", ".post-upgrade"],
            ScriptKind::PreRm => &[".pre-deinstall"],
            ScriptKind::PostRm => &[".post-deinstall"],
        };
        out.extend(names.iter().map(|n| (*n, body.as_slice())));
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// The apk metadata every writer (v2 `.PKGINFO`, v3 `info`) shares.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkMeta {
    /// Package name.
    pub name: String,
    /// apk version (`1.0-r0`).
    pub version: String,
    /// apk architecture.
    pub arch: String,
    /// One-line description.
    pub description: String,
    /// Project URL.
    pub url: String,
    /// Licence.
    pub license: String,
    /// Maintainer.
    pub maintainer: String,
    /// Build time (Unix seconds).
    pub build_time: u64,
    /// `depend` / `provides` / `replaces` lines, in order.
    pub relations: Vec<(&'static str, String)>,
}

impl ApkMeta {
    /// The metadata of `spec` for apk architecture `arch`.
    pub fn of(spec: &PackageSpec, arch: &str, source_date: SourceDate) -> Result<Self, PackageError> {
        let version = apkver::from_version(&spec.version).map_err(|e| bad(e.to_string()))?;
        let m = &spec.meta;
        Ok(Self {
            name: spec.name.to_string(),
            version,
            arch: arch.to_owned(),
            description: m.summary.clone(),
            url: m.homepage.clone().unwrap_or_default(),
            license: m
                .license
                .clone()
                .unwrap_or_else(|| "LicenseRef-Unspecified".into()),
            maintainer: m.maintainer.trim().to_owned(),
            build_time: u64::try_from(source_date.unix()).unwrap_or(0),
            relations: relations(spec)?,
        })
    }
}

/// `.PKGINFO`, in the order abuild writes it: one `key = value` line per value, so a value with a line
/// break or another control character (which apk would read as a key of its own) is refused.
fn pkginfo(meta: &ApkMeta, size: u64, datahash: &str) -> Result<String, PackageError> {
    let mut s = String::new();
    let mut refused = None;
    let mut line = |k: &str, v: &str| {
        if v.chars().any(char::is_control) {
            refused.get_or_insert_with(|| k.to_owned());
        } else if !v.is_empty() {
            s.push_str(&format!("{k} = {v}\n"));
        }
    };
    line("pkgname", &meta.name);
    line("pkgver", &meta.version);
    line("pkgdesc", &meta.description);
    line("url", &meta.url);
    line("builddate", &meta.build_time.to_string());
    line("packager", &meta.maintainer);
    line("size", &size.to_string());
    line("arch", &meta.arch);
    line("origin", &meta.name);
    line("maintainer", &meta.maintainer);
    line("license", &meta.license);
    for (k, v) in &meta.relations {
        line(k, v);
    }
    line("datahash", datahash);
    match refused {
        Some(key) => Err(bad(format!(
            "the .PKGINFO value `{key}` must be one line of text: a line break would write a key of its own"
        ))),
        None => Ok(s),
    }
}

/// A gzip'd tar member of small files (mode, name, body), cut (no end-of-archive blocks) unless `eof`.
fn small_member(files: &[(&str, u32, &[u8])], mtime: u64, eof: bool) -> Result<Vec<u8>, PackageError> {
    let mut out = Vec::new();
    let enc =
        compress::encoder(&mut out, Compression::Gzip, Profile::Payload).map_err(PackageError::Write)?;
    let mut tar = TarWriter::new(enc);
    for (name, mode, body) in files {
        tar.file(name, *mode, mtime, body.len() as u64, &mut &body[..])
            .map_err(PackageError::Write)?;
    }
    let enc = if eof { tar.finish() } else { tar.finish_cut() }.map_err(PackageError::Write)?;
    enc.finish_box().map_err(PackageError::Write)?;
    Ok(out)
}

/// The signature member over `signed` (a package's control member, or an unsigned APKINDEX): a cut tar
/// holding `.SIGN.RSA[256].<keyname>` — one per signing key during a rotation — gzip'd.
pub fn signature_member(
    key: &ApkRsaKey,
    digest: RsaDigest,
    signed: &[u8],
    mtime: u64,
) -> Result<Vec<u8>, PackageError> {
    let mut sigs = Vec::new();
    for k in key.signers() {
        sigs.push((
            format!(".SIGN.{}.{}", digest.member_tag(), k.name()),
            k.sign(digest, signed)?,
        ));
    }
    let files: Vec<(&str, u32, &[u8])> = sigs
        .iter()
        .map(|(n, s)| (n.as_str(), 0o644, s.as_slice()))
        .collect();
    small_member(&files, mtime, false)
}

/// Writes `spec` as a signed apk v2 package for apk architecture `arch` (`noarch` for
/// architecture-independent packages).
pub fn write_apk(
    spec: &PackageSpec,
    arch: &str,
    opts: ApkOptions<'_>,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let meta = ApkMeta::of(spec, arch, opts.source_date)?;
    let nodes = payload::plan(spec)?;
    let mut data = Spool::new();
    let summary = payload::write_data(
        &nodes,
        Layout::Apk,
        Compression::Gzip,
        opts.source_date,
        payloads,
        &mut data,
    )?;
    let mtime = meta.build_time;
    let mut sha = Sha256::new();
    std::io::copy(
        &mut data.reader().map_err(PackageError::Write)?,
        &mut payload::HashWriter(&mut sha),
    )
    .map_err(PackageError::Write)?;
    let datahash = hex::encode(sha.finalize());
    let info = pkginfo(&meta, summary.file_bytes, &datahash)?;
    let mut members: Vec<(&str, u32, &[u8])> = vec![(".PKGINFO", 0o644, info.as_bytes())];
    members.extend(scripts(spec).into_iter().map(|(n, b)| (n, 0o755, b)));
    let control = small_member(&members, mtime, false)?;
    let signature = signature_member(opts.key, opts.digest, &control, mtime)?;
    for part in [&signature, &control] {
        out.write_all(part).map_err(PackageError::Write)?;
    }
    data.copy_to(out).map_err(PackageError::Write)
}

/// What an APKINDEX needs from an apk v2 package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApkInfo {
    /// `.PKGINFO` as (key, value) lines, in file order.
    pub pkginfo: Vec<(String, String)>,
    /// Package name.
    pub name: String,
    /// apk version.
    pub version: String,
    /// apk architecture.
    pub arch: String,
    /// `size` (installed bytes).
    pub installed_size: u64,
    /// `Q1` + base64(sha1(control member)): APKINDEX's `C:`.
    pub identity: String,
    /// The signature entries: name (`.SIGN.RSA256.wharf.rsa.pub`) and the raw signature.
    pub signatures: Vec<(String, Vec<u8>)>,
    /// sha256 of the control member (what an `RSA256` signature signs; `RSA` signs its sha1, in
    /// `identity`).
    pub control_sha256: [u8; 32],
    /// Checksums of the whole file.
    pub checksums: Checksums,
}

impl ApkInfo {
    /// The first value of `key` in `.PKGINFO`.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&str> {
        self.pkginfo
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `key`.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pkginfo
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// A `BufRead` that hashes exactly the bytes its consumer consumes: the whole file, and the current gzip
/// member (`flate2::bufread::GzDecoder` consumes a member's bytes and no more).
struct Tap<R: Read> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
    whole: Hasher,
    member_sha1: Sha1,
    member_sha256: Sha256,
}

impl<R: Read> Tap<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            buf: vec![0; 64 * 1024],
            pos: 0,
            filled: 0,
            whole: Hasher::for_package(),
            member_sha1: Sha1::new(),
            member_sha256: Sha256::new(),
        }
    }

    /// Ends the current member: its sha1 and sha256.
    fn take_member(&mut self) -> ([u8; 20], [u8; 32]) {
        (
            std::mem::take(&mut self.member_sha1).finalize().into(),
            std::mem::take(&mut self.member_sha256).finalize().into(),
        )
    }

    fn at_eof(&mut self) -> io::Result<bool> {
        Ok(self.fill_buf()?.is_empty())
    }
}

impl<R: Read> Read for Tap<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let n = {
            let avail = self.fill_buf()?;
            let n = avail.len().min(out.len());
            out[..n].copy_from_slice(&avail[..n]);
            n
        };
        self.consume(n);
        Ok(n)
    }
}

impl<R: Read> BufRead for Tap<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.pos == self.filled {
            self.filled = self.inner.read(&mut self.buf)?;
            self.pos = 0;
        }
        Ok(&self.buf[self.pos..self.filled])
    }

    fn consume(&mut self, n: usize) {
        let n = n.min(self.filled - self.pos);
        let bytes = &self.buf[self.pos..self.pos + n];
        self.whole.update(bytes);
        self.member_sha1.update(bytes);
        self.member_sha256.update(bytes);
        self.pos += n;
    }
}

/// Reads one gzip member of `tap` as a tar and calls `each` for every entry.
fn read_member<R: Read>(
    tap: &mut Tap<R>,
    what: &str,
    mut policy: Option<&mut crate::paths::Policy>,
    mut each: impl FnMut(&str, &mut dyn Read) -> Result<(), PackageError>,
) -> Result<(), PackageError> {
    let corrupt = |e: io::Error| bad(format!("the {what} gzip member is truncated or corrupt ({e})"));
    let mut gz = flate2::bufread::GzDecoder::new(&mut *tap);
    {
        let mut archive = ::tar::Archive::new(&mut gz);
        for entry in archive.entries().map_err(corrupt)? {
            let mut entry = entry.map_err(corrupt)?;
            let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            if crate::unsafe_path(&path) {
                return Err(bad(format!(
                    "`{path}` in the {what} would be installed outside the root; the package is unsafe"
                )));
            }
            if let Some(p) = policy.as_deref_mut() {
                p.admit_tar(&entry)
                    .map_err(|why| bad(format!("the {what} member: {why}; the package is unsafe")))?;
            }
            each(&path, &mut entry)?;
        }
    }
    // Drain the member (a cut tar ends without EOF blocks; padding may remain) so the tap sits at the
    // next member.
    io::copy(&mut gz, &mut io::sink()).map_err(corrupt)?;
    Ok(())
}

/// Reads any valid apk v2 package (wharf's, abuild's, nFPM's): splits the gzip members, parses `.PKGINFO`,
/// checks `datahash` against the data member, and hashes the whole file, in one pass.
pub fn inspect(reader: impl Read) -> Result<ApkInfo, PackageError> {
    let mut tap = Tap::new(reader);
    if !tap.fill_buf().map_err(bad)?.starts_with(&[0x1f, 0x8b]) {
        return Err(bad(
            "not a gzip stream (an apk v2 package is concatenated gzip members)",
        ));
    }
    let mut signatures = Vec::new();
    let mut pkginfo: Option<String> = None;
    // First member: signatures, or (unsigned package) the control member.
    let mut first_is_control = false;
    read_member(&mut tap, "first", None, |path, entry| {
        if let Some(sig) = path.strip_prefix(".SIGN.") {
            let mut value = Vec::new();
            entry
                .take(64 * 1024)
                .read_to_end(&mut value)
                .map_err(|e| bad(format!("the signature member is corrupt ({e})")))?;
            signatures.push((format!(".SIGN.{sig}"), value));
        } else if path == ".PKGINFO" {
            first_is_control = true;
            pkginfo = Some(read_text(entry)?);
        }
        Ok(())
    })?;
    let (mut control_sha1, mut control_sha256) = tap.take_member();
    if !first_is_control {
        if tap.at_eof().map_err(bad)? {
            return Err(bad("the control member is missing (the file is truncated)"));
        }
        read_member(&mut tap, "control", None, |path, entry| {
            if path == ".PKGINFO" {
                pkginfo = Some(read_text(entry)?);
            } else if pkginfo.is_none() {
                return Err(bad(format!(
                    "`{path}` comes before .PKGINFO in the control member"
                )));
            }
            Ok(())
        })?;
        (control_sha1, control_sha256) = tap.take_member();
    }
    let pkginfo = pkginfo.ok_or_else(|| bad("no .PKGINFO"))?;
    if tap.at_eof().map_err(bad)? {
        return Err(bad("the data member is missing (the file is truncated)"));
    }
    let mut policy = crate::paths::Policy::new();
    read_member(&mut tap, "data", Some(&mut policy), |_, entry| {
        io::copy(entry, &mut io::sink())
            .map(drop)
            .map_err(|e| bad(format!("the data member is truncated or corrupt ({e})")))
    })?;
    let (_, data_sha256) = tap.take_member();
    // Whatever follows (nothing, in a well-formed package) still counts toward the file's checksums.
    io::copy(&mut tap, &mut io::sink()).map_err(bad)?;

    let lines: Vec<(String, String)> = pkginfo
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| l.split_once(" = ").or_else(|| l.split_once('=')))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let field = |k: &str| {
        lines
            .iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| bad(format!(".PKGINFO has no `{k}`")))
    };
    let name = field("pkgname")?;
    if name.is_empty()
        || name.starts_with(['.', '-'])
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '+' | '-'))
    {
        return Err(bad(format!("invalid pkgname `{name}`")));
    }
    let version = field("pkgver")?;
    if !apkver::validate(&version) {
        return Err(bad(format!("pkgver `{version}` is not an apk version")));
    }
    let arch = field("arch")?;
    if arch.is_empty() || arch.contains(['/', ' ']) {
        return Err(bad(format!("invalid arch `{arch}`")));
    }
    if let Some((_, want)) = lines.iter().find(|(k, _)| k == "datahash")
        && *want != hex::encode(data_sha256)
    {
        return Err(bad(format!(
            "datahash {want} does not match the data member (sha256 {}); the package is corrupt",
            hex::encode(data_sha256)
        )));
    }
    let installed_size = field("size").ok().and_then(|s| s.parse().ok()).unwrap_or(0);
    Ok(ApkInfo {
        pkginfo: lines,
        name,
        version,
        arch,
        installed_size,
        identity: format!("Q1{}", B64.encode(control_sha1)),
        signatures,
        control_sha256,
        checksums: tap.whole.finish(),
    })
}

fn read_text(entry: &mut dyn Read) -> Result<String, PackageError> {
    let mut text = String::new();
    entry
        .take(1 << 20)
        .read_to_string(&mut text)
        .map_err(|_| bad(".PKGINFO is not UTF-8 text"))?;
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spec;
    use std::sync::OnceLock;

    fn key() -> &'static ApkRsaKey {
        static KEY: OnceLock<ApkRsaKey> = OnceLock::new();
        KEY.get_or_init(|| ApkRsaKey::generate(2048, "test.rsa.pub").unwrap())
    }

    fn spec_for_apk() -> PackageSpec {
        let mut s = spec();
        s.version = "1.0-1".parse().unwrap();
        s
    }

    fn build(digest: RsaDigest) -> Vec<u8> {
        let mut out = Vec::new();
        let opts = ApkOptions {
            source_date: SourceDate::from_unix(1_700_000_000).unwrap(),
            key: key(),
            digest,
        };
        write_apk(
            &spec_for_apk(),
            "x86_64",
            opts,
            &crate::splice::Payloads::new(),
            &mut out,
        )
        .unwrap();
        out
    }

    #[test]
    fn write_then_inspect() {
        let a = build(RsaDigest::Sha256);
        assert_eq!(a, build(RsaDigest::Sha256), "not reproducible");
        let info = inspect(&a[..]).unwrap();
        assert_eq!(info.name, "hello");
        assert_eq!(info.version, "1.0-r1");
        assert_eq!(info.arch, "x86_64");
        assert_eq!(info.signatures[0].0, ".SIGN.RSA256.test.rsa.pub");
        let public =
            wharf_sign::ApkRsaPublicKey::from_pem(key().public_pem().unwrap().as_bytes(), "test.rsa.pub")
                .unwrap();
        assert!(public.verify_hashed(RsaDigest::Sha256, &info.control_sha256, &info.signatures[0].1));
        assert_eq!(info.get("depend"), Some("libc6>=2.31"));
        assert_eq!(info.checksums.size, a.len() as u64);
        assert!(info.identity.starts_with("Q1") && info.identity.len() == 30);
        let sha1 = inspect(&build(RsaDigest::Sha1)[..]).unwrap();
        assert_eq!(sha1.signatures[0].0, ".SIGN.RSA.test.rsa.pub");
        assert_eq!(
            sha1.identity, info.identity,
            "the control member does not depend on the digest"
        );
        // The whole file reads as one tar stream (what apk sees), with pax checksums in the data part.
        let mut names = Vec::new();
        let mut archive = ::tar::Archive::new(flate2::read::MultiGzDecoder::new(&a[..]));
        for e in archive.entries().unwrap() {
            let mut e = e.unwrap();
            let path = e.path().unwrap().display().to_string();
            let pax = e.pax_extensions().unwrap().map(|p| {
                p.map(|x| x.unwrap().key().unwrap().to_owned())
                    .collect::<Vec<_>>()
            });
            names.push((path, pax));
        }
        let shown: Vec<&str> = names.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(
            shown,
            [
                ".SIGN.RSA256.test.rsa.pub",
                ".PKGINFO",
                ".post-install",
                ".post-upgrade",
                "etc/",
                "etc/hello.conf",
                "usr/",
                "usr/bin/",
                "usr/bin/hello",
                "usr/bin/hi",
            ]
        );
        let with_sha1: Vec<&str> = names
            .iter()
            .filter(|(_, p)| p.as_ref().is_some_and(|k| k == &["APK-TOOLS.checksum.SHA1"]))
            .map(|(n, _)| n.as_str())
            .collect();
        assert_eq!(with_sha1, ["etc/hello.conf", "usr/bin/hello", "usr/bin/hi"]);
    }

    #[test]
    fn corrupt_packages_are_refused() {
        let a = build(RsaDigest::Sha256);
        for cut in [10, a.len() / 3, a.len() - 30] {
            assert!(inspect(&a[..cut]).is_err(), "truncated at {cut}");
        }
        // A flipped byte in the data member's deflate stream or trailer.
        let mut b = a.clone();
        let n = b.len();
        b[n - 6] ^= 0xff;
        assert!(inspect(&b[..]).is_err());
        assert!(inspect(&b"!<arch>\n"[..]).is_err());
    }

    #[test]
    fn dependencies_in_apk_syntax() {
        assert_eq!(dependency("foo").unwrap(), "foo");
        assert_eq!(dependency("foo (>= 1.2)").unwrap(), "foo>=1.2");
        assert_eq!(dependency("foo (<< 2.0~rc1)").unwrap(), "foo<2.0_rc1");
        assert_eq!(dependency("foo (= 1.0-3)").unwrap(), "foo=1.0-r3");
        assert!(
            dependency("a | b")
                .unwrap_err()
                .to_string()
                .contains("[package.apk]")
        );
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]
        /// Corrupted and truncated packages give an error, never a panic.
        #[test]
        fn reader_never_panics(flips in proptest::collection::vec((0usize..8192, 0u8..=255), 1..8), cut in 0usize..8192) {
            let mut apk = build(RsaDigest::Sha1);
            for (at, byte) in flips {
                let i = at % apk.len();
                apk[i] = byte;
            }
            apk.truncate(apk.len() - cut % apk.len());
            let _ = inspect(&apk[..]);
        }
    }
}
