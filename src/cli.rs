//! The command line: run the bridge (no subcommand), or one of the operator's tools. Parsing
//! goes through here so the config file's values are in place before clap reads the flags.

use std::ffi::OsString;

use clap::{ArgMatches, CommandFactory, FromArgMatches, Parser, Subcommand};

use crate::config::file as config_file;
use crate::config::Config;
use crate::kafka_args::KafkaArgs;
use crate::presence::PresenceArgs;
use crate::tools::send::SendArgs;
use crate::tools::spool::SpoolCommand;
use crate::tools::tail::TailArgs;
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
///   tencent-kafka-bridge presence --brokers kafka-1:9092 --group-id presence
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
    /// Keep who is in each room or group, in what role, in the compacted topic
    /// `<prefix>presence`: a consumer group over the member topics; run several instances
    /// with one --group-id, each restores its partitions' state from `<prefix>presence`.
    ///
    ///   tencent-kafka-bridge presence --brokers kafka-1:9092 --group-id presence
    ///   tencent-kafka-bridge presence --config /etc/tencent-kafka-bridge/presence.toml
    ///   BRIDGE_KAFKA_BROKERS=kafka-1:9092 tencent-kafka-bridge presence --admin-listen 0.0.0.0:9095
    #[command(verbatim_doc_comment)]
    Presence(Box<PresenceArgs>),
}

/// Parses `args`, with `--config`/`BRIDGE_CONFIG` values as defaults. A config file problem
/// is a clap error too, so it prints and exits 2 like any other bad flag.
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut cmd = Cli::command();
    if args.get(1).is_some_and(|a| a == "presence") {
        // presence has a config file of its own (its keys are not the bridge's).
        if let Some(path) = presence_config_path(&args) {
            if let Some(sub) = cmd.find_subcommand("presence").cloned() {
                let sub = config_file::apply(sub, &path).map_err(file_error)?;
                cmd = cmd.mut_subcommand("presence", |_| sub);
            }
        }
    } else if let Some(path) = config_file::find_path(&args) {
        let with_file = |c: clap::Command| config_file::apply(c, &path);
        cmd = with_file(cmd).map_err(file_error)?;
        if let Some(sub) = cmd.find_subcommand("check-config").cloned() {
            let sub = with_file(sub).map_err(file_error)?;
            cmd = cmd.mut_subcommand("check-config", |_| sub);
        }
    }
    let matches = cmd.try_get_matches_from(args)?;
    let mut cli = Cli::from_arg_matches(&matches)?;
    finish(&mut cli.config.kafka, &matches)?;
    // A tool's flags are in the innermost subcommand's matches (`dlq redrive`).
    let mut leaf = &matches;
    while let Some((_, sub)) = leaf.subcommand() {
        leaf = sub;
    }
    if let Some(kafka) = cli.command.as_mut().and_then(Tool::kafka) {
        finish(kafka, leaf)?;
    }
    Ok(cli)
}

impl Tool {
    /// The Kafka connection flags of the tool that takes them.
    fn kafka(&mut self) -> Option<&mut KafkaArgs> {
        match self {
            Tool::CheckConfig(config) => Some(&mut config.kafka),
            Tool::Tail(tail) => Some(&mut tail.kafka),
            Tool::Spool(SpoolCommand::Replay(replay)) => Some(&mut replay.kafka),
            Tool::Dlq(DlqCommand::Redrive(redrive)) => Some(&mut redrive.kafka),
            Tool::Presence(presence) => Some(&mut presence.kafka),
            Tool::Send(_) | Tool::Spool(_) => None,
        }
    }
}

/// `presence --config FILE` (or `BRIDGE_PRESENCE_CONFIG`), found before clap runs.
fn presence_config_path(args: &[OsString]) -> Option<std::path::PathBuf> {
    let mut it = args.iter().skip(2);
    while let Some(arg) = it.next() {
        let arg = arg.to_string_lossy();
        if arg == "--config" {
            return it.next().map(Into::into);
        }
        if let Some(p) = arg.strip_prefix("--config=") {
            return Some(p.into());
        }
    }
    std::env::var_os("BRIDGE_PRESENCE_CONFIG")
        .filter(|p| !p.is_empty())
        .map(Into::into)
}

/// [`KafkaArgs::finish`], its refusal a clap error (exit 2).
fn finish(kafka: &mut KafkaArgs, matches: &ArgMatches) -> Result<(), clap::Error> {
    kafka
        .finish(matches)
        .map_err(|why| Cli::command().error(clap::error::ErrorKind::ValueValidation, why))
}

fn file_error(e: config_file::FileError) -> clap::Error {
    Cli::command().error(clap::error::ErrorKind::ValueValidation, e)
}
