//! Publishing apk v2 packages into Alpine-style repositories: `apk/<arch>/` holds the `.apk` files and the
//! signed `APKINDEX.tar.gz`; the RSA public key is at `apk/keys/<keyname>` (what `/etc/apk/keys/` holds).
//! A client's `/etc/apk/repositories` line is `<base-url>/apk`; apk appends `/<arch>/APKINDEX.tar.gz`.
//!
//! apk fetches fixed names only, so `APKINDEX.tar.gz` is the one pointer per architecture: it is written
//! after every package it lists, in one object write. A client never sees an index naming a missing
//! package; one that cached an older index still finds every package it lists (nothing is deleted).

use std::path::PathBuf;

use sha2::{Digest, Sha256};
use wharf_core::RepoKind;
use wharf_core::apkver;
use wharf_index::apk::{self as index, ApkRecord};
use wharf_package::apk::{self, ApkInfo};
use wharf_sign::{ApkRsaKey, RsaDigest};
use wharf_store::Store;

use crate::inputs::InputCache;
use crate::kind::{Context, FeedKind, Report, Settings, Where, no_key};
use crate::txn::{Key, KeyFields, Peeked, Record, Txn, TxnOptions};
use crate::{FeedItem, FeedRecord, PublishError, publish_feeds};

impl Record for ApkRecord {
    fn key_fields(&self) -> KeyFields {
        KeyFields {
            file: self.filename.clone(),
            sha256: self.checksums.sha256.clone(),
            name: self.get("pkgname").to_owned(),
            arch: self.get("arch").to_owned(),
            version: self.get("pkgver").to_owned(),
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

/// Where the apk state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/apk/state";
/// The directory the per-architecture repositories live under.
pub const ROOT: &str = "apk";

impl FeedRecord for ApkRecord {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

/// An .apk checked and ready to publish.
pub type IncomingApk = crate::Incoming<ApkInfo>;

/// Reads and validates apk v2 files (wharf's, abuild's, nFPM's).
pub fn inspect_apks(paths: &[PathBuf]) -> Result<Vec<IncomingApk>, PublishError> {
    crate::inspect_incoming(paths, |f| apk::inspect(f))
}

/// The .apks of `name` at `version` in the tree `from` (at `prefix` in the store), to publish into another
/// channel's tree: copied store-side, what the index lists from their records.
pub fn promoted(
    from: &dyn Store,
    prefix: Option<&str>,
    name: &str,
    version: &str,
) -> Result<crate::Promoted<IncomingApk>, PublishError> {
    crate::promoted::<ApkRecord, _>(from, STATE_KEY, None, (name, version), |g, r| {
        let key = r.object_key(g);
        let rec = r.record()?;
        let info = ApkInfo {
            pkginfo: rec.pkginfo.clone(),
            name: rec.get("pkgname").to_owned(),
            version: rec.get("pkgver").to_owned(),
            arch: rec.get("arch").to_owned(),
            installed_size: rec.get("size").parse().unwrap_or(0),
            identity: rec.identity.clone(),
            // Not needed to index a package already checked when it was first published.
            signatures: Vec::new(),
            control_sha256: [0; 32],
            checksums: rec.checksums.clone(),
        };
        Ok(crate::Incoming {
            path: PathBuf::from(&key),
            info,
            stored: Some(crate::from_root(prefix, &key)),
        })
    })
}

/// How the indexes are signed and described.
#[derive(Debug, Clone)]
pub(crate) struct ApkSettings {
    /// APKINDEX `DESCRIPTION` (≤ 160 bytes).
    pub description: String,
    /// `description` was configured: it replaces the one the repository has. Otherwise the repository
    /// keeps the description its first publish gave it.
    pub description_given: bool,
    /// SHA-1 or SHA-256 RSA signatures.
    pub digest: RsaDigest,
    /// The one clock value (tar mtimes).
    pub mtime: u64,
}

/// The keys' identity in the state: each signing key's name and a hash of its public half.
fn fingerprint(key: &ApkRsaKey) -> Result<String, PublishError> {
    let ids = key
        .signers()
        .map(|k| {
            let public = k.public_pem()?;
            Ok(format!(
                "{}:{}",
                k.name(),
                &hex::encode(Sha256::digest(public.as_bytes()))[..16]
            ))
        })
        .collect::<Result<Vec<_>, PublishError>>()?;
    Ok(ids.join(" "))
}

/// Publishes `apks` into the repositories of their architectures; `noarch` packages go into every
/// architecture named in `archs` or already published.
fn publish(
    store: &dyn Store,
    key: &ApkRsaKey,
    settings: &ApkSettings,
    options: &TxnOptions,
    archs: &[String],
    apks: &[IncomingApk],
) -> Result<Report, PublishError> {
    let mut txn = Txn::<ApkRecord>::begin(store, "apk", STATE_KEY, fingerprint(key)?, options)?;
    let description = txn.description(&settings.description, settings.description_given);
    let items: Vec<FeedItem<ApkRecord>> = apks
        .iter()
        .map(|p| {
            let i = &p.info;
            let filename = apk::file_name(&i.name, &i.version);
            FeedItem {
                source: p.source(),
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
    // Every signing key's public half, under the name apk looks it up by.
    let public = key
        .signers()
        .map(|k| Ok((format!("{ROOT}/keys/{}", k.name()), k.public_pem()?.into_bytes())))
        .collect::<Result<Vec<_>, PublishError>>()?;
    publish_feeds(
        (RepoKind::Apk, key.name().to_owned()),
        txn,
        ROOT,
        "APKINDEX.tar.gz",
        archs,
        "noarch",
        &items,
        public,
        |arch, records| {
            let unsigned =
                index::unsigned_index(records, &description, settings.mtime).map_err(PublishError::Index)?;
            let mut signed =
                apk::signature_member(key, settings.digest, &unsigned, settings.mtime).map_err(|source| {
                    PublishError::IndexMember {
                        group: arch.to_owned(),
                        source,
                    }
                })?;
            signed.extend_from_slice(&unsigned);
            Ok(vec![(format!("{ROOT}/{arch}/APKINDEX.tar.gz"), signed)])
        },
    )
}

/// The apk kind: a repository per apk architecture (`apk/<arch>/`) in each channel's tree.
pub(crate) type Apk = crate::kind::Feed<ApkFeed>;

/// apk's part in [`crate::kind::Feed`].
pub(crate) struct ApkFeed;

impl FeedKind for ApkFeed {
    const KIND: RepoKind = RepoKind::Apk;
    const STATE_KEY: &'static str = STATE_KEY;
    const LABEL: &'static str = "apk";
    type Info = ApkInfo;
    type Record = ApkRecord;
    fn inspect(
        paths: &[PathBuf],
        _cache: &mut InputCache,
        _store: &dyn Store,
    ) -> Result<(Vec<crate::Incoming<ApkInfo>>, Option<Peeked<ApkRecord>>), PublishError> {
        Ok((inspect_apks(paths)?, None))
    }
    fn promoted(
        from: &dyn Store,
        prefix: Option<&str>,
        name: &str,
        version: &str,
    ) -> Result<crate::Promoted<crate::Incoming<ApkInfo>>, PublishError> {
        promoted(from, prefix, name, version)
    }
    fn publish(
        cx: &Context<'_>,
        feeds: &[String],
        packages: &[crate::Incoming<ApkInfo>],
        _state: Option<Peeked<ApkRecord>>,
    ) -> Result<Report, PublishError> {
        let key = cx.keys.apk.ok_or_else(|| no_key(RepoKind::Apk))?;
        let s = cx.settings;
        let (description, description_given) = s.apk_description();
        let settings = ApkSettings {
            description,
            description_given,
            digest: s.apk_digest,
            mtime: u64::try_from(s.date.unix()).unwrap_or(0),
        };
        publish(cx.tree, key, &settings, cx.txn, feeds, packages)
    }
    fn usage(r: &Report, _s: &Settings, at: &Where<'_>) -> String {
        format!(
            "\napk: {} package(s) added, {} unchanged, for {}. On the client:\n  install -m 0644 {}/apk/keys/{} /etc/apk/keys/{}\n  echo {}/apk >> /etc/apk/repositories\n",
            r.added.len(),
            r.unchanged.len(),
            r.groups.join(", "),
            at.tree,
            r.key,
            r.key,
            at.tree_url
        )
    }
}
