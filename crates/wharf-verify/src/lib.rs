//! wharf-verify: reads a published repository back the way its clients do, and reports every fault.
//!
//! One checker per repository kind, each following the client that reads it:
//! - [`apt`]: apt's acquire logic (`apt-pkg/acquire-item.cc`, `indexfile.cc`, `deb/debmetaindex.cc`):
//!   InRelease / Release.gpg, Date and Valid-Until, every index's size and hashes (compressed and, through
//!   the uncompressed entry, decompressed), by-hash, every pool file;
//! - [`rpmmd`]: dnf/libdnf's repo loading and rpm's package checks: repomd.xml.asc, each data file's
//!   checksum, size, open-checksum and open-size, primary's packages, and each rpm's digests and header
//!   signature (`rpmkeys --checksig`);
//! - [`apk`]: apk-tools 2 (`src/database.c`, `extract_v2.c`): APKINDEX.tar.gz's RSA signature found by key
//!   *name*, each entry's `S:` and `C:`, each package's signature and `datahash`;
//! - [`apk3`]: apk-tools 3 (`src/adb.c`, `app_mkndx.c`): packages.adb's SIG block found by key id, each
//!   package's file size and unique id (sha256 of its ADB block), package SIG blocks when present;
//! - [`opkg`]: opkg-lede (`libopkg/opkg_download.c`, `pkg_parse.c`) and usign: `Packages.sig` over the
//!   uncompressed `Packages`, `Packages.gz` the same text, each package's Size and SHA256sum;
//! - [`pacman`]: pacman 6 (`be_sync.c`, `be_package.c`): `<repo>.db.sig` and `<repo>.files.sig`, each
//!   entry's `%CSIZE%` and `%SHA256SUM%`, each package's `.PKGINFO` and its signature (`%PGPSIG%`, `.sig`);
//! - [`lookaside`]: a lookaside cache of source files: every object at `sources/<package>/<file>/<sha512>/<file>`
//!   with the SHA-512 its path names;
//! - [`releases`]: wharf's own `releases/` tree: every `SHA256SUMS` and every `latest` pointer.
//!
//! A [`Source`] is where the bytes come from: any [`wharf_store::Store`] (a directory or an S3 prefix; it
//! can be listed, so repositories are found) or an `http(s)://` base URL ([`http::HttpSource`]; cannot be
//! listed, so repositories are named). Checks never stop at the first fault: the [`Report`] names every file
//! and fault found.

pub mod apk;
pub mod apk3;
pub mod apt;
pub mod http;
pub mod lookaside;
pub mod opkg;
pub mod pacman;
pub mod releases;
pub mod rpmmd;

use std::collections::HashMap;
use std::io::Read;

use md5::Md5;
use serde::Serialize;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};
use wharf_sign::{ApkEcPublicKey, ApkRsaPublicKey, Keyring};

/// Why verification could not run at all (a fault in the repository is a [`Finding`], not an error).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The target could not be read.
    #[error("cannot read {target}: {why}")]
    Source {
        /// The target (store or URL).
        target: String,
        /// Why.
        why: String,
    },
    /// A file holds more bytes than the reader was allowed (its index's size, or a ceiling).
    #[error(
        "`{key}` holds more than the {limit} bytes its index states (or wharf's ceiling); read no further"
    )]
    TooLarge {
        /// The file.
        key: String,
        /// The most that could be read.
        limit: u64,
    },
    /// A `--key` file is not a key wharf can use.
    #[error(
        "`{file}` is not a public key wharf verify reads ({why}); pass an OpenPGP public key or keyring (apt, rpm-md), an apk RSA public key named as in /etc/apk/keys (apk v2), an apk EC P-256 public key (apk v3) or a usign public key (opkg)"
    )]
    Key {
        /// The key file.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// Nothing to verify was found.
    #[error("no repository found at {target}{hint}")]
    Nothing {
        /// The target.
        target: String,
        /// How to name one.
        hint: String,
    },
}

impl VerifyError {
    /// The finding a failed read of one file is: larger than stated, or unreadable.
    fn fault(&self) -> Fault {
        match self {
            Self::TooLarge { .. } => Fault::SizeMismatch,
            _ => Fault::Unreadable,
        }
    }
}

/// The most bytes read of a file whose size no signed index states (a Release, repomd.xml, an
/// APKINDEX, an opkg `Packages`): Debian's largest uncompressed `Packages` is ~70 MB, and the files
/// read this way are much smaller.
pub const INDEX_CEILING: u64 = 128 << 20;

/// The most bytes an index may decompress to when no signed index states its size (apt and rpm-md
/// state it; opkg's `Packages.gz` and `APKINDEX.tar.gz` do not).
pub const DECOMPRESSED_CEILING: u64 = 128 << 20;

/// The most bytes of an index file read or decompressed whatever its signed index states (Debian's
/// `Contents-amd64` is ~1 GB uncompressed): what it states is believed up to here.
pub const STATED_CEILING: u64 = 4 << 30;

/// Where a repository's bytes are read from. Every read is bounded: by the size the caller was told
/// (a signed index's) or a ceiling; a file larger than that is an error, read no further.
pub trait Source: Send + Sync {
    /// A human name for the report.
    fn describe(&self) -> String;
    /// An object's bytes, `None` when absent; an error when it holds more than `limit` bytes.
    fn get(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError>;
    /// An object as a stream (a package is hashed and parsed as it is read, never held whole), `None`
    /// when absent; the stream fails when more than `limit` bytes come.
    fn open(&self, key: &str, limit: u64) -> Result<Option<Box<dyn Read + '_>>, VerifyError>;
    /// Every key, sorted; `None` when this source cannot be listed (HTTP).
    fn list(&self) -> Result<Option<Vec<String>>, VerifyError>;
}

/// What reading past `limit` says.
pub(crate) fn too_large(limit: u64) -> String {
    format!(
        "it holds more than the {limit} bytes it may (what its index states, or wharf's ceiling); read no further"
    )
}

/// Any [`wharf_store::Store`] as a [`Source`].
pub struct StoreSource(pub Box<dyn wharf_store::Store>);

impl StoreSource {
    fn err(&self, e: impl std::fmt::Display) -> VerifyError {
        VerifyError::Source {
            target: self.describe(),
            why: e.to_string(),
        }
    }
}

/// How much of an object one ranged read of a store brings while streaming it.
const STREAM_CHUNK: u64 = 1 << 20;

/// An object read in ranged chunks, each checked to be of the same version as the first.
struct Ranges<'a> {
    src: &'a StoreSource,
    key: String,
    at: u64,
    size: u64,
    tag: Option<String>,
    buf: Vec<u8>,
    pos: usize,
}

