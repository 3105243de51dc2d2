//! `wharf ci generate|check` and the forge release: a CI pipeline made from the project's wharf.toml, and
//! the `gh`/`glab` command line that publishes a release's notes and files on the forge.
//!
//! The pipeline has a build job per `[release] targets` entry — on a runner of the target's architecture
//! where the forge has one (GitHub's `ubuntu-24.04-arm` for aarch64), else a cross build (`cross` on
//! GitHub, whose runners have Docker; `cargo zigbuild` on GitLab, whose shared runners do not); tier-3
//! targets on nightly with `-Z build-std` — that builds, checks that `wharf package` takes the target's
//! files, and hands them on; and one release job, on version tags only, that gets every target's files
//! and runs `wharf release --forge-release …` into the configured store. GitHub: actions pinned by commit,
//! `permissions: contents: read` except the release job's `contents: write`, no persisted credentials, one
//! concurrency group (wharf's release lock already serializes releases of one store; the group keeps two
//! tags from interleaving their forge releases). Secrets reach a step only as environment variables and
//! are written to the key files with `umask 077`, never echoed. The text is a function of the project
//! alone, so `wharf ci check` can say whether a committed file is the one `generate` writes.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use wharf_config::{PackageTemplate, Project};
use wharf_release::classify::Class;
use wharf_release::manifest::Manifest;

/// A forge (CI system and release host).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forge {
    Github,
    Gitlab,
}

impl Forge {
    /// Where its pipeline file lives.
    #[must_use]
    pub fn default_path(self) -> &'static str {
        match self {
            Self::Github => ".github/workflows/release.yml",
            Self::Gitlab => ".gitlab-ci.yml",
        }
    }

    /// Its release CLI.
    #[must_use]
    pub fn cli(self) -> &'static str {
        match self {
            Self::Github => "gh",
            Self::Gitlab => "glab",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Github => "github",
            Self::Gitlab => "gitlab",
        }
    }
}

/// Pinned actions: (name, commit, the tag it is).
const CHECKOUT: (&str, &str, &str) = (
    "actions/checkout",
    "11bd71901bbe5b1630ceea73d27597364c9af683",
    "v4.2.2",
);
const UPLOAD: (&str, &str, &str) = (
    "actions/upload-artifact",
    "ea165f8d65b6e75b540449e92b4886f43607fa02",
    "v4.6.2",
);
const DOWNLOAD: (&str, &str, &str) = (
    "actions/download-artifact",
    "d3f86a106a0bac45b974a628896c90dbdf5c8093",
    "v4.3.0",
);
/// `cross`, pinned.
const CROSS: &str = "cargo install cross --locked --version 0.2.5";
/// `cargo zigbuild` with its zig, pinned.
const ZIGBUILD: &str = "pip install --break-system-packages cargo-zigbuild==0.20.1";

/// Rust targets at tier 3 that wharf packages for (no std from rustup: nightly and `-Z build-std`).
const TIER3: &[&str] = &[
    "mips-unknown-linux-musl",
    "mipsel-unknown-linux-musl",
    "mips64-unknown-linux-muslabi64",
    "mips64el-unknown-linux-muslabi64",
    "mips-unknown-linux-gnu",
    "mipsel-unknown-linux-gnu",
    "armv5te-unknown-linux-musleabi",
    "powerpc-unknown-linux-musl",
];

/// How one target is built.
struct Job {
    /// The triple (None: the host's, `cargo build` without `--target`).
    target: Option<String>,
    /// The runner label (GitHub: only whether it is the arm64 one) or tag (GitLab) of its architecture, if
    /// not the default amd64 one.
    runner: Option<&'static str>,
    /// The command that installs the cross tool, if any.
    tool: Option<&'static str>,
    /// The build command.
    build: String,
    /// The files the packages take from the build, relative to the project.
    outputs: Vec<String>,
}

/// The native runner of `target`'s architecture on `forge`, when the forge has one.
fn native_runner(forge: Forge, target: &str) -> Option<Option<&'static str>> {
    let arch = target.split('-').next().unwrap_or("");
    match (forge, arch) {
        (_, "x86_64") => Some(None),
        (Forge::Github, "aarch64") => Some(Some("ubuntu-24.04-arm")),
        (Forge::Gitlab, "aarch64") => Some(Some("saas-linux-small-arm64")),
        _ => None,
    }
}

