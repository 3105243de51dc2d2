//! Signing keys: loading the user's, or making (and reusing) a throwaway one for first runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use wharf_config::Project;
use wharf_core::Signer;
use wharf_publish::kind::Keyring;
use wharf_sign::{ApkEcKey, ApkRsaKey, KeyAlgorithm, OpenPgpKey, UsignKey};

use crate::{Env, KeyFiles, Reporter};

/// Where the signing key came from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file the user gave (a flag, or `[keys]`).
    Given(PathBuf),
    /// The throwaway key under `.wharf/` (created now or earlier).
    Throwaway { path: PathBuf, created: bool },
}

/// One kind of signing key: how users name it, and how it is read and made.
pub struct Kind<K> {
    /// What it is, for messages ("OpenPGP key for apt and rpm-md").
    pub what: &'static str,
    /// The command-line flag.
    pub flag: &'static str,
    /// The `[keys]` entry.
    pub config: &'static str,
    /// The `wharf key generate` kind and the secret file it writes under `-o keys`.
    pub generate: (&'static str, &'static str),
    /// The throwaway key's file, relative to the project directory.
    pub throwaway: &'static str,
    /// Reads a secret key file (its bytes and path; the passphrase for OpenPGP).
    pub read: fn(&[u8], &Path, Option<&str>) -> anyhow::Result<K>,
    /// Makes a new key for the throwaway file `path` and returns it with its secret file's text.
    pub make: fn(&Path) -> anyhow::Result<(K, String)>,
}

/// The throwaway key's file, relative to the project directory.
pub const THROWAWAY: &str = ".wharf/throwaway-signing-key.asc";
/// The throwaway usign key's file, relative to the project directory.
pub const THROWAWAY_USIGN: &str = ".wharf/throwaway-usign-key";
/// The throwaway apk RSA key's file, relative to the project directory.
pub const THROWAWAY_APK_RSA: &str = ".wharf/throwaway-apk.rsa";
/// The throwaway apk v3 (EC) key's file, relative to the project directory.
pub const THROWAWAY_APK_EC: &str = ".wharf/throwaway-apk3.pem";

pub const OPENPGP: Kind<OpenPgpKey> = Kind {
    what: "OpenPGP key for apt, rpm-md and pacman",
    flag: "--key",
    config: "openpgp",
    generate: ("openpgp", "secret.asc"),
    throwaway: THROWAWAY,
    read: |bytes, _, passphrase| Ok(OpenPgpKey::from_bytes(bytes, passphrase)?),
    make: |_| {
        let key = OpenPgpKey::generate(
            KeyAlgorithm::Ed25519,
            "wharf throwaway key <throwaway@wharf.invalid>",
        )?;
        let text = key.to_armored_secret()?;
        Ok((key, text))
    },
};

pub const USIGN: Kind<UsignKey> = Kind {
    what: "usign key for opkg feeds",
    flag: "--usign-key",
    config: "usign",
    generate: ("usign", "key-build"),
    throwaway: THROWAWAY_USIGN,
    read: |bytes, _, _| Ok(UsignKey::from_secret_file(bytes)?),
    make: |_| {
        let key = UsignKey::generate();
        let text = key.secret_file();
        Ok((key, text))
    },
};

pub const APK_RSA: Kind<ApkRsaKey> = Kind {
    what: "RSA key for apk v2 packages and indexes",
    flag: "--apk-key",
    config: "apk",
    generate: ("apk-rsa", "wharf.rsa"),
    throwaway: THROWAWAY_APK_RSA,
    read: |bytes, path, _| Ok(ApkRsaKey::from_pem(bytes, &apk_key_name(path))?),
    make: |path| {
        let key = ApkRsaKey::generate(2048, &apk_key_name(path))?;
        let text = key.secret_pem()?;
        Ok((key, text))
    },
};

