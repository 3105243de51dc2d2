//! The package formats wharf writes: one closed list, named the same from the configuration
//! (`formats = ["deb", "rpm"]`) and the command line (`--format apk3`) to every report and manifest.

use std::fmt;

/// A package format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
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
}

impl Format {
    /// Every format, in the order wharf lists them.
    pub const ALL: [Self; 5] = [Self::Deb, Self::Rpm, Self::Ipk, Self::Apk, Self::Apk3];

    /// Its name (`deb`, `apk3`): the configuration's and the manifest's spelling.
    #[must_use]
    pub const fn name(self) -> &'static str {
        match self {
            Self::Deb => "deb",
            Self::Rpm => "rpm",
            Self::Ipk => "ipk",
            Self::Apk => "apk",
            Self::Apk3 => "apk3",
        }
    }

    /// The file extension its packages carry (apk v2 and v3 share `apk`).
    #[must_use]
    pub const fn extension(self) -> &'static str {
        match self {
            Self::Apk3 => "apk",
            f => f.name(),
        }
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
    }
}
