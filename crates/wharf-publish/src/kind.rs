//! The repository kinds behind one trait: every caller (publish, release, promote, prune) loops over
//! [`crate::kinds`] and never names a kind, so a new kind is one module implementing [`Kind`] and one
//! line in the registry — the compiler finds every place it must answer.
//!
//! A [`Kind`] value is one publish's worth of work for its repository kind: the packages it was given
//! (read with [`Kind::inspect`], or found in another channel with [`Kind::promote`]) and the state read
//! beside them, published by [`Kind::publish`] in its own transaction into one common [`Report`].

use std::collections::BTreeSet;
use std::path::PathBuf;

use wharf_core::{RepoKind, Signer, SourceDate};
use wharf_index::rpmmd::MdCompression;
use wharf_sign::{ApkEcKey, ApkRsaKey, OpenPgpKey, RsaDigest, UsignKey};
use wharf_store::Store;

use crate::PublishError;
use crate::inputs::InputCache;
use crate::txn::{Collected, TxnOptions};

/// The keys a publish signs with, one per kind of key ([`Signer`]).
#[derive(Default, Clone, Copy)]
pub struct Keyring<'a> {
    /// apt, rpm-md (and rpm packages signed on the way in).
    pub openpgp: Option<&'a OpenPgpKey>,
    /// opkg feeds.
    pub usign: Option<&'a UsignKey>,
    /// apk v2 indexes.
    pub apk: Option<&'a ApkRsaKey>,
    /// apk v3 indexes.
    pub apk3: Option<&'a ApkEcKey>,
}

impl Keyring<'_> {
    /// Whether a key of this kind is held.
    #[must_use]
    pub fn has(&self, s: Signer) -> bool {
        match s {
            Signer::OpenPgp => self.openpgp.is_some(),
            Signer::Usign => self.usign.is_some(),
            Signer::ApkRsa => self.apk.is_some(),
            Signer::ApkEc => self.apk3.is_some(),
        }
    }
}

/// The error for a kind with packages to publish and no key of its kind.
pub(crate) fn no_key(kind: RepoKind) -> PublishError {
    let (what, flag) = match kind.signer() {
        Signer::OpenPgp => ("an OpenPGP key", "--key"),
        Signer::Usign => ("a usign key", "--usign-key"),
        Signer::ApkRsa => ("an RSA key", "--apk-key"),
        Signer::ApkEc => ("an EC key", "--apk3-key"),
    };
    PublishError::Settings(format!("publishing {kind} packages needs {what} ({flag})"))
}

/// Settings every kind reads, resolved once by the caller (flag, then wharf.toml, then default).
#[derive(Debug, Clone)]
pub struct Settings {
    /// `Origin:` (apt), the `.repo` section and key file name (rpm-md).
    pub origin: String,
    /// `Label:` (apt), the `.repo` name (rpm-md), the default index description (apk).
    pub label: String,
    /// `Description:` (apt) and the apk index description; `None` keeps the repository's.
    pub description: Option<String>,
    /// apt: `Valid-Until` = `Date` + this many seconds.
    pub valid_for: Option<u64>,
    /// apt: architectures every suite lists even without packages of their own.
    pub architectures: Vec<String>,
    /// The apt suite (a channel's name when publishing into a channel).
    pub suite: String,
    /// The apt component.
    pub component: String,
    /// rpm-md repositories to publish into; none: one per architecture (`linux-x86_64`).
    pub rpm_repos: Vec<String>,
    /// Where clients reach the store's top (`https://…`, `file:///…`).
    pub base_url: String,
    /// rpm-md metadata compression.
    pub compression: MdCompression,
    /// rpm-md: each repository's distribution tag (`[rpm] dist-tags`): an rpm whose release ends with one
    /// goes only into the repositories of that tag.
    pub dist_tags: std::collections::BTreeMap<String, String>,
    /// apk v2 signature digest.
    pub apk_digest: RsaDigest,
    /// Feeds (architectures) the feed kinds create even when empty, and put `all` packages in.
    pub feeds: Vec<String>,
    /// Sign unsigned rpms on the way in.
    pub sign_unsigned: bool,
    /// Every date and signature time.
    pub date: SourceDate,
    /// The channel whose tree is published (none: the store's top).
    pub channel: Option<String>,
}