pub const APK_EC: Kind<ApkEcKey> = Kind {
    what: "EC key for apk v3 indexes",
    flag: "--apk3-key",
    config: "apk3",
    generate: ("apk-ec", "private-key.pem"),
    throwaway: THROWAWAY_APK_EC,
    read: |bytes, _, _| Ok(ApkEcKey::from_pem(bytes)?),
    make: |_| {
        let key = ApkEcKey::generate();
        let text = key.secret_pem()?;
        Ok((key, text))
    },
};

/// The name clients know an apk RSA key's public half by: the secret file's name plus `.pub`
/// (abuild-keygen's `<name>.rsa` / `<name>.rsa.pub`).
pub(crate) fn apk_key_name(secret: &Path) -> String {
    let file = secret
        .file_name()
        .map_or_else(|| "wharf.rsa".into(), |f| f.to_string_lossy().into_owned());
    format!("{file}.pub")
}

/// Loads the key file `given` (a flag or `[keys]`), else — only where the project allows throwaway keys
/// (`[keys] throwaway = true`, the quick start) — the throwaway key in `project_dir`, made on first use.
/// Without either it is an error that says how to make and name a key: a forgotten key never silently
/// becomes a new one.
pub fn load<K>(
    kind: &Kind<K>,
    given: Option<&Path>,
    project_dir: &Path,
    throwaway: bool,
    passphrase: Option<&str>,
) -> anyhow::Result<(K, KeySource)> {
    let read = |path: &Path| -> anyhow::Result<K> {
        let bytes =
            fs::read(path).with_context(|| format!("cannot read the {} {}", kind.what, path.display()))?;
        (kind.read)(&bytes, path, passphrase)
            .with_context(|| format!("cannot use the {} {}", kind.what, path.display()))
    };
    if let Some(path) = given {
        if !path.exists() {
            let (generate, file) = kind.generate;
            anyhow::bail!(
                "the {} {} does not exist; make it with `wharf key generate {generate} -o {}` (it writes {file})",
                kind.what,
                path.display(),
                path.parent()
                    .map_or_else(|| ".".into(), |p| p.display().to_string())
            );
        }
        return Ok((read(path)?, KeySource::Given(path.to_path_buf())));
    }
    if !throwaway {
        let (generate, file) = kind.generate;
        anyhow::bail!(
            "no {}: make one with `wharf key generate {generate} -o keys` and name it in wharf.toml (`[keys] {} = \"keys/{file}\"`) or with {} keys/{file}; `[keys] throwaway = true` signs with a throwaway key under .wharf/ instead, for trying wharf out",
            kind.what,
            kind.config,
            kind.flag
        );
    }
    let path = project_dir.join(kind.throwaway);
    if path.is_file() {
        return Ok((read(&path)?, KeySource::Throwaway { path, created: false }));
    }
    let (key, text) = (kind.make)(&path)?;
    write_secret(&path, &text)?;
    Ok((key, KeySource::Throwaway { path, created: true }))
}

