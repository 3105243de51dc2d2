//! One request → one response, over a [`Store`], with no sockets: the part of `wharf serve` that decides
//! (and the part the tests drive directly). HTTP semantics from RFC 9110: validators (§8.8: strong ETags
//! from the store's version tag, Last-Modified), conditional requests (§13: If-None-Match before
//! If-Modified-Since, If-Range), single byte ranges (§14; several ranges are answered whole, which §14.2
//! allows), HEAD (§9.3.2), 405 with `Allow` (§15.5.6), 416 with `Content-Range: bytes */len` (§15.5.17).

use std::borrow::Cow;
use std::collections::HashMap;
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use hyper::body::Bytes;
use wharf_store::Store;

/// What the response needs to know about the request.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// `GET`, `HEAD`, …
    pub method: String,
    /// The request target's path, still percent-encoded (`/dists/stable/InRelease`).
    pub path: String,
    /// `If-None-Match`.
    pub if_none_match: Option<String>,
    /// `If-Modified-Since`.
    pub if_modified_since: Option<String>,
    /// `Range`.
    pub range: Option<String>,
    /// `If-Range`.
    pub if_range: Option<String>,
}

/// A response: status, headers, body (empty for HEAD and 304).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names and values. Every response but a 304 carries `Content-Length`, the same for HEAD as
    /// for GET.
    /// A value that is the same on every response is borrowed, not made per request.
    pub headers: Vec<(&'static str, Cow<'static, str>)>,
    /// The body.
    pub body: Body,
    /// What went wrong, for the server's log only (never sent: it can name the store's location).
    pub error: Option<String>,
}

/// What a response's body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    /// Bytes made for this response (messages, listings), a small object's, or none.
    Bytes(Bytes),
    /// `len` bytes of object `key` from `start`: the server streams them from the store in bounded
    /// chunks, each read with the store's ranged read, and stops if the object's version is no longer
    /// `tag` (replaced while being sent).
    Object {
        /// The store key.
        key: String,
        /// The first byte.
        start: u64,
        /// How many bytes.
        len: u64,
        /// The version the headers describe.
        tag: Option<String>,
    },
}

impl Body {
    /// How many bytes the body sends.
    #[must_use]
    pub fn len(&self) -> u64 {
        match self {
            Self::Bytes(b) => b.len() as u64,
            Self::Object { len, .. } => *len,
        }
    }

    /// Whether it sends nothing.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Response {
    /// The first value of header `name`.
    #[must_use]
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
}

/// How responses are shaped.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// `Strict-Transport-Security: max-age=N` (only when the server is reached over TLS, e.g. behind a
    /// terminating proxy).
    pub hsts_seconds: Option<u64>,
}

/// How long a client may keep a file, by its role in a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Pointer and index files, pages, scripts, keys: revalidated every time (ETag makes that a 304).
    Mutable,
    /// Content-addressed or never-rewritten files (by-hash, repodata blobs, packages, release assets).
    Immutable,
}

/// The role of `key` (a store key, no leading `/`).
#[must_use]
pub fn role(key: &str) -> Role {
    let name = key.rsplit('/').next().unwrap_or(key);
    let package = [".deb", ".rpm", ".ipk", ".apk", ".tar.gz"]
        .iter()
        .any(|e| name.ends_with(e))
        && !name.starts_with("APKINDEX");
    let released =
        key.starts_with("releases/") && key.matches('/').count() >= 2 && !key.ends_with("/index.json");
    let blob = key.contains("/by-hash/") || key.contains("/repodata/") && !name.starts_with("repomd.xml");
    if blob || package || released {
        Role::Immutable
    } else {
        Role::Mutable
    }
}

/// The media type of `key`.
#[must_use]
pub fn content_type(key: &str) -> &'static str {
    let name = key.rsplit('/').next().unwrap_or(key);
    let ext = name.rsplit_once('.').map_or("", |(_, e)| e);
    match ext {
        "html" => "text/html; charset=utf-8",
        "json" => "application/json",
        "xml" => "application/xml",
        "md" => "text/markdown; charset=utf-8",
        "gz" => "application/gzip",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "bz2" => "application/x-bzip2",
        "deb" => "application/vnd.debian.binary-package",
        "rpm" => "application/x-rpm",
        "asc" if name.contains("KEY") || name.contains("keyring") => "application/pgp-keys",
        "asc" | "gpg" if name.starts_with("Release") || name.starts_with("repomd") => {
            "application/pgp-signature"
        }
        "gpg" => "application/pgp-keys",
        "asc" => "application/pgp-signature",
        "sh" | "sha256" | "pem" | "pub" | "repo" | "sources" | "txt" => "text/plain; charset=utf-8",
        _ if matches!(
            name,
            "InRelease" | "Release" | "Packages" | "SHA256SUMS" | "latest"
        ) || name.starts_with("latest-")
            || name.starts_with("RPM-GPG-KEY") =>
        {
            "text/plain; charset=utf-8"
        }
        _ => "application/octet-stream",
    }
}

