//! The release directory and the store's front, for `wharf release` and `wharf promote`: merging a build's
//! artifacts into a release's manifest (several build machines release one version), the release files
//! (`SHA256SUMS`, `notes.md`, `manifest.json`), and what every release and promotion rewrites under the
//! release lock — `releases/index.json`, every channel's pointer, the page and `install.sh`, both made
//! from what the store holds (design.md §5).

mod draft;
mod run;

use std::collections::BTreeSet;

use anyhow::Context;
use wharf_config::{AptConfig, Project};
use wharf_core::digest::Checksums;
use wharf_core::{ChangelogEntry, DebVersion, Format, RepoKind};
use wharf_publish::apt::KEYRING_KEY;
use wharf_publish::rpmmd::key_file;
use wharf_release::changelog::Changelog;
use wharf_release::install::Script;
use wharf_release::manifest::{self, Artifact, Manifest};
use wharf_release::page::{self, Index, Method};
use wharf_store::{LockGuard, Prefixed, PutMode, Store};

use crate::package::Built;
use crate::publish::Reports;

pub use draft::{DraftOptions, Published, delete_draft, publish_draft};
pub use run::{ReleaseOptions, Released, channel_of, release};

/// The channel published at the top of the store: its apt suite is the configured one (`[apt] suite`) and
/// the other kinds' trees are the store's root, where a client configured without a channel looks. Every
/// other channel is an apt suite of its own name and a `<channel>/` tree.
pub const ROOT_CHANNEL: &str = "stable";
/// The lock every release (and promotion) takes around the release directory, index and pointers
/// (publishes take `.wharf/lock`).
pub const LOCK: &str = ".wharf/releases/lock";
/// The marker a draft's release directory holds until it is published (`releases/<version>/DRAFT`): no
/// index, pointer, page or install script names a draft.
pub const DRAFT: &str = "DRAFT";
const INDEX: &str = "releases/index.json";

/// The release index and its version tag (empty when there is none yet).
pub(crate) fn read_index(store: &dyn Store, to: &str) -> anyhow::Result<(Index, Option<String>)> {
    Ok(match store.get_tagged(INDEX)? {
        Some(t) => (
            serde_json::from_slice::<Index>(&t.bytes)
                .with_context(|| format!("{INDEX} in {to} is not a wharf release index"))?,
            Some(t.tag),
        ),
        None => (Index::default(), None),
    })
}

/// One package changelog entry (Debian changelog stanza, rpm %changelog entry) for a release.
pub(crate) fn package_changelog(version: &str, log: &Changelog, author: &str, time: i64) -> ChangelogEntry {
    let changes: Vec<String> = log
        .groups
        .iter()
        .flat_map(|g| g.entries.iter())
        .map(|e| match &e.scope {
            Some(s) => format!("{s}: {}", e.text),
            None => e.text.clone(),
        })
        .collect();
    ChangelogEntry {
        version: version.to_owned(),
        author: author.to_owned(),
        time,
        changes: if changes.is_empty() {
            vec![format!("Release {version}.")]
        } else {
            changes
        },
    }
}

/// Newest first by dpkg's order (wharf's version syntax is Debian's).
pub(crate) fn newer_first(a: &str, b: &str) -> std::cmp::Ordering {
    match (DebVersion::parse(a), DebVersion::parse(b)) {
        (Ok(a), Ok(b)) => b.cmp(&a),
        _ => b.cmp(a),
    }
}

pub(crate) fn artifact(b: &Built) -> anyhow::Result<Artifact> {
    let name = b
        .path
        .file_name()
        .and_then(|f| f.to_str())
        .context("package file name")?;
    // apk file names carry no architecture (the repository's directory does), and v2 and v3 packages share
    // one name: in the flat release directory they get both.
    let file = match (b.format, name.strip_suffix(".apk")) {
        (Some(Format::Apk), Some(stem)) => format!("{stem}.{}.apk", b.arch),
        (Some(Format::Apk3), Some(stem)) => format!("{stem}.{}.v3.apk", b.arch),
        _ => name.to_owned(),
    };
    let sums = Checksums::of_reader(
        std::fs::File::open(&b.path).with_context(|| format!("cannot read {}", b.path.display()))?,
    )
    .with_context(|| format!("cannot read {}", b.path.display()))?;
    Ok(Artifact {
        file,
        kind: b.kind().into(),
        package: b.name.clone(),
        version: b.version.clone(),
        arch: b.arch.clone(),
        size: sums.size,
        sha256: sums.sha256,
    })
}

