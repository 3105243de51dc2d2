//! The command line, as data (clap derive). Every closed choice is a `ValueEnum`.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// wharf takes built binaries to users: packages, signed repositories, publishing.
#[derive(Debug, Parser)]
#[command(name = "wharf", version, about, long_about = None, after_help = EXIT_CODES)]
pub struct Cli {
    #[command(flatten, next_help_heading = "Global options")]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

pub const EXIT_CODES: &str =
    "Exit codes: 0 success; 1 failure (the error is printed on stderr); 2 invalid command line.";

#[derive(Debug, Args)]
pub struct Global {
    /// Print results as JSON on stdout (one document per command).
    #[arg(long, global = true)]
    pub json: bool,
    /// More detail on stderr (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
    /// When to colour stderr.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when stderr is a terminal.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Write a commented wharf.toml for the project in the current directory.
    Init(InitArgs),
    /// Build packages from the project's binaries.
    Package(PackageArgs),
    /// Publish packages into a signed repository (packaging the project first when none are given).
    Publish(Box<PublishArgs>),
    /// Apply retention (`--keep N`) to every package in a store, and delete replaced files whose grace
    /// period has passed; `--dry-run` lists exactly what would go.
    Prune(Box<PruneArgs>),
    /// Copy a published version from one channel to another (`--from dev --to stable`): the same bytes,
    /// re-indexed and re-signed, never rebuilt.
    Promote(Box<PromoteArgs>),
    /// Release the project: version and changelog from git, every package and tarball, the repositories,
    /// then `releases/<version>/` (SHA256SUMS, manifest.json, notes.md), the channel's `latest` pointer,
    /// the release page (index.html) and install.sh.
    Release(Box<ReleaseArgs>),
    /// Serve a published repository over HTTP, read-only (a directory or an s3:// prefix), with one JSON
    /// access-log line per request on stdout.
    Serve(Box<ServeArgs>),
    /// Check a published repository the way apt, dnf, apk, opkg and pacman would: signatures against the given
    /// keys, every hash and size, every file the indexes name, Valid-Until, pointers. Exit status 1 on any
    /// fault, each named with its file.
    Verify(Box<VerifyArgs>),
    /// Manage signing keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Build an OCI image per target from the packages' files, and write or push it.
    Image(ImageArgs),
    /// Source files beside the repositories, in Fedora's lookaside layout.
    #[command(subcommand)]
    Lookaside(LookasideCommand),
    /// CI pipelines made from wharf.toml: a build job per target, a release job on tags.
    #[command(subcommand)]
    Ci(CiCommand),
    /// Print a completion script for a shell (`wharf completions bash > /etc/bash_completion.d/wharf`).
    Completions(CompletionsArgs),
    /// Print wharf's manual page (roff: `wharf man > wharf.1 && man ./wharf.1`), or write one per command.
    Man(ManArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ImageArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Rust target triples, one platform each (default: the host).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Push the image index to REGISTRY/NAME:TAG (repeatable).
    #[arg(long = "push", value_name = "REGISTRY/NAME:TAG")]
    pub push: Vec<String>,
    /// Write an OCI image layout into this directory.
    #[arg(long = "oci-layout", value_name = "DIR")]
    pub oci_layout: Option<PathBuf>,
    /// Write the OCI layout as one tar (`oci-archive:`).
    #[arg(long = "oci-archive", value_name = "FILE")]
    pub oci_archive: Option<PathBuf>,
    /// Write the first platform as `docker save` does, for `docker load` (`docker-archive:`).
    #[arg(long = "docker-archive", value_name = "FILE")]
    pub docker_archive: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// Build this version instead of the one git tags say.
    #[arg(long = "version", value_name = "VERSION")]
    pub version: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Write the pipeline (default: .github/workflows/release.yml, .gitlab-ci.yml).
    Generate(CiArgs),
    /// Fail when the pipeline file is not what `generate` writes.
    Check(CiArgs),
}

#[derive(Debug, Args)]
pub struct CiArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The forge: github (GitHub Actions) or gitlab (GitLab CI).
    #[arg(value_enum)]
    pub forge: ForgeArg,
    /// The pipeline file (default: the forge's usual place in the project).
    #[arg(long = "out", visible_alias = "file", value_name = "FILE")]
    pub out: Option<PathBuf>,
}

/// A forge.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ForgeArg {
    Github,
    Gitlab,
}

