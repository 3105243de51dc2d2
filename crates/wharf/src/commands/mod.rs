//! One file per verb; each turns its arguments into one `ops` call and prints the result.

mod init;
mod key;
mod package;
mod promote;
mod prune;
mod publish;
mod release;
mod serve;
mod verify;

use std::path::Path;

use wharf_config::{Environment, Project};
use wharf_publish::txn::TxnOptions;
use wharf_store::{Counted, S3Options, Store, StoreUrl};

use crate::cli::{Command, Format, ProjectArgs, StoreArgs, TxnArgs};
use crate::env::Env;
use crate::ops::keys::{self, KeySource};
use crate::output::Output;

pub(crate) use crate::ops::release::ROOT_CHANNEL;

/// The base URL from the command line, else the project's `[publish] base-url`, normalised
/// ([`crate::ops::publish::normalize_url`]).
fn given_base_url(arg: Option<&str>, project: Option<&Project>) -> anyhow::Result<Option<String>> {
    arg.or_else(|| project.and_then(|p| p.publish.base_url.as_deref()))
        .map(crate::ops::publish::normalize_url)
        .transpose()
}

/// A channel as the store lays it out: `None` (the top) for the root channel.
pub(crate) fn channel_tree(channel: Option<String>) -> Option<String> {
    channel.filter(|c| c != ROOT_CHANNEL)
}

pub fn run(command: Command, env: &Env, out: &Output) -> anyhow::Result<()> {
    match command {
        Command::Init(a) => init::run(&a, env, out),
        Command::Package(a) => package::run(&a, env, out),
        Command::Publish(a) => publish::run(&a, env, out),
        Command::Prune(a) => prune::run(&a, env, out),
        Command::Promote(a) => promote::run(&a, env, out),
        Command::Release(a) => release::run(&a, env, out),
        Command::Serve(a) => serve::run(&a, env, out),
        Command::Verify(a) => verify::run(&a, env, out),
        Command::Key(k) => key::run(k, out),
        Command::Completions(a) => {
            let mut cli = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut text = Vec::new();
            clap_complete::generate(a.shell, &mut cli, "wharf", &mut text);
            out.result(&String::from_utf8_lossy(&text), &serde_json::json!({ "shell": a.shell.to_string(), "script": String::from_utf8_lossy(&text) }));
            Ok(())
        }
        Command::Man => {
            let cli = <crate::cli::Cli as clap::CommandFactory>::command();
            let mut text = Vec::new();
            clap_mangen::Man::new(cli).render(&mut text)?;
            out.result(
                &String::from_utf8_lossy(&text),
                &serde_json::json!({ "man": String::from_utf8_lossy(&text) }),
            );
            Ok(())
        }
    }
}

/// Opens the store at `to` (flags first, then the project's `[publish]`, then `AWS_*`), counting its
/// calls, and says with `-v` how it locks.
fn open_store(
    to: &str,
    args: &StoreArgs,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
) -> anyhow::Result<Counted<Box<dyn Store>>> {
    let publish = project.map(|p| &p.publish);
    let options = S3Options {
        endpoint: args
            .s3_endpoint
            .clone()
            .or_else(|| publish.and_then(|p| p.s3_endpoint.clone())),
        region: args
            .s3_region
            .clone()
            .or_else(|| publish.and_then(|p| p.s3_region.clone())),
        lock_lease: env.lock_lease,
        credentials: None,
    };
    let store = Counted::new(StoreUrl::parse(to)?.open(&options)?);
    if out.verbose() {
        out.detail(&format!("store {}: {}", store.describe(), store.locking()?));
    }
    Ok(store)
}

/// [`open_store`] for a command that writes the store: refuses a directory that would put the repository
/// over the project (`to = ""`, `"."`, a parent of it), into its `.wharf/` (throwaway secret keys and
/// caches) or into the package output directory `dist/`.
fn open_store_to_write(
    to: &str,
    args: &StoreArgs,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
) -> anyhow::Result<Counted<Box<dyn Store>>> {
    let dir = project.map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
    check_store_location(to, &env.cwd, &dir)?;
    open_store(to, args, project, env, out)
}

