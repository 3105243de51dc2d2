//! One file per verb; each turns its arguments into one `ops` call and prints the result.

mod ci;
mod draft;
mod image;
mod init;
mod key;
mod key_check;
mod key_rotate;
mod lookaside;
mod package;
mod promote;
mod prune;
mod publish;
mod release;
mod serve;
mod verify;

use std::path::Path;

use anyhow::Context as _;

use wharf_config::Project;
use wharf_store::{Counted, Store, StoreUrl};

use crate::cli::{Command, ProjectArgs, StoreArgs};
use crate::env::Env;
use crate::output::Output;

pub fn run(command: Command, env: &Env, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Init(a) => init::run(&a, env, out),
        Command::Package(a) => package::run(&a, env, out),
        Command::Publish(a) => publish::run(&a, env, out),
        Command::Prune(a) => prune::run(&a, env, out),
        Command::Promote(a) => promote::run(&a, env, out),
        Command::Release(a) => match &a.action {
            Some(d) => draft::run(d, env, out),
            None => release::run(&a, env, out),
        },
        Command::Serve(a) => serve::run(&a, env, out),
        Command::Verify(a) => verify::run(&a, env, out),
        Command::Key(k) => key::run(k, out),
        Command::Lookaside(c) => lookaside::run(c, env, out),
        Command::Ci(c) => ci::run(&c, env, out),
        Command::Image(a) => image::run(&a, env, out),
        Command::Completions(a) => {
            let mut cli = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut text = Vec::new();
            clap_complete::generate(a.shell, &mut cli, "wharf", &mut text);
            out.result(&String::from_utf8_lossy(&text), &serde_json::json!({ "shell": a.shell.to_string(), "script": String::from_utf8_lossy(&text) }));
            Ok(())
        }
        Command::Man(a) => man(a.out_dir.as_deref(), out),
    }
}

/// wharf(1) on stdout, or with `dir` one page per command written there (`wharf-publish.1`, …).
fn man(dir: Option<&Path>, out: &Output) -> anyhow::Result<()> {
    let cli = <crate::cli::Cli as clap::CommandFactory>::command();
    let render = |cmd: clap::Command| -> anyhow::Result<Vec<u8>> {
        let mut text = Vec::new();
        clap_mangen::Man::new(cmd).render(&mut text)?;
        Ok(text)
    };
    let Some(dir) = dir else {
        let text = render(cli)?;
        let text = String::from_utf8_lossy(&text);
        out.result(&text, &serde_json::json!({ "man": text }));
        return Ok(());
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = Vec::new();
    let pages = std::iter::once(("wharf".to_owned(), cli.clone())).chain(cli.get_subcommands().map(|c| {
        (
            format!("wharf-{}", c.get_name()),
            c.clone().name(format!("wharf-{}", c.get_name())),
        )
    }));
    for (name, cmd) in pages {
        let path = dir.join(format!("{name}.1"));
        std::fs::write(&path, render(cmd)?).with_context(|| format!("cannot write {}", path.display()))?;
        out.status("Wrote", &display(&path));
        written.push(display(&path));
    }
    out.result("", &serde_json::json!({ "pages": written }));
    Ok(())
}

/// Loads the project named by `-c`, or found in the current directory.
fn load_project(args: &ProjectArgs, env: &Env, out: &Output) -> anyhow::Result<Project> {
    wharf_ops::project::load(args.config.as_deref(), env, out)
}

/// Opens the store to read.
fn open_store(
    to: &StoreUrl,
    args: &StoreArgs,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
) -> anyhow::Result<Counted<Box<dyn Store>>> {
    wharf_ops::project::open_store(to, &args.flags(), project, env, out)
}

/// Opens the store to write (refused over the project, its `.wharf/` or `dist/`).
fn open_store_to_write(
    to: &StoreUrl,
    args: &StoreArgs,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
) -> anyhow::Result<Counted<Box<dyn Store>>> {
    wharf_ops::project::open_store_to_write(to, &args.flags(), project, env, out)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
