//! One file per verb; each turns its arguments into one `ops` call and prints the result.

mod init;
mod key;
mod package;
mod publish;

use std::path::Path;

use wharf_config::{Environment, Project};

use crate::cli::{Command, ProjectArgs};
use crate::env::Env;
use crate::output::Output;

pub fn run(command: Command, env: &Env, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Init(a) => init::run(&a, env, out),
        Command::Package(a) => package::run(&a, env, out),
        Command::Publish(a) => publish::run(&a, env, out),
        Command::Key(k) => key::run(k, out),
    }
}

/// Loads the project named by `-c`, or found in the current directory.
fn load_project(args: &ProjectArgs, env: &Env, out: &Output) -> anyhow::Result<Project> {
    let e = Environment {
        cargo_target_dir: env.cargo_target_dir.clone(),
    };
    let project = wharf_config::load(&env.cwd, args.config.as_deref(), &e)?;
    out.detail(&format!("configuration: {}", project.source.display()));
    for w in &project.warnings {
        out.warn(w);
    }
    Ok(project)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
