//! The .rpm writer.

use std::fmt;
use std::io::{self, Read, Write};

use wharf_core::rpmver::Evr;
use wharf_core::{Content, Family, FileKind, PackageSpec, ScriptKind, SourceDate};
use wharf_sign::OpenPgpKey;

use sha2::{Digest, Sha256};

use crate::compress::{self, Compression, Encoder};
use crate::splice::Payloads;
use crate::spool::Spool;
use crate::{PackageError, payload};

const FORMAT: &str = ".rpm";

/// How to write an .rpm.
#[derive(Clone, Copy)]
pub struct RpmOptions<'a> {
    /// Payload compression (gzip reaches every rpm; zstd needs rpm ≥ 4.14, xz ≥ 4.6).
    pub compression: Compression,
    /// Build time, signature time, and the clamp for file mtimes.
    pub source_date: SourceDate,
    /// Sign the header with this key.
    pub key: Option<&'a OpenPgpKey>,
    /// The distribution tag the release ends with (`.fc43`; empty: none).
    pub dist: &'a str,
}

/// rpm's signing hook, backed by wharf-sign.
struct Signer<'a>(&'a OpenPgpKey);

impl fmt::Debug for Signer<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signer({})", self.0.fingerprint())
    }
}

impl rpm::signature::Signing for Signer<'_> {
    type Signature = Vec<u8>;
    fn sign(&self, mut data: impl io::Read, t: rpm::Timestamp) -> Result<Vec<u8>, rpm::Error> {
        self.0
            .signature_packet(&mut data, i64::from(u32::from(t)))
            .map_err(|e| rpm::Error::SignError(Box::new(e)))
    }
}

fn bad(why: impl fmt::Display) -> PackageError {
    PackageError::invalid(FORMAT, why.to_string())
}

/// One Debian-syntax clause (`name (>= 1.0)`) as an rpm dependency. Alternatives (`a | b`) become a rich
/// dependency `(a or b)`; a clause already in parentheses is passed through as a rich dependency.
fn dependency(clause: &str) -> Result<rpm::Dependency, PackageError> {
    let clause = clause.trim();
    if clause.starts_with('(') {
        return Ok(rpm::Dependency::any(clause));
    }
    if clause.contains('|') {
        let alts: Vec<String> = clause
            .split('|')
            .map(|a| a.trim().replace(['(', ')'], ""))
            .collect();
        return Ok(rpm::Dependency::any(format!("({})", alts.join(" or "))));
    }
    let Some((name, rest)) = clause.split_once('(') else {
        return Ok(rpm::Dependency::any(clause));
    };
    let inner = rest
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| bad(format!("unbalanced `(` in `{clause}`")))?;
    let (op, version) = inner
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad(format!("`{clause}`: expected `name (op version)`")))?;
    let (name, version) = (name.trim(), version.trim());
    Ok(match op {
        ">=" => rpm::Dependency::greater_eq(name, version),
        "<=" => rpm::Dependency::less_eq(name, version),
        ">>" | ">" => rpm::Dependency::greater(name, version),
        "<<" | "<" => rpm::Dependency::less(name, version),
        "=" => rpm::Dependency::eq(name, version),
        other => return Err(bad(format!("`{clause}`: unknown operator `{other}`"))),
    })
}

/// Applies a file's owner (root:root when none).
fn own(o: rpm::FileOptionsBuilder, owner: Option<&wharf_core::Owner>) -> rpm::FileOptionsBuilder {
    match owner {
        Some(owner) => o.user(owner.user.clone()).group(owner.group.clone()),
        None => o,
    }
}

/// A regular file's size, clamped mtime and, for the rare content rpm's builder parses itself
/// (sysusers.d files, for their `user()`/`group()` provides), its bytes.
fn file_facts(content: &Content, dst: &str, clamp: u64) -> Result<(u64, u64, Vec<u8>), PackageError> {
    let parsed = dst.starts_with("/usr/lib/sysusers.d/") && dst.ends_with(".conf");
    match content {
        Content::Bytes(b) => Ok((b.len() as u64, clamp, if parsed { b.clone() } else { Vec::new() })),
        Content::Path(p) => {
            let err = |source| PackageError::Input {
                path: p.clone(),
                source,
            };
            let (_, size, mtime) = payload::open_content(content, clamp)?;
            let bytes = if parsed {
                std::fs::read(p).map_err(err)?
            } else {
                Vec::new()
            };
            Ok((size, mtime, bytes))
        }
    }
}

