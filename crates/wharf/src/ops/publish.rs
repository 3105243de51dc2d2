//! Publishing: sort the packages by kind, open the store, run each repository format's transaction.

use std::path::{Path, PathBuf};

use anyhow::bail;
use wharf_config::{AptConfig, MetadataCompression};
use wharf_core::SourceDate;
use wharf_core::{Format, RepoKind};
use wharf_index::apt::AptRecord;
use wharf_index::opkg::OpkgRecord;
use wharf_index::rpmmd::{MdCompression, RpmRecord};
use wharf_publish::apk::{self, ApkReport, ApkSettings};
use wharf_publish::apk3::{self, Apk3Report};
use wharf_publish::apt::{self, AptReport, AptSettings};
use wharf_publish::inputs::InputCache;
use wharf_publish::opkg::{self, OpkgReport};
use wharf_publish::rpmmd::{self, RpmReport, RpmSettings};
use wharf_publish::txn::{Collected, Peeked, TxnOptions};
use wharf_sign::{ApkEcKey, ApkRsaKey, OpenPgpKey, RsaDigest, UsignKey};
use wharf_store::{Prefixed, PutMode, Store};

pub struct PublishOptions<'a> {
    pub store: &'a dyn Store,
    /// Where clients reach the store when no base URL is given (a directory path).
    pub to: &'a str,
    pub txn: &'a TxnOptions,
    /// The channel: the apt suite, and a prefix for the other kinds' trees.
    pub channel: Option<&'a str>,
    pub key: Option<&'a OpenPgpKey>,
    pub apt: &'a AptConfig,
    pub suite: &'a str,
    pub component: &'a str,
    pub rpm_repos: &'a [String],
    pub metadata_compression: MetadataCompression,
    pub base_url: Option<&'a str>,
    pub sign_unsigned: bool,
    pub usign: Option<&'a UsignKey>,
    pub apk: Option<&'a ApkRsaKey>,
    pub apk_digest: RsaDigest,
    pub apk3: Option<&'a ApkEcKey>,
    pub feeds: &'a [String],
    /// With `txn.prune`: whether the store has apt / rpm-md states to prune (both use `key`).
    pub prune_apt: bool,
    pub prune_rpm: bool,
    pub date: SourceDate,
    pub packages: &'a [PathBuf],
}

#[derive(Debug, serde::Serialize)]
pub struct Reports {
    pub apt: Option<AptReport>,
    pub rpm: Option<RpmReport>,
    pub opkg: Option<OpkgReport>,
    pub apk: Option<ApkReport>,
    pub apk3: Option<Apk3Report>,
    /// Reading, validating and hashing the given packages (every kind), in milliseconds.
    pub inspect_ms: f64,
    /// Packages given.
    pub packages: usize,
    /// Of those, how many the input cache knew unchanged and already published (not read).
    pub known_unchanged: usize,
}

/// What one repository kind's publish did, the same for every kind.
pub struct KindSummary<'a> {
    pub kind: RepoKind,
    /// Packages added.
    pub added: &'a [String],
    /// Records retention dropped.
    pub pruned: &'a [String],
    /// What the commit did (or, in a dry run, would do).
    pub collected: &'a Collected,
}

impl Reports {
    /// Each kind that was published, in [`RepoKind::ALL`]'s order.
    pub fn each(&self) -> Vec<KindSummary<'_>> {
        fn summary<'a>(
            kind: RepoKind,
            added: &'a [String],
            pruned: &'a [String],
            collected: &'a Collected,
        ) -> KindSummary<'a> {
            KindSummary {
                kind,
                added,
                pruned,
                collected,
            }
        }
        let mut out = Vec::new();
        if let Some(r) = &self.apt {
            out.push(summary(RepoKind::Apt, &r.added, &r.pruned, &r.collected));
        }
        if let Some(r) = &self.rpm {
            out.push(summary(RepoKind::RpmMd, &r.added, &r.pruned, &r.collected));
        }
        if let Some(r) = &self.opkg {
            out.push(summary(RepoKind::Opkg, &r.added, &r.pruned, &r.collected));
        }
        if let Some(r) = &self.apk {
            out.push(summary(RepoKind::Apk, &r.added, &r.pruned, &r.collected));
        }
        if let Some(r) = &self.apk3 {
            out.push(summary(RepoKind::Apk3, &r.added, &r.pruned, &r.collected));
        }
        out
    }
}

