//! `wharf image`: an OCI image per target from the project's packages (their files in one layer, no base:
//! `scratch`), the image index over every platform, written as an OCI image layout (image-layout.md:
//! `oci-layout`, `index.json` naming the index by its tag, `blobs/sha256/`) and pushed to registries
//! ([`crate::registry`]).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use wharf_config::Project;
use wharf_core::{Arch, PackageSpec, SourceDate};
use wharf_package::oci::{self, Blob, ImageConfig, PlatformImage};
use wharf_package::splice::Payloads;

use crate::Reporter;
use crate::registry::{Pushed, Reference, Registry};

/// An image of every platform.
pub struct Image {
    pub platforms: Vec<PlatformImage>,
    pub index: Blob,
}

/// Builds the image of `project` for `targets` (the host when none): the packages `[image]` names (every
/// one by default, architecture-independent ones too) in its layer; `[image]`'s run configuration, the
/// entrypoint by default the first program under `/usr/bin`.
pub fn build(
    project: &Project,
    targets: &[String],
    version: &str,
    date: SourceDate,
    out: &dyn Reporter,
) -> anyhow::Result<Image> {
    let targets: Vec<Option<&str>> = if targets.is_empty() {
        vec![None]
    } else {
        targets.iter().map(|t| Some(t.as_str())).collect()
    };
    let mut labels = BTreeMap::new();
    labels.insert("org.opencontainers.image.title".to_owned(), project.name.clone());
    labels.insert("org.opencontainers.image.version".to_owned(), version.to_owned());
    labels.insert("org.opencontainers.image.created".to_owned(), date.rfc3339());
    if let Some(home) = project.packages.first().and_then(|p| p.meta.homepage.clone()) {
        labels.insert("org.opencontainers.image.url".to_owned(), home);
    }
    let settings = &project.image;
    labels.extend(settings.labels.clone());
    if let Some(p) = settings
        .packages
        .iter()
        .find(|p| !project.packages.iter().any(|t| t.name.as_str() == p.as_str()))
    {
        anyhow::bail!("[image] packages: `{p}` is not one of this project's packages");
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
        };
        let refs: Vec<&PackageSpec> = specs.iter().collect();
        let image = oci::platform_image(&refs, &platform, &config, date, &payloads)?;
        out.status(
            "Built",
            &format!("image for {} ({})", arch.deb(), image.manifest.descriptor.digest),
        );
        platforms.push(image);
    }
    let index = oci::index(&platforms, &labels)?;
    Ok(Image { platforms, index })
}

/// `oci-layout`'s contents.
const OCI_LAYOUT: &[u8] = br#"{"imageLayoutVersion":"1.0.0"}"#;

/// A layout's `index.json` (naming the image index `tag`) and every blob.
fn layout_files<'i>(image: &'i Image, tag: &str) -> anyhow::Result<(Vec<u8>, Vec<&'i Blob>)> {
    let mut blobs: Vec<&Blob> = vec![&image.index];
    for p in &image.platforms {
        blobs.extend([&p.layer, &p.config, &p.manifest]);
    }
    let mut top = image.index.descriptor.clone();
    top.platform = None;
    top.annotations
        .insert("org.opencontainers.image.ref.name".to_owned(), tag.to_owned());
    let index = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::INDEX,
        "manifests": [top],
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
/// `manifest.json`, the config, the layer uncompressed.
pub fn write_docker_archive(
    image: &Image,
    file: &Path,
    repo_tag: &str,
    date: SourceDate,
) -> anyhow::Result<()> {
    let p = image.platforms.first().context("no platform to write")?;
    let mut layer = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&p.layer.bytes[..]), &mut layer)
        .context("the layer")?;
    let layer_hex = {
        use sha2::Digest as _;
        hex::encode(sha2::Sha256::digest(&layer))
    };
    let config_name = format!(
        "{}.json",
        p.config.descriptor.digest.trim_start_matches("sha256:")
    );
    let layer_name = format!("{layer_hex}/layer.tar");
    let manifest = serde_json::to_vec(&serde_json::json!([{
        "Config": config_name,
        "RepoTags": [repo_tag],
        "Layers": [layer_name],
    }]))?;
    let entries: Vec<(String, &[u8])> = vec![
        (config_name.clone(), &p.config.bytes),
        (layer_name.clone(), &layer),
        ("manifest.json".to_owned(), &manifest),
    ];
    write_tar(file, &entries, u64::try_from(date.unix()).unwrap_or(0))
}

/// Pushes `image` to `reference`: every blob the registry lacks, each platform's manifest by digest, then
/// the index under the tag.
pub fn push(
    image: &Image,
    reference: &Reference,
    plain_http: bool,
    basic: Option<(String, String)>,
    out: &dyn Reporter,
) -> anyhow::Result<Pushed> {
    let mut registry = Registry::new(reference, plain_http, basic)?;
    let mut pushed = Pushed::default();
    for p in &image.platforms {
        for b in [&p.layer, &p.config] {
            let digest = b.descriptor.digest.clone();
            if registry.put_blob(b)? {
                out.detail(&format!("uploaded {digest}"));
                pushed.uploaded.push(digest);
            } else {
                pushed.present.push(digest);
            }
        }
    }
    for p in &image.platforms {
        registry.put_manifest(&p.manifest, &p.manifest.descriptor.digest)?;
    }
    registry.put_manifest(&image.index, &reference.tag)?;
    pushed.requests = registry.requests();
    out.status(
        "Pushed",
        &format!(
            "{}/{}:{} ({})",
            reference.host, reference.name, reference.tag, image.index.descriptor.digest
        ),
    );
    Ok(pushed)
}
