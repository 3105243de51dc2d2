//! A store in an S3-compatible bucket (AWS S3, Cloudflare R2, MinIO, Garage), through `object_store` with
//! rustls on *ring* (no C TLS library).
//!
//! Addressing is path-style (`https://endpoint/bucket/key`), which every S3-compatible server accepts;
//! credentials, region and endpoint come from [`S3Options`] or the standard `AWS_*` variables. Files of
//! [`MULTIPART_THRESHOLD`] or more go up as multipart uploads; [`Store::put_files`] uploads a batch with at
//! most [`PARALLEL_UPLOADS`] requests in flight.
//!
//! **Conditional writes.** AWS S3, R2 and MinIO honour `If-None-Match: *` and `If-Match: <etag>` on PUT;
//! Garage 2.5 silently ignores both (design.md §4.3, measured). [`S3Store`] probes once per process — a
//! create-only write twice on one probe key: the second must be refused — and picks its lock from the
//! answer (see [`crate::lock`]). [`Store::put_if`] uses `If-Match` where it is honoured; elsewhere it
//! compares under the publish lock, which is then the only writer.
//!
//! Every call blocks on a private tokio runtime, so the publish code above stays synchronous.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use futures_util::{StreamExt, TryStreamExt, stream};
use object_store::aws::{AmazonS3, AmazonS3Builder};
use object_store::path::Path as ObjPath;
use object_store::{
    ClientOptions, ObjectStore, ObjectStoreExt, PutMode as OsPutMode, PutOptions, PutPayload, RetryConfig,
    UpdateVersion, WriteMultipart,
};
use tokio::runtime::Runtime;

use crate::lock::{Locking, TicketStore};
use crate::{LockGuard, ObjectMeta, PutMode, PutOutcome, Ranged, Store, StoreError, Tagged, check_key};

/// Files this large or larger are uploaded in parts.
pub const MULTIPART_THRESHOLD: u64 = 16 * 1024 * 1024;
/// The size of each part of a multipart upload.
const PART_SIZE: usize = 8 * 1024 * 1024;
/// Uploads in flight at once in [`Store::put_files`].
pub const PARALLEL_UPLOADS: usize = 8;

/// Where and how to reach an S3-compatible service. Unset fields fall back to the `AWS_*` variables
/// (`AWS_ENDPOINT_URL`, `AWS_REGION`/`AWS_DEFAULT_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_SESSION_TOKEN`).
#[derive(Debug, Clone, Default)]
pub struct S3Options {
    /// `https://<account>.r2.cloudflarestorage.com`, `http://127.0.0.1:3900`, …; AWS when unset.
    pub endpoint: Option<String>,
    /// The region (`us-east-1`, `auto` for R2, `garage` for Garage).
    pub region: Option<String>,
    /// How long a publish lock lives without renewal before others may break it.
    pub lock_lease: Option<Duration>,
    /// Access key id and secret (else `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY`).
    pub credentials: Option<(String, String)>,
}

/// The default lock lease: a holder renews every third of it.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(30);

/// An S3 bucket (and key prefix) used as a store.
pub struct S3Store {
    rt: Arc<Runtime>,
    s3: Arc<AmazonS3>,
    bucket: String,
    prefix: String,
    conditional: OnceLock<bool>,
    lease: Duration,
}

impl std::fmt::Debug for S3Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn install_ring() {
    // Several stores in one process share the provider; a second install reports "already installed".
    let _ = rustls::crypto::ring::default_provider().install_default();
}