/// Where a directory store may not be, relative to the project directory `project` (paths resolved
/// from `cwd`, symbolic links followed where they exist).
fn check_store_location(to: &str, cwd: &Path, project: &Path) -> anyhow::Result<()> {
    if to.trim().is_empty() {
        anyhow::bail!(
            "the store is empty: name a directory (e.g. `public`) or s3://bucket/prefix in [publish] to or --to"
        );
    }
    let StoreUrl::Local(path) = StoreUrl::parse(to)? else {
        return Ok(());
    };
    let resolve = |p: &Path| -> std::path::PathBuf {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        // Lexically first (`a/../b`), then through the links of the part that exists.
        let mut clean = std::path::PathBuf::new();
        for c in abs.components() {
            match c {
                std::path::Component::ParentDir => {
                    clean.pop();
                }
                std::path::Component::CurDir => {}
                other => clean.push(other),
            }
        }
        let mut existing = clean.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name().map(ToOwned::to_owned), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = existing.canonicalize().unwrap_or(existing);
        out.extend(rest.into_iter().rev());
        out
    };
    let store = resolve(&path);
    let project = resolve(project);
    let why = if project.starts_with(&store) {
        Some("it contains the project itself, with its sources and the secret keys in `.wharf/`")
    } else if store.starts_with(project.join(".wharf")) {
        Some("it is inside `.wharf/`, where wharf keeps secret keys and its own state")
    } else if store.starts_with(project.join("dist")) {
        Some("it is inside `dist/`, where `wharf package` writes its packages")
    } else {
        None
    };
    match why {
        Some(why) => anyhow::bail!(
            "refusing to publish into {}: {why}; use a directory of its own, such as `public`",
            store.display()
        ),
        None => Ok(()),
    }
}

/// The transaction settings: flags first, then the project's `[publish]`, then the defaults.
fn txn_options(args: &TxnArgs, project: Option<&Project>) -> TxnOptions {
    let publish = project.map(|p| &p.publish);
    let d = TxnOptions::default();
    TxnOptions {
        lock_wait: args
            .lock_wait
            .or_else(|| publish.and_then(|p| p.lock_wait))
            .unwrap_or(d.lock_wait),
        grace: args
            .grace
            .or_else(|| publish.and_then(|p| p.grace_period))
            .unwrap_or(d.grace),
        keep: args
            .keep
            .map(|k| k as usize)
            .or_else(|| publish.and_then(|p| p.keep)),
        dry_run: args.dry_run,
        ..d
    }
}

/// The `[rpm]` and `[apk]` settings every re-indexing command passes on (defaults without a project).
pub(crate) fn md_compression(project: Option<&Project>) -> wharf_config::MetadataCompression {
    project.map(|p| p.rpm.metadata_compression).unwrap_or_default()
}

/// The project's `[apt]` settings (which also name the rpm key and `.repo` files), or the defaults.
pub(crate) fn apt_config(project: Option<&Project>) -> wharf_config::AptConfig {
    project.map_or_else(
        || wharf_config::AptConfig {
            origin: "wharf".into(),
            label: "wharf".into(),
            suite: "stable".into(),
            component: "main".into(),
            description: None,
            valid_for_days: None,
            architectures: Vec::new(),
        },
        |p| p.apt.clone(),
    )
}

/// The apk v2 signature digest the project asks for.
pub(crate) fn apk_digest(project: Option<&Project>) -> wharf_sign::RsaDigest {
    match project.map(|p| p.apk.signature).unwrap_or_default() {
        wharf_config::ApkSignature::Sha1 => wharf_sign::RsaDigest::Sha1,
        wharf_config::ApkSignature::Sha256 => wharf_sign::RsaDigest::Sha256,
    }
}

/// The signing keys of the repository kinds a command re-signs.
pub(crate) struct KindKeys {
    pub openpgp: Option<wharf_sign::OpenPgpKey>,
    pub usign: Option<wharf_sign::UsignKey>,
    pub apk: Option<wharf_sign::ApkRsaKey>,
    pub apk3: Option<wharf_sign::ApkEcKey>,
}

/// Loads the keys for the kinds named in `need` (OpenPGP, usign, apk RSA, apk EC): the flags, else the
/// project's `[keys]`, else its throwaway ones where it allows them.
fn kind_keys(
    k: &crate::cli::KeyArgs,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
    need: [bool; 4],
) -> anyhow::Result<KindKeys> {
    kind_keys_for(k, project, env, out, need, false)
}

