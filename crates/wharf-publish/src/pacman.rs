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
use crate::kind::{Context, Found as Promotion, Kind, Report, Settings, Where, no_key};
use crate::txn::{Key, KeyFields, Record, Source, Txn};
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

/// A package to publish, and its signature when it was published before (promoted from another channel).
struct ToPublish {
    package: Incoming<PacmanInfo>,
    pgpsig: Option<String>,
}

/// The pacman kind.
#[derive(Default)]
pub struct Pacman {
    packages: Vec<ToPublish>,
    /// The architectures a promotion found the packages in (they go into the same ones).
    archs: Vec<String>,
}

/// The key file under `pacman/keys/`.
#[must_use]
pub fn key_file(key: &OpenPgpKey) -> String {
    format!("{ROOT}/keys/{}.asc", key.fingerprint())
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

impl Kind for Pacman {
    fn kind(&self) -> RepoKind {
        RepoKind::Pacman
    }
    fn state_key(&self) -> &'static str {
        STATE_KEY
    }
    fn inspect(
        &mut self,
        paths: &[PathBuf],
        _cache: &mut InputCache,
        _store: &dyn Store,
    ) -> Result<(), PublishError> {
        self.packages = crate::inspect_incoming(paths, |f| package::inspect(f))?
            .into_iter()
            .map(|package| ToPublish {
                package,
                pgpsig: None,
            })
            .collect();
        Ok(())
    }
    fn promote(
        &mut self,
        from: &dyn Store,
        prefix: Option<&str>,
        _suite: &str,
        (name, version): (&str, &str),
    ) -> Result<Promotion, PublishError> {
        let p = crate::promoted::<PacmanRecord, _>(from, STATE_KEY, None, (name, version), |g, r| {
            let key = r.object_key(g);
            let rec = r.record()?;
            Ok(ToPublish {
                package: Incoming {
                    path: PathBuf::from(&key),
                    info: PacmanInfo {
                        pkginfo: rec.pkginfo.clone(),
                        name: rec.get("pkgname").to_owned(),
                        version: rec.get("pkgver").to_owned(),
                        arch: rec.get("arch").to_owned(),
                        files: rec.files.clone(),
                        checksums: rec.checksums.clone(),
                    },
                    stored: Some(crate::from_root(prefix, &key)),
                },
                pgpsig: Some(rec.pgpsig.clone()),
            })
        })?;
        self.packages = p.packages;
        self.archs = p.groups;
        Ok(Promotion {
            what: p.what,
            versions: p.versions,
        })
    }
    fn has_packages(&self) -> bool {
        !self.packages.is_empty()
    }
    fn publish(&mut self, cx: &Context<'_>) -> Result<Report, PublishError> {
        let key = cx.keys.openpgp.ok_or_else(|| no_key(RepoKind::Pacman))?;
        let s = cx.settings;
        let repo = s.origin.clone();
        crate::check_name("repository (origin)", &repo)?;
        let archs = if self.archs.is_empty() {
            &s.feeds
        } else {
            &self.archs
        };
        let mtime = u64::try_from(s.date.unix()).unwrap_or(0);
        let txn = Txn::<PacmanRecord>::begin(cx.tree, "pacman", STATE_KEY, key.fingerprint(), cx.txn)?;
        // Each package signed on every core (read once more: the signature covers the whole file).
        let items = wharf_core::parallel::map_in_order(&self.packages, wharf_core::parallel::cores(), |p| {
            let (i, source) = (&p.package.info, p.package.source());
            let pgpsig = match &p.pgpsig {
                Some(sig) => sig.clone(),
                None => sign(&source, &p.package.path, key, s.date)?,
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
        let public = (key_file(key), key.public_key().to_armored()?.into_bytes());
        publish_feeds(
            (RepoKind::Pacman, key.fingerprint()),
            txn,
            ROOT,
            &format!("{repo}.db"),
            archs,
            "any",
            &items,
            vec![public],
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
    fn usage(&self, r: &Report, s: &Settings, at: &Where<'_>) -> String {
        if r.groups.is_empty() {
            return crate::kind::unchanged("pacman", r.unchanged.len());
        }
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
