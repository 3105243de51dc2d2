//! apt repositories: `dists/<suite>/<component>/binary-<arch>/Packages{,.gz,.xz}`, their by-hash copies,
//! and the suite's `Release` (signed into `InRelease` and `Release.gpg` by the publisher).
//!
//! Follows the Debian repository format (wiki.debian.org/DebianRepository/Format) as apt 2.6 reads it
//! (apt `apt-pkg/deb/debmetaindex.cc`, `acquire-item.cc`), with what formats.md §3 found by trying it:
//! the uncompressed `Packages` is always listed in `Release` even though clients fetch the compressed ones
//! (without it apt 2.6 silently fetches nothing); every listed hash has a by-hash copy, because with
//! `Acquire-By-Hash: yes` apt fetches indexes by the strongest hash listed (SHA512 here);
//! `Architecture: all` packages are listed in every architecture's `Packages`
//! (`No-Support-for-Architecture-all: Packages`).

use std::collections::{BTreeMap, BTreeSet};

use wharf_core::SourceDate;
use wharf_core::deb822::{self, Paragraph};
use wharf_core::digest::{self, Checksums};
use wharf_core::version::DebVersion;

use crate::{IndexFile, blocks};

/// One .deb as the index needs it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct AptRecord {
    /// Component (e.g. `main`).
    pub component: String,
    /// The package's `control` paragraph.
    pub control: Paragraph,
    /// Path of the .deb relative to the repository root (`Filename:`).
    pub filename: String,
    /// Checksums of the .deb.
    pub checksums: Checksums,
}

impl AptRecord {
    fn field(&self, name: &str) -> &str {
        self.control.get(name).unwrap_or("")
    }

    /// `Package:`.
    #[must_use]
    pub fn name(&self) -> &str {
        self.field("Package")
    }

    /// `Version:`.
    #[must_use]
    pub fn version(&self) -> &str {
        self.field("Version")
    }

    /// `Architecture:`.
    #[must_use]
    pub fn arch(&self) -> &str {
        self.field("Architecture")
    }

    /// The stanza for `Packages`: the control fields (less any file fields the package carries), then
    /// where the file is and its checksums — written straight from the control paragraph.
    #[must_use]
    pub fn stanza(&self) -> String {
        const FILE_FIELDS: [&str; 6] = ["Filename", "Size", "MD5sum", "SHA1", "SHA256", "SHA512"];
        let c = &self.checksums;
        let mut out = String::with_capacity(
            self.control
                .iter()
                .map(|(k, v)| k.len() + v.len() + 3)
                .sum::<usize>()
                + self.filename.len()
                + c.md5.len()
                + c.sha256.len()
                + c.sha512.len()
                + 80,
        );
        let mut field = |k: &str, v: &str| {
            // Writing into a String cannot fail.
            let _ = deb822::write_field(&mut out, k, v);
        };
        for (k, v) in self.control.iter() {
            if !FILE_FIELDS.iter().any(|f| k.eq_ignore_ascii_case(f)) {
                field(k, v);
            }
        }
        field("Filename", &self.filename);
        field("Size", &c.size.to_string());
        // SHA256: what apt verifies packages with (it uses the strongest hash listed and has not accepted
        // MD5 alone since 1.2). MD5 and SHA512 of every package (no hardware help) were most of the time
        // of a publish; records from earlier versions carry them and keep them.
        if !c.md5.trim().is_empty() {
            field("MD5sum", &c.md5);
        }
        field("SHA256", &c.sha256);
        if !c.sha512.trim().is_empty() {
            field("SHA512", &c.sha512);
        }
        out
    }

    /// This package as [`build_suite`] takes it, with `stanza` (its [`AptRecord::stanza`], written).
    #[must_use]
    pub fn entry<'a>(&'a self, stanza: &'a str) -> SuiteEntry<'a> {
        SuiteEntry {
            component: &self.component,
            name: self.name(),
            version: self.version(),
            arch: self.arch(),
            stanza: Stanza::Text(stanza),
        }
    }
}

/// One package as [`build_suite`] needs it: where it is listed, how it sorts, and its stanza. The
/// publisher stores each record's stanza beside it, so a large suite is assembled, not rendered again.
#[derive(Debug, Clone, Copy)]
pub struct SuiteEntry<'a> {
    /// Component.
    pub component: &'a str,
    /// `Package:`.
    pub name: &'a str,
    /// `Version:`.
    pub version: &'a str,
    /// `Architecture:` (`all` is listed in every architecture's `Packages`).
    pub arch: &'a str,
    /// The `Packages` stanza.
    pub stanza: Stanza<'a>,
}

