//! Publishing .ipk packages into opkg feeds, one per OpenWrt package architecture: `opkg/<arch>/` holds
//! the .ipk files and the feed's `Packages`, `Packages.gz` and `Packages.sig`; the usign public key is at
//! `opkg/keys/<fingerprint>` (what `/etc/opkg/keys/` holds on the router).
//!
//! opkg fetches fixed names only (no by-hash), so the three index files are pointers: they are written
//! after every package they list, in the order `Packages.gz`, `Packages`, `Packages.sig`. A router that
//! runs `opkg update` in the instant between the first and the last sees a signature failure ("Signature
//! check failed", and opkg keeps its previous lists) and succeeds on its next update.

use std::path::PathBuf;

use wharf_core::RepoKind;
use wharf_core::version::DebVersion;
use wharf_index::opkg::{self, OpkgRecord};
use wharf_package::ipk::{self, IpkInfo};
use wharf_sign::UsignKey;
use wharf_store::Store;

use crate::inputs::InputCache;
use crate::kind::{Context, FeedKind, Report, Settings, Where, no_key};
use crate::txn::{Key, KeyFields, Peeked, Record, Txn, TxnOptions};
use crate::{FeedItem, FeedRecord, PublishError, publish_feeds};

impl Record for OpkgRecord {
    fn key_fields(&self) -> KeyFields {
        let f = |k: &str| self.control.get(k).unwrap_or("").to_owned();
        KeyFields {
            file: self.filename.clone(),
            sha256: self.checksums.sha256.clone(),
            name: f("Package"),
            arch: f("Architecture"),
            version: f("Version"),
            extra: String::new(),
        }
    }
    fn object_key(feed: &str, key: &Key) -> String {
        format!("{ROOT}/{feed}/{}", key.file)
    }
    fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
        // opkg-lede's `pkg_version_satisfied` orders versions as dpkg does.
        match (DebVersion::parse(a.version), DebVersion::parse(b.version)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.version.cmp(b.version),
        }
    }
}

