//! rpm-md repositories (what dnf, yum and zypper read): `repodata/repomd.xml` pointing at content-addressed
//! `repodata/<sha256>-{primary,filelists,other}.xml.{gz,zst}`.
//!
//! The reference is createrepo_c (`src/xml_dump_primary.c`, `xml_dump_filelists.c`, `xml_dump_other.c`,
//! `repomd.c`) and what librepo checks (formats.md §5): `<checksum>` is the SHA-256 of the compressed file
//! and names it; `<open-checksum>` that of the XML; `pkgid` is the SHA-256 of the whole .rpm; primary lists
//! only the files dependency solvers look for (`/etc/…`, `…bin/…`, `/usr/lib/sendmail`, as createrepo_c's
//! `cr_is_primary`). The optional sqlite databases are not written: dnf 4 and zypper build their own.
//! The signature (`repomd.xml.asc`) is added by the publisher.
//!
//! A publish that adds to a large repository splices: a package whose state segment was not read has
//! its `<package>` elements copied from the repository's current documents ([`Fragment::Published`]),
//! found in sort order by length and `pkgid` (and, in primary, `location href`), as createrepo_c's
//! `--update` reuses the old metadata of packages it already knows; anything not found there makes
//! [`build`] answer `None`, and the caller gives every element from the state.

use std::fmt::Write;

use wharf_core::SourceDate;
use wharf_core::digest::Checksums;
use wharf_core::rpmver::rpmvercmp;
use wharf_package::compress::Compression;
use wharf_package::rpm::{RpmDependency, RpmInfo};

use crate::{IndexFile, blocks};

/// One .rpm as the index needs it: what its header says, where it lives, when it was added.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RpmRecord {
    /// Header data and checksums.
    pub info: RpmInfo,
    /// Path relative to the repository directory (`Packages/h/hello-1.0-1.x86_64.rpm`).
    pub location: String,
    /// `<time file>`: when the package was added (never a filesystem mtime, so indexes are reproducible).
    pub time_file: u64,
}

/// Metadata compression: gzip reaches every client; zstd is read by dnf ≥ 4.x and zypper ≥ 1.14.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MdCompression {
    /// `.xml.gz`.
    Gzip,
    /// `.xml.zst`.
    Zstd,
}

/// Everything one repository publishes, unsigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoIndex {
    /// The content-addressed metadata files (paths relative to the repository directory).
    pub files: Vec<IndexFile>,
    /// The text of `repodata/repomd.xml`.
    pub repomd: String,
}

/// XML-escapes text and attribute values (and drops characters XML 1.0 cannot carry). Most values need
/// nothing: they are returned as they are, not copied (a package's fragments escape ~30 values).
fn esc(s: &str) -> std::borrow::Cow<'_, str> {
    let plain =
        |b: u8| (b >= 0x20 || matches!(b, b'\t' | b'\n' | b'\r')) && !matches!(b, b'&' | b'<' | b'>' | b'"');
    if s.bytes().all(plain) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 => {}
            c => out.push(c),
        }
    }
    std::borrow::Cow::Owned(out)
}

/// createrepo_c's `cr_is_primary`: the files dependency solvers need without filelists.
fn is_primary(path: &str) -> bool {
    path.starts_with("/etc/") || path.contains("bin/") || path == "/usr/lib/sendmail"
}

fn entries(out: &mut String, tag: &str, deps: &[RpmDependency]) {
    if deps.is_empty() {
        return;
    }
    let _ = writeln!(out, "    <rpm:{tag}>");
    for d in deps {
        let _ = write!(out, "      <rpm:entry name=\"{}\"", esc(&d.name));
        if let Some(f) = &d.flags {
            let _ = write!(out, " flags=\"{f}\"");
        }
        for (k, v) in [("epoch", &d.epoch), ("ver", &d.ver), ("rel", &d.rel)] {
            if let Some(v) = v {
                let _ = write!(out, " {k}=\"{}\"", esc(v));
            }
        }
        if d.pre {
            out.push_str(" pre=\"1\"");
        }
        out.push_str("/>\n");
    }
    let _ = writeln!(out, "    </rpm:{tag}>");
}

fn version_tag(i: &RpmInfo) -> String {
    format!(
        "<version epoch=\"{}\" ver=\"{}\" rel=\"{}\"/>",
        i.epoch,
        esc(&i.version),
        esc(&i.release)
    )
}

