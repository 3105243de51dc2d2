//! apk signing keys: RSA for apk v2 (`.SIGN.RSA.<keyname>` / `.SIGN.RSA256.<keyname>` members of packages
//! and `APKINDEX.tar.gz`) and ECDSA P-256 for apk v3 (the SIG block of ADB files, as OpenWrt signs
//! `packages.adb`).
//!
//! - v2 (abuild-sign, apk-tools `extract_v2.c`): RSA PKCS#1 v1.5 over SHA-1 (`RSA`, abuild's default) or
//!   SHA-256 (`RSA256`) of the signed bytes. apk finds the key by the *file name* in `/etc/apk/keys`, so a
//!   key carries its public file name (`wharf.rsa.pub`). Keys are PEM: the secret as PKCS#8 (PKCS#1
//!   `RSA PRIVATE KEY`, what `openssl genrsa` wrote before OpenSSL 3, is read too), the public as SPKI.
//! - v3 (apk-tools `adb.c`, `crypto_openssl.c`): the key is matched by `key_id` = the first 16 bytes of
//!   SHA-512 over the public key's `i2d_PublicKey` form (the 65-byte uncompressed point for EC); the
//!   signature is ECDSA over SHA-512 of the caller's message, DER-encoded as OpenSSL's `EVP_DigestSign`
//!   writes it. Nonces are RFC 6979, so signatures are deterministic. OpenWrt's key files are PEM with an
//!   `untrusted comment:` line first (OpenSSL skips text before `-----BEGIN`); both are read and written.

use std::fmt;

use p256::ecdsa::signature::hazmat::PrehashSigner;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::{
    DecodePrivateKey as _, DecodePublicKey as _, EncodePrivateKey as _, EncodePublicKey as _, LineEnding,
};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::{Pkcs1v15Sign, RsaPrivateKey};
use sha1::Sha1;
use sha2::{Digest, Sha256, Sha512};

use crate::SignError;

/// The digest of an apk v2 RSA signature; it names the signature member (`.SIGN.RSA.` / `.SIGN.RSA256.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RsaDigest {
    /// SHA-1 (`.SIGN.RSA.`): abuild's default, read by every apk-tools.
    Sha1,
    /// SHA-256 (`.SIGN.RSA256.`): apk-tools ≥ 2.10.
    #[default]
    Sha256,
}

impl RsaDigest {
    /// The algorithm part of the signature member's name.
    #[must_use]
    pub fn member_tag(self) -> &'static str {
        match self {
            Self::Sha1 => "RSA",
            Self::Sha256 => "RSA256",
        }
    }
}

/// Returns the base64 body of the PEM block labelled `label` in `text` (other blocks and any text around
/// them, such as an `untrusted comment:` line, are skipped), re-wrapped as a bare PEM document.
fn pem_block(text: &str, label: &str) -> Option<String> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = text.find(&begin)?;
    let stop = text[start..].find(&end)? + start + end.len();
    Some(format!("{}\n", &text[start..stop]))
}

fn not_key(kind: &str, why: impl fmt::Display) -> SignError {
    SignError::NotAnApkKey(format!("{kind}: {why}"))
}

/// An RSA key pair for apk v2 signatures, with the file name apk knows its public half by — and the keys
/// that sign beside it during a rotation.
///
/// A package or APKINDEX signed by several keys holds one `.SIGN.RSA[256].<name>` file per key in its
/// signature member; apk-tools uses the first whose name is a trusted key and skips the rest
/// (`apk_sign_ctx_process_file` in `src/extract_v2.c`: "Already found a signature by a trusted key; no
/// need to keep searching"), so a client holding either key accepts it.
pub struct ApkRsaKey {
    key: RsaPrivateKey,
    name: String,
    /// Keys that sign beside this one, in order ([`ApkRsaKey::with_cosigners`]).
    cosigners: Vec<ApkRsaKey>,
}

