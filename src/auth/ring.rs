//! Every app's token set, built once from the configuration: which set checks which app's
//! callbacks. Apps without their own `--app-token-file` share the `--auth-token-file` set; an
//! app with its own file is checked against it alone, so another app's token does not sign
//! its callbacks. The TRTC keys are one set for every app.

use std::sync::Arc;

use super::keys::{AppKeys, KeySet, Used};
use crate::config::{Config, TokenSource};

/// Which signature a set checks: the query's `Sign` (Chat, Live, Room) or TRTC's HMAC.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scheme {
    Sign,
    Trtc,
}

impl Scheme {
    pub fn as_str(self) -> &'static str {
        match self {
            Scheme::Sign => "sign",
            Scheme::Trtc => "trtc",
        }
    }
}

/// The token sets and, per app, the set that checks it and what signed.
#[derive(Debug, Default)]
pub struct Keyring {
    /// Each distinct source once, with what it checks: what `reload` watches.
    sets: Vec<(Scheme, Arc<KeySet>)>,
    apps: Vec<AppKeys>,
    trtc: Option<Arc<KeySet>>,
    trtc_apps: Vec<AppKeys>,
}

impl Keyring {
    /// From a validated configuration: the tokens read at start, the files to re-read.
    pub fn from_config(config: &Config) -> Keyring {
        let mut ring = Keyring::default();
        for app in &config.app_tokens {
            let keys = match &app.source {
                TokenSource::Unsigned => None,
                TokenSource::Flag => Some(ring.set(Scheme::Sign, "--auth-token", None, &app.tokens)),
                TokenSource::SharedFile(path) | TokenSource::OwnFile(path) => {
                    let label = path.display().to_string();
                    Some(ring.set(Scheme::Sign, &label, Some(path), &app.tokens))
                }
            };
            ring.apps.push(app_keys(&app.app, keys));
        }
        if let Some(path) = &config.trtc_key_file {
            let label = path.display().to_string();
            let set = ring.set(Scheme::Trtc, &label, Some(path), &config.trtc_keys);
            ring.trtc_apps = config
                .sdk_app_ids
                .iter()
                .map(|app| app_keys(app, Some(set.clone())))
                .collect();
            ring.trtc = Some(set);
        }
        ring
    }

    /// Every app checked against `token` (none: unsigned) and `trtc_key`, never re-read.
    pub fn fixed(app_ids: &[String], token: Option<&str>, trtc_key: Option<&str>) -> Keyring {
        let mut ring = Keyring::default();
        let tokens: Vec<String> = token.into_iter().map(str::to_owned).collect();
        let set = token.map(|_| ring.set(Scheme::Sign, "--auth-token", None, &tokens));
        ring.apps = app_ids.iter().map(|app| app_keys(app, set.clone())).collect();
        if let Some(key) = trtc_key {
            let set = ring.set(Scheme::Trtc, "--trtc-key", None, &[key.to_owned()]);
            ring.trtc_apps = app_ids
                .iter()
                .map(|app| app_keys(app, Some(set.clone())))
                .collect();
            ring.trtc = Some(set);
        }
        ring
    }

    /// The set for `label`, made on first use (two apps naming one file share it).
    fn set(
        &mut self,
        scheme: Scheme,
        label: &str,
        path: Option<&std::path::Path>,
        tokens: &[String],
    ) -> Arc<KeySet> {
        if let Some((_, set)) = self.sets.iter().find(|(s, k)| *s == scheme && k.label == label) {
            return set.clone();
        }
        let set = Arc::new(KeySet::new(label.to_owned(), path.map(Into::into), tokens));
        self.sets.push((scheme, set.clone()));
        set
    }

    /// The app's check for `Sign`, if it is one of ours.
    pub fn app(&self, id: &str) -> Option<&AppKeys> {
        self.apps.iter().find(|a| a.app == id)
    }

    pub fn trtc_keys(&self) -> Option<&Arc<KeySet>> {
        self.trtc.as_ref()
    }

    /// The app's TRTC check, if it is one of ours.
    pub fn trtc_app(&self, id: &str) -> Option<&AppKeys> {
        self.trtc_apps.iter().find(|a| a.app == id)
    }

    /// Each source once, with the signature it checks.
    pub fn sets(&self) -> impl Iterator<Item = (Scheme, &Arc<KeySet>)> {
        self.sets.iter().map(|(s, k)| (*s, k))
    }

    /// Each app's check, per scheme: what the metrics report.
    pub fn apps(&self) -> impl Iterator<Item = (Scheme, &AppKeys)> {
        let sign = self.apps.iter().map(|a| (Scheme::Sign, a));
        sign.chain(self.trtc_apps.iter().map(|a| (Scheme::Trtc, a)))
    }
}

fn app_keys(app: &str, keys: Option<Arc<KeySet>>) -> AppKeys {
    AppKeys {
        app: app.to_owned(),
        keys,
        used: Used::default(),
    }
}
