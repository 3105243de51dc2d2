//! Versions and the dpkg ordering.
//!
//! Syntax and comparison follow dpkg's `lib/dpkg/parsehelp.c` (`parseversion`) and
//! `lib/dpkg/version.c` (`verrevcmp`, `dpkg_version_compare`): `[epoch:]upstream[-revision]`, where
//! `~` sorts before everything, even the end of the string, letters sort before other characters, and
//! digit runs compare numerically. The rpm and apk orderings join this module with their formats.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use crate::Invalid;

/// A version as the user wrote it, validated against the dpkg syntax (the strictest family).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Version(String);

impl Version {
    /// The version text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The version parsed for dpkg comparison.
    #[must_use]
    pub fn deb(&self) -> DebVersion {
        // Validated at construction, so parsing cannot fail.
        DebVersion::parse(&self.0).unwrap_or_else(|_| DebVersion {
            epoch: 0,
            upstream: self.0.clone(),
            revision: String::new(),
        })
    }

    /// The version without its epoch (what goes into file names).
    #[must_use]
    pub fn without_epoch(&self) -> &str {
        self.0.split_once(':').map_or(&self.0, |(_, rest)| rest)
    }
}

impl FromStr for Version {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        DebVersion::parse(s)?;
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for Version {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        s.parse()
    }
}

impl From<Version> for String {
    fn from(v: Version) -> String {
        v.0
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A dpkg version split into its parts, ordered exactly as `dpkg --compare-versions` orders them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DebVersion {
    /// The epoch (0 when absent).
    pub epoch: u32,
    /// The upstream version.
    pub upstream: String,
    /// The Debian revision ("" when absent).
    pub revision: String,
}

impl DebVersion {
    /// Parses `[epoch:]upstream[-revision]` with dpkg's rules.
    pub fn parse(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("version", s, why);
        if s.is_empty() {
            return Err(bad("the version is empty"));
        }
        if s.chars().any(char::is_whitespace) {
            return Err(bad("versions cannot contain white space"));
        }
        let (epoch, rest) = match s.split_once(':') {
            Some((e, rest)) => {
                if e.is_empty() || !e.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("the epoch (before `:`) must be a number"));
                }
                let epoch = e.parse::<u32>().map_err(|_| bad("the epoch is too large"))?;
                if i32::try_from(epoch).is_err() {
                    return Err(bad("the epoch is too large"));
                }
                if rest.is_empty() {
                    return Err(bad("nothing after the epoch's `:`"));
                }
                (epoch, rest)
            }
            None => (0, s),
        };
        let (upstream, revision) = match rest.rsplit_once('-') {
            Some((u, r)) => {
                if r.is_empty() {
                    return Err(bad("the revision after the last `-` is empty"));
                }
                (u, r)
            }
            None => (rest, ""),
        };
        if upstream.is_empty() {
            return Err(bad("the upstream version is empty"));
        }
        if !upstream.as_bytes()[0].is_ascii_digit() {
            return Err(bad("the version must start with a digit (after any epoch)"));
        }
        if let Some(c) = upstream
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".-+~:".contains(*c)))
        {
            return Err(bad(&format!(
                "character `{c}` is not allowed in the upstream version"
            )));
        }
        if let Some(c) = revision
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".+~".contains(*c)))
        {
            return Err(bad(&format!("character `{c}` is not allowed in the revision")));
        }
        Ok(Self {
            epoch,
            upstream: upstream.to_owned(),
            revision: revision.to_owned(),
        })
    }
}

/// dpkg's character weight for the non-digit parts.
fn order(c: Option<u8>) -> i32 {
    match c {
        None => 0,
        Some(c) if c.is_ascii_digit() => 0,
        Some(c) if c.is_ascii_alphabetic() => i32::from(c),
        Some(b'~') => -1,
        Some(c) => i32::from(c) + 256,
    }
}

/// dpkg's `verrevcmp`.
fn verrevcmp(a: &[u8], b: &[u8]) -> Ordering {
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        let mut first_diff = 0;
        while (i < a.len() && !a[i].is_ascii_digit()) || (j < b.len() && !b[j].is_ascii_digit()) {
            let ac = order(a.get(i).copied());
            let bc = order(b.get(j).copied());
            if ac != bc {
                return ac.cmp(&bc);
            }
            i += 1;
            j += 1;
        }
        while i < a.len() && a[i] == b'0' {
            i += 1;
        }
        while j < b.len() && b[j] == b'0' {
            j += 1;
        }
        while i < a.len() && a[i].is_ascii_digit() && j < b.len() && b[j].is_ascii_digit() {
            if first_diff == 0 {
                first_diff = i32::from(a[i]) - i32::from(b[j]);
            }
            i += 1;
            j += 1;
        }
        if i < a.len() && a[i].is_ascii_digit() {
            return Ordering::Greater;
        }
        if j < b.len() && b[j].is_ascii_digit() {
            return Ordering::Less;
        }
        if first_diff != 0 {
            return first_diff.cmp(&0);
        }
    }
    Ordering::Equal
}

impl Ord for DebVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| verrevcmp(self.upstream.as_bytes(), other.upstream.as_bytes()))
            .then_with(|| verrevcmp(self.revision.as_bytes(), other.revision.as_bytes()))
    }
}

impl PartialOrd for DebVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        DebVersion::parse(a).unwrap().cmp(&DebVersion::parse(b).unwrap())
    }

    #[test]
    fn dpkg_examples() {
        assert_eq!(cmp("1.0~rc1", "1.0"), Ordering::Less);
        assert_eq!(cmp("1.0", "1.0-1"), Ordering::Less);
        assert_eq!(cmp("1:0.1", "2.0"), Ordering::Greater);
        assert_eq!(cmp("1.10", "1.9"), Ordering::Greater);
        assert_eq!(cmp("1.0a", "1.0+"), Ordering::Less);
        assert_eq!(cmp("1.001", "1.1"), Ordering::Equal);
        assert_eq!(cmp("1.0~~", "1.0~"), Ordering::Less);
        assert_eq!(cmp("2.0-1ubuntu1", "2.0-1"), Ordering::Greater);
    }

    #[test]
    fn syntax() {
        for bad in ["", "a1", "1 0", ":1", "x:1", "1:", "1.0-", "1_0", "1.0-a_b"] {
            assert!(DebVersion::parse(bad).is_err(), "{bad}");
        }
        for ok in ["0", "1:2.3-4", "1.0~rc1+git.5-0ubuntu1~22.04", "2:1-2-3"] {
            assert!(DebVersion::parse(ok).is_ok(), "{ok}");
        }
        assert_eq!(Version::from_str("3:1.2-1").unwrap().without_epoch(), "1.2-1");
    }
}
