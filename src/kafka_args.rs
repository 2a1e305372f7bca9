//! The Kafka connection flags every Kafka-facing command takes, as one clap group: flatten
//! [`KafkaArgs`] into a command's `Args` and call [`KafkaArgs::client_config`]. Same names and
//! `BRIDGE_*` env twins as the bridge's own flags, so one environment serves every process.
//! (`presence` uses it; the bridge and the other tools still have their own copies, to be
//! moved here later.) After parsing, `cli` rejoins values cut at a comma
//! (`ssl.cipher.suites=A,B`) and merges the config file's tables, as for the bridge.

use clap::Args;
use rdkafka::ClientConfig;

use crate::config::{parse_property, property_piece};

#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers (comma list).
    #[arg(long, env = "BRIDGE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,

    /// Any librdkafka property, KEY=VALUE, repeatable (e.g. `security.protocol=SASL_SSL`).
    /// Env: comma list. A comma followed by no `=` stays in the value.
    #[arg(long = "kafka-property", env = "BRIDGE_KAFKA_PROPERTIES", value_delimiter = ',', value_parser = property_piece)]
    pub kafka_properties: Vec<(String, String)>,

    /// A librdkafka property whose value is read from a file, KEY=PATH, repeatable (e.g.
    /// `sasl.password=/var/run/secrets/kafka/password`). Env: comma list.
    #[arg(long = "kafka-secret-file", env = "BRIDGE_KAFKA_SECRET_FILES", value_delimiter = ',', value_parser = property_piece)]
    pub kafka_secret_files: Vec<(String, String)>,

    /// The config file's `[kafka-property]` table (set only by the config file).
    #[arg(long = "config-file-kafka-property", hide = true, value_parser = parse_property)]
    pub file_kafka_properties: Vec<(String, String)>,

    /// The config file's `[kafka-secret-file]` table.
    #[arg(long = "config-file-kafka-secret-file", hide = true, value_parser = parse_property)]
    pub file_kafka_secret_files: Vec<(String, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("--kafka-secret-file {key}={path}: {source}")]
pub struct SecretFileError {
    key: String,
    path: String,
    source: std::io::Error,
}

impl KafkaArgs {
    /// Folds the config file's tables under the flags, key by key (the flag wins).
    pub fn merge_file_tables(&mut self) {
        self.kafka_properties = merged(&mut self.file_kafka_properties, &self.kafka_properties);
        self.kafka_secret_files = merged(&mut self.file_kafka_secret_files, &self.kafka_secret_files);
    }

    /// `defaults`, then the brokers, then the operator's properties (which win), then the
    /// secrets read from their files (trailing newline dropped).
    pub fn client_config(&self, defaults: &[(&str, &str)]) -> Result<ClientConfig, SecretFileError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in defaults {
            cfg.set(*k, *v);
        }
        cfg.set("bootstrap.servers", &self.brokers);
        for (k, v) in &self.kafka_properties {
            cfg.set(k, v);
        }
        for (key, path) in &self.kafka_secret_files {
            let value = std::fs::read_to_string(path).map_err(|source| SecretFileError {
                key: key.clone(),
                path: path.clone(),
                source,
            })?;
            cfg.set(key, value.trim_end_matches(['\r', '\n']));
        }
        Ok(cfg)
    }
}

fn merged(base: &mut Vec<(String, String)>, over: &[(String, String)]) -> Vec<(String, String)> {
    let mut out = std::mem::take(base);
    for (key, value) in over {
        out.retain(|(k, _)| k != key);
        out.push((key.clone(), value.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, clap::Parser)]
    struct Cmd {
        #[command(flatten)]
        kafka: KafkaArgs,
    }

    #[test]
    fn properties_and_secret_files_reach_the_client_config() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("pw");
        std::fs::write(&secret, "s3cret\n").unwrap();
        let mut cmd = <Cmd as clap::Parser>::parse_from([
            "x".to_owned(),
            "--brokers".into(),
            "k:1".into(),
            "--kafka-property".into(),
            "linger.ms=5".into(),
            "--kafka-secret-file".into(),
            format!("sasl.password={}", secret.display()),
        ]);
        cmd.kafka.merge_file_tables();
        let cfg = cmd
            .kafka
            .client_config(&[("linger.ms", "1"), ("acks", "all")])
            .unwrap();
        assert_eq!(cfg.get("bootstrap.servers"), Some("k:1"));
        assert_eq!(cfg.get("linger.ms"), Some("5"));
        assert_eq!(cfg.get("acks"), Some("all"));
        assert_eq!(cfg.get("sasl.password"), Some("s3cret"));
    }

    #[test]
    fn a_missing_secret_file_is_named() {
        let cmd =
            <Cmd as clap::Parser>::parse_from(["x", "--kafka-secret-file", "sasl.password=/nonexistent/pw"]);
        let err = cmd.kafka.client_config(&[]).unwrap_err().to_string();
        assert!(err.contains("/nonexistent/pw"), "{err}");
    }
}