impl From<ForgeArg> for wharf_ops::ci::Forge {
    fn from(f: ForgeArg) -> Self {
        match f {
            ForgeArg::Github => Self::Github,
            ForgeArg::Gitlab => Self::Gitlab,
        }
    }
}

/// How images reach registries.
#[derive(Debug, Args)]
#[command(next_help_heading = "Registry")]
pub struct RegistryArgs {
    /// Talk to registries over plain HTTP (a local test registry), not HTTPS.
    #[arg(long = "plain-http")]
    pub plain_http: bool,
    /// The registry user; the password (or token) comes from WHARF_REGISTRY_PASSWORD. Without it, Docker's
    /// config.json (`docker login`) is read.
    #[arg(long = "registry-user", value_name = "USER")]
    pub registry_user: Option<String>,
    /// Upload blobs larger than this many bytes in chunks of it (default 64 MiB).
    #[arg(long = "chunk-size", value_name = "BYTES")]
    pub chunk_size: Option<usize>,
}

impl RegistryArgs {
    /// The connection settings, credentials from the flags and environment.
    pub fn connect(&self, env: &crate::env::Env) -> anyhow::Result<wharf_ops::registry::Connect> {
        let credentials = match (&self.registry_user, &env.registry_password) {
            (Some(user), Some(secret)) => Some(wharf_ops::registry::Credentials {
                user: user.clone(),
                secret: secret.clone(),
            }),
            (Some(_), None) => anyhow::bail!("--registry-user needs the password in WHARF_REGISTRY_PASSWORD"),
            _ => None,
        };
        Ok(wharf_ops::registry::Connect {
            plain_http: self.plain_http,
            credentials,
            docker_config: env.docker_config.clone(),
            chunk: self.chunk_size.unwrap_or(wharf_ops::registry::DEFAULT_CHUNK),
        })
    }
}

#[derive(Debug, Subcommand)]
pub enum LookasideCommand {
    /// Upload source files (content-addressed, create-only) and list them in the project's `sources` file.
    Upload(LookasideUploadArgs),
    /// Fetch the files the `sources` file lists, each kept only if its SHA-512 is the listed one.
    Get(LookasideGetArgs),
}

#[derive(Debug, Args)]
pub struct LookasideUploadArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The store: a directory or s3://bucket/prefix (default: the config's publish.to, else ./public).
    #[arg(long = "to", value_name = "STORE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The package the sources belong to (default: the project's name).
    #[arg(long = "package", value_name = "NAME")]
    pub package: Option<String>,
    /// The source files.
    #[arg(value_name = "FILE", required = true)]
    pub files: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct LookasideGetArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Where the cache is: a directory, s3://bucket/prefix or an http(s):// base URL (default: the config's
    /// publish.to, else ./public).
    #[arg(long = "from", value_name = "STORE")]
    pub from: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    /// The package the sources belong to (default: the project's name).
    #[arg(long = "package", value_name = "NAME")]
    pub package: Option<String>,
    /// How long an HTTP read may stall.
    #[arg(long = "timeout", value_name = "DURATION", default_value = "20s", value_parser = wharf_config::parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write one page per command into this directory (`wharf.1`, `wharf-publish.1`, …) instead of
    /// printing wharf(1).
    #[arg(long = "out-dir", value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Overwrite an existing wharf.toml.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct ProjectArgs {
    /// The configuration file (default: ./wharf.toml, else ./Cargo.toml).
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
}

pub use wharf_core::Format;

