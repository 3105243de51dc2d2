//! Changelogs from conventional commits (<https://www.conventionalcommits.org/en/v1.0.0/>).
//!
//! `type(scope)!: description` — the type picks the group (configurable; by default `feat` → Features,
//! `fix` → Bug Fixes, everything else → Other, as seed 000's release notes group them); `!` after the type
//! or a `BREAKING CHANGE:` / `BREAKING-CHANGE:` footer marks a breaking change, listed again under
//! "Breaking Changes" first. Merge commits are skipped; a commit that is not conventional goes to the last
//! group with its whole summary. Commits that did not touch the project's directory (a monorepo's other
//! projects, see [`crate::git`]) are left out.

use crate::Commit;

/// One changelog entry.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    /// The conventional type (`feat`), empty when the commit is not conventional.
    pub kind: String,
    /// The scope, if any.
    pub scope: Option<String>,
    /// The description (or the whole summary).
    pub text: String,
    /// Whether it breaks compatibility.
    pub breaking: bool,
    /// The commit's short id.
    pub commit: String,
}

/// A group of the changelog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Group {
    /// Its heading.
    pub title: String,
    /// Its entries, newest first.
    pub entries: Vec<Entry>,
}

/// Which commit types go under which heading; the last group takes everything else.
#[derive(Debug, Clone)]
pub struct Groups(pub Vec<(String, Vec<String>)>);

impl Default for Groups {
    fn default() -> Self {
        Self(vec![
            ("Features".into(), vec!["feat".into()]),
            ("Bug Fixes".into(), vec!["fix".into()]),
            ("Other".into(), Vec::new()),
        ])
    }
}

/// A release's changelog.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Changelog {
    /// Breaking changes (also listed in their groups).
    pub breaking: Vec<Entry>,
    /// The groups with at least one entry, in configured order.
    pub groups: Vec<Group>,
}

/// Parses a conventional summary: `(type, scope, breaking, description)`.
fn parse(summary: &str) -> Option<(String, Option<String>, bool, String)> {
    let (head, text) = summary.split_once(": ")?;
    let (head, bang) = match head.strip_suffix('!') {
        Some(h) => (h, true),
        None => (head, false),
    };
    let (kind, scope) = match head.split_once('(') {
        Some((k, rest)) => (k, Some(rest.strip_suffix(')')?.to_owned())),
        None => (head, None),
    };
    let ok = !kind.is_empty() && kind.bytes().all(|b| b.is_ascii_alphabetic());
    (ok && !text.trim().is_empty()).then(|| (kind.to_ascii_lowercase(), scope, bang, text.trim().to_owned()))
}

/// The changelog of `commits` (newest first, the previous tag's commit excluded).
#[must_use]
pub fn changelog(commits: &[Commit], groups: &Groups) -> Changelog {
    let mut out: Vec<Group> = groups
        .0
        .iter()
        .map(|(t, _)| Group {
            title: t.clone(),
            entries: Vec::new(),
        })
        .collect();
    let mut breaking = Vec::new();
    for c in commits.iter().filter(|c| c.parents < 2 && c.touches) {
        let footer = c
            .body
            .lines()
            .any(|l| l.starts_with("BREAKING CHANGE:") || l.starts_with("BREAKING-CHANGE:"));
        let entry = match parse(&c.summary) {
            Some((kind, scope, bang, text)) => Entry {
                kind,
                scope,
                text,
                breaking: bang || footer,
                commit: c.id.chars().take(7).collect(),
            },
            None => Entry {
                kind: String::new(),
                scope: None,
                text: c.summary.trim().to_owned(),
                breaking: footer,
                commit: c.id.chars().take(7).collect(),
            },
        };
        if entry.breaking {
            breaking.push(entry.clone());
        }
        let slot = groups
            .0
            .iter()
            .position(|(_, kinds)| kinds.contains(&entry.kind))
            .unwrap_or(out.len().saturating_sub(1));
        if let Some(g) = out.get_mut(slot) {
            g.entries.push(entry);
        }
    }
    out.retain(|g| !g.entries.is_empty());
    Changelog {
        breaking,
        groups: out,
    }
}

impl Changelog {
    /// Markdown for release notes: one `###` section per group, breaking changes first.
    #[must_use]
    pub fn markdown(&self) -> String {
        let line = |e: &Entry| {
            let scope = e
                .scope
                .as_ref()
                .map_or_else(String::new, |s| format!("**{s}:** "));
            format!("- {scope}{} ({})\n", e.text, e.commit)
        };
        let mut md = String::new();
        if !self.breaking.is_empty() {
            md.push_str("### ⚠ Breaking Changes\n\n");
            self.breaking.iter().for_each(|e| md.push_str(&line(e)));
            md.push('\n');
        }
        for g in &self.groups {
            md.push_str(&format!("### {}\n\n", g.title));
            g.entries.iter().for_each(|e| md.push_str(&line(e)));
            md.push('\n');
        }
        if md.is_empty() {
            md.push_str("No changes since the previous release.\n");
        }
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(id: &str, summary: &str, body: &str, parents: usize) -> Commit {
        Commit {
            id: format!("{id:0<40}"),
            summary: summary.into(),
            body: body.into(),
            parents,
            tags: Vec::new(),
            time: 0,
            touches: true,
        }
    }

    #[test]
    fn conventional_commits_grouped() {
        let history = [
            c("a1", "feat(cli)!: rename --to to --store", "", 1),
            c("a2", "Merge branch 'x'", "", 2),
            c("a3", "fix: keep the lock when renewing", "", 1),
            c("a4", "docs: explain channels", "", 1),
            c("a5", "feat: S3 stores", "BREAKING CHANGE: state format 2\n", 1),
            c("a6", "tidy up", "", 1),
            c("a7", "fix(apk)  wrong", "", 1),
        ];
        let log = changelog(&history, &Groups::default());
        insta::assert_snapshot!(log.markdown(), @r"
        ### ⚠ Breaking Changes

        - **cli:** rename --to to --store (a100000)
        - S3 stores (a500000)

        ### Features

        - **cli:** rename --to to --store (a100000)
        - S3 stores (a500000)

        ### Bug Fixes

        - keep the lock when renewing (a300000)

        ### Other

        - explain channels (a400000)
        - tidy up (a600000)
        - fix(apk)  wrong (a700000)
        ");
        assert_eq!(
            changelog(&[], &Groups::default()).markdown(),
            "No changes since the previous release.\n"
        );
    }
}
