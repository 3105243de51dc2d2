//! rpm-md repositories (`<dir>/repodata/repomd.xml`), checked as dnf (libdnf/librepo) and rpm read them
//! (createrepo_c's `repomd.xml`, `primary.xml`, `filelists.xml`, `other.xml` formats; librepo
//! `repomd.c`/`checksum.c`; rpm `rpmvs.c`):
//! - `repomd.xml.asc` is a good detached signature by a given key (`repo_gpgcheck=1`);
//! - every `<data>`: the file at `location href` with its `size` and `checksum`, and decompressed, its
//!   `open-size` and `open-checksum`;
//! - primary: `packages=` counts the packages; each package's file at `location href` (inside the
//!   repository) has `size package=` bytes and the `pkgid` checksum; the rpm parses, its name, epoch,
//!   version, release and arch are the primary's, its header and payload digests hold, and its header
//!   signature is good by a given key (`gpgcheck=1`); filelists and other list the same packages.

use std::collections::{BTreeMap, BTreeSet};

use quick_xml::events::Event;
use rpm::signature::pgp::Verifier;

use crate::{
    Ctx, Fault, Kind, RepoReport, Wanted, check_packages, decompress, digest, join, openpgp_result, safe,
};

/// A minimal XML element tree (namespace prefixes dropped), enough for repodata.
#[derive(Debug, Default)]
struct Node {
    name: String,
    attrs: Vec<(String, String)>,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }
}

fn local(name: &[u8]) -> String {
    let s = String::from_utf8_lossy(name);
    s.rsplit(':').next().unwrap_or(&s).to_owned()
}

fn element(e: &quick_xml::events::BytesStart<'_>) -> Result<Node, String> {
    let mut attrs = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|e| e.to_string())?;
        let key = String::from_utf8_lossy(a.key.as_ref()).into_owned();
        let value = a
            .normalized_value(quick_xml::XmlVersion::Implicit1_0)
            .map_err(|e| e.to_string())?
            .into_owned();
        // `xml:base` keeps its prefix; other prefixes are dropped.
        let key = if key == "xml:base" {
            key
        } else {
            local(key.as_bytes())
        };
        attrs.push((key, value));
    }
    Ok(Node {
        name: local(e.name().as_ref()),
        attrs,
        ..Node::default()
    })
}

/// How deep [`parse`] lets elements nest.
const MAX_DEPTH: usize = 32;

/// Parses a whole XML document into its root element.
fn parse(bytes: &[u8]) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_reader(bytes);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut buf = Vec::new();
    loop {
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("not well-formed XML at byte {} ({e})", reader.buffer_position()))?;
        match ev {
            Event::Start(e) => {
                // rpm-md documents nest five deep (`metadata/package/format/rpm:provides/rpm:entry`); a
                // tree much deeper would only exhaust the stack when dropped.
                if stack.len() > MAX_DEPTH {
                    return Err(format!(
                        "elements nested deeper than {MAX_DEPTH} levels: not an rpm-md document"
                    ));
                }
                stack.push(element(&e)?);
            }
            Event::Empty(e) => {
                let n = element(&e)?;
                stack.last_mut().ok_or("unbalanced")?.children.push(n);
            }
            Event::End(_) => {
                let n = stack.pop().ok_or("unbalanced")?;
                stack
                    .last_mut()
                    .ok_or_else(|| "unbalanced end tag".to_owned())?
                    .children
                    .push(n);
            }
            Event::Text(t) => {
                let t = t.xml10_content().map_err(|e| e.to_string())?;
                stack.last_mut().ok_or("unbalanced")?.text.push_str(&t);
            }
            Event::CData(t) => {
                let t = String::from_utf8_lossy(&t).into_owned();
                stack.last_mut().ok_or("unbalanced")?.text.push_str(&t);
            }
            Event::GeneralRef(r) => {
                let name = r.decode().map_err(|e| e.to_string())?.into_owned();
                let text = match r.resolve_char_ref().map_err(|e| e.to_string())? {
                    Some(c) => c.to_string(),
                    None => quick_xml::escape::resolve_predefined_entity(&name)
                        .ok_or_else(|| format!("unknown entity &{name};"))?
                        .to_owned(),
                };
                stack.last_mut().ok_or("unbalanced")?.text.push_str(&text);
            }
            Event::Eof => break,
            _ => {}
        }
        buf.clear();
    }
    if stack.len() != 1 {
        return Err("the document ends inside an element (truncated)".into());
    }
    stack
        .pop()
        .and_then(|mut doc| doc.children.pop())
        .ok_or_else(|| "no root element".into())
}

