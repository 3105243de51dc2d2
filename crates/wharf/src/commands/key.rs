//! `wharf key generate` (and the dispatch of `wharf key check` and `wharf key rotate`).

use anyhow::Context;
use serde_json::json;
use wharf_sign::{ApkEcKey, ApkRsaKey, KeyAlgorithm, OpenPgpKey, UsignKey};

use super::display;
use crate::cli::{Algorithm, ApkEcArgs, ApkRsaArgs, GenerateKind, KeyCommand, UsignArgs};
use crate::output::Output;
use wharf_ops::keys::write_secret;

pub fn run(cmd: KeyCommand, out: &Output) -> anyhow::Result<()> {
    let a = match cmd {
        KeyCommand::Check(c) => return super::key_check::run(&c, out),
        KeyCommand::Rotate(r) => return super::key_rotate::run(&r, out),
        KeyCommand::Generate(GenerateKind::Openpgp(a)) => a,
        KeyCommand::Generate(GenerateKind::Usign(u)) => return usign(&u, out),
        KeyCommand::Generate(GenerateKind::ApkRsa(r)) => return apk_rsa(&r, out),
        KeyCommand::Generate(GenerateKind::ApkEc(e)) => return apk_ec(&e, out),
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
    refuse_existing(&[&secret, &public, &keyring])?;
    write_secret(&secret, &key.to_armored_secret()?)?;
    let pk = key.public_key();
    std::fs::write(&public, pk.to_armored()?)
        .with_context(|| format!("cannot write {}", public.display()))?;
    std::fs::write(&keyring, pk.to_binary()?)
        .with_context(|| format!("cannot write {}", keyring.display()))?;
    out.status("Generated", &format!("OpenPGP key {}", key.fingerprint()));
    let human = format!(
        "fingerprint: {}\nsecret key:  {}  (keep it private; name it in wharf.toml as [keys] openpgp, or pass --key)\npublic key:  {}\nkeyring:     {}  (for apt's Signed-By)\n",
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

/// Refuses to overwrite any of `paths`.
fn refuse_existing(paths: &[&std::path::Path]) -> anyhow::Result<()> {
    for p in paths {
        if p.exists() {
            anyhow::bail!(
                "{} already exists; choose another --out directory (keys are never overwritten)",
                p.display()
            );
        }
    }
    Ok(())
}

/// `wharf key generate apk-rsa`: `<name>.rsa` and `<name>.rsa.pub`, as abuild-keygen names them.
fn apk_rsa(a: &ApkRsaArgs, out: &Output) -> anyhow::Result<()> {
    let secret = a.out.join(format!("{}.rsa", a.name));
    let public = a.out.join(format!("{}.rsa.pub", a.name));
    refuse_existing(&[&secret, &public])?;
    let key = ApkRsaKey::generate(a.bits, &format!("{}.rsa.pub", a.name))?;
    write_secret(&secret, &key.secret_pem()?)?;
    std::fs::write(&public, key.public_pem()?)
        .with_context(|| format!("cannot write {}", public.display()))?;
    out.status(
        "Generated",
        &format!("apk RSA key {} ({} bits)", key.name(), a.bits),
    );
    let human = format!(
        "secret key:  {}  (keep it private; name it in wharf.toml as [keys] apk, or pass --apk-key)\npublic key:  {}  (install on clients as /etc/apk/keys/{})\n",
        display(&secret),
        display(&public),
        key.name()
    );
    out.result(
        &human,
        &json!({ "name": key.name(), "secret": display(&secret), "public": display(&public) }),
    );
    Ok(())
}

/// `wharf key generate apk-ec`: `private-key.pem` and `public-key.pem`, as OpenWrt's build names them.
fn apk_ec(a: &ApkEcArgs, out: &Output) -> anyhow::Result<()> {
    let secret = a.out.join("private-key.pem");
    let public = a.out.join("public-key.pem");
    refuse_existing(&[&secret, &public])?;
    let key = ApkEcKey::generate();
    write_secret(&secret, &key.secret_pem()?)?;
    std::fs::write(&public, key.public_pem()?)
        .with_context(|| format!("cannot write {}", public.display()))?;
    let id = hex::encode(key.key_id());
    out.status("Generated", &format!("apk v3 EC P-256 key {id}"));
    let human = format!(
        "key id:      {id}\nsecret key:  {}  (keep it private; name it in wharf.toml as [keys] apk3, or pass --apk3-key)\npublic key:  {}  (install on clients in /etc/apk/keys/)\n",
        display(&secret),
        display(&public)
    );
    out.result(
        &human,
        &json!({ "key_id": id, "secret": display(&secret), "public": display(&public) }),
    );
    Ok(())
}

/// `wharf key generate usign`: `key-build` and `key-build.pub`, as OpenWrt's build system names them.
fn usign(a: &UsignArgs, out: &Output) -> anyhow::Result<()> {
    let secret = a.out.join("key-build");
    let public = a.out.join("key-build.pub");
    refuse_existing(&[&secret, &public])?;
    let key = UsignKey::generate();
    write_secret(&secret, &key.secret_file())?;
    std::fs::write(&public, key.public_file())
        .with_context(|| format!("cannot write {}", public.display()))?;
    out.status("Generated", &format!("usign key {}", key.fingerprint()));
    let human = format!(
        "fingerprint: {}\nsecret key:  {}  (keep it private; name it in wharf.toml as [keys] usign, or pass --usign-key)\npublic key:  {}  (install on routers as /etc/opkg/keys/{})\n",
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
