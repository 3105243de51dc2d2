//! usign keys and signatures (OpenWrt's signify replacement; opkg feeds' `Packages.sig`).
//!
//! Formats from usign's `main.c`: every file is `untrusted comment: …\n` + base64 + `\n`.
//! - public key: `"Ed"` + fingerprint[8] + Ed25519 public key[32];
//! - signature: `"Ed"` + fingerprint[8] + Ed25519 signature[64] (plain Ed25519 over the message);
//! - secret key: `"Ed"` + `"BK"` + kdfrounds (u32, 0: not encrypted) + salt[16] + checksum[8]
//!   (first 8 bytes of SHA-512 of the 64-byte secret) + fingerprint[8] + seed[32] + public key[32].
//!
//! The fingerprint is random at key generation and printed with `%PRIx64` — big-endian, lower-case,
//! **not** zero-padded — which is also the file name opkg looks a key up by (`usign -P dir`). OpenBSD's
//! `signify -V` verifies these public keys and signatures as they are.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest, Sha512};

use crate::SignError;

/// A usign key pair.
pub struct UsignKey {
    fingerprint: [u8; 8],
    key: SigningKey,
}

impl fmt::Debug for UsignKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UsignKey({})", self.fingerprint())
    }
}

/// Splits a usign file into its comment and decoded payload.
fn decode(text: &[u8], what: &str) -> Result<Vec<u8>, SignError> {
    let text =
        std::str::from_utf8(text).map_err(|_| SignError::NotAUsignKey(format!("the {what} is not text")))?;
    let mut lines = text.lines();
    let first = lines.next().unwrap_or("");
    if !first.starts_with("untrusted comment:") {
        return Err(SignError::NotAUsignKey(format!(
            "a usign {what} starts with `untrusted comment:`"
        )));
    }
    let body = lines.next().unwrap_or("").trim();
    B64.decode(body)
        .map_err(|_| SignError::NotAUsignKey(format!("the {what} is not valid base64")))
}

fn file(comment: &str, payload: &[u8]) -> String {
    format!("untrusted comment: {comment}\n{}\n", B64.encode(payload))
}

impl UsignKey {
    /// Generates a key pair with a random fingerprint.
    #[must_use]
    pub fn generate() -> Self {
        let mut rng = rand::thread_rng();
        let key = SigningKey::generate(&mut rng);
        let mut fingerprint = [0u8; 8];
        rand::RngCore::fill_bytes(&mut rng, &mut fingerprint);
        Self { fingerprint, key }
    }

    /// Reads a usign secret key file (unencrypted, as `usign -G` writes them).
    pub fn from_secret_file(bytes: &[u8]) -> Result<Self, SignError> {
        let raw = decode(bytes, "secret key")?;
        if raw.len() != 104 || &raw[..2] != b"Ed" || &raw[2..4] != b"BK" {
            return Err(SignError::NotAUsignKey(
                "not a usign secret key (expected `Ed`/`BK`, 104 bytes)".into(),
            ));
        }
        if raw[4..8] != [0, 0, 0, 0] {
            return Err(SignError::Locked);
        }
        let secret = &raw[40..104];
        if Sha512::digest(secret)[..8] != raw[24..32] {
            return Err(SignError::NotAUsignKey(
                "the usign secret key's checksum does not match".into(),
            ));
        }
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&raw[32..40]);
        let mut seed = [0u8; 32];
        seed.copy_from_slice(&secret[..32]);
        let key = SigningKey::from_bytes(&seed);
        if key.verifying_key().as_bytes() != &secret[32..] {
            return Err(SignError::NotAUsignKey(
                "the usign secret key's public half does not match".into(),
            ));
        }
        Ok(Self { fingerprint, key })
    }

    /// The fingerprint as usign prints it (`%PRIx64`: unpadded lower-case hex). opkg looks keys up by it.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        format!("{:x}", u64::from_be_bytes(self.fingerprint))
    }

    /// The secret key file.
    #[must_use]
    pub fn secret_file(&self) -> String {
        let mut raw = Vec::with_capacity(104);
        raw.extend_from_slice(b"EdBK");
        raw.extend_from_slice(&[0; 4]);
        let mut salt = [0u8; 16];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut salt);
        raw.extend_from_slice(&salt);
        let mut secret = [0u8; 64];
        secret[..32].copy_from_slice(self.key.as_bytes());
        secret[32..].copy_from_slice(self.key.verifying_key().as_bytes());
        raw.extend_from_slice(&Sha512::digest(secret)[..8]);
        raw.extend_from_slice(&self.fingerprint);
        raw.extend_from_slice(&secret);
        file(&format!("usign secret key {}", self.fingerprint()), &raw)
    }

    /// The public key file (what `/etc/opkg/keys/<fingerprint>` holds).
    #[must_use]
    pub fn public_file(&self) -> String {
        public_payload(&self.fingerprint, &self.key.verifying_key())
    }

    /// The signature file over `message` (deterministic: Ed25519).
    #[must_use]
    pub fn sign(&self, message: &[u8]) -> String {
        let mut raw = Vec::with_capacity(74);
        raw.extend_from_slice(b"Ed");
        raw.extend_from_slice(&self.fingerprint);
        raw.extend_from_slice(&self.key.sign(message).to_bytes());
        file(&format!("signed by key {}", self.fingerprint()), &raw)
    }
}