impl Read for Ranges<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.pos == self.buf.len() {
            if self.at >= self.size {
                return Ok(0);
            }
            let end = (self.at + STREAM_CHUNK).min(self.size);
            let got = self
                .src
                .0
                .get_range(&self.key, self.at..end)
                .map_err(std::io::Error::other)?
                .ok_or_else(|| std::io::Error::other("the file disappeared while it was read"))?;
            if self.tag.get_or_insert_with(|| got.tag.clone()) != &got.tag || got.size != self.size {
                return Err(std::io::Error::other("the file changed while it was read"));
            }
            if got.bytes.is_empty() {
                return Err(std::io::Error::other("the file ended early"));
            }
            self.at += got.bytes.len() as u64;
            self.buf = got.bytes;
            self.pos = 0;
        }
        let n = out.len().min(self.buf.len() - self.pos);
        out[..n].copy_from_slice(&self.buf[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

impl Source for StoreSource {
    fn describe(&self) -> String {
        self.0.describe()
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        if wharf_store::check_key(key).is_err() {
            return Ok(None);
        }
        // One ranged read of at most one byte more than allowed: a larger file is never read whole.
        let got = match self.0.get_range(key, 0..limit.saturating_add(1).max(1)) {
            Ok(Some(got)) => got,
            Ok(None) => return Ok(None),
            // An empty object has no byte 0 to range over (S3 answers 416): ask what it is.
            Err(e) => match self.0.head(key).map_err(|e| self.err(e))? {
                Some(meta) if meta.size == 0 => return Ok(Some(Vec::new())),
                _ => return Err(self.err(e)),
            },
        };
        if got.size > limit {
            return Err(VerifyError::TooLarge {
                key: key.to_owned(),
                limit,
            });
        }
        Ok(Some(got.bytes))
    }

    fn open(&self, key: &str, limit: u64) -> Result<Option<Box<dyn Read + '_>>, VerifyError> {
        if wharf_store::check_key(key).is_err() {
            return Ok(None);
        }
        let Some(meta) = self.0.head(key).map_err(|e| self.err(e))? else {
            return Ok(None);
        };
        if meta.size > limit {
            return Err(VerifyError::TooLarge {
                key: key.to_owned(),
                limit,
            });
        }
        Ok(Some(Box::new(Ranges {
            src: self,
            key: key.to_owned(),
            at: 0,
            size: meta.size,
            tag: None,
            buf: Vec::new(),
            pos: 0,
        })))
    }

    fn list(&self) -> Result<Option<Vec<String>>, VerifyError> {
        let all = self.0.list("").map_err(|e| self.err(e))?;
        Ok(Some(
            all.into_iter()
                .map(|o| o.key)
                .filter(|k| !k.starts_with(".wharf/"))
                .collect(),
        ))
    }
}

/// A repository kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// An apt suite (`dists/<suite>`).
    Apt,
    /// An rpm-md repository (`<dir>/repodata/repomd.xml`).
    RpmMd,
    /// An apk v2 repository (`<dir>/APKINDEX.tar.gz`).
    Apk,
    /// An apk v3 repository (`<dir>/packages.adb`).
    Apk3,
    /// An opkg feed (`<dir>/Packages`).
    Opkg,
    /// A pacman repository (`<dir>/<repo>.db`; its path is `<dir>/<repo>`).
    Pacman,
    /// wharf's release tree (`releases/index.json`).
    Releases,
    /// A lookaside cache of source files (`sources/<package>/<file>/<sha512>/<file>`).
    Lookaside,
}

impl Kind {
    /// The name used in reports.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Apt => "apt",
            Self::RpmMd => "rpm-md",
            Self::Apk => "apk",
            Self::Apk3 => "apk3",
            Self::Opkg => "opkg",
            Self::Pacman => "pacman",
            Self::Releases => "releases",
            Self::Lookaside => "lookaside",
        }
    }
}

/// What is wrong with a file. The kebab-case names are stable (`--json`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Fault {
    /// No signature where the client requires one.
    Unsigned,
    /// A signature by a given key that does not match the data (changed after signing).
    BadSignature,
    /// Signed, but by no key given.
    UnknownKey,
    /// A signature with a digest the client refuses (SHA-1, MD5).
    WeakSignature,
    /// No key given (or published) to check a signature with.
    NoKey,
    /// A referenced file is absent.
    Missing,
    /// A file's size differs from what its index says.
    SizeMismatch,
    /// A file's hash differs from what its index says.
    HashMismatch,
    /// A file cannot be parsed (truncated, corrupt, invalid).
    Malformed,
    /// `Valid-Until` has passed.
    Expired,
    /// `Date` is in the future.
    NotYetValid,
    /// Only hashes the client no longer trusts (MD5, SHA-1), or none.
    NoStrongHash,
    /// An index variant the signed file does not list (apt checks decompressed indexes against it).
    Unlisted,
    /// Two variants of one index (`Packages`, `Packages.gz`) differ.
    VariantMismatch,
    /// A by-hash file holds other bytes than its name says.
    StaleByHash,
    /// A by-hash file the client will ask for is absent.
    MissingByHash,
    /// The index and the package itself disagree (name, version, architecture, listing).
    Mismatch,
    /// A pointer names something that does not exist.
    Orphaned,
    /// A package's own signature is absent, bad or by an unknown key.
    PackageSignature,
    /// The file could not be read: the server failed, stalled, or sent more than the index states.
    Unreadable,
}