/// The manifest of `dir` (`releases/<version>`) if that version has been released.
pub(crate) fn read_manifest(store: &dyn Store, dir: &str, to: &str) -> anyhow::Result<Option<Manifest>> {
    let key = format!("{dir}/manifest.json");
    store
        .get(&key)?
        .map(|bytes| {
            serde_json::from_slice::<Manifest>(&bytes)
                .with_context(|| format!("{key} in {to} is not a wharf release manifest"))
        })
        .transpose()
}

/// This build's release merged into the one the store has of the same version: the same commit and
/// classification, each artifact either new or byte-identical. Build machines each release their own
/// architectures; the release lists every one. A *different* build of a file already released is refused.
pub(crate) fn merge(existing: Option<&Manifest>, ours: &Manifest, to: &str) -> anyhow::Result<Manifest> {
    let Some(e) = existing else {
        let mut m = ours.clone();
        m.artifacts.sort_by(|a, b| a.file.cmp(&b.file));
        return Ok(m);
    };
    let v = &ours.version;
    let refuse = |what: String| {
        anyhow::anyhow!(
            "release {v} is already published in {to} {what}; a release never changes — build the same commit with the same SOURCE_DATE_EPOCH and keys, or tag a new version. Nothing was written"
        )
    };
    if let (Some(a), Some(b)) = (&e.commit, &ours.commit)
        && a != b
    {
        return Err(refuse(format!(
            "from commit {a}, and this build is of commit {b}"
        )));
    }
    if e.class != ours.class || e.channel != ours.channel {
        return Err(refuse(format!(
            "as a {} release in channel `{}`, and this one is a {} release for channel `{}`",
            e.class.as_str(),
            e.channel,
            ours.class.as_str(),
            ours.channel
        )));
    }
    let mut merged = e.clone();
    for a in &ours.artifacts {
        match e.artifacts.iter().find(|x| x.file == a.file) {
            Some(x) if x.sha256 == a.sha256 => {}
            Some(x) => {
                return Err(refuse(format!(
                    "and its {} (sha256 {}) differs from this build's (sha256 {})",
                    a.file, x.sha256, a.sha256
                )));
            }
            None => merged.artifacts.push(a.clone()),
        }
    }
    for img in &ours.images {
        match e.images.iter().find(|x| x.repository == img.repository) {
            Some(x) if x.digest == img.digest => {}
            Some(x) => {
                return Err(refuse(format!(
                    "with the image {}@{}, and this build's is {}",
                    x.repository, x.digest, img.digest
                )));
            }
            None => merged.images.push(img.clone()),
        }
    }
    merged.artifacts.sort_by(|a, b| a.file.cmp(&b.file));
    Ok(merged)
}

/// `manifest.json`, `SHA256SUMS` and `notes.md` of a release directory, from its manifest. They are
/// written after every file they list, so a reader never finds a listed file missing.
pub(crate) fn write_release_files(store: &dyn Store, dir: &str, m: &Manifest) -> anyhow::Result<()> {
    store.put(
        &format!("{dir}/SHA256SUMS"),
        manifest::sha256sums(&m.artifacts).as_bytes(),
        PutMode::Overwrite,
    )?;
    store.put(
        &format!("{dir}/notes.md"),
        m.notes().as_bytes(),
        PutMode::Overwrite,
    )?;
    store.put(
        &format!("{dir}/manifest.json"),
        &serde_json::to_vec_pretty(m).context("writing the manifest")?,
        PutMode::Overwrite,
    )?;
    Ok(())
}

/// What every release and promotion rewrites at the front of the store.
pub(crate) struct Front<'a> {
    pub(crate) base_url: &'a str,
    pub(crate) apt: &'a AptConfig,
    /// The repositories this run published (their keys' names); without them the store is asked.
    pub(crate) reports: Option<&'a Reports>,
    /// The release to put in the index (replacing the entry of its version).
    pub(crate) release: Manifest,
    /// Keep only this many newest releases per channel (`--keep`, `[publish] keep`): the others leave the
    /// index and their `releases/<version>/` files are deleted.
    pub(crate) keep: Option<usize>,
}

pub struct FrontOut {
    /// The release's channel pointer and the version it names.
    pub pointer: String,
    pub newest: String,
    /// Releases retention removed.
    pub removed: Vec<String>,
}