/// A [`SuiteEntry`]'s stanza (`Field: value` lines ending in a newline), or its length in the current
/// `Packages` of each architecture the package is listed in, where it is found by its `Package`,
/// `Version` and `Architecture`.
pub type Stanza<'a> = crate::Part<'a>;

/// The stanzas of a current `Packages`, walked in order to find those of [`Stanza::Published`] entries
/// (which sort as they did when it was written, so each is found after the one before).
struct Current<'a> {
    doc: &'a str,
    at: usize,
}

impl<'a> Current<'a> {
    /// The next stanza of `p`, of its length; `None` if it is not there (then the document cannot be
    /// spliced).
    fn find(&mut self, p: &SuiteEntry<'_>, len: usize) -> Option<&'a str> {
        let field = |stanza: &'a str, name: &str| {
            stanza
                .lines()
                .find_map(|l| l.strip_prefix(name)?.strip_prefix(": "))
        };
        while self.at < self.doc.len() {
            let rest = self.doc.get(self.at..)?;
            let end = rest.find("\n\n").map_or(rest.len(), |n| n + 1);
            let stanza = rest.get(..end)?;
            self.at += end + 1;
            if stanza.len() == len
                && field(stanza, "Package") == Some(p.name)
                && field(stanza, "Version") == Some(p.version)
                && field(stanza, "Architecture") == Some(p.arch)
            {
                return Some(stanza);
            }
        }
        None
    }
}

/// Settings of one suite (`dists/<suite>/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteSettings {
    /// Suite name (`stable`, `bookworm`, …).
    pub suite: String,
    /// Codename (defaults to the suite name).
    pub codename: String,
    /// `Origin:`.
    pub origin: String,
    /// `Label:`.
    pub label: String,
    /// `Description:` (optional).
    pub description: Option<String>,
    /// Components always present, even when empty.
    pub components: Vec<String>,
    /// Architectures always present, even when empty (packages add theirs).
    pub architectures: Vec<String>,
    /// `Date:`.
    pub date: SourceDate,
    /// `Valid-Until:` this many seconds after `Date` (none: no expiry).
    pub valid_for: Option<u64>,
}

/// Everything one suite publishes, unsigned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SuiteIndex {
    /// The `Packages` files, each with its by-hash copies.
    pub files: Vec<IndexFile>,
    /// The text of `dists/<suite>/Release`.
    pub release: String,
}

/// Architectures listed by a suite that has only `Architecture: all` packages and no configured list
/// (apt needs at least one to fetch any `Packages`).
pub const FALLBACK_ARCHITECTURES: [&str; 2] = ["amd64", "arm64"];

/// The pool path for a .deb: `pool/<component>/<prefix>/<name>/<file>`, where the prefix is the first letter
/// (`libX` for `lib*` names), as Debian's archive lays it out.
#[must_use]
pub fn pool_path(component: &str, name: &str, file_name: &str) -> String {
    let prefix = if name.starts_with("lib") && name.len() > 3 {
        &name[..4]
    } else {
        &name[..1]
    };
    format!("pool/{component}/{prefix}/{name}/{file_name}")
}

