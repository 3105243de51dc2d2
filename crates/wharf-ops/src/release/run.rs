//! `wharf release` as one call: every package and tarball of one version, then — under the release lock,
//! after a deciding dry run of the publish has found every conflict — the repositories, the release
//! directory, the release index, the channel pointers, the page and the install script (design.md §5).

use std::path::{Path, PathBuf};

use anyhow::Context;
use wharf_config::Project;
use wharf_core::{Format, SourceDate, Version};
use wharf_publish::txn::TxnOptions;
use wharf_release::classify::Class;
use wharf_release::manifest::{self, Manifest};
use wharf_store::{LockGuard, PutMode, Store, StoreUrl};

use super::{
    DRAFT, Front, FrontOut, LOCK, artifact, merge, newer_first, package_changelog, read_index, read_manifest,
    refresh_front, write_release_files,
};
use crate::Reporter;
use crate::image::{self, Pusher};
use crate::keys::Keys;
use crate::package;
use crate::publish::{PublishOptions, Reports, plan_text, publish};
use crate::registry::{Connect, Reference};
use crate::settings::{self, Given};
use crate::version::What;

/// One release: what (from git or `--version`), of which formats and targets, into which store.
pub struct ReleaseOptions<'a> {
    pub what: &'a What,
    /// The channel its class releases into.
    pub channel: &'a str,
    pub formats: &'a [Format],
    /// Targets (empty: `[release] targets`).
    pub targets: &'a [String],
    pub store: &'a dyn Store,
    /// The store's location.
    pub to: &'a StoreUrl,
    /// `--base-url`, if given.
    pub base_url: Option<&'a str>,
    pub keys: &'a Keys,
    pub txn: &'a TxnOptions,
    /// The packages' and manifest's one clock.
    pub date: SourceDate,
    /// The repositories' date (apt's Valid-Until counts from it).
    pub now: SourceDate,
    /// Where `dist/` is.
    pub cwd: &'a Path,
    /// A draft: the release directory is written, but the repositories, the index, the pointers, the page
    /// and install.sh are left as they are until [`publish_draft`]; its images are pushed untagged.
    pub draft: bool,
    /// How to reach `[image] push`'s registries.
    pub connect: &'a Connect,
}

/// What a release did.
pub enum Released {
    /// A dry run: the plan, for people, and what it decided.
    Planned {
        plan: String,
        manifest: Box<Manifest>,
        reports: Reports,
    },
    /// A draft: its directory written, nothing else changed.
    Draft {
        manifest: Box<Manifest>,
        /// `releases/<version>`.
        dir: String,
    },
    /// The release, merged with what other machines released of the version.
    Done {
        manifest: Box<Manifest>,
        reports: Reports,
        front: FrontOut,
        /// `releases/<version>`.
        dir: String,
        base_url: String,
    },
}

/// The channel a release of this class goes to.
pub fn channel_of(project: &Project, class: Class) -> String {
    let c = &project.release.channels;
    match class {
        Class::Stable => &c.stable,
        Class::Prerelease => &c.prerelease,
        Class::Development => &c.development,
        Class::Extra => &c.extra,
    }
    .clone()
}