/// What a release made, for people: its files with their sizes, where its checksums, manifest, notes,
/// pointer, page and install script are (under `base_url`), and its images' pull lines.
#[must_use]
pub fn summary(m: &Manifest, front: &FrontOut, dir: &str, base_url: &str) -> String {
    let rel = |p: &str| format!("{base_url}/{p}");
    let channel = &m.channel;
    let mut human = format!(
        "Release {} {} ({}, channel {channel}):\n  {} files in {}\n",
        m.project,
        m.version,
        m.class.as_str(),
        m.artifacts.len(),
        rel(&format!("{dir}/"))
    );
    for a in &m.artifacts {
        let size = manifest::human_size(a.size);
        human.push_str(&format!("    {}  {size}\n", a.file));
    }
    human.push_str(&format!(
        "  checksums     {}\n  manifest      {}\n  notes         {}\n  pointer       {} → {}\n  release page  {}\n  install       curl -fsSL {} | sh{}\n",
        rel(&format!("{dir}/SHA256SUMS")),
        rel(&format!("{dir}/manifest.json")),
        rel(&format!("{dir}/notes.md")),
        rel(&front.pointer),
        front.newest,
        rel("index.html"),
        rel("install.sh"),
        if channel == ROOT_CHANNEL { String::new() } else { format!(" -s -- --channel {channel}") }
    ));
    human.extend(m.images.iter().map(|i| format!("  image         {}\n", i.pull())));
    human
}

/// The channel pointer's key.
fn pointer_key(channel: &str) -> String {
    if channel == ROOT_CHANNEL {
        "releases/latest".to_owned()
    } else {
        format!("releases/latest-{channel}")
    }
}

/// Under the release lock: the release index with `front.release` in it, every channel's pointer, the
/// page and the install script.
pub(crate) fn refresh_front(
    store: &dyn Store,
    to: &str,
    project: &Project,
    guard: &dyn LockGuard,
    front: &Front<'_>,
) -> anyhow::Result<FrontOut> {
    let release = &front.release;
    let (mut index, tag) = read_index(store, to)?;
    let before: BTreeSet<String> = index.releases.iter().map(|r| r.channel.clone()).collect();
    index.format = manifest::FORMAT;
    index.releases.retain(|r| r.version != release.version);
    index.releases.push(release.clone());
    index.releases.sort_by(|a, b| newer_first(&a.version, &b.version));
    // Retention: the newest `keep` of each channel stay (the index is newest first).
    let mut removed = Vec::new();
    if let Some(keep) = front.keep {
        let mut seen: std::collections::BTreeMap<String, usize> = std::collections::BTreeMap::new();
        index.releases.retain(|r| {
            let n = seen.entry(r.channel.clone()).or_default();
            *n += 1;
            let stays = *n <= keep || r.version == release.version;
            if !stays {
                removed.push(r.version.clone());
            }
            stays
        });
    }
    guard.check()?;
    let index_bytes = serde_json::to_vec_pretty(&index).context("writing the release index")?;
    if store.put_if(INDEX, &index_bytes, tag.as_deref())?.is_none() {
        anyhow::bail!("{INDEX} in {to} changed while this release held the lock; run the release again");
    }
    // Every channel's pointer names its newest release (a promotion moves a release between channels).
    let mut channels: Vec<String> = index.releases.iter().map(|r| r.channel.clone()).collect();
    channels.sort_by_key(|c| (c != ROOT_CHANNEL, c.clone()));
    channels.dedup();
    for c in &channels {
        if let Some(r) = index.releases.iter().find(|r| &r.channel == c) {
            store.put(
                &pointer_key(c),
                format!("{}\n", r.version).as_bytes(),
                PutMode::Overwrite,
            )?;
        }
    }
    for gone in before.iter().filter(|c| !channels.contains(c)) {
        store.delete(&pointer_key(gone))?;
    }
    let newest = index
        .releases
        .iter()
        .find(|r| r.channel == release.channel)
        .map_or_else(|| release.version.clone(), |r| r.version.clone());

    let install_names: Vec<String> = if project.release.install.is_empty() {
        project
            .packages
            .first()
            .map(|p| vec![p.name.to_string()])
            .unwrap_or_default()
    } else {
        project.release.install.clone()
    };
    let default_channel = if channels.iter().any(|c| c == ROOT_CHANNEL) {
        ROOT_CHANNEL
    } else {
        &release.channel
    };
    let script = install_script(
        store,
        project,
        front.reports,
        ScriptInputs {
            base_url: front.base_url,
            channels: &channels,
            default_channel,
            suite: &front.apt.suite,
            component: &front.apt.component,
            origin: &front.apt.origin,
            index: &index,
            packages: install_names,
            tree: if default_channel == ROOT_CHANNEL {
                String::new()
            } else {
                format!("{default_channel}/")
            },
        },
    )?;
    let template = match &project.release.page_template {
        Some(t) => {
            let path = project.dir.join(t);
            Some(std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read the page template {} ([release] page-template)",
                    path.display()
                )
            })?)
        }
        None => None,
    };
    let page = page::Page {
        project: project.name.clone(),
        base_url: front.base_url.to_owned(),
        latest: index
            .releases
            .iter()
            .find(|r| r.channel == ROOT_CHANNEL)
            .map(|r| r.version.clone()),
        channels: page::channels(&index, &|c| install_methods(&script, c)),
        generated: release.date.clone(),
    };
    let html = page::render(&page, template.as_deref())?;
    guard.check()?;
    store.put("install.sh", script.render().as_bytes(), PutMode::Overwrite)?;
    store.put("index.html", html.as_bytes(), PutMode::Overwrite)?;
    // The files of releases the index no longer lists, once nothing the front offers names them.
    for v in &removed {
        guard.check()?;
        for m in store.list(&format!("releases/{v}/"))? {
            store.delete(&m.key)?;
        }
    }
    Ok(FrontOut {
        pointer: pointer_key(&release.channel),
        newest,
        removed,
    })
}

