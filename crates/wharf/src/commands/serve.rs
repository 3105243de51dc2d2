//! `wharf serve`: one store, read-only, over HTTP until Ctrl-C or SIGTERM.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::Context;

use super::{load_project, open_store};
use crate::cli::ServeArgs;
use crate::env::Env;
use crate::output::Output;

pub fn run(args: &ServeArgs, env: &Env, out: &Output) -> anyhow::Result<()> {
    // A project only supplies defaults (the store, S3 settings); serving needs none.
    let project = load_project(&args.project, env, out).ok();
    let from = wharf_ops::settings::store_location(args.from.as_deref(), project.as_ref())?;
    if let wharf_store::StoreUrl::Local(dir) = &from
        && !dir.is_dir()
    {
        anyhow::bail!(
            "{from} is not a directory; publish into it first, or pass --from DIR or --from s3://bucket/prefix"
        );
    }
    let store = open_store(&from, &args.store, project.as_ref(), env, out)?;
    let store: Arc<dyn wharf_store::Store> = Arc::new(store);
    let options = wharf_serve::Options {
        policy: wharf_serve::Policy {
            hsts_seconds: args.hsts.map(|d| d.as_secs()),
        },
        max_connections: args.max_connections as usize,
        ..wharf_serve::Options::default()
    };
    // This runtime only accepts connections and waits for a signal; wharf_serve::run serves them on
    // threads of its own.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the server's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("cannot listen on {}", args.listen))?;
        let addr = listener.local_addr().context("the listening address")?;
        out.status("Serving", &format!("{from} on http://{addr}/ (Ctrl-C to stop)"));
        // Requests never wait for stdout: lines go through a bounded queue to a writer thread, and are
        // counted and dropped if whoever reads stdout falls that far behind.
        // They are made there too (JSON, the time formatted), and the lines that queued while the last
        // went out are written together. Between writes the writer rests a few milliseconds rather than
        // waking for each request: under load a wake-up per request cost the serving threads a `futex`
        // call and a context switch each.
        let (tx, rx) = std::sync::mpsc::sync_channel::<wharf_serve::AccessEntry>(16_384);
        let log_out = *out;
        let writer = std::thread::spawn(move || {
            let mut block = String::new();
            while let Ok(first) = rx.recv() {
                block.clear();
                let mut taken = 0;
                for e in std::iter::once(first).chain(rx.try_iter().take(1023)) {
                    if !block.is_empty() {
                        block.push('\n');
                    }
                    block.push_str(&serde_json::to_string(&e).unwrap_or_default());
                    taken += 1;
                }
                log_out.line(&block);
                if taken < 1024 {
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        });
        let dropped = Arc::new(AtomicU64::new(0));
        let counter = Arc::clone(&dropped);
        let log = Arc::new(move |e: wharf_serve::AccessEntry| {
            if tx.try_send(e).is_err() {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        wharf_serve::run(store, listener, options, log, shutdown_signal()).await?;
        // The queue closes when the last request task is gone; give the writer a moment to drain it.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        while !writer.is_finished() && std::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        let lost = dropped.load(Ordering::Relaxed);
        if lost > 0 {
            out.warn(&format!(
                "{lost} access-log lines were dropped: stdout was not read fast enough"
            ));
        }
        out.status("Stopped", "all open requests answered");
        anyhow::Ok(())
    })
}

/// Ctrl-C or SIGTERM.
async fn shutdown_signal() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {},
        () = term => {},
    }
}
