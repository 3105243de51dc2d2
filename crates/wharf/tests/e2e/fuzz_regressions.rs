//! Every input a fuzz campaign found a crash with (`fuzz/regressions/<target>/`), replayed through the
//! same reader as its target (`fuzz/fuzz_targets/<target>.rs`): none may panic again. The seeds are
//! replayed too, so the readers keep taking the real packages and repositories they were made from.

use std::fs;
use std::path::Path;

#[path = "../../../../fuzz/fuzz_targets/common/mod.rs"]
mod common;

/// What target `name` runs on one input.
fn replay(name: &str, data: &[u8]) {
    match name {
        "deb" => drop(wharf_package::deb::inspect(data)),
        "rpm" => drop(wharf_package::rpm::inspect(data)),
        "apk" => drop(wharf_package::apk::inspect(data)),
        "apk3" => drop(wharf_package::apk3::inspect(data)),
        "ipk" => drop(wharf_package::ipk::inspect(data)),
        "pacman" => drop(wharf_package::pacman::inspect(data)),
        "tar" => drop(wharf_package::paths::check_payload_tar(data)),
        "gzip" => drop(wharf_package::compress::gunzip(data, &mut Vec::new(), 1 << 20)),
        "adb" => {
            if let Ok(s) = wharf_package::adb::read_signed(data) {
                drop(wharf_package::adb::decode(&s.adb));
            }
        }
        "deb822" => {
            if let Ok(t) = std::str::from_utf8(data) {
                drop(wharf_core::deb822::Paragraph::parse_all(t));
            }
        }
        "state" => drop(wharf_publish::state::to_json(data, &|_| None)),
        "oci" => {
            use wharf_package::oci;
            if let Ok(oci::Document::Index(list)) = oci::read_document(data) {
                drop(oci::select(&list, &oci::platform("arm64").unwrap(), "fuzz").map(|_| ()));
            }
        }
        "serve_path" => {
            if let Ok(p) = std::str::from_utf8(data) {
                drop(wharf_serve::respond::key_of(p));
            }
        }
        "rpmmd_splice" => common::rpmmd_splice(data),
        n if n.starts_with("verify_") => common::verify(data),
        other => panic!("no replay for fuzz target {other}"),
    }
}

#[test]
fn fuzz_regressions_and_seeds_replay_without_a_panic() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz");
    let mut replayed = 0;
    for set in ["regressions", "seeds"] {
        let Ok(targets) = fs::read_dir(fuzz.join(set)) else {
            continue;
        };
        for target in targets.flatten() {
            let name = target.file_name().to_string_lossy().into_owned();
            for input in fs::read_dir(target.path()).unwrap().flatten() {
                let data = fs::read(input.path()).unwrap();
                replay(&name, &data);
                replayed += 1;
            }
        }
    }
    assert!(replayed >= 30, "only {replayed} inputs replayed");
}