/// Writes `spec` as a v4 .rpm into `out`. Deterministic for the same spec, inputs and options (Ed25519 and
/// RSA signatures are deterministic too).
///
/// The header's tags are the `rpm` crate's (its builder is given each file's metadata, not its content);
/// the payload — the cpio archive rpm's `format_v4.md` describes, compressed — is written here, streamed
/// into a spool, with large files spliced in from `payloads` when it is gzip (see [`crate::splice`]).
/// Then the per-file sizes and SHA-256 digests, the installed size and the payload digest go into the
/// header, and the signature header is computed over it. Memory does not grow with the files.
pub fn write_rpm(
    spec: &PackageSpec,
    opts: RpmOptions<'_>,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let mut evr = Evr::from_version(&spec.version);
    evr.release.push_str(opts.dist);
    let meta = &spec.meta;
    let license = meta.license.as_deref().unwrap_or("LicenseRef-Unspecified");
    let source_date =
        u32::try_from(opts.source_date.unix()).map_err(|_| bad("SOURCE_DATE_EPOCH out of range"))?;
    let clamp = u64::from(source_date);
    let compression = match opts.compression {
        Compression::None => rpm::CompressionWithLevel::None,
        Compression::Gzip => rpm::CompressionWithLevel::Gzip(9),
        Compression::Xz => rpm::CompressionWithLevel::Xz(6),
        Compression::Zstd => rpm::CompressionWithLevel::Zstd(19),
    };
    let mut b = rpm::PackageBuilder::new(
        spec.name.as_str(),
        &evr.version,
        license,
        spec.arch.rpm(),
        &meta.summary,
    );
    b.using_config(
        rpm::BuildConfig::v4()
            .compression(compression)
            .source_date(source_date),
    )
    .release(evr.release.clone())
    .description(if meta.description.trim().is_empty() {
        meta.summary.clone()
    } else {
        meta.description.clone()
    })
    .packager(meta.maintainer.clone())
    .group("Unspecified")
    .build_host("wharf");
    if evr.epoch > 0 {
        b.epoch(evr.epoch);
    }
    if opts.compression == Compression::Xz {
        // rpm ≥ 4.6 reads xz payloads; older ones then fail on this requirement, not on a corrupt payload.
        b.requires(rpm::Dependency::rpmlib("PayloadIsXz", "5.2-1"));
    }
    if let Some(url) = &meta.homepage {
        b.url(url.clone());
    }
    if let Some(v) = &meta.vendor {
        b.vendor(v.clone());
    }
    let r = meta.relations_for(Family::Rpm);
    for c in r.depends.iter().chain(&r.pre_depends) {
        b.requires(dependency(c)?);
    }
    for c in &r.recommends {
        b.recommends(dependency(c)?);
    }
    for c in &r.suggests {
        b.suggests(dependency(c)?);
    }
    for c in r.conflicts.iter().chain(&r.breaks) {
        b.conflicts(dependency(c)?);
    }
    for c in &r.provides {
        b.provides(dependency(c)?);
    }
    for c in &r.obsoletes {
        b.obsoletes(dependency(c)?);
    }
    for entry in &meta.changelog {
        let text: Vec<String> = entry.changes.iter().map(|c| format!("- {c}")).collect();
        let time = u32::try_from(entry.time)
            .map_err(|_| bad(format!("changelog time {} out of range", entry.time)))?;
        b.add_changelog_entry(
            format!("{} - {}", entry.author, entry.version),
            text.join("\n"),
            time,
        );
    }
    let mode = |m: u32| u16::try_from(m & 0o7777).unwrap_or(0o644);
    // The payload's entries in the header's order: by path (the builder's `./`-prefixed keys).
    let mut entries: Vec<(String, &wharf_core::FileEntry, u64)> = Vec::new();
    let mut total = 0u64;
    for f in &spec.files {
        let dst = f.path.as_str();
        let res = match &f.kind {
            FileKind::File { content, config } => {
                let (size, mtime, parsed) = file_facts(content, dst, clamp)?;
                total = total.saturating_add(size);
                entries.push((format!(".{dst}"), f, size));
                let mtime = u32::try_from(mtime).unwrap_or(source_date);
                let mut o = own(
                    rpm::FileOptions::new(dst)
                        .permissions(mode(f.mode))
                        .modified_at(rpm::Timestamp::from(mtime)),
                    f.owner.as_ref(),
                );
                if *config {
                    o = o.config().noreplace();
                }
                if dst.starts_with("/usr/share/doc/") {
                    o = o.doc();
                }
                b.with_file_contents(parsed, o)
            }
            FileKind::Dir => {
                entries.push((format!(".{dst}"), f, 0));
                b.with_dir_entry(own(
                    rpm::FileOptions::dir(dst).permissions(mode(f.mode)),
                    f.owner.as_ref(),
                ))
            }
            FileKind::Symlink { target } => {
                entries.push((format!(".{dst}"), f, target.len() as u64));
                b.with_symlink(own(
                    rpm::FileOptions::symlink(dst, target.clone()),
                    f.owner.as_ref(),
                ))
            }
            FileKind::Ghost => {
                entries.push((format!(".{dst}"), f, 0));
                b.with_ghost(own(
                    rpm::FileOptions::ghost(dst).permissions(mode(f.mode)),
                    f.owner.as_ref(),
                ))
            }
        };
        res.map_err(|e| bad(format!("{dst}: {e}")))?;
    }
    if total > u64::from(u32::MAX) {
        return Err(bad(format!(
            "its files total {total} bytes; rpm needs its LargeFiles format past 4 GiB, which wharf does \
             not write — split the package"
        )));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (script, body) in &spec.scripts {
        let text = String::from_utf8(body.clone())
            .map_err(|_| bad(format!("the {} script is not UTF-8 text", script.deb_name())))?;
        match script {
            ScriptKind::PreInst => b.pre_install_script(text),
            ScriptKind::PostInst => b.post_install_script(text),
            ScriptKind::PreRm => b.pre_uninstall_script(text),
            ScriptKind::PostRm => b.post_uninstall_script(text),
        };
    }
    let skeleton = b.build().map_err(bad)?;
    let mut tags = skeleton.metadata.header.get_all_entries().map_err(bad)?;
    let inodes = u32_array(&tags, rpm::IndexTag::RPMTAG_FILEINODES)?;
    let modes = u16_array(&tags, rpm::IndexTag::RPMTAG_FILEMODES)?;
    let mtimes = u32_array(&tags, rpm::IndexTag::RPMTAG_FILEMTIMES)?;
    if inodes.len() != entries.len() || modes.len() != entries.len() || mtimes.len() != entries.len() {
        return Err(bad("the header lists other files than the payload"));
    }

    let mut spool = Spool::new();
    let mut sink = DigestSink {
        out: &mut spool,
        sha256: Sha256::new(),
    };
    let digests = write_payload(
        &entries,
        (&inodes, &modes, &mtimes),
        opts.compression,
        payloads,
        clamp,
        &mut sink,
    )?;
    let payload_sha256 = hex::encode(sink.sha256.finalize());

    // What the builder could not know without the content.
    let tag = |t: rpm::IndexTag| t as u32;
    tags.retain(|(t, _)| {
        *t != tag(rpm::IndexTag::RPMTAG_HEADERIMMUTABLE) && *t != tag(rpm::IndexTag::RPMTAG_PAYLOADSHA256ALT)
    });
    for (t, data) in &mut tags {
        match data {
            rpm::IndexData::Int32(v) if *t == tag(rpm::IndexTag::RPMTAG_FILESIZES) => {
                *v = entries
                    .iter()
                    .map(|(_, f, size)| match f.kind {
                        FileKind::Ghost | FileKind::Dir => 0,
                        _ => u32::try_from(*size).unwrap_or(u32::MAX),
                    })
                    .collect();
            }
            rpm::IndexData::StringArray(v) if *t == tag(rpm::IndexTag::RPMTAG_FILEDIGESTS) => {
                v.clone_from(&digests);
            }
            rpm::IndexData::StringArray(v) if *t == tag(rpm::IndexTag::RPMTAG_PAYLOADSHA256) => {
                *v = vec![payload_sha256.clone()];
            }
            _ => {}
        }
    }
    // The installed size counts what rpm's builder counts: file sizes and symlink targets.
    let installed: u64 = entries
        .iter()
        .filter(|(_, f, _)| !matches!(f.kind, FileKind::Ghost | FileKind::Dir))
        .map(|(_, _, size)| size)
        .sum();
    for (t, data) in &mut tags {
        if let rpm::IndexData::Int32(v) = data
            && *t == tag(rpm::IndexTag::RPMTAG_SIZE)
        {
            *v = vec![u32::try_from(installed).unwrap_or(u32::MAX)];
        }
    }
    let header = rpm::Header::from_entries(
        tags.into_iter().map(|(t, d)| rpm::HeaderEntry::new(t, d)),
        rpm::IndexTag::RPMTAG_HEADERIMMUTABLE,
    );
    let mut metadata = rpm::PackageMetadata {
        lead: skeleton.metadata.lead,
        signature: skeleton.metadata.signature,
        header,
    };
    let header_bytes = metadata.header_bytes().map_err(bad)?;
    let mut signature = rpm::SignatureHeaderBuilder::new()
        .format(rpm::RpmFormat::V4)
        .set_content_length(header_bytes.len() as u64 + spool.len())
        .calculate_digests(&header_bytes);
    if let Some(key) = opts.key {
        let packet = key
            .signature_packet(&mut &header_bytes[..], i64::from(source_date))
            .map_err(|e| bad(format!("signing the header: {e}")))?;
        signature = signature.add_openpgp_signature(packet);
    }
    metadata.signature = signature.build().map_err(bad)?;
    let mut write = || -> io::Result<()> {
        metadata.write(out).map_err(|e| match e {
            rpm::Error::Io(e) => e,
            e => io::Error::other(e.to_string()),
        })?;
        spool.copy_to(out)?;
        out.flush()
    };
    write().map_err(PackageError::Write)
}

fn u32_array(tags: &[(u32, rpm::IndexData)], t: rpm::IndexTag) -> Result<Vec<u32>, PackageError> {
    match tags.iter().find(|(n, _)| *n == t as u32) {
        Some((_, rpm::IndexData::Int32(v))) => Ok(v.clone()),
        Some(_) => Err(bad(format!("{t:?} is not an int32 array"))),
        None => Ok(Vec::new()),
    }
}

fn u16_array(tags: &[(u32, rpm::IndexData)], t: rpm::IndexTag) -> Result<Vec<u16>, PackageError> {
    match tags.iter().find(|(n, _)| *n == t as u32) {
        Some((_, rpm::IndexData::Int16(v))) => Ok(v.clone()),
        Some(_) => Err(bad(format!("{t:?} is not an int16 array"))),
        None => Ok(Vec::new()),
    }
}

/// Feeds the compressed payload to its SHA-256 on the way into the spool.
struct DigestSink<'a, W: Write> {
    out: &'a mut W,
    sha256: Sha256,
}

