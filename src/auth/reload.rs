//! Token and key files re-read while the bridge runs (`crate::watch` polls them): a file that
//! changes and still holds tokens replaces its set at once; one that cannot be read or holds
//! no token keeps the set it had, because refusing every callback is worse than honouring a
//! token an operator meant to withdraw a few minutes late. Each turn is logged once, with the
//! number of tokens, never a token.

use std::sync::Arc;

use super::keys::KeySet;
use super::ring::{Keyring, Scheme};
use crate::config::tokens::parse_tokens;
use crate::watch::{self, Change, FileWatch};

/// Starts re-reading every file of `ring` every `interval` (the watches end with the runtime,
/// or when the handles are aborted).
pub fn watch_files(ring: &Keyring, interval: std::time::Duration) -> Vec<tokio::task::JoinHandle<()>> {
    ring.sets()
        .filter_map(|(scheme, set)| {
            let path = set.path.clone()?;
            let set = set.clone();
            // No initial bytes: the first poll reads the file and, finding the tokens the
            // set already holds, says nothing.
            let watch = FileWatch::new(path, None);
            Some(watch::spawn(watch, interval, move |change| {
                apply(scheme, &set, change)
            }))
        })
        .collect()
}

/// One change of the file behind `set`.
pub fn apply(scheme: Scheme, set: &Arc<KeySet>, change: Change) {
    let what = match scheme {
        Scheme::Sign => "token file",
        Scheme::Trtc => "TRTC key file",
    };
    let kept = set.len();
    let tokens = match change {
        Change::Content(bytes) => parse_tokens(&String::from_utf8_lossy(&bytes)),
        Change::Failed(e) => {
            set.set_failing();
            tracing::error!(path = %set.label, error = %e, kept, "{what} cannot be read: keeping the tokens it held");
            return;
        }
    };
    if tokens.is_empty() {
        set.set_failing();
        tracing::error!(path = %set.label, kept, "{what} holds no token: keeping the tokens it held");
        return;
    }
    let same = *set.current() == tokens.iter().map(|t| t.as_bytes().to_vec()).collect::<Vec<_>>();
    if same && !set.failing() {
        return; // the first read, or only comments changed
    }
    set.replace(&tokens);
    tracing::info!(path = %set.label, tokens = tokens.len(), "{what} reloaded");
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(tokens: &[&str]) -> Arc<KeySet> {
        let tokens: Vec<String> = tokens.iter().map(|t| (*t).to_owned()).collect();
        Arc::new(KeySet::new("f".into(), None, &tokens))
    }

    fn holds(set: &KeySet, token: &str) -> bool {
        set.position(|t| t == token.as_bytes()).is_some()
    }

    #[test]
    fn a_change_swaps_an_empty_or_unreadable_file_keeps() {
        let s = set(&["old"]);
        apply(
            Scheme::Sign,
            &s,
            Change::Content(b"# comment only\nold\n".to_vec()),
        );
        assert_eq!(s.reloads(), 0, "the same tokens: nothing to do");
        apply(Scheme::Sign, &s, Change::Content(b"old\nnew\n".to_vec()));
        assert!(holds(&s, "old") && holds(&s, "new"));
        assert_eq!(s.reloads(), 1);
        apply(Scheme::Sign, &s, Change::Content(b"\n# nothing\n".to_vec()));
        assert!(s.failing() && holds(&s, "old") && holds(&s, "new"));
        apply(
            Scheme::Sign,
            &s,
            Change::Failed(std::io::ErrorKind::NotFound.into()),
        );
        assert!(s.failing() && holds(&s, "new"));
        // Back with the tokens it held: healthy again, counted as a reload.
        apply(Scheme::Sign, &s, Change::Content(b"old\nnew\n".to_vec()));
        assert!(!s.failing());
        assert_eq!(s.reloads(), 2);
        apply(Scheme::Sign, &s, Change::Content(b"new\n".to_vec()));
        assert!(!holds(&s, "old") && holds(&s, "new"));
    }
}
