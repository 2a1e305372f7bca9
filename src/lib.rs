//! tencent-kafka-bridge: Tencent Cloud membership callbacks in, normalized Kafka events out.
//!
//! The pipeline, one module per stage: [`ingress`] → [`auth`] → [`callbacks`] (decode) →
//! [`event`] (normalize) → [`route`] → [`deliver`] → [`publish`]. [`run`] wires them and owns
//! shutdown.

pub mod auth;
pub mod callbacks;
pub mod cli;
pub mod clock;
pub mod config;
pub(crate) mod decode;
pub mod deliver;
pub mod dlq;
pub mod event;
pub(crate) mod health;
pub(crate) mod ingress;
pub mod kafka_args;
pub(crate) mod metrics;
pub(crate) mod pipeline;
pub mod presence;
pub mod publish;
pub mod query;
pub mod record;
pub mod refusal;
pub mod route;
pub mod spool;
pub mod tools;
pub mod watch;

use std::future::Future;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::TcpListener;

use crate::auth::{Authenticator, TrtcAuth};
use crate::config::{Config, ConfigError, DeliveryMode};
use crate::decode::Decoder;
use crate::deliver::{Delivery, KafkaDelivery, MemoryDelivery};
use crate::health::Health;
use crate::ingress::{Ingress, Role};
use crate::metrics::{Metrics, Readings};
use crate::pipeline::Pipeline;
use crate::publish::Publisher;
use crate::route::Topics;
use crate::spool::SpoolStats;

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("Kafka producer: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("spool: {0}")]
    Spool(#[from] spool::SpoolError),
    #[error("TLS: {0}")]
    Tls(String),
}

/// Runs the bridge until `shutdown` resolves, then drains within `--shutdown-timeout`.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let bridge = build(&config)?;
    serve(&config, bridge, shutdown).await
}

/// Every stage, built and wired, and the tasks already running beside them: what [`serve`]
/// puts on the listeners and stops in order.
struct Bridge {
    app: Arc<Ingress>,
    publisher: Publisher,
    drain: Option<deliver::spool::Drain>,
    monitor: tokio::task::JoinHandle<()>,
    token_watches: Vec<tokio::task::JoinHandle<()>>,
}

/// Builds every stage from the configuration (a spool is opened and recovered here); starts
/// the Kafka check and the token file watches. Inside the runtime, before anything listens.
fn build(config: &Config) -> Result<Bridge, RunError> {
    let topics = Topics::new(&config.topic.topic_prefix);
    let keyring = Arc::new(auth::Keyring::from_config(config));
    let metrics = Metrics::with_auth(&topics, Some(keyring.clone()));
    let token_watches = auth::reload::watch_files(&keyring, watch::INTERVAL);
    metrics.set_unsigned_allowed(config.allow_unsigned);
    let properties = publish::properties_for(config.delivery, &config.kafka.kafka_properties);
    if config.delivery == DeliveryMode::Spool {
        for ignored in publish::overridden_in_spool_mode(&config.kafka.kafka_properties) {
            tracing::warn!(property = %ignored, "ignored in spool mode: librdkafka never expires a record there (message.timeout.ms=0), so a timeout cannot reorder a room; the spool keeps it until delivered");
        }
    }
    let publisher = Publisher::new(&config.kafka.brokers, &properties, metrics.clone())?;
    let health = Health::new();
    health.log_outages(health::OutageLog::new(
        &config.kafka.brokers,
        config.delivery,
        config.outage_summary_interval,
    ));
    let watched = topics.watched(config.trtc_key.is_some());
    let monitor = tokio::spawn(health::monitor(
        health.clone(),
        publisher.clone(),
        topics.clone(),
        watched,
    ));
    let (delivery, drain) = match config.delivery {
        DeliveryMode::Spool => {
            let settings = deliver::spool::SpoolSettings {
                max_bytes: config.spool_max_bytes,
                segment_bytes: config.spool_segment_bytes,
                retention: retention(config.spool_retain),
                commit_window: config.spool_commit_window,
            };
            let spool = deliver::spool::start(
                &config.spool.spool_dir,
                &settings,
                publisher.clone(),
                topics.clone(),
                health.clone(),
            )?;
            health.watch_spool(spool.writer.stats().clone());
            (Delivery::Spool(spool.writer), Some(spool.drain))
        }
        DeliveryMode::Memory => (Delivery::Memory(MemoryDelivery::new(publisher.clone())), None),
        DeliveryMode::Kafka => (Delivery::Kafka(KafkaDelivery::new(publisher.clone())), None),
    };
    let spool_stats = match &delivery {
        Delivery::Spool(writer) => Some(writer.stats().clone()),
        Delivery::Memory(_) | Delivery::Kafka(_) => None,
    };
    let tls = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => {
            let tls =
                ingress::tls::Tls::start(cert, key, &metrics).map_err(|e| RunError::Tls(e.to_string()))?;
            tokio::spawn(ingress::tls::reload(tls.clone(), metrics.clone()));
            Some(tls)
        }
        _ => None,
    };
    let app = Arc::new(Ingress {
        pipeline: pipeline(
            config,
            &keyring,
            topics.clone(),
            delivery,
            publisher.max_record_bytes(),
        )
        .with_missing_topics(health.clone()),
        readings: Box::new(readings(publisher.clone(), spool_stats, health.clone())),
        health,
        metrics,
        callback_path: config.callback_path.clone(),
        trtc_path: config.trtc_key.is_some().then(|| config.trtc_path.clone()),
        limits: limits(config),
        refusal_log: ingress::RefusalLog::default(),
        hangup_log: Arc::default(),
        tls,
    });
    Ok(Bridge {
        app,
        publisher,
        drain,
        monitor,
        token_watches,
    })
}

