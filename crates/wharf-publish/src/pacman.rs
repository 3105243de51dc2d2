//! Publishing pacman packages into repositories, one per pacman architecture: `pacman/<arch>/` holds the
//! `.pkg.tar.zst` files and the repository's databases (layout and rules: wharf-index's `pacman`
//! module), named after the repository (`[apt] origin`, the section clients put in `pacman.conf`). `any`
//! packages go into every architecture's repository. The OpenPGP public key is at
//! `pacman/keys/<fingerprint>.asc`, for `pacman-key --add`.
//!
//! Every package is signed here, with the repository's key, and its signature embedded in the database
//! (`%PGPSIG%`, as `repo-add` embeds a `.sig` it finds beside the package): pacman checks a package
//! against the signature its database gives. Each database is signed too (`<repo>.db.sig`).
//!
//! pacman fetches fixed names only, so the databases are pointers, written last; `<repo>.db` and its
//! `.sig` last of all, back to back. A client that syncs between those two writes sees a signature
//! mismatch ("invalid or corrupted database") and succeeds on its next `pacman -Sy`.

use std::path::PathBuf;

use wharf_core::{RepoKind, SourceDate};
use wharf_index::pacman::{self as index, PacmanRecord};
use wharf_package::pacman::{self as package, PacmanInfo};
use wharf_sign::OpenPgpKey;
use wharf_store::Store;

use crate::inputs::InputCache;
use crate::kind::{Context, FeedKind, Report, Settings, Where, no_key};
use crate::txn::{Key, KeyFields, Peeked, Record, Source, Txn};
use crate::{FeedItem, FeedRecord, Incoming, PublishError, publish_feeds};

/// Where the pacman state manifest lives in the store.
pub const STATE_KEY: &str = ".wharf/pacman/state";
/// The pacman tree.
pub const ROOT: &str = "pacman";

/// A record's key: its file name, `pkgver` as the version; its texts are its `desc` and `files` entries.
impl Record for PacmanRecord {
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
    fn texts(&self) -> Vec<String> {
        vec![self.desc(), self.files_entry()]
    }
    fn object_key(arch: &str, key: &Key) -> String {
        format!("{ROOT}/{arch}/{}", key.file)
    }
    const COMPANIONS: &'static [&'static str] = &[SIG];
    fn cmp_version(a: &Key, b: &Key) -> std::cmp::Ordering {
        index::vercmp(a.version, b.version)
    }
}

impl FeedRecord for PacmanRecord {
    fn sha256(&self) -> &str {
        &self.checksums.sha256
    }
    /// The detached signature pacman downloads beside the package (`<file>.sig`; pacman 6 fetches it
    /// whenever its `SigLevel` checks packages), the same signature the database embeds.
    fn companions(&self) -> Vec<(&'static str, Vec<u8>)> {
        package::signature(&self.pgpsig).map_or_else(Vec::new, |sig| vec![(SIG, sig)])
    }
}

/// The suffix of a package's detached signature.
const SIG: &str = ".sig";

/// A package to publish: what its `.PKGINFO` says, and its signature when it was published before
/// (promoted from another channel: the signature comes with its record).
pub(crate) struct ToPublish {
    info: PacmanInfo,
    pgpsig: Option<String>,
}

/// The pacman kind: a repository per pacman architecture (`pacman/<arch>/`) in each channel's tree.
pub(crate) type Pacman = crate::kind::Feed<PacmanFeed>;

/// pacman's part in [`crate::kind::Feed`].
pub(crate) struct PacmanFeed;

/// The file of the key with `fingerprint` under `pacman/keys/`.
#[must_use]
pub fn key_file(fingerprint: &str) -> String {
    format!("{ROOT}/keys/{fingerprint}.asc")
}

/// The detached binary signature of a package, base64 (`%PGPSIG%`).
fn sign(
    source: &Source,
    path: &std::path::Path,
    key: &OpenPgpKey,
    date: SourceDate,
) -> Result<String, PublishError> {
    let packet = match source {
        Source::Bytes(b) => key.signature_packet(&mut &b[..], date.unix())?,
        _ => {
            let mut f = crate::open_input(path)?;
            key.signature_packet(&mut f, date.unix())?
        }
    };
    Ok(package::pgpsig(&packet))
}

