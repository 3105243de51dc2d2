//! Pushing an image to a registry over the OCI distribution API (distribution-spec v1.1, "Push"): each blob
//! checked with `HEAD /v2/<name>/blobs/<digest>` and uploaded only when absent (`POST
//! /v2/<name>/blobs/uploads/`, then `PUT <location>?digest=`: a monolithic upload), every platform's
//! manifest put by digest, and the image index put under the tag last — so the tag never names an image
//! whose parts are missing. Credentials: HTTP basic, and the token flow a `WWW-Authenticate: Bearer
//! realm=…,service=…` challenge asks for (distribution's `token.md`: the token fetched from the realm with
//! the basic credentials, the scope `repository:<name>:pull,push`).

use std::time::Duration;

use anyhow::{Context as _, bail};
use wharf_package::oci::Blob;

/// The most a token service's answer may hold.
const TOKEN_CEILING: usize = 1 << 20;

/// A registry reference: `host[:port]/name[:tag]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reference {
    pub host: String,
    pub name: String,
    pub tag: String,
}

impl Reference {
    /// Parses `host[:port]/name[:tag]` (the tag defaults to `latest`; the host must have a `.` or a `:`, or
    /// be `localhost`, as Docker tells registries from names).
    pub fn parse(s: &str) -> anyhow::Result<Self> {
        let (host, rest) = s
            .split_once('/')
            .with_context(|| format!("`{s}`: name the registry (`registry.example.org/name:tag`)"))?;
        if !(host.contains(['.', ':']) || host == "localhost") {
            bail!("`{s}`: `{host}` is not a registry host (it needs a `.` or a port, or be localhost)");
        }
        let (name, tag) = match rest.rsplit_once(':') {
            Some((n, t)) if !t.contains('/') => (n, t),
            _ => (rest, "latest"),
        };
        let name_ok = !name.is_empty()
            && name.split('/').all(|c| {
                !c.is_empty()
                    && c.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
            });
        let tag_ok = !tag.is_empty()
            && tag.len() <= 128
            && tag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !name_ok || !tag_ok {
            bail!(
                "`{s}` is not a valid image reference (lowercase name components, a tag of letters, digits, `.`, `_`, `-`)"
            );
        }
        Ok(Self {
            host: host.to_owned(),
            name: name.to_owned(),
            tag: tag.to_owned(),
        })
    }
}

/// What a push did.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Pushed {
    /// Blobs uploaded.
    pub uploaded: Vec<String>,
    /// Blobs the registry had already.
    pub present: Vec<String>,
    /// HTTP requests made.
    pub requests: u64,
}

/// A registry session for one repository.
pub struct Registry {
    base: String,
    name: String,
    client: reqwest::Client,
    rt: tokio::runtime::Runtime,
    basic: Option<(String, String)>,
    bearer: Option<String>,
    requests: u64,
}

impl Registry {
    /// A session with `reference`'s registry (`http://` with `plain_http`, else `https://`).
    pub fn new(
        reference: &Reference,
        plain_http: bool,
        basic: Option<(String, String)>,
    ) -> anyhow::Result<Self> {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = reqwest::Client::builder()
            .user_agent(concat!("wharf/", env!("CARGO_PKG_VERSION")))
            .connect_timeout(Duration::from_secs(10))
            .timeout(Duration::from_secs(600))
            .build()?;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        Ok(Self {
            base: format!(
                "{}://{}",
                if plain_http { "http" } else { "https" },
                reference.host
            ),
            name: reference.name.clone(),
            client,
            rt,
            basic,
            bearer: None,
            requests: 0,
        })
    }

