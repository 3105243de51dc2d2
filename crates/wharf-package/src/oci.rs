//! OCI images from packages' files: one layer per platform, its config and manifest, and the image index
//! over every platform — the OCI image specification v1.1 (`image-layout.md`, `manifest.md`,
//! `image-index.md`, `config.md`, `layer.md`), which container registries, skopeo and umoci read.
//!
//! Reproducible: the layer is the packages' payload as a tar (names sorted, owners root or the configured
//! ones, every mtime clamped to `SOURCE_DATE_EPOCH`), gzip without a name or time; the config's `created`
//! is `SOURCE_DATE_EPOCH`; the JSON documents are written with a fixed field order and no whitespace. The
//! same inputs give the same digests on any machine.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
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
/// An SPDX 2.3 JSON document.
pub const SPDX: &str = "application/spdx+json";
/// The empty config of an artifact manifest (image-spec `manifest.md`, "Guidance for an Empty Descriptor").
pub const EMPTY: &str = "application/vnd.oci.empty.v1+json";
/// `application/vnd.oci.image.layer.v1.tar` (read in base images).
pub const LAYER_TAR: &str = "application/vnd.oci.image.layer.v1.tar";
/// `application/vnd.oci.image.layer.v1.tar+zstd` (read in base images).
pub const LAYER_ZSTD: &str = "application/vnd.oci.image.layer.v1.tar+zstd";
/// Docker's manifest list (read in base images).
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker's image manifest (read in base images).
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker's gzip layer: the same bytes as [`LAYER`], which it becomes in wharf's manifests.
pub const DOCKER_LAYER: &str = "application/vnd.docker.image.rootfs.diff.tar.gzip";

/// A content descriptor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
    /// An artifact manifest's type, in a referrers index.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

/// An image's platform (`linux/arm/v7`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl Platform {
    /// Whether an image of platform `have` runs as `self` (`arm64` with or without `v8` alike).
    #[must_use]
    pub fn accepts(&self, have: &Platform) -> bool {
        self.os == have.os
            && self.architecture == have.architecture
            && (self.variant == have.variant
                || (self.architecture == "arm64"
                    && [&self.variant, &have.variant]
                        .iter()
                        .all(|v| v.as_deref().is_none_or(|v| v == "v8"))))
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        match &self.variant {
            Some(v) => write!(f, "/{v}"),
            None => Ok(()),
        }
    }
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
    /// Make an SPDX 2.3 SBOM of the layer ([`PlatformImage::sbom`]).
    pub sbom: bool,
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
            artifact_type: None,
            annotations: BTreeMap::new(),
        },
        bytes,
    }
}

/// One platform's image: its layers, config and manifest.
#[derive(Debug, Clone)]
pub struct PlatformImage {
    /// The base image's layers, bottom first (none on `scratch`).
    pub base_layers: Vec<Blob>,
    /// wharf's layer: the packages' files.
    pub layer: Blob,
    pub config: Blob,
    /// The manifest; its descriptor carries the platform (for the index).
    pub manifest: Blob,
    /// The SPDX 2.3 JSON document of wharf's layer (its files, their checksums and the packages they
    /// came from), when asked for; [`referrer`] makes it an OCI artifact about this image.
    pub sbom: Option<Blob>,
}

impl PlatformImage {
    /// Every blob a registry or layout needs before the manifest: layers bottom first, then the config.
    #[must_use]
    pub fn blobs(&self) -> Vec<&Blob> {
        let mut v: Vec<&Blob> = self.base_layers.iter().collect();
        v.extend([&self.layer, &self.config]);
        v
    }
}

/// A base image of one platform, as read: its config (JSON) and layers.
#[derive(Debug, Clone)]
pub struct Base {
    /// Where it came from, for messages.
    pub name: String,
    pub config: serde_json::Value,
    pub layers: Vec<Blob>,
}

/// A manifest or an image index read from a registry or a layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Document {
    /// An index (OCI) or manifest list (Docker): one manifest per platform.
    Index(Vec<Descriptor>),
    /// One image.
    Manifest {
        config: Descriptor,
        layers: Vec<Descriptor>,
    },
}

#[derive(Deserialize)]
struct ReadDocument {
    #[serde(default)]
    manifests: Option<Vec<Descriptor>>,
    #[serde(default)]
    config: Option<Descriptor>,
    #[serde(default)]
    layers: Option<Vec<Descriptor>>,
}

/// The most manifests an index or layers a manifest may list.
const MAX_ENTRIES: usize = 4096;

fn bad(why: String) -> PackageError {
    PackageError::Image(why)
}

