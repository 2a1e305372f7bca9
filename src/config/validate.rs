//! `Config::validate`: what clap's types cannot check, run once before anything starts, and
//! the errors it names. A child of `config` (its own file only to keep `config.rs` short).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use super::tokens::{parse_tokens, AppTokens, TokenSource};
use super::Config;

/// A configuration the bridge cannot run with. The binary prints it and exits with code 2.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("--sdk-app-id: at least one SdkAppid is required")]
    NoAppIds,
    #[error("--sdk-app-id: {0:?} is not an SdkAppid (expected digits)")]
    BadAppId(String),
    #[error("--callback-path: {0:?} must start with '/' and not be /healthz, /readyz or /metrics")]
    BadCallbackPath(String),
    #[error("--auth-token / --auth-token-file: the token must not be empty")]
    EmptyToken,
    #[error("--auth-token and --auth-token-file: give one, not both")]
    TwoTokens,
    #[error("{flag} {path}: holds no token (one a line; blank lines and # comments do not count); it must not be empty")]
    EmptyTokenFile { flag: &'static str, path: PathBuf },
    #[error("--app-token-file {0}=...: {0} is not one of --sdk-app-id")]
    AppTokenFileForUnknownApp(String),
    #[error("--app-token-file {0}=...: given twice for one app; put both tokens in one file, one a line")]
    TwoAppTokenFiles(String),
    #[error(
        "SdkAppid {0}: no token, so its callbacks could not be checked. Give it its own \
         --app-token-file {0}=PATH, or --auth-token-file for every app without its own, or run \
         those apps without signature checks on purpose with --allow-unsigned. See SECURITY.md"
    )]
    AppWithoutToken(String),
    #[error("--trtc-path: {0:?} must start with '/' and differ from --callback-path, /healthz, /readyz and /metrics")]
    BadTrtcPath(String),
    #[error("--admin-listen: {0} is also --listen; the admin endpoints need their own port")]
    AdminOnCallbackPort(SocketAddr),
    #[error(
        "no auth token: anyone who can reach the port and knows an SdkAppid could publish events. \
         Either set --auth-token-file (env BRIDGE_AUTH_TOKEN_FILE, config key auth-token-file) \
         and turn on webhook authentication in the Tencent console, or run without signature \
         checks on purpose with --allow-unsigned (env BRIDGE_ALLOW_UNSIGNED=true, config key \
         allow-unsigned = true). See SECURITY.md"
    )]
    NoToken,
    #[error(
        "--allow-unsigned with an auth token for every app: the token turns signature checks \
         on, --allow-unsigned says they are off; give one, not both"
    )]
    TokenAndUnsigned,
    #[error("{flag} {path}: {source}")]
    SecretFile {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--brokers: must name at least one broker")]
    NoBrokers,
    #[error("--max-body-bytes: must be at least 1")]
    ZeroBodyLimit,
    #[error("--topic-prefix: {0:?} has characters Kafka does not allow in topic names")]
    BadTopicPrefix(String),
    #[error("--max-connections and --max-headers must be at least 1")]
    ZeroLimit,
    #[error("--spool-max-bytes: must be at least 64KiB")]
    SpoolTooSmall,
    #[error("--kafka-property: {0}")]
    KafkaProperty(String),
    #[error("--tls-cert-file and --tls-key-file: give both (HTTPS) or neither (plain HTTP)")]
    TlsHalfPair,
    #[error("{0}")]
    Tls(String),
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
        let trtc = self.trtc_path.as_str();
        if !trtc.starts_with('/') || trtc == path || ["/healthz", "/readyz", "/metrics"].contains(&trtc) {
            return Err(ConfigError::BadTrtcPath(self.trtc_path));
        }
        if self.admin_listen.port() != 0 && self.admin_listen.port() == self.listen.port() {
            return Err(ConfigError::AdminOnCallbackPort(self.admin_listen));
        }
        self.read_secret_files()?;
        self.resolve_tokens()?;
        if self.kafka.brokers.trim().is_empty() {
            return Err(ConfigError::NoBrokers);
        }
        if self.max_body_bytes == 0 {
            return Err(ConfigError::ZeroBodyLimit);
        }
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        let prefix = &self.topic.topic_prefix;
        if !prefix.chars().all(legal) || prefix.len() > 200 {
            return Err(ConfigError::BadTopicPrefix(self.topic.topic_prefix));
        }
        if self.max_connections == 0 || self.max_headers == 0 {
            return Err(ConfigError::ZeroLimit);
        }
        // hyper needs room for at least one read buffer.
        self.max_header_bytes = self.max_header_bytes.max(8192);
        if self.spool_max_bytes < 64 * 1024 {
            return Err(ConfigError::SpoolTooSmall);
        }
        // Space is freed a segment at a time: several segments must fit under the limit, or
        // a drained spool could still look full.
        self.spool_segment_bytes = self.spool_segment_bytes.clamp(4096, self.spool_max_bytes / 4);
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return Err(ConfigError::TlsHalfPair);
        }
        Ok(self)
    }

    /// Secrets mounted as files (Kubernetes secrets, systemd credentials) become values.
    fn read_secret_files(&mut self) -> Result<(), ConfigError> {
        let secrets = self.kafka.secrets().map_err(|e| ConfigError::SecretFile {
            flag: "--kafka-secret-file",
            path: e.path.into(),
            source: e.source,
        })?;
        self.kafka.kafka_properties.extend(secrets);
        Ok(())
    }
}

