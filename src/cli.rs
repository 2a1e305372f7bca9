//! The command line: run the bridge (no subcommand), or one of the operator's tools. Parsing
//! goes through here so the config file's values are in place before clap reads the flags.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::config_file;

/// Tencent Cloud membership callbacks → Kafka.
///
/// Examples:
///
///   tencent-kafka-bridge --sdk-app-id 1400000000 --brokers kafka-1:9092
///   tencent-kafka-bridge --config /etc/tencent-kafka-bridge/bridge.toml
///   tencent-kafka-bridge check-config --config bridge.toml
///   tencent-kafka-bridge send --sample room-enter --sdk-app-id 1400000000 --token "$TOKEN"
///   tencent-kafka-bridge tail --brokers kafka-1:9092 --from-beginning
#[derive(Debug, Parser)]
#[command(name = "tencent-kafka-bridge", version, verbatim_doc_comment)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Tool>,
    #[command(flatten)]
    pub config: Config,
}

#[derive(Debug, Subcommand)]
pub enum Tool {
    /// Print the effective configuration (secrets redacted) and exit 0, or the problem and
    /// exit 2. Takes the same flags, env and --config as the bridge.
    CheckConfig(Box<Config>),
    /// Act as Tencent: POST a callback (built-in sample or your own body), signed like Tencent
    /// when given a token; print the answer; exit 0 only if it was OK.
    Send(SendArgs),
    /// Print the bridge's events from Kafka, pretty or one JSON per line.
    Tail(TailArgs),
}

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The bridge's callback URL (plain http).
    #[arg(
        long,
        env = "BRIDGE_SEND_URL",
        default_value = "http://127.0.0.1:8080/callback"
    )]
    pub url: String,
    /// SdkAppid to send.
    #[arg(long = "sdk-app-id", env = "BRIDGE_SEND_SDK_APP_ID")]
    pub sdk_app_id: String,
    /// Sign like Tencent with this token (RequestTime = now).
    #[arg(long, env = "BRIDGE_AUTH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file (a mounted secret); trailing newline ignored.
    #[arg(long, env = "BRIDGE_AUTH_TOKEN_FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// A built-in callback: live, live-kicked, group, room-enter, room-leave, group-join,
    /// group-exit.
    #[arg(long, conflicts_with_all = ["command", "body"], required_unless_present = "command")]
    pub sample: Option<String>,
    /// CallbackCommand for --body.
    #[arg(long, requires = "body")]
    pub command: Option<String>,
    /// A file holding the JSON body to send.
    #[arg(long, requires = "command")]
    pub body: Option<PathBuf>,
    #[arg(long, default_value = "203.0.113.9")]
    pub client_ip: String,
    #[arg(long, default_value = "iOS")]
    pub platform: String,
}

#[derive(Debug, Args)]
pub struct TailArgs {
    #[arg(long, env = "BRIDGE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,
    #[arg(long, env = "BRIDGE_TOPIC_PREFIX", default_value = "tencent.")]
    pub topic_prefix: String,
    /// Families to read (default: all): live.member, group.member, room.member, other, dlq.
    #[arg(long = "family", value_delimiter = ',')]
    pub families: Vec<String>,
    /// Start from the oldest record instead of from now.
    #[arg(long)]
    pub from_beginning: bool,
    #[arg(long, value_enum, default_value_t = TailFormat::Pretty)]
    pub format: TailFormat,
    /// Exit after this long without a new record (for scripts). Default: run until Ctrl-C.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub idle_exit: Option<Duration>,
    /// Exit after this many records.
    #[arg(long)]
    pub max_events: Option<usize>,
    /// Extra librdkafka consumer properties, KEY=VALUE (TLS, SASL).
    #[arg(long = "kafka-property", value_delimiter = ',', value_parser = crate::config::parse_property)]
    pub kafka_properties: Vec<(String, String)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TailFormat {
    Pretty,
    Json,
}

/// Parses `args`, with `--config`/`BRIDGE_CONFIG` values as defaults. A config file problem
/// is a clap error too, so it prints and exits 2 like any other bad flag.
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut cmd = Cli::command();
    if let Some(path) = config_file::find_path(&args) {
        let with_file = |c: clap::Command| config_file::apply(c, &path);
        cmd = with_file(cmd).map_err(file_error)?;
        if let Some(sub) = cmd.find_subcommand("check-config").cloned() {
            let sub = with_file(sub).map_err(file_error)?;
            cmd = cmd.mut_subcommand("check-config", |_| sub);
        }
    }
    let matches = cmd.try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    cli.config.merge_file_tables();
    if let Some(Tool::CheckConfig(config)) = &mut cli.command {
        config.merge_file_tables();
    }
    Ok(cli)
}

fn file_error(e: config_file::FileError) -> clap::Error {
    Cli::command().error(clap::error::ErrorKind::ValueValidation, e)
}
