//! The .deb writer.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};

use md5::{Digest, Md5};
use wharf_core::deb822::{self, Paragraph};
use wharf_core::{Content, FileKind, Owner, PackageSpec, ScriptKind, SourceDate};

use crate::compress::{self, Compression, Profile};
use crate::tar::TarWriter;
use crate::{PackageError, ar};

/// How to write a .deb.
#[derive(Debug, Clone, Copy)]
pub struct DebOptions {
    /// Compression of both tar members.
    pub compression: Compression,
    /// Every timestamp in the archive; file mtimes are clamped to it.
    pub source_date: SourceDate,
}

/// One payload entry after parent directories are filled in, in archive order.
enum Node<'a> {
    Dir,
    File { content: &'a Content, config: bool },
    Symlink { target: &'a str },
}

/// A node with its permission bits and owner.
struct Planned<'a> {
    node: Node<'a>,
    mode: u32,
    owner: Option<&'a Owner>,
}

fn plan(spec: &PackageSpec) -> Result<BTreeMap<String, Planned<'_>>, PackageError> {
    let mut nodes: BTreeMap<String, Planned<'_>> = BTreeMap::new();
    for entry in &spec.files {
        let rel = entry.path.relative();
        let (key, node) = match &entry.kind {
            // dpkg has no ghost files: the package does not ship them.
            FileKind::Ghost => continue,
            FileKind::Dir => (format!("./{rel}/"), Node::Dir),
            FileKind::File { content, config } => (
                format!("./{rel}"),
                Node::File {
                    content,
                    config: *config,
                },
            ),
            FileKind::Symlink { target } => (format!("./{rel}"), Node::Symlink { target }),
        };
        for dir in entry.path.ancestors() {
            nodes.entry(format!("./{}/", dir.relative())).or_insert(Planned {
                node: Node::Dir,
                mode: 0o755,
                owner: None,
            });
        }
        let planned = Planned {
            node,
            mode: entry.mode,
            owner: entry.owner.as_ref(),
        };
        match nodes.get(&key) {
            // An explicit directory entry refines an implied one (its mode and owner win).
            Some(Planned { node: Node::Dir, .. }) if matches!(planned.node, Node::Dir) => {
                nodes.insert(key, planned);
            }
            Some(_) => return Err(PackageError::Duplicate(entry.path.to_string())),
            None => {
                // A file whose path is also some other entry's parent directory.
                if !key.ends_with('/') && nodes.contains_key(&format!("{key}/")) {
                    return Err(PackageError::Duplicate(entry.path.to_string()));
                }
                nodes.insert(key, planned);
            }
        }
    }
    Ok(nodes)
}

/// What writing the data member learned about the payload.
struct DataSummary {
    md5sums: String,
    conffiles: String,
    installed_kib: u64,
}

fn open_content(content: &Content, clamp: u64) -> Result<(Box<dyn Read + '_>, u64, u64), PackageError> {
    match content {
        Content::Bytes(b) => Ok((Box::new(&b[..]), b.len() as u64, clamp)),
        Content::Path(p) => {
            let err = |source| PackageError::Input {
                path: p.clone(),
                source,
            };
            let f = File::open(p).map_err(err)?;
            let meta = f.metadata().map_err(err)?;
            if !meta.is_file() {
                return Err(err(io::Error::other("not a regular file")));
            }
            let mtime = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(clamp, |d| d.as_secs().min(clamp));
            Ok((Box::new(f), meta.len(), mtime))
        }
    }
}