/// A time's UTC calendar fields, for the dates every response and log line carries: computed here
/// (days to year, month and day as in Hinnant's `civil_from_days`) rather than through a format string
/// parsed each time. `None` before 1970 and after 9999, which go through chrono.
struct Civil {
    year: u64,
    month: u64,
    day: u64,
    hour: u64,
    minute: u64,
    second: u64,
    /// 0 for Thursday (1 January 1970 was one).
    weekday_from_thursday: usize,
    nanos: u32,
}

impl Civil {
    fn of(t: SystemTime) -> Option<Self> {
        let since = t.duration_since(SystemTime::UNIX_EPOCH).ok()?;
        let secs = since.as_secs();
        if secs >= 253_402_300_800 {
            return None;
        }
        let (days, rest) = (secs / 86_400, secs % 86_400);
        // Days since 0000-03-01, in 400-year eras of 146,097 days.
        let z = days + 719_468;
        let doe = z % 146_097;
        let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        Some(Self {
            year: z / 146_097 * 400 + yoe + u64::from(month <= 2),
            month,
            day: doy - (153 * mp + 2) / 5 + 1,
            hour: rest / 3_600,
            minute: rest / 60 % 60,
            second: rest % 60,
            weekday_from_thursday: (days % 7) as usize,
            nanos: since.subsec_nanos(),
        })
    }
}

/// Appends `n`'s last `width` decimal digits, zero-padded.
fn push_digits(out: &mut String, n: u64, width: u32) {
    for p in (0..width).rev() {
        out.push(char::from(b'0' + (n / 10u64.pow(p) % 10) as u8));
    }
}

/// An HTTP date (IMF-fixdate, RFC 9110 §5.6.7): `Sun, 06 Nov 1994 08:49:37 GMT`.
fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let Some(c) = Civil::of(t) else {
        return DateTime::<Utc>::from(t)
            .format("%a, %d %b %Y %H:%M:%S GMT")
            .to_string();
    };
    let mut out = String::with_capacity(29);
    out.push_str(DAYS[c.weekday_from_thursday]);
    out.push_str(", ");
    push_digits(&mut out, c.day, 2);
    out.push(' ');
    out.push_str(MONTHS[(c.month - 1) as usize]);
    out.push(' ');
    push_digits(&mut out, c.year, 4);
    out.push(' ');
    push_clock(&mut out, &c);
    out.push_str(" GMT");
    out
}

fn push_clock(out: &mut String, c: &Civil) {
    push_digits(out, c.hour, 2);
    out.push(':');
    push_digits(out, c.minute, 2);
    out.push(':');
    push_digits(out, c.second, 2);
}

/// RFC 3339 in UTC to the millisecond (`2026-12-06T19:10:37.123Z`), as the access log writes times.
#[must_use]
pub fn rfc3339_millis(t: SystemTime) -> String {
    let Some(c) = Civil::of(t) else {
        return DateTime::<Utc>::from(t)
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string();
    };
    let mut out = String::with_capacity(24);
    push_digits(&mut out, c.year, 4);
    out.push('-');
    push_digits(&mut out, c.month, 2);
    out.push('-');
    push_digits(&mut out, c.day, 2);
    out.push('T');
    push_clock(&mut out, &c);
    out.push('.');
    push_digits(&mut out, u64::from(c.nanos / 1_000_000), 3);
    out.push('Z');
    out
}

fn parse_http_date(s: &str) -> Option<SystemTime> {
    DateTime::parse_from_rfc2822(s.trim())
        .ok()
        .map(|d| SystemTime::from(d.with_timezone(&Utc)))
}

