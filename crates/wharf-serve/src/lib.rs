//! wharf-serve: a published repository over HTTP, read-only, from any [`Store`] (a directory or an S3
//! prefix) — design.md §6.
//!
//! - [`respond`] decides each response (RFC 9110: validators, conditional requests, byte ranges, HEAD;
//!   content types and `Cache-Control` by a file's role in a repository; security headers; path checks that
//!   never leave the store; a listing page for directories without `index.html`).
//! - [`run`] is the server: hyper 1 over tokio, HTTP/1.1, at most `max_connections` connections at once,
//!   a header-read timeout against slow clients, one [`AccessEntry`] per request to the caller's log, and
//!   graceful shutdown (in-flight requests finish). An object of at most [`CHUNK`] bytes is read in the
//!   same lookup as its metadata (`Store::get_small`: one open of a file) and sent whole; a larger one
//!   is streamed in chunks of [`CHUNK`] bytes read with the store's ranged read (`pread` on a
//!   directory, a ranged GET on S3), at most two chunks held per response, so memory is bounded by the
//!   connections, not by the objects. A directory's reads are
//!   made on the request's own thread (the page cache answers in microseconds); a network store's on
//!   tokio's blocking pool. Responses go out without Nagle's delay (`TCP_NODELAY`);
//!   a client that takes no bytes for [`Options::send_timeout`] is dropped. When every slot is taken,
//!   the connection idle the longest (no request being answered: slow header senders, idle keep-alive
//!   connections) is closed to make room, so slow or stalled peers cannot keep new clients out.
//!
//! It only ever calls the store's read methods: nothing is signed, written or locked on a request.

pub mod respond;

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use hyper::body::{Bytes, Frame, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, mpsc};
use wharf_store::Store;

pub use respond::{Body, Policy, Request, Response, respond, respond_reading};

/// The bytes one ranged read of the store brings, and the most a response holds at once but one.
pub const CHUNK: u64 = 256 * 1024;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Response policy (HSTS).
    pub policy: Policy,
    /// Connections served at once; when all are taken, the longest-idle one is closed for a new one.
    pub max_connections: usize,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
    /// How long a client may take to accept the next chunk of a body before it is dropped.
    pub send_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
        }
    }
}

/// One line of the access log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessEntry {
    /// When the request arrived (RFC 3339, UTC).
    pub time: String,
    /// The client's address.
    pub remote: String,
    /// The method.
    pub method: String,
    /// The request target's path.
    pub path: String,
    /// The status sent.
    pub status: u16,
    /// Body bytes to send.
    pub bytes: u64,
    /// Time to build the response, in milliseconds.
    pub millis: u128,
    /// `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// `Range`, if sent.
    pub range: Option<String>,
    /// Why the store could not answer (a 502), for the operator; never sent to the client.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Accepting connections failed.
    #[error("accepting connections on {addr}: {source}")]
    Accept {
        /// The listening address.
        addr: String,
        /// The error.
        source: std::io::Error,
    },
}

/// A response body: bytes made for it, or an object streamed chunk by chunk through a channel of one.
pub enum ServeBody {
    /// Whole, sent at once (taken on the first poll).
    Full(Option<Bytes>),
    /// Chunks as the reading task sends them; an error ends the connection mid-body.
    Stream(mpsc::Receiver<std::io::Result<Bytes>>),
}

impl hyper::body::Body for ServeBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        match self.get_mut() {
            Self::Full(b) => Poll::Ready(b.take().filter(|b| !b.is_empty()).map(|b| Ok(Frame::data(b)))),
            Self::Stream(rx) => rx.poll_recv(cx).map(|c| c.map(|r| r.map(Frame::data))),
        }
    }
}

/// The open connections: when each last did something, whether it is sending a body, and how to close it.
#[derive(Default)]
struct Connections {
    next: u64,
    open: HashMap<u64, Conn>,
}

struct Conn {
    last: Instant,
    sending: usize,
    close: Arc<Notify>,
}

type Registry = Arc<Mutex<Connections>>;

