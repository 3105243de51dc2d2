//! `wharf image`: an OCI image per target from the project's packages (their files in one layer, on
//! `scratch` or a base image named by digest), the image index over every platform, written as an OCI image
//! layout (image-layout.md: `oci-layout`, `index.json` naming the index by its tag, `blobs/sha256/`), an
//! `oci-archive`, a `docker load` archive, and pushed to registries ([`crate::registry`]): every blob and
//! manifest of every reference first, the tags last.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use wharf_config::Project;
use wharf_core::{Arch, PackageSpec, SourceDate};
use wharf_package::oci::{self, Base, Blob, Descriptor, Document, ImageConfig, Platform, PlatformImage};
use wharf_package::splice::Payloads;

use crate::Reporter;
use crate::registry::{self, Connect, Pushed, Reference, Registry};

/// An image of every platform.
pub struct Image {
    pub platforms: Vec<PlatformImage>,
    pub index: Blob,
    /// Each platform's SBOM as an OCI artifact: its empty config, the SBOM, its manifest (whose subject is
    /// the platform's manifest).
    pub referrers: Vec<Referrer>,
}

/// An artifact about one platform's image.
pub struct Referrer {
    pub config: Blob,
    pub sbom: Blob,
    pub manifest: Blob,
    /// The image manifest it refers to.
    pub subject: String,
}

impl Image {
    /// Every blob, once, in upload order (layers before configs).
    #[must_use]
    pub fn blobs(&self) -> Vec<&Blob> {
        let mut seen = std::collections::BTreeSet::new();
        let mut v = Vec::new();
        for p in &self.platforms {
            for b in p.blobs() {
                if seen.insert(b.descriptor.digest.as_str()) {
                    v.push(b);
                }
            }
        }
        v
    }
}

/// What an image is built from besides the packages.
pub struct Options<'a> {
    pub targets: &'a [String],
    pub version: &'a str,
    /// The commit (`org.opencontainers.image.revision`).
    pub revision: Option<&'a str>,
    pub date: SourceDate,
    /// How to reach a base image's registry.
    pub connect: &'a Connect,
}

/// Where a base image is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BaseRef {
    /// No base.
    Scratch,
    /// An OCI layout on disk; the image chosen by digest or by its `ref.name` (the only one when neither).
    Layout { dir: PathBuf, pick: Option<String> },
    /// A registry's image, by digest.
    Registry { reference: Reference, digest: String },
}

impl BaseRef {
    /// Parses `[image] base`: `scratch`, `oci:DIR[@sha256:…|:TAG]` or `[http://]REGISTRY/NAME@sha256:…`.
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        if s.is_empty() || s == "scratch" {
            return Ok(Self::Scratch);
        }
        if let Some(rest) = s.strip_prefix("oci:") {
            let (dir, pick) = match rest.rsplit_once('@') {
                Some((d, digest)) => (d, Some(digest.to_owned())),
                None => match rest.rsplit_once(':') {
                    Some((d, tag)) if !tag.contains('/') => (d, Some(tag.to_owned())),
                    _ => (rest, None),
                },
            };
            return Ok(Self::Layout {
                dir: PathBuf::from(dir),
                pick,
            });
        }
        let Some((name, digest)) = s.rsplit_once('@') else {
            bail!(
                "[image] base `{s}`: name the base image by digest (`REGISTRY/NAME@sha256:…`), so every build uses the same one"
            );
        };
        if !oci::valid_digest(digest) {
            bail!("[image] base `{s}`: `{digest}` is not a sha256 digest");
        }
        Ok(Self::Registry {
            reference: Reference::parse(name)?,
            digest: digest.to_owned(),
        })
    }
}

/// Reads an OCI layout's file `name` (at most `limit` bytes).
fn read_bounded(path: &Path, limit: u64) -> anyhow::Result<Vec<u8>> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut bytes = Vec::new();
    f.take(limit + 1)
        .read_to_end(&mut bytes)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if bytes.len() as u64 > limit {
        bail!("{} is larger than the {limit} bytes it may be", path.display());
    }
    Ok(bytes)
}

