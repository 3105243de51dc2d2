//! A read-only [`Source`] over an `http(s)://` base URL: what a client sees, through whatever CDN or
//! server stands in front of the store. GET only; 404 and 410 mean absent; it cannot list, so repositories
//! are named (or the URL is one). TLS through rustls on *ring* with the platform's roots.
//!
//! A hostile or broken server cannot hold a run or its memory: the connection must open within 10 s,
//! each read must bring bytes within the idle timeout, each file must arrive within three idle timeouts
//! plus its size at 64 KiB/s (a server trickling a byte every two seconds is cut off), and no more than the
//! size the caller was told is read (a `Content-Length` above it is refused before the body).

use std::io::Read;
use std::time::{Duration, Instant};

use crate::{Source, VerifyError, too_large};

/// The slowest transfer a file may take once its deadline's fixed part is spent.
const MIN_RATE: u64 = 64 * 1024;

/// Reads objects below a base URL.
pub struct HttpSource {
    base: String,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    idle: Duration,
}

impl HttpSource {
    /// A source for `base` (`http://` or `https://`; a trailing slash is added) with a 20 s idle timeout.
    pub fn new(base: &str) -> Result<Self, VerifyError> {
        Self::with_timeout(base, Duration::from_secs(20))
    }

    /// A source whose reads may wait at most `idle` for the next bytes.
    pub fn with_timeout(base: &str, idle: Duration) -> Result<Self, VerifyError> {
        let err = |why: String| VerifyError::Source {
            target: base.to_owned(),
            why,
        };
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(err("not an http(s) URL".into()));
        }
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("wharf-verify/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10).min(idle.max(Duration::from_secs(1))))
            .read_timeout(idle)
            .build()
            .map_err(|e| err(e.to_string()))?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| err(format!("cannot start the I/O runtime: {e}")))?;
        Ok(Self {
            base: format!("{}/", base.trim_end_matches('/')),
            client,
            rt,
            idle,
        })
    }

    /// When reading `limit` bytes must be done.
    fn deadline(&self, limit: u64) -> Instant {
        let transfer = Duration::from_secs(limit / MIN_RATE);
        Instant::now() + self.idle.saturating_mul(3).saturating_add(transfer)
    }

    /// The response for `key` (`None`: absent), its body no larger than `limit` as far as its headers say.
    fn request(
        &self,
        key: &str,
        limit: u64,
        deadline: Instant,
    ) -> Result<Option<reqwest::Response>, VerifyError> {
        let url = format!("{}{key}", self.base);
        let err = |why: String| VerifyError::Source {
            target: url.clone(),
            why,
        };
        // The request is made inside the runtime: its timers need it.
        let resp = self
            .rt
            .block_on(async { tokio::time::timeout_at(deadline.into(), self.client.get(&url).send()).await })
            .map_err(|_| err("the server did not answer in time".into()))?
            .map_err(|e| err(e.to_string()))?;
        match resp.status().as_u16() {
            200 => {
                if resp.content_length().is_some_and(|n| n > limit) {
                    return Err(VerifyError::TooLarge {
                        key: key.to_owned(),
                        limit,
                    });
                }
                Ok(Some(resp))
            }
            404 | 410 => Ok(None),
            s => Err(err(format!("HTTP {s}"))),
        }
    }
}

/// A response body read chunk by chunk, within its deadline and limit.
struct Body<'a> {
    rt: &'a tokio::runtime::Runtime,
    resp: reqwest::Response,
    deadline: Instant,
    limit: u64,
    read: u64,
    chunk: bytes::Bytes,
}

impl Read for Body<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if self.chunk.is_empty() {
            let (deadline, resp) = (self.deadline, &mut self.resp);
            let next = self
                .rt
                .block_on(async { tokio::time::timeout_at(deadline.into(), resp.chunk()).await })
                .map_err(|_| std::io::Error::other("the server sent the file too slowly; gave up"))?
                .map_err(std::io::Error::other)?;
            match next {
                None => return Ok(0),
                Some(c) => {
                    self.read += c.len() as u64;
                    if self.read > self.limit {
                        return Err(std::io::Error::other(too_large(self.limit)));
                    }
                    self.chunk = c;
                }
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk.split_to(n));
        Ok(n)
    }
}

impl Source for HttpSource {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn get(&self, key: &str, limit: u64) -> Result<Option<Vec<u8>>, VerifyError> {
        let Some(mut body) = self.open(key, limit)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        body.read_to_end(&mut out).map_err(|e| VerifyError::Source {
            target: format!("{}{key}", self.base),
            why: e.to_string(),
        })?;
        Ok(Some(out))
    }

    fn open(&self, key: &str, limit: u64) -> Result<Option<Box<dyn Read + '_>>, VerifyError> {
        let deadline = self.deadline(limit);
        Ok(self.request(key, limit, deadline)?.map(|resp| {
            Box::new(Body {
                rt: &self.rt,
                resp,
                deadline,
                limit,
                read: 0,
                chunk: bytes::Bytes::new(),
            }) as Box<dyn Read + '_>
        }))
    }

    fn list(&self) -> Result<Option<Vec<String>>, VerifyError> {
        Ok(None)
    }
}