/// The format of a package file: by its extension, and for `.apk` by its first bytes (v3 is ADB, v2 gzip).
pub fn format_of(p: &Path) -> Option<Format> {
    let ext = p.extension().and_then(|e| e.to_str()).unwrap_or("");
    match Format::ALL.into_iter().find(|f| f.extension() == ext)? {
        Format::Apk | Format::Apk3 if is_apk3(p) => Some(Format::Apk3),
        Format::Apk | Format::Apk3 => Some(Format::Apk),
        f => Some(f),
    }
}

/// Whether the file is an apk v3 (ADB) package rather than v2 (gzip); both end in `.apk`.
fn is_apk3(p: &Path) -> bool {
    let mut head = [0u8; 3];
    wharf_publish::open_input(p)
        .ok()
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut head).ok())
        .is_some()
        && wharf_package::apk3::is_adb(&head)
}

/// Where a store's files are, for messages: the absolute directory, or the store URL.
pub fn store_root(to: &str) -> PathBuf {
    if to.starts_with("s3://") {
        PathBuf::from(to.trim_end_matches('/'))
    } else {
        let p = to.strip_prefix("file://").unwrap_or(to);
        lexical(&std::path::absolute(p).unwrap_or_else(|_| PathBuf::from(p)))
    }
}

/// An absolute path with `.` and `..` resolved by its text (as `cd` does), for what is shown and given to
/// clients: `/w/src/../pub` → `/w/pub`.
fn lexical(p: &std::path::Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    out
}

/// Where each channel tree a publish made is recorded (`.wharf/channels/<channel>`, empty).
pub const CHANNELS: &str = ".wharf/channels/";

/// The URL clients reach a store at when none is configured: `file://` for a directory.
pub fn default_base_url(to: &str) -> String {
    let url = if to.starts_with("s3://") {
        // Clients cannot read s3:// URLs; the publish warns that --base-url is needed.
        to.to_owned()
    } else {
        format!("file://{}", store_root(to).display())
    };
    normalize_url(&url).unwrap_or(url)
}

/// A base URL as clients should be given it: `.` and `..` segments resolved and repeated `/` folded in
/// its path (`https://h/src/../pub/` → `https://h/pub`), no `/` at the end. An error for text no client
/// could use as a base: no `scheme://`, whitespace or control characters, a query or a fragment.
pub fn normalize_url(url: &str) -> anyhow::Result<String> {
    let bad = |why: &str| {
        anyhow::anyhow!(
            "the base URL `{}` {why}; pass the URL clients read the store at (e.g. https://packages.example.org/repo)",
            url.escape_debug()
        )
    };
    if url.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(bad("contains whitespace"));
    }
    if url.contains(['?', '#']) {
        return Err(bad("has a query or fragment"));
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad("has no scheme"));
    };
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    {
        return Err(bad("has no scheme"));
    }
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let mut segments: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                segments.pop();
            }
            s => segments.push(s),
        }
    }
    let mut out = format!("{}://{authority}", scheme.to_ascii_lowercase());
    for seg in segments {
        out.push('/');
        out.push_str(seg);
    }
    Ok(out)
}

/// What a dry run decided, for people: per repository kind, the packages it would add and drop and every
/// object it would write (in order) and delete.
pub fn plan_text(r: &Reports) -> String {
    let mut text = String::new();
    for k in r.each() {
        let (kind, c) = (k.kind, k.collected);
        if c.unchanged && k.pruned.is_empty() && c.deleted.is_empty() {
            text.push_str(&format!("{kind}: no change\n"));
            continue;
        }
        text.push_str(&format!(
            "{kind}: add {} package(s), drop {}, write {} object(s), delete {}\n",
            k.added.len(),
            k.pruned.len(),
            c.planned.len(),
            c.deleted.len()
        ));
        for p in k.pruned {
            text.push_str(&format!("  drop   {p}\n"));
        }
        for o in &c.planned {
            text.push_str(&format!("  write  {o}\n"));
        }
        for o in &c.deleted {
            text.push_str(&format!("  delete {o}\n"));
        }
    }
    text
}

/// Packages to publish, by kind, as inspected (or, for a promotion, as their records in another channel
/// stand for them), with each kind's state as read before the lock where it was.
#[derive(Default)]
pub struct Inputs {
    pub debs: Vec<apt::IncomingDeb>,
    pub deb_state: Option<Peeked<AptRecord>>,
    pub rpms: Vec<rpmmd::IncomingRpm>,
    pub rpm_state: Option<Peeked<RpmRecord>>,
    pub ipks: Vec<opkg::IncomingIpk>,
    pub ipk_state: Option<Peeked<OpkgRecord>>,
    pub apks: Vec<apk::IncomingApk>,
    pub apk3s: Vec<apk3::IncomingApk3>,
    /// Reading, validating and hashing them, in milliseconds.
    pub inspect_ms: f64,
    /// Of the files given, how many the input cache knew unchanged and already published (not read).
    pub known_unchanged: usize,
}

