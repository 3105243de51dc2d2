//! Publishing .ipk packages into opkg feeds, one per OpenWrt package architecture: `opkg/<arch>/` holds
//! the .ipk files and the feed's `Packages`, `Packages.gz` and `Packages.sig`; the usign public key is at
//! `opkg/keys/<fingerprint>` (what `/etc/opkg/keys/` holds on the router).
//!
//! opkg fetches fixed names only (no by-hash), so the three index files are pointers: they are written
//! after every package they list, in the order `Packages.gz`, `Packages`, `Packages.sig`. A router that
//! runs `opkg update` in the instant between the first and the last sees a signature failure ("Signature
//! check failed", and opkg keeps its previous lists) and succeeds on its next update.

use std::path::PathBuf;
use std::time::Duration;

use wharf_index::opkg::{self, OpkgRecord};
use wharf_package::ipk::{self, IpkInfo};
use wharf_sign::UsignKey;
use wharf_store::Store;

use crate::{
    FeedItem, FeedRecord, FeedWrites, Manifest, Placement, PublishError, apt::LOCK_KEY, place_in_feeds,
    write_feeds,
};

impl FeedRecord for OpkgRecord {
    fn filename(&self) -> &str {
        &self.filename
    }
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
}

/// Where the opkg state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/opkg/state.json";
/// The directory feeds live under.
pub const ROOT: &str = "opkg";

/// An .ipk checked and ready to publish.
pub type IncomingIpk = crate::Incoming<IpkInfo>;

/// Reads and validates .ipk files (any valid .ipk: wharf's, ipkg-build's, nFPM's).
pub fn inspect_ipks(paths: &[PathBuf]) -> Result<Vec<IncomingIpk>, PublishError> {
    crate::inspect_incoming(paths, ipk::inspect)
}

/// What a publish did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct OpkgReport {
    /// The store.
    pub store: String,
    /// Packages newly added (`opkg/<arch>/<file>`).
    pub added: Vec<String>,
    /// Already present with identical bytes.
    pub unchanged: Vec<String>,
    /// Feeds whose index was rewritten.
    pub feeds: Vec<String>,
    /// The usign fingerprint (the key's file name under `opkg/keys/`).
    pub fingerprint: String,
}

/// Publishes `ipks` into the feeds of their architectures; `Architecture: all` packages go into every feed
/// named in `feeds` or already published. Feeds named in `feeds` are created even when empty.
pub fn publish(
    store: &dyn Store,
    key: &UsignKey,
    feeds: &[String],
    ipks: &[IncomingIpk],
    lock_wait: Duration,
) -> Result<OpkgReport, PublishError> {
    let _lock = store.lock(LOCK_KEY, lock_wait)?;
    let (mut state, fingerprint) = Manifest::<OpkgRecord>::load(store, STATE_KEY, key.fingerprint())?;
    let items: Vec<FeedItem<OpkgRecord>> = ipks
        .iter()
        .map(|p| {
            let i = &p.info;
            let filename = ipk::file_name(i.name.as_str(), i.version.as_str(), &i.arch);
            FeedItem {
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
    let Placement {
        uploads,
        added,
        unchanged,
        touched,
    } = place_in_feeds(&mut state.groups, ROOT, feeds, "all", &items)?;
    let mut indexes = Vec::new();
    for feed in &touched {
        let records: Vec<&OpkgRecord> = state.groups.entry(feed.clone()).or_default().iter().collect();
        let index = opkg::build(&records).map_err(PublishError::Index)?;
        let sig = key.sign(&index.packages);
        indexes.push((feed, index, sig));
    }
    let state_bytes = state.next_generation(store, STATE_KEY, &fingerprint)?;

    let mut pointers = Vec::new();
    for (feed, index, sig) in indexes {
        pointers.push((format!("{ROOT}/{feed}/Packages.gz"), index.packages_gz));
        pointers.push((format!("{ROOT}/{feed}/Packages"), index.packages));
        pointers.push((format!("{ROOT}/{feed}/Packages.sig"), sig.into_bytes()));
    }
    write_feeds(
        store,
        FeedWrites {
            packages: uploads
                .iter()
                .map(|(n, k)| (ipks[*n].path.as_path(), k.clone()))
                .collect(),
            key: (
                format!("{ROOT}/keys/{fingerprint}"),
                key.public_file().into_bytes(),
            ),
            state: (STATE_KEY, state_bytes),
            pointers,
        },
    )?;
    Ok(OpkgReport {
        store: store.describe(),
        added,
        unchanged,
        feeds: touched.into_iter().collect(),
        fingerprint,
    })
}
