//! rpm's version ordering, as `rpmvercmp` in rpm's `rpmio/rpmvercmp.c` defines it: versions are split
//! into alphabetic and numeric segments (other characters only separate); numeric segments compare as
//! numbers and beat alphabetic ones; `~` sorts before everything (even the end), `^` after the end but
//! before anything else. An EVR compares epoch, then version, then release.

use std::cmp::Ordering;

/// `rpmvercmp(a, b)`.
#[must_use]
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    let sep = |c: u8| !c.is_ascii_alphanumeric() && c != b'~' && c != b'^';
    while i < a.len() || j < b.len() {
        while i < a.len() && sep(a[i]) {
            i += 1;
        }
        while j < b.len() && sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        if i >= a.len() || j >= b.len() {
            break;
        }
        let numeric = a[i].is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        if sj == j {
            // Segments of different types: numeric is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let (mut sa, mut sb) = (&a[si..i], &b[sj..j]);
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
    }
    match (i >= a.len(), j >= b.len()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

/// The distribution tags rpm-based distributions put in a release (`1.fc43`), by the chroot names repositories
/// are named after (mock's and Copr's `<distribution>-<version>-<arch>`): the name's prefix and the tag's
/// stem, the distribution's major version after it.
pub const DIST_TAGS: &[(&str, &str)] = &[
    ("fedora-", ".fc"),
    ("almalinux-", ".el"),
    ("almalinux-kitten-", ".el"),
    ("centos-stream-", ".el"),
    ("rhel-", ".el"),
    ("rocky-", ".el"),
    ("oraclelinux-", ".el"),
    ("epel-", ".el"),
    ("amazonlinux-", ".amzn"),
];

/// The dist tag of the repository `repo` (`fedora-43-x86_64` → `.fc43`, `almalinux-10-x86_64_v2` →
/// `.el10`), from [`DIST_TAGS`]; `None` for a name it does not know. The longest matching prefix wins.
#[must_use]
pub fn dist_tag(repo: &str) -> Option<String> {
    let (prefix, stem) = DIST_TAGS
        .iter()
        .filter(|(p, _)| repo.starts_with(p))
        .max_by_key(|(p, _)| p.len())?;
    let major: String = repo[prefix.len()..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    (!major.is_empty()).then(|| format!("{stem}{major}"))
}

/// Epoch, version, release, ordered as rpm orders them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Evr {
    /// Epoch (0 when absent).
    pub epoch: u32,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Evr {
    /// The rpm EVR for a wharf version (Debian syntax `[epoch:]upstream[-revision]`): the revision becomes
    /// the release (`1` when absent); `-` cannot appear in an rpm version, so one left in the upstream part
    /// becomes `_`.
    #[must_use]
    pub fn from_version(v: &crate::Version) -> Self {
        let d = v.deb();
        Self {
            epoch: d.epoch,
            version: d.upstream.replace('-', "_"),
            release: if d.revision.is_empty() {
                "1".to_owned()
            } else {
                d.revision
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dist_tags() {
        assert_eq!(dist_tag("fedora-43-x86_64").as_deref(), Some(".fc43"));
        assert_eq!(dist_tag("almalinux-10-x86_64_v2").as_deref(), Some(".el10"));
        assert_eq!(dist_tag("almalinux-kitten-10-x86_64").as_deref(), Some(".el10"));
        assert_eq!(dist_tag("centos-stream-10-aarch64").as_deref(), Some(".el10"));
        assert_eq!(dist_tag("linux-x86_64"), None);
        assert_eq!(dist_tag("fedora-rawhide-x86_64"), None);
    }

    #[test]
    fn rpm_examples() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "2.0", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0", "1.0.a", Less),
            ("1.010", "1.9", Greater),
            ("1_0", "1.0", Equal),
            ("a", "1", Less),
            ("1.0~~", "1.0~", Less),
        ] {
            assert_eq!(rpmvercmp(a, b), want, "{a} vs {b}");
        }
        let v: crate::Version = "2:1.5-beta-3".parse().unwrap();
        assert_eq!(
            Evr::from_version(&v),
            Evr {
                epoch: 2,
                version: "1.5_beta".into(),
                release: "3".into()
            }
        );
    }
}