/// Validates every package (all kinds) first, then publishes each kind in its own transaction.
pub fn publish(o: &PublishOptions<'_>) -> anyhow::Result<Reports> {
    let inputs = inspect(o)?;
    publish_inputs(o, inputs)
}

/// Reads and validates `o.packages`, every kind.
fn inspect(o: &PublishOptions<'_>) -> anyhow::Result<Inputs> {
    let (mut debs, mut rpms, mut ipks, mut apks, mut apk3s) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for p in o.packages {
        match format_of(p) {
            Some(Format::Deb) => debs.push(p.clone()),
            Some(Format::Rpm) => rpms.push(p.clone()),
            Some(Format::Ipk) => ipks.push(p.clone()),
            Some(Format::Apk3) => apk3s.push(p.clone()),
            Some(Format::Apk) => apks.push(p.clone()),
            None => bail!(
                "{}: not a .deb, .rpm, .ipk or .apk file; wharf publishes those",
                p.display()
            ),
        }
    }
    let prefixed = match o.channel {
        Some(c) => {
            wharf_publish::check_name("channel", c)?;
            Some(Prefixed::new(o.store, c)?)
        }
        None => None,
    };
    let tree: &dyn Store = match &prefixed {
        Some(p) => p,
        None => o.store,
    };
    // Reading the packages: each kind's state is read first (before the lock; its transaction reuses it
    // if still current) so that files the input cache knows unchanged and already published are not.
    let inspecting = std::time::Instant::now();
    let mut cache = InputCache::open();
    let (ipks, ipk_state) = opkg::inspect_ipks(&ipks, &mut cache, tree)?;
    let apks = apk::inspect_apks(&apks)?;
    let apk3s = apk3::inspect_apk3s(&apk3s)?;
    let (debs, deb_state) = apt::inspect_debs(&debs, &mut cache, o.store)?;
    let (rpms, rpm_state) = rpmmd::inspect_rpms(&rpms, &mut cache, tree)?;
    // Best effort: without it the next publish reads the files again, nothing worse. A dry run writes
    // nothing, the cache included.
    if !o.txn.dry_run {
        let _ = cache.save();
    }
    Ok(Inputs {
        debs,
        deb_state,
        rpms,
        rpm_state,
        ipks,
        ipk_state,
        apks,
        apk3s,
        inspect_ms: inspecting.elapsed().as_secs_f64() * 1000.0,
        known_unchanged: cache.skipped(),
    })
}

