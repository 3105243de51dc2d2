//! Key rotation (`wharf key rotate`): moves wharf.toml's `[keys] openpgp` (or apk v2's `[keys] apk`)
//! through a key rotation without a flag day.
//!
//! 1. `--add NEW`: the list becomes `[OLD, NEW]`. Every publish then signs each index with both keys
//!    (`InRelease`, `Release.gpg`, `repomd.xml.asc` carry two signatures; gpgv, sqv, librepo and zypper
//!    accept a file when any signature is by a key they hold) and publishes both public keys in the
//!    keyring files, which install.sh pins. rpm packages stay signed by OLD, the first key: rpm refuses
//!    a package with a signature by a key it lacks. zypper judges `repomd.xml` by one signature (libzypp's
//!    `KeyRingImpl::readSignatureKeyId` takes one fingerprint of the file's), which is OLD's while it is
//!    first: zypper clients need OLD, or the published keyring with both, until the retirement.
//! 2. Ship NEW to every client: the keyring files (a keyring package, install.sh), long enough for them
//!    to update.
//! 3. `--retire OLD`: the list becomes `[NEW]`; the next publish signs with NEW alone.
//!
//! The repository's state remembers the keys it was signed with, and a publish is refused when none of
//! its keys is among them: OLD → NEW directly would leave every client holding OLD alone.
//!
//! apk v2 rotates the same way: each package and APKINDEX carries one `.SIGN.RSA[256].<name>` per key,
//! and apk-tools uses the first whose name it trusts; packages published before the overlap keep the
//! old key's signature alone. usign (opkg) has one signature per file and apk v3
//! one key id per index: for those, ship the new public key first (the keyring package) and switch.
//!
//! The file is edited in place with `toml_edit` (comments and layout kept) and replaced atomically.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use wharf_sign::OpenPgpKey;
use wharf_sign::openpgp::PublicKey;

use crate::Reporter;

/// A list-capable `[keys]` entry: OpenPGP (apt, rpm-md) or apk v2's RSA keys.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    OpenPgp,
    ApkRsa,
}

impl Kind {
    fn entry(self) -> &'static str {
        match self {
            Self::OpenPgp => "openpgp",
            Self::ApkRsa => "apk",
        }
    }

    /// What identifies a key of this kind to its clients: the OpenPGP fingerprint; for apk, the name
    /// `/etc/apk/keys/` holds it under.
    fn identity(self, file: &Path) -> anyhow::Result<String> {
        let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
        Ok(match self {
            Self::OpenPgp => PublicKey::from_bytes(&bytes)
                .with_context(|| file.display().to_string())?
                .fingerprint(),
            Self::ApkRsa => crate::keys::apk_key_name(file),
        })
    }
}

/// What to do to a `[keys]` list.
#[derive(Debug, Clone)]
pub enum Change {
    /// Sign with this secret key too: OpenPGP or apk RSA, told apart by its contents.
    Add(PathBuf),
    /// Stop signing with this key: its file as `[keys]` names it, its OpenPGP fingerprint, or its apk
    /// key name.
    Retire(String),
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    /// The `[keys]` entry changed (`openpgp`, `apk`).
    pub entry: &'static str,
    /// The kind of key, for messages (`OpenPGP key`).
    pub what: &'static str,
    /// The entry's files now, in order.
    pub keys: Vec<String>,
    /// The file added or retired, as the config names it.
    pub changed: String,
    /// The key's fingerprint (OpenPGP) or name (apk).
    pub key: String,
    /// Added (or retired).
    pub added: bool,
}

