//! [`PackageSpec`]: everything a package writer needs, format-neutral and already validated.
//!
//! Built by wharf-config from wharf.toml or Cargo.toml; consumed by every writer in wharf-package.
//! Install paths are checked here once (absolute, no `.`/`..`/empty components, no control characters), so
//! no writer can be handed a path that escapes the target root.

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

use crate::{Arch, Invalid, PackageName, Version};

/// An absolute, normalised install path such as `/usr/bin/hello`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct InstallPath(String);

impl InstallPath {
    /// Validates an install destination.
    pub fn parse(path: &str) -> Result<Self, Invalid> {
        let bad = |why: &str| Invalid::new("install path", path, why);
        if !path.starts_with('/') {
            return Err(bad("install paths must be absolute, e.g. `/usr/bin/hello`"));
        }
        if path.chars().any(char::is_control) {
            return Err(bad(
                "control characters (newline, NUL, …) are not allowed in paths",
            ));
        }
        let trimmed = path.trim_end_matches('/');
        if trimmed.is_empty() {
            return Err(bad("`/` itself cannot be installed"));
        }
        for comp in trimmed[1..].split('/') {
            match comp {
                "" => return Err(bad("empty path component (`//`)")),
                "." | ".." => {
                    return Err(bad(
                        "`.` and `..` are not allowed; write the normalised absolute path",
                    ));
                }
                // NAME_MAX: no file system installs a longer name.
                c if c.len() > 255 => return Err(bad("a path component is longer than 255 bytes")),
                _ => {}
            }
        }
        if trimmed.len() > 4095 {
            return Err(bad("the path is longer than 4095 bytes (PATH_MAX)"));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The path, with its leading `/`.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The path without its leading `/` (what tar members and md5sums use).
    #[must_use]
    pub fn relative(&self) -> &str {
        &self.0[1..]
    }

    /// Every ancestor directory, outermost first, without `/` itself.
    #[must_use]
    pub fn ancestors(&self) -> Vec<InstallPath> {
        let rel = self.relative();
        rel.match_indices('/')
            .map(|(i, _)| InstallPath(format!("/{}", &rel[..i])))
            .collect()
    }
}

impl fmt::Display for InstallPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a file's bytes come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Content {
    /// Bytes held in memory (generated files, tests).
    Bytes(Vec<u8>),
    /// A file on disk, read while the package is written (streamed, never loaded whole).
    Path(PathBuf),
}

/// What kind of filesystem entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File {
        /// Its bytes.
        content: Content,
        /// A configuration file (dpkg `conffiles`, rpm `%config(noreplace)`).
        config: bool,
    },
    /// A directory.
    Dir,
    /// A symbolic link to `target`.
    Symlink {
        /// The link target, as written.
        target: String,
    },
    /// A file the package owns but does not ship (rpm `%ghost`: logs, caches); formats without the
    /// concept leave it out.
    Ghost,
}

/// The owner of an installed file, by name (resolved on the target system).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// User name.
    pub user: String,
    /// Group name.
    pub group: String,
}

impl Owner {
    /// Validates `user` and `group` as POSIX-portable names (`[a-z_][a-z0-9_-]*`, at most 32 characters).
    pub fn new(user: &str, group: &str) -> Result<Self, Invalid> {
        for (what, v) in [("user name", user), ("group name", group)] {
            let ok = !v.is_empty()
                && v.len() <= 32
                && v.starts_with(|c: char| c.is_ascii_lowercase() || c == '_')
                && v.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
            if !ok {
                return Err(Invalid::new(
                    what,
                    v,
                    "use lower-case letters, digits, `_` and `-`, starting with a letter",
                ));
            }
        }
        Ok(Self {
            user: user.to_owned(),
            group: group.to_owned(),
        })
    }

    /// Whether this is root:root (the default).
    #[must_use]
    pub fn is_root(&self) -> bool {
        self.user == "root" && self.group == "root"
    }
}

