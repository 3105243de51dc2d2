//! OpenPGP keys and signatures (RFC 4880 v4 packets, as read by gpgv, sqv and rpm).
//!
//! What the verifiers require, and how this module meets it (see `formats.md` §3 and §4):
//! - v4 keys only (apt 2.6's gpgv and EL8/EL9 rpm do not read v6 keys);
//! - SHA-256 self-signatures (sqv's policy rejects SHA-1 bindings) and SHA-512 data signatures;
//! - hashed subpackets: signature creation time + issuer fingerprint; unhashed: issuer key ID; none critical
//!   (rpm ≤ 4.16 rejects a critical issuer subpacket);
//! - the signature creation time is the caller's `source_date`, so two runs sign byte-identically
//!   (Ed25519 is deterministic, RSA PKCS#1 v1.5 too).

use std::fmt;
use std::io::Cursor;

use pgp::composed::{
    ArmorOptions, CleartextSignedMessage, Deserializable, DetachedSignature, KeyType, SecretKeyParamsBuilder,
    SignedPublicKey, SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{PacketTrait, Subpacket, SubpacketData};
use pgp::ser::Serialize;
use pgp::types::{KeyDetails, Password, Timestamp};

/// Why a key could not be made, read or used. Never carries key bytes.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The bytes are not an OpenPGP secret key.
    #[error(
        "not an OpenPGP secret key ({0}); pass an armored or binary secret key, e.g. from `wharf key generate openpgp`"
    )]
    NotASecretKey(String),
    /// The bytes are not a usign secret key.
    #[error(
        "not a usign secret key ({0}); pass the `key-build` file `wharf key generate usign` (or `usign -G`) wrote"
    )]
    NotAUsignKey(String),
    /// The bytes are not an apk signing key of the expected kind.
    #[error(
        "not a usable apk key ({0}); pass the secret key `wharf key generate apk-rsa` (apk v2) or `apk-ec` (apk v3) wrote"
    )]
    NotAnApkKey(String),
    /// The key is protected by a passphrase that was not given or is wrong.
    #[error(
        "the key is passphrase-protected and the passphrase is missing or wrong; set WHARF_KEY_PASSPHRASE"
    )]
    Locked,
    /// The key exists but cannot make signatures (e.g. an encryption-only key).
    #[error("the key cannot sign ({0}); use a key with signing capability")]
    CannotSign(String),
    /// Key generation failed.
    #[error("key generation failed: {0}")]
    Generate(String),
    /// Signing failed.
    #[error("signing failed: {0}")]
    Sign(String),
    /// The signature time does not fit OpenPGP's 32-bit timestamp.
    #[error("signature time {0} is outside OpenPGP's range (1970..2106)")]
    Time(i64),
}

/// The public-key algorithm of a generated key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlgorithm {
    /// EdDSA over Ed25519 in the v4 ("legacy") encoding every apt, gpgv and rpm-sequoia reads.
    Ed25519,
    /// RSA with a 4096-bit modulus: the widest reach (EL8 rpm, old gpg).
    Rsa4096,
}

/// A loaded OpenPGP secret key, ready to sign.
pub struct OpenPgpKey {
    key: SignedSecretKey,
    password: Password,
}

impl fmt::Debug for OpenPgpKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "OpenPgpKey({})", self.fingerprint())
    }
}

/// An OpenPGP public key (certificate) as published next to a repository.
#[derive(Debug, Clone)]
pub struct PublicKey {
    key: SignedPublicKey,
}

fn other(e: impl fmt::Display) -> String {
    e.to_string()
}

fn timestamp(unix: i64) -> Result<Timestamp, SignError> {
    u32::try_from(unix)
        .map(Timestamp::from_secs)
        .map_err(|_| SignError::Time(unix))
}

impl OpenPgpKey {
    /// Generates a new v4 key that can certify and sign, with SHA-256 self-signatures.
    ///
    /// `user_id` is the usual `Name <email>`.
    pub fn generate(algorithm: KeyAlgorithm, user_id: &str) -> Result<Self, SignError> {
        let key_type = match algorithm {
            KeyAlgorithm::Ed25519 => KeyType::Ed25519Legacy,
            KeyAlgorithm::Rsa4096 => KeyType::Rsa(4096),
        };
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(key_type)
            .can_certify(true)
            .can_sign(true)
            .primary_user_id(user_id.to_owned())
            .preferred_hash_algorithms(
                [HashAlgorithm::Sha512, HashAlgorithm::Sha256]
                    .into_iter()
                    .collect(),
            );
        let params = params.build().map_err(|e| SignError::Generate(other(e)))?;
        let key = params
            .generate(rand::thread_rng())
            .map_err(|e| SignError::Generate(other(e)))?;
        Ok(Self {
            key,
            password: Password::empty(),
        })
    }

