//! Talking to a container registry over the OCI distribution API (distribution-spec v1.1, "Pull" and
//! "Push"):
//! - each blob checked with `HEAD /v2/<name>/blobs/<digest>` and sent only when absent: mounted from
//!   another repository of the same registry when wharf knows one holding it (`POST
//!   /v2/<name>/blobs/uploads/?mount=<digest>&from=<repo>`: `201` mounted, `202` an ordinary upload
//!   session instead), else uploaded — monolithically (`POST` then `PUT <location>?digest=`) up to the chunk
//!   size, in chunks above it (`PATCH <location>` with `Content-Range: <start>-<end>`, following each
//!   answer's `Location`, then the closing `PUT ?digest=`); at most [`PARALLEL`] blobs at once;
//! - manifests put by digest, the image index under its tags last, so a tag never names an image whose
//!   parts are missing;
//! - manifests and blobs read (`GET`) for base images, each bounded by what its descriptor said and a
//!   ceiling, and kept only when its SHA-256 is the digest asked for;
//! - credentials: HTTP basic, and the token flow a `WWW-Authenticate: Bearer realm=…,service=…` challenge
//!   asks for (distribution's `token.md`: the token fetched from the realm with the basic credentials, the
//!   scope `repository:<name>:pull,push` and `repository:<other>:pull` for mount sources). They come from
//!   the caller (`--registry-user` and `WHARF_REGISTRY_PASSWORD`) or Docker's `config.json` (`auths.<host>`:
//!   `auth` = base64 of `user:password`; credential helpers are not run). They never reach a message;
//! - transient failures (a connection refused or reset, a timeout, HTTP 429 and 5xx) are retried
//!   [`RETRIES`] times with a doubling pause; anything else is one error naming the request.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use anyhow::{Context as _, bail};
use sha2::Digest as _;
use wharf_package::oci::Blob;

/// The most a token service's answer may hold.
const TOKEN_CEILING: usize = 1 << 20;
/// The most a manifest or index may hold (distribution's own limit is 4 MiB).
pub const MANIFEST_CEILING: u64 = 4 << 20;
/// The most one blob read from a registry may hold.
pub const BLOB_CEILING: u64 = 4 << 30;
/// Blobs sent at once.
pub const PARALLEL: usize = 4;
/// Retries of a transient failure.
pub const RETRIES: u32 = 3;
/// Blobs larger than this go in chunks of this size unless the caller says otherwise.
pub const DEFAULT_CHUNK: usize = 64 << 20;

/// A registry reference: `[http://]host[:port]/name[:tag]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub host: String,
    pub name: String,
    pub tag: String,
    /// Spelled with `http://`: the registry speaks plain HTTP (a local one).
    pub plain_http: bool,
}

/// Whether `name` is a repository name (lowercase components of letters, digits, `.`, `_`, `-`).
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.split('/').all(|c| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        })
}

/// Whether `tag` is a tag (`[A-Za-z0-9_][A-Za-z0-9._-]{0,127}`).
#[must_use]
pub fn valid_tag(tag: &str) -> bool {
    !tag.is_empty()
        && tag.len() <= 128
        && !tag.starts_with(['.', '-'])
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b))
}

impl Reference {
    /// Parses `[http://]host[:port]/name[:tag]` (the tag defaults to `latest`; the host must have a `.` or
    /// a `:`, or be `localhost`, as Docker tells registries from names).
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (plain_http, rest) = match s.strip_prefix("http://") {
            Some(r) => (true, r),
            None => (false, s.strip_prefix("https://").unwrap_or(s)),
        };
        let (host, rest) = rest
            .split_once('/')
            .with_context(|| format!("`{s}`: name the registry (`registry.example.org/name:tag`)"))?;
        if !(host.contains(['.', ':']) || host == "localhost") {
            bail!("`{s}`: `{host}` is not a registry host (it needs a `.` or a port, or be localhost)");
        }
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (rest, "latest"),
        };
        if !valid_name(name) || !valid_tag(tag) {
            bail!(
                "`{s}` is not a valid image reference (lowercase name components, a tag of letters, digits, `.`, `_`, `-`)"
            );
        }
        Ok(Self {
            host: host.to_owned(),
            name: name.to_owned(),
            tag: tag.to_owned(),
            plain_http,
        })
    }

    /// `host/name`.
    #[must_use]
    pub fn repository(&self) -> String {
        format!("{}/{}", self.host, self.name)
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}:{}", self.host, self.name, self.tag)
    }
}

