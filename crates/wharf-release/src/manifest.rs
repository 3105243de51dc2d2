//! What a release is, written down: the manifest (`releases/<version>/manifest.json`, validated by
//! [`SCHEMA`], which is also published as `releases/manifest.schema.json`), `SHA256SUMS` in the format
//! `sha256sum -c` reads (GNU coreutils: `<hex>  <file>`, two spaces, text mode), and the release notes
//! (Markdown: the changelog and the checksum table, as seed 003 puts the checksums into its description).

use serde::{Deserialize, Serialize};

use crate::changelog::Changelog;
use crate::classify::Class;

/// The JSON Schema (draft 2020-12) of [`Manifest`].
pub const SCHEMA: &str = include_str!("../release-manifest.schema.json");

/// The manifest format's version; bumped on any incompatible change.
pub const FORMAT: u32 = 1;

/// One release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: u32,
    /// The project (its first package's name).
    pub project: String,
    /// The version, wharf's (Debian) syntax: `1.3.0~rc.1`.
    pub version: String,
    /// stable / prerelease / extra / development.
    pub class: Class,
    /// The channel it was published into (`stable` for the default repositories).
    pub channel: String,
    /// The git tag it was built from, if any.
    pub tag: Option<String>,
    /// The commit it was built from, if known.
    pub commit: Option<String>,
    /// The previous version tag (the changelog starts after it).
    pub previous: Option<String>,
    /// When: RFC 3339, UTC (`SOURCE_DATE_EPOCH`, else the commit's time).
    pub date: String,
    /// Every file of the release directory except the manifest, notes and sums themselves.
    pub artifacts: Vec<Artifact>,
    /// The changelog since `previous`.
    pub changelog: Changelog,
    /// Container images pushed with the release.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub images: Vec<Image>,
}

/// A container image of a release: its index in one registry repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Image {
    /// `registry/name`.
    pub repository: String,
    /// The image index's digest (`sha256:…`).
    pub digest: String,
    /// The tags it was pushed under.
    pub tags: Vec<String>,
    /// Each platform's image.
    pub platforms: Vec<ImagePlatform>,
}

/// One platform of an image.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImagePlatform {
    /// `linux/arm64/v8`.
    pub platform: String,
    /// Its manifest's digest.
    pub digest: String,
}

impl Image {
    /// The command that pulls exactly this image.
    #[must_use]
    pub fn pull(&self) -> String {
        format!("docker pull {}@{}", self.repository, self.digest)
    }
}

/// One file of a release.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The file name inside `releases/<version>/`.
    pub file: String,
    /// `deb`, `rpm`, `apk`, `apk3`, `ipk`, `pacman`, `tarball`, `archive` or `binary`.
    pub kind: String,
    /// The package name.
    pub package: String,
    /// The version in the family's own spelling (`1.0-1`, `1.0_rc1-r0`).
    pub version: String,
    /// The architecture in the family's own spelling (`amd64`, `x86_64`, `mipsel_24kc`).
    pub arch: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256, lowercase hex.
    pub sha256: String,
}

/// `SHA256SUMS`: one `<hex>  <file>` line per artifact, sorted by file name.
#[must_use]
pub fn sha256sums(artifacts: &[Artifact]) -> String {
    let mut lines: Vec<String> = artifacts
        .iter()
        .map(|a| format!("{}  {}\n", a.sha256, a.file))
        .collect();
    lines.sort_by(|a, b| a[66..].cmp(&b[66..]));
    lines.concat()
}

/// Bytes in a human unit (`1.4 MiB`).
#[must_use]
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    #[allow(clippy::cast_precision_loss)]
    let mut v = bytes as f64 / 1024.0;
    let mut unit = UNITS[0];
    for u in &UNITS[1..] {
        if v < 1024.0 {
            break;
        }
        v /= 1024.0;
        unit = u;
    }
    format!("{v:.1} {unit}")
}

impl Manifest {
    /// The release notes: heading, class, changelog, checksum table.
    #[must_use]
    pub fn notes(&self) -> String {
        let class = match self.class {
            Class::Stable => "stable release",
            Class::Prerelease => "pre-release",
            Class::Extra => "extra build",
            Class::Development => "development build",
        };
        let mut md = format!("# {} {}\n\n", self.project, self.version);
        md.push_str(&format!("A {class}, published to the `{}` channel", self.channel));
        match (&self.tag, &self.commit) {
            (Some(t), _) => md.push_str(&format!(" from tag `{t}`")),
            (None, Some(c)) => md.push_str(&format!(" from commit `{}`", &c[..c.len().min(12)])),
            (None, None) => {}
        }
        md.push_str(&format!(" on {}.\n\n", &self.date[..10.min(self.date.len())]));
        match &self.previous {
            Some(p) => md.push_str(&format!("## Changes since {p}\n\n")),
            None => md.push_str("## Changes\n\n"),
        }
        // The changelog's headings are `###`: they sit under the `##` above.
        md.push_str(&self.changelog.markdown());
        if !self.images.is_empty() {
            md.push_str("\n## Container images\n\n");
            for i in &self.images {
                let platforms: Vec<&str> = i.platforms.iter().map(|p| p.platform.as_str()).collect();
                md.push_str(&format!(
                    "- `{}` (tags {}; {}):\n\n  ```\n  {}\n  ```\n",
                    i.repository,
                    i.tags
                        .iter()
                        .map(|t| format!("`{t}`"))
                        .collect::<Vec<_>>()
                        .join(", "),
                    platforms.join(", "),
                    i.pull()
                ));
            }
        }
        md.push_str("\n## Checksums (SHA-256)\n\n| File | Size | SHA-256 |\n|---|---:|---|\n");
        let mut files: Vec<&Artifact> = self.artifacts.iter().collect();
        files.sort_by(|a, b| a.file.cmp(&b.file));
        for a in files {
            md.push_str(&format!(
                "| `{}` | {} | `{}` |\n",
                a.file,
                human_size(a.size),
                a.sha256
            ));
        }
        md.push_str("\nVerify the downloads with `sha256sum -c SHA256SUMS --ignore-missing`.\n");
        md
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_and_sizes() {
        let a = |file: &str, b: char| Artifact {
            file: file.into(),
            kind: "deb".into(),
            package: "x".into(),
            version: "1".into(),
            arch: "amd64".into(),
            size: 1,
            sha256: std::iter::repeat_n(b, 64).collect(),
        };
        let sums = sha256sums(&[a("z.deb", 'a'), a("b.rpm", 'f')]);
        assert_eq!(
            sums,
            format!("{}  b.rpm\n{}  z.deb\n", "f".repeat(64), "a".repeat(64))
        );
        assert_eq!(human_size(10), "10 B");
        assert_eq!(human_size(1536), "1.5 KiB");
        assert_eq!(human_size(3 * 1024 * 1024 * 1024), "3.0 GiB");
    }
}
