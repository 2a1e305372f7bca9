//! What the operator writes: flags with `BRIDGE_*` env twins, validated once at start and then
//! passed down immutable. Nothing else in the crate reads the environment.

use std::net::SocketAddr;
use std::time::Duration;

use clap::{Parser, ValueEnum};

/// Tencent Cloud membership callbacks → Kafka.
///
/// Examples:
///
///   tencent-kafka-bridge --sdk-app-id 1400000000 --brokers kafka-1:9092,kafka-2:9092
///
///   BRIDGE_SDK_APP_IDS=1400000000 BRIDGE_AUTH_TOKEN=s3cret tencent-kafka-bridge
///
///   tencent-kafka-bridge --sdk-app-id 1400000000 --delivery kafka \
///       --kafka-property security.protocol=SASL_SSL --kafka-property sasl.mechanism=SCRAM-SHA-512
#[derive(Debug, Clone, Parser)]
#[command(name = "tencent-kafka-bridge", version, verbatim_doc_comment)]
pub struct Config {
    /// Address the callback server listens on.
    #[arg(long, env = "BRIDGE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Path of the callback URL configured in the Tencent console.
    #[arg(long, env = "BRIDGE_CALLBACK_PATH", default_value = "/callback")]
    pub callback_path: String,

    /// SdkAppid values accepted (repeat the flag or give a comma list). Anything else gets 403.
    #[arg(long = "sdk-app-id", env = "BRIDGE_SDK_APP_IDS", value_delimiter = ',', required = true)]
    pub sdk_app_ids: Vec<String>,

    /// Callback auth token from the Tencent console. When set, every callback must carry a
    /// valid `Sign` = sha256_hex(token + RequestTime); when unset, signatures are not checked.
    #[arg(long, env = "BRIDGE_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,

    /// How far `RequestTime` may be from our clock. Smaller narrows the replay window; larger
    /// tolerates clock drift.
    #[arg(long, env = "BRIDGE_SIGN_MAX_SKEW", default_value = "300s", value_parser = humantime::parse_duration)]
    pub sign_max_skew: Duration,

    /// Kafka bootstrap servers (comma list).
    #[arg(long, env = "BRIDGE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,

    /// Prefix of every topic: `<prefix>live.member`, `<prefix>group.member`,
    /// `<prefix>room.member`, `<prefix>other`, `<prefix>dlq`.
    #[arg(long, env = "BRIDGE_TOPIC_PREFIX", default_value = "tencent.")]
    pub topic_prefix: String,

    /// Any librdkafka producer property, KEY=VALUE, repeatable; overrides the bridge's defaults
    /// (e.g. `security.protocol=SASL_SSL`, `linger.ms=20`). Env: comma list.
    #[arg(long = "kafka-property", env = "BRIDGE_KAFKA_PROPERTIES", value_delimiter = ',', value_parser = parse_property)]
    pub kafka_properties: Vec<(String, String)>,

    /// When the OK goes out. memory: once queued in the producer (fastest; a crash loses the
    /// queue). kafka: once the broker acknowledged it with acks=all (slowest; Tencent waits on
    /// the broker).
    #[arg(long, env = "BRIDGE_DELIVERY", value_enum, default_value_t = DeliveryMode::Kafka)]
    pub delivery: DeliveryMode,

    /// Largest callback body accepted; larger gets 413 without being read.
    #[arg(long, env = "BRIDGE_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// Commands the bridge does not model: passthrough to `<prefix>other` (200), or reject
    /// (400, and the callback is kept on `<prefix>dlq`).
    #[arg(long, env = "BRIDGE_UNKNOWN_COMMANDS", value_enum, default_value_t = UnknownCommands::Passthrough)]
    pub unknown_commands: UnknownCommands,

    /// Log format: text for people, json for log pipelines.
    #[arg(long, env = "BRIDGE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,