fn public_payload(fingerprint: &[u8; 8], key: &VerifyingKey) -> String {
    let mut raw = Vec::with_capacity(42);
    raw.extend_from_slice(b"Ed");
    raw.extend_from_slice(fingerprint);
    raw.extend_from_slice(key.as_bytes());
    file(
        &format!("usign public key {:x}", u64::from_be_bytes(*fingerprint)),
        &raw,
    )
}

/// The key fingerprint (as opkg names key files: `%PRIx64`) a usign public key or signature file
/// carries, or `None` when it is not one (42 bytes for a public key, 74 for a signature).
#[must_use]
pub fn fingerprint_of(file: &[u8]) -> Option<String> {
    let raw = decode(file, "file").ok()?;
    if !(raw.len() == 42 || raw.len() == 74) || &raw[..2] != b"Ed" {
        return None;
    }
    let fp: [u8; 8] = raw[2..10].try_into().ok()?;
    Some(format!("{:x}", u64::from_be_bytes(fp)))
}

/// Verifies a usign signature file over `message` with a public key file (as `usign -V` does).
pub fn verify(public_file: &[u8], signature_file: &[u8], message: &[u8]) -> Result<(), SignError> {
    let public = decode(public_file, "public key")?;
    let sig = decode(signature_file, "signature")?;
    if public.len() != 42 || &public[..2] != b"Ed" || sig.len() != 74 || &sig[..2] != b"Ed" {
        return Err(SignError::Sign("malformed usign public key or signature".into()));
    }
    if public[2..10] != sig[2..10] {
        return Err(SignError::Sign("the signature was made by another key".into()));
    }
    let key_bytes: [u8; 32] = public[10..]
        .try_into()
        .map_err(|_| SignError::Sign("bad public key".into()))?;
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|e| SignError::Sign(e.to_string()))?;
    let sig_bytes: [u8; 64] = sig[10..]
        .try_into()
        .map_err(|_| SignError::Sign("bad signature".into()))?;
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&sig_bytes))
        .map_err(|_| SignError::Sign("verification failed".into()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_verify() {
        let k = UsignKey::generate();
        let again = UsignKey::from_secret_file(k.secret_file().as_bytes()).unwrap();
        assert_eq!(k.fingerprint(), again.fingerprint());
        let sig = again.sign(b"Package: x\n");
        assert_eq!(sig, k.sign(b"Package: x\n"), "Ed25519 is deterministic");
        verify(k.public_file().as_bytes(), sig.as_bytes(), b"Package: x\n").unwrap();
        assert_eq!(fingerprint_of(sig.as_bytes()).unwrap(), k.fingerprint());
        assert_eq!(
            fingerprint_of(k.public_file().as_bytes()).unwrap(),
            k.fingerprint()
        );
        assert_eq!(fingerprint_of(k.secret_file().as_bytes()), None);
        assert!(verify(k.public_file().as_bytes(), sig.as_bytes(), b"Package: y\n").is_err());
        let other = UsignKey::generate();
        assert!(verify(other.public_file().as_bytes(), sig.as_bytes(), b"Package: x\n").is_err());
        assert!(UsignKey::from_secret_file(b"untrusted comment: x\nAAAA\n").is_err());
        assert!(
            k.secret_file()
                .starts_with("untrusted comment: usign secret key ")
        );
    }
}
