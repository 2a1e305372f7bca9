//! `presence`'s flags: every one has a `BRIDGE_*` env twin and a key in its config file
//! (`--config`, or `BRIDGE_PRESENCE_CONFIG`: a file of its own, since its keys are not the
//! bridge's).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Args;

use crate::config::{LogFormat, TopicPrefixArg};
use crate::kafka_args::KafkaArgs;

/// The flags of `presence` (its help text and examples are on the subcommand, in `cli`).
#[derive(Debug, Clone, Args)]
pub struct PresenceArgs {
    /// TOML file whose keys are these flags' long names. Precedence: flag > env > file.
    #[arg(long, env = "BRIDGE_PRESENCE_CONFIG")]
    pub config: Option<PathBuf>,

    #[command(flatten)]
    pub kafka: KafkaArgs,

    /// The consumer group every instance of the view joins.
    #[arg(
        long,
        env = "BRIDGE_PRESENCE_GROUP_ID",
        default_value = "tencent-kafka-bridge-presence"
    )]
    pub group_id: String,

    /// The bridge's --topic-prefix: reads `<prefix>live.member`, `room.member`,
    /// `group.member`, `trtc.member`, `mic.seat`; writes `<prefix>presence`.
    #[command(flatten)]
    pub topic: TopicPrefixArg,

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
    #[arg(long, env = "BRIDGE_PRESENCE_DEPARTED_PER_ROOM", default_value_t = 2000)]
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
        format!("{}presence", self.topic.topic_prefix)
    }
}

#[cfg(test)]
mod tests {
    use crate::cli::{parse, Tool};

    fn presence(args: &[&str]) -> super::PresenceArgs {
        let mut argv = vec!["tencent-kafka-bridge", "presence"];
        argv.extend(args);
        match parse(argv.into_iter().map(Into::into).collect()).unwrap().command {
            Some(Tool::Presence(p)) => *p,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn its_own_config_file_gives_defaults_and_flags_win_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("presence.toml");
        let toml = "group-id = \"g\"\ngrace = \"1m\"\n[kafka-property]\n\"linger.ms\" = \"9\"\n\"client.id\" = \"x\"\n";
        std::fs::write(&path, toml).unwrap();
        let path = path.to_str().unwrap();
        let p = presence(&[
            "--config",
            path,
            "--kafka-property",
            "linger.ms=1,ssl.cipher.suites=A,B",
        ]);
        assert_eq!(p.group_id, "g");
        assert_eq!(p.grace, std::time::Duration::from_secs(60));
        let props: Vec<(&str, &str)> = p
            .kafka
            .kafka_properties
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        assert_eq!(
            props,
            [
                ("client.id", "x"),
                ("linger.ms", "1"),
                ("ssl.cipher.suites", "A,B")
            ]
        );
        assert_eq!(p.output_topic(), "tencent.presence");
    }

    #[test]
    fn a_bridge_key_in_its_config_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("presence.toml");
        std::fs::write(&path, "sdk-app-id = [\"1\"]\n").unwrap();
        let argv = [
            "tencent-kafka-bridge",
            "presence",
            "--config",
            path.to_str().unwrap(),
        ];
        let err = parse(argv.into_iter().map(Into::into).collect())
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown key `sdk-app-id`"), "{err}");
    }
}