/// Decodes `%XX` escapes; `None` on a malformed escape or bytes that are not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The store key a request path names, or `None` when it could name something outside the store: a `.`
/// or `..` segment (decoded), a backslash, a control character (NUL included), an absolute or scheme form,
/// or wharf's own `.wharf/` state at any depth. A trailing `/` is kept (a directory).
#[must_use]
pub fn key_of(path: &str) -> Option<String> {
    let path = path.split(['?', '#']).next().unwrap_or("");
    let rest = path.strip_prefix('/')?;
    // Most paths are already keys (no escape, no empty, `.`, `..` or `.wharf` segment): taken as they
    // are, in one copy. Anything else goes the long way, which gives the same key for these.
    if !rest.is_empty()
        && !rest.starts_with('/')
        && !rest.contains("//")
        && !rest.contains(['%', '\\'])
        && !rest.chars().any(char::is_control)
        && rest
            .strip_suffix('/')
            .unwrap_or(rest)
            .split('/')
            .all(|s| !matches!(s, "." | ".." | ".wharf"))
    {
        return Some(rest.to_owned());
    }
    key_of_decoded(rest)
}

/// [`key_of`] for a path (without its leading `/`) that may hold escapes, empty or dot segments.
fn key_of_decoded(rest: &str) -> Option<String> {
    let decoded = percent_decode(rest)?;
    if decoded.starts_with('/') || decoded.contains('\\') || decoded.chars().any(char::is_control) {
        return None;
    }
    let dir = decoded.ends_with('/') || decoded.is_empty();
    let segments: Vec<&str> = decoded.split('/').filter(|s| !s.is_empty()).collect();
    // `.wharf` at any depth: every channel tree keeps its state there (`dev/.wharf/rpm/state`).
    if segments.iter().any(|s| *s == "." || *s == ".." || *s == ".wharf") {
        return None;
    }
    let mut key = segments.join("/");
    if dir && !key.is_empty() {
        key.push('/');
    }
    Some(key)
}