struct ScriptInputs<'a> {
    base_url: &'a str,
    channels: &'a [String],
    default_channel: &'a str,
    suite: &'a str,
    component: &'a str,
    origin: &'a str,
    index: &'a Index,
    packages: Vec<String>,
    /// The published channel's tree in the store: `` (root) or `dev/`.
    tree: String,
}

/// The install script's values, from what the store holds (key hashes read back as clients will
/// download them): every release and promotion writes it, whichever repositories that run published.
fn install_script(
    store: &dyn Store,
    project: &Project,
    reports: Option<&Reports>,
    i: ScriptInputs<'_>,
) -> anyhow::Result<Script> {
    let sha = |key: &str| -> anyhow::Result<Option<String>> {
        Ok(store.get(key)?.map(|bytes| Checksums::of_sha256(&bytes).sha256))
    };
    // The keys are the same bytes in every channel's tree; read them from the default channel's.
    let tree = i.tree;
    // A feed's key: the one this run published, else the first the tree has (usign's 16-digit name).
    let key_in = |dir: &str,
                  named: Option<String>,
                  fit: &dyn Fn(&str) -> bool|
     -> anyhow::Result<Option<(String, String)>> {
        let name = match named {
            Some(n) => Some(n),
            None => store
                .list(&format!("{tree}{dir}/"))?
                .into_iter()
                .filter_map(|m| m.key.rsplit('/').next().map(str::to_owned))
                .find(|n| fit(n)),
        };
        Ok(match name {
            Some(n) => sha(&format!("{tree}{dir}/{n}"))?.map(|h| (n, h)),
            None => None,
        })
    };
    let rpm_repos = {
        // Without `[rpm] repos`, the repositories the rpm-md state has (`linux-<arch>` by default).
        let configured = if !project.rpm.repos.is_empty() {
            project.rpm.repos.clone()
        } else if tree.is_empty() {
            wharf_publish::rpmmd::repositories(store)?
        } else {
            wharf_publish::rpmmd::repositories(&Prefixed::new(store, tree.trim_end_matches('/'))?)?
        };
        let mut repos = Vec::new();
        for r in configured {
            if store.head(&format!("{tree}{r}/repodata/repomd.xml"))?.is_some() {
                repos.push(r);
            }
        }
        repos
    };
    // What this run published needs no look; otherwise the key and a signed suite.
    let apt = reports.is_some_and(|r| r.get(RepoKind::Apt).is_some())
        || (store.head(KEYRING_KEY)?.is_some()
            && (store.head(&format!("dists/{}/InRelease", i.suite))?.is_some()
                || store.head(&format!("dists/{}/Release", i.suite))?.is_some()));
    Ok(Script {
        project: project.name.clone(),
        packages: i.packages,
        base_url: i.base_url.to_owned(),
        channels: i.channels.to_vec(),
        default_channel: i.default_channel.to_owned(),
        root_channel: ROOT_CHANNEL.to_owned(),
        root_suite: i.suite.to_owned(),
        // The index is newest first: the first release of each channel is its newest. SHA256SUMS is a
        // function of the manifest's artifacts, so no download is needed.
        pins: i
            .channels
            .iter()
            .filter_map(|c| i.index.releases.iter().find(|r| &r.channel == c))
            .map(|r| {
                let sums = manifest::sha256sums(&r.artifacts);
                (r.version.clone(), Checksums::of_sha256(sums.as_bytes()).sha256)
            })
            .collect(),
        apt_component: apt.then(|| i.component.to_owned()),
        origin: i.origin.to_owned(),
        openpgp_keyring_sha256: if apt {
            sha(KEYRING_KEY)?.unwrap_or_default()
        } else {
            String::new()
        },
        rpm_key_sha256: if rpm_repos.is_empty() {
            String::new()
        } else {
            sha(&format!("{tree}{}", key_file(i.origin)))?.unwrap_or_default()
        },
        rpm_repos,
        apk_key: key_in(
            "apk/keys",
            reports.and_then(|r| r.get(RepoKind::Apk)).map(|a| a.key.clone()),
            &|_| true,
        )?,
        apk3_key: key_in(
            "apk3/keys",
            reports
                .and_then(|r| r.get(RepoKind::Apk3))
                .map(|a| format!("{}.pem", a.key)),
            &|n| n.ends_with(".pem"),
        )?,
        opkg_key: key_in(
            "opkg/keys",
            reports.and_then(|r| r.get(RepoKind::Opkg)).map(|o| o.key.clone()),
            &|n| n.len() == 16,
        )?,
        pacman_key: key_in(
            "pacman/keys",
            reports
                .and_then(|r| r.get(RepoKind::Pacman))
                .map(|p| format!("{}.asc", p.key)),
            &|n| n.ends_with(".asc"),
        )?,
    })
}