impl Fault {
    /// The stable name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unsigned => "unsigned",
            Self::BadSignature => "bad-signature",
            Self::UnknownKey => "unknown-key",
            Self::WeakSignature => "weak-signature",
            Self::NoKey => "no-key",
            Self::Missing => "missing",
            Self::SizeMismatch => "size-mismatch",
            Self::HashMismatch => "hash-mismatch",
            Self::Malformed => "malformed",
            Self::Expired => "expired",
            Self::NotYetValid => "not-yet-valid",
            Self::NoStrongHash => "no-strong-hash",
            Self::Unlisted => "unlisted",
            Self::VariantMismatch => "variant-mismatch",
            Self::StaleByHash => "stale-by-hash",
            Self::MissingByHash => "missing-by-hash",
            Self::Mismatch => "mismatch",
            Self::Orphaned => "orphaned",
            Self::PackageSignature => "package-signature",
            Self::Unreadable => "unreadable",
        }
    }
}

/// One fault in one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file, relative to the target.
    pub file: String,
    /// What kind of fault.
    pub fault: Fault,
    /// What exactly, and what the client would do.
    pub detail: String,
}

/// One repository's result.
#[derive(Debug, Clone, Serialize)]
pub struct RepoReport {
    /// The kind.
    pub kind: Kind,
    /// Where it is, relative to the target (`dists/stable`, `fedora-43-x86_64`, `apk/x86_64`).
    pub path: String,
    /// Who signed its index (fingerprint, key name or id), when a signature checked out.
    pub signed_by: Vec<String>,
    /// Index files read.
    pub indexes: usize,
    /// Packages (or release files) checked.
    pub packages: usize,
    /// Bytes of packages hashed.
    pub bytes: u64,
    /// Every fault found.
    pub findings: Vec<Finding>,
}

impl RepoReport {
    fn new(kind: Kind, path: &str) -> Self {
        Self {
            kind,
            path: path.to_owned(),
            signed_by: Vec::new(),
            indexes: 0,
            packages: 0,
            bytes: 0,
            findings: Vec::new(),
        }
    }

    pub(crate) fn fail(&mut self, file: &str, fault: Fault, detail: impl Into<String>) {
        self.findings.push(Finding {
            file: file.to_owned(),
            fault,
            detail: detail.into(),
        });
    }

    /// Whether nothing was found wrong.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.findings.is_empty()
    }
}

/// The whole result.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The target.
    pub target: String,
    /// Whether the keys came from the target itself (no `--key`): integrity, not authenticity.
    pub keys_from_target: bool,
    /// One entry per repository.
    pub repositories: Vec<RepoReport>,
}

impl Report {
    /// Whether every repository passed.
    #[must_use]
    pub fn ok(&self) -> bool {
        self.repositories.iter().all(RepoReport::ok)
    }

    /// Every finding.
    pub fn findings(&self) -> impl Iterator<Item = &Finding> {
        self.repositories.iter().flat_map(|r| &r.findings)
    }
}

/// Public keys to check signatures with, by kind.
#[derive(Debug, Default)]
pub struct Keys {
    /// OpenPGP (apt, rpm-md, rpm packages).
    pub openpgp: Keyring,
    /// apk v2 RSA keys, by file name.
    pub apk_rsa: Vec<ApkRsaPublicKey>,
    /// apk v3 EC keys.
    pub apk_ec: Vec<ApkEcPublicKey>,
    /// usign public keys: fingerprint (`%016"PRIx64`), the file, and the name it was found under.
    pub usign: Vec<UsignPublic>,
    /// The keys were read from the repository's store (their file names are what clients look up).
    pub from_store: bool,
}

/// A usign public key file.
#[derive(Debug)]
pub struct UsignPublic {
    /// The fingerprint as usign names the key's file (`%016"PRIx64`).
    pub fingerprint: String,
    /// The public key file.
    pub bytes: Vec<u8>,
    /// The base name of the file it came from.
    pub name: String,
}

impl Keys {
    /// Adds the key(s) in file `name` (its base name is what apk v2 looks RSA keys up by); says which kind.
    pub fn add(&mut self, name: &str, bytes: &[u8]) -> Result<&'static str, VerifyError> {
        let base = name.rsplit('/').next().unwrap_or(name);
        let err = |why: String| VerifyError::Key {
            file: name.to_owned(),
            why,
        };
        if let Some(fp) = wharf_sign::usign::fingerprint_of(bytes) {
            self.usign.push(UsignPublic {
                fingerprint: fp,
                bytes: bytes.to_vec(),
                name: base.to_owned(),
            });
            return Ok("usign");
        }
        let text = std::str::from_utf8(bytes).unwrap_or("");
        if text.contains("-----BEGIN PUBLIC KEY-----") || text.contains("-----BEGIN RSA PUBLIC KEY-----") {
            if let Ok(k) = ApkRsaPublicKey::from_pem(bytes, base) {
                self.apk_rsa.push(k);
                return Ok("apk RSA");
            }
            return match ApkEcPublicKey::from_pem(bytes) {
                Ok(k) => {
                    self.apk_ec.push(k);
                    Ok("apk EC")
                }
                Err(e) => Err(err(e.to_string())),
            };
        }
        if text.contains("PRIVATE KEY") {
            return Err(err("it is a secret key; pass the public half".into()));
        }
        self.openpgp
            .add(bytes)
            .map(|_| "OpenPGP")
            .map_err(|e| err(e.to_string()))
    }

    /// Whether no key of any kind is loaded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.openpgp.is_empty() && self.apk_rsa.is_empty() && self.apk_ec.is_empty() && self.usign.is_empty()
    }
}

/// How to verify.
pub struct Options {
    /// Keys to check signatures with.
    pub keys: Keys,
    /// When no key is given, take the ones the target publishes (integrity only).
    pub keys_from_target: bool,
    /// "Now" for Valid-Until and Date, Unix seconds.
    pub now: i64,
}

/// A file already read: its size and the hashes computed.
type Seen = (u64, HashMap<&'static str, String>);

/// The shared state of one run: the source, keys, clock, and the pool files already checked.
pub(crate) struct Ctx<'a> {
    pub src: &'a dyn Source,
    /// Every key of the source, when it can be listed.
    pub listing: Option<&'a [String]>,
    pub keys: &'a Keys,
    pub now: i64,
    checked: HashMap<String, Option<Seen>>,
    /// Files that could not be read, and why: each becomes a finding of the repository being checked.
    unreadable: std::cell::RefCell<Vec<(String, Fault, String)>>,
}

