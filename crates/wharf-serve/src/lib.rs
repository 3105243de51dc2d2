//! wharf-serve: a published repository over HTTP, read-only, from any [`Store`] (a directory or an S3
//! prefix) — design.md §6.
//!
//! - [`respond`] decides each response (RFC 9110: validators, conditional requests, byte ranges, HEAD;
//!   content types and `Cache-Control` by a file's role in a repository; security headers; path checks that
//!   never leave the store; a listing page for directories without `index.html`).
//! - [`run`] is the server: hyper 1 over tokio, HTTP/1.1, at most `max_connections` connections at once,
//!   a header-read timeout against slow clients, one [`AccessEntry`] per request to the caller's log, and
//!   graceful shutdown (in-flight requests finish). The caller's runtime only accepts; each connection
//!   is handed, in turn, to one of [`Options::workers`] threads, each running a single-threaded runtime
//!   of its own, and served there start to end: a request is read, answered and written on one thread,
//!   with no wake-up of another between its steps (on a work-stealing runtime each request cost two
//!   `futex` wake-ups between its threads). An object of at most [`CHUNK`] bytes is read in the
//!   same lookup as its metadata (`Store::get_small`: one open of a file) and sent whole; a larger one
//!   is streamed in chunks of [`CHUNK`] bytes read with the store's ranged read (`pread` on a
//!   directory, a ranged GET on S3), at most two chunks held per response, so memory is bounded by the
//!   connections, not by the objects. Each worker keeps the small objects of a directory store it has
//!   read ([`respond::Cache`]; [`CACHE_BYTES`] shared out among the workers, at least [`CACHE_MIN`]
//!   each), used only while the object's tag found on the request's own lookup is the one kept. A directory's reads are
//!   made on the request's own thread (the page cache answers in microseconds); a network store's on
//!   tokio's blocking pool. Responses go out without Nagle's delay (`TCP_NODELAY`);
//!   a client that takes no bytes for [`Options::send_timeout`] is dropped. When every slot is taken,
//!   the connection idle the longest (no request being answered: slow header senders, idle keep-alive
//!   connections) is closed to make room, so slow or stalled peers cannot keep new clients out.
//!
//! It only ever calls the store's read methods: nothing is signed, written or locked on a request.

pub mod respond;

use std::borrow::Cow;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use hyper::body::{Bytes, Frame, Incoming};
use hyper::header::{HeaderName, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{Notify, Semaphore, mpsc};
use wharf_store::Store;

pub use respond::{Body, Policy, Request, Response, respond, respond_reading};

/// The bytes one ranged read of the store brings, and the most a response holds at once but one.
pub const CHUNK: u64 = 256 * 1024;

/// The bytes of small objects the serving threads keep between requests (a directory's only), shared
/// out evenly among them ...
pub const CACHE_BYTES: usize = 32 << 20;
/// ... but never less than this each, so that many cores still keep the hot files.
pub const CACHE_MIN: usize = 1 << 20;

thread_local! {
    /// The serving thread's kept objects: none on a thread that is not one of the workers.
    static CACHE: std::cell::RefCell<respond::Cache> = std::cell::RefCell::new(respond::Cache::new(0));
}

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
    /// Threads that serve connections (each connection stays on one); at least one.
    pub workers: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
            send_timeout: Duration::from_secs(30),
            workers: std::thread::available_parallelism().map_or(2, usize::from),
        }
    }
}

/// One line of the access log.
#[derive(Debug, Clone, serde::Serialize)]
pub struct AccessEntry {
    /// When the request arrived (written as RFC 3339, UTC, to the millisecond).
    #[serde(serialize_with = "rfc3339_millis")]
    pub time: SystemTime,
    /// The client's address.
    pub remote: SocketAddr,
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

/// An entry's time as its line shows it; made by whoever writes the line, not on the request's path.
fn rfc3339_millis<S: serde::Serializer>(time: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&respond::rfc3339_millis(*time))
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
    /// A worker thread or its runtime could not be started.
    #[error("starting the server's threads: {0}")]
    Workers(std::io::Error),
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

/// The open connections, for making room when every slot is taken.
#[derive(Default)]
struct Connections {
    next: u64,
    open: HashMap<u64, Arc<Conn>>,
}

/// One connection: when it last did something, how many bodies it is sending, and how to close it.
/// Kept in atomics, so a request marks its connection busy without taking the registry's lock.
struct Conn {
    /// Nanoseconds since [`origin`].
    last: AtomicU64,
    sending: AtomicUsize,
    close: Notify,
}

impl Conn {
    fn new() -> Self {
        Self {
            last: AtomicU64::new(since_origin()),
            sending: AtomicUsize::new(0),
            close: Notify::new(),
        }
    }