/// Builds every index file of one suite from its records. `previous` reads a file of the suite as it is
/// now (`dists/<suite>/…`), for unchanged blocks of `Packages.xz` and `Packages.gz` to be carried over
/// ([`crate::blocks`]), and the stanzas of [`Stanza::Published`] entries to be taken from. `None`: one
/// of those is not in the current `Packages` (give them all as text).
pub fn build_suite(
    settings: &SuiteSettings,
    packages: &[SuiteEntry<'_>],
    previous: &(dyn Fn(&str) -> Option<Vec<u8>> + Sync),
) -> std::io::Result<Option<SuiteIndex>> {
    let mut components: BTreeSet<&str> = settings.components.iter().map(String::as_str).collect();
    let mut archs: BTreeSet<&str> = settings.architectures.iter().map(String::as_str).collect();
    for p in packages {
        components.insert(p.component);
        if p.arch != "all" {
            archs.insert(p.arch);
        }
    }
    if archs.is_empty() {
        archs.extend(FALLBACK_ARCHITECTURES);
    }
    let mut sorted: Vec<&SuiteEntry<'_>> = packages.iter().collect();
    // Name, then version as dpkg orders it (each parsed once, not per comparison), then arch.
    sorted.sort_by_cached_key(|p| (p.name, DebVersion::parse(p.version).ok(), p.version, p.arch));

    // Each `Packages` text, with the current `.xz` (and its text) and `.gz` to carry blocks over from.
    struct Doc<'e> {
        dir: String,
        members: Vec<&'e SuiteEntry<'e>>,
        /// The text's length (stanzas and the blank lines between them, plus one).
        len: usize,
        text: String,
        old: [Option<Vec<u8>>; 3],
    }
    let mut docs = Vec::new();
    for comp in &components {
        for arch in &archs {
            let members: Vec<&SuiteEntry<'_>> = sorted
                .iter()
                .copied()
                .filter(|p| p.component == *comp && (p.arch == *arch || p.arch == "all"))
                .collect();
            docs.push(Doc {
                dir: format!("{comp}/binary-{arch}"),
                len: members.iter().map(|p| p.stanza.len() + 1).sum(),
                members,
                text: String::new(),
                old: [None, None, None],
            });
        }
    }
    // Only a document of several blocks is worth reading back: the current plain, `.xz` and `.gz` of
    // those, fetched at once (each a round trip on S3); and the current plain of one with stanzas to
    // take from it.
    const OLD: [&str; 3] = ["", ".xz", ".gz"];
    let wanted: Vec<(usize, usize)> = docs
        .iter()
        .enumerate()
        .flat_map(|(d, doc)| {
            let big = doc.len >= crate::blocks::CARRY_MIN;
            let splice = doc
                .members
                .iter()
                .any(|p| matches!(p.stanza, Stanza::Published(_)));
            (0..OLD.len())
                .filter(move |&e| big || (splice && e == 0))
                .map(move |e| (d, e))
        })
        .collect();
    let fetched = wharf_core::parallel::map_in_order(&wanted, wanted.len().min(16), |&(d, e)| {
        previous(&format!(
            "dists/{}/{}/Packages{}",
            settings.suite, docs[d].dir, OLD[e]
        ))
    });
    for ((d, e), bytes) in wanted.into_iter().zip(fetched) {
        docs[d].old[e] = bytes;
    }
    for d in &mut docs {
        let mut current = Current {
            doc: d.old[0]
                .as_deref()
                .and_then(|b| std::str::from_utf8(b).ok())
                .unwrap_or_default(),
            at: 0,
        };
        let mut text = String::with_capacity(d.len);
        for p in &d.members {
            if !text.is_empty() {
                text.push('\n');
            }
            match p.stanza {
                Stanza::Text(t) => text.push_str(t),
                Stanza::Published(len) => match current.find(p, len) {
                    Some(t) => text.push_str(t),
                    None => return Ok(None),
                },
            }
        }
        d.text = text;
    }
    // Every block of every `Packages.gz` and `.xz` of the suite in one batch over the cores (xz blocks
    // dominate), then each form's checksums (SHA-512 has no hardware help) likewise.
    let batch: Vec<blocks::Doc<'_>> = docs
        .iter()
        .flat_map(|d| {
            let [old_text, old_xz, old_gz] = &d.old;
            let old_xz = old_text.as_deref().zip(old_xz.as_deref());
            [
                blocks::Doc {
                    text: &d.text,
                    record_end: "\n\n",
                    form: blocks::Form::Gz(old_gz.as_deref()),
                },
                blocks::Doc {
                    text: &d.text,
                    record_end: "\n\n",
                    form: blocks::Form::Xz(old_xz),
                },
            ]
        })
        .collect();
    let compressed = blocks::compress(&batch)?;
    drop(batch);
    let mut compressed = compressed.into_iter().map(|(bytes, _)| bytes);
    let mut forms: Vec<(String, &'static str, Vec<u8>)> = Vec::new();
    for d in docs {
        forms.push((d.dir.clone(), "", d.text.into_bytes()));
        for ext in [".gz", ".xz"] {
            forms.push((d.dir.clone(), ext, compressed.next().unwrap_or_default()));
        }
    }
    // Each form's SHA-256 and SHA-512 are separate jobs, the longest first: SHA-512 has no hardware
    // help, and of a 30 MB `Packages` (100,000 packages) it takes twice as long as SHA-256 — on one core
    // after the other they were the critical path.
    let mut jobs: Vec<(usize, bool)> = (0..forms.len()).flat_map(|f| [(f, true), (f, false)]).collect();
    jobs.sort_by_key(|&(f, wide)| std::cmp::Reverse(forms[f].2.len() * if wide { 2 } else { 1 }));
    let hashed = wharf_core::parallel::map_in_order(&jobs, wharf_core::parallel::cores(), |&(f, wide)| {
        let bytes = &forms[f].2;
        if wide {
            Checksums {
                sha512: digest::sha512_hex(bytes),
                ..Checksums::default()
            }
        } else {
            Checksums::of_sha256(bytes)
        }
    });
    let mut sums: Vec<Checksums> = vec![Checksums::default(); forms.len()];
    for (&(f, wide), h) in jobs.iter().zip(hashed) {
        if wide {
            sums[f].sha512 = h.sha512;
        } else {
            (sums[f].size, sums[f].sha256) = (h.size, h.sha256);
        }
    }
    let mut files = Vec::new();
    let mut listed: BTreeMap<String, Checksums> = BTreeMap::new();
    for ((dir, ext, bytes), sums) in forms.into_iter().zip(sums) {
        let rel = format!("{dir}/Packages{ext}");
        let base = format!("dists/{}/{dir}/by-hash", settings.suite);
        files.push(IndexFile {
            path: format!("dists/{}/{rel}", settings.suite),
            by_hash: vec![
                format!("{base}/SHA256/{}", sums.sha256),
                format!("{base}/SHA512/{}", sums.sha512),
            ],
            bytes,
        });
        listed.insert(rel, sums);
    }
    Ok(Some(SuiteIndex {
        files,
        release: release_text(settings, &components, &archs, &listed),
    }))
}

fn release_text(
    s: &SuiteSettings,
    components: &BTreeSet<&str>,
    archs: &BTreeSet<&str>,
    listed: &BTreeMap<String, Checksums>,
) -> String {
    let mut p = Paragraph::new();
    p.set("Origin", &s.origin);
    p.set("Label", &s.label);
    p.set("Suite", &s.suite);
    p.set("Codename", &s.codename);
    p.set("Date", s.date.rfc2822());
    if let Some(secs) = s.valid_for {
        let until = s
            .date
            .unix()
            .saturating_add(i64::try_from(secs).unwrap_or(i64::MAX));
        let until = SourceDate::from_unix(until).unwrap_or(s.date);
        p.set("Valid-Until", until.rfc2822());
    }
    p.set(
        "Architectures",
        archs.iter().copied().collect::<Vec<_>>().join(" "),
    );
    p.set(
        "Components",
        components.iter().copied().collect::<Vec<_>>().join(" "),
    );
    if let Some(d) = &s.description {
        p.set_nonempty("Description", d);
    }
    p.set("Acquire-By-Hash", "yes");
    p.set("No-Support-for-Architecture-all", "Packages");
    let width = listed
        .values()
        .map(|c| c.size.to_string().len())
        .max()
        .unwrap_or(1);
    let section = |pick: fn(&Checksums) -> &str| {
        listed.iter().fold(String::new(), |mut out, (path, c)| {
            out.push_str(&format!("\n {} {:>width$} {path}", pick(c), c.size));
            out
        })
    };
    p.set("SHA256", section(|c| &c.sha256));
    p.set("SHA512", section(|c| &c.sha512));
    p.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, version: &str, arch: &str) -> AptRecord {
        let control = Paragraph::parse_one(&format!(
            "Package: {name}\nVersion: {version}\nArchitecture: {arch}\nMaintainer: M <m@e.org>\nDescription: d\n"
        ))
        .unwrap();
        AptRecord {
            component: "main".into(),
            control,
            filename: pool_path("main", name, &format!("{name}_{version}_{arch}.deb")),
            checksums: Checksums::of(name.as_bytes()),
        }
    }

    #[test]
    fn stanza_replaces_file_fields_the_package_carries() {
        let control = Paragraph::parse_one(
            "Package: x\nsize: 1\nVersion: 1\nSHA1: aa\nArchitecture: all\nDescription:\n long\n .\n text\nFilename: y\n",
        )
        .unwrap();
        let mut r = AptRecord {
            component: "main".into(),
            control,
            filename: "pool/main/x/x/x_1_all.deb".into(),
            checksums: Checksums::of(b"x"),
        };
        assert_eq!(
            r.stanza(),
            format!(
                "Package: x\nVersion: 1\nArchitecture: all\nDescription:\n long\n .\n text\n\
                 Filename: pool/main/x/x/x_1_all.deb\nSize: 1\nSHA256: {}\nSHA512: {}\n",
                r.checksums.sha256, r.checksums.sha512
            )
        );
        // A package's own checksums (from a record of an older wharf: MD5 kept, no SHA-512) in their order.
        r.checksums.md5 = "m".into();
        r.checksums.sha512 = String::new();
        assert!(
            r.stanza()
                .ends_with(&format!("Size: 1\nMD5sum: m\nSHA256: {}\n", r.checksums.sha256))
        );
    }

    fn settings() -> SuiteSettings {
        SuiteSettings {
            suite: "stable".into(),
            codename: "stable".into(),
            origin: "wharf".into(),
            label: "wharf".into(),
            description: None,
            components: vec!["main".into()],
            architectures: vec![],
            date: SourceDate::from_unix(1_700_000_000).unwrap(),
            valid_for: Some(86_400 * 7),
        }
    }

    #[test]
    fn stanzas_are_taken_from_the_current_packages() {
        let recs = [
            record("hello", "1.10", "amd64"),
            record("hello", "1.9", "amd64"),
            record("libdoc", "1", "all"),
            record("zz", "2", "amd64"),
        ];
        let stanzas: Vec<String> = recs.iter().map(|r| r.stanza()).collect();
        let entries: Vec<SuiteEntry<'_>> = recs.iter().zip(&stanzas).map(|(r, s)| r.entry(s)).collect();
        let whole = build_suite(&settings(), &entries, &|_| None).unwrap().unwrap();
        let file =
            |idx: &SuiteIndex, path: &str| idx.files.iter().find(|f| f.path == path).unwrap().bytes.clone();
        let plain = file(&whole, "dists/stable/main/binary-amd64/Packages");
        // The current `Packages` held every package but `hello 1.9`, and one since pruned.
        let before = [&entries[0], &entries[2], &entries[3]]
            .iter()
            .map(|e| match e.stanza {
                Stanza::Text(t) => t.to_owned(),
                Stanza::Published(_) => unreachable!(),
            })
            .collect::<Vec<_>>();
        let current = [
            before[0].clone(),
            record("old", "1", "amd64").stanza(),
            before[1].clone(),
            before[2].clone(),
        ]
        .join("\n");
        let previous = |path: &str| {
            (path == "dists/stable/main/binary-amd64/Packages").then(|| current.clone().into_bytes())
        };
        let mut spliced = entries.clone();
        for i in [0, 2, 3] {
            spliced[i].stanza = Stanza::Published(stanzas[i].len());
        }
        let idx = build_suite(&settings(), &spliced, &previous).unwrap().unwrap();
        assert_eq!(file(&idx, "dists/stable/main/binary-amd64/Packages"), plain);
        assert_eq!(idx.release, whole.release);
        // Not there, or not of that length: refused, for the caller to give every stanza.
        spliced[1].stanza = Stanza::Published(stanzas[1].len());
        assert!(build_suite(&settings(), &spliced, &previous).unwrap().is_none());
        spliced[1].stanza = Stanza::Text(&stanzas[1]);
        spliced[3].stanza = Stanza::Published(stanzas[3].len() + 1);
        assert!(build_suite(&settings(), &spliced, &previous).unwrap().is_none());
        assert!(build_suite(&settings(), &spliced, &|_| None).unwrap().is_none());
    }

    #[test]
    fn suite_layout_and_release() {
        let recs = [
            record("hello", "1.10", "amd64"),
            record("hello", "1.9", "amd64"),
            record("libdoc", "1", "all"),
        ];
        let stanzas: Vec<String> = recs.iter().map(|r| r.stanza()).collect();
        let entries: Vec<SuiteEntry<'_>> = recs.iter().zip(&stanzas).map(|(r, s)| r.entry(s)).collect();
        let idx = build_suite(&settings(), &entries, &|_| None).unwrap().unwrap();
        let plain = idx
            .files
            .iter()
            .find(|f| f.path == "dists/stable/main/binary-amd64/Packages")
            .unwrap();
        let text = String::from_utf8(plain.bytes.clone()).unwrap();
        let order: Vec<&str> = text.lines().filter(|l| l.starts_with("Version:")).collect();
        assert_eq!(
            order,
            ["Version: 1.9", "Version: 1.10", "Version: 1"],
            "dpkg order, then the `all` package"
        );
        assert!(text.contains("Filename: pool/main/libd/libdoc/libdoc_1_all.deb"));
        assert_eq!(idx.files.len(), 3);
        assert!(plain.by_hash[1].starts_with("dists/stable/main/binary-amd64/by-hash/SHA512/"));
        insta::assert_snapshot!(idx.release.lines().take(11).collect::<Vec<_>>().join("\n"), @r"
        Origin: wharf
        Label: wharf
        Suite: stable
        Codename: stable
        Date: Tue, 14 Nov 2023 22:13:20 UTC
        Valid-Until: Tue, 21 Nov 2023 22:13:20 UTC
        Architectures: amd64
        Components: main
        Acquire-By-Hash: yes
        No-Support-for-Architecture-all: Packages
        SHA256:
        ");
        assert!(idx.release.contains(" main/binary-amd64/Packages\n"));
        assert!(idx.release.contains(" main/binary-amd64/Packages.xz\n"));
    }
}