/// Applies `change` to the `[keys]` lists of the wharf.toml at `path` and replaces the file
/// atomically; `passphrase` unlocks an OpenPGP key to add, held to the client policies as every signing
/// key is (warnings go to `out`).
pub fn rotate(
    path: &Path,
    change: &Change,
    passphrase: Option<&str>,
    out: &dyn Reporter,
) -> anyhow::Result<Rotated> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut doc: toml_edit::DocumentMut = text
        .parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))?;
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let (kind, added, changed, id, keys) = match change {
        Change::Add(add) => {
            let bytes = std::fs::read(add).with_context(|| format!("cannot read {}", add.display()))?;
            let kind =
                if bytes.windows(11).any(|w| w == b"PRIVATE KEY") && !bytes.starts_with(b"-----BEGIN PGP") {
                    // Must be an RSA key apk can use (an EC key is apk v3's, which signs with one key).
                    wharf_sign::ApkRsaKey::from_pem(&bytes, &crate::keys::apk_key_name(add))
                        .with_context(|| add.display().to_string())?;
                    Kind::ApkRsa
                } else {
                    let key = OpenPgpKey::from_bytes(&bytes, passphrase)
                        .with_context(|| format!("{}", add.display()))?;
                    crate::keys::check_policy(&key, &crate::keys::KeySource::Given(add.clone()), out)?;
                    Kind::OpenPgp
                };
            if kind == Kind::OpenPgp && doc.get("publish").and_then(|p| p.get("key")).is_some() {
                anyhow::bail!(
                    "{}: the key is named by [publish] key; move it to [keys] openpgp to rotate it",
                    path.display()
                );
            }
            let current = current_keys(&doc, kind.entry()).with_context(|| path.display().to_string())?;
            let id = kind.identity(add)?;
            for entry in &current {
                if kind.identity(&dir.join(entry))? == id {
                    anyhow::bail!(
                        "{} is already in [keys] {} (as {entry})",
                        add.display(),
                        kind.entry()
                    );
                }
            }
            let entry = relative_to(add, dir);
            let mut keys = current;
            keys.push(entry.clone());
            (kind, true, entry, id, keys)
        }
        Change::Retire(retire) => {
            let wanted = retire.replace(' ', "").to_uppercase();
            let mut found = None;
            let mut listed = Vec::new();
            for kind in [Kind::OpenPgp, Kind::ApkRsa] {
                let Ok(current) = current_keys(&doc, kind.entry()) else {
                    continue;
                };
                for (i, entry) in current.iter().enumerate() {
                    let id = kind.identity(&dir.join(entry))?;
                    if entry == retire || id.to_uppercase() == wanted {
                        found = Some((kind, i, current.clone(), id));
                    }
                }
                listed.extend(current);
            }
            let Some((kind, i, mut keys, id)) = found else {
                anyhow::bail!(
                    "no key in [keys] openpgp or apk is {retire} (keys: {})",
                    listed.join(", ")
                );
            };
            if keys.len() == 1 {
                anyhow::bail!(
                    "{retire} is the only signing key: a repository must stay signed; add its successor first (`wharf key rotate --add NEW`)"
                );
            }
            let entry = keys.remove(i);
            (kind, false, entry, id, keys)
        }
    };
    set_keys(&mut doc, kind.entry(), &keys);
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write beside {}", path.display()))?;
    std::io::Write::write_all(&mut tmp, doc.to_string().as_bytes())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(Rotated {
        entry: kind.entry(),
        what: match kind {
            Kind::OpenPgp => "OpenPGP key",
            Kind::ApkRsa => "apk RSA key",
        },
        keys,
        changed,
        key: id,
        added,
    })
}

/// The `[keys] <entry>` files: one path or a list of them.
fn current_keys(doc: &toml_edit::DocumentMut, entry: &str) -> anyhow::Result<Vec<String>> {
    let Some(item) = doc.get("keys").and_then(|k| k.get(entry)) else {
        anyhow::bail!("no [keys] {entry} to rotate from: name the current signing key there first");
    };
    if let Some(one) = item.as_str() {
        return Ok(vec![one.to_owned()]);
    }
    let Some(list) = item.as_array() else {
        anyhow::bail!("[keys] {entry} is neither a file nor a list of files");
    };
    list.iter()
        .map(|v| {
            v.as_str()
                .map(str::to_owned)
                .ok_or_else(|| anyhow::anyhow!("[keys] {entry} lists something other than a file name"))
        })
        .collect()
}

/// Writes the list back: a plain string for one key (as wharf.toml usually names it), else an array.
/// The spacing and comment around the old value are kept.
fn set_keys(doc: &mut toml_edit::DocumentMut, entry: &str, keys: &[String]) {
    let decor = doc["keys"][entry].as_value().map(|v| v.decor().clone());
    let mut value = match keys {
        [one] => toml_edit::Value::from(one.as_str()),
        _ => toml_edit::Value::Array(keys.iter().map(String::as_str).collect()),
    };
    if let Some(decor) = decor {
        *value.decor_mut() = decor;
    }
    doc["keys"][entry] = toml_edit::Item::Value(value);
}

/// `file` as the config names files: relative to its directory when inside it.
fn relative_to(file: &Path, dir: &Path) -> String {
    let canonical = |p: &Path| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf());
    let (f, d) = (canonical(file), canonical(dir));
    f.strip_prefix(&d)
        .map_or_else(|_| f.display().to_string(), |r| r.display().to_string())
}