fn escape_html(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Percent-encodes a key segment for a link.
fn encode_segment(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~+".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

const HTML_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// Builds a response with the headers every response carries.
fn base(status: u16, policy: &Policy) -> Response {
    // Room for every header an object's response carries, so it is allocated once.
    let mut headers = Vec::with_capacity(12);
    headers.push(("X-Content-Type-Options", "nosniff".into()));
    headers.push(("Referrer-Policy", "no-referrer".into()));
    if let Some(s) = policy.hsts_seconds {
        headers.push(("Strict-Transport-Security", format!("max-age={s}").into()));
    }
    Response {
        status,
        headers,
        body: Body::Bytes(Bytes::new()),
        error: None,
    }
}

fn text(status: u16, message: &str, policy: &Policy) -> Response {
    let mut r = base(status, policy);
    r.headers
        .push(("Content-Type", "text/plain; charset=utf-8".into()));
    r.headers.push(("Cache-Control", "no-store".into()));
    r.body = Body::Bytes(format!("{message}\n").into());
    r
}

/// Small objects' bytes kept between requests, each with the version (the store's tag) it was read
/// at. A request still looks its object up (a directory: one open and `fstat`); the kept bytes stand in
/// for reading it only when the tag found is the kept one — the test a client's `If-None-Match` makes
/// with the same tag as its ETag. At most `budget` bytes are held; an object larger than an eighth of
/// that is never kept, and room is made by dropping others.
#[derive(Debug)]
pub struct Cache {
    entries: HashMap<String, (String, Bytes)>,
    held: usize,
    budget: usize,
}

impl Cache {
    /// An empty cache that holds at most `budget` bytes.
    #[must_use]
    pub fn new(budget: usize) -> Self {
        Self {
            entries: HashMap::new(),
            held: 0,
            budget,
        }
    }

    /// The tag of the copy of `key` kept, if one is.
    fn tag(&self, key: &str) -> Option<&str> {
        self.entries.get(key).map(|(t, _)| t.as_str())
    }

    /// The copy of `key` kept, if it is of version `tag`.
    fn get(&self, key: &str, tag: &str) -> Option<Bytes> {
        self.entries
            .get(key)
            .filter(|(t, _)| t == tag)
            .map(|(_, b)| b.clone())
    }

    /// Keeps `bytes` as `key`'s version `tag`, in place of any other.
    fn keep(&mut self, key: &str, tag: &str, bytes: Bytes) {
        if let Some((_, old)) = self.entries.remove(key) {
            self.held -= old.len();
        }
        if bytes.len() > self.budget / 8 {
            return;
        }
        while self.held + bytes.len() > self.budget {
            let Some(k) = self.entries.keys().next().cloned() else {
                break;
            };
            if let Some((_, old)) = self.entries.remove(&k) {
                self.held -= old.len();
            }
        }
        self.held += bytes.len();
        self.entries.insert(key.to_owned(), (tag.to_owned(), bytes));
    }
}

/// The response to `req` from `store`.
pub fn respond(store: &dyn Store, req: &Request, policy: &Policy) -> Response {
    respond_reading(store, req, policy, 0, None)
}

/// [`respond`], with the body of an object of at most `small` bytes read in the same lookup as its
/// metadata (`Store::get_small`: one open of a file) and sent as [`Body::Bytes`], or taken from
/// `cache` when the copy there is of the version the lookup found. Only for a plain GET: a HEAD sends
/// no body, and a conditional request is mostly answered 304 with none.
pub fn respond_reading(
    store: &dyn Store,
    req: &Request,
    policy: &Policy,
    small: u64,
    cache: Option<&mut Cache>,
) -> Response {
    let plain = req.method == "GET" && req.if_none_match.is_none() && req.if_modified_since.is_none();
    let mut r = decide(store, req, policy, if plain { small } else { 0 }, cache);
    // RFC 9110 §9.3.2: HEAD sends the headers GET would, Content-Length included, and no body.
    if r.status != 304 && r.header("Content-Length").is_none() {
        r.headers
            .push(("Content-Length", r.body.len().to_string().into()));
    }
    if req.method == "HEAD" {
        r.body = Body::Bytes(Bytes::new());
    }
    r
}

fn decide(
    store: &dyn Store,
    req: &Request,
    policy: &Policy,
    small: u64,
    cache: Option<&mut Cache>,
) -> Response {
    if req.method != "GET" && req.method != "HEAD" {
        let mut r = text(405, "method not allowed: this server only reads", policy);
        r.headers.push(("Allow", "GET, HEAD".into()));
        return r;
    }
    let Some(key) = key_of(&req.path) else {
        return text(400, "bad path", policy);
    };
    match lookup(store, &key, req, policy, (small, cache)) {
        Ok(r) => r,
        // The cause goes to the server's log, not to the client: it names the store's location.
        Err(e) => {
            let mut r = text(502, "the store could not be read", policy);
            r.error = Some(e.to_string());
            r
        }
    }
}

fn lookup(
    store: &dyn Store,
    key: &str,
    req: &Request,
    policy: &Policy,
    (small, mut cache): (u64, Option<&mut Cache>),
) -> Result<Response, wharf_store::StoreError> {
    let mut found = |key: &str| -> Result<Option<Response>, wharf_store::StoreError> {
        let (meta, bytes) = if small == 0 {
            match store.head(key)? {
                Some(m) => (m, None),
                None => return Ok(None),
            }
        } else {
            let known = cache.as_deref().and_then(|c| c.tag(key));
            let Some(got) = store.get_small(key, small, known)? else {
                return Ok(None);
            };
            let bytes = match (got.bytes, &got.meta.tag, cache.as_deref_mut()) {
                (Some(read), Some(tag), Some(cache)) => {
                    let read = Bytes::from(read);
                    cache.keep(key, tag, read.clone());
                    Some(read)
                }
                (Some(read), _, _) => Some(Bytes::from(read)),
                (None, Some(tag), Some(cache)) if got.meta.size <= small => cache.get(key, tag),
                (None, _, _) => None,
            };
            (got.meta, bytes)
        };
        object(key, &meta, req, policy, bytes.as_ref()).map(Some)
    };
    if key.is_empty() || key.ends_with('/') {
        if let Some(r) = found(&format!("{key}index.html"))? {
            return Ok(r);
        }
        return listing(store, key, policy);
    }
    if let Some(r) = found(key)? {
        return Ok(r);
    }
    // A directory named without its slash: send the client to it, so relative links work.
    if !store.list(&format!("{key}/"))?.is_empty() {
        let mut r = text(301, "moved", policy);
        let last = key.rsplit('/').next().unwrap_or(key);
        r.headers
            .push(("Location", format!("{}/", encode_segment(last)).into()));
        return Ok(r);
    }
    Ok(text(404, "not found", policy))
}

/// The object `key`, whose metadata the caller has just read.
fn object(
    key: &str,
    meta: &wharf_store::ObjectMeta,
    req: &Request,
    policy: &Policy,
    bytes: Option<&Bytes>,
) -> Result<Response, wharf_store::StoreError> {
    let etag = meta.tag.as_ref().map(|t| format!("\"{}\"", t.trim_matches('"')));
    let modified = meta.modified.map(http_date);
    let mut r = base(200, policy);
    r.headers.push(("Content-Type", content_type(key).into()));
    r.headers.push((
        "Cache-Control",
        match role(key) {
            Role::Immutable => "public, max-age=31536000, immutable",
            Role::Mutable => "no-cache",
        }
        .into(),
    ));
    if content_type(key).starts_with("text/html") {
        r.headers.push(("Content-Security-Policy", HTML_CSP.into()));
    }
    if let Some(e) = &etag {
        r.headers.push(("ETag", e.clone().into()));
    }
    if let Some(m) = &modified {
        r.headers.push(("Last-Modified", m.clone().into()));
    }
    r.headers.push(("Accept-Ranges", "bytes".into()));
    // RFC 9110 §13.2.2: If-None-Match first; If-Modified-Since only without it.
    let not_modified = match (&req.if_none_match, &req.if_modified_since) {
        (Some(inm), _) => etag
            .as_ref()
            .is_some_and(|e| inm.trim() == "*" || inm.split(',').any(|c| weak_eq(c, e))),
        (None, Some(ims)) => match (meta.modified, parse_http_date(ims)) {
            // Second resolution: the date sent back is the one we sent.
            (Some(m), Some(since)) => http_date(m) == http_date(since) || m <= since,
            _ => false,
        },
        (None, None) => false,
    };
    if not_modified {
        r.status = 304;
        return Ok(r);
    }
    let size = meta.size;
    let range = req.range.as_deref().filter(|_| match &req.if_range {
        // §13.1.5: a strong ETag match (or the exact date) keeps the range; otherwise the whole object.
        Some(ir) => etag.as_deref() == Some(ir.trim()) || modified.as_deref() == Some(ir.trim()),
        None => true,
    });
    // The bytes sent: those read with the lookup (or kept from an earlier one) when they cover the
    // span, else a description of the span for the server to stream.
    let whole = |start: u64, len: u64| {
        let span = usize::try_from(start).ok().zip(usize::try_from(start + len).ok());
        match (bytes, span) {
            (Some(b), Some((from, to))) if to <= b.len() => Body::Bytes(b.slice(from..to)),
            _ => Body::Object {
                key: key.to_owned(),
                start,
                len,
                tag: meta.tag.clone(),
            },
        }
    };
    match range.map(|h| parse_range(h, size)) {
        Some(RangeSpec::Unsatisfiable) => {
            let mut r416 = base(416, policy);
            r416.headers
                .push(("Content-Range", format!("bytes */{size}").into()));
            r416.headers.push(("Cache-Control", "no-store".into()));
            Ok(r416)
        }
        Some(RangeSpec::One(start, end)) => {
            r.status = 206;
            r.headers
                .push(("Content-Range", format!("bytes {start}-{end}/{size}").into()));
            r.headers
                .push(("Content-Length", (end - start + 1).to_string().into()));
            r.body = whole(start, end - start + 1);
            Ok(r)
        }
        Some(RangeSpec::Whole) | None => {
            r.headers.push(("Content-Length", size.to_string().into()));
            r.body = whole(0, size);
            Ok(r)
        }
    }
}

/// Weak comparison (§8.8.3.2): `W/` prefixes ignored.
fn weak_eq(a: &str, b: &str) -> bool {
    let strip = |s: &str| s.trim().trim_start_matches("W/").to_owned();
    strip(a) == strip(b)
}

#[derive(Debug, PartialEq, Eq)]
enum RangeSpec {
    /// One satisfiable range, inclusive.
    One(u64, u64),
    /// Not a byte range we serve partially (several ranges, another unit, malformed): the whole object.
    Whole,
    /// No byte of it exists.
    Unsatisfiable,
}

/// Parses a `Range` header against an object of `size` bytes (§14.1.2).
fn parse_range(header: &str, size: u64) -> RangeSpec {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return RangeSpec::Whole;
    };
    if spec.contains(',') {
        return RangeSpec::Whole;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return RangeSpec::Whole;
    };
    let num = |s: &str| -> Option<u64> {
        (!s.is_empty() && s.bytes().all(|c| c.is_ascii_digit()))
            .then(|| s.parse().ok())
            .flatten()
    };
    match (a.is_empty(), num(a), num(b)) {
        // bytes=-N: the last N bytes.
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                RangeSpec::Unsatisfiable
            } else {
                RangeSpec::One(size.saturating_sub(n), size - 1)
            }
        }
        (false, Some(start), end) if b.is_empty() || end.is_some() => {
            if start >= size {
                return RangeSpec::Unsatisfiable;
            }
            let end = end.map_or(size - 1, |e| e.min(size - 1));
            if end < start {
                RangeSpec::Whole
            } else {
                RangeSpec::One(start, end)
            }
        }
        _ => RangeSpec::Whole,
    }
}

