//! The command line: run the bridge (no subcommand), or one of the operator's tools. Parsing
//! goes through here so the config file's values are in place before clap reads the flags.

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::config::Config;
use crate::config_file;
use crate::tools::spool::SpoolCommand;
use crate::tools::DlqCommand;

/// Tencent Cloud membership callbacks → Kafka.
///
/// Callbacks must be signed: the bridge needs the webhook authentication token from the
/// Tencent console (--auth-token-file), or --allow-unsigned to run without signature checks.
///
/// Examples:
///
///   tencent-kafka-bridge --sdk-app-id 1400000000 --auth-token-file ./token --brokers kafka-1:9092
///   tencent-kafka-bridge --config /etc/tencent-kafka-bridge/bridge.toml
///   tencent-kafka-bridge check-config --config bridge.toml
///   tencent-kafka-bridge send --sample room-enter --sdk-app-id 1400000000 --token "$TOKEN"
///   tencent-kafka-bridge tail --brokers kafka-1:9092 --from-beginning
///   tencent-kafka-bridge spool inspect --spool-dir /var/lib/tencent-kafka-bridge/spool
///   tencent-kafka-bridge dlq redrive --brokers kafka-1:9092 --dry-run
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
    /// Look into a spool directory, check it, or publish its records again (read-only on the
    /// directory: safe beside a running bridge).
    #[command(subcommand)]
    Spool(SpoolCommand),
    /// The dead-letter topic: publish what today's decoder accepts of it.
    #[command(subcommand)]
    Dlq(DlqCommand),
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
    /// Act as TRTC instead: sign the body with this TRTC key (headers SdkAppId and Sign, no
    /// query string). Point --url at the bridge's TRTC path.
    #[arg(long, env = "BRIDGE_TRTC_KEY", hide_env_values = true)]
    pub trtc_key: Option<String>,
    /// Read the TRTC key from this file.
    #[arg(long, env = "BRIDGE_TRTC_KEY_FILE", conflicts_with = "trtc_key")]
    pub trtc_key_file: Option<PathBuf>,
    /// A built-in callback: live, live-kicked, group, room-enter, room-leave, group-join,
    /// group-exit, user-login, group-create, group-destroy, live-create, live-destroy,
    /// room-create, room-destroy; TRTC (with a TRTC key): trtc-enter, trtc-exit, trtc-video.
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
    /// Families to read (default: all): live.member, group.member, room.member, user.state,
    /// trtc.member, trtc.media, other, dlq.
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
    #[arg(long = "kafka-property", value_delimiter = ',', value_parser = property_piece)]
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
    join_properties(&mut cli.config, &matches)?;
    cli.config.merge_file_tables();
    match &mut cli.command {
        Some(Tool::CheckConfig(config)) => {
            if let Some(sub) = matches.subcommand_matches("check-config") {
                join_properties(config, sub)?;
            }
            config.merge_file_tables();
        }
        Some(Tool::Tail(tail)) => {
            if let Some(sub) = matches.subcommand_matches("tail") {
                tail.kafka_properties = joined(sub, "kafka_properties")?;
            }
        }
        _ => {}
    }
    Ok(cli)
}

/// One comma-separated piece of a KEY=VALUE list. A piece without `=` is the rest of the
/// previous value, cut by its own comma (`ssl.cipher.suites=A,B`); its key stays empty until
/// [`joined`] puts it back.
pub fn property_piece(s: &str) -> Result<(String, String), String> {
    if s.contains('=') {
        crate::config::parse_property(s)
    } else {
        Ok((String::new(), s.to_owned()))
    }
}

fn join_properties(config: &mut Config, matches: &ArgMatches) -> Result<(), clap::Error> {
    config.kafka_properties = joined(matches, "kafka_properties")?;
    config.kafka_secret_files = joined(matches, "kafka_secret_files")?;
    Ok(())
}

/// The pairs of a `property_piece` list, cut values rejoined within each flag (or env value):
/// a separate `--kafka-property x` is still refused.
fn joined(matches: &ArgMatches, id: &str) -> Result<Vec<(String, String)>, clap::Error> {
    let mut out: Vec<(String, String)> = Vec::new();
    let Some(occurrences) = matches.get_occurrences::<(String, String)>(id) else {
        return Ok(out);
    };
    for occurrence in occurrences {
        let first = out.len();
        for (key, value) in occurrence.cloned() {
            if key.is_empty() && value.is_empty() {
                continue; // "a=1," or ",a=1": a stray comma, not a value
            } else if !key.is_empty() {
                out.push((key, value));
            } else if out.len() > first {
                if let Some((_, previous)) = out.last_mut() {
                    previous.push(',');
                    previous.push_str(&value);
                }
            } else {
                let why = format!("{value:?} is not KEY=VALUE");
                return Err(Cli::command().error(clap::error::ErrorKind::ValueValidation, why));
            }
        }
    }
    Ok(out)
}

fn file_error(e: config_file::FileError) -> clap::Error {
    Cli::command().error(clap::error::ErrorKind::ValueValidation, e)
}
