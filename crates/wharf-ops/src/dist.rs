//! cargo-dist's output as the build wharf packages (`wharf publish --from-dist dist-manifest.json`): the
//! manifest read as cargo-dist-schema defines it (`cargo-dist-schema/src/lib.rs`: `DistManifest.releases[]
//! .app_version`, `.artifacts` — the ids of its `artifacts{}` entries, each with `kind` (`executable-zip`:
//! "a zip or a tarball" of the executables), `target_triples`, `path` (where it lies on the machine that
//! ran dist), `assets[]` (`kind: "executable"`, `name`, `path` inside the archive) and `checksums.sha256`).
//! Each Linux executable-zip (`.tar.gz`, `.tar.xz`, `.tar.zst`) is checked against its checksum and its
//! executables are unpacked where `cargo build --release --target T` puts them (`<dir>/T/release/<name>`),
//! so the project's packages take them as from its own build.

use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use serde::Deserialize;
use sha2::Digest as _;
use wharf_package::compress::{self, Compression};

/// The most a dist-manifest.json may hold.
const MANIFEST_CEILING: u64 = 16 << 20;
/// The most one unpacked executable may hold.
const EXECUTABLE_CEILING: u64 = 2 << 30;

#[derive(Deserialize)]
struct DistManifest {
    #[serde(default)]
    announcement_tag: Option<String>,
    #[serde(default)]
    releases: Vec<Release>,
    #[serde(default)]
    artifacts: std::collections::BTreeMap<String, Artifact>,
}

#[derive(Deserialize)]
struct Release {
    app_name: String,
    app_version: String,
    #[serde(default)]
    artifacts: Vec<String>,
}

#[derive(Deserialize)]
struct Artifact {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    target_triples: Vec<String>,
    #[serde(default)]
    path: Option<String>,
    #[serde(default)]
    assets: Vec<Asset>,
    #[serde(default)]
    checksums: std::collections::BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Asset {
    #[serde(default)]
    kind: Option<String>,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    path: Option<String>,
}

/// What a dist run built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Built {
    /// The apps' version (cargo-dist releases every app of a workspace at its own version; wharf takes one).
    pub version: String,
    /// The git tag dist announced, if any.
    pub tag: Option<String>,
    /// The Linux targets, in the manifest's order.
    pub targets: Vec<String>,
    /// Every executable unpacked: (target, name).
    pub executables: Vec<(String, String)>,
}

/// Makes `project` take its programs from the dist run `manifest` describes (unpacked into `into`): the
/// targets and version to build (`version`, if given, wins over dist's).
pub fn apply(
    project: &mut wharf_config::Project,
    manifest: &Path,
    into: &Path,
    version: Option<&str>,
    out: &dyn crate::Reporter,
) -> anyhow::Result<(Vec<String>, Option<String>)> {
    let d = unpack(manifest, into)?;
    out.status(
        "Unpacked",
        &format!(
            "{} program(s) of {} from {}",
            d.executables.len(),
            d.version,
            manifest.display()
        ),
    );
    project.target_dir = into.to_path_buf();
    Ok((d.targets, Some(version.map_or(d.version, str::to_owned))))
}