/// Where a base image's documents and blobs are read.
enum Source {
    Layout(PathBuf),
    Registry(Box<Registry>),
}

impl Source {
    /// A manifest or index (at most [`registry::MANIFEST_CEILING`]), checked against `digest`.
    fn manifest(&self, digest: &str) -> anyhow::Result<Vec<u8>> {
        match self {
            Self::Layout(_) => self.blob(digest, registry::MANIFEST_CEILING),
            Self::Registry(r) => Ok(r.get_manifest(digest)?.1),
        }
    }

    /// A blob of at most `limit` bytes, checked against `digest`.
    fn blob(&self, digest: &str, limit: u64) -> anyhow::Result<Vec<u8>> {
        match self {
            Self::Layout(dir) => {
                let path = dir
                    .join("blobs/sha256")
                    .join(digest.trim_start_matches("sha256:"));
                let bytes = read_bounded(&path, limit)?;
                registry::check_digest(&bytes, digest).with_context(|| format!("{}", path.display()))?;
                Ok(bytes)
            }
            Self::Registry(r) => r.get_blob(digest, limit),
        }
    }
}

/// The base image `base` names, for `platform` (`None` for `scratch`).
pub fn resolve_base(base: &BaseRef, platform: &Platform, connect: &Connect) -> anyhow::Result<Option<Base>> {
    let (name, source, root) = match base {
        BaseRef::Scratch => return Ok(None),
        BaseRef::Layout { dir, pick } => {
            let index = read_bounded(&dir.join("index.json"), registry::MANIFEST_CEILING)?;
            let Document::Index(list) =
                oci::read_document(&index).with_context(|| format!("{}/index.json", dir.display()))?
            else {
                bail!("{}/index.json is not an image index", dir.display());
            };
            let found: Vec<&Descriptor> = list
                .iter()
                .filter(|d| match pick {
                    Some(p) if p.starts_with("sha256:") => &d.digest == p,
                    Some(p) => d.annotations.get("org.opencontainers.image.ref.name") == Some(p),
                    None => true,
                })
                .collect();
            let [one] = found[..] else {
                bail!(
                    "the OCI layout {} has {} images {}; name one (`oci:DIR@sha256:…` or `oci:DIR:TAG`)",
                    dir.display(),
                    found.len(),
                    pick.as_ref().map_or_else(String::new, |p| format!("named `{p}`"))
                );
            };
            (
                format!("oci:{}", dir.display()),
                Source::Layout(dir.clone()),
                one.digest.clone(),
            )
        }
        BaseRef::Registry { reference, digest } => (
            format!("{}@{digest}", reference.repository()),
            Source::Registry(Box::new(Registry::new(reference, connect, &[])?)),
            digest.clone(),
        ),
    };
    let read_doc = |digest: &str| -> anyhow::Result<Document> {
        let bytes = source.manifest(digest)?;
        oci::read_document(&bytes).with_context(|| format!("{name}: {digest}"))
    };
    let doc = match read_doc(&root)? {
        Document::Index(list) => read_doc(&oci::select(&list, platform, &name)?.digest)?,
        manifest => manifest,
    };
    let Document::Manifest { config, layers } = doc else {
        bail!("{name}: an index inside an index is not an image");
    };
    let config_bytes = source.blob(&config.digest, config.size.min(registry::MANIFEST_CEILING))?;
    let config: serde_json::Value =
        serde_json::from_slice(&config_bytes).with_context(|| format!("{name}: its config is not JSON"))?;
    let layers = layers
        .into_iter()
        .map(|d| {
            let bytes = source.blob(&d.digest, d.size.min(registry::BLOB_CEILING))?;
            Ok(Blob { descriptor: d, bytes })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let base = Base { name, config, layers };
    oci::check_base(&base, platform)?;
    Ok(Some(base))
}

/// Builds the image of `project` for `o.targets` (the host when none): the packages `[image]` names (every
/// one by default, architecture-independent ones too) in its layer, on `[image] base`; `[image]`'s run
/// configuration, the entrypoint by default the first program under `/usr/bin`.
pub fn build(project: &Project, o: &Options<'_>, out: &dyn Reporter) -> anyhow::Result<Image> {
    let targets: Vec<Option<&str>> = if o.targets.is_empty() {
        vec![None]
    } else {
        o.targets.iter().map(|t| Some(t.as_str())).collect()
    };
    let settings = &project.image;
    let base = match BaseRef::parse(settings.base.as_deref().unwrap_or(""))? {
        BaseRef::Layout { dir, pick } => BaseRef::Layout {
            dir: project.dir.join(dir),
            pick,
        },
        other => other,
    };
    let mut labels = BTreeMap::new();
    let mut label = |k: &str, v: &str| labels.insert(format!("org.opencontainers.image.{k}"), v.to_owned());
    label("title", &project.name);
    label("version", o.version);
    label("created", &o.date.rfc3339());
    if let Some(r) = o.revision {
        label("revision", r);
    }
    if let Some(home) = project.packages.first().and_then(|p| p.meta.homepage.as_deref()) {
        label("url", home);
        label("source", home);
    }
    if let BaseRef::Registry { reference, digest } = &base {
        label("base.name", &reference.repository());
        label("base.digest", digest);
    }
    labels.extend(settings.labels.clone());
    if let Some(p) = settings
        .packages
        .iter()
        .find(|p| !project.packages.iter().any(|t| t.name.as_str() == p.as_str()))
    {
        bail!("[image] packages: `{p}` is not one of this project's packages");
    }
    let payloads = Payloads::new();
    let mut platforms = Vec::new();
    for target in targets {
        let one: Vec<String> = target.map(str::to_owned).into_iter().collect();
        let mut specs: Vec<PackageSpec> = crate::package::resolve(project, &one, out)?;
        if !settings.packages.is_empty() {
            specs.retain(|s| settings.packages.iter().any(|p| p.as_str() == s.name.as_str()));
        }
        let arch = match target {
            Some(t) => Arch::from_triple(t)?,
            None => Arch::host()?,
        };
        let platform = oci::platform(arch.deb())
            .with_context(|| format!("no OCI platform for the {} architecture", arch.deb()))?;
        let base_image = resolve_base(&base, &platform, o.connect)?;
        let entrypoint: Vec<String> = if settings.entrypoint.is_empty() {
            specs
                .iter()
                .flat_map(|s| &s.files)
                .map(|f| f.path.as_str())
                .find(|p| p.starts_with("/usr/bin/"))
                .map(|p| vec![p.to_owned()])
                .unwrap_or_default()
        } else {
            settings.entrypoint.clone()
        };
        let config = ImageConfig {
            entrypoint,
            cmd: settings.cmd.clone(),
            env: settings.env.clone(),
            exposed_ports: settings.ports.clone(),
            user: settings.user.clone(),
            working_dir: settings.workdir.clone(),
            labels: labels.clone(),
            sbom: settings.sbom,
        };
        let refs: Vec<&PackageSpec> = specs.iter().collect();
        let image = oci::platform_image(&refs, &platform, &config, base_image.as_ref(), o.date, &payloads)?;
        out.status(
            "Built",
            &format!("image for {platform} ({})", image.manifest.descriptor.digest),
        );
        platforms.push(image);
    }
    let index = oci::index(&platforms, &labels)?;
    let referrers = platforms
        .iter()
        .filter_map(|p| p.sbom.as_ref().map(|s| (p, s)))
        .map(|(p, sbom)| {
            let (config, manifest) = oci::referrer(sbom, &p.manifest.descriptor, o.date)?;
            Ok(Referrer {
                config,
                sbom: sbom.clone(),
                manifest,
                subject: p.manifest.descriptor.digest.clone(),
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    Ok(Image {
        platforms,
        index,
        referrers,
    })
}

/// `oci-layout`'s contents.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A layout's `index.json` (naming the image index `tag`) and every blob.
fn layout_files<'i>(image: &'i Image, tag: &str) -> anyhow::Result<(Vec<u8>, Vec<&'i Blob>)> {
    let mut blobs = image.blobs();
    blobs.extend(image.platforms.iter().map(|p| &p.manifest));
    blobs.push(&image.index);
    for r in &image.referrers {
        blobs.extend([&r.config, &r.sbom, &r.manifest]);
    }
    let mut top = image.index.descriptor.clone();
    top.platform = None;
    top.annotations
        .insert("org.opencontainers.image.ref.name".to_owned(), tag.to_owned());
    // The SBOM artifacts are listed too (image-layout.md lets index.json name any manifest).
    let mut manifests = vec![top];
    manifests.extend(image.referrers.iter().map(|r| r.manifest.descriptor.clone()));
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::INDEX,
        "manifests": manifests,
    }))?;
    Ok((index, blobs))
}

/// Writes `image` as an OCI image layout in `dir`, its index named `tag`.
pub fn write_layout(image: &Image, dir: &Path, tag: &str) -> anyhow::Result<()> {
    let blob_dir = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blob_dir).with_context(|| format!("cannot create {}", blob_dir.display()))?;
    let (index, blobs) = layout_files(image, tag)?;
    for b in blobs {
        let path = blob_dir.join(b.descriptor.digest.trim_start_matches("sha256:"));
        std::fs::write(&path, &b.bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let write = |name: &str, bytes: &[u8]| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write("index.json", &index)?;
    write("oci-layout", OCI_LAYOUT)?;
    Ok(())
}

/// A tar of `entries` (name, bytes; written in the given order, directories for every parent), every
/// mtime `mtime`, written to `file` through a temporary name.
fn write_tar(file: &Path, entries: &[(String, &[u8])], mtime: u64) -> anyhow::Result<()> {
    let tmp = file.with_extension("tmp-wharf");
    let result = (|| -> anyhow::Result<()> {
        let f = std::io::BufWriter::new(
            std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?,
        );
        let mut tar = wharf_package::tar::TarWriter::new(f);
        let mut dirs = std::collections::BTreeSet::new();
        for (name, bytes) in entries {
            let mut at = 0;
            while let Some(slash) = name[at..].find('/') {
                let dir = &name[..at + slash + 1];
                if dirs.insert(dir.to_owned()) {
                    tar.dir(dir, 0o755, mtime)?;
                }
                at += slash + 1;
            }
            tar.file(name, 0o644, mtime, bytes.len() as u64, &mut &bytes[..])?;
        }
        tar.finish()?;
        Ok(())
    })();
    match result {
        Ok(()) => std::fs::rename(&tmp, file).with_context(|| format!("cannot write {}", file.display())),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// The OCI layout of `image` as one tar (`oci-archive:`), its index named `tag`.
pub fn write_oci_archive(image: &Image, file: &Path, tag: &str, date: SourceDate) -> anyhow::Result<()> {
    let (index_json, blobs) = layout_files(image, tag)?;
    let mut entries: Vec<(String, &[u8])> = vec![
        ("oci-layout".to_owned(), OCI_LAYOUT),
        ("index.json".to_owned(), &index_json),
    ];
    for b in &blobs {
        entries.push((
            format!(
                "blobs/sha256/{}",
                b.descriptor.digest.trim_start_matches("sha256:")
            ),
            &b.bytes,
        ));
    }
    write_tar(file, &entries, u64::try_from(date.unix()).unwrap_or(0))
}

/// The first platform of `image` as `docker save` writes an image (`docker-archive:`, `docker load`):
/// `manifest.json`, the config, each layer uncompressed.
pub fn write_docker_archive(
    image: &Image,
    file: &Path,
    repo_tag: &str,
    date: SourceDate,
) -> anyhow::Result<()> {
    let p = image.platforms.first().context("no platform to write")?;
    let mut layers: Vec<(String, Vec<u8>)> = Vec::new();
    for l in p.base_layers.iter().chain([&p.layer]) {
        let tar = match l.descriptor.media_type.as_str() {
            oci::LAYER_TAR => l.bytes.clone(),
            oci::LAYER => {
                let mut tar = Vec::new();
                flate2::read::GzDecoder::new(&l.bytes[..])
                    .read_to_end(&mut tar)
                    .with_context(|| format!("layer {}", l.descriptor.digest))?;
                tar
            }
            other => bail!(
                "a docker archive cannot hold the `{other}` layer {}",
                l.descriptor.digest
            ),
        };
        let hex = {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(&tar))
        };
        layers.push((format!("{hex}/layer.tar"), tar));
    }
    let config_name = format!(
        "{}.json",
        p.config.descriptor.digest.trim_start_matches("sha256:")
    );
    let names: Vec<&str> = layers.iter().map(|(n, _)| n.as_str()).collect();
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": [repo_tag],
        "Layers": names,
    }]))?;
    let mut entries: Vec<(String, &[u8])> = vec![(config_name.clone(), &p.config.bytes)];
    entries.extend(layers.iter().map(|(n, b)| (n.clone(), &b[..])));
    entries.push(("manifest.json".to_owned(), &manifest));
    write_tar(file, &entries, u64::try_from(date.unix()).unwrap_or(0))
}

