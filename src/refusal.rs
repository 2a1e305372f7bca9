//! Every reason the bridge refuses a request, mapped in one table to an HTTP status, a stable
//! Tencent `ErrorCode` and the `ErrorInfo` text. Codes are part of the public contract (README):
//! never renumber one, only add.

use hyper::StatusCode;

/// Why a request was not accepted. `Display` is the `ErrorInfo` sent back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("body larger than {limit} bytes")]
    BodyTooLarge { limit: usize },
    #[error("SdkAppid: missing")]
    AppIdMissing,
    #[error("SdkAppid: not accepted by this bridge")]
    AppIdUnknown,
    #[error("{0}: missing")]
    SignMissing(&'static str),
    #[error("RequestTime: outside the allowed clock skew")]
    RequestTimeSkew,
    #[error("Sign: does not match")]
    BadSign,
    #[error("Sign header: missing")]
    TrtcSignMissing,
    #[error("Sign header: not the HMAC-SHA256 of the body under the TRTC key")]
    TrtcBadSign,
    #[error("SdkAppId header: missing")]
    TrtcAppIdMissing,
    #[error("SdkAppId header: not accepted by this bridge")]
    TrtcAppIdUnknown,
    #[error("{0}")]
    BadQuery(String),
    #[error("contenttype: expected json")]
    ContentType,
    #[error("CallbackCommand: missing")]
    CommandMissing,
    #[error("body: {0}")]
    BodyRead(String),
    #[error("body: not received in time")]
    BodyTimeout,
    #[error("body: not JSON ({0})")]
    NotJson(String),
    #[error("body: expected a JSON object")]
    NotObject,
    #[error("{0}")]
    BadField(String),
    #[error("CallbackCommand: body says {body:?}, query says {query:?}")]
    CommandMismatch { body: String, query: String },
    #[error("CallbackCommand: {0:?} is not handled by this bridge")]
    UnknownCommand(String),
    #[error("not found")]
    NotFound,
    #[error("method not allowed")]
    MethodNotAllowed,
    #[error("producer queue full, try again")]
    QueueFull,
    #[error("shutting down")]
    ShuttingDown,
    #[error("Kafka did not acknowledge the event: {0}")]
    KafkaFailed(String),
    #[error("event of {size} bytes is larger than Kafka takes ({limit} bytes, message.max.bytes)")]
    EventTooLarge { size: usize, limit: usize },
    #[error("spool full, try again")]
    SpoolFull,
    #[error("spool write failed: {0}")]
    SpoolWrite(String),
}

/// The most of a client's own text (a command name, a serde message quoting a value) a
/// refusal repeats: enough to recognise it, never a megabyte echoed into every log line,
/// `ErrorInfo` and DLQ reason.
pub const MAX_QUOTED_BYTES: usize = 200;