/// The page's install instructions for one channel.
fn install_methods(s: &Script, channel: &str) -> Vec<Method> {
    let root = channel == ROOT_CHANNEL;
    let tree = if root {
        s.base_url.clone()
    } else {
        format!("{}/{channel}", s.base_url)
    };
    let flag = if root {
        String::new()
    } else {
        format!(" -s -- --channel {channel}")
    };
    let pkgs = s.packages.join(" ");
    let mut m = vec![Method {
        family: "script".into(),
        title: "Any Linux: the install script (detects apt, dnf, zypper, apk, opkg, pacman; verifies every download)"
            .into(),
        commands: format!("curl -fsSL {}/install.sh | sh{flag}", s.base_url),
    }];
    if let Some(component) = &s.apt_component {
        let suite = if root {
            s.root_suite.clone()
        } else {
            channel.to_owned()
        };
        m.push(Method {
            family: "apt".into(),
            title: "Debian and Ubuntu (apt)".into(),
            commands: format!(
                "sudo install -d -m 0755 /etc/apt/keyrings\nsudo curl -fsSLo /etc/apt/keyrings/{o}.gpg {b}/{KEYRING_KEY}\nprintf 'Types: deb\\nURIs: {b}\\nSuites: {suite}\\nComponents: {component}\\nSigned-By: /etc/apt/keyrings/{o}.gpg\\n' | sudo tee /etc/apt/sources.list.d/{o}.sources\nsudo apt-get update && sudo apt-get install {pkgs}",
                o = s.origin,
                b = s.base_url
            ),
        });
    }
    if let Some(repo) = s.rpm_repos.first() {
        m.push(Method {
            family: "dnf".into(),
            title: "Fedora, RHEL, AlmaLinux, openSUSE (dnf, zypper)".into(),
            commands: format!(
                "sudo curl -fsSLo /etc/yum.repos.d/{o}.repo {tree}/{repo}/{o}.repo   # zypper: /etc/zypp/repos.d/\nsudo dnf install {pkgs}\n# repositories: {}",
                s.rpm_repos.join(", "),
                o = s.origin
            ),
        });
    }
    if let Some((key, _)) = &s.apk_key {
        m.push(Method {
            family: "apk".into(),
            title: "Alpine (apk)".into(),
            commands: format!(
                "wget -O /etc/apk/keys/{key} {tree}/apk/keys/{key}\necho {tree}/apk >> /etc/apk/repositories\napk update && apk add {pkgs}"
            ),
        });
    }
    if let Some((key, _)) = &s.apk3_key {
        m.push(Method {
            family: "apk3".into(),
            title: "OpenWrt 25.12 and later (apk v3)".into(),
            commands: format!(
                "wget -O /etc/apk/keys/{key} {tree}/apk3/keys/{key}\necho {tree}/apk3/$(cat /etc/apk/arch)/packages.adb >> /etc/apk/repositories.d/customfeeds.list\napk update && apk add {pkgs}"
            ),
        });
    }
    if let Some((key, _)) = &s.opkg_key {
        m.push(Method {
            family: "opkg".into(),
            title: "OpenWrt 24.10 and earlier (opkg)".into(),
            commands: format!(
                "wget -O /etc/opkg/keys/{key} {tree}/opkg/keys/{key}\necho \"src/gz {o} {tree}/opkg/$(opkg print-architecture | awk 'END {{ print $2 }}')\" >> /etc/opkg/customfeeds.conf\nopkg update && opkg install {pkgs}",
                o = s.origin
            ),
        });
    }
    if let Some((key, _)) = &s.pacman_key {
        m.push(Method {
            family: "pacman".into(),
            title: "Arch Linux (pacman)".into(),
            commands: format!(
                "curl -fsSLo /tmp/{o}.asc {tree}/pacman/keys/{key}
sudo pacman-key --add /tmp/{o}.asc && sudo pacman-key --lsign-key {fp}
printf '[{o}]\\nServer = {tree}/pacman/$arch\\n' | sudo tee -a /etc/pacman.conf
sudo pacman -Sy {pkgs}",
                o = s.origin,
                fp = key.trim_end_matches(".asc")
            ),
        });
    }
    m.push(Method {
        family: "tarball".into(),
        title: "Without a package manager (tarball)".into(),
        commands: format!(
            "sh install.sh --method tarball{}   # or download from the table below and check it with sha256sum -c SHA256SUMS --ignore-missing",
            if root { String::new() } else { format!(" --channel {channel}") }
        ),
    });
    m
}

