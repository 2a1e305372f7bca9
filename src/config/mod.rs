//! What the operator writes: flags with `BRIDGE_*` env twins, validated once at start and then
//! passed down immutable. Nothing else in the crate reads the environment.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};

use crate::kafka_args::KafkaArgs;

/// The bridge's configuration: every flag has a `BRIDGE_*` env twin and a key in the
/// `--config` file.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// TOML file whose keys are these flags' long names (see deploy/bridge.example.toml).
    /// Precedence: flag > env > file > default.
    #[arg(long, env = "BRIDGE_CONFIG")]
    pub config: Option<PathBuf>,

    /// Address the callback server listens on.
    #[arg(long, env = "BRIDGE_LISTEN", default_value = "0.0.0.0:8080")]
    pub listen: SocketAddr,

    /// Address of the admin listener: /metrics, /healthz and /readyz, never on the callback
    /// port (which Tencent, i.e. the internet, reaches). Keep it private: loopback on a host,
    /// 0.0.0.0:9091 in a pod so kubelet and Prometheus reach it on the pod IP.
    #[arg(long, env = "BRIDGE_ADMIN_LISTEN", default_value = "127.0.0.1:9091")]
    pub admin_listen: SocketAddr,

    /// Path of the callback URL configured in the Tencent console.
    #[arg(long, env = "BRIDGE_CALLBACK_PATH", default_value = "/callback")]
    pub callback_path: String,

    /// SdkAppid values accepted (repeat the flag or give a comma list). Anything else gets 403.
    #[arg(
        long = "sdk-app-id",
        env = "BRIDGE_SDK_APP_IDS",
        value_delimiter = ',',
        required = true
    )]
    pub sdk_app_ids: Vec<String>,

    /// Callback auth token from the Tencent console (turn on webhook authentication there).
    /// Every callback must carry a valid `Sign` = sha256_hex(token + RequestTime). Required
    /// (or --auth-token-file) unless --allow-unsigned. Prefer the file: a flag shows in `ps`.
    #[arg(long, env = "BRIDGE_AUTH_TOKEN", hide_env_values = true)]
    pub auth_token: Option<String>,

    /// Read the auth tokens from this file (a mounted Kubernetes secret): one a line, blank
    /// lines and `#` comments ignored, any of them signs. Re-read every 2 s: to rotate, add the
    /// new token on a second line, change it in the Tencent console, remove the old one
    /// (docs/operations.md). For every app without its own --app-token-file. Exclusive with
    /// --auth-token.
    #[arg(long, env = "BRIDGE_AUTH_TOKEN_FILE")]
    pub auth_token_file: Option<PathBuf>,

    /// An app's own token file, SDKAPPID=PATH (repeatable; env: comma list; config file: a
    /// table, `[app-token-file]` then `"1400000001" = "/run/secrets/app1/token"`). Same format
    /// and re-reading as --auth-token-file; that app's callbacks are checked against these
    /// tokens only, so one signed with another app's token is refused (401).
    #[arg(long = "app-token-file", env = "BRIDGE_APP_TOKEN_FILES", value_delimiter = ',', value_parser = tokens::parse_app_token_file)]
    pub app_token_files: Vec<(String, PathBuf)>,

    /// Per `--sdk-app-id`, in order: where its tokens come from and those read at start.
    #[arg(skip)]
    pub app_tokens: Vec<AppTokens>,

    /// File holding the TRTC callback key (from the TRTC console; a mounted secret; one key a
    /// line like --auth-token-file, any of them valid, re-read every 2 s). When set, TRTC room
    /// and media callbacks are served on --trtc-path, signed with HMAC-SHA256 of the body
    /// under this key; when unset, that path is not served.
    #[arg(long, env = "BRIDGE_TRTC_KEY_FILE")]
    pub trtc_key_file: Option<PathBuf>,

    /// Path of the TRTC callback URL (served only with --trtc-key-file).
    #[arg(long, env = "BRIDGE_TRTC_PATH", default_value = "/trtc")]
    pub trtc_path: String,

    /// The TRTC key, read from --trtc-key-file (its first, when it holds several).
    #[arg(skip)]
    pub trtc_key: Option<String>,

    /// Every key of --trtc-key-file, in the file's order (a rotation holds two).
    #[arg(skip)]
    pub trtc_keys: Vec<String>,

    /// Run with no auth token: signatures are not checked. SdkAppids are not secret (they ship
    /// in every client app), so anyone who can reach the port can then publish events other
    /// teams' consumers trust. Without a token the bridge refuses to start unless this is
    /// given; it then warns at start and reports it in /metrics and check-config.
    #[arg(long, env = "BRIDGE_ALLOW_UNSIGNED", value_parser = clap::builder::BoolishValueParser::new())]
    pub allow_unsigned: bool,

    /// How far `RequestTime` may be from our clock. Smaller narrows the replay window; larger
    /// tolerates clock drift.
    #[arg(long, env = "BRIDGE_SIGN_MAX_SKEW", default_value = "300s", value_parser = humantime::parse_duration)]
    pub sign_max_skew: Duration,

    #[command(flatten)]
    pub kafka: KafkaArgs,

    #[command(flatten)]
    pub topic: TopicPrefixArg,

    /// When the OK goes out. spool: once fsynced to the local spool (survives kill -9 and
    /// broker outages; costs one shared fsync). memory: once queued in the producer (fastest;
    /// a crash loses the queue). kafka: once the broker acknowledged it with acks=all (Tencent
    /// waits on the broker; an outage answers 503).
    #[arg(long, env = "BRIDGE_DELIVERY", value_enum, default_value_t = DeliveryMode::Spool)]
    pub delivery: DeliveryMode,

    #[command(flatten)]
    pub spool: SpoolDirArg,

    /// Spool size limit (e.g. 1GiB, 512MiB). Larger rides out longer broker outages; at the
    /// limit callbacks get 503 (code 5032) and /readyz 503 until Kafka drains it.
    #[arg(long, env = "BRIDGE_SPOOL_MAX_BYTES", default_value = "1GiB", value_parser = parse_bytes)]
    pub spool_max_bytes: u64,

    /// Spool segment file size. Delivered space is freed a whole segment at a time: smaller
    /// frees disk sooner, larger means fewer files. At most a quarter of --spool-max-bytes.
    /// The segment being written is preallocated: the disk needs this much beyond the max.
    #[arg(long, env = "BRIDGE_SPOOL_SEGMENT_BYTES", default_value = "64MiB", value_parser = parse_bytes)]
    pub spool_segment_bytes: u64,

    /// Longest a group commit waits for more appends before its fdatasync, once others are
    /// already waiting (about one sync's duration, capped here). 0 (the default) syncs at
    /// once: on a disk whose fdatasync takes ~0.15 ms the wait cost more than it saved
    /// (BENCHMARKS.md); a disk whose syncs take milliseconds may gain. A lone append never
    /// waits, and nothing is answered before its sync.
    #[arg(long, env = "BRIDGE_SPOOL_COMMIT_WINDOW", default_value = "0s", value_parser = humantime::parse_duration)]
    pub spool_commit_window: std::time::Duration,

    /// Keep delivered spool segments for `spool replay`: for a time (`6h`, `2days`) or up to
    /// a size (`10GiB`). Counted apart from --spool-max-bytes, so a full retention never
    /// refuses a callback; given up first when appends fail (a full disk). Default: a segment
    /// is deleted once every record in it is delivered.
    #[arg(long, env = "BRIDGE_SPOOL_RETAIN", value_parser = parse_retain)]
    pub spool_retain: Option<Retain>,

    /// Largest callback body accepted; larger gets 413 without being read.
    #[arg(long, env = "BRIDGE_MAX_BODY_BYTES", default_value_t = 1_048_576)]
    pub max_body_bytes: usize,

    /// How long a client may take to send a request's headers once it starts one (and a new
    /// connection to start its first request; with TLS, to complete its handshake). Guards
    /// against slowloris.
    #[arg(long, env = "BRIDGE_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub header_read_timeout: Duration,

    /// How long a client may take to send the body once the headers are in (408 beyond).
    #[arg(long, env = "BRIDGE_BODY_READ_TIMEOUT", default_value = "10s", value_parser = humantime::parse_duration)]
    pub body_read_timeout: Duration,

    /// How long an idle keep-alive connection is kept open between requests.
    #[arg(long, env = "BRIDGE_KEEPALIVE_IDLE_TIMEOUT", default_value = "60s", value_parser = humantime::parse_duration)]
    pub keepalive_idle_timeout: Duration,

    /// Largest request head (request line + headers); larger gets 431. At least 8KiB.
    #[arg(long, env = "BRIDGE_MAX_HEADER_BYTES", default_value = "16KiB", value_parser = parse_bytes)]
    pub max_header_bytes: u64,

    /// Most headers in one request; more gets 431.
    #[arg(long, env = "BRIDGE_MAX_HEADERS", default_value_t = 64)]
    pub max_headers: usize,

    /// Most connections served at once. Beyond it new connections wait in the accept backlog
    /// (they are not refused) until one closes; memory stays bounded.
    #[arg(long, env = "BRIDGE_MAX_CONNECTIONS", default_value_t = 4096)]
    pub max_connections: usize,

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

    /// During a Kafka outage, at most one summary line per this interval. Hidden: only tests
    /// need another value than a minute.
    #[arg(long, env = "BRIDGE_OUTAGE_SUMMARY_INTERVAL", default_value = "60s", value_parser = humantime::parse_duration, hide = true)]
    pub outage_summary_interval: Duration,

    /// Serve HTTPS on --listen with this PEM certificate chain (the server's certificate
    /// first, then its intermediates), with --tls-key-file. Without both: plain HTTP. Files
    /// that change (cert-manager, certbot) are served to new connections without a restart.
    /// The admin listener stays plain HTTP.
    #[arg(long, env = "BRIDGE_TLS_CERT_FILE")]
    pub tls_cert_file: Option<PathBuf>,

    /// The certificate's private key (PEM: PKCS#8, PKCS#1 or SEC1): a secret, never logged
    /// (a mounted secret, or a systemd credential).
    #[arg(long, env = "BRIDGE_TLS_KEY_FILE")]
    pub tls_key_file: Option<PathBuf>,

    /// What the TLS pair serves, set when it is checked at start (`check-config` shows it).
    #[arg(skip)]
    pub tls_summary: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DeliveryMode {
    Spool,
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

/// `--spool-retain`: how long, or how much, of what was delivered to keep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retain {
    For(std::time::Duration),
    UpTo(u64),
}