fn file_line(out: &mut String, f: &wharf_package::rpm::RpmFile, indent: &str) {
    match &f.kind {
        Some(k) => {
            let _ = writeln!(out, "{indent}<file type=\"{k}\">{}</file>", esc(&f.path));
        }
        None => {
            let _ = writeln!(out, "{indent}<file>{}</file>", esc(&f.path));
        }
    }
}

/// The `requires` rpm-md lists for a package, filtered as createrepo_c does (`src/parsehdr.c`): no
/// `rpmlib(…)`; none on the package's own primary files; none whose name the package itself provides;
/// no exact duplicates; of the `libc.so.6(…)` requirements only the highest, placed last.
fn index_requires(i: &RpmInfo) -> Vec<RpmDependency> {
    let provided: std::collections::BTreeSet<&str> = i.provides.iter().map(|d| d.name.as_str()).collect();
    let own_primary: std::collections::BTreeSet<&str> = i
        .files
        .iter()
        .map(|f| f.path.as_str())
        .filter(|p| is_primary(p))
        .collect();
    let mut out: Vec<RpmDependency> = Vec::new();
    let mut libc: Option<RpmDependency> = None;
    for d in &i.requires {
        let name = d.name.as_str();
        if name.starts_with("rpmlib(") || own_primary.contains(name) || provided.contains(name) {
            continue;
        }
        if out.iter().any(|o| {
            o.name == d.name
                && o.flags == d.flags
                && o.ver == d.ver
                && o.rel == d.rel
                && o.epoch == d.epoch
                && o.pre == d.pre
        }) {
            continue;
        }
        if name.starts_with("libc.so.6") {
            let newer = libc
                .as_ref()
                .is_none_or(|l| wharf_core::rpmver::rpmvercmp(&d.name, &l.name).is_gt());
            if newer {
                libc = Some(d.clone());
            }
            continue;
        }
        out.push(d.clone());
    }
    out.extend(libc);
    out
}

/// The XML declaration and root element a document starts with.
fn document_head(root: &str, ns: &str, extra_ns: &str, packages: usize) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root} xmlns=\"http://linux.duke.edu/metadata/{ns}\"{extra_ns} packages=\"{packages}\">\n"
    )
}

/// The documents of a repository, in `repomd.xml` order: kind, root element, namespace, extra namespace.
const DOCUMENTS: [(&str, &str, &str, &str); 3] = [
    (
        "primary",
        "metadata",
        "common",
        " xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\"",
    ),
    ("filelists", "filelists", "filelists", ""),
    ("other", "otherdata", "other", ""),
];

/// A record's `<package>` element in `primary.xml`.
fn primary_package(r: &RpmRecord) -> String {
    let i = &r.info;
    let mut o = String::with_capacity(2048);
    o.push_str("<package type=\"rpm\">\n");
    let _ = writeln!(o, "  <name>{}</name>", esc(&i.name));
    let _ = writeln!(o, "  <arch>{}</arch>", esc(&i.arch));
    let _ = writeln!(o, "  {}", version_tag(i));
    let _ = writeln!(
        o,
        "  <checksum type=\"sha256\" pkgid=\"YES\">{}</checksum>",
        i.checksums.sha256
    );
    let _ = writeln!(o, "  <summary>{}</summary>", esc(&i.summary));
    let _ = writeln!(o, "  <description>{}</description>", esc(&i.description));
    let _ = writeln!(o, "  <packager>{}</packager>", esc(&i.packager));
    let _ = writeln!(o, "  <url>{}</url>", esc(&i.url));
    let _ = writeln!(o, "  <time file=\"{}\" build=\"{}\"/>", r.time_file, i.build_time);
    let _ = writeln!(
        o,
        "  <size package=\"{}\" installed=\"{}\" archive=\"{}\"/>",
        i.checksums.size, i.installed_size, i.archive_size
    );
    let _ = writeln!(o, "  <location href=\"{}\"/>", esc(&r.location));
    o.push_str("  <format>\n");
    for (tag, v) in [
        ("license", &i.license),
        ("vendor", &i.vendor),
        ("group", &i.group),
        ("buildhost", &i.buildhost),
        ("sourcerpm", &i.sourcerpm),
    ] {
        let _ = writeln!(o, "    <rpm:{tag}>{}</rpm:{tag}>", esc(v));
    }
    let _ = writeln!(
        o,
        "    <rpm:header-range start=\"{}\" end=\"{}\"/>",
        i.header_start, i.header_end
    );
    entries(&mut o, "provides", &i.provides);
    entries(&mut o, "requires", &index_requires(i));
    entries(&mut o, "conflicts", &i.conflicts);
    entries(&mut o, "obsoletes", &i.obsoletes);
    entries(&mut o, "suggests", &i.suggests);
    entries(&mut o, "enhances", &i.enhances);
    entries(&mut o, "recommends", &i.recommends);
    entries(&mut o, "supplements", &i.supplements);
    for f in i.files.iter().filter(|f| is_primary(&f.path)) {
        file_line(&mut o, f, "    ");
    }
    o.push_str("  </format>\n</package>\n");
    o
}

