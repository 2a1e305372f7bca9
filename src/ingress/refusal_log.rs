//! At most [`PER_SECOND`] "callback refused" lines a second. A flood of bad requests (a
//! scanner, a misconfigured sender) would otherwise write one line each — 59 000 lines in a
//! minute of `benches/hostile.sh` — drowning the log and costing disk and CPU. The metrics
//! still count every refusal; the lines left out are counted in one line a second later.

use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const PER_SECOND: u32 = 20;

#[derive(Debug)]
struct Window {
    started: Instant,
    logged: u32,
    left_out: u64,
}

#[derive(Debug)]
pub struct RefusalLog {
    window: Mutex<Window>,
}

impl Default for RefusalLog {
    fn default() -> Self {
        RefusalLog {
            window: Mutex::new(Window {
                started: Instant::now(),
                logged: 0,
                left_out: 0,
            }),
        }
    }
}

impl RefusalLog {
    /// Whether this refusal may be logged now. When a new second begins, first reports how
    /// many the last one left out.
    pub fn admit(&self) -> bool {
        self.admit_at(Instant::now())
    }

    fn admit_at(&self, now: Instant) -> bool {
        let Ok(mut w) = self.window.lock() else {
            return true;
        };
        if now.duration_since(w.started) >= Duration::from_secs(1) {
            if w.left_out > 0 {
                tracing::warn!(
                    left_out = w.left_out,
                    "more callbacks were refused than are logged ({PER_SECOND} a second); \
                     tencent_bridge_callbacks_total counts them all"
                );
            }
            *w = Window {
                started: now,
                logged: 0,
                left_out: 0,
            };
        }
        if w.logged < PER_SECOND {
            w.logged += 1;
            true
        } else {
            w.left_out += 1;
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_per_second_then_a_new_window() {
        let log = RefusalLog::default();
        let t0 = Instant::now();
        let admitted = (0..100).filter(|_| log.admit_at(t0)).count();
        assert_eq!(admitted, PER_SECOND as usize);
        assert!(log.admit_at(t0 + Duration::from_millis(1001)));
        assert_eq!(log.window.lock().unwrap().left_out, 0);
    }
}