impl fmt::Debug for ApkRsaKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApkRsaKey({})", self.name)
    }
}

/// Checks a key file name as apk will look it up in `/etc/apk/keys/`.
fn check_key_name(name: &str) -> Result<(), SignError> {
    let ok = !name.is_empty()
        && !name.starts_with('.')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '@' | '+'));
    if ok {
        Ok(())
    } else {
        Err(not_key(
            "key name",
            format!("`{name}` must be a plain file name (letters, digits, `.-_@+`), e.g. `wharf.rsa.pub`"),
        ))
    }
}

impl ApkRsaKey {
    /// A new key of `bits` bits (2048 or more) whose public file will be called `name`.
    pub fn generate(bits: usize, name: &str) -> Result<Self, SignError> {
        check_key_name(name)?;
        if bits < 2048 {
            return Err(SignError::Generate(format!(
                "{bits}-bit RSA is too weak; use 2048 or more"
            )));
        }
        let key = RsaPrivateKey::new(&mut rand::rngs::OsRng, bits)
            .map_err(|e| SignError::Generate(crate::scrub(e)))?;
        Ok(Self {
            key,
            name: name.to_owned(),
            cosigners: Vec::new(),
        })
    }

    /// Loads a PEM secret key (PKCS#8 `PRIVATE KEY` or PKCS#1 `RSA PRIVATE KEY`); `name` is the file name
    /// of its public half on the clients (`/etc/apk/keys/<name>`).
    pub fn from_pem(pem: &[u8], name: &str) -> Result<Self, SignError> {
        check_key_name(name)?;
        let text = std::str::from_utf8(pem).map_err(|_| not_key("RSA", "the key file is not text"))?;
        let key = if let Some(doc) = pem_block(text, "PRIVATE KEY") {
            RsaPrivateKey::from_pkcs8_pem(&doc).map_err(|e| not_key("RSA", crate::scrub(e)))?
        } else if let Some(doc) = pem_block(text, "RSA PRIVATE KEY") {
            RsaPrivateKey::from_pkcs1_pem(&doc).map_err(|e| not_key("RSA", crate::scrub(e)))?
        } else {
            return Err(not_key(
                "RSA",
                "no `PRIVATE KEY` or `RSA PRIVATE KEY` PEM block (is this a public key, or an EC key?)",
            ));
        };
        Ok(Self {
            key,
            name: name.to_owned(),
            cosigners: Vec::new(),
        })
    }

    /// The file name clients know the public key by (`/etc/apk/keys/<name>`).
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This key signing together with `others` (a rotation's overlap). Keys are told apart by name, as
    /// apk looks them up: a second key of a name already signing is refused.
    pub fn with_cosigners(mut self, others: Vec<ApkRsaKey>) -> Result<Self, SignError> {
        for mut other in others {
            let nested = std::mem::take(&mut other.cosigners);
            for k in std::iter::once(other).chain(nested) {
                if self.signers().any(|s| s.name == k.name) {
                    return Err(not_key(
                        "key name",
                        format!(
                            "two signing keys are named `{}`: apk could not tell them apart",
                            k.name
                        ),
                    ));
                }
                self.cosigners.push(k);
            }
        }
        Ok(self)
    }

    /// Every signing key, this one first.
    pub fn signers(&self) -> impl Iterator<Item = &ApkRsaKey> {
        std::iter::once(self).chain(&self.cosigners)
    }

    /// The secret key as PKCS#8 PEM.
    pub fn secret_pem(&self) -> Result<String, SignError> {
        rsa::pkcs8::EncodePrivateKey::to_pkcs8_pem(&self.key, LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| SignError::Generate(crate::scrub(e)))
    }

    /// The public key as SPKI PEM (`openssl rsa -pubout`), what `/etc/apk/keys/<name>` holds.
    pub fn public_pem(&self) -> Result<String, SignError> {
        rsa::pkcs8::EncodePublicKey::to_public_key_pem(&self.key.to_public_key(), LineEnding::LF)
            .map_err(|e| SignError::Generate(crate::scrub(e)))
    }

    /// RSA PKCS#1 v1.5 signature of `data` with `digest` (deterministic).
    pub fn sign(&self, digest: RsaDigest, data: &[u8]) -> Result<Vec<u8>, SignError> {
        let result = match digest {
            RsaDigest::Sha1 => self.key.sign(Pkcs1v15Sign::new::<Sha1>(), &Sha1::digest(data)),
            RsaDigest::Sha256 => self
                .key
                .sign(Pkcs1v15Sign::new::<Sha256>(), &Sha256::digest(data)),
        };
        result.map_err(|e| SignError::Sign(crate::scrub(e)))
    }
}

/// An ECDSA P-256 key pair for apk v3 (ADB) signatures.
pub struct ApkEcKey {
    key: SigningKey,
}

impl fmt::Debug for ApkEcKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApkEcKey({})", hex::encode(self.key_id()))
    }
}

