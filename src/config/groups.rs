//! The argument groups the bridge and the tools share besides the Kafka connection's
//! ([`crate::kafka_args`]): flattened where a command needs them, so a flag, its `BRIDGE_*`
//! twin and its default are written once.

use std::path::PathBuf;

use clap::Args;

/// `--topic-prefix`, as the bridge and every tool take it.
#[derive(Debug, Clone, Default, Args)]
pub struct TopicPrefixArg {
    /// Prefix of every topic: `<prefix>live.member`, `<prefix>group.member`,
    /// `<prefix>room.member`, `<prefix>other`, `<prefix>dlq`. The tools take the bridge's.
    #[arg(long, env = "BRIDGE_TOPIC_PREFIX", default_value = "tencent.")]
    pub topic_prefix: String,
}

/// `--spool-dir`, as the bridge and the spool tools take it.
#[derive(Debug, Clone, Args)]
pub struct SpoolDirArg {
    /// Spool directory (created if missing; one bridge per directory). Put it on a volume
    /// that outlives the container if the backlog must survive a pod restart. The spool
    /// tools read the bridge's (read-only: safe beside a running bridge).
    #[arg(long, env = "BRIDGE_SPOOL_DIR", default_value = "spool")]
    pub spool_dir: PathBuf,
}
