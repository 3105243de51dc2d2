//! The version a build is made as: `--version`, else what git tags say (`wharf_release::classify`: a
//! version tag at `HEAD`, else a development version after the nearest one), else the configured version.
//! `release`, `package` and `publish` all ask here, so packages built on a build machine carry the
//! version its release will have.

use anyhow::Context;
use wharf_config::Project;
use wharf_release::changelog::{Changelog, Groups, changelog};
use wharf_release::classify::{Class, Classified, Rules, classify};

use crate::Reporter;

/// What is being released and why.
pub struct What {
    pub class: Class,
    pub version: String,
    pub tag: Option<String>,
    pub commit: Option<String>,
    pub commit_time: Option<i64>,
    pub previous: Option<String>,
    pub changelog: Changelog,
}

/// The version from `--version`, else from git (when a version tag is in reach), else the configuration.
pub fn what_to_release(project: &Project, version: Option<&str>, out: &dyn Reporter) -> anyhow::Result<What> {
    let r = &project.release;
    let rules = Rules::with_patterns(
        &r.tag_prefix,
        r.stable_tags.as_deref(),
        r.prerelease_tags.as_deref(),
    )
    .with_context(|| format!("{}: [release]", project.source.display()))?;
    let groups = if project.release.groups.is_empty() {
        Groups::default()
    } else {
        Groups(project.release.groups.clone())
    };
    let history = wharf_release::git::read(&project.dir, &rules)?;
    if let Some(h) = &history {
        warn_if_dirty(&project.dir, h.commits.first().map(|c| c.id.as_str()), out);
    }
    let classified: Option<Classified> = match &history {
        Some(h) => Some(classify(&h.commits, &rules)?),
        None => None,
    };
    let head = history.as_ref().and_then(|h| h.commits.first());
    let log = |c: &Classified| {
        history.as_ref().map_or_else(
            || changelog(&[], &groups),
            |h| {
                let since = c.commits_since.min(h.commits.len());
                changelog(&h.commits[..since], &groups)
            },
        )
    };
    let configured = || {
        project
            .packages
            .first()
            .map(|p| p.version.to_string())
            .unwrap_or_default()
    };
    let by_form = |v: &str| {
        if v.contains('~') {
            Class::Prerelease
        } else {
            Class::Stable
        }
    };
    Ok(match (version, classified) {
        (Some(v), c) => What {
            class: by_form(v),
            version: v.to_owned(),
            tag: None,
            commit: head.map(|h| h.id.clone()),
            commit_time: head.map(|h| h.time),
            previous: c.as_ref().and_then(|c| c.previous.clone()),
            changelog: c.as_ref().map_or_else(|| changelog(&[], &groups), log),
        },
        (None, Some(c)) if c.previous.is_some() || matches!(c.class, Class::Stable | Class::Prerelease) => {
            What {
                class: c.class,
                version: c.version.clone(),
                tag: c.tag.clone(),
                commit: head.map(|h| h.id.clone()),
                commit_time: head.map(|h| h.time),
                previous: c.previous.clone(),
                changelog: log(&c),
            }
        }
        (None, c) => {
            let v = configured();
            out.detail(&format!(
                "{}; releasing the configured version {v}",
                if history.is_some() {
                    "no version tag in the git history"
                } else {
                    "not in a git repository"
                }
            ));
            What {
                class: by_form(&v),
                version: v,
                tag: None,
                commit: head.map(|h| h.id.clone()),
                commit_time: head.map(|h| h.time),
                previous: None,
                changelog: c.as_ref().map_or_else(|| changelog(&[], &groups), log),
            }
        }
    })
}

/// Sets every package of `project` to the version `--version` or git gives (nothing changes outside git
/// or before the first version tag, where the configured version stands), warning about a work tree
/// with uncommitted changes. Returns what it found (the commit, for an image's revision).
pub fn apply(project: &mut Project, given: Option<&str>, out: &dyn Reporter) -> anyhow::Result<What> {
    let what = what_to_release(project, given, out)?;
    let version: wharf_core::Version = what
        .version
        .parse()
        .with_context(|| format!("`{}` cannot be a package version", what.version))?;
    for template in &mut project.packages {
        template.version = version.clone();
    }
    Ok(what)
}

/// Warns when the git work tree at `dir` has uncommitted changes to tracked files: the build then holds
/// files its commit does not. (Asks the git command, when there is one: reading a work tree's status is
/// not in wharf's git library build.)
fn warn_if_dirty(dir: &std::path::Path, commit: Option<&str>, out: &dyn Reporter) {
    let Ok(done) = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["status", "--porcelain", "--untracked-files=no"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .output()
    else {
        return;
    };
    let changed = String::from_utf8_lossy(&done.stdout).lines().count();
    if done.status.success() && changed > 0 {
        out.warn(&format!(
            "the work tree has uncommitted changes to {changed} file(s): this build holds files commit {} does not; commit them, or build from a clean checkout",
            commit.map_or("HEAD", |c| &c[..c.len().min(12)])
        ));
    }
}