/// A user and password (or token); never printed.
#[derive(Clone)]
pub struct Credentials {
    pub user: String,
    pub secret: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({}, <secret>)", self.user)
    }
}

/// The credentials Docker's `config.json` in `dir` holds for `host` (`auths."host"` or
/// `auths."https://host"`, its `auth` or `username`/`password`), if any.
pub fn docker_credentials(dir: &Path, host: &str) -> anyhow::Result<Option<Credentials>> {
    use base64::Engine as _;
    let path = dir.join("config.json");
    let bytes = match std::fs::File::open(&path) {
        Ok(f) => {
            let mut bytes = Vec::new();
            std::io::Read::read_to_end(&mut std::io::Read::take(f, TOKEN_CEILING as u64 + 1), &mut bytes)
                .with_context(|| format!("cannot read {}", path.display()))?;
            if bytes.len() > TOKEN_CEILING {
                bail!("{} is larger than 1 MiB", path.display());
            }
            bytes
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    // The file holds secrets: a parse error names the file, never its bytes.
    let doc: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|_| anyhow::anyhow!("{} is not valid JSON", path.display()))?;
    let Some(auths) = doc.get("auths").and_then(|a| a.as_object()) else {
        return Ok(None);
    };
    let entry = [
        host.to_owned(),
        format!("https://{host}"),
        format!("http://{host}"),
    ]
    .iter()
    .find_map(|k| auths.get(k));
    let Some(entry) = entry else { return Ok(None) };
    let field = |k: &str| entry.get(k).and_then(|v| v.as_str()).filter(|s| !s.is_empty());
    if let (Some(user), Some(secret)) = (field("username"), field("password")) {
        return Ok(Some(Credentials {
            user: user.to_owned(),
            secret: secret.to_owned(),
        }));
    }
    let Some(auth) = field("auth") else {
        return Ok(None);
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(auth)
        .ok()
        .and_then(|d| String::from_utf8(d).ok())
        .with_context(|| {
            format!(
                "{}: the `auth` of {host} is not base64 of user:password",
                path.display()
            )
        })?;
    let (user, secret) = decoded.split_once(':').with_context(|| {
        format!(
            "{}: the `auth` of {host} is not base64 of user:password",
            path.display()
        )
    })?;
    Ok(Some(Credentials {
        user: user.to_owned(),
        secret: secret.to_owned(),
    }))
}

/// How to reach registries.
#[derive(Debug, Clone)]
pub struct Connect {
    /// Plain HTTP for every registry (else only for `http://` references).
    pub plain_http: bool,
    /// Given credentials (else Docker's config.json, else none).
    pub credentials: Option<Credentials>,
    /// Docker's configuration directory (`$DOCKER_CONFIG`, `~/.docker`).
    pub docker_config: Option<std::path::PathBuf>,
    /// Blobs over this size are uploaded in chunks of it.
    pub chunk: usize,
}

impl Default for Connect {
    fn default() -> Self {
        Self {
            plain_http: false,
            credentials: None,
            docker_config: None,
            chunk: DEFAULT_CHUNK,
        }
    }
}

/// What a push did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Pushed {
    /// Blobs uploaded.
    pub uploaded: Vec<String>,
    /// Blobs mounted from another repository of the registry.
    pub mounted: Vec<String>,
    /// Blobs the registry had already.
    pub present: Vec<String>,
    /// HTTP requests made.
    pub requests: u64,
}

/// How one blob got there.
enum Sent {
    Present,
    Mounted,
    Uploaded,
}

/// A registry session for one repository.
pub struct Registry {
    base: String,
    name: String,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    basic: Option<Credentials>,
    bearer: Mutex<Option<String>>,
    /// Other repositories the token must let us read (mount sources).
    pull_from: Vec<String>,
    chunk: usize,
    requests: AtomicU64,
}

/// Whether a failed request may succeed if sent again.
fn transient(e: &reqwest::Error) -> bool {
    e.is_connect() || e.is_timeout() || e.is_request()
}

impl Registry {
    /// A session with `reference`'s registry and repository; `pull_from` names the repositories of the same
    /// registry blobs may be mounted from.
    pub fn new(reference: &Reference, connect: &Connect, pull_from: &[String]) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .build()?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let basic = match &connect.credentials {
            Some(c) => Some(c.clone()),
            None => match &connect.docker_config {
                Some(dir) => docker_credentials(dir, &reference.host)?,
                None => None,
            },
        };
        let plain = connect.plain_http || reference.plain_http;
        Ok(Self {
            base: format!("{}://{}", if plain { "http" } else { "https" }, reference.host),
            name: reference.name.clone(),
            client,
            rt,
            basic,
            bearer: Mutex::new(None),
            pull_from: pull_from.to_vec(),
            chunk: connect.chunk.max(1),
            requests: AtomicU64::new(0),
        })
    }

    /// Sends a request made by `make`: again after a transient failure (see the module doc), and once more
    /// with a token after a Bearer challenge.
    fn send(
        &self,
        make: &dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let mut challenged = false;
        let mut attempt = 0;
        loop {
            let mut req = make(&self.client);
            let bearer = self
                .bearer
                .lock()
                .map_err(|_| anyhow::anyhow!("a push thread failed"))?
                .clone();
            if let Some(token) = bearer {
                req = req.bearer_auth(token);
            } else if let Some(c) = &self.basic {
                req = req.basic_auth(&c.user, Some(&c.secret));
            }
            self.requests.fetch_add(1, Ordering::Relaxed);
            let pause = Duration::from_millis(250 << attempt);
            match self.rt.block_on(async { req.send().await }) {
                Err(e) if attempt < RETRIES && transient(&e) => {
                    attempt += 1;
                    std::thread::sleep(pause);
                }
                Err(e) => {
                    return Err(anyhow::anyhow!(e.without_url()))
                        .with_context(|| format!("cannot reach {}", self.base));
                }
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    if (status == 429 || status >= 500) && attempt < RETRIES {
                        attempt += 1;
                        std::thread::sleep(pause);
                        continue;
                    }
                    if status != 401 {
                        return Ok(resp);
                    }
                    let challenge = resp
                        .headers()
                        .get("www-authenticate")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_owned();
                    if challenged || !challenge.to_ascii_lowercase().starts_with("bearer ") {
                        bail!(
                            "{} refused the credentials (HTTP 401){}",
                            self.base,
                            if self.basic.is_some() {
                                ""
                            } else {
                                "; give them with --registry-user and WHARF_REGISTRY_PASSWORD, or docker login"
                            }
                        );
                    }
                    challenged = true;
                    let token = self.token(&challenge)?;
                    *self
                        .bearer
                        .lock()
                        .map_err(|_| anyhow::anyhow!("a push thread failed"))? = Some(token);
                }
            }
        }
    }

    /// The token a Bearer challenge asks for.
    fn token(&self, challenge: &str) -> anyhow::Result<String> {
        let param = |key: &str| {
            challenge[7..].split(',').find_map(|kv| {
                let (k, v) = kv.trim().split_once('=')?;
                (k == key).then(|| v.trim_matches('"').to_owned())
            })
        };
        let realm = param("realm").context("a Bearer challenge without a realm")?;
        let mut url = reqwest::Url::parse(&realm).with_context(|| format!("the token realm `{realm}`"))?;
        {
            let mut q = url.query_pairs_mut();
            if let Some(service) = param("service") {
                q.append_pair("service", &service);
            }
            q.append_pair("scope", &format!("repository:{}:pull,push", self.name));
            for other in &self.pull_from {
                q.append_pair("scope", &format!("repository:{other}:pull"));
            }
        }
        let mut req = self.client.get(url);
        if let Some(c) = &self.basic {
            req = req.basic_auth(&c.user, Some(&c.secret));
        }
        self.requests.fetch_add(1, Ordering::Relaxed);
        let resp = self
            .rt
            .block_on(async { req.send().await })
            .map_err(reqwest::Error::without_url)
            .context("cannot reach the token service")?;
        if !resp.status().is_success() {
            bail!(
                "the token service refused the credentials (HTTP {})",
                resp.status().as_u16()
            );
        }
        // A token is a few KiB: more than 1 MiB is refused, not held.
        let bytes = self
            .body(resp, TOKEN_CEILING as u64)
            .context("the token service's answer")?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).context("the token service's answer is not JSON")?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .context("the token service gave no token")
    }

    /// A response's body, refused past `limit` bytes.
    fn body(&self, mut resp: reqwest::Response, limit: u64) -> anyhow::Result<Vec<u8>> {
        self.rt
            .block_on(async {
                let mut body = Vec::new();
                while let Some(chunk) = resp.chunk().await? {
                    body.extend_from_slice(&chunk);
                    if body.len() as u64 > limit {
                        return Ok(None);
                    }
                }
                Ok::<_, reqwest::Error>(Some(body))
            })
            .map_err(reqwest::Error::without_url)?
            .with_context(|| format!("larger than the {limit} bytes it may be"))
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.name)
    }

    /// An upload session's absolute location.
    fn location(&self, resp: &reqwest::Response) -> anyhow::Result<String> {
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("the registry gave no upload location")?;
        Ok(if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location.to_owned()
        })
    }

    /// Whether the repository holds blob `digest`.
    pub fn has_blob(&self, digest: &str) -> anyhow::Result<bool> {
        let head = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&|c| c.head(&head))?;
        match resp.status().as_u16() {
            200 => Ok(true),
            404 => Ok(false),
            s => bail!("HEAD {head}: HTTP {s}"),
        }
    }

    /// Sends `blob` unless the repository has it: mounted from `from` if given and the registry agrees,
    /// else uploaded.
    fn send_blob(&self, blob: &Blob, from: Option<&str>) -> anyhow::Result<Sent> {
        let digest = &blob.descriptor.digest;
        if self.has_blob(digest)? {
            return Ok(Sent::Present);
        }
        let start = match from {
            Some(repo) => self.url(&format!("blobs/uploads/?mount={digest}&from={repo}")),
            None => self.url("blobs/uploads/"),
        };
        let resp = self.send(&|c| c.post(&start).header("content-length", "0"))?;
        match resp.status().as_u16() {
            201 if from.is_some() => return Ok(Sent::Mounted),
            202 => {}
            s => bail!("POST {start}: HTTP {s} starting an upload"),
        }
        let mut location = self.location(&resp)?;
        let bytes = &blob.bytes;
        if bytes.len() > self.chunk {
            let mut at = 0;
            for chunk in bytes.chunks(self.chunk) {
                let end = at + chunk.len() - 1;
                let patch = location.clone();
                let resp = self.send(&|c| {
                    c.patch(&patch)
                        .header("content-type", "application/octet-stream")
                        .header("content-range", format!("{at}-{end}"))
                        .body(chunk.to_vec())
                })?;
                if resp.status().as_u16() != 202 {
                    bail!(
                        "uploading {digest} (bytes {at}-{end}): HTTP {}",
                        resp.status().as_u16()
                    );
                }
                location = self.location(&resp)?;
                at = end + 1;
            }
        }
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let chunked = bytes.len() > self.chunk;
        let resp = self.send(&|c| {
            let req = c.put(&put).header("content-type", "application/octet-stream");
            if chunked {
                req.header("content-length", "0")
            } else {
                req.body(bytes.clone())
            }
        })?;
        if resp.status().as_u16() != 201 {
            bail!("uploading {digest}: HTTP {}", resp.status().as_u16());
        }
        Ok(Sent::Uploaded)
    }

    /// Sends every blob the repository lacks, [`PARALLEL`] at a time; `from(digest)` names a repository of
    /// this registry that holds it, if one is known.
    pub fn send_blobs(
        &self,
        blobs: &[&Blob],
        from: &(dyn Fn(&str) -> Option<String> + Sync),
    ) -> anyhow::Result<Pushed> {
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<(usize, anyhow::Result<Sent>)>> = Mutex::new(Vec::new());
        std::thread::scope(|s| {
            for _ in 0..PARALLEL.min(blobs.len()) {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(b) = blobs.get(i) else { break };
                        let source = from(&b.descriptor.digest);
                        let r = self.send_blob(b, source.as_deref());
                        let failed = r.is_err();
                        if let Ok(mut v) = results.lock() {
                            v.push((i, r));
                        }
                        if failed {
                            // The others finish what they hold and take no more.
                            next.store(blobs.len(), Ordering::Relaxed);
                            break;
                        }
                    }
                });
            }
        });
        let mut results = results
            .into_inner()
            .map_err(|_| anyhow::anyhow!("a push thread failed"))?;
        results.sort_by_key(|(i, _)| *i);
        let mut pushed = Pushed::default();
        for (i, r) in results {
            let digest = blobs[i].descriptor.digest.clone();
            match r? {
                Sent::Present => pushed.present.push(digest),
                Sent::Mounted => pushed.mounted.push(digest),
                Sent::Uploaded => pushed.uploaded.push(digest),
            }
        }
        Ok(pushed)
    }

    /// Puts a manifest or index under `reference` (a digest or a tag).
    pub fn put_manifest(&self, blob: &Blob, reference: &str) -> anyhow::Result<()> {
        let url = self.url(&format!("manifests/{reference}"));
        let bytes = &blob.bytes;
        let media = &blob.descriptor.media_type;
        let resp = self.send(&|c| c.put(&url).header("content-type", media).body(bytes.clone()))?;
        if resp.status().as_u16() != 201 {
            bail!("PUT {url}: HTTP {}", resp.status().as_u16());
        }
        Ok(())
    }

    /// The manifest or index `digest` names: its media type and bytes (at most [`MANIFEST_CEILING`], and
    /// only when they hash to `digest`).
    pub fn get_manifest(&self, digest: &str) -> anyhow::Result<(String, Vec<u8>)> {
        let url = self.url(&format!("manifests/{digest}"));
        let accept = [
            wharf_package::oci::INDEX,
            wharf_package::oci::MANIFEST,
            wharf_package::oci::DOCKER_LIST,
            wharf_package::oci::DOCKER_MANIFEST,
        ]
        .join(", ");
        let resp = self.send(&|c| c.get(&url).header("accept", &accept))?;
        match resp.status().as_u16() {
            200 => {}
            404 => bail!("{}/{} has no manifest {digest}", self.base, self.name),
            s => bail!("GET {url}: HTTP {s}"),
        }
        let media = resp
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let bytes = self
            .body(resp, MANIFEST_CEILING)
            .with_context(|| format!("GET {url}"))?;
        check_digest(&bytes, digest).with_context(|| format!("GET {url}"))?;
        Ok((media, bytes))
    }

    /// Blob `digest` of `size` bytes, kept only when it hashes to `digest`.
    pub fn get_blob(&self, digest: &str, size: u64) -> anyhow::Result<Vec<u8>> {
        if size > BLOB_CEILING {
            bail!("blob {digest} says it holds {size} bytes, more than wharf reads");
        }
        let url = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&|c| c.get(&url))?;
        if resp.status().as_u16() != 200 {
            bail!("GET {url}: HTTP {}", resp.status().as_u16());
        }
        let bytes = self.body(resp, size).with_context(|| format!("GET {url}"))?;
        check_digest(&bytes, digest).with_context(|| format!("GET {url}"))?;
        Ok(bytes)
    }

    /// Requests made so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// Whether `bytes` hash to `digest` (`sha256:<hex>`).
