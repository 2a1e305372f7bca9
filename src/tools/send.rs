//! `send`: act as Tencent. POSTs one callback to a bridge, signed like Tencent when given a
//! token, and reports the answer — the operator's end-to-end proof of a deployment. With a TRTC
//! key it acts as TRTC: no query string, headers `SdkAppId` and `Sign` (HMAC of the body).

use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use clap::Args;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::auth::{sign_hex, trtc_sign};

#[derive(Debug, Args)]
pub struct SendArgs {
    /// The bridge's callback URL (plain http).
    #[arg(
        long,
        env = "BRIDGE_SEND_URL",
        default_value = "http://127.0.0.1:8080/callback"
    )]
    pub url: String,
    /// SdkAppid to send.
    #[arg(long = "sdk-app-id", env = "BRIDGE_SEND_SDK_APP_ID")]
    pub sdk_app_id: String,
    /// Sign like Tencent with this token (RequestTime = now).
    #[arg(long, env = "BRIDGE_AUTH_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file (a mounted secret, the bridge's own token file): its
    /// first token (one a line, blank lines and `#` comments ignored).
    #[arg(long, env = "BRIDGE_AUTH_TOKEN_FILE", conflicts_with = "token")]
    pub token_file: Option<PathBuf>,
    /// Act as TRTC instead: sign the body with this TRTC key (headers SdkAppId and Sign, no
    /// query string). Point --url at the bridge's TRTC path.
    #[arg(long, env = "BRIDGE_TRTC_KEY", hide_env_values = true)]
    pub trtc_key: Option<String>,
    /// Read the TRTC key from this file (its first key, like --token-file).
    #[arg(long, env = "BRIDGE_TRTC_KEY_FILE", conflicts_with = "trtc_key")]
    pub trtc_key_file: Option<PathBuf>,
    /// A built-in callback: live, live-kicked, group, room-enter, room-leave, group-join,
    /// group-exit, user-login, group-create, group-destroy, live-create, live-destroy,
    /// room-create, room-destroy; TRTC (with a TRTC key): trtc-enter, trtc-exit, trtc-video.
    #[arg(long, conflicts_with_all = ["command", "body"], required_unless_present = "command")]
    pub sample: Option<String>,
    /// CallbackCommand for --body.
    #[arg(long, requires = "body")]
    pub command: Option<String>,
    /// A file holding the JSON body to send.
    #[arg(long, requires = "command")]
    pub body: Option<PathBuf>,
    #[arg(long, default_value = "203.0.113.9")]
    pub client_ip: String,
    #[arg(long, default_value = "iOS")]
    pub platform: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("unknown sample {0:?}; built in: {names}", names = super::samples::names().join(", "))]
    UnknownSample(String),
    #[error("sample {0:?} is a TRTC callback: give --trtc-key or --trtc-key-file")]
    TrtcKeyNeeded(String),
    #[error("reading {path}: {source}")]
    Body { path: String, source: std::io::Error },
    #[error("--url {0:?}: expected http://host:port/path")]
    BadUrl(String),
    #[error("{0}")]
    Http(String),
}

/// Sends the callback and prints the answer; `Ok(true)` when the bridge answered OK.
pub async fn run(args: SendArgs) -> Result<bool, SendError> {
    let (command, body) = match (&args.sample, &args.command, &args.body) {
        (Some(name), _, _) => {
            let (c, b) = super::samples::find(name).ok_or_else(|| SendError::UnknownSample(name.clone()))?;
            (c.to_owned(), b.as_bytes().to_vec())
        }
        (None, Some(command), Some(path)) => {
            let body = std::fs::read(path).map_err(|source| SendError::Body {
                path: path.display().to_string(),
                source,
            })?;
            (command.clone(), body)
        }
        _ => return Err(SendError::UnknownSample(String::new())),
    };
    let target = Target::parse(&args.url)?;
    let trtc_key = match &args.trtc_key_file {
        Some(path) => Some(read_token(path)?),
        None => args.trtc_key.clone(),
    };
    if let Some(key) = trtc_key {
        return send_trtc(&args, &target, &key, body).await;
    }
    if command == super::samples::TRTC {
        return Err(SendError::TrtcKeyNeeded(args.sample.unwrap_or_default()));
    }
    let mut query = form_urlencoded::Serializer::new(String::new());
    query
        .append_pair("SdkAppid", &args.sdk_app_id)
        .append_pair("CallbackCommand", &command)
        .append_pair("contenttype", "json")
        .append_pair("ClientIP", &args.client_ip)
        .append_pair("OptPlatform", &args.platform);
    let token = match &args.token_file {
        Some(path) => Some(read_token(path)?),
        None => args.token.clone(),
    };
    if let Some(token) = &token {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        query
            .append_pair("RequestTime", &time)
            .append_pair("Sign", &sign_hex(token, &time));
    }
    let path = target.path_with(&query.finish());
    let (status, answer) = post(&target, &path, &[], body).await.map_err(SendError::Http)?;
    println!("{command} -> HTTP {status} {answer}");
    let ok = serde_json::from_str::<serde_json::Value>(&answer).is_ok_and(|v| v["ActionStatus"] == "OK");
    Ok(ok)
}