impl FeedRecord for OpkgRecord {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

/// Where the opkg state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/opkg/state";
/// The directory feeds live under.
pub const ROOT: &str = "opkg";

/// An .ipk checked and ready to publish.
pub type IncomingIpk = crate::Incoming<IpkInfo>;

/// Reads and validates .ipk files (any valid .ipk: wharf's, ipkg-build's, nFPM's). Files the input
/// `cache` knows unchanged and the opkg state in `store` holds are not read again. Returns the state as
/// read too (before the lock): [`publish`] reuses it if it is still current.
pub fn inspect_ipks(
    paths: &[PathBuf],
    cache: &mut InputCache,
    store: &dyn Store,
) -> Result<(Vec<IncomingIpk>, Option<Peeked<OpkgRecord>>), PublishError> {
    let (found, state): crate::Checked<IpkInfo, OpkgRecord> =
        crate::inspect_cached(paths, |f| ipk::inspect(f), cache, store, STATE_KEY, true)?;
    let mut out = Vec::with_capacity(found.len());
    for (path, f) in found {
        // Feeds list every package's control fields: a known file's are rebuilt from its record, and
        // read from the file if the record cannot give them.
        let rebuilt = match f {
            crate::Found::Read(info) => Some(*info),
            crate::Found::Known(r) => r
                .record()
                .ok()
                .and_then(|r| IpkInfo::from_control(r.control.clone(), r.checksums.clone()).ok()),
        };
        match rebuilt {
            Some(info) => out.push(crate::Incoming {
                path,
                info,
                stored: None,
            }),
            None => out.extend(crate::inspect_incoming(&[path], |f| ipk::inspect(f))?),
        }
    }
    Ok((out, state))
}

/// The .ipks of `name` at `version` in the tree `from` (at `prefix` in the store), to publish into another
/// channel's tree: copied store-side, their control fields from their records.
pub fn promoted(
    from: &dyn Store,
    prefix: Option<&str>,
    name: &str,
    version: &str,
) -> Result<crate::Promoted<IncomingIpk>, PublishError> {
    crate::promoted::<OpkgRecord, _>(from, STATE_KEY, None, (name, version), |g, r| {
        let key = r.object_key(g);
        let rec = r.record()?;
        let info = IpkInfo::from_control(rec.control.clone(), rec.checksums.clone()).map_err(|source| {
            PublishError::Package {
                path: PathBuf::from(&key),
                source,
            }
        })?;
        Ok(crate::Incoming {
            path: PathBuf::from(&key),
            info,
            stored: Some(crate::from_root(prefix, &key)),
        })
    })
}

/// Publishes `ipks` into the feeds of their architectures; `Architecture: all` packages go into every feed
/// named in `feeds` or already published. Feeds named in `feeds` are created even when empty.
fn publish(
    store: &dyn Store,
    key: &UsignKey,
    options: &TxnOptions,
    feeds: &[String],
    ipks: &[IncomingIpk],
    peeked: Option<Peeked<OpkgRecord>>,
) -> Result<Report, PublishError> {
    let fingerprint = key.fingerprint();
    let txn = Txn::<OpkgRecord>::begin_with(store, "opkg", STATE_KEY, fingerprint.clone(), options, peeked)?;
    let items: Vec<FeedItem<OpkgRecord>> = ipks
        .iter()
        .map(|p| {
            let i = &p.info;
            let filename = ipk::file_name(i.name.as_str(), i.version.as_str(), &i.arch);
            FeedItem {
                source: p.source(),
                arch: i.arch.clone(),
                what: format!("{} {} ({})", i.name, i.version, i.arch),
                record: OpkgRecord {
                    control: i.control.clone(),
                    filename: filename.clone(),
                    checksums: i.checksums.clone(),
                },
                filename,
            }
        })
        .collect();
    // Under the name usign looks it up by, and under older usign's unpadded name when that differs.
    let public: Vec<(String, Vec<u8>)> = std::iter::once(fingerprint.clone())
        .chain(key.legacy_name())
        .map(|name| (format!("{ROOT}/keys/{name}"), key.public_file().into_bytes()))
        .collect();
    publish_feeds(
        (RepoKind::Opkg, fingerprint),
        txn,
        ROOT,
        "Packages.sig",
        feeds,
        "all",
        &items,
        public,
        |feed, records| {
            let index = opkg::build(records).map_err(PublishError::Index)?;
            let sig = key.sign(&index.packages);
            Ok(vec![
                (format!("{ROOT}/{feed}/Packages.gz"), index.packages_gz),
                (format!("{ROOT}/{feed}/Packages"), index.packages),
                (format!("{ROOT}/{feed}/Packages.sig"), sig.into_bytes()),
            ])
        },
    )
}

/// The opkg kind: a feed per OpenWrt architecture (`opkg/<arch>/`) in each channel's tree.
pub(crate) type Opkg = crate::kind::Feed<OpkgFeed>;

/// opkg's part in [`crate::kind::Feed`].
pub(crate) struct OpkgFeed;

impl FeedKind for OpkgFeed {
    const KIND: RepoKind = RepoKind::Opkg;
    const STATE_KEY: &'static str = STATE_KEY;
    const LABEL: &'static str = "opkg";
    type Info = IpkInfo;
    type Record = OpkgRecord;
    fn inspect(
        paths: &[PathBuf],
        cache: &mut InputCache,
        store: &dyn Store,
    ) -> Result<(Vec<crate::Incoming<IpkInfo>>, Option<Peeked<OpkgRecord>>), PublishError> {
        inspect_ipks(paths, cache, store)
    }
    fn promoted(
        from: &dyn Store,
        prefix: Option<&str>,
        name: &str,
        version: &str,
    ) -> Result<crate::Promoted<crate::Incoming<IpkInfo>>, PublishError> {
        promoted(from, prefix, name, version)
    }
    fn publish(
        cx: &Context<'_>,
        feeds: &[String],
        packages: &[crate::Incoming<IpkInfo>],
        state: Option<Peeked<OpkgRecord>>,
    ) -> Result<Report, PublishError> {
        let key = cx.keys.usign.ok_or_else(|| no_key(RepoKind::Opkg))?;
        publish(cx.tree, key, cx.txn, feeds, packages, state)
    }
    fn usage(r: &Report, s: &Settings, at: &Where<'_>) -> String {
        let (fp, uri, origin) = (&r.key, at.tree_url, &s.origin);
        format!(
            "\nopkg: {} package(s) added, {} unchanged, in feeds {}. On the router:\n  wget -O /etc/opkg/keys/{fp} {uri}/opkg/keys/{fp}   # the key: {}/opkg/keys/{fp}\n  echo \"src/gz {origin} {uri}/opkg/$(opkg print-architecture | awk 'END {{ print $2 }}')\" >> /etc/opkg/customfeeds.conf\n",
            r.added.len(),
            r.unchanged.len(),
            r.groups.join(", "),
            at.tree,
        )
    }
}
