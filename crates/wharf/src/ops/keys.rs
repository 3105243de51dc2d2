//! Signing keys: loading the user's, or making (and reusing) a throwaway one for first runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::Context;
use wharf_sign::{ApkEcKey, ApkRsaKey, KeyAlgorithm, OpenPgpKey, UsignKey};

/// Where the signing key came from.
#[derive(Debug, Clone)]
pub enum KeySource {
    /// A key file the user gave.
    Given(PathBuf),
    /// The throwaway key under `.wharf/` (created now or earlier).
    Throwaway { path: PathBuf, created: bool },
}

/// The throwaway key's file, relative to the project directory.
pub const THROWAWAY: &str = ".wharf/throwaway-signing-key.asc";

/// Loads `explicit`, or the throwaway key in `project_dir` (creating it on first use).
pub fn load(
    explicit: Option<&Path>,
    project_dir: &Path,
    passphrase: Option<&str>,
) -> anyhow::Result<(OpenPgpKey, KeySource)> {
    if let Some(path) = explicit {
        let bytes =
            fs::read(path).with_context(|| format!("cannot read the signing key {}", path.display()))?;
        let key = OpenPgpKey::from_bytes(&bytes, passphrase)
            .with_context(|| format!("cannot use the signing key {}", path.display()))?;
        return Ok((key, KeySource::Given(path.to_path_buf())));
    }
    let path = project_dir.join(THROWAWAY);
    if path.is_file() {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let key =
            OpenPgpKey::from_bytes(&bytes, None).with_context(|| format!("cannot use {}", path.display()))?;
        return Ok((key, KeySource::Throwaway { path, created: false }));
    }
    let key = OpenPgpKey::generate(
        KeyAlgorithm::Ed25519,
        "wharf throwaway key <throwaway@wharf.invalid>",
    )?;
    write_secret(&path, &key.to_armored_secret()?)?;
    Ok((key, KeySource::Throwaway { path, created: true }))
}

/// The throwaway usign key's file, relative to the project directory.
pub const THROWAWAY_USIGN: &str = ".wharf/throwaway-usign-key";

/// Loads a usign secret key, or the throwaway one in `project_dir` (creating it on first use).
pub fn load_usign(explicit: Option<&Path>, project_dir: &Path) -> anyhow::Result<(UsignKey, KeySource)> {
    if let Some(path) = explicit {
        let bytes =
            fs::read(path).with_context(|| format!("cannot read the usign key {}", path.display()))?;
        let key = UsignKey::from_secret_file(&bytes)
            .with_context(|| format!("cannot use the usign key {}", path.display()))?;
        return Ok((key, KeySource::Given(path.to_path_buf())));
    }
    let path = project_dir.join(THROWAWAY_USIGN);
    if path.is_file() {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let key =
            UsignKey::from_secret_file(&bytes).with_context(|| format!("cannot use {}", path.display()))?;
        return Ok((key, KeySource::Throwaway { path, created: false }));
    }
    let key = UsignKey::generate();
    write_secret(&path, &key.secret_file())?;
    Ok((key, KeySource::Throwaway { path, created: true }))
}

/// The throwaway apk RSA key's file, relative to the project directory.
pub const THROWAWAY_APK_RSA: &str = ".wharf/throwaway-apk.rsa";

/// The name clients know an apk RSA key's public half by: the secret file's name plus `.pub`
/// (abuild-keygen's `<name>.rsa` / `<name>.rsa.pub`).
fn apk_key_name(secret: &Path) -> String {
    let file = secret
        .file_name()
        .map_or_else(|| "wharf.rsa".into(), |f| f.to_string_lossy().into_owned());
    format!("{file}.pub")
}

/// Loads an apk RSA secret key, or the throwaway one in `project_dir` (creating a 2048-bit one on first use).
pub fn load_apk_rsa(explicit: Option<&Path>, project_dir: &Path) -> anyhow::Result<(ApkRsaKey, KeySource)> {
    if let Some(path) = explicit {
        let bytes = fs::read(path).with_context(|| format!("cannot read the apk key {}", path.display()))?;
        let key = ApkRsaKey::from_pem(&bytes, &apk_key_name(path))
            .with_context(|| format!("cannot use the apk key {}", path.display()))?;
        return Ok((key, KeySource::Given(path.to_path_buf())));
    }
    let path = project_dir.join(THROWAWAY_APK_RSA);
    if path.is_file() {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let key = ApkRsaKey::from_pem(&bytes, &apk_key_name(&path))
            .with_context(|| format!("cannot use {}", path.display()))?;
        return Ok((key, KeySource::Throwaway { path, created: false }));
    }
    let key = ApkRsaKey::generate(2048, &apk_key_name(&path))?;
    write_secret(&path, &key.secret_pem()?)?;
    Ok((key, KeySource::Throwaway { path, created: true }))
}

/// The throwaway apk v3 (EC) key's file, relative to the project directory.
pub const THROWAWAY_APK_EC: &str = ".wharf/throwaway-apk3.pem";

/// Loads an apk v3 EC secret key, or the throwaway one in `project_dir` (creating it on first use).
pub fn load_apk_ec(explicit: Option<&Path>, project_dir: &Path) -> anyhow::Result<(ApkEcKey, KeySource)> {
    if let Some(path) = explicit {
        let bytes =
            fs::read(path).with_context(|| format!("cannot read the apk v3 key {}", path.display()))?;
        let key = ApkEcKey::from_pem(&bytes)
            .with_context(|| format!("cannot use the apk v3 key {}", path.display()))?;
        return Ok((key, KeySource::Given(path.to_path_buf())));
    }
    let path = project_dir.join(THROWAWAY_APK_EC);
    if path.is_file() {
        let bytes = fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let key = ApkEcKey::from_pem(&bytes).with_context(|| format!("cannot use {}", path.display()))?;
        return Ok((key, KeySource::Throwaway { path, created: false }));
    }
    let key = ApkEcKey::generate();
    write_secret(&path, &key.secret_pem()?)?;
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
