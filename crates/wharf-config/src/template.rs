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
    /// in Cargo's real target directory, under `<triple>/` when a target is given (cargo-deb's rule). A
    /// directory installs every file below it, a glob (`*`, `?`, `**`) every file it matches. `{target}`
    /// (the Rust triple, the host's without `--target`), `{arch}` (Debian's name) and `{rpm-arch}` (rpm's,
    /// `uname -m`'s) name the target's build outputs wherever a build puts them (`build/{target}/app`).
    pub src: PathBuf,
    /// Install path (of a single file).
    pub dst: InstallPath,
    /// Where a directory's or a glob's files go, each at its path below the directory (or the glob's
    /// fixed leading part): the configured `dst` without its trailing `/`.
    pub dst_dir: InstallPath,
    /// Permission bits.
    pub mode: u32,
    /// `mode` was configured: it applies to every file of a directory or glob too (otherwise theirs is
    /// 0755 when the source is executable, else 0644).
    pub mode_given: bool,
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
    /// The formats this package is built in (empty: every format the build makes).
    pub formats: Vec<wharf_core::Format>,
    /// The targets this package is built for (empty: every target the build names).
    pub targets: Vec<String>,
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
#[non_exhaustive]
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

    /// `src` with its placeholders (`{target}`, `{arch}`, `{rpm-arch}`) filled in for `target` (the
    /// host's triple when none). `Err`: the hint for an unknown placeholder.
    pub fn expand(src: &Path, target: Option<&str>) -> Result<PathBuf, String> {
        let text = src.to_string_lossy();
        if !text.contains('{') {
            return Ok(src.to_path_buf());
        }
        let triple = target.map_or_else(wharf_core::host_triple, str::to_owned);
        let arch = Arch::from_triple(&triple).ok();
        let mut out = String::with_capacity(text.len());
        let mut rest = text.as_ref();
        while let Some(open) = rest.find('{') {
            out.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                return Err(format!("; `{text}` has a `{{` without `}}`"));
            };
            let name = &rest[open + 1..open + close];
            let value = match (name, arch) {
                ("target", _) => triple.clone(),
                ("arch", Some(a)) => a.deb().to_owned(),
                ("rpm-arch", Some(a)) => a.rpm().to_owned(),
                ("arch" | "rpm-arch", None) => {
                    return Err(format!(
                        "; `{{{name}}}`: wharf does not know the target `{triple}`"
                    ));
                }
                _ => {
                    return Err(format!(
                        "; `{{{name}}}` is not a placeholder wharf knows: use {{target}}, {{arch}} or {{rpm-arch}}"
                    ));
                }
            };
            out.push_str(&value);
            rest = &rest[open + close + 1..];
        }
        out.push_str(rest);
        Ok(PathBuf::from(out))
    }

    /// The files one `[[package.files]]` entry installs: (source, install path, mode), sorted by install
    /// path. `Err`: the hint for a source that is missing or matches nothing.
    fn sources(
        f: &FileTemplate,
        project_dir: &Path,
        target_dir: &Path,
        target: Option<&str>,
    ) -> Result<Vec<(PathBuf, InstallPath, u32)>, String> {
        let build_hint = || match target {
            Some(t) => format!("; build it first: cargo build --release --target {t}"),
            None => "; build it first: cargo build --release".to_owned(),
        };
        let hint = || {
            if f.src.starts_with("target") {
                build_hint()
            } else {
                "; fix the path (it is relative to the config file's directory)".to_owned()
            }
        };
        let expanded = Self::expand(&f.src, target)?;
        let src = expanded.to_string_lossy();
        let (base, pattern) = match glob::split(&src) {
            Some((base, pattern)) => (base, Some(pattern)),
            None => (src.as_ref(), None),
        };
        let located = Self::locate(Path::new(base), project_dir, target_dir, target);
        if pattern.is_none() && located.is_file() {
            return Ok(vec![(located, f.dst.clone(), f.mode)]);
        }
        if !located.is_dir() {
            return Err(hint());
        }
        let mut found = Vec::new();
        glob::walk(&located, "", &mut found);
        let mut out = Vec::new();
        for (path, rel) in found {
            if pattern.is_some_and(|p| !glob::matches(p, &rel)) {
                continue;
            }
            let dst = InstallPath::parse(&format!("{}/{rel}", f.dst_dir.as_str().trim_end_matches('/')))
                .map_err(|e| format!(": `{rel}` cannot be installed ({e})"))?;
            let mode = if f.mode_given {
                f.mode
            } else {
                glob::default_mode(&path)
            };
            out.push((path, dst, mode));
        }
        if out.is_empty() {
            return Err(match pattern {
                Some(_) => format!(
                    "; the pattern matches no file{}",
                    if f.src.starts_with("target") {
                        build_hint()
                    } else {
                        String::new()
                    }
                ),
                None => "; the directory holds no file".to_owned(),
            });
        }
        out.sort_by(|a, b| a.1.as_str().cmp(b.1.as_str()));
        Ok(out)
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
            for (path, dst, mode) in Self::sources(f, project_dir, target_dir, target).map_err(|hint| {
                let src = Self::expand(&f.src, target).unwrap_or_else(|_| f.src.clone());
                missing(
                    &f.origin,
                    Self::locate(&src, project_dir, target_dir, target),
                    hint,
                )
            })? {
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
                    path: dst,
                    kind: FileKind::File {
                        content: Content::Path(path),
                        config: f.config,
                    },
                    mode,
                    owner: f.owner.clone(),
                });
            }
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