/// Whether `digest` is `sha256:` and 64 lowercase hex digits (the only digest wharf can check).
#[must_use]
pub fn valid_digest(digest: &str) -> bool {
    digest.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

/// Reads a manifest or an index (OCI image-spec or Docker's v2 schema 2): told apart by what it lists, every
/// digest a SHA-256 one, every layer a tar (plain, gzip or zstd; Docker's gzip layers take the OCI name).
pub fn read_document(bytes: &[u8]) -> Result<Document, PackageError> {
    let doc: ReadDocument =
        serde_json::from_slice(bytes).map_err(|e| bad(format!("not a manifest or index: {e}")))?;
    let check = |d: &Descriptor| {
        if valid_digest(&d.digest) {
            Ok(())
        } else {
            Err(bad(format!(
                "`{}` is not a sha256 digest",
                d.digest.escape_debug()
            )))
        }
    };
    match doc {
        ReadDocument {
            manifests: Some(list),
            ..
        } => {
            if list.len() > MAX_ENTRIES {
                return Err(bad(format!("an index of {} manifests", list.len())));
            }
            list.iter().try_for_each(check)?;
            Ok(Document::Index(list))
        }
        ReadDocument {
            config: Some(config),
            layers: Some(mut layers),
            ..
        } => {
            if layers.len() > MAX_ENTRIES {
                return Err(bad(format!("a manifest of {} layers", layers.len())));
            }
            check(&config)?;
            for l in &mut layers {
                check(l)?;
                if l.media_type == DOCKER_LAYER {
                    LAYER.clone_into(&mut l.media_type);
                }
                if ![LAYER, LAYER_TAR, LAYER_ZSTD].contains(&l.media_type.as_str()) {
                    return Err(bad(format!(
                        "layer {} is a `{}`, not a tar layer",
                        l.digest,
                        l.media_type.escape_debug()
                    )));
                }
            }
            Ok(Document::Manifest { config, layers })
        }
        _ => Err(bad(
            "neither an index (manifests) nor a manifest (config, layers)".to_owned(),
        )),
    }
}

/// The manifest of `index` for `want`, or an error naming the platforms it has.
pub fn select<'d>(
    index: &'d [Descriptor],
    want: &Platform,
    name: &str,
) -> Result<&'d Descriptor, PackageError> {
    if let Some(d) = index
        .iter()
        .find(|d| d.platform.as_ref().is_some_and(|p| want.accepts(p)))
    {
        return Ok(d);
    }
    let have: Vec<String> = index
        .iter()
        .filter_map(|d| d.platform.as_ref().map(ToString::to_string))
        .collect();
    Err(bad(format!(
        "the base image {name} has no {want} image (it has {})",
        if have.is_empty() {
            "none named".to_owned()
        } else {
            have.join(", ")
        }
    )))
}

