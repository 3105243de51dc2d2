//! Publishing apk v3 packages into OpenWrt-style (apk-tools 3) repositories: `apk3/<arch>/` holds the
//! `.apk` files and the signed `packages.adb`; the EC public key is at `apk3/keys/<key id>.pem` (any file
//! name works in `/etc/apk/keys/`: apk 3 matches keys by id). A client lists
//! `<base-url>/apk3/<arch>/packages.adb` in `/etc/apk/repositories.d/`.
//!
//! `packages.adb` is the one pointer per architecture and is written last, in one object write. The
//! packages themselves need no signature: the signed index pins each one by the sha256 of its ADB block
//! (OpenWrt's practice since 2025).

use std::path::PathBuf;

use wharf_core::RepoKind;
use wharf_core::apkver;
use wharf_index::apk3::{self as index, Apk3Record};
use wharf_package::apk::file_name;
use wharf_package::apk3::{self, Apk3Info};
use wharf_sign::ApkEcKey;
use wharf_store::Store;

use crate::inputs::InputCache;
use crate::kind::{Context, FeedKind, Report, Settings, Where, no_key};
use crate::txn::{Key, KeyFields, Peeked, Record, Txn, TxnOptions};
use crate::{FeedItem, FeedRecord, PublishError, publish_feeds};

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

/// The key's file name under `apk3/keys/`.
#[must_use]
pub fn key_file(key: &ApkEcKey) -> String {
    format!("{}.pem", hex::encode(key.key_id()))
}

/// Publishes `apks` into the repositories of their architectures (`noarch` into every one named in `archs`
/// or already published), and signs each touched `packages.adb` with `key`. `description` (`explicit`:
/// configured, replacing the repository's) is the index's, as for apk v2.
fn publish(
    store: &dyn Store,
    key: &ApkEcKey,
    (description, explicit): (&str, bool),
    options: &TxnOptions,
    archs: &[String],
    apks: &[IncomingApk3],
) -> Result<Report, PublishError> {
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
    publish_feeds(
        (RepoKind::Apk3, key_id),
        txn,
        ROOT,
        "packages.adb",
        archs,
        "noarch",
        &items,
        vec![public],
        |arch, records| {
            let adb = index::packages_adb(records, &description, key).map_err(|source| {
                PublishError::IndexMember {
                    group: arch.to_owned(),
                    source,
                }
            })?;
            Ok(vec![(format!("{ROOT}/{arch}/packages.adb"), adb)])
        },
    )
}

/// The apk v3 kind: a repository per OpenWrt architecture (`apk3/<arch>/packages.adb`) in each channel's tree.
pub(crate) type Apk3 = crate::kind::Feed<Apk3Feed>;

/// apk v3's part in [`crate::kind::Feed`].
pub(crate) struct Apk3Feed;

impl FeedKind for Apk3Feed {
    const KIND: RepoKind = RepoKind::Apk3;
    const STATE_KEY: &'static str = STATE_KEY;
    const LABEL: &'static str = "apk v3";
    type Info = Apk3Info;
    type Record = Apk3Record;
    fn inspect(
        paths: &[PathBuf],
        _cache: &mut InputCache,
        _store: &dyn Store,
    ) -> Result<(Vec<crate::Incoming<Apk3Info>>, Option<Peeked<Apk3Record>>), PublishError> {
        Ok((inspect_apk3s(paths)?, None))
    }
    fn promoted(
        from: &dyn Store,
        prefix: Option<&str>,
        name: &str,
        version: &str,
    ) -> Result<crate::Promoted<crate::Incoming<Apk3Info>>, PublishError> {
        promoted(from, prefix, name, version)
    }
    fn publish(
        cx: &Context<'_>,
        feeds: &[String],
        packages: &[crate::Incoming<Apk3Info>],
        _state: Option<Peeked<Apk3Record>>,
    ) -> Result<Report, PublishError> {
        let key = cx.keys.apk3.ok_or_else(|| no_key(RepoKind::Apk3))?;
        let description = cx.settings.apk_description();
        publish(
            cx.tree,
            key,
            (&description.0, description.1),
            cx.txn,
            feeds,
            packages,
        )
    }
    fn usage(r: &Report, _s: &Settings, at: &Where<'_>) -> String {
        format!(
            "\napk v3: {} package(s) added, {} unchanged, for {}. On the router (apk-tools 3):\n  install -m 0644 {}/apk3/keys/{}.pem /etc/apk/keys/\n  echo {}/apk3/$(cat /etc/apk/arch)/packages.adb >> /etc/apk/repositories.d/customfeeds.list\n",
            r.added.len(),
            r.unchanged.len(),
            r.groups.join(", "),
            at.tree,
            r.key,
            at.tree_url
        )
    }
}
