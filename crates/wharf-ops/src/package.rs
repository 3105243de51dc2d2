//! Packaging a project: every package template × target → package files in an output directory.

use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use anyhow::Context;
use wharf_config::{ApkArchNames, ApkSignature, DebCompression, PackageTemplate, Project, RpmCompression};
use wharf_core::{Arch, Content, FileEntry, FileKind, InstallPath, PackageSpec, SourceDate, TargetArch};
use wharf_package::apk::{self, ApkOptions};
use wharf_package::apk3::{self, Apk3Options};
use wharf_package::compress::Compression;
use wharf_package::deb::{self, DebOptions};
use wharf_package::rpm::{self, RpmOptions};
use wharf_package::splice::Payloads;
use wharf_package::{ipk, pacman};
use wharf_publish::kind::Keyring;

use crate::{Progress, Reporter};
use wharf_sign::{ApkEcKey, ApkRsaKey, OpenPgpKey, RsaDigest, UsignKey};

use wharf_core::Format;

/// Advances a progress by one when dropped (a job done, or failed).
struct Advance<'a>(&'a dyn Progress);

impl Drop for Advance<'_> {
    fn drop(&mut self) {
        self.0.advance(1);
    }
}

/// One package written.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Built {
    pub path: PathBuf,
    /// Where the package was written, until every package of the build is and it is moved to `path`.
    #[serde(skip)]
    pub staged: Option<PathBuf>,
    pub name: String,
    pub version: String,
    pub arch: String,
    /// Its format; `None` for a release asset that is no package (`asset` says which).
    pub format: Option<Format>,
    /// What it is when it is no package.
    #[serde(skip)]
    pub asset: Asset,
}

/// A release asset that is no package.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Asset {
    /// A package (see `format`).
    #[default]
    Package,
    /// A package's release tarball.
    Tarball,
    /// An archive of `[[release.archives]]`.
    Archive,
    /// A raw binary of `[[release.binaries]]`.
    Binary,
}

impl Built {
    /// What it is, as reports and the release manifest name it: the format, or `tarball`.
    pub fn kind(&self) -> &'static str {
        match (self.format, self.asset) {
            (Some(f), _) => f.name(),
            (None, Asset::Binary) => "binary",
            (None, Asset::Archive) => "archive",
            (None, _) => "tarball",
        }
    }
}

/// What to build, where, and with which keys.
pub struct BuildOptions<'a> {
    /// Formats (empty: the project's `formats`).
    pub formats: &'a [Format],
    /// Rust target triples (empty: the host).
    pub targets: &'a [String],
    /// Output directory.
    pub out_dir: &'a Path,
    /// The one clock value.
    pub date: SourceDate,
    /// OpenPGP signs rpm headers; `[ipk] ship-key` puts the usign key into .ipk packages; the RSA key
    /// signs apk v2 packages (needed when apk is built); the apk v3 key is shipped or signs packages per
    /// `[apk3]`.
    pub keys: Keyring<'a>,
}