    /// Reads an armored or binary secret key. `passphrase` unlocks a protected key.
    ///
    /// The key is tried once by signing a probe, so a key that cannot sign, or a wrong passphrase, is
    /// reported here rather than in the middle of a publish.
    pub fn from_bytes(bytes: &[u8], passphrase: Option<&str>) -> Result<Self, SignError> {
        let key = if bytes.starts_with(b"-----BEGIN") {
            SignedSecretKey::from_armor_single(Cursor::new(bytes))
                .map(|(k, _)| k)
                .map_err(|e| SignError::NotASecretKey(other(e)))?
        } else {
            SignedSecretKey::from_bytes(Cursor::new(bytes)).map_err(|e| SignError::NotASecretKey(other(e)))?
        };
        let password = passphrase.map(Password::from).unwrap_or_else(Password::empty);
        let key = Self { key, password };
        key.probe()?;
        Ok(key)
    }

    fn probe(&self) -> Result<(), SignError> {
        if !self.key.primary_key.public_key().algorithm().can_sign() {
            return Err(SignError::CannotSign(format!(
                "{:?}",
                self.key.primary_key.algorithm()
            )));
        }
        match self.detached(b"probe", 0) {
            Ok(_) => Ok(()),
            Err(SignError::Sign(msg))
                if msg.to_lowercase().contains("password")
                    || msg.to_lowercase().contains("passphrase")
                    || msg.to_lowercase().contains("locked")
                    || msg.to_lowercase().contains("checksum") =>
            {
                Err(SignError::Locked)
            }
            Err(SignError::Sign(msg)) => Err(SignError::CannotSign(msg)),
            Err(e) => Err(e),
        }
    }

    /// The key's v4 fingerprint, upper-case hex.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        hex_upper(self.key.fingerprint().as_bytes())
    }

    /// The public half.
    #[must_use]
    pub fn public_key(&self) -> PublicKey {
        PublicKey {
            key: self.key.to_public_key(),
        }
    }

    /// The secret key, ASCII-armored (for the owner's key file only).
    pub fn to_armored_secret(&self) -> Result<String, SignError> {
        self.key
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Generate(other(e)))
    }

    fn subpackets(&self, created: i64) -> Result<SubpacketConfig, SignError> {
        let key = &self.key.primary_key;
        // A signature dated before its key is invalid to rpm and gpg ("Bad GPG signature"): with a
        // SOURCE_DATE_EPOCH older than a fresh key, sign at the key's creation instead — still the same
        // bytes on every run with that key.
        let created = created.max(i64::from(key.created_at().as_secs()));
        let map = |e: pgp::errors::Error| SignError::Sign(other(e));
        Ok(SubpacketConfig::UserDefined {
            hashed: vec![
                Subpacket::regular(SubpacketData::SignatureCreationTime(timestamp(created)?)).map_err(map)?,
                Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint())).map_err(map)?,
            ],
            unhashed: vec![Subpacket::regular(SubpacketData::IssuerKeyId(key.legacy_key_id())).map_err(map)?],
        })
    }

    /// A binary-mode detached signature over `data`, ASCII-armored (`Release.gpg`, `repomd.xml.asc`).
    pub fn detached(&self, data: &[u8], created: i64) -> Result<String, SignError> {
        let sig = DetachedSignature::sign_binary_data_with_subpackets(
            rand::thread_rng(),
            &self.key.primary_key,
            &self.password,
            HashAlgorithm::Sha512,
            data,
            self.subpackets(created)?,
        )
        .map_err(|e| SignError::Sign(other(e)))?;
        sig.to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Sign(other(e)))
    }

    /// A binary-mode signature over `data` as one binary OpenPGP packet (with its packet header), using
    /// SHA-256: what rpm stores in a package's signature header (rpmsign's output starts `89 01`).
    pub fn signature_packet(&self, data: &mut dyn std::io::Read, created: i64) -> Result<Vec<u8>, SignError> {
        let sig = DetachedSignature::sign_binary_data_with_subpackets(
            rand::thread_rng(),
            &self.key.primary_key,
            &self.password,
            HashAlgorithm::Sha256,
            data,
            self.subpackets(created)?,
        )
        .map_err(|e| SignError::Sign(other(e)))?;
        let mut out = Vec::new();
        sig.signature
            .to_writer_with_header(&mut out)
            .map_err(|e| SignError::Sign(other(e)))?;
        Ok(out)
    }

    /// A cleartext-signed message (`InRelease`): the dash-escaped text followed by its signature.
    pub fn cleartext(&self, text: &str, created: i64) -> Result<String, SignError> {
        let key = &self.key.primary_key;
        let SubpacketConfig::UserDefined { hashed, unhashed } = self.subpackets(created)? else {
            return Err(SignError::Sign("unexpected subpacket configuration".into()));
        };
        let mut config = pgp::packet::SignatureConfig::v4(
            pgp::packet::SignatureType::Text,
            key.algorithm(),
            HashAlgorithm::Sha512,
        );
        config.hashed_subpackets = hashed;
        config.unhashed_subpackets = unhashed;
        let msg = CleartextSignedMessage::new(text, config, key, &self.password)
            .map_err(|e| SignError::Sign(other(e)))?;
        msg.to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Sign(other(e)))
    }
}

