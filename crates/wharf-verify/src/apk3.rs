//! apk v3 repositories (`<dir>/packages.adb` beside `<name>-<version>.apk`), checked as apk-tools 3 reads
//! them (`src/adb.c` `adb_trust_verify_signature`, `src/apk_adb.c` schemas, `src/app_mkndx.c`):
//! - `packages.adb` is an ADB file of schema `indx` with a SIG block (`{0, hash 4 = SHA-512, key id[16]}`
//!   + ECDSA over `le32(schema) ‖ those 18 bytes ‖ sha512(ADB payload)`) by a given key, found by key id;
//! - each package in it: the file `${name}-${version}.apk` has `file-size` bytes, its ADB payload's sha256
//!   is the `unique-id` (that pins it: OpenWrt's packages need no signature of their own), its `info` has
//!   the same name, version and arch, its DATA blocks match their files' sha256; a SIG block it carries
//!   must be good by a given key.

use sha2::{Digest, Sha512};
use wharf_package::adb;
use wharf_package::apk3::Info;

use crate::{Ctx, Fault, Kind, RepoReport, check_package, join};

/// The key ids (hex) of a signed `packages.adb`'s SIG blocks (none for an unreadable one).
pub(crate) fn signer_ids(bytes: &[u8]) -> Vec<String> {
    adb::read_signed(bytes).map_or_else(
        |_| Vec::new(),
        |f| {
            f.signatures
                .iter()
                .filter(|s| s.len() >= 18)
                .map(|s| hex::encode(&s[2..18]))
                .collect()
        },
    )
}

pub(crate) fn check(ctx: &mut Ctx<'_>, dir: &str) -> RepoReport {
    let mut rep = RepoReport::new(Kind::Apk3, dir);
    let key = join(dir, "packages.adb");
    let Some(bytes) = ctx.get(&key) else {
        rep.fail(&key, Fault::Missing, "not there");
        return rep;
    };
    rep.indexes += 1;
    let file = match adb::read_signed(&bytes) {
        Ok(f) => f,
        Err(e) => {
            rep.fail(&key, Fault::Malformed, format!("{e}: apk refuses it"));
            return rep;
        }
    };
    if file.schema != adb::SCHEMA_INDEX {
        rep.fail(
            &key,
            Fault::Malformed,
            "the ADB schema is not `indx`: not a repository index",
        );
        return rep;
    }
    if file.signatures.is_empty() {
        rep.fail(
            &key,
            Fault::Unsigned,
            "has no SIG block: apk refuses it (UNTRUSTED signature) without --allow-untrusted",
        );
    }
    let adb_sha512 = Sha512::digest(&file.adb);
    signatures(
        ctx,
        &mut rep,
        &key,
        file.schema,
        &file.signatures,
        &adb_sha512,
        Fault::UnknownKey,
    );

    let root = match adb::decode(&file.adb) {
        Ok(r) => r,
        Err(e) => {
            rep.fail(&key, Fault::Malformed, e.to_string());
            return rep;
        }
    };
    let spec = root.field(3).text();
    for item in root.field(2).items() {
        let listed = Info::decode(item);
        let name = if spec.is_empty() {
            format!("{}-{}.apk", listed.name, listed.version)
        } else {
            spec.replace("${name}", &listed.name)
                .replace("${version}", &listed.version)
                .replace("${arch}", &listed.arch)
        };
        if listed.name.is_empty() || !crate::safe(&name) {
            rep.fail(
                &key,
                Fault::Malformed,
                format!("a package entry names the file `{name}`"),
            );
            continue;
        }
        let pkg_key = join(dir, &name);
        let size = (listed.file_size > 0).then_some(listed.file_size);
        let Some(inspected) = check_package(
            ctx,
            &mut rep,
            &pkg_key,
            size,
            &[],
            &format!("packages.adb ({})", listed.name),
            |r| wharf_package::apk3::inspect(r),
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
        if !info.adb_sha256.eq_ignore_ascii_case(&listed.unique_id) {
            rep.fail(
                &pkg_key,
                Fault::HashMismatch,
                format!(
                    "its ADB block's sha256 is {}, packages.adb's unique-id says {}: apk refuses it",
                    info.adb_sha256, listed.unique_id
                ),
            );
        }
        for (what, have, want) in [
            ("name", &info.info.name, &listed.name),
            ("version", &info.info.version, &listed.version),
            ("arch", &info.info.arch, &listed.arch),
        ] {
            if have != want {
                rep.fail(
                    &pkg_key,
                    Fault::Mismatch,
                    format!("its info says {what} {have}, packages.adb says {want}"),
                );
            }
        }
        signatures(
            ctx,
            &mut rep,
            &pkg_key,
            adb::SCHEMA_PACKAGE,
            &info.signatures,
            &info.adb_sha512,
            Fault::PackageSignature,
        );
    }
    rep
}

/// Checks SIG blocks: any one good by a given key (found by key id) is enough, as apk.
fn signatures(
    ctx: &Ctx<'_>,
    rep: &mut RepoReport,
    file: &str,
    schema: u32,
    sigs: &[Vec<u8>],
    adb_sha512: &[u8],
    unknown: Fault,
) {
    if sigs.is_empty() {
        return;
    }
    if ctx.keys.apk_ec.is_empty() {
        // Said once, for the index; each package would only repeat it.
        if unknown == Fault::PackageSignature {
            return;
        }
        rep.fail(
            file,
            Fault::NoKey,
            "no apk EC public key to check the SIG block with; pass it with --key",
        );
        return;
    }
    let mut problems = Vec::new();
    for sig in sigs {
        if sig.len() < 18 || sig[0] != 0 || sig[1] != 4 {
            problems.push((
                Fault::Malformed,
                "a SIG block that is not v0 with SHA-512".to_owned(),
            ));
            continue;
        }
        let id = &sig[2..18];
        let Some(k) = ctx.keys.apk_ec.iter().find(|k| k.key_id() == id) else {
            problems.push((
                unknown,
                format!(
                    "signed by key id {}, which is none of the given keys",
                    hex::encode(id)
                ),
            ));
            continue;
        };
        if k.verify_sha512(&adb::signed_message(schema, &sig[..18], adb_sha512), &sig[18..]) {
            let name = hex::encode(id);
            if !rep.signed_by.contains(&name) {
                rep.signed_by.push(name);
            }
            return;
        }
        problems.push((
            if unknown == Fault::PackageSignature {
                unknown
            } else {
                Fault::BadSignature
            },
            format!(
                "the SIG block by key id {} does not match the data: it changed after signing",
                hex::encode(id)
            ),
        ));
    }
    for (fault, detail) in problems {
        rep.fail(file, fault, detail);
    }
}
