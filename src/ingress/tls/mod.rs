//! TLS on the callback listener (`--tls-cert-file`, `--tls-key-file`): rustls, TLS 1.2 and
//! 1.3, HTTP/1.1 (ALPN `http/1.1`). HTTP/2 is left out: the socket guard reads HTTP/1 heads
//! to time slow clients, and Tencent posts HTTP/1.1.
//!
//! The certificate rotates without a restart: [`reload`] polls the two files (see
//! `crate::watch`) and swaps the server configuration when they change. Each new connection
//! takes the configuration current at its accept; a connection in flight keeps the one it
//! shook hands with. A pair that does not load (half-written, a key that does not match the
//! certificate) leaves the served one in place, is logged once and shows in
//! `tencent_bridge_tls_cert_reload_failing`.

mod expiry;
mod handshake;

pub use handshake::handshake;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::ServerConfig;

use crate::metrics::Metrics;
use crate::watch::{FileWatch, INTERVAL as POLL_INTERVAL};

/// Why a certificate pair cannot be served; names the file and the problem.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("--tls-{flag}-file {path}: {source}")]
    Read {
        flag: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("--tls-{flag}-file {path}: {problem}")]
    Pem {
        flag: &'static str,
        path: PathBuf,
        problem: String,
    },
    #[error("--tls-key-file {key} does not go with --tls-cert-file {cert}: {problem}")]
    Pair {
        cert: PathBuf,
        key: PathBuf,
        problem: String,
    },
}

/// A pair that loaded, ready to serve.
#[derive(Debug)]
pub struct Loaded {
    pub config: Arc<ServerConfig>,
    /// The leaf certificate's expiry (Unix seconds), 0 if it could not be read.
    pub not_after: i64,
    /// Certificates in the chain file (the leaf and its intermediates).
    pub chain: usize,
}

impl Loaded {
    /// `check-config`'s line: what is served, never the key.
    pub fn summary(&self) -> String {
        format!(
            "on: a chain of {} certificate(s), the first expiring at {} (Unix {})",
            self.chain,
            humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(self.not_after.max(0) as u64)
            ),
            self.not_after
        )
    }
}

/// Reads and checks a certificate chain and its private key (PEM).
pub fn load(cert: &Path, key: &Path) -> Result<Loaded, TlsError> {
    let read = |flag, path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            flag,
            path: path.into(),
            source,
        })
    };
    let pem = |flag, path: &Path, problem: String| TlsError::Pem {
        flag,
        path: path.into(),
        problem,
    };
    let cert_pem = read("cert", cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| pem("cert", cert, format!("not a PEM certificate chain ({e})")))?;
    let Some(leaf) = chain.first() else {
        return Err(pem(
            "cert",
            cert,
            "no certificate in it (expected PEM: -----BEGIN CERTIFICATE-----)".into(),
        ));
    };
    let not_after = expiry::not_after(leaf).unwrap_or(0);
    let key_der = PrivateKeyDer::from_pem_slice(&read("key", key)?).map_err(|e| {
        pem(
            "key",
            key,
            format!("no private key in it (PKCS#8, PKCS#1 or SEC1 PEM): {e}"),
        )
    })?;
    let chain_len = chain.len();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let pair = |problem: String| TlsError::Pair {
        cert: cert.into(),
        key: key.into(),
        problem,
    };
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| pair(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key_der)
        .map_err(|e| match e {
            rustls::Error::InconsistentKeys(_) => {
                pair("the private key is not the certificate's (the first one in the chain file)".into())
            }
            other => pair(other.to_string()),
        })?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Loaded {
        config: Arc::new(config),
        not_after,
        chain: chain_len,
    })
}

/// The served configuration, swapped whole by [`reload`].
#[derive(Debug)]
pub struct Tls {
    cert: PathBuf,
    key: PathBuf,
    current: RwLock<Arc<ServerConfig>>,
}

impl Tls {
    /// Loads the pair (the start fails on a bad one) and sets the expiry metric.
    pub fn start(cert: &Path, key: &Path, metrics: &Metrics) -> Result<Arc<Tls>, TlsError> {
        let loaded = load(cert, key)?;
        metrics.ingress.cert_loaded(loaded.not_after, false);
        tracing::info!(cert = %cert.display(), tls = %loaded.summary(), "TLS on the callback listener");
        Ok(Arc::new(Tls {
            cert: cert.into(),
            key: key.into(),
            current: RwLock::new(loaded.config),
        }))
    }

    /// The configuration a new connection shakes hands with.
    pub fn current(&self) -> Arc<ServerConfig> {
        match self.current.read() {
            Ok(c) => c.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    fn swap(&self, config: Arc<ServerConfig>) {
        match self.current.write() {
            Ok(mut c) => *c = config,
            Err(poisoned) => *poisoned.into_inner() = config,
        }
    }
}

/// Polls the pair every [`POLL_INTERVAL`] for the life of the bridge; a change that loads is
/// served to the next connection, one that does not is logged once and kept out.
pub async fn reload(tls: Arc<Tls>, metrics: Arc<Metrics>) {
    // Started from the files as they are now (just loaded): only a later change counts.
    let watch = |path: &PathBuf| FileWatch::new(path, std::fs::read(path).ok().as_deref());
    let mut watched = [watch(&tls.cert), watch(&tls.key)];
    let mut failing = false;
    loop {
        tokio::time::sleep(POLL_INTERVAL).await;
        // Both polled every time: each remembers what it saw, so neither change is missed.
        let changes = watched.iter_mut().filter_map(FileWatch::poll).count();
        if changes == 0 {
            continue;
        }
        match load(&tls.cert, &tls.key) {
            Ok(loaded) => {
                tls.swap(loaded.config.clone());
                metrics.ingress.cert_loaded(loaded.not_after, true);
                tracing::info!(tls = %loaded.summary(), "TLS certificate reloaded: new connections get it");
                failing = false;
            }
            Err(e) => {
                metrics.ingress.cert_reload_failed();
                if !failing {
                    tracing::error!(error = %e, "TLS certificate files changed but do not load: still serving the previous certificate (retried when the files change again)");
                }
                failing = true;
            }
        }
    }
}
