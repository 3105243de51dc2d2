//! Development versions sort after the build before them and before the next release, by the real
//! `dpkg --compare-versions`, rpm's own `rpm.vercmp`, and apk-tools' rules (wharf_core::apkver, checked
//! against apk-tools' version table).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use wharf_core::{Version, apkver, rpmver::Evr};
use wharf_release::classify::{Rules, version_tag};
use wharf_test::{require, run};

/// Versions in increasing order, as `wharf release` would build them along a history.
fn sequence() -> Vec<String> {
    let r = Rules::default();
    let v123 = version_tag("v1.2.3", &r).unwrap();
    let rc = version_tag("v1.3.0-rc.1", &r).unwrap();
    let v130 = version_tag("v1.3.0", &r).unwrap();
    vec![
        v123.debian(),
        v123.development(1, "1111111aaaa"),
        v123.development(2, "0000000ffff"),
        v123.development(10, "fffffff0000"),
        version_tag("v1.2.4-beta.1", &r).unwrap().debian(),
        version_tag("v1.2.4-rc.1", &r).unwrap().debian(),
        "1.2.4".into(),
        rc.debian(),
        rc.development(1, "abcdef01234"),
        rc.development(12, "0123456789a"),
        version_tag("v1.3.0-rc.2", &r).unwrap().debian(),
        v130.debian(),
        v130.development(3, "deadbee0000"),
    ]
}

#[test]
fn dpkg_orders_development_builds() {
    if !require(&["dpkg"]) {
        return;
    }
    for w in sequence().windows(2) {
        let d = run(Command::new("dpkg").args(["--compare-versions", &w[0], "lt", &w[1]]));
        assert!(d.ok, "dpkg: {} < {} does not hold", w[0], w[1]);
    }
}

#[test]
fn rpm_orders_development_builds() {
    if !require(&["rpm"]) {
        return;
    }
    let evr = |v: &str| {
        let e = Evr::from_version(&v.parse::<Version>().unwrap());
        format!("{}-{}", e.version, e.release)
    };
    for w in sequence().windows(2) {
        let (a, b) = (evr(&w[0]), evr(&w[1]));
        let d = run(Command::new("rpm")
            .arg("--eval")
            .arg(format!("%{{lua: print(rpm.vercmp('{a}', '{b}'))}}")));
        assert_eq!(
            d.stdout.trim(),
            "-1",
            "rpm: {a} < {b} does not hold ({})",
            d.all()
        );
    }
}

#[test]
fn apk_orders_development_builds() {
    let apk: Vec<String> = sequence()
        .iter()
        .map(|v| apkver::from_version(&v.parse::<Version>().unwrap()).unwrap())
        .collect();
    for w in apk.windows(2) {
        assert!(apkver::compare(&w[0], &w[1]).is_lt(), "apk: {} < {}", w[0], w[1]);
    }
}
