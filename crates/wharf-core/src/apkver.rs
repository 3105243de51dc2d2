//! apk versions: validation, ordering and the mapping from wharf's (Debian-style) versions.
//!
//! The grammar and the comparison follow apk-tools' `src/version.c` (the 2.14/3.x tokenizer):
//! `digit{.digit}…{letter}{_suffix{number}}…{~hexhash}{-rN}`, suffixes ordered
//! `_alpha < _beta < _pre < _rc < (none) < _cvs < _svn < _git < _hg < _p`. Digit groups after the first
//! compare numerically unless either has a leading zero (then as strings); when one version runs out of
//! tokens first, it is the smaller one unless the other continues with a pre-release suffix. Invalid
//! versions still compare (apk falls back to token order), which the tests check against apk-tools' own
//! `test/unit/version.data`.

use std::cmp::Ordering;

use crate::{Invalid, Version};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Token {
    InitialDigit,
    Digit,
    Letter,
    Suffix,
    SuffixNo,
    CommitHash,
    RevisionNo,
    End,
    Invalid,
}

/// Suffix ranks; `NONE` is the pivot between pre-releases and post-releases.
const SUFFIXES: [&str; 10] = ["alpha", "beta", "pre", "rc", "", "cvs", "svn", "git", "hg", "p"];
const SUFFIX_NONE: usize = 4;

struct Cursor<'a> {
    rest: &'a [u8],
    token: Token,
    value: &'a [u8],
    number: u64,
    suffix: usize,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str) -> Self {
        let mut c = Self {
            rest: s.as_bytes(),
            token: Token::InitialDigit,
            value: b"",
            number: 0,
            suffix: 0,
        };
        c.digits();
        c
    }

    fn take_while(&mut self, pred: impl Fn(u8) -> bool) -> &'a [u8] {
        let n = self.rest.iter().take_while(|&&b| pred(b)).count();
        let (v, rest) = self.rest.split_at(n);
        self.rest = rest;
        v
    }

    fn digits(&mut self) {
        let v = self.take_while(|b| b.is_ascii_digit());
        self.value = v;
        self.number = v.iter().fold(0u64, |n, &d| {
            n.saturating_mul(10).saturating_add(u64::from(d - b'0'))
        });
        if v.is_empty() {
            self.token = Token::Invalid;
        }
    }

    fn advance(&mut self) {
        let Some(&c) = self.rest.first() else {
            self.token = Token::End;
            return;
        };
        match c {
            b'a'..=b'z' if self.token <= Token::Digit => {
                self.value = &self.rest[..1];
                self.rest = &self.rest[1..];
                self.token = Token::Letter;
            }
            b'.' | b'0'..=b'9'
                if self.token <= Token::Digit || (c != b'.' && self.token == Token::Suffix) =>
            {
                if c == b'.' {
                    self.rest = &self.rest[1..];
                }
                self.token = if self.token == Token::Suffix {
                    Token::SuffixNo
                } else {
                    Token::Digit
                };
                self.digits();
            }
            b'_' if self.token <= Token::SuffixNo => {
                self.rest = &self.rest[1..];
                let v = self.take_while(|b| b.is_ascii_lowercase());
                self.value = v;
                match SUFFIXES.iter().position(|s| !s.is_empty() && s.as_bytes() == v) {
                    Some(i) => {
                        self.suffix = i;
                        self.token = Token::Suffix;
                    }
                    None => self.token = Token::Invalid,
                }
            }
            b'~' if self.token < Token::CommitHash => {
                self.rest = &self.rest[1..];
                let v = self.take_while(|b| b.is_ascii_hexdigit());
                self.value = v;
                self.token = if v.is_empty() {
                    Token::Invalid
                } else {
                    Token::CommitHash
                };
            }
            b'-' if self.token < Token::RevisionNo && self.rest.starts_with(b"-r") => {
                self.rest = &self.rest[2..];
                self.token = Token::RevisionNo;
                self.digits();
            }
            _ => self.token = Token::Invalid,
        }
    }

    fn cmp_token(&self, other: &Self) -> Ordering {
        let numeric = match self.token {
            Token::Digit if self.value.first() == Some(&b'0') || other.value.first() == Some(&b'0') => None,
            Token::Digit | Token::InitialDigit | Token::SuffixNo | Token::RevisionNo => {
                Some((self.number, other.number))
            }
            Token::Letter => Some((u64::from(self.value[0]), u64::from(other.value[0]))),
            Token::Suffix => Some((self.suffix as u64, other.suffix as u64)),
            _ => None,
        };
        match numeric {
            Some((a, b)) => a.cmp(&b),
            None => self.value.cmp(other.value),
        }
    }
}