#[derive(Debug, Args)]
pub struct PackageArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Package formats to build (default: the config's `formats`, else deb).
    #[arg(long = "format", value_enum)]
    pub formats: Vec<Format>,
    /// Rust target triples to package (default: the host).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Also write the release's own assets: the archives of `[[release.archives]]` and the raw binaries of
    /// `[[release.binaries]]`, as `wharf release` would.
    #[arg(long = "assets")]
    pub assets: bool,
    /// Where to write packages.
    #[arg(short = 'o', long = "out", value_name = "DIR", default_value = "dist")]
    pub out: PathBuf,
    /// Package this version (wharf's syntax: `1.3.0~rc.1`) instead of the one git tags say (as `wharf
    /// release` reads them; the configured version outside git or before the first version tag).
    #[arg(long = "version", value_name = "VERSION")]
    pub version: Option<String>,
}

#[derive(Debug, Args)]
pub struct StoreArgs {
    /// S3 endpoint URL for s3:// stores (default: the config's, else AWS_ENDPOINT_URL, else AWS).
    #[arg(long = "s3-endpoint", value_name = "URL")]
    pub s3_endpoint: Option<String>,
    /// S3 region (default: the config's, else AWS_REGION).
    #[arg(long = "s3-region", value_name = "REGION")]
    pub s3_region: Option<String>,
}

/// How a command that writes the store runs its transaction.
#[derive(Debug, Args)]
pub struct TxnArgs {
    /// Decide everything and print the plan — what would be built, and every object each repository
    /// would write, in order — but write nothing: no package, no store object, no key.
    #[arg(long = "dry-run")]
    pub dry_run: bool,
    /// Keep only the N newest versions per package name, architecture and channel.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub keep: Option<u32>,
    /// How long replaced or pruned files stay for clients holding older indexes (e.g. 24h, 0).
    #[arg(long = "grace", value_name = "DURATION", value_parser = wharf_config::parse_duration)]
    pub grace: Option<std::time::Duration>,
    /// How long to wait for another publisher's lock (e.g. 5m).
    #[arg(long = "lock-wait", value_name = "DURATION", value_parser = wharf_config::parse_duration)]
    pub lock_wait: Option<std::time::Duration>,
}

#[derive(Debug, Args)]
pub struct PromoteArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// Package name.
    pub name: String,
    /// Version: the family's own spelling (`1.0-1`, `1.0_rc1-r0`) or wharf's (`1.0~rc1`).
    pub version: String,
    /// The channel it is in.
    #[arg(long, value_name = "CHANNEL")]
    pub from: String,
    /// The channel to promote it to.
    #[arg(long = "to", value_name = "CHANNEL")]
    pub to: String,
    /// The store (default: the config's publish.to, else ./public).
    #[arg(long = "store", value_name = "STORE")]
    pub store_url: Option<String>,
    /// The URL clients reach the store at, for the rewritten `.repo` files (default: the config's).
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub txn: TxnArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
}

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ReleaseArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The store: a directory or s3://bucket/prefix (default: the config's publish.to, else ./public).
    #[arg(long = "to", value_name = "STORE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub txn: TxnArgs,
    /// The URL clients reach the store at: written into install.sh, the page and the `.repo` files
    /// (default: the config's, else file:// for a directory).
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Option<String>,
    /// Release this version (wharf's syntax: `1.3.0~rc.1`) instead of the one git tags say.
    #[arg(long = "version", value_name = "VERSION")]
    pub version: Option<String>,
    /// Formats to build (default: the config's `formats`).
    #[arg(long = "format", value_enum)]
    pub formats: Vec<Format>,
    /// Rust target triples (default: `[release] targets`, else the host).
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Release the programs of a cargo-dist run (its dist-manifest.json) instead of a build of this
    /// project: its Linux archives, checked against their sha256, for the targets it lists.
    #[arg(long = "from-dist", value_name = "DIST-MANIFEST")]
    pub from_dist: Option<PathBuf>,
    #[command(flatten)]
    pub registry: RegistryArgs,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// Write the release directory only: the repositories, the index, the pointers, the page and
    /// install.sh are left as they are until `wharf release publish VERSION`.
    #[arg(long = "draft")]
    pub draft: bool,
    /// Push the release's image to this repository too (`[http://]REGISTRY/NAME`; beside `[image] push`).
    #[arg(long = "push-image", value_name = "REGISTRY/NAME")]
    pub push_images: Vec<String>,
    /// Then make the forge's release of the tag with the notes and files (`gh` or `glab`; a draft with
    /// `--draft`).
    #[arg(long = "forge-release", value_enum, value_name = "FORGE")]
    pub forge_release: Option<ForgeArg>,
    #[command(subcommand)]
    pub action: Option<DraftCommand>,
}

