//! Architectures: one table from Rust target triples to every family's names.
//!
//! The table is data (design.md §3): Debian's names come from dpkg's `cputable`/`tupletable`, rpm's from
//! `rpmrc`, apk's from apk-tools' `apk_arch.h`, and OpenWrt's package architectures from its
//! `target/linux/*/Makefile` (`ARCH_PACKAGES`). Architecture-independent packages are [`Arch::All`].

use std::fmt;

use crate::Invalid;

/// The names one CPU/ABI carries in each package family.
#[derive(Debug, PartialEq, Eq)]
pub struct TargetArch {
    /// Rust target triples that produce binaries for this row.
    pub triples: &'static [&'static str],
    /// dpkg architecture (`Architecture:` in a .deb).
    pub deb: &'static str,
    /// rpm architecture.
    pub rpm: &'static str,
    /// apk architecture.
    pub apk: &'static str,
    /// OpenWrt package architectures this binary serves (empty where OpenWrt has none).
    pub openwrt: &'static [&'static str],
    /// A caveat to print when packaging for this row (e.g. ARMv6 packaged as Debian's ARMv7 `armhf`).
    pub warning: Option<&'static str>,
}

/// Every Linux target wharf maps. Keep in sync with design.md §3.
pub static TARGETS: &[TargetArch] = &[
    TargetArch {
        triples: &["x86_64-unknown-linux-gnu", "x86_64-unknown-linux-musl"],
        deb: "amd64",
        rpm: "x86_64",
        apk: "x86_64",
        openwrt: &["x86_64"],
        warning: None,
    },
    TargetArch {
        triples: &["i686-unknown-linux-gnu", "i686-unknown-linux-musl"],
        deb: "i386",
        rpm: "i686",
        apk: "x86",
        openwrt: &["i386_pentium4", "i386_pentium-mmx"],
        warning: None,
    },
    TargetArch {
        triples: &["aarch64-unknown-linux-gnu", "aarch64-unknown-linux-musl"],
        deb: "arm64",
        rpm: "aarch64",
        apk: "aarch64",
        openwrt: &[
            "aarch64_generic",
            "aarch64_cortex-a53",
            "aarch64_cortex-a53_neon-vfpv4",
            "aarch64_cortex-a72",
        ],
        warning: None,
    },
    TargetArch {
        triples: &["armv7-unknown-linux-gnueabihf", "armv7-unknown-linux-musleabihf"],
        deb: "armhf",
        rpm: "armv7hl",
        apk: "armv7",
        openwrt: &[
            "arm_cortex-a5_vfpv4",
            "arm_cortex-a7",
            "arm_cortex-a7_neon-vfpv4",
            "arm_cortex-a7_vfpv4",
            "arm_cortex-a8_vfpv3",
            "arm_cortex-a9",
            "arm_cortex-a9_neon",
            "arm_cortex-a9_vfpv3-d16",
            "arm_cortex-a15_neon-vfpv4",
        ],
        warning: None,
    },
    TargetArch {
        triples: &["arm-unknown-linux-gnueabihf", "arm-unknown-linux-musleabihf"],
        deb: "armhf",
        rpm: "armv6hl",
        apk: "armhf",
        openwrt: &["arm_arm1176jzf-s_vfp"],
        warning: Some(
            "Debian's armhf is ARMv7; an ARMv6 binary packaged as armhf runs on Raspberry Pi OS but is not what Debian's armhf users expect",
        ),
    },
    TargetArch {
        triples: &["mips-unknown-linux-musl", "mips-unknown-linux-gnu"],
        deb: "mips",
        rpm: "mips",
        apk: "mips",
        openwrt: &["mips_24kc"],
        warning: None,
    },
    TargetArch {
        triples: &["mipsel-unknown-linux-musl", "mipsel-unknown-linux-gnu"],
        deb: "mipsel",
        rpm: "mipsel",
        apk: "mipsel",
        openwrt: &["mipsel_24kc", "mips_siflower"],
        warning: None,
    },
    TargetArch {
        triples: &["riscv64gc-unknown-linux-gnu", "riscv64gc-unknown-linux-musl"],
        deb: "riscv64",
        rpm: "riscv64",
        apk: "riscv64",
        openwrt: &["riscv64_riscv64"],
        warning: None,
    },
    TargetArch {
        triples: &["powerpc64le-unknown-linux-gnu", "powerpc64le-unknown-linux-musl"],
        deb: "ppc64el",
        rpm: "ppc64le",
        apk: "ppc64le",
        openwrt: &[],
        warning: None,
    },
    TargetArch {
        triples: &["s390x-unknown-linux-gnu", "s390x-unknown-linux-musl"],
        deb: "s390x",
        rpm: "s390x",
        apk: "s390x",
        openwrt: &[],
        warning: None,
    },
    TargetArch {
        triples: &["loongarch64-unknown-linux-gnu", "loongarch64-unknown-linux-musl"],
        deb: "loong64",
        rpm: "loongarch64",
        apk: "loongarch64",
        openwrt: &["loongarch64_generic"],
        warning: None,
    },
];

