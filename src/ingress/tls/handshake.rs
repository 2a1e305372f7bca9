//! A TLS connection's first moments, under the same limit as a request head: the client has
//! `--header-read-timeout` from its accept to a completed handshake (a stalled or trickled
//! handshake is cut like a slowloris head), and it holds a place under `--max-connections`
//! meanwhile. Plain HTTP sent to the TLS port gets a plain-text 400 saying so, not a hang.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::Tls;
use crate::metrics::Metrics;

/// The first byte of every TLS record that opens a handshake.
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Most of a plain request read before answering it (so the close does not reset the answer).
const PLAIN_REQUEST_BYTES: usize = 16 * 1024;

const PLAIN_ANSWER: &[u8] = b"HTTP/1.1 400 Bad Request\r\ncontent-type: text/plain\r\nconnection: close\r\ncontent-length: 44\r\n\r\nthis port speaks HTTPS: use an https:// URL\n";

/// The handshake, or `None` (counted by reason) when it does not complete in `limit`.
pub async fn handshake(
    tls: &Tls,
    stream: TcpStream,
    limit: Duration,
    metrics: &Metrics,
) -> Option<TlsStream<TcpStream>> {
    let deadline = Instant::now() + limit;
    let mut first = [0u8; 1];
    match timeout_at(deadline, stream.peek(&mut first)).await {
        Err(_) => {
            metrics.ingress.handshake_failed("timeout");
            return None;
        }
        // Connected and closed without a byte: a TCP health check, not a failed handshake.
        Ok(Ok(0)) | Ok(Err(_)) => return None,
        Ok(Ok(_)) if first[0] != TLS_HANDSHAKE_RECORD => {
            metrics.ingress.handshake_failed("plain_http");
            answer_plain(stream, deadline).await;
            return None;
        }
        Ok(Ok(_)) => {}
    }
    let acceptor = TlsAcceptor::from(tls.current());
    match timeout_at(deadline, acceptor.accept(stream)).await {
        Ok(Ok(stream)) => Some(stream),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "TLS handshake failed");
            metrics.ingress.handshake_failed("error");
            None
        }
        Err(_) => {
            metrics.ingress.handshake_failed("timeout");
            None
        }
    }
}

/// Reads what the plain client sent (within the deadline and a size), answers 400, closes.
async fn answer_plain(mut stream: TcpStream, deadline: Instant) {
    let mut buf = vec![0u8; PLAIN_REQUEST_BYTES];
    let mut read = 0;
    while read < buf.len() {
        match timeout_at(deadline, stream.read(&mut buf[read..])).await {
            Ok(Ok(n)) if n > 0 => read += n,
            _ => break,
        }
        if buf[..read].windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
    }
    // Then what is left of the request, until the client closes (a second at most): closing
    // on unread bytes would reset the connection, and the answer with it.
    let answer = async {
        stream.write_all(PLAIN_ANSWER).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        Ok::<_, std::io::Error>(())
    };
    let _ = tokio::time::timeout(Duration::from_secs(1), answer).await;
}

#[cfg(test)]
mod tests {
    use super::PLAIN_ANSWER;

    #[test]
    fn the_plain_answer_says_its_length_right() {
        let text = std::str::from_utf8(PLAIN_ANSWER).unwrap();
        let (head, body) = text.split_once("\r\n\r\n").unwrap();
        assert!(
            head.ends_with(&format!("content-length: {}", body.len())),
            "{head}"
        );
    }
}