impl PublicKey {
    /// Reads an armored or binary public key (or takes the public half of a secret key).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, SignError> {
        let parsed = if bytes.starts_with(b"-----BEGIN") {
            SignedPublicKey::from_armor_single(Cursor::new(bytes)).map(|(k, _)| k)
        } else {
            SignedPublicKey::from_bytes(Cursor::new(bytes))
        };
        parsed
            .map(|key| Self { key })
            .map_err(|e| SignError::NotASecretKey(other(e)))
    }

    /// The key's v4 fingerprint, upper-case hex.
    #[must_use]
    pub fn fingerprint(&self) -> String {
        hex_upper(self.key.fingerprint().as_bytes())
    }

    /// ASCII-armored (`.asc`): what apt's `Signed-By` and rpm's `gpgkey=` accept.
    pub fn to_armored(&self) -> Result<String, SignError> {
        self.key
            .to_armored_string(ArmorOptions::default())
            .map_err(|e| SignError::Generate(other(e)))
    }

    /// Binary transferable public key: a keyring file apt's `Signed-By: /…/key.gpg` and gpgv accept.
    pub fn to_binary(&self) -> Result<Vec<u8>, SignError> {
        self.key.to_bytes().map_err(|e| SignError::Generate(other(e)))
    }
}

fn hex_upper(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02X}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_sign_is_deterministic_and_roundtrips() {
        let key = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Test <t@example.org>").unwrap();
        let armored = key.to_armored_secret().unwrap();
        let again = OpenPgpKey::from_bytes(armored.as_bytes(), None).unwrap();
        assert_eq!(key.fingerprint(), again.fingerprint());
        let a = key.detached(b"hello\n", 1_700_000_000).unwrap();
        let b = again.detached(b"hello\n", 1_700_000_000).unwrap();
        assert_eq!(a, b);
        let c = key.cleartext("Origin: x\n", 1_700_000_000).unwrap();
        assert!(
            c.starts_with("-----BEGIN PGP SIGNED MESSAGE-----\nHash: SHA512\n\nOrigin: x\n"),
            "{c}"
        );
        let public = key.public_key();
        assert_eq!(
            PublicKey::from_bytes(&public.to_binary().unwrap())
                .unwrap()
                .fingerprint(),
            key.fingerprint()
        );
        assert_eq!(
            PublicKey::from_bytes(public.to_armored().unwrap().as_bytes())
                .unwrap()
                .fingerprint(),
            key.fingerprint()
        );
    }

    #[test]
    fn garbage_is_not_a_key() {
        assert!(matches!(
            OpenPgpKey::from_bytes(b"nope", None),
            Err(SignError::NotASecretKey(_))
        ));
        let err = OpenPgpKey::from_bytes(b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxx\n", None).unwrap_err();
        assert!(err.to_string().contains("not an OpenPGP secret key"), "{err}");
    }

    #[test]
    fn signature_time_out_of_range_is_an_error() {
        let key = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "T <t@e.org>").unwrap();
        let late = 1i64 << 33;
        assert!(matches!(key.detached(b"x", late), Err(SignError::Time(t)) if t == late));
    }

    #[test]
    fn signatures_never_predate_their_key() {
        let key = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "T <t@e.org>").unwrap();
        let created = i64::from(key.key.primary_key.created_at().as_secs());
        // A SOURCE_DATE_EPOCH older than the key signs at the key's creation, the same bytes every time.
        let old = key.detached(b"x", 1_000_000).unwrap();
        assert_eq!(old, key.detached(b"x", created).unwrap());
        assert_eq!(old, key.detached(b"x", 2_000_000).unwrap());
        assert_ne!(old, key.detached(b"x", created + 10).unwrap());
    }
}