/// Packages, publishes and releases `o.what` of `project` (see the module doc).
pub fn release(
    project: &mut Project,
    o: &ReleaseOptions<'_>,
    out: &dyn Reporter,
) -> anyhow::Result<Released> {
    let what = o.what;
    let to = &o.to.to_string();
    let version: Version = what
        .version
        .parse()
        .with_context(|| format!("`{}` cannot be a package version", what.version))?;
    let (earlier, _) = read_index(o.store, to)?;
    if project.release.package_changelog {
        // This release's changes, then every earlier release's from the index (newest first), then the
        // configured [[changelog]] entries.
        let maintainer = project
            .packages
            .first()
            .map(|p| p.meta.maintainer.clone())
            .unwrap_or_default();
        let mut entries = vec![package_changelog(
            &what.version,
            &what.changelog,
            &maintainer,
            o.date.unix(),
        )];
        for r in &earlier.releases {
            if newer_first(&r.version, &what.version) == std::cmp::Ordering::Greater {
                let time = SourceDate::parse_rfc3339(&r.date).map_or(0, SourceDate::unix);
                entries.push(package_changelog(&r.version, &r.changelog, &maintainer, time));
            }
        }
        for template in &mut project.packages {
            template.meta.changelog.splice(0..0, entries.iter().cloned());
        }
    }
    for template in &mut project.packages {
        template.version = version.clone();
    }
    let project = &*project;
    let targets = if o.targets.is_empty() {
        project.release.targets.clone()
    } else {
        o.targets.to_vec()
    };
    // A dry run builds into a scratch directory that goes with it.
    let scratch = if o.txn.dry_run {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let dist = scratch
        .as_ref()
        .map_or_else(|| o.cwd.join("dist"), |d| d.path().to_path_buf())
        .join(&what.version);
    let options = package::BuildOptions {
        formats: o.formats,
        targets: &targets,
        out_dir: &dist,
        date: o.date,
        keys: o.keys.ring(),
    };
    let built = package::build(project, &options, out)?;
    // The project's own archives replace the per-package tarballs.
    let mut tarballs = if project.release.archives.is_empty() {
        package::build_tarballs(project, &targets, &dist, o.date, out)?
    } else {
        package::build_archives(project, &targets, &dist, &what.version, o.date, out)?
    };
    // Raw binaries are release assets like the tarballs: listed, summed, never published to a repository.
    tarballs.extend(package::build_binaries(project, &targets, &dist, &what.version)?);
    for b in built.iter().chain(&tarballs) {
        out.status(
            "Packaged",
            &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.kind()),
        );
    }
    let images = release_image(project, o, &targets, out)?;

    // The release directory's manifest: this build's artifacts, merged below with what other build
    // machines have already released of this version.
    let dir = format!("releases/{}", what.version);
    let artifacts = built
        .iter()
        .chain(&tarballs)
        .map(artifact)
        .collect::<anyhow::Result<Vec<_>>>()?;
    let ours = Manifest {
        format: manifest::FORMAT,
        project: project.name.clone(),
        version: what.version.clone(),
        class: what.class,
        channel: o.channel.to_owned(),
        tag: what.tag.clone(),
        commit: what.commit.clone(),
        previous: what.previous.clone(),
        date: o.date.rfc3339(),
        artifacts: artifacts.clone(),
        changelog: what.changelog.clone(),
        images: images.as_ref().map(|i| i.listed.clone()).unwrap_or_default(),
    };

    // One lock around the whole release, so that releases of one store (several build machines releasing
    // the same version, a CI matrix) run one after another: every conflict is found before anything is
    // written, and the release directory, index, pointers, page and script are merged, not raced.
    // (A dry run takes no lock: it writes nothing, the lock object included.)
    let guard: Option<Box<dyn LockGuard>> = if o.txn.dry_run {
        None
    } else {
        Some(o.store.lock(LOCK, o.txn.lock_wait)?)
    };
    let existing = read_manifest(o.store, &dir, to)?;
    let is_draft = o.store.head(&format!("{dir}/{DRAFT}"))?.is_some();
    if o.draft && existing.is_some() && !is_draft {
        anyhow::bail!(
            "release {} is published already; a draft cannot take its place",
            what.version
        );
    }
    let manifest = merge(existing.as_ref(), &ours, to)?;

    // Every repository conflict too, before anything is written: the same publish, deciding only.
    let given = Given {
        base_url: o.base_url,
        channel: Some(o.channel.to_owned()),
        ..Given::default()
    };
    let s = settings::resolve(Some(project), o.to, given, o.now)?;
    let packages: Vec<PathBuf> = built.iter().map(|b| b.path.clone()).collect();
    let publish_options = |txn| PublishOptions {
        store: o.store,
        txn,
        keys: o.keys.ring(),
        settings: &s,
        prune: &[],
        packages: &packages,
    };
    let deciding = TxnOptions {
        dry_run: true,
        ..o.txn.clone()
    };
    let decided = publish(&publish_options(&deciding)).with_context(|| {
        format!(
            "release {} cannot be published; nothing was written",
            what.version
        )
    })?;
    let Some(guard) = guard else {
        let mut plan = format!(
            "dry run: nothing written\n{}release {}: write {} file(s) in {dir}/, then SHA256SUMS, notes.md, manifest.json\n",
            plan_text(&decided),
            what.version,
            artifacts.len()
        );
        for a in &artifacts {
            plan.push_str(&format!("  write  {dir}/{}\n", a.file));
        }
        for i in &ours.images {
            plan.push_str(&format!(
                "  push   {}@{} (tags {})\n",
                i.repository,
                i.digest,
                i.tags.join(", ")
            ));
        }
        plan.push_str(
            "front: releases/index.json, every channel's releases/latest pointer, index.html, install.sh\n",
        );
        return Ok(Released::Planned {
            plan,
            manifest: Box::new(manifest),
            reports: decided,
        });
    };
    guard.check()?;
    // The images' blobs and manifests, by digest: no tag names them until the release is done.
    let pusher = match &images {
        Some(i) => {
            let p = Pusher::new(&i.references, o.connect, i.base.as_ref())?;
            p.push(&i.image, i.base.as_ref(), out)?;
            Some(p)
        }
        None => None,
    };

    let reports = if o.draft {
        // The marker first: a draft that stops half-way stays a draft, invisible.
        o.store.put(&format!("{dir}/{DRAFT}"), b"", PutMode::Overwrite)?;
        None
    } else {
        // The repositories first: a release's pointer never names packages the repositories lack.
        let reports = publish(&publish_options(o.txn))?;
        for k in reports.each() {
            out.status(
                "Published",
                &format!("{} package(s) to the {} repository", k.added.len(), k.kind),
            );
        }
        Some(reports)
    };
    write_assets(
        o.store,
        project,
        &dir,
        &built,
        &tarballs,
        &artifacts,
        existing.as_ref(),
    )?;
    guard.check()?;
    write_release_files(o.store, &dir, &manifest)?;
    let Some(reports) = reports else {
        out.status("Drafted", &format!("release {} in {dir}/", what.version));
        return Ok(Released::Draft {
            manifest: Box::new(manifest),
            dir,
        });
    };
    o.store.put(
        "releases/manifest.schema.json",
        manifest::SCHEMA.as_bytes(),
        PutMode::Overwrite,
    )?;
    let apt = settings::apt_config(Some(project));
    let front = refresh_front(
        o.store,
        to,
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
    if is_draft {
        o.store.delete(&format!("{dir}/{DRAFT}"))?;
    }
    drop(guard);
    if let (Some(p), Some(i)) = (&pusher, &images) {
        p.tag(&i.image.index, Some(&i.tags), out)?;
    }
    for v in &front.removed {
        out.status(
            "Removed",
            &format!("release {v} (keep {})", o.txn.keep.unwrap_or_default()),
        );
    }
    Ok(Released::Done {
        manifest: Box::new(manifest),
        reports,
        front,
        dir,
        base_url: s.base_url,
    })
}

/// A release's image: built, and where it goes.
struct ReleaseImage {
    image: image::Image,
    references: Vec<Reference>,
    base: Option<Reference>,
    tags: Vec<String>,
    /// As the manifest lists it.
    listed: Vec<manifest::Image>,
}

/// The image of the release's targets when `[image] push` names registries (every reference and tag
/// checked before anything is built).
fn release_image(
    project: &Project,
    o: &ReleaseOptions<'_>,
    targets: &[String],
    out: &dyn Reporter,
) -> anyhow::Result<Option<ReleaseImage>> {
    if project.image.push.is_empty() {
        return Ok(None);
    }
    let references = project
        .image
        .push
        .iter()
        .map(|r| {
            let reference = Reference::parse(r)?;
            if r.rsplit('/').next().is_some_and(|last| last.contains(':')) {
                anyhow::bail!(
                    "[image] push `{r}`: name the repository without a tag; [image] tags gives the tags"
                );
            }
            Ok(reference)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let tags = image::release_tags(project, &o.what.version, o.channel)?;
    let built = image::build(
        project,
        &image::Options {
            targets,
            version: &o.what.version,
            revision: o.what.commit.as_deref(),
            date: o.date,
            connect: o.connect,
        },
        out,
    )?;
    let platforms: Vec<manifest::ImagePlatform> = built
        .platforms
        .iter()
        .map(|p| manifest::ImagePlatform {
            platform: p
                .manifest
                .descriptor
                .platform
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            digest: p.manifest.descriptor.digest.clone(),
        })
        .collect();
    let listed = references
        .iter()
        .map(|r| manifest::Image {
            repository: r.repository(),
            digest: built.index.descriptor.digest.clone(),
            tags: tags.clone(),
            platforms: platforms.clone(),
        })
        .collect();
    Ok(Some(ReleaseImage {
        image: built,
        references,
        base: image::base_repository(project),
        tags,
        listed,
    }))
}

/// This build's files (a file already listed holds these bytes: `merge` checked; one left unlisted by a
/// release that stopped half-way is replaced), each with its `.sha256` under `checksum-files`.
fn write_assets(
    store: &dyn Store,
    project: &Project,
    dir: &str,
    built: &[package::Built],
    tarballs: &[package::Built],
    artifacts: &[manifest::Artifact],
    existing: Option<&Manifest>,
) -> anyhow::Result<()> {
    let listed = |file: &str| existing.is_some_and(|m| m.artifacts.iter().any(|a| a.file == file));
    for (b, a) in built.iter().chain(tarballs).zip(artifacts) {
        if !listed(&a.file) {
            store.put_file(&format!("{dir}/{}", a.file), &b.path, PutMode::Overwrite)?;
        }
        if project.release.checksum_files {
            store.put(
                &format!("{dir}/{}.sha256", a.file),
                format!("{}  {}\n", a.sha256, a.file).as_bytes(),
                PutMode::Overwrite,
            )?;
        }
    }
    Ok(())
}
