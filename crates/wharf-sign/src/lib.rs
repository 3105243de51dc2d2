//! wharf-sign: every signature wharf makes, as "bytes in, signature out".
//!
//! Owns key generation, key loading and signing. It does no I/O of its own: callers hand it key bytes and
//! data, and get signatures back. No key material ever appears in an error message or a `Debug` output.
//!
//! Kinds implemented so far:
//! - [`openpgp`]: OpenPGP v4 keys (Ed25519 and RSA), detached signatures (`Release.gpg`,
//!   `repomd.xml.asc`) and cleartext signatures (`InRelease`), following RFC 4880/9580 as gpgv and sqv
//!   (Sequoia's verifier, apt ≥ 2.9) check them.
//! - [`apk`]: RSA keys for apk v2 (`.SIGN.RSA*` members) and ECDSA P-256 keys for apk v3 (ADB SIG blocks).
//! - [`usign`]: Ed25519 keys and signatures in usign's envelope, for opkg feeds (`Packages.sig`).

pub mod apk;
pub mod openpgp;
pub mod policy;
pub mod usign;

pub use apk::{ApkEcKey, ApkEcPublicKey, ApkRsaKey, ApkRsaPublicKey, RsaDigest};
pub use openpgp::{Checked, KeyAlgorithm, Keyring, OpenPgpKey, PublicKey, SignError};
pub use usign::UsignKey;

/// A parser's error as text that can be shown: its first line, up to the first bracket (parsers put the
/// input they choked on in `(…)`, `[…]` or `{…}` — for a key file, key bytes), at most 120 characters,
/// and no long run of base64 or hex. Every error of this crate that quotes a library's goes through it.
pub(crate) fn scrub(e: impl std::fmt::Display) -> String {
    let full = e.to_string();
    let line = full.lines().next().unwrap_or("");
    let cut = line.find(['(', '[', '{', '<', '"', '`']).unwrap_or(line.len());
    let text: String = line[..cut]
        .trim_end_matches([' ', ':', ',', '='])
        // A `Debug` of a nested error type (`… armor header Error(…)`) leaves its type's name behind.
        .trim_end_matches("Error")
        .trim_end_matches([' ', ':', ','])
        .chars()
        .take(120)
        .collect();
    let long_run = text
        .split(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '+' | '/' | '=' | '_' | '-')))
        .any(|word| word.len() >= 20);
    if text.is_empty() || long_run {
        "malformed input".into()
    } else {
        text
    }
}

/// What kind of key file `bytes` looks like, for an error that says which option takes it. Reads only
/// the armor/PEM label line and usign's comment marker, never the key material.
#[must_use]
pub fn key_file_kind(bytes: &[u8]) -> &'static str {
    let head = &bytes[..bytes.len().min(64)];
    let has = |p: &[u8]| head.trim_ascii_start().starts_with(p);
    if has(b"-----BEGIN PGP PRIVATE KEY BLOCK-----") {
        "an OpenPGP secret key"
    } else if has(b"-----BEGIN PGP PUBLIC KEY BLOCK-----") {
        "an OpenPGP public key"
    } else if has(b"-----BEGIN PGP") {
        "an OpenPGP armored file that is not a key"
    } else if has(b"-----BEGIN OPENSSH PRIVATE KEY-----") {
        "an OpenSSH private key"
    } else if has(b"-----BEGIN RSA PRIVATE KEY-----") || has(b"-----BEGIN PRIVATE KEY-----") {
        "a PEM private key (apk keys are PEM: RSA for apk v2, EC P-256 for apk v3)"
    } else if has(b"-----BEGIN EC PRIVATE KEY-----") {
        "a PEM EC private key (apk v3 keys are PEM EC P-256)"
    } else if has(b"-----BEGIN PUBLIC KEY-----") || has(b"-----BEGIN RSA PUBLIC KEY-----") {
        "a PEM public key"
    } else if has(b"untrusted comment:") {
        "a usign/signify file (opkg feed keys)"
    } else if bytes.first().is_some_and(|b| b & 0x80 != 0) {
        "binary data (an OpenPGP binary key begins like this)"
    } else {
        "a file of no known key format"
    }
}