/// Moves the release holding `name` `version` (if it was released) from channel `from` to `to`, under the
/// release lock: its manifest and notes, the release index, the pointers, the page and install.sh, as
/// releasing it into `to` would have written them. Returns the release's version.
#[allow(clippy::too_many_arguments)]
pub fn promote_release(
    store: &dyn Store,
    to_store: &str,
    project: &Project,
    txn: &wharf_publish::txn::TxnOptions,
    apt: &AptConfig,
    reports: &Reports,
    (name, version): (&str, &str),
    (from, to): (&str, &str),
    base_url: &str,
) -> anyhow::Result<Option<String>> {
    let guard = store.lock(LOCK, txn.lock_wait)?;
    let (index, _) = read_index(store, to_store)?;
    let Some(mut manifest) = index
        .releases
        .into_iter()
        .filter(|r| r.channel == from)
        .find(|r| {
            r.version == version
                || r.artifacts
                    .iter()
                    .any(|a| a.package == name && a.version == version)
        })
    else {
        return Ok(None);
    };
    manifest.channel = to.to_owned();
    let dir = format!("releases/{}", manifest.version);
    guard.check()?;
    write_release_files(store, &dir, &manifest)?;
    refresh_front(
        store,
        to_store,
        project,
        &*guard,
        &Front {
            base_url: base_url.trim_end_matches('/'),
            apt,
            reports: Some(reports),
            release: manifest.clone(),
            keep: txn.keep,
        },
    )?;
    Ok(Some(manifest.version))
}

/// Every channel with a tree of its own in the store: those publishes recorded (`.wharf/channels/`), the
/// apt suites other than the root's (each channel is one), and the release index's channels.
pub fn channels(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    for m in store.list(crate::publish::CHANNELS)? {
        if let Some(c) = m.key.strip_prefix(crate::publish::CHANNELS) {
            out.insert(c.to_owned());
        }
    }
    out.extend(wharf_publish::apt::suites(store)?);
    if let Some(bytes) = store.get("releases/index.json")?
        && let Ok(index) = serde_json::from_slice::<wharf_release::page::Index>(&bytes)
    {
        out.extend(index.releases.into_iter().map(|r| r.channel));
    }
    Ok(out
        .into_iter()
        .filter(|c| c != ROOT_CHANNEL && wharf_publish::check_name("channel", c).is_ok())
        .collect())
}
