//! Is this callback ours and authentic? The query string Tencent sends, the SdkAppid check and,
//! when a token is configured, the `Sign`/`RequestTime` check; for TRTC, the HMAC of the body.

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
    app_ids: Vec<String>,
    token: Option<String>,
    max_skew: Duration,
}

impl Authenticator {
    pub fn new(app_ids: Vec<String>, token: Option<String>, max_skew: Duration) -> Self {
        Self {
            app_ids,
            token,
            max_skew,
        }
    }

    pub fn check(&self, q: &CallbackQuery<'_>) -> Result<(), Refusal> {
        self.check_at(q, SystemTime::now())
    }

    fn check_at(&self, q: &CallbackQuery<'_>, now: SystemTime) -> Result<(), Refusal> {
        let app_id = q.sdk_app_id.as_deref().ok_or(Refusal::AppIdMissing)?;
        if !self.app_ids.iter().any(|ours| ours == app_id) {
            return Err(Refusal::AppIdUnknown);
        }
        let Some(token) = &self.token else { return Ok(()) };
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
        let expected = sign_hex(token, time);
        if bool::from(expected.as_bytes().ct_eq(sign.as_bytes())) {
            Ok(())
        } else {
            Err(Refusal::BadSign)
        }
    }
}

/// Tencent's callback signature: lowercase hex SHA-256 of `token + RequestTime`, with
/// `RequestTime` exactly as it appears in the URL.
pub fn sign_hex(token: &str, request_time: &str) -> String {
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
#[derive(Clone)]
pub struct TrtcAuth {
    app_ids: Vec<String>,
    key: Vec<u8>,
}

impl std::fmt::Debug for TrtcAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrtcAuth")
            .field("app_ids", &self.app_ids)
            .finish_non_exhaustive()
    }
}

impl TrtcAuth {
    pub fn new(app_ids: Vec<String>, key: &str) -> Self {
        TrtcAuth {
            app_ids,
            key: key.as_bytes().to_vec(),
        }
    }

