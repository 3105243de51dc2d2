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
pub mod usign;

pub use apk::{ApkEcKey, ApkEcPublicKey, ApkRsaKey, ApkRsaPublicKey, RsaDigest};
pub use openpgp::{Checked, KeyAlgorithm, Keyring, OpenPgpKey, PublicKey, SignError};
pub use usign::UsignKey;
