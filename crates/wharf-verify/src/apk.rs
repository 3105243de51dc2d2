//! apk v2 repositories (`<dir>/APKINDEX.tar.gz` beside `<name>-<version>.apk`), checked as apk-tools 2
//! reads them (`src/database.c` `load_index`, `src/extract_v2.c`, `src/package.c`):
//! - APKINDEX.tar.gz is gzip members: the first a tar of `.SIGN.RSA.<key>` (SHA-1) or `.SIGN.RSA256.<key>`
//!   (SHA-256) — an RSA PKCS#1 v1.5 signature over the remaining bytes — found by the key's *file name* in
//!   `/etc/apk/keys`; the rest the tar holding `APKINDEX`;
//! - each entry's `P`, `V`, `A`, `S` (file size) and `C` (`Q1` + base64 sha1 of the package's control
//!   member); the package is `<P>-<V>.apk` beside the index;
//! - each package: its control member's sha1 the `C:` the signed index pins (apk installs a repository's
//!   package by that identity, `APK_SIGN_VERIFY_IDENTITY`, signed or not); a signature it carries made
//!   the same way over its control member by a given key; its `.PKGINFO` naming the same package, its
//!   `datahash` the sha256 of its data member.

use std::io::Read;

use base64::Engine as _;
use sha1::Sha1;
use sha2::{Digest, Sha256};
use wharf_sign::RsaDigest;

use crate::{Ctx, Fault, Kind, RepoReport, check_package, join};

pub(crate) fn check(ctx: &mut Ctx<'_>, dir: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Apk, dir);
    let key = join(dir, "APKINDEX.tar.gz");
    let Some(bytes) = ctx.get(&key) else {
        rep.fail(&key, Fault::Missing, "not there");
        return rep;
    };
    rep.indexes += 1;
    let (sigs, split) = match signature_member(&bytes) {
        Ok(x) => x,
        Err(e) => {
            rep.fail(&key, Fault::Malformed, e);
            return rep;
        }
    };
    let signed = &bytes[split..];
    let index_signed = !sigs.is_empty();
    if sigs.is_empty() {
        rep.fail(
            &key,
            Fault::Unsigned,
            "has no .SIGN member: apk refuses it (UNTRUSTED signature) without --allow-untrusted",
        );
    }
    let sha1: Vec<u8> = Sha1::digest(signed).to_vec();
    let sha256: Vec<u8> = Sha256::digest(signed).to_vec();
    rsa_signatures(ctx, &mut rep, &key, &sigs, &sha1, &sha256, Fault::UnknownKey);

    let text = match index_text(signed) {
        Ok(t) => t,
        Err(e) => {
            rep.fail(&key, Fault::Malformed, e);
            return rep;
        }
    };
    for entry in text.split("\n\n").filter(|e| !e.trim().is_empty()) {
        let field = |k: char| {
            entry
                .lines()
                .find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix(':')))
                .unwrap_or("")
        };
        let (name, version, arch, size, identity) =
            (field('P'), field('V'), field('A'), field('S'), field('C'));
        if name.is_empty() || version.is_empty() || size.is_empty() || identity.is_empty() {
            rep.fail(
                &key,
                Fault::Malformed,
                format!(
                    "an APKINDEX entry lacks P:, V:, S: or C: (`{}`)",
                    entry.lines().next().unwrap_or("")
                ),
            );
            continue;
        }
        let file = format!("{name}-{version}.apk");
        if !crate::safe(&file) || file.contains('/') {
            rep.fail(
                &key,
                Fault::Malformed,
                format!("package name `{file}` leaves the directory"),
            );
            continue;
        }
        let Ok(size) = size.parse::<u64>() else {
            rep.fail(
                &key,
                Fault::Malformed,
                format!("{name}: S:{size} is not a number"),
            );
            continue;
        };
        let pkg_key = join(dir, &file);
        let Some(inspected) = check_package(
            ctx,
            &mut rep,
            &pkg_key,
            Some(size),
            &[],
            &format!("APKINDEX ({name})"),
            |r| wharf_package::apk::inspect(r),
        ) else {
            continue;
        };
        let info = match inspected {
            Ok(i) => i,
            Err(e) => {
                rep.fail(&pkg_key, Fault::Malformed, format!("{e}: apk refuses it"));
                continue;
            }
        };
        if info.identity != identity {
            rep.fail(&pkg_key, Fault::HashMismatch, format!("its control member's checksum is {}, APKINDEX's C: says {identity}: apk refuses it (BAD signature/checksum)", info.identity));
        }
        for (what, have, want) in [
            ("name", &info.name, name),
            ("version", &info.version, version),
            ("arch", &info.arch, arch),
        ] {
            if have != want {
                rep.fail(
                    &pkg_key,
                    Fault::Mismatch,
                    format!("its .PKGINFO says {what} {have}, APKINDEX says {want}"),
                );
            }
        }
        if info.signatures.is_empty() {
            // apk installs a repository's package by the identity its signed index pins
            // (`database.c` `apk_db_install_pkg`: `apk_sign_ctx_init(&ctx.sctx,
            // APK_SIGN_VERIFY_IDENTITY, &pkg->csum, db->keys_fd)`), checked above against `C:`; the
            // package's own signature matters only where no signed index vouches for it.
            if index_signed {
                continue;
            }
            rep.fail(
                &pkg_key,
                Fault::PackageSignature,
                "neither the package nor its index is signed: apk refuses it without --allow-untrusted",
            );
            continue;
        }
        let control_sha1 = base64::engine::general_purpose::STANDARD
            .decode(info.identity.trim_start_matches("Q1"))
            .unwrap_or_default();
        rsa_signatures(
            ctx,
            &mut rep,
            &pkg_key,
            &info.signatures,
            &control_sha1,
            &info.control_sha256,
            Fault::PackageSignature,
        );
    }
    rep
}