    /// Marks the connection active now, `sending` more (or fewer) bodies being sent.
    fn touch(&self, sending: isize) {
        self.last.store(since_origin(), Ordering::Relaxed);
        match sending {
            1 => _ = self.sending.fetch_add(1, Ordering::Relaxed),
            -1 => _ = self.sending.fetch_sub(1, Ordering::Relaxed),
            _ => {}
        }
    }
}

/// The instant the connections' times count from.
fn origin() -> Instant {
    static ORIGIN: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

fn since_origin() -> u64 {
    u64::try_from(origin().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

type Registry = Arc<Mutex<Connections>>;

/// Closes the connection that has waited longest without a body to send; false when every one is busy.
fn evict_idlest(reg: &Registry) -> bool {
    let Ok(r) = reg.lock() else { return false };
    let idlest = r
        .open
        .values()
        .filter(|c| c.sending.load(Ordering::Relaxed) == 0)
        .min_by_key(|c| c.last.load(Ordering::Relaxed));
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
    let workers = Workers::start(options.workers).map_err(ServeError::Workers)?;
    let mut turn = 0usize;
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
        // The connection moves to the next worker in turn: registered with its runtime's reactor, so
        // every wake-up of its task (readable, writable, a timer) happens on that worker's thread.
        let worker = &workers.handles[turn % workers.handles.len()];
        turn = turn.wrapping_add(1);
        let Ok(stream) = stream.into_std().and_then(|s| {
            let _in = worker.enter();
            tokio::net::TcpStream::from_std(s)
        }) else {
            continue;
        };
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
        let state = Arc::new(Conn::new());
        let id = match registry.lock() {
            Ok(mut r) => {
                r.next += 1;
                let id = r.next;
                r.open.insert(id, Arc::clone(&state));
                id
            }
            Err(_) => break,
        };
        let store = Arc::clone(&store);
        let log = Arc::clone(&log);
        let policy = options.policy.clone();
        let send_timeout = options.send_timeout;
        let conn_state = Arc::clone(&state);
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            conn_state.touch(0);
            handle(
                Arc::clone(&store),
                policy.clone(),
                Arc::clone(&log),
                remote,
                req,
                (Arc::clone(&conn_state), send_timeout),
            )
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        let reg = Arc::clone(&registry);
        worker.spawn(async move {
            tokio::select! {
                _ = conn => {},
                () = state.close.notified() => {},
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
    workers.stop().await;
    Ok(())
}

/// The threads that serve connections, each running a single-threaded runtime until told to stop.
struct Workers {
    handles: Vec<tokio::runtime::Handle>,
    stops: Vec<tokio::sync::oneshot::Sender<()>>,
    done: Vec<tokio::sync::oneshot::Receiver<()>>,
}

impl Workers {
    fn start(count: usize) -> std::io::Result<Self> {
        let mut workers = Self {
            handles: Vec::new(),
            stops: Vec::new(),
            done: Vec::new(),
        };
        let count = count.max(1);
        let budget = (CACHE_BYTES / count).max(CACHE_MIN);
        for i in 0..count {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let (finished, done) = tokio::sync::oneshot::channel::<()>();
            workers.handles.push(runtime.handle().clone());
            std::thread::Builder::new()
                .name(format!("wharf-serve-{i}"))
                .spawn(move || {
                    CACHE.set(respond::Cache::new(budget));
                    runtime.block_on(async {
                        let _ = stopped.await;
                    });
                    // Connections still open past the grace period are dropped with the runtime.
                    drop(runtime);
                    let _ = finished.send(());
                })?;
            workers.stops.push(stop);
            workers.done.push(done);
        }
        Ok(workers)
    }

    /// Stops every worker and waits until each has dropped its connections (and with them their
    /// handles on the caller's log).
    async fn stop(self) {
        drop(self.stops);
        for done in self.done {
            let _ = done.await;
        }
    }
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
    (conn, send_timeout): (Arc<Conn>, Duration),
) -> Result<hyper::Response<ServeBody>, Infallible> {
    let (arrived, started) = (SystemTime::now(), Instant::now());
    let header = |name: HeaderName| {
        req.headers()
            .get(&name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let request = Request {
        method: req.method().as_str().to_owned(),
        path: req.uri().path().to_owned(),
        if_none_match: header(hyper::header::IF_NONE_MATCH),
        if_modified_since: header(hyper::header::IF_MODIFIED_SINCE),
        range: header(hyper::header::RANGE),
        if_range: header(hyper::header::IF_RANGE),
    };
    let user_agent = header(hyper::header::USER_AGENT);
    let mut r = if store.reads_are_local() {
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
                body: Body::Bytes(Bytes::from_static(b"internal error\n")),
                error: Some("the response task failed".into()),
            })
    };
    log(AccessEntry {
        time: arrived,
        remote,
        method: request.method,
        path: request.path,
        status: r.status,
        bytes: r.body.len(),
        millis: started.elapsed().as_millis(),
        user_agent,
        range: request.range,
        error: r.error.take(),
    });
    let mut head = hyper::Response::new(());
    *head.status_mut() =
        hyper::StatusCode::from_u16(r.status).unwrap_or(hyper::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = head.headers_mut();
    headers.reserve(r.headers.len());
    for (name, value) in r.headers {
        // A value that is the same on every response is shared, not copied; every value is checked
        // (one that is not a valid header value — a remote store's odd ETag — is left out).
        let value = match value {
            Cow::Borrowed(v) => HeaderValue::from_maybe_shared(Bytes::from_static(v.as_bytes())),
            Cow::Owned(v) => HeaderValue::try_from(v),
        };
        if let (Ok(name), Ok(value)) = (HeaderName::from_bytes(name.as_bytes()), value) {
            headers.append(name, value);
        }
    }
    let body = match r.body {
        Body::Bytes(b) => ServeBody::Full(Some(b)),
        Body::Object { key, start, len, tag } => {
            let (tx, rx) = mpsc::channel(1);
            tokio::spawn(stream_object(
                store,
                key,
                start..start + len,
                tag,
                tx,
                (conn, send_timeout),
            ));
            ServeBody::Stream(rx)
        }
    };
    Ok(head.map(|()| body))
}

/// The response to `request`; a body of at most one chunk is read here and sent whole, so most requests
/// (indexes, signatures, most packages) need no streaming task and channel. It is read at the version the
/// headers describe, or left to the stream, which cuts the connection if the object changed. A
/// directory's small objects are kept in the serving thread's [`respond::Cache`], so a
/// file asked for again is not read again while its version (inode, mtime, size) is the same.
fn answer(store: &dyn Store, request: &Request, policy: &Policy) -> Response {
    let mut r = if store.reads_are_local() {
        CACHE.with_borrow_mut(|cache| respond_reading(store, request, policy, CHUNK, Some(cache)))
    } else {
        respond_reading(store, request, policy, CHUNK, None)
    };
    if let Body::Object { key, start, len, tag } = &r.body
        && *len <= CHUNK
        && let Ok(Some(got)) = store.get_range(key, *start..*start + *len)
        && got.bytes.len() as u64 == *len
        && tag.as_ref().is_none_or(|t| *t == got.tag)
    {
        r.body = Body::Bytes(got.bytes.into());
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
    (conn, send_timeout): (Arc<Conn>, Duration),
) {
    conn.touch(1);
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
            Ok(Ok(())) => conn.touch(0),
            Ok(Err(_)) => break,
            // A peer that reads nothing would hold its connection (and the bytes queued for it) for
            // ever: close it.
            Err(_) => {
                conn.close.notify_one();
                break;
            }
        }
    }
    conn.touch(-1);
}