/// The Rust triple of the machine this runs on (what a build without `--target` makes).
#[must_use]
pub fn host_triple() -> String {
    let cpu = match std::env::consts::ARCH {
        "x86" => "i686",
        "arm" => "armv7",
        "riscv64" => "riscv64gc",
        other => other,
    };
    let abi = if cpu.starts_with("arm") {
        "gnueabihf"
    } else {
        "gnu"
    };
    format!("{cpu}-unknown-linux-{abi}")
}

/// What a package is built for: one target, or any architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arch {
    /// Architecture-independent (`all` / `noarch`).
    All,
    /// Built for one target.
    Target(&'static TargetArch),
}

impl Arch {
    /// The architecture for a Rust target triple.
    pub fn from_triple(triple: &str) -> Result<Self, Invalid> {
        TARGETS
            .iter()
            .find(|t| t.triples.contains(&triple))
            .map(Arch::Target)
            .ok_or_else(|| {
                let known: Vec<&str> = TARGETS.iter().flat_map(|t| t.triples.iter().copied()).collect();
                Invalid::new(
                    "target",
                    triple,
                    format!("not a Linux target wharf knows; use one of: {}", known.join(", ")),
                )
            })
    }

    /// The architecture for a Debian name, or `all`.
    pub fn from_deb(name: &str) -> Result<Self, Invalid> {
        if name == "all" {
            return Ok(Arch::All);
        }
        TARGETS
            .iter()
            .find(|t| t.deb == name)
            .map(Arch::Target)
            .ok_or_else(|| {
                let known: Vec<&str> = TARGETS.iter().map(|t| t.deb).collect();
                Invalid::new(
                    "architecture",
                    name,
                    format!("use `all` or one of: {}", known.join(", ")),
                )
            })
    }

    /// The machine this runs on (for packaging host builds when no `--target` is given).
    pub fn host() -> Result<Self, Invalid> {
        Self::from_triple(&host_triple())
    }

    /// The rpm name (`noarch` for architecture-independent packages).
    #[must_use]
    pub fn rpm(self) -> &'static str {
        match self {
            Arch::All => "noarch",
            Arch::Target(t) => t.rpm,
        }
    }

    /// The Debian name.
    #[must_use]
    pub fn deb(self) -> &'static str {
        match self {
            Arch::All => "all",
            Arch::Target(t) => t.deb,
        }
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.deb())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_triple_is_unique_and_maps() {
        let mut seen = std::collections::HashSet::new();
        for t in TARGETS {
            for triple in t.triples {
                assert!(seen.insert(*triple), "{triple} twice");
                assert_eq!(Arch::from_triple(triple).unwrap(), Arch::Target(t));
            }
        }
        assert_eq!(
            Arch::from_triple("aarch64-unknown-linux-musl").unwrap().deb(),
            "arm64"
        );
        assert!(
            Arch::from_triple("x86_64-pc-windows-msvc")
                .unwrap_err()
                .to_string()
                .contains("one of")
        );
        assert_eq!(Arch::from_deb("all").unwrap(), Arch::All);
        assert!(Arch::host().is_ok());
    }

    #[test]
    fn seed_000_expands_to_18_openwrt_archs() {
        let triples = [
            "x86_64-unknown-linux-musl",
            "i686-unknown-linux-musl",
            "aarch64-unknown-linux-musl",
            "armv7-unknown-linux-musleabihf",
            "mips-unknown-linux-musl",
            "mipsel-unknown-linux-musl",
        ];
        let n: usize = triples
            .iter()
            .map(|t| match Arch::from_triple(t).unwrap() {
                Arch::Target(t) => t.openwrt.len(),
                Arch::All => 0,
            })
            .sum();
        assert_eq!(n, 1 + 2 + 4 + 9 + 1 + 2);
    }
}
