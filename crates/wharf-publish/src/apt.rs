//! Publishing .deb packages into an apt repository (layout and rules: wharf-index's `apt` module).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use wharf_core::deb822::Paragraph;
use wharf_core::digest::Checksums;
use wharf_core::version::DebVersion;
use wharf_core::{RepoKind, SourceDate};
use wharf_index::apt::{self, AptRecord, SuiteSettings};
use wharf_package::deb::{self, DebInfo};
use wharf_sign::OpenPgpKey;
use wharf_store::Store;

use crate::inputs::InputCache;
use crate::kind::{Context, Found as Promotion, Kind, Report, Settings, Where, no_key};
use crate::txn::{Body, GroupFiles, Key, KeyFields, Peeked, Plan, Record, Source, Stored, Txn, TxnOptions};
use crate::{Found, PublishError};

/// Where the apt state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/apt/state";

/// A record's key: the pool path, the component as `extra`; its one text is its `Packages` stanza.
impl Record for AptRecord {
    fn key_fields(&self) -> KeyFields {
        KeyFields {
            file: self.filename.clone(),
            sha256: self.checksums.sha256.clone(),
            name: self.name().to_owned(),
            arch: self.arch().to_owned(),
            version: self.version().to_owned(),
            extra: self.component.clone(),
        }
    }
    fn texts(&self) -> Vec<String> {
        vec![self.stanza()]
    }
    fn object_key(_suite: &str, key: &Key) -> String {
        key.file.to_owned()
    }
    fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
        match (DebVersion::parse(a.version), DebVersion::parse(b.version)) {
            (Ok(x), Ok(y)) => x.cmp(&y),
            _ => a.version.cmp(b.version),
        }
    }
}

/// The debs of `name` at `version` in `suite`, to publish into another suite: their records stand for the
/// files, which are in the one pool already.
pub fn promoted(
    store: &dyn Store,
    suite: &str,
    name: &str,
    version: &str,
) -> Result<crate::Promoted<IncomingDeb>, PublishError> {
    crate::promoted::<AptRecord, _>(store, STATE_KEY, Some(suite), (name, version), |g, r| {
        Ok(IncomingDeb {
            path: PathBuf::from(r.object_key(g)),
            found: Found::Known(r),
        })
    })
}

/// The suites the store's apt state has.
pub fn suites(store: &dyn Store) -> Result<Vec<String>, PublishError> {
    crate::txn::groups::<AptRecord>(store, STATE_KEY)
}

/// The binary keyring at the repository root (for `Signed-By:`).
pub const KEYRING_KEY: &str = "archive-keyring.gpg";
/// The armored public key at the repository root.
pub const ARMORED_KEY: &str = "archive-keyring.asc";

/// Repository-wide settings for an apt publish.
#[derive(Debug, Clone)]
pub(crate) struct AptSettings {
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
}

/// A .deb checked and ready to publish.
#[derive(Debug, Clone)]
pub struct IncomingDeb {
    /// The file.
    pub path: PathBuf,
    found: Found<DebInfo, AptRecord>,
}

impl IncomingDeb {
    /// Name, version, architecture and SHA-256 of the file.
    fn facts(&self) -> (&str, &str, &str, &str) {
        match &self.found {
            Found::Read(i) => (i.name.as_str(), i.version.as_str(), &i.arch, &i.checksums.sha256),
            Found::Known(r) => {
                let k = r.key();
                (k.name, k.version, k.arch, k.sha256)
            }
        }
    }

    /// Its control paragraph and checksums, for a new record (a known file's from its record).
    fn contents(&self) -> Result<(Paragraph, Checksums), PublishError> {
        Ok(match &self.found {
            Found::Read(i) => (i.control.clone(), i.checksums.clone()),
            Found::Known(r) if r.loaded() => {
                let r = r.record()?;
                (r.control.clone(), r.checksums.clone())
            }
            Found::Known(r) => {
                let i = crate::read_known(&self.path, r.key().sha256, |f| deb::inspect(f))?;
                (i.control, i.checksums)
            }
        })
    }
}

