//! The environment, read once at start-up and passed down explicitly (as [`wharf_ops::Env`]).

use std::path::PathBuf;

use anyhow::Context;
use wharf_core::SourceDate;

pub use wharf_ops::Env;

/// Reads everything wharf takes from its environment.
pub fn read() -> anyhow::Result<Env> {
    let source_date = match std::env::var("SOURCE_DATE_EPOCH") {
        Ok(v) => Some(SourceDate::parse_epoch(&v).context("reading the environment")?),
        Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => {
            anyhow::bail!("SOURCE_DATE_EPOCH is not valid text; unset it or set a number of seconds")
        }
    };
    Ok(Env {
        source_date,
        cargo_target_dir: std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from),
        key_passphrase: std::env::var("WHARF_KEY_PASSPHRASE").ok(),
        cwd: std::env::current_dir().context("cannot read the current directory")?,
        lock_lease: match std::env::var("WHARF_LOCK_LEASE") {
            Ok(v) => {
                Some(wharf_config::parse_duration(&v).map_err(|e| anyhow::anyhow!("WHARF_LOCK_LEASE: {e}"))?)
            }
            Err(_) => None,
        },
        registry_password: std::env::var("WHARF_REGISTRY_PASSWORD").ok(),
        docker_config: std::env::var_os("DOCKER_CONFIG")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker"))),
    })
}
