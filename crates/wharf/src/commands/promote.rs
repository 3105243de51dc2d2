//! `wharf promote NAME VERSION --from CH --to CH`: the same package files, published again into another
//! channel. apt channels are suites over one pool, so only records move; the other kinds keep a tree per
//! channel, so the files are copied byte for byte into the target channel's tree and indexed there.

use std::collections::BTreeSet;

use anyhow::bail;
use serde_json::json;
use wharf_publish::txn::Found;
use wharf_publish::{apk, apk3, apt, opkg, rpmmd};
use wharf_store::{Prefixed, Store};

use super::{
    apk_digest, apt_config, kind_keys, load_project, md_compression, open_store_to_write, txn_options,
};
use crate::cli::PromoteArgs;
use crate::env::Env;
use crate::ops::publish::{PublishOptions, publish};
use crate::output::Output;

pub fn run(args: &PromoteArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let project = load_project(&args.project, env, out).ok();
    for c in [&args.from, &args.to] {
        wharf_publish::check_name("channel", c)?;
    }
    if args.from == args.to {
        bail!(
            "--from and --to are both `{}`; name two different channels",
            args.from
        );
    }
    let to_store = args
        .store_url
        .clone()
        .or_else(|| project.as_ref().and_then(|p| p.publish.to.clone()))
        .unwrap_or_else(|| "public".into());
    let store = open_store_to_write(&to_store, &args.store, project.as_ref(), env, out)?;
    let source = Prefixed::new(&store, &args.from)?;
    let (name, version) = (args.name.as_str(), args.version.as_str());

    // What the source channel has: per kind, the files of NAME at VERSION (keys from the store's root).
    let mut versions = BTreeSet::new();
    let mut take = |(found, vs): (Vec<Found>, BTreeSet<String>), prefix: Option<&str>| {
        versions.extend(vs);
        found
            .into_iter()
            .map(|mut f| {
                if let Some(p) = prefix {
                    f.key = format!("{p}/{}", f.key);
                }
                f
            })
            .collect::<Vec<Found>>()
    };
    let from = Some(args.from.as_str());
    let debs = take(apt::find(&store, &args.from, name, version)?, None);
    let rpms = take(rpmmd::find(&source, name, version)?, from);
    let ipks = take(opkg::find(&source, name, version)?, from);
    let apks = take(apk::find(&source, name, version)?, from);
    let apk3s = take(apk3::find(&source, name, version)?, from);
    if debs.is_empty() && rpms.is_empty() && ipks.is_empty() && apks.is_empty() && apk3s.is_empty() {
        let have: Vec<String> = versions.into_iter().collect();
        bail!(
            "no `{name}` {version} in channel `{}` of {}{}",
            args.from,
            store.describe(),
            if have.is_empty() {
                format!("; `{name}` is not published there at all")
            } else {
                format!("; it has {}", have.join(", "))
            }
        );
    }

    // The files, byte for byte, into a scratch directory (one copy per file name).
    let scratch = tempfile::tempdir()?;
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    for f in debs.iter().chain(&rpms).chain(&ipks).chain(&apks).chain(&apk3s) {
        let file_name = f.key.rsplit('/').next().unwrap_or(&f.key).to_owned();
        if !seen.insert((f.key.clone(), file_name.clone())) {
            continue;
        }
        let kind_dir = scratch.path().join(files.len().to_string());
        std::fs::create_dir_all(&kind_dir)?;
        let bytes = store.get(&f.key)?.ok_or_else(|| {
            anyhow::anyhow!(
                "{}: `{}` is in the state but missing from the store; run `wharf verify`",
                store.describe(),
                f.key
            )
        })?;
        let path = kind_dir.join(&file_name);
        std::fs::write(&path, bytes)?;
        out.detail(&format!("promoting {} ({})", f.what, f.key));
        files.push(path);
    }

    let keys = kind_keys(
        &args.keys,
        project.as_ref(),
        env,
        out,
        [
            !debs.is_empty() || !rpms.is_empty(),
            !ipks.is_empty(),
            !apks.is_empty(),
            !apk3s.is_empty(),
        ],
    )?;
    let apt_cfg = apt_config(project.as_ref());
    let groups = |found: &[Found]| -> Vec<String> {
        let set: BTreeSet<String> = found.iter().map(|f| f.group.clone()).collect();
        set.into_iter().collect()
    };
    let rpm_repos = groups(&rpms);
    let mut feeds = groups(&ipks);
    feeds.extend(groups(&apks));
    feeds.extend(groups(&apk3s));
    feeds.sort();
    feeds.dedup();
    let reports = publish(&PublishOptions {
        store: &store,
        to: &to_store,
        txn: &txn_options(&args.store, project.as_ref()),
        channel: Some(&args.to),
        key: keys.openpgp.as_ref(),
        apt: &apt_cfg,
        suite: &args.to,
        component: &apt_cfg.component,
        rpm_repos: &rpm_repos,
        metadata_compression: md_compression(project.as_ref()),
        base_url: args
            .base_url
            .as_deref()
            .or_else(|| project.as_ref().and_then(|p| p.publish.base_url.as_deref())),
        sign_unsigned: false,
        usign: keys.usign.as_ref(),
        apk: keys.apk.as_ref(),
        apk_digest: apk_digest(project.as_ref()),
        apk3: keys.apk3.as_ref(),
        feeds: &feeds,
        prune_apt: false,
        prune_rpm: false,
        date: env.date(),
        packages: &files,
    })?;
    let promoted: Vec<String> = debs
        .iter()
        .chain(&rpms)
        .chain(&ipks)
        .chain(&apks)
        .chain(&apk3s)
        .map(|f| f.what.clone())
        .collect();
    for p in &promoted {
        out.status("Promoted", &format!("{p}: {} → {}", args.from, args.to));
    }
    out.result(
        &format!("{} file(s) promoted from `{}` to `{}`\n", promoted.len(), args.from, args.to),
        &json!({ "promoted": promoted, "from": args.from, "to": args.to, "reports": reports, "store_calls": store.calls() }),
    );
    Ok(())
}
