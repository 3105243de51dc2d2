//! What the OpenPGP verifiers of the next years accept of a repository key (`wharf key check`, and every
//! key loaded to sign): the key's algorithm and size, the hashes and versions of its self-signatures, its
//! expiry — an error for what a client refuses today, a warning with the date for what one will refuse.
//!
//! The rules, as the clients ship them:
//! - apt 3 (Debian 13) verifies with sqv under `debian/default-sequoia.config` (apt's source):
//!   `dsa2048 = 2024-02-01` (and 3072, 4096), `brainpoolp256 = 2028-02-01` (384, 512), `rsa2048 =
//!   2030-02-01`, `sha1.second_preimage_resistance = 2026-02-01` (SHA-1 self-signatures), `sha224 =
//!   2026-02-01`, `signature.v3 = 2026-02-01`; Sequoia's standard policy under it refuses RSA under 2048
//!   bits, MD5 and RIPEMD-160 already.
//! - apt 2.7+ (Ubuntu 24.04) asserts the key algorithm through gpgv: `APT::Key::Assert-Pubkey-Algo
//!   ">=rsa2048,ed25519,ed448,nistp256,nistp384,nistp512,brainpoolP256r1,…,secp256k1"` refuses DSA and
//!   short RSA; `…::Next ">=rsa2048,ed25519,ed448,nistp256,nistp384,nistp512"` warns on the rest.
//! - Every client refuses the signatures of an expired key.
//!
//! Ed25519 (the default of `wharf key generate openpgp`) passes all of them.

use pgp::composed::SignedPublicKey;
use pgp::crypto::ecc_curve::ECCCurve;
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Signature, SignatureVersion};
use pgp::types::{EcdsaPublicParams, KeyDetails, PublicParams};
use rsa::traits::PublicKeyParts as _;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A client refuses the key now.
    Refused,
    /// A client will refuse it from a date, or warns about it.
    Warning,
}

/// One thing a client does or will hold against the key.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Finding {
    pub level: Level,
    /// What, which client, from when.
    pub text: String,
}

/// 2024-02-01: apt 3 refuses DSA keys.
const DSA_CUTOFF: i64 = 1_706_745_600;
/// 2026-02-01T00:00:00Z: apt 3 refuses SHA-1 and SHA-224 self-signatures and v3 signatures.
const SHA1_CUTOFF: i64 = 1_769_904_000;
/// 2028-02-01: apt 3 refuses Brainpool keys.
const BRAINPOOL_CUTOFF: i64 = 1_832_976_000;
/// 2030-02-01: apt 3 refuses RSA keys under 3072 bits.
const RSA2048_CUTOFF: i64 = 1_896_134_400;
/// A key expiring within this many seconds is warned about.
const EXPIRY_WARNING: i64 = 90 * 86_400;

fn date(unix: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp(unix, 0)
        .unwrap_or_default()
        .format("%Y-%m-%d")
        .to_string()
}

/// Refused from `cutoff` on (a warning naming the date before it).
fn dated(out: &mut Vec<Finding>, now: i64, cutoff: i64, what: &str) {
    let (level, when) = if now >= cutoff {
        (Level::Refused, format!("since {}", date(cutoff)))
    } else {
        (Level::Warning, format!("from {}", date(cutoff)))
    };
    out.push(Finding {
        level,
        text: format!("{what} {when}"),
    });
}

/// What the clients hold against one key (the primary, or a signing subkey named `which`).
fn algorithm(out: &mut Vec<Finding>, which: &str, params: &PublicParams, now: i64) {
    match params {
        PublicParams::RSA(p) => {
            let bits = p.key.n().bits();
            if bits < 2048 {
                out.push(Finding {
                    level: Level::Refused,
                    text: format!(
                        "{which} is RSA-{bits}: apt 3 (sqv), Ubuntu 24.04's apt (>=rsa2048) and rpm refuse RSA under 2048 bits; make an Ed25519 key"
                    ),
                });
            } else if bits < 3072 {
                dated(
                    out,
                    now,
                    RSA2048_CUTOFF,
                    &format!(
                        "{which} is RSA-{bits}: apt 3 (Debian 13, rsa2048 in its sqv policy) refuses RSA under 3072 bits"
                    ),
                );
            }
        }
        PublicParams::DSA(_) => dated(
            out,
            now,
            DSA_CUTOFF,
            &format!("{which} is DSA: apt 3 (sqv) and Ubuntu 24.04's apt refuse DSA keys"),
        ),
        PublicParams::Elgamal(_) => out.push(Finding {
            level: Level::Refused,
            text: format!("{which} is Elgamal, which no client verifies signatures with"),
        }),
        PublicParams::ECDSA(EcdsaPublicParams::Unsupported { curve, .. }) => {
            if matches!(
                curve,
                ECCCurve::BrainpoolP256r1 | ECCCurve::BrainpoolP384r1 | ECCCurve::BrainpoolP512r1
            ) {
                dated(
                    out,
                    now,
                    BRAINPOOL_CUTOFF,
                    &format!("{which} is ECDSA on {curve:?}: apt 3 (Debian 13) refuses Brainpool keys"),
                );
            } else {
                out.push(Finding {
                    level: Level::Warning,
                    text: format!("{which} is ECDSA on {curve:?}: Ubuntu 24.04's apt warns about it (not in APT::Key::Assert-Pubkey-Algo::Next)"),
                });
            }
        }
        PublicParams::ECDSA(EcdsaPublicParams::Secp256k1 { .. }) => out.push(Finding {
            level: Level::Warning,
            text: format!(
                "{which} is ECDSA on secp256k1: Ubuntu 24.04's apt warns about it, and sqv does not verify it"
            ),
        }),
        _ => {}
    }
}