impl Ctx<'_> {
    /// Reads `key`, an index or pointer file whose size nothing states (at most [`INDEX_CEILING`]).
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        self.get_sized(key, None)
    }

    /// Reads `key`, no more than the `size` a signed index states (up to [`STATED_CEILING`]; unstated,
    /// [`INDEX_CEILING`]). A failure to
    /// read it (a server error, a stall, more bytes than stated) is recorded as an `unreadable` finding
    /// for the repository being checked, and reads as absent meanwhile.
    pub fn get_sized(&self, key: &str, size: Option<u64>) -> Option<Vec<u8>> {
        let limit = size.map_or(INDEX_CEILING, |s| s.min(STATED_CEILING));
        match self.src.get(key, limit) {
            Ok(b) => b,
            Err(e) => {
                self.unreadable
                    .borrow_mut()
                    .push((key.to_owned(), e.fault(), e.to_string()));
                None
            }
        }
    }

    /// Turns the reads that failed into findings of `rep` (replacing the `missing` finding a checker
    /// made of the absent bytes).
    fn settle(&self, rep: &mut RepoReport) {
        for (key, fault, why) in self.unreadable.borrow_mut().drain(..) {
            rep.findings
                .retain(|f| !(f.file == key && f.fault == Fault::Missing));
            rep.fail(&key, fault, why);
        }
    }
}

/// Finds the repositories under `repos` (paths relative to the source; empty: list the source, or for a
/// source that cannot be listed, probe its root) and checks each.
pub fn verify(src: &dyn Source, repos: &[String], options: &Options) -> Result<Report, VerifyError> {
    // One listing serves discovery, the published keys and the release pointers.
    let listing = src.list()?;
    let found = find(src, listing.as_deref(), repos)?;
    let mut keys_from_target = false;
    let mut target_keys = Keys::default();
    let keys = if options.keys.is_empty() && options.keys_from_target {
        keys_from_target = true;
        target_keys.from_store = true;
        // A listing shows every key file; a source that cannot be listed (http) is asked for the ones
        // its repositories name: where wharf publishes them, by the name each signature gives.
        let named: Vec<String> = match &listing {
            Some(all) => all.iter().filter(|k| published_key(k)).cloned().collect(),
            None => {
                let mut paths = Vec::new();
                for (kind, path) in &found {
                    paths.extend(key_paths(src, *kind, path)?);
                }
                paths.sort();
                paths.dedup();
                paths
            }
        };
        for key in &named {
            if let Some(bytes) = src.get(key, INDEX_CEILING)? {
                // Not every matching name is a key (a `.asc` signature): skip what does not parse.
                let _ = target_keys.add(key, &bytes);
            }
        }
        &target_keys
    } else {
        &options.keys
    };
    let mut ctx = Ctx {
        src,
        listing: listing.as_deref(),
        keys,
        now: options.now,
        checked: HashMap::new(),
        unreadable: std::cell::RefCell::new(Vec::new()),
    };
    let mut repositories = Vec::new();
    for (kind, path) in found {
        let rep = match kind {
            Kind::Apt => apt::check(&mut ctx, &path),
            Kind::RpmMd => rpmmd::check(&mut ctx, &path),
            Kind::Apk => apk::check(&mut ctx, &path),
            Kind::Apk3 => apk3::check(&mut ctx, &path),
            Kind::Opkg => opkg::check(&mut ctx, &path),
            Kind::Pacman => pacman::check(&mut ctx, &path),
            Kind::Releases => releases::check(&mut ctx, &path),
            Kind::Lookaside => lookaside::check(&mut ctx, &path),
        };
        let mut rep = rep;
        ctx.settle(&mut rep);
        repositories.push(rep);
    }
    Ok(Report {
        target: src.describe(),
        keys_from_target,
        repositories,
    })
}

/// Where the repository at `path` publishes the keys its signatures name, in wharf's layout: apt's
/// keyring at the store's top, rpm-md's `repodata/repomd.xml.key`, and the feeds' `keys/<name>` beside
/// their architectures (apk: the `.SIGN.RSA*.<name>` member; apk v3: `<key id>.pem`; opkg: usign's
/// 16-digit fingerprint).
fn key_paths(src: &dyn Source, kind: Kind, path: &str) -> Result<Vec<String>, VerifyError> {
    let parent = path.rsplit_once('/').map_or("", |(p, _)| p);
    let get = |f: &str| src.get(&join(path, f), INDEX_CEILING);
    Ok(match kind {
        Kind::Apt => {
            let root = path.find("dists/").map_or("", |at| &path[..at]);
            vec![format!("{root}archive-keyring.gpg")]
        }
        Kind::RpmMd => vec![join(path, "repodata/repomd.xml.key")],
        Kind::Apk => match get("APKINDEX.tar.gz")? {
            Some(bytes) => apk::signer_names(&bytes)
                .into_iter()
                .map(|n| join(parent, &format!("keys/{n}")))
                .collect(),
            None => Vec::new(),
        },
        Kind::Apk3 => match get("packages.adb")? {
            Some(bytes) => apk3::signer_ids(&bytes)
                .into_iter()
                .map(|id| join(parent, &format!("keys/{id}.pem")))
                .collect(),
            None => Vec::new(),
        },
        Kind::Opkg => match get("Packages.sig")? {
            Some(sig) => wharf_sign::usign::fingerprint_of(&sig)
                .map(|fp| join(parent, &format!("keys/{fp}")))
                .into_iter()
                .collect(),
            None => Vec::new(),
        },
        Kind::Pacman => match (
            src.get(&format!("{path}.db.sig"), INDEX_CEILING)?,
            src.get(&format!("{path}.db"), INDEX_CEILING)?,
        ) {
            (Some(sig), Some(db)) => pacman::key_paths(&sig, &db, path),
            _ => Vec::new(),
        },
        Kind::Releases | Kind::Lookaside => Vec::new(),
    })
}

