//! What the server is given: the pipeline, health, metrics, the paths and the limits.

use std::sync::Arc;
use std::time::Duration;

use super::hangup::HangupLog;
use super::refusal_log::RefusalLog;
use crate::health::Health;
use crate::metrics::{Metrics, Readings};
use crate::pipeline::Pipeline;

/// What a client may cost the bridge; from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub body_read_timeout: Duration,
    pub header_read_timeout: Duration,
    pub keepalive_idle_timeout: Duration,
    pub max_header_bytes: usize,
    pub max_headers: usize,
    /// Beyond this, new connections wait in the kernel's accept backlog.
    pub max_connections: usize,
}

impl Limits {
    /// The admin listener's: the same timeouts and head limits, and few connections (probes
    /// and a scraper need a handful; a port exposed by mistake cannot eat the callbacks').
    pub fn admin(self) -> Limits {
        Limits {
            max_connections: self.max_connections.min(ADMIN_MAX_CONNECTIONS),
            ..self
        }
    }
}

/// Connections the admin listener serves at once.
pub const ADMIN_MAX_CONNECTIONS: usize = 32;

/// Which listener a connection came in on: each answers its own paths only, 404 to the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The public port: the callback path, for Tencent.
    Callbacks,
    /// The private port: /healthz, /readyz, /metrics.
    Admin,
}

pub struct Ingress {
    pub pipeline: Pipeline,
    pub health: Arc<Health>,
    pub metrics: Arc<Metrics>,
    /// Reads the producer, the spool and health for a scrape of /metrics.
    pub readings: Box<dyn Fn() -> Readings + Send + Sync>,
    pub callback_path: String,
    /// Served only when a TRTC key is configured.
    pub trtc_path: Option<String>,
    pub limits: Limits,
    pub refusal_log: RefusalLog,
    /// Callbacks completed after their sender hung up: one line a minute.
    pub hangup_log: Arc<HangupLog>,
    /// HTTPS on the callback listener (`--tls-cert-file`); `None`: plain HTTP.
    pub tls: Option<Arc<super::tls::Tls>>,
}
