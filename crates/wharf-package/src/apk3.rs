//! apk v3 packages (apk-tools 3, OpenWrt ≥ 25.12): writer and reader.
//!
//! Follows apk-tools `src/app_mkpkg.c` and the `pckg` schema in `src/apk_adb.c` (formats.md §7), inside the
//! container of [`crate::adb`]: one ADB block holding {1 info, 2 paths, 3 scripts}, an optional SIG block,
//! then one DATA block per non-empty regular file (`{u32 path_idx, u32 file_idx}` + the bytes, indexes
//! 1-based into the sorted `paths` and `files` arrays). Paths are directories (`""` is the root) sorted by
//! name, each with its ACL and its files sorted by name; a file has {name, acl, size, mtime, sha256}; a
//! symlink has `target` = le16(S_IFLNK) + the target. `info.unique-id` is the first 20 bytes of sha256 of
//! the ADB payload with those bytes zeroed, patched in afterwards. The whole file is `ADBd` + raw deflate,
//! as `apk mkpkg` writes by default. OpenWrt signs only the index; `key` signs the package too.

use std::collections::BTreeMap;
use std::io::{self, Read, Write};

use sha2::{Digest, Sha256, Sha512};
use wharf_core::digest::{Checksums, Hasher, HashingReader};
use wharf_core::{PackageSpec, ScriptKind, SourceDate, apkver};
use wharf_sign::ApkEcKey;

use crate::PackageError;
use crate::adb::{self, Heap, NULL, Val, Value};
use crate::apk::ApkMeta;
use crate::payload::{self, Node, open_content};

const FORMAT: &str = ".apk (v3)";

fn bad(why: impl std::fmt::Display) -> PackageError {
    PackageError::invalid(FORMAT, why.to_string())
}

/// One dependency (`name`, `name>=1.0`, `!name`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
pub struct Dep {
    /// Package (or virtual) name.
    pub name: String,
    /// Version, when constrained.
    pub version: String,
    /// apk's match mask (1 =, 2 <, 4 >, 8 ~, 16 conflict); 7 (any) when unconstrained.
    pub mask: u64,
}

impl Dep {
    /// Parses apk's dependency syntax.
    pub fn parse(s: &str) -> Result<Self, PackageError> {
        let (conflict, s) = match s.strip_prefix('!') {
            Some(rest) => (16, rest),
            None => (0, s),
        };
        let split = s.find(['<', '>', '=', '~']).unwrap_or(s.len());
        let (name, rest) = s.split_at(split);
        let op_len = rest.find(|c: char| !"<>=~".contains(c)).unwrap_or(rest.len());
        let (op, version) = rest.split_at(op_len);
        let mut mask = 0;
        for c in op.chars() {
            mask |= match c {
                '<' => 2,
                '>' => 4,
                '~' => 9,
                _ => 1,
            };
        }
        if op.is_empty() {
            mask = 7;
        } else if !apkver::validate(version) {
            return Err(bad(format!(
                "dependency `{s}`: `{version}` is not an apk version"
            )));
        }
        if name.is_empty() {
            return Err(bad(format!("dependency `{s}` has no name")));
        }
        Ok(Self {
            name: name.to_owned(),
            version: version.to_owned(),
            mask: mask | conflict,
        })
    }

    fn encode(&self, h: &mut Heap) -> Val {
        let name = h.blob(self.name.as_bytes());
        if self.mask & 7 == 7 && self.version.is_empty() {
            return h.object(&[name]);
        }
        let version = h.blob(self.version.as_bytes());
        let mask = if self.mask == 1 { NULL } else { h.int(self.mask) };
        h.object(&[name, version, mask])
    }

    fn decode(v: &Value) -> Self {
        let version = v.field(2).text();
        let mask = match v.field(3) {
            Value::Int(m) => *m,
            _ if version.is_empty() => 7,
            _ => 1,
        };
        Self {
            name: v.field(1).text(),
            version,
            mask,
        }
    }
}

