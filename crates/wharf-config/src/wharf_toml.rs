//! `wharf.toml`: the schema (serde, unknown keys rejected) and its conversion into templates.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;
use wharf_core::{
    ChangelogEntry, Family, InstallPath, Owner, PackageMeta, PackageName, Relations, ScriptKind, Version,
};

use crate::template::{
    EntryTemplate, FileTemplate, PackageTemplate, ScriptSource, copyright_file, parse_mode,
};
use crate::{
    Apk3Config, ApkArchNames, ApkConfig, ApkSignature, AptConfig, ConfigError, DebCompression,
    MetadataCompression, Project, PublishConfig, ReleaseChannels, ReleaseConfig, RpmCompression, RpmConfig,
    value_err,
};

/// wharf.toml: a project's packages, formats, repositories, publishing and releases.
#[derive(Debug, Deserialize, JsonSchema)]
#[schemars(title = "wharf.toml")]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct File {
    project: ProjectSection,
    #[serde(default)]
    package: Vec<PackageSection>,
    #[serde(default)]
    deb: DebSection,
    #[serde(default)]
    rpm: RpmSection,
    #[serde(default)]
    ipk: IpkSection,
    #[serde(default)]
    apk: ApkSection,
    #[serde(default)]
    apk3: Apk3Section,
    #[serde(default)]
    apt: AptSection,
    #[serde(default)]
    publish: PublishSection,
    #[serde(default)]
    release: ReleaseSection,
    #[serde(default)]
    keys: KeysSection,
    #[serde(default)]
    image: ImageSection,
    #[serde(default)]
    ci: CiSection,
    #[serde(default)]
    changelog: Vec<ChangelogSection>,
}

/// What `wharf ci generate` puts in a pipeline besides what the rest of the file says.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct CiSection {
    /// The build of one target, `{target}` replaced (default for a Cargo project: `cargo build --release
    /// --locked --target {target}`, through `cross` or `cargo zigbuild` where the runner is not the target).
    build: Option<String>,
    /// The command that puts wharf on the runner's PATH (`cargo install --locked --git <wharf's repository>
    /// wharf`, a download…).
    install: Option<String>,
}

/// `wharf image`'s contents and run configuration.
#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ImageSection {
    /// The packages whose files make the layer (default: every package).
    #[serde(default)]
    packages: Vec<String>,
    /// The entrypoint (default: the first program under /usr/bin).
    #[serde(default)]
    entrypoint: Vec<String>,
    #[serde(default)]
    cmd: Vec<String>,
    /// `NAME=value`.
    #[serde(default)]
    env: Vec<String>,
    /// `8080/tcp`.
    #[serde(default)]
    ports: Vec<String>,
    user: Option<String>,
    workdir: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    /// The base image: `scratch` (the default), `oci:DIR@sha256:…` (or `oci:DIR:TAG`), or
    /// `REGISTRY/NAME@sha256:…` — by digest, so every build uses the same one.
    base: Option<String>,
    /// Where `wharf release` pushes the image: `REGISTRY/NAME` (`http://REGISTRY/NAME` for a plain-HTTP one).
    #[serde(default)]
    push: Vec<String>,
    /// The tags `wharf release` pushes (`{version}`, `{channel}`); default `["{version}"]`.
    #[serde(default)]
    tags: Vec<String>,
    /// Attach an SPDX 2.3 SBOM (the layer's files and the packages they came from) to each platform's
    /// image as an OCI artifact referring to it.
    #[serde(default)]
    sbom: bool,
}