fn jobs(project: &Project, forge: Forge) -> anyhow::Result<Vec<Job>> {
    let cargo = project.dir.join("Cargo.toml").is_file();
    // `--locked` where there is a lock file to hold the build to.
    let locked = if project.dir.join("Cargo.lock").is_file() {
        " --locked"
    } else {
        ""
    };
    let targets: Vec<Option<String>> = if project.release.targets.is_empty() {
        vec![None]
    } else {
        project.release.targets.iter().cloned().map(Some).collect()
    };
    targets
        .into_iter()
        .map(|target| {
            let t = target.as_deref();
            let native = t.map_or(Some(None), |t| native_runner(forge, t));
            let tier3 = t.is_some_and(|t| TIER3.contains(&t));
            let (tool, build) = match (&project.ci.build, t) {
                (Some(b), Some(t)) => (None, b.replace("{target}", t)),
                (Some(b), None) => {
                    if b.contains("{target}") {
                        bail!("[ci] build names {{target}}, but [release] targets is empty: list the targets");
                    }
                    (None, b.clone())
                }
                (None, _) if !cargo => bail!(
                    "{} is not a Cargo project: say how a target is built in [ci] build (`make TARGET={{target}}`)",
                    project.dir.display()
                ),
                (None, None) => (None, format!("cargo build --release{locked}")),
                (None, Some(t)) => {
                    let nightly = if tier3 { " +nightly" } else { "" };
                    let std = if tier3 { " -Z build-std" } else { "" };
                    match (native.is_some(), forge) {
                        (true, _) => (None, format!("cargo{nightly} build --release{locked} --target {t}{std}")),
                        (false, Forge::Github) => (
                            Some(CROSS),
                            format!("cross{nightly} build --release{locked} --target {t}{std}"),
                        ),
                        (false, Forge::Gitlab) => (
                            Some(ZIGBUILD),
                            format!("cargo{nightly} zigbuild --release{locked} --target {t}{std}"),
                        ),
                    }
                }
            };
            Ok(Job {
                outputs: outputs(project, t)?,
                runner: native.flatten(),
                tool,
                build,
                target,
            })
        })
        .collect()
}

/// The files the project's packages and release binaries take from the build of `target` (under `target/`
/// or named by a `{target}`-like placeholder), relative to the project: what a build job hands on.
fn outputs(project: &Project, target: Option<&str>) -> anyhow::Result<Vec<String>> {
    let mut srcs: Vec<PathBuf> = Vec::new();
    for template in &project.packages {
        if let Some(t) = target
            && !template.targets.is_empty()
            && !template.targets.iter().any(|x| x == t)
        {
            continue;
        }
        srcs.extend(template.files.iter().map(|f| f.src.clone()));
    }
    srcs.extend(project.release.binaries.iter().map(|b| b.src.clone()));
    let mut out: Vec<String> = Vec::new();
    // Build outputs only: what lies under target/ or names the target; the rest is in the checkout.
    for src in srcs
        .into_iter()
        .filter(|s| s.starts_with("target") || s.to_string_lossy().contains('{'))
    {
        let expanded = PackageTemplate::expand(&src, target)
            .map_err(|hint| anyhow::anyhow!("`{}`{hint}", src.display()))?;
        let located = PackageTemplate::locate(&expanded, Path::new(""), Path::new("target"), target);
        if located.is_absolute() {
            continue;
        }
        let text = located.to_string_lossy().into_owned();
        if !out.contains(&text) {
            out.push(text);
        }
    }
    out.sort();
    Ok(out)
}

/// `s` as a YAML double-quoted scalar.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// The steps (shell lines) that write each configured key file from its secret, when the secret is set.
fn key_lines(project: &Project) -> Vec<(String, String)> {
    let k = &project.keys;
    [
        ("WHARF_KEY_OPENPGP", &k.openpgp),
        ("WHARF_KEY_USIGN", &k.usign),
        ("WHARF_KEY_APK", &k.apk),
        ("WHARF_KEY_APK3", &k.apk3),
    ]
    .into_iter()
    .filter_map(|(var, path)| {
        let path = path.as_ref()?;
        let rel = path.strip_prefix(&project.dir).unwrap_or(path);
        Some((var.to_owned(), rel.to_string_lossy().into_owned()))
    })
    .collect()
}

/// The shell lines that write each key file from its secret (when the secret is set; `umask 077`).
fn write_keys(project: &Project) -> Vec<String> {
    key_lines(project)
        .into_iter()
        .map(|(var, path)| {
            format!(
                "if [ -n \"${{{var}:-}}\" ]; then (umask 077; mkdir -p \"$(dirname {p})\"; printf '%s\\n' \"${var}\" > {p}); fi",
                p = shell_word(&path)
            )
        })
        .collect()
}

