//! Release classification (seed 004's stable / extra / development, seed 000's prereleases).
//!
//! A tag is a *version tag* when it is the prefix (`v` by default) followed by a SemVer version; with a
//! pre-release part (`-rc.1`, `-beta.2`, anything) it is a prerelease. `[release] stable-tags` and
//! `prerelease-tags` narrow that with patterns: a version tag that does not match its pattern is just
//! another tag (extra) — seed 004's rule is `stable-tags = 'v[0-9]+\.[0-9]+\.[0-9]+'` with
//! `prerelease-tags = '^$'` (no tag is a prerelease). The commit being released is:
//!
//! | HEAD carries | class | version (wharf's Debian syntax) |
//! |---|---|---|
//! | `v1.2.3` | stable | `1.2.3` |
//! | `v1.3.0-rc.1` | prerelease | `1.3.0~rc.1` |
//! | another tag (`nightly-foo`) | extra | as development, tag recorded |
//! | nothing | development | `1.2.4~~dev.N.gHASH` after `v1.2.3`; `1.3.0~rc.1.dev.N.gHASH` after `v1.3.0-rc.1` |
//!
//! N is the number of commits since the nearest version tag and HASH the commit's first 7 hex digits, so
//! development builds sort after that tag and before the next release — and before its pre-releases
//! (`~~` sorts before `~alpha`) — in dpkg, rpm and apk.

use crate::{Commit, ReleaseError};

/// What a release is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// A version tag without a pre-release part.
    Stable,
    /// A version tag with a pre-release part.
    Prerelease,
    /// Another tag.
    Extra,
    /// No tag.
    Development,
}

impl Class {
    /// Its name, as the manifest spells it (`stable`, `prerelease`, `extra`, `development`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Stable => "stable",
            Self::Prerelease => "prerelease",
            Self::Extra => "extra",
            Self::Development => "development",
        }
    }
}

/// How tags are read.
#[derive(Debug, Clone)]
pub struct Rules {
    /// What version tags start with (`v`).
    pub tag_prefix: String,
    /// When set, a stable tag must also match this (whole tag); others are extra.
    pub stable: Option<regex::Regex>,
    /// When set, a pre-release tag must also match this (whole tag); others are extra.
    pub prerelease: Option<regex::Regex>,
}

impl Default for Rules {
    fn default() -> Self {
        Self {
            tag_prefix: "v".into(),
            stable: None,
            prerelease: None,
        }
    }
}

impl Rules {
    /// Rules with patterns (regular expressions matched against the whole tag, as seed 004's
    /// `v[0-9]+\.[0-9]+\.[0-9]+`); an invalid pattern is an error naming `key`.
    pub fn with_patterns(
        tag_prefix: &str,
        stable: Option<&str>,
        prerelease: Option<&str>,
    ) -> Result<Self, ReleaseError> {
        let compile = |key: &str, p: Option<&str>| {
            p.map(|p| {
                regex::Regex::new(&format!("^(?:{p})$")).map_err(|e| ReleaseError::Pattern {
                    key: key.to_owned(),
                    message: e.to_string(),
                })
            })
            .transpose()
        };
        Ok(Self {
            tag_prefix: tag_prefix.to_owned(),
            stable: compile("release.stable-tags", stable)?,
            prerelease: compile("release.prerelease-tags", prerelease)?,
        })
    }
}

/// The classification of the newest commit.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Classified {
    /// Its class.
    pub class: Class,
    /// The version to build it as (Debian syntax; each family's form derives from it).
    pub version: String,
    /// The tag it carries (version tag for stable/prerelease, the other tag for extra).
    pub tag: Option<String>,
    /// The nearest version tag before it, if any (the changelog starts there).
    pub previous: Option<String>,
    /// Commits since `previous` (or since the start of history), this one included.
    pub commits_since: usize,
}

/// A version tag's SemVer parts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagVersion {
    /// Major, minor, patch.
    pub core: (u64, u64, u64),
    /// The pre-release part, if any (`rc.1`).
    pub pre: Option<String>,
}

