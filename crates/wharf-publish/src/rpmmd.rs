//! Publishing .rpm packages into rpm-md repositories named by chroot (`fedora-43-x86_64`,
//! `almalinux-10-x86_64_v2`, …), each `<repo>/Packages/<letter>/<file>.rpm` + `<repo>/repodata/`.
//!
//! Pointer files are `repodata/repomd.xml` and its signature `repomd.xml.asc`, written last and back to
//! back. Unlike apt, dnf cannot fetch repomd.xml by hash, so a client that reads repomd.xml in the few
//! milliseconds between the two writes sees a signature mismatch and retries on its next refresh; the
//! content-addressed `repodata/<sha256>-*.xml.*` files it points at always exist.

use std::collections::{BTreeSet, HashMap};
use std::path::PathBuf;

use wharf_core::rpmver::Evr;
use wharf_core::{RepoKind, SourceDate};
use wharf_index::rpmmd::{self, MdCompression, RpmRecord};
use wharf_package::rpm::{self, RpmInfo};
use wharf_sign::OpenPgpKey;
use wharf_store::Store;

use crate::inputs::InputCache;
use crate::kind::{Context, Found as Promotion, Kind, Report, Settings, Where, no_key};
use crate::txn::{Body, GroupFiles, Key, KeyFields, Peeked, Plan, Record, Source, Stored, Txn, TxnOptions};
use crate::{Found, PublishError};

/// Where the rpm state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/rpm/state";

/// A record's key: its location as the file, `epoch:version-release` as the version; its texts are its
/// `<package>` elements in primary, filelists and other ([`rpmmd::fragments`]).
impl Record for RpmRecord {
    fn key_fields(&self) -> KeyFields {
        let i = &self.info;
        KeyFields {
            file: self.location.clone(),
            sha256: i.checksums.sha256.clone(),
            name: i.name.clone(),
            arch: i.arch.clone(),
            version: format!("{}:{}-{}", i.epoch, i.version, i.release),
            extra: if i.signed { SIGNED } else { "" }.to_owned(),
        }
    }
    fn texts(&self) -> Vec<String> {
        rpmmd::fragments(self).into()
    }
    fn object_key(repo: &str, key: &Key) -> String {
        format!("{repo}/{}", key.file)
    }
    fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
        let evr = |k: &Key| {
            let (epoch, version, release) = evr(k);
            Evr {
                epoch,
                version: version.to_owned(),
                release: release.to_owned(),
            }
        };
        evr(a).cmp(&evr(b))
    }
    fn version(key: &Key) -> String {
        let (_, version, release) = evr(key);
        format!("{version}-{release}")
    }
    fn version_is(key: &Key, v: &str) -> bool {
        let (epoch, version, release) = evr(key);
        let wharf = v
            .parse::<wharf_core::Version>()
            .ok()
            .map(|v| Evr::from_version(&v));
        v == version
            || v == Self::version(key)
            || wharf.is_some_and(|e| e.epoch == epoch && e.version == version && e.release == release)
    }
}

/// Epoch, version and release of a key's `epoch:version-release` (rpm allows no `-` in either).
fn evr<'a>(key: &Key<'a>) -> (u32, &'a str, &'a str) {
    let (epoch, vr) = key.version.split_once(':').unwrap_or(("0", key.version));
    let (version, release) = vr.rsplit_once('-').unwrap_or((vr, ""));
    (epoch.parse().unwrap_or(0), version, release)
}

/// The rpms of `name` at `version` in the tree `from` (at `prefix` in the store), to publish into another
/// channel's tree: their records stand for the files, copied store-side.
pub fn promoted(
    from: &dyn Store,
    prefix: Option<&str>,
    name: &str,
    version: &str,
) -> Result<crate::Promoted<IncomingRpm>, PublishError> {
    crate::promoted::<RpmRecord, _>(from, STATE_KEY, None, (name, version), |g, r| {
        let key = r.object_key(g);
        Ok(IncomingRpm {
            path: PathBuf::from(&key),
            stored: Some(crate::from_root(prefix, &key)),
            found: Found::Known(r),
            signed: None,
        })
    })
}