/// One package as primary.xml lists it.
struct Listed {
    name: String,
    arch: String,
    epoch: String,
    ver: String,
    rel: String,
    alg: String,
    pkgid: String,
    size: Option<u64>,
    href: String,
    base: Option<String>,
}

pub(crate) fn check(ctx: &mut Ctx<'_>, dir: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::RpmMd, dir);
    let repomd_key = join(dir, "repodata/repomd.xml");
    let asc_key = join(dir, "repodata/repomd.xml.asc");
    let Some(repomd) = ctx.get(&repomd_key) else {
        rep.fail(&repomd_key, Fault::Missing, "not there");
        return rep;
    };
    rep.indexes += 1;
    match ctx.get(&asc_key) {
        None => rep.fail(
            &asc_key,
            Fault::Unsigned,
            "repomd.xml is not signed: dnf with repo_gpgcheck=1 refuses the repository",
        ),
        Some(sig) => {
            let checked = ctx.keys.openpgp.detached(&repomd, &sig);
            openpgp_result(ctx, &mut rep, &asc_key, checked);
        }
    }
    let root = match parse(&repomd) {
        Ok(r) if r.name == "repomd" => r,
        Ok(r) => {
            rep.fail(
                &repomd_key,
                Fault::Malformed,
                format!("the root element is <{}>, not <repomd>", r.name),
            );
            return rep;
        }
        Err(e) => {
            rep.fail(&repomd_key, Fault::Malformed, e);
            return rep;
        }
    };
    // Every data file, with its decompressed text kept for the XML ones.
    let mut texts: BTreeMap<String, (String, Vec<u8>)> = BTreeMap::new();
    for data in root.all("data") {
        let typ = data.attr("type").unwrap_or("").to_owned();
        let Some(href) = data.child("location").and_then(|l| l.attr("href")) else {
            rep.fail(
                &repomd_key,
                Fault::Malformed,
                format!("<data type=\"{typ}\"> has no location"),
            );
            continue;
        };
        if !safe(href) {
            rep.fail(
                &repomd_key,
                Fault::Malformed,
                format!("location `{href}` leaves the repository"),
            );
            continue;
        }
        let key = join(dir, href);
        let stated = |n: &str| data.child(n).and_then(|s| s.text.trim().parse::<u64>().ok());
        let Some(bytes) = ctx.get_sized(&key, stated("size")) else {
            rep.fail(
                &key,
                Fault::Missing,
                format!("repomd.xml lists it as {typ}, but it is not there"),
            );
            continue;
        };
        rep.indexes += 1;
        sized(&mut rep, &key, bytes.len(), data.child("size"), "repomd.xml");
        hashed(&mut rep, &key, &bytes, data.child("checksum"), "repomd.xml");
        let plain = match decompress(href, &bytes, stated("open-size")) {
            None => bytes,
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                rep.fail(&key, Fault::Malformed, e);
                continue;
            }
        };
        let opened = format!("{key} (decompressed)");
        sized(
            &mut rep,
            &opened,
            plain.len(),
            data.child("open-size"),
            "repomd.xml's open-size",
        );
        hashed(
            &mut rep,
            &opened,
            &plain,
            data.child("open-checksum"),
            "repomd.xml's open-checksum",
        );
        if matches!(typ.as_str(), "primary" | "filelists" | "other") {
            texts.insert(typ, (key, plain));
        }
    }
    let Some((primary_key, primary)) = texts.get("primary") else {
        rep.fail(
            &repomd_key,
            Fault::Missing,
            "lists no primary metadata: dnf cannot load the repository",
        );
        return rep;
    };
    let primary_key = primary_key.clone();
    let listed = match parse(primary).and_then(|doc| {
        count(&mut rep, &primary_key, &doc);
        packages_of(&doc)
    }) {
        Ok(l) => l,
        Err(e) => {
            rep.fail(&primary_key, Fault::Malformed, e);
            return rep;
        }
    };
    // filelists and other describe the same packages.
    let ids: BTreeSet<&str> = listed.iter().map(|p| p.pkgid.as_str()).collect();
    for typ in ["filelists", "other"] {
        let Some((key, text)) = texts.get(typ) else {
            continue;
        };
        match parse(text) {
            Err(e) => rep.fail(key, Fault::Malformed, e),
            Ok(doc) => {
                let theirs: BTreeSet<&str> = doc.all("package").filter_map(|p| p.attr("pkgid")).collect();
                count(&mut rep, key, &doc);
                if theirs != ids {
                    let only_here = theirs.difference(&ids).count();
                    let only_primary = ids.difference(&theirs).count();
                    rep.fail(
                        key,
                        Fault::Mismatch,
                        format!("{typ} and primary list different packages ({only_primary} only in primary, {only_here} only in {typ}): dnf pairs them by pkgid"),
                    );
                }
            }
        }
    }
    let verifier = rpm_verifier(ctx);
    let mut wanted = Vec::new();
    for p in &listed {
        let what = format!("primary ({})", p.name);
        if p.base.is_some() {
            // xml:base points somewhere else (createrepo --baseurl): not in this target.
            continue;
        }
        if !safe(&p.href) {
            rep.fail(
                &primary_key,
                Fault::Malformed,
                format!("{}: location `{}` leaves the repository", p.name, p.href),
            );
            continue;
        }
        let key = join(dir, &p.href);
        let alg = p.alg.clone();
        let Some(alg) = ["md5", "sha1", "sha224", "sha256", "sha384", "sha512"]
            .into_iter()
            .find(|a| *a == alg.as_str())
            .or(if alg == "sha" { Some("sha1") } else { None })
        else {
            rep.fail(
                &primary_key,
                Fault::Malformed,
                format!("{}: unknown checksum type `{}`", p.name, p.alg),
            );
            continue;
        };
        wanted.push((
            Wanted {
                key,
                size: p.size,
                hashes: vec![(alg, p.pkgid.clone())],
                index: what,
            },
            p,
        ));
    }
    // The packages, read on every core.
    check_packages(
        ctx,
        &mut rep,
        wanted,
        |r| wharf_package::rpm::read_checked(r),
        |rep, w, p, checked| rpm_package(rep, &w.key, checked, p, verifier.as_ref()),
    );
    rep
}

