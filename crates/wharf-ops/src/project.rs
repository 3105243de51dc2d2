//! The project and the store a command works on: wharf.toml (or Cargo.toml) loaded with its warnings
//! reported, and the store opened — for writing, only where it cannot clobber the project.

use std::path::Path;

use wharf_config::{Environment, Project};
use wharf_store::{Counted, S3Options, Store, StoreUrl};

use crate::{Env, Reporter, S3Flags};

/// Opens the store at `to` (flags first, then the project's `[publish]`, then `AWS_*`), counting its
/// calls, and says with `-v` how it locks.
pub fn open_store(
    to: &StoreUrl,
    args: &S3Flags,
    project: Option<&Project>,
    env: &Env,
    out: &dyn Reporter,
) -> anyhow::Result<Counted<Box<dyn Store>>> {
    let publish = project.map(|p| &p.publish);
    let options = S3Options {
        endpoint: args
            .endpoint
            .clone()
            .or_else(|| publish.and_then(|p| p.s3_endpoint.clone())),
        region: args
            .region
            .clone()
            .or_else(|| publish.and_then(|p| p.s3_region.clone())),
        lock_lease: env.lock_lease,
        credentials: None,
    };
    let store = Counted::new(to.open(&options)?);
    if out.verbose() {
        out.detail(&format!("store {}: {}", store.describe(), store.locking()?));
    }
    Ok(store)
}

/// [`open_store`] for a command that writes the store: refuses a directory that would put the repository
/// over the project (`to = ""`, `"."`, a parent of it), into its `.wharf/` (throwaway secret keys and
/// caches) or into the package output directory `dist/`.
pub fn open_store_to_write(
    to: &StoreUrl,
    args: &S3Flags,
    project: Option<&Project>,
    env: &Env,
    out: &dyn Reporter,
) -> anyhow::Result<Counted<Box<dyn Store>>> {
    let dir = project.map_or_else(|| env.cwd.clone(), |p| p.dir.clone());
    check_store_location(to, &env.cwd, &dir)?;
    open_store(to, args, project, env, out)
}

/// Where a directory store may not be, relative to the project directory `project` (paths resolved
/// from `cwd`, symbolic links followed where they exist).
pub fn check_store_location(to: &StoreUrl, cwd: &Path, project: &Path) -> anyhow::Result<()> {
    let StoreUrl::Local(path) = to else {
        return Ok(());
    };
    let resolve = |p: &Path| -> std::path::PathBuf {
        let abs = if p.is_absolute() {
            p.to_path_buf()
        } else {
            cwd.join(p)
        };
        // Lexically first (`a/../b`), then through the links of the part that exists.
        let mut clean = std::path::PathBuf::new();
        for c in abs.components() {
            match c {
                std::path::Component::ParentDir => {
                    clean.pop();
                }
                std::path::Component::CurDir => {}
                other => clean.push(other),
            }
        }
        let mut existing = clean.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name().map(ToOwned::to_owned), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut out = existing.canonicalize().unwrap_or(existing);
        out.extend(rest.into_iter().rev());
        out
    };
    let store = resolve(path);
    let project = resolve(project);
    let why = if project.starts_with(&store) {
        Some("it contains the project itself, with its sources and the secret keys in `.wharf/`")
    } else if store.starts_with(project.join(".wharf")) {
        Some("it is inside `.wharf/`, where wharf keeps secret keys and its own state")
    } else if store.starts_with(project.join("dist")) {
        Some("it is inside `dist/`, where `wharf package` writes its packages")
    } else {
        None
    };
    match why {
        Some(why) => anyhow::bail!(
            "refusing to publish into {}: {why}; use a directory of its own, such as `public`",
            store.display()
        ),
        None => Ok(()),
    }
}

/// Loads the project named by `-c`, or found in the current directory.
pub fn load(config: Option<&Path>, env: &Env, out: &dyn Reporter) -> anyhow::Result<Project> {
    let e = Environment {
        cargo_target_dir: env.cargo_target_dir.clone(),
    };
    let project = wharf_config::load(&env.cwd, config, &e)?;
    out.detail(&format!("configuration: {}", project.source.display()));
    for w in &project.warnings {
        out.warn(w);
    }
    Ok(project)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::check_store_location;

    #[test]
    fn stores_over_the_project_or_its_keys_are_refused() {
        let t = tempfile::tempdir().unwrap();
        let project = t.path().join("proj");
        std::fs::create_dir_all(project.join(".wharf")).unwrap();
        let check = |to: &str, cwd: &Path| -> anyhow::Result<()> {
            check_store_location(&crate::settings::store_location(Some(to), None)?, cwd, &project)
        };
        for bad in [
            "",
            " ",
            ".",
            "./",
            "..",
            ".wharf",
            ".wharf/repo",
            "dist",
            "dist/repo",
            "sub/../.",
        ] {
            let e = check(bad, &project).unwrap_err().to_string();
            assert!(e.contains("refusing") || e.contains("empty"), "{bad}: {e}");
        }
        let abs = project.display().to_string();
        assert!(check(&abs, t.path()).is_err());
        assert!(check(&format!("file://{abs}"), t.path()).is_err());
        for good in ["public", "../public", "out/repo", "s3://bucket/prefix"] {
            check(good, &project).unwrap();
        }
    }
}
