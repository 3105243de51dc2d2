//! One file per verb; each turns its arguments into one `ops` call and prints the result.

mod init;
mod key;
mod package;
mod publish;

use std::path::Path;

use wharf_config::{Environment, FormatChoice, Project};

use crate::cli::{Command, Format, ProjectArgs};
use crate::env::Env;
use crate::ops::keys::{self, KeySource};
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

/// Whether packaging `project` with the command line's `formats` (empty: the project's) builds `format`.
fn builds(project: &Project, formats: &[Format], format: Format) -> bool {
    if formats.is_empty() {
        project.formats.iter().any(|f| {
            matches!(
                (f, format),
                (FormatChoice::Deb, Format::Deb)
                    | (FormatChoice::Rpm, Format::Rpm)
                    | (FormatChoice::Ipk, Format::Ipk)
                    | (FormatChoice::Apk, Format::Apk)
                    | (FormatChoice::Apk3, Format::Apk3)
            )
        })
    } else {
        formats.contains(&format)
    }
}

/// Loads the apk RSA key (given, or the project's throwaway one, with a warning).
fn apk_rsa_key(explicit: Option<&Path>, dir: &Path, out: &Output) -> anyhow::Result<wharf_sign::ApkRsaKey> {
    let (key, source) = keys::load_apk_rsa(explicit, dir)?;
    if let KeySource::Throwaway { path, .. } = &source {
        out.warn(&format!(
            "signing apk packages with a throwaway RSA key ({}); generate one with `wharf key generate apk-rsa -o keys` and pass --apk-key keys/wharf.rsa",
            display(path)
        ));
    }
    Ok(key)
}

/// Loads the apk v3 EC key (given, or the project's throwaway one, with a warning).
fn apk_ec_key(explicit: Option<&Path>, dir: &Path, out: &Output) -> anyhow::Result<wharf_sign::ApkEcKey> {
    let (key, source) = keys::load_apk_ec(explicit, dir)?;
    if let KeySource::Throwaway { path, .. } = &source {
        out.warn(&format!(
            "signing apk v3 with a throwaway EC key ({}); generate one with `wharf key generate apk-ec -o keys` and pass --apk3-key keys/private-key.pem",
            display(path)
        ));
    }
    Ok(key)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}
