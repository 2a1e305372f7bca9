//! The callback listener's own series: callbacks kept after their sender hung up, and the
//! TLS listener's handshakes and certificate.

use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PathLabels {
    path: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabels {
    reason: &'static str,
}

/// Why a TLS handshake did not complete: the label values, all at 0 from the start.
pub const HANDSHAKE_FAILURES: [&str; 3] = ["timeout", "plain_http", "error"];

#[derive(Debug, Default)]
pub struct IngressMetrics {
    after_hangup: Family<PathLabels, Counter>,
    handshake_failures: Family<ReasonLabels, Counter>,
    cert_not_after: Gauge<f64, AtomicU64>,
    cert_reload_failing: Gauge,
    cert_reloads: Counter,
    cert_reload_failures: Counter,
}

impl IngressMetrics {
    pub fn register(&self, r: &mut Registry) {
        for path in ["callback", "trtc"] {
            let _ = self.after_hangup.get_or_create(&PathLabels { path });
        }
        for reason in HANDSHAKE_FAILURES {
            let _ = self.handshake_failures.get_or_create(&ReasonLabels { reason });
        }
        r.register(
            "callbacks_completed_after_hangup",
            "Callbacks read in full and processed to the end (kept, or refused) after their sender had closed the connection or its sending side, by path (callback, trtc)",
            self.after_hangup.clone(),
        );
        r.register(
            "tls_handshake_failures",
            "TLS handshakes on the callback listener that did not complete, by reason (timeout: slower than --header-read-timeout; plain_http: an HTTP request sent to the TLS port; error: anything else)",
            self.handshake_failures.clone(),
        );
        r.register(
            "tls_cert_not_after_seconds",
            "Expiry (Unix time) of the certificate the callback listener serves; 0 without TLS",
            self.cert_not_after.clone(),
        );
        r.register(
            "tls_cert_reload_failing",
            "1 while the certificate files on disk changed but do not load (the previous pair is still served), else 0",
            self.cert_reload_failing.clone(),
        );
        r.register(
            "tls_cert_reloads",
            "Certificate pairs loaded from disk after the start (rotations)",
            self.cert_reloads.clone(),
        );
        r.register(
            "tls_cert_reload_failures",
            "Changes of the certificate files on disk that did not load (each kept the previous pair)",
            self.cert_reload_failures.clone(),
        );
    }

    pub fn completed_after_hangup(&self, path: &'static str) {
        self.after_hangup.get_or_create(&PathLabels { path }).inc();
    }

    pub fn handshake_failed(&self, reason: &'static str) {
        self.handshake_failures
            .get_or_create(&ReasonLabels { reason })
            .inc();
    }

    /// The served certificate changed (at start or by a rotation).
    pub fn cert_loaded(&self, not_after_unix: i64, rotation: bool) {
        self.cert_not_after.set(not_after_unix as f64);
        self.cert_reload_failing.set(0);
        if rotation {
            self.cert_reloads.inc();
        }
    }

    pub fn cert_reload_failed(&self) {
        self.cert_reload_failing.set(1);
        self.cert_reload_failures.inc();
    }
}
