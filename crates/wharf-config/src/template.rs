//! Package templates: a package as configured, before a target is chosen. Resolving one for a target
//! locates its build outputs, checks every input exists and yields a [`PackageSpec`].

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use wharf_core::{
    Arch, Content, FileEntry, FileKind, InstallPath, Owner, PackageMeta, PackageName, PackageSpec,
    ScriptKind, Version,
};

/// A file to install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTemplate {
    /// Source, relative to the project directory. `target/release/…` means a build output: it is looked up
    /// in Cargo's real target directory, under `<triple>/` when a target is given (cargo-deb's rule).
    pub src: PathBuf,
    /// Install path.
    pub dst: InstallPath,
    /// Permission bits.
    pub mode: u32,
    /// A configuration file.
    pub config: bool,
    /// Where in the config this came from, for error messages (e.g. `package[0].files[2]`).
    pub origin: String,
    /// Owner (`None`: root:root).
    pub owner: Option<Owner>,
    /// The source may lie outside the project and Cargo's target directory (an absolute path, or a
    /// symbolic link out): refused unless set, so that no file of the build machine is shipped by
    /// mistake.
    pub allow_outside: bool,
}

/// A directory or ghost file: a path the package owns without shipping content.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryTemplate {
    /// Path.
    pub path: InstallPath,
    /// Permission bits.
    pub mode: u32,
    /// Owner (`None`: root:root).
    pub owner: Option<Owner>,
}

/// A package as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageTemplate {
    /// Name.
    pub name: PackageName,
    /// Version (already in Debian syntax).
    pub version: Version,
    /// Architecture-independent.
    pub arch_all: bool,
    /// Descriptive metadata and relationships.
    pub meta: PackageMeta,
    /// Files.
    pub files: Vec<FileTemplate>,
    /// Generated files (`/usr/share/doc/<name>/copyright`, …): path and bytes.
    pub generated: Vec<(InstallPath, Vec<u8>)>,
    /// Symlinks: path → target.
    pub symlinks: Vec<(InstallPath, String)>,
    /// Directories the package owns.
    pub dirs: Vec<EntryTemplate>,
    /// Ghost files (rpm `%ghost`; left out of formats without the concept).
    pub ghosts: Vec<EntryTemplate>,
    /// Maintainer scripts.
    pub scripts: BTreeMap<ScriptKind, ScriptSource>,
}

/// Where a maintainer script comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScriptSource {
    /// A file, relative to the project directory.
    File(PathBuf),
    /// Text written in the configuration.
    Inline(String),
}

/// Why a template could not be resolved for a target.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// An input file is missing or unreadable.
    #[error("{config}: `{origin}`: `{path}` does not exist or is not a file{hint}")]
    MissingInput {
        /// The config file.
        config: PathBuf,
        /// The config key.
        origin: String,
        /// The resolved path.
        path: PathBuf,
        /// How to fix it.
        hint: String,
    },
    /// An input file lies outside the project (an absolute path, or a symbolic link out of it).
    #[error(
        "{config}: `{origin}`: `{path}` is {real}, outside the project and Cargo's target directory; copy it into the project, or set `allow-outside = true` on this entry to ship it"
    )]
    Outside {
        /// The config file.
        config: PathBuf,
        /// The config key.
        origin: String,
        /// The configured path.
        path: PathBuf,
        /// Where it really is.
        real: String,
    },
    /// The target is unknown.
    #[error("{0}")]
    Target(wharf_core::Invalid),
}

impl PackageTemplate {
    /// Where `src` is on disk for `target` (`None`: a host build).
    #[must_use]
    pub fn locate(src: &Path, project_dir: &Path, target_dir: &Path, target: Option<&str>) -> PathBuf {
        if let Ok(rest) = src.strip_prefix("target/release") {
            let mut p = target_dir.to_path_buf();
            if let Some(t) = target {
                p.push(t);
            }
            return p.join("release").join(rest);
        }
        project_dir.join(src)
    }