impl<W: Write> Write for DigestSink<'_, W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.out.write(buf)?;
        self.sha256.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Counts the uncompressed payload, for cpio's 4-byte alignment.
struct Cpio<'a> {
    enc: Box<dyn Encoder + 'a>,
    at: u64,
}

impl Cpio<'_> {
    fn raw(&mut self, b: &[u8]) -> io::Result<()> {
        self.enc.write_all(b)?;
        self.at += b.len() as u64;
        Ok(())
    }

    fn pad(&mut self) -> io::Result<()> {
        let n = (4 - self.at % 4) % 4;
        self.raw(&[0; 3][..usize::try_from(n).unwrap_or(0)])
    }

    /// A "new ASCII" (`070701`) header, as rpm writes them: no uid/gid (the header has the owners), one
    /// link, no devices.
    fn header(&mut self, name: &str, ino: u32, mode: u32, mtime: u32, size: u32) -> io::Result<()> {
        let h = format!(
            "070701{ino:08x}{mode:08x}{:08x}{:08x}{:08x}{mtime:08x}{size:08x}{:08x}{:08x}{:08x}{:08x}{:08x}{:08x}",
            0,
            0,
            1,
            0,
            0,
            0,
            0,
            name.len() + 1,
            0
        );
        self.raw(h.as_bytes())?;
        self.raw(name.as_bytes())?;
        self.raw(&[0])?;
        self.pad()
    }
}