fn count(rep: &mut RepoReport, key: &str, doc: &Node) {
    let n = doc.all("package").count();
    match doc.attr("packages").map(str::parse::<usize>) {
        Some(Ok(c)) if c == n => {}
        Some(Ok(c)) => rep.fail(
            key,
            Fault::Malformed,
            format!("says packages=\"{c}\" but holds {n}: dnf reads it as corrupt"),
        ),
        _ => rep.fail(key, Fault::Malformed, "has no packages= count"),
    }
}

fn packages_of(doc: &Node) -> Result<Vec<Listed>, String> {
    if doc.name != "metadata" {
        return Err(format!("the root element is <{}>, not <metadata>", doc.name));
    }
    let mut out = Vec::new();
    for p in doc.all("package") {
        let text = |n: &str| p.child(n).map(|c| c.text.clone()).unwrap_or_default();
        let version = p.child("version");
        let checksum = p.child("checksum");
        let location = p.child("location");
        let name = text("name");
        let (Some(version), Some(checksum), Some(location)) = (version, checksum, location) else {
            return Err(format!("package `{name}` lacks version, checksum or location"));
        };
        out.push(Listed {
            arch: text("arch"),
            epoch: version.attr("epoch").unwrap_or("0").to_owned(),
            ver: version.attr("ver").unwrap_or("").to_owned(),
            rel: version.attr("rel").unwrap_or("").to_owned(),
            alg: checksum.attr("type").unwrap_or("").to_ascii_lowercase(),
            pkgid: checksum.text.trim().to_ascii_lowercase(),
            size: p
                .child("size")
                .and_then(|s| s.attr("package"))
                .and_then(|s| s.parse().ok()),
            href: location.attr("href").unwrap_or("").to_owned(),
            base: location.attr("xml:base").map(str::to_owned),
            name,
        });
    }
    Ok(out)
}