/// The repositories (`fedora-43-x86_64`, `linux-x86_64`) the store's rpm-md state has.
pub fn repositories(store: &dyn Store) -> Result<Vec<String>, PublishError> {
    let mut groups = crate::txn::groups::<RpmRecord>(store, STATE_KEY)?;
    groups.retain(|g| !g.ends_with(SOURCE_SUFFIX));
    Ok(groups)
}

/// Settings for an rpm-md publish.
#[derive(Debug, Clone)]
pub(crate) struct RpmSettings {
    /// Names the key file (`RPM-GPG-KEY-<origin>`) and the `.repo` section.
    pub origin: String,
    /// Human name in the `.repo` file.
    pub label: String,
    /// The channel these repositories belong to: part of the `.repo` section, so the files of two
    /// channels can be installed side by side.
    pub channel: Option<String>,
    /// Where clients reach the store's root (`https://…`, or `file:///…` for a local directory).
    pub base_url: String,
    /// Metadata compression.
    pub compression: MdCompression,
    /// `revision`, timestamps and signature time.
    pub date: SourceDate,
    /// Each repository's distribution tag.
    pub dist_tags: std::collections::BTreeMap<String, String>,
}

/// An .rpm checked and ready to publish.
#[derive(Debug, Clone)]
pub struct IncomingRpm {
    /// The file.
    pub path: PathBuf,
    /// What its header says, or the state's record of it (a file the input cache knows).
    found: Found<RpmInfo, RpmRecord>,
    /// The package signed by wharf, when it arrived unsigned and signing was asked for.
    pub signed: Option<Vec<u8>>,
    /// The object in the store (named from its root) this package is, when promoted from another
    /// channel's tree: copied store-side.
    stored: Option<String>,
}

/// A record's `extra` key field when its package carries a signature.
const SIGNED: &str = "signed";

impl IncomingRpm {
    /// The package's architecture.
    #[must_use]
    pub fn arch(&self) -> &str {
        match &self.found {
            Found::Read(i) => &i.arch,
            Found::Known(r) => r.key().arch,
        }
    }

    /// The package's release (`1.fc43`).
    fn release(&self) -> &str {
        match &self.found {
            Found::Read(i) => &i.release,
            Found::Known(r) => r.key().version.rsplit_once('-').map_or("", |(_, rel)| rel),
        }
    }

    /// Whether the package carries a signature.
    #[must_use]
    pub fn is_signed(&self) -> bool {
        match &self.found {
            Found::Read(i) => i.signed,
            Found::Known(r) => r.key().extra == SIGNED,
        }
    }

    /// Where it lives in a repository (`Packages/h/hello-1.0-1.x86_64.rpm`).
    fn location(&self) -> String {
        match &self.found {
            Found::Read(i) => {
                let file = rpm::file_name(&i.name, &i.version, &i.release, &i.arch);
                let letter = i.name.chars().next().unwrap_or('_').to_ascii_lowercase();
                format!("Packages/{letter}/{file}")
            }
            Found::Known(r) => r.key().file.to_owned(),
        }
    }

    /// `name epoch:version-release (arch)`.
    fn describe(&self) -> String {
        match &self.found {
            Found::Read(i) => format!("{} {}:{}-{} ({})", i.name, i.epoch, i.version, i.release, i.arch),
            Found::Known(r) => r.describe(),
        }
    }

