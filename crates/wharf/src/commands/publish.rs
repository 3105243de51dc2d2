//! `wharf publish`.

use std::path::{Path, PathBuf};

use serde_json::json;
use wharf_core::RepoKind;
use wharf_publish::apt::{KEYRING_KEY, sources_entry};

use super::{load_project, open_store};
use crate::cli::{Format, PublishArgs};
use crate::env::Env;
use crate::output::Output;
use wharf_ops::keys::{Keys, signers};
use wharf_ops::project::check_store_location;
use wharf_ops::publish::{
    PublishOptions, announce, format_of, package_files, plan_text, publish, store_root, timings, usage,
};
use wharf_ops::{package, settings, version};

pub fn run(args: &PublishArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    // The packages named, on the command line and in --files-from (no argument list is long enough for a
    // repository of 100,000).
    let mut named = args.packages.clone();
    if let Some(list) = &args.files_from {
        named.extend(wharf_ops::publish::files_from(list)?);
    }
    let given_files = package_files(&named)?;
    // A project is needed to package; for explicit package files it only supplies settings.
    let mut project = if named.is_empty() || args.project.config.is_some() {
        Some(load_project(&args.project, env, out)?)
    } else {
        load_project(&args.project, env, out).ok()
    };
    // cargo-dist's archives stand in for the build: their programs unpacked where cargo puts them.
    let dist_dir = tempfile::tempdir()?;
    let (targets, version) = match (&args.from_dist, project.as_mut()) {
        (Some(m), Some(p)) => wharf_ops::dist::apply(p, m, dist_dir.path(), args.version.as_deref(), out)?,
        _ => (args.targets.clone(), args.version.clone()),
    };
    // Packages built here carry the version their release will have (git tags, or --version).
    if named.is_empty()
        && let Some(p) = project.as_mut()
    {
        version::apply(p, version.as_deref(), out)?;
    } else if args.version.is_some() {
        anyhow::bail!(
            "--version applies to the packages wharf builds; the given package files carry their own"
        );
    }
    let project_dir = project
        .as_ref()
        .map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
    // Where the repository goes is checked before anything is packaged or a key is made.
    let to = settings::store_location(args.to.as_deref(), project.as_ref())?;
    check_store_location(&to, &env.cwd, &project_dir)?;
    // Each repository kind has its own key: load (or make) only the ones this publish signs with.
    let mut formats: Vec<Format> = given_files.iter().filter_map(|p| format_of(p)).collect();
    if named.is_empty()
        && let Some(p) = &project
    {
        formats.extend(package::formats_to_build(p, &args.formats));
    }
    let dry_run = args.txn.dry_run;
    let keys = Keys::load(
        &args.keys.files(),
        project.as_ref(),
        env,
        out,
        &signers(&formats),
        dry_run,
    )?;

    // A dry run builds into a scratch directory that goes with it: nothing is left in dist/.
    let scratch = if dry_run { Some(tempfile::tempdir()?) } else { None };
    let packages: Vec<PathBuf> = if named.is_empty() {
        let p = project.as_ref().ok_or_else(|| {
            anyhow::anyhow!("nothing to publish: pass package files, or run where a wharf.toml or Cargo.toml is (or use -c FILE)")
        })?;
        let out_dir = scratch.as_ref().map_or(Path::new("dist"), |d| d.path());
        let options = package::BuildOptions {
            formats: &args.formats,
            targets: &targets,
            out_dir,
            date: env.date(),
            keys: keys.ring(),
        };
        let built = package::build(p, &options, out)?;
        for b in &built {
            out.status(
                if dry_run { "Would package" } else { "Packaged" },
                &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.kind()),
            );
        }
        built.into_iter().map(|b| b.path).collect()
    } else {
        given_files
    };
    let given = settings::Given {
        suite: args.suite.as_deref(),
        component: args.component.as_deref(),
        repos: &args.repos,
        feeds: &args.feeds,
        base_url: args.base_url.as_deref(),
        channel: settings::channel(args.channel.as_deref(), project.as_ref()),
        sign: args.sign,
    };
    let s = settings::resolve(project.as_ref(), &to, given, env.date())?;
    // Its location was checked before anything was packaged.
    let store = open_store(&to, &args.store, project.as_ref(), env, out)?;
    if to.is_s3() && s.base_url.starts_with("s3://") {
        out.warn("no --base-url (or [publish] base-url): the .repo files and instructions name the s3:// URL, which clients cannot read; pass the public URL of the bucket");
    }
    let txn = settings::txn_options(&args.txn.flags(), project.as_ref());
    let reports = publish(&PublishOptions {
        store: &store,
        txn: &txn,
        keys: keys.ring(),
        settings: &s,
        prune: &[],
        packages: &packages,
    })?;
    let (repository, channel) = (to.to_string(), &s.channel);
    if dry_run {
        out.result(
            &format!("dry run: nothing written\n{}", plan_text(&reports)),
            &json!({ "dry_run": true, "reports": reports, "repository": repository, "channel": channel }),
        );
        return Ok(());
    }
    for r in reports.each() {
        announce(out, r);
    }
    let apt_sources = reports.get(RepoKind::Apt).map(|_| {
        let keyring = store_root(&to).join(KEYRING_KEY);
        sources_entry(&s.base_url, &s.suite, &[&s.component], &keyring)
    });
    out.detail(&timings(&reports));
    let calls = store.calls();
    out.detail(&wharf_ops::publish::calls_text(&calls));
    out.result(
        &usage(&reports, &s, &to),
        &json!({ "reports": reports, "repository": repository, "channel": channel, "apt_sources": apt_sources, "store_calls": calls }),
    );
    Ok(())
}
