//! wharf-package: package writers and readers, one module per format.
//!
//! Writers take a [`wharf_core::PackageSpec`] and a [`wharf_core::SourceDate`] and stream the package
//! into any `Write`; the only files they open are the spec's declared inputs. No clock, no environment.
//! Readers take any valid package (wharf's, dpkg-deb's, nFPM's) and return what an index needs, in one
//! pass over the bytes.
//!
//! Shared layers: [`compress`] (pinned gzip/xz/zstd backends), [`tar`] (deterministic GNU tar writer),
//! [`ar`] (the Unix archive .deb wraps).

pub mod adb;
pub mod apk;
pub mod apk3;
pub mod ar;
pub mod archive;
pub mod compress;
pub mod deb;
pub mod gzblocks;
pub mod ipk;
pub mod oci;
pub mod pacman;
pub mod paths;
mod payload;
pub mod rpm;
pub mod splice;
mod spool;
pub mod tar;
pub mod tarball;
#[cfg(test)]
mod testing;
pub mod xzblocks;

use std::path::PathBuf;

/// Why a package could not be written or read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// An input file could not be read.
    #[error("cannot read `{path}`: {source}")]
    Input {
        /// The input file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// An input file changed size while being packaged.
    #[error("`{path}` changed while it was being packaged (expected {expected} bytes); rebuild and retry")]
    Changed {
        /// The input file.
        path: PathBuf,
        /// The size seen first.
        expected: u64,
    },
    /// Two payload entries claim one path.
    #[error("`{0}` is listed twice in the package contents; keep one entry")]
    Duplicate(String),
    /// Writing the package failed.
    #[error("writing the package failed: {0}")]
    Write(#[source] std::io::Error),
    /// Signing the package (or an index member) failed.
    #[error("signing failed: {0}")]
    Sign(#[from] wharf_sign::SignError),
    /// An image cannot be made as configured (a base image without the platform, a foreign layer).
    #[error("{0}")]
    Image(String),
    /// The bytes are not a valid package of the expected format.
    #[error("not a valid {format} package: {why}")]
    Invalid {
        /// The format expected.
        format: &'static str,
        /// What is wrong.
        why: String,
    },
}

/// A relation's name, and its operator and version if it has one.
pub(crate) type Relation<'c> = (&'c str, Option<(&'static str, &'c str)>);

/// One Debian-syntax relation clause (`name (>= 1.0)`) split for a family without alternatives (apk,
/// pacman): the name, and the operator in their spelling (`>=`, `<=`, `=`, `>`, `<`) with the version as
/// written. An alternative (`a | b`) is an error saying `no_alternatives`.
pub(crate) fn relation_parts<'c>(
    format: &'static str,
    no_alternatives: &str,
    clause: &'c str,
) -> Result<Relation<'c>, PackageError> {
    let bad = |why: String| PackageError::invalid(format, why);
    let clause = clause.trim();
    if clause.contains('|') {
        return Err(bad(format!("`{clause}`: {no_alternatives}")));
    }
    let Some((name, rest)) = clause.split_once('(') else {
        return Ok((clause, None));
    };
    let inner = rest
        .trim_end()
        .strip_suffix(')')
        .ok_or_else(|| bad(format!("unbalanced `(` in `{clause}`")))?;
    let (op, version) = inner
        .trim()
        .split_once(' ')
        .ok_or_else(|| bad(format!("`{clause}`: expected `name (op version)`")))?;
    let op = match op {
        ">=" => ">=",
        "<=" => "<=",
        "=" => "=",
        ">>" | ">" => ">",
        "<<" | "<" => "<",
        other => return Err(bad(format!("`{clause}`: unknown operator `{other}`"))),
    };
    Ok((name.trim(), Some((op, version.trim()))))
}

/// A path inside a package that would escape the install root (absolute, `..`, NUL).
pub(crate) fn unsafe_path(path: &str) -> bool {
    path.starts_with('/') || path.split('/').any(|c| c == "..") || path.contains('\0')
}

impl PackageError {
    pub(crate) fn invalid(format: &'static str, why: impl Into<String>) -> Self {
        Self::Invalid {
            format,
            why: why.into(),
        }
    }
}

/// `Package`, `Version` and `Architecture` of a dpkg-style control paragraph (.deb, .ipk), checked:
/// a valid name and version, an architecture without whitespace or `/`.
pub(crate) fn control_identity(
    format: &'static str,
    control: &wharf_core::deb822::Paragraph,
) -> Result<(wharf_core::PackageName, wharf_core::Version, String), PackageError> {
    let bad = |why: String| PackageError::invalid(format, why);
    let field = |f: &str| {
        control
            .get(f)
            .map(str::to_owned)
            .ok_or_else(|| bad(format!("control has no `{f}` field")))
    };
    let name = field("Package")?.parse().map_err(|e| bad(format!("{e}")))?;
    let version = field("Version")?.parse().map_err(|e| bad(format!("{e}")))?;
    let arch = field("Architecture")?;
    if arch.is_empty() || arch.contains(char::is_whitespace) || arch.contains('/') {
        return Err(bad(format!("invalid Architecture `{arch}`")));
    }
    Ok((name, version, arch))
}
