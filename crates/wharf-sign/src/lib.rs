//! wharf-sign: every signature wharf makes, as "bytes in, signature out".
//!
//! Owns key generation, key loading and signing. It does no I/O of its own: callers hand it key bytes and
//! data, and get signatures back. No key material ever appears in an error message or a `Debug` output.
//!
//! Kinds implemented so far:
//! - [`openpgp`]: OpenPGP v4 keys (Ed25519 and RSA), detached signatures (`Release.gpg`,
//!   `repomd.xml.asc`) and cleartext signatures (`InRelease`), following RFC 4880/9580 as gpgv and sqv
//!   (Sequoia's verifier, apt ≥ 2.9) check them.
//! - [`usign`]: Ed25519 keys and signatures in usign's envelope, for opkg feeds (`Packages.sig`).

pub mod openpgp;
pub mod usign;

pub use openpgp::{KeyAlgorithm, OpenPgpKey, PublicKey, SignError};
pub use usign::UsignKey;
