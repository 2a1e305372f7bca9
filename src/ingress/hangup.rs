//! A sender that hangs up before its answer does not take its callback with it. Tencent (or
//! a proxy that saw Tencent give up) may close the connection while a callback it sent in full
//! is still being kept; Tencent then counts it as failed and never sends it again, so the copy
//! that did arrive is the only one. Hence the processing of a callback read in full runs in a
//! task of its own ([`detach`]) and the HTTP handler only waits for its answer.
//!
//! Why a task: hyper drops a request's future when its connection ends, and with hyper's
//! default (`http1::Builder::half_close(false)`) an EOF read while an answer is pending ends
//! the connection: a client that shut only its sending side (a half-close, legal in HTTP/1.1)
//! lost its callback and never got its answer. The socket guard now hides such an EOF from
//! hyper until the answer is written ([`Hangup`] tells the handler), so a half-closed
//! connection is answered; the task keeps the processing safe from every other way a
//! connection can end under it.

use std::future::Future;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::{oneshot, Notify, OwnedSemaphorePermit};

use crate::metrics::Metrics;

/// Set when the client closed its sending side while a request was in: a half-close, or a
/// hang-up (the two cannot be told apart before writing). Once per connection.
#[derive(Debug, Default)]
pub struct Hangup {
    closed: AtomicBool,
    notify: Notify,
}

impl Hangup {
    pub fn set(&self) {
        self.closed.store(true, Ordering::Release);
        self.notify.notify_waiters();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    /// Resolves once [`Hangup::set`] was called (at once if it was).
    pub async fn closed(&self) {
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        if self.is_closed() {
            return;
        }
        notified.await;
    }
}

/// What one connection's requests share: whether its client left, and its place under
/// `--max-connections`, held by the connection and by every callback still being processed
/// for it: a client that hangs up does not free the place before its callback is kept.
#[derive(Debug, Clone)]
pub struct Conn {
    pub hangup: Arc<Hangup>,
    pub slot: Arc<OwnedSemaphorePermit>,
}

/// Which callback path a detached callback came in on (a metric label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Path {
    Callback,
    Trtc,
}

impl Path {
    pub fn label(self) -> &'static str {
        match self {
            Path::Callback => "callback",
            Path::Trtc => "trtc",
        }
    }
}

/// Runs `work` to its end in its own task and returns its answer, or `None` when the task
/// could not finish (the runtime is stopping). When the client had left before the answer
/// was ready, the callback is counted (and logged within [`HangupLog`]'s limit).
pub async fn detach<T: Send + 'static>(
    conn: &Conn,
    metrics: &Arc<Metrics>,
    log: &Arc<HangupLog>,
    path: Path,
    work: impl Future<Output = T> + Send + 'static,
) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    let slot = conn.slot.clone();
    let (task_metrics, task_log) = (metrics.clone(), log.clone());
    tokio::spawn(async move {
        let answer = work.await;
        // The handler is gone: its connection ended while this was being kept.
        if tx.send(answer).is_err() {
            task_log.record(&task_metrics, path);
        }
        drop(slot);
    });
    let answer = rx.await.ok()?;
    if conn.hangup.is_closed() {
        log.record(metrics, path);
    }
    Some(answer)
}

/// Between two log lines about callbacks completed after a hang-up.
pub const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// At most one line a [`LOG_INTERVAL`], with the count since the last one: a proxy that
/// aborts thousands of requests would otherwise write a line each.
#[derive(Debug, Default)]
pub struct HangupLog {
    unlogged: AtomicU64,
    last: Mutex<Option<Instant>>,
    flush_scheduled: AtomicBool,
}

impl HangupLog {
    /// Counts one callback completed after its sender left; logs now or schedules the line.
    pub fn record(self: &Arc<Self>, metrics: &Metrics, path: Path) {
        metrics.ingress.completed_after_hangup(path.label());
        self.unlogged.fetch_add(1, Ordering::Relaxed);
        let now = Instant::now();
        let wait = match self.last.lock() {
            Ok(last) => last.map_or(Duration::ZERO, |t| {
                (t + LOG_INTERVAL).saturating_duration_since(now)
            }),
            Err(_) => Duration::ZERO,
        };
        if wait.is_zero() {
            self.flush(now);
        } else if !self.flush_scheduled.swap(true, Ordering::AcqRel) {
            let log = self.clone();
            tokio::spawn(async move {
                tokio::time::sleep(wait).await;
                log.flush_scheduled.store(false, Ordering::Release);
                log.flush(Instant::now());
            });
        }
    }

