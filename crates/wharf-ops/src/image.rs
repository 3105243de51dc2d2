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

/// Builds the image of `project` for `targets` (the host when none): every package built for a target
/// (architecture-independent ones too) in its layer; the entrypoint the first program under `/usr/bin`.
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
    let payloads = Payloads::new();
    let mut platforms = Vec::new();
    for target in targets {
        let one: Vec<String> = target.map(str::to_owned).into_iter().collect();
        let specs: Vec<PackageSpec> = crate::package::resolve(project, &one, out)?;
        let arch = match target {
            Some(t) => Arch::from_triple(t)?,
            None => Arch::host()?,
        };
        let platform = oci::platform(arch.deb())
            .with_context(|| format!("no OCI platform for the {} architecture", arch.deb()))?;
        let entrypoint: Vec<String> = specs
            .iter()
            .flat_map(|s| &s.files)
            .map(|f| f.path.as_str())
            .find(|p| p.starts_with("/usr/bin/"))
            .map(|p| vec![p.to_owned()])
            .unwrap_or_default();
        let config = ImageConfig {
            entrypoint,
            labels: labels.clone(),
            ..ImageConfig::default()
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

/// Writes `image` as an OCI image layout in `dir`, its index named `tag`.
pub fn write_layout(image: &Image, dir: &Path, tag: &str) -> anyhow::Result<()> {
    let blobs = dir.join("blobs/sha256");
    std::fs::create_dir_all(&blobs).with_context(|| format!("cannot create {}", blobs.display()))?;
    let mut all: Vec<&Blob> = vec![&image.index];
    for p in &image.platforms {
        all.extend([&p.layer, &p.config, &p.manifest]);
    }
    for b in all {
        let path = blobs.join(b.descriptor.digest.trim_start_matches("sha256:"));
        std::fs::write(&path, &b.bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    let mut top = image.index.descriptor.clone();
    top.platform = None;
    top.annotations
        .insert("org.opencontainers.image.ref.name".to_owned(), tag.to_owned());
    let layout_index = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": oci::INDEX,
        "manifests": [top],
    });
    let write = |name: &str, bytes: Vec<u8>| {
        let path = dir.join(name);
        std::fs::write(&path, bytes).with_context(|| format!("cannot write {}", path.display()))
    };
    write("index.json", serde_json::to_vec(&layout_index)?)?;
    write("oci-layout", br#"{"imageLayoutVersion":"1.0.0"}"#.to_vec())?;
    Ok(())
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
