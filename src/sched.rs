//! Thread scheduling hints. On a small machine the threads that answer callbacks (the tokio
//! worker, the spool writer) share cores with threads that only have to keep up (the spool
//! drain); the latter should not preempt the former each time they wake.

/// Marks the calling thread as background work (`SCHED_BATCH`): the same share of CPU over
/// time, but its wake-ups no longer preempt a running request. Best effort: a failure only
/// costs latency, so it is logged at debug level and ignored.
pub fn background() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for SCHED_BATCH.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_BATCH, &param) };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "cannot set SCHED_BATCH");
        }
    }
}
