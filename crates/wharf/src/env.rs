//! The environment, read once at start-up and passed down explicitly.

use std::path::PathBuf;

use anyhow::Context;
use wharf_core::SourceDate;

/// Everything wharf takes from its environment.
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
}

impl Env {
    pub fn read() -> anyhow::Result<Self> {
        let source_date = match std::env::var("SOURCE_DATE_EPOCH") {
            Ok(v) => Some(SourceDate::parse_epoch(&v).context("reading the environment")?),
            Err(std::env::VarError::NotPresent) => None,
            Err(std::env::VarError::NotUnicode(_)) => {
                anyhow::bail!("SOURCE_DATE_EPOCH is not valid text; unset it or set a number of seconds")
            }
        };
        Ok(Self {
            source_date,
            cargo_target_dir: std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
            key_passphrase: std::env::var("WHARF_KEY_PASSPHRASE").ok(),
            cwd: std::env::current_dir().context("cannot read the current directory")?,
            lock_lease: match std::env::var("WHARF_LOCK_LEASE") {
                Ok(v) => Some(
                    wharf_config::parse_duration(&v).map_err(|e| anyhow::anyhow!("WHARF_LOCK_LEASE: {e}"))?,
                ),
                Err(_) => None,
            },
        })
    }

    /// The one clock value for this run.
    pub fn date(&self) -> SourceDate {
        self.source_date.unwrap_or_else(SourceDate::now)
    }
}
