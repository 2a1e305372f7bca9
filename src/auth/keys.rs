//! The tokens the checks accept right now. Each token source (a file, or `--auth-token`) is
//! one [`KeySet`], shared by every app it serves and swapped whole when its file changes; a
//! check takes a read lock only long enough to clone an `Arc`. Each app counts which position
//! of its set signed, so an operator sees the old token fall out of use before removing it.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};

/// The names of the positions a metric reports; a token beyond them counts as `later`.
pub const POSITIONS: [&str; 10] = [
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
];

/// `first`, `second`, ... `tenth`, then `later`.
pub fn position_name(index: usize) -> &'static str {
    POSITIONS.get(index).copied().unwrap_or("later")
}

/// One source's tokens, as bytes, in the file's order.
pub type Tokens = Arc<Vec<Vec<u8>>>;

/// The tokens of one source, and how its re-reading goes.
pub struct KeySet {
    /// The file path, or the flag: what logs and metrics call this source. Never a token.
    pub label: String,
    /// The file to watch; `None` for `--auth-token`.
    pub path: Option<std::path::PathBuf>,
    tokens: RwLock<Tokens>,
    reloads: AtomicU64,
    failing: AtomicBool,
}

impl KeySet {
    pub fn new(label: String, path: Option<std::path::PathBuf>, tokens: &[String]) -> Self {
        KeySet {
            label,
            path,
            tokens: RwLock::new(as_bytes(tokens)),
            reloads: AtomicU64::new(0),
            failing: AtomicBool::new(false),
        }
    }

    /// The tokens now (a poisoned lock still holds a whole set: the swap is one assignment).
    pub fn current(&self) -> Tokens {
        match self.tokens.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    pub fn len(&self) -> usize {
        self.current().len()
    }

    /// Never true once built from a validated configuration: an empty file is not taken in.
    pub fn is_empty(&self) -> bool {
        self.current().is_empty()
    }

    /// Takes a new, non-empty set of tokens in; counted as a reload, and the file as healthy.
    pub fn replace(&self, tokens: &[String]) {
        let tokens = as_bytes(tokens);
        match self.tokens.write() {
            Ok(mut guard) => *guard = tokens,
            Err(poisoned) => *poisoned.into_inner() = tokens,
        }
        self.reloads.fetch_add(1, Ordering::Relaxed);
        self.failing.store(false, Ordering::Relaxed);
    }

    /// The file cannot be used now: the tokens stay as they are.
    pub fn set_failing(&self) {
        self.failing.store(true, Ordering::Relaxed);
    }

    pub fn failing(&self) -> bool {
        self.failing.load(Ordering::Relaxed)
    }

    /// Successful re-reads since start.
    pub fn reloads(&self) -> u64 {
        self.reloads.load(Ordering::Relaxed)
    }

    /// The position of the first token `signs` accepts. Every token is tried, whichever
    /// matches, so the time taken tells nothing of which one did; each comparison is the
    /// caller's, in constant time.
    pub fn position(&self, signs: impl Fn(&[u8]) -> bool) -> Option<usize> {
        let mut found = None;
        for (i, token) in self.current().iter().enumerate() {
            let ok = signs(token);
            if ok && found.is_none() {
                found = Some(i);
            }
        }
        found
    }
}

/// Never the tokens: a set shows where it comes from and how many it holds.
impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("label", &self.label)
            .field("tokens", &self.len())
            .finish_non_exhaustive()
    }
}

fn as_bytes(tokens: &[String]) -> Tokens {
    Arc::new(tokens.iter().map(|t| t.as_bytes().to_vec()).collect())
}

/// How many callbacks each position of a set signed, for one app.
#[derive(Debug, Default)]
pub struct Used {
    counts: [AtomicU64; POSITIONS.len() + 1],
}

impl Used {
    pub fn record(&self, index: usize) {
        let slot = index.min(POSITIONS.len());
        if let Some(c) = self.counts.get(slot) {
            c.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// `(position, count)` for the positions the set holds now (`held`) and any that signed.
    pub fn snapshot(&self, held: usize) -> Vec<(&'static str, u64)> {
        self.counts
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.load(Ordering::Relaxed)))
            .filter(|&(i, n)| i < held || n > 0)
            .map(|(i, n)| (position_name(i), n))
            .collect()
    }
}

/// One app's check: its token set (`None`: unsigned) and what signed its callbacks.
#[derive(Debug)]
pub struct AppKeys {
    pub app: String,
    pub keys: Option<Arc<KeySet>>,
    pub used: Used,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_are_named_and_bounded() {
        assert_eq!(position_name(0), "first");
        assert_eq!(position_name(1), "second");
        assert_eq!(position_name(9), "tenth");
        assert_eq!(position_name(10), "later");
        assert_eq!(position_name(500), "later");
        let used = Used::default();
        used.record(1);
        used.record(1);
        used.record(42);
        assert_eq!(used.snapshot(2), [("first", 0), ("second", 2), ("later", 1)]);
    }

    #[test]
    fn a_swap_replaces_the_whole_set_and_a_failure_keeps_it() {
        let set = KeySet::new("f".into(), None, &["old".into()]);
        let is = |t: &'static str| move |k: &[u8]| k == t.as_bytes();
        assert_eq!(set.position(is("old")), Some(0));
        set.set_failing();
        assert!(set.failing());
        assert_eq!(set.position(is("old")), Some(0), "kept while the file fails");
        set.replace(&["old".into(), "new".into()]);
        assert!(!set.failing());
        assert_eq!(set.reloads(), 1);
        assert_eq!(set.position(is("new")), Some(1));
        set.replace(&["new".into()]);
        assert_eq!(set.position(is("old")), None);
        assert_eq!(set.position(is("new")), Some(0));
        assert_eq!(set.len(), 1);
    }
}
