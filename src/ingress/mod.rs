//! ingress: the hyper server. Routes, limits and Tencent-shaped answers live here; what a
//! callback means is the pipeline's business. Every limit a hostile client meets is set in
//! [`Limits`] and applied in [`serve`] (socket and connection limits) or [`callback`] (body).
//! Two listeners share this server: the public one answers the callback path only, the admin
//! one (`admin`) the probes and the metrics; each is a [`Role`].

mod admin;
mod answer;
mod guard;
mod refusal_log;

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, ALLOW, CONTENT_LENGTH};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use self::answer::{answer, refuse};
use self::guard::{Guarded, Timeouts};
pub use self::refusal_log::RefusalLog;

use crate::health::Health;
use crate::metrics::{Metrics, Readings};
use crate::pipeline::{Pipeline, TrtcHeaders, TrtcOutcome};
use crate::query::CallbackQuery;
use crate::refusal::{answer_body, Refusal};

/// What a client may cost the bridge; from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub body_read_timeout: Duration,
    pub header_read_timeout: Duration,
    pub keepalive_idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Beyond this, new connections wait in the kernel's accept backlog.
    pub max_connections: usize,
}

impl Limits {
    /// The admin listener's: the same timeouts and head limits, and few connections (probes
    /// and a scraper need a handful; a port exposed by mistake cannot eat the callbacks').
    pub fn admin(self) -> Limits {
        Limits {
            max_connections: self.max_connections.min(ADMIN_MAX_CONNECTIONS),
            ..self
        }
    }
}

/// Connections the admin listener serves at once.
pub const ADMIN_MAX_CONNECTIONS: usize = 32;

/// Which listener a connection came in on: each answers its own paths only, 404 to the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The public port: the callback path, for Tencent.
    Callbacks,
    /// The private port: /healthz, /readyz, /metrics.
    Admin,
}

pub struct Ingress {
    pub pipeline: Pipeline,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    /// Reads the producer, the spool and health for a scrape of /metrics.
    pub readings: Box<dyn Fn() -> Readings + Send + Sync>,
    pub callback_path: String,
    /// Served only when a TRTC key is configured.
    pub trtc_path: Option<String>,
    pub limits: Limits,
    pub refusal_log: RefusalLog,
}

/// Serves `role`'s paths until `shutdown` resolves, then stops accepting and gives requests in
/// flight up to `grace` to finish. The callback listener's end starts the drain (/readyz 503).
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
    // The socket guard enforces the header and idle timeouts; hyper bounds head size.
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(None)
        .max_buf_size(limits.max_header_bytes)
        .max_headers(limits.max_headers);
    let timeouts = Timeouts {
        header_read: limits.header_read_timeout,
        keepalive_idle: limits.keepalive_idle_timeout,
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    tokio::pin!(shutdown);
    loop {
        // At the connection cap, stop accepting: new clients wait in the backlog, and the
        // ones being served are not starved.
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
                let app = app.clone();
                let service = service_fn(move |req| {
                    let app = app.clone();
                    async move { Ok::<_, std::convert::Infallible>(route(&app, role, req).await) }
                });
                let io = TokioIo::new(Guarded::new(stream, timeouts));
                let conn = graceful.watch(builder.serve_connection(io, service));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended with an error");
                    }
                    drop(slot);
                });
            }
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    if role == Role::Admin {
        let _ = tokio::time::timeout(grace, graceful.shutdown()).await;
        return;
    }
    app.health.start_draining();
    tracing::info!("shutting down: no new connections, finishing requests in flight");
    if tokio::time::timeout(grace, graceful.shutdown()).await.is_err() {
        tracing::warn!("requests still in flight after the shutdown timeout");
    }
}

async fn route(app: &Ingress, role: Role, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    match role {
        Role::Admin => admin::route(&app.health, &app.metrics, &*app.readings, path),
        Role::Callbacks if path == app.callback_path => callback_path(app, req).await,
        Role::Callbacks if app.trtc_path.as_deref() == Some(path) => trtc_path(app, req).await,
        Role::Callbacks => refuse(&Refusal::NotFound),
    }
}