/// A record's `<package pkgid name arch>` element with its `<version/>`, then what `body` writes
/// (`filelists.xml`, `other.xml`).
fn per_package(i: &RpmInfo, body: impl Fn(&mut String)) -> String {
    let mut o = String::with_capacity(2048);
    let _ = writeln!(
        o,
        "<package pkgid=\"{}\" name=\"{}\" arch=\"{}\">",
        i.checksums.sha256,
        esc(&i.name),
        esc(&i.arch)
    );
    let _ = writeln!(o, "  {}", version_tag(i));
    body(&mut o);
    o.push_str("</package>\n");
    o
}

/// What a record contributes to `primary.xml`, `filelists.xml` (every file) and `other.xml`
/// (changelogs): one `<package>` element each. The publisher stores them beside the record, so the
/// documents of a large repository are assembled from them, not rendered again.
#[must_use]
pub fn fragments(r: &RpmRecord) -> [String; 3] {
    let i = &r.info;
    let filelists = per_package(i, |o| {
        for f in &i.files {
            file_line(o, f, "  ");
        }
    });
    let other = per_package(i, |o| {
        for (author, date, text) in &i.changelog {
            let _ = writeln!(
                o,
                "  <changelog author=\"{}\" date=\"{date}\">{}</changelog>",
                esc(author),
                esc(text)
            );
        }
    });
    [primary_package(r), filelists, other]
}

/// A package's `<package>` element in one document (ending in `</package>\n`), or its length in the
/// repository's current document of that kind, where it is found by the package's SHA-256 (its `pkgid`)
/// and, in `primary.xml`, its location.
pub type Fragment<'a> = crate::Part<'a>;

/// One package as [`build`] needs it: how it sorts, how its published elements are found, and its
/// [`fragments`].
#[derive(Debug, Clone, Copy)]
pub struct MdEntry<'a> {
    /// Name.
    pub name: &'a str,
    /// Epoch.
    pub epoch: u32,
    /// Version.
    pub version: &'a str,
    /// Release.
    pub release: &'a str,
    /// Architecture.
    pub arch: &'a str,
    /// The package file's SHA-256 (hex): its `pkgid`.
    pub sha256: &'a str,
    /// Its `location href`, relative to the repository.
    pub location: &'a str,
    /// Its `<package>` elements in primary, filelists and other.
    pub fragments: [Fragment<'a>; 3],
}

impl MdEntry<'_> {
    /// Whether `element`, a `<package>` element of document `n`, is this package's.
    fn is(&self, n: usize, element: &str) -> bool {
        // What follows the first `start` in `element` begins with `value` and then `end`.
        let holds = |start: &str, value: &str, end: &str| {
            element
                .split_once(start)
                .and_then(|(_, rest)| rest.strip_prefix(value))
                .is_some_and(|rest| rest.starts_with(end))
        };
        if n == 0 {
            element.starts_with("<package type=\"rpm\">\n")
                && holds("pkgid=\"YES\">", self.sha256, "</checksum>")
                && holds("<location href=\"", &esc(self.location), "\"/>")
        } else {
            element
                .strip_prefix("<package pkgid=\"")
                .and_then(|rest| rest.strip_prefix(self.sha256))
                .is_some_and(|rest| rest.starts_with('"'))
        }
    }
}

/// The `<package>` elements of a repository's current document, read in order from its decompressed
/// stream (never held whole), to find those of [`Fragment::Published`] entries — which sort as they did
/// when it was written, so each is found after the one before; elements passed over belong to packages
/// no longer listed. Reads at most `limit` bytes of XML.
struct Current<'a> {
    xml: Box<dyn std::io::BufRead + 'a>,
    element: Vec<u8>,
    /// The longest element worth keeping (the longest wanted): longer ones are passed over unkept.
    longest: usize,
}