fn write_data(
    nodes: &BTreeMap<String, Planned<'_>>,
    opts: DebOptions,
    out: &mut Vec<u8>,
) -> Result<DataSummary, PackageError> {
    let clamp = u64::try_from(opts.source_date.unix()).unwrap_or(0);
    let enc = compress::encoder(out, opts.compression, Profile::Payload).map_err(PackageError::Write)?;
    let mut tar = TarWriter::new(enc);
    let mut md5sums = String::new();
    let mut conffiles = String::new();
    let mut installed_kib = 0u64;
    tar.dir("./", 0o755, clamp).map_err(PackageError::Write)?;
    for (name, Planned { node, mode, owner }) in nodes {
        match owner {
            Some(o) => tar.set_owner(&o.user, &o.group),
            None => tar.set_owner("root", "root"),
        }
        match node {
            Node::Dir => {
                tar.dir(name, *mode, clamp).map_err(PackageError::Write)?;
                installed_kib += 1;
            }
            Node::Symlink { target } => {
                tar.symlink(name, target, clamp).map_err(PackageError::Write)?;
                installed_kib += 1;
            }
            Node::File { content, config } => {
                let (mut reader, size, mtime) = open_content(content, clamp)?;
                let mut hashing = HashingReader {
                    inner: &mut reader,
                    md5: Md5::new(),
                };
                tar.file(name, *mode, mtime, size, &mut hashing)
                    .map_err(|e| match content {
                        Content::Path(p) if e.kind() == io::ErrorKind::UnexpectedEof => {
                            PackageError::Changed {
                                path: p.clone(),
                                expected: size,
                            }
                        }
                        Content::Path(p) => PackageError::Input {
                            path: p.clone(),
                            source: e,
                        },
                        Content::Bytes(_) => PackageError::Write(e),
                    })?;
                let rel = &name[2..];
                md5sums.push_str(&format!("{}  {rel}\n", hex::encode(hashing.md5.finalize())));
                if *config {
                    conffiles.push_str(&format!("/{rel}\n"));
                }
                installed_kib += size.div_ceil(1024);
            }
        }
    }
    let enc = tar.finish().map_err(PackageError::Write)?;
    enc.finish_box().map_err(PackageError::Write)?;
    Ok(DataSummary {
        md5sums,
        conffiles,
        installed_kib,
    })
}

struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    md5: Md5,
}
impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        Ok(n)
    }
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

/// Writes `spec` as a .deb into `out`. Deterministic: the same spec, inputs and options give the same bytes.
pub fn write_deb(spec: &PackageSpec, opts: DebOptions, out: &mut impl Write) -> Result<(), PackageError> {
    let nodes = plan(spec)?;
    let mut data = Vec::new();
    let summary = write_data(&nodes, opts, &mut data)?;

    let mtime = u64::try_from(opts.source_date.unix()).unwrap_or(0);
    let control_text = control(spec, summary.installed_kib).to_string();
    let mut control_tar = Vec::new();
    {
        let enc = compress::encoder(&mut control_tar, opts.compression, Profile::Payload)
            .map_err(PackageError::Write)?;
        let mut tar = TarWriter::new(enc);
        let w = |r: io::Result<u64>| r.map(drop).map_err(PackageError::Write);
        tar.dir("./", 0o755, mtime).map_err(PackageError::Write)?;
        let mut members: Vec<(&str, u32, &[u8])> = vec![("./control", 0o644, control_text.as_bytes())];
        if !summary.conffiles.is_empty() {
            members.push(("./conffiles", 0o644, summary.conffiles.as_bytes()));
        }
        if !summary.md5sums.is_empty() {
            members.push(("./md5sums", 0o644, summary.md5sums.as_bytes()));
        }
        for kind in ScriptKind::ALL {
            if let Some(body) = spec.scripts.get(&kind) {
                members.push((script_member(kind), 0o755, body));
            }
        }
        members.sort_by(|a, b| a.0.cmp(b.0));
        for (name, mode, body) in members {
            w(tar.file(name, mode, mtime, body.len() as u64, &mut &body[..]))?;
        }
        let enc = tar.finish().map_err(PackageError::Write)?;
        enc.finish_box().map_err(PackageError::Write)?;
    }

    let ext = opts.compression.extension();
    let mut write = || -> io::Result<()> {
        ar::write_magic(out)?;
        ar::write_member(out, "debian-binary", mtime, b"2.0\n")?;
        ar::write_member(out, &format!("control.tar{ext}"), mtime, &control_tar)?;
        ar::write_member(out, &format!("data.tar{ext}"), mtime, &data)?;
        out.flush()
    };
    write().map_err(PackageError::Write)
}

fn script_member(kind: ScriptKind) -> &'static str {
    match kind {
        ScriptKind::PreInst => "./preinst",
        ScriptKind::PostInst => "./postinst",
        ScriptKind::PreRm => "./prerm",
        ScriptKind::PostRm => "./postrm",
    }
}