impl ApkEcKey {
    /// A new random key.
    #[must_use]
    pub fn generate() -> Self {
        Self {
            key: SigningKey::random(&mut rand::rngs::OsRng),
        }
    }

    /// Loads a PEM secret key: SEC1 `EC PRIVATE KEY` (what `openssl ecparam -genkey` and OpenWrt's build
    /// write) or PKCS#8 `PRIVATE KEY`, on the P-256 curve; an `untrusted comment:` line is allowed.
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignError> {
        let text = std::str::from_utf8(pem).map_err(|_| not_key("EC", "the key file is not text"))?;
        let secret = if let Some(doc) = pem_block(text, "EC PRIVATE KEY") {
            p256::SecretKey::from_sec1_pem(&doc).map_err(|e| not_key("EC P-256", crate::scrub(e)))?
        } else if let Some(doc) = pem_block(text, "PRIVATE KEY") {
            p256::SecretKey::from_pkcs8_pem(&doc).map_err(|_| {
                not_key(
                    "EC P-256",
                    "the PKCS#8 key is not an EC P-256 (prime256v1) key (an RSA key is for apk v2)",
                )
            })?
        } else {
            return Err(not_key(
                "EC P-256",
                "no `EC PRIVATE KEY` or `PRIVATE KEY` PEM block (is this a public key?)",
            ));
        };
        Ok(Self {
            key: SigningKey::from(secret),
        })
    }

