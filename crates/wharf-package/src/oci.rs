//! OCI images from packages' files: one layer per platform, its config and manifest, and the image index
//! over every platform — the OCI image specification v1.1 (`image-layout.md`, `manifest.md`,
//! `image-index.md`, `config.md`, `layer.md`), which container registries, skopeo and umoci read.
//!
//! Reproducible: the layer is the packages' payload as a tar (names sorted, owners root or the configured
//! ones, every mtime clamped to `SOURCE_DATE_EPOCH`), gzip without a name or time; the config's `created`
//! is `SOURCE_DATE_EPOCH`; the JSON documents are written with a fixed field order and no whitespace. The
//! same inputs give the same digests on any machine.

use std::collections::BTreeMap;

use serde::Serialize;
use sha2::{Digest, Sha256};
use wharf_core::{PackageSpec, SourceDate};

use crate::PackageError;
use crate::compress::{self, Compression, Profile};
use crate::payload::{self, Layout, Planned};
use crate::splice::Payloads;

/// `application/vnd.oci.image.index.v1+json`.
pub const INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// `application/vnd.oci.image.manifest.v1+json`.
pub const MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// `application/vnd.oci.image.config.v1+json`.
pub const CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// `application/vnd.oci.image.layer.v1.tar+gzip`.
pub const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image's platform (`linux/arm/v7`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// The GOARCH-style platform of a Debian architecture (how registries name them).
#[must_use]
pub fn platform(deb_arch: &str) -> Option<Platform> {
    let (architecture, variant) = match deb_arch {
        "amd64" => ("amd64", None),
        "arm64" => ("arm64", Some("v8")),
        "armhf" => ("arm", Some("v7")),
        "armel" => ("arm", Some("v6")),
        "i386" => ("386", None),
        "riscv64" => ("riscv64", None),
        "ppc64el" => ("ppc64le", None),
        "s390x" => ("s390x", None),
        "loong64" => ("loong64", None),
        "mips64el" => ("mips64le", None),
        "mipsel" => ("mipsle", None),
        _ => return None,
    };
    Some(Platform {
        architecture: architecture.to_owned(),
        os: "linux".to_owned(),
        variant: variant.map(str::to_owned),
    })
}

/// What runs in the image, and what describes it.
#[derive(Debug, Clone, Default)]
pub struct ImageConfig {
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    pub env: Vec<String>,
    /// Ports (`8080/tcp`).
    pub exposed_ports: Vec<String>,
    pub user: Option<String>,
    pub working_dir: Option<String>,
    /// Labels and manifest annotations (`org.opencontainers.image.*`).
    pub labels: BTreeMap<String, String>,
}

/// A blob: its bytes and descriptor.
#[derive(Debug, Clone)]
pub struct Blob {
    pub descriptor: Descriptor,
    pub bytes: Vec<u8>,
}

fn blob(media_type: &str, bytes: Vec<u8>) -> Blob {
    Blob {
        descriptor: Descriptor {
            media_type: media_type.to_owned(),
            digest: format!("sha256:{}", hex::encode(Sha256::digest(&bytes))),
            size: bytes.len() as u64,
            platform: None,
            annotations: BTreeMap::new(),
        },
        bytes,
    }
}

/// One platform's image: its layer, config and manifest.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    pub layer: Blob,
    pub config: Blob,
    /// The manifest; its descriptor carries the platform (for the index).
    pub manifest: Blob,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct RunConfig<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    exposed_ports: BTreeMap<&'a str, BTreeMap<(), ()>>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    env: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    entrypoint: &'a [String],
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    cmd: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    working_dir: Option<&'a str>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct ConfigDoc<'a> {
    created: String,
    architecture: &'a str,
    os: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    variant: Option<&'a str>,
    config: RunConfig<'a>,
    rootfs: RootFs,
    history: [History; 1],
}

#[derive(Serialize)]
struct RootFs {
    #[serde(rename = "type")]
    kind: &'static str,
    diff_ids: Vec<String>,
}