/// Resolves every package for every target first (so a missing input fails before anything is written),
/// then writes each package to a temporary name and renames it into place.
pub fn build(project: &Project, o: &BuildOptions<'_>, out: &dyn Reporter) -> anyhow::Result<Vec<Built>> {
    let BuildOptions {
        formats,
        targets,
        out_dir,
        date,
        keys,
    } = *o;
    let Keyring {
        openpgp: key,
        usign,
        apk,
        apk3,
    } = keys;
    let formats = formats_to_build(project, formats);
    let (specs, only): (Vec<PackageSpec>, Vec<&[Format]>) = specs(project, targets, out)?.into_iter().unzip();
    let dirs_before = dirs_under(out_dir);
    fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the output directory {}", out_dir.display()))?;
    if formats.contains(&Format::Apk) && apk.is_none() {
        anyhow::bail!("building .apk needs an RSA key (--apk-key)");
    }
    // `ship-key`: the key goes into one generated `<name>-keyring` package per format, which every other
    // package of that format depends on (apk and opkg refuse a second package owning the same file).
    let keyrings = keyrings(project, &specs, &formats, KeyFiles { usign, apk, apk3 })?;
    // Each package in the build's formats, or in those of them it names (`[[package]] formats`).
    let jobs: Vec<(&PackageSpec, Format)> = specs
        .iter()
        .zip(&only)
        .flat_map(|(spec, only)| {
            formats
                .iter()
                .filter(|f| only.is_empty() || only.contains(f))
                .map(move |f| (spec, *f))
        })
        .chain(keyrings.iter().map(|(f, spec)| (spec, *f)))
        .collect();
    let keyring_of = |format: Format| keyrings.iter().find(|(f, _)| *f == format).map(|(_, k)| &k.name);
    // A large file is compressed once for all the formats that carry it (wharf_package::splice).
    let payloads = Payloads::new();
    let payloads = &payloads;
    let progress = out.progress("Packaging", jobs.len() as u64);
    let one = |&(spec, format): &(&PackageSpec, Format)| -> anyhow::Result<Vec<Built>> {
        let _done = Advance(&*progress);
        let depending;
        let spec = match keyring_of(format) {
            Some(keyring) if *keyring != spec.name => {
                depending = depend_on(spec, keyring);
                &depending
            }
            _ => spec,
        };
        match format {
            Format::Deb => Ok(vec![write_deb(project, spec, out_dir, date, payloads)?]),
            Format::Rpm => {
                // One rpm per dist tag of the configured repositories (`[rpm] dist-tags`), else one.
                let tags: std::collections::BTreeSet<String> = project
                    .rpm
                    .repos
                    .iter()
                    .filter_map(|r| project.rpm.dist_tag_of(r))
                    .collect();
                if tags.is_empty() {
                    Ok(vec![write_rpm(project, spec, out_dir, date, key, payloads, "")?])
                } else {
                    tags.iter()
                        .map(|tag| write_rpm(project, spec, out_dir, date, key, payloads, tag))
                        .collect()
                }
            }
            Format::Ipk => write_ipks(spec, out_dir, date, payloads),
            Format::Apk => {
                let key = apk.ok_or_else(|| anyhow::anyhow!("building .apk needs an RSA key (--apk-key)"))?;
                write_apks(project, spec, key, out_dir, date, payloads)
            }
            Format::Apk3 => write_apk3s(project, spec, apk3, out_dir, date),
            Format::Pacman => Ok(vec![write_pacman(spec, out_dir, date)?]),
        }
    };
    let mut built = Vec::new();
    let mut failed = None;
    // Each package is written by one thread: its bytes do not depend on scheduling. Twice as many threads
    // as cores: the packages of one spec first wait for its large files' one compression (which uses every
    // core), then all finish at once rather than two by two.
    for r in wharf_core::parallel::map_in_order(&jobs, 2 * wharf_core::parallel::cores(), one) {
        match r {
            Ok(b) => built.extend(b),
            Err(e) => {
                failed.get_or_insert(e);
            }
        }
    }
    // Every package of every format is written before any is moved into place: a build that fails for
    // one format (an apk version, a dependency apk cannot read) leaves no package of the others.
    if let Some(e) = failed {
        discard(&built, out_dir, &dirs_before);
        return Err(e);
    }
    if let Err(e) = commit(&mut built) {
        discard(&built, out_dir, &dirs_before);
        return Err(e);
    }
    Ok(built)
}

/// The formats named on the command line, else the project's `formats`.
pub fn formats_to_build(project: &Project, given: &[Format]) -> Vec<Format> {
    if !given.is_empty() {
        return given.to_vec();
    }
    project.formats.clone()
}

/// Every package template resolved for `targets` (the host when none); architecture-independent ones once.
pub fn resolve(
    project: &Project,
    targets: &[String],
    out: &dyn Reporter,
) -> anyhow::Result<Vec<PackageSpec>> {
    Ok(specs(project, targets, out)?
        .into_iter()
        .map(|(s, _)| s)
        .collect())
}