/// Checks a base image's config against the platform wanted and its layers: the same architecture (a
/// single-platform base), as many `diff_ids` as layers.
pub fn check_base(base: &Base, want: &Platform) -> Result<(), PackageError> {
    let field = |k: &str| {
        base.config
            .get(k)
            .and_then(serde_json::Value::as_str)
            .map(str::to_owned)
    };
    let have = Platform {
        architecture: field("architecture").unwrap_or_default(),
        os: field("os").unwrap_or_default(),
        variant: field("variant"),
    };
    if !want.accepts(&have) {
        return Err(bad(format!(
            "the base image {} is {have}, not the {want} this image is for",
            base.name
        )));
    }
    let diff_ids = base
        .config
        .pointer("/rootfs/diff_ids")
        .and_then(serde_json::Value::as_array)
        .map_or(0, Vec::len);
    if diff_ids != base.layers.len() {
        return Err(bad(format!(
            "the base image {} lists {diff_ids} diff_ids for {} layers",
            base.name,
            base.layers.len()
        )));
    }
    Ok(())
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ManifestDoc<'a> {
    schema_version: u32,
    media_type: &'static str,
    config: &'a Descriptor,
    layers: Vec<&'a Descriptor>,
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

/// The image of `specs`' files for `platform`, on `base` (else `scratch`).
pub fn platform_image(
    specs: &[&PackageSpec],
    platform: &Platform,
    config: &ImageConfig,
    base: Option<&Base>,
    date: SourceDate,
    payloads: &Payloads,
) -> Result<PlatformImage, PackageError> {
    // The files of every package, once (a directory two packages share is one entry).
    let mut nodes: BTreeMap<String, Planned<'_>> = BTreeMap::new();
    let mut owners: BTreeMap<String, &PackageSpec> = BTreeMap::new();
    for spec in specs {
        for (key, planned) in payload::plan(spec)? {
            owners
                .entry(key.trim_start_matches("./").to_owned())
                .or_insert(spec);
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
    let sbom = if config.sbom {
        Some(blob(SPDX, spdx(&tar, &owners, platform, config, date)?))
    } else {
        None
    };
    let gz = compress::compress(&tar, Compression::Gzip, Profile::Payload).map_err(PackageError::Write)?;
    drop(tar);
    let layer = blob(LAYER, gz);
    if let Some(b) = base {
        check_base(b, platform)?;
    }
    let doc = config_document(base, platform, config, date, diff_id);
    let config_blob = blob(CONFIG, json(&doc)?);
    let base_layers: Vec<Blob> = base.map(|b| b.layers.clone()).unwrap_or_default();
    let mut layers: Vec<&Descriptor> = base_layers.iter().map(|l| &l.descriptor).collect();
    layers.push(&layer.descriptor);
    let manifest_doc = ManifestDoc {
        schema_version: 2,
        media_type: MANIFEST,
        config: &config_blob.descriptor,
        layers,
        annotations: &config.labels,
    };
    let mut manifest = blob(MANIFEST, json(&manifest_doc)?);
    manifest.descriptor.platform = Some(platform.clone());
    Ok(PlatformImage {
        base_layers,
        layer,
        config: config_blob,
        manifest,
        sbom,
    })
}

/// The image config (config.md): the base's, if any, with wharf's layer on top — `created` and the
/// platform are this build's; the entrypoint, user and working directory replace the base's when set (a
/// new entrypoint drops the base's cmd, as a Dockerfile's `ENTRYPOINT` does); env replaces same-named
/// variables; ports and labels are added; the diff_ids and history gain wharf's layer.
fn config_document(
    base: Option<&Base>,
    platform: &Platform,
    config: &ImageConfig,
    date: SourceDate,
    diff_id: String,
) -> serde_json::Value {
    use serde_json::{Map, Value, json};
    let object = |v: Option<Value>| match v {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    };
    let created = date.rfc3339();
    let mut doc = object(base.map(|b| b.config.clone()));
    doc.insert("created".into(), json!(created));
    doc.insert("architecture".into(), json!(platform.architecture));
    doc.insert("os".into(), json!(platform.os));
    match &platform.variant {
        Some(v) => doc.insert("variant".into(), json!(v)),
        None => doc.remove("variant"),
    };
    let mut run = object(doc.remove("config"));
    if !config.entrypoint.is_empty() {
        run.insert("Entrypoint".into(), json!(config.entrypoint));
        run.remove("Cmd");
    }
    if !config.cmd.is_empty() {
        run.insert("Cmd".into(), json!(config.cmd));
    }
    if !config.env.is_empty() {
        let name = |e: &str| e.split('=').next().unwrap_or("").to_owned();
        let mut env: Vec<Value> = run
            .get("Env")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter(|e| {
                e.as_str()
                    .is_some_and(|e| !config.env.iter().any(|o| name(o) == name(e)))
            })
            .cloned()
            .collect();
        env.extend(config.env.iter().map(|e| json!(e)));
        run.insert("Env".into(), Value::Array(env));
    }
    if !config.exposed_ports.is_empty() {
        let mut ports = object(run.remove("ExposedPorts"));
        for p in &config.exposed_ports {
            ports.insert(p.clone(), json!({}));
        }
        run.insert("ExposedPorts".into(), Value::Object(ports));
    }
    if let Some(u) = &config.user {
        run.insert("User".into(), json!(u));
    }
    if let Some(w) = &config.working_dir {
        run.insert("WorkingDir".into(), json!(w));
    }
    if !config.labels.is_empty() {
        let mut labels = object(run.remove("Labels"));
        for (k, v) in &config.labels {
            labels.insert(k.clone(), json!(v));
        }
        run.insert("Labels".into(), Value::Object(labels));
    }
    doc.insert("config".into(), Value::Object(run));
    let list = |v: Option<&Value>| v.and_then(Value::as_array).cloned().unwrap_or_default();
    let mut diff_ids = list(doc.get("rootfs").and_then(|r| r.get("diff_ids")));
    diff_ids.push(json!(diff_id));
    doc.insert("rootfs".into(), json!({ "type": "layers", "diff_ids": diff_ids }));
    let mut history = list(doc.get("history"));
    history.push(json!({ "created": created, "created_by": "wharf image" }));
    doc.insert("history".into(), Value::Array(history));
    Value::Object(doc)
}

/// The SPDX 2.3 document (spdx-spec 2.3, JSON serialization) of the layer `tar`: a package per wharf
/// package (its name, version, supplier, license; its files analyzed, so with the verification code of
/// §7.9: the SHA-1 of its files' sorted SHA-1s), a file per regular file with its SHA-1 (which 2.3
/// requires) and SHA-256, each file `CONTAINS`-related to the package it came from.
fn spdx(
    tar: &[u8],
    owners: &BTreeMap<String, &PackageSpec>,
    platform: &Platform,
    config: &ImageConfig,
    date: SourceDate,
) -> Result<Vec<u8>, PackageError> {
    use serde_json::json;
    let id = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '-'
                }
            })
            .collect()
    };
    let title = config
        .labels
        .get("org.opencontainers.image.title")
        .cloned()
        .unwrap_or_default();
    let version = config
        .labels
        .get("org.opencontainers.image.version")
        .cloned()
        .unwrap_or_default();
    let mut packages = BTreeMap::new();
    for spec in owners.values() {
        packages.entry(spec.name.as_str()).or_insert_with(|| {
            json!({
                "name": spec.name.as_str(),
                "SPDXID": format!("SPDXRef-Package-{}", id(spec.name.as_str())),
                "versionInfo": spec.version.to_string(),
                "supplier": format!("Person: {}", spec.meta.maintainer),
                "downloadLocation": "NOASSERTION",
                "filesAnalyzed": true,
                "licenseConcluded": "NOASSERTION",
                "licenseDeclared": spec.meta.license.clone().unwrap_or_else(|| "NOASSERTION".into()),
                "copyrightText": "NOASSERTION",
            })
        });
    }
    let mut files = Vec::new();
    let mut relationships = vec![json!({
        "spdxElementId": "SPDXRef-DOCUMENT",
        "relationshipType": "DESCRIBES",
        "relatedSpdxElement": format!("SPDXRef-Package-{}", id(packages.keys().next().copied().unwrap_or("none"))),
    })];
    let mut sha1s: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    let mut archive = ::tar::Archive::new(tar);
    let bad = |e: std::io::Error| PackageError::Write(e);
    for (n, entry) in archive.entries().map_err(bad)?.enumerate() {
        let mut entry = entry.map_err(bad)?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry
            .path()
            .map_err(bad)?
            .to_string_lossy()
            .trim_start_matches("./")
            .to_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes).map_err(bad)?;
        let file_id = format!("SPDXRef-File-{n}");
        let sha1 = hex::encode(sha1::Sha1::digest(&bytes));
        if let Some(spec) = owners.get(&path) {
            sha1s.entry(spec.name.as_str()).or_default().push(sha1.clone());
        }
        files.push(json!({
            "fileName": format!("./{path}"),
            "SPDXID": file_id,
            "checksums": [
                { "algorithm": "SHA1", "checksumValue": sha1 },
                { "algorithm": "SHA256", "checksumValue": hex::encode(Sha256::digest(&bytes)) },
            ],
            "licenseConcluded": "NOASSERTION",
            "copyrightText": "NOASSERTION",
        }));
        if let Some(spec) = owners.get(&path) {
            relationships.push(json!({
                "spdxElementId": format!("SPDXRef-Package-{}", id(spec.name.as_str())),
                "relationshipType": "CONTAINS",
                "relatedSpdxElement": file_id,
            }));
        }
    }
    for (name, package) in &mut packages {
        let mut list = sha1s.remove(name).unwrap_or_default();
        list.sort();
        let code = hex::encode(sha1::Sha1::digest(list.concat().as_bytes()));
        package["packageVerificationCode"] = json!({ "packageVerificationCodeValue": code });
    }
    let doc = json!({
        "spdxVersion": "SPDX-2.3",
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": format!("{title} {version} {platform}"),
        "documentNamespace": format!("https://spdx.wharf.invalid/{}/{}/{}", id(&title), id(&version), id(&platform.to_string())),
        "creationInfo": {
            "created": date.rfc3339(),
            "creators": [concat!("Tool: wharf-", env!("CARGO_PKG_VERSION"))],
        },
        "packages": packages.into_values().collect::<Vec<_>>(),
        "files": files,
        "relationships": relationships,
    });
    json(&doc)
}