impl Settings {
    /// The base URL of the channel's tree.
    #[must_use]
    pub fn tree_url(&self) -> String {
        match &self.channel {
            Some(c) => format!("{}/{c}", self.base_url.trim_end_matches('/')),
            None => self.base_url.clone(),
        }
    }

    /// The index description for the apk kinds, and whether it was configured.
    pub(crate) fn apk_description(&self) -> (String, bool) {
        (
            self.description.clone().unwrap_or_else(|| self.label.clone()),
            self.description.is_some(),
        )
    }
}

/// Where a publish happens: the store's top, the channel's tree in it, keys, settings, transaction.
pub struct Context<'a> {
    /// The store's top (apt keeps one pool and state there for every channel).
    pub top: &'a dyn Store,
    /// The channel's tree (the store's top for the root channel).
    pub tree: &'a dyn Store,
    /// The keys.
    pub keys: Keyring<'a>,
    /// The settings.
    pub settings: &'a Settings,
    /// Transaction options (retention, grace, lock, dry run, prune).
    pub txn: &'a TxnOptions,
}

/// What one kind's publish did, the same for every kind.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    /// The kind.
    pub kind: RepoKind,
    /// The store.
    pub store: String,
    /// Objects newly written for the packages added.
    pub added: Vec<String>,
    /// Packages already published with identical bytes.
    pub unchanged: Vec<String>,
    /// Groups (suites, repositories, feeds, architectures) whose indexes were rewritten.
    pub groups: Vec<String>,
    /// The signing key's identity (fingerprint, key name or id).
    pub key: String,
    /// The objects signed, one per group rewritten.
    pub signed: Vec<String>,
    /// Packages published without a signature of their own that clients require.
    pub unsigned: Vec<String>,
    /// Client configuration files written (rpm-md `.repo` files), from the tree's top.
    pub client_files: Vec<String>,
    /// Records removed by retention (`keep`).
    pub pruned: Vec<String>,
    /// What the commit did (or, in a dry run, would do): garbage, timings, objects planned.
    pub collected: Collected,
}

/// Where the repository is, for the text telling people how to use it.
pub struct Where<'a> {
    /// The store's top as people reach it here (a directory, or the store URL).
    pub top: &'a str,
    /// The channel's tree, likewise.
    pub tree: &'a str,
    /// The URL clients reach the store's top at.
    pub top_url: &'a str,
    /// The URL clients reach the channel's tree at.
    pub tree_url: &'a str,
}

/// What a promotion found of a package in one kind's repository of the source channel.
#[derive(Debug, Default)]
pub struct Found {
    /// `name version (arch)` of each package to promote.
    pub what: Vec<String>,
    /// Every version of the name there.
    pub versions: BTreeSet<String>,
}

