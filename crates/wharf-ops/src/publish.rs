//! Publishing: sort the packages by kind, open the store, run each repository format's transaction.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use wharf_core::{Format, RepoKind, Signer};
use wharf_publish::inputs::InputCache;
use wharf_publish::kind::{Context, Keyring, Kind, Report, Settings, Where};
use wharf_publish::txn::TxnOptions;
use wharf_store::{Prefixed, PutMode, Store, StoreUrl};

use crate::Reporter;

/// One publish (or release, promotion, prune): where, with which keys and settings, of which files.
pub struct PublishOptions<'a> {
    pub store: &'a dyn Store,
    pub txn: &'a TxnOptions,
    pub keys: Keyring<'a>,
    /// Every kind's settings, resolved once ([`crate::settings`]).
    pub settings: &'a Settings,
    /// With `txn.prune`: the kinds to prune though no package is given (those the tree holds).
    pub prune: &'a [RepoKind],
    pub packages: &'a [PathBuf],
}

/// What a publish did: each kind's report (under its name: `apt`, `rpm-md`, …), and the reading.
#[derive(Debug, serde::Serialize)]
pub struct Reports {
    #[serde(flatten)]
    pub kinds: BTreeMap<RepoKind, Report>,
    /// Reading, validating and hashing the given packages (every kind), in milliseconds.
    pub inspect_ms: f64,
    /// Packages given.
    pub packages: usize,
    /// Of those, how many the input cache knew unchanged and already published (not read).
    pub known_unchanged: usize,
}

impl Reports {
    /// Each kind that was published, in [`RepoKind::ALL`]'s order.
    pub fn each(&self) -> impl Iterator<Item = &Report> {
        self.kinds.values()
    }

    /// The report of one kind, if it was published.
    pub fn get(&self, kind: RepoKind) -> Option<&Report> {
        self.kinds.get(&kind)
    }
}

/// The package files given: each file as it is, each directory as every package file below it (sorted;
/// hidden directories such as `.wharf/` and half-written temporary files left out). A path with a package
/// The paths listed in `list` (`-`: standard input), one per line; empty lines are skipped. A path is taken
/// as written (a directory: every package file below it), so a list may be `find … -name '*.deb'`'s output.
pub fn files_from(list: &Path) -> anyhow::Result<Vec<PathBuf>> {
    use std::io::BufRead as _;
    let reader: Box<dyn std::io::BufRead> = if list == Path::new("-") {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(std::io::BufReader::new(
            std::fs::File::open(list).with_context(|| format!("cannot read {}", list.display()))?,
        ))
    };
    let mut out = Vec::new();
    for line in reader.lines() {
        let line = line.with_context(|| format!("cannot read {}", list.display()))?;
        if !line.trim().is_empty() {
            out.push(PathBuf::from(line));
        }
    }
    if out.is_empty() {
        anyhow::bail!("{} lists no package file", list.display());
    }
    Ok(out)
}

/// extension is taken as a file without a `stat`, so a republish of thousands of files costs nothing more.
pub fn package_files(given: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    let is_package = |p: &Path| {
        p.file_name()
            .and_then(|n| n.to_str())
            .and_then(Format::of_file_name)
            .is_some()
    };
    let mut out = Vec::with_capacity(given.len());
    for p in given {
        if is_package(p) || !p.is_dir() {
            out.push(p.clone());
            continue;
        }
        let mut found = Vec::new();
        let mut dirs = vec![p.clone()];
        while let Some(d) = dirs.pop() {
            let entries = std::fs::read_dir(&d).with_context(|| format!("cannot list {}", d.display()))?;
            for e in entries {
                let e = e.with_context(|| format!("cannot list {}", d.display()))?;
                let hidden = e.file_name().to_string_lossy().starts_with('.');
                let kind = e
                    .file_type()
                    .with_context(|| format!("cannot read {}", e.path().display()))?;
                if hidden {
                    continue;
                }
                if kind.is_dir() {
                    dirs.push(e.path());
                } else if is_package(&e.path()) {
                    found.push(e.path());
                }
            }
        }
        if found.is_empty() {
            anyhow::bail!(
                "{}: no package file ({}) below this directory",
                p.display(),
                suffixes()
            );
        }
        found.sort();
        out.extend(found);
    }
    Ok(out)
}

