//! Publishing .deb packages into an apt repository (layout and rules: wharf-index's `apt` module).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use wharf_core::SourceDate;
use wharf_index::apt::{self, AptRecord, SuiteSettings};
use wharf_package::deb::{self, DebInfo};
use wharf_sign::OpenPgpKey;
use wharf_store::{PutMode, Store};

use crate::PublishError;

/// Where the apt state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/apt/state.json";
/// The publish lock.
pub const LOCK_KEY: &str = ".wharf/lock";
/// The binary keyring at the repository root (for `Signed-By:`).
pub const KEYRING_KEY: &str = "archive-keyring.gpg";
/// The armored public key at the repository root.
pub const ARMORED_KEY: &str = "archive-keyring.asc";

/// Repository-wide settings for an apt publish.
#[derive(Debug, Clone)]
pub struct AptSettings {
    /// `Origin:`.
    pub origin: String,
    /// `Label:`.
    pub label: String,
    /// `Description:`.
    pub description: Option<String>,
    /// `Valid-Until` = `Date` + this many seconds.
    pub valid_for: Option<u64>,
    /// Architectures every suite lists even without packages of their own (for `all`-only repositories).
    pub default_architectures: Vec<String>,
    /// The `Date:` and every signature's time.
    pub date: SourceDate,
    /// How long to wait for another publisher's lock.
    pub lock_wait: Duration,
}

/// A .deb checked and ready to publish.
#[derive(Debug, Clone)]
pub struct IncomingDeb {
    /// The file.
    pub path: PathBuf,
    /// What it says about itself.
    pub info: DebInfo,
}

/// Reads and validates .deb files (any valid .deb, not only wharf's). Fails on the first bad one.
pub fn inspect_debs(paths: &[PathBuf]) -> Result<Vec<IncomingDeb>, PublishError> {
    Ok(crate::inspect_files(paths, deb::inspect)?
        .into_iter()
        .map(|(path, info)| IncomingDeb { path, info })
        .collect())
}

/// What a publish did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AptReport {
    /// The store.
    pub store: String,
    /// Pool paths newly written.
    pub added: Vec<String>,
    /// Pool paths already published with identical bytes.
    pub unchanged: Vec<String>,
    /// Suites whose indexes were rewritten.
    pub suites: Vec<String>,
    /// Signing key fingerprint.
    pub fingerprint: String,
    /// Objects written, for the curious (and for the O(changed) tests).
    pub objects_written: usize,
}

