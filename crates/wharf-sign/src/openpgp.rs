//! OpenPGP keys and signatures (RFC 4880 v4 packets, as read by gpgv, sqv and rpm).
//!
//! What the verifiers require, and how this module meets it (see `formats.md` §3 and §4):
//! - v4 keys only (apt 2.6's gpgv and EL8/EL9 rpm do not read v6 keys);
//! - SHA-256 self-signatures (sqv's policy rejects SHA-1 bindings) and SHA-512 data signatures;
//! - hashed subpackets: signature creation time + issuer fingerprint; unhashed: issuer key ID; none critical
//!   (rpm ≤ 4.16 rejects a critical issuer subpacket);
//! - the signature creation time is the caller's `source_date`, so two runs sign byte-identically
//!   (Ed25519 is deterministic, RSA PKCS#1 v1.5 too) — but never before the key's newest self-signature
//!   ([`OpenPgpKey::valid_from`]): sqv evaluates the certificate at the signature's time, and a key whose
//!   binding signature is younger than the data signature "is not bound" then (apt 3 says "The
//!   repository is not signed");
//! - generated keys have their self-signatures dated at the key's creation (the key packet's time), so
//!   data signatures dated at the key's creation are valid even when making the key took seconds.

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
#[non_exhaustive]
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
    /// The bytes are not an OpenPGP public key or keyring.
    #[error("not an OpenPGP public key ({0}); pass an armored (.asc) or binary (.gpg) public key or keyring")]
    NotAPublicKey(String),
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

/// A loaded OpenPGP secret key, ready to sign — with the keys that sign beside it during a rotation.
///
/// A repository signed by several keys at once (`[keys] openpgp = [OLD, NEW]`) carries one signature per
/// key in `InRelease`, `Release.gpg` and `repomd.xml.asc`, and its published keyring holds every public
/// key: gpgv, sqv (apt 3), librepo (dnf) and zypper accept a file when any signature is by a key they
/// trust, as Debian's own multi-signed `InRelease` relies on. rpm packages carry the first key's signature
/// alone: rpm counts a signature by a key it does not hold as a failure (`verifyItems` in
/// `lib/rpmchecksig.c` fails the package on any result but `RPMRC_OK`), so a second one would break every
/// client that trusts only one of the keys.
pub struct OpenPgpKey {
    key: SignedSecretKey,
    password: Password,
    /// Keys that sign every index beside this one, in order ([`OpenPgpKey::with_cosigners`]).
    cosigners: Vec<OpenPgpKey>,
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
    crate::scrub(e)
}

/// Why `bytes` did not read as an OpenPGP key: what they look like, and the parser's reason, scrubbed.
fn unreadable(bytes: &[u8], e: impl fmt::Display) -> String {
    format!("it is {}; {}", crate::key_file_kind(bytes), other(e))
}

