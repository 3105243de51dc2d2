//! `wharf key rotate`: the flags → [`wharf_ops::rotate::rotate`], which edits wharf.toml's `[keys]`.

use std::path::PathBuf;

use serde_json::json;
use wharf_ops::rotate::{Change, rotate};

use crate::cli::KeyRotateArgs;
use crate::output::Output;

pub fn run(args: &KeyRotateArgs, out: &Output) -> anyhow::Result<()> {
    let env = crate::env::read()?;
    let path = args.config.clone().unwrap_or_else(|| PathBuf::from("wharf.toml"));
    let change = match (&args.add, &args.retire) {
        (Some(add), _) => Change::Add(add.clone()),
        (None, Some(retire)) => Change::Retire(retire.clone()),
        (None, None) => anyhow::bail!("say --add NEW or --retire OLD"),
    };
    let r = rotate(&path, &change, env.key_passphrase.as_deref(), out)?;
    let verb = if r.added { "Added" } else { "Retired" };
    out.status(
        verb,
        &format!("{} {} ({}) in {}", r.what, r.key, r.changed, path.display()),
    );
    let next = if r.added {
        "next: publish — every index is signed by each key and the keys are published beside them (install.sh pins them); ship them to your users; once they have them, `wharf key rotate --retire OLD`"
    } else {
        "next: publish — the indexes are signed by the remaining key(s) alone; clients holding only the retired key refuse the repository from then on"
    };
    out.result(
        &format!("[keys] {} = [{}]\n{next}\n", r.entry, r.keys.join(", ")),
        &json!({ "config": path, "entry": r.entry, "keys": r.keys, "changed": r.changed, "key": r.key, "action": verb.to_lowercase() }),
    );
    Ok(())
}