/// As TRTC: the body signed as sent, `{"code":0}` with 200 is OK.
async fn send_trtc(args: &SendArgs, target: &Target, key: &str, body: Vec<u8>) -> Result<bool, SendError> {
    let sign = trtc_sign(key, &body);
    let path = match &target.query {
        Some(q) => format!("{}?{q}", target.path),
        None => target.path.clone(),
    };
    let headers = [("SdkAppId", args.sdk_app_id.as_str()), ("Sign", sign.as_str())];
    let (status, answer) = post(target, &path, &headers, body)
        .await
        .map_err(SendError::Http)?;
    println!("TRTC -> HTTP {status} {answer}");
    let ok =
        status == 200 && serde_json::from_str::<serde_json::Value>(&answer).is_ok_and(|v| v["code"] == 0);
    Ok(ok)
}

fn read_token(path: &std::path::Path) -> Result<String, SendError> {
    let text = std::fs::read_to_string(path).map_err(|source| SendError::Body {
        path: path.display().to_string(),
        source,
    })?;
    // The bridge's own token file may hold two tokens during a rotation: either signs.
    let first = crate::config::tokens::parse_tokens(&text).into_iter().next();
    Ok(first.unwrap_or_default())
}

/// Where `--url` points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// As written in the URL, IPv6 brackets included: the `Host` header.
    host: String,
    port: u16,
    path: String,
    /// A query given in `--url`; the callback's parameters are added after it.
    query: Option<String>,
}

impl Target {
    fn parse(url: &str) -> Result<Target, SendError> {
        let bad = || SendError::BadUrl(url.to_owned());
        let uri: hyper::Uri = url.parse().map_err(|_| bad())?;
        let (Some(host), Some("http")) = (uri.host(), uri.scheme_str()) else {
            return Err(bad());
        };
        Ok(Target {
            host: host.to_owned(),
            port: uri.port_u16().unwrap_or(80),
            path: uri.path().to_owned(),
            query: uri.query().filter(|q| !q.is_empty()).map(str::to_owned),
        })
    }

    /// The address to connect to: `[::1]` is `::1` to the resolver.
    fn connect_host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    fn path_with(&self, query: &str) -> String {
        match &self.query {
            Some(given) => format!("{}?{given}&{query}", self.path),
            None => format!("{}?{query}", self.path),
        }
    }
}

async fn post(
    target: &Target,
    path: &str,
    headers: &[(&str, &str)],
    body: Vec<u8>,
) -> Result<(u16, String), String> {
    let (host, port) = (&target.host, target.port);
    let stream = tokio::net::TcpStream::connect((target.connect_host(), port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let mut req = Request::post(path)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender.send_request(req).await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((status, String::from_utf8_lossy(&bytes).into_owned()))
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn urls_with_ipv6_hosts_and_queries() {
        let t = Target::parse("http://[::1]:8080/cb?tenant=a").unwrap();
        assert_eq!(
            (t.host.as_str(), t.connect_host(), t.port),
            ("[::1]", "::1", 8080)
        );
        assert_eq!(t.path_with("SdkAppid=1"), "/cb?tenant=a&SdkAppid=1");
        let t = Target::parse("http://127.0.0.1/callback").unwrap();
        assert_eq!((t.connect_host(), t.port), ("127.0.0.1", 80));
        assert_eq!(t.path_with("SdkAppid=1"), "/callback?SdkAppid=1");
        assert!(Target::parse("https://example.com/").is_err());
        assert!(Target::parse("not a url").is_err());
    }
}
