//! wharf-serve: a published repository over HTTP, read-only, from any [`Store`] (a directory or an S3
//! prefix) — design.md §6.
//!
//! - [`respond`] decides each response (RFC 9110: validators, conditional requests, byte ranges, HEAD;
//!   content types and `Cache-Control` by a file's role in a repository; security headers; path checks that
//!   never leave the store; a listing page for directories without `index.html`).
//! - [`run`] is the server: hyper 1 over tokio, HTTP/1.1, at most `max_connections` connections at once
//!   (the accept loop waits for a free slot), a header-read timeout against slow clients, one
//!   [`AccessEntry`] per request to the caller's log, and graceful shutdown (in-flight requests finish).
//!
//! It only ever calls the store's read methods: nothing is signed, written or locked on a request.

pub mod respond;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use wharf_store::Store;

pub use respond::{Policy, Request, Response, respond};

/// How the server runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Response policy (HSTS).
    pub policy: Policy,
    /// Connections served at once; more wait in the kernel's backlog.
    pub max_connections: usize,
    /// How long a client may take to send its request headers.
    pub header_timeout: Duration,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            policy: Policy::default(),
            max_connections: 256,
            header_timeout: Duration::from_secs(10),
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
    /// Body bytes sent.
    pub bytes: usize,
    /// Time to build the response, in milliseconds.
    pub millis: u128,
    /// `User-Agent`, if sent.
    pub user_agent: Option<String>,
    /// `Range`, if sent.
    pub range: Option<String>,
}

/// Why the server stopped.
#[derive(Debug, thiserror::Error)]
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
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, remote) = tokio::select! {
            a = listener.accept() => match a {
                Ok(a) => a,
                // Per-connection errors (the peer reset before accept, too many files): keep serving.
                Err(e) if is_transient(&e) => continue,
                Err(source) => return Err(ServeError::Accept { addr, source }),
            },
            () = &mut shutdown => break,
        };
        let store = Arc::clone(&store);
        let log = Arc::clone(&log);
        let policy = options.policy.clone();
        let service = service_fn(move |req: hyper::Request<Incoming>| {
            handle(Arc::clone(&store), policy.clone(), Arc::clone(&log), remote, req)
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(options.header_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn);
        tokio::spawn(async move {
            let _ = conn.await;
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
) -> Result<hyper::Response<Full<Bytes>>, Infallible> {
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
    let r = {
        let request = request.clone();
        // The store is synchronous (an S3 store blocks on its own runtime): off the async threads.
        tokio::task::spawn_blocking(move || respond(store.as_ref(), &request, &policy))
            .await
            .unwrap_or_else(|_| Response {
                status: 500,
                headers: Vec::new(),
                body: b"internal error\n".to_vec(),
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
    });
    let mut builder = hyper::Response::builder().status(r.status);
    for (name, value) in &r.headers {
        builder = builder.header(*name, value);
    }
    Ok(builder.body(Full::new(Bytes::from(r.body))).unwrap_or_else(|_| {
        let mut resp = hyper::Response::new(Full::new(Bytes::from_static(b"bad header\n")));
        *resp.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
        resp
    }))
}
