//! `presence`'s flags: every one has a `BRIDGE_*` env twin and a key in its config file
//! (`--config`, or `BRIDGE_PRESENCE_CONFIG`: a file of its own, since its keys are not the
//! bridge's).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::LogFormat;
use crate::kafka_args::KafkaArgs;

/// Fold the member topics into the compacted topic `<prefix>presence`: who is in each room or
/// group now, in what role. Run several instances with one --group-id: Kafka spreads the
/// partitions, and each instance restores its partitions' state from `<prefix>presence` itself.
///
/// Examples:
///
///   tencent-kafka-bridge presence --brokers kafka-1:9092 --group-id presence
///   tencent-kafka-bridge presence --config /etc/tencent-kafka-bridge/presence.toml
///   BRIDGE_KAFKA_BROKERS=kafka-1:9092 tencent-kafka-bridge presence --admin-listen 0.0.0.0:9095
#[derive(Debug, Clone, Args)]
#[command(verbatim_doc_comment)]
pub struct PresenceArgs {
    /// TOML file whose keys are these flags' long names. Precedence: flag > env > file.
    #[arg(long, env = "BRIDGE_PRESENCE_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// The consumer group every instance of the view joins.
    #[arg(long, env = "BRIDGE_PRESENCE_GROUP_ID", default_value = "tencent-kafka-bridge-presence")]
    pub group_id: String,

    /// Prefix of every topic: reads `<prefix>live.member`, `room.member`, `group.member`,
    /// `trtc.member`, `mic.seat`; writes `<prefix>presence`.
    #[arg(long, env = "BRIDGE_TOPIC_PREFIX", default_value = "tencent.")]
    pub topic_prefix: String,

    /// Admin listener: /metrics, /healthz, /readyz. Keep it private.
    #[arg(long, env = "BRIDGE_PRESENCE_ADMIN_LISTEN", default_value = "127.0.0.1:9095")]
    pub admin_listen: SocketAddr,

    /// How long a departed member's clock (and a closed room's record) is kept after its
    /// tombstone, so a late or duplicated event cannot bring it back, across restarts too.
    /// Longer than the longest delay a late event may have (a spool catch-up).
    #[arg(long, env = "BRIDGE_PRESENCE_GRACE", default_value = "10m", value_parser = humantime::parse_duration)]
    pub grace: Duration,

    /// Most departed clocks one room's value keeps (the oldest go first, counted in
    /// `tencent_presence_departed_evicted_total`): bounds the room record's size.
    #[arg(long, env = "BRIDGE_PRESENCE_DEPARTED_PER_ROOM", default_value_t = 5000)]
    pub departed_per_room: usize,

    /// How often the grace window is swept (tombstones for closed rooms, dropped clocks).
    #[arg(long, env = "BRIDGE_PRESENCE_SWEEP_INTERVAL", default_value = "5s", value_parser = humantime::parse_duration, hide = true)]
    pub sweep_interval: Duration,

    /// Log format: text for people, json for log pipelines.
    #[arg(long, env = "BRIDGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// On SIGTERM/SIGINT: how long to write what is pending and commit before leaving the group.
    #[arg(long, env = "BRIDGE_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
}

impl PresenceArgs {
    pub fn output_topic(&self) -> String {
        format!("{}presence", self.topic_prefix)
    }
}
