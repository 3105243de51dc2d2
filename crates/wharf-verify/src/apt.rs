//! apt suites (`dists/<suite>`), checked as apt's acquire logic reads them (apt `apt-pkg/acquire-item.cc`,
//! `deb/debmetaindex.cc`, `indexcopy.cc`; Debian's repository format wiki):
//! - `InRelease` (cleartext-signed; nothing may stand outside the signed part) or `Release` +
//!   `Release.gpg`, by a given key, not SHA-1; when both exist they must say the same;
//! - `Date` not in the future, `Valid-Until` not passed;
//! - every file in `MD5Sum`/`SHA1`/`SHA256`/`SHA512` present with that size and those hashes, the same size
//!   in every section, at least SHA256 or SHA512 (apt ignores weaker ones); an uncompressed index may be
//!   absent when a compressed variant is there (apt decompresses it and checks the result against the
//!   uncompressed entry, which must therefore be listed);
//! - with `Acquire-By-Hash: yes`, `by-hash/<Hash>/<hex>` beside each index holds exactly those bytes;
//! - every `Components` × `Architectures` has a `binary-<arch>/Packages` index;
//! - every `Packages` stanza has Package, Version, Architecture (its index's or `all`), Filename, Size and a
//!   strong hash; the pool file is there with that size and those hashes, and its control says the same
//!   Package, Version and Architecture.

use std::collections::BTreeMap;

use wharf_core::deb822::Paragraph;

use crate::{
    Ctx, Fault, Kind, RepoReport, Wanted, check_packages, compare, decompress, digest, join, openpgp_result,
    rfc2822, safe,
};

const SECTIONS: [(&str, &str); 4] = [
    ("MD5Sum", "md5"),
    ("SHA1", "sha1"),
    ("SHA256", "sha256"),
    ("SHA512", "sha512"),
];
const COMPRESSED: [&str; 6] = [".gz", ".xz", ".zst", ".bz2", ".lzma", ".lz4"];

/// One file the Release lists.
#[derive(Debug, Default)]
struct Entry {
    size: Option<u64>,
    hashes: Vec<(&'static str, String)>,
}

pub(crate) fn check(ctx: &mut Ctx<'_>, dir: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Apt, dir);
    let root = match dir.find("dists/") {
        Some(0) => String::new(),
        Some(i) => dir[..i].trim_end_matches('/').to_owned(),
        None => String::new(),
    };
    let Some(text) = signed_release(ctx, &mut rep, dir) else {
        return rep;
    };
    let release_name = join(dir, "Release");
    let release = match Paragraph::parse_one(&text) {
        Ok(p) => p,
        Err(e) => {
            rep.fail(
                &release_name,
                Fault::Malformed,
                format!("not a deb822 paragraph ({e})"),
            );
            return rep;
        }
    };
    dates(ctx, &mut rep, &release_name, &release);

    // The file list, by path, from every hash section.
    let mut files: BTreeMap<String, Entry> = BTreeMap::new();
    for (field, alg) in SECTIONS {
        let Some(v) = release.get(field) else { continue };
        for line in v.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let [hash, size, path] = parts[..] else {
                rep.fail(
                    &release_name,
                    Fault::Malformed,
                    format!("{field}: bad line `{line}`"),
                );
                continue;
            };
            let Ok(size) = size.parse::<u64>() else {
                rep.fail(
                    &release_name,
                    Fault::Malformed,
                    format!("{field}: bad size in `{line}`"),
                );
                continue;
            };
            if !safe(path) {
                rep.fail(
                    &release_name,
                    Fault::Malformed,
                    format!("{field}: `{path}` leaves the suite"),
                );
                continue;
            }
            let e = files.entry(path.to_owned()).or_default();
            if e.size.is_some_and(|s| s != size) {
                rep.fail(
                    &release_name,
                    Fault::Malformed,
                    format!("`{path}` has different sizes in different hash sections"),
                );
            }
            e.size = Some(size);
            e.hashes.push((alg, hash.to_ascii_lowercase()));
        }
    }
    if files.is_empty() {
        rep.fail(
            &release_name,
            Fault::Malformed,
            "lists no files (no SHA256 section)",
        );
        return rep;
    }
    let strong = |e: &Entry| e.hashes.iter().any(|(a, _)| matches!(*a, "sha256" | "sha512"));
    let by_hash = release
        .get("Acquire-By-Hash")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"));