/// Reads a token file at start: it must read and hold at least one token.
pub fn read_token_file(flag: &'static str, path: &Path) -> Result<Vec<String>, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::SecretFile {
        flag,
        path: path.to_owned(),
        source,
    })?;
    let tokens = parse_tokens(&text);
    if tokens.is_empty() {
        return Err(ConfigError::EmptyTokenFile {
            flag,
            path: path.to_owned(),
        });
    }
    Ok(tokens)
}

impl Config {
    /// Fills `app_tokens` (one per `--sdk-app-id`, in order) and `trtc_keys`/`trtc_key` from
    /// the token flags and files; refuses an app without a token unless `--allow-unsigned`.
    pub(super) fn resolve_tokens(&mut self) -> Result<(), ConfigError> {
        let shared = match (&self.auth_token, &self.auth_token_file) {
            (Some(_), Some(_)) => return Err(ConfigError::TwoTokens),
            (Some(t), None) if t.is_empty() => return Err(ConfigError::EmptyToken),
            (Some(t), None) => Some((TokenSource::Flag, vec![t.clone()])),
            (None, Some(p)) => Some((
                TokenSource::SharedFile(p.clone()),
                read_token_file("--auth-token-file", p)?,
            )),
            (None, None) => None,
        };
        if let Some(path) = &self.trtc_key_file {
            self.trtc_keys = read_token_file("--trtc-key-file", path)?;
            self.trtc_key = self.trtc_keys.first().cloned();
        }
        let mut own: Vec<(String, PathBuf)> = Vec::new();
        for (app, path) in &self.app_token_files {
            if !self.sdk_app_ids.contains(app) {
                return Err(ConfigError::AppTokenFileForUnknownApp(app.clone()));
            }
            if own.iter().any(|(a, _)| a == app) {
                return Err(ConfigError::TwoAppTokenFiles(app.clone()));
            }
            own.push((app.clone(), path.clone()));
        }
        self.app_tokens = Vec::with_capacity(self.sdk_app_ids.len());
        for app in &self.sdk_app_ids {
            let (source, tokens) = match (own.iter().find(|(a, _)| a == app), &shared) {
                (Some((_, path)), _) => (
                    TokenSource::OwnFile(path.clone()),
                    read_token_file("--app-token-file", path)?,
                ),
                (None, Some((source, tokens))) => (source.clone(), tokens.clone()),
                (None, None) => (TokenSource::Unsigned, Vec::new()),
            };
            self.app_tokens.push(AppTokens {
                app: app.clone(),
                source,
                tokens,
            });
        }
        let unsigned: Vec<&str> = self
            .app_tokens
            .iter()
            .filter(|a| a.source == TokenSource::Unsigned)
            .map(|a| a.app.as_str())
            .collect();
        // Secure by default: running without signature checks must be asked for (issue 14).
        match (unsigned.len(), self.allow_unsigned) {
            (0, true) => Err(ConfigError::TokenAndUnsigned),
            (0, false) | (_, true) => Ok(()),
            (n, false) if n == self.app_tokens.len() => Err(ConfigError::NoToken),
            (_, false) => Err(ConfigError::AppWithoutToken(unsigned.join(", "))),
        }
    }
}