/// The package information (`info`), as the package and the index carry it.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Info {
    /// Name.
    pub name: String,
    /// apk version.
    pub version: String,
    /// Unique id, hex (in an index: sha256 of the package's ADB payload).
    pub unique_id: String,
    /// Description.
    pub description: String,
    /// Architecture.
    pub arch: String,
    /// Licence.
    pub license: String,
    /// Origin.
    pub origin: String,
    /// Maintainer.
    pub maintainer: String,
    /// URL.
    pub url: String,
    /// Build time.
    pub build_time: u64,
    /// Installed size (bytes).
    pub installed_size: u64,
    /// Package file size (index only).
    pub file_size: u64,
    /// Provider priority.
    pub priority: u64,
    /// Dependencies.
    pub depends: Vec<Dep>,
    /// Provides.
    pub provides: Vec<Dep>,
    /// Replaces.
    pub replaces: Vec<Dep>,
    /// Install-if.
    pub install_if: Vec<Dep>,
    /// Recommends.
    pub recommends: Vec<Dep>,
}

impl Info {
    /// Encodes the `info` object into `h`; returns it and the unique-id blob's value.
    pub fn encode(&self, h: &mut Heap) -> Result<(Val, Val), PackageError> {
        let text = |h: &mut Heap, s: &str| h.blob(s.as_bytes());
        let int = |h: &mut Heap, v: u64| if v == 0 { NULL } else { h.int(v) };
        let deps = |h: &mut Heap, d: &[Dep]| {
            let mut d = d.to_vec();
            d.sort();
            d.dedup();
            let items: Vec<Val> = d.iter().map(|x| x.encode(h)).collect();
            h.array(&items)
        };
        let uid = hex::decode(&self.unique_id).map_err(|_| bad("unique id is not hex"))?;
        let fields = [
            text(h, &self.name),
            text(h, &self.version),
            h.blob(&uid),
            text(h, &self.description),
            text(h, &self.arch),
            text(h, &self.license),
            text(h, &self.origin),
            text(h, &self.maintainer),
            text(h, &self.url),
            NULL,
            int(h, self.build_time),
            int(h, self.installed_size),
            int(h, self.file_size),
            int(h, self.priority),
            deps(h, &self.depends),
            deps(h, &self.provides),
            deps(h, &self.replaces),
            deps(h, &self.install_if),
            deps(h, &self.recommends),
        ];
        let uid_val = fields[2];
        Ok((h.object(&fields), uid_val))
    }

    /// Decodes an `info` object.
    #[must_use]
    pub fn decode(v: &Value) -> Self {
        let deps = |n| v.field(n).items().iter().map(Dep::decode).collect();
        Self {
            name: v.field(1).text(),
            version: v.field(2).text(),
            unique_id: hex::encode(v.field(3).bytes()),
            description: v.field(4).text(),
            arch: v.field(5).text(),
            license: v.field(6).text(),
            origin: v.field(7).text(),
            maintainer: v.field(8).text(),
            url: v.field(9).text(),
            build_time: v.field(11).int(),
            installed_size: v.field(12).int(),
            file_size: v.field(13).int(),
            priority: v.field(14).int(),
            depends: deps(15),
            provides: deps(16),
            replaces: deps(17),
            install_if: deps(18),
            recommends: deps(19),
        }
    }
}

/// How to write an apk v3 package.
#[derive(Debug, Clone, Copy)]
pub struct Apk3Options<'a> {
    /// The one clock value.
    pub source_date: SourceDate,
    /// Signs the package itself (OpenWrt signs only the index; pass `None` to do the same).
    pub key: Option<&'a ApkEcKey>,
}

struct FileRec<'a> {
    name: String,
    mode: u32,
    owner: (String, String),
    kind: FileKind<'a>,
}