    /// apk's key id: the first 16 bytes of SHA-512 over the uncompressed public point.
    #[must_use]
    pub fn key_id(&self) -> [u8; 16] {
        let point = self.key.verifying_key().to_encoded_point(false);
        let digest = Sha512::digest(point.as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        id
    }

    /// The secret key as SEC1 PEM, after an `untrusted comment:` line as OpenWrt writes its keys.
    pub fn secret_pem(&self) -> Result<String, SignError> {
        let secret = p256::SecretKey::from(&self.key);
        let pem = secret
            .to_sec1_pem(LineEnding::LF)
            .map_err(|e| SignError::Generate(crate::scrub(e)))?;
        Ok(format!(
            "untrusted comment: apk private key {}\n{}",
            hex::encode(self.key_id()),
            pem.as_str()
        ))
    }

    /// The public key as SPKI PEM after an `untrusted comment:` line: what `/etc/apk/keys/` holds.
    pub fn public_pem(&self) -> Result<String, SignError> {
        let pem = self
            .key
            .verifying_key()
            .to_public_key_pem(LineEnding::LF)
            .map_err(|e| SignError::Generate(crate::scrub(e)))?;
        Ok(format!(
            "untrusted comment: apk public key {}\n{pem}",
            hex::encode(self.key_id())
        ))
    }

    /// The PKCS#8 form of the secret key (for tools that want it).
    pub fn secret_pkcs8_pem(&self) -> Result<String, SignError> {
        p256::SecretKey::from(&self.key)
            .to_pkcs8_pem(LineEnding::LF)
            .map(|s| s.to_string())
            .map_err(|e| SignError::Generate(crate::scrub(e)))
    }

    /// ECDSA over SHA-512(`message`), DER-encoded (`openssl dgst -sha512 -verify` checks it).
    pub fn sign_sha512(&self, message: &[u8]) -> Result<Vec<u8>, SignError> {
        let sig: Signature = self
            .key
            .sign_prehash(&Sha512::digest(message))
            .map_err(|e| SignError::Sign(crate::scrub(e)))?;
        Ok(sig.to_der().as_bytes().to_vec())
    }
}

/// The public half of an apk v2 RSA key (`/etc/apk/keys/<name>`), known by its file name as apk knows it.
#[derive(Debug, Clone)]
pub struct ApkRsaPublicKey {
    key: rsa::RsaPublicKey,
    name: String,
}

impl ApkRsaPublicKey {
    /// Reads an SPKI `PUBLIC KEY` (what `openssl rsa -pubout` and abuild write) or PKCS#1 `RSA PUBLIC KEY`.
    pub fn from_pem(pem: &[u8], name: &str) -> Result<Self, SignError> {
        let text = std::str::from_utf8(pem).map_err(|_| not_key("RSA", "the key file is not text"))?;
        let key = if let Some(doc) = pem_block(text, "PUBLIC KEY") {
            rsa::pkcs8::DecodePublicKey::from_public_key_pem(&doc)
                .map_err(|e| not_key("RSA public", crate::scrub(e)))?
        } else if let Some(doc) = pem_block(text, "RSA PUBLIC KEY") {
            rsa::pkcs1::DecodeRsaPublicKey::from_pkcs1_pem(&doc)
                .map_err(|e| not_key("RSA public", crate::scrub(e)))?
        } else {
            return Err(not_key("RSA public", "no `PUBLIC KEY` PEM block"));
        };
        Ok(Self {
            key,
            name: name.to_owned(),
        })
    }

    /// The file name apk looks the key up by.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether `signature` is this key's RSA PKCS#1 v1.5 signature of `data` with `digest`.
    #[must_use]
    pub fn verify(&self, digest: RsaDigest, data: &[u8], signature: &[u8]) -> bool {
        match digest {
            RsaDigest::Sha1 => self.verify_hashed(digest, &Sha1::digest(data), signature),
            RsaDigest::Sha256 => self.verify_hashed(digest, &Sha256::digest(data), signature),
        }
    }

    /// [`Self::verify`] for data already hashed with `digest` (a package's control member).
    #[must_use]
    pub fn verify_hashed(&self, digest: RsaDigest, hashed: &[u8], signature: &[u8]) -> bool {
        let scheme = match digest {
            RsaDigest::Sha1 => Pkcs1v15Sign::new::<Sha1>(),
            RsaDigest::Sha256 => Pkcs1v15Sign::new::<Sha256>(),
        };
        self.key.verify(scheme, hashed, signature).is_ok()
    }
}

/// The public half of an apk v3 ECDSA P-256 key, known by apk's key id.
#[derive(Debug, Clone)]
pub struct ApkEcPublicKey {
    key: p256::ecdsa::VerifyingKey,
}

impl ApkEcPublicKey {
    /// Reads an SPKI `PUBLIC KEY` PEM (an `untrusted comment:` line first is allowed).
    pub fn from_pem(pem: &[u8]) -> Result<Self, SignError> {
        let text = std::str::from_utf8(pem).map_err(|_| not_key("EC", "the key file is not text"))?;
        let doc =
            pem_block(text, "PUBLIC KEY").ok_or_else(|| not_key("EC public", "no `PUBLIC KEY` PEM block"))?;
        let key = p256::PublicKey::from_public_key_pem(&doc)
            .map_err(|_| not_key("EC public", "not an EC P-256 (prime256v1) public key"))?;
        Ok(Self { key: key.into() })
    }