/// Writes the cpio payload of `entries` (ghosts have no payload entry) compressed into `out`; returns
/// each entry's SHA-256 (empty for all but regular files), as `FILEDIGESTS` lists them.
fn write_payload(
    entries: &[(String, &wharf_core::FileEntry, u64)],
    (inodes, modes, mtimes): (&[u32], &[u16], &[u32]),
    compression: Compression,
    payloads: &Payloads,
    clamp: u64,
    out: &mut impl Write,
) -> Result<Vec<String>, PackageError> {
    let enc: Box<dyn Encoder + '_> = match compression {
        // rpm's own zstd default (`w19.zstdio`), not dpkg-deb's level 3.
        Compression::Zstd => {
            let mut e = zstd::stream::write::Encoder::new(out, 19).map_err(PackageError::Write)?;
            e.include_checksum(true).map_err(PackageError::Write)?;
            Box::new(e)
        }
        c => compress::payload_encoder(out, c, Some(payloads)).map_err(PackageError::Write)?,
    };
    let mut cpio = Cpio { enc, at: 0 };
    let mut digests = Vec::with_capacity(entries.len());
    for (i, (name, f, size)) in entries.iter().enumerate() {
        let (ino, mode, mtime) = (inodes[i], u32::from(modes[i]), mtimes[i]);
        let size32 = u32::try_from(*size).unwrap_or(u32::MAX);
        match &f.kind {
            FileKind::Ghost => digests.push(String::new()),
            FileKind::Dir => {
                cpio.header(name, ino, mode, mtime, 0)
                    .map_err(PackageError::Write)?;
                digests.push(String::new());
            }
            FileKind::Symlink { target } => {
                cpio.header(name, ino, mode, mtime, size32)
                    .and_then(|()| cpio.raw(target.as_bytes()))
                    .and_then(|()| cpio.pad())
                    .map_err(PackageError::Write)?;
                digests.push(String::new());
            }
            FileKind::File { content, .. } => {
                let fragment = match content {
                    Content::Path(p) if compression == Compression::Gzip => {
                        payloads.fragment(p, clamp)?.map(|f| (p, f))
                    }
                    _ => None,
                };
                let digest = if let Some((path, frag)) = fragment {
                    if frag.size != *size {
                        return Err(PackageError::Changed {
                            path: path.clone(),
                            expected: *size,
                        });
                    }
                    cpio.header(name, ino, mode, mtime, size32)
                        .and_then(|()| cpio.enc.splice(&frag))
                        .map_err(PackageError::Write)?;
                    cpio.at += frag.size;
                    hex::encode(frag.sha256)
                } else {
                    cpio.header(name, ino, mode, mtime, size32)
                        .map_err(PackageError::Write)?;
                    let (mut reader, _, _) = payload::open_content(content, clamp)?;
                    let mut sha = Sha256::new();
                    let mut buf = vec![0; 64 * 1024];
                    let mut left = *size;
                    while left > 0 {
                        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
                        let n = reader
                            .read(&mut buf[..want])
                            .map_err(|e| payload::content_error(content, e, *size))?;
                        if n == 0 {
                            return Err(payload::content_error(
                                content,
                                io::ErrorKind::UnexpectedEof.into(),
                                *size,
                            ));
                        }
                        sha.update(&buf[..n]);
                        cpio.raw(&buf[..n]).map_err(PackageError::Write)?;
                        left -= n as u64;
                    }
                    hex::encode(sha.finalize())
                };
                cpio.pad().map_err(PackageError::Write)?;
                digests.push(digest);
            }
        }
    }
    // The trailer entry ends the archive.
    cpio.header("TRAILER!!!", 0, 0, 0, 0)
        .map_err(PackageError::Write)?;
    cpio.enc.finish_box().map_err(PackageError::Write)?;
    Ok(digests)
}

/// Signs an unsigned (or re-signs a signed) .rpm read from `input`, writing the result to `out`. The
/// header is unchanged, so the package's identity and payload digests stay the same.
pub fn sign_rpm(
    input: &mut impl io::BufRead,
    key: &OpenPgpKey,
    date: SourceDate,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let mut pkg = rpm::Package::parse(input).map_err(bad)?;
    let t = u32::try_from(date.unix()).map_err(|_| bad("SOURCE_DATE_EPOCH out of range"))?;
    pkg.sign_with_timestamp(Signer(key), t).map_err(bad)?;
    pkg.write(out).map_err(|e| match e {
        rpm::Error::Io(e) => PackageError::Write(e),
        e => bad(e),
    })
}
