//! The TRTC events accepted in the last few minutes, by `event_id`. TRTC resends a callback it
//! thinks failed (at once, then every 10 s for a minute); answering such a retry 200 without
//! publishing it again keeps one replica from writing one event twice. Bounded in time and in
//! size: past either bound the oldest ids are forgotten, and consumers still drop duplicates by
//! `event_id` themselves.

use std::collections::{HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// How long an accepted event is remembered: TRTC stops retrying one minute after the first try.
pub const WINDOW: Duration = Duration::from_secs(300);
/// Most ids remembered at once (about 100 bytes each).
pub const MAX_IDS: usize = 100_000;

#[derive(Debug)]
pub struct Recent {
    window: Duration,
    max: usize,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    ids: HashSet<String>,
    order: VecDeque<(Instant, String)>,
}

impl Default for Recent {
    fn default() -> Self {
        Recent::new(WINDOW, MAX_IDS)
    }
}

impl Recent {
    pub fn new(window: Duration, max: usize) -> Self {
        Recent {
            window,
            max: max.max(1),
            inner: Mutex::default(),
        }
    }

    /// Whether `id` was accepted within the window.
    pub fn contains(&self, id: &str) -> bool {
        let mut inner = self.lock();
        self.expire(&mut inner, Instant::now());
        inner.ids.contains(id)
    }

    /// Remembers an accepted event.
    pub fn insert(&self, id: &str) {
        let now = Instant::now();
        let mut inner = self.lock();
        self.expire(&mut inner, now);
        if inner.ids.insert(id.to_owned()) {
            inner.order.push_back((now, id.to_owned()));
        }
        while inner.order.len() > self.max {
            if let Some((_, old)) = inner.order.pop_front() {
                inner.ids.remove(&old);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding it leaves only a set of ids: still usable.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn expire(&self, inner: &mut Inner, now: Instant) {
        while let Some((at, _)) = inner.order.front() {
            if now.duration_since(*at) < self.window {
                break;
            }
            if let Some((_, old)) = inner.order.pop_front() {
                inner.ids.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembers_within_the_window_and_the_bound() {
        let r = Recent::new(Duration::from_secs(60), 2);
        r.insert("a");
        assert!(r.contains("a") && !r.contains("b"));
        r.insert("b");
        r.insert("c");
        assert!(!r.contains("a") && r.contains("b") && r.contains("c"));
        let r = Recent::new(Duration::ZERO, 10);
        r.insert("a");
        assert!(!r.contains("a"));
    }
}