fn touch(reg: &Registry, id: u64, sending: isize) {
    if let Ok(mut r) = reg.lock()
        && let Some(c) = r.open.get_mut(&id)
    {
        c.last = Instant::now();
        c.sending = c.sending.saturating_add_signed(sending);
    }
}

/// Closes the connection that has waited longest without a body to send; false when every one is busy.
fn evict_idlest(reg: &Registry) -> bool {
    let Ok(r) = reg.lock() else { return false };
    let idlest = r.open.values().filter(|c| c.sending == 0).min_by_key(|c| c.last);
    idlest.is_some_and(|c| {
        c.close.notify_one();
        true
    })
}

/// Serves `store` on `listener` until `shutdown` completes, then lets open requests finish (up to 10 s).
pub async fn run(
    store: Arc<dyn Store>,
    listener: TcpListener,
    options: Options,
    log: Arc<dyn Fn(AccessEntry) + Send + Sync>,
    shutdown: impl Future<Output = ()>,
) -> Result<(), ServeError> {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let registry: Registry = Arc::default();
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, remote) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                // Per-connection errors (the peer reset before accept, too many files): keep serving.
                Err(e) if is_transient(&e) => continue,
                Err(source) => return Err(ServeError::Accept { addr, source }),
            },
            () = &mut shutdown => break,
        };
        // Responses are written as they are ready (headers, then the body's reads): with Nagle's
        // algorithm on, a small body waited for the client's delayed ACK of the headers (~40 ms on Linux),
        // which held a 64-connection client to ~1,500 requests/s on a 1 KB file.
        let _ = stream.set_nodelay(true);
        // Every slot taken: make room by closing the idlest connection, then wait for its slot (a
        // connection that is sending a body is never closed for another).
        let permit = match Arc::clone(&slots).try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                evict_idlest(&registry);
                tokio::select! {
                    p = Arc::clone(&slots).acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                    () = &mut shutdown => break,
                }
            }
        };
        let close = Arc::new(Notify::new());
        let id = match registry.lock() {
            Ok(mut r) => {
                r.next += 1;
                let id = r.next;
                r.open.insert(
                    id,
                    Conn {
                        last: Instant::now(),
                        sending: 0,
                        close: Arc::clone(&close),
                    },
                );
                id
            }
            Err(_) => break,
        };
        let store = Arc::clone(&store);
        let log = Arc::clone(&log);
        let policy = options.policy.clone();
        let send_timeout = options.send_timeout;
        let reg = Arc::clone(&registry);
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            touch(&reg, id, 0);
            handle(
                Arc::clone(&store),
                policy.clone(),
                Arc::clone(&log),
                remote,
                req,
                (Arc::clone(&reg), id, send_timeout),
            )
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        let reg = Arc::clone(&registry);
        tokio::spawn(async move {
            tokio::select! {
                _ = conn => {},
                () = close.notified() => {},
            }
            if let Ok(mut r) = reg.lock() {
                r.open.remove(&id);
            }
            drop(permit);
        });
    }
    tokio::select! {
        () = graceful.shutdown() => {},
        () = tokio::time::sleep(Duration::from_secs(10)) => {},
    }
    Ok(())
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionReset, Interrupted};
    matches!(e.kind(), ConnectionAborted | ConnectionReset | Interrupted) || e.raw_os_error() == Some(24)
}