    // Every listed file: present (or an uncompressed index with a compressed variant), right size and hashes.
    let mut contents: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    let mut absent = Vec::new();
    for (path, e) in &files {
        let key = join(dir, path);
        if !strong(e) {
            rep.fail(
                &key,
                Fault::NoStrongHash,
                "the Release gives it only MD5/SHA1, which apt no longer trusts",
            );
        }
        let Some(bytes) = ctx.get_sized(&key, e.size) else {
            absent.push(path);
            continue;
        };
        rep.indexes += 1;
        let want: Vec<(&'static str, &str)> = e.hashes.iter().map(|(a, h)| (*a, h.as_str())).collect();
        compare(
            &mut rep,
            &key,
            bytes.len() as u64,
            e.size,
            &want,
            "the Release",
            |alg| digest(alg, &bytes),
        );
        if by_hash {
            check_by_hash(ctx, &mut rep, dir, path, e, &bytes);
        }
        contents.insert(path.clone(), bytes);
    }

    // An absent uncompressed index is fine when a compressed variant is there (apt fetches that).
    for path in absent {
        if !COMPRESSED
            .iter()
            .any(|ext| contents.contains_key(&format!("{path}{ext}")))
        {
            rep.fail(
                &join(dir, path),
                Fault::Missing,
                "the Release lists it, but it is not there",
            );
        }
    }

    // Index variants: each compressed one decompresses to the listed uncompressed entry. The first
    // decompressed text of an index without its plain file is kept for the stanza checks.
    let mut decompressed: BTreeMap<&str, Vec<u8>> = BTreeMap::new();
    for (path, bytes) in &contents {
        let Some(base) = COMPRESSED.iter().find_map(|ext| path.strip_suffix(ext)) else {
            continue;
        };
        let key = join(dir, path);
        let plain = match decompress(path, bytes, files.get(base).and_then(|e| e.size)) {
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                rep.fail(&key, Fault::Malformed, e);
                continue;
            }
            None => continue,
        };
        match files.get(base) {
            // apt acquires Packages and Sources through their uncompressed entry; Contents and
            // Translation files are fetched by other tools and listed compressed only by apt-ftparchive.
            None if !(base.ends_with("/Packages") || base.ends_with("/Sources")) => {}
            None => rep.fail(
                &key,
                Fault::Unlisted,
                format!("the Release lists {path} but not the uncompressed {base}: apt checks the decompressed index against that entry and fails without it"),
            ),
            Some(e) => {
                let want: Vec<(&'static str, &str)> = e.hashes.iter().map(|(a, h)| (*a, h.as_str())).collect();
                let index = format!("the Release's {base} entry");
                let key = format!("{key} (decompressed)");
                compare(&mut rep, &key, plain.len() as u64, e.size, &want, &index, |alg| digest(alg, &plain));
            }
        }
        if !contents.contains_key(base) {
            decompressed.entry(base).or_insert(plain);
        }
    }

    // Every component × architecture has a Packages index.
    let archs: Vec<&str> = release
        .get("Architectures")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    let comps: Vec<&str> = release
        .get("Components")
        .unwrap_or("")
        .split_whitespace()
        .collect();
    for comp in &comps {
        for arch in archs.iter().filter(|a| **a != "all") {
            let base = format!("{comp}/binary-{arch}/Packages");
            if !files.contains_key(&base)
                && !COMPRESSED
                    .iter()
                    .any(|x| files.contains_key(&format!("{base}{x}")))
            {
                rep.fail(
                    &release_name,
                    Fault::Missing,
                    format!("names component {comp} and architecture {arch} but lists no {base}: apt reports the component missing"),
                );
            }
        }
    }

    // Each Packages index (the plain one, or the first variant that decompressed), once.
    let indexes: std::collections::BTreeSet<&str> = files
        .keys()
        .map(|p| COMPRESSED.iter().find_map(|ext| p.strip_suffix(ext)).unwrap_or(p))
        .filter(|b| b.ends_with("/Packages"))
        .collect();
    for base in indexes {
        let Some(text) = contents.get(base).or_else(|| decompressed.get(base)) else {
            continue;
        };
        let arch = base
            .rsplit('/')
            .nth(1)
            .and_then(|d| d.strip_prefix("binary-"))
            .unwrap_or("")
            .to_owned();
        packages(ctx, &mut rep, &root, &join(dir, base), &arch, text);
    }
    rep
}

/// The signed Release text: from InRelease (checked) or Release + Release.gpg (checked).
fn signed_release(ctx: &mut Ctx<'_>, rep: &mut RepoReport, dir: &str) -> Option<String> {
    let in_key = join(dir, "InRelease");
    let rel_key = join(dir, "Release");
    let gpg_key = join(dir, "Release.gpg");
    let inrelease = ctx.get(&in_key);
    let release = ctx.get(&rel_key);
    let mut text = None;
    if let Some(b) = &inrelease {
        rep.indexes += 1;
        match std::str::from_utf8(b) {
            Err(_) => rep.fail(&in_key, Fault::Malformed, "not UTF-8 text"),
            Ok(s) => {
                let t = s.trim();
                if !t.starts_with("-----BEGIN PGP SIGNED MESSAGE-----")
                    || !t.ends_with("-----END PGP SIGNATURE-----")
                {
                    rep.fail(
                        &in_key,
                        Fault::Malformed,
                        "has text outside the signed message; apt refuses it (the unsigned part could say anything)",
                    );
                }
                let (signed, checked) = ctx.keys.openpgp.cleartext(s);
                openpgp_result(ctx, rep, &in_key, checked);
                text = signed;
            }
        }
    }
    if let Some(r) = &release {
        rep.indexes += 1;
        match ctx.get(&gpg_key) {
            Some(sig) => {
                let checked = ctx.keys.openpgp.detached(r, &sig);
                openpgp_result(ctx, rep, &gpg_key, checked);
            }
            None if inrelease.is_none() => rep.fail(
                &gpg_key,
                Fault::Unsigned,
                "Release has no Release.gpg and there is no InRelease: apt refuses the repository (\"is not signed\")",
            ),
            None => {}
        }
        let plain = String::from_utf8_lossy(r).into_owned();
        match &text {
            Some(t) if t.trim_end() != plain.trim_end() => rep.fail(
                &rel_key,
                Fault::VariantMismatch,
                "InRelease and Release say different things: clients reading either see different repositories",
            ),
            Some(_) => {}
            None => text = Some(plain),
        }
    }
    if inrelease.is_none() && release.is_none() {
        rep.fail(&in_key, Fault::Missing, "neither InRelease nor Release is there");
    }
    text
}

fn dates(ctx: &Ctx<'_>, rep: &mut RepoReport, file: &str, release: &Paragraph) {
    match release.get("Date").map(|d| (d, rfc2822(d))) {
        None => rep.fail(file, Fault::Malformed, "has no Date field"),
        Some((d, None)) => rep.fail(
            file,
            Fault::Malformed,
            format!("Date `{d}` is not an RFC 2822 date"),
        ),
        // apt allows a little clock skew (Acquire::Max-FutureTime is for Valid-Until; Date gets none by
        // default, but one minute keeps honest publishers clear of rounding).
        Some((d, Some(t))) if t > ctx.now + 60 => rep.fail(
            file,
            Fault::NotYetValid,
            format!("Date {d} is in the future: apt refuses it (\"not valid yet\")"),
        ),
        Some(_) => {}
    }
    if let Some(v) = release.get("Valid-Until") {
        match rfc2822(v) {
            None => rep.fail(file, Fault::Malformed, format!("Valid-Until `{v}` is not an RFC 2822 date")),
            Some(t) if t < ctx.now => rep.fail(
                file,
                Fault::Expired,
                format!("Valid-Until {v} has passed: apt refuses the repository (\"is expired\"); publish again to re-sign"),
            ),
            Some(_) => {}
        }
    }
}

/// The by-hash copy apt fetches (the strongest hash the Release gives) must hold these bytes.
fn check_by_hash(ctx: &mut Ctx<'_>, rep: &mut RepoReport, dir: &str, path: &str, e: &Entry, bytes: &[u8]) {
    let Some((alg, hash)) = e
        .hashes
        .iter()
        .rev()
        .find(|(a, _)| matches!(*a, "sha512" | "sha256"))
    else {
        return;
    };
    let name = if *alg == "sha512" { "SHA512" } else { "SHA256" };
    let parent = path.rsplit_once('/').map_or("", |(d, _)| d);
    let key = join(dir, &join(parent, &format!("by-hash/{name}/{hash}")));
    match ctx.get_sized(&key, e.size) {
        None => rep.fail(
            &key,
            Fault::MissingByHash,
            format!("Acquire-By-Hash is on, so apt fetches {path} by this name, but it is not there"),
        ),
        Some(b) if b != bytes => rep.fail(
            &key,
            Fault::StaleByHash,
            format!(
                "holds other bytes than {path} (its {alg} is {}), not the content its name says",
                digest(alg, &b).unwrap_or_default()
            ),
        ),
        Some(_) => {}
    }
}

/// Every stanza of one Packages index, and the pool file it names.
fn packages(ctx: &mut Ctx<'_>, rep: &mut RepoReport, root: &str, index: &str, arch: &str, text: &[u8]) {
    let Ok(text) = std::str::from_utf8(text) else {
        rep.fail(index, Fault::Malformed, "not UTF-8 text");
        return;
    };
    let stanzas = match Paragraph::parse_all(text) {
        Ok(s) => s,
        Err(e) => {
            rep.fail(index, Fault::Malformed, format!("not deb822 ({e})"));
            return;
        }
    };
    let mut wanted = Vec::new();
    for st in &stanzas {
        let name = st.get("Package").unwrap_or("");
        let what = format!("{index} ({name})");
        let missing: Vec<&str> = ["Package", "Version", "Architecture", "Filename", "Size"]
            .into_iter()
            .filter(|f| st.get(f).is_none_or(str::is_empty))
            .collect();
        if !missing.is_empty() {
            rep.fail(
                index,
                Fault::Malformed,
                format!(
                    "a stanza{} lacks {}",
                    if name.is_empty() {
                        String::new()
                    } else {
                        format!(" ({name})")
                    },
                    missing.join(", ")
                ),
            );
            continue;
        }
        let (version, st_arch, filename) = (
            st.get("Version").unwrap_or(""),
            st.get("Architecture").unwrap_or(""),
            st.get("Filename").unwrap_or(""),
        );
        if st_arch != arch && st_arch != "all" {
            rep.fail(index, Fault::Mismatch, format!("{name} {version} is Architecture {st_arch} in the binary-{arch} index: apt would install it on {arch}"));
        }
        let Ok(size) = st.get("Size").unwrap_or("").parse::<u64>() else {
            rep.fail(index, Fault::Malformed, format!("{name}: Size is not a number"));
            continue;
        };
        if !safe(filename) {
            rep.fail(
                index,
                Fault::Malformed,
                format!("{name}: Filename `{filename}` leaves the archive"),
            );
            continue;
        }
        let hashes: Vec<(&'static str, &str)> = [
            ("MD5sum", "md5"),
            ("SHA1", "sha1"),
            ("SHA256", "sha256"),
            ("SHA512", "sha512"),
        ]
        .into_iter()
        .filter_map(|(f, a)| st.get(f).map(|h| (a, h)))
        .collect();
        if !hashes.iter().any(|(a, _)| matches!(*a, "sha256" | "sha512")) {
            rep.fail(
                index,
                Fault::NoStrongHash,
                format!("{name} {version} has no SHA256 or SHA512: apt refuses to download it"),
            );
        }
        wanted.push((
            Wanted {
                key: join(root, filename),
                size: Some(size),
                hashes: hashes.iter().map(|(a, h)| (*a, (*h).to_owned())).collect(),
                index: what,
            },
            [name, version, st_arch],
        ));
    }
    // The pool files, read on every core; each one's control must say what its stanza says.
    check_packages(
        ctx,
        rep,
        wanted,
        |r| wharf_package::deb::inspect(r),
        |rep, w, said, inspected| match inspected {
            Err(e) => rep.fail(&w.key, Fault::Malformed, e.to_string()),
            Ok(info) => {
                for (field, want) in ["Package", "Version", "Architecture"].into_iter().zip(said) {
                    let have = info.control.get(field).unwrap_or("");
                    if have != want {
                        rep.fail(
                            &w.key,
                            Fault::Mismatch,
                            format!("its control says {field} {have}, {index} says {want}"),
                        );
                    }
                }
            }
        },
    );
}
