//! Arbitrary bytes as the raw query string: parse, then authenticate with and without a token.
//! Nothing may panic; a refusal maps to a 4xx; `Sign` is never kept for the DLQ; the only way
//! through with a token is a `Sign` equal to sha256_hex(token + RequestTime).
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tencent_kafka_bridge::auth::{sign_hex, Authenticator};
use tencent_kafka_bridge::query::CallbackQuery;

const TOKEN: &str = "fuzz-token";

fuzz_target!(|data: &[u8]| {
    // The ingress hands over the URI's query, which is a str; lossy keeps the odd bytes in play.
    let raw = String::from_utf8_lossy(data);
    let q = match CallbackQuery::parse(&raw) {
        Ok(q) => q,
        Err(refusal) => {
            assert_eq!(refusal.status_and_code().1, 4000, "{refusal:?}");
            return;
        }
    };
    assert!(q.kept.iter().all(|(k, _)| k != "Sign"));

    let app_ids = vec!["1400000000".to_owned(), String::new()];
    let open = Authenticator::new(app_ids.clone(), None, Duration::from_secs(300));
    let signed = Authenticator::new(app_ids, Some(TOKEN.to_owned()), Duration::from_secs(300));
    let wide = Authenticator::new(
        vec!["1400000000".to_owned()],
        Some(TOKEN.to_owned()),
        Duration::MAX,
    );

    for auth in [&open, &signed, &wide] {
        if let Err(refusal) = auth.check(&q) {
            let (status, code) = refusal.status_and_code();
            assert!(matches!(status.as_u16(), 401 | 403), "{refusal:?}");
            assert!(matches!(code, 4010..=4012 | 4030 | 4031), "{refusal:?}");
        }
    }
    if wide.check(&q).is_ok() {
        let time = q.request_time.as_deref().unwrap();
        assert_eq!(q.sign.as_deref(), Some(sign_hex(TOKEN, time).as_str()));
    }
});