    /// What its header says (a known file's, from its record: parsed now).
    fn info(&self) -> Result<std::borrow::Cow<'_, RpmInfo>, PublishError> {
        use std::borrow::Cow;
        match &self.found {
            Found::Read(i) => Ok(Cow::Borrowed(i)),
            Found::Known(r) if r.loaded() => Ok(Cow::Borrowed(&r.record()?.info)),
            Found::Known(r) => Ok(Cow::Owned(crate::read_known(&self.path, r.key().sha256, |f| {
                rpm::inspect(f)
            })?)),
        }
    }

    /// Signs the package in memory with `key` (its checksums change; its header does not).
    pub fn sign(&mut self, key: &OpenPgpKey, date: SourceDate) -> Result<(), PublishError> {
        let f = std::fs::File::open(&self.path).map_err(|source| PublishError::Read {
            path: self.path.clone(),
            source,
        })?;
        let mut out = Vec::new();
        rpm::sign_rpm(&mut std::io::BufReader::new(f), key, date, &mut out).map_err(|source| {
            PublishError::Package {
                path: self.path.clone(),
                source,
            }
        })?;
        self.found = Found::Read(Box::new(rpm::inspect(&out[..]).map_err(|source| {
            PublishError::Package {
                path: self.path.clone(),
                source,
            }
        })?));
        self.signed = Some(out);
        Ok(())
    }
}

/// Signs, in memory, every package that arrived without a signature (`wharf publish --sign`).
fn sign_unsigned(rpms: &mut [IncomingRpm], key: &OpenPgpKey, date: SourceDate) -> Result<(), PublishError> {
    for p in rpms.iter_mut().filter(|p| !p.is_signed()) {
        p.sign(key, date)?;
    }
    Ok(())
}

/// Reads and validates .rpm files (any valid binary rpm, signed or not); files the input `cache` knows
/// unchanged and the rpm-md state in `store` holds are not read again. Returns the state as read too
/// (before the lock): [`publish`] reuses it if it is still current.
pub fn inspect_rpms(
    paths: &[PathBuf],
    cache: &mut InputCache,
    store: &dyn Store,
) -> Result<(Vec<IncomingRpm>, Option<Peeked<RpmRecord>>), PublishError> {
    let (found, state) = crate::inspect_cached(paths, |f| rpm::inspect(f), cache, store, STATE_KEY, false)?;
    let rpms = found
        .into_iter()
        .map(|(path, found)| IncomingRpm {
            path,
            found,
            signed: None,
            stored: None,
        })
        .collect();
    Ok((rpms, state))
}

/// The architecture a chroot-style repository name ends with (`fedora-43-x86_64_v2` → `x86_64_v2`).
#[must_use]
pub fn repo_arch(repo: &str) -> &str {
    repo.rsplit_once('-').map_or(repo, |(_, a)| a)
}

/// Whether a package of `arch` belongs in a repository of `repo_arch`: same arch, `noarch` everywhere, and
/// baseline `x86_64` in `x86_64_v2`…`v4` repositories too (it runs there).
#[must_use]
pub fn accepts(repo_arch: &str, arch: &str) -> bool {
    arch == "noarch" || repo_arch == arch || (arch == "x86_64" && repo_arch.starts_with("x86_64_v"))
}

/// The `<location href>` of the document of `kind` in a `repomd.xml`.
fn document_location<'a>(repomd: &'a str, kind: &str) -> Option<&'a str> {
    let data = &repomd[repomd.find(&format!("<data type=\"{kind}\">"))?..];
    let data = &data[..data.find("</data>")?];
    let href = &data[data.find("<location href=\"")? + "<location href=\"".len()..];
    Some(&href[..href.find('"')?])
}

/// The architecture a source rpm is listed under.
const SOURCE_ARCH: &str = "src";
/// What a repository's source tree adds to its name (`fedora-43-x86_64/SRPMS`).
const SOURCE_SUFFIX: &str = "/SRPMS";

/// The source tree of repository `repo`.
fn source_tree(repo: &str) -> String {
    format!("{repo}{SOURCE_SUFFIX}")
}