enum FileKind<'a> {
    Regular {
        content: &'a wharf_core::Content,
        size: u64,
        mtime: u64,
        sha256: [u8; 32],
    },
    Symlink(&'a str),
}

struct DirRec<'a> {
    mode: u32,
    owner: (String, String),
    files: Vec<FileRec<'a>>,
}

fn owner_of(o: Option<&wharf_core::Owner>) -> (String, String) {
    o.map_or_else(
        || ("root".into(), "root".into()),
        |o| (o.user.clone(), o.group.clone()),
    )
}

fn acl(h: &mut Heap, mode: u32, owner: &(String, String)) -> Val {
    let m = h.int(u64::from(mode & 0o7777));
    let (u, g) = (h.blob(owner.0.as_bytes()), h.blob(owner.1.as_bytes()));
    h.object(&[m, u, g])
}

/// The info of `spec` as an apk v3 package for `arch` (unique id zeroed).
fn info_of(spec: &PackageSpec, arch: &str, date: SourceDate, installed: u64) -> Result<Info, PackageError> {
    let m = ApkMeta::of(spec, arch, date)?;
    let mut info = Info {
        name: m.name.clone(),
        version: m.version,
        unique_id: "00".repeat(20),
        description: m.description,
        arch: m.arch,
        license: m.license,
        origin: m.name,
        maintainer: m.maintainer,
        url: m.url,
        build_time: m.build_time,
        installed_size: installed.max(1),
        ..Info::default()
    };
    for (k, v) in m.relations {
        let list = match k {
            "depend" => &mut info.depends,
            "provides" => &mut info.provides,
            _ => &mut info.replaces,
        };
        list.push(Dep::parse(&v)?);
    }
    Ok(info)
}