#[derive(Debug, Subcommand)]
pub enum DraftCommand {
    /// Publish a draft release: its packages into its channel's repositories, then the index, the
    /// pointers, the page and install.sh.
    Publish(DraftArgs),
    /// Delete a draft release that was never published.
    Delete(DraftArgs),
}

#[derive(Debug, Args)]
pub struct DraftArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The store: a directory or s3://bucket/prefix (default: the config's publish.to, else ./public).
    #[arg(long = "to", value_name = "STORE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub txn: TxnArgs,
    /// The public URL of the store, for the page and install.sh (default: the config's publish.base-url).
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    #[command(flatten)]
    pub registry: RegistryArgs,
    /// The draft's version.
    #[arg(value_name = "VERSION")]
    pub version: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The store to serve: a directory or s3://bucket/prefix (default: the config's publish.to, else
    /// ./public). `--to`, as every command names the store; `--from` reads better here and is the same.
    #[arg(long = "to", visible_alias = "from", value_name = "STORE")]
    pub from: Option<String>,
    /// Address to listen on.
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    pub listen: std::net::SocketAddr,
    #[command(flatten)]
    pub store: StoreArgs,
    /// Send `Strict-Transport-Security` with this max-age (when clients reach the server over TLS, through
    /// a terminating proxy), e.g. 365d.
    #[arg(long, value_name = "DURATION", value_parser = wharf_config::parse_duration)]
    pub hsts: Option<std::time::Duration>,
    /// Connections served at once (more wait to be accepted).
    #[arg(long = "max-connections", value_name = "N", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=65_536))]
    pub max_connections: u32,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// What to check: a directory, s3://bucket/prefix, or an http(s):// base URL as clients reach it
    /// (default: the config's publish.to, else ./public).
    #[arg(value_name = "TARGET")]
    pub target: Option<String>,
    /// Repositories under TARGET to check (`dists/stable`, `fedora-43-x86_64`, `apk/x86_64`,
    /// `opkg/mips_24kc`, `releases`); default: every one a listing finds. An http(s) URL cannot be
    /// listed: name them, or give a repository's own URL as TARGET.
    #[arg(value_name = "REPO")]
    pub repos: Vec<String>,
    /// A public key to check signatures with (repeatable): OpenPGP (.asc or .gpg keyring; apt, rpm-md and
    /// rpm packages), apk RSA (named as in /etc/apk/keys), apk EC (apk v3), usign (opkg). Without --key,
    /// the keys the target publishes are used: that proves the files agree, not who made them.
    #[arg(long = "key", value_name = "FILE")]
    pub keys: Vec<std::path::PathBuf>,
    /// Over http(s): how long to wait for the next bytes of a file before calling it unreadable (a file
    /// must also arrive within three such waits plus its size at 64 KiB/s).
    #[arg(long = "timeout", value_name = "DURATION", default_value = "20s", value_parser = wharf_config::parse_duration)]
    pub timeout: std::time::Duration,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The store (default: the config's publish.to, else ./public).
    #[arg(long = "to", value_name = "STORE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub txn: TxnArgs,
    /// Only this channel's rpm-md, apk, opkg and pacman trees (apt suites are all pruned, each on its own).
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,
    /// The URL clients reach the store at, for the rewritten `.repo` files (default: the config's).
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Option<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
}

