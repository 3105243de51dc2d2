//! Draft releases (`wharf release --draft`, then `wharf release publish VERSION` or `wharf release delete
//! VERSION`): a draft's directory holds its files, sums, notes and manifest and the [`DRAFT`] marker; no
//! repository, index, pointer, page or install script knows it. Publishing one publishes its packages into
//! the repositories of its channel, puts it in the index, the pointers, the page and install.sh, and
//! removes the marker — under the release lock, as a release does — then tags its images, which the draft
//! pushed by digest only.

use anyhow::{Context as _, bail};
use wharf_config::Project;
use wharf_core::SourceDate;
use wharf_publish::txn::TxnOptions;
use wharf_release::manifest::Manifest;
use wharf_store::{Store, StoreUrl};

use super::{DRAFT, Front, FrontOut, LOCK, read_manifest, refresh_front};
use crate::Reporter;
use crate::keys::Keys;
use crate::publish::{PublishOptions, Reports, format_of, publish};
use crate::settings::{self, Given};

/// A draft to publish or delete.
pub struct DraftOptions<'a> {
    pub store: &'a dyn Store,
    pub to: &'a StoreUrl,
    pub version: &'a str,
    pub txn: &'a TxnOptions,
    /// `--base-url`, if given.
    pub base_url: Option<&'a str>,
    /// The repositories' date.
    pub now: SourceDate,
    /// How to reach the registries of the draft's images.
    pub connect: &'a crate::registry::Connect,
}

/// What publishing a draft did.
pub struct Published {
    pub manifest: Manifest,
    pub reports: Reports,
    pub front: FrontOut,
    pub dir: String,
    pub base_url: String,
}

/// The release directory of a draft, refused when `version` is not one.
fn draft_dir(store: &dyn Store, version: &str) -> anyhow::Result<String> {
    let dir = format!("releases/{version}");
    if store.head(&format!("{dir}/{DRAFT}"))?.is_none() {
        let what = if store.head(&format!("{dir}/manifest.json"))?.is_some() {
            "is published already"
        } else {
            "was never released"
        };
        bail!("release {version} is no draft: it {what}");
    }
    Ok(dir)
}

/// Publishes the draft `o.version`: its packages into its channel's repositories, then the front.
/// `keys` loads the keys of the kinds the draft's packages are published with.
pub fn publish_draft(
    project: &Project,
    o: &DraftOptions<'_>,
    keys: &dyn Fn(&[wharf_core::Signer]) -> anyhow::Result<Keys>,
    out: &dyn Reporter,
) -> anyhow::Result<Published> {
    let to = o.to.to_string();
    let guard = o.store.lock(LOCK, o.txn.lock_wait)?;
    let dir = draft_dir(o.store, o.version)?;
    let manifest =
        read_manifest(o.store, &dir, &to)?.with_context(|| format!("{dir} has no manifest.json"))?;
    // The packages, as the draft holds them, read back into a scratch directory to be published.
    let scratch = tempfile::tempdir()?;
    let mut packages = Vec::new();
    for a in &manifest.artifacts {
        let local = scratch.path().join(&a.file);
        if format_of(&local).is_none() {
            continue;
        }
        let key = format!("{dir}/{}", a.file);
        let bytes = o
            .store
            .get(&key)?
            .with_context(|| format!("{key} is listed but not there"))?;
        std::fs::write(&local, bytes).with_context(|| format!("cannot write {}", local.display()))?;
        packages.push(local);
    }
    let formats: Vec<wharf_core::Format> = packages.iter().filter_map(|p| format_of(p)).collect();
    let keys = keys(&crate::keys::signers(&formats))?;
    let given = Given {
        base_url: o.base_url,
        channel: Some(manifest.channel.clone()),
        ..Given::default()
    };
    let s = settings::resolve(Some(project), o.to, given, o.now)?;
    guard.check()?;
    let reports = publish(&PublishOptions {
        store: o.store,
        txn: o.txn,
        keys: keys.ring(),
        settings: &s,
        prune: &[],
        packages: &packages,
    })?;
    o.store.put(
        "releases/manifest.schema.json",
        wharf_release::manifest::SCHEMA.as_bytes(),
        wharf_store::PutMode::Overwrite,
    )?;
    let apt = settings::apt_config(Some(project));
    let front = refresh_front(
        o.store,
        &to,
        project,
        &*guard,
        &Front {
            base_url: &s.base_url,
            apt: &apt,
            reports: Some(&reports),
            release: manifest.clone(),
            keep: o.txn.keep,
        },
    )?;
    o.store.delete(&format!("{dir}/{DRAFT}"))?;
    drop(guard);
    // The images were pushed by digest with the draft: now their tags.
    for i in &manifest.images {
        // The configured spelling, if it names this repository, says whether it is plain HTTP.
        let configured = project
            .image
            .push
            .iter()
            .filter_map(|p| crate::registry::Reference::parse(p).ok())
            .find(|r| r.repository() == i.repository);
        let reference = match configured {
            Some(r) => r,
            None => crate::registry::Reference::parse(&i.repository)?,
        };
        crate::image::Pusher::new(&[reference], o.connect, None)?.retag(&i.digest, &i.tags, out)?;
    }
    out.status("Published", &format!("release {} (was a draft)", o.version));
    Ok(Published {
        manifest,
        reports,
        front,
        dir,
        base_url: s.base_url,
    })
}

/// Deletes the draft `o.version`: every object of its directory, the marker last.
pub fn delete_draft(o: &DraftOptions<'_>, out: &dyn Reporter) -> anyhow::Result<Vec<String>> {
    let _guard = o.store.lock(LOCK, o.txn.lock_wait)?;
    let dir = draft_dir(o.store, o.version)?;
    let marker = format!("{dir}/{DRAFT}");
    let mut deleted = Vec::new();
    for m in o.store.list(&format!("{dir}/"))? {
        if m.key != marker {
            o.store.delete(&m.key)?;
            deleted.push(m.key);
        }
    }
    o.store.delete(&marker)?;
    deleted.push(marker);
    out.status("Deleted", &format!("draft {}", o.version));
    Ok(deleted)
}
