//! wharf-config: turns `wharf.toml` — or, with none, a Cargo project's `Cargo.toml` — into a validated
//! [`Project`]: package templates plus repository and publish settings.
//!
//! Rules: unknown keys are errors (`deny_unknown_fields`); every error names the file, the key and the
//! fix; values are parsed into wharf-core types here, so nothing past this crate handles raw strings for
//! names, versions, paths or choices. The environment is not read here: the binary passes in what it read
//! ([`Environment`]).
//!
//! Cargo zero-config honours cargo-deb's `[package.metadata.deb]` keys (cargo-deb's README is the
//! reference) so cargo-deb users can switch without rewriting.

mod cargo;
mod template;
mod wharf_toml;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use wharf_core::Format;

pub use template::glob;
pub use template::{EntryTemplate, FileTemplate, PackageTemplate, ResolveError, ScriptSource};
pub use wharf_toml::init_template;

/// Repository compression choice for .deb members.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum DebCompression {
    /// gzip: every dpkg reads it.
    Gzip,
    /// xz: the default (smaller; dpkg ≥ 1.15.6).
    #[default]
    Xz,
    /// zstd: dpkg ≥ 1.21.18 (Debian 12, Ubuntu 21.10).
    Zstd,
}

/// rpm payload compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RpmCompression {
    /// gzip: every rpm reads it (the default, for reach).
    #[default]
    Gzip,
    /// xz: rpm ≥ 4.6 (EL6+).
    Xz,
    /// zstd: rpm ≥ 4.14 (EL8+, Fedora 31+).
    Zstd,
}

/// rpm-md metadata compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum MetadataCompression {
    /// `.xml.gz`: every dnf, yum and zypper.
    #[default]
    Gzip,
    /// `.xml.zst`: dnf 4 and zypper 1.14+.
    Zstd,
}

/// rpm settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpmConfig {
    /// Payload compression.
    pub compression: RpmCompression,
    /// Repositories (chroot names such as `fedora-43-x86_64`) packages are published to.
    pub repos: Vec<String>,
    /// Metadata compression.
    pub metadata_compression: MetadataCompression,
    /// Build one rpm per distribution tag of `repos` (`1.fc43` for `fedora-43-*`), each published only
    /// into the repositories of its tag.
    pub dist_tags: bool,
    /// Dist tags for repositories the table does not know, or tags other than its
    /// (`almalinux-10-x86_64 = ".el10_alma"`).
    pub dist_tag: BTreeMap<String, String>,
}

impl RpmConfig {
    /// The dist tag of `repo` when `dist-tags` is on: `[rpm.dist-tag]`'s, else the table's
    /// ([`wharf_core::rpmver::dist_tag`]).
    #[must_use]
    pub fn dist_tag_of(&self, repo: &str) -> Option<String> {
        if !self.dist_tags {
            return None;
        }
        self.dist_tag
            .get(repo)
            .cloned()
            .or_else(|| wharf_core::rpmver::dist_tag(repo))
    }
}

/// Which architecture names apk packages are built for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApkArchNames {
    /// Alpine's (`x86_64`, `aarch64`, `armv7`, …): one package per target.
    #[default]
    Alpine,
    /// OpenWrt's package architectures (`aarch64_cortex-a53`, `mipsel_24kc`, …): one per variant.
    Openwrt,
}

/// The digest of apk v2 RSA signatures.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ApkSignature {
    /// `.SIGN.RSA.` (SHA-1): abuild's default, for apk-tools older than 2.10.
    Sha1,
    /// `.SIGN.RSA256.` (SHA-256).
    #[default]
    Sha256,
}

/// apk v3 settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Apk3Config {
    /// Architecture naming (OpenWrt's by default).
    pub arch_names: ApkArchNames,
    /// Sign every package too, not only `packages.adb` (OpenWrt signs only the index).
    pub sign_packages: bool,
    /// Ship the repository's EC public key at `/etc/apk/keys/<key id>.pem`, in a generated `<name>-keyring`
    /// package the others depend on.
    pub ship_key: bool,
}

impl Default for Apk3Config {
    fn default() -> Self {
        Self {
            arch_names: ApkArchNames::Openwrt,
            sign_packages: false,
            ship_key: false,
        }
    }
}