fn sized(rep: &mut RepoReport, key: &str, len: usize, want: Option<&Node>, index: &str) {
    if let Some(n) = want
        && n.text.trim().parse::<u64>().ok() != Some(len as u64)
    {
        rep.fail(
            key,
            Fault::SizeMismatch,
            format!("{len} bytes, {index} says {}", n.text.trim()),
        );
    }
}

fn hashed(rep: &mut RepoReport, key: &str, bytes: &[u8], want: Option<&Node>, index: &str) {
    let Some(n) = want else {
        rep.fail(key, Fault::NoStrongHash, format!("{index} gives no checksum"));
        return;
    };
    let alg = n.attr("type").unwrap_or("");
    match digest(alg, bytes) {
        None => rep.fail(
            key,
            Fault::Malformed,
            format!("{index}: unknown checksum type `{alg}`"),
        ),
        Some(have) if !have.eq_ignore_ascii_case(n.text.trim()) => {
            rep.fail(
                key,
                Fault::HashMismatch,
                format!("{alg} {have}, {index} says {}", n.text.trim()),
            );
        }
        Some(_) => {}
    }
}

/// A verifier over the given OpenPGP keys, or `None` when there are none (digests are still checked).
fn rpm_verifier(ctx: &Ctx<'_>) -> Option<Verifier> {
    let armored = ctx.keys.openpgp.armored().ok()?;
    let mut v = Verifier::new();
    let mut any = false;
    for a in armored {
        any |= v.load_from_asc(&a).is_ok();
    }
    any.then_some(v)
}

/// The rpm itself: parses, says what primary says, digests hold, header signature good.
fn rpm_package(
    rep: &mut RepoReport,
    key: &str,
    read: Result<wharf_package::rpm::Checked, wharf_package::PackageError>,
    p: &Listed,
    verifier: Option<&Verifier>,
) {
    // Read as rpm reads it: headers validated before parsing, header and payload digests recomputed.
    let checked = match read {
        Ok(c) => c,
        Err(e) => {
            rep.fail(key, Fault::Malformed, format!("not a valid rpm: {e}"));
            return;
        }
    };
    let h = &checked.meta;
    let epoch = h.get_epoch().map_or_else(|_| "0".to_owned(), |e| e.to_string());
    let fields = [
        ("name", h.get_name().unwrap_or("").to_owned(), p.name.as_str()),
        ("epoch", epoch, p.epoch.as_str()),
        (
            "version",
            h.get_version().unwrap_or("").to_owned(),
            p.ver.as_str(),
        ),
        (
            "release",
            h.get_release().unwrap_or("").to_owned(),
            p.rel.as_str(),
        ),
        ("arch", arch_of(h), p.arch.as_str()),
    ];
    for (field, have, want) in fields {
        if have != want {
            rep.fail(
                key,
                Fault::Mismatch,
                format!("its header says {field} {have}, primary says {want}"),
            );
        }
    }
    if let Err(e) = h.verify_digests() {
        rep.fail(
            key,
            Fault::HashMismatch,
            format!("rpm's own digests do not hold ({e}): rpm refuses it"),
        );
        return;
    }
    let Some(verifier) = verifier else { return };
    match h.check_signatures(verifier.clone()) {
        Err(e) => rep.fail(
            key,
            Fault::PackageSignature,
            format!("signatures cannot be read ({e})"),
        ),
        Ok(report) if report.signatures.is_empty() => rep.fail(
            key,
            Fault::PackageSignature,
            "the package is not signed: dnf with gpgcheck=1 refuses it",
        ),
        Ok(report)
            if report
                .signatures
                .iter()
                .any(rpm::SignatureCheckResult::is_verified) => {}
        Ok(report) => {
            let by: Vec<String> = report
                .signatures
                .iter()
                .map(|s| {
                    let who = s
                        .info
                        .fingerprint()
                        .or(s.info.key_id())
                        .unwrap_or("an unnamed key");
                    let why = s.error.as_ref().map(ToString::to_string).unwrap_or_default();
                    format!("{} ({why})", who.to_ascii_uppercase())
                })
                .collect();
            rep.fail(
                key,
                Fault::PackageSignature,
                format!(
                    "no header signature checks out with the given keys: {}",
                    by.join("; ")
                ),
            );
        }
    }
}