/// Every package template resolved for every target (the host when none) it is built for,
/// architecture-independent ones once; each with the formats its template limits it to (empty: all).
fn specs<'p>(
    project: &'p Project,
    targets: &[String],
    out: &dyn Reporter,
) -> anyhow::Result<Vec<(PackageSpec, &'p [Format])>> {
    if project.packages.is_empty() {
        anyhow::bail!(
            "{} defines no [[package]]: add one with its files to build packages (see `wharf init`), or pass the package files built elsewhere to `wharf publish`",
            project.source.display()
        );
    }
    let targets: Vec<Option<&str>> = if targets.is_empty() {
        vec![None]
    } else {
        targets.iter().map(|t| Some(t.as_str())).collect()
    };
    let mut specs: Vec<(PackageSpec, &[Format])> = Vec::new();
    for template in &project.packages {
        for target in &targets {
            if let Some(t) = target
                && !template.targets.is_empty()
                && !template.targets.iter().any(|x| x == t)
            {
                continue;
            }
            let spec = template.resolve(&project.source, &project.dir, &project.target_dir, *target)?;
            if let Arch::Target(TargetArch { warning: Some(w), .. }) = spec.arch {
                out.warn(&format!(
                    "{} for {}: {w}",
                    spec.name,
                    target.unwrap_or("the host")
                ));
            }
            // An architecture-independent package is the same for every target: build it once.
            if spec.arch == Arch::All && specs.iter().any(|(s, _)| s.name == spec.name) {
                continue;
            }
            check_paths(&spec)?;
            specs.push((spec, &template.formats));
        }
    }
    Ok(specs)
}

/// Holds a spec's entries to the payload-path policy every reader applies (`wharf_package::paths`): a
/// package that installs a file and a directory at one path, or a file below a file or a symbolic link
/// of its own, is one no client installs.
fn check_paths(spec: &PackageSpec) -> anyhow::Result<()> {
    use wharf_package::paths::Kind;
    let mut policy = wharf_package::paths::Policy::new();
    // Directories first: a directory and the files below it are fine in any order in a spec.
    let mut entries: Vec<(&str, Kind)> = spec
        .files
        .iter()
        .map(|f| {
            let kind = match f.kind {
                FileKind::Dir => Kind::Dir,
                FileKind::Symlink { .. } => Kind::Symlink,
                _ => Kind::File,
            };
            (f.path.as_str(), kind)
        })
        .collect();
    entries.sort_by_key(|(p, k)| (*k != Kind::Dir, p.matches('/').count()));
    for (path, kind) in entries {
        policy
            .admit(path.trim_start_matches('/').as_bytes(), kind, None)
            .map_err(|why| {
                anyhow::anyhow!("{}: {why}; no package manager installs such a package", spec.name)
            })?;
    }
    Ok(())
}

/// Release tarballs (`<name>-<version>-<arch>.tar.gz`) of every package for every target.
pub fn build_tarballs(
    project: &Project,
    targets: &[String],
    out_dir: &Path,
    date: SourceDate,
    out: &dyn Reporter,
) -> anyhow::Result<Vec<Built>> {
    let payloads = Payloads::new();
    staging(out_dir, |built| {
        for (spec, _) in specs(project, targets, out)? {
            let name = format!("{}.tar.gz", wharf_package::tarball::stem(&spec));
            let path = write_atomically(out_dir, &name, |w| {
                wharf_package::tarball::write_tarball(&spec, date, &payloads, w).map_err(Into::into)
            })?;
            built.push(Built {
                path: path.dest,
                staged: Some(path.tmp),
                name: spec.name.to_string(),
                version: spec.version.to_string(),
                arch: spec.arch.deb().to_owned(),
                format: None,
                asset: Asset::Tarball,
            });
        }
        Ok(())
    })
}

fn write_deb(
    project: &Project,
    spec: &PackageSpec,
    out_dir: &Path,
    date: SourceDate,
    payloads: &Payloads,
) -> anyhow::Result<Built> {
    let compression = match project.deb_compression {
        DebCompression::Gzip => Compression::Gzip,
        DebCompression::Xz => Compression::Xz,
        DebCompression::Zstd => Compression::Zstd,
    };
    let name = deb::file_name(spec.name.as_str(), spec.version.as_str(), spec.arch.deb());
    let path = write_atomically(out_dir, &name, |w| {
        deb::write_deb(
            spec,
            DebOptions {
                compression,
                source_date: date,
            },
            payloads,
            w,
        )
        .map_err(Into::into)
    })?;
    Ok(Built {
        path: path.dest,
        staged: Some(path.tmp),
        name: spec.name.to_string(),
        version: spec.version.to_string(),
        arch: spec.arch.deb().to_owned(),
        format: Some(Format::Deb),
        asset: Asset::Package,
    })
}