#[derive(Serialize)]
struct History {
    created: String,
    created_by: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc<'a> {
    schema_version: u32,
    media_type: &'static str,
    config: &'a Descriptor,
    layers: [&'a Descriptor; 1],
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct IndexDoc<'a> {
    schema_version: u32,
    media_type: &'static str,
    manifests: Vec<&'a Descriptor>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

fn json(doc: &impl Serialize) -> Result<Vec<u8>, PackageError> {
    serde_json::to_vec(doc).map_err(|e| PackageError::Write(std::io::Error::other(e)))
}

/// The image of `specs`' files for `platform`.
pub fn platform_image(
    specs: &[&PackageSpec],
    platform: &Platform,
    config: &ImageConfig,
    date: SourceDate,
    payloads: &Payloads,
) -> Result<PlatformImage, PackageError> {
    // The files of every package, once (a directory two packages share is one entry).
    let mut nodes: BTreeMap<String, Planned<'_>> = BTreeMap::new();
    for spec in specs {
        for (key, planned) in payload::plan(spec)? {
            if let Some(existing) = nodes.get(&key) {
                if !(matches!(existing.node, payload::Node::Dir)
                    && matches!(planned.node, payload::Node::Dir))
                {
                    return Err(PackageError::Duplicate(key.trim_start_matches("./").to_owned()));
                }
                continue;
            }
            nodes.insert(key, planned);
        }
    }
    let mut tar = Vec::new();
    payload::write_data(
        &nodes,
        Layout::Archive(""),
        Compression::None,
        date,
        payloads,
        &mut tar,
    )?;
    let diff_id = format!("sha256:{}", hex::encode(Sha256::digest(&tar)));
    let gz = compress::compress(&tar, Compression::Gzip, Profile::Payload).map_err(PackageError::Write)?;
    drop(tar);
    let layer = blob(LAYER, gz);
    let created = date.rfc3339();
    let doc = ConfigDoc {
        created: created.clone(),
        architecture: &platform.architecture,
        os: &platform.os,
        variant: platform.variant.as_deref(),
        config: RunConfig {
            user: config.user.as_deref(),
            exposed_ports: config
                .exposed_ports
                .iter()
                .map(|p| (p.as_str(), BTreeMap::new()))
                .collect(),
            env: &config.env,
            entrypoint: &config.entrypoint,
            cmd: &config.cmd,
            working_dir: config.working_dir.as_deref(),
            labels: &config.labels,
        },
        rootfs: RootFs {
            kind: "layers",
            diff_ids: vec![diff_id],
        },
        history: [History {
            created,
            created_by: "wharf image",
        }],
    };
    let config_blob = blob(CONFIG, json(&doc)?);
    let manifest_doc = ManifestDoc {
        schema_version: 2,
        media_type: MANIFEST,
        config: &config_blob.descriptor,
        layers: [&layer.descriptor],
        annotations: &config.labels,
    };
    let mut manifest = blob(MANIFEST, json(&manifest_doc)?);
    manifest.descriptor.platform = Some(platform.clone());
    Ok(PlatformImage {
        layer,
        config: config_blob,
        manifest,
    })
}

/// The image index over `images` (in the given order), annotated like the manifests.
pub fn index(images: &[PlatformImage], annotations: &BTreeMap<String, String>) -> Result<Blob, PackageError> {
    let doc = IndexDoc {
        schema_version: 2,
        media_type: INDEX,
        manifests: images.iter().map(|i| &i.manifest.descriptor).collect(),
        annotations,
    };
    Ok(blob(INDEX, json(&doc)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::spec;

    #[test]
    fn images_are_reproducible_and_well_formed() {
        let date = SourceDate::from_unix(1_700_000_000).unwrap();
        let s = spec();
        let p = platform("amd64").unwrap();
        let config = ImageConfig {
            entrypoint: vec!["/usr/bin/hello".into()],
            ..ImageConfig::default()
        };
        let a = platform_image(&[&s], &p, &config, date, &Payloads::new()).unwrap();
        let b = platform_image(&[&s], &p, &config, date, &Payloads::new()).unwrap();
        assert_eq!(a.manifest.descriptor.digest, b.manifest.descriptor.digest);
        let idx = index(std::slice::from_ref(&a), &BTreeMap::new()).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&idx.bytes).unwrap();
        assert_eq!(v["manifests"][0]["platform"]["architecture"], "amd64");
        let cfg: serde_json::Value = serde_json::from_slice(&a.config.bytes).unwrap();
        assert_eq!(cfg["created"], "2023-11-14T22:13:20Z");
        assert_eq!(cfg["config"]["Entrypoint"][0], "/usr/bin/hello");
        assert!(
            cfg["rootfs"]["diff_ids"][0]
                .as_str()
                .unwrap()
                .starts_with("sha256:")
        );
    }
}