/// The arch primary lists: `src` for source packages, else the header's arch.
fn arch_of(h: &rpm::PackageMetadata) -> String {
    if h.is_source_package() {
        return "src".into();
    }
    h.get_arch().unwrap_or("").to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_repodata_xml() {
        let doc = parse(
            br#"<?xml version="1.0"?><metadata xmlns="http://linux.duke.edu/metadata/common" xmlns:rpm="x" packages="1">
<package type="rpm"><name>a&amp;b</name><arch>noarch</arch><version epoch="0" ver="1" rel="2"/>
<checksum type="sha256" pkgid="YES">AB</checksum><size package="3"/><location href="a.rpm"/>
<format><rpm:license>MIT</rpm:license></format></package></metadata>"#,
        )
        .unwrap();
        let l = packages_of(&doc).unwrap();
        assert_eq!(l[0].name, "a&b");
        assert_eq!(
            (l[0].size, l[0].pkgid.as_str(), l[0].href.as_str()),
            (Some(3), "ab", "a.rpm")
        );
        assert!(parse(b"<metadata><package>").is_err(), "truncated");
        let mut rep = RepoReport::new(Kind::RpmMd, "");
        count(
            &mut rep,
            "p",
            &parse(br#"<metadata packages="2"></metadata>"#).unwrap(),
        );
        assert_eq!(rep.findings[0].fault, Fault::Malformed);
    }

    #[test]
    fn deep_nesting_is_refused_not_a_stack_overflow() {
        // 200,000 nested elements: dropping such a tree recursively overflowed the stack.
        let mut doc = String::from("<repomd>");
        doc.push_str(&"<a>".repeat(200_000));
        doc.push_str(&"</a>".repeat(200_000));
        doc.push_str("</repomd>");
        let e = parse(doc.as_bytes()).unwrap_err();
        assert!(e.contains("nested deeper"), "{e}");
        let ok = format!(
            "<r>{}{}</r>",
            "<a>".repeat(MAX_DEPTH - 1),
            "</a>".repeat(MAX_DEPTH - 1)
        );
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn a_malformed_rpm_is_a_finding_not_a_panic() {
        // Lead, then a signature header whose one entry points 100 bytes into a 4-byte store: the rpm
        // crate's parser sliced there and panicked.
        let mut rpm = vec![0u8; 96];
        rpm[..4].copy_from_slice(&[0xed, 0xab, 0xee, 0xdb]);
        rpm.extend_from_slice(&[0x8e, 0xad, 0xe8, 0x01, 0, 0, 0, 0]);
        rpm.extend_from_slice(&1u32.to_be_bytes());
        rpm.extend_from_slice(&4u32.to_be_bytes());
        for field in [1000u32, 4, 100, 1] {
            rpm.extend_from_slice(&field.to_be_bytes());
        }
        rpm.extend_from_slice(&[0; 4]);
        let listed = Listed {
            name: "x".into(),
            arch: "x86_64".into(),
            epoch: "0".into(),
            ver: "1".into(),
            rel: "1".into(),
            alg: "sha256".into(),
            pkgid: String::new(),
            size: None,
            href: "x.rpm".into(),
            base: None,
        };
        let mut rep = RepoReport::new(Kind::RpmMd, "");
        rpm_package(
            &mut rep,
            "x.rpm",
            wharf_package::rpm::read_checked(&rpm[..]),
            &listed,
            None,
        );
        assert_eq!(rep.findings.len(), 1, "{:?}", rep.findings);
        assert_eq!(rep.findings[0].fault, Fault::Malformed);
    }
}
