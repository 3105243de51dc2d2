//! Zero-config for Cargo projects: `Cargo.toml`'s `[package]` plus cargo-deb's `[package.metadata.deb]`.
//!
//! Keys honoured (cargo-deb README): `name`, `maintainer`, `copyright`, `license-file`, `depends`,
//! `pre-depends`, `recommends`, `suggests`, `conflicts`, `breaks`, `replaces`, `provides`,
//! `extended-description`, `extended-description-file`, `section`, `priority`, `revision`, `assets`
//! (array or table form; `*` in the last path part), `conf-files`, `maintainer-scripts`. Keys that
//! concern building (`features`, `default-features`, `profile`) are ignored; the others cargo-deb has
//! (`$auto` dependencies, `systemd-units`, `changelog`, …) produce a warning saying what to do instead.
//! Fields inherited with `{ workspace = true }` are read from the workspace root's `[workspace.package]`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use toml::{Table, Value};
use wharf_core::{Family, InstallPath, Owner, PackageMeta, PackageName, Relations, ScriptKind, Version};

use crate::template::{
    FileTemplate, PackageTemplate, ScriptSource, copyright_file, debianize_version, parse_mode,
};
use crate::wharf_toml::{apt_defaults, destination};
use crate::{ConfigError, DebCompression, Project, PublishConfig, ReleaseConfig, value_err};

const IGNORED: &[&str] = &[
    "features",
    "default-features",
    "profile",
    "preserve-symlinks",
    "cargo-build",
];
const HONOURED: &[&str] = &[
    "name",
    "maintainer",
    "copyright",
    "license-file",
    "depends",
    "pre-depends",
    "recommends",
    "suggests",
    "conflicts",
    "breaks",
    "replaces",
    "provides",
    "extended-description",
    "extended-description-file",
    "section",
    "priority",
    "revision",
    "assets",
    "conf-files",
    "maintainer-scripts",
];

/// The nearest ancestor directory whose Cargo.toml has `[workspace]` (else `dir` itself).
pub(crate) fn workspace_root(dir: &Path) -> PathBuf {
    let abs = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    for d in abs.ancestors() {
        if let Ok(text) = std::fs::read_to_string(d.join("Cargo.toml"))
            && text.parse::<Table>().is_ok_and(|t| t.contains_key("workspace"))
        {
            return d.to_path_buf();
        }
    }
    dir.to_path_buf()
}

struct Ctx<'a> {
    path: &'a Path,
    package: &'a Table,
    workspace: Option<Table>,
}

impl Ctx<'_> {
    /// A `[package]` string, following `{ workspace = true }`.
    fn string(&self, key: &str) -> Result<Option<String>, ConfigError> {
        match self.package.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Table(t)) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                match self.workspace.as_ref().and_then(|w| w.get(key)) {
                    Some(Value::String(s)) => Ok(Some(s.clone())),
                    _ => Err(value_err(
                        self.path,
                        format!("package.{key}"),
                        "inherits from the workspace, but [workspace.package] does not set it",
                    )),
                }
            }
            Some(_) => Err(value_err(
                self.path,
                format!("package.{key}"),
                "expected a string",
            )),
        }
    }

    fn strings(&self, key: &str) -> Result<Vec<String>, ConfigError> {
        let v = match self.package.get(key) {
            Some(Value::Table(t)) if t.get("workspace").and_then(Value::as_bool) == Some(true) => {
                self.workspace.as_ref().and_then(|w| w.get(key)).cloned()
            }
            other => other.cloned(),
        };
        match v {
            None => Ok(Vec::new()),
            Some(Value::Array(a)) => Ok(a.iter().filter_map(|x| x.as_str().map(str::to_owned)).collect()),
            Some(_) => Err(value_err(
                self.path,
                format!("package.{key}"),
                "expected an array of strings",
            )),
        }
    }
}

fn meta_string(path: &Path, deb: &Table, key: &str) -> Result<Option<String>, ConfigError> {
    match deb.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(value_err(
            path,
            format!("package.metadata.deb.{key}"),
            "expected a string",
        )),
    }
}

