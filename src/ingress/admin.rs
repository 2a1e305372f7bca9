//! The admin listener's paths: liveness, readiness and the metrics. They say how full the spool
//! is, how many callbacks were refused and which build runs, so they are served on a private
//! port (`--admin-listen`), never on the callback port Tencent (the internet) reaches.

use bytes::Bytes;
use http_body_util::Full;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::{Response, StatusCode};

use super::answer::{answer, refuse};
use crate::health::Health;
use crate::metrics::{self, Metrics, Readings};
use crate::refusal::Refusal;

pub(super) fn route(
    health: &Health,
    metrics: &Metrics,
    readings: &dyn Fn() -> Readings,
    path: &str,
) -> Response<Full<Bytes>> {
    match path {
        "/healthz" => healthz(health),
        "/readyz" => readyz(health),
        "/metrics" => {
            let mut resp = answer(StatusCode::OK, metrics.render(&readings()).into_bytes());
            resp.headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static(metrics::CONTENT_TYPE));
            resp
        }
        _ => refuse(&Refusal::NotFound),
    }
}

fn healthz(health: &Health) -> Response<Full<Bytes>> {
    match health.liveness() {
        Ok(()) => answer(StatusCode::OK, br#"{"status":"ok"}"#.to_vec()),
        Err(why) => {
            let body = serde_json::json!({ "status": "failed", "reason": why });
            answer(StatusCode::SERVICE_UNAVAILABLE, body.to_string().into_bytes())
        }
    }
}

fn readyz(health: &Health) -> Response<Full<Bytes>> {
    match health.readiness() {
        Ok(None) => answer(StatusCode::OK, br#"{"status":"ready"}"#.to_vec()),
        Ok(Some(note)) => {
            let body = serde_json::json!({ "status": "ready", "degraded": note });
            answer(StatusCode::OK, body.to_string().into_bytes())
        }
        Err(why) => {
            let body = serde_json::json!({ "status": "not ready", "reason": why });
            answer(StatusCode::SERVICE_UNAVAILABLE, body.to_string().into_bytes())
        }
    }
}