/// `key` with each self-signature made again, dated at the key's creation. The library dates the
/// binding signatures when it makes them — after the key material, which for RSA-4096 takes seconds —
/// while the key packet carries the time generation started; data signatures at the key's creation would
/// then predate the binding, which sqv refuses ("Signing key … is not bound: No binding signature at time
/// …"). Every hashed subpacket (flags, preferences, features, primary user ID) is kept; only the creation
/// time changes.
fn bind_at_creation(mut key: SignedSecretKey) -> Result<SignedSecretKey, SignError> {
    let created = key.primary_key.created_at();
    let err = |e: pgp::errors::Error| SignError::Generate(other(e));
    let primary = key.primary_key.clone();
    for user in &mut key.details.users {
        let mut signatures = Vec::with_capacity(user.signatures.len());
        for sig in &user.signatures {
            let Some(config) = sig.config() else {
                signatures.push(sig.clone());
                continue;
            };
            let mut config = config.clone();
            for p in &mut config.hashed_subpackets {
                if matches!(p.data, SubpacketData::SignatureCreationTime(_)) {
                    *p = Subpacket::regular(SubpacketData::SignatureCreationTime(created)).map_err(err)?;
                }
            }
            let remade = config
                .sign_certification(
                    &primary,
                    primary.public_key(),
                    &Password::empty(),
                    pgp::types::Tag::UserId,
                    &user.id,
                )
                .map_err(err)?;
            signatures.push(remade);
        }
        user.signatures = signatures;
    }
    Ok(key)
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
        let key = Self {
            key: bind_at_creation(key)?,
            password: Password::empty(),
            cosigners: Vec::new(),
        };
        key.probe()?;
        Ok(key)
    }

    /// Reads an armored or binary secret key. `passphrase` unlocks a protected key.
    ///
    /// The key is tried once by signing a probe, so a key that cannot sign, or a wrong passphrase, is
    /// reported here rather than in the middle of a publish.
    pub fn from_bytes(bytes: &[u8], passphrase: Option<&str>) -> Result<Self, SignError> {
        let key = if bytes.starts_with(b"-----BEGIN") {
            SignedSecretKey::from_armor_single(Cursor::new(bytes))
                .map(|(k, _)| k)
                .map_err(|e| SignError::NotASecretKey(unreadable(bytes, e)))?
        } else {
            SignedSecretKey::from_bytes(Cursor::new(bytes))
                .map_err(|e| SignError::NotASecretKey(unreadable(bytes, e)))?
        };
        let password = passphrase.map(Password::from).unwrap_or_else(Password::empty);
        let key = Self {
            key,
            password,
            cosigners: Vec::new(),
        };
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

    /// This key signing together with `others` (a rotation's overlap: the old key first, the new one
    /// after it). A key given twice signs once.
    #[must_use]
    pub fn with_cosigners(mut self, others: Vec<OpenPgpKey>) -> Self {
        for mut other in others {
            let nested = std::mem::take(&mut other.cosigners);
            for k in std::iter::once(other).chain(nested) {
                let fingerprint = k.fingerprint();
                if !self.fingerprints().contains(&fingerprint) {
                    self.cosigners.push(k);
                }
            }
        }
        self
    }

    /// Every signing key's fingerprint, this one first.
    #[must_use]
    pub fn fingerprints(&self) -> Vec<String> {
        std::iter::once(self.fingerprint())
            .chain(self.cosigners.iter().map(Self::fingerprint))
            .collect()
    }

    fn signers(&self) -> impl Iterator<Item = &Self> {
        std::iter::once(self).chain(&self.cosigners)
    }

    /// Every signing key's public half, this one first.
    #[must_use]
    pub fn public_keys(&self) -> Vec<PublicKey> {
        self.signers().map(Self::public_key).collect()
    }

    /// Every signing key's public half in one transferable keyring, binary (`archive-keyring.gpg`).
    pub fn keyring_binary(&self) -> Result<Vec<u8>, SignError> {
        let mut out = Vec::new();
        for k in self.signers() {
            out.extend(k.public_key().to_binary()?);
        }
        Ok(out)
    }

    /// Every signing key's public half in one armored block (`archive-keyring.asc`, rpm's `gpgkey=`):
    /// rpm imports each certificate of a block (`doImport` in `lib/rpmchecksig.c`), as apt and gpg do.
    pub fn keyring_armored(&self) -> Result<String, SignError> {
        if self.cosigners.is_empty() {
            return self.public_key().to_armored();
        }
        let keys: Vec<SignedPublicKey> = self.signers().map(|k| k.key.to_public_key()).collect();
        let mut out = Vec::new();
        pgp::armor::write(&keys, pgp::armor::BlockType::PublicKey, &mut out, None, true)
            .map_err(|e| SignError::Generate(other(e)))?;
        String::from_utf8(out).map_err(|e| SignError::Generate(other(e)))
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

    /// The earliest time a data signature by this key can carry: the newest self-signature that binds
    /// its user IDs (or the key itself) to it, and never before the key's creation. sqv (apt 3) judges
    /// the key as it was at the signature's time: a signature older than the binding it relies on is by
    /// a key that "is not bound" then.
    #[must_use]
    pub fn valid_from(&self) -> i64 {
        let details = &self.key.details;
        details
            .users
            .iter()
            .flat_map(|u| &u.signatures)
            .chain(&details.direct_signatures)
            .filter_map(|s| s.created())
            .map(|t| i64::from(t.as_secs()))
            .chain(std::iter::once(i64::from(
                self.key.primary_key.created_at().as_secs(),
            )))
            .max()
            .unwrap_or(0)
    }

    fn subpackets(&self, created: i64) -> Result<SubpacketConfig, SignError> {
        let key = &self.key.primary_key;
        // A signature dated before its key, or before the self-signature that binds the key, is invalid
        // to rpm, gpg ("Bad GPG signature") and sqv ("not bound"): with a SOURCE_DATE_EPOCH older than a
        // fresh key, sign at the key's binding instead — still the same bytes on every run with that key.
        let created = created.max(self.valid_from());
        let map = |e: pgp::errors::Error| SignError::Sign(other(e));
        Ok(SubpacketConfig::UserDefined {
            hashed: vec![
                Subpacket::regular(SubpacketData::SignatureCreationTime(timestamp(created)?)).map_err(map)?,
                Subpacket::regular(SubpacketData::IssuerFingerprint(key.fingerprint())).map_err(map)?,
            ],
            unhashed: vec![Subpacket::regular(SubpacketData::IssuerKeyId(key.legacy_key_id())).map_err(map)?],
        })
    }

    /// A binary-mode detached signature over `data`, ASCII-armored (`Release.gpg`, `repomd.xml.asc`): one
    /// signature packet per signing key, in one armored block.
    pub fn detached(&self, data: &[u8], created: i64) -> Result<String, SignError> {
        let sigs = self
            .signers()
            .map(|k| {
                DetachedSignature::sign_binary_data_with_subpackets(
                    rand::thread_rng(),
                    &k.key.primary_key,
                    &k.password,
                    HashAlgorithm::Sha512,
                    data,
                    k.subpackets(created)?,
                )
                .map_err(|e| SignError::Sign(other(e)))
            })
            .collect::<Result<Vec<_>, _>>()?;
        if let [one] = sigs.as_slice() {
            return one
                .to_armored_string(ArmorOptions::default())
                .map_err(|e| SignError::Sign(other(e)));
        }
        let mut out = Vec::new();
        pgp::armor::write(&sigs, pgp::armor::BlockType::Signature, &mut out, None, true)
            .map_err(|e| SignError::Sign(other(e)))?;
        String::from_utf8(out).map_err(|e| SignError::Sign(other(e)))
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

    /// A cleartext-signed message (`InRelease`): the dash-escaped text followed by its signatures, one
    /// per signing key.
    pub fn cleartext(&self, text: &str, created: i64) -> Result<String, SignError> {
        let configs = self
            .signers()
            .map(|k| {
                let SubpacketConfig::UserDefined { hashed, unhashed } = k.subpackets(created)? else {
                    return Err(SignError::Sign("unexpected subpacket configuration".into()));
                };
                let mut config = pgp::packet::SignatureConfig::v4(
                    pgp::packet::SignatureType::Text,
                    k.key.primary_key.algorithm(),
                    HashAlgorithm::Sha512,
                );
                config.hashed_subpackets = hashed;
                config.unhashed_subpackets = unhashed;
                Ok((k, config))
            })
            .collect::<Result<Vec<_>, SignError>>()?;
        // The signed text is the message with CRLF line ends, as `CleartextSignedMessage::new` makes it.
        let msg = CleartextSignedMessage::new_many(text, |normalized| {
            configs
                .into_iter()
                .map(|(k, config)| config.sign(&k.key.primary_key, &k.password, normalized.as_bytes()))
                .collect()
        })
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
        match parsed {
            Ok(key) => Ok(Self { key }),
            // A secret key's public half (read without unlocking it).
            Err(e) => {
                let secret = if bytes.starts_with(b"-----BEGIN") {
                    SignedSecretKey::from_armor_single(Cursor::new(bytes)).map(|(k, _)| k)
                } else {
                    SignedSecretKey::from_bytes(Cursor::new(bytes))
                };
                secret
                    .map(|k| Self {
                        key: k.to_public_key(),
                    })
                    .map_err(|_| SignError::NotAPublicKey(unreadable(bytes, e)))
            }
        }
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

    /// What the verifiers of the next years hold against this key at `now` ([`crate::policy`]).
    #[must_use]
    pub fn policy(&self, now: i64) -> Vec<crate::policy::Finding> {
        crate::policy::check(&self.key, now)
    }

    /// Binary transferable public key: a keyring file apt's `Signed-By: /…/key.gpg` and gpgv accept.
    pub fn to_binary(&self) -> Result<Vec<u8>, SignError> {
        self.key.to_bytes().map_err(|e| SignError::Generate(other(e)))
    }
}

/// What checking an OpenPGP signature against a [`Keyring`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Checked {
    /// A key of the ring made a signature over exactly these bytes.
    Good {
        /// The primary key's fingerprint, upper-case hex.
        fingerprint: String,
        /// The signature's digest (`SHA512`, `SHA1`, …): apt and rpm refuse SHA-1 and MD5.
        hash: String,
        /// Other keys of the ring with a good signature over the same bytes (a repository signed by
        /// several keys during a rotation).
        also: Vec<String>,
    },
    /// A key of the ring made the signature, but over other bytes: the data or the signature changed.
    Bad {
        /// The primary key's fingerprint.
        fingerprint: String,
    },
    /// No key of the ring made any of the signatures.
    UnknownKey {
        /// The signatures' issuers (fingerprints or key ids), upper-case hex.
        issuers: Vec<String>,
    },
    /// The bytes are not an OpenPGP signature.
    Malformed(String),
}

/// Public keys to check signatures against, as gpgv's `--keyring` or apt's `Signed-By`.
#[derive(Debug, Clone, Default)]
pub struct Keyring {
    keys: Vec<SignedPublicKey>,
}

impl Keyring {
    /// An empty ring.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds every public key in `bytes`: binary (a `.gpg` keyring) or armored, one block or several.
    /// Returns how many keys were added.
    pub fn add(&mut self, bytes: &[u8]) -> Result<usize, SignError> {
        let before = self.keys.len();
        let not_key = |e: String| SignError::NotAPublicKey(e);
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            let text = std::str::from_utf8(bytes).map_err(|_| not_key("armor that is not text".into()))?;
            for block in text.split_inclusive("-----END PGP PUBLIC KEY BLOCK-----") {
                if !block.contains("-----BEGIN PGP PUBLIC KEY BLOCK-----") {
                    continue;
                }
                let (keys, _) = SignedPublicKey::from_armor_many(Cursor::new(block.as_bytes()))
                    .map_err(|e| not_key(other(e)))?;
                for key in keys {
                    self.keys.push(key.map_err(|e| not_key(other(e)))?);
                }
            }
        } else {
            let keys = SignedPublicKey::from_bytes_many(Cursor::new(bytes)).map_err(|e| not_key(other(e)))?;
            for key in keys {
                self.keys.push(key.map_err(|e| not_key(other(e)))?);
            }
        }
        if self.keys.len() == before {
            return Err(not_key("no public key block found".into()));
        }
        Ok(self.keys.len() - before)
    }

    /// Whether the ring has no keys.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The primary fingerprints, upper-case hex.
    #[must_use]
    pub fn fingerprints(&self) -> Vec<String> {
        self.keys
            .iter()
            .map(|k| hex_upper(k.fingerprint().as_bytes()))
            .collect()
    }

    /// Each key armored, for verifiers that take armored certificates (the `rpm` crate's).
    pub fn armored(&self) -> Result<Vec<String>, SignError> {
        self.keys
            .iter()
            .map(|k| {
                k.to_armored_string(ArmorOptions::default())
                    .map_err(|e| SignError::Generate(other(e)))
            })
            .collect()
    }

    /// Checks a detached signature (armored or binary; several signatures: any good one counts, as gpgv)
    /// over `data`, in binary mode (`Release.gpg`, `repomd.xml.asc`).
    #[must_use]
    pub fn detached(&self, data: &[u8], signature: &[u8]) -> Checked {
        let parsed: Result<Vec<DetachedSignature>, String> =
            DetachedSignature::from_reader_many(Cursor::new(signature))
                .map_err(other)
                .and_then(|(sigs, _)| sigs.collect::<Result<Vec<_>, _>>().map_err(other));
        match parsed {
            Ok(sigs) if !sigs.is_empty() => self.check(sigs.iter().map(|s| &s.signature), data),
            Ok(_) => Checked::Malformed("no signature packet".into()),
            Err(e) => Checked::Malformed(e),
        }
    }

    /// Checks a cleartext-signed message (`InRelease`). Returns the signed text (LF line ends, dash
    /// escapes removed: what apt parses) when it parses.
    #[must_use]
    pub fn cleartext(&self, message: &str) -> (Option<String>, Checked) {
        match CleartextSignedMessage::from_string(message) {
            Ok((msg, _)) => {
                let signed = msg.signed_text();
                let checked = self.check(msg.signatures().iter(), signed.as_bytes());
                (Some(signed.replace("\r\n", "\n")), checked)
            }
            Err(e) => (None, Checked::Malformed(other(e))),
        }
    }

    fn check<'a>(&self, sigs: impl Iterator<Item = &'a pgp::packet::Signature>, data: &[u8]) -> Checked {
        let mut issuers = Vec::new();
        let mut bad = None;
        // Every good signature, in order: a repository signed by several keys names each.
        let mut goods: Vec<Checked> = Vec::new();
        'sigs: for sig in sigs {
            let ids: Vec<Vec<u8>> = sig
                .issuer_key_id()
                .iter()
                .map(|id| id.as_ref().to_vec())
                .collect();
            let fprs: Vec<Vec<u8>> = sig
                .issuer_fingerprint()
                .iter()
                .map(|f| f.as_bytes().to_vec())
                .collect();
            let names = |k: &dyn KeyDetails| {
                fprs.iter().any(|f| f.as_slice() == k.fingerprint().as_bytes())
                    || ids.iter().any(|i| i.as_slice() == k.legacy_key_id().as_ref())
                    || (fprs.is_empty() && ids.is_empty())
            };
            for key in &self.keys {
                let fingerprint = hex_upper(key.fingerprint().as_bytes());
                let mut made_by_it = false;
                if names(&key.primary_key) {
                    made_by_it = true;
                    if sig.verify(&key.primary_key, data).is_ok() {
                        goods.push(good(fingerprint, sig));
                        continue 'sigs;
                    }
                }
                for sub in &key.public_subkeys {
                    if names(&sub.key) {
                        made_by_it = true;
                        if sig.verify(&sub.key, data).is_ok() {
                            goods.push(good(fingerprint, sig));
                            continue 'sigs;
                        }
                    }
                }
                if made_by_it && !(fprs.is_empty() && ids.is_empty()) {
                    bad = Some(fingerprint);
                }
            }
            issuers.extend(fprs.iter().chain(&ids).map(|b| hex_upper(b)));
        }
        let mut goods = goods.into_iter();
        if let Some(Checked::Good {
            fingerprint,
            hash,
            mut also,
        }) = goods.next()
        {
            for g in goods {
                if let Checked::Good { fingerprint: f, .. } = g
                    && f != fingerprint
                    && !also.contains(&f)
                {
                    also.push(f);
                }
            }
            return Checked::Good {
                fingerprint,
                hash,
                also,
            };
        }
        match bad {
            Some(fingerprint) => Checked::Bad { fingerprint },
            None => {
                issuers.dedup();
                Checked::UnknownKey { issuers }
            }
        }
    }
}

