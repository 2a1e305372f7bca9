//! ingress: the hyper server. Routes, limits and Tencent-shaped answers live here; what a
//! callback means is the pipeline's business. Every limit a hostile client meets is set in
//! [`Limits`] and applied in [`serve`] (socket and connection limits) or `handlers` (body).
//! Two listeners share this server: the public one answers the callback path only, the admin
//! one (`admin`) the probes and the metrics; each is a [`Role`].

mod admin;
mod answer;
mod app;
mod guard;
mod handlers;
mod hangup;
mod refusal_log;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use self::answer::refuse;
pub use self::app::{Ingress, Limits, Role};
use self::guard::{Guarded, Timeouts};
use self::hangup::Conn;
pub use self::refusal_log::RefusalLog;

use crate::refusal::Refusal;

/// Serves `role`'s paths until `shutdown` resolves, then stops accepting and gives requests in
/// flight, and callbacks still being kept for a client that left, up to `grace` to finish.
/// The callback listener's end starts the drain (/readyz 503).
pub async fn serve(
    listener: TcpListener,
    app: Arc<Ingress>,
    role: Role,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) {
    let graceful = GracefulShutdown::new();
    let limits = match role {
        Role::Callbacks => app.limits,
        Role::Admin => app.limits.admin(),
    };
    let mut builder = http1::Builder::new();
    // The socket guard enforces the header and idle timeouts; hyper bounds head size. The
    // guard also holds back a client's EOF while its answer is pending (see guard.rs), so
    // hyper's half_close stays off: on, hyper would stop reading and nobody would learn of it.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .half_close(false)
        .max_buf_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    let timeouts = Timeouts {
        header_read: limits.header_read_timeout,
        keepalive_idle: limits.keepalive_idle_timeout,
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    // Handshakes still under way when the shutdown starts are dropped: they hold no request.
    let (stopping, stop_handshakes) = tokio::sync::watch::channel(false);
    tokio::pin!(shutdown);
    loop {
        // At the connection cap, stop accepting: new clients wait in the backlog, and the
        // ones being served are not starved. A callback still being kept for a client that
        // left holds its connection's place.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    Err(e) => {
                        // EMFILE and friends: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let conn = Conn { hangup: Arc::default(), slot: Arc::new(slot) };
                let served = Served {
                    app: app.clone(),
                    role,
                    builder: builder.clone(),
                    timeouts,
                    stopping: stop_handshakes.clone(),
                };
                tokio::spawn(served.connection(stream, conn, graceful.watcher()));
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stopping.send(true);
    let deadline = tokio::time::Instant::now() + grace;
    if role == Role::Admin {
        let _ = tokio::time::timeout_at(deadline, graceful.shutdown()).await;
        return;
    }
    app.health.start_draining();
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    if tokio::time::timeout_at(deadline, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the shutdown timeout");
    }
    // Every place back: no connection open, no callback still being kept for one that left.
    let all = u32::try_from(limits.max_connections).unwrap_or(u32::MAX);
    if tokio::time::timeout_at(deadline, slots.acquire_many(all))
        .await
        .is_err()
    {
        tracing::warn!("callbacks of clients that hung up still being kept after the shutdown timeout");
    }
}

/// What every connection of one listener is served with.
struct Served {
    app: Arc<Ingress>,
    role: Role,
    builder: http1::Builder,
    timeouts: Timeouts,
    /// Turns true when the listener stops.
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Served {
    /// One accepted connection to its end: the TLS handshake (callback listener with TLS
    /// only), then HTTP/1.1 through the socket guard.
    async fn connection(self, stream: TcpStream, conn: Conn, watcher: Watcher) {
        let Served {
            app,
            role,
            builder,
            timeouts,
            mut stopping,
        } = self;
        let tls = app.tls.clone().filter(|_| role == Role::Callbacks);
        let hangup = conn.hangup.clone();
        let metrics = app.metrics.clone();
        let service = service_fn(move |req| {
            let (app, conn) = (app.clone(), conn.clone());
            async move { Ok::<_, std::convert::Infallible>(route(&app, &conn, role, req).await) }
        });
        let served = match tls {
            None => {
                let io = TokioIo::new(Guarded::new(stream, timeouts, hangup));
                watcher.watch(builder.serve_connection(io, service)).await
            }
            Some(tls) => {
                let handshake = tls::handshake(&tls, stream, timeouts.header_read, &metrics);
                let shook = tokio::select! {
                    shook = handshake => shook,
                    _ = stopping.wait_for(|stopping| *stopping) => None,
                };
                let Some(stream) = shook else {
                    return;
                };
                let io = TokioIo::new(Guarded::new(stream, timeouts, hangup));
                watcher.watch(builder.serve_connection(io, service)).await
            }
        };
        if let Err(e) = served {
            tracing::debug!(error = %e, "connection ended with an error");
        }
    }
}

async fn route(app: &Arc<Ingress>, conn: &Conn, role: Role, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    match role {
        Role::Admin => admin::route(&app.health, &app.metrics, &*app.readings, path),
        Role::Callbacks if path == app.callback_path => handlers::callback_path(app, conn, req).await,
        Role::Callbacks if app.trtc_path.as_deref() == Some(path) => {
            handlers::trtc_path(app, conn, req).await
        }
        Role::Callbacks => refuse(&Refusal::NotFound),
    }
}