/// What the clients hold against a self-signature.
fn self_signature(out: &mut Vec<Finding>, what: &str, sig: &Signature, now: i64) {
    if matches!(sig.version(), SignatureVersion::V2 | SignatureVersion::V3) {
        dated(
            out,
            now,
            SHA1_CUTOFF,
            &format!("{what} is a v3 signature: apt 3 (signature.v3 in its sqv policy) refuses it"),
        );
    }
    match sig.hash_alg() {
        Some(HashAlgorithm::Sha1) => dated(
            out,
            now,
            SHA1_CUTOFF,
            &format!(
                "{what} is made with SHA-1: apt 3 (Debian 13, sha1.second_preimage_resistance in its sqv policy) refuses SHA-1 self-signatures"
            ),
        ),
        Some(HashAlgorithm::Sha224) => dated(
            out,
            now,
            SHA1_CUTOFF,
            &format!("{what} is made with SHA-224: apt 3 (sha224 in its sqv policy) refuses it"),
        ),
        Some(HashAlgorithm::Md5 | HashAlgorithm::Ripemd160) => out.push(Finding {
            level: Level::Refused,
            text: format!(
                "{what} is made with {:?}, which every current client refuses",
                sig.hash_alg().unwrap_or(HashAlgorithm::Md5)
            ),
        }),
        _ => {}
    }
}

/// Everything the clients hold against `key` at `now` (Unix seconds); empty when they all accept it.
#[must_use]
pub fn check(key: &SignedPublicKey, now: i64) -> Vec<Finding> {
    let mut out = Vec::new();
    algorithm(&mut out, "the key", key.primary_key.public_params(), now);
    for sub in &key.public_subkeys {
        if sub.key.algorithm().can_sign() {
            let which = format!("signing subkey {}", sub.key.fingerprint());
            algorithm(&mut out, &which, sub.key.public_params(), now);
        }
        for sig in &sub.signatures {
            self_signature(
                &mut out,
                &format!("the binding of subkey {}", sub.key.fingerprint()),
                sig,
                now,
            );
        }
    }
    for user in &key.details.users {
        for sig in &user.signatures {
            let id = String::from_utf8_lossy(user.id.id());
            self_signature(&mut out, &format!("the self-signature on \"{id}\""), sig, now);
        }
    }
    for sig in &key.details.direct_signatures {
        self_signature(&mut out, "a direct-key signature", sig, now);
    }
    // Expiry: what the newest self-signature says.
    let created = i64::from(key.primary_key.created_at().as_secs());
    let newest = key
        .details
        .users
        .iter()
        .flat_map(|u| &u.signatures)
        .chain(&key.details.direct_signatures)
        .max_by_key(|s| s.created().map(|t| t.as_secs()));
    if let Some(lifetime) = newest.and_then(Signature::key_expiration_time) {
        let secs = i64::from(lifetime.as_secs());
        if secs > 0 {
            let expires = created.saturating_add(secs);
            if now >= expires {
                out.push(Finding {
                    level: Level::Refused,
                    text: format!("the key expired on {}: every client refuses its signatures; extend it (gpg --quick-set-expire) or make a new one", date(expires)),
                });
            } else if expires - now < EXPIRY_WARNING {
                out.push(Finding {
                    level: Level::Warning,
                    text: format!("the key expires on {}: every client refuses its signatures after that; extend it before", date(expires)),
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date(SHA1_CUTOFF), "2026-02-01");
        assert_eq!(date(BRAINPOOL_CUTOFF), "2028-02-01");
        assert_eq!(date(RSA2048_CUTOFF), "2030-02-01");
        assert_eq!(date(DSA_CUTOFF), "2024-02-01");
        assert_eq!(date(0), "1970-01-01");
    }

    #[test]
    fn generated_keys_pass_and_rules_date() {
        let key =
            crate::openpgp::OpenPgpKey::generate(crate::openpgp::KeyAlgorithm::Ed25519, "T <t@example.org>")
                .unwrap();
        assert!(key.public_key().policy(SHA1_CUTOFF + 1).is_empty());
        let mut out = Vec::new();
        dated(&mut out, SHA1_CUTOFF - 1, SHA1_CUTOFF, "x");
        dated(&mut out, SHA1_CUTOFF, SHA1_CUTOFF, "y");
        assert_eq!(
            out[0],
            Finding {
                level: Level::Warning,
                text: "x from 2026-02-01".into()
            }
        );
        assert_eq!(
            out[1],
            Finding {
                level: Level::Refused,
                text: "y since 2026-02-01".into()
            }
        );
    }
}
