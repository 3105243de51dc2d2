//! The .rpm writer.

use std::fmt;
use std::io::{self, Write};

use wharf_core::rpmver::Evr;
use wharf_core::{Content, Family, FileKind, PackageSpec, ScriptKind, SourceDate};
use wharf_sign::OpenPgpKey;

use crate::PackageError;
use crate::compress::Compression;

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

/// Writes `spec` as a v4 .rpm into `out`. Deterministic for the same spec, inputs and options (Ed25519 and
/// RSA signatures are deterministic too).
pub fn write_rpm(spec: &PackageSpec, opts: RpmOptions<'_>, out: &mut impl Write) -> Result<(), PackageError> {
    let evr = Evr::from_version(&spec.version);
    let meta = &spec.meta;
    let license = meta.license.as_deref().unwrap_or("LicenseRef-Unspecified");
    let source_date =
        u32::try_from(opts.source_date.unix()).map_err(|_| bad("SOURCE_DATE_EPOCH out of range"))?;
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
    for f in &spec.files {
        let dst = f.path.as_str();
        let res = match &f.kind {
            FileKind::File { content, config } => {
                let mut o = own(
                    rpm::FileOptions::new(dst).permissions(mode(f.mode)),
                    f.owner.as_ref(),
                );
                if *config {
                    o = o.config().noreplace();
                }
                if dst.starts_with("/usr/share/doc/") {
                    o = o.doc();
                }
                match content {
                    Content::Path(p) => {
                        if !p.is_file() {
                            return Err(PackageError::Input {
                                path: p.clone(),
                                source: io::Error::other("not a regular file"),
                            });
                        }
                        b.with_file(p, o)
                    }
                    Content::Bytes(bytes) => b.with_file_contents(bytes.clone(), o),
                }
            }
            FileKind::Dir => b.with_dir_entry(own(
                rpm::FileOptions::dir(dst).permissions(mode(f.mode)),
                f.owner.as_ref(),
            )),
            FileKind::Symlink { target } => b.with_symlink(own(
                rpm::FileOptions::symlink(dst, target.clone()),
                f.owner.as_ref(),
            )),
            FileKind::Ghost => b.with_ghost(own(
                rpm::FileOptions::ghost(dst).permissions(mode(f.mode)),
                f.owner.as_ref(),
            )),
        };
        res.map_err(|e| match (&f.kind, e) {
            (
                FileKind::File {
                    content: Content::Path(p),
                    ..
                },
                rpm::Error::Io(source),
            ) => PackageError::Input {
                path: p.clone(),
                source,
            },
            (_, e) => bad(format!("{dst}: {e}")),
        })?;
    }
    for (kind, body) in &spec.scripts {
        let text = String::from_utf8(body.clone())
            .map_err(|_| bad(format!("the {} script is not UTF-8 text", kind.deb_name())))?;
        match kind {
            ScriptKind::PreInst => b.pre_install_script(text),
            ScriptKind::PostInst => b.post_install_script(text),
            ScriptKind::PreRm => b.pre_uninstall_script(text),
            ScriptKind::PostRm => b.post_uninstall_script(text),
        };
    }
    let pkg = match opts.key {
        Some(key) => b.build_and_sign(Signer(key)),
        None => b.build(),
    }
    .map_err(bad)?;
    pkg.write(out).map_err(|e| match e {
        rpm::Error::Io(e) => PackageError::Write(e),
        e => bad(e),
    })
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