/// A key file, or a list of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
enum OneOrMany {
    One(PathBuf),
    Many(Vec<PathBuf>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<PathBuf> {
        match self {
            Self::One(p) => vec![p],
            Self::Many(v) => v,
        }
    }
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct KeysSection {
    /// One key, or several during a rotation (every index signed by each; the first signs packages).
    openpgp: Option<OneOrMany>,
    usign: Option<PathBuf>,
    /// One key, or several during a rotation (every package and index signed by each).
    apk: Option<OneOrMany>,
    apk3: Option<PathBuf>,
    #[serde(default)]
    throwaway: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ProjectSection {
    name: String,
    version: String,
    maintainer: String,
    summary: String,
    #[serde(default)]
    description: String,
    homepage: Option<String>,
    license: Option<String>,
    vendor: Option<String>,
    copyright: Option<String>,
    #[serde(default = "default_formats")]
    formats: Vec<wharf_core::Format>,
}

fn default_formats() -> Vec<wharf_core::Format> {
    vec![wharf_core::Format::Deb]
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RelationsSection {
    #[serde(default)]
    pub depends: Vec<String>,
    #[serde(default)]
    pub pre_depends: Vec<String>,
    #[serde(default)]
    pub recommends: Vec<String>,
    #[serde(default)]
    pub suggests: Vec<String>,
    #[serde(default)]
    pub conflicts: Vec<String>,
    #[serde(default)]
    pub breaks: Vec<String>,
    #[serde(default)]
    pub replaces: Vec<String>,
    #[serde(default)]
    pub provides: Vec<String>,
    #[serde(default)]
    pub obsoletes: Vec<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PackageSection {
    name: Option<String>,
    summary: Option<String>,
    description: Option<String>,
    #[serde(default)]
    arch_all: bool,
    /// Only these formats (default: the project's).
    #[serde(default)]
    formats: Vec<wharf_core::Format>,
    /// Only these targets (default: every target built).
    #[serde(default)]
    targets: Vec<String>,
    section: Option<String>,
    priority: Option<String>,
    #[serde(flatten)]
    relations: RelationsSection,
    #[serde(default)]
    files: Vec<FileSection>,
    #[serde(default)]
    symlinks: Vec<SymlinkSection>,
    #[serde(default)]
    dirs: Vec<PathSection>,
    #[serde(default)]
    ghosts: Vec<PathSection>,
    #[serde(default)]
    scripts: ScriptsSection,
    /// Relations for rpm, replacing the Debian-named ones (`depends = ["glibc"]`).
    rpm: Option<RelationsSection>,
    /// Relations for apk (Alpine and OpenWrt), replacing the Debian-named ones (`depends = ["musl"]`).
    apk: Option<RelationsSection>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileSection {
    src: PathBuf,
    dst: String,
    mode: Option<String>,
    #[serde(default)]
    config: bool,
    user: Option<String>,
    group: Option<String>,
    /// The source may lie outside the project (an absolute path, a symlink out of it).
    #[serde(default)]
    allow_outside: bool,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SymlinkSection {
    path: String,
    target: String,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct PathSection {
    path: String,
    mode: Option<String>,
    user: Option<String>,
    group: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ChangelogSection {
    version: String,
    date: String,
    author: Option<String>,
    changes: Vec<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ScriptsSection {
    preinst: Option<PathBuf>,
    postinst: Option<PathBuf>,
    prerm: Option<PathBuf>,
    postrm: Option<PathBuf>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DebSection {
    #[serde(default)]
    compression: DebCompression,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct IpkSection {
    /// Ship the feed's usign public key in the packages (OpenWrt routers then trust the feed).
    #[serde(default)]
    ship_key: bool,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ApkSection {
    #[serde(default)]
    arch_names: ApkArchNames,
    #[serde(default)]
    signature: ApkSignature,
    #[serde(default)]
    ship_key: bool,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Apk3Section {
    arch_names: Option<ApkArchNames>,
    #[serde(default)]
    sign_packages: bool,
    #[serde(default)]
    ship_key: bool,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct RpmSection {
    #[serde(default)]
    compression: RpmCompression,
    #[serde(default)]
    repos: Vec<String>,
    #[serde(default)]
    metadata_compression: MetadataCompression,
    /// One rpm per distribution tag of `repos` (`1.fc43`), each published into its repositories only.
    #[serde(default)]
    dist_tags: bool,
    /// Tags for repositories the built-in table does not know, or other than its.
    #[serde(default)]
    dist_tag: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct AptSection {
    origin: Option<String>,
    label: Option<String>,
    suite: Option<String>,
    component: Option<String>,
    description: Option<String>,
    valid_for_days: Option<u32>,
    #[serde(default)]
    architectures: Vec<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct PublishSection {
    to: Option<String>,
    key: Option<PathBuf>,
    base_url: Option<String>,
    s3_endpoint: Option<String>,
    s3_region: Option<String>,
    keep: Option<usize>,
    grace_period: Option<String>,
    lock_wait: Option<String>,
    channel: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ReleaseSection {
    tag_prefix: Option<String>,
    stable_tags: Option<String>,
    prerelease_tags: Option<String>,
    #[serde(default)]
    targets: Vec<String>,
    install: Option<Vec<String>>,
    #[serde(default)]
    checksum_files: bool,
    #[serde(default)]
    package_changelog: bool,
    page_template: Option<PathBuf>,
    #[serde(default)]
    channels: ReleaseChannelsSection,
    #[serde(default)]
    groups: Vec<ReleaseGroupSection>,
    /// Raw binaries the release ships beside its packages, one per target.
    #[serde(default)]
    binaries: Vec<ReleaseBinarySection>,
    /// Archives of the release's own shape, replacing the per-package tarballs.
    #[serde(default)]
    archives: Vec<ReleaseArchiveSection>,
}

/// An archive per target holding several packages' files: `name` (placeholders `{project}`, `{version}`,
/// `{target}`, `{arch}`, `{rpm-arch}`; the format's extension is added), `packages` (default: every package
/// built for the target; architecture-independent ones only when named), `layout` (`flat`: the files by
/// name, the default; `paths`: at their install paths), `top` (a directory everything goes under; the
/// same placeholders, and `{name}` for the archive's name), `include` (install-path globs: only the files
/// they match).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ReleaseArchiveSection {
    name: String,
    #[serde(default)]
    format: crate::ArchiveFormat,
    #[serde(default)]
    packages: Vec<String>,
    #[serde(default)]
    layout: crate::ArchiveLayout,
    top: Option<String>,
    /// Only the files whose install path matches one of these globs (`usr/bin/*`; empty: every file).
    #[serde(default)]
    include: Vec<String>,
}

/// A raw binary release asset: `src` (placeholders `{target}`, `{arch}`, `{rpm-arch}`; `target/release/…`
/// as in `[[package.files]]`) copied into the release directory as `name` (placeholders `{name}` — the
/// source's file name —, `{version}`, `{target}`, `{arch}`, `{rpm-arch}`; default `{name}-{rpm-arch}`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ReleaseBinarySection {
    src: PathBuf,
    name: Option<String>,
}

#[derive(Debug, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ReleaseChannelsSection {
    stable: Option<String>,
    prerelease: Option<String>,
    development: Option<String>,
    extra: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct ReleaseGroupSection {
    title: String,
    #[serde(default)]
    types: Vec<String>,
}

/// wharf.toml's JSON Schema, generated from the types it is read into (pretty-printed, ending in a newline).
pub(crate) fn schema() -> String {
    let schema = schemars::schema_for!(File);
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    text
}

impl RelationsSection {
    pub(crate) fn into_relations(self) -> Relations {
        Relations {
            depends: self.depends,
            pre_depends: self.pre_depends,
            recommends: self.recommends,
            suggests: self.suggests,
            conflicts: self.conflicts,
            breaks: self.breaks,
            replaces: self.replaces,
            provides: self.provides,
            obsoletes: self.obsoletes,
        }
    }
}

/// Resolves a destination: a trailing `/` means "into this directory, under the source's file name".
pub(crate) fn destination(dst: &str, src: &Path) -> Option<String> {
    if dst.ends_with('/') {
        let base = src.file_name()?.to_str()?;
        Some(format!("{dst}{base}"))
    } else {
        Some(dst.to_owned())
    }
}

pub(crate) fn apt_defaults(name: &str) -> AptConfig {
    AptConfig {
        origin: name.to_owned(),
        label: name.to_owned(),
        suite: "stable".into(),
        component: "main".into(),
        description: None,
        valid_for_days: None,
        architectures: Vec::new(),
    }
}

pub(crate) fn load(
    path: &Path,
    text: &str,
    dir: PathBuf,
    target_dir: PathBuf,
) -> Result<Project, ConfigError> {
    let file: File = toml::from_str(text).map_err(|e| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let p = &file.project;
    let project_name: PackageName = p
        .name
        .parse()
        .map_err(|e| value_err(path, "project.name", format!("{e}")))?;
    let version: Version = p
        .version
        .parse()
        .map_err(|e| value_err(path, "project.version", format!("{e}")))?;
    if p.maintainer.trim().is_empty() || !p.maintainer.contains('<') {
        return Err(value_err(
            path,
            "project.maintainer",
            "write it as `Name <email@example.org>`",
        ));
    }
    if p.summary.trim().is_empty() || p.summary.contains('\n') {
        return Err(value_err(path, "project.summary", "give a one-line summary"));
    }
    // No [[package]] is a configuration that only publishes packages built elsewhere (rpmbuild, mock,
    // nFPM): its keys, store and repositories. Packaging from it says what is missing.
    let sections = file.package;
    let changelog = changelog_entries(path, &file.changelog, &p.maintainer)?;
    let mut packages: Vec<PackageTemplate> = Vec::new();
    for (i, s) in sections.into_iter().enumerate() {
        let key = |k: &str| format!("package[{i}].{k}");
        let name: PackageName = match &s.name {
            Some(n) => n
                .parse()
                .map_err(|e| value_err(path, key("name"), format!("{e}")))?,
            None => project_name.clone(),
        };
        if packages.iter().any(|t| t.name == name) {
            return Err(value_err(
                path,
                key("name"),
                format!("package `{name}` is defined twice"),
            ));
        }
        let mut files = Vec::new();
        for (j, f) in s.files.into_iter().enumerate() {
            let origin = key(&format!("files[{j}]"));
            let dst_dir = InstallPath::parse(f.dst.trim_end_matches('/'))
                .map_err(|e| value_err(path, format!("{origin}.dst"), format!("{e}")))?;
            let dst = if crate::template::glob::split(&f.src.to_string_lossy()).is_some() {
                if !f.dst.ends_with('/') {
                    return Err(value_err(
                        path,
                        format!("{origin}.dst"),
                        "a glob's files go into a directory: end `dst` with `/`",
                    ));
                }
                dst_dir.clone()
            } else {
                let dst = destination(&f.dst, &f.src).ok_or_else(|| {
                    value_err(
                        path,
                        format!("{origin}.dst"),
                        "cannot derive a file name from `src`",
                    )
                })?;
                InstallPath::parse(&dst)
                    .map_err(|e| value_err(path, format!("{origin}.dst"), format!("{e}")))?
            };
            let executable = dst.as_str().contains("/bin/") || dst.as_str().contains("/sbin/");
            let mode_given = f.mode.is_some();
            let mode = mode(
                path,
                &origin,
                f.mode.as_deref(),
                if executable { 0o755 } else { 0o644 },
            )?;
            let owner = owner(path, &origin, f.user.as_deref(), f.group.as_deref())?;
            files.push(FileTemplate {
                src: f.src,
                dst,
                dst_dir,
                mode,
                mode_given,
                config: f.config,
                origin,
                owner,
                allow_outside: f.allow_outside,
            });
        }
        let mut symlinks = Vec::new();
        for (j, l) in s.symlinks.into_iter().enumerate() {
            let p = InstallPath::parse(&l.path)
                .map_err(|e| value_err(path, key(&format!("symlinks[{j}].path")), format!("{e}")))?;
            if l.target.is_empty() || l.target.contains('\0') {
                return Err(value_err(
                    path,
                    key(&format!("symlinks[{j}].target")),
                    "the link target is empty",
                ));
            }
            symlinks.push((p, l.target));
        }
        let dirs = path_entries(path, &key("dirs"), &s.dirs, 0o755)?;
        let ghosts = path_entries(path, &key("ghosts"), &s.ghosts, 0o644)?;
        let mut scripts = BTreeMap::new();
        for (kind, v) in [
            (ScriptKind::PreInst, s.scripts.preinst),
            (ScriptKind::PostInst, s.scripts.postinst),
            (ScriptKind::PreRm, s.scripts.prerm),
            (ScriptKind::PostRm, s.scripts.postrm),
        ] {
            if let Some(v) = v {
                scripts.insert(kind, ScriptSource::File(v));
            }
        }
        let generated = match &p.license {
            Some(l) => vec![(
                InstallPath::parse(&format!("/usr/share/doc/{name}/copyright"))
                    .map_err(|e| value_err(path, key("name"), format!("{e}")))?,
                copyright_file(
                    project_name.as_str(),
                    p.homepage.as_deref(),
                    p.copyright.as_deref().unwrap_or(&p.maintainer),
                    l,
                ),
            )],
            None => Vec::new(),
        };
        let own_summary = s.summary.is_some();
        let own_description = s.description.is_some();
        let meta = PackageMeta {
            maintainer: p.maintainer.clone(),
            summary: s.summary.unwrap_or_else(|| p.summary.clone()),
            description: s.description.unwrap_or_else(|| p.description.clone()),
            homepage: p.homepage.clone(),
            license: p.license.clone(),
            vendor: p.vendor.clone(),
            section: s.section,
            priority: s.priority.or_else(|| Some("optional".into())),
            relations: s.relations.into_relations(),
            family_relations: [
                s.rpm.map(|r| (Family::Rpm, r.into_relations())),
                s.apk.map(|r| (Family::Apk, r.into_relations())),
            ]
            .into_iter()
            .flatten()
            .collect(),
            changelog: changelog.clone(),
        };
        // Values are written into control files line by line: one with a line break would add a field.
        if let Some((field, why)) = meta.unrepresentable() {
            let project_level = matches!(field.as_str(), "maintainer" | "homepage" | "license" | "vendor")
                || (field == "summary" && !own_summary)
                || (field == "description" && !own_description);
            let at = if project_level {
                format!("project.{field}")
            } else {
                key(&field)
            };
            return Err(value_err(path, at, why));
        }
        packages.push(PackageTemplate {
            name,
            version: version.clone(),
            arch_all: s.arch_all,
            meta,
            files,
            generated,
            symlinks,
            dirs,
            ghosts,
            scripts,
            formats: s.formats,
            targets: s.targets,
        });
    }
    let defaults = apt_defaults(project_name.as_str());
    let a = file.apt;
    let apt = AptConfig {
        origin: a.origin.unwrap_or(defaults.origin),
        label: a.label.unwrap_or(defaults.label),
        suite: a.suite.unwrap_or(defaults.suite),
        component: a.component.unwrap_or(defaults.component),
        description: a.description,
        valid_for_days: a.valid_for_days,
        architectures: a.architectures,
    };
    let release = {
        let r = file.release;
        let d = ReleaseConfig::default();
        if let Some(i) = r.install.as_ref().and_then(|i| {
            i.iter()
                .find(|n| !packages.iter().any(|p| p.name.as_str() == n.as_str()))
        }) {
            return Err(ConfigError::Value {
                path: path.to_path_buf(),
                key: "release.install".into(),
                message: format!("`{i}` is not one of this project's packages"),
            });
        }
        ReleaseConfig {
            tag_prefix: r.tag_prefix.unwrap_or(d.tag_prefix),
            stable_tags: r.stable_tags,
            prerelease_tags: r.prerelease_tags,
            targets: r.targets,
            install: r.install.unwrap_or_default(),
            checksum_files: r.checksum_files,
            package_changelog: r.package_changelog,
            page_template: r.page_template,
            channels: ReleaseChannels {
                stable: r.channels.stable.unwrap_or(d.channels.stable),
                prerelease: r.channels.prerelease.unwrap_or(d.channels.prerelease),
                development: r.channels.development.unwrap_or(d.channels.development),
                extra: r.channels.extra.unwrap_or(d.channels.extra),
            },
            groups: r.groups.into_iter().map(|g| (g.title, g.types)).collect(),
            binaries: r
                .binaries
                .into_iter()
                .map(|b| crate::ReleaseBinary {
                    src: b.src,
                    name: b.name.unwrap_or_else(|| "{name}-{rpm-arch}".into()),
                })
                .collect(),
            archives: r
                .archives
                .into_iter()
                .map(|a| crate::ReleaseArchive {
                    name: a.name,
                    format: a.format,
                    packages: a.packages,
                    layout: a.layout,
                    top: a.top,
                    include: a
                        .include
                        .into_iter()
                        .map(|g| g.trim_start_matches('/').to_owned())
                        .collect(),
                })
                .collect(),
        }
    };
    let mut openpgp = file
        .keys
        .openpgp
        .clone()
        .map(OneOrMany::into_vec)
        .unwrap_or_default();
    if let Some(key) = &file.publish.key {
        if !openpgp.is_empty() && openpgp != [key.clone()] {
            return Err(value_err(
                path,
                "keys.openpgp",
                "and [publish] key name different files; keep one",
            ));
        }
        openpgp = vec![key.clone()];
    }
    if openpgp.is_empty() && file.keys.openpgp.is_some() {
        return Err(value_err(
            path,
            "keys.openpgp",
            "is an empty list; name a key file",
        ));
    }
    let at = |p: Option<PathBuf>| p.map(|p| dir.join(p));
    let mut openpgp = openpgp.into_iter().map(|p| dir.join(p));
    let apk_given = file.keys.apk.is_some();
    let apk_list = file.keys.apk.map(OneOrMany::into_vec).unwrap_or_default();
    if apk_list.is_empty() && apk_given {
        return Err(value_err(path, "keys.apk", "is an empty list; name a key file"));
    }
    let mut apk = apk_list.into_iter().map(|p| dir.join(p));
    let keys = crate::KeysConfig {
        openpgp: openpgp.next(),
        openpgp_also: openpgp.collect(),
        usign: at(file.keys.usign),
        apk: apk.next(),
        apk_also: apk.collect(),
        apk3: at(file.keys.apk3),
        throwaway: file.keys.throwaway,
    };
    Ok(Project {
        name: project_name.to_string(),
        dir,
        source: path.to_path_buf(),
        target_dir,
        packages,
        formats: file.project.formats,
        deb_compression: file.deb.compression,
        ipk_ship_key: file.ipk.ship_key,
        apk: ApkConfig {
            arch_names: file.apk.arch_names,
            signature: file.apk.signature,
            ship_key: file.apk.ship_key,
        },
        apk3: Apk3Config {
            arch_names: file.apk3.arch_names.unwrap_or(ApkArchNames::Openwrt),
            sign_packages: file.apk3.sign_packages,
            ship_key: file.apk3.ship_key,
        },
        rpm: RpmConfig {
            compression: file.rpm.compression,
            repos: file.rpm.repos,
            metadata_compression: file.rpm.metadata_compression,
            dist_tags: file.rpm.dist_tags,
            dist_tag: file.rpm.dist_tag,
        },
        apt,
        publish: PublishConfig {
            to: file.publish.to,
            key: file.publish.key,
            base_url: file.publish.base_url,
            s3_endpoint: file.publish.s3_endpoint,
            s3_region: file.publish.s3_region,
            keep: match file.publish.keep {
                Some(0) => {
                    return Err(ConfigError::Value {
                        path: path.to_path_buf(),
                        key: "publish.keep".into(),
                        message: "must be at least 1 (remove the key to keep every version)".into(),
                    });
                }
                k => k,
            },
            grace_period: duration(path, "publish.grace-period", file.publish.grace_period.as_deref())?,
            lock_wait: duration(path, "publish.lock-wait", file.publish.lock_wait.as_deref())?,
            channel: file.publish.channel,
        },
        release,
        keys,
        image: crate::ImageSettings {
            packages: file.image.packages,
            entrypoint: file.image.entrypoint,
            cmd: file.image.cmd,
            env: file.image.env,
            ports: file.image.ports,
            user: file.image.user,
            workdir: file.image.workdir,
            labels: file.image.labels,
            base: file.image.base,
            push: file.image.push,
            tags: file.image.tags,
            sbom: file.image.sbom,
        },
        ci: crate::CiSettings {
            build: file.ci.build,
            install: file.ci.install,
        },
        warnings: Vec::new(),
    })
}

fn duration(path: &Path, key: &str, v: Option<&str>) -> Result<Option<std::time::Duration>, ConfigError> {
    v.map(|v| {
        crate::parse_duration(v).map_err(|message| ConfigError::Value {
            path: path.to_path_buf(),
            key: key.into(),
            message,
        })
    })
    .transpose()
}

/// A `mode` key (octal text such as `"0755"`), or `default` when absent.
fn mode(path: &Path, origin: &str, text: Option<&str>, default: u32) -> Result<u32, ConfigError> {
    match text {
        None => Ok(default),
        Some(m) => parse_mode(m).ok_or_else(|| {
            value_err(
                path,
                format!("{origin}.mode"),
                "write the mode as octal text, e.g. \"0755\"",
            )
        }),
    }
}

/// An owner from optional `user`/`group` keys (both default to root).
fn owner(
    path: &Path,
    origin: &str,
    user: Option<&str>,
    group: Option<&str>,
) -> Result<Option<Owner>, ConfigError> {
    if user.is_none() && group.is_none() {
        return Ok(None);
    }
    Owner::new(user.unwrap_or("root"), group.unwrap_or("root"))
        .map(|o| if o.is_root() { None } else { Some(o) })
        .map_err(|e| value_err(path, format!("{origin}.user"), format!("{e}")))
}

/// `[[package.dirs]]` / `[[package.ghosts]]` entries.
fn path_entries(
    path: &Path,
    key: &str,
    list: &[PathSection],
    default_mode: u32,
) -> Result<Vec<EntryTemplate>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(j, d)| {
            let origin = format!("{key}[{j}]");
            let p = InstallPath::parse(&d.path)
                .map_err(|e| value_err(path, format!("{origin}.path"), format!("{e}")))?;
            let mode = mode(path, &origin, d.mode.as_deref(), default_mode)?;
            Ok(EntryTemplate {
                path: p,
                mode,
                owner: owner(path, &origin, d.user.as_deref(), d.group.as_deref())?,
            })
        })
        .collect()
}

/// `[[changelog]]` entries, newest first as written; dates are `YYYY-MM-DD` (midnight UTC).
fn changelog_entries(
    path: &Path,
    list: &[ChangelogSection],
    maintainer: &str,
) -> Result<Vec<ChangelogEntry>, ConfigError> {
    list.iter()
        .enumerate()
        .map(|(i, c)| {
            let date = chrono::NaiveDate::parse_from_str(&c.date, "%Y-%m-%d").map_err(|_| {
                value_err(
                    path,
                    format!("changelog[{i}].date"),
                    "write the date as YYYY-MM-DD",
                )
            })?;
            let time = date.and_hms_opt(0, 0, 0).map_or(0, |d| d.and_utc().timestamp());
            if c.changes.is_empty() {
                return Err(value_err(
                    path,
                    format!("changelog[{i}].changes"),
                    "list at least one change",
                ));
            }
            Ok(ChangelogEntry {
                version: c.version.clone(),
                author: c.author.clone().unwrap_or_else(|| maintainer.to_owned()),
                time,
                changes: c.changes.clone(),
            })
        })
        .collect()
}

/// Where wharf.toml's JSON Schema is published: `wharf.schema.json` at the top of wharf's repository.
pub const SCHEMA_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/raw/main/wharf.schema.json");

/// A commented `wharf.toml` for a project called `name` with binaries `bins`.
#[must_use]
pub fn init_template(name: &str, version: &str, maintainer: &str, summary: &str, bins: &[String]) -> String {
    let mut files = String::new();
    for b in bins {
        files.push_str(&format!(
            "\n[[package.files]]\nsrc = \"target/release/{b}\"   # build outputs: found in Cargo's target dir, per --target\ndst = \"/usr/bin/\"                # a trailing / installs under the source's name\nmode = \"0755\"\n"
        ));
    }
    format!(
        r#"#:schema {SCHEMA_URL}
# wharf.toml — how wharf packages, indexes, signs and publishes this project.
# Unknown keys are errors. Paths are relative to this file. The schema line lets editors (taplo, Even
# Better TOML) check and complete keys as you type.

[project]
name = "{name}"
version = "{version}"
maintainer = "{maintainer}"
summary = "{summary}"
# description = """
# A longer description, one or more paragraphs.
# """
# homepage = "https://example.org/{name}"
# license = "MIT"               # also writes /usr/share/doc/<package>/copyright
# formats = ["deb", "rpm", "ipk", "apk", "apk3"]   # what `wharf package` and `wharf publish` build by default (deb)

# One [[package]] per package. Several are fine (a daemon, a CLI, docs…); each shares [project].
[[package]]
# name = "{name}"               # defaults to project.name
# arch-all = false               # true for architecture-independent packages
# section = "utils"
# depends = ["libc6 (>= 2.31)"]  # also: pre-depends, recommends, suggests, conflicts, breaks, replaces, provides
{files}
# [[package.files]]
# src = "config/{name}.toml"
# dst = "/etc/{name}/{name}.toml"
# config = true                  # a conffile: dpkg keeps local edits
# allow-outside = false          # true: src may lie outside the project (an absolute path, a symlink out)

# [package.scripts]
# postinst = "scripts/postinst"  # also preinst, prerm, postrm

[deb]
compression = "xz"               # gzip | xz | zstd

[rpm]
compression = "gzip"             # gzip | xz | zstd
# repos = ["fedora-43-x86_64", "almalinux-10-x86_64_v2"]   # chroot-named rpm-md repositories
# metadata-compression = "gzip"  # gzip | zstd

# [ipk]
# ship-key = true               # ship the feed's usign key in a <name>-keyring .ipk the others depend on
#
# [apk]
# arch-names = "alpine"         # or "openwrt": one .apk per OpenWrt package architecture (mipsel_24kc, …)
# signature = "sha256"          # RSA signature digest; "sha1" for apk-tools older than 2.10
# ship-key = true               # ship the RSA public key in a <name>-keyring .apk the others depend on
#
# [apk3]                        # apk v3 / ADB, as OpenWrt 25.12+ installs it
# arch-names = "openwrt"        # or "alpine"
# sign-packages = false         # the signed packages.adb pins every package (OpenWrt's practice)
# ship-key = true               # ship the EC public key in a <name>-keyring package the others depend on

[apt]
suite = "stable"
component = "main"
# origin = "{name}"
# label = "{name}"
# valid-for-days = 30            # clients refuse a Release older than this
# architectures = ["amd64", "arm64"]

[publish]
to = "public"                    # a directory, or s3://bucket/prefix (AWS S3, R2, MinIO, Garage)
# base-url = "https://packages.example.org"   # where clients reach `to` (for .repo files)
# s3-endpoint = "https://<account>.r2.cloudflarestorage.com"   # else AWS_ENDPOINT_URL, else AWS
# s3-region = "auto"             # else AWS_REGION
# channel = "stable"             # apt: the suite; rpm, apk, opkg: a <channel>/ prefix
# keep = 3                       # newest versions kept per package, architecture and channel
# grace-period = "24h"           # how long replaced files stay for clients with old indexes
# lock-wait = "5m"               # how long a publish waits for another one

[keys]                           # signing keys, relative to this file: make each once with
                                 # `wharf key generate <kind> -o keys` and keep keys/ out of git
# openpgp = "keys/secret.asc"    # apt and rpm-md (openpgp); a list while rotating (`wharf key rotate`)
# usign = "keys/key-build"       # opkg feeds (usign)
# apk = "keys/wharf.rsa"         # apk v2 (apk-rsa)
# apk3 = "keys/private-key.pem"  # apk v3 (apk-ec)
# throwaway = true               # instead: throwaway keys made under .wharf/, for trying wharf out

[release]                        # `wharf release`: version from git tags, changelog, assets, page, install.sh
# tag-prefix = "v"               # version tags: v1.2.3 (stable), v1.3.0-rc.1 (prerelease)
# stable-tags = 'v[0-9]+\.[0-9]+\.[0-9]+'   # narrow with a pattern (whole tag); non-matching tags are extra
# prerelease-tags = '^$'         # e.g. no prereleases at all: every pre-release tag is extra
# targets = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]   # default: the host
# install = ["{name}"]           # what install.sh installs (default: the first package)
# checksum-files = true          # a <file>.sha256 beside every artifact, besides SHA256SUMS
# package-changelog = true       # the release's changelog into the Debian changelog and rpm %changelog
# page-template = "release.html" # a minijinja template replacing the release page
# channels = {{ stable = "stable", prerelease = "prerelease", development = "dev", extra = "dev" }}
# [[release.groups]]             # changelog sections (default: Features, Bug Fixes, Other)
# title = "Features"
# types = ["feat"]
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_str(text: &str) -> Result<Project, ConfigError> {
        load(
            Path::new("wharf.toml"),
            text,
            PathBuf::from("."),
            PathBuf::from("target"),
        )
    }

    const MINIMAL: &str = r#"
[project]
name = "hello"
version = "1.0.0"
maintainer = "J <j@e.org>"
summary = "hi"
license = "MIT"
[[package]]
[[package.files]]
src = "target/release/hello"
dst = "/usr/bin/"
"#;

    #[test]
    fn minimal() {
        let p = load_str(MINIMAL).unwrap();
        let t = &p.packages[0];
        assert_eq!(t.name.as_str(), "hello");
        assert_eq!(t.files[0].dst.as_str(), "/usr/bin/hello");
        assert_eq!(t.files[0].mode, 0o755);
        assert_eq!(t.generated[0].0.as_str(), "/usr/share/doc/hello/copyright");
        assert_eq!(p.apt.suite, "stable");
    }

    #[test]
    fn errors_name_the_key() {
        let err = load_str(
            &MINIMAL
                .replace("[apt]", "")
                .replace("summary = \"hi\"", "summary = \"hi\"\nsumary = 1"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("wharf.toml") && err.contains("unknown field `sumary`"),
            "{err}"
        );
        let err = load_str(&MINIMAL.replace("dst = \"/usr/bin/\"", "dst = \"usr/bin/x\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("package[0].files[0].dst") && err.contains("absolute"),
            "{err}"
        );
        let err = load_str(&MINIMAL.replace("dst = \"/usr/bin/\"", "dst = \"/usr/../etc/x\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("`..`"), "{err}");
        let err = load_str(&MINIMAL.replace("\"1.0.0\"", "\"one\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("project.version"), "{err}");
        let err = load_str(&MINIMAL.replace("\"hello\"", "\"Hello\""))
            .unwrap_err()
            .to_string();
        assert!(err.contains("project.name"), "{err}");
    }

    #[test]
    fn init_template_parses() {
        let text = init_template("demo", "0.1.0", "A <a@b.org>", "a demo", &["demo".into()]);
        let p = load_str(&text).unwrap();
        assert_eq!(p.packages[0].files[0].dst.as_str(), "/usr/bin/demo");
    }
}
