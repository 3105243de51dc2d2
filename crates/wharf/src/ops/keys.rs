//! Signing keys: loading the user's, or making (and reusing) a throwaway one for first runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use wharf_sign::{ApkEcKey, ApkRsaKey, KeyAlgorithm, OpenPgpKey, UsignKey};

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
    what: "OpenPGP key for apt and rpm-md",
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
fn apk_key_name(secret: &Path) -> String {
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