/// Reads and validates .deb files (any valid .deb, not only wharf's). Fails on the first bad one. Files
/// the input `cache` knows unchanged and the apt state in `store` holds are not read again. Returns the
/// state as read too (before the lock): [`publish`] reuses it if it is still current.
pub fn inspect_debs(
    paths: &[PathBuf],
    cache: &mut InputCache,
    store: &dyn Store,
) -> Result<(Vec<IncomingDeb>, Option<Peeked<AptRecord>>), PublishError> {
    let (found, state) = crate::inspect_cached(paths, |f| deb::inspect(f), cache, store, STATE_KEY, false)?;
    let debs = found
        .into_iter()
        .map(|(path, found)| IncomingDeb { path, found })
        .collect();
    Ok((debs, state))
}

/// Publishes `debs` into `suite`/`component` of the apt repository in `store`, signing with `key`.
///
/// Idempotent: republishing identical packages writes nothing (with a Valid-Until, it re-signs the suite).
/// `peeked` is the state [`peek`] read for [`inspect_debs`], reused if still current.
#[allow(clippy::too_many_arguments)]
pub(crate) fn publish(
    store: &dyn Store,
    key: &OpenPgpKey,
    settings: &AptSettings,
    options: &TxnOptions,
    suite: &str,
    component: &str,
    debs: &[IncomingDeb],
    peeked: Option<Peeked<AptRecord>>,
) -> Result<Report, PublishError> {
    crate::check_name("suite", suite)?;
    crate::check_name("component", component)?;
    let mut txn = Txn::<AptRecord>::begin_with(
        store,
        "apt",
        STATE_KEY,
        key.fingerprints().join(" "),
        options,
        peeked,
    )?;

    // Every pool path already published, in any suite, with its checksum.
    let published: foldhash::HashMap<&str, &str> = txn
        .state
        .groups
        .values()
        .flatten()
        .map(|r| (r.key().file, r.key().sha256))
        .collect();

    // Decide everything before writing anything.
    let mut uploads = Vec::new();
    let mut unchanged = Vec::new();
    let mut new_records = Vec::new();
    let mut seen = foldhash::HashSet::default();
    // (pool path, component) already in this suite, and pool paths this publish adds to it: looked up
    // per package, so a publish of n packages into a suite of m stays O(n + m).
    let in_suite: foldhash::HashSet<(&str, &str)> = txn
        .state
        .groups
        .get(suite)
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .map(|r| (r.key().file, r.key().extra))
        .collect();
    let mut adding = foldhash::HashSet::default();
    for d in debs {
        let (name, version, arch, sha256) = d.facts();
        let file = deb::file_name(name, version, arch);
        let pool = apt::pool_path(component, name, &file);
        if let Some(existing) = published.get(pool.as_str()) {
            if *existing != sha256 {
                return Err(PublishError::Conflict {
                    what: format!("{name} {version} ({arch})"),
                    existing: (*existing).to_owned(),
                });
            }
        } else if seen.insert(pool.clone()) {
            uploads.push((pool.clone(), Source::File(d.path.clone())));
        }
        if in_suite.contains(&(pool.as_str(), component)) {
            unchanged.push(pool);
        } else if adding.insert(pool.clone()) {
            new_records.push((d, pool));
        }
    }
    let added: Vec<String> = new_records.iter().map(|(_, pool)| pool.clone()).collect();
    // A publish rewrites its suite when it adds to it, when the suite has no InRelease yet, and always
    // when Release carries a Valid-Until (re-signing is what extends it); otherwise nothing changed and
    // the store is left as it is. A prune rewrites only the suites it changes.
    let mut touched = BTreeSet::new();
    if !debs.is_empty()
        && (!new_records.is_empty()
            || settings.valid_for.is_some()
            || store.head(&format!("dists/{suite}/InRelease"))?.is_none())
    {
        // Known files added to this suite are made from their records in the state: the segments
        // holding those are read (no others: the suite's `Packages` are spliced, [`suite_files`]).
        let known: Vec<&Stored<AptRecord>> =
            new_records.iter().filter_map(|(d, _)| d.found.known()).collect();
        txn.load_records(&known)?;
        // Each record made and stored (JSON, stanza) on every core.
        let new_records =
            wharf_core::parallel::map_in_order(&new_records, wharf_core::parallel::cores(), |(d, pool)| {
                let (control, checksums) = d.contents()?;
                Stored::new(AptRecord {
                    component: component.to_owned(),
                    control,
                    filename: pool.clone(),
                    checksums,
                })
            })
            .into_iter()
            .collect::<Result<Vec<_>, _>>()?;
        txn.state
            .groups
            .entry(suite.to_owned())
            .or_default()
            .extend(new_records);
        touched.insert(suite.to_owned());
    }
    let pruned = txn
        .apply_retention(&mut touched)
        .iter()
        .map(|(_, r)| r.describe())
        .collect();

    // Every signing key (more than one during a rotation), so clients holding the keyring accept
    // whichever signature they meet.
    let mut plan = Plan {
        uploads,
        shared: vec![
            (KEYRING_KEY.to_owned(), key.keyring_binary()?),
            (ARMORED_KEY.to_owned(), key.keyring_armored()?.into_bytes()),
        ],
        groups: Vec::new(),
    };
    let regenerate = txn.groups_to_rewrite(&touched, false)?;
    for s in &regenerate {
        let records = txn.state.groups.get(s).map(Vec::as_slice).unwrap_or_default();
        let extra = (s == suite).then_some(component);
        let load = |rs: &[&Stored<AptRecord>]| txn.load_records(rs);
        plan.groups
            .push(suite_files(store, key, settings, (s, extra), records, &load)?);
    }
    let collected = txn.commit(plan)?;
    Ok(Report {
        kind: RepoKind::Apt,
        store: store.describe(),
        added,
        unchanged,
        signed: regenerate
            .iter()
            .map(|s| format!("dists/{s}/InRelease"))
            .collect(),
        groups: regenerate.into_iter().collect(),
        key: key.fingerprints().join(" "),
        unsigned: Vec::new(),
        client_files: Vec::new(),
        pruned,
        collected,
    })
}

