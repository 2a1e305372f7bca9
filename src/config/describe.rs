//! `check-config`: the effective configuration as TOML, every secret redacted (tokens, keys,
//! Kafka passwords), so an operator can paste it into a ticket.

use super::{tokens, Config};

impl Config {
    /// The effective configuration as TOML, secrets redacted (`check-config`).
    pub fn describe(&self) -> String {
        let secret = |k: &str| {
            ["password", "secret", "token", "key"]
                .iter()
                .any(|s| k.contains(s))
        };
        let mut out = String::new();
        let mut line = |k: &str, v: String| out.push_str(&format!("{k} = {v}\n"));
        let q = |s: &str| format!("{s:?}");
        line("listen", q(&self.listen.to_string()));
        line("admin-listen", q(&self.admin_listen.to_string()));
        line("callback-path", q(&self.callback_path));
        line("sdk-app-id", format!("{:?}", self.sdk_app_ids));
        line(
            "auth-token",
            q(if self.auth_token.is_some() || self.auth_token_file.is_some() {
                "<redacted>"
            } else {
                ""
            }),
        );
        // The key itself never: only where it is read from.
        let trtc_key_file = self.trtc_key_file.as_ref().map(|p| p.display().to_string());
        line("trtc-key-file", q(trtc_key_file.as_deref().unwrap_or("")));
        line("trtc-path", q(&self.trtc_path));
        line("allow-unsigned", self.allow_unsigned.to_string());
        line(
            "sign-max-skew",
            q(&humantime::format_duration(self.sign_max_skew).to_string()),
        );
        line("brokers", q(&self.kafka.brokers));
        line("topic-prefix", q(&self.topic.topic_prefix));
        line("delivery", q(&format!("{:?}", self.delivery).to_lowercase()));
        line("spool-dir", q(&self.spool.spool_dir.display().to_string()));
        line("spool-max-bytes", self.spool_max_bytes.to_string());
        line("spool-segment-bytes", self.spool_segment_bytes.to_string());
        line(
            "spool-commit-window",
            q(&humantime::format_duration(self.spool_commit_window).to_string()),
        );
        if let Some(retain) = self.spool_retain {
            line("spool-retain", q(&retain.to_string()));
        }
        line("max-body-bytes", self.max_body_bytes.to_string());
        line(
            "header-read-timeout",
            q(&humantime::format_duration(self.header_read_timeout).to_string()),
        );
        line(
            "body-read-timeout",
            q(&humantime::format_duration(self.body_read_timeout).to_string()),
        );
        line(
            "keepalive-idle-timeout",
            q(&humantime::format_duration(self.keepalive_idle_timeout).to_string()),
        );
        line("max-header-bytes", self.max_header_bytes.to_string());
        line("max-headers", self.max_headers.to_string());
        line("max-connections", self.max_connections.to_string());
        line(
            "unknown-commands",
            q(&format!("{:?}", self.unknown_commands).to_lowercase()),
        );
        line("log-format", q(&format!("{:?}", self.log_format).to_lowercase()));
        line(
            "shutdown-timeout",
            q(&humantime::format_duration(self.shutdown_timeout).to_string()),
        );
        // The key's path only, never its contents.
        for (k, path) in [
            ("tls-cert-file", &self.tls_cert_file),
            ("tls-key-file", &self.tls_key_file),
        ] {
            if let Some(path) = path {
                line(k, q(&path.display().to_string()));
            }
        }
        let trtc = (self.trtc_key_file.as_deref()).map(|p| (p, self.trtc_keys.len()));
        out.push_str(&tokens::describe(&self.app_tokens, trtc));
        let tls = self.tls_summary.as_deref();
        out.push_str(&format!(
            "# tls: {}\n",
            tls.unwrap_or("off (plain HTTP on listen)")
        ));
        out.push_str("\n[kafka-property]\n");
        for (k, v) in &self.kafka.kafka_properties {
            let v = if secret(k) { "<redacted>" } else { v.as_str() };
            out.push_str(&format!("{k:?} = {v:?}\n"));
        }
        out.push_str(&tokens::describe_files(&self.app_token_files));
        out
    }
}
