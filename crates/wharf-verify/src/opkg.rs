//! opkg feeds (`<dir>/Packages`, `Packages.gz`, `Packages.sig` beside the `.ipk` files), checked as
//! opkg-lede reads them (`libopkg/opkg_download.c` `opkg_verify_file`, `pkg_hash.c`, `pkg_parse.c`) with
//! usign (`usign -V -m Packages -P /etc/opkg/keys`):
//! - `Packages.sig` is a usign signature over the *uncompressed* `Packages` by a given key (found by
//!   fingerprint, opkg's key file name); `Packages.gz` decompresses to the same text;
//! - every stanza has Package, Version, Architecture and Filename; the file is there, with `Size` bytes and
//!   the `SHA256sum` (or `MD5Sum`) opkg checks after downloading, and its control says the same Package,
//!   Version and Architecture.

use wharf_core::deb822::Paragraph;

use crate::{Ctx, Fault, Kind, RepoReport, check_package, decompress, join, safe};

pub(crate) fn check(ctx: &mut Ctx<'_>, dir: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Opkg, dir);
    let plain_key = join(dir, "Packages");
    let gz_key = join(dir, "Packages.gz");
    let sig_key = join(dir, "Packages.sig");
    let plain = ctx.get(&plain_key);
    let gz = ctx.get(&gz_key);
    let unzipped = match &gz {
        None => None,
        Some(b) => {
            rep.indexes += 1;
            // The plain Packages (when there) is what the text must equal; no more is read.
            let limit = plain.as_ref().map(|p| p.len() as u64);
            match decompress("Packages.gz", b, limit) {
                Some(Ok(t)) => Some(t),
                Some(Err(e)) => {
                    rep.fail(&gz_key, Fault::Malformed, e);
                    None
                }
                None => None,
            }
        }
    };
    if let Some(p) = &plain {
        rep.indexes += 1;
        if unzipped.as_ref().is_some_and(|u| u != p) {
            rep.fail(&gz_key, Fault::VariantMismatch, "does not decompress to Packages: opkg (which fetches Packages.gz) and a check of Packages see different feeds");
        }
    }
    let Some(text) = plain.or(unzipped) else {
        if gz.is_none() {
            rep.fail(
                &plain_key,
                Fault::Missing,
                "neither Packages nor Packages.gz is there",
            );
        }
        return rep;
    };
    match ctx.get(&sig_key) {
        None => rep.fail(
            &sig_key,
            Fault::Unsigned,
            "the feed is not signed: opkg with `option check_signature` refuses it",
        ),
        Some(sig) => signature(ctx, &mut rep, &sig_key, &sig, &text),
    }
    let Ok(text) = std::str::from_utf8(&text) else {
        rep.fail(&plain_key, Fault::Malformed, "not UTF-8 text");
        return rep;
    };
    let stanzas = match Paragraph::parse_all(text) {
        Ok(s) => s,
        Err(e) => {
            rep.fail(&plain_key, Fault::Malformed, format!("not a control file ({e})"));
            return rep;
        }
    };
    for st in &stanzas {
        let name = st.get("Package").unwrap_or("");
        let missing: Vec<&str> = ["Package", "Version", "Architecture", "Filename"]
            .into_iter()
            .filter(|f| st.get(f).is_none_or(str::is_empty))
            .collect();
        if !missing.is_empty() {
            rep.fail(
                &plain_key,
                Fault::Malformed,
                format!("a stanza ({name}) lacks {}", missing.join(", ")),
            );
            continue;
        }
        let filename = st.get("Filename").unwrap_or("");
        if !safe(filename) {
            rep.fail(
                &plain_key,
                Fault::Malformed,
                format!("{name}: Filename `{filename}` leaves the feed"),
            );
            continue;
        }
        let size = match st.get("Size").map(str::parse::<u64>) {
            None => None,
            Some(Ok(s)) => Some(s),
            Some(Err(_)) => {
                rep.fail(
                    &plain_key,
                    Fault::Malformed,
                    format!("{name}: Size is not a number"),
                );
                continue;
            }
        };
        let hashes: Vec<(&'static str, &str)> = [("SHA256sum", "sha256"), ("MD5Sum", "md5")]
            .into_iter()
            .filter_map(|(f, a)| st.get(f).map(|h| (a, h)))
            .collect();
        if hashes.is_empty() {
            rep.fail(
                &plain_key,
                Fault::NoStrongHash,
                format!("{name} has neither SHA256sum nor MD5Sum: opkg installs it unchecked"),
            );
        }
        let key = join(dir, filename);
        let Some(inspected) = check_package(
            ctx,
            &mut rep,
            &key,
            size,
            &hashes,
            &format!("Packages ({name})"),
            |r| wharf_package::ipk::inspect(r),
        ) else {
            continue;
        };
        match inspected {
            Err(e) => rep.fail(&key, Fault::Malformed, e.to_string()),
            Ok(info) => {
                for field in ["Package", "Version", "Architecture"] {
                    let (have, want) = (info.control.get(field).unwrap_or(""), st.get(field).unwrap_or(""));
                    if have != want {
                        rep.fail(
                            &key,
                            Fault::Mismatch,
                            format!("its control says {field} {have}, Packages says {want}"),
                        );
                    }
                }
            }
        }
    }
    rep
}

fn signature(ctx: &Ctx<'_>, rep: &mut RepoReport, file: &str, sig: &[u8], message: &[u8]) {
    let Some(fp) = wharf_sign::usign::fingerprint_of(sig) else {
        rep.fail(file, Fault::Malformed, "not a usign signature file");
        return;
    };
    if ctx.keys.usign.is_empty() {
        rep.fail(
            file,
            Fault::NoKey,
            "no usign public key to check it with; pass the feed's key with --key",
        );
        return;
    }
    let Some(public) = ctx.keys.usign.iter().find(|k| k.fingerprint == fp) else {
        let given: Vec<&str> = ctx.keys.usign.iter().map(|k| k.fingerprint.as_str()).collect();
        rep.fail(
            file,
            Fault::UnknownKey,
            format!(
                "signed by usign key {fp}, which is none of the given keys ({})",
                given.join(", ")
            ),
        );
        return;
    };
    // opkg runs `usign -V -P /etc/opkg/keys`, which opens `<dir>/%016"PRIx64`: a key published under
    // another name is not found by the routers that install it by its published name.
    if ctx.keys.from_store && !ctx.keys.usign.iter().any(|k| k.fingerprint == fp && k.name == fp) {
        rep.fail(
            file,
            Fault::UnknownKey,
            format!(
                "signed by usign key {fp}, but the repository publishes that key only as {}: usign looks it up as keys/{fp}",
                ctx.keys
                    .usign
                    .iter()
                    .filter(|k| k.fingerprint == fp)
                    .map(|k| format!("keys/{}", k.name))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let public = &public.bytes;
    match wharf_sign::usign::verify(public, sig, message) {
        Ok(()) => {
            if !rep.signed_by.contains(&fp) {
                rep.signed_by.push(fp);
            }
        }
        Err(_) => rep.fail(
            file,
            Fault::BadSignature,
            format!("the signature by {fp} does not match Packages: it changed after signing"),
        ),
    }
}