async fn handle(
    store: Arc<dyn Store>,
    policy: Policy,
    log: Arc<dyn Fn(AccessEntry) + Send + Sync>,
    remote: SocketAddr,
    req: hyper::Request<Incoming>,
    (reg, id, send_timeout): (Registry, u64, Duration),
) -> Result<hyper::Response<ServeBody>, Infallible> {
    let started = Instant::now();
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request = Request {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        if_none_match: header("if-none-match"),
        if_modified_since: header("if-modified-since"),
        range: header("range"),
        if_range: header("if-range"),
    };
    let user_agent = header("user-agent");
    let r = if store.reads_are_local() {
        // Local files: looked up and read on this thread, as a static file server's worker does (the
        // page cache answers in microseconds; a trip to the blocking pool and back cost more than that).
        answer(store.as_ref(), &request, &policy)
    } else {
        let request = request.clone();
        let store = Arc::clone(&store);
        // A network store blocks on its own runtime: off the async threads.
        tokio::task::spawn_blocking(move || answer(store.as_ref(), &request, &policy))
            .await
            .unwrap_or_else(|_| Response {
                status: 500,
                headers: Vec::new(),
                body: Body::Bytes(b"internal error\n".to_vec()),
                error: Some("the response task failed".into()),
            })
    };
    log(AccessEntry {
        time: chrono::DateTime::<chrono::Utc>::from(SystemTime::now())
            .format("%Y-%m-%dT%H:%M:%S%.3fZ")
            .to_string(),
        remote: remote.to_string(),
        method: request.method.clone(),
        path: request.path.clone(),
        status: r.status,
        bytes: r.body.len(),
        millis: started.elapsed().as_millis(),
        user_agent,
        range: request.range.clone(),
        error: r.error.clone(),
    });
    let mut builder = hyper::Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(*name, value);
    }
    let body = match r.body {
        Body::Bytes(b) => ServeBody::Full(Some(Bytes::from(b))),
        Body::Object { key, start, len, tag } => {
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(stream_object(
                store,
                key,
                start..start + len,
                tag,
                tx,
                (reg, id, send_timeout),
            ));
            ServeBody::Stream(rx)
        }
    };
    Ok(builder.body(body).unwrap_or_else(|_| {
        let mut resp = hyper::Response::new(ServeBody::Full(Some(Bytes::from_static(b"bad header\n"))));
        *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        resp
    }))
}

/// The response to `request`; a body of at most one chunk is read here and sent whole, so most requests
/// (indexes, signatures, most packages) need no streaming task and channel. It is read at the version the
/// headers describe, or left to the stream, which cuts the connection if the object changed.
fn answer(store: &dyn Store, request: &Request, policy: &Policy) -> Response {
    let mut r = respond_reading(store, request, policy, CHUNK);
    if let Body::Object { key, start, len, tag } = &r.body
        && *len <= CHUNK
        && let Ok(Some(got)) = store.get_range(key, *start..*start + *len)
        && got.bytes.len() as u64 == *len
        && tag.as_ref().is_none_or(|t| *t == got.tag)
    {
        r.body = Body::Bytes(got.bytes);
    }
    r
}

/// Sends bytes `range` of `key` through `tx`, one ranged read of at most [`CHUNK`] at a time. Stops with
/// an error (the connection is cut, so the client sees a short body, never a mix of two versions) when
/// the object is gone, changed from version `tag`, or short; stops quietly when the client goes away or
/// takes nothing for `send_timeout`.
async fn stream_object(
    store: Arc<dyn Store>,
    key: String,
    range: std::ops::Range<u64>,
    tag: Option<String>,
    tx: mpsc::Sender<std::io::Result<Bytes>>,
    (reg, id, send_timeout): (Registry, u64, Duration),
) {
    touch(&reg, id, 1);
    let mut at = range.start;
    while at < range.end {
        let want = (range.end - at).min(CHUNK);
        let got = if store.reads_are_local() {
            Ok(store.get_range(&key, at..at + want))
        } else {
            let (s, k) = (Arc::clone(&store), key.clone());
            tokio::task::spawn_blocking(move || s.get_range(&k, at..at + want)).await
        };
        let chunk = match got {
            Ok(Ok(Some(r))) if r.bytes.len() as u64 == want && tag.as_ref().is_none_or(|t| *t == r.tag) => {
                r.bytes
            }
            _ => {
                let _ = tx
                    .send(Err(std::io::Error::other(
                        "the object changed or could not be read",
                    )))
                    .await;
                break;
            }
        };
        at += want;
        match tokio::time::timeout(send_timeout, tx.send(Ok(Bytes::from(chunk)))).await {
            Ok(Ok(())) => touch(&reg, id, 0),
            Ok(Err(_)) => break,
            // A peer that reads nothing would hold its connection (and the bytes queued for it) for
            // ever: close it.
            Err(_) => {
                if let Ok(r) = reg.lock()
                    && let Some(c) = r.open.get(&id)
                {
                    c.close.notify_one();
                }
                break;
            }
        }
    }
    touch(&reg, id, -1);
}