/// The build job's packaging (`package`, the command): the keys written (packages are signed when built:
/// apk, rpm with a key), the packages, the keys removed again so no later step or artifact holds them
/// (throwaway keys stay: the project makes them on first use).
fn package_script(project: &Project, package: String) -> Vec<String> {
    let mut lines = write_keys(project);
    lines.push(package);
    let paths: Vec<String> = key_lines(project).iter().map(|(_, p)| shell_word(p)).collect();
    if !paths.is_empty() && !project.keys.throwaway {
        lines.push(format!("rm -f {}", paths.join(" ")));
    }
    lines
}

/// The release job's shell: key files from their secrets, then the release and the forge release.
fn release_script(project: &Project, forge: Forge) -> Vec<String> {
    let mut lines = write_keys(project);
    let registry = if project.image.push.is_empty() {
        ""
    } else {
        " ${WHARF_REGISTRY_USER:+--registry-user \"$WHARF_REGISTRY_USER\"}"
    };
    lines.push(format!(
        "wharf release ${{WHARF_STORE:+--to \"$WHARF_STORE\"}} ${{WHARF_BASE_URL:+--base-url \"$WHARF_BASE_URL\"}}{registry} --forge-release {}",
        forge.name()
    ));
    lines
}

/// `s` quoted for a POSIX shell when it needs it.
fn shell_word(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+".contains(&b))
    {
        s.to_owned()
    } else {
        format!("'{}'", s.replace('\'', "'\\''"))
    }
}

/// The pipeline for `forge` (see the module doc).
pub fn generate(project: &Project, forge: Forge) -> anyhow::Result<String> {
    let install = project.ci.install.clone().with_context(|| {
        format!(
            "{}: [ci] install: say how the pipeline gets wharf (`cargo install --locked --git <wharf's repository> wharf`, a download…)",
            project.source.display()
        )
    })?;
    let jobs = jobs(project, forge)?;
    Ok(match forge {
        Forge::Github => github(project, &jobs, &install),
        Forge::Gitlab => gitlab(project, &jobs, &install),
    })
}

fn header(forge: Forge) -> String {
    format!(
        "# Made by `wharf ci generate {0}` from wharf.toml: change wharf.toml and generate again.\n# `wharf ci check {0}` fails while this file differs from what generate writes.\n",
        forge.name()
    )
}

fn action((name, commit, tag): (&str, &str, &str)) -> String {
    format!("{name}@{commit} # {tag}")
}

