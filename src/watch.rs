//! A file the bridge re-reads while it runs (a token file, a TLS certificate): polled every
//! couple of seconds by content, so an edit in place, a rename over it and a Kubernetes
//! secret's atomic symlink swap (`..data` repointed) all count as a change, whatever the
//! timestamps say. Polling rather than inotify: a watch on a symlinked path misses the swap
//! of the link's target, and a few small reads every two seconds cost nothing.
//!
//! ```ignore
//! let watch = FileWatch::new(path, Some(&bytes_read_at_start));
//! let task = watch::spawn(watch, watch::INTERVAL, move |change| match change {
//!     Change::Content(bytes) => { /* parse, swap in, or keep the old and complain */ }
//!     Change::Failed(error) => { /* keep the old, complain once */ }
//! });
//! ```
//!
//! A change is reported once: the same content, or the same failure, read again is silent.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// How often a watched file is read.
pub const INTERVAL: Duration = Duration::from_secs(2);

/// Larger files are a mistake (a wrong path), not a secret: reported as a failure.
pub const MAX_BYTES: u64 = 1 << 20;

/// What a poll found different from the last one.
#[derive(Debug)]
pub enum Change {
    /// The file reads, with other bytes than last time (or it read after failing).
    Content(Vec<u8>),
    /// The file cannot be read (missing, a directory, too large, an I/O error), or fails
    /// differently than last time.
    Failed(std::io::Error),
}

/// What the last poll saw: a digest of the content, or the failure's text.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Seen {
    Content([u8; 32]),
    Failed(String),
}

/// One watched path; [`FileWatch::poll`] is a blocking read.
#[derive(Debug)]
pub struct FileWatch {
    path: PathBuf,
    last: Option<Seen>,
}

impl FileWatch {
    /// `initial`: the bytes already read at start, so that an unchanged file reports nothing.
    pub fn new(path: impl Into<PathBuf>, initial: Option<&[u8]>) -> Self {
        FileWatch {
            path: path.into(),
            last: initial.map(|bytes| Seen::Content(digest(bytes))),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file now; `Some` when it differs from the last poll.
    pub fn poll(&mut self) -> Option<Change> {
        let (seen, change) = match read_capped(&self.path) {
            Ok(bytes) => (Seen::Content(digest(&bytes)), Change::Content(bytes)),
            Err(e) => (Seen::Failed(e.to_string()), Change::Failed(e)),
        };
        if self.last.as_ref() == Some(&seen) {
            return None;
        }
        self.last = Some(seen);
        Some(change)
    }
}

/// Polls `watch` every `interval` on the blocking pool, handing each change to `on_change`,
/// until the task is aborted or the runtime stops.
pub fn spawn(
    mut watch: FileWatch,
    interval: Duration,
    mut on_change: impl FnMut(Change) + Send + 'static,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await; // the first tick is immediate: the caller has just read the file
        loop {
            ticks.tick().await;
            let polled = tokio::task::spawn_blocking(move || {
                let change = watch.poll();
                (watch, change)
            })
            .await;
            let Ok((back, change)) = polled else { return };
            watch = back;
            if let Some(change) = change {
                on_change(change);
            }
        }
    })
}

fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than {MAX_BYTES} bytes"),
        ));
    }
    Ok(bytes)
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(c: Option<Change>) -> Option<Vec<u8>> {
        match c {
            Some(Change::Content(b)) => Some(b),
            other => panic!("expected content, got {other:?}"),
        }
    }

    #[test]
    fn reports_each_change_once_and_a_return_after_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, "a").unwrap();
        let mut w = FileWatch::new(&path, Some(b"a"));
        assert!(w.poll().is_none(), "unchanged since start");
        std::fs::write(&path, "b").unwrap();
        assert_eq!(content(w.poll()).unwrap(), b"b");
        assert!(w.poll().is_none());
        std::fs::remove_file(&path).unwrap();
        assert!(matches!(w.poll(), Some(Change::Failed(_))));
        assert!(w.poll().is_none(), "the same failure is reported once");
        std::fs::create_dir(&path).unwrap();
        assert!(matches!(w.poll(), Some(Change::Failed(_))), "another failure");
        std::fs::remove_dir(&path).unwrap();
        std::fs::write(&path, "b").unwrap();
        assert_eq!(content(w.poll()).unwrap(), b"b", "back, even with the same bytes");
    }

    #[test]
    fn a_symlink_swap_is_a_change() {
        // What kubelet does: <dir>/f -> ..data/f, ..data -> ..v1; then ..data -> ..v2 by rename.
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for (v, text) in [("..v1", "one"), ("..v2", "two")] {
            std::fs::create_dir(d.join(v)).unwrap();
            std::fs::write(d.join(v).join("f"), text).unwrap();
        }
        std::os::unix::fs::symlink("..v1", d.join("..data")).unwrap();
        std::os::unix::fs::symlink("..data/f", d.join("f")).unwrap();
        let mut w = FileWatch::new(d.join("f"), Some(b"one"));
        assert!(w.poll().is_none());
        std::os::unix::fs::symlink("..v2", d.join("..data_tmp")).unwrap();
        std::fs::rename(d.join("..data_tmp"), d.join("..data")).unwrap();
        assert_eq!(content(w.poll()).unwrap(), b"two");
    }

    #[test]
    fn a_huge_file_is_a_failure() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        std::fs::write(&path, vec![b'x'; MAX_BYTES as usize + 1]).unwrap();
        assert!(matches!(
            FileWatch::new(&path, None).poll(),
            Some(Change::Failed(_))
        ));
    }
}