fn good(fingerprint: String, sig: &pgp::packet::Signature) -> Checked {
    Checked::Good {
        fingerprint,
        also: Vec::new(),
        hash: sig
            .hash_alg()
            .map_or_else(|| "unknown".to_owned(), |h| format!("{h:?}").to_uppercase()),
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
    fn keyring_checks_detached_and_cleartext() {
        let key = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Test <t@example.org>").unwrap();
        let stranger = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Other <o@example.org>").unwrap();
        let mut ring = Keyring::new();
        let both = format!(
            "{}{}",
            key.public_key().to_armored().unwrap(),
            stranger.public_key().to_armored().unwrap()
        );
        assert_eq!(
            ring.add(both.as_bytes()).unwrap(),
            2,
            "two armored blocks in one file"
        );
        let mut only = Keyring::new();
        assert_eq!(only.add(&key.public_key().to_binary().unwrap()).unwrap(), 1);
        assert!(only.add(b"not a key").is_err());

        let sig = key.detached(b"data\n", 1_700_000_000).unwrap();
        let good = Checked::Good {
            fingerprint: key.fingerprint(),
            hash: "SHA512".into(),
            also: Vec::new(),
        };
        assert_eq!(ring.detached(b"data\n", sig.as_bytes()), good);
        assert_eq!(
            only.detached(b"dat4\n", sig.as_bytes()),
            Checked::Bad {
                fingerprint: key.fingerprint()
            }
        );
        let by_stranger = stranger.detached(b"data\n", 1_700_000_000).unwrap();
        assert_eq!(
            only.detached(b"data\n", by_stranger.as_bytes()),
            Checked::UnknownKey {
                issuers: vec![stranger.fingerprint(), stranger.fingerprint()[24..].to_owned()]
            }
        );
        assert!(matches!(only.detached(b"data\n", b"junk"), Checked::Malformed(_)));

        let msg = key.cleartext("Origin: x\n- dashed\n", 1_700_000_000).unwrap();
        let (text, checked) = only.cleartext(&msg);
        assert_eq!(checked, good);
        assert_eq!(text.unwrap(), "Origin: x\n- dashed\n");
        let (_, checked) = only.cleartext(&msg.replace("Origin: x", "Origin: y"));
        assert!(matches!(checked, Checked::Bad { .. }), "{checked:?}");
    }

    /// Two keys signing at once (a rotation's overlap): one signature per key in `Release.gpg` and
    /// `InRelease`, each good alone — a client holding either key accepts — and both named by a ring
    /// holding both; the keyring files hold both public keys.
    #[test]
    fn cosigned_indexes_verify_with_either_key() {
        let old = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "Old <old@example.org>").unwrap();
        let new = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "New <new@example.org>").unwrap();
        let (old_fp, new_fp) = (old.fingerprint(), new.fingerprint());
        let ring_of = |k: &OpenPgpKey| {
            let mut r = Keyring::new();
            r.add(&k.public_key().to_binary().unwrap()).unwrap();
            r
        };
        let (only_old, only_new) = (ring_of(&old), ring_of(&new));
        let both = old.with_cosigners(vec![new]);
        assert_eq!(both.fingerprints(), vec![old_fp.clone(), new_fp.clone()]);
        let detached = both.detached(b"data\n", 1_700_000_000).unwrap();
        assert_eq!(detached.matches("BEGIN PGP SIGNATURE").count(), 1, "{detached}");
        let inline = both.cleartext("Origin: x\n", 1_700_000_000).unwrap();
        for (ring, fp) in [(&only_old, &old_fp), (&only_new, &new_fp)] {
            for checked in [
                ring.detached(b"data\n", detached.as_bytes()),
                ring.cleartext(&inline).1,
            ] {
                assert!(
                    matches!(&checked, Checked::Good { fingerprint, also, .. } if fingerprint == fp && also.is_empty()),
                    "{checked:?}"
                );
            }
        }
        let mut ring = Keyring::new();
        assert_eq!(ring.add(both.keyring_armored().unwrap().as_bytes()).unwrap(), 2);
        assert_eq!(Keyring::new().add(&both.keyring_binary().unwrap()).unwrap(), 2);
        assert_eq!(
            ring.cleartext(&inline).1,
            Checked::Good {
                fingerprint: old_fp,
                hash: "SHA512".into(),
                also: vec![new_fp],
            }
        );
    }

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

    /// A key as the library makes one when generating takes time: the key packet dated `lag` seconds
    /// before its binding self-signature.
    fn key_bound_late(lag: u32) -> OpenPgpKey {
        let now = Timestamp::now().as_secs();
        let mut params = SecretKeyParamsBuilder::default();
        params
            .key_type(KeyType::Ed25519Legacy)
            .can_certify(true)
            .can_sign(true)
            .created_at(Timestamp::from_secs(now - lag))
            .primary_user_id("Late <late@example.org>".into());
        OpenPgpKey {
            key: params.build().unwrap().generate(rand::thread_rng()).unwrap(),
            password: Password::empty(),
            cosigners: Vec::new(),
        }
    }

    fn signature_time(armored: &str) -> u32 {
        let (sig, _) = DetachedSignature::from_armor_single(Cursor::new(armored.as_bytes())).unwrap();
        sig.signature.created().unwrap().as_secs()
    }

    #[test]
    fn data_signatures_never_predate_the_binding_they_rely_on() {
        let late = key_bound_late(100);
        let created = late.key.primary_key.created_at().as_secs();
        let bound = late.valid_from();
        assert!(bound >= i64::from(created) + 100, "{bound} {created}");
        // Signing "at the key's creation" (an old SOURCE_DATE_EPOCH) dates the signature at the binding.
        let sig = late.detached(b"x", i64::from(created)).unwrap();
        assert_eq!(i64::from(signature_time(&sig)), bound);
        let clear = late.cleartext("x\n", 1).unwrap();
        let (msg, _) = CleartextSignedMessage::from_armor(Cursor::new(clear.as_bytes())).unwrap();
        assert_eq!(i64::from(msg.signatures()[0].created().unwrap().as_secs()), bound);
    }

    #[test]
    fn generated_keys_are_bound_at_their_creation() {
        let key = OpenPgpKey::generate(KeyAlgorithm::Ed25519, "T <t@e.org>").unwrap();
        let created = key.key.primary_key.created_at();
        let times: Vec<_> = key
            .key
            .details
            .users
            .iter()
            .flat_map(|u| &u.signatures)
            .map(|s| s.created())
            .collect();
        assert!(!times.is_empty());
        assert!(
            times.iter().all(|t| *t == Some(created)),
            "{times:?} vs {created:?}"
        );
        assert_eq!(key.valid_from(), i64::from(created.as_secs()));
        // The re-made bindings verify, and the key survives a round trip through its armor.
        key.key.verify_bindings().unwrap();
        let again = OpenPgpKey::from_bytes(key.to_armored_secret().unwrap().as_bytes(), None).unwrap();
        assert_eq!(again.valid_from(), key.valid_from());
        let public = key.public_key();
        let mut ring = Keyring::new();
        ring.add(&public.to_binary().unwrap()).unwrap();
    }
}