pub fn check_digest(bytes: &[u8], digest: &str) -> anyhow::Result<()> {
    let actual = format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)));
    if actual != digest {
        bail!("the content is {actual}, not the {digest} asked for");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/team/app:1.0").unwrap();
        assert_eq!(
            (r.host.as_str(), r.name.as_str(), r.tag.as_str(), r.plain_http),
            ("127.0.0.1:5000", "team/app", "1.0", false)
        );
        assert_eq!(Reference::parse("localhost/app").unwrap().tag, "latest");
        assert!(Reference::parse("http://localhost:5000/app").unwrap().plain_http);
        for bad in [
            "app:1.0",
            "docker.io/App:1",
            "host.example/app:bad tag",
            "host.example/app:-x",
            "host.example/",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn docker_config_credentials() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"reg.example:5000":{"auth":"YWxpY2U6czNjcmV0"},"https://other.example":{"username":"bob","password":"pw"}}}"#,
        )
        .unwrap();
        let c = docker_credentials(dir.path(), "reg.example:5000")
            .unwrap()
            .unwrap();
        assert_eq!((c.user.as_str(), c.secret.as_str()), ("alice", "s3cret"));
        assert!(!format!("{c:?}").contains("s3cret"));
        let c = docker_credentials(dir.path(), "other.example").unwrap().unwrap();
        assert_eq!(c.user, "bob");
        assert!(docker_credentials(dir.path(), "none.example").unwrap().is_none());
        std::fs::write(
            dir.path().join("config.json"),
            r#"{"auths":{"x.example":{"auth":"s3cret!!"}}}"#,
        )
        .unwrap();
        let e = docker_credentials(dir.path(), "x.example").unwrap_err();
        assert!(!format!("{e:#}").contains("s3cret"), "{e:#}");
    }
}