fn write_rpm(
    project: &Project,
    spec: &PackageSpec,
    out_dir: &Path,
    date: SourceDate,
    key: Option<&OpenPgpKey>,
    payloads: &Payloads,
    dist: &str,
) -> anyhow::Result<Built> {
    let compression = match project.rpm.compression {
        RpmCompression::Gzip => Compression::Gzip,
        RpmCompression::Xz => Compression::Xz,
        RpmCompression::Zstd => Compression::Zstd,
    };
    let mut evr = wharf_core::rpmver::Evr::from_version(&spec.version);
    evr.release.push_str(dist);
    let name = rpm::file_name(spec.name.as_str(), &evr.version, &evr.release, spec.arch.rpm());
    let path = write_atomically(out_dir, &name, |w| {
        rpm::write_rpm(
            spec,
            RpmOptions {
                compression,
                source_date: date,
                key,
                dist,
            },
            payloads,
            w,
        )
        .map_err(Into::into)
    })?;
    let version = match evr.epoch {
        0 => format!("{}-{}", evr.version, evr.release),
        e => format!("{e}:{}-{}", evr.version, evr.release),
    };
    Ok(Built {
        path: path.dest,
        staged: Some(path.tmp),
        name: spec.name.to_string(),
        version,
        arch: spec.arch.rpm().to_owned(),
        format: Some(Format::Rpm),
        asset: Asset::Package,
    })
}

/// The keys `ship-key` may ship, by format.
#[derive(Clone, Copy)]
struct KeyFiles<'a> {
    usign: Option<&'a UsignKey>,
    apk: Option<&'a ApkRsaKey>,
    apk3: Option<&'a ApkEcKey>,
}

/// The name of the keyring package: the project's first package's, plus `-keyring` (as Debian's
/// `*-archive-keyring`).
pub fn keyring_name(project: &Project) -> Option<String> {
    project.packages.first().map(|p| format!("{}-keyring", p.name))
}

/// For each format built with `ship-key`, the `<name>-keyring` package that installs the repository's
/// public key(s) where the client looks (`/etc/opkg/keys/<fingerprint>` — and older usign's unpadded
/// name where it differs —, `/etc/apk/keys/<name>`, `/etc/apk/keys/<key id>.pem`). On OpenWrt
/// (opkg, and apk with OpenWrt's architecture names) it also lists them in
/// `/lib/upgrade/keep.d/<keyring>` so that a sysupgrade keeps the keys (OpenWrt's
/// `package/base-files/files/sbin/sysupgrade` saves the files the `keep.d` lists name).
fn keyrings(
    project: &Project,
    specs: &[PackageSpec],
    formats: &[Format],
    keys: KeyFiles<'_>,
) -> anyhow::Result<Vec<(Format, PackageSpec)>> {
    let Some(first) = specs.first() else {
        return Ok(Vec::new());
    };
    let Some(name) = keyring_name(project) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    for &format in formats {
        let (files, openwrt): (Vec<(String, Vec<u8>)>, bool) = match format {
            Format::Ipk if project.ipk_ship_key => {
                let key = keys.usign.ok_or_else(|| {
                    anyhow::anyhow!(
                        "{}: [ipk] ship-key needs the feed's usign key: pass --usign-key FILE",
                        project.source.display()
                    )
                })?;
                let public = key.public_file().into_bytes();
                let names = std::iter::once(key.fingerprint()).chain(key.legacy_name());
                (
                    names
                        .map(|n| (format!("/etc/opkg/keys/{n}"), public.clone()))
                        .collect(),
                    true,
                )
            }
            Format::Apk if project.apk.ship_key => {
                let key = keys
                    .apk
                    .ok_or_else(|| anyhow::anyhow!("building .apk needs an RSA key (--apk-key)"))?;
                (
                    vec![(
                        format!("/etc/apk/keys/{}", key.name()),
                        key.public_pem()?.into_bytes(),
                    )],
                    project.apk.arch_names == ApkArchNames::Openwrt,
                )
            }
            Format::Apk3 if project.apk3.ship_key => {
                let key = keys.apk3.ok_or_else(|| {
                    anyhow::anyhow!("[apk3] ship-key and sign-packages need the repository key (--apk3-key)")
                })?;
                (
                    vec![(
                        format!("/etc/apk/keys/{}.pem", hex::encode(key.key_id())),
                        key.public_pem()?.into_bytes(),
                    )],
                    project.apk3.arch_names == ApkArchNames::Openwrt,
                )
            }
            _ => continue,
        };
        if specs.iter().any(|s| s.name.as_str() == name) {
            anyhow::bail!(
                "{}: ship-key makes a package named `{name}`, and the project defines one too; rename yours",
                project.source.display()
            );
        }
        let mut spec = PackageSpec {
            name: name.parse()?,
            version: first.version.clone(),
            arch: Arch::All,
            meta: wharf_core::PackageMeta {
                summary: format!("repository keys for {}", first.name),
                description: format!(
                    "The public keys that {}'s package repository is signed with, installed where the \
                     package manager looks for them.",
                    first.name
                ),
                relations: wharf_core::Relations::default(),
                family_relations: std::collections::BTreeMap::new(),
                changelog: Vec::new(),
                ..first.meta.clone()
            },
            files: Vec::new(),
            scripts: std::collections::BTreeMap::new(),
        };
        if openwrt {
            let list: String = files.iter().map(|(p, _)| format!("{p}\n")).collect();
            spec = with_file(&spec, &format!("/lib/upgrade/keep.d/{name}"), list.into_bytes())?;
        }
        for (path, bytes) in files {
            spec = with_file(&spec, &path, bytes)?;
        }
        out.push((format, spec));
    }
    Ok(out)
}

