//! `wharf prune`: retention over a whole store, and garbage past its grace period.
//!
//! A prune is a publish of nothing into every repository kind the store holds, with `keep` applied to
//! every group: the same transaction (lock, state, re-signed indexes, pointers last), so clients see the
//! repository before or after, never between. `--dry-run` runs the same decisions and writes nothing.

use serde_json::json;
use wharf_publish::{apk, apk3, apt, opkg, rpmmd};
use wharf_store::{Prefixed, Store};

use super::{
    apk_digest, apt_config, channel_tree, given_base_url, in_memory_keys, kind_keys, load_project,
    md_compression, open_store_to_write, txn_options,
};
use crate::cli::PruneArgs;
use crate::env::Env;
use crate::ops::publish::{PublishOptions, publish};
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
    txn.dry_run = args.dry_run;
    let channel = channel_tree(
        args.channel
            .clone()
            .or_else(|| project.as_ref().and_then(|p| p.publish.channel.clone())),
    );
    let prefixed = match &channel {
        Some(c) => Some(Prefixed::new(&store, c)?),
        None => None,
    };
    let tree: &dyn Store = match &prefixed {
        Some(p) => p,
        None => &store,
    };
    let has = |s: &dyn Store, key: &str| s.head(key).map(|m| m.is_some());
    let (has_apt, has_rpm) = (has(&store, apt::STATE_KEY)?, has(tree, rpmmd::STATE_KEY)?);
    let (has_opkg, has_apk, has_apk3) = (
        has(tree, opkg::STATE_KEY)?,
        has(tree, apk::STATE_KEY)?,
        has(tree, apk3::STATE_KEY)?,
    );
    let need = [has_apt || has_rpm, has_opkg, has_apk, has_apk3];
    // A dry run writes nothing, signatures included: keys made in memory serve its decisions, and no
    // throwaway key is written (nor the repository's asked for).
    let keys = if args.dry_run {
        in_memory_keys(need)?
    } else {
        kind_keys(&args.keys, project.as_ref(), env, out, need)?
    };
    let apt_cfg = apt_config(project.as_ref());
    let base_url = given_base_url(args.base_url.as_deref(), project.as_ref())?;
    let reports = publish(&PublishOptions {
        store: &store,
        to: &to,
        txn: &txn,
        channel: channel.as_deref(),
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
        prune_apt: has_apt,
        prune_rpm: has_rpm,
        date: env.date(),
        packages: &[],
    })?;
    let mut pruned = Vec::new();
    let mut deleted = Vec::new();
    let mut waiting = 0;
    let mut take = |p: &[String], c: &wharf_publish::txn::Collected, kind: &str| {
        pruned.extend(p.iter().map(|r| format!("{kind}: {r}")));
        deleted.extend(c.deleted.iter().cloned());
        waiting += c.waiting;
    };
    if let Some(r) = &reports.apt {
        take(&r.pruned, &r.collected, "apt");
    }
    if let Some(r) = &reports.rpm {
        take(&r.pruned, &r.collected, "rpm");
    }
    if let Some(r) = &reports.opkg {
        take(&r.pruned, &r.collected, "opkg");
    }
    if let Some(r) = &reports.apk {
        take(&r.pruned, &r.collected, "apk");
    }
    if let Some(r) = &reports.apk3 {
        take(&r.pruned, &r.collected, "apk3");
    }
    let (unlist, delete) = if args.dry_run {
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
        if args.dry_run { "dry run: " } else { "" },
        pruned.len(),
        if args.dry_run {
            "would be dropped"
        } else {
            "dropped"
        },
        deleted.len(),
        if args.dry_run {
            "would be deleted"
        } else {
            "deleted"
        },
    );
    out.result(
        &human,
        &json!({ "dry_run": args.dry_run, "pruned": pruned, "deleted": deleted, "waiting": waiting, "reports": reports, "store_calls": store.calls() }),
    );
    Ok(())
}