/// apk settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApkConfig {
    /// Architecture naming.
    pub arch_names: ApkArchNames,
    /// Signature digest (packages and APKINDEX).
    pub signature: ApkSignature,
    /// Ship the repository's public key at `/etc/apk/keys/<keyname>`, in a generated `<name>-keyring`
    /// package the others depend on.
    pub ship_key: bool,
}

/// apt repository settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AptConfig {
    /// `Origin:`.
    pub origin: String,
    /// `Label:`.
    pub label: String,
    /// Default suite.
    pub suite: String,
    /// Default component.
    pub component: String,
    /// `Description:`.
    pub description: Option<String>,
    /// `Valid-Until` after this many days.
    pub valid_for_days: Option<u32>,
    /// Architectures every suite lists.
    pub architectures: Vec<String>,
}

/// Publish settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PublishConfig {
    /// Default store (`--to`).
    pub to: Option<String>,
    /// Default signing key file, relative to the project directory.
    pub key: Option<PathBuf>,
    /// The URL clients reach the store's root at (written into `.repo` files).
    pub base_url: Option<String>,
    /// S3 endpoint (`s3://` stores; else `AWS_ENDPOINT_URL`, else AWS).
    pub s3_endpoint: Option<String>,
    /// S3 region (else `AWS_REGION`).
    pub s3_region: Option<String>,
    /// Keep this many newest versions per package name, architecture and channel.
    pub keep: Option<usize>,
    /// How long unreferenced files stay before they are deleted.
    pub grace_period: Option<std::time::Duration>,
    /// How long a publish waits for another one's lock.
    pub lock_wait: Option<std::time::Duration>,
    /// The default channel.
    pub channel: Option<String>,
}

/// `[keys]`: the signing key of every repository kind, resolved against the project directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeysConfig {
    /// OpenPGP secret key: apt and rpm-md (`[keys] openpgp`, or `[publish] key`); the first of a list.
    pub openpgp: Option<PathBuf>,
    /// The keys after the first of `[keys] openpgp = [OLD, NEW]`: they sign every index too (a
    /// rotation's overlap).
    pub openpgp_also: Vec<PathBuf>,
    /// usign secret key: opkg feeds.
    pub usign: Option<PathBuf>,
    /// RSA secret key (`<name>.rsa`): apk v2 packages and indexes; the first of a list.
    pub apk: Option<PathBuf>,
    /// The keys after the first of `[keys] apk = [OLD, NEW]`: they sign every package and index too.
    pub apk_also: Vec<PathBuf>,
    /// EC P-256 secret key: apk v3 indexes (and packages).
    pub apk3: Option<PathBuf>,
    /// Make a throwaway key under `.wharf/` for a kind that has none configured (the quick start):
    /// otherwise a missing key is an error.
    pub throwaway: bool,
}

/// `[release]` settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseConfig {
    /// What version tags start with.
    pub tag_prefix: String,
    /// A pattern stable tags must match (whole tag), if any.
    pub stable_tags: Option<String>,
    /// A pattern pre-release tags must match (whole tag), if any.
    pub prerelease_tags: Option<String>,
    /// Rust target triples to build for (empty: the host).
    pub targets: Vec<String>,
    /// Packages the install script installs (empty: the first package).
    pub install: Vec<String>,
    /// Write `<file>.sha256` beside every artifact.
    pub checksum_files: bool,
    /// Put the release's changelog into the packages' changelogs.
    pub package_changelog: bool,
    /// A template replacing the release page (relative to the project directory).
    pub page_template: Option<PathBuf>,
    /// The channel each class of release is published into.
    pub channels: ReleaseChannels,
    /// Changelog groups: title and the commit types it takes (empty: the rest).
    pub groups: Vec<(String, Vec<String>)>,
    /// Raw binaries shipped beside the packages, one per target.
    pub binaries: Vec<ReleaseBinary>,
    /// Archives of the project's own shape, one per target each (none: one tarball per package).
    pub archives: Vec<ReleaseArchive>,
}