/// Reads `tag` as a version tag under `rules`.
#[must_use]
pub fn version_tag(tag: &str, rules: &Rules) -> Option<TagVersion> {
    let v = tag.strip_prefix(rules.tag_prefix.as_str())?;
    let v = v.split_once('+').map_or(v, |(core, _build)| core);
    let (core, pre) = match v.split_once('-') {
        Some((c, p)) => (c, Some(p)),
        None => (v, None),
    };
    let nums: Vec<u64> = core
        .split('.')
        .map(|n| {
            (!n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()) && (n == "0" || !n.starts_with('0')))
                .then(|| n.parse().ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    let [major, minor, patch] = nums.as_slice() else {
        return None;
    };
    let pre = match pre {
        Some(p)
            if p.is_empty()
                || !p
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-') =>
        {
            return None;
        }
        Some(p) => Some(p.to_ascii_lowercase()),
        None => None,
    };
    let pattern = if pre.is_some() {
        &rules.prerelease
    } else {
        &rules.stable
    };
    if pattern.as_ref().is_some_and(|p| !p.is_match(tag)) {
        return None;
    }
    Some(TagVersion {
        core: (*major, *minor, *patch),
        pre,
    })
}

impl TagVersion {
    /// The Debian form: `1.3.0~rc.1` (a `-` inside the pre-release becomes `.`: it would read as a revision).
    #[must_use]
    pub fn debian(&self) -> String {
        let (a, b, c) = self.core;
        match &self.pre {
            Some(p) => format!("{a}.{b}.{c}~{}", p.replace('-', ".")),
            None => format!("{a}.{b}.{c}"),
        }
    }

    /// The version of the `n`-th commit after this tag: before the next release.
    #[must_use]
    pub fn development(&self, n: usize, hash: &str) -> String {
        let short: String = hash.chars().take(7).collect();
        match &self.pre {
            // After a pre-release: still before the release it leads to.
            Some(_) => format!("{}.dev.{n}.g{short}", self.debian()),
            // After a release: before the next patch release and any pre-release of it (`~~` sorts
            // before `~alpha` in dpkg and rpm).
            None => {
                let (a, b, c) = self.core;
                format!("{a}.{b}.{}~~dev.{n}.g{short}", c + 1)
            }
        }
    }
}

/// Classifies `history[0]` (newest first).
pub fn classify(history: &[Commit], rules: &Rules) -> Result<Classified, ReleaseError> {
    let head = history.first().ok_or(ReleaseError::NoCommits)?;
    let best_version_tag = |c: &Commit| -> Option<(String, TagVersion)> {
        let mut tags: Vec<(String, TagVersion)> = c
            .tags
            .iter()
            .filter_map(|t| version_tag(t, rules).map(|v| (t.clone(), v)))
            .collect();
        // A stable tag wins over a pre-release on the same commit, then the higher version (v1.0.1 and
        // v1.1.0 on one commit release 1.1.0).
        tags.sort_by(|(_, a), (_, b)| {
            a.pre
                .is_some()
                .cmp(&b.pre.is_some())
                .then_with(|| b.core.cmp(&a.core))
        });
        tags.into_iter().next()
    };
    let previous = history
        .iter()
        .enumerate()
        .skip(1)
        .find_map(|(i, c)| best_version_tag(c).map(|(t, v)| (i, t, v)));
    if let Some((tag, v)) = best_version_tag(head) {
        return Ok(Classified {
            class: if v.pre.is_some() {
                Class::Prerelease
            } else {
                Class::Stable
            },
            version: v.debian(),
            tag: Some(tag),
            commits_since: previous.as_ref().map_or(history.len(), |(i, _, _)| *i),
            previous: previous.map(|(_, t, _)| t),
        });
    }
    let (n, prev_tag, base) = match previous {
        Some((i, t, v)) => (i, Some(t), v),
        None => (
            history.len(),
            None,
            TagVersion {
                core: (0, 0, 0),
                pre: None,
            },
        ),
    };
    let mut other: Vec<&String> = head.tags.iter().collect();
    other.sort();
    let version = base.development(n, &head.id);
    Ok(match other.first() {
        None => Classified {
            class: Class::Development,
            version,
            tag: None,
            previous: prev_tag,
            commits_since: n,
        },
        // An extra tag names its own build: its version comes from the tag, so tagging a commit that
        // already has a development release makes a new release, not the same version again.
        Some(t) => Classified {
            class: Class::Extra,
            version: extra_version(t, rules, &base),
            tag: Some((*t).clone()),
            previous: prev_tag,
            commits_since: n,
        },
    })
}

/// The version of an extra tag: the tag read as a version tag whatever the patterns say (`v1.3.0-rc.1`
/// → `1.3.0~rc.1`), else the tag's letters and digits after the next patch release's `~~` (after `v1.2.3`,
/// `handcrafted-1.0.0` → `1.2.4~~handcrafted.1.0.0`: before 1.2.4, after its development builds `~~dev…`
/// when the tag sorts after `dev`).
fn extra_version(tag: &str, rules: &Rules, base: &TagVersion) -> String {
    let loose = Rules {
        tag_prefix: rules.tag_prefix.clone(),
        stable: None,
        prerelease: None,
    };
    if let Some(v) = version_tag(tag, &loose) {
        return v.debian();
    }
    let words: Vec<String> = tag
        .to_ascii_lowercase()
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect();
    let (a, b, c) = base.core;
    let next = match &base.pre {
        Some(_) => format!("{}.", base.debian()),
        None => format!("{a}.{b}.{}~~", c + 1),
    };
    format!("{next}{}", words.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, tags: &[&str]) -> Commit {
        Commit {
            id: format!("{id:0<40}"),
            summary: String::new(),
            body: String::new(),
            parents: 1,
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
            time: 0,
            touches: true,
        }
    }

    #[test]
    fn class_names_match_the_manifest() {
        for c in [Class::Stable, Class::Prerelease, Class::Extra, Class::Development] {
            assert_eq!(serde_json::to_value(c).unwrap(), c.as_str());
        }
    }

    #[test]
    fn version_tags() {
        let r = Rules::default();
        assert_eq!(version_tag("v1.2.3", &r).unwrap().debian(), "1.2.3");
        assert_eq!(version_tag("v1.3.0-rc.1", &r).unwrap().debian(), "1.3.0~rc.1");
        assert_eq!(
            version_tag("v2.0.0-beta-2+build.5", &r).unwrap().debian(),
            "2.0.0~beta.2"
        );
        for not in [
            "1.2.3",
            "v1.2",
            "v1.2.3.4",
            "v01.2.3",
            "nightly-foo",
            "v1.2.3-",
            "vx.y.z",
        ] {
            assert!(version_tag(not, &r).is_none(), "{not}");
        }
    }

    #[test]
    fn the_table() {
        let r = Rules::default();
        // Newest first: two commits after the rc, which is one after v1.2.3.
        let history = [
            c("ccc1234", &[]),
            c("bbb", &[]),
            c("aaa", &["v1.3.0-rc.1"]),
            c("999", &["v1.2.3"]),
        ];
        let dev = classify(&history, &r).unwrap();
        assert_eq!(dev.class, Class::Development);
        assert_eq!(dev.version, "1.3.0~rc.1.dev.2.gccc1234");
        assert_eq!(dev.previous.as_deref(), Some("v1.3.0-rc.1"));
        let rc = classify(&history[2..], &r).unwrap();
        assert_eq!((rc.class, rc.version.as_str()), (Class::Prerelease, "1.3.0~rc.1"));
        assert_eq!(rc.previous.as_deref(), Some("v1.2.3"));
        let stable = classify(&history[3..], &r).unwrap();
        assert_eq!((stable.class, stable.version.as_str()), (Class::Stable, "1.2.3"));
        let mut extra = history.clone();
        extra[0].tags.push("nightly-foo".into());
        let e = classify(&extra, &r).unwrap();
        assert_eq!((e.class, e.tag.as_deref()), (Class::Extra, Some("nightly-foo")));
        assert_eq!(e.version, "1.3.0~rc.1.nightly.foo");
        // Two version tags on one commit: the higher one.
        let two = [c("ddd", &["v1.0.1", "v1.1.0", "v1.1.0-rc.1"])];
        assert_eq!(classify(&two, &r).unwrap().version, "1.1.0");
        // After a stable tag: before the next patch release.
        let after = [c("ddd4567", &[]), c("999", &["v1.2.3"])];
        assert_eq!(classify(&after, &r).unwrap().version, "1.2.4~~dev.1.gddd4567");
        // No tag at all.
        let none = [c("eee", &[]), c("fff", &[])];
        assert_eq!(classify(&none, &r).unwrap().version, "0.0.1~~dev.2.geee0000");
        assert!(classify(&[], &r).is_err());
    }

    #[test]
    fn patterns_narrow_what_counts() {
        // Seed 004: only vX.Y.Z is stable; everything else tagged is extra.
        let r = Rules::with_patterns("v", Some(r"v[0-9]+\.[0-9]+\.[0-9]+"), Some("^$")).unwrap();
        let history = [c("ccc1234", &["v1.3.0-rc.1"]), c("999", &["v1.2.3"])];
        let e = classify(&history, &r).unwrap();
        assert_eq!((e.class, e.tag.as_deref()), (Class::Extra, Some("v1.3.0-rc.1")));
        assert_eq!(e.version, "1.3.0~rc.1");
        let handmade = [c("ccc1234", &["handcrafted-1.0.0"]), c("999", &["v1.2.3"])];
        assert_eq!(
            classify(&handmade, &r).unwrap().version,
            "1.2.4~~handcrafted.1.0.0"
        );
        // Only release candidates are pre-releases; betas are extra.
        let r = Rules::with_patterns("v", None, Some(r"v.*-rc\.[0-9]+")).unwrap();
        assert!(version_tag("v2.0.0-rc.2", &r).is_some());
        assert!(version_tag("v2.0.0-beta.1", &r).is_none());
        assert!(version_tag("v2.0.0", &r).is_some());
        let err = Rules::with_patterns("v", Some("v[0-9"), None).unwrap_err();
        assert!(err.to_string().contains("release.stable-tags"), "{err}");
    }
}
