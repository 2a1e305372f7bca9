//! A test PKI made with the `openssl` CLI in a temp dir: a root CA, an intermediate, and
//! server certificates for 127.0.0.1 signed by the intermediate (the chain file holds the
//! leaf and the intermediate, as a real one does). Plus TLS clients: Python's `ssl`, curl,
//! and rustls (tokio-rustls) for loads.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};

pub struct Pki {
    pub dir: tempfile::TempDir,
    pub ca: PathBuf,
}

/// A server certificate chain and its key.
#[derive(Debug, Clone)]
pub struct Pair {
    pub chain: PathBuf,
    pub key: PathBuf,
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (the test PKI needs the openssl CLI)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

const CA_EXT: &str = "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\n";
const LEAF_EXT: &str = "basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n";

impl Pki {
    pub fn create() -> Pki {
        let dir = tempfile::tempdir().expect("temp dir");
        let d = dir.path();
        std::fs::write(d.join("ca.ext"), CA_EXT).unwrap();
        std::fs::write(d.join("leaf.ext"), LEAF_EXT).unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];
        let mut root = vec!["req", "-x509"];
        root.extend_from_slice(&ec);
        root.extend_from_slice(&["-keyout", "ca.key", "-out", "ca.pem", "-days", "30"]);
        root.extend_from_slice(&[
            "-subj",
            "/CN=bridge test root",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
        ]);
        root.extend_from_slice(&["-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
        openssl(d, &root);
        let mut int = vec!["req"];
        int.extend_from_slice(&ec);
        int.extend_from_slice(&[
            "-keyout",
            "int.key",
            "-out",
            "int.csr",
            "-subj",
            "/CN=bridge test intermediate",
        ]);
        openssl(d, &int);
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                "int.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-out",
                "int.pem",
                "-days",
                "30",
                "-extfile",
                "ca.ext",
            ],
        );
        let ca = d.join("ca.pem");
        Pki { dir, ca }
    }

    /// A leaf for 127.0.0.1 named `cn`, valid `days`, in `<cn>.chain.pem` (leaf, intermediate)
    /// and `<cn>.key`.
    pub fn issue(&self, cn: &str, days: u32) -> Pair {
        let d = self.dir.path();
        let (key, csr, leaf) = (format!("{cn}.key"), format!("{cn}.csr"), format!("{cn}.pem"));
        let subj = format!("/CN={cn}");
        openssl(
            d,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &key,
                "-out",
                &csr,
                "-subj",
                &subj,
            ],
        );
        let days = days.to_string();
        openssl(
            d,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "int.pem",
                "-CAkey",
                "int.key",
                "-CAcreateserial",
                "-out",
                &leaf,
                "-days",
                &days,
                "-extfile",
                "leaf.ext",
            ],
        );
        let chain = d.join(format!("{cn}.chain.pem"));
        let mut pem = std::fs::read(d.join(&leaf)).unwrap();
        pem.extend(std::fs::read(d.join("int.pem")).unwrap());
        std::fs::write(&chain, pem).unwrap();
        Pair {
            chain,
            key: d.join(key),
        }
    }

    /// A rustls client trusting only this PKI's root.
    pub fn connector(&self) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_file_iter(&self.ca).unwrap() {
            roots.add(cert.unwrap()).unwrap();
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }
}

/// Copies `pair` over the files a bridge serves (`live`), the key last, as certbot does.
pub fn install(pair: &Pair, live: &Pair) {
    for (from, to) in [(&pair.chain, &live.chain), (&pair.key, &live.key)] {
        let tmp = to.with_extension("tmp");
        std::fs::copy(from, &tmp).unwrap();
        std::fs::rename(&tmp, to).unwrap();
    }
}

/// Python's `ssl` client: POSTs `body` to `path` over HTTPS (trusting `ca` only) and prints
/// the status, the served certificate's CN and the TLS version as JSON.
const PY_CLIENT: &str = r#"
import http.client, json, ssl, sys
port, ca, path, body = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
ctx = ssl.create_default_context(cafile=ca)
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
conn = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx, timeout=20)
conn.request("POST", path, body=body.encode(), headers={"content-type": "application/json"})
resp = conn.getresponse()
answer = resp.read().decode()
cert = conn.sock.getpeercert()
cn = [v for rdn in cert["subject"] for (k, v) in rdn if k == "commonName"][0]
print(json.dumps({"status": resp.status, "cn": cn, "version": conn.sock.version(), "answer": answer}))
"#;

/// What Python's client saw: (status, CN of the served certificate, TLS version, answer).
pub fn python_post(port: u16, ca: &Path, path: &str, body: &str) -> serde_json::Value {
    let out = Command::new("python3")
        .args([
            "-c",
            PY_CLIENT,
            &port.to_string(),
            ca.to_str().unwrap(),
            path,
            body,
        ])
        .output()
        .expect("run python3");
    assert!(
        out.status.success(),
        "python ssl client: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("python client JSON")
}

/// curl over HTTPS trusting `ca` only: (HTTP status, body).
pub fn curl_post(port: u16, ca: &Path, path: &str, body: &str) -> (u16, String) {
    let url = format!("https://127.0.0.1:{port}{path}");
    let out = Command::new("curl")
        .args([
            "-sS",
            "--max-time",
            "20",
            "--cacert",
            ca.to_str().unwrap(),
            "-H",
            "content-type: application/json",
        ])
        .args(["--data-binary", body, "-w", "\n%{http_code}", &url])
        .output()
        .expect("run curl");
    assert!(
        out.status.success(),
        "curl: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (answer, code) = text.rsplit_once('\n').unwrap_or(("", ""));
    (code.trim().parse().unwrap_or(0), answer.to_owned())
}

/// One POST over a fresh TLS connection with rustls; `Err` on any failure.
pub async fn rustls_post(
    connector: &tokio_rustls::TlsConnector,
    port: u16,
    path: &str,
    body: String,
) -> Result<u16, String> {
    use http_body_util::Full;
    use hyper_util::rt::TokioIo;
    let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = ServerName::IpAddress(std::net::Ipv4Addr::LOCALHOST.into());
    let tls = connector
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http: {e}"))?;
    tokio::spawn(conn);
    let req = hyper::Request::builder()
        .method("POST")
        .uri(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from(body)))
        .map_err(|e| format!("request: {e}"))?;
    let resp = sender.send_request(req).await.map_err(|e| format!("send: {e}"))?;
    Ok(resp.status().as_u16())
}
