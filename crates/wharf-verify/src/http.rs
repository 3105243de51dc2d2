//! A read-only [`Source`] over an `http(s)://` base URL: what a client sees, through whatever CDN or
//! server stands in front of the store. GET only; 404 and 410 mean absent; it cannot list, so repositories
//! are named (or the URL is one). TLS through rustls on *ring* with the platform's roots.

use std::time::Duration;

use crate::{Source, VerifyError};

/// Reads objects below a base URL.
pub struct HttpSource {
    base: String,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
}

impl HttpSource {
    /// A source for `base` (`http://` or `https://`; a trailing slash is added).
    pub fn new(base: &str) -> Result<Self, VerifyError> {
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
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(300))
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
        })
    }
}

impl Source for HttpSource {
    fn describe(&self) -> String {
        self.base.clone()
    }

    fn get(&self, key: &str) -> Result<Option<Vec<u8>>, VerifyError> {
        let url = format!("{}{key}", self.base);
        let err = |why: String| VerifyError::Source {
            target: url.clone(),
            why,
        };
        self.rt.block_on(async {
            let resp = self
                .client
                .get(&url)
                .send()
                .await
                .map_err(|e| err(e.to_string()))?;
            match resp.status().as_u16() {
                200 => resp
                    .bytes()
                    .await
                    .map(|b| Some(b.to_vec()))
                    .map_err(|e| err(e.to_string())),
                404 | 410 => Ok(None),
                s => Err(err(format!("HTTP {s}"))),
            }
        })
    }

    fn list(&self) -> Result<Option<Vec<String>>, VerifyError> {
        Ok(None)
    }
}