/// One entry of a package's payload. Owned by root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// Where it is installed.
    pub path: InstallPath,
    /// What it is.
    pub kind: FileKind,
    /// Permission bits (e.g. 0o755); ignored for symlinks.
    pub mode: u32,
    /// Owner; `None` is root:root.
    pub owner: Option<Owner>,
}

/// Maintainer scripts, named as dpkg names them; each family maps them to its own hooks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScriptKind {
    /// Before unpacking.
    PreInst,
    /// After unpacking.
    PostInst,
    /// Before removal.
    PreRm,
    /// After removal.
    PostRm,
}

impl ScriptKind {
    /// Every kind.
    pub const ALL: [ScriptKind; 4] = [Self::PreInst, Self::PostInst, Self::PreRm, Self::PostRm];

    /// dpkg's file name.
    #[must_use]
    pub fn deb_name(self) -> &'static str {
        match self {
            Self::PreInst => "preinst",
            Self::PostInst => "postinst",
            Self::PreRm => "prerm",
            Self::PostRm => "postrm",
        }
    }
}

/// Package relationships in Debian syntax (`foo (>= 1.2) | bar`). Each list entry is one clause.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Relations {
    /// `Depends`.
    pub depends: Vec<String>,
    /// `Pre-Depends`.
    pub pre_depends: Vec<String>,
    /// `Recommends`.
    pub recommends: Vec<String>,
    /// `Suggests`.
    pub suggests: Vec<String>,
    /// `Conflicts`.
    pub conflicts: Vec<String>,
    /// `Breaks`.
    pub breaks: Vec<String>,
    /// `Replaces`.
    pub replaces: Vec<String>,
    /// `Provides`.
    pub provides: Vec<String>,
    /// rpm `Obsoletes` (Debian expresses this with `Replaces` + `Conflicts`; .deb leaves it out).
    pub obsoletes: Vec<String>,
}

impl Relations {
    /// `(deb field name, clauses)` pairs, in the order dpkg-gencontrol writes them.
    #[must_use]
    pub fn deb_fields(&self) -> [(&'static str, &[String]); 8] {
        [
            ("Pre-Depends", &self.pre_depends),
            ("Depends", &self.depends),
            ("Recommends", &self.recommends),
            ("Suggests", &self.suggests),
            ("Breaks", &self.breaks),
            ("Conflicts", &self.conflicts),
            ("Replaces", &self.replaces),
            ("Provides", &self.provides),
        ]
    }
}

/// Descriptive metadata and relationships: what a package says about itself, shared by the configured
/// template and the resolved spec.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PackageMeta {
    /// `Name <email>`.
    pub maintainer: String,
    /// One-line summary.
    pub summary: String,
    /// Extended description (may be empty).
    pub description: String,
    /// Project homepage.
    pub homepage: Option<String>,
    /// SPDX licence expression.
    pub license: Option<String>,
    /// Vendor / organisation.
    pub vendor: Option<String>,
    /// Debian section (e.g. `utils`).
    pub section: Option<String>,
    /// Debian priority (e.g. `optional`).
    pub priority: Option<String>,
    /// Relationships, in Debian syntax (`name (>= 1.2) | other`), for every family.
    pub relations: Relations,
    /// Per-family replacements for `relations` (package names differ between distributions: `libc6`
    /// on Debian is `glibc` on Fedora).
    pub family_relations: BTreeMap<Family, Relations>,
    /// Changelog, newest first.
    pub changelog: Vec<ChangelogEntry>,
}

/// One release's changelog entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangelogEntry {
    /// The version it describes.
    pub version: String,
    /// `Name <email>`.
    pub author: String,
    /// When (Unix seconds).
    pub time: i64,
    /// One line per change.
    pub changes: Vec<String>,
}

