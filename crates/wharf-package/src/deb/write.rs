//! The .deb writer.

use std::io::{self, Write};

use wharf_core::deb822::{self, Paragraph};
use wharf_core::{Content, FileEntry, FileKind, InstallPath, PackageSpec, SourceDate};

use crate::compress::Compression;
use crate::splice::Payloads;
use crate::spool::Spool;
use crate::{PackageError, ar, payload};

/// How to write a .deb.
#[derive(Debug, Clone, Copy)]
pub struct DebOptions {
    /// Compression of both tar members.
    pub compression: Compression,
    /// Every timestamp in the archive; file mtimes are clamped to it.
    pub source_date: SourceDate,
}

/// The `control` paragraph for a spec, in dpkg-gencontrol's field order.
#[must_use]
pub fn control(spec: &PackageSpec, installed_kib: u64) -> Paragraph {
    let mut p = Paragraph::new();
    p.set("Package", spec.name.as_str());
    p.set("Version", spec.version.as_str());
    p.set("Architecture", spec.arch.deb());
    p.set("Maintainer", spec.meta.maintainer.trim());
    p.set("Installed-Size", installed_kib.max(1).to_string());
    for (field, clauses) in spec.meta.relations_for(wharf_core::Family::Deb).deb_fields() {
        if !clauses.is_empty() {
            p.set(field, clauses.join(", "));
        }
    }
    p.set_nonempty("Section", spec.meta.section.as_deref().unwrap_or(""));
    p.set_nonempty("Priority", spec.meta.priority.as_deref().unwrap_or(""));
    p.set_nonempty("Homepage", spec.meta.homepage.as_deref().unwrap_or(""));
    p.set(
        "Description",
        deb822::description(&spec.meta.summary, &spec.meta.description),
    );
    p
}

/// The Debian changelog of `spec`'s changelog entries (deb-changelog(5)): one stanza per entry, newest
/// first, as `dpkg-parsechangelog` reads it.
#[must_use]
pub fn debian_changelog(spec: &PackageSpec) -> String {
    let mut text = String::new();
    for e in &spec.meta.changelog {
        text.push_str(&format!(
            "{} ({}) unstable; urgency=medium\n\n",
            spec.name, e.version
        ));
        for change in &e.changes {
            // A change's continuation lines are indented under its bullet.
            let mut lines = change.lines();
            text.push_str(&format!("  * {}\n", lines.next().unwrap_or_default()));
            for l in lines {
                text.push_str(&format!("    {l}\n"));
            }
        }
        let when = SourceDate::from_unix(e.time).map_or_else(|_| String::new(), SourceDate::rfc5322);
        text.push_str(&format!("\n -- {}  {when}\n\n", e.author.trim()));
    }
    text
}

/// Writes `spec` as a .deb into `out`. Deterministic: the same spec, inputs and options give the same bytes.
/// With changelog entries, the package carries `/usr/share/doc/<name>/changelog.Debian.gz` — or
/// `changelog.gz` for a native package, one whose version has no Debian revision (Debian policy §12.7,
/// lintian's `wrong-name-for-changelog-of-native-package`) — unless it ships one itself.
/// Large files come compressed from `payloads`, shared with the run's other packages (see
/// [`crate::splice`]).
pub fn write_deb(
    spec: &PackageSpec,
    opts: DebOptions,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let with_changelog;
    let file = if spec.version.deb().revision.is_empty() {
        "changelog.gz"
    } else {
        "changelog.Debian.gz"
    };
    let spec = match InstallPath::parse(&format!("/usr/share/doc/{}/{file}", spec.name)) {
        Ok(path) if !spec.meta.changelog.is_empty() && !spec.files.iter().any(|f| f.path == path) => {
            let gz = crate::compress::compress(
                debian_changelog(spec).as_bytes(),
                Compression::Gzip,
                crate::compress::Profile::Payload,
            )
            .map_err(PackageError::Write)?;
            let mut s = spec.clone();
            s.files.push(FileEntry {
                path,
                kind: FileKind::File {
                    content: Content::Bytes(gz),
                    config: false,
                },
                mode: 0o644,
                owner: None,
            });
            with_changelog = s;
            &with_changelog
        }
        _ => spec,
    };
    let nodes = payload::plan(spec)?;
    let mut data = Spool::new();
    let summary = payload::write_data(
        &nodes,
        payload::Layout::Dpkg,
        opts.compression,
        opts.source_date,
        payloads,
        &mut data,
    )?;

    let mtime = u64::try_from(opts.source_date.unix()).unwrap_or(0);
    let control = control(spec, summary.installed_kib);
    control.check().map_err(|e| PackageError::Invalid {
        format: ".deb",
        why: e.to_string(),
    })?;
    let control_text = control.to_string();
    let mut members: Vec<(&str, u32, &[u8])> = vec![("./control", 0o644, control_text.as_bytes())];
    if !summary.conffiles.is_empty() {
        members.push(("./conffiles", 0o644, summary.conffiles.as_bytes()));
    }
    if !summary.md5sums.is_empty() {
        members.push(("./md5sums", 0o644, summary.md5sums.as_bytes()));
    }
    members.extend(payload::scripts(spec));
    let control_tar = payload::control_tar(members, opts.compression, mtime)?;

    let ext = opts.compression.extension();
    let mut write = || -> io::Result<()> {
        ar::write_magic(out)?;
        ar::write_member(out, "debian-binary", mtime, b"2.0\n")?;
        ar::write_member(out, &format!("control.tar{ext}"), mtime, &control_tar)?;
        let len = data.len();
        ar::write_member_from(out, &format!("data.tar{ext}"), mtime, len, &mut data.reader()?)?;
        out.flush()
    };
    write().map_err(PackageError::Write)
}