    /// Sends a request made by `make` (again, with a token, after a Bearer challenge).
    fn send(
        &mut self,
        make: &dyn Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        for attempt in 0..2 {
            let mut req = make(&self.client);
            if let Some(token) = &self.bearer {
                req = req.bearer_auth(token);
            } else if let Some((user, pass)) = &self.basic {
                req = req.basic_auth(user, Some(pass));
            }
            self.requests += 1;
            // Inside the runtime: the request's timers need it when it is made.
            let resp = self
                .rt
                .block_on(async { req.send().await })
                .with_context(|| format!("cannot reach {}", self.base))?;
            if resp.status().as_u16() != 401 || attempt == 1 {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get("www-authenticate")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned();
            if !challenge.to_ascii_lowercase().starts_with("bearer ") {
                bail!(
                    "{} refused the credentials (HTTP 401){}",
                    self.base,
                    if self.basic.is_some() {
                        ""
                    } else {
                        "; give them with --registry-user and WHARF_REGISTRY_PASSWORD"
                    }
                );
            }
            self.bearer = Some(self.token(&challenge)?);
        }
        bail!("{} refused the credentials (HTTP 401)", self.base)
    }

    /// The token a Bearer challenge asks for.
    fn token(&mut self, challenge: &str) -> anyhow::Result<String> {
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
        }
        let mut req = self.client.get(url);
        if let Some((user, pass)) = &self.basic {
            req = req.basic_auth(user, Some(pass));
        }
        self.requests += 1;
        let resp = self
            .rt
            .block_on(async { req.send().await })
            .context("cannot reach the token service")?;
        if !resp.status().is_success() {
            bail!(
                "the token service refused the credentials (HTTP {})",
                resp.status().as_u16()
            );
        }
        // A token is a few KiB: more than 1 MiB is refused, not held.
        let mut resp = resp;
        let bytes = self
            .rt
            .block_on(async {
                let mut body = Vec::new();
                while let Some(chunk) = resp.chunk().await? {
                    body.extend_from_slice(&chunk);
                    if body.len() > TOKEN_CEILING {
                        return Ok(None);
                    }
                }
                Ok::<_, reqwest::Error>(Some(body))
            })
            .context("the token service's answer")?
            .context("the token service's answer is larger than 1 MiB")?;
        let body: serde_json::Value =
            serde_json::from_slice(&bytes).context("the token service's answer is not JSON")?;
        body.get("token")
            .or_else(|| body.get("access_token"))
            .and_then(|t| t.as_str())
            .map(str::to_owned)
            .context("the token service gave no token")
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v2/{}/{path}", self.base, self.name)
    }

    /// Uploads `blob` unless the registry has it; whether it was uploaded.
    pub fn put_blob(&mut self, blob: &Blob) -> anyhow::Result<bool> {
        let digest = blob.descriptor.digest.clone();
        let head = self.url(&format!("blobs/{digest}"));
        let resp = self.send(&|c| c.head(&head))?;
        match resp.status().as_u16() {
            200 => return Ok(false),
            404 => {}
            s => bail!("{head}: HTTP {s}"),
        }
        let start = self.url("blobs/uploads/");
        let resp = self.send(&|c| c.post(&start).header("content-length", "0"))?;
        if resp.status().as_u16() != 202 {
            bail!("{start}: HTTP {} starting an upload", resp.status().as_u16());
        }
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .context("the registry gave no upload location")?
            .to_owned();
        let location = if location.starts_with('/') {
            format!("{}{location}", self.base)
        } else {
            location
        };
        let sep = if location.contains('?') { '&' } else { '?' };
        let put = format!("{location}{sep}digest={digest}");
        let bytes = blob.bytes.clone();
        let resp = self.send(&|c| {
            c.put(&put)
                .header("content-type", "application/octet-stream")
                .body(bytes.clone())
        })?;
        if resp.status().as_u16() != 201 {
            bail!("uploading {digest}: HTTP {}", resp.status().as_u16());
        }
        Ok(true)
    }

    /// Puts a manifest or index under `reference` (a digest or a tag).
    pub fn put_manifest(&mut self, blob: &Blob, reference: &str) -> anyhow::Result<()> {
        let url = self.url(&format!("manifests/{reference}"));
        let bytes = blob.bytes.clone();
        let media = blob.descriptor.media_type.clone();
        let resp = self.send(&|c| c.put(&url).header("content-type", &media).body(bytes.clone()))?;
        if resp.status().as_u16() != 201 {
            bail!("{url}: HTTP {}", resp.status().as_u16());
        }
        Ok(())
    }

    /// Requests made so far.
    #[must_use]
    pub fn requests(&self) -> u64 {
        self.requests
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let r = Reference::parse("127.0.0.1:5000/team/app:1.0").unwrap();
        assert_eq!(
            (r.host.as_str(), r.name.as_str(), r.tag.as_str()),
            ("127.0.0.1:5000", "team/app", "1.0")
        );
        assert_eq!(Reference::parse("localhost/app").unwrap().tag, "latest");
        for bad in [
            "app:1.0",
            "docker.io/App:1",
            "host.example/app:bad tag",
            "host.example/",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
