//! The admin listener: `/metrics`, `/healthz`, `/readyz`, answered like the bridge's (same
//! paths, same JSON, same content types), on a private port. A handful of connections at once
//! and a header timeout: a scraper and the kubelet need no more.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::metrics::PresenceMetrics;
use crate::clock::now_ms;

const MAX_CONNECTIONS: usize = 32;
/// The bridge's `/metrics` content type (OpenMetrics text).
const METRICS_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

pub async fn serve(listener: TcpListener, metrics: Arc<PresenceMetrics>, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    tokio::pin!(shutdown);
    loop {
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot { Ok(s) => s, Err(_) => return },
            () = &mut shutdown => return,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    tracing::warn!(error = %e, "admin accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => return,
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let service = service_fn(move |req: Request<hyper::body::Incoming>| {
                let resp = route(&metrics, req.uri().path());
                async move { Ok::<_, std::convert::Infallible>(resp) }
            });
            let conn = http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
            drop(slot);
        });
    }
}

fn route(metrics: &PresenceMetrics, path: &str) -> Response<Full<Bytes>> {
    match path {
        "/healthz" => match metrics.liveness(now_ms()) {
            Ok(()) => json(StatusCode::OK, serde_json::json!({ "status": "ok" })),
            Err(why) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "failed", "reason": why }),
            ),
        },
        "/readyz" => match metrics.readiness() {
            Ok(None) => json(StatusCode::OK, serde_json::json!({ "status": "ready" })),
            Ok(Some(note)) => json(
                StatusCode::OK,
                serde_json::json!({ "status": "ready", "degraded": note }),
            ),
            Err(why) => json(
                StatusCode::SERVICE_UNAVAILABLE,
                serde_json::json!({ "status": "not ready", "reason": why }),
            ),
        },
        "/metrics" => answer(StatusCode::OK, METRICS_TYPE, metrics.render().into_bytes()),
        _ => json(
            StatusCode::NOT_FOUND,
            serde_json::json!({ "status": "not found" }),
        ),
    }
}

fn json(status: StatusCode, body: serde_json::Value) -> Response<Full<Bytes>> {
    answer(status, "application/json", body.to_string().into_bytes())
}

fn answer(status: StatusCode, content_type: &'static str, body: Vec<u8>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    *resp.status_mut() = status;
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    resp
}