impl S3Store {
    /// Opens `s3://bucket/prefix` and checks, with one LIST, that the bucket exists and the credentials
    /// are accepted: a publish that cannot write fails here, before anything is written.
    pub fn open(bucket: &str, prefix: &str, options: &S3Options) -> Result<Self, StoreError> {
        install_ring();
        let url = format!("s3://{bucket}/{prefix}");
        let unavailable = |why: String| StoreError::Unavailable {
            store: url.trim_end_matches('/').to_owned(),
            why,
        };
        let mut b = AmazonS3Builder::from_env().with_bucket_name(bucket);
        if std::env::var_os("AWS_REGION").is_none()
            && let Ok(r) = std::env::var("AWS_DEFAULT_REGION")
        {
            b = b.with_region(r);
        }
        if let Some(e) = &options.endpoint {
            b = b.with_endpoint(e);
        }
        if let Some(r) = &options.region {
            b = b.with_region(r);
        }
        if let Some((id, secret)) = &options.credentials {
            b = b.with_access_key_id(id).with_secret_access_key(secret);
        }
        let endpoint = options
            .endpoint
            .clone()
            .or_else(|| std::env::var("AWS_ENDPOINT_URL").ok())
            .or_else(|| std::env::var("AWS_ENDPOINT").ok());
        // Without credentials the client would ask an EC2 instance's metadata service, which only AWS
        // machines have; elsewhere its failure reads as an unreachable endpoint. Say what is missing.
        let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
        let credentials = options.credentials.is_some()
            || set("AWS_ACCESS_KEY_ID")
            || set("AWS_WEB_IDENTITY_TOKEN_FILE")
            || set("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
            || set("AWS_CONTAINER_CREDENTIALS_FULL_URI");
        if !credentials && endpoint.is_some() {
            return Err(unavailable(NO_CREDENTIALS.to_owned()));
        }
        let http = endpoint.as_deref().is_some_and(|e| e.starts_with("http://"));
        // About 6 s of retries (0.1 s doubling) for a busy or briefly unreachable server.
        let retry = RetryConfig {
            max_retries: 6,
            retry_timeout: Duration::from_secs(30),
            ..RetryConfig::default()
        };
        let s3 = b
            .with_virtual_hosted_style_request(false)
            .with_allow_http(http)
            .with_retry(retry)
            .with_client_options(
                ClientOptions::new()
                    .with_allow_http(http)
                    .with_connect_timeout(Duration::from_secs(5))
                    .with_timeout(Duration::from_secs(300)),
            )
            .build()
            .map_err(|e| {
                unavailable(format!(
                    "{e}; set the endpoint, region and AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
                ))
            })?;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .map_err(|e| unavailable(format!("cannot start the I/O runtime: {e}")))?;
        let store = Self {
            rt: Arc::new(rt),
            s3: Arc::new(s3),
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
            conditional: OnceLock::new(),
            lease: options.lock_lease.unwrap_or(DEFAULT_LEASE),
        };
        let probe = ObjPath::from(store.full("").trim_end_matches('/'));
        store
            .rt
            .block_on(store.s3.list_with_delimiter(Some(&probe)))
            .map_err(|e| unavailable(explain(&e, endpoint.as_deref(), bucket)))?;
        Ok(store)
    }

    fn full(&self, key: &str) -> String {
        if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        }
    }

    fn path(&self, key: &str) -> Result<ObjPath, StoreError> {
        check_key(key)?;
        ObjPath::parse(self.full(key)).map_err(|_| StoreError::BadKey(key.to_owned()))
    }

    fn err(&self, key: &str, e: &object_store::Error) -> StoreError {
        StoreError::Io {
            store: self.describe(),
            key: key.to_owned(),
            source: std::io::Error::other(e.to_string()),
        }
    }

    /// Whether the service refuses a create-only write over an existing object (probed once).
    pub fn conditional_writes(&self) -> Result<bool, StoreError> {
        if let Some(c) = self.conditional.get() {
            return Ok(*c);
        }
        let key = format!(".wharf/probe/{}", crate::lock::unique_id());
        let path = self.path(&key)?;
        let create = || {
            self.rt.block_on(self.s3.put_opts(
                &path,
                PutPayload::from_static(b"probe"),
                PutOptions::from(OsPutMode::Create),
            ))
        };
        create().map_err(|e| self.err(&key, &e))?;
        let honoured = match create() {
            Ok(_) => false,
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => true,
            // A service that rejects the header outright does not honour it either.
            Err(object_store::Error::NotImplemented { .. } | object_store::Error::NotSupported { .. }) => {
                false
            }
            Err(e) => return Err(self.err(&key, &e)),
        };
        let _ = self.rt.block_on(self.s3.delete(&path));
        Ok(*self.conditional.get_or_init(|| honoured))
    }