impl std::fmt::Display for Retain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retain::For(d) => write!(f, "{}", humantime::format_duration(*d)),
            Retain::UpTo(bytes) => write!(f, "{bytes}B"),
        }
    }
}

/// A size (`10GiB`) or a duration (`6h`).
fn parse_retain(s: &str) -> Result<Retain, String> {
    parse_bytes(s)
        .map(Retain::UpTo)
        .or_else(|_| humantime::parse_duration(s).map(Retain::For))
        .map_err(|_| format!("{s:?} is neither a size like 10GiB nor a duration like 6h"))
}

/// `1048576`, `64KiB`, `512MiB`, `1GiB` (also KB/MB/GB as powers of 1000).
fn parse_bytes(s: &str) -> Result<u64, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("{s:?} is not a size like 1GiB"))?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "kib" | "k" => 1 << 10,
        "mib" | "m" => 1 << 20,
        "gib" | "g" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => return Err(format!("{s:?}: unknown unit (use B, KiB, MiB, GiB)")),
    };
    n.checked_mul(mult).ok_or_else(|| format!("{s:?} is too large"))
}

mod describe;
pub(crate) mod file;
mod groups;
pub use groups::{SpoolDirArg, TopicPrefixArg};
mod validate;
pub use validate::ConfigError;

pub mod tokens;
pub use tokens::{AppTokens, TokenSource};

#[cfg(test)]
pub(crate) mod tests;
