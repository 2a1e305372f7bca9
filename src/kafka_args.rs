//! The Kafka connection flags every Kafka-facing command takes, as one clap group: the bridge,
//! `tail`, `spool replay`, `dlq redrive` (and `presence`) flatten [`KafkaArgs`], so a new
//! Kafka option is one field here. Same names and `BRIDGE_KAFKA_*` env twins everywhere, so
//! one environment serves every process, and a password never needs the command line
//! (`--kafka-secret-file`). After parsing, `cli` rejoins values cut at a comma
//! (`ssl.cipher.suites=A,B`) and merges the config file's tables ([`KafkaArgs::finish`]).

use clap::{ArgMatches, Args};
use rdkafka::ClientConfig;

#[derive(Debug, Clone, Args)]
pub struct KafkaArgs {
    /// Kafka bootstrap servers (comma list).
    #[arg(long, env = "BRIDGE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    pub brokers: String,

    /// Any librdkafka property, KEY=VALUE, repeatable; overrides the defaults (e.g.
    /// `security.protocol=SASL_SSL`, `linger.ms=20`). Env: comma list. A comma followed by no
    /// `=` stays in the value (`ssl.cipher.suites=A,B`).
    #[arg(long = "kafka-property", env = "BRIDGE_KAFKA_PROPERTIES", value_delimiter = ',', value_parser = property_piece)]
    pub kafka_properties: Vec<(String, String)>,

    /// A librdkafka property whose value is read from a file, KEY=PATH, repeatable (e.g.
    /// `sasl.password=/var/run/secrets/kafka/password`): a secret stays out of `ps` and shell
    /// history. Env: comma list.
    #[arg(long = "kafka-secret-file", env = "BRIDGE_KAFKA_SECRET_FILES", value_delimiter = ',', value_parser = property_piece)]
    pub kafka_secret_files: Vec<(String, String)>,

    /// The config file's `[kafka-property]` table (set only by the config file): merged under
    /// --kafka-property, which wins key by key, instead of being replaced by it.
    #[arg(long = "config-file-kafka-property", hide = true, value_parser = parse_property)]
    pub file_kafka_properties: Vec<(String, String)>,

    /// The config file's `[kafka-secret-file]` table, merged the same way.
    #[arg(long = "config-file-kafka-secret-file", hide = true, value_parser = parse_property)]
    pub file_kafka_secret_files: Vec<(String, String)>,
}

/// A `--kafka-secret-file` that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("--kafka-secret-file {key}={path}: {source}")]
pub struct SecretFileError {
    pub key: String,
    pub path: String,
    pub source: std::io::Error,
}

impl KafkaArgs {
    /// After clap: values cut at a comma rejoined, within each flag or env value (`matches`
    /// are the command's own), then the config file's tables merged under the flags.
    pub fn finish(&mut self, matches: &ArgMatches) -> Result<(), String> {
        self.kafka_properties = joined(matches, "kafka_properties")?;
        self.kafka_secret_files = joined(matches, "kafka_secret_files")?;
        self.merge_file_tables();
        Ok(())
    }

    /// Folds the config file's tables under the flags, key by key (the flag wins).
    pub fn merge_file_tables(&mut self) {
        self.kafka_properties = merged(&mut self.file_kafka_properties, &self.kafka_properties);
        self.kafka_secret_files = merged(&mut self.file_kafka_secret_files, &self.kafka_secret_files);
    }

    /// The secret files' values, read now (a trailing newline dropped), as properties.
    pub fn secrets(&self) -> Result<Vec<(String, String)>, SecretFileError> {
        let read = |(key, path): &(String, String)| {
            std::fs::read_to_string(path)
                .map(|v| (key.clone(), v.trim_end_matches(['\r', '\n']).to_owned()))
                .map_err(|source| SecretFileError {
                    key: key.clone(),
                    path: path.clone(),
                    source,
                })
        };
        self.kafka_secret_files.iter().map(read).collect()
    }

    /// The operator's properties, then the secrets read from their files.
    pub fn properties(&self) -> Result<Vec<(String, String)>, SecretFileError> {
        let mut out = self.kafka_properties.clone();
        out.extend(self.secrets()?);
        Ok(out)
    }

    /// `defaults`, then the brokers, then the operator's properties (which win), then the
    /// secrets read from their files.
    pub fn client_config(&self, defaults: &[(&str, &str)]) -> Result<ClientConfig, SecretFileError> {
        let mut cfg = ClientConfig::new();
        for (k, v) in defaults {
            cfg.set(*k, *v);
        }
        cfg.set("bootstrap.servers", &self.brokers);
        for (k, v) in self.properties()? {
            cfg.set(k, v);
        }
        Ok(cfg)
    }
}

/// The pairs of a `property_piece` list, cut values rejoined within each flag (or env value):
/// a separate `--kafka-property x` is still refused.
fn joined(matches: &ArgMatches, id: &str) -> Result<Vec<(String, String)>, String> {
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
                return Err(format!("{value:?} is not KEY=VALUE"));
            }
        }
    }
    Ok(out)
}

pub fn parse_property(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err(format!("{s:?} is not KEY=VALUE")),
    }
}

/// One comma-separated piece of a KEY=VALUE list. A piece without `=` is the rest of the
/// previous value, cut by its own comma (`ssl.cipher.suites=A,B`); its key stays empty until
/// [`KafkaArgs::finish`] puts it back.
pub fn property_piece(s: &str) -> Result<(String, String), String> {
    if s.contains('=') {
        parse_property(s)
    } else {
        Ok((String::new(), s.to_owned()))
    }
}

/// `base` overridden key by key by `over`, in order, one entry per key (`base` is emptied).
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