    async fn upload_file(s3: Arc<AmazonS3>, path: ObjPath, file: PathBuf) -> Result<(), std::io::Error> {
        let len = tokio::fs::metadata(&file).await?.len();
        if len < MULTIPART_THRESHOLD {
            let bytes = tokio::fs::read(&file).await?;
            s3.put(&path, PutPayload::from(bytes))
                .await
                .map_err(std::io::Error::other)?;
            return Ok(());
        }
        let upload = s3.put_multipart(&path).await.map_err(std::io::Error::other)?;
        let mut w = WriteMultipart::new_with_chunk_size(upload, PART_SIZE);
        let mut f = tokio::fs::File::open(&file).await?;
        let mut buf = vec![0u8; PART_SIZE];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut f, &mut buf).await?;
            if n == 0 {
                break;
            }
            w.wait_for_capacity(4).await.map_err(std::io::Error::other)?;
            w.write(&buf[..n]);
        }
        w.finish().await.map_err(std::io::Error::other)?;
        Ok(())
    }
}

/// Whether an error text carries HTTP status `code` (as a word of its own: not a port such as
/// `127.0.0.1:40312` or part of a longer number).
fn says_status(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + code.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit() || c == ':' || c == '.')
            && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// What an S3 store without credentials is told.
const NO_CREDENTIALS: &str = "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (a key with read and write rights on the bucket)";