/// `text` cut to [`MAX_QUOTED_BYTES`] on a character boundary, marked with `…` when cut.
pub fn clip(text: &str) -> String {
    if text.len() <= MAX_QUOTED_BYTES {
        return text.to_owned();
    }
    let mut end = MAX_QUOTED_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

impl Refusal {
    /// The one place a refusal becomes a status and a code.
    pub fn status_and_code(&self) -> (StatusCode, u32) {
        use Refusal::*;
        match self {
            BadQuery(_) => (StatusCode::BAD_REQUEST, 4000),
            ContentType => (StatusCode::BAD_REQUEST, 4001),
            CommandMissing => (StatusCode::BAD_REQUEST, 4002),
            NotJson(_) => (StatusCode::BAD_REQUEST, 4003),
            NotObject => (StatusCode::BAD_REQUEST, 4004),
            BadField(_) => (StatusCode::BAD_REQUEST, 4005),
            CommandMismatch { .. } => (StatusCode::BAD_REQUEST, 4006),
            UnknownCommand(_) => (StatusCode::BAD_REQUEST, 4007),
            BodyRead(_) => (StatusCode::BAD_REQUEST, 4008),
            BodyTimeout => (StatusCode::REQUEST_TIMEOUT, 4080),
            SignMissing(_) => (StatusCode::UNAUTHORIZED, 4010),
            RequestTimeSkew => (StatusCode::UNAUTHORIZED, 4011),
            BadSign => (StatusCode::UNAUTHORIZED, 4012),
            TrtcSignMissing => (StatusCode::UNAUTHORIZED, 4013),
            TrtcBadSign => (StatusCode::UNAUTHORIZED, 4014),
            AppIdMissing => (StatusCode::FORBIDDEN, 4030),
            AppIdUnknown => (StatusCode::FORBIDDEN, 4031),
            TrtcAppIdMissing => (StatusCode::FORBIDDEN, 4032),
            TrtcAppIdUnknown => (StatusCode::FORBIDDEN, 4033),
            NotFound => (StatusCode::NOT_FOUND, 4040),
            MethodNotAllowed => (StatusCode::METHOD_NOT_ALLOWED, 4050),
            BodyTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, 4130),
            EventTooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, 4131),
            QueueFull => (StatusCode::SERVICE_UNAVAILABLE, 5030),
            ShuttingDown => (StatusCode::SERVICE_UNAVAILABLE, 5031),
            KafkaFailed(_) => (StatusCode::SERVICE_UNAVAILABLE, 5040),
            // 5041 is taken: DLQ records the broker refused (dlq::BROKER_REFUSED_CODE).
            SpoolFull => (StatusCode::SERVICE_UNAVAILABLE, 5032),
            SpoolWrite(_) => (StatusCode::SERVICE_UNAVAILABLE, 5033),
        }
    }

    /// Authentic callbacks refused for their content are kept on the DLQ: Tencent never sends
    /// them again, so this copy is the only one left.
    pub fn keeps_on_dlq(&self) -> bool {
        matches!(
            self,
            Refusal::NotJson(_)
                | Refusal::NotObject
                | Refusal::BadField(_)
                | Refusal::CommandMismatch { .. }
                | Refusal::UnknownCommand(_)
                | Refusal::EventTooLarge { .. }
        )
    }
}

/// Tencent's answer shape, for OK and FAIL alike.
pub fn answer_body(refusal: Option<&Refusal>) -> Vec<u8> {
    match refusal {
        None => br#"{"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0}"#.to_vec(),
        Some(r) => {
            let (_, code) = r.status_and_code();
            let info = serde_json::to_string(&r.to_string()).unwrap_or_else(|_| "\"\"".into());
            format!(r#"{{"ActionStatus":"FAIL","ErrorInfo":{info},"ErrorCode":{code}}}"#).into_bytes()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_keeps_short_text_and_cuts_long_text_on_a_char_boundary() {
        assert_eq!(clip("Live.X"), "Live.X");
        let long = "é".repeat(MAX_QUOTED_BYTES);
        let cut = clip(&long);
        assert!(cut.ends_with('…') && cut.len() <= MAX_QUOTED_BYTES + '…'.len_utf8());
        assert_eq!(cut.trim_end_matches('…').chars().count(), MAX_QUOTED_BYTES / 2);
    }

    #[test]
    fn fail_answer_is_tencent_shaped_and_escaped() {
        let body = answer_body(Some(&Refusal::BadField("Room\"Id: missing".into())));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["ActionStatus"], "FAIL");
        assert_eq!(v["ErrorCode"], 4005);
        assert_eq!(v["ErrorInfo"], "Room\"Id: missing");
    }

    #[test]
    fn ok_answer() {
        let v: serde_json::Value = serde_json::from_slice(&answer_body(None)).unwrap();
        assert_eq!(
            v,
            serde_json::json!({"ActionStatus":"OK","ErrorInfo":"","ErrorCode":0})
        );
    }
}