/// `spec` depending on the keyring package (in every family's relations it carries).
fn depend_on(spec: &PackageSpec, keyring: &wharf_core::PackageName) -> PackageSpec {
    let mut spec = spec.clone();
    spec.meta.relations.depends.push(keyring.to_string());
    for r in spec.meta.family_relations.values_mut() {
        r.depends.push(keyring.to_string());
    }
    spec
}

/// The spec plus `file` at `path` (a public key shipped in the package).
fn with_file(spec: &PackageSpec, path: &str, content: Vec<u8>) -> anyhow::Result<PackageSpec> {
    let mut spec = spec.clone();
    spec.files.push(FileEntry {
        path: InstallPath::parse(path)?,
        kind: FileKind::File {
            content: Content::Bytes(content),
            config: false,
        },
        mode: 0o644,
        owner: None,
    });
    Ok(spec)
}

/// The OpenWrt package architectures of a spec's target (`all` for an architecture-independent package).
fn openwrt_archs(spec: &PackageSpec, format: &str) -> anyhow::Result<Vec<&'static str>> {
    match spec.arch {
        Arch::All => Ok(vec!["all"]),
        Arch::Target(t) if t.openwrt.is_empty() => anyhow::bail!(
            "{}: OpenWrt has no package architecture for {} ({}); leave {format} out for this target",
            spec.name,
            t.deb,
            t.triples[0]
        ),
        Arch::Target(t) => Ok(t.openwrt.to_vec()),
    }
}

/// One apk v2 package per apk architecture of the spec's target (Alpine's name, or every OpenWrt variant
/// with `[apk] arch-names = "openwrt"`), signed with `key`.
fn write_apks(
    project: &Project,
    spec: &PackageSpec,
    key: &ApkRsaKey,
    out_dir: &Path,
    date: SourceDate,
    payloads: &Payloads,
) -> anyhow::Result<Vec<Built>> {
    let archs = apk_archs(spec, project.apk.arch_names, "apk")?;
    let digest = match project.apk.signature {
        ApkSignature::Sha1 => RsaDigest::Sha1,
        ApkSignature::Sha256 => RsaDigest::Sha256,
    };
    let version = wharf_core::apkver::from_version(&spec.version)?;
    archs
        .into_iter()
        .map(|arch| {
            // apk file names carry no architecture: each architecture's packages go to
            // `<out>/apk/<arch>/`, as in a repository.
            let dir = out_dir.join("apk").join(arch);
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let opts = ApkOptions {
                source_date: date,
                key,
                digest,
            };
            let name = apk::file_name(spec.name.as_str(), &version);
            let path = write_atomically(&dir, &name, |w| {
                apk::write_apk(spec, arch, opts, payloads, w).map_err(Into::into)
            })?;
            Ok(Built {
                path: path.dest,
                staged: Some(path.tmp),
                name: spec.name.to_string(),
                version: version.clone(),
                arch: arch.to_owned(),
                format: Some(Format::Apk),
                asset: Asset::Package,
            })
        })
        .collect()
}