/// The signing keys of each repository kind (indexes are re-signed after a change).
#[derive(Debug, Args)]
pub struct KeyArgs {
    /// OpenPGP secret key for apt and rpm-md (default: the config's [keys] openpgp). Given twice, both
    /// keys sign every index (a key rotation; the first signs rpm packages)
    #[arg(long = "key", value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// usign secret key for opkg feeds.
    #[arg(long = "usign-key", value_name = "FILE")]
    pub usign_key: Option<PathBuf>,
    /// RSA secret key for apk v2 indexes. Given twice, both keys sign every package and index (a key
    /// rotation)
    #[arg(long = "apk-key", value_name = "FILE")]
    pub apk_key: Vec<PathBuf>,
    /// EC P-256 secret key for apk v3 indexes.
    #[arg(long = "apk3-key", value_name = "FILE")]
    pub apk3_key: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct PublishArgs {
    #[command(flatten)]
    pub project: ProjectArgs,
    /// The store: a directory or s3://bucket/prefix (default: the config's publish.to, else ./public).
    #[arg(long = "to", value_name = "STORE")]
    pub to: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub txn: TxnArgs,
    /// Channel to publish into: the apt suite, and a `<channel>/` prefix for rpm-md, apk, opkg and pacman trees
    /// (`stable`: the store's top).
    #[arg(long, value_name = "NAME")]
    pub channel: Option<String>,
    /// When building from the project: this version (wharf's syntax) instead of the one git tags say.
    /// Package the programs of a cargo-dist run (its dist-manifest.json: every Linux archive, checked
    /// against its sha256) instead of a build of this project, for the targets and version it lists.
    #[arg(long = "from-dist", value_name = "DIST-MANIFEST")]
    pub from_dist: Option<PathBuf>,
    #[arg(long = "version", value_name = "VERSION")]
    pub version: Option<String>,
    #[command(flatten)]
    pub keys: KeyArgs,
    /// apt suite (default: the config's, else `stable`).
    #[arg(long)]
    pub suite: Option<String>,
    /// apt component (default: the config's, else `main`).
    #[arg(long)]
    pub component: Option<String>,
    /// rpm-md repository to publish .rpm files into, named by chroot (`fedora-43-x86_64`); repeatable.
    /// Each package goes into every named repository that takes its architecture.
    #[arg(long = "repo", value_name = "NAME")]
    pub repos: Vec<String>,
    /// Architecture feed to publish into (architecture-independent .ipk and .apk files go into every
    /// feed); repeatable. Default: the packages' own architectures and the feeds already published.
    #[arg(long = "feed", value_name = "ARCH")]
    pub feeds: Vec<String>,
    /// Sign .rpm files that arrive unsigned with the repository key (signed ones are kept as they are).
    #[arg(long = "sign")]
    pub sign: bool,
    /// The URL clients reach the store at, written into the `.repo` files (default: file:// for a directory).
    #[arg(long = "base-url", value_name = "URL")]
    pub base_url: Option<String>,
    /// Formats to build when no PACKAGE is given (default: the config's `formats`).
    #[arg(long = "format", value_enum)]
    pub formats: Vec<Format>,
    /// Rust target triples to package when no PACKAGE is given.
    #[arg(long = "target", value_name = "TRIPLE")]
    pub targets: Vec<String>,
    /// Package files to publish (any valid .deb, .rpm, .ipk or .apk). None: package the project first.
    #[arg(value_name = "PACKAGE")]
    pub packages: Vec<PathBuf>,
    /// Publish the package files (or directories) listed in FILE too, one per line (`-`: standard input).
    #[arg(long = "files-from", value_name = "FILE")]
    pub files_from: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum KeyCommand {
    /// Generate a signing key.
    #[command(subcommand)]
    Generate(GenerateKind),
    /// Check an OpenPGP key (public or secret) against what apt 3, Ubuntu 24.04's apt and rpm accept now
    /// and will refuse later: exit status 1 when a client refuses it today.
    Check(KeyCheckArgs),
    /// Rotate a signing key in wharf.toml's [keys] openpgp (apt, rpm-md) or [keys] apk (apk v2): `--add
    /// NEW` makes every index signed by the current key and NEW (publish, then ship the new keys to
    /// users); `--retire OLD`, once they have them, leaves NEW alone. A repository never changes to a
    /// key its clients do not hold
    Rotate(KeyRotateArgs),
}

#[derive(Debug, Args)]
pub struct KeyRotateArgs {
    /// The configuration file (default: ./wharf.toml)
    #[arg(short = 'c', long = "config", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A new secret key to sign beside the current one(s): OpenPGP (checked against the clients'
    /// policies) or apk RSA, told apart by its contents.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "retire",
        required_unless_present = "retire"
    )]
    pub add: Option<PathBuf>,
    /// A key to stop signing with: its file as [keys] names it, its OpenPGP fingerprint, or its apk key
    /// name.
    #[arg(long, value_name = "FILE|FINGERPRINT")]
    pub retire: Option<String>,
}

