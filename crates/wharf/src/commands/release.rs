//! `wharf release`: the version from git, every package and tarball, the repositories, then the release
//! directory, the release index, the channel pointer, the page and the install script (design.md §5).

use std::path::PathBuf;

use anyhow::Context;
use serde_json::json;
use wharf_core::{SourceDate, Version};
use wharf_publish::txn::TxnOptions;
use wharf_release::classify::Class;
use wharf_release::manifest::{self, Manifest};
use wharf_store::{LockGuard, PutMode, Store};

use super::{
    ROOT_CHANNEL, apk_digest, apt_config, channel_tree, display, given_base_url, kind_keys_for, load_project,
    md_compression, open_store_to_write, txn_options,
};
use crate::cli::{Format, ReleaseArgs};
use crate::env::Env;
use crate::ops::package::{self};
use crate::ops::publish::{PublishOptions, default_base_url, plan_text, publish, store_root};
use crate::ops::release::{
    Front, LOCK, artifact, merge, newer_first, package_changelog, read_index, read_manifest, refresh_front,
    write_release_files,
};
use crate::ops::version;
use crate::output::Output;

pub fn run(args: &ReleaseArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let mut project = load_project(&args.project, env, out)?;
    let what = version::what_to_release(&project, args.version.as_deref(), out)?;
    let channel = match what.class {
        Class::Stable => &project.release.channels.stable,
        Class::Prerelease => &project.release.channels.prerelease,
        Class::Development => &project.release.channels.development,
        Class::Extra => &project.release.channels.extra,
    }
    .clone();
    // One clock for the packages and the manifest: SOURCE_DATE_EPOCH, else the commit's time, so releasing
    // the same commit twice gives the same bytes. (The repository indexes are dated at publishing.)
    let date = env
        .source_date
        .or_else(|| what.commit_time.and_then(|t| SourceDate::from_unix(t).ok()))
        .unwrap_or_else(SourceDate::now);
    out.status(
        "Releasing",
        &format!(
            "{} {} ({}, channel {channel}{})",
            project.name.clone(),
            what.version,
            what.class.as_str(),
            what.tag
                .as_ref()
                .map_or_else(String::new, |t| format!(", tag {t}"))
        ),
    );
    let version: Version = what
        .version
        .parse()
        .with_context(|| format!("`{}` cannot be a package version", what.version))?;
    let to = args
        .to
        .clone()
        .or_else(|| project.publish.to.clone())
        .unwrap_or_else(|| "public".into());
    let base_url =
        given_base_url(args.base_url.as_deref(), Some(&project))?.unwrap_or_else(|| default_base_url(&to));
    let store = open_store_to_write(&to, &args.store, Some(&project), env, out)?;
    if to.starts_with("s3://") && args.base_url.is_none() && project.publish.base_url.is_none() {
        out.warn("no --base-url (or [publish] base-url): the page, install.sh and .repo files name the s3:// URL, which clients cannot read; pass the public URL of the bucket");
    }
    let (earlier, _) = read_index(&store, &to)?;
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
            date.unix(),
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

    let formats = package::formats_to_build(&project, &args.formats);
    let has = |f: Format| formats.contains(&f);
    let txn = txn_options(&args.txn, Some(&project));
    let keys = kind_keys_for(
        &args.keys,
        Some(&project),
        env,
        out,
        [
            has(Format::Deb) || has(Format::Rpm),
            has(Format::Ipk),
            has(Format::Apk),
            has(Format::Apk3),
        ],
        txn.dry_run,
    )?;
    let targets = if args.targets.is_empty() {
        project.release.targets.clone()
    } else {
        args.targets.clone()
    };
    // A dry run builds into a scratch directory that goes with it.
    let scratch = if txn.dry_run {
        Some(tempfile::tempdir()?)
    } else {
        None
    };
    let dist = scratch
        .as_ref()
        .map_or_else(|| env.cwd.join("dist"), |d| d.path().to_path_buf())
        .join(&what.version);
    let mut warn = |w: String| out.warn(&w);
    let built = package::build(
        &project,
        &package::BuildOptions {
            formats: &formats,
            targets: &targets,
            out_dir: &dist,
            date,
            key: keys.openpgp.as_ref(),
            usign: keys.usign.as_ref(),
            apk: keys.apk.as_ref(),
            apk3: keys.apk3.as_ref(),
        },
        &mut warn,
    )?;
    let tarballs = package::build_tarballs(&project, &targets, &dist, date, &mut warn)?;
    for b in built.iter().chain(&tarballs) {
        out.status(
            "Packaged",
            &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.kind()),
        );
    }

    // The release directory's manifest: this build's artifacts, merged below with what other build
    // machines have already released of this version.
    let dir = format!("releases/{}", what.version);
    let mut artifacts = Vec::new();
    for b in built.iter().chain(&tarballs) {
        artifacts.push(artifact(b)?);
    }
    let ours = Manifest {
        format: manifest::FORMAT,
        project: project.name.clone(),
        version: what.version.clone(),
        class: what.class,
        channel: channel.clone(),
        tag: what.tag.clone(),
        commit: what.commit.clone(),
        previous: what.previous.clone(),
        date: date.rfc3339(),
        artifacts: artifacts.clone(),
        changelog: what.changelog.clone(),
    };

    // One lock around the whole release, so that releases of one store (several build machines releasing
    // the same version, a CI matrix) run one after another: every conflict is found before anything is
    // written, and the release directory, index, pointers, page and script are merged, not raced.
    // (A dry run takes no lock: it writes nothing, the lock object included.)
    let guard: Option<Box<dyn LockGuard>> = if txn.dry_run {
        None
    } else {
        Some(store.lock(LOCK, txn.lock_wait)?)
    };
    let existing = read_manifest(&store, &dir, &to)?;
    let manifest = merge(existing.as_ref(), &ours, &to)?;

    // Every repository conflict too, before anything is written: the same publish, deciding only.
    let apt = apt_config(Some(&project));
    let tree = channel_tree(Some(channel.clone()));
    let publish_channel = tree.as_deref();
    let suite = publish_channel.map_or_else(|| apt.suite.clone(), str::to_owned);
    let packages: Vec<PathBuf> = built.iter().map(|b| b.path.clone()).collect();
    let publish_options = |txn| PublishOptions {
        store: &store,
        to: &to,
        txn,
        channel: publish_channel,
        key: keys.openpgp.as_ref(),
        apt: &apt,
        suite: &suite,
        component: &apt.component,
        rpm_repos: &project.rpm.repos,
        metadata_compression: md_compression(Some(&project)),
        base_url: Some(&base_url),
        sign_unsigned: false,
        usign: keys.usign.as_ref(),
        apk: keys.apk.as_ref(),
        apk_digest: apk_digest(Some(&project)),
        apk3: keys.apk3.as_ref(),
        feeds: &[],
        prune_apt: false,
        prune_rpm: false,
        // The repositories are dated now (or SOURCE_DATE_EPOCH): apt's Valid-Until counts from here, and an
        // index dated at an old commit would already be expired.
        date: env.date(),
        packages: &packages,
    };
    let deciding = TxnOptions {
        dry_run: true,
        ..txn.clone()
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
        plan.push_str(
            "front: releases/index.json, every channel's releases/latest pointer, index.html, install.sh\n",
        );
        out.result(
            &plan,
            &json!({ "dry_run": true, "manifest": manifest, "reports": decided }),
        );
        return Ok(());
    };
    guard.check()?;

    // The repositories first: a release's pointer never names packages the repositories lack.
    let reports = publish(&publish_options(&txn))?;
    for k in reports.each() {
        out.status(
            "Published",
            &format!("{} package(s) to the {} repository", k.added.len(), k.kind),
        );
    }

    // This build's files (a file already listed holds these bytes: `merge` checked; one left unlisted by
    // a release that stopped half-way is replaced), then the manifest, sums and notes that list them.
    let listed = |file: &str| {
        existing
            .as_ref()
            .is_some_and(|m| m.artifacts.iter().any(|a| a.file == file))
    };
    for (b, a) in built.iter().chain(&tarballs).zip(&artifacts) {
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
    guard.check()?;
    write_release_files(&store, &dir, &manifest)?;
    store.put(
        "releases/manifest.schema.json",
        manifest::SCHEMA.as_bytes(),
        PutMode::Overwrite,
    )?;
    let front = refresh_front(
        &store,
        &to,
        &project,
        &*guard,
        &Front {
            base_url: &base_url,
            apt: &apt,
            reports: Some(&reports),
            release: manifest.clone(),
            keep: txn.keep,
        },
    )?;
    drop(guard);
    let (pointer, newest) = (front.pointer, front.newest);
    for v in &front.removed {
        out.status(
            "Removed",
            &format!("release {v} (keep {})", txn.keep.unwrap_or_default()),
        );
    }

    let root = store_root(&to);
    let rel = |p: &str| format!("{base_url}/{p}");
    out.status(
        "Released",
        &format!(
            "{} {} into {}",
            manifest.project,
            manifest.version,
            display(&root)
        ),
    );
    let mut human = format!(
        "Release {} {} ({}, channel {channel}):\n  {} files in {}\n",
        manifest.project,
        manifest.version,
        manifest.class.as_str(),
        manifest.artifacts.len(),
        rel(&format!("{dir}/"))
    );
    for a in &manifest.artifacts {
        human.push_str(&format!("    {}  {}\n", a.file, manifest::human_size(a.size)));
    }
    human.push_str(&format!(
        "  checksums     {}\n  manifest      {}\n  notes         {}\n  pointer       {} → {newest}\n  release page  {}\n  install       curl -fsSL {} | sh{}\n",
        rel(&format!("{dir}/SHA256SUMS")),
        rel(&format!("{dir}/manifest.json")),
        rel(&format!("{dir}/notes.md")),
        rel(&pointer),
        rel("index.html"),
        rel("install.sh"),
        if channel == ROOT_CHANNEL { String::new() } else { format!(" -s -- --channel {channel}") }
    ));
    out.result(
        &human,
        &json!({
            "manifest": manifest,
            "release_dir": rel(&dir),
            "pointer": pointer,
            "page": rel("index.html"),
            "install_script": rel("install.sh"),
            "reports": reports,
            "removed": front.removed,
            "store_calls": store.calls(),
        }),
    );
    Ok(())
}