/// An archive of several packages' files (`[[release.archives]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseArchive {
    /// The file name without its extension; `{project}`, `{version}`, `{target}`, `{arch}`, `{rpm-arch}`.
    pub name: String,
    pub format: ArchiveFormat,
    /// The packages whose files it holds (empty: every package built for the target).
    pub packages: Vec<String>,
    pub layout: ArchiveLayout,
    /// A directory everything goes under (the name's placeholders, and `{name}`).
    pub top: Option<String>,
    /// Only the files whose install path (without its leading `/`) matches one of these globs (empty:
    /// every file): `usr/bin/*`.
    pub include: Vec<String>,
}

pub use wharf_core::{ArchiveFormat, ArchiveLayout};

/// A raw binary release asset (`[[release.binaries]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseBinary {
    /// The build output, relative to the project directory; placeholders as in `[[package.files]]`.
    pub src: PathBuf,
    /// Its name in the release directory: `{name}` (the source's file name), `{version}`, `{target}`,
    /// `{arch}`, `{rpm-arch}`.
    pub name: String,
}

/// Which channel each class of release goes to; `stable` is the one at the top of the store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReleaseChannels {
    /// Stable releases (`vX.Y.Z`).
    pub stable: String,
    /// Pre-releases.
    pub prerelease: String,
    /// Untagged commits.
    pub development: String,
    /// Other tags.
    pub extra: String,
}

impl Default for ReleaseConfig {
    fn default() -> Self {
        Self {
            tag_prefix: "v".into(),
            stable_tags: None,
            prerelease_tags: None,
            targets: Vec::new(),
            install: Vec::new(),
            checksum_files: false,
            package_changelog: false,
            page_template: None,
            binaries: Vec::new(),
            archives: Vec::new(),
            channels: ReleaseChannels {
                stable: "stable".into(),
                prerelease: "prerelease".into(),
                development: "dev".into(),
                extra: "dev".into(),
            },
            groups: Vec::new(),
        }
    }
}

/// Parses a duration written as seconds or with a unit: `90`, `90s`, `15m`, `24h`, `7d`.
pub fn parse_duration(s: &str) -> Result<std::time::Duration, String> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a duration; write e.g. `90s`, `15m`, `24h` or `7d`"))?;
    let mult = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => {
            return Err(format!(
                "`{s}`: unknown unit `{unit}`; use s, m, h or d (e.g. `24h`)"
            ));
        }
    };
    Ok(std::time::Duration::from_secs(n.saturating_mul(mult)))
}

/// A loaded project.
#[derive(Debug, Clone)]
pub struct Project {
    /// The project's name (`[project] name`, Cargo's package name): what releases, the page and the
    /// install script are titled by. Its packages may be named otherwise.
    pub name: String,
    /// The directory relative paths are resolved against.
    pub dir: PathBuf,
    /// The file the configuration came from (wharf.toml or Cargo.toml).
    pub source: PathBuf,
    /// Cargo's target directory (build outputs `target/release/…` are found here).
    pub target_dir: PathBuf,
    /// The packages this project ships.
    pub packages: Vec<PackageTemplate>,
    /// Formats built when none is named on the command line.
    pub formats: Vec<Format>,
    /// .deb compression.
    pub deb_compression: DebCompression,
    /// rpm settings.
    pub rpm: RpmConfig,
    /// Ship the opkg feed's usign public key at `/etc/opkg/keys/<fingerprint>`, in a generated
    /// `<name>-keyring` .ipk the others depend on.
    pub ipk_ship_key: bool,
    /// apk settings.
    pub apk: ApkConfig,
    /// apk v3 settings.
    pub apk3: Apk3Config,
    /// apt settings.
    pub apt: AptConfig,
    /// publish settings.
    pub publish: PublishConfig,
    /// release settings.
    pub release: ReleaseConfig,
    /// Signing keys.
    pub keys: KeysConfig,
    /// `[image]`: what `wharf image` puts in and runs.
    pub image: ImageSettings,
    /// `[ci]`: what `wharf ci generate` puts in a pipeline.
    pub ci: CiSettings,
    /// Things the user should know (e.g. a cargo-deb key wharf cannot honour).
    pub warnings: Vec<String>,
}

/// `[ci]`: the generated pipeline's own commands.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CiSettings {
    /// The build of one target (`{target}` replaced); default for a Cargo project: `cargo build --release
    /// --locked --target {target}` (a cross build where the runner is not the target).
    pub build: Option<String>,
    /// The command that puts wharf on the runner's PATH.
    pub install: Option<String>,
}

