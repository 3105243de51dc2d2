//! Settings resolved once, in one place: the command line's flag, else the project's wharf.toml, else the
//! default. Every writing command (publish, release, promote, prune) asks here.

use wharf_config::{AptConfig, Project};
use wharf_core::SourceDate;
use wharf_index::rpmmd::MdCompression;
use wharf_publish::kind::Settings;
use wharf_publish::txn::TxnOptions;
use wharf_store::StoreUrl;

use crate::TxnFlags;
use crate::publish::{default_base_url, normalize_url};
use crate::release::ROOT_CHANNEL;

/// What the command line gave; `None` or empty: the project's setting, else the default.
#[derive(Default)]
pub struct Given<'a> {
    pub suite: Option<&'a str>,
    pub component: Option<&'a str>,
    pub repos: &'a [String],
    pub feeds: &'a [String],
    pub base_url: Option<&'a str>,
    /// The channel (its tree: `None` for the root channel, see [`channel_tree`]).
    pub channel: Option<String>,
    /// `--sign`: sign unsigned rpms on the way in.
    pub sign: bool,
}

/// Every kind's settings for a store at `to` (where clients read it when no base URL is given).
pub fn resolve(
    project: Option<&Project>,
    to: &StoreUrl,
    given: Given<'_>,
    date: SourceDate,
) -> anyhow::Result<Settings> {
    let apt = apt_config(project);
    let base_url = base_url(given.base_url, project)?.unwrap_or_else(|| default_base_url(to));
    let channel = channel_tree(given.channel);
    let rpm_repos = if given.repos.is_empty() {
        project.map(|p| p.rpm.repos.clone()).unwrap_or_default()
    } else {
        given.repos.to_vec()
    };
    Ok(Settings {
        // A channel is an apt suite of its own.
        suite: channel
            .clone()
            .or_else(|| given.suite.map(str::to_owned))
            .unwrap_or_else(|| apt.suite.clone()),
        component: given
            .component
            .map_or_else(|| apt.component.clone(), str::to_owned),
        rpm_repos: rpm_repos.clone(),
        dist_tags: project
            .map(|p| {
                rpm_repos
                    .iter()
                    .filter_map(|r| Some((r.clone(), p.rpm.dist_tag_of(r)?)))
                    .collect()
            })
            .unwrap_or_default(),
        base_url,
        compression: match project.map(|p| p.rpm.metadata_compression).unwrap_or_default() {
            wharf_config::MetadataCompression::Gzip => MdCompression::Gzip,
            wharf_config::MetadataCompression::Zstd => MdCompression::Zstd,
        },
        apk_digest: match project.map(|p| p.apk.signature).unwrap_or_default() {
            wharf_config::ApkSignature::Sha1 => wharf_sign::RsaDigest::Sha1,
            wharf_config::ApkSignature::Sha256 => wharf_sign::RsaDigest::Sha256,
        },
        feeds: given.feeds.to_vec(),
        sign_unsigned: given.sign,
        date,
        channel,
        valid_for: apt.valid_for_days.map(|d| u64::from(d) * 86_400),
        architectures: apt.architectures,
        origin: apt.origin,
        label: apt.label,
        description: apt.description,
    })
}

/// The base URL from the command line, else the project's `[publish] base-url`, normalised
/// ([`normalize_url`]).
pub fn base_url(arg: Option<&str>, project: Option<&Project>) -> anyhow::Result<Option<String>> {
    arg.or_else(|| project.and_then(|p| p.publish.base_url.as_deref()))
        .map(normalize_url)
        .transpose()
}

/// A channel as the store lays it out: `None` (the top) for the root channel.
pub fn channel_tree(channel: Option<String>) -> Option<String> {
    channel.filter(|c| c != ROOT_CHANNEL)
}

/// The store: the command line's, else the project's `[publish] to`, else `public` — parsed once, here.
pub fn store_location(arg: Option<&str>, project: Option<&Project>) -> anyhow::Result<StoreUrl> {
    let text = arg
        .map(str::to_owned)
        .or_else(|| project.and_then(|p| p.publish.to.clone()))
        .unwrap_or_else(|| "public".into());
    if text.trim().is_empty() {
        anyhow::bail!(
            "the store is empty: name a directory (e.g. `public`) or s3://bucket/prefix in [publish] to or --to"
        );
    }
    Ok(StoreUrl::parse(&text)?)
}

/// The channel: the command line's, else the project's `[publish] channel`.
pub fn channel(arg: Option<&str>, project: Option<&Project>) -> Option<String> {
    arg.map(str::to_owned)
        .or_else(|| project.and_then(|p| p.publish.channel.clone()))
}

/// The transaction settings: flags first, then the project's `[publish]`, then the defaults.
pub fn txn_options(args: &TxnFlags, project: Option<&Project>) -> TxnOptions {
    let publish = project.map(|p| &p.publish);
    let d = TxnOptions::default();
    TxnOptions {
        lock_wait: args
            .lock_wait
            .or_else(|| publish.and_then(|p| p.lock_wait))
            .unwrap_or(d.lock_wait),
        grace: args
            .grace
            .or_else(|| publish.and_then(|p| p.grace_period))
            .unwrap_or(d.grace),
        keep: args
            .keep
            .map(|k| k as usize)
            .or_else(|| publish.and_then(|p| p.keep)),
        dry_run: args.dry_run,
        ..d
    }
}

/// The project's `[apt]` settings (which also name the rpm key and `.repo` files), or the defaults.
pub fn apt_config(project: Option<&Project>) -> AptConfig {
    project.map_or_else(
        || AptConfig {
            origin: "wharf".into(),
            label: "wharf".into(),
            suite: "stable".into(),
            component: "main".into(),
            description: None,
            valid_for_days: None,
            architectures: Vec::new(),
        },
        |p| p.apt.clone(),
    )
}
