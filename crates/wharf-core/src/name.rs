//! Package names.
//!
//! The portable rule is Debian Policy §5.6.1: at least two characters, lower-case letters, digits and
//! `+ - .`, starting with a letter or digit. rpm, apk and opkg accept every such name, so one rule serves
//! every family.

use std::fmt;
use std::str::FromStr;

use crate::Invalid;

/// A validated package name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PackageName(String);

impl PackageName {
    /// The name as text.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PackageName {
    type Err = Invalid;
    fn from_str(s: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("package name", s, why);
        if s.len() < 2 {
            return Err(bad("names need at least two characters (Debian Policy §5.6.1)"));
        }
        let first = s.as_bytes()[0];
        if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
            return Err(bad("names must start with a lower-case letter or a digit"));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '+' | '-' | '.')))
        {
            return Err(bad(&format!(
                "character `{}` is not allowed; use lower-case letters, digits, `+`, `-` and `.`",
                c.escape_default()
            )));
        }
        Ok(Self(s.to_owned()))
    }
}

impl TryFrom<String> for PackageName {
    type Error = Invalid;
    fn try_from(s: String) -> Result<Self, Invalid> {
        s.parse()
    }
}

impl From<PackageName> for String {
    fn from(n: PackageName) -> String {
        n.0
    }
}

impl fmt::Display for PackageName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        for ok in ["hello", "libfoo2", "g++", "foo.bar-baz", "0ad"] {
            assert!(ok.parse::<PackageName>().is_ok(), "{ok}");
        }
        for bad in ["", "a", "Hello", "-x", "foo_bar", "foo bar", "fooé"] {
            assert!(bad.parse::<PackageName>().is_err(), "{bad}");
        }
    }
}
