//! sqv (apt 3's verifier) against wharf's OpenPGP signatures: it refuses a data signature older than the
//! self-signature that binds its key, and accepts the one `OpenPgpKey::detached` makes for the same
//! request (dated no earlier than that binding).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use pgp::composed::{
    ArmorOptions, DetachedSignature, KeyType, SecretKeyParamsBuilder, SignedSecretKey, SubpacketConfig,
};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{Subpacket, SubpacketData};
use pgp::types::{KeyDetails, Password, Timestamp};
use wharf_sign::OpenPgpKey;

/// A key as the library makes one when generating takes time: its packet dated 100 s before its binding.
fn key_bound_late() -> SignedSecretKey {
    let now = Timestamp::now().as_secs();
    let mut params = SecretKeyParamsBuilder::default();
    params
        .key_type(KeyType::Ed25519Legacy)
        .can_certify(true)
        .can_sign(true)
        .created_at(Timestamp::from_secs(now - 100))
        .primary_user_id("Late <late@example.org>".into());
    params.build().unwrap().generate(rand::thread_rng()).unwrap()
}

#[test]
fn sqv_accepts_signatures_dated_at_the_binding() {
    if Command::new("sqv").arg("--version").output().is_err() {
        assert_eq!(
            std::env::var("WHARF_TEST_ALLOW_MISSING").as_deref(),
            Ok("1"),
            "sqv is missing; install it with `sudo scripts/install-test-deps`"
        );
        return;
    }
    let raw = key_bound_late();
    let created = raw.primary_key.created_at();
    let armored = raw.to_armored_string(ArmorOptions::default()).unwrap();
    let key = OpenPgpKey::from_bytes(armored.as_bytes(), None).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ring = dir.path().join("ring.gpg");
    std::fs::write(&ring, key.public_key().to_binary().unwrap()).unwrap();
    std::fs::write(dir.path().join("data"), b"Release\n").unwrap();
    let sqv = |sig: &str| {
        std::fs::write(dir.path().join("data.asc"), sig).unwrap();
        Command::new("sqv")
            .arg("--keyring")
            .arg(&ring)
            .arg(dir.path().join("data.asc"))
            .arg(dir.path().join("data"))
            .output()
            .unwrap()
    };
    // A signature at the key's creation, before its binding: what a fresh RSA key's first signature was.
    let early = DetachedSignature::sign_binary_data_with_subpackets(
        rand::thread_rng(),
        &raw.primary_key,
        &Password::empty(),
        HashAlgorithm::Sha512,
        &b"Release\n"[..],
        SubpacketConfig::UserDefined {
            hashed: vec![
                Subpacket::regular(SubpacketData::SignatureCreationTime(created)).unwrap(),
                Subpacket::regular(SubpacketData::IssuerFingerprint(raw.primary_key.fingerprint())).unwrap(),
            ],
            unhashed: vec![],
        },
    )
    .unwrap()
    .to_armored_string(ArmorOptions::default())
    .unwrap();
    let refused = sqv(&early);
    assert!(
        !refused.status.success(),
        "{}",
        String::from_utf8_lossy(&refused.stderr)
    );
    let ok = sqv(&key.detached(b"Release\n", i64::from(created.as_secs())).unwrap());
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
}