impl Relations {
    /// `(key as configured, clauses)` for every list, obsoletes included.
    #[must_use]
    pub fn all(&self) -> [(&'static str, &[String]); 9] {
        [
            ("pre-depends", &self.pre_depends),
            ("depends", &self.depends),
            ("recommends", &self.recommends),
            ("suggests", &self.suggests),
            ("breaks", &self.breaks),
            ("conflicts", &self.conflicts),
            ("replaces", &self.replaces),
            ("provides", &self.provides),
            ("obsoletes", &self.obsoletes),
        ]
    }
}

/// Why `value` cannot be one line of a control field (deb, ipk, apk `.PKGINFO`, index stanzas): a line
/// break would start a field of its own (`Depends: evil`), other control characters are not text.
#[must_use]
pub fn one_line_problem(value: &str) -> Option<&'static str> {
    if value.contains(['\n', '\r']) {
        Some("it must be one line: a line break here would write a control field of its own")
    } else if value.chars().any(char::is_control) {
        Some("it contains a control character")
    } else {
        None
    }
}

impl PackageMeta {
    /// The first value no control file can carry as given, as (key as configured, why): the one-line
    /// fields and every relation clause must be one line of text; the description may have several
    /// lines (each is indented when written) but no other control characters.
    #[must_use]
    pub fn unrepresentable(&self) -> Option<(String, &'static str)> {
        let one_line = [
            ("maintainer", Some(self.maintainer.as_str())),
            ("summary", Some(self.summary.as_str())),
            ("homepage", self.homepage.as_deref()),
            ("license", self.license.as_deref()),
            ("vendor", self.vendor.as_deref()),
            ("section", self.section.as_deref()),
            ("priority", self.priority.as_deref()),
        ];
        for (key, value) in one_line {
            if let Some(why) = value.and_then(one_line_problem) {
                return Some((key.to_owned(), why));
            }
        }
        if self
            .description
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Some((
                "description".into(),
                "it contains a control character other than a line break or tab",
            ));
        }
        let families = std::iter::once((String::new(), &self.relations)).chain(
            self.family_relations
                .iter()
                .map(|(f, r)| (format!("{}.", format!("{f:?}").to_lowercase()), r)),
        );
        for (prefix, relations) in families {
            for (key, clauses) in relations.all() {
                for (n, clause) in clauses.iter().enumerate() {
                    if let Some(why) = one_line_problem(clause) {
                        return Some((format!("{prefix}{key}[{n}]"), why));
                    }
                }
            }
        }
        None
    }

    /// The relations that apply to one package family.
    #[must_use]
    pub fn relations_for(&self, family: Family) -> &Relations {
        self.family_relations.get(&family).unwrap_or(&self.relations)
    }
}

/// Package families: each has its own names for architectures and often for dependencies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Family {
    /// dpkg / apt.
    Deb,
    /// rpm / dnf / zypper.
    Rpm,
    /// apk (Alpine, and OpenWrt ≥ 25.12).
    Apk,
}

/// Everything a package writer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageSpec {
    /// Package name.
    pub name: PackageName,
    /// Version.
    pub version: Version,
    /// Architecture.
    pub arch: Arch,
    /// Descriptive metadata and relationships.
    pub meta: PackageMeta,
    /// Payload entries; parent directories are added by the writers.
    pub files: Vec<FileEntry>,
    /// Maintainer scripts.
    pub scripts: BTreeMap<ScriptKind, Vec<u8>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn install_paths() {
        let p = InstallPath::parse("/usr/share/doc/x/").unwrap();
        assert_eq!(p.as_str(), "/usr/share/doc/x");
        assert_eq!(
            p.ancestors().iter().map(InstallPath::as_str).collect::<Vec<_>>(),
            ["/usr", "/usr/share", "/usr/share/doc"]
        );
        for bad in [
            "usr/bin/x",
            "/usr/../etc/x",
            "/./x",
            "//x",
            "/",
            "/a\nb",
            "/a\0b",
            "/x/..",
        ] {
            assert!(InstallPath::parse(bad).is_err(), "{bad:?}");
        }
    }
}
