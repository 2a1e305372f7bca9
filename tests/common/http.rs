//! A minimal real HTTP/1.1 client on hyper, plus raw-socket helpers for requests a polite
//! client would never send.

use std::io::{Read, Write};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;

#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub headers: hyper::HeaderMap,
    pub body: serde_json::Value,
}

impl Answer {
    pub fn code(&self) -> i64 {
        self.body["ErrorCode"].as_i64().unwrap_or(-1)
    }
    pub fn info(&self) -> &str {
        self.body["ErrorInfo"].as_str().unwrap_or("")
    }
}

/// Sends one request on a fresh connection.
pub async fn request(addr: &str, method: &str, path_and_query: &str, body: impl Into<Bytes>) -> Answer {
    request_with(addr, method, path_and_query, &[], body).await
}

/// POST with extra headers (TRTC's `SdkAppId` and `Sign`).
pub async fn post_with(addr: &str, path: &str, headers: &[(&str, &str)], body: impl Into<Bytes>) -> Answer {
    request_with(addr, "POST", path, headers, body).await
}

async fn request_with(
    addr: &str,
    method: &str,
    path_and_query: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> Answer {
    let stream = tokio::net::TcpStream::connect(addr)
        .await
        .expect("connect to bridge");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .expect("handshake");
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path_and_query)
        .header("host", addr)
        .header("content-type", "application/json");
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    let req = req.body(Full::new(body.into())).expect("request");
    let resp = tokio::time::timeout(Duration::from_secs(60), sender.send_request(req))
        .await
        .expect("answer within 60 s")
        .expect("answer");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let bytes = resp.into_body().collect().await.expect("body").to_bytes();
    let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    Answer {
        status,
        headers,
        body,
    }
}

/// Like [`post`] on a fresh connection, but a refused or broken connection (the bridge was
/// killed, or is restarting) or no answer within 30 s is an `Err`: not acknowledged.
pub async fn try_post(addr: &str, path_and_query: &str, body: impl Into<Bytes>) -> Result<Answer, String> {
    let attempt = async {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect: {e}"))?;
        let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("handshake: {e}"))?;
        tokio::spawn(conn);
        let req = Request::builder()
            .method("POST")
            .uri(path_and_query)
            .header("host", addr)
            .header("content-type", "application/json")
            .body(Full::new(body.into()))
            .map_err(|e| format!("request: {e}"))?;
        let resp = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("body: {e}"))?
            .to_bytes();
        let body = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
        Ok(Answer {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(Duration::from_secs(30), attempt)
        .await
        .map_err(|_| "no answer within 30 s".to_owned())?
}

pub async fn post(addr: &str, path_and_query: &str, body: impl Into<Bytes>) -> Answer {
    request(addr, "POST", path_and_query, body).await
}

/// Blocking GET returning the body, `None` if nothing answered.
pub fn get_text_blocking(addr: &str, path: &str) -> Option<String> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_once("\r\n\r\n").map(|(_, body)| body.to_owned())
}

/// Blocking GET returning the status, `None` if nothing answered.
pub fn get_blocking(addr: &str, path: &str) -> Option<u16> {
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(s, "GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    out.split_whitespace().nth(1)?.parse().ok()
}

/// Writes `raw` bytes and returns everything the server answered until it closed or went quiet.
pub fn raw_exchange(addr: &str, raw: &[u8]) -> String {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    s.write_all(raw).expect("write");
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}