/// A repository's `.repo` file: its section, and (disabled, as Fedora ships it; `dnf download --source`
/// enables it) a `-source` section for its source tree when it has one.
fn repo_text(settings: &RpmSettings, repo: &str, key_name: &str, has_sources: bool) -> String {
    let base = settings.base_url.trim_end_matches('/');
    let section = match &settings.channel {
        Some(c) => format!("{}-{c}-{repo}", settings.origin),
        None => format!("{}-{repo}", settings.origin),
    };
    let channel = settings
        .channel
        .as_ref()
        .map_or_else(String::new, |c| format!(", {c}"));
    let label = &settings.label;
    let mut text = format!(
        "[{section}]\nname={label} ({repo}{channel})\nbaseurl={base}/{repo}\nenabled=1\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey={base}/{key_name}\n"
    );
    if has_sources {
        text.push_str(&format!(
            "\n[{section}-source]\nname={label} ({repo}{channel}, sources)\nbaseurl={base}/{repo}{SOURCE_SUFFIX}\nenabled=0\ngpgcheck=1\nrepo_gpgcheck=1\ngpgkey={base}/{key_name}\n"
        ));
    }
    text
}

/// The key file at the store root.
#[must_use]
pub fn key_file(origin: &str) -> String {
    format!("RPM-GPG-KEY-{origin}")
}