/// The apk architectures of a spec: `noarch`, Alpine's name, or every OpenWrt variant.
fn apk_archs(spec: &PackageSpec, names: ApkArchNames, format: &str) -> anyhow::Result<Vec<&'static str>> {
    Ok(match (names, spec.arch) {
        (_, Arch::All) => vec!["noarch"],
        (ApkArchNames::Alpine, Arch::Target(t)) => vec![t.apk],
        (ApkArchNames::Openwrt, _) => openwrt_archs(spec, format)?,
    })
}

/// One apk v3 package per architecture (OpenWrt's variants by default), under `<out>/apk3/<arch>/`; with
/// `[apk3] sign-packages` each package is signed too.
fn write_apk3s(
    project: &Project,
    spec: &PackageSpec,
    key: Option<&ApkEcKey>,
    out_dir: &Path,
    date: SourceDate,
) -> anyhow::Result<Vec<Built>> {
    let cfg = project.apk3;
    let need_key = || {
        key.ok_or_else(|| {
            anyhow::anyhow!("[apk3] ship-key and sign-packages need the repository key (--apk3-key)")
        })
    };
    let signer = if cfg.sign_packages {
        Some(need_key()?)
    } else {
        None
    };
    let version = wharf_core::apkver::from_version(&spec.version)?;
    apk_archs(spec, cfg.arch_names, "apk3")?
        .into_iter()
        .map(|arch| {
            let dir = out_dir.join("apk3").join(arch);
            fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
            let name = apk::file_name(spec.name.as_str(), &version);
            let opts = Apk3Options {
                source_date: date,
                key: signer,
            };
            let path = write_atomically(&dir, &name, |w| {
                apk3::write_apk3(spec, arch, opts, w).map_err(Into::into)
            })?;
            Ok(Built {
                path: path.dest,
                staged: Some(path.tmp),
                name: spec.name.to_string(),
                version: version.clone(),
                arch: arch.to_owned(),
                format: Some(Format::Apk3),
                asset: Asset::Package,
            })
        })
        .collect()
}

/// One .ipk per OpenWrt package architecture of the spec's target (or one `all` package).
fn write_ipks(
    spec: &PackageSpec,
    out_dir: &Path,
    date: SourceDate,
    payloads: &Payloads,
) -> anyhow::Result<Vec<Built>> {
    let archs = openwrt_archs(spec, "ipk")?;
    archs
        .into_iter()
        .map(|arch| {
            let name = ipk::file_name(spec.name.as_str(), spec.version.as_str(), arch);
            let path = write_atomically(out_dir, &name, |w| {
                ipk::write_ipk(spec, arch, date, payloads, w).map_err(Into::into)
            })?;
            Ok(Built {
                path: path.dest,
                staged: Some(path.tmp),
                name: spec.name.to_string(),
                version: spec.version.to_string(),
                arch: arch.to_owned(),
                format: Some(Format::Ipk),
                asset: Asset::Package,
            })
        })
        .collect()
}

/// One pacman package (`any` for an architecture-independent one).
fn write_pacman(spec: &PackageSpec, out_dir: &Path, date: SourceDate) -> anyhow::Result<Built> {
    let (version, arch) = (pacman::version(&spec.version)?, pacman::arch(spec.arch));
    let name = pacman::file_name(spec.name.as_str(), &version, arch);
    let path = write_atomically(out_dir, &name, |w| {
        pacman::write_pacman(spec, date, w).map_err(Into::into)
    })?;
    Ok(Built {
        path: path.dest,
        staged: Some(path.tmp),
        name: spec.name.to_string(),
        version,
        arch: arch.to_owned(),
        format: Some(Format::Pacman),
        asset: Asset::Package,
    })
}

/// Runs `write` (which stages files in `out_dir` and lists them in the vector it is given), then moves
/// every staged file into place; on any failure removes what was staged and the directories made.
fn staging(
    out_dir: &Path,
    write: impl FnOnce(&mut Vec<Built>) -> anyhow::Result<()>,
) -> anyhow::Result<Vec<Built>> {
    fs::create_dir_all(out_dir)
        .with_context(|| format!("cannot create the output directory {}", out_dir.display()))?;
    let dirs_before = dirs_under(out_dir);
    let mut built = Vec::new();
    if let Err(e) = write(&mut built).and_then(|()| commit(&mut built)) {
        discard(&built, out_dir, &dirs_before);
        return Err(e);
    }
    Ok(built)
}