fn github(project: &Project, jobs: &[Job], install: &str) -> String {
    let mut y = header(Forge::Github);
    let prefix = &project.release.tag_prefix;
    let _ = write!(
        y,
        "name: release\non:\n  push:\n    tags:\n      - {}\n  workflow_dispatch: {{}}\npermissions:\n  contents: read\n",
        quoted(&format!("{prefix}*"))
    );
    y.push_str(
        "# One release at a time. wharf's release lock already keeps two releases of one store from mixing;\n# this keeps their forge releases in order too.\nconcurrency:\n  group: wharf-release\n  cancel-in-progress: false\njobs:\n",
    );
    y.push_str("  build:\n    name: build ${{ matrix.target }}\n    runs-on: ${{ matrix.arm && 'ubuntu-24.04-arm' || 'ubuntu-latest' }}\n    strategy:\n      fail-fast: true\n      matrix:\n        include:\n");
    for j in jobs {
        let _ = writeln!(
            y,
            "          - target: {}\n            arm: {}\n            tool: {}\n            build: {}\n            outputs: {}",
            quoted(j.target.as_deref().unwrap_or("host")),
            j.runner.is_some(),
            quoted(j.tool.unwrap_or("")),
            quoted(&j.build),
            quoted(&j.outputs.join(" "))
        );
        if let Some(t) = j.target.as_deref().filter(|t| TIER3.contains(t)) {
            let _ = writeln!(
                y,
                "            # {t} is a tier-3 target: nightly and -Z build-std"
            );
        }
    }
    let _ = write!(
        y,
        "    steps:\n      - uses: {}\n        with:\n          persist-credentials: false\n",
        action(CHECKOUT)
    );
    if project.dir.join("Cargo.toml").is_file() {
        y.push_str("      - name: Rust target\n        if: matrix.target != 'host'\n        env:\n          TARGET: ${{ matrix.target }}\n        run: rustup target add \"$TARGET\"\n");
    }
    y.push_str("      - name: Cross tool\n        if: matrix.tool != ''\n        env:\n          TOOL: ${{ matrix.tool }}\n        run: sh -c \"$TOOL\"\n");
    y.push_str("      - name: Build\n        env:\n          BUILD: ${{ matrix.build }}\n        run: sh -c \"$BUILD\"\n");
    let _ = write!(
        y,
        "      - name: Install wharf\n        run: {}\n",
        quoted(install)
    );
    y.push_str("      - name: Package (every package of the target builds)\n        env:\n          TARGET: ${{ matrix.target }}\n");
    for (var, _) in key_lines(project) {
        let _ = writeln!(y, "          {var}: ${{{{ secrets.{var} }}}}");
    }
    y.push_str("        run: |\n");
    let package = "if [ \"$TARGET\" = host ]; then wharf package -o dist/check; else wharf package --target \"$TARGET\" -o dist/check; fi";
    for line in package_script(project, package.to_owned()) {
        let _ = writeln!(y, "          {line}");
    }
    y.push_str("      - name: Collect the build's files\n        env:\n          TARGET: ${{ matrix.target }}\n          OUTPUTS: ${{ matrix.outputs }}\n        run: |\n          # shellcheck disable=SC2086\n          tar -cf \"build-$TARGET.tar\" $OUTPUTS\n");
    let _ = write!(
        y,
        "      - uses: {}\n        with:\n          name: build-${{{{ matrix.target }}}}\n          path: build-${{{{ matrix.target }}}}.tar\n          if-no-files-found: error\n          retention-days: 7\n      - uses: {}\n        with:\n          name: packages-${{{{ matrix.target }}}}\n          path: dist/check/\n          if-no-files-found: error\n          retention-days: 7\n",
        action(UPLOAD),
        action(UPLOAD)
    );
    let _ = write!(
        y,
        "  release:\n    needs: build\n    if: startsWith(github.ref, 'refs/tags/')\n    runs-on: ubuntu-latest\n    permissions:\n      contents: write\n    steps:\n      - uses: {}\n        with:\n          persist-credentials: false\n          fetch-depth: 0\n      - uses: {}\n        with:\n          pattern: build-*\n          merge-multiple: true\n      - name: Unpack every target's files\n        run: for t in build-*.tar; do tar -xf \"$t\"; done\n      - name: Install wharf\n        run: {}\n      - name: Release\n        # Repository secrets; unset ones are left to wharf.toml ([publish] to, base-url, s3-endpoint).\n        env:\n          GH_TOKEN: ${{{{ github.token }}}}\n          WHARF_STORE: ${{{{ secrets.WHARF_STORE }}}}\n          WHARF_BASE_URL: ${{{{ secrets.WHARF_BASE_URL }}}}\n          AWS_ENDPOINT_URL: ${{{{ secrets.AWS_ENDPOINT_URL }}}}\n          AWS_ACCESS_KEY_ID: ${{{{ secrets.AWS_ACCESS_KEY_ID }}}}\n          AWS_SECRET_ACCESS_KEY: ${{{{ secrets.AWS_SECRET_ACCESS_KEY }}}}\n",
        action(CHECKOUT),
        action(DOWNLOAD),
        quoted(install)
    );
    for (var, _) in key_lines(project) {
        let _ = writeln!(y, "          {var}: ${{{{ secrets.{var} }}}}");
    }
    if !project.image.push.is_empty() {
        y.push_str("          WHARF_REGISTRY_USER: ${{ secrets.WHARF_REGISTRY_USER }}\n          WHARF_REGISTRY_PASSWORD: ${{ secrets.WHARF_REGISTRY_PASSWORD }}\n");
    }
    y.push_str("        run: |\n");
    for line in release_script(project, Forge::Github) {
        let _ = writeln!(y, "          {line}");
    }
    y
}