    /// On SIGTERM/SIGINT: how long to finish requests in flight and flush to Kafka before exit.
    #[arg(long, env = "BRIDGE_SHUTDOWN_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub shutdown_timeout: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeliveryMode {
    Memory,
    Kafka,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnknownCommands {
    Passthrough,
    Reject,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// A configuration the bridge cannot run with. The binary prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--sdk-app-id: at least one SdkAppid is required")]
    NoAppIds,
    #[error("--sdk-app-id: {0:?} is not an SdkAppid (expected digits)")]
    BadAppId(String),
    #[error("--callback-path: {0:?} must start with '/' and not be /healthz, /readyz or /metrics")]
    BadCallbackPath(String),
    #[error("--auth-token: must not be empty (leave it unset to turn signature checks off)")]
    EmptyToken,
    #[error("--brokers: must name at least one broker")]
    NoBrokers,
    #[error("--max-body-bytes: must be at least 1")]
    ZeroBodyLimit,
    #[error("--topic-prefix: {0:?} has characters Kafka does not allow in topic names")]
    BadTopicPrefix(String),
}

impl Config {
    /// Checks what clap's types cannot; run once before anything starts.
    pub fn validate(mut self) -> Result<Self, ConfigError> {
        self.sdk_app_ids.retain(|id| !id.trim().is_empty());
        if self.sdk_app_ids.is_empty() {
            return Err(ConfigError::NoAppIds);
        }
        for id in &mut self.sdk_app_ids {
            *id = id.trim().to_owned();
            if !id.bytes().all(|b| b.is_ascii_digit()) {
                return Err(ConfigError::BadAppId(id.clone()));
            }
        }
        let path = self.callback_path.as_str();
        if !path.starts_with('/') || ["/healthz", "/readyz", "/metrics"].contains(&path) {
            return Err(ConfigError::BadCallbackPath(self.callback_path));
        }
        if self.auth_token.as_deref() == Some("") {
            return Err(ConfigError::EmptyToken);
        }
        if self.brokers.trim().is_empty() {
            return Err(ConfigError::NoBrokers);
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        if !self.topic_prefix.chars().all(legal) || self.topic_prefix.len() > 200 {
            return Err(ConfigError::BadTopicPrefix(self.topic_prefix));
        }
        Ok(self)
    }
}

fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, String> {
        let mut argv = vec!["tencent-kafka-bridge"];
        argv.extend_from_slice(args);
        let cfg = Config::try_parse_from(argv).map_err(|e| e.to_string())?;
        cfg.validate().map_err(|e| e.to_string())
    }

    #[test]
    fn comma_list_and_repeats_both_work() {
        let cfg = parse(&["--sdk-app-id", "1,2", "--sdk-app-id", "3"]).unwrap();
        assert_eq!(cfg.sdk_app_ids, ["1", "2", "3"]);
    }

    #[test]
    fn empty_app_id_list_is_refused() {
        let err = parse(&["--sdk-app-id", ","]).unwrap_err();
        assert!(err.contains("at least one SdkAppid"), "{err}");
    }

    #[test]
    fn bad_values_are_named() {
        assert!(parse(&["--sdk-app-id", "1", "--listen", "nope"]).unwrap_err().contains("--listen"));
        assert!(parse(&["--sdk-app-id", "abc"]).unwrap_err().contains("\"abc\""));
        assert!(parse(&["--sdk-app-id", "1", "--kafka-property", "x"]).unwrap_err().contains("KEY=VALUE"));
        assert!(parse(&["--sdk-app-id", "1", "--callback-path", "/readyz"]).is_err());
        assert!(parse(&["--sdk-app-id", "1", "--sign-max-skew", "5 parsecs"]).is_err());
    }

    #[test]
    fn durations_take_units() {
        let cfg = parse(&["--sdk-app-id", "1", "--shutdown-timeout", "1500ms"]).unwrap();
        assert_eq!(cfg.shutdown_timeout, Duration::from_millis(1500));
        assert_eq!(cfg.sign_max_skew, Duration::from_secs(300));
    }
}