/// [`kind_keys`]; with `dry_run`, a kind with no key given or configured gets one made in memory (a dry
/// run decides without writing: no throwaway key file is made).
fn kind_keys_for(
    k: &crate::cli::KeyArgs,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
    need: [bool; 4],
    dry_run: bool,
) -> anyhow::Result<KindKeys> {
    let cfg = project.map(|p| &p.keys);
    if dry_run {
        // A throwaway key already made is used as it is (reading it writes nothing).
        let made = |file: &str| project.is_some_and(|p| p.keys.throwaway && p.dir.join(file).is_file());
        let given = [
            k.key.is_some() || cfg.is_some_and(|c| c.openpgp.is_some()) || made(keys::THROWAWAY),
            k.usign_key.is_some() || cfg.is_some_and(|c| c.usign.is_some()) || made(keys::THROWAWAY_USIGN),
            k.apk_key.is_some() || cfg.is_some_and(|c| c.apk.is_some()) || made(keys::THROWAWAY_APK_RSA),
            k.apk3_key.is_some() || cfg.is_some_and(|c| c.apk3.is_some()) || made(keys::THROWAWAY_APK_EC),
        ];
        let mut keys = kind_keys_for(
            k,
            project,
            env,
            out,
            std::array::from_fn(|i| need[i] && given[i]),
            false,
        )?;
        let made = in_memory_keys(std::array::from_fn(|i| need[i] && !given[i]))?;
        keys.openpgp = keys.openpgp.or(made.openpgp);
        keys.usign = keys.usign.or(made.usign);
        keys.apk = keys.apk.or(made.apk);
        keys.apk3 = keys.apk3.or(made.apk3);
        return Ok(keys);
    }
    let configured =
        |f: fn(&wharf_config::KeysConfig) -> &Option<std::path::PathBuf>| cfg.and_then(|c| f(c).as_deref());
    Ok(KindKeys {
        openpgp: need[0]
            .then(|| {
                signing_key(
                    &keys::OPENPGP,
                    k.key.as_deref().or(configured(|c| &c.openpgp)),
                    project,
                    env,
                    out,
                )
            })
            .transpose()?,
        usign: need[1]
            .then(|| {
                signing_key(
                    &keys::USIGN,
                    k.usign_key.as_deref().or(configured(|c| &c.usign)),
                    project,
                    env,
                    out,
                )
            })
            .transpose()?,
        apk: need[2]
            .then(|| {
                signing_key(
                    &keys::APK_RSA,
                    k.apk_key.as_deref().or(configured(|c| &c.apk)),
                    project,
                    env,
                    out,
                )
            })
            .transpose()?,
        apk3: need[3]
            .then(|| {
                signing_key(
                    &keys::APK_EC,
                    k.apk3_key.as_deref().or(configured(|c| &c.apk3)),
                    project,
                    env,
                    out,
                )
            })
            .transpose()?,
    })
}

/// Keys made in memory for the kinds named in `need`, written nowhere: for a dry run, whose signatures are
/// never kept.
fn in_memory_keys(need: [bool; 4]) -> anyhow::Result<KindKeys> {
    use wharf_sign::{ApkEcKey, ApkRsaKey, KeyAlgorithm, OpenPgpKey, UsignKey};
    Ok(KindKeys {
        openpgp: need[0]
            .then(|| OpenPgpKey::generate(KeyAlgorithm::Ed25519, "dry run <dry@run.invalid>"))
            .transpose()?,
        usign: need[1].then(UsignKey::generate),
        apk: need[2]
            .then(|| ApkRsaKey::generate(2048, "dry-run.rsa.pub"))
            .transpose()?,
        apk3: need[3].then(ApkEcKey::generate),
    })
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
    crate::ops::package::formats_to_build(project, formats).contains(&format)
}

/// Loads a key of `kind` from `file` (a flag or `[keys]`), else the project's throwaway one where
/// `[keys] throwaway = true` (with a warning); says which.
fn signing_key<K>(
    kind: &keys::Kind<K>,
    file: Option<&Path>,
    project: Option<&Project>,
    env: &Env,
    out: &Output,
) -> anyhow::Result<K> {
    let dir = project.map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
    let throwaway = project.is_some_and(|p| p.keys.throwaway);
    let (key, source) = keys::load(kind, file, &dir, throwaway, env.key_passphrase.as_deref())?;
    match &source {
        KeySource::Given(path) => out.detail(&format!("{}: {}", kind.what, display(path))),
        KeySource::Throwaway { path, created } => out.warn(&format!(
            "signing with a throwaway {} ({}{}); for a real repository make one with `wharf key generate {} -o keys` and name it in [keys] {}",
            kind.what,
            display(path),
            if *created { ", just created" } else { "" },
            kind.generate.0,
            kind.config,
        )),
    }
    Ok(key)
}

fn display(p: &Path) -> String {
    p.display().to_string()
}

#[cfg(test)]
mod tests {
    use super::check_store_location;

    #[test]
    fn stores_over_the_project_or_its_keys_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let project = t.path().join("proj");
        std::fs::create_dir_all(project.join(".wharf")).unwrap();
        for bad in [
            "",
            " ",
            ".",
            "./",
            "..",
            ".wharf",
            ".wharf/repo",
            "dist",
            "dist/repo",
            "sub/../.",
        ] {
            let e = check_store_location(bad, &project, &project)
                .unwrap_err()
                .to_string();
            assert!(e.contains("refusing") || e.contains("empty"), "{bad}: {e}");
        }
        let abs = project.display().to_string();
        assert!(check_store_location(&abs, t.path(), &project).is_err());
        assert!(check_store_location(&format!("file://{abs}"), t.path(), &project).is_err());
        for good in ["public", "../public", "out/repo", "s3://bucket/prefix"] {
            check_store_location(good, &project, &project).unwrap();
        }
    }
}
