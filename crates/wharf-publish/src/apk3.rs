//! Publishing apk v3 packages into OpenWrt-style (apk-tools 3) repositories: `apk3/<arch>/` holds the
//! `.apk` files and the signed `packages.adb`; the EC public key is at `apk3/keys/<key id>.pem` (any file
//! name works in `/etc/apk/keys/`: apk 3 matches keys by id). A client lists
//! `<base-url>/apk3/<arch>/packages.adb` in `/etc/apk/repositories.d/`.
//!
//! `packages.adb` is the one pointer per architecture and is written last, in one object write. The
//! packages themselves need no signature: the signed index pins each one by the sha256 of its ADB block
//! (OpenWrt's practice since 2025).

use std::path::PathBuf;

use wharf_core::apkver;
use wharf_index::apk3::{self as index, Apk3Record};
use wharf_package::apk::file_name;
use wharf_package::apk3::{self, Apk3Info};
use wharf_sign::ApkEcKey;
use wharf_store::Store;

use crate::txn::{Collected, Key, KeyFields, Record, Txn, TxnOptions};
use crate::{FeedItem, FeedOutcome, FeedRecord, PublishError, publish_feeds};

impl Record for Apk3Record {
    fn key_fields(&self) -> KeyFields {
        KeyFields {
            file: self.filename.clone(),
            sha256: self.checksums.sha256.clone(),
            name: self.info.name.clone(),
            arch: self.info.arch.clone(),
            version: self.info.version.clone(),
            extra: String::new(),
        }
    }
    fn object_key(arch: &str, key: &Key) -> String {
        format!("{ROOT}/{arch}/{}", key.file)
    }
    fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
        apkver::compare(a.version, b.version)
    }
    fn version_is(key: &Key, v: &str) -> bool {
        crate::apk_version_is(key.version, v)
    }
}

/// Where the apk v3 state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/apk3/state";
/// The directory the per-architecture repositories live under.
pub const ROOT: &str = "apk3";

impl FeedRecord for Apk3Record {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

/// An apk v3 package checked and ready to publish.
pub type IncomingApk3 = crate::Incoming<Apk3Info>;

/// Reads and validates apk v3 files.
pub fn inspect_apk3s(paths: &[PathBuf]) -> Result<Vec<IncomingApk3>, PublishError> {
    crate::inspect_incoming(paths, |f| apk3::inspect(f))
}

/// The apk v3 packages of `name` at `version` in the tree `from` (at `prefix` in the store), to publish
/// into another channel's tree: copied store-side, what the index lists from their records.
pub fn promoted(
    from: &dyn Store,
    prefix: Option<&str>,
    name: &str,
    version: &str,
) -> Result<crate::Promoted<IncomingApk3>, PublishError> {
    crate::promoted::<Apk3Record, _>(from, STATE_KEY, None, (name, version), |g, r| {
        let key = r.object_key(g);
        let rec = r.record()?;
        let info = Apk3Info {
            info: rec.info.clone(),
            adb_sha256: rec.info.unique_id.clone(),
            // Not needed to index a package already checked when it was first published.
            signatures: Vec::new(),
            adb_sha512: Vec::new(),
            checksums: rec.checksums.clone(),
        };
        Ok(crate::Incoming {
            path: PathBuf::from(&key),
            info,
            stored: Some(crate::from_root(prefix, &key)),
        })
    })
}

/// What a publish did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Apk3Report {
    /// The store.
    pub store: String,
    /// Packages newly added (`apk3/<arch>/<file>`).
    pub added: Vec<String>,
    /// Already present with identical bytes.
    pub unchanged: Vec<String>,
    /// Architectures whose index was rewritten.
    pub archs: Vec<String>,
    /// The key id (hex) and the key's file under `apk3/keys/`.
    pub key_id: String,
    /// Records removed by retention (`keep`).
    pub pruned: Vec<String>,
    /// Garbage deleted (or still waiting) after its grace period.
    pub collected: Collected,
}

/// The key's file name under `apk3/keys/`.
#[must_use]
pub fn key_file(key: &ApkEcKey) -> String {
    format!("{}.pem", hex::encode(key.key_id()))
}

/// Publishes `apks` into the repositories of their architectures (`noarch` into every one named in `archs`
/// or already published), and signs each touched `packages.adb` with `key`. `description` (`explicit`:
/// configured, replacing the repository's) is the index's, as for apk v2.
pub fn publish(
    store: &dyn Store,
    key: &ApkEcKey,
    (description, explicit): (&str, bool),
    options: &TxnOptions,
    archs: &[String],
    apks: &[IncomingApk3],
) -> Result<Apk3Report, PublishError> {
    let key_id = hex::encode(key.key_id());
    let mut txn = Txn::<Apk3Record>::begin(store, "apk3", STATE_KEY, key_id.clone(), options)?;
    let description = txn.description(description, explicit);
    let items: Vec<FeedItem<Apk3Record>> = apks
        .iter()
        .map(|p| {
            let i = &p.info.info;
            let filename = file_name(&i.name, &i.version);
            let mut info = i.clone();
            info.unique_id.clone_from(&p.info.adb_sha256);
            info.file_size = p.info.checksums.size;
            FeedItem {
                source: p.source(),
                arch: i.arch.clone(),
                what: format!("{} {} ({})", i.name, i.version, i.arch),
                record: Apk3Record {
                    info,
                    filename: filename.clone(),
                    checksums: p.info.checksums.clone(),
                },
                filename,
            }
        })
        .collect();
    let public = (
        format!("{ROOT}/keys/{}", key_file(key)),
        key.public_pem()?.into_bytes(),
    );
    let FeedOutcome {
        added,
        unchanged,
        feeds,
        pruned,
        collected,
    } = publish_feeds(
        txn,
        ROOT,
        "packages.adb",
        archs,
        "noarch",
        &items,
        vec![public],
        |arch, records| {
            let adb = index::packages_adb(records, &description, key)
                .map_err(|e| PublishError::Index(std::io::Error::other(e.to_string())))?;
            Ok(vec![(format!("{ROOT}/{arch}/packages.adb"), adb)])
        },
    )?;
    Ok(Apk3Report {
        store: store.describe(),
        added,
        unchanged,
        archs: feeds,
        key_id,
        pruned,
        collected,
    })
}
