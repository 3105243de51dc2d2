//! End-to-end tests: the `wharf` binary against the real clients (apt, dpkg-deb, lintian, gpgv, sqv) and
//! the reference producer (nFPM). One test binary, one module per concern.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr)]

mod apk;
mod apk3;
mod apt;
mod artifacts;
mod bad_input;
mod channels;
mod ci;
mod cli;
mod cluster;
mod compression;
mod crash;
mod examples;
mod fuzz_regressions;
mod golden;
mod hardening;
mod image;
mod incremental;
mod keys;
mod lint;
mod multi;
mod opkg;
mod pacman;
mod release;
mod reproducible;
mod retention;
mod rotation;
mod rpm_repo;
mod s3;
mod schema;
mod serve;
mod signatures;
mod snapshots;
mod verify;
mod versions;
mod zero_config;

use std::path::{Path, PathBuf};
use std::process::Command;

use wharf_test::{Done, run, write};

/// A `wharf` command with a clean environment (no inherited SOURCE_DATE_EPOCH or CARGO_TARGET_DIR), and
/// the tests' own input cache rather than the user's. Every state is read in parts (keys first, the rest
/// when needed), as only large ones are by default: the tests' states are small.
pub fn wharf(cwd: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_wharf"));
    c.current_dir(cwd)
        .env_remove("SOURCE_DATE_EPOCH")
        .env_remove("CARGO_TARGET_DIR")
        .env(
            "WHARF_CACHE_DIR",
            concat!(env!("CARGO_TARGET_TMPDIR"), "/wharf-cache"),
        )
        .env("WHARF_STATE_PROBE", "64")
        .env("NO_COLOR", "1");
    c
}

/// Every kind's signing key made under `dir/keys` with `wharf key generate`, as the flags that name them.
pub fn key_flags(dir: &Path) -> Vec<String> {
    let keys = dir.join("keys");
    let k = keys.to_str().unwrap();
    for args in [
        &["key", "generate", "openpgp", "-o", k][..],
        &["key", "generate", "usign", "-o", k],
        &["key", "generate", "apk-rsa", "--bits", "2048", "-o", k],
        &["key", "generate", "apk-ec", "-o", k],
    ] {
        wharf_run(dir, args).success();
    }
    [
        ("--key", "secret.asc"),
        ("--usign-key", "key-build"),
        ("--apk-key", "wharf.rsa"),
        ("--apk3-key", "private-key.pem"),
    ]
    .into_iter()
    .flat_map(|(flag, file)| [flag.to_owned(), keys.join(file).display().to_string()])
    .collect()
}

/// Runs wharf with `args` in `cwd`.
pub fn wharf_run(cwd: &Path, args: &[&str]) -> Done {
    run(wharf(cwd).args(args))
}

/// The demo "binary": a script that exits before 1.2 MiB of comment lines, so that every package of it
/// carries a file large enough to be compressed once and spliced into each format's gzip payload
/// (wharf_package::splice) — every real client in these tests reads that layout.
pub fn demo_binary() -> Vec<u8> {
    let mut s = String::from("#!/bin/sh\necho demo says hi\nexit 0\n");
    let mut x = 0x2545_f491_u32;
    while s.len() < 1_200_000 {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        s.push_str(&format!(
            "# {x:08x} {:016x}\n",
            u64::from(x).wrapping_mul(0x9e37_79b9_7f4a_7c15)
        ));
    }
    s.into_bytes()
}

/// `demo-data`'s 1.1 MiB of random bytes: spliced in as stored blocks (incompressible pieces).
pub fn demo_blob() -> Vec<u8> {
    let mut x = 0x9e37_79b9_u32;
    (0..1_100_000)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x.to_le_bytes()[1]
        })
        .collect()
}

/// A wharf.toml project `demo` with a (script) binary already "built" under target/release.
pub fn demo_project(dir: &Path) -> PathBuf {
    write(&dir.join("target/release/demo"), demo_binary());
    write(&dir.join("conf/demo.conf"), "level = 1\n");
    write(&dir.join("data/blob.bin"), demo_blob());
    write(
        &dir.join("scripts/postinst"),
        "#!/bin/sh\nset -e\necho demo postinst ran\n",
    );
    let cfg = dir.join("wharf.toml");
    write(
        &cfg,
        r#"[project]
name = "demo"
version = "1.0.0"
maintainer = "Demo Maintainer <demo@example.org>"
summary = "a demonstration package"
description = """
A package built by wharf's tests.

It has a binary, a conffile and a postinst."""
homepage = "https://example.org/demo"
license = "MIT"

[apt]
valid-for-days = 7

[keys]
throwaway = true

[[package]]
section = "utils"

[[package.files]]
src = "target/release/demo"
dst = "/usr/bin/"

[[package.files]]
src = "conf/demo.conf"
dst = "/etc/demo/demo.conf"
config = true

[[package.symlinks]]
path = "/usr/bin/demo-link"
target = "demo"

[package.scripts]
postinst = "scripts/postinst"

[[package]]
name = "demo-data"
summary = "architecture-independent data for demo"
arch-all = true

[[package.files]]
src = "conf/demo.conf"
dst = "/usr/share/demo-data/example.conf"

[[package.files]]
src = "data/blob.bin"
dst = "/usr/share/demo-data/blob.bin"
"#,
    );
    cfg
}

pub use wharf_test::find_deb;
