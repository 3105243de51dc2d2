//! `wharf publish`.

use std::path::{Path, PathBuf};

use serde_json::json;
use wharf_config::AptConfig;
use wharf_publish::apt::{KEYRING_KEY, sources_entry};

use super::{display, load_project};
use crate::cli::{Format, PublishArgs};
use crate::env::Env;
use crate::ops::keys::{self, KeySource};
use crate::ops::package;
use crate::ops::publish::{PublishOptions, publish};
use crate::output::Output;

pub fn run(args: &PublishArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    // A project is needed to package; for explicit package files it only supplies settings.
    let project = if args.packages.is_empty() || args.project.config.is_some() {
        Some(load_project(&args.project, env, out)?)
    } else {
        load_project(&args.project, env, out).ok()
    };
    let packages: Vec<PathBuf> = if args.packages.is_empty() {
        let p = project.as_ref().ok_or_else(|| {
            anyhow::anyhow!("nothing to publish: pass package files, or run where a wharf.toml or Cargo.toml is (or use -c FILE)")
        })?;
        let built = package::build(
            p,
            &[Format::Deb],
            &args.targets,
            Path::new("dist"),
            env.date(),
            &mut |w| out.warn(&w),
        )?;
        for b in &built {
            out.status("Packaged", &format!("{} {} ({})", b.name, b.version, b.arch));
        }
        built.into_iter().map(|b| b.path).collect()
    } else {
        args.packages.clone()
    };

    let project_dir = project
        .as_ref()
        .map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
    let key_file = args.key.clone().or_else(|| {
        project
            .as_ref()
            .and_then(|p| p.publish.key.as_ref().map(|k| p.dir.join(k)))
    });
    let (key, source) = keys::load(key_file.as_deref(), &project_dir, env.key_passphrase.as_deref())?;
    if let KeySource::Given(path) = &source {
        out.detail(&format!("signing key: {}", display(path)));
    }
    if let KeySource::Throwaway { path, created } = &source {
        out.warn(&format!(
            "signing with a throwaway key ({}{}); for a real repository generate one with `wharf key generate openpgp -o keys` and pass --key keys/secret.asc",
            display(path),
            if *created { ", just created" } else { "" }
        ));
    }
    let apt = project.as_ref().map_or_else(default_apt, |p| p.apt.clone());
    let to = args
        .to
        .clone()
        .or_else(|| project.as_ref().and_then(|p| p.publish.to.clone()))
        .unwrap_or_else(|| "public".into());
    let suite = args.suite.clone().unwrap_or_else(|| apt.suite.clone());
    let component = args.component.clone().unwrap_or_else(|| apt.component.clone());
    let report = publish(&PublishOptions {
        to: &to,
        key: &key,
        apt: &apt,
        suite: &suite,
        component: &component,
        date: env.date(),
        packages: &packages,
    })?;
    for a in &report.added {
        out.status("Published", a);
    }
    for u in &report.unchanged {
        out.detail(&format!("unchanged: {u}"));
    }
    out.status(
        "Signed",
        &format!("dists/{suite}/InRelease with {}", report.fingerprint),
    );

    let root = std::path::absolute(&to).unwrap_or_else(|_| PathBuf::from(&to));
    let keyring = root.join(KEYRING_KEY);
    let uri = format!("file://{}", root.display());
    let entry = sources_entry(&uri, &suite, &[&component], &keyring);
    let human = format!(
        "Repository: {} ({} package(s) added, {} unchanged)\n\nTo use it with apt, install the key and add a source:\n  install -m 0644 {} /etc/apt/keyrings/{}.gpg\n  and write /etc/apt/sources.list.d/{}.sources:\n\n{}",
        root.display(),
        report.added.len(),
        report.unchanged.len(),
        keyring.display(),
        apt.origin,
        apt.origin,
        sources_entry(
            &uri,
            &suite,
            &[&component],
            Path::new(&format!("/etc/apt/keyrings/{}.gpg", apt.origin))
        )
    );
    out.result(
        &human,
        &json!({ "report": report, "repository": display(&root), "keyring": display(&keyring), "sources": entry }),
    );
    Ok(())
}

fn default_apt() -> AptConfig {
    AptConfig {
        origin: "wharf".into(),
        label: "wharf".into(),
        suite: "stable".into(),
        component: "main".into(),
        description: None,
        valid_for_days: None,
        architectures: Vec::new(),
    }
}
