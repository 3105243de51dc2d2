//! Release tarballs (`hello-1.0.0-amd64.tar.gz`): the package's payload under one top directory named like
//! the file, for users without a package manager (the install script's fallback) — the files at their
//! install paths (`hello-1.0.0-amd64/usr/bin/hello`), directories explicit, owners root (or the configured
//! ones), every mtime clamped to `SOURCE_DATE_EPOCH`, names sorted, gzip without a name or time: the same
//! bytes on every build (GNU tar's ustar format, as `tar.rs` writes it).

use std::io::Write;

use wharf_core::{PackageSpec, SourceDate};

use crate::PackageError;
use crate::compress::Compression;
use crate::payload::{self, Layout};
use crate::splice::Payloads;

/// The file name (also the top directory, without `.tar.gz`) for `spec`: `<name>-<version>-<arch>`, with
/// the Debian architecture name (`amd64`, `arm64`, `all`), which the install script derives from `uname -m`.
#[must_use]
pub fn stem(spec: &PackageSpec) -> String {
    format!("{}-{}-{}", spec.name, spec.version, spec.arch.deb())
}

/// Writes the `.tar.gz` of `spec` into `out`.
pub fn write_tarball(
    spec: &PackageSpec,
    date: SourceDate,
    payloads: &Payloads,
    out: &mut impl Write,
) -> Result<(), PackageError> {
    let nodes = payload::plan(spec)?;
    let top = stem(spec);
    payload::write_data(
        &nodes,
        Layout::Archive(&top),
        Compression::Gzip,
        date,
        payloads,
        out,
    )?;
    out.flush().map_err(PackageError::Write)
}
