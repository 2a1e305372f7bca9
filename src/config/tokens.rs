//! Which tokens sign each app's callbacks, as configured: `--auth-token[-file]` for every app,
//! `--app-token-file SDKAPPID=PATH` for one, and the TRTC key file. A token file holds one or
//! more tokens, so a rotation can run with the old and the new one both valid. The files are
//! read once at start by `Config::validate` (a missing or empty one is a configuration error,
//! exit 2); the bridge re-reads them while it runs (`auth::reload`), with the same
//! [`parse_tokens`]. A child of `config` that imports nothing of it (a leaf).

use std::path::{Path, PathBuf};

/// The tokens of a token file, in the file's order: one a line, surrounding whitespace
/// ignored, blank lines and lines starting with `#` skipped. Duplicates are kept (a position
/// means the same line to the operator reading the metric).
pub fn parse_tokens(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// Where an app's tokens come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenSource {
    /// No token: signatures not checked (only with `--allow-unsigned`).
    Unsigned,
    /// `--auth-token`: one token, fixed for the life of the process.
    Flag,
    /// `--auth-token-file`, shared by every app without its own file.
    SharedFile(PathBuf),
    /// `--app-token-file SDKAPPID=PATH`.
    OwnFile(PathBuf),
}

impl TokenSource {
    /// The file to watch, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            TokenSource::SharedFile(p) | TokenSource::OwnFile(p) => Some(p),
            TokenSource::Unsigned | TokenSource::Flag => None,
        }
    }
}

/// One configured app's signature check: where its tokens come from and those read at start.
#[derive(Clone, PartialEq, Eq)]
pub struct AppTokens {
    pub app: String,
    pub source: TokenSource,
    pub tokens: Vec<String>,
}

/// Never the tokens (`Config` is `Debug`).
impl std::fmt::Debug for AppTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppTokens")
            .field("app", &self.app)
            .field("source", &self.source)
            .field("tokens", &self.tokens.len())
            .finish()
    }
}

impl std::fmt::Display for AppTokens {
    /// `2 tokens, from --app-token-file /run/secrets/b` (never the tokens).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let n = self.tokens.len();
        let count = format!("{n} token{}", if n == 1 { "" } else { "s" });
        match &self.source {
            TokenSource::Unsigned => write!(f, "unsigned (--allow-unsigned)"),
            TokenSource::Flag => write!(f, "{count}, from --auth-token"),
            TokenSource::SharedFile(p) => write!(f, "{count}, from --auth-token-file {}", p.display()),
            TokenSource::OwnFile(p) => write!(f, "{count}, from --app-token-file {}", p.display()),
        }
    }
}

/// `SDKAPPID=PATH`.
pub fn parse_app_token_file(s: &str) -> Result<(String, PathBuf), String> {
    match s.split_once('=') {
        Some((app, path)) if !app.trim().is_empty() && !path.trim().is_empty() => {
            Ok((app.trim().to_owned(), PathBuf::from(path.trim())))
        }
        _ => Err(format!("{s:?} is not SDKAPPID=PATH")),
    }
}

/// check-config's lines: per app, how many tokens it holds and from where; the TRTC keys.
pub fn describe(apps: &[AppTokens], trtc: Option<(&Path, usize)>) -> String {
    let mut out =
        String::from("# signature check per app (token files are re-read while the bridge runs):\n");
    for app in apps {
        out.push_str(&format!("#   {}: {app}\n", app.app));
    }
    if let Some((path, n)) = trtc {
        let s = if n == 1 { "" } else { "s" };
        out.push_str(&format!(
            "#   TRTC: {n} key{s}, from --trtc-key-file {}\n",
            path.display()
        ));
    }
    out
}

/// check-config's `[app-token-file]` table: the paths, never the tokens.
pub fn describe_files(files: &[(String, PathBuf)]) -> String {
    if files.is_empty() {
        return String::new();
    }
    let mut out = String::from("\n[app-token-file]\n");
    for (app, path) in files {
        out.push_str(&format!("{app:?} = {:?}\n", path.display().to_string()));
    }
    out
}