/// Reads the dist manifest at `manifest` and unpacks every Linux executable into `into/<target>/release/`.
pub fn unpack(manifest: &Path, into: &Path) -> anyhow::Result<Built> {
    let f = std::fs::File::open(manifest).with_context(|| format!("cannot read {}", manifest.display()))?;
    let mut bytes = Vec::new();
    f.take(MANIFEST_CEILING + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", manifest.display()))?;
    if bytes.len() as u64 > MANIFEST_CEILING {
        bail!("{} is larger than 16 MiB", manifest.display());
    }
    let m: DistManifest = serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not a cargo-dist manifest", manifest.display()))?;
    let base = manifest.parent().unwrap_or(Path::new("."));
    let versions: std::collections::BTreeSet<&str> =
        m.releases.iter().map(|r| r.app_version.as_str()).collect();
    let version = match versions.len() {
        1 => versions.into_iter().next().unwrap_or_default().to_owned(),
        0 => bail!("{} lists no release", manifest.display()),
        _ => bail!(
            "{} releases apps at several versions ({}); publish one dist run per version",
            manifest.display(),
            versions.into_iter().collect::<Vec<_>>().join(", ")
        ),
    };
    let mut built = Built {
        version,
        tag: m.announcement_tag.clone(),
        targets: Vec::new(),
        executables: Vec::new(),
    };
    for release in &m.releases {
        for id in &release.artifacts {
            let Some(a) = m.artifacts.get(id) else {
                bail!(
                    "{}: release {} names artifact {id}, which it does not list",
                    manifest.display(),
                    release.app_name
                );
            };
            let [target] = &a.target_triples[..] else { continue };
            if a.kind.as_deref() != Some("executable-zip") || !target.contains("-linux") {
                continue;
            }
            // Where dist left it; else beside the manifest (a copy from another machine).
            let archive = a
                .path
                .as_deref()
                .map(PathBuf::from)
                .filter(|p| p.is_file())
                .unwrap_or_else(|| base.join(id));
            let bytes = std::fs::read(&archive).with_context(|| {
                format!(
                    "cannot read {id} ({}), listed in {}",
                    archive.display(),
                    manifest.display()
                )
            })?;
            if let Some(want) = a.checksums.get("sha256") {
                let have = hex::encode(sha2::Sha256::digest(&bytes));
                if !have.eq_ignore_ascii_case(want) {
                    bail!(
                        "{id}: its sha256 is {have}, and the dist manifest says {want}; nothing was published"
                    );
                }
            }
            let names: Vec<(&str, &str)> = a
                .assets
                .iter()
                .filter(|s| s.kind.as_deref() == Some("executable"))
                .filter_map(|s| Some((s.name.as_deref()?, s.path.as_deref()?)))
                .collect();
            let dir = into.join(target).join("release");
            extract(id, &bytes, &names, &dir)?;
            if !built.targets.contains(target) {
                built.targets.push(target.clone());
            }
            built
                .executables
                .extend(names.iter().map(|(n, _)| (target.clone(), (*n).to_owned())));
        }
    }
    if built.executables.is_empty() {
        bail!(
            "{} has no Linux executable archive (executable-zip) to package",
            manifest.display()
        );
    }
    Ok(built)
}

/// Unpacks the `executables` (name, path in the archive — with or without the archive's top directory)
/// of the tarball `id` into `dir/<name>`, mode 0755.
fn extract(id: &str, bytes: &[u8], executables: &[(&str, &str)], dir: &Path) -> anyhow::Result<()> {
    let c = [
        ("tar.gz", Compression::Gzip),
        ("tgz", Compression::Gzip),
        ("tar.xz", Compression::Xz),
        ("tar.zst", Compression::Zstd),
        ("tar", Compression::None),
    ]
    .into_iter()
    .find(|(ext, _)| id.ends_with(&format!(".{ext}")))
    .map(|(_, c)| c)
    .with_context(|| {
        format!(
            "{id}: wharf reads dist's tarballs (.tar.gz, .tar.xz, .tar.zst); set unix-archive to one of them"
        )
    })?;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut archive = tar::Archive::new(compress::decoder(bytes, c)?);
    let mut found = vec![false; executables.len()];
    for entry in archive
        .entries()
        .with_context(|| format!("{id} is not a tarball"))?
    {
        let entry = entry.with_context(|| format!("{id}: a damaged entry"))?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .with_context(|| format!("{id}: an entry's name"))?
            .to_string_lossy()
            .into_owned();
        let path = path.trim_start_matches("./");
        let Some(i) = executables
            .iter()
            .position(|(_, p)| path == *p || path.split_once('/').is_some_and(|(_, rest)| rest == *p))
        else {
            continue;
        };
        let size = entry.header().size().unwrap_or(u64::MAX);
        if size > EXECUTABLE_CEILING {
            bail!("{id}: {path} says it holds {size} bytes, more than wharf unpacks");
        }
        let name = executables[i].0;
        if name.contains('/') || name.starts_with('.') {
            bail!("{id}: the executable name `{name}` is not a file name");
        }
        let out = dir.join(name);
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
        entry
            .take(size)
            .read_to_end(&mut data)
            .with_context(|| format!("{id}: {path}"))?;
        std::fs::write(&out, &data).with_context(|| format!("cannot write {}", out.display()))?;
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o755))?;
        found[i] = true;
    }
    if let Some(i) = found.iter().position(|f| !f) {
        bail!(
            "{id} does not hold {}, which the dist manifest lists",
            executables[i].1
        );
    }
    Ok(())
}
