//! `wharf package`.

use serde_json::json;

use wharf_core::Signer;

use super::{display, load_project};
use crate::cli::{Format, PackageArgs};
use crate::env::Env;
use crate::output::Output;
use wharf_ops::keys::Keys;
use wharf_ops::{package, version};

pub fn run(args: &PackageArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let mut project = load_project(&args.project, env, out)?;
    version::apply(&mut project, args.version.as_deref(), out)?;
    // Packages are signed where a key is named (rpm headers; the ipk keyring needs the usign key), and
    // apk packages always (apk refuses unsigned ones).
    let (k, cfg) = (&args.keys, &project.keys);
    let formats = package::formats_to_build(&project, &args.formats);
    let apk3 = &project.apk3;
    let need: Vec<Signer> = [
        (Signer::OpenPgp, !k.key.is_empty() || cfg.openpgp.is_some()),
        (Signer::Usign, k.usign_key.is_some() || cfg.usign.is_some()),
        (Signer::ApkRsa, formats.contains(&Format::Apk)),
        (
            Signer::ApkEc,
            formats.contains(&Format::Apk3) && (apk3.ship_key || apk3.sign_packages),
        ),
    ]
    .into_iter()
    .filter_map(|(s, needed)| needed.then_some(s))
    .collect();
    let keys = Keys::load(&k.files(), Some(&project), env, out, &need, false)?;
    let built = package::build(
        &project,
        &package::BuildOptions {
            formats: &args.formats,
            targets: &args.targets,
            out_dir: &args.out,
            date: env.date(),
            keys: keys.ring(),
        },
        out,
    )?;
    let mut built = built;
    if args.assets {
        let version = project
            .packages
            .first()
            .map(|t| t.version.to_string())
            .unwrap_or_default();
        let (targets, out_dir, date) = (&args.targets, &args.out, env.date());
        built.extend(package::build_archives(
            &project, targets, out_dir, &version, date, out,
        )?);
        built.extend(package::build_binaries(&project, targets, out_dir, &version)?);
    }
    let mut human = String::new();
    for b in &built {
        out.status(
            "Packaged",
            &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.kind()),
        );
        human.push_str(&format!("{}\n", display(&b.path)));
    }
    if keys.openpgp.is_none() && built.iter().any(|b| b.format == Some(Format::Rpm)) {
        out.warn("the rpm packages are unsigned (pass --key to sign them); dnf with gpgcheck=1 refuses unsigned packages");
    }
    out.result(&human, &json!({ "packages": built }));
    Ok(())
}