/// The `.SIGN.*` entries of the first gzip member and where the signed bytes start (0: unsigned).
/// Signature entries: (name, value).
type Sigs = Vec<(String, Vec<u8>)>;

/// The key names an APKINDEX's `.SIGN.RSA*.<name>` members give (none for an unreadable index).
pub(crate) fn signer_names(bytes: &[u8]) -> Vec<String> {
    signature_member(bytes).map_or_else(
        |_| Vec::new(),
        |(sigs, _)| {
            sigs.iter()
                .filter_map(|(entry, _)| {
                    entry
                        .strip_prefix(".SIGN.RSA256.")
                        .or_else(|| entry.strip_prefix(".SIGN.RSA."))
                        .filter(|n| !n.is_empty() && !n.contains('/'))
                        .map(str::to_owned)
                })
                .collect()
        },
    )
}

fn signature_member(bytes: &[u8]) -> Result<(Sigs, usize), String> {
    let mut cur = std::io::Cursor::new(bytes);
    let mut sigs = Vec::new();
    {
        let mut gz = flate2::bufread::GzDecoder::new(&mut cur);
        {
            let mut ar = tar::Archive::new(&mut gz);
            let entries = ar.entries().map_err(|e| format!("not a gzip'd tar ({e})"))?;
            for entry in entries {
                let mut entry =
                    entry.map_err(|e| format!("the first member is truncated or corrupt ({e})"))?;
                let path = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
                if path.starts_with(".SIGN.") {
                    let mut value = Vec::new();
                    entry
                        .by_ref()
                        .take(64 * 1024)
                        .read_to_end(&mut value)
                        .map_err(|e| format!("the signature is truncated ({e})"))?;
                    sigs.push((path, value));
                }
            }
        }
        std::io::copy(&mut gz, &mut std::io::sink())
            .map_err(|e| format!("the first member is corrupt ({e})"))?;
    }
    let split = if sigs.is_empty() {
        0
    } else {
        cur.position() as usize
    };
    Ok((sigs, split))
}

/// The `APKINDEX` file from the index's gzip'd tar.
fn index_text(bytes: &[u8]) -> Result<String, String> {
    let gz = flate2::read::MultiGzDecoder::new(bytes);
    let mut ar = tar::Archive::new(gz);
    for entry in ar
        .entries()
        .map_err(|e| format!("the index is not a gzip'd tar ({e})"))?
    {
        let mut entry = entry.map_err(|e| format!("the index is truncated or corrupt ({e})"))?;
        if entry.path_bytes().as_ref() == b"APKINDEX" {
            let mut text = String::new();
            (&mut entry)
                .take(crate::DECOMPRESSED_CEILING + 1)
                .read_to_string(&mut text)
                .map_err(|e| format!("APKINDEX is truncated or not text ({e})"))?;
            if text.len() as u64 > crate::DECOMPRESSED_CEILING {
                return Err(format!(
                    "APKINDEX is larger than {} bytes (a decompression bomb?)",
                    crate::DECOMPRESSED_CEILING
                ));
            }
            return Ok(text.replace("\r\n", "\n"));
        }
    }
    Err("the index tar holds no APKINDEX file".into())
}

/// Checks `.SIGN.RSA*.<name>` signatures over data whose sha1 and sha256 are given: apk wants one made by
/// the key it knows by that name.
fn rsa_signatures(
    ctx: &Ctx<'_>,
    rep: &mut RepoReport,
    file: &str,
    sigs: &[(String, Vec<u8>)],
    sha1: &[u8],
    sha256: &[u8],
    unknown: Fault,
) {
    if sigs.is_empty() {
        return;
    }
    if ctx.keys.apk_rsa.is_empty() {
        // Said once, for the index; each package would only repeat it.
        if unknown == Fault::PackageSignature {
            return;
        }
        rep.fail(file, Fault::NoKey, "no apk RSA public key to check the signature with; pass it with --key (named as in /etc/apk/keys)");
        return;
    }
    let mut problems = Vec::new();
    for (entry, value) in sigs {
        let (digest, name, hashed) = if let Some(n) = entry.strip_prefix(".SIGN.RSA256.") {
            (RsaDigest::Sha256, n, sha256)
        } else if let Some(n) = entry.strip_prefix(".SIGN.RSA.") {
            (RsaDigest::Sha1, n, sha1)
        } else {
            problems.push((
                Fault::Malformed,
                format!("{entry}: not an RSA signature apk reads"),
            ));
            continue;
        };
        match ctx.keys.apk_rsa.iter().find(|k| k.name() == name) {
            Some(k) if k.verify_hashed(digest, hashed, value) => {
                if !rep.signed_by.iter().any(|s| s == name) {
                    rep.signed_by.push(name.to_owned());
                }
                return;
            }
            Some(_) => problems.push((
                if unknown == Fault::PackageSignature { unknown } else { Fault::BadSignature },
                format!("{entry} does not match the data: it changed after signing, or another key of that name signed it"),
            )),
            None => {
                let by_other = ctx.keys.apk_rsa.iter().find(|k| k.verify_hashed(digest, hashed, value));
                let given: Vec<&str> = ctx.keys.apk_rsa.iter().map(wharf_sign::ApkRsaPublicKey::name).collect();
                problems.push((
                    unknown,
                    match by_other {
                        Some(k) => format!("{entry}: signed by the key given as {}, but apk looks the key up by the name {name}", k.name()),
                        None => format!("{entry}: signed by a key named {name}, which is none of the given keys ({})", given.join(", ")),
                    },
                ));
            }
        }
    }
    for (fault, detail) in problems {
        rep.fail(file, fault, detail);
    }
}
