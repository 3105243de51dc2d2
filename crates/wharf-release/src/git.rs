//! Reading the history a release is made from, with gix (pure Rust, read-only, no network).
//!
//! [`read`] finds the repository containing a directory, resolves `HEAD`, peels every tag under
//! `refs/tags/` (annotated or lightweight) to its commit, and walks from `HEAD` newest first to the nearest
//! commit carrying a version tag ([`crate::classify::version_tag`]). The commits *since* that tag are the
//! ones reachable from `HEAD` but not from it (as `git log PREV..HEAD` lists them, merges of older branches
//! included); the tagged commit itself ends the list, so [`crate::classify::classify`] sees where it stops.
//!
//! When `dir` is a subdirectory of the work tree (one project of a monorepo, like wharf's own bundled
//! example), each commit also says whether it changed that directory ([`Commit::touches`]), as
//! `git log -- DIR` decides it: its tree for `DIR` differs from every parent's (a merge that kept one side's
//! tree does not count). Versions still count every commit (as `git describe` does); changelogs keep only
//! the commits that touched the project.
//!
//! A shallow clone without the tags (CI's default `fetch-depth: 1`) would silently read as "no release yet";
//! that is an error naming the fix instead ([`ReleaseError::Shallow`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::classify::{Rules, version_tag};
use crate::{Commit, ReleaseError};

/// The history of the repository containing `dir`, newest first, down to the nearest version tag.
/// `Ok(None)` when `dir` is not inside a git repository.
pub fn read(dir: &Path, rules: &Rules) -> Result<Option<History>, ReleaseError> {
    // Not in a repository at all is a normal case (a tarball of the sources): the caller falls back to the
    // configured version. Anything else gix cannot read is an error.
    if !dir.ancestors().any(|d| d.join(".git").exists()) {
        return Ok(None);
    }
    let repo = gix::discover(dir).map_err(|e| git_error(dir, e))?;
    let root = repo
        .workdir()
        .map_or_else(|| repo.git_dir().to_path_buf(), Path::to_path_buf);
    let err = |e: &dyn std::fmt::Display| ReleaseError::Git {
        repo: root.clone(),
        message: e.to_string(),
    };
    let head = match repo.head_id() {
        Ok(id) => id.detach(),
        // An unborn HEAD: a repository without commits.
        Err(_) if repo.head().is_ok_and(|h| h.is_unborn()) => return Err(ReleaseError::NoCommits),
        Err(e) => return Err(err(&e)),
    };
    let mut tags: HashMap<gix::ObjectId, Vec<String>> = HashMap::new();
    let platform = repo.references().map_err(|e| err(&e))?;
    for reference in platform.tags().map_err(|e| err(&e))? {
        let mut reference = reference.map_err(|e| err(&e))?;
        let name = reference.name().shorten().to_string();
        // A tag of a tree or blob (rare, legal) names no commit; skip it.
        let Ok(id) = reference.peel_to_id() else {
            continue;
        };
        if repo.find_commit(id).is_ok() {
            tags.entry(id.detach()).or_default().push(name);
        }
    }
    for names in tags.values_mut() {
        names.sort();
    }
    let is_version = |id: &gix::oid| {
        tags.get(id)
            .is_some_and(|t| t.iter().any(|n| version_tag(n, rules).is_some()))
    };
    let walk = |hidden: Option<gix::ObjectId>| -> Result<Vec<gix::ObjectId>, ReleaseError> {
        let mut ids = Vec::new();
        let platform = repo
            .rev_walk([head])
            .sorting(gix::revision::walk::Sorting::ByCommitTime(
                gix::traverse::commit::simple::CommitTimeOrder::NewestFirst,
            ))
            .with_hidden(hidden);
        for info in platform.all().map_err(|e| err(&e))? {
            let info = info.map_err(|e| err(&e))?;
            let stop = hidden.is_none() && info.id != head && is_version(&info.id);
            ids.push(info.id);
            if stop {
                break;
            }
        }
        Ok(ids)
    };
    // First: the nearest version-tagged ancestor (newest by commit time).
    let first = walk(None)?;
    let previous = first.last().copied().filter(|id| *id != head && is_version(id));
    let shallow = repo.is_shallow().map_err(|e| err(&e))?;
    if shallow && previous.is_none() && !is_version(&head) {
        return Err(ReleaseError::Shallow { repo: root });
    }
    // Then exactly the commits since it, and the tagged commit last.
    let mut ids = match previous {
        Some(p) => walk(Some(p))?,
        None => first,
    };
    ids.extend(previous);
    // The project's directory inside the work tree, when it is not the whole tree.
    let scope: Option<PathBuf> = std::fs::canonicalize(dir)
        .ok()
        .zip(std::fs::canonicalize(&root).ok())
        .and_then(|(d, r)| d.strip_prefix(&r).ok().map(Path::to_path_buf))
        .filter(|s| !s.as_os_str().is_empty());
    let subtree = |id: gix::ObjectId, path: &Path| -> Result<Option<gix::ObjectId>, ReleaseError> {
        let commit = repo.find_commit(id).map_err(|e| err(&e))?;
        let tree = commit.tree().map_err(|e| err(&e))?;
        Ok(tree
            .lookup_entry_by_path(path)
            .map_err(|e| err(&e))?
            .map(|e| e.object_id()))
    };
    let mut commits = Vec::with_capacity(ids.len());
    for id in ids {
        let c = repo.find_commit(id).map_err(|e| err(&e))?;
        let touches = match &scope {
            None => true,
            Some(path) => {
                let mine = subtree(id, path)?;
                let mut parents = c.parent_ids().map(|p| p.detach()).peekable();
                if parents.peek().is_none() {
                    mine.is_some()
                } else {
                    let mut differs = true;
                    for p in parents {
                        // A parent outside a shallow clone cannot be read: count the commit.
                        if let Ok(theirs) = subtree(p, path) {
                            differs &= theirs != mine;
                        }
                    }
                    differs
                }
            }
        };
        let raw = c.message_raw_sloppy().to_string();
        let raw = raw.trim_start_matches('\n');
        let (summary, body) = raw.split_once("\n\n").unwrap_or((raw, ""));
        commits.push(Commit {
            id: id.to_string(),
            summary: summary.split_whitespace().collect::<Vec<_>>().join(" "),
            body: body.trim_end().to_owned(),
            parents: c.parent_ids().count(),
            tags: tags.get(&id).cloned().unwrap_or_default(),
            time: c.time().map(|t| t.seconds).unwrap_or_default(),
            touches,
        });
    }
    Ok(Some(History {
        root,
        shallow,
        commits,
    }))
}

/// What [`read`] found.
#[derive(Debug, Clone)]
pub struct History {
    /// The work tree (or git directory of a bare repository).
    pub root: PathBuf,
    /// Whether the clone is shallow (with a version tag in reach, it still classifies).
    pub shallow: bool,
    /// `HEAD` first, then the commits since the previous version tag, then that tag's commit.
    pub commits: Vec<Commit>,
}

fn git_error(dir: &Path, e: impl std::fmt::Display) -> ReleaseError {
    ReleaseError::Git {
        repo: dir.to_path_buf(),
        message: e.to_string(),
    }
}
