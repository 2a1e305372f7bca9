//! The benchmark's yardsticks, none of which runs any of the bridge's own code:
//!
//!   baseline ADDR                          bare hyper: answers every POST with the bridge's OK
//!                                          body, nothing else. The ceiling of the HTTP stack.
//!   baseline ADDR --kafka BROKERS          + one librdkafka produce per request, as memory mode
//!                                          must do: the ceiling of memory mode.
//!   baseline ADDR --kafka BROKERS --fsync DIR
//!                                          + a group-commit write and fdatasync before the OK,
//!                                          then the produce: the ceiling of spool mode.
//!
//! The ceilings produce the request body as the value (smaller than the bridge's event, so
//! they err high), with memory and spool mode's producer settings (`publish::client_config`), a
//! key per room
//! and the bridge's seven headers (fixed values of typical length), round-robin over the three
//! member topics. Same runtime, hyper builder and socket options as the bridge's ingress, so
//! bridge / yardstick measures the bridge's own work. Used by `benches/run.sh` (BENCHMARKS.md).
//!
//!   cargo run --release --example baseline -- 127.0.0.1:18090
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{HeaderValue, CONTENT_TYPE};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DefaultProducerContext, ThreadedProducer};
use tencent_kafka_bridge::config::DeliveryMode;
use tencent_kafka_bridge::publish;
use tokio::net::TcpListener;
use tokio::sync::mpsc;

mod durable;

const OK: &[u8] = br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#;
const BUSY: &[u8] = br#"{"ActionStatus":"FAIL","ErrorInfo":"busy","ErrorCode":5031}"#;
const TOPICS: [&str; 3] = [
    "tencent.live.member",
    "tencent.group.member",
    "tencent.room.member",
];
const HEADERS: [(&str, &str); 7] = [
    ("ce_specversion", "1.0"),
    (
        "ce_id",
        "3f1c0a9d5e7b2468ace013579bdf2468ace013579bdf2468ace013579bdf2468",
    ),
    ("ce_source", "tencent-cloud://sdkappid/1400000000"),
    (
        "ce_type",
        "com.tencent.cloud.callback.Live.CallbackAfterMemberStateChanged",
    ),
    ("ce_time", "2026-11-25T12:00:00.000Z"),
    ("ce_subject", "room-1234"),
    ("content-type", "application/json"),
];

type Producer = ThreadedProducer<DefaultProducerContext>;

/// What happens to a body before the OK.
enum Sink {
    Nothing,
    Kafka(Producer),
    Durable(mpsc::Sender<durable::Append>),
}

/// One record per request, shaped like the bridge's (see the module doc).
fn produce(producer: &Producer, body: &[u8]) -> bool {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let key = format!("room-{}", n % 5000);
    let mut headers = OwnedHeaders::new_with_capacity(HEADERS.len());
    for (key, value) in HEADERS {
        headers = headers.insert(Header {
            key,
            value: Some(value),
        });
    }
    let record = BaseRecord::to(TOPICS[(n % 3) as usize])
        .key(&key)
        .payload(body)
        .headers(headers);
    producer.send(record).is_ok()
}

async fn answer(sink: Arc<Sink>, req: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    let post = req.method() == Method::POST;
    // Read the body, as the bridge must, so both servers do the same socket work.
    let body = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    let accepted = match &*sink {
        Sink::Nothing => true,
        Sink::Kafka(producer) => produce(producer, &body),
        Sink::Durable(tx) => durable::append(tx, body).await,
    };
    let mut resp = Response::new(Full::new(Bytes::from_static(if accepted { OK } else { BUSY })));
    if !post {
        *resp.status_mut() = StatusCode::METHOD_NOT_ALLOWED;
    } else if !accepted {
        *resp.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    }
    resp.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    Ok(resp)
}

fn sink(args: &[String]) -> anyhow::Result<Sink> {
    let flag = |name: &str| args.iter().position(|a| a == name).and_then(|i| args.get(i + 1));
    let Some(brokers) = flag("--kafka") else {
        anyhow::ensure!(flag("--fsync").is_none(), "--fsync needs --kafka");
        return Ok(Sink::Nothing);
    };
    // Memory and spool mode's settings: these are their ceilings.
    let properties = publish::properties_for(DeliveryMode::Memory, &[]);
    let producer: Producer = publish::client_config(brokers, &properties).create()?;
    Ok(match flag("--fsync") {
        Some(dir) => Sink::Durable(durable::start(dir.as_ref(), producer)?),
        None => Sink::Kafka(producer),
    })
}

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let addr: SocketAddr = args.first().map_or("127.0.0.1:18090", String::as_str).parse()?;
    // Like the bridge: a multi-thread runtime sized from the CPUs this process may use.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    runtime.block_on(async move {
        let sink = Arc::new(sink(&args)?);
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
            let sink = sink.clone();
            let service = service_fn(move |req| answer(sink.clone(), req));
            let conn = builder.serve_connection(TokioIo::new(stream), service);
            tokio::spawn(async move {
                let _ = conn.await;
            });
        }
    })
}