/// A relation field: a comma-separated string or an array. `$auto` is dropped with a warning.
fn relation(
    path: &Path,
    deb: &Table,
    key: &str,
    warnings: &mut Vec<String>,
) -> Result<Vec<String>, ConfigError> {
    let items: Vec<String> = match deb.get(key) {
        None => return Ok(Vec::new()),
        Some(Value::String(s)) => s
            .split(',')
            .map(|x| x.trim().to_owned())
            .filter(|x| !x.is_empty())
            .collect(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|x| x.as_str().map(|s| s.trim().to_owned()))
            .collect(),
        Some(_) => {
            return Err(value_err(
                path,
                format!("package.metadata.deb.{key}"),
                "expected a string or an array",
            ));
        }
    };
    let (auto, rest): (Vec<String>, Vec<String>) = items.into_iter().partition(|x| x == "$auto");
    if !auto.is_empty() {
        warnings.push(format!(
            "{}: package.metadata.deb.{key}: `$auto` is ignored (wharf does not run dpkg-shlibdeps); list the shared-library dependencies explicitly, e.g. \"libc6 (>= 2.31)\"",
            path.display()
        ));
    }
    Ok(rest)
}

fn binaries(root: &Table, dir: &Path, name: &str) -> Vec<String> {
    let mut bins: Vec<String> = root
        .get("bin")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|b| b.get("name").and_then(Value::as_str).map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if bins.is_empty() && dir.join("src/main.rs").is_file() {
        bins.push(name.to_owned());
    }
    if let Ok(entries) = std::fs::read_dir(dir.join("src/bin")) {
        let mut extra: Vec<String> = entries
            .filter_map(Result::ok)
            .filter_map(|e| {
                e.file_name()
                    .to_str()
                    .and_then(|n| n.strip_suffix(".rs"))
                    .map(str::to_owned)
            })
            .filter(|n| !bins.contains(n))
            .collect();
        extra.sort();
        bins.extend(extra);
    }
    bins
}

/// Expands a `*` in the last component of a source path (relative to `dir`).
fn expand(src: &str, dir: &Path) -> Vec<PathBuf> {
    let (parent, pattern) = src.rsplit_once('/').map_or(("", src), |(p, f)| (p, f));
    if !pattern.contains('*') {
        return vec![PathBuf::from(src)];
    }
    let Ok(entries) = std::fs::read_dir(dir.join(parent)) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| wildcard(pattern, n))
        .map(|n| {
            if parent.is_empty() {
                PathBuf::from(n)
            } else {
                Path::new(parent).join(n)
            }
        })
        .collect();
    out.sort();
    out
}

fn wildcard(pattern: &str, name: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == name,
        Some((head, tail)) => {
            name.starts_with(head)
                && (0..=name.len() - head.len()).any(|i| {
                    let rest = &name[head.len() + i..];
                    wildcard(tail, rest) && name.is_char_boundary(head.len() + i)
                })
        }
    }
}

