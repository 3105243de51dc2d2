//! `wharf release`: the version from git, every package and tarball, the repositories, then the release
//! directory, the release index, the channel pointer, the page and the install script (design.md §5).

use serde_json::json;
use wharf_core::SourceDate;

use super::{display, load_project, open_store_to_write};
use crate::cli::ReleaseArgs;
use crate::env::Env;
use crate::output::Output;
use wharf_ops::keys::Keys;
use wharf_ops::keys::signers;
use wharf_ops::publish::store_root;
use wharf_ops::release::{ReleaseOptions, Released, channel_of, release};
use wharf_ops::{ci, package, settings, version};

pub fn run(args: &ReleaseArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let mut project = load_project(&args.project, env, out)?;
    project.image.push.extend(args.push_images.iter().cloned());
    // A cargo-dist run's programs as the build: its targets, at the version git (or --version) says.
    let dist_dir = tempfile::tempdir()?;
    let (targets, dist_version) = match &args.from_dist {
        Some(m) => wharf_ops::dist::apply(&mut project, m, dist_dir.path(), None, out)?,
        None => (args.targets.clone(), None),
    };
    let what = version::what_to_release(&project, args.version.as_deref(), out)?;
    // (dist spells a pre-release `1.0.0-rc.1`; wharf `1.0.0~rc.1`.)
    if let Some(v) = dist_version.filter(|v| v.replacen('-', "~", 1) != what.version) {
        anyhow::bail!(
            "the dist run built {v}, and this release is {}; nothing was written",
            what.version
        );
    }
    let channel = channel_of(&project, what.class);
    // One clock for the packages and the manifest: SOURCE_DATE_EPOCH, else the commit's time, so releasing
    // the same commit twice gives the same bytes. (The repository indexes are dated at publishing.)
    let date = env
        .source_date
        .or_else(|| what.commit_time.and_then(|t| SourceDate::from_unix(t).ok()))
        .unwrap_or_else(SourceDate::now);
    let tag = what
        .tag
        .as_ref()
        .map_or_else(String::new, |t| format!(", tag {t}"));
    let line = format!(
        "{} {} ({}, channel {channel}{tag})",
        project.name,
        what.version,
        what.class.as_str()
    );
    out.status("Releasing", &line);
    let to = settings::store_location(args.to.as_deref(), Some(&project))?;
    let store = open_store_to_write(&to, &args.store, Some(&project), env, out)?;
    if to.is_s3() && args.base_url.is_none() && project.publish.base_url.is_none() {
        out.warn("no --base-url (or [publish] base-url): the page, install.sh and .repo files name the s3:// URL, which clients cannot read; pass the public URL of the bucket");
    }
    let formats = package::formats_to_build(&project, &args.formats);
    let txn = settings::txn_options(&args.txn.flags(), Some(&project));
    let keys = Keys::load(
        &args.keys.files(),
        Some(&project),
        env,
        out,
        &signers(&formats),
        txn.dry_run,
    )?;
    let connect = args.registry.connect(env)?;
    let options = ReleaseOptions {
        what: &what,
        channel: &channel,
        formats: &formats,
        targets: &targets,
        store: &store,
        to: &to,
        base_url: args.base_url.as_deref(),
        keys: &keys,
        txn: &txn,
        date,
        now: env.date(),
        cwd: &env.cwd,
        draft: args.draft,
        connect: &connect,
    };
    // The forge's release of the tag, from this machine's files of it (dist/<version>/).
    let forge = |m: &wharf_release::manifest::Manifest, draft: bool| -> anyhow::Result<()> {
        if let Some(f) = args.forge_release {
            let argv = ci::forge_release(f.into(), m, &env.cwd.join("dist").join(&m.version), draft)?;
            out.status("Released", &format!("on the forge: {}", argv[..4].join(" ")));
        }
        Ok(())
    };
    let (manifest, reports, front, dir, base_url) = match release(&mut project, &options, out)? {
        Released::Planned {
            plan,
            manifest,
            reports,
        } => {
            out.result(
                &plan,
                &json!({ "dry_run": true, "manifest": manifest, "reports": reports }),
            );
            return Ok(());
        }
        Released::Draft { manifest, dir } => {
            forge(&manifest, true)?;
            let text = format!(
                "Draft {} {}: {} files in {dir}/; nothing else changed. Publish it with `wharf release publish {}`\n",
                manifest.project,
                manifest.version,
                manifest.artifacts.len(),
                manifest.version
            );
            out.result(
                &text,
                &json!({ "draft": true, "manifest": manifest, "release_dir": dir }),
            );
            return Ok(());
        }
        Released::Done {
            manifest,
            reports,
            front,
            dir,
            base_url,
        } => (manifest, reports, front, dir, base_url),
    };
    forge(&manifest, false)?;
    let rel = |p: &str| format!("{base_url}/{p}");
    let root = display(&store_root(&to));
    out.status(
        "Released",
        &format!("{} {} into {root}", manifest.project, manifest.version),
    );
    let human = wharf_ops::release::summary(&manifest, &front, &dir, &base_url);
    out.result(
        &human,
        &json!({
            "manifest": manifest,
            "release_dir": rel(&dir),
            "pointer": front.pointer,
            "page": rel("index.html"),
            "install_script": rel("install.sh"),
            "reports": reports,
            "removed": front.removed,
            "store_calls": store.calls(),
        }),
    );
    Ok(())
}
