//! `wharf promote NAME VERSION --from CH --to CH`: the same package files, published again into another
//! channel. apt channels are suites over one pool, so only records move; the other kinds keep a tree per
//! channel (the root channel's is the store's top), so the files are copied inside the store (server-side
//! on S3: nothing is downloaded or inspected again) into the target channel's tree and indexed there from
//! their records. When the version was released (`releases/<version>/`), the release
//! moves to the target channel as releasing into it would have put it: its manifest, the release index,
//! every channel's pointer, the page and install.sh.

use std::collections::BTreeSet;

use anyhow::bail;
use serde_json::json;
use wharf_publish::{apk, apk3, apt, opkg, rpmmd};
use wharf_store::{Prefixed, Store};

use super::{
    apk_digest, apt_config, channel_tree, given_base_url, kind_keys_for, load_project, md_compression,
    open_store_to_write, txn_options,
};
use crate::cli::PromoteArgs;
use crate::env::Env;
use crate::ops::publish::{Inputs, PublishOptions, default_base_url, plan_text, publish_inputs};
use crate::ops::release as ops_release;
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
    let prefixed = match channel_tree(Some(args.from.clone())) {
        Some(c) => Some(Prefixed::new(&store, &c)?),
        None => None,
    };
    let source: &dyn Store = match &prefixed {
        Some(p) => p,
        None => &store,
    };
    let apt_cfg = apt_config(project.as_ref());
    let suite_of = |c: &str| channel_tree(Some(c.to_owned())).unwrap_or_else(|| apt_cfg.suite.clone());
    let (name, version) = (args.name.as_str(), args.version.as_str());

    // What the source channel has: per kind, the records of NAME at VERSION. They stand for the files,
    // which are copied inside the store (apt's are in the one pool already): nothing is downloaded or
    // inspected again.
    let from_tree = channel_tree(Some(args.from.clone()));
    let from = from_tree.as_deref();
    let debs = apt::promoted(&store, &suite_of(&args.from), name, version)?;
    let rpms = rpmmd::promoted(source, from, name, version)?;
    let ipks = opkg::promoted(source, from, name, version)?;
    let apks = apk::promoted(source, from, name, version)?;
    let apk3s = apk3::promoted(source, from, name, version)?;
    let promoted: Vec<String> = [&debs.what, &rpms.what, &ipks.what, &apks.what, &apk3s.what]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    if promoted.is_empty() {
        let have: BTreeSet<&String> = [
            &debs.versions,
            &rpms.versions,
            &ipks.versions,
            &apks.versions,
            &apk3s.versions,
        ]
        .into_iter()
        .flatten()
        .collect();
        bail!(
            "no `{name}` {version} in channel `{}` of {}{}",
            args.from,
            store.describe(),
            if have.is_empty() {
                format!("; `{name}` is not published there at all")
            } else {
                format!(
                    "; it has {}",
                    have.into_iter().cloned().collect::<Vec<_>>().join(", ")
                )
            }
        );
    }
    let keys = kind_keys_for(
        &args.keys,
        project.as_ref(),
        env,
        out,
        [
            !debs.packages.is_empty() || !rpms.packages.is_empty(),
            !ipks.packages.is_empty(),
            !apks.packages.is_empty(),
            !apk3s.packages.is_empty(),
        ],
        args.txn.dry_run,
    )?;
    let rpm_repos = rpms.groups.clone();
    let mut feeds: Vec<String> = [&ipks.groups, &apks.groups, &apk3s.groups]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    feeds.sort();
    feeds.dedup();
    let to_tree = channel_tree(Some(args.to.clone()));
    let to_suite = suite_of(&args.to);
    let txn = txn_options(&args.txn, project.as_ref());
    let base_url = given_base_url(args.base_url.as_deref(), project.as_ref())?;
    let inputs = Inputs {
        debs: debs.packages,
        rpms: rpms.packages,
        ipks: ipks.packages,
        apks: apks.packages,
        apk3s: apk3s.packages,
        ..Inputs::default()
    };
    let reports = publish_inputs(
        &PublishOptions {
            store: &store,
            to: &to_store,
            txn: &txn,
            channel: to_tree.as_deref(),
            key: keys.openpgp.as_ref(),
            apt: &apt_cfg,
            suite: &to_suite,
            component: &apt_cfg.component,
            rpm_repos: &rpm_repos,
            metadata_compression: md_compression(project.as_ref()),
            base_url: base_url.as_deref(),
            sign_unsigned: false,
            usign: keys.usign.as_ref(),
            apk: keys.apk.as_ref(),
            apk_digest: apk_digest(project.as_ref()),
            apk3: keys.apk3.as_ref(),
            feeds: &feeds,
            prune_apt: false,
            prune_rpm: false,
            date: env.date(),
            packages: &[],
        },
        inputs,
    )?;
    for p in &promoted {
        let verb = if args.txn.dry_run {
            "Would promote"
        } else {
            "Promoted"
        };
        out.status(verb, &format!("{p}: {} → {}", args.from, args.to));
    }
    if txn.dry_run {
        out.result(
            &format!("dry run: nothing written\n{}", plan_text(&reports)),
            &json!({ "dry_run": true, "promoted": promoted, "from": args.from, "to": args.to, "reports": reports }),
        );
        return Ok(());
    }
    let released = match &project {
        Some(p) => ops_release::promote_release(
            &store,
            &to_store,
            p,
            &txn,
            &apt_cfg,
            &reports,
            (name, version),
            (&args.from, &args.to),
            &base_url.unwrap_or_else(|| default_base_url(&to_store)),
        )?,
        None => None,
    };
    if let Some(v) = &released {
        out.status("Promoted", &format!("release {v}: {} → {}", args.from, args.to));
    }
    out.result(
        &format!("{} file(s) promoted from `{}` to `{}`\n", promoted.len(), args.from, args.to),
        &json!({ "promoted": promoted, "release": released, "from": args.from, "to": args.to, "reports": reports, "store_calls": store.calls() }),
    );
    Ok(())
}
