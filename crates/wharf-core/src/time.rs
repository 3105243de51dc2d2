//! The one clock every artifact reads: `SOURCE_DATE_EPOCH` (reproducible-builds.org/specs/source-date-epoch).
//!
//! Parsing is strict: a value that is not a plain non-negative decimal integer is an error, never a silent
//! fallback to "now" (nFPM's `modtime.FromEnv` does that and breaks reproducibility unnoticed).

use chrono::{DateTime, Utc};

use crate::Invalid;

/// Seconds since the Unix epoch, used for every timestamp written into an artifact.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SourceDate(i64);

impl SourceDate {
    /// The latest time OpenPGP (u32) and tar/ar headers can represent.
    const MAX: i64 = u32::MAX as i64;

    /// Parses a `SOURCE_DATE_EPOCH` value.
    pub fn parse_epoch(value: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("SOURCE_DATE_EPOCH", value, why);
        if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad(
                "it must be a whole number of seconds since 1970-01-01 (e.g. `git log -1 --format=%ct`)",
            ));
        }
        let secs = value.parse::<i64>().map_err(|_| bad("the number is too large"))?;
        Self::from_unix(secs).map_err(|_| bad("it must be before 2106-02-07 (OpenPGP's 32-bit time)"))
    }

    /// From Unix seconds.
    pub fn from_unix(secs: i64) -> Result<Self, Invalid> {
        if (0..=Self::MAX).contains(&secs) {
            Ok(Self(secs))
        } else {
            Err(Invalid::new(
                "timestamp",
                &secs.to_string(),
                "out of range 1970..2106",
            ))
        }
    }

    /// The current time (used only when no `SOURCE_DATE_EPOCH` is given).
    #[must_use]
    pub fn now() -> Self {
        Self(Utc::now().timestamp().clamp(0, Self::MAX))
    }

    /// Unix seconds.
    #[must_use]
    pub fn unix(self) -> i64 {
        self.0
    }

    /// RFC 2822 in UTC, as apt's `Date:`/`Valid-Until:` want: `Sat, 21 Nov 2026 19:22:50 UTC`.
    #[must_use]
    pub fn rfc2822(self) -> String {
        DateTime::<Utc>::from_timestamp(self.0, 0)
            .unwrap_or_default()
            .format("%a, %d %b %Y %H:%M:%S UTC")
            .to_string()
    }

    /// RFC 5322 with a numeric zone, as Debian changelogs' trailer lines want: `Sat, 21 Nov 2026 19:22:50 +0000`.
    #[must_use]
    pub fn rfc5322(self) -> String {
        DateTime::<Utc>::from_timestamp(self.0, 0)
            .unwrap_or_default()
            .format("%a, %d %b %Y %H:%M:%S +0000")
            .to_string()
    }

    /// Reads an RFC 3339 time (`2026-11-21T19:22:50Z`, any offset).
    #[must_use]
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        DateTime::parse_from_rfc3339(text)
            .ok()
            .and_then(|d| Self::from_unix(d.timestamp()).ok())
    }

    /// RFC 3339 in UTC: `2026-11-21T19:22:50Z`.
    #[must_use]
    pub fn rfc3339(self) -> String {
        DateTime::<Utc>::from_timestamp(self.0, 0)
            .unwrap_or_default()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strict_parse() {
        assert_eq!(
            SourceDate::parse_epoch("1700000000").unwrap().unix(),
            1_700_000_000
        );
        for bad in ["", "-1", "1.5", " 1", "1e9", "abc", "99999999999"] {
            assert!(SourceDate::parse_epoch(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc2822() {
        assert_eq!(
            SourceDate::from_unix(1_795_807_370).unwrap().rfc2822(),
            "Fri, 27 Nov 2026 19:22:50 UTC"
        );
    }
}