/// Pushes to several references: [`Pusher::push`] everything but the tags, then [`Pusher::tag`].
pub struct Pusher {
    sessions: Vec<(Reference, Registry)>,
}

impl Pusher {
    /// Opens a session with each reference's registry; `base` is the base image's repository, which blobs
    /// may be mounted from on the same registry.
    pub fn new(
        references: &[Reference],
        connect: &Connect,
        base: Option<&Reference>,
    ) -> anyhow::Result<Self> {
        let sessions = references
            .iter()
            .enumerate()
            .map(|(i, r)| {
                // Earlier references on the same registry hold the blobs by the time this one is pushed.
                let mut from: Vec<String> = references[..i]
                    .iter()
                    .chain(base)
                    .filter(|o| o.host == r.host && o.name != r.name)
                    .map(|o| o.name.clone())
                    .collect();
                from.dedup();
                Ok((r.clone(), Registry::new(r, connect, &from)?))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Self { sessions })
    }

    /// Sends every blob each registry lacks (mounted where another repository of it holds the blob), every
    /// platform's manifest and the index, all by digest: nothing a tag names yet.
    pub fn push(
        &self,
        image: &Image,
        base: Option<&Reference>,
        out: &dyn Reporter,
    ) -> anyhow::Result<Vec<Pushed>> {
        let blobs = image.blobs();
        let base_layers: std::collections::BTreeSet<&str> = image
            .platforms
            .iter()
            .flat_map(|p| &p.base_layers)
            .map(|b| b.descriptor.digest.as_str())
            .collect();
        let mut all = Vec::new();
        for (i, (r, registry)) in self.sessions.iter().enumerate() {
            let earlier = self.sessions[..i]
                .iter()
                .map(|(o, _)| o)
                .find(|o| o.host == r.host && o.name != r.name);
            let from = |digest: &str| {
                earlier.map(|o| o.name.clone()).or_else(|| {
                    base.filter(|b| b.host == r.host && base_layers.contains(digest))
                        .map(|b| b.name.clone())
                })
            };
            let mut pushed = registry.send_blobs(&blobs, &from)?;
            for d in &pushed.uploaded {
                out.detail(&format!("uploaded {d} to {}", r.repository()));
            }
            for p in &image.platforms {
                registry.put_manifest(&p.manifest, &p.manifest.descriptor.digest)?;
            }
            registry.put_manifest(&image.index, &image.index.descriptor.digest)?;
            push_referrers(registry, image)?;
            pushed.requests = registry.requests();
            all.push(pushed);
        }
        Ok(all)
    }

    /// Puts `index` under `tags` in every repository (`None`: each reference's own tag): the last step,
    /// after [`Pusher::push`].
    pub fn tag(&self, index: &Blob, tags: Option<&[String]>, out: &dyn Reporter) -> anyhow::Result<()> {
        for (r, registry) in &self.sessions {
            for t in tags.unwrap_or(std::slice::from_ref(&r.tag)) {
                registry.put_manifest(index, t)?;
                out.status(
                    "Pushed",
                    &format!("{}:{t} ({})", r.repository(), index.descriptor.digest),
                );
            }
        }
        Ok(())
    }

    /// Puts the index already pushed as `digest` under `tags` in every repository (a draft release made
    /// public).
    pub fn retag(&self, digest: &str, tags: &[String], out: &dyn Reporter) -> anyhow::Result<()> {
        for (r, registry) in &self.sessions {
            let (media, bytes) = registry.get_manifest(digest)?;
            let blob = Blob {
                descriptor: oci::Descriptor {
                    media_type: if media.is_empty() {
                        oci::INDEX.to_owned()
                    } else {
                        media
                    },
                    digest: digest.to_owned(),
                    size: bytes.len() as u64,
                    platform: None,
                    artifact_type: None,
                    annotations: BTreeMap::new(),
                },
                bytes,
            };
            for t in tags {
                registry.put_manifest(&blob, t)?;
                out.status("Pushed", &format!("{}:{t} ({digest})", r.repository()));
            }
        }
        Ok(())
    }
}

/// `version` as an image tag: Debian's `~` becomes `-` and `+` becomes `_` (`1.3.0~rc.1` → `1.3.0-rc.1`).
pub fn tag_of(version: &str) -> anyhow::Result<String> {
    let tag = version.replace('~', "-").replace('+', "_").replace(':', "-");
    if !registry::valid_tag(&tag) {
        bail!("version `{version}` cannot be an image tag (`{tag}`)");
    }
    Ok(tag)
}

/// The tags `[image] tags` gives a release (`{version}`, `{channel}`), each checked.
pub fn release_tags(project: &Project, version: &str, channel: &str) -> anyhow::Result<Vec<String>> {
    let templates = if project.image.tags.is_empty() {
        vec!["{version}".to_owned()]
    } else {
        project.image.tags.clone()
    };
    let version = tag_of(version)?;
    templates
        .iter()
        .map(|t| {
            let tag = t.replace("{version}", &version).replace("{channel}", channel);
            if !registry::valid_tag(&tag) {
                bail!("[image] tags: `{t}` makes `{tag}`, which is not an image tag");
            }
            Ok(tag)
        })
        .collect()
}

/// Pushes each SBOM artifact (its blobs, its manifest by digest) and, for registries without the referrers
/// API, the referrers tag schema's index (distribution-spec v1.1, "Referrers Tag Schema": an image index
/// tagged `sha256-<hex of the subject>` listing the artifacts about it).
fn push_referrers(registry: &Registry, image: &Image) -> anyhow::Result<()> {
    for r in &image.referrers {
        registry.send_blobs(&[&r.config, &r.sbom], &|_| None)?;
        registry.put_manifest(&r.manifest, &r.manifest.descriptor.digest)?;
        let tag = r.subject.replace(':', "-");
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": oci::INDEX,
            "manifests": [r.manifest.descriptor],
        }))?;
        let digest = format!("sha256:{}", {
            use sha2::Digest as _;
            hex::encode(sha2::Sha256::digest(&index))
        });
        let blob = Blob {
            descriptor: oci::Descriptor {
                media_type: oci::INDEX.to_owned(),
                digest,
                size: index.len() as u64,
                platform: None,
                artifact_type: None,
                annotations: BTreeMap::new(),
            },
            bytes: index,
        };
        registry.put_manifest(&blob, &tag)?;
    }
    Ok(())
}

/// The base image's repository, when it is a registry's.
#[must_use]
pub fn base_repository(project: &Project) -> Option<Reference> {
    match BaseRef::parse(project.image.base.as_deref().unwrap_or("")) {
        Ok(BaseRef::Registry { reference, .. }) => Some(reference),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_references() {
        assert_eq!(BaseRef::parse("scratch").unwrap(), BaseRef::Scratch);
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            BaseRef::parse(&format!("oci:/x/y@{d}")).unwrap(),
            BaseRef::Layout {
                dir: "/x/y".into(),
                pick: Some(d.clone())
            }
        );
        assert_eq!(
            BaseRef::parse("oci:layout:1.0").unwrap(),
            BaseRef::Layout {
                dir: "layout".into(),
                pick: Some("1.0".into())
            }
        );
        assert!(matches!(
            BaseRef::parse(&format!("http://127.0.0.1:5000/base@{d}")).unwrap(),
            BaseRef::Registry { reference, .. } if reference.plain_http
        ));
        assert!(BaseRef::parse("registry.example/base:1").is_err());
        assert!(BaseRef::parse("registry.example/base@sha256:00").is_err());
    }
}
