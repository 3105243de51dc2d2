//! apk v3 repositories (OpenWrt ≥ 25.12): `<arch>/packages.adb` beside the `<name>-<version>.apk` files.
//!
//! The `indx` schema of apk-tools `src/apk_adb.c` and `app_mkndx.c` (formats.md §7): {1 description,
//! 2 packages[]}, each package its `info` object with `file-size` set and `unique-id` = sha256 of the
//! package's ADB payload, the array sorted by name, version (apk order) and id. The index is signed with a SIG
//! block (ECDSA P-256 + SHA-512, matched by key id) and compressed as `ADBd` + raw deflate; clients fetch
//! packages as `${name}-${version}.apk` next to it.

use std::io::Write;

use wharf_core::apkver;
use wharf_core::digest::Checksums;
use wharf_package::PackageError;
use wharf_package::adb::{self, Heap};
use wharf_package::apk3::Info;
use wharf_sign::ApkEcKey;

/// One apk v3 package as an index lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Apk3Record {
    /// The package's info, with the index's unique id and file size.
    pub info: Info,
    /// File name relative to the arch directory.
    pub filename: String,
    /// Checksums of the .apk.
    pub checksums: Checksums,
}

/// The signed, compressed `packages.adb` for `records`.
pub fn packages_adb(
    records: &[&Apk3Record],
    description: &str,
    key: &ApkEcKey,
) -> Result<Vec<u8>, PackageError> {
    let mut sorted = records.to_vec();
    sorted.sort_by(|a, b| {
        a.info
            .name
            .cmp(&b.info.name)
            .then_with(|| apkver::compare(&a.info.version, &b.info.version))
            .then_with(|| a.info.unique_id.cmp(&b.info.unique_id))
    });
    let mut h = Heap::new();
    let mut packages = Vec::new();
    for r in sorted {
        packages.push(r.info.encode(&mut h)?.0);
    }
    let desc = h.blob(description.as_bytes());
    let packages = h.array(&packages);
    let root = h.object(&[desc, packages]);
    let payload = h.finish(root);
    let sig = adb::signature(key, adb::SCHEMA_INDEX, &payload)?;
    let mut out = Vec::new();
    let mut z = adb::compressor(&mut out).map_err(PackageError::Write)?;
    let w = |r: std::io::Result<()>| r.map_err(PackageError::Write);
    w(z.write_all(&adb::file_header(adb::SCHEMA_INDEX)))?;
    w(adb::write_block(&mut z, adb::BLOCK_ADB, &payload))?;
    w(adb::write_block(&mut z, adb::BLOCK_SIG, &sig))?;
    z.finish().map_err(PackageError::Write)?;
    Ok(out)
}
