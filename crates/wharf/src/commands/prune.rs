//! `wharf prune`: retention over a whole store, and garbage past its grace period.
//!
//! A prune is a publish of nothing into every repository kind the store holds, with `keep` applied to
//! every group: the same transaction (lock, state, re-signed indexes, pointers last), so clients see the
//! repository before or after, never between. `--dry-run` runs the same decisions and writes nothing.

use serde_json::json;
use wharf_publish::{apk, apk3, apt, opkg, rpmmd};
use wharf_store::{Prefixed, Store};

use super::{
    ROOT_CHANNEL, apk_digest, apt_config, channel_tree, given_base_url, in_memory_keys, kind_keys,
    load_project, md_compression, open_store_to_write, txn_options,
};
use crate::cli::PruneArgs;
use crate::env::Env;
use crate::ops::publish::{CHANNELS, PublishOptions, publish};
use crate::output::Output;

pub fn run(args: &PruneArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let project = load_project(&args.project, env, out).ok();
    let to = args
        .to
        .clone()
        .or_else(|| project.as_ref().and_then(|p| p.publish.to.clone()))
        .unwrap_or_else(|| "public".into());
    let store = open_store_to_write(&to, &args.store, project.as_ref(), env, out)?;
    let mut txn = txn_options(&args.txn, project.as_ref());
    txn.prune = true;
    txn.dry_run = args.txn.dry_run;
    let channel = channel_tree(
        args.channel
            .clone()
            .or_else(|| project.as_ref().and_then(|p| p.publish.channel.clone())),
    );
    // The trees to prune: the named channel's, else the store's top and every channel's (development
    // builds included), each channel found where publishes record it, in the apt suites and in the
    // release index.
    let trees: Vec<Option<String>> = match &channel {
        Some(c) => vec![Some(c.clone())],
        None => std::iter::once(None)
            .chain(channels(&store)?.into_iter().map(Some))
            .collect(),
    };
    let apt_cfg = apt_config(project.as_ref());
    let base_url = given_base_url(args.base_url.as_deref(), project.as_ref())?;
    let has = |s: &dyn Store, key: &str| s.head(key).map(|m| m.is_some());
    let has_apt = has(&store, apt::STATE_KEY)?;
    let mut all = Vec::new();
    for (n, tree_name) in trees.iter().enumerate() {
        let prefixed = match tree_name {
            Some(c) => Some(Prefixed::new(&store, c)?),
            None => None,
        };
        let tree: &dyn Store = match &prefixed {
            Some(p) => p,
            None => &store,
        };
        // apt's suites share one state at the top: pruned once, with the first tree.
        let prune_apt = has_apt && n == 0;
        let has_rpm = has(tree, rpmmd::STATE_KEY)?;
        let (has_opkg, has_apk, has_apk3) = (
            has(tree, opkg::STATE_KEY)?,
            has(tree, apk::STATE_KEY)?,
            has(tree, apk3::STATE_KEY)?,
        );
        if !(prune_apt || has_rpm || has_opkg || has_apk || has_apk3) {
            continue;
        }
        let need = [prune_apt || has_rpm, has_opkg, has_apk, has_apk3];
        // A dry run writes nothing, signatures included: keys made in memory serve its decisions, and
        // no throwaway key is written (nor the repository's asked for).
        let keys = if args.txn.dry_run {
            in_memory_keys(need)?
        } else {
            kind_keys(&args.keys, project.as_ref(), env, out, need)?
        };
        let reports = publish(&PublishOptions {
            store: &store,
            to: &to,
            txn: &txn,
            channel: tree_name.as_deref(),
            key: keys.openpgp.as_ref(),
            apt: &apt_cfg,
            suite: &apt_cfg.suite,
            component: &apt_cfg.component,
            rpm_repos: &[],
            metadata_compression: md_compression(project.as_ref()),
            base_url: base_url.as_deref(),
            sign_unsigned: false,
            usign: keys.usign.as_ref(),
            apk: keys.apk.as_ref(),
            apk_digest: apk_digest(project.as_ref()),
            apk3: keys.apk3.as_ref(),
            feeds: &[],
            prune_apt,
            prune_rpm: has_rpm,
            date: env.date(),
            packages: &[],
        })?;
        all.push((tree_name.clone(), reports));
    }
    let mut pruned = Vec::new();
    let mut deleted = Vec::new();
    let mut waiting = 0;
    let mut take = |p: &[String], c: &wharf_publish::txn::Collected, kind: &str| {
        pruned.extend(p.iter().map(|r| format!("{kind}: {r}")));
        deleted.extend(c.deleted.iter().cloned());
        waiting += c.waiting;
    };
    for (tree_name, reports) in &all {
        for k in reports.each() {
            let at = match tree_name {
                Some(c) => format!("{} ({c})", k.kind),
                None => k.kind.to_string(),
            };
            take(k.pruned, k.collected, &at);
        }
    }
    let (unlist, delete) = if args.txn.dry_run {
        ("Would drop", "Would delete")
    } else {
        ("Dropped", "Deleted")
    };
    for p in &pruned {
        out.status(unlist, p);
    }
    for d in &deleted {
        out.status(delete, d);
    }
    let human = format!(
        "{}{} record(s) {}, {} file(s) {}, {waiting} waiting for their grace period\n",
        if args.txn.dry_run { "dry run: " } else { "" },
        pruned.len(),
        if args.txn.dry_run {
            "would be dropped"
        } else {
            "dropped"
        },
        deleted.len(),
        if args.txn.dry_run {
            "would be deleted"
        } else {
            "deleted"
        },
    );
    out.result(
        &human,
        &json!({ "dry_run": args.txn.dry_run, "pruned": pruned, "deleted": deleted, "waiting": waiting, "reports": all.iter().map(|(t, r)| json!({ "channel": t, "reports": r })).collect::<Vec<_>>(), "store_calls": store.calls() }),
    );
    Ok(())
}

/// Every channel with a tree of its own in the store: those publishes recorded (`.wharf/channels/`), the
/// apt suites other than the root's (each channel is one), and the release index's channels.
fn channels(store: &dyn Store) -> anyhow::Result<Vec<String>> {
    let mut out = std::collections::BTreeSet::new();
    for m in store.list(CHANNELS)? {
        if let Some(c) = m.key.strip_prefix(CHANNELS) {
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