/// Key files a repository publishes for its clients (wharf's layout and the usual names).
fn published_key(key: &str) -> bool {
    let base = key.rsplit('/').next().unwrap_or(key);
    key.contains("/keys/")
        || key.starts_with("keys/")
        || base.starts_with("RPM-GPG-KEY")
        || base == "repomd.xml.key"
        || base.ends_with("-keyring.gpg")
        || base.ends_with("-keyring.asc")
        || base.ends_with(".pub")
}

/// The repositories to check: the named paths (probed), or everything the listing shows.
fn find(
    src: &dyn Source,
    listing: Option<&[String]>,
    repos: &[String],
) -> Result<Vec<(Kind, String)>, VerifyError> {
    let mut out = Vec::new();
    if repos.is_empty() {
        match listing {
            Some(all) => {
                for key in all {
                    if let Some(found) = kind_of_index(key) {
                        out.push(found);
                    }
                }
            }
            None => {
                if let Some(k) = probe(src, "")? {
                    out.push((k, String::new()));
                }
            }
        }
    } else {
        for r in repos {
            let path = r.trim_matches('/').to_owned();
            match probe(src, &path)? {
                Some(Kind::Pacman) => out.push((Kind::Pacman, path.trim_end_matches(".db").to_owned())),
                Some(k) => out.push((k, path)),
                None => {
                    return Err(VerifyError::Nothing {
                        target: format!("{}/{path}", src.describe().trim_end_matches('/')),
                        hint: ": no InRelease/Release, repodata/repomd.xml, APKINDEX.tar.gz, packages.adb, Packages, <repo>.db or index.json there".into(),
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    if out.is_empty() {
        return Err(VerifyError::Nothing {
            target: src.describe(),
            hint: if listing.is_some() {
                String::new()
            } else {
                "; an http(s) URL cannot be listed: name each repository after it (`wharf verify URL dists/stable fedora-43-x86_64 apk/x86_64 …`)".into()
            },
        });
    }
    Ok(out)
}

/// The repository an index file belongs to.
fn kind_of_index(key: &str) -> Option<(Kind, String)> {
    let (dir, base) = key.rsplit_once('/').unwrap_or(("", key));
    let parts: Vec<&str> = dir.split('/').collect();
    if parts.contains(&"by-hash") {
        return None;
    }
    let in_dists = parts.contains(&"dists");
    match base {
        // Debian also puts a `Release` beside each index (`main/binary-amd64/Release`): not a suite.
        "InRelease" | "Release"
            if in_dists
                && !parts
                    .last()
                    .is_some_and(|p| p.starts_with("binary-") || *p == "source" || *p == "i18n") =>
        {
            Some((Kind::Apt, dir.to_owned()))
        }
        "repomd.xml" if parts.last() == Some(&"repodata") => Some((
            Kind::RpmMd,
            dir.strip_suffix("repodata")
                .unwrap_or("")
                .trim_end_matches('/')
                .to_owned(),
        )),
        "APKINDEX.tar.gz" => Some((Kind::Apk, dir.to_owned())),
        "packages.adb" => Some((Kind::Apk3, dir.to_owned())),
        "Packages" | "Packages.gz" if !in_dists => Some((Kind::Opkg, dir.to_owned())),
        b if b.len() > 3 && b.ends_with(".db") => {
            Some((Kind::Pacman, key.trim_end_matches(".db").to_owned()))
        }
        "index.json" if parts.last() == Some(&"releases") => Some((Kind::Releases, dir.to_owned())),
        _ if parts.len() >= 4 && parts[parts.len() - 4] == "sources" && parts[parts.len() - 2] == base => {
            Some((
                Kind::Lookaside,
                parts[..parts.len() - 4]
                    .iter()
                    .chain(&["sources"])
                    .copied()
                    .collect::<Vec<_>>()
                    .join("/"),
            ))
        }
        _ => None,
    }
}

/// What kind of repository is at `path`, by asking for its index files.
fn probe(src: &dyn Source, path: &str) -> Result<Option<Kind>, VerifyError> {
    let at = |f: &str| join(path, f);
    let has = |f: &str| -> Result<bool, VerifyError> { Ok(src.get(&at(f), INDEX_CEILING)?.is_some()) };
    Ok(if has("InRelease")? || has("Release")? {
        Some(Kind::Apt)
    } else if has("repodata/repomd.xml")? {
        Some(Kind::RpmMd)
    } else if has("APKINDEX.tar.gz")? {
        Some(Kind::Apk)
    } else if has("packages.adb")? {
        Some(Kind::Apk3)
    } else if has("Packages")? || has("Packages.gz")? {
        Some(Kind::Opkg)
    } else if (path.ends_with(".db") && src.get(path, INDEX_CEILING)?.is_some())
        || (!path.is_empty() && src.get(&format!("{path}.db"), INDEX_CEILING)?.is_some())
    {
        Some(Kind::Pacman)
    } else if path.ends_with("releases") && has("index.json")? {
        Some(Kind::Releases)
    } else {
        None
    })
}

/// `dir/rel` (dir may be empty).
pub(crate) fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_owned()
    } else {
        format!("{dir}/{rel}")
    }
}

/// Whether an index-given relative path stays inside the repository (no `..`, not absolute).
pub(crate) fn safe(rel: &str) -> bool {
    wharf_store::check_key(rel).is_ok()
}

/// The hex digest of `bytes` with the algorithm an index names (`SHA256`, `sha256`, `MD5Sum`, …).
pub(crate) fn digest(alg: &str, bytes: &[u8]) -> Option<String> {
    Some(match alg.to_ascii_lowercase().as_str() {
        "md5" | "md5sum" => hex::encode(Md5::digest(bytes)),
        "sha1" | "sha" => hex::encode(Sha1::digest(bytes)),
        "sha224" => hex::encode(Sha224::digest(bytes)),
        "sha256" | "sha256sum" => hex::encode(Sha256::digest(bytes)),
        "sha384" => hex::encode(Sha384::digest(bytes)),
        "sha512" => hex::encode(Sha512::digest(bytes)),
        _ => return None,
    })
}

/// Decompresses by file extension, to at most `limit` bytes (the size a signed index states for the
/// uncompressed file, up to [`STATED_CEILING`]; unstated, [`DECOMPRESSED_CEILING`]); `None` for an
/// extension that is not compression.
pub(crate) fn decompress(name: &str, bytes: &[u8], limit: Option<u64>) -> Option<Result<Vec<u8>, String>> {
    let limit = limit.map_or(DECOMPRESSED_CEILING, |l| l.min(STATED_CEILING));
    use wharf_package::compress::{Compression, decoder};
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    let reader: Box<dyn Read + '_> = match ext {
        "gz" => match decoder(bytes, Compression::Gzip) {
            Ok(r) => r,
            Err(e) => return Some(Err(e.to_string())),
        },
        "xz" => match decoder(bytes, Compression::Xz) {
            Ok(r) => r,
            Err(e) => return Some(Err(e.to_string())),
        },
        "zst" => match decoder(bytes, Compression::Zstd) {
            Ok(r) => r,
            Err(e) => return Some(Err(e.to_string())),
        },
        "bz2" => Box::new(bzip2::read::MultiBzDecoder::new(bytes)),
        _ => return None,
    };
    let mut out = Vec::new();
    Some(match reader.take(limit.saturating_add(1)).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > limit => Err(format!(
            "decompresses to more than the {limit} bytes stated for it (a decompression bomb, or a lie); read no further"
        )),
        Ok(_) => Ok(out),
        Err(e) => Err(format!("cannot be decompressed ({e}): truncated or corrupt")),
    })
}

/// A hash that runs as the bytes go by, for the algorithm an index names.
enum Running {
    Md5(Md5),
    Sha1(Sha1),
    Sha224(Sha224),
    Sha256(Sha256),
    Sha384(Sha384),
    Sha512(Sha512),
}

impl Running {
    fn new(alg: &str) -> Option<Self> {
        Some(match alg.to_ascii_lowercase().as_str() {
            "md5" | "md5sum" => Self::Md5(Md5::new()),
            "sha1" | "sha" => Self::Sha1(Sha1::new()),
            "sha224" => Self::Sha224(Sha224::new()),
            "sha256" | "sha256sum" => Self::Sha256(Sha256::new()),
            "sha384" => Self::Sha384(Sha384::new()),
            "sha512" => Self::Sha512(Sha512::new()),
            _ => return None,
        })
    }

    fn update(&mut self, b: &[u8]) {
        match self {
            Self::Md5(h) => h.update(b),
            Self::Sha1(h) => h.update(b),
            Self::Sha224(h) => h.update(b),
            Self::Sha256(h) => h.update(b),
            Self::Sha384(h) => h.update(b),
            Self::Sha512(h) => h.update(b),
        }
    }

    fn hex(self) -> String {
        match self {
            Self::Md5(h) => hex::encode(h.finalize()),
            Self::Sha1(h) => hex::encode(h.finalize()),
            Self::Sha224(h) => hex::encode(h.finalize()),
            Self::Sha256(h) => hex::encode(h.finalize()),
            Self::Sha384(h) => hex::encode(h.finalize()),
            Self::Sha512(h) => hex::encode(h.finalize()),
        }
    }
}

/// A stream read through the index's hashes, counting its bytes and keeping the first read error (the
/// source's failure, told apart from what the parser makes of the bytes).
struct Tee<R> {
    inner: R,
    hashes: Vec<(&'static str, Running)>,
    len: u64,
    failed: Option<String>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(out) {
            Ok(n) => {
                for (_, h) in &mut self.hashes {
                    h.update(&out[..n]);
                }
                self.len += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed.get_or_insert_with(|| e.to_string());
                Err(e)
            }
        }
    }
}

/// The most bytes of a package whose size its index does not state (apk v3 entries may omit it).
const PACKAGE_CEILING: u64 = 64 << 30;

/// Checks a file the index describes by size and hashes, without looking inside (release assets).
pub(crate) fn check_file(
    ctx: &mut Ctx<'_>,
    rep: &mut RepoReport,
    key: &str,
    size: Option<u64>,
    hashes: &[(&'static str, &str)],
    index: &str,
) {
    let _ = check_package(ctx, rep, key, size, hashes, index, |_| ());
}

/// Checks a package file the index describes: streams it once, through its hashes and `inspect` (the
/// format's reader), never holding it whole and reading no more than the size the index states. Returns
/// what `inspect` found the first time the run meets the file and its size and hashes agree (a client
/// stops at a mismatch, before looking inside); `None` when absent, unreadable, mismatched or already
/// read (a second reference is compared with what the first read found). Records what it finds in `rep`.
pub(crate) fn check_package<T>(
    ctx: &mut Ctx<'_>,
    rep: &mut RepoReport,
    key: &str,
    size: Option<u64>,
    hashes: &[(&'static str, &str)],
    index: &str,
    inspect: impl FnOnce(&mut dyn Read) -> T,
) -> Option<T> {
    let read = if ctx.checked.contains_key(key) {
        None
    } else {
        let algs: Vec<&'static str> = hashes.iter().map(|(a, _)| *a).collect();
        Some(read_package(ctx.src, key, size, &algs, index, inspect))
    };
    settle_package(ctx, rep, key, size, hashes, index, read)
}

/// A package file to check ([`check_packages`]): where it is and what its index says of it.
pub(crate) struct Wanted {
    pub key: String,
    pub size: Option<u64>,
    /// (algorithm, hex) as the index lists them.
    pub hashes: Vec<(&'static str, String)>,
    /// The index that lists it, as findings name it.
    pub index: String,
}

/// How many package files [`check_packages`] reads before it hands their results on: what it holds at
/// once is bounded by this, not by the repository's size.
const BATCH: usize = 256;

/// [`check_package`] for many files, read on every core: each file is still streamed once through its
/// hashes and `inspect`, and the results are compared with the index and reported in the order given,
/// so the report is the same as checking them one after another. `then` gets what `inspect` found for
/// each file the first time the run meets it with its size and hashes agreeing.
pub(crate) fn check_packages<C, T: Send>(
    ctx: &mut Ctx<'_>,
    rep: &mut RepoReport,
    items: Vec<(Wanted, C)>,
    inspect: impl Fn(&mut dyn Read) -> T + Sync,
    mut then: impl FnMut(&mut RepoReport, &Wanted, C, T),
) {
    let workers = std::thread::available_parallelism().map_or(2, std::num::NonZero::get);
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        let (batch, contexts): (Vec<Wanted>, Vec<C>) = items.by_ref().take(BATCH).unzip();
        // Only each file's first reference is read; later ones compare with what it gave.
        let mut first = std::collections::HashSet::new();
        let reads: Vec<usize> = batch
            .iter()
            .enumerate()
            .filter(|(_, w)| !ctx.checked.contains_key(&w.key) && first.insert(w.key.as_str()))
            .map(|(i, _)| i)
            .collect();
        let next = std::sync::atomic::AtomicUsize::new(0);
        let src = ctx.src;
        let mut done: Vec<(usize, Reading<T>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..workers.min(reads.len()))
                .map(|_| {
                    s.spawn(|| {
                        let mut out = Vec::new();
                        loop {
                            let n = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            let Some(&i) = reads.get(n) else { break out };
                            let w = &batch[i];
                            let algs: Vec<&'static str> = w.hashes.iter().map(|(a, _)| *a).collect();
                            out.push((i, read_package(src, &w.key, w.size, &algs, &w.index, &inspect)));
                        }
                    })
                })
                .collect();
            handles
                .into_iter()
                // A worker panicking is a bug in a reader; its files are reported unreadable below.
                .flat_map(|h| h.join().unwrap_or_default())
                .collect()
        });
        done.sort_by_key(|(i, _)| *i);
        let mut done = done.into_iter().peekable();
        for (i, (w, c)) in batch.into_iter().zip(contexts).enumerate() {
            let read = if ctx.checked.contains_key(&w.key) {
                None
            } else if done.peek().is_some_and(|(j, _)| *j == i) {
                done.next().map(|(_, r)| r)
            } else {
                Some(Reading::Unread(Fault::Unreadable, "its reader failed".into()))
            };
            let hashes: Vec<(&'static str, &str)> = w.hashes.iter().map(|(a, h)| (*a, h.as_str())).collect();
            if let Some(found) = settle_package(ctx, rep, &w.key, w.size, &hashes, &w.index, read) {
                then(rep, &w, c, found);
            }
        }
    }
}

/// What reading one package file gave, before it is compared with its index.
enum Reading<T> {
    /// Not there.
    Missing,
    /// Not read through, and why.
    Unread(Fault, String),
    /// Read through: its length, the hashes asked for, and what the reader found.
    Read {
        len: u64,
        hashes: HashMap<&'static str, String>,
        found: T,
    },
}

/// Streams `key` once through the hashes `algs` and `inspect`, reading no more than `size` (and one
/// byte past it, to tell a longer file); touches nothing of the run, so files are read in parallel.
fn read_package<T>(
    src: &dyn Source,
    key: &str,
    size: Option<u64>,
    algs: &[&'static str],
    index: &str,
    inspect: impl FnOnce(&mut dyn Read) -> T,
) -> Reading<T> {
    let limit = size.unwrap_or(PACKAGE_CEILING);
    let stream = match src.open(key, limit) {
        Ok(Some(r)) => r,
        Ok(None) => return Reading::Missing,
        Err(e) => return Reading::Unread(e.fault(), e.to_string()),
    };
    let mut tee = Tee {
        inner: stream.take(limit.saturating_add(1)),
        hashes: algs
            .iter()
            .filter_map(|alg| Running::new(alg).map(|h| (*alg, h)))
            .collect(),
        len: 0,
        failed: None,
    };
    let found = inspect(&mut tee);
    // Whatever the reader left is hashed too: the index's size and hashes cover the whole file.
    let rest = std::io::copy(&mut tee, &mut std::io::sink());
    if let Some(why) = tee.failed.take().or_else(|| rest.err().map(|e| e.to_string())) {
        return Reading::Unread(Fault::Unreadable, why);
    }
    if tee.len > limit {
        return Reading::Unread(
            Fault::SizeMismatch,
            format!("{index} says {limit} bytes; the file holds more (read no further)"),
        );
    }
    Reading::Read {
        len: tee.len,
        hashes: tee.hashes.into_iter().map(|(a, h)| (a, h.hex())).collect(),
        found,
    }
}

/// Compares what reading `key` gave (`None`: the run read it before) with what its index says, records
/// the findings in `rep` and the file in the run; what the reader found when all agreed on a first read.
fn settle_package<T>(
    ctx: &mut Ctx<'_>,
    rep: &mut RepoReport,
    key: &str,
    size: Option<u64>,
    hashes: &[(&'static str, &str)],
    index: &str,
    read: Option<Reading<T>>,
) -> Option<T> {
    let not_there = || format!("{index} lists it, but it is not there");
    let Some(read) = read else {
        match ctx.checked.get(key) {
            Some(Some((len, got))) => {
                let len = *len;
                let got = got.clone();
                compare(rep, key, len, size, hashes, index, |alg| got.get(alg).cloned());
            }
            _ => rep.fail(key, Fault::Missing, not_there()),
        }
        return None;
    };
    let (len, got, found) = match read {
        Reading::Read { len, hashes, found } => (len, hashes, found),
        Reading::Missing | Reading::Unread(..) => {
            // Remembered as unreadable for a second reference.
            ctx.checked.insert(key.to_owned(), None);
            match read {
                Reading::Unread(fault, why) => rep.fail(key, fault, why),
                _ => rep.fail(key, Fault::Missing, not_there()),
            }
            return None;
        }
    };
    rep.packages += 1;
    rep.bytes += len;
    let good = compare(rep, key, len, size, hashes, index, |alg| got.get(alg).cloned());
    ctx.checked.insert(key.to_owned(), Some((len, got)));
    good.then_some(found)
}

/// Size and hashes (as `have` computes them) against what an index says; whether all agreed.
pub(crate) fn compare(
    rep: &mut RepoReport,
    key: &str,
    len: u64,
    size: Option<u64>,
    hashes: &[(&'static str, &str)],
    index: &str,
    have: impl Fn(&str) -> Option<String>,
) -> bool {
    let before = rep.findings.len();
    if let Some(want) = size
        && want != len
    {
        rep.fail(
            key,
            Fault::SizeMismatch,
            format!("{len} bytes, {index} says {want}"),
        );
    }
    hash_finding(rep, key, hashes, index, have);
    rep.findings.len() == before
}

/// One finding for all the hashes of a file that differ: the strongest one's values, the others named.
fn hash_finding(
    rep: &mut RepoReport,
    key: &str,
    hashes: &[(&'static str, &str)],
    index: &str,
    have: impl Fn(&str) -> Option<String>,
) {
    let bad: Vec<(&str, String, &str)> = hashes
        .iter()
        .filter_map(|(alg, want)| {
            have(alg)
                .filter(|h| !h.eq_ignore_ascii_case(want))
                .map(|h| (*alg, h, *want))
        })
        .collect();
    if let Some((alg, h, want)) = bad.iter().max_by_key(|(a, _, _)| strength(a)) {
        let others: Vec<&str> = bad.iter().map(|(a, _, _)| *a).filter(|a| a != alg).collect();
        let also = if others.is_empty() {
            String::new()
        } else {
            format!(" ({} differ too)", others.join(", "))
        };
        rep.fail(
            key,
            Fault::HashMismatch,
            format!("{alg} {h}, {index} says {want}{also}"),
        );
    }
}

fn strength(alg: &str) -> u32 {
    match alg {
        "sha512" => 6,
        "sha384" => 5,
        "sha256" => 4,
        "sha224" => 3,
        "sha1" => 2,
        _ => 1,
    }
}

/// Records what checking an OpenPGP signature found (apt's and dnf's rules: a good signature by a given
/// key, with a digest stronger than SHA-1).
pub(crate) fn openpgp_result(ctx: &Ctx<'_>, rep: &mut RepoReport, file: &str, checked: wharf_sign::Checked) {
    use wharf_sign::Checked;
    if ctx.keys.openpgp.is_empty() {
        rep.fail(
            file,
            Fault::NoKey,
            "no OpenPGP key to check the signature with; pass the repository's public key with --key",
        );
        return;
    }
    match checked {
        Checked::Good {
            fingerprint,
            hash,
            also,
        } => {
            if matches!(hash.as_str(), "SHA1" | "MD5") {
                rep.fail(
                    file,
                    Fault::WeakSignature,
                    format!("signed with {hash}, which apt and rpm refuse; re-sign with SHA-256 or SHA-512"),
                );
            }
            for f in std::iter::once(fingerprint).chain(also) {
                if !rep.signed_by.contains(&f) {
                    rep.signed_by.push(f);
                }
            }
        }
        Checked::Bad { fingerprint } => rep.fail(
            file,
            Fault::BadSignature,
            format!("the signature by {fingerprint} does not match the data: it changed after signing (gpgv: BADSIG)"),
        ),
        Checked::UnknownKey { issuers } => rep.fail(
            file,
            Fault::UnknownKey,
            format!(
                "signed by {}, which is none of the given keys ({}) (gpgv: NO_PUBKEY)",
                if issuers.is_empty() { "an unnamed key".to_owned() } else { issuers.join(", ") },
                ctx.keys.openpgp.fingerprints().join(", ")
            ),
        ),
        Checked::Malformed(e) => rep.fail(file, Fault::Malformed, format!("not a valid OpenPGP signature ({e})")),
    }
}

/// The text of a Debian-style date (`Sun, 22 Nov 2026 10:00:00 UTC`), as Unix seconds.
pub(crate) fn rfc2822(s: &str) -> Option<i64> {
    let s = s.trim();
    let s = s
        .strip_suffix(" UTC")
        .map_or_else(|| s.to_owned(), |b| format!("{b} +0000"));
    chrono::DateTime::parse_from_rfc2822(&s)
        .ok()
        .map(|d| d.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_files_name_their_repository() {
        assert_eq!(
            kind_of_index("dists/stable/InRelease"),
            Some((Kind::Apt, "dists/stable".into()))
        );
        assert_eq!(kind_of_index("dists/stable/main/binary-amd64/Packages"), None);
        assert_eq!(
            kind_of_index("dists/stable/main/binary-amd64/Release"),
            None,
            "Debian's per-index Release"
        );
        assert_eq!(
            kind_of_index("dists/stable/main/binary-amd64/by-hash/SHA256/ab"),
            None
        );
        assert_eq!(
            kind_of_index("f43/repodata/repomd.xml"),
            Some((Kind::RpmMd, "f43".into()))
        );
        assert_eq!(
            kind_of_index("repodata/repomd.xml"),
            Some((Kind::RpmMd, String::new()))
        );
        assert_eq!(
            kind_of_index("apk/x86_64/APKINDEX.tar.gz"),
            Some((Kind::Apk, "apk/x86_64".into()))
        );
        assert_eq!(
            kind_of_index("apk3/x86_64/packages.adb"),
            Some((Kind::Apk3, "apk3/x86_64".into()))
        );
        assert_eq!(
            kind_of_index("opkg/mips_24kc/Packages.gz"),
            Some((Kind::Opkg, "opkg/mips_24kc".into()))
        );
        assert_eq!(
            kind_of_index("releases/index.json"),
            Some((Kind::Releases, "releases".into()))
        );
        assert_eq!(kind_of_index("releases/1.0/manifest.json"), None);
    }

    #[test]
    fn dates_as_apt_writes_them() {
        assert_eq!(rfc2822("Sun, 22 Nov 2026 10:00:00 UTC"), Some(1_795_341_600));
        assert_eq!(rfc2822("Sun, 22 Nov 2026 10:00:00 +0000"), Some(1_795_341_600));
        assert_eq!(rfc2822("yesterday"), None);
    }

    #[test]
    fn digests_by_index_names() {
        assert_eq!(digest("MD5Sum", b"").unwrap(), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(digest("SHA256", b"").unwrap()[..8], *"e3b0c442");
        assert!(digest("crc32", b"").is_none());
        assert!(decompress("Packages", b"x", None).is_none());
        assert!(decompress("Packages.gz", b"not gzip", None).unwrap().is_err());
    }
}