/// Publishes `rpms` into every repository of `repos` that accepts their architecture.
pub(crate) fn publish(
    store: &dyn Store,
    key: &OpenPgpKey,
    settings: &RpmSettings,
    options: &TxnOptions,
    repos: &[String],
    rpms: &[IncomingRpm],
    peeked: Option<Peeked<RpmRecord>>,
) -> Result<Report, PublishError> {
    if repos.is_empty() && !rpms.is_empty() {
        return Err(PublishError::Settings(
            "no rpm repository named; pass --repo NAME (e.g. fedora-43-x86_64)".into(),
        ));
    }
    for r in repos {
        crate::check_name("repository", r)?;
    }
    crate::check_name("origin", &settings.origin)?;
    // Every package must land somewhere: a binary one in each repository that takes its architecture, a
    // source one in each repository's source tree (`<repo>/SRPMS`, as Copr and Fedora keep them).
    let source_trees: Vec<String> = repos.iter().map(|r| source_tree(r)).collect();
    let mut targets: Vec<(&IncomingRpm, Vec<&String>)> = Vec::new();
    for p in rpms {
        // A release ending in a repository's dist tag (`1.fc43`) goes into the repositories of that tag only.
        let release = p.release();
        let tag = settings
            .dist_tags
            .values()
            .filter(|t| release.ends_with(t.as_str()))
            .max_by_key(|t| t.len());
        let into: Vec<&String> = if p.arch() == SOURCE_ARCH {
            source_trees.iter().collect()
        } else {
            repos
                .iter()
                .filter(|r| accepts(repo_arch(r), p.arch()))
                .filter(|r| tag.is_none_or(|t| settings.dist_tags.get(*r) == Some(t)))
                .collect()
        };
        if into.is_empty() {
            return Err(PublishError::Settings(format!(
                "`{}` is for {}, but none of the repositories ({}) takes that architecture; add --repo <distro>-<version>-{}",
                p.path.display(),
                p.arch(),
                repos.join(", "),
                p.arch()
            )));
        }
        targets.push((p, into));
    }

    let mut txn = Txn::<RpmRecord>::begin_with(
        store,
        "rpm",
        STATE_KEY,
        key.fingerprints().join(" "),
        options,
        peeked,
    )?;

    let mut uploads = Vec::new();
    let mut added = Vec::new();
    let mut unchanged = Vec::new();
    let mut unsigned = Vec::new();
    let mut touched = BTreeSet::new();
    // Each repository's records by location (index into its list), built once: a publish of n packages
    // into repositories of m records stays O(n + m).
    let mut by_location: HashMap<&String, foldhash::HashMap<String, usize>> = repos
        .iter()
        .map(|repo| {
            let records = txn.state.groups.get(repo).map(Vec::as_slice).unwrap_or_default();
            let index = records
                .iter()
                .enumerate()
                .map(|(n, r)| (r.key().file.to_owned(), n))
                .collect();
            (repo, index)
        })
        .collect();
    // A known file added to a repository is made from its record in the state: read the state whole
    // first if any is (a publish that adds nothing needs only its keys).
    let locations: Vec<String> = targets.iter().map(|(p, _)| p.location()).collect();
    let adds_known = targets.iter().zip(&locations).any(|((p, into), location)| {
        matches!(p.found, Found::Known(_))
            && into
                .iter()
                .any(|repo| by_location.get(repo).is_none_or(|l| !l.contains_key(location)))
    });
    if adds_known {
        txn.load()?;
    }
    // The record of every file read (not known from the state), made and stored (JSON, three XML
    // fragments) on every core: most of them are added.
    let time_file = u64::try_from(settings.date.unix()).unwrap_or(0);
    let make = |p: &IncomingRpm| -> Result<Stored<RpmRecord>, PublishError> {
        Stored::new(RpmRecord {
            info: p.info()?.into_owned(),
            location: p.location(),
            time_file,
        })
    };
    let read_any = targets.iter().any(|(p, _)| matches!(p.found, Found::Read(_)));
    let made: Vec<Option<Stored<RpmRecord>>> = if read_any {
        wharf_core::parallel::map_in_order(&targets, wharf_core::parallel::cores(), |(p, _)| {
            matches!(p.found, Found::Read(_)).then(|| make(p)).transpose()
        })
        .into_iter()
        .collect::<Result<_, _>>()?
    } else {
        targets.iter().map(|_| None).collect()
    };
    for (((p, into), made), location) in targets.iter().zip(made).zip(locations) {
        let sha256 = p.found.sha256();
        for repo in into {
            let key_path = format!("{repo}/{location}");
            let records = txn.state.groups.entry((*repo).clone()).or_default();
            let index = by_location.entry(repo).or_default();
            match index.get(location.as_str()).map(|n| &records[*n]) {
                Some(r) if r.key().sha256 == sha256 => unchanged.push(key_path),
                Some(r) => {
                    return Err(PublishError::Conflict {
                        what: format!("{} in {repo}", p.describe()),
                        existing: r.key().sha256.to_owned(),
                    });
                }
                None => {
                    index.insert(location.clone(), records.len());
                    records.push(match &made {
                        Some(r) => r.clone(),
                        None => make(p)?,
                    });
                    let source = match &p.signed {
                        Some(bytes) => Source::Bytes(bytes.clone()),
                        None => match &p.stored {
                            Some(key) => Source::Stored(key.clone()),
                            None => Source::File(p.path.clone()),
                        },
                    };
                    if !p.is_signed() {
                        unsigned.push(key_path.clone());
                    }
                    uploads.push((key_path.clone(), source));
                    added.push(key_path);
                    touched.insert((*repo).clone());
                    // The binary repository's `.repo` file gains the source tree's section.
                    if let Some(binary) = repo.strip_suffix(SOURCE_SUFFIX) {
                        touched.insert(binary.to_owned());
                    }
                }
            }
        }
    }
    // Repositories named but still without metadata get (empty) metadata too, so clients can use them.
    for repo in repos {
        if !txn.state.groups.contains_key(repo)
            || store.head(&format!("{repo}/repodata/repomd.xml"))?.is_none()
        {
            txn.state.groups.entry(repo.clone()).or_default();
            touched.insert(repo.clone());
        }
    }
    let pruned = txn
        .apply_retention(&mut touched)
        .iter()
        .map(|(g, r)| format!("{} in {g}", r.describe()))
        .collect();

    // Every signing key (more than one during a rotation): rpm imports each certificate of the block.
    let armored = key.keyring_armored()?;
    let key_name = key_file(&settings.origin);
    let mut plan = Plan {
        uploads,
        shared: vec![(key_name.clone(), armored.clone().into_bytes())],
        groups: Vec::new(),
    };
    let mut repo_files = Vec::new();
    // The documents are spliced: the elements of records whose state segment was not read are taken
    // from the current documents (found by pkgid, location and length); should one not be there, every
    // record's segment is read and they are made from the state alone.
    let regenerate = txn.groups_to_rewrite(&touched, false)?;
    for repo in &regenerate {
        let stored = txn.state.groups.get(repo).map(Vec::as_slice).unwrap_or_default();
        // A repository a crashed publish left pending may have documents older than its state (a
        // package removed and added again since would keep its earlier `<time file>`): made from the
        // state alone.
        if txn.is_pending(repo) {
            txn.load_records(&stored.iter().collect::<Vec<_>>())?;
        }
        let entries = || -> Result<Vec<rpmmd::MdEntry<'_>>, PublishError> {
            // Collected into room made once: ~180 bytes a package, 18 MB at 100,000.
            let mut entries = Vec::with_capacity(stored.len());
            for r in stored {
                let k = r.key();
                let (epoch, version, release) = evr(&k);
                let fragment = |n: usize| -> Result<rpmmd::Fragment<'_>, PublishError> {
                    Ok(if r.loaded() {
                        rpmmd::Fragment::Text(r.text(n)?)
                    } else {
                        rpmmd::Fragment::Published(r.text_len(n))
                    })
                };
                entries.push(rpmmd::MdEntry {
                    name: k.name,
                    epoch,
                    version,
                    release,
                    arch: k.arch,
                    sha256: k.sha256,
                    location: k.file,
                    fragments: [fragment(0)?, fragment(1)?, fragment(2)?],
                });
            }
            Ok(entries)
        };
        // The current documents: unchanged gzip parts are carried over from them and published elements
        // taken from them (any read failure: compress, or read the state).
        let current = std::sync::OnceLock::new();
        let previous = |kind: &str| {
            let repomd = current.get_or_init(|| {
                store
                    .get(&format!("{repo}/repodata/repomd.xml"))
                    .ok()
                    .flatten()
                    .and_then(|b| String::from_utf8(b).ok())
            });
            let href = document_location(repomd.as_deref()?, kind)?;
            store.get(&format!("{repo}/{href}")).ok().flatten()
        };
        let build = |entries: Vec<rpmmd::MdEntry<'_>>| {
            rpmmd::build(entries, settings.date, settings.compression, &previous).map_err(PublishError::Index)
        };
        let index = match build(entries()?)? {
            Some(index) => index,
            None => {
                txn.load_records(&stored.iter().collect::<Vec<_>>())?;
                build(entries()?)?.ok_or_else(|| {
                    PublishError::Index(std::io::Error::other("a package element is missing"))
                })?
            }
        };
        let asc = key.detached(index.repomd.as_bytes(), settings.date.unix())?;
        let mut fixed = vec![(
            format!("{repo}/repodata/repomd.xml.key"),
            Body::Bytes(armored.clone().into_bytes()),
        )];
        if !repo.ends_with(SOURCE_SUFFIX) {
            let has_sources = txn.state.groups.contains_key(&source_tree(repo));
            let repo_file = format!("{repo}/{}.repo", settings.origin);
            repo_files.push(repo_file.clone());
            fixed.push((
                repo_file,
                Body::Bytes(repo_text(settings, repo, &key_name, has_sources).into_bytes()),
            ));
        }
        plan.groups.push(GroupFiles {
            group: repo.clone(),
            blobs: index
                .files
                .into_iter()
                .map(|f| (format!("{repo}/{}", f.path), Body::Bytes(f.bytes)))
                .collect(),
            fixed,
            // Back to back: dnf cannot fetch repomd.xml by hash (see the module doc).
            pointers: vec![
                (format!("{repo}/repodata/repomd.xml"), index.repomd.into_bytes()),
                (format!("{repo}/repodata/repomd.xml.asc"), asc.into_bytes()),
            ],
        });
    }
    let collected = txn.commit(plan)?;
    Ok(Report {
        kind: RepoKind::RpmMd,
        store: store.describe(),
        added,
        unchanged,
        signed: regenerate
            .iter()
            .map(|r| format!("{r}/repodata/repomd.xml"))
            .collect(),
        groups: regenerate.into_iter().collect(),
        key: key.fingerprints().join(" "),
        unsigned,
        client_files: repo_files,
        pruned,
        collected,
    })
}