impl<'a> Current<'a> {
    fn open(compressed: &'a [u8], c: Compression, limit: u64, longest: usize) -> Option<Self> {
        let xml = wharf_package::compress::decoder(compressed, c).ok()?;
        Some(Self {
            xml: Box::new(std::io::BufReader::with_capacity(
                64 * 1024,
                std::io::Read::take(xml, limit),
            )),
            element: Vec::new(),
            longest,
        })
    }

    /// Appends to `out` the next element of `entry` in document `n`, of length `len`; false if it is
    /// not there (then the document cannot be spliced: the caller gives every element as text).
    fn take(&mut self, entry: &MdEntry<'_>, n: usize, len: usize, out: &mut String) -> bool {
        use std::io::BufRead;
        loop {
            self.element.clear();
            // One element: from a `<package` line to its `</package>` line (values are escaped, so
            // neither appears inside one).
            let (mut inside, mut kept) = (false, true);
            loop {
                // Each line is read onto the element, and taken off again if it is not part of one.
                let start = self.element.len();
                match self.xml.read_until(b'\n', &mut self.element) {
                    Ok(0) | Err(_) => return false,
                    Ok(_) => {}
                }
                let line = &self.element[start..];
                let last = line == b"</package>\n";
                if !inside {
                    inside = line.starts_with(b"<package ");
                    if !inside {
                        self.element.truncate(start);
                        continue;
                    }
                }
                if !kept || self.element.len() > self.longest {
                    // Too long to be wanted: passed over without being kept, but read to its end.
                    kept = false;
                    self.element.clear();
                }
                if last {
                    break;
                }
            }
            if kept
                && self.element.len() == len
                && let Ok(element) = std::str::from_utf8(&self.element)
                && entry.is(n, element)
            {
                out.push_str(element);
                return true;
            }
        }
    }
}