/// `[image]`: the OCI image's contents and run configuration.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ImageSettings {
    /// The packages whose files make the layer (empty: every package).
    pub packages: Vec<String>,
    /// The entrypoint (empty: the first program under `/usr/bin`).
    pub entrypoint: Vec<String>,
    pub cmd: Vec<String>,
    /// `NAME=value`.
    pub env: Vec<String>,
    /// `8080/tcp`.
    pub ports: Vec<String>,
    pub user: Option<String>,
    pub workdir: Option<String>,
    /// Labels and annotations; they override wharf's `org.opencontainers.image.*` defaults of the same name.
    pub labels: BTreeMap<String, String>,
    /// The base image: `scratch` (None), `oci:DIR[@sha256:…|:TAG]` or `REGISTRY/NAME@sha256:…`.
    pub base: Option<String>,
    /// Where `wharf release` pushes the image (`[http://]REGISTRY/NAME`, no tag).
    pub push: Vec<String>,
    /// The tags `wharf release` gives it (`{version}`, `{channel}`; default `["{version}"]`).
    pub tags: Vec<String>,
    /// Attach an SPDX 2.3 SBOM to each platform's image (an OCI artifact referring to it).
    pub sbom: bool,
}

/// What the binary read from the environment, handed in explicitly.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `CARGO_TARGET_DIR`.
    pub cargo_target_dir: Option<PathBuf>,
}

/// wharf.toml's JSON Schema (draft 2020-12), generated from the types wharf reads it into; committed as
/// `wharf.schema.json` at the repository's top, which editors find through the `#:schema` line `wharf init`
/// writes.
#[must_use]
pub fn schema() -> String {
    wharf_toml::schema()
}

/// Why a configuration could not be loaded. Always names the file.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, or a wrong type (the message has line and column).
    #[error("{path}: {message}")]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        message: String,
    },
    /// A value broke a rule.
    #[error("{path}: `{key}`: {message}")]
    Value {
        /// The file.
        path: PathBuf,
        /// The key (e.g. `package[0].files[1].dst`).
        key: String,
        /// What is wrong and the fix.
        message: String,
    },
    /// No configuration at all.
    #[error("no wharf.toml or Cargo.toml in {0}; run `wharf init` there, or pass -c FILE")]
    NotFound(PathBuf),
}

/// Loads the project: an explicit file, else `wharf.toml`, else `Cargo.toml` in `dir`.
pub fn load(dir: &Path, explicit: Option<&Path>, env: &Environment) -> Result<Project, ConfigError> {
    let path = match explicit {
        Some(p) => p.to_path_buf(),
        None if dir.join("wharf.toml").is_file() => dir.join("wharf.toml"),
        None if dir.join("Cargo.toml").is_file() => dir.join("Cargo.toml"),
        None => return Err(ConfigError::NotFound(dir.to_path_buf())),
    };
    let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
        path: path.clone(),
        source,
    })?;
    let project_dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let target_dir = env
        .cargo_target_dir
        .clone()
        .unwrap_or_else(|| cargo::workspace_root(&project_dir).join("target"));
    if path.file_name().is_some_and(|n| n == "Cargo.toml") {
        cargo::load(&path, &text, project_dir, target_dir)
    } else {
        wharf_toml::load(&path, &text, project_dir, target_dir)
    }
}

pub(crate) fn value_err(path: &Path, key: impl Into<String>, message: impl Into<String>) -> ConfigError {
    ConfigError::Value {
        path: path.to_path_buf(),
        key: key.into(),
        message: message.into(),
    }
}

#[cfg(test)]
mod schema_tests {
    /// The committed `wharf.schema.json` is what the types generate (`WHARF_SCHEMA_UPDATE=1` rewrites it).
    #[test]
    fn committed_schema_is_generated() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../wharf.schema.json");
        let generated = super::schema();
        if std::env::var_os("WHARF_SCHEMA_UPDATE").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "wharf.schema.json is not what the config types generate; run WHARF_SCHEMA_UPDATE=1 cargo test -p wharf-config"
        );
    }
}