/// Where the time went, for -v: reading the packages, then each kind's lock, index work and writes.
pub fn timings(r: &Reports) -> String {
    let mut line = format!("time: inspect {:.1} ms", r.inspect_ms);
    if r.known_unchanged > 0 {
        line.push_str(&format!(
            " ({} of {} packages known unchanged, not read)",
            r.known_unchanged, r.packages
        ));
    }
    for k in r.each() {
        let t = &k.collected.timings;
        line.push_str(&format!(
            "; {}: lock {:.1} ms, index {:.1} ms, write {:.1} ms{}",
            k.kind,
            t.lock_ms,
            t.index_ms,
            t.write_ms,
            if k.collected.unchanged {
                " (nothing changed)"
            } else {
                ""
            }
        ));
    }
    line
}

/// The file name endings of the package formats wharf publishes, for messages.
fn suffixes() -> String {
    let mut all: Vec<&str> = Format::ALL.map(Format::extension).to_vec();
    all.dedup();
    all.join(", ")
}

/// The format of a package file: by its extension, and for `.apk` by its first bytes (v3 is ADB, v2 gzip).
pub fn format_of(p: &Path) -> Option<Format> {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    match Format::of_file_name(name)? {
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
pub fn store_root(to: &StoreUrl) -> PathBuf {
    match to {
        StoreUrl::Local(p) => lexical(&std::path::absolute(p).unwrap_or_else(|_| p.clone())),
        s3 => PathBuf::from(s3.to_string()),
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
pub fn default_base_url(to: &StoreUrl) -> String {
    let url = if to.is_s3() {
        // Clients cannot read s3:// URLs; the publish warns that --base-url is needed.
        to.to_string()
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
        let (kind, c) = (k.kind, &k.collected);
        if c.unchanged && k.pruned.is_empty() && c.deleted.is_empty() {
            text.push_str(&format!("{kind}: no change\n"));
            continue;
        }
        text.push_str(&format!(
            "{kind}: add {} package(s), drop {}, write {} object(s), delete {}; signed by {}\n",
            k.added.len(),
            k.pruned.len(),
            c.planned.len(),
            c.deleted.len(),
            k.key
        ));
        for p in &k.pruned {
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

/// Packages to publish, every kind (as inspected, or for a promotion as their records in another channel
/// stand for them), with each kind's state as read before the lock where it was.
pub struct Inputs {
    pub kinds: Vec<Box<dyn Kind>>,
    /// Reading, validating and hashing them, in milliseconds.
    pub inspect_ms: f64,
    /// Of the files given, how many the input cache knew unchanged and already published (not read).
    pub known_unchanged: usize,
}

impl Inputs {
    /// Every kind, holding nothing yet.
    pub fn none() -> Self {
        Self {
            kinds: wharf_publish::kinds(),
            inspect_ms: 0.0,
            known_unchanged: 0,
        }
    }

    /// The kinds of key the packages held need.
    pub fn signers(&self) -> Vec<Signer> {
        let mut s: Vec<Signer> = self
            .kinds
            .iter()
            .filter(|k| k.has_packages())
            .map(|k| k.kind().signer())
            .collect();
        s.sort();
        s.dedup();
        s
    }
}

/// A channel's tree in `store` (the store itself for none).
pub fn tree<'a>(store: &'a dyn Store, channel: Option<&str>) -> anyhow::Result<Option<Prefixed<'a>>> {
    Ok(match channel {
        Some(c) => {
            wharf_publish::check_name("channel", c)?;
            Some(Prefixed::new(store, c)?)
        }
        None => None,
    })
}

/// Validates every package (all kinds) first, then publishes each kind in its own transaction.
pub fn publish(o: &PublishOptions<'_>) -> anyhow::Result<Reports> {
    let inputs = inspect(o)?;
    publish_inputs(o, inputs)
}

/// Reads and validates `o.packages`, every kind.
fn inspect(o: &PublishOptions<'_>) -> anyhow::Result<Inputs> {
    let mut by_kind: BTreeMap<RepoKind, Vec<PathBuf>> = BTreeMap::new();
    for p in o.packages {
        match format_of(p) {
            Some(f) => by_kind.entry(f.repo_kind()).or_default().push(p.clone()),
            None => bail!(
                "{}: not a package file wharf publishes ({})",
                p.display(),
                suffixes()
            ),
        }
    }
    let prefixed = tree(o.store, o.settings.channel.as_deref())?;
    let tree: &dyn Store = prefixed.as_ref().map_or(o.store, |p| p as &dyn Store);
    // Reading the packages: each kind's state is read first (before the lock; its transaction reuses it
    // if still current) so that files the input cache knows unchanged and already published are not.
    let inspecting = std::time::Instant::now();
    let mut cache = InputCache::open();
    let mut inputs = Inputs::none();
    for k in &mut inputs.kinds {
        if let Some(paths) = by_kind.get(&k.kind()) {
            k.inspect(paths, &mut cache, if k.at_top() { o.store } else { tree })?;
        }
    }
    // Best effort: without it the next publish reads the files again, nothing worse. A dry run writes
    // nothing, the cache included.
    if !o.txn.dry_run {
        let _ = cache.save();
    }
    inputs.inspect_ms = inspecting.elapsed().as_secs_f64() * 1000.0;
    inputs.known_unchanged = cache.skipped();
    Ok(inputs)
}

/// Publishes `inputs`, each kind with packages (or, in a prune, named in `o.prune`) in its own
/// transaction.
pub fn publish_inputs(o: &PublishOptions<'_>, inputs: Inputs) -> anyhow::Result<Reports> {
    let Inputs {
        mut kinds,
        inspect_ms,
        known_unchanged,
    } = inputs;
    let s = o.settings;
    let prefixed = tree(o.store, s.channel.as_deref())?;
    // apt keeps one pool for every channel (a channel is a suite); the other kinds get a tree per channel.
    let tree: &dyn Store = prefixed.as_ref().map_or(o.store, |p| p as &dyn Store);
    if s.sign_unsigned {
        for k in &mut kinds {
            k.sign_unsigned(o.keys.openpgp, s.date)?;
        }
    }
    // A channel's tree is recorded at the store's top, so that `wharf prune` finds every tree to prune.
    if let Some(c) = &s.channel
        && !o.txn.dry_run
        && kinds.iter().any(|k| k.has_packages())
    {
        o.store.put(&format!("{CHANNELS}{c}"), b"", PutMode::Create)?;
    }
    let cx = Context {
        top: o.store,
        tree,
        keys: o.keys,
        settings: s,
        txn: o.txn,
    };
    let mut reports = BTreeMap::new();
    for k in &mut kinds {
        if k.has_packages() || (o.txn.prune && o.prune.contains(&k.kind())) {
            reports.insert(k.kind(), k.publish(&cx)?);
        }
    }
    Ok(Reports {
        kinds: reports,
        inspect_ms,
        packages: o.packages.len(),
        known_unchanged,
    })
}

/// Where the repository is, for the text telling people how to use each kind.
pub fn usage(r: &Reports, settings: &Settings, to: &StoreUrl) -> String {
    let top = store_root(to);
    let tree = settings
        .channel
        .as_ref()
        .map_or_else(|| top.clone(), |c| top.join(c));
    let (top, tree) = (top.display().to_string(), tree.display().to_string());
    let at = Where {
        top: &top,
        tree: &tree,
        top_url: &settings.base_url,
        tree_url: &settings.tree_url(),
    };
    let kinds = wharf_publish::kinds();
    let mut text = format!("Repository: {top}\n");
    for report in r.each() {
        if let Some(k) = kinds.iter().find(|k| k.kind() == report.kind) {
            text.push_str(&k.usage(report, settings, &at));
        }
    }
    text
}

/// Progress lines: each package published (unchanged ones only with -v), warnings, each index signed.
pub fn announce(out: &dyn Reporter, r: &Report) {
    for p in &r.added {
        out.status("Published", p);
    }
    for u in &r.unchanged {
        out.detail(&format!("unchanged: {u}"));
    }
    for u in &r.unsigned {
        out.warn(&format!(
            "{u} is not signed: dnf and zypper with gpgcheck=1 will refuse it"
        ));
    }
    for f in &r.signed {
        out.status("Signed", &format!("{f} with {}", r.key));
    }
}

/// The store calls a run made, for `-v`.
#[must_use]
pub fn calls_text(calls: &wharf_store::StoreCalls) -> String {
    format!(
        "store calls: {} reads, {} writes ({} bytes), {} lists, {} deletes",
        calls.reads, calls.writes, calls.bytes_written, calls.lists, calls.deletes
    )
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