impl FeedKind for PacmanFeed {
    const KIND: RepoKind = RepoKind::Pacman;
    const STATE_KEY: &'static str = STATE_KEY;
    const LABEL: &'static str = "pacman";
    type Info = ToPublish;
    type Record = PacmanRecord;
    fn inspect(
        paths: &[PathBuf],
        _cache: &mut InputCache,
        _store: &dyn Store,
    ) -> Result<(Vec<Incoming<ToPublish>>, Option<Peeked<PacmanRecord>>), PublishError> {
        let read = crate::inspect_incoming(paths, |f| {
            package::inspect(f).map(|info| ToPublish { info, pgpsig: None })
        })?;
        Ok((read, None))
    }
    fn promoted(
        from: &dyn Store,
        prefix: Option<&str>,
        name: &str,
        version: &str,
    ) -> Result<crate::Promoted<Incoming<ToPublish>>, PublishError> {
        crate::promoted::<PacmanRecord, _>(from, STATE_KEY, None, (name, version), |g, r| {
            let key = r.object_key(g);
            let rec = r.record()?;
            Ok(Incoming {
                path: PathBuf::from(&key),
                info: ToPublish {
                    info: PacmanInfo {
                        pkginfo: rec.pkginfo.clone(),
                        name: rec.get("pkgname").to_owned(),
                        version: rec.get("pkgver").to_owned(),
                        arch: rec.get("arch").to_owned(),
                        files: rec.files.clone(),
                        checksums: rec.checksums.clone(),
                    },
                    pgpsig: Some(rec.pgpsig.clone()),
                },
                stored: Some(crate::from_root(prefix, &key)),
            })
        })
    }
    fn publish(
        cx: &Context<'_>,
        archs: &[String],
        packages: &[Incoming<ToPublish>],
        _state: Option<Peeked<PacmanRecord>>,
    ) -> Result<Report, PublishError> {
        let key = cx.keys.openpgp.ok_or_else(|| no_key(RepoKind::Pacman))?;
        let s = cx.settings;
        let repo = s.origin.clone();
        crate::check_name("repository (origin)", &repo)?;
        let mtime = u64::try_from(s.date.unix()).unwrap_or(0);
        // The state records every signing key (several during a rotation); the database and packages
        // carry the first key's signature alone (pacman checks each signature it finds).
        let txn =
            Txn::<PacmanRecord>::begin(cx.tree, "pacman", STATE_KEY, key.fingerprints().join(" "), cx.txn)?;
        // Each package signed on every core (read once more: the signature covers the whole file).
        let items = wharf_core::parallel::map_in_order(packages, wharf_core::parallel::cores(), |p| {
            let (i, source) = (&p.info.info, p.source());
            let pgpsig = match &p.info.pgpsig {
                Some(sig) => sig.clone(),
                None => sign(&source, &p.path, key, s.date)?,
            };
            let filename = package::file_name(&i.name, &i.version, &i.arch);
            Ok(FeedItem {
                source,
                arch: i.arch.clone(),
                what: format!("{} {} ({})", i.name, i.version, i.arch),
                record: PacmanRecord {
                    pkginfo: i.pkginfo.clone(),
                    filename: filename.clone(),
                    checksums: i.checksums.clone(),
                    pgpsig,
                    files: i.files.clone(),
                },
                filename,
            })
        })
        .into_iter()
        .collect::<Result<Vec<_>, PublishError>>()?;
        // Every signing key's file, so a rotation's next key is there for `pacman-key --add` before the
        // database is signed by it.
        let public = key
            .public_keys()
            .into_iter()
            .map(|k| Ok((key_file(&k.fingerprint()), k.to_armored()?.into_bytes())))
            .collect::<Result<Vec<_>, PublishError>>()?;
        publish_feeds(
            (RepoKind::Pacman, key.fingerprint()),
            txn,
            ROOT,
            &format!("{repo}.db"),
            archs,
            "any",
            &items,
            public,
            |arch, records| {
                let texts: Vec<(String, String, String)> = records
                    .iter()
                    .map(|r| (r.dir(), r.desc(), r.files_entry()))
                    .collect();
                let entries: Vec<(String, &str, &str)> = texts
                    .iter()
                    .map(|(d, a, b)| (d.clone(), a.as_str(), b.as_str()))
                    .collect();
                let dbs = index::build(&entries, mtime).map_err(PublishError::Index)?;
                let db_sig = key.signature_packet(&mut &dbs.db[..], s.date.unix())?;
                let files_sig = key.signature_packet(&mut &dbs.files[..], s.date.unix())?;
                let at = |name: &str| format!("{ROOT}/{arch}/{repo}.{name}");
                Ok(vec![
                    (at("db.tar.gz"), dbs.db.clone()),
                    (at("db.tar.gz.sig"), db_sig.clone()),
                    (at("files.tar.gz"), dbs.files.clone()),
                    (at("files.tar.gz.sig"), files_sig.clone()),
                    (at("files"), dbs.files),
                    (at("files.sig"), files_sig),
                    (at("db"), dbs.db),
                    (at("db.sig"), db_sig),
                ])
            },
        )
    }
    fn usage(r: &Report, s: &Settings, at: &Where<'_>) -> String {
        let (fp, uri, repo) = (&r.key, at.tree_url, &s.origin);
        format!(
            "\npacman: {} package(s) added, {} unchanged, for {}. On the client:\n  curl -fsSLo /tmp/{repo}.asc {uri}/{ROOT}/keys/{fp}.asc   # the key: {}/{ROOT}/keys/{fp}.asc\n  pacman-key --add /tmp/{repo}.asc && pacman-key --lsign-key {fp}\n  printf '[{repo}]\\nServer = {uri}/{ROOT}/$arch\\n' >> /etc/pacman.conf\n",
            r.added.len(),
            r.unchanged.len(),
            r.groups.join(", "),
            at.tree,
        )
    }
}