/// One sentence for the usual ways an S3 store is unusable.
fn explain(e: &object_store::Error, endpoint: Option<&str>, bucket: &str) -> String {
    let text = e.to_string();
    let at = endpoint.map_or_else(|| "AWS S3".to_owned(), str::to_owned);
    if text.contains("169.254.169.254") || text.contains("169.254.170.2") {
        // The metadata service of an EC2 instance (or ECS task): asked only when no key was given.
        return format!(
            "{NO_CREDENTIALS}, or run where an instance role provides them (the metadata service did not answer)"
        );
    }
    match e {
        object_store::Error::NotFound { .. } => {
            format!(
                "bucket `{bucket}` does not exist at {at}; create it first (e.g. `garage bucket create {bucket}`)"
            )
        }
        object_store::Error::PermissionDenied { .. } | object_store::Error::Unauthenticated { .. } => {
            format!(
                "{at} refused the credentials ({text}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the key's rights on `{bucket}`"
            )
        }
        _ if text.contains("NoSuchBucket") => {
            format!("bucket `{bucket}` does not exist at {at}; create it first")
        }
        _ if text.contains("InvalidAccessKeyId")
            || text.contains("SignatureDoesNotMatch")
            || text.contains("AccessDenied")
            || says_status(&text, "403") =>
        {
            format!("{at} refused the credentials ({text}); check AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
        }
        _ => format!("cannot reach {at} ({text}); check --s3-endpoint / AWS_ENDPOINT_URL and the network"),
    }
}

impl Store for S3Store {
    fn describe(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.prefix)
            .trim_end_matches('/')
            .to_owned()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_tagged(key)?.map(|t| t.bytes))
    }

    fn get_tagged(&self, key: &str) -> Result<Option<Tagged>, StoreError> {
        let path = self.path(key)?;
        let got = self.rt.block_on(async {
            let r = self.s3.get(&path).await?;
            let tag = r.meta.e_tag.clone().unwrap_or_default();
            let bytes = r.bytes().await?;
            Ok::<_, object_store::Error>((bytes.to_vec(), tag))
        });
        match got {
            Ok((bytes, tag)) => Ok(Some(Tagged { bytes, tag })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn get_range(&self, key: &str, range: std::ops::Range<u64>) -> Result<Option<Ranged>, StoreError> {
        let path = self.path(key)?;
        let got = self.rt.block_on(async {
            let options = object_store::GetOptions {
                range: Some(object_store::GetRange::Bounded(range)),
                ..Default::default()
            };
            let r = self.s3.get_opts(&path, options).await?;
            let (tag, size) = (r.meta.e_tag.clone().unwrap_or_default(), r.meta.size);
            let bytes = r.bytes().await?;
            Ok::<_, object_store::Error>((bytes.to_vec(), tag, size))
        });
        match got {
            Ok((bytes, tag, size)) => Ok(Some(Ranged { bytes, tag, size })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn head(&self, key: &str) -> Result<Option<ObjectMeta>, StoreError> {
        let path = self.path(key)?;
        match self.rt.block_on(self.s3.head(&path)) {
            Ok(m) => Ok(Some(ObjectMeta {
                key: key.to_owned(),
                size: m.size,
                modified: Some(SystemTime::from(m.last_modified)),
                tag: m.e_tag,
            })),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn put(&self, key: &str, data: &[u8], mode: PutMode) -> Result<PutOutcome, StoreError> {
        if mode == PutMode::Create {
            if self.conditional_writes()? {
                return Ok(match self.put_if(key, data, None)? {
                    Some(_) => PutOutcome::Written,
                    None => PutOutcome::AlreadyExists,
                });
            }
            // Ignored headers: look first. Create-only writes are content-addressed blobs, so a racing
            // writer of the same key writes the same bytes.
            if self.head(key)?.is_some() {
                return Ok(PutOutcome::AlreadyExists);
            }
        }
        let path = self.path(key)?;
        self.rt
            .block_on(self.s3.put(&path, PutPayload::from(data.to_vec())))
            .map_err(|e| self.err(key, &e))?;
        Ok(PutOutcome::Written)
    }

    fn put_if(&self, key: &str, data: &[u8], expected: Option<&str>) -> Result<Option<String>, StoreError> {
        let path = self.path(key)?;
        let mode = if self.conditional_writes()? {
            match expected {
                None => OsPutMode::Create,
                Some(tag) => OsPutMode::Update(UpdateVersion {
                    e_tag: Some(tag.to_owned()),
                    version: None,
                }),
            }
        } else {
            // Ignored headers would make this unconditional. Under the publish lock this store's only
            // writer is us, and the lock's fencing check has just passed: compare, then write.
            let now = self.head(key)?.map(|m| m.tag.unwrap_or_default());
            if now.as_deref() != expected {
                return Ok(None);
            }
            OsPutMode::Overwrite
        };
        match self.rt.block_on(self.s3.put_opts(
            &path,
            PutPayload::from(data.to_vec()),
            PutOptions::from(mode),
        )) {
            Ok(r) => Ok(Some(r.e_tag.unwrap_or_default())),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                Ok(None)
            }
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn put_file(&self, key: &str, path: &Path, mode: PutMode) -> Result<PutOutcome, StoreError> {
        if mode == PutMode::Create && self.head(key)?.is_some() {
            return Ok(PutOutcome::AlreadyExists);
        }
        self.put_files(&[(key.to_owned(), path.to_path_buf())])?;
        Ok(PutOutcome::Written)
    }

    fn put_files(&self, files: &[(String, PathBuf)]) -> Result<(), StoreError> {
        let mut jobs = Vec::new();
        for (key, file) in files {
            jobs.push((key.clone(), self.path(key)?, file.clone()));
        }
        let s3 = &self.s3;
        self.rt.block_on(
            stream::iter(jobs.into_iter().map(|(key, path, file)| async move {
                Self::upload_file(Arc::clone(s3), path, file)
                    .await
                    .map_err(|source| StoreError::Io {
                        store: self.describe(),
                        key,
                        source,
                    })
            }))
            .buffer_unordered(PARALLEL_UPLOADS)
            .try_collect::<Vec<()>>(),
        )?;
        Ok(())
    }

    fn copy(&self, from: &str, to: &str) -> Result<(), StoreError> {
        let (src, dst) = (self.path(from)?, self.path(to)?);
        self.rt
            .block_on(self.s3.copy(&src, &dst))
            .map_err(|e| self.err(from, &e))
    }

    fn list(&self, prefix: &str) -> Result<Vec<ObjectMeta>, StoreError> {
        // object_store lists whole path segments; list the directory part, then filter by the string prefix.
        let dir = prefix.rsplit_once('/').map_or("", |(d, _)| d);
        let full_dir = self.full(dir);
        let full_dir = full_dir.trim_end_matches('/');
        let list_path = (!full_dir.is_empty()).then(|| ObjPath::from(full_dir));
        let strip = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        let metas: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.s3.list(list_path.as_ref()).try_collect())
            .map_err(|e| self.err(prefix, &e))?;
        let mut out: Vec<ObjectMeta> = metas
            .into_iter()
            .filter_map(|m| {
                let key = m.location.as_ref().strip_prefix(&strip)?.to_owned();
                key.starts_with(prefix).then(|| ObjectMeta {
                    key,
                    size: m.size,
                    modified: Some(SystemTime::from(m.last_modified)),
                    tag: m.e_tag,
                })
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }

    fn delete(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match self.rt.block_on(self.s3.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn locking(&self) -> Result<String, StoreError> {
        Ok(Locking::for_store(self.conditional_writes()?).describe(self.lease))
    }

    fn lock(&self, key: &str, wait: Duration) -> Result<Box<dyn LockGuard>, StoreError> {
        let strategy = Locking::for_store(self.conditional_writes()?);
        crate::lock::acquire(Arc::new(self.tickets()), strategy, key, wait, self.lease)
    }
}

impl S3Store {
    /// A handle the lock's renewal thread can own.
    fn tickets(&self) -> S3Tickets {
        S3Tickets {
            rt: Arc::clone(&self.rt),
            s3: Arc::clone(&self.s3),
            prefix: self.prefix.clone(),
            url: self.describe(),
        }
    }
}

/// The subset of the store the lock needs, cheap to clone into the renewal thread.
struct S3Tickets {
    rt: Arc<Runtime>,
    s3: Arc<AmazonS3>,
    prefix: String,
    url: String,
}

impl S3Tickets {
    fn path(&self, key: &str) -> Result<ObjPath, StoreError> {
        check_key(key)?;
        let full = if self.prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{}/{key}", self.prefix)
        };
        ObjPath::parse(full).map_err(|_| StoreError::BadKey(key.to_owned()))
    }
    fn err(&self, key: &str, e: &object_store::Error) -> StoreError {
        StoreError::Io {
            store: self.url.clone(),
            key: key.to_owned(),
            source: std::io::Error::other(e.to_string()),
        }
    }
}

impl TicketStore for S3Tickets {
    fn describe(&self) -> String {
        self.url.clone()
    }

    fn write(&self, key: &str, body: &[u8], expect: crate::lock::Expect<'_>) -> Result<bool, StoreError> {
        use crate::lock::Expect;
        let path = self.path(key)?;
        let mode = match expect {
            Expect::Any => OsPutMode::Overwrite,
            Expect::Absent => OsPutMode::Create,
            Expect::Tag(t) => OsPutMode::Update(UpdateVersion {
                e_tag: Some(t.to_owned()),
                version: None,
            }),
        };
        match self.rt.block_on(self.s3.put_opts(
            &path,
            PutPayload::from(body.to_vec()),
            PutOptions::from(mode),
        )) {
            Ok(_) => Ok(true),
            Err(object_store::Error::AlreadyExists { .. } | object_store::Error::Precondition { .. }) => {
                Ok(false)
            }
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn list(&self, dir: &str) -> Result<Vec<(String, String)>, StoreError> {
        let path = self.path(dir)?;
        let metas: Vec<object_store::ObjectMeta> = self
            .rt
            .block_on(self.s3.list(Some(&path)).try_collect())
            .map_err(|e| self.err(dir, &e))?;
        Ok(metas
            .into_iter()
            .filter_map(|m| {
                let name = m.location.filename()?.to_owned();
                Some((name, m.e_tag.unwrap_or_default()))
            })
            .collect())
    }

    fn read_tag(&self, key: &str) -> Result<Option<String>, StoreError> {
        let path = self.path(key)?;
        match self.rt.block_on(self.s3.head(&path)) {
            Ok(m) => Ok(Some(m.e_tag.unwrap_or_default())),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(self.err(key, &e)),
        }
    }

    fn remove(&self, key: &str) -> Result<(), StoreError> {
        let path = self.path(key)?;
        match self.rt.block_on(self.s3.delete(&path)) {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, &e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::says_status;

    #[test]
    fn a_port_is_not_a_status() {
        assert!(!says_status(
            "Error performing GET http://127.0.0.1:40312/b?x",
            "403"
        ));
        assert!(!says_status("GET http://127.0.0.1:1403/b", "403"));
        assert!(!says_status("10.0.40.3", "403"));
        assert!(says_status("Client error with status 403 Forbidden", "403"));
        assert!(says_status("HTTP 403: AccessDenied", "403"));
    }
}
