//! `wharf ci generate|check`.

use serde_json::json;
use wharf_ops::ci::{self, Forge};

use super::load_project;
use crate::cli::CiCommand;
use crate::env::Env;
use crate::output::Output;

pub fn run(command: &CiCommand, env: &Env, out: &Output) -> anyhow::Result<()> {
    let (CiCommand::Generate(a) | CiCommand::Check(a)) = command;
    let project = load_project(&a.project, env, out)?;
    let forge = Forge::from(a.forge);
    let text = ci::generate(&project, forge)?;
    let path = a
        .out
        .clone()
        .unwrap_or_else(|| project.dir.join(forge.default_path()));
    if let CiCommand::Check(_) = command {
        ci::check(&path, &text)?;
        out.result(
            &format!("{} is what `wharf ci generate` writes\n", path.display()),
            &json!({ "file": path, "current": true }),
        );
        return Ok(());
    }
    let changed = ci::write(&path, &text)?;
    out.status(
        if changed { "Wrote" } else { "Unchanged" },
        &path.display().to_string(),
    );
    out.result(
        &format!("{}\n", path.display()),
        &json!({ "file": path, "changed": changed }),
    );
    Ok(())
}
