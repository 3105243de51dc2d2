//! Publishing: open the store, inspect the packages, run the apt transaction.

use std::path::PathBuf;
use std::time::Duration;

use wharf_config::AptConfig;
use wharf_core::SourceDate;
use wharf_publish::apt::{self, AptReport, AptSettings};
use wharf_sign::OpenPgpKey;
use wharf_store::StoreUrl;

/// How long a publish waits for another publisher's lock.
pub const LOCK_WAIT: Duration = Duration::from_secs(300);

pub struct PublishOptions<'a> {
    pub to: &'a str,
    pub key: &'a OpenPgpKey,
    pub apt: &'a AptConfig,
    pub suite: &'a str,
    pub component: &'a str,
    pub date: SourceDate,
    pub packages: &'a [PathBuf],
}

/// Validates every package, then publishes them all in one transaction.
pub fn publish(o: &PublishOptions<'_>) -> anyhow::Result<AptReport> {
    let debs = apt::inspect_debs(o.packages)?;
    let store = StoreUrl::parse(o.to)?.open()?;
    let settings = AptSettings {
        origin: o.apt.origin.clone(),
        label: o.apt.label.clone(),
        description: o.apt.description.clone(),
        valid_for: o.apt.valid_for_days.map(|d| u64::from(d) * 86_400),
        default_architectures: o.apt.architectures.clone(),
        date: o.date,
        lock_wait: LOCK_WAIT,
    };
    Ok(apt::publish(
        store.as_ref(),
        o.key,
        &settings,
        o.suite,
        o.component,
        &debs,
    )?)
}