/// Reads the state's segments holding these records ([`Txn::load_records`]).
type LoadRecords<'a> = &'a dyn Fn(&[&Stored<AptRecord>]) -> Result<(), PublishError>;

/// One suite's index files: by-hash blobs, the plain-named indexes, and the signed Release files.
/// The `Packages` are spliced: the stanzas of records whose state segment was not read are taken from
/// the current ones (found by name, version and architecture, and of the length the state says); should
/// one not be there, `load` reads every record's segment and they are made from the state alone.
pub(crate) fn suite_files(
    store: &dyn Store,
    key: &OpenPgpKey,
    settings: &AptSettings,
    (suite, component): (&str, Option<&str>),
    records: &[Stored<AptRecord>],
    load: LoadRecords<'_>,
) -> Result<GroupFiles, PublishError> {
    let mut components: BTreeSet<String> = records.iter().map(|r| r.key().extra.to_owned()).collect();
    components.extend(component.map(str::to_owned));
    if components.is_empty() {
        components.insert("main".to_owned());
    }
    let suite_settings = SuiteSettings {
        suite: suite.to_owned(),
        codename: suite.to_owned(),
        origin: settings.origin.clone(),
        label: settings.label.clone(),
        description: settings.description.clone(),
        components: components.into_iter().collect(),
        architectures: settings.default_architectures.clone(),
        date: settings.date,
        valid_for: settings.valid_for,
    };
    // The suite's current files, for unchanged xz blocks to be carried over and stanzas to be taken
    // (any read failure: compress, or read the state).
    let previous = |path: &str| store.get(path).ok().flatten();
    let entries = || -> Result<Vec<apt::SuiteEntry<'_>>, PublishError> {
        records
            .iter()
            .map(|r| {
                let k = r.key();
                Ok(apt::SuiteEntry {
                    component: k.extra,
                    name: k.name,
                    version: k.version,
                    arch: k.arch,
                    stanza: if r.loaded() {
                        apt::Stanza::Text(r.text(0)?)
                    } else {
                        apt::Stanza::Published(r.text_len(0))
                    },
                })
            })
            .collect()
    };
    let index =
        match apt::build_suite(&suite_settings, &entries()?, &previous).map_err(PublishError::Index)? {
            Some(index) => index,
            None => {
                load(&records.iter().collect::<Vec<_>>())?;
                apt::build_suite(&suite_settings, &entries()?, &previous)
                    .map_err(PublishError::Index)?
                    .ok_or_else(|| PublishError::Index(std::io::Error::other("a stanza is missing")))?
            }
        };
    let release = index.release.clone();
    let detached = key.detached(release.as_bytes(), settings.date.unix())?;
    let inline = key.cleartext(&release, settings.date.unix())?;
    let mut g = GroupFiles {
        group: suite.to_owned(),
        ..GroupFiles::default()
    };
    // Each document is sent once, under its first by-hash name; its other names are store-side copies.
    for f in index.files {
        let mut names = f.by_hash.into_iter();
        let Some(first) = names.next() else {
            g.fixed.push((f.path, Body::Bytes(f.bytes)));
            continue;
        };
        g.blobs.push((first.clone(), Body::Bytes(f.bytes)));
        g.blobs.extend(names.map(|h| (h, Body::CopyOf(first.clone()))));
        g.fixed.push((f.path, Body::CopyOf(first)));
    }
    // Release and its detached signature, then InRelease (what apt reads first).
    let dists = format!("dists/{suite}");
    g.pointers = vec![
        (format!("{dists}/Release"), release.into_bytes()),
        (format!("{dists}/Release.gpg"), detached.into_bytes()),
        (format!("{dists}/InRelease"), inline.into_bytes()),
    ];
    Ok(g)
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