    pub fn check(&self, app_id: Option<&str>, sign: Option<&str>, body: &[u8]) -> Result<(), Refusal> {
        let sign = sign.ok_or(Refusal::TrtcSignMissing)?;
        let given = base64::engine::general_purpose::STANDARD
            .decode(sign.trim())
            .map_err(|_| Refusal::TrtcBadSign)?;
        // verify_slice compares in constant time.
        hmac_of(&self.key, body)
            .verify_slice(&given)
            .map_err(|_| Refusal::TrtcBadSign)?;
        let app_id = app_id.ok_or(Refusal::TrtcAppIdMissing)?;
        if !self.app_ids.iter().any(|ours| ours == app_id.trim()) {
            return Err(Refusal::TrtcAppIdUnknown);
        }
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
mod tests {
    use super::*;

    #[test]
    fn trtc_sign_is_base64_hmac_of_the_exact_body() {
        // python3 -c 'import hmac,hashlib,base64;print(base64.b64encode(hmac.new(b"key",b"{}",hashlib.sha256).digest()).decode())'
        assert_eq!(
            trtc_sign("key", b"{}"),
            "p3dyTZQ+tI3Gm8qKSm1XoE2z+ex+HeTlgehgJlvfMDI="
        );
        let a = TrtcAuth::new(vec!["1400".into()], "key");
        let body = b"{\n\t\"EventGroupId\": 1}";
        let good = trtc_sign("key", body);
        assert_eq!(a.check(Some("1400"), Some(&good), body), Ok(()));
        assert_eq!(a.check(Some("1400"), None, body), Err(Refusal::TrtcSignMissing));
        assert_eq!(
            a.check(Some("1400"), Some(&good), b"{\"EventGroupId\": 1}"),
            Err(Refusal::TrtcBadSign)
        );
        assert_eq!(
            a.check(Some("1400"), Some("not base64!"), body),
            Err(Refusal::TrtcBadSign)
        );
        assert_eq!(
            a.check(Some("1400"), Some(&trtc_sign("other", body)), body),
            Err(Refusal::TrtcBadSign)
        );
        assert_eq!(a.check(None, Some(&good), body), Err(Refusal::TrtcAppIdMissing));
        assert_eq!(
            a.check(Some("9"), Some(&good), body),
            Err(Refusal::TrtcAppIdUnknown)
        );
        assert_eq!(a.check(Some("9"), Some("x"), body), Err(Refusal::TrtcBadSign));
    }

    const NOW: u64 = 1_700_000_000;

    fn auth(token: Option<&str>) -> Authenticator {
        Authenticator::new(
            vec!["1400".into()],
            token.map(Into::into),
            Duration::from_secs(300),
        )
    }

    fn check(a: &Authenticator, raw: &str) -> Result<(), Refusal> {
        let q = CallbackQuery::parse(raw)?;
        a.check_at(&q, UNIX_EPOCH + Duration::from_secs(NOW))
    }

    #[test]
    fn sign_is_sha256_of_token_and_time() {
        // echo -n "abc1700000000" | sha256sum
        assert_eq!(
            sign_hex("abc", "1700000000"),
            "139d720ab3fe33252a099243519e7548ce791f035b647c70bc13e8a12f503cda"
        );
        assert_eq!(sign_hex("", "").len(), 64);
        assert_eq!(
            sign_hex("", ""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn app_id_checks() {
        assert_eq!(
            check(&auth(None), "CallbackCommand=x"),
            Err(Refusal::AppIdMissing)
        );
        assert_eq!(check(&auth(None), "SdkAppid=9"), Err(Refusal::AppIdUnknown));
        assert_eq!(check(&auth(None), "SdkAppid=1400"), Ok(()));
        assert!(matches!(
            check(&auth(None), "SdkAppid=1400&SdkAppid=9"),
            Err(Refusal::BadQuery(_))
        ));
    }

    #[test]
    fn signature_checks() {
        let a = auth(Some("tok"));
        let good = sign_hex("tok", "1700000100");
        assert_eq!(check(&a, "SdkAppid=1400"), Err(Refusal::SignMissing("Sign")));
        assert_eq!(
            check(&a, "SdkAppid=1400&Sign=x"),
            Err(Refusal::SignMissing("RequestTime"))
        );
        assert_eq!(
            check(&a, &format!("SdkAppid=1400&RequestTime=1700000100&Sign={good}")),
            Ok(())
        );
        assert_eq!(
            check(
                &a,
                &format!("SdkAppid=1400&RequestTime=1700000100&Sign={}", &good[1..])
            ),
            Err(Refusal::BadSign)
        );
        assert_eq!(
            check(
                &a,
                &format!(
                    "SdkAppid=1400&RequestTime=1700000100&Sign={}",
                    good.to_uppercase()
                )
            ),
            Err(Refusal::BadSign)
        );
        let late = sign_hex("tok", "1700000301");
        assert_eq!(
            check(&a, &format!("SdkAppid=1400&RequestTime=1700000301&Sign={late}")),
            Err(Refusal::RequestTimeSkew)
        );
        let early = sign_hex("tok", "1699999699");
        assert_eq!(
            check(&a, &format!("SdkAppid=1400&RequestTime=1699999699&Sign={early}")),
            Err(Refusal::RequestTimeSkew)
        );
        let edge = sign_hex("tok", "1699999700");
        assert_eq!(
            check(&a, &format!("SdkAppid=1400&RequestTime=1699999700&Sign={edge}")),
            Ok(())
        );
        assert_eq!(
            check(&a, "SdkAppid=1400&RequestTime=soon&Sign=x"),
            Err(Refusal::RequestTimeSkew)
        );
    }

    #[test]
    fn sign_is_never_kept() {
        let q = CallbackQuery::parse("SdkAppid=1&Sign=abc&RequestTime=5&x=y%20z").unwrap();
        assert!(q.kept.iter().all(|(k, _)| k != "Sign"));
        assert!(q.kept.iter().any(|(k, v)| k == "x" && v == "y z"));
    }
}