    /// The spec for one target (`None`: the host).
    pub fn resolve(
        &self,
        config: &Path,
        project_dir: &Path,
        target_dir: &Path,
        target: Option<&str>,
    ) -> Result<PackageSpec, ResolveError> {
        let arch = if self.arch_all {
            Arch::All
        } else {
            match target {
                Some(t) => Arch::from_triple(t).map_err(ResolveError::Target)?,
                None => Arch::host().map_err(ResolveError::Target)?,
            }
        };
        let missing = |origin: &str, path: PathBuf, hint: String| ResolveError::MissingInput {
            config: config.to_path_buf(),
            origin: origin.to_owned(),
            path,
            hint,
        };
        let mut files = Vec::new();
        for f in &self.files {
            let path = Self::locate(&f.src, project_dir, target_dir, target);
            if !path.is_file() {
                let hint = if f.src.starts_with("target") {
                    match target {
                        Some(t) => format!("; build it first: cargo build --release --target {t}"),
                        None => "; build it first: cargo build --release".to_owned(),
                    }
                } else {
                    "; fix the path (it is relative to the config file's directory)".to_owned()
                };
                return Err(missing(&f.origin, path, hint));
            }
            if !f.allow_outside {
                let inside = |root: &Path| {
                    let (Ok(real), Ok(root)) = (path.canonicalize(), root.canonicalize()) else {
                        return false;
                    };
                    real.starts_with(root)
                };
                if !inside(project_dir) && !inside(target_dir) {
                    let real = path.canonicalize().map_or_else(
                        |_| "unreadable".to_owned(),
                        |r| format!("really `{}`", r.display()),
                    );
                    return Err(ResolveError::Outside {
                        config: config.to_path_buf(),
                        origin: f.origin.clone(),
                        path: f.src.clone(),
                        real,
                    });
                }
            }
            files.push(FileEntry {
                path: f.dst.clone(),
                kind: FileKind::File {
                    content: Content::Path(path),
                    config: f.config,
                },
                mode: f.mode,
                owner: f.owner.clone(),
            });
        }
        for (dst, bytes) in &self.generated {
            if !files.iter().any(|f| f.path == *dst) {
                files.push(FileEntry {
                    path: dst.clone(),
                    kind: FileKind::File {
                        content: Content::Bytes(bytes.clone()),
                        config: false,
                    },
                    mode: 0o644,
                    owner: None,
                });
            }
        }
        for (path, target) in &self.symlinks {
            files.push(FileEntry {
                path: path.clone(),
                kind: FileKind::Symlink {
                    target: target.clone(),
                },
                mode: 0o777,
                owner: None,
            });
        }
        for (entries, kind) in [(&self.dirs, FileKind::Dir), (&self.ghosts, FileKind::Ghost)] {
            for e in entries {
                files.push(FileEntry {
                    path: e.path.clone(),
                    kind: kind.clone(),
                    mode: e.mode,
                    owner: e.owner.clone(),
                });
            }
        }
        let mut scripts = BTreeMap::new();
        for (kind, src) in &self.scripts {
            let bytes = match src {
                ScriptSource::Inline(text) => text.clone().into_bytes(),
                ScriptSource::File(src) => {
                    let path = project_dir.join(src);
                    std::fs::read(&path).map_err(|_| {
                        missing(
                            &format!("scripts.{}", kind.deb_name()),
                            path.clone(),
                            "; fix the path".into(),
                        )
                    })?
                }
            };
            scripts.insert(*kind, bytes);
        }
        Ok(PackageSpec {
            name: self.name.clone(),
            version: self.version.clone(),
            arch,
            meta: self.meta.clone(),
            files,
            scripts,
        })
    }
}

/// A machine-readable `debian/copyright` (DEP-5) for a licence, so packages carry the copyright file
/// Debian Policy §12.5 requires.
#[must_use]
pub(crate) fn copyright_file(name: &str, source: Option<&str>, holder: &str, license: &str) -> Vec<u8> {
    let mut s = format!(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: {name}\n"
    );
    if let Some(src) = source {
        s.push_str(&format!("Source: {src}\n"));
    }
    s.push_str(&format!("\nFiles: *\nCopyright: {holder}\nLicense: {license}\n"));
    s.into_bytes()
}

/// Parses a mode written as octal text (`"0755"`, `"644"`).
pub(crate) fn parse_mode(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 5 {
        return None;
    }
    u32::from_str_radix(text, 8).ok().filter(|m| *m <= 0o7777)
}

/// Turns a Cargo/semver version into Debian syntax: `1.0.0-rc.1` → `1.0.0~rc.1` (pre-releases sort
/// before the release, as cargo-deb does), with an optional Debian revision.
#[must_use]
pub(crate) fn debianize_version(v: &str, revision: Option<&str>) -> String {
    let (core, build) = v.split_once('+').map_or((v, None), |(c, b)| (c, Some(b)));
    let mut out = core.replacen('-', "~", 1);
    if let Some(b) = build {
        out.push('+');
        out.push_str(b);
    }
    if let Some(r) = revision.filter(|r| !r.is_empty()) {
        out.push('-');
        out.push_str(r);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_and_modes() {
        assert_eq!(debianize_version("1.0.0-rc.1", Some("1")), "1.0.0~rc.1-1");
        assert_eq!(debianize_version("1.0.0+git5", None), "1.0.0+git5");
        assert_eq!(parse_mode("0755"), Some(0o755));
        assert_eq!(parse_mode("644"), Some(0o644));
        assert_eq!(parse_mode("9"), None);
        assert_eq!(parse_mode("77777"), None);
    }

    #[test]
    fn build_outputs_follow_the_target() {
        let p = PackageTemplate::locate(
            Path::new("target/release/hello"),
            Path::new("/p"),
            Path::new("/w/target"),
            Some("aarch64-unknown-linux-musl"),
        );
        assert_eq!(p, Path::new("/w/target/aarch64-unknown-linux-musl/release/hello"));
        let p = PackageTemplate::locate(
            Path::new("README.md"),
            Path::new("/p"),
            Path::new("/w/target"),
            None,
        );
        assert_eq!(p, Path::new("/p/README.md"));
    }
}