#[derive(Debug, Args)]
pub struct KeyCheckArgs {
    /// The key file (armored or binary).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum GenerateKind {
    /// An OpenPGP v4 key for apt (and rpm) repositories.
    Openpgp(OpenPgpArgs),
    /// A usign (Ed25519) key for opkg feeds.
    Usign(UsignArgs),
    /// An RSA key for apk v2 packages and APKINDEX (`<name>.rsa` and `<name>.rsa.pub`, as abuild-keygen
    /// names them).
    ApkRsa(ApkRsaArgs),
    /// An ECDSA P-256 key for apk v3 / ADB repositories (`private-key.pem` and `public-key.pem`, as OpenWrt's
    /// build names them).
    ApkEc(ApkEcArgs),
}

#[derive(Debug, Args)]
pub struct ApkEcArgs {
    /// Directory for `private-key.pem` (secret) and `public-key.pem`.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Args)]
pub struct ApkRsaArgs {
    /// Directory for `<name>.rsa` (secret) and `<name>.rsa.pub`.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Key name: clients hold the public key as `/etc/apk/keys/<name>.rsa.pub`.
    #[arg(long, default_value = "wharf")]
    pub name: String,
    /// Modulus size in bits.
    #[arg(long, default_value_t = 4096)]
    pub bits: usize,
}

#[derive(Debug, Args)]
pub struct UsignArgs {
    /// Directory for `key-build` (secret) and `key-build.pub`, as OpenWrt's build system names them.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Algorithm {
    /// Ed25519 (small, fast; apt, gpgv, sqv, rpm-sequoia).
    Ed25519,
    /// RSA-4096 (widest reach: EL8 rpm, old gpg).
    Rsa4096,
}

#[derive(Debug, Args)]
pub struct OpenPgpArgs {
    /// Directory for secret.asc, public.asc and keyring.gpg.
    #[arg(short = 'o', long = "out", value_name = "DIR")]
    pub out: PathBuf,
    /// Name in the user ID.
    #[arg(long, default_value = "wharf repository signing key")]
    pub name: String,
    /// Email in the user ID.
    #[arg(long, default_value = "repository@example.invalid")]
    pub email: String,
    /// Key algorithm.
    #[arg(long, value_enum, default_value_t = Algorithm::Ed25519)]
    pub algorithm: Algorithm,
}

impl KeyArgs {
    /// The key files, as wharf-ops takes them.
    pub fn files(&self) -> wharf_ops::KeyFiles {
        wharf_ops::KeyFiles {
            openpgp: self.key.first().cloned(),
            openpgp_also: self.key.iter().skip(1).cloned().collect(),
            usign: self.usign_key.clone(),
            apk: self.apk_key.first().cloned(),
            apk_also: self.apk_key.iter().skip(1).cloned().collect(),
            apk3: self.apk3_key.clone(),
        }
    }
}

impl TxnArgs {
    /// The transaction flags, as wharf-ops takes them.
    pub fn flags(&self) -> wharf_ops::TxnFlags {
        wharf_ops::TxnFlags {
            dry_run: self.dry_run,
            keep: self.keep,
            grace: self.grace,
            lock_wait: self.lock_wait,
        }
    }
}

impl StoreArgs {
    /// The S3 flags, as wharf-ops takes them.
    pub fn flags(&self) -> wharf_ops::S3Flags {
        wharf_ops::S3Flags {
            endpoint: self.s3_endpoint.clone(),
            region: self.s3_region.clone(),
        }
    }
}