/// Publishes `debs` into `suite`/`component` of the apt repository in `store`, signing with `key`.
///
/// Idempotent: republishing identical packages changes nothing but the signatures' date.
pub fn publish(
    store: &dyn Store,
    key: &OpenPgpKey,
    settings: &AptSettings,
    suite: &str,
    component: &str,
    debs: &[IncomingDeb],
) -> Result<AptReport, PublishError> {
    crate::check_name("suite", suite)?;
    crate::check_name("component", component)?;
    let _lock = store.lock(LOCK_KEY, settings.lock_wait)?;
    let (mut state, fingerprint) = crate::Manifest::<AptRecord>::load(store, STATE_KEY, key.fingerprint())?;

    // Every pool path already published, in any suite, with its checksum.
    let published: BTreeMap<&str, &str> = state
        .groups
        .values()
        .flatten()
        .map(|r| (r.filename.as_str(), r.checksums.sha256.as_str()))
        .collect();

    // Decide everything before writing anything.
    let mut uploads: Vec<(&IncomingDeb, String)> = Vec::new();
    let mut unchanged = Vec::new();
    let mut new_records = Vec::new();
    let mut seen = BTreeSet::new();
    for d in debs {
        let i = &d.info;
        let file = deb::file_name(i.name.as_str(), i.version.as_str(), &i.arch);
        let pool = apt::pool_path(component, i.name.as_str(), &file);
        if let Some(existing) = published.get(pool.as_str()) {
            if *existing != i.checksums.sha256 {
                return Err(PublishError::Conflict {
                    what: format!("{} {} ({})", i.name, i.version, i.arch),
                    existing: (*existing).to_owned(),
                });
            }
        } else if seen.insert(pool.clone()) {
            uploads.push((d, pool.clone()));
        }
        let record = AptRecord {
            component: component.to_owned(),
            control: i.control.clone(),
            filename: pool.clone(),
            checksums: i.checksums.clone(),
        };
        let records = state.groups.get(suite).map(Vec::as_slice).unwrap_or_default();
        if records
            .iter()
            .any(|r| r.filename == pool && r.component == component)
        {
            unchanged.push(pool);
        } else if !new_records.iter().any(|r: &AptRecord| r.filename == pool) {
            new_records.push(record);
        }
    }
    let added: Vec<String> = new_records.iter().map(|r| r.filename.clone()).collect();

    // Same name/version/arch in the same suite+component replaces the old record (its pool path is the same).
    let records = state.groups.entry(suite.to_owned()).or_default();
    records.extend(new_records);

    let suite_settings = SuiteSettings {
        suite: suite.to_owned(),
        codename: suite.to_owned(),
        origin: settings.origin.clone(),
        label: settings.label.clone(),
        description: settings.description.clone(),
        components: vec![component.to_owned()],
        architectures: settings.default_architectures.clone(),
        date: settings.date,
        valid_for: settings.valid_for,
    };
    let refs: Vec<&AptRecord> = records.iter().collect();
    let mut components: BTreeSet<String> = refs.iter().map(|r| r.component.clone()).collect();
    components.insert(component.to_owned());
    let suite_settings = SuiteSettings {
        components: components.into_iter().collect(),
        ..suite_settings
    };
    let index = apt::build_suite(&suite_settings, &refs).map_err(PublishError::Index)?;
    let release = index.release.clone();
    let detached = key.detached(release.as_bytes(), settings.date.unix())?;
    let inline = key.cleartext(&release, settings.date.unix())?;
    let public = key.public_key();
    let keyring = public.to_binary()?;
    let armored = public.to_armored()?;

    let state_bytes = state.next_generation(store, STATE_KEY, &fingerprint)?;

    // 1. Immutable blobs: packages, then content-addressed indexes.
    let mut writes = 0;
    for (d, pool) in &uploads {
        store.put_file(pool, &d.path, PutMode::Overwrite)?;
        writes += 1;
    }
    for f in &index.files {
        for h in &f.by_hash {
            store.put(h, &f.bytes, PutMode::Create)?;
            writes += 1;
        }
    }
    // 2. Fixed-name indexes (clients with Acquire-By-Hash never need them mid-publish), keys, state.
    for f in &index.files {
        store.put(&f.path, &f.bytes, PutMode::Overwrite)?;
        writes += 1;
    }
    store.put(KEYRING_KEY, &keyring, PutMode::Overwrite)?;
    store.put(ARMORED_KEY, armored.as_bytes(), PutMode::Overwrite)?;
    store.put(STATE_KEY, &state_bytes, PutMode::Overwrite)?;
    // 3. Pointers last: Release and its detached signature, then InRelease (what apt reads first).
    let dists = format!("dists/{suite}");
    store.put(
        &format!("{dists}/Release"),
        release.as_bytes(),
        PutMode::Overwrite,
    )?;
    store.put(
        &format!("{dists}/Release.gpg"),
        detached.as_bytes(),
        PutMode::Overwrite,
    )?;
    store.put(
        &format!("{dists}/InRelease"),
        inline.as_bytes(),
        PutMode::Overwrite,
    )?;
    writes += 6;

    Ok(AptReport {
        store: store.describe(),
        added,
        unchanged,
        suites: vec![suite.to_owned()],
        fingerprint,
        objects_written: writes,
    })
}

/// The deb822 `.sources` stanza a user adds under `/etc/apt/sources.list.d/` to use the repository.
#[must_use]
pub fn sources_entry(uri: &str, suite: &str, components: &[&str], keyring: &Path) -> String {
    format!(
        "Types: deb\nURIs: {uri}\nSuites: {suite}\nComponents: {}\nSigned-By: {}\n",
        components.join(" "),
        keyring.display()
    )
}