/// Builds the repository's metadata from its packages (sorted by name, EVR, arch). `previous` gives the
/// repository's current compressed document of a kind (`primary`, …), whose unchanged gzip parts are
/// carried over ([`crate::blocks`]) and whose elements [`Fragment::Published`] entries are taken from.
/// `None`: one of those is not in the current document (give them all as text).
///
/// `packages` is taken, not borrowed: it is dropped once the documents are assembled, before they are
/// compressed (at 100,000 packages, 18 MB less at the peak).
pub fn build(
    packages: Vec<MdEntry<'_>>,
    date: SourceDate,
    compression: MdCompression,
    previous: &(dyn Fn(&str) -> Option<Vec<u8>> + Sync),
) -> std::io::Result<Option<RepoIndex>> {
    let mut sorted: Vec<&MdEntry<'_>> = packages.iter().collect();
    // Name, then EVR as rpm orders it (compared in place: no copies per comparison), then arch.
    sorted.sort_by(|a, b| {
        a.name
            .cmp(b.name)
            .then_with(|| a.epoch.cmp(&b.epoch))
            .then_with(|| rpmvercmp(a.version, b.version))
            .then_with(|| rpmvercmp(a.release, b.release))
            .then_with(|| a.arch.cmp(b.arch))
    });
    let (comp, ext) = match compression {
        MdCompression::Gzip => (Compression::Gzip, "gz"),
        MdCompression::Zstd => (Compression::Zstd, "zst"),
    };
    let mut files = Vec::new();
    let mut repomd = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<repomd xmlns=\"http://linux.duke.edu/metadata/repo\" xmlns:rpm=\"http://linux.duke.edu/metadata/rpm\">\n",
    );
    let _ = writeln!(repomd, "  <revision>{}</revision>", date.unix());
    // The current documents: those worth carrying gzip parts over from, and those elements are taken
    // from; fetched at once (each a round trip on S3).
    let lens: Vec<usize> = (0..DOCUMENTS.len())
        .map(|n| sorted.iter().map(|p| p.fragments[n].len()).sum())
        .collect();
    let spliced: Vec<bool> = (0..DOCUMENTS.len())
        .map(|n| {
            sorted
                .iter()
                .any(|p| matches!(p.fragments[n], Fragment::Published(_)))
        })
        .collect();
    let wanted: Vec<usize> = (0..DOCUMENTS.len())
        .filter(|&n| spliced[n] || (comp == Compression::Gzip && lens[n] >= crate::blocks::CARRY_MIN))
        .collect();
    let mut olds: Vec<Option<Vec<u8>>> = vec![None; DOCUMENTS.len()];
    let fetched = wharf_core::parallel::map_in_order(&wanted, wanted.len(), |&n| previous(DOCUMENTS[n].0));
    for (n, bytes) in wanted.into_iter().zip(fetched) {
        olds[n] = bytes;
    }
    // The three documents assembled on the cores (a published element copied from the current
    // document's stream), then every block of them compressed in one batch (compression is the costly
    // part), then their checksums.
    let xmls = wharf_core::parallel::map_in_order(&[0, 1, 2], wharf_core::parallel::cores(), |&n: &usize| {
        let (_, root, ns, extra_ns) = DOCUMENTS[n];
        let head = document_head(root, ns, extra_ns, sorted.len());
        let tail = format!("</{root}>\n");
        let mut xml = String::with_capacity(head.len() + lens[n] + tail.len());
        xml.push_str(&head);
        let mut current = None;
        if spliced[n] {
            let longest = sorted.iter().map(|p| p.fragments[n].len()).max().unwrap_or(0);
            // The current document is about as long as the new one: far more is not it.
            let limit = (lens[n] as u64).saturating_mul(2).saturating_add(16 << 20);
            current = Some(Current::open(olds[n].as_deref()?, comp, limit, longest)?);
        }
        for p in &sorted {
            match (p.fragments[n], current.as_mut()) {
                (Fragment::Text(t), _) => xml.push_str(t),
                (Fragment::Published(len), Some(current)) => {
                    if !current.take(p, n, len, &mut xml) {
                        return None;
                    }
                }
                (Fragment::Published(_), None) => return None,
            }
        }
        xml.push_str(&tail);
        Some(xml)
    });
    let Some(xmls) = xmls.into_iter().collect::<Option<Vec<String>>>() else {
        return Ok(None);
    };
    drop(sorted);
    drop(packages);
    let batch: Vec<blocks::Doc<'_>> = xmls
        .iter()
        .zip(&olds)
        .map(|(xml, old)| blocks::Doc {
            text: xml,
            record_end: "</package>\n",
            form: match comp {
                Compression::Gzip => blocks::Form::Gz(old.as_deref()),
                _ => blocks::Form::Whole(comp),
            },
        })
        .collect();
    let compressed: Vec<Vec<u8>> = blocks::compress(&batch)?
        .into_iter()
        .map(|(bytes, _)| bytes)
        .collect();
    let sums = wharf_core::parallel::map_in_order(&[0, 1, 2], wharf_core::parallel::cores(), |&n: &usize| {
        (
            Checksums::of_sha256(&compressed[n]),
            Checksums::of_sha256(xmls[n].as_bytes()),
        )
    });
    for (((kind, ..), bytes), (sums, open)) in DOCUMENTS.into_iter().zip(compressed).zip(sums) {
        let path = format!("repodata/{}-{kind}.xml.{ext}", sums.sha256);
        let _ = write!(
            repomd,
            "  <data type=\"{kind}\">\n    <checksum type=\"sha256\">{}</checksum>\n    <open-checksum type=\"sha256\">{}</open-checksum>\n    <location href=\"{path}\"/>\n    <timestamp>{}</timestamp>\n    <size>{}</size>\n    <open-size>{}</open-size>\n  </data>\n",
            sums.sha256,
            open.sha256,
            date.unix(),
            sums.size,
            open.size
        );
        files.push(IndexFile {
            path: path.clone(),
            by_hash: Vec::new(),
            bytes,
        });
    }
    repomd.push_str("</repomd>\n");
    Ok(Some(RepoIndex { files, repomd }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_primary_files() {
        assert_eq!(esc("a<b & \"c\"\u{1}"), "a&lt;b &amp; &quot;c&quot;");
        assert_eq!(esc("x\u{1f}y>"), "xy&gt;");
        // Plain text (tabs, new lines, non-ASCII included) is returned as it is, not copied.
        let plain = "Grüße\tand\nlines\r";
        assert!(matches!(esc(plain), std::borrow::Cow::Borrowed(p) if p == plain));
        assert!(is_primary("/etc/x.conf") && is_primary("/usr/sbin/d") && is_primary("/usr/lib/sendmail"));
        assert!(!is_primary("/usr/share/doc/x/README"));
    }

    fn record(name: &str, version: &str, sha: char, location: &str) -> RpmRecord {
        RpmRecord {
            info: RpmInfo {
                name: name.into(),
                epoch: 0,
                version: version.into(),
                release: "1".into(),
                arch: "x86_64".into(),
                summary: format!("{name} <summary>"),
                description: "d".into(),
                packager: "p".into(),
                url: String::new(),
                license: "MIT".into(),
                vendor: String::new(),
                group: "g".into(),
                buildhost: "h".into(),
                sourcerpm: format!("{name}-{version}-1.src.rpm"),
                build_time: 1,
                installed_size: 2,
                archive_size: 3,
                header_start: 4,
                header_end: 5,
                provides: Vec::new(),
                requires: Vec::new(),
                conflicts: Vec::new(),
                obsoletes: Vec::new(),
                recommends: Vec::new(),
                suggests: Vec::new(),
                supplements: Vec::new(),
                enhances: Vec::new(),
                files: Vec::new(),
                changelog: vec![("A <a@example.org>".into(), 1, format!("{name} </package>\n"))],
                signed: false,
                checksums: Checksums {
                    sha256: sha.to_string().repeat(64),
                    size: 6,
                    ..Checksums::default()
                },
            },
            location: location.into(),
            time_file: 7,
        }
    }

    /// A document spliced from the current one is the one made from every record's text; a package
    /// whose element is not there (or not of its length, pkgid or location) makes the splice answer
    /// `None`, never a document without it.
    #[test]
    fn spliced_documents_are_the_documents_made_whole() {
        let date = SourceDate::from_unix(1_700_000_000).unwrap();
        let records = [
            record("a", "1", 'a', "a-1.rpm"),
            record("b", "1", 'b', "b-1.rpm"),
            record("c", "1", 'c', "c-1.rpm"),
        ];
        let texts: Vec<[String; 3]> = records.iter().map(fragments).collect();
        fn entries<'a>(
            records: &'a [RpmRecord],
            texts: &'a [[String; 3]],
            published: &dyn Fn(usize) -> bool,
        ) -> Vec<MdEntry<'a>> {
            records
                .iter()
                .enumerate()
                .map(|(i, r)| MdEntry {
                    name: &r.info.name,
                    epoch: 0,
                    version: &r.info.version,
                    release: "1",
                    arch: "x86_64",
                    sha256: &r.info.checksums.sha256,
                    location: &r.location,
                    fragments: std::array::from_fn(|n| {
                        if published(i) {
                            Fragment::Published(texts[i][n].len())
                        } else {
                            Fragment::Text(&texts[i][n])
                        }
                    }),
                })
                .collect()
        }
        let none = |_: &str| None;
        // The current repository: a and c.
        let current = build(
            entries(&records, &texts, &|_| false)
                .into_iter()
                .step_by(2)
                .collect(),
            date,
            MdCompression::Gzip,
            &none,
        )
        .unwrap()
        .unwrap();
        let doc = |kind: &str| {
            current
                .files
                .iter()
                .find(|f| f.path.ends_with(&format!("{kind}.xml.gz")))
                .map(|f| f.bytes.clone())
        };
        // b added: a's and c's elements taken from the current documents.
        let whole = build(
            entries(&records, &texts, &|_| false),
            date,
            MdCompression::Gzip,
            &none,
        )
        .unwrap()
        .unwrap();
        let spliced = build(
            entries(&records, &texts, &|i| i != 1),
            date,
            MdCompression::Gzip,
            &doc,
        )
        .unwrap()
        .unwrap();
        assert_eq!(spliced, whole);
        // b taken from them too: it is not there.
        assert!(
            build(
                entries(&records, &texts, &|_| true),
                date,
                MdCompression::Gzip,
                &doc
            )
            .unwrap()
            .is_none()
        );
        // c at another location (same pkgid and length): not its element.
        let moved = [
            records[0].clone(),
            records[1].clone(),
            record("c", "1", 'c', "c-2.rpm"),
        ];
        let moved_texts: Vec<[String; 3]> = moved.iter().map(fragments).collect();
        assert!(
            build(
                entries(&moved, &moved_texts, &|i| i != 1),
                date,
                MdCompression::Gzip,
                &doc
            )
            .unwrap()
            .is_none()
        );
        // No current documents at all.
        assert!(
            build(
                entries(&records, &texts, &|i| i != 1),
                date,
                MdCompression::Gzip,
                &none
            )
            .unwrap()
            .is_none()
        );
    }
}
