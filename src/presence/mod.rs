//! `presence`: a consumer group over the member families that keeps "who is in room X, in what
//! role" in the compacted topic `<prefix>presence` (design.md, "The presence view"). The topic
//! is also the view's changelog: an instance restores a partition's state from it when the
//! group assigns it the partition, so instances scale and fail over through Kafka alone.
//!
//! `args` (flags) · `input` (the envelope, read leniently) · `state` (the values written) ·
//! `recent` (the duplicate window) · `fold` (the rules, pure) · `topics` (co-partitioning) ·
//! `restore` (from the state topic, to partition EOF) · `writer` (acknowledged writes) ·
//! `worker` (the loop) · `metrics` and `admin` (the admin listener).

mod admin;
pub mod args;
mod error;
pub mod fold;
pub mod input;
mod metrics;
mod recent;
pub mod restore;
mod rules;
pub mod state;
mod topics;
mod worker;
mod writer;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

pub use args::PresenceArgs;
pub use error::PresenceError;

/// Runs the view until `shutdown` resolves (then writes what is pending, commits and leaves
/// the group) or until it fails.
pub async fn run(args: PresenceArgs, shutdown: impl Future<Output = ()>) -> Result<(), PresenceError> {
    let metrics = metrics::PresenceMetrics::new();
    let (addr, grace) = (args.admin_listen, args.shutdown_timeout);
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| PresenceError::Bind { addr, source })?;
    tracing::info!(%addr, "admin listener: /metrics /healthz /readyz");
    let admin_stop = Arc::new(tokio::sync::Notify::new());
    let admin = {
        let (metrics, stop) = (metrics.clone(), admin_stop.clone());
        tokio::spawn(admin::serve(
            listener,
            metrics,
            async move { stop.notified().await },
        ))
    };
    let stop = Arc::new(AtomicBool::new(false));
    let mut worker = {
        let (metrics, stop) = (metrics.clone(), stop.clone());
        tokio::task::spawn_blocking(move || {
            let result = worker::Worker::new(args, metrics.clone())
                .and_then(|w| w.run(&|| stop.load(Ordering::Relaxed)));
            if let Err(e) = &result {
                if let Ok(mut failed) = metrics.status.failed.lock() {
                    *failed = Some(e.to_string());
                }
            }
            result
        })
    };
    tokio::pin!(shutdown);
    let result = tokio::select! {
        done = &mut worker => done,
        () = &mut shutdown => {
            stop.store(true, Ordering::Relaxed);
            match tokio::time::timeout(grace, &mut worker).await {
                Ok(done) => done,
                Err(_) => Ok(Err(PresenceError::Thread(format!("did not stop within --shutdown-timeout ({grace:?})")))),
            }
        }
    };
    admin_stop.notify_one();
    let _ = admin.await;
    result.map_err(|e| PresenceError::Thread(e.to_string()))?
}
