//! Version ordering follows dpkg exactly: a property test against `dpkg --compare-versions`.

use std::cmp::Ordering;
use std::process::Command;

use proptest::prelude::*;
use wharf_core::DebVersion;
use wharf_test::require;

fn dpkg_cmp(a: &str, b: &str) -> Ordering {
    let test = |op: &str| {
        Command::new("dpkg")
            .args(["--compare-versions", a, op, b])
            .status()
            .unwrap()
            .success()
    };
    if test("lt") {
        Ordering::Less
    } else if test("eq") {
        Ordering::Equal
    } else {
        assert!(test("gt"), "dpkg says neither lt, eq nor gt for {a} {b}");
        Ordering::Greater
    }
}

fn version() -> impl Strategy<Value = String> {
    // Epochs, tildes, letters, `+`, `.`, leading zeros and revisions: where orderings differ.
    ("(0:|1:|2:)?", "[0-9][0-9a-c.+~]{0,5}", "(-[0-9a-c.+~]{1,4})?")
        .prop_map(|(e, u, r)| format!("{e}{u}{r}"))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]
    #[test]
    fn ordering_matches_dpkg(a in version(), b in version()) {
        if !require(&["dpkg"]) {
            return Ok(());
        }
        let (Ok(x), Ok(y)) = (DebVersion::parse(&a), DebVersion::parse(&b)) else {
            // Whatever we refuse, dpkg must refuse too.
            let ok = |v: &str| Command::new("dpkg").args(["--compare-versions", v, "eq", v]).output().unwrap().stderr.is_empty();
            prop_assert!(DebVersion::parse(&a).is_ok() || !ok(&a), "we refuse {a}, dpkg accepts it");
            prop_assert!(DebVersion::parse(&b).is_ok() || !ok(&b), "we refuse {b}, dpkg accepts it");
            return Ok(());
        };
        prop_assert_eq!(x.cmp(&y), dpkg_cmp(&a, &b), "{} vs {}", a, b);
    }
}

#[test]
fn known_tricky_pairs() {
    if !require(&["dpkg"]) {
        return;
    }
    for (a, b) in [
        ("1.0~rc1", "1.0"),
        ("1.0", "1.0-0"),
        ("1:0", "2"),
        ("1.0a", "1.0+"),
        ("1.01", "1.1"),
        ("1~~", "1~"),
        ("1.0-1~bpo1", "1.0-1"),
    ] {
        assert_eq!(
            DebVersion::parse(a).unwrap().cmp(&DebVersion::parse(b).unwrap()),
            dpkg_cmp(a, b),
            "{a} vs {b}"
        );
    }
}
