//! kafka_log: what librdkafka says, sorted before it reaches the log. Left alone it repeats
//! itself several times a second while a broker is away (`AllBrokersDown`, `1/1 brokers are
//! down`, a failed connect per retry); the outage is told by [`crate::outage`] instead. So:
//! errors that only mean "cannot reach the brokers" go to debug; any other error or warning
//! is logged at its level the first time it is seen in [`REPEAT_WINDOW`], at debug after.
//! (rdkafka's own "Ignored event 'Error' on base producer poll" repeats the same error event
//! once more; the log filter in main.rs keeps it at debug.)

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use rdkafka::config::RDKafkaLogLevel;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};

/// A line said within this long of the same one is not new.
pub const REPEAT_WINDOW: Duration = Duration::from_secs(600);

/// Remembers what was said when, to tell new lines from repeats.
#[derive(Debug, Default)]
pub struct KafkaLog {
    seen: Mutex<HashMap<String, Instant>>,
}

impl KafkaLog {
    /// librdkafka's error callback (a client-wide error, not one record's).
    pub fn error(&self, error: &KafkaError, reason: &str) {
        if is_unreachable(error) || !self.is_new(&format!("error {error}"), Instant::now()) {
            tracing::debug!(target: "librdkafka", error = %error, "{reason}");
        } else {
            tracing::error!(target: "librdkafka", error = %error, "{reason}");
        }
    }

    /// librdkafka's log callback: `facility` is its subsystem (`FAIL`, `CONFWARN`, ...).
    pub fn log(&self, level: RDKafkaLogLevel, facility: &str, message: &str) {
        use RDKafkaLogLevel::*;
        let warn = matches!(level, Emerg | Alert | Critical | Error | Warning);
        if warn && self.is_new(&format!("log {facility}"), Instant::now()) {
            tracing::warn!(target: "librdkafka", facility, "{message}");
        } else {
            tracing::debug!(target: "librdkafka", facility, "{message}");
        }
    }

    /// Whether `key` was not seen within [`REPEAT_WINDOW`] before `now`; remembers it.
    fn is_new(&self, key: &str, now: Instant) -> bool {
        let Ok(mut seen) = self.seen.lock() else {
            return true;
        };
        seen.retain(|_, at| now.saturating_duration_since(*at) < REPEAT_WINDOW);
        if seen.contains_key(key) {
            return false;
        }
        seen.insert(key.to_owned(), now);
        true
    }
}

/// The errors that only say the brokers cannot be reached now.
fn is_unreachable(e: &KafkaError) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        e.rdkafka_error_code(),
        Some(
            AllBrokersDown
                | BrokerTransportFailure
                | Resolve
                | BrokerNotAvailable
                | NetworkException
                | RequestTimedOut
                | OperationTimedOut
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_is_new_once_per_window() {
        let log = KafkaLog::default();
        let t0 = Instant::now();
        assert!(log.is_new("log FAIL", t0));
        assert!(!log.is_new("log FAIL", t0 + Duration::from_secs(30)));
        assert!(log.is_new("log CONFWARN", t0 + Duration::from_secs(30)));
        assert!(log.is_new("log FAIL", t0 + REPEAT_WINDOW + Duration::from_secs(1)));
    }

    #[test]
    fn unreachable_brokers_are_not_news() {
        let down = KafkaError::Global(RDKafkaErrorCode::AllBrokersDown);
        assert!(is_unreachable(&down));
        let denied = KafkaError::Global(RDKafkaErrorCode::TopicAuthorizationFailed);
        assert!(!is_unreachable(&denied));
    }
}