    /// apk's key id (first 16 bytes of SHA-512 over the uncompressed point).
    #[must_use]
    pub fn key_id(&self) -> [u8; 16] {
        let digest = Sha512::digest(self.key.to_encoded_point(false).as_bytes());
        let mut id = [0u8; 16];
        id.copy_from_slice(&digest[..16]);
        id
    }

    /// Whether `der` is this key's ECDSA signature over SHA-512(`message`).
    #[must_use]
    pub fn verify_sha512(&self, message: &[u8], der: &[u8]) -> bool {
        use p256::ecdsa::signature::hazmat::PrehashVerifier;
        Signature::from_der(der)
            .is_ok_and(|sig| self.key.verify_prehash(&Sha512::digest(message), &sig).is_ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::signature::hazmat::PrehashVerifier;

    #[test]
    fn rsa_round_trip_and_verify() {
        let key = ApkRsaKey::generate(2048, "test.rsa.pub").unwrap();
        let again = ApkRsaKey::from_pem(key.secret_pem().unwrap().as_bytes(), "test.rsa.pub").unwrap();
        let public = ApkRsaPublicKey::from_pem(key.public_pem().unwrap().as_bytes(), "test.rsa.pub").unwrap();
        let stranger = ApkRsaKey::generate(2048, "other.rsa.pub").unwrap();
        for digest in [RsaDigest::Sha1, RsaDigest::Sha256] {
            let sig = again.sign(digest, b"control").unwrap();
            assert_eq!(sig, key.sign(digest, b"control").unwrap(), "deterministic");
            assert!(public.verify(digest, b"control", &sig));
            assert!(!public.verify(digest, b"contro1", &sig), "other data");
            assert!(
                !public.verify(digest, b"control", &stranger.sign(digest, b"control").unwrap()),
                "other key"
            );
        }
        assert!(!public.verify(
            RsaDigest::Sha1,
            b"control",
            &key.sign(RsaDigest::Sha256, b"control").unwrap()
        ));
        assert!(ApkRsaKey::from_pem(key.public_pem().unwrap().as_bytes(), "x").is_err());
        assert!(ApkRsaKey::generate(2048, "../evil").is_err());
    }

    #[test]
    fn ec_round_trip_key_id_and_verify() {
        let key = ApkEcKey::generate();
        let pem = key.secret_pem().unwrap();
        assert!(pem.starts_with("untrusted comment:"));
        let again = ApkEcKey::from_pem(pem.as_bytes()).unwrap();
        assert_eq!(again.key_id(), key.key_id());
        let pkcs8 = ApkEcKey::from_pem(key.secret_pkcs8_pem().unwrap().as_bytes()).unwrap();
        assert_eq!(pkcs8.key_id(), key.key_id());
        let sig = key.sign_sha512(b"message").unwrap();
        assert_eq!(sig, again.sign_sha512(b"message").unwrap(), "RFC 6979");
        let public = ApkEcPublicKey::from_pem(key.public_pem().unwrap().as_bytes()).unwrap();
        assert_eq!(public.key_id(), key.key_id());
        assert!(public.verify_sha512(b"message", &sig));
        assert!(!public.verify_sha512(b"massage", &sig));
        assert!(!public.verify_sha512(b"message", &ApkEcKey::generate().sign_sha512(b"message").unwrap()));
        let sig = Signature::from_der(&sig).unwrap();
        key.key
            .verifying_key()
            .verify_prehash(&Sha512::digest(b"message"), &sig)
            .unwrap();
        // An RSA key is refused with a message that says so.
        let rsa = ApkRsaKey::generate(2048, "k.rsa.pub").unwrap();
        let err = ApkEcKey::from_pem(rsa.secret_pem().unwrap().as_bytes()).unwrap_err();
        assert!(err.to_string().contains("apk v2"), "{err}");
    }
}
