//! The wall clock, in the milliseconds every record and event carries. At the bottom: the
//! pipeline, the spool drain, health, metrics and the tools all read it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch; 0 if the clock is before it.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// 9999-12-31T23:59:59.999Z, the last instant RFC 3339 (and humantime, whose Display fails
/// past it) can write. Times from outside (`EventTime`, a record's `received_at_ms`) are the
/// sender's to choose, so later ones are clamped.
const MAX_RFC3339_MS: i64 = 253_402_300_799_999;

/// `2026-11-29T15:04:05.123Z`; before the epoch reads as the epoch.
pub fn rfc3339_ms(ms: i64) -> String {
    let t = UNIX_EPOCH + Duration::from_millis(u64::try_from(ms.min(MAX_RFC3339_MS)).unwrap_or(0));
    humantime::format_rfc3339_millis(t).to_string()
}