/// Publishes `inputs`, each kind in its own transaction.
pub fn publish_inputs(o: &PublishOptions<'_>, inputs: Inputs) -> anyhow::Result<Reports> {
    let Inputs {
        debs,
        deb_state,
        mut rpms,
        rpm_state,
        ipks,
        mut ipk_state,
        apks,
        apk3s,
        inspect_ms,
        known_unchanged,
    } = inputs;
    if let Some(c) = o.channel {
        wharf_publish::check_name("channel", c)?;
    }
    let prefixed = match o.channel {
        Some(c) => Some(Prefixed::new(o.store, c)?),
        None => None,
    };
    // apt keeps one pool for every channel (a channel is a suite); the other kinds get a tree per channel.
    let tree: &dyn Store = match &prefixed {
        Some(p) => p,
        None => o.store,
    };
    // A prune runs every kind it was given a key for (the command gives keys for the kinds in the store).
    let prune = o.txn.prune;
    let usign = match (ipks.is_empty(), o.usign) {
        (true, k) if prune => k,
        (true, _) => None,
        (false, Some(k)) => Some(k),
        (false, None) => bail!("publishing .ipk files needs a usign key (--usign-key)"),
    };
    let apk_key = match (apks.is_empty(), o.apk) {
        (true, k) if prune => k,
        (true, _) => None,
        (false, Some(k)) => Some(k),
        (false, None) => bail!("publishing .apk files needs an RSA key (--apk-key)"),
    };
    let apk3_key = match (apk3s.is_empty(), o.apk3) {
        (true, k) if prune => k,
        (true, _) => None,
        (false, Some(k)) => Some(k),
        (false, None) => bail!("publishing apk v3 files needs an EC key (--apk3-key)"),
    };
    let openpgp = || {
        o.key
            .ok_or_else(|| anyhow::anyhow!("publishing .deb or .rpm files needs an OpenPGP key (--key)"))
    };
    if o.sign_unsigned && !rpms.is_empty() {
        rpmmd::sign_unsigned(&mut rpms, openpgp()?, o.date)?;
    }
    let repos: Vec<String> = if o.rpm_repos.is_empty() {
        // One repository per architecture by default (`linux-x86_64`, …); noarch-only goes to `linux-noarch`.
        let mut archs: Vec<String> = rpms.iter().map(|r| format!("linux-{}", r.arch())).collect();
        archs.sort();
        archs.dedup();
        if archs.len() > 1 {
            archs.retain(|a| a != "linux-noarch");
        }
        archs
    } else {
        o.rpm_repos.to_vec()
    };
    // A channel's tree is recorded at the store's top, so that `wharf prune` finds every tree to prune.
    if let Some(c) = o.channel
        && !o.txn.dry_run
        && !(debs.is_empty() && rpms.is_empty() && ipks.is_empty() && apks.is_empty() && apk3s.is_empty())
    {
        o.store.put(&format!("{CHANNELS}{c}"), b"", PutMode::Create)?;
    }
    let suite = o.channel.unwrap_or(o.suite);
    let apt = if debs.is_empty() && !(prune && o.prune_apt) {
        None
    } else {
        let settings = AptSettings {
            origin: o.apt.origin.clone(),
            label: o.apt.label.clone(),
            description: o.apt.description.clone(),
            valid_for: o.apt.valid_for_days.map(|d| u64::from(d) * 86_400),
            default_architectures: o.apt.architectures.clone(),
            date: o.date,
        };
        Some(apt::publish(
            o.store,
            openpgp()?,
            &settings,
            o.txn,
            suite,
            o.component,
            &debs,
            deb_state,
        )?)
    };
    let rpm = if rpms.is_empty() && !(prune && o.prune_rpm) {
        None
    } else {
        let settings = RpmSettings {
            origin: o.apt.origin.clone(),
            label: o.apt.label.clone(),
            channel: o.channel.map(str::to_owned),
            base_url: {
                let base = o.base_url.map_or_else(|| default_base_url(o.to), str::to_owned);
                match o.channel {
                    Some(c) => format!("{}/{c}", base.trim_end_matches('/')),
                    None => base,
                }
            },
            compression: match o.metadata_compression {
                MetadataCompression::Gzip => MdCompression::Gzip,
                MetadataCompression::Zstd => MdCompression::Zstd,
            },
            date: o.date,
        };
        Some(rpmmd::publish(
            tree,
            openpgp()?,
            &settings,
            o.txn,
            &repos,
            &rpms,
            rpm_state,
        )?)
    };
    let opkg = match usign {
        Some(key) => Some(opkg::publish(tree, key, o.txn, o.feeds, &ipks, ipk_state.take())?),
        None => None,
    };
    let apk = match apk_key {
        Some(key) => {
            let settings = ApkSettings {
                description: o.apt.description.clone().unwrap_or_else(|| o.apt.label.clone()),
                description_given: o.apt.description.is_some(),
                digest: o.apk_digest,
                mtime: u64::try_from(o.date.unix()).unwrap_or(0),
            };
            Some(apk::publish(tree, key, &settings, o.txn, o.feeds, &apks)?)
        }
        None => None,
    };
    let apk3 = match apk3_key {
        Some(key) => {
            let description = o.apt.description.clone().unwrap_or_else(|| o.apt.label.clone());
            Some(apk3::publish(
                tree,
                key,
                (&description, o.apt.description.is_some()),
                o.txn,
                o.feeds,
                &apk3s,
            )?)
        }
        None => None,
    };
    Ok(Reports {
        apt,
        rpm,
        opkg,
        apk,
        apk3,
        inspect_ms,
        packages: o.packages.len(),
        known_unchanged,
    })
}

#[cfg(test)]
mod tests {
    use super::normalize_url;

    #[test]
    fn base_urls_are_normalised() {
        for (given, want) in [
            ("https://h.example/src/../pub/", "https://h.example/pub"),
            ("https://h.example//a/./b//", "https://h.example/a/b"),
            ("HTTPS://h.example", "https://h.example"),
            ("file:///srv/x/../y", "file:///srv/y"),
            ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
            ("s3://bucket/pre/../fix", "s3://bucket/fix"),
        ] {
            assert_eq!(normalize_url(given).unwrap(), want, "{given}");
        }
        for bad in [
            "packages.example.org",
            "https://h/a b",
            "https://h/?x=1",
            "://h",
            "https://h/\n",
        ] {
            assert!(normalize_url(bad).is_err(), "{bad}");
        }
    }
}
