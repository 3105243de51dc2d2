//! usign keys and signatures (OpenWrt's signify replacement; opkg feeds' `Packages.sig`).
//!
//! Formats from usign's `main.c`: every file is `untrusted comment: …\n` + base64 + `\n`.
//! - public key: `"Ed"` + fingerprint[8] + Ed25519 public key[32];
//! - signature: `"Ed"` + fingerprint[8] + Ed25519 signature[64] (plain Ed25519 over the message);
//! - secret key: `"Ed"` + `"BK"` + kdfrounds (u32, 0: not encrypted) + salt[16] + checksum[8]
//!   (first 8 bytes of SHA-512 of the 64-byte secret) + fingerprint[8] + seed[32] + public key[32].
//!
//! The fingerprint is 8 random bytes at key generation, read big-endian (`fingerprint_u64`). Current usign
//! prints it with `%016"PRIx64` — 16 lower-case hex digits, leading zeros kept — both in `fingerprint()`
//! (the `-F` output that OpenWrt's `opkg-key add` and base-files name `/etc/opkg/keys/<fp>` by) and in
//! `verify()`'s key lookup `snprintf(buf, sizeof(buf), "%s/%016"PRIx64, pubkeydir, …)` (`usign -P dir`,
//! which opkg-lede's `opkg_verify_signature` runs over `/etc/opkg/keys`). Older usign (e.g. commit
//! 939ec35) printed `%"PRIx64`, unpadded; the two spellings differ for one key in 16 (a fingerprint whose
//! first nibble is 0), so [`UsignKey::fingerprint`] is the padded name clients look up and
//! [`UsignKey::legacy_name`] the other name a key is also shipped under when they differ. OpenBSD's
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

    /// The fingerprint as usign prints it (`%016"PRIx64`: 16 lower-case hex digits, leading zeros kept).
    /// opkg looks keys up by it (`usign -P /etc/opkg/keys`).
    #[must_use]
    pub fn fingerprint(&self) -> String {
        name(self.fingerprint)
    }

    /// The name older usign releases (`%"PRIx64`, unpadded) look this key up by, when it differs from
    /// [`Self::fingerprint`] (one key in 16).
    #[must_use]
    pub fn legacy_name(&self) -> Option<String> {
        legacy_name(self.fingerprint)
    }

    /// Builds a key from its parts (tests that need a given fingerprint, such as one with a leading zero).
    #[must_use]
    pub fn from_parts(fingerprint: [u8; 8], seed: [u8; 32]) -> Self {
        Self {
            fingerprint,
            key: SigningKey::from_bytes(&seed),
        }
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

/// The key file name usign gives a fingerprint (`%016"PRIx64`).
fn name(fingerprint: [u8; 8]) -> String {
    format!("{:016x}", u64::from_be_bytes(fingerprint))
}

/// The unpadded name (`%"PRIx64`) of older usign, when it differs from [`name`].
fn legacy_name(fingerprint: [u8; 8]) -> Option<String> {
    let short = format!("{:x}", u64::from_be_bytes(fingerprint));
    (short.len() < 16).then_some(short)
}

fn public_payload(fingerprint: &[u8; 8], key: &VerifyingKey) -> String {
    let mut raw = Vec::with_capacity(42);
    raw.extend_from_slice(b"Ed");
    raw.extend_from_slice(fingerprint);
    raw.extend_from_slice(key.as_bytes());
    file(&format!("usign public key {}", name(*fingerprint)), &raw)
}

/// The key fingerprint (as opkg names key files: `%016"PRIx64`) a usign public key or signature file
/// carries, or `None` when it is not one (42 bytes for a public key, 74 for a signature).
#[must_use]
pub fn fingerprint_of(file: &[u8]) -> Option<String> {
    let raw = decode(file, "file").ok()?;
    if !(raw.len() == 42 || raw.len() == 74) || &raw[..2] != b"Ed" {
        return None;
    }
    Some(name(raw[2..10].try_into().ok()?))
}

/// Whether two spellings of a usign fingerprint (padded or not, any case) name the same key.
#[must_use]
pub fn same_fingerprint(a: &str, b: &str) -> bool {
    let parse = |s: &str| (s.len() <= 16).then(|| u64::from_str_radix(s, 16).ok()).flatten();
    match (parse(a), parse(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
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
    let key = VerifyingKey::from_bytes(&key_bytes).map_err(|e| SignError::Sign(crate::scrub(e)))?;
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

    #[test]
    fn fingerprints_keep_leading_zeros() {
        // Generated keys until one's fingerprint starts with a 0 nibble (one in 16), as usign makes them.
        let k = (0..4096)
            .map(|_| UsignKey::generate())
            .find(|k| k.fingerprint[0] < 0x10)
            .expect("one key in 16 has a leading zero nibble");
        let fp = k.fingerprint();
        assert_eq!(fp.len(), 16, "{fp}");
        assert!(fp.starts_with('0'), "{fp}");
        let legacy = k.legacy_name().unwrap();
        assert_eq!(format!("{legacy:0>16}"), fp);
        assert!(same_fingerprint(&fp, &legacy));
        assert_eq!(fingerprint_of(k.public_file().as_bytes()).unwrap(), fp);
        assert_eq!(fingerprint_of(k.sign(b"x").as_bytes()).unwrap(), fp);
        assert!(
            k.public_file()
                .starts_with(&format!("untrusted comment: usign public key {fp}\n"))
        );
        assert!(
            k.sign(b"x")
                .starts_with(&format!("untrusted comment: signed by key {fp}\n"))
        );
        let fixed = UsignKey::from_parts([0, 0, 0, 1, 2, 3, 4, 5], [7; 32]);
        assert_eq!(fixed.fingerprint(), "0000000102030405");
        assert_eq!(fixed.legacy_name().as_deref(), Some("102030405"));
        let full = UsignKey::from_parts([0xf0, 0, 0, 1, 2, 3, 4, 5], [7; 32]);
        assert_eq!(full.fingerprint(), "f000000102030405");
        assert_eq!(full.legacy_name(), None);
        assert!(!same_fingerprint("0000000102030405", "f000000102030405"));
    }
}