/// Listens (callbacks and admin) until `shutdown` resolves, then drains within
/// `--shutdown-timeout`: the callbacks in flight, the spool's drain, the producer's queue;
/// the admin listener last.
async fn serve(config: &Config, bridge: Bridge, shutdown: impl Future<Output = ()>) -> Result<(), RunError> {
    let Bridge {
        app,
        publisher,
        drain,
        monitor,
        token_watches,
    } = bridge;
    let listener = bind(config.listen).await?;
    let admin = bind(config.admin_listen).await?;
    let admin_addr = admin.local_addr().unwrap_or(config.admin_listen);
    // The admin listener outlives the callback drain: /readyz says "draining" meanwhile.
    let (stop_admin, admin_stopped) = tokio::sync::oneshot::channel::<()>();
    let admin = tokio::spawn(ingress::serve(
        admin,
        app.clone(),
        Role::Admin,
        async move {
            let _ = admin_stopped.await;
        },
        std::time::Duration::from_secs(1),
    ));
    tracing::info!(
        listen = %config.listen,
        admin_listen = %admin_addr,
        callback_path = %config.callback_path,
        trtc_path = config.trtc_key.as_ref().map(|_| config.trtc_path.as_str()),
        delivery = ?config.delivery,
        brokers = %config.kafka.brokers,
        https = config.tls_cert_file.is_some(),
        "tencent-kafka-bridge started"
    );
    if config.allow_unsigned {
        let unsigned: Vec<&str> = (config.app_tokens.iter())
            .filter(|a| a.source == config::TokenSource::Unsigned)
            .map(|a| a.app.as_str())
            .collect();
        tracing::warn!(
            apps = %unsigned.join(","),
            "--allow-unsigned: these apps have no auth token and their callback signatures are NOT checked; \
             anyone who can reach {} and knows their SdkAppid can publish events (see SECURITY.md)",
            config.listen
        );
    }
    for app in &config.app_tokens {
        tracing::info!(sdk_app_id = %app.app, "signature check: {app}");
    }

    let mut started_drain = None;
    let shutdown = async {
        shutdown.await;
        started_drain = Some(Instant::now());
    };
    ingress::serve(listener, app, Role::Callbacks, shutdown, config.shutdown_timeout).await;
    monitor.abort();
    token_watches.iter().for_each(tokio::task::JoinHandle::abort);

    let deadline = started_drain.unwrap_or_else(Instant::now) + config.shutdown_timeout;
    if let Some(drain) = drain {
        let _ = tokio::task::spawn_blocking(move || drain.stop(deadline)).await;
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let queued = publisher.in_flight();
    let flushed = tokio::task::spawn_blocking(move || publisher.flush(left)).await;
    match flushed {
        Ok(Ok(())) => tracing::info!(flushed = queued, "shutdown complete"),
        Ok(Err(e)) => tracing::error!(error = %e, "records were still unsent at the shutdown deadline"),
        Err(e) => tracing::error!(error = %e, "flush task failed"),
    }
    let _ = stop_admin.send(());
    let _ = admin.await;
    Ok(())
}

/// The spool's drain reports delivery problems to health, and asks it which topics are missing.
impl deliver::spool::DeliveryProblems for Health {
    fn set_delivery_problem(&self, problem: Option<String>) {
        Health::set_delivery_problem(self, problem);
    }

    fn topic_missing(&self, topic: &str) -> bool {
        Health::topic_missing(self, topic)
    }
}

/// The pipeline sends an event whose topic is missing straight to the DLQ.
impl pipeline::MissingTopics for Health {
    fn topic_missing(&self, topic: &str) -> bool {
        Health::topic_missing(self, topic)
    }
}

/// The callback pipeline's stages, from the configuration. `max_record_bytes`: the producer's
/// `message.max.bytes`; a bigger event is refused before the OK, not lost after it.
fn pipeline(
    config: &Config,
    keyring: &Arc<auth::Keyring>,
    topics: Topics,
    delivery: Delivery,
    max_record_bytes: usize,
) -> Pipeline {
    let auth = Authenticator::with_ring(keyring.clone(), config.sign_max_skew);
    let trtc = TrtcAuth::with_ring(keyring.clone());
    let decoder = Decoder {
        topics,
        unknown: config.unknown_commands,
        max_record_bytes,
    };
    Pipeline::new(auth, trtc, decoder, delivery)
}

/// What /metrics reads at each scrape: the producer's queue, the spool's counters, health.
fn readings(
    publisher: Publisher,
    spool: Option<Arc<SpoolStats>>,
    health: Arc<Health>,
) -> impl Fn() -> Readings + Send + Sync {
    move || Readings {
        queue_depth: publisher.in_flight(),
        spool: spool.as_deref().map(SpoolStats::snapshot),
        ready: health.readiness().is_ok(),
        kafka_reachable: health.kafka_reachable(),
        missing_topics: health.missing_topics(),
    }
}

/// [`Config::validate`], then librdkafka's judgement of the Kafka properties: a typo or a
/// feature this build lacks is exit code 2 at start (and in check-config), not a failed start
/// later. Here, not in `config`, because only the producer knows its properties.
pub fn validate(config: Config) -> Result<Config, ConfigError> {
    let config = config.validate()?;
    publish::check_properties(&config.kafka.brokers, &config.kafka.kafka_properties)
        .map_err(|e| ConfigError::KafkaProperty(e.to_string()))?;
    let mut config = config;
    if let (Some(cert), Some(key)) = (&config.tls_cert_file, &config.tls_key_file) {
        let loaded = ingress::tls::load(cert, key).map_err(|e| ConfigError::Tls(e.to_string()))?;
        config.tls_summary = Some(loaded.summary());
    }
    Ok(config)
}

/// The limits the ingress enforces, from the flags that set them.
fn limits(config: &Config) -> ingress::Limits {
    ingress::Limits {
        max_body_bytes: config.max_body_bytes,
        body_read_timeout: config.body_read_timeout,
        header_read_timeout: config.header_read_timeout,
        keepalive_idle_timeout: config.keepalive_idle_timeout,
        max_header_bytes: usize::try_from(config.max_header_bytes).unwrap_or(usize::MAX),
        max_headers: config.max_headers,
        max_connections: config.max_connections,
    }
}

fn retention(retain: Option<config::Retain>) -> spool::Retention {
    use config::Retain;
    spool::Retention {
        max_age: match retain {
            Some(Retain::For(age)) => Some(age),
            _ => None,
        },
        max_bytes: match retain {
            Some(Retain::UpTo(bytes)) => Some(bytes),
            _ => None,
        },
    }
}

async fn bind(addr: std::net::SocketAddr) -> Result<TcpListener, RunError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| RunError::Bind { addr, source })
}
