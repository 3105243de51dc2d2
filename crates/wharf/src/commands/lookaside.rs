//! `wharf lookaside upload|get`.

use serde_json::json;
use wharf_ops::lookaside;
use wharf_ops::settings;
use wharf_verify::Source as _;

use super::{load_project, open_store, open_store_to_write};
use crate::cli::LookasideCommand;
use crate::env::Env;
use crate::output::Output;

/// The most a source file fetched over HTTP may hold.
const SOURCE_CEILING: u64 = 8 << 30;

pub fn run(command: LookasideCommand, env: &Env, out: &Output) -> anyhow::Result<()> {
    match command {
        LookasideCommand::Upload(a) => {
            let project = load_project(&a.project, env, out).ok();
            let package = package(a.package.as_deref(), project.as_ref())?;
            let to = settings::store_location(a.to.as_deref(), project.as_ref())?;
            let store = open_store_to_write(&to, &a.store, project.as_ref(), env, out)?;
            let dir = project
                .as_ref()
                .map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
            let entries = lookaside::upload(&store, &package, &a.files, &dir, out)?;
            let human: String = entries.iter().map(lookaside::Entry::line).collect();
            out.result(
                &human,
                &json!({ "package": package, "sources": entries, "store": to.to_string() }),
            );
        }
        LookasideCommand::Get(a) => {
            let project = load_project(&a.project, env, out).ok();
            let package = package(a.package.as_deref(), project.as_ref())?;
            let dir = project
                .as_ref()
                .map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
            let from = a.from.clone();
            let entries = match from.as_deref() {
                Some(url) if url.starts_with("http://") || url.starts_with("https://") => {
                    let http = wharf_verify::http::HttpSource::with_timeout(url, a.timeout)?;
                    let fetch =
                        |key: &str| -> anyhow::Result<Option<Vec<u8>>> { Ok(http.get(key, SOURCE_CEILING)?) };
                    lookaside::get(&fetch, &package, &dir, out)?
                }
                _ => {
                    let location = settings::store_location(from.as_deref(), project.as_ref())?;
                    let store = open_store(&location, &a.store, project.as_ref(), env, out)?;
                    let fetch = |key: &str| -> anyhow::Result<Option<Vec<u8>>> {
                        Ok(wharf_store::Store::get(&store, key)?)
                    };
                    lookaside::get(&fetch, &package, &dir, out)?
                }
            };
            out.result(
                &format!("{} source file(s) checked\n", entries.len()),
                &json!({ "package": package, "sources": entries }),
            );
        }
    }
    Ok(())
}

/// `--package`, else the project's name.
fn package(given: Option<&str>, project: Option<&wharf_config::Project>) -> anyhow::Result<String> {
    given
        .map(str::to_owned)
        .or_else(|| project.map(|p| p.name.clone()))
        .ok_or_else(|| anyhow::anyhow!("name the package with --package (no wharf.toml or Cargo.toml here)"))
}