/// The rpm-md kind: repositories named by chroot in each channel's tree.
#[derive(Default)]
pub struct RpmMd {
    rpms: Vec<IncomingRpm>,
    state: Option<Peeked<RpmRecord>>,
    /// The repositories a promotion found the packages in (they go into the same ones).
    repos: Vec<String>,
}

impl Kind for RpmMd {
    fn kind(&self) -> RepoKind {
        RepoKind::RpmMd
    }
    fn state_key(&self) -> &'static str {
        STATE_KEY
    }
    fn inspect(
        &mut self,
        paths: &[PathBuf],
        cache: &mut InputCache,
        store: &dyn Store,
    ) -> Result<(), PublishError> {
        (self.rpms, self.state) = inspect_rpms(paths, cache, store)?;
        Ok(())
    }
    fn promote(
        &mut self,
        from: &dyn Store,
        prefix: Option<&str>,
        _suite: &str,
        (name, version): (&str, &str),
    ) -> Result<Promotion, PublishError> {
        let found;
        (self.rpms, self.repos, found) = promoted(from, prefix, name, version)?.split();
        Ok(found)
    }
    fn has_packages(&self) -> bool {
        !self.rpms.is_empty()
    }
    fn sign_unsigned(&mut self, key: Option<&OpenPgpKey>, date: SourceDate) -> Result<(), PublishError> {
        if self.rpms.is_empty() {
            return Ok(());
        }
        sign_unsigned(&mut self.rpms, key.ok_or_else(|| no_key(RepoKind::RpmMd))?, date)
    }
    fn publish(&mut self, cx: &Context<'_>) -> Result<Report, PublishError> {
        let key = cx.keys.openpgp.ok_or_else(|| no_key(RepoKind::RpmMd))?;
        let s = cx.settings;
        let repos: Vec<String> = if !self.repos.is_empty() {
            self.repos.clone()
        } else if s.rpm_repos.is_empty() {
            // One repository per architecture by default (`linux-x86_64`, …); noarch-only goes to
            // `linux-noarch`.
            let mut archs: Vec<String> = self.rpms.iter().map(|r| format!("linux-{}", r.arch())).collect();
            archs.sort();
            archs.dedup();
            if archs.len() > 1 {
                archs.retain(|a| a != "linux-noarch");
            }
            archs
        } else {
            s.rpm_repos.clone()
        };
        let settings = RpmSettings {
            dist_tags: s.dist_tags.clone(),
            origin: s.origin.clone(),
            label: s.label.clone(),
            channel: s.channel.clone(),
            base_url: s.tree_url(),
            compression: s.compression,
            date: s.date,
        };
        publish(
            cx.tree,
            key,
            &settings,
            cx.txn,
            &repos,
            &self.rpms,
            self.state.take(),
        )
    }
    fn usage(&self, r: &Report, s: &Settings, at: &Where<'_>) -> String {
        if r.groups.is_empty() {
            return crate::kind::unchanged("rpm", r.unchanged.len());
        }
        let mut text = format!(
            "\nrpm: {} package(s) added, {} unchanged, in {}. To use a repository, copy its .repo file:\n",
            r.added.len(),
            r.unchanged.len(),
            r.groups.join(", ")
        );
        for f in &r.client_files {
            text.push_str(&format!("  cp {}/{f} /etc/yum.repos.d/\n", at.tree));
        }
        text.push_str(&format!(
            "  (the key is {}/{}; dnf imports it from the .repo file's gpgkey=)\n",
            at.tree,
            key_file(&s.origin)
        ));
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arch_routing() {
        assert_eq!(repo_arch("almalinux-10-x86_64_v2"), "x86_64_v2");
        assert_eq!(repo_arch("fedora-43-aarch64"), "aarch64");
        assert!(accepts("x86_64_v2", "x86_64"));
        assert!(accepts("aarch64", "noarch"));
        assert!(!accepts("aarch64", "x86_64"));
        assert!(!accepts("x86_64", "x86_64_v2"));
    }
}