/// Writes `spec` as an apk v3 package for `arch` (`noarch` for architecture-independent packages).
pub fn write_apk3(
    spec: &PackageSpec,
    arch: &str,
    opts: Apk3Options<'_>,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let clamp = u64::try_from(opts.source_date.unix()).unwrap_or(0);
    let nodes = payload::plan(spec)?;
    let mut dirs: BTreeMap<String, DirRec<'_>> = BTreeMap::new();
    dirs.insert(
        String::new(),
        DirRec {
            mode: 0o755,
            owner: owner_of(None),
            files: Vec::new(),
        },
    );
    let mut installed = 0u64;
    for (key, p) in &nodes {
        let path = &key[2..];
        if let Some(dir) = path.strip_suffix('/') {
            let d = dirs.entry(dir.to_owned()).or_insert_with(|| DirRec {
                mode: 0,
                owner: owner_of(None),
                files: Vec::new(),
            });
            d.mode = p.mode;
            d.owner = owner_of(p.owner);
            continue;
        }
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let kind = match &p.node {
            Node::Symlink { target } => FileKind::Symlink(target),
            Node::File { content, .. } => {
                let (mut r, size, mtime) = open_content(content, clamp)?;
                let mut sha = Sha256::new();
                let n = io::copy(&mut (&mut r).take(size), &mut HashSink(&mut sha))
                    .map_err(PackageError::Write)?;
                if n != size {
                    return Err(changed(content, size));
                }
                installed += size;
                FileKind::Regular {
                    content,
                    size,
                    mtime,
                    sha256: sha.finalize().into(),
                }
            }
            Node::Dir => continue,
        };
        dirs.entry(parent.to_owned())
            .or_insert_with(|| DirRec {
                mode: 0o755,
                owner: owner_of(None),
                files: Vec::new(),
            })
            .files
            .push(FileRec {
                name: name.to_owned(),
                mode: p.mode,
                owner: owner_of(p.owner),
                kind,
            });
    }

    let mut h = Heap::new();
    let info = info_of(spec, arch, opts.source_date, installed)?;
    let (info_val, uid_val) = info.encode(&mut h)?;
    let mut paths = Vec::new();
    for (name, d) in &mut dirs {
        d.files.sort_by(|a, b| a.name.cmp(&b.name));
        let mut files = Vec::new();
        for f in &d.files {
            let n = h.blob(f.name.as_bytes());
            let a = acl(&mut h, f.mode, &f.owner);
            let val = match &f.kind {
                FileKind::Regular {
                    size, mtime, sha256, ..
                } => {
                    let (s, m, hash) = (h.int(*size), h.int(*mtime), h.blob(sha256));
                    h.object(&[n, a, s, m, hash])
                }
                FileKind::Symlink(target) => {
                    let mut t = 0o120000u16.to_le_bytes().to_vec();
                    t.extend_from_slice(target.as_bytes());
                    let (s, m, tv) = (h.int(0), h.int(clamp), h.blob(&t));
                    h.object(&[n, a, s, m, NULL, tv])
                }
            };
            files.push(val);
        }
        let (dn, da, df) = (
            h.blob(name.as_bytes()),
            acl(&mut h, d.mode, &d.owner),
            h.array(&files),
        );
        paths.push(h.object(&[dn, da, df]));
    }
    let paths = h.array(&paths);
    let scripts = scripts(&mut h, spec);
    let root = h.object(&[info_val, paths, scripts]);
    let mut adb_payload = h.finish(root);
    let digest = Sha256::digest(&adb_payload);
    let at = Heap::blob_bytes_at(uid_val);
    adb_payload[at..at + 20].copy_from_slice(&digest[..20]);

    let mut z = adb::compressor(out).map_err(PackageError::Write)?;
    let w = |r: io::Result<()>| r.map_err(PackageError::Write);
    w(z.write_all(&adb::file_header(adb::SCHEMA_PACKAGE)))?;
    w(adb::write_block(&mut z, adb::BLOCK_ADB, &adb_payload))?;
    if let Some(key) = opts.key {
        let sig = adb::signature(key, adb::SCHEMA_PACKAGE, &adb_payload)?;
        w(adb::write_block(&mut z, adb::BLOCK_SIG, &sig))?;
    }
    for (pi, d) in dirs.values().enumerate() {
        for (fi, f) in d.files.iter().enumerate() {
            let FileKind::Regular {
                content,
                size,
                sha256,
                ..
            } = &f.kind
            else {
                continue;
            };
            if *size == 0 {
                continue;
            }
            let header = adb::block_header(adb::BLOCK_DATA, 8 + size);
            w(z.write_all(&header))?;
            w(z.write_all(&(pi as u32 + 1).to_le_bytes()))?;
            w(z.write_all(&(fi as u32 + 1).to_le_bytes()))?;
            let (mut r, _, _) = open_content(content, clamp)?;
            let mut sha = Sha256::new();
            let mut tee = TeeWriter {
                out: &mut z,
                sha: &mut sha,
            };
            let n = io::copy(&mut (&mut r).take(*size), &mut tee).map_err(PackageError::Write)?;
            if n != *size || sha.finalize().as_slice() != sha256 {
                return Err(changed(content, *size));
            }
            w(z.write_all(&[0; 8][..adb::block_padding(header.len(), 8 + size)]))?;
        }
    }
    z.finish().map_err(PackageError::Write)?;
    Ok(())
}

fn changed(content: &wharf_core::Content, size: u64) -> PackageError {
    match content {
        wharf_core::Content::Path(p) => PackageError::Changed {
            path: p.clone(),
            expected: size,
        },
        wharf_core::Content::Bytes(_) => PackageError::Write(io::ErrorKind::UnexpectedEof.into()),
    }
}

struct HashSink<'a>(&'a mut Sha256);
impl Write for HashSink<'_> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        self.0.update(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