/// Whether `s` is a valid apk version (apk-tools' `apk_version_validate`).
#[must_use]
pub fn validate(s: &str) -> bool {
    let mut c = Cursor::new(s);
    while c.token < Token::End {
        c.advance();
    }
    c.token == Token::End
}

/// apk's ordering of two version strings (`apk_version_compare`).
#[must_use]
pub fn compare(a: &str, b: &str) -> Ordering {
    let (mut ta, mut tb) = (Cursor::new(a), Cursor::new(b));
    while ta.token == tb.token && ta.token < Token::End {
        let r = ta.cmp_token(&tb);
        if r != Ordering::Equal {
            return r;
        }
        ta.advance();
        tb.advance();
    }
    if ta.token == tb.token {
        return Ordering::Equal;
    }
    if ta.token == Token::Suffix && ta.suffix < SUFFIX_NONE {
        return Ordering::Less;
    }
    if tb.token == Token::Suffix && tb.suffix < SUFFIX_NONE {
        return Ordering::Greater;
    }
    // The one that ends (or turns invalid) first is the greater token number, i.e. the smaller version.
    tb.token.cmp(&ta.token)
}

/// The apk form of a wharf version: Debian pre-release markers `~alpha`, `~beta`, `~pre`, `~rc` (with an
/// optional `.` before the number, as in SemVer's `-rc.1`) become apk suffixes (`_rc1`), the Debian
/// revision becomes `-rN` (`-r0` without one). Anything else apk cannot order is an error naming the fix.
///
/// Development builds (`wharf release` between tags) end in `.dev.N.gHASH`: `1.3.1~~dev.5.gabc1234` becomes
/// `1.3.1_alpha0_git5` and `1.3.0~rc.1.dev.2.gabc1234` becomes `1.3.0_rc1_git2` — after every earlier build,
/// before the next release and its numbered pre-releases, in the same order as dpkg and rpm sort the
/// Debian forms (apk versions cannot carry the hash; a bare `_alpha` without number sorts before them).
pub fn from_version(v: &Version) -> Result<String, Invalid> {
    let d = v.deb();
    let fail = |why: &str| Invalid::new("apk version", v.as_str(), why);
    if d.epoch != 0 {
        return Err(fail(
            "apk versions have no epoch; drop the `N:` prefix for apk packages or choose a higher upstream version",
        ));
    }
    let mut upstream = String::new();
    let (mut rest, dev) = split_dev(&d.upstream);
    // A development build of the next release sorts before its alpha, beta, pre and rc: `_alpha0`.
    if dev.is_some()
        && let Some(plain) = rest.strip_suffix("~~dev")
    {
        upstream.push_str(plain);
        upstream.push_str("_alpha0");
        rest = "";
    }
    while let Some(i) = rest.find('~') {
        upstream.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let word: String = after.chars().take_while(char::is_ascii_lowercase).collect();
        if !["alpha", "beta", "pre", "rc"].contains(&word.as_str()) {
            return Err(fail(&format!(
                "apk knows only the pre-releases _alpha, _beta, _pre and _rc, not `~{word}`; use e.g. `1.0~rc1`"
            )));
        }
        upstream.push('_');
        upstream.push_str(&word);
        let mut tail = &after[word.len()..];
        if let Some(t) = tail.strip_prefix('.')
            && t.starts_with(|c: char| c.is_ascii_digit())
        {
            tail = t;
        }
        rest = tail;
    }
    upstream.push_str(rest);
    if let Some(n) = dev {
        upstream.push_str("_git");
        upstream.push_str(n);
    }
    let revision = if d.revision.is_empty() {
        "0"
    } else {
        d.revision.as_str()
    };
    if !revision.bytes().all(|b| b.is_ascii_digit()) {
        return Err(fail(&format!(
            "apk's package release (-rN) must be a number, not `{revision}`"
        )));
    }
    let out = format!("{upstream}-r{revision}");
    if validate(&out) {
        Ok(out)
    } else {
        Err(fail(&format!(
            "`{out}` is not an apk version (digits and dots, one optional letter, _alpha/_beta/_pre/_rc/_p \
             suffixes, -rN); set a version apk can order, e.g. `1.2.3` or `1.2.3~rc1`"
        )))
    }
}