/// A browsable listing of the directory `dir` (`""` or ending in `/`): its subdirectories and files.
fn listing(store: &dyn Store, dir: &str, policy: &Policy) -> Result<Response, wharf_store::StoreError> {
    let objects = store.list(dir)?;
    if objects.is_empty() && !dir.is_empty() {
        return Ok(text(404, "not found", policy));
    }
    let mut dirs: Vec<String> = Vec::new();
    let mut files: Vec<(String, u64)> = Vec::new();
    for o in &objects {
        let rest = &o.key[dir.len()..];
        match rest.split_once('/') {
            Some((d, _)) => {
                // Keys come sorted, so one directory's keys are adjacent.
                if d != ".wharf" && dirs.last().map(String::as_str) != Some(d) {
                    dirs.push(d.to_owned());
                }
            }
            None => files.push((rest.to_owned(), o.size)),
        }
    }
    let title = format!("/{dir}");
    let mut html = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>Index of {t}</title>\n<style>body{{font:16px/1.5 system-ui,sans-serif;margin:2rem}}td{{padding:.1rem 1rem .1rem 0}}td.n{{text-align:right}}</style></head>\n<body>\n<main>\n<h1>Index of {t}</h1>\n<table>\n<caption>Files and directories</caption>\n<thead><tr><th scope=\"col\">Name</th><th scope=\"col\">Size</th></tr></thead>\n<tbody>\n",
        t = escape_html(&title)
    );
    if !dir.is_empty() {
        html.push_str("<tr><td><a href=\"../\">../</a></td><td></td></tr>\n");
    }
    for d in &dirs {
        html.push_str(&format!(
            "<tr><td><a href=\"{}/\">{}/</a></td><td></td></tr>\n",
            encode_segment(d),
            escape_html(d)
        ));
    }
    for (f, size) in &files {
        html.push_str(&format!(
            "<tr><td><a href=\"{}\">{}</a></td><td class=\"n\">{size}</td></tr>\n",
            encode_segment(f),
            escape_html(f)
        ));
    }
    html.push_str("</tbody>\n</table>\n</main>\n</body>\n</html>\n");
    let mut r = base(200, policy);
    r.headers
        .push(("Content-Type", "text/html; charset=utf-8".into()));
    r.headers.push(("Cache-Control", "no-cache".into()));
    r.headers.push(("Content-Security-Policy", HTML_CSP.into()));
    r.body = Body::Bytes(html.into());
    Ok(r)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_dates_are_chronos() {
        let chrono = |t: SystemTime| {
            DateTime::<Utc>::from(t)
                .format("%a, %d %b %Y %H:%M:%S GMT")
                .to_string()
        };
        // Every 3,600,011 s (about 41.7 days, so each hour and weekday comes round) from 1970 to 9999,
        // and the edges of leap days, centuries and the years either side.
        let edges = [
            0,
            68_169_599,
            951_782_399,
            951_782_400,
            951_868_800,
            4_107_542_400,
            253_402_300_799,
        ];
        let every = (0..253_402_300_799_u64).step_by(3_600_011).chain(edges);
        for secs in every {
            let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(secs);
            assert_eq!(http_date(t), chrono(t), "{secs}");
        }
        for secs in (0..253_402_300_799_u64).step_by(3_600_011).chain(edges) {
            let t = SystemTime::UNIX_EPOCH
                + std::time::Duration::new(secs, (secs % 1_000_000_007) as u32 % 1_000_000_000);
            let chrono = DateTime::<Utc>::from(t)
                .format("%Y-%m-%dT%H:%M:%S%.3fZ")
                .to_string();
            assert_eq!(rfc3339_millis(t), chrono, "{secs}");
        }
        let before = SystemTime::UNIX_EPOCH - std::time::Duration::from_secs(86_401);
        assert_eq!(http_date(before), "Tue, 30 Dec 1969 23:59:59 GMT");
        assert_eq!(
            http_date(SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(784_111_777)),
            "Sun, 06 Nov 1994 08:49:37 GMT"
        );
    }

    #[test]
    fn paths_never_leave_the_store() {
        for bad in [
            "/../etc/passwd",
            "/dists/../../etc/passwd",
            "/%2e%2e/etc/passwd",
            "/%2E%2E%2Fetc%2Fpasswd",
            "/pool/..%2f..%2fetc",
            "/pool\\..\\etc",
            "/pool/%5c..%5cetc",
            "//etc/passwd",
            "/%2fetc/passwd",
            "/a%00b",
            "/a\u{0}b",
            "/.wharf/lock",
            "/dev/.wharf/rpm/state",
            "/a/b/.wharf/",
            "/dev/%2ewharf/rpm/state",
            "/./x",
            "/%zz",
            "/%c3%28",
            "relative",
        ] {
            assert_eq!(key_of(bad), None, "{bad}");
        }
        assert_eq!(key_of("/").as_deref(), Some(""));
        assert_eq!(
            key_of("/dists/stable/InRelease").as_deref(),
            Some("dists/stable/InRelease")
        );
        assert_eq!(
            key_of("/releases/1.0~rc.1/a%20b.deb?x=1").as_deref(),
            Some("releases/1.0~rc.1/a b.deb")
        );
        assert_eq!(key_of("/pool//main/").as_deref(), Some("pool/main/"));
    }

    /// A small object read with its lookup is the same response — status, headers, bytes — as one read
    /// after it; a HEAD, a conditional request and a large object are not read there.
    #[test]
    fn small_objects_are_read_with_their_lookup() {
        let dir = tempfile::tempdir().unwrap();
        let store = wharf_store::LocalStore::open(dir.path()).unwrap();
        let data: Vec<u8> = (0..1000u32).map(|i| (i % 251) as u8).collect();
        store
            .put("pool/a.deb", &data, wharf_store::PutMode::Overwrite)
            .unwrap();
        let policy = Policy::default();
        let get = |method: &str, range: Option<&str>, inm: Option<&str>| Request {
            method: method.into(),
            path: "/pool/a.deb".into(),
            range: range.map(str::to_owned),
            if_none_match: inm.map(str::to_owned),
            ..Request::default()
        };
        for (range, body) in [(None, &data[..]), (Some("bytes=10-19"), &data[10..20])] {
            let req = get("GET", range, None);
            let read = respond_reading(&store, &req, &policy, 4096, None);
            let looked = respond(&store, &req, &policy);
            assert_eq!((read.status, &read.headers), (looked.status, &looked.headers));
            assert_eq!(read.body, Body::Bytes(Bytes::copy_from_slice(body)));
            assert!(matches!(looked.body, Body::Object { .. }));
        }
        let req = get("GET", None, None);
        assert!(matches!(
            respond_reading(&store, &req, &policy, 999, None).body,
            Body::Object { .. }
        ));
        let head = respond_reading(&store, &get("HEAD", None, None), &policy, 4096, None);
        assert_eq!(head.body, Body::Bytes(Bytes::new()));
        let other = respond_reading(&store, &get("GET", None, Some("\"x\"")), &policy, 4096, None);
        assert_eq!(other.status, 200);
        assert!(matches!(other.body, Body::Object { .. }));
    }

    /// A kept copy stands in for reading only while the object is the version it was read at; the
    /// cache never holds more than its budget.
    #[test]
    fn kept_bytes_are_of_the_version_found() {
        let dir = tempfile::tempdir().unwrap();
        let store = wharf_store::Counted::new(wharf_store::LocalStore::open(dir.path()).unwrap());
        store
            .put("dists/InRelease", b"first", wharf_store::PutMode::Overwrite)
            .unwrap();
        let policy = Policy::default();
        let req = Request {
            method: "GET".into(),
            path: "/dists/InRelease".into(),
            ..Request::default()
        };
        let mut cache = Cache::new(64);
        let get = |cache: &mut Cache| respond_reading(&store, &req, &policy, 4096, Some(cache));
        assert_eq!(get(&mut cache).body, Body::Bytes(Bytes::from_static(b"first")));
        let read = store.calls().bytes_read;
        assert_eq!(get(&mut cache).body, Body::Bytes(Bytes::from_static(b"first")));
        assert_eq!(store.calls().bytes_read, read, "the kept copy was read again");
        // Replaced (a new file renamed over it): the new bytes, read once and kept in place of the old.
        store
            .put("dists/InRelease", b"second", wharf_store::PutMode::Overwrite)
            .unwrap();
        assert_eq!(get(&mut cache).body, Body::Bytes(Bytes::from_static(b"second")));
        assert_eq!(get(&mut cache).body, Body::Bytes(Bytes::from_static(b"second")));
        assert_eq!(store.calls().bytes_read, read + 6);
        assert_eq!(cache.held, 6);
        // Over budget: others make way, and nothing larger than an eighth of it is kept.
        for (i, len) in [8usize, 8, 8, 8, 8, 8, 8, 9].into_iter().enumerate() {
            cache.keep(&format!("k{i}"), "t", Bytes::from(vec![0; len]));
            assert!(cache.held <= 64, "{}", cache.held);
        }
        assert!(cache.tag("k7").is_none());
        assert!(cache.tag("k6").is_some());
    }

    /// The short way gives the key the long way gives, wherever it is taken.
    #[test]
    fn plain_paths_are_their_own_keys() {
        for path in [
            "/dists/stable/InRelease",
            "/pool/main/d/demo/demo_1.0_amd64.deb",
            "/dists/",
            "/a",
            "/a/b/",
            "/1.0~rc.1/a+b.deb",
            "/.well-known/x",
            "/a/.wharfx/b",
            "/a/..b/c",
            "/a/b.",
        ] {
            let rest = path.strip_prefix('/').unwrap();
            assert_eq!(key_of(path), key_of_decoded(rest), "{path}");
            assert_eq!(key_of(path).as_deref(), Some(rest), "{path}");
        }
        // Every path of up to six characters from `a./%2E`.
        let alphabet = ['a', '.', '/', '%', '2', 'E'];
        let mut paths = vec![String::new()];
        for _ in 0..6 {
            let longer: Vec<String> = paths
                .iter()
                .flat_map(|p| alphabet.iter().map(move |c| format!("{p}{c}")))
                .collect();
            for rest in &longer {
                assert_eq!(key_of(&format!("/{rest}")), key_of_decoded(rest), "/{rest}");
            }
            paths = longer;
        }
    }

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-0", 10), RangeSpec::One(0, 0));
        assert_eq!(parse_range("bytes=2-", 10), RangeSpec::One(2, 9));
        assert_eq!(parse_range("bytes=-3", 10), RangeSpec::One(7, 9));
        assert_eq!(parse_range("bytes=-30", 10), RangeSpec::One(0, 9));
        assert_eq!(parse_range("bytes=5-100", 10), RangeSpec::One(5, 9));
        assert_eq!(parse_range("bytes=10-", 10), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 10), RangeSpec::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-1,4-5", 10), RangeSpec::Whole);
        assert_eq!(parse_range("items=0-1", 10), RangeSpec::Whole);
        assert_eq!(parse_range("bytes=5-2", 10), RangeSpec::Whole);
        assert_eq!(parse_range("bytes=x-2", 10), RangeSpec::Whole);
    }

    #[test]
    fn roles_and_types() {
        assert_eq!(role("dists/stable/InRelease"), Role::Mutable);
        assert_eq!(role("dists/stable/main/binary-amd64/Packages.xz"), Role::Mutable);
        assert_eq!(
            role("dists/stable/main/binary-amd64/by-hash/SHA256/ab"),
            Role::Immutable
        );
        assert_eq!(role("pool/main/h/hello/hello_1.0_amd64.deb"), Role::Immutable);
        assert_eq!(role("linux-x86_64/repodata/repomd.xml"), Role::Mutable);
        assert_eq!(role("linux-x86_64/repodata/ab12-primary.xml.gz"), Role::Immutable);
        assert_eq!(role("apk/x86_64/APKINDEX.tar.gz"), Role::Mutable);
        assert_eq!(role("releases/1.0/SHA256SUMS"), Role::Immutable);
        assert_eq!(role("releases/latest"), Role::Mutable);
        assert_eq!(role("releases/index.json"), Role::Mutable);
        assert_eq!(role("index.html"), Role::Mutable);
        assert_eq!(
            content_type("dists/stable/InRelease"),
            "text/plain; charset=utf-8"
        );
        assert_eq!(content_type("a/b.deb"), "application/vnd.debian.binary-package");
        assert_eq!(
            content_type("dists/stable/Release.gpg"),
            "application/pgp-signature"
        );
        assert_eq!(content_type("archive-keyring.gpg"), "application/pgp-keys");
        assert_eq!(content_type("index.html"), "text/html; charset=utf-8");
    }
}