/// A name template filled in for one target: `{project}`, `{version}`, `{target}`, `{arch}` (Debian's),
/// `{rpm-arch}`; and `{name}` when given.
fn fill(
    template: &str,
    project: &str,
    version: &str,
    target: Option<&str>,
    name: Option<&str>,
) -> anyhow::Result<String> {
    let triple = target.map_or_else(wharf_core::host_triple, str::to_owned);
    let arch = Arch::from_triple(&triple)?;
    let mut out = template
        .replace("{project}", project)
        .replace("{version}", version)
        .replace("{target}", &triple)
        .replace("{rpm-arch}", arch.rpm())
        .replace("{arch}", arch.deb());
    if let Some(n) = name {
        out = out.replace("{name}", n);
    }
    if out.contains(['/', '{', '}']) || out.starts_with('.') || out.is_empty() {
        anyhow::bail!(
            "`{template}` gives `{out}`: a file name is needed, from {{project}}, {{version}}, {{target}}, {{arch}}, {{rpm-arch}}{}",
            if name.is_some() { " and {name}" } else { "" }
        );
    }
    Ok(out)
}

/// The archives of `[[release.archives]]` for every target (the host when none): each holds the files of
/// the packages it names (default: every package built for the target but the architecture-independent).
pub fn build_archives(
    project: &Project,
    targets: &[String],
    out_dir: &Path,
    version: &str,
    date: SourceDate,
    out: &dyn Reporter,
) -> anyhow::Result<Vec<Built>> {
    let targets: Vec<Option<&str>> = if targets.is_empty() {
        vec![None]
    } else {
        targets.iter().map(|t| Some(t.as_str())).collect()
    };
    for a in &project.release.archives {
        if let Some(p) = a
            .packages
            .iter()
            .find(|p| !project.packages.iter().any(|t| t.name.as_str() == p.as_str()))
        {
            anyhow::bail!(
                "[[release.archives]] `{}`: `{p}` is not one of this project's packages",
                a.name
            );
        }
    }
    let payloads = Payloads::new();
    staging(out_dir, |built| {
        for target in &targets {
            let one: Vec<String> = target.map(str::to_owned).into_iter().collect();
            let resolved: Vec<PackageSpec> = specs(project, &one, out)?.into_iter().map(|(s, _)| s).collect();
            for a in &project.release.archives {
                let chosen: Vec<PackageSpec> = resolved
                    .iter()
                    .filter(|s| {
                        if a.packages.is_empty() {
                            s.arch != Arch::All
                        } else {
                            a.packages.iter().any(|p| p.as_str() == s.name.as_str())
                        }
                    })
                    .map(|s| {
                        let mut s = s.clone();
                        if !a.include.is_empty() {
                            s.files.retain(|f| {
                                a.include
                                    .iter()
                                    .any(|g| wharf_config::glob::matches(g, f.path.relative()))
                            });
                        }
                        s
                    })
                    .collect();
                let chosen: Vec<&PackageSpec> = chosen.iter().collect();
                if chosen.is_empty() {
                    continue;
                }
                let name = fill(&a.name, &project.name, version, *target, None)
                    .with_context(|| format!("[[release.archives]] name `{}`", a.name))?;
                let top = a
                    .top
                    .as_deref()
                    .map(|t| fill(t, &project.name, version, *target, Some(&name)))
                    .transpose()
                    .with_context(|| format!("[[release.archives]] `{}`: top", a.name))?;
                let options = wharf_package::archive::ArchiveOptions {
                    format: a.format,
                    layout: a.layout,
                    top: top.as_deref(),
                    date,
                };
                let file = format!("{name}.{}", a.format.extension());
                let staged = write_atomically(out_dir, &file, |w| {
                    wharf_package::archive::write_archive(&chosen, &options, &payloads, w).map_err(Into::into)
                })?;
                let arch = match target {
                    Some(t) => Arch::from_triple(t)?,
                    None => Arch::host()?,
                };
                built.push(Built {
                    path: staged.dest,
                    staged: Some(staged.tmp),
                    name,
                    version: version.to_owned(),
                    arch: arch.deb().to_owned(),
                    format: None,
                    asset: Asset::Archive,
                });
            }
        }
        Ok(())
    })
}