/// Splits a development tail `.dev.N.gHASH` (or `~~dev.N.gHASH`, kept as `~~dev`) off an upstream version.
fn split_dev(upstream: &str) -> (&str, Option<&str>) {
    let Some(i) = upstream.rfind("dev.") else {
        return (upstream, None);
    };
    let (head, tail) = (&upstream[..i], &upstream[i + 4..]);
    let mut parts = tail.splitn(2, '.');
    let n = parts.next().unwrap_or("");
    let hash_ok = parts.next().is_some_and(|h| {
        h.strip_prefix('g')
            .is_some_and(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
    });
    if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || !hash_ok {
        return (upstream, None);
    }
    match (head.strip_suffix('.'), head.strip_suffix('~')) {
        (Some(h), _) => (h, Some(n)),
        (_, Some(h)) if h.ends_with('~') => (&upstream[..i + 3], Some(n)),
        _ => (upstream, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// apk-tools' `test/unit/version.data` (comparison and validity rows), verbatim.
    const DATA: &str = include_str!("../tests/data/apk-version.data");

    #[test]
    fn apk_tools_version_data() {
        let mut checked = 0;
        for line in DATA.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            let parts: Vec<&str> = line.split_whitespace().collect();
            match parts.as_slice() {
                [a, op, b] => {
                    let got = compare(a, b);
                    let want = match *op {
                        "<" => Ordering::Less,
                        ">" => Ordering::Greater,
                        "=" => Ordering::Equal,
                        _ => continue, // fuzzy-match rows (`~`, `<~`, `!~`): dependency matching, not ordering
                    };
                    assert_eq!(got, want, "{a} {op} {b}");
                    assert_eq!(compare(b, a), want.reverse(), "{b} vs {a}");
                    checked += 1;
                }
                [v] => {
                    match v.strip_prefix('!') {
                        Some(bad) => assert!(!validate(bad), "`{bad}` should be invalid"),
                        None => assert!(validate(v), "`{v}` should be valid"),
                    }
                    checked += 1;
                }
                _ => {}
            }
        }
        assert!(checked > 600, "only {checked} rows checked");
        assert!(!validate(""));
    }

    #[test]
    fn mapping_from_wharf_versions() {
        let map = |s: &str| from_version(&s.parse().unwrap());
        assert_eq!(map("1.2.3").unwrap(), "1.2.3-r0");
        assert_eq!(map("1.2.3-4").unwrap(), "1.2.3-r4");
        assert_eq!(map("1.0~rc1").unwrap(), "1.0_rc1-r0");
        assert_eq!(map("1.0.0~rc.2").unwrap(), "1.0.0_rc2-r0");
        assert_eq!(map("1.0~beta").unwrap(), "1.0_beta-r0");
        assert!(compare(&map("1.0~rc1").unwrap(), &map("1.0").unwrap()).is_lt());
        // Development builds: after the previous build, before the next release.
        assert_eq!(map("1.3.1~~dev.5.gabc1234").unwrap(), "1.3.1_alpha0_git5-r0");
        assert_eq!(map("1.3.0~rc.1.dev.2.gabc1234").unwrap(), "1.3.0_rc1_git2-r0");
        let order = [
            "1.3.0~rc.1",
            "1.3.0~rc.1.dev.2.gabc1234",
            "1.3.0~rc.1.dev.10.gabc1234",
            "1.3.0",
            "1.3.1~~dev.1.gdef5678",
            "1.3.1~~dev.5.gabc1234",
            "1.3.1~alpha.1",
            "1.3.1~rc.1",
            "1.3.1",
        ];
        for w in order.windows(2) {
            assert!(
                compare(&map(w[0]).unwrap(), &map(w[1]).unwrap()).is_lt(),
                "{} < {}",
                w[0],
                w[1]
            );
        }
        for bad in [
            "1:1.0",
            "1.0~dev1",
            "1.0+git5",
            "1.0-ubuntu1",
            "1.0~~dev.x.gabc",
            "1.0~dev.1.gabc",
        ] {
            let err = map(bad).unwrap_err().to_string();
            assert!(err.contains("apk"), "{bad}: {err}");
        }
    }

    proptest::proptest! {
        /// Never panics, and the order is antisymmetric, on arbitrary strings.
        #[test]
        fn total_on_garbage(a in "[0-9a-z._~-]{0,12}", b in "[0-9a-z._~-]{0,12}") {
            proptest::prop_assert_eq!(compare(&a, &b), compare(&b, &a).reverse());
            let _ = validate(&a);
        }
    }
}