fn gitlab(project: &Project, jobs: &[Job], install: &str) -> String {
    let mut y = header(Forge::Gitlab);
    let prefix = regex_escape(&project.release.tag_prefix);
    y.push_str("stages:\n  - build\n  - release\n");
    let _ = writeln!(
        y,
        "workflow:\n  rules:\n    - if: {}\n",
        quoted(&format!("$CI_COMMIT_TAG =~ /^{prefix}/"))
    );
    let mut names = Vec::new();
    for j in jobs {
        let name = format!("build:{}", j.target.as_deref().unwrap_or("host"));
        let _ = writeln!(y, "{}:\n  stage: build\n  image: rust:1-bookworm", quoted(&name));
        if let Some(tag) = j.runner {
            let _ = writeln!(y, "  tags:\n    - {tag}");
        }
        if let Some(t) = j.target.as_deref().filter(|t| TIER3.contains(t)) {
            let _ = writeln!(y, "  # {t} is a tier-3 target: nightly and -Z build-std");
        }
        y.push_str("  script:\n");
        if let Some(t) = &j.target
            && project.dir.join("Cargo.toml").is_file()
        {
            let _ = writeln!(y, "    - {}", quoted(&format!("rustup target add {t}")));
        }
        if let Some(tool) = j.tool {
            let _ = writeln!(y, "    - {}", quoted(tool));
        }
        let _ = writeln!(y, "    - {}", quoted(&j.build));
        let _ = writeln!(y, "    - {}", quoted(install));
        let package = match &j.target {
            Some(t) => format!("wharf package --target {t} -o dist/check"),
            None => "wharf package -o dist/check".to_owned(),
        };
        for line in package_script(project, package) {
            let _ = writeln!(y, "    - {}", quoted(&line));
        }
        y.push_str("  artifacts:\n    expire_in: 1 week\n    paths:\n      - \"dist/check/\"\n");
        for o in &j.outputs {
            let _ = writeln!(y, "      - {}", quoted(o));
        }
        y.push('\n');
        names.push(name);
    }
    let _ = writeln!(
        y,
        "release:\n  stage: release\n  image: rust:1-bookworm\n  needs:"
    );
    for n in &names {
        let _ = writeln!(y, "    - {}", quoted(n));
    }
    y.push_str("  variables:\n    GIT_DEPTH: \"0\"\n  # Settings: WHARF_STORE, WHARF_BASE_URL, AWS_ENDPOINT_URL; masked: AWS_ACCESS_KEY_ID,\n  # AWS_SECRET_ACCESS_KEY, GITLAB_TOKEN (glab) and each WHARF_KEY_* the keys below need.\n  script:\n");
    let _ = writeln!(y, "    - {}", quoted(install));
    for line in release_script(project, Forge::Gitlab) {
        let _ = writeln!(y, "    - {}", quoted(&line));
    }
    y
}

/// `s` with the characters a GitLab (RE2) regex gives meaning escaped.
fn regex_escape(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$/".contains(c);
            special.then_some('\\').into_iter().chain(std::iter::once(c))
        })
        .collect()
}

/// Writes `text` to `path` (its directory made; through a temporary name, so a reader never sees half),
/// unless it holds `text` already: whether it changed.
pub fn write(path: &Path, text: &str) -> anyhow::Result<bool> {
    if std::fs::read_to_string(path).is_ok_and(|t| t == text) {
        return Ok(false);
    }
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let tmp = dir.join(format!(
        ".{}.tmp-wharf",
        path.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(true)
}

/// Whether the file at `path` is what [`generate`] writes: `Err` says how it differs.
pub fn check(path: &Path, generated: &str) -> anyhow::Result<()> {
    let committed =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    if committed == generated {
        return Ok(());
    }
    let line = committed
        .lines()
        .zip(generated.lines())
        .position(|(a, b)| a != b)
        .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()))
        + 1;
    bail!(
        "{} is not what `wharf ci generate` writes (from line {line}); generate it again",
        path.display()
    )
}

/// The forge CLI's command line that publishes release `m` (its tag, `notes` as the description, `files`
/// as assets; a prerelease marked so on GitHub; a draft left a draft).
pub fn forge_command(
    forge: Forge,
    m: &Manifest,
    notes: &Path,
    files: &[PathBuf],
    draft: bool,
) -> anyhow::Result<Vec<String>> {
    let tag = m.tag.as_deref().with_context(|| {
        format!(
            "release {} has no git tag: a forge release is made of a tag",
            m.version
        )
    })?;
    let title = format!("{} {}", m.project, m.version);
    let notes = notes.to_string_lossy().into_owned();
    let files = files.iter().map(|f| f.to_string_lossy().into_owned());
    Ok(match forge {
        Forge::Github => {
            let mut v: Vec<String> = [
                "gh",
                "release",
                "create",
                tag,
                "--verify-tag",
                "--title",
                &title,
                "--notes-file",
                &notes,
            ]
            .map(str::to_owned)
            .to_vec();
            if m.class == Class::Prerelease {
                v.push("--prerelease".into());
            }
            if draft {
                v.push("--draft".into());
            }
            v.push("--".into());
            v.extend(files);
            v
        }
        Forge::Gitlab => {
            let mut v: Vec<String> = [
                "glab",
                "release",
                "create",
                tag,
                "--name",
                &title,
                "--notes-file",
                &notes,
            ]
            .map(str::to_owned)
            .to_vec();
            if draft {
                // GitLab has no drafts: an upcoming release is the nearest (released_at in the future is
                // not wharf's to choose), so a draft is not sent.
                bail!(
                    "GitLab has no draft releases: publish the draft first (`wharf release publish {}`)",
                    m.version
                );
            }
            v.extend(files);
            v
        }
    })
}

