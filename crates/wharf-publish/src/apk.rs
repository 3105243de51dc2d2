//! Publishing apk v2 packages into Alpine-style repositories: `apk/<arch>/` holds the `.apk` files and the
//! signed `APKINDEX.tar.gz`; the RSA public key is at `apk/keys/<keyname>` (what `/etc/apk/keys/` holds).
//! A client's `/etc/apk/repositories` line is `<base-url>/apk`; apk appends `/<arch>/APKINDEX.tar.gz`.
//!
//! apk fetches fixed names only, so `APKINDEX.tar.gz` is the one pointer per architecture: it is written
//! after every package it lists, in one object write. A client never sees an index naming a missing
//! package; one that cached an older index still finds every package it lists (nothing is deleted).

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wharf_index::apk::{self as index, ApkRecord};
use wharf_package::apk::{self, ApkInfo};
use wharf_sign::{ApkRsaKey, RsaDigest};
use wharf_store::Store;

use crate::{
    FeedItem, FeedRecord, FeedWrites, Manifest, Placement, PublishError, apt::LOCK_KEY, place_in_feeds,
    write_feeds,
};

/// Where the apk state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/apk/state.json";
/// The directory the per-architecture repositories live under.
pub const ROOT: &str = "apk";

impl FeedRecord for ApkRecord {
    fn filename(&self) -> &str {
        &self.filename
    }
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

/// An .apk checked and ready to publish.
pub type IncomingApk = crate::Incoming<ApkInfo>;

/// Reads and validates apk v2 files (wharf's, abuild's, nFPM's).
pub fn inspect_apks(paths: &[PathBuf]) -> Result<Vec<IncomingApk>, PublishError> {
    crate::inspect_incoming(paths, apk::inspect)
}

/// How the indexes are signed and described.
#[derive(Debug, Clone)]
pub struct ApkSettings {
    /// APKINDEX `DESCRIPTION` (≤ 160 bytes).
    pub description: String,
    /// SHA-1 or SHA-256 RSA signatures.
    pub digest: RsaDigest,
    /// The one clock value (tar mtimes).
    pub mtime: u64,
    /// How long to wait for another publisher.
    pub lock_wait: Duration,
}

/// What a publish did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ApkReport {
    /// The store.
    pub store: String,
    /// Packages newly added (`apk/<arch>/<file>`).
    pub added: Vec<String>,
    /// Already present with identical bytes.
    pub unchanged: Vec<String>,
    /// Architectures whose index was rewritten.
    pub archs: Vec<String>,
    /// The key's file name (under `apk/keys/` and, on clients, `/etc/apk/keys/`).
    pub key_name: String,
}

/// The key's identity in the state: its name and a hash of its public half.
fn fingerprint(key: &ApkRsaKey) -> Result<String, PublishError> {
    let public = key.public_pem()?;
    Ok(format!(
        "{}:{}",
        key.name(),
        &hex::encode(Sha256::digest(public.as_bytes()))[..16]
    ))
}

/// Publishes `apks` into the repositories of their architectures; `noarch` packages go into every
/// architecture named in `archs` or already published.
pub fn publish(
    store: &dyn Store,
    key: &ApkRsaKey,
    settings: &ApkSettings,
    archs: &[String],
    apks: &[IncomingApk],
) -> Result<ApkReport, PublishError> {
    let _lock = store.lock(LOCK_KEY, settings.lock_wait)?;
    let (mut state, fp) = Manifest::<ApkRecord>::load(store, STATE_KEY, fingerprint(key)?)?;
    let items: Vec<FeedItem<ApkRecord>> = apks
        .iter()
        .map(|p| {
            let i = &p.info;
            let filename = apk::file_name(&i.name, &i.version);
            FeedItem {
                arch: i.arch.clone(),
                what: format!("{} {} ({})", i.name, i.version, i.arch),
                record: ApkRecord {
                    pkginfo: i.pkginfo.clone(),
                    identity: i.identity.clone(),
                    filename: filename.clone(),
                    checksums: i.checksums.clone(),
                },
                filename,
            }
        })
        .collect();
    let Placement {
        uploads,
        added,
        unchanged,
        touched,
    } = place_in_feeds(&mut state.groups, ROOT, archs, "noarch", &items)?;
    let mut indexes = Vec::new();
    for arch in &touched {
        let records: Vec<&ApkRecord> = state.groups.entry(arch.clone()).or_default().iter().collect();
        let unsigned = index::unsigned_index(&records, &settings.description, settings.mtime)
            .map_err(PublishError::Index)?;
        let mut signed = apk::signature_member(key, settings.digest, &unsigned, settings.mtime)
            .map_err(|e| PublishError::Index(std::io::Error::other(e.to_string())))?;
        signed.extend_from_slice(&unsigned);
        indexes.push((arch, signed));
    }
    let state_bytes = state.next_generation(store, STATE_KEY, &fp)?;

    write_feeds(
        store,
        FeedWrites {
            packages: uploads
                .iter()
                .map(|(n, k)| (apks[*n].path.as_path(), k.clone()))
                .collect(),
            key: (
                format!("{ROOT}/keys/{}", key.name()),
                key.public_pem()?.into_bytes(),
            ),
            state: (STATE_KEY, state_bytes),
            pointers: indexes
                .into_iter()
                .map(|(arch, signed)| (format!("{ROOT}/{arch}/APKINDEX.tar.gz"), signed))
                .collect(),
        },
    )?;
    Ok(ApkReport {
        store: store.describe(),
        added,
        unchanged,
        archs: touched.into_iter().collect(),
        key_name: key.name().to_owned(),
    })
}
