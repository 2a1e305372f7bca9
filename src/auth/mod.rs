//! Is this callback ours and authentic? The query string Tencent sends, the SdkAppid check and,
//! when the app has tokens, the `Sign`/`RequestTime` check against each of them; for TRTC, the
//! HMAC of the body under each key. The tokens live in a [`Keyring`] that `reload` keeps in
//! step with the token files, so a rotation needs no restart.

mod keys;
pub mod reload;
mod ring;

pub use keys::{position_name, AppKeys, KeySet, Used, POSITIONS};
pub use ring::{Keyring, Scheme};

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::query::CallbackQuery;
use crate::refusal::Refusal;

/// The checks of steps 2 and 3 of the HTTP contract, in that order.
#[derive(Debug, Clone)]
pub struct Authenticator {
    ring: Arc<Keyring>,
    max_skew: Duration,
}

impl Authenticator {
    /// Every app checked against `token` (or none, unsigned), fixed: for tools and tests.
    pub fn new(app_ids: Vec<String>, token: Option<String>, max_skew: Duration) -> Self {
        let ring = Keyring::fixed(&app_ids, token.as_deref(), None);
        Self::with_ring(Arc::new(ring), max_skew)
    }

    /// Checks against the ring's tokens as they are at each callback.
    pub fn with_ring(ring: Arc<Keyring>, max_skew: Duration) -> Self {
        Self { ring, max_skew }
    }

    pub fn check(&self, q: &CallbackQuery<'_>) -> Result<(), Refusal> {
        self.check_at(q, SystemTime::now())
    }

    fn check_at(&self, q: &CallbackQuery<'_>, now: SystemTime) -> Result<(), Refusal> {
        let app_id = q.sdk_app_id.as_deref().ok_or(Refusal::AppIdMissing)?;
        let app = self.ring.app(app_id).ok_or(Refusal::AppIdUnknown)?;
        let Some(keys) = &app.keys else { return Ok(()) };
        let sign = q.sign.as_deref().ok_or(Refusal::SignMissing("Sign"))?;
        let time = q
            .request_time
            .as_deref()
            .ok_or(Refusal::SignMissing("RequestTime"))?;
        let secs: i64 = time.parse().map_err(|_| Refusal::RequestTimeSkew)?;
        let now_secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
        if now_secs.abs_diff(secs) > self.max_skew.as_secs() {
            return Err(Refusal::RequestTimeSkew);
        }
        let signs = |token: &[u8]| bool::from(sign_hex_of(token, time).as_bytes().ct_eq(sign.as_bytes()));
        let position = keys.position(signs).ok_or(Refusal::BadSign)?;
        app.used.record(position);
        Ok(())
    }
}

/// Tencent's callback signature: lowercase hex SHA-256 of `token + RequestTime`, with
/// `RequestTime` exactly as it appears in the URL.
pub fn sign_hex(token: &str, request_time: &str) -> String {
    sign_hex_of(token.as_bytes(), request_time)
}

fn sign_hex_of(token: &[u8], request_time: &str) -> String {
    let digest = Sha256::new()
        .chain_update(token)
        .chain_update(request_time)
        .finalize();
    let mut out = String::with_capacity(64);
    for b in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
    }
    out
}

/// TRTC's check: headers `Sign` = base64(HMAC-SHA256(key, body bytes as received)) and
/// `SdkAppId`. The signature is checked first, so an unsigned caller learns nothing about
/// which apps are configured.
#[derive(Clone, Debug)]
pub struct TrtcAuth {
    ring: Arc<Keyring>,
}

impl TrtcAuth {
    /// Every app checked against `key`, fixed: for tools and tests.
    pub fn new(app_ids: Vec<String>, key: &str) -> Self {
        TrtcAuth {
            ring: Arc::new(Keyring::fixed(&app_ids, None, Some(key))),
        }
    }

    /// `None` when the ring holds no TRTC key (the TRTC path is not served).
    pub fn with_ring(ring: Arc<Keyring>) -> Option<Self> {
        ring.trtc_keys()?;
        Some(TrtcAuth { ring })
    }

    pub fn check(&self, app_id: Option<&str>, sign: Option<&str>, body: &[u8]) -> Result<(), Refusal> {
        let keys = self.ring.trtc_keys().ok_or(Refusal::NotFound)?;
        let sign = sign.ok_or(Refusal::TrtcSignMissing)?;
        let given = base64::engine::general_purpose::STANDARD
            .decode(sign.trim())
            .map_err(|_| Refusal::TrtcBadSign)?;
        // verify_slice compares in constant time.
        let signs = |key: &[u8]| hmac_of(key, body).verify_slice(&given).is_ok();
        let position = keys.position(signs).ok_or(Refusal::TrtcBadSign)?;
        let app_id = app_id.ok_or(Refusal::TrtcAppIdMissing)?;
        let app = self
            .ring
            .trtc_app(app_id.trim())
            .ok_or(Refusal::TrtcAppIdUnknown)?;
        app.used.record(position);
        Ok(())
    }
}

fn hmac_of(key: &[u8], body: &[u8]) -> Hmac<Sha256> {
    // HMAC takes a key of any length; `new_from_slice` cannot fail for it.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    mac.update(body);
    mac
}

/// TRTC's `Sign` header for `body` (what `send --trtc` puts on a request).
pub fn trtc_sign(key: &str, body: &[u8]) -> String {
    let digest = hmac_of(key.as_bytes(), body).finalize().into_bytes();
    base64::engine::general_purpose::STANDARD.encode(digest)
}

#[cfg(test)]
mod tests;
