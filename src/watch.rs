//! Files that may change under a running bridge (a certificate renewed by cert-manager or
//! certbot, a rotated secret): polled, not watched with inotify. Kubernetes updates a
//! mounted secret by swapping a `..data` symlink, which inotify on the file itself misses;
//! reading the files' contents every couple of seconds sees every kind of swap, costs a few
//! small reads, and needs no dependency.

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

/// How often [`Watched`] files are read by their owners' loops.
pub const POLL_INTERVAL: Duration = Duration::from_secs(2);

/// A set of files and the digest of their contents when last looked at.
#[derive(Debug)]
pub struct Watched {
    paths: Vec<PathBuf>,
    seen: [u8; 32],
}

impl Watched {
    /// Starts from the files as they are now: only a later change counts.
    pub fn new(paths: Vec<PathBuf>) -> Self {
        let seen = digest(&paths);
        Watched { paths, seen }
    }

    /// Whether any file's contents differ from the last call's (or from the start). A file
    /// that cannot be read counts as a content of its own: its coming back is a change too.
    pub fn changed(&mut self) -> bool {
        let now = digest(&self.paths);
        if now == self.seen {
            return false;
        }
        self.seen = now;
        true
    }
}

fn digest(paths: &[PathBuf]) -> [u8; 32] {
    let mut hash = Sha256::new();
    for path in paths {
        match std::fs::read(path) {
            Ok(bytes) => {
                hash.update((bytes.len() as u64).to_le_bytes());
                hash.update(&bytes);
            }
            Err(e) => hash.update(format!("unreadable: {:?}", e.kind())),
        }
    }
    hash.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swap_of_contents_is_a_change_and_a_rewrite_of_the_same_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let (a, b) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&a, "one").unwrap();
        std::fs::write(&b, "two").unwrap();
        let mut w = Watched::new(vec![a.clone(), b.clone()]);
        assert!(!w.changed());
        std::fs::write(&a, "one").unwrap();
        assert!(!w.changed(), "same contents");
        // Kubernetes' way: a new directory, and a symlink swapped onto it.
        let new = dir.path().join("new");
        std::fs::create_dir(&new).unwrap();
        std::fs::write(new.join("b"), "three").unwrap();
        std::fs::remove_file(&b).unwrap();
        std::os::unix::fs::symlink(new.join("b"), &b).unwrap();
        assert!(w.changed());
        assert!(!w.changed());
        std::fs::remove_file(&a).unwrap();
        assert!(w.changed(), "gone is a change");
    }
}
