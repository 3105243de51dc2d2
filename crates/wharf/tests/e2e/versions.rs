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

/// rpm's own answers for many EVR pairs at once (one `rpm --eval` with a Lua loop).
fn rpm_vercmp(pairs: &[(String, String)]) -> Vec<Ordering> {
    let table: String = pairs
        .iter()
        .map(|(a, b)| format!("{{\"{a}\",\"{b}\"}},"))
        .collect();
    let lua =
        format!("%{{lua: for _, p in ipairs({{{table}}}) do print(rpm.vercmp(p[1], p[2]) .. \"\\n\") end}}");
    let out = wharf_test::run(Command::new("rpm").arg("--eval").arg(lua)).success();
    out.stdout
        .split_whitespace()
        .map(|n| match n {
            "-1" => Ordering::Less,
            "0" => Ordering::Equal,
            "1" => Ordering::Greater,
            other => panic!("rpm.vercmp printed {other}"),
        })
        .collect()
}

fn evr() -> impl Strategy<Value = String> {
    // Tildes, carets, letters, separators, leading zeros: everything rpmvercmp treats specially.
    (
        "(0:|1:|3:)?",
        "[0-9a-c][0-9a-c.~^_+]{0,6}",
        "[0-9a-c][0-9a-c.~^]{0,3}",
    )
        .prop_map(|(e, v, r)| format!("{e}{v}-{r}"))
}

fn parse_evr(s: &str) -> wharf_core::rpmver::Evr {
    let (epoch, rest) = s.split_once(':').map_or((0, s), |(e, r)| (e.parse().unwrap(), r));
    let (version, release) = rest.rsplit_once('-').unwrap();
    wharf_core::rpmver::Evr {
        epoch,
        version: version.into(),
        release: release.into(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 6, ..ProptestConfig::default() })]
    #[test]
    fn ordering_matches_rpm(pairs in proptest::collection::vec((evr(), evr()), 200)) {
        if !require(&["rpm"]) {
            return Ok(());
        }
        let theirs = rpm_vercmp(&pairs);
        prop_assert_eq!(theirs.len(), pairs.len());
        for ((a, b), want) in pairs.iter().zip(theirs) {
            prop_assert_eq!(parse_evr(a).cmp(&parse_evr(b)), want, "{} vs {}", a, b);
        }
    }
}
