//! The package formats wharf writes and the repository kinds it keeps: one closed list each, named the
//! same from the configuration (`formats = ["deb", "rpm"]`) and the command line (`--format apk3`) to
//! every report and manifest.

use std::fmt;

/// A package format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum Format {
    /// Debian .deb.
    Deb,
    /// RPM v4 .rpm.
    Rpm,
    /// OpenWrt .ipk, one per OpenWrt architecture of each target.
    Ipk,
    /// Alpine apk v2, signed with an RSA key (one per apk architecture of each target, see `[apk] arch-names`).
    Apk,
    /// apk v3 / ADB (OpenWrt ≥ 25.12), one per OpenWrt architecture of each target.
    Apk3,
    /// Arch Linux `.pkg.tar.zst`.
    Pacman,
}

impl Format {
    /// Every format, in the order wharf lists them.
    pub const ALL: [Self; 6] = [
        Self::Deb,
        Self::Rpm,
        Self::Ipk,
        Self::Apk,
        Self::Apk3,
        Self::Pacman,
    ];

    /// Its name (`deb`, `apk3`): the configuration's and the manifest's spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Rpm => "rpm",
            Self::Ipk => "ipk",
            Self::Apk => "apk",
            Self::Apk3 => "apk3",
            Self::Pacman => "pacman",
        }
    }

    /// The end of its packages' file names (apk v2 and v3 share `.apk`).
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Deb => ".deb",
            Self::Rpm => ".rpm",
            Self::Ipk => ".ipk",
            Self::Apk | Self::Apk3 => ".apk",
            Self::Pacman => ".pkg.tar.zst",
        }
    }

    /// The format a file name says (`.apk` as apk v2: only its bytes tell v3 apart).
    #[must_use]
    pub fn of_file_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| name.ends_with(f.extension()))
    }
}

impl Format {
    /// The kind of repository its packages are published in.
    #[must_use]
    pub const fn repo_kind(self) -> RepoKind {
        match self {
            Self::Deb => RepoKind::Apt,
            Self::Rpm => RepoKind::RpmMd,
            Self::Ipk => RepoKind::Opkg,
            Self::Apk => RepoKind::Apk,
            Self::Apk3 => RepoKind::Apk3,
            Self::Pacman => RepoKind::Pacman,
        }
    }
}

/// A release archive's container (`[[release.archives]] format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ArchiveFormat {
    /// `.tar.gz`.
    #[default]
    #[serde(rename = "tar.gz")]
    TarGz,
    /// `.tar.xz`.
    #[serde(rename = "tar.xz")]
    TarXz,
    /// `.tar.zst`.
    #[serde(rename = "tar.zst")]
    TarZst,
    /// `.zip` (deflate).
    #[serde(rename = "zip")]
    Zip,
}

impl ArchiveFormat {
    /// The file name ending (the serde name).
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::TarGz => "tar.gz",
            Self::TarXz => "tar.xz",
            Self::TarZst => "tar.zst",
            Self::Zip => "zip",
        }
    }
}

/// Where a release archive's files go (`[[release.archives]] layout`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub enum ArchiveLayout {
    /// Regular files and links by their file name alone (`app`); two of one name are an error.
    #[default]
    Flat,
    /// At their install paths (`usr/bin/app`, `etc/app.conf`).
    Paths,
}

/// A kind of package repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RepoKind {
    /// An apt repository (`dists/`, `pool/`).
    Apt,
    /// rpm-md repositories (`<repo>/repodata/`), for dnf and zypper.
    RpmMd,
    /// opkg feeds (`opkg/<arch>/Packages`).
    Opkg,
    /// apk v2 repositories (`apk/<arch>/APKINDEX.tar.gz`).
    Apk,
    /// apk v3 repositories (`apk3/<arch>/packages.adb`).
    Apk3,
    /// pacman repositories (`pacman/<arch>/<repo>.db`).
    Pacman,
}

impl RepoKind {
    /// Every kind, in the order wharf publishes and reports them.
    pub const ALL: [Self; 6] = [
        Self::Apt,
        Self::RpmMd,
        Self::Opkg,
        Self::Apk,
        Self::Apk3,
        Self::Pacman,
    ];

    /// Its name in reports (`apt`, `rpm-md`, `apk3`).
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Apt => "apt",
            Self::RpmMd => "rpm-md",
            Self::Opkg => "opkg",
            Self::Apk => "apk",
            Self::Apk3 => "apk3",
            Self::Pacman => "pacman",
        }
    }

    /// The kind of key that signs its indexes.
    #[must_use]
    pub const fn signer(self) -> Signer {
        match self {
            Self::Apt | Self::RpmMd | Self::Pacman => Signer::OpenPgp,
            Self::Opkg => Signer::Usign,
            Self::Apk => Signer::ApkRsa,
            Self::Apk3 => Signer::ApkEc,
        }
    }
}

/// A kind of signing key: each repository kind's indexes (and packages, where they are signed) are
/// signed by one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Signer {
    /// OpenPGP (apt, rpm-md, pacman).
    OpenPgp,
    /// usign / signify Ed25519 (opkg feeds).
    Usign,
    /// RSA, PKCS#1 v1.5 (apk v2).
    ApkRsa,
    /// ECDSA P-256 (apk v3).
    ApkEc,
}

impl Signer {
    /// Every kind of key.
    pub const ALL: [Self; 4] = [Self::OpenPgp, Self::Usign, Self::ApkRsa, Self::ApkEc];
}

impl fmt::Display for RepoKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::Format;

    #[test]
    fn names_are_the_serde_names() {
        for f in Format::ALL {
            assert_eq!(serde_json::to_value(f).unwrap(), f.name());
        }
        for k in super::RepoKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.name());
        }
    }
}