/// The apt kind: one pool and state at the store's top, a suite per channel.
#[derive(Default)]
pub struct Apt {
    debs: Vec<IncomingDeb>,
    state: Option<Peeked<AptRecord>>,
}

impl Kind for Apt {
    fn kind(&self) -> RepoKind {
        RepoKind::Apt
    }
    fn state_key(&self) -> &'static str {
        STATE_KEY
    }
    fn at_top(&self) -> bool {
        true
    }
    fn inspect(
        &mut self,
        paths: &[PathBuf],
        cache: &mut InputCache,
        store: &dyn Store,
    ) -> Result<(), PublishError> {
        (self.debs, self.state) = inspect_debs(paths, cache, store)?;
        Ok(())
    }
    fn promote(
        &mut self,
        from: &dyn Store,
        _prefix: Option<&str>,
        suite: &str,
        (name, version): (&str, &str),
    ) -> Result<Promotion, PublishError> {
        let found;
        (self.debs, _, found) = promoted(from, suite, name, version)?.split();
        Ok(found)
    }
    fn has_packages(&self) -> bool {
        !self.debs.is_empty()
    }
    fn publish(&mut self, cx: &Context<'_>) -> Result<Report, PublishError> {
        let key = cx.keys.openpgp.ok_or_else(|| no_key(RepoKind::Apt))?;
        let s = cx.settings;
        let settings = AptSettings {
            origin: s.origin.clone(),
            label: s.label.clone(),
            description: s.description.clone(),
            valid_for: s.valid_for,
            default_architectures: s.architectures.clone(),
            date: s.date,
        };
        publish(
            cx.top,
            key,
            &settings,
            cx.txn,
            &s.suite,
            &s.component,
            &self.debs,
            self.state.take(),
        )
    }
    fn usage(&self, r: &Report, s: &Settings, at: &Where<'_>) -> String {
        let keyring = format!("/etc/apt/keyrings/{}.gpg", s.origin);
        format!(
            "\napt: {} package(s) added, {} unchanged. To use it, install the key and add a source:\n  install -m 0644 {}/{KEYRING_KEY} {keyring}\n  and write /etc/apt/sources.list.d/{}.sources:\n\n{}",
            r.added.len(),
            r.unchanged.len(),
            at.top,
            s.origin,
            sources_entry(at.top_url, &s.suite, &[&s.component], Path::new(&keyring))
        )
    }
}