/// The OCI artifact (image-spec 1.1 `manifest.md`: `artifactType`, an empty config, `subject`) carrying
/// `sbom` about the image whose manifest is `subject`: its empty config blob, and its manifest (whose
/// descriptor carries the `artifactType`, as a referrers index lists it).
pub fn referrer(sbom: &Blob, subject: &Descriptor, date: SourceDate) -> Result<(Blob, Blob), PackageError> {
    let empty = blob(EMPTY, b"{}".to_vec());
    let mut subject = subject.clone();
    subject.platform = None;
    subject.annotations.clear();
    let doc = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": MANIFEST,
        "artifactType": SPDX,
        "config": empty.descriptor,
        "layers": [sbom.descriptor],
        "subject": subject,
        "annotations": { "org.opencontainers.image.created": date.rfc3339() },
    });
    let mut manifest = blob(MANIFEST, json(&doc)?);
    manifest.descriptor.artifact_type = Some(SPDX.into());
    Ok((empty, manifest))
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
        let a = platform_image(&[&s], &p, &config, None, date, &Payloads::new()).unwrap();
        let b = platform_image(&[&s], &p, &config, None, date, &Payloads::new()).unwrap();
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

    #[test]
    fn base_images_are_read_selected_and_merged() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let index = format!(
            r#"{{"schemaVersion":2,"mediaType":"{DOCKER_LIST}","manifests":[
                {{"mediaType":"{DOCKER_MANIFEST}","digest":"{}","size":1,"platform":{{"architecture":"amd64","os":"linux"}}}},
                {{"mediaType":"{DOCKER_MANIFEST}","digest":"{}","size":1,"platform":{{"architecture":"arm64","os":"linux"}}}}]}}"#,
            d('a'),
            d('b')
        );
        let Document::Index(list) = read_document(index.as_bytes()).unwrap() else {
            panic!("an index");
        };
        let arm64 = platform("arm64").unwrap();
        assert_eq!(select(&list, &arm64, "base").unwrap().digest, d('b'));
        let e = select(&list, &platform("armhf").unwrap(), "base").unwrap_err();
        assert!(
            e.to_string()
                .contains("has no linux/arm/v7 image (it has linux/amd64, linux/arm64)"),
            "{e}"
        );
        let manifest = format!(
            r#"{{"config":{{"mediaType":"x","digest":"{}","size":2}},"layers":[{{"mediaType":"{DOCKER_LAYER}","digest":"{}","size":3}}]}}"#,
            d('c'),
            d('e')
        );
        let Document::Manifest { layers, .. } = read_document(manifest.as_bytes()).unwrap() else {
            panic!("a manifest");
        };
        assert_eq!(layers[0].media_type, LAYER);
        for bad in [
            r#"{"manifests":[{"mediaType":"x","digest":"md5:00","size":1}]}"#.to_owned(),
            manifest.replace(DOCKER_LAYER, "application/x-foreign"),
            "[]".to_owned(),
        ] {
            assert!(read_document(bad.as_bytes()).is_err(), "{bad}");
        }

        let base = Base {
            name: "base".into(),
            config: serde_json::json!({
                "architecture": "amd64", "os": "linux",
                "config": { "Env": ["PATH=/bin", "KEEP=1"], "Cmd": ["sh"], "User": "nobody" },
                "rootfs": { "type": "layers", "diff_ids": [d('f')] },
                "history": [{ "created_by": "base" }]
            }),
            layers: vec![blob(LAYER, b"base layer".to_vec())],
        };
        let config = ImageConfig {
            entrypoint: vec!["/usr/bin/hello".into()],
            env: vec!["PATH=/usr/bin:/bin".into()],
            ..ImageConfig::default()
        };
        let date = SourceDate::from_unix(1_700_000_000).unwrap();
        let amd64 = platform("amd64").unwrap();
        let img = platform_image(&[&spec()], &amd64, &config, Some(&base), date, &Payloads::new()).unwrap();
        let cfg: serde_json::Value = serde_json::from_slice(&img.config.bytes).unwrap();
        assert_eq!(
            cfg["config"]["Env"],
            serde_json::json!(["KEEP=1", "PATH=/usr/bin:/bin"])
        );
        assert_eq!(cfg["config"]["User"], "nobody");
        assert!(
            cfg["config"].get("Cmd").is_none(),
            "a new entrypoint drops the base's cmd"
        );
        assert_eq!(cfg["rootfs"]["diff_ids"].as_array().unwrap().len(), 2);
        assert_eq!(cfg["history"].as_array().unwrap().len(), 2);
        let m: serde_json::Value = serde_json::from_slice(&img.manifest.bytes).unwrap();
        assert_eq!(
            m["layers"][0]["digest"],
            base.layers[0].descriptor.digest.as_str()
        );
        assert_eq!(img.blobs().len(), 3);
        // A base of another architecture is refused.
        let e = platform_image(&[&spec()], &arm64, &config, Some(&base), date, &Payloads::new()).unwrap_err();
        assert!(
            e.to_string().contains("is linux/amd64, not the linux/arm64/v8"),
            "{e}"
        );
    }
}