pub(crate) fn load(
    path: &Path,
    text: &str,
    dir: PathBuf,
    target_dir: PathBuf,
) -> Result<Project, ConfigError> {
    let root: Table = text.parse().map_err(|e: toml::de::Error| ConfigError::Syntax {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    let Some(package) = root.get("package").and_then(Value::as_table) else {
        return Err(value_err(
            path,
            "package",
            "this Cargo.toml has no [package] (a virtual workspace?); pass the member's Cargo.toml with -c, or write a wharf.toml",
        ));
    };
    let ws_root = workspace_root(&dir);
    let workspace = std::fs::read_to_string(ws_root.join("Cargo.toml"))
        .ok()
        .and_then(|t| t.parse::<Table>().ok())
        .and_then(|t| t.get("workspace")?.get("package")?.as_table().cloned());
    let ctx = Ctx {
        path,
        package,
        workspace,
    };
    let empty = Table::new();
    let deb = package
        .get("metadata")
        .and_then(|m| m.get("deb"))
        .and_then(Value::as_table)
        .unwrap_or(&empty);
    let mut warnings = Vec::new();
    for k in deb.keys() {
        if !HONOURED.contains(&k.as_str()) && !IGNORED.contains(&k.as_str()) {
            warnings.push(format!(
                "{}: package.metadata.deb.{k} is a cargo-deb key wharf does not honour; it is ignored (see wharf's README for the equivalent)",
                path.display()
            ));
        }
    }

    let gen_rpm = match package.get("metadata").and_then(|m| m.get("generate-rpm")) {
        None => GenerateRpm::default(),
        Some(Value::Table(t)) => generate_rpm(path, t, &dir, &mut warnings)?,
        Some(_) => {
            return Err(value_err(
                path,
                "package.metadata.generate-rpm",
                "expected a table",
            ));
        }
    };

    let crate_name = ctx
        .string("name")?
        .ok_or_else(|| value_err(path, "package.name", "missing"))?;
    let name_text = meta_string(path, deb, "name")?
        .or_else(|| gen_rpm.name.clone())
        .unwrap_or_else(|| crate_name.replace('_', "-").to_lowercase());
    let name: PackageName = name_text.parse().map_err(|e| {
        value_err(
            path,
            "package.metadata.deb.name",
            format!("{e}; set a valid Debian name there"),
        )
    })?;
    let cargo_version = ctx.string("version")?.unwrap_or_else(|| "0.0.0".into());
    let revision = match deb.get("revision") {
        None => Some(gen_rpm.release.clone().unwrap_or_else(|| "1".to_owned())),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => {
            return Err(value_err(
                path,
                "package.metadata.deb.revision",
                "expected a string",
            ));
        }
    };
    let version = debianize_version(&cargo_version, revision.as_deref());
    let version = match gen_rpm.epoch {
        Some(e) if e > 0 => format!("{e}:{version}"),
        _ => version,
    };
    let version: Version = version
        .parse()
        .map_err(|e| value_err(path, "package.version", format!("{e}")))?;
    let authors = ctx.strings("authors")?;
    let maintainer = match meta_string(path, deb, "maintainer")? {
        Some(m) => m,
        None => authors.first().cloned().ok_or_else(|| {
            value_err(
                path,
                "package.metadata.deb.maintainer",
                "no maintainer: set it (\"Name <email>\") or package.authors",
            )
        })?,
    };
    let description = ctx.string("description")?.unwrap_or_default();
    let summary = description.lines().next().unwrap_or("").trim().to_owned();
    if summary.is_empty() {
        return Err(value_err(
            path,
            "package.description",
            "a one-line description is needed for the package summary",
        ));
    }
    let extended = match (
        meta_string(path, deb, "extended-description")?,
        meta_string(path, deb, "extended-description-file")?,
    ) {
        (Some(t), _) => t,
        (None, Some(f)) => std::fs::read_to_string(dir.join(&f)).map_err(|e| {
            value_err(
                path,
                "package.metadata.deb.extended-description-file",
                format!("cannot read `{f}`: {e}"),
            )
        })?,
        (None, None) => String::new(),
    };
    let homepage = match ctx.string("homepage")? {
        Some(h) => Some(h),
        None => ctx.string("repository")?,
    };
    let license = ctx.string("license")?;

    // Assets.
    let mut files = Vec::new();
    let default_assets;
    let assets: &[Value] = match deb.get("assets") {
        // cargo-generate-rpm's assets serve when cargo-deb has none.
        None if gen_rpm.assets.is_some() => &[],
        Some(Value::Array(a)) => a,
        Some(_) => {
            return Err(value_err(
                path,
                "package.metadata.deb.assets",
                "expected an array",
            ));
        }
        None => {
            let mut v: Vec<Value> = binaries(&root, &dir, &crate_name)
                .into_iter()
                .map(|b| {
                    Value::Array(vec![
                        format!("target/release/{b}").into(),
                        "usr/bin/".into(),
                        "755".into(),
                    ])
                })
                .collect();
            if let Some(readme) = ctx.string("readme")?.filter(|r| dir.join(r).is_file()) {
                v.push(Value::Array(vec![
                    readme.into(),
                    format!("usr/share/doc/{name}/README").into(),
                    "644".into(),
                ]));
            }
            default_assets = v;
            &default_assets
        }
    };
    files.extend(parse_assets(path, "package.metadata.deb.assets", assets, &dir)?);
    if deb.get("assets").is_none() {
        files.extend(gen_rpm.assets.iter().flatten().cloned());
    }
    if let Some(conf) = deb.get("conf-files") {
        let Some(list) = conf.as_array() else {
            return Err(value_err(
                path,
                "package.metadata.deb.conf-files",
                "expected an array of paths",
            ));
        };
        for c in list.iter().filter_map(Value::as_str) {
            let abs = if c.starts_with('/') {
                c.to_owned()
            } else {
                format!("/etc/{c}")
            };
            let Some(f) = files.iter_mut().find(|f| f.dst.as_str() == abs) else {
                return Err(value_err(
                    path,
                    "package.metadata.deb.conf-files",
                    format!("`{abs}` is not installed by any asset"),
                ));
            };
            f.config = true;
        }
    }
    let mut generated = Vec::new();
    let copyright_dst = InstallPath::parse(&format!("/usr/share/doc/{name}/copyright"))
        .map_err(|e| value_err(path, "package.metadata.deb.name", format!("{e}")))?;
    match deb.get("license-file") {
        Some(v) => {
            let (file, skip) = match v {
                Value::String(s) => (s.clone(), 0),
                Value::Array(a) => (
                    a.first().and_then(Value::as_str).unwrap_or_default().to_owned(),
                    a.get(1)
                        .and_then(|x| x.as_str().and_then(|s| s.parse().ok()).or(x.as_integer()))
                        .unwrap_or(0),
                ),
                _ => {
                    return Err(value_err(
                        path,
                        "package.metadata.deb.license-file",
                        "expected a path",
                    ));
                }
            };
            let text = std::fs::read_to_string(dir.join(&file)).map_err(|e| {
                value_err(
                    path,
                    "package.metadata.deb.license-file",
                    format!("cannot read `{file}`: {e}"),
                )
            })?;
            let kept: String =
                text.lines()
                    .skip(usize::try_from(skip).unwrap_or(0))
                    .fold(String::new(), |mut s, l| {
                        s.push_str(l);
                        s.push('\n');
                        s
                    });
            generated.push((copyright_dst, kept.into_bytes()));
        }
        None => {
            if let Some(l) = &license {
                let holder = meta_string(path, deb, "copyright")?.unwrap_or_else(|| authors.join(", "));
                let holder = if holder.is_empty() {
                    maintainer.clone()
                } else {
                    holder
                };
                generated.push((
                    copyright_dst,
                    copyright_file(name.as_str(), homepage.as_deref(), &holder, l),
                ));
            }
        }
    }
    let mut scripts = BTreeMap::new();
    if let Some(d) = meta_string(path, deb, "maintainer-scripts")? {
        let base = dir.join(&d);
        if !base.is_dir() {
            return Err(value_err(
                path,
                "package.metadata.deb.maintainer-scripts",
                format!("`{d}` is not a directory"),
            ));
        }
        for kind in ScriptKind::ALL {
            if base.join(kind.deb_name()).is_file() {
                scripts.insert(kind, ScriptSource::File(Path::new(&d).join(kind.deb_name())));
            }
        }
    } else {
        scripts.extend(gen_rpm.scripts.clone());
    }
    let relations = Relations {
        depends: relation(path, deb, "depends", &mut warnings)?,
        pre_depends: relation(path, deb, "pre-depends", &mut warnings)?,
        recommends: relation(path, deb, "recommends", &mut warnings)?,
        suggests: relation(path, deb, "suggests", &mut warnings)?,
        conflicts: relation(path, deb, "conflicts", &mut warnings)?,
        breaks: relation(path, deb, "breaks", &mut warnings)?,
        replaces: relation(path, deb, "replaces", &mut warnings)?,
        provides: relation(path, deb, "provides", &mut warnings)?,
        obsoletes: Vec::new(),
    };
    let meta = PackageMeta {
        maintainer,
        summary,
        description: extended,
        homepage,
        license,
        vendor: None,
        section: meta_string(path, deb, "section")?.or_else(|| Some("utils".into())),
        priority: meta_string(path, deb, "priority")?.or_else(|| Some("optional".into())),
        relations,
        family_relations: gen_rpm
            .relations
            .clone()
            .map(|r| (Family::Rpm, r))
            .into_iter()
            .collect(),
        changelog: Vec::new(),
    };
    // Values are written into control files line by line: one with a line break would add a field.
    if let Some((field, why)) = meta.unrepresentable() {
        return Err(value_err(
            path,
            format!("package.metadata.deb.{field} (or [package] {field})"),
            why,
        ));
    }
    let template = PackageTemplate {
        name: name.clone(),
        version,
        arch_all: false,
        meta,
        files,
        generated,
        symlinks: Vec::new(),
        dirs: Vec::new(),
        ghosts: Vec::new(),
        scripts,
        formats: Vec::new(),
        targets: Vec::new(),
    };
    Ok(Project {
        name: name.to_string(),
        dir,
        source: path.to_path_buf(),
        target_dir,
        packages: vec![template],
        formats: vec![wharf_core::Format::Deb],
        deb_compression: DebCompression::default(),
        rpm: crate::RpmConfig::default(),
        ipk_ship_key: false,
        apk: crate::ApkConfig::default(),
        apk3: crate::Apk3Config::default(),
        apt: apt_defaults(name.as_str()),
        publish: PublishConfig::default(),
        release: ReleaseConfig::default(),
        image: crate::ImageSettings::default(),
        ci: crate::CiSettings::default(),
        keys: crate::KeysConfig::default(),
        warnings,
    })
}

/// Assets in cargo-deb's array form (`["source", "dest", "mode"]`) or the table form cargo-deb and
/// cargo-generate-rpm share (`{ source, dest, mode, config, doc, user, group }`). `*` in the last part of
/// a source expands; a destination ending in `/` takes the source's file name.
fn parse_assets(
    path: &Path,
    prefix: &str,
    assets: &[Value],
    dir: &Path,
) -> Result<Vec<FileTemplate>, ConfigError> {
    let mut files = Vec::new();
    for (i, a) in assets.iter().enumerate() {
        let key = format!("{prefix}[{i}]");
        let (src, dst, mode, table) = match a {
            Value::Array(parts) if parts.len() == 3 => {
                (parts[0].as_str(), parts[1].as_str(), parts[2].as_str(), None)
            }
            Value::Table(t) => (
                t.get("source").and_then(Value::as_str),
                t.get("dest").and_then(Value::as_str),
                t.get("mode").and_then(Value::as_str),
                Some(t),
            ),
            _ => (None, None, None, None),
        };
        let (Some(src), Some(dst)) = (src, dst) else {
            return Err(value_err(
                path,
                key,
                "write each asset as [\"source\", \"dest\", \"mode\"] or { source, dest, mode }",
            ));
        };
        let mode = match mode {
            Some(m) => parse_mode(m)
                .ok_or_else(|| value_err(path, &key, "the mode must be octal text, e.g. \"755\""))?,
            None => 0o644,
        };
        let config = match table.and_then(|t| t.get("config")) {
            None | Some(Value::Boolean(false)) => false,
            Some(Value::Boolean(true)) => true,
            Some(Value::String(s)) if s == "noreplace" || s == "missingok" => true,
            Some(_) => {
                return Err(value_err(
                    path,
                    format!("{key}.config"),
                    "expected true, false or \"noreplace\"",
                ));
            }
        };
        let user = table.and_then(|t| t.get("user")).and_then(Value::as_str);
        let group = table.and_then(|t| t.get("group")).and_then(Value::as_str);
        let owner = match (user, group) {
            (None, None) => None,
            (u, g) => Some(
                Owner::new(u.unwrap_or("root"), g.unwrap_or("root"))
                    .map_err(|e| value_err(path, &key, format!("{e}")))?,
            )
            .filter(|o| !o.is_root()),
        };
        let dst_abs = if dst.starts_with('/') {
            dst.to_owned()
        } else {
            format!("/{dst}")
        };
        let sources = expand(src, dir);
        if sources.is_empty() {
            return Err(value_err(path, &key, format!("`{src}` matches no file")));
        }
        if sources.len() > 1 && !dst_abs.ends_with('/') {
            return Err(value_err(
                path,
                &key,
                "a pattern with several matches needs a destination ending in `/`",
            ));
        }
        for s in sources {
            let d = destination(&dst_abs, &s)
                .ok_or_else(|| value_err(path, &key, "cannot derive a file name"))?;
            let dst = InstallPath::parse(&d).map_err(|e| value_err(path, &key, format!("{e}")))?;
            files.push(FileTemplate {
                src: s,
                dst_dir: dst.clone(),
                dst,
                mode,
                mode_given: true,
                config,
                origin: key.clone(),
                owner: owner.clone(),
                allow_outside: false,
            });
        }
    }
    Ok(files)
}

/// What cargo-generate-rpm's `[package.metadata.generate-rpm]` contributes (its README is the reference).
#[derive(Default)]
struct GenerateRpm {
    name: Option<String>,
    release: Option<String>,
    epoch: Option<u32>,
    assets: Option<Vec<FileTemplate>>,
    scripts: BTreeMap<ScriptKind, ScriptSource>,
    relations: Option<Relations>,
}

const GENERATE_RPM_KEYS: &[&str] = &[
    "name",
    "summary",
    "release",
    "epoch",
    "assets",
    "pre_install_script",
    "post_install_script",
    "pre_uninstall_script",
    "post_uninstall_script",
];

/// cargo-generate-rpm's relation tables (`name = "version requirement"`).
const GENERATE_RPM_RELATIONS: [&str; 6] = [
    "requires",
    "conflicts",
    "obsoletes",
    "provides",
    "recommends",
    "suggests",
];

fn generate_rpm(
    path: &Path,
    table: &Table,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<GenerateRpm, ConfigError> {
    let key = |k: &str| format!("package.metadata.generate-rpm.{k}");
    for k in table
        .keys()
        .filter(|k| !GENERATE_RPM_KEYS.contains(&k.as_str()) && !GENERATE_RPM_RELATIONS.contains(&k.as_str()))
    {
        warnings.push(format!(
            "{}: {} is a cargo-generate-rpm key wharf does not honour; it is ignored",
            path.display(),
            key(k)
        ));
    }
    let string = |k: &str| -> Result<Option<String>, ConfigError> {
        match table.get(k) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => Err(value_err(path, key(k), "expected a string")),
        }
    };
    let mut out = GenerateRpm {
        name: string("name")?,
        release: string("release")?,
        ..GenerateRpm::default()
    };
    out.epoch = match table.get("epoch") {
        None => None,
        Some(Value::Integer(e)) => Some(
            u32::try_from(*e)
                .map_err(|_| value_err(path, key("epoch"), "expected a small non-negative number"))?,
        ),
        Some(_) => return Err(value_err(path, key("epoch"), "expected a number")),
    };
    if let Some(a) = table.get("assets") {
        let list = a
            .as_array()
            .ok_or_else(|| value_err(path, key("assets"), "expected an array of tables"))?;
        out.assets = Some(parse_assets(path, &key("assets"), list, dir)?);
    }
    for (k, kind) in [
        ("pre_install_script", ScriptKind::PreInst),
        ("post_install_script", ScriptKind::PostInst),
        ("pre_uninstall_script", ScriptKind::PreRm),
        ("post_uninstall_script", ScriptKind::PostRm),
    ] {
        if let Some(v) = string(k)? {
            // cargo-generate-rpm takes a file path or the script itself.
            let src = if dir.join(&v).is_file() {
                ScriptSource::File(PathBuf::from(v))
            } else {
                ScriptSource::Inline(v)
            };
            out.scripts.insert(kind, src);
        }
    }
    let deps = |k: &str| -> Result<Vec<String>, ConfigError> {
        match table.get(k) {
            None => Ok(Vec::new()),
            Some(Value::Table(t)) => t
                .iter()
                .map(|(name, req)| match req.as_str().map(str::trim) {
                    Some("*" | "") => Ok(name.clone()),
                    Some(req) => Ok(format!("{name} ({req})")),
                    None => Err(value_err(
                        path,
                        key(k),
                        format!("`{name}`: expected a version requirement such as \">= 1.0\" or \"*\""),
                    )),
                })
                .collect(),
            Some(_) => Err(value_err(
                path,
                key(k),
                "expected a table of name = \"version requirement\"",
            )),
        }
    };
    if GENERATE_RPM_RELATIONS.iter().any(|k| table.contains_key(*k)) {
        out.relations = Some(Relations {
            depends: deps("requires")?,
            conflicts: deps("conflicts")?,
            obsoletes: deps("obsoletes")?,
            provides: deps("provides")?,
            recommends: deps("recommends")?,
            suggests: deps("suggests")?,
            ..Relations::default()
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards() {
        assert!(wildcard("*.md", "README.md"));
        assert!(wildcard("a*b*c", "axxbyyc"));
        assert!(!wildcard("*.md", "README.txt"));
        assert!(wildcard("*", "x"));
    }

    #[test]
    fn cargo_deb_metadata() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("debian")).unwrap();
        std::fs::write(dir.path().join("debian/postinst"), "#!/bin/sh\n").unwrap();
        std::fs::write(dir.path().join("app.conf"), "x=1\n").unwrap();
        let text = r#"
[package]
name = "my_app"
version = "2.0.0-beta.1"
authors = ["Ann <ann@example.org>"]
description = "An app"
license = "MIT"
[package.metadata.deb]
depends = "$auto, libssl3"
section = "net"
assets = [["target/release/my_app", "usr/bin/", "755"], ["app.conf", "etc/my-app/app.conf", "644"]]
conf-files = ["/etc/my-app/app.conf"]
maintainer-scripts = "debian/"
systemd-units = { enable = true }
"#;
        let p = load(
            &dir.path().join("Cargo.toml"),
            text,
            dir.path().to_path_buf(),
            PathBuf::from("t"),
        )
        .unwrap();
        let t = &p.packages[0];
        assert_eq!(t.name.as_str(), "my-app");
        assert_eq!(t.version.as_str(), "2.0.0~beta.1-1");
        assert_eq!(t.meta.maintainer, "Ann <ann@example.org>");
        assert_eq!(t.meta.relations.depends, ["libssl3"]);
        assert!(t.files[1].config);
        assert_eq!(t.files[0].dst.as_str(), "/usr/bin/my_app");
        assert!(t.scripts.contains_key(&ScriptKind::PostInst));
        assert_eq!(p.warnings.len(), 2, "{:?}", p.warnings);
        assert!(p.warnings.iter().any(|w| w.contains("systemd-units")));
    }

    #[test]
    fn workspace_inheritance() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("Cargo.toml"),
            "[workspace]\nmembers = [\"app\"]\n[workspace.package]\nversion = \"4.5.6\"\nlicense = \"MIT\"\nauthors = [\"W <w@example.org>\"]\nrepository = \"https://example.org/w\"\n",
        )
        .unwrap();
        let app = dir.path().join("app");
        std::fs::create_dir_all(app.join("src")).unwrap();
        std::fs::write(app.join("src/main.rs"), "fn main() {}").unwrap();
        let text = "[package]\nname = \"app\"\nversion.workspace = true\nlicense.workspace = true\nauthors.workspace = true\nrepository.workspace = true\ndescription = \"d\"\n";
        let p = load(&app.join("Cargo.toml"), text, app.clone(), PathBuf::from("t")).unwrap();
        let t = &p.packages[0];
        assert_eq!(t.version.as_str(), "4.5.6-1");
        assert_eq!(t.meta.license.as_deref(), Some("MIT"));
        assert_eq!(t.meta.maintainer, "W <w@example.org>");
        assert_eq!(t.meta.homepage.as_deref(), Some("https://example.org/w"));
        assert_eq!(t.files[0].src, Path::new("target/release/app"));
        assert_eq!(workspace_root(&app), std::path::absolute(dir.path()).unwrap());
        let missing = load(
            &app.join("Cargo.toml"),
            &text.replace("license.workspace = true\n", "homepage.workspace = true\n"),
            app.clone(),
            PathBuf::from("t"),
        );
        assert!(
            missing
                .unwrap_err()
                .to_string()
                .contains("[workspace.package] does not set it")
        );
    }
}
