//! The two callback paths. Each reads the body within its limits, then hands the rest (the
//! query, authentication, the pipeline, the count) to a task of its own ([`detach`]): a
//! callback received in full is processed to the end even if its sender hangs up meanwhile.
//! Every answer is counted, timed and, when it is a refusal, logged within the rate limit.

use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{HeaderMap, HeaderValue, ALLOW, CONTENT_LENGTH};
use hyper::{Method, Request, Response, StatusCode, Uri};

use super::answer::{answer, refuse};
use super::app::Ingress;
use super::hangup::{detach, Conn, Path};
use crate::pipeline::{TrtcHeaders, TrtcOutcome};
use crate::query::CallbackQuery;
use crate::refusal::{answer_body, Refusal};

type Answer = Response<Full<Bytes>>;

pub(super) async fn callback_path(app: &Arc<Ingress>, conn: &Conn, req: Request<Incoming>) -> Answer {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let received = posted_body(app, conn, &parts, body).await;
    let body = match received {
        Ok(body) => body,
        Err(refusal) => {
            let query = CallbackQuery::parse(parts.uri.query().unwrap_or(""));
            return callback_answer(app, &query, Err(refusal), started);
        }
    };
    let work = {
        let app = app.clone();
        async move { process_callback(&app, &parts.uri, &body, started).await }
    };
    detach(conn, &app.metrics, &app.hangup_log, Path::Callback, work)
        .await
        .unwrap_or_else(|| refuse(&Refusal::ShuttingDown))
}

/// A callback received in full: runs to its end whether or not anyone waits for the answer.
async fn process_callback(app: &Ingress, uri: &Uri, body: &[u8], started: Instant) -> Answer {
    let query = CallbackQuery::parse(uri.query().unwrap_or(""));
    let result = match &query {
        Ok(q) => app.pipeline.handle(q, body).await,
        Err(refusal) => Err(refusal.clone()),
    };
    callback_answer(app, &query, result, started)
}

fn callback_answer(
    app: &Ingress,
    query: &Result<CallbackQuery<'_>, Refusal>,
    result: Result<(), Refusal>,
    started: Instant,
) -> Answer {
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
pub(super) fn refused(app: &Ingress, refusal: &Refusal, query: Option<&CallbackQuery<'_>>) -> Answer {
    if app.refusal_log.admit() {
        log_refusal(refusal, query);
    }
    let mut resp = refuse(refusal);
    if *refusal == Refusal::MethodNotAllowed {
        resp.headers_mut().insert(ALLOW, HeaderValue::from_static("POST"));
    }
    resp
}

/// One line per refused callback (up to [`super::refusal_log::PER_SECOND`] a second). Never
/// the token or the Sign: the query's `Sign` is not among the fields, and no refusal's text
/// carries either.
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

/// TRTC's answer: 200 `{"code":0}` once handed off (or kept on the DLQ, or a retry of an
/// event already taken); otherwise a Tencent-shaped refusal, 503 for what a retry can fix.
/// A TRTC sender that hung up retries, and the dedup window drops the duplicate.
pub(super) async fn trtc_path(app: &Arc<Ingress>, conn: &Conn, req: Request<Incoming>) -> Answer {
    let started = Instant::now();
    let (parts, body) = req.into_parts();
    let received = posted_body(app, conn, &parts, body).await;
    let body = match received {
        Ok(body) => body,
        Err(refusal) => return trtc_answer(app, Err(refusal), started),
    };
    let work = {
        let app = app.clone();
        async move {
            let result = process_trtc(&app, &parts.headers, &body).await;
            trtc_answer(&app, result, started)
        }
    };
    detach(conn, &app.metrics, &app.hangup_log, Path::Trtc, work)
        .await
        .unwrap_or_else(|| refuse(&Refusal::ShuttingDown))
}

async fn process_trtc(app: &Ingress, headers: &HeaderMap, body: &[u8]) -> Result<TrtcOutcome, Refusal> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let trtc_headers = TrtcHeaders {
        sdk_app_id: header("sdkappid"),
        sign: header("sign"),
    };
    app.pipeline.handle_trtc(trtc_headers, body).await
}

fn trtc_answer(app: &Ingress, result: Result<TrtcOutcome, Refusal>, started: Instant) -> Answer {
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

/// The body of a POST; any other method is refused before a byte of it is read.
async fn posted_body(
    app: &Ingress,
    conn: &Conn,
    parts: &hyper::http::request::Parts,
    body: Incoming,
) -> Result<Bytes, Refusal> {
    if parts.method != Method::POST {
        return Err(Refusal::MethodNotAllowed);
    }
    read_body(app, conn, &parts.headers, body).await
}

/// The body within the size and time limits; refused at once while draining, and when the
/// client stops sending before the body is whole (a body cut short is not a callback).
async fn read_body(
    app: &Ingress,
    conn: &Conn,
    headers: &HeaderMap,
    body: Incoming,
) -> Result<Bytes, Refusal> {
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
    // Biased: the body's last bytes reach the channel before hyper reads the EOF behind them.
    let read = async {
        tokio::select! {
            biased;
            read = read => Some(read),
            () = conn.hangup.closed() => None,
        }
    };
    let body = tokio::time::timeout(app.limits.body_read_timeout, read)
        .await
        .map_err(|_| Refusal::BodyTimeout)?
        .ok_or_else(|| Refusal::BodyRead("the client closed the connection before the whole body".into()))?
        .map_err(|e| {
            if e.downcast_ref::<LengthLimitError>().is_some() {
                Refusal::BodyTooLarge { limit }
            } else {
                Refusal::BodyRead(e.to_string())
            }
        })?;
    Ok(body.to_bytes())
}