/// Directory and glob sources: `*` and `?` within one path segment, `**` for any number of segments.
/// The globs of `[[package.files]]` sources (and `[[release.archives]] include`).
pub mod glob {
    use std::path::{Path, PathBuf};

    /// Whether a path segment holds a glob character.
    fn is_pattern(segment: &str) -> bool {
        segment.contains(['*', '?'])
    }

    /// A glob's fixed leading directory and the pattern below it (`luci/htdocs/**/*.js` →
    /// (`luci/htdocs`, `**/*.js`)); `None` for a plain path.
    pub(crate) fn split(src: &str) -> Option<(&str, &str)> {
        let first = src.split('/').position(is_pattern)?;
        let mut at = 0;
        for segment in src.split('/').take(first) {
            at += segment.len() + 1;
        }
        Some((src[..at].trim_end_matches('/'), &src[at..]))
    }

    /// Every regular file below `dir` (following links to files, not to directories), with its path
    /// relative to `dir`, in name order.
    pub(crate) fn walk(dir: &Path, rel: &str, out: &mut Vec<(PathBuf, String)>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let mut entries: Vec<_> = entries.filter_map(Result::ok).collect();
        entries.sort_by_key(std::fs::DirEntry::file_name);
        for e in entries {
            let Some(name) = e.file_name().to_str().map(str::to_owned) else {
                continue;
            };
            let path = e.path();
            let child = if rel.is_empty() {
                name
            } else {
                format!("{rel}/{name}")
            };
            match e.file_type() {
                Ok(t) if t.is_dir() => walk(&path, &child, out),
                Ok(t) if t.is_file() || (t.is_symlink() && path.is_file()) => out.push((path, child)),
                _ => {}
            }
        }
    }

    /// Whether the relative path `rel` matches `pattern` (`*` and `?` within a segment, `**` any segments).
    pub fn matches(pattern: &str, rel: &str) -> bool {
        let p: Vec<&str> = pattern.split('/').collect();
        let r: Vec<&str> = rel.split('/').collect();
        segments(&p, &r)
    }

    fn segments(p: &[&str], r: &[&str]) -> bool {
        match p.split_first() {
            None => r.is_empty(),
            Some((&"**", rest)) => (0..=r.len()).any(|skip| segments(rest, &r[skip..])),
            Some((first, rest)) => r.split_first().is_some_and(|(name, r_rest)| {
                segment(first.as_bytes(), name.as_bytes()) && segments(rest, r_rest)
            }),
        }
    }

    fn segment(p: &[u8], s: &[u8]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((b'*', rest)) => (0..=s.len()).any(|skip| segment(rest, &s[skip..])),
            Some((b'?', rest)) => !s.is_empty() && segment(rest, &s[1..]),
            Some((c, rest)) => s.first() == Some(c) && segment(rest, &s[1..]),
        }
    }

    /// 0755 for an executable source, else 0644.
    pub(crate) fn default_mode(path: &Path) -> u32 {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            if std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o111 != 0) {
                return 0o755;
            }
        }
        0o644
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
    fn globs() {
        assert_eq!(glob::split("www/**/*.js"), Some(("www", "**/*.js")));
        assert_eq!(
            glob::split("target/release/*.so"),
            Some(("target/release", "*.so"))
        );
        assert_eq!(glob::split("*.conf"), Some(("", "*.conf")));
        assert_eq!(glob::split("www/index.html"), None);
        for (p, rel, yes) in [
            ("*.js", "a.js", true),
            ("*.js", "d/a.js", false),
            ("**/*.js", "a.js", true),
            ("**/*.js", "d/e/a.js", true),
            ("**", "d/e/a.js", true),
            ("d/*/a.?s", "d/e/a.js", true),
            ("d/*/a.?s", "d/e/a.jsx", false),
            ("lib*.so*", "libx.so.1", true),
            ("lib*.so*", "x.so", false),
        ] {
            assert_eq!(glob::matches(p, rel), yes, "{p} {rel}");
        }
    }

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
