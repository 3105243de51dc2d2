//! wharf-ops: what wharf's commands do — package, publish, release, promote, prune — as library calls over
//! plain options (cargo's `ops` pattern). The binary turns its command line into these options, calls one
//! function and prints what it returns; everything a run says while it works goes through a
//! [`Reporter`] the caller gives, and every setting comes from the caller (the environment is read once, by
//! the binary, into an [`Env`]).

pub mod ci;
pub mod dist;
pub mod image;
pub mod keys;
pub mod lookaside;
pub mod package;
pub mod project;
pub mod publish;
pub mod registry;
pub mod release;
pub mod rotate;
pub mod settings;
pub mod version;

use std::path::PathBuf;

use wharf_core::SourceDate;

/// Everything wharf takes from its environment (the binary reads it, once).
#[derive(Debug, Clone)]
pub struct Env {
    /// `SOURCE_DATE_EPOCH`, strictly parsed; `None` means "now".
    pub source_date: Option<SourceDate>,
    /// `CARGO_TARGET_DIR`.
    pub cargo_target_dir: Option<PathBuf>,
    /// `WHARF_KEY_PASSPHRASE` for a protected signing key.
    pub key_passphrase: Option<String>,
    /// The current directory.
    pub cwd: PathBuf,
    /// `WHARF_LOCK_LEASE`: how long a remote publish lock lives without renewal (default 30s).
    pub lock_lease: Option<std::time::Duration>,
    /// `WHARF_REGISTRY_PASSWORD`: the password (or token) for `--registry-user` when pushing images.
    pub registry_password: Option<String>,
    /// Docker's configuration directory (`DOCKER_CONFIG`, else `~/.docker`), whose `config.json` holds
    /// registry credentials.
    pub docker_config: Option<PathBuf>,
}

impl Env {
    /// The one clock value for this run.
    #[must_use]
    pub fn date(&self) -> SourceDate {
        self.source_date.unwrap_or_else(SourceDate::now)
    }
}

/// Where a run reports as it works: one status line per step done, details for `-v`, warnings, and the
/// progress of long work. The binary prints these (or not, with `--json`/`-q`); a library caller may
/// collect or drop them.
pub trait Reporter: Sync {
    /// A step done: `verb` (`Packaged`, `Published`) and what.
    fn status(&self, verb: &str, text: &str);
    /// Detail, shown when verbose.
    fn detail(&self, text: &str);
    /// Something the user should change.
    fn warn(&self, text: &str);
    /// Whether details are shown (work that only feeds them is skipped otherwise).
    fn verbose(&self) -> bool {
        false
    }
    /// Long work begins: `total` units of `what`. The returned [`Progress`] is advanced as units finish
    /// and ends when dropped.
    fn progress(&self, what: &str, total: u64) -> Box<dyn Progress + '_> {
        let _ = (what, total);
        Box::new(NoProgress)
    }
}

/// The progress of one piece of long work.
pub trait Progress: Sync {
    /// `n` more units finished.
    fn advance(&self, n: u64);
}

/// Progress nobody watches.
pub struct NoProgress;

impl Progress for NoProgress {
    fn advance(&self, _: u64) {}
}

/// A [`Reporter`] that drops everything.
pub struct Quiet;

impl Reporter for Quiet {
    fn status(&self, _: &str, _: &str) {}
    fn detail(&self, _: &str) {}
    fn warn(&self, _: &str) {}
}

/// The signing key files named on the command line (each kind's own flag).
#[derive(Debug, Clone, Default)]
pub struct KeyFiles {
    /// OpenPGP (apt, rpm-md, pacman).
    pub openpgp: Option<PathBuf>,
    /// More OpenPGP keys signing every index beside the first (`--key` given again: a rotation).
    pub openpgp_also: Vec<PathBuf>,
    /// usign (opkg).
    pub usign: Option<PathBuf>,
    /// RSA (apk v2).
    pub apk: Option<PathBuf>,
    /// More RSA keys signing beside the first (`--apk-key` given again: a rotation).
    pub apk_also: Vec<PathBuf>,
    /// EC P-256 (apk v3).
    pub apk3: Option<PathBuf>,
}

/// The transaction settings the command line gave; the rest come from wharf.toml, then the defaults
/// ([`settings::txn_options`]).
#[derive(Debug, Clone, Default)]
pub struct TxnFlags {
    /// Decide everything, write nothing.
    pub dry_run: bool,
    /// Keep this many newest versions per package and architecture.
    pub keep: Option<u32>,
    /// How long unreferenced objects stay before they are deleted.
    pub grace: Option<std::time::Duration>,
    /// How long to wait for the store's lock.
    pub lock_wait: Option<std::time::Duration>,
}

/// The S3 settings the command line gave (wharf.toml's `[publish]` fills the rest).
#[derive(Debug, Clone, Default)]
pub struct S3Flags {
    /// `--s3-endpoint`.
    pub endpoint: Option<String>,
    /// `--s3-region`.
    pub region: Option<String>,
}
