//! The payload tarball packages carry: explicit parent directories, owners, clamped mtimes; plus the control
//! tarball of small members. Shared so .deb and .ipk lay files out exactly as dpkg-deb and OpenWrt's
//! ipkg-build do (`./`-prefixed names), and apk v2 as abuild does (bare names, a pax
//! `APK-TOOLS.checksum.SHA1` record before every file and symlink, as `abuild-tar --hash` adds them).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, Read, Write};

use md5::{Digest, Md5};
use sha1::Sha1;
use wharf_core::{Content, FileKind, Owner, PackageSpec, ScriptKind, SourceDate};

use crate::PackageError;
use crate::compress::{self, Compression, Profile};
use crate::splice::Payloads;
use crate::tar::TarWriter;

/// One payload entry after parent directories are filled in, in archive order.
pub(crate) enum Node<'a> {
    Dir,
    File { content: &'a Content, config: bool },
    Symlink { target: &'a str },
}

/// A node with its permission bits and owner.
pub(crate) struct Planned<'a> {
    pub(crate) node: Node<'a>,
    pub(crate) mode: u32,
    pub(crate) owner: Option<&'a Owner>,
}

pub(crate) fn plan(spec: &PackageSpec) -> Result<BTreeMap<String, Planned<'_>>, PackageError> {
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

/// How the data tarball names and annotates its entries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Layout<'a> {
    /// dpkg-deb and ipkg-build: a `./` root entry and `./`-prefixed names.
    Dpkg,
    /// abuild: bare names (`usr/bin/x`), no root entry, and a pax `APK-TOOLS.checksum.SHA1` record (sha1
    /// of the content, or of the link target) before every file and symlink.
    Apk,
    /// A release archive: everything under one top directory (`hello-1.0-amd64/usr/bin/hello`), or with
    /// bare names (`usr/bin/hello`) for an empty one.
    Archive(&'a str),
}

/// What writing the data member learned about the payload.
pub(crate) struct DataSummary {
    /// dpkg's `md5sums`.
    pub(crate) md5sums: String,
    /// dpkg's `conffiles`.
    pub(crate) conffiles: String,
    /// dpkg's `Installed-Size` (KiB, one per inode plus file sizes rounded up).
    pub(crate) installed_kib: u64,
    /// The uncompressed data tarball's size (ipkg-build's `Installed-Size`).
    pub(crate) tar_size: u64,
    /// The sum of the regular files' sizes (apk's `size`).
    pub(crate) file_bytes: u64,
}