/// The raw binaries of `[[release.binaries]]` for every target (the host when none), copied into `out_dir`
/// under their names.
pub fn build_binaries(
    project: &Project,
    targets: &[String],
    out_dir: &Path,
    version: &str,
) -> anyhow::Result<Vec<Built>> {
    let targets: Vec<Option<&str>> = if targets.is_empty() {
        vec![None]
    } else {
        targets.iter().map(|t| Some(t.as_str())).collect()
    };
    staging(out_dir, |built| {
        for b in &project.release.binaries {
            for target in &targets {
                let arch = match target {
                    Some(t) => Arch::from_triple(t)?,
                    None => Arch::host()?,
                };
                let src = PackageTemplate::expand(&b.src, *target).map_err(|hint| {
                    anyhow::anyhow!("[[release.binaries]] src `{}`{hint}", b.src.display())
                })?;
                let path = PackageTemplate::locate(&src, &project.dir, &project.target_dir, *target);
                let base = path
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or("binary")
                    .to_owned();
                let name = fill(&b.name, &project.name, version, *target, Some(&base))
                    .with_context(|| format!("[[release.binaries]] name `{}`", b.name))?;
                let mut input = fs::File::open(&path)
                    .with_context(|| format!("[[release.binaries]] `{}`: build it first", path.display()))?;
                let staged = write_atomically(out_dir, &name, |w| {
                    std::io::copy(&mut input, w).context("copying the binary")?;
                    Ok(())
                })?;
                built.push(Built {
                    path: staged.dest,
                    staged: Some(staged.tmp),
                    name: base,
                    version: version.to_owned(),
                    arch: arch.rpm().to_owned(),
                    format: None,
                    asset: Asset::Binary,
                });
            }
        }
        Ok(())
    })
}

/// A package written to a temporary name beside where it goes.
struct Staged {
    tmp: PathBuf,
    dest: PathBuf,
}

/// Writes `name` in `out_dir` to a temporary file, for [`commit`] to move into place once every package
/// of the build is written (or [`discard`] to remove): a failed build leaves nothing.
fn write_atomically(
    out_dir: &Path,
    name: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> anyhow::Result<()>,
) -> anyhow::Result<Staged> {
    let dest = out_dir.join(name);
    if name.len() > 255 {
        anyhow::bail!(
            "the package file name `{name}` is {} bytes, longer than file systems take (255); shorten the package name or version",
            name.len()
        );
    }
    let tmp = out_dir.join(format!(".{name}.tmp-{}", std::process::id()));
    let result = (|| -> anyhow::Result<()> {
        let mut w =
            BufWriter::new(File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?);
        write(&mut w).with_context(|| format!("building {name}"))?;
        // Not flushed to disk (as dpkg-deb, rpmbuild and nFPM do not): a package is a reproducible build
        // output, and `publish` makes what it stores durable. Flushing four 26 MB packages cost ~0.1 s, as
        // long as the packaging itself, and an fsync on ext4 waits for the other files' data too.
        w.into_inner()
            .map_err(|e| e.into_error())
            .context("writing the package")?;
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map(|()| Staged { tmp, dest })
}

/// Moves every staged package into place.
fn commit(built: &mut [Built]) -> anyhow::Result<()> {
    for b in built {
        if let Some(tmp) = b.staged.take() {
            fs::rename(&tmp, &b.path)
                .with_context(|| format!("cannot move the package to {}", b.path.display()))?;
        }
    }
    Ok(())
}

/// Removes what a failed build staged, and the directories it made that are left empty.
fn discard(built: &[Built], out_dir: &Path, dirs_before: &std::collections::HashSet<PathBuf>) {
    for tmp in built.iter().filter_map(|b| b.staged.as_ref()) {
        let _ = fs::remove_file(tmp);
    }
    let mut dirs = dirs_under(out_dir).into_iter().collect::<Vec<_>>();
    // Deepest first, so a parent emptied by its children goes too.
    dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
    for d in dirs.iter().filter(|d| !dirs_before.contains(*d)) {
        let _ = fs::remove_dir(d);
    }
}

/// `dir` and every directory below it.
fn dirs_under(dir: &Path) -> std::collections::HashSet<PathBuf> {
    let mut out = std::collections::HashSet::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(entries) = fs::read_dir(&d) {
            stack.extend(
                entries
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path()),
            );
            out.insert(d);
        }
    }
    out
}
