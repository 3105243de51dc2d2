//! `wharf prune`: retention over a whole store, and garbage past its grace period.
//!
//! A prune is a publish of nothing into every repository kind the store holds, with `keep` applied to
//! every group: the same transaction (lock, state, re-signed indexes, pointers last), so clients see the
//! repository before or after, never between. `--dry-run` runs the same decisions and writes nothing.

use serde_json::json;
use wharf_core::Signer;
use wharf_store::Store;

use super::{load_project, open_store_to_write};
use crate::cli::PruneArgs;
use crate::env::Env;
use crate::output::Output;
use wharf_ops::keys::Keys;
use wharf_ops::publish::{PublishOptions, publish, tree};
use wharf_ops::release::channels;
use wharf_ops::settings;

pub fn run(args: &PruneArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let project = load_project(&args.project, env, out).ok();
    let to = settings::store_location(args.to.as_deref(), project.as_ref())?;
    let store = open_store_to_write(&to, &args.store, project.as_ref(), env, out)?;
    let mut txn = settings::txn_options(&args.txn.flags(), project.as_ref());
    txn.prune = true;
    let channel = settings::channel_tree(settings::channel(args.channel.as_deref(), project.as_ref()));
    // The trees to prune: the named channel's, else the store's top and every channel's (development
    // builds included), each channel found where publishes record it, in the apt suites and in the
    // release index.
    let trees: Vec<Option<String>> = match &channel {
        Some(c) => vec![Some(c.clone())],
        None => std::iter::once(None)
            .chain(channels(&store)?.into_iter().map(Some))
            .collect(),
    };
    let mut all = Vec::new();
    for (n, tree_name) in trees.iter().enumerate() {
        let prefixed = tree(&store, tree_name.as_deref())?;
        let tree: &dyn Store = prefixed.as_ref().map_or(&store, |p| p as &dyn Store);
        // The kinds this tree holds; apt's suites share one state at the top: pruned once, with the first.
        let mut kinds = Vec::new();
        for k in wharf_publish::kinds() {
            let held = if k.at_top() {
                n == 0 && store.head(k.state_key())?.is_some()
            } else {
                tree.head(k.state_key())?.is_some()
            };
            if held {
                kinds.push(k.kind());
            }
        }
        if kinds.is_empty() {
            continue;
        }
        let mut need: Vec<Signer> = kinds.iter().map(|k| k.signer()).collect();
        need.sort();
        need.dedup();
        // A dry run writes nothing, signatures included: the keys given (or already made) are read, the
        // others made in memory for its decisions; no throwaway key is written.
        let keys = Keys::load(
            &args.keys.files(),
            project.as_ref(),
            env,
            out,
            &need,
            args.txn.dry_run,
        )?;
        let given = settings::Given {
            base_url: args.base_url.as_deref(),
            channel: tree_name.clone(),
            ..settings::Given::default()
        };
        let s = settings::resolve(project.as_ref(), &to, given, env.date())?;
        let reports = publish(&PublishOptions {
            store: &store,
            txn: &txn,
            keys: keys.ring(),
            settings: &s,
            prune: &kinds,
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
            take(&k.pruned, &k.collected, &at);
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