/// Every answer on the callback path is counted, timed and, when it is a refusal, logged once.
async fn callback_path(app: &Ingress, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let query = CallbackQuery::parse(parts.uri.query().unwrap_or(""));
    let result = if parts.method == Method::POST {
        callback(app, &parts.headers, &query, body).await
    } else {
        Err(Refusal::MethodNotAllowed)
    };
    let ok_query = query.as_ref().ok();
    let command = ok_query.and_then(|q| q.callback_command.as_deref());
    app.metrics.callback(
        command,
        result.as_ref().map(|_| ()),
        started.elapsed().as_secs_f64(),
    );
    match result {
        Ok(()) => answer(StatusCode::OK, answer_body(None)),
        Err(refusal) => refused(app, &refusal, ok_query),
    }
}

/// A refusal's answer (with `Allow: POST` for a wrong method), logged within the rate limit.
fn refused(app: &Ingress, refusal: &Refusal, query: Option<&CallbackQuery<'_>>) -> Response<Full<Bytes>> {
    if app.refusal_log.admit() {
        log_refusal(refusal, query);
    }
    let mut resp = refuse(refusal);
    if *refusal == Refusal::MethodNotAllowed {
        resp.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
    }
    resp
}

/// One line per refused callback (up to [`refusal_log::PER_SECOND`] a second). Never the
/// token or the Sign: the query's `Sign` is not
/// among the fields, and no refusal's text carries either.
fn log_refusal(refusal: &Refusal, query: Option<&CallbackQuery<'_>>) {
    let (status, code) = refusal.status_and_code();
    let text = |v: &Option<std::borrow::Cow<'_, str>>| crate::refusal::clip(v.as_deref().unwrap_or(""));
    tracing::warn!(
        status = status.as_u16(),
        code,
        reason = refusal.to_string(),
        sdk_app_id = query.map(|q| text(&q.sdk_app_id)).unwrap_or_default(),
        command = query.map(|q| text(&q.callback_command)).unwrap_or_default(),
        client_ip = query.map(|q| text(&q.client_ip)).unwrap_or_default(),
        "callback refused"
    );
}

async fn callback(
    app: &Ingress,
    headers: &HeaderMap,
    query: &Result<CallbackQuery<'_>, Refusal>,
    body: Incoming,
) -> Result<(), Refusal> {
    let body = read_body(app, headers, body).await?;
    let query = query.as_ref().map_err(Clone::clone)?;
    app.pipeline.handle(query, &body).await
}

/// TRTC's answer: 200 `{"code":0}` once handed off (or kept on the DLQ, or a retry of an
/// event already taken); otherwise a Tencent-shaped refusal, 503 for what a retry can fix.
async fn trtc_path(app: &Ingress, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let result = if parts.method == Method::POST {
        trtc(app, &parts.headers, body).await
    } else {
        Err(Refusal::MethodNotAllowed)
    };
    app.metrics.trtc(&result, started.elapsed().as_secs_f64());
    match result {
        Ok(outcome) => {
            if let TrtcOutcome::KeptOnDlq(why) = &outcome {
                tracing::warn!(reason = %why, "TRTC callback undecodable: kept on the DLQ and answered 200, since a retry cannot fix it");
            }
            answer(StatusCode::OK, br#"{"code":0}"#.to_vec())
        }
        Err(refusal) => refused(app, &refusal, None),
    }
}

async fn trtc(app: &Ingress, headers: &HeaderMap, body: Incoming) -> Result<TrtcOutcome, Refusal> {
    let body = read_body(app, headers, body).await?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let trtc_headers = TrtcHeaders {
        sdk_app_id: header("sdkappid"),
        sign: header("sign"),
    };
    app.pipeline.handle_trtc(trtc_headers, &body).await
}

/// The body within the size and time limits; refused at once while draining.
async fn read_body(app: &Ingress, headers: &HeaderMap, body: Incoming) -> Result<Bytes, Refusal> {
    let limit = app.limits.max_body_bytes;
    let declared = headers
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(Refusal::BodyTooLarge { limit });
    }
    if app.health.is_draining() {
        return Err(Refusal::ShuttingDown);
    }
    let read = Limited::new(body, limit).collect();
    let body = tokio::time::timeout(app.limits.body_read_timeout, read)
        .await
        .map_err(|_| Refusal::BodyTimeout)?
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                Refusal::BodyTooLarge { limit }
            } else {
                Refusal::BodyRead(e.to_string())
            }
        })?;
    Ok(body.to_bytes())
}
