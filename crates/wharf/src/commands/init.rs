//! `wharf init`.

use anyhow::{Context, bail};
use serde_json::json;

use super::display;
use crate::cli::InitArgs;
use crate::env::Env;
use crate::output::Output;

pub fn run(args: &InitArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let path = env.cwd.join("wharf.toml");
    if path.exists() && !args.force {
        bail!(
            "{} already exists; edit it, or pass --force to replace it",
            path.display()
        );
    }
    // Start from Cargo.toml when there is one (name, version, maintainer, binaries).
    let cargo = wharf_config::load(
        &env.cwd.clone(),
        Some(&env.cwd.join("Cargo.toml")),
        &wharf_config::Environment::default(),
    )
    .ok();
    let dir_name = env
        .cwd
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("app")
        .to_lowercase();
    let text = match cargo.as_ref().and_then(|p| p.packages.first()) {
        Some(t) => {
            let bins: Vec<String> = t
                .files
                .iter()
                .filter_map(|f| {
                    f.src
                        .strip_prefix("target/release")
                        .ok()?
                        .to_str()
                        .map(str::to_owned)
                })
                .collect();
            let version = t
                .version
                .as_str()
                .rsplit_once('-')
                .map_or(t.version.as_str(), |(v, _)| v);
            wharf_config::init_template(
                t.name.as_str(),
                version,
                &t.meta.maintainer,
                &t.meta.summary,
                &bins,
            )
        }
        None => wharf_config::init_template(
            &dir_name,
            "0.1.0",
            "Your Name <you@example.org>",
            "one-line summary",
            std::slice::from_ref(&dir_name),
        ),
    };
    std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    out.status("Created", &display(&path));
    out.result("", &json!({ "created": display(&path) }));
    Ok(())
}