    fn flush(&self, now: Instant) {
        let count = self.unlogged.swap(0, Ordering::Relaxed);
        if count == 0 {
            return;
        }
        if let Ok(mut last) = self.last.lock() {
            *last = Some(now);
        }
        tracing::warn!(
            count,
            "callbacks kept although their sender hung up before the answer (a sender's timeout, \
             or a proxy that closed upstream): each was processed in full; the sender may count \
             it as failed. tencent_bridge_callbacks_completed_after_hangup_total counts them all"
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn closed_resolves_whether_set_before_or_after() {
        let h = Arc::new(Hangup::default());
        let waiter = tokio::spawn({
            let h = h.clone();
            async move { h.closed().await }
        });
        tokio::task::yield_now().await;
        h.set();
        tokio::time::timeout(Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
        tokio::time::timeout(Duration::from_secs(5), h.closed())
            .await
            .unwrap();
        assert!(h.is_closed());
    }

    #[tokio::test]
    async fn work_goes_on_when_the_handler_is_dropped_and_holds_the_place_until_done() {
        let metrics = Metrics::new(&crate::route::Topics::new("t."));
        let log = Arc::new(HangupLog::default());
        let places = Arc::new(tokio::sync::Semaphore::new(1));
        let conn = Conn {
            hangup: Arc::default(),
            slot: Arc::new(places.clone().try_acquire_owned().unwrap()),
        };
        let (release, released) = oneshot::channel::<()>();
        let (done_tx, done) = oneshot::channel::<()>();
        let work = async move {
            let _ = released.await;
            let _ = done_tx.send(());
        };
        {
            let handler = detach(&conn, &metrics, &log, Path::Callback, work);
            tokio::pin!(handler);
            // The connection goes: hyper drops the handler's future mid-way.
            assert!(futures_poll_once(handler.as_mut()).await.is_none());
        }
        drop(conn);
        assert_eq!(
            places.available_permits(),
            0,
            "the callback still holds its place"
        );
        release.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), done)
            .await
            .unwrap()
            .unwrap();
        let _place = tokio::time::timeout(Duration::from_secs(5), places.acquire())
            .await
            .unwrap()
            .unwrap();
        let text = metrics.render(&crate::metrics::Readings::default());
        assert!(
            text.contains(r#"tencent_bridge_callbacks_completed_after_hangup_total{path="callback"} 1"#),
            "{text}"
        );
    }

    /// Polls once: `Some` if ready.
    async fn futures_poll_once<F: Future + Unpin>(f: F) -> Option<F::Output> {
        let mut f = f;
        std::future::poll_fn(|cx| {
            std::task::Poll::Ready(match std::pin::Pin::new(&mut f).poll(cx) {
                std::task::Poll::Ready(v) => Some(v),
                std::task::Poll::Pending => None,
            })
        })
        .await
    }

    #[tokio::test(start_paused = true)]
    async fn one_line_a_minute_with_the_count() {
        let metrics = Metrics::new(&crate::route::Topics::new("t."));
        let log = Arc::new(HangupLog::default());
        log.record(&metrics, Path::Callback);
        assert_eq!(
            log.unlogged.load(Ordering::Relaxed),
            0,
            "the first is logged at once"
        );
        for _ in 0..5 {
            log.record(&metrics, Path::Trtc);
        }
        assert_eq!(log.unlogged.load(Ordering::Relaxed), 5, "held for the next line");
        assert!(log.flush_scheduled.load(Ordering::Acquire));
        tokio::time::sleep(LOG_INTERVAL + Duration::from_secs(1)).await;
        assert_eq!(log.unlogged.load(Ordering::Relaxed), 0, "logged a minute later");
        let text = metrics.render(&crate::metrics::Readings::default());
        assert!(
            text.contains(r#"tencent_bridge_callbacks_completed_after_hangup_total{path="trtc"} 5"#),
            "{text}"
        );
    }
}