/// The keys at `paths`, each loaded as `kind`, held to `check` and announced: those signing beside a kind's
/// first key during a rotation (never throwaway keys).
fn cosigners<K>(
    kind: &Kind<K>,
    paths: Vec<PathBuf>,
    dir: &Path,
    passphrase: Option<&str>,
    out: &dyn Reporter,
    check: impl Fn(&K, &KeySource) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<K>> {
    paths
        .iter()
        .map(|path| {
            let (key, source) = load(kind, Some(path), dir, false, passphrase)?;
            check(&key, &source)?;
            Ok(announce((key, source), kind, out))
        })
        .collect()
}

/// Holds an OpenPGP key to what the verifiers accept (`wharf_sign::policy`, as `wharf key check` does):
/// what one refuses today is an error before anything is signed; what one will refuse is a warning.
pub(crate) fn check_policy(key: &OpenPgpKey, source: &KeySource, out: &dyn Reporter) -> anyhow::Result<()> {
    let now = wharf_core::SourceDate::now().unix();
    let findings = key.public_key().policy(now);
    let name = match source {
        KeySource::Given(p) | KeySource::Throwaway { path: p, .. } => p.display().to_string(),
    };
    let mut refused = Vec::new();
    for f in findings {
        match f.level {
            wharf_sign::policy::Level::Refused => refused.push(f.text),
            wharf_sign::policy::Level::Warning => out.warn(&format!("{name}: {}", f.text)),
        }
    }
    if !refused.is_empty() {
        anyhow::bail!(
            "the OpenPGP key {name} would sign a repository clients refuse: {}; check it with `wharf key check`",
            refused.join("; ")
        );
    }
    Ok(())
}

/// Writes a secret key readable by its owner only; never overwrites.
pub fn write_secret(path: &Path, armored: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    let mut opts = fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (it must not exist yet)", path.display()))?;
    std::io::Write::write_all(&mut f, armored.as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

/// The signing keys a command holds, one per kind of key ([`Signer`]).
#[derive(Default)]
pub struct Keys {
    pub openpgp: Option<OpenPgpKey>,
    pub usign: Option<UsignKey>,
    pub apk: Option<ApkRsaKey>,
    pub apk3: Option<ApkEcKey>,
}

impl Keys {
    /// The keys, borrowed, as the publish layer takes them.
    pub fn ring(&self) -> Keyring<'_> {
        Keyring {
            openpgp: self.openpgp.as_ref(),
            usign: self.usign.as_ref(),
            apk: self.apk.as_ref(),
            apk3: self.apk3.as_ref(),
        }
    }

    /// Loads the keys of the kinds in `need`: the flags, else the project's `[keys]`, else its throwaway
    /// ones where it allows them. With `dry_run`, a kind with no key given, configured or already made
    /// gets one made in memory: a dry run decides without writing, and makes no throwaway key file.
    pub fn load(
        flags: &KeyFiles,
        project: Option<&Project>,
        env: &Env,
        out: &dyn Reporter,
        need: &[Signer],
        dry_run: bool,
    ) -> anyhow::Result<Self> {
        let cfg = project.map(|p| &p.keys);
        let dir = project.map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
        let throwaway = project.is_some_and(|p| p.keys.throwaway);
        let file = |s: Signer| -> Option<&Path> {
            let (flag, configured) = match s {
                Signer::OpenPgp => (&flags.openpgp, cfg.and_then(|c| c.openpgp.as_deref())),
                Signer::Usign => (&flags.usign, cfg.and_then(|c| c.usign.as_deref())),
                Signer::ApkRsa => (&flags.apk, cfg.and_then(|c| c.apk.as_deref())),
                Signer::ApkEc => (&flags.apk3, cfg.and_then(|c| c.apk3.as_deref())),
            };
            flag.as_deref().or(configured)
        };
        // The keys signing beside the first during a rotation: the flags' when the flag was given, else
        // the config's list (OpenPGP and apk v2 sign with several keys; usign and apk v3 with one).
        let also = |s: Signer| -> Vec<PathBuf> {
            let (flag, given, configured) = match s {
                Signer::OpenPgp => (&flags.openpgp, &flags.openpgp_also, cfg.map(|c| &c.openpgp_also)),
                Signer::ApkRsa => (&flags.apk, &flags.apk_also, cfg.map(|c| &c.apk_also)),
                Signer::Usign | Signer::ApkEc => return Vec::new(),
            };
            if flag.is_some() {
                given.clone()
            } else {
                configured.cloned().unwrap_or_default()
            }
        };
        let known = |s: Signer| {
            let made = match s {
                Signer::OpenPgp => THROWAWAY,
                Signer::Usign => THROWAWAY_USIGN,
                Signer::ApkRsa => THROWAWAY_APK_RSA,
                Signer::ApkEc => THROWAWAY_APK_EC,
            };
            file(s).is_some() || (throwaway && dir.join(made).is_file())
        };
        let passphrase = env.key_passphrase.as_deref();
        // A dry run reads only keys that exist (reading writes nothing).
        let one = |s: Signer| need.contains(&s) && (!dry_run || known(s));
        let mut keys = Self::default();
        if one(Signer::OpenPgp) {
            let (key, source) = load(&OPENPGP, file(Signer::OpenPgp), &dir, throwaway, passphrase)?;
            check_policy(&key, &source, out)?;
            let key = announce((key, source), &OPENPGP, out);
            let cosigners = cosigners(
                &OPENPGP,
                also(Signer::OpenPgp),
                &dir,
                passphrase,
                out,
                |k, source| check_policy(k, source, out),
            )?;
            keys.openpgp = Some(key.with_cosigners(cosigners));
        }
        if one(Signer::Usign) {
            keys.usign = Some(announce(
                load(&USIGN, file(Signer::Usign), &dir, throwaway, passphrase)?,
                &USIGN,
                out,
            ));
        }
        if one(Signer::ApkRsa) {
            let key = announce(
                load(&APK_RSA, file(Signer::ApkRsa), &dir, throwaway, passphrase)?,
                &APK_RSA,
                out,
            );
            let cosigners = cosigners(&APK_RSA, also(Signer::ApkRsa), &dir, passphrase, out, |_, _| {
                Ok(())
            })?;
            keys.apk = Some(key.with_cosigners(cosigners)?);
        }
        if one(Signer::ApkEc) {
            keys.apk3 = Some(announce(
                load(&APK_EC, file(Signer::ApkEc), &dir, throwaway, passphrase)?,
                &APK_EC,
                out,
            ));
        }
        if dry_run {
            let made = Self::in_memory(&need.iter().copied().filter(|s| !known(*s)).collect::<Vec<_>>())?;
            keys.openpgp = keys.openpgp.or(made.openpgp);
            keys.usign = keys.usign.or(made.usign);
            keys.apk = keys.apk.or(made.apk);
            keys.apk3 = keys.apk3.or(made.apk3);
        }
        Ok(keys)
    }

    /// Keys made in memory for the kinds in `need`, written nowhere: for a dry run, whose signatures are
    /// never kept.
    pub fn in_memory(need: &[Signer]) -> anyhow::Result<Self> {
        let has = |s| need.contains(&s);
        Ok(Self {
            openpgp: has(Signer::OpenPgp)
                .then(|| OpenPgpKey::generate(KeyAlgorithm::Ed25519, "dry run <dry@run.invalid>"))
                .transpose()?,
            usign: has(Signer::Usign).then(UsignKey::generate),
            apk: has(Signer::ApkRsa)
                .then(|| ApkRsaKey::generate(2048, "dry-run.rsa.pub"))
                .transpose()?,
            apk3: has(Signer::ApkEc).then(ApkEcKey::generate),
        })
    }
}

/// Says where a key came from (a throwaway one with a warning) and hands it on.
fn announce<K>((key, source): (K, KeySource), kind: &Kind<K>, out: &dyn Reporter) -> K {
    match &source {
        KeySource::Given(path) => out.detail(&format!("{}: {}", kind.what, path.display())),
        KeySource::Throwaway { path, created } => out.warn(&format!(
            "signing with a throwaway {} ({}{}); for a real repository make one with `wharf key generate {} -o keys` and name it in [keys] {}",
            kind.what,
            path.display(),
            if *created { ", just created" } else { "" },
            kind.generate.0,
            kind.config,
        )),
    }
    key
}

/// The kinds of key packages of these formats are signed (and published) with.
pub fn signers(formats: &[wharf_core::Format]) -> Vec<Signer> {
    let mut s: Vec<Signer> = formats.iter().map(|f| f.repo_kind().signer()).collect();
    s.sort();
    s.dedup();
    s
}