/// One repository kind, holding one publish's packages.
pub trait Kind: Send {
    /// Which kind.
    fn kind(&self) -> RepoKind;
    /// Where its state manifest is (in [`Kind::at_top`]'s store, or the channel's tree).
    fn state_key(&self) -> &'static str;
    /// Whether its repository is at the store's top for every channel (apt: one pool, a suite per
    /// channel) rather than in each channel's tree.
    fn at_top(&self) -> bool {
        false
    }
    /// Reads and validates the package files of its format (any valid package, not only wharf's). The
    /// `cache` and the state (read here, before the lock) spare reading files already published.
    fn inspect(
        &mut self,
        paths: &[PathBuf],
        cache: &mut InputCache,
        store: &dyn Store,
    ) -> Result<(), PublishError>;
    /// Finds `name` at `version` in the source channel (`from`: its tree, `prefix` naming it from the
    /// store's top; `suite` is apt's), to publish into another channel copied store-side.
    fn promote(
        &mut self,
        from: &dyn Store,
        prefix: Option<&str>,
        suite: &str,
        package: (&str, &str),
    ) -> Result<Found, PublishError>;
    /// Whether it holds packages to publish.
    fn has_packages(&self) -> bool;
    /// Signs, on the way in, packages that arrived unsigned (rpm); nothing for the other kinds.
    fn sign_unsigned(&mut self, _key: Option<&OpenPgpKey>, _date: SourceDate) -> Result<(), PublishError> {
        Ok(())
    }
    /// Publishes its packages in one transaction (with none and `txn.prune`: retention only).
    fn publish(&mut self, cx: &Context<'_>) -> Result<Report, PublishError>;
    /// How clients use the repository, for people (the report says what changed).
    fn usage(&self, report: &Report, settings: &Settings, at: &Where<'_>) -> String;
}

/// The summary of a kind whose indexes a publish left as they were.
pub(crate) fn unchanged(label: &str, packages: usize) -> String {
    match packages {
        0 => format!("\n{label}: no change.\n"),
        n => format!("\n{label}: no change ({n} package(s) given, all already published).\n"),
    }
}

/// What a feed kind (opkg, apk, apk v3: a repository per architecture in each channel's tree) supplies to
/// [`Feed`], the one [`Kind`] they share.
pub(crate) trait FeedKind: Send + 'static {
    /// Which kind.
    const KIND: RepoKind;
    /// Where its state manifest is.
    const STATE_KEY: &'static str;
    /// Its name in the text telling people how to use it.
    const LABEL: &'static str;
    /// What inspecting a package gives.
    type Info: Send;
    /// Its state's record.
    type Record: crate::txn::Record + Send;
    /// Reads and validates package files (and the state, where the input cache can use it).
    #[allow(clippy::type_complexity)]
    fn inspect(
        paths: &[PathBuf],
        cache: &mut InputCache,
        store: &dyn Store,
    ) -> Result<
        (
            Vec<crate::Incoming<Self::Info>>,
            Option<crate::txn::Peeked<Self::Record>>,
        ),
        PublishError,
    >;
    /// `name` at `version` in the tree `from` (at `prefix` in the store), to copy into another channel.
    fn promoted(
        from: &dyn Store,
        prefix: Option<&str>,
        name: &str,
        version: &str,
    ) -> Result<crate::Promoted<crate::Incoming<Self::Info>>, PublishError>;
    /// Publishes `packages` into `feeds` (and their architectures' feeds) in one transaction.
    fn publish(
        cx: &Context<'_>,
        feeds: &[String],
        packages: &[crate::Incoming<Self::Info>],
        state: Option<crate::txn::Peeked<Self::Record>>,
    ) -> Result<Report, PublishError>;
    /// How clients use the feeds a publish rewrote.
    fn usage(r: &Report, s: &Settings, at: &Where<'_>) -> String;
}

/// A feed kind's packages for one publish.
pub(crate) struct Feed<F: FeedKind> {
    packages: Vec<crate::Incoming<F::Info>>,
    state: Option<crate::txn::Peeked<F::Record>>,
    /// The feeds a promotion found the packages in (they go into the same ones).
    feeds: Vec<String>,
}

impl<F: FeedKind> Default for Feed<F> {
    fn default() -> Self {
        Self {
            packages: Vec::new(),
            state: None,
            feeds: Vec::new(),
        }
    }
}

impl<F: FeedKind> Kind for Feed<F>
where
    F::Record: Sync,
{
    fn kind(&self) -> RepoKind {
        F::KIND
    }
    fn state_key(&self) -> &'static str {
        F::STATE_KEY
    }
    fn inspect(
        &mut self,
        paths: &[PathBuf],
        cache: &mut InputCache,
        store: &dyn Store,
    ) -> Result<(), PublishError> {
        (self.packages, self.state) = F::inspect(paths, cache, store)?;
        Ok(())
    }
    fn promote(
        &mut self,
        from: &dyn Store,
        prefix: Option<&str>,
        _suite: &str,
        (name, version): (&str, &str),
    ) -> Result<Found, PublishError> {
        let found;
        (self.packages, self.feeds, found) = F::promoted(from, prefix, name, version)?.split();
        Ok(found)
    }
    fn has_packages(&self) -> bool {
        !self.packages.is_empty()
    }
    fn publish(&mut self, cx: &Context<'_>) -> Result<Report, PublishError> {
        let feeds = if self.feeds.is_empty() {
            &cx.settings.feeds
        } else {
            &self.feeds
        };
        F::publish(cx, feeds, &self.packages, self.state.take())
    }
    fn usage(&self, r: &Report, s: &Settings, at: &Where<'_>) -> String {
        if r.groups.is_empty() {
            return unchanged(F::LABEL, r.unchanged.len());
        }
        F::usage(r, s, at)
    }
}