struct TeeWriter<'a, W: Write> {
    out: &'a mut W,
    sha: &'a mut Sha256,
}
impl<W: Write> Write for TeeWriter<'_, W> {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        let n = self.out.write(b)?;
        self.sha.update(&b[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// The `scripts` object: dpkg's maintainer scripts under apk's names (install and upgrade alike).
fn scripts(h: &mut Heap, spec: &PackageSpec) -> Val {
    let mut slots = [NULL; 7];
    for (kind, body) in &spec.scripts {
        let idx: &[usize] = match kind {
            ScriptKind::PreInst => &[1, 5],
            ScriptKind::PostInst => &[2, 6],
            ScriptKind::PreRm => &[3],
            ScriptKind::PostRm => &[4],
        };
        for i in idx {
            slots[*i] = h.blob(body);
        }
    }
    h.object(&slots)
}

/// What an index needs from an apk v3 package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Apk3Info {
    /// The package's `info`.
    pub info: Info,
    /// sha256 of the ADB payload (the index's unique id for it), hex.
    pub adb_sha256: String,
    /// The package's SIG block payloads (none: unsigned, pinned by the index alone).
    pub signatures: Vec<Vec<u8>>,
    /// sha512 of the ADB payload (what a SIG block signs, through [`adb::signed_message`]).
    pub adb_sha512: Vec<u8>,
    /// Checksums of the whole file.
    pub checksums: Checksums,
}

/// Whether `bytes` start like an ADB file (apk v3) rather than gzip (apk v2).
#[must_use]
pub fn is_adb(head: &[u8]) -> bool {
    head.starts_with(b"ADB")
}

/// Reads any apk v3 package: the ADB block (its info, its paths: none may leave the root), every DATA
/// block checked against its file's sha256, and the whole file's checksums, in one pass.
pub fn inspect(reader: impl Read) -> Result<Apk3Info, PackageError> {
    let mut hasher = Hasher::for_package();
    let result = {
        let tap = HashingReader::buffered(reader, &mut hasher);
        let mut r = io::BufReader::new(adb::decompressor(tap).map_err(|e| bad(e.to_string()))?);
        read_package(&mut r)
    };
    let (info, adb_sha256, adb_sha512, signatures) = result?;
    Ok(Apk3Info {
        info,
        adb_sha256,
        signatures,
        adb_sha512,
        checksums: hasher.finish(),
    })
}

fn read_exact(r: &mut impl Read, n: u64, what: &str) -> Result<Vec<u8>, PackageError> {
    let mut buf = Vec::new();
    r.take(n)
        .read_to_end(&mut buf)
        .map_err(|e| bad(format!("{what}: the file is truncated or corrupt ({e})")))?;
    if buf.len() as u64 != n {
        return Err(bad(format!("{what}: the file is truncated")));
    }
    Ok(buf)
}

type Read3 = (Info, String, Vec<u8>, Vec<Vec<u8>>);

fn read_package(r: &mut impl Read) -> Result<Read3, PackageError> {
    let head = read_exact(r, 8, "header")?;
    if &head[..4] != b"ADB." || head[4..] != adb::SCHEMA_PACKAGE.to_le_bytes() {
        return Err(bad("not an apk v3 package (schema is not `pckg`)"));
    }
    let Some((typ, len, hl)) = adb::next_block(r)? else {
        return Err(bad("no ADB block"));
    };
    if typ != adb::BLOCK_ADB || len > 64 << 20 {
        return Err(bad("the first block is not a (sane) ADB block"));
    }
    let payload = read_exact(r, len, "ADB block")?;
    read_exact(r, adb::block_padding(hl, len) as u64, "padding")?;
    let root = adb::decode(&payload)?;
    let info = Info::decode(root.field(1));
    if info.name.is_empty() || !apkver::validate(&info.version) {
        return Err(bad("the package has no name or an invalid version"));
    }
    // Paths: every directory and file name must stay inside the root, and mean one thing
    // ([`crate::paths`]).
    let mut policy = crate::paths::Policy::new();
    let unsafe_entry = |why: String| bad(format!("{why}; the package is unsafe"));
    let mut hashes: Vec<Vec<(Vec<u8>, u64)>> = Vec::new();
    for dir in root.field(2).items() {
        let dname = dir.field(1).text();
        if crate::unsafe_path(&dname) {
            return Err(bad(format!("directory `{dname}` would be outside the root")));
        }
        policy
            .admit(dname.as_bytes(), crate::paths::Kind::Dir, None)
            .map_err(unsafe_entry)?;
        let mut files = Vec::new();
        for f in dir.field(3).items() {
            let fname = f.field(1).text();
            if fname.is_empty() || fname.contains('/') || fname == ".." || fname == "." {
                return Err(bad(format!("`{dname}/{fname}` would be outside the root")));
            }
            let path = if dname.is_empty() {
                fname.clone()
            } else {
                format!("{dname}/{fname}")
            };
            policy
                .admit(path.as_bytes(), crate::paths::Kind::File, None)
                .map_err(unsafe_entry)?;
            files.push((f.field(5).bytes().to_vec(), f.field(3).int()));
        }
        hashes.push(files);
    }
    // apk-tools `src/adb.c` `__adb_m_stream`: `if (type >= ADB_BLOCK_MAX || !(BIT(type) & allowed))`
    // refuses the package — after the ADB block only SIG and DATA blocks, after a DATA block only DATA.
    let mut signatures = Vec::new();
    let mut seen_data = false;
    while let Some((typ, len, hl)) = adb::next_block(r)? {
        match typ {
            adb::BLOCK_SIG if !seen_data => {
                // A signature is ~100 bytes; a larger block is not one apk writes (nor one to hold).
                if len > 64 * 1024 {
                    return Err(bad(format!("a SIG block of {len} bytes is no signature")));
                }
                signatures.push(read_exact(r, len, "SIG block")?);
            }
            adb::BLOCK_DATA => {
                seen_data = true;
                let idx = read_exact(r, 8, "DATA block")?;
                let pi = u32::from_le_bytes([idx[0], idx[1], idx[2], idx[3]]) as usize;
                let fi = u32::from_le_bytes([idx[4], idx[5], idx[6], idx[7]]) as usize;
                let (want, size) = hashes
                    .get(pi.wrapping_sub(1))
                    .and_then(|d| d.get(fi.wrapping_sub(1)))
                    .cloned()
                    .ok_or_else(|| bad(format!("DATA block for a file not in the package ({pi}/{fi})")))?;
                let n = len.saturating_sub(8);
                let mut sha = Sha256::new();
                let copied = io::copy(&mut r.take(n), &mut HashSink(&mut sha))
                    .map_err(|e| bad(format!("DATA block: the file is truncated or corrupt ({e})")))?;
                if copied != n || n != size || sha.finalize().as_slice() != want.as_slice() {
                    return Err(bad(format!(
                        "file {pi}/{fi}: its data does not match its size or sha256; the package is corrupt"
                    )));
                }
            }
            _ => {
                return Err(bad(format!(
                    "a block of type {typ} where apk takes only {}: apk refuses the package",
                    if seen_data {
                        "DATA blocks"
                    } else {
                        "SIG or DATA blocks"
                    }
                )));
            }
        }
        read_exact(r, adb::block_padding(hl, len) as u64, "padding")?;
    }
    Ok((
        info,
        hex::encode(Sha256::digest(&payload)),
        Sha512::digest(&payload).to_vec(),
        signatures,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spec;

    fn build(key: Option<&ApkEcKey>) -> Vec<u8> {
        let mut s = spec();
        s.version = "1.0-1".parse().unwrap();
        let mut out = Vec::new();
        let opts = Apk3Options {
            source_date: SourceDate::from_unix(1_700_000_000).unwrap(),
            key,
        };
        write_apk3(&s, "mipsel_24kc", opts, &mut out).unwrap();
        out
    }

    /// The uncompressed ADB stream of `pkg`, up to the end of its ADB block (and its padding).
    fn adb_part(pkg: &[u8]) -> Vec<u8> {
        let mut raw = Vec::new();
        adb::decompressor(pkg).unwrap().read_to_end(&mut raw).unwrap();
        let mut r = &raw[8..];
        let (typ, len, hl) = adb::next_block(&mut r).unwrap().unwrap();
        assert_eq!(typ, adb::BLOCK_ADB);
        raw.truncate(8 + hl + len as usize + adb::block_padding(hl, len));
        raw
    }

    #[test]
    fn blocks_apk_refuses_are_refused_without_reading_them() {
        let pkg = build(None);
        // A SIG block claiming 2 GiB (what a compressed bomb inflates to), and a block of unknown type:
        // apk refuses both (`__adb_m_stream`); neither is read into memory.
        for (typ, why) in [(adb::BLOCK_SIG, "no signature"), (3, "apk takes only")] {
            let mut raw = adb_part(&pkg);
            raw.extend_from_slice(&adb::block_header(typ, 2 << 30));
            let err = inspect(&raw[..]).unwrap_err().to_string();
            assert!(err.contains(why), "{typ}: {err}");
        }
        // A SIG block after a DATA block is out of order.
        let whole = {
            let mut v = Vec::new();
            adb::decompressor(&pkg[..]).unwrap().read_to_end(&mut v).unwrap();
            v
        };
        let mut after_data = whole;
        let sig = adb::block_header(adb::BLOCK_SIG, 8);
        after_data.extend_from_slice(&sig);
        after_data.extend_from_slice(&[0; 8]);
        after_data.resize(after_data.len().next_multiple_of(8), 0);
        let err = inspect(&after_data[..]).unwrap_err().to_string();
        assert!(err.contains("apk takes only DATA"), "{err}");
    }

    #[test]
    fn write_then_inspect() {
        let key = ApkEcKey::generate();
        let a = build(Some(&key));
        assert_eq!(a, build(Some(&key)), "not reproducible");
        assert_eq!(&a[..4], b"ADBd");
        let info = inspect(&a[..]).unwrap();
        assert_eq!(info.signatures.len(), 1);
        let public = wharf_sign::ApkEcPublicKey::from_pem(key.public_pem().unwrap().as_bytes()).unwrap();
        let sig = &info.signatures[0];
        assert_eq!(sig[2..18], key.key_id());
        let msg = adb::signed_message(adb::SCHEMA_PACKAGE, &sig[..18], &info.adb_sha512);
        assert!(public.verify_sha512(&msg, &sig[18..]));
        assert_eq!(info.info.name, "hello");
        assert_eq!(info.info.version, "1.0-r1");
        assert_eq!(info.info.arch, "mipsel_24kc");
        assert_eq!(info.info.depends[0].name, "libc6");
        assert_eq!(info.info.depends[0].version, "2.31");
        assert_eq!(info.checksums.size, a.len() as u64);
        assert!(inspect(&build(None)[..]).unwrap().signatures.is_empty());
        for cut in [3, 20, a.len() / 2, a.len() - 3] {
            assert!(inspect(&a[..cut]).is_err(), "truncated at {cut}");
        }
    }

    #[test]
    fn dependency_syntax() {
        let d = Dep::parse("!foo>=1.2").unwrap();
        assert_eq!((d.name.as_str(), d.version.as_str(), d.mask), ("foo", "1.2", 21));
        assert_eq!(Dep::parse("bar").unwrap().mask, 7);
        assert!(Dep::parse("x>=not valid").is_err());
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 200, ..Default::default() })]
        #[test]
        fn reader_never_panics(flips in proptest::collection::vec((0usize..4096, 0u8..=255), 1..8), cut in 0usize..4096) {
            let mut apk = build(None);
            for (at, byte) in flips {
                let i = at % apk.len();
                apk[i] = byte;
            }
            apk.truncate(apk.len() - cut % apk.len());
            let _ = inspect(&apk[..]);
        }
    }
}
