//! `wharf package`.

use serde_json::json;

use super::{builds, display, load_project, signing_key};
use crate::cli::{Format, PackageArgs};
use crate::env::Env;
use crate::ops::{keys, package, version};
use crate::output::Output;

pub fn run(args: &PackageArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let mut project = load_project(&args.project, env, out)?;
    version::apply(&mut project, args.version.as_deref(), out)?;
    // Packages are signed where a key is named (rpm headers; the ipk keyring needs the usign key), and
    // apk packages always (apk refuses unsigned ones).
    let cfg = &project.keys;
    let key = match args.key.as_deref().or(cfg.openpgp.as_deref()) {
        Some(path) => Some(signing_key(&keys::OPENPGP, Some(path), Some(&project), env, out)?),
        None => None,
    };
    let usign = match args.usign_key.as_deref().or(cfg.usign.as_deref()) {
        Some(path) => Some(signing_key(&keys::USIGN, Some(path), Some(&project), env, out)?),
        None => None,
    };
    let apk = if builds(&project, &args.formats, Format::Apk) {
        Some(signing_key(
            &keys::APK_RSA,
            args.apk_key.as_deref().or(cfg.apk.as_deref()),
            Some(&project),
            env,
            out,
        )?)
    } else {
        None
    };
    let apk3_cfg = &project.apk3;
    let apk3 =
        if builds(&project, &args.formats, Format::Apk3) && (apk3_cfg.ship_key || apk3_cfg.sign_packages) {
            Some(signing_key(
                &keys::APK_EC,
                args.apk3_key.as_deref().or(cfg.apk3.as_deref()),
                Some(&project),
                env,
                out,
            )?)
        } else {
            None
        };
    let built = package::build(
        &project,
        &package::BuildOptions {
            formats: &args.formats,
            targets: &args.targets,
            out_dir: &args.out,
            date: env.date(),
            key: key.as_ref(),
            usign: usign.as_ref(),
            apk: apk.as_ref(),
            apk3: apk3.as_ref(),
        },
        &mut |w| out.warn(&w),
    )?;
    let mut human = String::new();
    for b in &built {
        out.status(
            "Packaged",
            &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.kind()),
        );
        human.push_str(&format!("{}\n", display(&b.path)));
    }
    if key.is_none() && built.iter().any(|b| b.format == Some(Format::Rpm)) {
        out.warn("the rpm packages are unsigned (pass --key to sign them); dnf with gpgcheck=1 refuses unsigned packages");
    }
    out.result(&human, &json!({ "packages": built }));
    Ok(())
}
