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
use wharf_store::Store;

use super::{load_project, open_store_to_write};
use crate::cli::PromoteArgs;
use crate::env::Env;
use crate::output::Output;
use wharf_ops::keys::Keys;
use wharf_ops::publish::{Inputs, PublishOptions, plan_text, publish_inputs, tree};
use wharf_ops::release as ops_release;
use wharf_ops::settings::{self, channel_tree};

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
    let to_store = settings::store_location(args.store_url.as_deref(), project.as_ref())?;
    let store = open_store_to_write(&to_store, &args.store, project.as_ref(), env, out)?;
    let from_tree = channel_tree(Some(args.from.clone()));
    let prefixed = tree(&store, from_tree.as_deref())?;
    let source: &dyn Store = prefixed.as_ref().map_or(&store, |p| p as &dyn Store);
    let apt_cfg = settings::apt_config(project.as_ref());
    let from_suite = from_tree.clone().unwrap_or_else(|| apt_cfg.suite.clone());
    let (name, version) = (args.name.as_str(), args.version.as_str());

    // What the source channel has: per kind, the records of NAME at VERSION. They stand for the files,
    // which are copied inside the store (apt's are in the one pool already): nothing is downloaded or
    // inspected again.
    let mut inputs = Inputs::none();
    let mut promoted = Vec::new();
    let mut have = BTreeSet::new();
    for k in &mut inputs.kinds {
        let from: &dyn Store = if k.at_top() { &store } else { source };
        let found = k.promote(from, from_tree.as_deref(), &from_suite, (name, version))?;
        promoted.extend(found.what);
        have.extend(found.versions);
    }
    if promoted.is_empty() {
        bail!(
            "no `{name}` {version} in channel `{}` of {}{}",
            args.from,
            store.describe(),
            if have.is_empty() {
                format!("; `{name}` is not published there at all")
            } else {
                format!("; it has {}", have.into_iter().collect::<Vec<_>>().join(", "))
            }
        );
    }
    let keys = Keys::load(
        &args.keys.files(),
        project.as_ref(),
        env,
        out,
        &inputs.signers(),
        args.txn.dry_run,
    )?;
    let txn = settings::txn_options(&args.txn.flags(), project.as_ref());
    let given = settings::Given {
        base_url: args.base_url.as_deref(),
        channel: Some(args.to.clone()),
        ..settings::Given::default()
    };
    let s = settings::resolve(project.as_ref(), &to_store, given, env.date())?;
    let options = PublishOptions {
        store: &store,
        txn: &txn,
        keys: keys.ring(),
        settings: &s,
        prune: &[],
        packages: &[],
    };
    let reports = publish_inputs(&options, inputs)?;
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
            &to_store.to_string(),
            p,
            &txn,
            &apt_cfg,
            &reports,
            (name, version),
            (&args.from, &args.to),
            &s.base_url,
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
