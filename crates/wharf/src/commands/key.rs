//! `wharf key generate openpgp`.

use anyhow::Context;
use serde_json::json;
use wharf_sign::{KeyAlgorithm, OpenPgpKey, UsignKey};

use super::display;
use crate::cli::{Algorithm, GenerateKind, KeyCommand, UsignArgs};
use crate::ops::keys::write_secret;
use crate::output::Output;

pub fn run(cmd: KeyCommand, out: &Output) -> anyhow::Result<()> {
    let a = match cmd {
        KeyCommand::Generate(GenerateKind::Openpgp(a)) => a,
        KeyCommand::Generate(GenerateKind::Usign(u)) => return usign(&u, out),
    };
    let algorithm = match a.algorithm {
        Algorithm::Ed25519 => KeyAlgorithm::Ed25519,
        Algorithm::Rsa4096 => KeyAlgorithm::Rsa4096,
    };
    if a.name.contains(['<', '>', '\n']) || a.email.contains(['<', '>', '\n', ' ']) {
        anyhow::bail!("--name and --email must not contain `<`, `>` or newlines");
    }
    let key = OpenPgpKey::generate(algorithm, &format!("{} <{}>", a.name, a.email))?;
    let secret = a.out.join("secret.asc");
    let public = a.out.join("public.asc");
    let keyring = a.out.join("keyring.gpg");
    for p in [&secret, &public, &keyring] {
        if p.exists() {
            anyhow::bail!(
                "{} already exists; choose another --out directory (keys are never overwritten)",
                p.display()
            );
        }
    }
    write_secret(&secret, &key.to_armored_secret()?)?;
    let pk = key.public_key();
    std::fs::write(&public, pk.to_armored()?)
        .with_context(|| format!("cannot write {}", public.display()))?;
    std::fs::write(&keyring, pk.to_binary()?)
        .with_context(|| format!("cannot write {}", keyring.display()))?;
    out.status("Generated", &format!("OpenPGP key {}", key.fingerprint()));
    let human = format!(
        "fingerprint: {}\nsecret key:  {}  (keep it private)\npublic key:  {}\nkeyring:     {}  (for apt's Signed-By)\n",
        key.fingerprint(),
        display(&secret),
        display(&public),
        display(&keyring)
    );
    out.result(
        &human,
        &json!({ "fingerprint": key.fingerprint(), "secret": display(&secret), "public": display(&public), "keyring": display(&keyring) }),
    );
    Ok(())
}

/// `wharf key generate usign`: `key-build` and `key-build.pub`, as OpenWrt's build system names them.
fn usign(a: &UsignArgs, out: &Output) -> anyhow::Result<()> {
    let secret = a.out.join("key-build");
    let public = a.out.join("key-build.pub");
    for p in [&secret, &public] {
        if p.exists() {
            anyhow::bail!(
                "{} already exists; choose another --out directory (keys are never overwritten)",
                p.display()
            );
        }
    }
    let key = UsignKey::generate();
    write_secret(&secret, &key.secret_file())?;
    std::fs::write(&public, key.public_file())
        .with_context(|| format!("cannot write {}", public.display()))?;
    out.status("Generated", &format!("usign key {}", key.fingerprint()));
    let human = format!(
        "fingerprint: {}\nsecret key:  {}  (keep it private)\npublic key:  {}  (install on routers as /etc/opkg/keys/{})\n",
        key.fingerprint(),
        display(&secret),
        display(&public),
        key.fingerprint()
    );
    out.result(
        &human,
        &json!({ "fingerprint": key.fingerprint(), "secret": display(&secret), "public": display(&public) }),
    );
    Ok(())
}