pub(crate) fn open_content(
    content: &Content,
    clamp: u64,
) -> Result<(Box<dyn Read + '_>, u64, u64), PackageError> {
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

/// Counts the bytes written through it (the uncompressed size of a tarball).
struct Counting<W: Write> {
    inner: W,
    count: u64,
}
impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The error for a failed read of `content` while writing it.
pub(crate) fn content_error(content: &Content, e: io::Error, size: u64) -> PackageError {
    match content {
        Content::Path(p) if e.kind() == io::ErrorKind::UnexpectedEof => PackageError::Changed {
            path: p.clone(),
            expected: size,
        },
        Content::Path(p) => PackageError::Input {
            path: p.clone(),
            source: e,
        },
        Content::Bytes(_) => PackageError::Write(e),
    }
}

/// SHA-1 of a file's content, read once before it is written (the pax record precedes the data).
fn sha1_of(content: &Content, clamp: u64) -> Result<(String, u64), PackageError> {
    let (mut reader, size, _) = open_content(content, clamp)?;
    let mut hasher = Sha1::new();
    let copied = io::copy(&mut (&mut reader).take(size), &mut HashWriter(&mut hasher))
        .map_err(|e| content_error(content, e, size))?;
    if copied != size {
        return Err(content_error(content, io::ErrorKind::UnexpectedEof.into(), size));
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A writer that feeds a digest.
pub(crate) struct HashWriter<'a, D: Digest>(pub(crate) &'a mut D);
impl<D: Digest> Write for HashWriter<'_, D> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Writes the data tarball of `nodes`, compressed, into `out`.
/// Large files are spliced in from `payloads` when the compression is gzip (see [`crate::splice`]).
pub(crate) fn write_data(
    nodes: &BTreeMap<String, Planned<'_>>,
    layout: Layout<'_>,
    compression: Compression,
    source_date: SourceDate,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<DataSummary, PackageError> {
    let clamp = u64::try_from(source_date.unix()).unwrap_or(0);
    let enc = compress::payload_encoder(out, compression, Some(payloads)).map_err(PackageError::Write)?;
    let mut tar = TarWriter::new(Counting { inner: enc, count: 0 });
    let mut md5sums = String::new();
    let mut conffiles = String::new();
    let mut installed_kib = 0u64;
    let mut file_bytes = 0u64;
    match layout {
        Layout::Dpkg => tar.dir("./", 0o755, clamp).map_err(PackageError::Write)?,
        Layout::Archive(top) if !top.is_empty() => tar
            .dir(&format!("{top}/"), 0o755, clamp)
            .map_err(PackageError::Write)?,
        Layout::Archive(_) | Layout::Apk => {}
    }
    for (key, Planned { node, mode, owner }) in nodes {
        let name = match layout {
            Layout::Dpkg => std::borrow::Cow::Borrowed(key.as_str()),
            Layout::Apk => std::borrow::Cow::Borrowed(&key[2..]),
            Layout::Archive("") => std::borrow::Cow::Borrowed(&key[2..]),
            Layout::Archive(top) => std::borrow::Cow::Owned(format!("{top}/{}", &key[2..])),
        };
        let name = name.as_ref();
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
                if layout == Layout::Apk {
                    let sha1 = hex::encode(Sha1::digest(target.as_bytes()));
                    tar.pax(&[(APK_SHA1, &sha1)], clamp)
                        .map_err(PackageError::Write)?;
                }
                tar.symlink(name, target, clamp).map_err(PackageError::Write)?;
                installed_kib += 1;
            }
            Node::File { content, config } => {
                let fragment = match content {
                    Content::Path(p) if compression == Compression::Gzip => payloads.fragment(p, clamp)?,
                    _ => None,
                };
                if let Some(f) = fragment {
                    if layout == Layout::Apk {
                        tar.pax(&[(APK_SHA1, &hex::encode(f.sha1))], clamp)
                            .map_err(PackageError::Write)?;
                    }
                    tar.file_with(name, *mode, f.mtime, f.size, |w| {
                        w.inner.splice(&f)?;
                        w.count += f.size;
                        Ok(())
                    })
                    .map_err(PackageError::Write)?;
                    file_bytes += f.size;
                    let rel = &key[2..];
                    md5sums.push_str(&format!("{}  {rel}\n", hex::encode(f.md5)));
                    if *config {
                        conffiles.push_str(&format!("/{rel}\n"));
                    }
                    installed_kib += f.size.div_ceil(1024);
                    continue;
                }
                let expected_sha1 = match layout {
                    Layout::Apk => {
                        let (sha1, _) = sha1_of(content, clamp)?;
                        tar.pax(&[(APK_SHA1, &sha1)], clamp)
                            .map_err(PackageError::Write)?;
                        Some(sha1)
                    }
                    Layout::Dpkg | Layout::Archive(_) => None,
                };
                let (mut reader, size, mtime) = open_content(content, clamp)?;
                let mut hashing = HashingReader {
                    inner: &mut reader,
                    md5: Md5::new(),
                    sha1: expected_sha1.as_ref().map(|_| Sha1::new()),
                };
                tar.file(name, *mode, mtime, size, &mut hashing)
                    .map_err(|e| content_error(content, e, size))?;
                if let (Some(want), Some(got)) = (&expected_sha1, hashing.sha1.take()) {
                    // The file changed between the checksum pass and the copy.
                    if *want != hex::encode(got.finalize()) {
                        return Err(content_error(content, io::ErrorKind::UnexpectedEof.into(), size));
                    }
                }
                file_bytes += size;
                let rel = &key[2..];
                md5sums.push_str(&format!("{}  {rel}\n", hex::encode(hashing.md5.finalize())));
                if *config {
                    conffiles.push_str(&format!("/{rel}\n"));
                }
                installed_kib += size.div_ceil(1024);
            }
        }
    }
    let counted = tar.finish().map_err(PackageError::Write)?;
    let tar_size = counted.count;
    counted.inner.finish_box().map_err(PackageError::Write)?;
    Ok(DataSummary {
        md5sums,
        conffiles,
        installed_kib,
        tar_size,
        file_bytes,
    })
}

/// The pax key abuild-tar writes.
const APK_SHA1: &str = "APK-TOOLS.checksum.SHA1";

struct HashingReader<'a> {
    inner: &'a mut dyn Read,
    md5: Md5,
    sha1: Option<Sha1>,
}
impl Read for HashingReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.md5.update(&buf[..n]);
        if let Some(s) = &mut self.sha1 {
            s.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The maintainer scripts as control members (`./postinst`, …), executable.
pub(crate) fn scripts(spec: &PackageSpec) -> Vec<(&'static str, u32, &[u8])> {
    ScriptKind::ALL
        .into_iter()
        .filter_map(|kind| {
            let name = match kind {
                ScriptKind::PreInst => "./preinst",
                ScriptKind::PostInst => "./postinst",
                ScriptKind::PreRm => "./prerm",
                ScriptKind::PostRm => "./postrm",
            };
            spec.scripts.get(&kind).map(|body| (name, 0o755, body.as_slice()))
        })
        .collect()
}

/// A control tarball: `./` and the given members, sorted by name, every mtime `mtime`, compressed.
pub(crate) fn control_tar(
    mut members: Vec<(&str, u32, &[u8])>,
    compression: Compression,
    mtime: u64,
) -> Result<Vec<u8>, PackageError> {
    let mut out = Vec::new();
    let enc = compress::encoder(&mut out, compression, Profile::Payload).map_err(PackageError::Write)?;
    let mut tar = TarWriter::new(enc);
    tar.dir("./", 0o755, mtime).map_err(PackageError::Write)?;
    members.sort_by(|a, b| a.0.cmp(b.0));
    for (name, mode, body) in members {
        tar.file(name, mode, mtime, body.len() as u64, &mut &body[..])
            .map_err(PackageError::Write)?;
    }
    tar.finish()
        .map_err(PackageError::Write)?
        .finish_box()
        .map_err(PackageError::Write)?;
    Ok(out)
}
