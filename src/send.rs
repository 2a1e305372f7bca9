//! `send`: act as Tencent. POSTs one callback to a bridge, signed like Tencent when given a
//! token, and reports the answer — the operator's end-to-end proof of a deployment.

use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

use crate::auth::sign_hex;
use crate::cli::SendArgs;

#[derive(Debug, thiserror::Error)]
pub enum SendError {
    #[error("unknown sample {0:?}; built in: live, live-kicked, group, room-enter, room-leave, group-join, group-exit")]
    UnknownSample(String),
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
            let (c, b) = crate::samples::find(name).ok_or_else(|| SendError::UnknownSample(name.clone()))?;
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
    let uri: hyper::Uri = args
        .url
        .parse()
        .map_err(|_| SendError::BadUrl(args.url.clone()))?;
    let (Some(host), Some("http")) = (uri.host(), uri.scheme_str()) else {
        return Err(SendError::BadUrl(args.url.clone()));
    };
    let port = uri.port_u16().unwrap_or(80);
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
    let path = format!("{}?{}", uri.path(), query.finish());
    let (status, answer) = post(host, port, &path, body).await.map_err(SendError::Http)?;
    println!("{command} -> HTTP {status} {answer}");
    let ok = serde_json::from_str::<serde_json::Value>(&answer).is_ok_and(|v| v["ActionStatus"] == "OK");
    Ok(ok)
}

fn read_token(path: &std::path::Path) -> Result<String, SendError> {
    let text = std::fs::read_to_string(path).map_err(|source| SendError::Body {
        path: path.display().to_string(),
        source,
    })?;
    Ok(text.trim_end_matches(['\r', '\n']).to_owned())
}

async fn post(host: &str, port: u16, path: &str, body: Vec<u8>) -> Result<(u16, String), String> {
    let stream = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(|e| format!("connect {host}:{port}: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(conn);
    let req = Request::post(path)
        .header("host", format!("{host}:{port}"))
        .header("content-type", "application/json")
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
