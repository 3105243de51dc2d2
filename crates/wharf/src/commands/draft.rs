//! `wharf release publish VERSION` and `wharf release delete VERSION`: a draft release made public, or
//! removed.

use serde_json::json;
use wharf_ops::keys::Keys;
use wharf_ops::release::{DraftOptions, delete_draft, publish_draft};
use wharf_ops::settings;

use super::{load_project, open_store_to_write};
use crate::cli::DraftCommand;
use crate::env::Env;
use crate::output::Output;

pub fn run(command: &DraftCommand, env: &Env, out: &Output) -> anyhow::Result<()> {
    let (DraftCommand::Publish(a) | DraftCommand::Delete(a)) = command;
    let project = load_project(&a.project, env, out)?;
    let to = settings::store_location(a.to.as_deref(), Some(&project))?;
    let store = open_store_to_write(&to, &a.store, Some(&project), env, out)?;
    let txn = settings::txn_options(&a.txn.flags(), Some(&project));
    let connect = a.registry.connect(env)?;
    let options = DraftOptions {
        store: &store,
        to: &to,
        version: &a.version,
        txn: &txn,
        base_url: a.base_url.as_deref(),
        now: env.date(),
        connect: &connect,
    };
    if let DraftCommand::Delete(_) = command {
        let deleted = delete_draft(&options, out)?;
        out.result(
            &format!("draft {} deleted ({} file(s))\n", a.version, deleted.len()),
            &json!({ "deleted": deleted, "version": a.version }),
        );
        return Ok(());
    }
    // The keys of the kinds the draft's packages go into, known once its manifest is read.
    let keys =
        |need: &[wharf_core::Signer]| Keys::load(&a.keys.files(), Some(&project), env, out, need, false);
    let p = publish_draft(&project, &options, &keys, out)?;
    let rel = |path: &str| format!("{}/{path}", p.base_url);
    out.result(
        &format!(
            "Release {} {} published:\n  files         {}\n  pointer       {} → {}\n  release page  {}\n",
            p.manifest.project,
            p.manifest.version,
            rel(&format!("{}/", p.dir)),
            rel(&p.front.pointer),
            p.front.newest,
            rel("index.html")
        ),
        &json!({ "manifest": p.manifest, "reports": p.reports, "pointer": p.front.pointer, "store_calls": store.calls() }),
    );
    Ok(())
}