/// Runs the forge release of `m`: its notes written beside `dir`'s files, the command from
/// [`forge_command`].
pub fn forge_release(forge: Forge, m: &Manifest, dir: &Path, draft: bool) -> anyhow::Result<Vec<String>> {
    let notes = dir.join("notes.md");
    std::fs::write(&notes, m.notes()).with_context(|| format!("cannot write {}", notes.display()))?;
    let sums = dir.join("SHA256SUMS");
    std::fs::write(&sums, wharf_release::manifest::sha256sums(&m.artifacts))
        .with_context(|| format!("cannot write {}", sums.display()))?;
    let mut files: Vec<PathBuf> = m
        .artifacts
        .iter()
        .map(|a| dir.join(&a.file))
        .filter(|p| p.is_file())
        .collect();
    files.push(sums);
    let argv = forge_command(forge, m, &notes, &files, draft)?;
    let status = std::process::Command::new(&argv[0])
        .args(&argv[1..])
        .status()
        .with_context(|| format!("cannot run {} (is it installed?)", forge.cli()))?;
    if !status.success() {
        bail!(
            "{} release create failed ({status}); the release itself is published — run it again by hand",
            forge.cli()
        );
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;
    use wharf_release::changelog::Changelog;

    fn manifest(class: Class) -> Manifest {
        Manifest {
            format: 1,
            project: "demo".into(),
            version: "1.2.0~rc.1".into(),
            class,
            channel: "prerelease".into(),
            tag: Some("v1.2.0-rc.1".into()),
            commit: None,
            previous: None,
            date: "2026-01-02T03:04:05Z".into(),
            artifacts: Vec::new(),
            changelog: Changelog {
                breaking: Vec::new(),
                groups: Vec::new(),
            },
            images: Vec::new(),
        }
    }

    #[test]
    fn forge_command_lines() {
        let m = manifest(Class::Prerelease);
        let files = [PathBuf::from("dist/a.deb"), PathBuf::from("dist/SHA256SUMS")];
        let gh = forge_command(Forge::Github, &m, Path::new("dist/notes.md"), &files, false).unwrap();
        assert_eq!(
            gh,
            [
                "gh",
                "release",
                "create",
                "v1.2.0-rc.1",
                "--verify-tag",
                "--title",
                "demo 1.2.0~rc.1",
                "--notes-file",
                "dist/notes.md",
                "--prerelease",
                "--",
                "dist/a.deb",
                "dist/SHA256SUMS"
            ]
        );
        let stable = manifest(Class::Stable);
        let gh = forge_command(Forge::Github, &stable, Path::new("n.md"), &[], true).unwrap();
        assert_eq!(&gh[9..], ["--draft", "--"]);
        let glab = forge_command(Forge::Gitlab, &m, Path::new("dist/notes.md"), &files, false).unwrap();
        assert_eq!(
            glab,
            [
                "glab",
                "release",
                "create",
                "v1.2.0-rc.1",
                "--name",
                "demo 1.2.0~rc.1",
                "--notes-file",
                "dist/notes.md",
                "dist/a.deb",
                "dist/SHA256SUMS"
            ]
        );
        assert!(forge_command(Forge::Gitlab, &m, Path::new("n.md"), &[], true).is_err());
        let mut untagged = manifest(Class::Development);
        untagged.tag = None;
        assert!(forge_command(Forge::Github, &untagged, Path::new("n.md"), &[], false).is_err());
    }

    #[test]
    fn regexes_and_words() {
        assert_eq!(regex_escape("v"), "v");
        assert_eq!(regex_escape("release/v1.+"), "release\\/v1\\.\\+");
        assert_eq!(shell_word("keys/secret.asc"), "keys/secret.asc");
        assert_eq!(shell_word("my keys/it's"), "'my keys/it'\\''s'");
    }
}
