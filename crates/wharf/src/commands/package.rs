//! `wharf package`.

use serde_json::json;

use super::{apk_ec_key, apk_rsa_key, builds, display, load_project};
use crate::cli::{Format, PackageArgs};
use crate::env::Env;
use crate::ops::{keys, package};
use crate::output::Output;

pub fn run(args: &PackageArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    let project = load_project(&args.project, env, out)?;
    let key = match &args.key {
        Some(path) => Some(keys::load(Some(path), &project.dir, env.key_passphrase.as_deref())?.0),
        None => None,
    };
    let usign = match &args.usign_key {
        Some(path) => Some(keys::load_usign(Some(path), &project.dir)?.0),
        None => None,
    };
    let apk = if builds(&project, &args.formats, Format::Apk) {
        Some(apk_rsa_key(args.apk_key.as_deref(), &project.dir, out)?)
    } else {
        None
    };
    let apk3_cfg = project.apk3;
    let apk3 =
        if builds(&project, &args.formats, Format::Apk3) && (apk3_cfg.ship_key || apk3_cfg.sign_packages) {
            Some(apk_ec_key(args.apk3_key.as_deref(), &project.dir, out)?)
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
            &format!("{} {} ({}, {})", b.name, b.version, b.arch, b.format),
        );
        human.push_str(&format!("{}\n", display(&b.path)));
    }
    if key.is_none() && built.iter().any(|b| b.format == "rpm") {
        out.warn("the rpm packages are unsigned (pass --key to sign them); dnf with gpgcheck=1 refuses unsigned packages");
    }
    out.result(&human, &json!({ "packages": built }));
    Ok(())
}
