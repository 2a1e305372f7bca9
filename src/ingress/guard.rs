//! Per-connection time limits, enforced on the socket itself so handlers never see them:
//! a client gets `header_read` to send a request's headers once it starts one (slowloris),
//! `keepalive_idle` of silence between requests, and a fresh connection must start its first
//! request within `header_read`. The body has its own limit in the handler.
//!
//! An EOF that arrives once a request head is in (the client shut its sending side: a
//! half-close or a hang-up) is held back from hyper until the answer is written, and told to
//! the handler through [`Hangup`]: hyper (with `half_close(false)`) would otherwise end the
//! connection and drop the request's future, and a half-closed client would get no answer.
//! With hyper's `half_close(true)` instead, hyper stops reading altogether while an answer is
//! pending, and nobody would learn that the client left.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::hangup::Hangup;

#[derive(Debug, Clone, Copy)]
pub struct Timeouts {
    pub header_read: Duration,
    pub keepalive_idle: Duration,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Waiting for the first byte of a request.
    Idle,
    /// Inside a request head; `matched` counts the bytes of `\r\n\r\n` seen so far.
    Head { matched: u8 },
    /// Head complete: the body and the answer are the handler's business.
    Rest,
}

/// A stream that fails reads with `TimedOut` when a phase's deadline passes.
pub struct Guarded<S> {
    inner: S,
    limits: Timeouts,
    phase: Phase,
    deadline: Pin<Box<Sleep>>,
    hangup: Arc<Hangup>,
    /// The client's EOF, seen during a request and not yet given to hyper.
    eof_held: bool,
}

impl<S> Guarded<S> {
    pub fn new(inner: S, limits: Timeouts, hangup: Arc<Hangup>) -> Self {
        let deadline = Box::pin(tokio::time::sleep(limits.header_read));
        Guarded {
            inner,
            limits,
            phase: Phase::Idle,
            deadline,
            hangup,
            eof_held: false,
        }
    }

    /// The client stopped sending while a request is in: hold the EOF until the answer is
    /// written ([`Guarded::wrote`] wakes the connection, which reads it then).
    fn hold_eof(&mut self) -> Poll<io::Result<()>> {
        self.eof_held = true;
        self.hangup.set();
        Poll::Pending
    }

    fn arm(&mut self, after: Duration) {
        self.deadline.as_mut().reset(Instant::now() + after);
    }

    /// An answer going out ends the request: the connection is idle until the next one.
    fn wrote(&mut self, result: &Poll<io::Result<usize>>, cx: &mut Context<'_>) {
        if matches!(result, Poll::Ready(Ok(n)) if *n > 0) && self.phase == Phase::Rest {
            self.phase = Phase::Idle;
            self.arm(self.limits.keepalive_idle);
            // The pending read was polled before this write and did not watch the deadline:
            // have the connection polled again so it does.
            cx.waker().wake_by_ref();
        }
    }

    /// Moves through the phases as request bytes arrive.
    fn saw(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let mut matched = match self.phase {
            Phase::Idle => {
                self.arm(self.limits.header_read);
                0
            }
            Phase::Head { matched } => matched,
            Phase::Rest => return,
        };
        for &b in bytes {
            matched = match (matched, b) {
                (0 | 2, b'\r') => matched + 1,
                (1 | 3, b'\n') => matched + 1,
                (_, b'\r') => 1,
                _ => 0,
            };
            if matched == 4 {
                self.phase = Phase::Rest;
                return;
            }
        }
        self.phase = Phase::Head { matched };
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Guarded<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if self.eof_held {
            return match self.phase {
                Phase::Rest => Poll::Pending,
                Phase::Idle | Phase::Head { .. } => Poll::Ready(Ok(())),
            };
        }
        let before = buf.filled().len();
        let room = buf.remaining() > 0;
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) if room && buf.filled().len() == before && self.phase == Phase::Rest => {
                self.hold_eof()
            }
            // rustls' word for a peer that closed without close_notify.
            Poll::Ready(Err(e)) if e.kind() == io::ErrorKind::UnexpectedEof && self.phase == Phase::Rest => {
                self.hold_eof()
            }
            Poll::Ready(Ok(())) => {
                let this = &mut *self;
                this.saw(&buf.filled()[before..]);
                Poll::Ready(Ok(()))
            }
            Poll::Pending if self.phase != Phase::Rest => match self.deadline.as_mut().poll(cx) {
                Poll::Ready(()) => {
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "client too slow")))
                }
                Poll::Pending => Poll::Pending,
            },
            other => other,
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Guarded<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write(cx, data);
        self.wrote(&result, cx);
        result
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let result = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&result, cx);
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn limits() -> Timeouts {
        Timeouts {
            header_read: Duration::from_millis(200),
            keepalive_idle: Duration::from_millis(400),
        }
    }

    #[test]
    fn head_end_is_found_across_reads() {
        let (a, _b) = tokio::io::duplex(64);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let _guard = rt.enter();
        let mut g = Guarded::new(a, limits(), Arc::default());
        g.saw(b"POST / HTTP/1.1\r\nhost: x\r");
        assert_eq!(g.phase, Phase::Head { matched: 1 });
        g.saw(b"\n\r");
        assert_eq!(g.phase, Phase::Head { matched: 3 });
        g.saw(b"\n{body}");
        assert_eq!(g.phase, Phase::Rest);
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_cut_after_the_header_timeout() {
        let (a, _b) = tokio::io::duplex(64);
        let mut g = Guarded::new(a, limits(), Arc::default());
        let mut buf = [0u8; 8];
        let err = g.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
    }

    #[tokio::test(start_paused = true)]
    async fn a_trickled_head_is_cut_but_a_served_connection_waits_for_keepalive_idle() {
        let (a, mut b) = tokio::io::duplex(64);
        let mut g = Guarded::new(a, limits(), Arc::default());
        b.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut buf = [0u8; 64];
        let n = g.read(&mut buf).await.unwrap();
        assert_eq!(g.phase, Phase::Rest, "{n}");
        g.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert_eq!(g.phase, Phase::Idle);
        let started = Instant::now();
        let err = g.read(&mut buf).await.unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= Duration::from_millis(400));
    }
}

#[cfg(test)]
mod eof_tests {
    use super::*;
    use std::future::poll_fn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn an_eof_after_a_request_waits_for_the_answer() {
        let (a, mut b) = tokio::io::duplex(256);
        let hangup = Arc::new(Hangup::default());
        let limits = Timeouts {
            header_read: Duration::from_secs(5),
            keepalive_idle: Duration::from_secs(5),
        };
        let mut g = Guarded::new(a, limits, hangup.clone());
        b.write_all(b"POST / HTTP/1.1\r\ncontent-length: 2\r\n\r\n{}")
            .await
            .unwrap();
        b.shutdown().await.unwrap();
        let mut buf = [0u8; 256];
        let n = g.read(&mut buf).await.unwrap();
        assert!(n > 0 && g.phase == Phase::Rest);
        let held = poll_fn(|cx| {
            let mut rb = ReadBuf::new(&mut buf);
            Poll::Ready(Pin::new(&mut g).poll_read(cx, &mut rb).is_pending())
        })
        .await;
        assert!(held, "the EOF is held while the answer is pending");
        assert!(hangup.is_closed());
        g.write_all(b"HTTP/1.1 200 OK\r\n\r\n").await.unwrap();
        assert_eq!(g.read(&mut buf).await.unwrap(), 0, "then the EOF");
    }
}
