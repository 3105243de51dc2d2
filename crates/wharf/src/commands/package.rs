//! `wharf package`.

use serde_json::json;

use super::{display, load_project};
use crate::cli::PackageArgs;
use crate::env::Env;
use crate::ops::package;
use crate::output::Output;

pub fn run(args: &PackageArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let project = load_project(&args.project, env, out)?;
    let built = package::build(
        &project,
        &args.formats,
        &args.targets,
        &args.out,
        env.date(),
        &mut |w| out.warn(&w),
    )?;
    let mut human = String::new();
    for b in &built {
        out.status("Packaged", &format!("{} {} ({})", b.name, b.version, b.arch));
        human.push_str(&format!("{}\n", display(&b.path)));
    }
    out.result(&human, &json!({ "packages": built }));
    Ok(())
}
