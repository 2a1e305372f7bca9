//! The benchmark's baseline: a bare hyper 1.x server that answers every POST with the bridge's
//! OK body and does nothing else (no auth, no decode, no Kafka). Same runtime, same hyper
//! builder settings and same socket options as the bridge's ingress, so the ratio
//! bridge / baseline measures the bridge's own work (the socket guard's timeouts included).
//! Used by `benches/run.sh`; figures in BENCHMARKS.md.
//!
//!   cargo run --release --example baseline -- 127.0.0.1:18090
use std::convert::Infallible;
use std::net::SocketAddr;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

const OK: &[u8] = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;

async fn answer(req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let post = req.method() == Method::POST;
    // Read the body, as the bridge must, so both servers do the same socket work.
    let _ = req.into_body().collect().await;
    let mut resp = Response::new(Full::new(Bytes::from_static(OK)));
    if !post {
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    }
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

fn main() -> anyhow::Result<()> {
    let addr: SocketAddr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:18090".into())
        .parse()?;
    // Like the bridge: a multi-thread runtime sized from the CPUs this process may use.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind(addr).await?;
        eprintln!("baseline listening on {addr}");
        // The ingress's builder settings with its defaults (16 KiB head, 64 headers). Its
        // header and idle timeouts live on the socket (ingress/guard.rs), which is bridge work;
        // hyper's own header_read_timeout arms a timer per request and, measured, cost this
        // server about half its requests/s, so both leave it off.
        let mut builder = http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(None)
            .max_buf_size(16 * 1024)
            .max_headers(64);
        loop {
            let (stream, _) = match listener.accept().await {
                Ok(s) => s,
                Err(_) => {
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let conn = builder.serve_connection(TokioIo::new(stream), service_fn(answer));
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
